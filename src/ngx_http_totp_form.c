
/*
 * Form bodies, user names and "next": parsing and validation of what
 * clients send to the gate's pages.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_crypto.h"
#include "ngx_http_totp_form.h"


static ngx_int_t ngx_http_totp_hex_digit(u_char c);


ngx_int_t
ngx_http_totp_form_parse(u_char *body, size_t len, ngx_http_totp_form_t *form)
{
    u_char      *p, *end, *field, *eq, *amp;
    ngx_str_t    name, value, *slot;
    ngx_uint_t   i;

    static struct {
        ngx_str_t   name;
        size_t      offset;
    } fields[] = {
        { ngx_string("user"), offsetof(ngx_http_totp_form_t, user) },
        { ngx_string("password"), offsetof(ngx_http_totp_form_t, password) },
        { ngx_string("code"), offsetof(ngx_http_totp_form_t, code) },
        { ngx_string("trust"), offsetof(ngx_http_totp_form_t, trust) },
        { ngx_string("csrf"), offsetof(ngx_http_totp_form_t, csrf) },
        { ngx_string("next"), offsetof(ngx_http_totp_form_t, next) },
        { ngx_string("everywhere"),
          offsetof(ngx_http_totp_form_t, everywhere) },
        { ngx_string("saved"), offsetof(ngx_http_totp_form_t, saved) }
    };

    ngx_memzero(form, sizeof(ngx_http_totp_form_t));

    p = body;
    end = body + len;

    while (p < end) {
        field = p;

        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        p = amp + 1;

        if (amp == field) {
            continue;
        }

        eq = ngx_strlchr(field, amp, '=');

        name.data = field;
        name.len = (eq ? eq : amp) - field;

        if (eq) {
            value.data = eq + 1;
            value.len = amp - value.data;

        } else {
            ngx_str_null(&value);
        }

        if (ngx_http_totp_unescape(&name) != NGX_OK) {
            return NGX_DECLINED;
        }

        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            if (name.len == fields[i].name.len
                && ngx_strncmp(name.data, fields[i].name.data, name.len) == 0)
            {
                break;
            }
        }

        if (i == sizeof(fields) / sizeof(fields[0])) {
            continue;
        }

        slot = (ngx_str_t *) ((u_char *) form + fields[i].offset);

        /* a repeated field would leave which one counts to chance */

        if (slot->data) {
            return NGX_DECLINED;
        }

        if (ngx_http_totp_unescape(&value) != NGX_OK) {
            return NGX_DECLINED;
        }

        *slot = value;

        if (slot->data == NULL) {
            slot->data = (u_char *) "";
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_unescape(ngx_str_t *s)
{
    u_char     *src, *dst, *end;
    ngx_int_t   hi, lo;

    if (s->len == 0) {
        return NGX_OK;
    }

    src = s->data;
    dst = s->data;
    end = s->data + s->len;

    while (src < end) {

        if (*src == '+') {
            *dst++ = ' ';
            src++;
            continue;
        }

        if (*src != '%') {
            *dst++ = *src++;
            continue;
        }

        if (end - src < 3) {
            return NGX_ERROR;
        }

        hi = ngx_http_totp_hex_digit(src[1]);
        lo = ngx_http_totp_hex_digit(src[2]);

        if (hi < 0 || lo < 0) {
            return NGX_ERROR;
        }

        *dst++ = (u_char) (hi << 4 | lo);
        src += 3;
    }

    s->len = dst - s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_hex_digit(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


ngx_int_t
ngx_http_totp_form_read(ngx_http_request_t *r, ngx_http_totp_form_t *form)
{
    u_char       *body, *p;
    size_t        len;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_HTTP_BAD_REQUEST;
    }

    len = 0;

    /*
     * No form of the gate's is that large: a body that did not fit
     * client_body_buffer_size, or the limit, is a bad request (and so the
     * pages' 400 for an overlong user name holds at any length).
     */

    for (cl = r->request_body->bufs; cl; cl = cl->next) {

        if (cl->buf->in_file) {
            goto too_large;
        }

        len += cl->buf->last - cl->buf->pos;

        if (len > NGX_HTTP_TOTP_FORM_MAX) {
            goto too_large;
        }
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body;

    /* an empty buffer may have no memory at all: memcpy(p, NULL, 0) */

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }

    if (ngx_http_totp_form_parse(body, len, form) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent a malformed form");
        return NGX_HTTP_BAD_REQUEST;
    }

    return NGX_OK;

too_large:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "totp: client sent a form larger than %d bytes",
                  NGX_HTTP_TOTP_FORM_MAX);

    return NGX_HTTP_BAD_REQUEST;
}


ngx_uint_t
ngx_http_totp_user_valid(ngx_str_t *user)
{
    size_t  i;

    if (user->len == 0 || user->len > TOTP_USER_MAX) {
        return 0;
    }

    for (i = 0; i < user->len; i++) {
        if (user->data[i] < 0x20 || user->data[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


ngx_uint_t
ngx_http_totp_next_valid(ngx_str_t *next)
{
    u_char  *p;
    size_t   i;

    p = next->data;

    if (next->len == 0 || next->len > NGX_HTTP_TOTP_NEXT_MAX || p[0] != '/')
    {
        return 0;
    }

    for (i = 0; i < next->len; i++) {
        if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '\\') {
            return 0;
        }

        /*
         * Nor escaped: browsers drop tabs and line breaks from a URL, so
         * "/%09/host" decoded once more is "//host".  No path needs them.
         */

        if (p[i] == '%' && i + 2 < next->len
            && (p[i + 1] == '0' || p[i + 1] == '1'
                || (p[i + 1] == '7' && (p[i + 2] | 0x20) == 'f')))
        {
            return 0;
        }
    }

    if (next->len > 1 && p[1] == '/') {
        return 0;
    }

    if (next->len > 3 && p[1] == '%' && p[2] == '2'
        && (p[3] == 'f' || p[3] == 'F'))
    {
        return 0;
    }

    if (next->len > 3 && p[1] == '%' && p[2] == '5'
        && (p[3] == 'c' || p[3] == 'C'))
    {
        return 0;
    }

    return 1;
}


ngx_int_t
ngx_http_totp_escape(ngx_pool_t *pool, ngx_str_t *src, ngx_str_t *dst)
{
    u_char      c, *p;
    size_t      i;

    static u_char  hex[] = "0123456789ABCDEF";

    p = ngx_pnalloc(pool, 3 * src->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;

    for (i = 0; i < src->len; i++) {
        c = src->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '/')
        {
            *p++ = c;
            continue;
        }

        *p++ = '%';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xf];
    }

    dst->len = p - dst->data;

    return NGX_OK;
}
