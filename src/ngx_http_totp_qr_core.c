
/*
 * QR code as SVG, otpauth:// URI, grouped secret: see the header.
 */


#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ngx_http_totp_qr_core.h"


/* dst is NULL in the length pass; len counts in both passes */
typedef struct {
    unsigned char  *dst;
    size_t          len;
} totp_qr_out_t;


static void totp_qr_put(totp_qr_out_t *out, const void *s, size_t n);
static void totp_qr_puts(totp_qr_out_t *out, const char *s);
static void totp_qr_putn(totp_qr_out_t *out, unsigned long long n);
static void totp_qr_escape(totp_qr_out_t *out, const unsigned char *s,
    size_t n);


/* the names authenticator apps expect, in the case they expect */
static const char  *totp_qr_alg_names[] = { "SHA1", "SHA256", "SHA512" };

static const char   totp_qr_hex[] = "0123456789ABCDEF";


QRcode *
totp_qr_encode(const unsigned char *data, size_t len)
{
    if (len == 0 || len > INT_MAX) {
        errno = (len == 0) ? EINVAL : ERANGE;
        return NULL;
    }

    /*
     * Level M survives a smudged or glared screen, which is how the code
     * is usually scanned, and still fits a typical otpauth URI into a
     * version that a phone camera resolves at 220 px.
     */

    return QRcode_encodeData((int) len, data, 0, QR_ECLEVEL_M);
}


size_t
totp_qr_svg(unsigned char *dst, const QRcode *qr)
{
    int             x, y, run, width;
    unsigned long   size, scale;
    totp_qr_out_t   out;

    out.dst = dst;
    out.len = 0;

    width = qr->width;
    size = (unsigned long) width + 2 * TOTP_QR_QUIET_ZONE;

    /* whole pixels per module keep the modules' edges sharp */

    scale = (TOTP_QR_SIZE + size / 2) / size;
    if (scale == 0) {
        scale = 1;
    }

    totp_qr_puts(&out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                       "viewBox=\"0 0 ");
    totp_qr_putn(&out, size);
    totp_qr_puts(&out, " ");
    totp_qr_putn(&out, size);
    totp_qr_puts(&out, "\" width=\"");
    totp_qr_putn(&out, size * scale);
    totp_qr_puts(&out, "\" height=\"");
    totp_qr_putn(&out, size * scale);
    totp_qr_puts(&out, "\" shape-rendering=\"crispEdges\" role=\"img\" "
                       "aria-label=\"QR code for your authenticator app\">"
                       "<rect width=\"");
    totp_qr_putn(&out, size);
    totp_qr_puts(&out, "\" height=\"");
    totp_qr_putn(&out, size);
    totp_qr_puts(&out, "\" fill=\"#fff\"/><path fill=\"#000\" d=\"");

    for (y = 0; y < width; y++) {
        for (x = 0; x < width; x += run) {

            /* bit 0 of each libqrencode module is "dark" */

            run = 0;
            while (x + run < width && (qr->data[y * width + x + run] & 1)) {
                run++;
            }

            if (run == 0) {
                run = 1;
                continue;
            }

            totp_qr_puts(&out, "M");
            totp_qr_putn(&out, (unsigned long) x + TOTP_QR_QUIET_ZONE);
            totp_qr_puts(&out, " ");
            totp_qr_putn(&out, (unsigned long) y + TOTP_QR_QUIET_ZONE);
            totp_qr_puts(&out, "h");
            totp_qr_putn(&out, (unsigned long) run);
            totp_qr_puts(&out, "v1h-");
            totp_qr_putn(&out, (unsigned long) run);
            totp_qr_puts(&out, "z");
        }
    }

    totp_qr_puts(&out, "\"/></svg>");

    return out.len;
}


size_t
totp_otpauth_uri(unsigned char *dst, const unsigned char *issuer,
    size_t issuer_len, const unsigned char *user, size_t user_len,
    const unsigned char *secret, size_t secret_len, totp_alg_t alg,
    unsigned digits, uint64_t period)
{
    totp_qr_out_t  out;

    if ((unsigned) alg >= sizeof(totp_qr_alg_names) / sizeof(char *)
        || digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX
        || period == 0)
    {
        return 0;
    }

    out.dst = dst;
    out.len = 0;

    totp_qr_puts(&out, "otpauth://totp/");

    /*
     * The issuer goes both into the label, which older apps read, and
     * into the parameter, which newer ones prefer; the label's ':' is
     * the one character left unencoded, so that apps can split it.
     */

    if (issuer_len) {
        totp_qr_escape(&out, issuer, issuer_len);
        totp_qr_puts(&out, ":");
    }

    totp_qr_escape(&out, user, user_len);
    totp_qr_puts(&out, "?secret=");
    totp_qr_escape(&out, secret, secret_len);

    if (issuer_len) {
        totp_qr_puts(&out, "&issuer=");
        totp_qr_escape(&out, issuer, issuer_len);
    }

    if (alg != TOTP_SHA1) {
        totp_qr_puts(&out, "&algorithm=");
        totp_qr_puts(&out, totp_qr_alg_names[alg]);
    }

    if (digits != 6) {
        totp_qr_puts(&out, "&digits=");
        totp_qr_putn(&out, digits);
    }

    if (period != 30) {
        totp_qr_puts(&out, "&period=");
        totp_qr_putn(&out, period);
    }

    return out.len;
}


size_t
totp_group_secret(unsigned char *dst, const unsigned char *b32, size_t len)
{
    size_t         i;
    totp_qr_out_t  out;

    out.dst = dst;
    out.len = 0;

    for (i = 0; i < len; i += 4) {
        if (i) {
            totp_qr_puts(&out, " ");
        }

        totp_qr_put(&out, b32 + i, (len - i < 4) ? len - i : 4);
    }

    return out.len;
}


static void
totp_qr_put(totp_qr_out_t *out, const void *s, size_t n)
{
    if (out->dst && n) {
        memcpy(out->dst + out->len, s, n);
    }

    out->len += n;
}


static void
totp_qr_puts(totp_qr_out_t *out, const char *s)
{
    totp_qr_put(out, s, strlen(s));
}


static void
totp_qr_putn(totp_qr_out_t *out, unsigned long long n)
{
    int   len;
    char  buf[24];

    len = snprintf(buf, sizeof(buf), "%llu", n);

    totp_qr_put(out, buf, (size_t) len);
}


/* RFC 3986: everything but the unreserved characters as %XX */

static void
totp_qr_escape(totp_qr_out_t *out, const unsigned char *s, size_t n)
{
    size_t          i;
    unsigned char   c, hex[3];

    for (i = 0; i < n; i++) {
        c = s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            totp_qr_put(out, &s[i], 1);
            continue;
        }

        hex[0] = '%';
        hex[1] = totp_qr_hex[c >> 4];
        hex[2] = totp_qr_hex[c & 0xf];

        totp_qr_put(out, hex, 3);
    }
}
