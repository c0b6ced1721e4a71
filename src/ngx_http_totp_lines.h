
/*
 * The password lines a worker keeps: a user's line, as a thread read it
 * from the file, answers the next request about that user without a
 * thread, as long as a stat() says the file is the one it was read from.
 * A sign-in and the code that follows it, or a session checked again
 * every totp_revalidate, so read the file once while it stays the same.
 */


#ifndef _NGX_HTTP_TOTP_LINES_H_INCLUDED_
#define _NGX_HTTP_TOTP_LINES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * What a read found of user in the file at path (NUL-terminated):
 * found or not (rc NGX_OK or NGX_DECLINED), the line, the file as it was
 * opened (fi), and when the read was asked for (a change in that same
 * second would not show in the file's time).
 */
void ngx_http_totp_lines_keep(u_char *path, ngx_str_t *user, ngx_int_t rc,
    u_char *text, size_t len, ngx_file_info_t *fi, time_t asked,
    ngx_log_t *log);

/*
 * NGX_OK, *rc and *text (a copy in r's pool, wiped with it) when this
 * worker keeps user's line and the file did not change since; NGX_DECLINED
 * when it must be read.
 */
ngx_int_t ngx_http_totp_lines_find(ngx_http_request_t *r, u_char *path,
    ngx_str_t *user, ngx_int_t *rc, ngx_str_t *text);

/* every line kept, wiped and freed: at the worker's exit */
void ngx_http_totp_lines_release(void);


#endif /* _NGX_HTTP_TOTP_LINES_H_INCLUDED_ */
