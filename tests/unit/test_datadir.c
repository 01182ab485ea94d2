/* Unit tests for the data folder (common/datadir.c): the folder's own
 * checks (symlink, mode, owner, made 0755 whatever the umask), files that
 * are not regular (symlink, FIFO, folder, device, hard link, another user's)
 * refused without being written or hanging, atomic replacement with
 * unpredictable temporary names, the folder pinned by its descriptor, the
 * read-only opens of sources, and obslog_open refusing with nothing written.
 * Some cases need root (chown to nobody); CI runs them as root, and without
 * root they fail rather than pass unseen. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "datadir.h"
#include "dnsprop.h"
#include "internal.h" /* rep__csvw_to_file */
#include "reports.h"

#include "scratch.h"

#define NOBODY 65534

static void spit(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
    fclose(f);
}

/* The file's whole text (valid until the next call), or "<none>" when it
 * cannot be read. */
static const char *text_of(const char *path)
{
    static char *last;
    size_t len;
    free(last);
    last = slurp_path(path, &len);
    return last != NULL ? last : "<none>";
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Names in dir (the scratch folder's sub-folder sub) that start with
 * prefix. */
static unsigned count_names(const char *sub, const char *prefix)
{
    DIR *d = opendir(sub);
    unsigned n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

/* A data folder DIR/name made 0755, opened into *dd. */
static char *open_sub(const char *name, mode_t mode, struct datadir *dd, int flags, int want)
{
    static char p[400];
    char err[1024] = "";
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, mode), 0);
    int rc = datadir_open(p, flags, dd, err, sizeof err);
    if (rc != want)
        fail_msg("datadir_open(%s): %d, want %d: %s", p, rc, want, err);
    return p;
}

static void test_needs_root(void **state)
{
    (void)state;
    if (geteuid() != 0)
        fail_msg("these tests chown files to nobody: run them as root (CI does)");
}

static void test_create_modes(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[400];
    mode_t old = umask(0);
    snprintf(p, sizeof p, "%s/a/b/c", dir);
    assert_int_equal(datadir_open(p, DATADIR_CREATE, &dd, err, sizeof err), 0);
    assert_true(dd.fd >= 0);
    assert_int_equal(mode_of(p), 0755); /* not 0777: the umask allowed more */
    datadir_close(&dd);
    assert_int_equal(dd.fd, -1);
    assert_null(dd.path);

    umask(077);
    snprintf(p, sizeof p, "%s/d", dir);
    assert_int_equal(datadir_open(p, DATADIR_CREATE, &dd, err, sizeof err), 0);
    assert_int_equal(mode_of(p), 0755); /* not 0700 */
    int fd = datadir_openat_file(&dd, "new.csv", O_RDWR | O_CREAT, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(datadir_replace(&dd, "rep.csv", -1, 0, "x\r\n", 3, err, sizeof err), 0);
    char q[450];
    snprintf(q, sizeof q, "%s/new.csv", p);
    assert_int_equal(mode_of(q), 0644);
    snprintf(q, sizeof q, "%s/rep.csv", p);
    assert_int_equal(mode_of(q), 0644);
    datadir_close(&dd);
    umask(old);

    /* missing, not asked to create: -ENOENT, nothing made */
    snprintf(p, sizeof p, "%s/missing", dir);
    assert_int_equal(datadir_open(p, 0, &dd, err, sizeof err), -ENOENT);
    assert_false(exists(p));
    assert_int_equal(dd.fd, -1);
}

static void test_folder_refused(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[400], link[400];
    /* a symlink to a good folder, also written with a trailing slash */
    open_sub("real", 0755, &dd, 0, 0);
    datadir_close(&dd);
    snprintf(p, sizeof p, "%s/real", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(datadir_open(link, DATADIR_CREATE, &dd, err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "link: is a symbolic link"));
    strcat(link, "//");
    assert_int_equal(datadir_open(link, 0, &dd, err, sizeof err), DP_EUNSAFE);
    assert_int_equal(datadir_open(link, DATADIR_INSECURE_OK, &dd, err, sizeof err), DP_EUNSAFE);
    /* a file */
    snprintf(p, sizeof p, "%s/afile", dir);
    spit(p, "");
    assert_int_equal(datadir_open(p, DATADIR_CREATE, &dd, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "afile: not a folder"));

    /* writable by others, by the group, sticky or not */
    open_sub("w777", 0777, &dd, 0, DP_EUNSAFE);
    char e2[1024] = "";
    snprintf(p, sizeof p, "%s/w777", dir);
    assert_int_equal(datadir_open(p, 0, &dd, e2, sizeof e2), DP_EUNSAFE);
    assert_non_null(strstr(e2, "w777: writable by group and others (mode 0777)"));
    assert_non_null(strstr(e2, "--insecure-dir"));
    open_sub("w775", 0775, &dd, 0, DP_EUNSAFE);
    open_sub("w757", 0757, &dd, 0, DP_EUNSAFE);
    open_sub("w1777", 01777, &dd, 0, DP_EUNSAFE);
    open_sub("ok750", 0750, &dd, 0, 0);
    datadir_close(&dd);
    open_sub("ok700", 0700, &dd, 0, 0);
    datadir_close(&dd);

    /* owned by another user, even for root */
    snprintf(p, sizeof p, "%s/nobody", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(chown(p, NOBODY, (gid_t)-1), 0);
    assert_int_equal(datadir_open(p, 0, &dd, e2, sizeof e2), DP_EUNSAFE);
    assert_non_null(strstr(e2, "nobody: owned by uid 65534"));
    assert_int_equal(datadir_open(p, DATADIR_CREATE, &dd, e2, sizeof e2), DP_EUNSAFE);
    /* accepted when asked: a source, or --insecure-dir */
    assert_int_equal(datadir_open(p, DATADIR_SOURCE, &dd, e2, sizeof e2), 0);
    datadir_close(&dd);
    assert_int_equal(datadir_open(p, DATADIR_INSECURE_OK | DATADIR_NOWARN, &dd, e2, sizeof e2), 0);
    datadir_close(&dd);
    snprintf(p, sizeof p, "%s/w777", dir);
    assert_int_equal(datadir_open(p, DATADIR_INSECURE_OK | DATADIR_NOWARN, &dd, e2, sizeof e2), 0);
    datadir_close(&dd);
}

/* The warning of --insecure-dir: one line on stderr, every open, none with
 * DATADIR_NOWARN. */
static void test_insecure_warning(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[400], log[450];
    snprintf(p, sizeof p, "%s/w", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, 0777), 0);
    snprintf(log, sizeof log, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(datadir_open(p, DATADIR_INSECURE_OK, &dd, err, sizeof err), 0);
        datadir_close(&dd);
    }
    assert_int_equal(datadir_open(p, DATADIR_INSECURE_OK | DATADIR_NOWARN, &dd, err, sizeof err),
                     0);
    datadir_close(&dd);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    const char *t = text_of(log);
    const char *first = strstr(t, "warning: ");
    assert_non_null(first);
    assert_non_null(strstr(first, "w: writable by group and others (mode 0777)"));
    assert_non_null(strstr(first, "--insecure-dir\n"));
    const char *second = strstr(first + 1, "warning: ");
    assert_non_null(second);
    assert_null(strstr(second + 1, "warning: "));
}

static void test_files_refused(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[450], victim[400], victim2[400];
    const char *d = open_sub("f", 0755, &dd, 0, 0);
    snprintf(victim, sizeof victim, "%s", path_of("victim"));
    snprintf(victim2, sizeof victim2, "%s", path_of("victim2"));
    spit(victim, "precious data\n");

    /* symlinks, to a file and to nothing */
    snprintf(p, sizeof p, "%s/summary.csv", d);
    assert_int_equal(symlink(victim, p), 0);
    snprintf(p, sizeof p, "%s/observations.csv", d);
    assert_int_equal(symlink(victim2, p), 0);
    const int opens[] = {O_RDONLY, O_WRONLY | O_APPEND, O_RDWR | O_APPEND | O_CREAT,
                         O_RDWR | O_CREAT | O_EXCL};
    for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
        err[0] = '\0';
        assert_int_equal(datadir_openat_file(&dd, "summary.csv", opens[i], err, sizeof err),
                         DP_EUNSAFE);
        assert_non_null(strstr(err, "f/summary.csv: is a symbolic link (to '"));
        assert_int_equal(datadir_openat_file(&dd, "observations.csv", opens[i], err, sizeof err),
                         DP_EUNSAFE);
    }
    assert_int_equal(datadir_replace(&dd, "summary.csv", -1, 0, "rows\r\n", 6, err, sizeof err),
                     DP_EUNSAFE);
    assert_int_equal(datadir_replace(&dd, "observations.csv", -1, 0, "r\r\n", 3, err, sizeof err),
                     DP_EUNSAFE);
    /* a FIFO: refused, never blocking (a blocking open would hang here) */
    snprintf(p, sizeof p, "%s/timeline.csv", d);
    assert_int_equal(mkfifo(p, 0644), 0);
    for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
        assert_int_equal(datadir_openat_file(&dd, "timeline.csv", opens[i], err, sizeof err),
                         DP_EUNSAFE);
        assert_non_null(strstr(err, "f/timeline.csv: is a FIFO, not a regular file"));
    }
    /* a folder */
    snprintf(p, sizeof p, "%s/.state", d);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(datadir_openat_file(&dd, ".state", O_RDONLY, err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "f/.state: is a folder"));
    assert_int_equal(datadir_replace(&dd, ".state", -1, 0, "s", 1, err, sizeof err), DP_EUNSAFE);
    /* a device (mknod: root; else the same through a symlink to /dev/null) */
    snprintf(p, sizeof p, "%s/settings.csv", d);
    if (mknod(p, S_IFCHR | 0644, makedev(1, 3)) != 0)
        assert_int_equal(symlink("/dev/null", p), 0);
    assert_int_equal(datadir_openat_file(&dd, "settings.csv", O_RDONLY, err, sizeof err),
                     DP_EUNSAFE);
    /* a hard link to a file elsewhere */
    snprintf(p, sizeof p, "%s/mx_compliance.csv", d);
    assert_int_equal(link(victim, p), 0);
    assert_int_equal(
        datadir_openat_file(&dd, "mx_compliance.csv", O_WRONLY | O_APPEND, err, sizeof err),
        DP_EUNSAFE);
    assert_non_null(strstr(err, "has 2 hard links"));
    assert_int_equal(datadir_replace(&dd, "mx_compliance.csv", -1, 0, "m", 1, err, sizeof err),
                     DP_EUNSAFE);
    /* another user's file */
    snprintf(p, sizeof p, "%s/convergence.csv", d);
    spit(p, "theirs\n");
    assert_int_equal(chown(p, NOBODY, (gid_t)-1), 0);
    assert_int_equal(datadir_openat_file(&dd, "convergence.csv", O_RDONLY, err, sizeof err),
                     DP_EUNSAFE);
    assert_non_null(strstr(err, "f/convergence.csv: owned by uid 65534"));

    /* datadir_check says the same, and accepts absent names and regular files */
    snprintf(p, sizeof p, "%s/good.csv", d);
    spit(p, "ok\n");
    const char *fine[] = {"good.csv", "absent.csv"};
    assert_int_equal(datadir_check(&dd, fine, 2, err, sizeof err), 0);
    const char *names[] = {"summary.csv",  "observations.csv",  "timeline.csv",   ".state",
                           "settings.csv", "mx_compliance.csv", "convergence.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *two[] = {"good.csv", names[i]};
        err[0] = '\0';
        assert_int_equal(datadir_check(&dd, two, 2, err, sizeof err), DP_EUNSAFE);
        assert_non_null(strstr(err, names[i]));
    }
    /* O_TRUNC is never used */
    assert_int_equal(datadir_openat_file(&dd, "good.csv", O_WRONLY | O_TRUNC, err, sizeof err),
                     DP_EINTERNAL);
    assert_string_equal(text_of(p), "ok\n");
    /* missing and existing names as open(2) says */
    assert_int_equal(datadir_openat_file(&dd, "absent.csv", O_RDONLY, err, sizeof err), -ENOENT);
    assert_int_equal(
        datadir_openat_file(&dd, "good.csv", O_RDWR | O_CREAT | O_EXCL, err, sizeof err), -EEXIST);
    int fd = datadir_openat_file(&dd, "good.csv", O_RDONLY, err, sizeof err);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);

    /* --insecure-dir accepts other people's and hard-linked files, never a
     * symlink or a FIFO */
    datadir_close(&dd);
    assert_int_equal(datadir_open(d, DATADIR_INSECURE_OK, &dd, err, sizeof err), 0);
    fd = datadir_openat_file(&dd, "convergence.csv", O_RDONLY, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    fd = datadir_openat_file(&dd, "mx_compliance.csv", O_RDONLY, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(datadir_openat_file(&dd, "summary.csv", O_RDONLY, err, sizeof err),
                     DP_EUNSAFE);
    assert_int_equal(datadir_openat_file(&dd, "timeline.csv", O_RDWR, err, sizeof err), DP_EUNSAFE);
    datadir_close(&dd);

    /* nothing was written through any of it */
    assert_string_equal(text_of(victim), "precious data\n");
    assert_false(exists(victim2));
    assert_string_equal(text_of(p), "ok\n");
}

static void test_replace(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[450], victim[400], old[450];
    const char *d = open_sub("r", 0755, &dd, 0, 0);
    assert_int_equal(datadir_replace(&dd, "summary.csv", -1, 0, "one\r\n", 5, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/summary.csv", d);
    assert_string_equal(text_of(p), "one\r\n");
    struct stat st1, st2;
    assert_int_equal(stat(p, &st1), 0);
    assert_int_equal(datadir_replace(&dd, "summary.csv", -1, 0, "two\r\n", 5, err, sizeof err), 0);
    assert_string_equal(text_of(p), "two\r\n");
    assert_int_equal(stat(p, &st2), 0);
    assert_true(st1.st_ino != st2.st_ino); /* a new file, renamed over: never truncated */
    assert_int_equal(count_names(d, ".summary.csv."), 0); /* no temporary file left */

    /* a prefix copied from another file, then the data */
    snprintf(old, sizeof old, "%s/src.csv", d);
    spit(old, "header\r\nrow1\r\nrest");
    int src = open(old, O_RDONLY);
    assert_true(src >= 0);
    assert_int_equal(datadir_replace(&dd, "log.csv", src, 14, "row2\r\n", 6, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/log.csv", d);
    assert_string_equal(text_of(p), "header\r\nrow1\r\nrow2\r\n");
    /* a prefix longer than the file: an error, nothing replaced, no temp left */
    assert_int_equal(datadir_replace(&dd, "log.csv", src, 1000, "x", 1, err, sizeof err), DP_EIO);
    assert_non_null(strstr(err, "log.csv: cannot write"));
    assert_string_equal(text_of(p), "header\r\nrow1\r\nrow2\r\n");
    assert_int_equal(count_names(d, ".log.csv."), 0);
    close(src);

    /* the old fixed temporary name, planted as a symlink, is not used */
    snprintf(victim, sizeof victim, "%s", path_of("victim"));
    spit(victim, "precious data\n");
    snprintf(old, sizeof old, "%s/.convergence.csv.tmp", d);
    assert_int_equal(symlink(victim, old), 0);
    assert_int_equal(datadir_replace(&dd, "convergence.csv", -1, 0, "c\r\n", 3, err, sizeof err),
                     0);
    assert_string_equal(text_of(victim), "precious data\n");
    /* and no temporary file of its own is left beside it */
    assert_int_equal(count_names(d, ".convergence.csv."), 1); /* only the planted one */
    datadir_close(&dd);
}

/* A replacement written a step at a time (datadir_new_*): the file
 * appears only at commit, an abort or a failed write leaves the old one and
 * no temporary file; a write that fails (past RLIMIT_FSIZE: EFBIG) says so. */
static void test_replace_steps(void **state)
{
    (void)state;
    struct datadir dd;
    struct datadir_new n;
    char err[1024] = "", p[450];
    const char *d = open_sub("s", 0755, &dd, 0, 0);
    snprintf(p, sizeof p, "%s/summary.csv", d);
    assert_int_equal(datadir_new_open(&dd, "summary.csv", &n, err, sizeof err), 0);
    assert_int_equal(datadir_new_write(&dd, "summary.csv", &n, "on", 2, err, sizeof err), 0);
    assert_int_equal(datadir_new_write(&dd, "summary.csv", &n, "e\r\n", 3, err, sizeof err), 0);
    assert_false(exists(p)); /* nothing under the name before the commit */
    assert_int_equal(count_names(d, ".summary.csv."), 1);
    assert_int_equal(datadir_new_commit(&dd, "summary.csv", &n, err, sizeof err), 0);
    assert_string_equal(text_of(p), "one\r\n");
    assert_int_equal(count_names(d, ".summary.csv."), 0);
    datadir_new_abort(&dd, &n); /* after a commit: nothing */
    assert_string_equal(text_of(p), "one\r\n");

    /* abandoned halfway: the old file stays, the temporary one goes */
    assert_int_equal(datadir_new_open(&dd, "summary.csv", &n, err, sizeof err), 0);
    assert_int_equal(datadir_new_write(&dd, "summary.csv", &n, "two", 3, err, sizeof err), 0);
    datadir_new_abort(&dd, &n);
    assert_string_equal(text_of(p), "one\r\n");
    assert_int_equal(count_names(d, ".summary.csv."), 0);

    /* a write the file system refuses: an error naming the file, the old
     * file as it was, no temporary file */
    struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    static char big[8192];
    memset(big, 'x', sizeof big);
    assert_int_equal(datadir_new_open(&dd, "summary.csv", &n, err, sizeof err), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = datadir_new_write(&dd, "summary.csv", &n, big, sizeof big, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(rc, DP_EIO);
    assert_non_null(strstr(err, "s/summary.csv: cannot write: File too large"));
    assert_string_equal(text_of(p), "one\r\n");
    assert_int_equal(count_names(d, ".summary.csv."), 0);
    datadir_new_abort(&dd, &n); /* after a failure: nothing */

    /* the name turned into a symlink while the file was written: refused
     * at the commit, the symlink left alone */
    assert_int_equal(datadir_new_open(&dd, "summary.csv", &n, err, sizeof err), 0);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    assert_int_equal(datadir_new_commit(&dd, "summary.csv", &n, err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "s/summary.csv: is a symbolic link"));
    assert_int_equal(count_names(d, ".summary.csv."), 0);
    assert_int_equal(unlink(p), 0);
    datadir_close(&dd);
}

/* A csvw whose rows go to the file a piece at a time (rep__csvw_to_file):
 * the same bytes as the rows built in memory, the same hash, and on a
 * failed write no file and the error. Pieces of 16 bytes, so that rows
 * straddle them. */
static void test_csvw_to_file(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[450];
    const char *d = open_sub("w", 0755, &dd, 0, 0);
    size_t piece = rep__csvw_piece;
    rep__csvw_piece = 16;
    struct csvw mem, w;
    csvw_init(&mem);
    csvw_init(&w);
    assert_int_equal(rep__csvw_to_file(&w, &dd, "convergence.csv", true, err, sizeof err), 0);
    for (unsigned i = 0; i < 2000; i++) {
        struct csvw *both[2] = {&mem, &w};
        for (int k = 0; k < 2; k++) {
            csvw_str(both[k], i % 7 == 0 ? "=formula, quoted" : "contoso.com");
            csvw_uint(both[k], (uint64_t)i * 977);
            csvw_time(both[k], 1764547200 + (int64_t)i);
            csvw_end(both[k]);
        }
        assert_true(w.len < 16 + 64); /* never much more than a piece in memory */
    }
    uint64_t h = rep__csvw_hash(&w);
    assert_true(h == rep__hash(REP__HASH_INIT, mem.buf, mem.len));
    assert_int_equal(rep__csvw_replace(&dd, "convergence.csv", &w, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/convergence.csv", d);
    size_t len = 0;
    char *got = slurp_path(p, &len);
    assert_non_null(got);
    assert_int_equal(len, mem.len);
    assert_memory_equal(got, mem.buf, len);
    free(got);
    csvw_deinit(&w);
    assert_int_equal(count_names(d, ".convergence.csv."), 0);

    /* abandoned (an error elsewhere): no file, no temporary file */
    csvw_init(&w);
    assert_int_equal(rep__csvw_to_file(&w, &dd, "summary.csv", false, err, sizeof err), 0);
    for (int i = 0; i < 100; i++) {
        csvw_str(&w, "row");
        csvw_end(&w);
    }
    csvw_deinit(&w);
    snprintf(p, sizeof p, "%s/summary.csv", d);
    assert_false(exists(p));
    assert_int_equal(count_names(d, ".summary.csv."), 0);

    /* a piece the file system refuses: the sticky error, its text, no file */
    struct rlimit old, small = {.rlim_cur = 4096};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    csvw_init(&w);
    assert_int_equal(rep__csvw_to_file(&w, &dd, "summary.csv", false, err, sizeof err), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    for (int i = 0; i < 1000; i++) {
        csvw_str(&w, "a row of some length");
        csvw_end(&w);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_int_equal(csvw_error(&w), DP_EIO);
    assert_non_null(strstr(err, "w/summary.csv: cannot write: File too large"));
    assert_int_equal(rep__csvw_replace(&dd, "summary.csv", &w, err, sizeof err), DP_EIO);
    csvw_deinit(&w);
    assert_false(exists(p));
    assert_int_equal(count_names(d, ".summary.csv."), 0);

    /* refused before the first row: a symlink under the name */
    assert_int_equal(symlink("/etc/passwd", p), 0);
    csvw_init(&w);
    assert_int_equal(rep__csvw_to_file(&w, &dd, "summary.csv", false, err, sizeof err), DP_EUNSAFE);
    assert_null(w.file);
    csvw_deinit(&w);
    assert_int_equal(count_names(d, ".summary.csv."), 0);
    csvw_deinit(&mem);
    rep__csvw_piece = piece;
    datadir_close(&dd);
}

/* For callers that write a replacement themselves: datadir_tmpfile and
 * datadir_rename. */
static void test_tmpfile_rename(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", a[NAME_MAX + 1], b[NAME_MAX + 1], p[450], victim[400];
    const char *d = open_sub("t", 0755, &dd, 0, 0);
    int fa = datadir_tmpfile(&dd, "observations.csv.upgrade", a, sizeof a, err, sizeof err);
    int fb = datadir_tmpfile(&dd, "observations.csv.upgrade", b, sizeof b, err, sizeof err);
    assert_true(fa >= 0 && fb >= 0);
    assert_int_equal(strncmp(a, ".observations.csv.upgrade.", 26), 0);
    assert_int_equal(strlen(a), 26 + 16 + 4);
    assert_string_not_equal(a, b); /* unpredictable: not the same name twice */
    assert_int_equal(write(fa, "new\r\n", 5), 5);
    close(fa);
    close(fb);
    snprintf(p, sizeof p, "%s/%s", d, a);
    assert_int_equal(mode_of(p), 0644);
    /* over a symlink: refused, both left as they are */
    snprintf(victim, sizeof victim, "%s", path_of("victim"));
    spit(victim, "precious data\n");
    snprintf(p, sizeof p, "%s/observations.csv", d);
    assert_int_equal(symlink(victim, p), 0);
    assert_int_equal(datadir_rename(&dd, a, "observations.csv", err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "t/observations.csv: is a symbolic link"));
    assert_string_equal(text_of(victim), "precious data\n");
    assert_int_equal(unlink(p), 0);
    /* over nothing, then over a regular file */
    assert_int_equal(datadir_rename(&dd, a, "observations.csv", err, sizeof err), 0);
    assert_string_equal(text_of(p), "new\r\n");
    assert_int_equal(datadir_rename(&dd, b, "observations.csv", err, sizeof err), 0);
    assert_string_equal(text_of(p), "");
    assert_int_equal(count_names(d, ".observations.csv.upgrade."), 0);
    /* a name too long for the folder */
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_true(datadir_tmpfile(&dd, longname, a, sizeof a, err, sizeof err) < 0);
    assert_non_null(strstr(err, "cannot create a temporary file"));
    datadir_close(&dd);
}

/* The folder is held by its descriptor: swapping the path for another
 * folder mid-run changes nothing. */
static void test_pinned(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", moved[400], p[450];
    const char *d = open_sub("pin", 0755, &dd, 0, 0);
    char path[400];
    snprintf(path, sizeof path, "%s", d);
    snprintf(moved, sizeof moved, "%s/pin-moved", dir);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(symlink("/tmp", path), 0); /* the attacker's swap */
    assert_int_equal(datadir_replace(&dd, "summary.csv", -1, 0, "s\r\n", 3, err, sizeof err), 0);
    int fd = datadir_openat_file(&dd, "observations.csv", O_RDWR | O_CREAT, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p, sizeof p, "%s/summary.csv", moved);
    assert_string_equal(text_of(p), "s\r\n");
    snprintf(p, sizeof p, "%s/observations.csv", moved);
    assert_true(exists(p));
    assert_int_equal(datadir_sync(&dd), 0);
    assert_int_equal(datadir_unlink(&dd, "observations.csv"), 0);
    assert_false(exists(p));
    assert_int_equal(datadir_unlink(&dd, "observations.csv"), -ENOENT);
    datadir_close(&dd);
    unlink(path);
}

/* Files only read: anyone's; a symlink followed only to a regular file. */
static void test_read_only(void **state)
{
    (void)state;
    struct datadir dd;
    char err[1024] = "", p[450], q[450], target[400];
    const char *d = open_sub("src", 0777, &dd, DATADIR_SOURCE, 0);
    snprintf(target, sizeof target, "%s/target.csv", dir);
    spit(target, "data\n");
    assert_int_equal(chown(target, NOBODY, (gid_t)-1), 0);
    snprintf(p, sizeof p, "%s/observations.csv", d);
    assert_int_equal(symlink(target, p), 0);
    int fd = datadir_openat_file(&dd, "observations.csv", O_RDONLY, err, sizeof err);
    assert_true(fd >= 0);
    char buf[16] = "";
    assert_int_equal(read(fd, buf, sizeof buf), 5);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    fd = datadir_open_read(p, err, sizeof err);
    assert_true(fd >= 0);
    close(fd);
    /* a source is never written */
    assert_int_equal(datadir_openat_file(&dd, "observations.csv", O_RDWR, err, sizeof err),
                     DP_EINTERNAL);
    assert_int_equal(datadir_replace(&dd, "x.csv", -1, 0, "x", 1, err, sizeof err), DP_EINTERNAL);
    /* a FIFO, directly or through a symlink: refused without blocking */
    snprintf(q, sizeof q, "%s/fifo", dir);
    assert_int_equal(mkfifo(q, 0644), 0);
    snprintf(p, sizeof p, "%s/tofifo.csv", d);
    assert_int_equal(symlink(q, p), 0);
    assert_int_equal(datadir_openat_file(&dd, "tofifo.csv", O_RDONLY, err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "tofifo.csv: is a FIFO, not a regular file: refused"));
    assert_int_equal(datadir_open_read(q, err, sizeof err), DP_EUNSAFE);
    assert_int_equal(datadir_open_read(p, err, sizeof err), DP_EUNSAFE);
    /* a device, a folder, nothing */
    assert_int_equal(datadir_open_read("/dev/null", err, sizeof err), DP_EUNSAFE);
    assert_non_null(strstr(err, "/dev/null: is a character device"));
    assert_int_equal(datadir_open_read(dir, err, sizeof err), DP_EUNSAFE);
    snprintf(q, sizeof q, "%s/nothing.csv", dir);
    assert_int_equal(datadir_open_read(q, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "nothing.csv: No such file or directory"));
    datadir_close(&dd);

    /* obslog_read (a merge source's log) uses it */
    snprintf(p, sizeof p, "%s/tofifo.csv", d);
    assert_int_equal(obslog_read(p, NULL, NULL, err, sizeof err), DP_EUNSAFE);
}

/* obslog_open: a planted name refuses the run before anything is written:
 * no lock, no log, nothing through the symlink. */
static void test_obslog_refuses(void **state)
{
    (void)state;
    static const char *const names[] = {
        "observations.csv",  ".lock",           ".state",
        "settings.csv",      "convergence.csv", "timeline.csv",
        "mx_compliance.csv", "summary.csv",     "convergence.svg",
        ".summary.csv.tmp",  "..state.tmp",     ".observations.csv.tmp",
    };
    char err[1024], d[400], p[450], victim[400], victim2[400];
    snprintf(victim, sizeof victim, "%s", path_of("victim"));
    snprintf(victim2, sizeof victim2, "%s", path_of("victim2"));
    spit(victim, "precious data\n");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (int to_missing = 0; to_missing < 2; to_missing++) {
            struct obslog *l = NULL;
            snprintf(d, sizeof d, "%s/o%zu_%d", dir, i, to_missing);
            assert_int_equal(mkdir(d, 0755), 0);
            snprintf(p, sizeof p, "%s/%s", d, names[i]);
            assert_int_equal(symlink(to_missing ? victim2 : victim, p), 0);
            err[0] = '\0';
            assert_int_equal(obslog_open(d, 1000, 0, &l, err, sizeof err), DP_EUNSAFE);
            assert_null(l);
            assert_non_null(strstr(err, names[i]));
            assert_non_null(strstr(err, "is a symbolic link"));
            unlink(p);
            DIR *dh = opendir(d);
            assert_non_null(dh);
            for (struct dirent *e; (e = readdir(dh)) != NULL;)
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
                    fail_msg("%s: %s was created by a refused open", d, e->d_name);
            closedir(dh);
        }
    }
    assert_string_equal(text_of(victim), "precious data\n");
    assert_false(exists(victim2));

    /* a folder others can write: refused, accepted with OBSLOG_INSECURE_DIR */
    struct obslog *l = NULL;
    snprintf(d, sizeof d, "%s/open", dir);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(obslog_open(d, 1000, 0, &l, err, sizeof err), DP_EUNSAFE);
    snprintf(p, sizeof p, "%s/.lock", d);
    assert_false(exists(p));
    assert_int_equal(obslog_open(d, 1000, OBSLOG_INSECURE_DIR, &l, err, sizeof err), 0);
    assert_non_null(obslog_datadir(l));
    assert_true(obslog_datadir(l)->fd >= 0);
    obslog_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_root),
        cmocka_unit_test_setup_teardown(test_create_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insecure_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csvw_to_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmpfile_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obslog_refuses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
