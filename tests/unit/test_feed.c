/* Unit tests for rep__feed (reports/feed.c), the second thread that feeds a
 * log's aggregates for merge: the aggregates end the same as when every row
 * is added directly (through the thread and the one-core way), a row's
 * strings are copied (the caller's buffers are reused at once), a row
 * longer than a batch's text still goes through, an error of the
 * aggregates comes back with the tags of the row that failed, and ending
 * without draining joins the thread however much is queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feed.h"
#include "internal.h"

/* Row i of a synthetic log: two vantages taking turns by round (groups of
 * 60 rows), 3 domains x 4 checks x 5 servers, answers that change with the
 * round so states move. Parsed from its CSV line into rd (its strings point
 * into rd's buffer), as merge hands rows over. */
#define GROUP 60

static void make_row(uint32_t i, struct csvr *rd, char *line, size_t cap, struct obs *o)
{
    static const char *checks[] = {"mx", "spf", "ns", "soa"};
    uint32_t g = i / GROUP, k = i % GROUP;
    uint32_t round = g / 2 + 1;
    const char *van = g % 2 ? "tokyo" : "paris";
    uint32_t dom = k / 20, chk = (k / 5) % 4, srv = k % 5;
    bool conv = round >= 2 * srv + 1;
    int n =
        snprintf(line, cap,
                 "2026-11-30 %02u:%02u:00,%s,%u,d%u.example,%s,d%u.example.,%s,r%u,192.0.2.%u,"
                 "udp,ok,NOERROR,5,%u,%s,new.example.,%s,site%u,",
                 (unsigned)(round / 60) % 24, (unsigned)round % 60, van, (unsigned)round,
                 (unsigned)dom, checks[chk], (unsigned)dom, chk == 0 ? "MX" : "TXT", (unsigned)srv,
                 (unsigned)srv + 1, conv ? 3600u : 300u, conv ? "new.example." : "old.example.",
                 conv ? "yes" : "no", (unsigned)srv % 2);
    assert_true(n > 0 && (size_t)n < cap);
    char why[200];
    assert_int_equal(obs_parse_line_cols(rd, line, (size_t)n, OBS_NCOLUMNS, o, why, sizeof why), 0);
}

/* The parts of two finished aggregates that the reports are drawn from. */
static void assert_same_agg(const struct rep_agg *a, const struct rep_agg *b)
{
    assert_int_equal(a->ndoms, b->ndoms);
    assert_int_equal(a->nvans, b->nvans);
    assert_int_equal(a->ndcs, b->ndcs);
    assert_int_equal(a->ndcvs, b->ndcvs);
    assert_int_equal(a->ndcss, b->ndcss);
    assert_int_equal(a->nsites, b->nsites);
    assert_int_equal(a->nmxs, b->nmxs);
    assert_int_equal(a->nser, b->nser);
    assert_int_equal(a->last_round, b->last_round);
    for (uint32_t i = 0; i < a->ndcss; i++) {
        const struct rep_dcs *x = &a->dcss[i], *y = &b->dcss[i];
        assert_string_equal(a->str.s[x->server], b->str.s[y->server]);
        assert_int_equal(x->state, y->state);
        assert_int_equal(x->flaps, y->flaps);
        assert_int_equal(x->rounds, y->rounds);
        assert_int_equal(x->errors, y->errors);
        assert_int_equal(x->last_round, y->last_round);
        assert_int_equal(x->matching_since, y->matching_since);
        assert_int_equal(x->first_match, y->first_match);
        assert_int_equal(x->nsites, y->nsites);
        assert_string_equal(x->answer ? x->answer : "", y->answer ? y->answer : "");
    }
    for (uint32_t i = 0; i < a->nser; i++) {
        assert_int_equal(a->ser[i].n, b->ser[i].n);
        assert_memory_equal(a->ser[i].pts, b->ser[i].pts, a->ser[i].n * sizeof a->ser[i].pts[0]);
    }
}

/* A row whose answer alone is longer than a batch's text (256 KiB). */
static char *long_answer(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    return s;
}

