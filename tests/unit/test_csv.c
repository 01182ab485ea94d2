/* Unit tests for the CSV writer and reader (reports/csv.c) and the
 * observation row format (reports/row.c). */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <csv.h>

#include "reports.h"

/* Writes one field, returns the row text (static buffer) without CRLF. */
static const char *one(const char *s, size_t len)
{
    static char out[1024];
    struct csvw w;
    csvw_init(&w);
    csvw_field(&w, s, len);
    csvw_end(&w);
    assert_int_equal(csvw_error(&w), 0);
    assert_true(w.len >= 2 && w.len < sizeof out);
    assert_memory_equal(w.buf + w.len - 2, "\r\n", 2);
    memcpy(out, w.buf, w.len - 2);
    out[w.len - 2] = '\0';
    csvw_deinit(&w);
    return out;
}

static void test_quoting(void **state)
{
    (void)state;
    assert_string_equal(one("plain", 5), "plain");
    assert_string_equal(one("a,b", 3), "\"a,b\"");
    assert_string_equal(one("say \"hi\"", 8), "\"say \"\"hi\"\"\"");
    assert_string_equal(one(" lead", 5), "\" lead\"");
    assert_string_equal(one("", 0), "");
    assert_string_equal(one(NULL, 0), "");
    /* backslashes stay as they are: DNS text is already zone-file escaped */
    assert_string_equal(one("a\\b\\092", 7), "a\\b\\092");
    assert_string_equal(one("a\\\"b", 4), "\"a\\\"\"b\"");
}

static void test_escape_non_ascii(void **state)
{
    (void)state;
    assert_string_equal(one("caf\xc3\xa9", 5), "caf\\195\\169");
    assert_string_equal(one("a\nb\r\n", 5), "a\\010b\\013\\010");
    assert_string_equal(one("x\0y", 3), "x\\000y");
    assert_string_equal(one("\x7f", 1), "\\127");
}

static void test_formula_prefix(void **state)
{
    (void)state;
    assert_string_equal(one("=2+5.attacker.example.", 22), "'=2+5.attacker.example.");
    assert_string_equal(one("@x", 2), "'@x");
    assert_string_equal(one("-1", 2), "'-1");
    assert_string_equal(one("+x", 2), "'+x");
    assert_string_equal(one("'quoted", 7), "''quoted");
    /* TAB and CR become \009 and \013 first: no formula can start */
    assert_string_equal(one("\tx", 2), "\\009x");
    assert_string_equal(one("\rx", 2), "\\013x");
    /* a prefixed field that also needs quotes */
    assert_string_equal(one("=a,b", 4), "\"'=a,b\"");
    assert_string_equal(one("x=1", 3), "x=1");
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const vals[] = {
        "plain", "a,b", "\"q\"",       "=2+5.attacker.example.",
        "@",     "-",   "+",           "'",
        "''",    "'=",  "back\\slash", "\"v=spf1 include:spf.protection.outlook.com -all\"",
        " x ",   "",    "a \"\" b,,",  "=HYPERLINK(\"http://x\")",
    };
    size_t n = sizeof vals / sizeof vals[0];
    struct csvw w;
    struct csvr r;
    const char *why;
    csvw_init(&w);
    csvr_init(&r);
    for (size_t i = 0; i < n; i++)
        csvw_str(&w, vals[i]);
    csvw_end(&w);
    assert_int_equal(csvw_error(&w), 0);
    assert_int_equal(csvr_split(&r, w.buf, w.len - 1, &why), (int)n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(r.f[i], vals[i]);
        assert_int_equal(r.len[i], strlen(vals[i]));
    }
    /* non-ASCII goes to its zone-file form, a fixed point from then on */
    csvw_clear(&w);
    csvw_str(&w, "a\nb\xff");
    csvw_end(&w);
    assert_int_equal(csvr_split(&r, w.buf, w.len - 1, &why), 1);
    assert_string_equal(r.f[0], "a\\010b\\255");
    csvw_deinit(&w);
    csvr_deinit(&r);
}

