
/*
 * Failure counting.  The count is taken in Redis, atomically with the
 * lockout check, before a password or code is checked: a burst of
 * parallel guesses cannot get more tries than the limit.
 *
 * Failures are counted per user and client (the pair), per user from
 * every client, and per client across users; each has its own limit.
 * An attacker elsewhere can lock the pair of their own client, or the
 * user for untrusted browsers past the much higher user limit; never
 * the user at the user's own client, nor a browser the user trusts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_client.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_session.h"


/* a POST's trust cookie, being checked before the attempt is counted */
typedef struct {
    ngx_http_totp_page_ctx_t    *ctx;
    totp_token_t                 trust;
    ngx_str_t                    field;
    ngx_http_totp_record_t       rec;
} ngx_http_totp_lockout_t;


static ngx_int_t ngx_http_totp_lockout_who(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *rc);
static void ngx_http_totp_lockout_trusted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_lockout_count(ngx_http_request_t *r,
    ngx_http_totp_lockout_t *lo);
static void ngx_http_totp_lockout_attempted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_lockout_counted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_lockout_log(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_lockout_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds);


ngx_int_t
ngx_http_totp_lockout_attempt(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_uint_t                 exempt;
    ngx_http_totp_tally_t     *tally;
    ngx_http_totp_lockout_t   *lo;

    if (ngx_http_totp_lockout_who(r, ctx, &rc) != NGX_OK) {
        return rc;
    }

    tally = &ctx->tally;

    if (ngx_http_totp_client_key(r, ctx->conf, &tally->client, &exempt)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    tally->exempt = exempt;

    lo = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_lockout_t));
    if (lo == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lo->ctx = ctx;

    if (ngx_http_totp_cookie_trust(r, ctx->conf, &ctx->user, &lo->trust)
        != NGX_OK)
    {
        return ngx_http_totp_lockout_count(r, lo);
    }

    /*
     * A trust cookie for this user: whether it still signs in (not ended,
     * not expired, made under the current password line) is asked first;
     * only then may it pass the locks.
     */

    if (ngx_http_totp_session_field(r, &lo->trust, &lo->field) != NGX_OK
        || ngx_http_totp_session_fetch(r, ctx->conf, &ctx->user, &lo->field,
                                       &lo->rec, &ctx->line,
                                       ngx_http_totp_lockout_trusted, lo)
           != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_lockout_trusted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_lockout_t   *lo;
    ngx_http_totp_page_ctx_t  *ctx;

    lo = data;
    ctx = lo->ctx;

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    /* a password file that cannot be read vouches for no trust */

    if (ngx_http_totp_session_verdict(r, ctx->conf, &lo->trust, &lo->rec,
                                      &ctx->line)
        == NGX_OK)
    {
        ctx->tally.trust = 1;
        ngx_memcpy(ctx->tally.field, lo->field.data, lo->field.len);
    }

    ngx_http_totp_flow_done(r, ngx_http_totp_lockout_count(r, lo));
}


/*
 * The attempt counted, atomically with the check of the locks; Redis
 * checks again that a trust is still registered for the enrollment
 */

static ngx_int_t
ngx_http_totp_lockout_count(ngx_http_request_t *r,
    ngx_http_totp_lockout_t *lo)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = lo->ctx;

    if (ngx_http_totp_store_attempt(r, &ctx->conf->keyspace, &ctx->user,
                                    &ctx->conf->limits, &ctx->tally,
                                    lo->trust.epoch,
                                    ngx_http_totp_lockout_attempted, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


/*
 * Whose attempt the POST is, into ctx->user, as ctx->guard says; or
 * NGX_DONE, and *rc the answer that the POST gets instead
 */

static ngx_int_t
ngx_http_totp_lockout_who(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *rc)
{
    switch (ctx->guard) {

    case NGX_HTTP_TOTP_GUARD_FORM:

        if (ctx->conf->user) {
            *rc = NGX_HTTP_NOT_ALLOWED;
            return NGX_DONE;
        }

        ctx->user = ctx->form.user;

        if (!ngx_http_totp_user_valid(&ctx->user)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "totp: client sent an invalid user name");
            ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
            ngx_str_null(&ctx->user);
            *rc = ngx_http_totp_flow_message(r, ctx, NGX_HTTP_BAD_REQUEST,
                      NGX_HTTP_TOTP_MSG_BAD_USER_HEADING,
                      NGX_HTTP_TOTP_MSG_BAD_USER);
            return NGX_DONE;
        }

        return NGX_OK;

    case NGX_HTTP_TOTP_GUARD_PRE:

        if (ngx_http_totp_flow_first_factor(r, ctx) == NGX_OK) {
            return NGX_OK;
        }

        break;

    case NGX_HTTP_TOTP_GUARD_ENROLL:

        if (ngx_http_totp_flow_first_factor(r, ctx) == NGX_OK
            || ngx_http_totp_flow_signed_in(r, ctx) == NGX_OK)
        {
            return NGX_OK;
        }

        break;

    default: /* NGX_HTTP_TOTP_GUARD_SESSION */

        if (ngx_http_totp_flow_signed_in(r, ctx) == NGX_OK) {
            return NGX_OK;
        }
    }

    *rc = ngx_http_totp_flow_go(r, ctx, "login");

    return NGX_DONE;
}


static void
ngx_http_totp_lockout_attempted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp lockout: attempt of \"%V\" from \"%V\" counted%s, "
                   "locked for %i s",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   ngx_http_totp_log_escape(r->pool, &ctx->tally.client),
                   ctx->tally.trusted ? " as a trusted browser" : "",
                   ctx->tally.wait);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->tally.wait > 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: user \"%V\" refused from client \"%V\": "
                      "locked for %i s more",
                      ngx_http_totp_log_escape(r->pool, &ctx->user),
                      ngx_http_totp_log_escape(r->pool, &ctx->tally.client),
                      ctx->tally.wait);
        ngx_http_totp_flow_event(r, ctx,
                                 ctx->guard == NGX_HTTP_TOTP_GUARD_FORM
                                 ? NGX_HTTP_TOTP_AUDIT_LOCKED_SIGNIN
                                 : NGX_HTTP_TOTP_AUDIT_LOCKED_CODE);
        rc = ngx_http_totp_lockout_locked(r, ctx, ctx->tally.wait);

    } else {
        ctx->tally.counted = 1;
        rc = ctx->post(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
}


ngx_int_t
ngx_http_totp_lockout_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_audit_e what, char *text,
    ngx_http_totp_show_pt show, ngx_uint_t error)
{
    ngx_http_totp_flow_audit(r, ctx, what, text);

    /* the attempt's count stays: it was a failure */

    ctx->tally.counted = 0;
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
    ctx->show = show;
    ctx->error = error;

    if (ngx_http_totp_store_settle(r, &ctx->conf->keyspace, &ctx->user,
                                   &ctx->conf->limits, &ctx->tally, "fail",
                                   ngx_http_totp_lockout_counted, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_lockout_counted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_tally_t     *tally;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;
    tally = &ctx->tally;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp lockout: failure of \"%V\" kept, locked:%ui "
                   "held:%ui left:%i",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   tally->locked, tally->held, tally->left);

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    ngx_http_totp_lockout_log(r, ctx);

    /* a trusted browser is held by no lock: its own failures end trust */

    if (!tally->trusted
        && (tally->held & (NGX_HTTP_TOTP_LOCK_PAIR | NGX_HTTP_TOTP_LOCK_USER
                           | NGX_HTTP_TOTP_LOCK_CLIENT)))
    {
        rc = ngx_http_totp_lockout_locked(r, ctx, tally->wait);

    } else {
        /* a trusted browser's budget ends its trust, not its sign-in */

        ctx->trust_ended = (tally->held & NGX_HTTP_TOTP_LOCK_TRUST) ? 1 : 0;
        ctx->tries_left = (!tally->trusted && tally->left <= 2)
                          ? tally->left : 0;
        rc = ctx->show(r, ctx, NGX_HTTP_UNAUTHORIZED, ctx->error);
    }

    ngx_http_totp_flow_done(r, rc);
}


/* a line for each lock this failure set, naming what it holds */

static void
ngx_http_totp_lockout_log(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_str_t               *user, *client;
    ngx_http_totp_limits_t  *limits;

    if (ctx->tally.locked == 0) {
        return;
    }

    limits = &ctx->conf->limits;
    user = ngx_http_totp_log_escape(r->pool, &ctx->user);
    client = ngx_http_totp_log_escape(r->pool, &ctx->tally.client);

    if (ctx->tally.locked & NGX_HTTP_TOTP_LOCK_PAIR) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "totp: user \"%V\" locked at client \"%V\" for %T s "
                      "after %ui failures", user, client, limits->lockout,
                      limits->pair.limit);

        ngx_http_totp_flow_event(r, ctx, NGX_HTTP_TOTP_AUDIT_LOCK_PAIR);
    }

    if (ctx->tally.locked & NGX_HTTP_TOTP_LOCK_USER) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "totp: user \"%V\" locked for untrusted browsers for "
                      "%T s after %ui failures from all clients", user,
                      limits->lockout, limits->user.limit);

        ngx_http_totp_flow_event(r, ctx, NGX_HTTP_TOTP_AUDIT_LOCK_USER);
    }

    if (ctx->tally.locked & NGX_HTTP_TOTP_LOCK_CLIENT) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "totp: client \"%V\" locked for %T s after %ui "
                      "failures across users", client, limits->lockout,
                      limits->client.limit);

        ngx_http_totp_flow_event(r, ctx, NGX_HTTP_TOTP_AUDIT_LOCK_CLIENT);
    }

    if (ctx->tally.locked & NGX_HTTP_TOTP_LOCK_TRUST) {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "totp: user \"%V\": a browser at client \"%V\" is no "
                      "longer trusted after %ui failures", user, client,
                      limits->pair.limit);

        ngx_http_totp_flow_event(r, ctx, NGX_HTTP_TOTP_AUDIT_LOCK_TRUST);
    }
}


ngx_int_t
ngx_http_totp_lockout_malformed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_show_pt show,
    ngx_uint_t hint)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: user \"%V\" sent a code that cannot be one, "
                  "not counted",
                  ngx_http_totp_log_escape(r->pool, &ctx->user));

    ngx_http_totp_flow_event(r, ctx, NGX_HTTP_TOTP_AUDIT_MALFORMED_CODE);

    ngx_http_totp_flow_give_back(r, ctx, "back");
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);

    return show(r, ctx, NGX_HTTP_BAD_REQUEST, hint);
}


static ngx_int_t
ngx_http_totp_lockout_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds)
{
    ngx_str_t  message;

    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_LOCKED);
    ngx_http_totp_count(NGX_HTTP_TOTP_REFUSAL_LOCKED);

    if (ngx_http_totp_view_count(r, &ctx->view, NGX_HTTP_TOTP_MSG_LOCKED,
                                 "minutes", (seconds + 59) / 60, &message)
        != NGX_OK
        || ngx_http_totp_view_retry_after(r, seconds) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_message_text(r, &ctx->view,
                                           NGX_HTTP_TOO_MANY_REQUESTS,
                                           NGX_HTTP_TOTP_MSG_LOCKED_HEADING,
                                           &message);
}
