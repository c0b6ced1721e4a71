
/*
 * The audit log.  Written the way access_log writes: a file opened by
 * nginx's cycle (ngx_conf_open_file), so that USR1 reopens it with the
 * other logs and the workers' user may write it, or a syslog peer
 * through nginx's own syslog client.  A line is written whole with one
 * write(2) to a file opened O_APPEND, so that lines of several workers
 * never interleave.  Every value a client could have chosen goes through
 * totp_json_escape(); a line that cannot be made or written is said in
 * the error log, and the request goes on as it would have.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_audit.h"
#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_json.h"


struct ngx_http_totp_audit_log_s {
    ngx_str_t                    name;       /* as written, for messages */
    ngx_open_file_t             *file;
    ngx_syslog_peer_t           *syslog;
    ngx_http_complex_value_t    *filter;     /* if=; NULL: always */
    ngx_int_t                    request_id; /* $request_id's index */
    time_t                       failed;     /* the last write that failed */
};


/* what each ngx_http_totp_audit_e writes, and the counters it adds to */
typedef struct {
    ngx_str_t                    event;
    ngx_str_t                    reason;     /* empty: null */
    ngx_uint_t                   success;
    ngx_int_t                    counts[2];  /* -1: none */
} ngx_http_totp_audit_kind_t;


static ngx_uint_t ngx_http_totp_audit_wanted(ngx_http_request_t *r,
    ngx_http_totp_audit_log_t *log);
static void ngx_http_totp_audit_write(ngx_http_request_t *r,
    ngx_http_totp_audit_log_t *log, u_char *line, size_t len);
static size_t ngx_http_totp_audit_len(ngx_str_t *value);
static u_char *ngx_http_totp_audit_value(u_char *p, ngx_str_t *key,
    ngx_str_t *value);


#define ngx_http_totp_audit_kind(event, reason, success, count, count2)      \
    { ngx_string(event), ngx_string(reason), success, { count, count2 } }

#define NGX_HTTP_TOTP_SUCCESS    1
#define NGX_HTTP_TOTP_FAILURE    0
#define NGX_HTTP_TOTP_UNCOUNTED  (-1)


