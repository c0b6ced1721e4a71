
/*
 * One connection to one Redis server (or Sentinel), on nginx's own peer
 * connection, event and TLS code.  hiredis only formats commands (the
 * caller's) and parses replies (its reader) here.  Commands are answered
 * in the order they were sent; each carries a timer of its own.
 */


#ifndef _NGX_HTTP_TOTP_REDIS_CONN_H_INCLUDED_
#define _NGX_HTTP_TOTP_REDIS_CONN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <hiredis/hiredis.h>


typedef struct ngx_http_totp_redis_conn_s     ngx_http_totp_redis_conn_t;
typedef struct ngx_http_totp_redis_pending_s  ngx_http_totp_redis_pending_t;


/*
 * Called exactly once per command the connection took: with its reply,
 * or with NULL when the connection failed or closed first (timed_out
 * then says whether this command's own timer did it).  reply is freed
 * when the handler returns.
 */
typedef void (*ngx_http_totp_redis_pending_pt)(
    ngx_http_totp_redis_pending_t *p, redisReply *reply);

/* the owner learns that the connection is gone before its commands do */
typedef void (*ngx_http_totp_redis_closed_pt)(
    ngx_http_totp_redis_conn_t *conn);

/* a subscriber's message: ["message", channel, text] */
typedef void (*ngx_http_totp_redis_push_pt)(ngx_http_totp_redis_conn_t *conn,
    redisReply *reply);


struct ngx_http_totp_redis_pending_s {
    ngx_queue_t                       queue;
    ngx_event_t                       timer;
    ngx_http_totp_redis_conn_t       *conn;

    char                             *out;      /* RESP, from hiredis */
    size_t                            len;
    size_t                            sent;

    ngx_http_totp_redis_pending_pt    handler;

    unsigned                          timed_out:1;
    unsigned                          secret:1;

    /* nothing behind it is written before its reply (AUTH, ROLE) */
    unsigned                          barrier:1;
};


typedef struct {
    ngx_str_t                         name;      /* NUL-terminated */
    unsigned                          verify:1;
} ngx_http_totp_redis_tls_t;


struct ngx_http_totp_redis_conn_s {
    /* set by the owner before ngx_http_totp_redis_conn_open() */
    ngx_str_t                         name;      /* for messages */
    ngx_msec_t                        timeout;
#if (NGX_SSL)
    ngx_ssl_t                        *ssl;       /* NULL: plain text */
    ngx_http_totp_redis_tls_t         tls;
    ngx_ssl_session_t                *session;   /* to resume */
#endif
    ngx_http_totp_redis_closed_pt     closed;
    ngx_http_totp_redis_push_pt       push;
    void                             *data;

    /* the connection's own */
    ngx_log_t                         log;
    ngx_peer_connection_t             peer;
    ngx_sockaddr_t                    sockaddr;
    ngx_queue_t                       pending;
    ngx_uint_t                        npending;
    ngx_queue_t                      *unsent;
    redisReader                      *reader;

    /* bumped at every close, so that a loop can tell it was closed */
    ngx_uint_t                        generation;
    ngx_uint_t                        state;

    /* a command's timer closed it */
    unsigned                          timed_out:1;

    /* the server broke the protocol: not to be retried at once */
    unsigned                          broken:1;

    /* a barrier command is on its way: the writes wait for its reply */
    unsigned                          blocked:1;
};


#define NGX_HTTP_TOTP_REDIS_CLOSED      0
#define NGX_HTTP_TOTP_REDIS_WAITING     1     /* no address yet */
#define NGX_HTTP_TOTP_REDIS_CONNECTING  2
#define NGX_HTTP_TOTP_REDIS_HANDSHAKE   3     /* TLS */
#define NGX_HTTP_TOTP_REDIS_READY       4


/* takes commands from now on; they are written once connected */
ngx_int_t ngx_http_totp_redis_conn_open(ngx_http_totp_redis_conn_t *conn,
    ngx_log_t *log);

/*
 * Starts connecting to sockaddr.  NGX_ERROR: it could not even start,
 * and the connection is closed (its commands failed) already.
 */
ngx_int_t ngx_http_totp_redis_conn_connect(ngx_http_totp_redis_conn_t *conn,
    struct sockaddr *sockaddr, socklen_t socklen);

/*
 * Queues p (out, len and handler set); it is written on a later turn of
 * the event loop, never from inside this call, so its handler is never
 * called before this returns.  NGX_ERROR: the connection is closed.
 */
ngx_int_t ngx_http_totp_redis_conn_send(ngx_http_totp_redis_conn_t *conn,
    ngx_http_totp_redis_pending_t *p);

/* p->out, p->len: argv in RESP; NGX_ERROR when memory ran out */
ngx_int_t ngx_http_totp_redis_conn_format(ngx_http_totp_redis_pending_t *p,
    int argc, const char **argv, const size_t *argvlen);
/* frees p->out, wiped first when it held a secret */
void ngx_http_totp_redis_conn_forget(ngx_http_totp_redis_pending_t *p);

/* closes the connection; every pending command fails, once */
void ngx_http_totp_redis_conn_close(ngx_http_totp_redis_conn_t *conn);

/* the TLS session kept for resumption, if any, is let go */
void ngx_http_totp_redis_conn_free(ngx_http_totp_redis_conn_t *conn);


#endif /* _NGX_HTTP_TOTP_REDIS_CONN_H_INCLUDED_ */
