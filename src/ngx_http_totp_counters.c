
/*
 * The counters themselves.  Atomic adds on shared memory: no lock, no
 * allocation, nothing that can fail, so that counting never changes what
 * a request gets.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_counters.h"


ngx_http_totp_counters_t  *ngx_http_totp_counters;
volatile ngx_cycle_t      *ngx_http_totp_counters_cycle;

const ngx_uint_t  ngx_http_totp_latency_bounds[NGX_HTTP_TOTP_NLATENCY] = {
    NGX_HTTP_TOTP_LATENCY_BOUNDS
};


void
ngx_http_totp_counters_use(ngx_cycle_t *cycle,
    ngx_http_totp_counters_t *counters)
{
    ngx_http_totp_counters = counters;
    ngx_http_totp_counters_cycle = cycle;
}


void
ngx_http_totp_count_n(ngx_uint_t counter, ngx_uint_t n)
{
    if (ngx_http_totp_counting() && n) {
        (void) ngx_atomic_fetch_add(&ngx_http_totp_counters->counts[counter],
                                    n);
    }
}


void
ngx_http_totp_count_latency(ngx_uint_t started)
{
    ngx_uint_t                 i, usec;
    ngx_http_totp_counters_t  *c;

    if (!ngx_http_totp_counting()) {
        return;
    }

    c = ngx_http_totp_counters;

    usec = ngx_http_totp_counters_usec() - started;

    for (i = 0; i < NGX_HTTP_TOTP_NLATENCY; i++) {
        if (usec <= ngx_http_totp_latency_bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&c->latency[i], 1);
    (void) ngx_atomic_fetch_add(&c->latency_usec, usec);
}


ngx_uint_t
ngx_http_totp_counters_usec(void)
{
    struct timespec  ts;

    /* a clock that NTP's steps cannot send backwards */

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }

    return (ngx_uint_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


void
ngx_http_totp_count_redis_up(ngx_uint_t up)
{
    if (ngx_http_totp_counting() && ngx_worker < NGX_HTTP_TOTP_WORKER_SLOTS) {
        ngx_http_totp_counters->redis_up[ngx_worker] = up;
    }
}
