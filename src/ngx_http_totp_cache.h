
/*
 * The revalidation cache: whether each session is still live, as Redis
 * last said, in shared memory, so that all workers share one answer and a
 * valid session costs no Redis round trip per request.
 */


#ifndef _NGX_HTTP_TOTP_CACHE_H_INCLUDED_
#define _NGX_HTTP_TOTP_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_TOTP_CACHE_SIZE     (1024 * 1024)

/* as limit_req's zones: smaller, the slab allocator has no room to work */
#define NGX_HTTP_TOTP_CACHE_MIN      (8 * ngx_pagesize)


typedef struct ngx_http_totp_cache_sh_s  ngx_http_totp_cache_sh_t;

/* a process's view of the cache, in the totp_zone (ngx_http_totp_zone.c) */
typedef struct {
    ngx_http_totp_cache_sh_t    *sh;
    ngx_slab_pool_t             *shpool;
    ngx_str_t                   *name;        /* the zone's, for messages */
} ngx_http_totp_cache_t;


/* the cache's tree and queue, made in the zone's new slab pool */
ngx_int_t ngx_http_totp_cache_create(ngx_http_totp_cache_t *cache,
    ngx_slab_pool_t *shpool);

/*
 * Entries are keyed by the caller (a session: its user base, user and
 * id), at most NGX_HTTP_TOTP_CACHE_KEY_MAX bytes, with a hash of the key
 * that the caller chooses too (spread evenly; bytes of a random id will
 * do), and hold a verdict: live or not, as Redis said when asked at
 * "checked".
 *
 * lookup: NGX_OK and *live while the entry is younger than max_age; past
 * that, the first request to see it gets NGX_DECLINED and asks Redis,
 * and the others go on with the entry while that answer is on its way,
 * up to grace.  Never beyond max_age + grace: an entry that old is used
 * by nobody, however many askers come and go, so that a revoked session
 * stops passing by then, whatever Redis or the clients do.
 */
#define NGX_HTTP_TOTP_CACHE_KEY_MAX  512

ngx_int_t ngx_http_totp_cache_lookup(ngx_http_totp_cache_t *cache,
    ngx_log_t *log, ngx_str_t *key, uint32_t hash, ngx_msec_t max_age,
    ngx_msec_t grace, ngx_uint_t *live);

/* the request asking Redis failed: the next one asks, none goes on stale */
void ngx_http_totp_cache_unask(ngx_http_totp_cache_t *cache, ngx_log_t *log,
    ngx_str_t *key, uint32_t hash);

/*
 * What Redis said when asked at checked (ngx_current_msec then).  A full
 * zone evicts the entries least recently stored, and says so in log.
 */
void ngx_http_totp_cache_store(ngx_http_totp_cache_t *cache, ngx_log_t *log,
    ngx_str_t *key, uint32_t hash, ngx_uint_t live, ngx_msec_t checked);


#endif /* _NGX_HTTP_TOTP_CACHE_H_INCLUDED_ */
