
/*
 * One hiredis asynchronous connection per worker, attached to nginx's
 * event loop.  hiredis 0.14 has no timers, so every command carries an
 * nginx timer of its own; a command that times out takes the connection
 * down with it, which fails every pending command exactly once (Redis
 * answers in order, so nothing behind a stuck command can be trusted to
 * arrive either).  Nothing here ever blocks the worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <sys/un.h>

#include <hiredis/async.h>
#include <openssl/evp.h>

#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_redis.h"


#define NGX_HTTP_TOTP_REDIS_DEFAULT_ADDR  "127.0.0.1:6379"
#define NGX_HTTP_TOTP_REDIS_DEFAULT_HOST  "127.0.0.1"
#define NGX_HTTP_TOTP_REDIS_DEFAULT_PORT  6379

/*
 * A dead Redis sees one connect per worker per this much at most; and a
 * Redis back up is used again within it (the next request's attempt).
 */
#define NGX_HTTP_TOTP_REDIS_BACKOFF_MIN   100
#define NGX_HTTP_TOTP_REDIS_BACKOFF_MAX   1000


typedef struct {
    redisAsyncContext                *ac;
    ngx_http_totp_redis_conf_t       *conf;
    ngx_log_t                        *log;

    /* bumped whenever a context goes away, so stale loops can tell */
    ngx_uint_t                        generation;

    /* commands hiredis holds a callback for on the current context */
    ngx_uint_t                        pending;

    ngx_msec_t                        backoff;
    ngx_msec_t                        retry_at;

    /* the current connection has answered at least once */
    unsigned                          healthy:1;

    /* no request is resumed once the worker is on its way out */
    unsigned                          exiting:1;
} ngx_http_totp_redis_worker_t;


typedef struct {
    ngx_event_t                       timer;
    ngx_http_totp_redis_handler_pt    handler;
    void                             *data;

    /* the requester's: debug_connection follows a request to Redis */
    ngx_log_t                        *log;

    ngx_pool_cleanup_t               *cleanup;
    ngx_http_totp_redis_script_t     *script;
    size_t                            size;
    ngx_uint_t                        started;    /* for its latency */
    unsigned                          secret:1;
    unsigned                          timed_out:1;
    int                               argc;
    const char                      **argv;
    size_t                           *argvlen;
} ngx_http_totp_redis_cmd_t;


static ngx_http_totp_redis_cmd_t *ngx_http_totp_redis_cmd_create(
    ngx_pool_t *pool, ngx_uint_t nhead, ngx_str_t *head, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data);
static ngx_int_t ngx_http_totp_redis_send(ngx_http_totp_redis_cmd_t *cmd);
static ngx_int_t ngx_http_totp_redis_append(redisAsyncContext *ac,
    ngx_http_totp_redis_cmd_t *cmd);
static void ngx_http_totp_redis_cmd_free(ngx_http_totp_redis_cmd_t *cmd);
static void ngx_http_totp_redis_cancel(void *data);
static void ngx_http_totp_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static ngx_int_t ngx_http_totp_redis_retry_as_eval(redisAsyncContext *ac,
    ngx_http_totp_redis_cmd_t *cmd, redisReply *reply);
static void ngx_http_totp_redis_timeout(ngx_event_t *ev);

static ngx_int_t ngx_http_totp_redis_connect(void);
static ngx_int_t ngx_http_totp_redis_handshake(void);
static void ngx_http_totp_redis_handshake_reply(void *data,
    redisReply *reply);
static void ngx_http_totp_redis_close(void);
static void ngx_http_totp_redis_lost(void);
static void ngx_http_totp_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_totp_redis_on_disconnect(const redisAsyncContext *ac,
    int status);

static void ngx_http_totp_redis_read_handler(ngx_event_t *rev);
static ssize_t ngx_http_totp_redis_peek(ngx_connection_t *c);
static void ngx_http_totp_redis_write_handler(ngx_event_t *wev);
static void ngx_http_totp_redis_add_read(void *privdata);
static void ngx_http_totp_redis_del_read(void *privdata);
static void ngx_http_totp_redis_add_write(void *privdata);
static void ngx_http_totp_redis_del_write(void *privdata);
static void ngx_http_totp_redis_add_event(ngx_event_t *ev, ngx_int_t event);
static void ngx_http_totp_redis_del_event(ngx_event_t *ev, ngx_int_t event);
static void ngx_http_totp_redis_cleanup(void *privdata);

