
/*
 * The sign-in flows behind the pages: login (the first factor), verify,
 * enroll, reset (a change of device) and logout.  Each step that needs
 * Redis returns NGX_DONE and goes on in the callback of its operation.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_pages.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_session.h"
#include "ngx_http_totp_store.h"


/* how long a shown QR code stays valid for its confirmation */
#define NGX_HTTP_TOTP_ENROLL_TTL  600


static void ngx_http_totp_signin_login_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_verify_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_verify_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_verify_accepted(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_enroll_begun(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_enroll_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_enroll_confirmed(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_reset_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_reset_accepted(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_signin_fetch(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_store_pt done);
static void ngx_http_totp_signin_show_current(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_uint_t ngx_http_totp_signin_current(ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_signin_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_signin_recovery_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_recovery_used(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_signin_recovery_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_signin_codes_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_codes_accepted(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_signin_codes_replaced(ngx_http_request_t *r,
    ngx_int_t rc);


/*
 * login: the first factor.  With totp_user it has already been passed on
 * the gated location, which says so in the pre-session cookie.
 */

ngx_int_t
ngx_http_totp_signin_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->base.conf->user == NULL) {
        if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_totp_view_show_login(r, ctx, NGX_HTTP_OK, NULL);
    }

    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_view_message(r, ctx, NGX_HTTP_OK,
                   "Open the console first",
                   "Sign-in starts at the page you want to use: open it "
                   "again and you will be brought back here.");
    }

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_login_fetched);
}


ngx_int_t
ngx_http_totp_signin_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;

    /* the attempt is counted, ctx->user checked: see pages_attempt() */

    rc = ngx_http_totp_password_check(r, ctx->base.conf->password_file,
                                      &ctx->user, &ctx->form.password);

    if (rc == NGX_ERROR) {
        ctx->base.status = NGX_HTTP_TOTP_ERROR;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_totp_pages_failed(r, ctx, "failed password",
                   ngx_http_totp_view_show_login,
                   "The user name or password is not right.");
    }

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_login_fetched);
}


/* the first factor passed: a trusted browser is done, others go on */

static void
ngx_http_totp_signin_login_fetched(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (!ctx->rec.enrolled) {
        ngx_http_totp_pages_succeeded(r, ctx, "first");
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "enroll"));
        return;
    }

    if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_TRUST,
                                  &ctx->session)
        == NGX_OK
        && ctx->session.user_len == ctx->user.len
        && ngx_memcmp(ctx->session.user, ctx->user.data, ctx->user.len) == 0
        && totp_memeq(ctx->session.epoch, ctx->rec.epoch, TOTP_EPOCH_LEN))
    {
        ctx->trusted = 1;
        ngx_http_totp_pages_audit(r, ctx, "let in by a trusted browser");
        ngx_http_totp_pages_succeeded(r, ctx, "pass");
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_finish(r, ctx, 0));
        return;
    }

    ngx_http_totp_pages_succeeded(r, ctx, "first");
    ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "verify"));
}


/* verify: the code of an enrolled user */

ngx_int_t
ngx_http_totp_signin_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_verify_fetched);
}


static void
ngx_http_totp_signin_verify_fetched(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (!ctx->rec.enrolled) {
        rc = ngx_http_totp_pages_go(r, ctx, "enroll");

    } else {
        rc = ngx_http_totp_view_show_verify(r, ctx, NGX_HTTP_OK, NULL);
    }

    ngx_http_totp_pages_done(r, rc);
}


ngx_int_t
ngx_http_totp_signin_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_verify_checked);
}


static void
ngx_http_totp_signin_verify_checked(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (!ctx->rec.enrolled) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "enroll"));
        return;
    }

    rc = ngx_http_totp_secret_check(r, ctx);

    if (rc == NGX_ERROR) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_pages_done(r,
            ngx_http_totp_pages_failed(r, ctx, "failed code",
                ngx_http_totp_view_show_verify,
                "That code is not right. Enter the code your app shows "
                "now."));
        return;
    }

    if (ngx_http_totp_store_accept(r, &ctx->user, ctx->rec.epoch, ctx->step,
                                   0, &ctx->resealed, &ctx->result,
                                   ngx_http_totp_signin_verify_accepted)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }
}


static void
ngx_http_totp_signin_verify_accepted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result == 0) {
        /* reset or enrolled anew while the code was typed: start over */
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_pages_failed(r, ctx, "failed code (already used)",
                 ngx_http_totp_view_show_verify,
                 "That code was already used. Wait for the next code "
                 "and enter it.");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "verified");
        ngx_http_totp_pages_succeeded(r, ctx, "pass");
        rc = ngx_http_totp_pages_finish(r, ctx, 1);
    }

    ngx_http_totp_pages_done(r, rc);
}


/* enroll: a new secret, shown until it is confirmed with one code */

