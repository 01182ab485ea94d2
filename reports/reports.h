/*
 * reports: the observation log (observations.csv, the truth) and everything
 * derived from it: convergence.csv, timeline.csv, mx_compliance.csv,
 * summary.csv and convergence.svg (PRODUCT.md sections 4, 6 and 9).
 *
 * This header is the module's one public interface. The observation model
 * below is shared by the whole program: the engine fills it, the log stores it,
 * the reports read it.
 */
#ifndef DNSPROP_REPORTS_H
#define DNSPROP_REPORTS_H

#include "common/dnsprop.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Outcome of one query (the `status` column). Keep in step with obs_status_name(). */
enum obs_status {
    OBS_OK = 0,      /* an answer with records of the asked type */
    OBS_NXDOMAIN,    /* the name does not exist */
    OBS_NODATA,      /* the name exists, no records of that type */
    OBS_SERVFAIL,    /* rcode SERVFAIL, or another error rcode (kept in rcode) */
    OBS_REFUSED,     /* rcode REFUSED */
    OBS_TIMEOUT,     /* no valid reply within timeout x tries */
    OBS_UNREACHABLE, /* ICMP unreachable / connection refused / no route */
    OBS_MALFORMED,   /* a reply came from the server but does not parse */
    OBS_STATUS_COUNT
};

/* Whether the answer matched the expectation (the `match` column). */
enum obs_match {
    OBS_MATCH_NONE = 0, /* nothing expected: empty field */
    OBS_MATCH_YES,
    OBS_MATCH_NO,
};

/* One row of observations.csv. Strings are borrowed: whoever fills the struct
 * owns them and keeps them alive while it is in use. NULL and "" both mean an
 * empty field. */
struct obs {
    int64_t time;        /* Unix seconds, UTC (time_utc) */
    const char *vantage; /* where the run stood */
    uint32_t round;      /* round number, from 1, per data folder */
    const char *domain;  /* the monitored domain, lower case, no final dot */
    const char *check;   /* mx, spf, autodiscover, dkim, dmarc, ns, soa, a, aaaa, txt */
    const char *qname;   /* the name asked, lower case, with final dot */
    const char *qtype;   /* "MX", "TXT", ... */
    const char *server;  /* resolver name, or "auth:NSNAME" */
    const char *address; /* "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53" */
    bool tcp;            /* transport: tcp (true) or udp */
    enum obs_status status;
    int rcode;            /* DNS rcode of the reply, -1 when none came */
    int64_t latency_ms;   /* -1 when no reply */
    int64_t ttl;          /* smallest TTL as served (negative TTL for nxdomain/nodata); -1 none */
    const char *answer;   /* normalized RRset (see engine), "" when none */
    const char *expected; /* normalized expected value, "" when nothing expected */
    enum obs_match match;
};

/* "ok", "nxdomain", ... ; NULL for an out-of-range value. */
const char *obs_status_name(enum obs_status s);
/* Parses a status name; returns 0 or DP_EINPUT. */
int obs_status_parse(const char *s, size_t len, enum obs_status *out);

/* The observations.csv header, without line end. */
#define OBS_HEADER                                                                                 \
    "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,"       \
    "latency_ms,ttl,answer,expected,match"

/* ---- delegation texts (reports/deleg.c) ---- */
/* The `answer` of a `delegation` row (written by monitor/delegation.c, read
 * here by the reports), in printable ASCII:
 *
 *   TEXT  = NSSET *( " ; " PART )
 *   NSSET = "" | NAME *( " | " NAME )   the NS targets: lower case, final dot,
 *                                       sorted bytewise, each once
 *   PART  = "glue " NAME " " ( "A" | "AAAA" ) " " ADDRESS
 *                                       an address of a name of NSSET from the
 *                                       additional section; sorted bytewise
 *         | "aa"                        last: the NS set was the answer of an
 *                                       authoritative server (AA set), not a referral
 *
 * e.g. "ns1.contoso.test. | ns2.example.net. ; glue ns1.contoso.test. A 192.0.2.1".
 * Names are in presentation form, so a space or ';' inside a label is
 * escaped (\032, \;) and " ; " and " | " only ever separate. */
#define DELEG_PART_SEP " ; "
/* Bytes of the NSSET part of text. */
size_t deleg_text_nslen(const char *text);
/* Whether text ends with the "aa" part. */
bool deleg_text_aa(const char *text);
/* The glue addresses of type ("A" or "AAAA") for name (lower case, final
 * dot), " | "-joined in text order, into *out (malloc'd, "" for none); *any
 * (may be NULL) tells whether the name has glue of either type. 0 or
 * DP_ENOMEM. */
int deleg_text_glue(const char *text, const char *name, const char *type, char **out, bool *any);
/* Every glue part as "NAME TYPE ADDRESS", " | "-joined (for the glue column
 * of delegation.csv); *out malloc'd. 0 or DP_ENOMEM. */
int deleg_text_glue_list(const char *text, char **out);
/* Whether name (final dot optional) is domain (no final dot) or below it:
 * in-bailiwick of the child, where glue is the child's own data. */
