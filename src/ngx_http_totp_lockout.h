
/*
 * Failure counting around a POST that checks a password or a code: the
 * attempt is counted before the check, given back on success, kept on
 * failure; what reaches its limit is locked (429).
 */


#ifndef _NGX_HTTP_TOTP_LOCKOUT_H_INCLUDED_
#define _NGX_HTTP_TOTP_LOCKOUT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


/*
 * Counts the POST as an attempt of ctx->user (found as ctx->guard says)
 * and its client; a locked one gets 429, the others go on in ctx->post
 * once Redis has answered.
 */
ngx_int_t ngx_http_totp_lockout_attempt(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * A wrong password or code (what it was for the audit log, text for the
 * error log): the count stays, then show shows the page again with error,
 * or 429 if this failure locked the user or the client.
 */
ngx_int_t ngx_http_totp_lockout_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_audit_e what, char *text,
    ngx_http_totp_show_pt show, ngx_uint_t error);

/*
 * A right password or second factor gives its count back with
 * ngx_http_totp_flow_give_back().
 */

/*
 * A code that cannot be one (letters, too few digits): nothing was
 * checked, so nothing is counted; show shows the page again, 400, with
 * hint.
 */
ngx_int_t ngx_http_totp_lockout_malformed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_show_pt show,
    ngx_uint_t hint);


#endif /* _NGX_HTTP_TOTP_LOCKOUT_H_INCLUDED_ */
