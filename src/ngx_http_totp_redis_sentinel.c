
/*
 * Redis Sentinel, as its clients' guide asks: the Sentinels are asked in
 * turn, "SENTINEL get-master-addr-by-name", until one answers; the one
 * that did is asked first next time.  The answer is only a hint: the
 * client checks with ROLE that the server is the master (see
 * ngx_http_totp_redis.c).  A second connection, to the Sentinel that
 * answered, is subscribed to +switch-master, so that a failover is
 * followed at once, not at the next error.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_totp_redis_conn.h"
#include "ngx_http_totp_redis_sentinel.h"


/*
 * The watch: opened again this long after it closed, and pinged this
 * often, so that a Sentinel gone silent is noticed within a timeout.
 */
#define NGX_HTTP_TOTP_SENTINEL_REWATCH  1000
#define NGX_HTTP_TOTP_SENTINEL_PING     5000


typedef struct {
    ngx_http_totp_redis_conn_t        ask;
    ngx_http_totp_redis_conn_t        watch;
    ngx_event_t                       rewatch;
    ngx_event_t                       ping;

    ngx_http_totp_redis_conf_t       *conf;
    ngx_log_t                        *log;
    ngx_http_totp_redis_located_pt    located;
    ngx_http_totp_redis_moved_pt      moved;

    ngx_uint_t                        current;    /* the one asked now */
    ngx_uint_t                        tried;      /* in this round */

    ngx_addr_t                        master;
    ngx_sockaddr_t                    sockaddr;
    u_char                            text[NGX_SOCKADDR_STRLEN];

    unsigned                          asking:1;
    unsigned                          exiting:1;

    /* inside a connect: failures are the loop's, not a handler's */
    unsigned                          starting:1;
} ngx_http_totp_redis_sentinel_t;


static ngx_int_t ngx_http_totp_redis_sentinel_ask(void);
static void ngx_http_totp_redis_sentinel_next(void);
static ngx_int_t ngx_http_totp_redis_sentinel_open(
    ngx_http_totp_redis_conn_t *conn, ngx_http_totp_redis_server_t *sentinel,
    ngx_msec_t timeout);
static ngx_int_t ngx_http_totp_redis_sentinel_send(
    ngx_http_totp_redis_conn_t *conn, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_totp_redis_pending_pt handler, unsigned secret);
static void ngx_http_totp_redis_sentinel_auth_reply(
    ngx_http_totp_redis_pending_t *p, redisReply *reply);
static void ngx_http_totp_redis_sentinel_master_reply(
    ngx_http_totp_redis_pending_t *p, redisReply *reply);
static ngx_int_t ngx_http_totp_redis_sentinel_parse(redisReply *reply);
static void ngx_http_totp_redis_sentinel_watch(void);
static void ngx_http_totp_redis_sentinel_watch_closed(
    ngx_http_totp_redis_conn_t *conn);
static void ngx_http_totp_redis_sentinel_rewatch(ngx_event_t *ev);
static void ngx_http_totp_redis_sentinel_subscribed(
    ngx_http_totp_redis_pending_t *p, redisReply *reply);
static void ngx_http_totp_redis_sentinel_ping(ngx_event_t *ev);
static void ngx_http_totp_redis_sentinel_pong(
    ngx_http_totp_redis_pending_t *p, redisReply *reply);
static void ngx_http_totp_redis_sentinel_message(
    ngx_http_totp_redis_conn_t *conn, redisReply *reply);


static ngx_http_totp_redis_sentinel_t  ngx_http_totp_redis_sentinel;

static ngx_str_t  ngx_http_totp_redis_sentinel_auth = ngx_string("AUTH");
static ngx_str_t  ngx_http_totp_redis_sentinel_cmd = ngx_string("SENTINEL");
static ngx_str_t  ngx_http_totp_redis_sentinel_get =
    ngx_string("get-master-addr-by-name");
static ngx_str_t  ngx_http_totp_redis_sentinel_subscribe =
    ngx_string("SUBSCRIBE");
static ngx_str_t  ngx_http_totp_redis_sentinel_switch =
    ngx_string("+switch-master");
static ngx_str_t  ngx_http_totp_redis_sentinel_ping_cmd = ngx_string("PING");


