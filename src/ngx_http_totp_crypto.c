
/*
 * Key derivation, cookie tokens and secret sealing.
 */


#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif

#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_crypto.h"


#define TOTP_TOKEN_HEAD         61      /* payload bytes before the user */
#define TOTP_TOKEN_PAYLOAD_MAX  (TOTP_TOKEN_HEAD + TOTP_USER_MAX)
#define TOTP_TOKEN_MAC_B64      43      /* totp_b64url_encoded_len(32) */

#define TOTP_SEAL_IV_LEN        12
#define TOTP_SEAL_TAG_LEN       16


static int totp_token_purpose_valid(unsigned char purpose);
static void totp_token_put64(unsigned char *p, int64_t v);
static int64_t totp_token_get64(const unsigned char *p);
static int totp_gcm(int enc, unsigned char *out,
    const unsigned char *key, const unsigned char *iv,
    const unsigned char *in, size_t n, const unsigned char *aad,
    size_t aad_len, unsigned char *tag);
static uint32_t totp_ct_mask(uint32_t c, uint32_t lo, uint32_t hi);
static unsigned char totp_b64url_char(uint32_t v);


static const unsigned char  totp_hkdf_salt[] = "ngx_http_totp_module";

/* indexed by totp_key_purpose_t */
static const char  *totp_hkdf_info[TOTP_KEY_COUNT] = {
    "ngx_http_totp session v1",
    "ngx_http_totp trust v1",
    "ngx_http_totp pre v1",
    "ngx_http_totp csrf v1",
    "ngx_http_totp seal v1",
    "ngx_http_totp recovery v1",
    "ngx_http_totp line v1"
};


/*
 * Each byte's value in base64url, 99 where it is not a digit.  A table,
 * not constant-time masks: whatever is decoded here is the client's to
 * see already, or ciphertext, and every cookie of every request is
 * decoded.
 */

static const unsigned char  totp_b64url_values[256] = {
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 62, 99, 99,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 99, 99, 99, 99, 99, 99,
    99,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 99, 99, 99, 99, 63,
    99, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99
};


int
totp_keys_derive(totp_keys_t *keys, const unsigned char *master,
    size_t len)
{
    size_t       i;
    const char  *info;

    if (master == NULL || len < TOTP_KEY_LEN) {
        goto failed;
    }

    for (i = 0; i < TOTP_KEY_COUNT; i++) {
        info = totp_hkdf_info[i];

        if (totp_hkdf_sha256(keys->key[i], TOTP_KEY_LEN, totp_hkdf_salt,
                             sizeof(totp_hkdf_salt) - 1, master, len,
                             (const unsigned char *) info, strlen(info))
            != 0)
        {
            goto failed;
        }
    }

    return 0;

failed:

    totp_wipe(keys, sizeof(totp_keys_t));

    return -1;
}


int
totp_hkdf_sha256(unsigned char *out, size_t out_len,
    const unsigned char *salt, size_t salt_len, const unsigned char *ikm,
    size_t ikm_len, const unsigned char *info, size_t info_len)
{
    int            rc;
    size_t         got;
    EVP_PKEY_CTX  *ctx;

    /*
     * RFC 5869 reads a missing salt as HashLen zero bytes.  Passed
     * explicitly, since OpenSSL versions differ on an empty salt.
     */
    static const unsigned char  zeros[32];

    if (out == NULL) {
        return -1;
    }

    if (out_len == 0 || out_len > 255 * 32
        || (salt == NULL && salt_len > 0) || salt_len > INT_MAX
        || ikm == NULL || ikm_len == 0 || ikm_len > INT_MAX
        || (info == NULL && info_len > 0) || info_len > INT_MAX)
    {
        goto failed;
    }

    if (salt_len == 0) {
        salt = zeros;
        salt_len = sizeof(zeros);
    }

    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    if (ctx == NULL) {
        goto failed;
    }

    got = out_len;

    rc = EVP_PKEY_derive_init(ctx) <= 0
         || EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) <= 0
         || EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int) salt_len) <= 0
         || EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int) ikm_len) <= 0
         || (info_len > 0
             && EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int) info_len) <= 0)
         || EVP_PKEY_derive(ctx, out, &got) <= 0
         || got != out_len;

    /* the context's copy of the key is cleansed when it is freed */
    EVP_PKEY_CTX_free(ctx);

    if (rc) {
        goto failed;
    }

    return 0;

