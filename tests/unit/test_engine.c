/*
 * Tests for the query engine (monitor/engine/engine.c, engine_judge.c)
 * against scripted DNS servers on loopback (tests/unit/fakedns.h), each run
 * on the test's own loop, which must close cleanly at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fakedns.h"
#include "engine.h"
#include "engine_internal.h"
#include "reply_paths.h"

#define MX2_ANSWER "10 mx1.example.com. | 20 mx2.example.com."

struct slot {
    struct run *run;
    unsigned index;
    unsigned calls;
    enum obs_status status;
    int rcode;
    bool tcp;
    bool had_reply; /* the callback had result.reply */
    int64_t latency_ms, ttl;
    char *answer;
    char *cname;
    char *site, *ede; /* as the engine gave them */
    uint64_t at_ms;   /* uv_hrtime when the callback came, ms */
    unsigned order;   /* 1 for the run's first callback, 2 for the next, ... */
};

struct run {
    uv_loop_t loop;
    struct fake f;
    struct engine *e;
    bool closed;
    unsigned expect, done;
    uv_timer_t guard;
    uint64_t t0_ms;
};

/* Whether this run of the tests asks for the whole reply (want_reply): the
 * reply tests run twice, the second time with it (main), so that both of
 * the engine's readings of a reply go through every reply shape the fake
 * server makes, and must give the same verdicts. */
static bool whole_reply;

static int whole_reply_on(void **state)
{
    (void)state;
    whole_reply = true;
    return 0;
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* The bounds in these tests hold on a slow machine: the tests also run under
 * valgrind (tens of times slower) beside other busy programs. A test that
 * asserts "no retry" gives the first attempt seconds (a reply on loopback takes
 * microseconds); a test that measures a wait asserts its lower bound exactly
 * (the engine never gives up early) and an upper bound of about twice it. */
#define GUARD_MS   120000 /* the loop is stopped (and the test fails) after this */
#define PATIENT_MS 10000  /* the timeout of tests in which every query is answered */

static void on_guard(uv_timer_t *t)
{
    struct run *r = t->data;
    fprintf(stderr, "guard: %u of %u callbacks after %d s\n", r->done, r->expect, GUARD_MS / 1000);
    uv_stop(&r->loop);
}

static void run_init(struct run *r, enum fake_mode mode, const struct engine_opts *o)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    assert_int_equal(fake_start(&r->f, &r->loop, mode), 0);
    assert_int_equal(engine_new(&r->loop, o, &r->e), 0);
    assert_int_equal(uv_timer_init(&r->loop, &r->guard), 0);
    r->guard.data = r;
    assert_int_equal(uv_timer_start(&r->guard, on_guard, GUARD_MS, 0), 0);
    uv_unref((uv_handle_t *)&r->guard);
    r->t0_ms = now_ms();
}

static void on_result(const struct engine_result *res, void *arg)
{
    struct slot *s = arg;
    struct run *r = s->run;
    s->calls++;
    s->status = res->status;
    s->rcode = res->rcode;
    s->tcp = res->tcp;
    s->had_reply = res->reply != NULL;
    s->latency_ms = res->latency_ms;
    s->ttl = res->ttl;
    free(s->answer);
    free(s->cname);
    s->answer = strdup(res->answer);
    s->cname = res->cname_target ? strdup(res->cname_target) : NULL;
    free(s->site);
    free(s->ede);
    s->site = strdup(res->site);
    s->ede = strdup(res->ede);
    s->at_ms = now_ms();
    s->order = r->done + 1;
    if (++r->done == r->expect)
        uv_stop(&r->loop);
}

static int submit_to(struct run *r, struct slot *s, const struct sockaddr *sa, socklen_t salen,
                     const char *qname, uint16_t qtype, bool rd, bool tcp)
{
    struct engine_query q = {.sa = sa,
                             .salen = salen,
                             .qname = qname,
                             .qtype = qtype,
                             .rd = rd,
                             .tcp = tcp,
                             .want_reply = whole_reply,
                             .cb = on_result,
                             .arg = s};
    s->run = r;
    int rc = engine_submit(r->e, &q);
    if (rc == 0)
        r->expect++;
    return rc;
}

static void submit(struct run *r, struct slot *s, const char *qname, uint16_t qtype, bool rd,
                   bool tcp)
{
    assert_int_equal(submit_to(r, s, (const struct sockaddr *)&r->f.addr, sizeof r->f.addr, qname,
                               qtype, rd, tcp),
                     0);
}

/* Runs the loop until every submitted query called back. */
static void run_wait(struct run *r)
{
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(r->done, r->expect);
}

static void run_end(struct run *r)
{
    if (!r->closed)
        engine_close(r->e);
    fake_stop(&r->f);
    uv_close((uv_handle_t *)&r->guard, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void slot_free(struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].answer);
        free(s[i].cname);
        free(s[i].site);
        free(s[i].ede);
    }
}

static struct engine_opts opts(uint64_t timeout, unsigned tries)
{
    struct engine_opts o;
    engine_opts_default(&o);
    o.timeout_ms = timeout;
    o.tries = tries;
    o.rate = 0;
    return o;
}

/* A run with the fake in mode and the engine's timeout and tries (opts). */
static void run_open(struct run *r, enum fake_mode mode, uint64_t timeout, unsigned tries)
{
    struct engine_opts o = opts(timeout, tries);
    run_init(r, mode, &o);
}

/* Submits one query to the fake and runs the loop until all called back. */
static void ask(struct run *r, struct slot *s, const char *qname, uint16_t qtype, bool rd, bool tcp)
{
    submit(r, s, qname, qtype, rd, tcp);
    run_wait(r);
}

/* Ends r (uv_loop_close asserted) and frees the n slots at s. */
static void run_end_free(struct run *r, struct slot *s, size_t n)
{
    run_end(r);
    slot_free(s, n);
}

/* The engine's counters now. */
static struct engine_stats stats_of(struct run *r)
{
    struct engine_stats st;
    engine_get_stats(r->e, &st);
    return st;
}

/* ---- answers ---- */

static void test_two_mx(void **state)
{
    (void)state;
    struct run r;
    struct slot s[2] = {0};
    run_open(&r, FAKE_MX2, PATIENT_MS, 2);
    ask(&r, &s[0], "Example.COM", LDNS_RR_TYPE_MX, false, false);
    assert_int_equal(s[0].calls, 1);
    assert_int_equal(s[0].status, OBS_OK);
    assert_int_equal(s[0].rcode, 0);
    assert_false(s[0].tcp);
    assert_int_equal(s[0].had_reply, whole_reply); /* the ldns_pkt only when asked for */
    assert_string_equal(s[0].answer, MX2_ANSWER);
    assert_int_equal(s[0].ttl, 120);
    assert_null(s[0].cname);
    assert_true(s[0].latency_ms >= 0 && s[0].latency_ms < PATIENT_MS);
    assert_int_equal(r.f.rd_set, 0);
    assert_int_equal(r.f.edns_1232, 1);
    assert_int_equal(r.f.nsid_asked, 1); /* every query asks for the NSID */
    assert_string_equal(s[0].site, "");  /* a reply without OPT: no site, no codes */
    assert_string_equal(s[0].ede, "");
    ask(&r, &s[1], "example.com.", LDNS_RR_TYPE_MX, true, false);
    assert_int_equal(s[1].status, OBS_OK);
    assert_int_equal(r.f.rd_set, 1);
    assert_int_equal(r.f.edns_1232, 2);
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.received, 2);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.completed, 2);
    assert_int_equal(st.inflight, 0);
    run_end_free(&r, s, 2);
}

/* One query to a fake of its own, the run ended; the engine's stats (st)
 * and the fake's counters (counters) as they were before the end, where
 * not NULL. */
static void one_run(enum fake_mode mode, uint64_t timeout, unsigned tries, const char *qname,
                    uint16_t qtype, bool rd, struct slot *s, struct engine_stats *st,
                    struct fake *counters)
{
    struct run r;
    run_open(&r, mode, timeout, tries);
    ask(&r, s, qname, qtype, rd, false);
    assert_int_equal(s->calls, 1);
    if (st != NULL)
        engine_get_stats(r.e, st);
    if (counters != NULL)
        *counters = r.f;
    run_end(&r);
}

static void one(enum fake_mode mode, const char *qname, uint16_t qtype, struct slot *s,
                struct engine_stats *st)
{
    one_run(mode, PATIENT_MS, 2, qname, qtype, false, s, st, NULL);
}

