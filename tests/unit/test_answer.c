/* Unit tests for answer normalization (rules/answer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "rules.h"

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

/* Names in RDATA are printed by answer.c itself: the text must be what
 * ldns_rdf2str() prints (lower-cased), for every byte value in a label, for
 * the root and for a name of the longest length. */
static void expect_dname_like_ldns(const uint8_t *wire, size_t len)
{
    ldns_rdf *d = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, wire);
    assert_non_null(d);
    ldns_rr *rr = ldns_rr_new();
    assert_non_null(rr);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_NS);
    assert_true(ldns_rr_push_rdf(rr, d));
    char *want = ldns_rdf2str(d);
    assert_non_null(want);
    for (char *p = want; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    char *got = NULL;
    assert_int_equal(answer_from_rrs(&rr, 1, &got), 0);
    assert_string_equal(got, want);
    free(got);
    free(want);
    ldns_rr_free(rr);
}

static void test_dname_text(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        uint8_t w[] = {3, 'x', (uint8_t)b, 'Y', 2, (uint8_t)b, (uint8_t)b, 0};
        expect_dname_like_ldns(w, sizeof w);
    }
    uint8_t root = 0;
    expect_dname_like_ldns(&root, 1);
    uint8_t longest[255];
    size_t o = 0;
    for (int l = 0; l < 4; l++) {
        uint8_t n = l < 3 ? 63 : 61;
        longest[o++] = n;
        for (uint8_t i = 0; i < n; i++)
            longest[o++] = (uint8_t)(i % 3 == 0 ? '.' : i % 3 == 1 ? 0xff : 'Q');
    }
    longest[o++] = 0;
    assert_int_equal(o, sizeof longest);
    expect_dname_like_ldns(longest, sizeof longest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_normalize), cmocka_unit_test(test_bad),
                                       cmocka_unit_test(test_dname_text)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
