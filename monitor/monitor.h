/*
 * monitor: the engine (how queries go out), the scheduler (when), the checks
 * (what is asked and how answers are judged) and the command line.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_MONITOR_H
#define DNSPROP_MONITOR_H

#include "common/dnsprop.h"
#include "reports/reports.h"
#include "resolvers/resolvers.h"

/* ---- answers (monitor/answer.c) ---- */
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

/* ---- checks (monitor/checks.c, monitor/check_m365.c, monitor/dnsname.c) ---- */
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
};
/* Parses the text of a --domains file (len bytes): one domain a line,
 * optionally ",profile" (CSV; fields may be double-quoted), '#' comment lines,
 * blank lines, CRLF or LF, an optional header "domain[,profile]". Domains are
 * normalized with dnsname_normalize(); a repeated domain is refused. *out is
 * malloc'd (caller frees), *n its count (at least 1). Returns 0, DP_EINPUT with
 * "FNAME:LINE: ..." in err, or DP_ENOMEM. */
int check_domains_parse(const char *text, size_t len, const char *fname, enum profile dflt,
                        struct check_domain **out, size_t *n, char *err, size_t errlen);
/* ---- delegation (monitor/delegation.c) ---- */
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
    char *text;             /* owned: the answer text (reports/reports.h, DELEG_TEXT);
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

/* ---- engine (monitor/engine.c) ---- */
/*
 * The query engine: sends one DNS question to one server over UDP (EDNS0,
 * buffer 1232; TCP when the reply is truncated or when asked) and judges the
 * reply. Everything runs on the caller's libuv loop; nothing blocks.
 *
 * Transport: UDP sockets bound to port 0 so the kernel picks a random source
 * port, each talking to one server, with IP_RECVERR so ICMP port/host
 * unreachable comes back at once; a socket carries up to opts.share queries
 * to its server at once and opts.reuse in all, then a fresh one takes over. A fresh random ID
 * (getrandom) per attempt; a reply to any earlier attempt of the same query still counts. A
 * datagram counts only if its source address and port, its ID and its question (name
 * case-insensitively, type, class) match; anything else is dropped, counted, and the query keeps
 * waiting. A datagram from the right source with a right ID whose question
 * matches (or cannot be read) but whose body does not parse ends the query as
 * OBS_MALFORMED.
 *
 * Timing: attempt k (0-based) of n waits timeout * 2(k+1)/(n+1) before the next
 * one goes out (linear backoff: 0.5t, t, 1.5t for n = 3), so a silent server
 * holds a query exactly timeout x tries from its first send. After a truncated
 * reply a single TCP attempt gets a fresh timeout; a query submitted with
 * tcp = true makes one TCP attempt with the whole budget timeout x tries.
 */
#include <sys/socket.h>
#include <uv.h>

struct ldns_struct_pkt;
struct engine;

struct engine_opts {
    uint64_t timeout_ms; /* per attempt, default 2000 */
    unsigned tries;      /* attempts, default 3 (1..16) */
    unsigned rate;       /* queries per second to any one server address:port; 0 = no limit
                            (default 20). Retries and TCP fallbacks count against it too. */
    unsigned inflight;   /* queries in flight at once overall (default 256); capped at
                            a quarter of the RLIMIT_NOFILE soft limit */
    unsigned share;      /* queries in flight at once on one UDP socket (1..64, default 8);
                            their IDs differ */
    unsigned reuse;      /* queries one UDP socket takes in all before it is closed (default
                            64); share = reuse = 1: a socket and source port per query.
                            bench/bench_engine.sh against knotd on loopback measured
                            about 65k q/s with share/reuse 1/1, 154k with 1/16 and 177k
                            with 8/64 */
};

/* Fills *o with the defaults above. */
void engine_opts_default(struct engine_opts *o);

struct engine_result {
    enum obs_status status;
    int rcode;          /* -1 when no reply */
    bool tcp;           /* the answer came over TCP */
    int64_t latency_ms; /* of the attempt that answered; -1 none */
    int64_t ttl; /* smallest TTL in the answer (the CNAME chain included); for nxdomain and nodata
                    min(SOA TTL, SOA MINIMUM) from the authority section; -1 none */
    const char *answer;       /* normalized RRset (answer_from_rrs) of the asked type after
                                 following the CNAME chain inside the reply; "" when none.
                                 Borrowed: valid only during the callback */
    const char *cname_target; /* target of a CNAME at the asked name itself (qtype != CNAME),
                                 lower-cased with final dot, else NULL; valid during the callback */
    const struct ldns_struct_pkt *reply; /* parsed reply, valid during the callback; NULL none */
};

