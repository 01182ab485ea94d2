/*
 * The Microsoft 365 / Exchange Online profile (PRODUCT.md section 7) and the
 * MX compliance verdict.
 *
 * Real tenants publish values Microsoft generates, so the rules match
 * patterns, not built strings. The forms, from Microsoft's documentation:
 *  - MX: "<MX token>.mail.protection.outlook.com" (the token is the domain with
 *    '.' replaced by '-', existing '-' kept: contoso.com -> contoso-com), or,
 *    for DNSSEC/DANE and for domains added since mid-2025,
 *    "<MX token>.<x>-v1.mx.microsoft" where <x> is a partition letter Microsoft
 *    assigns (contoso-com.o-v1.mx.microsoft; MTA-STS guides list a-v1 ... z-v1).
 *  - DKIM: "selectorN-<token>._domainkey.<initial domain>.onmicrosoft.com", or
 *    since May 2025 "selectorN-<token>._domainkey.<initial domain prefix>.
 *    <partition>-v1.dkim.mail.microsoft".
 *  - Tokens seen in live tenants sometimes carry a short suffix when the name
 *    was taken before (contoso-com01b.mail.protection.outlook.com): a digit
 *    then up to three letters or digits is accepted after the token.
 * A partition label is accepted as letters/digits, "-v", digits, so a later
 * "-v2" does not break the rule; all of these names lie in Microsoft's zones.
 */
#include "check_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int check_m365_token(const char *domain, char *out, size_t outlen)
{
    size_t len = strlen(domain);
    if (len + 1 > outlen)
        return DP_EINPUT;
    for (size_t i = 0; i <= len; i++)
        out[i] = domain[i] == '.' ? '-' : domain[i];
    return 0;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Whether a label is the token, possibly with Microsoft's uniqueness suffix. */
static bool label_is_token(const char *label, size_t llen, const char *token)
{
    size_t tlen = strlen(token);
    /* A token longer than a label cannot be used as is and Microsoft does not
     * document how it is shortened: only the zone is checked then. */
    if (tlen > DNSNAME_LABEL_MAX)
        return true;
    if (llen < tlen || memcmp(label, token, tlen) != 0)
        return false;
    size_t slen = llen - tlen;
    if (slen == 0)
        return true;
    if (slen > 4 || label[tlen] < '0' || label[tlen] > '9')
        return false;
    for (size_t i = tlen; i < llen; i++)
        if (!is_alnum(label[i]))
            return false;
    return true;
}

/* "<letters/digits>-v<digits>" */
static bool label_is_partition(const char *label, size_t llen)
{
    const char *dash = NULL;
    for (size_t k = 0; k + 1 < llen; k++)
        if (label[k] == '-' && label[k + 1] == 'v')
            dash = label + k;
    if (dash == NULL || dash == label)
        return false;
    for (const char *p = label; p < dash; p++)
        if (!is_alnum(*p))
            return false;
    const char *d = dash + 2;
    if (d >= label + llen)
        return false;
    for (; d < label + llen; d++)
        if (*d < '0' || *d > '9')
            return false;
    return true;
}

/* Splits a host (lower case, final dot) into at most max labels; returns the
 * count, or 0 if there are more or a label is empty. */
static size_t split_labels(const char *host, const char **lab, size_t *llen, size_t max)
{
    size_t n = 0;
    const char *p = host;
    size_t len = strlen(host);
    if (len == 0 || host[len - 1] != '.')
        return 0;
    while (*p) {
        const char *dot = strchr(p, '.');
        if (dot == NULL || dot == p || n == max)
            return 0;
        lab[n] = p;
        llen[n] = (size_t)(dot - p);
        n++;
        p = dot + 1;
    }
    return n;
}

static bool label_eq(const char *l, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(l, want, len) == 0;
}

enum mx_form { MX_OTHER, MX_LEGACY, MX_NEW };

static enum mx_form mx_host_form(const char *host, const char *token)
{
    const char *lab[8];
    size_t len[8];
    size_t n = split_labels(host, lab, len, 8);
    if (n == 5 && label_eq(lab[1], len[1], "mail") && label_eq(lab[2], len[2], "protection") &&
        label_eq(lab[3], len[3], "outlook") && label_eq(lab[4], len[4], "com") &&
        label_is_token(lab[0], len[0], token))
        return MX_LEGACY;
    if (n == 4 && label_is_partition(lab[1], len[1]) && label_eq(lab[2], len[2], "mx") &&
        label_eq(lab[3], len[3], "microsoft") && label_is_token(lab[0], len[0], token))
        return MX_NEW;
    return MX_OTHER;
}

static bool dkim_host_ok(const char *host, unsigned qi, const char *token)
{
    const char *lab[8];
    size_t len[8];
    size_t n = split_labels(host, lab, len, 8);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "selector%u-", qi + 1);
    size_t plen = strlen(prefix);
    if (n < 5 || len[0] <= plen || memcmp(lab[0], prefix, plen) != 0 ||
        !label_is_token(lab[0] + plen, len[0] - plen, token) ||
        !label_eq(lab[1], len[1], "_domainkey"))
        return false;
    for (size_t i = 0; i < len[2]; i++)
        if (!is_alnum(lab[2][i]) && lab[2][i] != '-')
            return false;
    if (n == 5)
        return label_eq(lab[3], len[3], "onmicrosoft") && label_eq(lab[4], len[4], "com");
    if (n == 7)
        return label_is_partition(lab[3], len[3]) && label_eq(lab[4], len[4], "dkim") &&
               label_eq(lab[5], len[5], "mail") && label_eq(lab[6], len[6], "microsoft");
    return false;
}

