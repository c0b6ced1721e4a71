
/*
 * The gate's pages: the content handler of a "totp_pages" location.
 * Routing, the methods each page allows, the form and its CSRF check, the
 * settings a page works under, where it leads next.  Each page is a flow
 * of its own (ngx_http_totp_signin.c, _enroll.c, _account.c).
 *
 * As the content of an ordinary location, they are guarded by whatever the
 * admin writes there: allow and deny, auth_basic, limit_req, limit_conn,
 * client_max_body_size.  Every POST needs the CSRF token of the
 * pre-session cookie and an Origin, if any, of this very host.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_account.h"
#include "ngx_http_totp_codes.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_csrf.h"
#include "ngx_http_totp_enroll.h"
#include "ngx_http_totp_form.h"
#include "ngx_http_totp_home.h"
#include "ngx_http_totp_invite.h"
#include "ngx_http_totp_lockout.h"
#include "ngx_http_totp_pages.h"
#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_signin.h"


typedef struct {
    ngx_str_t                    name;
    ngx_http_totp_page_pt        get;
    ngx_http_totp_page_pt        post;
    ngx_http_totp_guard_e        guard;

    /* a POST of saved=1: no code in it, nothing for the lockout to count */
    ngx_http_totp_page_pt        saved;
} ngx_http_totp_route_t;


static ngx_http_totp_loc_conf_t *ngx_http_totp_pages_profile(
    ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    ngx_http_totp_pages_conf_t *pages);
static ngx_http_totp_loc_conf_t *ngx_http_totp_pages_find(
    ngx_http_totp_pages_conf_t *pages, u_char *profile);
