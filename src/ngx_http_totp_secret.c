
/*
 * A user's secret while a page holds it: opened from its sealed form in
 * Redis, checked against a code, sealed again.  The plaintext lives in
 * the page's context only, and is wiped by the caller after use.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_pages.h"


static ngx_int_t ngx_http_totp_secret_aad(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, ngx_str_t *aad);


/*
 * The typed code against the enrolled secret in ctx->rec: NGX_OK and
 * ctx->step set (and ctx->resealed, when only the previous key opened
 * the secret), NGX_DECLINED for a wrong code, NGX_ERROR.  The secret is
 * wiped either way.
 */

ngx_int_t
ngx_http_totp_secret_check(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_http_totp_secret_unseal(r, ctx, "secret", ctx->rec.secret.data,
                                    ctx->rec.secret.len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->algorithm = ctx->rec.algorithm;
    ctx->digits = ctx->rec.digits;
    ctx->period = ctx->rec.period;

    rc = ngx_http_totp_secret_code(r, ctx);

    if (rc == NGX_OK && ctx->stale_key
        && ngx_http_totp_secret_seal(r, ctx, "secret", &ctx->resealed)
           != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    totp_wipe(ctx->secret, sizeof(ctx->secret));

    return rc;
}


/*
 * NGX_OK and ctx->step set, NGX_DECLINED for a wrong code, NGX_ERROR.
 * The caller wipes ctx->secret: a failed enrollment shows it again.
 */

ngx_int_t
ngx_http_totp_secret_code(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx)
{
    int       rc;
    uint64_t  now;

    if (totp_time_step(ngx_time(), ctx->period, &now) != 0) {
        return NGX_ERROR;
    }

    if (ctx->form.code.data == NULL) {
        return NGX_DECLINED;
    }

    rc = totp_window_check(ctx->algorithm, ctx->secret, ctx->secret_len,
                           ctx->digits, now, ctx->base.conf->skew,
                           (char *) ctx->form.code.data, ctx->form.code.len,
                           &ctx->step);

    if (rc < 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: code check failed");
        return NGX_ERROR;
    }

    return rc == 1 ? NGX_OK : NGX_DECLINED;
}


/* opens a sealed secret (base64url) into ctx->secret */

ngx_int_t
ngx_http_totp_secret_unseal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, u_char *b64,
    size_t len)
{
    u_char                      sealed[64 + TOTP_SEAL_OVERHEAD];
    size_t                      n;
    ngx_str_t                   aad;
    ngx_uint_t                  i;
    const unsigned char        *keys[2];
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (totp_b64url_decoded_max(len) > sizeof(sealed)
        || totp_b64url_decode(sealed, &n, b64, len) != 0
        || n < TOTP_SEAL_OVERHEAD
        || n - TOTP_SEAL_OVERHEAD > sizeof(ctx->secret))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: malformed sealed %s of user \"%V\" in Redis",
                      purpose, &ctx->user);
        return NGX_ERROR;
    }

    if (ngx_http_totp_secret_aad(r, ctx, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < mcf->nkeys; i++) {
        keys[i] = mcf->keys[i].key[TOTP_KEY_SEAL];
    }

    /* one key at a time: a secret the previous key opens is resealed */

    for (i = 0; i < mcf->nkeys; i++) {
        if (totp_unseal(ctx->secret, &ctx->secret_len, &keys[i], 1, sealed,
                        n, aad.data, aad.len)
            == 0)
        {
            break;
        }
    }

    ctx->stale_key = (i > 0);

    if (i == mcf->nkeys) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: the %s of user \"%V\" does not open with the "
                      "configured keys", purpose, &ctx->user);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* seals ctx->secret into base64url text, under the current key */

