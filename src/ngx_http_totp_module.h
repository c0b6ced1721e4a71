
/*
 * ngx_http_totp_module: a TOTP two-factor gate in front of any location.
 * Types and functions shared between the module's source files.
 */


#ifndef _NGX_HTTP_TOTP_MODULE_H_INCLUDED_
#define _NGX_HTTP_TOTP_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_redis.h"
#include "ngx_http_totp_templates.h"


/* HMAC and sealing keys are derived from it; 256 bits of entropy at least */
#define NGX_HTTP_TOTP_KEY_MIN      32
#define NGX_HTTP_TOTP_KEY_MAX      4096

#define NGX_HTTP_TOTP_RECOVERY_MAX 20

#define NGX_HTTP_TOTP_COOKIE_OFF   0
#define NGX_HTTP_TOTP_COOKIE_ON    1
#define NGX_HTTP_TOTP_COOKIE_AUTO  2


/* what $totp_status says; the order matches ngx_http_totp_status_names */
typedef enum {
    NGX_HTTP_TOTP_NONE = 0,
    NGX_HTTP_TOTP_SESSION,
    NGX_HTTP_TOTP_TRUSTED,
    NGX_HTTP_TOTP_VERIFIED,
    NGX_HTTP_TOTP_LOGIN,
    NGX_HTTP_TOTP_ENROLL,
    NGX_HTTP_TOTP_DENIED,
    NGX_HTTP_TOTP_LOCKED,
    NGX_HTTP_TOTP_ERROR
} ngx_http_totp_status_e;


typedef struct {
    ngx_str_t                    key;
    ngx_str_t                    key_previous;

    /* derived from key and key_previous; keys[0] signs, all verify */
    totp_keys_t                 *keys;
    ngx_uint_t                   nkeys;

    ngx_http_totp_redis_conf_t   redis;

    /* the revalidation cache; created when some location is gated */
    ngx_shm_zone_t              *shm_zone;
    ngx_flag_t                   gated;
} ngx_http_totp_main_conf_t;


/* totp_fail_limit's and totp_fail_limit_ip's values */
typedef struct {
    ngx_uint_t                   limit;
    time_t                       window;
} ngx_http_totp_limit_t;


typedef struct {
    ngx_flag_t                   enable;
    ngx_http_complex_value_t    *user;
    ngx_http_complex_value_t    *password_file;
    ngx_http_complex_value_t    *issuer;

    ngx_uint_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    ngx_uint_t                   skew;

    time_t                       session_ttl;
    time_t                       trust_ttl;       /* 0: off */
    ngx_msec_t                   revalidate;

    ngx_http_totp_limit_t        fail;            /* per user */
    ngx_http_totp_limit_t        fail_ip;         /* per client address */
    time_t                       lockout;
    ngx_uint_t                   recovery_codes;  /* 0: none */

    ngx_http_totp_templates_t   *templates;
    ngx_uint_t                   cookie_secure;

    /*
     * The cookie keys of a gated location: the main keys bound to its
     * first factor ("realm"), so that a session made where one password
     * file is checked is no session where another one is.
     */
    ngx_str_t                    realm;
    totp_keys_t                 *keys;
} ngx_http_totp_loc_conf_t;


typedef struct {
    ngx_str_t                    path;

    /*
     * The settings the pages under path work with: those of the server
     * level when it is gated, else of the server's first gated location.
     * NULL when nothing in the server is gated: no pages are served.
     */
    ngx_http_totp_loc_conf_t    *pages;
} ngx_http_totp_srv_conf_t;


/* a user's enrollment as Redis holds it */
typedef struct {
    ngx_uint_t                   enrolled;
    ngx_str_t                    secret;       /* sealed, base64url */
    totp_alg_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    u_char                       epoch[TOTP_EPOCH_LEN];
    uint64_t                     last;         /* last accepted step */
} ngx_http_totp_record_t;


/* per request, shared by the gate, the pages and the variables */
typedef struct {
    ngx_http_totp_loc_conf_t    *conf;
    ngx_uint_t                   status;      /* ngx_http_totp_status_e */
    ngx_str_t                    user;        /* $totp_user */
    ngx_str_t                    identity;    /* totp_user's value */

    ngx_uint_t                   state;       /* the gate's progress */
    ngx_int_t                    rc;          /* the gate's verdict */

    /* what Redis said of the user in question, and whether it answered */
    ngx_int_t                    fetch_rc;
    ngx_msec_t                   fetch_sent;
    ngx_http_totp_record_t       record;

    totp_token_t                 token;       /* the cookie being checked */

    unsigned                     waiting:1;
    unsigned                     fetched:1;
} ngx_http_totp_ctx_t;


ngx_http_totp_ctx_t *ngx_http_totp_get_ctx(ngx_http_request_t *r);

ngx_int_t ngx_http_totp_gate_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_totp_pages_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_totp_redirect(ngx_http_request_t *r,
    ngx_str_t *location);

char *ngx_http_totp_read_secret_file(ngx_conf_t *cf, ngx_str_t *secret,
    size_t min, size_t max);

ngx_int_t ngx_http_totp_health_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_totp_module;


#endif /* _NGX_HTTP_TOTP_MODULE_H_INCLUDED_ */
