/*
 * dnsprop demo: a complete, offline run on a simulated DNS world
 * (PRODUCT.md section 10). The world (monitor/demo/demo_world.c) is real DNS on
 * loopback inside this process: an authoritative server for contoso.test and
 * caching resolvers that fetch from it and count TTLs down. The demo primes
 * the resolvers with the old records, moves the MX to Microsoft 365 a few
 * seconds in, and runs the ordinary watch every two seconds with the m365
 * profile until every resolver that can converge has, for two rounds in a
 * row. What the reports show is what the resolvers did.
 */
#include "cli.h"
#include "datadir.h"
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEMO_MOVE_AFTER_MS 3000
#define DEMO_INTERVAL_MS   2000
#define DEMO_BUDGET_MS     80000 /* stop even if something healthy never converged */
#define DEMO_STABLE_ROUNDS 2

struct demo {
    uv_loop_t *loop;
    struct demo_world *world; /* owned; closed when the run closes */
    uv_timer_t move_timer;
    bool move_timer_open; /* initialized: demo_close() closes it */
    bool moved;
    bool primed;
    unsigned prime_failed;
    unsigned stable;             /* rounds in a row with every healthy resolver converged */
    uint64_t started;            /* uv_now at the first round */
    const struct obs *last_rows; /* not owned; valid during on_round only */
    char (*states)[3][64];       /* per resolver: name, state in the last round, kind */
    size_t nresolvers;
    bool converged;
};

static void primed(struct demo_world *w, unsigned failed, void *arg)
{
    (void)w;
    struct demo *d = arg;
    d->primed = true;
    d->prime_failed = failed;
}

static void move_now(uv_timer_t *t)
{
    struct demo *d = t->data;
    if (demo_world_move_mx(d->world) == 0) {
        d->moved = true;
        printf("demo: the MX of %s moved to Microsoft 365 (SOA serial %u)\n", DEMO_DOMAIN,
               (unsigned)demo_world_serial(d->world));
        fflush(stdout);
    }
}

/* A resolver that can converge: not one that is broken on purpose. */
static bool healthy(enum demo_resolver_kind k)
{
    return k == DEMO_PLAIN || k == DEMO_COLD || k == DEMO_STRETCH || k == DEMO_POOL;
}

/* Why a resolver of this kind will never converge; NULL for one that will. */
static const char *never_why(enum demo_resolver_kind k)
{
    switch (k) {
    case DEMO_TWO_MX:
        return "it keeps the old MX beside the new one and refreshes both with the new "
               "records' TTL (3600 s), so mail may still go to the old server: only flushing "
               "that cache fixes it";
    case DEMO_SILENT:
        return "it never answers";
    case DEMO_SERVFAIL:
        return "it answers every query with SERVFAIL";
    default:
        return NULL;
    }
}

static bool demo_round(void *arg, const struct obs *rows, size_t n,
                       const struct report_outcome *out)
{
    (void)out;
    struct demo *d = arg;
    const struct demo_resolver_info *v;
    size_t nr = demo_world_resolvers(d->world, &v);
    bool all = d->moved;
    for (size_t i = 0; i < nr; i++) {
        bool any = false, ok = true, failed = false;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(rows[j].server, v[i].name) != 0 || rows[j].expected == NULL ||
                rows[j].match == OBS_MATCH_NONE) {
                if (strcmp(rows[j].server, v[i].name) == 0 && !obs_status_answered(rows[j].status))
                    failed = true;
                continue;
            }
            any = true;
            ok = ok && rows[j].match == OBS_MATCH_YES;
        }
        const char *state = failed ? "error" : !any ? "pending" : ok ? "converged" : "stale";
        snprintf(d->states[i][1], sizeof d->states[i][1], "%s", state);
        if (healthy(v[i].kind_id) && !(any && ok && !failed))
            all = false;
    }
    d->stable = all ? d->stable + 1 : 0;
    if (d->stable >= DEMO_STABLE_ROUNDS) {
        d->converged = true;
        return true;
    }
    return uv_now(d->loop) - d->started > DEMO_BUDGET_MS;
}

