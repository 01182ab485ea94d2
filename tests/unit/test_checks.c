/* Unit tests for the checks (rules/checks.c): names, --checks, questions,
 * MX targets, answer views, --expect, the plan and --domains files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "rules.h"

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("'%s' lacks '%s'", text, part);
}

static void test_names(void **state)
{
    (void)state;
    enum check_id c;
    for (unsigned i = 0; i < CHECK_COUNT; i++) {
        const char *n = check_name((enum check_id)i);
        assert_non_null(n);
        assert_int_equal(check_parse(n, strlen(n), &c), 0);
        assert_int_equal(c, i);
    }
    assert_null(check_name(CHECK_COUNT));
    assert_int_equal(check_parse("MX", 2, &c), DP_EINPUT);
    assert_int_equal(check_parse("m", 1, &c), DP_EINPUT);
    assert_int_equal(check_qtype(CHECK_DKIM), LDNS_RR_TYPE_CNAME);
    assert_int_equal(check_qtype(CHECK_SPF), LDNS_RR_TYPE_TXT);
    assert_string_equal(check_qtype_name(CHECK_SOA), "SOA");
}

static void test_list(void **state)
{
    (void)state;
    unsigned set = 0;
    char err[256];
    assert_int_equal(check_parse_list("mx,spf", &set, err, sizeof err), 0);
    assert_int_equal(set, CHECK_BIT(CHECK_MX) | CHECK_BIT(CHECK_SPF));
    assert_int_equal(check_parse_list("m365", &set, err, sizeof err), 0);
    assert_int_equal(set, CHECK_SET_DEFAULT | CHECK_SET_M365_EXTRA);
    assert_int_equal(check_parse_list("mx,m365,aaaa", &set, err, sizeof err), 0);
    assert_true(set & CHECK_BIT(CHECK_AAAA));
    assert_true(set & CHECK_BIT(CHECK_DKIM));

    assert_int_equal(check_parse_list("mx,foo", &set, err, sizeof err), DP_EINPUT);
    assert_contains(err, "unknown check 'foo'");
    assert_int_equal(check_parse_list("mx,,spf", &set, err, sizeof err), DP_EINPUT);
    assert_contains(err, "empty item");
    assert_int_equal(check_parse_list("mx,spf,mx", &set, err, sizeof err), DP_EINPUT);
    assert_contains(err, "'mx' given twice");
    assert_int_equal(check_parse_list("", &set, err, sizeof err), DP_EINPUT);
    assert_contains(err, "empty list");
    assert_int_equal(check_parse_list("mx,", &set, err, sizeof err), DP_EINPUT);
    assert_int_equal(check_parse_list("MX", &set, err, sizeof err), DP_EINPUT);
    assert_contains(err, "'MX'");
    /* hostile bytes are escaped in the message */
    assert_int_equal(check_parse_list("\x1b[2J", &set, err, sizeof err), DP_EINPUT);
    assert_null(strchr(err, '\x1b'));
}

static void test_questions(void **state)
{
    (void)state;
    struct check_question q[CHECK_MAX_QUESTIONS];
    assert_int_equal(check_questions(CHECK_MX, "contoso.com", q), 1);
    assert_string_equal(q[0].qname, "contoso.com.");
    assert_int_equal(q[0].qtype, LDNS_RR_TYPE_MX);
    assert_int_equal(check_questions(CHECK_SPF, "contoso.com", q), 1);
    assert_int_equal(q[0].qtype, LDNS_RR_TYPE_TXT);
    assert_int_equal(check_questions(CHECK_AUTODISCOVER, "contoso.com", q), 1);
    assert_string_equal(q[0].qname, "autodiscover.contoso.com.");
    assert_int_equal(q[0].qtype, LDNS_RR_TYPE_CNAME);
    assert_int_equal(check_questions(CHECK_DMARC, "contoso.com", q), 1);
    assert_string_equal(q[0].qname, "_dmarc.contoso.com.");
    assert_int_equal(q[0].qtype, LDNS_RR_TYPE_TXT);
    assert_int_equal(check_questions(CHECK_DKIM, "contoso.com", q), 2);
    assert_string_equal(q[0].qname, "selector1._domainkey.contoso.com.");
    assert_string_equal(q[1].qname, "selector2._domainkey.contoso.com.");
    assert_int_equal(q[1].qtype, LDNS_RR_TYPE_CNAME);
    assert_int_equal(check_questions(CHECK_SOA, "contoso.com", q), 1);
    assert_int_equal(q[0].qtype, LDNS_RR_TYPE_SOA);

    /* a 240-byte domain fits alone but not under selector1._domainkey. */
    char d[300];
    memset(d, 'a', 240);
    for (int i = 60; i < 240; i += 61)
        d[i] = '.';
    d[240] = '\0';
    assert_int_equal(check_questions(CHECK_NS, d, q), 1);
    assert_int_equal(check_questions(CHECK_DKIM, d, q), DP_EINPUT);
}

