/*
 * Checks: what is asked for each check (names, questions), how the recorded
 * answer is cut from the RRset (spf and dmarc keep only their own records),
 * what is expected (--expect, parsed and normalized like real answers) and
 * how an answer is judged. The Microsoft 365 rules live in check_m365.c.
 *
 * Everything is pure (no I/O, no clock) so it can be unit-tested and fuzzed:
 * the caller reads files and sends queries, and passes texts in.
 */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

/* Limits on what a user may write in --expect, far above any real RRset. */
#define CHECK__EXPECT_MAX_RECORDS 64
#define CHECK__EXPECT_MAX_LEN     8192
/* A --domains line field longer than this is refused before normalizing. */
#define CHECK__LINE_MAX 1024

static const char *const check__names[CHECK_COUNT] = {
    [CHECK_MX] = "mx",
    [CHECK_SPF] = "spf",
    [CHECK_AUTODISCOVER] = "autodiscover",
    [CHECK_DKIM] = "dkim",
    [CHECK_DMARC] = "dmarc",
    [CHECK_NS] = "ns",
    [CHECK_SOA] = "soa",
    [CHECK_A] = "a",
    [CHECK_AAAA] = "aaaa",
    [CHECK_TXT] = "txt",
    [CHECK_DELEGATION] = "delegation",
};

static const uint16_t check__qtypes[CHECK_COUNT] = {
    [CHECK_MX] = LDNS_RR_TYPE_MX,
    [CHECK_SPF] = LDNS_RR_TYPE_TXT,
    [CHECK_AUTODISCOVER] = LDNS_RR_TYPE_CNAME,
    [CHECK_DKIM] = LDNS_RR_TYPE_CNAME,
    [CHECK_DMARC] = LDNS_RR_TYPE_TXT,
    [CHECK_NS] = LDNS_RR_TYPE_NS,
    [CHECK_SOA] = LDNS_RR_TYPE_SOA,
    [CHECK_A] = LDNS_RR_TYPE_A,
    [CHECK_AAAA] = LDNS_RR_TYPE_AAAA,
    [CHECK_TXT] = LDNS_RR_TYPE_TXT,
    [CHECK_DELEGATION] = LDNS_RR_TYPE_NS,
};

static const char *const check__qtype_names[CHECK_COUNT] = {
    [CHECK_MX] = "MX",      [CHECK_SPF] = "TXT",       [CHECK_AUTODISCOVER] = "CNAME",
    [CHECK_DKIM] = "CNAME", [CHECK_DMARC] = "TXT",     [CHECK_NS] = "NS",
    [CHECK_SOA] = "SOA",    [CHECK_A] = "A",           [CHECK_AAAA] = "AAAA",
    [CHECK_TXT] = "TXT",    [CHECK_DELEGATION] = "NS",
};

const char *check_name(enum check_id c)
{
    return (unsigned)c < CHECK_COUNT ? check__names[c] : NULL;
}

int check_parse(const char *s, size_t len, enum check_id *out)
{
    for (unsigned i = 0; i < CHECK_COUNT; i++)
        if (strlen(check__names[i]) == len && memcmp(s, check__names[i], len) == 0) {
            *out = (enum check_id)i;
            return 0;
        }
    return DP_EINPUT;
}

uint16_t check_qtype(enum check_id c)
{
    return (unsigned)c < CHECK_COUNT ? check__qtypes[c] : 0;
}

const char *check_qtype_name(enum check_id c)
{
    return (unsigned)c < CHECK_COUNT ? check__qtype_names[c] : NULL;
}

static bool check__is_txt(enum check_id c)
{
    return c == CHECK_SPF || c == CHECK_DMARC || c == CHECK_TXT;
}

/* Quotes hostile text for a message: at most 60 bytes, then "...". */
static const char *check__quote(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t n = len > 60 ? 60 : len;
    dp_escape(s, n, buf, buflen > 4 ? buflen - 4 : buflen);
    if (n < len)
        strncat(buf, "...", buflen - strlen(buf) - 1);
    return buf;
}

