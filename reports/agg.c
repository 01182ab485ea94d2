/*
 * The aggregates: observations in, the state of every (domain, check,
 * server) out. Rows arrive in log order; a round is finished when a row of
 * a later round arrives, or when the caller asks (a refresh). Finishing a
 * round is where the rules of PRODUCT.md section 6 are applied:
 *
 * - Rows are grouped per (round, domain, check, server). The primary row of
 *   a group is its first row whose qtype is the check's own (MX for mx, TXT
 *   for spf and dmarc, CNAME for autodiscover and dkim, ...). A row "fails"
 *   when its status is timeout, unreachable, servfail, refused or malformed.
 * - error: the primary row failed, or a row with an expectation (non-empty
 *   match) failed. converged: at least one row has an expectation and every
 *   such row matched. stale: some row with an expectation did not match.
 *   pending: nothing expected in this round (no --expect, no profile rule
 *   and no authoritative answer): an answer we cannot judge yet.
 * - stale_expires: the latest (time + ttl) over the rows with match=no:
 *   by then the server must have dropped every stale record it holds.
 * - matching_since: the start of the current run of converged rounds; error
 *   rounds neither break nor extend it (a lost query says nothing about the
 *   cache), a stale or pending round ends it. flaps: stale rounds that
 *   follow a converged one (errors in between ignored).
 * - current_answer: the answers of the rows of the check's own qtype in the
 *   latest round; several qnames (dkim) are written "qname: answer" joined by
 *   " ; "; an empty answer is written as its status in parentheses,
 *   "(nxdomain)".
 * - Counts for the timeline and the summary are over resolvers only: the
 *   auth: servers are the reference, not the audience.
 * - Authoritative disagreement: two auth: servers that answered (ok,
 *   nxdomain, nodata) the same qname and qtype in one round with different
 *   statuses or answers (an SOA with another serial is a different answer).
 * - Vantages: rounds are numbered per vantage (a merged log holds several
 *   vantages' rounds 1, 2, ...); a round is the rows of one (vantage,
 *   round) in a row of the log, finished by a row of any other, so a
 *   rebuild finishes rounds in the order incremental refreshes did. A server
 *   is known per (vantage, name, address); the timeline and the chart's
 *   series are per (check, vantage).
 * - Sites (PRODUCT.md section 6): each row's site (NSID, "" none) keeps its
 *   own stale expiry and promise (judge_sites); a server converged in a
 *   round stays stale while another of its sites holds the old records by
 *   its latest answer and its expiry is ahead; its stale_expires is the
 *   latest over its sites'. It is overdue while not converged and a site
 *   has broken its promise: the records had changed at the auth: servers
 *   by the time the promise ran out (judge_sites). Overdue past the
 *   deadline is decided at render time (the deadline needs the settings).
 * - Each round's auth: groups are finished first, then the change they show
 *   (track_change), then the resolvers' groups, judged against it.
 * - The change, per (domain, check, vantage) (track_change): the round in
 *   which the auth: servers first served, as expected, an answer other
 *   than before (or after answers that were not expected), and the largest
 *   TTL they gave the answers before it: the deadline's inputs.
 * - delegation (PRODUCT.md section 12): the counts are over the parent:
 *   servers (their referral's NS set matched the child's or not; a parent
 *   that is unreachable, such as IPv6 on an IPv4-only host, is not counted); a parent
 *   that has not changed yet is not a cache, so its rows give no ETA. The
 *   auth: rows of the check are probes and the child's addresses, not
 *   answers to compare: they never disagree. Per round: lame-delegation when
 *   a server the parent names answered (any rcode) but not authoritatively
 *   (AA set, NOERROR, the domain's NS in the answer: the "aa" part of its
 *   text); a probe that got no reply at all (timeout, unreachable) is not
 *   called lame. glue-mismatch when a referral's glue for a name at or
 *   below the domain differs, type by type, from what the child's own
 *   servers answer for that name's A or AAAA, or when such a name has no glue
 *   at all while the child gives it addresses. A referral whose NS set is not
 *   the child's is delegation-mismatch (its match column says no).
 */
#include "internal.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- strings and maps ---- */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

/* Returns the index for key, or UINT32_MAX when absent. */
uint32_t rep__map_get(const struct rep_map *m, uint64_t key)
{
    if (m->nslots == 0)
        return UINT32_MAX;
    uint32_t j = (uint32_t)mix(key) & (m->nslots - 1);
    while (m->vals[j] != 0) {
        if (m->keys[j] == key)
            return m->vals[j] - 1;
        j = (j + 1) & (m->nslots - 1);
    }
    return UINT32_MAX;
}

