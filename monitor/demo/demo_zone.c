/*
 * The demo world's zone data and its authoritative answers.
 *
 * The server holds three zones. contoso.test. is the demo domain (.test is
 * reserved by RFC 6761 and never resolves on the internet). outlook.com. and
 * onmicrosoft.com. are stand-ins for Microsoft's zones, with only the names
 * the move to Microsoft 365 points at, so that the m365 profile can check the
 * MX target's addresses, SPF include and DKIM targets offline: they exist only
 * inside this process, and nothing ever asks the real ones (the resolvers ask
 * this server only). Addresses are documentation ranges (RFC 5737, 3849),
 * except the name servers' own, which are loopback so that anything following
 * the NS records stays on this host.
 *
 * Answers follow RFC 1034 4.3.2 for the zones held: AA set, CNAMEs chased
 * through the zones held, NXDOMAIN or NODATA with the zone's SOA in the
 * authority section (its TTL the negative TTL, RFC 2308 3), REFUSED for names
 * outside them.
 */
#include "demo_internal.h"

#include <stdio.h>
#include <string.h>

/* Records as zone file lines without a TTL: it is put after the owner when the
 * zone is loaded. These stay through the move (old_ttl); the SOA, whose serial
 * changes, is written apart. */
static const char *const demo_common[] = {
    "contoso.test. IN NS ns1.contoso.test.",
    "contoso.test. IN NS ns2.contoso.test.",
    "ns1.contoso.test. IN A 127.0.0.1",
    "ns1.contoso.test. IN AAAA ::1",
    "ns2.contoso.test. IN A 127.0.0.1",
    "ns2.contoso.test. IN AAAA ::1",
    "mail.contoso.test. IN A 192.0.2.25",
    "mail.contoso.test. IN AAAA 2001:db8::25",
    "www.contoso.test. IN A 192.0.2.80",
    "selector1.dkim.contoso.test. IN TXT \"v=DKIM1; k=rsa; p=ZGVtbyBrZXkgb25lIChvbGQp\"",
    "selector2.dkim.contoso.test. IN TXT \"v=DKIM1; k=rsa; p=ZGVtbyBrZXkgdHdvIChvbGQp\"",
};

/* Before the move: mail on the domain's own server (old_ttl). */
static const char *const demo_before[] = {
    "contoso.test. IN MX 10 mail.contoso.test.",
    "contoso.test. IN TXT \"v=spf1 mx a:mail.contoso.test -all\"",
    "autodiscover.contoso.test. IN CNAME mail.contoso.test.",
    "selector1._domainkey.contoso.test. IN CNAME selector1.dkim.contoso.test.",
    "selector2._domainkey.contoso.test. IN CNAME selector2.dkim.contoso.test.",
    "_dmarc.contoso.test. IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@contoso.test\"",
};

/* After the move: Microsoft 365 (new_ttl). TOKEN = contoso-test. */
static const char *const demo_after[] = {
    "contoso.test. IN MX 0 contoso-test.mail.protection.outlook.com.",
    "contoso.test. IN TXT \"v=spf1 include:spf.protection.outlook.com -all\"",
    "autodiscover.contoso.test. IN CNAME autodiscover.outlook.com.",
    "selector1._domainkey.contoso.test. IN CNAME "
    "selector1-contoso-test._domainkey.contosotest.onmicrosoft.com.",
    "selector2._domainkey.contoso.test. IN CNAME "
    "selector2-contoso-test._domainkey.contosotest.onmicrosoft.com.",
    "_dmarc.contoso.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.test\"",
};

