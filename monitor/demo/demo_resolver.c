/*
 * The demo world's caching resolvers.
 *
 * A resolver answers from its cache while the entry is fresh, each record's
 * TTL counted down (rounded up to whole seconds, as it was served minus the
 * time it has been held); otherwise it asks the authoritative server (the
 * upstream client, demo_upstream.c), caches what comes back, and answers from
 * that. Positive answers live for their smallest TTL, negative ones (NXDOMAIN,
 * NODATA) for the negative TTL of the SOA that came with them (RFC 2308);
 * failures are not cached and answered SERVFAIL. Entries are replaced, never
 * deleted, so the two-MX resolver can still see what it held before.
 *
 * The kinds (enum demo_resolver_kind) differ only here:
 * - DEMO_TWO_MX, on refetching an MX RRset, keeps the MX records it held and
 *   adds the new ones (a broken cache merging RRsets of different fetches), so
 *   after the move it serves the old and the new MX together;
 * - DEMO_STRETCH caches every record `stretch` times longer than its TTL and
 *   serves the stretched TTL counting down;
 * - DEMO_SILENT reads queries and never answers; DEMO_SERVFAIL answers every
 *   query with SERVFAIL at once;
 * - DEMO_POOL is DEMO_POOL_SITES plain caches behind one address: a query
 *   lands on one of them at random and is answered from that cache alone,
 *   with the cache's name as NSID when the query asked for it. The caches are
 *   primed 0, 2/5 and 4/5 of the old TTL ago, so the first answers after the
 *   move may come from a cache whose old records outlive the one seen before.
 */
#include "demo_internal.h"

#include <stdlib.h>

#define DEMO_TTL_CAP 604800u /* a week: stretched TTLs stay far from overflow */

/* One upstream fetch of a resolver. */
struct demo_fetch {
    struct demo_server *srv; /* not owned */
    ldns_rdf *qname;         /* owned */
    ldns_rr_type qtype;
    struct demo_req *req; /* owned: the client waiting, or NULL when priming */
    int64_t age_ms;       /* back-dating of the cache entry (priming) */
    int site;             /* the pool's cache it fills; -1: the server's own */
};

static const char *const pool_sites[DEMO_POOL_SITES] = {"pool-a", "pool-b", "pool-c"};

/* The cache a site of s uses: a pool's own cache per site, else the server's. */
static struct demo_cache_entry **cache_head(struct demo_server *s, int site)
{
    return site >= 0 && site < DEMO_POOL_SITES ? &s->site_cache[site] : &s->cache;
}

static struct demo_cache_entry *cache_find(struct demo_server *s, int site, const ldns_rdf *qname,
                                           ldns_rr_type qtype)
{
    for (struct demo_cache_entry *e = *cache_head(s, site); e != NULL; e = e->next)
        if (e->qtype == qtype && ldns_dname_compare(e->qname, qname) == 0)
            return e;
    return NULL;
}

static void cache_list_free(struct demo_cache_entry **head)
{
    struct demo_cache_entry *e = *head;
    while (e != NULL) {
        struct demo_cache_entry *next = e->next;
        ldns_rdf_deep_free(e->qname);
        ldns_rr_list_deep_free(e->answer);
        ldns_rr_list_deep_free(e->authority);
        free(e);
        e = next;
    }
    *head = NULL;
}

void demo__cache_free(struct demo_server *s)
{
    cache_list_free(&s->cache);
    for (int i = 0; i < DEMO_POOL_SITES; i++)
        cache_list_free(&s->site_cache[i]);
}

/* Whether the query carries the NSID option (RFC 5001). */
static bool wants_nsid(ldns_pkt *q) /* not const: ldns's getter takes a plain pointer */
{
    if (!ldns_pkt_edns(q))
        return false;
    ldns_edns_option_list *l = ldns_pkt_edns_get_option_list(q);
    for (size_t i = 0; l != NULL && i < ldns_edns_option_list_get_count(l); i++)
        if (ldns_edns_get_code(ldns_edns_option_list_get_option(l, i)) == LDNS_EDNS_NSID)
            return true;
    return false;
}

