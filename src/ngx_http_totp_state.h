
/*
 * What the gate or the pages decided for a request: what $totp_status and
 * $totp_user show, kept for the whole request, internal redirects
 * included.
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


typedef struct {
    ngx_uint_t                   status;      /* ngx_http_totp_status_e */
    ngx_str_t                    user;        /* $totp_user */

    /* the user base the request passed the gate of (its binding) */
    ngx_str_t                    base;

    /* the "Cookie" headers as the client sent them, once the gate's
     * cookies were taken out of those that go upstream */
    ngx_array_t                 *cookies;
} ngx_http_totp_state_t;


/*
 * The main request's state, made on first use; NULL only when memory ran
 * out.  nginx forgets modules' contexts at an internal redirect, not the
 * request's pool, where this lives.
 */
ngx_http_totp_state_t *ngx_http_totp_state(ngx_http_request_t *r);

/* the state if the request has one, else NULL */
ngx_http_totp_state_t *ngx_http_totp_state_find(ngx_http_request_t *r);

/* a decision that lets nobody in: the user is forgotten */
void ngx_http_totp_state_set(ngx_http_totp_state_t *state,
    ngx_uint_t status);

/* the request passes as user (copied), of the user base base */
ngx_int_t ngx_http_totp_state_pass(ngx_http_request_t *r,
    ngx_http_totp_state_t *state, ngx_uint_t status, u_char *user,
    size_t len, ngx_str_t *base);

/* whether the main request passed a gate of user base base */
ngx_uint_t ngx_http_totp_state_passed(ngx_http_totp_state_t *state,
    ngx_str_t *base);

/* $totp_status's value for status; an empty string for none */
ngx_str_t *ngx_http_totp_state_name(ngx_uint_t status);


#endif /* _NGX_HTTP_TOTP_STATE_H_INCLUDED_ */
