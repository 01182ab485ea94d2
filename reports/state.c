/*
 * DIR/.state: the aggregates after the last refresh, so that a cron run
 * reads only the rows added since, whatever the length of the log.
 *
 * The file is CSV written by the one writer, a record per line, its first
 * field the record type; the last line holds a hash of all lines before it.
 * It is trusted only when it matches the log: same device and inode, the
 * log at least as long as the covered size, and the same hash of the header
 * and of the 4 KiB before the covered end (a log that was replaced, cut, or
 * rewritten there is read again from the start). Anything unexpected in the
 * file (another version, a bad number, a bad hash) makes the caller read the
 * whole log: the state is a cache, never the truth.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_NAME ".state"
/* 2: vantages, sites and the change; 3: the delegation findings and
 * whether the auth: servers answered (a state of an older version is read
 * as not matching: the whole log is read again) */
#define STATE_VERSION "3"
#define TAIL_BYTES    4096

static void put_i(struct csvw *w, int64_t v)
{
    /* -1 (none) is written as an empty field */
    csvw_opt(w, v);
}

/* Hash of the header and of the TAIL_BYTES before `covered`. */
static int log_fingerprint(const struct obslog *l, uint64_t covered, uint64_t *hh, uint64_t *th)
{
    char buf[TAIL_BYTES];
    uint64_t from = covered > TAIL_BYTES ? covered - TAIL_BYTES : 0;
    if (from < l->header_len)
        from = l->header_len;
    size_t n = covered > from ? (size_t)(covered - from) : 0;
    *hh = REP__HASH_INIT;
    *th = REP__HASH_INIT;
    char h[4096];
    if (l->header_len > sizeof h)
        return DP_EFORMAT;
    if (pread(l->fd, h, (size_t)l->header_len, 0) != (ssize_t)l->header_len)
        return DP_EIO;
    *hh = rep__hash(*hh, h, (size_t)l->header_len);
    if (n > 0 && pread(l->fd, buf, n, (off_t)from) != (ssize_t)n)
        return DP_EIO;
    *th = rep__hash(*th, buf, n);
    return 0;
}