static void test_reader_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"open", "a\"b", "\"a\"b", "caf\xc3\xa9", "a\tb",
    };
    struct csvr r;
    const char *why;
    csvr_init(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(csvr_split(&r, bad[i], strlen(bad[i]), &why), DP_EINPUT);
        assert_non_null(why);
    }
    assert_int_equal(csvr_split(&r, "a,", 2, &why), 2);
    assert_string_equal(r.f[1], "");
    /* quoted fields: read up to each quote at once; every byte before it
     * judged, at every place of a long field */
    char q[80];
    for (size_t at = 1; at < 60; at++) {
        for (int k = 0; k < 3; k++) {
            memset(q, 'x', 62);
            q[0] = '"';
            q[61] = '"';
            q[at] = "\t\x7f\x80"[k];
            assert_int_equal(csvr_split(&r, q, 62, &why), DP_EINPUT);
            assert_string_equal(why, "a byte that is not printable ASCII");
            /* unterminated, with a bad byte: the byte is named */
            assert_int_equal(csvr_split(&r, q, 61, &why), DP_EINPUT);
            assert_string_equal(why, "a byte that is not printable ASCII");
        }
        q[at] = '"';
        q[at + 1] = '"'; /* a doubled quote inside: one quote of the text */
        assert_int_equal(csvr_split(&r, q, 62, &why), 1);
        assert_int_equal(r.len[0], 59);
        assert_int_equal(r.f[0][at - 1], '"');
        assert_int_equal(r.f[0][at], at < 59 ? 'x' : '\0');
        assert_int_equal(csvr_split(&r, q, 61, &why), DP_EINPUT);
        assert_string_equal(why, "unterminated quoted field");
    }
    assert_int_equal(csvr_split(&r, "\"a,\"\"b\",\"\",c", 12, &why), 3);
    assert_string_equal(r.f[0], "a,\"b");
    assert_string_equal(r.f[1], "");
    assert_string_equal(r.f[2], "c");
    assert_int_equal(csvr_split(&r, "", 0, &why), 1);
    char many[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "x,");
    assert_int_equal(csvr_split(&r, many, strlen(many), &why), DP_EINPUT);
    csvr_deinit(&r);
}

/* csvr_split judges unquoted fields 8 bytes at a time: every special byte at
 * every place of long and short fields (and of the word) must be judged as
 * the bytewise reading would. */
static void test_reader_word_positions(void **state)
{
    (void)state;
    static const unsigned char special[] = {',', '"', 0x1f, 0x01, 0x7f, 0x80, 0xff, '\t'};
    struct csvr r;
    const char *why;
    char line[64];
    csvr_init(&r);
    for (size_t len = 1; len < 40; len++) {
        for (size_t at = 1; at < len; at++) {
            for (size_t k = 0; k < sizeof special; k++) {
                for (size_t i = 0; i < len; i++)
                    line[i] = (char)('a' + (i % 26));
                line[at] = (char)special[k];
                int n = csvr_split(&r, line, len, &why);
                if (special[k] == ',') {
                    assert_int_equal(n, 2);
                    assert_int_equal(r.len[0], at);
                    assert_int_equal(r.len[1], len - at - 1);
                    assert_memory_equal(r.f[0], line, at);
                    assert_memory_equal(r.f[1], line + at + 1, len - at - 1);
                    assert_int_equal(r.f[1][len - at - 1], '\0');
                } else if (special[k] == '"') {
                    assert_int_equal(n, DP_EINPUT);
                    assert_string_equal(why, "a quote inside an unquoted field");
                } else {
                    assert_int_equal(n, DP_EINPUT);
                    assert_string_equal(why, "a byte that is not printable ASCII");
                }
            }
            /* all clean, a comma after a long field, then a second field */
            for (size_t i = 0; i < len; i++)
                line[i] = (char)(0x20 + (i * 7) % 0x5f);
            for (size_t i = 0; i < len; i++)
                if (line[i] == ',' || line[i] == '"')
                    line[i] = 'x';
            if (line[0] == '\'')
                line[0] = 'y';
            assert_int_equal(csvr_split(&r, line, len, &why), 1);
            assert_int_equal(r.len[0], len);
            assert_memory_equal(r.f[0], line, len);
        }
    }
    csvr_deinit(&r);
}

