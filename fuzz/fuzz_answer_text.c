/*
 * Fuzz target: answer_from_text(), the RDATA texts of --expect (parsed by
 * ldns's presentation-format readers). The first byte picks the type; the
 * rest is the text. A normalized text must be ASCII and normalize to itself.
 */
#include "fuzz.h"
#include "rules.h"

#include <ldns/ldns.h>

static const uint16_t types[] = {
    LDNS_RR_TYPE_MX,    LDNS_RR_TYPE_TXT,
    LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_NS,
    LDNS_RR_TYPE_SOA,   LDNS_RR_TYPE_A,
    LDNS_RR_TYPE_AAAA,  LDNS_RR_TYPE_PTR,
    LDNS_RR_TYPE_SRV,   LDNS_RR_TYPE_CAA,
    LDNS_RR_TYPE_DS,    LDNS_RR_TYPE_SVCB,
    LDNS_RR_TYPE_NULL,  65280, /* a private type: \# generic syntax only */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t qtype = types[data[0] % (sizeof types / sizeof types[0])];
    char *in = fuzz_cstr(data + 1, size - 1);
    if (in == NULL)
        return 0;
    char *out = NULL, *again = NULL;
    const char *why = NULL;
    int rc = answer_from_text(qtype, in, &out, &why);
    if (rc == 0) {
        for (const char *p = out; *p; p++)
            FUZZ_ASSERT(*p >= 0x20 && *p <= 0x7e);
        if (answer_from_text(qtype, out, &again, &why) == 0)
            free(again);
        free(out);
    } else {
        FUZZ_ASSERT(rc == DP_EINPUT || rc == DP_ENOMEM);
        FUZZ_ASSERT(out == NULL);
    }
    free(in);
    return 0;
}
