/*
 * dnsprop merge --dir DIR SRCDIR...: appends the rows of other data folders
 * (other hosts' --vantage runs, copied here with rsync or from object
 * storage) that DIR's log does not hold yet, under DIR's lock, then
 * refreshes DIR's reports (PRODUCT.md section 11; the rules are in
 * reports/merge.c). Merging the same folders again appends nothing.
 *
 * Exit status: 0 when the merge (possibly of nothing) and the refresh went
 * through, the status line on stdout as `report` prints it; 3 for bad usage,
 * a damaged or conflicting source (nothing appended then), or a locked
 * folder.
 */
#include "cli.h"
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(const char *msg, const char *arg)
{
    return cli_usage("merge", msg, arg);
}

int cmd_merge(int argc, char **argv)
{
    const char *dir = NULL;
    bool quiet = false;
    int oflags = 0;
    const char **srcs = calloc((size_t)argc, sizeof *srcs);
    size_t nsrc = 0;
    int status = DP_EXIT_UNKNOWN;
    struct obslog *l = NULL;
    char *logp = NULL;
    bool fresh_dir = false, fresh_log = false;
    if (srcs == NULL)
        return DP_EXIT_UNKNOWN;
    bool opts = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = false;
        } else if (opts && strcmp(a, "--dir") == 0) {
            if (i + 1 >= argc) {
                usage("missing value for", a);
                goto out;
            }
            if (argv[++i][0] == '\0') {
                usage("empty --dir", NULL);
                goto out;
            }
            dir = argv[i];
        } else if (opts && strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (opts && strcmp(a, "--insecure-dir") == 0) {
            oflags |= OBSLOG_INSECURE_DIR;
        } else if (opts && a[0] == '-') {
            usage("unknown option", a);
            goto out;
        } else if (a[0] == '\0') {
            usage("empty source folder", NULL);
            goto out;
        } else {
            srcs[nsrc++] = a;
        }
    }
    if (dir == NULL) {
        usage("--dir DIR is required", NULL);
        goto out;
    }
    if (nsrc == 0) {
        usage("no source folder", NULL);
        goto out;
    }
    /* a folder this run creates is removed again when the merge is refused:
     * bad input leaves no file behind */
    struct stat st0;
    logp = malloc(strlen(dir) + sizeof "/observations.csv");
    if (logp == NULL)
        goto out;
    snprintf(logp, strlen(dir) + sizeof "/observations.csv", "%s/observations.csv", dir);
    fresh_dir = stat(dir, &st0) != 0;
    fresh_log = stat(logp, &st0) != 0;
    char err[1500] = "";
    int rc = obslog_open(dir, REPORT_LOCK_WAIT_MS, oflags | (quiet ? OBSLOG_QUIET : 0), &l, err,
                         sizeof err);
    struct merge_stats st;
    /* the sources' settings are checked before anything is appended, and
     * taken after */
    if (rc == 0)
        rc = report_merge_settings(l, srcs, nsrc, false, err, sizeof err);
    if (rc == 0)
        rc = obslog_merge(l, srcs, nsrc, &st, err, sizeof err);
    if (rc == 0)
        rc = report_merge_settings(l, srcs, nsrc, true, err, sizeof err);
    struct report_outcome out;
    if (rc == 0)
        rc = report_refresh(l, NULL, 0, NULL, &out, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop merge: %s\n", err[0] ? err : dp_strerror(rc));
        if (l != NULL && fresh_log) {
            char *lock = malloc(strlen(dir) + sizeof "/.lock");
            if (lock != NULL) {
                snprintf(lock, strlen(dir) + sizeof "/.lock", "%s/.lock", dir);
                unlink(logp);
                unlink(lock); /* still held: a run that opened it meanwhile sees no log */
                free(lock);
            }
            if (fresh_dir)
                rmdir(dir);
        }
        goto out;
    }
    if (!quiet)
        fprintf(stderr,
                "dnsprop merge: %zu source(s), %llu new row(s) in %llu round(s) appended%s\n",
                st.sources, (unsigned long long)st.rows_appended,
                (unsigned long long)st.rounds_appended,
                st.incremental ? " (read only what was added since the last merge)" : "");
    printf("%s\n", out.status_line);
    status = DP_EXIT_OK;
out:
    obslog_close(l);
    free(logp);
    free(srcs);
    return status;
}
