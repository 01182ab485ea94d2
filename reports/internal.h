/*
 * reports: declarations shared by the files of this folder only (rep__
 * prefix). Not part of the module's interface: see reports/reports.h.
 *
 * The files, each using only those before it:
 *   csv.c       the one CSV writer and reader (csvw_*, csvr_*)
 *   row.c       one observation row and back (obs_write_row*, obs_parse_line*,
 *               obs_header_columns)
 *   agg.c       the aggregates: rows in, per-server findings out; no files
 *   obslog.c    observations.csv: open and lock, read rows into the
 *               aggregates, append, upgrade; the batches of rows
 *   state.c     DIR/.state: the aggregates written and read back, nothing else
 *   settings.c  DIR/settings.csv: each domain's settings
 *   render.c    the reports drawn from the aggregates and the settings
 *   report.c    the entry points that tie them together: open the log, try
 *               the state, read the tail; refresh = finish, settings,
 *               render, save the state
 *   merge.c     dnsprop merge (other vantages' logs appended to this one)
 *   prom.c      the Prometheus text of the last refresh
 */
#ifndef DNSPROP_REPORTS_INTERNAL_H
#define DNSPROP_REPORTS_INTERNAL_H

#include "datadir.h"
#include "reports.h"

#include <sys/types.h>

/* ---- row.c: a row as it reads back ---- */

/* The row the reader gives back (obs_parse_line_cols) for the line
 * obs_write_row_cols writes of o in a log of ncolumns, in *back (strings
 * are o's, "" for NULL), when that is known without the text: true when
 * every string of o is printable ASCII (the caller makes sure: the writer
 * escaped nothing, see csvw.escaped) and the line would read back at all.
 * False when only the line read back can tell (a time, rcode or ede the
 * reader refuses, a required column empty). */
bool rep__row_read_back(const struct obs *o, unsigned ncolumns, struct obs *back);

/* ---- obslog.c: the log ---- */

struct obslog {
    struct datadir dd; /* the folder, opened once: every file is reached through it */
    char *dir;         /* owned */
    char *path;        /* owned: DIR/observations.csv */
    int lockfd;        /* DIR/.lock, flocked */
    bool lock_created; /* this run created DIR/.lock (O_EXCL) */
    int fd;            /* the log, O_RDWR|O_APPEND */
    dev_t dev;         /* of the log: part of the state's fingerprint */
    ino_t ino;
    uint64_t size;       /* bytes of the log, all read into agg */
    uint64_t header_len; /* bytes of the header line, CRLF included */
    unsigned ncols;      /* OBS_NCOLUMNS, or OBS_NCOLUMNS_V1 for a log of the older form */
    bool quiet;          /* OBSLOG_QUIET: no notice about the older form */
    bool notified;       /* the notice about the older form was given */
    unsigned lines;      /* lines in the log, the header included */
    uint32_t last_round; /* highest round in the log, 0 for none */
    struct rep_agg *agg; /* owned */
    bool from_state;     /* agg started from DIR/.state, not from line 2 */
    struct csvr rd;      /* scratch for reading rows */

    /* owned: the summary rows of the last refresh (report_summary), drawn by
     * render.c, freed by obslog_close (report.c) */
    struct report_summary *summary;
    size_t nsummary;
};

/* Opens DIR's log for a run (OBSLOG_* flags; OBSLOG_REBUILD is the
 * caller's): the folder checked, the lock taken, the log created with its
 * header or its header checked. Nothing is read yet: l->agg is NULL and
 * l->size covers the header alone. On failure nothing is left open and
 * nothing created stays (rep__log_refuse). */
int rep__log_open(const char *dir, unsigned lock_wait_ms, int flags, struct obslog **out, char *err,
                  size_t errlen);
/* The log takes a (owned from now) as the aggregates of its first `covered`
 * bytes, `lines` lines (a saved state that matched the log). */
