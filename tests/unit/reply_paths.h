/*
 * The engine's two readings of a reply side by side: engine__wire_read()
 * (no ldns_pkt: what the engine does with most replies) and ldns_wire2pkt()
 * (a query that wants the whole reply, and every reply the wire reading
 * leaves to ldns). They must agree on every message: the wire reading takes
 * only what ldns_wire2pkt() takes, the judge reads the same of both, and
 * the verdicts, site and EDE codes come out the same. Used by test_engine
 * (crafted replies and every cut and byte change of them) and by the reply
 * fuzzer (fuzz/fuzz_reply.c). Header-only: static functions.
 */
#ifndef DNSPROP_TEST_REPLY_PATHS_H
#define DNSPROP_TEST_REPLY_PATHS_H

#include "engine.h"
#include "engine_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

static bool reply_paths_rdf_same(const ldns_rdf *a, const ldns_rdf *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return ldns_rdf_get_type(a) == ldns_rdf_get_type(b) && ldns_rdf_size(a) == ldns_rdf_size(b) &&
           memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
}

/* Every part of two records, the TTL and each field's type included. */
static bool reply_paths_rr_same(const ldns_rr *a, const ldns_rr *b)
{
    if (!reply_paths_rdf_same(ldns_rr_owner(a), ldns_rr_owner(b)) ||
        ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
        ldns_rr_get_class(a) != ldns_rr_get_class(b) || ldns_rr_ttl(a) != ldns_rr_ttl(b) ||
        ldns_rr_rd_count(a) != ldns_rr_rd_count(b) ||
        ldns_rr_is_question(a) != ldns_rr_is_question(b))
        return false;
    for (size_t i = 0; i < ldns_rr_rd_count(a); i++)
        if (!reply_paths_rdf_same(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)))
            return false;
    return true;
}

static bool reply_paths_list_same(const ldns_rr_list *a, const ldns_rr_list *b)
{
    if (ldns_rr_list_rr_count(a) != ldns_rr_list_rr_count(b))
        return false;
    for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++)
        if (!reply_paths_rr_same(ldns_rr_list_rr(a, i), ldns_rr_list_rr(b, i)))
            return false;
    return true;
}

static bool reply_paths_str_same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* NULL when both judge (qname, qtype) alike, else what differs. */
static const char *reply_paths_verdicts_differ(const struct engine__reply *a,
                                               const struct engine__reply *b, const ldns_rdf *qname,
                                               uint16_t qtype)
{
    struct engine_result ra, rb;
    char *ans_a = NULL, *ans_b = NULL, *cn_a = NULL, *cn_b = NULL;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    int rc_a = engine__judge(a, qname, qtype, &ra, &ans_a, &cn_a);
    int rc_b = engine__judge(b, qname, qtype, &rb, &ans_b, &cn_b);
    const char *why = NULL;
    if (rc_a != rc_b)
        why = "the judge's return";
    else if (rc_a == 0 && (ra.status != rb.status || ra.rcode != rb.rcode || ra.ttl != rb.ttl))
        why = "status, rcode or TTL";
    else if (!reply_paths_str_same(ans_a, ans_b))
        why = "the answer";
    else if (!reply_paths_str_same(cn_a, cn_b))
        why = "the CNAME target";
    free(ans_a);
    free(ans_b);
    free(cn_a);
    free(cn_b);
    return why;
}

/* How reply_paths_differ() found the message. */
struct reply_paths_seen {
    bool question; /* QDCOUNT 1 and a question that parses: the engine could match it */
    bool wire;     /* engine__wire_read() read it */
    bool pkt;      /* ldns_wire2pkt() parsed it */
};

/* The message m of len bytes read both ways; NULL when the readings agree
 * (or the message has no question the engine could have matched), else
 * what differs. */
static const char *reply_paths_differ(const uint8_t *m, size_t len, struct reply_paths_seen *seen)
{
    static const uint16_t types[] = {LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A, LDNS_RR_TYPE_CNAME,
                                     LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_NS};
    const char *why = NULL;
    struct engine__wire w;
    ldns_pkt *pkt = NULL;
    ldns_rdf *qname = NULL, *other = ldns_dname_new_frm_str("contoso.com.");
    size_t pos = LDNS_HEADER_SIZE;
    memset(seen, 0, sizeof *seen);
    int wrc = engine__wire_init(&w);
    if (wrc != 0 || other == NULL) {
        why = "out of memory";
        goto out;
    }
    /* the question as the engine's match reads it, when it reads one */
    if (len < LDNS_HEADER_SIZE || LDNS_QDCOUNT(m) != 1 ||
        ldns_wire2dname(&qname, m, len, &pos) != LDNS_STATUS_OK || pos + 4 > len)
        goto out;
    seen->question = true;
    uint16_t qtype = (uint16_t)(m[pos] << 8 | m[pos + 1]);
    seen->wire = engine__wire_read(&w, m, len, pos + 4) == 0;
    seen->pkt = ldns_wire2pkt(&pkt, m, len) == LDNS_STATUS_OK && pkt != NULL;
    if (seen->wire && !seen->pkt) {
        why = "the wire reading took a message ldns_wire2pkt() refuses";
        goto out;
    }
    if (!seen->wire)
        goto out;
    struct engine__reply v;
    engine__reply_of_pkt(&v, pkt);
    if (w.v.qr != v.qr || w.v.opcode != v.opcode || w.v.rcode != v.rcode) {
        why = "QR, opcode or rcode";
        goto out;
    }
    if (!reply_paths_list_same(w.v.an, v.an) || !reply_paths_list_same(w.v.ns, v.ns)) {
        why = "the answer or authority section";
        goto out;
    }
    if ((w.v.edns_data == NULL) != (v.edns_data == NULL) ||
        (v.edns_data != NULL && (ldns_rdf_size(w.v.edns_data) != ldns_rdf_size(v.edns_data) ||
                                 memcmp(ldns_rdf_data(w.v.edns_data), ldns_rdf_data(v.edns_data),
                                        ldns_rdf_size(v.edns_data)) != 0))) {
        why = "the OPT RDATA";
        goto out;
    }
    why = reply_paths_verdicts_differ(&w.v, &v, qname, qtype);
    for (size_t i = 0; why == NULL && i < sizeof types / sizeof types[0]; i++) {
        why = reply_paths_verdicts_differ(&w.v, &v, qname, types[i]);
        if (why == NULL)
            why = reply_paths_verdicts_differ(&w.v, &v, other, types[i]);
    }
    if (why == NULL) {
        char *site_a = NULL, *ede_a = NULL, *site_b = NULL, *ede_b = NULL;
        int rc_a = engine__wire_site_ede(&w, &site_a, &ede_a);
        int rc_b = engine_reply_site_ede(pkt, &site_b, &ede_b);
        if (rc_a != rc_b || !reply_paths_str_same(site_a, site_b) ||
            !reply_paths_str_same(ede_a, ede_b))
            why = "the site or the EDE codes";
        free(site_a);
        free(ede_a);
        free(site_b);
        free(ede_b);
    }
out:
    if (wrc == 0)
        engine__wire_clear(&w);
    engine__wire_deinit(&w);
    ldns_pkt_free(pkt);
    ldns_rdf_deep_free(qname);
    ldns_rdf_deep_free(other);
    return why;
}

#endif
