
/*
 * Forms posted from elsewhere: the Origin check, and the CSRF token that
 * every form carries, a MAC of the pre-session cookie's nonce.
 */


#ifndef _NGX_HTTP_TOTP_CSRF_H_INCLUDED_
#define _NGX_HTTP_TOTP_CSRF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_crypto.h"


/* NGX_OK when the request has no Origin or one of this very host */
ngx_int_t ngx_http_totp_csrf_origin(ngx_http_request_t *r);

/* the token of pre under key number key (0: the current one) */
ngx_int_t ngx_http_totp_csrf_token(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, totp_token_t *pre, ngx_uint_t key,
    ngx_str_t *token);

/* NGX_OK when posted is pre's token under a configured key */
ngx_int_t ngx_http_totp_csrf_check(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, totp_token_t *pre, ngx_str_t *posted);


/*
 * NGX_OK unless the browser says (Sec-Fetch-Mode) that the request is no
 * top-level navigation: a script's fetch() of the same site, say, which
 * must not read what only a page shows.  Without the header (an older
 * browser, a tool), NGX_OK.
 */
ngx_int_t ngx_http_totp_csrf_navigation(ngx_http_request_t *r);

#endif /* _NGX_HTTP_TOTP_CSRF_H_INCLUDED_ */
