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

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

/* Empties and removes a scratch folder of plain files. */
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

/* The whole file at path, malloc'd (*len its size); NULL when absent. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *b = realloc(buf, cap);
            if (b == NULL)
                abort();
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char src[128], dst[128], path[160];
    char err[1500];
    if (base[0] == '\0') {
        snprintf(base, sizeof base, "%s/dnsprop-fuzz-settings.XXXXXX",
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
    snprintf(path, sizeof path, "%s/settings.csv", src);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);

    const char *srcs[] = {src};
    struct obslog *l = NULL;
    FUZZ_ASSERT(obslog_open(dst, 1000, OBSLOG_QUIET, &l, err, sizeof err) == 0);
    int rc = report_merge_settings(l, srcs, 1, false, err, sizeof err);
    FUZZ_ASSERT(rc == 0 || rc == DP_EINPUT || rc == DP_ENOMEM);
    if (rc == 0)
        FUZZ_ASSERT(report_merge_settings(l, srcs, 1, true, err, sizeof err) == 0);
    obslog_close(l);
    snprintf(path, sizeof path, "%s/settings.csv", dst);
    size_t len1 = 0, len2 = 0;
    char *one = slurp(path, &len1);
    if (rc != 0) {
        FUZZ_ASSERT(one == NULL);
        return 0;
    }
    /* what was saved reads back, and taking the same source again changes
     * nothing */
    FUZZ_ASSERT(obslog_open(dst, 1000, OBSLOG_QUIET, &l, err, sizeof err) == 0);
    FUZZ_ASSERT(report_merge_settings(l, srcs, 1, false, err, sizeof err) == 0);
    obslog_close(l);
    char *two = slurp(path, &len2);
    FUZZ_ASSERT((one == NULL) == (two == NULL));
    FUZZ_ASSERT(one == NULL || (len1 == len2 && memcmp(one, two, len1) == 0));
    free(one);
    free(two);
    return 0;
}