ngx_int_t
ngx_http_totp_secret_seal(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    const char *purpose, ngx_str_t *out)
{
    u_char                      sealed[64 + TOTP_SEAL_OVERHEAD];
    size_t                      n;
    ngx_str_t                   aad;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    if (ngx_http_totp_secret_aad(r, ctx, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    if (totp_seal(sealed, mcf->keys[0].key[TOTP_KEY_SEAL], ctx->secret,
                  ctx->secret_len, aad.data, aad.len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot seal a secret");
        return NGX_ERROR;
    }

    n = ctx->secret_len + TOTP_SEAL_OVERHEAD;

    out->data = ngx_pnalloc(r->pool, totp_b64url_encoded_len(n));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = totp_b64url_encode(out->data, sealed, n);

    return NGX_OK;
}


/*
 * What a sealed secret is bound to: its purpose and its user, so that a
 * pending secret never passes for a confirmed one, nor one user's secret
 * for another's.
 */

static ngx_int_t
ngx_http_totp_secret_aad(ngx_http_request_t *r, ngx_http_totp_page_ctx_t *ctx,
    const char *purpose, ngx_str_t *aad)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(purpose);

    p = ngx_pnalloc(r->pool, len + 1 + ctx->user.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    aad->data = p;
    p = ngx_cpymem(p, purpose, len);
    *p++ = ':';
    p = ngx_cpymem(p, ctx->user.data, ctx->user.len);
    aad->len = p - aad->data;

    return NGX_OK;
}


/* "1.ALG.DIGITS.PERIOD.SEALED", as ngx_http_totp_signin_enroll() made it */

ngx_int_t
ngx_http_totp_secret_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char      *p, *end, *field[5];
    size_t       len[5];
    ngx_int_t    n;
    ngx_uint_t   i;

    p = ctx->pending.data;
    end = p + ctx->pending.len;

    for (i = 0; i < 5; i++) {
        field[i] = p;

        p = (i < 4) ? ngx_strlchr(p, end, '.') : end;
        if (p == NULL) {
            goto invalid;
        }

        len[i] = p - field[i];
        p++;
    }

    if (len[0] != 1 || field[0][0] != '1'
        || totp_alg_parse((char *) field[1], len[1], &ctx->algorithm) != 0)
    {
        goto invalid;
    }

    n = ngx_atoi(field[2], len[2]);
    if (n != 6 && n != 8) {
        goto invalid;
    }

    ctx->digits = n;

    n = ngx_atoi(field[3], len[3]);
    if (n < 1 || n > 3600) {
        goto invalid;
    }

    ctx->period = n;

    return ngx_http_totp_secret_unseal(r, ctx, "enroll", field[4], len[4]);

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "totp: malformed pending enrollment of user \"%V\" "
                  "in Redis", &ctx->user);

    return NGX_ERROR;
}


/*
 * Recovery codes: ten characters of an alphabet without look-alikes
 * (no 0/o, 1/l/i), about 49 bits each, shown as "abcde-fghjk".  Only
 * their hashes, keyed and bound to the user, reach Redis.
 */

static u_char  ngx_http_totp_code_alphabet[] =
    "23456789abcdefghjkmnpqrstuvwxyz";

#define NGX_HTTP_TOTP_ALPHABET   (sizeof(ngx_http_totp_code_alphabet) - 1)


ngx_int_t
ngx_http_totp_secret_make_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx)
{
    u_char      *p, code[NGX_HTTP_TOTP_CODE_LEN], byte;
    ngx_str_t   *hash, plain;
    ngx_uint_t   i, k, n;

    n = ctx->base.conf->recovery_codes;

    ctx->code_hashes = ngx_array_create(r->pool, n ? n : 1,
                                        sizeof(ngx_str_t));
    if (ctx->code_hashes == NULL) {
        return NGX_ERROR;
    }

    ngx_str_null(&ctx->codes);

    if (n == 0) {
        return NGX_OK;
    }

    /* "abcde-fghjk\n" each; the page shows them as they are */

    p = ngx_pnalloc(r->pool, n * (NGX_HTTP_TOTP_CODE_LEN + 2));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->codes.data = p;

    for (i = 0; i < n; i++) {

        for (k = 0; k < NGX_HTTP_TOTP_CODE_LEN; /* void */) {
            if (totp_random(&byte, 1) != 0) {
                return NGX_ERROR;
            }

            /* rejection keeps every character equally likely */

            if (byte >= 256 - 256 % NGX_HTTP_TOTP_ALPHABET) {
                continue;
            }

            code[k++] = ngx_http_totp_code_alphabet[byte
                                                   % NGX_HTTP_TOTP_ALPHABET];
        }

        plain.data = code;
        plain.len = NGX_HTTP_TOTP_CODE_LEN;

        hash = ngx_array_push(ctx->code_hashes);
        if (hash == NULL
            || ngx_http_totp_secret_code_hash(r, ctx, 0, &plain, hash)
               != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = ngx_cpymem(p, code, 5);
        *p++ = '-';
        p = ngx_cpymem(p, code + 5, 5);
        *p++ = '\n';
    }

    ctx->codes.len = p - ctx->codes.data - 1;

    totp_wipe(code, sizeof(code));

    return NGX_OK;
}


/*
 * A typed recovery code as stored: lower case, without the spaces and
 * dashes people add; NGX_DECLINED when it cannot be one of ours.
 */

ngx_int_t
ngx_http_totp_secret_code_normalize(ngx_str_t *typed, u_char *code)
{
    u_char      c;
    size_t      i, n;

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


/* hex HMAC-SHA256 of code "\0" user, under key (0: current) */

ngx_int_t
ngx_http_totp_secret_code_hash(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t key, ngx_str_t *code,
    ngx_str_t *hash)
{
    u_char                      mac[TOTP_MAC_LEN], *msg;
    size_t                      len;
    ngx_http_totp_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    len = code->len + 1 + ctx->user.len;

    msg = ngx_pnalloc(r->pool, len);
    hash->data = ngx_pnalloc(r->pool, 2 * TOTP_MAC_LEN);

    if (msg == NULL || hash->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(msg, code->data, code->len);
    msg[code->len] = '\0';
    ngx_memcpy(msg + code->len + 1, ctx->user.data, ctx->user.len);

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
