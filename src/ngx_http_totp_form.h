
/*
 * What the gate reads from clients: the form fields of its pages, user
 * names and the "next" address.  Everything here is attacker-controlled.
 */


#ifndef _NGX_HTTP_TOTP_FORM_H_INCLUDED_
#define _NGX_HTTP_TOTP_FORM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* far more than the longest legitimate form: user, password, code, next */
#define NGX_HTTP_TOTP_FORM_MAX   8192

#define NGX_HTTP_TOTP_NEXT_MAX   2048


typedef struct {
    ngx_str_t   user;
    ngx_str_t   password;
    ngx_str_t   code;
    ngx_str_t   trust;
    ngx_str_t   csrf;
    ngx_str_t   next;
    ngx_str_t   everywhere;
    ngx_str_t   saved;
} ngx_http_totp_form_t;


/*
 * Parses an application/x-www-form-urlencoded body into form, decoding in
 * place.  NGX_OK, or NGX_DECLINED for a malformed body (bad escapes, a
 * field given twice).  Unknown fields are ignored.
 */
ngx_int_t ngx_http_totp_form_parse(u_char *body, size_t len,
    ngx_http_totp_form_t *form);

/* decodes "+" and %XX in place; NGX_ERROR on a malformed escape */
ngx_int_t ngx_http_totp_unescape(ngx_str_t *s);

/* the request body read so far, parsed; NGX_HTTP_* status on failure */
ngx_int_t ngx_http_totp_form_read(ngx_http_request_t *r,
    ngx_http_totp_form_t *form);

/* 1 when user is 1..TOTP_USER_MAX bytes without control characters */
ngx_uint_t ngx_http_totp_user_valid(ngx_str_t *user);

/*
 * 1 when next is an absolute path on this site: "/" first, not "//" or
 * "/\" (browsers read both as another host), only printable ASCII without
 * spaces or backslashes (browsers escape the rest themselves), no escaped
 * control characters, and no escaped slash or backslash right after the
 * first "/": nothing that a later decoding could turn into "//".
 */
ngx_uint_t ngx_http_totp_next_valid(ngx_str_t *next);

/* percent-encodes all but RFC 3986 unreserved characters and "/" */
ngx_int_t ngx_http_totp_escape(ngx_pool_t *pool, ngx_str_t *src,
    ngx_str_t *dst);


#endif /* _NGX_HTTP_TOTP_FORM_H_INCLUDED_ */
