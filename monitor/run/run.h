/*
 * run: the scheduler. A round asks every check of every domain of every
 * server through the engine (round.c); options, setup and the run of check
 * and watch (options.c, setup.c, run.c) decide when, and hand each round's
 * rows to the reports.
 */
#ifndef DNSPROP_RUN_H
#define DNSPROP_RUN_H

#include "dnsprop.h"
#include "engine.h"
#include "reports.h"
#include "resolvers.h"
#include "rules.h"

#include <uv.h>

/* ---- rounds (monitor/run/round.c) ---- */
#define ROUND_MAX_TARGETS 16 /* MX targets resolved per answer */

/* One monitored domain and how it is judged. */
struct round_domain {
    const char *name;              /* borrowed; normalized: ASCII, lower case, no final dot */
    enum profile profile;          /* the domain's profile (--profile or its --domains line) */
    const struct check_plan *plan; /* borrowed: checks, expectations */
};

/* What every round asks. Everything is borrowed and must outlive the rounds. */
struct round_cfg {
    const struct round_domain *domains;
    size_t ndomains;
    const struct rlist *resolvers; /* asked with RD set */
    const struct rlist *authority; /* asked with RD clear; NULL: discovered from NS every round */
    const struct rlist *parent;    /* delegation: the parent zone's servers (--parent); NULL:
                                      found through the resolvers every round */
    const char *vantage;
    int verbose;
};

struct round;
typedef void (*round_done_cb)(struct round *r, void *arg);

/* Starts round `number`: discovery (when cfg->authority is NULL), then every
 * check's questions to every server, then the MX targets. `done` runs once,
 * from a zero-delay timer of the round's own after every answer is in (never
 * from inside round_start() or an engine callback), and may call
 * round_free(); round_rows() gives the rows. Returns 0, or a negative code
 * when nothing could be asked (no round: *out is NULL). */
int round_start(uv_loop_t *loop, struct engine *engine, const struct round_cfg *cfg,
                uint32_t number, round_done_cb done, void *arg, struct round **out);
/* The rows, ordered by domain, check, question, server; valid until
 * round_free(). Returns 0, or the internal error the round met (rows may be
 * partial then). */
int round_rows(const struct round *r, const struct obs **rows, size_t *n);
/* Queries answered and submitted so far (for a progress line). */
void round_progress(const struct round *r, size_t *done, size_t *total);
/* Frees the round: only after `done` ran (or from it). Everything goes at
 * once but the struct, which goes in its timer's close callback: run the
 * loop before uv_loop_close(). NULL is accepted. */
void round_free(struct round *r);

/* ---- check, watch and demo runs (monitor/run/options.c, setup.c, run.c) ---- */
struct run_opts {
    const char *dir;          /* --dir, NULL: ./dnsprop-<first domain> */
    const char *domains_file; /* --domains */
    const char *resolvers;    /* --resolvers SPEC, NULL: the built-in list */
    const char *authority;    /* --authority SPEC, NULL: discovered */
    const char *parent;       /* --parent SPEC (delegation), NULL: discovered */
    const char *checks;       /* --checks */
    const char **expect;      /* owned array of borrowed --expect values */
    size_t nexpect;
    const char *profile; /* --profile */
    bool single_mx;
    uint64_t interval_ms, window_ms;
    int64_t since;      /* -1: the first round in the log */
    uint64_t old_ttl_s; /* --old-ttl, seconds; 0: not given */
    bool until_converged;
    struct engine_opts engine;
    const char *vantage;    /* NULL: the host name */
    const char *prometheus; /* --prometheus FILE, NULL: none */
    bool insecure_dir;      /* --insecure-dir: accept a folder others can write or own */
    bool quiet;
    int verbose;
    const char **domains; /* owned array of borrowed positional domains */
    size_t ndomains;
};
void run_opts_init(struct run_opts *o);
void run_opts_deinit(struct run_opts *o);
/* Parses the options of check (watch: also --interval, --until-converged).
 * argv[0] is the command name. Bad usage: one line on stderr, DP_EINPUT. */
int run_opts_parse(struct run_opts *o, const char *cmd, int argc, char **argv, bool watch);

/* Everything a run needs, checked before anything is created or changed. */
struct run_setup {
    char *dir;                    /* owned */
    struct check_plan plan;       /* owned */
    struct round_domain *domains; /* owned */
    size_t ndomains;
    struct dp_strtab names;            /* owned: the domains' names (domains[i].name is s[i]) */
    struct report_settings *settings;  /* owned: one per domain */
    struct rlist resolvers, authority; /* owned */
    struct rlist parent;               /* owned: --parent */
    struct round_cfg cfg;              /* points into the above */
    char vantage[256];
};
/* Builds the setup from options; bad input: one line on stderr, DP_EINPUT. */
int run_setup_build(struct run_setup *s, const struct run_opts *o, const char *cmd);
void run_setup_deinit(struct run_setup *s);

/* An observer of a run (the demo). */
struct run_hooks {
    /* after each round, with its rows and outcome; returns true to stop */
    bool (*on_round)(void *arg, const struct obs *rows, size_t n, const struct report_outcome *out);
    /* when the run closes its handles: close yours too, so the loop can end */
    void (*on_close)(void *arg);
    void *arg;
};
/* Runs one round (check) or rounds until the window ends (watch) on `loop`,
 * then closes every handle it opened and runs the loop until they are closed.
 * Returns the exit status of the last round (enum dp_exit). */
int run_rounds(uv_loop_t *loop, const struct run_opts *o, struct run_setup *setup, const char *cmd,
               bool watch, const struct run_hooks *hooks);
/* The check and watch commands (run.c): as the commands of cli.h. */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
