
/*
 * The streamed htpasswd reader (src/ngx_http_totp_htpasswd.c, included,
 * with lines kept up to 24 bytes so that long lines are common).
 *
 * Input: one byte L, then L bytes of user name, one byte that seeds how
 * the file is cut into chunks, then the file's bytes (so a seed is
 * "\005alice\001" followed by an htpasswd file).  Properties:
 *
 *  - fed in chunks of any sizes, the reader finds what an independent
 *    reader written here finds in the whole file at once: the user's
 *    first line (without its line break, a trailing CR dropped) and the
 *    hash in it, or that this line was too long to keep, or nothing; and
 *    the decoy, the first crypt(3) hash ("$...") of any line short
 *    enough to keep, that a name not in the file is hashed against;
 *  - the hash lies inside the kept line, right after "user:", and holds
 *    no ':', CR or LF; the line holds no LF.
 */


#define NGX_HTTP_TOTP_HTPASSWD_LINE  24

#include "../../src/ngx_http_totp_htpasswd.c"

#include "ngx_stubs.h"
#include "fuzz_common.h"


#define LINE  NGX_HTTP_TOTP_HTPASSWD_LINE


/* what ngx_http_totp_htpasswd_match() needs and the harness never runs */

ngx_pool_t *
ngx_create_pool(size_t size, ngx_log_t *log)
{
    FUZZ_UNREACHABLE("ngx_create_pool");
    return NULL;
}


void
ngx_destroy_pool(ngx_pool_t *pool)
{
    FUZZ_UNREACHABLE("ngx_destroy_pool");
}


ngx_int_t
ngx_crypt(ngx_pool_t *pool, u_char *key, u_char *salt, u_char **encrypted)
{
    FUZZ_UNREACHABLE("ngx_crypt");
    return NGX_ERROR;
}


/* the reference: the whole file at once, index arithmetic */

typedef struct {
    int      found, too_long;
    size_t   line_off, line_len, hash_off, hash_len;
    size_t   decoy_off, decoy_len;
} ref_t;


static void
ref_scan(const u_char *buf, size_t len, const u_char *user, size_t ulen,
    ref_t *ref)
{
    size_t  start, end, colon, h, n;

    memset(ref, 0, sizeof(ref_t));

    for (start = 0; start < len; start = end + 1) {
        end = start;
        while (end < len && buf[end] != '\n') {
            end++;
        }

        n = end - start;

        if (n > LINE) {

            /* only its start is looked at: is it the user's? */

            if (!ref->found && !ref->too_long && buf[start] != '#'
                && ulen < LINE && memchr(user, ':', ulen) == NULL
                && buf[start + ulen] == ':'
                && memcmp(buf + start, user, ulen) == 0)
            {
                ref->too_long = 1;
            }

            continue;
        }

        if (n == 0 || buf[start] == '#') {
            continue;
        }

        colon = start;
        while (colon < end && buf[colon] != ':') {
            colon++;
        }

        if (colon == end) {
            continue;
        }

        h = colon + 1;
        while (h < end && buf[h] != ':' && buf[h] != '\r') {
            h++;
        }

        if (!ref->found && !ref->too_long && colon - start == ulen
            && memcmp(buf + start, user, ulen) == 0)
        {
            ref->found = 1;
            ref->line_off = start;
            ref->line_len = (buf[end - 1] == '\r') ? n - 1 : n;
            ref->hash_off = colon + 1 - start;
            ref->hash_len = h - (colon + 1);
        }

        if (ref->decoy_len == 0 && h > colon + 1 && buf[colon + 1] == '$') {
            ref->decoy_off = colon + 1;
            ref->decoy_len = h - (colon + 1);
        }
    }
}


/* the next chunk's size, 1 to 2 * LINE bytes, from a small LCG */

static size_t
chunk_size(uint32_t *state)
{
    *state = *state * 1103515245 + 12345;

    return 1 + (*state >> 16) % (2 * LINE);
}


static void
check_scan(u_char *buf, size_t len, u_char *user, size_t ulen, uint32_t seed)
{
    size_t                     off, n;
    ref_t                      ref;
    ngx_str_t                  name;
    ngx_http_totp_htpasswd_t  *h;

    h = fuzz_alloc(sizeof(ngx_http_totp_htpasswd_t));
    if (h == NULL) {
        return;
    }

    name.len = ulen;
    name.data = user;

    ngx_http_totp_htpasswd_init(h, &name);

    for (off = 0; off < len; off += n) {
        n = chunk_size(&seed);
        if (n > len - off) {
            n = len - off;
        }

        ngx_http_totp_htpasswd_feed(h, buf + off, n);
    }

    ngx_http_totp_htpasswd_end(h);

    ref_scan(buf, len, user, ulen, &ref);

    CHECK(h->found == (unsigned) ref.found);
    CHECK(h->too_long == (unsigned) ref.too_long);

    if (ref.found) {
        CHECK(h->line_len == ref.line_len);
        CHECK(memcmp(h->line, buf + ref.line_off, ref.line_len) == 0);
        CHECK(h->hash_start == ref.hash_off);
        CHECK(h->hash_len == ref.hash_len);

        /* the hash: in the line, after "user:", no separator inside */

        CHECK(h->line_len <= LINE);
        CHECK(h->hash_start == ulen + 1 && h->line[ulen] == ':');
        CHECK(h->hash_start + h->hash_len <= h->line_len);
        CHECK(memchr(h->line, '\n', h->line_len) == NULL);
        CHECK(memchr(h->line + h->hash_start, ':', h->hash_len) == NULL);
        CHECK(memchr(h->line + h->hash_start, '\r', h->hash_len) == NULL);
    }

    CHECK(h->decoy_len == ref.decoy_len);

    if (ref.decoy_len) {
        CHECK(memcmp(h->decoy, buf + ref.decoy_off, ref.decoy_len) == 0);
        CHECK(h->decoy[0] == '$');
    }

    ngx_http_totp_htpasswd_wipe(h);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char    *buf, *user;
    size_t     ulen, len;
    uint32_t   seed;

    if (size < 2) {
        return 0;
    }

    ulen = data[0];
    if (ulen > size - 2) {
        ulen = size - 2;
    }

    user = fuzz_alloc(ulen);
    memcpy(user, data + 1, ulen);

    seed = data[1 + ulen];

    len = size - 2 - ulen;
    buf = fuzz_alloc(len);
    memcpy(buf, data + 2 + ulen, len);

    check_scan(buf, len, user, ulen, seed);

    fuzz_arena_reset();

    return 0;
}
