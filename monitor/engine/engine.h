/*
 * engine: how queries go out (engine.c) and how a reply is judged
 * (engine_judge.c). Uses rules/ for the text form of answers.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_ENGINE_H
#define DNSPROP_ENGINE_H

#include "dnsprop.h"
#include "obs.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * The query engine: sends one DNS question to one server over UDP (EDNS0,
 * buffer 1232; TCP when the reply is truncated or when asked) and judges the
 * reply. Everything runs on the caller's libuv loop; nothing blocks.
 *
 * Transport: UDP sockets bound to port 0 so the kernel picks a random source
 * port, each connected to one server (datagrams from other sources never reach
 * the engine), with IP_RECVERR so ICMP port/host
 * unreachable comes back at once; a socket carries up to opts.share queries
 * to its server at once and opts.reuse in all, then a fresh one takes over. A fresh random ID
 * (getrandom) per attempt; a reply to any earlier attempt of the same query still counts. A
 * datagram counts only if its source address and port, its ID and its question (name
 * case-insensitively, type, class) match; anything else is dropped, counted, and the query keeps
 * waiting. A datagram from the right source with a right ID whose question
 * matches (or cannot be read) but whose body does not parse ends the query as
 * OBS_MALFORMED. The one exception to the question rule: an error reply (rcode
 * not NOERROR) with no question section at all, from the right source and ID,
 * is taken as that rcode at once, as BIND does (servers that cannot parse a
 * query, or refuse it early, answer so); with no question and NOERROR it is
 * dropped.
 *
 * EDNS: every query carries an OPT record (buffer 1232) with an empty NSID
 * option (RFC 5001), so that anycast sites and load-balanced caches say who
 * answered (engine_result.site). A FORMERR, NOTIMP or BADVERS reply over UDP
 * to a query with EDNS is asked once more without EDNS (RFC 6891 6.2.2),
 * with fresh IDs and the whole timeout x tries budget; over TCP such a reply
 * is the answer.
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
    const struct ldns_struct_pkt *reply; /* the parsed reply when the query asked for it
                                            (want_reply), valid during the callback; else
                                            NULL, and NULL when no reply came */
    const char *site; /* the reply's NSID (RFC 5001): printable ASCII as is, else lower-case
                         hex; "" when none. Borrowed: valid during the callback */
    const char *ede;  /* the reply's Extended DNS Error INFO-CODEs (RFC 8914), decimal,
                         ';'-joined in the order received (at most ENGINE_EDE_MAX); ""
                         when none. Valid during the callback */
};
#define ENGINE_EDE_MAX 16

typedef void (*engine_cb)(const struct engine_result *r, void *arg);

struct engine_query {
    const struct sockaddr *sa; /* the server; copied */
    socklen_t salen;
    const char *qname; /* copied; with or without final dot */
    uint16_t qtype;
    bool rd;         /* recursion desired (resolvers) or not (authoritative) */
    bool tcp;        /* go straight to TCP (dig's +tcp) */
    bool want_reply; /* the callback reads result.reply (the whole message as an ldns_pkt);
                        without it the engine reads only what the verdict needs, without
                        an ldns_pkt (engine_internal.h: struct engine__wire) */
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
    uint64_t submitted;      /* queries accepted by engine_submit */
    uint64_t completed;      /* callbacks made */
    uint64_t sent;           /* UDP datagrams and TCP messages sent (retries included) */
    uint64_t received;       /* replies accepted (matched a query) */
    uint64_t dropped;        /* datagrams/messages that matched nothing, or were cut short */
    uint64_t retries;        /* UDP attempts after the first */
    uint64_t tcp_fallbacks;  /* truncated UDP replies followed by TCP */
    uint64_t edns_fallbacks; /* FORMERR/NOTIMP/BADVERS to EDNS, asked again without it */
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

/* Pure, for fuzzing too: the reply's NSID and Extended DNS Errors as the
 * `site` and `ede` columns write them (see struct engine_result), read from
 * the OPT record with ldns's option list (which ldns caches in the packet,
 * hence not const). A reply without EDNS, or whose options do not parse,
 * has neither. *site and *ede are malloc'd (caller frees). Returns 0 or
 * DP_ENOMEM (then both are NULL). */
int engine_reply_site_ede(struct ldns_struct_pkt *reply, char **site, char **ede);
#endif