int rep__state_save(const struct obslog *l, const struct rep_agg *a, char *err, size_t errlen)
{
    struct csvw w;
    uint64_t hh, th;
    int rc = log_fingerprint(l, l->size, &hh, &th);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot read back the log", l->path);
        return rc;
    }
    csvw_init(&w);
    csvw_str(&w, "dnsprop-state");
    csvw_str(&w, STATE_VERSION);
    csvw_end(&w);
    csvw_str(&w, "log");
    csvw_uint(&w, (uint64_t)l->dev);
    csvw_uint(&w, (uint64_t)l->ino);
    csvw_uint(&w, l->size);
    csvw_uint(&w, l->lines);
    csvw_uint(&w, hh);
    csvw_uint(&w, th);
    csvw_end(&w);
    csvw_str(&w, "agg");
    csvw_uint(&w, a->last_round);
    csvw_bool(&w, a->tl_valid);
    csvw_uint(&w, a->tl_dev);
    csvw_uint(&w, a->tl_ino);
    csvw_uint(&w, a->tl_size);
    csvw_uint(&w, a->tl_mtime_ns);
    csvw_end(&w);
    for (uint32_t i = 0; i < a->str.n; i++) {
        csvw_str(&w, "s");
        csvw_str(&w, a->str.s[i]);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->ndoms; i++) {
        const struct rep_dom *d = &a->doms[i];
        csvw_str(&w, "d");
        csvw_uint(&w, d->name);
        put_i(&w, d->first_time);
        put_i(&w, d->last_time);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->nvans; i++) {
        csvw_str(&w, "u");
        csvw_uint(&w, a->vans[i].name);
        csvw_uint(&w, a->vans[i].finalized_round);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->ndcs; i++) {
        csvw_str(&w, "c");
        csvw_uint(&w, a->dcs[i].dom);
        csvw_uint(&w, a->dcs[i].check);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->ndcvs; i++) {
        const struct rep_dcv *c = &a->dcvs[i];
        csvw_str(&w, "w");
        csvw_uint(&w, c->dc);
        csvw_uint(&w, c->van);
        csvw_uint(&w, c->round);
        put_i(&w, c->time);
        csvw_uint(&w, c->servers);
        csvw_uint(&w, c->conv);
        csvw_uint(&w, c->stale);
        csvw_uint(&w, c->errors);
        csvw_uint(&w, c->pending);
        csvw_bool(&w, c->auth_mismatch);
        csvw_bool(&w, c->auth_disagree);
        csvw_uint(&w, c->cur);
        put_i(&w, c->cur_ttl);
        put_i(&w, c->pre_ttl);
        put_i(&w, c->change_time);
        put_i(&w, c->old_ttl);
        csvw_uint(&w, c->deleg);
        csvw_bool(&w, c->auth_seen);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->ndcss; i++) {
        const struct rep_dcs *d = &a->dcss[i];
        csvw_str(&w, "v");
        csvw_uint(&w, d->dc);
        csvw_uint(&w, d->dcv);
        csvw_uint(&w, d->server);
        csvw_uint(&w, d->address);
        csvw_bool(&w, d->auth);
        csvw_uint(&w, d->state);
        csvw_bool(&w, d->streak);
        csvw_bool(&w, d->overdue);
        csvw_bool(&w, d->unreachable);
        put_i(&w, d->matching_since);
        put_i(&w, d->first_match);
        put_i(&w, d->last_mismatch);
        put_i(&w, d->stale_exp);
        put_i(&w, d->last_time);
        csvw_uint(&w, d->flaps);
        csvw_uint(&w, d->rounds);
        csvw_uint(&w, d->errors);
        csvw_uint(&w, d->last_round);
        csvw_uint(&w, d->nsites);
        csvw_str(&w, d->answer);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->nsites; i++) {
        const struct rep_site *x = &a->sites[i];
        csvw_str(&w, "x");
        csvw_uint(&w, x->dcs);
        csvw_uint(&w, x->site);
        csvw_bool(&w, x->answered);
        csvw_bool(&w, x->overdue);
        put_i(&w, x->exp);
        put_i(&w, x->promise);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->nmxs; i++) {
        const struct rep_mx *m = &a->mxs[i];
        csvw_str(&w, "m");
        csvw_uint(&w, m->dom);
        csvw_uint(&w, m->dc);
        csvw_uint(&w, m->van);
        csvw_uint(&w, m->server);
        csvw_uint(&w, m->address);
        csvw_bool(&w, m->auth);
        csvw_bool(&w, m->failed);
        csvw_uint(&w, m->round);
        csvw_uint(&w, m->count);
        csvw_uint(&w, m->flags);
        put_i(&w, m->time);
        csvw_str(&w, m->hosts);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->ndels; i++) {
        const struct rep_deleg *e = &a->dels[i];
        csvw_str(&w, "g");
        csvw_uint(&w, e->dom);
        csvw_uint(&w, e->dc);
        csvw_uint(&w, e->van);
        csvw_uint(&w, e->server);
        csvw_uint(&w, e->address);
        csvw_uint(&w, e->round);
        put_i(&w, e->time);
        put_i(&w, e->ttl);
        csvw_uint(&w, e->status);
        csvw_uint(&w, e->flags);
        put_i(&w, e->old_ttl);
        put_i(&w, e->changed);
        csvw_str(&w, e->answer);
        csvw_str(&w, e->child);
        csvw_str(&w, e->lame);
        csvw_end(&w);
    }
    for (uint32_t i = 0; i < a->nser; i++) {
        const struct rep_series *s = &a->ser[i];
        csvw_str(&w, "p");
        csvw_uint(&w, s->check);
        csvw_uint(&w, s->van);
        csvw_uint(&w, s->k);
        csvw_end(&w);
        for (uint32_t j = 0; j < s->n; j++) {
            const struct rep_point *p = &s->pts[j];
            csvw_str(&w, "q");
            put_i(&w, p->t);
            csvw_uint(&w, p->round);
            csvw_uint(&w, p->nrounds);
            csvw_uint(&w, p->conv);
            csvw_uint(&w, p->servers);
            csvw_end(&w);
        }
    }
    uint64_t h = rep__hash(REP__HASH_INIT, w.buf, w.len);
    csvw_str(&w, "end");
    csvw_uint(&w, h);
    csvw_end(&w);
    rc = csvw_error(&w);
    if (rc == 0)
        rc = datadir_replace(&l->dd, STATE_NAME, -1, 0, w.buf, w.len, err, errlen);
    csvw_deinit(&w);
    return rc;
}

