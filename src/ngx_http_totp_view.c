
/*
 * What the pages send: templates filled with their values, the headers
 * the contract asks for, redirects.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_pages.h"
#include "ngx_http_totp_qr.h"
#include "ngx_http_totp_session.h"


static void ngx_http_totp_view_var(ngx_http_totp_page_ctx_t *ctx,
    const char *name, u_char *value, size_t len);
static ngx_int_t ngx_http_totp_view_trust_var(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_view_issuer(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *issuer);


ngx_int_t
ngx_http_totp_view_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    if (ngx_http_totp_view_form_vars(r, ctx, "login") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Sign in",
                           sizeof("Sign in") - 1);

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_LOGIN, status);
}


ngx_int_t
ngx_http_totp_view_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char     *p;
    ngx_str_t   login, recovery;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_view_form_vars(r, ctx, "verify") != NGX_OK
        || ngx_http_totp_view_trust_var(r, ctx) != NGX_OK
        || ngx_http_totp_view_url(r, ctx, "login", &login) != NGX_OK
        || ngx_http_totp_view_url(r, ctx, "recovery", &recovery) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Enter your code",
                           sizeof("Enter your code") - 1);
    ngx_http_totp_view_var(ctx, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(ctx, "login", login.data, login.len);
    ngx_http_totp_view_var(ctx, "recovery", recovery.data, recovery.len);

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_VERIFY,
                                   status);
}


ngx_int_t
ngx_http_totp_view_show_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char                     *p, b32[128];
    ngx_str_t                   secret, grouped, uri, svg, issuer;
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    const char                 *alg;

    /* the secret leaves memory for the page only; wiped below */

    secret.data = b32;
    secret.len = totp_base32_encode(b32, ctx->secret, ctx->secret_len);

    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    p = ngx_pnalloc(r->pool, 3 * NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_view_form_vars(r, ctx, "enroll") != NGX_OK
        || ngx_http_totp_view_trust_var(r, ctx) != NGX_OK
        || ngx_http_totp_view_issuer(r, ctx, &issuer) != NGX_OK
        || ngx_http_totp_group_secret(r->pool, &secret, &grouped) != NGX_OK
        || ngx_http_totp_otpauth_uri(r->pool, &issuer, &ctx->user, &secret,
                                     ctx->algorithm, ctx->digits,
                                     ctx->period, &uri)
           != NGX_OK
        || ngx_http_totp_qr_svg(r->pool, &uri, &svg) != NGX_OK)
    {
        goto done;
    }

    alg = totp_alg_name(ctx->algorithm);

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Set up your "
                           "authenticator app",
                           sizeof("Set up your authenticator app") - 1);
    ngx_http_totp_view_var(ctx, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->digits) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_view_var(ctx, "period", p,
                           ngx_sprintf(p, "%T", ctx->period) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_view_var(ctx, "algorithm", p, ngx_strlen(alg));

    for (i = 0; alg[i]; i++) {
        p[i] = ngx_toupper(alg[i]);
    }
    ngx_http_totp_view_var(ctx, "secret", grouped.data, grouped.len);
    ngx_http_totp_view_var(ctx, "uri", uri.data, uri.len);
    ngx_http_totp_view_var(ctx, "qr", svg.data, svg.len);

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    rc = ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_ENROLL, status);

done:

    totp_wipe(b32, sizeof(b32));
    totp_wipe(ctx->secret, sizeof(ctx->secret));

    return rc;
}


ngx_int_t
ngx_http_totp_view_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_view_form_vars(r, ctx, "reset") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Change your device",
                           sizeof("Change your device") - 1);
    ngx_http_totp_view_var(ctx, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(ctx, "cancel", (u_char *) "/", 1);

    if (ctx->session.flags & NGX_HTTP_TOTP_SESSION_RECOVERED) {
        ngx_http_totp_view_var(ctx, "recovered", (u_char *) "1", 1);
    }

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_RESET, status);
}


/* recovery: one recovery code instead of a code */

ngx_int_t
ngx_http_totp_view_show_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    ngx_str_t  verify;

    if (ngx_http_totp_view_form_vars(r, ctx, "recovery") != NGX_OK
        || ngx_http_totp_view_url(r, ctx, "verify", &verify) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Use a recovery code",
                           sizeof("Use a recovery code") - 1);
    ngx_http_totp_view_var(ctx, "verify", verify.data, verify.len);

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_RECOVERY,
                                   status);
}


/* signed in with a recovery code: how many are left */

