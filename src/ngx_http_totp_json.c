
/*
 * JSON string escaping.  One walk over the bytes decides, for each
 * position, how many bytes form a well-formed UTF-8 character there (RFC
 * 3629: no overlong forms, no surrogates, nothing above U+10FFFF); the
 * length pass and the writing pass share it, so they cannot disagree.
 */


#include <string.h>

#include "ngx_http_totp_json.h"


static size_t totp_json_utf8(const unsigned char *p, size_t left);


/* what one byte below 0x80 becomes: 1, 2 ("\n") or 6 ("\u001f") bytes */
#define totp_json_ascii_len(c)                                               \
    (((c) == '"' || (c) == '\\' || (c) == '\b' || (c) == '\f'                \
      || (c) == '\n' || (c) == '\r' || (c) == '\t')                          \
     ? 2 : ((c) < 0x20 || (c) == 0x7f) ? 6 : 1)


size_t
totp_json_escape_len(const unsigned char *src, size_t len)
{
    size_t  i, n, out;

    out = 0;

    for (i = 0; i < len; i += n) {

        if (src[i] < 0x80) {
            out += totp_json_ascii_len(src[i]);
            n = 1;
            continue;
        }

        n = totp_json_utf8(src + i, len - i);

        if (n == 0) {
            out += sizeof("\\ufffd") - 1;
            n = 1;
            continue;
        }

        out += n;
    }

    return out;
}


unsigned char *
totp_json_escape(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i += n) {
        c = src[i];
        n = 1;

        if (c >= 0x80) {
            n = totp_json_utf8(src + i, len - i);

            if (n == 0) {
                memcpy(dst, "\\ufffd", sizeof("\\ufffd") - 1);
                dst += sizeof("\\ufffd") - 1;
                n = 1;
                continue;
            }

            memcpy(dst, src + i, n);
            dst += n;
            continue;
        }

        switch (c) {
        case '"':  *dst++ = '\\'; *dst++ = '"'; continue;
        case '\\': *dst++ = '\\'; *dst++ = '\\'; continue;
        case '\b': *dst++ = '\\'; *dst++ = 'b'; continue;
        case '\f': *dst++ = '\\'; *dst++ = 'f'; continue;
        case '\n': *dst++ = '\\'; *dst++ = 'n'; continue;
        case '\r': *dst++ = '\\'; *dst++ = 'r'; continue;
        case '\t': *dst++ = '\\'; *dst++ = 't'; continue;
        default:   break;
        }

        if (c < 0x20 || c == 0x7f) {
            *dst++ = '\\';
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0x0f];
            continue;
        }

        *dst++ = c;
    }

    return dst;
}


/* the length of the well-formed UTF-8 character at p, or 0 */

static size_t
totp_json_utf8(const unsigned char *p, size_t left)
{
    size_t         n, i;
    unsigned char  lo, hi;

    /* the second byte's range depends on the first (RFC 3629, 4) */

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;

        if (p[0] == 0xe0) {
            lo = 0xa0;                   /* not overlong */

        } else if (p[0] == 0xed) {
            hi = 0x9f;                   /* not a surrogate */
        }

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;

        if (p[0] == 0xf0) {
            lo = 0x90;                   /* not overlong */

        } else if (p[0] == 0xf4) {
            hi = 0x8f;                   /* not above U+10FFFF */
        }

    } else {
        return 0;
    }

    if (left < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}
