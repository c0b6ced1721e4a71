
/*
 * Signing in: the password (login), the code of an enrolled user
 * (verify), or a recovery code for a lost device (recovery).
 */


#ifndef _NGX_HTTP_TOTP_SIGNIN_H_INCLUDED_
#define _NGX_HTTP_TOTP_SIGNIN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


ngx_int_t ngx_http_totp_signin_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_recovery_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


#endif /* _NGX_HTTP_TOTP_SIGNIN_H_INCLUDED_ */
