/*
 * How many times slower than usual this test program runs: the whole number
 * in DNSPROP_TEST_SLOW (1 to 100; tools/valgrind.sh sets it, since under
 * valgrind the work between two clock readings takes tens of times longer),
 * 1 when unset or not such a number.
 *
 * A test whose outcome depends on its own work ending within a time it sets
 * (a TTL that must not run out while the test is still asking, a wait that
 * must not expire before a reply that is sure to come) multiplies that time
 * by it. A test that checks how long the code under test waits keeps its
 * bounds: the waits are timers, and timers do not run slower.
 */
#ifndef DNSPROP_TEST_SLOW_H
#define DNSPROP_TEST_SLOW_H

#include <stdlib.h>

static unsigned test_slow(void)
{
    const char *s = getenv("DNSPROP_TEST_SLOW");
    char *end;
    if (s == NULL || *s == '\0')
        return 1;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v >= 1 && v <= 100 ? (unsigned)v : 1;
}

#endif
