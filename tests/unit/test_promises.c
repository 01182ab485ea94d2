/* Unit tests for the promises and the vantages of the reports (PRODUCT.md
 * sections 4, 6 and 11), on hand-written logs: reports over two vantages,
 * promises kept per (server, site), overdue servers (a broken promise, EDE
 * 3, past the deadline), the deadline from the log (change time, old TTL,
 * negative TTL) or from --old-ttl in settings.csv, an older settings.csv
 * and an older .state, and the rebuild identity with rows of several
 * vantages arriving as a merge appends them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define T1  1795996800 /* 2026-11-30 00:00:00 */
#define OLD "10 mail.contoso.com."
#define NEW "0 contoso-com.mail.protection.outlook.com."

#include "scratch.h"
#include "reportlog.h"

/* The line of DIR/name that starts with `prefix` (CRLF cut), malloc'd; NULL
 * when there is none. */
static char *line_of(const char *name, const char *prefix)
{
    size_t len;
    char *all = slurp(name, &len), *out = NULL;
    assert_non_null(all);
    for (char *p = all; p != NULL && *p;) {
        char *e = strstr(p, "\r\n");
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t n = e ? (size_t)(e - p) : strlen(p);
            out = malloc(n + 1);
            memcpy(out, p, n);
            out[n] = '\0';
            break;
        }
        p = e ? e + 2 : NULL;
    }
    free(all);
    return out;
}

static void expect_line(const char *name, const char *prefix, const char *want)
{
    char *got = line_of(name, prefix);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s, line %s:\n got: %s\nwant: %s", name, prefix, got ? got : "(none)", want);
    free(got);
}

/* Fails unless the convergence.csv row of contoso.com's mx check at server
 * has a in it, and b too when not NULL. */
static void conv_row_has(const char *server, const char *a, const char *b)
{
    char key[200];
    snprintf(key, sizeof key, "contoso.com,mx,%s,", server);
    char *row = line_of("convergence.csv", key);
    assert_non_null(row);
    if (strstr(row, a) == NULL || (b != NULL && strstr(row, b) == NULL))
        fail_msg("convergence.csv, %s: want %s and %s in\n%s", key, a, b ? b : "-", row);
    free(row);
}

/* summary.csv's line for contoso.com's MX when its one resolver is stale:
 * the ETA, the window's end and the deadline as given ("" for none). */
static void expect_mx_stale(const char *eta, const char *window_end, const char *deadline)
{
    char want[256];
    snprintf(want, sizeof want, "contoso.com,mx,1,0,1,0,0.0,%s,%s,propagating,%s,0", eta,
             window_end, deadline);
    expect_line("summary.csv", "contoso.com,mx", want);
}

/* ---- rows ---- */

static struct obs *add(struct rows *r, const char *vantage, int64_t t, uint32_t round,
                       const char *check, const char *server, enum obs_status st, int64_t ttl,
                       const char *answer, const char *expected, const char *site)
{
    struct obs *o = rows_next(r, vantage, t, round, st, ttl);
    bool mx = strcmp(check, "mx") == 0;
    rows_fill(o, "contoso.com", check, mx ? "contoso.com." : "autodiscover.contoso.com.",
              mx ? "MX" : "CNAME", server,
              strncmp(server, "auth:", 5) == 0 ? "192.0.2.53" : "192.0.2.1", answer, expected);
    o->match = rows_match(answer, expected);
    o->site = site;
    o->ede = "";
    return o;
}

/* Writes the rows to the log as they are (no check of rounds: a merged log
 * holds several vantages' rounds), creating it with its header. */
static void write_rows(const struct rows *r)
{
    FILE *f = fopen(path_of("observations.csv"), "ab");
    assert_non_null(f);
    struct csvw w;
    csvw_init(&w);
    if (ftell(f) == 0)
        csvw_raw(&w, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2);
    for (size_t i = 0; i < r->n; i++)
        obs_write_row(&w, &r->v[i]);
    assert_int_equal(csvw_error(&w), 0);
    assert_int_equal(fwrite(w.buf, 1, w.len, f), w.len);
    csvw_deinit(&w);
    assert_int_equal(fclose(f), 0);
}

static bool last_from_state;

/* What check does after its round: open (reading what .state does not
 * cover), refresh, close. */
