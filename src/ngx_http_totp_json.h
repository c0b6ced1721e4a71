
/*
 * JSON string escaping for the audit log: any bytes in, a valid JSON
 * string body out.  Plain C with no nginx types, so that it can be
 * unit-tested on its own.
 */


#ifndef _NGX_HTTP_TOTP_JSON_H_INCLUDED_
#define _NGX_HTTP_TOTP_JSON_H_INCLUDED_


#include <stddef.h>


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility push(hidden)
#endif


/*
 * The bytes totp_json_escape() writes for src: '"' and '\' escaped,
 * control characters and DEL as \u00XX, well-formed UTF-8 as it is, and
 * each byte of anything else (a stray continuation byte, a truncated or
 * overlong sequence, a surrogate, a code point above U+10FFFF) as
 * \ufffd, so that a client's bytes can neither end the string nor make
 * the line unreadable to a strict JSON parser.
 */
size_t totp_json_escape_len(const unsigned char *src, size_t len);

/* writes the escaped src at dst; returns the end of what it wrote */
unsigned char *totp_json_escape(unsigned char *dst, const unsigned char *src,
    size_t len);


#if (defined __GNUC__ && __GNUC__ >= 4)
#pragma GCC visibility pop
#endif


#endif /* _NGX_HTTP_TOTP_JSON_H_INCLUDED_ */