static void ngx_http_totp_redis_hash_script(
    ngx_http_totp_redis_script_t *script);


static ngx_http_totp_redis_worker_t  ngx_http_totp_redis_worker;

static ngx_str_t  ngx_http_totp_redis_evalsha = ngx_string("EVALSHA");
static ngx_str_t  ngx_http_totp_redis_eval_cmd = ngx_string("EVAL");
static ngx_str_t  ngx_http_totp_redis_auth = ngx_string("AUTH");
static ngx_str_t  ngx_http_totp_redis_select = ngx_string("SELECT");


char *
ngx_http_totp_redis_set_addr(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char                      *host;
    size_t                       len;
    ngx_str_t                   *value;
    ngx_url_t                    u;
    ngx_http_totp_redis_conf_t  *rcf;

    rcf = (ngx_http_totp_redis_conf_t *) (p + cmd->offset);

    if (rcf->addr.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    rcf->addr = value[1];

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        len = value[1].len - 5;

        if (len < 2 || value[1].data[5] != '/'
            || len >= sizeof(((struct sockaddr_un *) 0)->sun_path))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis\" needs an absolute socket "
                               "path shorter than %uz bytes in \"%V\"",
                               sizeof(((struct sockaddr_un *) 0)->sun_path),
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        host = ngx_pnalloc(cf->pool, len + 1);
        if (host == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(host, value[1].data + 5, len);
        host[len] = '\0';

        rcf->host.data = host;
        rcf->host.len = len;
        rcf->port = 0;

        return NGX_CONF_OK;
    }

    /*
     * hiredis resolves names with a blocking getaddrinfo() on every
     * connect, which a worker must never do: a name is resolved here,
     * once, and hiredis only ever sees an address literal.
     */

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = NGX_HTTP_TOTP_REDIS_DEFAULT_PORT;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis\" cannot use \"%V\": %s",
                           &value[1], u.err ? u.err : "invalid address");
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0 || u.uri.len || u.family == AF_UNIX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis\" needs \"address:port\" or "
                           "\"unix:/path\", not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (u.naddrs > 1) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"totp_redis\" host \"%V\" has %ui addresses, "
                           "using \"%V\"", &u.host, u.naddrs,
                           &u.addrs[0].name);
    }

    host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (host == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, host,
                        NGX_SOCKADDR_STRLEN, 0);
    host[len] = '\0';

    rcf->host.data = host;
    rcf->host.len = len;
    rcf->port = ngx_inet_get_port(u.addrs[0].sockaddr);

    return NGX_CONF_OK;
}


char *
ngx_http_totp_redis_init_conf(ngx_conf_t *cf, ngx_http_totp_redis_conf_t *rcf)
{
    if (rcf->addr.data == NULL) {
        ngx_str_set(&rcf->addr, NGX_HTTP_TOTP_REDIS_DEFAULT_ADDR);
        ngx_str_set(&rcf->host, NGX_HTTP_TOTP_REDIS_DEFAULT_HOST);
        rcf->port = NGX_HTTP_TOTP_REDIS_DEFAULT_PORT;
    }

    ngx_conf_init_value(rcf->db, 0);
    ngx_conf_init_msec_value(rcf->timeout, 1000);

    if (rcf->user.len && rcf->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_user\" needs "
                           "\"totp_redis_password\": Redis signs an ACL "
                           "user in with its password");
        return NGX_CONF_ERROR;
    }

    if (rcf->timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_timeout\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_totp_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_totp_redis_conf_t *rcf)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    /* the connection itself is made on first use, in the worker */

    ngx_memzero(w, sizeof(ngx_http_totp_redis_worker_t));

    w->conf = rcf;
    w->log = cycle->log;

    return NGX_OK;
}


void
ngx_http_totp_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_redis_worker.exiting = 1;

    if (ngx_http_totp_redis_worker.ac) {
        ngx_http_totp_redis_close();
    }
}


