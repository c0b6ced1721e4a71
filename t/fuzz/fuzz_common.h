
/*
 * Shared by the fuzz harnesses: a property check that aborts with a
 * message (libFuzzer then keeps the input as crash-*).
 */


#ifndef _TOTP_FUZZ_COMMON_H_INCLUDED_
#define _TOTP_FUZZ_COMMON_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>


#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "\nPROPERTY FAILED at %s:%d: %s\n",              \
                    __FILE__, __LINE__, #cond);                              \
            abort();                                                         \
        }                                                                    \
    } while (0)


#endif /* _TOTP_FUZZ_COMMON_H_INCLUDED_ */
