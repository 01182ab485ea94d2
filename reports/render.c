/*
 * The reports, drawn from the aggregates and the per-domain settings
 * (PRODUCT.md sections 3, 4, 6 and 7). Everything here depends only on the
 * aggregates and the settings, never on the clock: "now" is the time of the
 * latest round, so `dnsprop report` rebuilds byte for byte what check and
 * watch wrote.
 *
 * Summary status, per (domain, check), over its latest round:
 * - critical: an auth: server's row failed the expectation (match=no), the
 *   auth: servers disagree, or (mx) an auth: server's MX verdict is
 *   noncompliant: waiting cannot fix that.
 * - expired: the window has ended (the latest round is at or after since +
 *   window) and some resolver is not converged.
 * - converged: every resolver converged (and, for mx, every resolver's MX
 *   verdict is compliant).
 * - propagating: anything else (stale, error, pending, an MX transition)
 *   inside the window.
 * - delegation: critical for lame-delegation (a server the parent names
 *   does not serve the domain: waiting cannot fix it); a delegation-mismatch
 *   (the parent still names other servers: a move under way) or a
 *   glue-mismatch is propagating inside the window, with the reasons in the
 *   status line; expired when the window ended with parents still naming
 *   other servers. A parent server this host cannot reach (unreachable) is
 *   not counted; none reachable is propagating.
 * Exit status: the worst over all: converged 0, propagating 1, critical and
 * expired 2; no observations at all: 3.
 *
 * The deadline of an NS change is the parent's (PRODUCT.md section 12):
 * for delegation, the latest over the parent servers of the round each
 * first named the domain's own servers plus the largest NS TTL of its old
 * referral, unknown while any still names other servers; for ns, the later
 * of that and the ns check's own deadline (resolvers may follow the old
 * delegation until then).
 *
 * delegation.csv: one row per domain, vantage and parent server, from its
 * latest round: the referral's NS set, TTL and glue, the child's NS set it
 * was compared with, the lame servers it names, a verdict (consistent,
 * mismatch, lame, error, unknown), the reasons, and the change and deadline
 * of that server. Written only when the log holds delegation rows.
 *
 * Over vantages: the counts of a (domain, check) are over the (vantage,
 * server) pairs of each vantage's latest round; the authoritative flags are
 * those of any vantage's latest round. The deadline is the earliest change
 * time any vantage saw (else since) plus the largest old TTL any saw (else
 * the saved --old-ttl); a resolver stale after it (1 s grace) is overdue,
 * as is one whose site broke its promise (agg.c). The ETA is over the stale
 * resolvers that are not overdue.
 *
 * MX verdicts (mx_compliance.csv): error when the MX query itself failed;
 * noncompliant for no-mx, null-mx, target-mismatch, target-is-cname,
 * target-is-ip, target-unresolvable, or multiple-mx (only when a single MX
 * is required); transition for the documented move to mx.microsoft (two MX,
 * TOKEN.mail.protection.outlook.com. and TOKEN.<x>-v1.mx.microsoft. of the
 * domain's own token) when a single MX is required (reason
 * legacy-plus-mx-microsoft alone); compliant otherwise. The rule, the
 * verdict and the reason names are the rules' (rules.h), as the live check's.
 */
#include "internal.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum dstatus { DS_CONVERGED, DS_PROPAGATING, DS_EXPIRED, DS_CRITICAL };
static const char *const dstatus_names[] = {"converged", "propagating", "expired", "critical"};
/* what each status means as an exit status (PRODUCT.md section 3) */
static const int dstatus_exit[] = {DP_EXIT_OK, DP_EXIT_WARNING, DP_EXIT_CRITICAL, DP_EXIT_CRITICAL};

/* The settings in force for one domain of the aggregates. */
struct eff {
    bool single_mx;
    int64_t since, window_end;
    int64_t old_ttl; /* --old-ttl, -1 none */
};

static struct eff effective(const struct rep_agg *a, uint32_t dom, const struct rep_sets *s,
                            const struct report_override *ov)
{
    const char *name = a->str.s[a->doms[dom].name];
    /* a run's domains mostly come to the log in the order of its settings:
     * the entry of the same place, when it is this domain's, saves the
     * lookup (the names are unique) */
    const struct rep_dset *d =
        dom < s->n && strcmp(s->v[dom].domain, name) == 0 ? &s->v[dom] : rep__sets_find(s, name);
    struct eff e;
    uint64_t window = d && d->window_s ? d->window_s : REPORT_DEFAULT_WINDOW_S;
    e.since = d && d->since >= 0 ? d->since : a->doms[dom].first_time;
    e.single_mx = d && (d->single_mx || strcmp(d->profile, "m365") == 0);
    e.old_ttl = d && d->old_ttl_s > 0 ? (int64_t)d->old_ttl_s : -1;
    if (ov != NULL && ov->window_s > 0)
        window = ov->window_s;
    if (ov != NULL && ov->since >= 0)
        e.since = ov->since;
    e.window_end = e.since + (int64_t)window;
    return e;
}

/* ---- MX verdicts ---- */

/* The verdict and reasons of one server's MX (PRODUCT.md section 7), by the
 * rules' own functions (rules.h): the findings agg.c read from the round's
 * rows, and where one MX is required, the rules' judgement of several.
 * reasons NULL: the verdict alone. */
