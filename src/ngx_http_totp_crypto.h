
/*
 * Key derivation, cookie tokens and secret sealing.
 *
 * Plain C with no nginx types, so that it can be unit-tested and fuzzed
 * on its own.  OpenSSL's libcrypto (1.1.1 or newer) does the cryptography.
 */


#ifndef _NGX_HTTP_TOTP_CRYPTO_H_INCLUDED_
#define _NGX_HTTP_TOTP_CRYPTO_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * nginx loads modules with RTLD_GLOBAL: the core's plain names stay
 * inside the module's shared object.
 */
#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif


#define TOTP_KEY_LEN        32      /* every derived key */
#define TOTP_MAC_LEN        32      /* HMAC-SHA256 */
#define TOTP_EPOCH_LEN      16      /* a user's enrollment epoch, random */
#define TOTP_NONCE_LEN      16
#define TOTP_PROFILE_LEN    8       /* a token's profile, see below */
#define TOTP_USER_MAX       256     /* longest user name, bytes */


/*
 * One key per purpose, so that a value made for one purpose (a session
 * cookie, say) can never pass as another (a trust cookie, a sealed secret).
 */
typedef enum {
    TOTP_KEY_SESSION = 0,   /* info "ngx_http_totp session v1" */
    TOTP_KEY_TRUST,         /* "ngx_http_totp trust v1" */
    TOTP_KEY_PRE,           /* "ngx_http_totp pre v1" */
    TOTP_KEY_CSRF,          /* "ngx_http_totp csrf v1" */
    TOTP_KEY_SEAL,          /* "ngx_http_totp seal v1" */
    TOTP_KEY_RECOVERY,      /* "ngx_http_totp recovery v1" */
    TOTP_KEY_LINE,          /* "ngx_http_totp line v1" */
    TOTP_KEY_COUNT
} totp_key_purpose_t;


typedef struct {
    unsigned char  key[TOTP_KEY_COUNT][TOTP_KEY_LEN];
} totp_keys_t;


/*
 * HKDF-SHA256 (RFC 5869) of the key file's bytes (at least 32), salt
 * "ngx_http_totp_module", info as above, 32 bytes for each purpose.
 * 0, or -1 with every key wiped.
 */
int totp_keys_derive(totp_keys_t *keys, const unsigned char *master,
    size_t len);

/*
 * The HKDF under totp_keys_derive(), for the RFC 5869 test vectors.
 * salt and info may be NULL when their lengths are 0.  0, or -1 with out
 * wiped.
 */
int totp_hkdf_sha256(unsigned char *out, size_t out_len,
    const unsigned char *salt, size_t salt_len, const unsigned char *ikm,
    size_t ikm_len, const unsigned char *info, size_t info_len);

/* OpenSSL's CSPRNG; 0 or -1 */
int totp_random(unsigned char *buf, size_t len);

/* 0 or -1; key and data may be NULL when their lengths are 0 */
int totp_hmac_sha256(const unsigned char *key, size_t key_len,
    const void *data, size_t len, unsigned char mac[TOTP_MAC_LEN]);

/*
 * HMAC-SHA256 keeps a keyed context for each 32-byte key it meets (the
 * module's derived keys); this frees them, and wipes their keys, at exit.
 */
void totp_hmac_release(void);

/* 1 when equal, 0 otherwise; the time taken depends on n only */
int totp_memeq(const void *a, const void *b, size_t n);


/* base64url (RFC 4648 section 5) without padding */

/* exact length of the encoding */
size_t totp_b64url_encoded_len(size_t n);

/* returns the bytes written, no NUL */
size_t totp_b64url_encode(unsigned char *dst, const unsigned char *src,
    size_t n);

/* enough room to decode len input characters */
size_t totp_b64url_decoded_max(size_t len);

/*
 * Strict, so that every byte string has exactly one encoding: only
 * A-Z a-z 0-9 '-' '_', no '=', no length of 1 mod 4, no non-zero trailing
 * bits.  0 and *dst_len set, or -1 with dst wiped.
 */
int totp_b64url_decode(unsigned char *dst, size_t *dst_len,
    const unsigned char *src, size_t len);


