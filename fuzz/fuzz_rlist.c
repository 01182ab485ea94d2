/*
 * Fuzz target: resolver lists. The whole input as a list file
 * (rlist_load_csv, plain and authoritative), and its first line as the
 * comma-list syntax of --resolvers (rlist_load_list). On error the list must
 * be left as it was; every server added must format back to its address.
 */
#include "fuzz.h"
#include "resolvers.h"

#include <stdio.h>

static void check_list(const struct rlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        char buf[RLIST_ADDRSTRLEN];
        rlist_format_address((const struct sockaddr *)&l->v[i].sa, buf, sizeof buf);
        FUZZ_ASSERT(strcmp(buf, l->v[i].address) == 0);
        FUZZ_ASSERT(l->v[i].name != NULL && l->v[i].name[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[RLIST_ERRLEN];
    for (int auth = 0; auth <= 1; auth++) {
        struct rlist l = {0};
        /* start non-empty, so that "nothing added on error" is visible */
        FUZZ_ASSERT(rlist_add(&l, "seed", "192.0.2.1", "", "", auth, err, sizeof err) == 0);
        if (rlist_load_csv(&l, "list.csv", (const char *)data, size, auth, NULL, err, sizeof err) !=
            0)
            FUZZ_ASSERT(l.n == 1);
        check_list(&l);
        rlist_deinit(&l);
    }

    const uint8_t *nl = memchr(data, '\n', size);
    char *spec = fuzz_cstr(data, nl != NULL ? (size_t)(nl - data) : size);
    if (spec == NULL)
        return 0;
    for (int auth = 0; auth <= 1; auth++) {
        struct rlist l = {0};
        if (rlist_load_list(&l, spec, auth, NULL, err, sizeof err) != 0)
            FUZZ_ASSERT(l.n == 0);
        check_list(&l);
        rlist_deinit(&l);
    }
    free(spec);
    return 0;
}
