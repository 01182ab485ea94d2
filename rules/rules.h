/*
 * rules: what an answer is and how it is judged. The text form of answers
 * (answer.c), domain names (dnsname.c), the checks, expectations and the
 * Microsoft 365 rules (checks.c, check_m365.c). Pure code on top of common/:
 * no I/O, no clock, no event loop. Both the monitor and the reports may use it.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_RULES_H
#define DNSPROP_RULES_H

#include "dnsprop.h"
#include "obs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- answers (rules/answer.c) ---- */
struct ldns_struct_rr;

/* Normalizes an RRset into the text of the `answer` column: each record's
 * RDATA in presentation form, domain names lower-cased, sorted bytewise,
 * duplicates dropped, joined by " | " ("" for n == 0). On success *out is
 * malloc'd and the caller frees it. Returns 0 or DP_ENOMEM. */
int answer_from_rrs(struct ldns_struct_rr *const *rrs, size_t n, char **out);

/* Parses RDATA texts of type qtype joined by " | " (as --expect takes them,
 * e.g. "0 mail.example.com. | 10 b.example.com.") and normalizes them as
 * answer_from_rrs does. Returns 0 (caller frees *out), DP_EINPUT with *why
 * saying what is wrong, or DP_ENOMEM. */
int answer_from_text(uint16_t qtype, const char *text, char **out, const char **why);

/* ---- checks (rules/checks.c, rules/check_m365.c, rules/dnsname.c) ---- */
/*
 * What is asked for each check, what is expected and how an answer is judged.
 * Everything here is pure: no I/O, no clock, no globals. Answer texts are the
 * normalized form of answer_from_rrs() (records sorted, " | " between them).
 */

/* Domain names: DNSNAME_MAX is the longest name in text without the final
 * dot (255 bytes on the wire); buffers of DNSNAME_BUFLEN hold a name with its
 * final dot and the NUL. */
#define DNSNAME_MAX       253
#define DNSNAME_LABEL_MAX 63
#define DNSNAME_BUFLEN    256
#define DNSNAME_ANY       1u /* flag: also accept single labels and numeric last labels */

/* Normalizes a monitored domain as typed by a user: IDNA to ASCII (libidn2,
 * UTS #46 non-transitional), lower case, final dot dropped; labels 1..63
 * bytes of letters, digits, '-' and '_' (no leading or trailing '-' except in
 * '_' labels), at most 253 bytes, at least two labels, and a last label that
 * is not all digits (an IP address is not a domain). Writes the name without
 * final dot into out (outlen >= DNSNAME_BUFLEN is always enough) and returns 0;
 * else DP_EINPUT with *why a static text saying what is wrong ("" in out), or
 * DP_ENOMEM. */
int dnsname_normalize(const char *in, char *out, size_t outlen, const char **why);
/* The same with flags (DNSNAME_ANY: any name, e.g. for `query`). */
int dnsname_normalize_ex(const char *in, unsigned flags, char *out, size_t outlen,
                         const char **why);

enum check_id {
    CHECK_MX = 0,
    CHECK_SPF,
    CHECK_AUTODISCOVER,
    CHECK_DKIM,
    CHECK_DMARC,
    CHECK_NS,
    CHECK_SOA,
    CHECK_A,
    CHECK_AAAA,
    CHECK_TXT,
    CHECK_COUNT
};
#define CHECK_BIT(c) (1u << (c))
/* The default set, and what --profile m365 (or the `m365` list item) adds. */
#define CHECK_SET_DEFAULT                                                                          \
    (CHECK_BIT(CHECK_MX) | CHECK_BIT(CHECK_SPF) | CHECK_BIT(CHECK_NS) | CHECK_BIT(CHECK_SOA))
#define CHECK_SET_M365_EXTRA                                                                       \
    (CHECK_BIT(CHECK_AUTODISCOVER) | CHECK_BIT(CHECK_DKIM) | CHECK_BIT(CHECK_DMARC))
/* Most questions one check asks (dkim: selector1 and selector2). */
#define CHECK_MAX_QUESTIONS 2

/* "mx", "spf", ...; NULL when out of range. */
const char *check_name(enum check_id c);
/* Parses a check name (exact, lower case). Returns 0 or DP_EINPUT. */
int check_parse(const char *s, size_t len, enum check_id *out);
/* The query type of the check's questions (LDNS_RR_TYPE_*). */
uint16_t check_qtype(enum check_id c);
/* "MX", "TXT", "CNAME", ... as in the qtype column; NULL when out of range. */
const char *check_qtype_name(enum check_id c);

