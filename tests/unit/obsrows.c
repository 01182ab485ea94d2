/*
 * Hand-written log rows for the unit tests (see obsrows.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "obsrows.h"

#include <string.h>

struct obs *rows_next(struct rows *r, const char *vantage, int64_t t, uint32_t round,
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

void rows_fill(struct obs *o, const char *domain, const char *check, const char *qname,
               const char *qtype, const char *server, const char *address, const char *answer,
               const char *expected)
{
    o->domain = domain;
    o->check = check;
    o->qname = qname;
    o->qtype = qtype;
    o->server = server;
    o->address = address;
    o->answer = answer;
    o->expected = expected;
}

enum obs_match rows_match(const char *answer, const char *expected)
{
    if (expected[0] == '\0')
        return OBS_MATCH_NONE;
    return strcmp(answer, expected) == 0 ? OBS_MATCH_YES : OBS_MATCH_NO;
}
