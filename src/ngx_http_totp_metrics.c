
/*
 * totp_metrics renders the counters of ngx_http_totp_counters.c; it
 * counts nothing itself.  Names and units follow Prometheus's own rules:
 * "nginx_totp_" first, "_total" on counters, seconds, and labels of a few
 * fixed values each, never a user name or an address.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "ngx_http_totp_counters.h"
#include "ngx_http_totp_version.h"
#include "ngx_http_totp_view.h"


/* a family of counters: one line per label value, in counter order */
typedef struct {
    char                        *name;
    char                        *help;
    char                        *label;      /* NULL: one unlabelled line */
    ngx_uint_t                   first;      /* its first counter */
    char                        *values[7];  /* NULL-terminated */
} ngx_http_totp_family_t;


static u_char *ngx_http_totp_metrics_render(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c);
static u_char *ngx_http_totp_metrics_latency(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c);
static u_char *ngx_http_totp_metrics_gauges(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c);


/* far more than the page takes; a page that does not fit is a 500 */
#define NGX_HTTP_TOTP_METRICS_SIZE  16384


static ngx_http_totp_family_t  ngx_http_totp_families[] = {

    { "nginx_totp_signins_total",
      "Passwords sent at sign-in, by result: right, wrong, refused by "
      "a lock, or not checked because totp_hash_concurrency hashes ran.",
      "result", NGX_HTTP_TOTP_SIGNIN_OK,
      { "ok", "failed", "locked", "busy", NULL } },

    { "nginx_totp_code_checks_total",
      "Authenticator and recovery codes checked, by result.",
      "result", NGX_HTTP_TOTP_CODE_OK,
      { "ok", "wrong", "replay", "malformed", "locked", NULL } },

    { "nginx_totp_lockouts_total",
      "Locks set, by what they hold: a user at one client, a user, "
      "a client, or a trusted browser's trust ended.",
      "kind", NGX_HTTP_TOTP_LOCKOUT_PAIR,
      { "pair", "user", "client", "trust", NULL } },

    { "nginx_totp_passes_total",
      "Requests let through: with a session, by a trusted browser, or "
      "signed in with a code.",
      "kind", NGX_HTTP_TOTP_PASS_SESSION,
      { "session", "trusted", "verified", NULL } },

    { "nginx_totp_refusals_total",
      "Requests the gate or the pages refused, by reason.",
      "reason", NGX_HTTP_TOTP_REFUSAL_LOGIN,
      { "login", "bad_request", "forbidden", "locked", "unavailable",
        "error", NULL } },

    { "nginx_totp_enrollments_total",
      "Authenticators enrolled.",
      NULL, NGX_HTTP_TOTP_ENROLLMENTS, { NULL } },

    { "nginx_totp_device_changes_total",
      "Authenticators replaced by a new device.",
      NULL, NGX_HTTP_TOTP_DEVICE_CHANGES, { NULL } },

    { "nginx_totp_recovery_codes_used_total",
      "Recovery codes used to sign in.",
      NULL, NGX_HTTP_TOTP_RECOVERY_CODES_USED, { NULL } },

    { "nginx_totp_recovery_code_sets_total",
      "Sets of recovery codes made.",
      NULL, NGX_HTTP_TOTP_RECOVERY_CODE_SETS, { NULL } },

    { "nginx_totp_logouts_total",
      "Sign-outs of one browser.",
      NULL, NGX_HTTP_TOTP_LOGOUTS, { NULL } },

    { "nginx_totp_revocations_total",
      "Revocations users made: a trusted browser forgotten, or every "
      "session and trusted browser of the user ended (sign out "
      "everywhere).",
      "scope", NGX_HTTP_TOTP_REVOKED_BROWSER,
      { "browser", "everywhere", NULL } },

    { "nginx_totp_redis_commands_total",
      "Redis commands, by result: answered, answered with an error, "
      "timed out, or failed without an answer.",
      "result", NGX_HTTP_TOTP_REDIS_OK,
      { "ok", "error", "timeout", "failed", NULL } },

    { "nginx_totp_cache_lookups_total",
      "Session revalidation cache lookups: fresh, absent, or too old.",
      "result", NGX_HTTP_TOTP_CACHE_HIT,
      { "hit", "miss", "stale", NULL } },

    { "nginx_totp_cache_evictions_total",
      "Cache entries evicted because the zone was full.",
      NULL, NGX_HTTP_TOTP_CACHE_EVICTIONS, { NULL } },

    { NULL, NULL, NULL, 0, { NULL } }
};


