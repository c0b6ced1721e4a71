
/*
 * The TAP the C unit tests print, for prove: ok() and diag(), and the
 * counts their main() reports.
 */


#ifndef _TOTP_TAP_H_INCLUDED_
#define _TOTP_TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>


static unsigned  tests;
static unsigned  failures;


static int
ok(int cond, const char *fmt, ...)
{
    va_list  ap;

    tests++;

    if (!cond) {
        failures++;
        printf("not ");
    }

    printf("ok %u - ", tests);

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);

    printf("\n");
    fflush(stdout);

    return cond;
}


static void
diag(const char *fmt, ...)
{
    va_list  ap;

    printf("# ");

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);

    printf("\n");
}


#endif /* _TOTP_TAP_H_INCLUDED_ */
