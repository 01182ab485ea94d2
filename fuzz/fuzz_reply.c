/*
 * Fuzz target: a DNS reply as it comes off the wire (ldns_wire2pkt), judged
 * by engine_judge_reply() as the answer to the reply's own question (the
 * usual case: the engine only judges replies whose question matched) and to
 * a few fixed questions (answers that do not belong to the question). The
 * answer text it returns is then read back the way the rest of the program
 * reads it: check_view_answer() for every check, check_mx_targets() and the
 * MX verdict for MX answers. The reply's EDNS options go through
 * engine_reply_site_ede(): the site must be printable ASCII, the codes
 * decimal INFO-CODEs joined by ';', and both must come back unchanged from a
 * row of the log written and read again. The same reply is also read as a
 * delegation (deleg_read_reply, the parent's referral or an answer) for its
 * own question's name and a fixed one, and its text read back with the
 * deleg_text_* helpers. First of all, the engine's two readings of a reply
 * (engine__wire_read without an ldns_pkt, ldns_wire2pkt) must agree on it
 * (tests/unit/reply_paths.h).
 */
#include "fuzz.h"
#include "engine.h"
#include "reports.h"
#include "rules.h"
#include "fuzz_log.h"
#include "../tests/unit/reply_paths.h"

#include <ldns/ldns.h>

static void judge(const ldns_pkt *pkt, const char *qname, uint16_t qtype)
{
    struct engine_result r;
    char *answer = NULL, *cname = NULL;
    memset(&r, 0, sizeof r);
    int rc = engine_judge_reply(pkt, qname, qtype, &r, &answer, &cname);
    if (rc != 0) {
        FUZZ_ASSERT(answer == NULL && cname == NULL);
        return;
    }
    FUZZ_ASSERT(answer != NULL);
    FUZZ_ASSERT((int)r.status >= 0 && r.status < OBS_STATUS_COUNT);
    /* the answer column must be ASCII: it goes into CSV files as it is */
    for (const char *p = answer; *p; p++)
        FUZZ_ASSERT(*p >= 0x20 && *p <= 0x7e);
    for (int c = 0; c < CHECK_COUNT; c++) {
        if (check_qtype((enum check_id)c) != qtype)
            continue;
        char *view = NULL;
        if (check_view_answer((enum check_id)c, answer, &view) == 0) {
            FUZZ_ASSERT(check_answers_equal((enum check_id)c, view, view) != 0);
            free(view);
        }
    }
    if (qtype == LDNS_RR_TYPE_MX) {
        struct check_mx_target *t = NULL;
        size_t n = 0;
        bool null_mx = false;
        if (check_mx_targets(answer, &t, &n, &null_mx) == 0)
            free(t);
        uint32_t reasons = 0;
        (void)check_mx_verdict("contoso.com", r.status, answer, true, PROFILE_M365, &reasons);
    }
    free(answer);
    free(cname);
}

static void deleg(const ldns_pkt *pkt, const char *domain)
{
    struct deleg_reading r;
    int rc = deleg_read_reply(pkt, domain, &r);
    if (rc != 0) {
        FUZZ_ASSERT(r.text == NULL);
        return;
    }
    FUZZ_ASSERT(r.text != NULL);
    FUZZ_ASSERT((int)r.status >= 0 && r.status < OBS_STATUS_COUNT);
    FUZZ_ASSERT((r.status == OBS_OK) == (r.text[0] != '\0'));
    for (const char *p = r.text; *p; p++)
        FUZZ_ASSERT(*p >= 0x20 && *p <= 0x7e);
    size_t n = deleg_text_nslen(r.text);
    FUZZ_ASSERT(n <= strlen(r.text));
    FUZZ_ASSERT(deleg_text_aa(r.text) == (r.from_answer && r.aa));
    char *g = NULL;
    if (deleg_text_glue_list(r.text, &g) == 0)
        free(g);
    if (deleg_text_glue(r.text, "ns1.contoso.com.", "A", &g, NULL) == 0)
        free(g);
    deleg_reading_deinit(&r);
}

