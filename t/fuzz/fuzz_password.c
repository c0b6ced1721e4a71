
/*
 * The htpasswd line reader, static ngx_http_totp_password_find()
 * (src/ngx_http_totp_password.c, included).
 *
 * Input: one byte L, then L bytes of user name, then the file's bytes
 * (so a seed is "\005alice" followed by an htpasswd file).  Properties:
 *
 *  - the answer equals that of an independent line reader written here
 *    (same user found, same hash, or both not found);
 *  - a hash found lies inside the buffer, on a line that starts (at the
 *    buffer's start or after a LF) with exactly "user:", not a comment,
 *    with no LF from the line's start to the hash's end, and the hash
 *    holds no ':', CR or LF and ends at one of them or at the end.
 */


#include "../../src/ngx_http_totp_password.c"

#include "ngx_stubs.h"
#include "fuzz_common.h"


/* what ngx_http_totp_password_check() needs and the harness never runs */

ngx_int_t
ngx_http_complex_value(ngx_http_request_t *r, ngx_http_complex_value_t *val,
    ngx_str_t *value)
{
    FUZZ_UNREACHABLE("ngx_http_complex_value");
    return NGX_ERROR;
}


ssize_t
ngx_read_file(ngx_file_t *file, u_char *buf, size_t size, off_t offset)
{
    FUZZ_UNREACHABLE("ngx_read_file");
    return NGX_ERROR;
}


ngx_int_t
ngx_crypt(ngx_pool_t *pool, u_char *key, u_char *salt, u_char **encrypted)
{
    FUZZ_UNREACHABLE("ngx_crypt");
    return NGX_ERROR;
}


/* the reference: index arithmetic, no pointer juggling */

static int
ref_find(const u_char *buf, size_t len, const u_char *user, size_t ulen,
    size_t *off, size_t *hlen)
{
    size_t  start, end, colon, h;

    for (start = 0; start < len; start = end + 1) {
        end = start;
        while (end < len && buf[end] != '\n') {
            end++;
        }

        if (end == start || buf[start] == '#') {
            continue;
        }

        colon = start;
        while (colon < end && buf[colon] != ':') {
            colon++;
        }

        if (colon == end || colon - start != ulen
            || memcmp(buf + start, user, ulen) != 0)
        {
            continue;
        }

        h = colon + 1;

        while (h < end && buf[h] != ':' && buf[h] != '\r') {
            h++;
        }

        *off = colon + 1;
        *hlen = h - (colon + 1);

        return 1;
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char     *buf, *line, *end, *p;
    size_t      ulen, len, off, hlen;
    ngx_int_t   rc;
    ngx_str_t   user, hash;
    int         found;

    if (size == 0) {
        return 0;
    }

    ulen = data[0];
    if (ulen > size - 1) {
        ulen = size - 1;
    }

    user.len = ulen;
    user.data = fuzz_alloc(ulen);
    memcpy(user.data, data + 1, ulen);

    len = size - 1 - ulen;
    buf = fuzz_alloc(len);
    memcpy(buf, data + 1 + ulen, len);

    hash.data = NULL;
    hash.len = (size_t) -1;

    rc = ngx_http_totp_password_find(buf, len, &user, &hash);
    found = ref_find(buf, len, user.data, ulen, &off, &hlen);

    CHECK(rc == NGX_OK || rc == NGX_DECLINED);
    CHECK((rc == NGX_OK) == found);

    if (rc != NGX_OK) {
        fuzz_arena_reset();
        return 0;
    }

    end = buf + len;

    CHECK(hash.data == buf + off && hash.len == hlen);

    /* inside the buffer */

    CHECK(hash.data >= buf && hash.data <= end);
    CHECK(hash.len <= (size_t) (end - hash.data));

    /* on a line that starts with exactly "user:" */

    CHECK((size_t) (hash.data - buf) >= ulen + 1);
    line = hash.data - ulen - 1;

    CHECK(line == buf || line[-1] == LF);
    CHECK(ulen == 0 || line[0] != '#');
    CHECK(memcmp(line, user.data, ulen) == 0 && line[ulen] == ':');
    CHECK(memchr(line, ':', ulen) == NULL);

    /* never across a LF; the hash ends where a field or the line does */

    for (p = line; p < hash.data + hash.len; p++) {
        CHECK(*p != LF);
    }

    for (p = hash.data; p < hash.data + hash.len; p++) {
        CHECK(*p != ':' && *p != CR);
    }

    p = hash.data + hash.len;
    CHECK(p == end || *p == ':' || *p == CR || *p == LF);

    fuzz_arena_reset();

    return 0;
}