static void test_rcodes(void **state)
{
    (void)state;
    struct slot s[3] = {0};
    one(FAKE_SERVFAIL, "example.com", LDNS_RR_TYPE_MX, &s[0], NULL);
    assert_int_equal(s[0].status, OBS_SERVFAIL);
    assert_int_equal(s[0].rcode, LDNS_RCODE_SERVFAIL);
    assert_string_equal(s[0].answer, "");
    assert_int_equal(s[0].ttl, -1);
    one(FAKE_REFUSED, "example.com", LDNS_RR_TYPE_MX, &s[1], NULL);
    assert_int_equal(s[1].status, OBS_REFUSED);
    assert_int_equal(s[1].rcode, LDNS_RCODE_REFUSED);
    one(FAKE_NOTIMP, "example.com", LDNS_RR_TYPE_MX, &s[2], NULL);
    assert_int_equal(s[2].status, OBS_SERVFAIL); /* other rcodes: servfail, real rcode kept */
    assert_int_equal(s[2].rcode, LDNS_RCODE_NOTIMPL);
    slot_free(s, 3);
}

static void test_negative(void **state)
{
    (void)state;
    struct slot s[3] = {0};
    one(FAKE_NXDOMAIN, "nx.example.com", LDNS_RR_TYPE_MX, &s[0], NULL);
    assert_int_equal(s[0].status, OBS_NXDOMAIN);
    assert_int_equal(s[0].rcode, LDNS_RCODE_NXDOMAIN);
    assert_int_equal(s[0].ttl, 300); /* MINIMUM below the SOA's TTL */
    assert_string_equal(s[0].answer, "");
    one(FAKE_NXDOMAIN2, "nx.example.com", LDNS_RR_TYPE_MX, &s[1], NULL);
    assert_int_equal(s[1].status, OBS_NXDOMAIN);
    assert_int_equal(s[1].ttl, 60); /* the SOA's TTL below MINIMUM */
    one(FAKE_NODATA, "example.com", LDNS_RR_TYPE_MX, &s[2], NULL);
    assert_int_equal(s[2].status, OBS_NODATA);
    assert_int_equal(s[2].rcode, 0);
    assert_int_equal(s[2].ttl, 120);
    slot_free(s, 3);
}

static void test_truncated_then_tcp(void **state)
{
    (void)state;
    struct slot s = {0};
    struct run r;
    run_open(&r, FAKE_TC, PATIENT_MS, 2);
    ask(&r, &s, "example.com", LDNS_RR_TYPE_MX, false, false);
    assert_int_equal(s.status, OBS_OK);
    assert_true(s.tcp);
    assert_string_equal(s.answer, MX2_ANSWER);
    assert_int_equal(r.f.udp_queries, 1);
    assert_int_equal(r.f.tcp_queries, 1);
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.tcp_fallbacks, 1);
    assert_int_equal(st.sent, 2);
    run_end_free(&r, &s, 1);
}

static void test_straight_tcp(void **state)
{
    (void)state;
    struct slot s = {0};
    struct run r;
    run_open(&r, FAKE_MX2, PATIENT_MS, 2);
    ask(&r, &s, "example.com", LDNS_RR_TYPE_MX, true, true);
    assert_int_equal(s.status, OBS_OK);
    assert_true(s.tcp);
    assert_string_equal(s.answer, MX2_ANSWER);
    assert_int_equal(r.f.udp_queries, 0);
    assert_int_equal(r.f.tcp_queries, 1);
    assert_int_equal(r.f.rd_set, 1);
    run_end_free(&r, &s, 1);
}

/* ---- what is dropped ---- */

/* One query to a fake that sends something to drop (mode): the answer is
 * still the right one (want, when not NULL), and the engine counted
 * `dropped` replies dropped and, when received >= 0, `received` taken. */
static void dropped_case(enum fake_mode mode, const char *want, uint64_t dropped, int received)
{
    struct slot s = {0};
    struct engine_stats st;
    one(mode, "example.com", LDNS_RR_TYPE_MX, &s, &st);
    assert_int_equal(s.status, OBS_OK);
    if (want != NULL)
        assert_string_equal(s.answer, want);
    assert_int_equal(st.dropped, dropped);
    if (received >= 0)
        assert_int_equal(st.received, received);
    slot_free(&s, 1);
}

static void test_wrong_id_then_right(void **state)
{
    (void)state;
    dropped_case(FAKE_WRONGID, MX2_ANSWER, 1, 1);
}

static void test_other_port_dropped(void **state)
{
    (void)state;
    /* not "99 evil.": the socket is connected to the server, so the kernel
     * drops the datagram from the other port before the engine sees it */
    dropped_case(FAKE_OTHERPORT, MX2_ANSWER, 0, 1);
}

static void test_wrong_question_dropped(void **state)
{
    (void)state;
    dropped_case(FAKE_WRONGQ, NULL, 1, -1);
}

static void test_mixed_case_echo(void **state)
{
    (void)state;
    dropped_case(FAKE_MIXCASE, MX2_ANSWER, 0, -1);
}

/* ---- time ---- */

static void test_retry_answered(void **state)
{
    (void)state;
    struct slot s = {0};
    struct run r;
    run_open(&r, FAKE_DROPFIRST, 2000, 3);
    ask(&r, &s, "example.com", LDNS_RR_TYPE_MX, false, false);
    assert_int_equal(s.status, OBS_OK);
    assert_int_equal(r.f.udp_queries, 2);
    uint64_t took = s.at_ms - r.t0_ms;
    assert_true(took >= 995); /* the first wait is 2000 * 2/4 = 1000 ms */
    /* latency is that of the attempt that was answered, not since the first
     * (which would be at least the 1000 ms waited) */
    assert_true(s.latency_ms >= 0 && (uint64_t)s.latency_ms + 500 < took);
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.retries, 1);
    assert_int_equal(st.sent, 2);
    run_end_free(&r, &s, 1);
}

static void test_swallowed(void **state)
{
    (void)state;
    struct slot s[2] = {0};
    struct run r;
    run_open(&r, FAKE_SWALLOW, 500, 3);
    submit(&r, &s[0], "example.com", LDNS_RR_TYPE_MX, false, false);
    submit(&r, &s[1], "example.com", LDNS_RR_TYPE_MX, false, true); /* TCP: accepted, silent */
    run_wait(&r);
    for (int i = 0; i < 2; i++) {
        uint64_t took = s[i].at_ms - r.t0_ms;
        assert_int_equal(s[i].status, OBS_TIMEOUT);
        assert_int_equal(s[i].rcode, -1);
        assert_int_equal(s[i].latency_ms, -1);
        assert_false(s[i].had_reply);
        if (took < 1490 || took >= 3000)
            fail_msg("query %d took %llu ms, want 1500 (500 x 3)", i, (unsigned long long)took);
    }
    assert_true(s[1].tcp);
    assert_int_equal(r.f.udp_queries, 3);
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.timeouts, 2);
    run_end_free(&r, s, 2);
}

/* *a: 127.0.0.1 at a port nobody listens on (one bound on r's loop, noted
 * and closed). */
static void dead_port(struct run *r, struct sockaddr_in *a)
{
    uv_udp_t probe;
    int len = sizeof *a;
    uv_ip4_addr("127.0.0.1", 0, a);
    uv_udp_init(&r->loop, &probe);
    assert_int_equal(uv_udp_bind(&probe, (const struct sockaddr *)a, 0), 0);
    uv_udp_getsockname(&probe, (struct sockaddr *)a, &len);
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&r->loop, UV_RUN_NOWAIT);
}

static void test_unreachable(void **state)
{
    (void)state;
    struct slot s[2] = {0};
    struct run r;
    run_open(&r, FAKE_MX2, PATIENT_MS, 3); /* the first retry would go after 5 s */
    struct sockaddr_in a;
    dead_port(&r, &a);
    /* IPv6 loopback, same port: unreachable whether or not the host has IPv6 */
    struct sockaddr_in6 a6;
    uv_ip6_addr("::1", ntohs(a.sin_port), &a6);
    assert_int_equal(submit_to(&r, &s[0], (const struct sockaddr *)&a, sizeof a, "example.com",
                               LDNS_RR_TYPE_MX, true, false),
                     0);
    assert_int_equal(submit_to(&r, &s[1], (const struct sockaddr *)&a6, sizeof a6, "example.com",
                               LDNS_RR_TYPE_MX, true, false),
                     0);
    run_wait(&r);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s[i].status, OBS_UNREACHABLE);
        assert_int_equal(s[i].rcode, -1);
        if (s[i].at_ms - r.t0_ms >= PATIENT_MS / 4)
            fail_msg("unreachable took %llu ms", (unsigned long long)(s[i].at_ms - r.t0_ms));
    }
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.unreachable, 2);
    run_end_free(&r, s, 2);
}

