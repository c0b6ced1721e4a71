
/*
 * htpasswd files, streamed.  A file is read in 64 KB chunks, its lines
 * looked at where they are, and only one line is kept: the memory a
 * sign-in takes does not grow with the file.  This code runs in a
 * thread: it uses no request, no log but the silent one it is given, and
 * only the C library's reentrant calls.  ngx_crypt() falls back to crypt_r() where
 * nginx has it (glibc, libxcrypt); elsewhere to crypt(), and the caller
 * hashes in the event loop then (ngx_http_totp_password.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <ngx_crypt.h>

#include "ngx_http_totp_htpasswd.h"


static void ngx_http_totp_htpasswd_line(ngx_http_totp_htpasswd_t *h,
    u_char *data, size_t len);
static void ngx_http_totp_htpasswd_long(ngx_http_totp_htpasswd_t *h,
    u_char *prefix);


void
ngx_http_totp_htpasswd_init(ngx_http_totp_htpasswd_t *h, ngx_str_t *user)
{
    h->user = *user;
    h->line_len = 0;
    h->hash_start = 0;
    h->hash_len = 0;
    h->found = 0;
    h->too_long = 0;
    h->decoy_len = 0;
    h->part_len = 0;
    h->passing = 0;
}


void
ngx_http_totp_htpasswd_feed(ngx_http_totp_htpasswd_t *h, u_char *data,
    size_t len)
{
    u_char  *p, *end, *lf;
    size_t   n, room;

    p = data;
    end = data + len;

    while (p < end) {
        lf = memchr(p, LF, end - p);
        n = (lf ? lf : end) - p;

        if (!h->passing && h->part_len == 0 && lf) {

            /* a whole line in the chunk: looked at where it is */

            if (n <= NGX_HTTP_TOTP_HTPASSWD_LINE) {
                ngx_http_totp_htpasswd_line(h, p, n);

            } else {
                ngx_http_totp_htpasswd_long(h, p);
            }

        } else if (!h->passing) {
            room = NGX_HTTP_TOTP_HTPASSWD_LINE - h->part_len;

            if (n <= room) {
                ngx_memcpy(h->part + h->part_len, p, n);
                h->part_len += n;

                if (lf) {
                    ngx_http_totp_htpasswd_line(h, h->part, h->part_len);
                    h->part_len = 0;
                }

            } else {

                /* too long to keep: only its start is looked at */

                ngx_memcpy(h->part + h->part_len, p, room);
                ngx_http_totp_htpasswd_long(h, h->part);
                h->part_len = 0;

                /* its rest, up to its LF, comes in the next chunks */
                h->passing = (lf == NULL);
            }

        } else if (lf) {
            h->passing = 0;
        }

        if (lf == NULL) {
            break;
        }

        p = lf + 1;
    }
}


void
ngx_http_totp_htpasswd_end(ngx_http_totp_htpasswd_t *h)
{
    if (!h->passing && h->part_len) {
        ngx_http_totp_htpasswd_line(h, h->part, h->part_len);
    }

    h->part_len = 0;
    h->passing = 0;
}


ngx_int_t
ngx_http_totp_htpasswd_scan(ngx_http_totp_htpasswd_t *h, u_char *path,
    ngx_uint_t whole, ngx_file_info_t *fi,
    ngx_http_totp_htpasswd_failure_e *failure, ngx_err_t *err)
{
    u_char     buf[NGX_HTTP_TOTP_HTPASSWD_CHUNK];
    off_t      total;
    ssize_t    n;
    ngx_fd_t   fd;
    ngx_int_t  rc;

    /* non-blocking: a FIFO would wait for a writer in open() */

    fd = ngx_open_file(path, NGX_FILE_RDONLY|NGX_FILE_NONBLOCK,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_OPEN;
        *err = ngx_errno;
        return NGX_ERROR;
    }

    rc = NGX_OK;
    total = 0;

    if (ngx_fd_info(fd, fi) == NGX_FILE_ERROR) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_READ;
        *err = ngx_errno;
        rc = NGX_ERROR;

    } else if (!ngx_is_file(fi)) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_NOT_FILE;
        *err = 0;
        rc = NGX_ERROR;

    } else if (ngx_file_size(fi) > NGX_HTTP_TOTP_HTPASSWD_MAX) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_LARGE;
        *err = 0;
        rc = NGX_ERROR;
    }

    while (rc == NGX_OK) {
        n = ngx_read_fd(fd, buf, sizeof(buf));

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            *failure = NGX_HTTP_TOTP_HTPASSWD_READ;
            *err = ngx_errno;
            rc = NGX_ERROR;
            break;
        }

        if (n == 0) {
            ngx_http_totp_htpasswd_end(h);
            break;
        }

        /* a file that keeps growing is cut short as a large one */

        total += n;

        if (total > NGX_HTTP_TOTP_HTPASSWD_MAX) {
            *failure = NGX_HTTP_TOTP_HTPASSWD_LARGE;
            *err = 0;
            rc = NGX_ERROR;
            break;
        }

        ngx_http_totp_htpasswd_feed(h, buf, n);

        if (h->found && !whole) {
            break;
        }
    }

    (void) ngx_close_file(fd);

    ngx_explicit_memzero(buf, sizeof(buf));

    if (rc == NGX_OK && h->too_long && !h->found) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_LONG;
        *err = 0;
        rc = NGX_ERROR;
    }

    return rc;
}


