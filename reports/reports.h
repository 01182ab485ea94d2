/*
 * reports: the observation log (observations.csv, the truth) and everything
 * derived from it: convergence.csv, timeline.csv, mx_compliance.csv,
 * summary.csv and convergence.svg (PRODUCT.md sections 4, 6 and 9).
 *
 * This header is the module's one public interface. The observation model
 * it stores (struct obs) is common/obs.h, shared by the whole program: the
 * engine fills it, the log stores it, the reports read it.
 */
#ifndef DNSPROP_REPORTS_H
#define DNSPROP_REPORTS_H

#include "dnsprop.h"
#include "obs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- csv ---- */
/* The one CSV writer (reports/csv.c) for every file dnsprop writes: RFC 4180
 * quoting only where needed, CRLF, ASCII only (other bytes as \DDD), and a
 * leading ' on any field starting with = + - @ TAB CR or ' (so no field runs
 * as a spreadsheet formula; the reader strips exactly that one '). Rows are
 * built in a growing memory buffer; the caller writes w->buf/w->len out
 * (or, inside reports/, has them go to a file as they come).
 * Errors are sticky: after an allocation failure every call is a no-op and
 * csvw_error() returns DP_ENOMEM (DP_EIO when a file's write failed). */
struct csvw {
    char *buf;          /* owned; the rows written so far */
    size_t len;         /* bytes used in buf */
    size_t cap;         /* bytes allocated */
    bool row_open;      /* a field was written since the last csvw_end() */
    int err;            /* 0 or DP_ENOMEM */
    bool escaped;       /* a byte outside 0x20..0x7e was written as \DDD since csvw_init */
    bool time_valid;    /* time_text holds the text of time_t */
    int64_t time_last;  /* the last time written */
    char time_text[20]; /* its YYYY-MM-DD HH:MM:SS */
    /* set by rep__csvw_to_file (reports/internal.h): the file the rows go
     * to a piece at a time, buf holding only the rows not yet out */
    struct rep__csvw_file *file;
};
void csvw_init(struct csvw *w);
void csvw_deinit(struct csvw *w);
void csvw_clear(struct csvw *w); /* forget the rows, keep the memory */
int csvw_error(const struct csvw *w);
void csvw_field(struct csvw *w, const char *s, size_t len); /* s NULL: empty */
void csvw_str(struct csvw *w, const char *s);               /* NULL or "": empty */
/* n fields, each as csvw_str writes s[i]: one call for the columns of a row */
void csvw_strs(struct csvw *w, const char *const *s, size_t n);
void csvw_uint(struct csvw *w, uint64_t v);
void csvw_opt(struct csvw *w, int64_t v);                 /* < 0: empty field */
void csvw_time(struct csvw *w, int64_t t);                /* YYYY-MM-DD HH:MM:SS; < 0: empty */
void csvw_bool(struct csvw *w, bool b);                   /* yes / no */
void csvw_end(struct csvw *w);                            /* ends the row: CRLF */
void csvw_raw(struct csvw *w, const char *s, size_t len); /* bytes as they are */

/* The matching reader: splits one line (without its LF; a final CR is
 * dropped) into at most CSVR_MAX_FIELDS fields, undoing the quoting and the
 * formula prefix. Refuses bytes outside printable ASCII. Returns the number of
 * fields, or DP_EINPUT / DP_ENOMEM with *why saying what is wrong. The fields
 * (r->f[i], NUL-terminated, r->len[i] bytes) live in r->buf until the next
 * call. */
#define CSVR_MAX_FIELDS 32
struct csvr {
    char *buf; /* owned scratch for the fields */
    size_t cap;
    size_t n;                       /* fields in the last line */
    const char *f[CSVR_MAX_FIELDS]; /* borrowed from buf */
    size_t len[CSVR_MAX_FIELDS];
    /* the obs parser's memory of the last good time field: rows come in
     * rounds that share one time, so most need no second parse */
    char time_text[24];
    size_t time_len; /* 0: none */
    int64_t time_value;
};
void csvr_init(struct csvr *r);
void csvr_deinit(struct csvr *r);
int csvr_split(struct csvr *r, const char *line, size_t len, const char **why);

