
/*
 * The gate's pages under totp_path: login, verify, enroll, reset, logout
 * and their stylesheet.
 *
 * They are served from the server rewrite phase, before any location is
 * chosen, so that they work whatever the server's location layout is.
 * Every POST needs the CSRF token of the pre-session cookie and an Origin,
 * if any, of this very host.  Who passed the first factor travels in the
 * signed pre-session cookie, never in a form field.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_module.h"
#include "ngx_http_totp_form.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_qr.h"
#include "ngx_http_totp_session.h"
#include "ngx_http_totp_store.h"


/* how long a shown QR code stays valid for its confirmation */
#define NGX_HTTP_TOTP_ENROLL_TTL  600

/* base64url of an HMAC-SHA256 truncated to 16 bytes */
#define NGX_HTTP_TOTP_CSRF_LEN    22

#define NGX_HTTP_TOTP_VARS_MAX    24


typedef struct ngx_http_totp_page_ctx_s  ngx_http_totp_page_ctx_t;

typedef ngx_int_t (*ngx_http_totp_page_pt)(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


typedef struct {
    ngx_str_t                    name;
    ngx_http_totp_page_pt        get;
    ngx_http_totp_page_pt        post;
} ngx_http_totp_route_t;


struct ngx_http_totp_page_ctx_s {
    ngx_http_totp_ctx_t          base;        /* first: the variables */
    ngx_http_totp_route_t       *route;
    ngx_http_totp_form_t         form;
    ngx_str_t                    next;        /* validated */

    totp_token_t                 pre;
    totp_token_t                 session;
    ngx_str_t                    user;        /* whom the page is about */

    ngx_http_totp_record_t       rec;
    ngx_str_t                    pending;
    ngx_int_t                    result;

    /* an enrollment being shown or confirmed */
    totp_alg_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    u_char                       secret[64];
    size_t                       secret_len;
    uint64_t                     step;

    totp_render_var_t            vars[NGX_HTTP_TOTP_VARS_MAX];
    ngx_uint_t                   nvars;

    ngx_str_t                    resealed;

    unsigned                     has_pre:1;
    unsigned                     trusted:1;
    unsigned                     stale_key:1;
};


static ngx_int_t ngx_http_totp_pages_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_login_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_verify_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_verify_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_pages_verify_accepted(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_enroll_begun(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_enroll_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_pages_enroll_confirmed(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_reset_fetched(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_reset_checked(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_pages_reset_accepted(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_logout_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_css(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

static void ngx_http_totp_pages_body(ngx_http_request_t *r);
static void ngx_http_totp_pages_wipe_password(ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_origin(ngx_http_request_t *r);
static ngx_int_t ngx_http_totp_pages_csrf_check(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_csrf(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t key, ngx_str_t *token);
static ngx_int_t ngx_http_totp_pages_ensure_pre(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_first_factor(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_next(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *next);
static ngx_int_t ngx_http_totp_pages_go(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page);
static ngx_int_t ngx_http_totp_pages_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust);
static ngx_int_t ngx_http_totp_pages_code(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_unseal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, u_char *b64,
    size_t len);
static ngx_int_t ngx_http_totp_pages_seal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, ngx_str_t *out);
static ngx_int_t ngx_http_totp_pages_aad(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, ngx_str_t *aad);
static ngx_int_t ngx_http_totp_pages_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
static ngx_int_t ngx_http_totp_pages_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
static ngx_int_t ngx_http_totp_pages_show_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
static ngx_int_t ngx_http_totp_pages_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
static ngx_int_t ngx_http_totp_pages_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *heading,
    char *message);
static ngx_int_t ngx_http_totp_pages_done_error(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_issuer(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *issuer);
static void ngx_http_totp_pages_var(ngx_http_totp_page_ctx_t *ctx,
    const char *name, u_char *value, size_t len);
static ngx_int_t ngx_http_totp_pages_url(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page, ngx_str_t *url);
static ngx_int_t ngx_http_totp_pages_form_vars(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page);
static ngx_int_t ngx_http_totp_pages_trust_var(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static ngx_int_t ngx_http_totp_pages_send(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_page_e page,
    ngx_uint_t status);
static ngx_int_t ngx_http_totp_pages_output(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_str_t *body);
static ngx_int_t ngx_http_totp_pages_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_totp_pages_header(ngx_http_request_t *r,
    char *name, char *value);
static void ngx_http_totp_pages_async(ngx_http_request_t *r);
static void ngx_http_totp_pages_done(ngx_http_request_t *r, ngx_int_t rc);
static void ngx_http_totp_pages_audit(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event);


static ngx_http_totp_route_t  ngx_http_totp_routes[] = {

    { ngx_string("login"),
      ngx_http_totp_pages_login,
      ngx_http_totp_pages_login_post },

    { ngx_string("verify"),
      ngx_http_totp_pages_verify,
      ngx_http_totp_pages_verify_post },

    { ngx_string("enroll"),
      ngx_http_totp_pages_enroll,
      ngx_http_totp_pages_enroll_post },

    { ngx_string("reset"),
      ngx_http_totp_pages_reset,
      ngx_http_totp_pages_reset_post },

    { ngx_string("logout"),
      ngx_http_totp_pages_logout,
      ngx_http_totp_pages_logout_post },

    { ngx_string("style.css"),
      ngx_http_totp_pages_css,
      NULL },

    { ngx_null_string, NULL, NULL }
};


ngx_int_t
ngx_http_totp_pages_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  name;
    ngx_http_totp_route_t     *route;
    ngx_http_totp_srv_conf_t  *tscf;
    ngx_http_totp_page_ctx_t  *ctx;

    if (r != r->main || r->internal) {
        return NGX_DECLINED;
    }

    tscf = ngx_http_get_module_srv_conf(r, ngx_http_totp_module);

    if (tscf->pages == NULL
        || r->uri.len < tscf->path.len
        || ngx_strncmp(r->uri.data, tscf->path.data, tscf->path.len) != 0)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_get_module_ctx(r, ngx_http_totp_module)) {
        /* the page is under way already */
        return NGX_DONE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_page_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->base.conf = tscf->pages;
    ctx->base.status = NGX_HTTP_TOTP_LOGIN;
    ngx_http_set_ctx(r, ctx, ngx_http_totp_module);

    name.data = r->uri.data + tscf->path.len;
    name.len = r->uri.len - tscf->path.len;

    for (route = ngx_http_totp_routes; route->name.len; route++) {
        if (name.len == route->name.len
            && ngx_strncmp(name.data, route->name.data, name.len) == 0)
        {
            break;
        }
    }

    if (route->name.len == 0) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_NOT_FOUND,
                                           "Page not found",
                                           "There is no such page here.");
    }

    ctx->route = route;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_totp_pages_next(r, ctx, NULL);

        rc = route->get(r, ctx);

        if (rc == NGX_DONE) {
            /* the rewrite phase does not finalize NGX_DONE; a page must */
            ngx_http_finalize_request(r, NGX_DONE);
        }

        return rc;
    }

    if (r->method != NGX_HTTP_POST || route->post == NULL) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_http_totp_pages_origin(r) != NGX_OK) {
        ctx->base.status = NGX_HTTP_TOTP_DENIED;

        /* left unread, the body would be taken for the next request */

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_FORBIDDEN,
                                 "Request refused",
                                 "This form was sent from another site.");
    }

    /*
     * Pages run before a location's client_max_body_size applies; larger
     * bodies are refused as ngx_http_totp_form_read() refuses them.
     */

    if (r->headers_in.content_length_n > NGX_HTTP_TOTP_FORM_MAX) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent a form larger than %d bytes",
                      NGX_HTTP_TOTP_FORM_MAX);
        return NGX_HTTP_BAD_REQUEST;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_totp_pages_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    /* what the content phase would do with a handler's NGX_DONE */

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_body(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    rc = ngx_http_totp_form_read(r, &ctx->form);

    if (rc != NGX_OK) {
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ngx_http_totp_pages_csrf_check(r, ctx) != NGX_OK) {
        ngx_http_totp_pages_wipe_password(ctx);
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        ngx_http_finalize_request(r,
            ngx_http_totp_pages_message(r, ctx, NGX_HTTP_FORBIDDEN,
                "Please try again",
                "This form expired or was not sent from this page. "
                "Go back, reload the page and send it again."));
        return;
    }

    ngx_http_totp_pages_next(r, ctx, &ctx->form.next);

    rc = ctx->route->post(r, ctx);

    ngx_http_totp_pages_wipe_password(ctx);

    ngx_http_finalize_request(r, rc);
}


/* checked synchronously, the password is not needed past the POST */

static void
ngx_http_totp_pages_wipe_password(ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->form.password.len) {
        ngx_explicit_memzero(ctx->form.password.data, ctx->form.password.len);
    }
}


/*
 * login: the first factor.  With totp_user it has already been passed on
 * the gated location, which says so in the pre-session cookie.
 */

static ngx_int_t
ngx_http_totp_pages_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->base.conf->user == NULL) {
        if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_totp_pages_show_login(r, ctx, NGX_HTTP_OK, NULL);
    }

    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_OK,
                   "Open the console first",
                   "Sign-in starts at the page you want to use: open it "
                   "again and you will be brought back here.");
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_login_fetched)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_totp_pages_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->base.conf->user) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx->user = ctx->form.user;

    if (!ngx_http_totp_user_valid(&ctx->user)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent an invalid user name");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        ngx_str_null(&ctx->user);
        return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "User name not accepted",
                   "A user name has 1 to 256 characters and no control "
                   "characters.");
    }

    rc = ngx_http_totp_password_check(r, ctx->base.conf->password_file,
                                      &ctx->user, &ctx->form.password);

    if (rc == NGX_ERROR) {
        ctx->base.status = NGX_HTTP_TOTP_ERROR;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_pages_audit(r, ctx, "failed password");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        return ngx_http_totp_pages_show_login(r, ctx, NGX_HTTP_UNAUTHORIZED,
                   "The user name or password is not right.");
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_login_fetched)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