typedef void (*engine_cb)(const struct engine_result *r, void *arg);

struct engine_query {
    const struct sockaddr *sa; /* the server; copied */
    socklen_t salen;
    const char *qname; /* copied; with or without final dot */
    uint16_t qtype;
    bool rd;  /* recursion desired (resolvers) or not (authoritative) */
    bool tcp; /* go straight to TCP (dig's +tcp) */
    engine_cb cb;
    void *arg;
};

/* Makes an engine on loop. o may be NULL for the defaults. Returns 0 and
 * *out (freed by engine_close), or DP_EINPUT / DP_ENOMEM / a libuv code. */
int engine_new(uv_loop_t *loop, const struct engine_opts *o, struct engine **out);

/* Queues a query. Returns 0, and cb is then called exactly once, later, from
 * the loop (never from inside engine_submit); or a negative code (DP_EINPUT for
 * a bad name or address, DP_ENOMEM, UV_ECANCELED once closing) and cb is never
 * called. Queries wait in a FIFO per server while the server's rate or the
 * in-flight cap holds them back; servers take turns. */
int engine_submit(struct engine *e, const struct engine_query *q);

/* Shuts the engine down. Every query still queued or in flight completes at
 * once, from inside engine_close, with status OBS_TIMEOUT (rcode -1, answer
 * ""), in no particular order; engine_submit from those callbacks fails with
 * UV_ECANCELED. Every handle is then closed and memory is freed in the close
 * callbacks: the caller runs the loop until it is empty. */
void engine_close(struct engine *e);

struct engine_stats {
    uint64_t submitted;     /* queries accepted by engine_submit */
    uint64_t completed;     /* callbacks made */
    uint64_t sent;          /* UDP datagrams and TCP messages sent (retries included) */
    uint64_t received;      /* replies accepted (matched a query) */
    uint64_t dropped;       /* datagrams/messages that matched nothing, or were cut short */
    uint64_t retries;       /* UDP attempts after the first */
    uint64_t tcp_fallbacks; /* truncated UDP replies followed by TCP */
    uint64_t timeouts, unreachable, malformed; /* queries that ended so */
    uint64_t queued;                           /* now: waiting for the rate or in-flight cap */
    uint64_t inflight;                         /* now: on the wire */
    uint64_t inflight_max;                     /* the largest in-flight count seen */
};
void engine_get_stats(const struct engine *e, struct engine_stats *s);

/* Pure and reentrant, for fuzzing: judges reply as the answer to (qname, qtype).
 * Fills r->status, r->rcode and r->ttl (other fields untouched), *answer
 * (malloc'd, caller frees; "" when none) and *cname_target (malloc'd or NULL).
 * Returns 0, DP_EMALFORMED when the reply is unusable (not a response, bad
 * opcode), DP_EINPUT for a bad qname, or DP_ENOMEM; on error *answer and
 * *cname_target are NULL. Truncation is not judged here. */
int engine_judge_reply(const struct ldns_struct_pkt *reply, const char *qname, uint16_t qtype,
                       struct engine_result *r, char **answer, char **cname_target);
/* The same with the name already parsed (the engine keeps it per query). */
struct ldns_struct_rdf;
int engine_judge_reply_name(const struct ldns_struct_pkt *reply,
                            const struct ldns_struct_rdf *qname, uint16_t qtype,
                            struct engine_result *r, char **answer, char **cname_target);

/* "queued", "sending", ... for -v logs; "?" for an unknown value. */
const char *engine_state_name(int state);
/* ---- rounds (monitor/round.c) ---- */
#define ROUND_MAX_TARGETS 16 /* MX targets resolved per answer */

/* One monitored domain and how it is judged. */
struct round_domain {
    char name[DNSNAME_BUFLEN];     /* normalized: ASCII, lower case, no final dot */
    enum profile profile;          /* the domain's profile (--profile or its --domains line) */
    const struct check_plan *plan; /* borrowed: checks, expectations */
};

/* What every round asks. Everything is borrowed and must outlive the rounds. */
struct round_cfg {
    const struct round_domain *domains;
    size_t ndomains;
    const struct rlist *resolvers; /* asked with RD set */
    const struct rlist *authority; /* asked with RD clear; NULL: discovered from NS every round */
    const struct rlist *parent;    /* delegation: the parent zone's servers (--parent); NULL:
                                      found through the resolvers every round */
    const char *vantage;
    int verbose;
};