static void demo_close(void *arg)
{
    struct demo *d = arg;
    if (d->move_timer_open && !uv_is_closing((uv_handle_t *)&d->move_timer))
        uv_close((uv_handle_t *)&d->move_timer, NULL);
    if (d->world != NULL) {
        demo_world_close(d->world);
        d->world = NULL;
    }
}

/* Removes what an earlier demo left in dir (only dnsprop's own files), so
 * that each demo tells its story from the start. The folder is held to the
 * rules of every data folder (common/datadir.h) before anything goes:
 * refused, nothing is removed. A missing folder is fine (the run makes it). */
static int clear_dir(const char *dir, int ddflags)
{
    static const char *const files[] = {
        "observations.csv", "convergence.csv", "timeline.csv", "mx_compliance.csv",
        "summary.csv",      "convergence.svg", "settings.csv", ".state",
    };
    struct datadir dd;
    char err[1024];
    int rc = datadir_open(dir, ddflags, &dd, err, sizeof err);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rc = obslog_check_folder(&dd, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < sizeof files / sizeof files[0]; i++) {
        int k = datadir_unlink(&dd, files[i]);
        if (k != 0 && k != -ENOENT) {
            snprintf(err, sizeof err, "cannot remove %s/%s: %s", dd.path, files[i], strerror(-k));
            rc = k;
        }
    }
    if (rc != 0)
        fprintf(stderr, "dnsprop demo: %s\n", err);
    datadir_close(&dd);
    return rc;
}

/* The data folder's report NAME open for reading, its header line read;
 * NULL when it cannot be read (the demo then prints no table). */
static FILE *open_report(const char *dir, int ddflags, const char *name)
{
    struct datadir dd;
    char err[1024];
    if (datadir_open(dir, ddflags, &dd, err, sizeof err) != 0)
        return NULL;
    int fd = datadir_openat_file(&dd, name, O_RDONLY, err, sizeof err);
    datadir_close(&dd);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char header[4096];
    if (fgets(header, sizeof header, f) == NULL) {
        fclose(f);
        return NULL;
    }
    return f;
}

/* The next row of f split into r (line: its text, fields borrow from it):
 * the number of fields (0 for a row that does not split), or -1 at the end. */
static int next_row(FILE *f, struct csvr *r, char *line, size_t cap)
{
    const char *why;
    if (fgets(line, (int)cap, f) == NULL)
        return -1;
    int n = csvr_split(r, line, strcspn(line, "\r\n"), &why);
    return n < 0 ? 0 : n;
}

/* The MX rows of convergence.csv: every resolver's state, sites and
 * whether it is overdue, as the reports have them. */
static void print_resolvers(const char *dir, int ddflags, const struct demo *d)
{
    FILE *f = open_report(dir, ddflags, "convergence.csv");
    if (f == NULL)
        return;
    char line[4096];
    struct csvr r;
    int n;
    csvr_init(&r);
    printf("\ndemo: where each resolver stands on the MX (convergence.csv):\n");
    while ((n = next_row(f, &r, line, sizeof line)) >= 0) {
        if (n < 16 || strcmp(r.f[1], "mx") != 0 || strncmp(r.f[2], "auth:", 5) == 0)
            continue;
        const char *kind = "";
        for (size_t i = 0; i < d->nresolvers; i++)
            if (strcmp(d->states[i][0], r.f[2]) == 0)
                kind = d->states[i][2];
        printf("  %-10s %-9s %-10s sites %-3s%s\n", r.f[2], kind, r.f[4], r.f[14],
               strcmp(r.f[15], "yes") == 0 ? "  overdue: stale past its promise or the deadline"
                                           : "");
    }
    csvr_deinit(&r);
    fclose(f);
}

