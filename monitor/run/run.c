/*
 * dnsprop check and dnsprop watch: the scheduler (when rounds go out) around
 * the round runner (what goes out), the observation log and the reports.
 *
 * check: one round, appended to the log under its lock, reports refreshed,
 * one status line, the exit status of PRODUCT.md section 3.
 * watch: a round every --interval on a libuv timer until the window ends
 * (or, with --until-converged, after 3 converged rounds in a row). A round
 * that overruns the interval is never stacked on the next: the next one is
 * timed from the start of the last, and starts at once when that time has
 * passed. SIGINT/SIGTERM: the round under way finishes (bounded by timeout x
 * tries), its rows are written, every handle is closed, and the exit status
 * is that of the last round.
 */
#include "run.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONVERGED_ROUNDS_TO_STOP 3

struct run {
    uv_loop_t *loop;          /* borrowed */
    const struct run_opts *o; /* borrowed */
    const char *cmd;          /* "check", "watch" or "demo" */
    bool watch;
    struct run_setup *setup; /* borrowed: domains, plans, servers */
    struct engine *engine;   /* owned */
    struct obslog *log;      /* owned */
    struct round *round;     /* owned: the round under way, or NULL */
    uv_timer_t timer;        /* next round */
    uv_timer_t ticker;       /* the live progress line on a terminal */
    uv_signal_t sigint, sigterm;
    uint64_t round_started; /* uv_now() at the start of the last round */
    uint64_t next_due;      /* uv_now() when the next round is due: a fixed grid */
    int64_t window_end;     /* Unix seconds; 0 until known */
    int last_exit;
    unsigned converged_streak;
    unsigned rounds_done;
    bool stopping;
    bool closing;
    bool tty;
    int handles_open;
    char last_summary[160];        /* the last status line up to its perfdata, for the live line */
    const struct run_hooks *hooks; /* optional observer (the demo); NULL none */
};

static void start_round(struct run *run);

/* Between two rounds of a watch: the heap pages freed by the round and the
 * reports go back to the system (glibc keeps them otherwise, and every
 * round's holes sit in other places). Measured with 100,000 domains, rounds
 * 2-5 of a watch peaked at 219, 230, 238, 258 MiB without this and at 223,
 * 223, 222, 222 MiB with it; it costs a walk over the heap's free lists. */
static void memory_give_back(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

static void handle_closed(uv_handle_t *h)
{
    struct run *run = h->data;
    run->handles_open--;
}

static void run_close(struct run *run)
{
    if (run->closing)
        return;
    run->closing = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&run->timer, (uv_handle_t *)&run->ticker,
                         (uv_handle_t *)&run->sigint, (uv_handle_t *)&run->sigterm};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i]->loop != NULL && !uv_is_closing(hs[i])) /* loop: set by its init */
            uv_close(hs[i], handle_closed);
    if (run->engine != NULL)
        engine_close(run->engine);
    if (run->hooks != NULL && run->hooks->on_close != NULL)
        run->hooks->on_close(run->hooks->arg);
    if (run->tty)
        fputs("\r\033[K", stdout);
}

static void progress_tick(uv_timer_t *t)
{
    struct run *run = t->data;
    if (run->round == NULL || !run->tty)
        return;
    size_t done, total;
    round_progress(run->round, &done, &total);
    printf("\r\033[Kround %u: %zu/%zu answers in%s%s", obslog_next_round(run->log), done, total,
           run->last_summary[0] ? " | last: " : "", run->last_summary);
    fflush(stdout);
}

static void next_timer(uv_timer_t *t)
{
    start_round(t->data);
}

