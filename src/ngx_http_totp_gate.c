
/*
 * The gate in front of a location with "totp on".
 *
 * It runs in the precontent phase, after every access-phase module: the
 * identity totp_user names has then been established by auth_basic,
 * auth_request or whatever the admin put first, and "satisfy any" cannot
 * skip it.  A valid session passes on a local HMAC check plus, at most
 * once per totp_revalidate and session, one Redis round trip shared by all
 * workers through the revalidation cache (ngx_http_totp_session.c).
 * Anything else is sent to the pages, or denied; nothing is ever let
 * through on an error.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_audit.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_form.h"
#include "ngx_http_totp_gate.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_session.h"
#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_state.h"
#include "ngx_http_totp_view.h"


/* the gate's progress through a request, ctx->step */
enum {
    NGX_HTTP_TOTP_GATE_START = 0,
    NGX_HTTP_TOTP_GATE_SESSION,
    NGX_HTTP_TOTP_GATE_NO_SESSION,
    NGX_HTTP_TOTP_GATE_TRUST,
    NGX_HTTP_TOTP_GATE_TRUSTED
};


typedef struct {
    ngx_http_totp_state_t       *state;       /* what the variables show */
    ngx_http_totp_loc_conf_t    *conf;
    ngx_str_t                    identity;    /* totp_user's value */

    ngx_uint_t                   step;
    ngx_int_t                    rc;          /* the verdict */

    totp_token_t                 token;       /* the cookie being checked */
    ngx_http_totp_check_t        check;       /* its check against Redis */

    /* a trusted browser's new session, being registered */
    ngx_http_totp_begin_t       *begin;
    ngx_int_t                    begin_rc;

    unsigned                     waiting:1;
} ngx_http_totp_gate_ctx_t;


static ngx_int_t ngx_http_totp_gate_decide(ngx_http_request_t *r);
static ngx_int_t ngx_http_totp_gate_refuse(ngx_http_request_t *r,
    ngx_int_t status);
