
/*
 * The words of the pages, one catalog per language (html/messages.en,
 * .fr, .de, .it): the messages that the module chooses (titles, errors,
 * notices), as plain text with {{values}}, and the pages' own words,
 * which the templates name as {{@key}}.  totp_templates can change every
 * one of them.
 */


#ifndef _NGX_HTTP_TOTP_CATALOG_H_INCLUDED_
#define _NGX_HTTP_TOTP_CATALOG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_render.h"


/* in ngx_http_totp_catalog_keys[] order */
typedef enum {
    NGX_HTTP_TOTP_MSG_TITLE_LOGIN = 0,
    NGX_HTTP_TOTP_MSG_TITLE_VERIFY,
    NGX_HTTP_TOTP_MSG_TITLE_ENROLL,
    NGX_HTTP_TOTP_MSG_TITLE_RECOVERY,
    NGX_HTTP_TOTP_MSG_TITLE_RESET,
    NGX_HTTP_TOTP_MSG_TITLE_CODES,
    NGX_HTTP_TOTP_MSG_TITLE_LOGOUT,
    NGX_HTTP_TOTP_MSG_TITLE_FORGET,
    NGX_HTTP_TOTP_MSG_TITLE_CHANGE,
    NGX_HTTP_TOTP_MSG_TITLE_ACCOUNT,
    NGX_HTTP_TOTP_MSG_CODES_LEFT,
    NGX_HTTP_TOTP_MSG_CODES_YOU_HAVE,
    NGX_HTTP_TOTP_MSG_CODES_FILE,
    NGX_HTTP_TOTP_MSG_CODES_FILE_END,
    NGX_HTTP_TOTP_MSG_WRONG_PASSWORD,
    NGX_HTTP_TOTP_MSG_WRONG_CODE,
    NGX_HTTP_TOTP_MSG_USED_CODE,
    NGX_HTTP_TOTP_MSG_WRONG_ENROLL_CODE,
    NGX_HTTP_TOTP_MSG_WRONG_RESET_CODE,
    NGX_HTTP_TOTP_MSG_WRONG_RECOVERY_CODE,
    NGX_HTTP_TOTP_MSG_CLOCK_BEHIND,
    NGX_HTTP_TOTP_MSG_MALFORMED_CODE,
    NGX_HTTP_TOTP_MSG_MALFORMED_RECOVERY_CODE,
    NGX_HTTP_TOTP_MSG_TRIES_LEFT,
    NGX_HTTP_TOTP_MSG_TRUST_ENDED,
    NGX_HTTP_TOTP_MSG_TRUST_DAYS,
    NGX_HTTP_TOTP_MSG_TRUST_HOURS,
    NGX_HTTP_TOTP_MSG_TRUST_MINUTES,
    NGX_HTTP_TOTP_MSG_RECOVERED_TITLE,
    NGX_HTTP_TOTP_MSG_RECOVERED_HEADING,
    NGX_HTTP_TOTP_MSG_RECOVERED,
    NGX_HTTP_TOTP_MSG_RECOVERED_RESET,
    NGX_HTTP_TOTP_MSG_RECOVERED_CONTINUE,
    NGX_HTTP_TOTP_MSG_CONSOLE_FIRST_HEADING,
    NGX_HTTP_TOTP_MSG_CONSOLE_FIRST,
    NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED_HEADING,
    NGX_HTTP_TOTP_MSG_ENROLL_EXPIRED,
    NGX_HTTP_TOTP_MSG_ENROLL_ELSEWHERE_HEADING,
    NGX_HTTP_TOTP_MSG_ENROLL_ELSEWHERE,
    NGX_HTTP_TOTP_MSG_ENROLL_CLOSED_HEADING,
    NGX_HTTP_TOTP_MSG_ENROLL_CLOSED,
    NGX_HTTP_TOTP_MSG_INVITE_NEEDED_HEADING,
    NGX_HTTP_TOTP_MSG_INVITE_NEEDED,
    NGX_HTTP_TOTP_MSG_INVITE_GONE_HEADING,
    NGX_HTTP_TOTP_MSG_INVITE_GONE,
    NGX_HTTP_TOTP_MSG_CHANGED_HEADING,
    NGX_HTTP_TOTP_MSG_CHANGED,
    NGX_HTTP_TOTP_MSG_SIGNED_OUT_HEADING,
    NGX_HTTP_TOTP_MSG_SIGNED_OUT,
    NGX_HTTP_TOTP_MSG_SIGNED_OUT_EVERYWHERE,
    NGX_HTTP_TOTP_MSG_FORGOTTEN_HEADING,
    NGX_HTTP_TOTP_MSG_FORGOTTEN,
    NGX_HTTP_TOTP_MSG_LOCKED_HEADING,
    NGX_HTTP_TOTP_MSG_LOCKED,
    NGX_HTTP_TOTP_MSG_UNAVAILABLE_HEADING,
    NGX_HTTP_TOTP_MSG_UNAVAILABLE,
    NGX_HTTP_TOTP_MSG_BUSY,
    NGX_HTTP_TOTP_MSG_BAD_USER_HEADING,
    NGX_HTTP_TOTP_MSG_BAD_USER,
    NGX_HTTP_TOTP_MSG_NOT_FOUND_HEADING,
    NGX_HTTP_TOTP_MSG_NOT_FOUND,
    NGX_HTTP_TOTP_MSG_FOREIGN_HEADING,
    NGX_HTTP_TOTP_MSG_FOREIGN,
    NGX_HTTP_TOTP_MSG_BAD_FORM_HEADING,
    NGX_HTTP_TOTP_MSG_BAD_FORM,
    NGX_HTTP_TOTP_MSG_STALE_FORM,
    NGX_HTTP_TOTP_MSG_LINK_SIGN_IN,
    NGX_HTTP_TOTP_MSG_LINK_BACK,
    NGX_HTTP_TOTP_MSG_COUNT
} ngx_http_totp_msg_e;


