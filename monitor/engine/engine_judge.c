/*
 * Judging a DNS reply: from a parsed message to the status, rcode, TTL and
 * normalized answer of one observation. Pure and reentrant (no engine, no
 * loop), so a fuzzer can drive it with any parsed packet. The message is
 * an ldns_pkt, or the few parts the judge reads, read off the wire with
 * ldns_wire2rr() record by record (engine__wire_read, engine_internal.h):
 * what the engine does with most replies.
 *
 * The CNAME chain is followed inside the answer section only, starting at the
 * asked name, at most ENGINE_JUDGE_MAX_CHAIN links (a loop just ends the walk):
 * records of the asked type at the end of the chain make the answer. Records
 * elsewhere in the section (other owners, other classes) are ignored, since a
 * resolver may add glue we did not ask for.
 */
#include "engine.h"
#include "engine_internal.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define ENGINE_JUDGE_MAX_CHAIN 16

static void min_ttl(int64_t *ttl, uint32_t v)
{
    if (*ttl < 0 || (int64_t)v < *ttl)
        *ttl = v;
}

/* Whether two names (as ldns holds them) are the same name, letters compared
 * without case; equal names have equal lengths. */
static bool dname_same(const ldns_rdf *a, const ldns_rdf *b)
{
    if (a == NULL || b == NULL)
        return false;
    size_t n = ldns_rdf_size(a);
    return n == ldns_rdf_size(b) && engine__wire_name_same(ldns_rdf_data(a), ldns_rdf_data(b), n);
}

