/* Unit tests for the delegation reader and its text (rules/delegation.c):
 * referrals with in-bailiwick and out-of-bailiwick NS, glue and missing glue,
 * a referral that is really an answer (parent and child on one server), an
 * upward referral, error rcodes, malformed replies, the text helpers, and the
 * text's round trip through the log's writer and reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "reports.h"
#include "rules.h"

/* A reply to "contoso.test. NS" with the given zone-file lines per section
 * (NULL-terminated lists). */
static ldns_pkt *reply(bool aa, ldns_pkt_rcode rcode, const char *const *answer,
                       const char *const *authority, const char *const *additional)
{
    ldns_pkt *p = ldns_pkt_new();
    assert_non_null(p);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_aa(p, aa);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    ldns_rr *q = NULL;
    assert_int_equal(ldns_rr_new_question_frm_str(&q, "contoso.test. IN NS", NULL, NULL),
                     LDNS_STATUS_OK);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
    const char *const *secs[3] = {answer, authority, additional};
    const ldns_pkt_section which[3] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
                                       LDNS_SECTION_ADDITIONAL};
    for (int s = 0; s < 3; s++)
        for (const char *const *l = secs[s]; l != NULL && *l != NULL; l++) {
            ldns_rr *rr = NULL;
            if (ldns_rr_new_frm_str(&rr, *l, 0, NULL, NULL) != LDNS_STATUS_OK)
                fail_msg("bad test record '%s'", *l);
            ldns_pkt_push_rr(p, which[s], rr);
        }
    return p;
}

static void read_ok(ldns_pkt *p, struct deleg_reading *r)
{
    assert_int_equal(deleg_read_reply(p, "contoso.test", r), 0);
    assert_non_null(r->text);
    ldns_pkt_free(p);
}

static void test_in_bailiwick_glue(void **state)
{
    (void)state;
    static const char *const auth[] = {"contoso.test. 172800 IN NS NS2.Contoso.test.",
                                       "contoso.test. 86400 IN NS ns1.contoso.test.", NULL};
    static const char *const add[] = {"ns1.contoso.test. 172800 IN A 192.0.2.1",
                                      "NS1.contoso.test. 172800 IN AAAA 2001:db8::1",
                                      "ns2.contoso.test. 172800 IN A 192.0.2.2",
                                      "ns2.contoso.test. 172800 IN A 192.0.2.2", /* twice */
                                      "other.test. 172800 IN A 192.0.2.99",      /* not named */
                                      "ns1.contoso.test. 172800 IN TXT \"not an address\"",
                                      NULL};
    struct deleg_reading r;
    read_ok(reply(false, LDNS_RCODE_NOERROR, NULL, auth, add), &r);
    assert_int_equal(r.status, OBS_OK);
    assert_false(r.from_answer);
    assert_false(r.aa);
    assert_int_equal(r.ttl, 86400);
    assert_string_equal(r.text, "ns1.contoso.test. | ns2.contoso.test. ; glue ns1.contoso.test. "
                                "A 192.0.2.1 ; glue ns1.contoso.test. AAAA 2001:db8::1 ; glue "
                                "ns2.contoso.test. A 192.0.2.2");
    assert_int_equal(deleg_text_nslen(r.text), strlen("ns1.contoso.test. | ns2.contoso.test."));
    assert_false(deleg_text_aa(r.text));
    char *g = NULL;
    bool any = false;
    assert_int_equal(deleg_text_glue(r.text, "ns1.contoso.test.", "A", &g, &any), 0);
    assert_string_equal(g, "192.0.2.1");
    assert_true(any);
    free(g);
    assert_int_equal(deleg_text_glue(r.text, "NS1.contoso.test.", "AAAA", &g, &any), 0);
    assert_string_equal(g, "2001:db8::1");
    free(g);
    assert_int_equal(deleg_text_glue(r.text, "ns2.contoso.test.", "AAAA", &g, &any), 0);
    assert_string_equal(g, "");
    assert_true(any); /* it has A glue */
    free(g);
    assert_int_equal(deleg_text_glue_list(r.text, &g), 0);
    assert_string_equal(g, "ns1.contoso.test. A 192.0.2.1 | ns1.contoso.test. AAAA 2001:db8::1 | "
                           "ns2.contoso.test. A 192.0.2.2");
    free(g);
    deleg_reading_deinit(&r);
    assert_null(r.text);
}

