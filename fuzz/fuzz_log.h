/*
 * Shared bits of the fuzz targets that work with the observation log
 * (fuzz_obslog, fuzz_reply, fuzz_merge, fuzz_settings). Include fuzz.h and
 * reports.h first.
 */
#ifndef DNSPROP_FUZZ_LOG_H
#define DNSPROP_FUZZ_LOG_H

#include <string.h>

/* One row through the log's writer and reader in the form of ncols columns
 * (OBS_NCOLUMNS, or OBS_NCOLUMNS_V1, the older 17): what is written must
 * parse back to the same fields (site and EDE empty in the older form).
 * o's answer, server, site and ede must not be NULL ("" for none). */
static inline void fuzz_obs_roundtrip(const struct obs *o, unsigned ncols)
{
    struct csvw w;
    struct csvr r;
    struct obs back;
    char why[256];
    csvw_init(&w);
    csvr_init(&r);
    obs_write_row_cols(&w, o, ncols);
    if (csvw_error(&w) == 0) {
        FUZZ_ASSERT(w.len >= 2 && w.buf[w.len - 1] == '\n');
        FUZZ_ASSERT(obs_parse_line_cols(&r, w.buf, w.len - 1, ncols, &back, why, sizeof why) == 0);
        FUZZ_ASSERT(back.time == o->time && back.round == o->round && back.status == o->status);
        FUZZ_ASSERT(back.rcode == o->rcode && back.ttl == o->ttl && back.match == o->match);
        FUZZ_ASSERT(strcmp(back.answer, o->answer) == 0 && strcmp(back.server, o->server) == 0);
        FUZZ_ASSERT(strcmp(back.site, o->site) == 0 && strcmp(back.ede, o->ede) == 0);
        if (ncols == OBS_NCOLUMNS_V1)
            FUZZ_ASSERT(back.site[0] == '\0' && back.ede[0] == '\0');
    }
    csvr_deinit(&r);
    csvw_deinit(&w);
}

/* The log of folder dir, opened quietly; the fuzzer stops (abort) when it
 * cannot be opened. */
static inline struct obslog *fuzz_log_open(const char *dir)
{
    struct obslog *l = NULL;
    char err[1500];
    FUZZ_ASSERT(obslog_open(dir, 1000, OBSLOG_QUIET, &l, err, sizeof err) == 0);
    return l;
}

#endif
