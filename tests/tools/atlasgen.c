/*
 * atlasgen: prints the base64 of a DNS reply built with ldns, as RIPE Atlas
 * stores it in a result's abuf, for tests and benchmarks that need results
 * for their own domains (the real results in tests/data/atlas are for other
 * names).
 *
 *   atlasgen QNAME QTYPE RCODE [RR...]
 *
 * RCODE is a mnemonic (NOERROR, NXDOMAIN, SERVFAIL, REFUSED); each RR is a
 * record in zone-file form ("contoso.test. 300 IN MX 0 mx.example."), put in
 * the answer section, or in the authority section when it is a SOA. The reply
 * has QR, RD and RA set, ID 4242. Exit 0, or 2 with a message for bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: atlasgen QNAME QTYPE RCODE [RR...]\n");
        return 2;
    }
    ldns_rdf *qname = ldns_dname_new_frm_str(argv[1]);
    ldns_rr_type qtype = ldns_get_rr_type_by_name(argv[2]);
    ldns_lookup_table *rc = ldns_lookup_by_name(ldns_rcodes, argv[3]);
    if (qname == NULL || qtype == 0 || rc == NULL) {
        fprintf(stderr, "atlasgen: bad question or rcode\n");
        return 2;
    }
    ldns_pkt *p = ldns_pkt_query_new(qname, qtype, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(p, 4242);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_ra(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rc->id);
    for (int i = 4; i < argc; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, argv[i], 3600, NULL, NULL) != LDNS_STATUS_OK) {
            fprintf(stderr, "atlasgen: bad record '%s'\n", argv[i]);
            return 2;
        }
        ldns_pkt_push_rr(p,
                         ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ? LDNS_SECTION_AUTHORITY
                                                                  : LDNS_SECTION_ANSWER,
                         rr);
    }
    uint8_t *wire = NULL;
    size_t len = 0;
    if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
        fprintf(stderr, "atlasgen: cannot build the reply\n");
        return 2;
    }
    ldns_rdf *b = ldns_rdf_new(LDNS_RDF_TYPE_B64, len, wire);
    char *s = ldns_rdf2str(b);
    puts(s);
    free(s);
    ldns_rdf_free(b);
    free(wire);
    ldns_pkt_free(p);
    return 0;
}
