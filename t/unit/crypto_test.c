
/*
 * TAP unit tests for src/ngx_http_totp_crypto.c.
 *
 * Expected values are the RFC 5869 (HKDF), RFC 4231 (HMAC-SHA256) and
 * RFC 4648 (base64) test vectors.  Besides the groups of tests, three
 * helper modes print results for the Perl side to check against
 * independent implementations (Digest::SHA, MIME::Base64):
 *
 *     crypto_test derive HEXMASTER     six derived keys, one hex line each
 *     crypto_test b64enc HEX...        one encoding per argument
 *     crypto_test b64dec STR...        one hex line per argument, or "-"
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_crypto.h"
#include "tap.h"


#define S(s)  (const unsigned char *) (s), (sizeof(s) - 1)


/* parses an even-length hex string; its byte count or -1 */

static long
unhex(unsigned char *dst, size_t size, const char *hex)
{
    size_t        i, n;
    unsigned int  byte;

    n = strlen(hex);

    if (n % 2 || n / 2 > size) {
        return -1;
    }

    for (i = 0; i < n / 2; i++) {
        if (sscanf(&hex[2 * i], "%2x", &byte) != 1
            || strchr("0123456789abcdefABCDEF", hex[2 * i]) == NULL
            || strchr("0123456789abcdefABCDEF", hex[2 * i + 1]) == NULL)
        {
            return -1;
        }

        dst[i] = (unsigned char) byte;
    }

    return (long) (n / 2);
}


static void
print_hex(const unsigned char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }

    printf("\n");
}


static int
all_zero(const void *p, size_t n)
{
    size_t               i;
    const unsigned char  *c;

    c = p;

    for (i = 0; i < n; i++) {
        if (c[i] != 0) {
            return 0;
        }
    }

    return 1;
}


