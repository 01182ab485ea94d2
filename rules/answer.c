/*
 * Normalized answers: the text of the `answer` and `expected` columns.
 *
 * An RRset is written as the presentation form of each record's RDATA (owner,
 * TTL, class and type left out: they are in other columns), domain names in
 * the RDATA lower-cased, the records sorted bytewise with duplicates removed,
 * joined by " | ". Two RRsets are equal as sets exactly when their normalized
 * texts are equal, which is what convergence compares. ldns prints bytes that
 * are not printable ASCII as \DDD, so the text is always ASCII.
 */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

/* The texts of an RRset's records while answer_from_rrs() builds them: each
 * record's text NUL-terminated, one after the other, in `local` until they
 * outgrow it, then in a malloc'd block. One reply's answer fits in local, so
 * normalizing costs the one malloc of the text handed back. */
struct rtext {
    char *s; /* local, or malloc'd */
    size_t len, cap;
    bool failed;      /* out of memory, or a record that cannot be written */
    char local[2048]; /* a name's room (rt_put_dname) and the rest of a record or two */
};

static void rt_init(struct rtext *t)
{
    t->s = t->local;
    t->len = 0;
    t->cap = sizeof t->local;
    t->failed = false;
}

static void rt_deinit(struct rtext *t)
{
    if (t->s != t->local)
        free(t->s);
}

/* Room for `more` bytes at t->s + t->len; false (t->failed set) when out of
 * memory. */
static bool rt_reserve(struct rtext *t, size_t more)
{
    if (t->failed)
        return false;
    if (t->cap - t->len >= more)
        return true;
    size_t cap = t->cap;
    while (cap - t->len < more)
        cap *= 2;
    char *p = t->s == t->local ? malloc(cap) : realloc(t->s, cap);
    if (p == NULL) {
        t->failed = true;
        return false;
    }
    if (t->s == t->local)
        memcpy(p, t->local, t->len);
    t->s = p;
    t->cap = cap;
    return true;
}

/* Byte c as \DDD (RFC 1035 section 5.1, decimal) at buf + o; returns the
 * offset after it. */
static size_t put_ddd(char *buf, size_t o, unsigned char c)
{
    buf[o++] = '\\';
    buf[o++] = (char)('0' + c / 100);
    buf[o++] = (char)('0' + c / 10 % 10);
    buf[o++] = (char)('0' + c % 10);
    return o;
}

/* ldns writes a TAB inside a character-string as it is (only other control
 * bytes become \DDD). The CSV writer turns it into \009, so a text read back
 * from observations.csv would differ from the one judged in memory (and TAB
 * is no printable ASCII). Every byte outside 0x20..0x7e is escaped the same
 * way here, so the normalized text is printable and equal on both sides. */
static void rt_put_escaped(struct rtext *t, const char *s, size_t len)
{
    if (!rt_reserve(t, 4 * len))
        return;
    char *e = t->s + t->len;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e) {
            o = put_ddd(e, o, c);
        } else {
            e[o++] = (char)c;
        }
    }
    t->len += o;
}

/* A domain name in presentation form, lower-cased: the text
 * ldns_rdf2buffer_str() writes for it (tests/unit/test_answer.c compares
 * the two over every byte value), without its printf per character, which
 * was most of the time spent judging a reply. Letters are never escaped in
 * names, so lower-casing the text is lower-casing the name. */
static void rt_put_dname(struct rtext *t, const ldns_rdf *d)
{
    const uint8_t *w = ldns_rdf_data(d);
    size_t n = ldns_rdf_size(d);
    const size_t room = 4 * LDNS_MAX_DOMAINLEN + 2; /* \DDD per byte at most */
    if (n > LDNS_MAX_DOMAINLEN) {
        t->failed = true;
        return;
    }
    if (!rt_reserve(t, room))
        return;
    char *text = t->s + t->len;
    size_t o = 0;
    if (n == 1) {
        text[o++] = '.';
    } else {
        size_t i = 0;
        while (i < n && w[i] > 0) {
            size_t end = i + 1 + w[i];
            for (i++; i < end; i++) {
                uint8_t c = i < n ? w[i] : 0;
                if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
                    text[o++] = '\\';
                    text[o++] = (char)c;
                } else if (c <= 0x20 || c >= 0x7f) {
                    o = put_ddd(text, o, c);
                } else {
                    text[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
                }
                if (o > room - 5) {
                    t->failed = true; /* labels past the end */
                    return;
                }
            }
            if (i < n)
                text[o++] = '.';
        }
    }
    t->len += o;
}

