/* Unit tests for the reports (reports/agg.c, render.c, state.c): every
 * column of every report on hand-written logs with known answers, the
 * status line and exit status, and the rebuild identity (incremental
 * refreshes == `report` rebuild == rebuild without .state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h" /* rep__csvw_piece */
#include "reports.h"

#define T1 1795996800 /* 2026-11-30 00:00:00 */
#define E  "\"v=spf1 include:spf.protection.outlook.com -all\""
#define O  "\"v=spf1 mx -all\""
#define EQ "\"\"\"v=spf1 include:spf.protection.outlook.com -all\"\"\"" /* E, CSV-quoted */
#define OQ "\"\"\"v=spf1 mx -all\"\"\""

#include "scratch.h"
#include "reportlog.h"

/* Compares DIR/name with `want` written with \n line ends (the file has CRLF). */
static void expect_file(const char *name, const char *want)
{
    size_t len;
    char *got = slurp(name, &len);
    assert_non_null(got);
    char *crlf = malloc(2 * strlen(want) + 1);
    size_t o = 0;
    for (const char *p = want; *p; p++) {
        if (*p == '\n')
            crlf[o++] = '\r';
        crlf[o++] = *p;
    }
    crlf[o] = '\0';
    if (strcmp(got, crlf) != 0)
        fail_msg("%s:\n--- got:\n%s\n--- want:\n%s", name, got, crlf);
    free(crlf);
    free(got);
}

/* ---- building logs ---- */

static void add(struct rows *r, int64_t t, uint32_t round, const char *domain, const char *check,
                const char *qname, const char *qtype, const char *server, const char *address,
                enum obs_status st, int64_t ttl, const char *answer, const char *expected,
                enum obs_match match)
{
    struct obs *o = rows_next(r, "probe", t, round, st, ttl);
    rows_fill(o, domain, check, qname, qtype, server, address, answer, expected);
    o->match = match;
}

/* The SPF story: r1 converges in round 3, r2 flaps, r3 times out in round
 * 3, r4 stays stale; the authoritative server has the new record. */
static void spf_round(struct rows *r, unsigned round)
{
    int64_t t = T1 + 600 * (int64_t)(round - 1);
    const char *d = "contoso.com", *q = "contoso.com.";
    static const char *const r1[] = {O, O, E}, *const r2[] = {E, O, E};
    static const int64_t r4ttl[] = {3600, 3000, 2400};
    r->n = 0;
    add(r, t, round, d, "spf", q, "TXT", "r1", "192.0.2.1", OBS_OK, round == 2 ? 3000 : 3600,
        r1[round - 1], E, strcmp(r1[round - 1], E) == 0 ? OBS_MATCH_YES : OBS_MATCH_NO);
    add(r, t, round, d, "spf", q, "TXT", "r2", "192.0.2.2", OBS_OK, 300, r2[round - 1], E,
        strcmp(r2[round - 1], E) == 0 ? OBS_MATCH_YES : OBS_MATCH_NO);
    if (round < 3)
        add(r, t, round, d, "spf", q, "TXT", "r3", "192.0.2.3", OBS_OK, 3600, E, E, OBS_MATCH_YES);
    else
        add(r, t, round, d, "spf", q, "TXT", "r3", "192.0.2.3", OBS_TIMEOUT, -1, "", E,
            OBS_MATCH_NONE);
    add(r, t, round, d, "spf", q, "TXT", "r4", "[2001:db8::4]:53", OBS_OK, r4ttl[round - 1], O, E,
        OBS_MATCH_NO);
    add(r, t, round, d, "spf", q, "TXT", "auth:ns1.contoso.com.", "192.0.2.53", OBS_OK, 3600, E, E,
        OBS_MATCH_YES);
}

/* Whether the last append_refresh started from DIR/.state. */
static bool last_from_state;

static void append_refresh(struct rows *r, const struct report_settings *s, size_t ns,
                           struct report_outcome *out)
{
    struct obslog *l = NULL;
    char err[512] = "";
    assert_int_equal(obslog_open(dir, 1000, 0, &l, err, sizeof err), 0);
    last_from_state = obslog_from_state(l);
    if (r != NULL && r->n > 0) {
        assert_int_equal(r->v[0].round >= obslog_next_round(l) - 1, 1);
        assert_int_equal(obslog_append(l, r->v, r->n, err, sizeof err), 0);
    }
    int rc = report_refresh(l, s, ns, NULL, out, err, sizeof err);
    if (rc != 0)
        fail_msg("refresh: %s", err);
    obslog_close(l);
}

static const char *const SPF_CONVERGENCE =
    "domain,check,server,address,state,matching_since_utc,first_match_utc,last_mismatch_utc,"
    "flaps,rounds,errors,current_answer,stale_expires_utc,vantage,sites,overdue\n"
    "contoso.com,spf,r1,192.0.2.1,converged,2026-11-30 00:20:00,2026-11-30 00:20:00,"
    "2026-11-30 00:10:00,0,3,0," EQ ",,probe,1,no\n"
    "contoso.com,spf,r2,192.0.2.2,converged,2026-11-30 00:20:00,2026-11-30 00:00:00,"
    "2026-11-30 00:10:00,1,3,0," EQ ",,probe,1,no\n"
    "contoso.com,spf,r3,192.0.2.3,error,,2026-11-30 00:00:00,,0,3,1,(timeout),,probe,1,no\n"
    "contoso.com,spf,r4,[2001:db8::4]:53,stale,,,2026-11-30 00:20:00,0,3,0," OQ
    ",2026-11-30 01:00:00,probe,1,no\n"
    "contoso.com,spf,auth:ns1.contoso.com.,192.0.2.53,converged,2026-11-30 00:00:00,"
    "2026-11-30 00:00:00,,0,3,0," EQ ",,probe,1,no\n";