/* The last round is over: decide whether and when the next one goes. */
static void schedule_next(struct run *run)
{
    if (!run->watch || run->stopping) {
        run_close(run);
        return;
    }
    if (run->o->until_converged && run->converged_streak >= CONVERGED_ROUNDS_TO_STOP) {
        if (!run->o->quiet)
            fprintf(stderr, "dnsprop %s: converged in %u rounds in a row; stopping\n", run->cmd,
                    run->converged_streak);
        run_close(run);
        return;
    }
    uv_update_time(run->loop);
    uint64_t t = uv_now(run->loop);
    uint64_t wait = run->next_due > t ? run->next_due - t : 0;
    /* milliseconds: a round due in the window's last second still goes, one
     * due at its end does not */
    if (run->window_end > 0 && dp_now_ms() + (int64_t)wait >= run->window_end * 1000) {
        if (!run->o->quiet)
            fprintf(stderr, "dnsprop %s: the window ends before the next round; stopping\n",
                    run->cmd);
        run_close(run);
        return;
    }
    int rc = uv_timer_start(&run->timer, next_timer, wait, 0);
    if (rc != 0) {
        /* the timer is open and has a callback: this cannot fail; if it did,
         * the watch would end silently, so say why */
        fprintf(stderr, "dnsprop %s: cannot schedule the next round: %s\n", run->cmd,
                dp_strerror(rc));
        run->last_exit = DP_EXIT_UNKNOWN;
        run_close(run);
    }
}

static void round_done(struct round *r, void *arg)
{
    struct run *run = arg;
    const struct obs *rows;
    size_t n;
    char err[512] = "";
    int rc = round_rows(r, &rows, &n);
    if (run->tty)
        fputs("\r\033[K", stdout);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: round failed: %s\n", run->cmd, dp_strerror(rc));
        run->last_exit = DP_EXIT_UNKNOWN;
        goto stop;
    }
    rc = obslog_append(run->log, rows, n, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", run->cmd, err[0] ? err : dp_strerror(rc));
        run->last_exit = DP_EXIT_UNKNOWN;
        goto stop;
    }
    if (run->hooks == NULL || run->hooks->on_round == NULL) {
        /* the rows are in the log and nobody else wants them: a round of
         * 100,000 domains is some 70 MB that the reports can use instead */
        round_free(r);
        run->round = NULL;
        r = NULL;
        rows = NULL;
    }
    struct report_outcome out;
    rc = report_refresh(run->log, run->setup->settings, run->setup->ndomains, NULL, &out, err,
                        sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", run->cmd, err[0] ? err : dp_strerror(rc));
        run->last_exit = DP_EXIT_UNKNOWN;
        goto stop;
    }
    run->last_exit = out.exit_status;
    if (run->o->prometheus != NULL) {
        /* the same rows summary.csv was just drawn from; a monitor that
         * cannot get its figures must hear of it: UNKNOWN, but the round is
         * logged and watch goes on */
        size_t nrows;
        const struct report_summary *sum = report_summary(run->log, &nrows);
        if (report_write_prometheus(run->o->prometheus, sum, nrows, err, sizeof err) != 0) {
            fprintf(stderr, "dnsprop %s: %s\n", run->cmd, err);
            run->last_exit = DP_EXIT_UNKNOWN;
        }
    }
    if (run->o->verbose) {
        /* counters since the engine started, so a watch shows its totals */
        struct engine_stats st;
        engine_get_stats(run->engine, &st);
        fprintf(stderr,
                "dnsprop %s: round %u: %zu rows; engine so far: %llu queries, %llu sent, "
                "%llu retries, %llu over TCP, %llu without EDNS, %llu timeouts, %llu unreachable, "
                "%llu malformed, %llu stray replies dropped\n",
                run->cmd, obslog_next_round(run->log) - 1, n, (unsigned long long)st.completed,
                (unsigned long long)st.sent, (unsigned long long)st.retries,
                (unsigned long long)st.tcp_fallbacks, (unsigned long long)st.edns_fallbacks,
                (unsigned long long)st.timeouts, (unsigned long long)st.unreachable,
                (unsigned long long)st.malformed, (unsigned long long)st.dropped);
    }
    run->window_end = out.window_end;
    run->rounds_done++;
    run->converged_streak = out.exit_status == DP_EXIT_OK ? run->converged_streak + 1 : 0;
    if (run->tty) {
        /* a person reads this: the status without its perfdata */
        const char *bar = strstr(out.status_line, " | ");
        int len = bar ? (int)(bar - out.status_line) : (int)strlen(out.status_line);
        printf("round %u: %.*s\n", obslog_next_round(run->log) - 1, len, out.status_line);
    } else if (!run->o->quiet || !run->watch) {
        printf("%s\n", out.status_line);
    }
    /* "DNSPROP WARNING - contoso.com mx 17/20 converged, ETA ..." without the
     * prefix and the perfdata, cut to fit a terminal line */
    const char *text = strstr(out.status_line, " - ");
    text = text ? text + 3 : out.status_line;
    size_t len = strcspn(text, "|;");
    if (len > 0 && text[len - 1] == ' ')
        len--;
    snprintf(run->last_summary, sizeof run->last_summary, "%.*s", (int)(len < 90 ? len : 90), text);
    fflush(stdout);
    if (run->hooks != NULL && run->hooks->on_round != NULL &&
        run->hooks->on_round(run->hooks->arg, rows, n, &out))
        run->stopping = true;
    round_free(r);
    run->round = NULL;
    memory_give_back();
    schedule_next(run);
    return;