static void refresh(const struct report_settings *s, size_t ns, struct report_outcome *out)
{
    struct obslog *l = NULL;
    char err[512] = "";
    if (obslog_open(dir, 1000, 0, &l, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    last_from_state = obslog_from_state(l);
    if (report_refresh(l, s, ns, NULL, out, err, sizeof err) != 0)
        fail_msg("refresh: %s", err);
    obslog_close(l);
}

/* Rows straight into the aggregates, then a refresh: for the columns the
 * log does not carry yet (site, ede), the rules are tested on the
 * aggregates themselves. */
static void feed(const struct rows *r, const struct report_settings *s, size_t ns,
                 struct report_outcome *out)
{
    struct obslog *l = NULL;
    char err[512] = "", why[256] = "";
    if (obslog_open(dir, 1000, 0, &l, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    for (size_t i = 0; i < r->n; i++)
        if (rep__agg_add(l->agg, &r->v[i], why, sizeof why) != 0)
            fail_msg("row %zu: %s", i, why);
    if (report_refresh(l, s, ns, NULL, out, err, sizeof err) != 0)
        fail_msg("refresh: %s", err);
    obslog_close(l);
}

static void rebuild(struct report_outcome *out)
{
    char err[512] = "";
    if (report_rebuild(dir, 1000, NULL, out, err, sizeof err) != 0)
        fail_msg("rebuild: %s", err);
}

/* ---- reports over vantages ---- */

/* One round of vantage v at time t: r1 and the authoritative server. */
static void van_round(struct rows *r, const char *v, int64_t t, uint32_t round, const char *r1,
                      int64_t ttl)
{
    add(r, v, t, round, "mx", "r1", OBS_OK, ttl, r1, NEW, "");
    add(r, v, t, round, "mx", "auth:ns1.contoso.com.", OBS_OK, 300, NEW, NEW, "");
}

static void test_two_vantages(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    /* vantage "a" checks twice (cron), then a merge brings vantage "b"'s
     * two rounds at once: its rounds 1 and 2 after a's round 2 */
    van_round(&r, "a", T1, 1, OLD, 300);
    write_rows(&r);
    refresh(NULL, 0, &out);
    r.n = 0;
    van_round(&r, "a", T1 + 600, 2, NEW, 300);
    write_rows(&r);
    refresh(NULL, 0, &out);
    assert_true(last_from_state);
    r.n = 0;
    van_round(&r, "b", T1 + 60, 1, OLD, 900);
    van_round(&r, "b", T1 + 660, 2, OLD, 300);
    write_rows(&r);
    refresh(NULL, 0, &out);
    assert_true(last_from_state);

    expect_line("convergence.csv", "domain",
                "domain,check,server,address,state,matching_since_utc,first_match_utc,"
                "last_mismatch_utc,flaps,rounds,errors,current_answer,stale_expires_utc,vantage,"
                "sites,overdue");
    expect_line("convergence.csv", "contoso.com,mx,r1,192.0.2.1,converged",
                "contoso.com,mx,r1,192.0.2.1,converged,2026-11-30 00:10:00,2026-11-30 00:10:00,"
                "2026-11-30 00:00:00,0,2,0," NEW ",,a,1,no");
    expect_line("convergence.csv", "contoso.com,mx,r1,192.0.2.1,stale",
                "contoso.com,mx,r1,192.0.2.1,stale,,,2026-11-30 00:11:00,0,2,0," OLD
                ",2026-11-30 00:16:00,b,1,no");
    expect_line("timeline.csv", "time_utc",
                "time_utc,round,domain,check,servers,converged,stale,errors,percent_converged,"
                "vantage");
    expect_line("timeline.csv", "2026-11-30 00:01:00",
                "2026-11-30 00:01:00,1,contoso.com,mx,1,0,1,0,0.0,b");
    expect_line("timeline.csv", "2026-11-30 00:10:00",
                "2026-11-30 00:10:00,2,contoso.com,mx,1,1,0,0,100.0,a");
    /* a resolver is a (vantage, server) pair */
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,1,1,0,50.0,2026-11-30 00:16:00,2026-12-03 00:00:00,propagating,"
                ",0");
    expect_line("mx_compliance.csv", "contoso.com,r1,192.0.2.1,2026-11-30 00:11:00",
                "contoso.com,r1,192.0.2.1,2026-11-30 00:11:00,1,mail.contoso.com.,noncompliant,"
                "target-mismatch,b");
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com mx 1/2 converged, ETA "
                                         "2026-11-30 00:16 UTC | converged=1;;;0;2 overdue=0");
    /* the chart: one line for the check over both vantages */
    size_t len;
    char *svg = slurp("convergence.svg", &len);
    char *p = strstr(svg, "<polyline");
    assert_non_null(p);
    assert_null(strstr(p + 1, "<polyline"));
    /* a at 0 %; b joins at 0 %; a at 100 %: 50 %; b stays at 0 %: 50 % */
    assert_non_null(strstr(p, "points=\""));
    free(svg);

    /* the same log read whole: the same reports, byte for byte */
    struct snap inc;
    take(&inc, &out);
    rebuilds_same(&inc); /* and without .state */
    drop(&inc);

    /* a vantage going back in its own rounds is damage, named by line */
    r.n = 0;
    van_round(&r, "a", T1 + 1200, 1, NEW, 300);
    write_rows(&r);
    struct obslog *l = NULL;
    char err[512] = "";
    assert_int_equal(obslog_open(dir, 1000, OBSLOG_REBUILD, &l, err, sizeof err), DP_EDAMAGED);
    assert_non_null(strstr(err, "observations.csv:10: round 1 after round 2"));
}

/* The chart draws one line per check over all vantages: at each time, the
 * share converged of every vantage's latest round so far. */
static void test_chart_over_vantages(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    van_round(&r, "a", T1, 1, OLD, 300);
    van_round(&r, "a", T1 + 600, 2, NEW, 300);
    van_round(&r, "b", T1 + 300, 1, OLD, 300);
    write_rows(&r);
    refresh(NULL, 0, &out);
    size_t len;
    char *svg = slurp("convergence.svg", &len);
    /* three points in time order: a 0 %, then a 0 % + b 0 %, then a 100 %
     * + b 0 % = 50 %; the y axis runs from 50 (100 %) to 370 (0 %) */
    char *p = strstr(svg, "points=\"");
    assert_non_null(p);
    char pts[200];
    sscanf(p + 8, "%199[^\"]", pts);
    /* "x,y x,y x,y": each number read whole (strtod), or the test fails */
    double x[3], y[3];
    const char *q = pts;
    for (int i = 0; i < 3; i++) {
        char *end;
        x[i] = strtod(q, &end);
        assert_true(end > q && *end == ',');
        q = end + 1;
        y[i] = strtod(q, &end);
        assert_true(end > q && (*end == ' ' || *end == '\0'));
        q = end + (*end == ' ');
    }
    assert_true(x[0] < x[1] && x[1] < x[2]);
    assert_true(y[0] == 370.0 && y[1] == 370.0 && y[2] == 210.0);
    free(svg);
}

/* ---- sites ---- */

/* The pool of issue 14: three caches behind one address, primed 13, 7 and
 * 1 s before an MX change with TTL 20, so they expire at +7, +13 and +19;
 * rounds every 2 s land on one cache each. */
static void pool_round(struct rows *r, int64_t t, uint32_t round, const char *site, int64_t ttl,
                       const char *answer)
{
    r->n = 0;
    add(r, "v", T1 + t, round, "mx", "pool", OBS_OK, ttl, answer, NEW, site);
    add(r, "v", T1 + t, round, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, NEW, NEW, "");
}

static void test_pool_of_sites(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    static const struct {
        int64_t t;
        const char *site;
        int64_t ttl;
        bool old;
        const char *state, *exp;
    } steps[] = {
        {0, "s2", 13, true, "stale", "2026-11-30 00:00:13"},
        {2, "s1", 5, true, "stale", "2026-11-30 00:00:13"},
        {4, "s3", 15, true, "stale", "2026-11-30 00:00:19"},
        /* s1 has the new MX, s2 and s3 still hold the old one */
        {8, "s1", 20, false, "stale", "2026-11-30 00:00:19"},
        {10, "s2", 3, true, "stale", "2026-11-30 00:00:19"},
        {14, "s2", 20, false, "stale", "2026-11-30 00:00:19"},
        /* s3's own expiry has passed: nothing old is left */
        {20, "s1", 20, false, "converged", ""},
        {22, "s3", 20, false, "converged", ""},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        pool_round(&r, steps[i].t, (uint32_t)i + 1, steps[i].site, steps[i].ttl,
                   steps[i].old ? OLD : NEW);
        feed(&r, NULL, 0, &out);
        char *row = line_of("convergence.csv", "contoso.com,mx,pool,");
        assert_non_null(row);
        char want[200];
        snprintf(want, sizeof want, ",%s,", steps[i].state);
        if (strstr(row, want) == NULL || strstr(row, ",yes") != NULL ||
            (steps[i].exp[0] && strstr(row, steps[i].exp) == NULL))
            fail_msg("step %zu (+%llds): %s", i, (long long)steps[i].t, row);
        free(row);
        if (i == 5)
            assert_string_equal(out.status_line,
                                "DNSPROP WARNING - contoso.com mx 0/1 converged, ETA 2026-11-30 "
                                "00:00 UTC | converged=0;;;0;1 overdue=0");
    }
    /* three sites; never overdue: each kept its own TTL; no flap */
    conv_row_has("pool", ",0,8,0," NEW ",,v,3,no", NULL);
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,1,1,0,0,100.0,,2026-12-03 00:00:00,converged,,0");
}

/* The same pool without NSID: one site as far as anyone can tell, and s3's
 * old answer after the promise s1 and s2 gave is a broken promise ("a cache
 * behind the address that earlier answers did not show"). */
static void test_pool_without_nsid(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    pool_round(&r, 0, 1, "", 13, OLD);
    feed(&r, NULL, 0, &out);
    pool_round(&r, 2, 2, "", 5, OLD); /* promise now +7 */
    feed(&r, NULL, 0, &out);
    pool_round(&r, 8, 3, "", 5, OLD); /* +8 is within the 1 s of grace */
    feed(&r, NULL, 0, &out);
    assert_non_null(strstr(out.status_line, "overdue=0"));
    pool_round(&r, 10, 4, "", 3, OLD); /* s2 at +10: 3 s past +7 */
    feed(&r, NULL, 0, &out);
    conv_row_has("pool", ",stale,", ",v,1,yes");
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,1,0,1,0,0.0,,2026-12-03 00:00:00,propagating,,1");
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com mx 0/1 converged, "
                                         "overdue: pool | converged=0;;;0;1 overdue=1");
    /* overdue until it converges */
    pool_round(&r, 20, 5, "", 20, NEW);
    feed(&r, NULL, 0, &out);
    conv_row_has("pool", ",converged,", ",v,1,no");
}

/* Serve-stale: BIND keeps serving the old MX past the TTL it gave, each
 * answer with a fresh TTL and EDE 3. Its stale answers no longer move the
 * ETA; an honest resolver's do. */
static void test_serve_stale_overdue(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    add(&r, "v", T1, 1, "mx", "bind", OBS_OK, 20, OLD, NEW, "");
    add(&r, "v", T1, 1, "mx", "honest", OBS_OK, 100, OLD, NEW, "");
    add(&r, "v", T1, 1, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, NEW, NEW, "");
    feed(&r, NULL, 0, &out);
    r.n = 0;
    /* +21: the promise (+20) and its second of grace: kept */
    add(&r, "v", T1 + 21, 2, "mx", "bind", OBS_OK, 30, OLD, NEW, "");
    add(&r, "v", T1 + 21, 2, "mx", "honest", OBS_OK, 79, OLD, NEW, "");
    feed(&r, NULL, 0, &out);
    assert_non_null(strstr(out.status_line, "ETA 2026-11-30 00:01 UTC"));
    assert_non_null(strstr(out.status_line, "overdue=0"));
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,0,2,0,0.0,2026-11-30 00:01:40,2026-12-03 00:00:00,propagating,"
                ",0");
    r.n = 0;
    /* +40: past +20 + 1 */
    struct obs *o = add(&r, "v", T1 + 40, 3, "mx", "bind", OBS_OK, 30, OLD, NEW, "");
    o->ede = "3";
    add(&r, "v", T1 + 40, 3, "mx", "honest", OBS_OK, 60, OLD, NEW, "");
    feed(&r, NULL, 0, &out);
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,0,2,0,0.0,2026-11-30 00:01:40,2026-12-03 00:00:00,propagating,"
                ",1");
    /* its stale_expires_utc is what it says now; it no longer counts */
    conv_row_has("bind", ",2026-11-30 00:01:10,v,1,yes", NULL);
    assert_string_equal(out.status_line,
                        "DNSPROP WARNING - contoso.com mx 0/2 converged, ETA 2026-11-30 00:01 UTC, "
                        "overdue: bind | converged=0;;;0;2 overdue=1");
    /* the honest one converges; bind alone is stale and overdue: no ETA */
    r.n = 0;
    add(&r, "v", T1 + 120, 4, "mx", "bind", OBS_OK, 30, OLD, NEW, "");
    add(&r, "v", T1 + 120, 4, "mx", "honest", OBS_OK, 300, NEW, NEW, "");
    feed(&r, NULL, 0, &out);
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,1,1,0,50.0,,2026-12-03 00:00:00,propagating,,1");
    /* a timeout says nothing: still overdue, as an error */
    r.n = 0;
    add(&r, "v", T1 + 130, 5, "mx", "bind", OBS_TIMEOUT, -1, "", NEW, "");
    r.v[0].match = OBS_MATCH_NONE;
    feed(&r, NULL, 0, &out);
    conv_row_has("bind", ",error,", ",v,1,yes");
    r.n = 0;
    add(&r, "v", T1 + 140, 6, "mx", "bind", OBS_OK, 300, NEW, NEW, "");
    feed(&r, NULL, 0, &out);
    conv_row_has("bind", ",converged,", ",v,1,no");
}

