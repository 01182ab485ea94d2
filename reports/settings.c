/*
 * DIR/settings.csv: each domain's settings (profile, single MX, window,
 * since, old TTL), as the runs gave them (PRODUCT.md section 4). A run's
 * settings are merged into the saved ones and written back (rep__sets_take);
 * merge takes the sources' settings of domains this folder does not know yet
 * (report_merge_settings). The reports read them through rep__sets_find.
 * The file is read as hostile input: a bad line is refused with its number.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SETTINGS_NAME   "settings.csv"
#define SETTINGS_HEADER "domain,profile,single_mx,window,since_utc,old_ttl"
/* settings.csv as written before old_ttl: still read */
#define SETTINGS_HEADER_V1 "domain,profile,single_mx,window,since_utc"

void rep__sets_free(struct rep_sets *s)
{
    free(s->v);
    dp_strtab_deinit(&s->names);
    memset(s, 0, sizeof *s);
}

struct rep_dset *rep__sets_find(const struct rep_sets *s, const char *domain)
{
    uint32_t id = dp_strtab_find(&s->names, domain, strlen(domain));
    return id == UINT32_MAX ? NULL : &s->v[id];
}

/* old_ttl_s 0 keeps the domain's saved old TTL: --old-ttl is given once,
 * when the log began after the change, and holds for the later runs. The
 * profile is "m365" or none (every caller refuses any other). One lookup
 * (the add finds a known domain), no copy but the names' own: a run puts
 * every domain it was given. */
static int sets_put(struct rep_sets *s, const char *domain, const char *profile, bool single_mx,
                    uint64_t window_s, int64_t since, uint64_t old_ttl_s)
{
    /* room first, so that a domain in names always has its settings */
    if (dp_grow((void **)&s->v, &s->cap, s->n, sizeof *s->v) != 0)
        return DP_ENOMEM;
    uint32_t id = dp_strtab_add(&s->names, domain, strlen(domain));
    if (id == UINT32_MAX)
        return DP_ENOMEM;
    struct rep_dset *d = &s->v[id];
    if (id == s->n) {
        memset(d, 0, sizeof *d);
        d->domain = s->names.s[id];
        s->n++;
    }
    d->profile = profile != NULL && strcmp(profile, "m365") == 0 ? "m365" : "";
    d->single_mx = single_mx;
    d->window_s = window_s;
    d->since = since;
    if (old_ttl_s > 0)
        d->old_ttl_s = old_ttl_s;
    return 0;
}

static int sets_read(int fd, const char *path, const char *name, struct rep_sets *s, char *err,
                     size_t errlen);

/* Reads DIR/settings.csv (absent: no settings). Hostile input: one line. */
static int sets_load(const struct datadir *dd, struct rep_sets *s, char *err, size_t errlen)
{
    char *path = rep__path_join(dd->path, SETTINGS_NAME);
    int rc = 0;
    if (path == NULL)
        return DP_ENOMEM;
    int fd = datadir_openat_file(dd, SETTINGS_NAME, O_RDONLY, err, errlen);
    if (fd < 0) {
        rc = fd == -ENOENT ? 0 : fd == DP_EUNSAFE ? DP_EUNSAFE : DP_EIO;
        if (rc == 0 && errlen > 0)
            err[0] = '\0';
    } else {
        rc = sets_read(fd, path, SETTINGS_NAME, s, err, errlen);
    }
    free(path);
    return rc;
}

/* Reads the settings file open on fd (taken: closed here) into s; path for
 * system errors, name for the line numbers of bad lines. */