/* The tests' own pseudo-random numbers (a linear congruential generator:
 * the same sequence on every machine, so a failure repeats) and a text of
 * len bytes drawn from alphabet[0..n-1]. */
static unsigned lcg(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed;
}

static void lcg_text(char *out, size_t len, const char *alphabet, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[(lcg(seed) >> 16) % n];
}

/* A line with no quote and only printable ASCII is split at its commas 8
 * bytes at a time; the same line with a quoted field after it goes through
 * the general loop. Both must give the same fields (the ' prefix, empty
 * fields, a trailing comma, CSVR_MAX_FIELDS) and refuse the same lines. */
static void test_reader_plain_lines(void **state)
{
    (void)state;
    static const char alphabet[] = {'a', 'b', ',', ',', '\'', ' ', '=', '9', 'Z', '~'};
    struct csvr plain, general;
    const char *why;
    char line[200], longer[210];
    unsigned seed = 12345;
    csvr_init(&plain);
    csvr_init(&general);
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (lcg(&seed) >> 8) % 90;
        lcg_text(line, len, alphabet, sizeof alphabet, &seed);
        /* now and then a byte the plain path must leave to the general one */
        unsigned v = lcg(&seed);
        if (len > 0 && (v >> 8) % 8 == 0)
            line[(v >> 12) % len] = "\"\t\x7f\x80"[(v >> 20) % 4];
        bool clean = memchr(line, '"', len) == NULL;
        for (size_t i = 0; i < len; i++)
            clean = clean && (unsigned char)line[i] >= 0x20 && (unsigned char)line[i] <= 0x7e;
        memcpy(longer, line, len);
        memcpy(longer + len, ",\"q\"", 4);
        int n = csvr_split(&plain, line, len, &why);
        int m = csvr_split(&general, longer, len + 4, &why);
        if (!clean) {
            assert_true(n < 0);
            continue;
        }
        if (m < 0) {
            /* too many fields with the quoted one: only the plain line's own
             * count says */
            size_t commas = 0;
            for (size_t i = 0; i < len; i++)
                commas += line[i] == ',';
            assert_int_equal(n, commas + 1 <= CSVR_MAX_FIELDS ? (int)commas + 1 : DP_EINPUT);
            continue;
        }
        assert_int_equal(n, m - 1);
        for (int i = 0; i < n; i++) {
            assert_int_equal(plain.len[i], general.len[i]);
            assert_memory_equal(plain.f[i], general.f[i], plain.len[i] + 1);
        }
    }
    /* exactly CSVR_MAX_FIELDS plain fields, and one more */
    size_t o = 0;
    for (int i = 0; i < CSVR_MAX_FIELDS - 1; i++)
        line[o++] = 'x', line[o++] = ',';
    line[o++] = '\'';
    assert_int_equal(csvr_split(&plain, line, o, &why), CSVR_MAX_FIELDS);
    assert_int_equal(plain.len[CSVR_MAX_FIELDS - 1], 0);
    line[o++] = ',';
    assert_int_equal(csvr_split(&plain, line, o, &why), DP_EINPUT);
    assert_string_equal(why, "too many fields");
    /* a CR at the end is dropped, one elsewhere refused */
    assert_int_equal(csvr_split(&plain, "a,b\r", 4, &why), 2);
    assert_string_equal(plain.f[1], "b");
    assert_int_equal(csvr_split(&plain, "a\r,b", 4, &why), DP_EINPUT);
    csvr_deinit(&plain);
    csvr_deinit(&general);
}

/* The writer's rule spelled out again, independently: every byte outside
 * 0x20..0x7e as \DDD, one ' before a leading = + - @ TAB CR ', and libcsv's
 * csv_write quoting when the text holds a comma or a quote or starts or
 * ends with a space. Returns the field's length in out. */
