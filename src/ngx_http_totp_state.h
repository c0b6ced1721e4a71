
/*
 * What the gate or the pages decided for a request: what $totp_status and
 * $totp_user show.
 */


#ifndef _NGX_HTTP_TOTP_STATE_H_INCLUDED_
#define _NGX_HTTP_TOTP_STATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* what $totp_status says */
typedef enum {
    NGX_HTTP_TOTP_NONE = 0,
    NGX_HTTP_TOTP_SESSION,
    NGX_HTTP_TOTP_TRUSTED,
    NGX_HTTP_TOTP_VERIFIED,
    NGX_HTTP_TOTP_LOGIN,
    NGX_HTTP_TOTP_ENROLL,
    NGX_HTTP_TOTP_DENIED,
    NGX_HTTP_TOTP_LOCKED,
    NGX_HTTP_TOTP_ERROR
} ngx_http_totp_status_e;


/* the first member of the gate's and the pages' per-request contexts */
typedef struct {
    ngx_uint_t                   status;      /* ngx_http_totp_status_e */
    ngx_str_t                    user;        /* $totp_user */
} ngx_http_totp_state_t;


/* $totp_status's value for status; an empty string for none */
ngx_str_t *ngx_http_totp_state_name(ngx_uint_t status);

/* the request passes as user (copied): status session, trusted... */
ngx_int_t ngx_http_totp_state_pass(ngx_http_request_t *r,
    ngx_http_totp_state_t *state, ngx_uint_t status, u_char *user,
    size_t len);


#endif /* _NGX_HTTP_TOTP_STATE_H_INCLUDED_ */
