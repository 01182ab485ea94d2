/*
 * dnsprop import atlas FILE... DOMAIN... [options]: RIPE Atlas DNS results
 * into the data folder's log, then a refresh of its reports (PRODUCT.md
 * section 11; reading and judging in monitor/atlas.c).
 *
 * Arguments that name a file are FILEs ("-" is stdin); an argument with a '/'
 * or a .json/.jsonl/.ndjson name that is no file is refused as a missing
 * file rather than taken for a domain.
 *
 * Rows: vantage atlas:PRB_ID, time the result's own. A result already in the
 * log (same probe, time, resolver and question) is not imported again.
 * Rounds: the results go into rounds of the folder in file order; a new
 * round begins when a result's probe already has a result in the current
 * one (so a file ordered by time gives a round per measurement interval).
 *
 * Expected values: --expect and the profile's rule as for check, else the
 * authoritative answer the log holds for that question in the latest round
 * at or before the result's time (run check there too: its auth: rows),
 * chosen by check_auth_truth as a live round chooses it.
 *
 * Bad input: a file that is not JSON, or JSON cut short, stops the import:
 * exit 3, the log unchanged. A result that is JSON but bad (a missing or
 * wrong field, abuf that is not base64, a reply that does not parse) is
 * counted; at the end the import is refused (exit 3, the log unchanged,
 * the first one named with its position and the count given), unless
 * --skip-bad says to import the good ones (the count and the first
 * position are then a warning). A result of another type, or one that
 * answers none of the DOMAIN arguments' questions, is skipped and counted in
 * one warning.
 */
#include "atlas.h"
#include "datadir.h"
#include "cli.h"
#include "reports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

static int usage(const char *msg, const char *arg)
{
    return cli_usage("import", msg, arg);
}

/* ---- what the log already holds ---- */

/* A set of 64-bit keys (0 is stored as 1: a fingerprint, not an identity). */
struct keyset {
    uint64_t *k;
    size_t n, cap; /* cap: a power of two */
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

/* 1 when added, 0 when it was there, DP_ENOMEM. */
static int keyset_add(struct keyset *s, uint64_t key)
{
    if (key == 0)
        key = 1;
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *nk = calloc(nc, sizeof *nk);
        if (nk == NULL)
            return DP_ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->k[i] == 0)
                continue;
            size_t j = mix(s->k[i]) & (nc - 1);
            while (nk[j] != 0)
                j = (j + 1) & (nc - 1);
            nk[j] = s->k[i];
        }
        free(s->k);
        s->k = nk;
        s->cap = nc;
    }
    size_t j = mix(key) & (s->cap - 1);
    while (s->k[j] != 0) {
        if (s->k[j] == key)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->k[j] = key;
    s->n++;
    return 1;
}

static uint64_t hstr(uint64_t h, const char *s)
{
    /* FNV-1a with a separator, so that ("ab","c") and ("a","bc") differ */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
    return h;
}

/* The key of a row: probe (vantage), time, resolver, question. */
static uint64_t row_key(const struct obs *o)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hstr(h, o->vantage);
    h = hstr(h, o->address);
    h = hstr(h, o->qname);
    h = hstr(h, o->qtype);
    h ^= (uint64_t)o->time;
    h *= 0x100000001b3ULL;
    return mix(h);
}

/* One authoritative answer as the log recorded it. */
struct auth_row {
    char *key;   /* owned: "domain check qname qtype", to group the rows of one question */
    uint64_t qk; /* qkey() of the same */
    enum check_id check;
    char *server; /* owned: server and address */
    char *answer;
    int64_t serial; /* filled when the round ends */
    bool soa;       /* a SOA row (qtype SOA, ok) */
};

/* The truth of one question in one round. */
struct truth {
    uint64_t key; /* hash of "domain check qname qtype" */
    int64_t time; /* the round's first row time */
    char *answer; /* owned */
};