static size_t reference_field(const char *s, size_t len, char *out, size_t outlen)
{
    char esc[1024];
    size_t t = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7e)
            esc[t++] = (char)c;
        else
            t += (size_t)snprintf(esc + t, sizeof esc - t, "\\%03u", c);
    }
    if (t > 0 && strchr("=+-@\t\r'", esc[0]) != NULL) {
        memmove(esc + 1, esc, t);
        esc[0] = '\'';
        t++;
    }
    bool quote = t > 0 && (memchr(esc, ',', t) != NULL || memchr(esc, '"', t) != NULL ||
                           esc[0] == ' ' || esc[t - 1] == ' ');
    if (!quote) {
        memcpy(out, esc, t);
        return t;
    }
    return csv_write(out, outlen, esc, t);
}

/* Random fields, most of them plain, some with every kind of byte the slow
 * path must see (at the start, the end, inside a word of eight, in the
 * bytewise tail): the writer gives exactly the reference's bytes, and a row
 * of them reads back as the fields were. */
static void test_writer_fast_path(void **state)
{
    (void)state;
    static const char plain[] = "abcxyz.09:;_/|!#$%&()*<>?[]^`{}~ABZ";
    static const char special[] = {',',  '"',  ' ',  '=',  '+',  '-',        '@',        '\t',
                                   '\r', '\'', '\n', '\0', 0x7f, (char)0x80, (char)0xff, '\\'};
    char f[4][80], want[1200];
    size_t flen[4];
    unsigned seed = 4242;
    struct csvw w;
    struct csvr r;
    const char *why;
    csvw_init(&w);
    csvr_init(&r);
    for (int iter = 0; iter < 50000; iter++) {
        size_t o = 0;
        csvw_clear(&w);
        for (int k = 0; k < 4; k++) {
            size_t len = (lcg(&seed) >> 8) % 40;
            lcg_text(f[k], len, plain, sizeof plain - 1, &seed);
            unsigned pick = (lcg(&seed) >> 8) % 4;
            if (len > 0 && pick != 0) {
                /* one special byte: first, last or anywhere */
                unsigned v = lcg(&seed);
                size_t at = pick == 1 ? 0 : pick == 2 ? len - 1 : (v >> 12) % len;
                f[k][at] = special[(v >> 20) % sizeof special];
            }
            flen[k] = len;
            csvw_field(&w, f[k], len);
            if (k > 0)
                want[o++] = ',';
            o += reference_field(f[k], len, want + o, sizeof want - o);
        }
        csvw_end(&w);
        want[o++] = '\r';
        want[o++] = '\n';
        assert_int_equal(csvw_error(&w), 0);
        assert_int_equal(w.len, o);
        assert_memory_equal(w.buf, want, o);
        /* fields of printable bytes read back as they were */
        int n = csvr_split(&r, w.buf, w.len - 1, &why);
        assert_int_equal(n, 4);
        for (int k = 0; k < 4; k++) {
            bool printable = true;
            for (size_t i = 0; i < flen[k]; i++)
                printable =
                    printable && (unsigned char)f[k][i] >= 0x20 && (unsigned char)f[k][i] <= 0x7e;
            if (printable) {
                assert_int_equal(r.len[k], flen[k]);
                assert_memory_equal(r.f[k], f[k], flen[k]);
            }
        }
    }
    /* times in random order, many on the same day, some past 9999: the
     * text dp_format_time gives */
    for (int iter = 0; iter < 20000; iter++) {
        lcg(&seed);
        int64_t t = (int64_t)1795000000 + (int64_t)((seed >> 8) % 200000);
        if (iter % 50 == 0)
            t = (int64_t)253402300799 + (int64_t)((seed >> 8) % 3) - 1; /* around 9999-12-31 */
        if (iter % 77 == 0)
            t = (int64_t)((seed >> 4) % 400000);
        char b[DP_TIME_BUFLEN];
        dp_format_time(t, b);
        csvw_clear(&w);
        csvw_time(&w, t);
        assert_int_equal(w.len, 19);
        assert_memory_equal(w.buf, b, 19);
    }
    /* numbers, times and booleans, written without the general path, are
     * the bytes csvw_field gives for their text */
    csvw_clear(&w);
    csvw_uint(&w, 0);
    csvw_uint(&w, UINT64_MAX);
    csvw_time(&w, 0);
    csvw_time(&w, 1795000000);
    csvw_bool(&w, true);
    csvw_bool(&w, false);
    csvw_opt(&w, -1);
    csvw_end(&w);
    static const char row[] = "0,18446744073709551615,1970-01-01 00:00:00,2026-11-18 "
                              "11:06:40,yes,no,\r\n";
    assert_int_equal(w.len, sizeof row - 1);
    assert_memory_equal(w.buf, row, sizeof row - 1);
    csvr_deinit(&r);
    csvw_deinit(&w);
}