static ngx_uint_t ngx_http_totp_gate_refusal(ngx_int_t status);
static ngx_int_t ngx_http_totp_gate_run(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_live(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_trusted(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_wait(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static void ngx_http_totp_gate_answered(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_gate_registered(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_gate_no_session(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_identity(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_pass(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx, ngx_uint_t status);
static ngx_int_t ngx_http_totp_gate_to_login(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);
static ngx_int_t ngx_http_totp_gate_challenge(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx);


ngx_int_t
ngx_http_totp_gate_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_totp_gate_decide(r);

    if (rc == NGX_DECLINED || rc == NGX_AGAIN) {
        return rc;
    }

    return ngx_http_totp_gate_refuse(r, rc);
}


/*
 * A refusal is sent here rather than returned.  Returned, it would be a
 * special response, and "error_page 503 = @backup", "error_page 401 302
 * /x" and the like would turn it into an internal redirect, method and
 * body included, to wherever the admin points, a location without the
 * gate.  Sent, it reaches the client as it is.  When even that fails,
 * the connection is closed: never a pass.
 */

static ngx_int_t
ngx_http_totp_gate_refuse(ngx_http_request_t *r, ngx_int_t status)
{
    ngx_int_t  rc;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp gate: refused with %i", status);

    ngx_http_totp_count(ngx_http_totp_gate_refusal(status));

    rc = ngx_http_discard_request_body(r);

    if (rc == NGX_OK) {
        rc = ngx_http_totp_view_refusal(r, status > NGX_OK ? status
                                          : NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    ngx_http_finalize_request(r, rc > NGX_OK ? NGX_ERROR : rc);

    return NGX_DONE;
}


/* the counter of a refusal: why, by what the client is told */

static ngx_uint_t
ngx_http_totp_gate_refusal(ngx_int_t status)
{
    switch (status) {

    case NGX_HTTP_MOVED_TEMPORARILY:
    case NGX_HTTP_UNAUTHORIZED:
        return NGX_HTTP_TOTP_REFUSAL_LOGIN;

    case NGX_HTTP_BAD_REQUEST:
        return NGX_HTTP_TOTP_REFUSAL_BAD_REQUEST;

    case NGX_HTTP_FORBIDDEN:
        return NGX_HTTP_TOTP_REFUSAL_FORBIDDEN;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        return NGX_HTTP_TOTP_REFUSAL_LOCKED;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return NGX_HTTP_TOTP_REFUSAL_UNAVAILABLE;

    default:
        return NGX_HTTP_TOTP_REFUSAL_ERROR;
    }
}


static ngx_int_t
ngx_http_totp_gate_decide(ngx_http_request_t *r)
{
    ngx_str_t                  binding;
    ngx_http_totp_state_t     *state;
    ngx_http_totp_gate_ctx_t  *ctx;
    ngx_http_totp_loc_conf_t  *conf;

    conf = ngx_http_get_module_loc_conf(r, ngx_http_totp_module);

    if (!conf->enable) {
        return NGX_DECLINED;
    }

    /*
     * A subrequest (SSI, auth_request, mirror...) cannot sign in: it acts
     * for its main request, which must have passed a gate of this very
     * user base.
     */

    if (r != r->main) {
        state = ngx_http_totp_state_find(r);

        if (ngx_http_totp_cookie_binding(r, conf, &binding) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (state && ngx_http_totp_state_passed(state, &binding)) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "totp gate: subrequest \"%V\" passes for its "
                           "main request",
                           ngx_http_totp_log_escape(r->pool, &r->uri));
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: subrequest \"%V\" refused: its main request "
                      "passed no gate of this user base",
                      ngx_http_totp_log_escape(r->pool, &r->uri));

        return NGX_HTTP_FORBIDDEN;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_totp_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_gate_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->state = ngx_http_totp_state(r);
        if (ctx->state == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_totp_module);
    }

    if (ctx->waiting) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp gate: still waiting for redis");
        return NGX_AGAIN;
    }

    if (ctx->conf != conf) {

        /* a first visit, or an internal redirect to another location */

        ctx->conf = conf;
        ctx->step = NGX_HTTP_TOTP_GATE_START;
        ngx_memzero(&ctx->check, sizeof(ngx_http_totp_check_t));
        ctx->rc = NGX_DONE;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp gate: \"%V\" at %V",
                       ngx_http_totp_log_escape(r->pool, &r->uri),
                       &conf->where);

        /* a gate before the redirect took its cookies out of the headers */

        if (ctx->state->cookies) {
            ngx_http_totp_cookie_restore(r, ctx->state->cookies);
        }
    }

    if (ctx->rc == NGX_DONE) {
        ctx->rc = ngx_http_totp_gate_run(r, ctx);
    }

    if (ctx->rc == NGX_AGAIN) {
        ctx->rc = NGX_DONE;
        return NGX_AGAIN;
    }

    return ctx->rc;
}


static ngx_int_t
ngx_http_totp_gate_run(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_totp_audit_event_t   ev;

    for ( ;; ) {

        switch (ctx->step) {

        case NGX_HTTP_TOTP_GATE_START:

            rc = ngx_http_totp_gate_identity(r, ctx);

            if (rc != NGX_OK) {
                return rc;
            }

            /*
             * With totp_user, a session counts only for the identity the
             * earlier authentication established now: a browser that
             * holds alice's session and bob's credentials is not alice.
             */

            if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_SESSION,
                                          &ctx->token)
                == NGX_OK
                && (ctx->conf->user == NULL
                    || (ctx->token.user_len == ctx->identity.len
                        && ngx_memcmp(ctx->token.user, ctx->identity.data,
                                      ctx->identity.len)
                           == 0)))
            {
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "totp gate: a valid session cookie");
                ctx->step = NGX_HTTP_TOTP_GATE_SESSION;

            } else {
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "totp gate: no valid session cookie");
                ctx->step = NGX_HTTP_TOTP_GATE_NO_SESSION;
            }

            break;

        case NGX_HTTP_TOTP_GATE_SESSION:

            rc = ngx_http_totp_gate_live(r, ctx);

            if (rc == NGX_OK) {
                return ngx_http_totp_gate_pass(r, ctx,
                                               NGX_HTTP_TOTP_SESSION);
            }

            if (rc != NGX_DECLINED) {
                return rc;
            }

            /* signed out, revoked, reset: the cookie is no session */

            ctx->step = NGX_HTTP_TOTP_GATE_NO_SESSION;
            break;

        case NGX_HTTP_TOTP_GATE_NO_SESSION:

            rc = ngx_http_totp_gate_no_session(r, ctx);

            if (rc != NGX_DECLINED) {
                return rc;
            }

            ctx->step = NGX_HTTP_TOTP_GATE_TRUST;
            break;

        case NGX_HTTP_TOTP_GATE_TRUST:

            rc = ngx_http_totp_gate_live(r, ctx);

            if (rc == NGX_DECLINED) {
                return ngx_http_totp_gate_to_login(r, ctx);
            }

            if (rc != NGX_OK) {
                return rc;
            }

            ctx->step = NGX_HTTP_TOTP_GATE_TRUSTED;

            return ngx_http_totp_gate_trusted(r, ctx);

        default: /* NGX_HTTP_TOTP_GATE_TRUSTED */

            if (ctx->begin_rc == NGX_DECLINED) {
                return ngx_http_totp_gate_to_login(r, ctx);
            }

            if (ctx->begin_rc != NGX_OK) {
                ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
                return NGX_HTTP_SERVICE_UNAVAILABLE;
            }

            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "totp: user \"%V\" let in by a trusted browser",
                          ngx_http_totp_log_escape(r->pool, &ctx->identity));

            ev.what = NGX_HTTP_TOTP_AUDIT_TRUSTED_PASS;
            ev.user = &ctx->identity;
            ev.client_key = NULL;
            ev.codes_left = -1;

            ngx_http_totp_audit(r, ctx->conf->audit_log, &ctx->conf->realm,
                                &ctx->conf->location, &ev);

            return ngx_http_totp_gate_pass(r, ctx, NGX_HTTP_TOTP_TRUSTED);
        }
    }
}


/*
 * Whether ctx->token is live on the server: NGX_OK, NGX_DECLINED when it
 * ended; NGX_AGAIN while Redis is asked; an HTTP status when it cannot be
 * known.
 */

static ngx_int_t
ngx_http_totp_gate_live(ngx_http_request_t *r, ngx_http_totp_gate_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_totp_session_check(r, ctx->conf, &ctx->token, &ctx->check,
                                     ngx_http_totp_gate_answered, ctx);

    if (rc == NGX_AGAIN) {
        return ngx_http_totp_gate_wait(r, ctx);
    }

    if (rc == NGX_ERROR) {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return rc;
}


/*
 * A browser trusted for the identity totp_user names gets a session of
 * its own, registered like any other.
 */

static ngx_int_t
ngx_http_totp_gate_trusted(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    ngx_http_totp_begin_t  *b;

    b = ngx_pcalloc(r->pool, sizeof(ngx_http_totp_begin_t));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->conf = ctx->conf;
    b->user = ctx->identity;
    ngx_memcpy(b->epoch, ctx->token.epoch, TOTP_EPOCH_LEN);

    ctx->begin = b;

    if (ngx_http_totp_session_begin(r, b, ngx_http_totp_gate_registered,
                                    ctx)
        != NGX_OK)
    {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_ERROR);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return ngx_http_totp_gate_wait(r, ctx);
}


/* a client that leaves ends the wait; the command is cancelled */

static ngx_int_t
ngx_http_totp_gate_wait(ngx_http_request_t *r, ngx_http_totp_gate_ctx_t *ctx)
{
    r->read_event_handler = ngx_http_test_reading;
    ctx->waiting = 1;

    return NGX_AGAIN;
}


static void
ngx_http_totp_gate_registered(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_gate_ctx_t  *ctx = data;

    ctx->begin_rc = rc;

    ngx_http_totp_gate_answered(r, ctx, rc);
}


/* Redis answered: the phases run again, and the gate goes on */

static void
ngx_http_totp_gate_answered(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_connection_t          *c;
    ngx_http_totp_gate_ctx_t  *ctx = data;

    c = r->connection;
    ctx->waiting = 0;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "totp gate: redis answered rc:%i", rc);

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);

    ngx_http_run_posted_requests(c);
}