failed:

    totp_wipe(out, out_len);

    return -1;
}


int
totp_random(unsigned char *buf, size_t len)
{
    if (len == 0) {
        return 0;
    }

    if (buf == NULL || len > INT_MAX || RAND_bytes(buf, (int) len) != 1) {
        return -1;
    }

    return 0;
}


/*
 * A keyed HMAC context per derived key, kept for the process: the one-shot
 * HMAC() looks up SHA-256 and builds and frees a context on every call,
 * some 20,000 instructions, most of the cost of a signed-in request
 * (bench/run, callgrind).  Re-initialising a kept context with its key is
 * a fraction of that.  Keys are recognised by their bytes, so a reloaded
 * configuration's keys simply take slots of their own.
 */

#define TOTP_HMAC_SLOTS  16

typedef struct {
    unsigned char   key[TOTP_KEY_LEN];
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MAC_CTX    *ctx;
#else
    HMAC_CTX       *ctx;
#endif
} totp_hmac_slot_t;


static totp_hmac_slot_t  totp_hmac_slots[TOTP_HMAC_SLOTS];
static unsigned          totp_hmac_next;
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
static EVP_MAC          *totp_hmac_method;
#endif


static int
totp_hmac_keyed(const unsigned char *key, const void *data, size_t len,
    unsigned char mac[TOTP_MAC_LEN])
{
    size_t             out;
    unsigned           i;
    totp_hmac_slot_t  *slot;
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    OSSL_PARAM         params[2];
#else
    unsigned int       md_len;
#endif

    slot = NULL;

    for (i = 0; i < TOTP_HMAC_SLOTS; i++) {
        if (totp_hmac_slots[i].ctx
            && memcmp(totp_hmac_slots[i].key, key, TOTP_KEY_LEN) == 0)
        {
            slot = &totp_hmac_slots[i];
            break;
        }
    }

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)

    if (slot) {
        if (EVP_MAC_init(slot->ctx, NULL, 0, NULL) != 1) {
            return -1;
        }

    } else {
        if (totp_hmac_method == NULL) {
            totp_hmac_method = EVP_MAC_fetch(NULL, "HMAC", NULL);
            if (totp_hmac_method == NULL) {
                return -1;
            }
        }

        slot = &totp_hmac_slots[totp_hmac_next++ % TOTP_HMAC_SLOTS];

        EVP_MAC_CTX_free(slot->ctx);
        totp_wipe(slot->key, TOTP_KEY_LEN);

        slot->ctx = EVP_MAC_CTX_new(totp_hmac_method);
        if (slot->ctx == NULL) {
            return -1;
        }

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     (char *) "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();

        if (EVP_MAC_init(slot->ctx, key, TOTP_KEY_LEN, params) != 1) {
            EVP_MAC_CTX_free(slot->ctx);
            slot->ctx = NULL;
            return -1;
        }

        memcpy(slot->key, key, TOTP_KEY_LEN);
    }

    if (EVP_MAC_update(slot->ctx, data, len) != 1
        || EVP_MAC_final(slot->ctx, mac, &out, TOTP_MAC_LEN) != 1
        || out != TOTP_MAC_LEN)
    {
        totp_wipe(mac, TOTP_MAC_LEN);
        return -1;
    }

#else

    if (slot) {
        if (HMAC_Init_ex(slot->ctx, NULL, 0, NULL, NULL) != 1) {
            return -1;
        }

    } else {
        slot = &totp_hmac_slots[totp_hmac_next++ % TOTP_HMAC_SLOTS];

        HMAC_CTX_free(slot->ctx);
        totp_wipe(slot->key, TOTP_KEY_LEN);

        slot->ctx = HMAC_CTX_new();
        if (slot->ctx == NULL
            || HMAC_Init_ex(slot->ctx, key, TOTP_KEY_LEN, EVP_sha256(), NULL)
               != 1)
        {
            HMAC_CTX_free(slot->ctx);
            slot->ctx = NULL;
            return -1;
        }

        memcpy(slot->key, key, TOTP_KEY_LEN);
    }

    md_len = 0;

    if (HMAC_Update(slot->ctx, data, len) != 1
        || HMAC_Final(slot->ctx, mac, &md_len) != 1
        || md_len != TOTP_MAC_LEN)
    {
        totp_wipe(mac, TOTP_MAC_LEN);
        return -1;
    }

    out = md_len;