/* The simulated Microsoft side (new_ttl): present before and after. */
static const char *const demo_microsoft[] = {
    "outlook.com. IN SOA ns1.outlook.com. hostmaster.outlook.com. 1 3600 600 86400 60",
    "outlook.com. IN NS ns1.outlook.com.",
    "ns1.outlook.com. IN A 127.0.0.1",
    "contoso-test.mail.protection.outlook.com. IN A 198.51.100.10",
    "contoso-test.mail.protection.outlook.com. IN A 198.51.100.11",
    "spf.protection.outlook.com. IN TXT \"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:365::/48 "
    "-all\"",
    "autodiscover.outlook.com. IN A 198.51.100.20",
    "onmicrosoft.com. IN SOA ns1.onmicrosoft.com. hostmaster.onmicrosoft.com. 1 3600 600 "
    "86400 60",
    "onmicrosoft.com. IN NS ns1.onmicrosoft.com.",
    "ns1.onmicrosoft.com. IN A 127.0.0.1",
    "selector1-contoso-test._domainkey.contosotest.onmicrosoft.com. IN TXT "
    "\"v=DKIM1; k=rsa; p=ZGVtbyBrZXkgb25lIChtMzY1KQ==\"",
    "selector2-contoso-test._domainkey.contosotest.onmicrosoft.com. IN TXT "
    "\"v=DKIM1; k=rsa; p=ZGVtbyBrZXkgdHdvIChtMzY1KQ==\"",
};

static const char *const demo_apexes[DEMO_MAX_ZONES] = {"contoso.test.", "outlook.com.",
                                                        "onmicrosoft.com."};

#define DEMO_BIG_RECORDS 24 /* big.contoso.test TXT: ~2.6 KB, too big for UDP */

static int push_line(ldns_rr_list *l, const char *line)
{
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
        return DP_EINTERNAL; /* the tables above are ours: a typo is a bug */
    if (!ldns_rr_list_push_rr(l, rr)) {
        ldns_rr_free(rr);
        return DP_ENOMEM;
    }
    return 0;
}

static int push_table(ldns_rr_list *l, const char *const *t, size_t n, uint32_t ttl)
{
    char line[512];
    for (size_t i = 0; i < n; i++) {
        const char *sp = strchr(t[i], ' ');
        if (sp == NULL)
            return DP_EINTERNAL;
        snprintf(line, sizeof line, "%.*s %u%s", (int)(sp - t[i]), t[i], (unsigned)ttl, sp);
        int rc = push_line(l, line);
        if (rc < 0)
            return rc;
    }
    return 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int demo__zone_load(struct demo_world *w, bool moved)
{
    int rc = DP_ENOMEM;
    char line[512];
    uint32_t old = w->opts.old_ttl, neu = w->opts.new_ttl;
    uint32_t serial = w->records == NULL ? w->serial : w->serial + 1;
    ldns_rr_list *l = ldns_rr_list_new();
    ldns_rdf *apex[DEMO_MAX_ZONES] = {NULL};
    if (l == NULL)
        return DP_ENOMEM;
    /* SOA: refresh, retry, expire, then MINIMUM = the negative TTL */
    snprintf(line, sizeof line,
             "contoso.test. %u IN SOA ns1.contoso.test. hostmaster.contoso.test. %u 60 30 600 %u",
             (unsigned)old, (unsigned)serial, (unsigned)old);
    if ((rc = push_line(l, line)) < 0 ||
        (rc = push_table(l, demo_common, COUNT(demo_common), old)) < 0 ||
        (rc = push_table(l, moved ? demo_after : demo_before,
                         moved ? COUNT(demo_after) : COUNT(demo_before), moved ? neu : old)) < 0 ||
        (rc = push_table(l, demo_microsoft, COUNT(demo_microsoft), neu)) < 0)
        goto out;
    for (int i = 0; i < DEMO_BIG_RECORDS; i++) {
        snprintf(line, sizeof line,
                 "big.contoso.test. %u IN TXT \"record %02d: filler to make this answer too big "
                 "for one UDP message, so that it must come over TCP\"",
                 (unsigned)old, i);
        if ((rc = push_line(l, line)) < 0)
            goto out;
    }
    rc = DP_ENOMEM;
    for (size_t i = 0; i < DEMO_MAX_ZONES; i++)
        if ((apex[i] = ldns_dname_new_frm_str(demo_apexes[i])) == NULL)
            goto out;
    demo__zone_free(w);
    w->records = l;
    l = NULL;
    memcpy(w->apex, apex, sizeof apex);
    memset(apex, 0, sizeof apex);
    w->nzones = DEMO_MAX_ZONES;
    w->serial = serial;
    w->moved = moved;
    rc = 0;
out:
    for (size_t i = 0; i < DEMO_MAX_ZONES; i++)
        ldns_rdf_deep_free(apex[i]);
    ldns_rr_list_deep_free(l);
    return rc;
}

void demo__zone_free(struct demo_world *w)
{
    ldns_rr_list_deep_free(w->records);
    w->records = NULL;
    for (size_t i = 0; i < w->nzones; i++) {
        ldns_rdf_deep_free(w->apex[i]);
        w->apex[i] = NULL;
    }
    w->nzones = 0;
}

/* The zone holding name (the longest apex it is at or under), or -1. */
static int zone_of(const struct demo_world *w, const ldns_rdf *name)
{
    int best = -1;
    size_t best_labels = 0;
    for (size_t i = 0; i < w->nzones; i++) {
        if (ldns_dname_compare(name, w->apex[i]) != 0 && !ldns_dname_is_subdomain(name, w->apex[i]))
            continue;
        size_t n = ldns_dname_label_count(w->apex[i]);
        if (best < 0 || n > best_labels) {
            best = (int)i;
            best_labels = n;
        }
    }
    return best;
}

/* The SOA of zone z, cloned, its TTL the negative TTL: min(TTL, MINIMUM). */
static ldns_rr *neg_soa(const struct demo_world *w, int z)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(w->records); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(w->records, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
            ldns_dname_compare(ldns_rr_owner(rr), w->apex[z]) != 0)
            continue;
        ldns_rr *c = ldns_rr_clone(rr);
        if (c == NULL)
            return NULL;
        uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
        if (min < ldns_rr_ttl(c))
            ldns_rr_set_ttl(c, min);
        return c;
    }
    return NULL;
}