/* ---- loading ---- */

struct cur {
    struct csvr r;
    size_t i; /* next field */
    bool bad;
};

static uint64_t get_u(struct cur *c, uint64_t max)
{
    uint64_t v = 0;
    if (c->i >= c->r.n || dp_parse_uint(c->r.f[c->i], 0, max, &v) != 0) {
        c->bad = true;
        return 0;
    }
    c->i++;
    return v;
}

static int64_t get_i(struct cur *c)
{
    if (c->i < c->r.n && c->r.len[c->i] == 0) {
        c->i++;
        return -1;
    }
    return (int64_t)get_u(c, INT64_MAX);
}

static bool get_b(struct cur *c)
{
    if (c->i >= c->r.n) {
        c->bad = true;
        return false;
    }
    const char *f = c->r.f[c->i++];
    if (strcmp(f, "yes") == 0)
        return true;
    if (strcmp(f, "no") != 0)
        c->bad = true;
    return false;
}

static char *get_s(struct cur *c)
{
    if (c->i >= c->r.n) {
        c->bad = true;
        return NULL;
    }
    char *s = strdup(c->r.f[c->i++]);
    if (s == NULL)
        c->bad = true;
    return s;
}

/* Adds key to a map being rebuilt from the state; a key seen twice means a
 * damaged state (DP_EFORMAT). */
static int mput(struct rep_map *m, uint64_t key, uint32_t val)
{
    if (rep__map_get(m, key) != UINT32_MAX)
        return DP_EFORMAT;
    return rep__map_put(m, key, val);
}