static enum mx_verdict mx_verdict(const struct rep_mx *m, const char *domain, bool single_mx,
                                  char *reasons, size_t rl)
{
    static const struct {
        uint32_t flag, reason;
    } found[] = {
        {REP_MX_NONE, CHECK_R_NO_MX},
        {REP_MX_NULL, CHECK_R_NULL_MX},
        {REP_MX_MISMATCH, CHECK_R_TARGET_MISMATCH},
        {REP_MX_CNAME, CHECK_R_TARGET_IS_CNAME},
        {REP_MX_IP, CHECK_R_TARGET_IS_IP},
        {REP_MX_UNRES, CHECK_R_TARGET_UNRESOLVABLE},
    };
    if (reasons != NULL)
        reasons[0] = '\0';
    if (m->failed)
        return MX_VERDICT_ERROR;
    uint32_t r = 0;
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++)
        if (m->flags & found[i].flag)
            r |= found[i].reason;
    if (single_mx && m->count > 1) {
        /* the hosts "A | B" of a pair, for the transition rule */
        char a[DNSNAME_BUFLEN] = "", b[DNSNAME_BUFLEN] = "";
        struct answer_text it;
        struct answer_rec first = {NULL, 0};
        answer_text_init(&it, m->count == 2 ? m->hosts : NULL,
                         m->count == 2 && m->hosts ? strlen(m->hosts) : 0, 0);
        /* the first host, and all after the first separator */
        bool pair = answer_text_next(&it, &first) == 1 && !it.done && first.len < sizeof a &&
                    (size_t)(it.end - it.p) < sizeof b;
        if (pair) {
            memcpy(a, first.s, first.len);
            a[first.len] = '\0';
            memcpy(b, it.p, (size_t)(it.end - it.p));
            b[it.end - it.p] = '\0';
        }
        r |= check_mx_reasons_multiple(domain, m->count, pair ? a : NULL, pair ? b : NULL);
    }
    /* no reason: reasons is "" already; else cut at a whole name if it must be */
    if (reasons != NULL && r != 0)
        (void)check_reasons_format(r, ";", reasons, rl);
    return mx_verdict_of_reasons(r);
}

/* ---- status per (domain, check) ---- */

/* One (domain, check) over all its vantages: counts over the (vantage,
 * server) pairs of each vantage's latest round. */
struct dcview {
    uint32_t dc;
    enum dstatus st;
    const char *why; /* static text for critical / expired */
    struct eff e;
    uint32_t servers, conv, stale, errors, overdue;
    int64_t eta;         /* latest stale_expires over stale resolvers not overdue; -1 */
    int64_t time;        /* the latest of the vantages' latest rounds */
    int64_t change_time; /* first round with the new authoritative answer; -1 */
    int64_t old_ttl;     /* largest TTL of the answer it replaced; -1 */
    int64_t deadline;    /* change time + old TTL; -1 unknown */
    bool auth_mismatch, auth_disagree;
    bool is_deleg; /* the delegation check */
    uint8_t deleg; /* its REP_DELEG_* over the vantages' latest rounds */
    bool auth_mx_bad, res_mx_ok;
};

/* Everything the reports say of each (domain, check) and each server,
 * drawn in a few passes over the aggregates (never a search per domain):
 * views[dc], and overdue[dcs] for convergence.csv. */
static void draw_views(const struct rep_agg *a, const struct eff *effs, struct dcview *views,
                       bool *overdue, const int64_t *parent_deadline)
{
    for (uint32_t i = 0; i < a->ndcs; i++) {
        struct dcview *v = &views[i];
        memset(v, 0, sizeof *v);
        v->dc = i;
        v->e = effs[a->dcs[i].dom];
        v->eta = v->time = v->change_time = v->old_ttl = v->deadline = -1;
        v->res_mx_ok = true;
    }
    for (uint32_t i = 0; i < a->ndcvs; i++) {
        const struct rep_dcv *c = &a->dcvs[i];
        struct dcview *v = &views[c->dc];
        if (c->time > v->time)
            v->time = c->time;
        v->auth_mismatch |= c->auth_mismatch;
        v->auth_disagree |= c->auth_disagree;
        v->deleg |= c->deleg;
        if (c->change_time >= 0 && (v->change_time < 0 || c->change_time < v->change_time))
            v->change_time = c->change_time;
        if (c->old_ttl > v->old_ttl)
            v->old_ttl = c->old_ttl;
    }
    for (uint32_t i = 0; i < a->ndcs; i++) {
        struct dcview *v = &views[i];
        int64_t change = v->change_time >= 0 ? v->change_time : v->e.since;
        int64_t ttl = v->old_ttl >= 0 ? v->old_ttl : v->e.old_ttl;
        v->deadline = ttl >= 0 ? change + ttl : -1;
        /* an NS change: the parent's deadline */
        const char *chk = a->str.s[a->dcs[i].check];
        v->is_deleg = strcmp(chk, "delegation") == 0;
        int64_t pd = parent_deadline[a->dcs[i].dom];
        /* delegation: the parent's deadline alone; ns: the later of the two */
        if (v->is_deleg || (strcmp(chk, "ns") == 0 && pd > v->deadline))
            v->deadline = pd;
    }
    for (uint32_t i = 0; i < a->ndcss; i++) {
        const struct rep_dcs *d = &a->dcss[i];
        struct dcview *v = &views[d->dc];
        /* a resolver still stale after the deadline is overdue, as is one
         * that broke the promise one of its sites gave (1 s grace); an
         * authoritative server promises nothing of the kind (a lagging
         * one is a disagreement, reported as such) */
        overdue[i] = !d->auth && d->state != REP_CONVERGED &&
                     (d->overdue || (d->state == REP_STALE && v->deadline >= 0 &&
                                     d->last_time > v->deadline + 1));
        if (d->auth || d->last_round != a->dcvs[d->dcv].round)
            continue;
        /* a parent server this host has no route to (IPv6 on an IPv4-only
         * host) says nothing about the delegation */
        if (v->is_deleg && d->unreachable)
            continue;
        v->servers++;
        v->conv += d->state == REP_CONVERGED;
        v->stale += d->state == REP_STALE;
        v->errors += d->state == REP_ERROR;
        v->overdue += overdue[i];
        if (d->state == REP_STALE && !overdue[i] && d->stale_exp > v->eta)
            v->eta = d->stale_exp;
    }
    for (uint32_t i = 0; i < a->nmxs; i++) {
        const struct rep_mx *m = &a->mxs[i];
        struct dcview *v = &views[m->dc];
        uint32_t cv = rep__map_get(&a->dcvmap, ((uint64_t)m->dc << 32) | m->van);
        if (cv == UINT32_MAX || a->dcvs[cv].round != m->round)
            continue;
        enum mx_verdict vd = mx_verdict(m, a->str.s[a->doms[m->dom].name], v->e.single_mx, NULL, 0);
        if (m->auth)
            v->auth_mx_bad |= vd == MX_VERDICT_NONCOMPLIANT;
        else
            v->res_mx_ok &= vd == MX_VERDICT_COMPLIANT;
    }
}