/*
 * No valid session.  With totp_user, the identity an earlier module set
 * may still be trusted by this browser (NGX_DECLINED: check the trust
 * cookie); anything else goes to the login page, or is refused.
 */

static ngx_int_t
ngx_http_totp_gate_no_session(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
        return ngx_http_totp_gate_challenge(r, ctx);
    }

    if (ctx->conf->user == NULL) {
        return ngx_http_totp_gate_to_login(r, ctx);
    }

    if (ngx_http_totp_cookie_trust(r, ctx->conf, &ctx->identity, &ctx->token)
        == NGX_OK)
    {
        return NGX_DECLINED;
    }

    return ngx_http_totp_gate_to_login(r, ctx);
}


/* with totp_user: the identity that the earlier authentication set */

static ngx_int_t
ngx_http_totp_gate_identity(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    ngx_str_t  user;

    if (ctx->conf->user == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, ctx->conf->user, &user) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* 400 for a user name that is empty or malformed, as the pages do */

    if (user.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: \"totp_user\" is empty: no earlier "
                      "authentication established who this is");
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
        return NGX_HTTP_BAD_REQUEST;
    }

    if (!ngx_http_totp_user_valid(&user)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: \"totp_user\" is not a valid user name");
        ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_DENIED);
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->identity = user;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_gate_pass(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx, ngx_uint_t status)
{
    ngx_str_t  binding;

    /* the console, and whatever it logs, never sees the gate's cookies */

    if (ngx_http_totp_cookie_binding(r, ctx->conf, &binding) != NGX_OK
        || ngx_http_totp_state_pass(r, ctx->state, status, ctx->token.user,
                                    ctx->token.user_len, &binding)
           != NGX_OK
        || ngx_http_totp_cookie_strip(r, &ctx->state->cookies) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_TOTP_SESSION) {
        /* a trusted browser's pass is its audit event's to count */
        ngx_http_totp_count(NGX_HTTP_TOTP_PASS_SESSION);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp gate: pass \"%V\" (%V)",
                   ngx_http_totp_log_escape(r->pool, &ctx->state->user),
                   ngx_http_totp_state_name(status));

    /* NGX_DECLINED, not NGX_OK: try_files and others still have to run */

    return NGX_DECLINED;
}


