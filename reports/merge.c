/*
 * dnsprop merge: appends the rows of other data folders' logs (other
 * vantages) that this folder's log does not hold yet (PRODUCT.md section 11).
 *
 * What "holds" means. A row is known by every column but `round` (and the
 * site and ede a log of the older form cannot hold): round numbers belong to
 * a data folder (each host counts its own from 1), so a
 * merged folder numbers what it appends itself. Each run of a source's rows
 * with one vantage and one round (a "group": one round of one host) becomes
 * one new round here, in the order of the groups' first times across the
 * sources (ties: the sources' order on the command line), so the log stays in
 * round order for obslog_append and for the reports, and its rounds in time
 * order. Rows keep their own vantage and time.
 *
 * The rows of one vantage in this log are therefore always a copy of the
 * first rows of that vantage in the one source that holds them all. Merging
 * compares sequences per vantage: a source's rows of vantage V must begin
 * with the rows this log holds of V (then its further rows are new), or be a
 * beginning of them (nothing new); anything else means two hosts wrote under
 * one vantage name (or this folder's own runs use it), and the merge is
 * refused naming both places. Two sources that extend V in this run must
 * agree in the same way.
 *
 * One pass over the sources: each row is read and checked once, written in
 * batches with its round replaced, and fed to the log's aggregates as it
 * will read back (rep__append_fed). All or nothing: when a source turns out
 * damaged (refused with its path:line) or conflicting, or a write fails,
 * the log is cut back to where the merge began, so nothing is appended from
 * any source; the aggregates are then thrown away with the open log (no
 * refresh, .state untouched). A crash in between leaves a part of the new
 * rows, which the next merge recognises as held and completes.
 *
 * DIR/.merge remembers per source how far it was merged (the byte offset,
 * with the hash of its header and of the 4 KiB before the offset, as .state
 * does for the log) and which source each vantage came from. When it still
 * matches (the log and every known source only grew, each source adds rows
 * only to vantages it alone brought), only the rows after the offsets are
 * read. Anything else, and the merge compares everything (the same result,
 * only slower). The file is a cache, never the truth.
 */
#include "feed.h"
#include "internal.h"
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_NAME       "observations.csv"
#define LEDGER_NAME    ".merge"
#define LEDGER_VERSION "1"
#define TAIL_BYTES     4096
#define READ_CHUNK     (64u << 10) /* per source, grown for longer lines: many sources stay cheap */
#define MAX_LINE       (16u << 20)
#define NO_OWNER       UINT32_MAX

/* ---- one source log, read row by row ---- */

struct src {
    char *dir;  /* owned: the folder as given */
    char *id;   /* owned: its real path (the ledger's key) */
    char *path; /* owned: DIR/observations.csv */
    int fd;
    uint64_t header_len;
    uint64_t from; /* where pass 1 starts (after the header, or the ledger's offset) */
    unsigned from_line;
    uint64_t end; /* after pass 1: the offset after its last complete row */
    unsigned end_line;
    /* the reader */
    char *buf;
    size_t cap, have, start;
    uint64_t pos;   /* file offset of buf[0] */
    uint64_t limit; /* read no further (pass 2: end) */
    unsigned line;  /* line number of the row last returned */
    uint32_t rnd;   /* its round: rounds never go back in a log */
    struct csvr rd;
    unsigned ncols;  /* the log's form: OBS_NCOLUMNS or OBS_NCOLUMNS_V1 */
    struct obs row;  /* the row last returned (borrowed from rd) */
    const char *raw; /* its line, without the LF (in buf) */
    size_t rawlen;
    bool light;        /* pass 2: light_fields when the line allows */
    bool lite;         /* the last row was read so (row holds time, vantage, round only) */
    char vbuf[256];    /* its vantage */
    char vlast[256];   /* the vantage of the row before, and its id: rows of one */
    uint32_t vlast_id; /* vantage come in runs, so most rows need no lookup */
    size_t f2, f2end;  /* where its round is in raw */
    bool have_row;
    uint32_t *cnt; /* owned: rows seen per vantage id */
    uint32_t ncnt;
    char *hbuf; /* owned: row_hash's scratch */
    size_t hcap;
};