/* "delegation-mismatch;glue-mismatch;lame-delegation", in bit order, for
 * each set of REP_DELEG_* bits (static texts: the status line keeps them). */
static const char *const deleg_reasons[REP_DELEG_ALL + 1] = {
    "",
    "delegation-mismatch",
    "glue-mismatch",
    "delegation-mismatch;glue-mismatch",
    "lame-delegation",
    "delegation-mismatch;lame-delegation",
    "glue-mismatch;lame-delegation",
    "delegation-mismatch;glue-mismatch;lame-delegation",
};

static void judge_dc(struct dcview *v)
{
    v->why = NULL;
    if (v->is_deleg && v->deleg == 0 && v->servers == 0) {
        /* no parent server could be reached: nothing is known */
        v->st = DS_PROPAGATING;
        v->why = "no parent server reachable";
        return;
    }
    if (v->is_deleg && v->deleg != 0) {
        if (v->deleg & REP_DELEG_LAME)
            v->st = DS_CRITICAL;
        else if (v->time >= v->e.window_end && v->conv < v->servers)
            v->st = DS_EXPIRED;
        else
            v->st = DS_PROPAGATING;
        v->why = deleg_reasons[v->deleg & REP_DELEG_ALL];
        return;
    }
    if (v->auth_disagree) {
        v->st = DS_CRITICAL;
        v->why = "authoritative servers disagree";
    } else if (v->auth_mismatch) {
        v->st = DS_CRITICAL;
        v->why = "authoritative answer does not match what is expected";
    } else if (v->auth_mx_bad) {
        v->st = DS_CRITICAL;
        v->why = "authoritative MX noncompliant";
    } else if (v->conv == v->servers && v->res_mx_ok) {
        v->st = DS_CONVERGED;
    } else if (v->time >= v->e.window_end && v->conv < v->servers) {
        v->st = DS_EXPIRED;
        v->why = "window ended";
    } else {
        v->st = DS_PROPAGATING;
    }
}

/* ---- writing ---- */

static const char *const state_names[] = {"pending", "converged", "stale", "error"};

