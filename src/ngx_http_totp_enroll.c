
/*
 * Enrollment, and the change of device that is an enrollment too.  A
 * pending secret belongs to the browser that began it (its pre-session's
 * id) for an hour: no other browser sees or confirms it, and a newer one
 * ends it.  Only a code from the app, proving that it holds the secret,
 * stores it, atomically: a change replaces the old secret only then, and
 * only if the enrollment is still the one the change began from.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_codes.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_enroll.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_qr.h"
#include "ngx_http_totp_recovery.h"


/* how long a pending secret, and the pre-session that owns it, last */
#define NGX_HTTP_TOTP_ENROLL_TTL  NGX_HTTP_TOTP_PRE_ENROLL_TTL


static ngx_int_t ngx_http_totp_enroll_who(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *page);
static ngx_int_t ngx_http_totp_enroll_fresh(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *page);
static void ngx_http_totp_enroll_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_enroll_look(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *candidate,
    ngx_http_totp_store_pt done);
static ngx_int_t ngx_http_totp_enroll_begin(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_enroll_begun(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_enroll_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_enroll_confirmed(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_enroll_refused(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_changed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);


ngx_int_t
ngx_http_totp_enroll(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  page;

    if (ngx_http_totp_enroll_who(r, ctx, &page) != NGX_OK) {
        return page;
    }

    if (ctx->changing) {
        return ngx_http_totp_flow_fetch(r, ctx, ngx_http_totp_enroll_fetched);
    }

    /* a HEAD shows nothing, so it ends no other browser's secret */

    if (r->method == NGX_HTTP_HEAD) {
        return ngx_http_totp_enroll_look(r, ctx, NULL,
                                         ngx_http_totp_enroll_begun);
    }

    return ngx_http_totp_enroll_begin(r, ctx);
}


ngx_int_t
ngx_http_totp_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  page;

    if (ngx_http_totp_enroll_who(r, ctx, &page) != NGX_OK) {
        return page;
    }

    if (ctx->changing) {
        return ngx_http_totp_flow_fetch(r, ctx, ngx_http_totp_enroll_fetched);
    }

    return ngx_http_totp_enroll_look(r, ctx, NULL,
                                     ngx_http_totp_enroll_checked);
}


/* the old device proved (or a recovery code signed in): a new one now */

ngx_int_t
ngx_http_totp_enroll_change(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->changing = 1;
    ctx->who.owner = ctx->pre.nonce;
    ctx->who.base = ctx->rec.epoch;
    ctx->who.invite = NULL;

    return ngx_http_totp_enroll_begin(r, ctx);
}


/*
 * Whose pending secret the request is about: a browser that passed the
 * first factor enrolls (with totp_enroll invite, only through an
 * invitation); a signed-in one changes its device.  NGX_OK, or
 * NGX_DECLINED and what the page sent instead in *page.
 */

static ngx_int_t
ngx_http_totp_enroll_who(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_int_t *page)
{
    ngx_http_totp_pending_t  *who;

    who = &ctx->who;
    who->invite = NULL;

    if (ngx_http_totp_flow_first_factor(r, ctx) == NGX_OK) {
        who->owner = ctx->pre.nonce;
        who->base = NULL;

        if (ngx_http_totp_enroll_fresh(r, ctx, page) != NGX_OK) {
            return NGX_DECLINED;
        }

        switch (ctx->conf->enroll) {

        case NGX_HTTP_TOTP_ENROLL_ON:
            return NGX_OK;

        case NGX_HTTP_TOTP_ENROLL_INVITE:

            if (ctx->pre.flags & NGX_HTTP_TOTP_PRE_INVITED) {
                who->invite = ctx->pre.epoch;
                return NGX_OK;
            }

            ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_NOT_INVITED,
                                     "may not enroll without an invitation");
            *page = ngx_http_totp_flow_message(r, ctx, NGX_HTTP_FORBIDDEN,
                        NGX_HTTP_TOTP_MSG_INVITE_NEEDED_HEADING,
                        NGX_HTTP_TOTP_MSG_INVITE_NEEDED);
            return NGX_DECLINED;

        default: /* NGX_HTTP_TOTP_ENROLL_OFF */

            ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_ENROLL_OFF,
                                     "may not enroll: totp_enroll is off");
            *page = ngx_http_totp_flow_message(r, ctx, NGX_HTTP_FORBIDDEN,
                        NGX_HTTP_TOTP_MSG_ENROLL_CLOSED_HEADING,
                        NGX_HTTP_TOTP_MSG_ENROLL_CLOSED);
            return NGX_DECLINED;
        }
    }

    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        *page = ngx_http_totp_flow_go(r, ctx, "login");
        return NGX_DECLINED;
    }

    if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK) {
        *page = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    ctx->changing = 1;
    who->owner = ctx->pre.nonce;
    who->base = ctx->rec.epoch;       /* once fetched */

    return NGX_OK;
}