static void test_out_of_bailiwick(void **state)
{
    (void)state;
    static const char *const auth[] = {"contoso.test. 3600 IN NS ns1.example.net.",
                                       "contoso.test. 3600 IN NS ns2.example.org.", NULL};
    /* a server may add addresses of out-of-bailiwick names: they are shown
     * as what the parent sent, never compared with the child */
    static const char *const add[] = {"ns2.example.org. 3600 IN A 198.51.100.2", NULL};
    struct deleg_reading r;
    read_ok(reply(false, LDNS_RCODE_NOERROR, NULL, auth, add), &r);
    assert_int_equal(r.status, OBS_OK);
    assert_int_equal(r.ttl, 3600);
    assert_string_equal(
        r.text, "ns1.example.net. | ns2.example.org. ; glue ns2.example.org. A 198.51.100.2");
    assert_false(deleg_in_domain("ns1.example.net.", "contoso.test"));
    assert_true(deleg_in_domain("ns1.contoso.test.", "contoso.test"));
    assert_true(deleg_in_domain("NS1.CONTOSO.TEST", "contoso.test"));
    assert_true(deleg_in_domain("contoso.test.", "contoso.test"));
    assert_false(deleg_in_domain("ns1.notcontoso.test.", "contoso.test"));
    assert_false(deleg_in_domain("ns1\\.contoso.test.", "contoso.test")); /* one label */
    assert_false(deleg_in_domain("test.", "contoso.test"));
    deleg_reading_deinit(&r);
}

static void test_missing_glue(void **state)
{
    (void)state;
    static const char *const auth[] = {"contoso.test. 7200 IN NS ns1.contoso.test.",
                                       "contoso.test. 7200 IN NS ns2.contoso.test.", NULL};
    struct deleg_reading r;
    read_ok(reply(false, LDNS_RCODE_NOERROR, NULL, auth, NULL), &r);
    assert_int_equal(r.status, OBS_OK);
    assert_string_equal(r.text, "ns1.contoso.test. | ns2.contoso.test.");
    char *g = NULL;
    bool any = true;
    assert_int_equal(deleg_text_glue(r.text, "ns1.contoso.test.", "A", &g, &any), 0);
    assert_string_equal(g, "");
    assert_false(any);
    free(g);
    assert_int_equal(deleg_text_glue_list(r.text, &g), 0);
    assert_string_equal(g, "");
    free(g);
    deleg_reading_deinit(&r);
}

static void test_really_an_answer(void **state)
{
    (void)state;
    /* parent and child on the same server: it answers from the child zone */
    static const char *const an[] = {"contoso.test. 300 IN NS ns1.contoso.test.",
                                     "contoso.test. 600 IN NS ns2.contoso.test.", NULL};
    static const char *const au[] = {"test. 300 IN NS ns.test.", NULL};
    static const char *const add[] = {"ns2.contoso.test. 300 IN A 192.0.2.2", NULL};
    struct deleg_reading r;
    read_ok(reply(true, LDNS_RCODE_NOERROR, an, au, add), &r);
    assert_int_equal(r.status, OBS_OK);
    assert_true(r.from_answer);
    assert_true(r.aa);
    assert_int_equal(r.ttl, 300);
    assert_string_equal(
        r.text, "ns1.contoso.test. | ns2.contoso.test. ; glue ns2.contoso.test. A 192.0.2.2 "
                "; aa");
    assert_true(deleg_text_aa(r.text));
    assert_int_equal(deleg_text_nslen(r.text), strlen("ns1.contoso.test. | ns2.contoso.test."));
    deleg_reading_deinit(&r);
    /* the same answer without AA (a cache's copy): not authoritative */
    read_ok(reply(false, LDNS_RCODE_NOERROR, an, NULL, NULL), &r);
    assert_true(r.from_answer);
    assert_false(r.aa);
    assert_string_equal(r.text, "ns1.contoso.test. | ns2.contoso.test.");
    assert_false(deleg_text_aa(r.text));
    deleg_reading_deinit(&r);
}