/* the first factor passed: a trusted browser is done, others go on */

static void
ngx_http_totp_pages_login_fetched(ngx_http_request_t *r, ngx_int_t rc)
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

    if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_TRUST,
                                  &ctx->session)
        == NGX_OK
        && ctx->session.user_len == ctx->user.len
        && ngx_memcmp(ctx->session.user, ctx->user.data, ctx->user.len) == 0
        && totp_memeq(ctx->session.epoch, ctx->rec.epoch, TOTP_EPOCH_LEN))
    {
        ctx->trusted = 1;
        ngx_http_totp_pages_audit(r, ctx, "let in by a trusted browser");
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_finish(r, ctx, 0));
        return;
    }

    ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "verify"));
}


/* verify: the code of an enrolled user */

static ngx_int_t
ngx_http_totp_pages_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_verify_fetched)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_verify_fetched(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (!ctx->rec.enrolled) {
        rc = ngx_http_totp_pages_go(r, ctx, "enroll");

    } else {
        rc = ngx_http_totp_pages_show_verify(r, ctx, NGX_HTTP_OK, NULL);
    }

    ngx_http_totp_pages_done(r, rc);
}


static ngx_int_t
ngx_http_totp_pages_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_verify_checked)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_verify_checked(ngx_http_request_t *r, ngx_int_t rc)
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

    if (ngx_http_totp_pages_unseal(r, ctx, "secret", ctx->rec.secret.data,
                                   ctx->rec.secret.len)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    ctx->algorithm = ctx->rec.algorithm;
    ctx->digits = ctx->rec.digits;
    ctx->period = ctx->rec.period;

    rc = ngx_http_totp_pages_code(r, ctx);

    if (rc == NGX_OK && ctx->stale_key
        && ngx_http_totp_pages_seal(r, ctx, "secret", &ctx->resealed)
           != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    if (rc == NGX_ERROR) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_pages_audit(r, ctx, "failed code");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        ngx_http_totp_pages_done(r,
            ngx_http_totp_pages_show_verify(r, ctx, NGX_HTTP_UNAUTHORIZED,
                "That code is not right. Enter the code your app shows "
                "now."));
        return;
    }

    if (ngx_http_totp_store_accept(r, &ctx->user, ctx->rec.epoch, ctx->step,
                                   0, &ctx->resealed, &ctx->result,
                                   ngx_http_totp_pages_verify_accepted)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }
}


