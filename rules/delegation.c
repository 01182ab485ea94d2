/*
 * The parent's view of a delegation: what one reply says about the NS set
 * of a domain (PRODUCT.md section 12).
 *
 * A parent server asked for the domain's NS with RD clear does not answer:
 * it refers. The NS set is in the authority section (no AA), the addresses
 * of in-bailiwick servers (glue) in the additional section. A server that is
 * authoritative for the domain itself (the child's own servers, or a parent
 * that also serves the child) answers with AA set and the NS set in the
 * answer section. Both are read here, from the reply ldns parsed, into the
 * text of the `answer` column (the grammar is in rules.h), and read back
 * by the round and the reports (deleg_text_*):
 *
 *   ns1.contoso.test. | ns2.example.net. ; glue ns1.contoso.test. A 192.0.2.1 ; aa
 *
 * Pure: no I/O, no clock; the engine hands the parsed reply to its callback.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

static int deleg__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of type NS owned by `domain` in one section; *out malloc'd
 * (NULL when none). DP_EMALFORMED for an NS record whose RDATA is not one
 * name. */
static int deleg__ns_of(const ldns_rr_list *sec, const ldns_rdf *domain, ldns_rr ***out, size_t *n)
{
    size_t count = sec ? ldns_rr_list_rr_count(sec) : 0;
    *out = NULL;
    *n = 0;
    if (count == 0)
        return 0;
    ldns_rr **v = calloc(count, sizeof *v);
    if (v == NULL)
        return DP_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        ldns_rr *rr = ldns_rr_list_rr(sec, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
            ldns_dname_compare(ldns_rr_owner(rr), domain) != 0)
            continue;
        const ldns_rdf *t = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
        if (t == NULL || ldns_rdf_get_type(t) != LDNS_RDF_TYPE_DNAME) {
            free(v);
            return DP_EMALFORMED;
        }
        v[(*n)++] = rr;
    }
    if (*n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    return 0;
}

/* "glue NAME TYPE ADDR" for an A/AAAA record, the name lower-cased; malloc'd
 * or NULL (no memory, or RDATA that is not one address: skipped). */
static char *deleg__glue_text(const ldns_rr *rr)
{
    const ldns_rdf *a = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
    if (a == NULL ||
        (ldns_rdf_get_type(a) != LDNS_RDF_TYPE_A && ldns_rdf_get_type(a) != LDNS_RDF_TYPE_AAAA))
        return NULL;
    /* the name as the answer column writes names in RDATA: an NS record
     * with the owner as its target goes through the same printer */
    ldns_rdf *owner = ldns_rdf_clone(ldns_rr_owner(rr));
    ldns_rr *tmp = ldns_rr_new();
    char *name = NULL, *addr = NULL, *out = NULL;
    if (owner == NULL || tmp == NULL) {
        ldns_rdf_deep_free(owner);
        goto out;
    }
    ldns_rr_set_type(tmp, LDNS_RR_TYPE_NS);
    ldns_rr_push_rdf(tmp, owner);
    ldns_rr *one[1] = {tmp};
    if (answer_from_rrs(one, 1, &name) != 0)
        goto out;
    addr = ldns_rdf2str(a);
    if (addr == NULL)
        goto out;
    const char *type = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ? "A" : "AAAA";
    size_t len = strlen("glue ") + strlen(name) + 1 + strlen(type) + 1 + strlen(addr) + 1;
    out = malloc(len);
    if (out != NULL) {
        memcpy(out, "glue ", 5);
        size_t o = 5, l = strlen(name);
        memcpy(out + o, name, l);
        o += l;
        out[o++] = ' ';
        memcpy(out + o, type, strlen(type));
        o += strlen(type);
        out[o++] = ' ';
        memcpy(out + o, addr, strlen(addr) + 1);
    }
out:
    free(name);
    free(addr);
    ldns_rr_free(tmp);
    return out;
}

/* Appends s to the growing text *t (length *len). 0 or DP_ENOMEM. */
static int deleg__append(char **t, size_t *len, const char *s)
{
    size_t l = strlen(s);
    char *b = realloc(*t, *len + l + 1);
    if (b == NULL)
        return DP_ENOMEM;
    memcpy(b + *len, s, l + 1);
    *t = b;
    *len += l;
    return 0;
}

