/* Unit tests for common/: durations, times, numbers, escaping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dnsprop.h"

static void test_duration_good(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t ms;
    } cases[] = {
        {"500ms", 500},       {"30s", 30000},
        {"10m", 600000},      {"72h", 259200000ULL},
        {"3d", 259200000ULL}, {"1h30m", 5400000ULL},
        {"1m30s", 90000},     {"2s500ms", 2500},
        {"1ms", 1},           {"3650d", 315360000000ULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ms = 0;
        assert_int_equal(dp_parse_duration(cases[i].in, &ms), 0);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",     "-5m",  "10x",   "99999999999d",           "10",     "m",    "1.5h", " 10m", "10m ",
        "0s",   "0ms",  "3651d", "18446744073709551616ms", "30s10m", "1h1h", "10M",  "+5m",  "5 m",
        "1msx", "1sms",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 42;
        int rc = dp_parse_duration(bad[i], &ms);
        if (rc != DP_EINPUT)
            fail_msg("duration '%s' accepted", bad[i]);
        assert_int_equal(ms, 42);
    }
    assert_int_equal(dp_parse_duration(NULL, &(uint64_t){0}), DP_EINPUT);
}

static void test_time_good(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t t;
    } cases[] = {
        {"1970-01-01 00:00", 0},
        {"2026-11-29 18:16", 1795976160},
        {"2026-11-29 18:16:36", 1795976196},
        {"2026-11-29T18:16:36Z", 1795976196},
        {"2026-11-29T18:16:36", 1795976196},
        {"2026-11-29T19:16:36+01:00", 1795976196},
        {"2026-11-29T13:16:36-0500", 1795976196},
        {"2026-11-29T18:16:36.123Z", 1795976196},
        {"2024-02-29 12:00", 1709208000},
        {"2000-02-29 00:00:00", 951782400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = -1;
        if (dp_parse_time(cases[i].in, 0, &t) != 0)
            fail_msg("time '%s' refused", cases[i].in);
        assert_int_equal(t, cases[i].t);
    }
    int64_t t = 0;
    assert_int_equal(dp_parse_time("now", 12345, &t), 0);
    assert_int_equal(t, 12345);
}

static void test_time_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "yesterday",
        "2026-13-01 00:00",
        "2026-02-29 00:00",
        "1900-02-29 00:00",
        "2026-11-31 10:00",
        "2026-11-29 24:00",
        "2026-11-29 23:60",
        "2026-11-29",
        "2026-11-29 18:16:36Z",
        "2026-11-29T18:16:36+25:00",
        "2026-11-29T18:16:36X",
        "2026-1-29 18:16",
        "2026-11-29 18:16:",
        "1969-12-31 23:59",
        "NOW",
        "2026-11-29T18:16:36.Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 7;
        if (dp_parse_time(bad[i], 0, &t) != DP_EINPUT)
            fail_msg("time '%s' accepted", bad[i]);
        assert_int_equal(t, 7);
    }
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    char buf[DP_TIME_BUFLEN];
    for (int64_t t = 0; t < 4102444800LL; t += 86400 * 37 + 3671) {
        dp_format_time(t, buf);
        int64_t back = -1;
        assert_int_equal(dp_parse_time_exact(buf, strlen(buf), &back), 0);
        assert_int_equal(back, t);
    }
    assert_string_equal(dp_format_time(1795976196, buf), "2026-11-29 18:16:36");
    int64_t t;
    assert_int_equal(dp_parse_time_exact("now", 3, &t), DP_EINPUT);
    assert_int_equal(dp_parse_time_exact("2026-11-29T18:16:36", 19, &t), DP_EINPUT);
}

static void test_uint(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(dp_parse_uint("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(dp_parse_uint("65535", 1, 65535, &v), 0);
    assert_int_equal(v, 65535);
    assert_int_equal(dp_parse_uint("65536", 1, 65535, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("0", 1, 65535, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("-1", 0, 10, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("+1", 0, 10, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("1a", 0, 10, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("", 0, 10, &v), DP_EINPUT);
    assert_int_equal(dp_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), DP_EINPUT);
}

static void test_escape(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(dp_escape("a\nb\\c\x80", 6, buf, sizeof buf), "a\\010b\\092c\\128");
    assert_string_equal(dp_escape("abcdef", 6, buf, 4), "abc");
    assert_string_equal(dp_escape("\x01", 1, buf, 4), "");
    assert_string_equal(dp_strerror(DP_EINPUT), "bad input");
}

static void test_grow(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t cap = 0;
    assert_int_equal(dp_grow((void **)&buf, &cap, 0, 1), 0);
    assert_int_equal(cap, 16);
    assert_int_equal(dp_grow((void **)&buf, &cap, 15, 1), 0);
    assert_int_equal(cap, 16); /* room already */
    assert_int_equal(dp_grow((void **)&buf, &cap, 16, 1), 0);
    assert_int_equal(cap, 32);
    /* far past the end: doubles until element 1000 fits, in one call */
    assert_int_equal(dp_grow((void **)&buf, &cap, 1000, 1), 0);
    assert_int_equal(cap, 1024);
    memset(buf, 'x', cap);
    assert_int_equal(dp_grow((void **)&buf, &cap, SIZE_MAX - 1, 1), DP_ENOMEM);
    assert_int_equal(cap, 1024);
    assert_int_equal(buf[1023], 'x');
    free(buf);
}