ngx_int_t
ngx_http_totp_redis_sentinel_locate(ngx_http_totp_redis_conf_t *rcf,
    ngx_log_t *log, ngx_http_totp_redis_located_pt located,
    ngx_http_totp_redis_moved_pt moved)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    s->conf = rcf;
    s->log = log;
    s->located = located;
    s->moved = moved;
    s->tried = 0;
    s->asking = 1;

    if (ngx_http_totp_redis_sentinel_ask() != NGX_OK) {
        s->asking = 0;

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "totp: no Sentinel could be asked where \"%V\" is",
                      &rcf->sentinel_master);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_totp_redis_sentinel_cancel(void)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (!s->asking) {
        return;
    }

    s->asking = 0;

    /* one that did not answer in time is not asked first again */

    s->current = (s->current + 1) % s->conf->sentinels->nelts;

    ngx_http_totp_redis_conn_close(&s->ask);
}


void
ngx_http_totp_redis_sentinel_exit(void)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    s->asking = 0;
    s->exiting = 1;

    if (s->rewatch.timer_set) {
        ngx_del_timer(&s->rewatch);
    }

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    ngx_http_totp_redis_conn_close(&s->ask);
    ngx_http_totp_redis_conn_close(&s->watch);
    ngx_http_totp_redis_conn_free(&s->ask);
    ngx_http_totp_redis_conn_free(&s->watch);
}


/* Starts asking the current Sentinel, or the next ones if it cannot. */

static ngx_int_t
ngx_http_totp_redis_sentinel_ask(void)
{
    ngx_str_t                        argv[3];
    ngx_msec_t                       timeout;
    ngx_http_totp_redis_server_t    *sentinel;
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    /*
     * A share of the timeout each, so that one Sentinel gone silent
     * leaves time to ask the others, and to reach the master, before the
     * commands waiting for it time out.
     */

    timeout = ngx_max(s->conf->timeout / (s->conf->sentinels->nelts + 1),
                      1);

    while (s->tried < s->conf->sentinels->nelts) {
        sentinel = s->conf->sentinels->elts;
        sentinel = &sentinel[s->current];

        argv[0] = ngx_http_totp_redis_sentinel_cmd;
        argv[1] = ngx_http_totp_redis_sentinel_get;
        argv[2] = s->conf->sentinel_master;

        s->starting = 1;

        if (ngx_http_totp_redis_sentinel_open(&s->ask, sentinel, timeout)
            == NGX_OK
            && ngx_http_totp_redis_sentinel_send(&s->ask, 3, argv,
                             ngx_http_totp_redis_sentinel_master_reply, 0)
               == NGX_OK
            && ngx_http_totp_redis_conn_connect(&s->ask,
                                                sentinel->addr.sockaddr,
                                                sentinel->addr.socklen)
               == NGX_OK)
        {
            s->starting = 0;
            return NGX_OK;
        }

        s->starting = 0;

        ngx_http_totp_redis_conn_close(&s->ask);

        s->tried++;
        s->current = (s->current + 1) % s->conf->sentinels->nelts;
    }

    return NGX_ERROR;
}


/* The current Sentinel could not say: the next one, or give up. */

static void
ngx_http_totp_redis_sentinel_next(void)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    ngx_http_totp_redis_conn_close(&s->ask);

    s->tried++;
    s->current = (s->current + 1) % s->conf->sentinels->nelts;

    if (ngx_http_totp_redis_sentinel_ask() == NGX_OK) {
        return;
    }

    s->asking = 0;

    ngx_log_error(NGX_LOG_ERR, s->log, 0,
                  "totp: no Sentinel could say where \"%V\" is",
                  &s->conf->sentinel_master);

    s->located(NULL);
}


/* a connection to a Sentinel, with its own credentials first */

static ngx_int_t
ngx_http_totp_redis_sentinel_open(ngx_http_totp_redis_conn_t *conn,
    ngx_http_totp_redis_server_t *sentinel, ngx_msec_t timeout)
{
    ngx_uint_t                       n;
    ngx_str_t                        argv[3];
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    conn->name = sentinel->addr.name;
    conn->timeout = timeout;

#if (NGX_SSL)
    if (s->conf->ssl) {
        conn->ssl = s->conf->ssl_ctx;
        conn->tls.verify = s->conf->ssl_verify;

        /* without a name, the Sentinel's host (or address) is checked */

        conn->tls.name = s->conf->ssl_name.len ? s->conf->ssl_name
                                               : sentinel->host;
    }
#endif

    if (ngx_http_totp_redis_conn_open(conn, s->log) != NGX_OK) {
        return NGX_ERROR;
    }

    if (s->conf->sentinel_password.len == 0) {
        return NGX_OK;
    }

    n = 0;
    argv[n++] = ngx_http_totp_redis_sentinel_auth;

    if (s->conf->sentinel_user.len) {
        argv[n++] = s->conf->sentinel_user;
    }

    argv[n++] = s->conf->sentinel_password;

    return ngx_http_totp_redis_sentinel_send(conn, n, argv,
                                 ngx_http_totp_redis_sentinel_auth_reply, 1);
}


