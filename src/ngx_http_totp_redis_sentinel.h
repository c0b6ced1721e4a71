
/*
 * Redis Sentinel: which server is the master now, and word when that
 * changes (+switch-master).
 */


#ifndef _NGX_HTTP_TOTP_REDIS_SENTINEL_H_INCLUDED_
#define _NGX_HTTP_TOTP_REDIS_SENTINEL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_redis_conf.h"


/* the master's address, or NULL when no Sentinel could say */
typedef void (*ngx_http_totp_redis_located_pt)(ngx_addr_t *master);

/* the Sentinels moved the master elsewhere */
typedef void (*ngx_http_totp_redis_moved_pt)(void);


/*
 * Asks the Sentinels in turn; located is called once, later, never from
 * inside this call.  NGX_ERROR: nothing could be asked.
 */
ngx_int_t ngx_http_totp_redis_sentinel_locate(ngx_http_totp_redis_conf_t *rcf,
    ngx_log_t *log, ngx_http_totp_redis_located_pt located,
    ngx_http_totp_redis_moved_pt moved);

/* forgets a question in flight: located is not called for it */
void ngx_http_totp_redis_sentinel_cancel(void);

void ngx_http_totp_redis_sentinel_exit(void);


#endif /* _NGX_HTTP_TOTP_REDIS_SENTINEL_H_INCLUDED_ */
