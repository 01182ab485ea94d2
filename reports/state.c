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
#include <stddef.h>
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

/* ---- the records: one table for writing and reading ----
 *
 * Every line of the file after the first is a record: its tag, then its
 * fields in the order of its table below. rep__state_save writes each field
 * from the table and rep__state_load reads each back by the same table, so a
 * field cannot be written and not read, or read in another place. What a
 * record needs besides its fields when it is read (its map entries, its
 * checks against the records before it) is its `link`.
 *
 * A field's kind follows from the member's type (FIELD_KIND), so a member
 * whose type changes cannot be written in the old way. Numbers are decimal,
 * -1 (none) is the empty field, booleans are yes/no. A number that indexes
 * another array (a string, a domain, ...) must be an index of it as read
 * so far: the records come in the order of the tables. The tables keep one
 * field a line (clang-format off), so that a field added is a line added. */

enum field_kind { FK_U8, FK_U32, FK_U64, FK_I64, FK_BOOL, FK_STR };

/* What bounds a whole number: `max`, or the count of the array it indexes. */
enum field_ref { FR_NONE, FR_STR, FR_DOM, FR_VAN, FR_DC, FR_DCV, FR_DCS };

struct field {
    const char *name; /* the member's, for the reader of this file */
    uint8_t kind;     /* enum field_kind */
    uint8_t ref;      /* enum field_ref */
    size_t off;       /* offsetof the member */
    uint64_t max;     /* FR_NONE numbers: the largest value read */
};

/* clang-format off */
#define FIELD_KIND(T, m)                                                                           \
    _Generic(((T *)0)->m, uint8_t: FK_U8, uint32_t: FK_U32, uint64_t: FK_U64, int64_t: FK_I64,    \
             bool: FK_BOOL, char *: FK_STR)
/* A field of struct T: a number up to max (U8, U32 and U64 members), a time
 * or other number of -1 or more (I64), a boolean or a string, all as the
 * member's type says; FI: a number that indexes the array `ref` counts. */
#define F(T, m, max)  {#m, FIELD_KIND(T, m), FR_NONE, offsetof(T, m), (max)}
#define FI(T, m, ref) {#m, FIELD_KIND(T, m), (ref), offsetof(T, m), 0}
/* clang-format on */
#define NFIELDS(t) (sizeof(t) / sizeof(t)[0])

/* clang-format off */
/* The log the state covers (the fingerprint, see log_fingerprint). */
struct state_log {
    uint64_t dev, ino, size;
    uint32_t lines;
    uint64_t hh, th; /* hashes of the header and of the tail */
};
static const struct field log_fields[] = {
    F(struct state_log, dev, UINT64_MAX),
    F(struct state_log, ino, UINT64_MAX),
    F(struct state_log, size, UINT64_MAX),
    F(struct state_log, lines, UINT32_MAX),
    F(struct state_log, hh, UINT64_MAX),
    F(struct state_log, th, UINT64_MAX),
};

/* The aggregates' own fields. */
static const struct field agg_fields[] = {
    F(struct rep_agg, last_round, UINT32_MAX),
    F(struct rep_agg, tl_valid, 0),
    F(struct rep_agg, tl_dev, UINT64_MAX),
    F(struct rep_agg, tl_ino, UINT64_MAX),
    F(struct rep_agg, tl_size, UINT64_MAX),
    F(struct rep_agg, tl_mtime_ns, UINT64_MAX),
};

static const struct field dom_fields[] = {
    FI(struct rep_dom, name, FR_STR),
    F(struct rep_dom, first_time, 0),
    F(struct rep_dom, last_time, 0),
};

static const struct field van_fields[] = {
    FI(struct rep_van, name, FR_STR),
    F(struct rep_van, finalized_round, UINT32_MAX),
};

static const struct field dc_fields[] = {
    FI(struct rep_dc, dom, FR_DOM),
    FI(struct rep_dc, check, FR_STR),
};

