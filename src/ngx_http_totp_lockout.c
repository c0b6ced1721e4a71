
/*
 * Failure counting.  The count is taken in Redis, atomically with the
 * lockout check, before a password or code is checked: a burst of
 * parallel guesses cannot get more tries than the limit.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"


static void ngx_http_totp_lockout_attempted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_lockout_counted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_lockout_ignore(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_lockout_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds);


ngx_int_t
ngx_http_totp_lockout_attempt(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    totp_token_t  *trust;

    switch (ctx->guard) {

    case NGX_HTTP_TOTP_GUARD_FORM:

        if (ctx->conf->user) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        ctx->user = ctx->form.user;

        if (!ngx_http_totp_user_valid(&ctx->user)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "totp: client sent an invalid user name");
            ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
            ngx_str_null(&ctx->user);
            return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_BAD_REQUEST,
                       NGX_HTTP_TOTP_MSG_BAD_USER_HEADING,
                       NGX_HTTP_TOTP_MSG_BAD_USER);
        }

        break;

    case NGX_HTTP_TOTP_GUARD_PRE:

        if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
            return ngx_http_totp_flow_go(r, ctx, "login");
        }

        break;

    case NGX_HTTP_TOTP_GUARD_ENROLL:

        if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK
            && ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK)
        {
            return ngx_http_totp_flow_go(r, ctx, "login");
        }

        break;

    default: /* NGX_HTTP_TOTP_GUARD_SESSION */

        if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
            return ngx_http_totp_flow_go(r, ctx, "login");
        }

        /* ctx->session holds the session: the trust token goes elsewhere */
    }

    trust = ngx_palloc(r->pool, sizeof(totp_token_t));
    if (trust == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Redis checks the trust against the current enrollment and the
     * browsers still trusted
     */

    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_TRUST, trust)
        != NGX_OK
        || trust->user_len != ctx->user.len
        || ngx_memcmp(trust->user, ctx->user.data, ctx->user.len) != 0)
    {
        trust = NULL;
    }

    if (ngx_http_totp_store_attempt(r, &ctx->conf->keyspace, &ctx->user,
                                    &ctx->conf->limits, trust, &ctx->settled,
                                    ngx_http_totp_lockout_attempted, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_lockout_attempted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp lockout: attempt of \"%V\" counted, locked for "
                   "%i s",
                   ngx_http_totp_log_escape(r->pool, &ctx->user), ctx->settled);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->settled > 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: user \"%V\" refused: locked for %i s more",
                      ngx_http_totp_log_escape(r->pool, &ctx->user),
                      ctx->settled);
        rc = ngx_http_totp_lockout_locked(r, ctx, ctx->settled);

    } else {
        ctx->counted = 1;
        rc = ctx->post(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
}


ngx_int_t
ngx_http_totp_lockout_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event, ngx_http_totp_show_pt show,
    ngx_uint_t error)
{
    ngx_http_totp_flow_audit(r, ctx, event);

    /* the attempt's count stays: it was a failure */

    ctx->counted = 0;
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
    ctx->show = show;
    ctx->error = error;

    if (ngx_http_totp_store_settle(r, &ctx->conf->keyspace, &ctx->user,
                                   &ctx->conf->limits, "fail", &ctx->settled,
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
    ngx_http_totp_limits_t    *limits;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;
    limits = &ctx->conf->limits;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp lockout: failure of \"%V\" kept, locked:%i",
                   ngx_http_totp_log_escape(r->pool, &ctx->user), ctx->settled);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->settled) {
        if (ctx->settled & 1) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "totp: user \"%V\" locked for %T s after %ui "
                          "failures",
                          ngx_http_totp_log_escape(r->pool, &ctx->user),
                          limits->lockout,
                          limits->user.limit);
        }

        if (ctx->settled & 2) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "totp: client address locked for %T s after %ui "
                          "failures", limits->lockout, limits->client.limit);
        }

        rc = ngx_http_totp_lockout_locked(r, ctx, limits->lockout);

    } else {
        rc = ctx->show(r, ctx, NGX_HTTP_UNAUTHORIZED, ctx->error);
    }

    ngx_http_totp_flow_done(r, rc);
}


void
ngx_http_totp_lockout_succeeded(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *outcome)
{
    if (!ctx->counted) {
        return;
    }

    ctx->counted = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp lockout: \"%V\" passed (%s), the attempt given "
                   "back",
                   ngx_http_totp_log_escape(r->pool, &ctx->user), outcome);

    (void) ngx_http_totp_store_settle(r, &ctx->conf->keyspace, &ctx->user,
                                      &ctx->conf->limits, outcome,
                                      &ctx->settled,
                                      ngx_http_totp_lockout_ignore, ctx);
}


static void
ngx_http_totp_lockout_ignore(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    /* a count not given back is a failure more: it errs on the safe side */
}


static ngx_int_t
ngx_http_totp_lockout_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds)
{
    ngx_str_t  message;

    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_LOCKED);

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
