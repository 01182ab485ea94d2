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

/* ---- answer texts as records (answer_text_*) ---- */

/* Splits text with flags and checks the records against want[] (n of
 * them), then joins them back and checks that the text comes back byte for
 * byte (the separator of the flags' grammar between records). */
static void expect_records(const char *text, unsigned flags, const char *const *want, size_t n)
{
    struct answer_text it;
    struct answer_rec rec;
    size_t len = strlen(text), k = 0, o = 0;
    char *back = malloc(len + 1);
    assert_non_null(back);
    back[0] = '\0';
    answer_text_init(&it, text, len, flags);
    int got;
    while ((got = answer_text_next(&it, &rec)) == 1) {
        if (k >= n)
            fail_msg("'%s': more than %zu records", text, n);
        if (rec.len != strlen(want[k]) || memcmp(rec.s, want[k], rec.len) != 0)
            fail_msg("'%s': record %zu is '%.*s', want '%s'", text, k, (int)rec.len, rec.s,
                     want[k]);
        assert_true(rec.s >= text && rec.s + rec.len <= text + len); /* borrowed */
        if (flags & ANSWER_TEXT_BAR) {
            if (k > 0)
                back[o++] = '|';
            memcpy(back + o, rec.s, rec.len);
            o += rec.len;
            back[o] = '\0';
        } else if (k == 0) {
            memcpy(back, rec.s, rec.len);
            o = rec.len;
            back[o] = '\0';
        } else {
            /* at > 0 puts the separator; an empty first record still needs it */
            memcpy(back + o, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
            o += ANSWER_TEXT_SEPLEN;
            memcpy(back + o, rec.s, rec.len);
            o += rec.len;
            back[o] = '\0';
        }
        k++;
    }
    assert_int_equal(got, 0);
    assert_int_equal(k, n);
    assert_string_equal(back, text);
    /* the end is sticky and leaves *rec alone */
    rec.s = "x";
    assert_int_equal(answer_text_next(&it, &rec), 0);
    assert_string_equal(rec.s, "x");
    size_t count = 99;
    assert_int_equal(answer_text_count(text, flags, &count), 0);
    assert_int_equal(count, n);
    free(back);
}

static void expect_split_fails(const char *text, unsigned flags)
{
    size_t count = 99;
    if (answer_text_count(text, flags, &count) != DP_EINPUT)
        fail_msg("'%s' split with flags %u", text, flags);
    assert_int_equal(count, 0);
    /* after the error the iteration is over */
    struct answer_text it;
    struct answer_rec rec;
    int got;
    answer_text_init(&it, text, strlen(text), flags);
    while ((got = answer_text_next(&it, &rec)) == 1)
        ;
    assert_int_equal(got, DP_EINPUT);
    assert_int_equal(answer_text_next(&it, &rec), 0);
}

static void test_text_names(void **state)
{
    (void)state;
    expect_records("", 0, NULL, 0);
    expect_records("ns1.example.", 0, (const char *const[]){"ns1.example."}, 1);
    expect_records("0 a.example. | 10 b.example.", 0,
                   (const char *const[]){"0 a.example.", "10 b.example."}, 2);
    /* only " | " separates: a bar without both spaces is data */
    expect_records("a|b | c |d", 0, (const char *const[]){"a|b", "c |d"}, 2);
    /* every separator starts a record, the empty ones too */
    expect_records("a | ", 0, (const char *const[]){"a", ""}, 2);
    expect_records(" | ", 0, (const char *const[]){"", ""}, 2);
    expect_records("a |  | b", 0, (const char *const[]){"a", "", "b"}, 3);
    /* leftmost first, as strstr finds them: " | | " is one separator and a bar */
    expect_records("a | | b", 0, (const char *const[]){"a", "| b"}, 2);
    /* quotes and escapes mean nothing in names */
    expect_records("a\"b. | c\\\\. | \"", 0, (const char *const[]){"a\"b.", "c\\\\.", "\""}, 3);
    /* the NULL text is the empty one */
    struct answer_text it;
    struct answer_rec rec;
    answer_text_init(&it, NULL, 0, 0);
    assert_int_equal(answer_text_next(&it, &rec), 0);
    size_t n = 7;
    assert_int_equal(answer_text_count(NULL, ANSWER_TEXT_STRINGS, &n), 0);
    assert_int_equal(n, 0);
    /* a length cuts the text: the NS set of a delegation text */
    const char *deleg = "a.example. | b.example. ; glue a.example. A 192.0.2.1";
    answer_text_init(&it, deleg, strlen("a.example. | b.example."), 0);
    assert_int_equal(answer_text_next(&it, &rec), 1);
    assert_int_equal(rec.len, strlen("a.example."));
    assert_int_equal(answer_text_next(&it, &rec), 1);
    assert_int_equal(rec.len, strlen("b.example."));
    assert_memory_equal(rec.s, "b.example.", rec.len);
    assert_int_equal(answer_text_next(&it, &rec), 0);
}

static void test_text_strings(void **state)
{
    (void)state;
    const unsigned f = ANSWER_TEXT_STRINGS;
    expect_records("", f, NULL, 0);
    expect_records("\"v=spf1 -all\"", f, (const char *const[]){"\"v=spf1 -all\""}, 1);
    /* " | " inside a string is data */
    expect_records("\"a | b\" | \"c\"", f, (const char *const[]){"\"a | b\"", "\"c\""}, 2);
    /* an escaped quote does not end the string, an escaped space no separator */
    expect_records("\"x\\\" | y\" | z", f, (const char *const[]){"\"x\\\" | y\"", "z"}, 2);
    expect_records("a\\ | b", f, (const char *const[]){"a\\ | b"}, 1);
    expect_records("\"a\" \"b\" | \"\"", f, (const char *const[]){"\"a\" \"b\"", "\"\""}, 2);
    static const char *const bad[] = {
        "\"open", "a | ", " | a", "a |  | b", " | ", "a\\", "\"a\" | \"b", "x | \"\\\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_split_fails(bad[i], f);
}

static void test_text_bar(void **state)
{
    (void)state;
    const unsigned f = ANSWER_TEXT_BAR;
    expect_records("0 a.|10 b.", f, (const char *const[]){"0 a.", "10 b."}, 2);
    expect_records("0 a. | 10 b.", f, (const char *const[]){"0 a. ", " 10 b."}, 2);
    expect_records("\"x|y\"|z", f, (const char *const[]){"\"x|y\"", "z"}, 2);
    expect_records("a\\|b|c", f, (const char *const[]){"a\\|b", "c"}, 2);
    expect_records("a|", f, (const char *const[]){"a", ""}, 2);
    expect_records("||", f, (const char *const[]){"", "", ""}, 3);
    /* a final lone backslash is a byte like any other here */
    expect_records("a\\", f, (const char *const[]){"a\\"}, 1);
    expect_split_fails("\"x|y", f);
    expect_split_fails("a|\"b", f);
}

/* The normalized texts answer_from_rrs writes split into what was joined,
 * and join back to the same text. */
static void test_text_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint16_t type;
        unsigned flags;
        const char *in;
        size_t n;
    } cases[] = {
        {LDNS_RR_TYPE_MX, 0, "20 c.example. | 0 a.example. | 10 b.example.", 3},
        {LDNS_RR_TYPE_NS, 0, "ns2.example. | ns1.example.", 2},
        {LDNS_RR_TYPE_A, 0, "192.0.2.9 | 192.0.2.10 | 192.0.2.1", 3},
        {LDNS_RR_TYPE_AAAA, 0, "2001:db8::2 | 2001:db8::1", 2},
        {LDNS_RR_TYPE_TXT, ANSWER_TEXT_STRINGS, "\"b \\124 c\" | \"a\" \"x y\" | \"v=spf1 -all\"",
         3},
        {LDNS_RR_TYPE_SOA, 0, "ns.example. h.example. 7 3600 600 86400 300", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *norm = NULL;
        const char *why = NULL;
        assert_int_equal(answer_from_text(cases[i].type, cases[i].in, &norm, &why), 0);
        size_t len = strlen(norm), o = 0, k = 0;
        char *back = malloc(len + 1);
        assert_non_null(back);
        struct answer_text it;
        struct answer_rec rec, prev = {NULL, 0};
        answer_text_init(&it, norm, len, cases[i].flags);
        while (answer_text_next(&it, &rec) == 1) {
            /* records: sorted bytewise, each once */
            if (prev.s != NULL) {
                size_t m = prev.len < rec.len ? prev.len : rec.len;
                int c = memcmp(prev.s, rec.s, m);
                assert_true(c < 0 || (c == 0 && prev.len < rec.len));
            }
            prev = rec;
            o = answer_text_put(back, o, rec.s, rec.len);
            k++;
        }
        assert_int_equal(k, cases[i].n);
        assert_int_equal(o, len);
        assert_string_equal(back, norm);
        free(back);
        free(norm);
    }
}

static void test_text_put(void **state)
{
    (void)state;
    /* exactly the bytes it says, and the NUL (ASan watches the bounds) */
    char *b = malloc(1 + 3);
    assert_non_null(b);
    assert_int_equal(answer_text_put(b, 0, "abc", 3), 3);
    assert_string_equal(b, "abc");
    char *c = realloc(b, 3 + ANSWER_TEXT_SEPLEN + 2 + 1);
    assert_non_null(c);
    assert_int_equal(answer_text_put(c, 3, "de", 2), 8);
    assert_string_equal(c, "abc | de");
    /* an empty record: at 0 nothing but the NUL */
    assert_int_equal(answer_text_put(c, 0, "", 0), 0);
    assert_string_equal(c, "");
    free(c);
}

static void expect_mx(const char *text, int rc, uint16_t pref, const char *host)
{
    struct answer_rec rec = {text, strlen(text)}, h = {NULL, 0};
    uint16_t p = 12345;
    int got = answer_mx_read(&rec, &p, &h);
    if (got != rc)
        fail_msg("'%s': answer_mx_read %d, want %d", text, got, rc);
    if (rc != 0)
        return;
    assert_int_equal(p, pref);
    assert_int_equal(h.len, strlen(host));
    assert_memory_equal(h.s, host, h.len);
}

static void test_mx_read(void **state)
{
    (void)state;
    expect_mx("10 mx.example.", 0, 10, "mx.example.");
    expect_mx("0 .", 0, 0, ".");
    expect_mx("65535 a.", 0, 65535, "a.");
    expect_mx("0000010 a.", 0, 10, "a."); /* seven digits */
    expect_mx("00000010 a.", DP_EINPUT, 0, NULL);
    expect_mx("65536 a.", DP_EINPUT, 0, NULL);
    expect_mx("x a.", DP_EINPUT, 0, NULL);
    expect_mx("-1 a.", DP_EINPUT, 0, NULL);
    expect_mx("10", DP_EINPUT, 0, NULL);
    expect_mx("10 ", DP_EINPUT, 0, NULL);
    expect_mx("10  a.", DP_EINPUT, 0, NULL);
    expect_mx("10 a. b.", DP_EINPUT, 0, NULL);
    expect_mx("", DP_EINPUT, 0, NULL);
    /* the host as the reports read any log's row: after the first space */
    static const struct {
        const char *rec, *host;
    } loose[] = {
        {"10 mx.example.", "mx.example."},
        {"mx.example.", "mx.example."},
        {"x a b", "a b"},
        {"10 ", ""},
        {"", ""},
        {" a", "a"},
    };
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        struct answer_rec r = {loose[i].rec, strlen(loose[i].rec)};
        struct answer_rec h = answer_mx_host(&r);
        assert_int_equal(h.len, strlen(loose[i].host));
        assert_memory_equal(h.s, loose[i].host, h.len);
        assert_ptr_equal(h.s + h.len, r.s + r.len);
    }
    /* the record is a slice: what follows it is not read */
    struct answer_rec rec = {"5 a.example. | 7 b.", strlen("5 a.example.")}, h;
    uint16_t p;
    assert_int_equal(answer_mx_read(&rec, &p, &h), 0);
    assert_int_equal(h.len, strlen("a.example."));
    /* the longest host a DNSNAME_BUFLEN buffer holds, and one byte more */
    char text[3 + DNSNAME_BUFLEN + 1];
    memcpy(text, "1 ", 2);
    memset(text + 2, 'a', DNSNAME_BUFLEN - 1);
    text[2 + DNSNAME_BUFLEN - 1] = '\0';
    expect_mx(text, 0, 1, text + 2);
    memset(text + 2, 'a', DNSNAME_BUFLEN);
    text[2 + DNSNAME_BUFLEN] = '\0';
    expect_mx(text, DP_EINPUT, 0, NULL);
}