static const struct field dcv_fields[] = {
    FI(struct rep_dcv, dc, FR_DC),
    FI(struct rep_dcv, van, FR_VAN),
    F(struct rep_dcv, round, UINT32_MAX),
    F(struct rep_dcv, time, 0),
    F(struct rep_dcv, servers, UINT32_MAX),
    F(struct rep_dcv, conv, UINT32_MAX),
    F(struct rep_dcv, stale, UINT32_MAX),
    F(struct rep_dcv, errors, UINT32_MAX),
    F(struct rep_dcv, pending, UINT32_MAX),
    F(struct rep_dcv, auth_mismatch, 0),
    F(struct rep_dcv, auth_disagree, 0),
    F(struct rep_dcv, cur, UINT64_MAX),
    F(struct rep_dcv, cur_ttl, 0),
    F(struct rep_dcv, pre_ttl, 0),
    F(struct rep_dcv, change_time, 0),
    F(struct rep_dcv, old_ttl, 0),
    F(struct rep_dcv, deleg, REP_DELEG_ALL),
    F(struct rep_dcv, auth_seen, 0),
};

static const struct field dcs_fields[] = {
    FI(struct rep_dcs, dc, FR_DC),
    FI(struct rep_dcs, dcv, FR_DCV),
    FI(struct rep_dcs, server, FR_STR),
    FI(struct rep_dcs, address, FR_STR),
    F(struct rep_dcs, auth, 0),
    F(struct rep_dcs, state, REP_ERROR),
    F(struct rep_dcs, streak, 0),
    F(struct rep_dcs, overdue, 0),
    F(struct rep_dcs, unreachable, 0),
    F(struct rep_dcs, matching_since, 0),
    F(struct rep_dcs, first_match, 0),
    F(struct rep_dcs, last_mismatch, 0),
    F(struct rep_dcs, stale_exp, 0),
    F(struct rep_dcs, last_time, 0),
    F(struct rep_dcs, flaps, UINT32_MAX),
    F(struct rep_dcs, rounds, UINT32_MAX),
    F(struct rep_dcs, errors, UINT32_MAX),
    F(struct rep_dcs, last_round, UINT32_MAX),
    F(struct rep_dcs, nsites, UINT32_MAX),
    F(struct rep_dcs, answer, 0),
};

static const struct field site_fields[] = {
    FI(struct rep_site, dcs, FR_DCS),
    FI(struct rep_site, site, FR_STR),
    F(struct rep_site, answered, 0),
    F(struct rep_site, overdue, 0),
    F(struct rep_site, exp, 0),
    F(struct rep_site, promise, 0),
};

static const struct field mx_fields[] = {
    FI(struct rep_mx, dom, FR_DOM),
    FI(struct rep_mx, dc, FR_DC),
    FI(struct rep_mx, van, FR_VAN),
    FI(struct rep_mx, server, FR_STR),
    FI(struct rep_mx, address, FR_STR),
    F(struct rep_mx, auth, 0),
    F(struct rep_mx, failed, 0),
    F(struct rep_mx, round, UINT32_MAX),
    F(struct rep_mx, count, UINT32_MAX),
    F(struct rep_mx, flags, 127),
    F(struct rep_mx, time, 0),
    F(struct rep_mx, hosts, 0),
};

static const struct field deleg_fields[] = {
    FI(struct rep_deleg, dom, FR_DOM),
    FI(struct rep_deleg, dc, FR_DC),
    FI(struct rep_deleg, van, FR_VAN),
    FI(struct rep_deleg, server, FR_STR),
    FI(struct rep_deleg, address, FR_STR),
    F(struct rep_deleg, round, UINT32_MAX),
    F(struct rep_deleg, time, 0),
    F(struct rep_deleg, ttl, 0),
    F(struct rep_deleg, status, OBS_STATUS_COUNT - 1),
    F(struct rep_deleg, flags, REP_DELEG_ALL),
    F(struct rep_deleg, old_ttl, 0),
    F(struct rep_deleg, changed, 0),
    F(struct rep_deleg, answer, 0),
    F(struct rep_deleg, child, 0),
    F(struct rep_deleg, lame, 0),
};

/* A series; its points follow it, each a "q" record. */
static const struct field series_fields[] = {
    FI(struct rep_series, check, FR_STR),
    FI(struct rep_series, van, FR_VAN),
    F(struct rep_series, k, UINT32_MAX),
};

static const struct field point_fields[] = {
    F(struct rep_point, t, 0),
    F(struct rep_point, round, UINT32_MAX),
    F(struct rep_point, nrounds, UINT32_MAX),
    F(struct rep_point, conv, UINT64_MAX),
    F(struct rep_point, servers, UINT64_MAX),
};
/* clang-format on */