static void test_mx_targets(void **state)
{
    (void)state;
    struct check_mx_target *t = NULL;
    size_t n = 0;
    bool null_mx = true;
    assert_int_equal(check_mx_targets("0 a.example.com. | 10 b.example.com.", &t, &n, &null_mx), 0);
    assert_int_equal(n, 2);
    assert_false(null_mx);
    assert_int_equal(t[1].preference, 10);
    assert_string_equal(t[1].host, "b.example.com.");
    assert_false(t[0].is_ip);
    free(t);

    assert_int_equal(check_mx_targets("0 .", &t, &n, &null_mx), 0);
    assert_int_equal(n, 0);
    assert_null(t);
    assert_true(null_mx);

    assert_int_equal(check_mx_targets("10 192.0.2.1. | 20 2001:db8::1.", &t, &n, &null_mx), 0);
    assert_int_equal(n, 2);
    assert_true(t[0].is_ip);
    assert_true(t[1].is_ip);
    free(t);

    assert_int_equal(check_mx_targets("", &t, &n, &null_mx), 0);
    assert_int_equal(n, 0);
    assert_int_equal(check_mx_targets("x a.", &t, &n, &null_mx), DP_EINPUT);
    assert_int_equal(check_mx_targets("70000 a.", &t, &n, &null_mx), DP_EINPUT);
    assert_int_equal(check_mx_targets("0 a. | ", &t, &n, &null_mx), DP_EINPUT);
    assert_int_equal(check_mx_targets("0", &t, &n, &null_mx), DP_EINPUT);

    /* names are split on " | " alone: ldns leaves a '"' in a name as it is,
     * and the reports read such a target the same way */
    assert_int_equal(check_mx_targets("10 a\"b.example. | 20 [192.0.2.1].", &t, &n, &null_mx), 0);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].host, "a\"b.example.");
    assert_false(t[0].is_ip);
    assert_true(t[1].is_ip); /* an address literal is an address, here and in the reports */
    free(t);
}

static void expect_view(enum check_id c, const char *in, const char *want)
{
    char *out = NULL;
    assert_int_equal(check_view_answer(c, in, &out), 0);
    if (strcmp(out, want) != 0)
        fail_msg("view of '%s': got '%s', want '%s'", in, out, want);
    /* idempotent */
    char *again = NULL;
    assert_int_equal(check_view_answer(c, out, &again), 0);
    assert_string_equal(again, out);
    free(again);
    free(out);
}

static void test_view(void **state)
{
    (void)state;
    const char *apex = "\"MS=ms12345678\" | \"google-site-verification=abc\" | "
                       "\"v=spf1 include:spf.protection.outlook.com -all\"";
    expect_view(CHECK_SPF, apex, "\"v=spf1 include:spf.protection.outlook.com -all\"");
    expect_view(CHECK_TXT, apex, apex);
    /* split over strings: joined for the test, kept as published */
    expect_view(CHECK_SPF, "\"v=sp\" \"f1 -all\" | \"x\"", "\"v=sp\" \"f1 -all\"");
    expect_view(CHECK_SPF, "\"V=SPF1 -all\"", "\"V=SPF1 -all\"");
    expect_view(CHECK_SPF, "\"v=spf10 -all\" | \"v=spf1\"", "\"v=spf1\"");
    expect_view(CHECK_SPF, "\"xv=spf1 -all\"", "");
    /* " | " inside a string is not a separator */
    expect_view(CHECK_SPF, "\"a | b\" | \"v=spf1 a | -all\"", "\"v=spf1 a | -all\"");
    expect_view(CHECK_SPF, "\"say \\\"v=spf1\\\"\"", "");
    expect_view(CHECK_DMARC, "\"v=DMARC1; p=none\" | \"other\"", "\"v=DMARC1; p=none\"");
    expect_view(CHECK_DMARC, "\"v = DMARC1 ; p=none\"", "\"v = DMARC1 ; p=none\"");
    expect_view(CHECK_DMARC, "\"v=DMARC1\"", "\"v=DMARC1\"");
    expect_view(CHECK_DMARC, "\"v=dmarc1; p=none\"", "");
    expect_view(CHECK_DMARC, "\"p=reject; v=DMARC1\"", "");
    expect_view(CHECK_DMARC, "\"v=DMARC10; p=none\"", "");
    expect_view(CHECK_MX, "0 a.", "0 a.");
    expect_view(CHECK_SPF, "", "");

    char *out = NULL;
    assert_int_equal(check_view_answer(CHECK_SPF, "\"unterminated", &out), DP_EINPUT);
    assert_null(out);
}

