
/*
 * Signing in: login (the first factor), verify (the code), recovery (a
 * recovery code instead of the code).  Each step that needs Redis returns
 * NGX_DONE and goes on in the callback of its operation.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_recovery.h"
#include "ngx_http_totp_signin.h"


static void ngx_http_totp_signin_login_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_signin_login_judged(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_totp_signin_busy(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_signin_trust(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_signin_login_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_signin_verify_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_signin_verify_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_signin_verify_accepted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_signin_recovery_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_signin_recovery_used(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_signin_recovery_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_signin_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);
static ngx_int_t ngx_http_totp_signin_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);
static ngx_int_t ngx_http_totp_signin_show_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);
static ngx_int_t ngx_http_totp_signin_show_recovered(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/*
 * login: the first factor.  With totp_user it has already been passed on
 * the gated location, which says so in the pre-session cookie.
 */

ngx_int_t
ngx_http_totp_signin_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->conf->user == NULL && !ctx->unknown) {
        if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_totp_signin_show_login(r, ctx, NGX_HTTP_OK,
                                               NGX_HTTP_TOTP_MSG_NONE);
    }

    if (ctx->unknown || ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
                   NGX_HTTP_TOTP_MSG_CONSOLE_FIRST_HEADING,
                   NGX_HTTP_TOTP_MSG_CONSOLE_FIRST);
    }

    if (ngx_http_totp_signin_trust(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_signin_login_fetched);
}


ngx_int_t
ngx_http_totp_signin_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;

    /* the attempt is counted, ctx->user checked: see lockout_attempt() */

    rc = ngx_http_totp_password_check(r, ctx->conf, &ctx->user,
                                      &ctx->form.password, &ctx->line,
                                      ngx_http_totp_signin_login_checked,
                                      ctx);

    if (rc == NGX_AGAIN) {
        ngx_http_totp_flow_async(r);
        return NGX_DONE;
    }

    return ngx_http_totp_signin_login_judged(r, ctx, rc);
}


static void
ngx_http_totp_signin_login_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_flow_done(r, ngx_http_totp_signin_login_judged(r, data,
                                                                 rc));
}


static ngx_int_t
ngx_http_totp_signin_login_judged(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t rc)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: password of \"%V\": %s",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   rc == NGX_OK ? "right" : rc == NGX_DECLINED ? "wrong"
                   : rc == NGX_BUSY ? "not checked, busy" : "error");

    if (rc == NGX_BUSY) {
        return ngx_http_totp_signin_busy(r, ctx);
    }

    if (rc == NGX_ERROR) {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_totp_lockout_failed(r, ctx,
                   NGX_HTTP_TOTP_AUDIT_WRONG_PASSWORD, "failed password",
                   ngx_http_totp_signin_show_login,
                   NGX_HTTP_TOTP_MSG_WRONG_PASSWORD);
    }

    ctx->typed = 1;
    ngx_http_totp_count(NGX_HTTP_TOTP_SIGNIN_OK);

    if (ngx_http_totp_signin_trust(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_signin_login_fetched);
}


/*
 * Too many hashes at once in this worker: the attempt judged nothing and
 * is given back, and the form is shown again to be sent in a second.
 */

static ngx_int_t
ngx_http_totp_signin_busy(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_http_totp_flow_give_back(r, ctx, "back");
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
    ngx_http_totp_count(NGX_HTTP_TOTP_SIGNIN_BUSY);
    ngx_http_totp_count(NGX_HTTP_TOTP_REFUSAL_UNAVAILABLE);

    if (ngx_http_totp_view_retry_after(r, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_signin_show_login(r, ctx,
                                           NGX_HTTP_SERVICE_UNAVAILABLE,
                                           NGX_HTTP_TOTP_MSG_BUSY);
}


/*
 * This browser's trust cookie for ctx->user, if it has one, into
 * ctx->session, so that the fetch reads its entry with the record
 */

static ngx_int_t
ngx_http_totp_signin_trust(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_cookie_trust(r, ctx->conf, &ctx->user, &ctx->session)
        != NGX_OK)
    {
        ngx_memzero(&ctx->session, sizeof(totp_token_t));
        return NGX_OK;
    }

    return ngx_http_totp_session_field(r, &ctx->session, &ctx->field);
}


/* the first factor passed: a trusted browser is done, others go on */

static void
ngx_http_totp_signin_login_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (!ctx->rec.enrolled) {
        ngx_http_totp_flow_give_back(r, ctx, "first");
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_go(r, ctx, "enroll"));
        return;
    }

    /* a browser still trusted for this enrollment: no code asked */

    rc = ctx->field.len ? ngx_http_totp_flow_current(r, ctx) : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (rc == NGX_OK) {
        ctx->trusted = 1;
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_TRUSTED_PASS,
                                 "let in by a trusted browser");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_finish(r, ctx, 0));
        return;
    }

    ngx_http_totp_flow_give_back(r, ctx, "first");
    ngx_http_totp_flow_done(r, ngx_http_totp_flow_go(r, ctx, "verify"));
}


