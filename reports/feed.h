/*
 * reports: rows handed to a log's aggregates by a second thread (merge's
 * pipeline). Private to this folder (rep__ prefix).
 *
 * The thread that reads and checks rows copies each one into a batch (its
 * strings into the batch's own memory) and goes on with the next; a feeder
 * thread adds the batches' rows to the aggregates in the order they were
 * given. At most REP__FEED_BATCHES batches are in flight, so memory stays
 * bounded however large the input: the reader waits when the feeder is
 * behind. Without a thread (pthread_create failed) every batch is fed
 * where it is given: the same result, one core.
 *
 * Every rep__feed_start is followed by exactly one rep__feed_end, on every
 * path: it joins the thread.
 */
#ifndef DNSPROP_REPORTS_FEED_H
#define DNSPROP_REPORTS_FEED_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_feed;

/* Starts feeding agg (borrowed: the caller must not touch it until
 * rep__feed_end), from a thread of its own when `thread` (merge; false is
 * for the tests of the one-core way). 0 with *out, or DP_ENOMEM. */
int rep__feed_start(struct rep_agg *agg, bool thread, struct rep_feed **out);

/* Hands over one row: o's strings are copied (those inside the used part of
 * rd's buffer in one piece, any other one by itself), tag_src and tag_line
 * are given back with the error should this row fail. 0, or the error of a
 * row handed over earlier (then stop and call rep__feed_end), or DP_ENOMEM. */
int rep__feed_row(struct rep_feed *f, const struct obs *o, const struct csvr *rd, uint32_t tag_src,
                  uint32_t tag_line);

/* Ends feeding and joins the thread, freeing f (NULL is fine). With drain,
 * every row handed over is fed first, and the result is 0 or the first
 * error of rep__agg_add (REP__RESTART as DP_EINTERNAL), with why and the
 * failed row's tags; without, what is still queued is dropped (the caller
 * is failing anyway) and the result is 0. */
int rep__feed_end(struct rep_feed *f, bool drain, char *why, size_t whylen, uint32_t *tag_src,
                  uint32_t *tag_line);

#endif