/* Presentation form of a name, lower-cased; malloc'd or NULL. */
static char *dname_lower(const ldns_rdf *d)
{
    char *s = ldns_rdf2str(d);
    if (s == NULL)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

/* Negative-caching TTL (RFC 2308 section 5): min(SOA TTL, SOA MINIMUM) of the
 * first SOA in the authority section; -1 when there is none. */
static int64_t negative_ttl(const ldns_rr_list *auth)
{
    for (size_t i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(auth, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7)
            continue;
        const ldns_rdf *min = ldns_rr_rdf(rr, 6);
        if (min == NULL || ldns_rdf_size(min) != 4)
            continue;
        int64_t ttl = ldns_rr_ttl(rr);
        uint32_t m = ldns_rdf2native_int32(min);
        return (int64_t)m < ttl ? (int64_t)m : ttl;
    }
    return -1;
}

int engine_judge_reply(const ldns_pkt *reply, const char *qname, uint16_t qtype,
                       struct engine_result *r, char **answer, char **cname_target)
{
    *answer = NULL;
    *cname_target = NULL;
    if (reply == NULL || qname == NULL)
        return DP_EINPUT;
    if (!ldns_pkt_qr(reply) || ldns_pkt_get_opcode(reply) != LDNS_PACKET_QUERY)
        return DP_EMALFORMED;
    ldns_rdf *name = ldns_dname_new_frm_str(qname);
    if (name == NULL)
        return DP_EINPUT;
    int rc = engine_judge_reply_name(reply, name, qtype, r, answer, cname_target);
    ldns_rdf_deep_free(name);
    return rc;
}

int engine_judge_reply_name(const ldns_pkt *reply, const ldns_rdf *qname, uint16_t qtype,
                            struct engine_result *r, char **answer, char **cname_target)
{
    *answer = NULL;
    *cname_target = NULL;
    if (reply == NULL || qname == NULL)
        return DP_EINPUT;
    struct engine__reply v;
    engine__reply_of_pkt(&v, reply);
    return engine__judge(&v, qname, qtype, r, answer, cname_target);
}

void engine__reply_of_pkt(struct engine__reply *v, const ldns_pkt *reply)
{
    static const ldns_rr_list none; /* a section ldns did not make: no records */
    v->qr = ldns_pkt_qr(reply);
    v->opcode = ldns_pkt_get_opcode(reply);
    /* the full rcode: 4 bits in the header, 8 more in the OPT record */
    v->rcode = (int)ldns_pkt_get_rcode(reply) | ((int)ldns_pkt_edns_extended_rcode(reply) << 4);
    v->an = ldns_pkt_answer(reply) != NULL ? ldns_pkt_answer(reply) : &none;
    v->ns = ldns_pkt_authority(reply) != NULL ? ldns_pkt_authority(reply) : &none;
    v->edns_data = ldns_pkt_edns_data(reply);
}

int engine__judge(const struct engine__reply *v, const ldns_rdf *qname, uint16_t qtype,
                  struct engine_result *r, char **answer, char **cname_target)
{
    int rc = DP_ENOMEM;
    const ldns_rdf *cur = qname; /* the name the chain is at: the caller's, then the reply's */
    ldns_rr **found = NULL;
    size_t nfound = 0;
    *answer = NULL;
    *cname_target = NULL;

    if (qname == NULL)
        return DP_EINPUT;
    if (!v->qr || v->opcode != LDNS_PACKET_QUERY)
        return DP_EMALFORMED;

    r->rcode = v->rcode;
    r->ttl = -1;

    const ldns_rr_list *an = v->an;
    size_t n = ldns_rr_list_rr_count(an);
    ldns_rr *few[8]; /* most answers: no allocation */
    found = n <= sizeof few / sizeof few[0] ? few : calloc(n, sizeof(ldns_rr *));
    if (found == NULL)
        goto out;
    int64_t chain_ttl = -1;
    for (int hop = 0; hop <= ENGINE_JUDGE_MAX_CHAIN; hop++) {
        const ldns_rr *cname = NULL;
        int64_t ttl = chain_ttl;
        for (size_t i = 0; i < n; i++) {
            ldns_rr *rr = ldns_rr_list_rr(an, i);
            if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !dname_same(ldns_rr_owner(rr), cur))
                continue;
            if (ldns_rr_get_type(rr) == qtype) {
                found[nfound++] = rr;
                min_ttl(&ttl, ldns_rr_ttl(rr));
            } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && cname == NULL &&
                       ldns_rr_rd_count(rr) == 1) {
                cname = rr;
            }
        }
        if (nfound > 0) {
            r->ttl = ttl;
            break;
        }
        if (cname == NULL)
            break;
        const ldns_rdf *target = ldns_rr_rdf(cname, 0);
        if (target == NULL || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME) {
            rc = DP_EMALFORMED;
            goto out;
        }
        if (hop == 0) {
            *cname_target = dname_lower(target);
            if (*cname_target == NULL)
                goto out;
        }
        min_ttl(&chain_ttl, ldns_rr_ttl(cname));
        cur = target; /* the reply's own: it outlives this call */
    }

    switch (r->rcode) {
    case LDNS_RCODE_NOERROR:
        if (nfound > 0) {
            r->status = OBS_OK;
        } else {
            r->status = OBS_NODATA;
            r->ttl = negative_ttl(v->ns);
        }
        break;
    case LDNS_RCODE_NXDOMAIN:
        r->status = OBS_NXDOMAIN;
        r->ttl = negative_ttl(v->ns);
        nfound = 0; /* the name does not exist: whatever came with it is no answer */
        break;
    case LDNS_RCODE_REFUSED:
        r->status = OBS_REFUSED;
        r->ttl = -1;
        nfound = 0;
        break;
    default: /* SERVFAIL, and every other rcode with the real value kept in rcode */
        r->status = OBS_SERVFAIL;
        r->ttl = -1;
        nfound = 0;
        break;
    }
    rc = nfound > 0 ? answer_from_rrs(found, nfound, answer) : 0;
    if (rc == 0 && *answer == NULL) {
        *answer = strdup("");
        if (*answer == NULL)
            rc = DP_ENOMEM;
    }