static void src_free(struct src *s)
{
    if (s->fd >= 0)
        close(s->fd);
    csvr_deinit(&s->rd);
    free(s->buf);
    free(s->dir);
    free(s->id);
    free(s->path);
    free(s->cnt);
    free(s->hbuf);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Opens a source log read-only: a symlink is followed only to a regular
 * file (O_NONBLOCK: a FIFO planted there cannot hang the merge). */
static int src_open(struct src *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    csvr_init(&s->rd);
    s->dir = strdup(dir);
    s->path = join(dir, LOG_NAME);
    s->id = realpath(dir, NULL);
    if (s->dir == NULL || s->path == NULL) {
        return DP_ENOMEM;
    }
    if (s->id == NULL) {
        dp_errf(err, errlen, "%s: %s", dir, strerror(errno));
        return DP_EINPUT;
    }
    s->fd = datadir_open_read(s->path, err, errlen);
    if (s->fd < 0) {
        int rc = s->fd;
        s->fd = -1;
        return rc == DP_ENOMEM ? rc : rc == DP_EUNSAFE ? rc : DP_EINPUT;
    }
    unsigned ncols = 0;
    uint64_t header_len = 0;
    int rc = rep__header_read(s->fd, s->path, s->path, &ncols, &header_len, err, errlen);
    if (rc != 0)
        return rc;
    s->ncols = ncols;
    s->header_len = header_len;
    s->from = s->header_len;
    s->from_line = 2;
    s->cap = READ_CHUNK;
    s->buf = malloc(s->cap);
    return s->buf == NULL ? DP_ENOMEM : 0;
}

static void src_seek(struct src *s, uint64_t off, unsigned line, uint64_t limit)
{
    s->pos = off;
    s->have = s->start = 0;
    s->line = line - 1;
    s->limit = limit;
    s->rnd = 0;
    s->have_row = false;
}

/* Pass 2 reads rows it has read and checked before: only time, vantage and
 * round are needed, and for a plain line (no quotes in them) they are taken
 * from its first three fields without splitting the rest. Fills s->row's
 * time, vantage (into s->vbuf), round, and s->f2/s->f2end (where the round
 * is in the line). false: the line needs the full parse. */
static bool light_fields(struct src *s, const char *line, size_t len)
{
    const char *e = line + len;
    const char *c1 = memchr(line, ',', len);
    if (c1 == NULL || c1 + 1 >= e || c1[1] == '"' || c1[1] == '\'')
        return false;
    const char *c2 = memchr(c1 + 1, ',', (size_t)(e - c1 - 1));
    if (c2 == NULL)
        return false;
    const char *c3 = memchr(c2 + 1, ',', (size_t)(e - c2 - 1));
    size_t vl = (size_t)(c2 - c1 - 1);
    if (c3 == NULL || vl == 0 || vl >= sizeof s->vbuf)
        return false;
    uint64_t r = 0;
    for (const char *p = c2 + 1; p < c3; p++) {
        if (*p < '0' || *p > '9' || r > UINT32_MAX / 10)
            return false;
        r = r * 10 + (uint64_t)(*p - '0');
    }
    if (r == 0 || r > UINT32_MAX || dp_parse_time_exact(line, (size_t)(c1 - line), &s->row.time))
        return false;
    memcpy(s->vbuf, c1 + 1, vl);
    s->vbuf[vl] = '\0';
    s->row.vantage = s->vbuf;
    s->row.round = (uint32_t)r;
    s->f2 = (size_t)(c2 + 1 - line);
    s->f2end = (size_t)(c3 - line);
    return true;
}

/* The next row: 1 (s->row, s->line, s->raw), 0 at the end (a torn last
 * line is left out: *torn), or an error with why. With s->light, s->lite
 * says whether only light_fields were read. */
static int src_next(struct src *s, bool *torn, char *why, size_t whylen)
{
    for (;;) {
        char *nl = memchr(s->buf + s->start, '\n', s->have - s->start);
        if (nl != NULL) {
            size_t len = (size_t)(nl - (s->buf + s->start));
            const char *line = s->buf + s->start;
            s->line++;
            s->start += len + 1;
            s->raw = line;
            s->rawlen = len;
            s->lite = s->light && light_fields(s, line, len);
            int rc = s->lite
                         ? 0
                         : obs_parse_line_cols(&s->rd, line, len, s->ncols, &s->row, why, whylen);
            if (rc != 0)
                return rc;
            if (s->row.round < s->rnd) {
                dp_errf(why, whylen, "round %u after round %u", (unsigned)s->row.round,
                        (unsigned)s->rnd);
                return DP_EINPUT;
            }
            s->rnd = s->row.round;
            s->have_row = true;
            return 1;
        }
        /* keep the partial line, read more */
        if (s->start > 0) {
            memmove(s->buf, s->buf + s->start, s->have - s->start);
            s->have -= s->start;
            s->pos += s->start;
            s->start = 0;
        }
        if (s->have == s->cap) {
            if (s->cap >= MAX_LINE) {
                dp_errf(why, whylen, "line longer than %u bytes", MAX_LINE);
                return DP_EINPUT;
            }
            char *b = realloc(s->buf, s->cap * 2);
            if (b == NULL)
                return DP_ENOMEM;
            s->buf = b;
            s->cap *= 2;
        }
        uint64_t at = s->pos + s->have;
        size_t want = s->cap - s->have;
        if (at >= s->limit)
            want = 0;
        else if (s->limit - at < want)
            want = (size_t)(s->limit - at);
        ssize_t got = want ? pread(s->fd, s->buf + s->have, want, (off_t)at) : 0;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            dp_errf(why, whylen, "read failed: %s", strerror(errno));
            return DP_EIO;
        }
        if (got == 0) {
            if (torn != NULL)
                *torn = s->have > 0;
            s->have_row = false;
            return 0;
        }
        s->have += (size_t)got;
    }
}

/* Offset just after the row last returned. */
static uint64_t src_offset(const struct src *s)
{
    return s->pos + s->start;
}

/* ---- the merge ---- */

/* A sequence of row fingerprints, with where each row is. */
struct seq {
    uint64_t *h;
    uint32_t *line; /* dir only: the line of each row in this log */
    uint32_t *src;  /* ext only: the source index of each row */
    uint32_t n, cap;
};

struct van {
    struct seq dir; /* full mode: this log's rows of the vantage */
    struct seq ext; /* the rows new to this log, in order */
    uint32_t owner; /* ledger: the source index (in sources[]) that brought it, or NO_OWNER */
    bool known;     /* the ledger or this log names it */
};

struct ledger_src {
    char *id;
    uint64_t size, hh, th;
    unsigned lines;
};

/* The log's new lines go out in chunks, appended (and fsynced) by a writer
 * thread while the reader goes on with the next chunk: the disk's time
 * overlaps the reading instead of adding to it. */
#define OUT_CHUNKS 2
#define OUT_CHUNK  (8u << 20)

struct chunk {
    struct csvw w;
    unsigned lines;
    uint32_t last; /* the highest round in it */
};

struct writer {
    struct obslog *l; /* borrowed: its fd, size, lines and last_round are the
                       * writer's while the ring runs */
    struct chunk c[OUT_CHUNKS];
    struct rep_ring ring; /* its slots: c */
    bool running;
    char err[600]; /* the writer's error (read after the join) */
};

