/* Unit tests for answer normalization (monitor/answer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "monitor/monitor.h"

static void expect_norm(uint16_t type, const char *in, const char *want)
{
    char *out = NULL;
    const char *why = NULL;
    int rc = answer_from_text(type, in, &out, &why);
    if (rc != 0)
        fail_msg("'%s' refused: %s", in, why);
    assert_string_equal(out, want);
    free(out);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_norm(LDNS_RR_TYPE_MX, "10 B.Example.COM. | 0 a.example.com",
                "0 a.example.com. | 10 b.example.com.");
    expect_norm(LDNS_RR_TYPE_MX, "0 a.example.com. | 0 A.example.com.", "0 a.example.com.");
    expect_norm(LDNS_RR_TYPE_TXT, "\"v=spf1 Include:X -all\"", "\"v=spf1 Include:X -all\"");
    expect_norm(LDNS_RR_TYPE_TXT, "\"a\\010b\"", "\"a\\010b\"");
    expect_norm(LDNS_RR_TYPE_CNAME, "autodiscover.outlook.com", "autodiscover.outlook.com.");
    expect_norm(LDNS_RR_TYPE_A, "192.0.2.2 | 192.0.2.1", "192.0.2.1 | 192.0.2.2");
}

static void test_bad(void **state)
{
    (void)state;
    static const char *bad[] = {"", " | ", "0 a.example. |", "x y z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        const char *why = NULL;
        if (answer_from_text(LDNS_RR_TYPE_MX, bad[i], &out, &why) != DP_EINPUT)
            fail_msg("'%s' accepted as MX", bad[i]);
        assert_null(out);
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalize),
                                       cmocka_unit_test(test_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
