
/*
 * An htpasswd file read line by line through a bounded buffer, and a
 * password checked against one of its hashes: the work of a sign-in
 * that may take a good part of a second, so it runs in a thread of
 * nginx's pool (ngx_http_totp_password.c).  Nothing here logs, touches
 * a request or keeps state between calls: what went wrong is left in
 * the scan for the event loop to log.
 */


#ifndef _NGX_HTTP_TOTP_HTPASSWD_H_INCLUDED_
#define _NGX_HTTP_TOTP_HTPASSWD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* the longest line kept, before its LF (a CR is counted); longer: passed */
#ifndef NGX_HTTP_TOTP_HTPASSWD_LINE
#define NGX_HTTP_TOTP_HTPASSWD_LINE  4096
#endif

/* what one read() takes: few system calls, on a thread's stack */
#define NGX_HTTP_TOTP_HTPASSWD_CHUNK  (64 * 1024)

/* a file this large is a mistake, not a password list */
#define NGX_HTTP_TOTP_HTPASSWD_MAX   (16 * 1024 * 1024)


/* why a scan or a check failed, for the event loop's log */
typedef enum {
    NGX_HTTP_TOTP_HTPASSWD_OK = 0,
    NGX_HTTP_TOTP_HTPASSWD_OPEN,       /* open() failed, err set */
    NGX_HTTP_TOTP_HTPASSWD_READ,       /* read() failed, err set */
    NGX_HTTP_TOTP_HTPASSWD_NOT_FILE,   /* a FIFO, a device, a directory */
    NGX_HTTP_TOTP_HTPASSWD_LARGE,      /* over NGX_HTTP_TOTP_HTPASSWD_MAX */
    NGX_HTTP_TOTP_HTPASSWD_LONG,       /* the user's line is too long */
    NGX_HTTP_TOTP_HTPASSWD_FORMAT,     /* a hash ngx_crypt() cannot read */
    NGX_HTTP_TOTP_HTPASSWD_NOMEM
} ngx_http_totp_htpasswd_failure_e;


/*
 * One pass over a file for one user: lines "user:hash" or
 * "user:hash:comment", "#" comments, LF or CRLF, the last line with or
 * without its LF.  The first line of the user counts.  The first
 * crypt(3) hash ("$...") of any user is kept as the decoy, hashed in
 * place of a user who is not in the file.
 */
typedef struct {
    ngx_str_t                    user;

    /* the user's line, without its line break; the hash inside it */
    u_char                       line[NGX_HTTP_TOTP_HTPASSWD_LINE];
    size_t                       line_len;
    size_t                       hash_start;
    size_t                       hash_len;
    unsigned                     found:1;

    /* the user's line was longer than line[]: it cannot be checked */
    unsigned                     too_long:1;

    u_char                       decoy[NGX_HTTP_TOTP_HTPASSWD_LINE];
    size_t                       decoy_len;

    /* a line begun in one chunk and not ended yet; or one being passed */
    u_char                       part[NGX_HTTP_TOTP_HTPASSWD_LINE];
    size_t                       part_len;
    unsigned                     passing:1;
} ngx_http_totp_htpasswd_t;


void ngx_http_totp_htpasswd_init(ngx_http_totp_htpasswd_t *h,
    ngx_str_t *user);

/* the file's next len bytes, in any chunks */
void ngx_http_totp_htpasswd_feed(ngx_http_totp_htpasswd_t *h, u_char *data,
    size_t len);

/* the file ended: its last line, if it had no LF */
void ngx_http_totp_htpasswd_end(ngx_http_totp_htpasswd_t *h);

/*
 * The regular file at path (NUL-terminated) fed through a bounded
 * buffer, to its end, or only up to the user's line unless whole; never
 * more than NGX_HTTP_TOTP_HTPASSWD_MAX bytes, and never a wait for a
 * FIFO's writer.  NGX_OK and *fi, the file as it was opened, or
 * NGX_ERROR with the failure and errno in *failure and *err.
 */
ngx_int_t ngx_http_totp_htpasswd_scan(ngx_http_totp_htpasswd_t *h,
    u_char *path, ngx_uint_t whole, ngx_file_info_t *fi,
    ngx_http_totp_htpasswd_failure_e *failure, ngx_err_t *err);

/*
 * password against hash (as ngx_crypt() reads it: {PLAIN}, {SHA}, {SSHA},
 * $apr1$ and the C library's crypt(3) formats), in a pool of its own:
 * NGX_OK, NGX_DECLINED, or NGX_ERROR with *failure set.
 */
ngx_int_t ngx_http_totp_htpasswd_match(ngx_str_t *password, u_char *hash,
    size_t len, ngx_log_t *log, ngx_http_totp_htpasswd_failure_e *failure);

/* what the scan holds of the file, wiped */
void ngx_http_totp_htpasswd_wipe(ngx_http_totp_htpasswd_t *h);


#endif /* _NGX_HTTP_TOTP_HTPASSWD_H_INCLUDED_ */