/* An answer the reply itself calls stale (EDE 3) breaks the promise even
 * when no earlier answer of that site was seen. */
static void test_ede_stale_first_answer(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    struct obs *o = add(&r, "v", T1, 1, "mx", "bind", OBS_OK, 30, OLD, NEW, "");
    o->ede = "22;3";
    o = add(&r, "v", T1, 1, "mx", "other", OBS_OK, 30, OLD, NEW, "");
    o->ede = "22;31"; /* 31 is not 3 */
    add(&r, "v", T1, 1, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, NEW, NEW, "");
    feed(&r, NULL, 0, &out);
    conv_row_has("bind", ",v,1,yes", NULL);
    conv_row_has("other", ",v,1,no", NULL);
}

/* An authoritative server that lags behind is a disagreement, never
 * "overdue": it promised no TTL to anyone. */
static void test_auth_never_overdue(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    for (uint32_t i = 0; i < 3; i++) {
        r.n = 0;
        add(&r, "v", T1 + 100 * i, i + 1, "mx", "r1", OBS_OK, 300, NEW, NEW, "");
        add(&r, "v", T1 + 100 * i, i + 1, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, NEW, NEW, "");
        struct obs *o = add(&r, "v", T1 + 100 * i, i + 1, "mx", "auth:ns2.contoso.com.", OBS_OK, 20,
                            OLD, NEW, "");
        o->address = "192.0.2.54";
        write_rows(&r);
        refresh(NULL, 0, &out);
    }
    conv_row_has("auth:ns2.contoso.com.", ",stale,", ",v,1,no");
    assert_non_null(strstr(out.status_line, "authoritative servers disagree"));
    assert_non_null(strstr(out.status_line, "overdue=0"));
}

