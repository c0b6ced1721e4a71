
/*
 * htpasswd lookups.  The file is read on each login, as auth_basic does,
 * so that a changed password takes effect without a reload; logins are
 * rare next to the requests a session lets through.  A session's check of
 * the user's line, once per totp_revalidate, reads the file again only
 * when it changed: each worker keeps the last few files it read.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <ngx_crypt.h>

#include "ngx_http_totp_password.h"


/* a file this large is a mistake, not a password list */
#define NGX_HTTP_TOTP_PASSWORD_FILE_MAX  (16 * 1024 * 1024)

/* the files a worker keeps for the sessions' checks */
#define NGX_HTTP_TOTP_PASSWORD_KEPT      4


/* a file as this worker last read it, and what tells that it changed */
typedef struct {
    u_char                      *path;       /* NUL-terminated, or NULL */
    size_t                       path_len;
    u_char                      *data;
    size_t                       len;
    off_t                        size;
    time_t                       mtime;
    ngx_file_uniq_t              uniq;
    time_t                       read;
} ngx_http_totp_password_kept_t;


static ngx_http_totp_password_kept_t *ngx_http_totp_password_keep(
    ngx_http_request_t *r, ngx_str_t *path);
static ngx_int_t ngx_http_totp_password_read(ngx_http_request_t *r,
    ngx_str_t *path, u_char **data, size_t *len);
static ngx_int_t ngx_http_totp_password_find(u_char *buf, size_t len,
    ngx_str_t *user, ngx_str_t *hash, ngx_str_t *line);
static ngx_int_t ngx_http_totp_password_match(ngx_http_request_t *r,
    ngx_str_t *password, u_char *hash, size_t len, ngx_uint_t decoy);


static ngx_http_totp_password_kept_t
    ngx_http_totp_password_kept[NGX_HTTP_TOTP_PASSWORD_KEPT];
static ngx_uint_t  ngx_http_totp_password_next;


ngx_int_t
ngx_http_totp_password_check(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, ngx_str_t *user, ngx_str_t *password)
{
    u_char           *buf;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_str_t         path, hash;
    ngx_file_t        f;
    ngx_file_info_t   fi;

    if (ngx_http_complex_value(r, file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", path.data);
        return NGX_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.fd = fd;
    f.name = path;
    f.log = r->connection->log;

    buf = NULL;
    size = 0;
    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_fd_info_n " \"%s\" failed", path.data);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_TOTP_PASSWORD_FILE_MAX) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "totp: password file \"%s\" is larger than %d bytes",
                      path.data, NGX_HTTP_TOTP_PASSWORD_FILE_MAX);
        goto done;
    }

    size = ngx_file_size(&fi);

    buf = ngx_pnalloc(r->pool, size + 1);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&f, buf, size, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if (ngx_http_totp_password_find(buf, n, user, &hash, NULL) != NGX_OK) {

        /*
         * No such user: the password is hashed all the same, against the
         * file's first crypt(3) hash, so that the answer takes as long as
         * for a user who exists and the time does not tell which names
         * do.  Its result is never used.
         */

        if (ngx_http_totp_password_find(buf, n, NULL, &hash, NULL) == NGX_OK) {
            (void) ngx_http_totp_password_match(r, password, hash.data,
                                                hash.len, 1);
        }

        rc = NGX_DECLINED;
        goto done;
    }

    rc = ngx_http_totp_password_match(r, password, hash.data, hash.len, 0);

done:

    if (buf) {
        ngx_explicit_memzero(buf, size + 1);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", path.data);
    }

    return rc;
}


