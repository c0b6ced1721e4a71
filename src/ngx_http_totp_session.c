
/*
 * Cookies and the revalidation cache.
 *
 * A cookie's value is a token (see ngx_http_totp_crypto.h): a versioned
 * payload signed under a key derived for that cookie's purpose only, so a
 * trust cookie can never pass for a session, nor a pre-session for either.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_session.h"


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;      /* least recently stored last */
} ngx_http_totp_cache_sh_t;


typedef struct {
    ngx_http_totp_cache_sh_t    *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_totp_cache_t;


typedef struct {
    ngx_queue_t                  queue;
    ngx_msec_t                   checked;
    time_t                       checked_at;  /* the same, wall clock */
    ngx_msec_t                   asking;      /* a refresh asked Redis */
    u_char                       asking_set;
    u_char                       enrolled;
    u_char                       epoch[TOTP_EPOCH_LEN];
    u_short                      len;
    u_char                       name[1];
} ngx_http_totp_cache_entry_t;


static ngx_int_t ngx_http_totp_cookie_find(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_uint_t ngx_http_totp_cookie_is_secure(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf);
static void ngx_http_totp_cookie_name(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *name);
static ngx_int_t ngx_http_totp_cookie_add(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *value,
    time_t max_age);
static void ngx_http_totp_cache_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_totp_cache_entry_t *ngx_http_totp_cache_find(
    ngx_http_totp_cache_t *cache, ngx_str_t *user, uint32_t hash);
static void ngx_http_totp_cache_evict(ngx_http_totp_cache_t *cache,
    ngx_uint_t n);


#define ngx_http_totp_cache_entry(node)                                      \
    ((ngx_http_totp_cache_entry_t *) ((u_char *) (node)                      \
                                      + sizeof(ngx_rbtree_node_t)))


static ngx_uint_t  ngx_http_totp_token_keys[] = {
    ['s'] = TOTP_KEY_SESSION,
    ['t'] = TOTP_KEY_TRUST,
    ['p'] = TOTP_KEY_PRE
};


ngx_int_t
ngx_http_totp_cookie_read(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, totp_token_t *t)
{
    int                         rc;
    ngx_str_t                   name, value;
    ngx_uint_t                  i;
    const unsigned char        *keys[2];
    ngx_http_totp_main_conf_t  *mcf;

    ngx_http_totp_cookie_name(r, conf, purpose, &name);

    if (ngx_http_totp_cookie_find(r, &name, &value) != NGX_OK) {
        return NGX_DECLINED;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_totp_module);

    for (i = 0; i < mcf->nkeys; i++) {
        keys[i] = conf->keys[i].key[ngx_http_totp_token_keys[purpose]];
    }

    rc = totp_token_decode(t, value.data, value.len, purpose, keys,
                           mcf->nkeys, ngx_time());

    if (rc == TOTP_TOKEN_OK) {

        /* trust ends for every browser when totp_trust_ttl is turned off */

        if (purpose == TOTP_TOKEN_TRUST && conf->trust_ttl == 0) {
            totp_wipe(t, sizeof(totp_token_t));
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    /*
     * An expired cookie is everyday life; one that does not verify was
     * altered, or signed by a key no longer configured.
     */

    if (rc == TOTP_TOKEN_EXPIRED) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "totp: expired cookie \"%V\"", &name);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "totp: client sent invalid cookie \"%V\"", &name);
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_totp_cookie_write(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *t, time_t max_age)
{
    u_char                     *p;
    ngx_str_t                   value;

    p = ngx_pnalloc(r->pool, totp_token_encoded_len(t->user_len));
    if (p == NULL) {
        return NGX_ERROR;
    }

    value.data = p;
    value.len = totp_token_encode(p, t,
                      conf->keys[0].key[ngx_http_totp_token_keys[t->purpose]]);

    if (value.len == 0) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "totp: cannot sign a cookie");
        return NGX_ERROR;
    }

    return ngx_http_totp_cookie_add(r, conf, t->purpose, &value, max_age);
}


ngx_int_t
ngx_http_totp_cookie_clear(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose)
{
    ngx_str_t  empty = ngx_null_string;

    return ngx_http_totp_cookie_add(r, conf, purpose, &empty, 0);
}


ngx_int_t
ngx_http_totp_issue_session(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, totp_token_t *token)
{
    ngx_int_t     rc;
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_SESSION;
    t.flags = token->flags;
    t.expires = ngx_time() + conf->session_ttl;
    ngx_memcpy(t.epoch, token->epoch, TOTP_EPOCH_LEN);
    ngx_memcpy(t.user, token->user, token->user_len);
    t.user_len = token->user_len;

    if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    rc = ngx_http_totp_cookie_write(r, conf, &t, conf->session_ttl);

    totp_wipe(&t, sizeof(totp_token_t));

    return rc;
}


ngx_int_t
ngx_http_totp_issue_trust(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *user, u_char *epoch)
{
    ngx_int_t     rc;
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_TRUST;
    t.expires = ngx_time() + conf->trust_ttl;
    ngx_memcpy(t.epoch, epoch, TOTP_EPOCH_LEN);
    ngx_memcpy(t.user, user->data, user->len);
    t.user_len = user->len;

    if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    rc = ngx_http_totp_cookie_write(r, conf, &t, conf->trust_ttl);

    totp_wipe(&t, sizeof(totp_token_t));

    return rc;
}


ngx_int_t
ngx_http_totp_issue_pre(ngx_http_request_t *r, ngx_http_totp_loc_conf_t *conf,
    ngx_str_t *user, ngx_uint_t flags, totp_token_t *token)
{
    totp_token_t  t;

    ngx_memzero(&t, sizeof(totp_token_t));

    t.purpose = TOTP_TOKEN_PRE;
    t.flags = (u_char) flags;
    t.expires = ngx_time() + NGX_HTTP_TOTP_PRE_TTL;

    if (user) {
        ngx_memcpy(t.user, user->data, user->len);
        t.user_len = user->len;
    }

    if (totp_random(t.nonce, TOTP_NONCE_LEN) != 0) {
        return NGX_ERROR;
    }

    if (token) {
        *token = t;
    }

    return ngx_http_totp_cookie_write(r, conf, &t, NGX_HTTP_TOTP_PRE_TTL);
}


/*
 * The first cookie of exactly this name.  nginx's own lookup ignores the
 * case of names, and so would take "__HOST-totp_session", which a browser
 * may accept from a sibling subdomain, for the "__Host-" one it refuses.
 */

static ngx_int_t
ngx_http_totp_cookie_find(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    u_char           *p, *end, *start, *eq;
    ngx_table_elt_t  *h;
#if (nginx_version < 1023000)
    ngx_uint_t        i;
    ngx_table_elt_t **hh;

    hh = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hh[i];
#else
    for (h = r->headers_in.cookie; h; h = h->next) {
#endif

        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {

            while (p < end && (*p == ' ' || *p == ';' || *p == '\t')) {
                p++;
            }

            start = p;

            while (p < end && *p != ';') {
                p++;
            }

            eq = ngx_strlchr(start, p, '=');

            if (eq && (size_t) (eq - start) == name->len
                && ngx_strncmp(start, name->data, name->len) == 0)
            {
                value->data = eq + 1;
                value->len = p - value->data;

                while (value->len && (value->data[value->len - 1] == ' '
                                      || value->data[value->len - 1] == '\t'))
                {
                    value->len--;
                }

                return NGX_OK;
            }
        }
    }

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_totp_cookie_is_secure(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf)
{
    if (conf->cookie_secure != NGX_HTTP_TOTP_COOKIE_AUTO) {
        return conf->cookie_secure == NGX_HTTP_TOTP_COOKIE_ON;
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return 1;
    }
#endif

    return 0;
}


/*
 * Secure cookies carry the __Host- prefix: a browser then refuses them
 * unless they came over https for this very host with Path=/, so that a
 * sibling subdomain cannot plant a session or a CSRF cookie.
 */

static void
ngx_http_totp_cookie_name(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *name)
{
    static ngx_str_t  names[2][3] = {
        { ngx_string("totp_session"), ngx_string("totp_trust"),
          ngx_string("totp_pre") },
        { ngx_string("__Host-totp_session"), ngx_string("__Host-totp_trust"),
          ngx_string("__Host-totp_pre") }
    };

    ngx_uint_t  i;

    i = (purpose == TOTP_TOKEN_SESSION) ? 0
        : (purpose == TOTP_TOKEN_TRUST) ? 1 : 2;

    *name = names[ngx_http_totp_cookie_is_secure(r, conf)][i];
}


static ngx_int_t
ngx_http_totp_cookie_add(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, u_char purpose, ngx_str_t *value,
    time_t max_age)
{
    size_t            len;
    u_char           *p;
    ngx_str_t         name;
    ngx_uint_t        secure;
    ngx_table_elt_t  *h;

    ngx_http_totp_cookie_name(r, conf, purpose, &name);
    secure = ngx_http_totp_cookie_is_secure(r, conf);

    len = name.len + 1 + value->len
          + sizeof("; Path=/; Max-Age=") - 1 + NGX_TIME_T_LEN
          + sizeof("; HttpOnly; SameSite=Strict; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_sprintf(p, "%V=%V; Path=/; Max-Age=%T; HttpOnly", &name, value,
                    max_age);

    /*
     * Strict for trust: a browser is trusted only for logins it starts
     * itself, never for a request another site made it send.
     */

    if (purpose == TOTP_TOKEN_TRUST) {
        p = ngx_cpymem(p, "; SameSite=Strict", sizeof("; SameSite=Strict") - 1);

    } else {
        p = ngx_cpymem(p, "; SameSite=Lax", sizeof("; SameSite=Lax") - 1);
    }

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}


size_t
ngx_http_totp_cache_ctx_size(void)
{
    return sizeof(ngx_http_totp_cache_t);
}


ngx_int_t
ngx_http_totp_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_totp_cache_t  *ocache = data;

    size_t                  len;
    ngx_http_totp_cache_t  *cache;

    cache = shm_zone->data;

    /* a reload keeps what the workers already know */

    if (ocache) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool, sizeof(ngx_http_totp_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_totp_cache_rbtree_insert_value);

    ngx_queue_init(&cache->sh->queue);

    len = sizeof(" in totp zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in totp zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full cache evicts; running out is expected, not worth a log line */

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_totp_cache_lookup(ngx_shm_zone_t *shm_zone, ngx_str_t *user,
    ngx_msec_t max_age, ngx_msec_t grace, u_char *epoch, ngx_uint_t *enrolled,
    time_t *checked)
{
    ngx_int_t                     rc;
    ngx_msec_int_t                age, asking;
    ngx_http_totp_cache_t        *cache;
    ngx_http_totp_cache_entry_t  *e;

    cache = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, user,
                                 ngx_crc32_short(user->data, user->len));

    if (e) {
        age = (ngx_msec_int_t) (ngx_current_msec - e->checked);
        asking = (ngx_msec_int_t) (ngx_current_msec - e->asking);

        /*
         * Stale: the first request to see it asks Redis, the others go on
         * with the entry while that answer is on its way (grace, the
         * Redis timeout, bounds the wait): one round trip per user and
         * totp_revalidate, not one per request that came meanwhile.
         */

        if (age >= 0 && (ngx_msec_t) age >= max_age
            && !(e->asking_set && asking >= 0 && (ngx_msec_t) asking < grace))
        {
            e->asking = ngx_current_msec;
            e->asking_set = 1;

        } else if (age >= 0) {
            *enrolled = e->enrolled;
            *checked = e->checked_at;
            ngx_memcpy(epoch, e->epoch, TOTP_EPOCH_LEN);
            rc = NGX_OK;
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return rc;
}


/* the request asking Redis failed: the next one asks, none goes on stale */

void
ngx_http_totp_cache_unask(ngx_shm_zone_t *shm_zone, ngx_str_t *user)
{
    ngx_http_totp_cache_t        *cache;
    ngx_http_totp_cache_entry_t  *e;

    cache = shm_zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, user,
                                 ngx_crc32_short(user->data, user->len));
    if (e) {
        e->asking_set = 0;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * checked: when Redis was asked.  An answer that was overtaken by a newer
 * one (a slow reply after a reset was stored) is dropped, so that it
 * cannot make an old epoch look fresh again.
 */

void
ngx_http_totp_cache_store(ngx_shm_zone_t *shm_zone, ngx_str_t *user,
    ngx_uint_t enrolled, u_char *epoch, ngx_msec_t checked)
{
    size_t                        size;
    uint32_t                      hash;
    ngx_rbtree_node_t            *node;
    ngx_http_totp_cache_t        *cache;
    ngx_http_totp_cache_entry_t  *e;

    cache = shm_zone->data;
    hash = ngx_crc32_short(user->data, user->len);

    ngx_shmtx_lock(&cache->shpool->mutex);

    e = ngx_http_totp_cache_find(cache, user, hash);

    if (e == NULL) {
        size = sizeof(ngx_rbtree_node_t)
               + offsetof(ngx_http_totp_cache_entry_t, name) + user->len;

        node = ngx_slab_alloc_locked(cache->shpool, size);

        if (node == NULL) {
            ngx_http_totp_cache_evict(cache, 16);
            node = ngx_slab_alloc_locked(cache->shpool, size);

            if (node == NULL) {
                /* the next request asks Redis again: slower, still right */
                ngx_shmtx_unlock(&cache->shpool->mutex);
                return;
            }
        }

        node->key = hash;
        e = ngx_http_totp_cache_entry(node);
        e->len = (u_short) user->len;
        ngx_memcpy(e->name, user->data, user->len);

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
    e->checked_at = ngx_time() - (ngx_msec_int_t) (ngx_current_msec - checked)
                                 / 1000;
    e->enrolled = enrolled ? 1 : 0;

    if (enrolled) {
        ngx_memcpy(e->epoch, epoch, TOTP_EPOCH_LEN);

    } else {
        ngx_memzero(e->epoch, TOTP_EPOCH_LEN);
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


static ngx_http_totp_cache_entry_t *
ngx_http_totp_cache_find(ngx_http_totp_cache_t *cache, ngx_str_t *user,
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

        rc = ngx_memn2cmp(user->data, e->name, user->len, (size_t) e->len);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_totp_cache_evict(ngx_http_totp_cache_t *cache, ngx_uint_t n)
{
    ngx_queue_t                  *q;
    ngx_rbtree_node_t            *node;
    ngx_http_totp_cache_entry_t  *e;

    while (n-- && !ngx_queue_empty(&cache->sh->queue)) {
        q = ngx_queue_last(&cache->sh->queue);
        ngx_queue_remove(q);

        e = ngx_queue_data(q, ngx_http_totp_cache_entry_t, queue);
        node = (ngx_rbtree_node_t *) ((u_char *) e
                                      - sizeof(ngx_rbtree_node_t));

        ngx_rbtree_delete(&cache->sh->rbtree, node);
        ngx_slab_free_locked(cache->shpool, node);
    }
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