static void
ngx_http_totp_pages_verify_accepted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->result == 0) {
        /* reset or enrolled anew while the code was typed: start over */
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else if (ctx->result < 0) {
        ngx_http_totp_pages_audit(r, ctx, "failed code (already used)");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        rc = ngx_http_totp_pages_show_verify(r, ctx, NGX_HTTP_UNAUTHORIZED,
                 "That code was already used. Wait for the next code "
                 "and enter it.");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "verified");
        rc = ngx_http_totp_pages_finish(r, ctx, 1);
    }

    ngx_http_totp_pages_done(r, rc);
}


/* enroll: a new secret, shown until it is confirmed with one code */

static ngx_int_t
ngx_http_totp_pages_enroll(ngx_http_request_t *r,
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
        || ngx_http_totp_pages_seal(r, ctx, "enroll", &sealed) != NGX_OK)
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
                                         ngx_http_totp_pages_enroll_begun)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_enroll_begun(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->pending.data == NULL) {
        rc = ngx_http_totp_pages_go(r, ctx, "verify");

    } else if (ngx_http_totp_pages_pending_parse(r, ctx) != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else {
        ctx->base.status = NGX_HTTP_TOTP_ENROLL;
        rc = ngx_http_totp_pages_show_enroll(r, ctx, NGX_HTTP_OK, NULL);
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    ngx_http_totp_pages_done(r, rc);
}


static ngx_int_t
ngx_http_totp_pages_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_enroll_begin(r, &ctx->user, NULL,
                                         NGX_HTTP_TOTP_ENROLL_TTL,
                                         &ctx->pending,
                                         ngx_http_totp_pages_enroll_checked)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_enroll_checked(ngx_http_request_t *r, ngx_int_t rc)
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
        rc = ngx_http_totp_pages_message(r, ctx, NGX_HTTP_OK,
                 "The QR code expired",
                 "It was shown more than ten minutes ago. Start again to "
                 "get a new one.");
        goto done;
    }

    if (ngx_http_totp_pages_pending_parse(r, ctx) != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    rc = ngx_http_totp_pages_code(r, ctx);

    if (rc == NGX_ERROR) {
        rc = ngx_http_totp_pages_done_error(r, ctx);
        goto done;
    }

    if (rc == NGX_DECLINED) {
        ngx_http_totp_pages_audit(r, ctx, "failed code at enrollment");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        rc = ngx_http_totp_pages_show_enroll(r, ctx, NGX_HTTP_UNAUTHORIZED,
                 "That code is not right. Check that you scanned this "
                 "QR code, then enter the code your app shows now.");
        goto done;
    }

    /* only now, with a code that proves the app has it, is it stored */

    ngx_memzero(&ctx->rec, sizeof(ngx_http_totp_record_t));

    ctx->rec.algorithm = ctx->algorithm;
    ctx->rec.digits = ctx->digits;
    ctx->rec.period = ctx->period;
    ctx->rec.last = ctx->step;

    if (totp_random(ctx->rec.epoch, TOTP_EPOCH_LEN) != 0
        || ngx_http_totp_pages_seal(r, ctx, "secret", &ctx->rec.secret)
           != NGX_OK)
    {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    if (ngx_http_totp_store_enroll_confirm(r, &ctx->user, &ctx->pending,
                                           &ctx->rec, &ctx->result,
                                           ngx_http_totp_pages_enroll_confirmed)
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
ngx_http_totp_pages_enroll_confirmed(ngx_http_request_t *r, ngx_int_t rc)
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
        ngx_http_totp_cache_store(mcf->shm_zone, &ctx->user, 1,
                                  ctx->rec.epoch, ngx_current_msec);
        rc = ngx_http_totp_pages_finish(r, ctx, 1);
    }

    ngx_http_totp_pages_done(r, rc);
}


/* reset: a signed-in user moves to a new device, proving the old one */

static ngx_int_t
ngx_http_totp_pages_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_reset_fetched)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_reset_fetched(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (!ctx->rec.enrolled
               || !totp_memeq(ctx->rec.epoch, ctx->session.epoch,
                              TOTP_EPOCH_LEN))
    {
        rc = ngx_http_totp_pages_go(r, ctx, "login");

    } else {
        rc = ngx_http_totp_pages_show_reset(r, ctx, NGX_HTTP_OK, NULL);
    }

    ngx_http_totp_pages_done(r, rc);
}


