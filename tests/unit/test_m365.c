/* Unit tests for the Microsoft 365 profile and the MX verdict
 * (monitor/check_m365.c), with records in the shapes real tenants publish and
 * the failing case next to each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

/* Judges answer for contoso.com (or `domain`) under the m365 profile and
 * checks the match and the exact reasons. */
static void judge(const char *domain, enum check_id c, unsigned qi, const char *answer,
                  uint32_t want_reasons)
{
    struct check_plan p;
    uint32_t r = 0xffffffff;
    check_plan_init(&p);
    enum obs_match m = check_judge(&p, PROFILE_M365, c, qi, domain, OBS_OK, answer, &r);
    char got[256], want[256];
    check_reasons_format(r, ";", got, sizeof got);
    check_reasons_format(want_reasons, ";", want, sizeof want);
    if (r != want_reasons)
        fail_msg("%s %s '%s': reasons '%s', want '%s'", domain, check_name(c), answer, got, want);
    assert_int_equal(m, want_reasons ? OBS_MATCH_NO : OBS_MATCH_YES);
    check_plan_deinit(&p);
}

#define D "contoso.com"

static void test_token(void **state)
{
    (void)state;
    char t[DNSNAME_BUFLEN];
    assert_int_equal(check_m365_token("contoso.com", t, sizeof t), 0);
    assert_string_equal(t, "contoso-com");
    assert_int_equal(check_m365_token("my-shop.co.uk", t, sizeof t), 0);
    assert_string_equal(t, "my-shop-co-uk");
    assert_int_equal(check_m365_token("contoso.com", t, 5), DP_EINPUT);
}

static void test_mx(void **state)
{
    (void)state;
    judge(D, CHECK_MX, 0, "0 contoso-com.mail.protection.outlook.com.", 0);
    judge(D, CHECK_MX, 0, "10 contoso-com.o-v1.mx.microsoft.", 0);
    judge(D, CHECK_MX, 0, "0 contoso-com.j-v1.mx.microsoft.", 0);
    /* a uniqueness suffix Microsoft adds when the token was taken */
    judge(D, CHECK_MX, 0, "0 contoso-com01b.mail.protection.outlook.com.", 0);
    judge("my-shop.co.uk", CHECK_MX, 0, "0 my-shop-co-uk.mail.protection.outlook.com.", 0);

    judge(D, CHECK_MX, 0, "0 contoso-com.mail.protection.outlook.com. | 10 mail.contoso.com.",
          CHECK_R_MULTIPLE_MX | CHECK_R_TARGET_MISMATCH);
    judge(
        D, CHECK_MX, 0,
        "0 contoso-com.mail.protection.outlook.com. | 10 contoso-com.mail.protection.outlook.com.",
        CHECK_R_MULTIPLE_MX);
    judge(D, CHECK_MX, 0, "0 fabrikam-com.mail.protection.outlook.com.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 contoso.mail.protection.outlook.com.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 contoso-comx.mail.protection.outlook.com.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 contoso-com.mail.protection.outlook.com.evil.example.",
          CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 contoso-com.mx.microsoft.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 contoso-com.o.mx.microsoft.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "0 mx1.contoso.com.", CHECK_R_TARGET_MISMATCH);
    judge(D, CHECK_MX, 0, "", CHECK_R_NO_MX);
    judge(D, CHECK_MX, 0, "0 .", CHECK_R_NULL_MX);
    judge(D, CHECK_MX, 0, "0 192.0.2.1.", CHECK_R_TARGET_IS_IP | CHECK_R_TARGET_MISMATCH);
    /* the documented move: legacy plus mx.microsoft is a transition, not a pass */
    judge(D, CHECK_MX, 0,
          "0 contoso-com.mail.protection.outlook.com. | 20 contoso-com.o-v1.mx.microsoft.",
          CHECK_R_LEGACY_PLUS_MX_MICROSOFT);
}