ngx_int_t
ngx_http_totp_redis_command(ngx_pool_t *pool, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_totp_redis_handler_pt handler, void *data)
{
    ngx_http_totp_redis_cmd_t  *cmd;

    /* hiredis asserts on an empty command */

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


/*
 * A command lives on the heap, not in the pool it was sent for: hiredis
 * may call back after the request is gone.  The pool only gets a cleanup
 * that detaches the requester.
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

    cmd->timer.handler = ngx_http_totp_redis_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = ngx_http_totp_redis_worker.log;
    cmd->log = log;

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

    if (w->ac == NULL && ngx_http_totp_redis_connect() != NGX_OK) {
        goto failed;
    }

    if (ngx_http_totp_redis_append(w->ac, cmd) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: redis \"%V\" cannot take commands: %s",
                      &w->conf->addr, w->ac->errstr[0] ? w->ac->errstr
                                                       : "closing");
        goto failed;
    }

    ngx_add_timer(&cmd->timer, w->conf->timeout);
    cmd->started = ngx_http_totp_counters_usec();

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: sent %*s, %d arguments, %ui pending",
                   cmd->argvlen[0], cmd->argv[0], cmd->argc, w->pending);

    return NGX_OK;

failed:

    ngx_http_totp_count(NGX_HTTP_TOTP_REDIS_FAILED);
    ngx_http_totp_redis_cmd_free(cmd);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_totp_redis_append(redisAsyncContext *ac,
    ngx_http_totp_redis_cmd_t *cmd)
{
    if (redisAsyncCommandArgv(ac, ngx_http_totp_redis_reply, cmd, cmd->argc,
                              cmd->argv, cmd->argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_totp_redis_worker.pending++;

    return NGX_OK;
}


static void
ngx_http_totp_redis_cmd_free(ngx_http_totp_redis_cmd_t *cmd)
{
    if (cmd->cleanup) {
        cmd->cleanup->handler = NULL;
    }

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    if (cmd->secret) {
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
ngx_http_totp_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                    *reply = r;
    ngx_http_totp_redis_cmd_t     *cmd = privdata;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    void                            *data;
    ngx_http_totp_redis_handler_pt   handler;

    if (ac == w->ac) {
        w->pending--;

        if (reply == NULL) {
            /*
             * hiredis is failing its pending callbacks before it lets go
             * of the context; a handler that sends again must not get it.
             */
            ngx_http_totp_redis_lost();

        } else if (w->pending == 0 && ac->c.reader->pos < ac->c.reader->len) {
            /*
             * More data than there were commands: hiredis would abort()
             * on the reply that has no callback.  Closing from inside a
             * callback is deferred until it returns, before hiredis
             * parses another reply.
             */
            ngx_log_error(NGX_LOG_ERR, w->log, 0,
                          "totp: redis \"%V\" sent more replies than it "
                          "was asked for, closing the connection",
                          &w->conf->addr);

            /* a broken server is retried after the backoff, not at once */
            w->healthy = 0;

            ngx_http_totp_redis_close();

        } else if (reply->type != REDIS_REPLY_ERROR) {
            w->healthy = 1;

            /*
             * Said at every answer, not only at a change: an old worker
             * of a reload shares this slot and may have cleared it.
             */
            ngx_http_totp_count_redis_up(1);
        }
    }

    if (reply && cmd->script && ac == w->ac
        && ngx_http_totp_redis_retry_as_eval(ac, cmd, reply) == NGX_OK)
    {
        return;
    }

    if (reply) {
        ngx_http_totp_count(reply->type == REDIS_REPLY_ERROR
                            ? NGX_HTTP_TOTP_REDIS_ERROR
                            : NGX_HTTP_TOTP_REDIS_OK);
        ngx_http_totp_count_latency(cmd->started);

    } else {
        ngx_http_totp_count(cmd->timed_out ? NGX_HTTP_TOTP_REDIS_TIMEOUT
                                           : NGX_HTTP_TOTP_REDIS_FAILED);
    }

    handler = cmd->handler;
    data = cmd->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: reply to %*s, type %d",
                   cmd->argvlen[0], cmd->argv[0], reply ? reply->type : -1);

    /* free first: the handler may finalize the request and its pool */

    ngx_http_totp_redis_cmd_free(cmd);

    if (handler && !w->exiting) {
        handler(data, reply);
    }
}


/*
 * Redis forgets scripts on restart, SCRIPT FLUSH or failover: on NOSCRIPT
 * the same command goes again with the script's body, once.  Even when
 * its requester has gone: a write it asked for (giving a failure count
 * back) must happen all the same.
 */

