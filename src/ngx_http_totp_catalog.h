
/*
 * The messages of the pages (html/messages.en): titles, errors and
 * notices that the module chooses, as plain text with {{values}}, so
 * that totp_templates can change every word.
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
    NGX_HTTP_TOTP_MSG_STALE_FORM_HEADING,
    NGX_HTTP_TOTP_MSG_STALE_FORM,
    NGX_HTTP_TOTP_MSG_LINK_SIGN_IN,
    NGX_HTTP_TOTP_MSG_LINK_BACK,
    NGX_HTTP_TOTP_MSG_COUNT
} ngx_http_totp_msg_e;


/* no message: a page without an error, say */
#define NGX_HTTP_TOTP_MSG_NONE  NGX_HTTP_TOTP_MSG_COUNT


typedef struct {
    ngx_str_t                    text[NGX_HTTP_TOTP_MSG_COUNT];
} ngx_http_totp_catalog_t;


/*
 * Reads a catalog's bytes (data, of file) into cat: each line
 * "key: text" replaces that message; the others stay as they were.  An
 * unknown key, a line without ":" or a malformed {{tag}} fails "nginx -t"
 * with what (naming the directive), the file and the line.  data must
 * outlive cat.
 */
ngx_int_t ngx_http_totp_catalog_read(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_str_t *data, ngx_http_totp_catalog_t *cat);

/* NGX_OK when every message is there (the built-in catalog must be) */
ngx_int_t ngx_http_totp_catalog_complete(ngx_conf_t *cf, const char *what,
    ngx_str_t *file, ngx_http_totp_catalog_t *cat);

/* message id with its values, as plain text in pool's memory */
ngx_int_t ngx_http_totp_catalog_text(ngx_pool_t *pool,
    ngx_http_totp_catalog_t *cat, ngx_uint_t id, totp_render_var_t *vars,
    size_t nvars, ngx_str_t *out);


#endif /* _NGX_HTTP_TOTP_CATALOG_H_INCLUDED_ */