static void test_equal(void **state)
{
    (void)state;
    assert_int_equal(check_answers_equal(CHECK_MX, "0 a.", "0 a."), 1);
    assert_int_equal(check_answers_equal(CHECK_MX, "0 a.", "10 a."), 0);
    assert_int_equal(check_answers_equal(CHECK_SPF, "\"v=spf1 \" \"-all\"", "\"v=spf1 -all\""), 1);
    /* other TXT records do not matter to spf */
    assert_int_equal(
        check_answers_equal(CHECK_SPF, "\"v=spf1 -all\" | \"MS=ms1\"", "\"v=spf1 -all\""), 1);
    assert_int_equal(
        check_answers_equal(CHECK_TXT, "\"v=spf1 -all\" | \"MS=ms1\"", "\"v=spf1 -all\""), 0);
    assert_int_equal(check_answers_equal(CHECK_TXT, "\"a\" \"b\" | \"c\"", "\"c\" | \"ab\""), 1);
    assert_int_equal(check_answers_equal(CHECK_SPF, "", "\"v=spf1 -all\""), 0);
}

static void expect_ok(const char *arg, enum check_id c, unsigned qi, const char *want)
{
    struct check_plan p;
    char err[512];
    check_plan_init(&p);
    int rc = check_plan_add_expect(&p, arg, err, sizeof err);
    if (rc != 0)
        fail_msg("--expect '%s' refused: %s", arg, err);
    assert_non_null(p.expect[c][qi]);
    if (strcmp(p.expect[c][qi], want) != 0)
        fail_msg("--expect '%s': got '%s', want '%s'", arg, p.expect[c][qi], want);
    check_plan_deinit(&p);
}

static void expect_bad(const char *arg, const char *part)
{
    struct check_plan p;
    char err[512] = "";
    check_plan_init(&p);
    if (check_plan_add_expect(&p, arg, err, sizeof err) != DP_EINPUT)
        fail_msg("--expect '%s' accepted", arg);
    assert_contains(err, part);
    for (unsigned c = 0; c < CHECK_COUNT; c++)
        assert_null(p.expect[c][0]);
    check_plan_deinit(&p);
}

