
/*
 * The directives: their table, the handlers that parse them, the checks
 * of their values, and the configuration's creation and merge.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_cache.h"
#include "ngx_http_totp_conf.h"
#include "ngx_http_totp_audit.h"
#include "ngx_http_totp_health.h"
#include "ngx_http_totp_metrics.h"
#include "ngx_http_totp_pages.h"
#include "ngx_http_totp_seen.h"


/* HMAC and sealing keys are derived from it; 256 bits of entropy at least */
#define NGX_HTTP_TOTP_KEY_MIN            32
#define NGX_HTTP_TOTP_KEY_MAX            4096

#define NGX_HTTP_TOTP_RECOVERY_MAX       20

/* failure windows and lockouts, kept in Redis as TTLs */
#define NGX_HTTP_TOTP_LIMIT_TIME_MAX     (30 * 86400)
#define NGX_HTTP_TOTP_LIMIT_MAX          1000

#define NGX_HTTP_TOTP_REDIS_PASSWORD_MAX 512
#define NGX_HTTP_TOTP_REDIS_PREFIX_MAX   64

#define NGX_HTTP_TOTP_REALM_MAX          32


static ngx_int_t ngx_http_totp_derive_keys(ngx_conf_t *cf,
    ngx_http_totp_main_conf_t *mcf);
static void ngx_http_totp_wipe_keys(void *data);
static char *ngx_http_totp_gated(ngx_conf_t *cf,
    ngx_http_totp_loc_conf_t *conf);
static ngx_int_t ngx_http_totp_names(ngx_conf_t *cf,
    ngx_http_totp_loc_conf_t *conf);
static ngx_int_t ngx_http_totp_binding(ngx_conf_t *cf,
    ngx_http_totp_main_conf_t *mcf, ngx_http_totp_loc_conf_t *conf);
static ngx_int_t ngx_http_totp_profile(ngx_conf_t *cf,
    ngx_http_totp_loc_conf_t *conf);
static char *ngx_http_totp_read_secret_file(ngx_conf_t *cf,
    ngx_str_t *secret, size_t min, size_t max);
static void ngx_http_totp_wipe_secret(void *data);
static void ngx_http_totp_merge_limit(ngx_http_totp_limit_t *conf,
    ngx_http_totp_limit_t *prev, ngx_uint_t limit, time_t window);