ngx_int_t
ngx_http_totp_password_line(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, ngx_str_t *user, ngx_str_t *line)
{
    ngx_str_t                       path, hash, found;
    ngx_http_totp_password_kept_t  *kept;

    if (ngx_http_complex_value(r, file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    kept = ngx_http_totp_password_keep(r, &path);
    if (kept == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_totp_password_find(kept->data, kept->len, user, &hash,
                                    &found)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    line->data = ngx_pnalloc(r->pool, found.len);
    if (line->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(line->data, found.data, found.len);
    line->len = found.len;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_password_unchanged(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, time_t since)
{
    ngx_str_t        path;
    ngx_file_info_t  fi;

    if (ngx_http_complex_value(r, file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_file_info(path.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_file_info_n " \"%s\" failed", path.data);
        return NGX_ERROR;
    }

    /* one second's grain: a file written in that second counts as before */

    return (ngx_file_mtime(&fi) <= since) ? NGX_OK : NGX_DECLINED;
}


void
ngx_http_totp_password_release(void)
{
    ngx_uint_t                      i;
    ngx_http_totp_password_kept_t  *kept;

    for (i = 0; i < NGX_HTTP_TOTP_PASSWORD_KEPT; i++) {
        kept = &ngx_http_totp_password_kept[i];

        if (kept->data) {
            ngx_explicit_memzero(kept->data, kept->len);
            ngx_free(kept->data);
        }

        if (kept->path) {
            ngx_free(kept->path);
        }

        ngx_memzero(kept, sizeof(ngx_http_totp_password_kept_t));
    }
}


/*
 * The file at path as this worker keeps it, read again if its size,
 * modification time or inode changed, or if it was read in the second it
 * was last modified (a change in that same second would not show).
 */

static ngx_http_totp_password_kept_t *
ngx_http_totp_password_keep(ngx_http_request_t *r, ngx_str_t *path)
{
    u_char                         *p, *data;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_file_info_t                 fi;
    ngx_http_totp_password_kept_t  *kept;

    /* ngx_http_complex_value() ends values with a NUL for file names */

    if (ngx_file_info(path->data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_file_info_n " \"%s\" failed", path->data);
        return NULL;
    }

    for (i = 0; i < NGX_HTTP_TOTP_PASSWORD_KEPT; i++) {
        kept = &ngx_http_totp_password_kept[i];

        if (kept->path && kept->path_len == path->len
            && ngx_memcmp(kept->path, path->data, path->len) == 0)
        {
            if (kept->size == ngx_file_size(&fi)
                && kept->mtime == ngx_file_mtime(&fi)
                && kept->uniq == ngx_file_uniq(&fi)
                && kept->read > kept->mtime)
            {
                return kept;
            }

            break;
        }
    }

    if (i == NGX_HTTP_TOTP_PASSWORD_KEPT) {
        i = ngx_http_totp_password_next++ % NGX_HTTP_TOTP_PASSWORD_KEPT;
    }

    kept = &ngx_http_totp_password_kept[i];

    if (ngx_http_totp_password_read(r, path, &data, &len) != NGX_OK) {
        return NULL;
    }

    if (kept->data) {
        ngx_explicit_memzero(kept->data, kept->len);
        ngx_free(kept->data);
        kept->data = NULL;
    }

    if (kept->path == NULL || kept->path_len != path->len
        || ngx_memcmp(kept->path, path->data, path->len) != 0)
    {
        p = ngx_alloc(path->len + 1, r->connection->log);
        if (p == NULL) {
            ngx_explicit_memzero(data, len);
            ngx_free(data);
            return NULL;
        }

        ngx_memcpy(p, path->data, path->len);
        p[path->len] = '\0';

        if (kept->path) {
            ngx_free(kept->path);
        }

        kept->path = p;
        kept->path_len = path->len;
    }

    kept->data = data;
    kept->len = len;
    kept->size = ngx_file_size(&fi);
    kept->mtime = ngx_file_mtime(&fi);
    kept->uniq = ngx_file_uniq(&fi);
    kept->read = ngx_time();

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp password: read \"%s\" again", kept->path);

    return kept;
}


/* the whole file into memory of the worker's own (ngx_alloc) */

static ngx_int_t
ngx_http_totp_password_read(ngx_http_request_t *r, ngx_str_t *path,
    u_char **data, size_t *len)
{
    u_char           *buf;
    size_t            size;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_int_t         rc;
    ngx_file_t        f;
    ngx_file_info_t   fi;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", path->data);
        return NGX_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.fd = fd;
    f.name = *path;
    f.log = r->connection->log;

    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_fd_info_n " \"%s\" failed", path->data);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_TOTP_PASSWORD_FILE_MAX) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "totp: password file \"%s\" is larger than %d bytes",
                      path->data, NGX_HTTP_TOTP_PASSWORD_FILE_MAX);
        goto done;
    }

    size = ngx_file_size(&fi);

    buf = ngx_alloc(size + 1, r->connection->log);
    if (buf == NULL) {
        goto done;
    }

    n = ngx_read_file(&f, buf, size, 0);

    if (n == NGX_ERROR) {
        ngx_explicit_memzero(buf, size + 1);
        ngx_free(buf);
        goto done;
    }

    *data = buf;
    *len = n;
    rc = NGX_OK;

done:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", path->data);
    }

    return rc;
}


