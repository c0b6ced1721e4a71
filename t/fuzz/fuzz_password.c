
/*
 * The htpasswd line reader, static ngx_http_totp_password_find()
 * (src/ngx_http_totp_password.c, included).
 *
 * Input: one byte L, then L bytes of user name, then the file's bytes
 * (so a seed is "\005alice" followed by an htpasswd file).  Properties:
 *
 *  - the answer equals that of an independent line reader written here
 *    (same user found, same hash, or both not found), for the user and
 *    for "any user" (NULL: the first entry with a crypt(3) hash, "$...",
 *    the decoy the module hashes a password against when the name is
 *    not in the file);
 *  - a hash found lies inside the buffer, on a line that starts (at the
 *    buffer's start or after a LF) with exactly "user:" (for any user:
 *    a name without ':', then ':' and a hash that starts with '$'), not
 *    a comment,
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

        if (colon == end
            || (user != NULL
                && (colon - start != ulen
                    || memcmp(buf + start, user, ulen) != 0)))
        {
            continue;
        }

        h = colon + 1;

        while (h < end && buf[h] != ':' && buf[h] != '\r') {
            h++;
        }

        /* any user: only a crypt(3) hash will do */

        if (user == NULL && (h == colon + 1 || buf[colon + 1] != '$')) {
            continue;
        }

        *off = colon + 1;
        *hlen = h - (colon + 1);

        return 1;
    }

    return 0;
}


/*
 * One lookup: of user (ulen bytes), or of the first entry when user is
 * NULL, as the module does for a name that is not in the file.
 */

static void
check_find(u_char *buf, size_t len, u_char *user, size_t ulen)
{
    u_char     *line, *end, *p;
    size_t      off, hlen;
    ngx_int_t   rc;
    ngx_str_t   name, hash, entry;
    int         found;

    name.len = ulen;
    name.data = user;

    hash.data = NULL;
    hash.len = (size_t) -1;

    entry.data = NULL;
    entry.len = (size_t) -1;

    rc = ngx_http_totp_password_find(buf, len, user ? &name : NULL, &hash,
                                     &entry);
    found = ref_find(buf, len, user, ulen, &off, &hlen);

    CHECK(rc == NGX_OK || rc == NGX_DECLINED);
    CHECK((rc == NGX_OK) == found);

    if (rc != NGX_OK) {
        return;
    }

    end = buf + len;

    CHECK(hash.data == buf + off && hash.len == hlen);

    /* the whole line: from its start, past the hash, not past its end */

    CHECK(entry.data >= buf && entry.data < hash.data);
    CHECK(entry.data == buf || entry.data[-1] == LF);
    CHECK(entry.data + entry.len >= hash.data + hash.len);
    CHECK(entry.data + entry.len <= end);
    CHECK(memchr(entry.data, LF, entry.len) == NULL);

    /* inside the buffer */

    CHECK(hash.data >= buf && hash.data <= end);
    CHECK(hash.len <= (size_t) (end - hash.data));

    /* on a line that starts with exactly "user:", or any "name:" */

    if (user == NULL) {
        for (line = hash.data - 1; line > buf && line[-1] != LF; line--) {
            /* void */
        }

        CHECK(line[0] != '#');
        CHECK(memchr(line, ':', hash.data - line) == hash.data - 1);
        CHECK(hash.len > 0 && hash.data[0] == '$');

    } else {
        CHECK((size_t) (hash.data - buf) >= ulen + 1);
        line = hash.data - ulen - 1;

        CHECK(ulen == 0 || line[0] != '#');
        CHECK(memcmp(line, user, ulen) == 0 && line[ulen] == ':');
        CHECK(memchr(line, ':', ulen) == NULL);
    }

    CHECK(line == buf || line[-1] == LF);

    /* never across a LF; the hash ends where a field or the line does */

    for (p = line; p < hash.data + hash.len; p++) {
        CHECK(*p != LF);
    }

    for (p = hash.data; p < hash.data + hash.len; p++) {
        CHECK(*p != ':' && *p != CR);
    }

    p = hash.data + hash.len;
    CHECK(p == end || *p == ':' || *p == CR || *p == LF);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char  *buf, *user;
    size_t   ulen, len;

    if (size == 0) {
        return 0;
    }

    ulen = data[0];
    if (ulen > size - 1) {
        ulen = size - 1;
    }

    user = fuzz_alloc(ulen);
    memcpy(user, data + 1, ulen);

    len = size - 1 - ulen;
    buf = fuzz_alloc(len);
    memcpy(buf, data + 1 + ulen, len);

    check_find(buf, len, user, ulen);
    check_find(buf, len, NULL, 0);

    fuzz_arena_reset();

    return 0;
}
