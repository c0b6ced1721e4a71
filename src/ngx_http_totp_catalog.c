
/*
 * Message catalogs: the words of the pages in one language.  A catalog is
 * read at configuration time into one slot per message that the module
 * chooses, so that a page looks a message up by its number, and into a
 * list of the words that the templates name, which are put into them
 * before any request.  A catalog that lacks a key, names an unknown one
 * or breaks a {{tag}} fails "nginx -t".
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
    ngx_string("title_account"),
    ngx_string("codes_left"),
    ngx_string("codes_you_have"),
    ngx_string("codes_file"),
    ngx_string("codes_file_end"),
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
    ngx_string("bad_form_heading"),
    ngx_string("bad_form"),
    ngx_string("stale_form"),
    ngx_string("link_sign_in"),
    ngx_string("link_back")
};


ngx_str_t  ngx_http_totp_catalog_langs[] = {
    ngx_string("en"),
    ngx_string("fr"),
    ngx_string("de"),
    ngx_string("it")
};


static totp_render_var_t *ngx_http_totp_catalog_word(
    ngx_http_totp_catalog_t *cat, ngx_str_t *key);


ngx_int_t
ngx_http_totp_catalog_read(ngx_conf_t *cf, const char *what, ngx_str_t *file,
    ngx_str_t *data, ngx_http_totp_catalog_t *known,
    ngx_http_totp_catalog_t *cat)
{
    u_char             *p, *end, *eol, *colon, *key_end;
    size_t              off;
    ngx_str_t           key, text;
    ngx_uint_t          line, i;
    totp_render_var_t  *word;

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

        /* a key is a name that {{@key}} can say */

        /* cppcheck-suppress knownConditionTrueFalse ; colon is past data */
        for (i = 0; i < key.len; i++) {
            if ((key.data[i] < 'a' || key.data[i] > 'z')
                && key.data[i] != '_')
            {
                break;
            }
        }

        /* cppcheck-suppress knownConditionTrueFalse ; as above */
        if (key.len == 0 || i != key.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" line %ui has an unknown key "
                               "\"%V\"", what, file, line, &key);
            return NGX_ERROR;
        }

        for (i = 0; i < NGX_HTTP_TOTP_MSG_COUNT; i++) {
            if (key.len == ngx_http_totp_catalog_keys[i].len
                && ngx_strncmp(key.data, ngx_http_totp_catalog_keys[i].data,
                               key.len)
                   == 0)
            {
                break;
            }
        }

        word = NULL;

        if (i == NGX_HTTP_TOTP_MSG_COUNT) {

            /* a word: the English catalog says which there are */

            if (known && ngx_http_totp_catalog_word(known, &key) == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s \"%V\" line %ui has an unknown key "
                                   "\"%V\"", what, file, line, &key);
                return NGX_ERROR;
            }

            if (cat->words == NULL) {
                cat->words = ngx_array_create(cf->pool, 128,
                                              sizeof(totp_render_var_t));
                if (cat->words == NULL) {
                    return NGX_ERROR;
                }
            }

            word = ngx_http_totp_catalog_word(cat, &key);

            if (word == NULL) {
                word = ngx_array_push(cat->words);
                if (word == NULL) {
                    return NGX_ERROR;
                }

                word->name = (const char *) key.data;
                word->name_len = key.len;
            }
        }

        p = colon + 1;

        while (p < text.data + text.len && *p == ' ') {
            p++;
        }

        text.len -= p - text.data;
        text.data = p;

        /*
         * A text is put into pages as it is, tags and all: no markup from
         * {{{raw}}}, no word inside a word.
         */

        off = 0;

        if (totp_render_check(text.data, text.len, &off) != 0
            || totp_render_raw_only(text.data, text.len, NULL, &off) != 0
            || ngx_strnstr(text.data, "{{@", text.len) != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" line %ui, \"%V\", is malformed "
                               "at offset %uz", what, file, line, &key, off);
            return NGX_ERROR;
        }

        if (word) {
            word->value = text.data;
            word->value_len = text.len;

        } else {
            cat->text[i] = text;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_catalog_complete(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_http_totp_catalog_t *cat,
    ngx_http_totp_catalog_t *known)
{
    ngx_str_t           key;
    ngx_uint_t          i;
    totp_render_var_t  *word;

    for (i = 0; i < NGX_HTTP_TOTP_MSG_COUNT; i++) {
        if (cat->text[i].data == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" has no \"%V\"", what, file,
                               &ngx_http_totp_catalog_keys[i]);
            return NGX_ERROR;
        }
    }

    if (known == NULL || known->words == NULL) {
        return NGX_OK;
    }

    word = known->words->elts;

    for (i = 0; i < known->words->nelts; i++) {
        key.data = (u_char *) word[i].name;
        key.len = word[i].name_len;

        if (ngx_http_totp_catalog_word(cat, &key) == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s \"%V\" has no \"%V\"", what, file, &key);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_catalog_copy(ngx_pool_t *pool, ngx_http_totp_catalog_t *dst,
    ngx_http_totp_catalog_t *src)
{
    ngx_array_t  *words;

    *dst = *src;

    if (src->words == NULL) {
        return NGX_OK;
    }

    words = ngx_array_create(pool, src->words->nelts,
                             sizeof(totp_render_var_t));
    if (words == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(words->elts, src->words->elts,
               src->words->nelts * sizeof(totp_render_var_t));
    words->nelts = src->words->nelts;

    dst->words = words;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_catalog_words(ngx_pool_t *pool, ngx_http_totp_catalog_t *cat,
    totp_render_var_t **words, size_t *nwords)
{
    size_t              n;
    ngx_uint_t          i;
    totp_render_var_t  *w;

    n = NGX_HTTP_TOTP_MSG_COUNT + (cat->words ? cat->words->nelts : 0);

    w = ngx_palloc(pool, n * sizeof(totp_render_var_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_TOTP_MSG_COUNT; i++) {
        w[i].name = (const char *) ngx_http_totp_catalog_keys[i].data;
        w[i].name_len = ngx_http_totp_catalog_keys[i].len;
        w[i].value = cat->text[i].data;
        w[i].value_len = cat->text[i].len;
    }

    if (cat->words) {
        ngx_memcpy(&w[i], cat->words->elts,
                   cat->words->nelts * sizeof(totp_render_var_t));
    }

    *words = w;
    *nwords = n;

    return NGX_OK;
}


static totp_render_var_t *
ngx_http_totp_catalog_word(ngx_http_totp_catalog_t *cat, ngx_str_t *key)
{
    ngx_uint_t          i;
    totp_render_var_t  *word;

    if (cat->words == NULL) {
        return NULL;
    }

    word = cat->words->elts;

    for (i = 0; i < cat->words->nelts; i++) {
        if (word[i].name_len == key->len
            && ngx_strncmp(word[i].name, key->data, key->len) == 0)
        {
            return &word[i];
        }
    }

    return NULL;
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
