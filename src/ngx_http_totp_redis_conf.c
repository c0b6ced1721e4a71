
/*
 * The totp_redis* directives.  Everything that can be checked is checked
 * here, at nginx -t: a worker only connects.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/un.h>

#include "ngx_http_totp_redis_conf.h"


#define NGX_HTTP_TOTP_REDIS_DEFAULT_ADDR  "127.0.0.1:6379"
#define NGX_HTTP_TOTP_REDIS_DEFAULT_PORT  6379
#define NGX_HTTP_TOTP_SENTINEL_PORT       26379

/* a managed service's chain: leaf, an intermediate or two, the root */
#define NGX_HTTP_TOTP_REDIS_VERIFY_DEPTH  4


static ngx_int_t ngx_http_totp_redis_host(ngx_conf_t *cf, ngx_str_t *dst,
    ngx_str_t *src);
static char *ngx_http_totp_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_totp_redis_conf_t *rcf, ngx_str_t *host);
#if (NGX_SSL)
static char *ngx_http_totp_redis_init_tls(ngx_conf_t *cf,
    ngx_http_totp_redis_conf_t *rcf, ngx_str_t *host);
#endif


char *
ngx_http_totp_redis_set_addr(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t                   *value;
    ngx_http_totp_redis_conf_t  *rcf;

    rcf = (ngx_http_totp_redis_conf_t *) (p + cmd->offset);

    if (rcf->addr.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "needs \"host:port\" or \"unix:/path\"";
    }

    /*
     * Parsed once the whole http block is read: whether a name is
     * resolved now or at each connect depends on a "resolver" that may
     * come later in the file.
     */

    rcf->addr = value[1];

    return NGX_CONF_OK;
}


char *
ngx_http_totp_redis_set_sentinel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t                     *value;
    ngx_url_t                      u;
    ngx_uint_t                     i;
    ngx_http_totp_redis_conf_t    *rcf;
    ngx_http_totp_redis_server_t  *server;

    rcf = (ngx_http_totp_redis_conf_t *) (p + cmd->offset);

    if (rcf->sentinels) {
        return "is duplicate";
    }

    rcf->sentinels = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                      sizeof(ngx_http_totp_redis_server_t));
    if (rcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = value[i];
        u.default_port = NGX_HTTP_TOTP_SENTINEL_PORT;

        /* Sentinels are few and stable: a name is resolved once, here */

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis_sentinel\" cannot use \"%V\": "
                               "%s", &value[i],
                               u.err ? u.err : "invalid address");
            return NGX_CONF_ERROR;
        }

        if (u.naddrs == 0 || u.uri.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis_sentinel\" needs "
                               "\"address:port\" or \"unix:/path\", "
                               "not \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        server = ngx_array_push(rcf->sentinels);
        if (server == NULL) {
            return NGX_CONF_ERROR;
        }

        server->addr = u.addrs[0];
        server->addr.name = value[i];
        ngx_str_null(&server->host);

        if (u.family == AF_UNIX) {
            continue;
        }

        /* what a certificate is checked against: the host, no port */

        if (ngx_http_totp_redis_host(cf, &server->host, &u.host) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


void
ngx_http_totp_redis_create_conf(ngx_http_totp_redis_conf_t *rcf)
{
    rcf->db = NGX_CONF_UNSET;
    rcf->timeout = NGX_CONF_UNSET_MSEC;
    rcf->replicas = NGX_CONF_UNSET;
    rcf->ssl = NGX_CONF_UNSET;
    rcf->ssl_verify = NGX_CONF_UNSET;
}


char *
ngx_http_totp_redis_init_conf(ngx_conf_t *cf, ngx_http_totp_redis_conf_t *rcf)
{
    ngx_str_t  host;

    ngx_conf_init_value(rcf->db, 0);
    ngx_conf_init_msec_value(rcf->timeout, 1000);
    ngx_conf_init_value(rcf->replicas, 0);
    ngx_conf_init_value(rcf->ssl, 0);
    ngx_conf_init_value(rcf->ssl_verify, 1);

    if (rcf->user.len && rcf->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_user\" needs "
                           "\"totp_redis_password\": Redis signs an ACL "
                           "user in with its password");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinel_user.len && rcf->sentinel_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_sentinel_user\" needs "
                           "\"totp_redis_sentinel_password\"");
        return NGX_CONF_ERROR;
    }

    if (rcf->timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_timeout\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (rcf->replicas < 0 || rcf->replicas > 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_replicas\" takes 0 to 16");
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&host);

    if (rcf->sentinels) {

        if (rcf->addr.data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis\" and \"totp_redis_sentinel\" "
                               "exclude each other: the Sentinels say "
                               "where the master is");
            return NGX_CONF_ERROR;
        }

        if (rcf->sentinel_master.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis_sentinel\" needs "
                               "\"totp_redis_sentinel_master\"");
            return NGX_CONF_ERROR;
        }

        /* messages name the master as the Sentinels know it */
        rcf->addr = rcf->sentinel_master;

    } else {

        if (rcf->sentinel_master.len || rcf->sentinel_password.len
            || rcf->sentinel_user.len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\" needs \"totp_redis_sentinel\"",
                               rcf->sentinel_master.len
                               ? "totp_redis_sentinel_master"
                               : rcf->sentinel_user.len
                                 ? "totp_redis_sentinel_user"
                                 : "totp_redis_sentinel_password");
            return NGX_CONF_ERROR;
        }

        if (rcf->addr.data == NULL) {
            ngx_str_set(&rcf->addr, NGX_HTTP_TOTP_REDIS_DEFAULT_ADDR);
        }

        if (ngx_http_totp_redis_parse_addr(cf, rcf, &host) != NGX_CONF_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (!rcf->ssl) {

        if (rcf->ssl_certificate.len || rcf->ssl_trusted_certificate.len) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "the \"totp_redis_ssl_*\" files are not used "
                               "without \"totp_redis_ssl on\"");
        }

        return NGX_CONF_OK;
    }