static const char *const SPF_TIMELINE =
    "time_utc,round,domain,check,servers,converged,stale,errors,percent_converged,vantage\n"
    "2026-11-30 00:00:00,1,contoso.com,spf,4,2,2,0,50.0,probe\n"
    "2026-11-30 00:10:00,2,contoso.com,spf,4,1,3,0,25.0,probe\n"
    "2026-11-30 00:20:00,3,contoso.com,spf,4,2,1,1,50.0,probe\n";

static void test_spf_story(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    for (unsigned round = 1; round <= 3; round++) {
        spf_round(&r, round);
        append_refresh(&r, NULL, 0, &out);
    }
    expect_file("convergence.csv", SPF_CONVERGENCE);
    expect_file("timeline.csv", SPF_TIMELINE);
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,spf,4,2,1,1,50.0,2026-11-30 01:00:00,2026-12-03 00:00:00,"
                "propagating,,0\n");
    expect_file("mx_compliance.csv",
                "domain,server,address,time_utc,mx_count,mx_hosts,verdict,reasons,vantage\n");
    assert_int_equal(out.exit_status, DP_EXIT_WARNING);
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com spf 2/4 converged, ETA "
                                         "2026-11-30 01:00 UTC | converged=2;;;0;4 overdue=0");

    /* the window ends before the latest round: expired, critical */
    char err[512];
    struct report_override ov = {900, -1};
    assert_int_equal(report_rebuild(dir, 1000, &ov, &out, err, sizeof err), 0);
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,spf,4,2,1,1,50.0,2026-11-30 01:00:00,2026-11-30 00:15:00,"
                "expired,,0\n");
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL);
    assert_string_equal(out.status_line,
                        "DNSPROP CRITICAL - contoso.com spf 2/4 converged, ETA 2026-11-30 01:00 "
                        "UTC, window ended | converged=2;;;0;4 overdue=0");
    /* since moved: the window covers the round again */
    ov.since = T1 + 600;
    assert_int_equal(report_rebuild(dir, 1000, &ov, &out, err, sizeof err), 0);
    assert_int_equal(out.exit_status, DP_EXIT_WARNING);
    /* saved settings: a window and a since for the domain */
    struct report_settings s = {"contoso.com", NULL, false, 3600, T1 - 3600, 0};
    append_refresh(NULL, &s, 1, &out);
    expect_file("settings.csv", "domain,profile,single_mx,window,since_utc,old_ttl\n"
                                "contoso.com,,no,3600,2026-11-29 23:00:00,\n");
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL);
    assert_int_equal(report_rebuild(dir, 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL); /* settings.csv read back */
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,spf,4,2,1,1,50.0,2026-11-30 01:00:00,2026-11-30 00:00:00,"
                "expired,,0\n");
    size_t len;
    char *svg = slurp("convergence.svg", &len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<polyline"));
    assert_non_null(strstr(svg, "ETA 11-30 01:00 UTC"));
    assert_non_null(strstr(svg, "window ends 11-30 00:00 UTC"));
    assert_non_null(strstr(svg, ">spf</text>"));
    free(svg);
}

static void test_all_converged_ok(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    add(&r, T1, 1, "contoso.com", "spf", "contoso.com.", "TXT", "r1", "192.0.2.1", OBS_OK, 300, E,
        E, OBS_MATCH_YES);
    add(&r, T1, 1, "contoso.com", "spf", "contoso.com.", "TXT", "auth:ns1.contoso.com.",
        "192.0.2.53", OBS_OK, 300, E, E, OBS_MATCH_YES);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, DP_EXIT_OK);
    assert_string_equal(out.status_line,
                        "DNSPROP OK - contoso.com spf 1/1 converged | converged=1;;;0;1 overdue=0");
}

static void test_empty_log(void **state)
{
    (void)state;
    struct report_outcome out;
    append_refresh(NULL, NULL, 0, &out);
    assert_int_equal(out.exit_status, DP_EXIT_UNKNOWN);
    expect_file("timeline.csv",
                "time_utc,round,domain,check,servers,converged,stale,errors,percent_converged,"
                "vantage\n");
}

#define SOA1 "ns1.contoso.com. hostmaster.contoso.com. 2026113001 3600 600 604800 300"
#define SOA2 "ns1.contoso.com. hostmaster.contoso.com. 2026113002 3600 600 604800 300"

