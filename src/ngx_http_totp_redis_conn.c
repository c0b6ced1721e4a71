
/*
 * One connection to one Redis server, on nginx's machinery: the socket
 * from ngx_event_connect_peer(), its events from the worker's event
 * loop, TLS from nginx's own OpenSSL layer (ngx_ssl_*), so that c->recv
 * and c->send are all this file reads and writes through.  hiredis's
 * reader parses the replies.
 *
 * Commands are kept in one queue in the order they were sent, which is
 * the order Redis answers them.  A command that times out closes the
 * connection: nothing behind a stuck command can be trusted to arrive
 * either, and every pending command then fails, exactly once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_http_totp_redis_conn.h"


/* what one read takes off the socket; the reader keeps the rest */
#define NGX_HTTP_TOTP_REDIS_READ_SIZE  16384


static void ngx_http_totp_redis_conn_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_totp_redis_conn_test_connect(
    ngx_http_totp_redis_conn_t *conn, ngx_connection_t *c);
static void ngx_http_totp_redis_conn_connected(
    ngx_http_totp_redis_conn_t *conn);
#if (NGX_SSL)
static void ngx_http_totp_redis_conn_tls_handshake(ngx_connection_t *c);
static void ngx_http_totp_redis_conn_tls_save(ngx_connection_t *c);
static ngx_int_t ngx_http_totp_redis_conn_tls_check(
    ngx_http_totp_redis_conn_t *conn, ngx_connection_t *c);
static ngx_uint_t ngx_http_totp_redis_conn_is_address(ngx_str_t *name);
#endif
static void ngx_http_totp_redis_conn_ready(ngx_http_totp_redis_conn_t *conn);
static void ngx_http_totp_redis_conn_read(ngx_http_totp_redis_conn_t *conn);
static ngx_int_t ngx_http_totp_redis_conn_dispatch(
    ngx_http_totp_redis_conn_t *conn, redisReply *reply);
static void ngx_http_totp_redis_conn_write(ngx_http_totp_redis_conn_t *conn);
static void ngx_http_totp_redis_conn_timeout(ngx_event_t *ev);


static u_char  ngx_http_totp_redis_conn_buf[NGX_HTTP_TOTP_REDIS_READ_SIZE];


ngx_int_t
ngx_http_totp_redis_conn_open(ngx_http_totp_redis_conn_t *conn,
    ngx_log_t *log)
{
    if (conn->state != NGX_HTTP_TOTP_REDIS_CLOSED) {
        return NGX_OK;
    }

    conn->reader = redisReaderCreate();
    if (conn->reader == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "totp: redis \"%V\": out of memory", &conn->name);
        return NGX_ERROR;
    }

    /*
     * A log of the connection's own: nginx's TLS code sets an action on
     * it, which must not stick to the cycle's.
     */

    conn->log = *log;
    conn->log.action = NULL;
    conn->log.handler = NULL;
    conn->log.data = NULL;

    ngx_queue_init(&conn->pending);
    conn->npending = 0;
    conn->unsent = NULL;
    conn->timed_out = 0;
    conn->broken = 0;
    conn->blocked = 0;
    conn->state = NGX_HTTP_TOTP_REDIS_WAITING;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_redis_conn_connect(ngx_http_totp_redis_conn_t *conn,
    struct sockaddr *sockaddr, socklen_t socklen)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    if (conn->state != NGX_HTTP_TOTP_REDIS_WAITING) {
        return NGX_ERROR;
    }

    ngx_memcpy(&conn->sockaddr, sockaddr, socklen);

    ngx_memzero(&conn->peer, sizeof(ngx_peer_connection_t));

    conn->peer.sockaddr = &conn->sockaddr.sockaddr;
    conn->peer.socklen = socklen;
    conn->peer.name = &conn->name;
    conn->peer.get = ngx_event_get_peer;
    conn->peer.log = &conn->log;
    conn->peer.log_error = NGX_ERROR_ERR;

    conn->state = NGX_HTTP_TOTP_REDIS_CONNECTING;

    /* never blocks: a TCP connect is only started (NGX_AGAIN) */

    rc = ngx_event_connect_peer(&conn->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        /* ngx_event_connect_peer() said why */
        conn->peer.connection = NULL;
        ngx_http_totp_redis_conn_close(conn);
        return NGX_ERROR;
    }

    c = conn->peer.connection;

    c->data = conn;
    c->read->handler = ngx_http_totp_redis_conn_handler;
    c->write->handler = ngx_http_totp_redis_conn_handler;

    /* the TLS layer allocates from the connection's pool */

    c->pool = ngx_create_pool(512, &conn->log);
    if (c->pool == NULL) {
        ngx_http_totp_redis_conn_close(conn);
        return NGX_ERROR;
    }

    /*
     * One connection carries every request's commands: Nagle would hold
     * a command back while an earlier one is unacknowledged (a unix
     * socket is left alone by ngx_tcp_nodelay()).
     */

    if (ngx_tcp_nodelay(c) != NGX_OK) {
        ngx_http_totp_redis_conn_close(conn);
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "totp redis: connecting to \"%V\", fd:%d",
                   &conn->name, c->fd);

    if (rc == NGX_OK) {
        /* a unix socket connects at once, and may fail at once too */
        ngx_http_totp_redis_conn_connected(conn);
    }

    return (conn->state == NGX_HTTP_TOTP_REDIS_CLOSED) ? NGX_ERROR : NGX_OK;
}