/* ---- log ---- */
/* observations.csv (reports/obslog.c; a row and back: reports/row.c). One row per struct obs,
 * OBS_HEADER columns. rcode is the ldns mnemonic (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR,
 * NOTIMPL, ...; a number for rcodes without one), empty when -1; latency_ms and ttl empty when -1;
 * transport udp/tcp; match yes/no/empty. */

/* Appends one row (with CRLF) to w: OBS_NCOLUMNS fields. */
void obs_write_row(struct csvw *w, const struct obs *o);
/* The same in the form of a log with ncolumns columns: OBS_NCOLUMNS, or
 * OBS_NCOLUMNS_V1 (site and ede are then not written). */
void obs_write_row_cols(struct csvw *w, const struct obs *o, unsigned ncolumns);
/* Prints OBS_HEADER and one row to f (for `dnsprop query`). Returns 0 or DP_EIO. */
int obs_print(FILE *f, const struct obs *o, bool header);
/* Parses one line of observations.csv. On success fills *o with strings
 * borrowed from r (valid until the next csvr_split on r) and returns 0;
 * otherwise DP_EINPUT with a message (no file or line prefix) in why. */
int obs_parse_line(struct csvr *r, const char *line, size_t len, struct obs *o, char *why,
                   size_t whylen);
/* The same for a line of a log with ncolumns columns (OBS_NCOLUMNS, or
 * OBS_NCOLUMNS_V1: site and ede are then ""). `ede` must be empty or
 * decimal codes 0..65535 joined by ';'. */
int obs_parse_line_cols(struct csvr *r, const char *line, size_t len, unsigned ncolumns,
                        struct obs *o, char *why, size_t whylen);
/* Which header a line is (without its line end; a final CR is ignored):
 * OBS_NCOLUMNS for OBS_HEADER, OBS_NCOLUMNS_V1 for OBS_HEADER_V1, else 0 with
 * what differs from OBS_HEADER in why. */
unsigned obs_header_columns(struct csvr *r, const char *line, size_t len, char *why, size_t whylen);

struct obslog;

/* Flags of obslog_open. */
enum {
    OBSLOG_NOCREATE = 1,     /* the folder and the log must exist (the report command) */
    OBSLOG_REBUILD = 2,      /* ignore DIR/.state: read the whole log */
    OBSLOG_INSECURE_DIR = 4, /* --insecure-dir: accept a folder others can write or own
                                (with a warning on stderr) */
    OBSLOG_QUIET = 8,        /* no notice on stderr about a log of the older form (-q) */
    OBSLOG_NOWARN = 16,      /* no --insecure-dir warning: a second open in the same run */
};

/* Opens the data folder `dir`: creates it and observations.csv (with its
 * header) unless OBSLOG_NOCREATE; takes an exclusive flock on DIR/.lock,
 * waiting up to lock_wait_ms (DP_ELOCK after that, the message names the
 * lock); refuses a header of another version (DP_EFORMAT, naming the
 * columns that differ) and damage before the last line (DP_EDAMAGED,
 * "observations.csv:LINE: ..."), changing nothing; cuts a torn last line
 * (no line end) back to the last newline with a warning on stderr. Reads the
 * rows the saved state (DIR/.state) does not cover yet, or all of them.
 * On success *out is the caller's, freed by obslog_close(). Errors: a
 * one-line message in err.
 * The folder is opened once, as common/datadir.h says: a symlink, a folder
 * others can write or own (unless OBSLOG_INSECURE_DIR), and any name of it
 * that is not a regular file are refused with DP_EUNSAFE before anything is
 * written (obslog_check_folder). */
int obslog_open(const char *dir, unsigned lock_wait_ms, int flags, struct obslog **out, char *err,
                size_t errlen);
/* The last round in the log + 1 (1 for an empty log). */
uint32_t obslog_next_round(const struct obslog *l);
/* Appends whole rows, then fsyncs. Rows must not go back in rounds
 * (round >= the last round in the log), else DP_EINPUT. On a write error the
 * log is cut back to where it was. */
