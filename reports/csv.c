/*
 * The one CSV writer and reader behind every file in the data folder.
 *
 * Writing (PRODUCT.md section 4): RFC 4180 fields joined by commas, rows ended
 * by CRLF. A field is quoted (with libcsv's csv_write) only when it needs it:
 * it holds a comma or a double quote, or starts or ends with a space. Every
 * byte outside printable ASCII (0x20..0x7e) is written as \DDD, as zone files
 * write it, so a written row is always one physical line of ASCII. The
 * backslash itself is NOT escaped: DNS text from the engine is already in
 * zone-file presentation form (`\"`, `\\`, `\195`), and escaping it again
 * would change what the user sees. So the log's values are printable ASCII;
 * such a value reads back exactly as given, and any other value is written in
 * its zone-file form (a fixed point: writing what was read writes the same).
 *
 * Spreadsheet formulas: a field that would start with `=`, `+`, `-`, `@`, TAB,
 * CR, or `'` itself gets one leading `'`. Because `'` is in that list, the
 * reader can strip exactly one leading `'` from every field that has one and
 * get back the value: the rule is unambiguous. (TAB and CR never reach the
 * test, they were turned into \009 and \013 before, but the rule is kept as
 * PRODUCT.md spells it.)
 */
#include "internal.h"

#include <csv.h>
#include <stdio.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

void csvw_init(struct csvw *w)
{
    memset(w, 0, sizeof *w);
}

size_t rep__csvw_piece = (size_t)1 << 20;

/* The file a csvw's rows go to (rep__csvw_to_file) */
struct rep__csvw_file {
    const struct datadir *dd;
    const char *name;
    struct datadir_new out;
    bool hashed;
    uint64_t hash; /* rep__hash of the bytes written to out */
    char *err;     /* where a failed write says so */
    size_t errlen;
};

