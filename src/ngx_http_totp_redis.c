
/*
 * The worker's Redis client.  One connection carries every command of
 * the worker (ngx_http_totp_redis_conn.c); this file decides where it
 * goes (an address, a name resolved with nginx's resolver at each
 * connect, or the master the Sentinels name), says who the module is
 * (AUTH, SELECT) and checks that it speaks to the master after every
 * connect, backs off from a Redis that does not answer, and keeps each
 * command's requester apart from its reply: a request that goes away
 * never sees it.  Nothing here ever blocks the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_redis.h"
#include "ngx_http_totp_redis_conn.h"
#include "ngx_http_totp_redis_sentinel.h"


/*
 * A dead Redis sees one connect per worker per this much at most; and a
 * Redis back up is used again within it (the next request's attempt).
 */
#define NGX_HTTP_TOTP_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_TOTP_REDIS_BACKOFF_MAX   1000

/* "mymaster at [ipv6]:port" */
#define NGX_HTTP_TOTP_REDIS_NAME_LEN      (256 + NGX_SOCKADDR_STRLEN)


typedef struct {
    ngx_http_totp_redis_conn_t        conn;
    ngx_http_totp_redis_conf_t       *conf;
    ngx_log_t                        *log;

    ngx_resolver_ctx_t               *resolving;

    ngx_msec_t                        backoff;
    ngx_msec_t                        retry_at;

    /* the generation + 1 of the connection whose reply is handled now */
    ngx_uint_t                        replying;

    u_char                            name[NGX_HTTP_TOTP_REDIS_NAME_LEN];

    /* the address a certificate is checked against, when no name is */
    u_char                            tls_name[NGX_SOCKADDR_STRLEN + 1];

    /* the current connection has answered at least once */
    unsigned                          healthy:1;

    /* no request is resumed once the worker is on its way out */
    unsigned                          exiting:1;
} ngx_http_totp_redis_worker_t;


typedef struct {
    ngx_http_totp_redis_pending_t     pending;    /* first */

    ngx_http_totp_redis_handler_pt    handler;
    void                             *data;

    /* the requester's: debug_connection follows a request to Redis */
    ngx_log_t                        *log;

    ngx_pool_cleanup_t               *cleanup;
    ngx_http_totp_redis_script_t     *script;
    size_t                            size;
    ngx_uint_t                        started;    /* for its latency */
    unsigned                          wait:1;
    int                               argc;
    const char                      **argv;
    size_t                           *argvlen;
} ngx_http_totp_redis_cmd_t;


static ngx_http_totp_redis_cmd_t *ngx_http_totp_redis_cmd_create(
    ngx_pool_t *pool, ngx_uint_t nhead, ngx_str_t *head, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data);
static ngx_int_t ngx_http_totp_redis_send(ngx_http_totp_redis_cmd_t *cmd);
static void ngx_http_totp_redis_cmd_free(ngx_http_totp_redis_cmd_t *cmd);
static void ngx_http_totp_redis_cancel(void *data);
static void ngx_http_totp_redis_reply(ngx_http_totp_redis_pending_t *p,
    redisReply *reply);
static ngx_int_t ngx_http_totp_redis_moved(redisReply *reply);
static ngx_int_t ngx_http_totp_redis_retry_as_eval(
    ngx_http_totp_redis_cmd_t *cmd, redisReply *reply);

static ngx_int_t ngx_http_totp_redis_start(void);
static void ngx_http_totp_redis_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_totp_redis_located(ngx_addr_t *master);
static void ngx_http_totp_redis_master_moved(void);
static void ngx_http_totp_redis_connect(struct sockaddr *sockaddr,
    socklen_t socklen);
static ngx_int_t ngx_http_totp_redis_handshake(void);
static void ngx_http_totp_redis_handshake_reply(void *data,
    redisReply *reply);
static void ngx_http_totp_redis_role_reply(void *data, redisReply *reply);
static void ngx_http_totp_redis_closed(ngx_http_totp_redis_conn_t *conn);

static void ngx_http_totp_redis_hash_script(
    ngx_http_totp_redis_script_t *script);