uint32_t check_mx_reasons_multiple(const char *domain, size_t n, const char *a, const char *b)
{
    char token[DNSNAME_BUFLEN];
    if (n < 2)
        return 0;
    if (n == 2 && a != NULL && b != NULL &&
        check_m365_token(domain ? domain : "", token, sizeof token) == 0) {
        enum mx_form fa = mx_host_form(a, token), fb = mx_host_form(b, token);
        if ((fa == MX_LEGACY && fb == MX_NEW) || (fa == MX_NEW && fb == MX_LEGACY))
            return CHECK_R_LEGACY_PLUS_MX_MICROSOFT;
    }
    return CHECK_R_MULTIPLE_MX;
}

/* The MX reasons of PRODUCT.md section 7 that one answer shows. */
static int mx_reasons(const char *domain, const char *answer, bool single_mx, enum profile profile,
                      uint32_t *reasons)
{
    struct check_mx_target *t = NULL;
    size_t n = 0;
    bool null_mx = false;
    char token[DNSNAME_BUFLEN];
    uint32_t r = 0;
    int rc = check_mx_targets(answer, &t, &n, &null_mx);

    *reasons = 0;
    if (rc != 0)
        return rc;
    if (check_m365_token(domain ? domain : "", token, sizeof token) != 0)
        token[0] = '\0';
    if (null_mx)
        r |= CHECK_R_NULL_MX;
    if (n == 0 && !null_mx)
        r |= CHECK_R_NO_MX;
    for (size_t i = 0; i < n; i++)
        if (t[i].is_ip)
            r |= CHECK_R_TARGET_IS_IP;
    if (single_mx && n + (null_mx ? 1 : 0) > 1)
        r |= check_mx_reasons_multiple(domain, n + (null_mx ? 1 : 0), n == 2 ? t[0].host : NULL,
                                       n == 2 ? t[1].host : NULL);
    if (profile == PROFILE_M365)
        for (size_t i = 0; i < n; i++)
            if (mx_host_form(t[i].host, token) == MX_OTHER)
                r |= CHECK_R_TARGET_MISMATCH;
    free(t);
    *reasons = r;
    return 0;
}

const char *mx_verdict_name(enum mx_verdict v)
{
    switch (v) {
    case MX_VERDICT_COMPLIANT:
        return "compliant";
    case MX_VERDICT_TRANSITION:
        return "transition";
    case MX_VERDICT_NONCOMPLIANT:
        return "noncompliant";
    case MX_VERDICT_ERROR:
        return "error";
    }
    return NULL;
}

