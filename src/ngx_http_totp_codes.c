
/*
 * The recovery codes page of a signed-in user.  A set just made (here, or
 * at enrollment) is kept sealed for this session a few minutes: a reload
 * shows it again, codes.txt downloads it, and "I saved them" (saved=1)
 * lets it go.  Otherwise the page says how many codes are left and makes
 * a new set for a current code from the app.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_codes.h"
#include "ngx_http_totp_csrf.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_recovery.h"
#include "ngx_http_totp_shown.h"


static void ngx_http_totp_codes_kept(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_totp_codes_forget(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_totp_codes_gone(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_codes_open(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t rc, ngx_http_totp_shown_t *set);
static void ngx_http_totp_codes_summed(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_codes_send_file(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_codes_wipe_later(ngx_http_request_t *r,
    ngx_str_t *body);
static void ngx_http_totp_codes_wipe(void *data);
static void ngx_http_totp_codes_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_totp_codes_accepted(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static void ngx_http_totp_codes_replaced(ngx_http_request_t *r, void *data,
    ngx_int_t rc);


ngx_int_t
ngx_http_totp_codes(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    return ngx_http_totp_flow_summary(r, ctx, ngx_http_totp_codes_summed);
}


ngx_int_t
ngx_http_totp_codes_file(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ctx->download = 1;

    return ngx_http_totp_codes(r, ctx);
}


/* "I saved them": the kept set goes, and the user goes on */

ngx_int_t
ngx_http_totp_codes_saved(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    if (ctx->form.saved.len != 1 || ctx->form.saved.data[0] != '1') {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent an invalid \"saved\" field");
        return NGX_HTTP_BAD_REQUEST;
    }

    /* only a current session's own set: not a newer one of another */

    return ngx_http_totp_flow_summary(r, ctx, ngx_http_totp_codes_forget);
}


static void
ngx_http_totp_codes_forget(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_totp_shown_t      set;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    rc = ngx_http_totp_codes_open(r, ctx, rc, &set);

    if (rc == NGX_ERROR) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_back(r, ctx));
        return;
    }

    if (ngx_http_totp_store_shown(r, &ctx->conf->keyspace, &ctx->user, NULL,
                                  0, &ctx->shown, &ctx->result,
                                  ngx_http_totp_codes_gone, ctx)
        != NGX_OK)
    {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
    }
}


/*
 * Codes just made, in ctx->codes: kept sealed for this session (nonce),
 * and the answer to the POST that made them is a redirect to the codes
 * page, so that a reload there is a GET that shows them again, never the
 * form posted twice.  Should Redis not keep them, they are shown at once
 * all the same: they are valid already, and this once is what the user
 * would otherwise lose.
 */

ngx_int_t
ngx_http_totp_codes_keep(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    u_char *nonce)
{
    ngx_str_t              sealed;
    ngx_http_totp_shown_t  set;

    ctx->shown_at = ngx_time();

    set.codes = ctx->codes;
    set.when = ctx->shown_at;
    set.replaced = ctx->codes_replaced;

    if (ngx_http_totp_shown_seal(r, ctx->conf->main, &ctx->user, nonce,
                                 &set, &sealed)
        != NGX_OK
        || ngx_http_totp_store_shown(r, &ctx->conf->keyspace, &ctx->user,
                                     &sealed, NGX_HTTP_TOTP_SHOWN_TTL, NULL,
                                     &ctx->result, ngx_http_totp_codes_kept,
                                     ctx)
           != NGX_OK)
    {
        return ngx_http_totp_codes_show(r, ctx, NGX_HTTP_OK,
                                        NGX_HTTP_TOTP_MSG_NONE);
    }

    ngx_http_totp_flow_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_codes_kept(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_str_t                  url;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK || ctx->result != 1) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "totp: the recovery codes of \"%V\" are shown once "
                      "only: Redis did not keep them",
                      ngx_http_totp_log_escape(r->pool, &ctx->user));

        ngx_http_totp_flow_done(r, ngx_http_totp_codes_show(r, ctx,
                                       NGX_HTTP_OK, NGX_HTTP_TOTP_MSG_NONE));
        return;
    }

    if (ngx_http_totp_view_url(r, &ctx->view, "codes", &url) != NGX_OK
        || ngx_http_totp_view_headers(r) != NGX_OK)
    {
        ngx_http_totp_flow_done(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_totp_flow_done(r, ngx_http_totp_view_redirect(r, &url));
}


static void
ngx_http_totp_codes_gone(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: \"%V\" saved the recovery codes",
                   ngx_http_totp_log_escape(r->pool, &ctx->user));

    ngx_http_totp_flow_done(r, ngx_http_totp_flow_back(r, ctx));
}