static void test_mx_verdict(void **state)
{
    (void)state;
    uint32_t r;
    assert_int_equal(check_mx_verdict(D, OBS_OK, "0 contoso-com.mail.protection.outlook.com.",
                                      false, PROFILE_M365, &r),
                     MX_VERDICT_COMPLIANT);
    assert_int_equal(check_mx_verdict(D, OBS_OK,
                                      "0 contoso-com.mail.protection.outlook.com. | 10 "
                                      "contoso-com.o-v1.mx.microsoft.",
                                      false, PROFILE_M365, &r),
                     MX_VERDICT_TRANSITION);
    assert_int_equal(r, CHECK_R_LEGACY_PLUS_MX_MICROSOFT);
    /* the move only counts for the domain's own token */
    assert_int_equal(check_mx_verdict(D, OBS_OK,
                                      "0 fabrikam-com.mail.protection.outlook.com. | 10 "
                                      "contoso-com.o-v1.mx.microsoft.",
                                      true, PROFILE_NONE, &r),
                     MX_VERDICT_NONCOMPLIANT);
    assert_int_equal(r, CHECK_R_MULTIPLE_MX);
    /* without --single-mx two MX are fine; with it they are not */
    assert_int_equal(check_mx_verdict(D, OBS_OK, "0 a.contoso.com. | 10 b.contoso.com.", false,
                                      PROFILE_NONE, &r),
                     MX_VERDICT_COMPLIANT);
    assert_int_equal(
        check_mx_verdict(D, OBS_OK, "0 a.contoso.com. | 10 b.contoso.com.", true, PROFILE_NONE, &r),
        MX_VERDICT_NONCOMPLIANT);
    assert_int_equal(r, CHECK_R_MULTIPLE_MX);
    /* one MX is what Exchange Online requires: never a warning */
    assert_int_equal(check_mx_verdict(D, OBS_OK, "0 a.contoso.com.", true, PROFILE_NONE, &r),
                     MX_VERDICT_COMPLIANT);
    assert_int_equal(r, 0);
    assert_int_equal(check_mx_verdict(D, OBS_NODATA, "", false, PROFILE_NONE, &r),
                     MX_VERDICT_NONCOMPLIANT);
    assert_int_equal(r, CHECK_R_NO_MX);
    assert_int_equal(check_mx_verdict(D, OBS_OK, "0 .", false, PROFILE_NONE, &r),
                     MX_VERDICT_NONCOMPLIANT);
    assert_int_equal(r, CHECK_R_NULL_MX);
    assert_int_equal(check_mx_verdict(D, OBS_OK, "10 [192.0.2.1].", false, PROFILE_NONE, &r),
                     MX_VERDICT_NONCOMPLIANT);
    assert_int_equal(r, CHECK_R_TARGET_IS_IP);
    assert_int_equal(check_mx_verdict(D, OBS_TIMEOUT, "", true, PROFILE_M365, &r),
                     MX_VERDICT_ERROR);
    assert_int_equal(check_mx_verdict(D, OBS_OK, "not an mx", true, PROFILE_M365, &r),
                     MX_VERDICT_ERROR);
    /* what the caller learns later goes through the same verdict */
    assert_int_equal(mx_verdict_of_reasons(CHECK_R_TARGET_IS_CNAME), MX_VERDICT_NONCOMPLIANT);
    assert_string_equal(mx_verdict_name(MX_VERDICT_TRANSITION), "transition");
}

/* The pair rule the reports use too (reports/render.c): only the domain's
 * own token makes the documented move. */
static void test_mx_reasons_multiple(void **state)
{
    (void)state;
    const char *legacy = "contoso-com.mail.protection.outlook.com.";
    const char *modern = "contoso-com.o-v1.mx.microsoft.";
    assert_int_equal(check_mx_reasons_multiple(D, 2, legacy, modern),
                     CHECK_R_LEGACY_PLUS_MX_MICROSOFT);
    assert_int_equal(check_mx_reasons_multiple(D, 2, modern, legacy),
                     CHECK_R_LEGACY_PLUS_MX_MICROSOFT);
    assert_int_equal(check_mx_reasons_multiple(D, 2, "fabrikam-com.mail.protection.outlook.com.",
                                               "fabrikam-com.o-v1.mx.microsoft."),
                     CHECK_R_MULTIPLE_MX);
    assert_int_equal(check_mx_reasons_multiple(D, 2, legacy, legacy), CHECK_R_MULTIPLE_MX);
    assert_int_equal(check_mx_reasons_multiple(D, 3, NULL, NULL), CHECK_R_MULTIPLE_MX);
    assert_int_equal(check_mx_reasons_multiple(D, 1, NULL, NULL), 0);
}

