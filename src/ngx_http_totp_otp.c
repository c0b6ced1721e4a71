
/*
 * HOTP (RFC 4226), TOTP (RFC 6238) and base32 (RFC 4648).
 */


#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_totp_otp.h"


typedef struct {
    const char      *name;
    size_t           key_len;
    const EVP_MD  *(*md)(void);
} totp_alg_info_t;


static int totp_range_check(totp_alg_t alg, const unsigned char *key,
    size_t key_len, unsigned digits, uint64_t first, uint64_t last,
    const char *code, size_t code_len, uint64_t *matched_step);
static uint32_t totp_ct_mask(uint32_t c, uint32_t lo, uint32_t hi);
static unsigned char totp_base32_char(uint32_t v);
static int totp_base32_value(uint32_t c);


/*
 * The key is one full hash output: the size of RFC 6238's test seeds and
 * what authenticator apps expect for each algorithm.
 */
static const totp_alg_info_t  totp_algs[] = {
    { "sha1",   20, EVP_sha1 },
    { "sha256", 32, EVP_sha256 },
    { "sha512", 64, EVP_sha512 }
};

#define totp_alg_valid(alg)                                                   \
    ((unsigned) (alg) < sizeof(totp_algs) / sizeof(totp_algs[0]))


static const uint32_t  totp_mod[] = { 1000000, 10000000, 100000000 };


size_t
totp_alg_key_len(totp_alg_t alg)
{
    return totp_alg_valid(alg) ? totp_algs[alg].key_len : 0;
}


const char *
totp_alg_name(totp_alg_t alg)
{
    return totp_alg_valid(alg) ? totp_algs[alg].name : NULL;
}


int
totp_alg_parse(const char *s, size_t len, totp_alg_t *alg)
{
    size_t         i, n;
    unsigned char  c;
    const char    *name;

    for (i = 0; i < sizeof(totp_algs) / sizeof(totp_algs[0]); i++) {
        name = totp_algs[i].name;

        if (strlen(name) != len) {
            continue;
        }

        /* by hand: tolower() and strncasecmp() follow the locale */

        for (n = 0; n < len; n++) {
            c = (unsigned char) s[n];

            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;
            }

            if (c != (unsigned char) name[n]) {
                break;
            }
        }

        if (n == len) {
            *alg = (totp_alg_t) i;
            return 0;
        }
    }

    return -1;
}


int
totp_hotp(totp_alg_t alg, const unsigned char *key, size_t key_len,
    uint64_t counter, unsigned digits, uint32_t *code)
{
    unsigned       i, off;
    uint32_t       bin;
    unsigned int   md_len;
    unsigned char  msg[8], md[EVP_MAX_MD_SIZE];

    if (!totp_alg_valid(alg)
        || digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX
        || (key == NULL && key_len > 0) || key_len > INT_MAX)
    {
        return -1;
    }

    for (i = 0; i < 8; i++) {
        msg[i] = (unsigned char) (counter >> (56 - 8 * i));
    }

    if (HMAC(totp_algs[alg].md(), key, (int) key_len, msg, sizeof(msg),
             md, &md_len)
        == NULL
        || md_len < 20)
    {
        totp_wipe(md, sizeof(md));
        return -1;
    }

    /* dynamic truncation, RFC 4226 section 5.3 */

    off = md[md_len - 1] & 0x0f;

    bin = (uint32_t) (md[off] & 0x7f) << 24
          | (uint32_t) md[off + 1] << 16
          | (uint32_t) md[off + 2] << 8
          | (uint32_t) md[off + 3];

    totp_wipe(md, sizeof(md));

    *code = bin % totp_mod[digits - TOTP_DIGITS_MIN];

    return 0;
}


int
totp_time_step(int64_t unix_time, uint64_t period, uint64_t *step)
{
    if (unix_time < 0 || period == 0) {
        return -1;
    }

    *step = (uint64_t) unix_time / period;

    return 0;
}


int
totp_window_check(totp_alg_t alg, const unsigned char *key,
    size_t key_len, unsigned digits, uint64_t step_now, unsigned skew,
    const char *code, size_t code_len, uint64_t *matched_step)
{
    uint64_t  first, last;

    if (skew > TOTP_SKEW_MAX) {
        return -1;
    }

    first = (step_now > skew) ? step_now - skew : 0;
    last = (step_now < UINT64_MAX - skew) ? step_now + skew : UINT64_MAX;

    return totp_range_check(alg, key, key_len, digits, first, last, code,
                            code_len, matched_step);
}


int
totp_behind_check(totp_alg_t alg, const unsigned char *key,
    size_t key_len, unsigned digits, uint64_t step_now, unsigned skew,
    unsigned back, const char *code, size_t code_len,
    uint64_t *matched_step)
{
    uint64_t  first, last;

    if (skew > TOTP_SKEW_MAX || back == 0 || back > TOTP_BEHIND_MAX) {
        return -1;
    }

    /* the window starts at step 0: nothing lies before it */

    if (step_now <= skew) {
        return 0;
    }

    last = step_now - skew - 1;
    first = (last >= back - 1) ? last - (back - 1) : 0;

    return totp_range_check(alg, key, key_len, digits, first, last, code,
                            code_len, matched_step);
}


/*
 * The code against every step of [first, last]: 1 and *matched_step set
 * (the latest matching step), 0, or -1.
 */