static bool push_clone(ldns_pkt *p, ldns_pkt_section sec, const ldns_rr *rr)
{
    ldns_rr *c = rr == NULL ? NULL : ldns_rr_clone(rr);
    if (c == NULL || !ldns_pkt_push_rr(p, sec, c)) {
        ldns_rr_free(c);
        return false;
    }
    return true;
}

ldns_pkt *demo__auth_answer(struct demo_world *w, const ldns_pkt *q)
{
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    ldns_rr_type qtype = ldns_rr_get_type(qrr);
    const ldns_rdf *name = ldns_rr_owner(qrr);
    if (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN || zone_of(w, name) < 0)
        return demo__reply_new(q, LDNS_RCODE_REFUSED);
    ldns_pkt *r = demo__reply_new(q, LDNS_RCODE_NOERROR);
    if (r == NULL)
        return NULL;
    ldns_pkt_set_aa(r, true);
    /* at most 8 CNAMEs in a chain: our zones hold none longer, and a loop ends */
    for (int hops = 0; hops < 8; hops++) {
        int z = zone_of(w, name);
        if (z < 0)
            break; /* the chain leaves our zones: the client follows it */
        bool exists = false, found = false;
        const ldns_rr *cname = NULL;
        for (size_t i = 0; i < ldns_rr_list_rr_count(w->records); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(w->records, i);
            const ldns_rdf *owner = ldns_rr_owner(rr);
            if (ldns_dname_compare(owner, name) != 0) {
                /* a name with nothing of its own but names below it exists
                 * (an empty non-terminal): NODATA, not NXDOMAIN */
                if (ldns_dname_is_subdomain(owner, name))
                    exists = true;
                continue;
            }
            exists = true;
            ldns_rr_type t = ldns_rr_get_type(rr);
            if (t == qtype || qtype == LDNS_RR_TYPE_ANY) {
                if (!push_clone(r, LDNS_SECTION_ANSWER, rr))
                    goto fail;
                found = true;
            } else if (t == LDNS_RR_TYPE_CNAME) {
                cname = rr;
            }
        }
        if (found)
            break;
        if (cname != NULL) {
            if (!push_clone(r, LDNS_SECTION_ANSWER, cname))
                goto fail;
            name = ldns_rr_rdf(cname, 0);
            continue;
        }
        /* RFC 6604: after a CNAME the rcode is that of the last name */
        if (!exists)
            ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
        ldns_rr *soa = neg_soa(w, z);
        if (soa == NULL || !ldns_pkt_push_rr(r, LDNS_SECTION_AUTHORITY, soa)) {
            ldns_rr_free(soa);
            goto fail;
        }
        break;
    }
    return r;
fail:
    ldns_pkt_free(r);
    return NULL;
}
