
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