static void test_auth_disagree_and_mismatch(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    const char *d = "contoso.com", *q = "contoso.com.";
    /* soa: the two auth servers serve different serials */
    add(&r, T1, 1, d, "soa", q, "SOA", "r1", "192.0.2.1", OBS_OK, 300, SOA2, SOA2, OBS_MATCH_YES);
    add(&r, T1, 1, d, "soa", q, "SOA", "auth:ns1.contoso.com.", "192.0.2.53", OBS_OK, 300, SOA2, "",
        OBS_MATCH_NONE);
    add(&r, T1 + 1, 1, d, "soa", q, "SOA", "auth:ns2.contoso.com.", "192.0.2.54", OBS_OK, 300, SOA1,
        "", OBS_MATCH_NONE);
    /* spf: the only auth server fails --expect */
    add(&r, T1, 1, d, "spf", q, "TXT", "r1", "192.0.2.1", OBS_OK, 300, O, E, OBS_MATCH_NO);
    add(&r, T1, 1, d, "spf", q, "TXT", "auth:ns1.contoso.com.", "192.0.2.53", OBS_OK, 300, O, E,
        OBS_MATCH_NO);
    /* ns: the auth servers agree; a timeout is no disagreement */
    add(&r, T1, 1, d, "ns", q, "NS", "r1", "192.0.2.1", OBS_OK, 300, "ns1.contoso.com.",
        "ns1.contoso.com.", OBS_MATCH_YES);
    add(&r, T1, 1, d, "ns", q, "NS", "auth:ns1.contoso.com.", "192.0.2.53", OBS_OK, 300,
        "ns1.contoso.com.", "", OBS_MATCH_NONE);
    add(&r, T1, 1, d, "ns", q, "NS", "auth:ns2.contoso.com.", "192.0.2.54", OBS_TIMEOUT, -1, "", "",
        OBS_MATCH_NONE);
    append_refresh(&r, NULL, 0, &out);
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,soa,1,1,0,0,100.0,,2026-12-03 00:00:00,critical,,0\n"
                "contoso.com,spf,1,0,1,0,0.0,2026-11-30 00:05:00,2026-12-03 00:00:00,critical,,"
                "0\n"
                "contoso.com,ns,1,1,0,0,100.0,,2026-12-03 00:00:00,converged,,0\n");
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL);
    assert_string_equal(
        out.status_line,
        "DNSPROP CRITICAL - contoso.com spf 0/1 converged, ETA 2026-11-30 00:05 "
        "UTC, authoritative answer does not match what is expected; contoso.com "
        "soa 1/1; contoso.com ns 1/1 | converged=0;;;0;1 overdue=0 'contoso.com soa'=1;;;0;1 "
        "'contoso.com ns'=1;;;0;1");
    /* auth rows without expectation: pending; the timeout: error */
    size_t len;
    char *conv = slurp("convergence.csv", &len);
    assert_non_null(strstr(conv, "contoso.com,soa,auth:ns2.contoso.com.,192.0.2.54,pending,,,,0,1,"
                                 "0," SOA1 ",,probe,1,no\r\n"));
    assert_non_null(strstr(conv, "contoso.com,ns,auth:ns2.contoso.com.,192.0.2.54,error,,,,0,1,1,("
                                 "timeout),,probe,0,no\r\n"));
    free(conv);
}

static void mx_rows(struct rows *r)
{
    const char *d = "fabrikam.com", *q = "fabrikam.com.";
    const char *good = "0 fabrikam-com.mail.protection.outlook.com.";
    const char *tgt = "fabrikam-com.mail.protection.outlook.com.";
    r->n = 0;
    add(r, T1, 1, d, "mx", q, "MX", "m1", "192.0.2.1", OBS_OK, 3600, good, good, OBS_MATCH_YES);
    add(r, T1, 1, d, "mx", tgt, "A", "m1", "192.0.2.1", OBS_OK, 10, "192.0.2.25", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m2", "192.0.2.2", OBS_OK, 300,
        "10 a.fabrikam.com. | 20 b.fabrikam.com.", good, OBS_MATCH_NO);
    add(r, T1, 1, d, "mx", q, "MX", "m3", "192.0.2.3", OBS_NODATA, 60, "", "", OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m4", "192.0.2.4", OBS_OK, 60, "0 .", "", OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m5", "192.0.2.5", OBS_OK, 60, "10 Mail.Fabrikam.COM.", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", "mail.fabrikam.com.", "CNAME", "m5", "192.0.2.5", OBS_OK, 60,
        "x.fabrikam.net.", "", OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", "mail.fabrikam.com.", "A", "m5", "192.0.2.5", OBS_OK, 60, "192.0.2.9",
        "", OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m6", "192.0.2.6", OBS_OK, 60, "10 192.0.2.1.", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m7", "192.0.2.7", OBS_OK, 60, "10 gone.fabrikam.com.", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", "gone.fabrikam.com.", "A", "m7", "192.0.2.7", OBS_NXDOMAIN, 60, "", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", "gone.fabrikam.com.", "AAAA", "m7", "192.0.2.7", OBS_NXDOMAIN, 60, "",
        "", OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m8", "192.0.2.8", OBS_OK, 60,
        "0 fabrikam-com.mail.protection.outlook.com. | 0 fabrikam-com.b-v1.mx.microsoft.", "",
        OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "m9", "192.0.2.9", OBS_TIMEOUT, -1, "", good, OBS_MATCH_NONE);
    add(r, T1, 1, d, "mx", q, "MX", "auth:ns1.fabrikam.com.", "192.0.2.53", OBS_OK, 3600, good,
        good, OBS_MATCH_YES);
    add(r, T1, 1, d, "mx", tgt, "A", "auth:ns1.fabrikam.com.", "192.0.2.53", OBS_OK, 10,
        "192.0.2.25", "", OBS_MATCH_NONE);
    /* a second domain whose authoritative MX is an IP literal */
    add(r, T1, 1, "northwind.com", "mx", "northwind.com.", "MX", "m1", "192.0.2.1", OBS_OK, 60,
        "10 192.0.2.7.", "", OBS_MATCH_NONE);
    add(r, T1, 1, "northwind.com", "mx", "northwind.com.", "MX", "auth:ns1.northwind.com.",
        "192.0.2.63", OBS_OK, 60, "10 192.0.2.7.", "", OBS_MATCH_NONE);
}

