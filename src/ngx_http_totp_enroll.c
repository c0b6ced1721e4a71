
/*
 * Enrollment.  A candidate secret is made at each visit; Redis keeps the
 * first one until it expires, so that a reload shows the same QR code.
 * Only a code from the app, proving that it holds the secret, stores it
 * as the user's enrollment.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_account.h"
#include "ngx_http_totp_enroll.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_qr.h"
#include "ngx_http_totp_recovery.h"


/* how long a shown QR code stays valid for its confirmation */
#define NGX_HTTP_TOTP_ENROLL_TTL  600


static void ngx_http_totp_enroll_begun(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_enroll_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_enroll_confirmed(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_enroll_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_enroll_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);


ngx_int_t
ngx_http_totp_enroll(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;
    ngx_str_t  candidate;

    if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

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

    if (ngx_http_totp_store_enroll_begin(r, &ctx->conf->keyspace, &ctx->user,
                                         &candidate, NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending,
                                         ngx_http_totp_enroll_begun, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_enroll_begun(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->pending.data == NULL) {
        rc = ngx_http_totp_flow_go(r, ctx, "verify");

    } else if (ngx_http_totp_secret_pending_parse(r, ctx->conf->main,
                                                  &ctx->user, &ctx->pending,
                                                  &ctx->secret)
               != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp page: showing the pending enrollment of "
                       "\"%V\"", ngx_http_totp_log_escape(r->pool, &ctx->user));
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ENROLL);
        rc = ngx_http_totp_enroll_show(r, ctx, NGX_HTTP_OK,
                                       NGX_HTTP_TOTP_MSG_NONE);
    }

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    ngx_http_totp_flow_done(r, rc);
}


ngx_int_t
ngx_http_totp_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_enroll_begin(r, &ctx->conf->keyspace, &ctx->user,
                                         NULL, NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending,
                                         ngx_http_totp_enroll_checked, ctx)
        != NGX_OK)
    {
        return ngx_http_totp_flow_error(r, ctx);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
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

    if (ctx->pending.data == NULL) {
        rc = ngx_http_totp_flow_go(r, ctx, "verify");
        goto done;
    }

    if (ctx->pending.len == 0) {
        rc = ngx_http_totp_flow_message(r, ctx, NGX_HTTP_OK,
                 NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED_HEADING,
                 NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED);
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
                                   &ctx->form.code, &ctx->step);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: enrollment code of \"%V\": %s",
                   ngx_http_totp_log_escape(r->pool, &ctx->user),
                   rc == NGX_OK ? "right" : rc == NGX_DECLINED ? "wrong"
                                                               : "error");

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    if (rc == NGX_DECLINED) {

        /* the page shown again needs the secret: the pool wipes it */

        ngx_http_totp_flow_done(r,
            ngx_http_totp_lockout_failed(r, ctx, "failed code at enrollment",
                ngx_http_totp_enroll_show,
                NGX_HTTP_TOTP_MSG_WRONG_ENROLL_CODE));
        return;
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

    if (ngx_http_totp_recovery_make(r, ctx->conf->main, &ctx->user,
                                    ctx->conf->recovery_codes, &ctx->codes,
                                    &ctx->code_hashes)
        != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (ngx_http_totp_store_enroll_confirm(r, &ctx->conf->keyspace,
                                           &ctx->user, &ctx->pending,
                                           &ctx->rec, ctx->code_hashes,
                                           &ctx->result,
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
        /* enrolled from another browser meanwhile */
        rc = ngx_http_totp_flow_go(r, ctx, "verify");

    } else {
        ngx_http_totp_flow_audit(r, ctx, "enrolled");
        ngx_http_totp_lockout_succeeded(r, ctx, "pass");
        rc = ngx_http_totp_enroll_signed_in(r, ctx);
    }

    ngx_http_totp_flow_done(r, rc);
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
    ngx_http_totp_flow_audit(r, ctx, "was shown new recovery codes");

    return ngx_http_totp_account_show_codes(r, ctx, NGX_HTTP_OK,
                                            NGX_HTTP_TOTP_MSG_NONE);
}


static ngx_int_t
ngx_http_totp_enroll_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    u_char                *p, b32[128];
    ngx_str_t              secret, grouped, uri, svg, issuer;
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
                                   NGX_HTTP_TOTP_MSG_TITLE_ENROLL, error)
           != NGX_OK
        || ngx_http_totp_view_trust_for(r, v) != NGX_OK
        || ngx_http_totp_view_issuer(r, ctx->conf, &issuer) != NGX_OK
        || ngx_http_totp_group_secret(r->pool, &secret, &grouped) != NGX_OK
        || ngx_http_totp_otpauth_uri(r->pool, &issuer, &ctx->user, &secret,
                                     ctx->secret.algorithm,
                                     ctx->secret.digits, ctx->secret.period,
                                     &uri)
           != NGX_OK
        || ngx_http_totp_qr_svg(r->pool, &uri, &svg) != NGX_OK)
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

    ngx_http_totp_view_var(v, "secret", grouped.data, grouped.len);
    ngx_http_totp_view_var(v, "uri", uri.data, uri.len);
    ngx_http_totp_view_var(v, "qr", svg.data, svg.len);

    rc = ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_ENROLL, status);

done:

    totp_wipe(b32, sizeof(b32));
    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));

    return rc;
}
