/*
 * datadir: the data folder, opened once, every file in it reached through
 * that descriptor, nothing followed through a symlink (see common/datadir.h
 * for the rules and why).
 */
#define _GNU_SOURCE /* O_PATH, copy_file_range */
#include "datadir.h"
#include "dnsprop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATADIR_DIR_MODE  0755
#define DATADIR_FILE_MODE 0644
#define TMP_TRIES         16

/* "DIR/NAME" for messages (truncated if it must be: it is only shown). */
static const char *shown(const struct datadir *dd, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", dd->path ? dd->path : ".", name);
    return buf;
}

static const char *kind_of(mode_t m)
{
    if (S_ISLNK(m))
        return "a symbolic link";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* "uid 65534 (nobody)" */
static void user_text(uid_t uid, char *buf, size_t len)
{
    const struct passwd *pw = getpwuid(uid);
    char esc[96];
    if (pw != NULL && pw->pw_name != NULL)
        snprintf(buf, len, "uid %u (%s)", (unsigned)uid,
                 dp_escape(pw->pw_name, strlen(pw->pw_name), esc, sizeof esc));
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* The refusal of something that is not a regular file. dirfd/name: where
 * it is, to say where a symlink points. */
static int refuse_kind(int dirfd, const char *name, const char *path, mode_t m, char *err,
                       size_t errlen)
{
    char esc[PATH_MAX + 64], target[PATH_MAX];
    if (S_ISLNK(m)) {
        ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
        if (n >= 0) {
            dp_errf(
                err, errlen,
                "%s: is a symbolic link (to '%s'), not a regular file: refused, nothing written",
                path, dp_escape(target, (size_t)n, esc, sizeof esc));
            return DP_EUNSAFE;
        }
    }
    dp_errf(err, errlen, "%s: is %s, not a regular file: refused, nothing written", path,
            kind_of(m));
    return DP_EUNSAFE;
}

/* Whether a file found in the folder may be used: a regular file, and
 * (unless the folder is a source or --insecure-dir) the runner's own and
 * not hard-linked from elsewhere. */
static int judge(const struct datadir *dd, const char *name, const struct stat *st, char *err,
                 size_t errlen)
{
    char path[PATH_MAX + 64];
    shown(dd, name, path, sizeof path);
    if (!S_ISREG(st->st_mode))
        return refuse_kind(dd->fd, name, path, st->st_mode, err, errlen);
    if (dd->flags & (DATADIR_INSECURE_OK | DATADIR_SOURCE))
        return 0;
    if (st->st_uid != geteuid()) {
        char them[160], me[160];
        user_text(st->st_uid, them, sizeof them);
        user_text(geteuid(), me, sizeof me);
        dp_errf(err, errlen,
                "%s: owned by %s, not by %s that runs dnsprop: refused, nothing written "
                "(--insecure-dir accepts it)",
                path, them, me);
        return DP_EUNSAFE;
    }
    if (st->st_nlink > 1) {
        dp_errf(err, errlen,
                "%s: has %llu hard links (another name for it may be someone else's file): "
                "refused, nothing written (--insecure-dir accepts it)",
                path, (unsigned long long)st->st_nlink);
        return DP_EUNSAFE;
    }
    return 0;
}

/* mkdir -p; *made tells whether the last component was made by this call. */
static int make_dirs(const char *dir, bool *made)
{
    char *p = strdup(dir);
    int rc = 0;
    *made = false;
    if (p == NULL)
        return DP_ENOMEM;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, DATADIR_DIR_MODE) == 0) {
                *made = c == '\0';
            } else if (errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

int datadir_open(const char *path, int flags, struct datadir *dd, char *err, size_t errlen)
{
    struct stat st;
    bool made = false;
    int rc = 0;
    size_t n = strlen(path);
    char esc[PATH_MAX + 64];
    *dd = (struct datadir)DATADIR_INIT;
    dd->flags = flags;
    if (n == 0) {
        dp_errf(err, errlen, "empty folder name");
        return DP_EINPUT;
    }
    /* "link/" would follow the symlink whatever O_NOFOLLOW says */
    while (n > 1 && path[n - 1] == '/')
        n--;
    dd->path = strndup(path, n);
    if (dd->path == NULL)
        return DP_ENOMEM;
    const char *p = dp_escape(dd->path, n, esc, sizeof esc);
    if ((flags & DATADIR_CREATE) && !(flags & DATADIR_SOURCE) &&
        (rc = make_dirs(dd->path, &made)) != 0) {
        dp_errf(err, errlen, "%s: cannot create the folder: %s", p,
                rc == DP_ENOMEM ? dp_strerror(rc) : strerror(-rc));
        goto fail;
    }
    int of = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    if (!(flags & DATADIR_SOURCE))
        of |= O_NOFOLLOW;
    dd->fd = open(dd->path, of);
    if (dd->fd < 0) {
        int e = errno;
        if ((e == ELOOP || e == ENOTDIR) && lstat(dd->path, &st) == 0 && S_ISLNK(st.st_mode)) {
            dp_errf(err, errlen,
                    "%s: is a symbolic link: refused as a data folder, nothing written (give the "
                    "folder's real path)",
                    p);
            rc = DP_EUNSAFE;
        } else if (e == ENOTDIR) {
            dp_errf(err, errlen, "%s: not a folder", p);
            rc = DP_EINPUT;
        } else {
            dp_errf(err, errlen, "%s: %s", p, strerror(e));
            rc = -e;
        }
        goto fail;
    }
    if (made && fchmod(dd->fd, DATADIR_DIR_MODE) != 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", p, strerror(errno));
        goto fail;
    }
    if (fstat(dd->fd, &st) != 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", p, strerror(errno));
        goto fail;
    }
    if (flags & DATADIR_SOURCE)
        return 0;
    char why[512] = "";
    size_t w = 0;
    if (st.st_uid != geteuid()) {
        char them[160], me[160];
        user_text(st.st_uid, them, sizeof them);
        user_text(geteuid(), me, sizeof me);
        w +=
            (size_t)snprintf(why, sizeof why, "owned by %s, not by %s that runs dnsprop", them, me);
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && w < sizeof why) {
        const char *who = (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
                          : (st.st_mode & S_IWGRP)                         ? "group"
                                                                           : "others";
        snprintf(why + w, sizeof why - w, "%swritable by %s (mode %04o)", w ? ", and " : "", who,
                 (unsigned)(st.st_mode & 07777));
    }
    if (why[0] == '\0')
        return 0;
    if (flags & DATADIR_INSECURE_OK) {
        if (!(flags & DATADIR_NOWARN))
            fprintf(stderr, "dnsprop: warning: %s: %s; used anyway because of --insecure-dir\n", p,
                    why);
        return 0;
    }
    dp_errf(err, errlen,
            "%s: %s: refused as a data folder, nothing written (chown/chmod go-w it, or "
            "--insecure-dir)",
            p, why);
    rc = DP_EUNSAFE;
fail:
    datadir_close(dd);
    dd->flags = flags;
    return rc;
}

void datadir_close(struct datadir *dd)
{
    if (dd == NULL)
        return;
    if (dd->fd >= 0)
        close(dd->fd);
    free(dd->path);
    *dd = (struct datadir)DATADIR_INIT;
}

int datadir_check(const struct datadir *dd, const char *const *names, size_t n, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (fstatat(dd->fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            int e = errno;
            char path[PATH_MAX + 64];
            dp_errf(err, errlen, "%s: %s", shown(dd, names[i], path, sizeof path), strerror(e));
            return -e;
        }
        int rc = judge(dd, names[i], &st, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Drops O_NONBLOCK once the descriptor is known to be a regular file. */
static int blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

/* A read-only open of dirfd/name that follows a symlink only to a regular
 * file: the name is first opened O_PATH (which neither reads nor blocks nor
 * wakes a device), judged by fstat, and only then reopened for reading
 * through /proc/self/fd, which reaches that very inode. Without /proc, a
 * symlink is not followed at all. */
static int open_source(int dirfd, const char *name, const char *path, char *err, size_t errlen)
{
    struct stat st, st2;
    int fd = -1, rc;
    int pfd = openat(dirfd, name, O_PATH | O_CLOEXEC);
    if (pfd < 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(pfd, &st) != 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        dp_errf(err, errlen, "%s: is %s, not a regular file: refused", path, kind_of(st.st_mode));
        rc = DP_EUNSAFE;
        goto out;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) || st2.st_dev != st.st_dev ||
        st2.st_ino != st.st_ino) {
        dp_errf(err, errlen, "%s: changed while it was being opened: refused", path);
        rc = DP_EUNSAFE;
        goto out;
    }
    if ((rc = blocking(fd)) != 0) {
        dp_errf(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    rc = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    close(pfd);
    return rc;
}

int datadir_openat_file(const struct datadir *dd, const char *name, int oflags, char *err,
                        size_t errlen)
{
    char path[PATH_MAX + 64];
    struct stat st;
    bool absent = false;
    int rc;
    shown(dd, name, path, sizeof path);
    if (dd->fd < 0 || (oflags & O_TRUNC) ||
        ((dd->flags & DATADIR_SOURCE) &&
         ((oflags & O_ACCMODE) != O_RDONLY || (oflags & (O_CREAT | O_APPEND)) != 0))) {
        dp_errf(err, errlen, "%s: internal error: bad open flags", path);
        return DP_EINTERNAL;
    }
    if (dd->flags & DATADIR_SOURCE)
        return open_source(dd->fd, name, path, err, errlen);
    /* look before opening: a FIFO or a device is never opened at all */
    if (fstatat(dd->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = -errno;
        if (errno != ENOENT || !(oflags & O_CREAT)) {
            dp_errf(err, errlen, "%s: %s", path, strerror(errno));
            return rc;
        }
        absent = true;
    } else {
        if ((rc = judge(dd, name, &st, err, errlen)) != 0)
            return rc;
        if ((oflags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
            dp_errf(err, errlen, "%s: %s", path, strerror(EEXIST));
            return -EEXIST;
        }
    }
    int fd = openat(dd->fd, name, oflags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                    DATADIR_FILE_MODE);
    if (fd < 0) {
        int e = errno;
        /* swapped since the look: a symlink now (ELOOP), a FIFO without a
         * reader (ENXIO) */
        if ((e == ELOOP || e == ENXIO) && fstatat(dd->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISREG(st.st_mode))
            return refuse_kind(dd->fd, name, path, st.st_mode, err, errlen);
        dp_errf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if ((rc = judge(dd, name, &st, err, errlen)) != 0)
        goto fail;
    if ((absent && fchmod(fd, DATADIR_FILE_MODE) != 0) || (rc = blocking(fd)) != 0) {
        rc = rc ? rc : -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(-rc));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return rc;
}

int datadir_stat(const struct datadir *dd, const char *name, struct stat *st)
{
    return fstatat(dd->fd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int datadir_tmpfile(const struct datadir *dd, const char *name, char *tmpname, size_t tmplen,
                    char *err, size_t errlen)
{
    char path[PATH_MAX + 64];
    shown(dd, name, path, sizeof path);
    if (dd->fd < 0 || (dd->flags & DATADIR_SOURCE) || tmplen == 0) {
        dp_errf(err, errlen, "%s: internal error: not a writable data folder", path);
        return DP_EINTERNAL;
    }
    tmpname[0] = '\0';
    /* an unpredictable name, made with O_EXCL: nothing planted in advance
     * can be there under it */
    for (int i = 0; i < TMP_TRIES; i++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            break;
        int k = snprintf(tmpname, tmplen, ".%s.%016llx.tmp", name, (unsigned long long)r);
        if (k < 0 || (size_t)k >= tmplen || (size_t)k > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        int fd =
            openat(dd->fd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                   DATADIR_FILE_MODE);
        if (fd >= 0) {
            if (fchmod(fd, DATADIR_FILE_MODE) == 0)
                return fd;
            int e = errno;
            close(fd);
            unlinkat(dd->fd, tmpname, 0);
            errno = e;
            break;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno ? errno : EEXIST;
    tmpname[0] = '\0';
    dp_errf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(e));
    return -e;
}

/* Whether name (shown as path) may be replaced in dd: a writable data
 * folder, and no file of that name, or one judge() accepts. 0, or the
 * error said in err. */
static int may_replace(const struct datadir *dd, const char *name, const char *path, char *err,
                       size_t errlen)
{
    struct stat st;
    if (dd->fd < 0 || (dd->flags & DATADIR_SOURCE)) {
        dp_errf(err, errlen, "%s: internal error: not a writable data folder", path);
        return DP_EINTERNAL;
    }
    if (fstatat(dd->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return judge(dd, name, &st, err, errlen);
    if (errno != ENOENT) {
        int rc = -errno;
        dp_errf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

int datadir_rename(const struct datadir *dd, const char *from, const char *to, char *err,
                   size_t errlen)
{
    char path[PATH_MAX + 64];
    int rc;
    shown(dd, to, path, sizeof path);
    if ((rc = may_replace(dd, to, path, err, errlen)) != 0)
        return rc;
    if (renameat(dd->fd, from, dd->fd, to) != 0) {
        rc = -errno;
        dp_errf(err, errlen, "%s: cannot replace it: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

/* After a failed step of a replacement (errno says why): the temporary
 * file closed and removed, the message in err. */
static int new_failed(const struct datadir *dd, const char *name, struct datadir_new *n, char *err,
                      size_t errlen)
{
    char path[PATH_MAX + 64];
    int e = errno ? errno : EIO;
    datadir_new_abort(dd, n);
    shown(dd, name, path, sizeof path);
    dp_errf(err, errlen, "%s: cannot write: %s", path, strerror(e));
    return DP_EIO;
}

int datadir_new_open(const struct datadir *dd, const char *name, struct datadir_new *n, char *err,
                     size_t errlen)
{
    char path[PATH_MAX + 64];
    int rc;
    n->fd = -1;
    n->tmp[0] = '\0';
    n->size = 0;
    shown(dd, name, path, sizeof path);
    if ((rc = may_replace(dd, name, path, err, errlen)) != 0)
        return rc;
    n->fd = datadir_tmpfile(dd, name, n->tmp, sizeof n->tmp, err, errlen);
    return n->fd < 0 ? n->fd : 0;
}

int datadir_new_write(const struct datadir *dd, const char *name, struct datadir_new *n,
                      const char *data, size_t len, char *err, size_t errlen)
{
    errno = 0;
    if (n->fd < 0 || dp_write_all(n->fd, data, len) != 0)
        return new_failed(dd, name, n, err, errlen);
    n->size += len;
    return 0;
}

int datadir_new_commit(const struct datadir *dd, const char *name, struct datadir_new *n, char *err,
                       size_t errlen)
{
    char path[PATH_MAX + 64];
    int rc;
    errno = 0;
    if (n->fd < 0 || fsync(n->fd) != 0)
        return new_failed(dd, name, n, err, errlen);
    rc = close(n->fd);
    n->fd = -1;
    if (rc != 0)
        return new_failed(dd, name, n, err, errlen);
    /* the name may have changed while the file was written */
    shown(dd, name, path, sizeof path);
    if ((rc = may_replace(dd, name, path, err, errlen)) != 0) {
        datadir_new_abort(dd, n);
        return rc;
    }
    if (renameat(dd->fd, n->tmp, dd->fd, name) != 0)
        return new_failed(dd, name, n, err, errlen);
    n->tmp[0] = '\0';
    return 0;
}

void datadir_new_abort(const struct datadir *dd, struct datadir_new *n)
{
    int e = errno;
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
    if (n->tmp[0] != '\0')
        unlinkat(dd->fd, n->tmp, 0);
    n->tmp[0] = '\0';
    errno = e;
}

int datadir_replace(const struct datadir *dd, const char *name, int prefix_fd, uint64_t prefix_len,
                    const char *data, size_t len, char *err, size_t errlen)
{
    struct datadir_new n;
    int rc = datadir_new_open(dd, name, &n, err, errlen);
    if (rc != 0)
        return rc;
    if (prefix_fd >= 0) {
        off_t in = 0;
        uint64_t left = prefix_len;
        while (left > 0) {
            ssize_t k = copy_file_range(prefix_fd, &in, n.fd, NULL, (size_t)left, 0);
            if (k < 0 && errno == EINTR)
                continue;
            if (k == 0)
                errno = EIO; /* the prefix file is shorter than promised */
            if (k <= 0)
                return new_failed(dd, name, &n, err, errlen);
            left -= (uint64_t)k;
            n.size += (uint64_t)k;
        }
    }
    if ((rc = datadir_new_write(dd, name, &n, data, len, err, errlen)) != 0)
        return rc;
    return datadir_new_commit(dd, name, &n, err, errlen);
}

int datadir_unlink(const struct datadir *dd, const char *name)
{
    return unlinkat(dd->fd, name, 0) == 0 ? 0 : -errno;
}

int datadir_sync(const struct datadir *dd)
{
    return dd->fd >= 0 && fsync(dd->fd) == 0 ? 0 : DP_EIO;
}

int datadir_open_read(const char *path, char *err, size_t errlen)
{
    char esc[PATH_MAX + 64];
    return open_source(AT_FDCWD, path, dp_escape(path, strlen(path), esc, sizeof esc), err, errlen);
}
