/*
 * Tests of the round runner (monitor/run/round.c) against the demo world: real
 * DNS on loopback, the real engine, the real checks. A round must ask every
 * domain x check x server, order its rows, settle expected values from
 * --expect or the authoritative answer, resolve MX targets of resolvers only,
 * and end with every handle closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <uv.h>

#include "demo.h"
#include "run.h"

struct fixture {
    uv_loop_t loop;
    struct demo_world *world;
    struct engine *engine;
    struct rlist resolvers, authority;
    struct check_plan plan;
    bool primed;
    bool round_done;
    struct round_cfg cfg; /* the round borrows it: it lives as long as the round */
    struct round *round;
};

static void primed(struct demo_world *w, unsigned failed, void *arg)
{
    (void)w;
    struct fixture *f = arg;
    assert_int_equal(failed, 0);
    f->primed = true;
}

/* The world, primed, with resolvers `names` (by demo name) and its auth. */
static void fixture_start(struct fixture *f, const char *const *names, size_t nnames)
{
    char err[512];
    memset(f, 0, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    /* generous timeouts: the tests also run under valgrind, many times slower */
    struct demo_world_opts wo = {.upstream_timeout_ms = 20000};
    assert_int_equal(demo_world_start(&f->loop, &wo, &f->world), 0);
    assert_int_equal(demo_world_prime(f->world, primed, f), 0);
    while (!f->primed)
        uv_run(&f->loop, UV_RUN_ONCE);
    const struct demo_resolver_info *v;
    size_t n = demo_world_resolvers(f->world, &v);
    for (size_t k = 0; k < nnames; k++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(v[i].name, names[k]) == 0)
                assert_int_equal(rlist_add(&f->resolvers, v[i].name, v[i].address, "", "", false,
                                           err, sizeof err),
                                 0);
    assert_int_equal(f->resolvers.n, nnames);
    assert_int_equal(rlist_add(&f->authority, "ns1.contoso.test", demo_world_auth_address(f->world),
                               "", "", true, err, sizeof err),
                     0);
    struct engine_opts eo;
    engine_opts_default(&eo);
    eo.timeout_ms = 20000;
    eo.tries = 3;
    eo.rate = 0;
    /* The world's servers share this loop and each reads its one UDP socket:
     * with at most 64 queries out, a resolver's fetches and the queries to
     * the auth stay far below what a socket's receive buffer holds, however
     * slowly the loop turns (under valgrind a burst of 256 overflowed it and
     * queries were lost). */
    eo.inflight = 64;
    assert_int_equal(engine_new(&f->loop, &eo, &f->engine), 0);
    check_plan_init(&f->plan);
}

static void fixture_stop(struct fixture *f)
{
    round_free(f->round);
    engine_close(f->engine);
    demo_world_close(f->world);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rlist_deinit(&f->resolvers);
    rlist_deinit(&f->authority);
    check_plan_deinit(&f->plan);
}

static void done(struct round *r, void *arg)
{
    struct fixture *f = arg;
    assert_ptr_equal(r, f->round);
    f->round_done = true;
}

static void run_round(struct fixture *f, const struct round_cfg *cfg)
{
    assert_int_equal(round_start(&f->loop, f->engine, cfg, 7, done, f, &f->round), 0);
    while (!f->round_done)
        uv_run(&f->loop, UV_RUN_ONCE);
}

/* Runs one round over the domains (which must outlive the fixture's round)
 * against the fixture's resolvers and authority, and gives its rows (owned by
 * the round). */
static void run_domains(struct fixture *f, struct round_domain *doms, size_t ndoms,
                        const struct obs **rows, size_t *n)
{
    f->cfg = (struct round_cfg){.domains = doms,
                                .ndomains = ndoms,
                                .resolvers = &f->resolvers,
                                .authority = &f->authority,
                                .vantage = "test"};
    run_round(f, &f->cfg);
    assert_int_equal(round_rows(f->round, rows, n), 0);
}

static size_t count_rows(const struct obs *rows, size_t n, const char *server, const char *qtype)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if ((server == NULL || strcmp(rows[i].server, server) == 0) &&
            (qtype == NULL || strcmp(rows[i].qtype, qtype) == 0))
            c++;
    return c;
}

/* One domain, mx and soa, against two resolvers and the auth: the truth is
 * the authoritative answer, MX targets are resolved for resolvers only. */
