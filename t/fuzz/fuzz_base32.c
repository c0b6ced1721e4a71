
/*
 * totp_base32_decode() / totp_base32_encode() (src/ngx_http_totp_otp.c).
 *
 * The input is used twice:
 *
 *  - as text to decode: when it decodes, re-encoding the bytes gives the
 *    input's canonical form (upper case, no spaces, no padding), and the
 *    result agrees with an independent strict decoder written here, which
 *    must also agree on every rejection;
 *  - as bytes to encode: the encoding has the announced length, decodes
 *    back to the bytes, and so do its lower-case, padded and spaced
 *    variants.
 */


#include <stdint.h>
#include <string.h>

#include "ngx_http_totp_otp.h"
#include "fuzz_common.h"


/* the strict reading of RFC 4648 that the header promises */

static int
ref_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }

    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }

    return -1;
}


static int
ref_decode(unsigned char *dst, size_t *dst_len, const unsigned char *src,
    size_t len)
{
    size_t    i, chars, pad, n, bitpos, want_pad;
    int       v;
    unsigned  vals_bits;

    /* the padding an encoder writes, by chars mod 8; -1: no such length */
    static const int  pads[8] = { 0, -1, 6, -1, 4, 3, -1, 1 };

    chars = 0;
    pad = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == ' ') {
            continue;
        }

        if (src[i] == '=') {
            pad++;
            continue;
        }

        if (pad > 0 || ref_value(src[i]) < 0) {
            return -1;
        }

        chars++;
    }

    if (pads[chars % 8] < 0) {
        return -1;
    }

    want_pad = (size_t) pads[chars % 8];

    if (pad != 0 && pad != want_pad) {
        return -1;
    }

    /* bit by bit, the slow and obvious way */

    n = chars * 5 / 8;
    memset(dst, 0, n);
    bitpos = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == ' ' || src[i] == '=') {
            continue;
        }

        v = ref_value(src[i]);

        for (vals_bits = 0; vals_bits < 5; vals_bits++, bitpos++) {
            if (!((v >> (4 - vals_bits)) & 1)) {
                continue;
            }

            if (bitpos / 8 >= n) {
                return -1;          /* a 1 among the trailing bits */
            }

            dst[bitpos / 8] |= (unsigned char) (0x80 >> (bitpos % 8));
        }
    }

    *dst_len = n;

    return 0;
}


/* upper case, without spaces and '=' */

static size_t
canonical(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == ' ' || src[i] == '=') {
            continue;
        }

        dst[n++] = (src[i] >= 'a' && src[i] <= 'z') ? src[i] - 0x20 : src[i];
    }

    return n;
}


static void
check_text(const uint8_t *data, size_t size)
{
    int             rc, ref_rc;
    size_t          n, ref_n, n2, enc_len, canon_len;
    unsigned char  *out, *ref, *enc, *canon, *out2;

    /* exact sizes, so that ASan sees any write past what is announced */

    out = malloc(totp_base32_decoded_max(size) + 1);
    ref = malloc(size + 1);
    canon = malloc(size + 1);

    n = (size_t) -1;
    rc = totp_base32_decode(out, &n, data, size);

    ref_n = (size_t) -1;
    ref_rc = ref_decode(ref, &ref_n, data, size);

    CHECK(rc == 0 || rc == -1);
    CHECK(rc == ref_rc);

    if (rc == 0) {
        CHECK(n <= totp_base32_decoded_max(size));
        CHECK(n == ref_n);
        CHECK(memcmp(out, ref, n) == 0);

        /* re-encodes to the canonical form of the input */

        enc_len = totp_base32_encoded_len(n);
        enc = malloc(enc_len + 1);
        CHECK(totp_base32_encode(enc, out, n) == enc_len);

        canon_len = canonical(canon, data, size);
        CHECK(canon_len == enc_len);
        CHECK(memcmp(canon, enc, enc_len) == 0);

        /* and decodes again to the same bytes */

        out2 = malloc(totp_base32_decoded_max(enc_len) + 1);
        n2 = (size_t) -1;
        CHECK(totp_base32_decode(out2, &n2, enc, enc_len) == 0);
        CHECK(n2 == n && memcmp(out2, out, n) == 0);

        free(out2);
        free(enc);
    }

    free(canon);
    free(ref);
    free(out);
}


static void
check_bytes(const uint8_t *data, size_t size)
{
    size_t          i, k, enc_len, n, chars_pad;
    unsigned char  *enc, *var, *out;

    enc_len = totp_base32_encoded_len(size);

    enc = malloc(enc_len + 1);
    CHECK(totp_base32_encode(enc, data, size) == enc_len);

    for (i = 0; i < enc_len; i++) {
        CHECK(ref_value(enc[i]) >= 0 && !(enc[i] >= 'a' && enc[i] <= 'z'));
    }

    out = malloc(totp_base32_decoded_max(enc_len * 3 + 8) + 1);

    n = (size_t) -1;
    CHECK(totp_base32_decode(out, &n, enc, enc_len) == 0);
    CHECK(n == size && memcmp(out, data, size) == 0);

    /* lower case, a space after every character, then the padding */

    chars_pad = (8 - enc_len % 8) % 8;
    var = malloc(enc_len * 2 + chars_pad + 1);
    k = 0;

    for (i = 0; i < enc_len; i++) {
        var[k++] = (enc[i] >= 'A' && enc[i] <= 'Z') ? enc[i] | 0x20 : enc[i];
        var[k++] = ' ';
    }

    for (i = 0; i < chars_pad; i++) {
        var[k++] = '=';
    }

    n = (size_t) -1;
    CHECK(totp_base32_decode(out, &n, var, k) == 0);
    CHECK(n == size && memcmp(out, data, size) == 0);

    /* a wrong amount of padding is refused */

    if (k > 0) {
        var[k++] = '=';
        CHECK(totp_base32_decode(out, &n, var, k) == -1);
    }

    free(var);
    free(out);
    free(enc);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text(data, size);
    check_bytes(data, size);

    return 0;
}