/* A pool's site answers with its name as NSID, when the query asked. */
static bool add_nsid(const struct demo_req *req, ldns_pkt *r)
{
    if (req->site < 0 || req->site >= DEMO_POOL_SITES || !wants_nsid(req->query))
        return true;
    const char *name = pool_sites[req->site];
    ldns_edns_option_list *l = ldns_edns_option_list_new();
    ldns_edns_option *o = ldns_edns_new_from_data(LDNS_EDNS_NSID, strlen(name), name);
    if (l == NULL || o == NULL || !ldns_edns_option_list_push(l, o)) {
        if (o != NULL)
            ldns_edns_deep_free(o);
        if (l != NULL)
            ldns_edns_option_list_deep_free(l);
        return false;
    }
    ldns_pkt_set_edns_option_list(r, l);
    return true;
}

/* Seconds left until until_ms, rounded up: a record is served with TTL 1
 * until its last millisecond, never 0 while fresh. */
static uint32_t remaining_s(int64_t until_ms, int64_t now)
{
    return until_ms <= now ? 0 : (uint32_t)((until_ms - now + 999) / 1000);
}

static bool same_rdata(const ldns_rr *a, const ldns_rr *b)
{
    if (ldns_rr_get_type(a) != ldns_rr_get_type(b) || ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
        return false;
    for (size_t i = 0; i < ldns_rr_rd_count(a); i++) {
        const ldns_rdf *x = ldns_rr_rdf(a, i), *y = ldns_rr_rdf(b, i);
        if (ldns_rdf_get_type(x) == LDNS_RDF_TYPE_DNAME ? ldns_dname_compare(x, y) != 0
                                                        : ldns_rdf_compare(x, y) != 0)
            return false;
    }
    return true;
}

static void stretch_ttls(ldns_rr_list *l, unsigned factor)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        uint64_t t = (uint64_t)ldns_rr_ttl(rr) * factor;
        ldns_rr_set_ttl(rr, t > DEMO_TTL_CAP ? DEMO_TTL_CAP : (uint32_t)t);
    }
}

static uint32_t min_ttl(const ldns_rr_list *l)
{
    uint32_t m = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(l, i));
        if (i == 0 || t < m)
            m = t;
    }
    return m;
}

/* Stores the upstream reply (NOERROR or NXDOMAIN) for f's question, replacing
 * what was held. Returns the entry, or NULL when out of memory. */
