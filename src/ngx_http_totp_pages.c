
/*
 * The gate's pages under totp_path: routing, forms and their CSRF check,
 * the pre-session, where a page sends the user next.
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

#include "ngx_http_totp_pages.h"
#include "ngx_http_totp_session.h"
#include "ngx_http_totp_store.h"


/* base64url of an HMAC-SHA256 truncated to 16 bytes */
#define NGX_HTTP_TOTP_CSRF_LEN    22


static void ngx_http_totp_pages_body(ngx_http_request_t *r);
static void ngx_http_totp_pages_wipe(void *data);
static ngx_int_t ngx_http_totp_pages_origin(ngx_http_request_t *r);
static ngx_uint_t ngx_http_totp_pages_header_in(ngx_http_request_t *r,
    char *name, ngx_str_t *value);
static ngx_int_t ngx_http_totp_pages_csrf_check(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_next(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_str_t *next);
static ngx_int_t ngx_http_totp_pages_attempt(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
static void ngx_http_totp_pages_attempted(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_pages_failure_counted(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_totp_pages_ignore(ngx_http_request_t *r, ngx_int_t rc);
static ngx_int_t ngx_http_totp_pages_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds);


static ngx_http_totp_route_t  ngx_http_totp_routes[] = {

    { ngx_string("login"),
      ngx_http_totp_signin_login,
      ngx_http_totp_signin_login_post,
      NGX_HTTP_TOTP_GUARD_FORM },

    { ngx_string("verify"),
      ngx_http_totp_signin_verify,
      ngx_http_totp_signin_verify_post,
      NGX_HTTP_TOTP_GUARD_PRE },

    { ngx_string("enroll"),
      ngx_http_totp_signin_enroll,
      ngx_http_totp_signin_enroll_post,
      NGX_HTTP_TOTP_GUARD_PRE },

    { ngx_string("recovery"),
      ngx_http_totp_signin_recovery,
      ngx_http_totp_signin_recovery_post,
      NGX_HTTP_TOTP_GUARD_PRE },

    { ngx_string("reset"),
      ngx_http_totp_signin_reset,
      ngx_http_totp_signin_reset_post,
      NGX_HTTP_TOTP_GUARD_SESSION },

    { ngx_string("codes"),
      ngx_http_totp_signin_codes,
      ngx_http_totp_signin_codes_post,
      NGX_HTTP_TOTP_GUARD_SESSION },

    { ngx_string("logout"),
      ngx_http_totp_signin_logout,
      ngx_http_totp_signin_logout_post,
      NGX_HTTP_TOTP_GUARD_NONE },

    { ngx_string("style.css"),
      ngx_http_totp_signin_css,
      NULL,
      NGX_HTTP_TOTP_GUARD_NONE },

    { ngx_null_string, NULL, NULL, NGX_HTTP_TOTP_GUARD_NONE }
};


ngx_int_t
ngx_http_totp_pages_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  name;
    ngx_pool_cleanup_t        *cln;
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

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_totp_pages_wipe;
    cln->data = ctx;

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

        return ngx_http_totp_view_message(r, ctx, NGX_HTTP_NOT_FOUND,
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

    if (ngx_http_totp_pages_origin(r) != NGX_OK) {
        ctx->base.status = NGX_HTTP_TOTP_DENIED;

        /* left unread, the body would be taken for the next request */

        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_totp_view_message(r, ctx, NGX_HTTP_FORBIDDEN,
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
        ctx->base.status = NGX_HTTP_TOTP_DENIED;
        ngx_http_finalize_request(r,
            ngx_http_totp_view_message(r, ctx, NGX_HTTP_FORBIDDEN,
                "Please try again",
                "This form expired or was not sent from this page. "
                "Go back, reload the page and send it again."));
        return;
    }

    ngx_http_totp_pages_next(r, ctx, &ctx->form.next);

    if (ctx->route->guard) {
        rc = ngx_http_totp_pages_attempt(r, ctx);

    } else {
        rc = ctx->route->post(r, ctx);
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * A POST that checks a password or a code first counts as an attempt of
 * its user and client address; a locked one gets 429, the others go on
 * in ngx_http_totp_pages_attempted().
 */

static ngx_int_t
ngx_http_totp_pages_attempt(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char        *epoch;
    totp_token_t  *trust;

    switch (ctx->route->guard) {

    case NGX_HTTP_TOTP_GUARD_FORM:

        if (ctx->base.conf->user) {
            return NGX_HTTP_NOT_ALLOWED;
        }

        ctx->user = ctx->form.user;

        if (!ngx_http_totp_user_valid(&ctx->user)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "totp: client sent an invalid user name");
            ctx->base.status = NGX_HTTP_TOTP_DENIED;
            ngx_str_null(&ctx->user);
            return ngx_http_totp_view_message(r, ctx, NGX_HTTP_BAD_REQUEST,
                       "User name not accepted",
                       "A user name has 1 to 256 characters and no control "
                       "characters.");
        }

        break;

    case NGX_HTTP_TOTP_GUARD_PRE:

        if (ngx_http_totp_pages_first_factor(r, ctx) != NGX_OK) {
            return ngx_http_totp_pages_go(r, ctx, "login");
        }

        break;

    default: /* NGX_HTTP_TOTP_GUARD_SESSION */

        if (ngx_http_totp_pages_signed_in(r, ctx) != NGX_OK) {
            return ngx_http_totp_pages_go(r, ctx, "login");
        }

        /* ctx->session holds the session: the trust token goes elsewhere */
    }

    trust = ngx_palloc(r->pool, sizeof(totp_token_t));
    if (trust == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* Redis checks the trust's epoch against the current enrollment */

    epoch = (ngx_http_totp_cookie_read(r, ctx->base.conf, TOTP_TOKEN_TRUST,
                                       trust)
             == NGX_OK
             && trust->user_len == ctx->user.len
             && ngx_memcmp(trust->user, ctx->user.data, ctx->user.len) == 0)
            ? trust->epoch : NULL;

    if (ngx_http_totp_store_attempt(r, &ctx->user, ctx->base.conf, epoch,
                                    &ctx->settled,
                                    ngx_http_totp_pages_attempted)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_attempted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->settled > 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: user \"%V\" refused: locked for %i s more",
                      &ctx->user, ctx->settled);
        rc = ngx_http_totp_pages_locked(r, ctx, ctx->settled);

    } else {
        ctx->counted = 1;
        rc = ctx->route->post(r, ctx);
    }

    ngx_http_totp_pages_done(r, rc);
}


/*
 * A wrong password or code: counted, then the page again with its error,
 * or 429 if this failure locked the user or the address.
 */

ngx_int_t
ngx_http_totp_pages_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event, ngx_http_totp_show_pt show,
    char *error)
{
    ngx_http_totp_pages_audit(r, ctx, event);

    /* the attempt's count stays: it was a failure */

    ctx->counted = 0;
    ctx->base.status = NGX_HTTP_TOTP_DENIED;
    ctx->show = show;
    ctx->error = error;

    if (ngx_http_totp_store_settle(r, &ctx->user, ctx->base.conf, "fail",
                                   &ctx->settled,
                                   ngx_http_totp_pages_failure_counted)
        != NGX_OK)
    {
        return ngx_http_totp_pages_done_error(r, ctx);
    }

    ngx_http_totp_pages_async(r);

    return NGX_DONE;
}


static void
ngx_http_totp_pages_failure_counted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_totp_page_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (rc != NGX_OK) {
        rc = ngx_http_totp_pages_done_error(r, ctx);

    } else if (ctx->settled) {
        if (ctx->settled & 1) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "totp: user \"%V\" locked for %T s after %ui "
                          "failures", &ctx->user, ctx->base.conf->lockout,
                          ctx->base.conf->fail.limit);
        }

        if (ctx->settled & 2) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "totp: client address locked for %T s after %ui "
                          "failures", ctx->base.conf->lockout,
                          ctx->base.conf->fail_ip.limit);
        }

        rc = ngx_http_totp_pages_locked(r, ctx, ctx->base.conf->lockout);

    } else {
        rc = ctx->show(r, ctx, NGX_HTTP_UNAUTHORIZED, ctx->error);
    }

    ngx_http_totp_pages_done(r, rc);
}