out:
    if (rc != 0) {
        free(*answer);
        *answer = NULL;
        free(*cname_target);
        *cname_target = NULL;
    }
    if (found != few)
        free(found);
    return rc;
}

/* ---- the reply's EDNS options: NSID (RFC 5001) and Extended DNS Errors (RFC 8914) ---- */

/* NSID bytes as the `site` column shows them: printable ASCII as is, anything
 * else as lower-case hex of every byte (so two binary NSIDs never collide
 * after a lossy conversion). malloc'd, or NULL. */
static char *nsid_text(const uint8_t *d, size_t n)
{
    bool printable = true;
    for (size_t i = 0; i < n && printable; i++)
        printable = d[i] >= 0x20 && d[i] <= 0x7e;
    size_t len = printable ? n : 2 * n;
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    if (printable) {
        memcpy(s, d, n);
    } else {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
            s[2 * i] = hex[d[i] >> 4];
            s[2 * i + 1] = hex[d[i] & 0x0f];
        }
    }
    s[len] = '\0';
    return s;
}

int engine_reply_site_ede(struct ldns_struct_pkt *reply, char **site, char **ede)
{
    /* ldns reads the OPT record's RDATA into a list of options (and keeps the
     * list in the packet); option data that runs past the RDATA gives no
     * list at all, and then the reply simply carries no site and no codes */
    return engine__site_ede(reply != NULL ? ldns_pkt_edns_get_option_list(reply) : NULL, site, ede);
}

int engine__site_ede(const ldns_edns_option_list *opts, char **site, char **ede)
{
    char codes[ENGINE_EDE_MAX * 6 + 1]; /* "65535;" each */
    size_t clen = 0;
    unsigned ncodes = 0;
    *site = NULL;
    *ede = NULL;
    size_t n = opts != NULL ? ldns_edns_option_list_get_count(opts) : 0;
    codes[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
        if (o == NULL)
            continue;
        size_t sz = ldns_edns_get_size(o);
        const uint8_t *d = ldns_edns_get_data(o);
        if (ldns_edns_get_code(o) == LDNS_EDNS_NSID && *site == NULL && sz > 0 && d != NULL) {
            if ((*site = nsid_text(d, sz)) == NULL)
                goto nomem;
        } else if (ldns_edns_get_code(o) == LDNS_EDNS_EDE && sz >= 2 && d != NULL &&
                   ncodes < ENGINE_EDE_MAX) {
            /* INFO-CODE, then EXTRA-TEXT that the column does not keep */
            unsigned code = (unsigned)d[0] << 8 | d[1];
            int k = snprintf(codes + clen, sizeof codes - clen, "%s%u", ncodes ? ";" : "", code);
            if (k > 0 && (size_t)k < sizeof codes - clen) {
                clen += (size_t)k;
                ncodes++;
            }
        }
    }
    if (*site == NULL && (*site = strdup("")) == NULL)
        goto nomem;
    if ((*ede = strdup(codes)) == NULL)
        goto nomem;
    return 0;
nomem:
    free(*site);
    *site = NULL;
    return DP_ENOMEM;
}

/* ---- a reply read from the wire without an ldns_pkt (engine_internal.h) ---- */

int engine__wire_init(struct engine__wire *w)
{
    memset(w, 0, sizeof *w);
    w->an = ldns_rr_list_new();
    w->ns = ldns_rr_list_new();
    w->edns = ldns_pkt_new();
    return w->an != NULL && w->ns != NULL && w->edns != NULL ? 0 : DP_ENOMEM;
}

void engine__wire_deinit(struct engine__wire *w)
{
    if (w->an != NULL && w->ns != NULL)
        engine__wire_clear(w);
    ldns_rr_list_free(w->an);
    ldns_rr_list_free(w->ns);
    ldns_pkt_free(w->edns);
    memset(w, 0, sizeof *w);
}

