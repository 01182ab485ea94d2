/*
 * Regression tests for what the fuzz targets (fuzz/) found. Each test holds
 * the minimized input (or a readable equivalent) and checks the property the
 * target asserted, so a fix that goes away fails here, without clang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "engine.h"
#include "rules.h"

static void assert_printable(const char *s)
{
    for (const char *p = s; *p; p++)
        assert_true(*p >= 0x20 && *p <= 0x7e);
}

/* fuzz_answer_text: a TAB inside a TXT string came out raw (ldns prints it
 * so); the CSV writer stores it as \009, so the text read back from the log
 * differed from the one judged in memory. Now it is \009 in both. */
static void txt_tab_is_escaped(void **state)
{
    (void)state;
    char *out = NULL;
    const char *why = NULL;
    assert_int_equal(answer_from_text(LDNS_RR_TYPE_TXT, "\t1 E \"e\x02\x07  \t\x80", &out, &why),
                     0);
    assert_printable(out);
    assert_non_null(strstr(out, "\\009"));
    /* and the normalized text normalizes to itself */
    char *again = NULL;
    assert_int_equal(answer_from_text(LDNS_RR_TYPE_TXT, out, &again, &why), 0);
    assert_string_equal(again, out);
    free(again);
    free(out);
}

/* fuzz_reply: the same TAB, in a DMARC TXT record of a reply off the wire. */
static const uint8_t dmarc_tab_reply[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x5f, 0x64,
    0x6d, 0x61, 0x72, 0x63, 0x07, 0x63, 0x6f, 0x6e, 0x74, 0x6f, 0x73, 0x6f, 0x03, 0x63, 0x6f,
    0x6d, 0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0e,
    0x10, 0x00, 0x2d, 0x2c, 0x76, 0x3d, 0x44, 0x4d, 0x41, 0x52, 0x43, 0x31, 0x3b, 0x20, 0x70,
    0x3d, 0x72, 0x65, 0x6a, 0x65, 0x63, 0x74, 0x3b, 0x20, 0x72, 0x75, 0x61, 0x3d, 0x6d, 0x61,
    0x69, 0x6c, 0x74, 0x6f, 0x3a, 0x64, 0x09, 0x00, 0x00, 0x00, 0x74, 0x6f, 0x73, 0x6f, 0x2e,
    0x63, 0x6f, 0x6d, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

static void reply_txt_tab_is_escaped(void **state)
{
    (void)state;
    ldns_pkt *pkt = NULL;
    struct engine_result r;
    char *answer = NULL, *cname = NULL;
    memset(&r, 0, sizeof r);
    assert_int_equal(ldns_wire2pkt(&pkt, dmarc_tab_reply, sizeof dmarc_tab_reply), LDNS_STATUS_OK);
    assert_int_equal(
        engine_judge_reply(pkt, "_dmarc.contoso.com.", LDNS_RR_TYPE_TXT, &r, &answer, &cname), 0);
    assert_int_equal(r.status, OBS_OK);
    assert_printable(answer);
    assert_string_equal(answer, "\"v=DMARC1; p=reject; rua=mailto:d\\009\\000\\000\\000toso.com\"");
    assert_null(cname);
    free(answer);
    ldns_pkt_free(pkt);
}

/* fuzz_time: the exact time parser of the log took 19 bytes with NULs after
 * "YYYY-MM-DD HH:MM" as that minute. */
static void exact_time_refuses_embedded_nul(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(dp_parse_time_exact("2026-11-29 00:00\0\0\0", 19, &t), DP_EINPUT);
    assert_int_equal(dp_parse_time_exact("2026-11-29 00:00+01", 19, &t), DP_EINPUT);
    assert_int_equal(dp_parse_time_exact("2026-11-29 00:00:07", 19, &t), 0);
    assert_int_equal(t, 1795910407);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(txt_tab_is_escaped),
        cmocka_unit_test(reply_txt_tab_is_escaped),
        cmocka_unit_test(exact_time_refuses_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
