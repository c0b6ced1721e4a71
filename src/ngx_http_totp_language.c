
/*
 * Accept-Language (RFC 9110, 12.5.4): a list of language ranges, each
 * with an optional weight "q=" of at most three decimals.  A range
 * matches a language when it is the language's code, or the code
 * followed by "-" and a region ("de-CH"); "*" matches any, which here is
 * English.  A weight of 0 says "not this one".  Whatever the header
 * holds, the answer is a language the pages speak.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_language.h"


/* no language: a range the pages do not speak, or a malformed one */
#define NGX_HTTP_TOTP_LANG_NONE  (NGX_HTTP_TOTP_LANGS + 1)


static u_char *ngx_http_totp_language_range(u_char *p, u_char *end,
    ngx_uint_t *lang, ngx_uint_t *q);
static ngx_uint_t ngx_http_totp_language_match(u_char *range, size_t len);
static u_char *ngx_http_totp_language_weight(u_char *p, u_char *end,
    ngx_uint_t *q);


ngx_conf_enum_t  ngx_http_totp_language_names[] = {
    { ngx_string("auto"), NGX_HTTP_TOTP_LANG_AUTO },
    { ngx_string("en"), NGX_HTTP_TOTP_LANG_EN },
    { ngx_string("fr"), NGX_HTTP_TOTP_LANG_FR },
    { ngx_string("de"), NGX_HTTP_TOTP_LANG_DE },
    { ngx_string("it"), NGX_HTTP_TOTP_LANG_IT },
    { ngx_null_string, 0 }
};


ngx_uint_t
ngx_http_totp_language(ngx_http_request_t *r, ngx_uint_t setting)
{
    u_char           *p, *end;
    ngx_uint_t        i, lang, q, best, best_q;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    if (setting != NGX_HTTP_TOTP_LANG_AUTO) {
        return setting;
    }

    best = NGX_HTTP_TOTP_LANG_EN;
    best_q = 0;

    /* the header may come several times: one list, in order */

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

        if (h[i].key.len != sizeof("Accept-Language") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept-Language",
                               sizeof("Accept-Language") - 1)
               != 0)
        {
            continue;
        }

        p = h[i].value.data;
        end = p + h[i].value.len;

        while (p < end) {
            p = ngx_http_totp_language_range(p, end, &lang, &q);

            if (lang != NGX_HTTP_TOTP_LANG_NONE && q > best_q) {
                best = lang;
                best_q = q;
            }
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "totp page: language \"%V\", q=%ui",
                   &ngx_http_totp_catalog_langs[best], best_q);

    return best;
}


/* one element of the list: p at its start, returns past its comma */

static u_char *
ngx_http_totp_language_range(u_char *p, u_char *end, ngx_uint_t *lang,
    ngx_uint_t *q)
{
    u_char  *range;

    *lang = NGX_HTTP_TOTP_LANG_NONE;
    *q = 1000;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    range = p;

    while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') {
        p++;
    }

    *lang = ngx_http_totp_language_match(range, p - range);

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p == ';') {
        p = ngx_http_totp_language_weight(p + 1, end, q);
    }

    /* whatever else the element holds is passed over */

    while (p < end && *p != ',') {
        p++;
    }

    return (p < end) ? p + 1 : end;
}


static ngx_uint_t
ngx_http_totp_language_match(u_char *range, size_t len)
{
    ngx_uint_t  i;

    if (len == 1 && range[0] == '*') {
        return NGX_HTTP_TOTP_LANG_EN;
    }

    if (len < 2 || (len > 2 && range[2] != '-')) {
        return NGX_HTTP_TOTP_LANG_NONE;
    }

    for (i = 0; i < NGX_HTTP_TOTP_LANGS; i++) {
        if (ngx_strncasecmp(range, ngx_http_totp_catalog_langs[i].data, 2)
            == 0)
        {
            return i;
        }
    }

    return NGX_HTTP_TOTP_LANG_NONE;
}


/* "q=0.8" in thousandths; a malformed weight is 0, the range refused */

static u_char *
ngx_http_totp_language_weight(u_char *p, u_char *end, ngx_uint_t *q)
{
    ngx_uint_t  n, scale;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    *q = 0;

    /* cppcheck-suppress knownConditionTrueFalse ; end is the header's */
    if (end - p < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') {
        return p;
    }

    p += 2;

    if (*p != '0' && *p != '1') {
        return p;
    }

    n = (*p++ - '0') * 1000;

    if (p < end && *p == '.') {
        p++;

        for (scale = 100; scale && p < end && *p >= '0' && *p <= '9'; p++) {
            n += (*p - '0') * scale;
            scale /= 10;
        }
    }

    if (n > 1000 || (p < end && *p != ',' && *p != ' ' && *p != '\t'
                     && *p != ';'))
    {
        return p;
    }

    *q = n;

    return p;
}