/* Every byte value, alone and as the first, a middle and the last byte of
 * a field of every length to 40 (each way of judging a field: one to
 * three bytes by their class, four to seven, eight to sixteen, and sixteen
 * at a time), written as the row's first field and after one: the bytes
 * the reference gives, through csvw_field, csvw_str (no NUL there) and
 * csvw_strs. */
static void test_writer_every_byte(void **state)
{
    (void)state;
    static const char plain[] = "abcxyz.09:;_/|!#$%&()*<>?[]^`{}~ABZ";
    char f[48], want[512], str[48];
    unsigned seed = 77;
    struct csvw w, ws, wv;
    csvw_init(&w);
    csvw_init(&ws);
    csvw_init(&wv);
    for (unsigned c = 0; c < 256; c++) {
        for (size_t len = 1; len <= 40; len++) {
            size_t at[3] = {0, len / 2, len - 1};
            for (int k = 0; k < 3; k++) {
                /* plain bytes around it */
                lcg_text(f, len, plain, sizeof plain - 1, &seed);
                f[at[k]] = (char)c;
                for (int first = 0; first < 2; first++) {
                    size_t o = 0;
                    csvw_clear(&w);
                    csvw_clear(&ws);
                    csvw_clear(&wv);
                    if (!first) {
                        csvw_field(&w, "x", 1);
                        csvw_str(&ws, "x");
                        const char *x = "x";
                        csvw_strs(&wv, &x, 1);
                        want[o++] = 'x';
                        want[o++] = ',';
                    }
                    csvw_field(&w, f, len);
                    o += reference_field(f, len, want + o, sizeof want - o);
                    assert_int_equal(csvw_error(&w), 0);
                    assert_int_equal(w.len, o);
                    assert_memory_equal(w.buf, want, o);
                    if (c == 0)
                        continue;
                    memcpy(str, f, len);
                    str[len] = '\0';
                    csvw_str(&ws, str);
                    const char *v = str;
                    csvw_strs(&wv, &v, 1);
                    assert_int_equal(ws.len, o);
                    assert_memory_equal(ws.buf, want, o);
                    assert_int_equal(wv.len, o);
                    assert_memory_equal(wv.buf, want, o);
                }
            }
        }
    }
    csvw_deinit(&w);
    csvw_deinit(&ws);
    csvw_deinit(&wv);
}

/* csvw_strs writes what csvw_str writes field by field: rows of 0 to 40
 * fields (more than it measures at once), some NULL or empty, some that
 * need escaping, a prefix or quotes anywhere in the row, the rows after
 * one another in one buffer that grows as they come. */