struct known {
    struct keyset keys;
    struct auth_row *rows; /* the auth: rows of the round being read */
    size_t nrows, caprows;
    uint32_t round;
    int64_t round_time;
    struct truth *tr;
    size_t ntr, captr;
    int err;
};

static uint64_t qkey(const char *domain, const char *check, const char *qname, const char *qtype)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hstr(h, domain);
    h = hstr(h, check);
    h = hstr(h, qname);
    h = hstr(h, qtype);
    return mix(h);
}

/* The round's authoritative truths, by check_auth_truth (as round.c settles). */
static int finish_round(struct known *k)
{
    int rc = 0;
    for (size_t i = 0; i < k->nrows; i++) {
        k->rows[i].serial = -1;
        for (size_t j = 0; j < k->nrows; j++)
            if (k->rows[j].soa && strcmp(k->rows[j].server, k->rows[i].server) == 0)
                k->rows[i].serial = check_soa_serial(k->rows[j].answer);
    }
    struct check_auth_answer *v = calloc(k->nrows ? k->nrows : 1, sizeof *v);
    size_t *idx = calloc(k->nrows ? k->nrows : 1, sizeof *idx);
    bool *done = calloc(k->nrows ? k->nrows : 1, sizeof *done);
    if (v == NULL || idx == NULL || done == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    /* each question of the round: its answers, then the truth among them */
    for (size_t i = 0; i < k->nrows; i++) {
        if (done[i])
            continue;
        size_t n = 0;
        for (size_t j = i; j < k->nrows; j++) {
            if (!done[j] && k->rows[j].qk == k->rows[i].qk &&
                strcmp(k->rows[j].key, k->rows[i].key) == 0) {
                done[j] = true;
                idx[n] = j;
                v[n].answer = k->rows[j].answer;
                v[n].serial = k->rows[j].serial;
                n++;
            }
        }
        long t = check_auth_truth(k->rows[i].check, v, n);
        if (t < 0)
            continue;
        if (k->ntr == k->captr) {
            size_t nc = k->captr ? 2 * k->captr : 64;
            struct truth *nt = realloc(k->tr, nc * sizeof *nt);
            if (nt == NULL) {
                rc = DP_ENOMEM;
                goto out;
            }
            k->tr = nt;
            k->captr = nc;
        }
        char *ans = strdup(k->rows[idx[t]].answer);
        if (ans == NULL) {
            rc = DP_ENOMEM;
            goto out;
        }
        k->tr[k->ntr++] = (struct truth){k->rows[i].qk, k->round_time, ans};
    }
out:
    free(v);
    free(idx);
    free(done);
    for (size_t i = 0; i < k->nrows; i++) {
        free(k->rows[i].key);
        free(k->rows[i].server);
        free(k->rows[i].answer);
    }
    k->nrows = 0;
    return rc;
}

static int known_row(const struct obs *o, unsigned line, void *arg)
{
    struct known *k = arg;
    (void)line;
    if (strncmp(o->vantage, "atlas:", 6) == 0 && keyset_add(&k->keys, row_key(o)) < 0)
        return k->err = DP_ENOMEM;
    if (o->round != k->round) {
        if (k->round != 0 && (k->err = finish_round(k)) != 0)
            return k->err;
        k->round = o->round;
        k->round_time = o->time;
    }
    enum check_id c;
    if (strncmp(o->server, "auth:", 5) != 0 || !obs_status_answered(o->status) ||
        check_parse(o->check, strlen(o->check), &c) != 0)
        return 0;
    if (k->nrows == k->caprows) {
        size_t nc = k->caprows ? 2 * k->caprows : 64;
        struct auth_row *nr = realloc(k->rows, nc * sizeof *nr);
        if (nr == NULL)
            return k->err = DP_ENOMEM;
        k->rows = nr;
        k->caprows = nc;
    }
    size_t kl = strlen(o->domain) + strlen(o->check) + strlen(o->qname) + strlen(o->qtype) + 4;
    size_t sl = strlen(o->server) + strlen(o->address) + 2;
    struct auth_row *r = &k->rows[k->nrows];
    r->key = malloc(kl);
    r->server = malloc(sl);
    r->answer = strdup(o->answer);
    if (r->key == NULL || r->server == NULL || r->answer == NULL) {
        free(r->key);
        free(r->server);
        free(r->answer);
        return k->err = DP_ENOMEM;
    }
    snprintf(r->key, kl, "%s %s %s %s", o->domain, o->check, o->qname, o->qtype);
    r->qk = qkey(o->domain, o->check, o->qname, o->qtype);
    r->check = c;
    snprintf(r->server, sl, "%s %s", o->server, o->address);
    r->soa = o->status == OBS_OK && strcmp(o->qtype, "SOA") == 0;
    k->nrows++;
    return 0;
}

static int by_key_time(const void *a, const void *b)
{
    const struct truth *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: the later round wins below */
}

static void known_free(struct known *k)
{
    free(k->keys.k);
    for (size_t i = 0; i < k->nrows; i++) {
        free(k->rows[i].key);
        free(k->rows[i].server);
        free(k->rows[i].answer);
    }
    free(k->rows);
    for (size_t i = 0; i < k->ntr; i++)
        free(k->tr[i].answer);
    free(k->tr);
    memset(k, 0, sizeof *k);
}

/* The latest truth at or before t. */
static const char *truth_at(void *arg, const char *domain, const char *check, const char *qname,
                            const char *qtype, int64_t t);

/* ---- the import ---- */

struct imp {
    struct known known;
    struct obslog *l;
    struct obs_batch batch;
    uint32_t round;       /* the round being filled */
    struct keyset probes; /* probes with a result in it */
    unsigned last_result; /* the result the last row came from */
    const char *cur_file;
    uint64_t rows, dups;
    uint64_t bad;         /* results that are JSON but bad (DP_EINPUT) */
    char first_bad[1200]; /* where the first of them is, and why */
    char err[1024];
};

static const char *truth_at(void *arg, const char *domain, const char *check, const char *qname,
                            const char *qtype, int64_t t)
{
    struct imp *im = arg;
    struct known *k = &im->known;
    uint64_t key = qkey(domain, check, qname, qtype);
    size_t lo = 0, hi = k->ntr; /* first entry with (key, time) > (key, t) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct truth *m = &k->tr[mid];
        if (m->key < key || (m->key == key && m->time <= t))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || k->tr[lo - 1].key != key)
        return NULL;
    return k->tr[lo - 1].answer;
}

static int take_row(void *arg, const struct obs *o, unsigned result_no)
{
    struct imp *im = arg;
    int rc = keyset_add(&im->known.keys, row_key(o));
    if (rc < 0)
        return rc;
    if (rc == 0) {
        im->dups++;
        return 0;
    }
    if (result_no != im->last_result) {
        /* a new result: a new round when its probe has one in this round */
        uint64_t pk = hstr(0xcbf29ce484222325ULL, o->vantage);
        int added = keyset_add(&im->probes, pk);
        if (added < 0)
            return added;
        if (added == 0) {
            im->round++;
            free(im->probes.k);
            memset(&im->probes, 0, sizeof im->probes);
            if (keyset_add(&im->probes, pk) < 0)
                return DP_ENOMEM;
        }
        im->last_result = result_no;
    }
    if ((rc = obs_batch_add(&im->batch, o, im->round)) != 0)
        return rc;
    im->rows++;
    if (obs_batch_full(&im->batch) &&
        (rc = obs_batch_append(&im->batch, im->l, im->err, sizeof im->err)) != 0)
        return rc;
    return 0;
}

