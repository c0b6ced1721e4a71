
/*
 * The steps that every sign-in flow takes.  Who the page is about comes
 * from a signed cookie, never from a form field: the pre-session names
 * who passed the first factor, the session who signed in.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_csrf.h"
#include "ngx_http_totp_flow.h"
#include "ngx_http_totp_log.h"


static void ngx_http_totp_flow_registered(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_flow_error_text(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t error);
static void ngx_http_totp_flow_ignore(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_totp_flow_summarize(ngx_http_request_t *r, void *data,
    ngx_int_t rc);


ngx_int_t
ngx_http_totp_flow_pre(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->has_pre) {
        return NGX_OK;
    }

    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_PRE, &ctx->pre)
        != NGX_OK
        && ngx_http_totp_issue_pre(r, ctx->conf, NULL, 0, NULL, NULL,
                                   &ctx->pre)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->has_pre = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_flow_first_factor(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (!ctx->has_pre) {
        if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_PRE,
                                      &ctx->pre)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }

        ctx->has_pre = 1;
    }

    if (!(ctx->pre.flags & NGX_HTTP_TOTP_PRE_FIRST)
        || ctx->pre.user_len == 0)
    {
        return NGX_DECLINED;
    }

    ctx->user.data = ctx->pre.user;
    ctx->user.len = ctx->pre.user_len;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_flow_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_SESSION,
                                  &ctx->session)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->user.data = ctx->session.user;
    ctx->user.len = ctx->session.user_len;

    return ngx_http_totp_session_field(r, &ctx->session, &ctx->field);
}


ngx_int_t
ngx_http_totp_flow_form(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    char *page, ngx_uint_t title, ngx_uint_t error)
{
    ngx_str_t  csrf;

    if (ctx->stale && error == NGX_HTTP_TOTP_MSG_NONE) {
        error = NGX_HTTP_TOTP_MSG_STALE_FORM;
    }

    if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK
        || ngx_http_totp_csrf_token(r, ctx->conf->main, &ctx->pre, 0, &csrf)
           != NGX_OK
        || ngx_http_totp_view_form(r, &ctx->view, page, &csrf, &ctx->user)
           != NGX_OK
        || ngx_http_totp_view_say(r, &ctx->view, "title", title) != NGX_OK
        || ngx_http_totp_flow_error_text(r, ctx, error) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A failure's message, and after it what the user should know before
 * trying again: that one or two tries remain, or that this browser is
 * no longer trusted
 */