static ngx_http_totp_redis_worker_t  ngx_http_totp_redis_worker;

static ngx_str_t  ngx_http_totp_redis_evalsha = ngx_string("EVALSHA");
static ngx_str_t  ngx_http_totp_redis_eval_cmd = ngx_string("EVAL");
static ngx_str_t  ngx_http_totp_redis_auth = ngx_string("AUTH");
static ngx_str_t  ngx_http_totp_redis_select = ngx_string("SELECT");
static ngx_str_t  ngx_http_totp_redis_role = ngx_string("ROLE");
static ngx_str_t  ngx_http_totp_redis_wait_cmd = ngx_string("WAIT");


ngx_int_t
ngx_http_totp_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_totp_redis_conf_t *rcf)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    /* the connection itself is made on first use, in the worker */

    ngx_memzero(w, sizeof(ngx_http_totp_redis_worker_t));

    w->conf = rcf;
    w->log = cycle->log;

    w->conn.name = rcf->addr;
    w->conn.timeout = rcf->timeout;
    w->conn.closed = ngx_http_totp_redis_closed;

#if (NGX_SSL)
    if (rcf->ssl) {
        w->conn.ssl = rcf->ssl_ctx;
        w->conn.tls.name = rcf->ssl_name;
        w->conn.tls.verify = rcf->ssl_verify;
    }
#endif

    return NGX_OK;
}


void
ngx_http_totp_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    w->exiting = 1;

    if (w->conf == NULL) {
        return;
    }

    ngx_http_totp_redis_sentinel_exit();
    ngx_http_totp_redis_conn_close(&w->conn);
    ngx_http_totp_redis_conn_free(&w->conn);
}


ngx_int_t
ngx_http_totp_redis_command(ngx_pool_t *pool, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data)
{
    ngx_http_totp_redis_cmd_t  *cmd;

    if (argc == 0) {
        return NGX_ERROR;
    }

    cmd = ngx_http_totp_redis_cmd_create(pool, 0, NULL, argc, argv,
                                         handler, data);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_totp_redis_send(cmd);
}


ngx_int_t
ngx_http_totp_redis_eval(ngx_pool_t *pool,
    ngx_http_totp_redis_script_t *script, ngx_uint_t nkeys, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data)
{
    u_char                      numkeys[NGX_INT_T_LEN];
    ngx_str_t                   head[3];
    ngx_http_totp_redis_cmd_t  *cmd;

    if (!script->hashed) {
        ngx_http_totp_redis_hash_script(script);
    }

    head[0] = ngx_http_totp_redis_evalsha;
    head[1].data = script->sha1;
    head[1].len = sizeof(script->sha1);
    head[2].data = numkeys;
    head[2].len = ngx_sprintf(numkeys, "%ui", nkeys) - numkeys;

    cmd = ngx_http_totp_redis_cmd_create(pool, 3, head, argc, argv,
                                         handler, data);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->script = script;

    return ngx_http_totp_redis_send(cmd);
}


ngx_int_t
ngx_http_totp_redis_wait(ngx_pool_t *pool,
    ngx_http_totp_redis_handler_pt handler, void *data)
{
    u_char                         n[NGX_INT_T_LEN], ms[NGX_INT_T_LEN];
    ngx_str_t                      argv[3];
    ngx_http_totp_redis_cmd_t     *cmd;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (w->conf->replicas == 0) {
        return NGX_DECLINED;
    }

    /*
     * WAIT counts the writes of its own connection: on any other one,
     * a new connection included, it would say yes to nothing.
     */

    if (w->replying != w->conn.generation + 1
        || w->conn.state == NGX_HTTP_TOTP_REDIS_CLOSED)
    {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: redis \"%V\": the connection that took a "
                      "write is gone before its replicas could be asked",
                      &w->conn.name);
        return NGX_ERROR;
    }

    /*
     * Redis holds the connection while it waits: well under the
     * command timeout, so that the commands behind it are only delayed.
     */

    argv[0] = ngx_http_totp_redis_wait_cmd;
    argv[1].data = n;
    argv[1].len = ngx_sprintf(n, "%i", w->conf->replicas) - n;
    argv[2].data = ms;
    argv[2].len = ngx_sprintf(ms, "%M",
                              ngx_max(w->conf->timeout / 4, 1)) - ms;

    cmd = ngx_http_totp_redis_cmd_create(pool, 0, NULL, 3, argv,
                                         handler, data);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->wait = 1;

    return ngx_http_totp_redis_send(cmd);
}


