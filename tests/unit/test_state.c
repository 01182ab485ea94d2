/* Unit tests for DIR/.state (reports/state.c): the aggregates written, read
 * back and written again give the same bytes, for aggregates that hold every
 * kind of record (strings, domains, vantages, (domain, check)s, their
 * vantages and servers, sites, MX verdicts, delegation findings, series and
 * their points); and a state that is not exactly what this version writes
 * (another version, a field too many or too few, an index out of range, a
 * bad boolean, a broken hash) is not read at all: the caller reads the whole
 * log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define T1 1795996800 /* 2026-11-30 00:00:00 */

#include "scratch.h"
#include "obsrows.h"

#define OLDNS  "ns1.old.example. | ns2.old.example."
#define NEWNS  "ns3.contoso.com. | ns4.contoso.com."
#define GLUE34 " ; glue ns3.contoso.com. A 192.0.2.3 ; glue ns4.contoso.com. A 192.0.2.4"
#define MXOLD  "10 mail.contoso.com."
#define MXNEW  "0 contoso-com.mail.protection.outlook.com."

static void add(struct rows *r, const char *van, uint32_t round, const char *check,
                const char *qname, const char *qtype, const char *server, const char *address,
                enum obs_status st, int64_t ttl, const char *answer, const char *expected,
                const char *site)
{
    struct obs *o = rows_next(r, van, T1 + 600 * (int64_t)(round - 1), round, st, ttl);
    if (st == OBS_REFUSED) /* rows_next gives every answer rcode 0 */
        o->rcode = 5;
    rows_fill(o, "contoso.com", check, qname, qtype, server, address, answer, expected);
    o->match = rows_match(answer, expected);
    o->site = site;
    o->ede = "";
}

/* One round of vantage van: an MX move seen by a resolver behind two
 * sites, the authoritative server, and a delegation moving to new servers
 * (one old server lame). */
static void round_rows(struct rows *r, const char *van, uint32_t round)
{
    const char *q = "contoso.com.";
    bool late = round > 1;
    add(r, van, round, "mx", q, "MX", "r1", "192.0.2.1", OBS_OK, 3600, late ? MXNEW : MXOLD, MXNEW,
        round % 2 ? "pool-a" : "pool-b");
    add(r, van, round, "mx", "mail.contoso.com.", "A", "r1", "192.0.2.1", OBS_OK, 300, "192.0.2.25",
        "", "");
    add(r, van, round, "mx", q, "MX", "r2", "[2001:db8::2]:53", late ? OBS_OK : OBS_TIMEOUT,
        late ? 60 : -1, late ? MXNEW : "", MXNEW, "");
    add(r, van, round, "mx", q, "MX", "auth:ns3.contoso.com", "192.0.2.3", OBS_OK, 3600, MXNEW,
        MXNEW, "");
    add(r, van, round, "spf", q, "TXT", "r1", "192.0.2.1", OBS_OK, 300, "\"v=spf1 -all\"",
        "\"v=spf1 -all\"", "pool-a");
    add(r, van, round, "delegation", q, "NS", "parent:p1", "192.0.2.101", OBS_OK, 172800,
        late ? NEWNS GLUE34 : OLDNS, NEWNS, "");
    add(r, van, round, "delegation", q, "NS", "auth:ns1.old.example", "198.51.100.1", OBS_REFUSED,
        -1, "", "", "");
    add(r, van, round, "delegation", q, "NS", "auth:ns3.contoso.com", "192.0.2.3", OBS_OK, 3600,
        NEWNS GLUE34 " ; aa", "", "");
}

/* The log: two vantages, three rounds each, in the order a merge leaves
 * them. */
