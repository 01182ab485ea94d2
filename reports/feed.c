/*
 * Rows handed to a log's aggregates by a second thread (see feed.h).
 *
 * Why: merge reads, checks and copies every source row, and the log's
 * aggregates take about as long again to add each one; on two cores the
 * two halves run side by side. The order of the rows is kept (one queue,
 * one feeder), so the aggregates end exactly as if fed in one thread.
 *
 * The batches are the slots of a rep_ring (ring.c): the reader fills one
 * while the feeder adds the rows of those handed over before. Each batch
 * owns the text of its rows' strings, so the reader's buffers are free
 * again as soon as a row is handed over.
 */
#include "feed.h"

#include "ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REP__FEED_BATCHES 16
#define BATCH_ROWS        512
#define BATCH_TEXT        (128u << 10) /* grown for a longer row */

struct batch {
    struct obs *rows; /* owned: BATCH_ROWS; their strings point into text */
    uint32_t *src;    /* owned: the rows' tags */
    uint32_t *line;
    uint32_t n;
    char *text; /* owned */
    size_t used, cap;
};

struct rep_feed {
    struct rep_agg *agg; /* borrowed */
    struct batch b[REP__FEED_BATCHES];
    struct rep_ring ring; /* its slots: b */
    /* the first error of the aggregates (written by the feeder, read after
     * the join) */
    char why[600];
    uint32_t bad_src, bad_line;
};

/* The ring's work: adds a batch's rows to the aggregates and empties it.
 * 0, or the error (f->why, the row's tags). */
static int feed_batch(void *ctx, size_t slot)
{
    struct rep_feed *f = ctx;
    struct batch *b = &f->b[slot];
    for (uint32_t i = 0; i < b->n; i++) {
        int rc = rep__agg_add(f->agg, &b->rows[i], f->why, sizeof f->why);
        if (rc != 0) {
            f->bad_src = b->src[i];
            f->bad_line = b->line[i];
            if (rc == REP__RESTART) {
                /* merge appends after the log's last round: never a restart */
                snprintf(f->why, sizeof f->why,
                         "internal error: the aggregates asked for a restart");
                rc = DP_EINTERNAL;
            }
            return rc;
        }
    }
    b->n = 0;
    b->used = 0;
    return 0;
}

static void feed_free(struct rep_feed *f)
{
    for (size_t i = 0; i < REP__FEED_BATCHES; i++) {
        free(f->b[i].rows);
        free(f->b[i].src);
        free(f->b[i].line);
        free(f->b[i].text);
    }
    free(f);
}

int rep__feed_start(struct rep_agg *agg, bool thread, struct rep_feed **out)
{
    *out = NULL;
    struct rep_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        return DP_ENOMEM;
    f->agg = agg;
    for (size_t i = 0; i < REP__FEED_BATCHES; i++) {
        struct batch *b = &f->b[i];
        b->rows = malloc(BATCH_ROWS * sizeof *b->rows);
        b->src = malloc(BATCH_ROWS * sizeof *b->src);
        b->line = malloc(BATCH_ROWS * sizeof *b->line);
        b->text = malloc(BATCH_TEXT);
        b->cap = BATCH_TEXT;
        if (b->rows == NULL || b->src == NULL || b->line == NULL || b->text == NULL) {
            feed_free(f);
            return DP_ENOMEM;
        }
    }
    rep__ring_start(&f->ring, REP__FEED_BATCHES, feed_batch, f, thread);
    *out = f;
    return 0;
}

/* The room a string of a row takes in a batch besides rd's piece: none
 * when it is in it (or NULL, or empty: the literal ""). */
static inline size_t extra_of(const char *p, uintptr_t base, size_t blk)
{
    if (p == NULL || (size_t)((uintptr_t)p - base) < blk || p[0] == '\0')
        return 0;
    return strlen(p) + 1;
}