static int
totp_range_check(totp_alg_t alg, const unsigned char *key, size_t key_len,
    unsigned digits, uint64_t first, uint64_t last, const char *code,
    size_t code_len, uint64_t *matched_step)
{
    size_t    i;
    uint32_t  want, got, hit, found;
    uint64_t  step, best, mask;

    if (!totp_alg_valid(alg)
        || digits < TOTP_DIGITS_MIN || digits > TOTP_DIGITS_MAX
        || (key == NULL && key_len > 0)
        || (code == NULL && code_len > 0)
        || first > last)
    {
        return -1;
    }

    /* a malformed code says nothing about the key: reject it early */

    if (code_len != digits) {
        return 0;
    }

    want = 0;

    for (i = 0; i < code_len; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return 0;
        }

        want = want * 10 + (uint32_t) (code[i] - '0');
    }

    step = first;
    found = 0;
    best = 0;

    /*
     * Every candidate is computed and compared without a data-dependent
     * branch, so the time taken does not tell which step (if any) matched.
     *
     * A later match overwrites an earlier one.  The caller stores the
     * matched step and from then on accepts only greater steps; were the
     * earlier of two matching steps stored, the same code would be
     * accepted a second time for the later one.
     */

    for ( ;; ) {
        if (totp_hotp(alg, key, key_len, step, digits, &got) != 0) {
            return -1;
        }

        /* 1 only when got == want: only 0 - 1 borrows into bit 63 */
        hit = (uint32_t) (((uint64_t) (got ^ want) - 1) >> 63);

        mask = 0 - (uint64_t) hit;
        best = (best & ~mask) | (step & mask);
        found |= hit;

        if (step == last) {
            break;
        }

        step++;
    }

    if (!found) {
        return 0;
    }

    if (matched_step) {
        *matched_step = best;
    }

    return 1;
}


size_t
totp_base32_encoded_len(size_t len)
{
    static const unsigned char  tail[] = { 0, 2, 4, 5, 7 };

    return len / 5 * 8 + tail[len % 5];
}


size_t
totp_base32_decoded_max(size_t len)
{
    /* len * 5 / 8 without the overflow */
    return len / 8 * 5 + len % 8 * 5 / 8;
}


size_t
totp_base32_encode(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t    i, n;
    unsigned  bits;
    uint32_t  acc;

    n = 0;
    bits = 0;
    acc = 0;

    /* bits above the 13 lowest in acc are stale and never read */

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | src[i];
        bits += 8;

        while (bits >= 5) {
            bits -= 5;
            dst[n++] = totp_base32_char((acc >> bits) & 0x1f);
        }
    }

    if (bits > 0) {
        dst[n++] = totp_base32_char((acc << (5 - bits)) & 0x1f);
    }

    return n;
}


int
totp_base32_decode(unsigned char *dst, size_t *dst_len,
    const unsigned char *src, size_t len)
{
    int       v;
    size_t    i, n, chars, pad;
    unsigned  bits;
    uint32_t  acc;

    /* the padding an encoder writes, by count of characters mod 8 */
    static const signed char  pads[] = { 0, -1, 6, -1, 4, 3, -1, 1 };

    n = 0;
    chars = 0;
    pad = 0;
    bits = 0;
    acc = 0;

    for (i = 0; i < len; i++) {

        if (src[i] == ' ') {
            continue;
        }

        if (src[i] == '=') {
            pad++;
            continue;
        }

        if (pad) {
            goto failed;
        }

        v = totp_base32_value(src[i]);
        if (v < 0) {
            goto failed;
        }

        acc = (acc << 5) | (uint32_t) v;
        bits += 5;
        chars++;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (unsigned char) (acc >> bits);
        }
    }

    /*
     * Non-zero trailing bits would be dropped silently ("MZ" would decode
     * as "MY" does): refusing them keeps one encoding per byte string, so
     * a mistyped last character is reported, not ignored.
     */

    if (pads[chars % 8] < 0
        || (pad && pad != (size_t) pads[chars % 8])
        || (acc & ((1u << bits) - 1)) != 0)
    {
        goto failed;
    }

    *dst_len = n;

    return 0;

failed:

    totp_wipe(dst, n);

    return -1;
}


void
totp_wipe(void *p, size_t n)
{
    if (n) {
        OPENSSL_cleanse(p, n);
    }
}


/*
 * The base32 helpers below use arithmetic instead of table lookups: what
 * they convert is usually a secret, and a lookup's memory access pattern
 * would depend on it.
 */

static uint32_t
totp_ct_mask(uint32_t c, uint32_t lo, uint32_t hi)
{
    /*
     * all ones when lo <= c <= hi: only then do both differences leave
     * bit 31 clear (every value here is far below 2^31)
     */
    return (((c - lo) | (hi - c)) >> 31) - 1;
}


static unsigned char
totp_base32_char(uint32_t v)
{
    /* 26..31 are moved down from after 'Z' to '2'..'7' */
    return (unsigned char)
               ('A' + v - (totp_ct_mask(v, 26, 31) & ('Z' + 1 - '2')));
}


static int
totp_base32_value(uint32_t c)
{
    uint32_t  upper, lower, digit;

    upper = totp_ct_mask(c, 'A', 'Z');
    lower = totp_ct_mask(c, 'a', 'z');
    digit = totp_ct_mask(c, '2', '7');

    if ((upper | lower | digit) == 0) {
        return -1;
    }

    return (int) ((upper & (c - 'A'))
                  | (lower & (c - 'a'))
                  | (digit & (c - '2' + 26)));
}
