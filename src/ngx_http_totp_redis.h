
/*
 * The module's Redis client: one hiredis asynchronous connection per
 * worker, driven by nginx's event loop and timers.
 */


#ifndef _NGX_HTTP_TOTP_REDIS_H_INCLUDED_
#define _NGX_HTTP_TOTP_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>


typedef struct {
    ngx_str_t                  addr;      /* as configured, for messages */
    ngx_str_t                  host;      /* IP literal or socket path,
                                             NUL-terminated */
    ngx_int_t                  port;      /* 0 for a unix socket */
    ngx_str_t                  user;      /* an ACL user, or empty */
    ngx_str_t                  password;  /* read at configuration time */
    ngx_int_t                  db;
    ngx_msec_t                 timeout;
} ngx_http_totp_redis_conf_t;


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


/* "totp_redis": an address literal or unix:/path; a name resolved once */
char *ngx_http_totp_redis_set_addr(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* the defaults for what the directives left unset */
char *ngx_http_totp_redis_init_conf(ngx_conf_t *cf,
    ngx_http_totp_redis_conf_t *rcf);

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


#endif /* _NGX_HTTP_TOTP_REDIS_H_INCLUDED_ */
