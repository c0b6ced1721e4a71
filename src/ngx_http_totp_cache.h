
/*
 * The revalidation cache: each user's enrollment epoch as Redis last said
 * it, in shared memory, so that all workers share one answer and a valid
 * session costs no Redis round trip per request.
 */


#ifndef _NGX_HTTP_TOTP_CACHE_H_INCLUDED_
#define _NGX_HTTP_TOTP_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_TOTP_CACHE_SIZE     (1024 * 1024)

/* as limit_req's zones: smaller, the slab allocator has no room to work */
#define NGX_HTTP_TOTP_CACHE_MIN      (8 * ngx_pagesize)


size_t ngx_http_totp_cache_ctx_size(void);
ngx_int_t ngx_http_totp_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);

/*
 * A user is a scope (where the user base's keys begin in Redis) and a
 * name.  NGX_OK with what Redis said, and when it was asked, if fresh
 * enough or if another request is asking again (for up to grace);
 * NGX_DECLINED tells the caller to ask.
 */
ngx_int_t ngx_http_totp_cache_lookup(ngx_shm_zone_t *shm_zone,
    ngx_log_t *log, ngx_str_t *scope, ngx_str_t *user, ngx_msec_t max_age,
    ngx_msec_t grace, u_char *epoch, ngx_uint_t *enrolled, time_t *checked);

/* the request asking Redis failed: the next one asks, none goes on stale */
void ngx_http_totp_cache_unask(ngx_shm_zone_t *shm_zone, ngx_log_t *log,
    ngx_str_t *scope, ngx_str_t *user);

/*
 * What Redis said when asked at checked (ngx_current_msec then).  A full
 * zone evicts the users least recently stored, and says so in log.
 */
void ngx_http_totp_cache_store(ngx_shm_zone_t *shm_zone, ngx_log_t *log,
    ngx_str_t *scope, ngx_str_t *user, ngx_uint_t enrolled, u_char *epoch,
    ngx_msec_t checked);


#endif /* _NGX_HTTP_TOTP_CACHE_H_INCLUDED_ */