/*
 * A command lives on the heap, not in the pool it was sent for: its
 * reply may come after the request is gone.  The pool only gets a
 * cleanup that detaches the requester.
 */

static ngx_http_totp_redis_cmd_t *
ngx_http_totp_redis_cmd_create(ngx_pool_t *pool, ngx_uint_t nhead,
    ngx_str_t *head, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_totp_redis_handler_pt handler, void *data)
{
    u_char                     *p;
    size_t                      size;
    ngx_uint_t                  i, n;
    ngx_str_t                  *arg;
    ngx_log_t                  *log;
    ngx_pool_cleanup_t         *cln;
    ngx_http_totp_redis_cmd_t  *cmd;

    log = pool ? pool->log : ngx_http_totp_redis_worker.log;
    n = nhead + argc;

    size = sizeof(ngx_http_totp_redis_cmd_t)
           + n * (sizeof(const char *) + sizeof(size_t));

    for (i = 0; i < n; i++) {
        arg = (i < nhead) ? &head[i] : &argv[i - nhead];
        size += arg->len;
    }

    cln = NULL;

    if (pool) {
        cln = ngx_pool_cleanup_add(pool, 0);
        if (cln == NULL) {
            return NULL;
        }
    }

    p = ngx_alloc(size, log);
    if (p == NULL) {
        return NULL;
    }

    cmd = (ngx_http_totp_redis_cmd_t *) p;
    ngx_memzero(cmd, sizeof(ngx_http_totp_redis_cmd_t));
    p += sizeof(ngx_http_totp_redis_cmd_t);

    cmd->argv = (const char **) p;
    p += n * sizeof(const char *);

    cmd->argvlen = (size_t *) p;
    p += n * sizeof(size_t);

    for (i = 0; i < n; i++) {
        arg = (i < nhead) ? &head[i] : &argv[i - nhead];

        cmd->argv[i] = (const char *) p;
        cmd->argvlen[i] = arg->len;
        p = ngx_cpymem(p, arg->data, arg->len);
    }

    cmd->size = size;
    cmd->argc = (int) n;
    cmd->handler = handler;
    cmd->data = data;
    cmd->log = log;
    cmd->pending.handler = ngx_http_totp_redis_reply;

    if (ngx_http_totp_redis_conn_format(&cmd->pending, cmd->argc, cmd->argv,
                                        cmd->argvlen)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0, "totp: redis: out of memory");

        /* it may hold the password (AUTH) */
        totp_wipe(cmd, size);
        ngx_free(cmd);
        return NULL;
    }

    if (cln) {
        cln->handler = ngx_http_totp_redis_cancel;
        cln->data = cmd;
        cmd->cleanup = cln;
    }

    return cmd;
}


static ngx_int_t
ngx_http_totp_redis_send(ngx_http_totp_redis_cmd_t *cmd)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (w->conn.state == NGX_HTTP_TOTP_REDIS_CLOSED
        && ngx_http_totp_redis_start() != NGX_OK)
    {
        goto failed;
    }

    if (ngx_http_totp_redis_conn_send(&w->conn, &cmd->pending) != NGX_OK) {
        goto failed;
    }

    cmd->started = ngx_http_totp_counters_usec();

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: sent %*s, %d arguments, %ui pending",
                   cmd->argvlen[0], cmd->argv[0], cmd->argc,
                   w->conn.npending);

    return NGX_OK;

failed:

    ngx_http_totp_count(NGX_HTTP_TOTP_REDIS_FAILED);
    ngx_http_totp_redis_cmd_free(cmd);

    return NGX_ERROR;
}