void rep__log_resume(struct obslog *l, struct rep_agg *a, uint64_t covered, unsigned lines);
/* Reads the rest of the log into l->agg (a fresh one if none), cuts off a
 * torn last line once everything before it read back fine, and sweeps what
 * a killed upgrade left. */
int rep__log_read(struct obslog *l, char *err, size_t errlen);
/* Closes l after a failed open (rc: why), first removing the lock file if
 * this run made it and the log was refused (damaged, another version,
 * unsafe), so that a refusal leaves the folder as it was. NULL is fine. */
void rep__log_refuse(struct obslog *l, int rc);
/* Closes the log (releasing the lock last) and frees l with what it owns,
 * but for the summary rows, which are render.c's (obslog_close, in
 * report.c, frees them first). NULL is fine. */
void rep__log_close(struct obslog *l);
/* Reads and checks the header line of the log open at fd (read from offset
 * 0): its form in *ncols (OBS_NCOLUMNS or OBS_NCOLUMNS_V1), its length,
 * CRLF included, in *header_len. A read error names path (DP_EIO); a
 * missing or unknown header names name, line 1 (DP_EFORMAT). The outputs
 * are plain variables, not fields of the caller's struct, so the analyzer
 * sees that struct's pointers survive the call.
 * Used by rep__log_open and by merge.c for each source log. */
int rep__header_read(int fd, const char *path, const char *name, unsigned *ncols,
                     uint64_t *header_len, char *err, size_t errlen);
/* Tests only: when set, obslog_append always reads the rows it appended
 * back from the file, as it does when they cannot be fed from memory (so a
 * test can compare both ways). */
extern bool obslog__test_read_back;
/* Reads rows from l->size to the end of the file into l->agg (restarting
 * from scratch when asked to): rep__log_read, and after each append. */
int rep__read_tail(struct obslog *l, char *err, size_t errlen);
/* Writes whole lines (CRLF-ended, in the log's form) at the end of the log
 * and fsyncs, for rows the caller has already fed to l->agg itself, in the
 * same order and with the values they read back as (merge, which copies
 * rows it has parsed): l->size, lines and last_round follow. On a write
 * error this batch is cut off again. */
int rep__append_fed(struct obslog *l, const char *buf, size_t len, unsigned nlines,
                    uint32_t last_round, char *err, size_t errlen);
/* Reads the whole log again into a fresh agg. */
int rep__read_all(struct obslog *l, char *err, size_t errlen);

/* DIR/NAME, malloc'd (the caller frees); NULL: no memory. */
char *rep__path_join(const char *dir, const char *name);

/* ---- agg.c: the aggregates, filled by agg.c, saved by state.c, drawn by render.c ---- */

/* A map from a 64-bit key to an index, open addressing. */
struct rep_map {
    uint64_t *keys; /* owned */
    uint32_t *vals; /* owned; index + 1, 0 = free */
    uint32_t nslots, n;
};

enum rep_state { REP_PENDING = 0, REP_CONVERGED, REP_STALE, REP_ERROR };

/* MX findings, independent of the settings; the verdict is drawn at render
 * time because --single-mx is a setting. */
enum {
    REP_MX_NONE = 1 << 0,     /* no-mx */
    REP_MX_NULL = 1 << 1,     /* null-mx */
    REP_MX_MISMATCH = 1 << 2, /* target-mismatch */
    REP_MX_CNAME = 1 << 3,    /* target-is-cname */
    REP_MX_IP = 1 << 4,       /* target-is-ip */
    REP_MX_UNRES = 1 << 5,    /* target-unresolvable */
    /* 1 << 6 was the legacy + mx.microsoft pair, judged now at render time
     * by the rules (check_mx_reasons_multiple); a state saved with it set
     * means nothing more */
};

struct rep_dom {
    uint32_t name;      /* string id */
    int64_t first_time; /* of its first row: "since" by default */
    int64_t last_time;  /* of its latest row */
};