static int sets_read(int fd, const char *path, const char *name, struct rep_sets *s, char *err,
                     size_t errlen)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    unsigned ln = 0;
    struct csvr r;
    int rc = 0;
    csvr_init(&r);
    f = fdopen(fd, "r");
    if (f == NULL) {
        rc = DP_EIO;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    ssize_t len;
    int want = 6; /* fields in a line: 5 in a file of the first version */
    while ((len = getline(&line, &cap, f)) >= 0) {
        const char *why = NULL;
        char esc[64];
        ln++;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        int n = csvr_split(&r, line, (size_t)len, &why);
        if (ln == 1) {
            size_t hl = (size_t)len;
            if (hl > 0 && line[hl - 1] == '\r')
                hl--;
            if (hl == strlen(SETTINGS_HEADER_V1) && memcmp(line, SETTINGS_HEADER_V1, hl) == 0) {
                want = 5;
                s->v1 = true;
                continue;
            }
            if (hl != strlen(SETTINGS_HEADER) || memcmp(line, SETTINGS_HEADER, hl) != 0) {
                snprintf(err, errlen, "%s:1: not the header '" SETTINGS_HEADER "'", name);
                rc = DP_EFORMAT;
                goto out;
            }
            continue;
        }
        if (n != want) {
            snprintf(err, errlen, "%s:%u: %s", name, ln,
                     n < 0       ? why
                     : want == 5 ? "want 5 fields: " SETTINGS_HEADER_V1
                                 : "want 6 fields: " SETTINGS_HEADER);
            rc = DP_EINPUT;
            goto out;
        }
        uint64_t w = 0, ottl = 0;
        int64_t since = -1;
        bool smx = strcmp(r.f[2], "yes") == 0;
        const char *bad = NULL;
        if (r.len[0] == 0)
            bad = "domain";
        else if (r.len[1] != 0 && strcmp(r.f[1], "m365") != 0)
            bad = "profile";
        else if (!smx && strcmp(r.f[2], "no") != 0)
            bad = "single_mx";
        else if (dp_parse_uint(r.f[3], 1, 3650ULL * 86400, &w) != 0)
            bad = "window";
        else if (r.len[4] != 0 && dp_parse_time_exact(r.f[4], r.len[4], &since) != 0)
            bad = "since_utc";
        else if (want > 5 && r.len[5] != 0 && dp_parse_uint(r.f[5], 1, 3650ULL * 86400, &ottl) != 0)
            bad = "old_ttl";
        if (bad != NULL) {
            int col = strcmp(bad, "domain") == 0      ? 0
                      : strcmp(bad, "profile") == 0   ? 1
                      : strcmp(bad, "single_mx") == 0 ? 2
                      : strcmp(bad, "window") == 0    ? 3
                      : strcmp(bad, "since_utc") == 0 ? 4
                                                      : 5;
            snprintf(err, errlen, "%s:%u: bad %s '%s'", name, ln, bad,
                     dp_escape(r.f[col], r.len[col], esc, sizeof esc));
            rc = DP_EINPUT;
            goto out;
        }
        if ((rc = sets_put(s, r.f[0], r.f[1], smx, w, since, ottl)) != 0)
            goto out;
    }
out:
    if (f != NULL)
        fclose(f);
    free(line);
    csvr_deinit(&r);
    return rc;
}

static int sets_save(const struct datadir *dd, const struct rep_sets *s, char *err, size_t errlen)
{
    struct csvw w;
    bool v1 = s->v1;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].old_ttl_s > 0)
            v1 = false; /* the old form cannot hold it: the new form, once */
    csvw_init(&w);
    int rc = rep__csvw_to_file(&w, dd, SETTINGS_NAME, false, err, errlen);
    if (rc != 0) {
        csvw_deinit(&w);
        return rc;
    }
    if (v1)
        csvw_raw(&w, SETTINGS_HEADER_V1 "\r\n", strlen(SETTINGS_HEADER_V1) + 2);
    else
        csvw_raw(&w, SETTINGS_HEADER "\r\n", strlen(SETTINGS_HEADER) + 2);
    for (size_t i = 0; i < s->n; i++) {
        csvw_str(&w, s->v[i].domain);
        csvw_str(&w, s->v[i].profile);
        csvw_bool(&w, s->v[i].single_mx);
        csvw_uint(&w, s->v[i].window_s);
        csvw_time(&w, s->v[i].since);
        if (s->v[i].old_ttl_s > 0)
            csvw_uint(&w, s->v[i].old_ttl_s);
        else if (!v1)
            csvw_field(&w, NULL, 0);
        csvw_end(&w);
    }
    rc = rep__csvw_replace(dd, SETTINGS_NAME, &w, err, errlen);
    csvw_deinit(&w);
    return rc;
}

