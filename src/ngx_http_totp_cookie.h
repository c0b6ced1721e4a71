
/*
 * The gate's cookies: the session, "trust this browser" and the
 * pre-session (the CSRF nonce, and who passed the first factor).  Each is
 * a signed token under the keys of the location's first factor.
 */


#ifndef _NGX_HTTP_TOTP_COOKIE_H_INCLUDED_
#define _NGX_HTTP_TOTP_COOKIE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_crypto.h"


/* a pre-session (CSRF, and who passed the first factor) lasts this long */
#define NGX_HTTP_TOTP_PRE_TTL        900

/* ... and as long as a pending enrollment it owns: the longest it may */
#define NGX_HTTP_TOTP_PRE_ENROLL_TTL 3600

/* the pre-session cookie's flags: its user passed the first factor */
#define NGX_HTTP_TOTP_PRE_FIRST      0x01

/*
 * ... and came through an invitation link, whose id the pre-session
 * carries where other tokens carry an enrollment epoch
 */
#define NGX_HTTP_TOTP_PRE_INVITED    0x02

/*
 * The session cookie's flag: it was made by a recovery code, so its user
 * may set up a new device without a code from the lost one
 */
#define NGX_HTTP_TOTP_SESSION_RECOVERED  0x01


/*
 * The first factor this request checks (the realm, and the password file
 * as this request expands its path), which its cookies are bound to
 */
ngx_int_t ngx_http_totp_cookie_binding(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *binding);

/*
 * The gate's cookies out of the "Cookie" headers that go upstream;
 * *saved (made once) keeps the headers as they came, which restore puts
 * back for a gate that checks the request again after a redirect.
 */
ngx_int_t ngx_http_totp_cookie_strip(ngx_http_request_t *r,
    ngx_array_t **saved);
void ngx_http_totp_cookie_restore(ngx_http_request_t *r, ngx_array_t *saved);

/* NGX_OK and t filled in for a valid cookie of purpose, else NGX_DECLINED */
ngx_int_t ngx_http_totp_cookie_read(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, totp_token_t *t);

/*
 * NGX_OK and t filled in for a valid trust cookie that names user, else
 * NGX_DECLINED: whether Redis still holds the trust is the caller's to ask
 */
ngx_int_t ngx_http_totp_cookie_trust(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, totp_token_t *t);

ngx_int_t ngx_http_totp_cookie_write(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, time_t max_age);
ngx_int_t ngx_http_totp_cookie_clear(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose);

/*
 * A new session or trust token (purpose) of user for the enrollment of
 * epoch, lasting conf's totp_session_ttl or totp_trust_ttl, with an id
 * (its nonce) of its own; ngx_http_totp_cookie_write() sets it.
 */
ngx_int_t ngx_http_totp_cookie_make(ngx_http_totp_loc_conf_t *conf,
    u_char purpose, ngx_str_t *user, u_char *epoch, ngx_uint_t flags,
    totp_token_t *t);

/*
 * A pre-session under conf's profile, with nonce (the CSRF nonce that
 * forms already shown carry) or a fresh one, and an invitation's id or
 * NULL; token, if not NULL, gets it.
 */
ngx_int_t ngx_http_totp_issue_pre(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, ngx_uint_t flags,
    u_char *nonce, u_char *invite, totp_token_t *token);

/*
 * pre again, under conf's profile, until expires, as issued when it was
 * first: a pre-session past the first factor never outlives the hour
 * after the password was typed, however often it is written again
 */
ngx_int_t ngx_http_totp_cookie_keep_pre(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *pre, time_t expires);


#endif /* _NGX_HTTP_TOTP_COOKIE_H_INCLUDED_ */
