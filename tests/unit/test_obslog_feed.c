/* Unit tests for obslog_append's direct feed (reports/obslog.c): rows the
 * round has in memory go into the aggregates without reading the log back
 * when they are known to read back as they are. The same rounds appended
 * that way and read back from the file (obslog__test_read_back) give the
 * same log, the same aggregates (the state of each, saved with the same
 * fingerprint, byte for byte) and every report byte for byte, and a
 * rebuild from the log gives those reports too. Rows another writer added
 * to the log are still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#include "scratch.h"

static const char *const report_files[] = {
    "observations.csv",  "settings.csv", "convergence.csv", "timeline.csv",
    "mx_compliance.csv", "summary.csv",  "convergence.svg", "delegation.csv",
};

/* DIR/sub (made if need be), in buf. */
static const char *sub_dir(const char *sub, char *buf, size_t len)
{
    snprintf(buf, len, "%s", path_of(sub));
    mkdir(buf, 0700);
    return buf;
}

static void spit_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *slurp_in(const char *d, const char *name, size_t *len)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", d, name);
    return slurp_path(p, len);
}

/* Every report of a and b, and the log, byte for byte (both absent is the same). */
static void assert_same_files(const char *a, const char *b)
{
    for (size_t i = 0; i < sizeof report_files / sizeof report_files[0]; i++) {
        size_t la = 0, lb = 0;
        char *x = slurp_in(a, report_files[i], &la);
        char *y = slurp_in(b, report_files[i], &lb);
        if ((x == NULL) != (y == NULL))
            fail_msg("%s: in one folder only", report_files[i]);
        if (x != NULL) {
            if (la != lb || memcmp(x, y, la) != 0)
                fail_msg("%s differs (%zu and %zu bytes)", report_files[i], la, lb);
        }
        free(x);
        free(y);
    }
}

/* The aggregates of la and lb, as state.c saves them, with the fingerprint
 * of la's log and timeline for both (those name files, not what was fed):
 * byte for byte. la's own state is saved again last. */
static void assert_same_aggregates(struct obslog *la, struct obslog *lb)
{
    char err[512] = "";
    size_t n1 = 0, n2 = 0;
    struct rep_agg *b = lb->agg;
    struct rep_agg keep = *b;
    assert_int_equal(rep__state_save(la, la->agg, err, sizeof err), 0);
    char *s1 = slurp_in(la->dir, ".state", &n1);
    b->tl_valid = la->agg->tl_valid;
    b->tl_dev = la->agg->tl_dev;
    b->tl_ino = la->agg->tl_ino;
    b->tl_size = la->agg->tl_size;
    b->tl_mtime_ns = la->agg->tl_mtime_ns;
    assert_int_equal(rep__state_save(la, b, err, sizeof err), 0);
    char *s2 = slurp_in(la->dir, ".state", &n2);
    b->tl_valid = keep.tl_valid;
    b->tl_dev = keep.tl_dev;
    b->tl_ino = keep.tl_ino;
    b->tl_size = keep.tl_size;
    b->tl_mtime_ns = keep.tl_mtime_ns;
    assert_int_equal(rep__state_save(la, la->agg, err, sizeof err), 0);
    assert_non_null(s1);
    assert_non_null(s2);
    assert_int_equal(n1, n2);
    assert_memory_equal(s1, s2, n1);
    assert_int_equal(la->size, lb->size);
    assert_int_equal(la->lines, lb->lines);
    assert_int_equal(la->last_round, lb->last_round);
    free(s1);
    free(s2);
}

static unsigned seed = 777;
static unsigned rnd(unsigned n)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
}

/* Text for a field: most plain, some with what the writer quotes or
 * prefixes, now and then (when odd is set) a byte it escapes. */
static const char *text(char *buf, size_t len, const char *base, bool odd)
{
    static const char *const extra[] = {"",     "",   "",           ", x", " lead",      "trail ",
                                        "=sum", "'q", "\"quoted\"", "-1",  "back\\slash"};
    size_t o = (size_t)snprintf(buf, len, "%s%s", rnd(3) == 0 ? extra[rnd(11)] : "", base);
    if (odd && rnd(20) == 0 && o + 2 < len) {
        buf[o++] = rnd(2) ? '\t' : (char)0xc3;
        buf[o] = '\0';
    }
    return buf;
}

