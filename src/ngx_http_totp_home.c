
/*
 * The account page.  It shows only what the session may see once it is
 * known to be current (the fetch and the verdict every signed-in page
 * goes through), then asks Redis for the two facts the record does not
 * hold for the gate: when the user enrolled, and how many recovery codes
 * are left.  Its buttons post to the pages that act (logout, forget);
 * its links lead to those that ask for a code first (reset, codes).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_home.h"


static void ngx_http_totp_home_summed(ngx_http_request_t *r, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_home_show(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_home_trust(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_home_date(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, const char *name, time_t t);
static ngx_int_t ngx_http_totp_home_link(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, char *page);


ngx_int_t
ngx_http_totp_home(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_flow_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_flow_go(r, ctx, "login");
    }

    /* the page's forms carry the pre-session's CSRF token */

    if (ngx_http_totp_flow_pre(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_flow_summary(r, ctx, ngx_http_totp_home_summed);
}


static void
ngx_http_totp_home_summed(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = data;

    if (rc != NGX_OK) {
        ngx_http_totp_flow_done(r, ngx_http_totp_flow_error(r, ctx));
        return;
    }

    ngx_http_totp_flow_done(r, ngx_http_totp_home_show(r, ctx));
}


static ngx_int_t
ngx_http_totp_home_show(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_str_t              left;
    ngx_http_totp_view_t  *v;

    v = &ctx->view;

    /* the form's action is the logout; the others are links and values */

    if (ngx_http_totp_flow_form(r, ctx, "logout",
                                NGX_HTTP_TOTP_MSG_TITLE_ACCOUNT,
                                NGX_HTTP_TOTP_MSG_NONE)
           != NGX_OK
        || ngx_http_totp_home_link(r, v, "forget") != NGX_OK
        || ngx_http_totp_home_link(r, v, "reset") != NGX_OK
        || ngx_http_totp_home_link(r, v, "codes") != NGX_OK
        || ngx_http_totp_home_date(r, v, "since", ctx->summary[0]) != NGX_OK
        || ngx_http_totp_home_trust(r, ctx) != NGX_OK
        || ngx_http_totp_view_count(r, v, NGX_HTTP_TOTP_MSG_CODES_LEFT, "n",
                                    ctx->summary[1], &left)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(v, "codes_left", left.data, left.len);

    if (ctx->session.flags & NGX_HTTP_TOTP_SESSION_RECOVERED) {
        ngx_http_totp_view_var(v, "recovered", (u_char *) "1", 1);
    }

    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_SESSION);

    return ngx_http_totp_view_send(r, v, NGX_HTTP_TOTP_PAGE_ACCOUNT,
                                   NGX_HTTP_OK);
}


/* "trusted": until when this browser skips the code, if it does */

static ngx_int_t
ngx_http_totp_home_trust(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    totp_token_t  trust;

    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_TRUST, &trust)
        != NGX_OK
        || trust.user_len != ctx->user.len
        || ngx_memcmp(trust.user, ctx->user.data, ctx->user.len) != 0)
    {
        return NGX_OK;
    }

    return ngx_http_totp_home_date(r, &ctx->view, "trusted",
                                   (time_t) trust.expires);
}


/* a date as a value of the page; none for 0, Redis's "not known" */

static ngx_int_t
ngx_http_totp_home_date(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    const char *name, time_t t)
{
    ngx_str_t  date;

    if (t <= 0) {
        return NGX_OK;
    }

    if (ngx_http_totp_view_date(r, t, &date) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_totp_view_var(v, name, date.data, date.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_home_link(ngx_http_request_t *r, ngx_http_totp_view_t *v,
    char *page)
{
    ngx_str_t  url;

    if (ngx_http_totp_view_url(r, v, page, &url) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_totp_view_var(v, page, url.data, url.len);

    return NGX_OK;
}
