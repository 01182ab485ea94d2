/*
 * From options to a run: domains normalized (and read from --domains), the
 * check plan, resolvers and authoritative servers, the data folder and the
 * per-domain settings the reports need. Everything is checked here, before
 * the data folder is created or touched: bad input is one line on stderr and
 * DP_EINPUT, and nothing exists yet to clean up.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOMAINS_FILE_MAX (64u << 20) /* bytes in a --domains file */

static int say(const char *cmd, const char *msg)
{
    fprintf(stderr, "dnsprop %s: %s\n", cmd, msg);
    return DP_EINPUT;
}

/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer. Returns 0, or DP_EINPUT with err naming the path and the reason. */
static int read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                     size_t errlen)
{
    char esc[256];
    dp_escape(path, strlen(path), esc, sizeof esc);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", esc, strerror(errno));
        return DP_EINPUT;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", esc);
        fclose(f);
        return DP_EINPUT;
    }
    if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s: larger than %zu MiB", esc, max >> 20);
        fclose(f);
        return DP_EINPUT;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return DP_ENOMEM;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: read error", esc);
        free(buf);
        return DP_EINPUT;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Adds one normalized domain; s->names holds every name added before (ids
 * in the order of s->domains), so a repeat costs one lookup, not a scan;
 * *cap is the room in s->domains. file: the --domains file (escaped) it
 * comes from, at line `line`, or NULL for an argument. */
static int add_domain(struct run_setup *s, size_t *cap, const char *name, enum profile profile,
                      const char *file, unsigned line, const char *cmd)
{
    struct dp_strtab *seen = &s->names;
    size_t len = strlen(name);
    if (dp_grow((void **)&s->domains, cap, s->ndomains, sizeof *s->domains) != 0)
        return DP_ENOMEM;
    /* one probe: the add finds a name already there and returns its id */
    uint32_t before = seen->n;
    uint32_t id = dp_strtab_add(seen, name, len);
    if (id == UINT32_MAX)
        return DP_ENOMEM;
    if (id < before) {
        char msg[DNSNAME_BUFLEN + 400];
        if (file != NULL)
            snprintf(msg, sizeof msg, "%s:%u: domain '%s' given twice (also an argument)", file,
                     line, name);
        else
            snprintf(msg, sizeof msg, "domain '%s' given twice", name);
        return say(cmd, msg);
    }
    struct round_domain *d = &s->domains[s->ndomains++];
    memset(d, 0, sizeof *d);
    d->name = seen->s[id];
    d->profile = profile;
    d->plan = &s->plan;
    return 0;
}

/* The domains of the arguments, then those of the --domains file, each
 * once. Returns 0, DP_EINPUT (said on stderr) or DP_ENOMEM. */
static int add_domains(struct run_setup *s, const struct run_opts *o, const char *cmd)
{
    struct check_domain *list = NULL;
    size_t cap = 0, n = 0;
    char *text = NULL;
    char err[1024] = "";
    int rc = 0;
    for (size_t i = 0; i < o->ndomains && rc == 0; i++) {
        char name[DNSNAME_BUFLEN];
        const char *why = "";
        if (dnsname_normalize(o->domains[i], name, sizeof name, &why) != 0) {
            char esc[300], msg[512];
            dp_escape(o->domains[i], strlen(o->domains[i]), esc, sizeof esc);
            snprintf(msg, sizeof msg, "bad domain '%s': %s", esc, why);
            rc = say(cmd, msg);
            goto out;
        }
        rc = add_domain(s, &cap, name, s->plan.profile, NULL, 0, cmd);
    }
    if (rc != 0 || o->domains_file == NULL)
        goto out;
    size_t len = 0;
    rc = read_file(o->domains_file, DOMAINS_FILE_MAX, &text, &len, err, sizeof err);
    if (rc == 0)
        rc = check_domains_parse(text, len, o->domains_file, s->plan.profile, &list, &n, err,
                                 sizeof err);
    if (rc != 0) {
        rc = rc == DP_ENOMEM ? rc : say(cmd, err);
        goto out;
    }
    /* a file line repeating an argument: the file's place named */
    char where[300];
    dp_escape(o->domains_file, strlen(o->domains_file), where, sizeof where);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_domain(s, &cap, list[i].name, list[i].profile, where, list[i].line, cmd);
    if (rc == 0 && s->ndomains < cap) {
        /* every domain is in: the doubling's spare room goes back */
        struct round_domain *fit = realloc(s->domains, s->ndomains * sizeof *fit);
        if (fit != NULL)
            s->domains = fit;
    }
out:
    free(text);
    free(list);
    return rc;
}