void csvw_deinit(struct csvw *w)
{
    if (w->file != NULL) {
        datadir_new_abort(w->file->dd, &w->file->out);
        free(w->file);
    }
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void csvw_clear(struct csvw *w)
{
    w->len = 0;
    w->row_open = false;
}

int csvw_error(const struct csvw *w)
{
    return w->err;
}

/* Grows the buffer for n more bytes; sets the sticky error on failure. */
static bool grow(struct csvw *w, size_t n)
{
    if (w->err != 0)
        return false;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->err = DP_ENOMEM;
            return false;
        }
        cap *= 2;
    }
    char *b = realloc(w->buf, cap);
    if (b == NULL) {
        w->err = DP_ENOMEM;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

/* Makes room for n more bytes; sets the sticky error on failure. */
static inline bool reserve(struct csvw *w, size_t n)
{
    if (w->err == 0 && w->cap - w->len >= n)
        return true;
    return grow(w, n);
}

#define CSV__ONES  0x0101010101010101ULL
#define CSV__HIGHS 0x8080808080808080ULL

/* Whether a word may hold a zero byte (never misses one) */
static inline uint64_t csv__has_zero(uint64_t x)
{
    return (x - CSV__ONES) & ~x & CSV__HIGHS;
}

/* Whether an unquoted field's 8 bytes may hold anything but plain printable
 * ASCII other than a quote: a comma, a quote, a byte below 0x20 or above
 * 0x7e. May say yes for a clean word after a special byte, never no for a
 * word that holds one. */
static inline uint64_t csv__word_special(uint64_t v)
{
    uint64_t low = (v - CSV__ONES * 0x20) & ~v & CSV__HIGHS;           /* < 0x20 */
    uint64_t high = ((v + CSV__ONES * (127 - 0x7e)) | v) & CSV__HIGHS; /* > 0x7e */
    return low | high | csv__has_zero(v ^ (CSV__ONES * ',')) | csv__has_zero(v ^ (CSV__ONES * '"'));
}

/* What a byte asks for in a field: CSVW__SPECIAL, escaping or quotes
 * anywhere (a comma, a quote, a byte outside 0x20..0x7e); CSVW__PREFIX, the
 * formula prefix as the first byte (the bytes of PRODUCT.md's list);
 * CSVW__SPACE, quotes as the first or last byte. */
#define CSVW__SPECIAL 1u
#define CSVW__PREFIX  2u
#define CSVW__SPACE   4u
/* clang-format off */
#define CSVW__S   CSVW__SPECIAL
#define CSVW__T   (CSVW__SPECIAL | CSVW__PREFIX) /* TAB and CR */
#define CSVW__P   CSVW__PREFIX
#define CSVW__B   CSVW__SPACE
#define CSVW__S16 CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, \
                  CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S
#define CSVW__016 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
static const unsigned char csvw__class[256] = {
    /* 0x00 */ CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S, CSVW__S,
               CSVW__S, CSVW__T, CSVW__S, CSVW__S, CSVW__S, CSVW__T, CSVW__S, CSVW__S,
    /* 0x10 */ CSVW__S16,
    /* 0x20: space ! " # $ % & ' ( ) * + , - . / */
    CSVW__B, 0, CSVW__S, 0, 0, 0, 0, CSVW__P, 0, 0, 0, CSVW__P, CSVW__S, CSVW__P, 0, 0,
    /* 0x30: 0-9 : ; < = > ? */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, CSVW__P, 0, 0,
    /* 0x40: @ A-O */
    CSVW__P, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50 */ CSVW__016,
    /* 0x60 */ CSVW__016,
    /* 0x70: p-z { | } ~ DEL */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, CSVW__S,
    /* 0x80..0xff */
    CSVW__S16, CSVW__S16, CSVW__S16, CSVW__S16, CSVW__S16, CSVW__S16, CSVW__S16, CSVW__S16,
};
/* clang-format on */

static inline bool needs_prefix(char c)
{
    return (csvw__class[(unsigned char)c] & CSVW__PREFIX) != 0;
}

static inline uint64_t csvw__load8(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

static inline uint32_t csvw__load4(const char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

/* Where the next field's bytes go, with room for n of them reserved: the
 * comma is written at the end of the row whether it is wanted or not (a
 * row's first field is written over it). NULL on an error. */
static inline char *csvw__open(struct csvw *w, size_t n)
{
    if (!reserve(w, n + 1))
        return NULL;
    char *d = w->buf + w->len;
    d[0] = ',';
    return d + w->row_open;
}

/* The field that csvw__open began at d is n bytes long. */
static inline void csvw__close(struct csvw *w, const char *d, size_t n)
{
    w->len = (size_t)(d - w->buf) + n;
    w->row_open = true;
}

/* Whether the 16 bytes of lo and hi hold a byte no plain field holds: a
 * comma, a quote, a byte outside 0x20..0x7e. SSE2 (which every x86-64
 * has) judges them at once; elsewhere csv__word_special, a word at a time. */
static inline bool csvw__special16(uint64_t lo, uint64_t hi)
{
#if defined(__SSE2__)
    __m128i v = _mm_set_epi64x((long long)hi, (long long)lo);
    /* signed: 0x80..0xff are below 0x20 too */
    __m128i bad = _mm_or_si128(
        _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')), _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
    return _mm_movemask_epi8(bad) != 0;
#else
    return (csv__word_special(lo) | csv__word_special(hi)) != 0;
#endif
}

/* Eight plain bytes: what fills a word that holds fewer bytes of a field */
#define CSVW__FILL (CSV__ONES * 'a')

/* Copies the len bytes of s (len > 0) to d and says whether they can be
 * written as they are: printable ASCII without a comma or a quote, not
 * starting with a byte that takes the formula prefix, not starting or
 * ending with a space. One to three bytes are judged by their classes;
 * more as they are copied, sixteen at a time (the last sixteen overlapping
 * the ones before), or as two overlapping words of eight, or two
 * overlapping halves of four in a word of 'a's. */
__attribute__((always_inline)) static inline bool csvw__copy_plain(char *d, const char *s,
                                                                   size_t len)
{
    uint64_t lo, hi;
    bool bad = false;
    unsigned char a = (unsigned char)s[0], z = (unsigned char)s[len - 1];
    if (len < 4) {
        unsigned char m = (unsigned char)s[len / 2];
        d[len - 1] = (char)z;
        d[len / 2] = (char)m;
        d[0] = (char)a;
        return (csvw__class[a] | ((csvw__class[m] | csvw__class[z]) & CSVW__SPECIAL) |
                (z == ' ')) == 0;
    }
    if (len >= 8) {
        size_t i = 0;
        for (; i + 16 < len; i += 16) {
            lo = csvw__load8(s + i);
            hi = csvw__load8(s + i + 8);
            bad |= csvw__special16(lo, hi);
            memcpy(d + i, &lo, 8);
            memcpy(d + i + 8, &hi, 8);
        }
        /* the last 16 bytes, or all of 8 to 15 */
        size_t at = len >= 16 ? len - 16 : 0;
        lo = csvw__load8(s + at);
        hi = csvw__load8(s + len - 8);
        memcpy(d + at, &lo, 8);
        memcpy(d + len - 8, &hi, 8);
    } else {
        uint32_t x = csvw__load4(s), y = csvw__load4(s + len - 4);
        lo = (uint64_t)x | (uint64_t)y << 32;
        hi = CSVW__FILL;
        memcpy(d + len - 4, &y, 4);
        memcpy(d, &x, 4);
    }
    bad |= csvw__special16(lo, hi);
    return !bad && (csvw__class[a] | (z == ' ')) == 0;
}

/* Any field csvw__copy_plain refused: escaped, prefixed and quoted. Kept
 * out of line: the callers' plain path is then a leaf that saves no
 * registers. */
__attribute__((noinline)) static void csvw__field_general(struct csvw *w, const char *s, size_t len)
{
    /* the escaped text is at most 4 bytes per input byte, plus the prefix;
     * quoting at most doubles it, plus two quotes and a comma; the escaped
     * text is built past the end of the largest quoted output */
    if (len > (SIZE_MAX - 32) / 16 || !reserve(w, 13 * len + 32))
        return;
    if (w->row_open)
        w->buf[w->len++] = ',';
    w->row_open = true;
    if (len == 0)
        return;
    /* escape into the tail of the buffer, then quote it into place if needed */
    char *tmp = w->buf + w->len + 8 * len + 8;
    size_t t = 0;
    bool quote = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            tmp[t++] = (char)c;
            if (c == ',' || c == '"')
                quote = true;
        } else {
            w->escaped = true;
            tmp[t++] = '\\';
            tmp[t++] = (char)('0' + c / 100);
            tmp[t++] = (char)('0' + c / 10 % 10);
            tmp[t++] = (char)('0' + c % 10);
        }
    }
    if (needs_prefix(tmp[0])) {
        memmove(tmp + 1, tmp, t);
        tmp[0] = '\'';
        t++;
    }
    if (tmp[0] == ' ' || tmp[t - 1] == ' ')
        quote = true;
    if (!quote) {
        memmove(w->buf + w->len, tmp, t);
        w->len += t;
        return;
    }
    /* libcsv does RFC 4180 quoting: surrounding quotes, inner quotes doubled */
    w->len += csv_write(w->buf + w->len, 2 * t + 2, tmp, t);
}

/* csvw_field's work: most fields are plain text, copied as they are in
 * one pass; an empty one is its comma. */
static inline void csvw__field(struct csvw *w, const char *s, size_t len)
{
    if (len == 0) {
        char *d = csvw__open(w, 0);
        if (d != NULL)
            csvw__close(w, d, 0);
        return;
    }
    char *d = len <= SIZE_MAX / 2 ? csvw__open(w, len) : NULL;
    if (d != NULL && csvw__copy_plain(d, s, len))
        csvw__close(w, d, len);
    else
        csvw__field_general(w, s, len);
}

void csvw_field(struct csvw *w, const char *s, size_t len)
{
    csvw__field(w, s, s != NULL ? len : 0);
}

void csvw_str(struct csvw *w, const char *s)
{
    csvw__field(w, s, s != NULL ? strlen(s) : 0);
}

/* The most fields csvw_strs measures at once */
#define CSVW__STRS 16

void csvw_strs(struct csvw *w, const char *const *s, size_t n)
{
    size_t len[CSVW__STRS], room = 0;
    for (; n > CSVW__STRS; s += CSVW__STRS, n -= CSVW__STRS)
        csvw_strs(w, s, CSVW__STRS);
    for (size_t i = 0; i < n; i++) {
        len[i] = s[i] != NULL ? strlen(s[i]) : 0;
        room += len[i] + 1; /* with its comma; strings in memory: no overflow */
    }
    /* room for every field as it is, once: most rows are plain text */
    if (room > SIZE_MAX / 2 || !reserve(w, room)) {
        for (size_t i = 0; i < n; i++)
            csvw__field(w, s[i], len[i]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *d = w->buf + w->len;
        d[0] = ',';
        d += w->row_open;
        if (len[i] == 0 || csvw__copy_plain(d, s[i], len[i])) {
            csvw__close(w, d, len[i]);
            continue;
        }
        /* this one is escaped, prefixed or quoted: the rest, measured again */
        csvw__field_general(w, s[i], len[i]);
        csvw_strs(w, s + i + 1, n - i - 1);
        return;
    }
}

/* "00" to "99": two digits of a number at a time */
static const char csvw__pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

void csvw_uint(struct csvw *w, uint64_t v)
{
    /* digits by hand, straight to the buffer: printf is most of the cost
     * of writing the reports; most numbers written are one or two digits.
     * Digits need nothing: no quotes, no prefix. */
    char *d = csvw__open(w, 20);
    if (d == NULL)
        return;
    if (v < 10) {
        d[0] = (char)('0' + v);
        csvw__close(w, d, 1);
        return;
    }
    if (v < 100) {
        memcpy(d, csvw__pairs + 2 * v, 2);
        csvw__close(w, d, 2);
        return;
    }
    /* the digits: from the bit length (log10 2 = 1233 / 4096, close
     * enough below 2^64), then one comparison */
    /* clang-format off */
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
        100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
        10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL};
    /* clang-format on */
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;
    size_t n = t + 1 - (v < pow10[t]);
    char *e = d + n;
    while (v >= 100) {
        e -= 2;
        memcpy(e, csvw__pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10)
        memcpy(e - 2, csvw__pairs + 2 * v, 2);
    else
        e[-1] = (char)('0' + v);
    csvw__close(w, d, n);
}

void csvw_opt(struct csvw *w, int64_t v)
{
    if (v < 0)
        csvw__field(w, NULL, 0);
    else
        csvw_uint(w, (uint64_t)v);
}

/* Two digits of v (below 100) at p. */
static inline void csvw__two(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void csvw_time(struct csvw *w, int64_t t)
{
    char b[DP_TIME_BUFLEN];
    if (t < 0) {
        csvw__field(w, NULL, 0);
        return;
    }
    /* rows of a report share few distinct times, and fewer days: the
     * date is formatted once a day (dp_format_time), the time of day by
     * hand; a date past 9999 is written as all zeros, time included */
    if (!w->time_valid || w->time_last != t) {
        int64_t day = t / 86400;
        unsigned rem = (unsigned)(t % 86400);
        if (!w->time_valid || w->time_last / 86400 != day) {
            dp_format_time(day * 86400, b);
            memcpy(w->time_text, b, 19);
        }
        if (memcmp(w->time_text, "0000-00-00", 10) != 0) {
            csvw__two(w->time_text + 11, rem / 3600);
            csvw__two(w->time_text + 14, rem / 60 % 60);
            csvw__two(w->time_text + 17, rem % 60);
        }
        w->time_last = t;
        w->time_valid = true;
    }
    /* digits, '-', ':' and one inner space: written as it is */
    char *d = csvw__open(w, 19);
    if (d == NULL)
        return;
    memcpy(d, w->time_text, 19);
    csvw__close(w, d, 19);
}

void csvw_bool(struct csvw *w, bool b)
{
    char *d = csvw__open(w, 3);
    if (d == NULL)
        return;
    memcpy(d, b ? "yes" : "no", 3); /* "no" and its NUL: past the field, room to spare */
    csvw__close(w, d, b ? 3 : 2);
}

/* The rows in w's buffer to its file, but for the last len % 8 bytes (so
 * that the hash goes on 8 bytes at a step, as over the whole file at once);
 * a failed write is w's sticky error. */
__attribute__((noinline)) static void csvw__spill(struct csvw *w)
{
    struct rep__csvw_file *f = w->file;
    size_t n = w->len & ~(size_t)7;
    if (f->hashed)
        f->hash = rep__hash(f->hash, w->buf, n);
    if (datadir_new_write(f->dd, f->name, &f->out, w->buf, n, f->err, f->errlen) != 0) {
        w->err = DP_EIO;
        return;
    }
    /* to the disk while the next piece is made: the commit's fsync then
     * waits for the last piece only */
    dp_start_writeback(f->out.fd, f->out.size - n, n);
    memmove(w->buf, w->buf + n, w->len - n);
    w->len -= n;
}

void csvw_end(struct csvw *w)
{
    if (!reserve(w, 2))
        return;
    w->buf[w->len++] = '\r';
    w->buf[w->len++] = '\n';
    w->row_open = false;
    if (w->file != NULL && w->len >= rep__csvw_piece)
        csvw__spill(w);
}

void csvw_raw(struct csvw *w, const char *s, size_t len)
{
    if (!reserve(w, len + 1))
        return;
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

/* ---- reading ---- */

void csvr_init(struct csvr *r)
{
    memset(r, 0, sizeof *r);
}

void csvr_deinit(struct csvr *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Whether n bytes are all printable ASCII (0x20..0x7e). */
static bool csv__printable(const char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
    __m128i bad = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* signed: 0x80..0xff are below 0x20 too */
        bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)));
    }
    if (_mm_movemask_epi8(bad) != 0)
        return false;
#endif
    for (; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* Field n of a plain line: s, l bytes, NUL-terminated in r->buf; one
 * leading ' taken back (see csvr_split). */
static inline void csvr__plain_field(struct csvr *r, size_t n, const char *s, size_t l)
{
    bool q = l > 0 && s[0] == '\'';
    r->f[n] = s + q;
    r->len[n] = l - q;
}

/* Splits a plain line, one with no quote and only printable ASCII, at its
 * commas, 16 bytes at a time (SSE2, which every x86-64 has; elsewhere the
 * general loop reads every line): the fields csvr_split's general loop
 * would give, in r->buf at the offsets of the line's bytes, each comma
 * turned into a NUL. -1 for a line that is not plain or has more than
 * CSVR_MAX_FIELDS fields: the general loop judges it. */
static int csvr__split_plain(struct csvr *r, const char *line, size_t len)
{
#if defined(__SSE2__)
    /* room: r->cap >= len + CSVR_MAX_FIELDS + 1 (csvr_split) */
    _Static_assert(CSVR_MAX_FIELDS + 1 >= 16, "room for the last 16 bytes");
    char *b = r->buf;
    size_t n = 0, start = 0;
    memcpy(b, line, len);
    memset(b + len, ' ', 16); /* past the end: plain bytes, no comma */
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
    const __m128i tick = _mm_set1_epi8('\'');
    __m128i bad = _mm_setzero_si128(), ticks = _mm_setzero_si128();
    for (size_t i = 0; i < len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        /* below 0x20 or above 0x7e (signed: 0x80..0xff are below 0), or a
         * quote: tested once at the end */
        bad = _mm_or_si128(
            bad, _mm_or_si128(_mm_cmplt_epi8(v, space),
                              _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, quote))));
        ticks = _mm_or_si128(ticks, _mm_cmpeq_epi8(v, tick));
        unsigned z = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma));
        for (; z != 0; z &= z - 1) {
            size_t at = i + (size_t)__builtin_ctz(z);
            if (n == CSVR_MAX_FIELDS - 1)
                return -1; /* this field and one more: too many */
            b[at] = '\0';
            r->f[n] = b + start;
            r->len[n++] = at - start;
            start = at + 1;
        }
    }
    if (_mm_movemask_epi8(bad) != 0)
        return -1;
    b[len] = '\0';
    r->f[n] = b + start;
    r->len[n++] = len - start;
    r->n = n;
    if (_mm_movemask_epi8(ticks) != 0) /* some ' in the line: a field may start with one */
        for (size_t k = 0; k < n; k++)
            csvr__plain_field(r, k, r->f[k], r->len[k]);
    return (int)n;
#else
    (void)r;
    (void)line;
    (void)len;
    return -1;
#endif
}

