
/*
 * The account page, at the pages' prefix itself: who is signed in, since
 * when, this browser's trust, the recovery codes left, and the way to
 * each thing a signed-in user does.
 */


#ifndef _NGX_HTTP_TOTP_HOME_H_INCLUDED_
#define _NGX_HTTP_TOTP_HOME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


ngx_int_t ngx_http_totp_home(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


#endif /* _NGX_HTTP_TOTP_HOME_H_INCLUDED_ */