int rep__map_put(struct rep_map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->nslots) {
        uint32_t ns = m->nslots ? m->nslots * 2 : 64;
        uint64_t *keys = calloc(ns, sizeof *keys);
        uint32_t *vals = calloc(ns, sizeof *vals);
        if (keys == NULL || vals == NULL) {
            free(keys);
            free(vals);
            return DP_ENOMEM;
        }
        for (uint32_t i = 0; i < m->nslots; i++) {
            if (m->vals[i] == 0)
                continue;
            uint32_t j = (uint32_t)mix(m->keys[i]) & (ns - 1);
            while (vals[j] != 0)
                j = (j + 1) & (ns - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->nslots = ns;
    }
    uint32_t j = (uint32_t)mix(key) & (m->nslots - 1);
    while (m->vals[j] != 0 && m->keys[j] != key)
        j = (j + 1) & (m->nslots - 1);
    if (m->vals[j] == 0)
        m->n++;
    m->keys[j] = key;
    m->vals[j] = val + 1;
    return 0;
}

static void map_clear(struct rep_map *m)
{
    if (m->nslots)
        memset(m->vals, 0, m->nslots * sizeof *m->vals);
    m->n = 0;
}

static void map_free(struct rep_map *m)
{
    free(m->keys);
    free(m->vals);
}

int rep__grow(void **arr, uint32_t *cap, uint32_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    if (*cap > UINT32_MAX / 2)
        return DP_ENOMEM;
    uint32_t c = *cap ? *cap * 2 : 16;
    void *b = realloc(*arr, (size_t)c * sz);
    if (b == NULL)
        return DP_ENOMEM;
    *arr = b;
    *cap = c;
    return 0;
}

/* ---- the open round ---- */

/* A row of the open round, its strings in the round's text arena. */
struct row {
    int64_t time, ttl;
    uint32_t qname, qtype, answer; /* offsets in text */
    uint32_t site;                 /* string id of the NSID, "" none */
    uint32_t expected;             /* offset in text (delegation rows only), else UINT32_MAX */
    uint32_t next;                 /* next row of the same group + 1, 0 = last */
    uint8_t status, match;
    bool ede_stale; /* EDE 3 (Stale Answer, RFC 8914) in the reply */
};

struct grp {
    uint32_t dcs;         /* rep_dcs index */
    uint32_t first, last; /* rows + 1 */
    uint32_t next_in_dc;  /* next group of the same dcv + 1 */
    int64_t min_time;
};

struct open {
    struct row *rows;
    uint32_t nrows, caprows;
    struct grp *grps;
    uint32_t ngrps, capgrps;
    char *text;
    size_t ntext, captext;
    struct rep_map grpmap; /* dcs index -> group */
    uint32_t *touched;     /* dcv indices in order of their first group */
    uint32_t ntouched, captouched;
};

static uint32_t put_text(struct open *op, const char *s, size_t len)
{
    if (op->ntext + len + 1 > op->captext) {
        size_t cap = op->captext ? op->captext : 65536;
        while (op->ntext + len + 1 > cap)
            cap *= 2;
        char *b = realloc(op->text, cap);
        if (b == NULL)
            return UINT32_MAX;
        op->text = b;
        op->captext = cap;
    }
    if (op->ntext + len + 1 > UINT32_MAX)
        return UINT32_MAX;
    uint32_t off = (uint32_t)op->ntext;
    memcpy(op->text + off, s, len);
    op->text[off + len] = '\0';
    op->ntext += len + 1;
    return off;
}

struct rep_agg *rep__agg_new(void)
{
    struct rep_agg *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->open = calloc(1, sizeof(struct open));
    if (a->open == NULL) {
        free(a);
        return NULL;
    }
    csvw_init(&a->tl);
    return a;
}

void rep__agg_free(struct rep_agg *a)
{
    if (a == NULL)
        return;
    struct open *op = a->open;
    if (op != NULL) {
        free(op->rows);
        free(op->grps);
        free(op->text);
        free(op->touched);
        map_free(&op->grpmap);
        free(op);
    }
    for (uint32_t i = 0; i < a->ndcss; i++)
        free(a->dcss[i].answer);
    for (uint32_t i = 0; i < a->nmxs; i++)
        free(a->mxs[i].hosts);
    for (uint32_t i = 0; i < a->ndels; i++) {
        free(a->dels[i].answer);
        free(a->dels[i].child);
        free(a->dels[i].lame);
    }
    free(a->dels);
    map_free(&a->delmap);
    dp_strtab_deinit(&a->str);
    free(a->doms);
    free(a->vans);
    free(a->dcs);
    free(a->dcvs);
    free(a->dcss);
    free(a->sites);
    free(a->mxs);
    free(a->ser);
    map_free(&a->dommap);
    map_free(&a->vanmap);
    map_free(&a->dcmap);
    map_free(&a->dcvmap);
    map_free(&a->dcsmap);
    map_free(&a->sitemap);
    map_free(&a->mxmap);
    map_free(&a->sermap);
    csvw_deinit(&a->tl);
    free(a);
}

uint32_t rep__agg_last_round(const struct rep_agg *a)
{
    return a->last_round;
}

/* ---- finishing a round ---- */

/* the log's statuses are kept as bytes */
static bool answered(uint8_t status)
{
    return obs_status_answered((enum obs_status)status);
}

/* The qtype of a check's primary row; NULL for a check we do not know. */
static const char *primary_qtype(const char *check)
{
    static const char *const map[][2] = {
        {"mx", "MX"},      {"spf", "TXT"},       {"autodiscover", "CNAME"},
        {"dkim", "CNAME"}, {"dmarc", "TXT"},     {"ns", "NS"},
        {"soa", "SOA"},    {"a", "A"},           {"aaaa", "AAAA"},
        {"txt", "TXT"},    {"delegation", "NS"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], check) == 0)
            return map[i][1];
    return NULL;
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

uint32_t rep__server_key(struct dp_strtab *t, uint32_t vantage, uint32_t server, uint32_t address)
{
    const char *name = t->s[server], *addr = t->s[address], *van = t->s[vantage];
    size_t nl = strlen(name), al = strlen(addr), vl = strlen(van);
    char small[256]; /* most keys: no allocation */
    size_t need = nl + al + vl + 3;
    char *buf = need <= sizeof small ? small : malloc(need);
    if (buf == NULL)
        return UINT32_MAX;
    memcpy(buf, name, nl);
    buf[nl] = ' '; /* printable, so the state file keeps it as it is */
    memcpy(buf + nl + 1, addr, al);
    buf[nl + 1 + al] = ' ';
    memcpy(buf + nl + al + 2, van, vl + 1);
    uint32_t id = rep__str(t, buf, nl + al + vl + 2);
    if (buf != small)
        free(buf);
    return id;
}

/* The MX findings of one group whose primary row is `mx`. */
static int judge_mx(struct rep_agg *a, struct open *op, struct grp *g, struct row *mx,
                    struct rep_dcs *d)
{
    struct rep_dc *c = &a->dcs[d->dc];
    uint32_t van = a->dcvs[d->dcv].van;
    uint32_t skey = rep__server_key(&a->str, a->vans[van].name, d->server, d->address);
    if (skey == UINT32_MAX)
        return DP_ENOMEM;
    uint64_t key = ((uint64_t)c->dom << 32) | skey;
    uint32_t i = rep__map_get(&a->mxmap, key);
    int rc = 0;
    if (i == UINT32_MAX) {
        if (REP_GROW(a, mxs) != 0 || rep__map_put(&a->mxmap, key, a->nmxs) != 0)
            return DP_ENOMEM;
        i = a->nmxs++;
        memset(&a->mxs[i], 0, sizeof a->mxs[i]);
        a->mxs[i].dom = c->dom;
        a->mxs[i].dc = d->dc;
        a->mxs[i].van = van;
        a->mxs[i].server = d->server;
    }
    struct rep_mx *m = &a->mxs[i];
    m->address = d->address;
    m->auth = d->auth;
    m->round = a->open_round;
    m->time = g->min_time;
    m->failed = !answered(mx->status);
    m->count = 0;
    m->flags = 0;
    free(m->hosts);
    m->hosts = NULL;
    if (m->failed)
        return 0;
    const char *ans = op->text + mx->answer;
    if (mx->status != OBS_OK || ans[0] == '\0') {
        m->flags |= REP_MX_NONE;
        return 0;
    }
    if (mx->match == OBS_MATCH_NO)
        m->flags |= REP_MX_MISMATCH;
    /* split "PREF HOST | PREF HOST": each host NUL-terminated in a copy */
    size_t alen = strlen(ans), nh = 0;
    (void)answer_text_count(ans, 0, &nh);
    char *copy = malloc(alen + 1);
    char **hosts = calloc(nh, sizeof *hosts);
    if (copy == NULL || hosts == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    memcpy(copy, ans, alen + 1);
    struct answer_text it;
    struct answer_rec rec;
    size_t n = 0, total = 1;
    answer_text_init(&it, ans, alen, 0);
    while (n < nh && answer_text_next(&it, &rec) == 1) {
        copy[(size_t)(rec.s - ans) + rec.len] = '\0';
        hosts[n] = copy + (answer_mx_host(&rec).s - ans);
        lower(hosts[n]);
        total += strlen(hosts[n]) + 3;
        n++;
    }
    qsort(hosts, n, sizeof *hosts, cmp_cstr);
    m->count = (uint32_t)n;
    m->hosts = malloc(total);
    if (m->hosts == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    size_t o = 0;
    for (size_t h = 0; h < n; h++) {
        size_t len = strlen(hosts[h]);
        if (h > 0) {
            memcpy(m->hosts + o, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
            o += ANSWER_TEXT_SEPLEN;
        }
        memcpy(m->hosts + o, hosts[h], len);
        o += len;
        if (strcmp(hosts[h], ".") == 0) {
            m->flags |= REP_MX_NULL;
            continue;
        }
        if (dnsname_is_ip_literal(hosts[h])) {
            m->flags |= REP_MX_IP;
            continue;
        }
        /* what the group says about this target */
        bool a_neg = false, aaaa_neg = false;
        for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
            const struct row *x = &op->rows[r - 1];
            if (x == mx || strcasecmp(op->text + x->qname, hosts[h]) != 0)
                continue;
            const char *qt = op->text + x->qtype;
            if (strcmp(qt, "CNAME") == 0 && x->status == OBS_OK && op->text[x->answer] != '\0')
                m->flags |= REP_MX_CNAME;
            else if (strcmp(qt, "A") == 0)
                a_neg = x->status == OBS_NXDOMAIN || x->status == OBS_NODATA;
            else if (strcmp(qt, "AAAA") == 0)
                aaaa_neg = x->status == OBS_NXDOMAIN || x->status == OBS_NODATA;
        }
        if (a_neg && aaaa_neg)
            m->flags |= REP_MX_UNRES;
    }
    m->hosts[o] = '\0';
out:
    free(hosts);
    free(copy);
    return rc;
}

/* current_answer of a group, malloc'd. */
static char *group_answer(struct open *op, struct grp *g, const char *cq)
{
    struct csvw w; /* used as a plain growing buffer */
    size_t parts = 0;
    csvw_init(&w);
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next)
        parts += cq == NULL || strcmp(op->text + op->rows[r - 1].qtype, cq) == 0;
    size_t k = 0;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        const struct row *x = &op->rows[r - 1];
        if (cq != NULL && strcmp(op->text + x->qtype, cq) != 0)
            continue;
        if (k++ > 0)
            csvw_raw(&w, " ; ", 3);
        if (parts > 1) {
            csvw_raw(&w, op->text + x->qname, strlen(op->text + x->qname));
            csvw_raw(&w, ": ", 2);
        }
        const char *ans = op->text + x->answer;
        if (ans[0] != '\0') {
            csvw_raw(&w, ans, strlen(ans));
        } else {
            const char *st = obs_status_name((enum obs_status)x->status);
            csvw_raw(&w, "(", 1);
            csvw_raw(&w, st, strlen(st));
            csvw_raw(&w, ")", 1);
        }
    }
    csvw_raw(&w, "", 0);
    char *out = NULL;
    if (csvw_error(&w) == 0) {
        out = malloc(w.len + 1);
        if (out != NULL) {
            memcpy(out, w.buf ? w.buf : "", w.len);
            out[w.len] = '\0';
        }
    }
    csvw_deinit(&w);
    return out;
}

static int add_point(struct rep_agg *a, uint32_t check, uint32_t van, int64_t t, uint32_t round,
                     uint32_t conv, uint32_t servers)
{
    uint64_t key = ((uint64_t)van << 32) | check;
    uint32_t si = rep__map_get(&a->sermap, key);
    struct rep_series *s;
    if (si == UINT32_MAX) {
        if (REP_GROW(a, ser) != 0 || rep__map_put(&a->sermap, key, a->nser) != 0)
            return DP_ENOMEM;
        s = &a->ser[a->nser++];
        memset(s, 0, sizeof *s);
        s->check = check;
        s->van = van;
        s->k = 1;
    } else {
        s = &a->ser[si];
    }
    struct rep_point *p = s->n ? &s->pts[s->n - 1] : NULL;
    if (p != NULL && p->round == round) {
        /* another domain, same round */
    } else if (p != NULL && p->nrounds < s->k) {
        p->round = round;
        p->nrounds++;
    } else {
        if (s->n == REP_SERIES_MAX) {
            for (uint32_t i = 0; i < REP_SERIES_MAX / 2; i++) {
                struct rep_point x = s->pts[2 * i], y = s->pts[2 * i + 1];
                x.round = y.round;
                x.nrounds += y.nrounds;
                x.conv += y.conv;
                x.servers += y.servers;
                s->pts[i] = x;
            }
            s->n = REP_SERIES_MAX / 2;
            s->k *= 2;
        }
        p = &s->pts[s->n++];
        memset(p, 0, sizeof *p);
        p->t = t;
        p->round = round;
        p->nrounds = 1;
    }
    p->conv += conv;
    p->servers += servers;
    return 0;
}

/* Auth disagreement inside one dc's groups of the open round. */
static bool auth_disagree(struct rep_agg *a, struct open *op, uint32_t head)
{
    for (uint32_t g1 = head; g1 != 0; g1 = op->grps[g1 - 1].next_in_dc) {
        const struct grp *x = &op->grps[g1 - 1];
        if (!a->dcss[x->dcs].auth)
            continue;
        for (uint32_t g2 = x->next_in_dc; g2 != 0; g2 = op->grps[g2 - 1].next_in_dc) {
            const struct grp *y = &op->grps[g2 - 1];
            if (!a->dcss[y->dcs].auth)
                continue;
            for (uint32_t r1 = x->first; r1 != 0; r1 = op->rows[r1 - 1].next) {
                const struct row *p = &op->rows[r1 - 1];
                if (!answered(p->status))
                    continue;
                for (uint32_t r2 = y->first; r2 != 0; r2 = op->rows[r2 - 1].next) {
                    const struct row *q = &op->rows[r2 - 1];
                    if (!answered(q->status) ||
                        strcmp(op->text + p->qname, op->text + q->qname) != 0 ||
                        strcmp(op->text + p->qtype, op->text + q->qtype) != 0)
                        continue;
                    if (p->status != q->status ||
                        strcmp(op->text + p->answer, op->text + q->answer) != 0)
                        return true;
                }
            }
        }
    }
    return false;
}

/* ---- the delegation check ---- */

/* Whether the " | "-joined list l holds s (n bytes), in any case. */
static bool list_has(const char *l, const char *s, size_t n)
{
    struct answer_text it;
    struct answer_rec rec;
    answer_text_init(&it, l, l ? strlen(l) : 0, 0);
    while (answer_text_next(&it, &rec) == 1)
        if (rec.len == n && strncasecmp(rec.s, s, n) == 0 && !(n == 0 && it.done))
            return true;
    return false;
}

/* Appends s (n bytes) to the " | "-joined list *l unless it is in it. */
static int list_add(char **l, const char *s, size_t n)
{
    size_t have = *l ? strlen(*l) : 0;
    if (list_has(*l, s, n))
        return 0;
    char *b = realloc(*l, have + n + 4);
    if (b == NULL)
        return DP_ENOMEM;
    answer_text_put(b, have, s, n);
    *l = b;
    return 0;
}

/* The child's answer for (name, type) from the auth: rows of the dc's
 * groups: the first that answered; NULL when none did. */
static const char *child_addrs(const struct rep_agg *a, const struct open *op, uint32_t head,
                               const char *name, size_t nl, const char *type)
{
    for (uint32_t gi = head; gi != 0; gi = op->grps[gi - 1].next_in_dc) {
        const struct grp *g = &op->grps[gi - 1];
        if (!a->dcss[g->dcs].auth)
            continue;
        for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
            const struct row *x = &op->rows[r - 1];
            const char *qn = op->text + x->qname;
            if (answered(x->status) && strcmp(op->text + x->qtype, type) == 0 && strlen(qn) == nl &&
                strncasecmp(qn, name, nl) == 0)
                return x->status == OBS_OK ? op->text + x->answer : "";
        }
    }
    return NULL;
}

