/*
 * The options of check, watch and demo (PRODUCT.md section 2), parsed and
 * checked before anything is created or changed: a bad value gets one line
 * on stderr naming the option and the text, and the command exits 3.
 */
#include "run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_DIR = 1000,
    OPT_DOMAINS,
    OPT_RESOLVERS,
    OPT_AUTHORITY,
    OPT_CHECKS,
    OPT_EXPECT,
    OPT_PROFILE,
    OPT_SINGLE_MX,
    OPT_INTERVAL,
    OPT_WINDOW,
    OPT_SINCE,
    OPT_UNTIL_CONVERGED,
    OPT_TIMEOUT,
    OPT_TRIES,
    OPT_RATE,
    OPT_INFLIGHT,
    OPT_VANTAGE,
    OPT_PROMETHEUS,
    OPT_INSECURE_DIR,
    OPT_OLD_TTL,
};

static const struct option long_options[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"domains", required_argument, NULL, OPT_DOMAINS},
    {"resolvers", required_argument, NULL, OPT_RESOLVERS},
    {"authority", required_argument, NULL, OPT_AUTHORITY},
    {"checks", required_argument, NULL, OPT_CHECKS},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"single-mx", no_argument, NULL, OPT_SINGLE_MX},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until-converged", no_argument, NULL, OPT_UNTIL_CONVERGED},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"tries", required_argument, NULL, OPT_TRIES},
    {"rate", required_argument, NULL, OPT_RATE},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"vantage", required_argument, NULL, OPT_VANTAGE},
    {"prometheus", required_argument, NULL, OPT_PROMETHEUS},
    {"insecure-dir", no_argument, NULL, OPT_INSECURE_DIR},
    {"old-ttl", required_argument, NULL, OPT_OLD_TTL},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

void run_opts_init(struct run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 10 * 60 * 1000;
    o->window_ms = 0; /* not given: the saved setting, else 72h */
    o->since = -1;
    engine_opts_default(&o->engine);
}

void run_opts_deinit(struct run_opts *o)
{
    free(o->expect);
    free(o->domains);
    memset(o, 0, sizeof *o);
}

/* One line on stderr for a bad value: "dnsprop check: --window: bad duration '10x'". */
static int bad(const char *cmd, const char *opt, const char *what, const char *text)
{
    char esc[256];
    fprintf(stderr, "dnsprop %s: %s: %s '%s'\n", cmd, opt, what,
            dp_escape(text, strlen(text), esc, sizeof esc));
    return DP_EINPUT;
}

static int number(const char *cmd, const char *opt, const char *text, uint64_t min, uint64_t max,
                  unsigned *out)
{
    uint64_t v;
    if (dp_parse_uint(text, min, max, &v) != 0) {
        char what[96];
        snprintf(what, sizeof what, "expected a whole number from %llu to %llu, got",
                 (unsigned long long)min, (unsigned long long)max);
        return bad(cmd, opt, what, text);
    }
    *out = (unsigned)v;
    return 0;
}