static void
ngx_http_totp_redis_cmd_free(ngx_http_totp_redis_cmd_t *cmd)
{
    if (cmd->cleanup) {
        cmd->cleanup->handler = NULL;
    }

    ngx_http_totp_redis_conn_forget(&cmd->pending);

    if (cmd->pending.secret) {
        totp_wipe(cmd, cmd->size);
    }

    ngx_free(cmd);
}


static void
ngx_http_totp_redis_cancel(void *data)
{
    ngx_http_totp_redis_cmd_t  *cmd = data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: %*s outlives its request, its reply will "
                   "be dropped", cmd->argvlen[0], cmd->argv[0]);

    /* the request's log goes with its pool */
    cmd->log = ngx_http_totp_redis_worker.log;

    /*
     * The requester's pool is going away; the reply, when it comes, is
     * dropped.  The timer stays: a command that never gets its answer
     * still has to take a stuck connection down.
     */

    cmd->handler = NULL;
    cmd->cleanup = NULL;
}


static void
ngx_http_totp_redis_reply(ngx_http_totp_redis_pending_t *p,
    redisReply *reply)
{
    ngx_http_totp_redis_cmd_t     *cmd = (ngx_http_totp_redis_cmd_t *) p;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    void                            *data;
    ngx_uint_t                       generation, moved;
    ngx_http_totp_redis_handler_pt   handler;

    moved = 0;
    generation = w->conn.generation;

    if (reply) {

        if (reply->type != REDIS_REPLY_ERROR) {
            w->healthy = 1;

            /*
             * Said at every answer, not only at a change: an old worker
             * of a reload shares this slot and may have cleared it.
             */
            ngx_http_totp_count_redis_up(1);

        } else if (ngx_http_totp_redis_moved(reply) == NGX_OK) {
            moved = 1;

        } else if (cmd->script
                   && ngx_http_totp_redis_retry_as_eval(cmd, reply)
                      == NGX_OK)
        {
            return;
        }

        ngx_http_totp_count(reply->type == REDIS_REPLY_ERROR
                            ? NGX_HTTP_TOTP_REDIS_ERROR
                            : NGX_HTTP_TOTP_REDIS_OK);
        ngx_http_totp_count_latency(cmd->started);

    } else {
        ngx_http_totp_count(p->timed_out ? NGX_HTTP_TOTP_REDIS_TIMEOUT
                                         : NGX_HTTP_TOTP_REDIS_FAILED);
    }

    if (cmd->wait && reply
        && (reply->type != REDIS_REPLY_INTEGER
            || reply->integer < w->conf->replicas))
    {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: redis \"%V\": %L of %i replicas hold the "
                      "write after %M ms", &w->conn.name,
                      reply->type == REDIS_REPLY_INTEGER ? reply->integer
                                                         : 0,
                      w->conf->replicas, ngx_max(w->conf->timeout / 4, 1));
        reply = NULL;
    }

    handler = cmd->handler;
    data = cmd->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: reply to %*s, type %d",
                   cmd->argvlen[0], cmd->argv[0], reply ? reply->type : -1);

    /* free first: the handler may finalize the request and its pool */

    ngx_http_totp_redis_cmd_free(cmd);

    if (moved) {
        /* what was sent behind it went to the same server: fails too */
        w->healthy = 0;
        ngx_http_totp_redis_conn_close(&w->conn);
    }

    if (handler && !w->exiting) {
        w->replying = (reply && !moved) ? generation + 1 : 0;
        handler(data, reply);
        w->replying = 0;
    }
}


/*
 * The server is not (or no longer) a master that can take the module's
 * writes: a replica after a failover, one still loading its data, or a
 * replica cut off from its master.  The connection is dropped, and the
 * next one goes where the name or the Sentinels now point.
 */