int obslog_append(struct obslog *l, const struct obs *rows, size_t n, char *err, size_t errlen);
/* Appends rows already written in the log's form (obslog_columns; each
 * line CRLF-ended, as obs_write_row_cols writes them), the first of round
 * first_round and none going back in rounds, then fsyncs and reads them back
 * into the aggregates: lines that do not read back as rows are taken out
 * again and refused (DP_EDAMAGED). For merge, which copies rows it has
 * already read and checked. */
int obslog_append_lines(struct obslog *l, const char *buf, size_t len, uint32_t first_round,
                        char *err, size_t errlen);
/* Many rows for one obslog_append: the rows and their strings are copied
 * into the batch (owned by it). Zero-initialize; obs_batch_deinit frees. */
struct obs_batch {
    struct obs *rows; /* owned; their strings are offsets into text until appended */
    size_t n, cap;
    char *text; /* owned */
    size_t ntext, captext;
};
/* Copies o (with its round replaced by `round`). 0 or DP_ENOMEM. */
int obs_batch_add(struct obs_batch *b, const struct obs *o, uint32_t round);
/* Whether the batch is big enough to append now (32768 rows or 8 MiB). */
bool obs_batch_full(const struct obs_batch *b);
/* obslog_append of every row in the batch, which is then empty. */
int obs_batch_append(struct obs_batch *b, struct obslog *l, char *err, size_t errlen);
void obs_batch_deinit(struct obs_batch *b);
/* Where the log ends now, and cutting it back there (after rows appended
 * by a run that then fails: all or nothing; the caller then closes the log
 * without a refresh). */
uint64_t obslog_mark(const struct obslog *l);
void obslog_rollback(struct obslog *l, uint64_t mark);

/* Whether the open read only the rows after DIR/.state (true) or the whole
 * log (false: no state, a state that does not match, or OBSLOG_REBUILD). */
bool obslog_from_state(const struct obslog *l);
/* The log's columns: OBS_NCOLUMNS, or OBS_NCOLUMNS_V1 for a log written
 * before site,ede existed. obslog_append writes rows in that form (site and
 * ede dropped) and, the first time, unless OBSLOG_QUIET, says so once on
 * stderr and names `dnsprop report --upgrade`. */
unsigned obslog_columns(const struct obslog *l);

/* Rewrites a 17-column log of folder `dir` in the current form, once: under
 * the lock (waiting up to lock_wait_ms), after reading the whole log back
 * (damage refuses it with nothing changed), into a temporary file in the
 * folder with every old line's bytes kept and ",," (empty site,ede) added,
 * fsync, then rename over observations.csv and fsync of the folder. A crash
 * at any point leaves either the old log or the new one, whole. *rows gets
 * the rows rewritten; *upgraded is false when the log already had the
 * current columns (nothing is changed then). Returns 0, or a negative code
 * with a message in err. */
int obslog_upgrade(const char *dir, unsigned lock_wait_ms, bool *upgraded, uint64_t *rows,
                   char *err, size_t errlen);
/* The same with OBSLOG_INSECURE_DIR and OBSLOG_NOWARN (the only flags it
 * takes from the caller). */
int obslog_upgrade_flags(const char *dir, int flags, unsigned lock_wait_ms, bool *upgraded,
                         uint64_t *rows, char *err, size_t errlen);
/* Releases the lock and everything; NULL is fine. */
void obslog_close(struct obslog *l);
/* The data folder and log path (owned by l). */
const char *obslog_dir(const struct obslog *l);
/* The open data folder (owned by l), for other files a command keeps there:
 * open them with datadir_openat_file / datadir_replace (common/datadir.h). */
struct datadir;
const struct datadir *obslog_datadir(const struct obslog *l);
/* Checks every name dnsprop reads or writes in an open data folder (the
 * log, .lock, .state, settings.csv, the reports, the old fixed temporary
 * names): each must be absent or a regular file (datadir_check). obslog_open
 * does it before its first write; a command that changes the folder before
 * that (demo's clean-up) calls it first. 0, DP_EUNSAFE, or -errno; err set. */
