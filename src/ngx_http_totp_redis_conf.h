
/*
 * Where the module's Redis is and how to speak to it: the totp_redis*
 * directives, checked and made ready (addresses, TLS context) at
 * configuration time.
 */


#ifndef _NGX_HTTP_TOTP_REDIS_CONF_H_INCLUDED_
#define _NGX_HTTP_TOTP_REDIS_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_addr_t                 addr;      /* name: as configured */
    ngx_str_t                  host;      /* NUL-terminated, for TLS;
                                             empty for unix: */
} ngx_http_totp_redis_server_t;


typedef struct {
    ngx_str_t                  addr;      /* as configured, for messages */

    /* an address known at configuration time (literal, unix:, a name
       resolved once), or NULL */
    ngx_addr_t                *peer;

    /* a name resolved with nginx's resolver at each connect */
    ngx_str_t                  host;
    in_port_t                  port;
    ngx_resolver_t            *resolver;
    ngx_msec_t                 resolver_timeout;

    /* totp_redis_sentinel: ngx_http_totp_redis_server_t, asked in turn */
    ngx_array_t               *sentinels;
    ngx_str_t                  sentinel_master;
    ngx_str_t                  sentinel_user;
    ngx_str_t                  sentinel_password;

    ngx_str_t                  user;      /* an ACL user, or empty */
    ngx_str_t                  password;  /* read at configuration time */
    ngx_int_t                  db;
    ngx_msec_t                 timeout;
    ngx_int_t                  replicas;  /* WAIT for them after a code */

    ngx_flag_t                 ssl;
    ngx_flag_t                 ssl_verify;
    ngx_str_t                  ssl_trusted_certificate;
    ngx_str_t                  ssl_name;  /* NUL-terminated */
    ngx_str_t                  ssl_certificate;
    ngx_str_t                  ssl_certificate_key;
#if (NGX_SSL)
    ngx_ssl_t                 *ssl_ctx;
#endif
} ngx_http_totp_redis_conf_t;


/* "totp_redis": host:port, an address literal or unix:/path */
char *ngx_http_totp_redis_set_addr(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
/* "totp_redis_sentinel": address literals (or names resolved once) */
char *ngx_http_totp_redis_set_sentinel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

void ngx_http_totp_redis_create_conf(ngx_http_totp_redis_conf_t *rcf);
/* the defaults, the checks across directives, the TLS context */
char *ngx_http_totp_redis_init_conf(ngx_conf_t *cf,
    ngx_http_totp_redis_conf_t *rcf);


#endif /* _NGX_HTTP_TOTP_REDIS_CONF_H_INCLUDED_ */