static void test_spf(void **state)
{
    (void)state;
    judge(D, CHECK_SPF, 0, "\"v=spf1 include:spf.protection.outlook.com -all\"", 0);
    judge(D, CHECK_SPF, 0,
          "\"MS=ms81234567\" | \"v=spf1 ip4:192.0.2.0/24 include:_spf.google.com "
          "include:spf.protection.outlook.com ~all\"",
          0);
    /* a record split over strings, as DNS hosts publish long ones */
    judge(D, CHECK_SPF, 0,
          "\"v=spf1 include:spf.protection.outlook.com include:mail.zendesk.com \" \"-all\"", 0);
    judge(D, CHECK_SPF, 0, "\"v=spf1 +include:SPF.Protection.Outlook.com. -all\"", 0);

    judge(D, CHECK_SPF, 0, "\"v=spf1 include:_spf.google.com ~all\"", CHECK_R_SPF_MISSING_INCLUDE);
    judge(D, CHECK_SPF, 0,
          "\"v=spf1 include:spf.protection.outlook.com -all\" | \"v=spf1 mx -all\"",
          CHECK_R_MULTIPLE_SPF);
    judge(D, CHECK_SPF, 0, "\"include:spf.protection.outlook.com v=spf1 -all\"",
          CHECK_R_SPF_MISSING);
    judge(D, CHECK_SPF, 0, "\"MS=ms81234567\"", CHECK_R_SPF_MISSING);
    judge(D, CHECK_SPF, 0, "", CHECK_R_SPF_MISSING);
    judge(D, CHECK_SPF, 0, "\"v=spf1 -all include:spf.protection.outlook.com\"",
          CHECK_R_SPF_MISSING_INCLUDE);
    judge(D, CHECK_SPF, 0, "\"v=spf1 -include:spf.protection.outlook.com -all\"",
          CHECK_R_SPF_MISSING_INCLUDE);
    judge(D, CHECK_SPF, 0, "\"v=spf1 include:spf.protection.outlook.com.evil.example -all\"",
          CHECK_R_SPF_MISSING_INCLUDE);
}

static void test_autodiscover(void **state)
{
    (void)state;
    judge(D, CHECK_AUTODISCOVER, 0, "autodiscover.outlook.com.", 0);
    judge(D, CHECK_AUTODISCOVER, 0, "mail.contoso.com.", CHECK_R_AUTODISCOVER_MISMATCH);
    judge(D, CHECK_AUTODISCOVER, 0, "autodiscover.outlook.com.evil.example.",
          CHECK_R_AUTODISCOVER_MISMATCH);
    judge(D, CHECK_AUTODISCOVER, 0, "", CHECK_R_AUTODISCOVER_MISSING);
}

static void test_dkim(void **state)
{
    (void)state;
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com._domainkey.contoso.onmicrosoft.com.", 0);
    judge(D, CHECK_DKIM, 1, "selector2-contoso-com._domainkey.contoso.onmicrosoft.com.", 0);
    /* the tenant name need not be the domain's */
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com._domainkey.contosogroup365.onmicrosoft.com.", 0);
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com01b._domainkey.adra17.onmicrosoft.com.", 0);
    /* the 2025 form */
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com._domainkey.contoso.n-v1.dkim.mail.microsoft.",
          0);
    judge(D, CHECK_DKIM, 1, "selector2-contoso-com._domainkey.contoso.r-v1.dkim.mail.microsoft.",
          0);
    judge("marketing.contoso.com", CHECK_DKIM, 0,
          "selector1-marketing-contoso-com._domainkey.contoso.onmicrosoft.com.", 0);

    judge(D, CHECK_DKIM, 0, "selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com.",
          CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 0, "selector2-contoso-com._domainkey.contoso.onmicrosoft.com.",
          CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 0,
          "selector1-contoso-com._domainkey.contoso.onmicrosoft.com.evil.example.",
          CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com._domainkey.contoso.dkim.mail.microsoft.",
          CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 0, "selector1-contoso-com.contoso.onmicrosoft.com.",
          CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 0, "s1.domainkey.sendgrid.net.", CHECK_R_DKIM_MISMATCH);
    judge(D, CHECK_DKIM, 1, "", CHECK_R_DKIM_MISSING);
}