/* The glue findings for one in-domain NS name of a referral. */
static int glue_check(const struct rep_agg *a, const struct open *op, uint32_t head,
                      const char *text, const char *name, size_t nl, bool *bad)
{
    static const char *const types[2] = {"A", "AAAA"};
    char nbuf[1100];
    bool any = false, child_any = false;
    if (nl >= sizeof nbuf)
        return 0;
    memcpy(nbuf, name, nl);
    nbuf[nl] = '\0';
    for (int t = 0; t < 2; t++) {
        char *glue = NULL;
        bool some = false;
        if (deleg_text_glue(text, nbuf, types[t], &glue, &some) != 0)
            return DP_ENOMEM;
        any = any || some;
        const char *child = child_addrs(a, op, head, name, nl, types[t]);
        child_any = child_any || (child != NULL && child[0] != '\0');
        if (glue[0] != '\0' && child != NULL && strcmp(glue, child) != 0)
            *bad = true;
        free(glue);
    }
    if (!any && child_any)
        *bad = true; /* resolvers cannot reach an in-domain server without glue */
    return 0;
}

static int deleg_round(struct rep_agg *a, struct open *op, struct rep_dcv *c)
{
    uint32_t dom_i = a->dcs[c->dc].dom, vname = a->vans[c->van].name;
    const char *dom = a->str.s[a->doms[dom_i].name];
    size_t dl = strlen(dom);
    char *lame = NULL;
    int rc = 0;
    uint8_t all = 0;
    /* the servers the parent names that answered, but not for the domain */
    for (uint32_t gi = c->grp_head; gi != 0; gi = op->grps[gi - 1].next_in_dc) {
        const struct grp *g = &op->grps[gi - 1];
        const struct rep_dcs *d = &a->dcss[g->dcs];
        if (!d->auth)
            continue;
        for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
            const struct row *x = &op->rows[r - 1];
            const char *qn = op->text + x->qname, *srv = a->str.s[d->server] + 5;
            if (strcmp(op->text + x->qtype, "NS") != 0 || strncasecmp(qn, dom, dl) != 0 ||
                strcmp(qn + dl, ".") != 0)
                continue;
            bool lame_here =
                answered(x->status) || x->status == OBS_SERVFAIL || x->status == OBS_REFUSED;
            lame_here = lame_here && !(x->status == OBS_OK && deleg_text_aa(op->text + x->answer));
            if (!lame_here)
                continue;
            char nb[1100];
            int n = snprintf(nb, sizeof nb, "%s.", srv);
            if (n > 0 && (size_t)n < sizeof nb && (rc = list_add(&lame, nb, (size_t)n)) != 0)
                goto out;
        }
    }
    for (uint32_t gi = c->grp_head; gi != 0; gi = op->grps[gi - 1].next_in_dc) {
        const struct grp *g = &op->grps[gi - 1];
        const struct rep_dcs *d = &a->dcss[g->dcs];
        const struct row *x = NULL;
        if (d->auth)
            continue;
        for (uint32_t r = g->first; r != 0 && x == NULL; r = op->rows[r - 1].next)
            if (strcmp(op->text + op->rows[r - 1].qtype, "NS") == 0)
                x = &op->rows[r - 1];
        if (x == NULL)
            continue;
        const char *text = op->text + x->answer;
        uint8_t flags = x->match == OBS_MATCH_NO ? REP_DELEG_MISMATCH : 0;
        char *mine = NULL;
        bool glue_bad = false;
        size_t nsl = x->status == OBS_OK ? deleg_text_nslen(text) : 0;
        struct answer_text it;
        struct answer_rec rec;
        /* the NS names: the records that start in the NSSET part, cut at its end */
        answer_text_init(&it, text, nsl > 0 ? strlen(text) : 0, 0);
        while (answer_text_next(&it, &rec) == 1 && rec.s < text + nsl) {
            const char *p = rec.s;
            size_t len = rec.len < (size_t)(text + nsl - p) ? rec.len : (size_t)(text + nsl - p);
            if (list_has(lame, p, len)) {
                flags |= REP_DELEG_LAME;
                if ((rc = list_add(&mine, p, len)) != 0)
                    goto out;
            }
            char nb[1100];
            if (len < sizeof nb) {
                memcpy(nb, p, len);
                nb[len] = '\0';
                if (deleg_in_domain(nb, dom) &&
                    (rc = glue_check(a, op, c->grp_head, text, p, len, &glue_bad)) != 0) {
                    free(mine);
                    goto out;
                }
            }
        }
        if (glue_bad)
            flags |= REP_DELEG_GLUE;
        all |= flags;
        /* its row of delegation.csv */
        uint32_t skey = rep__server_key(&a->str, vname, d->server, d->address);
        uint64_t key = ((uint64_t)dom_i << 32) | skey;
        uint32_t i = skey == UINT32_MAX ? UINT32_MAX : rep__map_get(&a->delmap, key);
        if (skey == UINT32_MAX) {
            free(mine);
            rc = DP_ENOMEM;
            goto out;
        }
        if (i == UINT32_MAX) {
            if (REP_GROW(a, dels) != 0 || rep__map_put(&a->delmap, key, a->ndels) != 0) {
                free(mine);
                rc = DP_ENOMEM;
                goto out;
            }
            i = a->ndels++;
            memset(&a->dels[i], 0, sizeof a->dels[i]);
            a->dels[i].dom = dom_i;
            a->dels[i].dc = c->dc;
            a->dels[i].van = c->van;
            a->dels[i].server = d->server;
            a->dels[i].old_ttl = a->dels[i].changed = -1;
        }
        struct rep_deleg *e = &a->dels[i];
        e->address = d->address;
        e->round = a->open_round;
        e->time = g->min_time;
        e->ttl = x->ttl;
        e->status = x->status;
        e->flags = flags;
        /* the deadline: resolvers that took this server's old referral may
         * follow it until the change plus the old referral's TTL */
        if (x->match == OBS_MATCH_NO) {
            if (x->ttl > e->old_ttl)
                e->old_ttl = x->ttl;
            e->changed = -1;
        } else if (x->match == OBS_MATCH_YES && e->changed < 0 && e->old_ttl >= 0) {
            e->changed = g->min_time;
        }
        free(e->answer);
        free(e->child);
        free(e->lame);
        e->answer = strdup(text);
        e->child = strdup(x->expected != UINT32_MAX ? op->text + x->expected : "");
        e->lame = mine ? mine : strdup("");
        if (e->answer == NULL || e->child == NULL || e->lame == NULL) {
            rc = DP_ENOMEM;
            goto out;
        }
    }
    c->deleg = all;
