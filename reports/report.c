/*
 * The reports module's entry points: the one place that ties the others
 * together. A run opens the log (obslog.c), tries the saved state (state.c)
 * for the aggregates of what was read before, reads the rest of the log into
 * them (agg.c through obslog.c); a refresh finishes the open round, takes the
 * run's settings (settings.c), draws every report (render.c) and saves the
 * state again. Nothing here reads or writes a file itself.
 */
#include "internal.h"

int obslog_open(const char *dir, unsigned lock_wait_ms, int flags, struct obslog **out, char *err,
                size_t errlen)
{
    struct obslog *l = NULL;
    struct rep_agg *a = NULL;
    uint64_t covered = 0;
    unsigned lines = 0;
    *out = NULL;
    int rc = rep__log_open(dir, lock_wait_ms, flags, &l, err, errlen);
    if (rc != 0)
        return rc;
    if (!(flags & OBSLOG_REBUILD) && rep__state_load(l, &a, &covered, &lines) == 0)
        rep__log_resume(l, a, covered, lines);
    if ((rc = rep__log_read(l, err, errlen)) != 0) {
        rep__log_refuse(l, rc);
        return rc;
    }
    *out = l;
    return 0;
}

void obslog_close(struct obslog *l)
{
    if (l == NULL)
        return;
    rep__summary_free(l->summary);
    l->summary = NULL;
    l->nsummary = 0;
    rep__log_close(l);
}

int report_refresh(struct obslog *l, const struct report_settings *s, size_t ns,
                   const struct report_override *ov, struct report_outcome *out, char *err,
                   size_t errlen)
{
    struct rep_sets sets = {0};
    int rc = rep__agg_finish(l->agg);
    if (rc != 0)
        return rc;
    if (l->agg->tl_valid && !rep__timeline_intact(l)) {
        /* timeline.csv is not what we wrote: its finished rows are not in
         * the state, so draw everything again from the log */
        if ((rc = rep__read_all(l, err, errlen)) != 0 || (rc = rep__agg_finish(l->agg)) != 0)
            return rc;
    }
    if ((rc = rep__sets_take(&l->dd, s, ns, &sets, err, errlen)) != 0 ||
        (rc = rep__render(l, &sets, ov, out, err, errlen)) != 0 ||
        (rc = rep__state_save(l, l->agg, err, errlen)) != 0)
        goto out;
    datadir_sync(&l->dd);
out:
    rep__sets_free(&sets);
    return rc;
}
int report_rebuild(const char *dir, unsigned lock_wait_ms, const struct report_override *ov,
                   struct report_outcome *out, char *err, size_t errlen)
{
    return report_rebuild_flags(dir, 0, lock_wait_ms, ov, out, err, errlen);
}

int report_rebuild_flags(const char *dir, int obslog_flags, unsigned lock_wait_ms,
                         const struct report_override *ov, struct report_outcome *out, char *err,
                         size_t errlen)
{
    struct obslog *l = NULL;
    int rc = obslog_open(dir, lock_wait_ms, obslog_flags | OBSLOG_NOCREATE | OBSLOG_REBUILD, &l,
                         err, errlen);
    if (rc == 0)
        rc = report_refresh(l, NULL, 0, ov, out, err, errlen);
    obslog_close(l);
    return rc;
}