/* Several queries in flight on one socket to a port nobody listens on: the
 * first ICMP error (or the failed send after it) ends all of them at once. */
static void test_unreachable_shared(void **state)
{
    (void)state;
    enum { N = 5 };
    struct slot s[N] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.share = 8;
    run_init(&r, FAKE_MX2, &o);
    struct sockaddr_in a;
    dead_port(&r, &a);
    for (int i = 0; i < N; i++)
        assert_int_equal(submit_to(&r, &s[i], (const struct sockaddr *)&a, sizeof a, "example.com",
                                   LDNS_RR_TYPE_MX, true, false),
                         0);
    run_wait(&r);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s[i].calls, 1);
        assert_int_equal(s[i].status, OBS_UNREACHABLE);
        if (s[i].at_ms - r.t0_ms >= PATIENT_MS / 4)
            fail_msg("unreachable took %llu ms", (unsigned long long)(s[i].at_ms - r.t0_ms));
    }
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.unreachable, N);
    run_end_free(&r, s, N);
}

static void test_tcp_huge_length(void **state)
{
    (void)state;
    struct slot s = {0};
    struct run r;
    run_open(&r, FAKE_HUGE_TCP, 500, 1);
    ask(&r, &s, "example.com", LDNS_RR_TYPE_MX, false, true);
    assert_int_equal(s.status, OBS_TIMEOUT);
    assert_true(s.tcp);
    assert_int_equal(r.f.tcp_queries, 1);
    uint64_t took = s.at_ms - r.t0_ms;
    assert_true(took >= 490 && took < 1000);
    run_end_free(&r, &s, 1);
}

/* ---- hostile bytes ---- */

static void test_malformed(void **state)
{
    (void)state;
    struct slot s[2] = {0};
    one(FAKE_GARBAGE, "example.com", LDNS_RR_TYPE_MX, &s[0], NULL);
    assert_int_equal(s[0].status, OBS_MALFORMED);
    assert_string_equal(s[0].answer, "");
    assert_false(s[0].had_reply);
    one(FAKE_BADNAME, "example.com", LDNS_RR_TYPE_MX, &s[1], NULL);
    assert_int_equal(s[1].status, OBS_MALFORMED);
    slot_free(s, 2);
}

static void test_cname_chain(void **state)
{
    (void)state;
    struct slot s[2] = {0};
    one(FAKE_CNAME, "www.example.com", LDNS_RR_TYPE_MX, &s[0], NULL);
    assert_int_equal(s[0].status, OBS_OK);
    assert_string_equal(s[0].answer, "10 mx.example.org.");
    assert_non_null(s[0].cname);
    assert_string_equal(s[0].cname, "a.example.net.");
    assert_int_equal(s[0].ttl, 200); /* the chain counts: min(600, 200, 400) */
    one(FAKE_CNAME, "www.example.com", LDNS_RR_TYPE_CNAME, &s[1], NULL);
    assert_int_equal(s[1].status, OBS_OK); /* a CNAME query reports the CNAME itself */
    assert_string_equal(s[1].answer, "a.example.net.");
    assert_null(s[1].cname);
    assert_int_equal(s[1].ttl, 600);
    slot_free(s, 2);
}

/* ---- pure judging ---- */

static ldns_pkt *mkpkt(const char *qname, int rcode, const char *const *answers, size_t n)
{
    ldns_pkt *p = ldns_pkt_new();
    ldns_rr *q = NULL;
    char line[256];
    snprintf(line, sizeof line, "%s IN MX", qname);
    assert_int_equal(ldns_rr_new_question_frm_str(&q, line, NULL, NULL), LDNS_STATUS_OK);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, answers[i], 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    return p;
}

static void test_judge(void **state)
{
    (void)state;
    struct engine_result r;
    char *ans = NULL, *cn = NULL;

    /* a CNAME loop ends the walk: nodata, the first target reported */
    static const char *const loop[] = {"a.example. 60 IN CNAME b.example.",
                                       "b.example. 60 IN CNAME a.example."};
    ldns_pkt *p = mkpkt("a.example.", 0, loop, 2);
    assert_int_equal(engine_judge_reply(p, "A.EXAMPLE", LDNS_RR_TYPE_MX, &r, &ans, &cn), 0);
    assert_int_equal(r.status, OBS_NODATA);
    assert_string_equal(ans, "");
    assert_string_equal(cn, "b.example.");
    assert_int_equal(r.ttl, -1); /* no SOA */
    free(ans);
    free(cn);

    /* not a response: unusable */
    ldns_pkt_set_qr(p, false);
    assert_int_equal(engine_judge_reply(p, "a.example", LDNS_RR_TYPE_MX, &r, &ans, &cn),
                     DP_EMALFORMED);
    assert_null(ans);
    assert_null(cn);
    ldns_pkt_free(p);

    /* records of the type at another owner do not make an answer */
    static const char *const other[] = {"b.example. 60 IN MX 0 .", "a.example. 30 CH MX 0 x."};
    p = mkpkt("a.example.", 0, other, 2);
    assert_int_equal(engine_judge_reply(p, "a.example", LDNS_RR_TYPE_MX, &r, &ans, &cn), 0);
    assert_int_equal(r.status, OBS_NODATA);
    free(ans);
    free(cn);
    ldns_pkt_free(p);

    /* null MX, duplicates */
    static const char *const nullmx[] = {"a.example. 60 IN MX 0 .", "a.example. 50 IN MX 0 ."};
    p = mkpkt("a.example.", 0, nullmx, 2);
    assert_int_equal(engine_judge_reply(p, "a.example.", LDNS_RR_TYPE_MX, &r, &ans, &cn), 0);
    assert_int_equal(r.status, OBS_OK);
    assert_string_equal(ans, "0 .");
    assert_int_equal(r.ttl, 50);
    assert_null(cn);
    free(ans);
    free(cn);
    ldns_pkt_free(p);
}

/* ---- the two readings of a reply (reply_paths.h) ---- */

/* A reply built with ldns: lines "q:", "an:", "ns:", "ar:" then a record
 * in zone-file form (the question: name and type); EDNS when edns_data is
 * not NULL (its RDATA, edns_len bytes) or ext_rcode is set. The wire bytes,
 * malloc'd. */
static uint8_t *craft(const char *const *lines, size_t n, int rcode, int ext_rcode,
                      const char *edns_data, size_t edns_len, size_t *len)
{
    ldns_pkt *p = ldns_pkt_new();
    assert_non_null(p);
    ldns_pkt_set_id(p, 0x1234);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    for (size_t i = 0; i < n; i++) {
        static const struct {
            const char *tag;
            ldns_pkt_section sec;
        } secs[] = {{"q:", LDNS_SECTION_QUESTION},
                    {"an:", LDNS_SECTION_ANSWER},
                    {"ns:", LDNS_SECTION_AUTHORITY},
                    {"ar:", LDNS_SECTION_ADDITIONAL}};
        size_t k = 0;
        while (k < 4 && strncmp(lines[i], secs[k].tag, strlen(secs[k].tag)) != 0)
            k++;
        assert_true(k < 4);
        const char *text = lines[i] + strlen(secs[k].tag);
        ldns_rr *rr = NULL;
        ldns_status st = secs[k].sec == LDNS_SECTION_QUESTION
                             ? ldns_rr_new_question_frm_str(&rr, text, NULL, NULL)
                             : ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL);
        assert_int_equal(st, LDNS_STATUS_OK);
        assert_true(ldns_pkt_push_rr(p, secs[k].sec, rr));
    }
    if (edns_data != NULL || ext_rcode != 0) {
        ldns_pkt_set_edns_udp_size(p, 1232);
        ldns_pkt_set_edns_extended_rcode(p, (uint8_t)ext_rcode);
        if (edns_data != NULL)
            ldns_pkt_set_edns_data(
                p, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, edns_len, edns_data));
    }
    uint8_t *w = NULL;
    assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
    ldns_pkt_free(p);
    return w;
}