struct round;
typedef void (*round_done_cb)(struct round *r, void *arg);

/* Starts round `number`: discovery (when cfg->authority is NULL), then every
 * check's questions to every server, then the MX targets. `done` runs once,
 * from the loop, when every answer is in; then round_rows() gives the rows.
 * Returns 0, or a negative code when nothing could be asked (no round). */
int round_start(uv_loop_t *loop, struct engine *engine, const struct round_cfg *cfg,
                uint32_t number, round_done_cb done, void *arg, struct round **out);
/* The rows, ordered by domain, check, question, server; valid until
 * round_free(). Returns 0, or the internal error the round met (rows may be
 * partial then). */
int round_rows(const struct round *r, const struct obs **rows, size_t *n);
/* Queries answered and submitted so far (for a progress line). */
void round_progress(const struct round *r, size_t *done, size_t *total);
void round_free(struct round *r);

/* ---- check, watch and demo runs (monitor/options.c, monitor/run.c) ---- */
struct run_opts {
    const char *dir;          /* --dir, NULL: ./dnsprop-<first domain> */
    const char *domains_file; /* --domains */
    const char *resolvers;    /* --resolvers SPEC, NULL: the built-in list */
    const char *authority;    /* --authority SPEC, NULL: discovered */
    const char *parent;       /* --parent SPEC (delegation), NULL: discovered */
    const char *checks;       /* --checks */
    const char **expect;      /* owned array of borrowed --expect values */
    size_t nexpect;
    const char *profile; /* --profile */
    bool single_mx;
    uint64_t interval_ms, window_ms;
    int64_t since; /* -1: the first round in the log */
    bool until_converged;
    struct engine_opts engine;
    const char *vantage; /* NULL: the host name */
    bool quiet;
    int verbose;
    const char **domains; /* owned array of borrowed positional domains */
    size_t ndomains;
};
void run_opts_init(struct run_opts *o);
void run_opts_deinit(struct run_opts *o);
/* Parses the options of check (watch: also --interval, --until-converged).
 * argv[0] is the command name. Bad usage: one line on stderr, DP_EINPUT. */
int run_opts_parse(struct run_opts *o, const char *cmd, int argc, char **argv, bool watch);

/* Everything a run needs, checked before anything is created or changed. */
struct run_setup {
    char *dir;                    /* owned */
    struct check_plan plan;       /* owned */
    struct round_domain *domains; /* owned */
    size_t ndomains;
    struct report_settings *settings;  /* owned: one per domain */
    struct rlist resolvers, authority; /* owned */
    struct rlist parent;               /* owned: --parent */
    struct round_cfg cfg;              /* points into the above */
    char vantage[256];
};
/* Builds the setup from options; bad input: one line on stderr, DP_EINPUT. */
int run_setup_build(struct run_setup *s, const struct run_opts *o, const char *cmd);
void run_setup_deinit(struct run_setup *s);

/* An observer of a run (the demo). */
struct run_hooks {
    /* after each round, with its rows and outcome; returns true to stop */
    bool (*on_round)(void *arg, const struct obs *rows, size_t n, const struct report_outcome *out);
    /* when the run closes its handles: close yours too, so the loop can end */
    void (*on_close)(void *arg);
    void *arg;
};
/* Runs one round (check) or rounds until the window ends (watch) on `loop`,
 * then closes every handle it opened and runs the loop until they are closed.
 * Returns the exit status of the last round (enum dp_exit). */
int run_rounds(uv_loop_t *loop, const struct run_opts *o, struct run_setup *setup, const char *cmd,
               bool watch, const struct run_hooks *hooks);
/* ---- demo world (monitor/demo_*.c) ---- */
/* A simulated DNS world for `dnsprop demo`, all inside the process on one
 * libuv loop, on 127.0.0.1 only: one authoritative server and several caching
 * resolvers speaking real DNS over UDP and TCP (messages built and parsed with
 * ldns). The resolvers fetch from the authoritative server and cache answers
 * with their TTLs counting down, so what a watch sees converge is behaviour.
 * The authoritative server holds contoso.test. and, inside this world only,
 * stand-ins for outlook.com. and onmicrosoft.com. (the targets of the move to
 * Microsoft 365); no query ever leaves loopback. */
#include <uv.h>

#define DEMO_DOMAIN "contoso.test"

