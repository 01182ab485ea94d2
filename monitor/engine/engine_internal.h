/*
 * The engine's own helpers shared by its files (engine.c, engine_judge.c);
 * not part of engine.h, so nothing outside the engine (but its unit tests)
 * sees them.
 */
#ifndef DNSPROP_ENGINE_INTERNAL_H
#define DNSPROP_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the n bytes at a and at b are the same name in wire form
 * (uncompressed), letters compared without case as ldns_dname_compare()
 * does. b must be a valid name of n bytes (as ldns holds one); a may be any
 * n bytes, say from a reply. Length bytes (at most 63) are below every
 * letter and folding never makes one, so folding case over the whole of both
 * compares the labels' structure exactly and their letters without case.
 * Inline: it runs for every reply (question match) and every answer record
 * (the CNAME walk). */
static inline bool engine__wire_name_same(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = a[i], d = b[i];
        if (c == d)
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (d >= 'A' && d <= 'Z')
            d = (uint8_t)(d - 'A' + 'a');
        if (c != d)
            return false;
    }
    return true;
}

#endif
