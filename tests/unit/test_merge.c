/* Unit tests for obslog_merge (reports/merge.c): rows of other logs
 * appended once, each source round a new round in time order, the ledger
 * (.merge) making the next merge incremental and a changed source making it
 * a full comparison, collisions and damage refused with nothing appended,
 * a source of the older 17-column form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "reports.h"

#include "scratch.h"

/* Appends `rounds` rounds (two rows each) of vantage v to folder sub,
 * starting at round first, times t0 + 60 * round. */
static void host(const char *sub, const char *v, uint32_t first, uint32_t rounds, int64_t t0)
{
    struct obslog *l;
    char err[300];
    assert_int_equal(obslog_open(path_of(sub), 1000, OBSLOG_QUIET, &l, err, sizeof err), 0);
    for (uint32_t r = first; r < first + rounds; r++) {
        struct obs o[2];
        for (int i = 0; i < 2; i++) {
            o[i] = (struct obs){.time = t0 + 60 * (int64_t)r,
                                .vantage = v,
                                .round = r,
                                .domain = "contoso.com",
                                .check = "mx",
                                .qname = "contoso.com.",
                                .qtype = "MX",
                                .server = i ? "r2" : "r1",
                                .address = i ? "192.0.2.2" : "192.0.2.1",
                                .status = OBS_OK,
                                .rcode = 0,
                                .latency_ms = 3,
                                .ttl = 300,
                                .answer = i ? "10 old.example." : "0 new.example.",
                                .expected = "0 new.example.",
                                .match = i ? OBS_MATCH_NO : OBS_MATCH_YES,
                                .site = "",
                                .ede = ""};
        }
        assert_int_equal(obslog_append(l, o, 2, err, sizeof err), 0);
    }
    obslog_close(l);
}

struct count {
    unsigned rows;
    uint32_t last_round;
    char vantages[64];
};

static int count_row(const struct obs *o, unsigned line, void *arg)
{
    struct count *c = arg;
    (void)line;
    c->rows++;
    assert_true(o->round >= c->last_round);
    size_t n = strlen(c->vantages);
    if (o->round != c->last_round) /* one letter per round: its vantage's */
        snprintf(c->vantages + n, sizeof c->vantages - n, "%c", o->vantage[0]);
    c->last_round = o->round;
    return 0;
}

static int merge(const char *const *srcs, size_t n, struct merge_stats *st, char *err,
                 size_t errlen)
{
    struct obslog *l;
    char full[4][400];
    const char *p[4];
    for (size_t i = 0; i < n; i++) {
        snprintf(full[i], sizeof full[i], "%s", path_of(srcs[i]));
        p[i] = full[i];
    }
    int rc = obslog_open(path_of("c"), 1000, OBSLOG_QUIET, &l, err, errlen);
    if (rc == 0)
        rc = obslog_merge(l, p, n, st, err, errlen);
    obslog_close(l);
    return rc;
}

static struct count count_c(void)
{
    struct count c = {0};
    char err[300];
    assert_int_equal(obslog_read(path_of("c/observations.csv"), count_row, &c, err, sizeof err), 0);
    return c;
}

static void test_merge_once_and_grow(void **state)
{
    (void)state;
    struct merge_stats st;
    char err[600];
    host("a", "paris", 1, 3, 0);
    host("b", "tokyo", 1, 2, 90);
    const char *srcs[] = {"a", "b"};
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), 0);
    assert_int_equal(st.rows_appended, 10);
    assert_int_equal(st.rounds_appended, 5);
    assert_false(st.incremental);
    struct count c = count_c();
    assert_int_equal(c.rows, 10);
    assert_int_equal(c.last_round, 5);
    /* times: paris 60 120 180, tokyo 150 210: p p t p t */
    assert_string_equal(c.vantages, "pptpt");

    /* again: nothing, and only what came after the offsets was read */
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), 0);
    assert_int_equal(st.rows_appended, 0);
    assert_true(st.incremental);

    /* a source grew */
    host("a", "paris", 4, 2, 0);
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), 0);
    assert_true(st.incremental);
    assert_int_equal(st.rows_appended, 4);
    assert_int_equal(st.rounds_appended, 2);
    assert_int_equal(count_c().rows, 14);

    /* the ledger names the sources by their real paths */
    size_t len;
    char *led = slurp_path(path_of("c/.merge"), &len);
    assert_non_null(led);
    assert_memory_equal(led, "dnsprop-merge,1\r\n", 16);
    free(led);

    /* the ledger gone: a full comparison, the same result */
    assert_int_equal(unlink(path_of("c/.merge")), 0);
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), 0);
    assert_false(st.incremental);
    assert_int_equal(st.rows_appended, 0);
    assert_int_equal(st.rows_held, 14);
}

static void test_merge_collision(void **state)
{
    (void)state;
    struct merge_stats st;
    char err[600];
    host("a", "paris", 1, 2, 0);
    host("x", "paris", 1, 1, 30); /* another host with the same vantage */
    const char *one[] = {"a"}, *both[] = {"a", "x"}, *other[] = {"x"};
    assert_int_equal(merge(both, 2, &st, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "x/observations.csv:2 and "));
    assert_non_null(strstr(err, "a/observations.csv: vantage 'paris' round 1 differs"));
    /* nothing was appended: the new folder's log is empty */
    struct count c = count_c();
    assert_int_equal(c.rows, 0);
    assert_int_equal(merge(one, 1, &st, err, sizeof err), 0);
    assert_int_equal(merge(other, 1, &st, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "which this folder holds for it"));
    assert_int_equal(count_c().rows, 4);
}

static void test_merge_damage(void **state)
{
    (void)state;
    struct merge_stats st;
    char err[600];
    host("a", "paris", 1, 2, 0);
    mkdir(path_of("e"), 0755);
    FILE *f = fopen(path_of("e/observations.csv"), "wb");
    assert_non_null(f);
    fputs("time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,"
          "latency_ms,ttl,answer,expected,match\r\n"
          "2026-11-30 00:00:00,oslo,1,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,ok,NOERROR,"
          "1,300,0 a.,,\r\n"
          "2026-11-30 00:00:00,oslo,1,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,ok,NOERROR,"
          "1,300,0 a.,,maybe\r\n",
          f);
    fclose(f);
    const char *srcs[] = {"a", "e"};
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), DP_EDAMAGED);
    assert_non_null(strstr(err, "e/observations.csv:3: bad match 'maybe'"));
    assert_int_equal(count_c().rows, 0);
    /* the 17-column source alone is fine once repaired */
    f = fopen(path_of("e/observations.csv"), "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path_of("e/observations.csv"), n - (long)strlen(",,maybe\r\n")), 0);
    f = fopen(path_of("e/observations.csv"), "ab");
    fputs(",,yes\r\n", f);
    fclose(f);
    assert_int_equal(merge(srcs, 2, &st, err, sizeof err), 0);
    assert_int_equal(st.rows_appended, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_once_and_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