static void test_writer_strs(void **state)
{
    (void)state;
    static const char plain[] = "abcxyz.09:;_/|!#$%&()*<>?[]^`{}~ABZ";
    static const char special[] = {',',  '"',  ' ',  '=',  '+',        '-',        '@', '\t',
                                   '\r', '\'', '\n', 0x7f, (char)0x80, (char)0xff, '\\'};
    char text[40][48];
    const char *v[40];
    unsigned seed = 99;
    struct csvw one_by_one, all;
    csvw_init(&one_by_one);
    csvw_init(&all);
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = (lcg(&seed) >> 8) % 41;
        for (size_t i = 0; i < n; i++) {
            size_t len = (lcg(&seed) >> 8) % 40;
            unsigned pick = (lcg(&seed) >> 8) % 16;
            lcg_text(text[i], len, plain, sizeof plain - 1, &seed);
            text[i][len] = '\0';
            if (len > 0 && pick < 2) {
                unsigned r = lcg(&seed);
                text[i][(r >> 12) % len] = special[(r >> 20) % sizeof special];
            }
            v[i] = pick == 2 ? NULL : text[i];
        }
        if (iter % 3 == 0) {
            csvw_uint(&one_by_one, (uint64_t)iter);
            csvw_uint(&all, (uint64_t)iter);
        }
        for (size_t i = 0; i < n; i++)
            csvw_str(&one_by_one, v[i]);
        csvw_strs(&all, v, n);
        csvw_end(&one_by_one);
        csvw_end(&all);
    }
    assert_int_equal(csvw_error(&all), 0);
    assert_true(all.escaped && one_by_one.escaped);
    assert_int_equal(all.len, one_by_one.len);
    assert_memory_equal(all.buf, one_by_one.buf, all.len);
    csvw_deinit(&one_by_one);
    csvw_deinit(&all);
}

static void test_time_bool_opt(void **state)
{
    (void)state;
    struct csvw w;
    csvw_init(&w);
    csvw_time(&w, 1795996800); /* 2026-11-30 00:00:00 */
    csvw_time(&w, -1);
    csvw_bool(&w, true);
    csvw_bool(&w, false);
    csvw_opt(&w, -1);
    csvw_opt(&w, 0);
    csvw_uint(&w, 4294967296ULL);
    csvw_end(&w);
    assert_int_equal(w.len, strlen("2026-11-30 00:00:00,,yes,no,,0,4294967296\r\n"));
    assert_memory_equal(w.buf, "2026-11-30 00:00:00,,yes,no,,0,4294967296\r\n", w.len);
    csvw_deinit(&w);
}

/* csvw_uint, two digits at a time, writes the decimal text snprintf gives:
 * every number below 200,000, each power of ten and its neighbours, and
 * pseudo-random numbers of every length, each after a field so the comma
 * is checked too */
static void test_uint_digits(void **state)
{
    (void)state;
    struct csvw w;
    csvw_init(&w);
    uint64_t seed = 0x9e3779b97f4a7c15ULL, p10 = 1;
    for (uint64_t i = 0; i < 200000 + 3 * 20 + 20000; i++) {
        uint64_t v;
        if (i < 200000) {
            v = i;
        } else if (i < 200000 + 3 * 20) {
            uint64_t k = (i - 200000) % 3;
            v = p10 + k - 1; /* 10^n - 1, 10^n, 10^n + 1 */
            if (k == 2)
                p10 = p10 > UINT64_MAX / 10 ? UINT64_MAX : p10 * 10;
        } else {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v = seed >> (seed % 64); /* every length of number */
        }
        char want[32];
        int n = snprintf(want, sizeof want, "x,%llu\r\n", (unsigned long long)v);
        csvw_clear(&w);
        csvw_str(&w, "x");
        csvw_uint(&w, v);
        csvw_end(&w);
        assert_int_equal(w.len, (size_t)n);
        assert_memory_equal(w.buf, want, (size_t)n);
    }
    csvw_deinit(&w);
}

static struct obs sample(void)
{
    struct obs o = {
        .time = 1795996800,
        .vantage = "=cmd|' /C calc'!A0",
        .round = 7,
        .domain = "contoso.com",
        .check = "autodiscover",
        .qname = "autodiscover.contoso.com.",
        .qtype = "CNAME",
        .server = "google-a",
        .address = "[2001:db8::1]:5353",
        .tcp = true,
        .status = OBS_OK,
        .rcode = 0,
        .latency_ms = 12,
        .ttl = 3600,
        .answer = "=2+5.attacker.example.",
        .expected = "\"a,b\" \"c\\\"d\" | \"e\\092f\"",
        .match = OBS_MATCH_NO,
        .site = "-fra1 \\ b",
        .ede = "3;22",
    };
    return o;
}