enum mx_verdict mx_verdict_of_reasons(uint32_t reasons)
{
    if (reasons == 0)
        return MX_VERDICT_COMPLIANT;
    if (reasons == CHECK_R_LEGACY_PLUS_MX_MICROSOFT)
        return MX_VERDICT_TRANSITION;
    return MX_VERDICT_NONCOMPLIANT;
}

enum mx_verdict check_mx_verdict(const char *domain, enum obs_status status, const char *answer,
                                 bool single_mx, enum profile profile, uint32_t *reasons)
{
    uint32_t r = 0;
    if (reasons)
        *reasons = 0;
    if (!obs_status_answered(status))
        return MX_VERDICT_ERROR;
    if (profile == PROFILE_M365)
        single_mx = true;
    if (mx_reasons(domain, status == OBS_OK && answer ? answer : "", single_mx, profile, &r) != 0)
        return MX_VERDICT_ERROR; /* not an MX answer, or out of memory */
    if (reasons)
        *reasons = r;
    return mx_verdict_of_reasons(r);
}

/* Whether an SPF record (joined text) authorizes Exchange Online: a pass
 * "include:spf.protection.outlook.com" before any "all" (terms after "all"
 * are never evaluated, RFC 7208 5.1). */
static bool spf_has_include(const char *txt, size_t len)
{
    size_t i = 6; /* after "v=spf1" */
    while (i < len) {
        while (i < len && txt[i] == ' ')
            i++;
        size_t s = i;
        while (i < len && txt[i] != ' ')
            i++;
        const char *t = txt + s;
        size_t tl = i - s;
        if (tl == 0)
            break;
        char q = t[0];
        bool qualified = q == '+' || q == '-' || q == '~' || q == '?';
        const char *m = qualified ? t + 1 : t;
        size_t ml = qualified ? tl - 1 : tl;
        if (ml == 3 && strncasecmp(m, "all", 3) == 0)
            return false;
        static const char inc[] = "include:spf.protection.outlook.com";
        size_t il = sizeof inc - 1;
        if ((ml == il || (ml == il + 1 && m[il] == '.')) && strncasecmp(m, inc, il) == 0 &&
            (q != '-' && q != '~' && q != '?'))
            return true;
    }
    return false;
}

/* DMARC tags of one record (RFC 7489 6.4): v first (already known), then
 * "tag=value" parts separated by ';'. */
static uint32_t dmarc_reasons(const char *txt, size_t len)
{
    size_t i = 0;
    bool first = true, have_p = false, bad_p = false, bad = false;
    while (i <= len) {
        size_t s = i;
        while (i < len && txt[i] != ';')
            i++;
        size_t e = i;
        i++; /* past ';' (or the end) */
        while (s < e && (txt[s] == ' ' || txt[s] == '\t'))
            s++;
        while (e > s && (txt[e - 1] == ' ' || txt[e - 1] == '\t'))
            e--;
        if (s == e) {
            if (first)
                bad = true;
            continue;
        }
        const char *eq = memchr(txt + s, '=', e - s);
        if (eq == NULL || eq == txt + s) {
            bad = true;
            first = false;
            continue;
        }
        size_t te = (size_t)(eq - txt);
        while (te > s && (txt[te - 1] == ' ' || txt[te - 1] == '\t'))
            te--;
        size_t vs = (size_t)(eq - txt) + 1;
        while (vs < e && (txt[vs] == ' ' || txt[vs] == '\t'))
            vs++;
        if (!first && te - s == 1 && (txt[s] == 'p' || txt[s] == 'P') && !have_p) {
            have_p = true;
            size_t vl = e - vs;
            const char *v = txt + vs;
            if (!((vl == 4 && strncasecmp(v, "none", 4) == 0) ||
                  (vl == 10 && strncasecmp(v, "quarantine", 10) == 0) ||
                  (vl == 6 && strncasecmp(v, "reject", 6) == 0)))
                bad_p = true;
        }
        first = false;
    }
    uint32_t r = 0;
    if (!have_p)
        r |= CHECK_R_DMARC_NO_POLICY;
    if (bad_p)
        r |= CHECK_R_DMARC_BAD_POLICY;
    if (bad)
        r |= CHECK_R_DMARC_BAD_SYNTAX;
    return r;
}