static void test_dmarc(void **state)
{
    (void)state;
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; p=none\"", 0);
    judge(D, CHECK_DMARC, 0,
          "\"v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@contoso.com; "
          "ruf=mailto:dmarc@contoso.com; fo=1\"",
          0);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1;p=reject;\"", 0);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; \" \"p=Reject; sp=none\"", 0);

    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; rua=mailto:dmarc@contoso.com\"", CHECK_R_DMARC_NO_POLICY);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; sp=reject\"", CHECK_R_DMARC_NO_POLICY);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; p=bogus\"", CHECK_R_DMARC_BAD_POLICY);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; p=\"", CHECK_R_DMARC_BAD_POLICY);
    judge(D, CHECK_DMARC, 0, "\"p=reject; v=DMARC1\"", CHECK_R_DMARC_MISSING);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; p=none\" | \"v=DMARC1; p=reject\"",
          CHECK_R_MULTIPLE_DMARC);
    judge(D, CHECK_DMARC, 0, "\"v=DMARC1; reject; p=none\"", CHECK_R_DMARC_BAD_SYNTAX);
    judge(D, CHECK_DMARC, 0, "", CHECK_R_DMARC_MISSING);
}

static void test_other_checks(void **state)
{
    (void)state;
    struct check_plan p;
    uint32_t r;
    check_plan_init(&p);
    /* the profile has no rule for ns/soa/a/aaaa/txt: nothing expected */
    assert_int_equal(check_judge(&p, PROFILE_M365, CHECK_NS, 0, D, OBS_OK, "ns1.x.", &r),
                     OBS_MATCH_NONE);
    assert_int_equal(check_judge(&p, PROFILE_NONE, CHECK_MX, 0, D, OBS_OK, "0 a.", &r),
                     OBS_MATCH_NONE);
    /* nxdomain on autodiscover is a missing record */
    assert_int_equal(
        check_judge(&p, PROFILE_M365, CHECK_AUTODISCOVER, 0, D, OBS_NXDOMAIN, NULL, &r),
        OBS_MATCH_NO);
    assert_int_equal(r, CHECK_R_AUTODISCOVER_MISSING);
    check_plan_deinit(&p);
}

static void test_expected_text(void **state)
{
    (void)state;
    struct check_plan p;
    char *t = NULL;
    check_plan_init(&p);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_MX, 0, D, &t), 0);
    assert_string_equal(
        t, "1 MX: contoso-com.mail.protection.outlook.com. or contoso-com.*-v1.mx.microsoft.");
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_DKIM, 1, D, &t), 0);
    assert_string_equal(t, "selector2-contoso-com._domainkey.*.onmicrosoft.com. or "
                           "selector2-contoso-com._domainkey.*.*-v1.dkim.mail.microsoft.");
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_AUTODISCOVER, 0, D, &t), 0);
    assert_string_equal(t, "autodiscover.outlook.com.");
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_SPF, 0, D, &t), 0);
    assert_non_null(strstr(t, "include:spf.protection.outlook.com"));
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_DMARC, 0, D, &t), 0);
    assert_non_null(strstr(t, "p="));
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_M365, CHECK_NS, 0, D, &t), 0);
    assert_string_equal(t, "");
    free(t);
    assert_int_equal(check_expected_text(&p, PROFILE_NONE, CHECK_MX, 0, D, &t), 0);
    assert_string_equal(t, "");
    free(t);
    check_plan_deinit(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),         cmocka_unit_test(test_mx),
        cmocka_unit_test(test_mx_verdict),    cmocka_unit_test(test_spf),
        cmocka_unit_test(test_autodiscover),  cmocka_unit_test(test_dkim),
        cmocka_unit_test(test_dmarc),         cmocka_unit_test(test_other_checks),
        cmocka_unit_test(test_expected_text), cmocka_unit_test(test_mx_reasons_multiple),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