static void assert_obs_equal(const struct obs *a, const struct obs *b)
{
    assert_int_equal(a->time, b->time);
    assert_string_equal(a->vantage, b->vantage);
    assert_int_equal(a->round, b->round);
    assert_string_equal(a->domain, b->domain);
    assert_string_equal(a->check, b->check);
    assert_string_equal(a->qname, b->qname);
    assert_string_equal(a->qtype, b->qtype);
    assert_string_equal(a->server, b->server);
    assert_string_equal(a->address, b->address);
    assert_int_equal(a->tcp, b->tcp);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->rcode, b->rcode);
    assert_int_equal(a->latency_ms, b->latency_ms);
    assert_int_equal(a->ttl, b->ttl);
    assert_string_equal(a->answer, b->answer);
    assert_string_equal(a->expected, b->expected);
    assert_int_equal(a->match, b->match);
    assert_string_equal(a->site ? a->site : "", b->site);
    assert_string_equal(a->ede ? a->ede : "", b->ede);
}

static void test_obs_row_round_trip(void **state)
{
    (void)state;
    struct obs o = sample(), back;
    struct csvw w;
    struct csvr r;
    char why[200];
    csvw_init(&w);
    csvr_init(&r);
    obs_write_row(&w, &o);
    assert_int_equal(csvw_error(&w), 0);
    assert_memory_equal(w.buf + w.len - 2, "\r\n", 2);
    assert_null(memchr(w.buf, '\n', w.len - 1));
    assert_int_equal(obs_parse_line(&r, w.buf, w.len - 1, &back, why, sizeof why), 0);
    assert_obs_equal(&o, &back);
    /* no reply: empty rcode, latency, ttl, match */
    o.status = OBS_TIMEOUT;
    o.rcode = -1;
    o.latency_ms = -1;
    o.ttl = -1;
    o.answer = "";
    o.match = OBS_MATCH_NONE;
    o.tcp = false;
    o.site = NULL;
    o.ede = "";
    csvw_clear(&w);
    obs_write_row(&w, &o);
    assert_non_null(strstr(w.buf, ",udp,timeout,,,,,"));
    assert_memory_equal(w.buf + w.len - 4, ",,\r\n", 4); /* site, ede empty at the end */
    assert_int_equal(obs_parse_line(&r, w.buf, w.len - 1, &back, why, sizeof why), 0);
    assert_obs_equal(&o, &back);
    /* rcodes as mnemonics, a number where there is none */
    static const struct {
        int rc;
        const char *name;
    } rcs[] = {{0, ",NOERROR,"}, {2, ",SERVFAIL,"}, {3, ",NXDOMAIN,"}, {5, ",REFUSED,"},
               {1, ",FORMERR,"}, {4, ",NOTIMPL,"},  {15, ",15,"}};
    for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
        o.rcode = rcs[i].rc;
        csvw_clear(&w);
        obs_write_row(&w, &o);
        assert_non_null(strstr(w.buf, rcs[i].name));
        assert_int_equal(obs_parse_line(&r, w.buf, w.len - 1, &back, why, sizeof why), 0);
        assert_int_equal(back.rcode, rcs[i].rc);
    }
    csvw_deinit(&w);
    csvr_deinit(&r);
}