stop:
    round_free(r);
    run->round = NULL;
    run_close(run);
}

static void start_round(struct run *run)
{
    uint32_t number = obslog_next_round(run->log);
    if (number == 1 && run->o->since < 0) {
        /* a new log: the window starts with this round, not with its first
         * answer, so that the last round of a 72 h window at a 10 min
         * interval is the 432nd */
        int64_t t = dp_now();
        for (size_t i = 0; i < run->setup->ndomains; i++)
            run->setup->settings[i].since = t;
    }
    uv_update_time(run->loop);
    run->round_started = uv_now(run->loop);
    /* rounds keep to a grid from the first one, so timer lateness does not
     * add up over hundreds of rounds; a round that overran a whole interval
     * starts a new grid instead of having rounds stacked after it */
    if (run->next_due == 0 || run->round_started >= run->next_due + run->o->interval_ms)
        run->next_due = run->round_started + run->o->interval_ms;
    else
        run->next_due += run->o->interval_ms;
    int rc =
        round_start(run->loop, run->engine, &run->setup->cfg, number, round_done, run, &run->round);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: cannot start round %u: %s\n", run->cmd, number,
                dp_strerror(rc));
        run->last_exit = DP_EXIT_UNKNOWN;
        run_close(run);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct run *run = s->data;
    if (!run->o->quiet)
        fprintf(stderr, "\ndnsprop %s: %s: %s\n", run->cmd, signum == SIGINT ? "SIGINT" : "SIGTERM",
                run->round ? "finishing the round under way" : "stopping");
    run->stopping = true;
    uv_signal_stop(&run->sigint);
    uv_signal_stop(&run->sigterm);
    if (run->round == NULL)
        run_close(run);
}