static bool looks_like_file(const char *a)
{
    size_t n = strlen(a);
    return strchr(a, '/') != NULL || (n > 5 && strcasecmp(a + n - 5, ".json") == 0) ||
           (n > 6 && strcasecmp(a + n - 6, ".jsonl") == 0) ||
           (n > 7 && strcasecmp(a + n - 7, ".ndjson") == 0);
}

/* Every result of one file (f, named fname) through ctx into im's batch. A
 * result that is JSON but bad (DP_EINPUT) is counted in im->bad, the first
 * one described in im->first_bad, and the reading goes on. 0, or a negative
 * error whose stderr line is written. */
static int import_file(struct atlas_ctx *ctx, struct imp *im, FILE *f, const char *fname)
{
    struct atlas_reader *r = NULL;
    char err[1024] = "";
    int rc = atlas_reader_new(f, &r);
    if (rc != 0) {
        fprintf(stderr, "dnsprop import: %s: %s\n", fname, dp_strerror(rc));
        return rc;
    }
    im->cur_file = fname;
    for (;;) {
        struct json_object *o = NULL;
        rc = atlas_reader_next(r, &o, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "dnsprop import: %s: %s; nothing imported\n", fname, err);
            break;
        }
        if (rc == 0)
            break;
        char why[600] = "";
        rc = atlas_result(ctx, o, why, sizeof why);
        json_object_put(o);
        if (rc == DP_EINPUT) {
            if (im->bad++ == 0)
                snprintf(im->first_bad, sizeof im->first_bad, "%s: result %u (line %u): %s", fname,
                         atlas_reader_index(r), atlas_reader_line(r), why);
            continue;
        }
        if (rc != 0) {
            fprintf(stderr, "dnsprop import: %s: result %u: %s\n", fname, atlas_reader_index(r),
                    im->err[0] ? im->err : dp_strerror(rc));
            break;
        }
    }
    atlas_reader_free(r);
    return rc;
}