/* Reading only: what a record needs besides its fields once they are read
 * (e is a->ARRAY[i], already counted). 0, or non-zero for a damaged state. */
typedef int (*link_fn)(struct rep_agg *a, void *e, uint32_t i);

/* Adds key to a map being rebuilt from the state; a key seen twice means a
 * damaged state (DP_EFORMAT). */
static int mput(struct rep_map *m, uint64_t key, uint32_t val)
{
    if (rep__map_get(m, key) != UINT32_MAX)
        return DP_EFORMAT;
    return rep__map_put(m, key, val);
}

static int link_dom(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_dom *d = e;
    return mput(&a->dommap, d->name, i);
}

static int link_van(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_van *v = e;
    return mput(&a->vanmap, v->name, i);
}

static int link_dc(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_dc *d = e;
    return mput(&a->dcmap, ((uint64_t)d->dom << 32) | d->check, i);
}

static int link_dcv(struct rep_agg *a, void *e, uint32_t i)
{
    struct rep_dcv *d = e;
    d->t_yes_ttl = d->t_other_ttl = -1; /* of an open round: none is open */
    return mput(&a->dcvmap, ((uint64_t)d->dc << 32) | d->van, i);
}

static int link_dcs(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_dcs *d = e;
    if (a->dcvs[d->dcv].dc != d->dc)
        return DP_EFORMAT;
    uint32_t skey =
        rep__server_key(&a->str, a->vans[a->dcvs[d->dcv].van].name, d->server, d->address);
    if (skey == UINT32_MAX)
        return DP_ENOMEM;
    return mput(&a->dcsmap, ((uint64_t)d->dc << 32) | skey, i);
}

static int link_site(struct rep_agg *a, void *e, uint32_t i)
{
    struct rep_site *x = e;
    int rc = mput(&a->sitemap, ((uint64_t)x->dcs << 32) | x->site, i);
    if (rc != 0)
        return rc;
    /* the dcs's list of sites, newest first, as agg.c keeps it */
    x->next = a->dcss[x->dcs].site_head;
    a->dcss[x->dcs].site_head = i + 1;
    return 0;
}

/* An MX verdict's or a referral's entry in its map, by domain and server;
 * its dc must be of its domain. */
static int link_by_server(struct rep_agg *a, struct rep_map *m, uint32_t dom, uint32_t dc,
                          uint32_t van, uint32_t server, uint32_t address, uint32_t i)
{
    if (a->dcs[dc].dom != dom)
        return DP_EFORMAT;
    uint32_t skey = rep__server_key(&a->str, a->vans[van].name, server, address);
    if (skey == UINT32_MAX)
        return DP_ENOMEM;
    return mput(m, ((uint64_t)dom << 32) | skey, i);
}

static int link_mx(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_mx *m = e;
    return link_by_server(a, &a->mxmap, m->dom, m->dc, m->van, m->server, m->address, i);
}

static int link_deleg(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_deleg *g = e;
    return link_by_server(a, &a->delmap, g->dom, g->dc, g->van, g->server, g->address, i);
}

static int link_series(struct rep_agg *a, void *e, uint32_t i)
{
    const struct rep_series *s = e;
    if (s->k == 0)
        return DP_EFORMAT;
    return mput(&a->sermap, ((uint64_t)s->van << 32) | s->check, i);
}

/* One array of the aggregates (a->ARR, a->nARR, a->capARR), its record. */
struct record {
    const char *tag;
    const struct field *fields;
    size_t nfields;
    size_t size;            /* of one element */
    size_t arr, count, cap; /* offsetof the three in struct rep_agg */
    link_fn link;
};