/* The status line names at most three overdue resolvers, NAME@VANTAGE when
 * the log has several vantages, then how many more. */
static void test_overdue_names(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    static const char *const names[] = {"r1", "r2", "r3"};
    for (uint32_t i = 0; i < 2; i++) {
        r.n = 0;
        for (int v = 0; v < 2; v++)
            for (int k = 0; k < 3 - v; k++) {
                struct obs *o = add(&r, v ? "y" : "x", T1 + 30 * i + (uint32_t)v, i + 1, "mx",
                                    names[k], OBS_OK, 10, OLD, NEW, "");
                o->address = names[k];
            }
        write_rows(&r);
    }
    refresh(NULL, 0, &out);
    assert_string_equal(out.status_line,
                        "DNSPROP WARNING - contoso.com mx 0/5 converged, overdue: r1@x, r2@x, "
                        "r3@x, +2 more | converged=0;;;0;5 overdue=5");
}

/* ---- the deadline ---- */

/* The log began before the change: auth serves the old MX (TTL 3600) in
 * rounds 1 and 2 and the new one from round 3 (00:20); the deadline is
 * 00:20 + 3600 s. r2 is first seen stale at 01:18:20 with a TTL that
 * reaches beyond the deadline, and is still stale at 01:21:40: past the
 * deadline, overdue, though its own TTL has not run out. */