static void test_expect(void **state)
{
    (void)state;
    expect_ok("mx=0 contoso-com.mail.protection.outlook.com", CHECK_MX, 0,
              "0 contoso-com.mail.protection.outlook.com.");
    expect_ok("mx=10 B.example.com. | 0 a.example.com.", CHECK_MX, 0,
              "0 a.example.com. | 10 b.example.com.");
    expect_ok("mx=10 b.example.com.|0 a.example.com.", CHECK_MX, 0,
              "0 a.example.com. | 10 b.example.com.");
    expect_ok("mx=65535 a.example.com", CHECK_MX, 0, "65535 a.example.com.");
    expect_ok("spf=v=spf1 include:spf.protection.outlook.com -all", CHECK_SPF, 0,
              "\"v=spf1 include:spf.protection.outlook.com -all\"");
    expect_ok("spf=\"v=spf1 include:spf.protection.outlook.com\" \" -all\"", CHECK_SPF, 0,
              "\"v=spf1 include:spf.protection.outlook.com\" \" -all\"");
    expect_ok("txt=a | b | c", CHECK_TXT, 0, "\"a\" | \"b\" | \"c\"");
    expect_ok("txt=\"x | y\"", CHECK_TXT, 0, "\"x | y\"");
    expect_ok("dmarc=v=DMARC1; p=reject; rua=mailto:d@contoso.com", CHECK_DMARC, 0,
              "\"v=DMARC1; p=reject; rua=mailto:d@contoso.com\"");
    expect_ok("autodiscover=autodiscover.outlook.com", CHECK_AUTODISCOVER, 0,
              "autodiscover.outlook.com.");
    expect_ok("dkim=selector2:selector2-contoso-com._domainkey.contoso.onmicrosoft.com", CHECK_DKIM,
              1, "selector2-contoso-com._domainkey.contoso.onmicrosoft.com.");
    expect_ok("a=192.0.2.2 | 192.0.2.1", CHECK_A, 0, "192.0.2.1 | 192.0.2.2");
    expect_ok("aaaa=2001:DB8::1", CHECK_AAAA, 0, "2001:db8::1");
    expect_ok("ns=ns1.example.net | NS2.example.net.", CHECK_NS, 0,
              "ns1.example.net. | ns2.example.net.");
    expect_ok("soa=ns1.example.net. hostmaster.example.net. 2024010101 3600 600 1209600 300",
              CHECK_SOA, 0,
              "ns1.example.net. hostmaster.example.net. 2024010101 3600 600 1209600 300");
    /* a long unquoted TXT becomes 255-byte strings */
    char arg[700], big[600];
    memset(big, 'x', 300);
    big[300] = '\0';
    snprintf(arg, sizeof arg, "txt=%s", big);
    char want[700];
    snprintf(want, sizeof want, "\"%.255s\" \"%.45s\"", big, big);
    expect_ok(arg, CHECK_TXT, 0, want);

    expect_bad("mx=99999 a.example.com.", "mx: bad value '99999 a.example.com.': MX preference");
    expect_bad("mx=-1 a.example.com.", "MX preference");
    expect_bad("mx=0x10 a.example.com.", "MX preference");
    expect_bad("mx=garbage", "--expect mx: bad value 'garbage'");
    expect_bad("mx=0 a b", "PREFERENCE HOST");
    expect_bad("mx=0 a. |", "empty record");
    expect_bad("mx=", "empty record");
    expect_bad("mx", "want CHECK=VALUE");
    expect_bad("foo=1", "unknown check 'foo'");
    expect_bad("=1", "unknown check ''");
    expect_bad("spf=include:x -all", "not an SPF record");
    expect_bad("dmarc=p=reject; v=DMARC1", "not a DMARC record");
    expect_bad("spf=\"v=spf1 -all", "unterminated");
    expect_bad("a=192.0.2.300", "--expect a: bad value '192.0.2.300'");
    expect_bad("aaaa=192.0.2.1", "--expect aaaa");
    expect_bad("soa=a. b. 5000000000 1 2 3 4", "SOA serial");
    expect_bad("dkim=selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
               "dkim=selector1:TARGET");
    expect_bad("dkim=selector3:x.example.", "dkim=selector1:TARGET");

    /* once per check (per selector for dkim) */
    struct check_plan p;
    char err[256];
    check_plan_init(&p);
    assert_int_equal(check_plan_add_expect(&p, "mx=0 a.example.", err, sizeof err), 0);
    assert_int_equal(check_plan_add_expect(&p, "mx=0 b.example.", err, sizeof err), DP_EINPUT);
    assert_contains(err, "--expect mx given twice");
    assert_int_equal(check_plan_add_expect(&p, "dkim=selector1:a.example.", err, sizeof err), 0);
    assert_int_equal(check_plan_add_expect(&p, "dkim=selector2:b.example.", err, sizeof err), 0);
    assert_int_equal(check_plan_add_expect(&p, "dkim=selector2:c.example.", err, sizeof err),
                     DP_EINPUT);
    assert_contains(err, "selector2 given twice");
    assert_string_equal(p.expect[CHECK_MX][0], "0 a.example.");
    check_plan_deinit(&p);
}

