/*
 * Fuzz target: the reading of DIR/.state (reports/state.c, rep__state_load).
 * The state is a cache in a folder others may write, so whatever it holds
 * must be refused or read, never misread. The input is the state's records
 * (the lines after "log,...": agg, s, d, u, c, w, v, x, m, g, p, q, any
 * bytes), wrapped by this target in the version line, the "log" line of a
 * real log and a correct hash line, so that the records themselves are
 * what is tried. Loading returns 0 or DP_EFORMAT (DP_ENOMEM aside); what
 * loads is written again, and that reads back to the same bytes.
 */
#define _GNU_SOURCE
#include "fuzz.h"
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[96];
static struct obslog *lg; /* open (and locked) for the whole run */
static char *head;        /* "dnsprop-state,3\r\nlog,...\r\n" of the real log */
static size_t head_len;

static void put_file(const char *path, const char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || (len > 0 && write(fd, buf, len) != (ssize_t)len) || close(fd) != 0)
        abort();
}

/* A log of two rounds (so the state has every kind of record), refreshed
 * once: its .state gives the head. */
/* At exit: the log closed (its lock released) and the scratch folder gone. */
static void remove_log(void)
{
    if (lg != NULL)
        obslog_close(lg);
    lg = NULL;
    free(head);
    head = NULL;
    fuzz_rm_rf(dir);
}

static void make_log(void)
{
    static const char rows[] =
        OBS_HEADER "\r\n"
                   "2026-11-30 00:00:00,probe,1,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,"
                   "ok,NOERROR,5,3600,10 mail.contoso.com.,10 mail.contoso.com.,yes,pool-a,\r\n"
                   "2026-11-30 00:00:00,probe,1,contoso.com,mx,contoso.com.,MX,auth:ns1,"
                   "192.0.2.53,udp,ok,NOERROR,5,3600,10 mail.contoso.com.,10 mail.contoso.com.,"
                   "yes,,\r\n"
                   "2026-11-30 00:00:00,probe,1,contoso.com,delegation,contoso.com.,NS,parent:p1,"
                   "192.0.2.101,udp,ok,NOERROR,5,172800,ns1.contoso.com.,ns1.contoso.com.,yes,,"
                   "\r\n"
                   "2026-11-30 00:10:00,probe,2,contoso.com,mx,contoso.com.,MX,r1,192.0.2.1,udp,"
                   "ok,NOERROR,5,3600,10 mail.contoso.com.,10 mail.contoso.com.,yes,pool-b,3\r\n";
    char path[160], err[512];
    snprintf(dir, sizeof dir, "%s/dnsprop-fuzz-state.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_log);
    snprintf(path, sizeof path, "%s/observations.csv", dir);
    put_file(path, rows, sizeof rows - 1);
    FUZZ_ASSERT(obslog_open(dir, 1000, OBSLOG_QUIET, &lg, err, sizeof err) == 0);
    FUZZ_ASSERT(report_refresh(lg, NULL, 0, NULL, NULL, err, sizeof err) == 0);
    size_t len;
    snprintf(path, sizeof path, "%s/.state", dir);
    head = fuzz_slurp(path, &len);
    FUZZ_ASSERT(head != NULL);
    /* the version line and the log line */
    char *e = strstr(head, "\r\n");
    FUZZ_ASSERT(e != NULL);
    e = strstr(e + 2, "\r\n");
    FUZZ_ASSERT(e != NULL && strncmp(strstr(head, "\r\n") + 2, "log,", 4) == 0);
    head_len = (size_t)(e + 2 - head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[160];
    if (lg == NULL)
        make_log();
    snprintf(path, sizeof path, "%s/.state", dir);
    /* head, the records (ended by a line end if they are not), the hash */
    char *s = malloc(head_len + size + 64);
    if (s == NULL)
        abort();
    memcpy(s, head, head_len);
    size_t n = head_len;
    if (size > 0)
        memcpy(s + n, data, size);
    n += size;
    if (size > 0 && s[n - 1] != '\n') {
        memcpy(s + n, "\r\n", 2);
        n += 2;
    }
    uint64_t h = rep__hash(REP__HASH_INIT, s, n);
    n += (size_t)snprintf(s + n, 64, "end,%llu\r\n", (unsigned long long)h);
    put_file(path, s, n);
    free(s);

    struct rep_agg *a = NULL;
    uint64_t covered = 0;
    unsigned lines = 0;
    char err[512];
    int rc = rep__state_load(lg, &a, &covered, &lines);
    FUZZ_ASSERT(rc == 0 || rc == DP_EFORMAT || rc == DP_ENOMEM);
    FUZZ_ASSERT((rc == 0) == (a != NULL));
    if (rc != 0)
        return 0;
    /* what was read is written again, and that reads back as it was */
    FUZZ_ASSERT(rep__state_save(lg, a, err, sizeof err) == 0);
    rep__agg_free(a);
    size_t len1, len2;
    char *one = fuzz_slurp(path, &len1);
    FUZZ_ASSERT(one != NULL);
    a = NULL;
    FUZZ_ASSERT(rep__state_load(lg, &a, &covered, &lines) == 0);
    FUZZ_ASSERT(rep__state_save(lg, a, err, sizeof err) == 0);
    rep__agg_free(a);
    char *two = fuzz_slurp(path, &len2);
    FUZZ_ASSERT(two != NULL && len1 == len2 && memcmp(one, two, len1) == 0);
    free(one);
    free(two);
    return 0;
}