static void test_mx_verdicts(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    struct report_settings s = {"fabrikam.com", "m365", false, 0, -1, 0};
    mx_rows(&r);
    append_refresh(&r, &s, 1, &out);
    expect_file(
        "mx_compliance.csv",
        "domain,server,address,time_utc,mx_count,mx_hosts,verdict,reasons,vantage\n"
        "fabrikam.com,m1,192.0.2.1,2026-11-30 00:00:00,1,fabrikam-com.mail.protection.outlook.com.,"
        "compliant,,probe\n"
        "fabrikam.com,m2,192.0.2.2,2026-11-30 00:00:00,2,a.fabrikam.com. | b.fabrikam.com.,"
        "noncompliant,multiple-mx;target-mismatch,probe\n"
        "fabrikam.com,m3,192.0.2.3,2026-11-30 00:00:00,0,,noncompliant,no-mx,probe\n"
        "fabrikam.com,m4,192.0.2.4,2026-11-30 00:00:00,1,.,noncompliant,null-mx,probe\n"
        "fabrikam.com,m5,192.0.2.5,2026-11-30 00:00:00,1,mail.fabrikam.com.,noncompliant,"
        "target-is-cname,probe\n"
        "fabrikam.com,m6,192.0.2.6,2026-11-30 "
        "00:00:00,1,192.0.2.1.,noncompliant,target-is-ip,probe\n"
        "fabrikam.com,m7,192.0.2.7,2026-11-30 00:00:00,1,gone.fabrikam.com.,noncompliant,"
        "target-unresolvable,probe\n"
        "fabrikam.com,m8,192.0.2.8,2026-11-30 00:00:00,2,fabrikam-com.b-v1.mx.microsoft. | "
        "fabrikam-com.mail.protection.outlook.com.,transition,legacy-plus-mx-microsoft,probe\n"
        "fabrikam.com,m9,192.0.2.9,2026-11-30 00:00:00,,,error,,probe\n"
        "fabrikam.com,auth:ns1.fabrikam.com.,192.0.2.53,2026-11-30 00:00:00,1,"
        "fabrikam-com.mail.protection.outlook.com.,compliant,,probe\n"
        "northwind.com,m1,192.0.2.1,2026-11-30 "
        "00:00:00,1,192.0.2.7.,noncompliant,target-is-ip,probe\n"
        "northwind.com,auth:ns1.northwind.com.,192.0.2.63,2026-11-30 00:00:00,1,192.0.2.7.,"
        "noncompliant,target-is-ip,probe\n");
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "fabrikam.com,mx,9,1,1,1,11.1,2026-11-30 00:05:00,2026-12-03 00:00:00,"
                "propagating,,0\n"
                "northwind.com,mx,1,0,0,0,0.0,,2026-12-03 00:00:00,critical,,0\n");
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL);
    assert_string_equal(
        out.status_line,
        "DNSPROP CRITICAL - northwind.com mx 0/1 converged, authoritative MX "
        "noncompliant; fabrikam.com mx 1/9 | converged=0;;;0;1 overdue=0 'fabrikam.com "
        "mx'=1;;;0;9");
    size_t len;
    char *conv = slurp("convergence.csv", &len);
    /* the MX row's answer only: the target rows are details */
    assert_non_null(strstr(conv, "fabrikam.com,mx,m5,192.0.2.5,pending,,,,0,1,0,10 "
                                 "Mail.Fabrikam.COM.,,probe,1,no\r\n"));
    assert_non_null(
        strstr(conv, "fabrikam.com,mx,m3,192.0.2.3,pending,,,,0,1,0,(nodata),,probe,1,no\r\n"));
    free(conv);

    /* without a single MX required: two MX are fine */
    s.profile = NULL;
    append_refresh(NULL, &s, 1, &out);
    conv = slurp("mx_compliance.csv", &len);
    assert_non_null(
        strstr(conv, "a.fabrikam.com. | b.fabrikam.com.,noncompliant,target-mismatch,probe\r\n"));
    assert_non_null(strstr(conv, "fabrikam-com.mail.protection.outlook.com.,compliant,,probe\r\n"
                                 "fabrikam.com,m9"));
    free(conv);
}

/* ---- rebuild identity ---- */

static void test_rebuild_identity(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    struct report_settings s = {"fabrikam.com", "m365", false, 7200, -1, 0};
    /* round 1: MX story (two rounds), then the SPF story in rounds 2..4;
     * one open/append/refresh/close per round, as cron does */
    mx_rows(&r);
    append_refresh(&r, &s, 1, &out);
    for (unsigned round = 1; round <= 3; round++) {
        spf_round(&r, round);
        for (size_t i = 0; i < r.n; i++)
            r.v[i].round = round + 1;
        append_refresh(&r, NULL, 0, &out);
        assert_true(last_from_state); /* incremental: only the new rows were read */
    }
    struct snap inc, nostate;
    take(&inc, &out);
    rebuilds_same(&inc);
    char p[400];
    snprintf(p, sizeof p, "%s/.state", dir);

    /* a damaged .state is ignored: same reports */
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    fputc('#', f);
    fclose(f);
    append_refresh(NULL, NULL, 0, &out);
    assert_false(last_from_state);
    take(&nostate, &out);
    same(&inc, &nostate);
    drop(&nostate);

    /* timeline.csv touched by someone: rebuilt from the log */
    snprintf(p, sizeof p, "%s/timeline.csv", dir);
    f = fopen(p, "ab");
    fputs("junk\r\n", f);
    fclose(f);
    append_refresh(NULL, NULL, 0, &out);
    take(&nostate, &out);
    same(&inc, &nostate);
    drop(&nostate);
    drop(&inc);
}

/* The shape where every group is one row (bench/genlog_single.awk, small):
 * 4 domains x 5 resolvers, mx only. Resolver s moves to the new MX in round
 * s + 1; r5 alternates between two addresses (two servers); d1's rows come
 * in another order every round; d3's r1 keeps its answer while what is
 * expected of it changes in round 4 (same answer, another match); d4's r4
 * times out in round 6. A rebuild keeps what it learnt of one round to read
 * the next faster; a refresh per round starts afresh from .state: both
 * must give the same reports. */