#if (NGX_SSL)

    return ngx_http_totp_redis_init_tls(cf, rcf, &host);

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"totp_redis_ssl\" needs an nginx built with SSL");
    return NGX_CONF_ERROR;

#endif
}


static char *
ngx_http_totp_redis_parse_addr(ngx_conf_t *cf,
    ngx_http_totp_redis_conf_t *rcf, ngx_str_t *host)
{
    ngx_url_t                  u;
    ngx_addr_t                 literal;
    ngx_http_core_loc_conf_t  *clcf;

    if (rcf->addr.len > 5 && ngx_strncmp(rcf->addr.data, "unix:", 5) == 0
        && (rcf->addr.len < 7 || rcf->addr.data[5] != '/'
            || rcf->addr.len - 5
               >= sizeof(((struct sockaddr_un *) 0)->sun_path)))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis\" needs an absolute socket "
                           "path shorter than %uz bytes in \"%V\"",
                           sizeof(((struct sockaddr_un *) 0)->sun_path),
                           &rcf->addr);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = rcf->addr;
    u.default_port = NGX_HTTP_TOTP_REDIS_DEFAULT_PORT;

    /*
     * The http block's own resolver, if one was written there: without
     * one, core's merge has left a resolver with no servers.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    u.no_resolve = (clcf->resolver != NULL
                    && clcf->resolver->connections.nelts > 0);

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis\" cannot use \"%V\": %s",
                           &rcf->addr, u.err ? u.err : "invalid address");
        return NGX_CONF_ERROR;
    }

    if (u.uri.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis\" needs \"host:port\" or "
                           "\"unix:/path\", not \"%V\"", &rcf->addr);
        return NGX_CONF_ERROR;
    }

    /* the name a certificate is checked against, unless one is given */

    if (u.family != AF_UNIX
        && ngx_http_totp_redis_host(cf, host, &u.host) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0
        && u.no_resolve
        && ngx_parse_addr(cf->pool, &literal, u.host.data, u.host.len)
           != NGX_OK)
    {
        /*
         * A name whose address may move (a managed service's failover):
         * resolved at each connect, never with a blocking call.
         */

        rcf->host = *host;
        rcf->port = u.port;
        rcf->resolver = clcf->resolver;
        rcf->resolver_timeout =
                        (clcf->resolver_timeout == NGX_CONF_UNSET_MSEC)
                        ? 30000 : clcf->resolver_timeout;

        return NGX_CONF_OK;
    }

    if (u.naddrs == 0) {
        /* an address literal with no_resolve: parse it for real */
        u.no_resolve = 0;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"totp_redis\" cannot use \"%V\": %s",
                               &rcf->addr,
                               u.err ? u.err : "no address");
            return NGX_CONF_ERROR;
        }
    }

    if (u.naddrs > 1) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"totp_redis\" host \"%V\" has %ui addresses, "
                           "using \"%V\" (a \"resolver\" in http makes it "
                           "follow the name)", &u.host, u.naddrs,
                           &u.addrs[0].name);
    }

    /* cppcheck-suppress autoVariables ; u.addrs is the pool's, not u's */
    rcf->peer = &u.addrs[0];

    return NGX_CONF_OK;
}


