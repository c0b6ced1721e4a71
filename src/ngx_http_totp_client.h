
/*
 * What a client is, for failure counting: by default its address (after
 * realip), IPv4-mapped IPv6 as IPv4 and other IPv6 by its /64, since one
 * host commonly holds a whole /64; or what totp_client_key says.
 */


#ifndef _NGX_HTTP_TOTP_CLIENT_H_INCLUDED_
#define _NGX_HTTP_TOTP_CLIENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"


/* a totp_client_key value longer than this counts as the address */
#define NGX_HTTP_TOTP_CLIENT_KEY_MAX  256


/*
 * The client's key, in the request's pool: "192.0.2.7",
 * "2001:db8:1:2::/64", or totp_client_key's value.  *exempt is set when
 * that value is "off": the client is not held by totp_fail_limit_ip, and
 * its key is the address.
 */
ngx_int_t ngx_http_totp_client_key(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *key, ngx_uint_t *exempt);


#endif /* _NGX_HTTP_TOTP_CLIENT_H_INCLUDED_ */
