
/*
 * The revalidation cache: a red-black tree of keys in a slab pool, with
 * the least recently stored entries evicted first when it is full.  An
 * entry is never trusted beyond the age its reader allows, and an answer
 * that was overtaken by a newer one is dropped.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_totp_cache.h"
#include "ngx_http_totp_counters.h"


struct ngx_http_totp_cache_sh_s {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;      /* least recently stored last */

    time_t                       warned;     /* the last "zone is full" */
};


typedef struct {
    ngx_queue_t                  queue;
    ngx_msec_t                   checked;
    ngx_msec_t                   asking;      /* a refresh asked Redis */
    u_char                       asking_set;
    u_char                       live;
    u_short                      len;
    u_char                       name[1];
} ngx_http_totp_cache_entry_t;


static void ngx_http_totp_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_totp_cache_entry_t *ngx_http_totp_cache_find(
    ngx_http_totp_cache_t *cache, ngx_str_t *key, uint32_t hash);
static ngx_uint_t ngx_http_totp_cache_evict(ngx_http_totp_cache_t *cache,
    ngx_uint_t n);


/* a full zone is said at most this often, in seconds */
#define NGX_HTTP_TOTP_CACHE_WARN     60


#define ngx_http_totp_cache_entry(node)                                      \
    ((ngx_http_totp_cache_entry_t *) ((u_char *) (node)                      \
                                      + sizeof(ngx_rbtree_node_t)))


ngx_int_t
ngx_http_totp_cache_create(ngx_http_totp_cache_t *cache,
    ngx_slab_pool_t *shpool)
{
    cache->shpool = shpool;

    cache->sh = ngx_slab_calloc(shpool, sizeof(ngx_http_totp_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_totp_cache_rbtree_insert_value);

    ngx_queue_init(&cache->sh->queue);

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_cache_lookup(ngx_http_totp_cache_t *cache, ngx_log_t *log,
    ngx_str_t *key, uint32_t hash, ngx_msec_t max_age, ngx_msec_t grace,
    ngx_uint_t *live)
{
    ngx_int_t                     rc;
    ngx_msec_int_t                age, asking;
    ngx_http_totp_cache_entry_t  *e;

    if (key->len > NGX_HTTP_TOTP_CACHE_KEY_MAX) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, key, hash);

    if (e) {
        age = (ngx_msec_int_t) (ngx_current_msec - e->checked);
        asking = (ngx_msec_int_t) (ngx_current_msec - e->asking);

        if (age < 0) {
            /* stored by a worker whose clock ran ahead: ask again */

        } else if ((ngx_msec_t) age < max_age) {
            *live = e->live;
            rc = NGX_OK;

        } else if ((ngx_msec_t) age < max_age + grace
                   && e->asking_set && asking >= 0
                   && (ngx_msec_t) asking < grace)
        {
            /*
             * Stale, and another request is asking Redis: go on with the
             * entry meanwhile, one round trip per key and max_age rather
             * than one per request that came meanwhile.
             */

            *live = e->live;
            rc = NGX_OK;

        } else {
            e->asking = ngx_current_msec;
            e->asking_set = 1;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_http_totp_count(rc == NGX_OK ? NGX_HTTP_TOTP_CACHE_HIT
                        : e ? NGX_HTTP_TOTP_CACHE_STALE
                        : NGX_HTTP_TOTP_CACHE_MISS);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "totp cache: %s in zone \"%V\"",
                   rc == NGX_OK ? "found" : e ? "stale" : "not found",
                   cache->name);

    return rc;
}


/* the request asking Redis failed: the next one asks, none goes on stale */

void
ngx_http_totp_cache_unask(ngx_http_totp_cache_t *cache, ngx_log_t *log,
    ngx_str_t *key, uint32_t hash)
{
    ngx_http_totp_cache_entry_t  *e;

    if (key->len > NGX_HTTP_TOTP_CACHE_KEY_MAX) {
        return;
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, key, hash);
    if (e) {
        e->asking_set = 0;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                   "totp cache: not refreshed, the next request asks");
}


/*
 * checked: when Redis was asked.  An answer that was overtaken by a newer
 * one (a slow reply after a logout was stored) is dropped, so that it
 * cannot make an ended session look live again.
 */

void
ngx_http_totp_cache_store(ngx_http_totp_cache_t *cache, ngx_log_t *log,
    ngx_str_t *key, uint32_t hash, ngx_uint_t live, ngx_msec_t checked)
{
    time_t                        now;
    ngx_uint_t                    evicted, warn;
    size_t                        size;
    ngx_rbtree_node_t            *node;
    ngx_http_totp_cache_entry_t  *e;

    if (key->len > NGX_HTTP_TOTP_CACHE_KEY_MAX) {
        return;
    }

    evicted = 0;
    warn = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, key, hash);

    if (e == NULL) {
        size = sizeof(ngx_rbtree_node_t)
               + offsetof(ngx_http_totp_cache_entry_t, name) + key->len;

        node = ngx_slab_alloc_locked(cache->shpool, size);

        if (node == NULL) {
            evicted = ngx_http_totp_cache_evict(cache, 16);

            now = ngx_time();

            if (now - cache->sh->warned >= NGX_HTTP_TOTP_CACHE_WARN) {
                cache->sh->warned = now;
                warn = 1;
            }

            node = ngx_slab_alloc_locked(cache->shpool, size);

            if (node == NULL) {
                /* the next request asks Redis again: slower, still right */
                ngx_shmtx_unlock(&cache->shpool->mutex);
                goto evicted;
            }
        }

        node->key = hash;
        e = ngx_http_totp_cache_entry(node);
        e->len = (u_short) key->len;
        ngx_memcpy(e->name, key->data, key->len);

        ngx_rbtree_insert(&cache->sh->rbtree, node);

    } else {
        if ((ngx_msec_int_t) (checked - e->checked) < 0) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return;
        }

        ngx_queue_remove(&e->queue);
    }

    ngx_queue_insert_head(&cache->sh->queue, &e->queue);

    e->asking_set = 0;
    e->checked = checked;
    e->live = live ? 1 : 0;

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "totp cache: stored, live:%ui", live);

