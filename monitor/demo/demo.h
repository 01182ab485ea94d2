/*
 * demo: the simulated DNS world of `dnsprop demo` (demo_*.c; their shared
 * insides are demo_internal.h). Linked only into the demo command and the
 * tests.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_DEMO_H
#define DNSPROP_DEMO_H

#include "dnsprop.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* A simulated DNS world for `dnsprop demo`, all inside the process on one
 * libuv loop, on 127.0.0.1 only: one authoritative server and several caching
 * resolvers speaking real DNS over UDP and TCP (messages built and parsed with
 * ldns). The resolvers fetch from the authoritative server and cache answers
 * with their TTLs counting down, so what a watch sees converge is behaviour.
 * The authoritative server holds contoso.test. and, inside this world only,
 * stand-ins for outlook.com. and onmicrosoft.com. (the targets of the move to
 * Microsoft 365); no query ever leaves loopback. */

#define DEMO_DOMAIN "contoso.test"

enum demo_resolver_kind {
    DEMO_PLAIN,    /* caches as RFC 1035/2308 say; primed before the move */
    DEMO_COLD,     /* caches normally but is not primed */
    DEMO_TWO_MX,   /* merges a refetched MX RRset with the one it held: two MX */
    DEMO_STRETCH,  /* caches `stretch` times longer than the TTL said */
    DEMO_SILENT,   /* never answers */
    DEMO_SERVFAIL, /* answers every query with SERVFAIL */
    DEMO_POOL,     /* DEMO_POOL_SITES caches behind one address, as anycast sites or a load
                    * balancer: each query lands on one at random; each answers NSID with its
                    * name ("pool-a", ...) when asked (RFC 5001), and each was primed at
                    * another moment, so their copies of the old records expire apart */
};

#define DEMO_POOL_SITES 3

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

#endif