/* v in decimal, as printf's "%u" writes it, at p (room for 10 bytes);
 * returns the bytes written. */
static size_t put_decimal(char *p, uint32_t v)
{
    char d[10];
    size_t n = 0, o = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        p[o++] = d[--n];
    return o;
}

static void rt_put_uint(struct rtext *t, uint32_t v)
{
    if (rt_reserve(t, 10))
        t->len += put_decimal(t->s + t->len, v);
}

/* An IPv4 address as inet_ntop() writes it. */
static void rt_put_ipv4(struct rtext *t, const uint8_t *a)
{
    if (!rt_reserve(t, sizeof "255.255.255.255"))
        return;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            t->s[t->len++] = '.';
        t->len += put_decimal(t->s + t->len, a[i]);
    }
}

/* An IPv6 address as glibc's inet_ntop() writes it (the text ldns prints):
 * 16-bit groups in lower-case hex without leading zeros, the longest run of
 * two or more zero groups (the first of equal runs) written "::", and the
 * last 32 bits as an IPv4 address after six zero groups or after five zero
 * groups and ffff. tests/unit/test_answer.c compares it with inet_ntop(). */
static void rt_put_ipv6(struct rtext *t, const uint8_t *a)
{
    static const char hex[] = "0123456789abcdef";
    unsigned words[8];
    int best = -1, bestlen = 0, cur = -1, curlen = 0;
    for (int i = 0; i < 8; i++) {
        words[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (words[i] == 0) {
            if (cur < 0)
                cur = i, curlen = 0;
            if (++curlen > bestlen)
                best = cur, bestlen = curlen;
        } else {
            cur = -1;
        }
    }
    if (bestlen < 2)
        best = -1;
    if (!rt_reserve(t, sizeof "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"))
        return;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + bestlen) {
            if (i == best)
                t->s[t->len++] = ':';
            continue;
        }
        if (i > 0)
            t->s[t->len++] = ':';
        if (i == 6 && best == 0 && (bestlen == 6 || (bestlen == 5 && words[5] == 0xffff))) {
            rt_put_ipv4(t, a + 12);
            return;
        }
        bool digits = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned x = words[i] >> shift & 0xf;
            if (x != 0 || digits || shift == 0) {
                t->s[t->len++] = hex[x];
                digits = true;
            }
        }
    }
    if (best >= 0 && best + bestlen == 8)
        t->s[t->len++] = ':';
}

/* One RDATA field as ldns_rdf2buffer_str() writes it (names lower-cased):
 * names, addresses and 16- and 32-bit numbers written here, every other
 * field by ldns into *lb (made on first use, the caller frees it). */