ngx_int_t
ngx_http_totp_redis_conn_send(ngx_http_totp_redis_conn_t *conn,
    ngx_http_totp_redis_pending_t *p)
{
    if (conn->state == NGX_HTTP_TOTP_REDIS_CLOSED) {
        return NGX_ERROR;
    }

    p->conn = conn;
    p->sent = 0;
    p->timed_out = 0;

    ngx_queue_insert_tail(&conn->pending, &p->queue);
    conn->npending++;

    if (conn->unsent == NULL) {
        conn->unsent = &p->queue;
    }

    p->timer.handler = ngx_http_totp_redis_conn_timeout;
    p->timer.data = p;
    p->timer.log = &conn->log;

    ngx_add_timer(&p->timer, conn->timeout);

    /*
     * Written on the next turn of the loop, with whatever else is sent
     * meanwhile: a write error then fails this command from the event
     * loop, never from inside the caller's own call.
     */

    if (conn->state == NGX_HTTP_TOTP_REDIS_READY && !conn->blocked) {
        ngx_post_event(conn->peer.connection->write, &ngx_posted_events);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_redis_conn_format(ngx_http_totp_redis_pending_t *p, int argc,
    const char **argv, const size_t *argvlen)
{
    int  n;

    ngx_http_totp_redis_conn_forget(p);

    n = redisFormatCommandArgv(&p->out, argc, argv, argvlen);

    if (n < 0) {
        p->out = NULL;
        return NGX_ERROR;
    }

    p->len = (size_t) n;

    return NGX_OK;
}


void
ngx_http_totp_redis_conn_forget(ngx_http_totp_redis_pending_t *p)
{
    if (p->out == NULL) {
        return;
    }

    if (p->secret) {
        ngx_explicit_memzero(p->out, p->len);
    }

    redisFreeCommand(p->out);

    p->out = NULL;
    p->len = 0;
}


void
ngx_http_totp_redis_conn_close(ngx_http_totp_redis_conn_t *conn)
{
    ngx_queue_t                     failed, *q;
    ngx_connection_t               *c;
    ngx_http_totp_redis_pending_t  *p;

    if (conn->state == NGX_HTTP_TOTP_REDIS_CLOSED) {
        return;
    }

    conn->state = NGX_HTTP_TOTP_REDIS_CLOSED;
    conn->generation++;

    /* taken out first: a handler may send, and so open it again */

    ngx_queue_init(&failed);

    if (!ngx_queue_empty(&conn->pending)) {
        ngx_queue_add(&failed, &conn->pending);
        ngx_queue_init(&conn->pending);
    }

    conn->npending = 0;
    conn->unsent = NULL;
    conn->blocked = 0;

    if (conn->reader) {
        redisReaderFree(conn->reader);
        conn->reader = NULL;
    }

    c = conn->peer.connection;
    conn->peer.connection = NULL;

    if (c) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                       "totp redis: closing \"%V\", fd:%d",
                       &conn->name, c->fd);

#if (NGX_SSL)
        if (c->ssl) {
            /* a quiet close: waiting for the peer's alert could block */
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        if (c->pool) {
            ngx_destroy_pool(c->pool);
            c->pool = NULL;
        }

        ngx_close_connection(c);
    }

    if (conn->closed) {
        conn->closed(conn);
    }

    while (!ngx_queue_empty(&failed)) {
        q = ngx_queue_head(&failed);
        ngx_queue_remove(q);

        p = ngx_queue_data(q, ngx_http_totp_redis_pending_t, queue);

        if (p->timer.timer_set) {
            ngx_del_timer(&p->timer);
        }

        p->handler(p, NULL);
    }
}


void
ngx_http_totp_redis_conn_free(ngx_http_totp_redis_conn_t *conn)
{
#if (NGX_SSL)
    if (conn->session) {
        ngx_ssl_free_session(conn->session);
        conn->session = NULL;
    }
#endif
}


static void
ngx_http_totp_redis_conn_handler(ngx_event_t *ev)
{
    ngx_connection_t            *c;
    ngx_http_totp_redis_conn_t  *conn;

    c = ev->data;
    conn = c->data;

    if (c->close) {
        /* worker_shutdown_timeout: do not wait for the command timers */
        ngx_http_totp_redis_conn_close(conn);
        return;
    }

    switch (conn->state) {

    case NGX_HTTP_TOTP_REDIS_CONNECTING:
        if (ngx_http_totp_redis_conn_test_connect(conn, c) != NGX_OK) {
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        ngx_http_totp_redis_conn_connected(conn);
        return;

    case NGX_HTTP_TOTP_REDIS_READY:
        if (ev->write) {
            ngx_http_totp_redis_conn_write(conn);

        } else {
            ngx_http_totp_redis_conn_read(conn);
        }

        return;

    default:
        return;
    }
}


static ngx_int_t
ngx_http_totp_redis_conn_test_connect(ngx_http_totp_redis_conn_t *conn,
    ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, &conn->log, err,
                      "totp: connect to redis \"%V\" failed", &conn->name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_totp_redis_conn_connected(ngx_http_totp_redis_conn_t *conn)
{
#if (NGX_SSL)

    ngx_int_t          rc;
    ngx_connection_t  *c;

    if (conn->ssl) {
        c = conn->peer.connection;

        conn->state = NGX_HTTP_TOTP_REDIS_HANDSHAKE;

        if (ngx_ssl_create_connection(conn->ssl, c, NGX_SSL_CLIENT)
            != NGX_OK)
        {
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        /* SNI names a host: an address literal is never sent (RFC 6066) */

        if (conn->tls.name.len
            && !ngx_http_totp_redis_conn_is_address(&conn->tls.name)
            && SSL_set_tlsext_host_name(c->ssl->connection,
                                        (char *) conn->tls.name.data)
               != 1)
        {
            ngx_ssl_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: redis \"%V\": SSL_set_tlsext_host_name"
                          "(\"%V\") failed", &conn->name, &conn->tls.name);
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        /* a reconnect resumes the last session: one round trip less */

        c->ssl->save_session = ngx_http_totp_redis_conn_tls_save;

        if (conn->session && ngx_ssl_set_session(c, conn->session) != NGX_OK)
        {
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        rc = ngx_ssl_handshake(c);

        if (rc == NGX_AGAIN) {
            c->ssl->handler = ngx_http_totp_redis_conn_tls_handshake;
            return;
        }

        ngx_http_totp_redis_conn_tls_handshake(c);
        return;
    }

#endif

    ngx_http_totp_redis_conn_ready(conn);
}


#if (NGX_SSL)

static void
ngx_http_totp_redis_conn_tls_handshake(ngx_connection_t *c)
{
    ngx_http_totp_redis_conn_t  *conn = c->data;

    if (!c->ssl->handshaked) {
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: TLS handshake with redis \"%V\" failed",
                      &conn->name);
        ngx_http_totp_redis_conn_close(conn);
        return;
    }

    if (conn->tls.verify
        && ngx_http_totp_redis_conn_tls_check(conn, c) != NGX_OK)
    {
        ngx_http_totp_redis_conn_close(conn);
        return;
    }

    /* the handshake took the handlers over */

    c->read->handler = ngx_http_totp_redis_conn_handler;
    c->write->handler = ngx_http_totp_redis_conn_handler;

    ngx_http_totp_redis_conn_ready(conn);
}


/* a session ticket came (TLS 1.3 sends it after the handshake) */

static void
ngx_http_totp_redis_conn_tls_save(ngx_connection_t *c)
{
    ngx_ssl_session_t           *session;
    ngx_http_totp_redis_conn_t  *conn = c->data;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (conn->session) {
        ngx_ssl_free_session(conn->session);
    }

    conn->session = session;
}


/*
 * The chain was verified during the handshake (nginx's callback lets it
 * finish whatever the result): the result and the name are checked here,
 * as proxy_ssl_verify does, with a line that says which check failed.
 */

static ngx_int_t
ngx_http_totp_redis_conn_tls_check(ngx_http_totp_redis_conn_t *conn,
    ngx_connection_t *c)
{
    long       rc;
    X509      *cert;
    ngx_int_t  matched;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: redis \"%V\" sent a certificate that does not "
                      "verify: (%l: %s)", &conn->name, rc,
                      X509_verify_cert_error_string(rc));
        return NGX_ERROR;
    }

    /* an address literal is matched against the IP names of the cert */

    if (ngx_http_totp_redis_conn_is_address(&conn->tls.name)) {
        cert = SSL_get_peer_certificate(c->ssl->connection);

        matched = (cert != NULL
                   && X509_check_ip_asc(cert, (char *) conn->tls.name.data,
                                        0)
                      == 1);

        if (cert) {
            X509_free(cert);
        }

    } else {
        matched = (ngx_ssl_check_host(c, &conn->tls.name) == NGX_OK);
    }

    if (!matched) {
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: redis \"%V\" sent a certificate that is not "
                      "for \"%V\"", &conn->name, &conn->tls.name);
        return NGX_ERROR;
    }

    return NGX_OK;
}

/* an IPv4 literal, or an IPv6 one (the only names with a colon) */

static ngx_uint_t
ngx_http_totp_redis_conn_is_address(ngx_str_t *name)
{
    return ngx_inet_addr(name->data, name->len) != INADDR_NONE
           || ngx_strlchr(name->data, name->data + name->len, ':') != NULL;
}

#endif


static void
ngx_http_totp_redis_conn_ready(ngx_http_totp_redis_conn_t *conn)
{
    ngx_connection_t  *c;

    c = conn->peer.connection;

    conn->state = NGX_HTTP_TOTP_REDIS_READY;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &conn->log, 0,
                   "totp redis: connected to \"%V\"", &conn->name);

    /* what was queued meanwhile (AUTH first) goes out now */

    ngx_http_totp_redis_conn_write(conn);

    /* a reply may have come with the handshake's last bytes */

    if (conn->state == NGX_HTTP_TOTP_REDIS_READY && c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }
}


