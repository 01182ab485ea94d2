/*
 * A worker thread that takes a ring of slots in order (see ring.h).
 *
 * The caller fills slot `given % n` while the worker does slots
 * done..given-1; the caller waits while all n are taken, the worker while
 * none is. One mutex guards the counters; the slots themselves are the
 * caller's while it fills them and the worker's from their hand-over until
 * `done` passes them, so they need no lock.
 */
#include "ring.h"

#include <signal.h>
#include <string.h>

static void *worker(void *arg)
{
    struct rep_ring *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->done == r->given && !r->closed && !r->drop)
            pthread_cond_wait(&r->more, &r->mu);
        if (r->drop || r->done == r->given)
            break;
        size_t slot = (size_t)(r->done % r->n);
        pthread_mutex_unlock(&r->mu);
        int rc = r->work(r->ctx, slot);
        pthread_mutex_lock(&r->mu);
        r->done++;
        if (rc != 0)
            r->rc = rc;
        pthread_cond_signal(&r->room);
        if (rc != 0)
            break;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

void rep__ring_start(struct rep_ring *r, size_t n, int (*work)(void *ctx, size_t slot), void *ctx,
                     bool thread)
{
    memset(r, 0, sizeof *r);
    r->work = work;
    r->ctx = ctx;
    r->n = n;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->more, NULL);
    pthread_cond_init(&r->room, NULL);
    if (thread) {
        /* the worker takes no signals: they stay the caller's */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r->threaded = pthread_create(&r->th, NULL, worker, r) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
}

size_t rep__ring_current(const struct rep_ring *r)
{
    return (size_t)(r->given % r->n); /* given: written by the caller only */
}

int rep__ring_give(struct rep_ring *r, size_t *next)
{
    int rc;
    if (!r->threaded) {
        if (r->rc == 0)
            r->rc = r->work(r->ctx, rep__ring_current(r));
        r->given++;
        r->done = r->given;
        *next = rep__ring_current(r);
        return r->rc;
    }
    pthread_mutex_lock(&r->mu);
    r->given++;
    pthread_cond_signal(&r->more);
    while (r->given - r->done >= r->n && r->rc == 0)
        pthread_cond_wait(&r->room, &r->mu);
    rc = r->rc;
    pthread_mutex_unlock(&r->mu);
    *next = rep__ring_current(r);
    return rc;
}

int rep__ring_end(struct rep_ring *r, bool drain)
{
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->closed = true;
        r->drop = !drain;
        pthread_cond_signal(&r->more);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
        r->threaded = false;
    }
    pthread_cond_destroy(&r->room);
    pthread_cond_destroy(&r->more);
    pthread_mutex_destroy(&r->mu);
    return drain ? r->rc : 0;
}