int csvr_split(struct csvr *r, const char *line, size_t len, const char **why)
{
    *why = NULL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (r->cap < len + CSVR_MAX_FIELDS + 1) {
        size_t cap = len + CSVR_MAX_FIELDS + 256;
        char *b = realloc(r->buf, cap);
        if (b == NULL) {
            *why = "out of memory";
            return DP_ENOMEM;
        }
        r->buf = b;
        r->cap = cap;
    }
    int plain = csvr__split_plain(r, line, len);
    if (plain >= 0)
        return plain;
    char *o = r->buf;
    size_t i = 0;
    r->n = 0;
    for (;;) {
        if (r->n == CSVR_MAX_FIELDS) {
            *why = "too many fields";
            return DP_EINPUT;
        }
        char *start = o;
        if (i < len && line[i] == '"') {
            i++;
            for (;;) {
                /* up to the next quote at once: a doubled one is one quote
                 * of the text, a single one ends the field */
                const char *q = memchr(line + i, '"', len - i);
                size_t span = q != NULL ? (size_t)(q - (line + i)) : len - i;
                if (!csv__printable(line + i, span)) {
                    *why = "a byte that is not printable ASCII";
                    return DP_EINPUT;
                }
                if (q == NULL) {
                    *why = "unterminated quoted field";
                    return DP_EINPUT;
                }
                memcpy(o, line + i, span);
                o += span;
                i += span + 1;
                if (i < len && line[i] == '"') {
                    *o++ = '"';
                    i++;
                    continue;
                }
                break;
            }
            if (i < len && line[i] != ',') {
                *why = "text after a closing quote";
                return DP_EINPUT;
            }
        } else {
            /* whole 8-byte words with no comma, quote, control byte or byte
             * above 0x7e are copied at once; the bytewise loop below judges
             * the rest (and names the first bad byte) */
            while (i + 8 <= len) {
                uint64_t v;
                memcpy(&v, line + i, 8);
                uint64_t sp = csv__word_special(v);
                if (sp != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                    /* the lowest flagged byte is a true one (a false flag
                     * only follows a true one): when it is the comma, the
                     * field ends there */
                    size_t k = (size_t)__builtin_ctzll(sp) / 8;
                    if (line[i + k] == ',') {
                        memcpy(o, &v, 8); /* room: o + 8 <= buf + i + n + 8 <= cap */
                        o += k;
                        i += k;
                    }
#endif
                    break;
                }
                memcpy(o, &v, 8);
                o += 8;
                i += 8;
            }
            while (i < len && line[i] != ',') {
                unsigned char c = (unsigned char)line[i++];
                if (c < 0x20 || c > 0x7e) {
                    *why = "a byte that is not printable ASCII";
                    return DP_EINPUT;
                }
                if (c == '"') {
                    *why = "a quote inside an unquoted field";
                    return DP_EINPUT;
                }
                *o++ = (char)c;
            }
        }
        *o = '\0';
        /* the writer added exactly one ' to any field starting with one of
         * = + - @ TAB CR ' : take it back */
        if (start[0] == '\'') {
            r->f[r->n] = start + 1;
            r->len[r->n] = (size_t)(o - start) - 1;
        } else {
            r->f[r->n] = start;
            r->len[r->n] = (size_t)(o - start);
        }
        r->n++;
        o++;
        if (i >= len)
            break;
        i++; /* the comma */
        if (i == len) {
            /* a trailing comma: one more, empty field */
            if (r->n == CSVR_MAX_FIELDS) {
                *why = "too many fields";
                return DP_EINPUT;
            }
            *o = '\0';
            r->f[r->n] = o;
            r->len[r->n] = 0;
            r->n++;
            break;
        }
    }
    return (int)r->n;
}