/* Parses a --checks list ("mx,spf,dkim"; "m365" = the default set plus
 * autodiscover,dkim,dmarc) into a set of CHECK_BITs. Unknown, empty or
 * repeated items are refused: returns DP_EINPUT with a message naming the item
 * in err. */
int check_parse_list(const char *list, unsigned *set, char *err, size_t errlen);

enum profile {
    PROFILE_NONE = 0,
    PROFILE_M365, /* Microsoft 365 / Exchange Online (PRODUCT.md section 7) */
};
/* "none", "m365"; NULL out of range. */
const char *profile_name(enum profile p);
/* Parses "m365" (or "none"). Returns 0 or DP_EINPUT. */
int profile_parse(const char *s, size_t len, enum profile *out);

/* One question: the name (lower case, final dot) and type. */
struct check_question {
    char qname[DNSNAME_BUFLEN];
    uint16_t qtype;
};
/* Fills q[] with the questions of check c for the normalized domain (no final
 * dot): mx/ns/soa/a/aaaa/spf/txt ask the domain itself, autodiscover
 * "autodiscover.D" CNAME, dkim "selector1._domainkey.D" and
 * "selector2._domainkey.D" CNAME, dmarc "_dmarc.D" TXT. Returns the number of
 * questions (1 or 2), or DP_EINPUT when a name would exceed 253 bytes. */
int check_questions(enum check_id c, const char *domain,
                    struct check_question q[CHECK_MAX_QUESTIONS]);

/* One MX target read from a normalized MX answer. */
struct check_mx_target {
    uint16_t preference;
    char host[DNSNAME_BUFLEN]; /* lower case, final dot, presentation escapes kept */
    bool is_ip;                /* an IP literal (RFC 7505 / 2181 forbid it): do not resolve */
};
/* Lists the targets of a normalized MX answer, skipping the null MX "0 ."
 * (RFC 7505; *null_mx tells it was there). *out is malloc'd (caller frees,
 * NULL when *n == 0). Returns 0, DP_EINPUT for text that is not an MX answer,
 * or DP_ENOMEM. */
int check_mx_targets(const char *answer, struct check_mx_target **out, size_t *n, bool *null_mx);

/* The answer as recorded for a check, from the normalized RRset text: spf
 * keeps only the TXT records that are SPF records (the strings joined, then
 * "v=spf1" case-insensitively followed by a space or the end: RFC 7208 4.5);
 * dmarc keeps the DMARC records (v=DMARC1 as RFC 7489 6.4 spells it: "v",
 * optional spaces, "=", optional spaces, "DMARC1", then ";" or the end); every
 * other check keeps the text as is. Records keep their form and order. The
 * function is idempotent. *out is malloc'd (caller frees). Returns 0, DP_EINPUT
 * for a text that does not split into records, or DP_ENOMEM. */
int check_view_answer(enum check_id c, const char *answer, char **out);

/* The answer as a row records it: check_view_answer's view, or the text as
 * served when it does not split into records. 0 (caller frees *out) or
 * DP_ENOMEM. The live round and `import atlas` both record answers so. */
int check_recorded_answer(enum check_id c, const char *answer, char **out);

/* The serial of a normalized SOA answer ("mname rname serial ..."), or -1. */
int64_t check_soa_serial(const char *answer);

/* One authoritative server's answer to a question, for check_auth_truth. */
struct check_auth_answer {
    const char *answer; /* normalized, as recorded */
    int64_t serial;     /* the SOA serial that server gave in the same round, -1 none */
};
/* The authoritative truth among n answers (ok, nxdomain, nodata) of check c
 * (PRODUCT.md section 6): the one every server gave; when they disagree, the
 * one from the server with the highest SOA serial, then the most common one.
 * Returns its index, or -1 when n is 0. */
long check_auth_truth(enum check_id c, const struct check_auth_answer *v, size_t n);

/* Whether two normalized answers of check c are equal as sets. TXT-based
 * checks (spf, dmarc, txt) compare each record's strings joined, so a record
 * split differently into strings is the same record, as receivers read it.
 * Returns 1 equal, 0 different, DP_ENOMEM. */
int check_answers_equal(enum check_id c, const char *a, const char *b);