ngx_int_t
ngx_http_totp_signin_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char      *p;
    ngx_str_t    sealed, candidate;
    const char  *alg;

    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    /*
     * A candidate secret is made each time; Redis keeps the first one
     * until it expires, so a reload shows the same QR code.
     */

    ctx->algorithm = ctx->base.conf->algorithm;
    ctx->digits = ctx->base.conf->digits;
    ctx->period = ctx->base.conf->period;
    ctx->secret_len = totp_alg_key_len(ctx->algorithm);

    if (totp_random(ctx->secret, ctx->secret_len) != 0
        || ngx_http_totp_secret_seal(r, ctx, "enroll", &sealed) != NGX_OK)
    {
        totp_wipe(ctx->secret, sizeof(ctx->secret));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    alg = totp_alg_name(ctx->algorithm);

    p = ngx_pnalloc(r->pool, sizeof("1.sha512.8.3600.") + sealed.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    candidate.data = p;
    candidate.len = ngx_sprintf(p, "1.%s.%ui.%T.%V", alg, ctx->digits,
                                ctx->period, &sealed)
                    - p;

    if (ngx_http_totp_store_enroll_begin(r, &ctx->user, &candidate,
                                         NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending,
                                         ngx_http_totp_signin_enroll_begun)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_signin_enroll_begun(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->pending.data == NULL) {
        rc = ngx_http_totp_pages_go(r, ctx, "verify");

    } else if (ngx_http_totp_secret_pending_parse(r, ctx) != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else {
        ctx->base.status = NGX_HTTP_TOTP_ENROLL;
        rc = ngx_http_totp_view_show_enroll(r, ctx, NGX_HTTP_OK, NULL);
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    ngx_http_totp_pages_done(r, rc);
}


ngx_int_t
ngx_http_totp_signin_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_enroll_begin(r, &ctx->user, NULL,
                                         NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending,
                                         ngx_http_totp_signin_enroll_checked)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_signin_enroll_checked(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (ctx->pending.data == NULL) {
        rc = ngx_http_totp_pages_go(r, ctx, "verify");
        goto done;
    }

    if (ctx->pending.len == 0) {
        rc = ngx_http_totp_view_message(r, ctx, NGX_HTTP_OK,
                 "The QR code expired",
                 "It was shown more than ten minutes ago. Start again to "
                 "get a new one.");
        goto done;
    }

    if (ngx_http_totp_secret_pending_parse(r, ctx) != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    rc = ngx_http_totp_secret_code(r, ctx);

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (rc == NGX_DECLINED) {

        /* the page shown again needs the secret: the pool wipes it */

        ngx_http_totp_pages_done(r,
            ngx_http_totp_pages_failed(r, ctx, "failed code at enrollment",
                ngx_http_totp_view_show_enroll,
                "That code is not right. Check that you scanned this "
                "QR code, then enter the code your app shows now."));
        return;
    }

    /* only now, with a code that proves the app has it, is it stored */

    ngx_memzero(&ctx->rec, sizeof(ngx_http_totp_record_t));

    ctx->rec.algorithm = ctx->algorithm;
    ctx->rec.digits = ctx->digits;
    ctx->rec.period = ctx->period;
    ctx->rec.last = ctx->step;

    if (totp_random(ctx->rec.epoch, TOTP_EPOCH_LEN) != 0
        || ngx_http_totp_secret_seal(r, ctx, "secret", &ctx->rec.secret)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    if (ngx_http_totp_secret_make_codes(r, ctx) != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (ngx_http_totp_store_enroll_confirm(r, &ctx->user, &ctx->pending,
                                      &ctx->rec, ctx->code_hashes,
                                      &ctx->result,
                                      ngx_http_totp_signin_enroll_confirmed)
        != NGX_OK)
    {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    return;

done:

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    ngx_http_totp_pages_done(r, rc);
}


static void
ngx_http_totp_signin_enroll_confirmed(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t   *ctx;
    ngx_http_totp_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result != 1) {
        /* enrolled from another browser meanwhile */
        rc = ngx_http_totp_pages_go(r, ctx, "verify");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "enrolled");
        ngx_http_totp_pages_succeeded(r, ctx, "pass");
        ngx_http_totp_cache_store(mcf->shm_zone, &ctx->user, 1,
                                  ctx->rec.epoch, ngx_current_msec);
        rc = ngx_http_totp_signin_show_codes(r, ctx);
    }

    ngx_http_totp_pages_done(r, rc);
}


/* reset: a signed-in user moves to a new device, proving the old one */

ngx_int_t
ngx_http_totp_signin_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->show = ngx_http_totp_view_show_reset;

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_show_current);
}


ngx_int_t
ngx_http_totp_signin_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_reset_checked);
}


static void
ngx_http_totp_signin_reset_checked(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (!ngx_http_totp_signin_current(ctx)) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "login"));
        return;
    }

    /*
     * A session a recovery code made has no device to prove: the reset
     * is its way to a new one.  The replay rule has no step to check.
     */

    if (ctx->session.flags & NGX_HTTP_TOTP_SESSION_RECOVERED) {
        ctx->step = NGX_HTTP_TOTP_NO_STEP;
        goto accept;
    }

    rc = ngx_http_totp_secret_check(r, ctx);

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            rc = ngx_http_totp_pages_done_error(r, ctx);

        } else {
            rc = ngx_http_totp_pages_failed(r, ctx, "failed code at reset",
                     ngx_http_totp_view_show_reset,
                     "That code is not right. Enter the code your current "
                     "app shows now.");
        }

        ngx_http_totp_pages_done(r, rc);
        return;
    }

