/*
 * The demo world's insides, shared by monitor/demo/demo_*.c only (not part of
 * the demo's public interface, demo.h).
 *
 * demo_world.c   the world: lifecycle, UDP/TCP listeners, requests, replies
 * demo_zone.c    the zone data and the authoritative answers
 * demo_resolver.c the caching resolvers
 * demo_upstream.c the resolvers' small upstream client
 */
#ifndef DNSPROP_DEMO_INTERNAL_H
#define DNSPROP_DEMO_INTERNAL_H

#include "demo.h"

#include <netinet/in.h>

#include <ldns/ldns.h>
#include <uv.h>

#define DEMO_UDP_MAX   1232 /* the largest UDP reply we send (PRODUCT.md section 8) */
#define DEMO_MAX_CONNS 64   /* TCP connections per server at once */
#define DEMO_MAX_ZONES 3

/* One cached answer of a resolver, keyed by (qname, qtype). */
struct demo_cache_entry {
    ldns_rdf *qname; /* owned */
    ldns_rr_type qtype;
    ldns_pkt_rcode rcode;          /* NOERROR or NXDOMAIN */
    ldns_rr_list *answer;          /* owned; TTLs as they count down from stored_ms */
    ldns_rr_list *authority;       /* owned; the SOA of a negative answer, TTL = negative TTL */
    int64_t stored_ms;             /* loop time of the fetch (earlier when primed with an age) */
    int64_t expires_ms;            /* stored_ms + the smallest TTL */
    struct demo_cache_entry *next; /* owned: the rest of the list */
};

struct demo_tcpconn;

/* One server: the authoritative one or a resolver. Lives in the world's array. */
struct demo_server {
    struct demo_world *world;        /* not owned */
    bool auth;                       /* the authoritative server, else a resolver */
    struct demo_resolver_info *info; /* not owned: points into world->infos (resolvers) */
    struct sockaddr_in sa;           /* where it listens */
    char address[32];                /* "127.0.0.1:PORT" */
    uv_udp_t udp;                    /* handle->data = this server */
    uv_tcp_t tcp;
    bool udp_open, tcp_open;                              /* initialized, so to be closed */
    struct demo_cache_entry *cache;                       /* owned list */
    struct demo_cache_entry *site_cache[DEMO_POOL_SITES]; /* owned lists: a pool's caches */
    struct demo_tcpconn *conns; /* live TCP connections; each frees itself */
    unsigned nconns;
    uint8_t rbuf[65536]; /* UDP receive buffer: parsed at once in the callback */
};

/* One query being answered. Freed by demo__reply or demo__req_drop. */
struct demo_req {
    struct demo_server *srv;      /* not owned */
    struct demo_tcpconn *conn;    /* a reference held (TCP), or NULL (UDP) */
    struct sockaddr_storage peer; /* UDP: where the reply goes */
    ldns_pkt *query;              /* owned */
    size_t udp_limit;             /* the largest UDP reply this client takes */
    int site;                     /* the pool's cache that answers; -1: the server's own */
};

/* The upstream client's completion: status 0 and reply (owned by the callee,
 * who frees it), or a negative code (UV_ETIMEDOUT, UV_ECANCELED, ...) and NULL. */
typedef void (*demo__upstream_cb)(void *arg, int status, ldns_pkt *reply);

struct demo_upq;

struct demo_world {
    uv_loop_t *loop;                /* not owned */
    struct demo_world_opts opts;    /* with the defaults filled in */
    ldns_rr_list *records;          /* owned: every record of every zone held */
    ldns_rdf *apex[DEMO_MAX_ZONES]; /* owned: the zones held */
    size_t nzones;
    uint32_t serial;
    bool moved;
    struct demo_server *servers; /* owned array; [0] is the authoritative server */
    size_t nservers;
    struct demo_resolver_info *infos; /* owned array, one per resolver */
    size_t ninfos;
    struct demo_upq *upqs; /* upstream lookups in flight; each frees itself */
    unsigned open_handles; /* handles not yet through their close callback */
    bool closing;
    unsigned prime_pending, prime_failed;
    demo_world_cb prime_cb;
    void *prime_arg;
    struct demo_world_stats stats;
    uint64_t rng; /* xorshift state: which cache of a pool a query lands on */
};

/* demo_world.c */
/* A reply to q with its ID, opcode, RD and question, QR set, rcode; EDNS (our
 * buffer size) when q had it. NULL when out of memory. */
ldns_pkt *demo__reply_new(const ldns_pkt *q, ldns_pkt_rcode rcode);
/* Sends reply (owned, freed here) for req and frees req. */
void demo__reply(struct demo_req *req, ldns_pkt *reply);
/* Frees req without answering. */
void demo__req_drop(struct demo_req *req);
void demo__handle_opened(struct demo_world *w);
void demo__handle_closed(struct demo_world *w);
/* One priming lookup has ended (failed: it got no usable answer). */
void demo__prime_done(struct demo_world *w, bool failed);

/* demo_zone.c */
/* Loads the zones as they are before (moved false) or after the move. 0 or DP_ENOMEM. */
int demo__zone_load(struct demo_world *w, bool moved);
void demo__zone_free(struct demo_world *w);
/* The authoritative answer to q (owned by the caller), or NULL when out of memory. */
ldns_pkt *demo__auth_answer(struct demo_world *w, const ldns_pkt *q);

/* demo_resolver.c */
void demo__resolver_query(struct demo_server *s, struct demo_req *req);
/* Fetches (qname, qtype) into s's cache (each cache of a pool) with no client waiting
 * (priming). Returns the number of fetches started (each ends in demo__prime_done), or
 * DP_ENOMEM / a libuv code. */
int demo__resolver_prime(struct demo_server *s, const char *qname, ldns_rr_type qtype);
void demo__cache_free(struct demo_server *s);

/* demo_upstream.c */
/* Asks `to` for (qname, qtype, IN) with RD clear and EDNS, over UDP (TCP when
 * the reply is truncated); a random ID and source port; a reply counts only if
 * its source, ID and question match. Tries twice, timeout_ms each.
 * cb runs exactly once, never from inside this call. Returns 0 or DP_ENOMEM /
 * a libuv code (then cb never runs). */
int demo__upstream_query(struct demo_world *w, const struct sockaddr_in *to, const ldns_rdf *qname,
                         ldns_rr_type qtype, demo__upstream_cb cb, void *arg);
/* Cancels every lookup in flight: each cb runs with UV_ECANCELED. */
void demo__upstream_cancel_all(struct demo_world *w);

#endif