static ngx_int_t
ngx_http_totp_pages_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_go(r, ctx, "login");
    }

    if (ngx_http_totp_store_fetch(r, &ctx->user, &ctx->rec,
                                  ngx_http_totp_pages_reset_checked)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_reset_checked(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    if (!ctx->rec.enrolled
        || !totp_memeq(ctx->rec.epoch, ctx->session.epoch, TOTP_EPOCH_LEN))
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_go(r, ctx, "login"));
        return;
    }

    if (ngx_http_totp_pages_unseal(r, ctx, "secret", ctx->rec.secret.data,
                                   ctx->rec.secret.len)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
        return;
    }

    ctx->algorithm = ctx->rec.algorithm;
    ctx->digits = ctx->rec.digits;
    ctx->period = ctx->rec.period;

    rc = ngx_http_totp_pages_code(r, ctx);

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            rc = ngx_http_totp_pages_done_error(r, ctx);

        } else {
            ngx_http_totp_pages_audit(r, ctx, "failed code at reset");
            ctx->base.status = NGX_HTTP_TOTP_DENIED;
            rc = ngx_http_totp_pages_show_reset(r, ctx,
                     NGX_HTTP_UNAUTHORIZED,
                     "That code is not right. Enter the code your current "
                     "app shows now.");
        }

        ngx_http_totp_pages_done(r, rc);
        return;
    }

    if (ngx_http_totp_store_accept(r, &ctx->user, ctx->rec.epoch, ctx->step,
                                   1, NULL, &ctx->result,
                                   ngx_http_totp_pages_reset_accepted)
        != NGX_OK)
    {
        ngx_http_totp_pages_done(r, ngx_http_totp_pages_done_error(r, ctx));
    }
}


static void
ngx_http_totp_pages_reset_accepted(ngx_http_request_t *r, ngx_int_t rc)
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
        ngx_http_totp_pages_audit(r, ctx, "failed code at reset "
                                          "(already used)");
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        rc = ngx_http_totp_pages_show_reset(r, ctx, NGX_HTTP_UNAUTHORIZED,
                 "That code was already used. Wait for the next code "
                 "and enter it.");

    } else {
        ngx_http_totp_pages_audit(r, ctx, "reset");

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

static ngx_int_t
ngx_http_totp_pages_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
        return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_OK,
                   "You are signed out", NULL);
    }

    if (ngx_http_totp_pages_ensure_pre(r, ctx) != NGX_OK
        || ngx_http_totp_pages_form_vars(r, ctx, "logout") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_LOGOUT,
                                    NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_totp_pages_logout_post(ngx_http_request_t *r,
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

    return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_OK,
                                       "You are signed out", NULL);
}