static struct demo_cache_entry *cache_store(struct demo_fetch *f, const ldns_pkt *reply,
                                            int64_t now)
{
    struct demo_server *s = f->srv;
    ldns_rr_list *ans = ldns_rr_list_clone(ldns_pkt_answer(reply));
    ldns_rr_list *auth = ldns_rr_list_new();
    if (ans == NULL || auth == NULL)
        goto fail;
    bool negative =
        ldns_pkt_get_rcode(reply) == LDNS_RCODE_NXDOMAIN || ldns_rr_list_rr_count(ans) == 0;
    if (negative) {
        /* keep the SOA, with the negative TTL: min(its TTL, its MINIMUM) */
        ldns_rr_list *a = ldns_pkt_authority(reply);
        for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(a, i);
            if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
                continue;
            ldns_rr *c = ldns_rr_clone(rr);
            if (c == NULL || !ldns_rr_list_push_rr(auth, c)) {
                ldns_rr_free(c);
                goto fail;
            }
            uint32_t min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
            if (min < ldns_rr_ttl(c))
                ldns_rr_set_ttl(c, min);
            break;
        }
    }
    if (s->info->kind_id == DEMO_STRETCH) {
        stretch_ttls(ans, s->world->opts.stretch);
        stretch_ttls(auth, s->world->opts.stretch);
    }
    struct demo_cache_entry *e = cache_find(s, f->site, f->qname, f->qtype);
    if (s->info->kind_id == DEMO_TWO_MX && f->qtype == LDNS_RR_TYPE_MX && !negative && e != NULL) {
        /* the bug this resolver stands for: the MX it held stay beside the new ones */
        uint32_t ttl = min_ttl(ans);
        for (size_t i = 0; i < ldns_rr_list_rr_count(e->answer); i++) {
            const ldns_rr *old = ldns_rr_list_rr(e->answer, i);
            bool seen = ldns_rr_get_type(old) != LDNS_RR_TYPE_MX;
            for (size_t j = 0; j < ldns_rr_list_rr_count(ans) && !seen; j++)
                seen = same_rdata(old, ldns_rr_list_rr(ans, j));
            if (seen)
                continue;
            ldns_rr *c = ldns_rr_clone(old);
            if (c == NULL || !ldns_rr_list_push_rr(ans, c)) {
                ldns_rr_free(c);
                goto fail;
            }
            ldns_rr_set_ttl(c, ttl);
        }
    }
    if (e == NULL) {
        if ((e = calloc(1, sizeof *e)) == NULL || (e->qname = ldns_rdf_clone(f->qname)) == NULL) {
            free(e);
            goto fail;
        }
        e->qtype = f->qtype;
        e->next = *cache_head(s, f->site);
        *cache_head(s, f->site) = e;
    }
    ldns_rr_list_deep_free(e->answer);
    ldns_rr_list_deep_free(e->authority);
    e->answer = ans;
    e->authority = auth;
    e->rcode = ldns_pkt_get_rcode(reply);
    e->stored_ms = now - f->age_ms;
    /* a negative answer without an SOA is not cached (RFC 2308 5): TTL 0 */
    uint32_t ttl = negative ? min_ttl(auth) : min_ttl(ans);
    e->expires_ms = e->stored_ms + (int64_t)ttl * 1000;
    return e;
fail:
    ldns_rr_list_deep_free(ans);
    ldns_rr_list_deep_free(auth);
    return NULL;
}

static bool push_counted(ldns_pkt *r, ldns_pkt_section sec, const ldns_rr_list *l,
                         int64_t stored_ms, int64_t now)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        ldns_rr *c = ldns_rr_clone(rr);
        if (c == NULL || !ldns_pkt_push_rr(r, sec, c)) {
            ldns_rr_free(c);
            return false;
        }
        ldns_rr_set_ttl(c, remaining_s(stored_ms + (int64_t)ldns_rr_ttl(rr) * 1000, now));
    }
    return true;
}

static void reply_from_cache(struct demo_req *req, const struct demo_cache_entry *e, int64_t now)
{
    ldns_pkt *r = demo__reply_new(req->query, e->rcode);
    if (r != NULL) {
        ldns_pkt_set_ra(r, true);
        if (!push_counted(r, LDNS_SECTION_ANSWER, e->answer, e->stored_ms, now) ||
            !push_counted(r, LDNS_SECTION_AUTHORITY, e->authority, e->stored_ms, now) ||
            !add_nsid(req, r)) {
            ldns_pkt_free(r);
            r = NULL;
        }
    }
    demo__reply(req, r);
}

static void reply_rcode(struct demo_req *req, ldns_pkt_rcode rcode)
{
    ldns_pkt *r = demo__reply_new(req->query, rcode);
    if (r != NULL) {
        ldns_pkt_set_ra(r, true);
        if (!add_nsid(req, r)) {
            ldns_pkt_free(r);
            r = NULL;
        }
    }
    demo__reply(req, r);
}

static void fetch_free(struct demo_fetch *f)
{
    ldns_rdf_deep_free(f->qname);
    free(f);
}