static ngx_int_t
ngx_http_totp_redis_retry_as_eval(redisAsyncContext *ac,
    ngx_http_totp_redis_cmd_t *cmd, redisReply *reply)
{
    ngx_http_totp_redis_script_t  *script;

    if (reply->type != REDIS_REPLY_ERROR
        || reply->len < 8
        || ngx_strncmp(reply->str, "NOSCRIPT", 8) != 0)
    {
        return NGX_DECLINED;
    }

    script = cmd->script;
    cmd->script = NULL;

    cmd->argv[0] = (const char *) ngx_http_totp_redis_eval_cmd.data;
    cmd->argvlen[0] = ngx_http_totp_redis_eval_cmd.len;
    cmd->argv[1] = (const char *) script->body.data;
    cmd->argvlen[1] = script->body.len;

    if (ngx_http_totp_redis_append(ac, cmd) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cmd->log, 0,
                   "totp redis: script not cached, sent with EVAL");

    return NGX_OK;
}


static void
ngx_http_totp_redis_timeout(ngx_event_t *ev)
{
    ngx_http_totp_redis_cmd_t     *cmd = ev->data;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    /* the others failed with it are counted as failed, this one timed out */

    cmd->timed_out = 1;

    ngx_log_error(NGX_LOG_ERR, w->log, 0,
                  "totp: redis \"%V\" did not answer within %M ms, "
                  "closing the connection", &w->conf->addr, w->conf->timeout);

    /* a Redis that stalls is not retried at once, whatever it did before */

    w->healthy = 0;

    ngx_http_totp_redis_close();
}


static ngx_int_t
ngx_http_totp_redis_connect(void)
{
    ngx_connection_t              *c;
    redisAsyncContext             *ac;
    ngx_http_totp_redis_conf_t    *rcf;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    rcf = w->conf;

    if (rcf == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "totp: redis used outside a worker");
        return NGX_ERROR;
    }

    /* the failure was logged when it happened: not once per request */

    if ((ngx_msec_int_t) (w->retry_at - ngx_current_msec) > 0) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                       "totp: redis \"%V\" is down, next attempt in %M ms",
                       &rcf->addr, w->retry_at - ngx_current_msec);
        return NGX_ERROR;
    }

    if (rcf->port) {
        ac = redisAsyncConnect((const char *) rcf->host.data,
                               (int) rcf->port);

    } else {
        ac = redisAsyncConnectUnix((const char *) rcf->host.data);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: redis \"%V\": out of memory", &rcf->addr);
        ngx_http_totp_redis_lost();
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: connect to redis \"%V\" failed: %s",
                      &rcf->addr, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_totp_redis_lost();
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, w->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_totp_redis_lost();
        return NGX_ERROR;
    }

    c->data = ac;
    c->log = w->log;
    c->read->log = w->log;
    c->write->log = w->log;
    c->read->handler = ngx_http_totp_redis_read_handler;
    c->write->handler = ngx_http_totp_redis_write_handler;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_totp_redis_add_read;
    ac->ev.delRead = ngx_http_totp_redis_del_read;
    ac->ev.addWrite = ngx_http_totp_redis_add_write;
    ac->ev.delWrite = ngx_http_totp_redis_del_write;
    ac->ev.cleanup = ngx_http_totp_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_totp_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_totp_redis_on_disconnect);

    w->ac = ac;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "totp redis: connecting to \"%V\", fd:%d",
                   &rcf->addr, c->fd);

    if (ngx_http_totp_redis_handshake() != NGX_OK) {
        ngx_http_totp_redis_close();
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * AUTH and SELECT go first on every new connection, so they precede
 * whatever the caller queues next; hiredis keeps the order.
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

        /* the command's copy of the password is wiped when it is freed */
        cmd->secret = 1;

        if (ngx_http_totp_redis_send(cmd) != NGX_OK) {
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
                  &w->conf->addr, name, (size_t) reply->len, reply->str);

    w->healthy = 0;

    ngx_http_totp_redis_close();
}


/* Tears the connection down; every pending command fails, once. */

static void
ngx_http_totp_redis_close(void)
{
    redisAsyncContext             *ac;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    ac = w->ac;

    if (ac == NULL) {
        return;
    }

    /*
     * Forgotten before hiredis runs the pending callbacks, so that a
     * callback sending a new command does not reach the dying context.
     */

    ngx_http_totp_redis_lost();

    redisAsyncFree(ac);
}


/* The current context is gone or going: decide when to try again. */