out:
    free(lame);
    return rc;
}

static int emit_timeline(struct rep_agg *a, struct rep_dcv *c)
{
    struct csvw *w = &a->tl;
    const struct rep_dc *dc = &a->dcs[c->dc];
    csvw_time(w, c->time);
    csvw_uint(w, c->round);
    csvw_str(w, a->str.s[a->doms[dc->dom].name]);
    csvw_str(w, a->str.s[dc->check]);
    csvw_uint(w, c->servers);
    csvw_uint(w, c->conv);
    csvw_uint(w, c->stale);
    csvw_uint(w, c->errors);
    if (c->servers == 0) {
        csvw_field(w, NULL, 0);
    } else {
        char b[16];
        uint64_t permille = ((uint64_t)c->conv * 2000 + c->servers) / (2 * (uint64_t)c->servers);
        int n = snprintf(b, sizeof b, "%llu.%llu", (unsigned long long)(permille / 10),
                         (unsigned long long)(permille % 10));
        csvw_field(w, b, (size_t)n);
    }
    csvw_str(w, a->str.s[a->vans[c->van].name]);
    csvw_end(w);
    return csvw_error(w);
}

static int64_t max64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* The site record of (dcs, site), created on first sight; NULL: no memory. */
static struct rep_site *site_of(struct rep_agg *a, uint32_t dcs, uint32_t site)
{
    uint64_t key = ((uint64_t)dcs << 32) | site;
    uint32_t i = rep__map_get(&a->sitemap, key);
    if (i != UINT32_MAX)
        return &a->sites[i];
    if (REP_GROW(a, sites) != 0 || rep__map_put(&a->sitemap, key, a->nsites) != 0)
        return NULL;
    struct rep_site *x = &a->sites[a->nsites];
    memset(x, 0, sizeof *x);
    x->dcs = dcs;
    x->site = site;
    x->exp = x->promise = -1;
    /* put at the head of the dcs's list (the order does not matter) */
    struct rep_dcs *d = &a->dcss[dcs];
    x->next = d->site_head;
    d->site_head = ++a->nsites;
    return x;
}