/* w (len bytes) with raw records appended to the additional section. */
static uint8_t *append_ar(uint8_t *w, size_t *len, const uint8_t *rec, size_t reclen, unsigned nrec)
{
    w = realloc(w, *len + reclen);
    assert_non_null(w);
    memcpy(w + *len, rec, reclen);
    *len += reclen;
    unsigned ar = (unsigned)(w[10] << 8 | w[11]) + nrec;
    w[10] = (uint8_t)(ar >> 8);
    w[11] = (uint8_t)ar;
    return w;
}

struct paths_count {
    unsigned wire, pkt_only, neither, total;
};

static void paths_agree(const uint8_t *m, size_t len, struct paths_count *c)
{
    struct reply_paths_seen seen;
    const char *why = reply_paths_differ(m, len, &seen);
    if (why != NULL) {
        fprintf(stderr, "the readings differ (%s) on %zu bytes:", why, len);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, " %02x", m[i]);
        fprintf(stderr, "\n");
    }
    assert_null(why);
    if (!seen.question)
        return;
    c->total++;
    c->wire += seen.wire;
    c->pkt_only += !seen.wire && seen.pkt;
    c->neither += !seen.wire && !seen.pkt;
}

/* m, then every cut of it and every byte of it changed a few ways: both
 * readings agree on each (the changes make replies that fail to parse in
 * every section, compression pointers that go anywhere, other counts,
 * types, rcodes and flags). */
static void paths_agree_all(const uint8_t *m, size_t len, struct paths_count *c)
{
    uint8_t *x = malloc(len);
    assert_non_null(x);
    paths_agree(m, len, c);
    for (size_t cut = 0; cut < len; cut++)
        paths_agree(m, cut, c);
    for (size_t i = 0; i < len; i++) {
        const uint8_t vals[] = {0x00,
                                0x01,
                                0x02,
                                0x29,
                                0x3f,
                                0x40,
                                0xc0,
                                0xff,
                                (uint8_t)(m[i] ^ 0x20),
                                (uint8_t)(m[i] + 1),
                                (uint8_t)(m[i] - 1)};
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(x, m, len);
            x[i] = vals[v];
            paths_agree(x, len, c);
        }
    }
    free(x);
}

/* The wire reading against ldns_wire2pkt() on the reply shapes the engine
 * meets: the same records, the same verdict for every question asked of
 * them, the same site and EDE codes; and every reply it does not read
 * itself (a record that does not parse, a TSIG, a second OPT) left to
 * ldns_wire2pkt(). */
static void test_reply_paths(void **state)
{
    (void)state;
    /* NSID "fra1", EDE 3 with text, EDE 22 */
    static const char opts[] = "\x00\x03\x00\x04"
                               "fra1"
                               "\x00\x0f\x00\x05\x00\x03"
                               "old"
                               "\x00\x0f\x00\x02\x00\x16";
    static const char *const mx[] = {
        "q:d1.bench.test. IN MX",
        "an:d1.bench.test. 300 IN MX 10 mx1.d1.bench.test.",
        "an:D1.bench.TEST. 200 IN MX 20 mx2.elsewhere.example.",
        "ns:bench.test. 3600 IN NS ns.bench.test.",
        "ar:mx1.d1.bench.test. 3600 IN A 192.0.2.1",
        "ar:mx1.d1.bench.test. 3600 IN AAAA 2001:db8::1",
        "ar:ns.bench.test. 3600 IN A 127.0.0.1",
    };
    static const char *const nx[] = {
        "q:nope.bench.test. IN A",
        "ns:bench.test. 3600 IN SOA ns.bench.test. host.bench.test. 1 7200 900 1209600 300",
    };
    static const char *const cname[] = {
        "q:www.example.com. IN MX",
        "an:www.example.com. 60 IN CNAME a.example.net.",
        "an:a.example.net. 50 IN CNAME b.example.org.",
        "an:b.example.org. 40 IN MX 10 mx.example.org.",
        "an:other.example. 40 IN MX 10 glue.example.",
    };
    static const char *const referral[] = {
        "q:contoso.com. IN NS",
        "ns:contoso.com. 172800 IN NS ns1.contoso.com.",
        "ns:contoso.com. 172800 IN NS ns2.elsewhere.net.",
        "ar:ns1.contoso.com. 172800 IN A 192.0.2.53",
        "ar:ns1.contoso.com. 172800 IN AAAA 2001:db8::53",
    };
    static const char *const txt[] = {
        "q:selector1._domainkey.contoso.com. IN TXT",
        "an:selector1._domainkey.contoso.com. 60 IN TXT \"v=DKIM1; k=rsa\" \"p=\\009x\"",
        "an:selector1._domainkey.contoso.com. 60 IN CAA 0 issue \"ca.example\"",
        "an:selector1._domainkey.contoso.com. 60 IN SOA a. b. 1 2 3 4 5",
    };
    static const char *const qonly[] = {"q:example.com. IN MX"};
    struct {
        const char *const *lines;
        size_t n;
        int rcode, ext;
        const char *edns;
        size_t elen;
    } shapes[] = {
        {mx, 7, LDNS_RCODE_NOERROR, 0, opts, sizeof opts - 1},
        {mx, 7, LDNS_RCODE_NOERROR, 0, "", 0}, /* an OPT record without options */
        {mx, 2, LDNS_RCODE_NOERROR, 0, NULL, 0},
        {nx, 2, LDNS_RCODE_NXDOMAIN, 0, NULL, 0},
        {nx, 2, LDNS_RCODE_NOERROR, 0, opts + 8, 9}, /* nodata, an EDE */
        {cname, 5, LDNS_RCODE_NOERROR, 0, NULL, 0},
        {referral, 5, LDNS_RCODE_NOERROR, 0, "", 0},
        {txt, 4, LDNS_RCODE_NOERROR, 0, NULL, 0},
        {qonly, 1, LDNS_RCODE_SERVFAIL, 0, opts + 8, 9},
        {qonly, 1, LDNS_RCODE_FORMERR, 0, NULL, 0},
        {qonly, 1, LDNS_RCODE_REFUSED, 0, NULL, 0},
        {qonly, 1, LDNS_RCODE_NOTIMPL, 0, NULL, 0},
        {qonly, 1, LDNS_RCODE_NOERROR, 1, NULL, 0},               /* BADVERS */
        {mx, 2, LDNS_RCODE_NOERROR, 0xff, "\x00\x03\x00\x01", 4}, /* an option past the RDATA */
    };
    struct paths_count c = {0};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t len = 0;
        uint8_t *w = craft(shapes[i].lines, shapes[i].n, shapes[i].rcode, shapes[i].ext,
                           shapes[i].edns, shapes[i].elen, &len);
        struct paths_count one = {0};
        paths_agree(w, len, &one);
        assert_int_equal(one.wire, 1); /* a reply as servers send them: read from the wire */
        paths_agree_all(w, len, &c);
        free(w);
    }
    /* what the wire reading leaves to ldns_wire2pkt(), which parses them */
    static const uint8_t opt2[] = {0, 0, 41, 4, 208, 1, 0, 0, 0, 0, 0}; /* a second OPT */
    static const uint8_t tsig[] = {
        0, 0,   250, 0,   255, 0,   0,    0,    0,   0, 26,            /* root, TSIG, ANY, TTL 0 */
        8, 'h', 'm', 'a', 'c', '-', 'm',  'd',  '5', 0, 0,  0,   0, 0, /* algorithm, */
        0, 1,   1,   44,  0,   0,   0x12, 0x34, 0,   0, 0,  0,         /* time, fudge, MAC, ... */
        0, 0,   1,   0,   1,   0,   0,    0,    60,  0, 4,  192, 0, 2, 9}; /* then an A record */
    const struct {
        const uint8_t *rec;
        size_t len;
        unsigned nrec;
    } raws[] = {{opt2, sizeof opt2, 1}, {tsig, sizeof tsig, 2}};
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        size_t len = 0;
        uint8_t *w = craft(mx, 7, LDNS_RCODE_NOERROR, 0, opts, sizeof opts - 1, &len);
        w = append_ar(w, &len, raws[i].rec, raws[i].len, raws[i].nrec);
        struct paths_count one = {0};
        paths_agree(w, len, &one);
        assert_int_equal(one.pkt_only, 1);
        paths_agree_all(w, len, &c);
        free(w);
    }
    /* every kind of message came up among the changed ones */
    assert_true(c.wire > 0 && c.pkt_only > 0 && c.neither > 0);
}