int obslog_check_folder(const struct datadir *dd, char *err, size_t errlen);

/* Reads a log without locking or changing it: cb is called once per row with
 * the row's line number (strings borrowed for the call only). A torn last
 * line is skipped with a warning on stderr. cb returning non-zero stops the
 * read and is returned. Damage: DP_EDAMAGED/DP_EFORMAT, message in err.
 * The log may be anyone's (a merge source): it is opened with
 * datadir_open_read, so a symlink is followed only to a regular file and a
 * FIFO or a device is refused (DP_EUNSAFE) without being opened. */
int obslog_read(const char *path, int (*cb)(const struct obs *o, unsigned line, void *arg),
                void *arg, char *err, size_t errlen);

/* ---- merge (reports/merge.c) ---- */
struct merge_stats {
    size_t sources;           /* source folders read */
    uint64_t rows_new;        /* rows this log did not hold */
    uint64_t rows_held;       /* rows it held already (full comparison only) */
    uint64_t rows_appended;   /* = rows_new after a merge that succeeded */
    uint64_t rounds_appended; /* new rounds: one per (vantage, round) group of a source */
    bool incremental;         /* DIR/.merge matched: only rows after the last merge were read */
};

/* `dnsprop merge`: appends to l (opened and locked by obslog_open) every row
 * of the logs DIRS[i]/observations.csv that l does not hold yet; rows keep
 * their vantage and time, each (vantage, round) group of a source becomes one
 * new round of l, in the order of the groups' first times (reports/merge.c
 * says why). Sources are only read; a symlink is followed to a regular file
 * only. A damaged source (DP_EDAMAGED, "PATH:LINE: ..."), a source of
 * another version (DP_EFORMAT), or two places that hold different rows for
 * one vantage (DP_EINPUT, both named) are refused before anything is
 * appended; a write error cuts l's log back to where it was. Remembers how
 * far each source was merged in DIR/.merge, so that the next merge reads only
 * what was added since. The caller refreshes the reports. Returns 0 or a
 * negative code with a one-line message in err. */
int obslog_merge(struct obslog *l, const char *const *dirs, size_t ndirs, struct merge_stats *st,
                 char *err, size_t errlen);

/* The per-domain settings of merge's sources (SRCDIR/settings.csv, absent:
 * none): a domain l's folder has no settings for takes the first source's;
 * where a source's differ from the folder's, the folder's are kept and, when
 * saving, one warning line on stderr names the domain and both folders.
 * save false only reads and checks every file (before anything is
 * appended); save true also writes DIR/settings.csv when a domain was taken.
 * A bad source file is DP_EINPUT with its path and line in err. Returns 0 or
 * a negative code with err set. */
int report_merge_settings(struct obslog *l, const char *const *dirs, size_t ndirs, bool save,
                          char *err, size_t errlen);

/* ---- reports ---- */
/* Per-domain settings the log cannot carry (saved in DIR/settings.csv). */
struct report_settings {
    const char *domain;  /* borrowed; lower case, no final dot */
    const char *profile; /* borrowed; "m365" or NULL/"" for none */
    bool single_mx;      /* single MX required (m365 implies it) */
    uint64_t window_s;   /* propagation window, seconds (0: the default 72h) */
    int64_t since;       /* Unix seconds; -1: the domain's first round */
    uint64_t old_ttl_s;  /* --old-ttl, seconds; 0: not given (a saved value is kept) */
};

/* Overrides for one rendering (dnsprop report --window/--since): applied to
 * every domain, never saved. */
struct report_override {
    uint64_t window_s; /* 0: keep */
    int64_t since;     /* -1: keep */
};

#define REPORT_STATUS_MAX 1024
struct report_outcome {
    int exit_status;                     /* enum dp_exit: 0, 1 or 2 */
    int64_t window_end;                  /* the latest window end over the domains; 0 none */
    char status_line[REPORT_STATUS_MAX]; /* DNSPROP OK - ... | perfdata */
};

