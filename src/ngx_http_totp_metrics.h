
/*
 * totp_metrics: the counters of every worker in Prometheus's text
 * exposition format (version 0.0.4), for a scraper.
 */


#ifndef _NGX_HTTP_TOTP_METRICS_H_INCLUDED_
#define _NGX_HTTP_TOTP_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_totp_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_TOTP_METRICS_H_INCLUDED_ */
