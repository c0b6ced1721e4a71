
/*
 * A user's secret while a request holds it.  At rest it is sealed
 * (AES-256-GCM) and bound to its purpose and its user, so that a pending
 * secret never passes for a confirmed one, nor one user's for another's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_log.h"
#include "ngx_http_totp_secret.h"


static ngx_int_t ngx_http_totp_secret_shape(ngx_str_t *code, u_char *digits,
    ngx_uint_t n);
static ngx_int_t ngx_http_totp_secret_aad(ngx_http_request_t *r,
    ngx_str_t *user, const char *purpose, ngx_str_t *aad);


ngx_int_t
ngx_http_totp_secret_make(ngx_http_totp_loc_conf_t *conf,
    ngx_http_totp_secret_t *s)
{
    s->algorithm = conf->algorithm;
    s->digits = conf->digits;
    s->period = conf->period;
    s->len = totp_alg_key_len(s->algorithm);
    s->stale = 0;

    if (s->len == 0 || s->len > NGX_HTTP_TOTP_SECRET_MAX
        || totp_random(s->key, s->len) != 0)
    {
        totp_wipe(s->key, sizeof(s->key));
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * "123 456", "123-456": the digits alone into digits[], NGX_OK when they
 * are as many as the code has
 */

static ngx_int_t
ngx_http_totp_secret_shape(ngx_str_t *code, u_char *digits, ngx_uint_t n)
{
    u_char  c;
    size_t  i, len;

    len = 0;

    for (i = 0; i < code->len; i++) {
        c = code->data[i];

        if (c == ' ' || c == '\t' || c == '-') {
            continue;
        }

        if (c < '0' || c > '9' || len == n) {
            return NGX_DECLINED;
        }

        digits[len++] = c;
    }

    return (len == n) ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_secret_code(ngx_http_request_t *r, ngx_http_totp_secret_t *s,
    ngx_uint_t skew, ngx_str_t *code, uint64_t *step, time_t *behind)
{
    int         rc;
    u_char      digits[TOTP_DIGITS_MAX];
    uint64_t    now, matched;
    ngx_uint_t  back;

    *behind = 0;

    if (totp_time_step(ngx_time(), s->period, &now) != 0
        || s->digits > TOTP_DIGITS_MAX)
    {
        return NGX_ERROR;
    }

    if (ngx_http_totp_secret_shape(code, digits, s->digits) != NGX_OK) {
        totp_wipe(digits, sizeof(digits));
        return NGX_HTTP_TOTP_CODE_MALFORMED;
    }

    rc = totp_window_check(s->algorithm, s->key, s->len, s->digits, now,
                           skew, (char *) digits, s->digits, step);

    /*
     * A wrong code may be one from a phone whose clock is late, the most
     * common cause: the steps just before the window, up to 240 and two
     * hours, say by how much.  A refused code costs that many HMACs more.
     */

    if (rc == 0) {
        back = (ngx_uint_t) ngx_min(TOTP_BEHIND_MAX, 7200 / s->period);

        if (back) {
            rc = totp_behind_check(s->algorithm, s->key, s->len, s->digits,
                                   now, skew, back, (char *) digits,
                                   s->digits, &matched);

            if (rc == 1) {
                *behind = (time_t) ((now - matched) * s->period);
                rc = 0;
            }
        }
    }

    totp_wipe(digits, sizeof(digits));

    if (rc < 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: code check failed");
        return NGX_ERROR;
    }

    return rc == 1 ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_secret_check(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user,
    ngx_http_totp_record_t *rec, ngx_str_t *code, uint64_t *step,
    ngx_str_t *resealed, time_t *behind)
{
    ngx_int_t               rc;
    ngx_http_totp_secret_t  s;

    if (ngx_http_totp_secret_unseal(r, conf->main, user, "secret",
                                    rec->secret.data, rec->secret.len, &s)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    s.algorithm = rec->algorithm;
    s.digits = rec->digits;
    s.period = rec->period;

    rc = ngx_http_totp_secret_code(r, &s, conf->skew, code, step, behind);

    if (rc == NGX_OK && s.stale
        && ngx_http_totp_secret_seal(r, conf->main, user, "secret", &s,
                                     resealed)
           != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    totp_wipe(&s, sizeof(ngx_http_totp_secret_t));

    return rc;
}


ngx_int_t
ngx_http_totp_secret_unseal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, const char *purpose,
    u_char *b64, size_t len, ngx_http_totp_secret_t *s)
{
    u_char                sealed[NGX_HTTP_TOTP_SECRET_MAX
                                 + TOTP_SEAL_OVERHEAD];
    size_t                n;
    ngx_str_t             aad;
    ngx_uint_t            i;
    const unsigned char  *keys[2];

    if (totp_b64url_decoded_max(len) > sizeof(sealed)
        || totp_b64url_decode(sealed, &n, b64, len) != 0
        || n < TOTP_SEAL_OVERHEAD
        || n - TOTP_SEAL_OVERHEAD > sizeof(s->key))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: malformed sealed %s of user \"%V\" in Redis",
                      purpose, ngx_http_totp_log_escape(r->pool, user));
        return NGX_ERROR;
    }

    if (ngx_http_totp_secret_aad(r, user, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    for (i = 0; i < mcf->nkeys; i++) {
        keys[i] = mcf->keys[i].key[TOTP_KEY_SEAL];
    }

    /* one key at a time: a secret the previous key opens is resealed */

    for (i = 0; i < mcf->nkeys; i++) {
        if (totp_unseal(s->key, &s->len, &keys[i], 1, sealed, n, aad.data,
                        aad.len)
            == 0)
        {
            break;
        }
    }

    s->stale = (i > 0);

    if (i == mcf->nkeys) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: the %s of user \"%V\" does not open with the "
                      "configured keys", purpose,
                      ngx_http_totp_log_escape(r->pool, user));
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_secret_seal(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, const char *purpose,
    ngx_http_totp_secret_t *s, ngx_str_t *out)
{
    u_char     sealed[NGX_HTTP_TOTP_SECRET_MAX + TOTP_SEAL_OVERHEAD];
    size_t     n;
    ngx_str_t  aad;

    if (ngx_http_totp_secret_aad(r, user, purpose, &aad) != NGX_OK) {
        return NGX_ERROR;
    }

    if (totp_seal(sealed, mcf->keys[0].key[TOTP_KEY_SEAL], s->key, s->len,
                  aad.data, aad.len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot seal a secret");
        return NGX_ERROR;
    }

    n = s->len + TOTP_SEAL_OVERHEAD;

    out->data = ngx_pnalloc(r->pool, totp_b64url_encoded_len(n));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = totp_b64url_encode(out->data, sealed, n);

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_secret_aad(ngx_http_request_t *r, ngx_str_t *user,
    const char *purpose, ngx_str_t *aad)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(purpose);

    p = ngx_pnalloc(r->pool, len + 1 + user->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    aad->data = p;
    p = ngx_cpymem(p, purpose, len);
    *p++ = ':';
    p = ngx_cpymem(p, user->data, user->len);
    aad->len = p - aad->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_secret_pending(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user,
    ngx_http_totp_secret_t *s, ngx_str_t *pending)
{
    u_char     *p;
    ngx_str_t   sealed;

    if (ngx_http_totp_secret_seal(r, mcf, user, "enroll", s, &sealed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("1.sha512.8.3600.") + sealed.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    pending->data = p;
    pending->len = ngx_sprintf(p, "1.%s.%ui.%T.%V",
                               totp_alg_name(s->algorithm), s->digits,
                               s->period, &sealed)
                   - p;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_secret_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, ngx_str_t *user, ngx_str_t *pending,
    ngx_http_totp_secret_t *s)
{
    u_char      *p, *end, *field[5];
    size_t       len[5];
    ngx_int_t    n;
    ngx_uint_t   i;

    p = pending->data;
    end = p + pending->len;

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
        || totp_alg_parse((char *) field[1], len[1], &s->algorithm) != 0)
    {
        goto invalid;
    }

    n = ngx_atoi(field[2], len[2]);
    if (n != 6 && n != 8) {
        goto invalid;
    }

    s->digits = n;

    n = ngx_atoi(field[3], len[3]);
    if (n < 1 || n > 3600) {
        goto invalid;
    }

    s->period = n;

    return ngx_http_totp_secret_unseal(r, mcf, user, "enroll", field[4],
                                       len[4], s);

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "totp: malformed pending enrollment of user \"%V\" "
                  "in Redis", ngx_http_totp_log_escape(r->pool, user));

    return NGX_ERROR;
}