static char *ngx_http_totp_set_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_pages(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_handler(ngx_conf_t *cf,
    ngx_http_totp_loc_conf_t *tlcf, ngx_uint_t handler);
static char *ngx_http_totp_set_variable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_password_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_totp_set_trust_ttl(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_realm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_enum(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_totp_set_templates(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_algorithm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_fail_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_redis_user(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_set_redis_password(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_totp_set_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_totp_set_redis_prefix(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static char *ngx_http_totp_digits(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_period(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_skew(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_ttl(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_recovery_codes(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_totp_lockout(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_hash_concurrency(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_http_totp_digits_post =
    ngx_http_totp_digits;

static ngx_conf_post_handler_pt  ngx_http_totp_period_post =
    ngx_http_totp_period;

static ngx_conf_post_handler_pt  ngx_http_totp_skew_post =
    ngx_http_totp_skew;

static ngx_conf_post_handler_pt  ngx_http_totp_ttl_post =
    ngx_http_totp_ttl;

static ngx_conf_post_handler_pt  ngx_http_totp_recovery_codes_post =
    ngx_http_totp_recovery_codes;

static ngx_conf_post_handler_pt  ngx_http_totp_lockout_post =
    ngx_http_totp_lockout;

static ngx_conf_post_handler_pt  ngx_http_totp_hash_concurrency_post =
    ngx_http_totp_hash_concurrency;


static ngx_conf_enum_t  ngx_http_totp_cookie_secure_values[] = {
    { ngx_string("off"), NGX_HTTP_TOTP_COOKIE_OFF },
    { ngx_string("on"), NGX_HTTP_TOTP_COOKIE_ON },
    { ngx_string("auto"), NGX_HTTP_TOTP_COOKIE_AUTO },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_totp_enroll_values[] = {
    { ngx_string("on"), NGX_HTTP_TOTP_ENROLL_ON },
    { ngx_string("invite"), NGX_HTTP_TOTP_ENROLL_INVITE },
    { ngx_string("off"), NGX_HTTP_TOTP_ENROLL_OFF },
    { ngx_null_string, 0 }
};


ngx_command_t  ngx_http_totp_commands[] = {

    { ngx_string("totp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_totp_set_enable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, enable),
      NULL },

    { ngx_string("totp_pages"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_totp_set_pages,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("totp_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_variable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, user),
      "that an earlier authentication sets, such as $remote_user" },

    { ngx_string("totp_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_password_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, password_file),
      NULL },

    { ngx_string("totp_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, issuer),
      NULL },

    { ngx_string("totp_session_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, session_ttl),
      &ngx_http_totp_ttl_post },

    { ngx_string("totp_trust_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_trust_ttl,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, trust_ttl),
      NULL },

    { ngx_string("totp_revalidate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, revalidate),
      NULL },

    { ngx_string("totp_fail_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_totp_set_fail_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, limits.pair),
      NULL },

    { ngx_string("totp_fail_limit_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_totp_set_fail_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, limits.user),
      NULL },

    { ngx_string("totp_fail_limit_ip"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_TAKE12,
      ngx_http_totp_set_fail_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, limits.client),
      NULL },

    { ngx_string("totp_client_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_variable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, client_key),
      "that says who the client is, such as a map of $remote_addr" },

    { ngx_string("totp_lockout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, limits.lockout),
      &ngx_http_totp_lockout_post },

    { ngx_string("totp_recovery_codes"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, recovery_codes),
      &ngx_http_totp_recovery_codes_post },

    { ngx_string("totp_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, path),
      NULL },

    { ngx_string("totp_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_realm,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, realm),
      NULL },

    { ngx_string("totp_templates"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_templates,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, templates),
      NULL },

    { ngx_string("totp_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, cookie_secure),
      &ngx_http_totp_cookie_secure_values },

    { ngx_string("totp_enroll"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, enroll),
      &ngx_http_totp_enroll_values },

    { ngx_string("totp_language"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, language),
      &ngx_http_totp_language_names },

    { ngx_string("totp_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, key),
      NULL },

    { ngx_string("totp_key_file_previous"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, key_previous),
      NULL },

    { ngx_string("totp_algorithm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_algorithm,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, algorithm),
      NULL },

    { ngx_string("totp_digits"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, digits),
      &ngx_http_totp_digits_post },

    { ngx_string("totp_period"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, period),
      &ngx_http_totp_period_post },

    { ngx_string("totp_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, skew),
      &ngx_http_totp_skew_post },

    { ngx_string("totp_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("totp_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_redis_set_addr,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis),
      NULL },

    { ngx_string("totp_redis_sentinel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_totp_redis_set_sentinel,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis),
      NULL },

    { ngx_string("totp_redis_sentinel_master"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.sentinel_master),
      NULL },

    { ngx_string("totp_redis_sentinel_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_redis_user,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.sentinel_user),
      NULL },

    { ngx_string("totp_redis_sentinel_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_redis_password,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.sentinel_password),
      NULL },

    { ngx_string("totp_redis_replicas"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.replicas),
      NULL },

    { ngx_string("totp_redis_ssl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl),
      NULL },

    { ngx_string("totp_redis_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl_verify),
      NULL },

    { ngx_string("totp_redis_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl_trusted_certificate),
      NULL },

    { ngx_string("totp_redis_ssl_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl_name),
      NULL },

    { ngx_string("totp_redis_ssl_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl_certificate),
      NULL },

    { ngx_string("totp_redis_ssl_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.ssl_certificate_key),
      NULL },

    { ngx_string("totp_redis_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_redis_user,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.user),
      NULL },

    { ngx_string("totp_redis_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_redis_password,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.password),
      NULL },

    { ngx_string("totp_redis_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.db),
      NULL },

    { ngx_string("totp_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_redis_prefix,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, prefix),
      NULL },

    { ngx_string("totp_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.timeout),
      NULL },

    { ngx_string("totp_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_set_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("totp_hash_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, hash_concurrency),
      &ngx_http_totp_hash_concurrency_post },

    { ngx_string("totp_audit_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_totp_audit_set_log,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_totp_loc_conf_t, audit_log),
      NULL },

    { ngx_string("totp_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_totp_set_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("totp_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_totp_set_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};



void *
ngx_http_totp_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->key = { 0, NULL };
     *     mcf->key_previous = { 0, NULL };
     *     mcf->redis.* = unset address, no password
     *     mcf->prefix = { 0, NULL };
     *     mcf->zone_name = { 0, NULL };
     *     mcf->thread_pool = NULL;
     *     mcf->templates = NULL;
     *     mcf->thread_pool_name = { 0, NULL };
     */

    ngx_http_totp_redis_create_conf(&mcf->redis);
    mcf->zone_size = NGX_CONF_UNSET;
    mcf->hash_concurrency = NGX_CONF_UNSET;

    return mcf;
}


char *
ngx_http_totp_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_totp_main_conf_t  *mcf = conf;

    if (ngx_http_totp_derive_keys(cf, mcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_totp_templates_builtin(cf, &mcf->templates) == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_http_totp_seen_clear();

    if (mcf->prefix.data == NULL) {
        ngx_str_set(&mcf->prefix, "totp:");
    }

    if (mcf->zone_name.data == NULL) {
        ngx_str_set(&mcf->zone_name, "totp");
        mcf->zone_size = NGX_HTTP_TOTP_CACHE_SIZE;
    }

    ngx_conf_init_value(mcf->hash_concurrency, 1);

    return ngx_http_totp_redis_init_conf(cf, &mcf->redis);
}


/* every key the module uses comes from here; the files' bytes stay put */

static ngx_int_t
ngx_http_totp_derive_keys(ngx_conf_t *cf, ngx_http_totp_main_conf_t *mcf)
{
    ngx_str_t           *key[2];
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    if (mcf->key.len == 0) {
        if (mcf->key_previous.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_key_file_previous\" needs "
                               "\"totp_key_file\"");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    key[0] = &mcf->key;
    key[1] = &mcf->key_previous;
    mcf->nkeys = mcf->key_previous.len ? 2 : 1;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    mcf->keys = ngx_pcalloc(cf->pool, 2 * sizeof(totp_keys_t));
    if (mcf->keys == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_totp_wipe_keys;
    cln->data = mcf->keys;

    for (i = 0; i < mcf->nkeys; i++) {
        if (totp_keys_derive(&mcf->keys[i], key[i]->data, key[i]->len) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "totp: cannot derive keys from "
                               "\"totp_key_file\"");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_totp_wipe_keys(void *data)
{
    totp_wipe(data, 2 * sizeof(totp_keys_t));
}


void *
ngx_http_totp_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_totp_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tlcf->handler = NGX_HTTP_TOTP_PLAIN;
     *     tlcf->pages = NULL;
     *     tlcf->path = { 0, NULL };
     *     tlcf->templates = NULL;
     *     tlcf->templates_dir = { 0, NULL };
     *     tlcf->main = NULL;
     *     tlcf->keys = NULL;
     */

    tlcf->enable = NGX_CONF_UNSET;
    tlcf->user = NGX_CONF_UNSET_PTR;
    tlcf->password_file = NGX_CONF_UNSET_PTR;
    tlcf->issuer = NGX_CONF_UNSET_PTR;
    tlcf->algorithm = NGX_CONF_UNSET_UINT;
    tlcf->digits = NGX_CONF_UNSET_UINT;
    tlcf->period = NGX_CONF_UNSET;
    tlcf->skew = NGX_CONF_UNSET_UINT;
    tlcf->session_ttl = NGX_CONF_UNSET;
    tlcf->trust_ttl = NGX_CONF_UNSET;
    tlcf->revalidate = NGX_CONF_UNSET_MSEC;
    tlcf->client_key = NGX_CONF_UNSET_PTR;
    tlcf->limits.pair.limit = NGX_CONF_UNSET_UINT;
    tlcf->limits.user.limit = NGX_CONF_UNSET_UINT;
    tlcf->limits.client.limit = NGX_CONF_UNSET_UINT;
    tlcf->limits.lockout = NGX_CONF_UNSET;
    tlcf->recovery_codes = NGX_CONF_UNSET_UINT;
    tlcf->cookie_secure = NGX_CONF_UNSET_UINT;
    tlcf->enroll = NGX_CONF_UNSET_UINT;
    tlcf->language = NGX_CONF_UNSET_UINT;
    tlcf->audit_log = NGX_CONF_UNSET_PTR;

    return tlcf;
}


/*
 * Pure: it writes the child's configuration only.  What depends on other
 * locations (every gated location has its pages, one pages location one
 * user base) is checked once all are merged (ngx_http_totp_locations.c).
 */

char *
ngx_http_totp_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_totp_loc_conf_t  *prev = parent;
    ngx_http_totp_loc_conf_t  *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /* "if" and limit_except blocks serve what their location serves */

    if (clcf->noname && conf->handler == NGX_HTTP_TOTP_PLAIN) {
        conf->handler = prev->handler;
        conf->pages = prev->pages;
    }

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->path, prev->path, "/_totp/");
    ngx_conf_merge_str_value(conf->realm, prev->realm, "");
    ngx_conf_merge_ptr_value(conf->user, prev->user, NULL);
    ngx_conf_merge_ptr_value(conf->password_file, prev->password_file,
                             NULL);
    ngx_conf_merge_ptr_value(conf->issuer, prev->issuer, NULL);
    ngx_conf_merge_uint_value(conf->algorithm, prev->algorithm, TOTP_SHA1);
    ngx_conf_merge_uint_value(conf->digits, prev->digits, 6);
    ngx_conf_merge_sec_value(conf->period, prev->period, 30);
    ngx_conf_merge_uint_value(conf->skew, prev->skew, 1);
    ngx_conf_merge_sec_value(conf->session_ttl, prev->session_ttl,
                             12 * 3600);
    ngx_conf_merge_sec_value(conf->trust_ttl, prev->trust_ttl, 30 * 86400);
    ngx_conf_merge_msec_value(conf->revalidate, prev->revalidate, 10000);

    ngx_conf_merge_ptr_value(conf->client_key, prev->client_key, NULL);
    ngx_http_totp_merge_limit(&conf->limits.pair, &prev->limits.pair, 5, 300);
    ngx_http_totp_merge_limit(&conf->limits.user, &prev->limits.user, 50,
                              3600);
    ngx_http_totp_merge_limit(&conf->limits.client, &prev->limits.client, 20,
                              300);

    ngx_conf_merge_sec_value(conf->limits.lockout, prev->limits.lockout, 900);

    /* a trusted browser's failures are counted as long as its trust */

    conf->limits.trust = conf->trust_ttl;

    ngx_conf_merge_uint_value(conf->recovery_codes, prev->recovery_codes, 10);
    ngx_conf_merge_uint_value(conf->cookie_secure, prev->cookie_secure,
                              NGX_HTTP_TOTP_COOKIE_AUTO);
    ngx_conf_merge_uint_value(conf->enroll, prev->enroll,
                              NGX_HTTP_TOTP_ENROLL_ON);
    ngx_conf_merge_uint_value(conf->language, prev->language,
                              NGX_HTTP_TOTP_LANG_AUTO);
    ngx_conf_merge_ptr_value(conf->audit_log, prev->audit_log, NULL);

    conf->main = ngx_http_conf_get_module_main_conf(cf, ngx_http_totp_module);

    if (conf->templates == NULL) {
        conf->templates = prev->templates ? prev->templates
                                          : conf->main->templates;
        conf->templates_dir = prev->templates_dir;
    }

    /*
     * The pages and the health check are never gated: "totp on" written
     * there is refused by its directive, and one inherited is ignored.
     */

    if (conf->handler != NGX_HTTP_TOTP_PLAIN) {
        conf->enable = 0;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (clcf->name.len) {
        conf->where.len = sizeof("location \"\"") - 1 + clcf->name.len;
        conf->where.data = ngx_pnalloc(cf->pool, conf->where.len);
        if (conf->where.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(conf->where.data, "location \"%V\"", &clcf->name);

    } else {
        ngx_str_set(&conf->where, "server level");
    }

    conf->location = clcf->name;

    return ngx_http_totp_gated(cf, conf);
}


/* a gated location: what it cannot work without, what it is bound to */

static char *
ngx_http_totp_gated(ngx_conf_t *cf, ngx_http_totp_loc_conf_t *conf)
{
    if (conf->main->key.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp on\" needs \"totp_key_file\" "
                           "in the http block");
        return NGX_CONF_ERROR;
    }

    if (conf->user == NULL && conf->password_file == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp on\" needs \"totp_user\" or "
                           "\"totp_password_file\"");
        return NGX_CONF_ERROR;
    }

    if (conf->user == NULL) {
        conf->main->checks = 1;
    }

    if (ngx_http_totp_names(cf, conf) != NGX_OK
        || ngx_http_totp_binding(cf, conf->main, conf) != NGX_OK
        || ngx_http_totp_profile(cf, conf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A realm names a user base: its keys in Redis begin with
 * "PREFIX REALM:", its cookies end with "_REALM", so that two consoles
 * of one server keep their users, sessions and counters apart.
 */

static ngx_int_t
ngx_http_totp_names(ngx_conf_t *cf, ngx_http_totp_loc_conf_t *conf)
{
    u_char      *p;
    ngx_uint_t   i, k;

    static ngx_str_t  purposes[3] = {
        ngx_string("session"), ngx_string("trust"), ngx_string("pre")
    };

    if (conf->realm.len == 0) {
        conf->keyspace = conf->main->prefix;

    } else {
        conf->keyspace.len = conf->main->prefix.len + conf->realm.len + 1;
        conf->keyspace.data = ngx_pnalloc(cf->pool, conf->keyspace.len);
        if (conf->keyspace.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(conf->keyspace.data, "%V%V:", &conf->main->prefix,
                    &conf->realm);
    }

    /* Secure cookies carry the __Host- prefix (ngx_http_totp_cookie.c) */

    for (i = 0; i < 2; i++) {
        for (k = 0; k < 3; k++) {
            p = ngx_pnalloc(cf->pool, sizeof("__Host-totp_session_")
                                      + conf->realm.len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            conf->cookie_names[i][k].data = p;

            p = ngx_sprintf(p, "%stotp_%V", i ? "__Host-" : "",
                            &purposes[k]);

            if (conf->realm.len) {
                p = ngx_sprintf(p, "_%V", &conf->realm);
            }

            conf->cookie_names[i][k].len = p - conf->cookie_names[i][k].data;
        }
    }

    return NGX_OK;
}


/*
 * The binding is the user base and the first factor that is checked: the
 * realm and the password file, or with totp_user the realm alone (the
 * identity comes from an earlier module, the same for every location of
 * the realm).  The location's cookie keys are the main ones bound to it
 * by an HMAC.  A password file with variables ends the binding with its
 * path as written; the cookies then bind to the path each request
 * expands (ngx_http_totp_cookie_binding()).  Sealing and CSRF keys stay
 * the main ones: enrollments belong to user names.
 */

static ngx_int_t
ngx_http_totp_binding(ngx_conf_t *cf, ngx_http_totp_main_conf_t *mcf,
    ngx_http_totp_loc_conf_t *conf)
{
    u_char              *p;
    ngx_uint_t           i, k;
    ngx_pool_cleanup_t  *cln;

    static ngx_uint_t  cookie_keys[] = {
        TOTP_KEY_SESSION, TOTP_KEY_TRUST, TOTP_KEY_PRE
    };

    p = ngx_pnalloc(cf->pool, sizeof("totp_realm ; totp_password_file ")
                              + conf->realm.len
                              + (conf->user ? 0
                                            : conf->password_file->value.len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    conf->binding.data = p;

    if (conf->realm.len) {
        p = ngx_sprintf(p, "totp_realm %V; ", &conf->realm);
    }

    if (conf->user) {
        p = ngx_cpymem(p, "totp_user", sizeof("totp_user") - 1);

    } else {
        p = ngx_sprintf(p, "totp_password_file %V",
                        &conf->password_file->value);
    }

    conf->binding.len = p - conf->binding.data;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    conf->keys = ngx_pcalloc(cf->pool, 2 * sizeof(totp_keys_t));
    if (conf->keys == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_totp_wipe_keys;
    cln->data = conf->keys;

    for (i = 0; i < mcf->nkeys; i++) {
        conf->keys[i] = mcf->keys[i];

        for (k = 0; k < sizeof(cookie_keys) / sizeof(cookie_keys[0]); k++) {
            if (totp_hmac_sha256(mcf->keys[i].key[cookie_keys[k]],
                                 TOTP_KEY_LEN, conf->binding.data,
                                 conf->binding.len,
                                 conf->keys[i].key[cookie_keys[k]])
                != 0)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/*
 * A digest of the settings the pages sign a user in under.  Gated
 * locations configured alike share it, on this machine and on others;
 * after a change of any of them, a pre-session made before names no
 * profile and the user starts over at the console.  The audit log is no
 * such setting: machines that log to different places still share their
 * users' sign-ins, and a new log interrupts nobody.
 */

static ngx_int_t
ngx_http_totp_profile(ngx_conf_t *cf, ngx_http_totp_loc_conf_t *conf)
{
    u_char     *p, *buf, mac[TOTP_MAC_LEN];
    size_t      len;
    ngx_int_t   rc;
    ngx_str_t  *issuer, *client, none = ngx_null_string;

    issuer = conf->issuer ? &conf->issuer->value : &none;
    client = conf->client_key ? &conf->client_key->value : &none;

    len = 5 * NGX_SIZE_T_LEN + conf->binding.len + issuer->len
          + client->len + conf->templates_dir.len + conf->path.len
          + 18 * NGX_INT64_LEN;

    buf = ngx_pnalloc(cf->temp_pool, len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    /* strings with their lengths first: no two settings read the same */

    p = ngx_sprintf(buf, "%uz:%V %uz:%V %uz:%V %uz:%V %uz:%V",
                    conf->binding.len, &conf->binding, issuer->len, issuer,
                    client->len, client,
                    conf->templates_dir.len, &conf->templates_dir,
                    conf->path.len, &conf->path);

    p = ngx_sprintf(p, " %ui %ui %T %ui %T %T %M %ui %T %ui %T %ui %T %T"
                    " %ui %ui %ui %ui",
                    conf->algorithm, conf->digits, conf->period, conf->skew,
                    conf->session_ttl, conf->trust_ttl, conf->revalidate,
                    conf->limits.pair.limit, conf->limits.pair.window,
                    conf->limits.user.limit, conf->limits.user.window,
                    conf->limits.client.limit, conf->limits.client.window,
                    conf->limits.lockout, conf->recovery_codes,
                    conf->cookie_secure, conf->enroll, conf->language);

    rc = totp_hmac_sha256(NULL, 0, buf, p - buf, mac);

    ngx_memcpy(conf->profile, mac, TOTP_PROFILE_LEN);

    return (rc == 0) ? NGX_OK : NGX_ERROR;
}


static char *
ngx_http_totp_set_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t  *key;

    key = (ngx_str_t *) (p + cmd->offset);

    if (key->data) {
        return "is duplicate";
    }

    return ngx_http_totp_read_secret_file(cf, key, NGX_HTTP_TOTP_KEY_MIN,
                                          NGX_HTTP_TOTP_KEY_MAX);
}


/*
 * Reads the small file that the directive being parsed names, and that
 * holds a secret (a key, a password), at configuration time, so workers
 * never touch the file system for it.  The copy is wiped when the
 * configuration's pool goes away.
 */

static char *
ngx_http_totp_read_secret_file(ngx_conf_t *cf, ngx_str_t *secret,
    size_t min, size_t max)
{
    char                *rv;
    u_char              *buf;
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_str_t           *value, path;
    ngx_file_t           file;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" cannot open \"%V\"", &value[0], &path);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;
    buf = NULL;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = path;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\" cannot stat \"%V\"", &value[0], &path);
        goto done;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" file \"%V\" is %s", &value[0], &path,
                           ngx_is_dir(&fi) ? "a directory"
                                           : "not a regular file");
        goto done;
    }

    if ((size_t) ngx_file_size(&fi) > max) {
        goto too_large;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        goto done;
    }

    buf = ngx_pnalloc(cf->pool, max + 1);
    if (buf == NULL) {
        goto done;
    }

    cln->handler = ngx_http_totp_wipe_secret;
    cln->data = secret;

    /* one byte more than allowed tells a file that grew since fstat() */

    n = ngx_read_file(&file, buf, max + 1, 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    if ((size_t) n > max) {
        goto too_large;
    }

    if ((size_t) n < min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" file \"%V\" holds %z bytes, "
                           "at least %uz are needed",
                           &value[0], &path, n, min);
        goto done;
    }

    secret->data = buf;
    secret->len = n;
    buf = NULL;

    rv = NGX_CONF_OK;
    goto done;

too_large:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" file \"%V\" is larger than %uz bytes",
                       &value[0], &path, max);

done:

    if (buf) {
        totp_wipe(buf, max + 1);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &path);
    }

    return rv;
}


static void
ngx_http_totp_wipe_secret(void *data)
{
    ngx_str_t  *secret = data;

    if (secret->data) {
        totp_wipe(secret->data, secret->len);
    }
}


static char *
ngx_http_totp_set_algorithm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_uint_t  *algp;
    totp_alg_t   alg;

    algp = (ngx_uint_t *) (p + cmd->offset);

    if (*algp != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (totp_alg_parse((char *) value[1].data, value[1].len, &alg) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be \"sha1\", \"sha256\" or "
                           "\"sha512\", not \"%V\"", &value[0], &value[1]);
        return NGX_CONF_ERROR;
    }

    *algp = alg;

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_digits(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *np = data;

    /* the two lengths every authenticator app understands */

    if (*np != 6 && *np != 8) {
        return "must be 6 or 8";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_period(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    /* an hour is far beyond what any authenticator app offers */

    if (*tp < 1 || *tp > 3600) {
        return "must be between 1s and 1h";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_skew(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *np = data;

    /* each step of skew gives a guesser two more codes that pass */

    if (*np > TOTP_SKEW_MAX) {
        return "must be between 0 and 10";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_ttl(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    if (*tp < 1) {
        return "must be at least 1s";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_recovery_codes(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *np = data;

    /* a page of them is as many as anyone keeps safe */

    if (*np > NGX_HTTP_TOTP_RECOVERY_MAX) {
        return "must be between 0 and 20";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_hash_concurrency(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    /* beyond a few, hashes only queue for the machine's cores */

    if (*np < 1 || *np > 64) {
        return "must be between 1 and 64";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_lockout(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *tp = data;

    /* Redis keys' TTLs; longer is ops' job (tools/totp-admin), not a TTL's */

    if (*tp < 1 || *tp > NGX_HTTP_TOTP_LIMIT_TIME_MAX) {
        return "must be between 1s and 30d";
    }

    return NGX_CONF_OK;
}


/*
 * "totp_fail_limit 5 5m": failures allowed, and the window they count in;
 * "totp_fail_limit_ip off": a client's failures across users not counted
 */

static char *
ngx_http_totp_set_fail_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_int_t               n;
    ngx_str_t              *value;
    ngx_http_totp_limit_t  *lim;

    lim = (ngx_http_totp_limit_t *) (p + cmd->offset);

    if (lim->limit != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (cmd->type & NGX_CONF_TAKE1
            && ngx_strcmp(value[1].data, "off") == 0)
        {
            lim->limit = 0;
            lim->window = 1;
            return NGX_CONF_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a number of failures and a time "
                           "window, or \"off\", not \"%V\"",
                           &value[0], &value[1]);
        return NGX_CONF_ERROR;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1 || n > NGX_HTTP_TOTP_LIMIT_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a number of failures from 1 to "
                           "%d, not \"%V\"", &value[0],
                           NGX_HTTP_TOTP_LIMIT_MAX, &value[1]);
        return NGX_CONF_ERROR;
    }

    lim->limit = n;

    lim->window = ngx_parse_time(&value[2], 1);
    if (lim->window == (time_t) NGX_ERROR || lim->window < 1
        || lim->window > NGX_HTTP_TOTP_LIMIT_TIME_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a time window from 1s to 30d, "
                           "not \"%V\"", &value[0], &value[2]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_totp_merge_limit(ngx_http_totp_limit_t *conf,
    ngx_http_totp_limit_t *prev, ngx_uint_t limit, time_t window)
{
    if (conf->limit != NGX_CONF_UNSET_UINT) {
        return;
    }

    if (prev->limit != NGX_CONF_UNSET_UINT) {
        *conf = *prev;
        return;
    }

    conf->limit = limit;
    conf->window = window;
}


/* "totp on" where the pages, the health check or metrics are is refused */

static char *
ngx_http_totp_set_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && tlcf->enable
        && tlcf->handler != NGX_HTTP_TOTP_PLAIN)
    {
        return "cannot gate the location of \"totp_pages\", "
               "\"totp_health\" or \"totp_metrics\"";
    }

    return rv;
}


/*
 * "location /_totp/ { totp_pages; }": a prefix location, whose name is
 * the totp_path of the gated locations it serves.
 */

static char *
ngx_http_totp_set_pages(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->exact_match || clcf->named || clcf->noname
#if (NGX_PCRE)
        || clcf->regex
#endif
        || clcf->name.len < 2
        || clcf->name.data[clcf->name.len - 1] != '/')
    {
        return "needs a prefix location that ends in \"/\", such as "
               "\"location /_totp/\" or \"location ^~ /_totp/\"";
    }

    rv = ngx_http_totp_set_handler(cf, tlcf, NGX_HTTP_TOTP_PAGES);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    tlcf->pages = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_pages_conf_t));
    if (tlcf->pages == NULL) {
        return NGX_CONF_ERROR;
    }

    tlcf->pages->prefix = clcf->name;

    if (ngx_array_init(&tlcf->pages->profiles, cf->pool, 2,
                       sizeof(ngx_http_totp_loc_conf_t *))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a location the module answers itself: never gated, one handler only */

static char *
ngx_http_totp_set_handler(ngx_conf_t *cf, ngx_http_totp_loc_conf_t *tlcf,
    ngx_uint_t handler)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or conflicts with another content handler";
    }

    if (tlcf->enable == 1) {
        return "cannot be in a location with \"totp on\"";
    }

    tlcf->handler = handler;

    switch (handler) {

    case NGX_HTTP_TOTP_PAGES:
        clcf->handler = ngx_http_totp_pages_handler;
        break;

    case NGX_HTTP_TOTP_HEALTH:
        clcf->handler = ngx_http_totp_health_handler;
        break;

    default: /* NGX_HTTP_TOTP_METRICS */
        clcf->handler = ngx_http_totp_metrics_handler;
        break;
    }

    return NGX_CONF_OK;
}


/*
 * totp_user and totp_client_key name a person or a client: text without
 * a variable would make everyone one user, or every client one client.
 * cmd->post says which variables fit.
 */

static char *
ngx_http_totp_set_variable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    char                       *rv;
    ngx_str_t                  *value;
    ngx_http_complex_value_t  **cv;

    rv = ngx_http_set_complex_value_slot(cf, cmd, conf);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    cv = (ngx_http_complex_value_t **) (p + cmd->offset);

    if ((*cv)->lengths == NULL) {
        value = cf->args->elts;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a variable %s, not \"%V\"",
                           &value[0], (char *) cmd->post, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a path relative to the configuration prefix, as auth_basic_user_file */

static char *
ngx_http_totp_set_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    ngx_str_t                         *value;
    ngx_http_compile_complex_value_t   ccv;

    if (tlcf->password_file != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    tlcf->password_file = ngx_palloc(cf->pool,
                                     sizeof(ngx_http_complex_value_t));
    if (tlcf->password_file == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = tlcf->password_file;
    ccv.zero = 1;
    ccv.conf_prefix = 1;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_set_trust_ttl(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    ngx_str_t  *value;

    if (tlcf->trust_ttl != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        tlcf->trust_ttl = 0;
        return NGX_CONF_OK;
    }

    tlcf->trust_ttl = ngx_parse_time(&value[1], 1);

    if (tlcf->trust_ttl == (time_t) NGX_ERROR || tlcf->trust_ttl < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_trust_ttl\" must be a time or \"off\", "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * "/_totp/": absolute, ending in "/", and plain enough to be matched
 * against the normalized URI and written into links and Location.
 */

static char *
ngx_http_totp_set_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    u_char      c;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (tlcf->path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len < 2 || value[1].len > 128
        || value[1].data[0] != '/'
        || value[1].data[value[1].len - 1] != '/'
        || ngx_strstr(value[1].data, "//") != NULL
        || ngx_strstr(value[1].data, "/./") != NULL
        || ngx_strstr(value[1].data, "/../") != NULL)
    {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-'
              || c == '.'))
        {
            goto invalid;
        }
    }

    tlcf->path = value[1];

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"totp_path\" must be an absolute path of letters, "
                       "digits, \"/\", \"_\", \"-\" and \".\" that ends "
                       "in \"/\", not \"%V\"", &value[1]);

    return NGX_CONF_ERROR;
}


/* "totp_zone name:size", as limit_req_zone's zone= */

static char *
ngx_http_totp_set_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_main_conf_t  *mcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (mcf->zone_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_zone\" needs a name and a size, such as "
                           "\"totp:1m\", not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_zone\" has an invalid size in \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) NGX_HTTP_TOTP_CACHE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_zone\" \"%V\" is too small, it needs at "
                           "least %uzk", &value[1],
                           (size_t) NGX_HTTP_TOTP_CACHE_MIN / 1024);
        return NGX_CONF_ERROR;
    }

    mcf->zone_name = name;
    mcf->zone_size = size;

    return NGX_CONF_OK;
}


/* a name for cookies and Redis keys: [A-Za-z0-9_-], 1 to 32 bytes */

static char *
ngx_http_totp_set_realm(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    u_char      c;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (tlcf->realm.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_TOTP_REALM_MAX) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            goto invalid;
        }
    }

    tlcf->realm = value[1];

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"totp_realm\" must be 1 to %d letters, digits, "
                       "\"_\" or \"-\", not \"%V\"",
                       NGX_HTTP_TOTP_REALM_MAX, &value[1]);

    return NGX_CONF_ERROR;
}


/*
 * ngx_conf_set_enum_slot()'s message would name neither the directive
 * nor what it takes
 */

static char *
ngx_http_totp_set_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char             *rv;
    u_char           *p, *last, buf[128];
    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);

    if (rv != NGX_CONF_ERROR) {
        return rv;
    }

    value = cf->args->elts;
    p = buf;
    last = buf + sizeof(buf);

    for (e = cmd->post; e->name.len; e++) {
        p = ngx_slprintf(p, last, "%s\"%V\"",
                         e == cmd->post ? ""
                         : e[1].name.len ? ", " : " or ", &e->name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" must be %*s, not \"%V\"",
                       &cmd->name, (size_t) (p - buf), buf, &value[1]);

    return rv;
}


static char *
ngx_http_totp_set_templates(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_totp_loc_conf_t  *tlcf = conf;

    ngx_str_t                  *value, dir;
    ngx_http_totp_main_conf_t  *mcf;
    ngx_http_totp_templates_t  *builtin;

    if (tlcf->templates != NULL) {
        return "is duplicate";
    }

    /* the directive may come before the http block's end */

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_totp_module);

    builtin = ngx_http_totp_templates_builtin(cf, &mcf->templates);
    if (builtin == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    dir = value[1];

    if (ngx_conf_full_name(cf->cycle, &dir, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    tlcf->templates_dir = dir;

    return ngx_http_totp_templates_load(cf, builtin, &dir, &tlcf->templates);
}


static char *
ngx_http_totp_set_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_totp_set_handler(cf, conf, NGX_HTTP_TOTP_HEALTH);
}


/* the counters live in the totp_zone, which is then made in any case */

static char *
ngx_http_totp_set_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_totp_module);
    mcf->metrics = 1;

    return ngx_http_totp_set_handler(cf, conf, NGX_HTTP_TOTP_METRICS);
}




/* an ACL user name as Redis takes it: printable, no spaces */

static char *
ngx_http_totp_set_redis_user(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t   *value, *user;
    ngx_uint_t   i;

    user = (ngx_str_t *) (p + cmd->offset);

    if (user->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 128) {
        return "takes a user name of 1 to 128 bytes";
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f) {
            return "takes a user name of printable characters, without "
                   "spaces";
        }
    }

    *user = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_set_redis_password(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    char       *rv;
    ngx_str_t  *value, *password;

    password = (ngx_str_t *) (p + cmd->offset);

    if (password->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rv = ngx_http_totp_read_secret_file(cf, password, 1,
                                        NGX_HTTP_TOTP_REDIS_PASSWORD_MAX);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* editors and "echo" end the file with a line break; Redis would not */

    while (password->len
           && (password->data[password->len - 1] == LF
               || password->data[password->len - 1] == CR))
    {
        password->len--;
    }

    if (password->len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" file \"%V\" is empty",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_set_redis_prefix(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value, *prefix;
    ngx_uint_t   i;

    prefix = (ngx_str_t *) (p + cmd->offset);

    if (prefix->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > NGX_HTTP_TOTP_REDIS_PREFIX_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_prefix\" \"%V\" is longer than "
                           "%d bytes", &value[1],
                           NGX_HTTP_TOTP_REDIS_PREFIX_MAX);
        return NGX_CONF_ERROR;
    }

    /*
     * The prefix is typed into redis-cli by ops, and braces would move
     * the Redis Cluster hash tag away from {NAME}.
     */

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] >= 0x7f
            || value[1].data[i] == '{' || value[1].data[i] == '}')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis_prefix\" \"%V\" may hold only "
                               "printable characters other than space, "
                               "\"{\" and \"}\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    *prefix = value[1];

    return NGX_CONF_OK;
}


/*
 * totp_thread_pool: a pool nginx's thread_pool directive defines (nginx
 * says so at start when none does), "default", or "off"
 */

static char *
ngx_http_totp_set_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_totp_main_conf_t  *mcf = conf;

    ngx_str_t  *value;

    if (mcf->thread_pool_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mcf->thread_pool_name = value[1];

    if (ngx_strcmp(value[1].data, "off") == 0) {
        return NGX_CONF_OK;
    }

#if (NGX_THREADS)

    mcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (mcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"totp_thread_pool %V\" needs an nginx built "
                       "with threads (--with-threads); \"off\" hashes in "
                       "the event loop", &value[1]);
    return NGX_CONF_ERROR;

#endif
}