#define RECORD(tag, ARR, fields, link)                                                             \
    {                                                                                              \
        (tag), (fields), NFIELDS(fields), sizeof *((struct rep_agg *)0)->ARR,                      \
            offsetof(struct rep_agg, ARR), offsetof(struct rep_agg, n##ARR),                       \
            offsetof(struct rep_agg, cap##ARR), (link)                                             \
    }

/* In the order they are written: each indexes only those before it. */
/* clang-format off */
static const struct record records[] = {
    RECORD("d", doms, dom_fields, link_dom),
    RECORD("u", vans, van_fields, link_van),
    RECORD("c", dcs, dc_fields, link_dc),
    RECORD("w", dcvs, dcv_fields, link_dcv),
    RECORD("v", dcss, dcs_fields, link_dcs),
    RECORD("x", sites, site_fields, link_site),
    RECORD("m", mxs, mx_fields, link_mx),
    RECORD("g", dels, deleg_fields, link_deleg),
    RECORD("p", ser, series_fields, link_series), /* then its points, POINT_TAG */
};
/* clang-format on */
/* the series' record: its points follow each of its lines */
#define SERIES_RECORD (&records[NFIELDS(records) - 1])
#define POINT_TAG     "q"

/* a->ARR and a->nARR of r, to read */
static const char *rec_elems(const struct record *r, const struct rep_agg *a)
{
    return *(void *const *)(const void *)((const char *)a + r->arr);
}

static uint32_t rec_n(const struct record *r, const struct rep_agg *a)
{
    return *(const uint32_t *)(const void *)((const char *)a + r->count);
}

/* ---- writing ---- */

/* One record: tag, then each field of the table from the struct at base. */
static void put_record(struct csvw *w, const char *tag, const struct field *f, size_t n,
                       const void *base)
{
    csvw_str(w, tag);
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)base + f[i].off;
        switch ((enum field_kind)f[i].kind) {
        case FK_U8:
            csvw_uint(w, *(const uint8_t *)p);
            break;
        case FK_U32:
            csvw_uint(w, *(const uint32_t *)(const void *)p);
            break;
        case FK_U64:
            csvw_uint(w, *(const uint64_t *)(const void *)p);
            break;
        case FK_I64:
            csvw_opt(w, *(const int64_t *)(const void *)p); /* -1 (none): empty */
            break;
        case FK_BOOL:
            csvw_bool(w, *(const bool *)p);
            break;
        case FK_STR:
            csvw_str(w, *(char *const *)(const void *)p);
            break;
        }
    }
    csvw_end(w);
}

int rep__state_save(const struct obslog *l, const struct rep_agg *a, char *err, size_t errlen)
{
    struct csvw w;
    struct state_log lg = {
        .dev = (uint64_t)l->dev, .ino = (uint64_t)l->ino, .size = l->size, .lines = l->lines};
    int rc = log_fingerprint(l, l->size, &lg.hh, &lg.th);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot read back the log", l->path);
        return rc;
    }
    csvw_init(&w);
    if ((rc = rep__csvw_to_file(&w, &l->dd, STATE_NAME, true, err, errlen)) != 0) {
        csvw_deinit(&w);
        return rc;
    }
    csvw_str(&w, "dnsprop-state");
    csvw_str(&w, STATE_VERSION);
    csvw_end(&w);
    put_record(&w, "log", log_fields, NFIELDS(log_fields), &lg);
    put_record(&w, "agg", agg_fields, NFIELDS(agg_fields), a);
    for (uint32_t i = 0; i < a->str.n; i++) {
        csvw_str(&w, "s");
        csvw_str(&w, a->str.s[i]);
        csvw_end(&w);
    }
    for (size_t k = 0; k < NFIELDS(records); k++) {
        const struct record *r = &records[k];
        const char *arr = rec_elems(r, a);
        uint32_t n = rec_n(r, a);
        for (uint32_t i = 0; i < n; i++) {
            put_record(&w, r->tag, r->fields, r->nfields, arr + (size_t)i * r->size);
            if (r != SERIES_RECORD)
                continue;
            const struct rep_series *s = &a->ser[i];
            for (uint32_t j = 0; j < s->n; j++)
                put_record(&w, POINT_TAG, point_fields, NFIELDS(point_fields), &s->pts[j]);
        }
    }
    rep__csvw_seal(&w, rep__csvw_hash(&w));
    rc = rep__csvw_replace(&l->dd, STATE_NAME, &w, err, errlen);
    csvw_deinit(&w);
    return rc;
}

/* ---- reading ---- */

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