static void test_one_domain(void **state)
{
    (void)state;
    static const char *const names[] = {"plain1", "servfail"};
    struct fixture f;
    fixture_start(&f, names, 2);
    char err[256];
    assert_int_equal(check_plan_parse_checks(&f.plan, "mx,soa", err, sizeof err), 0);
    struct round_domain dom = {.name = "contoso.test", .profile = PROFILE_NONE, .plan = &f.plan};
    const struct obs *rows;
    size_t n;
    run_domains(&f, &dom, 1, &rows, &n);
    /* mx: 3 MX rows + plain1's A and AAAA of mail.contoso.test; soa: 3 rows */
    assert_int_equal(n, 3 + 2 + 3);
    /* ordered: check, question, server (resolvers first, then auth), targets after their MX */
    static const char *const order[][3] = {
        {"mx", "plain1", "MX"},
        {"mx", "plain1", "A"},
        {"mx", "plain1", "AAAA"},
        {"mx", "servfail", "MX"},
        {"mx", "auth:ns1.contoso.test", "MX"},
        {"soa", "plain1", "SOA"},
        {"soa", "servfail", "SOA"},
        {"soa", "auth:ns1.contoso.test", "SOA"},
    };
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rows[i].check, order[i][0]);
        assert_string_equal(rows[i].server, order[i][1]);
        assert_string_equal(rows[i].qtype, order[i][2]);
        assert_int_equal(rows[i].round, 7);
        assert_string_equal(rows[i].vantage, "test");
        assert_string_equal(rows[i].domain, "contoso.test");
    }
    assert_string_equal(rows[0].answer, "10 mail.contoso.test.");
    assert_string_equal(rows[0].expected, "10 mail.contoso.test.");
    assert_int_equal(rows[0].match, OBS_MATCH_YES);
    assert_string_equal(rows[1].qname, "mail.contoso.test.");
    assert_string_equal(rows[1].answer, "192.0.2.25");
    assert_int_equal(rows[1].match, OBS_MATCH_NONE); /* target rows are not judged */
    assert_int_equal(rows[3].status, OBS_SERVFAIL);
    assert_int_equal(rows[3].match, OBS_MATCH_NONE); /* a failure is not an answer */
    assert_int_equal(rows[4].match, OBS_MATCH_YES);
    assert_int_equal(rows[5].match, OBS_MATCH_YES);
    fixture_stop(&f);
}

/* After the move a primed resolver still holds the old MX: stale against the
 * authoritative truth; an --expect of the new value makes the auth match. */
static void test_expect_and_stale(void **state)
{
    (void)state;
    static const char *const names[] = {"plain1"};
    struct fixture f;
    fixture_start(&f, names, 1);
    char err[256];
    assert_int_equal(demo_world_move_mx(f.world), 0);
    assert_int_equal(check_plan_parse_checks(&f.plan, "mx", err, sizeof err), 0);
    assert_int_equal(check_plan_add_expect(&f.plan, "mx=0 contoso-test.mail.protection.outlook.com",
                                           err, sizeof err),
                     0);
    struct round_domain dom = {.name = "contoso.test", .profile = PROFILE_NONE, .plan = &f.plan};
    const struct obs *rows;
    size_t n;
    run_domains(&f, &dom, 1, &rows, &n);
    assert_int_equal(count_rows(rows, n, "plain1", "MX"), 1);
    assert_string_equal(rows[0].answer, "10 mail.contoso.test.");
    assert_string_equal(rows[0].expected, "0 contoso-test.mail.protection.outlook.com.");
    assert_int_equal(rows[0].match, OBS_MATCH_NO);
    const struct obs *auth = &rows[n - 1];
    assert_string_equal(auth->server, "auth:ns1.contoso.test");
    assert_int_equal(auth->match, OBS_MATCH_YES);
    fixture_stop(&f);
}

/* Many domains: more queries than one feed window, every row present, the
 * domains in order. Names under contoso.test that do not exist answer
 * NXDOMAIN, which is an answer like any other. */