static void fetch_done(void *arg, int status, ldns_pkt *reply)
{
    struct demo_fetch *f = arg;
    struct demo_world *w = f->srv->world;
    struct demo_cache_entry *e = NULL;
    if (status == UV_ECANCELED || w->closing) {
        if (f->req != NULL)
            demo__req_drop(f->req);
        else
            demo__prime_done(w, true);
        goto out;
    }
    int64_t now = (int64_t)uv_now(w->loop);
    if (status == 0 && (ldns_pkt_get_rcode(reply) == LDNS_RCODE_NOERROR ||
                        ldns_pkt_get_rcode(reply) == LDNS_RCODE_NXDOMAIN))
        e = cache_store(f, reply, now);
    if (f->req == NULL)
        demo__prime_done(w, e == NULL);
    else if (e != NULL)
        reply_from_cache(f->req, e, now);
    else
        reply_rcode(f->req, LDNS_RCODE_SERVFAIL);
out:
    ldns_pkt_free(reply);
    fetch_free(f);
}

/* Starts a fetch; on failure req (if any) is still the caller's. */
static int fetch_start(struct demo_server *s, int site, const ldns_rdf *qname, ldns_rr_type qtype,
                       struct demo_req *req, int64_t age_ms)
{
    struct demo_fetch *f = calloc(1, sizeof *f);
    if (f == NULL)
        return DP_ENOMEM;
    f->srv = s;
    f->qtype = qtype;
    f->req = req;
    f->age_ms = age_ms;
    f->site = site;
    if ((f->qname = ldns_rdf_clone(qname)) == NULL) {
        free(f);
        return DP_ENOMEM;
    }
    struct demo_world *w = s->world;
    int rc = demo__upstream_query(w, &w->servers[0].sa, qname, qtype, fetch_done, f);
    if (rc < 0)
        fetch_free(f);
    return rc;
}

void demo__resolver_query(struct demo_server *s, struct demo_req *req)
{
    switch (s->info->kind_id) {
    case DEMO_SILENT:
        demo__req_drop(req);
        return;
    case DEMO_SERVFAIL:
        reply_rcode(req, LDNS_RCODE_SERVFAIL);
        return;
    case DEMO_PLAIN:
    case DEMO_COLD:
    case DEMO_TWO_MX:
    case DEMO_STRETCH:
        break;
    case DEMO_POOL: {
        /* xorshift64: which cache this query lands on */
        uint64_t x = s->world->rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s->world->rng = x;
        req->site = (int)(x % DEMO_POOL_SITES);
        break;
    }
    }
    const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(req->query), 0);
    if (ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
        reply_rcode(req, LDNS_RCODE_REFUSED);
        return;
    }
    int64_t now = (int64_t)uv_now(s->world->loop);
    const struct demo_cache_entry *e =
        cache_find(s, req->site, ldns_rr_owner(q), ldns_rr_get_type(q));
    if (e != NULL && now < e->expires_ms) {
        s->world->stats.cache_hits++;
        reply_from_cache(req, e, now);
        return;
    }
    if (fetch_start(s, req->site, ldns_rr_owner(q), ldns_rr_get_type(q), req, 0) < 0)
        reply_rcode(req, LDNS_RCODE_SERVFAIL);
}

int demo__resolver_prime(struct demo_server *s, const char *qname, ldns_rr_type qtype)
{
    ldns_rdf *n = ldns_dname_new_frm_str(qname);
    if (n == NULL)
        return DP_ENOMEM;
    int rc = 0, started = 0;
    if (s->info->kind_id == DEMO_POOL) {
        int64_t ttl_ms = (int64_t)s->world->opts.old_ttl * 1000;
        for (int i = 0; i < DEMO_POOL_SITES && rc >= 0; i++)
            if ((rc = fetch_start(s, i, n, qtype, NULL,
                                  s->info->prime_age_ms + ttl_ms * 2 * i / 5)) >= 0)
                started++;
    } else if ((rc = fetch_start(s, -1, n, qtype, NULL, s->info->prime_age_ms)) >= 0) {
        started = 1;
    }
    ldns_rdf_deep_free(n);
    return started > 0 ? started : rc;
}