/*
 * A right password ("first") or second factor ("pass"): the attempt's
 * count is given back, without waiting for Redis to say so; once, and
 * only if this request was counted.
 */

void
ngx_http_totp_pages_succeeded(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *outcome)
{
    if (!ctx->counted) {
        return;
    }

    ctx->counted = 0;

    (void) ngx_http_totp_store_settle(r, &ctx->user, ctx->base.conf, outcome,
                                      &ctx->settled,
                                      ngx_http_totp_pages_ignore);
}


static void
ngx_http_totp_pages_ignore(ngx_http_request_t *r, ngx_int_t rc)
{
    /* a count not given back is a failure more: it errs on the safe side */
}


static ngx_int_t
ngx_http_totp_pages_locked(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t seconds)
{
    u_char  *p, *message;

    ctx->base.status = NGX_HTTP_TOTP_LOCKED;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 200);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    message = p;

    (void) ngx_sprintf(p, "Sign-in is paused after too many failed attempts. "
                          "Try again in %i minute%s. If these attempts "
                          "were not yours, tell your administrator.%Z",
                       (seconds + 59) / 60,
                       (seconds + 59) / 60 == 1 ? "" : "s");

    if (ngx_http_totp_view_retry_after(r, seconds) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_message(r, ctx, NGX_HTTP_TOO_MANY_REQUESTS,
                                      "Too many attempts", (char *) message);
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

    if (ctx->form.password.len) {
        ngx_explicit_memzero(ctx->form.password.data, ctx->form.password.len);
    }

    if (ctx->form.code.len) {
        ngx_explicit_memzero(ctx->form.code.data, ctx->form.code.len);
    }

    if (ctx->codes.len) {
        ngx_explicit_memzero(ctx->codes.data, ctx->codes.len);
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));
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
    u_char      *p, *end;
    ngx_str_t    origin, host, site;
    ngx_uint_t   n;

    n = ngx_http_totp_pages_header_in(r, "Origin", &origin);

    if (n == 0) {
        return NGX_OK;
    }

    if (n > 1) {
        goto foreign;
    }

    /*
     * Under "Referrer-Policy: no-referrer", which the contract asks of the
     * pages, Chromium sends "Origin: null" even for a form of the page's
     * own; Sec-Fetch-Site, which no page can set, then says whether it
     * was.  The CSRF token is checked all the same.
     */

    if (origin.len == 4 && ngx_strncmp(origin.data, "null", 4) == 0) {
        if (ngx_http_totp_pages_header_in(r, "Sec-Fetch-Site", &site) == 1
            && site.len == sizeof("same-origin") - 1
            && ngx_strncasecmp(site.data, (u_char *) "same-origin",
                               sizeof("same-origin") - 1)
               == 0)
        {
            return NGX_OK;
        }

        goto foreign;
    }

    if (r->headers_in.host == NULL) {
        goto foreign;
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
        goto foreign;
    }

    if ((size_t) (end - p) == host.len
        && ngx_strncasecmp(p, host.data, host.len) == 0)
    {
        return NGX_OK;
    }

