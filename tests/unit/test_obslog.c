/* Unit tests for observations.csv (reports/obslog.c): creation, appending
 * and reading back, the next round, the torn last line, damage refused with
 * nothing changed, headers of another version, and the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "reports.h"

#include "scratch.h"

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static struct obs row(uint32_t round, const char *server, const char *answer)
{
    struct obs o = {.time = 1795996800 + 600 * (int64_t)(round - 1),
                    .vantage = "probe-1",
                    .round = round,
                    .domain = "contoso.com",
                    .check = "mx",
                    .qname = "contoso.com.",
                    .qtype = "MX",
                    .server = server,
                    .address = "127.0.0.1:5300",
                    .status = OBS_OK,
                    .rcode = 0,
                    .latency_ms = 3,
                    .ttl = 300,
                    .answer = answer,
                    .expected = "0 contoso-com.mail.protection.outlook.com.",
                    .match = OBS_MATCH_NO};
    return o;
}

struct collected {
    unsigned n;
    unsigned lines[16];
    char answers[16][128];
    uint32_t rounds[16];
};

static int collect(const struct obs *o, unsigned line, void *arg)
{
    struct collected *c = arg;
    if (c->n < 16) {
        c->lines[c->n] = line;
        c->rounds[c->n] = o->round;
        snprintf(c->answers[c->n], sizeof c->answers[0], "%s", o->answer);
    }
    c->n++;
    return 0;
}

static void test_create_append_read(void **state)
{
    (void)state;
    struct obslog *l = NULL;
    char err[512];
    char sub[300];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    assert_int_equal(obslog_open(sub, 1000, 0, &l, err, sizeof err), 0);
    assert_int_equal(obslog_next_round(l), 1);
    struct obs rows[3] = {row(1, "r1", "10 mail.contoso.com."), row(1, "r2", "x,\"y\"\\z"),
                          row(1, "r3", "=2+5.attacker.example.")};
    assert_int_equal(obslog_append(l, rows, 3, err, sizeof err), 0);
    assert_int_equal(obslog_next_round(l), 2);
    struct obs back = row(0, "r1", "");
    assert_int_equal(obslog_append(l, &back, 1, err, sizeof err), DP_EINPUT);
    obslog_close(l);

    char p[400];
    snprintf(p, sizeof p, "%s/observations.csv", sub);
    struct collected c = {0};
    assert_int_equal(obslog_read(p, collect, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.lines[0], 2);
    assert_int_equal(c.lines[2], 4);
    assert_string_equal(c.answers[1], "x,\"y\"\\z");
    assert_string_equal(c.answers[2], "=2+5.attacker.example.");
    size_t len;
    char *text = slurp_path(p, &len);
    assert_int_equal(strncmp(text, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2), 0);
    assert_non_null(strstr(text, ",'=2+5.attacker.example.,"));
    free(text);

    /* reopened: the next round comes from the log */
    assert_int_equal(obslog_open(sub, 1000, OBSLOG_REBUILD, &l, err, sizeof err), 0);
    assert_int_equal(obslog_next_round(l), 2);
    struct obs r5 = row(5, "r1", "a");
    assert_int_equal(obslog_append(l, &r5, 1, err, sizeof err), 0);
    assert_int_equal(obslog_next_round(l), 6);
    obslog_close(l);
}

static void test_nocreate(void **state)
{
    (void)state;
    struct obslog *l = NULL;
    char err[512];
    char sub[300];
    snprintf(sub, sizeof sub, "%s/missing", dir);
    assert_int_equal(obslog_open(sub, 100, OBSLOG_NOCREATE, &l, err, sizeof err), DP_EINPUT);
    assert_null(l);
    assert_non_null(strstr(err, "observations.csv"));
    struct stat st;
    assert_int_not_equal(stat(sub, &st), 0); /* nothing created */
}

static void write_log(unsigned rounds)
{
    struct obslog *l = NULL;
    char err[512];
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), 0);
    for (unsigned r = 1; r <= rounds; r++) {
        struct obs o = row(r, "r1", "10 mail.contoso.com.");
        assert_int_equal(obslog_append(l, &o, 1, err, sizeof err), 0);
    }
    obslog_close(l);
}

static void test_torn_line_repaired(void **state)
{
    (void)state;
    write_log(2);
    size_t len;
    char *good = slurp_path(path_of("observations.csv"), &len);
    /* a crash in the middle of a row */
    FILE *f = fopen(path_of("observations.csv"), "ab");
    fputs("2026-11-30 00:20:00,probe-1,3,contoso.com,mx,contoso.com.,MX,r1,127.0", f);
    fclose(f);
    struct obslog *l = NULL;
    char err[512];
    /* stderr gets the warning; check it by redirecting to a file */
    fflush(stderr);
    int saved = dup(2);
    FILE *ef = fopen(path_of("stderr.txt"), "w");
    dup2(fileno(ef), 2);
    int rc = obslog_open(dir, 1000, 0, &l, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(ef);
    assert_int_equal(rc, 0);
    assert_int_equal(obslog_next_round(l), 3);
    obslog_close(l);
    size_t len2, elen;
    char *now = slurp_path(path_of("observations.csv"), &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(now, good, len);
    char *e = slurp_path(path_of("stderr.txt"), &elen);
    assert_non_null(strstr(e, "observations.csv:4: torn last line"));
    free(e);
    free(now);
    free(good);
}

/* Damage before the last line: refused, file byte for byte unchanged. */
static void check_refused(const char *content, int want, const char *msg)
{
    spit(path_of("observations.csv"), content, strlen(content));
    struct obslog *l = NULL;
    char err[512] = "";
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), want);
    assert_null(l);
    if (strstr(err, msg) == NULL)
        fail_msg("error '%s' does not say '%s'", err, msg);
    size_t len;
    char *now = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(len, strlen(content));
    assert_memory_equal(now, content, len);
    free(now);
    struct collected c = {0};
    assert_int_equal(obslog_read(path_of("observations.csv"), collect, &c, err, sizeof err), want);
    assert_non_null(strstr(err, msg));
}