static void
ngx_http_totp_redis_lost(void)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    w->ac = NULL;
    w->pending = 0;
    w->generation++;

    /*
     * A worker on its way out (a reload's old one: ngx_exiting is set
     * before it closes its idle connections, this one among them) leaves
     * the slot to its successor.
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
ngx_http_totp_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: connect to redis \"%V\" failed: %s",
                      &w->conf->addr, ac->errstr);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, w->log, 0,
                   "totp redis: connected to \"%V\"", &w->conf->addr);
}


static void
ngx_http_totp_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: lost redis \"%V\": %s",
                      &w->conf->addr, ac->errstr);
    }
}


static void
ngx_http_totp_redis_read_handler(ngx_event_t *rev)
{
    ngx_uint_t                     generation;
    ngx_connection_t              *c;
    redisAsyncContext             *ac;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    c = rev->data;
    ac = c->data;

    if (c->close) {
        /* worker_shutdown_timeout: do not wait for the command timers */
        ngx_http_totp_redis_close();
        return;
    }

    if (w->pending == 0 && ngx_http_totp_redis_peek(c) > 0) {

        /* hiredis would abort() on a reply that has no callback */

        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "totp: redis \"%V\" sent data nobody asked for, "
                      "closing the connection", &w->conf->addr);
        ngx_http_totp_redis_close();
        return;
    }

    generation = w->generation;

    /*
     * Read until the socket is empty: hiredis reads at most 16K a call,
     * and an edge-triggered event does not come again for what is already
     * there.  An end of file that came with the last reply is read now
     * too, whatever the event method, before a request can write its
     * command into a connection that is gone.
     */

    do {
        redisAsyncHandleRead(ac);

        /* the reply callbacks may have closed it: cppcheck cannot know */

        /* cppcheck-suppress knownConditionTrueFalse */
        if (w->generation != generation) {
            /* the context, and c with it, are gone */
            return;
        }

        /* a connect still in progress has nothing to read yet */

    } while ((ac->c.flags & REDIS_CONNECTED)
             && ngx_http_totp_redis_peek(c) != NGX_AGAIN);
}


/* > 0: bytes are waiting, 0: end of file, NGX_AGAIN: nothing yet */

static ssize_t
ngx_http_totp_redis_peek(ngx_connection_t *c)
{
    u_char   byte;
    ssize_t  n;

    n = recv(c->fd, &byte, 1, MSG_PEEK);

    if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
        return NGX_AGAIN;
    }

    /* an error is for hiredis's next read to find and report */

    return (n == -1) ? 1 : n;
}


static void
ngx_http_totp_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t  *c;

    c = wev->data;

    redisAsyncHandleWrite(c->data);
}


static void
ngx_http_totp_redis_add_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_totp_redis_add_event(c->read, NGX_READ_EVENT);
}


static void
ngx_http_totp_redis_del_read(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_totp_redis_del_event(c->read, NGX_READ_EVENT);
}


static void
ngx_http_totp_redis_add_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_totp_redis_add_event(c->write, NGX_WRITE_EVENT);
}


static void
ngx_http_totp_redis_del_write(void *privdata)
{
    ngx_connection_t  *c = privdata;

    ngx_http_totp_redis_del_event(c->write, NGX_WRITE_EVENT);
}


/*
 * hiredis asks for an event whenever it wants one and expects the calls
 * to be idempotent.  Write interest is really removed when hiredis is done
 * writing: with edge-triggered events, adding it back re-arms the event,
 * and the next command is written as soon as the socket can take it.
 */

static void
ngx_http_totp_redis_add_event(ngx_event_t *ev, ngx_int_t event)
{
    ngx_uint_t  flags;

    if (ev->active) {
        return;
    }

    flags = (ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT
                                                    : NGX_LEVEL_EVENT;

    /* on failure, the command's timer takes the connection down */

    if (ngx_add_event(ev, event, flags) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "totp: cannot watch the redis connection");
    }
}


static void
ngx_http_totp_redis_del_event(ngx_event_t *ev, ngx_int_t event)
{
    ngx_uint_t  flags;

    if (!ev->active) {
        return;
    }

    flags = (ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT
                                                    : NGX_LEVEL_EVENT;

    if (ngx_del_event(ev, event, flags) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "totp: cannot unwatch the redis connection");
    }
}


/*
 * hiredis closes the socket itself, right after this: the connection is
 * only unhooked from the event loop and returned, never closed here.
 */

static void
ngx_http_totp_redis_cleanup(void *privdata)
{
    ngx_connection_t              *c = privdata;
    ngx_http_totp_redis_worker_t  *w = &ngx_http_totp_redis_worker;

    if (w->ac == c->data) {
        /* hiredis gave up on its own: a read or write error, or EOF */
        ngx_http_totp_redis_lost();
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* before fd is cleared: it unhooks c from cycle->files[fd] */

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
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