static ngx_int_t
ngx_http_totp_redis_sentinel_send(ngx_http_totp_redis_conn_t *conn,
    ngx_uint_t argc, ngx_str_t *argv, ngx_http_totp_redis_pending_pt handler,
    unsigned secret)
{
    ngx_uint_t                      i;
    const char                     *args[3];
    size_t                          lens[3];
    ngx_http_totp_redis_pending_t  *p;

    p = ngx_calloc(sizeof(ngx_http_totp_redis_pending_t), conn->log.file
                                                          ? &conn->log
                                                          : ngx_cycle->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < argc; i++) {
        args[i] = (const char *) argv[i].data;
        lens[i] = argv[i].len;
    }

    p->secret = secret;
    p->handler = handler;

    if (ngx_http_totp_redis_conn_format(p, (int) argc, args, lens) != NGX_OK
        || ngx_http_totp_redis_conn_send(conn, p) != NGX_OK)
    {
        ngx_http_totp_redis_conn_forget(p);
        ngx_free(p);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_totp_redis_sentinel_auth_reply(ngx_http_totp_redis_pending_t *p,
    redisReply *reply)
{
    ngx_http_totp_redis_conn_t  *conn = p->conn;

    ngx_http_totp_redis_conn_forget(p);
    ngx_free(p);

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                  "totp: Sentinel \"%V\" refused AUTH: %*s",
                  &conn->name, ngx_min((size_t) reply->len, 200),
                  reply->str);

    /* the question behind it fails with the connection */

    ngx_http_totp_redis_conn_close(conn);
}


static void
ngx_http_totp_redis_sentinel_master_reply(ngx_http_totp_redis_pending_t *p,
    redisReply *reply)
{
    ngx_http_totp_redis_conn_t      *conn = p->conn;
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    ngx_http_totp_redis_conn_forget(p);
    ngx_free(p);

    if (s->starting || !s->asking) {
        return;
    }

    if (reply == NULL) {
        /* the connection said why */
        ngx_http_totp_redis_sentinel_next();
        return;
    }

    if (ngx_http_totp_redis_sentinel_parse(reply) != NGX_OK) {

        if (reply->type == REDIS_REPLY_NIL) {
            ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: Sentinel \"%V\" does not know a master "
                          "\"%V\"", &conn->name, &s->conf->sentinel_master);

        } else {
            ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: Sentinel \"%V\" gave no address for "
                          "\"%V\" (%s)", &conn->name,
                          &s->conf->sentinel_master,
                          reply->type == REDIS_REPLY_ERROR ? reply->str
                                                           : "not one");
        }

        ngx_http_totp_redis_sentinel_next();
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "totp redis: Sentinel \"%V\" says \"%V\" is at %V",
                   &conn->name, &s->conf->sentinel_master, &s->master.name);

    s->asking = 0;

    /* this one answered: the watch goes there, and it is asked first */

    ngx_http_totp_redis_sentinel_watch();

    ngx_http_totp_redis_conn_close(conn);

    s->located(&s->master);
}


/* ["ip", "port"]: an address, never a name (resolve-hostnames is off) */

static ngx_int_t
ngx_http_totp_redis_sentinel_parse(redisReply *reply)
{
    ngx_int_t                        port;
    in_addr_t                        inaddr;
    redisReply                      *ip, *pt;
    struct sockaddr_in              *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6             *sin6;
#endif
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        return NGX_ERROR;
    }

    ip = reply->element[0];
    pt = reply->element[1];

    port = ngx_atoi((u_char *) pt->str, pt->len);

    if (port < 1 || port > 65535) {
        return NGX_ERROR;
    }

    ngx_memzero(&s->sockaddr, sizeof(ngx_sockaddr_t));

    inaddr = ngx_inet_addr((u_char *) ip->str, ip->len);

    if (inaddr != INADDR_NONE) {
        sin = &s->sockaddr.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = inaddr;
        s->master.socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr((u_char *) ip->str, ip->len,
                              s->sockaddr.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        sin6 = &s->sockaddr.sockaddr_in6;
        sin6->sin6_family = AF_INET6;
        s->master.socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NGX_ERROR;
    }

    ngx_inet_set_port(&s->sockaddr.sockaddr, (in_port_t) port);

    s->master.sockaddr = &s->sockaddr.sockaddr;
    s->master.name.data = s->text;
    s->master.name.len = ngx_sock_ntop(&s->sockaddr.sockaddr,
                                       s->master.socklen, s->text,
                                       NGX_SOCKADDR_STRLEN, 1);

    return NGX_OK;
}