struct merge {
    struct obslog *l;
    struct src *srcs;
    size_t nsrc;
    struct dp_strtab vt; /* vantage names -> ids */
    struct van *vans;
    uint32_t nvans, capvans;
    bool incremental;
    /* the old ledger */
    bool ledger_ok;
    uint64_t l_dev, l_ino, l_size, l_th;
    struct ledger_src *lsrc;
    size_t nlsrc;
    struct merge_stats *st;
    struct rep_feed *feed; /* owned while stream runs: the aggregates' feeder */
    struct writer out;     /* while stream runs: the log's writer */
};

/* Appends a fingerprint: with its line (this log's rows, for messages) or
 * with its source index (rows new to this log: the message names the
 * source, and memory stays at 12 bytes a row). */
static int seq_push(struct seq *q, uint64_t h, uint32_t line, uint32_t src, bool with_src)
{
    if (q->n == q->cap) {
        uint32_t c = q->cap ? q->cap * 2 : 64;
        uint64_t *hh = realloc(q->h, c * sizeof *hh);
        if (hh == NULL)
            return DP_ENOMEM;
        q->h = hh;
        uint32_t **extra = with_src ? &q->src : &q->line;
        uint32_t *ee = realloc(*extra, c * sizeof *ee);
        if (ee == NULL)
            return DP_ENOMEM;
        *extra = ee;
        q->cap = c;
    }
    q->h[q->n] = h;
    if (with_src)
        q->src[q->n] = src;
    else
        q->line[q->n] = line;
    q->n++;
    return 0;
}

static void seq_free(struct seq *q)
{
    free(q->h);
    free(q->line);
    free(q->src);
    memset(q, 0, sizeof *q);
}

/* The id of a vantage name (growing every source's per-vantage arrays). */
static int van_id(struct merge *m, const char *name, uint32_t *out)
{
    uint32_t id = rep__str(&m->vt, name, strlen(name));
    if (id == UINT32_MAX)
        return DP_ENOMEM;
    if (id >= m->nvans) {
        if (REP_GROW(m, vans) != 0)
            return DP_ENOMEM;
        memset(&m->vans[m->nvans], 0, sizeof m->vans[m->nvans]);
        m->vans[m->nvans].owner = NO_OWNER;
        m->nvans++;
    }
    for (size_t i = 0; i < m->nsrc; i++) {
        struct src *s = &m->srcs[i];
        if (id < s->ncnt)
            continue;
        uint32_t n = s->ncnt ? s->ncnt : 16;
        while (n <= id)
            n *= 2;
        uint32_t *c = realloc(s->cnt, n * sizeof *c);
        if (c == NULL)
            return DP_ENOMEM;
        s->cnt = c;
        for (uint32_t k = s->ncnt; k < n; k++)
            s->cnt[k] = 0;
        s->ncnt = n;
    }
    *out = id;
    return 0;
}

/* van_id for the row last read from s, remembering the last one. */
static int src_van(struct merge *m, struct src *s, uint32_t *out)
{
    const char *v = s->row.vantage;
    /* vlast_id < nvans holds whenever vlast is set: said again for the
     * analyzer, which cannot tell that vlast starts empty */
    if (s->vlast[0] != '\0' && s->vlast_id < m->nvans && strcmp(s->vlast, v) == 0) {
        *out = s->vlast_id;
        return 0;
    }
    int rc = van_id(m, v, out);
    if (rc == 0 && strlen(v) < sizeof s->vlast) {
        memcpy(s->vlast, v, strlen(v) + 1);
        s->vlast_id = *out;
    }
    return rc;
}

/* The fingerprint of a row's fields, 8 bytes at a step (rep__hash takes a
 * byte at a time, and merge hashes every byte of every row it judges). Kept
 * in memory only, for this run: nothing is written with it. */
static uint64_t rotl64(uint64_t v, unsigned k)
{
    return (v << k) | (v >> (64 - k));
}

static uint64_t row_mix(uint64_t h, const char *p, size_t n)
{
    /* two lanes of 8 bytes; each step x -> rotl(x ^ w, r) * k is one to one,
     * so a word cannot cancel what came before it, and the end mixes every
     * bit into every other (fmix64) */
    const uint64_t k1 = 0x9e3779b97f4a7c15u, k2 = 0xc2b2ae3d27d4eb4fu;
    uint64_t w, v, g = h ^ k2;
    h ^= (uint64_t)n * k1;
    for (; n >= 16; p += 16, n -= 16) {
        memcpy(&w, p, 8);
        memcpy(&v, p + 8, 8);
        h = rotl64(h ^ w, 29) * k1;
        g = rotl64(g ^ v, 31) * k2;
    }
    w = v = 0;
    memcpy(&w, p, n < 8 ? n : 8);
    if (n > 8)
        memcpy(&v, p + 8, n - 8);
    h = rotl64(h ^ w, 29) * k1;
    g = rotl64(g ^ v, 31) * k2;
    h ^= rotl64(g, 32);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 33);
}

/* What identifies a row: every column but round, site and ede, as read
 * (unquoted) from its line. site and ede are left out because a log of the
 * older form (17 columns) cannot hold them: a row copied into such a log and
 * the same row in a current one are one observation. s->rd holds the fields
 * of the row s->row was parsed from. */
static int span_hash(struct src *s, size_t a, size_t b, bool flat, uint64_t *h)
{
    const struct csvr *r = &s->rd;
    size_t k = a + 1;
    while (!flat && k < b && r->f[k - 1] + r->len[k - 1] + 1 == r->f[k])
        k++;
    if (flat || k == b) { /* end to end in csvr's buffer, as it mostly is */
        *h = row_mix(*h, r->f[a], (size_t)(r->f[b - 1] + r->len[b - 1] + 1 - r->f[a]));
        return 0;
    }
    size_t need = 0;
    for (k = a; k < b; k++)
        need += r->len[k] + 1;
    if (need > s->hcap) {
        char *nb = realloc(s->hbuf, need);
        if (nb == NULL)
            return DP_ENOMEM;
        s->hbuf = nb;
        s->hcap = need;
    }
    size_t at = 0;
    for (k = a; k < b; k++) {
        memcpy(s->hbuf + at, r->f[k], r->len[k]);
        at += r->len[k];
        s->hbuf[at++] = '\0';
    }
    *h = row_mix(*h, s->hbuf, at);
    return 0;
}