int rep__sets_take(const struct datadir *dd, const struct report_settings *s, size_t ns,
                   struct rep_sets *out, char *err, size_t errlen)
{
    int rc = sets_load(dd, out, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].domain == NULL || s[i].domain[0] == '\0' ||
            (s[i].profile && s[i].profile[0] && strcmp(s[i].profile, "m365") != 0)) {
            snprintf(err, errlen, "settings: bad domain or profile");
            return DP_EINPUT;
        }
        rc = sets_put(out, s[i].domain, s[i].profile, s[i].single_mx,
                      s[i].window_s ? s[i].window_s : REPORT_DEFAULT_WINDOW_S, s[i].since,
                      s[i].old_ttl_s);
        if (rc != 0)
            return rc;
    }
    if (ns > 0)
        rc = sets_save(dd, out, err, errlen);
    return rc;
}

static bool dset_same(const struct rep_dset *x, const struct rep_dset *y)
{
    return strcmp(x->profile, y->profile) == 0 && x->single_mx == y->single_mx &&
           x->window_s == y->window_s && x->since == y->since && x->old_ttl_s == y->old_ttl_s;
}

int report_merge_settings(struct obslog *l, const char *const *dirs, size_t ndirs, bool save,
                          char *err, size_t errlen)
{
    struct rep_sets mine = {0}, theirs = {0};
    char *path = NULL;
    bool changed = false;
    int rc = sets_load(&l->dd, &mine, err, errlen);
    if (rc != 0)
        goto out;
    for (size_t k = 0; k < ndirs; k++) {
        rep__sets_free(&theirs);
        free(path);
        if ((path = rep__path_join(dirs[k], SETTINGS_NAME)) == NULL) {
            rc = DP_ENOMEM;
            goto out;
        }
        int fd = datadir_open_read(path, err, errlen);
        if (fd == -ENOENT) {
            if (errlen > 0)
                err[0] = '\0';
            continue; /* a source without settings: nothing to take */
        }
        if (fd < 0) {
            rc = fd == DP_ENOMEM || fd == DP_EUNSAFE ? fd : DP_EINPUT;
            goto out;
        }
        if ((rc = sets_read(fd, path, path, &theirs, err, errlen)) != 0) {
            if (rc != DP_ENOMEM && rc != DP_EUNSAFE)
                rc = DP_EINPUT;
            goto out;
        }
        for (size_t i = 0; i < theirs.n; i++) {
            const struct rep_dset *t = &theirs.v[i];
            const struct rep_dset *m = rep__sets_find(&mine, t->domain);
            if (m == NULL) {
                if ((rc = sets_put(&mine, t->domain, t->profile, t->single_mx, t->window_s,
                                   t->since, t->old_ttl_s)) != 0)
                    goto out;
                changed = true;
            } else if (save && !dset_same(m, t)) {
                char e1[128], e2[128], e3[128];
                fprintf(stderr,
                        "dnsprop merge: warning: the settings of %s differ in %s and %s: %s's "
                        "kept\n",
                        dp_escape(t->domain, strlen(t->domain), e1, sizeof e1),
                        dp_escape(l->dd.path, strlen(l->dd.path), e2, sizeof e2),
                        dp_escape(dirs[k], strlen(dirs[k]), e3, sizeof e3), e2);
            }
        }
    }
    if (save && changed)
        rc = sets_save(&l->dd, &mine, err, errlen);
out:
    rep__sets_free(&mine);
    rep__sets_free(&theirs);
    free(path);
    return rc;
}