static int
contains(const unsigned char *hay, size_t n, const unsigned char *needle,
    size_t m)
{
    size_t  i;

    for (i = 0; i + m <= n; i++) {
        if (memcmp(&hay[i], needle, m) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
hex_is(const unsigned char *got, const char *want_hex, const char *name)
{
    long           n;
    unsigned char  want[256];

    n = unhex(want, sizeof(want), want_hex);

    if (!ok(n > 0 && memcmp(got, want, n) == 0, "%s", name)) {
        printf("#   got  ");
        print_hex(got, n > 0 ? (size_t) n : 0);
        diag("  want %s", want_hex);
    }
}


/* hkdf */

static void
test_hkdf_rfc5869(void)
{
    size_t         i;
    unsigned char  ikm[80], salt[80], info[80], okm[82];

    /* test case 1 */

    memset(ikm, 0x0b, 22);

    for (i = 0; i < 13; i++) {
        salt[i] = (unsigned char) i;
    }

    for (i = 0; i < 10; i++) {
        info[i] = (unsigned char) (0xf0 + i);
    }

    ok(totp_hkdf_sha256(okm, 42, salt, 13, ikm, 22, info, 10) == 0,
       "rfc5869 case 1 runs");
    hex_is(okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
                "2d56ecc4c5bf34007208d5b887185865", "rfc5869 case 1");

    /* test case 2: inputs longer than a block, output of three blocks */

    for (i = 0; i < 80; i++) {
        ikm[i] = (unsigned char) i;
        salt[i] = (unsigned char) (0x60 + i);
        info[i] = (unsigned char) (0xb0 + i);
    }

    ok(totp_hkdf_sha256(okm, 82, salt, 80, ikm, 80, info, 80) == 0,
       "rfc5869 case 2 runs");
    hex_is(okm, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050"
                "cc4c19afa97c59045a99cac7827271cb41c65e590e09da327560"
                "0c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3"
                "434f1d87", "rfc5869 case 2");

    /* test case 3: no salt, no info */

    memset(ikm, 0x0b, 22);

    ok(totp_hkdf_sha256(okm, 42, NULL, 0, ikm, 22, NULL, 0) == 0,
       "rfc5869 case 3 runs");
    hex_is(okm, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
                "4e5f3c738d2d9d201395faa4b61a96c8", "rfc5869 case 3");

    memset(okm, 0xaa, sizeof(okm));
    ok(totp_hkdf_sha256(okm, 0, NULL, 0, ikm, 22, NULL, 0) == -1,
       "hkdf output length 0");
    ok(totp_hkdf_sha256(okm, 42, NULL, 0, NULL, 22, NULL, 0) == -1
       && all_zero(okm, 42), "hkdf NULL ikm, output wiped");
    ok(totp_hkdf_sha256(okm, 42, NULL, 5, ikm, 22, NULL, 0) == -1,
       "hkdf NULL salt with length");
    ok(totp_hkdf_sha256(okm, 42, NULL, 0, ikm, 22, NULL, 5) == -1,
       "hkdf NULL info with length");
}


static void
test_hkdf_derive(void)
{
    int            distinct;
    size_t         i, j;
    totp_keys_t    k1, k2, k3;
    unsigned char  master[64], okm[32];

    memset(master, 0x42, sizeof(master));

    ok(totp_keys_derive(&k1, master, 32) == 0, "derive from 32 bytes");
    ok(totp_keys_derive(&k2, master, 32) == 0
       && memcmp(&k1, &k2, sizeof(k1)) == 0, "derive is deterministic");

    distinct = 1;

    for (i = 0; i < TOTP_KEY_COUNT; i++) {
        for (j = i + 1; j < TOTP_KEY_COUNT; j++) {
            if (memcmp(k1.key[i], k1.key[j], TOTP_KEY_LEN) == 0) {
                distinct = 0;
            }
        }
    }

    ok(distinct, "six different keys");

    ok(totp_hkdf_sha256(okm, 32, S("ngx_http_totp_module"), master, 32,
                        S("ngx_http_totp seal v1")) == 0
       && memcmp(okm, k1.key[TOTP_KEY_SEAL], 32) == 0,
       "seal key is hkdf with the documented salt and info");

    ok(totp_keys_derive(&k2, master, 33) == 0
       && memcmp(&k1, &k2, sizeof(k1)) != 0, "every master byte counts");

    master[0] ^= 1;
    ok(totp_keys_derive(&k3, master, 32) == 0
       && memcmp(&k1, &k3, sizeof(k1)) != 0
       && memcmp(&k2, &k3, sizeof(k1)) != 0, "one bit of master changes all");

    memset(&k1, 0xaa, sizeof(k1));
    ok(totp_keys_derive(&k1, master, 31) == -1
       && all_zero(&k1, sizeof(k1)), "31 bytes refused, keys wiped");

    memset(&k1, 0xaa, sizeof(k1));
    ok(totp_keys_derive(&k1, NULL, 32) == -1
       && all_zero(&k1, sizeof(k1)), "NULL master refused, keys wiped");

    ok(totp_keys_derive(&k1, master, sizeof(master)) == 0,
       "derive from 64 bytes");
}


/* hmac, memeq, random */

static void
test_hmac(void)
{
    size_t         i;
    unsigned char  key[131], mac[TOTP_MAC_LEN], a[32], b[32];

    /* RFC 4231 test cases 1, 2 and 6 */

    memset(key, 0x0b, 20);
    ok(totp_hmac_sha256(key, 20, "Hi There", 8, mac) == 0, "rfc4231 1 runs");
    hex_is(mac, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e93"
                "76c2e32cff7", "rfc4231 case 1");

    ok(totp_hmac_sha256(S("Jefe"), "what do ya want for nothing?", 28, mac)
       == 0, "rfc4231 2 runs");
    hex_is(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec5"
                "8b964ec3843", "rfc4231 case 2");

    memset(key, 0xaa, 131);
    ok(totp_hmac_sha256(key, 131,
                        "Test Using Larger Than Block-Size Key - Hash Key "
                        "First", 54, mac)
       == 0, "rfc4231 6 runs");
    hex_is(mac, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c51405460"
                "40f0ee37f54", "rfc4231 case 6");

    ok(totp_hmac_sha256(NULL, 0, NULL, 0, mac) == 0, "empty key and data");
    hex_is(mac, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c71"
                "2144292c5ad", "hmac of nothing under nothing");

    ok(totp_hmac_sha256(NULL, 5, "x", 1, mac) == -1, "NULL key with length");
    ok(totp_hmac_sha256(key, 5, NULL, 1, mac) == -1,
       "NULL data with length");

    for (i = 0; i < sizeof(a); i++) {
        a[i] = b[i] = (unsigned char) i;
    }

    ok(totp_memeq(a, b, sizeof(a)) == 1, "memeq equal");
    b[0] ^= 0x80;
    ok(totp_memeq(a, b, sizeof(a)) == 0, "memeq first byte differs");
    b[0] ^= 0x80;
    b[31] ^= 0x01;
    ok(totp_memeq(a, b, sizeof(a)) == 0, "memeq last byte differs");
    ok(totp_memeq(a, b, 31) == 1, "memeq honours n");
    ok(totp_memeq(NULL, NULL, 0) == 1, "memeq of nothing");

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ok(totp_random(a, sizeof(a)) == 0 && totp_random(b, sizeof(b)) == 0
       && !all_zero(a, sizeof(a)) && memcmp(a, b, sizeof(a)) != 0,
       "random bytes differ");
    ok(totp_random(NULL, 0) == 0, "random of nothing");
    ok(totp_random(NULL, 1) == -1, "random into NULL");
}


/* b64 */

static void
b64_decode_is(const unsigned char *in, size_t len, const char *want,
    size_t want_len, const char *name)
{
    int            rc;
    size_t         n;
    unsigned char  out[64];

    n = 999;
    memset(out, 0xaa, sizeof(out));

    rc = totp_b64url_decode(out, &n, in, len);

    if (want == NULL) {
        if (!ok(rc == -1 && n == 999, "decode rejects %s", name)) {
            diag("rc %d, %zu bytes", rc, n);
        }
        return;
    }

    if (!ok(rc == 0 && n == want_len && memcmp(out, want, n) == 0
            && n <= totp_b64url_decoded_max(len), "decode %s", name))
    {
        diag("rc %d, %zu bytes, want %zu", rc, n, want_len);
    }
}


static void
test_b64_vectors(void)
{
    size_t         i, n;
    unsigned char  out[64];

    static const struct {
        const char  *raw;
        size_t       len;
        const char  *enc;
    } v[] = {
        { "",       0, "" },
        { "f",      1, "Zg" },
        { "fo",     2, "Zm8" },
        { "foo",    3, "Zm9v" },
        { "foob",   4, "Zm9vYg" },
        { "fooba",  5, "Zm9vYmE" },
        { "foobar", 6, "Zm9vYmFy" },

        /* where the url alphabet differs from the standard one */
        { "\xfb\xff", 2, "-_8" },
        { "\xfb\xef\xbe", 3, "----" },
        { "\xff\xff\xff", 3, "____" },
        { "\0\0", 2, "AAA" }
    };

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(out, 0, sizeof(out));
        n = totp_b64url_encode(out, (const unsigned char *) v[i].raw,
                               v[i].len);

        if (!ok(n == strlen(v[i].enc)
                && n == totp_b64url_encoded_len(v[i].len)
                && memcmp(out, v[i].enc, n) == 0,
                "encode to \"%s\"", v[i].enc))
        {
            diag("got \"%.*s\"", (int) n, out);
        }

        b64_decode_is((const unsigned char *) v[i].enc, strlen(v[i].enc),
                      v[i].raw, v[i].len, v[i].enc[0] ? v[i].enc : "empty");
    }

    ok(totp_b64url_decoded_max(0) == 0 && totp_b64url_decoded_max(2) == 1
       && totp_b64url_decoded_max(3) == 2 && totp_b64url_decoded_max(4) == 3
       && totp_b64url_decoded_max(43) == 32
       && totp_b64url_decoded_max(SIZE_MAX) >= SIZE_MAX / 4 * 3,
       "decoded_max");

    ok(totp_b64url_encoded_len(0) == 0 && totp_b64url_encoded_len(1) == 2
       && totp_b64url_encoded_len(2) == 3 && totp_b64url_encoded_len(3) == 4
       && totp_b64url_encoded_len(32) == 43, "encoded_len");
}


static void
test_b64_strict(void)
{
    int            c, bad;
    size_t         n;
    unsigned char  in[4], out[8];

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    b64_decode_is(S("Zg=="), NULL, 0, "\"Zg==\"");
    b64_decode_is(S("Zm8="), NULL, 0, "\"Zm8=\"");
    b64_decode_is(S("Zg="), NULL, 0, "\"Zg=\"");
    b64_decode_is(S("Zm9v===="), NULL, 0, "\"Zm9v====\"");
    b64_decode_is(S("Zm9v+w"), NULL, 0, "'+'");
    b64_decode_is(S("Zm9v/w"), NULL, 0, "'/'");
    b64_decode_is(S("+_8"), NULL, 0, "'+' for '-'");
    b64_decode_is(S("-/8"), NULL, 0, "'/' for '_'");
    b64_decode_is(S("Zm9v Yg"), NULL, 0, "space");
    b64_decode_is(S("Zm9vYg\n"), NULL, 0, "newline");
    b64_decode_is(S("Zm9" "\0" "Yg"), NULL, 0, "NUL");
    b64_decode_is(S("Zm9\xc1"), NULL, 0, "0xc1");
    b64_decode_is(S("Z"), NULL, 0, "length 1");
    b64_decode_is(S("Zm9vY"), NULL, 0, "length 5");
    b64_decode_is(S("Zm9vYmFyZ"), NULL, 0, "length 9");

    /* 'A' adds six zero bits: refused for the length alone */

    b64_decode_is(S("A"), NULL, 0, "\"A\", length 1");
    b64_decode_is(S("Zm9vA"), NULL, 0, "\"Zm9vA\", length 5");
    b64_decode_is(S("Zm9vYmFyA"), NULL, 0, "\"Zm9vYmFyA\", length 9");

    /* "f" is Zg, "fo" is Zm8: the last character carries spare bits */

    b64_decode_is(S("Zh"), NULL, 0, "trailing bits after 2 (Zh)");
    b64_decode_is(S("Zv"), NULL, 0, "trailing bits after 2 (Zv)");
    b64_decode_is(S("Zm9"), NULL, 0, "trailing bits after 3 (Zm9)");
    b64_decode_is(S("Zm_"), NULL, 0, "trailing bits after 3 (Zm_)");
    b64_decode_is(S("Zm9vYh"), NULL, 0, "trailing bits after 6");

    /* every byte value as the third of "AA?": 64 of 256 are accepted */

    bad = 0;

    for (c = 0; c < 256; c++) {
        in[0] = 'A';
        in[1] = 'A';
        in[2] = 'A';
        in[3] = (unsigned char) c;

        /* a 4th character: all 6 bits are data, none are spare */

        if ((totp_b64url_decode(out, &n, in, 4) == 0)
            != (c != 0 && strchr(alphabet, c) != NULL))
        {
            diag("byte 0x%02x misjudged", c);
            bad++;

        } else if (c != 0 && strchr(alphabet, c) != NULL
                   && (n != 3 || out[2]
                                 != (unsigned char) (strchr(alphabet, c)
                                                     - alphabet)))
        {
            diag("byte 0x%02x decodes wrongly", c);
            bad++;
        }
    }

    ok(bad == 0, "exactly the 64 url-safe characters decode, to their values");

    n = 999;
    memset(out, 0xaa, sizeof(out));
    ok(totp_b64url_decode(out, &n, S("Zm9vYmFy!A")) == -1 && n == 999
       && all_zero(out, 6) && out[6] == 0xaa,
       "failed decode wipes what it wrote");
}


static void
test_b64_round_trip(void)
{
    size_t         len, n, m, i;
    unsigned       bad;
    unsigned char  raw[70], enc[96], dec[72];

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    bad = 0;

    for (len = 0; len <= 70; len++) {
        if (totp_random(raw, len) != 0) {
            diag("random failed");
            bad++;
            continue;
        }

        n = totp_b64url_encode(enc, raw, len);

        for (i = 0; i < n; i++) {
            if (enc[i] == 0 || strchr(alphabet, enc[i]) == NULL) {
                break;
            }
        }

        m = 999;

        if (n != totp_b64url_encoded_len(len) || i != n
            || totp_b64url_decode(dec, &m, enc, n) != 0
            || m != len || memcmp(dec, raw, len) != 0
            || m > totp_b64url_decoded_max(n))
        {
            diag("length %zu: \"%.*s\"", len, (int) n, enc);
            bad++;
        }
    }

    ok(bad == 0, "round trips of random bytes, lengths 0..70");
}


/* token */

static const unsigned char  *key_a, *key_b;
static unsigned char         keys_ab[2][TOTP_KEY_LEN];


static void
token_make(totp_token_t *t, unsigned char purpose, const char *user,
    size_t user_len, int64_t expires)
{
    size_t  i;

    memset(t, 0, sizeof(totp_token_t));

    t->purpose = purpose;
    t->flags = 0x5a;
    t->expires = expires;
    t->issued = expires - 43200;

    for (i = 0; i < TOTP_EPOCH_LEN; i++) {
        t->epoch[i] = (unsigned char) (0x10 + i);
        t->nonce[i] = (unsigned char) (0xe0 + i);
    }

    for (i = 0; i < TOTP_PROFILE_LEN; i++) {
        t->profile[i] = (unsigned char) (0xa0 + i);
    }

    t->user_len = user_len;
    memcpy(t->user, user, user_len);
}


static int
token_eq(const totp_token_t *a, const totp_token_t *b)
{
    return a->purpose == b->purpose && a->flags == b->flags
           && a->expires == b->expires && a->issued == b->issued
           && memcmp(a->epoch, b->epoch, TOTP_EPOCH_LEN) == 0
           && memcmp(a->nonce, b->nonce, TOTP_NONCE_LEN) == 0
           && memcmp(a->profile, b->profile, TOTP_PROFILE_LEN) == 0
           && a->user_len == b->user_len
           && memcmp(a->user, b->user, a->user_len) == 0;
}


static int
token_decode(totp_token_t *t, const unsigned char *src, size_t len,
    unsigned char purpose, const unsigned char *k1, const unsigned char *k2,
    int64_t now)
{
    size_t                nkeys;
    const unsigned char  *keys[2];

    nkeys = 0;

    if (k1) {
        keys[nkeys++] = k1;
    }

    if (k2) {
        keys[nkeys++] = k2;
    }

    memset(t, 0xaa, sizeof(totp_token_t));

    return totp_token_decode(t, src, len, purpose, keys, nkeys, now);
}


static void
test_token_round_trip(void)
{
    int            rc;
    size_t         n;
    char           user[TOTP_USER_MAX + 1];
    totp_token_t   t, d;
    unsigned char  enc[512];

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, 2000000000);
    n = totp_token_encode(enc, &t, key_a);

    ok(n == totp_token_encoded_len(5) && n > 0, "encode, length %zu", n);
    ok(memchr(enc, '.', n) == &enc[n - 44]
       && memchr(&enc[n - 43], '.', 43) == NULL, "one '.' before the MAC");

    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL,
                      1000000000);
    ok(rc == TOTP_TOKEN_OK && token_eq(&t, &d), "round trip");

    token_make(&t, TOTP_TOKEN_TRUST, "", 0, 2000000000);
    n = totp_token_encode(enc, &t, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_TRUST, key_a, NULL, 0);
    ok(n == totp_token_encoded_len(0) && rc == TOTP_TOKEN_OK
       && token_eq(&t, &d), "user_len 0");

    memset(user, 'u', sizeof(user));
    user[0] = '\0';
    user[255] = '\xff';

    token_make(&t, TOTP_TOKEN_PRE, user, TOTP_USER_MAX, 2000000000);
    n = totp_token_encode(enc, &t, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_PRE, key_a, NULL, 0);
    ok(n == totp_token_encoded_len(TOTP_USER_MAX) && rc == TOTP_TOKEN_OK
       && token_eq(&t, &d), "user_len 256, any bytes");

    t.user_len = TOTP_USER_MAX + 1;
    ok(totp_token_encode(enc, &t, key_a) == 0, "encode refuses user_len 257");

    token_make(&t, 'x', "alice", 5, 2000000000);
    ok(totp_token_encode(enc, &t, key_a) == 0,
       "encode refuses an unknown purpose");

    /* expiry */

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, 1500000000);
    n = totp_token_encode(enc, &t, key_a);

    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL,
                      1499999999);
    ok(rc == TOTP_TOKEN_OK, "valid a second before expiry");

    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL,
                      1500000000);
    ok(rc == TOTP_TOKEN_EXPIRED && token_eq(&t, &d),
       "expired at expiry, fields filled in");

    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL,
                      1600000000);
    ok(rc == TOTP_TOKEN_EXPIRED, "expired later");

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, INT64_MIN);
    n = totp_token_encode(enc, &t, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL, 0);
    ok(rc == TOTP_TOKEN_EXPIRED && d.expires == INT64_MIN,
       "expires INT64_MIN survives");

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, -1);
    n = totp_token_encode(enc, &t, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL, -2);
    ok(rc == TOTP_TOKEN_OK && d.expires == -1, "expires -1 survives");

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, INT64_MAX);
    n = totp_token_encode(enc, &t, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL,
                      INT64_MAX - 1);
    ok(rc == TOTP_TOKEN_OK && d.expires == INT64_MAX,
       "expires INT64_MAX survives");

    /* purpose */

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, 2000000000);
    n = totp_token_encode(enc, &t, key_a);

    rc = token_decode(&d, enc, n, TOTP_TOKEN_TRUST, key_a, NULL, 0);
    ok(rc == TOTP_TOKEN_BAD && all_zero(&d, sizeof(d)),
       "wrong purpose refused, t wiped");
    rc = token_decode(&d, enc, n, TOTP_TOKEN_PRE, key_a, NULL, 0);
    ok(rc == TOTP_TOKEN_BAD, "wrong purpose refused (pre)");
    rc = token_decode(&d, enc, n, 'x', key_a, NULL, 0);
    ok(rc == TOTP_TOKEN_BAD, "unknown purpose refused");

    ok(totp_token_decode(&d, NULL, 0, TOTP_TOKEN_SESSION,
                         (const unsigned char *const *) &key_a, 1, 0)
       == TOTP_TOKEN_BAD, "NULL source refused");
    ok(totp_token_decode(&d, enc, n, TOTP_TOKEN_SESSION, NULL, 0, 0)
       == TOTP_TOKEN_BAD, "no keys refused");
}


