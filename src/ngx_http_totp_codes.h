
/*
 * The recovery codes page (codes), its download (codes.txt), and the set
 * of codes a sign-in or the page just made, kept a while for this session.
 */


#ifndef _NGX_HTTP_TOTP_CODES_H_INCLUDED_
#define _NGX_HTTP_TOTP_CODES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


ngx_int_t ngx_http_totp_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_codes_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_codes_saved(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_codes_file(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * ctx->codes, just made, kept for the session of nonce and shown: a page
 * to finish the request with, or NGX_DONE while Redis keeps them.
 */
ngx_int_t ngx_http_totp_codes_keep(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, u_char *nonce);

/* the page as ctx holds it: the codes, or the form that makes new ones */
ngx_int_t ngx_http_totp_codes_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);


#endif /* _NGX_HTTP_TOTP_CODES_H_INCLUDED_ */
