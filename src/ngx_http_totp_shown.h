
/*
 * The recovery codes a user was just shown, kept sealed in Redis for a
 * few minutes so that a reload or a download (codes.txt) shows them
 * again, to the same session only, until the user says they are saved.
 */


#ifndef _NGX_HTTP_TOTP_SHOWN_H_INCLUDED_
#define _NGX_HTTP_TOTP_SHOWN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"


/* how long a set stays, at most: long enough to save it, no longer */
#define NGX_HTTP_TOTP_SHOWN_TTL  600


/* a set of codes as it is kept: what the page says about it, and itself */
typedef struct {
    ngx_str_t                    codes;
    time_t                       when;        /* shown first */
    ngx_uint_t                   replaced;    /* an older set ended */
} ngx_http_totp_shown_t;


/*
 * set, sealed for user and the session of nonce, as base64url text for
 * Redis.
 */
ngx_int_t ngx_http_totp_shown_seal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, u_char *nonce,
    ngx_http_totp_shown_t *set, ngx_str_t *sealed);

/*
 * A set from its sealed text: NGX_OK, or NGX_DECLINED when it is another
 * session's, or none ("").  set->codes is wiped with the request.
 */
ngx_int_t ngx_http_totp_shown_open(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, u_char *nonce,
    ngx_str_t *sealed, ngx_http_totp_shown_t *set);


#endif /* _NGX_HTTP_TOTP_SHOWN_H_INCLUDED_ */