/* Promises kept per (server, site), PRODUCT.md section 6: every site that
 * answered in group g has its own stale expiry and promise. A promise is
 * the expiry (time + TTL) of a stale answer; it is broken only when the
 * records had already changed at the authoritative servers by then: the
 * change time (track_change; before it, or when the auth: servers do not
 * serve the expected answer, no change is known and nothing is broken) is
 * at or before the promise + 1 s of clock grace, and the site still answers
 * the old records after the promise + 1 s. A stale answer the reply itself
 * calls stale (EDE 3) at or after the change time breaks it too. A promise
 * that ran out unbroken (it ended before the change) is replaced by the
 * newer answer's. A broken promise makes the site overdue until it answers
 * the expected value. */
static int judge_sites(struct rep_agg *a, struct open *op, struct grp *g)
{
    const struct rep_dcv *v = &a->dcvs[a->dcss[g->dcs].dcv];
    /* the change time as far as this vantage knows it: INT64_MIN when the
     * auth: servers serve the expected answer but the log never showed the
     * old one (the log began after the change) or when the log has no auth:
     * answers at all (--expect over resolvers only): the change is before
     * everything logged; -1 no change known */
    int64_t change = v->change_time >= 0              ? v->change_time
                     : (v->cur != 0 || !v->auth_seen) ? INT64_MIN
                                                      : -1;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        const struct row *x = &op->rows[r - 1];
        bool first = true;
        /* each site once, at its first row in the group */
        for (uint32_t q = g->first; q != r; q = op->rows[q - 1].next)
            if (op->rows[q - 1].site == x->site) {
                first = false;
                break;
            }
        if (!first)
            continue;
        bool any_answer = false, no = false, yes = false, bad = false, ede = false;
        int64_t exp = -1, when = -1;
        for (uint32_t q = r; q != 0; q = op->rows[q - 1].next) {
            const struct row *y = &op->rows[q - 1];
            if (y->site != x->site)
                continue;
            any_answer |= answered(y->status);
            if (y->match == OBS_MATCH_NONE)
                continue;
            bad |= !answered(y->status);
            if (y->match == OBS_MATCH_YES) {
                yes = true;
            } else {
                no = true;
                ede |= y->ede_stale;
                when = max64(when, y->time);
                if (y->ttl >= 0)
                    exp = max64(exp, y->time + y->ttl);
            }
        }
        if (!any_answer && !no && !yes)
            continue;
        struct rep_site *s = site_of(a, g->dcs, x->site);
        if (s == NULL)
            return DP_ENOMEM;
        if (any_answer && !s->answered) {
            s->answered = true;
            a->dcss[g->dcs].nsites++;
        }
        if (no) {
            bool known = change != -1;
            bool ran_out = s->promise >= 0 && when > s->promise + 1;
            if (known && ((ran_out && change <= s->promise + 1) || (ede && when >= change)))
                s->overdue = true;
            if (!s->overdue && ran_out)
                s->promise = exp; /* it ran out before the change: a new one */
            else if (exp >= 0 && (s->promise < 0 || exp < s->promise))
                s->promise = exp;
            s->exp = exp >= 0 ? exp : when;
        } else if (yes && !bad) {
            s->exp = s->promise = -1;
            s->overdue = false;
        }
    }
    return 0;
}

