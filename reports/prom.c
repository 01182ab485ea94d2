/*
 * The summary as Prometheus text exposition (format 0.0.4), for
 * node_exporter's textfile collector (PRODUCT.md section 13): one gauge family
 * per figure of summary.csv, labelled domain and check. The figures are the
 * rows report_refresh drew for summary.csv (report_summary), never computed
 * again here.
 *
 * The collector reads every *.prom file of its folder whenever it is scraped,
 * so a half-written file must never carry that name: the text goes to a
 * temporary file of the same folder (a name that does not end in .prom and
 * that nobody can guess, created with O_EXCL|O_NOFOLLOW so nothing planted
 * there is followed), is fsynced, and is renamed over the target.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A growing text buffer; errors are sticky. */
struct pbuf {
    char *s;
    size_t len, cap;
    bool nomem;
};

static void pb_put(struct pbuf *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (p == NULL) {
            b->nomem = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void pb_str(struct pbuf *b, const char *s)
{
    pb_put(b, s, strlen(s));
}

/* A label value as the format requires: backslash, double quote and line feed
 * escaped. Any other byte outside printable ASCII (a domain never holds one,
 * but the text must stay valid UTF-8 whatever it is given) is written as the
 * zone-file escape \DDD, its backslash escaped in turn. */
static void pb_label(struct pbuf *b, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        char e[8];
        if (*p == '\\')
            pb_put(b, "\\\\", 2);
        else if (*p == '"')
            pb_put(b, "\\\"", 2);
        else if (*p == '\n')
            pb_put(b, "\\n", 2);
        else if (*p < 0x20 || *p > 0x7e) {
            int n = snprintf(e, sizeof e, "\\\\%03u", (unsigned)*p);
            pb_put(b, e, (size_t)n);
        } else
            pb_put(b, (const char *)p, 1);
    }
}

enum fig {
    F_RESOLVERS,
    F_CONVERGED,
    F_STALE,
    F_ERRORS,
    F_OVERDUE,
    F_ETA,
    F_WINDOW,
    F_DEADLINE,
    F_STATUS,
    F_LAST
};

static const struct family {
    const char *name;
    const char *help;
} families[] = {
    [F_RESOLVERS] = {"dnsprop_resolvers",
                     "Resolvers (vantage and server pairs) asked in the latest round."},
    [F_CONVERGED] = {"dnsprop_converged",
                     "Resolvers whose latest answer matches the expected records."},
    [F_STALE] = {"dnsprop_stale", "Resolvers that still answer something else (old records)."},
    [F_ERRORS] = {"dnsprop_errors", "Resolvers whose latest query failed."},
    [F_OVERDUE] = {"dnsprop_overdue",
                   "Resolvers not converged that still answer the old records after the time "
                   "their own TTL promised (serve-stale, TTL stretching)."},
    [F_ETA] = {"dnsprop_eta_timestamp_seconds",
               "When the stale resolvers must have the new records by their TTLs (Unix time); "
               "absent when none is stale."},
    [F_WINDOW] = {"dnsprop_window_end_timestamp_seconds",
                  "End of the propagation window (Unix time)."},
    [F_DEADLINE] = {"dnsprop_deadline_timestamp_seconds",
                    "The change time plus the old TTL (Unix time): by then every cache that keeps "
                    "TTLs has the new records; absent when unknown."},
    [F_STATUS] = {"dnsprop_status",
                  "Status of the check as an exit status: 0 OK (converged), 1 WARNING "
                  "(propagating), 2 CRITICAL (critical or expired); a run that ends UNKNOWN (3) "
                  "leaves the file as it was."},
    [F_LAST] = {"dnsprop_last_round_timestamp_seconds",
                "Start of the latest round that asked this check (Unix time)."},
};

/* The value of figure f for row r; false when it has none. */
static bool value_of(const struct report_summary *r, enum fig f, int64_t *v)
{
    switch (f) {
    case F_RESOLVERS:
        *v = r->servers;
        return true;
    case F_CONVERGED:
        *v = r->converged;
        return true;
    case F_STALE:
        *v = r->stale;
        return true;
    case F_ERRORS:
        *v = r->errors;
        return true;
    case F_OVERDUE:
        *v = r->overdue;
        return true;
    case F_DEADLINE:
        *v = r->deadline;
        return r->deadline >= 0;
    case F_ETA:
        *v = r->eta;
        return r->eta >= 0;
    case F_WINDOW:
        *v = r->window_end;
        return r->window_end >= 0;
    case F_STATUS:
        *v = r->exit_status;
        return true;
    case F_LAST:
        *v = r->last_round;
        return r->last_round >= 0;
    }
    return false;
}

int report_prometheus_text(const struct report_summary *rows, size_t n, char **out, size_t *len)
{
    struct pbuf b = {0};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        pb_str(&b, "# HELP ");
        pb_str(&b, families[f].name);
        pb_str(&b, " ");
        pb_str(&b, families[f].help);
        pb_str(&b, "\n# TYPE ");
        pb_str(&b, families[f].name);
        pb_str(&b, " gauge\n");
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            char num[32];
            if (!value_of(&rows[i], (enum fig)f, &v))
                continue;
            pb_str(&b, families[f].name);
            pb_str(&b, "{domain=\"");
            pb_label(&b, rows[i].domain);
            pb_str(&b, "\",check=\"");
            pb_label(&b, rows[i].check);
            int k = snprintf(num, sizeof num, "\"} %" PRId64 "\n", v);
            pb_put(&b, num, (size_t)k);
        }
    }
    if (b.nomem || b.s == NULL) {
        free(b.s);
        return DP_ENOMEM;
    }
    *out = b.s;
    *len = b.len;
    return 0;
}