static int cmp_u32pair(const void *x, const void *y)
{
    const uint32_t *a = x, *b = y;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* Indices 0..n-1 of the n elements of arr (sz bytes each), ordered by the
 * uint32_t key at offset off of each, then by index. NULL: no memory.
 * Elements already in key order (most often: agg.c appends them as their
 * domains first come) are not sorted again. */
static uint32_t *order_by(const void *arr, uint32_t n, size_t sz, size_t off)
{
    uint32_t *pairs = malloc((size_t)(n ? n : 1) * 2 * sizeof *pairs);
    bool sorted = true;
    if (pairs == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(&pairs[2 * i], (const char *)arr + (size_t)i * sz + off, sizeof *pairs);
        pairs[2 * i + 1] = i;
        sorted &= i == 0 || pairs[2 * i - 2] <= pairs[2 * i];
    }
    if (!sorted)
        qsort(pairs, n, 2 * sizeof *pairs, cmp_u32pair);
    for (uint32_t i = 0; i < n; i++)
        pairs[i] = pairs[2 * i + 1];
    return pairs;
}

#define CONVERGENCE_HEADER                                                                         \
    "domain,check,server,address,state,matching_since_utc,first_match_utc,last_mismatch_utc,"      \
    "flaps,rounds,errors,current_answer,stale_expires_utc,vantage,sites,overdue\r\n"

static int write_convergence(struct obslog *l, const bool *overdue, char *err, size_t errlen)
{
    const struct rep_agg *a = l->agg;
    struct csvw w;
    uint32_t *ord = order_by(a->dcss, a->ndcss, sizeof *a->dcss, offsetof(struct rep_dcs, dc));
    int rc = DP_ENOMEM;
    csvw_init(&w);
    if (ord == NULL ||
        (rc = rep__csvw_to_file(&w, &l->dd, "convergence.csv", false, err, errlen)) != 0)
        goto out;
    csvw_raw(&w, CONVERGENCE_HEADER, strlen(CONVERGENCE_HEADER));
    for (uint32_t k = 0; k < a->ndcss; k++) {
        const struct rep_dcs *d = &a->dcss[ord[k]];
        const struct rep_dc *c = &a->dcs[d->dc];
        csvw_str(&w, a->str.s[a->doms[c->dom].name]);
        csvw_str(&w, a->str.s[c->check]);
        csvw_str(&w, a->str.s[d->server]);
        csvw_str(&w, a->str.s[d->address]);
        csvw_str(&w, state_names[d->state]);
        csvw_time(&w, d->state == REP_CONVERGED ? d->matching_since : -1);
        csvw_time(&w, d->first_match);
        csvw_time(&w, d->last_mismatch);
        csvw_uint(&w, d->flaps);
        csvw_uint(&w, d->rounds);
        csvw_uint(&w, d->errors);
        csvw_str(&w, d->answer);
        csvw_time(&w, d->state == REP_STALE ? d->stale_exp : -1);
        csvw_str(&w, a->str.s[a->vans[a->dcvs[d->dcv].van].name]);
        csvw_uint(&w, d->nsites);
        csvw_bool(&w, overdue[ord[k]]);
        csvw_end(&w);
    }
    rc = rep__csvw_replace(&l->dd, "convergence.csv", &w, err, errlen);
out:
    free(ord);
    csvw_deinit(&w);
    return rc;
}

#define DELEG_HEADER                                                                               \
    "domain,server,address,time_utc,status,ns,ttl,glue,child_ns,lame,verdict,reasons,"             \
    "changed_utc,old_ttl,deadline_utc,vantage\r\n"

/* When resolvers must have let go of a parent server's old referral: the
 * round it first named the child's servers plus the TTL of the old
 * referral; -1 while it has not changed, or when its old TTL is unknown. */
static int64_t deleg_row_deadline(const struct rep_deleg *e)
{
    return e->changed >= 0 && e->old_ttl >= 0 ? e->changed + e->old_ttl : -1;
}

/* The parent's deadline per domain (out[dom]): the latest over the parent
 * servers of each vantage's latest round; -1 while any of them still names
 * other servers, or when none is known. */
static void parent_deadlines(const struct rep_agg *a, int64_t *out)
{
    bool *open = calloc(a->ndoms ? a->ndoms : 1, sizeof *open);
    for (uint32_t i = 0; i < a->ndoms; i++)
        out[i] = -1;
    for (uint32_t i = 0; i < a->ndels; i++) {
        const struct rep_deleg *e = &a->dels[i];
        uint32_t cv = rep__map_get(&a->dcvmap, ((uint64_t)e->dc << 32) | e->van);
        if (cv == UINT32_MAX || a->dcvs[cv].round != e->round)
            continue;
        if (e->flags & REP_DELEG_MISMATCH) {
            if (open != NULL)
                open[e->dom] = true;
            continue;
        }
        int64_t dl = deleg_row_deadline(e);
        if (dl > out[e->dom])
            out[e->dom] = dl;
    }
    for (uint32_t i = 0; i < a->ndoms; i++)
        if (open == NULL || open[i])
            out[i] = -1;
    free(open);
}

static int write_delegation(struct obslog *l, char *err, size_t errlen)
{
    const struct rep_agg *a = l->agg;
    struct csvw w;
    uint32_t *ord = NULL;
    char *glue = NULL;
    int rc = DP_ENOMEM;
    if (a->ndels == 0)
        return 0;
    csvw_init(&w);
    if ((ord = order_by(a->dels, a->ndels, sizeof *a->dels, offsetof(struct rep_deleg, dom))) ==
            NULL ||
        (rc = rep__csvw_to_file(&w, &l->dd, "delegation.csv", false, err, errlen)) != 0)
        goto out;
    csvw_raw(&w, DELEG_HEADER, strlen(DELEG_HEADER));
    for (uint32_t k = 0; k < a->ndels; k++) {
        const struct rep_deleg *e = &a->dels[ord[k]];
        bool ok = e->status == OBS_OK || e->status == OBS_NODATA || e->status == OBS_NXDOMAIN;
        const char *verdict = !ok                           ? "error"
                              : (e->flags & REP_DELEG_LAME) ? "lame"
                              : e->flags                    ? "mismatch"
                              : e->child[0] == '\0'         ? "unknown"
                                                            : "consistent";
        free(glue);
        glue = NULL;
        if (deleg_text_glue_list(e->answer, &glue) != 0) {
            rc = DP_ENOMEM;
            goto out;
        }
        csvw_str(&w, a->str.s[a->doms[e->dom].name]);
        csvw_str(&w, a->str.s[e->server]);
        csvw_str(&w, a->str.s[e->address]);
        csvw_time(&w, e->time);
        csvw_str(&w, obs_status_name((enum obs_status)e->status));
        csvw_field(&w, e->answer, deleg_text_nslen(e->answer));
        csvw_opt(&w, e->ttl);
        csvw_str(&w, glue);
        csvw_str(&w, e->child);
        csvw_str(&w, e->lame);
        csvw_str(&w, verdict);
        csvw_str(&w, deleg_reasons[e->flags & REP_DELEG_ALL]);
        csvw_time(&w, e->changed);
        csvw_opt(&w, e->old_ttl);
        csvw_time(&w, deleg_row_deadline(e));
        csvw_str(&w, a->str.s[a->vans[e->van].name]);
        csvw_end(&w);
    }
    rc = rep__csvw_replace(&l->dd, "delegation.csv", &w, err, errlen);
out:
    free(glue);
    free(ord);
    csvw_deinit(&w);
    return rc;
}

static int write_mx(struct obslog *l, const struct eff *effs, char *err, size_t errlen)
{
    const struct rep_agg *a = l->agg;
    struct csvw w;
    uint32_t *ord = order_by(a->mxs, a->nmxs, sizeof *a->mxs, offsetof(struct rep_mx, dom));
    int rc = DP_ENOMEM;
    char reasons[256];
    csvw_init(&w);
    if (ord == NULL ||
        (rc = rep__csvw_to_file(&w, &l->dd, "mx_compliance.csv", false, err, errlen)) != 0)
        goto out;
    csvw_raw(
        &w, "domain,server,address,time_utc,mx_count,mx_hosts,verdict,reasons,vantage\r\n",
        strlen("domain,server,address,time_utc,mx_count,mx_hosts,verdict,reasons,vantage\r\n"));
    for (uint32_t k = 0; k < a->nmxs; k++) {
        const struct rep_mx *m = &a->mxs[ord[k]];
        enum mx_verdict v = mx_verdict(m, a->str.s[a->doms[m->dom].name], effs[m->dom].single_mx,
                                       reasons, sizeof reasons);
        csvw_str(&w, a->str.s[a->doms[m->dom].name]);
        csvw_str(&w, a->str.s[m->server]);
        csvw_str(&w, a->str.s[m->address]);
        csvw_time(&w, m->time);
        if (m->failed)
            csvw_field(&w, NULL, 0);
        else
            csvw_uint(&w, m->count);
        csvw_str(&w, m->hosts);
        csvw_str(&w, mx_verdict_name(v));
        csvw_str(&w, reasons);
        csvw_str(&w, a->str.s[a->vans[m->van].name]);
        csvw_end(&w);
    }
    rc = rep__csvw_replace(&l->dd, "mx_compliance.csv", &w, err, errlen);
out:
    free(ord);
    csvw_deinit(&w);
    return rc;
}

void rep__summary_free(struct report_summary *rows)
{
    free(rows); /* the strings are in the same block */
}

/* The summary rows, one per (domain, check) in views' order: the one place
 * their figures are drawn, for summary.csv and for the Prometheus text. The
 * array replaces l's previous one. The rows and their strings are one block
 * (two allocations per row cost more than drawing the row). */
static int fill_summary(struct obslog *l, const struct dcview *views)
{
    const struct rep_agg *a = l->agg;
    size_t text = 0;
    for (uint32_t k = 0; k < a->ndcs; k++) {
        const struct rep_dc *c = &a->dcs[views[k].dc];
        text += strlen(a->str.s[a->doms[c->dom].name]) + strlen(a->str.s[c->check]) + 2;
    }
    size_t nrows = a->ndcs ? a->ndcs : 1;
    if (nrows > (SIZE_MAX - text) / sizeof(struct report_summary))
        return DP_ENOMEM;
    struct report_summary *rows = malloc(nrows * sizeof *rows + text);
    if (rows == NULL)
        return DP_ENOMEM;
    char *t = (char *)(rows + nrows);
    for (uint32_t k = 0; k < a->ndcs; k++) {
        const struct dcview *v = &views[k];
        const struct rep_dc *c = &a->dcs[v->dc];
        struct report_summary *r = &rows[k];
        const char *dom = a->str.s[a->doms[c->dom].name], *chk = a->str.s[c->check];
        size_t dl = strlen(dom) + 1, cl = strlen(chk) + 1;
        r->domain = memcpy(t, dom, dl);
        r->check = memcpy(t + dl, chk, cl);
        t += dl + cl;
        r->servers = v->servers;
        r->converged = v->conv;
        r->stale = v->stale;
        r->errors = v->errors;
        r->overdue = v->overdue;
        r->eta = v->stale > 0 ? v->eta : -1;
        r->window_end = v->e.window_end;
        r->deadline = v->deadline;
        r->last_round = v->time;
        r->status = dstatus_names[v->st];
        r->exit_status = dstatus_exit[v->st];
    }
    rep__summary_free(l->summary);
    l->summary = rows;
    l->nsummary = a->ndcs;
    return 0;
}

const struct report_summary *report_summary(const struct obslog *l, size_t *n)
{
    *n = l->nsummary;
    return l->summary;
}

static int write_summary(struct obslog *l, char *err, size_t errlen)
{
    struct csvw w;
    csvw_init(&w);
    int rc = rep__csvw_to_file(&w, &l->dd, "summary.csv", false, err, errlen);
    if (rc != 0) {
        csvw_deinit(&w);
        return rc;
    }
#define SUMMARY_HEADER                                                                             \
    "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,window_ends_utc,"       \
    "status,deadline_utc,overdue\r\n"
    csvw_raw(&w, SUMMARY_HEADER, strlen(SUMMARY_HEADER));
    for (size_t k = 0; k < l->nsummary; k++) {
        const struct report_summary *r = &l->summary[k];
        csvw_str(&w, r->domain);
        csvw_str(&w, r->check);
        csvw_uint(&w, r->servers);
        csvw_uint(&w, r->converged);
        csvw_uint(&w, r->stale);
        csvw_uint(&w, r->errors);
        rep__put_percent(&w, r->converged, r->servers);
        csvw_time(&w, r->eta);
        csvw_time(&w, r->window_end);
        csvw_str(&w, r->status);
        csvw_time(&w, r->deadline);
        csvw_uint(&w, r->overdue);
        csvw_end(&w);
    }
    rc = rep__csvw_replace(&l->dd, "summary.csv", &w, err, errlen);
    csvw_deinit(&w);
    return rc;
}

static int write_timeline(struct obslog *l, char *err, size_t errlen)
{
    struct rep_agg *a = l->agg;
    char *path = rep__path_join(l->dir, "timeline.csv");
    int fd = -1, rc;
    struct stat st;
    if (path == NULL)
        return DP_ENOMEM;
    if (a->tl_valid) {
        /* The file is still the one the state describes (checked on load):
         * append the new rows in place, as the log itself is appended to.
         * Copying the whole history into a new file would make every cron
         * run cost more as the rounds pile up. The rows go out in one write
         * and are fsynced; a crash halfway leaves a size the state does not
         * know, which sends the next run to a full rebuild. */
        fd = datadir_openat_file(&l->dd, "timeline.csv", O_WRONLY | O_APPEND, err, errlen);
        if (fd < 0) {
            rc = fd == DP_EUNSAFE ? DP_EUNSAFE : DP_EIO;
            goto out;
        }
        rc = rep__timeline_copy_spilled(a, fd);
        size_t done = 0;
        while (rc == 0 && done < a->tl.len) {
            ssize_t n = write(fd, a->tl.buf + done, a->tl.len - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = DP_EIO;
                break;
            }
            done += (size_t)n;
        }
        if (rc == 0 && fsync(fd) != 0)
            rc = DP_EIO;
        if (rc != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
            /* leave the file as the state knows it */
            if (ftruncate(fd, (off_t)a->tl_size) != 0)
                a->tl_valid = false;
            goto out;
        }
    } else if (a->tl_fd >= 0) {
        /* the spilled rows begin with the header: the kernel copies them */
        rc = datadir_replace(&l->dd, "timeline.csv", a->tl_fd, a->tl_spilled,
                             a->tl.buf ? a->tl.buf : "", a->tl.len, err, errlen);
    } else {
        /* less than TL_SPILL bytes, so the one copy is small */
        struct csvw w;
        csvw_init(&w);
        csvw_raw(&w, REP_TIMELINE_HEADER, strlen(REP_TIMELINE_HEADER));
        csvw_raw(&w, a->tl.buf ? a->tl.buf : "", a->tl.len);
        rc = rep__csvw_replace(&l->dd, "timeline.csv", &w, err, errlen);
        csvw_deinit(&w);
    }
    if (rc != 0)
        goto out;
    if (datadir_stat(&l->dd, "timeline.csv", &st) != 0) {
        rc = DP_EIO;
        goto out;
    }
    a->tl_valid = true;
    a->tl_dev = (uint64_t)st.st_dev;
    a->tl_ino = (uint64_t)st.st_ino;
    a->tl_size = (uint64_t)st.st_size;
    a->tl_mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
    rep__timeline_written(a);
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Whether timeline.csv is still the file the state last wrote. */
bool rep__timeline_intact(const struct obslog *l)
{
    const struct rep_agg *a = l->agg;
    struct stat st;
    bool ok = datadir_stat(&l->dd, "timeline.csv", &st) == 0 && (uint64_t)st.st_dev == a->tl_dev &&
              (uint64_t)st.st_ino == a->tl_ino && (uint64_t)st.st_size == a->tl_size &&
              (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec ==
                  a->tl_mtime_ns;
    return ok;
}

/* ---- the chart ---- */

static void xml_text(struct csvw *w, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            csvw_raw(w, "&amp;", 5);
        else if (c == '<')
            csvw_raw(w, "&lt;", 4);
        else if (c == '>')
            csvw_raw(w, "&gt;", 4);
        else if (c == '"')
            csvw_raw(w, "&quot;", 6);
        else if (c >= 0x20 && c < 0x7f)
            csvw_raw(w, (const char *)&c, 1);
        else
            csvw_raw(w, "?", 1);
    }
}

static void svgf(struct csvw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void svgf(struct csvw *w, const char *fmt, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n > 0)
        csvw_raw(w, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
}

/* "MM-DD HH:MM" */
static const char *short_time(int64_t t, char *buf)
{
    char full[DP_TIME_BUFLEN];
    dp_format_time(t, full);
    memcpy(buf, full + 5, 11);
    buf[11] = '\0';
    return buf;
}

struct chart_pt {
    int64_t t;
    uint32_t ser, i; /* series (index in the check's list), point */
};

static int cmp_chart_pt(const void *x, const void *y)
{
    const struct chart_pt *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->ser != b->ser)
        return a->ser < b->ser ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* One check's line over all vantages: at each point in time, the share of
 * (vantage, server) pairs converged as each vantage last saw them (every
 * vantage's latest point at or before that time counts). With one vantage
 * these are its own points. */
static int draw_check(struct csvw *w, const struct rep_agg *a, const uint32_t *sers, uint32_t nsers,
                      const char *color, int64_t t0, int64_t t1, double ml, double mt, double pw,
                      double ph)
{
    size_t total = 0;
    for (uint32_t k = 0; k < nsers; k++)
        total += a->ser[sers[k]].n;
    struct chart_pt *pts = malloc((total ? total : 1) * sizeof *pts);
    uint64_t *cur = calloc((size_t)nsers * 2 + 1, sizeof *cur);
    if (pts == NULL || cur == NULL) {
        free(pts);
        free(cur);
        return DP_ENOMEM;
    }
    size_t n = 0;
    for (uint32_t k = 0; k < nsers; k++)
        for (uint32_t i = 0; i < a->ser[sers[k]].n; i++)
            pts[n++] = (struct chart_pt){a->ser[sers[k]].pts[i].t, k, i};
    qsort(pts, n, sizeof *pts, cmp_chart_pt);
#define X(t) (ml + pw * (double)((t)-t0) / (double)(t1 - t0))
#define Y(p) (mt + ph * (1.0 - (p) / 100.0))
    svgf(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    uint32_t drawn = 0;
    double lx = 0, lyv = 0;
    for (size_t j = 0; j < n;) {
        int64_t t = pts[j].t;
        for (; j < n && pts[j].t == t; j++) {
            const struct rep_point *p = &a->ser[sers[pts[j].ser]].pts[pts[j].i];
            cur[2 * pts[j].ser] = p->conv;
            cur[2 * pts[j].ser + 1] = p->servers;
        }
        uint64_t conv = 0, servers = 0;
        for (uint32_t k = 0; k < nsers; k++) {
            conv += cur[2 * k];
            servers += cur[2 * k + 1];
        }
        if (servers == 0)
            continue;
        lx = X(t);
        lyv = Y(100.0 * (double)conv / (double)servers);
        svgf(w, "%s%.1f,%.1f", drawn++ ? " " : "", lx, lyv);
    }
    csvw_raw(w, "\"/>\n", 4);
    if (drawn == 1)
        svgf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx, lyv, color);
#undef X
#undef Y
    free(pts);
    free(cur);
    return csvw_error(w);
}

static int write_svg(struct obslog *l, const struct eff *effs, const struct dcview *views,
                     char *err, size_t errlen)
{
    static const char *const colors[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                                         "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e", "#d62728"};
    const struct rep_agg *a = l->agg;
    const double W = 900, H = 440, ml = 70, mr = 170, mt = 50, mb = 70;
    const double pw = W - ml - mr, ph = H - mt - mb;
    struct csvw w;
    int64_t t0 = -1, t1 = -1, eta = -1, wend = -1, last = -1;
    char b1[DP_TIME_BUFLEN], b2[16];
    csvw_init(&w);
    for (uint32_t i = 0; i < a->ndoms; i++) {
        if (t0 < 0 || effs[i].since < t0)
            t0 = effs[i].since;
        if (effs[i].window_end > wend)
            wend = effs[i].window_end;
        if (a->doms[i].last_time > last)
            last = a->doms[i].last_time;
    }
    for (uint32_t i = 0; i < a->ndcs; i++)
        if (views[i].stale > 0 && views[i].eta > eta)
            eta = views[i].eta;
    /* the window is what the chart spans; an ETA beyond it is marked at
     * the right edge rather than squeezing the window into a corner */
    t1 = wend > last ? wend : last;
    if (t0 < 0 || t1 <= t0) {
        t0 = t0 < 0 ? 0 : t0;
        t1 = t0 + 3600;
    }
    t1 += (t1 - t0) / 50; /* room for the last marker */
#define X(t) (ml + pw * (double)((t)-t0) / (double)(t1 - t0))
#define Y(p) (mt + ph * (1.0 - (p) / 100.0))
    svgf(&w,
         "<?xml version=\"1.0\" encoding=\"US-ASCII\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
         "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
         W, H, W, H);
    svgf(&w, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", W, H);
    svgf(&w, "<text x=\"70\" y=\"24\" font-size=\"15\" font-weight=\"bold\">"
             "Resolvers converged (%%) ");
    for (uint32_t i = 0; i < a->ndoms && i < 3; i++) {
        csvw_raw(&w, i ? ", " : "- ", 2);
        xml_text(&w, a->str.s[a->doms[i].name]);
    }
    if (a->ndoms > 3)
        svgf(&w, " and %u more", a->ndoms - 3);
    csvw_raw(&w, "</text>\n", 8);
    /* grid and y axis */
    for (int p = 0; p <= 100; p += 25) {
        svgf(&w,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
             "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
             ml, Y(p), ml + pw, Y(p), ml - 6, Y(p) + 4, p);
    }
    for (int i = 0; i <= 6; i++) {
        int64_t t = t0 + (t1 - t0) * i / 6;
        char full[DP_TIME_BUFLEN];
        /* under an hour the ticks are minutes apart or less: show HH:MM:SS */
        const char *label = t1 - t0 < 3600 ? dp_format_time(t, full) + 11 : short_time(t, b2);
        svgf(&w,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n"
             "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
             X(t), mt, X(t), mt + ph, X(t), mt + ph + 18, label);
    }
    svgf(&w,
         "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
         "stroke=\"#333\"/>\n",
         ml, mt, pw, ph);
    svgf(&w,
         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time (UTC), from %s</text>\n"
         "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
         "resolvers converged (%%)</text>\n",
         ml + pw / 2, H - 22, dp_format_time(t0, b1), mt + ph / 2);
    /* markers */
    if (wend >= t0) {
        svgf(&w,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
             "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n"
             "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\" text-anchor=\"%s\">window ends "
             "%s UTC</text>\n",
             X(wend), mt, X(wend), mt + ph, X(wend) + (X(wend) > ml + pw / 2 ? -4 : 4), mt + 14,
             X(wend) > ml + pw / 2 ? "end" : "start", short_time(wend, b2));
    }
    if (eta > t1) {
        svgf(&w,
             "<text x=\"%.1f\" y=\"%.1f\" fill=\"#ff7f0e\" text-anchor=\"end\">ETA %s UTC, "
             "after the window &#8594;</text>\n",
             ml + pw - 4, mt + 30, short_time(eta, b2));
    } else if (eta >= 0) {
        svgf(&w,
             "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ff7f0e\" "
             "stroke-width=\"2\" stroke-dasharray=\"2 3\"/>\n"
             "<text x=\"%.1f\" y=\"%.1f\" fill=\"#ff7f0e\" text-anchor=\"%s\">ETA %s "
             "UTC</text>\n",
             X(eta), mt, X(eta), mt + ph, X(eta) + (X(eta) > ml + pw / 2 ? -4 : 4), mt + 30,
             X(eta) > ml + pw / 2 ? "end" : "start", short_time(eta, b2));
    }
    /* one line per check over all vantages (see draw_check) */
    uint32_t *keys = malloc((size_t)(a->nser ? a->nser : 1) * sizeof *keys), *ord = NULL;
    int rc = DP_ENOMEM;
    if (keys == NULL || (ord = order_by(a->ser, a->nser, sizeof *a->ser,
                                        offsetof(struct rep_series, check))) == NULL)
        goto out;
    /* checks in order of their first series, as the series came */
    uint32_t nchecks = 0;
    for (uint32_t i = 0; i < a->nser; i++) {
        if (i > 0 && a->ser[ord[i]].check == a->ser[ord[i - 1]].check)
            continue;
        keys[nchecks++] = i; /* where this check's series start in ord */
    }
    /* keys[0..nchecks) hold start offsets; order them by the first series */
    for (uint32_t i = 1; i < nchecks; i++)
        for (uint32_t j = i; j > 0 && ord[keys[j]] < ord[keys[j - 1]]; j--) {
            uint32_t t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (uint32_t ci = 0; ci < nchecks; ci++) {
        uint32_t from = keys[ci], to = from + 1;
        while (to < a->nser && a->ser[ord[to]].check == a->ser[ord[from]].check)
            to++;
        const char *color = colors[ci % (sizeof colors / sizeof colors[0])];
        if ((rc = draw_check(&w, a, ord + from, to - from, color, t0, t1, ml, mt, pw, ph)) != 0)
            goto out;
        double ly = mt + 10 + 20 * ci;
        svgf(&w,
             "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%s\"/>\n"
             "<text x=\"%.1f\" y=\"%.1f\">",
             ml + pw + 14, ly, color, ml + pw + 34, ly + 6);
        xml_text(&w, a->str.s[a->ser[ord[from]].check]);
        csvw_raw(&w, "</text>\n", 8);
    }
    csvw_raw(&w, "</svg>\n", 7);
#undef X
#undef Y
    rc = rep__csvw_replace(&l->dd, "convergence.svg", &w, err, errlen);
out:
    free(keys);
    free(ord);
    csvw_deinit(&w);
    return rc;
}

/* ---- the status line ---- */

/* The status line names the worst check with its ETA and the reason for a
 * critical state, then the next STATUS_LISTED - 1 checks briefly
 * ("; DOMAIN CHECK N/M"), then "+N more"; perfdata: converged=N;;;0;M for
 * the worst, 'DOMAIN CHECK'=N;;;0;M for the others listed. */
#define STATUS_LISTED 5

/* Worst first: critical, expired, propagating, converged; then the lowest
 * share converged (servers 0 counted as 1); then log order. A total order,
 * so the worst few (worst_views) are one list whatever the order of the
 * views. */
static int cmp_views(const void *x, const void *y)
{
    const struct dcview *a = x, *b = y;
    if (a->st != b->st)
        return a->st > b->st ? -1 : 1;
    uint64_t la = (uint64_t)a->conv * (b->servers ? b->servers : 1);
    uint64_t lb = (uint64_t)b->conv * (a->servers ? a->servers : 1);
    if (la != lb)
        return la < lb ? -1 : 1;
    return a->dc < b->dc ? -1 : a->dc > b->dc;
}

/* The k worst of the n views (k <= n), worst first, into top: one pass
 * that keeps the k seen so far in order (the line names only the first
 * few; sorting all of them cost more than drawing the reports). */
static void worst_views(const struct dcview *views, uint32_t n, struct dcview *top, uint32_t k)
{
    uint32_t have = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct dcview *c = &views[i];
        if (have == k && cmp_views(c, &top[k - 1]) >= 0)
            continue;
        uint32_t j = have < k ? have++ : k - 1;
        for (; j > 0 && cmp_views(c, &top[j - 1]) < 0; j--)
            top[j] = top[j - 1];
        top[j] = *c;
    }
}

/* ", overdue: NAME, NAME, +N more" for the overdue resolvers of dc (a
 * resolver is written NAME@VANTAGE when the log has several vantages). */
static int overdue_names(const struct rep_agg *a, const bool *overdue, uint32_t dc, char *buf,
                         size_t cap)
{
    size_t o = 0;
    unsigned listed = 0, more = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < a->ndcss; i++) {
        const struct rep_dcs *d = &a->dcss[i];
        if (d->dc != dc || d->auth || !overdue[i] || d->last_round != a->dcvs[d->dcv].round)
            continue;
        if (listed == 3) {
            more++;
            continue;
        }
        const char *van = a->str.s[a->vans[a->dcvs[d->dcv].van].name];
        int k = snprintf(buf + o, cap - o, "%s%s%s%s",
                         listed ? ", " : ", overdue: ", a->str.s[d->server],
                         a->nvans > 1 ? "@" : "", a->nvans > 1 ? van : "");
        if (k < 0 || (size_t)k >= cap - o) {
            buf[o] = '\0';
            more++;
            listed = 3;
            continue;
        }
        o += (size_t)k;
        listed++;
    }
    if (more > 0 && o < cap)
        o += (size_t)snprintf(buf + o, cap - o, ", +%u more", more);
    return (int)(o < cap ? o : cap - 1);
}

static void status_line(const struct rep_agg *a, const struct dcview *views, uint32_t n,
                        const bool *overdue, struct report_outcome *out)
{
    char *s = out->status_line;
    size_t cap = sizeof out->status_line, o = 0;
    char perf[REPORT_STATUS_MAX];
    size_t po = 0;
    if (n == 0) {
        out->exit_status = DP_EXIT_UNKNOWN;
        snprintf(s, cap, "DNSPROP UNKNOWN - no observations yet");
        return;
    }
    /* the loop below reads no view past v[STATUS_LISTED] */
    struct dcview v[STATUS_LISTED + 1];
    worst_views(views, n, v, n < STATUS_LISTED + 1 ? n : STATUS_LISTED + 1);
    int code = dstatus_exit[v[0].st];
    static const char *const words[] = {"OK", "WARNING", "CRITICAL"};
    out->exit_status = code;
    o += (size_t)snprintf(s + o, cap - o, "DNSPROP %s - ", words[code]);
    for (uint32_t i = 0; i < n; i++) {
        const struct dcview *c = &v[i];
        const struct rep_dc *dc = &a->dcs[c->dc];
        char part[600], tb[DP_TIME_BUFLEN], pp[600], names[300];
        const char *dom = a->str.s[a->doms[dc->dom].name], *chk = a->str.s[dc->check];
        int pl;
        if (i == 0) {
            pl =
                snprintf(part, sizeof part, "%s %s %u/%u converged", dom, chk, c->conv, c->servers);
            if (c->stale > 0 && c->eta >= 0 && pl > 0 && (size_t)pl < sizeof part)
                pl += snprintf(part + pl, sizeof part - (size_t)pl, ", ETA %.16s UTC",
                               dp_format_time(c->eta, tb));
            if (c->conv < c->servers && c->deadline >= 0 && pl > 0 && (size_t)pl < sizeof part)
                pl += snprintf(part + pl, sizeof part - (size_t)pl, ", deadline %.16s UTC",
                               dp_format_time(c->deadline, tb));
            if (c->overdue > 0 && pl > 0 && (size_t)pl < sizeof part) {
                overdue_names(a, overdue, c->dc, names, sizeof names);
                pl += snprintf(part + pl, sizeof part - (size_t)pl, "%s", names);
            }
            if (v[i].why != NULL && pl > 0 && (size_t)pl < sizeof part)
                pl += snprintf(part + pl, sizeof part - (size_t)pl, ", %s", v[i].why);
            snprintf(pp, sizeof pp, "converged=%u;;;0;%u overdue=%u", c->conv, c->servers,
                     c->overdue);
        } else {
            pl = snprintf(part, sizeof part, "; %s %s %u/%u", dom, chk, c->conv, c->servers);
            snprintf(pp, sizeof pp, " '%s %s'=%u;;;0;%u", dom, chk, c->conv, c->servers);
        }
        /* a status line stays short: the worst STATUS_LISTED checks, then a
         * count; and always room for " | " and the perfdata */
        if (i == STATUS_LISTED || pl < 0 || o + (size_t)pl + 3 + strlen(pp) + po + 16 >= cap) {
            o += (size_t)snprintf(s + o, cap - o, "; +%u more", n - i);
            break;
        }
        memcpy(s + o, part, (size_t)pl + 1);
        o += (size_t)pl;
        size_t ppl = strlen(pp);
        if (po + ppl < sizeof perf) {
            memcpy(perf + po, pp, ppl + 1);
            po += ppl;
        }
    }
    snprintf(s + o, cap - o, " | %s", po ? perf : "");
}

/* ---- everything ---- */

int rep__render(struct obslog *l, const struct rep_sets *sets, const struct report_override *ov,
                struct report_outcome *out, char *err, size_t errlen)
{
    struct rep_agg *a = l->agg;
    struct eff *effs = calloc(a->ndoms ? a->ndoms : 1, sizeof *effs);
    struct dcview *views = calloc(a->ndcs ? a->ndcs : 1, sizeof *views);
    bool *overdue = calloc(a->ndcss ? a->ndcss : 1, sizeof *overdue);
    int64_t *pdl = calloc(a->ndoms ? a->ndoms : 1, sizeof *pdl);
    int rc = DP_ENOMEM;
    if (effs == NULL || views == NULL || overdue == NULL || pdl == NULL)
        goto out;
    for (uint32_t i = 0; i < a->ndoms; i++)
        effs[i] = effective(a, i, sets, ov);
    parent_deadlines(a, pdl);
    draw_views(a, effs, views, overdue, pdl);
    for (uint32_t i = 0; i < a->ndcs; i++)
        judge_dc(&views[i]);
    if ((rc = write_convergence(l, overdue, err, errlen)) != 0 ||
        (rc = write_timeline(l, err, errlen)) != 0 || (rc = write_mx(l, effs, err, errlen)) != 0 ||
        (rc = write_delegation(l, err, errlen)) != 0 || (rc = fill_summary(l, views)) != 0 ||
        (rc = write_summary(l, err, errlen)) != 0 ||
        (rc = write_svg(l, effs, views, err, errlen)) != 0)
        goto out;
    if (out != NULL)
        status_line(a, views, a->ndcs, overdue, out);
    if (out != NULL) {
        /* watch stops when the window has ended for every domain */
        out->window_end = 0;
        for (uint32_t i = 0; i < a->ndcs; i++)
            if (views[i].e.window_end > out->window_end)
                out->window_end = views[i].e.window_end;
    }
    rc = 0;
out:
    free(effs);
    free(views);
    free(overdue);
    free(pdl);
    return rc;
}