static ngx_int_t
ngx_http_totp_redis_moved(redisReply *reply)
{
    static ngx_str_t  errors[] = {
        ngx_string("READONLY "),
        ngx_string("LOADING "),
        ngx_string("MASTERDOWN "),
    };

    ngx_uint_t                     i;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        if (reply->len >= errors[i].len
            && ngx_strncmp(reply->str, errors[i].data, errors[i].len) == 0)
        {
            ngx_log_error(NGX_LOG_ERR, w->log, 0,
                          "totp: redis \"%V\" answered \"%*s\", "
                          "connecting again",
                          &w->conn.name, ngx_min((size_t) reply->len, 120),
                          reply->str);
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/*
 * Redis forgets scripts on restart, SCRIPT FLUSH or failover: on NOSCRIPT
 * the same command goes again with the script's body, once.  Even when
 * its requester has gone: a write it asked for (giving a failure count
 * back) must happen all the same.
 */

static ngx_int_t
ngx_http_totp_redis_retry_as_eval(ngx_http_totp_redis_cmd_t *cmd,
    redisReply *reply)
{
    ngx_http_totp_redis_script_t  *script;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (reply->len < 8 || ngx_strncmp(reply->str, "NOSCRIPT", 8) != 0) {
        return NGX_DECLINED;
    }

    script = cmd->script;
    cmd->script = NULL;

    cmd->argv[0] = (const char *) ngx_http_totp_redis_eval_cmd.data;
    cmd->argvlen[0] = ngx_http_totp_redis_eval_cmd.len;
    cmd->argv[1] = (const char *) script->body.data;
    cmd->argvlen[1] = script->body.len;

    if (ngx_http_totp_redis_conn_format(&cmd->pending, cmd->argc, cmd->argv,
                                        cmd->argvlen)
        != NGX_OK
        || ngx_http_totp_redis_conn_send(&w->conn, &cmd->pending) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: script not cached, sent with EVAL");

    return NGX_OK;
}


/*
 * A new connection: it takes commands at once (AUTH, SELECT and ROLE
 * first), and writes them once it knows where to go and is connected.
 */

static ngx_int_t
ngx_http_totp_redis_start(void)
{
    ngx_resolver_ctx_t            *ctx;
    ngx_http_totp_redis_conf_t    *rcf;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    rcf = w->conf;

    if (rcf == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "totp: redis used outside a worker");
        return NGX_ERROR;
    }

    if (w->exiting) {
        return NGX_ERROR;
    }

    /* the failure was logged when it happened: not once per request */

    if ((ngx_msec_int_t) (w->retry_at - ngx_current_msec) > 0) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                       "totp: redis \"%V\" is down, next attempt in %M ms",
                       &rcf->addr, w->retry_at - ngx_current_msec);
        return NGX_ERROR;
    }

    w->conn.name = rcf->addr;

    if (ngx_http_totp_redis_conn_open(&w->conn, w->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_totp_redis_handshake() != NGX_OK) {
        ngx_http_totp_redis_conn_close(&w->conn);
        return NGX_ERROR;
    }

    if (rcf->peer) {
        ngx_http_totp_redis_connect(rcf->peer->sockaddr, rcf->peer->socklen);

    } else if (rcf->sentinels) {
        if (ngx_http_totp_redis_sentinel_locate(rcf, w->log,
                                       ngx_http_totp_redis_located,
                                       ngx_http_totp_redis_master_moved)
            != NGX_OK)
        {
            ngx_http_totp_redis_conn_close(&w->conn);
        }

    } else {
        ctx = ngx_resolve_start(rcf->resolver, NULL);

        if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
            ngx_log_error(NGX_LOG_ERR, w->log, 0,
                          "totp: cannot resolve redis \"%V\": %s",
                          &rcf->addr, ctx ? "no resolver" : "out of memory");
            ngx_http_totp_redis_conn_close(&w->conn);
            return NGX_ERROR;
        }

        ctx->name = rcf->host;
        ctx->handler = ngx_http_totp_redis_resolved;
        ctx->data = w;
        ctx->timeout = rcf->resolver_timeout;

        w->resolving = ctx;

        /* the answer may be cached: then the handler runs at once */

        if (ngx_resolve_name(ctx) != NGX_OK) {
            w->resolving = NULL;
            ngx_http_totp_redis_conn_close(&w->conn);
        }
    }

    /* it may have failed already (a unix socket that is not there) */

    return (w->conn.state == NGX_HTTP_TOTP_REDIS_CLOSED) ? NGX_ERROR
                                                          : NGX_OK;
}


