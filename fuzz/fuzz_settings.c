/*
 * Fuzz target: merge's reading of a source's settings.csv (reports/settings.c,
 * report_merge_settings): the input is written as a source folder's
 * settings.csv (any header, any bytes) and taken into an empty folder. A
 * refused file must leave no settings.csv in the target; an accepted one
 * must give a settings.csv that reads back (a second take from the same
 * source changes nothing and warns of nothing new).
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "reports.h"
#include "fuzz_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char src[FUZZ_PATHLEN], dst[FUZZ_PATHLEN], path[160];
    char err[1500];
    fuzz_source_folder("settings", "settings.csv", data, size, src, dst);

    const char *srcs[] = {src};
    struct obslog *l = fuzz_log_open(dst);
    int rc = report_merge_settings(l, srcs, 1, false, err, sizeof err);
    FUZZ_ASSERT(rc == 0 || rc == DP_EINPUT || rc == DP_ENOMEM);
    if (rc == 0)
        FUZZ_ASSERT(report_merge_settings(l, srcs, 1, true, err, sizeof err) == 0);
    obslog_close(l);
    snprintf(path, sizeof path, "%s/settings.csv", dst);
    size_t len1 = 0, len2 = 0;
    char *one = fuzz_slurp(path, &len1);
    if (rc != 0) {
        FUZZ_ASSERT(one == NULL);
        return 0;
    }
    /* what was saved reads back, and taking the same source again changes
     * nothing */
    l = fuzz_log_open(dst);
    FUZZ_ASSERT(report_merge_settings(l, srcs, 1, false, err, sizeof err) == 0);
    obslog_close(l);
    char *two = fuzz_slurp(path, &len2);
    FUZZ_ASSERT((one == NULL) == (two == NULL));
    FUZZ_ASSERT(one == NULL || (len1 == len2 && memcmp(one, two, len1) == 0));
    free(one);
    free(two);
    return 0;
}
