/*
 * Fuzz target: merge's reading of a source log (reports/merge.c): its own
 * line reader, the plain-line shortcut of the incremental prescan (time,
 * vantage and round from the first three fields), the copying of lines with
 * their round replaced and the rows fed to the aggregates as they read back. The input is written
 * as a source's observations.csv (as it is: any header, any bytes) in a scratch folder and merged
 * into an empty one. A refused source must leave the target's log empty; an accepted one must have
 * every row appended once (a second merge appends nothing, incremental or not), and the target must
 * read back as a clean log.
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "reports.h"
#include "fuzz_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int count_row(const struct obs *o, unsigned line, void *arg)
{
    (void)o;
    (void)line;
    ++*(uint64_t *)arg;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char src[FUZZ_PATHLEN], dst[FUZZ_PATHLEN], log[160];
    char err[1500];
    fuzz_source_folder("merge", "observations.csv", data, size, src, dst);

    const char *srcs[] = {src};
    struct merge_stats st;
    struct obslog *l = fuzz_log_open(dst);
    int rc = obslog_merge(l, srcs, 1, &st, err, sizeof err);
    FUZZ_ASSERT(rc != DP_EINTERNAL);
    obslog_close(l);
    uint64_t n = 0;
    snprintf(log, sizeof log, "%s/observations.csv", dst);
    FUZZ_ASSERT(obslog_read(log, count_row, &n, err, sizeof err) == 0);
    if (rc != 0) {
        FUZZ_ASSERT(n == 0);
        return 0;
    }
    FUZZ_ASSERT(n == st.rows_appended);
    /* again, from the ledger, and without it: nothing new */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            char led[160];
            snprintf(led, sizeof led, "%s/.merge", dst);
            unlink(led);
        }
        l = fuzz_log_open(dst);
        FUZZ_ASSERT(obslog_merge(l, srcs, 1, &st, err, sizeof err) == 0);
        FUZZ_ASSERT(st.rows_appended == 0);
        obslog_close(l);
    }
    return 0;
}