accept:

    if (ngx_http_totp_store_accept(r, &ctx->user, ctx->rec.epoch, ctx->step,
                                   1, NULL, &ctx->result,
                                   ngx_http_totp_signin_reset_accepted)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
    }
}


static void
ngx_http_totp_signin_reset_accepted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t   *ctx;
    ngx_http_totp_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result == 0) {
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_pages_failed(r, ctx,
                 "failed code at reset (already used)",
                 ngx_http_totp_view_show_reset,
                 "That code was already used. Wait for the next code "
                 "and enter it.");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "reset");
        ngx_http_totp_pages_succeeded(r, ctx, "pass");

        /* this machine's sessions end now, others' within revalidate */

        ngx_http_totp_cache_store(mcf->shm_zone, &ctx->user, 0, NULL,
                                  ngx_current_msec);

        if (ngx_http_totp_cookie_clear(r, ctx->base.conf, TOTP_TOKEN_SESSION)
            != NGX_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            rc = ngx_http_totp_pages_go(r, ctx, "enroll");
        }
    }

    ngx_http_totp_pages_done(r, rc);
}


/* logout ends the session; the trust cookie stays, as promised */

ngx_int_t
ngx_http_totp_signin_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_view_message(r, ctx, NGX_HTTP_OK,
                   "You are signed out",
                   "Your session in this browser has ended.");
    }

    if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK
        || ngx_http_totp_view_form_vars(r, ctx, "logout") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_LOGOUT,
                                   NGX_HTTP_OK);
}


ngx_int_t
ngx_http_totp_signin_logout_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) == NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: user \"%V\" signed out", &ctx->user);
    }

    ngx_str_null(&ctx->user);

    if (ngx_http_totp_cookie_clear(r, ctx->base.conf, TOTP_TOKEN_SESSION)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_message(r, ctx, NGX_HTTP_OK,
                                      "You are signed out",
                   "Your session in this browser has ended.");
}


ngx_int_t
ngx_http_totp_signin_css(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_http_totp_templates_t  *t;

    t = ctx->base.conf->templates;

    if (ngx_http_totp_view_header(r, "Cache-Control", "max-age=3600")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, NGX_HTTP_OK, "text/css", &t->css);
}


/* reads the user's record from Redis; done goes on from there */

static ngx_int_t
ngx_http_totp_signin_fetch(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_store_pt done)
{
    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec, done)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


/* a signed-in page (ctx->show) once the session is found current */

static void
ngx_http_totp_signin_show_current(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (!ngx_http_totp_signin_current(ctx)) {
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else {
        rc = ctx->show(r, ctx, NGX_HTTP_OK, NULL);
    }

    ngx_http_totp_pages_done(r, rc);
}


/*
 * The session belongs to the enrollment Redis holds now: a reset, a new
 * enrollment or an ops DEL since it was made ends it.
 */

static ngx_uint_t
ngx_http_totp_signin_current(ngx_http_totp_page_ctx_t *ctx)
{
    return ctx->rec.enrolled
           && totp_memeq(ctx->rec.epoch, ctx->session.epoch, TOTP_EPOCH_LEN);
}


/* after an enrollment: signed in, and the recovery codes, shown once */

static ngx_int_t
ngx_http_totp_signin_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->codes.len == 0) {
        return ngx_http_totp_pages_finish(r, ctx, 1);
    }

    if (ngx_http_totp_pages_sign_in(r, ctx, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_audit(r, ctx, "was shown new recovery codes");

    return ngx_http_totp_view_show_codes(r, ctx, NGX_HTTP_OK, NULL);
}


/* recovery: a lost device; one recovery code instead of a code */

ngx_int_t
ngx_http_totp_signin_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    return ngx_http_totp_view_show_recovery(r, ctx, NGX_HTTP_OK, NULL);
}


ngx_int_t
ngx_http_totp_signin_recovery_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_recovery_fetched);
}