/* The largest TTL of the group's rows of the check's own qtype that were
 * answered; -1 none. */
static int64_t group_ttl(const struct open *op, const struct grp *g, const char *cq)
{
    int64_t t = -1;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        const struct row *x = &op->rows[r - 1];
        if ((cq == NULL || strcmp(op->text + x->qtype, cq) == 0) && answered(x->status))
            t = max64(t, x->ttl);
    }
    return t;
}

/* The change as one vantage saw it, after a round (see struct rep_dcv). */
static void track_change(struct rep_dcv *v)
{
    if (v->t_yes != 0) {
        if (v->cur == 0) {
            if (v->pre_ttl >= 0 || v->t_other_ttl >= 0) {
                /* old answers seen before (or beside) the expected one */
                v->change_time = v->time;
                v->old_ttl = max64(v->pre_ttl, v->t_other_ttl);
            }
        } else if (v->t_yes != v->cur) {
            v->change_time = v->time;
            v->old_ttl = max64(max64(v->cur_ttl, v->pre_ttl), v->t_other_ttl);
        } else if (v->change_time >= 0 && v->t_other_ttl >= 0) {
            /* a secondary still serving the old answer after the change */
            v->old_ttl = max64(v->old_ttl, v->t_other_ttl);
        }
        if (v->t_yes != v->cur) {
            v->cur = v->t_yes;
            v->cur_ttl = v->t_yes_ttl;
        } else {
            v->cur_ttl = max64(v->cur_ttl, v->t_yes_ttl);
        }
        v->pre_ttl = -1;
    } else if (v->t_other_ttl >= 0) {
        v->pre_ttl = max64(v->pre_ttl, v->t_other_ttl);
    }
}

static int finish_group(struct rep_agg *a, struct grp *g, uint32_t R);

static int finish_round(struct rep_agg *a)
{
    struct open *op = a->open;
    uint32_t R = a->open_round;
    int rc = 0;
    if (a->open_van == 0)
        return 0;
    /* the round of every (domain, check, vantage) it touched begins */
    for (uint32_t ti = 0; ti < op->ntouched; ti++) {
        struct rep_dcv *v = &a->dcvs[op->touched[ti]];
        v->round = R;
        v->time = op->grps[v->grp_head - 1].min_time;
        for (uint32_t g = v->grp_head; g != 0; g = op->grps[g - 1].next_in_dc)
            if (op->grps[g - 1].min_time < v->time)
                v->time = op->grps[g - 1].min_time;
        v->servers = v->conv = v->stale = v->errors = v->pending = 0;
        v->auth_mismatch = v->auth_disagree = false;
        v->t_yes = 0;
        v->t_yes_ttl = v->t_other_ttl = -1;
    }
    /* the auth: servers first, then the change they show (track_change),
     * then the resolvers, judged against it (judge_sites) */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (uint32_t ti = 0; ti < op->ntouched; ti++)
                track_change(&a->dcvs[op->touched[ti]]);
        for (uint32_t gi = 0; gi < op->ngrps; gi++) {
            struct grp *g = &op->grps[gi];
            if (a->dcss[g->dcs].auth != (pass == 0))
                continue;
            if ((rc = finish_group(a, g, R)) != 0)
                return rc;
        }
    }
    /* the MX findings, in the order of the groups (mx_compliance.csv
     * lists servers as they first came) */
    for (uint32_t gi = 0; gi < op->ngrps; gi++) {
        struct grp *g = &op->grps[gi];
        struct rep_dcs *d = &a->dcss[g->dcs];
        const char *chk = a->str.s[a->dcs[d->dc].check];
        const char *cq = primary_qtype(chk);
        if (cq == NULL || strcmp(chk, "mx") != 0)
            continue;
        for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
            struct row *x = &op->rows[r - 1];
            if (strcmp(op->text + x->qtype, cq) == 0) {
                if ((rc = judge_mx(a, op, g, x, d)) != 0)
                    return rc;
                break;
            }
        }
    }
    /* per (domain, check, vantage): disagreement, the timeline row, the
     * chart */
    for (uint32_t ti = 0; ti < op->ntouched; ti++) {
        struct rep_dcv *v = &a->dcvs[op->touched[ti]];
        if (strcmp(a->str.s[a->dcs[v->dc].check], "delegation") == 0) {
            v->auth_disagree = false;
            if ((rc = deleg_round(a, op, v)) != 0)
                return rc;
        } else {
            v->auth_disagree = auth_disagree(a, op, v->grp_head);
        }
        v->grp_head = v->grp_tail = 0;
        if ((rc = emit_timeline(a, v)) != 0)
            return rc;
        if ((rc = add_point(a, a->dcs[v->dc].check, v->van, v->time, R, v->conv, v->servers)) != 0)
            return rc;
    }
    a->vans[a->open_van - 1].finalized_round = R;
    a->open_van = 0;
    a->open_round = 0;
    op->nrows = op->ngrps = op->ntouched = 0;
    op->ntext = 0;
    map_clear(&op->grpmap);
    return 0;
}

