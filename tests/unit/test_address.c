/* Unit tests for server address parsing and formatting (resolvers/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resolvers.h"

static void test_good(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"8.8.8.8", "8.8.8.8"},
        {"127.0.0.1:5353", "127.0.0.1:5353"},
        {"127.0.0.1:53", "127.0.0.1"},
        {"2001:4860:4860::8888", "[2001:4860:4860::8888]"},
        {"[::1]:5353", "[::1]:5353"},
        {"[2620:fe::fe]", "[2620:fe::fe]"},
        {"::1", "[::1]"},
        {"[2001:db8::1:53]", "[2001:db8::1:53]"},
        {"2001:db8::53", "[2001:db8::53]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage sa;
        socklen_t len;
        const char *why = NULL;
        char buf[RLIST_ADDRSTRLEN];
        if (rlist_parse_address(cases[i].in, 53, &sa, &len, &why) != 0)
            fail_msg("'%s' refused: %s", cases[i].in, why);
        assert_string_equal(rlist_format_address((struct sockaddr *)&sa, buf, sizeof buf),
                            cases[i].out);
    }
}

static void test_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",         "1.2.3",        "8.8.8.888",    "1.2.3.4:0",    "1.2.3.4:65536",
        "1.2.3.4:", "[::1]:0",      "[::1",         "[::1]x",       "[]:53",
        "::1:53x",  "host.example", "1.2.3.4:5:6",  "[1.2.3.4]:53", "1.2.3.4:-1",
        "01.2.3.4", " 1.2.3.4",     "fe80::1%eth0", "::1:53",       "2001:db8::1:5353",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage sa;
        socklen_t len;
        const char *why = NULL;
        if (rlist_parse_address(bad[i], 53, &sa, &len, &why) != DP_EINPUT)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_good), cmocka_unit_test(test_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
