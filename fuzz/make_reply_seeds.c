/*
 * Writes seed DNS replies for the fuzz_reply target: real wire-format
 * messages, built with ldns from zone-file text, covering what the engine
 * meets: MX, SPF/DMARC TXT, CNAME chains, NXDOMAIN/NODATA with an SOA, EDNS
 * with an extended rcode, SERVFAIL, a truncated reply, compression, EDNS
 * options (NSID as text and as bytes, Extended DNS Errors with and without
 * text, a short EDE, options that run past the OPT RDATA), BADVERS, and an
 * error reply with no question section.
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
    const char *opt; /* with edns: the OPT RDATA (options as they go on the wire), optlen bytes */
    size_t optlen;
    uint8_t ext_rcode; /* with edns: the upper 8 bits of the rcode */
    bool noq;          /* only the header: no question, no records (rcode as given) */
    const char *additional[4];
    bool no_aa; /* a referral: AA clear */
};

/* The older seeds leave the last fields (additional, no_aa) out: zero, no
 * additional records and AA as the rcode gives it, is what they mean. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct seed seeds[] = {
    {"mx_one",
     "contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com."},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"mx_two",
     "Contoso.COM.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"contoso.com. 300 IN MX 10 Mail.Contoso.com.", "contoso.com. 200 IN MX 0 .",
      "contoso.com. 300 IN MX 5 192.0.2.1."},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"spf_txt",
     "contoso.com.",
     LDNS_RR_TYPE_TXT,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN TXT \"v=spf1 include:spf.protection.outlook.com\" \" -all\"",
      "contoso.com. 3600 IN TXT \"google-site-verification=abc\\001\\255\"",
      "contoso.com. 3600 IN TXT \"v=spf1 -all\""},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"dmarc",
     "_dmarc.contoso.com.",
     LDNS_RR_TYPE_TXT,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"_dmarc.contoso.com. 3600 IN TXT \"v=DMARC1; p=reject; rua=mailto:d@contoso.com\""},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"cname_chain",
     "autodiscover.contoso.com.",
     LDNS_RR_TYPE_A,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.",
      "autodiscover.outlook.com. 60 IN CNAME autod.ms-acdc.office.com.",
      "autod.ms-acdc.office.com. 30 IN A 52.97.1.1", "autod.ms-acdc.office.com. 30 IN A 52.97.1.2"},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"cname_loop",
     "a.contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"a.contoso.com. 60 IN CNAME b.contoso.com.", "b.contoso.com. 60 IN CNAME a.contoso.com."},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"dkim",
     "selector1._domainkey.contoso.com.",
     LDNS_RR_TYPE_CNAME,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"selector1._domainkey.contoso.com. 3600 IN CNAME "
      "selector1-contoso-com._domainkey.contoso.onmicrosoft.com."},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"nxdomain",
     "nope.contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NXDOMAIN,
     false,
     true,
     {NULL},
     {"contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 2026112901 7200 "
      "3600 1209600 300"},
     NULL,
     0,
     0,
     false},
    {"nodata",
     "contoso.com.",
     LDNS_RR_TYPE_AAAA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {NULL},
     {"contoso.com. 60 IN SOA ns1.contoso.com. hostmaster.contoso.com. 1 7200 3600 1209600 "
      "900"},
     NULL,
     0,
     0,
     false},
    {"ns_soa",
     "contoso.com.",
     LDNS_RR_TYPE_NS,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"contoso.com. 86400 IN NS ns1.contoso.com.", "contoso.com. 86400 IN NS NS2.Contoso.com."},
     {"contoso.com. 86400 IN NS ns1.contoso.com."},
     NULL,
     0,
     0,
     false},
    {"aaaa",
     "contoso.com.",
     LDNS_RR_TYPE_AAAA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 120 IN AAAA 2001:db8::1", "contoso.com. 120 IN AAAA 2001:db8::2"},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"servfail",
     "contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_SERVFAIL,
     false,
     true,
     {NULL},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"refused",
     "contoso.com.",
     LDNS_RR_TYPE_SOA,
     LDNS_RCODE_REFUSED,
     false,
     false,
     {NULL},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"truncated",
     "contoso.com.",
     LDNS_RR_TYPE_TXT,
     LDNS_RCODE_NOERROR,
     true,
     true,
     {NULL},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"soa",
     "contoso.com.",
     LDNS_RR_TYPE_SOA,
     LDNS_RCODE_NOERROR,
     false,
     true,
     {"contoso.com. 3600 IN SOA ns1.contoso.com. hostmaster.contoso.com. 4294967295 1 1 1 0"},
     {NULL},
     NULL,
     0,
     0,
     false},
    {"wrong_owner",
     "contoso.com.",
     LDNS_RR_TYPE_MX,
     LDNS_RCODE_NOERROR,
     false,
     false,
     {"evil.example. 3600 IN MX 0 evil.example.", "contoso.com. 3600 CH MX 0 chaos.example."},
     {NULL},
     NULL,
     0,
     0,
     false},
    /* NSID "fra1.anycast", EDE 3 "stale", EDE 22 without text (a stale answer) */
    {.file = "nsid_ede",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_MX,
     .edns = true,
     .answer = {"contoso.com. 30 IN MX 10 mail.contoso.com."},
     .opt = "\000\003\000\014fra1.anycast\000\017\000\007\000\003stale\000\017\000\002\000\026",
     .optlen = 4 + 12 + 4 + 7 + 4 + 2},
    /* a binary NSID, an EDE of one byte (too short), a padding option, a second NSID */
    {.file = "nsid_binary",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_MX,
     .edns = true,
     .answer = {"contoso.com. 300 IN MX 0 contoso-com.mail.protection.outlook.com."},
     .opt = "\000\003\000\003\000\377\020\000\017\000\001\007\000\014\000\002\000\000"
            "\000\003\000\001x",
     .optlen = 4 + 3 + 4 + 1 + 4 + 2 + 4 + 1},
    /* SERVFAIL with EDE 22 (no reachable authority) and its text */
    {.file = "ede_servfail",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_MX,
     .rcode = LDNS_RCODE_SERVFAIL,
     .edns = true,
     .opt = "\000\017\000\016\000\026no reachable",
     .optlen = 4 + 14},
    /* an option whose length runs past the RDATA: no options at all */
    {.file = "opt_overrun",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_MX,
     .edns = true,
     .answer = {"contoso.com. 300 IN MX 10 mail.contoso.com."},
     .opt = "\000\003\000\004ab\000\017\000\377\000\003",
     .optlen = 4 + 2 + 6},
    {.file = "badvers",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_MX,
     .edns = true,
     .ext_rcode = 1},
    {.file = "formerr_noq", .rcode = LDNS_RCODE_FORMERR, .noq = true},
    {.file = "refused_noq", .rcode = LDNS_RCODE_REFUSED, .noq = true},
    /* delegation: what a parent server sends for "contoso.com NS" */
    {.file = "referral_glue",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_NS,
     .edns = true,
     .authority = {"contoso.com. 172800 IN NS ns1.contoso.com.",
                   "contoso.com. 172800 IN NS NS2.contoso.com."},
     .additional = {"ns1.contoso.com. 172800 IN A 192.0.2.1",
                    "ns1.contoso.com. 172800 IN AAAA 2001:db8::1",
                    "ns2.contoso.com. 172800 IN A 192.0.2.2",
                    "other.example. 172800 IN A 192.0.2.9"},
     .no_aa = true},
    {.file = "referral_out_of_bailiwick",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_NS,
     .authority = {"contoso.com. 172800 IN NS ns1.example.net.",
                   "contoso.com. 172800 IN NS ns2.example.org."},
     .no_aa = true},
    {.file = "referral_upward",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_NS,
     .authority = {". 518400 IN NS a.root-servers.net."},
     .additional = {"a.root-servers.net. 518400 IN A 198.41.0.4"},
     .no_aa = true},
    {.file = "referral_is_answer",
     .qname = "contoso.com.",
     .qtype = LDNS_RR_TYPE_NS,
     .edns = true,
     .answer = {"contoso.com. 3600 IN NS ns1.contoso.com.",
                "contoso.com. 3600 IN NS ns2.contoso.com."},
     .additional = {"ns1.contoso.com. 3600 IN A 192.0.2.1"}},
};
#pragma GCC diagnostic pop

static int write_file(const char *dir, const char *name, const uint8_t *wire, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 1;
    bool written = fwrite(wire, 1, len, f) == len;
    return fclose(f) == 0 && written ? 0 : 1;
}

static int write_seed(const char *dir, const struct seed *s)
{
    int rc = 1;
    if (s->noq) { /* ID 0x1234, QR and RD, the rcode, every count 0 */
        uint8_t h[12] = {0x12, 0x34, 0x81, (uint8_t)s->rcode};
        return write_file(dir, s->file, h, sizeof h);
    }
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
        ldns_pkt_set_edns_extended_rcode(p, s->ext_rcode);
        if (s->optlen > 0)
            ldns_pkt_set_edns_data(p,
                                   ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, s->optlen, s->opt));
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
    rc = write_file(dir, s->file, wire, len);
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