/* One group of the open round (finish_round): its state, its sites, its
 * share of the round's counts. */
static int finish_group(struct rep_agg *a, struct grp *g, uint32_t R)
{
    struct open *op = a->open;
    int rc = 0;
    struct rep_dcs *d = &a->dcss[g->dcs];
    struct rep_dcv *v = &a->dcvs[d->dcv];
    struct rep_dc *c = &a->dcs[d->dc];
    const char *cq = primary_qtype(a->str.s[c->check]);
    bool deleg = strcmp(a->str.s[c->check], "delegation") == 0;
    struct row *primary = NULL;
    bool prim_failed = false, exp_failed = false, auth_no = false;
    uint32_t nmatch = 0, nyes = 0;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        struct row *x = &op->rows[r - 1];
        if (primary == NULL && (cq == NULL || strcmp(op->text + x->qtype, cq) == 0)) {
            primary = x;
            prim_failed = !answered(x->status);
        }
        if (x->match != OBS_MATCH_NONE) {
            nmatch++;
            nyes += x->match == OBS_MATCH_YES;
            exp_failed |= !answered(x->status);
            auth_no |= x->match == OBS_MATCH_NO;
        }
    }
    uint8_t st;
    if (prim_failed || exp_failed)
        st = REP_ERROR;
    else if (nmatch > 0 && nyes == nmatch)
        st = REP_CONVERGED;
    else if (nmatch > 0)
        st = REP_STALE;
    else
        st = REP_PENDING;
    if ((rc = judge_sites(a, op, g)) != 0)
        return rc;
    /* the sites: converged only when no site still holds the old
     * records by its latest answer and its own expiry is ahead */
    int64_t stale_exp = -1;
    bool overdue = false;
    /* a parent server that still names the old servers is no cache: it
     * promised nothing, and once it changes it is converged at once */
    for (uint32_t k = deleg ? 0 : d->site_head; k != 0; k = a->sites[k - 1].next) {
        const struct rep_site *x = &a->sites[k - 1];
        if (x->exp >= 0) {
            stale_exp = max64(stale_exp, x->exp);
            if (st == REP_CONVERGED && x->exp > g->min_time)
                st = REP_STALE;
        }
        overdue |= x->overdue;
    }

    char *ans = group_answer(op, g, cq);
    if (ans == NULL)
        return DP_ENOMEM;
    free(d->answer);
    d->answer = ans;
    d->state = st;
    d->rounds++;
    d->last_round = R;
    d->last_time = g->min_time;
    d->stale_exp = st == REP_STALE ? stale_exp : -1;
    d->overdue = st != REP_CONVERGED && overdue;
    d->unreachable = primary != NULL && primary->status == OBS_UNREACHABLE;
    switch (st) {
    case REP_CONVERGED:
        if (!d->streak)
            d->matching_since = g->min_time;
        d->streak = true;
        if (d->first_match < 0)
            d->first_match = g->min_time;
        break;
    case REP_STALE:
        if (d->streak)
            d->flaps++;
        d->streak = false;
        d->last_mismatch = g->min_time;
        break;
    case REP_PENDING:
        d->streak = false;
        break;
    default:
        d->errors++;
        break;
    }
    if (d->auth) {
        v->auth_mismatch |= auth_no;
        v->auth_seen |= primary != NULL && answered(primary->status);
        int64_t ttl = group_ttl(op, g, cq);
        if (st == REP_CONVERGED) {
            uint64_t h = rep__hash(REP__HASH_INIT, ans, strlen(ans));
            h = h ? h : 1;
            if (v->t_yes == 0)
                v->t_yes = h;
            if (h == v->t_yes)
                v->t_yes_ttl = max64(v->t_yes_ttl, ttl);
        } else if (st == REP_STALE || st == REP_PENDING) {
            v->t_other_ttl = max64(v->t_other_ttl, ttl);
        }
        return 0;
    }
    v->servers++;
    v->conv += st == REP_CONVERGED;
    v->stale += st == REP_STALE;
    v->errors += st == REP_ERROR;
    v->pending += st == REP_PENDING;
    return 0;
}

int rep__agg_finish(struct rep_agg *a)
{
    return finish_round(a);
}

/* ---- adding a row ---- */

/* Whether a ';'-joined list of EDE codes holds 3 (Stale Answer). */
static bool ede_has_stale(const char *ede)
{
    for (const char *p = ede; p != NULL && *p != '\0';) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 1 && p[0] == '3')
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

