
/*
 * ngx_http_totp_module: a TOTP (RFC 6238) two-factor gate for nginx.
 *
 * This file holds the directives, the configuration's life cycle and the
 * per-worker hooks; each concern behind them lives in src/.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_module.h"
#include "ngx_http_totp_otp.h"


static void *ngx_http_totp_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_totp_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_totp_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_totp_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_totp_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_algorithm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_totp_digits(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_period(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_skew(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_totp_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_totp_wipe_secret(void *data);
static ngx_int_t ngx_http_totp_init_process(ngx_cycle_t *cycle);
static void ngx_http_totp_exit_process(ngx_cycle_t *cycle);


static ngx_conf_post_handler_pt  ngx_http_totp_digits_post =
    ngx_http_totp_digits;

static ngx_conf_post_handler_pt  ngx_http_totp_period_post =
    ngx_http_totp_period;

static ngx_conf_post_handler_pt  ngx_http_totp_skew_post =
    ngx_http_totp_skew;


static ngx_command_t  ngx_http_totp_commands[] = {

    { ngx_string("totp_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, key),
      NULL },

    { ngx_string("totp_key_file_previous"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, key_previous),
      NULL },

    { ngx_string("totp_algorithm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_algorithm,
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

    { ngx_string("totp_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_redis_set_addr,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis),
      NULL },

    { ngx_string("totp_redis_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_redis_set_password,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis),
      NULL },

    { ngx_string("totp_redis_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.db),
      NULL },

    { ngx_string("totp_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_totp_redis_set_prefix,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis),
      NULL },

    { ngx_string("totp_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_totp_main_conf_t, redis.timeout),
      NULL },

    { ngx_string("totp_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_totp_health,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_totp_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_totp_create_main_conf,        /* create main configuration */
    ngx_http_totp_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_totp_create_loc_conf,         /* create location configuration */
    ngx_http_totp_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_totp_module = {
    NGX_MODULE_V1,
    &ngx_http_totp_module_ctx,             /* module context */
    ngx_http_totp_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_totp_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_totp_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
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
     *     mcf->redis.* = unset address, no password, no prefix
     */

    mcf->redis.db = NGX_CONF_UNSET;
    mcf->redis.timeout = NGX_CONF_UNSET_MSEC;

    return mcf;
}


static char *
ngx_http_totp_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_totp_main_conf_t  *mcf = conf;

    return ngx_http_totp_redis_init_conf(cf, &mcf->redis);
}


static void *
ngx_http_totp_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_totp_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->algorithm = NGX_CONF_UNSET_UINT;
    tlcf->digits = NGX_CONF_UNSET_UINT;
    tlcf->period = NGX_CONF_UNSET;
    tlcf->skew = NGX_CONF_UNSET_UINT;

    return tlcf;
}


static char *
ngx_http_totp_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_totp_loc_conf_t  *prev = parent;
    ngx_http_totp_loc_conf_t  *conf = child;

    ngx_conf_merge_uint_value(conf->algorithm, prev->algorithm, TOTP_SHA1);
    ngx_conf_merge_uint_value(conf->digits, prev->digits, 6);
    ngx_conf_merge_sec_value(conf->period, prev->period, 30);
    ngx_conf_merge_uint_value(conf->skew, prev->skew, 1);

    return NGX_CONF_OK;
}


static char *
ngx_http_totp_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
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

char *
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
ngx_http_totp_algorithm(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
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
ngx_http_totp_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_totp_health_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_totp_init_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_totp_module);
    if (mcf == NULL) {
        return NGX_OK;
    }

    return ngx_http_totp_redis_init_process(cycle, &mcf->redis);
}


static void
ngx_http_totp_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_redis_exit_process(cycle);
}
