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

/* The name of RR type t as the `qtype` column writes it: ldns's mnemonic
 * ("MX"), else "TYPE" and the number (RFC 3597). Returns that name in buf
 * (len bytes). */
const char *answer_type_name(uint16_t t, char *buf, size_t len);

/* ---- answer texts as records (rules/answer.c) ---- */
/*
 * The one reader of answer texts: the live round, the checks and the reports
 * all split an answer into its records here, and join records back with
 * answer_text_put(). A record is a slice of the text (the RDATA in
 * presentation form; type, owner and TTL are in other columns), borrowed from
 * it: iterating allocates nothing.
 *
 * The empty text holds no records; otherwise every separator ends one record
 * and starts the next, so "a | " is "a" and "". How a text splits:
 *   flags 0              at every " | ": RDATA of names and addresses (NS,
 *                        A, AAAA, MX, CNAME, SOA), where a space is always
 *                        written \032, so " | " only ever separates
 *   ANSWER_TEXT_STRINGS  RDATA with character-strings (TXT): a " | " inside
 *                        "..." is data, \X escapes X; an empty record, an
 *                        unterminated quote or a final lone '\' is DP_EINPUT
 *   ANSWER_TEXT_BAR      what --expect takes: a record ends at any '|' outside
 *                        "..." (the spaces around it are the caller's to
 *                        trim), \X escapes X; an unterminated quote is
 *                        DP_EINPUT
 */
#define ANSWER_TEXT_SEP     " | "
#define ANSWER_TEXT_SEPLEN  3
#define ANSWER_TEXT_STRINGS 1u
#define ANSWER_TEXT_BAR     2u

/* One record: len bytes at s (not NUL-terminated), borrowed from the text. */
struct answer_rec {
    const char *s;
    size_t len;
};
/* An iteration over the records of a text; the caller owns the struct, the
 * text must outlive it. */
struct answer_text {
    const char *p;   /* where the next record starts */
    const char *end; /* the end of the text */
    unsigned flags;
    bool done;
};
/* Starts an iteration over len bytes of text (NULL is the empty text). */
void answer_text_init(struct answer_text *it, const char *text, size_t len, unsigned flags);
/* The next record into *rec: returns 1, 0 at the end (*rec untouched), or
 * DP_EINPUT for a text that does not split (the iteration then ends). */
int answer_text_next(struct answer_text *it, struct answer_rec *rec);
/* The number of records of the NUL-terminated text into *n. 0 or DP_EINPUT
 * (*n then 0). */
int answer_text_count(const char *text, unsigned flags, size_t *n);
/* Joins: appends the separator (when at > 0) and len bytes of rec at dst+at,
 * NUL-terminates and returns the new length. dst must hold at +
 * ANSWER_TEXT_SEPLEN + len + 1 bytes. */
size_t answer_text_put(char *dst, size_t at, const char *rec, size_t len);
/* The host of an MX record as the text holds it, a slice of rec: what follows
 * the first space, or all of rec when it has none. The reports read any log's
 * rows so; answer_mx_read() is the strict reading. */
struct answer_rec answer_mx_host(const struct answer_rec *rec);
/* Reads an MX record "PREFERENCE HOST" (a decimal 0..65535 of at most 7
 * digits, one space, a host of 1..DNSNAME_BUFLEN-1 bytes without a space):
 * *host is a slice of rec. 0 or DP_EINPUT. */
int answer_mx_read(const struct answer_rec *rec, uint16_t *preference, struct answer_rec *host);

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
/* Whether an MX target as the answer text holds it is an address, not a
 * host name (target-is-ip): an IPv4 or IPv6 literal, with or without a final
 * dot, or an SMTP address literal in brackets ("[192.0.2.1]"). The one rule,
 * used by the live check and by the reports. */