enum demo_resolver_kind {
    DEMO_PLAIN,    /* caches as RFC 1035/2308 say; primed before the move */
    DEMO_COLD,     /* caches normally but is not primed */
    DEMO_TWO_MX,   /* merges a refetched MX RRset with the one it held: two MX */
    DEMO_STRETCH,  /* caches `stretch` times longer than the TTL said */
    DEMO_SILENT,   /* never answers */
    DEMO_SERVFAIL, /* answers every query with SERVFAIL */
};

struct demo_resolver_info {
    const char *name;    /* static: "plain1", "twomx", ... */
    const char *address; /* owned by the world: "127.0.0.1:PORT" */
    const char *kind;    /* static: "plain", "cold", "two-mx", "stretch", "silent", "servfail" */
    enum demo_resolver_kind kind_id;
    int64_t prime_age_ms; /* primed as if fetched this long before; -1 = not primed */
};

/* Zero means the default. */
struct demo_world_opts {
    uint32_t old_ttl;             /* s: TTL of every contoso.test record before the move,
                                   * and the SOA's TTL and negative TTL; default 10 */
    uint32_t new_ttl;             /* s: TTL of the records the move brings; default 3600 */
    unsigned stretch;             /* factor of the stretching resolver; default 3 */
    uint64_t upstream_timeout_ms; /* resolvers' wait per upstream try (2 tries); default 1000 */
};

struct demo_world;

/* Binds the authoritative server and the resolvers on 127.0.0.1 (free ports
 * chosen by the kernel; UDP and TCP on the same port) and loads the zone as it
 * is before the move. o may be NULL. On success *out is the world, freed by
 * demo_world_close. Returns 0, DP_ENOMEM, or a libuv code (nothing is left open
 * on failure once the loop has run the close callbacks). */
int demo_world_start(uv_loop_t *loop, const struct demo_world_opts *o, struct demo_world **out);

/* "127.0.0.1:PORT" of the authoritative server (owned by the world). */
const char *demo_world_auth_address(const struct demo_world *w);

/* The resolvers, in a fixed order; *v points into the world. Returns the count. */
size_t demo_world_resolvers(const struct demo_world *w, const struct demo_resolver_info **v);

/* The resolvers as a resolver list file (PRODUCT.md section 5): the header
 * "name,address,operator,country" and one line a resolver, the operator being
 * "demo <kind>", CRLF line ends. On success *out is malloc'd (caller frees).
 * Returns 0 or DP_ENOMEM. */
int demo_world_resolvers_csv(const struct demo_world *w, char **out);

/* Called once when priming has finished; failed counts the lookups that got
 * no usable answer (0 when all is well). */
typedef void (*demo_world_cb)(struct demo_world *w, unsigned failed, void *arg);

/* Has every primed resolver fetch the demo's names from the authoritative
 * server over the wire, as a client's query would, and back-dates each
 * resolver's cache entries by its prime_age_ms (as if fetched that long ago),
 * so that their copies of the old records expire at different moments.
 * cb runs on the loop when all lookups are done. Returns 0 or DP_ENOMEM. */
int demo_world_prime(struct demo_world *w, demo_world_cb cb, void *arg);

/* Moves contoso.test to Microsoft 365 on the authoritative server, at once:
 * one MX contoso-test.mail.protection.outlook.com., SPF with
 * include:spf.protection.outlook.com, autodiscover CNAME, DKIM CNAMEs, DMARC;
 * bumps the SOA serial. Returns 0 or DP_ENOMEM (zone unchanged). */
int demo_world_move_mx(struct demo_world *w);

/* The SOA serial the authoritative server currently serves. */
uint32_t demo_world_serial(const struct demo_world *w);

/* Counts for the curious (and the tests). */
struct demo_world_stats {
    uint64_t auth_queries;      /* queries the authoritative server answered */
    uint64_t resolver_queries;  /* queries reaching any resolver */
    uint64_t cache_hits;        /* answered from a fresh cache entry */
    uint64_t upstream_fetches;  /* upstream lookups started */
    uint64_t upstream_dropped;  /* upstream replies dropped (wrong source, ID, question) */
    uint64_t upstream_failures; /* upstream lookups that timed out or failed */
};
void demo_world_get_stats(const struct demo_world *w, struct demo_world_stats *s);

/* Stops everything: cancels upstream lookups (primes in flight count as
 * failed, their cb is not called), closes every handle. The world is freed in
 * the last close callback, so run the loop afterwards. */
void demo_world_close(struct demo_world *w);

/* Commands: each takes the arguments after the command name (argv[0] is the
 * command name itself) and returns the process exit status (enum dp_exit). */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