/*
 * 302 to the login page, with the address first asked for.  The pages
 * sign the user in under this location's settings, which the pre-session
 * names (its profile).  A pre-session the browser holds keeps its nonce,
 * so that a form open in another tab still posts, and the user who passed
 * the first factor, which this location shares with its pages.  With
 * totp_user, the identity is handed over in it: the pages must not
 * evaluate totp_user themselves, since the earlier authentication guards
 * this location, not necessarily theirs.
 */

static ngx_int_t
ngx_http_totp_gate_to_login(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    u_char        *p, *nonce, *invite;
    ngx_int_t      rc;
    ngx_str_t      next, location, user, *name;
    ngx_uint_t     flags;
    totp_token_t  *pre;

    ngx_http_totp_state_set(ctx->state, NGX_HTTP_TOTP_LOGIN);

    pre = ngx_palloc(r->pool, sizeof(totp_token_t));
    if (pre == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nonce = NULL;
    invite = NULL;
    name = NULL;
    flags = 0;

    if (ngx_http_totp_cookie_read(r, ctx->conf, TOTP_TOKEN_PRE, pre)
        != NGX_OK)
    {
        pre->user_len = 0;
        pre->flags = 0;

    } else {
        nonce = pre->nonce;

        if (pre->flags
            & (NGX_HTTP_TOTP_PRE_FIRST|NGX_HTTP_TOTP_PRE_INVITED))
        {
            user.data = pre->user;
            user.len = pre->user_len;
            name = &user;
            flags = pre->flags & NGX_HTTP_TOTP_PRE_FIRST;
        }
    }

    if (ctx->conf->user) {
        name = &ctx->identity;
        flags = NGX_HTTP_TOTP_PRE_FIRST;
    }

    /* an invitation opened before goes on, for the user it names only */

    if ((pre->flags & NGX_HTTP_TOTP_PRE_INVITED)
        && name
        && pre->user_len
        && name->len == pre->user_len
        && ngx_memcmp(name->data, pre->user, pre->user_len) == 0)
    {
        flags |= NGX_HTTP_TOTP_PRE_INVITED;
        invite = pre->epoch;
    }

    /*
     * The password a pre-session says was typed is not typed again by
     * coming back here: it keeps its time.  totp_user's identity is
     * proven afresh at each request.
     */

    if (ctx->conf->user == NULL && (pre->flags & NGX_HTTP_TOTP_PRE_FIRST)) {
        rc = ngx_http_totp_cookie_keep_pre(r, ctx->conf, pre, pre->expires);

    } else {
        rc = ngx_http_totp_issue_pre(r, ctx->conf, name, flags, nonce, invite,
                                     NULL);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_totp_escape(r->pool, &r->unparsed_uri, &next) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location.len = ctx->conf->path.len + sizeof("login?next=") - 1 + next.len;

    p = ngx_pnalloc(r->pool, location.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location.data = p;
    ngx_sprintf(p, "%Vlogin?next=%V", &ctx->conf->path, &next);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp gate: to the login page \"%V\"", &location);

    return ngx_http_totp_view_redirect(r, &location);
}


/*
 * A request that cannot be redirected to a login (POST, PUT, an API
 * call) is refused with 401 and the challenge RFC 9110 asks for: its own
 * scheme, never "Basic", lest a browser offer a password dialog that
 * leads nowhere; where to sign in is in its parameters.
 */

static ngx_int_t
ngx_http_totp_gate_challenge(ngx_http_request_t *r,
    ngx_http_totp_gate_ctx_t *ctx)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                 *realm, challenge;
    ngx_uint_t                 i;
    ngx_table_elt_t           *h;
    ngx_http_core_srv_conf_t  *cscf;

    realm = &ctx->conf->realm;

    if (realm->len == 0) {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        realm = &cscf->server_name;
    }

    len = sizeof("TOTP realm=\"\", login=\"login\"") - 1
          + 2 * realm->len + ctx->conf->path.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    challenge.data = p;

    p = ngx_cpymem(p, "TOTP realm=\"", sizeof("TOTP realm=\"") - 1);

    /* a quoted-string: the server name is the admin's, escaped all same */

    for (i = 0; i < realm->len; i++) {
        if (realm->data[i] == '"' || realm->data[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = realm->data[i];
    }

    p = ngx_sprintf(p, "\", login=\"%Vlogin\"", &ctx->conf->path);

    challenge.len = p - challenge.data;

    h = ngx_http_totp_view_push(r, "WWW-Authenticate", &challenge);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp gate: %V without a session refused",
                   &r->method_name);

    return NGX_HTTP_UNAUTHORIZED;
}