static void
test_token_rotation(void)
{
    size_t         na, nb;
    totp_token_t   t, d;
    unsigned char  ea[256], eb[256];

    token_make(&t, TOTP_TOKEN_SESSION, "alice", 5, 2000000000);
    na = totp_token_encode(ea, &t, key_a);
    nb = totp_token_encode(eb, &t, key_b);

    ok(na == nb && memcmp(ea, eb, na) != 0, "the MAC depends on the key");

    ok(token_decode(&d, ea, na, TOTP_TOKEN_SESSION, key_a, key_b, 0)
       == TOTP_TOKEN_OK, "[A,B] accepts A's");
    ok(token_decode(&d, eb, nb, TOTP_TOKEN_SESSION, key_a, key_b, 0)
       == TOTP_TOKEN_OK && token_eq(&t, &d), "[A,B] accepts B's");
    ok(token_decode(&d, eb, nb, TOTP_TOKEN_SESSION, key_b, NULL, 0)
       == TOTP_TOKEN_OK, "[B] accepts B's");
    ok(token_decode(&d, eb, nb, TOTP_TOKEN_SESSION, key_a, NULL, 0)
       == TOTP_TOKEN_BAD && all_zero(&d, sizeof(d)), "[A] refuses B's");
    ok(token_decode(&d, ea, na, TOTP_TOKEN_SESSION, key_b, NULL, 0)
       == TOTP_TOKEN_BAD, "[B] refuses A's");
    ok(token_decode(&d, ea, na, TOTP_TOKEN_SESSION, NULL, NULL, 0)
       == TOTP_TOKEN_BAD, "[] refuses");
}


