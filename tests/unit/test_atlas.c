/* Unit tests for the RIPE Atlas reader and judge (monitor/atlas): the
 * streaming reader on JSON arrays, JSON lines, whitespace and chunk
 * boundaries, its refusals (truncated, not JSON, not an object, text after
 * the array); every field of a real result (ripe-atlas-sagan's
 * test_dns_4460); a resultset; an error entry; a reply judged against an
 * authoritative truth; bad abufs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "atlas.h"

/* the real result, tests/data/atlas/sagan_dns_4460.json */
static const char real[] =
    "{\"af\":4,\"dst_addr\":\"193.227.234.53\",\"from\":\"217.172.81.146\",\"fw\":4460,"
    "\"msm_id\":1004041,\"prb_id\":184,\"proto\":\"UDP\",\"result\":{\"ANCOUNT\":1,\"ARCOUNT\":0,"
    "\"ID\":39825,\"NSCOUNT\":0,\"QDCOUNT\":1,\"abuf\":"
    "\"m5GEAAABAAEAAAAABWFzMjUwA25ldAAAAQABwAwAAQABAAAOEAAEwpaoZA==\",\"answers\":[{"
    "\"RDLENGTH\":4,\"TYPE\":1}],\"rt\":45.305,\"size\":43},\"timestamp\":1347765990,"
    "\"type\":\"dns\"}";

/* Reads every result of text; returns how many, or the error. */
static int read_all(const char *text, char *err, size_t errlen)
{
    /* fmemopen takes a char *, but a "rb" stream never writes to it */
    char *copy = strdup(text);
    assert_non_null(copy);
    FILE *f = fmemopen(copy, strlen(copy), "rb");
    struct atlas_reader *r;
    int n = 0, rc;
    assert_non_null(f);
    assert_int_equal(atlas_reader_new(f, &r), 0);
    struct json_object *o;
    while ((rc = atlas_reader_next(r, &o, err, errlen)) == 1) {
        assert_true(json_object_is_type(o, json_type_object));
        json_object_put(o);
        n++;
    }
    atlas_reader_free(r);
    fclose(f);
    free(copy);
    return rc < 0 ? rc : n;
}

static void test_reader_forms(void **state)
{
    (void)state;
    char err[300];
    assert_int_equal(read_all("[]", err, sizeof err), 0);
    assert_int_equal(read_all("", err, sizeof err), 0);
    assert_int_equal(read_all(" \n [ {\"a\":1} , {\"b\":[1,2]}\n]\n ", err, sizeof err), 2);
    assert_int_equal(read_all("{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}", err, sizeof err), 3);
    assert_int_equal(read_all("{\"a\":1}{\"a\":2}", err, sizeof err), 2);
    /* a result longer than the reader's 64 KiB chunk, across boundaries */
    size_t big = 200000;
    char *t = malloc(big + 64);
    assert_non_null(t);
    size_t o = (size_t)snprintf(t, 64, "[{\"s\":\"");
    memset(t + o, 'x', big);
    o += big;
    snprintf(t + o, 64, "\"},{\"n\":1}]");
    assert_int_equal(read_all(t, err, sizeof err), 2);
    free(t);
}

static void test_reader_refusals(void **state)
{
    (void)state;
    char err[300];
    assert_int_equal(read_all("[{\"a\":1},{\"b\":", err, sizeof err), DP_EINPUT);
    assert_string_equal(err, "result 2 (line 1): truncated JSON");
    assert_int_equal(read_all("[{\"a\":1}", err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "truncated JSON (the array does not end)"));
    assert_int_equal(read_all("{\"a\":1}\n\n[1]", err, sizeof err), DP_EINPUT);
    assert_string_equal(err, "result 2 (line 3): not a JSON object");
    assert_int_equal(read_all("[{\"a\":1}] {}", err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "text after the end of the array"));
    assert_int_equal(read_all("[{\"a\":1} {\"b\":2}]", err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "',' or ']' expected"));
    assert_int_equal(read_all("{\"a\":1,}", err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "result 1 (line 1): bad JSON"));
    assert_int_equal(read_all("nope", err, sizeof err), DP_EINPUT);
}