/*
 * The summary answered rc: the set this session may open (NGX_OK), none
 * (NGX_DECLINED), or NGX_ERROR.
 */

static ngx_int_t
ngx_http_totp_codes_open(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t rc, ngx_http_totp_shown_t *set)
{
    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_totp_shown_open(r, ctx->conf->main, &ctx->user,
                                    ctx->session.nonce, &ctx->shown, set);
}


/* a signed-in GET: the kept set, if this session has one, or the form */

static void
ngx_http_totp_codes_summed(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_totp_shown_t      set;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    rc = ngx_http_totp_codes_open(r, ctx, rc, &set);

    if (rc == NGX_ERROR) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    /*
     * Kept codes are shown to the page the user opens, never to a script
     * of the same site that asks for them with fetch().
     */

    if (rc == NGX_OK && ngx_http_totp_csrf_navigation(r) != NGX_OK) {
        ngx_explicit_memzero(set.codes.data, set.codes.len);
        rc = NGX_DECLINED;
    }

    ctx->kept = (rc == NGX_OK);

    if (ctx->kept) {
        ctx->codes = set.codes;
        ctx->shown_at = set.when;
        ctx->codes_replaced = set.replaced;
    }

    if (!ctx->download) {
        ngx_http_totp_flow_done(r, ngx_http_totp_codes_show(r, ctx,
                                       NGX_HTTP_OK, NGX_HTTP_TOTP_MSG_NONE));
        return;
    }

    /* no set to download (saved, or past its minutes): the page says so */

    if (ctx->kept) {
        ngx_http_totp_flow_done(r, ngx_http_totp_codes_send_file(r, ctx));
        return;
    }

    ngx_http_totp_flow_done(r, ngx_http_totp_flow_go(r, ctx, "codes"));
}


/*
 * codes.txt: a heading that says whose codes they are, where and when,
 * then one code a line, then what they are for.
 */

static ngx_int_t
ngx_http_totp_codes_send_file(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char                *p;
    ngx_str_t              issuer, date, head, foot, body;
    ngx_http_totp_view_t  *v;
    totp_render_var_t      vars[3];

    v = &ctx->view;

    if (ngx_http_totp_view_issuer(r, ctx->conf, &issuer) != NGX_OK
        || ngx_http_totp_view_date(r, ctx->shown_at, &date) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    vars[0].name = "user";
    vars[0].name_len = sizeof("user") - 1;
    vars[0].value = ctx->user.data;
    vars[0].value_len = ctx->user.len;
    vars[1].name = "issuer";
    vars[1].name_len = sizeof("issuer") - 1;
    vars[1].value = issuer.data;
    vars[1].value_len = issuer.len;
    vars[2].name = "date";
    vars[2].name_len = sizeof("date") - 1;
    vars[2].value = date.data;
    vars[2].value_len = date.len;

    if (ngx_http_totp_catalog_text(r->pool, ngx_http_totp_view_catalog(v),
                                   NGX_HTTP_TOTP_MSG_CODES_FILE, vars, 3,
                                   &head)
        != NGX_OK
        || ngx_http_totp_view_text(r, v, NGX_HTTP_TOTP_MSG_CODES_FILE_END,
                                   &foot)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = head.len + 2 + ctx->codes.len + 2 + foot.len + 1;
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, head.data, head.len);
    *p++ = LF; *p++ = LF;
    p = ngx_cpymem(p, ctx->codes.data, ctx->codes.len);
    *p++ = LF; *p++ = LF;
    p = ngx_cpymem(p, foot.data, foot.len);
    *p++ = LF;

    /* the file is the codes themselves: wiped as the page is */

    if (ngx_http_totp_codes_wipe_later(r, &body) != NGX_OK
        || ngx_http_totp_view_headers(r) != NGX_OK
        || ngx_http_totp_view_header(r, "Content-Disposition",
                                     "attachment; filename=\"codes.txt\"")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, NGX_HTTP_OK,
                                     "text/plain; charset=utf-8", &body);
}


static ngx_int_t
ngx_http_totp_codes_wipe_later(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_str_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    *(ngx_str_t *) cln->data = *body;
    cln->handler = ngx_http_totp_codes_wipe;

    return NGX_OK;
}


static void
ngx_http_totp_codes_wipe(void *data)
{
    ngx_str_t  *body = data;

    totp_wipe(body->data, body->len);
}


ngx_int_t
ngx_http_totp_codes_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    return ngx_http_totp_flow_fetch(r, ctx,
                                    ngx_http_totp_codes_checked);
}