int rep__agg_add(struct rep_agg *a, const struct obs *o, char *why, size_t whylen)
{
    struct open *op = a->open;
    int rc;
    const char *vn = o->vantage ? o->vantage : "";
    uint32_t vname = rep__str(&a->str, vn, strlen(vn));
    if (vname == UINT32_MAX)
        return DP_ENOMEM;
    uint32_t vi = rep__map_get(&a->vanmap, vname);
    if (vi == UINT32_MAX) {
        if (REP_GROW(a, vans) != 0 || rep__map_put(&a->vanmap, vname, a->nvans) != 0)
            return DP_ENOMEM;
        vi = a->nvans++;
        a->vans[vi] = (struct rep_van){vname, 0};
    }
    /* a round is the rows of one vantage and round in a row of the log */
    if (a->open_van != vi + 1 || a->open_round != o->round) {
        bool open = a->open_van != 0;
        uint32_t fin = a->vans[vi].finalized_round;
        if (o->round <= fin) {
            /* rows for a round already finished: appended after a refresh
             * (read everything again), or going back in rounds */
            if (!open)
                return REP__RESTART;
            snprintf(why, whylen, "round %u after round %u", (unsigned)o->round, (unsigned)fin);
            return DP_EDAMAGED;
        }
        if (open && a->open_van == vi + 1 && o->round < a->open_round) {
            snprintf(why, whylen, "round %u after round %u", (unsigned)o->round,
                     (unsigned)a->open_round);
            return DP_EDAMAGED;
        }
        if (open && (rc = finish_round(a)) != 0)
            return rc;
        a->open_van = vi + 1;
        a->open_round = o->round;
    }
    if (o->round > a->last_round)
        a->last_round = o->round;

    const char *dom = o->domain, *chk = o->check, *srv = o->server;
    const char *adr = o->address ? o->address : "";
    const char *sn = o->site ? o->site : "";
    uint32_t dname = rep__str(&a->str, dom, strlen(dom));
    uint32_t check = rep__str(&a->str, chk, strlen(chk));
    uint32_t server = rep__str(&a->str, srv, strlen(srv));
    uint32_t address = rep__str(&a->str, adr, strlen(adr));
    uint32_t site = rep__str(&a->str, sn, strlen(sn));
    if (dname == UINT32_MAX || check == UINT32_MAX || server == UINT32_MAX ||
        address == UINT32_MAX || site == UINT32_MAX)
        return DP_ENOMEM;

    uint32_t di = rep__map_get(&a->dommap, dname);
    if (di == UINT32_MAX) {
        if (REP_GROW(a, doms) != 0 || rep__map_put(&a->dommap, dname, a->ndoms) != 0)
            return DP_ENOMEM;
        di = a->ndoms++;
        a->doms[di] = (struct rep_dom){dname, o->time, o->time};
    }
    if (o->time < a->doms[di].first_time)
        a->doms[di].first_time = o->time;
    if (o->time > a->doms[di].last_time)
        a->doms[di].last_time = o->time;

    uint64_t key = ((uint64_t)di << 32) | check;
    uint32_t ci = rep__map_get(&a->dcmap, key);
    if (ci == UINT32_MAX) {
        if (REP_GROW(a, dcs) != 0 || rep__map_put(&a->dcmap, key, a->ndcs) != 0)
            return DP_ENOMEM;
        ci = a->ndcs++;
        a->dcs[ci] = (struct rep_dc){di, check};
    }
    key = ((uint64_t)ci << 32) | vi;
    uint32_t cvi = rep__map_get(&a->dcvmap, key);
    if (cvi == UINT32_MAX) {
        if (REP_GROW(a, dcvs) != 0 || rep__map_put(&a->dcvmap, key, a->ndcvs) != 0)
            return DP_ENOMEM;
        cvi = a->ndcvs++;
        struct rep_dcv *v = &a->dcvs[cvi];
        memset(v, 0, sizeof *v);
        v->dc = ci;
        v->van = vi;
        v->cur_ttl = v->pre_ttl = v->change_time = v->old_ttl = -1;
        v->t_yes_ttl = v->t_other_ttl = -1;
    }
    uint32_t skey = rep__server_key(&a->str, vname, server, address);
    if (skey == UINT32_MAX)
        return DP_ENOMEM;
    key = ((uint64_t)ci << 32) | skey;
    uint32_t si = rep__map_get(&a->dcsmap, key);
    if (si == UINT32_MAX) {
        if (REP_GROW(a, dcss) != 0 || rep__map_put(&a->dcsmap, key, a->ndcss) != 0)
            return DP_ENOMEM;
        si = a->ndcss++;
        struct rep_dcs *d = &a->dcss[si];
        memset(d, 0, sizeof *d);
        d->dc = ci;
        d->dcv = cvi;
        d->server = server;
        d->auth = strncmp(srv, "auth:", 5) == 0;
        d->matching_since = d->first_match = d->last_mismatch = d->stale_exp = -1;
        d->last_time = -1;
    }
    a->dcss[si].address = address;

    uint32_t gi = rep__map_get(&op->grpmap, si);
    if (gi == UINT32_MAX) {
        if (REP_GROW(op, grps) != 0 || rep__map_put(&op->grpmap, si, op->ngrps) != 0)
            return DP_ENOMEM;
        gi = op->ngrps++;
        struct grp *g = &op->grps[gi];
        memset(g, 0, sizeof *g);
        g->dcs = si;
        g->min_time = o->time;
        /* chain the dcv's groups, in order */
        struct rep_dcv *v = &a->dcvs[cvi];
        if (v->grp_head == 0) {
            if (REP_GROW(op, touched) != 0)
                return DP_ENOMEM;
            op->touched[op->ntouched++] = cvi;
            v->grp_head = gi + 1;
        } else {
            op->grps[v->grp_tail - 1].next_in_dc = gi + 1;
        }
        v->grp_tail = gi + 1;
    }
    struct grp *g = &op->grps[gi];
    if (o->time < g->min_time)
        g->min_time = o->time;
    if (REP_GROW(op, rows) != 0)
        return DP_ENOMEM;
    struct row *x = &op->rows[op->nrows];
    x->time = o->time;
    x->ttl = o->ttl;
    x->status = (uint8_t)o->status;
    x->match = (uint8_t)o->match;
    x->site = site;
    x->ede_stale = ede_has_stale(o->ede);
    x->next = 0;
    const char *qn = o->qname ? o->qname : "", *qt = o->qtype ? o->qtype : "";
    const char *an = o->answer ? o->answer : "";
    x->qname = put_text(op, qn, strlen(qn));
    x->qtype = put_text(op, qt, strlen(qt));
    x->answer = put_text(op, an, strlen(an));
    x->expected = UINT32_MAX;
    if (x->qname == UINT32_MAX || x->qtype == UINT32_MAX || x->answer == UINT32_MAX)
        return DP_ENOMEM;
    if (strcmp(chk, "delegation") == 0) {
        const char *ex = o->expected ? o->expected : "";
        if ((x->expected = put_text(op, ex, strlen(ex))) == UINT32_MAX)
            return DP_ENOMEM;
    }
    op->nrows++;
    if (g->last != 0)
        op->rows[g->last - 1].next = op->nrows;
    else
        g->first = op->nrows;
    g->last = op->nrows;
    return 0;
}
