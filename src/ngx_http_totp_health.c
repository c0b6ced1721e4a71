
/*
 * totp_health: a content handler for load balancers.  It answers 200 with
 * Redis's round-trip time when Redis runs a trivial script, 503 otherwise.
 * A script rather than a bare PING: the gate cannot work without Redis's
 * scripting, so a Redis that only answers PING is not healthy for it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_health.h"
#include "ngx_http_totp_redis.h"
#include "ngx_http_totp_view.h"


typedef struct {
    ngx_http_request_t           *request;
    ngx_uint_t                    start;      /* microseconds */
} ngx_http_totp_health_ctx_t;


static void ngx_http_totp_health_done(void *data, redisReply *reply);
static ngx_int_t ngx_http_totp_health_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


static ngx_http_totp_redis_script_t  ngx_http_totp_health_ping =
    ngx_http_totp_redis_script("return redis.call('PING')");

static ngx_str_t  ngx_http_totp_health_unavailable =
    ngx_string("{\"redis\":\"unavailable\"}" CRLF);


ngx_int_t
ngx_http_totp_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_totp_health_ctx_t  *ctx;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_health_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->start = ngx_http_totp_counters_usec();

    if (ngx_http_totp_redis_eval(r->pool, &ngx_http_totp_health_ping, 0, 0,
                                 NULL, ngx_http_totp_health_done, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_health_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         &ngx_http_totp_health_unavailable);
    }

    /* a client that leaves stops the wait; the command is cancelled */

    r->read_event_handler = ngx_http_test_reading;
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_totp_health_done(void *data, redisReply *reply)
{
    ngx_http_totp_health_ctx_t  *ctx = data;

    u_char               buf[64];
    int64_t              us;
    ngx_int_t            rc;
    ngx_str_t            body;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (reply == NULL
        || reply->type != REDIS_REPLY_STATUS
        || reply->len != 4
        || ngx_strncmp(reply->str, "PONG", 4) != 0)
    {
        if (reply) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "totp: redis health check got an unexpected "
                          "reply: %*s", (size_t) reply->len,
                          reply->str ? reply->str : "");
        }

        rc = ngx_http_totp_health_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       &ngx_http_totp_health_unavailable);

    } else {
        us = (int64_t) (ngx_http_totp_counters_usec() - ctx->start);

        body.data = buf;
        body.len = ngx_sprintf(buf, "{\"redis\":\"ok\",\"rtt_ms\":%L.%03L}"
                               CRLF, us / 1000, us % 1000)
                   - buf;

        rc = ngx_http_totp_health_send(r, NGX_HTTP_OK, &body);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_totp_health_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_str_t  copy;

    /* a cached answer would hide an outage from the balancer */

    if (ngx_http_totp_view_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the body may be sent after the caller's buffer is gone */

    copy.len = body->len;
    copy.data = ngx_pstrdup(r->pool, body);
    if (copy.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, status, "application/json", &copy);
}