/* One vantage (the log's `vantage` column): rounds are numbered per vantage
 * (a merged log holds several vantages' rounds 1, 2, ...). */
struct rep_van {
    uint32_t name;            /* string id */
    uint32_t finalized_round; /* its last finished round, 0 none */
};

/* One (domain, check). */
struct rep_dc {
    uint32_t dom, check; /* rep_dom index, string id */
};

/* One (domain, check, vantage): its latest round, and what it saw of the
 * authoritative servers' change. Counts are over resolvers only. */
struct rep_dcv {
    uint32_t dc, van; /* rep_dc, rep_van indices */
    uint32_t round;   /* latest round */
    int64_t time;     /* earliest row time in that round */
    uint32_t servers, conv, stale, errors, pending;
    bool auth_mismatch; /* an auth: row with match=no in that round */
    bool auth_disagree; /* auth: servers gave different answers in that round */
    uint32_t grp_head;  /* open round: first group of this dcv + 1, 0 none */
    uint32_t grp_tail;  /* open round: its last group + 1 */
    /* open round, while it is finished: the auth: answer served as expected
     * (hash, 0 none), its largest TTL, the largest TTL of other answers */
    uint64_t t_yes;
    int64_t t_yes_ttl, t_other_ttl;
    /* the change (PRODUCT.md section 6, deadline): the answer the auth:
     * servers serve as expected (a hash, 0 none yet) and the largest TTL
     * they gave it; the largest TTL of other answers they served before it
     * (pre_ttl); the round in which the expected answer first came
     * (change_time) and the largest TTL of the answer it replaced */
    uint64_t cur;
    int64_t cur_ttl, pre_ttl, change_time, old_ttl; /* -1: none */
    uint8_t deleg;  /* delegation: REP_DELEG_* found in its latest round */
    bool auth_seen; /* an auth: server answered (ok, nxdomain, nodata) once */
};

/* One (domain, check, vantage, server): where it stands. */
struct rep_dcs {
    uint32_t dc;              /* rep_dc index */
    uint32_t dcv;             /* rep_dcv index */
    uint32_t server, address; /* string ids; address as last seen */
    bool auth;                /* server is "auth:..." */
    uint8_t state;            /* enum rep_state */
    bool streak;              /* in a matching streak */
    bool overdue;             /* a site broke its promise and has not converged since */
    bool unreachable;         /* its latest query of the check's own type was unreachable */
    int64_t matching_since, first_match, last_mismatch, stale_exp, last_time; /* -1: none */
    uint32_t flaps, rounds, errors, last_round;
    uint32_t nsites;    /* distinct sites that answered */
    uint32_t site_head; /* its first rep_site + 1, 0 none */
    char *answer;       /* owned: current_answer */
};

/* One (domain, check, vantage, server, site): the promise a cache behind
 * the address gave (PRODUCT.md section 6, sites). */
struct rep_site {
    uint32_t dcs;    /* rep_dcs index */
    uint32_t site;   /* string id of the NSID, "" for none */
    uint32_t next;   /* the next site of the same dcs + 1, 0 = last */
    bool answered;   /* it answered (ok, nxdomain, nodata) at least once */
    bool overdue;    /* it answered stale after its promise, not converged since */
    int64_t exp;     /* its latest answer was stale: time + TTL; -1 otherwise */
    int64_t promise; /* the earliest expiry its stale answers gave since it last matched */
};

/* One (domain, vantage, server) MX verdict in its latest round. */
struct rep_mx {
    uint32_t dom, dc, van, server, address; /* dc: the domain's mx check */
    bool auth, failed;
    uint32_t round, count, flags;
    int64_t time;
    char *hosts; /* owned: lower case, sorted, " | "-joined */
};

