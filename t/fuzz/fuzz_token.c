
/*
 * Cookie tokens, base64url and sealing (src/ngx_http_totp_crypto.c).
 *
 * Every input goes through four checks:
 *
 *  1. the whole input as a cookie value, verified for every purpose
 *     against the test keys (current, then previous): whatever verifies
 *     re-encodes byte for byte to the input under one of the keys, says
 *     EXPIRED exactly when expires <= now, and BAD leaves the token
 *     wiped;
 *  2. base64url: whatever decodes re-encodes to the input (one encoding
 *     per byte string) and agrees with a bit-by-bit decoder written here;
 *     the input's bytes encode and decode back;
 *  3. a token built from fuzz-chosen fields: it verifies with its purpose
 *     and its key (also as the previous key), fields intact, and not with
 *     another purpose or key; then one fuzz-chosen edit (bit flip,
 *     insertion, deletion, replacement, truncation) at a fuzz-chosen
 *     place, after which it never verifies for any purpose or key;
 *  4. a secret sealed from fuzz-chosen bytes and user: it unseals with
 *     the right key and user only, and never after one edit; a failed
 *     unseal leaves dst wiped.  The whole input is also unsealed as it is.
 *
 * RAND_bytes() is replaced by a counter reset for every input, so that a
 * run is reproducible.
 *
 * With TOTP_FUZZ_WRITE_SEEDS=dir, writes seed cookies made with the test
 * keys into dir and exits.
 */


#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_crypto.h"
#include "fuzz_common.h"


#define NOW  1700000000


static totp_keys_t    cur, prev, other;
static uint64_t       rand_counter;


/* deterministic "randomness": the IV of a seal */

int
RAND_bytes(unsigned char *buf, int num)
{
    int  i;

    for (i = 0; i < num; i++) {
        buf[i] = (unsigned char) (rand_counter++ * 0x9e3779b1u >> 24);
    }

    return 1;
}


static int
key_index(unsigned char purpose)
{
    switch (purpose) {
    case TOTP_TOKEN_SESSION:
        return TOTP_KEY_SESSION;
    case TOTP_TOKEN_TRUST:
        return TOTP_KEY_TRUST;
    default:
        return TOTP_KEY_PRE;
    }
}


static const unsigned char  purposes[] = {
    TOTP_TOKEN_SESSION, TOTP_TOKEN_TRUST, TOTP_TOKEN_PRE
};


/* a reader over the input: bytes past the end read as 0 */

typedef struct {
    const uint8_t  *p;
    size_t          left;
} reader_t;


static uint8_t
get8(reader_t *r)
{
    if (r->left == 0) {
        return 0;
    }

    r->left--;
    return *r->p++;
}


static void
get_bytes(reader_t *r, unsigned char *dst, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        dst[i] = get8(r);
    }
}


static int
all_zero(const void *p, size_t n)
{
    const unsigned char  *c = p;

    while (n--) {
        if (*c++) {
            return 0;
        }
    }

    return 1;
}


/* 1. the input as a cookie */

static void
check_cookie(const uint8_t *data, size_t size)
{
    int             rc;
    size_t          i, j, n, enc_len;
    totp_token_t    t;
    unsigned char  *enc;
    const unsigned char  *keys[2];

    for (i = 0; i < sizeof(purposes) + 1; i++) {
        unsigned char  purpose = (i < sizeof(purposes)) ? purposes[i] : 'x';
        int            k = key_index(purpose);

        keys[0] = cur.key[k];
        keys[1] = prev.key[k];

        memset(&t, 0xa5, sizeof(t));
        rc = totp_token_decode(&t, data, size, purpose, keys, 2, NOW);

        CHECK(rc == TOTP_TOKEN_OK || rc == TOTP_TOKEN_EXPIRED
              || rc == TOTP_TOKEN_BAD);

        if (rc == TOTP_TOKEN_BAD) {
            CHECK(all_zero(&t, sizeof(t)));
            continue;
        }

        CHECK(i < sizeof(purposes));
        CHECK(t.purpose == purpose);
        CHECK(t.user_len <= TOTP_USER_MAX);
        CHECK((rc == TOTP_TOKEN_EXPIRED) == (t.expires <= NOW));

        enc_len = totp_token_encoded_len(t.user_len);
        CHECK(enc_len == size);

        enc = malloc(enc_len);

        for (j = 0; j < 2; j++) {
            n = totp_token_encode(enc, &t, keys[j]);
            CHECK(n == enc_len);

            if (memcmp(enc, data, size) == 0) {
                break;
            }
        }

        /* verified, so made by one of the keys, byte for byte */
        CHECK(j < 2);

        free(enc);
    }
}


