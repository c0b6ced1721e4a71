
/*
 * Invitations: with totp_enroll invite, a user enrolls only through a
 * one-time link that ops make with "totp-admin invite NAME".
 */


#ifndef _NGX_HTTP_TOTP_INVITE_H_INCLUDED_
#define _NGX_HTTP_TOTP_INVITE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_flow.h"


/* the link's secret, in bytes */
#define NGX_HTTP_TOTP_INVITE_SECRET_LEN  32


/* GET invite?t=TOKEN */
ngx_int_t ngx_http_totp_invite(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


#endif /* _NGX_HTTP_TOTP_INVITE_H_INCLUDED_ */