static int row_hash(struct src *s, uint64_t *out)
{
    /* the fields as values, each ended by a NUL byte (no field holds one):
     * csvr_split leaves them so in its buffer unless a field lost a
     * leading ' there, when they are copied end to end first */
    size_t n = s->rd.n < OBS_NCOLUMNS_V1 ? s->rd.n : OBS_NCOLUMNS_V1;
    uint64_t h = REP__HASH_INIT;
    /* without a ' anywhere in the line no field lost one: no need to look */
    bool flat = memchr(s->raw, '\'', s->rawlen) == NULL;
    int rc = span_hash(s, 0, n < 2 ? n : 2, flat, &h);
    if (rc == 0 && n > 3)
        rc = span_hash(s, 3, n, flat, &h);
    *out = h;
    return rc;
}

/* Hash of the header and of the TAIL_BYTES before `covered` of fd. */
static int fingerprint(int fd, uint64_t header_len, uint64_t covered, uint64_t *hh, uint64_t *th)
{
    char buf[TAIL_BYTES];
    char h[4096];
    uint64_t from = covered > TAIL_BYTES ? covered - TAIL_BYTES : 0;
    if (from < header_len)
        from = header_len;
    size_t n = covered > from ? (size_t)(covered - from) : 0;
    if (header_len > sizeof h || pread(fd, h, (size_t)header_len, 0) != (ssize_t)header_len)
        return DP_EIO;
    *hh = rep__hash(REP__HASH_INIT, h, (size_t)header_len);
    if (n > 0 && pread(fd, buf, n, (off_t)from) != (ssize_t)n)
        return DP_EIO;
    *th = rep__hash(REP__HASH_INIT, buf, n);
    return 0;
}

/* ---- the ledger (DIR/.merge) ---- */

static void put_hex(struct csvw *w, const char *s)
{
    static const char hx[] = "0123456789abcdef";
    size_t n = strlen(s);
    char *b = malloc(2 * n + 1);
    if (b == NULL) {
        w->err = DP_ENOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        b[2 * i] = hx[(unsigned char)s[i] >> 4];
        b[2 * i + 1] = hx[(unsigned char)s[i] & 15];
    }
    csvw_field(w, b, 2 * n);
    free(b);
}

static char *get_hex(const char *s, size_t len)
{
    if (len % 2 != 0)
        return NULL;
    char *b = malloc(len / 2 + 1);
    if (b == NULL)
        return NULL;
    for (size_t i = 0; i < len; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[i + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) {
                free(b);
                return NULL;
            }
            v = v * 16 + d;
        }
        if (v == 0) {
            free(b);
            return NULL;
        }
        b[i / 2] = (char)v;
    }
    b[len / 2] = '\0';
    return b;
}

static bool get_u64(const char *s, size_t len, uint64_t *out)
{
    char tmp[24];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return dp_parse_uint(tmp, 0, UINT64_MAX, out) == 0;
}

static void ledger_free(struct merge *m)
{
    for (size_t i = 0; i < m->nlsrc; i++)
        free(m->lsrc[i].id);
    free(m->lsrc);
    m->lsrc = NULL;
    m->nlsrc = 0;
}

/* Loads DIR/.merge; anything odd leaves m->ledger_ok false (a full merge).
 * Vantage owners are kept as ledger source indexes in m->vans[].owner for
 * now; merge_plan maps them to this run's sources. */
static void ledger_load(struct merge *m)
{
    char derr[256];
    int lfd = datadir_openat_file(&m->l->dd, LEDGER_NAME, O_RDONLY, derr, sizeof derr);
    FILE *f = lfd >= 0 ? fdopen(lfd, "rb") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned n = 0;
    bool ok = false, ended = false;
    uint64_t h = REP__HASH_INIT;
    struct csvr r;
    csvr_init(&r);
    if (f == NULL) {
        if (lfd >= 0)
            close(lfd);
        goto out;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n' || ended)
            goto out;
        const char *why;
        int nf = csvr_split(&r, line, (size_t)len - 1, &why);
        if (nf < 1)
            goto out;
        const char *t = r.f[0];
        uint64_t a, b, c, d, e;
        if (n == 0) {
            if (nf != 2 || strcmp(t, "dnsprop-merge") != 0 || strcmp(r.f[1], LEDGER_VERSION) != 0)
                goto out;
        } else if (strcmp(t, "dir") == 0 && nf == 5) {
            if (!get_u64(r.f[1], r.len[1], &a) || !get_u64(r.f[2], r.len[2], &b) ||
                !get_u64(r.f[3], r.len[3], &c) || !get_u64(r.f[4], r.len[4], &d))
                goto out;
            m->l_dev = a;
            m->l_ino = b;
            m->l_size = c;
            m->l_th = d;
        } else if (strcmp(t, "src") == 0 && nf == 6) {
            char *id = get_hex(r.f[1], r.len[1]);
            if (id == NULL || !get_u64(r.f[2], r.len[2], &a) || !get_u64(r.f[3], r.len[3], &b) ||
                !get_u64(r.f[4], r.len[4], &c) || !get_u64(r.f[5], r.len[5], &d) || b > UINT_MAX) {
                free(id);
                goto out;
            }
            struct ledger_src *ns = realloc(m->lsrc, (m->nlsrc + 1) * sizeof *ns);
            if (ns == NULL) {
                free(id);
                goto out;
            }
            m->lsrc = ns;
            ns[m->nlsrc++] = (struct ledger_src){id, a, c, d, (unsigned)b};
        } else if (strcmp(t, "van") == 0 && nf == 3) {
            char *name = get_hex(r.f[1], r.len[1]);
            uint32_t id;
            bool own = strcmp(r.f[2], "-") == 0;
            if (name == NULL || (!own && (!get_u64(r.f[2], r.len[2], &e) || e >= m->nlsrc)) ||
                van_id(m, name, &id) != 0) {
                free(name);
                goto out;
            }
            free(name);
            m->vans[id].known = true;
            m->vans[id].owner = own ? NO_OWNER : (uint32_t)e;
        } else if (strcmp(t, "end") == 0 && nf == 2) {
            if (!get_u64(r.f[1], r.len[1], &a) || a != h)
                goto out;
            ended = true;
            continue;
        } else {
            goto out;
        }
        h = rep__hash(h, line, (size_t)len);
        n++;
    }
    ok = ended;
out:
    if (f != NULL)
        fclose(f);
    free(line);
    csvr_deinit(&r);
    m->ledger_ok = ok;
    if (!ok) {
        ledger_free(m);
        for (uint32_t i = 0; i < m->nvans; i++) {
            m->vans[i].known = false;
            m->vans[i].owner = NO_OWNER;
        }
    }
}