static void single_row_round(struct rows *r, unsigned round)
{
    static const char *const doms[] = {"d1.example", "d2.example", "d3.example", "d4.example"};
    static const char *const qnames[] = {"d1.example.", "d2.example.", "d3.example.",
                                         "d4.example."};
    static const char *const olds[] = {"10 mail.d1.example.", "10 mail.d2.example.",
                                       "10 Mail.D3.example.", "10 mail.d4.example."};
    static const char *const news[] = {
        "0 d1-example.mail.protection.outlook.com.", "0 d2-example.mail.protection.outlook.com.",
        "0 d3-example.mail.protection.outlook.com.", "0 d4-example.mail.protection.outlook.com."};
    static const char *const srvs[] = {"r1", "r2", "r3", "r4", "r5"};
    static const char *const addrs[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4",
                                        "192.0.2.5"};
    int64_t t = T1 + 600 * (int64_t)(round - 1);
    r->n = 0;
    for (unsigned d = 0; d < 4; d++) {
        for (unsigned k = 0; k < 5; k++) {
            unsigned s = d == 0 ? (k + round) % 5 : k;
            bool conv = round >= s + 2;
            const char *ans = conv ? news[d] : olds[d], *want = news[d];
            if (d == 2 && s == 0) {
                ans = olds[d];
                want = round < 4 ? olds[d] : news[d];
            }
            const char *adr = s == 4 && round % 2 == 0 ? "2001:db8::5" : addrs[s];
            if (d == 3 && s == 3 && round == 6)
                add(r, t, round, doms[d], "mx", qnames[d], "MX", srvs[s], adr, OBS_TIMEOUT, -1, "",
                    want, OBS_MATCH_NONE);
            else
                add(r, t, round, doms[d], "mx", qnames[d], "MX", srvs[s], adr, OBS_OK, 3600, ans,
                    want, strcmp(ans, want) == 0 ? OBS_MATCH_YES : OBS_MATCH_NO);
        }
    }
}

static void test_single_row_groups_identity(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    for (unsigned round = 1; round <= 12; round++) {
        single_row_round(&r, round);
        append_refresh(&r, NULL, 0, &out);
        assert_true(round == 1 || last_from_state);
        size_t len;
        char *mx = slurp("mx_compliance.csv", &len);
        assert_non_null(mx);
        /* d3's r1: the same answer every round, a mismatch from round 4 on */
        char want[200];
        snprintf(want, sizeof want,
                 "d3.example,r1,192.0.2.1,2026-11-30 %02u:%02u:00,1,mail.d3.example.,%s,probe\r\n",
                 (round - 1) / 6, (round - 1) % 6 * 10,
                 round < 4 ? "compliant," : "noncompliant,target-mismatch");
        if (strstr(mx, want) == NULL)
            fail_msg("round %u: no %s in\n%s", round, want, mx);
        free(mx);
    }
    struct snap inc;
    take(&inc, &out);
    rebuilds_same(&inc);
    /* 4 domains x 12 rounds in the timeline, r5 twice (two addresses) */
    size_t lines = 0;
    for (size_t i = 0; i < inc.len[1]; i++)
        lines += inc.f[1][i] == '\n';
    assert_int_equal(lines, 1 + 4 * 12);
    assert_non_null(strstr(inc.f[0], "d2.example,mx,r5,192.0.2.5,"));
    assert_non_null(strstr(inc.f[0], "d2.example,mx,r5,2001:db8::5,"));
    /* d4's r4: the timeout of round 6 is an error round, not the end */
    assert_non_null(strstr(inc.f[0], "d4.example,mx,r4,192.0.2.4,converged,"));
    drop(&inc);
}

/* Rows appended to a round after it was refreshed: the whole log is read
 * again, and the result is what a rebuild gives. */
static void test_round_split_over_refreshes(void **state)
{
    (void)state;
    struct rows r, half;
    struct report_outcome out;
    char err[512];
    spf_round(&r, 1);
    half = r;
    half.n = 2;
    append_refresh(&half, NULL, 0, &out);
    memmove(half.v, r.v + 2, (r.n - 2) * sizeof r.v[0]);
    half.n = r.n - 2;
    append_refresh(&half, NULL, 0, &out);
    spf_round(&r, 2);
    append_refresh(&r, NULL, 0, &out);
    struct snap inc, reb;
    take(&inc, &out);
    assert_int_equal(report_rebuild(dir, 1000, NULL, &out, err, sizeof err), 0);
    take(&reb, &out);
    same(&inc, &reb);
    drop(&inc);
    drop(&reb);
    expect_file("timeline.csv",
                "time_utc,round,domain,check,servers,converged,stale,errors,percent_converged,"
                "vantage\n"
                "2026-11-30 00:00:00,1,contoso.com,spf,4,2,2,0,50.0,probe\n"
                "2026-11-30 00:10:00,2,contoso.com,spf,4,1,3,0,25.0,probe\n");
}

/* Hostile text reaches the reports as text, never as a formula. */
static void test_formula_in_reports(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    add(&r, T1, 1, "contoso.com", "autodiscover", "autodiscover.contoso.com.", "CNAME", "r1",
        "192.0.2.1", OBS_OK, 300, "=2+5.attacker.example.", "autodiscover.outlook.com.",
        OBS_MATCH_NO);
    add(&r, T1, 1, "contoso.com", "autodiscover", "autodiscover.contoso.com.", "CNAME", "-x",
        "192.0.2.2", OBS_OK, 300, "@sum(1)", "autodiscover.outlook.com.", OBS_MATCH_NO);
    append_refresh(&r, NULL, 0, &out);
    size_t len;
    char *conv = slurp("convergence.csv", &len);
    assert_non_null(strstr(conv, ",'=2+5.attacker.example.,"));
    assert_non_null(strstr(conv, "contoso.com,autodiscover,'-x,192.0.2.2,stale"));
    assert_non_null(strstr(conv, ",'@sum(1),"));
    for (size_t i = 0; i < len; i++)
        assert_true((conv[i] >= 0x20 && conv[i] < 0x7f) || conv[i] == '\r' || conv[i] == '\n');
    free(conv);
}

/* An NS name with an IPv4 and an IPv6 address is two servers: rows are kept
 * apart by name and address together. */
