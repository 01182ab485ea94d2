/*
 * dnsprop report [--dir DIR] [--window DUR] [--since TIME] [--upgrade]
 * [--insecure-dir]: rebuilds every report in DIR from observations.csv alone
 * (plus DIR/settings.csv for the per-domain settings). --window and --since
 * override the saved settings of every domain for this rebuild only; they are
 * not saved. --upgrade first rewrites a log of the older 17-column form once
 * with the site,ede columns (obslog_upgrade: atomic, under the lock, every
 * old value kept), then rebuilds. --insecure-dir accepts a folder others can
 * write or own.
 *
 * Exit status: 0 when the reports were rebuilt (the status line goes to
 * stdout, the monitoring verdict is check's business), 3 for bad usage, a
 * missing folder or log, a damaged log (nothing is changed then), or a
 * locked folder.
 */
#include "cli.h"
#include "reports.h"

#include <stdio.h>
#include <string.h>

static int usage(const char *msg, const char *arg)
{
    return cli_usage("report", msg, arg);
}

int cmd_report(int argc, char **argv)
{
    const char *dir = NULL;
    struct report_override ov = {0, -1};
    bool have_ov = false, upgrade = false;
    int flags = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--insecure-dir") == 0) {
            flags |= OBSLOG_INSECURE_DIR;
        } else if (strcmp(a, "--upgrade") == 0) {
            upgrade = true;
        } else if (strcmp(a, "--dir") == 0 || strcmp(a, "--window") == 0 ||
                   strcmp(a, "--since") == 0) {
            if (i + 1 >= argc)
                return usage("missing value for", a);
            const char *v = argv[++i];
            if (strcmp(a, "--dir") == 0) {
                if (v[0] == '\0')
                    return usage("empty --dir", NULL);
                dir = v;
            } else if (strcmp(a, "--window") == 0) {
                uint64_t ms;
                if (dp_parse_duration(v, &ms) != 0 || ms < 1000)
                    return usage("bad --window", v);
                ov.window_s = ms / 1000;
                have_ov = true;
            } else {
                int64_t t;
                if (dp_parse_time(v, dp_now(), &t) != 0 || t < 0)
                    return usage("bad --since", v);
                ov.since = t;
                have_ov = true;
            }
        } else {
            return usage("unknown argument", a);
        }
    }
    if (dir == NULL)
        dir = ".";
    char err[1024] = "";
    struct report_outcome out;
    int rc;
    if (upgrade) {
        bool done = false;
        uint64_t rows = 0;
        /* the rebuild below gives the --insecure-dir warning of this run */
        rc = obslog_upgrade_flags(dir, flags | OBSLOG_NOWARN, REPORT_LOCK_WAIT_MS, &done, &rows,
                                  err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "dnsprop report: %s\n", err[0] ? err : dp_strerror(rc));
            return DP_EXIT_UNKNOWN;
        }
        if (done)
            fprintf(stderr,
                    "dnsprop report: %s/observations.csv upgraded to %u columns (site, ede), "
                    "%llu rows kept\n",
                    dir, OBS_NCOLUMNS, (unsigned long long)rows);
        else
            fprintf(stderr,
                    "dnsprop report: %s/observations.csv already has the current %u columns, "
                    "nothing to upgrade\n",
                    dir, OBS_NCOLUMNS);
    }
    rc = report_rebuild_flags(dir, flags, REPORT_LOCK_WAIT_MS, have_ov ? &ov : NULL, &out, err,
                              sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop report: %s\n", err[0] ? err : dp_strerror(rc));
        return DP_EXIT_UNKNOWN;
    }
    printf("%s\n", out.status_line);
    return DP_EXIT_OK;
}