static void
token_bit_flips(const char *user, size_t user_len, const char *name)
{
    size_t         n, i, bit, bad;
    totp_token_t   t, d;
    unsigned char  enc[512], mod[512];

    token_make(&t, TOTP_TOKEN_SESSION, user, user_len, 2000000000);
    n = totp_token_encode(enc, &t, key_a);

    bad = 0;

    for (i = 0; i < n; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(mod, enc, n);
            mod[i] ^= (unsigned char) (1u << bit);

            if (token_decode(&d, mod, n, TOTP_TOKEN_SESSION, key_a, key_b,
                             0)
                != TOTP_TOKEN_BAD
                || !all_zero(&d, sizeof(d)))
            {
                if (bad++ < 5) {
                    diag("flip of bit %zu of byte %zu accepted", bit, i);
                }
            }
        }
    }

    ok(n > 0 && bad == 0, "all %zu bit flips refused, %s", n * 8, name);

    bad = 0;

    for (i = 0; i < n; i++) {
        if (token_decode(&d, enc, i, TOTP_TOKEN_SESSION, key_a, NULL, 0)
            != TOTP_TOKEN_BAD)
        {
            diag("prefix of %zu bytes accepted", i);
            bad++;
        }

        /* the same with the MAC kept whole */

        if (i < n - 44) {
            memcpy(mod, enc, i);
            memcpy(&mod[i], &enc[n - 44], 44);

            if (token_decode(&d, mod, i + 44, TOTP_TOKEN_SESSION, key_a,
                             NULL, 0)
                != TOTP_TOKEN_BAD)
            {
                diag("payload cut to %zu characters accepted", i);
                bad++;
            }
        }
    }

    ok(bad == 0, "truncations refused, %s", name);

    memcpy(mod, enc, n);
    mod[n] = 'A';
    ok(token_decode(&d, mod, n + 1, TOTP_TOKEN_SESSION, key_a, NULL, 0)
       == TOTP_TOKEN_BAD, "a character appended refused, %s", name);

    mod[0] = 'A';
    memcpy(&mod[1], enc, n);
    ok(token_decode(&d, mod, n + 1, TOTP_TOKEN_SESSION, key_a, NULL, 0)
       == TOTP_TOKEN_BAD, "a character prepended refused, %s", name);
}


