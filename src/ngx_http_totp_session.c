
/*
 * Sessions on the server.  A signed cookie alone cannot be taken back: a
 * copy would keep working until it expired, whatever the user did.  So
 * every session and trusted browser is registered in Redis when it is
 * made, in the user's ":sessions" hash, with a digest of the user's line
 * in the password file; logout removes its entry, "sign out everywhere"
 * and an ops revoke the whole hash, an ops reset the enrollment it
 * belongs to.  The gate asks Redis about a session at most once per
 * totp_revalidate through the shared cache, and compares the digest with
 * the line the file holds now, so that a changed password or a user
 * removed from the file ends the sessions made before.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cache.h"
#include "ngx_http_totp_cookie.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_session.h"


/* the digest of a password line kept with a session: 16 bytes, in hex */
#define NGX_HTTP_TOTP_LINE_LEN  32


/* a record and a line asked for at once: done once both are in */
typedef struct {
    ngx_http_totp_store_pt       done;
    void                        *data;
    ngx_int_t                    rc;          /* Redis's */
    ngx_uint_t                   pending;
} ngx_http_totp_session_fetch_t;


static ngx_int_t ngx_http_totp_session_key(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, ngx_str_t *key);
static uint32_t ngx_http_totp_session_hash(totp_token_t *t);
static void ngx_http_totp_session_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_session_fetched_record(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_session_fetched_line(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_totp_session_line(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_http_totp_password_line_t *line,
    ngx_uint_t k, u_char *digest);
static ngx_int_t ngx_http_totp_session_register(ngx_http_request_t *r,
    ngx_http_totp_begin_t *b);
static void ngx_http_totp_session_line_read(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_totp_session_registered(ngx_http_request_t *r,
    void *data, ngx_int_t rc);


ngx_int_t
ngx_http_totp_session_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t,
    ngx_http_totp_check_t *chk, ngx_http_totp_store_pt done, void *data)
{
    ngx_int_t                   rc;
    ngx_str_t                   user, field;
    ngx_uint_t                  live;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = conf->main;

    if (chk->fetched) {
        chk->fetched = 0;

        if (chk->rc != NGX_OK) {
            return NGX_ERROR;
        }

        rc = ngx_http_totp_session_verdict(r, conf, t, &chk->rec,
                                           &chk->line);

        if (rc == NGX_ERROR) {
            ngx_http_totp_cache_unask(&mcf->zone->cache, r->connection->log,
                                      &chk->key, ngx_http_totp_session_hash(t));
            return NGX_ERROR;
        }

        ngx_http_totp_cache_store(&mcf->zone->cache, r->connection->log,
                                  &chk->key,
                                  ngx_http_totp_session_hash(t), rc == NGX_OK,
                                  chk->sent);
        return rc;
    }

    if (ngx_http_totp_session_key(r, conf, t, &chk->key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_totp_cache_lookup(&mcf->zone->cache, r->connection->log,
                                   &chk->key, ngx_http_totp_session_hash(t),
                                   conf->revalidate, mcf->redis.timeout,
                                   &live)
        == NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp session: %s, says the cache",
                       live ? "live" : "ended");
        return live ? NGX_OK : NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp session: not in the cache or stale, asking redis");

    user.data = t->user;
    user.len = t->user_len;

    ngx_http_totp_store_session_field(chk->field, t);
    field.data = chk->field;
    field.len = NGX_HTTP_TOTP_SESSION_FIELD_LEN;

    chk->conf = conf;
    chk->token = t;
    chk->done = done;
    chk->data = data;
    chk->sent = ngx_current_msec;

    /* the line now, not one an earlier check of this request read */

    ngx_memzero(&chk->line, sizeof(ngx_http_totp_password_line_t));

    if (ngx_http_totp_session_fetch(r, conf, &user, &field, &chk->rec,
                                    &chk->line, ngx_http_totp_session_fetched,
                                    chk)
        != NGX_OK)
    {
        ngx_http_totp_cache_unask(&mcf->zone->cache, r->connection->log,
                                  &chk->key, ngx_http_totp_session_hash(t));
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static void
ngx_http_totp_session_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_check_t  *chk = data;

    chk->fetched = 1;
    chk->rc = rc;

    /* the next request asks again rather than go on stale */

    if (rc != NGX_OK) {
        ngx_http_totp_cache_unask(&chk->conf->main->zone->cache,
                                  r->connection->log, &chk->key,
                                  ngx_http_totp_session_hash(chk->token));
    }

    chk->done(r, chk->data, rc);
}


ngx_int_t
ngx_http_totp_session_fetch(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_str_t *field,
    ngx_http_totp_record_t *rec, ngx_http_totp_password_line_t *line,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_http_totp_session_fetch_t  *f;

    f = ngx_palloc(r->pool, sizeof(ngx_http_totp_session_fetch_t));
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->done = done;
    f->data = data;
    f->rc = NGX_ERROR;
    f->pending = 1;

    /* Redis first: its answer never comes before this call returns */

    if (ngx_http_totp_store_fetch(r, &conf->keyspace, user, field, rec,
                                  ngx_http_totp_session_fetched_record, f)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (conf->user == NULL && !line->read
        && ngx_http_totp_password_line(r, conf, user, line,
                                       ngx_http_totp_session_fetched_line, f)
           == NGX_AGAIN)
    {
        f->pending++;
    }

    return NGX_OK;
}


static void
ngx_http_totp_session_fetched_record(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_session_fetch_t  *f = data;

    f->rc = rc;

    ngx_http_totp_session_fetched_line(r, f, rc);
}


static void
ngx_http_totp_session_fetched_line(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_session_fetch_t  *f = data;

    if (--f->pending) {
        return;
    }

    f->done(r, f->data, f->rc);
}


ngx_int_t
ngx_http_totp_session_verdict(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t,
    ngx_http_totp_record_t *rec, ngx_http_totp_password_line_t *pw)
{
    u_char                      digest[NGX_HTTP_TOTP_LINE_LEN], *p, *end;
    time_t                      expires;
    ngx_int_t                   rc;
    ngx_str_t                   line;
    ngx_uint_t                  i;
    ngx_http_totp_main_conf_t  *mcf;

    if (!rec->enrolled
        || !totp_memeq(rec->epoch, t->epoch, TOTP_EPOCH_LEN))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp session: its enrollment is gone");
        return NGX_DECLINED;
    }

    if (rec->session.data == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp session: ended (signed out or revoked)");
        return NGX_DECLINED;
    }

    /* "EXPIRES LINE", as ngx_http_totp_session_begin() wrote it */

    p = rec->session.data;
    end = p + rec->session.len;

    line.data = ngx_strlchr(p, end, ' ');

    expires = line.data ? ngx_atotm(p, line.data - p) : NGX_ERROR;

    if (expires == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: malformed session entry in Redis");
        return NGX_DECLINED;
    }

    if (expires <= ngx_time()) {
        return NGX_DECLINED;
    }

    line.data++;
    line.len = end - line.data;

    /* with totp_user there is no line; with a password file, always one */

    if (conf->user) {
        if (line.len == 1 && line.data[0] == '-') {
            return NGX_OK;
        }

        line.len = 0;
    }

    if (line.len != NGX_HTTP_TOTP_LINE_LEN) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: malformed session entry in Redis");
        return NGX_DECLINED;
    }

    /* the line as the file held it at the fetch, under each key */

    mcf = conf->main;

    for (i = 0; i < mcf->nkeys; i++) {
        rc = ngx_http_totp_session_line(r, conf, pw, i, digest);

        if (rc != NGX_OK) {
            if (rc == NGX_DECLINED) {
                ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                               "totp session: the user is gone from the "
                               "password file");
            }

            return rc;
        }

        if (ngx_memcmp(digest, line.data, NGX_HTTP_TOTP_LINE_LEN) == 0) {
            return NGX_OK;
        }
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp session: the user's password line changed");

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_session_field(ngx_http_request_t *r, totp_token_t *t,
    ngx_str_t *field)
{
    field->data = ngx_pnalloc(r->pool, NGX_HTTP_TOTP_SESSION_FIELD_LEN);
    if (field->data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_totp_store_session_field(field->data, t);
    field->len = NGX_HTTP_TOTP_SESSION_FIELD_LEN;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_session_begin(ngx_http_request_t *r, ngx_http_totp_begin_t *b,
    ngx_http_totp_store_pt done, void *data)
{
    b->done = done;
    b->data = data;

    /* an enrollment fetched no line: the session's digest needs it now */

    if (b->conf->user == NULL && b->line && !b->line->read
        && ngx_http_totp_password_line(r, b->conf, &b->user, b->line,
                                       ngx_http_totp_session_line_read, b)
           == NGX_AGAIN)
    {
        return NGX_OK;
    }

    return ngx_http_totp_session_register(r, b);
}


static void
ngx_http_totp_session_line_read(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_begin_t  *b = data;

    rc = ngx_http_totp_session_register(r, b);

    if (rc != NGX_OK) {
        b->done(r, b->data, rc);
    }
}


/* the session's entries in Redis, then (registered) its cookies */

static ngx_int_t
ngx_http_totp_session_register(ngx_http_request_t *r,
    ngx_http_totp_begin_t *b)
{
    u_char                    *p;
    time_t                     ttl;
    ngx_int_t                  rc;
    ngx_str_t                  entries[4];
    ngx_uint_t                 i, n;
    totp_token_t              *tokens[2];
    ngx_http_totp_loc_conf_t  *conf;

    conf = b->conf;

    tokens[0] = &b->session;
    tokens[1] = &b->trusted;
    n = b->trust ? 2 : 1;

    if (ngx_http_totp_cookie_make(conf, TOTP_TOKEN_SESSION, &b->user,
                                  b->epoch, b->flags, &b->session)
        != NGX_OK
        || (b->trust
            && ngx_http_totp_cookie_make(conf, TOTP_TOKEN_TRUST, &b->user,
                                         b->epoch, 0, &b->trusted)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_totp_session_field(r, tokens[i], &entries[2 * i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1 + NGX_HTTP_TOTP_LINE_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        entries[2 * i + 1].data = p;
        p = ngx_sprintf(p, "%T ", (time_t) tokens[i]->expires);

        /* the line now, to tell later that it changed (none: totp_user) */

        if (conf->user) {
            *p++ = '-';

        } else {
            rc = ngx_http_totp_session_line(r, conf, b->line, 0, p);

            if (rc != NGX_OK) {
                return rc;
            }

            p += NGX_HTTP_TOTP_LINE_LEN;
        }

        entries[2 * i + 1].len = p - entries[2 * i + 1].data;
    }

    ttl = conf->session_ttl;

    if (b->trust && conf->trust_ttl > ttl) {
        ttl = conf->trust_ttl;
    }

    return ngx_http_totp_store_sessions_add(r, &conf->keyspace, &b->user,
                                            b->epoch, entries, 2 * n, ttl,
                                            &b->result,
                                            ngx_http_totp_session_registered,
                                            b);
}


static void
ngx_http_totp_session_registered(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_totp_begin_t  *b = data;

    ngx_str_t                  key;
    ngx_http_totp_loc_conf_t  *conf;

    conf = b->conf;

    /* this machine knows the new session live: its first request passes */

    if (rc == NGX_OK && b->result == 1
        && ngx_http_totp_session_key(r, conf, &b->session, &key) == NGX_OK)
    {
        ngx_http_totp_cache_store(&conf->main->zone->cache, r->connection->log,
                                  &key, ngx_http_totp_session_hash(&b->session),
                                  1, ngx_current_msec);
    }

    if (rc == NGX_OK && b->result != 1) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp session: the enrollment changed meanwhile");
        rc = NGX_DECLINED;

    } else if (rc == NGX_OK
               && (ngx_http_totp_cookie_write(r, conf, &b->session,
                                              conf->session_ttl)
                   != NGX_OK
                   || (b->trust
                       && ngx_http_totp_cookie_write(r, conf, &b->trusted,
                                                     conf->trust_ttl)
                          != NGX_OK)))
    {
        rc = NGX_ERROR;
    }

    b->done(r, b->data, rc);
}


ngx_int_t
ngx_http_totp_session_end(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, totp_token_t **tokens,
    ngx_uint_t n, ngx_uint_t all, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data)
{
    ngx_str_t   fields[2], key;
    ngx_uint_t  i;

    if (n > 2) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_totp_session_field(r, tokens[i], &fields[i]) != NGX_OK
            || ngx_http_totp_session_key(r, conf, tokens[i], &key) != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* on this machine, at once, whatever Redis answers */

        ngx_http_totp_cache_store(&conf->main->zone->cache, r->connection->log,
                                  &key, ngx_http_totp_session_hash(tokens[i]),
                                  0, ngx_current_msec);
    }

    return ngx_http_totp_store_sessions_end(r, &conf->keyspace, user, fields,
                                            all ? 0 : n, result, done, data);
}


/*
 * The cache's key of a token: where the user base's keys begin, the user,
 * and the token's purpose, id and enrollment epoch, all that the verdict
 * stands for.  A line break separates what it cannot be part of.
 */

static ngx_int_t
ngx_http_totp_session_key(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, ngx_str_t *key)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, conf->keyspace.len + t->user_len + 3
                             + TOTP_NONCE_LEN + TOTP_EPOCH_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;

    p = ngx_cpymem(p, conf->keyspace.data, conf->keyspace.len);
    *p++ = LF;
    p = ngx_cpymem(p, t->user, t->user_len);
    *p++ = LF;
    *p++ = t->purpose;
    p = ngx_cpymem(p, t->nonce, TOTP_NONCE_LEN);
    p = ngx_cpymem(p, t->epoch, TOTP_EPOCH_LEN);

    key->len = p - key->data;

    return NGX_OK;
}


/*
 * The cache's hash of a token: bytes of its id, random, and chosen by no
 * client (the cookie's MAC covers them)
 */

static uint32_t
ngx_http_totp_session_hash(totp_token_t *t)
{
    return (uint32_t) t->nonce[0] << 24 | (uint32_t) t->nonce[1] << 16
           | (uint32_t) t->nonce[2] << 8 | t->nonce[3];
}


/*
 * The digest of the user's line in the password file, as read by this
 * request, under the k-th configured key: NGX_DECLINED when the user is
 * not in the file, NGX_ERROR when it could not be read.
 */

static ngx_int_t
ngx_http_totp_session_line(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_http_totp_password_line_t *line,
    ngx_uint_t k, u_char *digest)
{
    u_char     mac[TOTP_MAC_LEN];
    ngx_int_t  rc;

    if (line == NULL || !line->read) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: a session checked without its password line");
        return NGX_ERROR;
    }

    if (line->rc != NGX_OK) {
        return line->rc;
    }

    rc = totp_hmac_sha256(conf->main->keys[k].key[TOTP_KEY_LINE],
                          TOTP_KEY_LEN, line->text.data, line->text.len, mac);

    if (rc != 0) {
        return NGX_ERROR;
    }

    (void) ngx_hex_dump(digest, mac, NGX_HTTP_TOTP_LINE_LEN / 2);

    totp_wipe(mac, sizeof(mac));

    return NGX_OK;
}
