
/*
 * What a signed-in user does: change device (reset), sign out (logout,
 * here or everywhere), and what a trusted browser does: stop being
 * trusted (forget).  New recovery codes are ngx_http_totp_codes.c's.
 */


#ifndef _NGX_HTTP_TOTP_ACCOUNT_H_INCLUDED_
#define _NGX_HTTP_TOTP_ACCOUNT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


ngx_int_t ngx_http_totp_account_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_account_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_account_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_account_logout_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_account_forget(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_account_forget_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


#endif /* _NGX_HTTP_TOTP_ACCOUNT_H_INCLUDED_ */
