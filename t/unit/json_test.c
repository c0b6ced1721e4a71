
/*
 * TAP unit tests for src/ngx_http_totp_json.c: what each kind of byte
 * becomes, and the length pass agreeing with the writing pass on random
 * bytes.
 */


#define _POSIX_C_SOURCE  200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_totp_json.h"
#include "tap.h"


/*
 * Escapes into a buffer of exactly the announced length followed by
 * guard bytes; 1 when the output is want and no guard byte changed.
 */
static int
escapes_to(const char *src, size_t len, const char *want)
{
    int             same;
    size_t          need, i;
    unsigned char  *buf, *end;

    need = totp_json_escape_len((const unsigned char *) src, len);

    buf = malloc(need + 8);
    if (buf == NULL) {
        return 0;
    }

    memset(buf + need, 0xa5, 8);

    end = totp_json_escape(buf, (const unsigned char *) src, len);

    same = (size_t) (end - buf) == need
           && need == strlen(want)
           && memcmp(buf, want, need) == 0;

    for (i = 0; i < 8; i++) {
        same = same && buf[need + i] == 0xa5;
    }

    if (!same) {
        diag("got \"%.*s\", want \"%s\"", (int) (end - buf), buf, want);
    }

    free(buf);

    return same;
}


#define E(src, want, name)                                                   \
    ok(escapes_to(src, sizeof(src) - 1, want), name)


int
main(void)
{
    size_t          i, n, len;
    unsigned char   src[64], out[64 * 6], *end;
    uint32_t        seed;

    E("alice", "alice", "plain ASCII as it is");
    E("", "", "empty stays empty");
    E("a\"b", "a\\\"b", "a quote is escaped");
    E("a\\b", "a\\\\b", "a backslash is escaped");
    E("\n\r\t\b\f", "\\n\\r\\t\\b\\f", "the short escapes");
    E("\x01\x1f", "\\u0001\\u001f", "other control characters as \\u00XX");
    E("a\0b", "a\\u0000b", "a NUL byte is escaped, not an end");
    E("\x7f", "\\u007f", "DEL is escaped");
    E("/<>'", "/<>'", "JSON needs nothing else escaped");
    E("caf\xc3\xa9", "caf\xc3\xa9", "two-byte UTF-8 as it is");
    E("\xe2\x82\xac", "\xe2\x82\xac", "three-byte UTF-8 as it is");
    E("\xf0\x9f\x94\x91", "\xf0\x9f\x94\x91", "four-byte UTF-8 as it is");
    E("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "U+10FFFF as it is");
    E("\xff", "\\ufffd", "0xff is no UTF-8");
    E("\x80x", "\\ufffdx", "a stray continuation byte");
    E("\xc0\xaf", "\\ufffd\\ufffd", "an overlong two-byte form");
    E("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd", "an overlong three-byte form");
    E("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "a surrogate");
    E("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd",
      "a code point above U+10FFFF");
    E("\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd", "0xf5 leads nothing");
    E("a\xe2\x82", "a\\ufffd\\ufffd", "a sequence cut short by the end");
    E("\xe2\x82x", "\\ufffd\\ufffdx", "a sequence cut short by ASCII");
    E("\xc3\xa9\xff\xc3\xa9", "\xc3\xa9\\ufffd\xc3\xa9",
      "a bad byte between good characters");

    /* random bytes: the two passes agree, and nothing unescaped is left */

    seed = 20261202;

    for (n = 0; n < 20000; n++) {
        len = n % sizeof(src);

        for (i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            src[i] = (unsigned char) (seed >> 16);
        }

        end = totp_json_escape(out, src, len);

        if ((size_t) (end - out) != totp_json_escape_len(src, len)) {
            break;
        }

        for (i = 0; i < (size_t) (end - out); i++) {
            if (out[i] < 0x20 || out[i] == 0x7f
                || (out[i] == '"' && (i == 0 || out[i - 1] != '\\')))
            {
                break;
            }
        }

        if (i != (size_t) (end - out)) {
            break;
        }
    }

    ok(n == 20000, "20000 random strings: lengths agree, no raw control "
       "character or bare quote");

    printf("1..%u\n", tests);

    if (failures) {
        diag("%u of %u tests failed", failures, tests);
        return 1;
    }

    return 0;
}