int run_rounds(uv_loop_t *loop, const struct run_opts *o, struct run_setup *setup, const char *cmd,
               bool watch, const struct run_hooks *hooks)
{
    struct run run = {
        .loop = loop,
        .o = o,
        .cmd = cmd,
        .watch = watch,
        .setup = setup,
        .last_exit = DP_EXIT_UNKNOWN,
        .hooks = hooks,
        .tty = watch && isatty(STDOUT_FILENO) && !o->quiet,
    };
    char err[512] = "";
    int rc =
        obslog_open(setup->dir, REPORT_LOCK_WAIT_MS,
                    (o->insecure_dir ? OBSLOG_INSECURE_DIR : 0) | (o->quiet ? OBSLOG_QUIET : 0),
                    &run.log, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", cmd, err[0] ? err : dp_strerror(rc));
        return DP_EXIT_UNKNOWN;
    }
    rc = engine_new(loop, &o->engine, &run.engine);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", cmd, dp_strerror(rc));
        obslog_close(run.log);
        return DP_EXIT_UNKNOWN;
    }
    /* in order, each counted once open; a signal handle can fail to open (the
     * loop's first one makes a pipe), and then the run ends before it began */
    rc = uv_timer_init(loop, &run.timer);
    if (rc == 0) {
        run.handles_open++;
        rc = uv_timer_init(loop, &run.ticker);
    }
    if (rc == 0) {
        run.handles_open++;
        rc = uv_signal_init(loop, &run.sigint);
    }
    if (rc == 0) {
        run.handles_open++;
        rc = uv_signal_init(loop, &run.sigterm);
    }
    if (rc == 0)
        run.handles_open++;
    run.timer.data = run.ticker.data = run.sigint.data = run.sigterm.data = &run;
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", cmd, dp_strerror(rc));
        run_close(&run);
        uv_run(loop, UV_RUN_DEFAULT);
        obslog_close(run.log);
        return DP_EXIT_UNKNOWN;
    }
    if (watch) {
        /* a watch that could not be stopped cleanly by a signal would lose
         * the round under way: refuse to start it */
        rc = uv_signal_start(&run.sigint, on_signal, SIGINT);
        if (rc == 0)
            rc = uv_signal_start(&run.sigterm, on_signal, SIGTERM);
        if (rc != 0) {
            fprintf(stderr, "dnsprop %s: cannot catch SIGINT and SIGTERM: %s\n", cmd,
                    dp_strerror(rc));
            run_close(&run);
            uv_run(loop, UV_RUN_DEFAULT);
            obslog_close(run.log);
            return DP_EXIT_UNKNOWN;
        }
    }
    /* the live line is a nicety: without its timer the rounds still run */
    if (run.tty && uv_timer_start(&run.ticker, progress_tick, 250, 250) == 0)
        uv_unref((uv_handle_t *)&run.ticker);
    start_round(&run);
    uv_run(loop, UV_RUN_DEFAULT);
    run_close(&run);
    uv_run(loop, UV_RUN_DEFAULT);
    obslog_close(run.log);
    return run.last_exit;
}

/* Large blocks (the reports' tables, a state file being written, grown by
 * doubling) are mapped on their own from 1 MiB up, whatever was freed
 * before: glibc's default raises that threshold to the size of the last
 * large block freed, up to 32 MiB, after which such blocks come from the
 * heap, where growing them copies and leaves holes the rest cannot use.
 * Measured at 100,000 domains: peak RSS 192 -> 173 MiB for a first round,
 * 224 -> 191 MiB for a round with the log of an earlier one. A
 * MALLOC_MMAP_THRESHOLD_ in the environment is left to win. */
static void memory_policy(void)
{
#ifdef __GLIBC__
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
        (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

/* check and watch share everything but the repetition. */
static int run_command(int argc, char **argv, const char *cmd, bool watch)
{
    memory_policy();
    struct run_opts o;
    struct run_setup setup;
    run_opts_init(&o);
    int rc = run_opts_parse(&o, cmd, argc, argv, watch);
    if (rc != 0) {
        run_opts_deinit(&o);
        return DP_EXIT_UNKNOWN;
    }
    rc = run_setup_build(&setup, &o, cmd);
    if (rc != 0) {
        if (rc != DP_EINPUT)
            fprintf(stderr, "dnsprop %s: %s\n", cmd, dp_strerror(rc));
        run_setup_deinit(&setup);
        run_opts_deinit(&o);
        return DP_EXIT_UNKNOWN;
    }
    uv_loop_t loop;
    int exit_status = DP_EXIT_UNKNOWN;
    rc = uv_loop_init(&loop);
    if (rc != 0) {
        fprintf(stderr, "dnsprop %s: %s\n", cmd, dp_strerror(rc));
    } else {
        exit_status = run_rounds(&loop, &o, &setup, cmd, watch, NULL);
        if (uv_loop_close(&loop) != 0) {
            fprintf(stderr, "dnsprop %s: internal error: a handle was left open\n", cmd);
            exit_status = DP_EXIT_UNKNOWN;
        }
    }
    run_setup_deinit(&setup);
    run_opts_deinit(&o);
    return exit_status;
}

int cmd_check(int argc, char **argv)
{
    return run_command(argc, argv, "check", false);
}

int cmd_watch(int argc, char **argv)
{
    return run_command(argc, argv, "watch", true);
}