/* Splits path into its folder (malloc'd; "." when it has no slash) and its
 * last component (borrowed from path). */
static int split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *dir = strdup(".");
        *base = path;
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        *dir = strndup(path, n);
        *base = slash + 1;
    }
    return *dir == NULL ? DP_ENOMEM : 0;
}

int report_prometheus_check_path(const char *path, char *err, size_t errlen)
{
    char *dir = NULL;
    const char *base;
    char esc[300];
    struct stat st;
    if (path[0] == '\0') {
        dp_errf(err, errlen, "--prometheus: empty file name");
        return DP_EINPUT;
    }
    int rc = split_path(path, &dir, &base);
    if (rc != 0)
        return rc;
    rc = DP_EINPUT;
    dp_escape(path, strlen(path), esc, sizeof esc);
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        dp_errf(err, errlen, "--prometheus: '%s' names a folder, not a file", esc);
        goto out;
    }
    if (stat(dir, &st) != 0) {
        dp_errf(err, errlen, "--prometheus: '%s': its folder: %s", esc, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        dp_errf(err, errlen, "--prometheus: '%s': its folder is not a folder", esc);
        goto out;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        dp_errf(err, errlen, "--prometheus: '%s': its folder is not writable: %s", esc,
                strerror(errno));
        goto out;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        dp_errf(err, errlen, "--prometheus: '%s' exists and is not a regular file", esc);
        goto out;
    }
    rc = 0;
out:
    free(dir);
    return rc;
}

int report_write_prometheus(const char *path, const struct report_summary *rows, size_t n,
                            char *err, size_t errlen)
{
    char *dir = NULL, *text = NULL;
    const char *base;
    char tmp[NAME_MAX + 1] = "";
    char esc[300];
    size_t len = 0;
    int dfd = -1, fd = -1;
    int rc = split_path(path, &dir, &base);
    if (rc != 0)
        return rc;
    dp_escape(path, strlen(path), esc, sizeof esc);
    if ((rc = report_prometheus_text(rows, n, &text, &len)) != 0) {
        dp_errf(err, errlen, "--prometheus: %s", dp_strerror(rc));
        goto out;
    }
    rc = DP_EIO;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        dp_errf(err, errlen, "--prometheus: %s: folder: %s", esc, strerror(errno));
        goto out;
    }
    /* ".BASE.<16 hex>.tmp": hidden, not *.prom (the collector skips it), and
     * unpredictable; a name left by someone else is never reused or followed */
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
            dp_errf(err, errlen, "--prometheus: getrandom: %s", strerror(errno));
            goto out;
        }
        int k = snprintf(tmp, sizeof tmp, ".%s.%016" PRIx64 ".tmp", base, r);
        if (k < 0 || (size_t)k >= sizeof tmp)
            snprintf(tmp, sizeof tmp, ".dnsprop-prom.%016" PRIx64 ".tmp", r);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) {
            dp_errf(err, errlen, "--prometheus: %s: cannot create a temporary file: %s", esc,
                    strerror(errno));
            tmp[0] = '\0';
            goto out;
        }
    }
    if (fd < 0) {
        dp_errf(err, errlen, "--prometheus: %s: no free temporary name", esc);
        tmp[0] = '\0';
        goto out;
    }
    /* readable by node_exporter's user whatever the umask */
    if (fchmod(fd, 0644) != 0)
        goto fail;
    if (dp_write_all(fd, text, len) != 0)
        goto fail;
    if (fsync(fd) != 0)
        goto fail;
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0)
        goto fail;
    if (renameat(dfd, tmp, dfd, base) != 0)
        goto fail;
    tmp[0] = '\0';
    fsync(dfd);
    rc = 0;
    goto out;
fail:
    dp_errf(err, errlen, "--prometheus: %s: %s", esc, strerror(errno ? errno : EIO));
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0' && dfd >= 0)
        unlinkat(dfd, tmp, 0);
    if (dfd >= 0)
        close(dfd);
    free(text);
    free(dir);
    return rc;
}