static void deadline_log(struct rows *r)
{
    static const int64_t at[] = {0, 600, 1200, 4700, 4900};
    r->n = 0;
    for (uint32_t i = 0; i < 5; i++) {
        int64_t t = T1 + at[i];
        const char *authv = i < 2 ? OLD : NEW;
        add(r, "v", t, i + 1, "mx", "auth:ns1.contoso.com.", OBS_OK, i < 2 ? 3600 : 300, authv,
            authv, "");
        add(r, "v", t, i + 1, "mx", "r1", OBS_OK, 300, i < 4 ? OLD : NEW, authv, "");
        if (i >= 3)
            add(r, "v", t, i + 1, "mx", "r2", OBS_OK, i == 3 ? 500 : 300, OLD, authv, "");
    }
}

static void test_deadline_from_log(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    deadline_log(&r);
    struct rows part = r;
    part.n = 6; /* rounds 1..3 */
    write_rows(&part);
    refresh(NULL, 0, &out);
    expect_mx_stale("2026-11-30 00:25:00", "2026-12-03 00:00:00", "2026-11-30 01:20:00");
    assert_string_equal(out.status_line,
                        "DNSPROP WARNING - contoso.com mx 0/1 converged, ETA 2026-11-30 00:25 UTC, "
                        "deadline 2026-11-30 01:20 UTC | converged=0;;;0;1 overdue=0");
    memmove(part.v, r.v + 6, (r.n - 6) * sizeof r.v[0]);
    part.n = r.n - 6;
    write_rows(&part);
    refresh(NULL, 0, &out);
    assert_true(last_from_state);
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,1,1,0,50.0,,2026-12-03 00:00:00,propagating,"
                "2026-11-30 01:20:00,1");
    conv_row_has("r2", ",stale,", ",2026-11-30 01:26:40,v,1,yes");
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com mx 1/2 converged, "
                                         "deadline 2026-11-30 01:20 UTC, overdue: r2 | "
                                         "converged=1;;;0;2 overdue=1");
    struct snap inc, reb;
    take(&inc, &out);
    rebuild(&out);
    take(&reb, &out);
    same(&inc, &reb);
    drop(&inc);
    drop(&reb);
}

/* A name that did not exist: the old TTL is the negative-caching TTL the
 * authoritative server gave with NXDOMAIN (the log's ttl column). */
static void test_deadline_negative_ttl(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    const char *cname = "autodiscover.outlook.com.";
    add(&r, "v", T1, 1, "autodiscover", "auth:ns1.contoso.com.", OBS_NXDOMAIN, 900, "", "", "");
    add(&r, "v", T1, 1, "autodiscover", "r1", OBS_NXDOMAIN, 900, "", "", "");
    add(&r, "v", T1 + 600, 2, "autodiscover", "auth:ns1.contoso.com.", OBS_OK, 3600, cname, cname,
        "");
    add(&r, "v", T1 + 600, 2, "autodiscover", "r1", OBS_NXDOMAIN, 300, "", cname, "");
    write_rows(&r);
    refresh(NULL, 0, &out);
    expect_line("summary.csv", "contoso.com,autodiscover",
                "contoso.com,autodiscover,1,0,1,0,0.0,2026-11-30 00:15:00,2026-12-03 00:00:00,"
                "propagating,2026-11-30 00:25:00,0");
}

/* The log began after the change: no old answer in it, so --old-ttl (saved
 * in settings.csv, kept by later runs that do not repeat it) and the
 * change time is --since, else the first round. */
