/*
 * Rows handed to a log's aggregates by a second thread (see feed.h).
 *
 * Why: merge reads, checks and copies every source row, and the log's
 * aggregates take about as long again to add each one; on two cores the
 * two halves run side by side. The order of the rows is kept (one queue,
 * one feeder), so the aggregates end exactly as if fed in one thread.
 *
 * The batches are a ring of REP__FEED_BATCHES slots: the reader fills slot
 * `given % N` while the feeder adds the rows of slots fed..given-1; the
 * reader waits while all N are taken. Each batch owns the text of its rows'
 * strings, so the reader's buffers are free again as soon as a row is
 * handed over.
 */
#include "feed.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REP__FEED_BATCHES 8
#define BATCH_ROWS        1024
#define BATCH_TEXT        (256u << 10) /* grown for a longer row */

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
    bool threaded; /* th runs (else batches are fed as they are given) */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t more; /* a batch was given, or the end */
    pthread_cond_t room; /* a batch was fed, or the feeder stopped */
    /* under mu while threaded */
    uint64_t given, fed; /* batches handed over, batches fed */
    bool closed;         /* no more batches come */
    bool drop;           /* feed nothing more */
    int rc;              /* the first error of the feeder */
    char why[600];       /* its message */
    uint32_t bad_src, bad_line;
};

/* Adds a batch's rows to the aggregates: 0, or the error (f->why, tags). */
static int feed_batch(struct rep_feed *f, const struct batch *b, char *why, size_t whylen,
                      uint32_t *bad_src, uint32_t *bad_line)
{
    for (uint32_t i = 0; i < b->n; i++) {
        int rc = rep__agg_add(f->agg, &b->rows[i], why, whylen);
        if (rc != 0) {
            *bad_src = b->src[i];
            *bad_line = b->line[i];
            if (rc == REP__RESTART) {
                /* merge appends after the log's last round: never a restart */
                snprintf(why, whylen, "internal error: the aggregates asked for a restart");
                rc = DP_EINTERNAL;
            }
            return rc;
        }
    }
    return 0;
}

static void *feeder(void *arg)
{
    struct rep_feed *f = arg;
    char why[sizeof f->why] = "";
    uint32_t bs = 0, bl = 0;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->fed == f->given && !f->closed && !f->drop)
            pthread_cond_wait(&f->more, &f->mu);
        if (f->drop || f->fed == f->given)
            break;
        const struct batch *b = &f->b[f->fed % REP__FEED_BATCHES];
        pthread_mutex_unlock(&f->mu);
        int rc = feed_batch(f, b, why, sizeof why, &bs, &bl);
        pthread_mutex_lock(&f->mu);
        f->fed++;
        if (rc != 0) {
            f->rc = rc;
            memcpy(f->why, why, sizeof f->why);
            f->bad_src = bs;
            f->bad_line = bl;
        }
        pthread_cond_signal(&f->room);
        if (rc != 0)
            break;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void feed_free(struct rep_feed *f)
{
    for (size_t i = 0; i < REP__FEED_BATCHES; i++) {
        free(f->b[i].rows);
        free(f->b[i].src);
        free(f->b[i].line);
        free(f->b[i].text);
    }
    pthread_cond_destroy(&f->room);
    pthread_cond_destroy(&f->more);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int rep__feed_start(struct rep_agg *agg, bool thread, struct rep_feed **out)
{
    *out = NULL;
    struct rep_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        return DP_ENOMEM;
    f->agg = agg;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->more, NULL);
    pthread_cond_init(&f->room, NULL);
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
    if (thread) {
        /* the feeder takes no signals: they stay the main thread's */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        f->threaded = pthread_create(&f->th, NULL, feeder, f) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    *out = f;
    return 0;
}

/* Hands the filled batch over and makes the next one current: 0, or the
 * feeder's error. */
static int give(struct rep_feed *f)
{
    int rc;
    if (!f->threaded) {
        struct batch *b = &f->b[0];
        rc = feed_batch(f, b, f->why, sizeof f->why, &f->bad_src, &f->bad_line);
        f->rc = rc;
        b->n = 0;
        b->used = 0;
        return rc;
    }
    pthread_mutex_lock(&f->mu);
    f->given++;
    pthread_cond_signal(&f->more);
    while (f->given - f->fed >= REP__FEED_BATCHES && f->rc == 0)
        pthread_cond_wait(&f->room, &f->mu);
    rc = f->rc;
    pthread_mutex_unlock(&f->mu);
    if (rc == 0) { /* the slot is free: the feeder is past it */
        struct batch *b = &f->b[f->given % REP__FEED_BATCHES];
        b->n = 0;
        b->used = 0;
    }
    return rc;
}

int rep__feed_row(struct rep_feed *f, const struct obs *o, const struct csvr *rd, uint32_t tag_src,
                  uint32_t tag_line)
{
    /* the part of rd's buffer that holds the fields: one copy for all */
    const char *base = NULL, *end = NULL;
    if (rd != NULL && rd->n > 0) {
        base = rd->buf;
        end = rd->f[rd->n - 1] + rd->len[rd->n - 1] + 1;
    }
    struct obs c = *o;
    const char **s[] = {&c.vantage, &c.qtype,  &c.domain, &c.check,    &c.qname, &c.server,
                        &c.address, &c.answer, &c.site,   &c.expected, &c.ede};
    size_t n = sizeof s / sizeof s[0];
    size_t need = (size_t)(end - base);
    for (size_t i = 0; i < n; i++)
        if (*s[i] != NULL && !(*s[i] >= base && *s[i] < end))
            need += strlen(*s[i]) + 1;
    struct batch *b = &f->b[f->threaded ? f->given % REP__FEED_BATCHES : 0];
    if (b->n == BATCH_ROWS || (b->n > 0 && b->used + need > b->cap)) {
        int rc = give(f);
        if (rc != 0)
            return rc;
        b = &f->b[f->threaded ? f->given % REP__FEED_BATCHES : 0];
    }
    if (need > b->cap) { /* an empty batch: nothing points into text yet */
        char *t = realloc(b->text, need);
        if (t == NULL)
            return DP_ENOMEM;
        b->text = t;
        b->cap = need;
    }
    char *at = b->text + b->used;
    size_t blk = (size_t)(end - base);
    if (blk > 0)
        memcpy(at, base, blk);
    size_t k = blk;
    for (size_t i = 0; i < n; i++) {
        const char *p = *s[i];
        if (p == NULL)
            continue;
        if (p >= base && p < end) {
            *s[i] = at + (p - base);
        } else {
            size_t len = strlen(p) + 1;
            memcpy(at + k, p, len);
            *s[i] = at + k;
            k += len;
        }
    }
    b->used += k;
    b->rows[b->n] = c;
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
    int rc = 0;
    struct batch *cur = &f->b[f->threaded ? f->given % REP__FEED_BATCHES : 0];
    if (!f->threaded) {
        if (drain && f->rc == 0 && cur->n > 0)
            give(f);
        rc = drain ? f->rc : 0;
    } else {
        pthread_mutex_lock(&f->mu);
        if (drain && f->rc == 0 && cur->n > 0) {
            f->given++;
        }
        f->closed = true;
        f->drop = !drain;
        pthread_cond_signal(&f->more);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->th, NULL);
        rc = drain ? f->rc : 0;
    }
    if (rc != 0) {
        snprintf(why, whylen, "%s", f->why);
        *tag_src = f->bad_src;
        *tag_line = f->bad_line;
    }
    feed_free(f);
    return rc;
}
