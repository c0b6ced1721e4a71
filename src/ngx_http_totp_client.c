
/*
 * A client's key for failure counting: the address as nginx has it after
 * realip, or totp_client_key's value.  A value that is an address, with
 * a port or without, is written as an address would be, so that
 * "::ffff:192.0.2.7" or "192.0.2.7:50123" from a proxy's header and
 * 192.0.2.7 on the socket are one client: a port must not make a client
 * of every connection.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_client.h"
#include "ngx_http_totp_log.h"


static ngx_int_t ngx_http_totp_client_address(ngx_http_request_t *r,
    struct sockaddr *sa, ngx_str_t *key);


ngx_int_t
ngx_http_totp_client_key(ngx_http_request_t *r,
    ngx_http_totp_loc_conf_t *conf, ngx_str_t *key, ngx_uint_t *exempt)
{
    ngx_addr_t  addr;
    ngx_str_t   value;

    *exempt = 0;

    if (conf->client_key == NULL) {
        goto address;
    }

    if (ngx_http_complex_value(r, conf->client_key, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 3 && ngx_strncmp(value.data, "off", 3) == 0) {
        *exempt = 1;
        goto address;
    }

    /* a missing header must not make every client one, nor none */

    if (value.len == 0) {
        goto address;
    }

    if (value.len > NGX_HTTP_TOTP_CLIENT_KEY_MAX) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "totp: totp_client_key value longer than %d bytes, "
                      "the address counts instead: \"%V\"",
                      NGX_HTTP_TOTP_CLIENT_KEY_MAX,
                      ngx_http_totp_log_escape(r->pool, &value));
        goto address;
    }

    if (ngx_parse_addr_port(r->pool, &addr, value.data, value.len) == NGX_OK)
    {
        return ngx_http_totp_client_address(r, addr.sockaddr, key);
    }

    *key = value;

    return NGX_OK;

address:

    return ngx_http_totp_client_address(r, r->connection->sockaddr, key);
}


static ngx_int_t
ngx_http_totp_client_address(ngx_http_request_t *r, struct sockaddr *sa,
    ngx_str_t *key)
{
    u_char               *p;
#if (NGX_HAVE_INET6)
    u_char                net[16];
    struct sockaddr_in6  *sin6;
#endif

    switch (sa->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:

        sin6 = (struct sockaddr_in6 *) sa;
        p = sin6->sin6_addr.s6_addr;

        key->data = ngx_pnalloc(r->pool, NGX_INET6_ADDRSTRLEN + 3);
        if (key->data == NULL) {
            return NGX_ERROR;
        }

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            key->len = ngx_sprintf(key->data, "%ud.%ud.%ud.%ud",
                                   p[12], p[13], p[14], p[15])
                       - key->data;
            return NGX_OK;
        }

        /* the interface half is the host's own choice: the /64 counts */

        ngx_memcpy(net, p, 8);
        ngx_memzero(net + 8, 8);

        key->len = ngx_inet6_ntop(net, key->data, NGX_INET6_ADDRSTRLEN);
        key->len = ngx_sprintf(key->data + key->len, "/64") - key->data;

        return NGX_OK;
#endif

    case AF_INET:

        key->data = ngx_pnalloc(r->pool, NGX_INET_ADDRSTRLEN);
        if (key->data == NULL) {
            return NGX_ERROR;
        }

        key->len = ngx_sock_ntop(sa, sizeof(struct sockaddr_in), key->data,
                                 NGX_INET_ADDRSTRLEN, 0);

        return key->len ? NGX_OK : NGX_ERROR;

    default: /* AF_UNIX */

        *key = r->connection->addr_text;

        return NGX_OK;
    }
}