/* ---- judging ---- */

struct seen {
    struct obs o[8];
    char text[8][12][300]; /* copies of the strings */
    int n;
    const char *truth;
};

static int take(void *arg, const struct obs *o, unsigned result_no)
{
    struct seen *s = arg;
    (void)result_no;
    assert_true(s->n < 8);
    struct obs *c = &s->o[s->n];
    *c = *o;
    const char **f[] = {&c->vantage, &c->domain, &c->check,    &c->qname, &c->qtype, &c->server,
                        &c->address, &c->answer, &c->expected, &c->site,  &c->ede};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        snprintf(s->text[s->n][i], sizeof s->text[s->n][i], "%s", *f[i] ? *f[i] : "");
        *f[i] = s->text[s->n][i];
    }
    s->n++;
    return 0;
}

static const char *truth(void *arg, const char *domain, const char *check, const char *qname,
                         const char *qtype, int64_t t)
{
    struct seen *s = arg;
    (void)domain;
    (void)check;
    (void)qname;
    (void)qtype;
    (void)t;
    return s->truth;
}

static int judge(const char *json, const char *domain, const char *checks, struct seen *s,
                 struct atlas_stats *st, char *err, size_t errlen)
{
    struct check_plan plan;
    struct round_domain d = {.profile = PROFILE_NONE};
    struct atlas_ctx c;
    const char *why;
    char perr[200];
    check_plan_init(&plan);
    assert_int_equal(check_plan_parse_checks(&plan, checks, perr, sizeof perr), 0);
    char name[DNSNAME_BUFLEN];
    assert_int_equal(dnsname_normalize(domain, name, sizeof name, &why), 0);
    d.name = name;
    d.plan = &plan;
    atlas_ctx_init(&c);
    assert_int_equal(atlas_ctx_add_domain(&c, &d), 0);
    c.row = take;
    c.truth = truth;
    c.arg = s;
    struct json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    int rc = atlas_result(&c, o, err, errlen);
    json_object_put(o);
    *st = c.st;
    atlas_ctx_deinit(&c);
    check_plan_deinit(&plan);
    return rc;
}

