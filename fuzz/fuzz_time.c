/*
 * Fuzz target: the duration and time parsers of the command line
 * (dp_parse_duration, dp_parse_time) and the log's exact time parser
 * (dp_parse_time_exact). A parsed duration must be positive and at most 3650
 * days; a time written by dp_format_time must parse back to itself, and an
 * exact time must format back to the same text.
 */
#include "fuzz.h"
#include "dnsprop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (in == NULL)
        return 0;
    uint64_t ms = 0;
    if (dp_parse_duration(in, &ms) == 0)
        FUZZ_ASSERT(ms > 0 && ms <= 3650ull * 86400 * 1000);

    int64_t t = 0;
    /* a fixed "now" keeps runs reproducible */
    if (dp_parse_time(in, 1795000000, &t) == 0 && t >= 0 && t < 253402300800) {
        char buf[DP_TIME_BUFLEN];
        int64_t back = -1;
        dp_format_time(t, buf);
        FUZZ_ASSERT(dp_parse_time_exact(buf, strlen(buf), &back) == 0 && back == t);
    }
    /* a leap second ":60" is read as ":59" on purpose (common/util.c), so it
     * cannot format back to itself */
    if (dp_parse_time_exact((const char *)data, size, &t) == 0 && t >= 0 &&
        !(size == 19 && memcmp(data + 17, "60", 2) == 0)) {
        char buf[DP_TIME_BUFLEN];
        dp_format_time(t, buf);
        FUZZ_ASSERT(size == strlen(buf) && memcmp(buf, data, size) == 0);
    }
    free(in);
    return 0;
}