static void test_not_a_referral(void **state)
{
    (void)state;
    /* an upward referral (a lame server pointing at the root) */
    static const char *const up[] = {". 518400 IN NS a.root-servers.net.", NULL};
    struct deleg_reading r;
    read_ok(reply(false, LDNS_RCODE_NOERROR, NULL, up, NULL), &r);
    assert_int_equal(r.status, OBS_NODATA);
    assert_string_equal(r.text, "");
    assert_int_equal(r.ttl, -1);
    deleg_reading_deinit(&r);
    /* no delegation at all: NXDOMAIN from the parent */
    static const char *const soa[] = {"test. 900 IN SOA ns.test. h.test. 1 2 3 4 900", NULL};
    read_ok(reply(true, LDNS_RCODE_NXDOMAIN, NULL, soa, NULL), &r);
    assert_int_equal(r.status, OBS_NXDOMAIN);
    assert_string_equal(r.text, "");
    deleg_reading_deinit(&r);
    static const char *const ns[] = {"contoso.test. 60 IN NS ns1.contoso.test.", NULL};
    read_ok(reply(false, LDNS_RCODE_REFUSED, NULL, ns, NULL), &r);
    assert_int_equal(r.status, OBS_REFUSED);
    assert_string_equal(r.text, ""); /* whatever comes with an error is no delegation */
    deleg_reading_deinit(&r);
    read_ok(reply(false, LDNS_RCODE_SERVFAIL, NULL, NULL, NULL), &r);
    assert_int_equal(r.status, OBS_SERVFAIL);
    assert_int_equal(r.rcode, LDNS_RCODE_SERVFAIL);
    deleg_reading_deinit(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    struct deleg_reading r;
    /* QR clear: a query, not a reply */
    ldns_pkt *p = reply(false, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
    ldns_pkt_set_qr(p, false);
    assert_int_equal(deleg_read_reply(p, "contoso.test", &r), DP_EMALFORMED);
    assert_null(r.text);
    ldns_pkt_free(p);
    /* an NS record of the domain without its name */
    p = reply(false, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
    ldns_rr *rr = ldns_rr_new();
    ldns_rr_set_owner(rr, ldns_dname_new_frm_str("contoso.test."));
    ldns_rr_set_type(rr, LDNS_RR_TYPE_NS);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
    assert_int_equal(deleg_read_reply(p, "contoso.test", &r), DP_EMALFORMED);
    assert_null(r.text);
    /* the same reply asked for another domain: the record is not ours */
    assert_int_equal(deleg_read_reply(p, "fabrikam.test", &r), 0);
    assert_int_equal(r.status, OBS_NODATA);
    deleg_reading_deinit(&r);
    assert_int_equal(deleg_read_reply(p, NULL, &r), DP_EINPUT);
    assert_int_equal(deleg_read_reply(NULL, "contoso.test", &r), DP_EINPUT);
    ldns_pkt_free(p);
    /* texts that are not what the reader writes: the helpers stay inside */
    static const char *const odd[] = {
        "",      " ; ",  "a. ; glue",      "a. ; glue a.", "a. ; glue a. A",
        " ; aa", "; aa", "a. ; glue  A 1", "a. ; ; ; aa"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        char *g = NULL;
        assert_true(deleg_text_nslen(odd[i]) <= strlen(odd[i]));
        assert_int_equal(deleg_text_glue(odd[i], "a.", "A", &g, NULL), 0);
        free(g);
        assert_int_equal(deleg_text_glue_list(odd[i], &g), 0);
        free(g);
    }
    assert_true(deleg_text_aa(" ; aa"));
    assert_false(deleg_text_aa("; aa"));
    assert_int_equal(deleg_text_nslen(NULL), 0);
}

/* Names with a space or ';' in a label stay one word in the text, and the
 * text goes through the log's writer and reader unchanged. */
static void test_escapes_round_trip(void **state)
{
    (void)state;
    static const char *const auth[] = {"contoso.test. 60 IN NS ns\\0321\\;x.contoso.test.",
                                       "contoso.test. 60 IN NS ns2.contoso.test.", NULL};
    static const char *const add[] = {"ns\\0321\\;x.contoso.test. 60 IN A 192.0.2.1", NULL};
    struct deleg_reading r;
    read_ok(reply(false, LDNS_RCODE_NOERROR, NULL, auth, add), &r);
    /* sorted bytewise: '2' comes before '\\' */
    assert_string_equal(r.text, "ns2.contoso.test. | ns\\0321\\;x.contoso.test. ; glue "
                                "ns\\0321\\;x.contoso.test. A 192.0.2.1");
    char *g = NULL;
    assert_int_equal(deleg_text_glue(r.text, "ns\\0321\\;x.contoso.test.", "A", &g, NULL), 0);
    assert_string_equal(g, "192.0.2.1");
    free(g);

    struct obs o = {0}, back = {0};
    o.time = 1764633600;
    o.vantage = "lab";
    o.round = 1;
    o.domain = "contoso.test";
    o.check = "delegation";
    o.qname = "contoso.test.";
    o.qtype = "NS";
    o.server = "parent:ns.test";
    o.address = "192.0.2.53";
    o.status = OBS_OK;
    o.rcode = 0;
    o.latency_ms = 1;
    o.ttl = r.ttl;
    o.answer = r.text;
    o.expected = "ns2.contoso.test.";
    o.match = OBS_MATCH_NO;
    struct csvw w;
    struct csvr rd;
    char why[200];
    csvw_init(&w);
    csvr_init(&rd);
    obs_write_row(&w, &o);
    assert_int_equal(csvw_error(&w), 0);
    for (size_t i = 0; i < w.len; i++)
        assert_true(w.buf[i] == '\r' || w.buf[i] == '\n' || (w.buf[i] >= 0x20 && w.buf[i] < 0x7f));
    size_t len = w.len;
    while (len > 0 && (w.buf[len - 1] == '\n' || w.buf[len - 1] == '\r'))
        len--;
    assert_int_equal(obs_parse_line(&rd, w.buf, len, &back, why, sizeof why), 0);
    assert_string_equal(back.answer, r.text);
    assert_int_equal(back.ttl, 60);
    assert_string_equal(back.server, "parent:ns.test");
    csvr_deinit(&rd);
    csvw_deinit(&w);
    deleg_reading_deinit(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_bailiwick_glue),  cmocka_unit_test(test_out_of_bailiwick),
        cmocka_unit_test(test_missing_glue),       cmocka_unit_test(test_really_an_answer),
        cmocka_unit_test(test_not_a_referral),     cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_escapes_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
