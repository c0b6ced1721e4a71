
/*
 * The audit log (totp_audit_log): one JSON object per line for each
 * security event, to a file or to syslog, and the counters each event
 * adds to.  The error log's short line for the event is its caller's.
 */


#ifndef _NGX_HTTP_TOTP_AUDIT_H_INCLUDED_
#define _NGX_HTTP_TOTP_AUDIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* what happened: each names its event, its reason and what it counts */
typedef enum {
    NGX_HTTP_TOTP_AUDIT_ENROLLED = 0,
    NGX_HTTP_TOTP_AUDIT_ENROLLED_INVITED,
    NGX_HTTP_TOTP_AUDIT_VERIFIED,
    NGX_HTTP_TOTP_AUDIT_WRONG_PASSWORD,
    NGX_HTTP_TOTP_AUDIT_WRONG_CODE,
    NGX_HTTP_TOTP_AUDIT_REPLAYED_CODE,
    NGX_HTTP_TOTP_AUDIT_WRONG_RECOVERY_CODE,
    NGX_HTTP_TOTP_AUDIT_MALFORMED_CODE,
    NGX_HTTP_TOTP_AUDIT_LOCKED_SIGNIN,
    NGX_HTTP_TOTP_AUDIT_LOCKED_CODE,
    NGX_HTTP_TOTP_AUDIT_NOT_INVITED,
    NGX_HTTP_TOTP_AUDIT_ENROLL_OFF,
    NGX_HTTP_TOTP_AUDIT_INVITATION_GONE,
    NGX_HTTP_TOTP_AUDIT_LOCK_PAIR,
    NGX_HTTP_TOTP_AUDIT_LOCK_USER,
    NGX_HTTP_TOTP_AUDIT_LOCK_CLIENT,
    NGX_HTTP_TOTP_AUDIT_LOCK_TRUST,
    NGX_HTTP_TOTP_AUDIT_RECOVERY_USED,
    NGX_HTTP_TOTP_AUDIT_CODES_MADE,
    NGX_HTTP_TOTP_AUDIT_CODES_SHOWN,
    NGX_HTTP_TOTP_AUDIT_CHANGE_STARTED,
    NGX_HTTP_TOTP_AUDIT_CHANGE_RECOVERED,
    NGX_HTTP_TOTP_AUDIT_DEVICE_CHANGED,
    NGX_HTTP_TOTP_AUDIT_BROWSER_FORGOTTEN,
    NGX_HTTP_TOTP_AUDIT_LOGOUT,
    NGX_HTTP_TOTP_AUDIT_LOGOUT_EVERYWHERE,
    NGX_HTTP_TOTP_AUDIT_TRUSTED_PASS,
    NGX_HTTP_TOTP_AUDIT_INVITATION_OPENED
} ngx_http_totp_audit_e;


typedef struct ngx_http_totp_audit_log_s  ngx_http_totp_audit_log_t;


typedef struct {
    ngx_http_totp_audit_e        what;
    ngx_str_t                   *user;        /* NULL or empty: nobody */
    ngx_str_t                   *client_key;  /* NULL or empty: not known */
    ngx_int_t                    codes_left;  /* -1: not said */
} ngx_http_totp_audit_event_t;


/* "totp_audit_log path|syslog:...|off [if=condition]" */
char *ngx_http_totp_audit_set_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Counts the event and writes it to log (NULL: no audit log).  realm and
 * location are the gated location's, whose settings the event is under.
 */
void ngx_http_totp_audit(ngx_http_request_t *r, ngx_http_totp_audit_log_t *log,
    ngx_str_t *realm, ngx_str_t *location, ngx_http_totp_audit_event_t *ev);


#endif /* _NGX_HTTP_TOTP_AUDIT_H_INCLUDED_ */
