/*
 * Reading and writing whole files by descriptor (dnsprop.h). Apart from util.c:
 * clang-analyzer 14 reports a false uninitialized va_list in dp_errf when a
 * caller of it in the same file is analyzed with it.
 */
#define _GNU_SOURCE /* sync_file_range */
#include "dnsprop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dp_read_all(int fd, const char *q, size_t max, char **buf, size_t *len, char *err,
                size_t errlen)
{
    char *b = malloc(max + 1);
    size_t n = 0;
    *buf = NULL;
    *len = 0;
    if (b == NULL) {
        dp_errf(err, errlen, "%s: %s", q, dp_strerror(DP_ENOMEM));
        return DP_ENOMEM;
    }
    while (n <= max) {
        ssize_t got = read(fd, b + n, max + 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            dp_errf(err, errlen, "%s: cannot read: %s", q, strerror(errno));
            free(b);
            return DP_EINPUT;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > max) {
        dp_errf(err, errlen, "%s: larger than %zu bytes", q, max);
        free(b);
        return DP_EINPUT;
    }
    *buf = b;
    *len = n;
    return 0;
}

void dp_start_writeback(int fd, uint64_t off, uint64_t len)
{
    int e = errno;
    (void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
    errno = e;
}

int dp_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    for (size_t done = 0; done < len;) {
        ssize_t k = write(fd, p + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0)
            errno = EIO; /* nothing written and no reason given */
        if (k <= 0)
            return -errno;
        done += (size_t)k;
    }
    return 0;
}
