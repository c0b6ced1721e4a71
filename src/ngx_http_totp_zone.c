
/*
 * The totp_zone's life.  Made by the master at the first start; a reload
 * that keeps its name and size hands the same memory to the new workers,
 * so that what the cache knows and what the counters counted survive it,
 * as Prometheus expects of a counter.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_zone.h"


/* at the start of the slab pool: where each tenant's memory is */
typedef struct {
    ngx_http_totp_cache_sh_t    *cache;
    ngx_http_totp_counters_t    *counters;
} ngx_http_totp_zone_sh_t;


static ngx_int_t ngx_http_totp_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);


ngx_http_totp_zone_t *
ngx_http_totp_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size,
    void *tag)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, name, size, tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        shm_zone->data = ngx_pcalloc(cf->pool, sizeof(ngx_http_totp_zone_t));
        if (shm_zone->data == NULL) {
            return NULL;
        }
    }

    shm_zone->init = ngx_http_totp_zone_init;

    return shm_zone->data;
}


static ngx_int_t
ngx_http_totp_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_totp_zone_t *ozone = data;

    size_t                    len;
    ngx_slab_pool_t          *shpool;
    ngx_http_totp_zone_t     *zone;
    ngx_http_totp_zone_sh_t  *sh;

    zone = shm_zone->data;
    zone->cache.name = &shm_zone->shm.name;

    /* a reload keeps what the workers know and what they counted */

    if (ozone) {
        zone->cache.sh = ozone->cache.sh;
        zone->cache.shpool = ozone->cache.shpool;
        zone->counters = ozone->counters;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        sh = shpool->data;
        zone->cache.sh = sh->cache;
        zone->cache.shpool = shpool;
        zone->counters = sh->counters;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_totp_zone_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->counters = ngx_slab_calloc(shpool, sizeof(ngx_http_totp_counters_t));
    if (sh->counters == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_totp_cache_create(&zone->cache, shpool) != NGX_OK) {
        return NGX_ERROR;
    }

    sh->cache = zone->cache.sh;
    zone->counters = sh->counters;
    shpool->data = sh;

    len = sizeof(" in totp zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in totp zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full cache evicts; running out is expected, not worth a log line */

    shpool->log_nomem = 0;

    return NGX_OK;
}
