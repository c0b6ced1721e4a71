
/*
 * The gated and the pages locations of every server, matched once all
 * locations are merged (merges never look at another location).
 *
 * A gated location sends users to its totp_path, which must be the name
 * of a totp_pages location in the same server.  The pages sign users in
 * under the settings of the location that sent them (its profile, which
 * the pre-session carries): every profile they may be asked for is
 * listed here.  One pages location serves one user base: the cookies it
 * reads and writes are those of one realm, one first factor and one
 * cookie setting, so that a user it signs in is not sent back forever.
 * And wherever users share their state in Redis (one keyspace), in any
 * server, who may enroll and how failures are counted are the same: an
 * enrollment made where anyone may enroll would pass where only invited
 * users may, and a guesser would guess where the limits are loosest.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"
#include "ngx_http_totp_locations.h"


typedef struct {
    ngx_conf_t                  *cf;
    ngx_http_core_srv_conf_t    *cscf;

    /* ngx_http_totp_loc_conf_t * of the server's locations */
    ngx_array_t                 *pages;
    ngx_array_t                 *gated;

    /* the first gated location of each keyspace, in every server */
    ngx_array_t                 *bases;
} ngx_http_totp_walk_t;


static ngx_int_t ngx_http_totp_locations_server(ngx_http_totp_walk_t *w);
static ngx_int_t ngx_http_totp_locations_visit(ngx_http_totp_walk_t *w,
    ngx_http_core_loc_conf_t *clcf, void **loc_conf);
static ngx_int_t ngx_http_totp_locations_tree(ngx_http_totp_walk_t *w,
    ngx_http_location_tree_node_t *node);
static ngx_int_t ngx_http_totp_locations_serve(ngx_http_totp_walk_t *w,
    ngx_http_totp_loc_conf_t *gated);
static ngx_int_t ngx_http_totp_locations_keyspace(ngx_http_totp_walk_t *w,
    ngx_http_totp_loc_conf_t *gated);
static ngx_uint_t ngx_http_totp_locations_same_limits(
    ngx_http_totp_loc_conf_t *a, ngx_http_totp_loc_conf_t *b);
static ngx_uint_t ngx_http_totp_locations_same_base(
    ngx_http_totp_loc_conf_t *a, ngx_http_totp_loc_conf_t *b);
static ngx_str_t *ngx_http_totp_locations_server_name(
    ngx_http_core_srv_conf_t *cscf);