static void ngx_http_totp_pages_body(ngx_http_request_t *r);
static void ngx_http_totp_pages_wipe(void *data);
static void ngx_http_totp_pages_forget(ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_next(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *next);
static ngx_int_t ngx_http_totp_pages_css(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/* the prefix itself: the account page */
static ngx_http_totp_route_t  ngx_http_totp_home_route =
    { ngx_null_string, ngx_http_totp_home, NULL, NGX_HTTP_TOTP_GUARD_NONE,
      NULL };


static ngx_http_totp_route_t  ngx_http_totp_routes[] = {

    { ngx_string("login"),
      ngx_http_totp_signin_login,
      ngx_http_totp_signin_login_post,
      NGX_HTTP_TOTP_GUARD_FORM,
      NULL },

    { ngx_string("verify"),
      ngx_http_totp_signin_verify,
      ngx_http_totp_signin_verify_post,
      NGX_HTTP_TOTP_GUARD_PRE,
      NULL },

    { ngx_string("enroll"),
      ngx_http_totp_enroll,
      ngx_http_totp_enroll_post,
      NGX_HTTP_TOTP_GUARD_ENROLL,
      NULL },

    { ngx_string("invite"),
      ngx_http_totp_invite,
      NULL,
      NGX_HTTP_TOTP_GUARD_NONE,
      NULL },

    { ngx_string("recovery"),
      ngx_http_totp_signin_recovery,
      ngx_http_totp_signin_recovery_post,
      NGX_HTTP_TOTP_GUARD_PRE,
      NULL },

    { ngx_string("reset"),
      ngx_http_totp_account_reset,
      ngx_http_totp_account_reset_post,
      NGX_HTTP_TOTP_GUARD_SESSION,
      NULL },

    { ngx_string("codes"),
      ngx_http_totp_codes,
      ngx_http_totp_codes_post,
      NGX_HTTP_TOTP_GUARD_SESSION,
      ngx_http_totp_codes_saved },

    { ngx_string("codes.txt"),
      ngx_http_totp_codes_file,
      NULL,
      NGX_HTTP_TOTP_GUARD_NONE,
      NULL },

    { ngx_string("logout"),
      ngx_http_totp_account_logout,
      ngx_http_totp_account_logout_post,
      NGX_HTTP_TOTP_GUARD_NONE,
      NULL },

    { ngx_string("forget"),
      ngx_http_totp_account_forget,
      ngx_http_totp_account_forget_post,
      NGX_HTTP_TOTP_GUARD_NONE,
      NULL },

    { ngx_string("style.css"),
      ngx_http_totp_pages_css,
      NULL,
      NGX_HTTP_TOTP_GUARD_NONE,
      NULL },

    /* the end: no such page */
    { ngx_null_string, NULL, NULL, NGX_HTTP_TOTP_GUARD_NONE, NULL }
};


ngx_int_t
ngx_http_totp_pages_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   name;
    ngx_pool_cleanup_t         *cln;
    ngx_http_totp_route_t      *route;
    ngx_http_totp_loc_conf_t   *tlcf;
    ngx_http_totp_page_ctx_t   *ctx;
    ngx_http_totp_pages_conf_t *pages;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_totp_module);
    pages = tlcf->pages;

    /* a page in another's body would set cookies nobody receives */

    if (r != r->main) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: the pages do not answer subrequests");
        return NGX_HTTP_NOT_FOUND;
    }

    if (pages == NULL || pages->profiles.nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: the pages at \"%V\" serve no gated location",
                      pages ? &pages->prefix : &r->uri);
        return NGX_HTTP_NOT_FOUND;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_page_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_totp_pages_wipe;
    cln->data = ctx;

    ctx->state = ngx_http_totp_state(r);
    if (ctx->state == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_totp_module);

    ctx->conf = ngx_http_totp_pages_profile(r, ctx, pages);
    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_LOGIN);
    ctx->view.conf = ctx->conf;
    ctx->view.lang = ngx_http_totp_language(r, ctx->conf->language);
    ctx->view.path = pages->prefix;
    ngx_str_set(&ctx->view.next, "/");

    name = r->uri;

    if (name.len >= pages->prefix.len) {
        name.data += pages->prefix.len;
        name.len -= pages->prefix.len;
    }

    route = (name.len == 0) ? &ngx_http_totp_home_route
                            : ngx_http_totp_routes;

    for ( /* void */ ; route->name.len; route++) {
        if (name.len == route->name.len
            && ngx_strncmp(name.data, route->name.data, name.len) == 0)
        {
            break;
        }
    }

    if (route->get == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_NOT_FOUND,
                                          NGX_HTTP_TOTP_MSG_NOT_FOUND_HEADING,
                                          NGX_HTTP_TOTP_MSG_NOT_FOUND);
    }

    ctx->get = route->get;
    ctx->post = route->post;
    ctx->saved = route->saved;
    ctx->guard = route->guard;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: %V \"%V\", settings of %V",
                   &r->method_name, &route->name, &ctx->conf->where);

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ngx_http_totp_pages_next(r, ctx, NULL);

        return route->get(r, ctx);
    }

    if (r->method != NGX_HTTP_POST || route->post == NULL) {

        /* a 405 says what is allowed (RFC 9110, 15.5.6) */

        if (ngx_http_totp_view_header(r, "Allow", route->post
                                                  ? "GET, HEAD, POST"
                                                  : "GET, HEAD")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_http_totp_csrf_origin(r) != NGX_OK) {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);

        /* left unread, the body would be taken for the next request */

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_totp_flow_message(r, ctx, NGX_HTTP_FORBIDDEN,
                                          NGX_HTTP_TOTP_MSG_FOREIGN_HEADING,
                                          NGX_HTTP_TOTP_MSG_FOREIGN);
    }

    /* no form of the pages comes near it, whatever client_max_body_size */

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

    return NGX_DONE;
}


/*
 * The settings of the gated location that sent the user, named by the
 * pre-session, or by the session on the signed-in pages.  The pages
 * share the cookies of all their gated locations (one user base): those
 * of the first read them.  With several profiles and none named, the
 * first stands in; the login page then sends the user to the console
 * first (ctx->unknown).
 */

static ngx_http_totp_loc_conf_t *
ngx_http_totp_pages_profile(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_pages_conf_t *pages)
{
    ngx_http_totp_loc_conf_t  *conf, **profiles;

    profiles = pages->profiles.elts;

    if (ngx_http_totp_cookie_read(r, profiles[0], TOTP_TOKEN_PRE, &ctx->pre)
        == NGX_OK)
    {
        ctx->has_pre = 1;

        conf = ngx_http_totp_pages_find(pages, ctx->pre.profile);
        if (conf) {
            return conf;
        }
    }

    if (ngx_http_totp_cookie_read(r, profiles[0], TOTP_TOKEN_SESSION,
                                  &ctx->session)
        == NGX_OK)
    {
        conf = ngx_http_totp_pages_find(pages, ctx->session.profile);
        if (conf) {
            return conf;
        }
    }

    ctx->unknown = (pages->profiles.nelts > 1);

    return profiles[0];
}