static void
test_token_tamper(void)
{
    token_bit_flips("alice", 5, "user \"alice\"");
    token_bit_flips("", 0, "empty user");
    token_bit_flips("bobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbobbob",
                    54, "user of 54 bytes");
}


/* encodes any payload with a correct MAC, as only the key holder could */

static size_t
token_craft(unsigned char *dst, const unsigned char *payload, size_t plen,
    const unsigned char *key)
{
    size_t         n;
    unsigned char  mac[TOTP_MAC_LEN];

    if (totp_hmac_sha256(key, TOTP_KEY_LEN, payload, plen, mac) != 0) {
        return 0;
    }

    n = totp_b64url_encode(dst, payload, plen);
    dst[n++] = '.';
    n += totp_b64url_encode(&dst[n], mac, TOTP_MAC_LEN);

    return n;
}


static void
payload_make(unsigned char *p, unsigned char version, unsigned char purpose,
    size_t user_len_field, size_t user_len)
{
    size_t  i;

    p[0] = version;
    p[1] = purpose;
    p[2] = 0xff;

    /* expires 2000000000, issued -2 */
    memcpy(&p[3], "\0\0\0\0\x77\x35\x94\x00", 8);
    memcpy(&p[11], "\xff\xff\xff\xff\xff\xff\xff\xfe", 8);

    /* epoch, nonce, profile: 0, 1, 2, ... */

    for (i = 0; i < 40; i++) {
        p[19 + i] = (unsigned char) i;
    }

    p[59] = (unsigned char) (user_len_field >> 8);
    p[60] = (unsigned char) user_len_field;

    memset(&p[61], 'u', user_len);
}


