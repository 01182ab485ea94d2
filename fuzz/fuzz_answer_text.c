/*
 * Fuzz target: answer_from_text(), the RDATA texts of --expect (parsed by
 * ldns's presentation-format readers), and the reader of answer texts
 * (answer_text_next, answer_mx_host, answer_mx_read) that the round, the checks and the
 * reports split log answers with. The first byte picks the type; the rest is
 * the text. A normalized text must be ASCII and normalize to itself; in every
 * grammar the records are slices of the text in order that, joined with the
 * grammar's separator, give back the text (up to where a split failed).
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

/* Splits text (len bytes) with flags and checks the records against it. */
static void split_all(const char *text, size_t len, unsigned flags)
{
    struct answer_text it;
    struct answer_rec rec;
    size_t seplen = flags & ANSWER_TEXT_BAR ? 1 : ANSWER_TEXT_SEPLEN, k = 0;
    const char *at = text;
    int got;
    answer_text_init(&it, text, len, flags);
    while ((got = answer_text_next(&it, &rec)) == 1) {
        /* the record starts where the last separator ended */
        FUZZ_ASSERT(rec.s == at && rec.s + rec.len <= text + len);
        if (flags & ANSWER_TEXT_STRINGS)
            FUZZ_ASSERT(rec.len > 0);
        at = rec.s + rec.len;
        if (at < text + len) {
            FUZZ_ASSERT(flags & ANSWER_TEXT_BAR ? *at == '|'
                                                : memcmp(at, ANSWER_TEXT_SEP, seplen) == 0);
            at += seplen;
        }
        uint16_t pref;
        struct answer_rec host;
        struct answer_rec loose = answer_mx_host(&rec);
        FUZZ_ASSERT(loose.s >= rec.s && loose.s + loose.len == rec.s + rec.len);
        if (answer_mx_read(&rec, &pref, &host) == 0)
            FUZZ_ASSERT(host.s == loose.s && host.len == loose.len && host.len > 0 &&
                        host.len < DNSNAME_BUFLEN);
        k++;
    }
    FUZZ_ASSERT(got == 0 || got == DP_EINPUT);
    FUZZ_ASSERT(answer_text_next(&it, &rec) == 0);
    if (got == 0) {
        /* all of the text, and the count agrees */
        size_t n = 0;
        FUZZ_ASSERT(len == 0 ? k == 0 : at == text + len);
        FUZZ_ASSERT(answer_text_count(text, flags, &n) == 0 && n == k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint16_t qtype = types[data[0] % (sizeof types / sizeof types[0])];
    char *in = fuzz_cstr(data + 1, size - 1);
    if (in == NULL)
        return 0;
    size_t len = strlen(in);
    split_all(in, len, 0);
    split_all(in, len, ANSWER_TEXT_STRINGS);
    split_all(in, len, ANSWER_TEXT_BAR);
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