/* Reasons an answer fails: bits, printed as short kebab-case words. */
enum check_reason {
    CHECK_R_VALUE_MISMATCH = 1u << 0,      /* differs from --expect */
    CHECK_R_NO_MX = 1u << 1,               /* no MX record at all */
    CHECK_R_NULL_MX = 1u << 2,             /* "0 ." (RFC 7505): the domain takes no mail */
    CHECK_R_MULTIPLE_MX = 1u << 3,         /* more than one MX where one is required */
    CHECK_R_TARGET_MISMATCH = 1u << 4,     /* the MX host is not the expected one */
    CHECK_R_TARGET_IS_CNAME = 1u << 5,     /* set by the caller after resolving (RFC 2181 10.3) */
    CHECK_R_TARGET_IS_IP = 1u << 6,        /* the MX host is an IP literal */
    CHECK_R_TARGET_UNRESOLVABLE = 1u << 7, /* set by the caller: no A and no AAAA */
    CHECK_R_LEGACY_PLUS_MX_MICROSOFT = 1u << 8, /* the documented move, two MX: transition */
    CHECK_R_SPF_MISSING = 1u << 9,
    CHECK_R_MULTIPLE_SPF = 1u << 10, /* receivers return permerror (RFC 7208 4.5) */
    CHECK_R_SPF_MISSING_INCLUDE = 1u << 11,
    CHECK_R_AUTODISCOVER_MISSING = 1u << 12,
    CHECK_R_AUTODISCOVER_MISMATCH = 1u << 13,
    CHECK_R_DKIM_MISSING = 1u << 14,
    CHECK_R_DKIM_MISMATCH = 1u << 15,
    CHECK_R_DMARC_MISSING = 1u << 16,
    CHECK_R_MULTIPLE_DMARC = 1u << 17, /* receivers apply no policy (RFC 7489 6.6.3) */
    CHECK_R_DMARC_NO_POLICY = 1u << 18,
    CHECK_R_DMARC_BAD_POLICY = 1u << 19, /* p= other than none, quarantine, reject */
    CHECK_R_DMARC_BAD_SYNTAX = 1u << 20, /* a part that is not tag=value */
};
#define CHECK_R_COUNT 21
/* "multiple-mx", ... for one bit; NULL for anything else. */
const char *check_reason_name(uint32_t bit);
/* Writes the names of the bits in mask, in bit order, joined by sep (e.g.
 * ";"), into buf (always NUL-terminated, "" for 0). Returns 0, or DP_EINPUT
 * when buf was too small (the text is cut at a whole name). */
int check_reasons_format(uint32_t mask, const char *sep, char *buf, size_t buflen);

/* The Microsoft 365 MX token of a normalized domain: dots replaced by dashes,
 * other characters kept ("contoso.com" -> "contoso-com"). Returns 0, or
 * DP_EINPUT when out is too small. */
int check_m365_token(const char *domain, char *out, size_t outlen);

/* The MX verdict of mx_compliance.csv. */
enum mx_verdict {
    MX_VERDICT_COMPLIANT = 0,
    MX_VERDICT_TRANSITION,
    MX_VERDICT_NONCOMPLIANT,
    MX_VERDICT_ERROR,
};
/* "compliant", "transition", "noncompliant", "error"; NULL out of range. */
const char *mx_verdict_name(enum mx_verdict v);
/* Judges one MX answer for mx_compliance (PRODUCT.md section 7): status is the
 * query's; answer its normalized text. Always: no-mx, null-mx, target-is-ip.
 * With single_mx (implied by PROFILE_M365): more than one MX is
 * multiple-mx/noncompliant, except one legacy mail.protection.outlook.com MX
 * plus one mx.microsoft MX of the domain's token: legacy-plus-mx-microsoft,
 * transition. With PROFILE_M365 a host that is not the domain's is
 * target-mismatch. target-is-cname and target-unresolvable need more queries:
 * the caller ORs them into *reasons and calls mx_verdict_of_reasons(). A failed
 * query (not ok/nxdomain/nodata) is MX_VERDICT_ERROR. */
enum mx_verdict check_mx_verdict(const char *domain, enum obs_status status, const char *answer,
                                 bool single_mx, enum profile profile, uint32_t *reasons);
/* The verdict for a reason set: none -> compliant; only
 * legacy-plus-mx-microsoft -> transition; else noncompliant. */
