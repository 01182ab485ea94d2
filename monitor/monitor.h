/*
 * monitor: the engine (how queries go out), the scheduler (when), the checks
 * (what is asked and how answers are judged) and the command line.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_MONITOR_H
#define DNSPROP_MONITOR_H

#include "common/dnsprop.h"
#include "reports/reports.h"
#include "resolvers/resolvers.h"

/* ---- answers (monitor/answer.c) ---- */
struct ldns_struct_rr;

/* Normalizes an RRset into the text of the `answer` column: each record's
 * RDATA in presentation form, domain names lower-cased, sorted bytewise,
 * duplicates dropped, joined by " | " ("" for n == 0). On success *out is
 * malloc'd and the caller frees it. Returns 0 or DP_ENOMEM. */
int answer_from_rrs(struct ldns_struct_rr *const *rrs, size_t n, char **out);

/* Parses RDATA texts of type qtype joined by " | " (as --expect takes them,
 * e.g. "0 mail.example.com. | 10 b.example.com.") and normalizes them as
 * answer_from_rrs does. Returns 0 (caller frees *out), DP_EINPUT with *why
 * saying what is wrong, or DP_ENOMEM. */
int answer_from_text(uint16_t qtype, const char *text, char **out, const char **why);

/* ---- rounds (monitor/round.c) ---- */
#define ROUND_MAX_TARGETS 16 /* MX targets resolved per answer */

/* One monitored domain and how it is judged. */
struct round_domain {
    char name[DNSNAME_BUFLEN];     /* normalized: ASCII, lower case, no final dot */
    enum profile profile;          /* the domain's profile (--profile or its --domains line) */
    const struct check_plan *plan; /* borrowed: checks, expectations */
};

/* What every round asks. Everything is borrowed and must outlive the rounds. */
struct round_cfg {
    const struct round_domain *domains;
    size_t ndomains;
    const struct rlist *resolvers; /* asked with RD set */
    const struct rlist *authority; /* asked with RD clear; NULL: discovered from NS every round */
    const char *vantage;
    int verbose;
};

struct round;
typedef void (*round_done_cb)(struct round *r, void *arg);

/* Starts round `number`: discovery (when cfg->authority is NULL), then every
 * check's questions to every server, then the MX targets. `done` runs once,
 * from the loop, when every answer is in; then round_rows() gives the rows.
 * Returns 0, or a negative code when nothing could be asked (no round). */
int round_start(uv_loop_t *loop, struct engine *engine, const struct round_cfg *cfg,
                uint32_t number, round_done_cb done, void *arg, struct round **out);
/* The rows, ordered by domain, check, question, server; valid until
 * round_free(). Returns 0, or the internal error the round met (rows may be
 * partial then). */
int round_rows(const struct round *r, const struct obs **rows, size_t *n);
/* Queries answered and submitted so far (for a progress line). */
void round_progress(const struct round *r, size_t *done, size_t *total);
void round_free(struct round *r);

/* ---- check, watch and demo runs (monitor/options.c, monitor/run.c) ---- */
struct run_opts {
    const char *dir;          /* --dir, NULL: ./dnsprop-<first domain> */
    const char *domains_file; /* --domains */
    const char *resolvers;    /* --resolvers SPEC, NULL: the built-in list */
    const char *authority;    /* --authority SPEC, NULL: discovered */
    const char *checks;       /* --checks */
    const char **expect;      /* owned array of borrowed --expect values */
    size_t nexpect;
    const char *profile;      /* --profile */
    bool single_mx;
    uint64_t interval_ms, window_ms;
    int64_t since;            /* -1: the first round in the log */
    bool until_converged;
    struct engine_opts engine;
    const char *vantage;      /* NULL: the host name */
    bool quiet;
    int verbose;
    const char **domains;     /* owned array of borrowed positional domains */
    size_t ndomains;
};
void run_opts_init(struct run_opts *o);
void run_opts_deinit(struct run_opts *o);
/* Parses the options of check (watch: also --interval, --until-converged).
 * argv[0] is the command name. Bad usage: one line on stderr, DP_EINPUT. */
int run_opts_parse(struct run_opts *o, const char *cmd, int argc, char **argv, bool watch);

/* Everything a run needs, checked before anything is created or changed. */
struct run_setup {
    char *dir;                     /* owned */
    struct check_plan plan;        /* owned */
    struct round_domain *domains;  /* owned */
    size_t ndomains;
    struct report_settings *settings; /* owned: one per domain */
    struct rlist resolvers, authority; /* owned */
    struct round_cfg cfg;          /* points into the above */
    char vantage[256];
};
/* Builds the setup from options; bad input: one line on stderr, DP_EINPUT. */
int run_setup_build(struct run_setup *s, const struct run_opts *o, const char *cmd);
void run_setup_deinit(struct run_setup *s);

/* Called after each round with its outcome; returns true to stop. */
struct report_outcome;
typedef bool (*run_round_cb)(void *arg, const struct report_outcome *out);
/* Runs one round (check) or rounds until the window ends (watch) on `loop`.
 * Returns the exit status of the last round (enum dp_exit). */
int run_rounds(uv_loop_t *loop, const struct run_opts *o, struct run_setup *setup,
               const char *cmd, bool watch, run_round_cb on_round, void *arg);

/* Commands: each takes the arguments after the command name (argv[0] is the
 * command name itself) and returns the process exit status (enum dp_exit). */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