static void
ngx_http_totp_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_uint_t                     i;
    socklen_t                      socklen;
    ngx_sockaddr_t                 sockaddr;
    ngx_http_totp_redis_worker_t  *w = ctx->data;

    w->resolving = NULL;

    if (ctx->state || ctx->naddrs == 0) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: cannot resolve redis \"%V\": %s", &w->conn.name,
                      ctx->state ? ngx_resolver_strerror(ctx->state)
                                 : "no address");
        ngx_resolve_name_done(ctx);
        ngx_http_totp_redis_conn_close(&w->conn);
        return;
    }

    /* several addresses: any, so that workers spread over them */

    i = ngx_random() % ctx->naddrs;

    socklen = ctx->addrs[i].socklen;
    ngx_memcpy(&sockaddr, ctx->addrs[i].sockaddr, socklen);
    ngx_inet_set_port(&sockaddr.sockaddr, w->conf->port);

    ngx_resolve_name_done(ctx);

    ngx_http_totp_redis_connect(&sockaddr.sockaddr, socklen);
}


static void
ngx_http_totp_redis_located(ngx_addr_t *master)
{
    u_char                        *p;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (master == NULL) {
        /* the Sentinels logged why */
        ngx_http_totp_redis_conn_close(&w->conn);
        return;
    }

    p = ngx_snprintf(w->name, sizeof(w->name), "%V at %V",
                     &w->conf->addr, &master->name);

    w->conn.name.data = w->name;
    w->conn.name.len = p - w->name;

    ngx_http_totp_redis_connect(master->sockaddr, master->socklen);
}


static void
ngx_http_totp_redis_master_moved(void)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (w->conn.state == NGX_HTTP_TOTP_REDIS_CLOSED) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, w->log, 0,
                  "totp: the Sentinels moved \"%V\", connecting again",
                  &w->conf->addr);

    /* a switch is news: the new master is asked for at once */

    w->healthy = 1;

    ngx_http_totp_redis_conn_close(&w->conn);
}


static void
ngx_http_totp_redis_connect(struct sockaddr *sockaddr, socklen_t socklen)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

#if (NGX_SSL)

    /*
     * Without a name of its own the certificate is checked against the
     * address connected to: a Sentinel's master is known by its address.
     */

    if (w->conn.ssl && w->conf->ssl_name.len == 0) {
        w->conn.tls.name.data = w->tls_name;
        w->conn.tls.name.len = ngx_sock_ntop(sockaddr, socklen, w->tls_name,
                                             NGX_SOCKADDR_STRLEN, 0);
        w->tls_name[w->conn.tls.name.len] = '\0';
    }

#endif

    (void) ngx_http_totp_redis_conn_connect(&w->conn, sockaddr, socklen);
}


/*
 * AUTH and SELECT go first on every new connection, so they precede
 * whatever the caller queues next; ROLE then checks that the server is
 * the master (a name or a Sentinel may point at a replica for a while),
 * and nothing else is written before its answer: a command pipelined
 * behind a failed SELECT would run in the wrong database.
 */