/* 2. base64url */

static int
ref_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}


static int
ref_b64_decode(unsigned char *dst, size_t *dst_len, const unsigned char *src,
    size_t len)
{
    int     v, b;
    size_t  i, n, bitpos;

    for (i = 0; i < len; i++) {
        if (ref_b64_value(src[i]) < 0) {
            return -1;
        }
    }

    n = len * 6 / 8;

    /* the lengths no byte string encodes to */
    if (len % 4 == 1) {
        return -1;
    }

    memset(dst, 0, n);
    bitpos = 0;

    for (i = 0; i < len; i++) {
        v = ref_b64_value(src[i]);

        for (b = 5; b >= 0; b--, bitpos++) {
            if (!((v >> b) & 1)) {
                continue;
            }

            if (bitpos / 8 >= n) {
                return -1;
            }

            dst[bitpos / 8] |= (unsigned char) (0x80 >> (bitpos % 8));
        }
    }

    *dst_len = n;

    return 0;
}


static void
check_b64(const uint8_t *data, size_t size)
{
    int             rc, ref_rc;
    size_t          n, ref_n, enc_len;
    unsigned char  *out, *ref, *enc;

    out = malloc(totp_b64url_decoded_max(size) + 1);
    ref = malloc(size + 1);

    n = (size_t) -1;
    rc = totp_b64url_decode(out, &n, data, size);
    ref_rc = ref_b64_decode(ref, &ref_n, data, size);

    CHECK(rc == ref_rc);

    if (rc == 0) {
        CHECK(n <= totp_b64url_decoded_max(size));
        CHECK(n == ref_n && memcmp(out, ref, n) == 0);

        enc_len = totp_b64url_encoded_len(n);
        CHECK(enc_len == size);

        enc = malloc(enc_len + 1);
        CHECK(totp_b64url_encode(enc, out, n) == size);
        CHECK(memcmp(enc, data, size) == 0);
        free(enc);
    }

    free(ref);
    free(out);

    /* the input as bytes */

    enc_len = totp_b64url_encoded_len(size);
    enc = malloc(enc_len + 1);
    CHECK(totp_b64url_encode(enc, data, size) == enc_len);

    out = malloc(totp_b64url_decoded_max(enc_len) + 1);
    n = (size_t) -1;
    CHECK(totp_b64url_decode(out, &n, enc, enc_len) == 0);
    CHECK(n == size && memcmp(out, data, size) == 0);

    free(out);
    free(enc);
}


/*
 * One edit of buf (len bytes, room for len + 1) chosen by r; returns the
 * new length.  The result always differs from the original.
 */

static size_t
mutate(reader_t *r, unsigned char *buf, size_t len)
{
    uint8_t  op, b;
    size_t   pos;

    op = get8(r) % 5;
    pos = (size_t) get8(r) << 8 | get8(r);
    b = get8(r);

    switch (op) {

    case 0:     /* flip one bit */
        pos %= len;
        buf[pos] ^= (unsigned char) (1u << (b % 8));
        return len;

    case 1:     /* insert a byte */
        pos %= len + 1;
        memmove(buf + pos + 1, buf + pos, len - pos);
        buf[pos] = b;
        return len + 1;

    case 2:     /* delete a byte */
        pos %= len;
        memmove(buf + pos, buf + pos + 1, len - pos - 1);
        return len - 1;

    case 3:     /* replace a byte by another */
        pos %= len;
        buf[pos] = (b == buf[pos]) ? (unsigned char) (b ^ 0x01) : b;
        return len;

    default:    /* truncate */
        return pos % len;
    }
}