/* The count of the array a field of kind ref indexes. */
static uint32_t ref_count(const struct rep_agg *a, enum field_ref ref)
{
    switch (ref) {
    case FR_STR:
        return a->str.n;
    case FR_DOM:
        return a->ndoms;
    case FR_VAN:
        return a->nvans;
    case FR_DC:
        return a->ndcs;
    case FR_DCV:
        return a->ndcvs;
    case FR_DCS:
        return a->ndcss;
    case FR_NONE:
        break;
    }
    return 0;
}

/* The fields of one record, by its table, into the struct at base; c->bad
 * when one is missing or out of its bounds. */
static void get_record(struct cur *c, const struct rep_agg *a, const struct field *f, size_t n,
                       void *base)
{
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)base + f[i].off;
        uint64_t max = f[i].max;
        if (f[i].ref != FR_NONE) {
            uint32_t count = ref_count(a, (enum field_ref)f[i].ref);
            if (count == 0)
                c->bad = true; /* nothing to index yet */
            max = count ? count - 1 : 0;
        }
        switch ((enum field_kind)f[i].kind) {
        case FK_U8:
            *(uint8_t *)p = (uint8_t)get_u(c, max);
            break;
        case FK_U32:
            *(uint32_t *)(void *)p = (uint32_t)get_u(c, max);
            break;
        case FK_U64:
            *(uint64_t *)(void *)p = get_u(c, max);
            break;
        case FK_I64:
            *(int64_t *)(void *)p = get_i(c);
            break;
        case FK_BOOL:
            *(bool *)p = get_b(c);
            break;
        case FK_STR:
            *(char **)(void *)p = get_s(c);
            break;
        }
    }
}

/* One record of an array: a new element, zeroed, its fields, counted (so
 * that its strings are freed with a on failure), then its link. */
static int get_array_record(struct cur *c, struct rep_agg *a, const struct record *r, void **elem)
{
    void **arr = (void **)(void *)((char *)a + r->arr);
    uint32_t *n = (uint32_t *)(void *)((char *)a + r->count);
    uint32_t *cap = (uint32_t *)(void *)((char *)a + r->cap);
    if (rep__grow(arr, cap, *n, r->size) != 0)
        return DP_ENOMEM;
    char *e = (char *)*arr + (size_t)*n * r->size;
    memset(e, 0, r->size);
    get_record(c, a, r->fields, r->nfields, e);
    uint32_t i = (*n)++;
    *elem = e;
    if (c->bad)
        return DP_EFORMAT;
    return r->link(a, e, i);
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
        const struct record *r = NULL;
        for (size_t k = 0; k < NFIELDS(records) && r == NULL; k++)
            if (strcmp(t, records[k].tag) == 0)
                r = &records[k];
        if (r != NULL) {
            void *e;
            if (get_array_record(&c, a, r, &e) != 0)
                goto out;
            if (r == SERIES_RECORD)
                ser = e;
        } else if (strcmp(t, POINT_TAG) == 0) {
            if (ser == NULL || ser->n == REP_SERIES_MAX || rep__series_room(ser) != 0)
                goto out;
            get_record(&c, a, point_fields, NFIELDS(point_fields), &ser->pts[ser->n++]);
        } else if (strcmp(t, "dnsprop-state") == 0) {
            if (c.r.n != 2 || strcmp(c.r.f[1], STATE_VERSION) != 0)
                goto out;
            continue;
        } else if (strcmp(t, "log") == 0) {
            struct state_log lg;
            uint64_t h2, t2;
            struct stat st;
            get_record(&c, a, log_fields, NFIELDS(log_fields), &lg);
            if (c.bad || lg.dev != (uint64_t)l->dev || lg.ino != (uint64_t)l->ino ||
                fstat(l->fd, &st) != 0 || lg.size > (uint64_t)st.st_size ||
                lg.size < l->header_len || log_fingerprint(l, lg.size, &h2, &t2) != 0 ||
                h2 != lg.hh || t2 != lg.th)
                goto out;
            *covered = lg.size;
            *lines = lg.lines;
            seen_log = true;
        } else if (strcmp(t, "agg") == 0) {
            get_record(&c, a, agg_fields, NFIELDS(agg_fields), a);
        } else if (strcmp(t, "s") == 0) {
            if (c.r.n != 2 || rep__str(&a->str, c.r.f[1], c.r.len[1]) != a->str.n - 1)
                goto out; /* a duplicate string, or no memory */
            c.i = 2;
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
