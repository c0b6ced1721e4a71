
/*
 * Forms posted from elsewhere.  The Origin header, when a browser sends
 * one, must name this host; the CSRF token must be the MAC of the nonce
 * of the pre-session cookie that the same browser holds.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_csrf.h"
#include "ngx_http_totp_log.h"


/* base64url of an HMAC-SHA256 truncated to 16 bytes */
#define NGX_HTTP_TOTP_CSRF_LEN    22


static ngx_uint_t ngx_http_totp_csrf_header(ngx_http_request_t *r,
    char *name, ngx_str_t *value);


/*
 * Only the host part is compared, since a TLS-terminating proxy in front
 * of nginx changes the scheme nginx sees.
 */

ngx_int_t
ngx_http_totp_csrf_origin(ngx_http_request_t *r)
{
    u_char      *p, *end;
    ngx_str_t    origin, host, site;
    ngx_uint_t   n;

    n = ngx_http_totp_csrf_header(r, "Origin", &origin);

    if (n == 0) {
        return NGX_OK;
    }

    if (n > 1) {
        goto foreign;
    }

    /*
     * Under "Referrer-Policy: no-referrer", which the pages send,
     * Chromium sends "Origin: null" even for a form of the page's own;
     * Sec-Fetch-Site, which no page can set, then says whether it was.
     * The CSRF token is checked all the same.
     */

    if (origin.len == 4 && ngx_strncmp(origin.data, "null", 4) == 0) {
        if (ngx_http_totp_csrf_header(r, "Sec-Fetch-Site", &site) == 1
            && site.len == sizeof("same-origin") - 1
            && ngx_strncasecmp(site.data, (u_char *) "same-origin",
                               sizeof("same-origin") - 1)
               == 0)
        {
            return NGX_OK;
        }

        goto foreign;
    }

    if (r->headers_in.host == NULL) {
        goto foreign;
    }

    host = r->headers_in.host->value;

    p = origin.data;
    end = origin.data + origin.len;

    if (origin.len > sizeof("https://") - 1
        && ngx_strncasecmp(p, (u_char *) "https://", sizeof("https://") - 1)
           == 0)
    {
        p += sizeof("https://") - 1;

    } else if (origin.len > sizeof("http://") - 1
               && ngx_strncasecmp(p, (u_char *) "http://",
                                  sizeof("http://") - 1)
                  == 0)
    {
        p += sizeof("http://") - 1;

    } else {
        goto foreign;
    }

    if ((size_t) (end - p) == host.len
        && ngx_strncasecmp(p, host.data, host.len) == 0)
    {
        return NGX_OK;
    }

foreign:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: form posted from foreign origin \"%V\"",
                  ngx_http_totp_log_escape(r->pool, &origin));

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_csrf_navigation(ngx_http_request_t *r)
{
    ngx_str_t   mode;
    ngx_uint_t  n;

    n = ngx_http_totp_csrf_header(r, "Sec-Fetch-Mode", &mode);

    if (n == 0
        || (n == 1 && mode.len == sizeof("navigate") - 1
            && ngx_strncasecmp(mode.data, (u_char *) "navigate",
                               sizeof("navigate") - 1)
               == 0))
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: the recovery codes are shown to a page only, not "
                  "to a \"%V\" request",
                  ngx_http_totp_log_escape(r->pool, &mode));

    return NGX_DECLINED;
}


/* how many times the request has the header; value: the last one */

static ngx_uint_t
ngx_http_totp_csrf_header(ngx_http_request_t *r, char *name,
    ngx_str_t *value)
{
    size_t            len;
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    len = ngx_strlen(name);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            *value = h[i].value;
            n++;
        }
    }

    return n;
}


ngx_int_t
ngx_http_totp_csrf_token(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, totp_token_t *pre, ngx_uint_t key,
    ngx_str_t *token)
{
    u_char  mac[TOTP_MAC_LEN];

    token->data = ngx_pnalloc(r->pool, NGX_HTTP_TOTP_CSRF_LEN + 2);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    if (totp_hmac_sha256(mcf->keys[key].key[TOTP_KEY_CSRF], TOTP_KEY_LEN,
                         pre->nonce, TOTP_NONCE_LEN, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    token->len = totp_b64url_encode(token->data, mac, 16);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_csrf_check(ngx_http_request_t *r,
    ngx_http_totp_main_conf_t *mcf, totp_token_t *pre, ngx_str_t *posted)
{
    ngx_str_t   token;
    ngx_uint_t  i;

    /* a form shown before a key rotation still carries a valid token */

    for (i = 0; i < mcf->nkeys; i++) {
        if (ngx_http_totp_csrf_token(r, mcf, pre, i, &token) != NGX_OK) {
            return NGX_ERROR;
        }

        if (posted->len == token.len
            && totp_memeq(posted->data, token.data, token.len))
        {
            return NGX_OK;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: form posted with a wrong CSRF token");

    return NGX_DECLINED;
}