/* Points *m at its copy: in the piece copied to `at`, or the literal "",
 * or copied by itself at `at + *k`. */
static inline void rebase(const char **m, uintptr_t base, size_t blk, char *at, size_t *k)
{
    const char *p = *m;
    size_t off = (size_t)((uintptr_t)p - base);
    if (p == NULL) {
        return;
    } else if (off < blk) {
        *m = at + off;
    } else if (p[0] == '\0') {
        *m = "";
    } else {
        size_t len = strlen(p) + 1;
        memcpy(at + *k, p, len);
        *m = at + *k;
        *k += len;
    }
}

int rep__feed_row(struct rep_feed *f, const struct obs *o, const struct csvr *rd, uint32_t tag_src,
                  uint32_t tag_line)
{
    /* the part of rd's buffer that holds the fields goes in one piece; the
     * strings elsewhere (site and ede of an old row: "") by themselves, an
     * empty one as a literal */
    uintptr_t base = 0;
    size_t blk = 0;
    if (rd != NULL && rd->n > 0) {
        base = (uintptr_t)rd->buf;
        blk = (size_t)((uintptr_t)(rd->f[rd->n - 1] + rd->len[rd->n - 1] + 1) - base);
    }
    /* every string member of struct obs, here and in rebase below */
    size_t need = blk + extra_of(o->vantage, base, blk) + extra_of(o->domain, base, blk) +
                  extra_of(o->check, base, blk) + extra_of(o->qname, base, blk) +
                  extra_of(o->qtype, base, blk) + extra_of(o->server, base, blk) +
                  extra_of(o->address, base, blk) + extra_of(o->answer, base, blk) +
                  extra_of(o->expected, base, blk) + extra_of(o->site, base, blk) +
                  extra_of(o->ede, base, blk);
    struct batch *b = &f->b[rep__ring_current(&f->ring)];
    if (b->n == BATCH_ROWS || (b->n > 0 && b->used + need > b->cap)) {
        size_t next;
        int rc = rep__ring_give(&f->ring, &next);
        if (rc != 0)
            return rc;
        b = &f->b[next];
    }
    if (need > b->cap) { /* an empty batch: nothing points into text yet */
        char *t = realloc(b->text, need);
        if (t == NULL)
            return DP_ENOMEM;
        b->text = t;
        b->cap = need;
    }
    char *at = b->text + b->used;
    if (blk > 0)
        memcpy(at, (const char *)base, blk);
    size_t k = blk;
    struct obs *c = &b->rows[b->n];
    *c = *o;
    rebase(&c->vantage, base, blk, at, &k);
    rebase(&c->domain, base, blk, at, &k);
    rebase(&c->check, base, blk, at, &k);
    rebase(&c->qname, base, blk, at, &k);
    rebase(&c->qtype, base, blk, at, &k);
    rebase(&c->server, base, blk, at, &k);
    rebase(&c->address, base, blk, at, &k);
    rebase(&c->answer, base, blk, at, &k);
    rebase(&c->expected, base, blk, at, &k);
    rebase(&c->site, base, blk, at, &k);
    rebase(&c->ede, base, blk, at, &k);
    b->used += k;
    b->src[b->n] = tag_src;
    b->line[b->n] = tag_line;
    b->n++;
    return 0;
}

int rep__feed_end(struct rep_feed *f, bool drain, char *why, size_t whylen, uint32_t *tag_src,
                  uint32_t *tag_line)
{
    if (f == NULL)
        return 0;
    size_t next;
    if (drain && f->b[rep__ring_current(&f->ring)].n > 0)
        rep__ring_give(&f->ring, &next); /* an error is what end returns */
    int rc = rep__ring_end(&f->ring, drain);
    if (rc != 0) {
        snprintf(why, whylen, "%s", f->why);
        *tag_src = f->bad_src;
        *tag_line = f->bad_line;
    }
    feed_free(f);
    return rc;
}