/* the edited token verifies nowhere */

static void
check_rejected(const unsigned char *buf, size_t len)
{
    int                   rc;
    size_t                i, j;
    totp_token_t          t;
    const unsigned char  *keys[3];

    for (i = 0; i < sizeof(purposes); i++) {
        for (j = 0; j < TOTP_KEY_COUNT; j++) {
            keys[0] = cur.key[j];
            keys[1] = prev.key[j];
            keys[2] = other.key[j];

            rc = totp_token_decode(&t, buf, len, purposes[i], keys, 3, NOW);
            CHECK(rc == TOTP_TOKEN_BAD);
            CHECK(all_zero(&t, sizeof(t)));
        }
    }
}


/* 3. a token from fuzz-chosen fields, then one edit */

static void
check_token(const uint8_t *data, size_t size)
{
    int                   rc, want;
    size_t                i, n, len, mlen;
    totp_token_t          t, d;
    reader_t              r;
    unsigned char        *buf, *key;
    const unsigned char  *keys[2];

    r.p = data;
    r.left = size;

    memset(&t, 0, sizeof(t));

    t.purpose = purposes[get8(&r) % 3];
    t.flags = get8(&r);

    t.expires = 0;
    for (i = 0; i < 8; i++) {
        t.expires = (int64_t) ((uint64_t) t.expires << 8 | get8(&r));
    }

    t.issued = 0;
    for (i = 0; i < 8; i++) {
        t.issued = (int64_t) ((uint64_t) t.issued << 8 | get8(&r));
    }

    get_bytes(&r, t.epoch, TOTP_EPOCH_LEN);
    get_bytes(&r, t.nonce, TOTP_NONCE_LEN);
    get_bytes(&r, t.profile, TOTP_PROFILE_LEN);

    t.user_len = ((size_t) get8(&r) << 8 | get8(&r)) % (TOTP_USER_MAX + 1);
    get_bytes(&r, t.user, t.user_len);

    key = cur.key[key_index(t.purpose)];

    len = totp_token_encoded_len(t.user_len);
    buf = malloc(len + 1);

    n = totp_token_encode(buf, &t, key);
    CHECK(n == len);

    for (i = 0; i < n; i++) {
        CHECK(ref_b64_value(buf[i]) >= 0 || buf[i] == '.');
    }

    want = (t.expires <= NOW) ? TOTP_TOKEN_EXPIRED : TOTP_TOKEN_OK;

    /* verifies with its key, current or previous, fields intact */

    keys[0] = key;
    keys[1] = prev.key[key_index(t.purpose)];
    rc = totp_token_decode(&d, buf, len, t.purpose, keys, 2, NOW);
    CHECK(rc == want);
    CHECK(memcmp(&d, &t, sizeof(t)) == 0);

    keys[0] = other.key[key_index(t.purpose)];
    keys[1] = key;
    rc = totp_token_decode(&d, buf, len, t.purpose, keys, 2, NOW);
    CHECK(rc == want);

    keys[0] = NULL;
    keys[1] = key;
    rc = totp_token_decode(&d, buf, len, t.purpose, keys, 2, NOW);
    CHECK(rc == want);

    /* not with another key, nor for another purpose */

    keys[0] = prev.key[key_index(t.purpose)];
    keys[1] = other.key[key_index(t.purpose)];
    CHECK(totp_token_decode(&d, buf, len, t.purpose, keys, 2, NOW)
          == TOTP_TOKEN_BAD);

    keys[0] = key;
    for (i = 0; i < sizeof(purposes); i++) {
        if (purposes[i] != t.purpose) {
            CHECK(totp_token_decode(&d, buf, len, purposes[i], keys, 1, NOW)
                  == TOTP_TOKEN_BAD);
        }
    }

    /* one edit: never verifies, whatever the purpose or key */

    mlen = mutate(&r, buf, len);
    check_rejected(buf, mlen);

    free(buf);
}


