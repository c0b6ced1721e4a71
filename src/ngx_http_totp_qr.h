
/*
 * The enrollment page's QR code, otpauth:// URI and grouped secret, in
 * nginx's pools.  The work is done by ngx_http_totp_qr_core.c.
 */


#ifndef _NGX_HTTP_TOTP_QR_H_INCLUDED_
#define _NGX_HTTP_TOTP_QR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Inline SVG of text as a QR code (libqrencode, level M, 8-bit mode),
 * 4-module quiet zone on a white background, about 220 px wide.
 * NGX_OK, or NGX_ERROR (logged to the pool's log) when text is empty, too
 * long for a QR code, or memory runs out.
 */
ngx_int_t ngx_http_totp_qr_svg(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *svg);

/*
 * otpauth://totp/ISSUER:USER?secret=B32&issuer=ISSUER[&algorithm=SHA256
 * |SHA512][&digits=8][&period=N]; issuer and user percent-encoded.
 * alg is a totp_alg_t.  NGX_ERROR for an unknown alg, digits outside
 * 6..8, a period below 1 s, or no memory.
 */
ngx_int_t ngx_http_totp_otpauth_uri(ngx_pool_t *pool, ngx_str_t *issuer,
    ngx_str_t *user, ngx_str_t *secret_b32, ngx_uint_t alg,
    ngx_uint_t digits, time_t period, ngx_str_t *uri);

/* "ABCD EFGH IJKL ...": groups of 4 */
ngx_int_t ngx_http_totp_group_secret(ngx_pool_t *pool, ngx_str_t *b32,
    ngx_str_t *grouped);


#endif /* _NGX_HTTP_TOTP_QR_H_INCLUDED_ */