int run_setup_build(struct run_setup *s, const struct run_opts *o, const char *cmd)
{
    char err[1024] = "";
    int rc;
    memset(s, 0, sizeof *s);
    check_plan_init(&s->plan);

    /* the check plan: --checks, --profile, --single-mx, --expect */
    if (o->checks != NULL && check_plan_parse_checks(&s->plan, o->checks, err, sizeof err) != 0)
        return say(cmd, err);
    if (o->profile != NULL && check_plan_set_profile(&s->plan, o->profile, err, sizeof err) != 0)
        return say(cmd, err);
    s->plan.single_mx = o->single_mx;
    for (size_t i = 0; i < o->nexpect; i++) {
        rc = check_plan_add_expect(&s->plan, o->expect[i], err, sizeof err);
        if (rc != 0)
            return rc == DP_ENOMEM ? rc : say(cmd, err);
    }
    if (check_plan_finish(&s->plan, err, sizeof err) != 0)
        return say(cmd, err);

    /* domains: arguments first, then the --domains file */
    if ((rc = add_domains(s, o, cmd)) != 0)
        return rc;
    if (s->ndomains == 0)
        return say(cmd, "no domain to check");

    /* servers */
    if (o->resolvers != NULL)
        rc = rlist_load_spec(&s->resolvers, o->resolvers, false, o->quiet ? NULL : stderr, err,
                             sizeof err);
    else
        rc = rlist_load_public(&s->resolvers, err, sizeof err);
    if (rc != 0)
        return rc == DP_ENOMEM ? rc : say(cmd, err);
    bool authority_given = o->authority != NULL;
    if (authority_given) {
        rc = rlist_load_spec(&s->authority, o->authority, true, o->quiet ? NULL : stderr, err,
                             sizeof err);
        if (rc != 0)
            return rc == DP_ENOMEM ? rc : say(cmd, err);
    }
    if (s->resolvers.n == 0 && s->authority.n == 0)
        return say(cmd, "no server to ask");
    bool parent_given = o->parent != NULL;
    if (parent_given) {
        /* the same syntax as --authority, but a list of servers is needed */
        if (strcmp(o->parent, "none") == 0)
            return say(cmd, "--parent 'none': give the parent zone's servers, or leave "
                            "--parent out to find them");
        rc =
            rlist_load_spec(&s->parent, o->parent, true, o->quiet ? NULL : stderr, err, sizeof err);
        if (rc != 0 && strncmp(err, "--authority", 11) == 0) {
            char msg[sizeof err];
            snprintf(msg, sizeof msg, "--parent%s", err + 11);
            snprintf(err, sizeof err, "%s", msg);
        }
        if (rc != 0)
            return rc == DP_ENOMEM ? rc : say(cmd, err);
        bool any = false;
        for (size_t i = 0; i < s->ndomains; i++)
            any = any || (check_plan_checks(&s->plan, s->domains[i].profile) &
                          CHECK_BIT(CHECK_DELEGATION)) != 0;
        if (!any)
            return say(cmd, "--parent: only the delegation check asks the parent (add "
                            "--checks ...,delegation)");
    }

    /* where the run stands, and where it writes */
    if (o->vantage != NULL) {
        snprintf(s->vantage, sizeof s->vantage, "%s", o->vantage);
    } else if (gethostname(s->vantage, sizeof s->vantage) != 0 || s->vantage[0] == '\0') {
        snprintf(s->vantage, sizeof s->vantage, "localhost");
    }
    s->vantage[sizeof s->vantage - 1] = '\0';
    if (o->dir != NULL) {
        s->dir = strdup(o->dir);
    } else {
        size_t len = strlen(s->domains[0].name) + sizeof "./dnsprop-";
        s->dir = malloc(len);
        if (s->dir != NULL)
            snprintf(s->dir, len, "./dnsprop-%s", s->domains[0].name);
    }
    if (s->dir == NULL)
        return DP_ENOMEM;

    /* what the reports need to know of each domain */
    s->settings = calloc(s->ndomains, sizeof *s->settings);
    if (s->settings == NULL)
        return DP_ENOMEM;
    for (size_t i = 0; i < s->ndomains; i++) {
        struct report_settings *rs = &s->settings[i];
        rs->domain = s->domains[i].name;
        rs->profile = s->domains[i].profile == PROFILE_M365 ? "m365" : "";
        rs->single_mx = check_plan_single_mx(&s->plan, s->domains[i].profile);
        rs->window_s = o->window_ms / 1000;
        rs->since = o->since;
        rs->old_ttl_s = o->old_ttl_s;
    }

    s->cfg.domains = s->domains;
    s->cfg.ndomains = s->ndomains;
    s->cfg.resolvers = &s->resolvers;
    s->cfg.authority = authority_given ? &s->authority : NULL;
    s->cfg.parent = parent_given ? &s->parent : NULL;
    s->cfg.vantage = s->vantage;
    s->cfg.verbose = o->verbose;
    return 0;
}

void run_setup_deinit(struct run_setup *s)
{
    free(s->dir);
    free(s->domains);
    free(s->settings);
    dp_strtab_deinit(&s->names);
    check_plan_deinit(&s->plan);
    rlist_deinit(&s->resolvers);
    rlist_deinit(&s->authority);
    rlist_deinit(&s->parent);
    memset(s, 0, sizeof *s);
}