enum mx_verdict mx_verdict_of_reasons(uint32_t reasons);

/* What the caller fills from the command line (and --domains). */
struct check_plan {
    unsigned checks;      /* CHECK_BITs from --checks; 0 when not given */
    bool checks_given;    /* --checks was seen */
    bool single_mx;       /* --single-mx */
    enum profile profile; /* --profile, for domains without their own */
    /* --expect: normalized expected text per check and question (dkim: [0]
     * selector1, [1] selector2); owned by the plan, NULL when none. */
    char *expect[CHECK_COUNT][CHECK_MAX_QUESTIONS];
};
void check_plan_init(struct check_plan *plan);
/* Frees what the plan owns; the struct may be init'ed again. */
void check_plan_deinit(struct check_plan *plan);
/* --checks LIST; a second --checks is refused. 0 or DP_EINPUT (err says). */
int check_plan_parse_checks(struct check_plan *plan, const char *list, char *err, size_t errlen);
/* --profile NAME. 0 or DP_EINPUT (err says). */
int check_plan_set_profile(struct check_plan *plan, const char *name, char *err, size_t errlen);
/* --expect CHECK=VALUE: VALUE in presentation form, records joined by " | ";
 * dkim takes "selector1:VALUE" or "selector2:VALUE"; spf/dmarc/txt records
 * may be written without quotes (each is then one string). Returns 0,
 * DP_EINPUT with err naming the check and the text, or DP_ENOMEM. */
int check_plan_add_expect(struct check_plan *plan, const char *arg, char *err, size_t errlen);
/* Consistency after all options: an --expect for a check outside an explicit
 * --checks, or an mx expectation of several MX with --single-mx or --profile
 * m365, is refused. 0 or DP_EINPUT (err says). */
int check_plan_finish(const struct check_plan *plan, char *err, size_t errlen);
/* The checks to run for a domain of that profile: --checks if given, else
 * the default set (plus autodiscover,dkim,dmarc for m365) plus every check
 * that has an --expect. */
unsigned check_plan_checks(const struct check_plan *plan, enum profile profile);
/* Whether exactly one MX is required (--single-mx, or the m365 profile). */
bool check_plan_single_mx(const struct check_plan *plan, enum profile profile);

/* Judges one answer (one row) of check c, question qi (0, or 1 for
 * selector2), for the normalized domain, against the --expect value (set
 * equality as check_answers_equal) or else the profile's rule. Returns
 * OBS_MATCH_NONE when neither exists (the caller compares with the
 * authoritative answer) or when the query failed (status other than ok,
 * nxdomain, nodata: an error is not an answer). *reasons (may be NULL) gets
 * the failures: value-mismatch, and the profile rule's (also reported when an
 * --expect decides the match). */
enum obs_match check_judge(const struct check_plan *plan, enum profile profile, enum check_id c,
                           unsigned qi, const char *domain, enum obs_status status,
                           const char *answer, uint32_t *reasons);
/* The `expected` column for that row: the --expect text, else a readable
 * ASCII form of the profile rule (e.g. "1 MX: contoso-com.mail.protection.
 * outlook.com. or contoso-com.*-v1.mx.microsoft."), else "" (the caller
 * writes the authoritative answer). *out is malloc'd (caller frees). Returns 0
 * or DP_ENOMEM. */
int check_expected_text(const struct check_plan *plan, enum profile profile, enum check_id c,
                        unsigned qi, const char *domain, char **out);

/* One line of a --domains file. */
struct check_domain {
    char name[DNSNAME_BUFLEN]; /* normalized, no final dot */
    enum profile profile;      /* the line's profile, or the default passed in */
    bool has_profile;          /* the line named one */
    unsigned line;             /* its line in the file, from 1 */
};
/* Parses the text of a --domains file (len bytes): one domain a line,
 * optionally ",profile" (CSV; fields may be double-quoted), '#' comment lines,
 * blank lines, CRLF or LF, an optional header "domain[,profile]". Domains are
 * normalized with dnsname_normalize(); a repeated domain is refused. *out is
 * malloc'd (caller frees), *n its count (at least 1). Returns 0, DP_EINPUT with
 * "FNAME:LINE: ..." in err, or DP_ENOMEM. */
int check_domains_parse(const char *text, size_t len, const char *fname, enum profile dflt,
                        struct check_domain **out, size_t *n, char *err, size_t errlen);
#endif