static void test_deadline_old_ttl_setting(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    van_round(&r, "v", T1, 1, OLD, 300);
    write_rows(&r);
    refresh(NULL, 0, &out);
    expect_mx_stale("2026-11-30 00:05:00", "2026-12-03 00:00:00", "");
    struct report_settings s = {"contoso.com", NULL, false, 0, -1, 7200};
    refresh(&s, 1, &out);
    expect_line("settings.csv", "domain", "domain,profile,single_mx,window,since_utc,old_ttl");
    expect_line("settings.csv", "contoso.com", "contoso.com,,no,259200,,7200");
    expect_mx_stale("2026-11-30 00:05:00", "2026-12-03 00:00:00", "2026-11-30 02:00:00");
    /* a later run without --old-ttl, with --since */
    s.old_ttl_s = 0;
    s.since = T1 - 3600;
    refresh(&s, 1, &out);
    expect_line("settings.csv", "contoso.com", "contoso.com,,no,259200,2026-11-29 23:00:00,7200");
    expect_mx_stale("2026-11-30 00:05:00", "2026-12-02 23:00:00", "2026-11-30 01:00:00");
    /* report rebuilds with the saved settings */
    rebuild(&out);
    expect_mx_stale("2026-11-30 00:05:00", "2026-12-02 23:00:00", "2026-11-30 01:00:00");
    /* a change seen in the log wins over --old-ttl and --since */
    r.n = 0;
    add(&r, "v", T1 + 600, 2, "mx", "r1", OBS_OK, 300, OLD, OLD, "");
    add(&r, "v", T1 + 600, 2, "mx", "auth:ns1.contoso.com.", OBS_OK, 60, OLD, OLD, "");
    add(&r, "v", T1 + 1200, 3, "mx", "r1", OBS_OK, 300, OLD, NEW, "");
    add(&r, "v", T1 + 1200, 3, "mx", "auth:ns1.contoso.com.", OBS_OK, 300, NEW, NEW, "");
    write_rows(&r);
    refresh(NULL, 0, &out);
    expect_mx_stale("2026-11-30 00:25:00", "2026-12-02 23:00:00", "2026-11-30 00:21:00");
}

/* settings.csv as written before old_ttl existed still reads; a bad
 * old_ttl is refused with file:line. */
static void test_old_settings_file(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    van_round(&r, "v", T1, 1, OLD, 300);
    write_rows(&r);
    FILE *f = fopen(path_of("settings.csv"), "wb");
    fputs("domain,profile,single_mx,window,since_utc\r\ncontoso.com,,no,3600,\r\n", f);
    fclose(f);
    rebuild(&out);
    expect_mx_stale("2026-11-30 00:05:00", "2026-11-30 01:00:00", "");
    f = fopen(path_of("settings.csv"), "wb");
    fputs("domain,profile,single_mx,window,since_utc,old_ttl\r\ncontoso.com,,no,3600,,1h\r\n", f);
    fclose(f);
    char err[512] = "";
    assert_int_equal(report_rebuild(dir, 1000, NULL, &out, err, sizeof err), DP_EINPUT);
    assert_string_equal(err, "settings.csv:2: bad old_ttl '1h'");
}

/* A .state of the first version is never read: the log is read whole, and
 * the reports are what a rebuild gives. */
static void test_old_state_rebuilt(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    deadline_log(&r);
    write_rows(&r);
    refresh(NULL, 0, &out);
    struct snap want, got;
    take(&want, &out);
    /* the same state, marked version 1, with a hash that matches */
    size_t len;
    char *st = slurp(".state", &len);
    assert_non_null(st);
    assert_int_equal(strncmp(st, "dnsprop-state,3\r\n", 17), 0);
    st[14] = '1';
    char *end = st + len - 2;
    while (end > st && end[-1] != '\n')
        end--;
    FILE *f = fopen(path_of(".state"), "wb");
    fwrite(st, 1, (size_t)(end - st), f);
    fprintf(f, "end,%llu\r\n",
            (unsigned long long)rep__hash(REP__HASH_INIT, st, (size_t)(end - st)));
    fclose(f);
    free(st);
    refresh(NULL, 0, &out);
    assert_false(last_from_state);
    take(&got, &out);
    same(&want, &got);
    drop(&got);
    /* and the state is of the new version again */
    refresh(NULL, 0, &out);
    assert_true(last_from_state);
    drop(&want);
}

/* Sites survive .state: incremental feeding equals one feed of every row. */
static void test_sites_in_state(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    pool_round(&r, 0, 1, "s2", 13, OLD);
    feed(&r, NULL, 0, &out);
    pool_round(&r, 8, 2, "s1", 20, NEW);
    feed(&r, NULL, 0, &out);
    char *row1 = line_of("convergence.csv", "contoso.com,mx,pool,");
    pool_round(&r, 14, 3, "s3", 5, OLD);
    feed(&r, NULL, 0, &out);
    char *row = line_of("convergence.csv", "contoso.com,mx,pool,");
    /* s2 (+13) has expired by +14; s3 is stale till +19 */
    assert_non_null(strstr(row, ",stale,"));
    assert_non_null(strstr(row, ",2026-11-30 00:00:19,v,3,no"));
    assert_non_null(strstr(row1, ",stale,"));
    assert_non_null(strstr(row1, ",2026-11-30 00:00:13,v,2,no"));
    free(row);
    free(row1);
}

/* Writes the rows as a log of the first version would hold them: the old
 * header and 17 columns (site and ede must be empty). */
static void write_rows_v1(const struct rows *r)
{
    FILE *f = fopen(path_of("observations.csv"), "ab");
    assert_non_null(f);
    struct csvw w;
    csvw_init(&w);
    if (ftell(f) == 0)
        csvw_raw(&w, OBS_HEADER_V1 "\r\n", strlen(OBS_HEADER_V1) + 2);
    for (size_t i = 0; i < r->n; i++) {
        size_t before = w.len;
        obs_write_row(&w, &r->v[i]);
        /* the row ends ",SITE,EDE\r\n" with both empty: ",,\r\n" */
        assert_true(w.len - before > 4 && memcmp(w.buf + w.len - 4, ",,\r\n", 4) == 0);
        w.len -= 4;
        csvw_raw(&w, "\r\n", 2);
    }
    assert_int_equal(csvw_error(&w), 0);
    assert_int_equal(fwrite(w.buf, 1, w.len, f), w.len);
    csvw_deinit(&w);
    assert_int_equal(fclose(f), 0);
}

