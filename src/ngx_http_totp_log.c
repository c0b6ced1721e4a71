
/*
 * Escaping for the error log.  nginx's access log writes "\xHH" for a
 * quote, a backslash, control characters and bytes above 0x7e (its
 * default escape=); the same here keeps one rule for both logs and lets
 * one parser read them.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_log.h"


static ngx_uint_t ngx_http_totp_log_unsafe(u_char c);


ngx_str_t *
ngx_http_totp_log_escape(ngx_pool_t *pool, ngx_str_t *value)
{
    u_char      *p, c;
    size_t       i, n;
    ngx_str_t   *escaped;

    static u_char     hex[] = "0123456789ABCDEF";
    static ngx_str_t  unknown = ngx_string("(unprintable)");

    n = 0;

    for (i = 0; i < value->len; i++) {
        n += ngx_http_totp_log_unsafe(value->data[i]);
    }

    if (n == 0) {
        return value;
    }

    escaped = ngx_palloc(pool, sizeof(ngx_str_t));
    if (escaped == NULL) {
        return &unknown;
    }

    p = ngx_pnalloc(pool, value->len + 3 * n);
    if (p == NULL) {
        return &unknown;
    }

    escaped->data = p;

    for (i = 0; i < value->len; i++) {
        c = value->data[i];

        if (ngx_http_totp_log_unsafe(c)) {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0x0f];
            continue;
        }

        *p++ = c;
    }

    escaped->len = p - escaped->data;

    return escaped;
}


static ngx_uint_t
ngx_http_totp_log_unsafe(u_char c)
{
    return c < 0x20 || c > 0x7e || c == '"' || c == '\\';
}