/*
 * The hash of user in an htpasswd file's bytes: lines "user:hash" or
 * "user:hash:comment", "#" comments, LF or CRLF.  NGX_DECLINED when the
 * user is not there.  A NULL user stands for any user with a crypt(3)
 * hash ("$..."), the slow kind: the first such entry's hash.  Disabled
 * entries ("!", "*") and {SHA}-style ones cost next to nothing to check.
 * entry, if not NULL, gets the whole line, without its line break.
 */

static ngx_int_t
ngx_http_totp_password_find(u_char *buf, size_t len, ngx_str_t *user,
    ngx_str_t *hash, ngx_str_t *entry)
{
    u_char  *p, *end, *line, *line_start, *colon, *h;

    end = buf + len;

    for (p = buf; p < end; p = line + 1) {
        line = ngx_strlchr(p, end, LF);
        if (line == NULL) {
            line = end;
        }

        line_start = p;

        if (p[0] == '#' || p == line) {
            continue;
        }

        colon = ngx_strlchr(p, line, ':');

        /* bytes, not a C string: a NUL would end ngx_strncmp() early */

        if (colon == NULL
            || (user != NULL
                && ((size_t) (colon - p) != user->len
                    || ngx_memcmp(p, user->data, user->len) != 0)))
        {
            continue;
        }

        h = colon + 1;

        for (p = h; p < line && *p != ':' && *p != CR; p++) {
            /* void */
        }

        if (user == NULL && (p == h || *h != '$')) {
            continue;
        }

        hash->data = h;
        hash->len = p - h;

        if (entry) {
            entry->data = line_start;
            entry->len = line - line_start;

            if (entry->len && entry->data[entry->len - 1] == CR) {
                entry->len--;
            }
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_totp_password_match(ngx_http_request_t *r, ngx_str_t *password,
    u_char *hash, size_t len, ngx_uint_t decoy)
{
    u_char      *key, *salt, *encrypted;
    ngx_int_t    rc;
    ngx_uint_t   level;

    /* ngx_crypt() takes C strings: a NUL inside would cut the password */

    if (ngx_strlchr(password->data, password->data + password->len, '\0')) {
        return NGX_DECLINED;
    }

    key = ngx_pnalloc(r->pool, password->len + 1 + len + 1);
    if (key == NULL) {
        return NGX_ERROR;
    }

    salt = ngx_cpymem(key, password->data, password->len);
    *salt++ = '\0';
    ngx_memcpy(salt, hash, len);
    salt[len] = '\0';

    encrypted = NULL;

    if (ngx_crypt(r->pool, key, salt, &encrypted) != NGX_OK) {

        /* the decoy's entry is nobody's concern at each unknown name */

        level = decoy ? NGX_LOG_DEBUG : NGX_LOG_ERR;

        ngx_log_error(level, r->connection->log, 0,
                      "totp: password hash in an unknown format%s",
                      decoy ? " (checked for a name not in the file)" : "");
        rc = NGX_ERROR;

    } else {
        rc = (ngx_strcmp(encrypted, salt) == 0) ? NGX_OK : NGX_DECLINED;

        /* {PLAIN} "hashes" to the password itself */
        ngx_explicit_memzero(encrypted, ngx_strlen(encrypted));
    }

    ngx_explicit_memzero(key, password->len + 1 + len + 1);

    /*
     * A slow hash (bcrypt, yescrypt, many rounds) holds the worker for a
     * good part of a second, several in a row as long, and the event
     * loop's clock stands still meanwhile: a Redis command sent next
     * would get its timer from the stale time and time out before Redis
     * could answer.
     */

    ngx_time_update();

    return rc;
}