struct round_rows {
    struct obs v[64];
    char strs[64][4][96];
    size_t n;
};

/* One round of rows over a few domains, resolvers and auth: servers, with
 * the values the row codec normalises (NULL strings, negative TTLs and
 * latencies, rcodes with and without a mnemonic, odd match values). */
static void make_round(struct round_rows *r, uint32_t round, bool odd)
{
    static const char *const doms[] = {"contoso.com", "fabrikam.net", "x-y.test"};
    static const char *const servers[] = {"google", "quad9", "auth:ns1.contoso.com",
                                          "auth:ns2.contoso.com", "cloudflare"};
    static const enum obs_status st[] = {OBS_OK,     OBS_OK,      OBS_OK,      OBS_NXDOMAIN,
                                         OBS_NODATA, OBS_TIMEOUT, OBS_SERVFAIL};
    static const int rcodes[] = {0, 0, 0, 3, 2, 5, -1, 23, 4000};
    r->n = 10 + rnd(40);
    for (size_t i = 0; i < r->n; i++) {
        struct obs *o = &r->v[i];
        const char *d = doms[rnd(3)];
        memset(o, 0, sizeof *o);
        o->time = 1795996800 + 600 * (int64_t)round + rnd(5);
        o->vantage = round % 4 == 0 ? NULL : "probe-1"; /* one vantage a round */
        o->round = round;
        o->domain = d;
        o->check = rnd(4) == 0 ? "spf" : "mx";
        o->qname = o->check[0] == 'm' ? "contoso.com." : "fabrikam.net.";
        o->qtype = o->check[0] == 'm' ? "MX" : "TXT";
        o->server = servers[rnd(5)];
        o->address = rnd(10) == 0 ? NULL : "127.0.0.1:5300";
        o->tcp = rnd(5) == 0;
        o->status = st[rnd(7)];
        o->rcode = rcodes[rnd(9)];
        o->latency_ms = rnd(6) == 0 ? -(int64_t)rnd(5) - 1 : (int64_t)rnd(200);
        o->ttl = rnd(6) == 0 ? -(int64_t)rnd(5) - 1 : (int64_t)rnd(7200);
        o->answer = text(
            r->strs[i][0], sizeof r->strs[i][0],
            rnd(2) ? "0 contoso-com.mail.protection.outlook.com." : "10 mail.contoso.com.", odd);
        o->expected = rnd(4) == 0 ? NULL : "0 contoso-com.mail.protection.outlook.com.";
        o->match = (enum obs_match)rnd(4); /* 3: no such value, written empty */
        o->site = text(r->strs[i][1], sizeof r->strs[i][1], rnd(2) ? "" : "fra1", odd);
        o->ede = rnd(5) == 0 ? "15;22" : rnd(2) ? "" : NULL;
    }
}

static struct obslog *open_log(const char *d)
{
    struct obslog *l = NULL;
    char err[512] = "";
    if (obslog_open(d, 1000, OBSLOG_QUIET, &l, err, sizeof err) != 0)
        fail_msg("open %s: %s", d, err);
    return l;
}

static void refresh(struct obslog *l, struct report_outcome *out)
{
    char err[512] = "";
    if (report_refresh(l, NULL, 0, NULL, out, err, sizeof err) != 0)
        fail_msg("refresh: %s", err);
}

/* Appends r to l, fed from memory (read_back false) or read back. */
static int append(struct obslog *l, const struct round_rows *r, bool read_back, char *err,
                  size_t errlen)
{
    obslog__test_read_back = read_back;
    int rc = obslog_append(l, r->v, r->n, err, errlen);
    if (rc != 0)
        print_message("append: %s\n", err);
    obslog__test_read_back = false;
    return rc;
}