static void test_obs_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,", NULL},
        {"2026-11-30 00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,", "bad time_utc"},
        {"2026-11-30 00:00:00,h,0,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,", "bad round"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,sctp,ok,NOERROR,1,1,x,,,,", "bad transport"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,fine,NOERROR,1,1,x,,,,", "bad status"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOPE,1,1,x,,,,", "bad rcode"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,3,1,1,x,,,,", "bad rcode"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,'-1,1,x,,,,", "bad latency_ms"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1x,x,,,,", "bad ttl"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,maybe,,", "bad match"},
        {"2026-11-30 00:00:00,h,1,,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,", "bad domain"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,", "17 fields, want 19"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,fra1,3", NULL},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,fra1,3;22;0;65535", NULL},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,65536", "bad ede"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,03", "bad ede"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,3;", "bad ede"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,3 22", "bad ede"},
        {"2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,,,'-3", "bad ede"},
    };
    struct csvr r;
    struct obs o;
    char why[200];
    csvr_init(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = obs_parse_line(&r, bad[i].line, strlen(bad[i].line), &o, why, sizeof why);
        if (bad[i].why == NULL) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, DP_EINPUT);
            assert_non_null(strstr(why, bad[i].why));
        }
    }
    /* a log of the older form: 17 fields exactly, site and ede empty */
    const char *v1 = "2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,yes";
    assert_int_equal(obs_parse_line_cols(&r, v1, strlen(v1), OBS_NCOLUMNS_V1, &o, why, sizeof why),
                     0);
    assert_int_equal(o.match, OBS_MATCH_YES);
    assert_string_equal(o.site, "");
    assert_string_equal(o.ede, "");
    const char *v2 = "2026-11-30 00:00:00,h,1,d,mx,q.,MX,s,a,udp,ok,NOERROR,1,1,x,,yes,fra1,3";
    assert_int_equal(obs_parse_line_cols(&r, v2, strlen(v2), OBS_NCOLUMNS_V1, &o, why, sizeof why),
                     DP_EINPUT);
    assert_non_null(strstr(why, "19 fields, want 17"));
    assert_int_equal(obs_parse_line(&r, v2, strlen(v2), &o, why, sizeof why), 0);
    assert_string_equal(o.site, "fra1");
    assert_string_equal(o.ede, "3");
    assert_int_equal(obs_parse_line_cols(&r, v2, strlen(v2), 18, &o, why, sizeof why), DP_EINPUT);
    /* written in the older form: no site, no ede, whatever the row holds */
    struct csvw w;
    csvw_init(&w);
    struct obs s = sample();
    obs_write_row_cols(&w, &s, OBS_NCOLUMNS_V1);
    assert_int_equal(
        obs_parse_line_cols(&r, w.buf, w.len - 2, OBS_NCOLUMNS_V1, &o, why, sizeof why), 0);
    assert_null(memmem(w.buf, w.len, "fra1", 4));
    csvw_deinit(&w);
    csvr_deinit(&r);
}

/* The parser remembers the last good time field: the same text gives the
 * same time, another text is parsed afresh, a bad one is still refused. */
static void test_obs_time_memory(void **state)
{
    (void)state;
    static const char *const tail =
        ",paris,1,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,ok,NOERROR,1,300,0 a.,,,,";
    static const char *const times[] = {"2026-11-30 00:00:00", "2026-11-30 00:00:00",
                                        "2026-11-30 00:10:00", "2026-11-30 00:10:0x",
                                        "2026-11-30 00:10:00", "2026-11-31 00:10:00"};
    static const int64_t want[] = {1795996800, 1795996800, 1795997400, -1, 1795997400, -1};
    struct csvr r;
    csvr_init(&r);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char line[300], why[200];
        struct obs o;
        snprintf(line, sizeof line, "%s%s", times[i], tail);
        int rc = obs_parse_line(&r, line, strlen(line), &o, why, sizeof why);
        if (want[i] < 0) {
            assert_int_equal(rc, DP_EINPUT);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(o.time, want[i]);
        }
    }
    csvr_deinit(&r);
}

static void test_obs_print(void **state)
{
    (void)state;
    struct obs o = sample();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(obs_print(f, &o, true), 0);
    fclose(f);
    assert_int_equal(strncmp(buf, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2), 0);
    assert_non_null(strstr(buf, ",'=2+5.attacker.example.,"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),           cmocka_unit_test(test_escape_non_ascii),
        cmocka_unit_test(test_formula_prefix),    cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_reader_refuses),    cmocka_unit_test(test_reader_word_positions),
        cmocka_unit_test(test_time_bool_opt),     cmocka_unit_test(test_obs_row_round_trip),
        cmocka_unit_test(test_obs_bad_values),    cmocka_unit_test(test_obs_print),
        cmocka_unit_test(test_obs_time_memory),   cmocka_unit_test(test_reader_plain_lines),
        cmocka_unit_test(test_writer_fast_path),  cmocka_unit_test(test_uint_digits),
        cmocka_unit_test(test_writer_every_byte), cmocka_unit_test(test_writer_strs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