static int ledger_save(struct merge *m, char *err, size_t errlen)
{
    struct obslog *l = m->l;
    struct csvw w;
    struct stat st;
    uint64_t hh, th;
    int rc;
    if (fstat(l->fd, &st) != 0)
        return DP_EIO;
    if ((rc = fingerprint(l->fd, l->header_len, (uint64_t)st.st_size, &hh, &th)) != 0)
        return rc;
    csvw_init(&w);
    csvw_str(&w, "dnsprop-merge");
    csvw_str(&w, LEDGER_VERSION);
    csvw_end(&w);
    csvw_str(&w, "dir");
    csvw_uint(&w, (uint64_t)st.st_dev);
    csvw_uint(&w, (uint64_t)st.st_ino);
    csvw_uint(&w, (uint64_t)st.st_size);
    csvw_uint(&w, th);
    csvw_end(&w);
    for (size_t i = 0; i < m->nsrc; i++) {
        struct src *s = &m->srcs[i];
        if ((rc = fingerprint(s->fd, s->header_len, s->end, &hh, &th)) != 0)
            goto out;
        csvw_str(&w, "src");
        put_hex(&w, s->id);
        csvw_uint(&w, s->end);
        csvw_uint(&w, s->end_line);
        csvw_uint(&w, hh);
        csvw_uint(&w, th);
        csvw_end(&w);
    }
    for (uint32_t v = 0; v < m->nvans; v++) {
        if (!m->vans[v].known)
            continue;
        csvw_str(&w, "van");
        put_hex(&w, m->vt.s[v]);
        if (m->vans[v].owner >= m->nsrc)
            csvw_str(&w, "-"); /* this folder's own, or of a source not given this time */
        else
            csvw_uint(&w, m->vans[v].owner);
        csvw_end(&w);
    }
    /* the lines end in CRLF: the hash covers them as written */
    if ((rc = csvw_error(&w)) != 0)
        goto out;
    uint64_t h = REP__HASH_INIT;
    for (size_t o = 0; o < w.len;) {
        const char *nl = memchr(w.buf + o, '\n', w.len - o);
        size_t n = (size_t)(nl - (w.buf + o)) + 1;
        h = rep__hash(h, w.buf + o, n);
        o += n;
    }
    rep__csvw_seal(&w, h);
    rc = rep__csvw_replace(&l->dd, LEDGER_NAME, &w, err, errlen);
out:
    csvw_deinit(&w);
    return rc;
}

/* ---- pass 1 ---- */

static void reset_plan(struct merge *m)
{
    for (uint32_t v = 0; v < m->nvans; v++) {
        seq_free(&m->vans[v].dir);
        seq_free(&m->vans[v].ext);
    }
    for (size_t i = 0; i < m->nsrc; i++) {
        struct src *s = &m->srcs[i];
        for (uint32_t k = 0; k < s->ncnt; k++)
            s->cnt[k] = 0;
        s->from = s->header_len;
        s->from_line = 2;
    }
}

/* This log's rows, read as a source: in full mode all of them, each row's
 * fingerprint kept per vantage; in incremental mode the rows it gained
 * since the last merge (its own runs'), which must not be of a vantage a
 * source brought. Returns 0, 1 (incremental: a full merge is needed) or an
 * error. */
static int read_dir(struct merge *m, bool full, char *err, size_t errlen)
{
    struct src d;
    char why[600] = "";
    bool torn = false;
    int rc = src_open(&d, m->l->dir, err, errlen);
    if (rc != 0)
        goto out;
    if (full)
        src_seek(&d, d.header_len, 2, m->l->size);
    else
        src_seek(&d, m->l_size, 0, m->l->size); /* line numbers unknown there */
    while ((rc = src_next(&d, &torn, why, sizeof why)) == 1) {
        uint32_t v;
        if ((rc = src_van(m, &d, &v)) != 0)
            goto out;
        struct van *vn = &m->vans[v];
        uint64_t h;
        if (full) {
            if ((rc = row_hash(&d, &h)) != 0 || (rc = seq_push(&vn->dir, h, d.line, 0, false)) != 0)
                goto out;
        } else if (vn->known && vn->owner != NO_OWNER) {
            rc = 1;
            goto out;
        } else {
            vn->known = true;
            vn->owner = NO_OWNER;
        }
    }
    if (rc < 0 && full)
        dp_errf(err, errlen, "%s:%u: %s", d.path, d.line, why);
    else if (rc < 0)
        dp_errf(err, errlen, "%s: %s", d.path, why);
out:
    src_free(&d);
    return rc;
}