/* no message: a page without an error, say */
#define NGX_HTTP_TOTP_MSG_NONE  NGX_HTTP_TOTP_MSG_COUNT


/* the languages of the pages, in ngx_http_totp_catalog_langs[] order */
typedef enum {
    NGX_HTTP_TOTP_LANG_EN = 0,
    NGX_HTTP_TOTP_LANG_FR,
    NGX_HTTP_TOTP_LANG_DE,
    NGX_HTTP_TOTP_LANG_IT,
    NGX_HTTP_TOTP_LANGS
} ngx_http_totp_lang_e;


typedef struct {
    ngx_str_t                    text[NGX_HTTP_TOTP_MSG_COUNT];

    /* the pages' own words: totp_render_var_t, one per key, in file order */
    ngx_array_t                 *words;
} ngx_http_totp_catalog_t;


/* "en", "fr", ...: the codes of the languages, as in Accept-Language */
extern ngx_str_t  ngx_http_totp_catalog_langs[];


/*
 * Reads a catalog's bytes (data, of file) into cat: each line
 * "key: text" replaces that message or word; the others stay as they
 * were.  A word must be one of known's (the English catalog); when known
 * is NULL, the catalog read is the English one, and any new key is a
 * word.  An unknown key, a line without ":" or a malformed {{tag}} fails
 * "nginx -t" with what (naming the directive), the file and the line.
 * data must outlive cat; cat's words are allocated from cf->pool.
 */
ngx_int_t ngx_http_totp_catalog_read(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_str_t *data, ngx_http_totp_catalog_t *known,
    ngx_http_totp_catalog_t *cat);

/*
 * NGX_OK when every message is there, and every word of known (NULL:
 * none); each built-in catalog must be complete.
 */
ngx_int_t ngx_http_totp_catalog_complete(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_http_totp_catalog_t *cat,
    ngx_http_totp_catalog_t *known);

/* dst becomes a copy of src whose words can be replaced on their own */
ngx_int_t ngx_http_totp_catalog_copy(ngx_pool_t *pool,
    ngx_http_totp_catalog_t *dst, ngx_http_totp_catalog_t *src);

/*
 * Every message and word of cat by its key, as totp_render_words() takes
 * them, in pool's memory.
 */
ngx_int_t ngx_http_totp_catalog_words(ngx_pool_t *pool,
    ngx_http_totp_catalog_t *cat, totp_render_var_t **words,
    size_t *nwords);

/* message id with its values, as plain text in pool's memory */
ngx_int_t ngx_http_totp_catalog_text(ngx_pool_t *pool,
    ngx_http_totp_catalog_t *cat, ngx_uint_t id, totp_render_var_t *vars,
    size_t nvars, ngx_str_t *out);


#endif /* _NGX_HTTP_TOTP_CATALOG_H_INCLUDED_ */
