
/*
 * What the enrollment page shows of a new secret: the QR code as SVG, the
 * otpauth:// URI it encodes, the secret grouped for typing.
 *
 * Plain C with no nginx types, so that it can be unit-tested on its own;
 * ngx_http_totp_qr.h wraps it for nginx's pools.  Every function that
 * writes works in two passes: with dst NULL it returns the exact length
 * needed, otherwise it writes and returns the length.
 */


#ifndef _NGX_HTTP_TOTP_QR_CORE_H_INCLUDED_
#define _NGX_HTTP_TOTP_QR_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <qrencode.h>

#include "ngx_http_totp_otp.h"


/*
 * nginx loads modules with RTLD_GLOBAL: the core's plain names stay
 * inside the module's shared object.
 */
#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif


/* the size the SVG asks for, in CSS pixels, give or take half a module */
#define TOTP_QR_SIZE        220
#define TOTP_QR_QUIET_ZONE  4


/*
 * len bytes in 8-bit mode, error correction level M, the smallest version
 * that holds them.  NULL with errno set (EINVAL, ERANGE for too much
 * data, ENOMEM); otherwise the caller frees it with QRcode_free().
 */
QRcode *totp_qr_encode(const unsigned char *data, size_t len);

/*
 * An <svg> element for HTML or for a file of its own: a white background
 * with the quiet zone, the dark modules as one <path> of merged
 * horizontal runs, the viewBox in modules, width and height an integer
 * number of pixels per module near TOTP_QR_SIZE.  The colours are set on
 * the elements, so that no page style (dark mode) can invert them.
 */
size_t totp_qr_svg(unsigned char *dst, const QRcode *qr);

/*
 * otpauth://totp/ISSUER:USER?secret=B32&issuer=ISSUER[&algorithm=SHA256]
 * [&digits=8][&period=N], the format of Google Authenticator's Key Uri
 * Format that every authenticator app reads.  ISSUER and USER are
 * percent-encoded: only RFC 3986's unreserved characters stay as they
 * are.  algorithm, digits and period appear only when they are not the
 * apps' defaults (SHA1, 6, 30).  An empty issuer leaves out the label's
 * prefix and the issuer parameter.  0 for an unknown algorithm, digits
 * outside 6..8 or a period of 0.
 */
size_t totp_otpauth_uri(unsigned char *dst, const unsigned char *issuer,
    size_t issuer_len, const unsigned char *user, size_t user_len,
    const unsigned char *secret, size_t secret_len, totp_alg_t alg,
    unsigned digits, uint64_t period);

/* "ABCD EFGH IJKL ...": groups of 4 joined by single spaces */
size_t totp_group_secret(unsigned char *dst, const unsigned char *b32,
    size_t len);


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TOTP_QR_CORE_H_INCLUDED_ */
