
/*
 * The built-in first factor: a password checked against an htpasswd file,
 * in every format auth_basic accepts (nginx's ngx_crypt()).
 */


#ifndef _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* NGX_OK: the password matches; NGX_DECLINED: it does not, or no such
   user; NGX_ERROR: the file could not be read (logged) */
ngx_int_t ngx_http_totp_password_check(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, ngx_str_t *user, ngx_str_t *password);


/*
 * The user's line in the file as it is now (copied into r's pool):
 * NGX_OK; NGX_DECLINED when the user is not in the file; NGX_ERROR when
 * it cannot be read (logged).  The file is read again only when it
 * changed since this worker last read it.
 */
ngx_int_t ngx_http_totp_password_line(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, ngx_str_t *user, ngx_str_t *line);


/*
 * Whether the file stayed as it was since the unix time since: NGX_OK;
 * NGX_DECLINED when it was modified after that second (a password typed
 * before may be one it no longer holds); NGX_ERROR when it cannot be
 * looked at (logged).
 */
ngx_int_t ngx_http_totp_password_unchanged(ngx_http_request_t *r,
    ngx_http_complex_value_t *file, time_t since);


/* the files this worker keeps, wiped and freed: at its exit */
void ngx_http_totp_password_release(void);


#endif /* _NGX_HTTP_TOTP_PASSWORD_H_INCLUDED_ */
