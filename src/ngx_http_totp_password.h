
/*
 * The built-in first factor: a password checked against an htpasswd file,
 * in every format auth_basic accepts (nginx's ngx_crypt()), and the
 * user's line in that file, which a session's digest is taken of.  Both
 * run in the thread pool totp_thread_pool names, so that a slow hash
 * never holds the worker's other requests; with "off" they run inline.
 */


#ifndef _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"


/* a user's line in the password file, as this request read it */
typedef struct {
    ngx_str_t                    text;      /* without its line break */

    /* NGX_OK; NGX_DECLINED: the user is not in the file; NGX_ERROR */
    ngx_int_t                    rc;
    unsigned                     read:1;
} ngx_http_totp_password_line_t;


typedef void (*ngx_http_totp_password_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t rc);


/*
 * Checks password for user against the location's file.  NGX_AGAIN: it
 * runs in the thread pool, and done(r, data, rc) follows in the event
 * loop, unless the client left meanwhile (the request then ends).  rc,
 * or what is returned at once without a pool: NGX_OK, the password
 * matches; NGX_DECLINED, it does not or there is no such user; NGX_ERROR,
 * the file could not be read (logged).  NGX_BUSY: this worker hashes
 * totp_hash_concurrency passwords already, or the pool's queue is full;
 * nothing was started.  line,
 * if not NULL, gets the user's line from the same pass over the file.
 * The password is not copied: it must stay until done.
 */
ngx_int_t ngx_http_totp_password_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_str_t *password,
    ngx_http_totp_password_line_t *line, ngx_http_totp_password_pt done,
    void *data);


/*
 * The user's line in the location's file into line, read as above:
 * NGX_AGAIN (done follows) or, without a pool, NGX_OK at once; line->rc
 * holds the outcome either way, NGX_ERROR also when no job could be made.
 */
ngx_int_t ngx_http_totp_password_line(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user,
    ngx_http_totp_password_line_t *line, ngx_http_totp_password_pt done,
    void *data);


/* at a worker's start: the thread pool that nginx started for it */
void ngx_http_totp_password_init_process(ngx_http_totp_main_conf_t *mcf);

/* at its exit: the lines it keeps, wiped */
void ngx_http_totp_password_exit_process(void);


/*
 * Whether the file stayed as it was since the unix time since: NGX_OK;
 * NGX_DECLINED when it was modified after that second (a password typed
 * before may be one it no longer holds); NGX_ERROR when it cannot be
 * looked at (logged).
 */
ngx_int_t ngx_http_totp_password_unchanged(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, time_t since);


#endif /* _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_ */