static void test_direct_feed_same_as_read_back(void **state)
{
    (void)state;
    char da[400], db[400], dc[400], err[512] = "", err2[512] = "";
    sub_dir("a", da, sizeof da);
    sub_dir("b", db, sizeof db);
    sub_dir("c", dc, sizeof dc);
    struct obslog *la = open_log(da), *lb = open_log(db);
    static struct round_rows r;
    for (uint32_t round = 1; round <= 30; round++) {
        /* rounds 10, 20, 30 hold bytes the writer escapes: read back either way */
        make_round(&r, round, round % 10 == 0);
        assert_int_equal(append(la, &r, false, err, sizeof err), 0);
        assert_int_equal(append(lb, &r, true, err, sizeof err), 0);
        if (round % 7 == 3) {
            /* more rows of the same round in a second append */
            make_round(&r, round, false);
            assert_int_equal(append(la, &r, false, err, sizeof err), 0);
            assert_int_equal(append(lb, &r, true, err, sizeof err), 0);
        }
        assert_same_aggregates(la, lb);
        struct report_outcome oa, ob;
        refresh(la, &oa);
        refresh(lb, &ob);
        assert_int_equal(oa.exit_status, ob.exit_status);
        assert_string_equal(oa.status_line, ob.status_line);
        assert_same_files(da, db);
        if (round % 9 == 4) {
            /* rows of the round just refreshed: the aggregates start again
             * from the log (REP__RESTART) */
            make_round(&r, round, false);
            assert_int_equal(append(la, &r, false, err, sizeof err), 0);
            assert_int_equal(append(lb, &r, true, err, sizeof err), 0);
            assert_same_aggregates(la, lb);
        }
    }
    /* a rebuild from the log alone draws the same reports */
    struct report_outcome oa, ob, oc;
    size_t n = 0;
    char *log = slurp_in(da, "observations.csv", &n);
    char p[600];
    snprintf(p, sizeof p, "%s/observations.csv", dc);
    spit_file(p, log, n);
    free(log);
    assert_int_equal(report_rebuild(dc, 1000, NULL, &oc, err, sizeof err), 0);
    refresh(la, &oa);
    assert_string_equal(oa.status_line, oc.status_line);
    assert_same_files(da, dc);
    /* a row that does not read back (an rcode above 4095) refuses the
     * append the same way, and leaves the log as it was */
    make_round(&r, 31, false);
    r.v[r.n / 2].rcode = 5000;
    uint64_t size = la->size;
    assert_int_equal(append(la, &r, false, err, sizeof err),
                     append(lb, &r, true, err2, sizeof err2));
    assert_string_equal(err, err2);
    assert_int_equal(la->size, size);
    assert_same_files(da, db);
    /* after the refusal, the same round again, now without the bad row */
    make_round(&r, 31, false);
    assert_int_equal(append(la, &r, false, err, sizeof err), 0);
    assert_int_equal(append(lb, &r, true, err, sizeof err), 0);
    refresh(la, &oa);
    refresh(lb, &ob);
    assert_same_aggregates(la, lb);
    assert_same_files(da, db);
    obslog_close(la);
    obslog_close(lb);
}

/* Bytes another writer appended while the log is open are read with the
 * next append, not skipped: the reports are those of a rebuild. */
static void test_foreign_rows_read(void **state)
{
    (void)state;
    char da[400], dc[400], err[512] = "";
    sub_dir("a", da, sizeof da);
    sub_dir("c", dc, sizeof dc);
    struct obslog *la = open_log(da);
    static struct round_rows r;
    struct report_outcome oa, oc;
    make_round(&r, 1, false);
    assert_int_equal(append(la, &r, false, err, sizeof err), 0);
    refresh(la, &oa);
    /* a row of round 2 from a resolver no row of ours names */
    struct obs f = r.v[0];
    f.round = 2;
    f.server = "foreign-resolver";
    struct csvw w;
    csvw_init(&w);
    obs_write_row(&w, &f);
    char p[600];
    snprintf(p, sizeof p, "%s/observations.csv", da);
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, w.buf, w.len), (ssize_t)w.len);
    close(fd);
    csvw_deinit(&w);
    make_round(&r, 2, false);
    assert_int_equal(append(la, &r, false, err, sizeof err), 0);
    refresh(la, &oa);
    obslog_close(la);
    size_t n = 0;
    char *conv = slurp_in(da, "convergence.csv", &n);
    assert_non_null(conv);
    assert_non_null(strstr(conv, "foreign-resolver"));
    free(conv);
    char *log = slurp_in(da, "observations.csv", &n);
    snprintf(p, sizeof p, "%s/observations.csv", dc);
    spit_file(p, log, n);
    free(log);
    assert_int_equal(report_rebuild(dc, 1000, NULL, &oc, err, sizeof err), 0);
    assert_string_equal(oa.status_line, oc.status_line);
    assert_same_files(da, dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_direct_feed_same_as_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_rows_read, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
