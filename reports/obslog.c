/*
 * observations.csv: the append-only log of every answer, the truth from
 * which every report is rebuilt (PRODUCT.md sections 4 and 9).
 *
 * One writer at a time: opening takes an exclusive flock on DIR/.lock.
 * Every row is written by the one CSV writer, so a row is always one line of
 * printable ASCII ended by CRLF; a line without its line end can only be the
 * tail of a write cut short by a crash, and it is cut off on the next open.
 * Anything else that does not read back as a row is damage: refused with its
 * line number, and nothing is changed.
 *
 * Here: the log's file (open and lock, header, read rows into the
 * aggregates, append, upgrade an older form) and batches of rows. A row's
 * text is row.c's; the saved state is state.c's, tried by report.c
 * between rep__log_open and rep__log_read (obslog_open lives there).
 */
#include "internal.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_NAME   "observations.csv"
#define READ_CHUNK (1u << 20)
#define MAX_LINE   (16u << 20)

/* ---- scanning ---- */

typedef int (*line_fn)(void *arg, const char *line, size_t len, unsigned lineno, char *why,
                       size_t whylen);

/* Reads complete lines from offset `from` of fd to its end, calling fn for
 * each (without the LF). *end is set to the offset after the last complete
 * line; *torn to whether bytes without a final LF follow it. A non-zero fn
 * result stops the scan and is returned, with why filled by fn. */