static void
crafted_is(unsigned char version, unsigned char purpose,
    size_t user_len_field, size_t user_len, unsigned char expect_purpose,
    int want, const char *name)
{
    int            rc;
    size_t         n;
    totp_token_t   d;
    unsigned char  payload[400], enc[600];

    payload_make(payload, version, purpose, user_len_field, user_len);
    n = token_craft(enc, payload, 61 + user_len, key_a);

    rc = token_decode(&d, enc, n, expect_purpose, key_a, NULL, 0);

    if (!ok(n > 0 && rc == want
            && (rc == TOTP_TOKEN_OK || all_zero(&d, sizeof(d))), "%s", name))
    {
        diag("rc %d, want %d", rc, want);
    }
}


static void
test_token_crafted(void)
{
    int            rc;
    size_t         n;
    totp_token_t   d;
    unsigned char  payload[400], enc[600];

    /* the crafting itself is right: a well-formed payload passes */

    payload_make(payload, 2, 's', 5, 5);
    n = token_craft(enc, payload, 66, key_a);
    rc = token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL, 0);

    ok(rc == TOTP_TOKEN_OK && d.flags == 0xff && d.expires == 2000000000
       && d.issued == -2
       && d.epoch[0] == 0 && d.epoch[15] == 15 && d.nonce[0] == 16
       && d.nonce[15] == 31 && d.profile[0] == 32 && d.profile[7] == 39
       && d.user_len == 5
       && memcmp(d.user, "uuuuu", 5) == 0,
       "crafted well-formed payload accepted, layout as documented");

    crafted_is(2, 's', 256, 256, 's', TOTP_TOKEN_OK,
               "crafted user_len 256 accepted");

    crafted_is(2, 's', 6, 5, 's', TOTP_TOKEN_BAD,
               "user_len says one more than there is");
    crafted_is(2, 's', 4, 5, 's', TOTP_TOKEN_BAD,
               "user_len says one less than there is");
    crafted_is(2, 's', 0, 5, 's', TOTP_TOKEN_BAD,
               "user_len says 0, 5 bytes follow");
    crafted_is(2, 's', 0x105, 5, 's', TOTP_TOKEN_BAD,
               "user_len with a stray high byte");
    crafted_is(2, 's', 0xffff, 5, 's', TOTP_TOKEN_BAD, "user_len 65535");
    crafted_is(2, 's', 257, 257, 's', TOTP_TOKEN_BAD,
               "user_len 257, 257 bytes");
    crafted_is(2, 's', 300, 256, 's', TOTP_TOKEN_BAD,
               "user_len 300, 256 bytes");
    crafted_is(1, 's', 5, 5, 's', TOTP_TOKEN_BAD, "version 1");
    crafted_is(3, 's', 5, 5, 's', TOTP_TOKEN_BAD, "version 3");
    crafted_is(0, 's', 5, 5, 's', TOTP_TOKEN_BAD, "version 0");
    crafted_is(2, 'x', 5, 5, 'x', TOTP_TOKEN_BAD, "purpose 'x' as 'x'");
    crafted_is(2, 't', 5, 5, 's', TOTP_TOKEN_BAD, "purpose 't' as 's'");

    /* a payload shorter than the fixed head */

    payload_make(payload, 2, 's', 0, 0);
    n = token_craft(enc, payload, 60, key_a);
    ok(token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL, 0)
       == TOTP_TOKEN_BAD, "payload of 60 bytes");

    n = token_craft(enc, payload, 0, key_a);
    ok(token_decode(&d, enc, n, TOTP_TOKEN_SESSION, key_a, NULL, 0)
       == TOTP_TOKEN_BAD, "empty payload");
}


