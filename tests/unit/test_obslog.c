/* Unit tests for observations.csv (reports/obslog.c): creation, appending
 * and reading back, the next round, the torn last line, damage refused with
 * nothing changed, headers of another version, the lock, and logs of the
 * older 17-column form (read, appended to, upgraded, a crash mid-upgrade). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
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

/* a row of a log written before site,ede existed */
#define OLD                                                                                        \
    "2026-11-30 "                                                                                  \
    "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,\r\n"

#define GOOD                                                                                       \
    "2026-11-30 "                                                                                  \
    "00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,300,a,,,,\r\n"

/* a row up to its status, for the damaged rows below */
#define ROW "2026-11-30 00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok"

static void test_damage_refused(void **state)
{
    (void)state;
#define H OBS_HEADER "\r\n"
    static const struct {
        const char *log, *msg;
    } cases[] = {
        {H GOOD ROW "\r\n" GOOD, "observations.csv:3: 11 fields, want 19"},
        /* the last line is torn too, but the damage before it wins: nothing cut */
        {H GOOD ROW ",NOERROR,3,3x,a,,,,\r\n" GOOD ROW ",NOERROR,3,300,a,,,,",
         "observations.csv:3: bad ttl '3x'"},
        {H "2026-11-30 00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r\xc3\xa9,127.0.0.1,udp,ok,"
           "NOERROR,3,300,a,,,,\r\n" GOOD,
         "observations.csv:2: a byte that is not printable ASCII"},
        {H "2026-11-31 00:00:00,p,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,"
           "300,a,,,,\r\n" GOOD,
         "observations.csv:2: bad time_utc '2026-11-31 00:00:00'"},
        {H "2026-11-30 00:00:00,p,2,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1,udp,ok,NOERROR,3,"
           "300,a,,,,\r\n" GOOD,
         "observations.csv:3: round 1 after round 2"},
        {H "\r\n" GOOD, "observations.csv:2: 1 fields, want 19"},
        /* a row of the older form in a log of the current one is damage, and
         * the other way round */
        {H GOOD ROW ",NOERROR,3,300,a,,\r\n" GOOD, "observations.csv:3: 17 fields, want 19"},
        {OBS_HEADER_V1 "\r\n" OLD GOOD, "observations.csv:3: 19 fields, want 17"},
        {H GOOD ROW ",NOERROR,3,300,a,,,fra1,3;x\r\n" GOOD, "observations.csv:3: bad ede '3;x'"},
    };
#undef H
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_refused(cases[i].log, DP_EDAMAGED, cases[i].msg);
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
             "rcode,latency_ms,ttl,answer,expected,match,site,ede\r\n%s",
             GOOD);
    check_refused(buf, DP_EFORMAT, "the columns are in another order");
    /* only the old header exactly is the older form: not reordered, not partly new */
    snprintf(buf, sizeof buf,
             "vantage,time_utc,round,domain,check,qname,qtype,server,address,transport,status,"
             "rcode,latency_ms,ttl,answer,expected,match\r\n%s",
             OLD);
    check_refused(buf, DP_EFORMAT, "header of another version: missing site,ede");
    snprintf(buf, sizeof buf, "%s,site\r\n%s", OBS_HEADER_V1, OLD);
    check_refused(buf, DP_EFORMAT, "header of another version: missing ede");
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

/* Runs fn with stderr going to DIR/stderr.txt; returns what it wrote there
 * (malloc'd). */
static char *with_stderr(void (*fn)(void *), void *arg)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *ef = fopen(path_of("stderr.txt"), "w");
    assert_non_null(ef);
    dup2(fileno(ef), 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(ef);
    size_t len;
    char *e = slurp_path(path_of("stderr.txt"), &len);
    assert_non_null(e);
    return e;
}

/* A log of the older form, as an older dnsprop wrote it: quoting, a formula
 * prefix, a \DDD escape, every status. */
#define OLD_LOG                                                                                    \
    OBS_HEADER_V1                                                                                  \
    "\r\n"                                                                                         \
    "2026-11-30 00:00:00,probe-1,1,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1:5300,udp,ok,"       \
    "NOERROR,3,300,10 mail.contoso.com.,0 contoso-com.mail.protection.outlook.com.,no\r\n"         \
    "2026-11-30 00:00:00,probe-1,1,contoso.com,spf,contoso.com.,TXT,\"r,2\",127.0.0.2,tcp,ok,"     \
    "NOERROR,12,3600,\"\"\"v=spf1 \\195 -all\"\"\",,\r\n"                                          \
    "2026-11-30 "                                                                                  \
    "00:00:01,probe-1,1,contoso.com,mx,contoso.com.,MX,r3,127.0.0.3,udp,timeout,,,,,,"             \
    "\r\n"                                                                                         \
    "2026-11-30 00:10:00,probe-1,2,contoso.com,mx,contoso.com.,MX,r1,127.0.0.1:5300,udp,ok,"       \
    "NOERROR,4,120,'=2+5.attacker.example.,,yes\r\n"

struct append_args {
    unsigned flags;
    unsigned appends;
};

