/*
 * Reading the answer text of `delegation` rows back (the grammar is in
 * reports/reports.h). Pure string work on texts from the log, which was
 * written by anyone: every function accepts any text and never reads past
 * its end.
 */
#include "reports/reports.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t deleg_text_nslen(const char *text)
{
    const char *sep = text ? strstr(text, DELEG_PART_SEP) : NULL;
    return text == NULL ? 0 : sep ? (size_t)(sep - text) : strlen(text);
}

bool deleg_text_aa(const char *text)
{
    size_t n = text ? strlen(text) : 0, k = strlen(DELEG_PART_SEP "aa");
    return n >= k && strcmp(text + n - k, DELEG_PART_SEP "aa") == 0;
}

/* Calls fn for each "glue NAME TYPE ADDR" part, with its three words. */
static int deleg__each_glue(const char *text,
                            int (*fn)(const char *name, size_t nl, const char *type, size_t tl,
                                      const char *addr, size_t al, void *arg),
                            void *arg)
{
    const char *p = text ? strstr(text, DELEG_PART_SEP) : NULL;
    size_t sl = strlen(DELEG_PART_SEP);
    while (p != NULL) {
        p += sl;
        const char *end = strstr(p, DELEG_PART_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 5 && memcmp(p, "glue ", 5) == 0) {
            const char *name = p + 5, *stop = p + len;
            const char *s1 = memchr(name, ' ', (size_t)(stop - name));
            const char *type = s1 ? s1 + 1 : NULL;
            const char *s2 = type ? memchr(type, ' ', (size_t)(stop - type)) : NULL;
            if (s2 != NULL && s2 + 1 < stop) {
                int rc = fn(name, (size_t)(s1 - name), type, (size_t)(s2 - type), s2 + 1,
                            (size_t)(stop - s2 - 1), arg);
                if (rc != 0)
                    return rc;
            }
        }
        p = end;
    }
    return 0;
}

struct deleg__buf {
    char *s;
    size_t len;
    int err;
    const char *name, *type; /* the filter, NULL: every part */
    bool any;
};

static void deleg__put(struct deleg__buf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    char *m = realloc(b->s, b->len + n + 1);
    if (m == NULL) {
        b->err = DP_ENOMEM;
        return;
    }
    memcpy(m + b->len, s, n);
    b->len += n;
    m[b->len] = '\0';
    b->s = m;
}

static int deleg__pick(const char *name, size_t nl, const char *type, size_t tl, const char *addr,
                       size_t al, void *arg)
{
    struct deleg__buf *b = arg;
    if (b->name != NULL) {
        if (strlen(b->name) != nl || strncasecmp(b->name, name, nl) != 0)
            return 0;
        b->any = true;
        if (strlen(b->type) != tl || memcmp(b->type, type, tl) != 0)
            return 0;
        if (b->len > 0)
            deleg__put(b, " | ", 3);
        deleg__put(b, addr, al);
        return 0;
    }
    if (b->len > 0)
        deleg__put(b, " | ", 3);
    deleg__put(b, name, nl);
    deleg__put(b, " ", 1);
    deleg__put(b, type, tl);
    deleg__put(b, " ", 1);
    deleg__put(b, addr, al);
    return 0;
}

static int deleg__finish(struct deleg__buf *b, char **out)
{
    if (b->err == 0 && b->s == NULL)
        b->s = strdup("");
    if (b->err != 0 || b->s == NULL) {
        free(b->s);
        *out = NULL;
        return DP_ENOMEM;
    }
    *out = b->s;
    return 0;
}

int deleg_text_glue(const char *text, const char *name, const char *type, char **out, bool *any)
{
    struct deleg__buf b = {.name = name, .type = type};
    deleg__each_glue(text, deleg__pick, &b);
    if (any != NULL)
        *any = b.any;
    return deleg__finish(&b, out);
}

int deleg_text_glue_list(const char *text, char **out)
{
    struct deleg__buf b = {0};
    deleg__each_glue(text, deleg__pick, &b);
    return deleg__finish(&b, out);
}

bool deleg_in_domain(const char *name, const char *domain)
{
    size_t n = name ? strlen(name) : 0, d = domain ? strlen(domain) : 0;
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (d > 0 && domain[d - 1] == '.')
        d--;
    if (d == 0 || n < d || strncasecmp(name + n - d, domain, d) != 0)
        return false;
    return n == d || (name[n - d - 1] == '.' && (n - d < 2 || name[n - d - 2] != '\\'));
}
