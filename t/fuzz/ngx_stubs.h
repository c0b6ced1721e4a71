
/*
 * For the harnesses that include a module source file written against
 * nginx's types: nginx-dev ships headers only, so the few nginx core
 * functions those files reference are defined here.  Allocations come
 * from an arena that the harness resets after every input (no leaks, and
 * ASan still sees each allocation's exact bounds); the log is silent.
 *
 * Include after <ngx_config.h>, <ngx_core.h> and <ngx_http.h> (or after
 * the module's .c file, which includes them).
 */


#ifndef _TOTP_FUZZ_NGX_STUBS_H_INCLUDED_
#define _TOTP_FUZZ_NGX_STUBS_H_INCLUDED_


#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
    void          *data;
};


static fuzz_block_t  *fuzz_arena;


static void *
fuzz_alloc(size_t size)
{
    fuzz_block_t  *b;

    b = malloc(sizeof(fuzz_block_t));
    if (b == NULL) {
        return NULL;
    }

    /* malloc(0) may return NULL, which nginx would read as a failure */
    b->data = malloc(size ? size : 1);
    if (b->data == NULL) {
        free(b);
        return NULL;
    }

    b->next = fuzz_arena;
    fuzz_arena = b;

    return b->data;
}


static void
fuzz_arena_reset(void)
{
    fuzz_block_t  *b, *next;

    for (b = fuzz_arena; b; b = next) {
        next = b->next;
        free(b->data);
        free(b);
    }

    fuzz_arena = NULL;
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    return fuzz_alloc(size);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    return fuzz_alloc(size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = fuzz_alloc(size);
    if (p) {
        memset(p, 0, size);
    }

    return p;
}


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
}


/* as in src/core/ngx_string.c */

ngx_int_t
ngx_hextoi(u_char *line, size_t n)
{
    u_char     c, ch;
    ngx_int_t  value, cutoff;

    if (n == 0) {
        return NGX_ERROR;
    }

    cutoff = NGX_MAX_INT_T_VALUE / 16;

    for (value = 0; n--; line++) {
        if (value > cutoff) {
            return NGX_ERROR;
        }

        ch = *line;

        if (ch >= '0' && ch <= '9') {
            value = value * 16 + (ch - '0');
            continue;
        }

        c = (u_char) (ch | 0x20);

        if (c >= 'a' && c <= 'f') {
            value = value * 16 + (c - 'a' + 10);
            continue;
        }

        return NGX_ERROR;
    }

    return value;
}


void
ngx_explicit_memzero(void *buf, size_t n)
{
    volatile u_char  *p = buf;

    while (n--) {
        *p++ = 0;
    }
}


/* referenced by code the harnesses do not run: reaching one is a bug */

#define FUZZ_UNREACHABLE(name)                                               \
    do {                                                                     \
        fprintf(stderr, "fuzz stub %s reached\n", name);                     \
        abort();                                                             \
    } while (0)


#endif /* _TOTP_FUZZ_NGX_STUBS_H_INCLUDED_ */