/* Whether the ledger still describes this log and every known source. */
static bool ledger_matches(struct merge *m)
{
    struct obslog *l = m->l;
    uint64_t hh, th;
    if (!m->ledger_ok || m->l_dev != (uint64_t)l->dev || m->l_ino != (uint64_t)l->ino ||
        m->l_size > l->size || m->l_size < l->header_len)
        return false;
    if (fingerprint(l->fd, l->header_len, m->l_size, &hh, &th) != 0 || th != m->l_th)
        return false;
    /* map ledger sources to this run's; a known source must only have grown */
    uint32_t *map = calloc(m->nlsrc + 1, sizeof *map);
    if (map == NULL)
        return false;
    bool ok = true;
    for (size_t j = 0; j < m->nlsrc; j++) {
        map[j] = NO_OWNER;
        for (size_t i = 0; i < m->nsrc && map[j] == NO_OWNER; i++)
            if (strcmp(m->srcs[i].id, m->lsrc[j].id) == 0)
                map[j] = (uint32_t)i;
    }
    for (size_t i = 0; i < m->nsrc && ok; i++) {
        struct src *s = &m->srcs[i];
        struct stat st;
        for (size_t j = 0; j < m->nlsrc; j++) {
            if (map[j] != i)
                continue;
            const struct ledger_src *ls = &m->lsrc[j];
            if (fstat(s->fd, &st) != 0 || (uint64_t)st.st_size < ls->size ||
                ls->size < s->header_len ||
                fingerprint(s->fd, s->header_len, ls->size, &hh, &th) != 0 || hh != ls->hh ||
                th != ls->th) {
                ok = false;
                break;
            }
            s->from = ls->size;
            s->from_line = ls->lines + 1;
        }
    }
    /* owners: ledger indexes -> this run's; a vantage of a source not given
     * this time keeps no owner (touching it needs a full merge) */
    for (uint32_t v = 0; v < m->nvans && ok; v++)
        if (m->vans[v].known && m->vans[v].owner != NO_OWNER)
            m->vans[v].owner =
                map[m->vans[v].owner] == NO_OWNER ? NO_OWNER - 1 : map[m->vans[v].owner];
    free(map);
    return ok;
}

/* Whether row k of vantage v (its k-th row of that vantage) read from source
 * i is new to this log: 1 new, 0 held, or DP_EINPUT with err naming both
 * places when it differs from what is held for it. */
static int decide(struct merge *m, size_t i, uint32_t v, uint32_t k, char *err, size_t errlen)
{
    struct src *s = &m->srcs[i];
    struct van *vn = &m->vans[v];
    const struct obs *o = &s->row;
    char esc[128];
    if (m->incremental)
        return 1; /* the prescan made sure this source alone brings v */
    uint64_t h;
    int hrc = row_hash(s, &h);
    if (hrc != 0)
        return hrc;
    if (k < vn->dir.n) {
        if (vn->dir.h[k] == h)
            return 0;
        dp_errf(err, errlen,
                "%s:%u: vantage '%s' round %u differs from %s:%u, which this folder holds for it "
                "(two hosts with the same --vantage?)",
                s->path, s->line, dp_escape(o->vantage, strlen(o->vantage), esc, sizeof esc),
                (unsigned)o->round, m->l->path, vn->dir.line[k]);
        return DP_EINPUT;
    }
    if (k - vn->dir.n < vn->ext.n) {
        uint32_t j = k - vn->dir.n;
        if (vn->ext.h[j] == h)
            return 0;
        dp_errf(err, errlen,
                "%s:%u and %s: vantage '%s' round %u differs (two hosts with the same "
                "--vantage?)",
                s->path, s->line, m->srcs[vn->ext.src[j]].path,
                dp_escape(o->vantage, strlen(o->vantage), esc, sizeof esc), (unsigned)o->round);
        return DP_EINPUT;
    }
    int rc = seq_push(&vn->ext, h, 0, (uint32_t)i, true);
    return rc != 0 ? rc : 1;
}

/* Incremental mode: the sources' rows after their offsets must only be of
 * vantages each source alone brings (only the first fields are looked at:
 * the merge itself checks every row). Returns 0, 1 (a full merge is
 * needed), or an error. */
static int prescan(struct merge *m)
{
    char why[600] = "";
    int rc = 0;
    for (size_t i = 0; i < m->nsrc && rc == 0; i++) {
        struct src *s = &m->srcs[i];
        struct stat st;
        if (fstat(s->fd, &st) != 0)
            return DP_EIO;
        src_seek(s, s->from, s->from_line, (uint64_t)st.st_size);
        s->light = true;
        while ((rc = src_next(s, NULL, why, sizeof why)) == 1) {
            uint32_t v;
            if ((rc = src_van(m, s, &v)) != 0)
                return rc;
            struct van *vn = &m->vans[v];
            if (vn->known && vn->owner != i)
                return 1;
            vn->known = true;
            vn->owner = (uint32_t)i;
        }
        s->light = false;
        if (rc < 0)
            return 1; /* let the full merge find and name the damage */
    }
    return rc;
}

/* Where the round is in the line last read from s (s->f2, s->f2end), when
 * the first two fields hold no quote: then the line is copied as it is
 * with only its round replaced. */
static bool locate_round(struct src *s)
{
    const char *line = s->raw, *e = s->raw + s->rawlen;
    const char *c1 = memchr(line, ',', s->rawlen);
    if (c1 == NULL || c1 + 1 >= e || c1[1] == '"' || c1[1] == '\'' || line[0] == '"')
        return false;
    const char *c2 = memchr(c1 + 1, ',', (size_t)(e - c1 - 1));
    const char *c3 = c2 ? memchr(c2 + 1, ',', (size_t)(e - c2 - 1)) : NULL;
    if (c3 == NULL)
        return false;
    s->f2 = (size_t)(c2 + 1 - line);
    s->f2end = (size_t)(c3 - line);
    return true;
}

