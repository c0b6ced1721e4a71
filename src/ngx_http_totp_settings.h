
/*
 * The module's settings, as the directives leave them: the http block's
 * and each location's, and the module object nginx keeps them by.
 * ngx_http_totp_conf.c fills them in at configuration time; every other
 * file only reads them.
 */


#ifndef _NGX_HTTP_TOTP_SETTINGS_H_INCLUDED_
#define _NGX_HTTP_TOTP_SETTINGS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_audit.h"
#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_redis_conf.h"
#include "ngx_http_totp_store.h"
#include "ngx_http_totp_language.h"
#include "ngx_http_totp_templates.h"
#include "ngx_http_totp_zone.h"


#define NGX_HTTP_TOTP_COOKIE_OFF   0
#define NGX_HTTP_TOTP_COOKIE_ON    1
#define NGX_HTTP_TOTP_COOKIE_AUTO  2

/* totp_enroll: who may enroll an authenticator */
#define NGX_HTTP_TOTP_ENROLL_OFF     0    /* nobody: enrolled users only */
#define NGX_HTTP_TOTP_ENROLL_ON      1    /* whoever passes the first factor */
#define NGX_HTTP_TOTP_ENROLL_INVITE  2    /* ... with an invitation link */


typedef struct {
    ngx_str_t                    key;
    ngx_str_t                    key_previous;

    /* derived from key and key_previous; keys[0] signs, all verify */
    totp_keys_t                 *keys;
    ngx_uint_t                   nkeys;

    ngx_http_totp_redis_conf_t   redis;
    ngx_str_t                    prefix;          /* totp_redis_prefix */

    /*
     * The revalidation cache and the counters (totp_zone); made when a
     * location is gated or shows the metrics.
     */
    ngx_str_t                    zone_name;
    ssize_t                      zone_size;
    ngx_http_totp_zone_t        *zone;
    ngx_flag_t                   gated;
    ngx_flag_t                   metrics;

    /*
     * totp_thread_pool, once resolved (NULL: hashes run inline), and
     * totp_hash_concurrency; "checks" when a gated location has a
     * password file, which the default pool is added for; "started" in a
     * process whose copy of this configuration nginx started the pools
     * for (not after a reload with master_process off).
     */
#if (NGX_THREADS)
    ngx_thread_pool_t           *thread_pool;
#endif
    ngx_str_t                    thread_pool_name;
    ngx_int_t                    hash_concurrency;
    ngx_flag_t                   checks;
    ngx_flag_t                   thread_pool_started;

    /* html/'s pages in every language, made once per configuration */
    ngx_http_totp_templates_t   *templates;
} ngx_http_totp_main_conf_t;


/* what a location is for, besides being gated or not */
#define NGX_HTTP_TOTP_PLAIN        0
#define NGX_HTTP_TOTP_PAGES        1
#define NGX_HTTP_TOTP_HEALTH       2
#define NGX_HTTP_TOTP_METRICS      3


typedef struct ngx_http_totp_loc_conf_s  ngx_http_totp_loc_conf_t;


/* a totp_pages location: the gated locations whose users it signs in */
typedef struct {
    ngx_str_t                    prefix;          /* its location's name */

    /* ngx_http_totp_loc_conf_t *, one per profile; set at postconfiguration */
    ngx_array_t                  profiles;
} ngx_http_totp_pages_conf_t;


struct ngx_http_totp_loc_conf_s {
    ngx_flag_t                   enable;
    ngx_uint_t                   handler;         /* NGX_HTTP_TOTP_PAGES... */
    ngx_http_totp_pages_conf_t  *pages;

    ngx_str_t                    path;            /* totp_path */
    ngx_str_t                    realm;           /* totp_realm, or empty */
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

    ngx_http_totp_limits_t       limits;
    ngx_http_complex_value_t    *client_key;      /* NULL: the address */
    ngx_uint_t                   recovery_codes;  /* 0: none */

    ngx_http_totp_templates_t   *templates;
    ngx_str_t                    templates_dir;   /* as written */
    ngx_uint_t                   language;        /* NGX_HTTP_TOTP_LANG_* */
    ngx_uint_t                   cookie_secure;
    ngx_uint_t                   enroll;          /* NGX_HTTP_TOTP_ENROLL_* */
    ngx_http_totp_audit_log_t   *audit_log;       /* NULL: off */

    /*
     * Set by the merge of a gated location, for the location alone: the
     * main configuration; where Redis keys begin (the prefix, and the
     * realm); the cookies' names (plain and Secure, by purpose); the user
     * base as configured ("binding": the realm and the first factor) and
     * the cookie keys, which are the main keys bound to it, so that a
     * session made where one password file is checked is no session where
     * another is; and the profile, a digest of every setting above, which
     * the pre-session carries to the pages so that they sign the user in
     * under this location's settings.
     */
    ngx_http_totp_main_conf_t   *main;
    ngx_str_t                    keyspace;
    ngx_str_t                    cookie_names[2][3];
    ngx_str_t                    binding;
    totp_keys_t                 *keys;
    u_char                       profile[TOTP_PROFILE_LEN];

    /* for messages: "location /console/" or "server console.example" */
    ngx_str_t                    where;

    /* for the audit log: the location's name, empty at server level */
    ngx_str_t                    location;
};


/*
 * Defined with the module's tables (ngx_http_totp_module.c): the handlers
 * find their settings and their per-request context by it.
 */
extern ngx_module_t  ngx_http_totp_module;


#endif /* _NGX_HTTP_TOTP_SETTINGS_H_INCLUDED_ */