static void feed_all(bool thread, struct rep_agg *fed, struct rep_agg *direct, uint32_t nrows)
{
    struct rep_feed *f;
    struct csvr rd;
    char line[512], why[300];
    char *big = long_answer(300u << 10);
    csvr_init(&rd);
    assert_int_equal(rep__feed_start(fed, thread, &f), 0);
    for (uint32_t i = 0; i < nrows; i++) {
        struct obs o;
        make_row(i, &rd, line, sizeof line, &o);
        if (i == nrows / 2) {
            /* strings that are not in rd: each copied by itself */
            o.answer = big;
            assert_int_equal(rep__feed_row(f, &o, NULL, 0, i), 0);
        } else {
            assert_int_equal(rep__feed_row(f, &o, &rd, 0, i), 0);
        }
        assert_int_equal(rep__agg_add(direct, &o, why, sizeof why), 0);
        /* the caller's buffers are reused at once */
        memset(rd.buf, 'X', rd.cap);
        memset(line, 'Y', sizeof line);
    }
    memset(big, 'Z', 300u << 10);
    uint32_t ts = 7, tl = 7;
    assert_int_equal(rep__feed_end(f, true, why, sizeof why, &ts, &tl), 0);
    assert_int_equal(ts, 7); /* untouched without an error */
    assert_int_equal(rep__agg_finish(fed), 0);
    assert_int_equal(rep__agg_finish(direct), 0);
    csvr_deinit(&rd);
    free(big);
}

static void test_feed_same_as_direct(void **state)
{
    (void)state;
    for (int thread = 0; thread < 2; thread++) {
        struct rep_agg *a = rep__agg_new(), *b = rep__agg_new();
        assert_non_null(a);
        assert_non_null(b);
        /* more than twice the rows the ring holds (16 x 512): the reader waits */
        feed_all(thread, a, b, 60u * 300);
        assert_int_equal(a->nvans, 2);
        assert_int_equal(a->last_round, 150);
        assert_same_agg(a, b);
        rep__agg_free(a);
        rep__agg_free(b);
    }
}

/* Hands rows 0..n-1 to f (row `bad` with a round already finished, none
 * when bad >= n), tagged 4 and line i + 2, until one is refused: its
 * result, *count the rows handed over. */
static int feed_rows(struct rep_feed *f, uint32_t n, uint32_t bad, uint32_t *count)
{
    struct csvr rd;
    char line[512];
    int rc = 0;
    uint32_t i;
    csvr_init(&rd);
    for (i = 0; i < n && rc == 0; i++) {
        struct obs o;
        make_row(i, &rd, line, sizeof line, &o);
        if (i == bad)
            o.round = 3; /* its vantage is past round 3 by now */
        rc = rep__feed_row(f, &o, &rd, 4, i + 2);
    }
    csvr_deinit(&rd);
    *count = i;
    return rc;
}

/* A row for a round already finished: the aggregates refuse it, and the
 * error names it by its tags; rows handed over after it are not fed. */
static void test_feed_error_named(void **state)
{
    (void)state;
    for (int thread = 0; thread < 2; thread++) {
        struct rep_agg *a = rep__agg_new();
        struct rep_feed *f;
        char why[300] = "";
        uint32_t bad = 5000, count, ts = 0, tl = 0;
        assert_int_equal(rep__feed_start(a, thread, &f), 0);
        /* the error comes back at a later batch, long before the end */
        assert_int_equal(feed_rows(f, 200000, bad, &count), DP_EDAMAGED);
        assert_true(count > bad && count < 200000);
        assert_int_equal(rep__feed_end(f, true, why, sizeof why, &ts, &tl), DP_EDAMAGED);
        assert_int_equal(ts, 4);
        assert_int_equal(tl, bad + 2);
        assert_non_null(strstr(why, "round 3 after round"));
        /* nothing after the bad row reached the aggregates */
        assert_true(a->last_round < bad / GROUP / 2 + 2);
        rep__agg_free(a);
    }
}

/* Ending without draining: what is queued is dropped, the thread joined
 * (under ASan and TSan: nothing leaked, no race). */
static void test_feed_drop(void **state)
{
    (void)state;
    struct rep_agg *a = rep__agg_new();
    struct rep_feed *f;
    char why[300] = "";
    uint32_t count, ts = 0, tl = 0;
    assert_int_equal(rep__feed_start(a, true, &f), 0);
    assert_int_equal(feed_rows(f, 30000, UINT32_MAX, &count), 0);
    assert_int_equal(count, 30000);
    assert_int_equal(rep__feed_end(f, false, why, sizeof why, &ts, &tl), 0);
    /* and one that was given nothing at all */
    assert_int_equal(rep__feed_start(a, true, &f), 0);
    assert_int_equal(rep__feed_end(f, true, why, sizeof why, &ts, &tl), 0);
    assert_int_equal(rep__feed_end(NULL, true, why, sizeof why, &ts, &tl), 0);
    rep__agg_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_same_as_direct),
        cmocka_unit_test(test_feed_error_named),
        cmocka_unit_test(test_feed_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