static void rt_put_rdf(struct rtext *t, const ldns_rdf *rdf, ldns_buffer **lb)
{
    const uint8_t *d = ldns_rdf_data(rdf);
    size_t n = ldns_rdf_size(rdf);
    switch (ldns_rdf_get_type(rdf)) {
    case LDNS_RDF_TYPE_DNAME:
        rt_put_dname(t, rdf);
        return;
    case LDNS_RDF_TYPE_A:
        if (n == 4) {
            rt_put_ipv4(t, d);
            return;
        }
        break;
    case LDNS_RDF_TYPE_AAAA:
        if (n == 16) {
            rt_put_ipv6(t, d);
            return;
        }
        break;
    case LDNS_RDF_TYPE_INT16:
        if (n == 2) {
            rt_put_uint(t, (uint32_t)d[0] << 8 | d[1]);
            return;
        }
        break;
    case LDNS_RDF_TYPE_INT32:
    case LDNS_RDF_TYPE_PERIOD:
        if (n == 4) {
            rt_put_uint(t,
                        (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
            return;
        }
        break;
    default:
        break;
    }
    if (*lb == NULL && (*lb = ldns_buffer_new(256)) == NULL) {
        t->failed = true;
        return;
    }
    ldns_buffer_clear(*lb);
    if (ldns_rdf2buffer_str(*lb, rdf) != LDNS_STATUS_OK) {
        t->failed = true;
        return;
    }
    rt_put_escaped(t, (const char *)ldns_buffer_begin(*lb), ldns_buffer_position(*lb));
}

/* The RDATA of one record in presentation form, names lower-cased, then a
 * NUL, appended to t. */
static void rt_put_rr(struct rtext *t, const ldns_rr *rr, ldns_buffer **lb)
{
    for (size_t i = 0; i < ldns_rr_rd_count(rr) && !t->failed; i++) {
        const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
        if (rdf == NULL) {
            t->failed = true;
            break;
        }
        if (i > 0 && rt_reserve(t, 1))
            t->s[t->len++] = ' ';
        rt_put_rdf(t, rdf, lb);
    }
    if (rt_reserve(t, 1))
        t->s[t->len++] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int answer_from_rrs(ldns_rr *const *rrs, size_t n, char **out)
{
    int rc = DP_ENOMEM;
    struct rtext t;
    ldns_buffer *lb = NULL;
    /* each record's offset in t while it grows, then its text */
    size_t few_at[16];
    const char *few_rec[16];
    bool small = n <= sizeof few_at / sizeof few_at[0];
    size_t *at = small ? few_at : calloc(n, sizeof *at);
    const char **rec = small ? few_rec : calloc(n, sizeof *rec);
    *out = NULL;
    rt_init(&t);
    if (at == NULL || rec == NULL)
        goto out;
    for (size_t i = 0; i < n && !t.failed; i++) {
        at[i] = t.len;
        rt_put_rr(&t, rrs[i], &lb);
    }
    if (t.failed)
        goto out;
    for (size_t i = 0; i < n; i++)
        rec[i] = t.s + at[i];
    if (n > 1)
        qsort(rec, n, sizeof *rec, cmp_str);
    /* t.len counts a NUL per record: room for the separators but one */
    char *s = malloc(t.len + (n > 1 ? (n - 1) * ANSWER_TEXT_SEPLEN : 0) + 1);
    if (s == NULL)
        goto out;
    size_t o = 0;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(rec[i], rec[i - 1]) == 0)
            continue; /* a set: duplicates count once */
        o = answer_text_put(s, o, rec[i], strlen(rec[i]));
    }
    *out = s;
    rc = 0;
out:
    if (!small) {
        free(at);
        free(rec);
    }
    if (lb != NULL)
        ldns_buffer_free(lb);
    rt_deinit(&t);
    return rc;
}

const char *answer_type_name(uint16_t t, char *buf, size_t len)
{
    const ldns_rr_descriptor *desc = ldns_rr_descript(t);
    if (desc != NULL && desc->_name != NULL)
        snprintf(buf, len, "%s", desc->_name);
    else
        snprintf(buf, len, "TYPE%u", (unsigned)t);
    return buf;
}

int answer_from_text(uint16_t qtype, const char *text, char **out, const char **why)
{
    int rc = DP_EINPUT;
    size_t cap = 8, n = 0;
    ldns_rr **rrs = calloc(cap, sizeof(ldns_rr *));
    char *typestr = ldns_rr_type2str((ldns_rr_type)qtype);
    ldns_rdf *root = ldns_dname_new_frm_str(".");
    struct answer_text it;
    struct answer_rec rec;
    *out = NULL;
    *why = "out of memory";
    if (rrs == NULL || typestr == NULL || root == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    text = text ? text : "";
    answer_text_init(&it, text, strlen(text), 0);
    int got = answer_text_next(&it, &rec);
    if (got == 0)
        *why = "empty record"; /* the empty text: --expect needs a value */
    for (; got == 1; got = answer_text_next(&it, &rec)) {
        const char *p = rec.s;
        size_t len = rec.len;
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            *why = "empty record";
            goto out;
        }
        if (len > 65535) {
            *why = "record too long";
            goto out;
        }
        size_t linelen = len + strlen(typestr) + 32;
        char *line = malloc(linelen);
        if (line == NULL) {
            rc = DP_ENOMEM;
            goto out;
        }
        /* a fixed owner and TTL: only the RDATA matters */
        snprintf(line, linelen, "x. 0 IN %s %.*s", typestr, (int)len, p);
        ldns_rr *rr = NULL;
        /* origin "." makes "mail.example.com" and "mail.example.com." the same */
        ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, root, NULL);
        free(line);
        if (st != LDNS_STATUS_OK || rr == NULL) {
            *why = ldns_get_errorstr_by_id(st);
            if (*why == NULL)
                *why = "does not parse";
            goto out;
        }
        if (n == cap) {
            ldns_rr **bigger = realloc(rrs, 2 * cap * sizeof(ldns_rr *));
            if (bigger == NULL) {
                ldns_rr_free(rr);
                rc = DP_ENOMEM;
                goto out;
            }
            rrs = bigger;
            cap *= 2;
        }
        rrs[n++] = rr;
    }
    if (n == 0)
        goto out;
    rc = answer_from_rrs(rrs, n, out);
    if (rc != 0)
        *why = "out of memory";
out:
    for (size_t i = 0; i < n; i++)
        ldns_rr_free(rrs[i]);
    free(rrs);
    LDNS_FREE(typestr);
    ldns_rdf_deep_free(root);
    return rc;
}

