
/*
 * The gate in front of a location with "totp on": a precontent phase
 * handler.
 */


#ifndef _NGX_HTTP_TOTP_GATE_H_INCLUDED_
#define _NGX_HTTP_TOTP_GATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_totp_gate_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_TOTP_GATE_H_INCLUDED_ */