static void test_same_name_two_addresses(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    const char *d = "contoso.com", *q = "contoso.com.";
    add(&r, T1, 1, d, "spf", q, "TXT", "r1", "192.0.2.1", OBS_OK, 300, E, E, OBS_MATCH_YES);
    add(&r, T1, 1, d, "spf", q, "TXT", "auth:ns1.contoso.com", "192.0.2.53", OBS_OK, 300, E, E,
        OBS_MATCH_YES);
    add(&r, T1, 1, d, "spf", q, "TXT", "auth:ns1.contoso.com", "[2001:db8::53]", OBS_OK, 300, O, E,
        OBS_MATCH_NO);
    append_refresh(&r, NULL, 0, &out);
    expect_file("convergence.csv",
                "domain,check,server,address,state,matching_since_utc,first_match_utc,"
                "last_mismatch_utc,flaps,rounds,errors,current_answer,stale_expires_utc,vantage,"
                "sites,overdue\n"
                "contoso.com,spf,r1,192.0.2.1,converged,2026-11-30 00:00:00,2026-11-30 00:00:00,"
                ",0,1,0," EQ ",,probe,1,no\n"
                "contoso.com,spf,auth:ns1.contoso.com,192.0.2.53,converged,2026-11-30 00:00:00,"
                "2026-11-30 00:00:00,,0,1,0," EQ ",,probe,1,no\n"
                "contoso.com,spf,auth:ns1.contoso.com,[2001:db8::53],stale,,,2026-11-30 00:00:00,"
                "0,1,0," OQ ",2026-11-30 00:05:00,probe,1,no\n");
    assert_int_equal(out.exit_status, DP_EXIT_CRITICAL);
    /* the same from the saved state */
    r.n = 0;
    add(&r, T1 + 600, 2, d, "spf", q, "TXT", "auth:ns1.contoso.com", "[2001:db8::53]", OBS_OK, 300,
        E, E, OBS_MATCH_YES);
    append_refresh(&r, NULL, 0, &out);
    assert_true(last_from_state);
    size_t len;
    char *conv = slurp("convergence.csv", &len);
    assert_non_null(conv);
    assert_non_null(strstr(conv, "auth:ns1.contoso.com,[2001:db8::53],converged"));
    assert_non_null(strstr(conv, "auth:ns1.contoso.com,192.0.2.53,converged"));
    free(conv);
}

/* The delegation check (PRODUCT.md section 12) as the reports judge it, from
 * rows alone. contoso.com moves to ns3/ns4.contoso.com. Round 1: parent p1
 * still names the old servers (one of which, ns1.old.example., answers
 * REFUSED: lame); parent p2 names the new ones but its glue for
 * ns3.contoso.com. is not the child's address. Round 2: both parents agree
 * with the child, glue fixed: consistent. */
#define DELEG_HEADER                                                                               \
    "domain,server,address,time_utc,status,ns,ttl,glue,child_ns,lame,verdict,reasons,changed_utc," \
    "old_ttl,deadline_utc,vantage\n"
#define NEWNS  "ns3.contoso.com. | ns4.contoso.com."
#define OLDNS  "ns1.old.example. | ns2.old.example."
#define GLUE34 " ; glue ns3.contoso.com. A 192.0.2.3 ; glue ns4.contoso.com. A 192.0.2.4"
static void deleg_round_rows(struct rows *r, unsigned round)
{
    int64_t t = T1 + 600 * (int64_t)(round - 1);
    const char *d = "contoso.com", *q = "contoso.com.";
    r->n = 0;
    if (round == 1) {
        add(r, t, round, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 172800,
            OLDNS, NEWNS, OBS_MATCH_NO);
        add(r, t, round, d, "delegation", q, "NS", "parent:p2", "192.0.2.102", OBS_OK, 172800,
            NEWNS " ; glue ns3.contoso.com. A 192.0.2.33 ; glue ns4.contoso.com. A 192.0.2.4",
            NEWNS, OBS_MATCH_YES);
        add(r, t, round, d, "delegation", q, "NS", "auth:ns1.old.example", "198.51.100.1",
            OBS_REFUSED, -1, "", "", OBS_MATCH_NONE);
        add(r, t, round, d, "delegation", q, "NS", "auth:ns2.old.example", "198.51.100.2", OBS_OK,
            3600, OLDNS " ; aa", "", OBS_MATCH_NONE);
    } else {
        add(r, t, round, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 172800,
            NEWNS GLUE34, NEWNS, OBS_MATCH_YES);
        add(r, t, round, d, "delegation", q, "NS", "parent:p2", "192.0.2.102", OBS_OK, 172800,
            NEWNS GLUE34, NEWNS, OBS_MATCH_YES);
    }
    if (round == 2) {
        /* the ns check: the child changed (old TTL 600), a resolver still has the old set */
        add(r, t, round, d, "ns", q, "NS", "r1", "192.0.2.1", OBS_OK, 3600, OLDNS, NEWNS,
            OBS_MATCH_NO);
        add(r, t, round, d, "ns", q, "NS", "auth:ns3.contoso.com", "192.0.2.3", OBS_OK, 3600, NEWNS,
            NEWNS, OBS_MATCH_YES);
    }
    /* a named server that timed out is not lame */
    add(r, t, round, d, "delegation", q, "NS", "auth:ns3.contoso.com", "192.0.2.3", OBS_OK, 3600,
        NEWNS GLUE34 " ; aa", "", OBS_MATCH_NONE);
    add(r, t, round, d, "delegation", q, "NS", "auth:ns4.contoso.com", "192.0.2.4", OBS_TIMEOUT, -1,
        "", "", OBS_MATCH_NONE);
    /* the child's own addresses of its in-domain servers */
    add(r, t, round, d, "delegation", "ns3.contoso.com.", "A", "auth:ns3.contoso.com", "192.0.2.3",
        OBS_OK, 3600, "192.0.2.3", "", OBS_MATCH_NONE);
    add(r, t, round, d, "delegation", "ns3.contoso.com.", "AAAA", "auth:ns3.contoso.com",
        "192.0.2.3", OBS_OK, 3600, "2001:db8::3", "", OBS_MATCH_NONE);
    add(r, t, round, d, "delegation", "ns4.contoso.com.", "A", "auth:ns3.contoso.com", "192.0.2.3",
        OBS_OK, 3600, "192.0.2.4", "", OBS_MATCH_NONE);
    add(r, t, round, d, "delegation", "ns4.contoso.com.", "AAAA", "auth:ns3.contoso.com",
        "192.0.2.3", OBS_NODATA, 300, "", "", OBS_MATCH_NONE);
}

