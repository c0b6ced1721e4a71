
/*
 * Enrollment and change of device: a new secret, shown as a QR code and
 * as text, stored only once the user has confirmed it with one code.
 */


#ifndef _NGX_HTTP_TOTP_ENROLL_H_INCLUDED_
#define _NGX_HTTP_TOTP_ENROLL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


ngx_int_t ngx_http_totp_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * A signed-in user, whose enrollment is fetched into ctx->rec, proved the
 * old device (or signed in with a recovery code): the new device's
 * secret is shown; the old one works until the new one is confirmed.
 */
ngx_int_t ngx_http_totp_enroll_change(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


#endif /* _NGX_HTTP_TOTP_ENROLL_H_INCLUDED_ */