/* Large texts: a record of 65535 bytes (the most RDATA can be), and 20000
 * records; splitting and joining them is exact and stays inside the text. */
static void test_text_max(void **state)
{
    (void)state;
    const size_t big = 65535, many = 20000;
    size_t len = 2 * big + ANSWER_TEXT_SEPLEN;
    char *t = malloc(len + 1);
    assert_non_null(t);
    memset(t, 'x', big);
    memcpy(t + big, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
    memset(t + big + ANSWER_TEXT_SEPLEN, '|', big); /* bars without spaces: data */
    t[len] = '\0';
    for (unsigned f = 0; f <= ANSWER_TEXT_STRINGS; f++) {
        struct answer_text it;
        struct answer_rec rec;
        answer_text_init(&it, t, len, f);
        assert_int_equal(answer_text_next(&it, &rec), 1);
        assert_int_equal(rec.len, big);
        assert_int_equal(answer_text_next(&it, &rec), 1);
        assert_int_equal(rec.len, big);
        assert_ptr_equal(rec.s + rec.len, t + len);
        assert_int_equal(answer_text_next(&it, &rec), 0);
    }
    free(t);

    /* many records "N a." joined, then split and joined again */
    char *s = malloc(many * 16);
    assert_non_null(s);
    size_t o = 0;
    for (size_t i = 0; i < many; i++) {
        char r[16];
        int n = snprintf(r, sizeof r, "%zu a.", i);
        o = answer_text_put(s, o, r, (size_t)n);
    }
    size_t count = 0;
    assert_int_equal(answer_text_count(s, 0, &count), 0);
    assert_int_equal(count, many);
    assert_int_equal(answer_text_count(s, ANSWER_TEXT_STRINGS, &count), 0);
    assert_int_equal(count, many);
    char *back = malloc(o + 1);
    assert_non_null(back);
    struct answer_text it;
    struct answer_rec rec;
    size_t b = 0, k = 0;
    answer_text_init(&it, s, o, 0);
    while (answer_text_next(&it, &rec) == 1) {
        uint16_t pref;
        struct answer_rec host;
        assert_int_equal(answer_mx_read(&rec, &pref, &host), 0);
        assert_int_equal(pref, (uint16_t)k);
        b = answer_text_put(back, b, rec.s, rec.len);
        k++;
    }
    assert_int_equal(k, many);
    assert_string_equal(back, s);
    free(back);
    free(s);
}

/* The qtype column's name of a type: ldns's mnemonic, else TYPEnnn. */
static void test_type_name(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(answer_type_name(15, buf, sizeof buf), "MX");
    assert_string_equal(answer_type_name(28, buf, sizeof buf), "AAAA");
    assert_string_equal(answer_type_name(65280, buf, sizeof buf), "TYPE65280");
    assert_string_equal(answer_type_name(0, buf, sizeof buf), "TYPE0");
    char small[4];
    assert_string_equal(answer_type_name(65280, small, sizeof small), "TYP"); /* cut, ended */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),       cmocka_unit_test(test_bad),
        cmocka_unit_test(test_dname_text),      cmocka_unit_test(test_text_names),
        cmocka_unit_test(test_text_strings),    cmocka_unit_test(test_text_bar),
        cmocka_unit_test(test_text_round_trip), cmocka_unit_test(test_text_put),
        cmocka_unit_test(test_mx_read),         cmocka_unit_test(test_text_max),
        cmocka_unit_test(test_type_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