static void test_real_result_fields(void **state)
{
    (void)state;
    struct seen s = {0};
    struct atlas_stats st;
    char err[200];
    assert_int_equal(judge(real, "as250.net", "a", &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 1);
    const struct obs *o = &s.o[0];
    assert_int_equal(o->time, 1347765990); /* 2012-09-16 03:26:30 UTC, as sagan's test says */
    assert_string_equal(o->vantage, "atlas:184");
    assert_int_equal(o->round, 0); /* numbered by the caller */
    assert_string_equal(o->domain, "as250.net");
    assert_string_equal(o->check, "a");
    assert_string_equal(o->qname, "as250.net.");
    assert_string_equal(o->qtype, "A");
    assert_string_equal(o->server, "193.227.234.53");
    assert_string_equal(o->address, "193.227.234.53");
    assert_false(o->tcp);
    assert_int_equal(o->status, OBS_OK);
    assert_int_equal(o->rcode, 0);
    assert_int_equal(o->latency_ms, 45); /* rt 45.305 ms */
    assert_int_equal(o->ttl, 3600);
    assert_string_equal(o->answer, "194.150.168.100");
    assert_string_equal(o->expected, "");
    assert_int_equal(o->match, OBS_MATCH_NONE);
    assert_int_equal(st.results, 1);
    assert_int_equal(st.entries, 1);

    /* the same judged against a truth, and a different one */
    memset(&s, 0, sizeof s);
    s.truth = "194.150.168.100";
    assert_int_equal(judge(real, "as250.net", "a", &s, &st, err, sizeof err), 0);
    assert_string_equal(s.o[0].expected, "194.150.168.100");
    assert_int_equal(s.o[0].match, OBS_MATCH_YES);
    memset(&s, 0, sizeof s);
    s.truth = "192.0.2.1";
    assert_int_equal(judge(real, "as250.net", "a", &s, &st, err, sizeof err), 0);
    assert_int_equal(s.o[0].match, OBS_MATCH_NO);

    /* asked for other questions: no row, counted */
    memset(&s, 0, sizeof s);
    assert_int_equal(judge(real, "as250.net", "mx", &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(st.replies_not_asked, 1);
    assert_int_equal(st.results_unused, 1);
}

static void test_resultset_and_error(void **state)
{
    (void)state;
    struct seen s = {0};
    struct atlas_stats st;
    char err[200];
    /* two resolvers: an answer over TCP with its own time and port, and a
     * timeout, whose question is its sibling's */
    const char *j =
        "{\"type\":\"dns\",\"prb_id\":7,\"timestamp\":100,\"msm_id\":5,\"resultset\":["
        "{\"error\":{\"timeout\":5000},\"dst_addr\":\"2001:db8::1\",\"time\":101},"
        "{\"result\":{\"abuf\":\"m5GEAAABAAEAAAAABWFzMjUwA25ldAAAAQABwAwAAQABAAAOEAAEwpaoZA==\","
        "\"rt\":1},\"dst_addr\":\"192.0.2.9\",\"dst_port\":5353,\"proto\":\"TCP\",\"time\":102},"
        "{\"error\":{\"socket\":\"connect failed\"},\"dst_addr\":\"192.0.2.10\"}]}";
    assert_int_equal(judge(j, "as250.net", "a", &s, &st, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.o[0].address, "192.0.2.9:5353"); /* the answers first */
    assert_true(s.o[0].tcp);
    assert_int_equal(s.o[0].time, 102);
    assert_string_equal(s.o[1].address, "[2001:db8::1]");
    assert_int_equal(s.o[1].status, OBS_TIMEOUT);
    assert_int_equal(s.o[1].time, 101);
    assert_string_equal(s.o[1].qname, "as250.net.");
    assert_int_equal(s.o[2].status, OBS_UNREACHABLE);
    assert_int_equal(s.o[2].time, 100); /* no time of its own: the result's */
    assert_int_equal(s.o[2].latency_ms, -1);
}

static void test_bad_results(void **state)
{
    (void)state;
    struct seen s = {0};
    struct atlas_stats st;
    char err[200];
    assert_int_equal(
        judge("{\"timestamp\":1,\"result\":{}}", "as250.net", "a", &s, &st, err, sizeof err),
        DP_EINPUT);
    assert_string_equal(err, "no prb_id");
    assert_int_equal(judge("{\"prb_id\":1,\"timestamp\":1,\"dst_addr\":\"192.0.2.1\","
                           "\"result\":{\"abuf\":\"!!!\"}}",
                           "as250.net", "a", &s, &st, err, sizeof err),
                     DP_EINPUT);
    assert_string_equal(err, "abuf: not base64");
    assert_int_equal(judge("{\"prb_id\":1,\"timestamp\":1,\"dst_addr\":\"192.0.2.1\","
                           "\"result\":{\"abuf\":\"AAAA\"}}",
                           "as250.net", "a", &s, &st, err, sizeof err),
                     DP_EINPUT);
    assert_string_equal(err, "abuf: not a DNS message");
    assert_int_equal(judge("{\"prb_id\":1,\"timestamp\":1,\"dst_addr\":\"nowhere\","
                           "\"result\":{\"abuf\":\"AAAA\"}}",
                           "as250.net", "a", &s, &st, err, sizeof err),
                     DP_EINPUT);
    assert_string_equal(err, "bad dst_addr");
    /* a result of another type is no DNS result: skipped */
    assert_int_equal(
        judge("{\"type\":\"ping\",\"prb_id\":1}", "as250.net", "a", &s, &st, err, sizeof err), 0);
    assert_int_equal(st.not_dns, 1);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_forms),       cmocka_unit_test(test_reader_refusals),
        cmocka_unit_test(test_real_result_fields), cmocka_unit_test(test_resultset_and_error),
        cmocka_unit_test(test_bad_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