/* seal */

static int
seal_open(unsigned char *dst, size_t *n, const unsigned char *k1,
    const unsigned char *k2, const unsigned char *sealed, size_t len,
    const char *aad)
{
    size_t                nkeys;
    const unsigned char  *keys[2];

    nkeys = 0;

    if (k1) {
        keys[nkeys++] = k1;
    }

    if (k2) {
        keys[nkeys++] = k2;
    }

    return totp_unseal(dst, n, keys, nkeys, sealed, len,
                       (const unsigned char *) aad, aad ? strlen(aad) : 0);
}


/* the documented layout, opened with EVP directly */

static int
evp_open(unsigned char *out, const unsigned char *key,
    const unsigned char *sealed, size_t len, const char *aad)
{
    int              good, outl;
    size_t           n;
    unsigned char    tag[16], fin[16];
    EVP_CIPHER_CTX  *ctx;

    n = len - 29;
    memcpy(tag, &sealed[len - 16], 16);

    ctx = EVP_CIPHER_CTX_new();

    good = ctx != NULL
         && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, &sealed[1])
            == 1
         && EVP_DecryptUpdate(ctx, NULL, &outl, sealed, 1) == 1
         && EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *) aad,
                              (int) strlen(aad)) == 1
         && EVP_DecryptUpdate(ctx, out, &outl, &sealed[13], (int) n) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1
         && EVP_DecryptFinal_ex(ctx, fin, &outl) == 1;

    EVP_CIPHER_CTX_free(ctx);

    return good;
}


static void
test_seal_round_trip(void)
{
    size_t         i, n, bad;
    unsigned char  plain[1000], s1[1100], s2[1100], out[1000];

    static const size_t  lens[] = { 0, 1, 16, 20, 32, 64, 1000 };

    bad = 0;

    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        if (totp_random(plain, lens[i]) != 0
            || totp_seal(s1, key_a, plain, lens[i], S("alice")) != 0)
        {
            diag("seal of %zu bytes failed", lens[i]);
            bad++;
            continue;
        }

        n = 999999;
        memset(out, 0xaa, sizeof(out));

        if (s1[0] != 1
            || seal_open(out, &n, key_a, NULL, s1,
                         lens[i] + TOTP_SEAL_OVERHEAD, "alice")
               != 0
            || n != lens[i] || memcmp(out, plain, n) != 0)
        {
            diag("round trip of %zu bytes failed", lens[i]);
            bad++;
        }
    }

    ok(bad == 0, "round trips of 0..1000 bytes");

    totp_random(plain, 20);
    ok(totp_seal(s1, key_a, plain, 20, S("alice")) == 0
       && evp_open(out, key_a, s1, 49, "alice")
       && memcmp(out, plain, 20) == 0,
       "layout as documented: version, IV, ciphertext, tag; aad 1|aad");

    ok(totp_seal(s2, key_a, plain, 20, S("alice")) == 0
       && memcmp(s1, s2, 49) != 0 && memcmp(&s1[1], &s2[1], 12) != 0,
       "two seals of one plaintext differ, IVs too");

    ok(!contains(s1, 49, plain, 20)
       && !contains(s1, 49, (const unsigned char *) "alice", 5),
       "neither plaintext nor aad stored in the clear");

    /* no aad, NULL or empty */

    ok(totp_seal(s1, key_a, plain, 20, NULL, 0) == 0
       && seal_open(out, &n, key_a, NULL, s1, 49, "") == 0
       && n == 20 && memcmp(out, plain, 20) == 0, "no aad");

    ok(seal_open(out, &n, key_a, NULL, s1, 49, "alice") == -1,
       "sealed without aad, opened with one");

    memset(s1, 0xaa, sizeof(s1));
    ok(totp_seal(s1, NULL, plain, 20, NULL, 0) == -1
       && all_zero(s1, 49), "NULL key refused, dst wiped");
    ok(totp_seal(s1, key_a, NULL, 20, NULL, 0) == -1,
       "NULL plaintext refused");
}


static void
test_seal_tamper(void)
{
    size_t         i, bit, n, bad, len;
    unsigned char  plain[20], s[49], mod[64], out[64];

    totp_random(plain, sizeof(plain));

    if (!ok(totp_seal(s, key_a, plain, 20, S("alice")) == 0, "seal")) {
        return;
    }

    bad = 0;

    for (i = 0; i < sizeof(s); i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(mod, s, sizeof(s));
            mod[i] ^= (unsigned char) (1u << bit);

            n = 999;
            memset(out, 0xaa, sizeof(out));

            if (seal_open(out, &n, key_a, key_b, mod, sizeof(s), "alice")
                != -1
                || n != 999 || !all_zero(out, 20) || out[20] != 0xaa)
            {
                if (bad++ < 5) {
                    diag("flip of bit %zu of byte %zu accepted", bit, i);
                }
            }
        }
    }

    ok(bad == 0, "all %zu bit flips refused, output wiped", sizeof(s) * 8);

    bad = 0;

    for (len = 0; len < sizeof(s); len++) {
        if (seal_open(out, &n, key_a, NULL, s, len, "alice") != -1) {
            diag("sealed value cut to %zu bytes accepted", len);
            bad++;
        }
    }

    ok(bad == 0, "truncations refused");

    memcpy(mod, s, sizeof(s));
    mod[sizeof(s)] = 0;
    ok(seal_open(out, &n, key_a, NULL, mod, sizeof(s) + 1, "alice") == -1,
       "a byte appended refused");

    memset(out, 0xaa, sizeof(out));
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "alicf") == -1
       && all_zero(out, 20), "other aad refused, output wiped");
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "alice ") == -1,
       "longer aad refused");
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "alic") == -1,
       "shorter aad refused");
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "") == -1,
       "empty aad refused");
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "alice") == 0,
       "right aad still accepted");

    memcpy(mod, s, sizeof(s));
    mod[0] = 2;
    ok(seal_open(out, &n, key_a, NULL, mod, sizeof(s), "alice") == -1,
       "version 2 refused");

    ok(seal_open(out, &n, NULL, NULL, s, sizeof(s), "alice") == -1,
       "no keys refused");
}