#endif

    (void) out;

    return 0;
}


void
totp_hmac_release(void)
{
    unsigned  i;

    for (i = 0; i < TOTP_HMAC_SLOTS; i++) {
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
        EVP_MAC_CTX_free(totp_hmac_slots[i].ctx);
#else
        HMAC_CTX_free(totp_hmac_slots[i].ctx);
#endif
        totp_hmac_slots[i].ctx = NULL;
        totp_wipe(totp_hmac_slots[i].key, TOTP_KEY_LEN);
    }

#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    EVP_MAC_free(totp_hmac_method);
    totp_hmac_method = NULL;
#endif
}


int
totp_hmac_sha256(const unsigned char *key, size_t key_len,
    const void *data, size_t len, unsigned char mac[TOTP_MAC_LEN])
{
    unsigned int  md_len;

    if ((key == NULL && key_len > 0) || key_len > INT_MAX
        || (data == NULL && len > 0))
    {
        return -1;
    }

    /* OpenSSL versions differ on NULL for empty input: never pass it */

    if (key_len == 0) {
        key = (const unsigned char *) "";
    }

    if (len == 0) {
        data = "";
    }

    /* the module's own keys, used for every request, are kept keyed */

    if (key_len == TOTP_KEY_LEN) {
        return totp_hmac_keyed(key, data, len, mac);
    }

    md_len = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len, data, len, mac, &md_len)
        == NULL
        || md_len != TOTP_MAC_LEN)
    {
        totp_wipe(mac, TOTP_MAC_LEN);
        return -1;
    }

    return 0;
}


int
totp_memeq(const void *a, const void *b, size_t n)
{
    if (n == 0) {
        return 1;
    }

    return CRYPTO_memcmp(a, b, n) == 0;
}


size_t
totp_b64url_encoded_len(size_t n)
{
    static const unsigned char  tail[] = { 0, 2, 3 };

    return n / 3 * 4 + tail[n % 3];
}


size_t
totp_b64url_decoded_max(size_t len)
{
    /* len * 3 / 4 without the overflow */
    return len / 4 * 3 + len % 4 * 3 / 4;
}


size_t
totp_b64url_encode(unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t    i, k;
    unsigned  bits;
    uint32_t  acc;

    k = 0;
    bits = 0;
    acc = 0;

    /* bits above the 14 lowest in acc are stale and never read */

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | src[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            dst[k++] = totp_b64url_char((acc >> bits) & 0x3f);
        }
    }

    if (bits > 0) {
        dst[k++] = totp_b64url_char((acc << (6 - bits)) & 0x3f);
    }

    return k;
}