ngx_int_t
ngx_http_totp_metrics_handler(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_int_t   rc;
    ngx_str_t   page;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (!ngx_http_totp_counting()) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "totp: no counters: the totp_zone was not made, or "
                      "nginx was reloaded with master_process off");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.data = ngx_pnalloc(r->pool, NGX_HTTP_TOTP_METRICS_SIZE);
    if (page.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = page.data + NGX_HTTP_TOTP_METRICS_SIZE;
    p = ngx_http_totp_metrics_render(page.data, last, ngx_http_totp_counters);

    if (p == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: the metrics do not fit in %uz bytes",
                      (size_t) NGX_HTTP_TOTP_METRICS_SIZE);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    page.len = p - page.data;

    /* a scrape must see the counters of now */

    if (ngx_http_totp_view_header(r, "Cache-Control", "no-store") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_totp_view_output(r, NGX_HTTP_OK,
                                     "text/plain; version=0.0.4; "
                                     "charset=utf-8", &page);
}


/* up to last; reaching it means the page did not fit */

static u_char *
ngx_http_totp_metrics_render(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c)
{
    ngx_uint_t               i;
    ngx_http_totp_family_t  *f;

    for (f = ngx_http_totp_families; f->name; f++) {

        p = ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s counter\n",
                         f->name, f->help, f->name);

        if (f->label == NULL) {
            p = ngx_slprintf(p, last, "%s %uA\n", f->name,
                             c->counts[f->first]);
            continue;
        }

        for (i = 0; f->values[i]; i++) {
            p = ngx_slprintf(p, last, "%s{%s=\"%s\"} %uA\n", f->name,
                             f->label, f->values[i],
                             c->counts[f->first + i]);
        }
    }

    p = ngx_http_totp_metrics_latency(p, last, c);

    return ngx_http_totp_metrics_gauges(p, last, c);
}


/*
 * The buckets are counted apart and summed here: each line is at least
 * the one before, as a histogram must be, even while workers add to it.
 */

static u_char *
ngx_http_totp_metrics_latency(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c)
{
    ngx_uint_t   i, n, usec;

    static char  name[] = "nginx_totp_redis_command_duration_seconds";

    p = ngx_slprintf(p, last,
                     "# HELP %s Time from sending a Redis command to its "
                     "answer.\n# TYPE %s histogram\n", name, name);

    n = 0;

    for (i = 0; i < NGX_HTTP_TOTP_NLATENCY; i++) {
        n += c->latency[i];
        usec = ngx_http_totp_latency_bounds[i];

        p = ngx_slprintf(p, last, "%s_bucket{le=\"%ui.%06ui\"} %ui\n", name,
                         usec / 1000000, usec % 1000000, n);
    }

    n += c->latency[NGX_HTTP_TOTP_NLATENCY];
    usec = c->latency_usec;

    return ngx_slprintf(p, last,
                        "%s_bucket{le=\"+Inf\"} %ui\n"
                        "%s_sum %ui.%06ui\n"
                        "%s_count %ui\n",
                        name, n, name, usec / 1000000, usec % 1000000,
                        name, n);
}


static u_char *
ngx_http_totp_metrics_gauges(u_char *p, u_char *last,
    ngx_http_totp_counters_t *c)
{
    ngx_uint_t        i, n;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    /* the slots of this configuration's workers: a reload's new ones */

    n = ngx_min((ngx_uint_t) ccf->worker_processes,
                NGX_HTTP_TOTP_WORKER_SLOTS);

    p = ngx_slprintf(p, last,
                     "# HELP nginx_totp_redis_up Whether the worker in "
                     "this slot (not a pid) holds a working connection "
                     "to Redis.\n"
                     "# TYPE nginx_totp_redis_up gauge\n");

    /* cppcheck-suppress knownConditionTrueFalse ; it takes n for 0 */
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last, "nginx_totp_redis_up{worker=\"%ui\"} %uA\n",
                         i, c->redis_up[i]);
    }

    return ngx_slprintf(p, last,
                        "# HELP nginx_totp_build_info The module's version "
                        "and the nginx it runs in.\n"
                        "# TYPE nginx_totp_build_info gauge\n"
                        "nginx_totp_build_info{version=\""
                        NGX_HTTP_TOTP_VERSION "\",nginx=\"" NGINX_VERSION
                        "\"} 1\n");
}
