
/*
 * What the pages send: a template filled with its values, the headers the
 * pages carry, messages, redirects.
 */


#ifndef _NGX_HTTP_TOTP_VIEW_H_INCLUDED_
#define _NGX_HTTP_TOTP_VIEW_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_catalog.h"
#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_render.h"
#include "ngx_http_totp_templates.h"


#define NGX_HTTP_TOTP_VARS_MAX    24


/* a page being made: its settings, where it leads next, its values */
typedef struct {
    ngx_http_totp_loc_conf_t    *conf;
    ngx_str_t                    path;        /* the pages' prefix */
    ngx_str_t                    next;        /* validated; "/" at least */
    ngx_uint_t                   lang;        /* ngx_http_totp_lang_e */

    totp_render_var_t            vars[NGX_HTTP_TOTP_VARS_MAX];
    ngx_uint_t                   nvars;
} ngx_http_totp_view_t;


/* value is not copied: it must live as long as the request */
void ngx_http_totp_view_var(ngx_http_totp_view_t *v, const char *name,
    u_char *value, size_t len);

/* the catalog of the page's language */
#define ngx_http_totp_view_catalog(v)                                        \
    (&(v)->conf->templates->lang[(v)->lang].messages)

/* message id, without values, as plain text in the request's pool */
ngx_int_t ngx_http_totp_view_text(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_uint_t id, ngx_str_t *text);

/* the message id of the location's catalog, as a value of the page */
ngx_int_t ngx_http_totp_view_say(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, const char *name, ngx_uint_t id);

/*
 * Message id with a count: {{NAME}} is n, and {{one}} is set when n is
 * one, for the plural; the text goes to out.
 */
ngx_int_t ngx_http_totp_view_count(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_uint_t id, const char *name, ngx_int_t n,
    ngx_str_t *out);

/* the path of page (NULL: the prefix), with "?next=" unless next is "/" */
ngx_int_t ngx_http_totp_view_url(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, char *page, ngx_str_t *url);

/* a form's values, replacing any: action, csrf, next, user */
ngx_int_t ngx_http_totp_view_form(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, char *page, ngx_str_t *csrf, ngx_str_t *user);

/* "trust_for": "30 days", "12 hours", or nothing when trust is off */
ngx_int_t ngx_http_totp_view_trust_for(ngx_http_request_t *r,
    ngx_http_totp_view_t *v);

/*
 * t as a date, "2026-12-03", and as a time, "14:30 UTC": the same in every
 * language, and the server knows no time zone of the user's
 */
ngx_int_t ngx_http_totp_view_date(ngx_http_request_t *r, time_t t,
    ngx_str_t *out);
ngx_int_t ngx_http_totp_view_time(ngx_http_request_t *r, time_t t,
    ngx_str_t *out);

/* totp_issuer, else the server's name, else the Host */
ngx_int_t ngx_http_totp_view_issuer(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *issuer);

/* page with the values and the layout's, the pages' headers, status */
ngx_int_t ngx_http_totp_view_send(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_http_totp_page_e page, ngx_uint_t status);

/*
 * The message page: heading and message ids (message may be
 * NGX_HTTP_TOTP_MSG_NONE), or a text made already, and a link to sign in.
 */
ngx_int_t ngx_http_totp_view_message(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_uint_t status, ngx_uint_t heading,
    ngx_uint_t message);
ngx_int_t ngx_http_totp_view_message_text(ngx_http_request_t *r,
    ngx_http_totp_view_t *v, ngx_uint_t status, ngx_uint_t heading,
    ngx_str_t *message);

ngx_int_t ngx_http_totp_view_output(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_str_t *body);
ngx_int_t ngx_http_totp_view_headers(ngx_http_request_t *r);
ngx_int_t ngx_http_totp_view_header(ngx_http_request_t *r, char *name,
    char *value);
/* a response header of value, not copied; NULL when memory ran out */
ngx_table_elt_t *ngx_http_totp_view_push(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_totp_view_retry_after(ngx_http_request_t *r,
    ngx_int_t seconds);

/*
 * A refusal's status with a small page of its own, sent: 302 (after
 * ngx_http_totp_view_redirect), 400, 401, 403, 503; any other status is
 * sent as 500.
 */
ngx_int_t ngx_http_totp_view_refusal(ngx_http_request_t *r,
    ngx_uint_t status);

/* a 302 to location; returns the status for the caller to finalize with */
ngx_int_t ngx_http_totp_view_redirect(ngx_http_request_t *r,
    ngx_str_t *location);


#endif /* _NGX_HTTP_TOTP_VIEW_H_INCLUDED_ */
