/*
 * Fuzz target: the observation log reader. Each line through obs_parse_line()
 * in both forms, the current 19 columns and the older 17 (a parsed row must
 * write back, in the same form, as a row that parses to the same fields), and
 * the whole input as a file through obslog_read() (an in-memory file, so no
 * disk is touched), whichever header it starts with; and each line through
 * csvr_split both ways, plain and general (split_both_ways).
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "reports.h"
#include "fuzz_log.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static int count_row(const struct obs *o, unsigned line, void *arg)
{
    (void)o;
    FUZZ_ASSERT(line >= 2);
    ++*(unsigned *)arg;
    return 0;
}

/* csvr_split reads a plain line (no quote, printable ASCII) its own fast
 * way; with a quoted field after it, the same line goes the general way:
 * the fields before must be the same. */
static void split_both_ways(struct csvr *r, const char *line, size_t len)
{
    const char *why;
    if (len > 4096)
        return;
    int n = csvr_split(r, line, len, &why);
    if (len > 0 && line[len - 1] == '\r')
        len--; /* dropped by csvr_split; the quoted field goes before it */
    char *longer = malloc(len + 4);
    struct csvr g;
    if (longer == NULL)
        return;
    memcpy(longer, line, len);
    memcpy(longer + len, ",\"q\"", 4);
    csvr_init(&g);
    int m = csvr_split(&g, longer, len + 4, &why);
    if (n >= 0 && m >= 0) {
        FUZZ_ASSERT(m == n + 1);
        for (int i = 0; i < n; i++)
            FUZZ_ASSERT(r->len[i] == g.len[i] && memcmp(r->f[i], g.f[i], r->len[i] + 1) == 0);
    } else if (n < 0) {
        FUZZ_ASSERT(m < 0); /* a line refused is refused with a field after it */
    }
    csvr_deinit(&g);
    free(longer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csvr r;
    struct obs o;
    char why[512];
    csvr_init(&r);
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        split_both_ways(&r, (const char *)p, len);
        if (obs_parse_line(&r, (const char *)p, len, &o, why, sizeof why) == 0)
            fuzz_obs_roundtrip(&o, OBS_NCOLUMNS);
        if (obs_parse_line_cols(&r, (const char *)p, len, OBS_NCOLUMNS_V1, &o, why, sizeof why) ==
            0)
            fuzz_obs_roundtrip(&o, OBS_NCOLUMNS_V1);
        p += len + 1;
    }
    csvr_deinit(&r);

    int fd = memfd_create("observations.csv", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size == 0 || write(fd, data, size) == (ssize_t)size) {
        char path[64], err[1024];
        unsigned rows = 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        (void)obslog_read(path, count_row, &rows, err, sizeof err);
    }
    close(fd);
    return 0;
}