static ngx_http_totp_loc_conf_t *
ngx_http_totp_pages_find(ngx_http_totp_pages_conf_t *pages, u_char *profile)
{
    ngx_uint_t                  i;
    ngx_http_totp_loc_conf_t  **profiles;

    profiles = pages->profiles.elts;

    for (i = 0; i < pages->profiles.nelts; i++) {
        if (ngx_memcmp(profiles[i]->profile, profile, TOTP_PROFILE_LEN)
            == 0)
        {
            return profiles[i];
        }
    }

    return NULL;
}


static void
ngx_http_totp_pages_body(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_totp_page_pt      get;
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    rc = ngx_http_totp_form_read(r, &ctx->form);

    if (rc != NGX_OK) {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
        ngx_http_finalize_request(r, rc);
        return;
    }

    /*
     * The pre-session ended while the form stood open (or its cookie was
     * lost): nothing is done, and the form comes again with a fresh
     * token and a word on why.  No token of a foreign site's making
     * could get further than this.
     */

    if (!ctx->has_pre) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: form posted without a valid pre-session "
                      "cookie, shown again");

        ngx_http_totp_pages_next(r, ctx, &ctx->form.next);
        ngx_http_totp_pages_forget(ctx);

        ctx->stale = 1;

        /* the name typed stays in the login form; the password does not */

        if (ctx->guard == NGX_HTTP_TOTP_GUARD_FORM
            && ngx_http_totp_user_valid(&ctx->form.user))
        {
            ctx->user = ctx->form.user;
        }

        /*
         * The code pages of a sign-in have lost whose it was with the
         * pre-session: the sign-in starts again at its own form.
         */

        get = (ctx->guard == NGX_HTTP_TOTP_GUARD_PRE
               || ctx->guard == NGX_HTTP_TOTP_GUARD_ENROLL)
              ? ngx_http_totp_signin_login : ctx->get;

        ngx_http_finalize_request(r, get(r, ctx));
        return;
    }

    rc = ngx_http_totp_csrf_check(r, ctx->conf->main, &ctx->pre,
                                  &ctx->form.csrf);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc != NGX_OK) {
        goto refused;
    }

    ngx_http_totp_pages_next(r, ctx, &ctx->form.next);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: form accepted");

    if (ctx->saved && ctx->form.saved.len) {
        rc = ctx->saved(r, ctx);

    } else if (ctx->guard) {
        rc = ngx_http_totp_lockout_attempt(r, ctx);

    } else {
        rc = ctx->post(r, ctx);
    }

    ngx_http_finalize_request(r, rc);

    return;

refused:

    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);

    ngx_http_finalize_request(r,
        ngx_http_totp_flow_message(r, ctx, NGX_HTTP_FORBIDDEN,
                                   NGX_HTTP_TOTP_MSG_BAD_FORM_HEADING,
                                   NGX_HTTP_TOTP_MSG_BAD_FORM));
}


/*
 * Whatever way the request ends, and however long it waits for Redis, the
 * password, codes and a secret the page held are wiped with it (the page
 * sent is the output chain's; nginx frees it unwiped).
 */

static void
ngx_http_totp_pages_wipe(void *data)
{
    ngx_http_totp_page_ctx_t  *ctx = data;

    ngx_http_totp_pages_forget(ctx);

    if (ctx->codes.len) {
        ngx_explicit_memzero(ctx->codes.data, ctx->codes.len);
    }

    totp_wipe(&ctx->secret, sizeof(ngx_http_totp_secret_t));
}

/* the password and the code of a form, wiped and no longer there */

static void
ngx_http_totp_pages_forget(ngx_http_totp_page_ctx_t *ctx)
{
    if (ctx->form.password.len) {
        ngx_explicit_memzero(ctx->form.password.data, ctx->form.password.len);
        ctx->form.password.len = 0;
    }

    if (ctx->form.code.len) {
        ngx_explicit_memzero(ctx->form.code.data, ctx->form.code.len);
        ctx->form.code.len = 0;
    }
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

    /* cppcheck-suppress nullPointerRedundantCheck ; set on every path */
    if (next->data && ngx_http_totp_next_valid(next)) {
        ctx->view.next = *next;
        return;
    }

    if (next->len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: ignored an unsafe \"next\" address");
    }

root:

    ngx_str_set(&ctx->view.next, "/");
}



static ngx_int_t
ngx_http_totp_pages_css(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    if (ngx_http_totp_view_header(r, "Cache-Control", "max-age=3600")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, NGX_HTTP_OK, "text/css",
                                     &ctx->conf->templates->css);
}