static void
ngx_http_totp_codes_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (ngx_http_totp_flow_still_current(r, ctx, &rc) != NGX_OK) {
        goto done;
    }

    rc = ngx_http_totp_secret_check(r, ctx->conf, &ctx->user, &ctx->rec,
                                    &ctx->form.code, &ctx->step,
                                    &ctx->resealed, &ctx->behind);

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_flow_error(r, ctx);
        goto done;
    }

    if (rc == NGX_HTTP_TOTP_CODE_MALFORMED) {
        rc = ngx_http_totp_lockout_malformed(r, ctx,
                 ngx_http_totp_codes_show,
                 NGX_HTTP_TOTP_MSG_MALFORMED_CODE);
        goto done;
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_totp_lockout_failed(r, ctx,
                 NGX_HTTP_TOTP_AUDIT_WRONG_CODE,
                 "failed code for new recovery codes",
                 ngx_http_totp_codes_show,
                 NGX_HTTP_TOTP_MSG_WRONG_CODE);
        goto done;
    }

    if (ngx_http_totp_store_accept(r, &ctx->conf->keyspace, &ctx->user,
                                   ctx->rec.epoch, ctx->step,
                                   &ctx->resealed, &ctx->result,
                                   ngx_http_totp_codes_accepted, ctx)
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
ngx_http_totp_codes_accepted(ngx_http_request_t *r, void *data,
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
                 "failed code for new recovery codes (already used)",
                 ngx_http_totp_codes_show,
                 NGX_HTTP_TOTP_MSG_USED_CODE);

    } else if (ngx_http_totp_recovery_make(r, ctx->conf->main, &ctx->user,
                                           ctx->conf->recovery_codes,
                                           &ctx->codes, &ctx->code_hashes)
               != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ngx_http_totp_store_codes_replace(r, &ctx->conf->keyspace,
                   &ctx->user, ctx->rec.epoch, ctx->code_hashes,
                   &ctx->result, ngx_http_totp_codes_replaced, ctx)
               != NGX_OK)
    {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else {
        return;
    }

    ngx_http_totp_flow_done(r, rc);
}


static void
ngx_http_totp_codes_replaced(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        rc = ngx_http_totp_flow_error(r, ctx);

    } else if (ctx->result != 1) {
        rc = ngx_http_totp_flow_go(r, ctx, "login");

    } else {
        ngx_http_totp_flow_audit(r, ctx, NGX_HTTP_TOTP_AUDIT_CODES_MADE,
                                 "made new recovery codes");
        ngx_http_totp_flow_give_back(r, ctx, "pass");
        ctx->codes_replaced = 1;
        rc = ngx_http_totp_codes_keep(r, ctx, ctx->session.nonce);
    }

    ngx_http_totp_flow_done(r, rc);
}



/*
 * The page: a set of codes (ctx->codes), with while it is kept the
 * download and "I saved them"; or the form that makes a new set, with
 * the count of those left when it is known.
 */

ngx_int_t
ngx_http_totp_codes_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error)
{
    u_char                *p;
    ngx_str_t              url, until, left;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_flow_form(r, ctx, "codes",
                                   NGX_HTTP_TOTP_MSG_TITLE_CODES, error)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(v, "codes", ctx->codes.data, ctx->codes.len);
    ngx_http_totp_view_var(v, "continue", v->next.data, v->next.len);

    if (ctx->codes_replaced) {
        ngx_http_totp_view_var(v, "replaced", (u_char *) "1", 1);
    }

    if (ctx->codes.len && ctx->kept) {
        if (ngx_http_totp_view_url(r, v, "codes.txt", &url) != NGX_OK
            || ngx_http_totp_view_time(r, ctx->shown_at
                                          + NGX_HTTP_TOTP_SHOWN_TTL,
                                       &until)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_totp_view_var(v, "download", url.data, url.len);
        ngx_http_totp_view_var(v, "until", until.data, until.len);
    }

    /* the count, when this request asked Redis for it */

    if (ctx->codes.len == 0 && ctx->shown.data) {
        if (ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_CODES_YOU_HAVE,
                                     "n", ctx->summary[1], &left)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_totp_view_var(v, "codes_left", left.data, left.len);
    }

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_CODES, status);
}
