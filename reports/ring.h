/*
 * reports: a worker thread that takes a ring of slots in order (merge's
 * pipeline: reports/feed.c feeds rows to the aggregates with one, merge.c
 * writes the log with another). Private to this folder (rep__ prefix).
 *
 * The caller owns the slots (n of them, indexes 0..n-1) and fills them in
 * turn; rep__ring_give hands the filled one to the worker and returns the
 * index of the next one to fill, waiting while all n are taken. The worker
 * calls work(ctx, slot) for each slot in the order given; its first error
 * stops it, and is what rep__ring_give (and rep__ring_end) return from
 * then on. Without a thread, work runs inside rep__ring_give.
 *
 * Every rep__ring_start is followed by exactly one rep__ring_end, on every
 * path: it joins the thread.
 */
#ifndef DNSPROP_REPORTS_RING_H
#define DNSPROP_REPORTS_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_ring {
    int (*work)(void *ctx, size_t slot); /* 0 or an error (negative) */
    void *ctx;                           /* borrowed */
    size_t n;                            /* slots */
    bool threaded;                       /* th runs */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t more; /* a slot was given, or the end */
    pthread_cond_t room; /* a slot was done, or the worker stopped */
    /* under mu while threaded */
    uint64_t given, done;
    bool closed; /* no more slots come */
    bool drop;   /* do no more work */
    int rc;      /* the worker's first error */
};

/* Starts the worker (a thread of its own when `thread` and one can be
 * made; its signals blocked). The first slot to fill is 0. */
void rep__ring_start(struct rep_ring *r, size_t n, int (*work)(void *ctx, size_t slot), void *ctx,
                     bool thread);
/* Hands the current slot over; *next is the slot to fill now. 0, or the
 * worker's error (stop, and call rep__ring_end). */
int rep__ring_give(struct rep_ring *r, size_t *next);
/* The slot to fill now. */
size_t rep__ring_current(const struct rep_ring *r);
/* Ends: with drain, what was given is done first (the current slot is not
 * given here: give it first) and the worker's error is returned; without,
 * what is still queued is dropped and 0 returned. Joins the thread. */
int rep__ring_end(struct rep_ring *r, bool drain);

#endif
