
/*
 * What a signed-in user does.  Every action checks first that the session
 * still belongs to the user's current enrollment: a reset, a new
 * enrollment or an ops DEL since it was made ends it here too.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_account.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_enroll.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_recovery.h"


static void ngx_http_totp_account_reset_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_account_reset_accepted(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_account_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);
static void ngx_http_totp_account_ended(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_account_signed_out(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_account_forgotten(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/*
 * reset: a signed-in user begins a change to a new device, proving the
 * old one, which works until the new one is confirmed (on the enroll page)
 */

ngx_int_t
ngx_http_totp_account_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->show = ngx_http_totp_account_show_reset;

    return ngx_http_totp_flow_fetch(r, ctx, ngx_http_totp_flow_show_current);
}


ngx_int_t
ngx_http_totp_account_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_account_reset_checked);
}


static void
ngx_http_totp_account_reset_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (ngx_http_totp_flow_still_current(r, ctx, &rc) != NGX_OK) {
        ngx_http_totp_flow_done(r, rc);
        return;
    }

    /*
     * A session a recovery code made has no device to prove: the change
     * is its way to a new one.
     */

    if (ctx->session.flags & NGX_HTTP_TOTP_SESSION_RECOVERED) {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_CHANGE_RECOVERED,
                                 "began a change of device");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        ngx_http_totp_flow_done(r, ngx_http_totp_enroll_change(r, ctx));
        return;
    }

    rc = ngx_http_totp_secret_check(r, ctx->conf, &ctx->user, &ctx->rec,
                                    &ctx->form.code, &ctx->step,
                                    &ctx->resealed, &ctx->behind);

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            rc = ngx_http_totp_flow_error(r, ctx);

        } else if (rc == NGX_HTTP_TOTP_CODE_MALFORMED) {
            rc = ngx_http_totp_lockout_malformed(r, ctx,
                     ngx_http_totp_account_show_reset,
                     NGX_HTTP_TOTP_MSG_MALFORMED_CODE);

        } else {
            rc = ngx_http_totp_lockout_failed(r, ctx,
                     NGX_HTTP_TOTP_AUDIT_WRONG_CODE, "failed code at reset",
                     ngx_http_totp_account_show_reset,
                     NGX_HTTP_TOTP_MSG_WRONG_RESET_CODE);
        }

        ngx_http_totp_flow_done(r, rc);
        return;
    }

    if (ngx_http_totp_store_accept(r, &ctx->conf->keyspace, &ctx->user,
                                   ctx->rec.epoch, ctx->step, &ctx->resealed,
                                   &ctx->result,
                                   ngx_http_totp_account_reset_accepted, ctx)
        != NGX_OK)
    {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
    }
}


static void
ngx_http_totp_account_reset_accepted(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result == 0) {
        rc = ngx_http_totp_flow_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_lockout_failed(r, ctx,
                 NGX_HTTP_TOTP_AUDIT_REPLAYED_CODE,
                 "failed code at reset (already used)",
                 ngx_http_totp_account_show_reset,
                 NGX_HTTP_TOTP_MSG_USED_CODE);

    } else {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_CHANGE_STARTED,
                                 "began a change of device");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        rc = ngx_http_totp_enroll_change(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
}


/*
 * logout ends the session on the server, and the cookie with it: a copy
 * taken from this browser passes no more.  The trust cookie stays, as
 * promised.  With everywhere=1, every session and trusted browser of the
 * user ends, on every machine; the enrollment stays.
 */

ngx_int_t
ngx_http_totp_account_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_account_signed_out(r, ctx);
    }

    if (ngx_http_totp_flow_form(r, ctx, "logout",
                                NGX_HTTP_TOTP_MSG_TITLE_LOGOUT,
                                NGX_HTTP_TOTP_MSG_NONE)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, &ctx->view, NGX_HTTP_TOTP_PAGE_LOGOUT,
                                   NGX_HTTP_OK);
}


