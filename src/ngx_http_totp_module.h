
/*
 * ngx_http_totp_module itself, for the handlers that look up its
 * configuration and per-request context.
 */


#ifndef _NGX_HTTP_TOTP_MODULE_H_INCLUDED_
#define _NGX_HTTP_TOTP_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


extern ngx_module_t  ngx_http_totp_module;


#endif /* _NGX_HTTP_TOTP_MODULE_H_INCLUDED_ */