/* engine__wire_name_same() of a against b (valid names of alen and blen
 * bytes) over blen bytes, checked against ldns_dname_compare() when the
 * lengths are equal. */
static bool wire_same(const char *a, size_t alen, const char *b, size_t blen)
{
    uint8_t x[64] = {0}; /* a, then zeros: at least blen bytes, as the callers see */
    assert_true(alen <= sizeof x && blen <= sizeof x);
    memcpy(x, a, alen);
    bool same = engine__wire_name_same(x, (const uint8_t *)b, blen);
    ldns_rdf *ra = ldns_dname_new_frm_data((uint16_t)alen, a);
    ldns_rdf *rb = ldns_dname_new_frm_data((uint16_t)blen, b);
    if (ra != NULL && rb != NULL && alen == blen)
        assert_int_equal(same, ldns_dname_compare(ra, rb) == 0);
    ldns_rdf_deep_free(ra);
    ldns_rdf_deep_free(rb);
    return same;
}

#define WIRE_SAME(a, b) wire_same(a, sizeof a - 1, b, sizeof b - 1)

static void test_wire_name_same(void **state)
{
    (void)state;
    /* equal names, letters in any case, either side */
    assert_true(WIRE_SAME("\007example\003com\000", "\007example\003com\000"));
    assert_true(WIRE_SAME("\007ExAmPlE\003COM\000", "\007example\003com\000"));
    assert_true(WIRE_SAME("\007example\003com\000", "\007EXAMPLE\003Com\000"));
    assert_true(WIRE_SAME("\006_DMARC\001x\000", "\006_dmarc\001X\000"));
    /* the root */
    assert_true(WIRE_SAME("\000", "\000"));
    assert_false(WIRE_SAME("\001a\000", "\000"));
    assert_false(WIRE_SAME("\000", "\001a\000"));
    /* one letter or digit differs */
    assert_false(WIRE_SAME("\007exbmple\003com\000", "\007example\003com\000"));
    assert_false(WIRE_SAME("\0011\000", "\0012\000"));
    /* different lengths: the longer or shorter name differs within the first
     * n bytes (a length byte, or the root where a label goes on) */
    assert_false(WIRE_SAME("\003abc\000", "\004abcd\000"));
    assert_false(WIRE_SAME("\004abcd\000", "\003abc\000"));
    assert_false(WIRE_SAME("\003abc\001d\000", "\003abc\000"));
    assert_false(WIRE_SAME("\003abc\000\000", "\003abc\001d\000"));
    /* the same letters, labels split elsewhere */
    assert_false(WIRE_SAME("\003abc\000", "\002ab\001c\000"));
    assert_false(WIRE_SAME("\002ab\001c\000", "\003abc\000"));
    assert_false(WIRE_SAME("\001a\002bc\000", "\002ab\001c\000"));
    assert_false(WIRE_SAME("\002AB\001c\000", "\001a\002bc\000"));
    /* only A-Z fold: not the bytes 0x20 away from other ASCII signs, nor
     * Latin-1 letters */
    assert_false(WIRE_SAME("\001@\000", "\001`\000"));
    assert_false(WIRE_SAME("\001[\000", "\001{\000"));
    assert_false(WIRE_SAME("\001\xc4\000", "\001\xe4\000"));
    /* bytes of a reply that are no valid name: a letter where b has a length
     * byte never matches, folded or not */
    assert_false(
        engine__wire_name_same((const uint8_t *)"Aabc\000", (const uint8_t *)"\003abc\000", 5));
    assert_false(
        engine__wire_name_same((const uint8_t *)"Cabc\000", (const uint8_t *)"\003abc\000", 5));
}

/* The engine builds its query message by hand: it must be, byte for byte
 * (ID aside), what ldns_pkt2wire makes of the same query. A plain blocking
 * socket stands in for the server and reads the datagram. */
static void on_query_wire_result(const struct engine_result *res, void *arg)
{
    (void)res;
    (*(unsigned *)arg)++;
}

static void query_wire_case(const char *qname, uint16_t qtype, bool rd)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    struct timeval tv = {.tv_sec = 2};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);

    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct engine_opts o;
    engine_opts_default(&o);
    o.rate = 0;
    struct engine *e = NULL;
    assert_int_equal(engine_new(&loop, &o, &e), 0);
    unsigned calls = 0;
    struct engine_query q = {.sa = (const struct sockaddr *)&sa,
                             .salen = sizeof sa,
                             .qname = qname,
                             .qtype = qtype,
                             .rd = rd,
                             .cb = on_query_wire_result,
                             .arg = &calls};
    assert_int_equal(engine_submit(e, &q), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    uint8_t got[512];
    ssize_t n = recv(fd, got, sizeof got, 0);
    assert_true(n >= 12);

    ldns_pkt *p =
        ldns_pkt_query_new(ldns_dname_new_frm_str(qname), (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, 0);
    assert_non_null(p);
    ldns_pkt_set_rd(p, rd);
    ldns_pkt_set_edns_udp_size(p, 1232);
    ldns_edns_option_list *ol = ldns_edns_option_list_new();
    assert_non_null(ol);
    assert_true(ldns_edns_option_list_push(ol, ldns_edns_new_from_data(LDNS_EDNS_NSID, 0, "")));
    ldns_pkt_set_edns_option_list(p, ol);
    uint8_t *want = NULL;
    size_t wantlen = 0;
    assert_int_equal(ldns_pkt2wire(&want, p, &wantlen), LDNS_STATUS_OK);
    assert_int_equal((size_t)n, wantlen);
    want[0] = got[0];
    want[1] = got[1];
    assert_memory_equal(got, want, wantlen);
    free(want);
    ldns_pkt_free(p);

    engine_close(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fd);
}

/* n labels of len letters ('a', 'b', ...) joined by dots, a final dot when asked. */
static void dotted(char *out, size_t len, size_t n, bool final_dot)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[o++] = '.';
        memset(out + o, 'a' + (int)i, len);
        o += len;
    }
    if (final_dot)
        out[o++] = '.';
    out[o] = '\0';
}

static void test_query_wire(void **state)
{
    (void)state;
    query_wire_case("example.com", LDNS_RR_TYPE_MX, false);
    query_wire_case("Mixed.Case.Example.", LDNS_RR_TYPE_A, true);
    query_wire_case(".", LDNS_RR_TYPE_NS, true);
    query_wire_case("_dmarc.contoso.com.", LDNS_RR_TYPE_TXT, false);
    query_wire_case("a\\.b\032c.example", LDNS_RR_TYPE_AAAA, true);
    query_wire_case("x.example", 65280, false);
    /* names the engine cuts at the dots itself, at the edges of that path,
     * and the longest ones, which ldns reads for it */
    query_wire_case("a", LDNS_RR_TYPE_A, false);
    query_wire_case("a.", LDNS_RR_TYPE_A, false);
    char name[300];
    dotted(name, 63, 1, false); /* the longest label */
    query_wire_case(name, LDNS_RR_TYPE_MX, false);
    dotted(name, 49, 5, true); /* 250 characters with the final dot */
    assert_int_equal(strlen(name), 250);
    query_wire_case(name, LDNS_RR_TYPE_MX, false);
    dotted(name, 49, 5, false); /* 249 without */
    query_wire_case(name, LDNS_RR_TYPE_MX, true);
    dotted(name, 62, 4, false); /* 251: 255 bytes in wire form, the most there is */
    assert_int_equal(strlen(name), 251);
    query_wire_case(name, LDNS_RR_TYPE_MX, false);
}

/* ---- EDNS: NSID and Extended DNS Errors in, FORMERR/NOTIMP/BADVERS without EDNS again ---- */

static void nsid_case(const char *nsid, size_t n, const char *want_site)
{
    struct run r;
    struct slot s = {0};
    run_open(&r, FAKE_NSID, 1000, 2);
    memcpy(r.f.nsid, nsid, n);
    r.f.nsid_len = n;
    ask(&r, &s, "example.com", LDNS_RR_TYPE_MX, true, false);
    assert_int_equal(s.status, OBS_OK);
    assert_string_equal(s.answer, MX2_ANSWER);
    assert_int_equal(r.f.nsid_asked, 1);
    assert_string_equal(s.site, want_site);
    assert_string_equal(s.ede, "3;22"); /* codes in the order sent, texts left out */
    run_end_free(&r, &s, 1);
}

