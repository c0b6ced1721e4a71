
/*
 * Client-supplied values in nginx's error log, escaped as the access log
 * escapes them, so that a user name with a quote or a line break cannot
 * end its field and write a line of its own.
 */


#ifndef _NGX_HTTP_TOTP_LOG_H_INCLUDED_
#define _NGX_HTTP_TOTP_LOG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * value as it may stand between quotes in a log line: '"', '\' and every
 * byte outside 0x20-0x7e written "\xHH".  value itself when nothing needs
 * escaping; a fixed placeholder when memory ran out.
 */
ngx_str_t *ngx_http_totp_log_escape(ngx_pool_t *pool, ngx_str_t *value);


#endif /* _NGX_HTTP_TOTP_LOG_H_INCLUDED_ */