static void test_delegation(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    char err[512];
    deleg_round_rows(&r, 1);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, 2);
    assert_string_equal(
        out.status_line,
        "DNSPROP CRITICAL - contoso.com delegation 1/2 converged, "
        "delegation-mismatch;glue-mismatch;lame-delegation | converged=1;;;0;2 overdue=0");
    expect_file("delegation.csv", DELEG_HEADER
                "contoso.com,parent:p1,192.0.2.101,2026-11-30 00:00:00,ok," OLDNS ",172800,," NEWNS
                ",ns1.old.example.,lame,delegation-mismatch;lame-delegation,,172800,,probe\n"
                "contoso.com,parent:p2,192.0.2.102,2026-11-30 00:00:00,ok," NEWNS
                ",172800,ns3.contoso.com. A 192.0.2.33 | ns4.contoso.com. A 192.0.2.4," NEWNS
                ",,mismatch,glue-mismatch,,,,probe\n");
    /* a parent that has not changed is no cache: no ETA */
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,delegation,2,1,1,0,50.0,,2026-12-03 00:00:00,critical,,0\n");

    deleg_round_rows(&r, 2);
    append_refresh(&r, NULL, 0, &out);
    assert_true(last_from_state);
    assert_int_equal(out.exit_status, 1); /* the ns check: a resolver still stale */
    expect_file("delegation.csv", DELEG_HEADER
                "contoso.com,parent:p1,192.0.2.101,2026-11-30 00:10:00,ok," NEWNS
                ",172800,ns3.contoso.com. A 192.0.2.3 | ns4.contoso.com. A 192.0.2.4," NEWNS
                ",,consistent,,2026-11-30 00:10:00,172800,2026-12-02 00:10:00,probe\n"
                "contoso.com,parent:p2,192.0.2.102,2026-11-30 00:10:00,ok," NEWNS
                ",172800,ns3.contoso.com. A 192.0.2.3 | ns4.contoso.com. A 192.0.2.4," NEWNS
                ",,consistent,,,,,probe\n");

    /* the deadline of the NS change is the parent's: p1 changed in round 2
     * and its old referral had TTL 172800; p2 never named other servers.
     * For ns it is the later of that and the ns check's own deadline. */
    expect_file("summary.csv",
                "domain,check,servers,converged,stale,errors,percent_converged,eta_utc,"
                "window_ends_utc,status,deadline_utc,overdue\n"
                "contoso.com,delegation,2,2,0,0,100.0,,2026-12-03 00:00:00,converged,"
                "2026-12-02 00:10:00,0\n"
                "contoso.com,ns,1,0,1,0,0.0,2026-11-30 01:10:00,2026-12-03 00:00:00,propagating,"
                "2026-12-02 00:10:00,0\n");
    /* the rebuild writes the same, with and without .state */
    size_t l1 = 0, l2 = 0;
    char *inc = slurp("delegation.csv", &l1);
    assert_int_equal(report_rebuild(dir, 1000, NULL, &out, err, sizeof err), 0);
    char *reb = slurp("delegation.csv", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(inc, reb, l1);
    free(reb);
    char p[400];
    snprintf(p, sizeof p, "%s/.state", dir);
    assert_int_equal(unlink(p), 0);
    append_refresh(NULL, NULL, 0, &out);
    assert_false(last_from_state);
    reb = slurp("delegation.csv", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(inc, reb, l1);
    free(reb);
    free(inc);
    assert_int_equal(out.exit_status, 1);
}

/* Missing in-domain glue is a glue-mismatch; AAAA glue missing while A glue
 * is there is not (many registrars take IPv4 glue only); a delegation
 * mismatch alone is a WARNING, and after the window an expired CRITICAL. */
static void test_delegation_glue_rules(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    const char *d = "contoso.com", *q = "contoso.com.";
    r.n = 0;
    add(&r, T1, 1, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 3600,
        "ns3.contoso.com. | ns4.contoso.com. ; glue ns3.contoso.com. A 192.0.2.3", NEWNS,
        OBS_MATCH_YES);
    add(&r, T1, 1, d, "delegation", "ns3.contoso.com.", "A", "auth:ns3.contoso.com", "192.0.2.3",
        OBS_OK, 3600, "192.0.2.3", "", OBS_MATCH_NONE);
    add(&r, T1, 1, d, "delegation", "ns3.contoso.com.", "AAAA", "auth:ns3.contoso.com", "192.0.2.3",
        OBS_OK, 3600, "2001:db8::3", "", OBS_MATCH_NONE);
    add(&r, T1, 1, d, "delegation", "ns4.contoso.com.", "A", "auth:ns3.contoso.com", "192.0.2.3",
        OBS_OK, 3600, "192.0.2.4", "", OBS_MATCH_NONE);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, 1);
    assert_non_null(strstr(out.status_line, ", glue-mismatch |"));
    expect_file("delegation.csv", DELEG_HEADER
                "contoso.com,parent:p1,192.0.2.101,2026-11-30 00:00:00,ok," NEWNS
                ",3600,ns3.contoso.com. A 192.0.2.3," NEWNS ",,mismatch,glue-mismatch,,,,probe\n");
    /* round 2: ns4 gets its glue; the parent's NS set still the old one */
    r.n = 0;
    add(&r, T1 + 600, 2, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 3600, OLDNS,
        NEWNS, OBS_MATCH_NO);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, 1);
    assert_string_equal(out.status_line, "DNSPROP WARNING - contoso.com delegation 0/1 converged, "
                                         "delegation-mismatch | converged=0;;;0;1 overdue=0");
    /* past the window: expired */
    struct report_settings s = {"contoso.com", "", false, 600, T1, 0};
    r.n = 0;
    add(&r, T1 + 1200, 3, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 3600, OLDNS,
        NEWNS, OBS_MATCH_NO);
    append_refresh(&r, &s, 1, &out);
    assert_int_equal(out.exit_status, 2);
    assert_non_null(strstr(out.status_line, "delegation-mismatch"));
}