static void print_summary(const char *dir, int ddflags)
{
    FILE *f = open_report(dir, ddflags, "summary.csv");
    if (f == NULL)
        return;
    char line[4096];
    struct csvr r;
    int n;
    csvr_init(&r);
    printf("\n%-14s %-13s %8s %10s %6s %7s %9s %8s  %-12s %s\n", "domain", "check", "servers",
           "converged", "stale", "errors", "percent", "overdue", "status", "deadline (UTC)");
    while ((n = next_row(f, &r, line, sizeof line)) >= 0) {
        if (n < 12)
            continue;
        printf("%-14s %-13s %8s %10s %6s %7s %8s%% %8s  %-12s %s\n", r.f[0], r.f[1], r.f[2], r.f[3],
               r.f[4], r.f[5], r.f[6], r.f[11], r.f[9], r.f[10]);
    }
    csvr_deinit(&r);
    fclose(f);
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"insecure-dir", no_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = "./dnsprop-demo";
    bool quiet = false, insecure = false;
    char esc[256];
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":q", longopts, NULL)) != -1;) {
        if (c == 'd') {
            if (*optarg == '\0') {
                fprintf(stderr, "dnsprop demo: --dir: empty folder name\n");
                return DP_EXIT_UNKNOWN;
            }
            dir = optarg;
        } else if (c == 'q') {
            quiet = true;
        } else if (c == 'I') {
            insecure = true;
        } else {
            const char *a = argv[optind - 1];
            fprintf(stderr, "dnsprop demo: %s '%s'\n",
                    c == ':' ? "option needs a value" : "unknown option",
                    dp_escape(a, strlen(a), esc, sizeof esc));
            return DP_EXIT_UNKNOWN;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnsprop demo: unexpected argument '%s'\n",
                dp_escape(argv[optind], strlen(argv[optind]), esc, sizeof esc));
        return DP_EXIT_UNKNOWN;
    }

    int exit_status = DP_EXIT_UNKNOWN;
    uv_loop_t loop;
    struct demo d = {.loop = &loop};
    struct run_opts o;
    struct run_setup setup;
    bool setup_done = false;
    enum demo_resolver_kind *kinds = NULL; /* per resolver, copied like d.states */
    run_opts_init(&o);
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "dnsprop demo: cannot make an event loop\n");
        return DP_EXIT_UNKNOWN;
    }
    int rc = demo_world_start(&loop, NULL, &d.world);
    if (rc != 0) {
        fprintf(stderr, "dnsprop demo: cannot start the simulated world: %s\n", dp_strerror(rc));
        goto out;
    }
    rc = uv_timer_init(&loop, &d.move_timer);
    if (rc != 0) {
        fprintf(stderr, "dnsprop demo: cannot make a timer: %s\n", dp_strerror(rc));
        goto out;
    }
    d.move_timer_open = true;
    d.move_timer.data = &d;

    /* the run: the ordinary watch, pointed at the world */
    static const char *domains[] = {DEMO_DOMAIN};
    o.dir = dir;
    o.domains = domains;
    o.ndomains = 1;
    o.profile = "m365";
    o.interval_ms = DEMO_INTERVAL_MS;
    o.window_ms = 60 * 1000; /* the chart spans the window: keep it near the demo's length */
    o.since = dp_now();
    o.vantage = "demo";
    o.quiet = quiet;
    o.insecure_dir = insecure;
    o.engine.timeout_ms = 400;
    o.engine.tries = 2;
    o.engine.rate = 0;
    o.authority = "none";
    static const char *no_expect[1];
    o.expect = no_expect;
    if (run_setup_build(&setup, &o, "demo") != 0)
        goto out;
    setup_done = true;
    o.expect = NULL;

    const struct demo_resolver_info *v;
    size_t nr = demo_world_resolvers(d.world, &v);
    char err[512];
    rlist_deinit(&setup.resolvers);
    rlist_deinit(&setup.authority);
    for (size_t i = 0; i < nr; i++) {
        if (rlist_add(&setup.resolvers, v[i].name, v[i].address, v[i].kind, "", false, err,
                      sizeof err) != 0) {
            fprintf(stderr, "dnsprop demo: %s\n", err);
            goto out;
        }
    }
    if (rlist_add(&setup.authority, "ns1.contoso.test", demo_world_auth_address(d.world), "demo",
                  "", true, err, sizeof err) != 0) {
        fprintf(stderr, "dnsprop demo: %s\n", err);
        goto out;
    }
    setup.cfg.authority = &setup.authority;
    d.states = calloc(nr, sizeof *d.states);
    d.nresolvers = nr;
    kinds = calloc(nr, sizeof *kinds);
    if (d.states == NULL || kinds == NULL)
        goto out;
    for (size_t i = 0; i < nr; i++) {
        /* copied: the world is gone when the summary is printed */
        snprintf(d.states[i][0], sizeof d.states[i][0], "%s", v[i].name);
        snprintf(d.states[i][1], sizeof d.states[i][1], "pending");
        snprintf(d.states[i][2], sizeof d.states[i][2], "%s", v[i].kind);
        kinds[i] = v[i].kind_id;
    }

    /* the run itself warns about an insecure folder it was told to accept */
    int ddflags = insecure ? DATADIR_INSECURE_OK | DATADIR_NOWARN : 0;
    if (clear_dir(dir, ddflags) != 0)
        goto out;

    if (!quiet) {
        printf("demo: a simulated DNS world on loopback: authoritative server %s for %s,\n"
               "      and %zu caching resolvers:",
               demo_world_auth_address(d.world), DEMO_DOMAIN, nr);
        for (size_t i = 0; i < nr; i++)
            printf("%s %s (%s)", i ? "," : "", v[i].name, v[i].kind);
        printf("\ndemo: priming the resolvers' caches with the old records...\n");
        fflush(stdout);
    }
    if (demo_world_prime(d.world, primed, &d) != 0)
        goto out;
    while (!d.primed && uv_run(&loop, UV_RUN_ONCE) != 0)
        ;
    if (!d.primed || d.prime_failed > 0) {
        fprintf(stderr, "dnsprop demo: priming failed (%u lookups without an answer)\n",
                d.prime_failed);
        goto out;
    }
    if (!quiet)
        printf("demo: watching every %d s; the MX moves in %d s\n", DEMO_INTERVAL_MS / 1000,
               DEMO_MOVE_AFTER_MS / 1000);
    rc = uv_timer_start(&d.move_timer, move_now, DEMO_MOVE_AFTER_MS, 0);
    if (rc != 0) {
        fprintf(stderr, "dnsprop demo: cannot time the move: %s\n", dp_strerror(rc));
        goto out;
    }
    d.started = uv_now(&loop);
    struct run_hooks hooks = {.on_round = demo_round, .on_close = demo_close, .arg = &d};
    int last = run_rounds(&loop, &o, &setup, "demo", true, &hooks);
    if (last == DP_EXIT_UNKNOWN)
        goto out;

    print_resolvers(dir, ddflags, &d);
    print_summary(dir, ddflags);
    printf("\ndemo: %s\n", d.converged ? "every resolver that can converge has converged"
                                       : "stopped at the time budget before all converged");
    /* no ETA an hour past the window: say which ones never will, and why */
    for (size_t i = 0; i < nr; i++) {
        const char *why = never_why(kinds[i]);
        if (why != NULL && strcmp(d.states[i][1], "converged") != 0)
            printf("demo: %s will never converge: %s\n", d.states[i][0], why);
    }
    printf("demo: reports in %s/: observations.csv convergence.csv timeline.csv\n"
           "      mx_compliance.csv summary.csv convergence.svg\n",
           dir);
    exit_status = d.converged ? DP_EXIT_OK : DP_EXIT_WARNING;
out:
    if (d.world != NULL)
        demo_close(&d);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "dnsprop demo: internal error: a handle was left open\n");
        exit_status = DP_EXIT_UNKNOWN;
    }
    free(d.states);
    free(kinds);
    if (setup_done)
        run_setup_deinit(&setup);
    o.domains = NULL;
    o.expect = NULL;
    run_opts_deinit(&o);
    return exit_status;
}