static void test_nsid_ede(void **state)
{
    (void)state;
    nsid_case("fra1.anycast-7", 14, "fra1.anycast-7"); /* the first NSID, printable: as is */
    nsid_case("\x01\xab"
              "x",
              3, "01ab78"); /* not printable: hex of every byte */
    nsid_case("a b", 3, "a b");
    nsid_case("", 0, "second"); /* no NSID first: the later one */

    /* one engine, the NSID changing from one reply to the next: the engine
     * keeps the texts of the last OPT RDATA it read, and each reply still
     * gets its own */
    static const char *const seq[][2] = {{"fra1", "fra1"}, {"fra1", "fra1"}, {"ams2", "ams2"},
                                         {"", "second"},   {"fra1", "fra1"}, {"fra", "fra"}};
    struct run r;
    struct slot s[6] = {0};
    run_open(&r, FAKE_NSID, 1000, 2);
    for (size_t i = 0; i < 6; i++) {
        r.f.nsid_len = strlen(seq[i][0]);
        memcpy(r.f.nsid, seq[i][0], r.f.nsid_len);
        ask(&r, &s[i], "example.com", LDNS_RR_TYPE_MX, true, false);
        assert_int_equal(s[i].status, OBS_OK);
        assert_string_equal(s[i].site, seq[i][1]);
        assert_string_equal(s[i].ede, "3;22");
    }
    run_end_free(&r, s, 6);
}

/* The fake's counters after one query (r is ended). */
static void one_fake(enum fake_mode mode, uint64_t timeout, unsigned tries, struct slot *s,
                     struct engine_stats *st, struct fake *counters)
{
    one_run(mode, timeout, tries, "example.com", LDNS_RR_TYPE_MX, true, s, st, counters);
}

static void test_edns_fallback(void **state)
{
    (void)state;
    static const enum fake_mode modes[] = {FAKE_FORMERR_NOQ, FAKE_BADVERS};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct slot s = {0};
        struct engine_stats st;
        struct fake f;
        /* a long timeout: the second query follows the error reply, not a timer */
        one_fake(modes[i], 8000, 2, &s, &st, &f);
        assert_int_equal(s.status, OBS_OK);
        assert_string_equal(s.answer, MX2_ANSWER);
        assert_int_equal(f.udp_queries, 2);
        assert_int_equal(f.no_edns, 1); /* the second one without EDNS */
        assert_int_equal(f.nsid_asked, 1);
        assert_int_equal(st.edns_fallbacks, 1);
        assert_int_equal(st.retries, 0);
        assert_int_equal(st.received, 2);
        assert_int_equal(st.timeouts, 0);
        slot_free(&s, 1);
    }
    /* an error that stays without EDNS is the answer: asked once more only */
    struct slot s = {0};
    struct engine_stats st;
    struct fake f;
    one_fake(FAKE_FORMERR, 8000, 2, &s, &st, &f);
    assert_int_equal(s.status, OBS_SERVFAIL);
    assert_int_equal(s.rcode, LDNS_RCODE_FORMERR);
    assert_int_equal(f.udp_queries, 2);
    assert_int_equal(f.no_edns, 1);
    assert_int_equal(st.edns_fallbacks, 1);
    slot_free(&s, 1);
    memset(&s, 0, sizeof s);
    one_fake(FAKE_NOTIMP, 8000, 2, &s, &st, &f);
    assert_int_equal(s.rcode, LDNS_RCODE_NOTIMPL);
    assert_int_equal(f.udp_queries, 2);
    assert_int_equal(f.no_edns, 1);
    slot_free(&s, 1);
    /* SERVFAIL is not about EDNS: no second query */
    memset(&s, 0, sizeof s);
    one_fake(FAKE_SERVFAIL, 8000, 2, &s, &st, &f);
    assert_int_equal(s.status, OBS_SERVFAIL);
    assert_int_equal(f.udp_queries, 1);
    assert_int_equal(st.edns_fallbacks, 0);
    slot_free(&s, 1);
}

/* An error reply with no question from the right source and ID is that
 * rcode at once (not a timeout); with NOERROR, or a wrong ID, it is dropped. */
static void test_no_question(void **state)
{
    (void)state;
    struct slot s = {0};
    struct engine_stats st;
    struct fake f;
    one_fake(FAKE_NOQ_REFUSED, 8000, 2, &s, &st, &f);
    assert_int_equal(s.status, OBS_REFUSED);
    assert_int_equal(s.rcode, LDNS_RCODE_REFUSED);
    assert_int_equal(s.had_reply, whole_reply);
    assert_int_equal(f.udp_queries, 1);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.dropped, 0);
    slot_free(&s, 1);
    memset(&s, 0, sizeof s);
    one_fake(FAKE_NOQ_NOERROR, 300, 2, &s, &st, &f);
    assert_int_equal(s.status, OBS_TIMEOUT);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(f.udp_queries, 2);
    slot_free(&s, 1);
    memset(&s, 0, sizeof s);
    one_fake(FAKE_NOQ_WRONGID, 8000, 2, &s, &st, &f);
    assert_int_equal(s.status, OBS_OK);
    assert_string_equal(s.answer, MX2_ANSWER);
    assert_int_equal(st.dropped, 1);
    slot_free(&s, 1);
}

static void test_bad_submit(void **state)
{
    (void)state;
    struct run r;
    struct slot s = {0};
    run_init(&r, FAKE_MX2, NULL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(submit_to(&r, &s, (const struct sockaddr *)&r.f.addr, sizeof r.f.addr,
                               longname, LDNS_RR_TYPE_MX, false, false),
                     DP_EINPUT);
    assert_int_equal(submit_to(&r, &s, (const struct sockaddr *)&r.f.addr, 4, "example.com",
                               LDNS_RR_TYPE_MX, false, false),
                     DP_EINPUT);
    /* names ldns refuses are refused, whichever path reads them */
    char label64[80];
    dotted(label64, 64, 1, false);
    char wire256[300];
    dotted(wire256, 63, 4, false); /* 255 characters, 257 bytes in wire form */
    const char *bad[] = {"", "..", "a..b", ".a", "a.b..", label64, wire256};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ldns_rdf *d = ldns_dname_new_frm_str(bad[i]);
        if (d != NULL)
            fail_msg("ldns reads \"%s\" as a name", bad[i]);
        if (submit_to(&r, &s, (const struct sockaddr *)&r.f.addr, sizeof r.f.addr, bad[i],
                      LDNS_RR_TYPE_MX, false, false) != DP_EINPUT)
            fail_msg("the engine took \"%s\"", bad[i]);
    }
    uv_run(&r.loop, UV_RUN_NOWAIT);
    assert_int_equal(s.calls, 0);
    /* options out of range: no engine */
    struct engine *e = NULL;
    struct engine_opts o = opts(2000, 3);
    o.share = 0;
    assert_int_equal(engine_new(&r.loop, &o, &e), DP_EINPUT);
    o.share = 65;
    assert_int_equal(engine_new(&r.loop, &o, &e), DP_EINPUT);
    o.share = 64;
    o.reuse = 0;
    assert_int_equal(engine_new(&r.loop, &o, &e), DP_EINPUT);
    o.reuse = 1;
    o.tries = 17;
    assert_int_equal(engine_new(&r.loop, &o, &e), DP_EINPUT);
    assert_null(e);
    run_end(&r);
}

/* ---- queueing ---- */

/* Submits n MX questions PREFIX0.example.com .. PREFIX<n-1>.example.com. */
static void submit_numbered(struct run *r, struct slot *s, unsigned n, const char *prefix)
{
    for (unsigned i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%u.example.com", prefix, i);
        s[i].index = i;
        submit(r, &s[i], name, LDNS_RR_TYPE_MX, false, false);
    }
}

/* Each of those got one callback with its own answer from FAKE_MX1/HOLD/TWICE. */
static void assert_numbered(const struct slot *s, unsigned n, const char *prefix)
{
    for (unsigned i = 0; i < n; i++) {
        char want[80];
        snprintf(want, sizeof want, "10 mx.%s%u.example.com.", prefix, i);
        assert_int_equal(s[i].calls, 1);
        assert_int_equal(s[i].status, OBS_OK);
        assert_string_equal(s[i].answer, want);
    }
}

