/* testutil.h: what every cmocka unit test includes. */
#ifndef NEUROMIC_TESTUTIL_H
#define NEUROMIC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Asserts that haystack contains needle, printing both if not. */
#define assert_contains(haystack, needle)                                              \
    do {                                                                               \
        const char *h_ = (haystack), *n_ = (needle);                                   \
        if (!h_ || !strstr(h_, n_)) {                                                  \
            print_error("expected \"%s\" to contain \"%s\"\n", h_ ? h_ : "(null)", n_); \
            fail();                                                                    \
        }                                                                              \
    } while (0)

#endif
