
/*
 * The language a page speaks: "totp_language", or for "auto" the best of
 * the client's Accept-Language that the pages speak.
 */


#ifndef _NGX_HTTP_TOTP_LANGUAGE_H_INCLUDED_
#define _NGX_HTTP_TOTP_LANGUAGE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_catalog.h"


/* "totp_language auto": after the languages themselves */
#define NGX_HTTP_TOTP_LANG_AUTO  NGX_HTTP_TOTP_LANGS


/* the values of "totp_language", for ngx_conf_set_enum_slot */
extern ngx_conf_enum_t  ngx_http_totp_language_names[];

/*
 * setting itself, or for NGX_HTTP_TOTP_LANG_AUTO the language of the
 * highest q among the request's Accept-Language ranges that the pages
 * speak (the first of equals; "fr-CH" is "fr"), English when none.
 */
ngx_uint_t ngx_http_totp_language(ngx_http_request_t *r, ngx_uint_t setting);


#endif /* _NGX_HTTP_TOTP_LANGUAGE_H_INCLUDED_ */