ngx_int_t
ngx_http_totp_account_logout_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    totp_token_t  *tokens[1];

    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {

        /* no session here: only the cookie, if any, goes */

        if (ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_SESSION)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_totp_account_signed_out(r, ctx);
    }

    ctx->everywhere = (ctx->form.everywhere.len == 1
                       && ctx->form.everywhere.data[0] == '1');

    tokens[0] = &ctx->session;

    if (ngx_http_totp_session_end(r, ctx->conf, &ctx->user, tokens, 1,
                                  ctx->everywhere, &ctx->result,
                                  ngx_http_totp_account_ended, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


/*
 * forget: this browser is no longer trusted for the user its trust
 * cookie names, on the server too; the session, if any, stays
 */

ngx_int_t
ngx_http_totp_account_forget(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_form(r, ctx, "forget",
                                NGX_HTTP_TOTP_MSG_TITLE_FORGET,
                                NGX_HTTP_TOTP_MSG_NONE)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, &ctx->view, NGX_HTTP_TOTP_PAGE_FORGET,
                                   NGX_HTTP_OK);
}


ngx_int_t
ngx_http_totp_account_forget_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    totp_token_t  *tokens[1];

    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_TRUST,
                                  &ctx->session)
        != NGX_OK)
    {
        if (ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_TRUST)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_totp_account_forgotten(r, ctx);
    }

    ctx->user.data = ctx->session.user;
    ctx->user.len = ctx->session.user_len;
    ctx->forget = 1;

    tokens[0] = &ctx->session;

    if (ngx_http_totp_session_end(r, ctx->conf, &ctx->user, tokens, 1, 0,
                                  &ctx->result, ngx_http_totp_account_ended,
                                  ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


/* Redis ended the session, the sessions or the trust: the cookies go */

static void
ngx_http_totp_account_ended(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    /* not ended on the server: the user must know, and try again */

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (ctx->forget) {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_BROWSER_FORGOTTEN,
                                 "had this browser forgotten");

        rc = (ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_TRUST)
              == NGX_OK)
             ? ngx_http_totp_account_forgotten(r, ctx)
             : NGX_HTTP_INTERNAL_SERVER_ERROR;

        ngx_http_totp_flow_done(r, rc);
        return;
    }

    if (ctx->everywhere) {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_LOGOUT_EVERYWHERE,
                                 "signed out everywhere");

    } else {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_LOGOUT,
                                 "signed out");
    }

    if (ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_SESSION)
        != NGX_OK
        || (ctx->everywhere
            && ngx_http_totp_cookie_clear(r, ctx->conf, TOTP_TOKEN_TRUST)
               != NGX_OK))
    {
        ngx_http_totp_flow_done(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_str_null(&ctx->user);

    ngx_http_totp_flow_done(r, ngx_http_totp_account_signed_out(r, ctx));
}


static ngx_int_t
ngx_http_totp_account_signed_out(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
               NGX_HTTP_TOTP_MSG_SIGNED_OUT_HEADING,
               ctx->everywhere ? NGX_HTTP_TOTP_MSG_SIGNED_OUT_EVERYWHERE
                               : NGX_HTTP_TOTP_MSG_SIGNED_OUT);
}


static ngx_int_t
ngx_http_totp_account_forgotten(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
                                      NGX_HTTP_TOTP_MSG_FORGOTTEN_HEADING,
                                      NGX_HTTP_TOTP_MSG_FORGOTTEN);
}


static ngx_int_t
ngx_http_totp_account_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    u_char                *p;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_flow_form(r, ctx, "reset",
                                   NGX_HTTP_TOTP_MSG_TITLE_RESET, error)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(v, "cancel", (u_char *) "/", 1);

    if (ctx->session.flags & NGX_HTTP_TOTP_SESSION_RECOVERED) {
        ngx_http_totp_view_var(v, "recovered", (u_char *) "1", 1);
    }

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_RESET, status);
}