/* The delegation check's findings (reasons of delegation.csv). */
enum {
    REP_DELEG_MISMATCH = 1 << 0, /* delegation-mismatch: the parent's NS set is not the child's */
    REP_DELEG_GLUE = 1 << 1,     /* glue-mismatch: in-domain glue is not the child's A/AAAA */
    REP_DELEG_LAME = 1 << 2,     /* lame-delegation: a server it names does not serve the domain */
};
#define REP_DELEG_ALL 7

/* One (domain, vantage, parent server) referral in its latest round. */
struct rep_deleg {
    uint32_t dom, dc, van, server, address; /* dc: the domain's delegation check */
    uint32_t round;
    int64_t time, ttl;
    uint8_t status, flags;
    int64_t old_ttl; /* largest NS TTL of a referral to other servers than the child's; -1 */
    int64_t changed; /* first round it named the child's servers after that; -1 */
    char *answer;    /* owned: the referral text */
    char *child;     /* owned: the child's NS set it was compared with ("" unknown) */
    char *lame;      /* owned: the lame servers it names, " | "-joined */
};

/* Percent converged per (check, vantage) over time, at most REP_SERIES_MAX
 * points: when full, neighbours are merged and each point then covers twice
 * as many rounds (k). The same rounds in the same order give the same
 * points, so an incremental refresh draws what a rebuild draws. The chart
 * draws one line per check over all vantages from these. The points grow
 * as they come (rep__series_room): an import of 1,000 Atlas probes has
 * 1,000 series of a few hundred points, not 1,000 of REP_SERIES_MAX. */
#define REP_SERIES_MAX 512
struct rep_point {
    int64_t t;               /* time of the first round in the point */
    uint32_t round, nrounds; /* last round in it, rounds in it */
    uint64_t conv, servers;  /* sums over domains and rounds */
};
struct rep_series {
    uint32_t check;        /* string id */
    uint32_t van;          /* rep_van index */
    uint32_t k;            /* rounds per point */
    uint32_t n, cap;       /* points, room for */
    struct rep_point *pts; /* owned: n of them, n <= REP_SERIES_MAX */
};

struct rep_agg {
    struct dp_strtab str;
    struct rep_dom *doms; /* owned arrays, in order of first appearance */
    struct rep_van *vans;
    struct rep_dc *dcs;
    struct rep_dcv *dcvs;
    struct rep_dcs *dcss;
    struct rep_site *sites;
    struct rep_mx *mxs;
    struct rep_series *ser;
    struct rep_deleg *dels;
    uint32_t ndoms, nvans, ndcs, ndcvs, ndcss, nsites, nmxs, nser, ndels;
    uint32_t capdoms, capvans, capdcs, capdcvs, capdcss, capsites, capmxs, capser, capdels;
    struct rep_map dommap, vanmap, dcmap, dcvmap, dcsmap, sitemap, mxmap, sermap, delmap;
    /* The open round: rows of one (vantage, round) in a row of the log;
     * a row of any other vantage or round finishes it. */
    uint32_t open_van;   /* rep_van index + 1, 0 none */
    uint32_t open_round; /* 0 none */
    uint32_t last_round; /* highest round over all vantages */
    void *open;          /* owned: the open round's rows (agg.c) */
    /* timeline.csv: rows of rounds finished since the file was last
     * written, and the fingerprint of the file as last written. Past 1 MiB
     * the rows move to tl_fd (agg.c's tl_spill): an unnamed file in the
     * folder tl_dirfd (the log's, not owned; -1: rows stay in memory), the
     * header and then the first rows, tl_spilled bytes of it; tl holds the
     * rows after them. */
    struct csvw tl;
    int tl_dirfd, tl_fd; /* tl_fd owned, -1 none */
    uint64_t tl_spilled;
    bool tl_valid;
    uint64_t tl_dev, tl_ino, tl_size, tl_mtime_ns;
};

#define REP_TIMELINE_HEADER                                                                        \
    "time_utc,round,domain,check,servers,converged,stale,errors,percent_converged,vantage\r\n"

