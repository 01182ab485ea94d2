/*
 * Writes seed DNS replies for the fuzz_reply target: real wire-format
 * messages, built with ldns from zone-file text, covering what the engine
 * meets: MX, SPF/DMARC TXT, CNAME chains, NXDOMAIN/NODATA with an SOA, EDNS
 * with an extended rcode, SERVFAIL, a truncated reply, compression.
 * Usage: fuzz_make_reply_seeds DIR (files DIR/NAME.bin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

struct seed {
    const char *file;
    const char *qname;
    ldns_rr_type qtype;
    ldns_pkt_rcode rcode;
    bool tc, edns;
    const char *answer[6]; /* zone-file lines */
    const char *authority[3];
    const char *additional[4];
    bool no_aa; /* a referral: AA clear */
};

static const struct seed seeds[] = {
    {"mx_one",
     "contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com."},
     {NULL}},
    {"mx_two",
     "Contoso.COM.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"contoso.com. 300 IN MX 10 Mail.Contoso.com.", "contoso.com. 200 IN MX 0 .",
      "contoso.com. 300 IN MX 5 192.0.2.1."},
     {NULL}},
    {"spf_txt",
     "contoso.com.",
     LDNS_RR_TYPE_TXT,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN TXT \"v=spf1 include:spf.protection.outlook.com\" \" -all\"",
      "contoso.com. 3600 IN TXT \"google-site-verification=abc\\001\\255\"",
      "contoso.com. 3600 IN TXT \"v=spf1 -all\""},
     {NULL}},
    {"dmarc",
     "_dmarc.contoso.com.",
     LDNS_RR_TYPE_TXT,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"_dmarc.contoso.com. 3600 IN TXT \"v=DMARC1; p=reject; rua=mailto:d@contoso.com\""},
     {NULL}},
    {"cname_chain",
     "autodiscover.contoso.com.",
     LDNS_RR_TYPE_A,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.",
      "autodiscover.outlook.com. 60 IN CNAME autod.ms-acdc.office.com.",
      "autod.ms-acdc.office.com. 30 IN A 52.97.1.1", "autod.ms-acdc.office.com. 30 IN A 52.97.1.2"},
     {NULL}},
    {"cname_loop",
     "a.contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"a.contoso.com. 60 IN CNAME b.contoso.com.", "b.contoso.com. 60 IN CNAME a.contoso.com."},
     {NULL}},
    {"dkim",
     "selector1._domainkey.contoso.com.",
     LDNS_RR_TYPE_CNAME,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"selector1._domainkey.contoso.com. 3600 IN CNAME "
      "selector1-contoso-com._domainkey.contoso.onmicrosoft.com."},
     {NULL}},
    {"nxdomain",
     "nope.contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NXDOMAIN,
     false,
     true,
     {NULL},
     {"contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 2026112901 7200 "
      "3600 1209600 300"}},
    {"nodata",
     "contoso.com.",
     LDNS_RR_TYPE_AAAA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {NULL},
     {"contoso.com. 60 IN SOA ns1.contoso.com. hostmaster.contoso.com. 1 7200 3600 1209600 "
      "900"}},
    {"ns_soa",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"contoso.com. 86400 IN NS ns1.contoso.com.", "contoso.com. 86400 IN NS NS2.Contoso.com."},
     {"contoso.com. 86400 IN NS ns1.contoso.com."}},
    {"aaaa",
     "contoso.com.",
     LDNS_RR_TYPE_AAAA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 120 IN AAAA 2001:db8::1", "contoso.com. 120 IN AAAA 2001:db8::2"},
     {NULL}},
    {"servfail", "contoso.com.", LDNS_RR_TYPE_MX, LDNS_RCODE_SERVFAIL, false, true, {NULL}, {NULL}},
    {"refused", "contoso.com.", LDNS_RR_TYPE_SOA, LDNS_RCODE_REFUSED, false, false, {NULL}, {NULL}},
    {"truncated", "contoso.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, true, true, {NULL}, {NULL}},
    {"soa",
     "contoso.com.",
     LDNS_RR_TYPE_SOA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 4294967295 1 1 1 0"},
     {NULL}},
    {"wrong_owner",
     "contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"evil.example. 3600 IN MX 0 evil.example.", "contoso.com. 3600 CH MX 0 chaos.example."},
     {NULL}},
    /* delegation: what a parent server sends for "contoso.com NS" */
    {"referral_glue",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {NULL},
     {"contoso.com. 172800 IN NS ns1.contoso.com.", "contoso.com. 172800 IN NS NS2.contoso.com."},
     {"ns1.contoso.com. 172800 IN A 192.0.2.1", "ns1.contoso.com. 172800 IN AAAA 2001:db8::1",
      "ns2.contoso.com. 172800 IN A 192.0.2.2", "other.example. 172800 IN A 192.0.2.9"},
     true},
    {"referral_out_of_bailiwick",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {NULL},
     {"contoso.com. 172800 IN NS ns1.example.net.", "contoso.com. 172800 IN NS ns2.example.org."},
     {NULL},
     true},
    {"referral_upward",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {NULL},
     {". 518400 IN NS a.root-servers.net."},
     {"a.root-servers.net. 518400 IN A 198.41.0.4"},
     true},
    {"referral_is_answer",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN NS ns1.contoso.com.", "contoso.com. 3600 IN NS ns2.contoso.com."},
     {NULL},
     {"ns1.contoso.com. 3600 IN A 192.0.2.1"},
     false},
};

static int write_seed(const char *dir, const struct seed *s)
{
    int rc = 1;
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(s->qname), s->qtype, LDNS_RR_CLASS_IN,
                                     s->no_aa ? LDNS_QR : LDNS_QR | LDNS_AA | LDNS_RD | LDNS_RA);
    uint8_t *wire = NULL;
    size_t len = 0;
    if (p == NULL)
        return 1;
    ldns_pkt_set_id(p, 0x1234);
    ldns_pkt_set_rcode(p, (uint8_t)s->rcode);
    ldns_pkt_set_tc(p, s->tc);
    if (s->edns) {
        ldns_pkt_set_edns_udp_size(p, 1232);
        ldns_pkt_set_edns_do(p, true);
    }
    for (int i = 0; i < 6 && s->answer[i]; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, s->answer[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            goto out;
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    for (int i = 0; i < 3 && s->authority[i]; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, s->authority[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            goto out;
        ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
    }
    for (int i = 0; i < 4 && s->additional[i]; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, s->additional[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            goto out;
        ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL, rr);
    }
    if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
        goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, s->file);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        goto out;
    bool written = fwrite(wire, 1, len, f) == len;
    if (fclose(f) == 0 && written)
        rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "seed %s failed\n", s->file);
    free(wire);
    ldns_pkt_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        rc |= write_seed(argv[1], &seeds[i]);
    return rc;
}