static void test_many_domains(void **state)
{
    (void)state;
    static const char *const names[] = {"plain1", "plain2", "cold"};
    struct fixture f;
    fixture_start(&f, names, 3);
    char err[256];
    assert_int_equal(check_plan_parse_checks(&f.plan, "mx,txt,ns,soa", err, sizeof err), 0);
    enum { NDOM = 400 };
    struct round_domain *doms = calloc(NDOM, sizeof *doms);
    static char dnames[NDOM][32];
    assert_non_null(doms);
    for (int i = 0; i < NDOM; i++) {
        snprintf(dnames[i], sizeof dnames[i], "d%03d.contoso.test", i);
        doms[i].name = dnames[i];
        doms[i].plan = &f.plan;
    }
    const struct obs *rows;
    size_t n;
    run_domains(&f, doms, NDOM, &rows, &n);
    /* 4 checks x 4 servers per domain; nothing resolves, so no target rows */
    assert_int_equal(n, (size_t)NDOM * 4 * 4);
    for (size_t i = 0; i < n; i++) {
        char want[DNSNAME_BUFLEN];
        snprintf(want, sizeof want, "d%03zu.contoso.test", i / 16);
        assert_string_equal(rows[i].domain, want);
        assert_int_equal(rows[i].status, OBS_NXDOMAIN);
        assert_int_equal(rows[i].match, OBS_MATCH_YES); /* all agree: no such name */
    }
    size_t done_q, total_q;
    round_progress(f.round, &done_q, &total_q);
    assert_int_equal(done_q, total_q);
    assert_int_equal(total_q, n);
    fixture_stop(&f);
    free(doms);
}

/* The caller's callback may free the round and close the engine, as run.c
 * does: the round ends from its own timer, never from inside round_start()
 * or an engine callback, so nothing of it is used after (ASan would say so),
 * and the loop closes with no handle left. */
struct freeing {
    struct fixture *f;
    bool starting; /* round_start() is under way */
    unsigned calls;
    size_t nrows;
    char first_answer[64];
};

static void done_and_free(struct round *r, void *arg)
{
    struct freeing *fr = arg;
    assert_false(fr->starting);
    fr->calls++;
    const struct obs *rows;
    assert_int_equal(round_rows(r, &rows, &fr->nrows), 0);
    assert_true(fr->nrows > 0);
    snprintf(fr->first_answer, sizeof fr->first_answer, "%s", rows[0].answer);
    round_free(r);
    fr->f->round = NULL;
    engine_close(fr->f->engine);
    fr->f->round_done = true;
}

static void test_done_frees_round(void **state)
{
    (void)state;
    static const char *const names[] = {"plain1"};
    struct fixture f;
    fixture_start(&f, names, 1);
    char err[256];
    assert_int_equal(check_plan_parse_checks(&f.plan, "mx", err, sizeof err), 0);
    struct round_domain dom = {.name = "contoso.test", .profile = PROFILE_NONE, .plan = &f.plan};
    f.cfg = (struct round_cfg){.domains = &dom,
                               .ndomains = 1,
                               .resolvers = &f.resolvers,
                               .authority = &f.authority,
                               .vantage = "test"};
    struct freeing fr = {.f = &f, .starting = true};
    assert_int_equal(round_start(&f.loop, f.engine, &f.cfg, 1, done_and_free, &fr, &f.round), 0);
    fr.starting = false;
    assert_int_equal(fr.calls, 0);
    while (!f.round_done)
        uv_run(&f.loop, UV_RUN_ONCE);
    /* the loop runs on: the callback ran once, and no second time */
    demo_world_close(f.world);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(fr.calls, 1);
    assert_int_equal(fr.nrows, 1 + 2 + 1); /* plain1: MX, A, AAAA; auth: MX */
    assert_string_equal(fr.first_answer, "10 mail.contoso.test.");
    assert_int_equal(uv_loop_close(&f.loop), 0);
    rlist_deinit(&f.resolvers);
    rlist_deinit(&f.authority);
    check_plan_deinit(&f.plan);
}

/* A round that cannot start (no domains) leaves no round and no handle: the
 * loop still closes. */
static void test_start_fails(void **state)
{
    (void)state;
    static const char *const names[] = {"plain1"};
    struct fixture f;
    fixture_start(&f, names, 1);
    f.cfg = (struct round_cfg){.domains = NULL,
                               .ndomains = 0,
                               .resolvers = &f.resolvers,
                               .authority = &f.authority,
                               .vantage = "test"};
    f.round = (struct round *)&f; /* round_start must clear it */
    assert_int_equal(round_start(&f.loop, f.engine, &f.cfg, 1, done, &f, &f.round), DP_EINPUT);
    assert_null(f.round);
    fixture_stop(&f);
    assert_false(f.round_done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_domain),   cmocka_unit_test(test_expect_and_stale),
        cmocka_unit_test(test_many_domains), cmocka_unit_test(test_done_frees_round),
        cmocka_unit_test(test_start_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