static void test_plan(void **state)
{
    (void)state;
    struct check_plan p;
    char err[256];

    check_plan_init(&p);
    assert_int_equal(check_plan_checks(&p, PROFILE_NONE), CHECK_SET_DEFAULT);
    assert_int_equal(check_plan_checks(&p, PROFILE_M365), CHECK_SET_DEFAULT | CHECK_SET_M365_EXTRA);
    assert_false(check_plan_single_mx(&p, PROFILE_NONE));
    assert_true(check_plan_single_mx(&p, PROFILE_M365));
    assert_int_equal(check_plan_set_profile(&p, "m365", err, sizeof err), 0);
    assert_int_equal(p.profile, PROFILE_M365);
    assert_int_equal(check_plan_set_profile(&p, "gmail", err, sizeof err), DP_EINPUT);
    assert_contains(err, "unknown profile 'gmail'");
    /* an --expect adds its check to the default set */
    assert_int_equal(check_plan_add_expect(&p, "a=192.0.2.1", err, sizeof err), 0);
    assert_true(check_plan_checks(&p, PROFILE_NONE) & CHECK_BIT(CHECK_A));
    assert_int_equal(check_plan_finish(&p, err, sizeof err), 0);
    /* but not to an explicit --checks */
    assert_int_equal(check_plan_parse_checks(&p, "mx,spf", err, sizeof err), 0);
    assert_int_equal(check_plan_checks(&p, PROFILE_M365),
                     CHECK_BIT(CHECK_MX) | CHECK_BIT(CHECK_SPF));
    assert_int_equal(check_plan_finish(&p, err, sizeof err), DP_EINPUT);
    assert_contains(err, "--expect a: check a is not in --checks");
    assert_int_equal(check_plan_parse_checks(&p, "mx", err, sizeof err), DP_EINPUT);
    assert_contains(err, "--checks given twice");
    check_plan_deinit(&p);

    /* two MX expected while one is required */
    check_plan_init(&p);
    p.single_mx = true;
    assert_int_equal(check_plan_add_expect(&p, "mx=0 a.example. | 10 b.example.", err, sizeof err),
                     0);
    assert_int_equal(check_plan_finish(&p, err, sizeof err), DP_EINPUT);
    assert_contains(err, "--expect mx has 2 records but --single-mx requires exactly one MX");
    check_plan_deinit(&p);
}

static void test_judge_expect(void **state)
{
    (void)state;
    struct check_plan p;
    char err[256];
    uint32_t r = 0;
    check_plan_init(&p);
    assert_int_equal(
        check_plan_add_expect(&p, "mx=0 contoso-com.mail.protection.outlook.com", err, sizeof err),
        0);
    assert_int_equal(check_plan_add_expect(&p, "spf=v=spf1 include:spf.protection.outlook.com -all",
                                           err, sizeof err),
                     0);
    const char *d = "contoso.com";
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_MX, 0, d, OBS_OK,
                                 "0 contoso-com.mail.protection.outlook.com.", &r),
                     OBS_MATCH_YES);
    assert_int_equal(r, 0);
    assert_int_equal(
        check_judge(&p, PROFILE_NONE, CHECK_MX, 0, d, OBS_OK, "10 mail.contoso.com.", &r),
        OBS_MATCH_NO);
    assert_int_equal(r, CHECK_R_VALUE_MISMATCH);
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_MX, 0, d, OBS_NXDOMAIN, "", &r),
                     OBS_MATCH_NO);
    /* a failed query is not an answer */
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_MX, 0, d, OBS_TIMEOUT, "", &r),
                     OBS_MATCH_NONE);
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_MX, 0, d, OBS_SERVFAIL, "", &r),
                     OBS_MATCH_NONE);
    /* spf: other TXT records at the apex and string splits do not matter */
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_SPF, 0, d, OBS_OK,
                                 "\"MS=ms1\" | \"v=spf1 include:spf.protection.outlook.com\" \" "
                                 "-all\"",
                                 &r),
                     OBS_MATCH_YES);
    /* nothing expected: the caller compares with the authoritative answer */
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_NS, 0, d, OBS_OK, "ns1.x.", &r),
                     OBS_MATCH_NONE);
    char *t = NULL;
    assert_int_equal(check_expected_text(&p, PROFILE_NONE, CHECK_MX, 0, d, &t), 0);
    assert_string_equal(t, "0 contoso-com.mail.protection.outlook.com.");
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_NONE, CHECK_NS, 0, d, &t), 0);
    assert_string_equal(t, "");
    free(t);
    /* an explicit expectation wins over the profile rule for the match, the
     * profile's reasons are still reported */
    assert_int_equal(check_judge(&p, PROFILE_M365, CHECK_MX, 0, d, OBS_OK,
                                 "0 contoso-com.mail.protection.outlook.com.", &r),
                     OBS_MATCH_YES);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_MX, 0, d, &t), 0);
    assert_string_equal(t, "0 contoso-com.mail.protection.outlook.com.");
    free(t);
    check_plan_deinit(&p);
}