/* The pool and serve-stale stories through the log itself (site and ede
 * columns), round by round as cron runs them: incremental == rebuild ==
 * without .state, byte for byte. */
static void test_sites_rebuild_identity(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    static const struct {
        int64_t t;
        const char *site;
        int64_t ttl;
        bool old;
    } steps[] = {
        {0, "s2", 13, true}, {2, "s1", 5, true},    {4, "s3", 15, true},   {8, "s1", 20, false},
        {10, "s2", 3, true}, {14, "s2", 20, false}, {20, "s1", 20, false}, {22, "s3", 20, false},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        pool_round(&r, steps[i].t, (uint32_t)i + 1, steps[i].site, steps[i].ttl,
                   steps[i].old ? OLD : NEW);
        /* and bind, serving stale with EDE 3 from +21 on */
        struct obs *o = add(&r, "v", T1 + steps[i].t, (uint32_t)i + 1, "mx", "bind", OBS_OK,
                            steps[i].t < 20 ? 20 - steps[i].t : 30, OLD, NEW, "b1");
        o->ede = steps[i].t > 20 ? "3" : "";
        write_rows(&r);
        refresh(NULL, 0, &out);
        assert_true(i == 0 || last_from_state);
    }
    conv_row_has("pool", ",0,8,0," NEW ",,v,3,no", NULL);
    conv_row_has("bind", ",stale,", ",v,1,yes");
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com mx 1/2 converged, overdue: "
                                         "bind | converged=1;;;0;2 overdue=1");
    struct snap inc;
    take(&inc, &out);
    rebuilds_same(&inc);
    drop(&inc);
}

/* A log of the first version (17 columns) gives the reports a log of today
 * gives with the same rows and empty site and ede, and appending to it
 * keeps the reports in step with a rebuild. */
static void test_old_17_column_log(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    deadline_log(&r);
    struct rows part = r;
    part.n = 6;
    write_rows_v1(&part);
    refresh(NULL, 0, &out);
    memmove(part.v, r.v + 6, (r.n - 6) * sizeof r.v[0]);
    part.n = r.n - 6;
    write_rows_v1(&part);
    refresh(NULL, 0, &out);
    assert_true(last_from_state);
    size_t len;
    char *log = slurp("observations.csv", &len);
    assert_int_equal(strncmp(log, OBS_HEADER_V1 "\r\n", strlen(OBS_HEADER_V1) + 2), 0);
    free(log);
    struct snap old, reb;
    take(&old, &out);
    rebuild(&out);
    take(&reb, &out);
    same(&old, &reb);
    drop(&reb);
    /* the same rows in a log of today, in another folder */
    char keep[sizeof dir];
    memcpy(keep, dir, sizeof dir);
    assert_true(strlen(dir) + 5 < sizeof dir);
    memcpy(dir + strlen(dir), "/new", 5);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_rows(&r);
    refresh(NULL, 0, &out);
    take(&reb, &out);
    same(&old, &reb);
    drop(&reb);
    drop(&old);
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,1,1,0,50.0,,2026-12-03 00:00:00,propagating,"
                "2026-11-30 01:20:00,1");
    memcpy(dir, keep, sizeof dir);
}

/* ---- promises and the change (PRODUCT.md section 6) ---- */

/* One round at T1 + dt: the authoritative server serves auth_ans, resolver
 * "res" serves res_ans with res_ttl (and EDE ede), --expect NEW; fed, then
 * whether res is overdue in convergence.csv. */
static bool change_round(int64_t dt, uint32_t round, const char *auth_ans, const char *res_ans,
                         int64_t res_ttl, const char *ede, struct report_outcome *out)
{
    struct rows r = {.n = 0};
    add(&r, "v", T1 + dt, round, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, auth_ans, NEW, "");
    struct obs *o = add(&r, "v", T1 + dt, round, "mx", "res", OBS_OK, res_ttl, res_ans, NEW, "");
    o->ede = ede;
    feed(&r, NULL, 0, out);
    char *row = line_of("convergence.csv", "contoso.com,mx,res,");
    assert_non_null(row);
    bool yes = strstr(row, ",v,1,yes") != NULL;
    if (!yes)
        assert_non_null(strstr(row, ",v,1,no"));
    free(row);
    return yes;
}

/* (a) A resolver that serves what the authoritative servers serve, when
 * that answer is not the expected one (an --expect or profile value the
 * zone does not have yet): stale by the contract, never overdue, however
 * long its TTLs have run out; the status line names no one. */
