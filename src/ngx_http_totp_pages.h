
/*
 * Shared by the pages' files: the per-request context of a page and the
 * functions one file offers the others.
 */


#ifndef _NGX_HTTP_TOTP_PAGES_H_INCLUDED_
#define _NGX_HTTP_TOTP_PAGES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_module.h"
#include "ngx_http_totp_form.h"


#define NGX_HTTP_TOTP_VARS_MAX    24

/* a recovery code's characters, without the dash shown in its middle */
#define NGX_HTTP_TOTP_CODE_LEN    10


typedef struct ngx_http_totp_page_ctx_s  ngx_http_totp_page_ctx_t;

typedef ngx_int_t (*ngx_http_totp_page_pt)(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/* whose attempt a POST is, counted before its password or code is checked */
typedef enum {
    NGX_HTTP_TOTP_GUARD_NONE = 0,
    NGX_HTTP_TOTP_GUARD_FORM,         /* the user field: login */
    NGX_HTTP_TOTP_GUARD_PRE,          /* passed the first factor */
    NGX_HTTP_TOTP_GUARD_SESSION       /* signed in */
} ngx_http_totp_guard_e;


typedef struct {
    ngx_str_t                    name;
    ngx_http_totp_page_pt        get;
    ngx_http_totp_page_pt        post;
    ngx_http_totp_guard_e        guard;
} ngx_http_totp_route_t;


/* a page shown again after a failure, with its error */
typedef ngx_int_t (*ngx_http_totp_show_pt)(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);


struct ngx_http_totp_page_ctx_s {
    ngx_http_totp_ctx_t          base;        /* first: the variables */
    ngx_http_totp_route_t       *route;
    ngx_http_totp_form_t         form;
    ngx_str_t                    next;        /* validated */

    totp_token_t                 pre;
    totp_token_t                 session;
    ngx_str_t                    user;        /* whom the page is about */

    ngx_http_totp_record_t       rec;
    ngx_str_t                    pending;
    ngx_int_t                    result;

    /* an enrollment being shown or confirmed */
    totp_alg_t                   algorithm;
    ngx_uint_t                   digits;
    time_t                       period;
    u_char                       secret[64];
    size_t                       secret_len;
    uint64_t                     step;

    totp_render_var_t            vars[NGX_HTTP_TOTP_VARS_MAX];
    ngx_uint_t                   nvars;

    ngx_str_t                    resealed;

    /* recovery codes: shown once, and their hashes for Redis */
    ngx_str_t                    codes;
    ngx_array_t                 *code_hashes;
    ngx_int_t                    codes_left;

    /* a failure being counted before its page is shown again */
    ngx_http_totp_show_pt        show;
    char                        *error;
    ngx_int_t                    settled;

    unsigned                     has_pre:1;
    unsigned                     counted:1;      /* an attempt to settle */
    unsigned                     recovered:1;
    unsigned                     codes_replaced:1;
    unsigned                     trusted:1;
    unsigned                     stale_key:1;
};


/* ngx_http_totp_pages.c: flow control shared by the flows */
ngx_int_t ngx_http_totp_pages_csrf(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t key, ngx_str_t *token);
ngx_int_t ngx_http_totp_pages_ensure_pre(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_pages_first_factor(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_pages_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_pages_go(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page);
ngx_int_t ngx_http_totp_pages_sign_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust);
ngx_int_t ngx_http_totp_pages_failed(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event, ngx_http_totp_show_pt show,
    char *error);
void ngx_http_totp_pages_succeeded(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *outcome);
ngx_int_t ngx_http_totp_pages_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust);
ngx_int_t ngx_http_totp_pages_done_error(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
void ngx_http_totp_pages_async(ngx_http_request_t *r);
void ngx_http_totp_pages_done(ngx_http_request_t *r, ngx_int_t rc);
void ngx_http_totp_pages_audit(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *event);


/* ngx_http_totp_signin.c: the flows, as routes */
ngx_int_t ngx_http_totp_signin_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_login_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_verify_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_enroll_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_reset_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_logout(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_logout_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_recovery_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_codes_post(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_signin_css(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/* ngx_http_totp_secret.c */
ngx_int_t ngx_http_totp_secret_check(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_secret_make_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_secret_code_normalize(ngx_str_t *typed,
    u_char *code);
ngx_int_t ngx_http_totp_secret_code_hash(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t key, ngx_str_t *code,
    ngx_str_t *hash);
ngx_int_t ngx_http_totp_secret_code(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_secret_unseal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, u_char *b64,
    size_t len);
ngx_int_t ngx_http_totp_secret_seal(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, const char *purpose, ngx_str_t *out);
ngx_int_t ngx_http_totp_secret_pending_parse(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);


/* ngx_http_totp_view.c */
ngx_int_t ngx_http_totp_view_show_recovery(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_show_recovered(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);
ngx_int_t ngx_http_totp_view_show_codes(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_retry_after(ngx_http_request_t *r,
    ngx_int_t seconds);
ngx_int_t ngx_http_totp_view_show_login(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_show_verify(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_show_enroll(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_show_reset(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *error);
ngx_int_t ngx_http_totp_view_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, char *heading,
    char *message);
ngx_int_t ngx_http_totp_view_url(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page, ngx_str_t *url);
ngx_int_t ngx_http_totp_view_form_vars(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page);
ngx_int_t ngx_http_totp_view_send(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_page_e page,
    ngx_uint_t status);
ngx_int_t ngx_http_totp_view_output(ngx_http_request_t *r,
    ngx_uint_t status, char *type, ngx_str_t *body);
ngx_int_t ngx_http_totp_view_headers(ngx_http_request_t *r);
ngx_int_t ngx_http_totp_view_header(ngx_http_request_t *r,
    char *name, char *value);



#endif /* _NGX_HTTP_TOTP_PAGES_H_INCLUDED_ */
