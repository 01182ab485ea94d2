/*
 * Interned strings and growing arrays, for every module: the reports keep
 * every domain, check, server and address once (ids in order of first
 * appearance), and the command line finds a repeated domain among 100,000
 * in constant time instead of comparing it with every earlier one.
 *
 * The table is open addressing over ids (id + 1, 0 = free), kept at most
 * half full and doubled when it would be fuller, so an add or a find costs a
 * hash and a probe or two whatever the number of strings.
 */
#include "dnsprop.h"

#include <stdlib.h>
#include <string.h>

uint64_t dp_hash(uint64_t h, const void *p, size_t n)
{
    /* FNV-1a over 8-byte words (then the tail bytewise): a fingerprint,
     * not a defence; the same bytes always give the same value (the
     * reports' saved state holds such fingerprints, so this never changes) */
    const unsigned char *c = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, c + i, 8);
        h ^= v;
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int dp_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c <= n) {
        if (c > SIZE_MAX / 2)
            return DP_ENOMEM;
        c *= 2;
    }
    if (c > SIZE_MAX / (sz ? sz : 1))
        return DP_ENOMEM;
    void *b = realloc(*arr, c * sz);
    if (b == NULL)
        return DP_ENOMEM;
    *arr = b;
    *cap = c;
    return 0;
}

/* The slot holding s (len bytes), or the free slot where it would go. */
static uint32_t probe(const struct dp_strtab *t, const char *s, size_t len)
{
    uint32_t j = (uint32_t)dp_hash(DP_HASH_INIT, s, len) & (t->nslots - 1);
    while (t->slots[j] != 0) {
        const char *c = t->s[t->slots[j] - 1];
        if (strncmp(c, s, len) == 0 && c[len] == '\0')
            return j;
        j = (j + 1) & (t->nslots - 1);
    }
    return j;
}

uint32_t dp_strtab_find(const struct dp_strtab *t, const char *s, size_t len)
{
    if (t->nslots == 0)
        return UINT32_MAX;
    uint32_t j = probe(t, s, len);
    return t->slots[j] ? t->slots[j] - 1 : UINT32_MAX;
}

uint32_t dp_strtab_add(struct dp_strtab *t, const char *s, size_t len)
{
    if (t->n >= UINT32_MAX / 2 - 1)
        return UINT32_MAX;
    if (t->n * 2 >= t->nslots) {
        uint32_t ns = t->nslots ? t->nslots * 2 : 64;
        uint32_t *slots = calloc(ns, sizeof *slots);
        if (slots == NULL)
            return UINT32_MAX;
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t j = (uint32_t)dp_hash(DP_HASH_INIT, t->s[i], strlen(t->s[i])) & (ns - 1);
            while (slots[j] != 0)
                j = (j + 1) & (ns - 1);
            slots[j] = i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = ns;
    }
    uint32_t j = probe(t, s, len);
    if (t->slots[j] != 0)
        return t->slots[j] - 1;
    if (t->n >= t->cap) {
        uint32_t c = t->cap ? t->cap * 2 : 16;
        char **b = realloc(t->s, (size_t)c * sizeof *b);
        if (b == NULL)
            return UINT32_MAX;
        t->s = b;
        t->cap = c;
    }
    char *c = malloc(len + 1);
    if (c == NULL)
        return UINT32_MAX;
    memcpy(c, s, len);
    c[len] = '\0';
    t->s[t->n] = c;
    t->slots[j] = t->n + 1;
    return t->n++;
}

void dp_strtab_deinit(struct dp_strtab *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