static void test_same_as_auth_not_overdue(void **state)
{
    (void)state;
    struct report_outcome out;
    for (uint32_t i = 0; i < 5; i++) {
        struct obs *o;
        struct rows r = {.n = 0};
        add(&r, "v", T1 + 100 * i, i + 1, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, OLD, NEW, "");
        add(&r, "v", T1 + 100 * i, i + 1, "mx", "fast", OBS_OK, 20, OLD, NEW, "");
        o = add(&r, "v", T1 + 100 * i, i + 1, "mx", "slow", OBS_OK, 20, OLD, NEW, "site-a");
        o->ede = "3"; /* even a reply that calls itself stale */
        feed(&r, NULL, 0, &out);
    }
    conv_row_has("fast", ",stale,", ",v,1,no");
    conv_row_has("slow", ",v,1,no", NULL);
    assert_null(strstr(out.status_line, "overdue:"));
    assert_non_null(strstr(out.status_line, "overdue=0"));
    expect_line("summary.csv", "contoso.com,mx",
                "contoso.com,mx,2,0,2,0,0.0,2026-11-30 00:07:00,2026-12-03 00:00:00,critical,"
                ",0");
}

/* (b) watch started before the change with --expect: while the
 * authoritative servers still serve the old records, a resolver that
 * refetches them after its TTL gives a new promise and breaks nothing.
 * After the change, its last promise from before the change (+60 + 20)
 * still runs: not overdue at +75, overdue at +82 with the old answer. */
static void test_before_change_not_overdue(void **state)
{
    (void)state;
    struct report_outcome out;
    assert_false(change_round(0, 1, OLD, OLD, 20, "", &out));
    assert_false(change_round(30, 2, OLD, OLD, 20, "", &out));
    /* EDE 3 before the change: it serves what the zone has */
    assert_false(change_round(60, 3, OLD, OLD, 20, "3", &out));
    /* the change at +70: the promise +80 is after it */
    assert_false(change_round(70, 4, NEW, OLD, 10, "", &out));
    assert_false(change_round(75, 5, NEW, OLD, 5, "", &out));
    assert_non_null(strstr(out.status_line, "overdue=0"));
    assert_true(change_round(82, 6, NEW, OLD, 20, "", &out));
    assert_non_null(strstr(out.status_line, "overdue: res"));
    assert_false(change_round(90, 7, NEW, NEW, 20, "", &out));
    assert_non_null(strstr(out.status_line, "overdue=0"));
}

/* A promise that ran out before the change was kept: the answer after it
 * gives the promise that counts. */
static void test_promise_ended_before_change(void **state)
{
    (void)state;
    struct report_outcome out;
    assert_false(change_round(0, 1, OLD, OLD, 5, "", &out));   /* promise +5 */
    assert_false(change_round(10, 2, NEW, OLD, 20, "", &out)); /* change +10: promise +30 */
    assert_false(change_round(25, 3, NEW, OLD, 5, "", &out));
    assert_false(change_round(31, 4, NEW, OLD, 5, "", &out)); /* +30 and its grace */
    assert_true(change_round(32, 5, NEW, OLD, 5, "", &out));
}

/* A real serve-stale after the change: a reply that calls itself stale
 * (EDE 3) is overdue at once, until it converges; a stale answer after the
 * deadline is overdue too. */
static void test_serve_stale_after_change(void **state)
{
    (void)state;
    struct report_outcome out;
    assert_false(change_round(0, 1, OLD, OLD, 20, "", &out));
    assert_false(change_round(10, 2, NEW, OLD, 30, "", &out));
    assert_true(change_round(15, 3, NEW, OLD, 30, "3", &out));
    assert_true(change_round(20, 4, NEW, OLD, 30, "", &out)); /* stays until it converges */
    assert_false(change_round(25, 5, NEW, NEW, 300, "", &out));
    /* stale again after converging: the deadline (the change + the old
     * TTL, +30) has passed */
    assert_true(change_round(40, 6, NEW, OLD, 30, "", &out));
}

/* The change and the resolvers' answers in one round of a log rebuilt at
 * once or refreshed round by round: the same reports. */
static void test_change_rebuild_identity(void **state)
{
    (void)state;
    static const struct {
        int64_t dt;
        const char *auth, *res;
        int64_t ttl;
    } R[] = {{0, OLD, OLD, 20},  {30, OLD, OLD, 20}, {45, NEW, OLD, 20},
             {52, NEW, OLD, 20}, {70, NEW, OLD, 20}, {80, NEW, NEW, 20}};
    struct report_outcome out, out2;
    for (uint32_t i = 0; i < sizeof R / sizeof R[0]; i++) {
        struct rows r = {.n = 0};
        add(&r, "v", T1 + R[i].dt, i + 1, "mx", "auth:ns1.contoso.com.", OBS_OK, 20, R[i].auth, NEW,
            "");
        add(&r, "v", T1 + R[i].dt, i + 1, "mx", "res", OBS_OK, R[i].ttl, R[i].res, NEW, "");
        write_rows(&r);
        refresh(NULL, 0, &out);
        if (i == 4) {
            char *row = line_of("convergence.csv", "contoso.com,mx,res,");
            assert_non_null(strstr(row, ",v,1,yes"));
            free(row);
        }
    }
    struct snap a, b;
    take(&a, &out);
    rebuild(&out2);
    take(&b, &out2);
    same(&a, &b);
    drop(&a);
    drop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_vantages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chart_over_vantages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_of_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_without_nsid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_stale_overdue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ede_stale_first_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_never_overdue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overdue_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_from_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_negative_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_old_ttl_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_settings_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_state_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sites_in_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sites_rebuild_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_17_column_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_as_auth_not_overdue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_before_change_not_overdue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_ended_before_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serve_stale_after_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_rebuild_identity, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