ngx_int_t
ngx_http_totp_locations_init(ngx_conf_t *cf, ngx_uint_t *used)
{
    ngx_uint_t                   s;
    ngx_http_totp_walk_t         w;
    ngx_http_core_srv_conf_t   **cscfp;
    ngx_http_core_main_conf_t   *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    cscfp = cmcf->servers.elts;

    w.cf = cf;

    w.pages = ngx_array_create(cf->temp_pool, 4,
                               sizeof(ngx_http_totp_loc_conf_t *));
    w.gated = ngx_array_create(cf->temp_pool, 4,
                               sizeof(ngx_http_totp_loc_conf_t *));
    w.bases = ngx_array_create(cf->temp_pool, 4,
                               sizeof(ngx_http_totp_loc_conf_t *));
    if (w.pages == NULL || w.gated == NULL || w.bases == NULL) {
        return NGX_ERROR;
    }

    *used = 0;

    for (s = 0; s < cmcf->servers.nelts; s++) {
        w.cscf = cscfp[s];
        w.pages->nelts = 0;
        w.gated->nelts = 0;

        if (ngx_http_totp_locations_server(&w) != NGX_OK) {
            return NGX_ERROR;
        }

        *used += w.pages->nelts + w.gated->nelts;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_locations_server(ngx_http_totp_walk_t *w)
{
    ngx_uint_t                   i;
    ngx_http_core_loc_conf_t    *clcf, **named;
    ngx_http_totp_loc_conf_t   **gated, **pages;

    /* the server level: nginx keeps its configurations in the server's */

    clcf = w->cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

    if (ngx_http_totp_locations_visit(w, clcf, w->cscf->ctx->loc_conf)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (named = w->cscf->named_locations; named && *named; named++) {
        if (ngx_http_totp_locations_visit(w, *named, (*named)->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    gated = w->gated->elts;

    for (i = 0; i < w->gated->nelts; i++) {
        if (ngx_http_totp_locations_serve(w, gated[i]) != NGX_OK
            || ngx_http_totp_locations_keyspace(w, gated[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    pages = w->pages->elts;

    for (i = 0; i < w->pages->nelts; i++) {
        if (pages[i]->pages->profiles.nelts == 0) {
            ngx_log_error(NGX_LOG_WARN, w->cf->log, 0,
                          "\"totp_pages\" in location \"%V\" of server "
                          "\"%V\" serves no gated location: none has "
                          "\"totp_path %V\"", &pages[i]->pages->prefix,
                          ngx_http_totp_locations_server_name(w->cscf),
                          &pages[i]->pages->prefix);
        }
    }

    return NGX_OK;
}


/* a location, then the locations nested in it */

static ngx_int_t
ngx_http_totp_locations_visit(ngx_http_totp_walk_t *w,
    ngx_http_core_loc_conf_t *clcf, void **loc_conf)
{
    ngx_http_totp_loc_conf_t   *tlcf, **p;
#if (NGX_PCRE)
    ngx_http_core_loc_conf_t  **regex;
#endif

    tlcf = loc_conf[ngx_http_totp_module.ctx_index];

    if (tlcf->handler == NGX_HTTP_TOTP_PAGES) {
        p = ngx_array_push(w->pages);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = tlcf;

    } else if (tlcf->enable) {
        p = ngx_array_push(w->gated);
        if (p == NULL) {
            return NGX_ERROR;
        }

        *p = tlcf;
    }

    if (ngx_http_totp_locations_tree(w, clcf->static_locations) != NGX_OK) {
        return NGX_ERROR;
    }

#if (NGX_PCRE)
    for (regex = clcf->regex_locations; regex && *regex; regex++) {
        if (ngx_http_totp_locations_visit(w, *regex, (*regex)->loc_conf)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_locations_tree(ngx_http_totp_walk_t *w,
    ngx_http_location_tree_node_t *node)
{
    if (node == NULL) {
        return NGX_OK;
    }

    if ((node->exact
         && ngx_http_totp_locations_visit(w, node->exact,
                                          node->exact->loc_conf)
            != NGX_OK)
        || (node->inclusive
            && ngx_http_totp_locations_visit(w, node->inclusive,
                                             node->inclusive->loc_conf)
               != NGX_OK)
        || ngx_http_totp_locations_tree(w, node->left) != NGX_OK
        || ngx_http_totp_locations_tree(w, node->right) != NGX_OK
        || ngx_http_totp_locations_tree(w, node->tree) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the gated location's pages get its profile, once */

static ngx_int_t
ngx_http_totp_locations_serve(ngx_http_totp_walk_t *w,
    ngx_http_totp_loc_conf_t *gated)
{
    ngx_uint_t                   i;
    ngx_http_totp_pages_conf_t  *pages;
    ngx_http_totp_loc_conf_t   **lcfp, **profiles;

    lcfp = w->pages->elts;
    pages = NULL;

    for (i = 0; i < w->pages->nelts; i++) {
        if (lcfp[i]->pages->prefix.len == gated->path.len
            && ngx_strncmp(lcfp[i]->pages->prefix.data, gated->path.data,
                           gated->path.len)
               == 0)
        {
            pages = lcfp[i]->pages;
            break;
        }
    }

    if (pages == NULL) {
        ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                      "\"totp on\" at %V of server \"%V\" sends users to "
                      "\"%V\", but the server has no "
                      "\"location %V { totp_pages; }\"",
                      &gated->where,
                      ngx_http_totp_locations_server_name(w->cscf),
                      &gated->path, &gated->path);
        return NGX_ERROR;
    }

    profiles = pages->profiles.elts;

    for (i = 0; i < pages->profiles.nelts; i++) {

        if (!ngx_http_totp_locations_same_base(profiles[i], gated)) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "the pages at \"%V\" of server \"%V\" would serve "
                          "%V and %V, which differ in \"totp_realm\", "
                          "\"totp_user\", \"totp_password_file\" or "
                          "\"totp_cookie_secure\": give each its own "
                          "\"totp_path\" and \"totp_pages\" location",
                          &pages->prefix,
                          ngx_http_totp_locations_server_name(w->cscf),
                          &profiles[i]->where, &gated->where);
            return NGX_ERROR;
        }

        if (ngx_memcmp(profiles[i]->profile, gated->profile,
                       TOTP_PROFILE_LEN)
            == 0)
        {
            return NGX_OK;
        }
    }

    lcfp = ngx_array_push(&pages->profiles);
    if (lcfp == NULL) {
        return NGX_ERROR;
    }

    *lcfp = gated;

    return NGX_OK;
}


static ngx_int_t
ngx_http_totp_locations_keyspace(ngx_http_totp_walk_t *w,
    ngx_http_totp_loc_conf_t *gated)
{
    ngx_uint_t                  i;
    ngx_http_totp_loc_conf_t  **bases;

    static char  *modes[] = { "off", "on", "invite" };

    bases = w->bases->elts;

    for (i = 0; i < w->bases->nelts; i++) {
        if (bases[i]->keyspace.len != gated->keyspace.len
            || ngx_strncmp(bases[i]->keyspace.data, gated->keyspace.data,
                           gated->keyspace.len)
               != 0)
        {
            continue;
        }

        if (bases[i]->enroll != gated->enroll) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "\"totp_enroll %s\" at %V and \"totp_enroll %s\" "
                          "at %V share the enrollments of Redis keys "
                          "\"%V\": one made at either passes both; write "
                          "the same at both, or give them different "
                          "\"totp_realm\"s",
                          modes[bases[i]->enroll], &bases[i]->where,
                          modes[gated->enroll], &gated->where,
                          &gated->keyspace);
            return NGX_ERROR;
        }

        if (!ngx_http_totp_locations_same_limits(bases[i], gated)) {
            ngx_log_error(NGX_LOG_EMERG, w->cf->log, 0,
                          "\"totp_fail_limit\", \"totp_fail_limit_user\", "
                          "\"totp_fail_limit_ip\", \"totp_client_key\" and "
                          "\"totp_lockout\" differ between %V and %V, "
                          "which count failures in the same Redis keys "
                          "\"%V\": a guesser would sign in through the one "
                          "that allows more; write the same at both, or "
                          "give them different \"totp_realm\"s",
                          &bases[i]->where, &gated->where, &gated->keyspace);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    bases = ngx_array_push(w->bases);
    if (bases == NULL) {
        return NGX_ERROR;
    }

    *bases = gated;

    return NGX_OK;
}


/* one user base's counters are counted one way, or a guesser picks */

static ngx_uint_t
ngx_http_totp_locations_same_limits(ngx_http_totp_loc_conf_t *a,
    ngx_http_totp_loc_conf_t *b)
{
    ngx_str_t               *ka, *kb;
    ngx_http_totp_limits_t  *la, *lb;

    static ngx_str_t  none = ngx_string("");

    la = &a->limits;
    lb = &b->limits;

    ka = a->client_key ? &a->client_key->value : &none;
    kb = b->client_key ? &b->client_key->value : &none;

    return la->pair.limit == lb->pair.limit
           && la->pair.window == lb->pair.window
           && la->user.limit == lb->user.limit
           && la->user.window == lb->user.window
           && la->client.limit == lb->client.limit
           && la->client.window == lb->client.window
           && la->lockout == lb->lockout
           && ka->len == kb->len
           && ngx_strncmp(ka->data, kb->data, ka->len) == 0;
}


/* the same cookies, names and keys: the same users */

static ngx_uint_t
ngx_http_totp_locations_same_base(ngx_http_totp_loc_conf_t *a,
    ngx_http_totp_loc_conf_t *b)
{
    return a->binding.len == b->binding.len
           && ngx_strncmp(a->binding.data, b->binding.data, a->binding.len)
              == 0
           && a->cookie_secure == b->cookie_secure;
}


static ngx_str_t *
ngx_http_totp_locations_server_name(ngx_http_core_srv_conf_t *cscf)
{
    static ngx_str_t  unnamed = ngx_string("_");

    return cscf->server_name.len ? &cscf->server_name : &unnamed;
}