/* ---- answer texts as records ---- */

void answer_text_init(struct answer_text *it, const char *text, size_t len, unsigned flags)
{
    it->p = text;
    it->end = text ? text + len : NULL;
    it->flags = flags;
    it->done = text == NULL || len == 0;
}

/* The first " | " at or after p, or end: memchr finds the bar quickly, which
 * is what the reports spend their time on with millions of answers. */
static const char *plain_sep(const char *p, const char *end)
{
    if (end - p < ANSWER_TEXT_SEPLEN)
        return end;
    const char *q = p + 1; /* a separator's bar has a space before it */
    while (q + 1 < end && (q = memchr(q, '|', (size_t)(end - q - 1))) != NULL) {
        if (q[-1] == ' ' && q[1] == ' ')
            return q - 1;
        q++;
    }
    return end;
}

int answer_text_next(struct answer_text *it, struct answer_rec *rec)
{
    const char *start = it->p, *end = it->end, *p = start;
    bool quoted = false, bar = (it->flags & ANSWER_TEXT_BAR) != 0;
    size_t seplen = bar ? 1 : ANSWER_TEXT_SEPLEN;

    if (it->done)
        return 0;
    if (!(it->flags & (ANSWER_TEXT_STRINGS | ANSWER_TEXT_BAR))) {
        p = plain_sep(start, end);
    } else {
        while (p < end) {
            if (!quoted &&
                (bar ? *p == '|' : end - p >= 3 && p[0] == ' ' && p[1] == '|' && p[2] == ' '))
                break;
            if (*p == '\\') {
                if (p + 1 == end) {
                    if (!bar)
                        goto bad; /* nothing left to escape */
                } else {
                    p++;
                }
            } else if (*p == '"') {
                quoted = !quoted;
            }
            p++;
        }
        if (quoted || (!bar && p == start))
            goto bad;
    }
    rec->s = start;
    rec->len = (size_t)(p - start);
    if (p == end)
        it->done = true;
    else
        it->p = p + seplen;
    return 1;
bad:
    it->done = true;
    return DP_EINPUT;
}

int answer_text_count(const char *text, unsigned flags, size_t *n)
{
    struct answer_text it;
    struct answer_rec rec;
    int got;
    *n = 0;
    answer_text_init(&it, text, text ? strlen(text) : 0, flags);
    while ((got = answer_text_next(&it, &rec)) == 1)
        (*n)++;
    if (got < 0)
        *n = 0;
    return got;
}

size_t answer_text_put(char *dst, size_t at, const char *rec, size_t len)
{
    if (at > 0) {
        memcpy(dst + at, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
        at += ANSWER_TEXT_SEPLEN;
    }
    memcpy(dst + at, rec, len);
    dst[at + len] = '\0';
    return at + len;
}

struct answer_rec answer_mx_host(const struct answer_rec *rec)
{
    const char *sp = memchr(rec->s, ' ', rec->len);
    struct answer_rec host = {rec->s, rec->len};
    if (sp != NULL) {
        host.s = sp + 1;
        host.len = rec->len - (size_t)(host.s - rec->s);
    }
    return host;
}

int answer_mx_read(const struct answer_rec *rec, uint16_t *preference, struct answer_rec *host)
{
    struct answer_rec h = answer_mx_host(rec);
    size_t j = h.s == rec->s ? 0 : (size_t)(h.s - rec->s) - 1; /* digits before the space */
    uint64_t pref;
    char num[8];
    if (j == 0 || j >= sizeof num || h.len == 0)
        return DP_EINPUT;
    for (size_t i = 0; i < j; i++)
        if (rec->s[i] < '0' || rec->s[i] > '9')
            return DP_EINPUT;
    memcpy(num, rec->s, j);
    num[j] = '\0';
    if (dp_parse_uint(num, 0, 65535, &pref) != 0)
        return DP_EINPUT;
    if (h.len >= DNSNAME_BUFLEN || memchr(h.s, ' ', h.len) != NULL)
        return DP_EINPUT;
    *host = h;
    *preference = (uint16_t)pref;
    return 0;
}