/* Brings the reports of l's folder up to date with everything in the log:
 * finishes the rounds read or appended since the last refresh, merges `s`
 * (ns entries; may be NULL) into DIR/settings.csv (saved atomically unless
 * ov is given), and replaces convergence.csv, timeline.csv,
 * mx_compliance.csv, summary.csv, convergence.svg and DIR/.state, each
 * atomically. Fills *out (may be NULL). Returns 0 or a negative code with a
 * message in err. */
int report_refresh(struct obslog *l, const struct report_settings *s, size_t ns,
                   const struct report_override *ov, struct report_outcome *out, char *err,
                   size_t errlen);

/* The report command's work: opens dir (which must hold a log), reads the
 * whole log ignoring .state, and rewrites every report (settings from
 * settings.csv, then ov). Returns 0 or a negative code with err set. */
int report_rebuild(const char *dir, unsigned lock_wait_ms, const struct report_override *ov,
                   struct report_outcome *out, char *err, size_t errlen);
/* The same with more OBSLOG_* flags for the open (OBSLOG_INSECURE_DIR). */
int report_rebuild_flags(const char *dir, int obslog_flags, unsigned lock_wait_ms,
                         const struct report_override *ov, struct report_outcome *out, char *err,
                         size_t errlen);

/* One row of summary.csv, as the last refresh drew it: the figures the
 * Prometheus text (report_write_prometheus) exposes, taken from the same
 * judgement as the CSV so the two can never disagree. */
struct report_summary {
    char *domain;     /* owned by the array's owner: lower case, no final dot */
    char *check;      /* owned likewise: mx, spf, ... */
    uint32_t servers; /* resolvers ((vantage, server) pairs) in the latest rounds */
    uint32_t converged, stale, errors;
    uint32_t overdue;   /* resolvers not converged that broke their TTL promise */
    int64_t eta;        /* Unix seconds; -1 when none is stale (eta_utc empty) */
    int64_t window_end; /* Unix seconds (window_ends_utc) */
    int64_t deadline;   /* Unix seconds (deadline_utc: change + old TTL); -1 unknown */
    int64_t last_round; /* Unix seconds: the start of the latest round (over vantages) */
    const char *status; /* "converged", "propagating", "expired", "critical" (static) */
    int exit_status;    /* the status as enum dp_exit: 0, 1 or 2 */
};

/* The summary rows of the last report_refresh on l, in summary.csv's order
 * (NULL and *n = 0 before the first). Owned by l: valid until the next
 * refresh or obslog_close. */
const struct report_summary *report_summary(const struct obslog *l, size_t *n);

/* Writes rows as Prometheus text exposition (format 0.0.4) to path, for
 * node_exporter's textfile collector: one gauge family per figure, labelled
 * domain and check (values escaped), with HELP and TYPE lines. Atomic: a
 * temporary file with an unpredictable name in path's folder (created with
 * O_EXCL|O_NOFOLLOW, never through a symlink), fsync, rename over path, fsync
 * of the folder. Returns 0, or a negative code with a one-line message in
 * err (the temporary file is removed). */
int report_write_prometheus(const char *path, const struct report_summary *rows, size_t n,
                            char *err, size_t errlen);
/* Renders the same text into a memory buffer (*out malloc'd, the caller
 * frees; *len bytes). Returns 0 or DP_ENOMEM. */
int report_prometheus_text(const struct report_summary *rows, size_t n, char **out, size_t *len);
/* Checks before a run that path can take the Prometheus text: its folder
 * exists and is a folder, and path itself is absent or a regular file (a
 * symlink to one is fine: rename replaces the link). Returns 0 or DP_EINPUT
 * with a one-line message in err. Changes nothing. */
int report_prometheus_check_path(const char *path, char *err, size_t errlen);

/* The default lock wait (PRODUCT.md section 9). */
#define REPORT_LOCK_WAIT_MS     30000
#define REPORT_DEFAULT_WINDOW_S (72 * 3600)

#endif
