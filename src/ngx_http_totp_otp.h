
/*
 * HOTP (RFC 4226), TOTP (RFC 6238) and base32 (RFC 4648).
 *
 * Plain C with no nginx types, so that it can be unit-tested and fuzzed
 * on its own.  Every function is pure apart from the HMAC it computes.
 */


#ifndef _NGX_HTTP_TOTP_OTP_H_INCLUDED_
#define _NGX_HTTP_TOTP_OTP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * nginx loads modules with RTLD_GLOBAL: the core's plain names stay
 * inside the module's shared object.
 */
#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif


typedef enum {
    TOTP_SHA1 = 0,
    TOTP_SHA256,
    TOTP_SHA512
} totp_alg_t;


#define TOTP_DIGITS_MIN  6
#define TOTP_DIGITS_MAX  8
#define TOTP_SKEW_MAX    10

/* how far before the window a code is looked for, to name a late clock */
#define TOTP_BEHIND_MAX  240


/* 20/32/64: the key length of a new enrollment; 0 for an unknown alg */
size_t totp_alg_key_len(totp_alg_t alg);

/* "sha1", "sha256", "sha512"; NULL for an unknown alg */
const char *totp_alg_name(totp_alg_t alg);

/* case-insensitive, s need not be NUL-terminated; 0 or -1 on unknown */
int totp_alg_parse(const char *s, size_t len, totp_alg_t *alg);

/*
 * 0 and *code set, or -1 on bad arguments (digits outside 6..8, key NULL
 * with key_len > 0) or a crypto failure
 */
int totp_hotp(totp_alg_t alg, const unsigned char *key, size_t key_len,
    uint64_t counter, unsigned digits, uint32_t *code);

/* 0 and *step set, or -1 when period is 0 or unix_time negative */
int totp_time_step(int64_t unix_time, uint64_t period, uint64_t *step);

/*
 * Checks a user-supplied code, exactly "digits" ASCII digits, against every
 * step in [step_now - skew, step_now + skew], clamped to 0..UINT64_MAX, in
 * constant time.  1 and *matched_step set (the latest matching step) on a
 * match, 0 on no match or a malformed code, -1 on bad arguments (also
 * skew > TOTP_SKEW_MAX) or a crypto failure.  matched_step may be NULL.
 */
int totp_window_check(totp_alg_t alg, const unsigned char *key,
    size_t key_len, unsigned digits, uint64_t step_now, unsigned skew,
    const char *code, size_t code_len, uint64_t *matched_step);

/*
 * After a code matched no step of the window: whether it matches one of
 * the "back" steps (1..TOTP_BEHIND_MAX) just before it, as the code of a
 * device whose clock is behind does.  Never a step after the window: a
 * code that becomes valid later is nobody's business.  1 and
 * *matched_step set (the latest match), 0 on none or a malformed code,
 * -1 on bad arguments or a crypto failure.  Every candidate is computed.
 */
int totp_behind_check(totp_alg_t alg, const unsigned char *key,
    size_t key_len, unsigned digits, uint64_t step_now, unsigned skew,
    unsigned back, const char *code, size_t code_len,
    uint64_t *matched_step);

/* exact length of the unpadded encoding */
size_t totp_base32_encoded_len(size_t len);

/* enough room to decode len input characters */
size_t totp_base32_decoded_max(size_t len);

/* RFC 4648 alphabet, no padding, no NUL; returns the bytes written */
size_t totp_base32_encode(unsigned char *dst, const unsigned char *src,
    size_t len);

/*
 * Accepts lower case, ASCII spaces anywhere, and either no padding or the
 * exact padding for the length.  Rejects other characters, data after '=',
 * lengths that no input encodes to (mod 8 of 1, 3, 6) and non-zero
 * trailing bits.  0 and *dst_len set, or -1 with dst wiped.
 */
int totp_base32_decode(unsigned char *dst, size_t *dst_len,
    const unsigned char *src, size_t len);

/* a wipe that the compiler cannot elide */
void totp_wipe(void *p, size_t n);


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TOTP_OTP_H_INCLUDED_ */