int run_opts_parse(struct run_opts *o, const char *cmd, int argc, char **argv, bool watch)
{
    char esc[256];
    o->expect = calloc((size_t)argc + 1, sizeof *o->expect);
    o->domains = calloc((size_t)argc + 1, sizeof *o->domains);
    if (o->expect == NULL || o->domains == NULL)
        return DP_ENOMEM;
    optind = 1;
    opterr = 0;
    for (;;) {
        int longidx = -1;
        int c = getopt_long(argc, argv, ":qv", long_options, &longidx);
        if (c == -1)
            break;
        const char *opt = longidx >= 0 ? long_options[longidx].name : "";
        char optname[64];
        snprintf(optname, sizeof optname, "--%s", opt);
        uint64_t ms;
        switch (c) {
        case OPT_DIR:
            if (*optarg == '\0')
                return bad(cmd, optname, "empty folder name", optarg);
            o->dir = optarg;
            break;
        case OPT_DOMAINS:
            o->domains_file = optarg;
            break;
        case OPT_RESOLVERS:
            o->resolvers = optarg;
            break;
        case OPT_AUTHORITY:
            o->authority = optarg;
            break;
        case OPT_CHECKS:
            o->checks = optarg;
            break;
        case OPT_EXPECT:
            o->expect[o->nexpect++] = optarg;
            break;
        case OPT_PROFILE:
            if (strcmp(optarg, "m365") != 0 && strcmp(optarg, "none") != 0)
                return bad(cmd, optname, "unknown profile (known: m365, none)", optarg);
            o->profile = optarg;
            break;
        case OPT_SINGLE_MX:
            o->single_mx = true;
            break;
        case OPT_INTERVAL:
        case OPT_WINDOW:
        case OPT_TIMEOUT:
        case OPT_OLD_TTL:
            if (dp_parse_duration(optarg, &ms) != 0)
                return bad(cmd, optname, "bad duration (write e.g. 500ms, 30s, 10m, 72h, 3d), got",
                           optarg);
            if (c == OPT_INTERVAL) {
                if (!watch)
                    goto not_here;
                o->interval_ms = ms;
            } else if (c == OPT_WINDOW) {
                o->window_ms = ms;
            } else if (c == OPT_OLD_TTL) {
                /* whole seconds, 1 s to 10 years (what settings.csv keeps) */
                if (ms < 1000 || ms % 1000 != 0 || ms / 1000 > 3650ULL * 86400)
                    return bad(cmd, optname, "old TTL must be whole seconds, 1s or more, got",
                               optarg);
                o->old_ttl_s = ms / 1000;
            } else {
                if (ms > 60000)
                    return bad(cmd, optname, "timeout over 60s", optarg);
                o->engine.timeout_ms = ms;
            }
            break;
        case OPT_SINCE:
            if (dp_parse_time(optarg, dp_now(), &o->since) != 0)
                return bad(cmd, optname,
                           "bad time (write 'YYYY-MM-DD HH:MM[:SS]' UTC, ISO 8601, or now), got",
                           optarg);
            break;
        case OPT_UNTIL_CONVERGED:
            if (!watch)
                goto not_here;
            o->until_converged = true;
            break;
        case OPT_TRIES:
            if (number(cmd, optname, optarg, 1, 10, &o->engine.tries) != 0)
                return DP_EINPUT;
            break;
        case OPT_RATE:
            if (number(cmd, optname, optarg, 0, 1000000, &o->engine.rate) != 0)
                return DP_EINPUT;
            break;
        case OPT_INFLIGHT:
            if (number(cmd, optname, optarg, 1, 65536, &o->engine.inflight) != 0)
                return DP_EINPUT;
            break;
        case OPT_VANTAGE:
            if (*optarg == '\0' || strlen(optarg) > 255)
                return bad(cmd, optname, "vantage must be 1 to 255 characters", optarg);
            o->vantage = optarg;
            break;
        case OPT_PROMETHEUS: {
            char err[512];
            if (report_prometheus_check_path(optarg, err, sizeof err) != 0) {
                fprintf(stderr, "dnsprop %s: %s\n", cmd, err);
                return DP_EINPUT;
            }
            o->prometheus = optarg;
            break;
        }
        case OPT_INSECURE_DIR:
            o->insecure_dir = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'v':
            o->verbose++;
            break;
        case ':':
            fprintf(stderr, "dnsprop %s: option '%s' needs a value\n", cmd,
                    dp_escape(argv[optind - 1], strlen(argv[optind - 1]), esc, sizeof esc));
            return DP_EINPUT;
        default: {
            /* getopt leaves optind on a cluster of short options ("-bad.example")
             * until its last letter is read: then the culprit is argv[optind],
             * not the element before it (which may be the command name). */
            const char *arg = argv[optind - 1];
            if (optopt != 0 && optind < argc && argv[optind][0] == '-' && argv[optind][1] != '-' &&
                strchr(argv[optind] + 1, optopt) != NULL)
                arg = argv[optind];
            fprintf(stderr, "dnsprop %s: unknown option '%s' (try 'dnsprop %s --help')\n", cmd,
                    dp_escape(arg, strlen(arg), esc, sizeof esc), cmd);
            return DP_EINPUT;
        }
        }
        continue;
    not_here:
        fprintf(stderr, "dnsprop %s: option '%s' is for watch only\n", cmd, optname);
        return DP_EINPUT;
    }
    for (int i = optind; i < argc; i++)
        o->domains[o->ndomains++] = argv[i];
    if (o->ndomains == 0 && o->domains_file == NULL) {
        fprintf(stderr, "dnsprop %s: no domain given (try 'dnsprop %s --help')\n", cmd, cmd);
        return DP_EINPUT;
    }
    if (o->quiet && o->verbose) {
        fprintf(stderr, "dnsprop %s: -q and -v do not go together\n", cmd);
        return DP_EINPUT;
    }
    return 0;
}
