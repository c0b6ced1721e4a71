
/*
 * ngx_http_totp_module: a TOTP two-factor gate in front of any location.
 * Types and functions shared between the module's source files.
 */


#ifndef _NGX_HTTP_TOTP_MODULE_H_INCLUDED_
#define _NGX_HTTP_TOTP_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_redis.h"


/* HMAC and sealing keys are derived from it; 256 bits of entropy at least */
#define NGX_HTTP_TOTP_KEY_MIN      32
#define NGX_HTTP_TOTP_KEY_MAX      4096


typedef struct {
    ngx_str_t                    key;
    ngx_str_t                    key_previous;
    ngx_http_totp_redis_conf_t   redis;
} ngx_http_totp_main_conf_t;


typedef struct {
    ngx_uint_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    ngx_uint_t                   skew;
} ngx_http_totp_loc_conf_t;


char *ngx_http_totp_read_secret_file(ngx_conf_t *cf, ngx_str_t *secret,
    size_t min, size_t max);

ngx_int_t ngx_http_totp_health_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_totp_module;


#endif /* _NGX_HTTP_TOTP_MODULE_H_INCLUDED_ */