/* A parent server the host cannot reach (IPv6 without a route) is not
 * counted; when none can be reached, nothing is known: WARNING. */
static void test_delegation_unreachable(void **state)
{
    (void)state;
    struct rows r;
    struct report_outcome out;
    const char *d = "contoso.com", *q = "contoso.com.";
    r.n = 0;
    add(&r, T1, 1, d, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 3600, NEWNS, NEWNS,
        OBS_MATCH_YES);
    add(&r, T1, 1, d, "delegation", q, "NS", "parent:p1", "[2001:db8::101]", OBS_UNREACHABLE, -1,
        "", NEWNS, OBS_MATCH_NONE);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, 0);
    assert_string_equal(
        out.status_line,
        "DNSPROP OK - contoso.com delegation 1/1 converged | converged=1;;;0;1 overdue=0");
    r.n = 0;
    add(&r, T1 + 600, 2, d, "delegation", q, "NS", "parent:p1", "[2001:db8::101]", OBS_UNREACHABLE,
        -1, "", NEWNS, OBS_MATCH_NONE);
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, 1);
    assert_non_null(strstr(out.status_line, "0/0 converged, no parent server reachable"));
}

/* The status line names the worst checks first wherever they are in the
 * log: critical, expired, propagating, converged, then the lowest share
 * converged, then log order; the rest are counted. */
static void test_status_line_worst_first(void **state)
{
    (void)state;
    /* resolvers converged of 4, per domain in log order */
    static const unsigned conv[] = {4, 3, 4, 1, 2, 0, 3, 1};
    static const char *const addrs[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"};
    static const char *const srvs[] = {"r1", "r2", "r3", "r4"};
    /* the rows keep pointers: one name each */
    char doms[8][16], qs[8][16];
    struct rows r = {.n = 0};
    struct report_outcome out;
    for (unsigned d = 0; d < sizeof conv / sizeof conv[0]; d++) {
        snprintf(doms[d], sizeof doms[d], "d%u.example", d + 1);
        snprintf(qs[d], sizeof qs[d], "d%u.example.", d + 1);
        for (unsigned k = 0; k < 4; k++) {
            bool yes = k < conv[d];
            add(&r, T1, 1, doms[d], "spf", qs[d], "TXT", srvs[k], addrs[k], OBS_OK, 300,
                yes ? E : O, E, yes ? OBS_MATCH_YES : OBS_MATCH_NO);
        }
    }
    append_refresh(&r, NULL, 0, &out);
    assert_int_equal(out.exit_status, DP_EXIT_WARNING);
    assert_string_equal(out.status_line,
                        "DNSPROP WARNING - d6.example spf 0/4 converged, ETA 2026-11-30 00:05 UTC; "
                        "d4.example spf 1/4; d8.example spf 1/4; d5.example spf 2/4; "
                        "d2.example spf 3/4; +3 more | converged=0;;;0;4 overdue=0 "
                        "'d4.example spf'=1;;;0;4 'd8.example spf'=1;;;0;4 "
                        "'d5.example spf'=2;;;0;4 'd2.example spf'=3;;;0;4");
}

/* An MX answer of more hosts than the first room for them: every one
 * kept, in lower case and in order. */
static void test_mx_many_hosts(void **state)
{
    (void)state;
    struct rows r = {.n = 0};
    struct report_outcome out;
    char ans[512] = "", want[1024] = "";
    for (int i = 11; i >= 0; i--) /* H11 first: the order is the report's own */
        snprintf(ans + strlen(ans), sizeof ans - strlen(ans), "%s10 H%d.example.com.",
                 i == 11 ? "" : " | ", i);
    add(&r, T1, 1, "example.com", "mx", "example.com.", "MX", "m1", "192.0.2.1", OBS_OK, 60, ans,
        "", OBS_MATCH_NONE);
    append_refresh(&r, NULL, 0, &out);
    /* strcmp order: h0, h1, h10, h11, h2, ... */
    static const int ord[] = {0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9};
    snprintf(want, sizeof want,
             "domain,server,address,time_utc,mx_count,mx_hosts,verdict,reasons,vantage\n"
             "example.com,m1,192.0.2.1,2026-11-30 00:00:00,12,");
    for (size_t i = 0; i < sizeof ord / sizeof ord[0]; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%sh%d.example.com.",
                 i ? " | " : "", ord[i]);
    snprintf(want + strlen(want), sizeof want - strlen(want), ",compliant,,probe\n");
    expect_file("mx_compliance.csv", want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spf_story, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_converged_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_disagree_and_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mx_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_split_over_refreshes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_row_groups_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_formula_in_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_name_two_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_glue_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delegation_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_line_worst_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mx_many_hosts, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* again with every report written out in pieces of 64 bytes (as the
     * reports of thousands of domains are, in 1 MiB pieces): every file
     * the same */
    rep__csvw_piece = 64;
    return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