static void
test_seal_rotation(void)
{
    size_t         n;
    unsigned char  plain[20], s[49], out[20];

    totp_random(plain, sizeof(plain));

    ok(totp_seal(s, key_b, plain, 20, S("alice")) == 0, "seal under B");

    n = 0;
    ok(seal_open(out, &n, key_a, key_b, s, sizeof(s), "alice") == 0
       && n == 20 && memcmp(out, plain, 20) == 0, "[A,B] opens B's");
    ok(seal_open(out, &n, key_b, key_a, s, sizeof(s), "alice") == 0,
       "[B,A] opens B's");

    memset(out, 0xaa, sizeof(out));
    ok(seal_open(out, &n, key_a, NULL, s, sizeof(s), "alice") == -1
       && all_zero(out, 20), "[A] refuses B's, output wiped");
}


/* helper modes for the Perl tests */

static int
mode_derive(int argc, char **argv)
{
    long           n;
    size_t         i;
    totp_keys_t    keys;
    unsigned char  master[1024];

    if (argc != 3 || (n = unhex(master, sizeof(master), argv[2])) < 0) {
        fprintf(stderr, "usage: crypto_test derive HEXMASTER\n");
        return 2;
    }

    if (totp_keys_derive(&keys, master, (size_t) n) != 0) {
        fprintf(stderr, "totp_keys_derive() failed\n");
        return 1;
    }

    for (i = 0; i < TOTP_KEY_COUNT; i++) {
        print_hex(keys.key[i], TOTP_KEY_LEN);
    }

    return 0;
}


static int
mode_b64(int argc, char **argv)
{
    int            i;
    long           n;
    size_t         m;
    unsigned char  raw[1024], enc[1400];

    for (i = 2; i < argc; i++) {

        if (strcmp(argv[1], "b64enc") == 0) {
            n = unhex(raw, sizeof(raw), argv[i]);
            if (n < 0) {
                fprintf(stderr, "bad hex \"%s\"\n", argv[i]);
                return 2;
            }

            m = totp_b64url_encode(enc, raw, (size_t) n);
            printf("%.*s\n", (int) m, enc);

            continue;
        }

        if (totp_b64url_decoded_max(strlen(argv[i])) > sizeof(raw)) {
            fprintf(stderr, "\"%s\" too long\n", argv[i]);
            return 2;
        }

        if (totp_b64url_decode(raw, &m, (const unsigned char *) argv[i],
                               strlen(argv[i]))
            == 0)
        {
            print_hex(raw, m);

        } else {
            printf("-\n");
        }
    }

    return 0;
}


static void
test_init(void)
{
    if (totp_random(keys_ab[0], TOTP_KEY_LEN) != 0
        || totp_random(keys_ab[1], TOTP_KEY_LEN) != 0)
    {
        printf("Bail out! RAND_bytes failed\n");
        exit(255);
    }

    key_a = keys_ab[0];
    key_b = keys_ab[1];
}


static const struct {
    const char  *group;
    void       (*run)(void);
} groups[] = {
    { "hkdf", test_hkdf_rfc5869 },
    { "hkdf", test_hkdf_derive },
    { "hmac", test_hmac },
    { "b64", test_b64_vectors },
    { "b64", test_b64_strict },
    { "b64", test_b64_round_trip },
    { "token", test_token_round_trip },
    { "token", test_token_rotation },
    { "token", test_token_tamper },
    { "token", test_token_crafted },
    { "seal", test_seal_round_trip },
    { "seal", test_seal_tamper },
    { "seal", test_seal_rotation }
};


int
main(int argc, char **argv)
{
    size_t  i;

    if (argc >= 2 && strcmp(argv[1], "derive") == 0) {
        return mode_derive(argc, argv);
    }

    if (argc >= 2
        && (strcmp(argv[1], "b64enc") == 0 || strcmp(argv[1], "b64dec") == 0))
    {
        return mode_b64(argc, argv);
    }

    test_init();

    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (argc < 2 || strcmp(argv[1], groups[i].group) == 0) {
            groups[i].run();
        }
    }

    printf("1..%u\n", tests);

    if (tests == 0) {
        diag("no tests in group \"%s\"", argv[1]);
        return 1;
    }

    if (failures) {
        diag("%u of %u tests failed", failures, tests);
        return 1;
    }

    return 0;
}