/* ---- a whole file written out ---- */

void rep__csvw_seal(struct csvw *w, uint64_t hash)
{
    csvw_str(w, "end");
    csvw_uint(w, hash);
    csvw_end(w);
}

int rep__csvw_to_file(struct csvw *w, const struct datadir *dd, const char *name, bool hashed,
                      char *err, size_t errlen)
{
    struct rep__csvw_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return DP_ENOMEM;
    int rc = datadir_new_open(dd, name, &f->out, err, errlen);
    if (rc != 0) {
        free(f);
        return rc;
    }
    f->dd = dd;
    f->name = name;
    f->hashed = hashed;
    f->hash = REP__HASH_INIT;
    f->err = err;
    f->errlen = errlen;
    w->file = f;
    return 0;
}

uint64_t rep__csvw_hash(const struct csvw *w)
{
    return rep__hash(w->file != NULL ? w->file->hash : REP__HASH_INIT, w->buf, w->len);
}

int rep__csvw_replace(const struct datadir *dd, const char *name, struct csvw *w, char *err,
                      size_t errlen)
{
    int rc = csvw_error(w);
    if (rc != 0 || w->file == NULL)
        return rc != 0 ? rc : datadir_replace(dd, name, -1, 0, w->buf, w->len, err, errlen);
    struct rep__csvw_file *f = w->file;
    rc = datadir_new_write(dd, name, &f->out, w->buf, w->len, err, errlen);
    if (rc == 0)
        rc = datadir_new_commit(dd, name, &f->out, err, errlen);
    return rc;
}