/* in the order of ngx_http_totp_audit_e */
static ngx_http_totp_audit_kind_t  ngx_http_totp_audit_kinds[] = {
    ngx_http_totp_audit_kind("enrolled", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_ENROLLMENTS, NGX_HTTP_TOTP_CODE_OK),
    ngx_http_totp_audit_kind("enrolled", "invitation", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_ENROLLMENTS, NGX_HTTP_TOTP_CODE_OK),
    ngx_http_totp_audit_kind("verified", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_CODE_OK, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "password", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_SIGNIN_FAILED, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "code", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_CODE_WRONG, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "replay", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_CODE_REPLAY, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "recovery_code", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_CODE_WRONG, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "malformed", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_CODE_MALFORMED, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "locked", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_SIGNIN_LOCKED, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "locked", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_CODE_LOCKED, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "not_invited", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_REFUSAL_FORBIDDEN, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "enrollment_off", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_REFUSAL_FORBIDDEN, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("failed", "invitation_gone", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_REFUSAL_FORBIDDEN, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("locked", "pair", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_LOCKOUT_PAIR, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("locked", "user", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_LOCKOUT_USER, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("locked", "client", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_LOCKOUT_CLIENT, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("locked", "trust", NGX_HTTP_TOTP_FAILURE,
        NGX_HTTP_TOTP_LOCKOUT_TRUST, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("recovery_used", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_RECOVERY_CODES_USED, NGX_HTTP_TOTP_CODE_OK),
    ngx_http_totp_audit_kind("codes_made", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_RECOVERY_CODE_SETS, NGX_HTTP_TOTP_CODE_OK),
    ngx_http_totp_audit_kind("codes_made", "enrolled", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_RECOVERY_CODE_SETS, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("device_change_started", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_CODE_OK, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("device_change_started", "recovered",
        NGX_HTTP_TOTP_SUCCESS, NGX_HTTP_TOTP_UNCOUNTED,
        NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("device_changed", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_DEVICE_CHANGES, NGX_HTTP_TOTP_CODE_OK),
    ngx_http_totp_audit_kind("revoked", "browser", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_REVOKED_BROWSER, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("logout", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_LOGOUTS, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("logout", "everywhere", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_REVOKED_EVERYWHERE, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("trusted_pass", "", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_PASS_TRUSTED, NGX_HTTP_TOTP_UNCOUNTED),
    ngx_http_totp_audit_kind("invited", "opened", NGX_HTTP_TOTP_SUCCESS,
        NGX_HTTP_TOTP_UNCOUNTED, NGX_HTTP_TOTP_UNCOUNTED)
};


/* the values a line holds, after time and event, by their keys */
#define NGX_HTTP_TOTP_AUDIT_NVALUES  8

static ngx_str_t  ngx_http_totp_audit_keys[NGX_HTTP_TOTP_AUDIT_NVALUES] = {
    ngx_string(",\"user\":"),
    ngx_string(",\"client\":"),
    ngx_string(",\"client_key\":"),
    ngx_string(",\"realm\":"),
    ngx_string(",\"server\":"),
    ngx_string(",\"location\":"),
    ngx_string(",\"request_id\":"),
    ngx_string(",\"user_agent\":")
};

static ngx_str_t  ngx_http_totp_audit_reason = ngx_string(",\"reason\":");

/* bytes of a value, before escaping; more are cut ("truncated": true) */
#define NGX_HTTP_TOTP_AUDIT_VALUE_MAX  256


/* a failed write is said at most this often, in seconds */
#define NGX_HTTP_TOTP_AUDIT_WARN  60

/* "2026-12-02T15:04:05.123Z" */
#define NGX_HTTP_TOTP_AUDIT_TIME_LEN                                         \
    (sizeof("1970-01-01T00:00:00.000Z") - 1)


char *
ngx_http_totp_audit_set_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t                          *value, s, name;
    ngx_http_totp_audit_log_t         **field, *log;
    ngx_http_compile_complex_value_t    ccv;

    static ngx_str_t  request_id = ngx_string("request_id");

    field = (ngx_http_totp_audit_log_t **) (p + cmd->offset);

    if (*field != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no \"if=\" with \"off\"";
        }

        *field = NULL;
        return NGX_CONF_OK;
    }

    log = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_audit_log_t));
    if (log == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strncmp(value[1].data, "syslog:", 7) == 0) {
        log->syslog = ngx_pcalloc(cf->pool, sizeof(ngx_syslog_peer_t));
        if (log->syslog == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_syslog_process_conf(cf, log->syslog) != NGX_CONF_OK) {
            /* nginx's own line says what is wrong; this one, where */
            return "has an invalid syslog destination";
        }

    } else {
        if (ngx_http_script_variables_count(&value[1])) {
            return "takes a file name without variables: the audit log "
                   "is one file, opened when nginx starts";
        }

        log->file = ngx_conf_open_file(cf->cycle, &value[1]);
        if (log->file == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    name = value[1];

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "if=", 3) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" of \"%V\": "
                               "only \"if=\" is known", &value[2],
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        s.len = value[2].len - 3;
        s.data = value[2].data + 3;

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &s;
        ccv.complex_value = ngx_palloc(cf->pool,
                                       sizeof(ngx_http_complex_value_t));
        if (ccv.complex_value == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        log->filter = ccv.complex_value;

        name.len = value[1].len + 1 + value[2].len;
        name.data = ngx_pnalloc(cf->pool, name.len);
        if (name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(name.data, "%V %V", &value[1], &value[2]);
    }

    log->name = name;

    log->request_id = ngx_http_get_variable_index(cf, &request_id);
    if (log->request_id == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    *field = log;

    return NGX_CONF_OK;
}



void
ngx_http_totp_audit(ngx_http_request_t *r, ngx_http_totp_audit_log_t *log,
    ngx_str_t *realm, ngx_str_t *location, ngx_http_totp_audit_event_t *ev)
{
    u_char                      *line, *p;
    size_t                       len;
    ngx_uint_t                   i, cut;
    ngx_tm_t                     tm;
    ngx_str_t                    v[NGX_HTTP_TOTP_AUDIT_NVALUES];
    ngx_time_t                  *tp;
    ngx_http_variable_value_t   *vv;
    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_totp_audit_kind_t  *kind;

    kind = &ngx_http_totp_audit_kinds[ev->what];

    for (i = 0; i < 2; i++) {
        if (kind->counts[i] != NGX_HTTP_TOTP_UNCOUNTED) {
            ngx_http_totp_count(kind->counts[i]);
        }
    }

    if (log == NULL || !ngx_http_totp_audit_wanted(r, log)) {
        return;
    }

    /* in the order of ngx_http_totp_audit_keys; empty writes null */

    ngx_memzero(v, sizeof(v));

    if (ev->user) {
        v[0] = *ev->user;
    }

    v[1] = r->connection->addr_text;

    if (ev->client_key) {
        v[2] = *ev->client_key;
    }

    v[3] = *realm;

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
    v[4] = cscf->server_name.len ? cscf->server_name : r->headers_in.server;

    v[5] = *location;

    vv = ngx_http_get_indexed_variable(r, log->request_id);

    if (vv && !vv->not_found) {
        v[6].data = vv->data;
        v[6].len = vv->len;
    }

    if (r->headers_in.user_agent) {
        v[7] = r->headers_in.user_agent->value;
    }

    /*
     * A client's value is cut, not left out: a line of a few KB at most
     * fits a syslog message, and a long User-Agent cannot fill the disk
     * six times as fast as it is sent.
     */

    cut = 0;
    len = sizeof("{\"time\":\"\",\"event\":\"\",\"outcome\":\"failure\","
                 "\"reason\":,\"codes_left\":,\"truncated\":true}") - 1
          + NGX_HTTP_TOTP_AUDIT_TIME_LEN + kind->event.len
          + ngx_http_totp_audit_len(&kind->reason) + NGX_INT_T_LEN + 1;

    for (i = 0; i < NGX_HTTP_TOTP_AUDIT_NVALUES; i++) {
        if (v[i].len > NGX_HTTP_TOTP_AUDIT_VALUE_MAX) {
            v[i].len = NGX_HTTP_TOTP_AUDIT_VALUE_MAX;
            cut = 1;
        }

        len += ngx_http_totp_audit_keys[i].len
               + ngx_http_totp_audit_len(&v[i]);
    }

    if (log->syslog) {
        /* syslog's PRI and HEADER, as access_log counts them */
        len += sizeof("<255>Jan 01 00:00:00 ") - 1
               + ngx_cycle->hostname.len + 1 + log->syslog->tag.len + 2;
    }

    line = ngx_pnalloc(r->pool, len);
    if (line == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: no memory for an audit log line of %uz bytes",
                      len);
        return;
    }

    p = line;

    if (log->syslog) {
        p = ngx_syslog_add_header(log->syslog, p);
    }

    /* the time to the millisecond, in UTC: no zone to get wrong */

    tp = ngx_timeofday();
    ngx_gmtime(tp->sec, &tm);

    p = ngx_sprintf(p, "{\"time\":\"%4d-%02d-%02dT%02d:%02d:%02d.%03MZ\","
                    "\"event\":\"%V\"",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                    tp->msec, &kind->event);

    for (i = 0; i < NGX_HTTP_TOTP_AUDIT_NVALUES; i++) {
        p = ngx_http_totp_audit_value(p, &ngx_http_totp_audit_keys[i],
                                      &v[i]);
    }

    p = ngx_sprintf(p, ",\"outcome\":\"%s\"",
                    kind->success ? "success" : "failure");

    p = ngx_http_totp_audit_value(p, &ngx_http_totp_audit_reason,
                                  &kind->reason);

    if (ev->codes_left >= 0) {
        p = ngx_sprintf(p, ",\"codes_left\":%i", ev->codes_left);
    }

    if (cut) {
        p = ngx_cpymem(p, ",\"truncated\":true",
                       sizeof(",\"truncated\":true") - 1);
    }

    *p++ = '}';

    if (log->file) {
        *p++ = LF;
    }

    ngx_http_totp_audit_write(r, log, line, p - line);
}


/* if=: an empty value or "0" skips the line, as in access_log */

static ngx_uint_t
ngx_http_totp_audit_wanted(ngx_http_request_t *r,
    ngx_http_totp_audit_log_t *log)
{
    ngx_str_t  val;

    if (log->filter == NULL) {
        return 1;
    }

    if (ngx_http_complex_value(r, log->filter, &val) != NGX_OK) {
        /* written rather than lost: the condition could not be known */
        return 1;
    }

    return !(val.len == 0 || (val.len == 1 && val.data[0] == '0'));
}


static void
ngx_http_totp_audit_write(ngx_http_request_t *r,
    ngx_http_totp_audit_log_t *log, u_char *line, size_t len)
{
    ssize_t    n;
    ngx_err_t  err;

    if (log->file) {
        n = ngx_write_fd(log->file->fd, line, len);
        err = (n == -1) ? ngx_errno : 0;

    } else {
        n = ngx_syslog_send(log->syslog, line, len);
        err = (n == -1) ? ngx_socket_errno : 0;
    }

    if ((size_t) n == len) {
        return;
    }

    /* a full disk or a dead syslog is said once a minute, not per event */

    if (ngx_time() - log->failed < NGX_HTTP_TOTP_AUDIT_WARN) {
        return;
    }

    log->failed = ngx_time();

    if (n == -1) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, err,
                      "totp: could not write to the audit log \"%V\"",
                      &log->name);

    } else {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: wrote only %z of %uz bytes to the audit log "
                      "\"%V\"", n, len, &log->name);
    }
}


/* a value as JSON: a string with its quotes, or null */

static size_t
ngx_http_totp_audit_len(ngx_str_t *value)
{
    if (value == NULL || value->len == 0) {
        return sizeof("null") - 1;
    }

    return 2 + totp_json_escape_len(value->data, value->len);
}


static u_char *
ngx_http_totp_audit_value(u_char *p, ngx_str_t *key, ngx_str_t *value)
{
    p = ngx_cpymem(p, key->data, key->len);

    if (value == NULL || value->len == 0) {
        return ngx_cpymem(p, "null", sizeof("null") - 1);
    }

    *p++ = '"';
    p = totp_json_escape(p, value->data, value->len);
    *p++ = '"';

    return p;
}