/* The share of servers converged, as percent_converged (timeline.csv and
 * summary.csv) writes it: one decimal, rounded half up ("66.7"); the empty
 * field when there are no servers. */
void rep__put_percent(struct csvw *w, uint32_t conv, uint32_t servers);

/* Writes the spilled timeline rows (without the header) to fd, opened to
 * append. 0, DP_EIO (errno set) or DP_ENOMEM. */
int rep__timeline_copy_spilled(const struct rep_agg *a, int fd);
/* The pending timeline rows are in timeline.csv now: forgets them. */
void rep__timeline_written(struct rep_agg *a);

/* Room in s for its point s->n (s->n < REP_SERIES_MAX). 0 or DP_ENOMEM. */
int rep__series_room(struct rep_series *s);

/* The id of s, added if new; UINT32_MAX: no memory. */
static inline uint32_t rep__str(struct dp_strtab *t, const char *s, size_t len)
{
    return dp_strtab_add(t, s, len);
}
/* Makes room in *arr (elements of size sz, *cap of them) for element n: doubles
 * the capacity (16 at first) when n has reached it. 0 or DP_ENOMEM. */
int rep__grow(void **arr, uint32_t *cap, uint32_t n, size_t sz);
/* rep__grow for the array a->F counted by a->nF, with room a->capF */
#define REP_GROW(a, f) rep__grow((void **)&(a)->f, &(a)->cap##f, (a)->n##f, sizeof *(a)->f)
/* The index stored for key, or UINT32_MAX when absent. */
uint32_t rep__map_get(const struct rep_map *m, uint64_t key);
/* Stores val for key (replacing an old one). 0 or DP_ENOMEM. */
int rep__map_put(struct rep_map *m, uint64_t key, uint32_t val);
/* The id of "SERVER ADDRESS VANTAGE" (names and addresses hold no space, so the vantage is all that
 * follows the second one): a server is known by its name and address together (an NS name with an
 * IPv4 and an IPv6 address is two servers), and as seen from one vantage. UINT32_MAX: no memory. */
uint32_t rep__server_key(struct dp_strtab *t, uint32_t vantage, uint32_t server, uint32_t address);

/* rep__agg_add's answer when a row belongs to a round that was already
 * finished (rows appended to a round after a refresh): the caller reads the
 * whole log again from scratch. */
#define REP__RESTART 1

struct rep_agg *rep__agg_new(void);
void rep__agg_free(struct rep_agg *a);
/* Adds one row (already validated). Returns 0, REP__RESTART, DP_EDAMAGED (a
 * round lower than one before it; why says so) or DP_ENOMEM. */
int rep__agg_add(struct rep_agg *a, const struct obs *o, char *why, size_t whylen);
/* Finishes the open round, if any. */
int rep__agg_finish(struct rep_agg *a);
uint32_t rep__agg_last_round(const struct rep_agg *a);

/* ---- state.c: the saved aggregates ---- */

/* Both by one table of each record's fields (state.c), so that what is
 * saved is what is loaded. */
/* The saved state: DIR/.state, written after every refresh. Loading checks
 * the fingerprint of the log (device, inode, the covered size, a hash of the
 * header and of the 4 KiB before the covered end); on any mismatch it
 * returns DP_EFORMAT and the caller reads the whole log. */
int rep__state_load(struct obslog *l, struct rep_agg **out, uint64_t *covered, unsigned *lines);
int rep__state_save(const struct obslog *l, const struct rep_agg *a, char *err, size_t errlen);

/* ---- settings.c: DIR/settings.csv ---- */

/* One domain's settings (its strings are not its own: see each). */
struct rep_dset {
    const char *domain;  /* the copy in rep_sets' names */
    const char *profile; /* static: "" or "m365" */
    bool single_mx;
    uint64_t window_s;
    int64_t since;
    uint64_t old_ttl_s; /* 0: none */
};