bool deleg_in_domain(const char *name, const char *domain);

/* ---- csv ---- */
/* The one CSV writer (reports/csv.c) for every file dnsprop writes: RFC 4180
 * quoting only where needed, CRLF, ASCII only (other bytes as \DDD), and a
 * leading ' on any field starting with = + - @ TAB CR or ' (so no field runs
 * as a spreadsheet formula; the reader strips exactly that one '). Rows are
 * built in a growing memory buffer; the caller writes w->buf/w->len out.
 * Errors are sticky: after an allocation failure every call is a no-op and
 * csvw_error() returns DP_ENOMEM. */
struct csvw {
    char *buf;          /* owned; the rows written so far */
    size_t len;         /* bytes used in buf */
    size_t cap;         /* bytes allocated */
    bool row_open;      /* a field was written since the last csvw_end() */
    int err;            /* 0 or DP_ENOMEM */
    bool time_valid;    /* time_text holds the text of time_t */
    int64_t time_last;  /* the last time written */
    char time_text[20]; /* its YYYY-MM-DD HH:MM:SS */
};
void csvw_init(struct csvw *w);
void csvw_deinit(struct csvw *w);
void csvw_clear(struct csvw *w); /* forget the rows, keep the memory */
int csvw_error(const struct csvw *w);
void csvw_field(struct csvw *w, const char *s, size_t len); /* s NULL: empty */
void csvw_str(struct csvw *w, const char *s);               /* NULL or "": empty */
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
};
void csvr_init(struct csvr *r);
void csvr_deinit(struct csvr *r);
int csvr_split(struct csvr *r, const char *line, size_t len, const char **why);

/* ---- log ---- */
/* observations.csv (reports/obslog.c). One row per struct obs, OBS_HEADER
 * columns. rcode is the ldns mnemonic (NOERROR, NXDOMAIN, SERVFAIL, REFUSED,
 * FORMERR, NOTIMPL, ...; a number for rcodes without one), empty when -1;
 * latency_ms and ttl empty when -1; transport udp/tcp; match yes/no/empty. */

/* Appends one row (with CRLF) to w. */
void obs_write_row(struct csvw *w, const struct obs *o);
/* Prints OBS_HEADER and one row to f (for `dnsprop query`). Returns 0 or DP_EIO. */
int obs_print(FILE *f, const struct obs *o, bool header);
/* Parses one line of observations.csv. On success fills *o with strings
 * borrowed from r (valid until the next csvr_split on r) and returns 0;
 * otherwise DP_EINPUT with a message (no file or line prefix) in why. */
int obs_parse_line(struct csvr *r, const char *line, size_t len, struct obs *o, char *why,
                   size_t whylen);

struct obslog;

/* Flags of obslog_open. */
enum {
    OBSLOG_NOCREATE = 1, /* the folder and the log must exist (the report command) */
    OBSLOG_REBUILD = 2,  /* ignore DIR/.state: read the whole log */
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
 * one-line message in err. */
int obslog_open(const char *dir, unsigned lock_wait_ms, int flags, struct obslog **out, char *err,
                size_t errlen);
/* The last round in the log + 1 (1 for an empty log). */
uint32_t obslog_next_round(const struct obslog *l);
/* Appends whole rows, then fsyncs. Rows must not go back in rounds
 * (round >= the last round in the log), else DP_EINPUT. On a write error the
 * log is cut back to where it was. */
int obslog_append(struct obslog *l, const struct obs *rows, size_t n, char *err, size_t errlen);
/* Whether the open read only the rows after DIR/.state (true) or the whole
 * log (false: no state, a state that does not match, or OBSLOG_REBUILD). */
bool obslog_from_state(const struct obslog *l);
/* Releases the lock and everything; NULL is fine. */
void obslog_close(struct obslog *l);
/* The data folder and log path (owned by l). */
const char *obslog_dir(const struct obslog *l);

/* Reads a log without locking or changing it: cb is called once per row with
 * the row's line number (strings borrowed for the call only). A torn last
 * line is skipped with a warning on stderr. cb returning non-zero stops the
 * read and is returned. Damage: DP_EDAMAGED/DP_EFORMAT, message in err. */
int obslog_read(const char *path, int (*cb)(const struct obs *o, unsigned line, void *arg),
                void *arg, char *err, size_t errlen);

/* ---- reports ---- */
/* Per-domain settings the log cannot carry (saved in DIR/settings.csv). */
struct report_settings {
    const char *domain;  /* borrowed; lower case, no final dot */
    const char *profile; /* borrowed; "m365" or NULL/"" for none */
    bool single_mx;      /* single MX required (m365 implies it) */
    uint64_t window_s;   /* propagation window, seconds (0: the default 72h) */
    int64_t since;       /* Unix seconds; -1: the domain's first round */
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

/* The default lock wait (PRODUCT.md section 9). */
#define REPORT_LOCK_WAIT_MS     30000
#define REPORT_DEFAULT_WINDOW_S (72 * 3600)

#endif
