
/*
 * ngx_http_totp_form_parse() and ngx_http_totp_unescape()
 * (src/ngx_http_totp_form.c, included to build against nginx's headers).
 *
 * The input is a form body.  Properties:
 *
 *  - the result (accepted or not, and every field) equals that of an
 *    independent parser written here from the header's description;
 *  - a field absent has no data and no length; a field present has data,
 *    and its value lies inside the body's buffer (or is the empty literal
 *    when it has length 0);
 *  - the fields found, written again as a form with every value byte
 *    percent-encoded (in an order and with an unknown field chosen by the
 *    input), parse back to the same fields; so do they after
 *    ngx_http_totp_escape();
 *  - ngx_http_totp_user_valid() agrees with its definition on the user.
 */


#include "../../src/ngx_http_totp_form.c"

#include "ngx_stubs.h"
#include "fuzz_common.h"


#define NFIELDS  7

static const char  *names[NFIELDS] = {
    "user", "password", "code", "trust", "csrf", "next", "everywhere"
};


static ngx_str_t *
field(ngx_http_totp_form_t *form, int i)
{
    switch (i) {
    case 0: return &form->user;
    case 1: return &form->password;
    case 2: return &form->code;
    case 3: return &form->trust;
    case 4: return &form->csrf;
    case 5: return &form->next;
    default: return &form->everywhere;
    }
}


/* the reference: copies, never in place */

typedef struct {
    int            present;
    size_t         len;
    unsigned char  *data;
} ref_field_t;


static int
ref_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


/* -1 on a malformed escape; out holds len bytes at least */

static int
ref_unescape(const unsigned char *s, size_t len, unsigned char *out,
    size_t *out_len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[n++] = ' ';

        } else if (s[i] == '%') {
            if (i + 2 >= len) {
                return -1;
            }

            if (ref_hex(s[i + 1]) < 0 || ref_hex(s[i + 2]) < 0) {
                return -1;
            }

            out[n++] = (unsigned char) (ref_hex(s[i + 1]) * 16
                                        + ref_hex(s[i + 2]));
            i += 2;

        } else {
            out[n++] = s[i];
        }
    }

    *out_len = n;

    return 0;
}


static int
ref_parse(const unsigned char *body, size_t len, ref_field_t *f,
    unsigned char *scratch)
{
    int                   k;
    size_t                start, end, eq, nlen, vlen;
    unsigned char        *name;

    memset(f, 0, NFIELDS * sizeof(ref_field_t));

    /* scratch holds 2 * len bytes: names in the first half, values after */

    name = scratch;

    for (start = 0; start < len; start = end + 1) {
        for (end = start; end < len && body[end] != '&'; end++) { }

        if (end == start) {
            continue;
        }

        for (eq = start; eq < end && body[eq] != '='; eq++) { }

        if (ref_unescape(body + start, eq - start, name, &nlen) != 0) {
            return -1;
        }

        for (k = 0; k < NFIELDS; k++) {
            if (nlen == strlen(names[k])
                && memcmp(name, names[k], nlen) == 0)
            {
                break;
            }
        }

        if (k == NFIELDS) {
            continue;
        }

        if (f[k].present) {
            return -1;
        }

        f[k].present = 1;
        f[k].data = scratch + len + start;
        f[k].len = 0;

        if (eq < end) {
            if (ref_unescape(body + eq + 1, end - eq - 1, f[k].data, &vlen)
                != 0)
            {
                return -1;
            }

            f[k].len = vlen;
        }
    }

    return 0;
}


static void
check_fields(ngx_http_totp_form_t *form, const u_char *buf, size_t len)
{
    int         i;
    ngx_str_t  *s;

    for (i = 0; i < NFIELDS; i++) {
        s = field(form, i);

        if (s->data == NULL) {
            CHECK(s->len == 0);
            continue;
        }

        if (s->len > 0) {
            CHECK(s->data >= buf && s->data + s->len <= buf + len);
        }
    }
}


