
/*
 * The gate's cookies (session, trust, pre-session) and the revalidation
 * cache: each user's enrollment epoch as Redis last said it, shared by the
 * workers, so that a valid session costs no Redis round trip per request.
 */


#ifndef _NGX_HTTP_TOTP_SESSION_H_INCLUDED_
#define _NGX_HTTP_TOTP_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_module.h"


/* a pre-session (CSRF, and who passed the first factor) lasts this long */
#define NGX_HTTP_TOTP_PRE_TTL        900

/* the pre-session cookie's flag: its user passed the first factor */
#define NGX_HTTP_TOTP_PRE_FIRST      0x01

/*
 * The session cookie's flag: it was made by a recovery code, so its user
 * may set up a new device without a code from the lost one
 */
#define NGX_HTTP_TOTP_SESSION_RECOVERED  0x01

#define NGX_HTTP_TOTP_CACHE_SIZE     (1024 * 1024)


ngx_int_t ngx_http_totp_cookie_read(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, totp_token_t *t);
ngx_int_t ngx_http_totp_cookie_write(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, time_t max_age);
ngx_int_t ngx_http_totp_cookie_clear(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose);

/* a session for token->user with token->epoch, for totp_session_ttl */
ngx_int_t ngx_http_totp_issue_session(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *token);
/* "trust this browser" for user with epoch, for totp_trust_ttl */
ngx_int_t ngx_http_totp_issue_trust(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, u_char *epoch);
/* a fresh pre-session (new CSRF nonce); token, if not NULL, gets it */
ngx_int_t ngx_http_totp_issue_pre(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_uint_t flags,
    totp_token_t *token);

size_t ngx_http_totp_cache_ctx_size(void);
ngx_int_t ngx_http_totp_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
/*
 * NGX_OK with what Redis said, and when it was asked, if fresh enough or
 * if another request is asking again (for up to grace); NGX_DECLINED
 * tells the caller to ask.
 */
ngx_int_t ngx_http_totp_cache_lookup(ngx_shm_zone_t *shm_zone,
    ngx_str_t *user, ngx_msec_t max_age, ngx_msec_t grace, u_char *epoch,
    ngx_uint_t *enrolled, time_t *checked);
void ngx_http_totp_cache_unask(ngx_shm_zone_t *shm_zone, ngx_str_t *user);
void ngx_http_totp_cache_store(ngx_shm_zone_t *shm_zone, ngx_str_t *user,
    ngx_uint_t enrolled, u_char *epoch, ngx_msec_t checked);


#endif /* _NGX_HTTP_TOTP_SESSION_H_INCLUDED_ */