int
totp_b64url_decode(unsigned char *dst, size_t *dst_len,
    const unsigned char *src, size_t len)
{
    size_t    i, n;
    unsigned  a, b, c, d;

    n = 0;

    /* four digits make three bytes */

    for (i = 0; i + 4 <= len; i += 4) {
        a = totp_b64url_values[src[i]];
        b = totp_b64url_values[src[i + 1]];
        c = totp_b64url_values[src[i + 2]];
        d = totp_b64url_values[src[i + 3]];

        if ((a | b | c | d) > 63) {
            goto failed;
        }

        dst[n++] = (unsigned char) (a << 2 | b >> 4);
        dst[n++] = (unsigned char) (b << 4 | c >> 2);
        dst[n++] = (unsigned char) (c << 6 | d);
    }

    /*
     * The tail: two digits make one byte, three make two, and no byte
     * string encodes to one.  The bits a short tail leaves over must be
     * zero, or several strings would decode to one value: a token's bytes
     * could then be altered without touching its MAC.
     */

    switch (len - i) {

    case 0:
        break;

    case 2:
        a = totp_b64url_values[src[i]];
        b = totp_b64url_values[src[i + 1]];

        if ((a | b) > 63 || (b & 0x0f) != 0) {
            goto failed;
        }

        dst[n++] = (unsigned char) (a << 2 | b >> 4);
        break;

    case 3:
        a = totp_b64url_values[src[i]];
        b = totp_b64url_values[src[i + 1]];
        c = totp_b64url_values[src[i + 2]];

        if ((a | b | c) > 63 || (c & 0x03) != 0) {
            goto failed;
        }

        dst[n++] = (unsigned char) (a << 2 | b >> 4);
        dst[n++] = (unsigned char) (b << 4 | c >> 2);
        break;

    default:
        goto failed;
    }

    *dst_len = n;

    return 0;

failed:

    totp_wipe(dst, n);

    return -1;
}


size_t
totp_token_encoded_len(size_t user_len)
{
    return totp_b64url_encoded_len(TOTP_TOKEN_HEAD + user_len)
           + 1 + TOTP_TOKEN_MAC_B64;
}


size_t
totp_token_encode(unsigned char *dst, const totp_token_t *t,
    const unsigned char key[TOTP_KEY_LEN])
{
    size_t         n, plen;
    unsigned char  payload[TOTP_TOKEN_PAYLOAD_MAX], mac[TOTP_MAC_LEN];

    if (t->user_len > TOTP_USER_MAX
        || !totp_token_purpose_valid(t->purpose))
    {
        return 0;
    }

    payload[0] = TOTP_TOKEN_VERSION;
    payload[1] = t->purpose;
    payload[2] = t->flags;

    totp_token_put64(&payload[3], t->expires);
    totp_token_put64(&payload[11], t->issued);

    memcpy(&payload[19], t->epoch, TOTP_EPOCH_LEN);
    memcpy(&payload[35], t->nonce, TOTP_NONCE_LEN);
    memcpy(&payload[51], t->profile, TOTP_PROFILE_LEN);

    payload[59] = (unsigned char) (t->user_len >> 8);
    payload[60] = (unsigned char) t->user_len;

    memcpy(&payload[TOTP_TOKEN_HEAD], t->user, t->user_len);

    plen = TOTP_TOKEN_HEAD + t->user_len;

    if (totp_hmac_sha256(key, TOTP_KEY_LEN, payload, plen, mac) != 0) {
        totp_wipe(payload, plen);
        return 0;
    }

    n = totp_b64url_encode(dst, payload, plen);
    dst[n++] = '.';
    n += totp_b64url_encode(dst + n, mac, TOTP_MAC_LEN);

    totp_wipe(payload, plen);
    totp_wipe(mac, sizeof(mac));

    return n;
}