/*
 * The password was the only factor: one typed before the password file
 * changed may be one the file no longer holds.  NGX_OK, or NGX_DECLINED
 * and what the page sent instead in *page.
 */

static ngx_int_t
ngx_http_totp_enroll_fresh(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *page)
{
    ngx_int_t  rc;

    if (ctx->conf->user) {
        return NGX_OK;
    }

    rc = ngx_http_totp_password_unchanged(r, ctx->conf->password_file,
                                          ctx->pre.issued);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        *page = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    /* past the password no more; the same browser and invitation */

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "totp: user \"%V\" must type the password again: the "
                  "password file changed",
                  ngx_http_totp_log_escape(r->pool, &ctx->user));

    if (ngx_http_totp_issue_pre(r, ctx->conf, &ctx->user,
                                ctx->pre.flags & NGX_HTTP_TOTP_PRE_INVITED,
                                ctx->pre.nonce, ctx->pre.epoch, &ctx->pre)
        != NGX_OK)
    {
        *page = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_DECLINED;
    }

    *page = ngx_http_totp_flow_go(r, ctx, "login");

    return NGX_DECLINED;
}


/* a change: the session must still be live before its secret is shown */

static void
ngx_http_totp_enroll_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc == NGX_OK) {
        rc = ngx_http_totp_flow_current(r, ctx);
    }

    if (rc == NGX_OK) {

        /* NGX_DONE: the look waits for Redis, and holds the request */

        rc = ngx_http_totp_enroll_look(r, ctx, NULL,
                                       r->method == NGX_HTTP_POST
                                       ? ngx_http_totp_enroll_checked
                                       : ngx_http_totp_enroll_begun);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_totp_flow_go(r, ctx, "login");

    } else {
        rc = ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
}


/*
 * This browser's pending secret; with a candidate, stored unless this
 * browser has one already, without, only looked for
 */

