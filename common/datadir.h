/*
 * datadir: the data folder, opened once and trusted only as far as it
 * deserves (PRODUCT.md section 9, issue #19).
 *
 * dnsprop often runs as root from cron, on a folder that other people may
 * be able to write. A name in that folder may then be a symlink planted to
 * make root write somewhere else, a FIFO that hangs the run, or a hard link
 * to someone else's file. So:
 *   - the folder is opened once (O_DIRECTORY|O_NOFOLLOW) and every file in
 *     it is reached through that descriptor (openat, renameat, fstatat,
 *     unlinkat): renaming or replacing the folder mid-run changes nothing;
 *   - a folder writable by group or others, or owned by another user than
 *     the one running (root included), is refused unless the caller accepts
 *     it (DATADIR_INSECURE_OK, the --insecure-dir option: one warning line);
 *   - a name that is not a regular file where one is expected (a symlink, a
 *     FIFO, a device, a folder, a socket) is refused, looked at with fstatat
 *     before anything opens it, and opened with O_NOFOLLOW|O_NONBLOCK so that
 *     a swap in between can neither redirect nor hang the open;
 *   - files are replaced through a temporary file with an unpredictable name
 *     (O_CREAT|O_EXCL, a random suffix from getrandom), never by truncating
 *     an existing name; new folders are 0755 and new files 0644, whatever
 *     the umask.
 * Folders that are only read (merge's sources, import's files) may be
 * anyone's (DATADIR_SOURCE, datadir_open_read): a symlink in them is followed
 * only to a regular file.
 *
 * Refusals return DP_EUNSAFE with one line in err naming the path and why.
 * Every other failure is a negative errno (-ENOENT for a missing name) or a
 * DP_E* code, also with a line in err.
 */
#ifndef DNSPROP_DATADIR_H
#define DNSPROP_DATADIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* An open data folder; the caller owns the struct, datadir_close releases
 * what is in it. */
struct datadir {
    int fd;     /* the folder, O_DIRECTORY; -1 when not open */
    char *path; /* owned: the path as given (trailing slashes dropped), for messages */
    int flags;  /* the DATADIR_* it was opened with */
};
#define DATADIR_INIT                                                                               \
    {                                                                                              \
        .fd = -1, .path = NULL, .flags = 0                                                         \
    }

/* Flags of datadir_open. */
enum {
    DATADIR_CREATE = 1 << 0,      /* make the folder (and its parents) when missing */
    DATADIR_INSECURE_OK = 1 << 1, /* --insecure-dir: accept a folder others can write or own,
                                     and files owned by others or hard-linked, with a warning */
    DATADIR_NOWARN = 1 << 2,      /* no warning for DATADIR_INSECURE_OK (a second open in the
                                     same run, which already warned) */
    DATADIR_SOURCE = 1 << 3,      /* only read: anyone's folder; its files open read-only, a
                                     symlink followed only to a regular file */
};

/* Opens the folder `path` into *dd (which need not be initialized). Refuses
 * a symlink, a non-folder, and (unless DATADIR_SOURCE or _INSECURE_OK) a
 * folder writable by group or others or owned by another user. With
 * DATADIR_CREATE a missing folder is made (parents 0755 less the umask, as
 * mkdir -p does; the folder itself 0755). Returns 0, -ENOENT (missing, no
 * DATADIR_CREATE), DP_EUNSAFE, or another negative code; message in err. */
int datadir_open(const char *path, int flags, struct datadir *dd, char *err, size_t errlen);
/* Closes the folder; dd is then DATADIR_INIT. A closed one is fine. */
void datadir_close(struct datadir *dd);

/* Checks, without opening anything, that each of the n names in the folder
 * is either absent or a regular file (owned by the user running and not
 * hard-linked elsewhere, unless DATADIR_INSECURE_OK). Used before the first
 * write of a run, so that a refusal leaves everything as it was. Returns 0,
 * DP_EUNSAFE or another negative code; message in err. */
int datadir_check(const struct datadir *dd, const char *const *names, size_t n, char *err,
                  size_t errlen);