static void append_twice(void *arg)
{
    struct append_args *a = arg;
    struct obslog *l = NULL;
    char err[512];
    assert_int_equal(obslog_open(dir, 1000, (int)a->flags, &l, err, sizeof err), 0);
    assert_int_equal(obslog_columns(l), OBS_NCOLUMNS_V1);
    for (unsigned i = 0; i < a->appends; i++) {
        struct obs o = row(obslog_next_round(l), "r9", "10 new.contoso.com.");
        o.site = "fra1";
        o.ede = "3";
        assert_int_equal(obslog_append(l, &o, 1, err, sizeof err), 0);
    }
    obslog_close(l);
}

static unsigned count_of(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

struct collected_site {
    unsigned n;
    char site[16][32];
    char ede[16][32];
};

static int collect_site(const struct obs *o, unsigned line, void *arg)
{
    struct collected_site *c = arg;
    (void)line;
    if (c->n < 16) {
        snprintf(c->site[c->n], sizeof c->site[0], "%s", o->site);
        snprintf(c->ede[c->n], sizeof c->ede[0], "%s", o->ede);
    }
    c->n++;
    return 0;
}

/* A log of the older form is read as before and appended to in its own 17
 * columns, with one notice per run (none under -q). */
static void test_old_log_kept(void **state)
{
    (void)state;
    spit(path_of("observations.csv"), OLD_LOG, strlen(OLD_LOG));
    struct collected c = {0};
    char err[512];
    assert_int_equal(obslog_read(path_of("observations.csv"), collect, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.answers[1], "\"v=spf1 \\195 -all\"");
    assert_string_equal(c.answers[3], "=2+5.attacker.example.");

    struct append_args a = {0, 2};
    char *e = with_stderr(append_twice, &a);
    assert_int_equal(count_of(e, "notice:"), 1); /* two appends, one notice */
    assert_non_null(strstr(e, "dnsprop report --upgrade"));
    free(e);
    a.flags = OBSLOG_QUIET;
    e = with_stderr(append_twice, &a);
    assert_string_equal(e, "");
    free(e);

    size_t len;
    char *text = slurp_path(path_of("observations.csv"), &len);
    /* the old rows untouched, the new ones in 17 columns */
    assert_memory_equal(text, OLD_LOG, strlen(OLD_LOG));
    assert_null(strstr(text, "fra1"));
    assert_int_equal(count_of(text, "r9,"), 4);
    free(text);
    struct collected_site cs = {0};
    assert_int_equal(obslog_read(path_of("observations.csv"), collect_site, &cs, err, sizeof err),
                     0);
    assert_int_equal(cs.n, 8);
    for (unsigned i = 0; i < cs.n; i++) {
        assert_string_equal(cs.site[i], "");
        assert_string_equal(cs.ede[i], "");
    }
}

/* Splits one line into its fields (a fresh reader each time, copies kept). */
static unsigned split_copy(const char *line, size_t len, char f[][256])
{
    struct csvr r;
    const char *why;
    csvr_init(&r);
    int n = csvr_split(&r, line, len, &why);
    assert_true(n > 0);
    for (int i = 0; i < n; i++)
        snprintf(f[i], 256, "%s", r.f[i]);
    csvr_deinit(&r);
    return (unsigned)n;
}

/* --upgrade: once, atomically; every old field byte for byte; .state rebuilt. */
static void test_upgrade(void **state)
{
    (void)state;
    char err[512] = "";
    spit(path_of("observations.csv"), OLD_LOG, strlen(OLD_LOG));
    /* reports and a .state made from the old log */
    struct obslog *l = NULL;
    struct report_outcome out;
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), 0);
    assert_int_equal(report_refresh(l, NULL, 0, NULL, &out, err, sizeof err), 0);
    obslog_close(l);
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), 0);
    assert_true(obslog_from_state(l)); /* the state covers the old log */
    obslog_close(l);

    bool done = false;
    uint64_t rows = 0;
    assert_int_equal(obslog_upgrade(dir, 1000, &done, &rows, err, sizeof err), 0);
    assert_true(done);
    assert_int_equal(rows, 4);
    size_t len;
    char *text = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(strncmp(text, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2), 0);
    /* line by line: the old fields as they were, then two empty ones */
    const char *o = strchr(OLD_LOG, '\n') + 1, *n = strchr(text, '\n') + 1;
    unsigned lines = 0;
    static char fo[32][256], fn[32][256];
    while (*o != '\0') {
        const char *oe = strchr(o, '\n'), *ne = strchr(n, '\n');
        assert_non_null(ne);
        assert_int_equal(split_copy(o, (size_t)(oe - o), fo), OBS_NCOLUMNS_V1);
        assert_int_equal(split_copy(n, (size_t)(ne - n), fn), OBS_NCOLUMNS);
        for (unsigned i = 0; i < OBS_NCOLUMNS_V1; i++)
            assert_string_equal(fo[i], fn[i]);
        assert_string_equal(fn[17], "");
        assert_string_equal(fn[18], "");
        /* and the raw bytes too */
        assert_int_equal((size_t)(ne - n), (size_t)(oe - o) + 2);
        assert_memory_equal(n, o, (size_t)(oe - o) - 1);
        assert_memory_equal(ne - 3, ",,\r", 3);
        o = oe + 1;
        n = ne + 1;
        lines++;
    }
    assert_int_equal(lines, 4);
    assert_int_equal(*n, '\0');
    free(text);
    struct stat st;
    assert_int_equal(stat(path_of("observations.csv"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* the state was of the old file: it must not be trusted now */
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), 0);
    assert_false(obslog_from_state(l));
    assert_int_equal(obslog_columns(l), OBS_NCOLUMNS);
    assert_int_equal(obslog_next_round(l), 3);
    struct obs r = row(3, "r1", "0 contoso-com.mail.protection.outlook.com.");
    r.site = "fra1";
    r.ede = "3;22";
    assert_int_equal(obslog_append(l, &r, 1, err, sizeof err), 0);
    obslog_close(l);
    struct collected_site cs = {0};
    assert_int_equal(obslog_read(path_of("observations.csv"), collect_site, &cs, err, sizeof err),
                     0);
    assert_int_equal(cs.n, 5);
    assert_string_equal(cs.site[4], "fra1");
    assert_string_equal(cs.ede[4], "3;22");

    /* once: a second upgrade changes nothing */
    text = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(obslog_upgrade(dir, 1000, &done, &rows, err, sizeof err), 0);
    assert_false(done);
    size_t len2;
    char *again = slurp_path(path_of("observations.csv"), &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, text, len);
    free(again);
    free(text);
}