int
totp_token_decode(totp_token_t *t, const unsigned char *src, size_t len,
    unsigned char purpose, const unsigned char *const *keys, size_t nkeys,
    int64_t now)
{
    int            match;
    size_t         i, b64_len, plen, mac_len, user_len;
    unsigned char  payload[TOTP_TOKEN_PAYLOAD_MAX];
    unsigned char  mac[TOTP_MAC_LEN], want[TOTP_MAC_LEN];

    plen = 0;

    /*
     * Both bounds are exact: the encoding is strict, so the length alone
     * says whether the payload fits the buffer.
     */

    if (src == NULL || keys == NULL
        || len < totp_token_encoded_len(0)
        || len > totp_token_encoded_len(TOTP_USER_MAX))
    {
        goto bad;
    }

    b64_len = len - TOTP_TOKEN_MAC_B64 - 1;

    if (src[b64_len] != '.'
        || totp_b64url_decode(mac, &mac_len, &src[b64_len + 1],
                              TOTP_TOKEN_MAC_B64)
           != 0
        || mac_len != TOTP_MAC_LEN)
    {
        goto bad;
    }

    if (totp_b64url_decode(payload, &plen, src, b64_len) != 0) {
        plen = 0;
        goto bad;
    }

    if (plen < TOTP_TOKEN_HEAD || plen > TOTP_TOKEN_PAYLOAD_MAX) {
        goto bad;
    }

    /*
     * Every key is tried, so that the time taken does not say which one
     * matched; nothing in the payload is read before one did.
     */

    match = 0;

    for (i = 0; i < nkeys; i++) {
        if (keys[i] == NULL) {
            continue;
        }

        if (totp_hmac_sha256(keys[i], TOTP_KEY_LEN, payload, plen, want)
            != 0)
        {
            totp_wipe(want, sizeof(want));
            goto bad;
        }

        match |= totp_memeq(want, mac, TOTP_MAC_LEN);
    }

    totp_wipe(want, sizeof(want));

    if (!match) {
        goto bad;
    }

    user_len = (size_t) payload[59] << 8 | payload[60];

    if (payload[0] != TOTP_TOKEN_VERSION
        || payload[1] != purpose
        || !totp_token_purpose_valid(purpose)
        || user_len > TOTP_USER_MAX
        || user_len != plen - TOTP_TOKEN_HEAD)
    {
        goto bad;
    }

    memset(t, 0, sizeof(totp_token_t));

    t->purpose = payload[1];
    t->flags = payload[2];
    t->expires = totp_token_get64(&payload[3]);
    t->issued = totp_token_get64(&payload[11]);

    memcpy(t->epoch, &payload[19], TOTP_EPOCH_LEN);
    memcpy(t->nonce, &payload[35], TOTP_NONCE_LEN);
    memcpy(t->profile, &payload[51], TOTP_PROFILE_LEN);

    t->user_len = user_len;
    memcpy(t->user, &payload[TOTP_TOKEN_HEAD], user_len);

    totp_wipe(payload, plen);

    return (t->expires <= now) ? TOTP_TOKEN_EXPIRED : TOTP_TOKEN_OK;

bad:

    totp_wipe(payload, plen);
    memset(t, 0, sizeof(totp_token_t));

    return TOTP_TOKEN_BAD;
}


int
totp_seal(unsigned char *dst, const unsigned char key[TOTP_KEY_LEN],
    const unsigned char *plain, size_t n, const unsigned char *aad,
    size_t aad_len)
{
    unsigned char  *iv, *tag;

    if (dst == NULL) {
        return -1;
    }

    if (key == NULL || (plain == NULL && n > 0) || n > INT_MAX
        || (aad == NULL && aad_len > 0) || aad_len > INT_MAX)
    {
        goto failed;
    }

    iv = &dst[1];
    tag = &dst[1 + TOTP_SEAL_IV_LEN + n];

    dst[0] = TOTP_SEAL_VERSION;

    /*
     * GCM fails completely when an IV repeats under one key; 96 random
     * bits keep that unlikely for far more seals than enrollments.
     */

    if (totp_random(iv, TOTP_SEAL_IV_LEN) != 0
        || totp_gcm(1, &dst[1 + TOTP_SEAL_IV_LEN], key, iv, plain, n,
                    aad, aad_len, tag)
           != 0)
    {
        goto failed;
    }

    return 0;

failed:

    if (n <= INT_MAX) {
        totp_wipe(dst, n + TOTP_SEAL_OVERHEAD);
    }

    return -1;
}


int
totp_unseal(unsigned char *dst, size_t *n,
    const unsigned char *const *keys, size_t nkeys,
    const unsigned char *sealed, size_t len, const unsigned char *aad,
    size_t aad_len)
{
    size_t         i, clen;
    unsigned char  tag[TOTP_SEAL_TAG_LEN];

    if (sealed == NULL || len < TOTP_SEAL_OVERHEAD) {
        return -1;
    }

    clen = len - TOTP_SEAL_OVERHEAD;

    if ((dst == NULL && clen > 0) || keys == NULL
        || sealed[0] != TOTP_SEAL_VERSION || clen > INT_MAX
        || (aad == NULL && aad_len > 0) || aad_len > INT_MAX)
    {
        goto failed;
    }

    for (i = 0; i < nkeys; i++) {
        if (keys[i] == NULL) {
            continue;
        }

        /* a copy: OpenSSL takes the expected tag through a non-const */
        memcpy(tag, &sealed[len - TOTP_SEAL_TAG_LEN], TOTP_SEAL_TAG_LEN);

        if (totp_gcm(0, dst, keys[i], &sealed[1],
                     &sealed[1 + TOTP_SEAL_IV_LEN], clen, aad, aad_len, tag)
            == 0)
        {
            *n = clen;
            return 0;
        }
    }

failed:

    if (dst != NULL) {
        totp_wipe(dst, clen);
    }

    return -1;
}


