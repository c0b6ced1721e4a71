
/*
 * ngx_http_totp_module: a TOTP (RFC 6238) two-factor gate for nginx.
 *
 * This file holds the module's tables and life cycle: its context, the
 * phase handlers it installs, its variables, and what each process does
 * at start and exit.  The directives are in src/ngx_http_totp_conf.c;
 * each concern behind them lives in a file of its own in src/.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_conf.h"
#include "ngx_http_totp_gate.h"
#include "ngx_http_totp_locations.h"
#include "ngx_http_totp_password.h"
#include "ngx_http_totp_redis.h"
#include "ngx_http_totp_state.h"
#include "ngx_http_totp_version.h"


static ngx_int_t ngx_http_totp_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_totp_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_totp_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_totp_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_totp_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_totp_init_process(ngx_cycle_t *cycle);
static void ngx_http_totp_exit_process(ngx_cycle_t *cycle);
static void ngx_http_totp_exit_master(ngx_cycle_t *cycle);


static ngx_http_variable_t  ngx_http_totp_vars[] = {

    { ngx_string("totp_user"), NULL, ngx_http_totp_user_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("totp_status"), NULL, ngx_http_totp_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_totp_module_ctx = {
    ngx_http_totp_add_variables,           /* preconfiguration */
    ngx_http_totp_init,                    /* postconfiguration */

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
    ngx_http_totp_init_module,             /* init module */
    ngx_http_totp_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_totp_exit_process,            /* exit process */
    ngx_http_totp_exit_master,             /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_totp_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_totp_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * Once every location is merged: the gated locations are matched with
 * their pages, and the gate runs in the precontent phase, after every
 * access module (see src/ngx_http_totp_gate.c).  The pages are a content
 * handler of their own location, set by their directive.
 */

static ngx_int_t
ngx_http_totp_init(ngx_conf_t *cf)
{
    ngx_uint_t                  used;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_totp_module);

    if (ngx_http_totp_locations_init(cf, &used) != NGX_OK) {
        return NGX_ERROR;
    }

    if (used || mcf->metrics) {
        mcf->zone = ngx_http_totp_zone_add(cf, &mcf->zone_name,
                                           mcf->zone_size,
                                           &ngx_http_totp_module);
        if (mcf->zone == NULL) {
            return NGX_ERROR;
        }
    }

    if (used == 0) {
        return NGX_OK;
    }

    mcf->gated = 1;

#if (NGX_THREADS)

    /*
     * Passwords are hashed in nginx's "default" pool unless told.  Not
     * when master_process off reloads: nginx would start no threads for
     * the new pool, and its exit would wait on them.
     */

    if (mcf->checks && mcf->thread_pool_name.data == NULL
        && !(ngx_process == NGX_PROCESS_SINGLE
             && cf->cycle->old_cycle->conf_ctx != NULL))
    {
        mcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (mcf->thread_pool == NULL) {
            return NGX_ERROR;
        }
    }

#endif

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_totp_gate_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_totp_state_t  *state;

    state = ngx_http_totp_state_find(r);

    if (state == NULL || state->user.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = state->user.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = state->user.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t              *name;
    ngx_http_totp_state_t  *state;

    state = ngx_http_totp_state_find(r);

    if (state == NULL || state->status == NGX_HTTP_TOTP_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    name = ngx_http_totp_state_name(state->status);

    v->len = name->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = name->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_init_module(ngx_cycle_t *cycle)
{
    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "ngx_http_totp_module " NGX_HTTP_TOTP_VERSION);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_init_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_totp_module);
    if (mcf == NULL) {
        return NGX_OK;
    }

    ngx_http_totp_counters_use(cycle, mcf->zone ? mcf->zone->counters : NULL);
    ngx_http_totp_password_init_process(mcf);
    ngx_http_totp_count_redis_up(0);

    return ngx_http_totp_redis_init_process(cycle, &mcf->redis);
}


static void
ngx_http_totp_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_totp_redis_exit_process(cycle);
    ngx_http_totp_password_exit_process();
    totp_hmac_release();
}


static void
ngx_http_totp_exit_master(ngx_cycle_t *cycle)
{
    totp_hmac_release();
}