/* verify: the code of an enrolled user */

ngx_int_t
ngx_http_totp_signin_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_signin_verify_fetched);
}


static void
ngx_http_totp_signin_verify_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (!ctx->rec.enrolled) {
        rc = ngx_http_totp_flow_go(r, ctx, "enroll");

    } else {
        rc = ngx_http_totp_signin_show_verify(r, ctx, NGX_HTTP_OK,
                                              NGX_HTTP_TOTP_MSG_NONE);
    }

    ngx_http_totp_flow_done(r, rc);
}


ngx_int_t
ngx_http_totp_signin_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_signin_verify_checked);
}


static void
ngx_http_totp_signin_verify_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (!ctx->rec.enrolled) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_go(r, ctx, "enroll"));
        return;
    }

    rc = ngx_http_totp_secret_check(r, ctx->conf, &ctx->user, &ctx->rec,
                                    &ctx->form.code, &ctx->step,
                                    &ctx->resealed, &ctx->behind);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: code of \"%V\": %s",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   rc == NGX_OK ? "right" : rc == NGX_DECLINED ? "wrong"
                                                               : "error");

    if (rc == NGX_ERROR) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (rc == NGX_HTTP_TOTP_CODE_MALFORMED) {
        ngx_http_totp_flow_done(r,
            ngx_http_totp_lockout_malformed(r, ctx,
                ngx_http_totp_signin_show_verify,
                NGX_HTTP_TOTP_MSG_MALFORMED_CODE));
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_flow_done(r,
            ngx_http_totp_lockout_failed(r, ctx,
                NGX_HTTP_TOTP_AUDIT_WRONG_CODE, "failed code",
                ngx_http_totp_signin_show_verify,
                NGX_HTTP_TOTP_MSG_WRONG_CODE));
        return;
    }

    if (ngx_http_totp_store_accept(r, &ctx->conf->keyspace, &ctx->user,
                                   ctx->rec.epoch, ctx->step,
                                   &ctx->resealed, &ctx->result,
                                   ngx_http_totp_signin_verify_accepted, ctx)
        != NGX_OK)
    {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }
}


static void
ngx_http_totp_signin_verify_accepted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result == 0) {
        /* reset or enrolled anew while the code was typed: start over */
        rc = ngx_http_totp_flow_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_lockout_failed(r, ctx,
                 NGX_HTTP_TOTP_AUDIT_REPLAYED_CODE,
                 "failed code (already used)",
                 ngx_http_totp_signin_show_verify,
                 NGX_HTTP_TOTP_MSG_USED_CODE);

    } else {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_VERIFIED,
                                 "verified");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        rc = ngx_http_totp_flow_finish(r, ctx, 1);
    }

    ngx_http_totp_flow_done(r, rc);
}


/* recovery: a lost device; one recovery code instead of a code */

ngx_int_t
ngx_http_totp_signin_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    return ngx_http_totp_signin_show_recovery(r, ctx, NGX_HTTP_OK,
                                              NGX_HTTP_TOTP_MSG_NONE);
}


ngx_int_t
ngx_http_totp_signin_recovery_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_signin_recovery_fetched);
}