int cmd_import(int argc, char **argv)
{
    struct check_plan plan;
    struct atlas_ctx ctx;
    struct imp im;
    const char *dir = NULL;
    const char *profile_arg = NULL;
    bool quiet = false, skip_bad = false;
    int oflags = 0;
    int status = DP_EXIT_UNKNOWN;
    char err[1024] = "";
    char defdir[DNSNAME_BUFLEN + 16];
    FILE **files = calloc((size_t)argc, sizeof *files);
    const char **fnames = calloc((size_t)argc, sizeof *fnames);
    struct round_domain *doms = calloc((size_t)argc, sizeof *doms);
    char(*names)[DNSNAME_BUFLEN] = calloc((size_t)argc, sizeof *names); /* doms[i].name */
    size_t nfiles = 0, ndoms = 0;
    check_plan_init(&plan);
    atlas_ctx_init(&ctx);
    memset(&im, 0, sizeof im);
    if (files == NULL || fnames == NULL || doms == NULL || names == NULL)
        goto out;
    if (argc < 2 || strcmp(argv[1], "atlas") != 0) {
        usage(argc < 2 ? "missing source (only 'atlas' is known)" : "unknown source",
              argc < 2 ? NULL : argv[1]);
        goto out;
    }
    enum profile prof = PROFILE_NONE;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = strcmp(a, "--dir") == 0 || strcmp(a, "--checks") == 0 ||
                       strcmp(a, "--expect") == 0 || strcmp(a, "--profile") == 0;
        if (has_val && i + 1 >= argc) {
            usage("missing value for", a);
            goto out;
        }
        if (strcmp(a, "--dir") == 0) {
            dir = argv[++i];
            if (dir[0] == '\0') {
                usage("empty --dir", NULL);
                goto out;
            }
        } else if (strcmp(a, "--checks") == 0) {
            if (check_plan_parse_checks(&plan, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "dnsprop import: %s\n", err);
                goto out;
            }
        } else if (strcmp(a, "--expect") == 0) {
            if (check_plan_add_expect(&plan, argv[++i], err, sizeof err) != 0) {
                fprintf(stderr, "dnsprop import: %s\n", err);
                goto out;
            }
        } else if (strcmp(a, "--profile") == 0) {
            profile_arg = argv[++i];
            if (check_plan_set_profile(&plan, profile_arg, err, sizeof err) != 0) {
                fprintf(stderr, "dnsprop import: %s\n", err);
                goto out;
            }
        } else if (strcmp(a, "--single-mx") == 0) {
            plan.single_mx = true;
        } else if (strcmp(a, "--skip-bad") == 0) {
            skip_bad = true;
        } else if (strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--insecure-dir") == 0) {
            oflags |= OBSLOG_INSECURE_DIR;
        } else if (a[0] == '-' && strcmp(a, "-") != 0) {
            usage("unknown option", a);
            goto out;
        } else {
            struct stat st;
            bool is_stdin = strcmp(a, "-") == 0;
            if (is_stdin || stat(a, &st) == 0) {
                if (!is_stdin && S_ISDIR(st.st_mode)) {
                    usage("a folder, not a results file:", a);
                    goto out;
                }
                fnames[nfiles++] = a;
            } else if (looks_like_file(a)) {
                char esc[256];
                fprintf(stderr, "dnsprop import: %s: %s\n",
                        dp_escape(a, strlen(a), esc, sizeof esc), strerror(errno));
                goto out;
            } else {
                const char *why;
                doms[ndoms].name = names[ndoms];
                if (dnsname_normalize(a, names[ndoms], sizeof names[ndoms], &why) != 0) {
                    char esc[256];
                    fprintf(stderr, "dnsprop import: bad domain '%s': %s\n",
                            dp_escape(a, strlen(a), esc, sizeof esc), why);
                    goto out;
                }
                for (size_t d = 0; d < ndoms; d++) {
                    if (strcmp(doms[d].name, doms[ndoms].name) == 0) {
                        usage("repeated domain", a);
                        goto out;
                    }
                }
                ndoms++;
            }
        }
    }
    if (nfiles == 0) {
        usage("no results file", NULL);
        goto out;
    }
    if (ndoms == 0) {
        usage("no domain", NULL);
        goto out;
    }
    if (check_plan_finish(&plan, err, sizeof err) != 0) {
        fprintf(stderr, "dnsprop import: %s\n", err);
        goto out;
    }
    prof = plan.profile;
    for (size_t d = 0; d < ndoms; d++) {
        doms[d].profile = prof;
        doms[d].plan = &plan;
        if (atlas_ctx_add_domain(&ctx, &doms[d]) != 0)
            goto out;
    }
    if (ctx.nq > 64) {
        usage("more than 64 questions: fewer domains or checks, please", NULL);
        goto out;
    }
    /* every file can be opened before anything is created: a regular file
     * (a symlink only to one: a FIFO planted there cannot hang a cron run),
     * or "-" for stdin, which may be a pipe (curl ... | dnsprop import) */
    for (size_t f = 0; f < nfiles; f++) {
        if (strcmp(fnames[f], "-") == 0) {
            files[f] = stdin;
            continue;
        }
        int fd = datadir_open_read(fnames[f], err, sizeof err);
        if (fd < 0) {
            fprintf(stderr, "dnsprop import: %s\n", err);
            goto out;
        }
        files[f] = fdopen(fd, "rb");
        if (files[f] == NULL) {
            fprintf(stderr, "dnsprop import: %s: %s\n", fnames[f], strerror(errno));
            close(fd);
            goto out;
        }
    }
    if (dir == NULL) {
        snprintf(defdir, sizeof defdir, "./dnsprop-%s", doms[0].name);
        dir = defdir;
    }

    /* the folder, and what its log holds */
    struct stat st0;
    char logp[4200];
    snprintf(logp, sizeof logp, "%s/observations.csv", dir);
    bool fresh_dir = stat(dir, &st0) != 0, fresh_log = stat(logp, &st0) != 0;
    int rc = obslog_open(dir, REPORT_LOCK_WAIT_MS, oflags | (quiet ? OBSLOG_QUIET : 0), &im.l, err,
                         sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop import: %s\n", err[0] ? err : dp_strerror(rc));
        goto out;
    }
    uint64_t mark = obslog_mark(im.l);
    rc = obslog_read(logp, known_row, &im.known, err, sizeof err);
    if (rc == 0 && im.known.round != 0)
        rc = finish_round(&im.known);
    if (rc != 0) {
        fprintf(stderr, "dnsprop import: %s\n", err[0] ? err : dp_strerror(rc));
        goto fail;
    }
    if (im.known.ntr > 0)
        qsort(im.known.tr, im.known.ntr, sizeof *im.known.tr, by_key_time);
    im.round = obslog_next_round(im.l);
    ctx.truth = truth_at;
    ctx.row = take_row;
    ctx.arg = &im;

    for (size_t f = 0; f < nfiles; f++)
        if (import_file(&ctx, &im, files[f], fnames[f]) != 0)
            goto fail;
    if (im.bad > 0 && !skip_bad) {
        fprintf(stderr,
                "dnsprop import: %s (%llu bad result(s) in all); nothing imported "
                "(--skip-bad imports the good ones)\n",
                im.first_bad, (unsigned long long)im.bad);
        goto fail;
    }
    if (obs_batch_append(&im.batch, im.l, err, sizeof err) != 0) {
        fprintf(stderr, "dnsprop import: %s\n", err);
        goto fail;
    }
    /* every row is in the log: what the reading kept is not needed for the
     * reports, which would otherwise be built beside it */
    obs_batch_deinit(&im.batch);
    known_free(&im.known);
    free(im.probes.k);
    im.probes.k = NULL;
    struct report_outcome out;
    if (report_refresh(im.l, NULL, 0, NULL, &out, err, sizeof err) != 0) {
        fprintf(stderr, "dnsprop import: %s\n", err);
        goto out;
    }
    if (im.bad > 0)
        fprintf(stderr, "dnsprop import: warning: %llu bad result(s) skipped, the first: %s\n",
                (unsigned long long)im.bad, im.first_bad);
    uint64_t unused = ctx.st.results_unused + ctx.st.not_dns;
    uint64_t errors_unplaced = ctx.st.errors_without_question + ctx.st.errors_without_resolver;
    if (!quiet && unused > 0)
        fprintf(stderr,
                "dnsprop import: warning: %llu result(s) skipped: %llu answer none of the "
                "questions of the domains and checks given, %llu not DNS, %llu error(s) with "
                "no known question or resolver\n",
                (unsigned long long)unused, (unsigned long long)ctx.st.replies_not_asked,
                (unsigned long long)ctx.st.not_dns, (unsigned long long)errors_unplaced);
    if (!quiet)
        fprintf(stderr,
                "dnsprop import: %llu result(s) read, %llu row(s) imported, %llu already in "
                "the log\n",
                (unsigned long long)ctx.st.results, (unsigned long long)im.rows,
                (unsigned long long)im.dups);
    printf("%s\n", out.status_line);
    status = DP_EXIT_OK;
    goto out;
fail:
    /* all or nothing: the log as it was, no new folder left behind */
    obslog_rollback(im.l, mark);
    if (fresh_log) {
        char lock[4200];
        snprintf(lock, sizeof lock, "%s/.lock", dir);
        unlink(logp);
        unlink(lock);
        if (fresh_dir)
            rmdir(dir);
    }
out:
    obslog_close(im.l);
    obs_batch_deinit(&im.batch);
    known_free(&im.known);
    free(im.probes.k);
    for (size_t f = 0; f < nfiles; f++)
        if (files[f] != NULL && files[f] != stdin)
            fclose(files[f]);
    free(files);
    free(fnames);
    free(doms);
    free(names);
    atlas_ctx_deinit(&ctx);
    check_plan_deinit(&plan);
    return status;
}