/* ---- the timeouts: one timer for the engine, a heap of the queries that wait ---- */

/* Queries answered at once leave the heap early (the first of them its
 * head) and the silent ones still wait their whole budget, each retried on
 * its own schedule, ending in the order they were started. */
static void test_timeouts_shared(void **state)
{
    (void)state;
    enum { N = 6 };
    struct slot s[N] = {0};
    struct run r;
    run_open(&r, FAKE_MX1, 400, 3); /* waits 200, 400, 600: 1200 ms in all */
    struct fake silent;
    assert_int_equal(fake_start(&silent, &r.loop, FAKE_SWALLOW), 0);
    for (int i = 0; i < N; i++) { /* even: answered at once; odd: never */
        char name[32];
        snprintf(name, sizeof name, "q%d.example.com", i);
        if (i % 2 == 0)
            submit(&r, &s[i], name, LDNS_RR_TYPE_MX, false, false);
        else
            assert_int_equal(submit_to(&r, &s[i], (const struct sockaddr *)&silent.addr,
                                       sizeof silent.addr, name, LDNS_RR_TYPE_MX, false, false),
                             0);
    }
    run_wait(&r);
    for (int i = 0; i < N; i += 2) {
        char want[40];
        snprintf(want, sizeof want, "10 mx.q%d.example.com.", i);
        assert_int_equal(s[i].status, OBS_OK);
        assert_string_equal(s[i].answer, want);
        assert_true(s[i].order <= N / 2); /* before any of the silent ones */
    }
    unsigned last = 0;
    for (int i = 1; i < N; i += 2) {
        uint64_t took = s[i].at_ms - r.t0_ms;
        assert_int_equal(s[i].calls, 1);
        assert_int_equal(s[i].status, OBS_TIMEOUT);
        if (took < 1190 || took >= 2400)
            fail_msg("silent query %d took %llu ms, want 1200", i, (unsigned long long)took);
        assert_true(s[i].order > last); /* in the order they were started */
        last = s[i].order;
    }
    assert_int_equal(silent.udp_queries, 3 * (N / 2));
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.retries, 2 * (N / 2));
    assert_int_equal(st.timeouts, N / 2);
    fake_stop(&silent);
    run_end_free(&r, s, N);
}

struct later {
    struct run *r;
    struct slot *s;
    uint64_t at_ms; /* when it was submitted */
};

static void on_later(uv_timer_t *t)
{
    struct later *l = t->data;
    l->at_ms = now_ms();
    submit(l->r, l->s, "late.example.com", LDNS_RR_TYPE_MX, false, false);
    uv_close((uv_handle_t *)t, NULL);
}

/* Two silent queries started 200 ms apart: their attempts interleave in the
 * heap (a first attempt due before the other's second), and each still gets
 * its full budget from its own start. */
static void test_timeouts_staggered(void **state)
{
    (void)state;
    struct slot s[2] = {0};
    struct run r;
    run_open(&r, FAKE_SWALLOW, 300, 3); /* waits 150, 300, 450: 900 ms in all */
    submit(&r, &s[0], "early.example.com", LDNS_RR_TYPE_MX, false, false);
    uv_timer_t t;
    struct later l = {.r = &r, .s = &s[1]};
    assert_int_equal(uv_timer_init(&r.loop, &t), 0);
    t.data = &l;
    assert_int_equal(uv_timer_start(&t, on_later, 200, 0), 0);
    run_wait(&r);
    assert_int_equal(r.done, 2);
    uint64_t took0 = s[0].at_ms - r.t0_ms, took1 = s[1].at_ms - l.at_ms;
    for (int i = 0; i < 2; i++)
        assert_int_equal(s[i].status, OBS_TIMEOUT);
    if (took0 < 890 || took0 >= 1800 || took1 < 890 || took1 >= 1800)
        fail_msg("took %llu and %llu ms, want 900 each", (unsigned long long)took0,
                 (unsigned long long)took1);
    assert_int_equal(s[0].order, 1);
    assert_int_equal(s[1].order, 2);
    assert_int_equal(r.f.udp_queries, 6);
    assert_int_equal(stats_of(&r).retries, 4);
    run_end_free(&r, s, 2);
}

struct timer_count {
    const uv_timer_t *skip; /* the test's guard */
    unsigned active;
};

static void count_timers(uv_handle_t *h, void *arg)
{
    struct timer_count *c = arg;
    if (h->type == UV_TIMER && uv_is_active(h) && h != (const uv_handle_t *)c->skip)
        c->active++;
}

/* Once every query has been answered the engine holds no running timer, so
 * it does not keep the caller's loop going for the timeouts of queries that
 * are done (as a timer per query closed with its query did not). */
static void test_idle_no_timer(void **state)
{
    (void)state;
    struct slot s[3] = {0};
    struct run r;
    run_open(&r, FAKE_MX1, PATIENT_MS, 3);
    submit_numbered(&r, s, 3, "idle");
    run_wait(&r);
    assert_numbered(s, 3, "idle");
    uv_run(&r.loop, UV_RUN_NOWAIT); /* the pump's turn after the last answer */
    struct timer_count c = {.skip = &r.guard};
    uv_walk(&r.loop, count_timers, &c);
    assert_int_equal(c.active, 0);
    run_end_free(&r, s, 3);
}

/* A server the socket cannot be connected to: 255.255.255.255 without
 * SO_BROADCAST, which Linux refuses at connect (or, in a namespace with no
 * route there, has no route to): the query ends unreachable at once and
 * nothing is sent anywhere. */
static void test_connect_fails(void **state)
{
    (void)state;
    struct slot s = {0};
    struct run r;
    run_open(&r, FAKE_MX2, PATIENT_MS, 3);
    struct sockaddr_in a;
    assert_int_equal(uv_ip4_addr("255.255.255.255", 53, &a), 0);
    assert_int_equal(submit_to(&r, &s, (const struct sockaddr *)&a, sizeof a, "example.com",
                               LDNS_RR_TYPE_MX, false, false),
                     0);
    run_wait(&r);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, OBS_UNREACHABLE);
    assert_true(s.at_ms - r.t0_ms < PATIENT_MS / 4);
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.unreachable, 1);
    assert_int_equal(st.retries, 0);
    run_end_free(&r, &s, 1);
}

static void test_rate_limit(void **state)
{
    (void)state;
    enum { N = 20, RATE = 50 };
    struct slot s[N] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 2);
    o.rate = RATE;
    run_init(&r, FAKE_MX1, &o);
    submit_numbered(&r, s, N, "n");
    run_wait(&r);
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(s[i].status, OBS_OK);
        if (s[i].at_ms > last)
            last = s[i].at_ms;
    }
    /* 20 at 50/s, one token in the bucket to start: 19/50 s = 380 ms */
    uint64_t took = last - r.t0_ms;
    if (took < 300)
        fail_msg("%d queries at %d/s took only %llu ms", N, RATE, (unsigned long long)took);
    run_end_free(&r, s, N);
}

static void test_inflight_cap(void **state)
{
    (void)state;
    enum { N = 50, CAP = 10 };
    struct slot s[N] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 2);
    o.inflight = CAP;
    run_init(&r, FAKE_HOLD, &o);
    submit_numbered(&r, s, N, "n");
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.queued, N);
    run_wait(&r);
    for (int i = 0; i < N; i++)
        assert_int_equal(s[i].status, OBS_OK);
    engine_get_stats(r.e, &st);
    assert_int_equal(st.inflight_max, CAP);
    assert_true(r.f.held_max <= CAP);
    assert_int_equal(st.retries, 0);
    run_end_free(&r, s, N);
}

static void many(unsigned share, unsigned reuse)
{
    enum { N = 2000 };
    struct slot *s = calloc(N, sizeof *s);
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.inflight = 512;
    o.share = share;
    o.reuse = reuse;
    run_init(&r, FAKE_MX1, &o);
    submit_numbered(&r, s, N, "host");
    run_wait(&r);
    assert_numbered(s, N, "host");
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.completed, N);
    assert_int_equal(st.received, N);
    /* every attempt went out once and nothing more reached the server; the
     * N answers above, each its own query's, show that no reply was missed.
     * What matched no query is not held against the engine: the late reply
     * to a first attempt when a slow machine sent the query again, or a
     * datagram another program on this shared loopback meant for a port one
     * of these 2000 sockets now holds (the likely cause of the one drop seen
     * with no retry at all, under valgrind beside two CPU hogs) */
    if (st.sent > N + st.retries || r.f.udp_queries > st.sent)
        fail_msg("%llu sent for %u queries and %llu retries, the server got %u",
                 (unsigned long long)st.sent, N, (unsigned long long)st.retries, r.f.udp_queries);
    run_end_free(&r, s, N);
    free(s);
}