foreign:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: form posted from foreign origin \"%V\"", &origin);

    return NGX_DECLINED;
}


/* how many times the request has the header; value: the last one */

static ngx_uint_t
ngx_http_totp_pages_header_in(ngx_http_request_t *r, char *name,
    ngx_str_t *value)
{
    size_t            len;
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    len = ngx_strlen(name);

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

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            *value = h[i].value;
            n++;
        }
    }

    return n;
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

ngx_int_t
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


ngx_int_t
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

ngx_int_t
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

ngx_int_t
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

    /* cppcheck-suppress nullPointerRedundantCheck ; set on every path */
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

ngx_int_t
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

    if (ngx_http_totp_view_url(r, ctx, page, &url) != NGX_OK
        || ngx_http_totp_view_headers(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_redirect(r, &url);
}


/* signed in: a session (and the trust cookie if asked), then "next" */

ngx_int_t
ngx_http_totp_pages_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust)
{
    ngx_str_t  next;

    if (ngx_http_totp_pages_sign_in(r, ctx, trust) != NGX_OK
        || ngx_http_totp_view_headers(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    next = ctx->next;

    return ngx_http_totp_redirect(r, &next);
}


/* the cookies of a signed-in user: a session, trust if asked for */

ngx_int_t
ngx_http_totp_pages_sign_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust)
{
    u_char        *p;
    totp_token_t  *t;

    /* ctx->user may point into ctx->session: build in place, by a copy */

    t = ngx_pcalloc(r->pool, sizeof(totp_token_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(t->user, ctx->user.data, ctx->user.len);
    t->user_len = ctx->user.len;
    ngx_memcpy(t->epoch, ctx->rec.epoch, TOTP_EPOCH_LEN);

    if (ctx->recovered) {
        t->flags = NGX_HTTP_TOTP_SESSION_RECOVERED;
    }

    if (ngx_http_totp_issue_session(r, ctx->base.conf, t) != NGX_OK) {
        return NGX_ERROR;
    }

    if (trust && ctx->base.conf->trust_ttl
        && ctx->form.trust.len == 1 && ctx->form.trust.data[0] == '1'
        && ngx_http_totp_issue_trust(r, ctx->base.conf, &ctx->user,
                                     ctx->rec.epoch)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->base.status = ctx->trusted ? NGX_HTTP_TOTP_TRUSTED
                                    : NGX_HTTP_TOTP_VERIFIED;

    p = ngx_pnalloc(r->pool, ctx->user.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->base.user.data = p;
    ctx->base.user.len = ctx->user.len;
    ngx_memcpy(p, ctx->user.data, ctx->user.len);

    /* the pre-session has served its purpose */

    return ngx_http_totp_cookie_clear(r, ctx->base.conf, TOTP_TOKEN_PRE);
}


/* Redis could not be asked or did not answer: never a pass, a 503 page */

ngx_int_t
ngx_http_totp_pages_done_error(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ctx->base.status = NGX_HTTP_TOTP_ERROR;

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    return ngx_http_totp_view_message(r, ctx, NGX_HTTP_SERVICE_UNAVAILABLE,
               "Sign-in is unavailable",
               "The sign-in service cannot be reached right now. "
               "Try again in a moment.");
}


/*
 * The page waits for Redis: a client that leaves cancels the command, and
 * a write event must not run the phases, and so the page, once more.
 */

void
ngx_http_totp_pages_async(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->main->count++;
}


void
ngx_http_totp_pages_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


void
ngx_http_totp_pages_audit(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event)
{
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "totp: user \"%V\" %s", &ctx->user, event);
}
