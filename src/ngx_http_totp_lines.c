
/*
 * Password lines kept per worker, one slot per user name's hash: a user
 * whose slot another took is read again, which costs a thread's read,
 * never a wrong answer.  A kept line counts only while the file has the
 * size, modification time and inode it was read with, and was read after
 * the second of that time.  The lines hold password hashes: they are
 * wiped when replaced, when a request's copy ends, and at exit.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_lines.h"


/* slots per worker: a few hundred KB at most for common lines */
#define NGX_HTTP_TOTP_LINES  1024


typedef struct {
    u_char                      *data;       /* path, NUL, user, line */
    size_t                       size;
    size_t                       path_len;
    ngx_str_t                    user;
    ngx_str_t                    text;
    ngx_int_t                    rc;
    off_t                        file_size;
    time_t                       mtime;
    ngx_file_uniq_t              uniq;
    time_t                       asked;
} ngx_http_totp_line_kept_t;


static ngx_http_totp_line_kept_t *ngx_http_totp_lines_slot(ngx_str_t *user);
static void ngx_http_totp_lines_drop(ngx_http_totp_line_kept_t *k);
static void ngx_http_totp_lines_wipe(void *data);


static ngx_http_totp_line_kept_t  ngx_http_totp_lines[NGX_HTTP_TOTP_LINES];


void
ngx_http_totp_lines_keep(u_char *path, ngx_str_t *user, ngx_int_t rc,
    u_char *text, size_t len, ngx_file_info_t *fi, time_t asked,
    ngx_log_t *log)
{
    u_char                     *p;
    size_t                      path_len, size;
    ngx_http_totp_line_kept_t  *k;

    k = ngx_http_totp_lines_slot(user);

    ngx_http_totp_lines_drop(k);

    path_len = ngx_strlen(path);
    size = path_len + 1 + user->len + len;

    p = ngx_alloc(size, log);
    if (p == NULL) {
        return;
    }

    k->data = p;
    k->size = size;
    k->path_len = path_len;

    p = ngx_cpymem(p, path, path_len);
    *p++ = '\0';

    k->user.data = p;
    k->user.len = user->len;
    p = ngx_cpymem(p, user->data, user->len);

    k->text.data = p;
    k->text.len = len;
    ngx_memcpy(p, text, len);

    k->rc = rc;
    k->file_size = ngx_file_size(fi);
    k->mtime = ngx_file_mtime(fi);
    k->uniq = ngx_file_uniq(fi);
    k->asked = asked;
}


ngx_int_t
ngx_http_totp_lines_find(ngx_http_request_t *r, u_char *path,
    ngx_str_t *user, ngx_int_t *rc, ngx_str_t *text)
{
    size_t                      path_len;
    ngx_str_t                  *copy;
    ngx_file_info_t             fi;
    ngx_pool_cleanup_t         *cln;
    ngx_http_totp_line_kept_t  *k;

    k = ngx_http_totp_lines_slot(user);
    path_len = ngx_strlen(path);

    if (k->data == NULL
        || k->user.len != user->len
        || ngx_memcmp(k->user.data, user->data, user->len) != 0
        || k->path_len != path_len
        || ngx_memcmp(k->data, path, path_len) != 0)
    {
        return NGX_DECLINED;
    }

    /* a file that cannot be looked at is the thread's to report */

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) != k->file_size
        || ngx_file_mtime(&fi) != k->mtime
        || ngx_file_uniq(&fi) != k->uniq
        || k->asked <= k->mtime)
    {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_str_t));
    if (cln == NULL) {
        return NGX_DECLINED;
    }

    copy = cln->data;
    copy->len = k->text.len;
    copy->data = ngx_pnalloc(r->pool, k->text.len + 1);

    if (copy->data == NULL) {
        copy->len = 0;
        return NGX_DECLINED;
    }

    ngx_memcpy(copy->data, k->text.data, k->text.len);

    cln->handler = ngx_http_totp_lines_wipe;

    *text = *copy;
    *rc = k->rc;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp password: the line of \"%V\" as this worker keeps "
                   "it", user);

    return NGX_OK;
}


void
ngx_http_totp_lines_release(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_TOTP_LINES; i++) {
        ngx_http_totp_lines_drop(&ngx_http_totp_lines[i]);
    }
}


static ngx_http_totp_line_kept_t *
ngx_http_totp_lines_slot(ngx_str_t *user)
{
    return &ngx_http_totp_lines[ngx_crc32_short(user->data, user->len)
                                % NGX_HTTP_TOTP_LINES];
}


static void
ngx_http_totp_lines_drop(ngx_http_totp_line_kept_t *k)
{
    if (k->data) {
        ngx_explicit_memzero(k->data, k->size);
        ngx_free(k->data);
    }

    ngx_memzero(k, sizeof(ngx_http_totp_line_kept_t));
}


static void
ngx_http_totp_lines_wipe(void *data)
{
    ngx_str_t  *copy = data;

    if (copy->data) {
        ngx_explicit_memzero(copy->data, copy->len);
    }
}
