/* Unit tests for domain name normalization (rules/dnsname.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

static void expect_ok(const char *in, const char *want)
{
    char out[DNSNAME_BUFLEN];
    const char *why = NULL;
    int rc = dnsname_normalize(in, out, sizeof out, &why);
    if (rc != 0)
        fail_msg("'%s' refused: %s", in, why);
    assert_string_equal(out, want);
}

/* Refused, and the reason contains `part`. */
static void expect_bad(const char *in, const char *part)
{
    char out[DNSNAME_BUFLEN];
    const char *why = NULL;
    int rc = dnsname_normalize(in, out, sizeof out, &why);
    if (rc != DP_EINPUT)
        fail_msg("'%s' accepted as '%s'", in, out);
    assert_non_null(why);
    if (strstr(why, part) == NULL)
        fail_msg("'%s': reason '%s' lacks '%s'", in, why, part);
    assert_string_equal(out, "");
}

static void test_plain(void **state)
{
    (void)state;
    expect_ok("contoso.com", "contoso.com");
    expect_ok("Contoso.COM.", "contoso.com");
    expect_ok("mail-01.contoso.co.uk", "mail-01.contoso.co.uk");
    expect_ok("_dmarc.contoso.com", "_dmarc.contoso.com");
    expect_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
}

static void test_idn(void **state)
{
    (void)state;
    expect_ok("bücher.example", "xn--bcher-kva.example");
    expect_ok("BÜCHER.example.", "xn--bcher-kva.example");
    expect_ok("faß.de", "xn--fa-hia.de"); /* non-transitional: ß kept */
    expect_bad("\xff\xfe.com", "UTF-8");
    expect_bad("xn--zz.example", "punycode");
    expect_bad("a-.bücher.de", "hyphen");
}

static void test_lengths(void **state)
{
    (void)state;
    char label63[64], label64[65];
    memset(label63, 'a', 63);
    label63[63] = '\0';
    memset(label64, 'a', 64);
    label64[64] = '\0';
    char name[400];
    snprintf(name, sizeof name, "%s.example", label63);
    expect_ok(name, name);
    snprintf(name, sizeof name, "%s.example", label64);
    expect_bad(name, "63");

    /* 253 bytes: 63+1+63+1+63+1+61 */
    snprintf(name, sizeof name, "%s.%s.%s.%.61s", label63, label63, label63, label63);
    assert_int_equal(strlen(name), 253);
    expect_ok(name, name);
    /* the same with a final dot is still 253 */
    strcat(name, ".");
    char want[300];
    snprintf(want, sizeof want, "%.253s", name);
    expect_ok(name, want);
    /* 254 bytes */
    snprintf(name, sizeof name, "%s.%s.%s.%.62s", label63, label63, label63, label63);
    assert_int_equal(strlen(name), 254);
    expect_bad(name, "253");
    /* far too long input is refused before any work */
    char huge[3000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    expect_bad(huge, "253");
}

static void test_shapes(void **state)
{
    (void)state;
    expect_bad("", "empty name");
    expect_bad(".", "root");
    expect_bad("a..b", "empty label");
    expect_bad(".contoso.com", "empty label");
    expect_bad("contoso.com..", "empty label");
    expect_bad("-contoso.com", "'-'");
    expect_bad("contoso-.com", "'-'");
    expect_bad("con toso.com", "invalid character");
    expect_bad("contoso.com/x", "invalid character");
    expect_bad("a\\.b.com", "invalid character");
    expect_bad("localhost", "single label");
    expect_bad("com.", "single label");
    expect_bad("192.0.2.1", "IP address");
}

static void test_any(void **state)
{
    (void)state;
    char out[DNSNAME_BUFLEN];
    const char *why = NULL;
    assert_int_equal(dnsname_normalize_ex("localhost", DNSNAME_ANY, out, sizeof out, &why), 0);
    assert_string_equal(out, "localhost");
    assert_int_equal(dnsname_normalize_ex("a..b", DNSNAME_ANY, out, sizeof out, &why), DP_EINPUT);
    /* a small buffer is refused, never truncated */
    char small[8];
    assert_int_equal(dnsname_normalize("contoso.com", small, sizeof small, &why), DP_EINPUT);
}

/* target-is-ip: one rule for the live check and the reports */
static void test_ip_literal(void **state)
{
    (void)state;
    assert_true(dnsname_is_ip_literal("192.0.2.1"));
    assert_true(dnsname_is_ip_literal("192.0.2.1."));
    assert_true(dnsname_is_ip_literal("2001:db8::1."));
    assert_true(dnsname_is_ip_literal("[192.0.2.1]"));
    assert_false(dnsname_is_ip_literal("mail.contoso.com."));
    assert_false(dnsname_is_ip_literal("192.0.2.1.example."));
    assert_false(dnsname_is_ip_literal(""));
    assert_false(dnsname_is_ip_literal("."));
    /* hex letters in either case, an IPv4 tail; names of hex letters only */
    assert_true(dnsname_is_ip_literal("2001:DB8::A"));
    assert_true(dnsname_is_ip_literal("::ffff:192.0.2.1"));
    assert_false(dnsname_is_ip_literal("cafe.bad."));
    assert_false(dnsname_is_ip_literal("dead:beef:cafe"));
    assert_false(dnsname_is_ip_literal("mx-1.example."));
    char longname[300];
    memset(longname, '1', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(dnsname_is_ip_literal(longname));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),   cmocka_unit_test(test_idn),
        cmocka_unit_test(test_lengths), cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_any),     cmocka_unit_test(test_ip_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