#define GOOD                                                                                       \
    "2026-11-30 "                                                                                  \
    "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,\r\n"

static void test_damage_refused(void **state)
{
    (void)state;
    const char *h = OBS_HEADER "\r\n";
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s%s%s", h, GOOD,
             "2026-11-30 00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok\r\n",
             GOOD);
    check_refused(buf, DP_EDAMAGED, "observations.csv:3: 11 fields, want 17");
    snprintf(buf, sizeof buf, "%s%s%s%s", h, GOOD,
             "2026-11-30 "
             "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,3x,a,,\r\n",
             GOOD
             "2026-11-30 "
             "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,");
    /* the last line is torn too, but the damage before it wins: nothing cut */
    check_refused(buf, DP_EDAMAGED, "observations.csv:3: bad ttl '3x'");
    snprintf(buf, sizeof buf, "%s%s%s", h,
             "2026-11-30 "
             "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r\xc3\xa9,127.0.0.1,udp,ok,NOERROR,3,300,"
             "a,,\r\n",
             GOOD);
    check_refused(buf, DP_EDAMAGED, "observations.csv:2: a byte that is not printable ASCII");
    snprintf(
        buf, sizeof buf, "%s%s%s", h,
        "2026-11-31 "
        "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,\r\n",
        GOOD);
    check_refused(buf, DP_EDAMAGED, "observations.csv:2: bad time_utc '2026-11-31 00:00:00'");
    snprintf(
        buf, sizeof buf, "%s%s%s", h,
        "2026-11-30 "
        "00:00:00,p,2,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,\r\n",
        GOOD);
    check_refused(buf, DP_EDAMAGED, "observations.csv:3: round 1 after round 2");
    snprintf(buf, sizeof buf, "%s\r\n%s", h, GOOD);
    check_refused(buf, DP_EDAMAGED, "observations.csv:2: 1 fields, want 17");
}

static void test_other_header(void **state)
{
    (void)state;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s,extra\r\n%s", OBS_HEADER, GOOD);
    check_refused(buf, DP_EFORMAT, "observations.csv:1: header of another version: unknown extra");
    snprintf(buf, sizeof buf,
             "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,"
             "rcode,latency_ms,ttl,answer,expected\r\n%s",
             GOOD);
    check_refused(buf, DP_EFORMAT, "header of another version: missing match");
    snprintf(buf, sizeof buf,
             "vantage,time_utc,round,domain,check,qname,qtype,server,address,transport,status,"
             "rcode,latency_ms,ttl,answer,expected,match\r\n%s",
             GOOD);
    check_refused(buf, DP_EFORMAT, "the columns are in another order");
    check_refused("name,address,operator,country\r\n", DP_EFORMAT, "missing time_utc");
}

static void test_lock(void **state)
{
    (void)state;
    struct obslog *a = NULL, *b = NULL;
    char err[512] = "";
    assert_int_equal(obslog_open(dir, 1000, 0, &a, err, sizeof err), 0);
    int64_t t0 = dp_now_ms();
    assert_int_equal(obslog_open(dir, 400, 0, &b, err, sizeof err), DP_ELOCK);
    int64_t waited = dp_now_ms() - t0;
    assert_null(b);
    assert_true(waited >= 400);
    assert_true(waited < 3000);
    assert_non_null(strstr(err, "/.lock"));
    obslog_close(a);
    assert_int_equal(obslog_open(dir, 400, 0, &b, err, sizeof err), 0);
    obslog_close(b);
}

/* Waiting works: a lock released during the wait is taken. */
static void test_lock_wait_then_take(void **state)
{
    (void)state;
    struct obslog *a = NULL, *b = NULL;
    char err[512] = "";
    assert_int_equal(obslog_open(dir, 1000, 0, &a, err, sizeof err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child holds a copy of the lock fd: release it by exiting */
        usleep(300 * 1000);
        _exit(0);
    }
    obslog_close(a); /* the child still holds the flock through its copy */
    int64_t t0 = dp_now_ms();
    assert_int_equal(obslog_open(dir, 5000, 0, &b, err, sizeof err), 0);
    assert_true(dp_now_ms() - t0 >= 150);
    obslog_close(b);
    int st;
    waitpid(pid, &st, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_append_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nocreate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_line_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_wait_then_take, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