static void
ngx_http_totp_signin_recovery_fetched(ngx_http_request_t *r, ngx_int_t rc)
{
    u_char                      code[NGX_HTTP_TOTP_CODE_LEN];
    ngx_str_t                   plain, hashes[2];
    ngx_uint_t                  i;
    ngx_http_totp_page_ctx_t   *ctx;
    ngx_http_totp_main_conf_t  *mcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);
    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (!ctx->rec.enrolled) {
        rc = ngx_http_totp_pages_go(r, ctx, "enroll");
        goto done;
    }

    if (ctx->form.code.data == NULL
        || ngx_http_totp_secret_code_normalize(&ctx->form.code, code)
           != NGX_OK)
    {
        rc = ngx_http_totp_signin_recovery_failed(r, ctx);
        goto done;
    }

    plain.data = code;
    plain.len = NGX_HTTP_TOTP_CODE_LEN;

    /* a code made before a key rotation is hashed under the old key */

    for (i = 0; i < mcf->nkeys; i++) {
        if (ngx_http_totp_secret_code_hash(r, ctx, i, &plain, &hashes[i])
            != NGX_OK)
        {
            totp_wipe(code, sizeof(code));
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }
    }

    totp_wipe(code, sizeof(code));

    if (ngx_http_totp_store_recovery_use(r, &ctx->user, hashes, mcf->nkeys,
                                         &ctx->result,
                                         ngx_http_totp_signin_recovery_used)
        != NGX_OK)
    {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    return;

done:

    ngx_http_totp_pages_done(r, rc);
}


static void
ngx_http_totp_signin_recovery_used(ngx_http_request_t *r, ngx_int_t rc)
{
    u_char                    *p;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result == -2) {
        rc = ngx_http_totp_pages_go(r, ctx, "enroll");

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
            ngx_http_totp_pages_audit(r, ctx, (char *) p);
            ngx_http_totp_pages_succeeded(r, ctx, "pass");

            /* the session may set up a new device without the lost one */

            ctx->recovered = 1;

            rc = (ngx_http_totp_pages_sign_in(r, ctx, 0) != NGX_OK)
                 ? NGX_HTTP_INTERNAL_SERVER_ERROR
                 : ngx_http_totp_view_show_recovered(r, ctx);
        }
    }

    ngx_http_totp_pages_done(r, rc);
}


static ngx_int_t
ngx_http_totp_signin_recovery_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_pages_failed(r, ctx, "failed recovery code",
               ngx_http_totp_view_show_recovery,
               "That recovery code is not right, or it was used before.");
}


/* codes: a signed-in user replaces the recovery codes, proving a code */

ngx_int_t
ngx_http_totp_signin_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    ctx->show = ngx_http_totp_view_show_codes;

    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_show_current);
}


ngx_int_t
ngx_http_totp_signin_codes_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_signin_fetch(r, ctx,
                                      ngx_http_totp_signin_codes_checked);
}


static void
ngx_http_totp_signin_codes_checked(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (!ngx_http_totp_signin_current(ctx)) {
        rc = ngx_http_totp_pages_go(r, ctx, "login");
        goto done;
    }

    rc = ngx_http_totp_secret_check(r, ctx);

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_totp_pages_failed(r, ctx, "failed code for new "
                                        "recovery codes",
                 ngx_http_totp_view_show_codes,
                 "That code is not right. Enter the code your app shows "
                 "now.");
        goto done;
    }

    if (ngx_http_totp_store_accept(r, &ctx->user, ctx->rec.epoch, ctx->step,
                                   0, &ctx->resealed, &ctx->result,
                                   ngx_http_totp_signin_codes_accepted)
        != NGX_OK)
    {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    return;

done:

    ngx_http_totp_pages_done(r, rc);
}


static void
ngx_http_totp_signin_codes_accepted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result == 0) {
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        rc = ngx_http_totp_pages_failed(r, ctx,
                 "failed code for new recovery codes (already used)",
                 ngx_http_totp_view_show_codes,
                 "That code was already used. Wait for the next code "
                 "and enter it.");

    } else if (ngx_http_totp_secret_make_codes(r, ctx) != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ngx_http_totp_store_codes_replace(r, &ctx->user,
                   ctx->rec.epoch, ctx->code_hashes, &ctx->result,
                   ngx_http_totp_signin_codes_replaced)
               != NGX_OK)
    {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else {
        return;
    }

    ngx_http_totp_pages_done(r, rc);
}


static void
ngx_http_totp_signin_codes_replaced(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result != 1) {
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "made new recovery codes");
        ngx_http_totp_pages_succeeded(r, ctx, "pass");
        ctx->codes_replaced = 1;
        rc = ngx_http_totp_view_show_codes(r, ctx, NGX_HTTP_OK, NULL);
    }

    ngx_http_totp_pages_done(r, rc);
}