evicted:

    ngx_http_totp_count_n(NGX_HTTP_TOTP_CACHE_EVICTIONS, evicted);

    /*
     * Said outside the lock, and once a minute at most: a zone too small
     * for its sessions makes them ask Redis again, not a failure.
     */

    if (warn) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "totp: zone \"%V\" is full, the %ui sessions least "
                      "recently checked were evicted: they ask Redis "
                      "again; a larger \"totp_zone\" avoids it",
                      cache->name, evicted);

    } else if (evicted) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "totp cache: zone \"%V\" is full, %ui evicted",
                       cache->name, evicted);
    }
}


static ngx_http_totp_cache_entry_t *
ngx_http_totp_cache_find(ngx_http_totp_cache_t *cache, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                     rc;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_totp_cache_entry_t  *e;

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        e = ngx_http_totp_cache_entry(node);

        rc = ngx_memn2cmp(key->data, e->name, key->len, (size_t) e->len);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static ngx_uint_t
ngx_http_totp_cache_evict(ngx_http_totp_cache_t *cache, ngx_uint_t n)
{
    ngx_uint_t                    evicted;
    ngx_queue_t                  *q;
    ngx_rbtree_node_t            *node;
    ngx_http_totp_cache_entry_t  *e;

    evicted = 0;

    while (evicted < n && !ngx_queue_empty(&cache->sh->queue)) {
        q = ngx_queue_last(&cache->sh->queue);
        ngx_queue_remove(q);

        e = ngx_queue_data(q, ngx_http_totp_cache_entry_t, queue);
        node = (ngx_rbtree_node_t *) ((u_char *) e
                                      - sizeof(ngx_rbtree_node_t));

        ngx_rbtree_delete(&cache->sh->rbtree, node);
        ngx_slab_free_locked(cache->shpool, node);

        evicted++;
    }

    return evicted;
}


static void
ngx_http_totp_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_totp_cache_entry_t   *e, *et;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            e = ngx_http_totp_cache_entry(node);
            et = ngx_http_totp_cache_entry(temp);

            p = (ngx_memn2cmp(e->name, et->name, e->len, et->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
