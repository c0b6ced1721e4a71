
/*
 * A user's TOTP secret while a request holds it: made, sealed for Redis,
 * opened from there, checked against a code.  The plaintext lives only in
 * an ngx_http_totp_secret_t, which its owner wipes after use.
 */


#ifndef _NGX_HTTP_TOTP_SECRET_H_INCLUDED_
#define _NGX_HTTP_TOTP_SECRET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_store.h"


/* the largest secret: 64 bytes for SHA512 */
#define NGX_HTTP_TOTP_SECRET_MAX  64


typedef struct {
    totp_alg_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    u_char                       key[NGX_HTTP_TOTP_SECRET_MAX];
    size_t                       len;

    /* opened by totp_key_file_previous only: to be sealed anew */
    unsigned                     stale:1;
} ngx_http_totp_secret_t;


/* a new random secret with the location's algorithm, digits and period */
ngx_int_t ngx_http_totp_secret_make(ngx_http_totp_loc_conf_t *conf,
    ngx_http_totp_secret_t *s);

/* a typed code that cannot be one: letters, or not s->digits digits */
#define NGX_HTTP_TOTP_CODE_MALFORMED  NGX_ABORT


/*
 * The code typed against s, without the spaces and dashes people type or
 * paste into it (removed in place): NGX_OK and *step set (the matching
 * step), NGX_DECLINED for a wrong code, NGX_HTTP_TOTP_CODE_MALFORMED,
 * NGX_ERROR.  A wrong code that a device whose clock is behind would
 * show (up to TOTP_BEHIND_MAX steps and 2 hours before the window) sets
 * *behind to how many seconds behind; it stays 0 otherwise.
 */
ngx_int_t ngx_http_totp_secret_code(ngx_http_request_t *r,
    ngx_http_totp_secret_t *s, ngx_uint_t skew, ngx_str_t *code,
    uint64_t *step, time_t *behind);

/*
 * The code typed against user's enrolled secret in rec: NGX_OK and *step
 * set, and *resealed when only the previous key opened the secret;
 * NGX_DECLINED for a wrong code, with *behind as above; NGX_ERROR.  The
 * secret is wiped.
 */
ngx_int_t ngx_http_totp_secret_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user,
    ngx_http_totp_record_t *rec, ngx_str_t *code, uint64_t *step,
    ngx_str_t *resealed, time_t *behind);

/* seals s for purpose ("secret", "enroll") and user, as base64url text */
ngx_int_t ngx_http_totp_secret_seal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, const char *purpose,
    ngx_http_totp_secret_t *s, ngx_str_t *out);

/* opens a sealed secret into s->key and s->len */
ngx_int_t ngx_http_totp_secret_unseal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, const char *purpose,
    u_char *b64, size_t len, ngx_http_totp_secret_t *s);

/* a pending enrollment, "1.ALG.DIGITS.PERIOD.SEALED", and back */
ngx_int_t ngx_http_totp_secret_pending(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user,
    ngx_http_totp_secret_t *s, ngx_str_t *pending);
ngx_int_t ngx_http_totp_secret_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_str_t *pending,
    ngx_http_totp_secret_t *s);


#endif /* _NGX_HTTP_TOTP_SECRET_H_INCLUDED_ */
