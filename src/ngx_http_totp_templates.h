
/*
 * The gate's pages: the templates built in from html/ at configure time,
 * the totp_templates directory that overrides them, and rendering a page
 * into its layout.
 */


#ifndef _NGX_HTTP_TOTP_TEMPLATES_H_INCLUDED_
#define _NGX_HTTP_TOTP_TEMPLATES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_catalog.h"
#include "ngx_http_totp_render.h"


typedef enum {
    NGX_HTTP_TOTP_PAGE_LOGIN = 0,
    NGX_HTTP_TOTP_PAGE_VERIFY,
    NGX_HTTP_TOTP_PAGE_ENROLL,
    NGX_HTTP_TOTP_PAGE_RESET,
    NGX_HTTP_TOTP_PAGE_LOGOUT,
    NGX_HTTP_TOTP_PAGE_MESSAGE,
    NGX_HTTP_TOTP_PAGE_RECOVERY,
    NGX_HTTP_TOTP_PAGE_CODES,
    NGX_HTTP_TOTP_PAGE_FORGET,
    NGX_HTTP_TOTP_PAGE_ACCOUNT,
    NGX_HTTP_TOTP_PAGE_COUNT
} ngx_http_totp_page_e;


/* the pages in one language: its catalog, and its words put in */
typedef struct {
    ngx_str_t                   layout;
    ngx_str_t                   page[NGX_HTTP_TOTP_PAGE_COUNT];
    ngx_http_totp_catalog_t     messages;
} ngx_http_totp_translation_t;


typedef struct {
    /* the pages, then the layout, as written: {{@words}} not put in */
    ngx_str_t                   source[NGX_HTTP_TOTP_PAGE_COUNT + 1];
    ngx_str_t                   css;
    ngx_http_totp_translation_t lang[NGX_HTTP_TOTP_LANGS];
} ngx_http_totp_templates_t;


/* one file of html/, as tools/embed-html writes it into the build */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   data;
} ngx_http_totp_html_file_t;

/* generated: objs/ngx_http_totp_html.c; ends with an empty name */
extern ngx_http_totp_html_file_t  ngx_http_totp_html_files[];


#define ngx_http_totp_render_str(name, str)                                  \
    { name, sizeof(name) - 1, (str)->data, (str)->len }


/*
 * The built-in set of this configuration: made in cf->pool the first time
 * and kept in *builtin, so that a broken html/ file or catalog fails
 * "nginx -t" rather than a page.  NULL on error, logged.
 */
ngx_http_totp_templates_t *ngx_http_totp_templates_builtin(ngx_conf_t *cf,
    ngx_http_totp_templates_t **builtin);

/*
 * "totp_templates dir", at configuration time: each file of html/ that dir
 * holds (layout.html, login.html, ..., style.css) replaces the built-in
 * one, and the others stay built in; each message of its messages.en,
 * messages.fr, ... replaces the built-in one of that language.  Every
 * template is checked; an error names the directive, the file and the
 * offset.  The set is allocated from cf->pool.
 */
char *ngx_http_totp_templates_load(ngx_conf_t *cf,
    ngx_http_totp_templates_t *builtin, ngx_str_t *dir,
    ngx_http_totp_templates_t **tpls);

/*
 * Renders page in lang with vars, then the layout with vars and "body",
 * the page's output, into memory from pool.  NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_totp_render_page(ngx_pool_t *pool,
    ngx_http_totp_templates_t *t, ngx_uint_t lang, ngx_http_totp_page_e page,
    totp_render_var_t *vars, size_t nvars, ngx_str_t *out);


#endif /* _NGX_HTTP_TOTP_TEMPLATES_H_INCLUDED_ */
