
/*
 * A session's life, and a trusted browser's, on the server: registered in
 * Redis when the user signs in, checked while it is used, ended by a
 * logout, a "sign out everywhere", an ops revoke or reset, or a change of
 * the user's line in the password file.
 */


#ifndef _NGX_HTTP_TOTP_SESSION_H_INCLUDED_
#define _NGX_HTTP_TOTP_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_store.h"


/* a check of one cookie against Redis, kept by its request meanwhile */
typedef struct {
    ngx_http_totp_loc_conf_t    *conf;
    totp_token_t                *token;
    ngx_str_t                    key;         /* the cache's */
    u_char                       field[NGX_HTTP_TOTP_SESSION_FIELD_LEN];

    ngx_http_totp_record_t       rec;
    ngx_http_totp_password_line_t  line;      /* read meanwhile */
    ngx_msec_t                   sent;        /* when Redis was asked */
    ngx_int_t                    rc;          /* what it answered */

    ngx_http_totp_store_pt       done;
    void                        *data;

    unsigned                     fetched:1;
} ngx_http_totp_check_t;


/* a sign-in being registered: what it is for, and the cookies it makes */
typedef struct {
    ngx_http_totp_loc_conf_t    *conf;
    ngx_str_t                    user;
    u_char                       epoch[TOTP_EPOCH_LEN];
    ngx_uint_t                   flags;       /* the session's */
    ngx_uint_t                   trust;       /* a trust cookie as well */

    /* the user's password line as this request read it; none: totp_user */
    ngx_http_totp_password_line_t  *line;

    totp_token_t                 session;
    totp_token_t                 trusted;
    ngx_int_t                    result;

    ngx_http_totp_store_pt       done;
    void                        *data;
} ngx_http_totp_begin_t;


/*
 * Whether t, a session or trust cookie that verified, is live on the
 * server: NGX_OK; NGX_DECLINED when it ended; NGX_AGAIN while Redis is
 * asked (done(r, data, rc) follows, and the caller asks again with the
 * same chk, zeroed before the first call); NGX_ERROR when it cannot be
 * known.  At most one question per totp_revalidate and session, shared
 * by every worker through the cache, and never an answer older than
 * totp_revalidate + totp_redis_timeout.
 */
ngx_int_t ngx_http_totp_session_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t,
    ngx_http_totp_check_t *chk, ngx_http_totp_store_pt done, void *data);

/*
 * Reads user's record into rec (with field's entry, if not NULL) and,
 * with a password file, the user's line into line, unless it was read
 * already: the line in the thread pool while Redis is asked.  done(r,
 * data, rc) once both are in, rc Redis's; line->rc says the line's.
 */
ngx_int_t ngx_http_totp_session_fetch(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_str_t *field,
    ngx_http_totp_record_t *rec, ngx_http_totp_password_line_t *line,
    ngx_http_totp_store_pt done, void *data);

/*
 * What a fetched record and line say of t (fetched with its field):
 * NGX_OK when t is live, NGX_DECLINED when it ended, NGX_ERROR when the
 * password file could not be read.
 */
ngx_int_t ngx_http_totp_session_verdict(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t,
    ngx_http_totp_record_t *rec, ngx_http_totp_password_line_t *line);

/* t's field in the user's sessions hash, for a fetch */
ngx_int_t ngx_http_totp_session_field(ngx_http_request_t *r,
    totp_token_t *t, ngx_str_t *field);

/*
 * Signs b->user in: a session (and with b->trust, a trusted browser) for
 * the enrollment of b->epoch, registered in Redis, then their cookies
 * set.  NGX_OK, and done(r, data, rc) follows: NGX_OK when signed in,
 * NGX_DECLINED when the enrollment changed meanwhile or the user left
 * the password file, NGX_ERROR.  NGX_DECLINED or NGX_ERROR at once for
 * the same reasons, when they are known before Redis is asked.
 */
ngx_int_t ngx_http_totp_session_begin(ngx_http_request_t *r,
    ngx_http_totp_begin_t *b, ngx_http_totp_store_pt done, void *data);

/*
 * Ends the sessions of tokens (n of them, at most 2) on every machine,
 * this one at once; with all, every session and trusted browser of user.
 */
ngx_int_t ngx_http_totp_session_end(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, totp_token_t **tokens,
    ngx_uint_t n, ngx_uint_t all, ngx_int_t *result,
    ngx_http_totp_store_pt done, void *data);


#endif /* _NGX_HTTP_TOTP_SESSION_H_INCLUDED_ */
