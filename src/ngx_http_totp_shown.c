
/*
 * A kept set is "WHEN REPLACED CODES" sealed (AES-256-GCM) under the
 * sealing key,
 * its additional data binding it to the user and to the session's random
 * nonce: a copy moved to another user, or read with another session's
 * cookie, does not open.  Redis holds it NGX_HTTP_TOTP_SHOWN_TTL seconds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_log.h"
#include "ngx_http_totp_otp.h"
#include "ngx_http_totp_shown.h"


static ngx_int_t ngx_http_totp_shown_aad(ngx_http_request_t *r,
    ngx_str_t *user, u_char *nonce, ngx_str_t *aad);
static void ngx_http_totp_shown_wipe(void *data);


ngx_int_t
ngx_http_totp_shown_seal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, u_char *nonce,
    ngx_http_totp_shown_t *set, ngx_str_t *sealed)
{
    u_char     *plain, *box, *p;
    size_t      n;
    ngx_int_t   rc;
    ngx_str_t   aad;

    n = NGX_TIME_T_LEN + sizeof(" 0 ") - 1 + set->codes.len;

    plain = ngx_pnalloc(r->pool, n);
    box = ngx_pnalloc(r->pool, n + TOTP_SEAL_OVERHEAD);

    if (plain == NULL || box == NULL
        || ngx_http_totp_shown_aad(r, user, nonce, &aad) != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_sprintf(plain, "%T %c ", set->when, set->replaced ? '1' : '0');
    p = ngx_cpymem(p, set->codes.data, set->codes.len);
    n = p - plain;

    rc = NGX_ERROR;

    if (totp_seal(box, mcf->keys[0].key[TOTP_KEY_SEAL], plain, n, aad.data,
                  aad.len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot seal recovery codes");
        goto done;
    }

    n += TOTP_SEAL_OVERHEAD;

    sealed->data = ngx_pnalloc(r->pool, totp_b64url_encoded_len(n));
    if (sealed->data == NULL) {
        goto done;
    }

    sealed->len = totp_b64url_encode(sealed->data, box, n);

    rc = NGX_OK;

done:

    totp_wipe(plain, p - plain);

    return rc;
}


ngx_int_t
ngx_http_totp_shown_open(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, u_char *nonce,
    ngx_str_t *sealed, ngx_http_totp_shown_t *set)
{
    u_char                *box, *plain, *p, *last;
    size_t                 n, len;
    ngx_str_t              aad;
    ngx_uint_t             i;
    ngx_pool_cleanup_t    *cln;
    const unsigned char   *key;

    if (sealed->len == 0) {
        return NGX_DECLINED;
    }

    box = ngx_pnalloc(r->pool, totp_b64url_decoded_max(sealed->len));

    if (box == NULL
        || ngx_http_totp_shown_aad(r, user, nonce, &aad) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (totp_b64url_decode(box, &n, sealed->data, sealed->len) != 0
        || n <= TOTP_SEAL_OVERHEAD)
    {
        goto malformed;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_str_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    plain = ngx_pnalloc(r->pool, n - TOTP_SEAL_OVERHEAD);
    if (plain == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null((ngx_str_t *) cln->data);
    cln->handler = ngx_http_totp_shown_wipe;

    /* one key at a time: a set kept before a key rotation still opens */

    for (i = 0; i < mcf->nkeys; i++) {
        key = mcf->keys[i].key[TOTP_KEY_SEAL];

        if (totp_unseal(plain, &len, &key, 1, box, n, aad.data, aad.len)
            == 0)
        {
            break;
        }
    }

    if (i == mcf->nkeys) {

        /* another session's set, most likely: not this one's to see */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp page: the codes kept for \"%V\" do not open "
                       "for this session",
                       ngx_http_totp_log_escape(r->pool, user));
        return NGX_DECLINED;
    }

    ((ngx_str_t *) cln->data)->data = plain;
    ((ngx_str_t *) cln->data)->len = len;

    last = plain + len;
    p = ngx_strlchr(plain, last, ' ');

    if (p == NULL || p == plain || last - p < 3
        || (p[1] != '0' && p[1] != '1') || p[2] != ' ')
    {
        goto malformed;
    }

    set->when = ngx_atotm(plain, p - plain);

    if (set->when == NGX_ERROR) {
        goto malformed;
    }

    set->replaced = (p[1] == '1');
    set->codes.data = p + 3;
    set->codes.len = last - (p + 3);

    return NGX_OK;

malformed:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "totp: malformed recovery codes kept for \"%V\" in Redis",
                  ngx_http_totp_log_escape(r->pool, user));

    return NGX_ERROR;
}


/* "shown:" NONCE ":" USER: the set is this session's and this user's */

static ngx_int_t
ngx_http_totp_shown_aad(ngx_http_request_t *r, ngx_str_t *user,
    u_char *nonce, ngx_str_t *aad)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, sizeof("shown::") - 1 + TOTP_NONCE_LEN
                             + user->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    aad->data = p;
    p = ngx_cpymem(p, "shown:", sizeof("shown:") - 1);
    p = ngx_cpymem(p, nonce, TOTP_NONCE_LEN);
    *p++ = ':';
    p = ngx_cpymem(p, user->data, user->len);
    aad->len = p - aad->data;

    return NGX_OK;
}


static void
ngx_http_totp_shown_wipe(void *data)
{
    ngx_str_t  *plain = data;

    if (plain->len) {
        totp_wipe(plain->data, plain->len);
    }
}