static int scan_lines(int fd, uint64_t from, unsigned first_line, line_fn fn, void *arg,
                      uint64_t *end, unsigned *next_line, bool *torn, char *why, size_t whylen)
{
    size_t cap = READ_CHUNK, have = 0;
    char *buf = malloc(cap);
    uint64_t pos = from; /* file offset of buf[0] */
    unsigned line = first_line;
    int rc = 0;
    *torn = false;
    if (buf == NULL)
        return DP_ENOMEM;
    for (;;) {
        if (have == cap) {
            if (cap >= MAX_LINE) {
                dp_errf(why, whylen, "line longer than %u bytes", MAX_LINE);
                rc = DP_EINPUT;
                goto out;
            }
            char *b = realloc(buf, cap * 2);
            if (b == NULL) {
                rc = DP_ENOMEM;
                goto out;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t got = pread(fd, buf + have, cap - have, (off_t)(pos + have));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            dp_errf(why, whylen, "read failed: %s", strerror(errno));
            rc = DP_EIO;
            goto out;
        }
        if (got == 0) {
            *torn = have > 0;
            break;
        }
        have += (size_t)got;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            if (nl == NULL)
                break;
            size_t len = (size_t)(nl - (buf + start));
            rc = fn(arg, buf + start, len, line, why, whylen);
            if (rc != 0) {
                *next_line = line;
                *end = pos + start;
                goto out;
            }
            line++;
            start += len + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        pos += start;
    }
    *end = pos;
    *next_line = line;
out:
    free(buf);
    return rc;
}

struct feed {
    struct obslog *l;
    bool restart;
};

static int feed_line(void *arg, const char *line, size_t len, unsigned lineno, char *why,
                     size_t whylen)
{
    struct feed *fd = arg;
    struct obs o;
    (void)lineno;
    int rc = obs_parse_line_cols(&fd->l->rd, line, len, fd->l->ncols, &o, why, whylen);
    if (rc != 0)
        return rc;
    rc = rep__agg_add(fd->l->agg, &o, why, whylen);
    if (rc == REP__RESTART)
        fd->restart = true;
    if (rc == 0 && o.round > fd->l->last_round)
        fd->l->last_round = o.round;
    return rc;
}

/* Reads from l->size to the end. On success l->size covers every complete
 * line; *torn tells whether an incomplete one follows. */
static int read_from(struct obslog *l, bool *torn, char *err, size_t errlen)
{
    struct feed fd = {l, false};
    char why[300] = "";
    uint64_t end = l->size;
    unsigned next = l->lines + 1;
    int rc = scan_lines(l->fd, l->size, l->lines + 1, feed_line, &fd, &end, &next, torn, why,
                        sizeof why);
    if (rc == REP__RESTART)
        return REP__RESTART;
    if (rc != 0) {
        dp_errf(err, errlen, LOG_NAME ":%u: %s", next, why);
        return rc == DP_ENOMEM ? DP_ENOMEM : rc == DP_EIO ? DP_EIO : DP_EDAMAGED;
    }
    l->size = end;
    l->lines = next - 1;
    return 0;
}

int rep__read_all(struct obslog *l, char *err, size_t errlen)
{
    bool torn;
    rep__agg_free(l->agg);
    l->agg = rep__agg_new();
    if (l->agg == NULL)
        return DP_ENOMEM;
    l->agg->tl_dirfd = l->dd.fd; /* the timeline rows may spill there */
    l->size = l->header_len;
    l->lines = 1;
    l->last_round = 0;
    l->from_state = false;
    int rc = read_from(l, &torn, err, errlen);
    if (rc == REP__RESTART) {
        dp_errf(err, errlen, LOG_NAME ": internal error: restart on a full read");
        return DP_EINTERNAL;
    }
    return rc;
}

int rep__read_tail(struct obslog *l, char *err, size_t errlen)
{
    bool torn;
    int rc = read_from(l, &torn, err, errlen);
    if (rc == REP__RESTART)
        rc = rep__read_all(l, err, errlen);
    return rc;
}

/* ---- opening ---- */

char *rep__path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Every name dnsprop reads or writes in the data folder (render.c writes
 * the reports, state.c the state), and the fixed temporary names that
 * versions before the datadir module used (.NAME.tmp), under which a planted
 * symlink may still wait: all are checked before the first write of a run,
 * so that a refusal leaves everything as it was. */
static const char *const folder_names[] = {
    LOG_NAME,
    ".lock",
    ".state",
    ".merge",
    "settings.csv",
    "convergence.csv",
    "timeline.csv",
    "mx_compliance.csv",
    "summary.csv",
    "convergence.svg",
    "delegation.csv",
    "." LOG_NAME ".tmp", /* NOLINT(bugprone-suspicious-missing-comma): one name */
    "..state.tmp",
    ".settings.csv.tmp",
    ".convergence.csv.tmp",
    ".timeline.csv.tmp",
    ".mx_compliance.csv.tmp",
    ".summary.csv.tmp",
    ".convergence.svg.tmp",
    ".delegation.csv.tmp",
};

int obslog_check_folder(const struct datadir *dd, char *err, size_t errlen)
{
    return datadir_check(dd, folder_names, sizeof folder_names / sizeof folder_names[0], err,
                         errlen);
}

static int take_lock(struct obslog *l, unsigned wait_ms, char *err, size_t errlen)
{
    char *lp = rep__path_join(l->dir, ".lock");
    int rc = 0;
    if (lp == NULL)
        return DP_ENOMEM;
    /* O_EXCL first, to learn whether this run made the lock file (see
     * rep__log_refuse); a lock removed by such a refusal between
     * the two opens is made again */
    for (int i = 0; i < 3 && l->lockfd < 0; i++) {
        l->lockfd = datadir_openat_file(&l->dd, ".lock", O_RDWR | O_CREAT | O_EXCL, err, errlen);
        if (l->lockfd >= 0)
            l->lock_created = true;
        else if (l->lockfd == -EEXIST)
            l->lockfd = datadir_openat_file(&l->dd, ".lock", O_RDWR, err, errlen);
        if (l->lockfd < 0 && l->lockfd != -ENOENT)
            break;
    }
    if (l->lockfd < 0) {
        rc = l->lockfd;
        l->lockfd = -1;
        goto out;
    }
    int64_t deadline = dp_now_ms() + wait_ms;
    for (;;) {
        if (flock(l->lockfd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            rc = -errno;
            dp_errf(err, errlen, "%s: %s", lp, strerror(-rc));
            goto out;
        }
        if (dp_now_ms() >= deadline) {
            rc = DP_ELOCK;
            dp_errf(err, errlen, "%s: locked by another dnsprop run for %u s, giving up", lp,
                    (wait_ms + 999) / 1000);
            goto out;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
out:
    free(lp);
    return rc;
}

/* Creates the header of an empty log. */
static int write_header(struct obslog *l, char *err, size_t errlen)
{
    const char h[] = OBS_HEADER "\r\n";
    if (write(l->fd, h, sizeof h - 1) != (ssize_t)(sizeof h - 1) || fsync(l->fd) != 0) {
        dp_errf(err, errlen, "%s: %s", l->path, strerror(errno));
        return DP_EIO;
    }
    datadir_sync(&l->dd);
    return 0;
}

int rep__header_read(int fd, const char *path, const char *name, unsigned *ncols,
                     uint64_t *header_len, char *err, size_t errlen)
{
    char buf[4096];
    ssize_t got = pread(fd, buf, sizeof buf, 0);
    if (got < 0) {
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        return DP_EIO;
    }
    char *nl = memchr(buf, '\n', (size_t)got);
    if (nl == NULL) {
        dp_errf(err, errlen, "%s:1: no complete header line", name);
        return DP_EFORMAT;
    }
    char why[1200];
    struct csvr rd;
    csvr_init(&rd);
    *ncols = obs_header_columns(&rd, buf, (size_t)(nl - buf), why, sizeof why);
    csvr_deinit(&rd);
    if (*ncols == 0) {
        dp_errf(err, errlen, "%s:1: %s", name, why);
        return DP_EFORMAT;
    }
    *header_len = (uint64_t)(nl - buf) + 1;
    return 0;
}

/* Reads and checks the header line; sets l->header_len. */
static int check_header(struct obslog *l, char *err, size_t errlen)
{
    unsigned ncols = 0;
    uint64_t header_len = 0;
    int rc = rep__header_read(l->fd, l->path, LOG_NAME, &ncols, &header_len, err, errlen);
    l->ncols = ncols;
    l->header_len = header_len;
    return rc;
}

static void upgrade_sweep(const struct datadir *dd);

int rep__log_open(const char *dir, unsigned lock_wait_ms, int flags, struct obslog **out, char *err,
                  size_t errlen)
{
    struct obslog *l = calloc(1, sizeof *l);
    struct stat st;
    int rc;
    *out = NULL;
    if (l == NULL)
        return DP_ENOMEM;
    l->lockfd = -1;
    l->fd = -1;
    l->dd = (struct datadir)DATADIR_INIT;
    l->quiet = (flags & OBSLOG_QUIET) != 0;
    csvr_init(&l->rd);
    l->dir = strdup(dir);
    l->path = rep__path_join(dir, LOG_NAME);
    if (l->dir == NULL || l->path == NULL) {
        rc = DP_ENOMEM;
        goto fail;
    }
    int ddflags = (flags & OBSLOG_NOCREATE ? 0 : DATADIR_CREATE) |
                  (flags & OBSLOG_INSECURE_DIR ? DATADIR_INSECURE_OK : 0) |
                  (flags & OBSLOG_NOWARN ? DATADIR_NOWARN : 0);
    rc = datadir_open(dir, ddflags, &l->dd, err, errlen);
    if (rc == -ENOENT && (flags & OBSLOG_NOCREATE)) {
        rc = DP_EINPUT;
        dp_errf(err, errlen, "%s: %s", l->path, strerror(ENOENT));
    }
    if (rc != 0 || (rc = obslog_check_folder(&l->dd, err, errlen)) != 0)
        goto fail;
    if ((flags & OBSLOG_NOCREATE) && (rc = datadir_stat(&l->dd, LOG_NAME, &st)) != 0) {
        dp_errf(err, errlen, "%s: %s", l->path, strerror(-rc));
        rc = DP_EINPUT;
        goto fail;
    }
    if ((rc = take_lock(l, lock_wait_ms, err, errlen)) != 0)
        goto fail;
    l->fd = datadir_openat_file(&l->dd, LOG_NAME,
                                O_RDWR | O_APPEND | ((flags & OBSLOG_NOCREATE) ? 0 : O_CREAT), err,
                                errlen);
    if (l->fd < 0) {
        rc = l->fd == DP_EUNSAFE ? DP_EUNSAFE : DP_EIO;
        l->fd = -1;
        goto fail;
    }
    if (fstat(l->fd, &st) != 0) {
        rc = DP_EIO;
        dp_errf(err, errlen, "%s: %s", l->path, strerror(errno));
        goto fail;
    }
    if (st.st_size == 0) {
        if ((flags & OBSLOG_NOCREATE) != 0) {
            rc = DP_EFORMAT;
            dp_errf(err, errlen, "%s: empty file, no header", l->path);
            goto fail;
        }
        if ((rc = write_header(l, err, errlen)) != 0)
            goto fail;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if ((rc = check_header(l, err, errlen)) != 0)
        goto fail;
    l->size = l->header_len;
    l->lines = 1;
    *out = l;
    return 0;
fail:
    rep__log_refuse(l, rc);
    return rc;
}

int rep__log_read(struct obslog *l, char *err, size_t errlen)
{
    struct stat st;
    if (l->agg == NULL && (l->agg = rep__agg_new()) == NULL)
        return DP_ENOMEM;
    l->agg->tl_dirfd = l->dd.fd;
    int rc = rep__read_tail(l, err, errlen);
    if (rc != 0)
        return rc;
    if (fstat(l->fd, &st) != 0)
        return DP_EIO;
    if ((uint64_t)st.st_size > l->size) {
        /* only now, with everything before it read back fine: cut the tail */
        fprintf(stderr,
                "dnsprop: warning: " LOG_NAME ":%u: torn last line (no line end, %llu bytes) "
                "cut off\n",
                l->lines + 1, (unsigned long long)((uint64_t)st.st_size - l->size));
        if (ftruncate(l->fd, (off_t)l->size) != 0 || fsync(l->fd) != 0) {
            dp_errf(err, errlen, "%s: cannot cut the torn line: %s", l->path, strerror(errno));
            return DP_EIO;
        }
    }
    /* an upgrade killed halfway left its copy of the log: under the lock,
     * no upgrade is running, so the next run of any command removes it */
    upgrade_sweep(&l->dd);
    return 0;
}

void rep__log_resume(struct obslog *l, struct rep_agg *a, uint64_t covered, unsigned lines)
{
    rep__agg_free(l->agg);
    l->agg = a;
    a->tl_dirfd = l->dd.fd;
    l->size = covered;
    l->lines = lines;
    l->last_round = rep__agg_last_round(a);
    l->from_state = true;
}

void rep__log_refuse(struct obslog *l, int rc)
{
    /* A damaged log or one of another version is refused with nothing
     * created or changed (PRODUCT.md section 9): drop the lock file if this
     * run made it, while still holding the lock. A run that opened it in the
     * meantime locks the unlinked file, reads the same unchanged log and
     * refuses it too, so no two writers can follow. */
    if (l == NULL)
        return;
    if (l->lock_created && (rc == DP_EDAMAGED || rc == DP_EFORMAT || rc == DP_EUNSAFE))
        datadir_unlink(&l->dd, ".lock");
    rep__log_close(l);
}

uint32_t obslog_next_round(const struct obslog *l)
{
    return l->last_round + 1;
}

const char *obslog_dir(const struct obslog *l)
{
    return l->dir;
}

const struct datadir *obslog_datadir(const struct obslog *l)
{
    return &l->dd;
}

bool obslog_from_state(const struct obslog *l)
{
    return l->from_state;
}

unsigned obslog_columns(const struct obslog *l)
{
    return l->ncols;
}

/* Writes all len bytes to fd, again after EINTR or a short write. 0, or
 * DP_EIO with errno saying why. */
static int write_fd(int fd, const char *buf, size_t len)
{
    return dp_write_all(fd, buf, len) == 0 ? 0 : DP_EIO;
}

/* Writes len bytes at the end of the log. 0 or DP_EIO (err set). */
static int write_all(struct obslog *l, const char *buf, size_t len, char *err, size_t errlen)
{
    if (write_fd(l->fd, buf, len) != 0) {
        dp_errf(err, errlen, "%s: %s", l->path, strerror(errno));
        return DP_EIO;
    }
    return 0;
}

/* Cuts the log back to its size before a write that failed. */
static void cut_back(const struct obslog *l)
{
    if (ftruncate(l->fd, (off_t)l->size) != 0)
        fprintf(stderr, "dnsprop: %s: cannot cut back a failed write\n", l->path);
}

/* After lines were written at the end of the log (rc: how that went):
 * fsyncs them; on an error, or when the fsync fails, cuts the log back so
 * that no half row is left behind. 0, or the error (err set). */
static int sync_or_cut_back(struct obslog *l, int rc, char *err, size_t errlen)
{
    if (rc == 0 && fsync(l->fd) != 0) {
        dp_errf(err, errlen, "%s: fsync: %s", l->path, strerror(errno));
        rc = DP_EIO;
    }
    if (rc != 0)
        cut_back(l);
    return rc;
}

/* Rows are appended to a log of the older form in that form, which its
 * readers know; this says once (unless quiet) what is left out. */
static void notice_old_form(struct obslog *l)
{
    if (l->ncols == OBS_NCOLUMNS_V1 && !l->notified) {
        l->notified = true;
        if (!l->quiet)
            fprintf(stderr,
                    "dnsprop: notice: %s has the %u columns of an older dnsprop: new rows keep "
                    "that form, without site and ede; 'dnsprop report --upgrade --dir %s' "
                    "rewrites it once with them\n",
                    l->path, OBS_NCOLUMNS_V1, l->dir);
    }
}

/* After lines of the log from `before` on did not read back as rows (rc
 * not 0) and nothing of them was taken (l->size still before): takes them
 * out again. */
static void cut_unread(struct obslog *l, uint64_t before, int rc)
{
    if (rc != 0 && l->size == before) {
        if (ftruncate(l->fd, (off_t)before) != 0 || fsync(l->fd) != 0)
            fprintf(stderr, "dnsprop: %s: cannot cut back a failed write\n", l->path);
    }
}

/* After whole lines were written at the end of the log (rc: how that
 * went; any: some bytes were meant to go): fsyncs, and feeds them as they
 * read back to the aggregates; on an error the log is cut back to where it
 * was. */
static int append_finish(struct obslog *l, int rc, bool any, char *err, size_t errlen)
{
    if (any)
        notice_old_form(l);
    rc = sync_or_cut_back(l, rc, err, errlen);
    if (rc != 0)
        return rc;
    /* Feed the aggregates with the rows as they read back from the file,
     * so that a later rebuild from the log sees exactly the same values. */
    uint64_t before = l->size;
    rc = rep__read_tail(l, err, errlen);
    cut_unread(l, before, rc);
    return rc;
}

/* The log's size on disk, UINT64_MAX when fstat fails. */
static uint64_t file_size(const struct obslog *l)
{
    struct stat st;
    return fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* After the n rows, len bytes, were written at the end of the log and the
 * file is exactly what it was and them (see obslog_append): fsyncs, and
 * feeds the rows to the aggregates as they read back (rep__row_read_back),
 * without reading the file; the same outcome, error text and cut-back as
 * append_finish's reading them. */
static int append_finish_direct(struct obslog *l, const struct obs *rows, size_t n, uint64_t len,
                                char *err, size_t errlen)
{
    char why[300] = "";
    uint64_t before = l->size;
    notice_old_form(l);
    int rc = sync_or_cut_back(l, 0, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct obs o;
        (void)rep__row_read_back(&rows[i], l->ncols, &o); /* true: obslog_append asked */
        rc = rep__agg_add(l->agg, &o, why, sizeof why);
        if (rc == REP__RESTART) {
            /* a row of a round already finished: everything again, from the file */
            rc = rep__read_all(l, err, errlen);
            cut_unread(l, before, rc);
            return rc;
        }
        if (rc != 0) {
            dp_errf(err, errlen, LOG_NAME ":%zu: %s", (size_t)l->lines + 1 + i, why);
            rc = rc == DP_ENOMEM ? DP_ENOMEM : DP_EDAMAGED;
            cut_unread(l, before, rc);
            return rc;
        }
        if (o.round > l->last_round)
            l->last_round = o.round;
    }
    l->size += len;
    l->lines += (unsigned)n;
    return 0;
}

/* Writes whole lines at the end of the log, then append_finish. */
static int append_bytes(struct obslog *l, const char *buf, size_t len, char *err, size_t errlen)
{
    return append_finish(l, write_all(l, buf, len, err, errlen), len > 0, err, errlen);
}

bool obslog__test_read_back = false;

/* Rows go out in pieces of about this many bytes: a round of 100,000
 * domains is some 40 MB of text, which need not sit in memory at once */
#define APPEND_CHUNK (1u << 20)

int obslog_append(struct obslog *l, const struct obs *rows, size_t n, char *err, size_t errlen)
{
    struct csvw w;
    int rc = 0;
    csvw_init(&w);
    /* every row is checked before the first byte goes out */
    for (size_t i = 0; i < n; i++) {
        if (rows[i].round < l->last_round || rows[i].round == 0) {
            dp_errf(err, errlen, "row %zu: round %u, but the log is at round %u", i + 1,
                    (unsigned)rows[i].round, (unsigned)l->last_round);
            rc = DP_EINPUT;
            goto out;
        }
        if (obs_status_name(rows[i].status) == NULL || rows[i].time < 0) {
            dp_errf(err, errlen, "row %zu: bad status or time", i + 1);
            rc = DP_EINPUT;
            goto out;
        }
    }
    /* The rows are fed to the aggregates as they will read back from the
     * file. Where that is known without the text (rep__row_read_back, and
     * the writer escaped no byte), they are fed from memory; that takes the
     * file to be exactly what was read and these rows: no bytes of another
     * writer before or among them. Otherwise the new lines are read back. */
    uint64_t start = file_size(l);
    bool direct = start == l->size;
    for (size_t i = 0; i < n && direct; i++) {
        struct obs back;
        direct = rep__row_read_back(&rows[i], l->ncols, &back);
    }
    bool any = false;
    uint64_t written = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        obs_write_row_cols(&w, &rows[i], l->ncols);
        if (w.len >= APPEND_CHUNK || i + 1 == n) {
            if ((rc = csvw_error(&w)) != 0) {
                /* nothing of this piece went out: cut back what did */
                if (any)
                    cut_back(l);
                goto out;
            }
            any = true;
            rc = write_all(l, w.buf, w.len, err, errlen);
            /* to the disk while the next piece is made (the fsync at the
             * end writes the last one) */
            if (rc == 0 && i + 1 < n && start != UINT64_MAX)
                dp_start_writeback(l->fd, start + written, w.len);
            written += w.len;
            csvw_clear(&w);
        }
    }
    direct = direct && rc == 0 && !w.escaped && file_size(l) == start + written;
    csvw_deinit(&w);
    if (direct && n > 0 && !obslog__test_read_back)
        return append_finish_direct(l, rows, n, written, err, errlen);
    return append_finish(l, rc, any, err, errlen);
out:
    csvw_deinit(&w);
    return rc;
}

int rep__append_fed(struct obslog *l, const char *buf, size_t len, unsigned nlines,
                    uint32_t last_round, char *err, size_t errlen)
{
    int rc = sync_or_cut_back(l, write_all(l, buf, len, err, errlen), err, errlen);
    if (rc != 0)
        return rc;
    if (len > 0)
        notice_old_form(l);
    l->size += len;
    l->lines += nlines;
    if (last_round > l->last_round)
        l->last_round = last_round;
    return 0;
}

int obslog_append_lines(struct obslog *l, const char *buf, size_t len, uint32_t first_round,
                        char *err, size_t errlen)
{
    if (first_round < l->last_round || first_round == 0) {
        dp_errf(err, errlen, "round %u, but the log is at round %u", (unsigned)first_round,
                (unsigned)l->last_round);
        return DP_EINPUT;
    }
    if (len > 0 && (len < 2 || buf[len - 1] != '\n' || buf[len - 2] != '\r')) {
        dp_errf(err, errlen, "internal error: lines without CRLF");
        return DP_EINTERNAL;
    }
    return append_bytes(l, buf, len, err, errlen);
}

void rep__log_close(struct obslog *l)
{
    if (l == NULL)
        return;
    if (l->fd >= 0)
        close(l->fd);
    if (l->lockfd >= 0)
        close(l->lockfd); /* releases the flock */
    datadir_close(&l->dd);
    rep__agg_free(l->agg);
    csvr_deinit(&l->rd);
    free(l->dir);
    free(l->path);
    free(l);
}

/* ---- reading without a lock ---- */

struct reader {
    struct csvr rd;
    int (*cb)(const struct obs *o, unsigned line, void *arg);
    void *arg;
    bool first;
    unsigned ncols; /* from the header */
    int cbrc;
    uint32_t last_round; /* rounds never go back in a log */
};

static int reader_line(void *arg, const char *line, size_t len, unsigned lineno, char *why,
                       size_t whylen)
{
    struct reader *r = arg;
    struct obs o;
    if (r->first) {
        r->first = false;
        r->ncols = obs_header_columns(&r->rd, line, len, why, whylen);
        return r->ncols != 0 ? 0 : DP_EFORMAT;
    }
    int rc = obs_parse_line_cols(&r->rd, line, len, r->ncols, &o, why, whylen);
    if (rc != 0)
        return rc;
    if (o.round < r->last_round) {
        dp_errf(why, whylen, "round %u after round %u", (unsigned)o.round, (unsigned)r->last_round);
        return DP_EINPUT;
    }
    r->last_round = o.round;
    rc = r->cb(&o, lineno, r->arg);
    if (rc != 0) {
        r->cbrc = rc;
        return rc;
    }
    return 0;
}

int obslog_read(const char *path, int (*cb)(const struct obs *o, unsigned line, void *arg),
                void *arg, char *err, size_t errlen)
{
    struct reader r = {.cb = cb, .arg = arg, .first = true};
    char why[1200] = "";
    uint64_t end = 0;
    unsigned next = 1;
    bool torn = false;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int fd = datadir_open_read(path, err, errlen);
    if (fd < 0)
        return fd == DP_EUNSAFE ? DP_EUNSAFE : DP_EINPUT;
    csvr_init(&r.rd);
    int rc = scan_lines(fd, 0, 1, reader_line, &r, &end, &next, &torn, why, sizeof why);
    if (rc != 0 && r.cbrc != 0) {
        rc = r.cbrc;
    } else if (rc != 0) {
        dp_errf(err, errlen, "%s:%u: %s", base, next, why);
        rc = rc == DP_EFORMAT ? DP_EFORMAT : rc == DP_ENOMEM ? DP_ENOMEM : DP_EDAMAGED;
    } else if (r.first) {
        dp_errf(err, errlen, "%s:1: no complete header line", base);
        rc = DP_EFORMAT;
    } else if (torn) {
        fprintf(stderr, "dnsprop: warning: %s:%u: torn last line (no line end) skipped\n", base,
                next);
    }
    csvr_deinit(&r.rd);
    close(fd);
    return rc;
}

/* ---- upgrading a log of the older form ---- */

#define UPGRADE_PREFIX ".observations.csv.upgrade."
#define UPGRADE_FLUSH  (1u << 20)

struct upgrade {
    int fd;    /* the temporary file */
    char *buf; /* owned: lines not yet written */
    size_t len, cap;
    uint64_t rows;
};

static int upgrade_flush(struct upgrade *u)
{
    if (write_fd(u->fd, u->buf, u->len) != 0)
        return DP_EIO;
    u->len = 0;
    return 0;
}

/* One old row: its bytes as they are, then ",," (empty site and ede) before
 * its own line end. The fields before them are not touched, so every old
 * value reads back byte for byte. */
static int upgrade_line(void *arg, const char *line, size_t len, unsigned lineno, char *why,
                        size_t whylen)
{
    struct upgrade *u = arg;
    bool cr = len > 0 && line[len - 1] == '\r';
    size_t body = cr ? len - 1 : len;
    (void)lineno;
    /* the line, ",," and a CR LF: its last byte is at u->len + len + 3 */
    if (dp_grow((void **)&u->buf, &u->cap, u->len + len + 3, 1) != 0)
        return DP_ENOMEM;
    memcpy(u->buf + u->len, line, body);
    u->len += body;
    memcpy(u->buf + u->len, cr ? ",,\r\n" : ",,\n", cr ? 4 : 3);
    u->len += cr ? 4 : 3;
    u->rows++;
    if (u->len >= UPGRADE_FLUSH && upgrade_flush(u) != 0) {
        dp_errf(why, whylen, "cannot write the new log: %s", strerror(errno));
        return DP_EIO;
    }
    return 0;
}

/* Temporary files of an upgrade that a crash left behind. Only called under
 * the lock, when no other upgrade can be running. Read through the folder's
 * own descriptor (a copy: closedir closes it). */
static void upgrade_sweep(const struct datadir *dd)
{
    int fd = openat(dd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(de->d_name, UPGRADE_PREFIX, strlen(UPGRADE_PREFIX)) != 0)
            continue;
        if (fstatat(dd->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dd->fd, de->d_name, 0);
    }
    closedir(d);
}

int obslog_upgrade(const char *dir, unsigned lock_wait_ms, bool *upgraded, uint64_t *rows,
                   char *err, size_t errlen)
{
    return obslog_upgrade_flags(dir, 0, lock_wait_ms, upgraded, rows, err, errlen);
}

int obslog_upgrade_flags(const char *dir, int flags, unsigned lock_wait_ms, bool *upgraded,
                         uint64_t *rows, char *err, size_t errlen)
{
    struct obslog *l = NULL;
    struct upgrade u = {.fd = -1};
    char tmp[NAME_MAX + 1] = "";
    char why[300] = "";
    struct stat st;
    *upgraded = false;
    *rows = 0;
    /* the whole log is read back first: damage refuses the upgrade, nothing changed */
    int rc = rep__log_open(dir, lock_wait_ms,
                           (flags & (OBSLOG_INSECURE_DIR | OBSLOG_NOWARN)) | OBSLOG_NOCREATE |
                               OBSLOG_QUIET,
                           &l, err, errlen);
    if (rc != 0)
        return rc;
    if ((rc = rep__log_read(l, err, errlen)) != 0) {
        rep__log_refuse(l, rc);
        return rc;
    }
    if (l->ncols == OBS_NCOLUMNS)
        goto out;
    upgrade_sweep(&l->dd);
    /* an unpredictable name, created with O_EXCL, in the folder held open */
    u.fd = datadir_tmpfile(&l->dd, LOG_NAME ".upgrade", tmp, sizeof tmp, err, errlen);
    if (u.fd < 0) {
        u.fd = -1;
        rc = DP_EIO;
        goto out;
    }
    if (fstat(l->fd, &st) != 0 || fchmod(u.fd, st.st_mode & 0777) != 0) {
        rc = DP_EIO;
        dp_errf(err, errlen, "%s/%s: %s", l->dir, tmp, strerror(errno));
        goto out;
    }
    static const char header[] = OBS_HEADER "\r\n";
    u.cap = UPGRADE_FLUSH;
    if ((u.buf = malloc(u.cap)) == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    memcpy(u.buf, header, sizeof header - 1);
    u.len = sizeof header - 1;
    uint64_t end = 0;
    unsigned next = 0;
    bool torn = false;
    rc = scan_lines(l->fd, l->header_len, 2, upgrade_line, &u, &end, &next, &torn, why, sizeof why);
    if (rc != 0) {
        dp_errf(err, errlen, "%s/%s: %s", l->dir, tmp, why);
        goto out;
    }
    if (torn || end != l->size) { /* cannot be: the log is locked and was just read whole */
        rc = DP_EINTERNAL;
        dp_errf(err, errlen, "%s: changed while locked", l->path);
        goto out;
    }
    if (upgrade_flush(&u) != 0 || fsync(u.fd) != 0) {
        rc = DP_EIO;
        dp_errf(err, errlen, "%s/%s: cannot write the new log: %s", l->dir, tmp, strerror(errno));
        goto out;
    }
    if (close(u.fd) != 0) {
        u.fd = -1;
        rc = DP_EIO;
        dp_errf(err, errlen, "%s/%s: %s", l->dir, tmp, strerror(errno));
        goto out;
    }
    u.fd = -1;
    /* the switch: before it the old log is whole, after it the new one */
    if ((rc = datadir_rename(&l->dd, tmp, LOG_NAME, err, errlen)) != 0) {
        rc = rc == DP_EUNSAFE ? DP_EUNSAFE : DP_EIO;
        goto out;
    }
    tmp[0] = '\0';
    if (datadir_sync(&l->dd) != 0) {
        rc = DP_EIO;
        dp_errf(err, errlen, "%s: fsync: %s", l->dir, strerror(errno));
        goto out;
    }
    *upgraded = true;
    *rows = u.rows;
out:
    if (u.fd >= 0)
        close(u.fd);
    if (tmp[0] != '\0')
        datadir_unlink(&l->dd, tmp);
    free(u.buf);
    rep__log_close(l); /* releases the lock last */
    return rc;
}

/* ---- appending many rows ---- */

#define BATCH_ROWS 32768
#define BATCH_TEXT (8u << 20)

/* The string fields of a row: copied into the batch's arena. */
#define OBS_STR_FIELDS(o)                                                                          \
    {                                                                                              \
        &(o)->vantage, &(o)->domain, &(o)->check, &(o)->qname, &(o)->qtype, &(o)->server,          \
            &(o)->address, &(o)->answer, &(o)->expected, &(o)->site, &(o)->ede                     \
    }

int obs_batch_add(struct obs_batch *b, const struct obs *o, uint32_t round)
{
    if (dp_grow((void **)&b->rows, &b->cap, b->n, sizeof *b->rows) != 0)
        return DP_ENOMEM;
    struct obs *w = &b->rows[b->n];
    *w = *o;
    w->round = round;
    const char **f[] = OBS_STR_FIELDS(w);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const char *s = *f[i] ? *f[i] : "";
        size_t len = strlen(s) + 1;
        if (dp_grow((void **)&b->text, &b->captext, b->ntext + len - 1, 1) != 0)
            return DP_ENOMEM;
        memcpy(b->text + b->ntext, s, len);
        *f[i] = (const char *)(uintptr_t)b->ntext; /* an offset until the append */
        b->ntext += len;
    }
    b->n++;
    return 0;
}

bool obs_batch_full(const struct obs_batch *b)
{
    return b->n >= BATCH_ROWS || b->ntext >= BATCH_TEXT;
}

int obs_batch_append(struct obs_batch *b, struct obslog *l, char *err, size_t errlen)
{
    if (b->n == 0)
        return 0;
    for (size_t r = 0; r < b->n; r++) {
        const char **f[] = OBS_STR_FIELDS(&b->rows[r]);
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            *f[i] = b->text + (uintptr_t)*f[i];
    }
    int rc = obslog_append(l, b->rows, b->n, err, errlen);
    b->n = 0;
    b->ntext = 0;
    return rc;
}

void obs_batch_deinit(struct obs_batch *b)
{
    free(b->rows);
    free(b->text);
    memset(b, 0, sizeof *b);
}

uint64_t obslog_mark(const struct obslog *l)
{
    return l->size;
}

void obslog_rollback(struct obslog *l, uint64_t mark)
{
    if (ftruncate(l->fd, (off_t)mark) != 0 || fsync(l->fd) != 0)
        fprintf(stderr, "dnsprop: %s: cannot cut the log back: %s\n", l->path, strerror(errno));
}
