/*
 * Hand-written log rows for the unit tests (test_reports.c, test_promises.c
 * through reportlog.h, and test_state.c): a fixed array of struct obs and
 * its next row, with what every hand-written row has alike. Include
 * cmocka.h and reports.h first.
 */
#ifndef DNSPROP_TEST_OBSROWS_H
#define DNSPROP_TEST_OBSROWS_H

#include <string.h>

struct rows {
    struct obs v[64];
    size_t n;
};

/* The next row of r: zero but for what every hand-written row has alike, the
 * time, vantage, round, status and TTL given, and the rcode and latency that
 * go with the status (a timeout has neither; NXDOMAIN is rcode 3). The
 * caller fills in the rest. */
static struct obs *rows_next(struct rows *r, const char *vantage, int64_t t, uint32_t round,
                             enum obs_status st, int64_t ttl)
{
    assert_true(r->n < sizeof r->v / sizeof r->v[0]);
    struct obs *o = &r->v[r->n++];
    memset(o, 0, sizeof *o);
    o->time = t;
    o->vantage = vantage;
    o->round = round;
    o->status = st;
    o->rcode = st == OBS_TIMEOUT ? -1 : st == OBS_NXDOMAIN ? 3 : 0;
    o->latency_ms = st == OBS_TIMEOUT ? -1 : 5;
    o->ttl = ttl;
    return o;
}

#endif