ngx_int_t
ngx_http_totp_view_show_recovered(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char     *p, *last;
    ngx_str_t   reset;

    p = ngx_pnalloc(r->pool, 200);
    if (p == NULL
        || ngx_http_totp_view_url(r, ctx, "reset", &reset) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(p, "You have %i recovery code%s left. Each works "
                          "once. Lost your phone? Set up the new one now.",
                       ctx->codes_left, ctx->codes_left == 1 ? "" : "s");

    ctx->nvars = 0;

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Signed in",
                           sizeof("Signed in") - 1);
    ngx_http_totp_view_var(ctx, "heading", (u_char *) "Signed in with a "
                           "recovery code",
                           sizeof("Signed in with a recovery code") - 1);
    ngx_http_totp_view_var(ctx, "message", p, last - p);
    ngx_http_totp_view_var(ctx, "link", reset.data, reset.len);
    ngx_http_totp_view_var(ctx, "link_text", (u_char *) "Set up a new device",
                           sizeof("Set up a new device") - 1);
    ngx_http_totp_view_var(ctx, "secondary", ctx->next.data, ctx->next.len);
    ngx_http_totp_view_var(ctx, "secondary_text", (u_char *) "Continue",
                           sizeof("Continue") - 1);

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_MESSAGE,
                                   NGX_HTTP_OK);
}


/*
 * codes: the recovery codes just made, shown this once; without codes,
 * the form that makes a new set.
 */

ngx_int_t
ngx_http_totp_view_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_view_form_vars(r, ctx, "codes") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "title", (u_char *) "Recovery codes",
                           sizeof("Recovery codes") - 1);
    ngx_http_totp_view_var(ctx, "digits", p,
                           ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_view_var(ctx, "codes", ctx->codes.data, ctx->codes.len);
    ngx_http_totp_view_var(ctx, "continue", ctx->next.data, ctx->next.len);

    if (ctx->codes_replaced) {
        ngx_http_totp_view_var(ctx, "replaced", (u_char *) "1", 1);
    }

    if (error) {
        ngx_http_totp_view_var(ctx, "error", (u_char *) error,
                               ngx_strlen(error));
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_CODES, status);
}


ngx_int_t
ngx_http_totp_view_retry_after(ngx_http_request_t *r, ngx_int_t seconds)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(p, "%i%Z", seconds);

    return ngx_http_totp_view_header(r, "Retry-After", (char *) p);
}


ngx_int_t
ngx_http_totp_view_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *heading,
    char *message)
{
    ngx_str_t  link;

    ctx->nvars = 0;

    ngx_http_totp_view_var(ctx, "title", (u_char *) heading,
                           ngx_strlen(heading));
    ngx_http_totp_view_var(ctx, "heading", (u_char *) heading,
                           ngx_strlen(heading));

    if (message) {
        ngx_http_totp_view_var(ctx, "message", (u_char *) message,
                               ngx_strlen(message));
    }

    if (ngx_http_totp_view_url(r, ctx, "login", &link) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "link", link.data, link.len);

    /* after a lockout, signing in again is not the next thing to do */

    if (status == NGX_HTTP_TOO_MANY_REQUESTS) {
        ngx_http_totp_view_var(ctx, "link_text", (u_char *) "Back to sign-in",
                               sizeof("Back to sign-in") - 1);
        ngx_http_totp_view_var(ctx, "subdued", (u_char *) "1", 1);

    } else {
        ngx_http_totp_view_var(ctx, "link_text", (u_char *) "Sign in",
                               sizeof("Sign in") - 1);
    }

    return ngx_http_totp_view_send(r, ctx, NGX_HTTP_TOTP_PAGE_MESSAGE,
                                   status);
}


static void
ngx_http_totp_view_var(ngx_http_totp_page_ctx_t *ctx, const char *name,
    u_char *value, size_t len)
{
    totp_render_var_t  *v;

    if (ctx->nvars == NGX_HTTP_TOTP_VARS_MAX) {
        return;
    }

    v = &ctx->vars[ctx->nvars++];

    v->name = name;
    v->name_len = ngx_strlen(name);
    v->value = value;
    v->value_len = len;
}


/* totp_path + page [+ "?next=" + next, unless next is "/"] */

ngx_int_t
ngx_http_totp_view_url(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    char *page, ngx_str_t *url)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  next;
    ngx_http_totp_srv_conf_t  *tscf;

    tscf = ngx_http_get_module_srv_conf(r, ngx_http_totp_module);

    ngx_str_null(&next);

    if (ctx->next.len > 1
        && ngx_http_totp_escape(r->pool, &ctx->next, &next) != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = tscf->path.len + ngx_strlen(page) + sizeof("?next=") - 1 + next.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;
    p = ngx_sprintf(p, "%V%s", &tscf->path, page);

    if (next.len) {
        p = ngx_sprintf(p, "?next=%V", &next);
    }

    url->len = p - url->data;

    return NGX_OK;
}