int check_parse_list(const char *list, unsigned *set, char *err, size_t errlen)
{
    unsigned seen = 0, out = 0;
    bool m365 = false;
    char q[300];
    const char *p = list ? list : "";

    if (*p == '\0') {
        snprintf(err, errlen, "--checks: empty list (want e.g. mx,spf,ns,soa)");
        return DP_EINPUT;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        enum check_id c;
        if (len == 0) {
            snprintf(err, errlen, "--checks: empty item in '%s'",
                     check__quote(list, strlen(list), q, sizeof q));
            return DP_EINPUT;
        }
        if (len == 4 && memcmp(p, "m365", 4) == 0) {
            if (m365) {
                snprintf(err, errlen, "--checks: 'm365' given twice");
                return DP_EINPUT;
            }
            m365 = true;
            out |= CHECK_SET_DEFAULT | CHECK_SET_M365_EXTRA;
        } else if (check_parse(p, len, &c) == 0) {
            if (seen & CHECK_BIT(c)) {
                snprintf(err, errlen, "--checks: '%s' given twice", check_name(c));
                return DP_EINPUT;
            }
            seen |= CHECK_BIT(c);
            out |= CHECK_BIT(c);
        } else {
            snprintf(err, errlen,
                     "--checks: unknown check '%s' (known: "
                     "mx,spf,autodiscover,dkim,dmarc,ns,soa,a,aaaa,txt,delegation,m365)",
                     check__quote(p, len, q, sizeof q));
            return DP_EINPUT;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *set = out;
    return 0;
}

const char *profile_name(enum profile p)
{
    switch (p) {
    case PROFILE_NONE:
        return "none";
    case PROFILE_M365:
        return "m365";
    }
    return NULL;
}

int profile_parse(const char *s, size_t len, enum profile *out)
{
    if (len == 4 && memcmp(s, "m365", 4) == 0) {
        *out = PROFILE_M365;
        return 0;
    }
    if (len == 4 && memcmp(s, "none", 4) == 0) {
        *out = PROFILE_NONE;
        return 0;
    }
    return DP_EINPUT;
}

int check_questions(enum check_id c, const char *domain,
                    struct check_question q[CHECK_MAX_QUESTIONS])
{
    static const char *const dkim_prefix[2] = {"selector1._domainkey.", "selector2._domainkey."};
    const char *prefix[CHECK_MAX_QUESTIONS] = {"", NULL};
    int count = 1;

    if ((unsigned)c >= CHECK_COUNT || domain == NULL)
        return DP_EINPUT;
    if (c == CHECK_AUTODISCOVER)
        prefix[0] = "autodiscover.";
    else if (c == CHECK_DMARC)
        prefix[0] = "_dmarc.";
    else if (c == CHECK_DKIM) {
        prefix[0] = dkim_prefix[0];
        prefix[1] = dkim_prefix[1];
        count = 2;
    }
    size_t dlen = strlen(domain);
    for (int i = 0; i < count; i++) {
        size_t plen = strlen(prefix[i]);
        if (plen + dlen > DNSNAME_MAX || dlen == 0 || plen + dlen + 2 > sizeof q[i].qname)
            return DP_EINPUT;
        /* PREFIX DOMAIN "." (a copy, not a printf: a round asks this per domain) */
        memcpy(q[i].qname, prefix[i], plen);
        memcpy(q[i].qname + plen, domain, dlen);
        q[i].qname[plen + dlen] = '.';
        q[i].qname[plen + dlen + 1] = '\0';
        q[i].qtype = check__qtypes[c];
    }
    return count;
}

/* ---- TXT records ---- */

int check__txt_join(const char *rec, size_t len, char **out, size_t *outlen)
{
    char *buf = malloc(len + 1);
    size_t o = 0, i = 0;

    *out = NULL;
    *outlen = 0;
    if (buf == NULL)
        return DP_ENOMEM;
    while (i < len) {
        if (rec[i] == ' ' || rec[i] == '\t') {
            i++;
            continue;
        }
        bool quoted = rec[i] == '"';
        if (quoted)
            i++;
        for (;;) {
            if (i >= len) {
                if (quoted)
                    goto bad; /* unterminated string */
                break;
            }
            char ch = rec[i];
            if (quoted && ch == '"') {
                i++;
                break;
            }
            if (!quoted && (ch == ' ' || ch == '\t'))
                break;
            if (ch == '\\') {
                if (i + 1 >= len)
                    goto bad;
                if (rec[i + 1] >= '0' && rec[i + 1] <= '9') {
                    if (i + 3 >= len || rec[i + 2] < '0' || rec[i + 2] > '9' || rec[i + 3] < '0' ||
                        rec[i + 3] > '9')
                        goto bad;
                    int v = (rec[i + 1] - '0') * 100 + (rec[i + 2] - '0') * 10 + (rec[i + 3] - '0');
                    if (v > 255)
                        goto bad;
                    buf[o++] = (char)v;
                    i += 4;
                } else {
                    buf[o++] = rec[i + 1];
                    i += 2;
                }
                continue;
            }
            buf[o++] = ch;
            i++;
        }
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
bad:
    free(buf);
    return DP_EINPUT;
}

bool check__is_spf(const char *txt, size_t len)
{
    return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

static size_t skip_wsp(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

bool check__is_dmarc(const char *txt, size_t len)
{
    size_t i = 0;
    if (len < 1 || (txt[0] != 'v' && txt[0] != 'V'))
        return false;
    i = skip_wsp(txt, 1, len);
    if (i >= len || txt[i] != '=')
        return false;
    i = skip_wsp(txt, i + 1, len);
    if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
        return false;
    i = skip_wsp(txt, i + 6, len);
    return i == len || txt[i] == ';';
}

/* Keeps the records of a normalized answer for which keep() holds. */
static int check__filter(const char *answer, bool (*keep)(const char *, size_t), char **out)
{
    struct answer_text it;
    struct answer_rec rec;
    size_t len = strlen(answer), o = 0, n = 0;
    int rc = answer_text_count(answer, ANSWER_TEXT_STRINGS, &n); /* all of it splits */
    char *s = NULL;

    *out = NULL;
    if (rc != 0)
        return rc;
    s = malloc(len + 1);
    if (s == NULL) {
        rc = DP_ENOMEM;
        goto out;
    }
    s[0] = '\0';
    answer_text_init(&it, answer, len, ANSWER_TEXT_STRINGS);
    while ((rc = answer_text_next(&it, &rec)) == 1) {
        char *txt = NULL;
        size_t tlen = 0;
        rc = check__txt_join(rec.s, rec.len, &txt, &tlen);
        if (rc != 0)
            goto out;
        bool k = keep(txt, tlen);
        free(txt);
        if (k)
            o = answer_text_put(s, o, rec.s, rec.len);
    }
    if (rc != 0)
        goto out;
    *out = s;
    s = NULL;
out:
    free(s);
    return rc;
}

/* Whether check c records a view of the answer other than the text itself. */
static bool check__view_filters(enum check_id c)
{
    return c == CHECK_SPF || c == CHECK_DMARC;
}

int check_view_answer(enum check_id c, const char *answer, char **out)
{
    *out = NULL;
    if (check__view_filters(c))
        return check__filter(answer ? answer : "", c == CHECK_SPF ? check__is_spf : check__is_dmarc,
                             out);
    *out = strdup(answer ? answer : "");
    return *out ? 0 : DP_ENOMEM;
}

struct check__bytes {
    char *s;
    size_t len;
};

static int cmp_bytes(const void *a, const void *b)
{
    const struct check__bytes *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->s, y->s, n);
    if (r != 0)
        return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* The set of joined TXT records of an answer, sorted, duplicates dropped. A
 * text that does not split stays one opaque record, so it still compares. */
static int check__txt_set(const char *answer, struct check__bytes **set, size_t *n)
{
    struct answer_text it;
    struct answer_rec rec;
    size_t count = 0, k = 0;
    struct check__bytes *b = NULL;
    int rc = answer_text_count(answer, ANSWER_TEXT_STRINGS, &count);

    *set = NULL;
    *n = 0;
    if (rc == DP_EINPUT) {
        b = calloc(1, sizeof *b);
        if (b == NULL || (b->s = strdup(answer)) == NULL) {
            free(b);
            return DP_ENOMEM;
        }
        b->len = strlen(answer);
        *set = b;
        *n = 1;
        return 0;
    }
    if (rc != 0)
        return rc;
    b = calloc(count ? count : 1, sizeof *b);
    if (b == NULL)
        return DP_ENOMEM;
    answer_text_init(&it, answer, strlen(answer), ANSWER_TEXT_STRINGS);
    for (size_t i = 0; i < count && answer_text_next(&it, &rec) == 1; i++) {
        rc = check__txt_join(rec.s, rec.len, &b[i].s, &b[i].len);
        if (rc == DP_EINPUT) {
            b[i].s = malloc(rec.len + 1);
            if (b[i].s == NULL) {
                rc = DP_ENOMEM;
            } else {
                memcpy(b[i].s, rec.s, rec.len);
                b[i].s[rec.len] = '\0';
                b[i].len = rec.len;
                rc = 0;
            }
        }
        if (rc != 0) {
            for (size_t j = 0; j < i; j++)
                free(b[j].s);
            free(b);
            return rc;
        }
    }
    qsort(b, count, sizeof *b, cmp_bytes);
    for (size_t i = 0; i < count; i++) {
        if (k > 0 && cmp_bytes(&b[k - 1], &b[i]) == 0) {
            free(b[i].s);
            continue;
        }
        b[k++] = b[i];
    }
    *set = b;
    *n = k;
    return 0;
}

static void free_set(struct check__bytes *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(set[i].s);
    free(set);
}

int check_answers_equal(enum check_id c, const char *a, const char *b)
{
    int rc;
    char *va = NULL, *vb = NULL;
    struct check__bytes *sa = NULL, *sb = NULL;
    size_t na = 0, nb = 0;

    a = a ? a : "";
    b = b ? b : "";
    if (!check__is_txt(c))
        return strcmp(a, b) == 0;
    rc = check_view_answer(c, a, &va);
    if (rc == 0)
        rc = check_view_answer(c, b, &vb);
    if (rc == DP_EINPUT) {
        /* not splittable: compare the texts themselves */
        rc = strcmp(a, b) == 0;
        goto out;
    }
    if (rc != 0)
        goto out;
    rc = check__txt_set(va, &sa, &na);
    if (rc == 0)
        rc = check__txt_set(vb, &sb, &nb);
    if (rc != 0)
        goto out;
    rc = na == nb;
    for (size_t i = 0; rc && i < na; i++)
        rc = cmp_bytes(&sa[i], &sb[i]) == 0;
out:
    free_set(sa, na);
    free_set(sb, nb);
    free(va);
    free(vb);
    return rc;
}

/* ---- MX targets ---- */

int check_mx_targets(const char *answer, struct check_mx_target **out, size_t *n, bool *null_mx)
{
    return check_mx_targets_in(answer, NULL, 0, out, n, null_mx);
}

int check_mx_targets_in(const char *answer, struct check_mx_target *buf, size_t cap,
                        struct check_mx_target **out, size_t *n, bool *null_mx)
{
    struct answer_text it;
    struct answer_rec rec, host;
    size_t count = 0, k = 0;
    struct check_mx_target *t = NULL;
    int rc = answer_text_count(answer, 0, &count); /* names: " | " alone separates */

    *out = NULL;
    *n = 0;
    *null_mx = false;
    if (rc != 0 || count == 0)
        return rc;
    t = count <= cap ? buf : calloc(count, sizeof *t);
    if (t == NULL)
        return DP_ENOMEM;
    answer_text_init(&it, answer, strlen(answer), 0);
    while (answer_text_next(&it, &rec) == 1) {
        uint16_t pref;
        rc = answer_mx_read(&rec, &pref, &host);
        if (rc != 0)
            goto out;
        if (host.len == 1 && host.s[0] == '.') {
            *null_mx = true;
            continue;
        }
        t[k].preference = pref;
        memcpy(t[k].host, host.s, host.len);
        t[k].host[host.len] = '\0';
        t[k].is_ip = dnsname_is_ip_literal(t[k].host);
        k++;
    }
    if (k == 0) {
        if (t != buf)
            free(t);
        t = NULL;
    }
    *out = t;
    *n = k;
    t = NULL;
    rc = 0;
out:
    if (t != buf)
        free(t);
    if (rc != 0)
        *null_mx = false;
    return rc;
}

/* ---- reasons ---- */

static const char *const check__reason_names[CHECK_R_COUNT] = {
    "value-mismatch",
    "no-mx",
    "null-mx",
    "multiple-mx",
    "target-mismatch",
    "target-is-cname",
    "target-is-ip",
    "target-unresolvable",
    "legacy-plus-mx-microsoft",
    "spf-missing",
    "multiple-spf",
    "spf-missing-include",
    "autodiscover-missing",
    "autodiscover-mismatch",
    "dkim-missing",
    "dkim-mismatch",
    "dmarc-missing",
    "multiple-dmarc",
    "dmarc-no-policy",
    "dmarc-bad-policy",
    "dmarc-bad-syntax",
};

const char *check_reason_name(uint32_t bit)
{
    for (unsigned i = 0; i < CHECK_R_COUNT; i++)
        if (bit == (1u << i))
            return check__reason_names[i];
    return NULL;
}

int check_reasons_format(uint32_t mask, const char *sep, char *buf, size_t buflen)
{
    size_t o = 0;
    if (buflen == 0)
        return DP_EINPUT;
    buf[0] = '\0';
    for (unsigned i = 0; i < CHECK_R_COUNT; i++) {
        if (!(mask & (1u << i)))
            continue;
        const char *name = check__reason_names[i];
        size_t need = strlen(name) + (o > 0 ? strlen(sep) : 0);
        if (o + need + 1 > buflen)
            return DP_EINPUT;
        if (o > 0) {
            memcpy(buf + o, sep, strlen(sep));
            o += strlen(sep);
        }
        memcpy(buf + o, name, strlen(name));
        o += strlen(name);
        buf[o] = '\0';
    }
    return 0;
}

/* ---- the plan: what the options ask for ---- */

void check_plan_init(struct check_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->profile = PROFILE_NONE;
}

void check_plan_deinit(struct check_plan *plan)
{
    for (unsigned c = 0; c < CHECK_COUNT; c++)
        for (unsigned q = 0; q < CHECK_MAX_QUESTIONS; q++) {
            free(plan->expect[c][q]);
            plan->expect[c][q] = NULL;
        }
}

int check_plan_parse_checks(struct check_plan *plan, const char *list, char *err, size_t errlen)
{
    unsigned set = 0;
    if (plan->checks_given) {
        snprintf(err, errlen, "--checks given twice (give one comma list)");
        return DP_EINPUT;
    }
    int rc = check_parse_list(list, &set, err, errlen);
    if (rc != 0)
        return rc;
    /* delegation compares the parent's NS set with the domain's own: the
     * authoritative servers' answers of the ns check, so ns comes with it */
    if (set & CHECK_BIT(CHECK_DELEGATION))
        set |= CHECK_BIT(CHECK_NS);
    plan->checks = set;
    plan->checks_given = true;
    return 0;
}

int check_plan_set_profile(struct check_plan *plan, const char *name, char *err, size_t errlen)
{
    char q[300];
    enum profile p;
    if (name == NULL || profile_parse(name, strlen(name), &p) != 0) {
        snprintf(err, errlen, "--profile: unknown profile '%s' (known: m365)",
                 check__quote(name ? name : "", name ? strlen(name) : 0, q, sizeof q));
        return DP_EINPUT;
    }
    plan->profile = p;
    return 0;
}

/* Appends n bytes to a growing string. */
struct check__str {
    char *s;
    size_t len, cap;
};

static int str_add(struct check__str *b, const char *s, size_t n)
{
    size_t need = b->len + n + 1; /* 64 bytes at first */
    if ((b->s == NULL || need > b->cap) &&
        dp_grow((void **)&b->s, &b->cap, (need > 64 ? need : 64) - 1, 1) != 0)
        return DP_ENOMEM;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* One TXT record as the user wrote it, into zone-file form that survives
 * answer_from_text's " | " split: text without quotes becomes one string
 * (255-byte pieces), '|' inside quotes is written \124. */
static int expect_txt_record(struct check__str *b, const char *s, size_t len)
{
    int rc = 0;
    if (len > 0 && s[0] == '"') {
        bool quoted = false;
        for (size_t i = 0; rc == 0 && i < len; i++) {
            if (s[i] == '\\' && i + 1 < len) {
                rc = str_add(b, s + i, 2);
                i++;
            } else if (s[i] == '|' && quoted) {
                rc = str_add(b, "\\124", 4);
            } else {
                if (s[i] == '"')
                    quoted = !quoted;
                rc = str_add(b, s + i, 1);
            }
        }
        return rc;
    }
    size_t piece = 0;
    rc = str_add(b, "\"", 1);
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (piece == 255) {
            rc = str_add(b, "\" \"", 3);
            piece = 0;
        }
        if (rc != 0)
            break;
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            rc = str_add(b, "\\", 1) == 0 ? str_add(b, s + i, 1) : DP_ENOMEM;
        else if (ch == '|')
            rc = str_add(b, "\\124", 4);
        else
            rc = str_add(b, s + i, 1);
        piece++;
    }
    return rc == 0 ? str_add(b, "\"", 1) : rc;
}

/* Checks a decimal field of at most max; ldns wraps 99999 into an int16 and
 * -1 into 65535 without a word, so numbers are validated here. */
static bool plain_uint(const char *s, size_t len, uint64_t max)
{
    char num[16];
    uint64_t v;
    if (len == 0 || len >= sizeof num)
        return false;
    memcpy(num, s, len);
    num[len] = '\0';
    return dp_parse_uint(num, 0, max, &v) == 0;
}

/* The idx-th space-separated field of s (len bytes). */
static bool field(const char *s, size_t len, unsigned idx, const char **f, size_t *flen)
{
    size_t i = 0;
    for (unsigned k = 0;; k++) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= len)
            return false;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        if (k == idx) {
            *f = s + start;
            *flen = i - start;
            return true;
        }
    }
}

static int expect_check_numbers(enum check_id c, const char *s, size_t len, const char **why)
{
    const char *f;
    size_t flen;
    if (c == CHECK_MX) {
        if (!field(s, len, 0, &f, &flen) || !plain_uint(f, flen, 65535)) {
            *why = "MX preference must be a number 0..65535";
            return DP_EINPUT;
        }
        if (field(s, len, 2, &f, &flen)) {
            *why = "an MX record is 'PREFERENCE HOST'";
            return DP_EINPUT;
        }
    } else if (c == CHECK_SOA) {
        for (unsigned k = 2; k < 7; k++)
            if (!field(s, len, k, &f, &flen) || !plain_uint(f, flen, 4294967295u)) {
                *why = "SOA serial and timers must be numbers 0..4294967295";
                return DP_EINPUT;
            }
        if (field(s, len, 7, &f, &flen)) {
            *why = "an SOA record has 7 fields";
            return DP_EINPUT;
        }
    }
    return 0;
}

/* Turns an --expect VALUE into the normalized text of check c. */
static int expect_normalize(enum check_id c, const char *value, char **out, const char **why)
{
    struct check__str b = {0};
    struct answer_text it;
    struct answer_rec rec = {value, 0}; /* "" is one empty record */
    int rc = 0, got;
    size_t nrec = 0, len = strlen(value);

    *out = NULL;
    if (len > CHECK__EXPECT_MAX_LEN) {
        *why = "value too long";
        return DP_EINPUT;
    }
    /* a record ends at a '|' outside quotes */
    answer_text_init(&it, value, len, ANSWER_TEXT_BAR);
    got = answer_text_next(&it, &rec);
    for (; rc == 0; got = answer_text_next(&it, &rec)) {
        if (got < 0) {
            *why = "unterminated quoted string";
            rc = DP_EINPUT;
            break;
        }
        if (got == 0 && nrec > 0)
            break;
        const char *s = rec.s, *e = rec.s + rec.len;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e) {
            *why = "empty record";
            rc = DP_EINPUT;
            break;
        }
        if (++nrec > CHECK__EXPECT_MAX_RECORDS) {
            *why = "more than 64 records";
            rc = DP_EINPUT;
            break;
        }
        rc = expect_check_numbers(c, s, (size_t)(e - s), why);
        if (rc != 0)
            break;
        if (b.len > 0)
            rc = str_add(&b, ANSWER_TEXT_SEP, ANSWER_TEXT_SEPLEN);
        if (rc == 0)
            rc = check__is_txt(c) ? expect_txt_record(&b, s, (size_t)(e - s))
                                  : str_add(&b, s, (size_t)(e - s));
    }
    if (rc == DP_ENOMEM)
        *why = "out of memory";
    if (rc == 0)
        rc = answer_from_text(check__qtypes[c], b.s, out, why);
    free(b.s);
    if (rc != 0 || !(c == CHECK_SPF || c == CHECK_DMARC))
        return rc;
    /* every record must be of the check's kind, or it could never match */
    char *view = NULL;
    rc = check_view_answer(c, *out, &view);
    if (rc == 0 && strcmp(view, *out) != 0) {
        *why = c == CHECK_SPF ? "not an SPF record (must start with v=spf1)"
                              : "not a DMARC record (must start with v=DMARC1)";
        rc = DP_EINPUT;
    }
    free(view);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int check_plan_add_expect(struct check_plan *plan, const char *arg, char *err, size_t errlen)
{
    char q[300];
    const char *eq = arg ? strchr(arg, '=') : NULL;
    const char *value, *why = NULL;
    enum check_id c;
    unsigned qi = 0;
    char *norm = NULL;

    if (eq == NULL) {
        snprintf(err, errlen, "--expect '%s': want CHECK=VALUE, e.g. mx=0 mail.example.com.",
                 check__quote(arg ? arg : "", arg ? strlen(arg) : 0, q, sizeof q));
        return DP_EINPUT;
    }
    if (check_parse(arg, (size_t)(eq - arg), &c) != 0) {
        snprintf(err, errlen, "--expect: unknown check '%s'",
                 check__quote(arg, (size_t)(eq - arg), q, sizeof q));
        return DP_EINPUT;
    }
    value = eq + 1;
    if (c == CHECK_DELEGATION) {
        snprintf(err, errlen,
                 "--expect delegation: give the NS set the parent should delegate to as "
                 "--expect 'ns=NS1 | NS2'");
        return DP_EINPUT;
    }
    if (c == CHECK_DKIM) {
        if (strncmp(value, "selector1:", 10) == 0)
            qi = 0;
        else if (strncmp(value, "selector2:", 10) == 0)
            qi = 1;
        else {
            snprintf(err, errlen,
                     "--expect dkim: want dkim=selector1:TARGET or dkim=selector2:TARGET, "
                     "got '%s'",
                     check__quote(value, strlen(value), q, sizeof q));
            return DP_EINPUT;
        }
        value += 10;
    }
    if (plan->expect[c][qi] != NULL) {
        snprintf(err, errlen, "--expect %s%s given twice", check_name(c),
                 c == CHECK_DKIM ? (qi ? "=selector2" : "=selector1") : "");
        return DP_EINPUT;
    }
    int rc = expect_normalize(c, value, &norm, &why);
    if (rc == DP_ENOMEM) {
        snprintf(err, errlen, "--expect %s: out of memory", check_name(c));
        return rc;
    }
    if (rc != 0) {
        snprintf(err, errlen, "--expect %s: bad value '%s': %s", check_name(c),
                 check__quote(value, strlen(value), q, sizeof q), why ? why : "does not parse");
        return DP_EINPUT;
    }
    plan->expect[c][qi] = norm;
    return 0;
}

static size_t count_records(const char *answer)
{
    size_t n = 0;
    (void)answer_text_count(answer, ANSWER_TEXT_STRINGS, &n); /* 0 when it does not split */
    return n;
}

int check_plan_finish(const struct check_plan *plan, char *err, size_t errlen)
{
    for (unsigned c = 0; c < CHECK_COUNT; c++)
        for (unsigned qi = 0; qi < CHECK_MAX_QUESTIONS; qi++)
            if (plan->expect[c][qi] && plan->checks_given && !(plan->checks & CHECK_BIT(c))) {
                snprintf(err, errlen, "--expect %s: check %s is not in --checks", check__names[c],
                         check__names[c]);
                return DP_EINPUT;
            }
    const char *mx = plan->expect[CHECK_MX][0];
    if (mx && check_plan_single_mx(plan, plan->profile) && count_records(mx) > 1) {
        snprintf(err, errlen, "--expect mx has %zu records but %s requires exactly one MX",
                 count_records(mx),
                 plan->profile == PROFILE_M365 ? "--profile m365" : "--single-mx");
        return DP_EINPUT;
    }
    return 0;
}

unsigned check_plan_checks(const struct check_plan *plan, enum profile profile)
{
    if (plan->checks_given)
        return plan->checks;
    unsigned set = CHECK_SET_DEFAULT;
    if (profile == PROFILE_M365)
        set |= CHECK_SET_M365_EXTRA;
    for (unsigned c = 0; c < CHECK_COUNT; c++)
        for (unsigned qi = 0; qi < CHECK_MAX_QUESTIONS; qi++)
            if (plan->expect[c][qi])
                set |= CHECK_BIT(c);
    return set;
}

bool check_plan_single_mx(const struct check_plan *plan, enum profile profile)
{
    return plan->single_mx || profile == PROFILE_M365;
}

/* ---- judging ---- */

enum obs_match check_judge(const struct check_plan *plan, enum profile profile, enum check_id c,
                           unsigned qi, const char *domain, enum obs_status status,
                           const char *answer, uint32_t *reasons)
{
    uint32_t r = 0;
    enum obs_match m = OBS_MATCH_NONE;
    const char *expect = NULL;
    char *view = NULL;
    bool applies = false;
    int err = 0;

    if (reasons)
        *reasons = 0;
    if ((unsigned)c >= CHECK_COUNT || qi >= CHECK_MAX_QUESTIONS)
        return OBS_MATCH_NONE;
    if (!obs_status_answered(status))
        return OBS_MATCH_NONE;
    if (plan)
        expect = plan->expect[c][qi];
    /* no records is an answer too: the name or type is not there (yet) */
    if (check_view_answer(c, status == OBS_OK && answer ? answer : "", &view) != 0) {
        /* a text that does not split: judge it as it came */
        view = strdup(status == OBS_OK && answer ? answer : "");
        if (view == NULL)
            return OBS_MATCH_NONE;
    }
    if (profile == PROFILE_M365) {
        r = check__m365_rule(c, qi, domain, view, &applies, &err);
        if (err != 0)
            r = 0, applies = false;
    }
    if (expect != NULL) {
        int eq = check_answers_equal(c, view, expect);
        if (eq == 1)
            m = OBS_MATCH_YES;
        else if (eq == 0) {
            m = OBS_MATCH_NO;
            r |= CHECK_R_VALUE_MISMATCH;
        }
    } else if (applies) {
        m = r == 0 ? OBS_MATCH_YES : OBS_MATCH_NO;
    }
    free(view);
    if (reasons)
        *reasons = r;
    return m;
}

int check_expected_text(const struct check_plan *plan, enum profile profile, enum check_id c,
                        unsigned qi, const char *domain, char **out)
{
    int err = 0;
    *out = NULL;
    if ((unsigned)c < CHECK_COUNT && qi < CHECK_MAX_QUESTIONS && plan &&
        plan->expect[c][qi] != NULL) {
        *out = strdup(plan->expect[c][qi]);
        return *out ? 0 : DP_ENOMEM;
    }
    if (profile == PROFILE_M365 && (unsigned)c < CHECK_COUNT) {
        *out = check__m365_expected(c, qi, domain, &err);
        if (err != 0)
            return err;
        if (*out != NULL)
            return 0;
    }
    *out = strdup("");
    return *out ? 0 : DP_ENOMEM;
}

/* ---- --domains files ---- */

/* Trims blanks and one pair of surrounding double quotes off a CSV field. */
static void csv_field(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
    if (*e - *s >= 2 && **s == '"' && (*e)[-1] == '"') {
        (*s)++;
        (*e)--;
    }
}

/* The domains parsed so far by the hash of their names: slots hold an index
 * into the array + 1 (0 free), open addressing, at most half full, so a
 * repeat costs a probe or two and the names are not copied again. */
struct check__seen {
    uint32_t *slots; /* owned */
    size_t nslots;
};

static size_t check__seen_slot(const struct check__seen *t, const struct check_domain *d,
                               const char *name)
{
    size_t j = (size_t)dp_hash(DP_HASH_INIT, name, strlen(name)) & (t->nslots - 1);
    while (t->slots[j] != 0 && strcmp(d[t->slots[j] - 1].name, name) != 0)
        j = (j + 1) & (t->nslots - 1);
    return j;
}

/* Room for one more of the count domains of d; 0 or DP_ENOMEM. */
static int check__seen_grow(struct check__seen *t, const struct check_domain *d, size_t count)
{
    if (count < t->nslots / 2)
        return 0;
    struct check__seen bigger = {.nslots = t->nslots ? 2 * t->nslots : 64};
    if (count >= UINT32_MAX / 4 || (bigger.slots = calloc(bigger.nslots, sizeof(uint32_t))) == NULL)
        return DP_ENOMEM;
    for (size_t i = 0; i < count; i++)
        bigger.slots[check__seen_slot(&bigger, d, d[i].name)] = (uint32_t)i + 1;
    free(t->slots);
    *t = bigger;
    return 0;
}

int check_domains_parse(const char *text, size_t len, const char *fname, enum profile dflt,
                        struct check_domain **out, size_t *n, char *err, size_t errlen)
{
    struct check_domain *d = NULL;
    struct check__seen seen = {0}; /* the names so far */
    size_t count = 0, cap = 0, line = 0, pos = 0;
    int rc = DP_EINPUT;
    char q[300];

    *out = NULL;
    *n = 0;
    fname = fname ? fname : "domains";
    if (memchr(text, '\0', len) != NULL) {
        const char *z = memchr(text, '\0', len);
        size_t zl = 1;
        for (const char *p = text; p < z; p++)
            zl += *p == '\n';
        snprintf(err, errlen, "%s:%zu: NUL byte: not a text file", fname, zl);
        return DP_EINPUT;
    }
    while (pos < len) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        const char *e = nl ? nl : text + len;
        pos = (size_t)(e - text) + (nl ? 1 : 0);
        line++;
        if (e > s && e[-1] == '\r')
            e--;
        const char *ts = s, *te = e;
        while (ts < te && (*ts == ' ' || *ts == '\t'))
            ts++;
        while (te > ts && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        if (ts == te || *ts == '#')
            continue;
        const char *comma = memchr(ts, ',', (size_t)(te - ts));
        const char *ds = ts, *de = comma ? comma : te;
        csv_field(&ds, &de);
        const char *ps = NULL, *pe = NULL;
        if (comma) {
            ps = comma + 1;
            pe = te;
            if (memchr(ps, ',', (size_t)(pe - ps)) != NULL) {
                snprintf(err, errlen, "%s:%zu: too many fields (want domain[,profile])", fname,
                         line);
                goto out;
            }
            csv_field(&ps, &pe);
        }
        /* a header line from a spreadsheet */
        if (count == 0 && de - ds == 6 && strncasecmp(ds, "domain", 6) == 0 &&
            (!comma || (pe - ps == 7 && strncasecmp(ps, "profile", 7) == 0)))
            continue;
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct check_domain *bigger = realloc(d, ncap * sizeof *d);
            if (bigger == NULL) {
                rc = DP_ENOMEM;
                snprintf(err, errlen, "%s:%zu: out of memory", fname, line);
                goto out;
            }
            d = bigger;
            cap = ncap;
        }
        struct check_domain *cur = &d[count];
        memset(cur, 0, sizeof *cur);
        char name[CHECK__LINE_MAX];
        size_t nlen = (size_t)(de - ds);
        const char *why = NULL;
        if (nlen >= sizeof name) {
            snprintf(err, errlen, "%s:%zu: bad domain '%s': name longer than 253 bytes", fname,
                     line, check__quote(ds, nlen, q, sizeof q));
            goto out;
        }
        memcpy(name, ds, nlen);
        name[nlen] = '\0';
        int nrc = dnsname_normalize(name, cur->name, sizeof cur->name, &why);
        if (nrc == DP_ENOMEM) {
            rc = nrc;
            snprintf(err, errlen, "%s:%zu: out of memory", fname, line);
            goto out;
        }
        if (nrc != 0) {
            snprintf(err, errlen, "%s:%zu: bad domain '%s': %s", fname, line,
                     check__quote(ds, nlen, q, sizeof q), why);
            goto out;
        }
        cur->profile = dflt;
        if (comma && pe > ps) {
            if (profile_parse(ps, (size_t)(pe - ps), &cur->profile) != 0) {
                snprintf(err, errlen, "%s:%zu: unknown profile '%s' (known: m365, none)", fname,
                         line, check__quote(ps, (size_t)(pe - ps), q, sizeof q));
                goto out;
            }
            cur->has_profile = true;
        }
        /* a repeat: one lookup among the names so far, not a scan of them */
        if (check__seen_grow(&seen, d, count) != 0) {
            rc = DP_ENOMEM;
            snprintf(err, errlen, "%s:%zu: out of memory", fname, line);
            goto out;
        }
        size_t slot = check__seen_slot(&seen, d, cur->name);
        if (seen.slots[slot] != 0) {
            snprintf(err, errlen, "%s:%zu: domain '%s' given twice (first on line %u)", fname, line,
                     cur->name, d[seen.slots[slot] - 1].line);
            goto out;
        }
        seen.slots[slot] = (uint32_t)count + 1;
        cur->line = (unsigned)line;
        count++;
    }
    if (count == 0) {
        snprintf(err, errlen, "%s: no domains in the file", fname);
        goto out;
    }
    *out = d;
    *n = count;
    d = NULL;
    rc = 0;
out:
    free(d);
    free(seen.slots);
    return rc;
}

int check_recorded_text(enum check_id c, const char *answer, const char **text, char **owned)
{
    *owned = NULL;
    *text = answer ? answer : "";
    if (!check__view_filters(c))
        return 0; /* the view is the text (check_view_answer) */
    int rc = check_recorded_answer(c, answer ? answer : "", owned);
    if (rc == 0)
        *text = *owned;
    return rc;
}

int check_recorded_answer(enum check_id c, const char *answer, char **out)
{
    int rc = check_view_answer(c, answer, out);
    if (rc == DP_EINPUT) {
        /* not splittable into records: keep it as served */
        *out = strdup(answer);
        rc = *out ? 0 : DP_ENOMEM;
    }
    return rc;
}

int64_t check_soa_serial(const char *answer)
{
    /* SOA RDATA: mname rname serial refresh retry expire minimum */
    const char *p = answer;
    for (int field = 0; field < 2 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    if (p == NULL || *p < '0' || *p > '9')
        return -1;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || v > UINT32_MAX)
        return -1;
    return (int64_t)v;
}

long check_auth_truth(enum check_id c, const struct check_auth_answer *v, size_t n)
{
    bool disagree = false;
    if (n == 0)
        return -1;
    for (size_t i = 1; i < n && !disagree; i++)
        disagree = check_answers_equal(c, v[0].answer, v[i].answer) != 1;
    if (!disagree)
        return 0;
    int64_t best_serial = -2;
    size_t best_votes = 0;
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        size_t votes = 0;
        for (size_t j = 0; j < n; j++)
            votes += check_answers_equal(c, v[j].answer, v[i].answer) == 1;
        if (best < 0 || v[i].serial > best_serial ||
            (v[i].serial == best_serial && votes > best_votes)) {
            best = (long)i;
            best_serial = v[i].serial;
            best_votes = votes;
        }
    }
    return best;
}
