/*
 * Hand-written log rows for the unit tests (test_reports.c, test_promises.c
 * and test_state.c): a fixed array of struct obs and its next row, with what
 * every hand-written row has alike. The functions live in obsrows.c, built
 * once as the test-support library dnsprop_testrows (tests/CMakeLists.txt)
 * and linked into the tests that include this header.
 */
#ifndef DNSPROP_TEST_OBSROWS_H
#define DNSPROP_TEST_OBSROWS_H

#include "reports.h"

#include <stddef.h>
#include <stdint.h>

struct rows {
    struct obs v[64];
    size_t n;
};

/* The next row of r: zero but for what every hand-written row has alike, the
 * time, vantage, round, status and TTL given, and the rcode and latency that
 * go with the status (a timeout has neither; NXDOMAIN is rcode 3). The
 * caller fills in the rest. Fails the test when r is full. */
struct obs *rows_next(struct rows *r, const char *vantage, int64_t t, uint32_t round,
                      enum obs_status st, int64_t ttl);

/* Sets o's question (domain, check, qname, qtype), who answered (server,
 * address) and what (answer, expected); the strings are borrowed, not
 * copied. */
void rows_fill(struct obs *o, const char *domain, const char *check, const char *qname,
               const char *qtype, const char *server, const char *address, const char *answer,
               const char *expected);

/* The match column the monitor writes for answer against expected: NONE
 * when nothing is expected, YES when they are equal, NO otherwise. */
enum obs_match rows_match(const char *answer, const char *expected);

#endif