/*
 * Signed cookie values ("tokens"):
 *
 *     base64url(payload) "." base64url(HMAC-SHA256(key, payload))
 *
 * The payload, 61 + user_len bytes:
 *
 *     0        version, 2
 *     1        purpose, TOTP_TOKEN_*
 *     2        flags
 *     3..10    expires, unix seconds, big-endian two's complement int64
 *     11..18   issued, the same
 *     19..34   epoch
 *     35..50   nonce
 *     51..58   profile: the settings it was made under (the caller's)
 *     59..60   user_len, big-endian, at most TOTP_USER_MAX
 *     61..     user
 *
 * The key is the purpose's own derived key; the purpose byte only makes
 * a mix-up of keys by the caller fail safe.
 */

#define TOTP_TOKEN_VERSION  2

#define TOTP_TOKEN_SESSION  's'
#define TOTP_TOKEN_TRUST    't'
#define TOTP_TOKEN_PRE      'p'

#define TOTP_TOKEN_OK        0
#define TOTP_TOKEN_BAD      -1  /* malformed, forged, wrong purpose/version */
#define TOTP_TOKEN_EXPIRED  -2  /* authentic but expires <= now */


typedef struct {
    unsigned char  purpose;                 /* one of TOTP_TOKEN_* chars */
    unsigned char  flags;                   /* free for the caller */
    int64_t        expires;                 /* unix seconds */
    int64_t        issued;                  /* unix seconds */
    unsigned char  epoch[TOTP_EPOCH_LEN];
    unsigned char  nonce[TOTP_NONCE_LEN];
    unsigned char  profile[TOTP_PROFILE_LEN];
    size_t         user_len;                /* 0 .. TOTP_USER_MAX */
    unsigned char  user[TOTP_USER_MAX];
} totp_token_t;


/* the exact length of an encoded token for this user length */
size_t totp_token_encoded_len(size_t user_len);

/*
 * Writes totp_token_encoded_len(t->user_len) bytes, no NUL, and returns
 * their count; 0 on user_len > TOTP_USER_MAX, an unknown purpose or a
 * crypto failure.
 */
size_t totp_token_encode(unsigned char *dst, const totp_token_t *t,
    const unsigned char key[TOTP_KEY_LEN]);

/*
 * Verifies against each of nkeys keys (current key first, then the
 * previous one) and the expected purpose.  Lengths are checked before
 * decoding, the MAC in constant time over the exact payload bytes before
 * any field is parsed, then every field (version, purpose, user_len equal
 * to what remains).  TOTP_TOKEN_OK or TOTP_TOKEN_EXPIRED with t filled in;
 * TOTP_TOKEN_BAD with t wiped.
 */
int totp_token_decode(totp_token_t *t, const unsigned char *src, size_t len,
    unsigned char purpose, const unsigned char *const *keys, size_t nkeys,
    int64_t now);


/*
 * Sealing (secrets at rest in Redis): AES-256-GCM,
 *
 *     version (1) | IV (12, random) | ciphertext (n) | tag (16)
 *
 * The tag covers the version byte and the caller's aad (the user name:
 * a secret copied to another user's record does not open there); the aad
 * itself is not stored.
 */

#define TOTP_SEAL_VERSION   1
#define TOTP_SEAL_OVERHEAD  (1 + 12 + 16)   /* version byte, IV, tag */

/*
 * dst must hold n + TOTP_SEAL_OVERHEAD bytes and must not overlap plain;
 * a fresh random IV each call.  0, or -1 with dst wiped.
 */
int totp_seal(unsigned char *dst, const unsigned char key[TOTP_KEY_LEN],
    const unsigned char *plain, size_t n, const unsigned char *aad,
    size_t aad_len);

/*
 * Tries each key in order; dst must hold len - TOTP_SEAL_OVERHEAD bytes.
 * 0 and *n set, or -1 with dst wiped (wrong key, tampered, wrong aad, too
 * short, unknown version).
 */
int totp_unseal(unsigned char *dst, size_t *n,
    const unsigned char *const *keys, size_t nkeys,
    const unsigned char *sealed, size_t len, const unsigned char *aad,
    size_t aad_len);


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TOTP_CRYPTO_H_INCLUDED_ */