static void
ngx_http_totp_redis_conn_write(ngx_http_totp_redis_conn_t *conn)
{
    ssize_t                         n;
    ngx_connection_t               *c;
    ngx_http_totp_redis_pending_t  *p;

    c = conn->peer.connection;

    while (conn->unsent && !conn->blocked) {
        p = ngx_queue_data(conn->unsent, ngx_http_totp_redis_pending_t,
                           queue);

        n = c->send(c, (u_char *) p->out + p->sent, p->len - p->sent);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: lost redis \"%V\"", &conn->name);
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        p->sent += n;

        if (p->sent < p->len) {
            continue;
        }

        conn->unsent = ngx_queue_next(conn->unsent);

        if (conn->unsent == ngx_queue_sentinel(&conn->pending)) {
            conn->unsent = NULL;
        }

        /*
         * Pipelined behind a failing SELECT, a write would land in the
         * wrong database; behind a ROLE that finds a replica, a read
         * would come from it.
         */

        if (p->barrier) {
            conn->blocked = 1;
        }
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_totp_redis_conn_close(conn);
    }
}


static void
ngx_http_totp_redis_conn_read(ngx_http_totp_redis_conn_t *conn)
{
    void              *reply;
    ssize_t            n;
    ngx_int_t          rc;
    ngx_uint_t         generation, level;
    ngx_connection_t  *c;

    c = conn->peer.connection;
    generation = conn->generation;

    /*
     * Until the socket says it has nothing more: an edge-triggered event
     * does not come again for what is already there, and an end of file
     * that came with the last reply is seen now, before a request can
     * write its command into a connection that is gone.
     */

    for ( ;; ) {
        n = c->recv(c, ngx_http_totp_redis_conn_buf,
                    NGX_HTTP_TOTP_REDIS_READ_SIZE);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            level = ngx_queue_empty(&conn->pending) ? NGX_LOG_INFO
                                                    : NGX_LOG_ERR;

            ngx_log_error(level, &conn->log, 0,
                          "totp: redis \"%V\" closed the connection",
                          &conn->name);
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        if (n == NGX_ERROR) {
            /* nginx said how, at its level: this says which server */
            ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: lost redis \"%V\"", &conn->name);
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        if (redisReaderFeed(conn->reader,
                            (const char *) ngx_http_totp_redis_conn_buf,
                            (size_t) n)
            != REDIS_OK)
        {
            ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                          "totp: redis \"%V\": out of memory", &conn->name);
            ngx_http_totp_redis_conn_close(conn);
            return;
        }

        for ( ;; ) {
            reply = NULL;

            if (redisReaderGetReply(conn->reader, &reply) != REDIS_OK) {
                ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                              "totp: redis \"%V\" sent what is not a "
                              "reply (%s), closing the connection",
                              &conn->name, conn->reader->errstr);
                conn->broken = 1;
                ngx_http_totp_redis_conn_close(conn);
                return;
            }

            if (reply == NULL) {
                break;
            }

            rc = ngx_http_totp_redis_conn_dispatch(conn, reply);

            freeReplyObject(reply);

            if (rc != NGX_OK) {
                conn->broken = 1;
                ngx_http_totp_redis_conn_close(conn);
                return;
            }

            /* a handler closed it: the reader and c are gone */

            if (conn->generation != generation) {
                return;
            }
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_totp_redis_conn_close(conn);
    }
}