bool dnsname_is_ip_literal(const char *host);

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
    CHECK_DELEGATION, /* the parent's referral vs the domain's own NS (PRODUCT.md section 12) */
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
/* Where one MX is required and an answer has n > 1 (0 for n < 2): the one
 * documented exception, hosts a and b (lower case, final dot; NULL unless
 * n == 2) being TOKEN.mail.protection.outlook.com. and
 * TOKEN.<x>-v1.mx.microsoft. of the domain's own token (either order), is
 * legacy-plus-mx-microsoft (transition); anything else is multiple-mx. The
 * live check and the reports both judge the pair with it. */
uint32_t check_mx_reasons_multiple(const char *domain, size_t n, const char *a, const char *b);
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
/* ---- delegation texts (rules/delegation.c) ---- */
/* The `answer` of a `delegation` row (written by deleg_read_reply below, read
 * back by the round and the reports), in printable ASCII:
 *
 *   TEXT  = NSSET *( " ; " PART )
 *   NSSET = "" | NAME *( " | " NAME )   the NS targets: lower case, final dot,
 *                                       sorted bytewise, each once
 *   PART  = "glue " NAME " " ( "A" | "AAAA" ) " " ADDRESS
 *                                       an address of a name of NSSET from the
 *                                       additional section; sorted bytewise
 *         | "aa"                        last: the NS set was the answer of an
 *                                       authoritative server (AA set), not a referral
 *
 * e.g. "ns1.contoso.test. | ns2.example.net. ; glue ns1.contoso.test. A 192.0.2.1".
 * Names are in presentation form, so a space or ';' inside a label is
 * escaped (\032, \;) and " ; " and " | " only ever separate. */
#define DELEG_PART_SEP " ; "
/* Bytes of the NSSET part of text. */
size_t deleg_text_nslen(const char *text);
/* Whether text ends with the "aa" part. */
bool deleg_text_aa(const char *text);
/* The glue addresses of type ("A" or "AAAA") for name (lower case, final
 * dot), " | "-joined in text order, into *out (malloc'd, "" for none); *any
 * (may be NULL) tells whether the name has glue of either type. 0 or
 * DP_ENOMEM. */
int deleg_text_glue(const char *text, const char *name, const char *type, char **out, bool *any);
/* Every glue part as "NAME TYPE ADDRESS", " | "-joined (for the glue column
 * of delegation.csv); *out malloc'd. 0 or DP_ENOMEM. */
int deleg_text_glue_list(const char *text, char **out);
/* Whether name (final dot optional) is domain (no final dot) or below it:
 * in-bailiwick of the child, where glue is the child's own data. */
bool deleg_in_domain(const char *name, const char *domain);

/* ---- delegation (rules/delegation.c) ---- */
struct ldns_struct_pkt;
/* What one reply says about the NS set of a domain: the parent's referral
 * (NS set in the authority section, glue in the additional section), or an
 * answer (NS set in the answer section; authoritative when AA is set). */
struct deleg_reading {
    enum obs_status status; /* ok: an NS set of the domain was found; nodata: NOERROR
                               without one (an upward referral, or no delegation);
                               nxdomain, refused, servfail: the rcode's */
    int rcode;              /* the full rcode (with EDNS's extended bits) */
    bool from_answer;       /* the NS set came from the answer section */
    bool aa;                /* ... of a reply with AA set: the server is authoritative */
    int64_t ttl;            /* smallest TTL of the NS set; -1 none */
    char *text;             /* owned: the answer text (the grammar above);
                               "" when no NS set */
};
/* Reads reply as the answer to "DOMAIN NS" (domain with or without final
 * dot). Returns 0 (free with deleg_reading_deinit), DP_EMALFORMED for a reply
 * that is not a response or holds an NS record of the domain whose RDATA is
 * not one name, DP_EINPUT for a bad domain, or DP_ENOMEM; on error out->text
 * is NULL. */
int deleg_read_reply(const struct ldns_struct_pkt *reply, const char *domain,
                     struct deleg_reading *out);
void deleg_reading_deinit(struct deleg_reading *r);

#endif