/* what every form needs: where it posts, its CSRF token, next, the user */

ngx_int_t
ngx_http_totp_view_form_vars(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page)
{
    ngx_str_t                  csrf, action;
    ngx_http_totp_srv_conf_t  *tscf;

    tscf = ngx_http_get_module_srv_conf(r, ngx_http_totp_module);

    if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK
        || ngx_http_totp_pages_csrf(r, ctx, 0, &csrf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    action.len = tscf->path.len + ngx_strlen(page);
    action.data = ngx_pnalloc(r->pool, action.len);
    if (action.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(action.data, "%V%s", &tscf->path, page);

    ctx->nvars = 0;

    ngx_http_totp_view_var(ctx, "action", action.data, action.len);
    ngx_http_totp_view_var(ctx, "csrf", csrf.data, csrf.len);
    ngx_http_totp_view_var(ctx, "next", ctx->next.data, ctx->next.len);
    ngx_http_totp_view_var(ctx, "user", ctx->user.data, ctx->user.len);

    return NGX_OK;
}


/* "30 days", "12 hours": the checkbox's promise, or nothing when off */

static ngx_int_t
ngx_http_totp_view_trust_var(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char  *p, *last;
    time_t   ttl;

    ttl = ctx->base.conf->trust_ttl;

    if (ttl == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + sizeof(" minutes"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (ttl >= 86400) {
        last = ngx_sprintf(p, "%T day%s", ttl / 86400,
                           ttl / 86400 == 1 ? "" : "s");

    } else if (ttl >= 3600) {
        last = ngx_sprintf(p, "%T hour%s", ttl / 3600,
                           ttl / 3600 == 1 ? "" : "s");

    } else {
        last = ngx_sprintf(p, "%T minute%s", (ttl + 59) / 60,
                           (ttl + 59) / 60 == 1 ? "" : "s");
    }

    ngx_http_totp_view_var(ctx, "trust_for", p, last - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_view_issuer(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *issuer)
{
    ngx_http_core_srv_conf_t  *cscf;

    if (ctx->base.conf->issuer) {
        return ngx_http_complex_value(r, ctx->base.conf->issuer, issuer);
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (cscf->server_name.len) {
        *issuer = cscf->server_name;
        return NGX_OK;
    }

    if (r->headers_in.server.len) {
        *issuer = r->headers_in.server;
        return NGX_OK;
    }

    ngx_str_set(issuer, "nginx");

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_send(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_http_totp_page_e page, ngx_uint_t status)
{
    u_char                    *p;
    ngx_str_t                  html, css, issuer;
    ngx_http_totp_srv_conf_t  *tscf;

    tscf = ngx_http_get_module_srv_conf(r, ngx_http_totp_module);

    css.len = tscf->path.len + sizeof("style.css") - 1;
    p = ngx_pnalloc(r->pool, css.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    css.data = p;
    ngx_sprintf(p, "%Vstyle.css", &tscf->path);

    if (ngx_http_totp_view_issuer(r, ctx, &issuer) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_view_var(ctx, "css", css.data, css.len);
    ngx_http_totp_view_var(ctx, "issuer", issuer.data, issuer.len);

    if (ngx_http_totp_render_page(r->pool, ctx->base.conf->templates, page,
                                  ctx->vars, ctx->nvars, &html)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_totp_view_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, status, "text/html; charset=utf-8",
                                     &html);
}


ngx_int_t
ngx_http_totp_view_output(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = (off_t) body->len;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = body->len ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the contract's headers: nothing cached, framed, referred or scripted */

ngx_int_t
ngx_http_totp_view_headers(ngx_http_request_t *r)
{
    if (ngx_http_totp_view_header(r, "Cache-Control", "no-store")
        != NGX_OK
        || ngx_http_totp_view_header(r, "Content-Security-Policy",
               "default-src 'none'; style-src 'self'; img-src data:; "
               "form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
           != NGX_OK
        || ngx_http_totp_view_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_http_totp_view_header(r, "Referrer-Policy", "no-referrer")
           != NGX_OK
        || ngx_http_totp_view_header(r, "X-Content-Type-Options", "nosniff")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_view_header(ngx_http_request_t *r, char *name, char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_redirect(ngx_http_request_t *r, ngx_str_t *location)
{
    ngx_table_elt_t  *h;

    ngx_http_clear_location(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Location");
    h->value = *location;

    r->headers_out.location = h;

    return NGX_HTTP_MOVED_TEMPORARILY;
}
