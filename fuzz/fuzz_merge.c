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

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static int count_row(const struct obs *o, unsigned line, void *arg)
{
    (void)o;
    (void)line;
    ++*(uint64_t *)arg;
    return 0;
}

/* Empties and removes a scratch folder of plain files (faster than rm -rf). */
static void rm_rf(const char *d)
{
    DIR *dir = opendir(d);
    if (dir == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            unlinkat(dirfd(dir), e->d_name, 0) != 0)
            abort();
    closedir(dir);
    if (rmdir(d) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char src[128], dst[128], log[160];
    char err[1500];
    if (base[0] == '\0') {
        snprintf(base, sizeof base, "%s/dnsprop-fuzz-merge.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (mkdtemp(base) == NULL)
            abort();
    }
    snprintf(src, sizeof src, "%s/src", base);
    snprintf(dst, sizeof dst, "%s/dst", base);
    rm_rf(src);
    rm_rf(dst);
    if (mkdir(src, 0755) != 0)
        abort();
    snprintf(log, sizeof log, "%s/observations.csv", src);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);

    const char *srcs[] = {src};
    struct obslog *l = NULL;
    struct merge_stats st;
    FUZZ_ASSERT(obslog_open(dst, 1000, OBSLOG_QUIET, &l, err, sizeof err) == 0);
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
        FUZZ_ASSERT(obslog_open(dst, 1000, OBSLOG_QUIET, &l, err, sizeof err) == 0);
        FUZZ_ASSERT(obslog_merge(l, srcs, 1, &st, err, sizeof err) == 0);
        FUZZ_ASSERT(st.rows_appended == 0);
        obslog_close(l);
    }
    return 0;
}
