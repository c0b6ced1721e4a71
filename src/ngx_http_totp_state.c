
/*
 * What the gate or the pages decided for a request.  The variables
 * $totp_user and $totp_status read it, in logs and upstream headers, so
 * it must outlive an internal redirect (error_page, try_files, a named
 * location), where nginx forgets every module's context: it lives in the
 * request's pool, found again by its cleanup handler, as the realip
 * module keeps the original address.  The decision itself does not
 * survive: every redirect into a gated location is checked again there.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_state.h"


static void ngx_http_totp_state_cleanup(void *data);


/* in ngx_http_totp_status_e order */
static ngx_str_t  ngx_http_totp_state_names[] = {
    ngx_null_string,
    ngx_string("session"),
    ngx_string("trusted"),
    ngx_string("verified"),
    ngx_string("login"),
    ngx_string("enroll"),
    ngx_string("denied"),
    ngx_string("locked"),
    ngx_string("error")
};


ngx_http_totp_state_t *
ngx_http_totp_state(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t     *cln;
    ngx_http_totp_state_t  *state;

    state = ngx_http_totp_state_find(r);

    if (state) {
        return state;
    }

    cln = ngx_pool_cleanup_add(r->main->pool, sizeof(ngx_http_totp_state_t));
    if (cln == NULL) {
        return NULL;
    }

    state = cln->data;
    ngx_memzero(state, sizeof(ngx_http_totp_state_t));

    cln->handler = ngx_http_totp_state_cleanup;

    return state;
}


ngx_http_totp_state_t *
ngx_http_totp_state_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->main->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_totp_state_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


void
ngx_http_totp_state_set(ngx_http_totp_state_t *state, ngx_uint_t status)
{
    state->status = status;
    ngx_str_null(&state->user);
    ngx_str_null(&state->base);
}


ngx_int_t
ngx_http_totp_state_pass(ngx_http_request_t *r, ngx_http_totp_state_t *state,
    ngx_uint_t status, u_char *user, size_t len, ngx_str_t *base)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, user, len);

    state->user.data = p;
    state->user.len = len;
    state->status = status;
    state->base = *base;

    return NGX_OK;
}


ngx_uint_t
ngx_http_totp_state_passed(ngx_http_totp_state_t *state, ngx_str_t *base)
{
    if (state->status != NGX_HTTP_TOTP_SESSION
        && state->status != NGX_HTTP_TOTP_TRUSTED
        && state->status != NGX_HTTP_TOTP_VERIFIED)
    {
        return 0;
    }

    return state->base.len == base->len
           && ngx_strncmp(state->base.data, base->data, base->len) == 0;
}


ngx_str_t *
ngx_http_totp_state_name(ngx_uint_t status)
{
    if (status > NGX_HTTP_TOTP_ERROR) {
        status = NGX_HTTP_TOTP_NONE;
    }

    return &ngx_http_totp_state_names[status];
}


/* a marker: the state is found by it, and needs nothing at the end */

static void
ngx_http_totp_state_cleanup(void *data)
{
}
