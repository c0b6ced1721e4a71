
/*
 * Cookies a worker verified on a connection: a keep-alive connection (or
 * an HTTP/2 one, whose streams share its number) that presents the very
 * same cookie again is not made to pay its HMAC again.
 */


#ifndef _NGX_HTTP_TOTP_SEEN_H_INCLUDED_
#define _NGX_HTTP_TOTP_SEEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_crypto.h"


/*
 * NGX_OK and *t as it was decoded when this connection last presented
 * exactly value as a cookie of purpose, verified under keys (the keys of
 * a location, the same for every request: see the caller); else
 * NGX_DECLINED.  Whether it is still in time is the caller's to check.
 */
ngx_int_t ngx_http_totp_seen_find(ngx_connection_t *c, const void *keys,
    u_char purpose, ngx_str_t *value, totp_token_t *t);

/* value, verified now under keys into *t, for the next request of c */
void ngx_http_totp_seen_keep(ngx_connection_t *c, const void *keys,
    u_char purpose, ngx_str_t *value, totp_token_t *t);

/*
 * Forgets every cookie, for each configuration read: with
 * master_process off a reload keeps the process and its connections,
 * and a new configuration's keys could lie where the old ones did.
 */
void ngx_http_totp_seen_clear(void);


#endif /* _NGX_HTTP_TOTP_SEEN_H_INCLUDED_ */
