
/*
 * The enrollment page's QR code, otpauth:// URI and grouped secret, in
 * nginx's pools.  Each result holds the secret in one form or another, so
 * each is wiped when its pool goes away.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_qr.h"
#include "ngx_http_totp_qr_core.h"


static u_char *ngx_http_totp_qr_alloc(ngx_pool_t *pool, size_t len);
static void ngx_http_totp_qr_wipe(void *data);


ngx_int_t
ngx_http_totp_qr_svg(ngx_pool_t *pool, ngx_str_t *text, ngx_str_t *svg)
{
    size_t   len;
    u_char  *p;
    QRcode  *qr;

    qr = totp_qr_encode(text->data, text->len);
    if (qr == NULL) {
        ngx_log_error(NGX_LOG_ALERT, pool->log, ngx_errno,
                      "QRcode_encodeData() failed for %uz bytes",
                      text->len);
        return NGX_ERROR;
    }

    len = totp_qr_svg(NULL, qr);

    p = ngx_http_totp_qr_alloc(pool, len);

    if (p) {
        svg->len = totp_qr_svg(p, qr);
        svg->data = p;
    }

    /* the modules spell out the secret as surely as the text does */

    totp_wipe(qr->data, (size_t) qr->width * qr->width);
    QRcode_free(qr);

    return p ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_totp_otpauth_uri(ngx_pool_t *pool, ngx_str_t *issuer,
    ngx_str_t *user, ngx_str_t *secret_b32, ngx_uint_t alg,
    ngx_uint_t digits, time_t period, ngx_str_t *uri)
{
    size_t   len;
    u_char  *p;

    if (alg > TOTP_SHA512
        || digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX
        || period < 1)
    {
        ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                      "otpauth uri: bad parameters: algorithm %ui, "
                      "digits %ui, period %T", alg, digits, period);
        return NGX_ERROR;
    }

    len = totp_otpauth_uri(NULL, issuer->data, issuer->len, user->data,
                           user->len, secret_b32->data, secret_b32->len,
                           (totp_alg_t) alg, (unsigned) digits,
                           (uint64_t) period);

    p = ngx_http_totp_qr_alloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    uri->len = totp_otpauth_uri(p, issuer->data, issuer->len, user->data,
                                user->len, secret_b32->data, secret_b32->len,
                                (totp_alg_t) alg, (unsigned) digits,
                                (uint64_t) period);
    uri->data = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_group_secret(ngx_pool_t *pool, ngx_str_t *b32,
    ngx_str_t *grouped)
{
    size_t   len;
    u_char  *p;

    len = totp_group_secret(NULL, b32->data, b32->len);

    p = ngx_http_totp_qr_alloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    grouped->len = totp_group_secret(p, b32->data, b32->len);
    grouped->data = p;

    return NGX_OK;
}


/* len bytes, wiped when the pool is destroyed */

static u_char *
ngx_http_totp_qr_alloc(ngx_pool_t *pool, size_t len)
{
    ngx_str_t           *s;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(pool, sizeof(ngx_str_t));
    if (cln == NULL) {
        return NULL;
    }

    s = cln->data;

    s->data = ngx_pnalloc(pool, len);
    if (s->data == NULL) {
        s->len = 0;
        return NULL;
    }

    s->len = len;

    cln->handler = ngx_http_totp_qr_wipe;

    return s->data;
}


static void
ngx_http_totp_qr_wipe(void *data)
{
    ngx_str_t  *s = data;

    totp_wipe(s->data, s->len);
}
