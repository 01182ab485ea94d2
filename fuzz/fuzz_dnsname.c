/*
 * Fuzz target: dnsname_normalize(), the domain names users type (libidn2
 * underneath). Checks the documented postconditions: on success the name is
 * 1..253 bytes of [a-z0-9_-.] with no final dot, and normalizing it again
 * gives the same name; on failure out is "" and why is set.
 */
#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (in == NULL)
        return 0;
    for (unsigned flags = 0; flags <= DNSNAME_ANY; flags++) {
        char out[DNSNAME_BUFLEN], again[DNSNAME_BUFLEN];
        const char *why = NULL;
        int rc = dnsname_normalize_ex(in, flags, out, sizeof out, &why);
        if (rc != 0) {
            FUZZ_ASSERT(rc == DP_EINPUT || rc == DP_ENOMEM);
            FUZZ_ASSERT(rc == DP_ENOMEM || (why != NULL && out[0] == '\0'));
            continue;
        }
        size_t len = strlen(out);
        FUZZ_ASSERT(len >= 1 && len <= DNSNAME_MAX && out[len - 1] != '.');
        for (size_t i = 0; i < len; i++) {
            char c = out[i];
            FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                        c == '.');
        }
        FUZZ_ASSERT(dnsname_normalize_ex(out, flags, again, sizeof again, &why) == 0);
        FUZZ_ASSERT(strcmp(out, again) == 0);
    }
    free(in);
    return 0;
}