static void
ngx_http_totp_redis_sentinel_watch(void)
{
    ngx_str_t                        argv[2];
    ngx_http_totp_redis_server_t    *sentinel;
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (s->exiting || s->watch.state != NGX_HTTP_TOTP_REDIS_CLOSED) {
        return;
    }

    sentinel = s->conf->sentinels->elts;
    sentinel = &sentinel[s->current];

    argv[0] = ngx_http_totp_redis_sentinel_subscribe;
    argv[1] = ngx_http_totp_redis_sentinel_switch;

    s->watch.push = ngx_http_totp_redis_sentinel_message;
    s->watch.closed = ngx_http_totp_redis_sentinel_watch_closed;

    /* without the watch, READONLY and ROLE still catch a failover */

    if (ngx_http_totp_redis_sentinel_open(&s->watch, sentinel,
                                          s->conf->timeout)
        != NGX_OK
        || ngx_http_totp_redis_sentinel_send(&s->watch, 2, argv,
                             ngx_http_totp_redis_sentinel_subscribed, 0)
           != NGX_OK
        || ngx_http_totp_redis_conn_connect(&s->watch,
                                            sentinel->addr.sockaddr,
                                            sentinel->addr.socklen)
           != NGX_OK)
    {
        ngx_http_totp_redis_conn_close(&s->watch);
    }
}


/* a watch that closed is opened again, to whichever Sentinel is first */

static void
ngx_http_totp_redis_sentinel_watch_closed(ngx_http_totp_redis_conn_t *conn)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (s->ping.timer_set) {
        ngx_del_timer(&s->ping);
    }

    if (s->exiting || s->rewatch.timer_set) {
        return;
    }

    s->rewatch.handler = ngx_http_totp_redis_sentinel_rewatch;
    s->rewatch.log = s->log;
    s->rewatch.cancelable = 1;

    ngx_add_timer(&s->rewatch, NGX_HTTP_TOTP_SENTINEL_REWATCH);
}


static void
ngx_http_totp_redis_sentinel_rewatch(ngx_event_t *ev)
{
    ngx_http_totp_redis_sentinel_watch();
}


static void
ngx_http_totp_redis_sentinel_subscribed(ngx_http_totp_redis_pending_t *p,
    redisReply *reply)
{
    ngx_http_totp_redis_conn_t  *conn = p->conn;

    ngx_http_totp_redis_conn_forget(p);
    ngx_free(p);

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: Sentinel \"%V\" refused SUBSCRIBE: %*s",
                      &conn->name, ngx_min((size_t) reply->len, 200),
                      reply->str);
        ngx_http_totp_redis_conn_close(conn);
        return;
    }

    ngx_http_totp_redis_sentinel_pong(NULL, reply);
}


/*
 * Nothing else is sent on the watch: without a PING now and then, a
 * Sentinel host gone away would leave it waiting for ever.
 */

static void
ngx_http_totp_redis_sentinel_ping(ngx_event_t *ev)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (ngx_http_totp_redis_sentinel_send(&s->watch, 1,
                                       &ngx_http_totp_redis_sentinel_ping_cmd,
                                       ngx_http_totp_redis_sentinel_pong, 0)
        != NGX_OK)
    {
        ngx_http_totp_redis_conn_close(&s->watch);
    }
}


static void
ngx_http_totp_redis_sentinel_pong(ngx_http_totp_redis_pending_t *p,
    redisReply *reply)
{
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (p) {
        ngx_http_totp_redis_conn_forget(p);
        ngx_free(p);
    }

    if (reply == NULL || s->exiting || s->ping.timer_set) {
        return;
    }

    s->ping.handler = ngx_http_totp_redis_sentinel_ping;
    s->ping.log = s->log;
    s->ping.cancelable = 1;

    ngx_add_timer(&s->ping, NGX_HTTP_TOTP_SENTINEL_PING);
}


/* "message" "+switch-master" "<name> <old ip> <old port> <ip> <port>" */

static void
ngx_http_totp_redis_sentinel_message(ngx_http_totp_redis_conn_t *conn,
    redisReply *reply)
{
    redisReply                      *text;
    ngx_str_t                       *name;
    ngx_http_totp_redis_sentinel_t  *s = &ngx_http_totp_redis_sentinel;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[2]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    text = reply->element[2];
    name = &s->conf->sentinel_master;

    if (text->len > name->len
        && text->str[name->len] == ' '
        && ngx_strncmp(text->str, name->data, name->len) == 0)
    {
        s->moved();
    }
}
