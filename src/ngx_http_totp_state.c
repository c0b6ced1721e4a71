
/*
 * What the gate or the pages decided for a request.  The variables
 * $totp_user and $totp_status read it; so do logs and upstream headers,
 * which is why the user name is a copy of its own, not a pointer into a
 * token that the request may wipe.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_state.h"


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


ngx_str_t *
ngx_http_totp_state_name(ngx_uint_t status)
{
    if (status > NGX_HTTP_TOTP_ERROR) {
        status = NGX_HTTP_TOTP_NONE;
    }

    return &ngx_http_totp_state_names[status];
}


ngx_int_t
ngx_http_totp_state_pass(ngx_http_request_t *r, ngx_http_totp_state_t *state,
    ngx_uint_t status, u_char *user, size_t len)
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

    return NGX_OK;
}