/* A pipe holding n bytes of 'x', its write end closed: its read end. */
static int pipe_of(size_t n)
{
    int p[2];
    char b[64];
    memset(b, 'x', sizeof b);
    assert_int_equal(pipe(p), 0);
    assert_true(n <= 65536); /* what a pipe holds unread */
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof b ? n - done : sizeof b;
        assert_int_equal(write(p[1], b, k), (ssize_t)k);
        done += k;
    }
    close(p[1]);
    return p[0];
}

static void test_read_all(void **state)
{
    (void)state;
    char err[128], *buf = NULL;
    size_t len = 99;
    int fd = pipe_of(100);
    assert_int_equal(dp_read_all(fd, "'p'", 100, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 100); /* exactly the cap */
    assert_int_equal(buf[99], 'x');
    free(buf);
    close(fd);

    fd = pipe_of(101);
    assert_int_equal(dp_read_all(fd, "'p'", 100, &buf, &len, err, sizeof err), DP_EINPUT);
    assert_null(buf);
    assert_string_equal(err, "'p': larger than 100 bytes");
    close(fd);

    fd = pipe_of(0);
    assert_int_equal(dp_read_all(fd, "'p'", 100, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 0);
    free(buf);
    close(fd);

    assert_int_equal(dp_read_all(-1, "'p'", 100, &buf, &len, err, sizeof err), DP_EINPUT);
    assert_null(buf);
    assert_string_equal(err, "'p': cannot read: Bad file descriptor");
}

static void test_write_all(void **state)
{
    (void)state;
    int p[2];
    char back[8] = "";
    assert_int_equal(pipe(p), 0);
    assert_int_equal(dp_write_all(p[1], "abcdef", 6), 0);
    assert_int_equal(dp_write_all(p[1], "", 0), 0);
    close(p[1]);
    assert_int_equal(read(p[0], back, sizeof back), 6);
    assert_memory_equal(back, "abcdef", 6);
    close(p[0]);
    assert_int_equal(dp_write_all(-1, "x", 1), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),  cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_time_good),      cmocka_unit_test(test_time_bad),
        cmocka_unit_test(test_time_roundtrip), cmocka_unit_test(test_uint),
        cmocka_unit_test(test_escape),         cmocka_unit_test(test_grow),
        cmocka_unit_test(test_read_all),       cmocka_unit_test(test_write_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
