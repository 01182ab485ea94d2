/*
 * Fuzz target: the --domains file parser (check_domains_parse). Every name it
 * returns must be a normalized domain.
 */
#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct check_domain *d = NULL;
    size_t n = 0;
    char err[512] = "";
    int rc = check_domains_parse((const char *)data, size, "domains.txt", PROFILE_NONE, &d, &n, err,
                                 sizeof err);
    if (rc == 0) {
        FUZZ_ASSERT(n >= 1 && d != NULL);
        for (size_t i = 0; i < n; i++) {
            char again[DNSNAME_BUFLEN];
            const char *why = NULL;
            FUZZ_ASSERT(dnsname_normalize(d[i].name, again, sizeof again, &why) == 0);
            FUZZ_ASSERT(strcmp(again, d[i].name) == 0);
        }
        free(d);
    } else {
        FUZZ_ASSERT(rc == DP_ENOMEM || strncmp(err, "domains.txt:", 12) == 0);
    }
    return 0;
}