/* Damage is refused before anything is written; another header likewise. */
static void test_upgrade_refuses_damage(void **state)
{
    (void)state;
    char buf[4096], err[512] = "";
    snprintf(buf, sizeof buf, "%s\r\n%s%s%s", OBS_HEADER_V1, OLD,
             "2026-11-30 00:00:00,p,1,contoso.com,mx\r\n", OLD);
    spit(path_of("observations.csv"), buf, strlen(buf));
    bool done = true;
    uint64_t rows = 9;
    assert_int_equal(obslog_upgrade(dir, 1000, &done, &rows, err, sizeof err), DP_EDAMAGED);
    assert_false(done);
    assert_non_null(strstr(err, "observations.csv:3: 5 fields, want 17"));
    size_t len;
    char *now = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(len, strlen(buf));
    assert_memory_equal(now, buf, len);
    free(now);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/none", dir);
    assert_int_not_equal(obslog_upgrade(sub, 1000, &done, &rows, err, sizeof err), 0);
    struct stat st;
    assert_int_not_equal(stat(sub, &st), 0);
}

/* A crash in the middle of the upgrade (the process killed while it writes
 * the new log: here by RLIMIT_FSIZE, SIGXFSZ) leaves the old log whole and
 * readable; the next upgrade clears the leftover and succeeds. */
static void test_upgrade_crash(void **state)
{
    (void)state;
    /* enough rows that the new log needs several writes */
    size_t cap = strlen(OLD_LOG) + 30000 * 200, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    len = (size_t)snprintf(big, cap, "%s", OLD_LOG);
    for (unsigned i = 0; i < 30000; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "2026-11-30 01:00:00,probe-1,3,contoso.com,mx,contoso.com.,MX,r%u,"
                                "127.0.0.1,udp,ok,NOERROR,3,300,10 mail.contoso.com.,,\r\n",
                                i);
    spit(path_of("observations.csv"), big, len);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit core = {0, 0}, fsize = {(rlim_t)len, (rlim_t)len};
        setrlimit(RLIMIT_CORE, &core);
        setrlimit(RLIMIT_FSIZE, &fsize);
        bool done;
        uint64_t rows;
        char err[512];
        obslog_upgrade(dir, 1000, &done, &rows, err, sizeof err);
        _exit(0); /* not reached: the write past the limit kills the process */
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFSIGNALED(ws));
    assert_int_equal(WTERMSIG(ws), SIGXFSZ);
    size_t now_len;
    char *now = slurp_path(path_of("observations.csv"), &now_len);
    assert_int_equal(now_len, len);
    assert_memory_equal(now, big, len);
    free(now);
    /* the half-written temporary file is there ... */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '^.observations.csv.*.tmp$'", dir);
    assert_int_equal(system(cmd), 0);
    /* ... the old log still opens, in its own form ... */
    struct obslog *l = NULL;
    char err[512];
    assert_int_equal(obslog_open(dir, 1000, OBSLOG_REBUILD, &l, err, sizeof err), 0);
    assert_int_equal(obslog_columns(l), OBS_NCOLUMNS_V1);
    obslog_close(l);
    /* ... and the next upgrade succeeds and sweeps the leftover */
    bool done = false;
    uint64_t rows = 0;
    assert_int_equal(obslog_upgrade(dir, 1000, &done, &rows, err, sizeof err), 0);
    assert_true(done);
    assert_int_equal(rows, 30004);
    assert_int_not_equal(system(cmd), 0);
    free(big);
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
        cmocka_unit_test_setup_teardown(test_old_log_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_refuses_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_crash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