static ngx_int_t
ngx_http_totp_pages_css(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    ngx_http_totp_templates_t  *t;

    t = ctx->base.conf->templates;

    if (ngx_http_totp_pages_header(r, "Cache-Control", "max-age=3600")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_pages_output(r, NGX_HTTP_OK, "text/css", &t->css);
}


/*
 * The Origin header, when a browser sends one, must name this host: a
 * form posted from another site is refused even before its token is
 * looked at.  Only the host part is compared, since a TLS-terminating
 * proxy in front of nginx changes the scheme nginx sees.
 */

static ngx_int_t
ngx_http_totp_pages_origin(ngx_http_request_t *r)
{
    u_char           *p, *end;
    ngx_str_t         origin, host;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    ngx_uint_t        i, found;

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Origin") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                               sizeof("Origin") - 1) == 0)
        {
            if (found++) {
                return NGX_DECLINED;
            }

            origin = h[i].value;
        }
    }

    if (!found) {
        return NGX_OK;
    }

    if (r->headers_in.host == NULL) {
        return NGX_DECLINED;
    }

    host = r->headers_in.host->value;

    p = origin.data;
    end = origin.data + origin.len;

    if (origin.len > sizeof("https://") - 1
        && ngx_strncasecmp(p, (u_char *) "https://", sizeof("https://") - 1)
           == 0)
    {
        p += sizeof("https://") - 1;

    } else if (origin.len > sizeof("http://") - 1
               && ngx_strncasecmp(p, (u_char *) "http://",
                                  sizeof("http://") - 1)
                  == 0)
    {
        p += sizeof("http://") - 1;

    } else {
        return NGX_DECLINED;
    }

    if ((size_t) (end - p) != host.len
        || ngx_strncasecmp(p, host.data, host.len) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: form posted from foreign origin \"%V\"",
                      &origin);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_pages_csrf_check(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_str_t                   token;
    ngx_uint_t                  i;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_PRE,
                                  &ctx->pre)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: form posted without a valid pre-session "
                      "cookie");
        return NGX_DECLINED;
    }

    ctx->has_pre = 1;

    /* a form shown before a key rotation still carries a valid token */

    for (i = 0; i < mcf->nkeys; i++) {
        if (ngx_http_totp_pages_csrf(r, ctx, i, &token) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->form.csrf.len == token.len
            && totp_memeq(ctx->form.csrf.data, token.data, token.len))
        {
            return NGX_OK;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: form posted with a wrong CSRF token");

    return NGX_DECLINED;
}


/* the token that forms carry: a MAC of the pre-session cookie's nonce */

static ngx_int_t
ngx_http_totp_pages_csrf(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_uint_t key, ngx_str_t *token)
{
    u_char                      mac[TOTP_MAC_LEN];
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    token->data = ngx_pnalloc(r->pool, NGX_HTTP_TOTP_CSRF_LEN + 2);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    if (totp_hmac_sha256(mcf->keys[key].key[TOTP_KEY_CSRF], TOTP_KEY_LEN,
                         ctx->pre.nonce, TOTP_NONCE_LEN, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    token->len = totp_b64url_encode(token->data, mac, 16);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_pages_ensure_pre(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->has_pre) {
        return NGX_OK;
    }

    if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_PRE,
                                  &ctx->pre)
        != NGX_OK
        && ngx_http_totp_issue_pre(r, ctx->base.conf, NULL, 0, &ctx->pre)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->has_pre = 1;

    return NGX_OK;
}


/* NGX_OK and ctx->user set when the pre-session passed the first factor */

static ngx_int_t
ngx_http_totp_pages_first_factor(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (!ctx->has_pre) {
        if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_PRE,
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


/* NGX_OK and ctx->user set for a session that verifies; the caller checks
   its epoch against Redis */

static ngx_int_t
ngx_http_totp_pages_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_SESSION,
                                  &ctx->session)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ctx->user.data = ctx->session.user;
    ctx->user.len = ctx->session.user_len;

    return NGX_OK;
}


/* "next" from the query string or the form, or "/" when it is not safe */

static void
ngx_http_totp_pages_next(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_str_t *next)
{
    u_char     *p;
    ngx_str_t   value;

    if (next == NULL) {
        if (ngx_http_arg(r, (u_char *) "next", 4, &value) != NGX_OK) {
            goto root;
        }

        p = ngx_pnalloc(r->pool, value.len);
        if (p == NULL) {
            goto root;
        }

        ngx_memcpy(p, value.data, value.len);
        value.data = p;

        if (ngx_http_totp_unescape(&value) != NGX_OK) {
            goto root;
        }

        next = &value;
    }

    if (next->data && ngx_http_totp_next_valid(next)) {
        ctx->next = *next;
        return;
    }

    if (next->len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: ignored an unsafe \"next\" address");
    }

root:

    ngx_str_set(&ctx->next, "/");
}


/*
 * A 302 to another page, carrying "next".  Any user passed on to verify
 * or enroll goes with a fresh pre-session that names them.
 */

static ngx_int_t
ngx_http_totp_pages_go(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    char *page)
{
    ngx_str_t  url;

    if (ctx->user.len
        && (ngx_strcmp(page, "verify") == 0
            || ngx_strcmp(page, "enroll") == 0)
        && !(ctx->has_pre
             && (ctx->pre.flags & NGX_HTTP_TOTP_PRE_FIRST)
             && ctx->pre.user_len == ctx->user.len
             && ngx_memcmp(ctx->pre.user, ctx->user.data, ctx->user.len)
                == 0))
    {
        if (ngx_http_totp_issue_pre(r, ctx->base.conf, &ctx->user,
                                    NGX_HTTP_TOTP_PRE_FIRST, NULL)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_totp_pages_url(r, ctx, page, &url) != NGX_OK
        || ngx_http_totp_pages_headers(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_redirect(r, &url);
}


/* signed in: a session (and the trust cookie if asked), then "next" */

static ngx_int_t
ngx_http_totp_pages_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust)
{
    u_char        *p;
    ngx_str_t      next;
    totp_token_t  *t;

    /* ctx->user may point into ctx->session: build in place, by a copy */

    t = ngx_pcalloc(r->pool, sizeof(totp_token_t));
    if (t == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(t->user, ctx->user.data, ctx->user.len);
    t->user_len = ctx->user.len;
    ngx_memcpy(t->epoch, ctx->rec.epoch, TOTP_EPOCH_LEN);

    if (ngx_http_totp_issue_session(r, ctx->base.conf, t) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (trust && ctx->base.conf->trust_ttl
        && ctx->form.trust.len == 1 && ctx->form.trust.data[0] == '1'
        && ngx_http_totp_issue_trust(r, ctx->base.conf, &ctx->user,
                                     ctx->rec.epoch)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->base.status = ctx->trusted ? NGX_HTTP_TOTP_TRUSTED
                                    : NGX_HTTP_TOTP_VERIFIED;

    p = ngx_pnalloc(r->pool, ctx->user.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->base.user.data = p;
    ctx->base.user.len = ctx->user.len;
    ngx_memcpy(p, ctx->user.data, ctx->user.len);

    /* the pre-session has served its purpose */

    if (ngx_http_totp_cookie_clear(r, ctx->base.conf, TOTP_TOKEN_PRE)
        != NGX_OK
        || ngx_http_totp_pages_headers(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    next = ctx->next;

    return ngx_http_totp_redirect(r, &next);
}


/*
 * NGX_OK and ctx->step set, NGX_DECLINED for a wrong code, NGX_ERROR.
 * The caller wipes ctx->secret: a failed enrollment shows it again.
 */

static ngx_int_t
ngx_http_totp_pages_code(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    int       rc;
    uint64_t  now;

    if (totp_time_step(ngx_time(), ctx->period, &now) != 0) {
        return NGX_ERROR;
    }

    if (ctx->form.code.data == NULL) {
        return NGX_DECLINED;
    }

    rc = totp_window_check(ctx->algorithm, ctx->secret, ctx->secret_len,
                           ctx->digits, now, ctx->base.conf->skew,
                           (char *) ctx->form.code.data, ctx->form.code.len,
                           &ctx->step);

    if (rc < 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: code check failed");
        return NGX_ERROR;
    }

    return rc == 1 ? NGX_OK : NGX_DECLINED;
}


/* opens a sealed secret (base64url) into ctx->secret */

static ngx_int_t
ngx_http_totp_pages_unseal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, u_char *b64,
    size_t len)
{
    u_char                      sealed[64 + TOTP_SEAL_OVERHEAD];
    size_t                      n;
    ngx_str_t                   aad;
    ngx_uint_t                  i;
    const unsigned char        *keys[2];
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (totp_b64url_decoded_max(len) > sizeof(sealed)
        || totp_b64url_decode(sealed, &n, b64, len) != 0
        || n < TOTP_SEAL_OVERHEAD
        || n - TOTP_SEAL_OVERHEAD > sizeof(ctx->secret))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: malformed sealed %s of user \"%V\" in Redis",
                      purpose, &ctx->user);
        return NGX_ERROR;
    }

    if (ngx_http_totp_pages_aad(r, ctx, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < mcf->nkeys; i++) {
        keys[i] = mcf->keys[i].key[TOTP_KEY_SEAL];
    }

    /* one key at a time: a secret the previous key opens is resealed */

    for (i = 0; i < mcf->nkeys; i++) {
        if (totp_unseal(ctx->secret, &ctx->secret_len, &keys[i], 1, sealed,
                        n, aad.data, aad.len)
            == 0)
        {
            break;
        }
    }

    ctx->stale_key = (i > 0);

    if (i == mcf->nkeys) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: the %s of user \"%V\" does not open with the "
                      "configured keys", purpose, &ctx->user);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* seals ctx->secret into base64url text, under the current key */

static ngx_int_t
ngx_http_totp_pages_seal(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    const char *purpose, ngx_str_t *out)
{
    u_char                      sealed[64 + TOTP_SEAL_OVERHEAD];
    size_t                      n;
    ngx_str_t                   aad;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (ngx_http_totp_pages_aad(r, ctx, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    if (totp_seal(sealed, mcf->keys[0].key[TOTP_KEY_SEAL], ctx->secret,
                  ctx->secret_len, aad.data, aad.len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot seal a secret");
        return NGX_ERROR;
    }

    n = ctx->secret_len + TOTP_SEAL_OVERHEAD;

    out->data = ngx_pnalloc(r->pool, totp_b64url_encoded_len(n));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = totp_b64url_encode(out->data, sealed, n);

    return NGX_OK;
}


/*
 * What a sealed secret is bound to: its purpose and its user, so that a
 * pending secret never passes for a confirmed one, nor one user's secret
 * for another's.
 */

static ngx_int_t
ngx_http_totp_pages_aad(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    const char *purpose, ngx_str_t *aad)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(purpose);

    p = ngx_pnalloc(r->pool, len + 1 + ctx->user.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    aad->data = p;
    p = ngx_cpymem(p, purpose, len);
    *p++ = ':';
    p = ngx_cpymem(p, ctx->user.data, ctx->user.len);
    aad->len = p - aad->data;

    return NGX_OK;
}


/* "1.ALG.DIGITS.PERIOD.SEALED", as ngx_http_totp_pages_enroll() made it */

static ngx_int_t
ngx_http_totp_pages_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char      *p, *end, *field[5];
    size_t       len[5];
    ngx_int_t    n;
    ngx_uint_t   i;

    p = ctx->pending.data;
    end = p + ctx->pending.len;

    for (i = 0; i < 5; i++) {
        field[i] = p;

        p = (i < 4) ? ngx_strlchr(p, end, '.') : end;
        if (p == NULL) {
            goto invalid;
        }

        len[i] = p - field[i];
        p++;
    }

    if (len[0] != 1 || field[0][0] != '1'
        || totp_alg_parse((char *) field[1], len[1], &ctx->algorithm) != 0)
    {
        goto invalid;
    }

    n = ngx_atoi(field[2], len[2]);
    if (n != 6 && n != 8) {
        goto invalid;
    }

    ctx->digits = n;

    n = ngx_atoi(field[3], len[3]);
    if (n < 1 || n > 3600) {
        goto invalid;
    }

    ctx->period = n;

    return ngx_http_totp_pages_unseal(r, ctx, "enroll", field[4], len[4]);

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "totp: malformed pending enrollment of user \"%V\" "
                  "in Redis", &ctx->user);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_totp_pages_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    if (ngx_http_totp_pages_form_vars(r, ctx, "login") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_var(ctx, "title", (u_char *) "Sign in",
                            sizeof("Sign in") - 1);

    if (error) {
        ngx_http_totp_pages_var(ctx, "error", (u_char *) error,
                                ngx_strlen(error));
    }

    return ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_LOGIN, status);
}


static ngx_int_t
ngx_http_totp_pages_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char     *p;
    ngx_str_t   login;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_pages_form_vars(r, ctx, "verify") != NGX_OK
        || ngx_http_totp_pages_trust_var(r, ctx) != NGX_OK
        || ngx_http_totp_pages_url(r, ctx, "login", &login) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_var(ctx, "title", (u_char *) "Enter your code",
                            sizeof("Enter your code") - 1);
    ngx_http_totp_pages_var(ctx, "digits", p,
                            ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_pages_var(ctx, "login", login.data, login.len);

    if (error) {
        ngx_http_totp_pages_var(ctx, "error", (u_char *) error,
                                ngx_strlen(error));
    }

    return ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_VERIFY,
                                    status);
}


static ngx_int_t
ngx_http_totp_pages_show_enroll(ngx_http_request_t *r,
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
        || ngx_http_totp_pages_form_vars(r, ctx, "enroll") != NGX_OK
        || ngx_http_totp_pages_trust_var(r, ctx) != NGX_OK
        || ngx_http_totp_pages_issuer(r, ctx, &issuer) != NGX_OK
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

    ngx_http_totp_pages_var(ctx, "title", (u_char *) "Set up your "
                            "authenticator app",
                            sizeof("Set up your authenticator app") - 1);
    ngx_http_totp_pages_var(ctx, "digits", p,
                            ngx_sprintf(p, "%ui", ctx->digits) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_pages_var(ctx, "period", p,
                            ngx_sprintf(p, "%T", ctx->period) - p);
    p += NGX_INT_T_LEN;
    ngx_http_totp_pages_var(ctx, "algorithm", p, ngx_strlen(alg));

    for (i = 0; alg[i]; i++) {
        p[i] = ngx_toupper(alg[i]);
    }
    ngx_http_totp_pages_var(ctx, "secret", grouped.data, grouped.len);
    ngx_http_totp_pages_var(ctx, "uri", uri.data, uri.len);
    ngx_http_totp_pages_var(ctx, "qr", svg.data, svg.len);

    if (error) {
        ngx_http_totp_pages_var(ctx, "error", (u_char *) error,
                                ngx_strlen(error));
    }

    rc = ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_ENROLL, status);

done:

    totp_wipe(b32, sizeof(b32));
    totp_wipe(ctx->secret, sizeof(ctx->secret));

    return rc;
}


static ngx_int_t
ngx_http_totp_pages_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL
        || ngx_http_totp_pages_form_vars(r, ctx, "reset") != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_var(ctx, "title", (u_char *) "Change your device",
                            sizeof("Change your device") - 1);
    ngx_http_totp_pages_var(ctx, "digits", p,
                            ngx_sprintf(p, "%ui", ctx->rec.digits) - p);
    ngx_http_totp_pages_var(ctx, "cancel", (u_char *) "/", 1);

    if (error) {
        ngx_http_totp_pages_var(ctx, "error", (u_char *) error,
                                ngx_strlen(error));
    }

    return ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_RESET, status);
}


static ngx_int_t
ngx_http_totp_pages_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *heading,
    char *message)
{
    ngx_str_t  link;

    ctx->nvars = 0;

    ngx_http_totp_pages_var(ctx, "title", (u_char *) heading,
                            ngx_strlen(heading));
    ngx_http_totp_pages_var(ctx, "heading", (u_char *) heading,
                            ngx_strlen(heading));

    if (message) {
        ngx_http_totp_pages_var(ctx, "message", (u_char *) message,
                                ngx_strlen(message));
    }

    if (ngx_http_totp_pages_url(r, ctx, "login", &link) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_var(ctx, "link", link.data, link.len);
    ngx_http_totp_pages_var(ctx, "link_text", (u_char *) "Sign in",
                            sizeof("Sign in") - 1);

    return ngx_http_totp_pages_send(r, ctx, NGX_HTTP_TOTP_PAGE_MESSAGE,
                                    status);
}


/* Redis could not be asked or did not answer: never a pass, a 503 page */

static ngx_int_t
ngx_http_totp_pages_done_error(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ctx->base.status = NGX_HTTP_TOTP_ERROR;

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    return ngx_http_totp_pages_message(r, ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
               "Sign-in is unavailable",
               "The sign-in service cannot be reached right now. "
               "Try again in a moment.");
}


static void
ngx_http_totp_pages_var(ngx_http_totp_page_ctx_t *ctx, const char *name,
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

static ngx_int_t
ngx_http_totp_pages_url(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
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

static ngx_int_t
ngx_http_totp_pages_form_vars(ngx_http_request_t *r,
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

    ngx_http_totp_pages_var(ctx, "action", action.data, action.len);
    ngx_http_totp_pages_var(ctx, "csrf", csrf.data, csrf.len);
    ngx_http_totp_pages_var(ctx, "next", ctx->next.data, ctx->next.len);
    ngx_http_totp_pages_var(ctx, "user", ctx->user.data, ctx->user.len);

    return NGX_OK;
}


/* "30 days", "12 hours": the checkbox's promise, or nothing when off */

static ngx_int_t
ngx_http_totp_pages_trust_var(ngx_http_request_t *r,
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

    ngx_http_totp_pages_var(ctx, "trust_for", p, last - p);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_pages_issuer(ngx_http_request_t *r,
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


static ngx_int_t
ngx_http_totp_pages_send(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
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

    if (ngx_http_totp_pages_issuer(r, ctx, &issuer) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_totp_pages_var(ctx, "css", css.data, css.len);
    ngx_http_totp_pages_var(ctx, "issuer", issuer.data, issuer.len);

    if (ngx_http_totp_render_page(r->pool, ctx->base.conf->templates, page,
                                  ctx->vars, ctx->nvars, &html)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_totp_pages_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_pages_output(r, status, "text/html; charset=utf-8",
                                      &html);
}


static ngx_int_t
ngx_http_totp_pages_output(ngx_http_request_t *r, ngx_uint_t status,
    char *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = body->len;
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

static ngx_int_t
ngx_http_totp_pages_headers(ngx_http_request_t *r)
{
    if (ngx_http_totp_pages_header(r, "Cache-Control", "no-store")
        != NGX_OK
        || ngx_http_totp_pages_header(r, "Content-Security-Policy",
               "default-src 'none'; style-src 'self'; img-src data:; "
               "form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
           != NGX_OK
        || ngx_http_totp_pages_header(r, "X-Frame-Options", "DENY")
           != NGX_OK
        || ngx_http_totp_pages_header(r, "Referrer-Policy", "no-referrer")
           != NGX_OK
        || ngx_http_totp_pages_header(r, "X-Content-Type-Options", "nosniff")
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_pages_header(ngx_http_request_t *r, char *name, char *value)
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


/*
 * The page waits for Redis: a client that leaves cancels the command, and
 * a write event must not run the phases, and so the page, once more.
 */

static void
ngx_http_totp_pages_async(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;
}


static void
ngx_http_totp_pages_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_totp_pages_audit(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event)
{
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "totp: user \"%V\" %s", &ctx->user, event);
}