ngx_int_t
ngx_http_totp_htpasswd_match(ngx_str_t *password, u_char *hash, size_t len,
    ngx_log_t *log, ngx_http_totp_htpasswd_failure_e *failure)
{
    u_char      *key, *salt, *encrypted;
    size_t       size;
    ngx_int_t    rc;
    ngx_pool_t  *pool;

    /* ngx_crypt() takes C strings: a NUL inside would cut the password */

    if (ngx_strlchr(password->data, password->data + password->len, '\0')) {
        return NGX_DECLINED;
    }

    /* a pool of the hash's own: this thread's alone while it runs */

    pool = ngx_create_pool(NGX_MIN_POOL_SIZE + 512, log);
    if (pool == NULL) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_NOMEM;
        return NGX_ERROR;
    }

    size = password->len + 1 + len + 1;

    key = ngx_pnalloc(pool, size);
    if (key == NULL) {
        ngx_destroy_pool(pool);
        *failure = NGX_HTTP_TOTP_HTPASSWD_NOMEM;
        return NGX_ERROR;
    }

    salt = ngx_cpymem(key, password->data, password->len);
    *salt++ = '\0';
    ngx_memcpy(salt, hash, len);
    salt[len] = '\0';

    encrypted = NULL;

    if (ngx_crypt(pool, key, salt, &encrypted) != NGX_OK) {
        *failure = NGX_HTTP_TOTP_HTPASSWD_FORMAT;
        rc = NGX_ERROR;

    } else {
        rc = (ngx_strcmp(encrypted, salt) == 0) ? NGX_OK : NGX_DECLINED;

        /* {PLAIN} "hashes" to the password itself */
        ngx_explicit_memzero(encrypted, ngx_strlen(encrypted));
    }

    ngx_explicit_memzero(key, size);
    ngx_destroy_pool(pool);

    return rc;
}


void
ngx_http_totp_htpasswd_wipe(ngx_http_totp_htpasswd_t *h)
{
    ngx_explicit_memzero(h, sizeof(ngx_http_totp_htpasswd_t));
}


/*
 * One line, without its LF.  A disabled entry ("!", "*") or a {SHA} one
 * is never the decoy: only a crypt(3) hash costs what a real check does.
 */

static void
ngx_http_totp_htpasswd_line(ngx_http_totp_htpasswd_t *h, u_char *data,
    size_t len)
{
    u_char  *end, *colon, *hash, *p;

    if (len == 0 || data[0] == '#') {
        return;
    }

    end = data + len;

    colon = memchr(data, ':', len);
    if (colon == NULL) {
        return;
    }

    hash = colon + 1;

    for (p = hash; p < end && *p != ':' && *p != CR; p++) {
        /* void */
    }

    /* bytes, not a C string: a NUL in the name would end ngx_strncmp() */

    if (!h->found && !h->too_long
        && (size_t) (colon - data) == h->user.len
        && ngx_memcmp(data, h->user.data, h->user.len) == 0)
    {
        if (data[len - 1] == CR) {
            len--;
        }

        ngx_memcpy(h->line, data, len);
        h->line_len = len;
        h->hash_start = hash - data;
        h->hash_len = p - hash;
        h->found = 1;
    }

    if (h->decoy_len == 0 && p > hash && *hash == '$') {
        h->decoy_len = p - hash;
        ngx_memcpy(h->decoy, hash, h->decoy_len);
    }
}


/* the first NGX_HTTP_TOTP_HTPASSWD_LINE bytes of a line longer than that */

static void
ngx_http_totp_htpasswd_long(ngx_http_totp_htpasswd_t *h, u_char *prefix)
{
    if (h->found || h->too_long || prefix[0] == '#'
        || h->user.len >= NGX_HTTP_TOTP_HTPASSWD_LINE
        || ngx_strlchr(prefix, prefix + h->user.len, ':') != NULL
        || prefix[h->user.len] != ':'
        || ngx_memcmp(prefix, h->user.data, h->user.len) != 0)
    {
        return;
    }

    h->too_long = 1;
}
