
/*
 * The totp_zone: one slab pool in shared memory that holds the
 * revalidation cache and the counters, and its life across reloads.
 */


#ifndef _NGX_HTTP_TOTP_ZONE_H_INCLUDED_
#define _NGX_HTTP_TOTP_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_cache.h"
#include "ngx_http_totp_counters.h"


/* what a process knows of the zone: shm_zone->data */
typedef struct {
    ngx_http_totp_cache_t        cache;
    ngx_http_totp_counters_t    *counters;
} ngx_http_totp_zone_t;


/* the zone named name of size bytes, for the cycle cf configures; tag is
 * the module that owns it */
ngx_http_totp_zone_t *ngx_http_totp_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size, void *tag);


#endif /* _NGX_HTTP_TOTP_ZONE_H_INCLUDED_ */
