
/*
 * The directives of ngx_http_totp_module and the configuration's life
 * cycle: what the module's tables point at.
 */


#ifndef _NGX_HTTP_TOTP_CONF_H_INCLUDED_
#define _NGX_HTTP_TOTP_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_totp_settings.h"


/* the directives; handlers, checks and merges are in ngx_http_totp_conf.c */
extern ngx_command_t  ngx_http_totp_commands[];

void *ngx_http_totp_create_main_conf(ngx_conf_t *cf);
char *ngx_http_totp_init_main_conf(ngx_conf_t *cf, void *conf);
void *ngx_http_totp_create_loc_conf(ngx_conf_t *cf);
char *ngx_http_totp_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


#endif /* _NGX_HTTP_TOTP_CONF_H_INCLUDED_ */