/* big-endian two's complement, by definition of the unsigned conversion */

static void
totp_token_put64(unsigned char *p, int64_t v)
{
    size_t    i;
    uint64_t  u;

    u = (uint64_t) v;

    for (i = 0; i < 8; i++) {
        p[i] = (unsigned char) (u >> (56 - 8 * i));
    }
}


/* back from two's complement without implementation-defined casts */

static int64_t
totp_token_get64(const unsigned char *p)
{
    size_t    i;
    uint64_t  u;

    u = 0;

    for (i = 0; i < 8; i++) {
        u = (u << 8) | p[i];
    }

    if (u <= (uint64_t) INT64_MAX) {
        return (int64_t) u;
    }

    return -(int64_t) (UINT64_MAX - u) - 1;
}


static int
totp_token_purpose_valid(unsigned char purpose)
{
    return purpose == TOTP_TOKEN_SESSION
           || purpose == TOTP_TOKEN_TRUST
           || purpose == TOTP_TOKEN_PRE;
}


/*
 * AES-256-GCM over n bytes, with the seal's version byte and then the
 * caller's aad as associated data.  Encrypting writes the tag; decrypting
 * checks it and wipes out on a mismatch, as GCM has already written the
 * unauthenticated plaintext there.
 */

static int
totp_gcm(int enc, unsigned char *out, const unsigned char *key,
    const unsigned char *iv, const unsigned char *in, size_t n,
    const unsigned char *aad, size_t aad_len, unsigned char *tag)
{
    int               rc, outl, finl;
    unsigned char     fin[TOTP_SEAL_TAG_LEN];
    EVP_CIPHER_CTX   *ctx;

    static const unsigned char  version = TOTP_SEAL_VERSION;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    outl = 0;
    finl = 0;

    rc = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
         != 1
         || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                TOTP_SEAL_IV_LEN, NULL)
            != 1
         || EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) != 1
         || EVP_CipherUpdate(ctx, NULL, &outl, &version, 1) != 1
         || (aad_len > 0
             && EVP_CipherUpdate(ctx, NULL, &outl, aad, (int) aad_len) != 1);

    outl = 0;

    if (!rc && n > 0) {
        rc = EVP_CipherUpdate(ctx, out, &outl, in, (int) n) != 1
             || (size_t) outl != n;
    }

    if (!rc && !enc) {
        rc = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                                 TOTP_SEAL_TAG_LEN, tag)
             != 1;
    }

    /* GCM writes nothing here; fin only keeps out's bounds untouched */

    if (!rc) {
        rc = EVP_CipherFinal_ex(ctx, fin, &finl) != 1 || finl != 0;
    }

    if (!rc && enc) {
        rc = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                                 TOTP_SEAL_TAG_LEN, tag)
             != 1;
    }

    /* freeing cleanses the key schedule */
    EVP_CIPHER_CTX_free(ctx);

    if (rc) {
        totp_wipe(out, n);
        return -1;
    }

    return 0;
}


/*
 * The base64url helpers below use arithmetic instead of table lookups:
 * what they convert may be secret, and a lookup's memory access pattern
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
totp_b64url_char(uint32_t v)
{
    return (unsigned char)
               ((totp_ct_mask(v, 0, 25) & ('A' + v))
                | (totp_ct_mask(v, 26, 51) & ('a' + v - 26))
                | (totp_ct_mask(v, 52, 61) & ('0' + v - 52))
                | (totp_ct_mask(v, 62, 62) & '-')
                | (totp_ct_mask(v, 63, 63) & '_'));
}
