
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
#include "ngx_http_totp_seen.h"
#include "ngx_http_totp_view.h"


static ngx_int_t ngx_http_totp_cookie_keys(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose,
    const unsigned char **keys, u_char bound[][TOTP_KEY_LEN]);
static ngx_int_t ngx_http_totp_cookie_find(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_uint_t ngx_http_totp_cookie_has_gates(ngx_str_t *value);
static ngx_uint_t ngx_http_totp_cookie_is_gates(u_char *name, size_t len);
static ngx_table_elt_t *ngx_http_totp_cookie_header(ngx_http_request_t *r,
    ngx_uint_t n);
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
    int                    rc;
    u_char                 bound[2][TOTP_KEY_LEN];
    time_t                 ttl;
    ngx_str_t              name, value;
    const unsigned char   *keys[2];

    ngx_http_totp_cookie_name(r, conf, purpose, &name);

    if (ngx_http_totp_cookie_find(r, &name, &value) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (ngx_http_totp_cookie_keys(r, conf, purpose, keys, bound) != NGX_OK) {
        return NGX_DECLINED;
    }

    /*
     * Keys of the location itself, not bound to what a request names
     * (a password file with variables), are the same for every request:
     * the same cookie on the same connection verified under them before
     * need not be verified again, only be still in time.
     */

    if (keys[0] != bound[0]
        && ngx_http_totp_seen_find(r->connection, keys[0], purpose, &value,
                                   t)
           == NGX_OK)
    {
        rc = (t->expires <= ngx_time()) ? TOTP_TOKEN_EXPIRED : TOTP_TOKEN_OK;

    } else {
        rc = totp_token_decode(t, value.data, value.len, purpose, keys,
                               conf->main->nkeys, ngx_time());

        if (rc == TOTP_TOKEN_OK && keys[0] != bound[0]) {
            ngx_http_totp_seen_keep(r->connection, keys[0], purpose, &value,
                                    t);
        }
    }

    totp_wipe(bound, sizeof(bound));

    if (rc == TOTP_TOKEN_OK) {

        /*
         * A cookie lasts as long as the settings of the location that
         * reads it allow, whatever those it was made under: a session
         * made where sessions last 12 hours is no session after 1 hour
         * where they last 1 hour, and trust ends for every browser where
         * totp_trust_ttl is off.  A pre-session's own expiry says how
         * long it lasts: it may own a pending enrollment.
         */

        ttl = (purpose == TOTP_TOKEN_SESSION) ? conf->session_ttl
              : (purpose == TOTP_TOKEN_TRUST) ? conf->trust_ttl
              : NGX_HTTP_TOTP_PRE_ENROLL_TTL;

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
ngx_http_totp_cookie_trust(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, totp_token_t *t)
{
    if (ngx_http_totp_cookie_read(r, conf, TOTP_TOKEN_TRUST, t) != NGX_OK
        || t->user_len != user->len
        || ngx_memcmp(t->user, user->data, user->len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_cookie_write(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, time_t max_age)
{
    u_char               *p, bound[2][TOTP_KEY_LEN];
    ngx_str_t             value;
    const unsigned char  *keys[2] = { NULL, NULL };

    p = ngx_pnalloc(r->pool, totp_token_encoded_len(t->user_len));
    if (p == NULL
        || ngx_http_totp_cookie_keys(r, conf, t->purpose, keys, bound)
           != NGX_OK
        || keys[0] == NULL)
    {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = totp_token_encode(p, t, keys[0]);

    totp_wipe(bound, sizeof(bound));

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
ngx_http_totp_cookie_binding(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *binding)
{
    u_char     *p;
    size_t      prefix;
    ngx_str_t   path;

    if (conf->user || conf->password_file->lengths == NULL) {
        *binding = conf->binding;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, conf->password_file, &path) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the path comes with a NUL, for open() */

    if (path.len && path.data[path.len - 1] == '\0') {
        path.len--;
    }

    /* the configured binding ends with the path as written */

    prefix = conf->binding.len - conf->password_file->value.len;

    p = ngx_pnalloc(r->pool, prefix + path.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    binding->data = p;
    p = ngx_cpymem(p, conf->binding.data, prefix);
    p = ngx_cpymem(p, path.data, path.len);
    binding->len = p - binding->data;

    return NGX_OK;
}


/*
 * The keys of purpose under which conf's cookies are signed, the newest
 * first: the location's own, or with a password file that has variables,
 * the main keys bound here and now to the file this request checks, into
 * bound (which the caller wipes): a session made where one file was
 * checked is no session where another is.
 */

static ngx_int_t
ngx_http_totp_cookie_keys(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose,
    const unsigned char **keys, u_char bound[][TOTP_KEY_LEN])
{
    ngx_str_t                   binding;
    ngx_uint_t                  i, k;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = conf->main;
    k = ngx_http_totp_token_keys[purpose];

    if (conf->user || conf->password_file->lengths == NULL) {
        for (i = 0; i < mcf->nkeys; i++) {
            keys[i] = conf->keys[i].key[k];
        }

        return NGX_OK;
    }

    if (ngx_http_totp_cookie_binding(r, conf, &binding) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < mcf->nkeys; i++) {
        if (totp_hmac_sha256(mcf->keys[i].key[k], TOTP_KEY_LEN,
                             binding.data, binding.len, bound[i])
            != 0)
        {
            totp_wipe(bound, 2 * TOTP_KEY_LEN);
            return NGX_ERROR;
        }

        keys[i] = bound[i];
    }

    return NGX_OK;
}


/*
 * Every "Cookie" header without the gate's cookies (any realm's session,
 * trust and pre-session), so that no console and none of its logs ever
 * holds a token that passes a gate.  *saved gets the headers as they
 * came, one value for each, for ngx_http_totp_cookie_restore().
 */

ngx_int_t
ngx_http_totp_cookie_strip(ngx_http_request_t *r, ngx_array_t **saved)
{
    u_char           *p, *end, *start, *eq, *q;
    ngx_str_t        *orig;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    for (i = 0; (h = ngx_http_totp_cookie_header(r, i)); i++) {
        if (ngx_http_totp_cookie_has_gates(&h->value)) {
            break;
        }
    }

    if (h == NULL) {
        return NGX_OK;
    }

    if (*saved == NULL) {
        *saved = ngx_array_create(r->pool, 2, sizeof(ngx_str_t));
        if (*saved == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; (h = ngx_http_totp_cookie_header(r, i)); i++) {
            orig = ngx_array_push(*saved);
            if (orig == NULL) {
                return NGX_ERROR;
            }

            *orig = h->value;
        }
    }

    for (i = 0; (h = ngx_http_totp_cookie_header(r, i)); i++) {

        q = ngx_pnalloc(r->pool, h->value.len);
        if (q == NULL) {
            return NGX_ERROR;
        }

        p = h->value.data;
        end = p + h->value.len;
        h->value.data = q;

        while (p < end) {

            while (p < end && (*p == ' ' || *p == ';' || *p == '\t')) {
                p++;
            }

            start = p;

            if (start == end) {
                break;
            }

            /* values are long and names short: memchr() over the values */

            p = memchr(start, ';', end - start);
            if (p == NULL) {
                p = end;
            }

            eq = ngx_strlchr(start, p, '=');

            if (start == p
                || ngx_http_totp_cookie_is_gates(start,
                                                 (eq ? eq : p) - start))
            {
                continue;
            }

            if (q != h->value.data) {
                *q++ = ';';
                *q++ = ' ';
            }

            q = ngx_cpymem(q, start, p - start);
        }

        h->value.len = q - h->value.data;
    }

    return NGX_OK;
}


/* the "Cookie" headers as they came, for a gate after a redirect */

void
ngx_http_totp_cookie_restore(ngx_http_request_t *r, ngx_array_t *saved)
{
    ngx_str_t        *orig;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    orig = saved->elts;

    for (i = 0; i < saved->nelts && (h = ngx_http_totp_cookie_header(r, i));
         i++)
    {
        h->value = orig[i];
    }
}


/*
 * Whether a "Cookie" header may hold one of the gate's cookies: a name
 * with "totp_" at its start or after "__Host-".
 */

static ngx_uint_t
ngx_http_totp_cookie_has_gates(ngx_str_t *value)
{
    u_char  *p, *end;
    size_t   n;

    static u_char  plain[] = "totp_";
    static u_char  host[] = "__Host-totp_";

    p = value->data;
    end = p + value->len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ';' || *p == '\t')) {
            p++;
        }

        n = end - p;

        if ((n >= sizeof(plain) - 1
             && ngx_memcmp(p, plain, sizeof(plain) - 1) == 0)
            || (n >= sizeof(host) - 1
                && ngx_memcmp(p, host, sizeof(host) - 1) == 0))
        {
            return 1;
        }

        p = memchr(p, ';', n);
        if (p == NULL) {
            return 0;
        }
    }

    return 0;
}


/*
 * Whether a cookie's name is one of the gate's: "totp_session",
 * "totp_trust" or "totp_pre", alone or with a realm's "_NAME", and with
 * or without "__Host-".
 */

static ngx_uint_t
ngx_http_totp_cookie_is_gates(u_char *name, size_t len)
{
    size_t      n;
    ngx_uint_t  i;

    static ngx_str_t  names[] = {
        ngx_string("totp_session"),
        ngx_string("totp_trust"),
        ngx_string("totp_pre")
    };

    if (len > sizeof("__Host-") - 1
        && ngx_strncmp(name, "__Host-", sizeof("__Host-") - 1) == 0)
    {
        name += sizeof("__Host-") - 1;
        len -= sizeof("__Host-") - 1;
    }

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        n = names[i].len;

        if (len >= n && ngx_strncmp(name, names[i].data, n) == 0
            && (len == n || name[n] == '_'))
        {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_totp_cookie_make(ngx_http_totp_loc_conf_t *conf, u_char purpose,
    ngx_str_t *user, u_char *epoch, ngx_uint_t flags, totp_token_t *t)
{
    time_t  ttl;

    ttl = (purpose == TOTP_TOKEN_SESSION) ? conf->session_ttl
                                          : conf->trust_ttl;

    ngx_memzero(t, sizeof(totp_token_t));

    t->purpose = purpose;
    t->flags = (u_char) flags;
    t->issued = ngx_time();
    t->expires = t->issued + ttl;
    ngx_memcpy(t->profile, conf->profile, TOTP_PROFILE_LEN);
    ngx_memcpy(t->epoch, epoch, TOTP_EPOCH_LEN);
    ngx_memcpy(t->user, user->data, user->len);
    t->user_len = user->len;

    return (totp_random(t->nonce, TOTP_NONCE_LEN) == 0) ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_totp_issue_pre(ngx_http_request_t *r, ngx_http_totp_loc_conf_t *conf,
    ngx_str_t *user, ngx_uint_t flags, u_char *nonce, u_char *invite,
    totp_token_t *token)
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

    if (invite) {
        ngx_memcpy(t.epoch, invite, TOTP_EPOCH_LEN);
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


ngx_int_t
ngx_http_totp_cookie_keep_pre(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *pre, time_t expires)
{
    totp_token_t  t;

    t = *pre;
    t.expires = ngx_min(expires, t.issued + NGX_HTTP_TOTP_PRE_ENROLL_TTL);
    ngx_memcpy(t.profile, conf->profile, TOTP_PROFILE_LEN);

    return ngx_http_totp_cookie_write(r, conf, &t,
                                      ngx_max(t.expires - ngx_time(), 1));
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
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    for (i = 0; (h = ngx_http_totp_cookie_header(r, i)); i++) {

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


/* the request's n-th "Cookie" header, or NULL past the last */

static ngx_table_elt_t *
ngx_http_totp_cookie_header(ngx_http_request_t *r, ngx_uint_t n)
{
#if (nginx_version < 1023000)
    ngx_table_elt_t  **hh;

    if (n >= r->headers_in.cookies.nelts) {
        return NULL;
    }

    hh = r->headers_in.cookies.elts;

    return hh[n];
#else
    ngx_table_elt_t  *h;

    for (h = r->headers_in.cookie; h && n; h = h->next) {
        n--;
    }

    return h;
#endif
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