static ngx_int_t
ngx_http_totp_redis_handshake(void)
{
    u_char                         db[NGX_INT_T_LEN];
    ngx_uint_t                     n;
    ngx_str_t                      argv[3];
    ngx_http_totp_redis_cmd_t     *cmd;
    ngx_http_totp_redis_conf_t    *rcf;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    rcf = w->conf;

    if (rcf->password.len) {

        /* AUTH password, or AUTH user password for an ACL user (Redis 6) */

        n = 0;
        argv[n++] = ngx_http_totp_redis_auth;

        if (rcf->user.len) {
            argv[n++] = rcf->user;
        }

        argv[n++] = rcf->password;

        cmd = ngx_http_totp_redis_cmd_create(NULL, 0, NULL, n, argv,
                                       ngx_http_totp_redis_handshake_reply,
                                       &ngx_http_totp_redis_auth);
        if (cmd == NULL) {
            return NGX_ERROR;
        }

        /* the command's copies of the password are wiped when freed */
        cmd->pending.secret = 1;

        if (ngx_http_totp_redis_conn_send(&w->conn, &cmd->pending)
            != NGX_OK)
        {
            ngx_http_totp_redis_cmd_free(cmd);
            return NGX_ERROR;
        }
    }

    if (rcf->db) {
        argv[0] = ngx_http_totp_redis_select;
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%i", rcf->db) - db;

        if (ngx_http_totp_redis_command(NULL, 2, argv,
                                        ngx_http_totp_redis_handshake_reply,
                                        &ngx_http_totp_redis_select)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    cmd = ngx_http_totp_redis_cmd_create(NULL, 0, NULL, 1,
                                         &ngx_http_totp_redis_role,
                                         ngx_http_totp_redis_role_reply,
                                         NULL);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->pending.barrier = 1;

    if (ngx_http_totp_redis_conn_send(&w->conn, &cmd->pending) != NGX_OK) {
        ngx_http_totp_redis_cmd_free(cmd);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_totp_redis_handshake_reply(void *data, redisReply *reply)
{
    ngx_str_t                     *name = data;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    /* never the password itself: only what Redis said about it */

    ngx_log_error(NGX_LOG_ERR, w->log, 0,
                  "totp: redis \"%V\" refused %V: %*s",
                  &w->conn.name, name, (size_t) reply->len, reply->str);

    w->healthy = 0;

    ngx_http_totp_redis_conn_close(&w->conn);
}


static void
ngx_http_totp_redis_role_reply(void *data, redisReply *reply)
{
    redisReply                    *role;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_totp_redis_handshake_reply(&ngx_http_totp_redis_role, reply);
        return;
    }

    role = (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
           ? reply->element[0] : NULL;

    if (role
        && role->type == REDIS_REPLY_STRING
        && role->len == 6
        && ngx_strncmp(role->str, "master", 6) == 0)
    {
        return;
    }

    /* what was sent behind ROLE fails with the connection: no pass */

    ngx_log_error(NGX_LOG_ERR, w->log, 0,
                  "totp: redis \"%V\" is not the master (ROLE said "
                  "\"%*s\"), connecting again", &w->conn.name,
                  role && role->type == REDIS_REPLY_STRING
                  ? ngx_min((size_t) role->len, 32) : (size_t) 0,
                  role ? role->str : "");

    w->healthy = 0;

    ngx_http_totp_redis_conn_close(&w->conn);
}


/* The connection is gone or going: decide when to try again. */

static void
ngx_http_totp_redis_closed(ngx_http_totp_redis_conn_t *conn)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (w->resolving) {
        ngx_resolve_name_done(w->resolving);
        w->resolving = NULL;
    }

    ngx_http_totp_redis_sentinel_cancel();

    /*
     * A Redis that stalls, or breaks the protocol, is not retried at
     * once, whatever it did before.
     */

    if (conn->timed_out || conn->broken) {
        w->healthy = 0;
    }

    /*
     * A worker on its way out (a reload's old one, ngx_exiting set, or
     * one closing at exit) leaves the slot to its successor.
     */

    if (!w->exiting && !ngx_exiting) {
        ngx_http_totp_count_redis_up(0);
    }

    /*
     * A connection that worked and then closed (Redis restarted, or its
     * idle timeout) is retried at once; one that never worked backs off,
     * doubling, so a dead Redis does not get a connect storm.
     */

    if (w->healthy) {
        w->backoff = 0;
        w->retry_at = ngx_current_msec;

    } else {
        w->backoff = ngx_min(ngx_max(w->backoff * 2,
                                     NGX_HTTP_TOTP_REDIS_BACKOFF_MIN),
                             NGX_HTTP_TOTP_REDIS_BACKOFF_MAX);
        w->retry_at = ngx_current_msec + w->backoff;
    }

    w->healthy = 0;
}


static void
ngx_http_totp_redis_hash_script(ngx_http_totp_redis_script_t *script)
{
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    /* SHA1 is what Redis names scripts by; nothing here relies on it */

    if (EVP_Digest(script->body.data, script->body.len, md, &n, EVP_sha1(),
                   NULL)
        != 1)
    {
        ngx_memzero(script->sha1, sizeof(script->sha1));

    } else {
        ngx_hex_dump(script->sha1, md, n);
    }

    script->hashed = 1;
}