static char *slurp(const struct datadir *dd, const char *name, size_t *len)
{
    char err[8]; /* a state that cannot be read is only a cache miss */
    int fd = datadir_openat_file(dd, name, O_RDONLY, err, sizeof err);
    struct stat st;
    char *buf = NULL;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 30)) {
        buf = malloc((size_t)st.st_size + 1);
        if (buf != NULL && read(fd, buf, (size_t)st.st_size) == (ssize_t)st.st_size) {
            buf[st.st_size] = '\0';
            *len = (size_t)st.st_size;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    close(fd);
    return buf;
}

int rep__state_load(struct obslog *l, struct rep_agg **out, uint64_t *covered, unsigned *lines)
{
    size_t len = 0;
    char *buf = NULL;
    struct rep_agg *a = rep__agg_new();
    struct cur c;
    int rc = DP_EFORMAT;
    struct rep_series *ser = NULL;
    csvr_init(&c.r);
    *out = NULL;
    if (a == NULL)
        goto out;
    buf = slurp(&l->dd, STATE_NAME, &len);
    if (buf == NULL)
        goto out;
    /* the hash line: "end,N\r\n" at the very end */
    if (len < 3 || buf[len - 1] != '\n')
        goto out;
    size_t last = len - 1;
    while (last > 0 && buf[last - 1] != '\n')
        last--;
    {
        const char *why;
        if (csvr_split(&c.r, buf + last, len - 1 - last, &why) != 2 || strcmp(c.r.f[0], "end") != 0)
            goto out;
        uint64_t want;
        if (dp_parse_uint(c.r.f[1], 0, UINT64_MAX, &want) != 0 ||
            rep__hash(REP__HASH_INIT, buf, last) != want)
            goto out;
    }
    bool seen_log = false;
    for (size_t pos = 0; pos < last;) {
        char *nl = memchr(buf + pos, '\n', last - pos);
        const char *why;
        if (nl == NULL)
            goto out;
        size_t ll = (size_t)(nl - (buf + pos));
        if (csvr_split(&c.r, buf + pos, ll, &why) < 1)
            goto out;
        pos += ll + 1;
        c.i = 1;
        c.bad = false;
        const char *t = c.r.f[0];
        if (strcmp(t, "dnsprop-state") == 0) {
            if (c.r.n != 2 || strcmp(c.r.f[1], STATE_VERSION) != 0)
                goto out;
            continue;
        }
        if (strcmp(t, "log") == 0) {
            uint64_t dev = get_u(&c, UINT64_MAX), ino = get_u(&c, UINT64_MAX);
            uint64_t size = get_u(&c, UINT64_MAX), nl_ = get_u(&c, UINT32_MAX);
            uint64_t hh = get_u(&c, UINT64_MAX), th = get_u(&c, UINT64_MAX);
            uint64_t h2, t2;
            struct stat st;
            if (c.bad || dev != (uint64_t)l->dev || ino != (uint64_t)l->ino ||
                fstat(l->fd, &st) != 0 || size > (uint64_t)st.st_size || size < l->header_len ||
                log_fingerprint(l, size, &h2, &t2) != 0 || h2 != hh || t2 != th)
                goto out;
            *covered = size;
            *lines = (unsigned)nl_;
            seen_log = true;
        } else if (strcmp(t, "agg") == 0) {
            a->last_round = (uint32_t)get_u(&c, UINT32_MAX);
            a->tl_valid = get_b(&c);
            a->tl_dev = get_u(&c, UINT64_MAX);
            a->tl_ino = get_u(&c, UINT64_MAX);
            a->tl_size = get_u(&c, UINT64_MAX);
            a->tl_mtime_ns = get_u(&c, UINT64_MAX);
        } else if (strcmp(t, "s") == 0) {
            if (c.r.n != 2 || rep__str(&a->str, c.r.f[1], c.r.len[1]) != a->str.n - 1)
                goto out; /* a duplicate string, or no memory */
            c.i = 2;
        } else if (strcmp(t, "d") == 0) {
            if (REP_GROW(a, doms) != 0)
                goto out;
            struct rep_dom *d = &a->doms[a->ndoms];
            d->name = (uint32_t)get_u(&c, a->str.n ? a->str.n - 1 : 0);
            d->first_time = get_i(&c);
            d->last_time = get_i(&c);
            if (c.bad || a->str.n == 0 || mput(&a->dommap, d->name, a->ndoms) != 0)
                goto out;
            a->ndoms++;
        } else if (strcmp(t, "u") == 0) {
            if (REP_GROW(a, vans) != 0 || a->str.n == 0)
                goto out;
            struct rep_van *v = &a->vans[a->nvans];
            v->name = (uint32_t)get_u(&c, a->str.n - 1);
            v->finalized_round = (uint32_t)get_u(&c, UINT32_MAX);
            if (c.bad || mput(&a->vanmap, v->name, a->nvans) != 0)
                goto out;
            a->nvans++;
        } else if (strcmp(t, "c") == 0) {
            if (REP_GROW(a, dcs) != 0 || a->ndoms == 0 || a->str.n == 0)
                goto out;
            struct rep_dc *d = &a->dcs[a->ndcs];
            d->dom = (uint32_t)get_u(&c, a->ndoms - 1);
            d->check = (uint32_t)get_u(&c, a->str.n - 1);
            if (c.bad || mput(&a->dcmap, ((uint64_t)d->dom << 32) | d->check, a->ndcs) != 0)
                goto out;
            a->ndcs++;
        } else if (strcmp(t, "w") == 0) {
            if (REP_GROW(a, dcvs) != 0 || a->ndcs == 0 || a->nvans == 0)
                goto out;
            struct rep_dcv *d = &a->dcvs[a->ndcvs];
            memset(d, 0, sizeof *d);
            d->dc = (uint32_t)get_u(&c, a->ndcs - 1);
            d->van = (uint32_t)get_u(&c, a->nvans - 1);
            d->round = (uint32_t)get_u(&c, UINT32_MAX);
            d->time = get_i(&c);
            d->servers = (uint32_t)get_u(&c, UINT32_MAX);
            d->conv = (uint32_t)get_u(&c, UINT32_MAX);
            d->stale = (uint32_t)get_u(&c, UINT32_MAX);
            d->errors = (uint32_t)get_u(&c, UINT32_MAX);
            d->pending = (uint32_t)get_u(&c, UINT32_MAX);
            d->auth_mismatch = get_b(&c);
            d->auth_disagree = get_b(&c);
            d->cur = get_u(&c, UINT64_MAX);
            d->cur_ttl = get_i(&c);
            d->pre_ttl = get_i(&c);
            d->change_time = get_i(&c);
            d->old_ttl = get_i(&c);
            d->deleg = (uint8_t)get_u(&c, REP_DELEG_ALL);
            d->auth_seen = get_b(&c);
            d->t_yes_ttl = d->t_other_ttl = -1;
            if (c.bad || mput(&a->dcvmap, ((uint64_t)d->dc << 32) | d->van, a->ndcvs) != 0)
                goto out;
            a->ndcvs++;
        } else if (strcmp(t, "v") == 0) {
            if (REP_GROW(a, dcss) != 0 || a->ndcvs == 0)
                goto out;
            struct rep_dcs *d = &a->dcss[a->ndcss];
            memset(d, 0, sizeof *d);
            d->dc = (uint32_t)get_u(&c, a->ndcs - 1);
            d->dcv = (uint32_t)get_u(&c, a->ndcvs - 1);
            d->server = (uint32_t)get_u(&c, a->str.n - 1);
            d->address = (uint32_t)get_u(&c, a->str.n - 1);
            d->auth = get_b(&c);
            d->state = (uint8_t)get_u(&c, REP_ERROR);
            d->streak = get_b(&c);
            d->overdue = get_b(&c);
            d->unreachable = get_b(&c);
            d->matching_since = get_i(&c);
            d->first_match = get_i(&c);
            d->last_mismatch = get_i(&c);
            d->stale_exp = get_i(&c);
            d->last_time = get_i(&c);
            d->flaps = (uint32_t)get_u(&c, UINT32_MAX);
            d->rounds = (uint32_t)get_u(&c, UINT32_MAX);
            d->errors = (uint32_t)get_u(&c, UINT32_MAX);
            d->last_round = (uint32_t)get_u(&c, UINT32_MAX);
            d->nsites = (uint32_t)get_u(&c, UINT32_MAX);
            d->answer = get_s(&c);
            a->ndcss++; /* counted now so that the answer is freed on failure */
            if (c.bad || a->dcvs[d->dcv].dc != d->dc)
                goto out;
            uint32_t skey =
                rep__server_key(&a->str, a->vans[a->dcvs[d->dcv].van].name, d->server, d->address);
            if (skey == UINT32_MAX ||
                mput(&a->dcsmap, ((uint64_t)d->dc << 32) | skey, a->ndcss - 1) != 0)
                goto out;
        } else if (strcmp(t, "x") == 0) {
            if (REP_GROW(a, sites) != 0 || a->ndcss == 0)
                goto out;
            struct rep_site *x = &a->sites[a->nsites];
            memset(x, 0, sizeof *x);
            x->dcs = (uint32_t)get_u(&c, a->ndcss - 1);
            x->site = (uint32_t)get_u(&c, a->str.n - 1);
            x->answered = get_b(&c);
            x->overdue = get_b(&c);
            x->exp = get_i(&c);
            x->promise = get_i(&c);
            if (c.bad || mput(&a->sitemap, ((uint64_t)x->dcs << 32) | x->site, a->nsites) != 0)
                goto out;
            x->next = a->dcss[x->dcs].site_head;
            a->dcss[x->dcs].site_head = ++a->nsites;
        } else if (strcmp(t, "m") == 0) {
            if (REP_GROW(a, mxs) != 0 || a->ndoms == 0 || a->ndcs == 0 || a->nvans == 0)
                goto out;
            struct rep_mx *m = &a->mxs[a->nmxs];
            memset(m, 0, sizeof *m);
            m->dom = (uint32_t)get_u(&c, a->ndoms - 1);
            m->dc = (uint32_t)get_u(&c, a->ndcs - 1);
            m->van = (uint32_t)get_u(&c, a->nvans - 1);
            m->server = (uint32_t)get_u(&c, a->str.n - 1);
            m->address = (uint32_t)get_u(&c, a->str.n - 1);
            m->auth = get_b(&c);
            m->failed = get_b(&c);
            m->round = (uint32_t)get_u(&c, UINT32_MAX);
            m->count = (uint32_t)get_u(&c, UINT32_MAX);
            m->flags = (uint32_t)get_u(&c, 127);
            m->time = get_i(&c);
            m->hosts = get_s(&c);
            a->nmxs++;
            if (c.bad || a->dcs[m->dc].dom != m->dom)
                goto out;
            uint32_t skey = rep__server_key(&a->str, a->vans[m->van].name, m->server, m->address);
            if (skey == UINT32_MAX ||
                mput(&a->mxmap, ((uint64_t)m->dom << 32) | skey, a->nmxs - 1) != 0)
                goto out;
        } else if (strcmp(t, "g") == 0) {
            if (REP_GROW(a, dels) != 0 || a->ndoms == 0 || a->ndcs == 0 || a->nvans == 0)
                goto out;
            struct rep_deleg *e = &a->dels[a->ndels];
            memset(e, 0, sizeof *e);
            e->dom = (uint32_t)get_u(&c, a->ndoms - 1);
            e->dc = (uint32_t)get_u(&c, a->ndcs - 1);
            e->van = (uint32_t)get_u(&c, a->nvans - 1);
            e->server = (uint32_t)get_u(&c, a->str.n - 1);
            e->address = (uint32_t)get_u(&c, a->str.n - 1);
            e->round = (uint32_t)get_u(&c, UINT32_MAX);
            e->time = get_i(&c);
            e->ttl = get_i(&c);
            e->status = (uint8_t)get_u(&c, OBS_STATUS_COUNT - 1);
            e->flags = (uint8_t)get_u(&c, REP_DELEG_ALL);
            e->old_ttl = get_i(&c);
            e->changed = get_i(&c);
            e->answer = get_s(&c);
            e->child = get_s(&c);
            e->lame = get_s(&c);
            a->ndels++; /* counted now so that the strings are freed on failure */
            if (c.bad || a->dcs[e->dc].dom != e->dom)
                goto out;
            uint32_t skey = rep__server_key(&a->str, a->vans[e->van].name, e->server, e->address);
            if (skey == UINT32_MAX ||
                mput(&a->delmap, ((uint64_t)e->dom << 32) | skey, a->ndels - 1) != 0)
                goto out;
        } else if (strcmp(t, "p") == 0) {
            if (REP_GROW(a, ser) != 0 || a->str.n == 0)
                goto out;
            ser = &a->ser[a->nser++];
            memset(ser, 0, sizeof *ser);
            ser->check = (uint32_t)get_u(&c, a->str.n - 1);
            ser->van = (uint32_t)get_u(&c, a->nvans ? a->nvans - 1 : 0);
            ser->k = (uint32_t)get_u(&c, UINT32_MAX);
            if (c.bad || ser->k == 0 || a->nvans == 0 ||
                mput(&a->sermap, ((uint64_t)ser->van << 32) | ser->check, a->nser - 1) != 0)
                goto out;
        } else if (strcmp(t, "q") == 0) {
            if (ser == NULL || ser->n == REP_SERIES_MAX)
                goto out;
            struct rep_point *p = &ser->pts[ser->n++];
            p->t = get_i(&c);
            p->round = (uint32_t)get_u(&c, UINT32_MAX);
            p->nrounds = (uint32_t)get_u(&c, UINT32_MAX);
            p->conv = get_u(&c, UINT64_MAX);
            p->servers = get_u(&c, UINT64_MAX);
        } else {
            goto out;
        }
        if (c.bad || c.i != c.r.n)
            goto out;
    }
    if (!seen_log)
        goto out;
    *out = a;
    a = NULL;
    rc = 0;
out:
    rep__agg_free(a);
    csvr_deinit(&c.r);
    free(buf);
    return rc;
}