static ngx_int_t
ngx_http_totp_enroll_look(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *candidate,
    ngx_http_totp_store_pt done)
{
    if (ngx_http_totp_store_enroll_begin(r, &ctx->conf->keyspace, &ctx->user,
                                         &ctx->who, candidate,
                                         NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending, &ctx->result, done,
                                         ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


/*
 * A candidate secret is made at each visit; Redis keeps the browser's
 * first one until it expires, so that a reload shows the same QR code.
 */

static ngx_int_t
ngx_http_totp_enroll_begin(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  candidate;

    rc = NGX_OK;

    if (ngx_http_totp_secret_make(ctx->conf, &ctx->secret) != NGX_OK
        || ngx_http_totp_secret_pending(r, ctx->conf->main, &ctx->user,
                                        &ctx->secret, &candidate)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_totp_enroll_look(r, ctx, &candidate,
                                     ngx_http_totp_enroll_begun);
}


static void
ngx_http_totp_enroll_begun(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result != NGX_HTTP_TOTP_PENDING_OURS) {
        rc = ngx_http_totp_enroll_refused(r, ctx);

    } else if (ngx_http_totp_secret_pending_parse(r, ctx->conf->main,
                                                  &ctx->user, &ctx->pending,
                                                  &ctx->secret)
               != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp page: showing the pending %s of \"%V\"",
                       ctx->changing ? "change" : "enrollment",
                       ngx_http_totp_log_escape(r->pool, &ctx->user));

        /*
         * The browser's id lasts as long as the secret it owns: an hour
         * from the password, not from each visit
         */

        if (ngx_http_totp_cookie_keep_pre(r, ctx->conf, &ctx->pre,
                                          ctx->pre.issued
                                          + NGX_HTTP_TOTP_ENROLL_TTL)
            != NGX_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ENROLL);
            rc = ngx_http_totp_enroll_show(r, ctx, NGX_HTTP_OK,
                                           NGX_HTTP_TOTP_MSG_NONE);
        }
    }

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    ngx_http_totp_flow_done(r, rc);
}


static void
ngx_http_totp_enroll_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    if (ctx->result != NGX_HTTP_TOTP_PENDING_OURS) {
        rc = ngx_http_totp_enroll_refused(r, ctx);
        goto done;
    }

    if (ngx_http_totp_secret_pending_parse(r, ctx->conf->main, &ctx->user,
                                           &ctx->pending, &ctx->secret)
        != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    rc = ngx_http_totp_secret_code(r, &ctx->secret, ctx->conf->skew,
                                   &ctx->form.code, &ctx->step,
                                   &ctx->behind);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: %s code of \"%V\": %s",
                   ctx->changing ? "new device's" : "enrollment",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   rc == NGX_OK ? "right" : rc == NGX_DECLINED ? "wrong"
                                                               : "error");

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    if (rc == NGX_HTTP_TOTP_CODE_MALFORMED) {
        rc = ngx_http_totp_lockout_malformed(r, ctx, ngx_http_totp_enroll_show,
                                             NGX_HTTP_TOTP_MSG_MALFORMED_CODE);
        goto done;
    }

    if (rc == NGX_DECLINED) {

        /* the page shown again needs the secret: the pool wipes it */

        ngx_http_totp_flow_done(r,
            ngx_http_totp_lockout_failed(r, ctx,
                NGX_HTTP_TOTP_AUDIT_WRONG_CODE,
                ctx->changing ? "failed code of a new device"
                              : "failed code at enrollment",
                ngx_http_totp_enroll_show,
                NGX_HTTP_TOTP_MSG_WRONG_ENROLL_CODE));
        return;
    }

    /* who->base points into ctx->rec, about to become the new one */

    if (ctx->who.base) {
        ngx_memcpy(ctx->base, ctx->who.base, TOTP_EPOCH_LEN);
        ctx->who.base = ctx->base;
    }

    ngx_memzero(&ctx->rec, sizeof(ngx_http_totp_record_t));

    ctx->rec.algorithm = ctx->secret.algorithm;
    ctx->rec.digits = ctx->secret.digits;
    ctx->rec.period = ctx->secret.period;
    ctx->rec.last = ctx->step;

    if (totp_random(ctx->rec.epoch, TOTP_EPOCH_LEN) != 0
        || ngx_http_totp_secret_seal(r, ctx->conf->main, &ctx->user,
                                     "secret", &ctx->secret,
                                     &ctx->rec.secret)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    /* a change keeps the recovery codes the user has */

    if (!ctx->changing
        && ngx_http_totp_recovery_make(r, ctx->conf->main, &ctx->user,
                                       ctx->conf->recovery_codes, &ctx->codes,
                                       &ctx->code_hashes)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (ngx_http_totp_store_enroll_confirm(r, &ctx->conf->keyspace,
                                           &ctx->user, &ctx->who,
                                           &ctx->pending, &ctx->rec,
                                           ctx->code_hashes, &ctx->result,
                                           ngx_http_totp_enroll_confirmed, ctx)
        != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    return;

done:

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    ngx_http_totp_flow_done(r, rc);
}


static void
ngx_http_totp_enroll_confirmed(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result != 1) {
        rc = ngx_http_totp_enroll_refused(r, ctx);

    } else if (ctx->changing) {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_DEVICE_CHANGED,
                                 "changed device");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        rc = ngx_http_totp_flow_sign_in(r, ctx, 1,
                                        ngx_http_totp_enroll_changed);

    } else {
        if (ctx->who.invite) {
            ngx_http_totp_flow_audit(r, ctx,
                                     NGX_HTTP_TOTP_AUDIT_ENROLLED_INVITED,
                                     "enrolled by invitation");

        } else {
            ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_ENROLLED,
                                     "enrolled");
        }

        ngx_http_totp_flow_give_back(r, ctx, "pass");
        rc = ngx_http_totp_enroll_signed_in(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
}


/* no pending secret of this browser's to show or confirm: why */

static ngx_int_t
ngx_http_totp_enroll_refused(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: no pending secret of \"%V\": %i",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   ctx->result);

    /* no code was checked: a POST's attempt is not the user's failure */

    ngx_http_totp_flow_give_back(r, ctx, "back");

    switch (ctx->result) {

    case NGX_HTTP_TOTP_PENDING_MOVED:

        /* enrolled meanwhile; or the enrollment a change began from is gone */

        return ngx_http_totp_flow_go(r, ctx,
                                     ctx->changing ? "login" : "verify");

    case NGX_HTTP_TOTP_PENDING_UNINVITED:
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_INVITATION_GONE,
                                 "used an invitation no longer open");
        return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_FORBIDDEN,
                                          NGX_HTTP_TOTP_MSG_INVITE_GONE_HEADING,
                                          NGX_HTTP_TOTP_MSG_INVITE_GONE);

    default:
        break;
    }

    /* a signed-in user who opens the page with no change of theirs: start */

    if (ctx->changing && r->method != NGX_HTTP_POST) {
        return ngx_http_totp_flow_go(r, ctx, "reset");
    }

    /* a HEAD only looked: a GET would have made a secret and shown it */

    if (ctx->result == NGX_HTTP_TOTP_PENDING_ELSEWHERE
        && r->method != NGX_HTTP_HEAD)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "totp: user \"%V\" confirmed %s that another "
                      "browser had replaced since",
                      ngx_http_totp_log_escape(r->pool, &ctx->user),
                      ctx->changing ? "a device change" : "an enrollment");
        return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_CONFLICT,
                   NGX_HTTP_TOTP_MSG_ENROLL_ELSEWHERE_HEADING,
                   NGX_HTTP_TOTP_MSG_ENROLL_ELSEWHERE);
    }

    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
                                      NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED_HEADING,
                                      NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED);
}