static void
check_same(ngx_http_totp_form_t *a, ngx_http_totp_form_t *b)
{
    int         i;
    ngx_str_t  *x, *y;

    for (i = 0; i < NFIELDS; i++) {
        x = field(a, i);
        y = field(b, i);

        CHECK((x->data == NULL) == (y->data == NULL));
        CHECK(x->len == y->len);
        CHECK(x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
    }
}


/* writes the present fields in the order given by seed, every byte %XX */

static size_t
encode_form(u_char *dst, ngx_http_totp_form_t *form, uint8_t seed,
    int use_escape)
{
    int         i, k;
    u_char     *p;
    size_t      j;
    ngx_str_t  *s, esc;

    static const char  hex[] = "0123456789ABCDEF0123456789abcdef";

    p = dst;

    for (k = 0; k < NFIELDS; k++) {
        i = (k + seed) % NFIELDS;
        s = field(form, i);

        if (k == seed % 7) {
            /* an unknown field, ignored; and an empty segment */
            p = ngx_cpymem(p, "totp_x=%zz&&", 12);
        }

        if (s->data == NULL) {
            continue;
        }

        p = ngx_cpymem(p, names[i], strlen(names[i]));

        /* an empty value: "name=" or just "name", as the seed says */
        if (s->len == 0 && (seed & 0x80)) {
            *p++ = '&';
            continue;
        }

        *p++ = '=';

        if (use_escape) {
            CHECK(ngx_http_totp_escape(NULL, s, &esc) == NGX_OK);

            for (j = 0; j < esc.len; j++) {
                CHECK((esc.data[j] >= 'a' && esc.data[j] <= 'z')
                      || (esc.data[j] >= 'A' && esc.data[j] <= 'Z')
                      || (esc.data[j] >= '0' && esc.data[j] <= '9')
                      || strchr("-._~/%", esc.data[j]) != NULL);
            }

            p = ngx_cpymem(p, esc.data, esc.len);

        } else {
            for (j = 0; j < s->len; j++) {
                *p++ = '%';
                /* both cases of hex digits, as the seed says */
                *p++ = hex[(s->data[j] >> 4) + ((seed + j) & 1) * 16];
                *p++ = hex[(s->data[j] & 0xf) + ((seed + j) & 2) * 8];
            }
        }

        *p++ = '&';
    }

    return p - dst;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    i, rc, ref_rc;
    u_char                *buf, *re;
    size_t                 re_len, j, total;
    ngx_str_t             *s;
    ref_field_t            ref[NFIELDS];
    unsigned char         *scratch;
    ngx_http_totp_form_t   form, again;

    /* the body as nginx would hand it over: exactly size bytes */

    buf = fuzz_alloc(size);
    memcpy(buf, data, size);

    scratch = fuzz_alloc(2 * size);

    rc = ngx_http_totp_form_parse(buf, size, &form);
    ref_rc = ref_parse(data, size, ref, scratch);

    CHECK(rc == NGX_OK || rc == NGX_DECLINED);
    CHECK((rc == NGX_OK) == (ref_rc == 0));

    if (rc != NGX_OK) {
        fuzz_arena_reset();
        return 0;
    }

    check_fields(&form, buf, size);

    total = 0;

    for (i = 0; i < NFIELDS; i++) {
        s = field(&form, i);

        CHECK((s->data != NULL) == ref[i].present);
        CHECK(s->len == ref[i].len);
        CHECK(s->len == 0 || memcmp(s->data, ref[i].data, s->len) == 0);

        total += s->len;
    }

    /* the user name rule */

    if (form.user.data) {
        int  valid = form.user.len >= 1 && form.user.len <= TOTP_USER_MAX;

        for (j = 0; j < form.user.len; j++) {
            if (form.user.data[j] < 0x20 || form.user.data[j] == 0x7f) {
                valid = 0;
            }
        }

        CHECK(ngx_http_totp_user_valid(&form.user) == (ngx_uint_t) valid);
    }

    /* written again, every byte escaped, and parsed again */

    for (i = 0; i < 2; i++) {
        re = fuzz_alloc(3 * total + 64 + 20 * NFIELDS);
        re_len = encode_form(re, &form, size ? data[0] : 0, i);

        CHECK(ngx_http_totp_form_parse(re, re_len, &again) == NGX_OK);
        check_fields(&again, re, re_len);
        check_same(&form, &again);
    }

    fuzz_arena_reset();

    return 0;
}