/* Writes the row last read from s into w as a row of round `round` in the
 * log's form, and feeds it to the log's aggregates as it will read back:
 * the line's own bytes with the round replaced when it can (the same form,
 * or an old 17-column line gaining empty site,ede), else written again
 * from its fields. */
static int copy_row(struct merge *m, size_t i, struct csvw *w, uint32_t round)
{
    struct src *s = &m->srcs[i];
    unsigned dcols = obslog_columns(m->l);
    struct obs o = s->row;
    o.round = round;
    if (dcols == OBS_NCOLUMNS_V1) {
        o.site = "";
        o.ede = "";
    }
    if ((s->ncols == dcols || (s->ncols == OBS_NCOLUMNS_V1 && dcols == OBS_NCOLUMNS)) &&
        locate_round(s)) {
        size_t len = s->rawlen;
        if (len > 0 && s->raw[len - 1] == '\r')
            len--;
        char num[16];
        size_t nl = 0;
        for (uint32_t r = round; nl == 0 || r > 0; r /= 10)
            num[sizeof num - 1 - nl++] = (char)('0' + r % 10);
        csvw_raw(w, s->raw, s->f2);
        csvw_raw(w, num + sizeof num - nl, nl);
        csvw_raw(w, s->raw + s->f2end, len - s->f2end);
        if (s->ncols != dcols)
            csvw_raw(w, ",,\r\n", 4);
        else
            csvw_raw(w, "\r\n", 2);
    } else {
        obs_write_row_cols(w, &o, dcols);
    }
    int rc = csvw_error(w);
    if (rc == 0)
        rc = rep__feed_row(m->feed, &o, &s->rd, (uint32_t)i, s->line);
    return rc;
}

/* Ends the feed (joins its thread) once; with drain, every row handed over
 * is fed first and an error of the aggregates is named with its row's
 * path:line in err. */
static int feed_close(struct merge *m, bool drain, char *err, size_t errlen)
{
    char why[600] = "";
    uint32_t bs = 0, bl = 0;
    int rc = rep__feed_end(m->feed, drain, why, sizeof why, &bs, &bl);
    m->feed = NULL;
    if (rc != 0)
        dp_errf(err, errlen, "%s:%u: %s", bs < m->nsrc ? m->srcs[bs].path : m->l->path, bl, why);
    return rc;
}

/* The next row of source i (s->row), its end remembered; damage is named
 * with path:line. */
static int next_row(struct merge *m, struct src *s, bool *torn, char *err, size_t errlen)
{
    char why[600] = "";
    int rc = src_next(s, torn, why, sizeof why);
    (void)m;
    if (rc == 1) {
        s->end = src_offset(s);
        s->end_line = s->line;
    } else if (rc < 0) {
        dp_errf(err, errlen, "%s:%u: %s", s->path, s->line, why);
        rc = rc == DP_ENOMEM ? rc : rc == DP_EIO ? rc : DP_EDAMAGED;
    }
    return rc;
}

/* The ring's work: appends a chunk to the log and empties it. */
static int write_chunk(void *ctx, size_t slot)
{
    struct writer *wr = ctx;
    struct chunk *c = &wr->c[slot];
    int rc = rep__append_fed(wr->l, c->w.buf, c->w.len, c->lines, c->last, wr->err, sizeof wr->err);
    csvw_clear(&c->w);
    c->lines = 0;
    c->last = 0;
    return rc;
}

static void writer_start(struct merge *m)
{
    struct writer *wr = &m->out;
    wr->l = m->l;
    wr->err[0] = '\0';
    for (size_t i = 0; i < OUT_CHUNKS; i++) {
        csvw_init(&wr->c[i].w);
        wr->c[i].lines = 0;
        wr->c[i].last = 0;
    }
    rep__ring_start(&wr->ring, OUT_CHUNKS, write_chunk, wr, true);
    wr->running = true;
}

/* Ends the writer (joins its thread) once; with drain, what was handed
 * over is written first and an error is said in err. */
static int writer_close(struct merge *m, bool drain, char *err, size_t errlen)
{
    struct writer *wr = &m->out;
    int rc = rep__ring_end(&wr->ring, drain);
    wr->running = false;
    for (size_t i = 0; i < OUT_CHUNKS; i++)
        csvw_deinit(&wr->c[i].w);
    if (rc != 0)
        dp_errf(err, errlen, "%s", wr->err);
    return rc;
}

/* The merge itself, in one pass over the sources: the groups (a source's
 * rows of one vantage and one round) in the order of their first times,
 * each row judged new or held (decide), the new rows of a group written as
 * one new round. Rows go out in batches; the caller cuts the log back when
 * this fails. */