/* The settings of every domain, in order of first mention; names holds
 * the domains (id = index in v), so a domain's settings are one lookup. */
struct rep_sets {
    struct rep_dset *v; /* owned */
    size_t n, cap;
    struct dp_strtab names;
    bool v1; /* the file had the 5 columns of SETTINGS_HEADER_V1: written back so while no
                domain has an old TTL to keep, so that the older dnsprop still reads the
                folder (as a 17-column log keeps its form) */
};

/* Frees what s holds (not s); a zeroed s is fine. */
void rep__sets_free(struct rep_sets *s);
/* The settings of domain, NULL for none. */
struct rep_dset *rep__sets_find(const struct rep_sets *s, const char *domain);
/* Reads DIR/settings.csv (absent: no settings) into *out (zeroed by the
 * caller, freed by the caller with rep__sets_free, also on failure), puts
 * the run's settings s[0..ns) over it and, when ns > 0, writes the file
 * back. Bad settings: DP_EINPUT with err saying so; a bad file: its line. */
int rep__sets_take(const struct datadir *dd, const struct report_settings *s, size_t ns,
                   struct rep_sets *out, char *err, size_t errlen);

/* ---- csv.c: a whole file written out ---- */

/* Ends a file that carries its own fingerprint (.state, .merged): the row
 * `end,H`, H the hash of the rows before it as that file's reader takes it
 * (.state hashes its bytes at once, .merged line by line: rep__hash goes 8
 * bytes at a step, so the two differ). */
void rep__csvw_seal(struct csvw *w, uint64_t hash);
/* DIR/name replaced atomically by what w holds (datadir_replace), unless
 * building it ran out of memory; for a w given to rep__csvw_to_file, the
 * rest of the rows written and that file put in place. 0 or the error (err
 * says what); w stays the caller's to free. */
int rep__csvw_replace(const struct datadir *dd, const char *name, struct csvw *w, char *err,
                      size_t errlen);

/* A report of 100,000 domains is tens of megabytes: rather than all of it
 * in memory and then a copy in the kernel, the rows go to the new file
 * (datadir_new_open) a piece of rep__csvw_piece bytes at a time, at the end
 * of a row, and w's buffer stays that small. Call right after csvw_init,
 * with the name rep__csvw_replace will be given and the err it fills on a
 * failed write (both must outlive w's rows); with `hashed`,
 * rep__csvw_hash gives rep__hash of every byte written. csvw_deinit
 * removes a file that was not put in place. 0 or the error, as
 * datadir_replace reports it (nothing is created then). */
extern size_t rep__csvw_piece; /* 1 MiB; tests make it small */
int rep__csvw_to_file(struct csvw *w, const struct datadir *dd, const char *name, bool hashed,
                      char *err, size_t errlen);
/* rep__hash(REP__HASH_INIT, ...) of every byte w has taken: those gone to
 * its file (rep__csvw_to_file with hashed) and those still in buf. */
uint64_t rep__csvw_hash(const struct csvw *w);

/* ---- render.c: the reports ---- */

/* The reports, drawn from a finished l->agg and the settings; the status
 * line and window end into *out (NULL: none). */
int rep__render(struct obslog *l, const struct rep_sets *sets, const struct report_override *ov,
                struct report_outcome *out, char *err, size_t errlen);
/* Whether timeline.csv is still the file the state last wrote (when not,
 * its finished rows are not in the state: the log is read again). */
bool rep__timeline_intact(const struct obslog *l);
/* Frees the summary rows fill_summary drew and their strings; NULL is fine. */
void rep__summary_free(struct report_summary *rows);

/* ---- common: hashing ---- */

/* FNV-1a, 64 bits: fingerprints, not security (common/strtab.c). */
#define rep__hash(h, p, n) dp_hash((h), (p), (n))
#define REP__HASH_INIT     DP_HASH_INIT

#endif