static void site_ede(ldns_pkt *pkt)
{
    char *site = NULL, *ede = NULL;
    if (engine_reply_site_ede(pkt, &site, &ede) != 0) {
        FUZZ_ASSERT(site == NULL && ede == NULL);
        return;
    }
    FUZZ_ASSERT(site != NULL && ede != NULL);
    for (const char *p = site; *p; p++)
        FUZZ_ASSERT(*p >= 0x20 && *p <= 0x7e);
    unsigned codes = 0;
    for (const char *p = ede; *p;) {
        unsigned long v = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (unsigned long)(*p++ - '0');
        FUZZ_ASSERT(p > start && p - start <= 5 && v <= 65535);
        FUZZ_ASSERT(*start != '0' || p - start == 1);
        codes++;
        if (*p == ';') {
            p++;
            FUZZ_ASSERT(*p != '\0');
        } else {
            FUZZ_ASSERT(*p == '\0');
        }
    }
    FUZZ_ASSERT(codes <= ENGINE_EDE_MAX);
    /* through the log and back */
    struct obs o = {.time = 1795996800,
                    .vantage = "v",
                    .round = 1,
                    .domain = "contoso.com",
                    .check = "mx",
                    .qname = "contoso.com.",
                    .qtype = "MX",
                    .server = "r",
                    .address = "127.0.0.1",
                    .status = OBS_OK,
                    .rcode = 0,
                    .latency_ms = 1,
                    .ttl = 1,
                    .answer = "",
                    .expected = "",
                    .site = site,
                    .ede = ede};
    fuzz_obs_roundtrip(&o, OBS_NCOLUMNS);
    free(site);
    free(ede);
}

/* Whether the message holds more than one TSIG record where
 * ldns_wire2pkt() reads them (the additional section, one record less read
 * after each), up to the first record that does not parse. ldns 1.8.3 then
 * leaks the first, parsed or not: ldns_pkt_set_tsig() drops the record it
 * replaces. The leak is ldns's (the engine leaves a reply with a TSIG to
 * ldns_wire2pkt() as it always did): such inputs are skipped, or
 * LeakSanitizer would stop the run on them. */
static bool tsig_twice(const uint8_t *m, size_t len)
{
    if (len < LDNS_HEADER_SIZE)
        return false;
    size_t pos = LDNS_HEADER_SIZE;
    unsigned counts[4] = {LDNS_QDCOUNT(m), LDNS_ANCOUNT(m), LDNS_NSCOUNT(m), LDNS_ARCOUNT(m)};
    unsigned tsigs = 0;
    for (int sec = 0; sec < 4; sec++)
        for (unsigned i = 0; i < counts[sec]; i++) {
            ldns_rr *rr = NULL;
            if (ldns_wire2rr(&rr, m, len, &pos, (ldns_pkt_section)sec) != LDNS_STATUS_OK)
                return tsigs > 1; /* where ldns_wire2pkt() stops, the leak made */
            if (sec == LDNS_SECTION_ADDITIONAL && ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
                tsigs++;
                counts[sec]--;
            }
            ldns_rr_free(rr);
        }
    return tsigs > 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tsig_twice(data, size))
        return 0;
    struct reply_paths_seen seen;
    FUZZ_ASSERT(reply_paths_differ(data, size, &seen) == NULL);
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK)
        return 0;
    const ldns_rr_list *q = ldns_pkt_question(pkt);
    if (q != NULL && ldns_rr_list_rr_count(q) > 0) {
        const ldns_rr *rr = ldns_rr_list_rr(q, 0);
        char *qname = ldns_rdf2str(ldns_rr_owner(rr));
        if (qname != NULL) {
            judge(pkt, qname, (uint16_t)ldns_rr_get_type(rr));
            judge(pkt, qname, LDNS_RR_TYPE_MX);
            deleg(pkt, qname);
            free(qname);
        }
    }
    judge(pkt, "contoso.com.", LDNS_RR_TYPE_MX);
    deleg(pkt, "contoso.com");
    judge(pkt, "contoso.com", LDNS_RR_TYPE_TXT);
    judge(pkt, "selector1._domainkey.contoso.com.", LDNS_RR_TYPE_CNAME);
    site_ede(pkt);
    site_ede(pkt); /* again: ldns keeps the option list it read in the packet */
    ldns_pkt_free(pkt);
    return 0;
}
