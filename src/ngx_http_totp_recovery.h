
/*
 * Recovery codes: made at enrollment or on request, shown once, stored
 * only as keyed hashes bound to their user.
 */


#ifndef _NGX_HTTP_TOTP_RECOVERY_H_INCLUDED_
#define _NGX_HTTP_TOTP_RECOVERY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"


/* a recovery code's characters, without the dash shown in its middle */
#define NGX_HTTP_TOTP_CODE_LEN    10


/*
 * n new codes: *plain the text a person reads, "abcde-fghjk" a line
 * each (wiped with the request), *hashes their hashes under the current
 * key, an array of ngx_str_t for Redis.
 */
ngx_int_t ngx_http_totp_recovery_make(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_uint_t n,
    ngx_str_t *plain, ngx_array_t **hashes);

/*
 * A typed code as stored: lower case, without the spaces and dashes
 * people add; NGX_DECLINED when it cannot be one of ours.
 */
ngx_int_t ngx_http_totp_recovery_normalize(ngx_str_t *typed, u_char *code);

/* the hex HMAC of code and user under key number key (0: the current) */
ngx_int_t ngx_http_totp_recovery_hash(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_uint_t key,
    ngx_str_t *code, ngx_str_t *hash);


#endif /* _NGX_HTTP_TOTP_RECOVERY_H_INCLUDED_ */
