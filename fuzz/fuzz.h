/*
 * Shared bits of the libFuzzer targets: a NUL-terminated copy of the input
 * (most parsers here take C strings) and the entry point's prototype.
 */
#ifndef DNSPROP_FUZZ_H
#define DNSPROP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data with a NUL after it (the caller frees); NULL when
 * out of memory. Embedded NULs stay, so C-string parsers see a prefix. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return NULL;
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Stops the fuzzer (abort: libFuzzer records the input) when a documented
 * postcondition of the code under test does not hold. */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#endif