static void
ngx_http_totp_signin_recovery_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    u_char                      code[NGX_HTTP_TOTP_CODE_LEN];
    ngx_str_t                   plain, hashes[2];
    ngx_uint_t                  i;
    ngx_http_totp_page_ctx_t   *ctx;
    ngx_http_totp_main_conf_t  *mcf;

    ctx = data;
    mcf = ctx->conf->main;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    if (!ctx->rec.enrolled) {
        rc = ngx_http_totp_flow_go(r, ctx, "enroll");
        goto done;
    }

    if (ngx_http_totp_recovery_normalize(&ctx->form.code, code) != NGX_OK) {
        rc = ngx_http_totp_lockout_malformed(r, ctx,
                 ngx_http_totp_signin_show_recovery,
                 NGX_HTTP_TOTP_MSG_MALFORMED_RECOVERY_CODE);
        goto done;
    }

    plain.data = code;
    plain.len = NGX_HTTP_TOTP_CODE_LEN;

    /* a code made before a key rotation is hashed under the old key */

    for (i = 0; i < mcf->nkeys; i++) {
        if (ngx_http_totp_recovery_hash(r, mcf, &ctx->user, i, &plain,
                                        &hashes[i])
            != NGX_OK)
        {
            totp_wipe(code, sizeof(code));
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
    }

    totp_wipe(code, sizeof(code));

    if (ngx_http_totp_store_recovery_use(r, &ctx->conf->keyspace, &ctx->user,
                                         hashes, mcf->nkeys, &ctx->result,
                                         ngx_http_totp_signin_recovery_used,
                                         ctx)
        != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    return;

done:

    ngx_http_totp_flow_done(r, rc);
}


static void
ngx_http_totp_signin_recovery_used(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    u_char                    *p;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result == -2) {
        rc = ngx_http_totp_flow_go(r, ctx, "enroll");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_signin_recovery_failed(r, ctx);

    } else {
        ctx->codes_left = ctx->result;

        p = ngx_pnalloc(r->pool, sizeof("used a recovery code, ")
                                 + NGX_INT_T_LEN + sizeof(" left"));
        if (p == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            ngx_sprintf(p, "used a recovery code, %i left%Z",
                        ctx->codes_left);
            ngx_http_totp_flow_audit(r, ctx,
                                     NGX_HTTP_TOTP_AUDIT_RECOVERY_USED,
                                     (char *) p);
            ngx_http_totp_flow_give_back(r, ctx, "pass");

            /* the session may set up a new device without the lost one */

            ctx->recovered = 1;

            rc = ngx_http_totp_flow_sign_in(r, ctx, 0,
                     ngx_http_totp_signin_show_recovered);
        }
    }

    ngx_http_totp_flow_done(r, rc);
}


static ngx_int_t
ngx_http_totp_signin_recovery_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_lockout_failed(r, ctx,
               NGX_HTTP_TOTP_AUDIT_WRONG_RECOVERY_CODE, "failed recovery code",
               ngx_http_totp_signin_show_recovery,
               NGX_HTTP_TOTP_MSG_WRONG_RECOVERY_CODE);
}


static ngx_int_t
ngx_http_totp_signin_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    if (ngx_http_totp_flow_form(r, ctx, "login", NGX_HTTP_TOTP_MSG_TITLE_LOGIN,
                                error)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_LOGIN, status);
}


static ngx_int_t
ngx_http_totp_signin_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    u_char                *p;
    ngx_str_t              login, recovery;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_flow_form(r, ctx, "verify",
                                   NGX_HTTP_TOTP_MSG_TITLE_VERIFY, error)
           != NGX_OK
        || ngx_http_totp_view_trust_for(r, v) != NGX_OK
        || ngx_http_totp_view_url(r, v, "login", &login) != NGX_OK
        || ngx_http_totp_view_url(r, v, "recovery", &recovery) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(v, "login", login.data, login.len);
    ngx_http_totp_view_var(v, "recovery", recovery.data, recovery.len);

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_VERIFY, status);
}


static ngx_int_t
ngx_http_totp_signin_show_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    ngx_str_t              verify;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    if (ngx_http_totp_flow_form(r, ctx, "recovery",
                                NGX_HTTP_TOTP_MSG_TITLE_RECOVERY, error)
        != NGX_OK
        || ngx_http_totp_view_url(r, v, "verify", &verify) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "verify", verify.data, verify.len);

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_RECOVERY, status);
}


/* signed in with a recovery code: how many are left */

static ngx_int_t
ngx_http_totp_signin_show_recovered(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_str_t              reset, message;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    if (ngx_http_totp_view_url(r, v, "reset", &reset) != NGX_OK
        || ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_RECOVERED,
                                    "left", ctx->codes_left, &message)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v->nvars = 0;

    ngx_http_totp_view_var(v, "message", message.data, message.len);
    ngx_http_totp_view_var(v, "link", reset.data, reset.len);
    ngx_http_totp_view_var(v, "secondary", v->next.data, v->next.len);

    if (ngx_http_totp_view_say(r, v, "title",
                               NGX_HTTP_TOTP_MSG_RECOVERED_TITLE)
        != NGX_OK
        || ngx_http_totp_view_say(r, v, "heading",
                                  NGX_HTTP_TOTP_MSG_RECOVERED_HEADING)
           != NGX_OK
        || ngx_http_totp_view_say(r, v, "link_text",
                                  NGX_HTTP_TOTP_MSG_RECOVERED_RESET)
           != NGX_OK
        || ngx_http_totp_view_say(r, v, "secondary_text",
                                  NGX_HTTP_TOTP_MSG_RECOVERED_CONTINUE)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_MESSAGE,
                                   NGX_HTTP_OK);
}