static void test_many(void **state)
{
    (void)state;
    many(1, 1);   /* a fresh socket per query */
    many(1, 16);  /* sockets lent again to the next query */
    many(8, 64);  /* the default: eight at once per socket (their IDs must differ) */
    many(64, 64); /* the most at once */
}

/* ---- sockets shared and reused ---- */

/* n queries to a server that holds its replies back and sends them last
 * first: each must get its own answer, over as many source ports as the
 * socket model gives. */
static void shared(unsigned share, unsigned reuse, unsigned inflight, unsigned n,
                   unsigned want_ports)
{
    struct slot *s = calloc(n, sizeof *s);
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.share = share;
    o.reuse = reuse;
    o.inflight = inflight;
    run_init(&r, FAKE_HOLD, &o);
    submit_numbered(&r, s, n, "h");
    run_wait(&r);
    assert_numbered(s, n, "h");
    struct engine_stats st = stats_of(&r);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.retries, 0);
    assert_int_equal(r.f.udp_queries, n);
    if (r.f.nports != want_ports)
        fail_msg("share %u reuse %u inflight %u: %u queries came from %u ports, want %u", share,
                 reuse, inflight, n, r.f.nports, want_ports);
    run_end_free(&r, s, n);
    free(s);
}

static void test_shared_sockets(void **state)
{
    (void)state;
    shared(8, 64, 64, 8, 1); /* all eight at once on one socket, answered last first */
    shared(4, 64, 64, 8, 2); /* four at a time per socket */
    shared(4, 4, 1, 8, 2);   /* one after the other, a socket retired after four */
    shared(1, 1, 64, 8, 8);  /* a socket and port per query */
}

/* Every reply comes twice: the copy matches no query on the socket any more
 * (its query is done) and is dropped and counted, while the other queries on
 * the same socket still get their own answers. */
static void test_late_copy_dropped(void **state)
{
    (void)state;
    enum { N = 4 };
    struct slot s[N] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.share = N;
    run_init(&r, FAKE_TWICE, &o);
    submit_numbered(&r, s, N, "d");
    run_wait(&r);
    /* the last copy may still be unread when the last callback stops the loop */
    for (int i = 0; i < 5; i++)
        uv_run(&r.loop, UV_RUN_NOWAIT);
    assert_numbered(s, N, "d");
    struct engine_stats st = stats_of(&r);
    assert_int_equal(r.f.nports, 1);
    assert_int_equal(st.received, N);
    assert_int_equal(st.dropped, N);
    run_end_free(&r, s, N);
}

/* ---- shutdown ---- */

static void on_result_resubmit(const struct engine_result *res, void *arg)
{
    struct slot *s = arg;
    struct engine_query q = {.sa = (const struct sockaddr *)&s->run->f.addr,
                             .salen = sizeof s->run->f.addr,
                             .qname = "example.com",
                             .qtype = LDNS_RR_TYPE_MX,
                             .cb = on_result,
                             .arg = s};
    on_result(res, arg);
    /* the engine is closing: a new query is refused, not lost */
    s->rcode = engine_submit(s->run->e, &q);
}

static void on_close_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    r->closed = true;
    engine_close(r->e);
    uv_close((uv_handle_t *)t, NULL);
}

static void on_result_close(const struct engine_result *res, void *arg)
{
    struct slot *s = arg;
    on_result(res, arg);
    if (!s->run->closed) {
        s->run->closed = true;
        engine_close(s->run->e);
    }
}

/* The first answer's callback closes the engine while its socket (which could
 * take more queries) is still open, alone or shared with other queries: they
 * end at once, nothing hangs or leaks. */
static void close_in_callback(unsigned n)
{
    struct slot s[4] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.share = 4;
    run_init(&r, FAKE_MX1, &o);
    for (unsigned i = 0; i < n; i++) {
        struct engine_query q = {.sa = (const struct sockaddr *)&r.f.addr,
                                 .salen = sizeof r.f.addr,
                                 .qname = "example.com",
                                 .qtype = LDNS_RR_TYPE_MX,
                                 .cb = on_result_close,
                                 .arg = &s[i]};
        s[i].run = &r;
        assert_int_equal(engine_submit(r.e, &q), 0);
        r.expect++;
    }
    run_wait(&r);
    unsigned ok = 0, cut = 0;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(s[i].calls, 1);
        ok += s[i].status == OBS_OK;
        cut += s[i].status == OBS_TIMEOUT;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(cut, n - 1);
    assert_int_equal(r.f.nports, 1);
    run_end_free(&r, s, n);
}

static void test_close_in_callback(void **state)
{
    (void)state;
    close_in_callback(1);
    close_in_callback(3);
}

static void test_close_outstanding(void **state)
{
    (void)state;
    struct slot s[3] = {0};
    struct run r;
    struct engine_opts o = opts(PATIENT_MS, 3);
    o.inflight = 1;
    run_init(&r, FAKE_SWALLOW, &o);
    for (int i = 0; i < 3; i++) {
        struct engine_query q = {.sa = (const struct sockaddr *)&r.f.addr,
                                 .salen = sizeof r.f.addr,
                                 .qname = "example.com",
                                 .qtype = LDNS_RR_TYPE_MX,
                                 .cb = on_result_resubmit,
                                 .arg = &s[i]};
        s[i].run = &r;
        assert_int_equal(engine_submit(r.e, &q), 0);
        r.expect++;
    }
    uv_timer_t t;
    assert_int_equal(uv_timer_init(&r.loop, &t), 0);
    t.data = &r;
    assert_int_equal(uv_timer_start(&t, on_close_timer, 50, 0), 0);
    run_wait(&r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s[i].calls, 1);
        assert_int_equal(s[i].status, OBS_TIMEOUT);
        assert_int_equal(s[i].rcode, UV_ECANCELED);
    }
    assert_true(s[0].at_ms - r.t0_ms < PATIENT_MS / 2); /* closed at 50 ms, not timed out */
    run_end_free(&r, s, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_mx),
        cmocka_unit_test(test_rcodes),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_truncated_then_tcp),
        cmocka_unit_test(test_straight_tcp),
        cmocka_unit_test(test_wrong_id_then_right),
        cmocka_unit_test(test_other_port_dropped),
        cmocka_unit_test(test_wrong_question_dropped),
        cmocka_unit_test(test_mixed_case_echo),
        cmocka_unit_test(test_retry_answered),
        cmocka_unit_test(test_swallowed),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_unreachable_shared),
        cmocka_unit_test(test_tcp_huge_length),
        cmocka_unit_test(test_timeouts_shared),
        cmocka_unit_test(test_timeouts_staggered),
        cmocka_unit_test(test_idle_no_timer),
        cmocka_unit_test(test_connect_fails),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_cname_chain),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_reply_paths),
        cmocka_unit_test(test_wire_name_same),
        cmocka_unit_test(test_query_wire),
        cmocka_unit_test(test_nsid_ede),
        cmocka_unit_test(test_edns_fallback),
        cmocka_unit_test(test_no_question),
        cmocka_unit_test(test_bad_submit),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_inflight_cap),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_shared_sockets),
        cmocka_unit_test(test_late_copy_dropped),
        cmocka_unit_test(test_close_outstanding),
        cmocka_unit_test(test_close_in_callback),
    };
    /* the reply tests again, the engine asked for the whole reply each time */
    const struct CMUnitTest whole[] = {
        cmocka_unit_test(test_two_mx),          cmocka_unit_test(test_rcodes),
        cmocka_unit_test(test_negative),        cmocka_unit_test(test_truncated_then_tcp),
        cmocka_unit_test(test_straight_tcp),    cmocka_unit_test(test_wrong_question_dropped),
        cmocka_unit_test(test_mixed_case_echo), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_cname_chain),     cmocka_unit_test(test_nsid_ede),
        cmocka_unit_test(test_edns_fallback),   cmocka_unit_test(test_no_question),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("whole_reply", whole, whole_reply_on, NULL);
}
