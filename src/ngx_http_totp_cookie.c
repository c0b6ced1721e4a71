
/*
 * The gate's cookies: session, trust and pre-session.
 *
 * A cookie's value is a token (see ngx_http_totp_crypto.h): a versioned
 * payload signed under a key derived for that cookie's purpose only, so a
 * trust cookie can never pass for a session, nor a pre-session for either.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_view.h"


static ngx_int_t ngx_http_totp_cookie_find(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_uint_t ngx_http_totp_cookie_is_secure(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf);
static void ngx_http_totp_cookie_name(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *name);
static ngx_int_t ngx_http_totp_cookie_add(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *value,
    time_t max_age);


static ngx_uint_t  ngx_http_totp_token_keys[] = {
    ['s'] = TOTP_KEY_SESSION,
    ['t'] = TOTP_KEY_TRUST,
    ['p'] = TOTP_KEY_PRE
};


ngx_int_t
ngx_http_totp_cookie_read(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, totp_token_t *t)
{
    int                         rc;
    time_t                      ttl;
    ngx_str_t                   name, value;
    ngx_uint_t                  i;
    const unsigned char        *keys[2];
    ngx_http_totp_main_conf_t  *mcf;

    ngx_http_totp_cookie_name(r, conf, purpose, &name);

    if (ngx_http_totp_cookie_find(r, &name, &value) != NGX_OK) {
        return NGX_DECLINED;
    }

    mcf = conf->main;

    for (i = 0; i < mcf->nkeys; i++) {
        keys[i] = conf->keys[i].key[ngx_http_totp_token_keys[purpose]];
    }

    rc = totp_token_decode(t, value.data, value.len, purpose, keys,
                           mcf->nkeys, ngx_time());

    if (rc == TOTP_TOKEN_OK) {

        /*
         * A cookie lasts as long as the settings of the location that
         * reads it allow, whatever those it was made under: a session
         * made where sessions last 12 hours is no session after 1 hour
         * where they last 1 hour, and trust ends for every browser where
         * totp_trust_ttl is off.
         */

        ttl = (purpose == TOTP_TOKEN_SESSION) ? conf->session_ttl
              : (purpose == TOTP_TOKEN_TRUST) ? conf->trust_ttl
              : NGX_HTTP_TOTP_PRE_TTL;

        if (ngx_time() - t->issued >= ttl) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "totp: cookie \"%V\" older than %T s here",
                           &name, ttl);
            totp_wipe(t, sizeof(totp_token_t));
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    /*
     * An expired cookie is everyday life; one that does not verify was
     * altered, or signed by a key no longer configured.
     */

    if (rc == TOTP_TOKEN_EXPIRED) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp: expired cookie \"%V\"", &name);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent invalid cookie \"%V\"", &name);
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_cookie_write(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, time_t max_age)
{
    u_char                     *p;
    ngx_str_t                   value;

    p = ngx_pnalloc(r->pool, totp_token_encoded_len(t->user_len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = totp_token_encode(p, t,
                      conf->keys[0].key[ngx_http_totp_token_keys[t->purpose]]);

    if (value.len == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot sign a cookie");
        return NGX_ERROR;
    }

    return ngx_http_totp_cookie_add(r, conf, t->purpose, &value, max_age);
}


ngx_int_t
ngx_http_totp_cookie_clear(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose)
{
    ngx_str_t  empty = ngx_null_string;

    return ngx_http_totp_cookie_add(r, conf, purpose, &empty, 0);
}


ngx_int_t
ngx_http_totp_issue_session(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *token)
{
    ngx_int_t     rc;
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_SESSION;
    t.flags = token->flags;
    t.issued = ngx_time();
    t.expires = t.issued + conf->session_ttl;
    ngx_memcpy(t.profile, conf->profile, TOTP_PROFILE_LEN);
    ngx_memcpy(t.epoch, token->epoch, TOTP_EPOCH_LEN);
    ngx_memcpy(t.user, token->user, token->user_len);
    t.user_len = token->user_len;

    if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    rc = ngx_http_totp_cookie_write(r, conf, &t, conf->session_ttl);

    totp_wipe(&t, sizeof(totp_token_t));

    return rc;
}


ngx_int_t
ngx_http_totp_issue_trust(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, u_char *epoch)
{
    ngx_int_t     rc;
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_TRUST;
    t.issued = ngx_time();
    t.expires = t.issued + conf->trust_ttl;
    ngx_memcpy(t.profile, conf->profile, TOTP_PROFILE_LEN);
    ngx_memcpy(t.epoch, epoch, TOTP_EPOCH_LEN);
    ngx_memcpy(t.user, user->data, user->len);
    t.user_len = user->len;

    if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    rc = ngx_http_totp_cookie_write(r, conf, &t, conf->trust_ttl);

    totp_wipe(&t, sizeof(totp_token_t));

    return rc;
}


ngx_int_t
ngx_http_totp_issue_pre(ngx_http_request_t *r, ngx_http_totp_loc_conf_t *conf,
    ngx_str_t *user, ngx_uint_t flags, u_char *nonce, totp_token_t *token)
{
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_PRE;
    t.flags = (u_char) flags;
    t.issued = ngx_time();
    t.expires = t.issued + NGX_HTTP_TOTP_PRE_TTL;
    ngx_memcpy(t.profile, conf->profile, TOTP_PROFILE_LEN);

    if (user) {
        ngx_memcpy(t.user, user->data, user->len);
        t.user_len = user->len;
    }

    if (nonce) {
        ngx_memcpy(t.nonce, nonce, TOTP_NONCE_LEN);

    } else if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    if (token) {
        *token = t;
    }

    return ngx_http_totp_cookie_write(r, conf, &t, NGX_HTTP_TOTP_PRE_TTL);
}


/*
 * The first cookie of exactly this name.  nginx's own lookup ignores the
 * case of names, and so would take "__HOST-totp_session", which a browser
 * may accept from a sibling subdomain, for the "__Host-" one it refuses.
 */

static ngx_int_t
ngx_http_totp_cookie_find(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char           *p, *end, *start, *eq;
    ngx_table_elt_t  *h;
#if (nginx_version < 1023000)
    ngx_uint_t        i;
    ngx_table_elt_t **hh;

    hh = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hh[i];
#else
    for (h = r->headers_in.cookie; h; h = h->next) {
#endif

        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {

            while (p < end && (*p == ' ' || *p == ';' || *p == '\t')) {
                p++;
            }

            start = p;

            while (p < end && *p != ';') {
                p++;
            }

            eq = ngx_strlchr(start, p, '=');

            if (eq && (size_t) (eq - start) == name->len
                && ngx_strncmp(start, name->data, name->len) == 0)
            {
                value->data = eq + 1;
                value->len = p - value->data;

                while (value->len && (value->data[value->len - 1] == ' '
                                      || value->data[value->len - 1] == '\t'))
                {
                    value->len--;
                }

                return NGX_OK;
            }
        }
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_totp_cookie_is_secure(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf)
{
    if (conf->cookie_secure != NGX_HTTP_TOTP_COOKIE_AUTO) {
        return conf->cookie_secure == NGX_HTTP_TOTP_COOKIE_ON;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return 1;
    }
#endif

    return 0;
}


/*
 * Secure cookies carry the __Host- prefix: a browser then refuses them
 * unless they came over https for this very host with Path=/, so that a
 * sibling subdomain cannot plant a session or a CSRF cookie.  The names,
 * with the realm's suffix, are made with the configuration.
 */

static void
ngx_http_totp_cookie_name(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *name)
{
    ngx_uint_t  i;

    i = (purpose == TOTP_TOKEN_SESSION) ? 0
        : (purpose == TOTP_TOKEN_TRUST) ? 1 : 2;

    *name = conf->cookie_names[ngx_http_totp_cookie_is_secure(r, conf)][i];
}


static ngx_int_t
ngx_http_totp_cookie_add(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *value,
    time_t max_age)
{
    size_t       len;
    u_char      *p;
    ngx_str_t    name, header;
    ngx_uint_t   secure;

    ngx_http_totp_cookie_name(r, conf, purpose, &name);
    secure = ngx_http_totp_cookie_is_secure(r, conf);

    len = name.len + 1 + value->len
          + sizeof("; Path=/; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; HttpOnly; SameSite=Strict; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    header.data = p;

    p = ngx_sprintf(p, "%V=%V; Path=/; Max-Age=%T; HttpOnly", &name, value,
                    max_age);

    /*
     * Strict for trust: a browser is trusted only for logins it starts
     * itself, never for a request another site made it send.
     */

    if (purpose == TOTP_TOKEN_TRUST) {
        p = ngx_cpymem(p, "; SameSite=Strict", sizeof("; SameSite=Strict") - 1);

    } else {
        p = ngx_cpymem(p, "; SameSite=Lax", sizeof("; SameSite=Lax") - 1);
    }

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    header.len = p - header.data;

    return ngx_http_totp_view_push(r, "Set-Cookie", &header) ? NGX_OK
                                                              : NGX_ERROR;
}