static void write_log(void)
{
    static struct rows r;
    r.n = 0;
    for (uint32_t round = 1; round <= 3; round++) {
        round_rows(&r, "probe", round);
        round_rows(&r, "far", round);
    }
    struct csvw w;
    csvw_init(&w);
    csvw_raw(&w, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2);
    for (size_t i = 0; i < r.n; i++)
        obs_write_row(&w, &r.v[i]);
    assert_int_equal(csvw_error(&w), 0);
    FILE *f = fopen(path_of("observations.csv"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(w.buf, 1, w.len, f), w.len);
    assert_int_equal(fclose(f), 0);
    csvw_deinit(&w);
}

/* Opens the log (reading the state when there is a good one), refreshes
 * (which writes the state) and returns the log, still open. */
static struct obslog *open_refreshed(void)
{
    struct obslog *l = NULL;
    char err[512] = "";
    if (obslog_open(dir, 1000, OBSLOG_QUIET, &l, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    if (report_refresh(l, NULL, 0, NULL, NULL, err, sizeof err) != 0)
        fail_msg("refresh: %s", err);
    return l;
}

static char *read_state(size_t *len)
{
    char *s = slurp_path(path_of(".state"), len);
    assert_non_null(s);
    return s;
}

/* Lines of s whose record tag is tag. */
static unsigned count_tag(const char *s, const char *tag)
{
    unsigned n = 0;
    size_t tl = strlen(tag);
    for (const char *p = s; p != NULL && *p;) {
        if (strncmp(p, tag, tl) == 0 && p[tl] == ',')
            n++;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

static void test_save_load_save(void **state)
{
    (void)state;
    write_log();
    struct obslog *l = open_refreshed();
    assert_false(obslog_from_state(l));
    size_t alen, blen;
    char *a = read_state(&alen);
    /* every kind of record is there */
    static const char *const tags[] = {"dnsprop-state",
                                       "log",
                                       "agg",
                                       "s",
                                       "d",
                                       "u",
                                       "c",
                                       "w",
                                       "v",
                                       "x",
                                       "m",
                                       "g",
                                       "p",
                                       "q",
                                       "end"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (count_tag(a, tags[i]) == 0)
            fail_msg("no '%s' record in .state:\n%s", tags[i], a);
    assert_int_equal(count_tag(a, "u"), 2);
    assert_true(count_tag(a, "x") >= 2);

    /* read back, written again: the same bytes */
    struct rep_agg *b = NULL;
    uint64_t covered = 0;
    unsigned lines = 0;
    char err[512] = "";
    assert_int_equal(rep__state_load(l, &b, &covered, &lines), 0);
    assert_non_null(b);
    assert_int_equal(covered, obslog_mark(l));
    assert_int_equal(lines, 1 + 2 * 3 * 8);
    assert_int_equal(b->ndoms, l->agg->ndoms);
    assert_int_equal(b->ndcss, l->agg->ndcss);
    assert_int_equal(b->nsites, l->agg->nsites);
    assert_int_equal(b->nmxs, l->agg->nmxs);
    assert_int_equal(b->ndels, l->agg->ndels);
    assert_int_equal(b->nser, l->agg->nser);
    if (rep__state_save(l, b, err, sizeof err) != 0)
        fail_msg("save: %s", err);
    char *again = read_state(&blen);
    if (alen != blen || memcmp(a, again, alen) != 0)
        fail_msg("written again, .state differs:\n%s\n---\n%s", a, again);
    rep__agg_free(b);
    obslog_close(l);

    /* the next run starts from it and writes it again as it was */
    l = open_refreshed();
    assert_true(obslog_from_state(l));
    obslog_close(l);
    free(again);
    again = read_state(&blen);
    /* the refresh rewrote timeline.csv: only its fingerprint in "agg" and
     * the hash may differ */
    assert_int_equal(count_tag(again, "v"), count_tag(a, "v"));
    assert_int_equal(count_tag(again, "q"), count_tag(a, "q"));
    const char *sa = strstr(a, "\r\ns,"), *sb = strstr(again, "\r\ns,");
    const char *ea = strstr(a, "\r\nend,"), *eb = strstr(again, "\r\nend,");
    assert_non_null(sa);
    assert_non_null(sb);
    assert_int_equal(ea - sa, eb - sb);
    assert_memory_equal(sa, sb, (size_t)(ea - sa));
    free(a);
    free(again);
}

/* Replaces the first line of text starting with `from` by `to` (both
 * without the line end) and makes the hash line right again, so that only
 * the record itself is wrong. */
static char *edit_state(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    assert_non_null(p);
    assert_true(p == text || p[-1] == '\n');
    const char *e = strstr(p, "\r\n");
    assert_non_null(e);
    const char *end = strstr(text, "end,");
    while (end != NULL && end != text && end[-1] != '\n')
        end = strstr(end + 1, "end,");
    assert_non_null(end);
    size_t n = strlen(text) + strlen(to) + 64;
    char *out = malloc(n);
    assert_non_null(out);
    size_t o = 0;
    memcpy(out, text, (size_t)(p - text));
    o = (size_t)(p - text);
    memcpy(out + o, to, strlen(to));
    o += strlen(to);
    memcpy(out + o, e, (size_t)(end - e));
    o += (size_t)(end - e);
    uint64_t h = rep__hash(REP__HASH_INIT, out, o);
    snprintf(out + o, n - o, "end,%llu\r\n", (unsigned long long)h);
    return out;
}

static void put_state(const char *text)
{
    FILE *f = fopen(path_of(".state"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* The first line of text that starts with tag (a record's tag and its
 * comma), without its line end, in a static buffer. */
static const char *line_of(const char *text, const char *tag)
{
    static char buf[4096];
    char prefix[32];
    snprintf(prefix, sizeof prefix, "\r\n%s", tag);
    const char *p = strncmp(text, tag, strlen(tag)) == 0 ? text : strstr(text, prefix);
    assert_non_null(p);
    if (p != text)
        p += 2;
    const char *e = strstr(p, "\r\n");
    assert_true(e != NULL && (size_t)(e - p) < sizeof buf);
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = '\0';
    return buf;
}

static void test_not_misread(void **state)
{
    (void)state;
    write_log();
    struct obslog *l = open_refreshed();
    size_t len;
    char *good = read_state(&len);
    struct rep_agg *b = NULL;
    uint64_t covered;
    unsigned lines;
    assert_int_equal(rep__state_load(l, &b, &covered, &lines), 0);
    rep__agg_free(b);

    /* lines of the good state, and wrong versions of them */
    char dline[256], wline[512], pline[256];
    snprintf(dline, sizeof dline, "%s", line_of(good, "d,"));
    snprintf(wline, sizeof wline, "%s", line_of(good, "w,"));
    snprintf(pline, sizeof pline, "%s", line_of(good, "p,"));
    struct {
        const char *what, *from;
        char to[600];
    } cases[] = {
        {"another version", "dnsprop-state,3", "dnsprop-state,2"},
        {"a field too many", dline, ""},
        {"a field too few", dline, ""},
        {"a string index out of range", dline, "d,99999,,"},
        {"a bad boolean", wline, ""},
        {"an unknown record", dline, "z,1"},
        {"a key seen twice", dline, ""},
        {"a series of 0 rounds a point", pline, ""},
        {"a log of another inode", "log,", ""},
    };
    snprintf(cases[1].to, sizeof cases[1].to, "%s,7", dline);
    snprintf(cases[2].to, sizeof cases[2].to, "%.*s", (int)(strrchr(dline, ',') - dline), dline);
    {
        /* w,dc,van,round,time,servers,conv,stale,errors,pending,auth_mismatch,...:
         * the comma before auth_mismatch is the 10th */
        const char *f = wline;
        for (int i = 0; i < 10; i++) {
            f = strchr(f + 1, ',');
            assert_non_null(f);
        }
        assert_true(strncmp(f, ",yes,", 5) == 0 || strncmp(f, ",no,", 4) == 0);
        snprintf(cases[4].to, sizeof cases[4].to, "%.*s,maybe%s", (int)(f - wline), wline,
                 strchr(f + 1, ','));
    }
    snprintf(cases[6].to, sizeof cases[6].to, "%s\r\n%s", dline, dline);
    /* p,check,van,k with k 0 */
    snprintf(cases[7].to, sizeof cases[7].to, "%.*s,0", (int)(strrchr(pline, ',') - pline), pline);
    {
        /* log,dev,ino,...: another inode */
        const char *lg = line_of(good, "log,");
        const char *ino = strchr(strchr(lg, ',') + 1, ',');
        const char *rest = strchr(ino + 1, ',');
        snprintf(cases[8].to, sizeof cases[8].to, "%.*s,1%s", (int)(ino - lg), lg, rest);
        cases[8].from = strdup(lg);
        assert_non_null(cases[8].from);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = edit_state(good, cases[i].from, cases[i].to);
        assert_string_not_equal(bad, good);
        put_state(bad);
        b = NULL;
        if (rep__state_load(l, &b, &covered, &lines) != DP_EFORMAT)
            fail_msg("%s: read:\n%s", cases[i].what, bad);
        assert_null(b);
        free(bad);
    }
    free((char *)(uintptr_t)cases[8].from);
    /* a broken hash */
    char *bad = strdup(good);
    char *d = strstr(bad, "\r\nd,");
    assert_non_null(d);
    d[4] = d[4] == '0' ? '1' : '0';
    put_state(bad);
    assert_int_equal(rep__state_load(l, &b, &covered, &lines), DP_EFORMAT);
    free(bad);
    /* and the unchanged text again is read */
    put_state(good);
    assert_int_equal(rep__state_load(l, &b, &covered, &lines), 0);
    rep__agg_free(b);
    obslog_close(l);

    /* a run with a state it cannot read reads the whole log instead, and
     * reports what a rebuild reports */
    bad = edit_state(good, "dnsprop-state,3", "dnsprop-state,2");
    put_state(bad);
    free(bad);
    l = open_refreshed();
    assert_false(obslog_from_state(l));
    obslog_close(l);
    size_t n1, n2;
    char *conv = slurp_path(path_of("convergence.csv"), &n1);
    assert_non_null(conv);
    char err[512] = "";
    if (report_rebuild(dir, 1000, NULL, NULL, err, sizeof err) != 0)
        fail_msg("rebuild: %s", err);
    char *conv2 = slurp_path(path_of("convergence.csv"), &n2);
    assert_non_null(conv2);
    assert_int_equal(n1, n2);
    assert_memory_equal(conv, conv2, n1);
    free(conv);
    free(conv2);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_load_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_misread, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* again with the state written out in pieces of 64 bytes, as a state
     * of thousands of domains is (1 MiB pieces): the same files, the seal
     * hashed across the pieces */
    rep__csvw_piece = 64;
    return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