/* The rule for spf and dmarc: one record of the kind, then its content. */
static uint32_t txt_rule(enum check_id c, const char *view, int *err)
{
    struct answer_text it;
    struct answer_rec rec, first = {NULL, 0};
    size_t n = 0;
    uint32_t r = 0;
    int rc;
    bool spf = c == CHECK_SPF;

    answer_text_init(&it, view, view ? strlen(view) : 0, ANSWER_TEXT_STRINGS);
    while ((rc = answer_text_next(&it, &rec)) == 1)
        if (n++ == 0)
            first = rec;
    if (rc != 0 || n == 0)
        r = spf ? CHECK_R_SPF_MISSING : CHECK_R_DMARC_MISSING;
    else if (n > 1)
        r = spf ? CHECK_R_MULTIPLE_SPF : CHECK_R_MULTIPLE_DMARC;
    else {
        char *txt = NULL;
        size_t len = 0;
        rc = check__txt_join(first.s, first.len, &txt, &len);
        if (rc == DP_ENOMEM)
            *err = rc;
        else if (rc != 0)
            r = spf ? CHECK_R_SPF_MISSING : CHECK_R_DMARC_MISSING;
        else if (spf)
            r = spf_has_include(txt, len) ? 0 : CHECK_R_SPF_MISSING_INCLUDE;
        else
            r = dmarc_reasons(txt, len);
        free(txt);
    }
    return r;
}

uint32_t check__m365_rule(enum check_id c, unsigned qi, const char *domain, const char *view,
                          bool *applies, int *err)
{
    char token[DNSNAME_BUFLEN];
    uint32_t r = 0;

    *applies = true;
    *err = 0;
    if (check_m365_token(domain ? domain : "", token, sizeof token) != 0)
        token[0] = '\0';
    switch (c) {
    case CHECK_MX: {
        int rc = mx_reasons(domain, view, true, PROFILE_M365, &r);
        if (rc == DP_ENOMEM)
            *err = rc;
        else if (rc != 0)
            r = CHECK_R_TARGET_MISMATCH;
        return r;
    }
    case CHECK_SPF:
    case CHECK_DMARC:
        return txt_rule(c, view, err);
    case CHECK_AUTODISCOVER:
        if (view[0] == '\0')
            return CHECK_R_AUTODISCOVER_MISSING;
        return strcmp(view, "autodiscover.outlook.com.") == 0 ? 0 : CHECK_R_AUTODISCOVER_MISMATCH;
    case CHECK_DKIM:
        if (view[0] == '\0')
            return CHECK_R_DKIM_MISSING;
        return dkim_host_ok(view, qi, token) ? 0 : CHECK_R_DKIM_MISMATCH;
    default:
        *applies = false;
        return 0;
    }
}

char *check__m365_expected(enum check_id c, unsigned qi, const char *domain, int *err)
{
    char token[DNSNAME_BUFLEN];
    char buf[1024];

    *err = 0;
    if (check_m365_token(domain ? domain : "", token, sizeof token) != 0)
        token[0] = '\0';
    switch (c) {
    case CHECK_MX:
        snprintf(buf, sizeof buf, "1 MX: %s.mail.protection.outlook.com. or %s.*-v1.mx.microsoft.",
                 token, token);
        break;
    case CHECK_SPF:
        snprintf(buf, sizeof buf, "1 SPF record: v=spf1 with include:spf.protection.outlook.com");
        break;
    case CHECK_AUTODISCOVER:
        snprintf(buf, sizeof buf, "autodiscover.outlook.com.");
        break;
    case CHECK_DKIM:
        snprintf(buf, sizeof buf,
                 "selector%u-%s._domainkey.*.onmicrosoft.com. or "
                 "selector%u-%s._domainkey.*.*-v1.dkim.mail.microsoft.",
                 qi + 1, token, qi + 1, token);
        break;
    case CHECK_DMARC:
        snprintf(buf, sizeof buf, "1 DMARC record: v=DMARC1 with p=none, quarantine or reject");
        break;
    default:
        return NULL;
    }
    char *out = strdup(buf);
    if (out == NULL)
        *err = DP_ENOMEM;
    return out;
}
