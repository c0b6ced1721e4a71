
/*
 * The gate's pages under totp_path: login, verify, enroll, recovery,
 * reset, codes, logout and their stylesheet.
 */


#ifndef _NGX_HTTP_TOTP_PAGES_H_INCLUDED_
#define _NGX_HTTP_TOTP_PAGES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_totp_pages_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_TOTP_PAGES_H_INCLUDED_ */