static void test_reasons(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(check_reason_name(CHECK_R_MULTIPLE_SPF), "multiple-spf");
    assert_string_equal(check_reason_name(CHECK_R_DMARC_BAD_SYNTAX), "dmarc-bad-syntax");
    assert_null(check_reason_name(3));
    assert_null(check_reason_name(1u << CHECK_R_COUNT));
    assert_int_equal(
        check_reasons_format(CHECK_R_MULTIPLE_MX | CHECK_R_TARGET_MISMATCH, ";", buf, sizeof buf),
        0);
    assert_string_equal(buf, "multiple-mx;target-mismatch");
    assert_int_equal(check_reasons_format(0, ";", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    char small[12];
    assert_int_equal(
        check_reasons_format(CHECK_R_NO_MX | CHECK_R_MULTIPLE_MX, ";", small, sizeof small),
        DP_EINPUT);
    assert_string_equal(small, "no-mx");
    for (unsigned i = 0; i < CHECK_R_COUNT; i++)
        assert_non_null(check_reason_name(1u << i));
}

static void test_domains(void **state)
{
    (void)state;
    struct check_domain *d = NULL;
    size_t n = 0;
    char err[256];
    const char *text = "# our domains\r\n"
                       "domain,profile\r\n"
                       "Contoso.com\r\n"
                       "\r\n"
                       "  fabrikam.com , m365 \r\n"
                       "\"bücher.example\",\"none\"\n"
                       "tailspin.example,";
    assert_int_equal(
        check_domains_parse(text, strlen(text), "d.csv", PROFILE_NONE, &d, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(d[0].name, "contoso.com");
    assert_false(d[0].has_profile);
    assert_int_equal(d[0].profile, PROFILE_NONE);
    assert_string_equal(d[1].name, "fabrikam.com");
    assert_true(d[1].has_profile);
    assert_int_equal(d[1].profile, PROFILE_M365);
    assert_string_equal(d[2].name, "xn--bcher-kva.example");
    assert_int_equal(d[2].profile, PROFILE_NONE);
    assert_string_equal(d[3].name, "tailspin.example");
    free(d);

    /* the default profile applies where a line names none */
    const char *one = "contoso.com\n";
    assert_int_equal(
        check_domains_parse(one, strlen(one), "d", PROFILE_M365, &d, &n, err, sizeof err), 0);
    assert_int_equal(d[0].profile, PROFILE_M365);
    free(d);

    struct {
        const char *text, *msg;
    } bad[] = {
        {"contoso.com\nlocalhost\n", "d.csv:2: bad domain 'localhost': a single label"},
        {"contoso.com\na..b\n", "d.csv:2: bad domain 'a..b': empty label"},
        {"# x\ncontoso.com,gmail\n", "d.csv:2: unknown profile 'gmail'"},
        {"contoso.com\nCONTOSO.com.\n", "d.csv:2: domain 'contoso.com' given twice"},
        {"contoso.com,m365,x\n", "d.csv:1: too many fields"},
        {"# only comments\n\n", "d.csv: no domains"},
        {"", "d.csv: no domains"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        d = NULL;
        assert_int_equal(check_domains_parse(bad[i].text, strlen(bad[i].text), "d.csv",
                                             PROFILE_NONE, &d, &n, err, sizeof err),
                         DP_EINPUT);
        assert_null(d);
        assert_contains(err, bad[i].msg);
    }
    const char nul[] = "contoso.com\nfab\0rikam.com\n";
    assert_int_equal(
        check_domains_parse(nul, sizeof nul - 1, "d.csv", PROFILE_NONE, &d, &n, err, sizeof err),
        DP_EINPUT);
    assert_contains(err, "d.csv:2: NUL byte");
}

/* check_mx_targets_in: the caller's room for a few targets, a malloc'd
 * array for more, and the same targets as check_mx_targets either way. */
static void test_mx_targets_in(void **state)
{
    (void)state;
    const char *answers[] = {
        "0 a.example.com. | 10 b.example.com.", "0 .", "10 192.0.2.1. | 20 Mx.example.",
        "1 a. | 2 b. | 3 c. | 4 d. | 5 e.",     "",    "x a.",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        struct check_mx_target buf[4], *t = NULL, *want = NULL;
        size_t n = 99, wn = 0, count = 0;
        bool null_mx = false, want_null = false;
        int wrc = check_mx_targets(answers[i], &want, &wn, &want_null);
        int rc = check_mx_targets_in(answers[i], buf, 4, &t, &n, &null_mx);
        assert_int_equal(rc, wrc);
        assert_int_equal(n, wn);
        assert_int_equal(null_mx, want_null);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(t[k].preference, want[k].preference);
            assert_string_equal(t[k].host, want[k].host);
            assert_int_equal(t[k].is_ip, want[k].is_ip);
        }
        /* the room is used exactly when every record fits in it */
        (void)answer_text_count(answers[i], 0, &count);
        if (n > 0)
            assert_true((t == buf) == (count <= 4));
        else
            assert_null(t);
        if (t != buf)
            free(t);
        free(want);
    }
}

/* check_recorded_text: the answer itself where the view is the text, the
 * view of check_recorded_answer where it is not. */
static void test_recorded_text(void **state)
{
    (void)state;
    const char *mx = "10 mx.example.";
    const char *text = NULL;
    char *owned = (char *)"x";
    assert_int_equal(check_recorded_text(CHECK_MX, mx, &text, &owned), 0);
    assert_ptr_equal(text, mx);
    assert_null(owned);
    assert_int_equal(check_recorded_text(CHECK_NS, NULL, &text, &owned), 0);
    assert_string_equal(text, "");
    assert_null(owned);
    const char *txt = "\"v=spf1 -all\" | \"google-site-verification=x\"";
    const char *bad = "\"unterminated";
    const char *cases[][2] = {{"spf", txt}, {"dmarc", txt}, {"spf", bad}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum check_id c = strcmp(cases[i][0], "spf") == 0 ? CHECK_SPF : CHECK_DMARC;
        char *want = NULL;
        assert_int_equal(check_recorded_answer(c, cases[i][1], &want), 0);
        assert_int_equal(check_recorded_text(c, cases[i][1], &text, &owned), 0);
        assert_non_null(owned);
        assert_ptr_equal(text, owned);
        assert_string_equal(text, want);
        free(owned);
        free(want);
    }
}

/* A repeat found among thousands of lines (the table of names grows many
 * times on the way), with both lines named; and none where there is none. */
static void test_domains_many(void **state)
{
    (void)state;
    const size_t lines = 5000;
    char *text = malloc(lines * 32 + 64);
    size_t o = 0, n = 0;
    struct check_domain *d = NULL;
    char err[512] = "";
    assert_non_null(text);
    for (size_t i = 0; i < lines; i++)
        o += (size_t)snprintf(text + o, 32, "d%05zu.example\n", i);
    assert_int_equal(check_domains_parse(text, o, "d.csv", PROFILE_NONE, &d, &n, err, sizeof err),
                     0);
    assert_int_equal(n, lines);
    assert_string_equal(d[4321].name, "d04321.example");
    assert_int_equal(d[4321].line, 4322);
    free(d);
    o += (size_t)snprintf(text + o, 32, "D03210.Example.\n");
    d = NULL;
    assert_int_equal(check_domains_parse(text, o, "d.csv", PROFILE_NONE, &d, &n, err, sizeof err),
                     DP_EINPUT);
    assert_null(d);
    assert_contains(err, "d.csv:5001: domain 'd03210.example' given twice (first on line 3211)");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_list),
        cmocka_unit_test(test_questions),     cmocka_unit_test(test_mx_targets),
        cmocka_unit_test(test_view),          cmocka_unit_test(test_equal),
        cmocka_unit_test(test_expect),        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_judge_expect),  cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_domains),       cmocka_unit_test(test_mx_targets_in),
        cmocka_unit_test(test_recorded_text), cmocka_unit_test(test_domains_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
