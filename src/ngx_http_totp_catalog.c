
/*
 * Message catalogs: the words of the pages that the module chooses.  A
 * catalog is read at configuration time into one slot per message, so
 * that a page looks a message up by its number, and a catalog that lacks
 * one, names an unknown one or breaks a {{tag}} fails "nginx -t".
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_catalog.h"


/* in ngx_http_totp_msg_e order */
static ngx_str_t  ngx_http_totp_catalog_keys[] = {
    ngx_string("title_login"),
    ngx_string("title_verify"),
    ngx_string("title_enroll"),
    ngx_string("title_recovery"),
    ngx_string("title_reset"),
    ngx_string("title_codes"),
    ngx_string("title_logout"),
    ngx_string("title_forget"),
    ngx_string("title_change"),
    ngx_string("wrong_password"),
    ngx_string("wrong_code"),
    ngx_string("used_code"),
    ngx_string("wrong_enroll_code"),
    ngx_string("wrong_reset_code"),
    ngx_string("wrong_recovery_code"),
    ngx_string("clock_behind"),
    ngx_string("malformed_code"),
    ngx_string("malformed_recovery_code"),
    ngx_string("tries_left"),
    ngx_string("trust_ended"),
    ngx_string("trust_days"),
    ngx_string("trust_hours"),
    ngx_string("trust_minutes"),
    ngx_string("recovered_title"),
    ngx_string("recovered_heading"),
    ngx_string("recovered"),
    ngx_string("recovered_reset"),
    ngx_string("recovered_continue"),
    ngx_string("console_first_heading"),
    ngx_string("console_first"),
    ngx_string("enroll_expired_heading"),
    ngx_string("enroll_expired"),
    ngx_string("enroll_elsewhere_heading"),
    ngx_string("enroll_elsewhere"),
    ngx_string("enroll_closed_heading"),
    ngx_string("enroll_closed"),
    ngx_string("invite_needed_heading"),
    ngx_string("invite_needed"),
    ngx_string("invite_gone_heading"),
    ngx_string("invite_gone"),
    ngx_string("changed_heading"),
    ngx_string("changed"),
    ngx_string("signed_out_heading"),
    ngx_string("signed_out"),
    ngx_string("signed_out_everywhere"),
    ngx_string("forgotten_heading"),
    ngx_string("forgotten"),
    ngx_string("locked_heading"),
    ngx_string("locked"),
    ngx_string("unavailable_heading"),
    ngx_string("unavailable"),
    ngx_string("busy"),
    ngx_string("bad_user_heading"),
    ngx_string("bad_user"),
    ngx_string("not_found_heading"),
    ngx_string("not_found"),
    ngx_string("foreign_heading"),
    ngx_string("foreign"),
    ngx_string("stale_form_heading"),
    ngx_string("stale_form"),
    ngx_string("link_sign_in"),
    ngx_string("link_back")
};


ngx_int_t
ngx_http_totp_catalog_read(ngx_conf_t *cf, const char *what, ngx_str_t *file,
    ngx_str_t *data, ngx_http_totp_catalog_t *cat)
{
    u_char      *p, *end, *eol, *colon, *key_end;
    size_t       off;
    ngx_str_t    key, text;
    ngx_uint_t   line, i;

    p = data->data;
    end = data->data + data->len;
    line = 0;

    for ( /* void */ ; p < end; p = eol + 1) {
        line++;

        eol = ngx_strlchr(p, end, LF);
        if (eol == NULL) {
            eol = end;
        }

        text.data = p;
        text.len = eol - p;

        if (text.len && text.data[text.len - 1] == CR) {
            text.len--;
        }

        if (text.len == 0 || text.data[0] == '#') {
            continue;
        }

        colon = ngx_strlchr(text.data, text.data + text.len, ':');

        if (colon == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" line %ui is not \"key: text\"",
                               what, file, line);
            return NGX_ERROR;
        }

        key.data = text.data;
        key_end = colon;

        while (key_end > key.data && key_end[-1] == ' ') {
            key_end--;
        }

        key.len = key_end - key.data;

        for (i = 0; i < NGX_HTTP_TOTP_MSG_COUNT; i++) {
            if (key.len == ngx_http_totp_catalog_keys[i].len
                && ngx_strncmp(key.data, ngx_http_totp_catalog_keys[i].data,
                               key.len)
                   == 0)
            {
                break;
            }
        }

        if (i == NGX_HTTP_TOTP_MSG_COUNT) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" line %ui has an unknown key "
                               "\"%V\"", what, file, line, &key);
            return NGX_ERROR;
        }

        p = colon + 1;

        while (p < text.data + text.len && *p == ' ') {
            p++;
        }

        text.len -= p - text.data;
        text.data = p;

        if (totp_render_check(text.data, text.len, &off) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" line %ui, \"%V\", is malformed "
                               "at offset %uz", what, file, line, &key, off);
            return NGX_ERROR;
        }

        cat->text[i] = text;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_catalog_complete(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_http_totp_catalog_t *cat)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_TOTP_MSG_COUNT; i++) {
        if (cat->text[i].data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" has no \"%V\"", what, file,
                               &ngx_http_totp_catalog_keys[i]);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_catalog_text(ngx_pool_t *pool, ngx_http_totp_catalog_t *cat,
    ngx_uint_t id, totp_render_var_t *vars, size_t nvars, ngx_str_t *out)
{
    ngx_str_t  *tpl;

    if (id >= NGX_HTTP_TOTP_MSG_COUNT) {
        return NGX_ERROR;
    }

    tpl = &cat->text[id];

    out->len = totp_render_text(NULL, tpl->data, tpl->len, vars, nvars);

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    out->len = totp_render_text(out->data, tpl->data, tpl->len, vars, nvars);

    return NGX_OK;
}
