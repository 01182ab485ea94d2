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
#define _GNU_SOURCE /* O_TMPFILE */
#include "internal.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* A new element at the end of *arr (*n of them, room for *cap, sz bytes
 * each), zeroed, its index put in m under key. Its index, or UINT32_MAX: no
 * memory (nothing added). */
static inline uint32_t map_add(struct rep_map *m, uint64_t key, void **arr, uint32_t *cap,
                               uint32_t *n, size_t sz)
{
    if (rep__grow(arr, cap, *n, sz) != 0 || rep__map_put(m, key, *n) != 0)
        return UINT32_MAX;
    memset((char *)*arr + (size_t)*n * sz, 0, sz);
    return (*n)++;
}

/* The index of key in m, or a new element made for it by map_add (*added
 * then set). UINT32_MAX: no memory. */
static inline uint32_t map_find_add(struct rep_map *m, uint64_t key, void **arr, uint32_t *cap,
                                    uint32_t *n, size_t sz, bool *added)
{
    uint32_t i = rep__map_get(m, key);
    *added = i == UINT32_MAX;
    return *added ? map_add(m, key, arr, cap, n, sz) : i;
}

/* Of a's array f (n##f, cap##f) and its map: */
#define REP_MAP_ADD(a, map, f, key)                                                                \
    map_add(&(a)->map, key, (void **)&(a)->f, &(a)->cap##f, &(a)->n##f, sizeof *(a)->f)
#define REP_FIND_ADD(a, map, f, key, added)                                                        \
    map_find_add(&(a)->map, key, (void **)&(a)->f, &(a)->cap##f, &(a)->n##f, sizeof *(a)->f, added)

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
    bool prim;      /* its qtype is the check's own (or the check is unknown) */
};

struct grp {
    uint32_t dcs;         /* rep_dcs index */
    uint32_t first, last; /* rows + 1 */
    uint32_t next_in_dc;  /* next group of the same dcv + 1 */
    int64_t min_time;
    uint32_t nrows; /* rows in it */
    bool ans_same;  /* finish_group: its current_answer is the one of the dcs's last group */
};

struct open {
    struct row *rows;
    uint32_t nrows, caprows;
    struct grp *grps;
    uint32_t ngrps, capgrps;
    char *text;
    size_t ntext, captext;
    uint32_t *touched; /* dcv indices in order of their first group */
    uint32_t ntouched, captouched;

    /* Caches of this file, never saved (a state loaded from DIR/.state
     * starts without them): each is looked up the slow way when it has no
     * entry, and each entry, once made, stays true for the life of the agg.
     * Per rep_dcs index (capcache of them, 0 = not known yet): */
    uint32_t *dcs_skey; /* rep__server_key of it + 1 */
    uint32_t *dcs_mx;   /* its rep_mx + 1 */
    uint32_t *dcs_grp;  /* its group in the open round + 1, true when that group's dcs is it */
    uint32_t *dcs_next; /* the rep_dcs of the row that last followed a row of it + 1 */
    /* 1 + the match of the lone row (status ok, an answer) its MX entry
     * was last drawn from; 0 when it was drawn from anything else */
    uint32_t *dcs_solo;
    uint32_t *dcs_nrows; /* rows in its last finished group */
    uint32_t capcache;
    bool rekeyed;     /* a dcs changed address (see rep__agg_add): dcs_solo is not used */
    uint8_t *dc_kind; /* per rep_dc: index in primary_map + 1, 0 not known yet */
    uint32_t capkind;
    /* the previous row's vantage, (domain, check), (domain, check,
     * vantage), server and site: + 1, 0 none */
    uint32_t last_van, last_dc, last_dcv, last_dcs, last_site;

    /* scratch, reused by every group */
    struct csvw sb; /* a current_answer or an MX host list being built */
    char *hbuf;     /* a copy of an MX answer, split in place */
    size_t caphbuf;
    char **hv; /* its hosts */
    size_t caphv;
};

/* Makes room for n more bytes of text (offsets stay below UINT32_MAX).
 * 0 or DP_ENOMEM. */
static int text_room(struct open *op, size_t n)
{
    size_t need = op->ntext + n; /* 64 KiB at first */
    if (need > UINT32_MAX)
        return DP_ENOMEM;
    if (need > op->captext &&
        dp_grow((void **)&op->text, &op->captext, (need > 65536 ? need : 65536) - 1, 1) != 0)
        return DP_ENOMEM;
    return 0;
}

static uint32_t put_text(struct open *op, const char *s, size_t len)
{
    if (text_room(op, len + 1) != 0)
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
    a->tl_dirfd = -1;
    a->tl_fd = -1;
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
        free(op->dcs_skey);
        free(op->dcs_mx);
        free(op->dcs_grp);
        free(op->dcs_next);
        free(op->dcs_solo);
        free(op->dcs_nrows);
        free(op->dc_kind);
        csvw_deinit(&op->sb);
        free(op->hbuf);
        free(op->hv);
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
    for (uint32_t i = 0; i < a->nser; i++)
        free(a->ser[i].pts);
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
    if (a->tl_fd >= 0)
        close(a->tl_fd);
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

/* Each check and the qtype of its primary row. */
static const char *const primary_map[][2] = {
    {"mx", "MX"},      {"spf", "TXT"},       {"autodiscover", "CNAME"},
    {"dkim", "CNAME"}, {"dmarc", "TXT"},     {"ns", "NS"},
    {"soa", "SOA"},    {"a", "A"},           {"aaaa", "AAAA"},
    {"txt", "TXT"},    {"delegation", "NS"},
};
#define NPRIMARY   (sizeof primary_map / sizeof primary_map[0])
#define KIND_MX    0        /* primary_map index of "mx" */
#define KIND_DELEG 10       /* of "delegation" */
#define KIND_OTHER NPRIMARY /* a check we do not know */

/* The primary_map index of a check, KIND_OTHER for one we do not know. */
static uint32_t check_kind(const char *check)
{
    uint32_t i = 0;
    while (i < NPRIMARY && strcmp(primary_map[i][0], check) != 0)
        i++;
    return i;
}

/* check_kind of rep_dc ci, remembered (dc_kind). */
static uint32_t dc_kind_slow(struct rep_agg *a, uint32_t ci)
{
    struct open *op = a->open;
    uint32_t k = check_kind(a->str.s[a->dcs[ci].check]);
    if (ci >= op->capkind) {
        uint32_t cap = op->capkind ? op->capkind : 64;
        while (cap <= ci && cap <= UINT32_MAX / 2)
            cap *= 2;
        uint8_t *b = cap > ci ? realloc(op->dc_kind, cap) : NULL;
        if (b == NULL)
            return k;
        memset(b + op->capkind, 0, cap - op->capkind);
        op->dc_kind = b;
        op->capkind = cap;
    }
    op->dc_kind[ci] = (uint8_t)(k + 1);
    return k;
}

/* check_kind of rep_dc ci. */
static inline uint32_t dc_kind(struct rep_agg *a, uint32_t ci)
{
    const struct open *op = a->open;
    if (ci < op->capkind && op->dc_kind[ci] != 0)
        return op->dc_kind[ci] - 1u;
    return dc_kind_slow(a, ci);
}

/* The qtype of the primary rows of rep_dc ci; NULL for a check we do not
 * know (every row is primary). */
static const char *dc_primary(struct rep_agg *a, uint32_t ci)
{
    uint32_t k = dc_kind(a, ci);
    return k == KIND_OTHER ? NULL : primary_map[k][1];
}

/* Makes the per-rep_dcs caches of op hold index n (new entries 0). 0 or
 * DP_ENOMEM. */
static int cache_fit(struct open *op, uint32_t n)
{
    if (n < op->capcache)
        return 0;
    uint32_t cap = op->capcache ? op->capcache : 256;
    while (cap <= n) {
        if (cap > UINT32_MAX / 2)
            return DP_ENOMEM;
        cap *= 2;
    }
    uint32_t **arrs[] = {&op->dcs_skey, &op->dcs_mx,   &op->dcs_grp,
                         &op->dcs_next, &op->dcs_solo, &op->dcs_nrows};
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        uint32_t *b = realloc(*arrs[i], (size_t)cap * sizeof *b);
        if (b == NULL)
            return DP_ENOMEM; /* those grown already keep their room: harmless */
        memset(b + op->capcache, 0, (size_t)(cap - op->capcache) * sizeof *b);
        *arrs[i] = b;
    }
    op->capcache = cap;
    return 0;
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* ASCII lower case of n bytes, 8 at a time. */
static void lower(char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v, h;
        memcpy(&v, s + i, 8);
        h = v & ~highs; /* each byte's low 7 bits: the sums below never carry over */
        uint64_t upper = (h + ones * (0x80 - 'A')) & ~(h + ones * (0x80 - 'Z' - 1)) & ~v & highs;
        if (upper != 0) {
            v ^= upper >> 2; /* 0x80 >> 2 is the case bit */
            memcpy(s + i, &v, 8);
        }
    }
    for (; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
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

/* rep__server_key of rep_dcs si, remembered. UINT32_MAX: no memory. */
static uint32_t dcs_server_key(struct rep_agg *a, uint32_t si)
{
    struct open *op = a->open;
    if (si < op->capcache && op->dcs_skey[si] != 0)
        return op->dcs_skey[si] - 1;
    const struct rep_dcs *d = &a->dcss[si];
    uint32_t k = rep__server_key(&a->str, a->vans[a->dcvs[d->dcv].van].name, d->server, d->address);
    if (k != UINT32_MAX && cache_fit(op, si) == 0)
        op->dcs_skey[si] = k + 1;
    return k;
}

/* Makes *slot (owned, NULL none) hold s (len bytes), keeping *slot when
 * it holds it already (*same then). 0 or DP_ENOMEM. */
static int keep_text(const char *s, size_t len, char **slot, bool *same)
{
    *same = *slot != NULL && strncmp(*slot, s, len) == 0 && (*slot)[len] == '\0';
    if (*same)
        return 0;
    char *b = malloc(len + 1);
    if (b == NULL)
        return DP_ENOMEM;
    memcpy(b, s, len);
    b[len] = '\0';
    free(*slot);
    *slot = b;
    return 0;
}

/* The MX findings of one group whose primary row is `mx`. */
static int judge_mx(struct rep_agg *a, struct open *op, struct grp *g, struct row *mx,
                    struct rep_dcs *d)
{
    struct rep_dc *c = &a->dcs[d->dc];
    uint32_t van = a->dcvs[d->dcv].van;
    uint32_t si = (uint32_t)(d - a->dcss);
    uint32_t i = si < op->capcache && op->dcs_mx[si] != 0 ? op->dcs_mx[si] - 1 : UINT32_MAX;
    if (i == UINT32_MAX) {
        uint32_t skey = dcs_server_key(a, si);
        if (skey == UINT32_MAX)
            return DP_ENOMEM;
        bool added;
        i = REP_FIND_ADD(a, mxmap, mxs, ((uint64_t)c->dom << 32) | skey, &added);
        if (i == UINT32_MAX)
            return DP_ENOMEM;
        if (added) {
            a->mxs[i].dom = c->dom;
            a->mxs[i].dc = d->dc;
            a->mxs[i].van = van;
            a->mxs[i].server = d->server;
        }
        if (cache_fit(op, si) != 0)
            return DP_ENOMEM;
        op->dcs_mx[si] = i + 1;
    }
    struct rep_mx *m = &a->mxs[i];
    m->address = d->address;
    m->auth = d->auth;
    m->round = a->open_round;
    m->time = g->min_time;
    m->failed = !answered(mx->status);
    /* a lone row with the same answer and match as the one the entry was
     * drawn from last: the same hosts and findings */
    bool solo = g->first == g->last && mx->status == OBS_OK && op->text[mx->answer] != '\0';
    uint32_t solo_key = solo ? 1u + mx->match : 0;
    if (solo && g->ans_same && !op->rekeyed && op->dcs_solo[si] == solo_key)
        return 0;
    op->dcs_solo[si] = 0;
    m->count = 0;
    m->flags = 0;
    /* the host list of the previous round, kept when it is the same */
    char *old = m->hosts;
    m->hosts = NULL;
    if (m->failed)
        goto none;
    const char *ans = op->text + mx->answer;
    if (mx->status != OBS_OK || ans[0] == '\0') {
        m->flags |= REP_MX_NONE;
        goto none;
    }
    if (mx->match == OBS_MATCH_NO)
        m->flags |= REP_MX_MISMATCH;
    /* split "PREF HOST | PREF HOST": each host NUL-terminated in a copy */
    size_t alen = strlen(ans);
    if (alen + 1 > op->caphbuf) {
        char *b = realloc(op->hbuf, alen + 1);
        if (b == NULL)
            goto nomem;
        op->hbuf = b;
        op->caphbuf = alen + 1;
    }
    char *copy = op->hbuf;
    memcpy(copy, ans, alen + 1);
    /* the hosts in lower case (what precedes each, the preference, and
     * what is between them are not kept) */
    lower(copy, alen);
    struct answer_text it;
    struct answer_rec rec;
    size_t n = 0;
    answer_text_init(&it, ans, alen, 0);
    /* plain text (flags 0): every record is one, none is an error */
    while (answer_text_next(&it, &rec) == 1) {
        if (n == op->caphv) {
            size_t room = op->caphv ? 2 * op->caphv : 8;
            char **b = realloc(op->hv, room * sizeof *b);
            if (b == NULL)
                goto nomem;
            op->hv = b;
            op->caphv = room;
        }
        copy[(size_t)(rec.s - ans) + rec.len] = '\0';
        op->hv[n++] = copy + (answer_mx_host(&rec).s - ans);
    }
    char **hosts = op->hv;
    if (n > 1)
        qsort(hosts, n, sizeof *hosts, cmp_cstr);
    m->count = (uint32_t)n;
    struct csvw *w = &op->sb; /* the joined list */
    csvw_clear(w);
    for (size_t h = 0; h < n; h++) {
        if (h > 0)
            csvw_raw(w, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
        csvw_raw(w, hosts[h], strlen(hosts[h]));
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
    if (csvw_error(w) != 0)
        goto nomem;
    m->hosts = old;
    bool same;
    int rc = keep_text(w->buf ? w->buf : "", w->len, &m->hosts, &same);
    if (rc == 0)
        op->dcs_solo[si] = solo_key;
    return rc;
nomem:
    free(old);
    return DP_ENOMEM;
none:
    free(old);
    return 0;
}

/* Makes *slot (owned) the current_answer of a group, keeping it when it
 * has not changed (g->ans_same then). 0 or DP_ENOMEM. */
static int group_answer(struct open *op, struct grp *g, char **slot)
{
    size_t parts = 0;
    const struct row *only = NULL;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next)
        if (op->rows[r - 1].prim) {
            parts++;
            only = &op->rows[r - 1];
        }
    if (parts == 1 && op->text[only->answer] != '\0') {
        /* one answer, as it is (the most common case) */
        const char *ans = op->text + only->answer;
        return keep_text(ans, strlen(ans), slot, &g->ans_same);
    }
    struct csvw *w = &op->sb;
    csvw_clear(w);
    size_t k = 0;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        const struct row *x = &op->rows[r - 1];
        if (!x->prim)
            continue;
        if (k++ > 0)
            csvw_raw(w, " ; ", 3);
        if (parts > 1) {
            csvw_raw(w, op->text + x->qname, strlen(op->text + x->qname));
            csvw_raw(w, ": ", 2);
        }
        const char *ans = op->text + x->answer;
        if (ans[0] != '\0') {
            csvw_raw(w, ans, strlen(ans));
        } else {
            const char *st = obs_status_name((enum obs_status)x->status);
            csvw_raw(w, "(", 1);
            csvw_raw(w, st, strlen(st));
            csvw_raw(w, ")", 1);
        }
    }
    if (csvw_error(w) != 0)
        return DP_ENOMEM;
    return keep_text(w->buf ? w->buf : "", w->len, slot, &g->ans_same);
}

int rep__series_room(struct rep_series *s)
{
    return rep__grow((void **)&s->pts, &s->cap, s->n, sizeof *s->pts);
}

static int add_point(struct rep_agg *a, uint32_t check, uint32_t van, int64_t t, uint32_t round,
                     uint32_t conv, uint32_t servers)
{
    uint64_t key = ((uint64_t)van << 32) | check;
    bool added;
    uint32_t si = REP_FIND_ADD(a, sermap, ser, key, &added);
    if (si == UINT32_MAX)
        return DP_ENOMEM;
    struct rep_series *s = &a->ser[si];
    if (added) {
        s->check = check;
        s->van = van;
        s->k = 1;
    }
    struct rep_point *p = s->n ? &s->pts[s->n - 1] : NULL;
    if (p != NULL && p->round == round) {
        /* another domain, same round */
    } else if (p != NULL && p->nrounds < s->k) {
        p->round = round;
        p->nrounds++;
    } else {
        if (s->n == REP_SERIES_MAX && s->pts != NULL) {
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
        if (rep__series_room(s) != 0 || s->pts == NULL)
            return DP_ENOMEM;
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
    uint32_t dom_i = a->dcs[c->dc].dom;
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
        uint32_t skey = dcs_server_key(a, g->dcs);
        bool added = false;
        uint32_t i = skey == UINT32_MAX
                         ? UINT32_MAX
                         : REP_FIND_ADD(a, delmap, dels, ((uint64_t)dom_i << 32) | skey, &added);
        if (i == UINT32_MAX) {
            free(mine);
            rc = DP_ENOMEM;
            goto out;
        }
        if (added) {
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

/* Timeline rows past this many bytes go out of memory (tl_spill). */
#define TL_SPILL (1u << 20)

/* pwrite of all len bytes at off: 0, or -1 with errno set. */
static int pwrite_all(int fd, const char *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t k = pwrite(fd, p, len, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        len -= (size_t)k;
        off += k;
    }
    return 0;
}

/* Once the pending timeline rows pass TL_SPILL bytes, they move to an
 * unnamed file in the data folder (O_TMPFILE: it vanishes with the process),
 * which begins with the header, so that a log of many vantages and rounds
 * (200,000 rows of 1,000 Atlas probes) is not held in memory twice until
 * the refresh writes it. Nothing is lost when that cannot be done: the rows
 * stay in memory, and spilling stops for this aggregate. */
static void tl_spill(struct rep_agg *a)
{
    if (a->tl_dirfd < 0 || a->tl.len < TL_SPILL || csvw_error(&a->tl) != 0)
        return;
    if (a->tl_fd < 0) {
        int fd = openat(a->tl_dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        size_t hl = strlen(REP_TIMELINE_HEADER);
        if (fd < 0 || pwrite_all(fd, REP_TIMELINE_HEADER, hl, 0) != 0) {
            if (fd >= 0)
                close(fd);
            a->tl_dirfd = -1;
            return;
        }
        a->tl_fd = fd;
        a->tl_spilled = hl;
    }
    if (pwrite_all(a->tl_fd, a->tl.buf, a->tl.len, (off_t)a->tl_spilled) != 0) {
        /* what is past tl_spilled is not counted; the rows stay here */
        a->tl_dirfd = -1;
        return;
    }
    a->tl_spilled += a->tl.len;
    csvw_clear(&a->tl);
}

int rep__timeline_copy_spilled(const struct rep_agg *a, int fd)
{
    if (a->tl_fd < 0)
        return 0;
    /* pread and write: copy_file_range refuses an O_APPEND target */
    enum { PIECE = 1 << 16 };
    char *b = malloc(PIECE);
    if (b == NULL)
        return DP_ENOMEM;
    int rc = 0;
    uint64_t at = strlen(REP_TIMELINE_HEADER);
    while (rc == 0 && at < a->tl_spilled) {
        size_t want = a->tl_spilled - at < PIECE ? (size_t)(a->tl_spilled - at) : PIECE;
        ssize_t k = pread(a->tl_fd, b, want, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0)
            errno = EIO; /* shorter than what was written to it */
        if (k <= 0) {
            rc = DP_EIO;
            break;
        }
        for (ssize_t done = 0; done < k;) {
            ssize_t n = write(fd, b + done, (size_t)(k - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = DP_EIO;
                break;
            }
            done += n;
        }
        at += (uint64_t)k;
    }
    free(b);
    return rc;
}

void rep__timeline_written(struct rep_agg *a)
{
    csvw_clear(&a->tl);
    if (a->tl_fd >= 0)
        close(a->tl_fd);
    a->tl_fd = -1;
    a->tl_spilled = 0;
}

void rep__put_percent(struct csvw *w, uint32_t conv, uint32_t servers)
{
    if (servers == 0) {
        csvw_field(w, NULL, 0);
        return;
    }
    char b[24];
    uint64_t permille = ((uint64_t)conv * 2000 + servers) / (2 * (uint64_t)servers);
    /* "%llu.%llu" of permille / 10 and % 10, by hand */
    size_t i = sizeof b;
    b[--i] = (char)('0' + permille % 10);
    b[--i] = '.';
    uint64_t whole = permille / 10;
    do {
        b[--i] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole != 0);
    csvw_field(w, b + i, sizeof b - i);
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
    rep__put_percent(w, c->conv, c->servers);
    csvw_str(w, a->str.s[a->vans[c->van].name]);
    csvw_end(w);
    int rc = csvw_error(w);
    if (rc == 0)
        tl_spill(a);
    return rc;
}

static int64_t max64(int64_t x, int64_t y)
{
    return x > y ? x : y;
}

/* The site record of (dcs, site), created on first sight; NULL: no memory. */
static struct rep_site *site_of(struct rep_agg *a, uint32_t dcs, uint32_t site)
{
    /* the dcs's list holds all its sites: most have one or two */
    uint32_t k = a->dcss[dcs].site_head;
    for (int steps = 0; k != 0 && steps < 4; steps++, k = a->sites[k - 1].next)
        if (a->sites[k - 1].site == site)
            return &a->sites[k - 1];
    uint64_t key = ((uint64_t)dcs << 32) | site;
    uint32_t i = k == 0 ? UINT32_MAX : rep__map_get(&a->sitemap, key);
    if (i != UINT32_MAX)
        return &a->sites[i];
    if ((i = REP_MAP_ADD(a, sitemap, sites, key)) == UINT32_MAX)
        return NULL;
    struct rep_site *x = &a->sites[i];
    x->dcs = dcs;
    x->site = site;
    x->exp = x->promise = -1;
    /* put at the head of the dcs's list (the order does not matter) */
    struct rep_dcs *d = &a->dcss[dcs];
    x->next = d->site_head;
    d->site_head = i + 1;
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
            /* a promise that ran out before the change is replaced by this
             * answer's; otherwise the earliest one stands */
            bool renewed = !s->overdue && ran_out;
            if (renewed || (exp >= 0 && (s->promise < 0 || exp < s->promise)))
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
static int64_t group_ttl(const struct open *op, const struct grp *g)
{
    int64_t t = -1;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        const struct row *x = &op->rows[r - 1];
        if (x->prim && answered(x->status))
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
        if (dc_kind(a, d->dc) != KIND_MX)
            continue;
        for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
            struct row *x = &op->rows[r - 1];
            if (x->prim) {
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
        if (dc_kind(a, v->dc) == KIND_DELEG) {
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
    for (uint32_t gi = 0; gi < op->ngrps; gi++)
        op->dcs_nrows[op->grps[gi].dcs] = op->grps[gi].nrows; /* each dcs is in the caches */
    a->vans[a->open_van - 1].finalized_round = R;
    a->open_van = 0;
    a->open_round = 0;
    op->nrows = op->ngrps = op->ntouched = 0;
    op->ntext = 0;
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
    bool deleg = dc_kind(a, d->dc) == KIND_DELEG;
    struct row *primary = NULL;
    bool prim_failed = false, exp_failed = false, auth_no = false;
    uint32_t nmatch = 0, nyes = 0;
    for (uint32_t r = g->first; r != 0; r = op->rows[r - 1].next) {
        struct row *x = &op->rows[r - 1];
        if (primary == NULL && x->prim) {
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

    if ((rc = group_answer(op, g, &d->answer)) != 0)
        return rc;
    const char *ans = d->answer;
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
        int64_t ttl = group_ttl(op, g);
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

/* The rep_van of a vantage name, created on first sight; UINT32_MAX: no
 * memory. */
static uint32_t van_of(struct rep_agg *a, const char *vn)
{
    uint32_t vname = rep__str(&a->str, vn, strlen(vn));
    if (vname == UINT32_MAX)
        return UINT32_MAX;
    bool added;
    uint32_t vi = REP_FIND_ADD(a, vanmap, vans, vname, &added);
    if (vi != UINT32_MAX && added)
        a->vans[vi].name = vname;
    return vi;
}

/* The rep_dc of (domain, check), created on first sight (its rep_dom too);
 * UINT32_MAX: no memory. */
static uint32_t dc_of(struct rep_agg *a, const char *dom, const char *chk, int64_t t)
{
    uint32_t dname = rep__str(&a->str, dom, strlen(dom));
    uint32_t check = rep__str(&a->str, chk, strlen(chk));
    if (dname == UINT32_MAX || check == UINT32_MAX)
        return UINT32_MAX;
    bool added;
    uint32_t di = REP_FIND_ADD(a, dommap, doms, dname, &added);
    if (di == UINT32_MAX)
        return UINT32_MAX;
    if (added)
        a->doms[di] = (struct rep_dom){dname, t, t};
    uint32_t ci = REP_FIND_ADD(a, dcmap, dcs, ((uint64_t)di << 32) | check, &added);
    if (ci != UINT32_MAX && added)
        a->dcs[ci] = (struct rep_dc){di, check};
    return ci;
}

/* The rep_dcv of (rep_dc ci, rep_van vi), created on first sight;
 * UINT32_MAX: no memory. */
static uint32_t dcv_of(struct rep_agg *a, uint32_t ci, uint32_t vi)
{
    bool added;
    uint32_t cvi = REP_FIND_ADD(a, dcvmap, dcvs, ((uint64_t)ci << 32) | vi, &added);
    if (cvi != UINT32_MAX && added) {
        struct rep_dcv *v = &a->dcvs[cvi];
        v->dc = ci;
        v->van = vi;
        v->cur_ttl = v->pre_ttl = v->change_time = v->old_ttl = -1;
        v->t_yes_ttl = v->t_other_ttl = -1;
    }
    return cvi;
}

/* Whether rep_dcs si is the one of (rep_van vi, domain, check, server,
 * address) (its strings compared, so a guess is never taken for a
 * match). */
static bool dcs_is(const struct rep_agg *a, uint32_t si, uint32_t vi, const char *dom,
                   const char *chk, const char *srv, const char *adr)
{
    const struct rep_dcs *d = &a->dcss[si];
    const struct rep_dc *c = &a->dcs[d->dc];
    return a->dcvs[d->dcv].van == vi && strcmp(a->str.s[d->server], srv) == 0 &&
           strcmp(a->str.s[c->check], chk) == 0 && strcmp(a->str.s[d->address], adr) == 0 &&
           strcmp(a->str.s[a->doms[c->dom].name], dom) == 0;
}

int rep__agg_add(struct rep_agg *a, const struct obs *o, char *why, size_t whylen)
{
    struct open *op = a->open;
    int rc;
    /* Rows come in runs: the same vantage, domain and check as the row
     * before, the servers in the order of the round before. Each lookup
     * tries that guess first, comparing the strings themselves, and takes
     * the maps only when it fails; a string is added to a->str only when it
     * is new, in the order the rows bring them (the state saves that
     * order). */
    const char *vn = o->vantage ? o->vantage : "";
    uint32_t vi = op->last_van - 1;
    if (op->last_van == 0 || strcmp(a->str.s[a->vans[vi].name], vn) != 0) {
        if ((vi = van_of(a, vn)) == UINT32_MAX)
            return DP_ENOMEM;
        op->last_van = vi + 1;
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
    /* the (domain, check, vantage, server): the previous row's, or the one
     * that followed it last */
    uint32_t prev = op->last_dcs - 1, si = UINT32_MAX, ci, cvi;
    if (op->last_dcs != 0) {
        /* the previous row's first while its group has fewer rows than its
         * last one had, the next one's first otherwise */
        uint32_t next = op->dcs_next[prev] - 1, pg = op->dcs_grp[prev] - 1;
        bool more = op->dcs_grp[prev] != 0 && pg < op->ngrps && op->grps[pg].dcs == prev &&
                    op->grps[pg].nrows < op->dcs_nrows[prev];
        uint32_t first = more || op->dcs_next[prev] == 0 ? prev : next;
        uint32_t second = first == prev ? (op->dcs_next[prev] != 0 ? next : UINT32_MAX) : prev;
        if (dcs_is(a, first, vi, dom, chk, srv, adr))
            si = first;
        else if (second != UINT32_MAX && dcs_is(a, second, vi, dom, chk, srv, adr))
            si = second;
    }
    if (si != UINT32_MAX) {
        ci = a->dcss[si].dc;
        cvi = a->dcss[si].dcv;
        op->last_dc = ci + 1;
        op->last_dcv = cvi + 1;
    } else {
        ci = op->last_dc - 1;
        if (op->last_dc == 0 || strcmp(a->str.s[a->doms[a->dcs[ci].dom].name], dom) != 0 ||
            strcmp(a->str.s[a->dcs[ci].check], chk) != 0) {
            if ((ci = dc_of(a, dom, chk, o->time)) == UINT32_MAX)
                return DP_ENOMEM;
            op->last_dc = ci + 1;
        }
        cvi = op->last_dcv - 1;
        if (op->last_dcv == 0 || a->dcvs[cvi].dc != ci || a->dcvs[cvi].van != vi) {
            if ((cvi = dcv_of(a, ci, vi)) == UINT32_MAX)
                return DP_ENOMEM;
            op->last_dcv = cvi + 1;
        }
    }
    struct rep_dom *dm = &a->doms[a->dcs[ci].dom];
    if (o->time < dm->first_time)
        dm->first_time = o->time;
    if (o->time > dm->last_time)
        dm->last_time = o->time;
    uint32_t server = UINT32_MAX, address = UINT32_MAX;
    if (si == UINT32_MAX) {
        server = rep__str(&a->str, srv, strlen(srv));
        address = rep__str(&a->str, adr, strlen(adr));
        if (server == UINT32_MAX || address == UINT32_MAX)
            return DP_ENOMEM;
    }
    uint32_t site = op->last_site - 1;
    if (op->last_site == 0 || strcmp(a->str.s[site], sn) != 0) {
        if ((site = rep__str(&a->str, sn, strlen(sn))) == UINT32_MAX)
            return DP_ENOMEM;
        op->last_site = site + 1;
    }
    if (si == UINT32_MAX) {
        uint32_t skey = rep__server_key(&a->str, a->vans[vi].name, server, address);
        if (skey == UINT32_MAX)
            return DP_ENOMEM;
        bool added;
        si = REP_FIND_ADD(a, dcsmap, dcss, ((uint64_t)ci << 32) | skey, &added);
        if (si == UINT32_MAX)
            return DP_ENOMEM;
        if (added) {
            struct rep_dcs *d = &a->dcss[si];
            d->dc = ci;
            d->dcv = cvi;
            d->server = server;
            d->address = address;
            d->auth = strncmp(srv, "auth:", 5) == 0;
            d->matching_since = d->first_match = d->last_mismatch = d->stale_exp = -1;
            d->last_time = -1;
        }
        if (cache_fit(op, si) != 0)
            return DP_ENOMEM;
        struct rep_dcs *d = &a->dcss[si];
        if (d->address != address) {
            /* (only a server named with a space can share a dcs with
             * another address) its key is drawn from the new address */
            d->address = address;
            op->dcs_skey[si] = op->dcs_mx[si] = 0;
            op->rekeyed = true;
        }
        if (d->server == server && a->dcvs[d->dcv].van == vi)
            op->dcs_skey[si] = skey + 1;
    }
    if (cache_fit(op, si) != 0)
        return DP_ENOMEM;
    if (op->last_dcs != 0 && prev != si && prev < op->capcache)
        op->dcs_next[prev] = si + 1;
    op->last_dcs = si + 1;

    uint32_t gi = op->dcs_grp[si] - 1;
    if (op->dcs_grp[si] == 0 || gi >= op->ngrps || op->grps[gi].dcs != si) {
        if (REP_GROW(op, grps) != 0)
            return DP_ENOMEM;
        gi = op->ngrps++;
        op->dcs_grp[si] = gi + 1;
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
    g->nrows++;
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
    const char *cq = dc_primary(a, ci);
    x->prim = cq == NULL || strcmp(qt, cq) == 0;
    size_t nl = strlen(qn), tl = strlen(qt), al = strlen(an);
    /* room for all three at once: then none can fail */
    if (text_room(op, nl + tl + al + 3) != 0)
        return DP_ENOMEM;
    char *t = op->text + op->ntext; /* each with its NUL */
    x->qname = (uint32_t)op->ntext;
    memcpy(t, qn, nl + 1);
    x->qtype = x->qname + (uint32_t)nl + 1;
    memcpy(t + nl + 1, qt, tl + 1);
    x->answer = x->qtype + (uint32_t)tl + 1;
    memcpy(t + nl + tl + 2, an, al + 1);
    op->ntext += nl + tl + al + 3;
    x->expected = UINT32_MAX;
    if (dc_kind(a, ci) == KIND_DELEG) {
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