/*
 * A host as OpenSSL takes it (SNI, the certificate's names): without the
 * brackets of an IPv6 literal, NUL-terminated.
 */

static ngx_int_t
ngx_http_totp_redis_host(ngx_conf_t *cf, ngx_str_t *dst, ngx_str_t *src)
{
    u_char     *p;
    ngx_str_t   host;

    host = *src;

    if (host.len > 2 && host.data[0] == '[' && host.data[host.len - 1] == ']')
    {
        host.data++;
        host.len -= 2;
    }

    p = ngx_pnalloc(cf->pool, host.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, host.data, host.len);
    p[host.len] = '\0';

    dst->data = p;
    dst->len = host.len;

    return NGX_OK;
}


#if (NGX_SSL)

static char *
ngx_http_totp_redis_init_tls(ngx_conf_t *cf, ngx_http_totp_redis_conf_t *rcf,
    ngx_str_t *host)
{
    ngx_pool_cleanup_t  *cln;

    if ((rcf->ssl_certificate.len == 0)
        != (rcf->ssl_certificate_key.len == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_ssl_certificate\" and "
                           "\"totp_redis_ssl_certificate_key\" go together");
        return NGX_CONF_ERROR;
    }

    if (rcf->ssl_name.len == 0 && host->len) {
        rcf->ssl_name = *host;
    }

    if (rcf->ssl_name.len) {
        if (ngx_http_totp_redis_host(cf, &rcf->ssl_name, &rcf->ssl_name)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else if (rcf->ssl_verify && rcf->sentinels == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"totp_redis_ssl_verify\" over a unix socket "
                           "needs \"totp_redis_ssl_name\", the name the "
                           "certificate must be for");
        return NGX_CONF_ERROR;
    }

    rcf->ssl_ctx = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (rcf->ssl_ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    rcf->ssl_ctx->log = cf->log;

    if (ngx_ssl_create(rcf->ssl_ctx, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(rcf->ssl_ctx);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = rcf->ssl_ctx;

    /* a reconnect resumes its last session (see redis_conn.c) */

    if (ngx_ssl_client_session_cache(cf, rcf->ssl_ctx, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (rcf->ssl_certificate.len
        && ngx_ssl_certificate(cf, rcf->ssl_ctx, &rcf->ssl_certificate,
                               &rcf->ssl_certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!rcf->ssl_verify) {
        return NGX_CONF_OK;
    }

    if (rcf->ssl_trusted_certificate.len) {
        if (ngx_ssl_trusted_certificate(cf, rcf->ssl_ctx,
                                        &rcf->ssl_trusted_certificate,
                                        NGX_HTTP_TOTP_REDIS_VERIFY_DEPTH)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    /*
     * A managed service's certificate is signed by a public CA: the
     * system's bundle, read now (a CA directory would be read by the
     * worker at each handshake).
     */

    if (SSL_CTX_load_verify_locations(rcf->ssl_ctx->ctx,
                                      X509_get_default_cert_file(), NULL)
        != 1)
    {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"totp_redis_ssl_verify\" cannot load the system's "
                      "trusted certificates from \"%s\"",
                      X509_get_default_cert_file());
        return NGX_CONF_ERROR;
    }

    SSL_CTX_set_verify_depth(rcf->ssl_ctx->ctx,
                             NGX_HTTP_TOTP_REDIS_VERIFY_DEPTH);

    return NGX_CONF_OK;
}

#endif
