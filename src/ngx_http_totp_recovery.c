
/*
 * Recovery codes: ten characters of an alphabet without look-alikes
 * (no 0/o, 1/l/i), about 49 bits each, shown as "abcde-fghjk".  Only
 * their hashes, keyed and bound to the user, reach Redis.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_recovery.h"


static u_char  ngx_http_totp_code_alphabet[] =
    "23456789abcdefghjkmnpqrstuvwxyz";

#define NGX_HTTP_TOTP_ALPHABET   (sizeof(ngx_http_totp_code_alphabet) - 1)


ngx_int_t
ngx_http_totp_recovery_make(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_uint_t n,
    ngx_str_t *plain, ngx_array_t **hashes)
{
    u_char      *p, code[NGX_HTTP_TOTP_CODE_LEN], byte;
    ngx_str_t   *hash, one;
    ngx_uint_t   i, k;

    *hashes = ngx_array_create(r->pool, n ? n : 1, sizeof(ngx_str_t));
    if (*hashes == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(plain);

    if (n == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, n * (NGX_HTTP_TOTP_CODE_LEN + 2));
    if (p == NULL) {
        return NGX_ERROR;
    }

    plain->data = p;

    for (i = 0; i < n; i++) {

        for (k = 0; k < NGX_HTTP_TOTP_CODE_LEN; /* void */) {
            if (totp_random(&byte, 1) != 0) {
                goto failed;
            }

            /* rejection keeps every character equally likely */

            if (byte >= 256 - 256 % NGX_HTTP_TOTP_ALPHABET) {
                continue;
            }

            code[k++] = ngx_http_totp_code_alphabet[byte
                                                   % NGX_HTTP_TOTP_ALPHABET];
        }

        one.data = code;
        one.len = NGX_HTTP_TOTP_CODE_LEN;

        hash = ngx_array_push(*hashes);
        if (hash == NULL
            || ngx_http_totp_recovery_hash(r, mcf, user, 0, &one, hash)
               != NGX_OK)
        {
            goto failed;
        }

        p = ngx_cpymem(p, code, 5);
        *p++ = '-';
        p = ngx_cpymem(p, code + 5, 5);
        *p++ = '\n';
    }

    plain->len = p - plain->data - 1;

    totp_wipe(code, sizeof(code));

    return NGX_OK;

failed:

    totp_wipe(code, sizeof(code));
    totp_wipe(plain->data, n * (NGX_HTTP_TOTP_CODE_LEN + 2));
    ngx_str_null(plain);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_totp_recovery_normalize(ngx_str_t *typed, u_char *code)
{
    u_char  c;
    size_t  i, n;

    n = 0;

    for (i = 0; i < typed->len; i++) {
        c = typed->data[i];

        if (c == ' ' || c == '-') {
            continue;
        }

        c = ngx_tolower(c);

        if (n == NGX_HTTP_TOTP_CODE_LEN
            || ngx_strlchr(ngx_http_totp_code_alphabet,
                           ngx_http_totp_code_alphabet
                           + NGX_HTTP_TOTP_ALPHABET, c)
               == NULL)
        {
            return NGX_DECLINED;
        }

        code[n++] = c;
    }

    return (n == NGX_HTTP_TOTP_CODE_LEN) ? NGX_OK : NGX_DECLINED;
}


/* hex HMAC-SHA256 of code "\0" user */

ngx_int_t
ngx_http_totp_recovery_hash(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_uint_t key,
    ngx_str_t *code, ngx_str_t *hash)
{
    u_char  mac[TOTP_MAC_LEN], *msg;
    size_t  len;

    len = code->len + 1 + user->len;

    msg = ngx_pnalloc(r->pool, len);
    hash->data = ngx_pnalloc(r->pool, 2 * TOTP_MAC_LEN);

    if (msg == NULL || hash->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(msg, code->data, code->len);
    msg[code->len] = '\0';
    ngx_memcpy(msg + code->len + 1, user->data, user->len);

    if (totp_hmac_sha256(mcf->keys[key].key[TOTP_KEY_RECOVERY], TOTP_KEY_LEN,
                         msg, len, mac)
        != 0)
    {
        totp_wipe(msg, len);
        return NGX_ERROR;
    }

    totp_wipe(msg, len);

    hash->len = ngx_hex_dump(hash->data, mac, TOTP_MAC_LEN) - hash->data;

    return NGX_OK;
}