static int stream(struct merge *m, char *err, size_t errlen)
{
    struct obslog *l = m->l;
    int rc = 0;
    uint32_t round = obslog_next_round(l);
    bool *torn = calloc(m->nsrc ? m->nsrc : 1, sizeof *torn);
    struct chunk *ck = NULL;
    if (torn == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    /* the aggregates are fed by a second thread and the lines written by a
     * third while this one reads on */
    if ((rc = rep__feed_start(l->agg, true, &m->feed)) != 0)
        goto out;
    writer_start(m);
    ck = &m->out.c[rep__ring_current(&m->out.ring)];
    for (size_t i = 0; i < m->nsrc; i++) {
        struct src *s = &m->srcs[i];
        struct stat st;
        if (fstat(s->fd, &st) != 0) {
            rc = DP_EIO;
            goto out;
        }
        src_seek(s, s->from, s->from_line, (uint64_t)st.st_size);
        s->light = false;
        s->end = s->from;
        s->end_line = s->from_line - 1;
        if ((rc = next_row(m, s, &torn[i], err, errlen)) < 0)
            goto out;
    }
    for (;;) {
        /* the source whose next group begins first (ties: the first given) */
        size_t bi = m->nsrc;
        for (size_t i = 0; i < m->nsrc; i++)
            if (m->srcs[i].have_row &&
                (bi == m->nsrc || m->srcs[i].row.time < m->srcs[bi].row.time))
                bi = i;
        if (bi == m->nsrc)
            break;
        struct src *best = &m->srcs[bi];
        uint32_t sr = best->row.round, gv, v, gr = 0;
        if ((rc = src_van(m, best, &gv)) != 0)
            goto out;
        v = gv;
        for (;;) {
            rc = decide(m, bi, v, best->cnt[v]++, err, errlen);
            if (rc < 0)
                goto out;
            if (rc == 1) {
                if (gr == 0) {
                    if (round == UINT32_MAX) {
                        dp_errf(err, errlen, "%s: no round numbers left", l->path);
                        rc = DP_EINPUT;
                        goto out;
                    }
                    gr = round++;
                    m->st->rounds_appended++;
                }
                if ((rc = copy_row(m, bi, &ck->w, gr)) != 0) {
                    /* the aggregates failed on a row handed over before
                     * (named by feed_close), or no memory */
                    int frc = feed_close(m, true, err, errlen);
                    rc = frc != 0 ? frc : rc;
                    goto out;
                }
                m->st->rows_new++;
                m->st->rows_appended++;
                ck->lines++;
                ck->last = gr;
            } else {
                m->st->rows_held++;
            }
            if ((rc = next_row(m, best, &torn[bi], err, errlen)) < 0)
                goto out;
            if (!best->have_row || best->row.round != sr)
                break;
            if ((rc = src_van(m, best, &v)) != 0)
                goto out;
            if (v != gv)
                break;
        }
        if (ck->w.len >= OUT_CHUNK) {
            size_t next;
            if (rep__ring_give(&m->out.ring, &next) != 0) {
                rc = writer_close(m, true, err, errlen); /* the writer's error, said */
                goto out;
            }
            ck = &m->out.c[next];
        }
    }
    size_t next;
    if (ck->w.len > 0)
        rep__ring_give(&m->out.ring, &next); /* an error is what writer_close returns */
    rc = feed_close(m, true, err, errlen);
    if (rc == 0)
        rc = writer_close(m, true, err, errlen);
    for (size_t i = 0; rc == 0 && i < m->nsrc; i++)
        if (torn[i])
            fprintf(stderr,
                    "dnsprop: warning: %s:%u: torn last line (no line end) left for later\n",
                    m->srcs[i].path, m->srcs[i].end_line + 1);
out:
    /* failing anyway: drop what is queued (the caller cuts the log back) */
    if (m->feed != NULL)
        feed_close(m, false, err, errlen);
    if (m->out.running)
        writer_close(m, false, err, errlen);
    free(torn);
    return rc;
}

int obslog_merge(struct obslog *l, const char *const *dirs, size_t ndirs, struct merge_stats *st,
                 char *err, size_t errlen)
{
    struct merge m = {.l = l, .st = st};
    int rc = 0;
    memset(st, 0, sizeof *st);
    m.srcs = calloc(ndirs ? ndirs : 1, sizeof *m.srcs);
    if (m.srcs == NULL)
        return DP_ENOMEM;
    for (size_t i = 0; i < ndirs; i++) {
        m.nsrc++;
        if ((rc = src_open(&m.srcs[i], dirs[i], err, errlen)) != 0)
            goto out;
    }
    st->sources = ndirs;
    ledger_load(&m);
    m.incremental = ledger_matches(&m);
    if (m.incremental) {
        rc = read_dir(&m, false, err, errlen);
        if (rc == 0)
            rc = prescan(&m);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            /* something only a full comparison can judge */
            m.incremental = false;
            for (uint32_t v = 0; v < m.nvans; v++) {
                m.vans[v].known = false;
                m.vans[v].owner = NO_OWNER;
            }
        }
    }
    if (!m.incremental) {
        reset_plan(&m);
        if ((rc = read_dir(&m, true, err, errlen)) != 0)
            goto out;
    }
    st->incremental = m.incremental;
    uint64_t mark = obslog_mark(l);
    if ((rc = stream(&m, err, errlen)) != 0) {
        obslog_rollback(l, mark); /* all or nothing */
        goto out;
    }
    if (!m.incremental) {
        /* owners for the next run: the source that holds every row of the
         * vantage (the last that extended it); none when no source does */
        for (uint32_t v = 0; v < m.nvans; v++) {
            struct van *vn = &m.vans[v];
            uint32_t total = vn->dir.n + vn->ext.n;
            vn->known = total > 0;
            vn->owner = NO_OWNER;
            for (size_t i = 0; i < m.nsrc; i++)
                if (v < m.srcs[i].ncnt && m.srcs[i].cnt[v] == total && total > 0)
                    vn->owner = (uint32_t)i;
        }
    }
    /* the ledger is a cache: failing to save it costs the next run time only */
    char lerr[256];
    if (ledger_save(&m, lerr, sizeof lerr) != 0)
        fprintf(stderr, "dnsprop: warning: %s\n", lerr);
out:
    for (size_t i = 0; i < m.nsrc; i++)
        src_free(&m.srcs[i]);
    free(m.srcs);
    for (uint32_t v = 0; v < m.nvans; v++) {
        seq_free(&m.vans[v].dir);
        seq_free(&m.vans[v].ext);
    }
    free(m.vans);
    for (uint32_t i = 0; i < m.vt.n; i++)
        free(m.vt.s[i]);
    free(m.vt.s);
    free(m.vt.slots);
    ledger_free(&m);
    return rc;
}
