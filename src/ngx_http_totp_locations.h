
/*
 * The gated and the pages locations of every server, matched once all
 * locations are merged.
 */


#ifndef _NGX_HTTP_TOTP_LOCATIONS_H_INCLUDED_
#define _NGX_HTTP_TOTP_LOCATIONS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * From the module's postconfiguration: gives every totp_pages location
 * the profiles of the gated locations it serves, and refuses a gated
 * location without its pages, or pages that would serve two user bases.
 * *gated: how many locations the module has a part in.
 */
ngx_int_t ngx_http_totp_locations_init(ngx_conf_t *cf, ngx_uint_t *used);


#endif /* _NGX_HTTP_TOTP_LOCATIONS_H_INCLUDED_ */