static ngx_int_t
ngx_http_totp_redis_conn_dispatch(ngx_http_totp_redis_conn_t *conn,
    redisReply *reply)
{
    ngx_queue_t                    *q;
    ngx_http_totp_redis_pending_t  *p;

    /* a subscriber's messages come between the replies to its commands */

    if (conn->push
        && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 7
        && ngx_strncmp(reply->element[0]->str, "message", 7) == 0)
    {
        conn->push(conn, reply);
        return NGX_OK;
    }

    if (ngx_queue_empty(&conn->pending)) {

        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: redis \"%V\" sent more replies than it was "
                      "asked for, closing the connection", &conn->name);
        return NGX_ERROR;
    }

    q = ngx_queue_head(&conn->pending);

    if (q == conn->unsent) {
        /* a reply to a command not (wholly) written yet: one too many */
        ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                      "totp: redis \"%V\" sent more replies than it was "
                      "asked for, closing the connection", &conn->name);
        return NGX_ERROR;
    }

    ngx_queue_remove(q);
    conn->npending--;

    p = ngx_queue_data(q, ngx_http_totp_redis_pending_t, queue);

    if (p->timer.timer_set) {
        ngx_del_timer(&p->timer);
    }

    if (p->barrier) {
        conn->blocked = 0;

        if (conn->unsent) {
            ngx_post_event(conn->peer.connection->write, &ngx_posted_events);
        }
    }

    p->handler(p, reply);

    return NGX_OK;
}


static void
ngx_http_totp_redis_conn_timeout(ngx_event_t *ev)
{
    ngx_http_totp_redis_pending_t  *p = ev->data;
    ngx_http_totp_redis_conn_t     *conn;

    conn = p->conn;

    /* the others failed with it are counted as failed, this one timed out */

    p->timed_out = 1;
    conn->timed_out = 1;

    ngx_log_error(NGX_LOG_ERR, &conn->log, 0,
                  "totp: redis \"%V\" did not answer within %M ms, "
                  "closing the connection", &conn->name, conn->timeout);

    ngx_http_totp_redis_conn_close(conn);
}
