/*
 * Hand-written logs for the report tests (test_reports.c, test_promises.c):
 * rows built in memory, and the five reports of the scratch folder taken as
 * a snapshot and compared, for the rebuild identity (rebuilds_same). Include scratch.h and
 * reports.h first, and this once per test program.
 */
#ifndef DNSPROP_TEST_REPORTLOG_H
#define DNSPROP_TEST_REPORTLOG_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DIR/name as a string (see scratch.h). */
static char *slurp(const char *name, size_t *len)
{
    return slurp_path(path_of(name), len);
}

#include "obsrows.h" /* struct rows, rows_next */

/* ---- the reports as files ---- */

static const char *const REPORTS[] = {"convergence.csv", "timeline.csv", "mx_compliance.csv",
                                      "summary.csv", "convergence.svg"};
#define NREPORTS (sizeof REPORTS / sizeof REPORTS[0])

/* Every report's bytes and the outcome that came with them. */
struct snap {
    char *f[NREPORTS];
    size_t len[NREPORTS];
    struct report_outcome out;
};

static void take(struct snap *s, const struct report_outcome *out)
{
    for (size_t i = 0; i < NREPORTS; i++) {
        s->f[i] = slurp(REPORTS[i], &s->len[i]);
        assert_non_null(s->f[i]);
    }
    s->out = *out;
}

/* Fails unless a and b have the same reports, byte for byte, and outcome. */
static void same(const struct snap *a, const struct snap *b)
{
    for (size_t i = 0; i < NREPORTS; i++)
        if (a->len[i] != b->len[i] || memcmp(a->f[i], b->f[i], a->len[i]) != 0)
            fail_msg("%s differs:\n%s\n---\n%s", REPORTS[i], a->f[i], b->f[i]);
    assert_int_equal(a->out.exit_status, b->out.exit_status);
    assert_string_equal(a->out.status_line, b->out.status_line);
}

static void drop(struct snap *s)
{
    for (size_t i = 0; i < NREPORTS; i++)
        free(s->f[i]);
}

/* Fails unless inc, the reports as refreshed round by round, is what a
 * rebuild from the log gives, and what a refresh gives that finds no .state
 * (and so reads the whole log); the refresh writes a new .state. */
static void rebuilds_same(const struct snap *inc)
{
    struct report_outcome out;
    struct snap again;
    struct obslog *l = NULL;
    char err[512] = "";
    if (report_rebuild(dir, 1000, NULL, &out, err, sizeof err) != 0)
        fail_msg("rebuild: %s", err);
    take(&again, &out);
    same(inc, &again);
    drop(&again);
    assert_int_equal(unlink(path_of(".state")), 0);
    if (obslog_open(dir, 1000, 0, &l, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    assert_false(obslog_from_state(l));
    if (report_refresh(l, NULL, 0, NULL, &out, err, sizeof err) != 0)
        fail_msg("refresh: %s", err);
    obslog_close(l);
    take(&again, &out);
    same(inc, &again);
    drop(&again);
}

#endif
