
/*
 * A small table in each worker, one slot per connection number modulo its
 * size, holding the last cookie a connection presented and what it
 * decoded to.  What a hit skips is only the MAC: the caller still checks
 * the token's expiry and its age under the location's settings, and the
 * session behind it is still looked up in the revalidation cache on
 * every request, so that a logout or a revoke ends it mid-connection.
 * Nothing a request can change is taken from another: the cookie's bytes
 * are compared in full, and the keys it verified under are those of the
 * location, never of a request (a password file named by variables is
 * not kept here).  Connection numbers are never reused in nginx's life.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_seen.h"


#define NGX_HTTP_TOTP_SEEN_SLOTS  64

/* longer than any cookie the gate makes (a 256-byte user name: 488) */
#define NGX_HTTP_TOTP_SEEN_MAX    512


typedef struct {
    ngx_atomic_uint_t            number;      /* 0: empty */
    const void                  *keys;
    u_char                       purpose;
    size_t                       len;
    u_char                       value[NGX_HTTP_TOTP_SEEN_MAX];
    totp_token_t                 token;
} ngx_http_totp_seen_slot_t;


static ngx_http_totp_seen_slot_t  ngx_http_totp_seen[NGX_HTTP_TOTP_SEEN_SLOTS];


ngx_int_t
ngx_http_totp_seen_find(ngx_connection_t *c, const void *keys, u_char purpose,
    ngx_str_t *value, totp_token_t *t)
{
    ngx_http_totp_seen_slot_t  *s;

    s = &ngx_http_totp_seen[c->number % NGX_HTTP_TOTP_SEEN_SLOTS];

    if (c->number == 0
        || s->number != c->number
        || s->keys != keys
        || s->purpose != purpose
        || s->len != value->len
        || ngx_memcmp(s->value, value->data, value->len) != 0)
    {
        return NGX_DECLINED;
    }

    *t = s->token;

    return NGX_OK;
}


void
ngx_http_totp_seen_keep(ngx_connection_t *c, const void *keys,
    u_char purpose, ngx_str_t *value, totp_token_t *t)
{
    ngx_http_totp_seen_slot_t  *s;

    s = &ngx_http_totp_seen[c->number % NGX_HTTP_TOTP_SEEN_SLOTS];

    if (value->len > NGX_HTTP_TOTP_SEEN_MAX || c->number == 0) {
        ngx_memzero(s, sizeof(ngx_http_totp_seen_slot_t));
        return;
    }

    s->number = c->number;
    s->keys = keys;
    s->purpose = purpose;
    s->len = value->len;
    ngx_memcpy(s->value, value->data, value->len);
    s->token = *t;
}


void
ngx_http_totp_seen_clear(void)
{
    ngx_memzero(ngx_http_totp_seen, sizeof(ngx_http_totp_seen));
}