/* 4. sealing */

static void
check_seal(const uint8_t *data, size_t size)
{
    size_t                plen, alen, slen, mlen, n, i;
    reader_t              r;
    unsigned char        *plain, *aad, *sealed, *out;
    const unsigned char  *keys[3];

    keys[0] = other.key[TOTP_KEY_SEAL];
    keys[1] = prev.key[TOTP_KEY_SEAL];
    keys[2] = cur.key[TOTP_KEY_SEAL];

    /* the whole input as a sealed value: a failure leaves dst wiped */

    out = malloc(size >= TOTP_SEAL_OVERHEAD ? size - TOTP_SEAL_OVERHEAD : 1);
    n = (size_t) -1;

    if (totp_unseal(out, &n, keys, 3, data, size, (const unsigned char *) "u",
                    1)
        != 0)
    {
        CHECK(size < TOTP_SEAL_OVERHEAD
              || all_zero(out, size - TOTP_SEAL_OVERHEAD));

    } else {
        CHECK(n == size - TOTP_SEAL_OVERHEAD);
    }

    free(out);

    /* a seal of fuzz-chosen bytes, for a fuzz-chosen user */

    r.p = data;
    r.left = size;

    alen = get8(&r) % 64;
    plen = get8(&r);

    aad = malloc(alen + 1);
    plain = malloc(plen + 1);
    get_bytes(&r, aad, alen);
    get_bytes(&r, plain, plen);

    slen = plen + TOTP_SEAL_OVERHEAD;
    sealed = malloc(slen + 1);
    out = malloc(plen + 2);

    CHECK(totp_seal(sealed, cur.key[TOTP_KEY_SEAL], plain, plen, aad, alen)
          == 0);

    n = (size_t) -1;
    CHECK(totp_unseal(out, &n, keys, 3, sealed, slen, aad, alen) == 0);
    CHECK(n == plen && memcmp(out, plain, plen) == 0);

    /* not with the wrong keys, nor for another user */

    CHECK(totp_unseal(out, &n, keys, 2, sealed, slen, aad, alen) == -1);
    CHECK(all_zero(out, plen));

    if (alen > 0) {
        CHECK(totp_unseal(out, &n, keys, 3, sealed, slen, aad, alen - 1)
              == -1);
        CHECK(all_zero(out, plen));

        aad[get8(&r) % alen] ^= (unsigned char) (1u << (get8(&r) % 8));
        CHECK(totp_unseal(out, &n, keys, 3, sealed, slen, aad, alen) == -1);
        CHECK(all_zero(out, plen));

    } else {
        CHECK(totp_unseal(out, &n, keys, 3, sealed, slen,
                          (const unsigned char *) "x", 1)
              == -1);
    }

    /* not after one edit (the aad restored first when it was changed) */

    if (alen > 0) {
        r.p = data;
        r.left = size;
        get8(&r);
        get8(&r);
        get_bytes(&r, aad, alen);
        get_bytes(&r, plain, plen);
        get8(&r);
        get8(&r);
    }

    mlen = mutate(&r, sealed, slen);

    free(out);
    out = malloc(mlen >= TOTP_SEAL_OVERHEAD ? mlen - TOTP_SEAL_OVERHEAD + 1
                                            : 1);

    CHECK(totp_unseal(out, &n, keys, 3, sealed, mlen, aad, alen) == -1);

    if (mlen >= TOTP_SEAL_OVERHEAD) {
        for (i = 0; i < mlen - TOTP_SEAL_OVERHEAD; i++) {
            CHECK(out[i] == 0);
        }
    }

    free(out);
    free(sealed);
    free(plain);
    free(aad);
}


