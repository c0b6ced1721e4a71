
/*
 * The steps that every sign-in flow takes: the per-request context of a
 * page, who the page is about (the pre-session or the session), where it
 * leads next, signing the user in, waiting for Redis.
 */


#ifndef _NGX_HTTP_TOTP_FLOW_H_INCLUDED_
#define _NGX_HTTP_TOTP_FLOW_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_audit.h"
#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_form.h"
#include "ngx_http_totp_secret.h"
#include "ngx_http_totp_session.h"
#include "ngx_http_totp_state.h"
#include "ngx_http_totp_store.h"
#include "ngx_http_totp_view.h"


typedef struct ngx_http_totp_page_ctx_s  ngx_http_totp_page_ctx_t;

typedef ngx_int_t (*ngx_http_totp_page_pt)(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/* a page shown again after a failure, with its error */
typedef ngx_int_t (*ngx_http_totp_show_pt)(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t error);


/* whose attempt a POST is, counted before its password or code is checked */
typedef enum {
    NGX_HTTP_TOTP_GUARD_NONE = 0,
    NGX_HTTP_TOTP_GUARD_FORM,         /* the user field: login */
    NGX_HTTP_TOTP_GUARD_PRE,          /* passed the first factor */
    NGX_HTTP_TOTP_GUARD_ENROLL,       /* ... or, for a change, signed in */
    NGX_HTTP_TOTP_GUARD_SESSION       /* signed in */
} ngx_http_totp_guard_e;


struct ngx_http_totp_page_ctx_s {
    ngx_http_totp_state_t       *state;       /* what the variables show */
    ngx_http_totp_loc_conf_t    *conf;

    /* the POST's own step, and whose attempt it counts as */
    ngx_http_totp_page_pt        get;
    ngx_http_totp_page_pt        post;
    ngx_http_totp_page_pt        saved;       /* a POST of saved=1 */
    ngx_http_totp_guard_e        guard;

    ngx_http_totp_form_t         form;
    ngx_http_totp_view_t         view;

    totp_token_t                 pre;
    totp_token_t                 session;
    ngx_str_t                    user;        /* whom the page is about */

    /* the session (or trust) whose entry a fetch reads with the record */
    ngx_str_t                    field;

    ngx_http_totp_record_t       rec;
    ngx_int_t                    result;

    /* the user's password line, read by the first fetch or the check */
    ngx_http_totp_password_line_t  line;

    /* a pending secret: whose it is, and itself as Redis keeps it */
    ngx_http_totp_pending_t      who;
    ngx_str_t                    pending;
    u_char                       base[TOTP_EPOCH_LEN];

    /* an enrollment being shown or confirmed, and the step a code hit */
    ngx_http_totp_secret_t       secret;
    uint64_t                     step;
    ngx_str_t                    resealed;

    /* recovery codes: shown once, and their hashes for Redis */
    ngx_str_t                    codes;
    ngx_array_t                 *code_hashes;
    ngx_int_t                    codes_left;

    /* a sign-in being registered, and the page that follows it */
    ngx_http_totp_begin_t        begin;
    ngx_http_totp_page_pt        signed_in;

    /* the POST's attempt, and a failure's page shown once it is counted */
    ngx_http_totp_tally_t        tally;
    ngx_http_totp_show_pt        show;
    ngx_uint_t                   error;       /* a message of the catalog */
    ngx_int_t                    tries_left;  /* 1 or 2: said with error */

    /*
     * the account page's: when the user enrolled, the codes left; and the
     * recovery codes last shown, sealed, while they may be shown again
     */
    ngx_int_t                    summary[2];
    ngx_str_t                    shown;
    time_t                       shown_at;
    ngx_http_totp_store_pt       summed;

    /* a wrong code matched this many seconds ago: the device is late */
    time_t                       behind;

    unsigned                     has_pre:1;
    unsigned                     recovered:1;
    unsigned                     codes_replaced:1;
    unsigned                     trusted:1;
    unsigned                     everywhere:1;
    unsigned                     forget:1;
    unsigned                     changing:1;     /* a change of device */
    unsigned                     typed:1;        /* the password, just now */
    unsigned                     trust_ended:1;  /* said with error */
    unsigned                     stale:1;        /* a form shown again */
    unsigned                     kept:1;         /* the codes, for a while */
    unsigned                     download:1;     /* codes.txt */

    /* several gated locations send users here, and none is named */
    unsigned                     unknown:1;
};


/* a pre-session (and its CSRF nonce) for the page, made if there is none */
ngx_int_t ngx_http_totp_flow_pre(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/* NGX_OK and ctx->user set when the pre-session passed the first factor */
ngx_int_t ngx_http_totp_flow_first_factor(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * NGX_OK and ctx->user set for a session cookie that verifies; whether
 * it is live is for ngx_http_totp_flow_current() to say once fetched
 */
ngx_int_t ngx_http_totp_flow_signed_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * A form's values: where it posts, its CSRF token, next, the user, and
 * its title and error, messages of the catalog (NGX_HTTP_TOTP_MSG_NONE
 * for none).
 */
ngx_int_t ngx_http_totp_flow_form(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page, ngx_uint_t title,
    ngx_uint_t error);

/* a 302 to another page, with a pre-session naming the user if needed */
ngx_int_t ngx_http_totp_flow_go(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *page);

/*
 * Signs ctx->user in with the enrollment fetched into ctx->rec: a session,
 * and trust if the form asked for it and trust is allowed, registered in
 * Redis; then the page signed_in makes.  NGX_DONE: it goes on when Redis
 * answered; an enrollment that changed meanwhile leads to the login.
 */
ngx_int_t ngx_http_totp_flow_sign_in(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust,
    ngx_http_totp_page_pt signed_in);

/* signed in, then a 302 to where the user first wanted to go */
ngx_int_t ngx_http_totp_flow_finish(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t trust);

/* a message page: a heading and a message of the catalog */
ngx_int_t ngx_http_totp_flow_message(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_uint_t status, ngx_uint_t heading,
    ngx_uint_t message);

/*
 * The attempt's count given back, once, if it is still to be settled:
 * "first" a right password, "back" a check that judged nothing against
 * the user, "pass" a complete sign-in, which also clears the failures of
 * this client (or trusted browser) with the user, and no other's.  Redis
 * is not waited for.
 */
void ngx_http_totp_flow_give_back(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, char *outcome);

/*
 * Redis could not be asked or did not answer: a 503 page, never a pass;
 * the attempt, a fault of the server's, is not counted
 */
ngx_int_t ngx_http_totp_flow_error(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * The request now waits for Redis; and ends when its callback is done,
 * an error status giving the attempt back
 */
void ngx_http_totp_flow_async(ngx_http_request_t *r);
void ngx_http_totp_flow_done(ngx_http_request_t *r, ngx_int_t rc);

/*
 * Reads ctx->user's record into ctx->rec, with ctx->field's entry if set;
 * done goes on from there
 */
ngx_int_t ngx_http_totp_flow_fetch(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_store_pt done);

/*
 * A signed-in page's fetch, and once the session is known to be current
 * the summary (ctx->summary, ctx->shown: ngx_http_totp_store_summary());
 * summed is called with its answer.  NGX_DONE, or a status to finish.
 */
ngx_int_t ngx_http_totp_flow_summary(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_store_pt summed);

/* a 302 back to where the user first wanted to go: "next" */
ngx_int_t ngx_http_totp_flow_back(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/*
 * A signed-in page's fetch answered *rc: NGX_OK when the session is
 * still current, else NGX_DECLINED and *rc what the request ends with (a
 * 5xx, or the redirect to sign in again), for ngx_http_totp_flow_done().
 */
ngx_int_t ngx_http_totp_flow_still_current(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_int_t *rc);

/*
 * Whether ctx->session is live, by the record fetched with its entry:
 * NGX_OK, NGX_DECLINED, NGX_ERROR
 */
ngx_int_t ngx_http_totp_flow_current(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx);

/* a store callback: ctx->show once the session is found current */
void ngx_http_totp_flow_show_current(ngx_http_request_t *r, void *data,
    ngx_int_t rc);

/*
 * A security event of ctx->user: text is the error log's line, what the
 * audit log's and the counters' (ngx_http_totp_audit.c).
 */
void ngx_http_totp_flow_audit(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_audit_e what, char *text);

/* the same, for an event whose error log line its caller writes */
void ngx_http_totp_flow_event(ngx_http_request_t *r,
    ngx_http_totp_page_ctx_t *ctx, ngx_http_totp_audit_e what);


#endif /* _NGX_HTTP_TOTP_FLOW_H_INCLUDED_ */
