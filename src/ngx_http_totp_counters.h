
/*
 * The module's counters, in the totp_zone shared memory, so that every
 * worker adds to the same numbers and a reload keeps them.  A leaf: any
 * file may count, nothing here calls back; ngx_http_totp_metrics.c only
 * renders them.
 */


#ifndef _NGX_HTTP_TOTP_COUNTERS_H_INCLUDED_
#define _NGX_HTTP_TOTP_COUNTERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* one counter each; the metrics page names them by families and labels */
typedef enum {
    NGX_HTTP_TOTP_SIGNIN_OK = 0,
    NGX_HTTP_TOTP_SIGNIN_FAILED,
    NGX_HTTP_TOTP_SIGNIN_LOCKED,
    NGX_HTTP_TOTP_SIGNIN_BUSY,

    NGX_HTTP_TOTP_CODE_OK,
    NGX_HTTP_TOTP_CODE_WRONG,
    NGX_HTTP_TOTP_CODE_REPLAY,
    NGX_HTTP_TOTP_CODE_MALFORMED,
    NGX_HTTP_TOTP_CODE_LOCKED,

    NGX_HTTP_TOTP_LOCKOUT_PAIR,
    NGX_HTTP_TOTP_LOCKOUT_USER,
    NGX_HTTP_TOTP_LOCKOUT_CLIENT,
    NGX_HTTP_TOTP_LOCKOUT_TRUST,

    NGX_HTTP_TOTP_PASS_SESSION,
    NGX_HTTP_TOTP_PASS_TRUSTED,
    NGX_HTTP_TOTP_PASS_VERIFIED,

    NGX_HTTP_TOTP_REFUSAL_LOGIN,
    NGX_HTTP_TOTP_REFUSAL_BAD_REQUEST,
    NGX_HTTP_TOTP_REFUSAL_FORBIDDEN,
    NGX_HTTP_TOTP_REFUSAL_LOCKED,
    NGX_HTTP_TOTP_REFUSAL_UNAVAILABLE,
    NGX_HTTP_TOTP_REFUSAL_ERROR,

    NGX_HTTP_TOTP_ENROLLMENTS,
    NGX_HTTP_TOTP_DEVICE_CHANGES,
    NGX_HTTP_TOTP_RECOVERY_CODES_USED,
    NGX_HTTP_TOTP_RECOVERY_CODE_SETS,
    NGX_HTTP_TOTP_LOGOUTS,
    NGX_HTTP_TOTP_REVOKED_BROWSER,
    NGX_HTTP_TOTP_REVOKED_EVERYWHERE,

    NGX_HTTP_TOTP_REDIS_OK,
    NGX_HTTP_TOTP_REDIS_ERROR,
    NGX_HTTP_TOTP_REDIS_TIMEOUT,
    NGX_HTTP_TOTP_REDIS_FAILED,

    NGX_HTTP_TOTP_CACHE_HIT,
    NGX_HTTP_TOTP_CACHE_MISS,
    NGX_HTTP_TOTP_CACHE_STALE,
    NGX_HTTP_TOTP_CACHE_EVICTIONS,

    NGX_HTTP_TOTP_NCOUNTERS
} ngx_http_totp_counter_e;


/* the Redis latency histogram's upper bounds, in microseconds */
#define NGX_HTTP_TOTP_LATENCY_BOUNDS                                         \
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,      \
    1000000, 2500000

#define NGX_HTTP_TOTP_NLATENCY  12

/* workers beyond this many have no connection gauge of their own */
#define NGX_HTTP_TOTP_WORKER_SLOTS  64


typedef struct {
    ngx_atomic_t                 counts[NGX_HTTP_TOTP_NCOUNTERS];

    /* commands answered within each bound, not cumulative; +Inf last */
    ngx_atomic_t                 latency[NGX_HTTP_TOTP_NLATENCY + 1];
    ngx_atomic_t                 latency_usec;

    /* by ngx_worker: 1 while that worker's connection to Redis is up */
    ngx_atomic_t                 redis_up[NGX_HTTP_TOTP_WORKER_SLOTS];
} ngx_http_totp_counters_t;


/* this process's counters (NULL: no zone, nothing is counted) */
extern ngx_http_totp_counters_t  *ngx_http_totp_counters;
extern volatile ngx_cycle_t      *ngx_http_totp_counters_cycle;

extern const ngx_uint_t  ngx_http_totp_latency_bounds[NGX_HTTP_TOTP_NLATENCY];


/*
 * The counters of cycle's zone count from now on.  Only for that cycle:
 * a reload in single-process mode (master_process off, for debugging)
 * runs no init_process and may unmap the zone, so counting stops there
 * rather than write to memory that is gone.
 */
void ngx_http_totp_counters_use(ngx_cycle_t *cycle,
    ngx_http_totp_counters_t *counters);


#define ngx_http_totp_counting()                                             \
    (ngx_http_totp_counters && ngx_cycle == ngx_http_totp_counters_cycle)


static ngx_inline void
ngx_http_totp_count(ngx_uint_t counter)
{
    if (ngx_http_totp_counting()) {
        (void) ngx_atomic_fetch_add(&ngx_http_totp_counters->counts[counter],
                                    1);
    }
}


void ngx_http_totp_count_n(ngx_uint_t counter, ngx_uint_t n);

/* a Redis command's answer, and how long it took since started */
void ngx_http_totp_count_latency(ngx_uint_t started);

/* a clock for latencies, in microseconds: not the cached, coarse one */
ngx_uint_t ngx_http_totp_counters_usec(void);

/* whether this worker's connection to Redis is up */
void ngx_http_totp_count_redis_up(ngx_uint_t up);


#endif /* _NGX_HTTP_TOTP_COUNTERS_H_INCLUDED_ */
