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
#include "reports.h"

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

void csvw_deinit(struct csvw *w)
{
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

static bool needs_prefix(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r' || c == '\'';
}

/* Whether the len bytes of s can be written as they are: printable ASCII
 * without a comma or a quote, not starting with a byte that takes the
 * formula prefix, not starting or ending with a space. Eight bytes at a
 * time (a word with none of those bytes is plain; csv__word_special never
 * misses one), the rest bytewise. */
static inline bool csvw__plain(const char *s, size_t len)
{
    if (needs_prefix(s[0]) || s[0] == ' ' || s[len - 1] == ' ')
        return false;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        if (csv__word_special(v) != 0)
            return false;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '"')
            return false;
    }
    return true;
}

/* Appends len bytes that need neither escaping nor quoting, as one field. */
static inline void csvw__put_plain(struct csvw *w, const char *s, size_t len)
{
    if (!reserve(w, len + 1))
        return;
    if (w->row_open)
        w->buf[w->len++] = ',';
    w->row_open = true;
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

void csvw_field(struct csvw *w, const char *s, size_t len)
{
    if (s == NULL)
        len = 0;
    /* most fields: plain text, copied as it is */
    if (len > 0 && len <= SIZE_MAX / 2 && csvw__plain(s, len)) {
        csvw__put_plain(w, s, len);
        return;
    }
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

void csvw_str(struct csvw *w, const char *s)
{
    csvw_field(w, s, s ? strlen(s) : 0);
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
    /* digits by hand: printf is most of the cost of writing the reports;
     * most numbers written are one or two digits, straight to the buffer */
    if (v < 100) {
        if (v < 10) {
            char c = (char)('0' + v);
            csvw__put_plain(w, &c, 1);
        } else {
            csvw__put_plain(w, csvw__pairs + 2 * v, 2);
        }
        return;
    }
    char b[24];
    size_t i = sizeof b;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(b + i, csvw__pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(b + i, csvw__pairs + 2 * v, 2);
    } else {
        b[--i] = (char)('0' + v);
    }
    csvw__put_plain(w, b + i, sizeof b - i); /* digits: nothing to quote or prefix */
}

void csvw_opt(struct csvw *w, int64_t v)
{
    if (v < 0)
        csvw_field(w, NULL, 0);
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
        csvw_field(w, NULL, 0);
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
    csvw__put_plain(w, w->time_text, 19);
}

void csvw_bool(struct csvw *w, bool b)
{
    csvw__put_plain(w, b ? "yes" : "no", b ? 3 : 2);
}

void csvw_end(struct csvw *w)
{
    if (!reserve(w, 2))
        return;
    w->buf[w->len++] = '\r';
    w->buf[w->len++] = '\n';
    w->row_open = false;
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