static ngx_int_t
ngx_http_totp_flow_error_text(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t error)
{
    u_char     *p;
    ngx_str_t   text, notice;

    if (error == NGX_HTTP_TOTP_MSG_NONE) {
        return NGX_OK;
    }

    /* a wrong code that a late clock explains: by how many minutes */

    if (ctx->behind
        && (error == NGX_HTTP_TOTP_MSG_WRONG_CODE
            || error == NGX_HTTP_TOTP_MSG_WRONG_ENROLL_CODE
            || error == NGX_HTTP_TOTP_MSG_WRONG_RESET_CODE))
    {
        if (ngx_http_totp_view_count(r, &ctx->view,
                                     NGX_HTTP_TOTP_MSG_CLOCK_BEHIND,
                                     "minutes",
                                     ngx_max((ctx->behind + 30) / 60, 1),
                                     &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ngx_http_totp_view_text(r, &ctx->view, error, &text)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->tries_left == 0 && !ctx->trust_ended) {
        ngx_http_totp_view_var(&ctx->view, "error", text.data, text.len);
        return NGX_OK;
    }

    if (ctx->trust_ended) {
        if (ngx_http_totp_view_text(r, &ctx->view,
                                    NGX_HTTP_TOTP_MSG_TRUST_ENDED, &notice)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ngx_http_totp_view_count(r, &ctx->view,
                                        NGX_HTTP_TOTP_MSG_TRIES_LEFT, "n",
                                        ctx->tries_left, &notice)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, text.len + 1 + notice.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_totp_view_var(&ctx->view, "error", p,
                           ngx_sprintf(p, "%V %V", &text, &notice) - p);

    return NGX_OK;
}


/*
 * Any user passed on to verify or enroll goes with a pre-session that
 * names them, made when the password was typed: the browser keeps its id
 * if its pre-session named this user already (only the module names a
 * user in one).
 */

ngx_int_t
ngx_http_totp_flow_go(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    char *page)
{
    u_char     *invite;
    ngx_str_t   url;
    ngx_uint_t  same, first;

    /* no user yet (a login page): ctx->user.data may be NULL */

    same = ctx->user.len
           && ctx->has_pre
           && ctx->pre.user_len == ctx->user.len
           && ngx_memcmp(ctx->pre.user, ctx->user.data, ctx->user.len) == 0;

    first = same && (ctx->pre.flags & NGX_HTTP_TOTP_PRE_FIRST);

    if (ctx->user.len
        && (ngx_strcmp(page, "verify") == 0
            || ngx_strcmp(page, "enroll") == 0)
        && (!first || ctx->typed))
    {
        /* an invitation for this user goes on with the new pre-session */

        invite = (same && (ctx->pre.flags & NGX_HTTP_TOTP_PRE_INVITED))
                 ? ctx->pre.epoch : NULL;

        if (ngx_http_totp_issue_pre(r, ctx->conf, &ctx->user,
                                    NGX_HTTP_TOTP_PRE_FIRST
                                    | (invite ? NGX_HTTP_TOTP_PRE_INVITED
                                              : 0),
                                    same ? ctx->pre.nonce : NULL, invite,
                                    NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_totp_view_url(r, &ctx->view, page, &url) != NGX_OK
        || ngx_http_totp_view_headers(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: on to \"%V\"", &url);

    return ngx_http_totp_view_redirect(r, &url);
}


ngx_int_t
ngx_http_totp_flow_sign_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust,
    ngx_http_totp_page_pt signed_in)
{
    ngx_int_t               rc;
    ngx_http_totp_begin_t  *b;

    b = &ctx->begin;

    /* ctx->user may point into ctx->session: a copy outlives it */

    b->user.data = ngx_pnalloc(r->pool, ctx->user.len);
    if (b->user.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(b->user.data, ctx->user.data, ctx->user.len);
    b->user.len = ctx->user.len;

    b->conf = ctx->conf;
    b->line = &ctx->line;
    ngx_memcpy(b->epoch, ctx->rec.epoch, TOTP_EPOCH_LEN);
    b->flags = ctx->recovered ? NGX_HTTP_TOTP_SESSION_RECOVERED : 0;
    b->trust = (trust && ctx->conf->trust_ttl
                && ctx->form.trust.len == 1 && ctx->form.trust.data[0] == '1');

    ctx->signed_in = signed_in;

    rc = ngx_http_totp_session_begin(r, b, ngx_http_totp_flow_registered,
                                     ctx);

    /* as ngx_http_totp_flow_registered() takes it when it comes later */

    if (rc == NGX_DECLINED) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    if (rc != NGX_OK) {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_flow_registered(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_str_t                  binding;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc == NGX_DECLINED) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_go(r, ctx, "login"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (ngx_http_totp_cookie_binding(r, ctx->conf, &binding) != NGX_OK
        || ngx_http_totp_state_pass(r, ctx->state,
                                    ctx->trusted ? NGX_HTTP_TOTP_TRUSTED
                                                 : NGX_HTTP_TOTP_VERIFIED,
                                    ctx->user.data, ctx->user.len, &binding)
           != NGX_OK
        || ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_PRE) != NGX_OK)
    {
        ngx_http_totp_flow_done(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (!ctx->trusted) {
        /* a trusted browser's pass is its audit event's to count */
        ngx_http_totp_count(NGX_HTTP_TOTP_PASS_VERIFIED);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: \"%V\" signed in (%V)",
                   ngx_http_totp_log_escape(r->pool, &ctx->state->user),
                   ngx_http_totp_state_name(ctx->state->status));

    /* the pre-session has served its purpose: cleared above */

    ngx_http_totp_flow_done(r, ctx->signed_in(r, ctx));
}


ngx_int_t
ngx_http_totp_flow_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust)
{
    return ngx_http_totp_flow_sign_in(r, ctx, trust,
                                      ngx_http_totp_flow_back);
}


/* signed in: back to where the user first wanted to go */

ngx_int_t
ngx_http_totp_flow_back(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_str_t  next;

    if (ngx_http_totp_view_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    next = ctx->view.next;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: back to \"%V\"", &next);

    return ngx_http_totp_view_redirect(r, &next);
}


ngx_int_t
ngx_http_totp_flow_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t heading,
    ngx_uint_t message)
{
    return ngx_http_totp_view_message(r, &ctx->view, status, heading,
                                      message);
}


ngx_int_t
ngx_http_totp_flow_error(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_http_totp_flow_give_back(r, ctx, "back");
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
    ngx_http_totp_count(NGX_HTTP_TOTP_REFUSAL_UNAVAILABLE);

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
                                      NGX_HTTP_TOTP_MSG_UNAVAILABLE_HEADING,
                                      NGX_HTTP_TOTP_MSG_UNAVAILABLE);
}


void
ngx_http_totp_flow_give_back(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *outcome)
{
    if (!ctx->tally.counted) {
        return;
    }

    ctx->tally.counted = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: the attempt of \"%V\" given back (%s)",
                   ngx_http_totp_log_escape(r->pool, &ctx->user), outcome);

    (void) ngx_http_totp_store_settle(r, &ctx->conf->keyspace, &ctx->user,
                                      &ctx->conf->limits, &ctx->tally,
                                      outcome, ngx_http_totp_flow_ignore,
                                      ctx);
}


static void
ngx_http_totp_flow_ignore(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    /* a count not given back is a failure more: it errs on the safe side */
}


/*
 * The page waits for Redis: a client that leaves cancels the command, and
 * a write event must not run the page once more.
 */

void
ngx_http_totp_flow_async(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;
}


void
ngx_http_totp_flow_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t          *c;
    ngx_http_totp_page_ctx_t  *ctx;

    c = r->connection;

    /* a 5xx is the server's fault, never a judgment of the user's */

    if (rc == NGX_ERROR || rc >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

        if (ctx) {
            ngx_http_totp_flow_give_back(r, ctx, "back");
        }
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_totp_flow_fetch(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_http_totp_store_pt done)
{
    if (ngx_http_totp_session_fetch(r, ctx->conf, &ctx->user,
                                    ctx->field.len ? &ctx->field : NULL,
                                    &ctx->rec, &ctx->line, done, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


/*
 * A logout, a revoke, a reset, a new enrollment or a changed password
 * line since the session was made ends it.
 */

ngx_int_t
ngx_http_totp_flow_current(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_session_verdict(r, ctx->conf, &ctx->session,
                                         &ctx->rec, &ctx->line);
}


ngx_int_t
ngx_http_totp_flow_still_current(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *rc)
{
    if (*rc == NGX_OK) {
        *rc = ngx_http_totp_flow_current(r, ctx);
    }

    if (*rc == NGX_OK) {
        return NGX_OK;
    }

    /* a page sent may well answer NGX_OK: it is the caller's to finish */

    *rc = (*rc == NGX_DECLINED) ? ngx_http_totp_flow_go(r, ctx, "login")
                                : ngx_http_totp_flow_error(r, ctx);

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_flow_summary(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_store_pt summed)
{
    ctx->summed = summed;

    return ngx_http_totp_flow_fetch(r, ctx, ngx_http_totp_flow_summarize);
}


static void
ngx_http_totp_flow_summarize(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (ngx_http_totp_flow_still_current(r, ctx, &rc) != NGX_OK) {
        ngx_http_totp_flow_done(r, rc);
        return;
    }

    if (ngx_http_totp_store_summary(r, &ctx->conf->keyspace, &ctx->user,
                                    ctx->summary, &ctx->shown, ctx->summed,
                                    ctx)
        != NGX_OK)
    {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
    }
}


void
ngx_http_totp_flow_show_current(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (ngx_http_totp_flow_still_current(r, ctx, &rc) == NGX_OK) {
        rc = ctx->show(r, ctx, NGX_HTTP_OK, NGX_HTTP_TOTP_MSG_NONE);
    }

    ngx_http_totp_flow_done(r, rc);
}


void
ngx_http_totp_flow_audit(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_http_totp_audit_e what, char *text)
{
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "totp: user \"%V\" %s",
                  ngx_http_totp_log_escape(r->pool, &ctx->user), text);

    ngx_http_totp_flow_event(r, ctx, what);
}


void
ngx_http_totp_flow_event(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_http_totp_audit_e what)
{
    ngx_http_totp_audit_event_t  ev;

    ev.what = what;
    ev.user = &ctx->user;
    ev.client_key = &ctx->tally.client;
    ev.codes_left = (what == NGX_HTTP_TOTP_AUDIT_RECOVERY_USED)
                    ? ctx->codes_left : -1;

    ngx_http_totp_audit(r, ctx->conf->audit_log, &ctx->conf->realm,
                        &ctx->conf->location, &ev);
}
