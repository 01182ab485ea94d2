/*
 * Project-wide helpers: error texts, duration and time parsing, UTC
 * formatting. Everything here is pure and bounded: it parses text typed by
 * users and read from files, so every number is range-checked before use.
 */
#include "dnsprop.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uv.h>

const char *dp_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case DP_EINPUT:
        return "bad input";
    case DP_ENOMEM:
        return "out of memory";
    case DP_EIO:
        return "input/output error";
    case DP_ELOCK:
        return "data folder is locked by another run";
    case DP_EDAMAGED:
        return "file is damaged";
    case DP_EFORMAT:
        return "file has another format";
    case DP_EMALFORMED:
        return "malformed DNS message";
    case DP_EINTERNAL:
        return "internal error";
    case DP_EUNSAFE:
        return "unsafe data folder or file";
    default:
        if (err < 0 && err > -4096)
            return uv_strerror(err);
        return "unknown error";
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int dp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || !is_digit(*s))
        return DP_EINPUT;
    uint64_t v = 0;
    for (; *s; s++) {
        if (!is_digit(*s))
            return DP_EINPUT;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return DP_EINPUT;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return DP_EINPUT;
    *out = v;
    return 0;
}

#define MS_PER_DAY      (86400ULL * 1000ULL)
#define MAX_DURATION_MS (3650ULL * MS_PER_DAY)

int dp_parse_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {
        {"d", MS_PER_DAY}, {"h", 3600000ULL}, {"m", 60000ULL}, {"s", 1000ULL}, {"ms", 1ULL},
    };
    if (s == NULL || *s == '\0')
        return DP_EINPUT;
    uint64_t total = 0;
    size_t last_unit = 0; /* units must come in decreasing order, each once */
    bool any = false;
    while (*s) {
        if (!is_digit(*s))
            return DP_EINPUT;
        uint64_t n = 0;
        while (is_digit(*s)) {
            unsigned d = (unsigned)(*s++ - '0');
            if (n > (MAX_DURATION_MS - d) / 10)
                return DP_EINPUT; /* far too large whatever the unit */
            n = n * 10 + d;
        }
        size_t u;
        size_t ulen = 0;
        for (u = 0; u < sizeof units / sizeof units[0]; u++) {
            ulen = strlen(units[u].name);
            /* "m" must not swallow the "m" of "ms" */
            if (strncmp(s, units[u].name, ulen) == 0 && !(u == 2 && s[1] == 's'))
                break;
        }
        if (u == sizeof units / sizeof units[0])
            return DP_EINPUT;
        if (any && u <= last_unit)
            return DP_EINPUT;
        if (n > MAX_DURATION_MS / units[u].ms)
            return DP_EINPUT;
        total += n * units[u].ms;
        if (total > MAX_DURATION_MS)
            return DP_EINPUT;
        last_unit = u;
        any = true;
        s += ulen;
    }
    if (total == 0)
        return DP_EINPUT;
    *ms = total;
    return 0;
}

int64_t dp_timegm(int year, int mon, int day, int hour, int min, int sec)
{
    /* days from civil (proleptic Gregorian), after the well-known algorithm
     * with the year starting in March */
    int64_t y = (int64_t)year - (mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (mon + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

static int days_in_month(int year, int mon)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return dim[mon - 1];
}

/* Reads exactly n digits at *p into *v and advances. */
static bool take_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

int dp_parse_time(const char *s, int64_t now, int64_t *t)
{
    if (s == NULL)
        return DP_EINPUT;
    if (strcmp(s, "now") == 0) {
        *t = now;
        return 0;
    }
    const char *p = s;
    int Y, M, D, h, m, sec = 0;
    if (!take_digits(&p, 4, &Y) || !take_char(&p, '-') || !take_digits(&p, 2, &M) ||
        !take_char(&p, '-') || !take_digits(&p, 2, &D))
        return DP_EINPUT;
    bool iso = false;
    if (*p == 'T') {
        iso = true;
        p++;
    } else if (!take_char(&p, ' ')) {
        return DP_EINPUT;
    }
    if (!take_digits(&p, 2, &h) || !take_char(&p, ':') || !take_digits(&p, 2, &m))
        return DP_EINPUT;
    if (*p == ':') {
        p++;
        if (!take_digits(&p, 2, &sec))
            return DP_EINPUT;
        if (iso && (*p == '.' || *p == ',')) {
            p++;
            if (!is_digit(*p))
                return DP_EINPUT;
            while (is_digit(*p))
                p++; /* fractions of a second are dropped */
        }
    }
    int offset = 0; /* seconds east of UTC */
    if (iso && *p != '\0') {
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '+' ? 1 : -1;
            int oh, om = 0;
            p++;
            if (!take_digits(&p, 2, &oh))
                return DP_EINPUT;
            if (*p == ':')
                p++;
            if (*p != '\0' && !take_digits(&p, 2, &om))
                return DP_EINPUT;
            if (oh > 23 || om > 59)
                return DP_EINPUT;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            return DP_EINPUT;
        }
    }
    if (*p != '\0')
        return DP_EINPUT;
    if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 ||
        m > 59 || sec > 60)
        return DP_EINPUT;
    if (sec == 60)
        sec = 59; /* a leap second is taken as the second before it */
    *t = dp_timegm(Y, M, D, h, m, sec) - offset;
    return 0;
}

int dp_parse_time_exact(const char *s, size_t len, int64_t *t)
{
    if (len != 19)
        return DP_EINPUT;
    char buf[20];
    memcpy(buf, s, 19);
    buf[19] = '\0';
    /* exactly: seconds present, and no NUL that would end the text early
     * ("2026-11-29 00:00\0\0\0" must not read as "2026-11-29 00:00") */
    if (buf[10] != ' ' || buf[16] != ':' || strlen(buf) != 19)
        return DP_EINPUT;
    return dp_parse_time(buf, 0, t) == 0 && strcmp(buf, "now") != 0 ? 0 : DP_EINPUT;
}

char *dp_format_time(int64_t t, char *buf)
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t rem = t - days * 86400;
    /* civil from days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t mo = mp < 10 ? mp + 3 : mp - 9;
    y += mo <= 2;
    if (y < 0 || y > 9999) {
        snprintf(buf, DP_TIME_BUFLEN, "0000-00-00 00:00:00");
        return buf;
    }
    /* the modulos tell the compiler each field's width; the values are in range */
    snprintf(buf, DP_TIME_BUFLEN, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)y % 10000u,
             (unsigned)mo % 100u, (unsigned)d % 100u, (unsigned)(rem / 3600) % 100u,
             (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
    return buf;
}

int64_t dp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t dp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *dp_escape(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t o = 0;
    if (buflen == 0)
        return buf;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[5];
        size_t n;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            tmp[0] = (char)c;
            n = 1;
        } else {
            snprintf(tmp, sizeof tmp, "\\%03u", c);
            n = 4;
        }
        if (o + n + 1 > buflen)
            break;
        memcpy(buf + o, tmp, n);
        o += n;
    }
    buf[o] = '\0';
    return buf;
}

void dp_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool dp_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0 &&
               x->sin6_scope_id == y->sin6_scope_id;
    }
    return false;
}