/* after an enrollment: signed in, and the recovery codes, shown once */

static ngx_int_t
ngx_http_totp_enroll_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->codes.len == 0) {
        return ngx_http_totp_flow_finish(r, ctx, 1);
    }

    return ngx_http_totp_flow_sign_in(r, ctx, 1,
                                      ngx_http_totp_enroll_show_codes);
}


static ngx_int_t
ngx_http_totp_enroll_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_CODES_SHOWN,
                             "was shown new recovery codes");

    return ngx_http_totp_codes_keep(r, ctx, ctx->begin.session.nonce);
}


/* after a change: the old device's entry in the app is now useless */

static ngx_int_t
ngx_http_totp_enroll_changed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
                                      NGX_HTTP_TOTP_MSG_CHANGED_HEADING,
                                      NGX_HTTP_TOTP_MSG_CHANGED);
}


static ngx_int_t
ngx_http_totp_enroll_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    u_char                *p, b32[128];
    ngx_str_t              secret, grouped, uri, svg, issuer, until;
    ngx_int_t              rc;
    ngx_uint_t             i;
    const char            *alg;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    /* the secret leaves memory for the page only; wiped below */

    secret.data = b32;
    secret.len = totp_base32_encode(b32, ctx->secret.key, ctx->secret.len);

    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    p = ngx_pnalloc(r->pool, 3 * NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_flow_form(r, ctx, "enroll",
                                   ctx->changing
                                   ? NGX_HTTP_TOTP_MSG_TITLE_CHANGE
                                   : NGX_HTTP_TOTP_MSG_TITLE_ENROLL,
                                   error)
           != NGX_OK
        || ngx_http_totp_view_trust_for(r, v) != NGX_OK
        || ngx_http_totp_view_issuer(r, ctx->conf, &issuer) != NGX_OK
        || ngx_http_totp_group_secret(r->pool, &secret, &grouped) != NGX_OK
        || ngx_http_totp_otpauth_uri(r->pool, &issuer, &ctx->user, &secret,
                                     ctx->secret.algorithm,
                                     ctx->secret.digits, ctx->secret.period,
                                     &uri)
           != NGX_OK
        || ngx_http_totp_qr_svg(r->pool, &uri, &svg) != NGX_OK
        || ngx_http_totp_view_time(r, ctx->pre.issued
                                      + NGX_HTTP_TOTP_ENROLL_TTL,
                                   &until)
           != NGX_OK)
    {
        goto done;
    }

    alg = totp_alg_name(ctx->secret.algorithm);

    ngx_http_totp_view_var(v, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->secret.digits) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_view_var(v, "period", p,
                           ngx_sprintf(p, "%T", ctx->secret.period) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_view_var(v, "algorithm", p, ngx_strlen(alg));

    for (i = 0; alg[i]; i++) {
        p[i] = ngx_toupper(alg[i]);
    }

    /*
     * The secret waits for its first code as long as the pre-session
     * that owns it lasts: an hour from the password.
     */

    ngx_http_totp_view_var(v, "until", until.data, until.len);

    ngx_http_totp_view_var(v, "secret", grouped.data, grouped.len);
    ngx_http_totp_view_var(v, "uri", uri.data, uri.len);
    ngx_http_totp_view_var(v, "qr", svg.data, svg.len);

    if (ctx->changing) {
        ngx_http_totp_view_var(v, "change", (u_char *) "1", 1);
    }

    rc = ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_ENROLL, status);

done:

    totp_wipe(b32, sizeof(b32));
    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    return rc;
}
