/*
 * dnsprop: project-wide basics shared by every module: error codes, exit
 * codes, durations and UTC times, and small text helpers.
 *
 * Errors are values: functions return 0 on success or a negative code. Codes
 * from libuv (UV_E*, negative errno) pass through unchanged; the project's
 * own codes are the DP_E* below, all more negative than any errno.
 */
#ifndef DNSPROP_COMMON_H
#define DNSPROP_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status, the Nagios plugin convention (PRODUCT.md section 3). */
enum dp_exit {
    DP_EXIT_OK = 0,
    DP_EXIT_WARNING = 1,
    DP_EXIT_CRITICAL = 2,
    DP_EXIT_UNKNOWN = 3,
};

/* The project's own error codes. */
enum dp_err {
    DP_EINPUT = -10000, /* bad input from outside: usage, value, file content */
    DP_ENOMEM,          /* out of memory */
    DP_EIO,             /* a read or write failed (errno kept by the caller) */
    DP_ELOCK,           /* the data folder's lock could not be taken in time */
    DP_EDAMAGED,        /* a file is damaged beyond the allowed repair */
    DP_EFORMAT,         /* a file is of another format or version */
    DP_EMALFORMED,      /* a DNS message does not parse */
    DP_EINTERNAL,       /* a bug: should not happen */
    DP_EUNSAFE,         /* the data folder or a file in it is not safe to use (common/datadir.h) */
};

/* Returns a static text for any code: DP_E*, libuv's, or a negative errno. */
const char *dp_strerror(int err);

/* Durations as PRODUCT.md section 2 spells them: a positive whole number and
 * a unit (ms, s, m, h, d), optionally several in decreasing order ("1h30m").
 * On success stores milliseconds in *ms and returns 0; otherwise DP_EINPUT and
 * *ms is left alone. The largest accepted duration is 3650 days. */
int dp_parse_duration(const char *s, uint64_t *ms);

/* Times: "now", "YYYY-MM-DD HH:MM[:SS]" (UTC), or ISO 8601
 * "YYYY-MM-DDTHH:MM[:SS][.fff](Z|+HH:MM|-HH:MM)" (no zone means UTC).
 * `now` is the current Unix time, used for "now". Stores Unix seconds in *t and
 * returns 0, or DP_EINPUT for anything else (including impossible dates). */
int dp_parse_time(const char *s, int64_t now, int64_t *t);

/* Formats Unix seconds as "YYYY-MM-DD HH:MM:SS" (UTC) into buf (>= 20 bytes).
 * Returns buf. */
#define DP_TIME_BUFLEN 20
char *dp_format_time(int64_t t, char *buf);

/* Parses exactly "YYYY-MM-DD HH:MM:SS" as written by dp_format_time.
 * Returns 0 or DP_EINPUT. */
int dp_parse_time_exact(const char *s, size_t len, int64_t *t);

/* Unix seconds for a proleptic Gregorian UTC date and time; no range checks. */
int64_t dp_timegm(int year, int mon, int day, int hour, int min, int sec);

/* Current wall-clock time in Unix seconds / milliseconds. */
int64_t dp_now(void);
int64_t dp_now_ms(void);

/* Parses a whole decimal number in [min, max]; no sign, no spaces, no
 * leading '+'. Returns 0 or DP_EINPUT. */
int dp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Writes `s` (len bytes) into buf as printable ASCII: bytes outside 0x21..0x7e
 * other than space, and the backslash itself, become \DDD as zone files write
 * them. Used to quote hostile text in messages. Always NUL-terminates; returns
 * buf. */
char *dp_escape(const char *s, size_t len, char *buf, size_t buflen);

/* Writes a formatted one-line message into err (errlen bytes; nothing when
 * err is NULL or errlen is 0). The project's functions report errors so. */
void dp_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads fd to its end, at most max bytes, into *buf (malloc'd with a byte
 * more for a NUL the caller may put; the caller frees it), *len bytes. One
 * byte past max is read to tell "exactly max" from "more". Returns 0, or
 * with err saying so of q (the file's quoted name): DP_EINPUT (cannot read,
 * larger than max) or DP_ENOMEM, *buf then NULL. */
int dp_read_all(int fd, const char *q, size_t max, char **buf, size_t *len, char *err,
                size_t errlen);

/* Writes all len bytes of buf to fd (again after EINTR or a short write).
 * Returns 0, or -errno of the failed write (EIO for one that wrote nothing),
 * errno left so. */
int dp_write_all(int fd, const void *buf, size_t len);

/* Has the kernel start writing the len bytes at off of fd to the disk now
 * (sync_file_range SYNC_FILE_RANGE_WRITE), without waiting: a file written
 * in pieces and fsynced at the end then has the disk work while the next
 * pieces are made, and the fsync waits for the last ones only. Advice: the
 * fsync still says whether it all reached the disk. */
void dp_start_writeback(int fd, uint64_t off, uint64_t len);

/* Whether two socket addresses are the same address and port (IPv4 or IPv6,
 * scope included). */
struct sockaddr;
bool dp_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* ---- interned strings and growing arrays (common/strtab.c) ---- */

/* FNV-1a, 64 bits, over 8-byte words: fingerprints and hash tables, not
 * security. Stable: saved files hold its values. */
uint64_t dp_hash(uint64_t h, const void *p, size_t n);
#define DP_HASH_INIT 0xcbf29ce484222325ULL

/* Makes room in *arr (elements of size sz, *cap of them) for element n:
 * doubles the capacity (16 at first) until it is past n, so n appends
 * cost O(n) in all; a byte buffer that must hold `need` bytes asks for
 * element need - 1. Returns 0 or DP_ENOMEM (*arr unchanged). */
int dp_grow(void **arr, size_t *cap, size_t n, size_t sz);

/* Interned strings: each distinct string once, its id its place in order of
 * first appearance (s[id]). Zero-initialize; dp_strtab_deinit frees. */
struct dp_strtab {
    char **s;        /* owned, each owned and NUL-terminated */
    uint32_t n, cap; /* strings in s, room in s */
    uint32_t *slots; /* owned; open addressing, id + 1, 0 = free */
    uint32_t nslots; /* a power of two, at least twice n */
};
/* The id of s (len bytes, no NUL inside), added if new. UINT32_MAX: no memory. */
uint32_t dp_strtab_add(struct dp_strtab *t, const char *s, size_t len);
/* The id of s, or UINT32_MAX when it is not in the table. */
uint32_t dp_strtab_find(const struct dp_strtab *t, const char *s, size_t len);
void dp_strtab_deinit(struct dp_strtab *t);

#endif
