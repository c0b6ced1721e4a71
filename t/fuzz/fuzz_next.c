
/*
 * ngx_http_totp_next_valid() (src/ngx_http_totp_form.c, included).
 *
 * "next" reaches the validator two ways: from a posted form (already
 * decoded by the form parser) and from the query string (decoded here by
 * ngx_http_totp_unescape()).  The input is tried as it is and decoded.
 * Whatever the validator accepts must be a same-site path:
 *
 *  - 1..NGX_HTTP_TOTP_NEXT_MAX bytes, "/" first, second byte neither "/"
 *    nor "\", no byte <= 0x20 or >= 0x7f, no "\" anywhere;
 *  - resolved as a browser resolves a URL reference against
 *    http://host/ (the WHATWG URL parser's steps that decide the host:
 *    leading and trailing C0 controls and spaces stripped, tabs and
 *    newlines removed, a scheme, "\" read as "/" for http, two slashes
 *    starting an authority), it keeps the host; and so it does after
 *    being percent-decoded once more, as a later decoding (nginx's own,
 *    an upstream's) would;
 *  - escaped for a URL's query (ngx_http_totp_escape(), as the pages do
 *    for "?next=") and unescaped again, it comes back unchanged and still
 *    valid.
 */


#include "../../src/ngx_http_totp_form.c"

#include "ngx_stubs.h"
#include "fuzz_common.h"


static int
is_alpha(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


/*
 * 1 when the reference, resolved against http://host/, stays on host:
 * the steps of https://url.spec.whatwg.org/#concept-basic-url-parser
 * that can change the host of a relative reference.
 */

static int
same_host(const u_char *in, size_t len)
{
    u_char  *s;
    size_t   i, n, start, end;
    int      rc;

    /* strip leading and trailing C0 controls and spaces */

    start = 0;
    end = len;

    while (start < end && in[start] <= 0x20) {
        start++;
    }

    while (end > start && in[end - 1] <= 0x20) {
        end--;
    }

    /* remove every ASCII tab or newline */

    s = malloc(end - start + 1);
    n = 0;

    for (i = start; i < end; i++) {
        if (in[i] != '\t' && in[i] != '\n' && in[i] != '\r') {
            s[n++] = in[i];
        }
    }

    rc = 1;

    /* scheme start state: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */

    if (n > 0 && is_alpha(s[0])) {
        for (i = 1; i < n; i++) {
            if (!(is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9')
                  || s[i] == '+' || s[i] == '-' || s[i] == '.'))
            {
                break;
            }
        }

        if (i < n && s[i] == ':') {
            /* an absolute URL (or "http:" games): not a same-site path */
            rc = 0;
        }
    }

    /* relative state, http base: "/" and "\" both start the authority */

    if (n >= 2 && (s[0] == '/' || s[0] == '\\')
        && (s[1] == '/' || s[1] == '\\'))
    {
        rc = 0;
    }

    free(s);

    return rc;
}


/* WHATWG percent-decode: a "%" not followed by two hex digits stays */

static size_t
percent_decode(u_char *dst, const u_char *src, size_t len)
{
    size_t     i, n;
    ngx_int_t  hi, lo;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '%' && i + 2 < len) {
            hi = ngx_hextoi((u_char *) &src[i + 1], 1);
            lo = ngx_hextoi((u_char *) &src[i + 2], 1);

            if (hi != NGX_ERROR && lo != NGX_ERROR) {
                dst[n++] = (u_char) (hi << 4 | lo);
                i += 2;
                continue;
            }
        }

        dst[n++] = src[i];
    }

    return n;
}


static void
check_accepted(ngx_str_t *next)
{
    u_char     *dec, *p;
    size_t      i, n;
    ngx_str_t   esc, back;

    p = next->data;

    CHECK(next->len >= 1 && next->len <= NGX_HTTP_TOTP_NEXT_MAX);
    CHECK(p[0] == '/');
    CHECK(next->len < 2 || (p[1] != '/' && p[1] != '\\'));

    for (i = 0; i < next->len; i++) {
        CHECK(p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\');
    }

    CHECK(same_host(p, next->len));

    /* one more decoding does not make it another host */

    dec = fuzz_alloc(next->len);
    n = percent_decode(dec, p, next->len);

    CHECK(same_host(dec, n));

    /* "?next=" and back */

    CHECK(ngx_http_totp_escape(NULL, next, &esc) == NGX_OK);

    for (i = 0; i < esc.len; i++) {
        CHECK(esc.data[i] > 0x20 && esc.data[i] < 0x7f
              && esc.data[i] != '&' && esc.data[i] != '#'
              && esc.data[i] != '+' && esc.data[i] != '?');
    }

    back = esc;
    CHECK(ngx_http_totp_unescape(&back) == NGX_OK);
    CHECK(back.len == next->len && memcmp(back.data, p, back.len) == 0);
    CHECK(ngx_http_totp_next_valid(&back) == 1);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_str_t   next;
    ngx_uint_t  rc;

    /* as posted: exactly size bytes */

    next.data = fuzz_alloc(size);
    next.len = size;
    memcpy(next.data, data, size);

    rc = ngx_http_totp_next_valid(&next);
    CHECK(rc == 0 || rc == 1);

    if (rc) {
        check_accepted(&next);
    }

    /* from the query string: decoded first */

    next.data = fuzz_alloc(size);
    next.len = size;
    memcpy(next.data, data, size);

    if (ngx_http_totp_unescape(&next) == NGX_OK
        && ngx_http_totp_next_valid(&next))
    {
        check_accepted(&next);
    }

    fuzz_arena_reset();

    return 0;
}
