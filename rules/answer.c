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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
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
 * is no printable ASCII). Escape every byte outside 0x20..0x7e the same way
 * here, so the normalized text is printable and equal on both sides. Takes
 * ownership of s (frees it when it returns a new string); NULL in, NULL out. */
static char *escape_controls(char *s)
{
    size_t extra = 0, len;
    if (s == NULL)
        return NULL;
    for (len = 0; s[len] != '\0'; len++)
        if ((unsigned char)s[len] < 0x20 || (unsigned char)s[len] > 0x7e)
            extra += 3;
    if (extra == 0)
        return s;
    char *e = malloc(len + extra + 1);
    if (e != NULL) {
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c > 0x7e)
                o = put_ddd(e, o, c);
            else
                e[o++] = (char)c;
        }
        e[o] = '\0';
    }
    free(s);
    return e;
}

/* A domain name in presentation form, appended to buf: the text
 * ldns_rdf2buffer_str() writes for it (tests/unit/test_answer.c compares
 * the two over every byte value), without its printf per character, which
 * was most of the time spent judging a reply. Returns the buffer's status. */
static ldns_status dname_text(ldns_buffer *buf, const ldns_rdf *d)
{
    const uint8_t *w = ldns_rdf_data(d);
    size_t n = ldns_rdf_size(d);
    char text[4 * LDNS_MAX_DOMAINLEN + 2]; /* \DDD per byte at most */
    size_t o = 0;
    if (n > LDNS_MAX_DOMAINLEN)
        return LDNS_STATUS_DOMAINNAME_OVERFLOW;
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
                    text[o++] = (char)c;
                }
                if (o > sizeof text - 5)
                    return LDNS_STATUS_DOMAINNAME_OVERFLOW; /* labels past the end */
            }
            if (i < n)
                text[o++] = '.';
        }
    }
    if (!ldns_buffer_reserve(buf, o))
        return LDNS_STATUS_MEM_ERR;
    ldns_buffer_write(buf, text, o);
    return ldns_buffer_status(buf);
}

/* The RDATA of one record in presentation form, names lower-cased; malloc'd. */
static char *rdata_text(const ldns_rr *rr)
{
    ldns_buffer *buf = ldns_buffer_new(256);
    char *out = NULL;
    if (buf == NULL)
        return NULL;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
        if (i > 0)
            ldns_buffer_printf(buf, " ");
        size_t start = ldns_buffer_position(buf);
        if (rdf == NULL)
            goto out;
        if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME
                ? dname_text(buf, rdf) != LDNS_STATUS_OK
                : ldns_rdf2buffer_str(buf, rdf) != LDNS_STATUS_OK)
            goto out;
        if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME) {
            /* letters are never escaped in names, so lower-casing the text
             * is lower-casing the name */
            char *p = (char *)ldns_buffer_at(buf, start);
            char *end = (char *)ldns_buffer_current(buf);
            for (; p < end; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
        }
    }
    if (ldns_buffer_status(buf) == LDNS_STATUS_OK)
        out = escape_controls(ldns_buffer_export2str(buf));
out:
    ldns_buffer_free(buf);
    return out;
}

int answer_from_rrs(ldns_rr *const *rrs, size_t n, char **out)
{
    int rc = DP_ENOMEM;
    *out = NULL;
    if (n == 1) { /* the usual RRset: nothing to sort or join */
        *out = rdata_text(rrs[0]);
        return *out != NULL ? 0 : DP_ENOMEM;
    }
    char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t total = 1;
    if (texts == NULL)
        return DP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        texts[i] = rdata_text(rrs[i]);
        if (texts[i] == NULL)
            goto out;
        total += strlen(texts[i]) + ANSWER_TEXT_SEPLEN;
    }
    qsort(texts, n, sizeof *texts, cmp_str);
    char *s = malloc(total);
    if (s == NULL)
        goto out;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(texts[i], texts[i - 1]) == 0)
            continue; /* a set: duplicates count once */
        o = answer_text_put(s, o, texts[i], strlen(texts[i]));
    }
    s[o] = '\0';
    *out = s;
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
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