int deleg_read_reply(const ldns_pkt *reply, const char *domain, struct deleg_reading *out)
{
    ldns_rdf *dname = NULL;
    ldns_rr **ns = NULL;
    char **glue = NULL;
    size_t nns = 0, nglue = 0, len = 0;
    char *text = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    out->ttl = -1;
    out->rcode = -1;
    if (reply == NULL || domain == NULL)
        return DP_EINPUT;
    if (!ldns_pkt_qr(reply) || ldns_pkt_get_opcode(reply) != LDNS_PACKET_QUERY)
        return DP_EMALFORMED;
    dname = ldns_dname_new_frm_str(domain);
    if (dname == NULL)
        return DP_EINPUT;
    out->rcode = (int)ldns_pkt_get_rcode(reply) | ((int)ldns_pkt_edns_extended_rcode(reply) << 4);
    switch (out->rcode) {
    case LDNS_RCODE_NOERROR:
        break;
    case LDNS_RCODE_NXDOMAIN:
        out->status = OBS_NXDOMAIN;
        break;
    case LDNS_RCODE_REFUSED:
        out->status = OBS_REFUSED;
        break;
    default:
        out->status = OBS_SERVFAIL;
        break;
    }
    if (out->rcode != LDNS_RCODE_NOERROR) {
        rc = (out->text = strdup("")) ? 0 : DP_ENOMEM;
        goto out;
    }
    /* an answer first: a server authoritative for the domain itself */
    if ((rc = deleg__ns_of(ldns_pkt_answer(reply), dname, &ns, &nns)) != 0)
        goto out;
    if (nns > 0) {
        out->from_answer = true;
        out->aa = ldns_pkt_aa(reply);
    } else if ((rc = deleg__ns_of(ldns_pkt_authority(reply), dname, &ns, &nns)) != 0) {
        goto out;
    }
    if (nns == 0) {
        /* NOERROR without the domain's NS: not the parent (an upward
         * referral, a referral elsewhere) or no delegation there */
        out->status = OBS_NODATA;
        rc = (out->text = strdup("")) ? 0 : DP_ENOMEM;
        goto out;
    }
    out->status = OBS_OK;
    for (size_t i = 0; i < nns; i++)
        if (out->ttl < 0 || (int64_t)ldns_rr_ttl(ns[i]) < out->ttl)
            out->ttl = ldns_rr_ttl(ns[i]);
    if ((rc = answer_from_rrs(ns, nns, &text)) != 0)
        goto out;
    len = strlen(text);
    /* glue: addresses in the additional section of the names in the NS set */
    const ldns_rr_list *add = ldns_pkt_additional(reply);
    size_t nadd = add ? ldns_rr_list_rr_count(add) : 0;
    glue = calloc(nadd ? nadd : 1, sizeof *glue);
    rc = DP_ENOMEM;
    if (glue == NULL)
        goto out;
    for (size_t i = 0; i < nadd; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(add, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if ((t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) ||
            ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
            continue;
        bool named = false;
        for (size_t j = 0; j < nns && !named; j++)
            named = ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_rdf(ns[j], 0)) == 0;
        if (!named)
            continue;
        char *g = deleg__glue_text(rr);
        if (g != NULL)
            glue[nglue++] = g;
    }
    qsort(glue, nglue, sizeof *glue, deleg__cmp_str);
    for (size_t i = 0; i < nglue; i++) {
        if (i > 0 && strcmp(glue[i], glue[i - 1]) == 0)
            continue;
        if (deleg__append(&text, &len, " ; ") != 0 || deleg__append(&text, &len, glue[i]) != 0)
            goto out;
    }
    if (out->from_answer && out->aa && deleg__append(&text, &len, " ; aa") != 0)
        goto out;
    out->text = text;
    text = NULL;
    rc = 0;
out:
    if (rc != 0) {
        free(out->text);
        out->text = NULL;
    }
    for (size_t i = 0; i < nglue; i++)
        free(glue[i]);
    free(glue);
    free(text);
    free(ns);
    ldns_rdf_deep_free(dname);
    return rc;
}

void deleg_reading_deinit(struct deleg_reading *r)
{
    free(r->text);
    r->text = NULL;
}

/* ---- reading the text back ---- */

size_t deleg_text_nslen(const char *text)
{
    const char *sep = text ? strstr(text, DELEG_PART_SEP) : NULL;
    return text == NULL ? 0 : sep ? (size_t)(sep - text) : strlen(text);
}

bool deleg_text_aa(const char *text)
{
    size_t n = text ? strlen(text) : 0, k = strlen(DELEG_PART_SEP "aa");
    return n >= k && strcmp(text + n - k, DELEG_PART_SEP "aa") == 0;
}

/* Calls fn for each "glue NAME TYPE ADDR" part, with its three words. */
static int deleg__each_glue(const char *text,
                            int (*fn)(const char *name, size_t nl, const char *type, size_t tl,
                                      const char *addr, size_t al, void *arg),
                            void *arg)
{
    const char *p = text ? strstr(text, DELEG_PART_SEP) : NULL;
    size_t sl = strlen(DELEG_PART_SEP);
    while (p != NULL) {
        p += sl;
        const char *end = strstr(p, DELEG_PART_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 5 && memcmp(p, "glue ", 5) == 0) {
            const char *name = p + 5, *stop = p + len;
            const char *s1 = memchr(name, ' ', (size_t)(stop - name));
            const char *type = s1 ? s1 + 1 : NULL;
            const char *s2 = type ? memchr(type, ' ', (size_t)(stop - type)) : NULL;
            if (s2 != NULL && s2 + 1 < stop) {
                int rc = fn(name, (size_t)(s1 - name), type, (size_t)(s2 - type), s2 + 1,
                            (size_t)(stop - s2 - 1), arg);
                if (rc != 0)
                    return rc;
            }
        }
        p = end;
    }
    return 0;
}

struct deleg__buf {
    char *s;
    size_t len;
    int err;
    const char *name, *type; /* the filter, NULL: every part */
    bool any;
};

static void deleg__put(struct deleg__buf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    char *m = realloc(b->s, b->len + n + 1);
    if (m == NULL) {
        b->err = DP_ENOMEM;
        return;
    }
    memcpy(m + b->len, s, n);
    b->len += n;
    m[b->len] = '\0';
    b->s = m;
}

static int deleg__pick(const char *name, size_t nl, const char *type, size_t tl, const char *addr,
                       size_t al, void *arg)
{
    struct deleg__buf *b = arg;
    if (b->name != NULL) {
        if (strlen(b->name) != nl || strncasecmp(b->name, name, nl) != 0)
            return 0;
        b->any = true;
        if (strlen(b->type) != tl || memcmp(b->type, type, tl) != 0)
            return 0;
        if (b->len > 0)
            deleg__put(b, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
        deleg__put(b, addr, al);
        return 0;
    }
    if (b->len > 0)
        deleg__put(b, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
    deleg__put(b, name, nl);
    deleg__put(b, " ", 1);
    deleg__put(b, type, tl);
    deleg__put(b, " ", 1);
    deleg__put(b, addr, al);
    return 0;
}

static int deleg__finish(struct deleg__buf *b, char **out)
{
    if (b->err == 0 && b->s == NULL)
        b->s = strdup("");
    if (b->err != 0 || b->s == NULL) {
        free(b->s);
        *out = NULL;
        return DP_ENOMEM;
    }
    *out = b->s;
    return 0;
}

int deleg_text_glue(const char *text, const char *name, const char *type, char **out, bool *any)
{
    struct deleg__buf b = {.name = name, .type = type};
    deleg__each_glue(text, deleg__pick, &b);
    if (any != NULL)
        *any = b.any;
    return deleg__finish(&b, out);
}

int deleg_text_glue_list(const char *text, char **out)
{
    struct deleg__buf b = {0};
    deleg__each_glue(text, deleg__pick, &b);
    return deleg__finish(&b, out);
}

bool deleg_in_domain(const char *name, const char *domain)
{
    size_t n = name ? strlen(name) : 0, d = domain ? strlen(domain) : 0;
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (d > 0 && domain[d - 1] == '.')
        d--;
    if (d == 0 || n < d || strncasecmp(name + n - d, domain, d) != 0)
        return false;
    return n == d || (name[n - d - 1] == '.' && (n - d < 2 || name[n - d - 2] != '\\'));
}