static void
write_seed(const char *dir, const char *name, const void *p, size_t n)
{
    char   path[4096];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}


static void
write_seeds(const char *dir)
{
    size_t          i, n;
    char            name[64];
    totp_token_t    t;
    unsigned char   buf[512];

    static const struct {
        unsigned char   purpose;
        unsigned char   flags;
        int64_t         expires;
        const char     *user;
        int             prev;
    } seeds[] = {
        { TOTP_TOKEN_SESSION, 0, NOW + 43200, "alice", 0 },
        { TOTP_TOKEN_SESSION, 1, NOW + 1, "bob@example.com", 0 },
        { TOTP_TOKEN_SESSION, 0, NOW, "carol", 0 },
        { TOTP_TOKEN_SESSION, 0, -1, "", 0 },
        { TOTP_TOKEN_SESSION, 0, INT64_MAX, "dave", 1 },
        { TOTP_TOKEN_TRUST, 0, NOW + 2592000, "alice", 0 },
        { TOTP_TOKEN_TRUST, 0, NOW + 2592000, "alice", 1 },
        { TOTP_TOKEN_TRUST, 0xff, INT64_MIN, "x", 0 },
        { TOTP_TOKEN_PRE, 0, NOW + 600, "", 0 },
        { TOTP_TOKEN_PRE, 2, NOW + 600, "alice", 0 },
        { TOTP_TOKEN_PRE, 3, NOW + 600, "\xc3\xa9l\xc3\xa8ve", 1 },
    };

    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        memset(&t, 0, sizeof(t));
        t.purpose = seeds[i].purpose;
        t.flags = seeds[i].flags;
        t.expires = seeds[i].expires;
        memset(t.epoch, (int) (0x10 + i), TOTP_EPOCH_LEN);
        memset(t.nonce, (int) (0x80 + i), TOTP_NONCE_LEN);
        t.user_len = strlen(seeds[i].user);
        memcpy(t.user, seeds[i].user, t.user_len);

        n = totp_token_encode(buf, &t,
                              (seeds[i].prev ? &prev : &cur)
                                  ->key[key_index(t.purpose)]);
        if (n == 0) {
            exit(1);
        }

        snprintf(name, sizeof(name), "cookie-%c-%02zu", t.purpose, i);
        write_seed(dir, name, buf, n);
    }

    /* the longest user name */

    memset(&t, 0, sizeof(t));
    t.purpose = TOTP_TOKEN_SESSION;
    t.expires = NOW + 60;
    t.user_len = TOTP_USER_MAX;
    memset(t.user, 'u', TOTP_USER_MAX);
    n = totp_token_encode(buf, &t, cur.key[TOTP_KEY_SESSION]);
    write_seed(dir, "cookie-s-longest-user", buf, n);

    /* RFC 4648 section 10 vectors, base64url alphabet */

    write_seed(dir, "b64-f", "Zg", 2);
    write_seed(dir, "b64-foob", "Zm9vYg", 6);
    write_seed(dir, "b64-foobar", "Zm9vYmFy", 8);
    write_seed(dir, "b64-urlchars", "-_-_", 4);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char  master[32];
    const char    *dir;

    /* the test suite's key file: 'k' x 16 . 'K' x 16 */
    memset(master, 'k', 16);
    memset(master + 16, 'K', 16);
    if (totp_keys_derive(&cur, master, sizeof(master)) != 0) {
        abort();
    }

    memset(master, 'p', sizeof(master));
    if (totp_keys_derive(&prev, master, sizeof(master)) != 0) {
        abort();
    }

    memset(master, 'o', sizeof(master));
    if (totp_keys_derive(&other, master, sizeof(master)) != 0) {
        abort();
    }

    dir = getenv("TOTP_FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rand_counter = 0;

    check_cookie(data, size);
    check_b64(data, size);
    check_token(data, size);
    check_seal(data, size);

    return 0;
}
