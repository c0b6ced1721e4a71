
/*
 * The module's Redis client: one connection per worker for the
 * commands, found where the configuration says (an address, a name
 * resolved at each connect, or the Sentinels' master), with AUTH, SELECT
 * and the master check after every connect.
 */


#ifndef _NGX_HTTP_TOTP_REDIS_H_INCLUDED_
#define _NGX_HTTP_TOTP_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>

#include "ngx_http_totp_redis_conf.h"


typedef struct {
    ngx_str_t                  body;
    u_char                     sha1[40];  /* hex, computed on first use */
    unsigned                   hashed:1;
} ngx_http_totp_redis_script_t;

#define ngx_http_totp_redis_script(body)                                     \
    { ngx_string(body), { 0 }, 0 }


/*
 * Called exactly once per accepted command, unless the pool the command
 * was sent for is destroyed first or the worker is exiting.  reply is
 * NULL when Redis could not be reached, did not answer within
 * totp_redis_timeout or misbehaved; an error reply (REDIS_REPLY_ERROR) is
 * passed on as it is.  reply belongs to hiredis and is freed when the
 * handler returns: copy what must outlive it.
 */
typedef void (*ngx_http_totp_redis_handler_pt)(void *data,
    redisReply *reply);


ngx_int_t ngx_http_totp_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_totp_redis_conf_t *rcf);
void ngx_http_totp_redis_exit_process(ngx_cycle_t *cycle);

/*
 * Both return NGX_OK when the command is on its way, and NGX_ERROR when
 * it could not be sent (Redis is down and waiting out its backoff, memory
 * ran out, or argc is 0); the handler is then never called.  Arguments
 * are copied, binary safe.  With eval, argv holds the nkeys keys, then
 * the script's other arguments.
 */
ngx_int_t ngx_http_totp_redis_command(ngx_pool_t *pool, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data);
ngx_int_t ngx_http_totp_redis_eval(ngx_pool_t *pool,
    ngx_http_totp_redis_script_t *script, ngx_uint_t nkeys, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data);

/*
 * totp_redis_replicas: called from the handler of a write's reply, waits
 * until that many replicas hold it.  NGX_DECLINED: nothing to wait for
 * (the handler is not called); NGX_ERROR: the write's connection is gone
 * (not called either); NGX_OK: the handler gets a reply, or NULL when
 * fewer replicas than asked acknowledged in time.
 */
ngx_int_t ngx_http_totp_redis_wait(ngx_pool_t *pool,
    ngx_http_totp_redis_handler_pt handler, void *data);


#endif /* _NGX_HTTP_TOTP_REDIS_H_INCLUDED_ */