static void rrs_clear(ldns_rr_list *l)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        ldns_rr_free(ldns_rr_list_rr(l, i));
    ldns_rr_list_set_rr_count(l, 0); /* the array stays, for the next reply */
}

void engine__wire_clear(struct engine__wire *w)
{
    rrs_clear(w->an);
    rrs_clear(w->ns);
    ldns_rr_free(w->opt);
    w->opt = NULL;
}

/* count records of section sec at *pos into l, as ldns_wire2pkt() reads
 * them; false when one does not parse or there is no memory */
static bool read_section(ldns_rr_list *l, uint16_t count, ldns_pkt_section sec, const uint8_t *m,
                         size_t len, size_t *pos)
{
    for (uint16_t i = 0; i < count; i++) {
        ldns_rr *rr = NULL;
        if (ldns_wire2rr(&rr, m, len, pos, sec) != LDNS_STATUS_OK)
            return false;
        if (!ldns_rr_list_push_rr(l, rr)) {
            ldns_rr_free(rr);
            return false;
        }
    }
    return true;
}

int engine__wire_read(struct engine__wire *w, const uint8_t *m, size_t len, size_t qend)
{
    size_t pos = qend;
    if (w->an == NULL || w->ns == NULL || w->edns == NULL || len < LDNS_HEADER_SIZE ||
        LDNS_QDCOUNT(m) != 1 || qend <= LDNS_HEADER_SIZE || qend > len)
        return 1;
    if (!read_section(w->an, LDNS_ANCOUNT(m), LDNS_SECTION_ANSWER, m, len, &pos) ||
        !read_section(w->ns, LDNS_NSCOUNT(m), LDNS_SECTION_AUTHORITY, m, len, &pos))
        goto full;
    /* the additional section: glue nothing here reads, and the OPT record */
    for (uint16_t i = 0, n = LDNS_ARCOUNT(m); i < n; i++) {
        ldns_rr *rr = NULL;
        if (ldns_wire2rr(&rr, m, len, &pos, LDNS_SECTION_ADDITIONAL) != LDNS_STATUS_OK)
            goto full;
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_OPT && w->opt == NULL) {
            w->opt = rr;
            continue;
        }
        ldns_rr_free(rr);
        /* ldns_wire2pkt() takes a TSIG record out of the section's count
         * (and so reads one record less after it), and of several OPT
         * records keeps the last's extended rcode and the last RDATA of
         * those that had one: its own reading says what such a reply is */
        if (t == LDNS_RR_TYPE_OPT || t == LDNS_RR_TYPE_TSIG)
            goto full;
    }
    w->v.qr = LDNS_QR_WIRE(m) != 0;
    w->v.opcode = (ldns_pkt_opcode)LDNS_OPCODE_WIRE(m);
    /* the OPT record's TTL: extended rcode, version, flags */
    uint8_t ext = w->opt != NULL ? (uint8_t)(ldns_rr_ttl(w->opt) >> 24) : 0;
    w->v.rcode = (int)LDNS_RCODE_WIRE(m) | (int)ext << 4;
    w->v.an = w->an;
    w->v.ns = w->ns;
    w->v.edns_data = w->opt != NULL ? ldns_rr_rdf(w->opt, 0) : NULL;
    return 0;
full:
    engine__wire_clear(w);
    return 1;
}

int engine__wire_site_ede(struct engine__wire *w, char **site, char **ede)
{
    /* lent to the empty packet, for ldns to read the options out of */
    ldns_pkt_set_edns_data(w->edns, w->opt != NULL ? ldns_rr_rdf(w->opt, 0) : NULL);
    int rc = engine__site_ede(ldns_pkt_edns_get_option_list(w->edns), site, ede);
    ldns_pkt_set_edns_option_list(w->edns, NULL); /* frees the list ldns read */
    ldns_pkt_set_edns_data(w->edns, NULL);        /* the OPT record's own */
    return rc;
}