/* Opens the file `name` in the folder. oflags: O_RDONLY, O_WRONLY or O_RDWR,
 * with O_APPEND, O_CREAT, O_EXCL as needed (O_TRUNC is refused:
 * DP_EINTERNAL; replace a file with datadir_replace). O_NOFOLLOW, O_NONBLOCK
 * (cleared again once the file is known to be regular), O_NOCTTY and
 * O_CLOEXEC are added. A file this call creates is 0644. Returns the
 * descriptor (the caller closes it), -ENOENT / -EEXIST as open(2) would,
 * DP_EUNSAFE for what is not a regular file (or is another user's or
 * hard-linked, unless DATADIR_INSECURE_OK), or another negative code; the
 * message is in err in every case. */
int datadir_openat_file(const struct datadir *dd, const char *name, int oflags, char *err,
                        size_t errlen);

/* lstat of one name in the folder: 0 or -errno (-ENOENT when absent). */
int datadir_stat(const struct datadir *dd, const char *name, struct stat *st);

/* Replaces `name` atomically: a new file with an unpredictable temporary
 * name in the folder (0644), the first prefix_len bytes of prefix_fd when
 * prefix_fd >= 0 (copied by the kernel), then data; fsync; renameat over
 * name. An existing name that is not a regular file is refused
 * (DP_EUNSAFE) and left alone. On failure the temporary file is removed and
 * name is unchanged. Returns 0 or a negative code with err set. The folder
 * itself is not fsynced: see datadir_sync. */
int datadir_replace(const struct datadir *dd, const char *name, int prefix_fd, uint64_t prefix_len,
                    const char *data, size_t len, char *err, size_t errlen);

/* datadir_replace a step at a time, for a file too big to build in memory
 * first: datadir_new_open checks `name` as datadir_replace does and makes
 * the temporary file; datadir_new_write appends to it; datadir_new_commit
 * fsyncs it and renames it over `name` (checked again); datadir_new_abort
 * removes it. Each returns 0 or a negative code with err set, with the
 * messages datadir_replace gives; after a failed write or commit the
 * temporary file is already gone. abort after commit or after a failure
 * does nothing, so a caller may always end with it. */
struct datadir_new {
    int fd;                 /* the temporary file; -1 once closed */
    char tmp[NAME_MAX + 1]; /* its name in the folder */
    uint64_t size;          /* bytes written to it (copied ones too) */
};
int datadir_new_open(const struct datadir *dd, const char *name, struct datadir_new *n, char *err,
                     size_t errlen);
int datadir_new_write(const struct datadir *dd, const char *name, struct datadir_new *n,
                      const char *data, size_t len, char *err, size_t errlen);
int datadir_new_commit(const struct datadir *dd, const char *name, struct datadir_new *n, char *err,
                       size_t errlen);
void datadir_new_abort(const struct datadir *dd, struct datadir_new *n);

/* For a caller that writes a replacement itself (report --upgrade): makes a
 * new empty file with an unpredictable name ".NAME.<16 hex digits>.tmp" in
 * the folder (O_CREAT|O_EXCL|O_NOFOLLOW, 0644), its name in tmpname (tmplen
 * >= NAME_MAX + 1 is always enough). Returns the write-only descriptor (the
 * caller closes it, and removes the file with datadir_unlink on failure) or
 * a negative code with err set. */
int datadir_tmpfile(const struct datadir *dd, const char *name, char *tmpname, size_t tmplen,
                    char *err, size_t errlen);
/* Renames `from` over `to`, both in the folder; an existing `to` that is not
 * a regular file (or, unless DATADIR_INSECURE_OK, another user's or
 * hard-linked) is refused with DP_EUNSAFE and left alone. 0 or a negative
 * code with err set. */
int datadir_rename(const struct datadir *dd, const char *from, const char *to, char *err,
                   size_t errlen);

/* Removes `name` from the folder (not a folder): 0, -ENOENT, or -errno. */
int datadir_unlink(const struct datadir *dd, const char *name);

/* fsyncs the folder, so that renames and new names survive a crash. 0 or
 * DP_EIO. */
int datadir_sync(const struct datadir *dd);

/* Opens a file that is only read and may be anyone's (a merge source's log,
 * an import file): a symlink is followed only when it leads to a regular
 * file; anything else is refused (DP_EUNSAFE) without being opened, so a FIFO
 * cannot hang the run nor a device be touched. Returns a read-only
 * descriptor (the caller closes it) or a negative code with err set ("PATH:
 * why"). */
int datadir_open_read(const char *path, char *err, size_t errlen);

#endif
