/*
 * The query engine: how one DNS question goes out and how its reply is taken
 * in (PRODUCT.md section 8). The scheduler decides when; this file decides how.
 *
 * Each query is one struct equery, a state machine (queued, sending, waiting,
 * retrying, tcp, done) owning a TCP connection when it needs one, and holding
 * a place on a UDP socket that the engine owns. Its message and the asked name
 * live in the struct (the name is a view of the question's bytes). A query
 * over UDP owns no handle, so it is done with at once; one that opened a TCP
 * connection waits for the connection's close callback. Done structs are kept
 * on a spare list (at most the in-flight cap) for the next submit.
 *
 * Timeouts: every query of an engine has the same timeout, but the waits of
 * its attempts differ (see engine.h), so one engine-wide timer serves them
 * all from a binary heap of the queries that wait, ordered by the loop time
 * each is due (ties in the order they were set), the timer armed for the
 * head. A query that ends early leaves the heap and the others' places stay
 * right; the timer may then fire for nothing and is armed again for the new
 * head. This is what a libuv timer per query did, without a handle to
 * initialise, start, stop and close for each.
 *
 * Sockets: each UDP socket is bound to port 0, so the kernel picks a random
 * source port, and talks to one server only, so with IP_RECVERR an ICMP
 * unreachable on it is that server's and "nothing listening" ends at once
 * instead of after timeout x tries. A socket carries up to opts.share queries
 * to its server at once (a reply is matched to one of them by its ID, which
 * is unique on the socket) and up to opts.reuse queries in all; then it is
 * closed when its last query ends and a fresh one (a fresh port) takes over.
 * Each socket is connected to its server (uv_udp_connect), so a send names no
 * address and skips the route lookup, and the kernel itself drops datagrams
 * from any other source (the source is still checked here too).
 * Opening a socket costs six syscalls (socket, setsockopt, bind, connect,
 * epoll add, close) against two for a query, and a socket that holds several replies
 * when the loop reads it pays the read that finds it empty (libuv reads until
 * EAGAIN) once for all of them; bench/bench_engine.sh measured the figures
 * quoted in engine.h. With share = reuse = 1 every query gets a socket and
 * port of its own. A late reply that matches no query on its socket is
 * dropped and counted. Sockets stay under half the RLIMIT_NOFILE soft limit:
 * busy ones at most the in-flight cap, idle ones (no query, kept for the next)
 * at most as many again. A socket has at most share replies due at a time:
 * 8 replies of up to 1232 bytes (the EDNS size asked for) fill a small part
 * of the default SO_RCVBUF (212992 bytes on Linux).
 *
 * Queries wait in a FIFO per server address:port (a token bucket each) and
 * servers with waiting queries sit in a ring served round-robin, so one busy
 * server cannot starve the others. One "pump" timer starts waiting queries:
 * at once after a submit or a completion, or when the next token is due.
 */
#include "engine.h"
#include "engine_internal.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>

#include <ldns/ldns.h>

#define ENGINE_MAX_TRIES     16
#define ENGINE_EDNS_BUF      1232
#define ENGINE_RECV_BUF      65536 /* one datagram at most; libuv's recvmmsg wants this much each */
#define ENGINE_RECV_BATCH    8 /* datagrams one read takes in (recvmmsg): opts.share's default */
#define ENGINE_HASH_SIZE     1024
#define ENGINE_RAND_POOL     256
#define ENGINE_HDR           12 /* DNS header length */
#define ENGINE_MIN_NOFILE    64 /* descriptors left for everything else */
#define ENGINE_DEFAULT_REUSE 64
#define ENGINE_DEFAULT_SHARE 8
#define ENGINE_MAX_SHARE     64
#define ENGINE_OPT_LEN       15 /* the OPT record: root, type, class, TTL, RDLENGTH, NSID */
#define ENGINE_RCODE_BADVERS 16 /* RFC 6891: an extended rcode, 1 in the OPT TTL's top byte */

/* A query's state: what the loop may deliver to it next. Only states that
 * last between two callbacks of the loop are named; sending an attempt is
 * done within one call and is no state of its own (the query is QUEUED until
 * its first attempt is out, WAITING again once the next one is).
 *   QUEUED  -> WAITING  q_start(): the first UDP attempt is out, its timeout set
 *   QUEUED  -> TCP      q_start(): asked for TCP, the connection is under way
 *   QUEUED  -> DONE     q_start() found no room for its timeout or no socket, or
 *                       engine_close() took it off the FIFO
 *   WAITING -> WAITING  its timeout came with tries left (q_timeout), or the
 *                       server refused EDNS (q_plain_again): another attempt
 *   WAITING -> TCP      a truncated reply (TC): the same question over TCP
 *   WAITING -> DONE     an answer, a failure, the last timeout, engine_close()
 *   TCP     -> DONE     an answer, a failure, the timeout, engine_close()
 * DONE is final: the callback has been made once; the struct goes (to the
 * spare list) at once over UDP, in the TCP handle's close callback else. */
enum equery_state {
    EQ_QUEUED = 0, /* not started: in its server's FIFO (or being taken off it by q_start) */
    EQ_WAITING,    /* a UDP attempt is out, its timeout in the heap */
    EQ_TCP,        /* over TCP: connecting, writing or reading */
    EQ_DONE,       /* callback made; handles closing */
};

struct eserver;
struct engine;

/* The query message: the TCP length, the header, the question (a name of at
 * most LDNS_MAX_DOMAINLEN bytes, type, class), the OPT record. */
#define ENGINE_WIRE_MAX  (2 + ENGINE_HDR + LDNS_MAX_DOMAINLEN + 4 + ENGINE_OPT_LEN)
#define ENGINE_NO_HEAP   SIZE_MAX /* equery.hidx: no timeout running */
#define ENGINE_PLAIN_MAX 250      /* names this long or shorter, without '\', cut here */

/* One outstanding query. */
struct equery {
    struct engine *e;    /* not owned */
    struct eserver *srv; /* not owned: the engine's server table owns it */
    enum equery_state state;
    struct equery *qnext; /* in srv's FIFO while queued */
    struct equery *aprev; /* in e->active while in flight */
    struct equery *anext;

    ldns_rdf qname; /* the asked name, for question matching and judging: a view of
                       its bytes in wire's question (no allocation of its own) */
    uint16_t qtype;
    bool want_tcp;
    bool want_reply; /* the callback reads engine_result.reply: parse with ldns_wire2pkt() */
    bool edns;       /* the message in wire carries the OPT record (cleared for the plain retry) */
    engine_cb cb;    /* caller's; called once */
    void *arg;       /* caller's, not owned */

    uint8_t wire[ENGINE_WIRE_MAX]; /* 2-byte TCP length then the query message */
    size_t wirelen;                /* of the message, without the length */

    uint64_t due;     /* loop time (ms) its timeout fires, while in the engine's heap */
    uint64_t due_seq; /* order among equal due times: when each was set */
    size_t hidx;      /* its place in e->heap; ENGINE_NO_HEAP when no timeout runs */

    struct esock *sock; /* the UDP socket in use, lent by the engine; NULL none */
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wreq;
    bool tcp_open;
    unsigned open_handles; /* the struct is freed when this drops to 0 */

    uint16_t ids[ENGINE_MAX_TRIES];     /* ID of each UDP attempt */
    uint64_t sent_ns[ENGINE_MAX_TRIES]; /* uv_hrtime() when each went out */
    unsigned attempts;                  /* UDP attempts sent */
    uint64_t deadline;                  /* loop time (ms) the UDP budget ends */

    uint16_t tcp_id;
    uint64_t tcp_sent_ns;
    uint8_t lenbuf[2];
    size_t got;    /* bytes of the current TCP message read, length included */
    uint8_t *body; /* owned: the TCP message being read (<= 65535 bytes) */
    size_t bodylen;
};

/* One UDP socket, bound to a random port and talking to one server: up to
 * opts.share queries at once, opts.reuse in all. */
struct esock {
    uv_udp_t h;                              /* data -> this socket */
    struct engine *e;                        /* not owned */
    struct eserver *srv;                     /* not owned */
    struct equery *owners[ENGINE_MAX_SHARE]; /* the queries using it, not owned */
    unsigned nowners;
    unsigned uses;       /* queries it has taken */
    bool broken;         /* saw an error: takes no more queries */
    bool listed;         /* in srv's list of sockets that can take a query */
    struct esock *lprev; /* that list */
    struct esock *lnext;
};

/* One server address:port: its rate bucket and its FIFO of waiting queries. */
struct eserver {
    struct sockaddr_storage sa;
    socklen_t salen;
    struct eserver *hnext; /* hash chain; the engine owns every server */
    struct eserver *rprev; /* ring of servers with waiting queries */
    struct eserver *rnext;
    bool in_ring;
    struct equery *qhead; /* FIFO; the queries are owned by the engine */
    struct equery *qtail;
    double tokens;
    uint64_t refill_at;  /* loop time of the last refill */
    struct esock *avail; /* sockets that can take another query, most recently freed first;
                            the engine owns them */
};

struct engine {
    uv_loop_t *loop; /* not owned */
    struct engine_opts o;
    unsigned cap; /* effective in-flight cap */
    struct engine_stats st;
    struct eserver *servers[ENGINE_HASH_SIZE];
    struct eserver *ring; /* next server to serve; NULL when none waits */
    size_t ring_len;
    struct equery *active; /* in-flight queries */
    uv_timer_t pump;
    uint64_t pump_due; /* loop time the pump is armed for; UINT64_MAX when not */
    bool closing;
    bool pump_closed;
    uv_timer_t tmo;        /* every query's timeout: armed for heap[0]'s due time */
    uint64_t tmo_due;      /* loop time tmo is armed for; UINT64_MAX when not */
    bool tmo_closed;       /* its close callback has run */
    bool in_tmo;           /* on_tmo runs: it arms tmo itself when done */
    struct equery **heap;  /* owned array (not the queries): min-heap by (due, due_seq) */
    size_t nheap, heapcap; /* nheap <= queries in flight <= heapcap */
    uint64_t tmo_seq;
    struct equery *spare; /* owned: done structs for the next submit, chained by qnext */
    size_t nspare;
    uint64_t live;  /* queries allocated and not yet freed */
    uint64_t socks; /* UDP sockets open or closing */
    uint64_t idle;  /* of which idle: open, no query */
    uint8_t rand[ENGINE_RAND_POOL];
    size_t rand_left;
    struct engine__wire wire; /* the reply being judged, read without an ldns_pkt; its
                                 lists serve one reply after the other */
    /* the site and EDE codes of the last OPT RDATA read (all owned; opt_site NULL:
     * none yet): a server sends the same NSID every time */
    uint8_t *opt_rdata;
    size_t opt_len;
    char *opt_site, *opt_ede;
    /* shared by every socket: the datagrams one read took in are handled
     * before the next read */
    uint8_t recvbuf[ENGINE_RECV_BATCH * ENGINE_RECV_BUF];
};

static void q_finish(struct equery *q, struct engine_result *r);
static void q_start_tcp(struct equery *q, uint64_t timeout);
static void pump_at(struct engine *e, uint64_t due);

void engine_opts_default(struct engine_opts *o)
{
    o->timeout_ms = 2000;
    o->tries = 3;
    o->rate = 20;
    o->inflight = 256;
    o->reuse = ENGINE_DEFAULT_REUSE;
    o->share = ENGINE_DEFAULT_SHARE;
}

/* ---- small helpers ---- */

static uint16_t engine_random_id(struct engine *e)
{
    if (e->rand_left < 2) {
        ssize_t n = getrandom(e->rand, sizeof e->rand, 0);
        /* getrandom on a pool this small does not fail once the system has
         * booted; if it ever does, fall back to libuv's own CSPRNG source */
        if (n != (ssize_t)sizeof e->rand &&
            uv_random(NULL, NULL, e->rand, sizeof e->rand, 0, NULL) != 0)
            memset(e->rand, 0, sizeof e->rand);
        e->rand_left = sizeof e->rand;
    }
    e->rand_left -= 2;
    return (uint16_t)(e->rand[e->rand_left] << 8 | e->rand[e->rand_left + 1]);
}

static unsigned sa_hash(const struct sockaddr *sa)
{
    const uint8_t *p;
    size_t n;
    uint16_t port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)sa;
        p = (const uint8_t *)&s->sin_addr;
        n = sizeof s->sin_addr;
        port = s->sin_port;
    } else {
        const struct sockaddr_in6 *s = (const void *)sa;
        p = (const uint8_t *)&s->sin6_addr;
        n = sizeof s->sin6_addr;
        port = s->sin6_port;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h % ENGINE_HASH_SIZE;
}

static struct eserver *server_get(struct engine *e, const struct sockaddr *sa, socklen_t salen)
{
    unsigned h = sa_hash(sa);
    for (struct eserver *s = e->servers[h]; s != NULL; s = s->hnext)
        if (dp_sockaddr_equal(sa, (const struct sockaddr *)&s->sa))
            return s;
    struct eserver *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    memcpy(&s->sa, sa, salen);
    s->salen = salen;
    s->tokens = e->o.rate > 0 ? fmax(1.0, e->o.rate / 100.0) : 0;
    s->refill_at = uv_now(e->loop);
    s->hnext = e->servers[h];
    e->servers[h] = s;
    return s;
}

/* Bucket size: 10 ms worth of queries, at least one. */
static void server_refill(struct engine *e, struct eserver *s, uint64_t now)
{
    if (e->o.rate == 0 || now <= s->refill_at)
        return;
    double cap = fmax(1.0, e->o.rate / 100.0);
    s->tokens = fmin(cap, s->tokens + (double)(now - s->refill_at) * e->o.rate / 1000.0);
    s->refill_at = now;
}

/* A retry or a TCP fallback spends a token without waiting for one, so the
 * average rate holds while a query in flight is never held back. */
static void server_spend(struct engine *e, struct eserver *s)
{
    if (e->o.rate == 0)
        return;
    server_refill(e, s, uv_now(e->loop));
    if (s->tokens > -(double)e->o.rate)
        s->tokens -= 1;
}

static void ring_add(struct engine *e, struct eserver *s)
{
    if (s->in_ring)
        return;
    s->in_ring = true;
    e->ring_len++;
    if (e->ring == NULL) {
        s->rnext = s->rprev = s;
        e->ring = s;
    } else { /* just before the cursor: served last in this turn */
        s->rnext = e->ring;
        s->rprev = e->ring->rprev;
        s->rprev->rnext = s;
        e->ring->rprev = s;
    }
}

static void ring_remove(struct engine *e, struct eserver *s)
{
    if (!s->in_ring)
        return;
    s->in_ring = false;
    e->ring_len--;
    if (s->rnext == s) {
        e->ring = NULL;
    } else {
        s->rprev->rnext = s->rnext;
        s->rnext->rprev = s->rprev;
        if (e->ring == s)
            e->ring = s->rnext;
    }
    s->rnext = s->rprev = NULL;
}

static void active_add(struct engine *e, struct equery *q)
{
    q->aprev = NULL;
    q->anext = e->active;
    if (e->active != NULL)
        e->active->aprev = q;
    e->active = q;
}

static void active_remove(struct engine *e, struct equery *q)
{
    if (q->aprev != NULL)
        q->aprev->anext = q->anext;
    else
        e->active = q->anext;
    if (q->anext != NULL)
        q->anext->aprev = q->aprev;
    q->aprev = q->anext = NULL;
}

/* ---- lifetime ---- */

static void engine_maybe_free(struct engine *e)
{
    if (!e->closing || !e->pump_closed || !e->tmo_closed || e->live > 0 || e->socks > 0)
        return;
    while (e->spare != NULL) {
        struct equery *q = e->spare;
        e->spare = q->qnext;
        free(q);
    }
    free(e->heap);
    engine__wire_deinit(&e->wire);
    free(e->opt_rdata);
    free(e->opt_site);
    free(e->opt_ede);
    for (size_t i = 0; i < ENGINE_HASH_SIZE; i++) {
        struct eserver *s = e->servers[i];
        while (s != NULL) {
            struct eserver *next = s->hnext;
            free(s);
            s = next;
        }
    }
    free(e);
}

/* Frees a query that has no open handle left, or keeps the struct for the
 * next submit while the engine runs and fewer than cap are kept. */
static void q_free(struct equery *q)
{
    struct engine *e = q->e;
    free(q->body);
    q->body = NULL;
    if (!e->closing && e->nspare < e->cap) {
        q->qnext = e->spare;
        e->spare = q;
        e->nspare++;
    } else {
        free(q);
    }
    e->live--;
    engine_maybe_free(e);
}

/* A zeroed struct for a new query: a spare one, or a new one. NULL: no memory. */
static struct equery *q_alloc(struct engine *e)
{
    struct equery *q = e->spare;
    if (q == NULL)
        return calloc(1, sizeof *q);
    e->spare = q->qnext;
    e->nspare--;
    memset(q, 0, sizeof *q);
    return q;
}

/* ---- the timeouts: one timer, a heap of the queries that wait ---- */

static bool tmo_before(const struct equery *a, const struct equery *b)
{
    return a->due < b->due || (a->due == b->due && a->due_seq < b->due_seq);
}

static void heap_put(struct engine *e, size_t i, struct equery *q)
{
    e->heap[i] = q;
    q->hidx = i;
}

static void heap_up(struct engine *e, size_t i)
{
    struct equery *q = e->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!tmo_before(q, e->heap[parent]))
            break;
        heap_put(e, i, e->heap[parent]);
        i = parent;
    }
    heap_put(e, i, q);
}

static void heap_down(struct engine *e, size_t i)
{
    struct equery *q = e->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->nheap)
            break;
        if (c + 1 < e->nheap && tmo_before(e->heap[c + 1], e->heap[c]))
            c++;
        if (!tmo_before(e->heap[c], q))
            break;
        heap_put(e, i, e->heap[c]);
        i = c;
    }
    heap_put(e, i, q);
}

static void on_tmo(uv_timer_t *t);

/* Arms the timer for the head of the heap unless it is armed for that time
 * already; stops it when no query waits, so an idle engine does not keep the
 * caller's loop running. */
static void tmo_arm(struct engine *e)
{
    if (e->closing || e->in_tmo)
        return;
    if (e->nheap == 0) {
        if (e->tmo_due != UINT64_MAX)
            uv_timer_stop(&e->tmo);
        e->tmo_due = UINT64_MAX;
        return;
    }
    uint64_t due = e->heap[0]->due;
    if (due == e->tmo_due)
        return;
    uint64_t now = uv_now(e->loop);
    e->tmo_due = due;
    uv_timer_start(&e->tmo, on_tmo, due > now ? due - now : 0, 0);
}

/* Takes q's timeout off the heap, if it has one. The timer stays armed for
 * what was the head (firing then for nothing costs less than re-arming at
 * every early answer) unless no query waits at all. */
static void tmo_stop(struct equery *q)
{
    struct engine *e = q->e;
    size_t i = q->hidx;
    if (i == ENGINE_NO_HEAP)
        return;
    q->hidx = ENGINE_NO_HEAP;
    struct equery *last = e->heap[--e->nheap];
    if (i < e->nheap) {
        heap_put(e, i, last);
        heap_up(e, i);
        heap_down(e, last->hidx);
    }
    if (e->nheap == 0)
        tmo_arm(e);
}

/* q's timeout fires ms from now (loop time), replacing any it had. Cannot
 * fail: q_start made room in the heap for every query in flight. */
static void tmo_start(struct equery *q, uint64_t ms)
{
    struct engine *e = q->e;
    tmo_stop(q);
    q->due = uv_now(e->loop) + ms;
    q->due_seq = e->tmo_seq++;
    heap_put(e, e->nheap++, q);
    heap_up(e, q->hidx);
    if (e->heap[0] == q)
        tmo_arm(e);
}

/* Room in the heap for n queries. Returns 0 or DP_ENOMEM. */
static int tmo_reserve(struct engine *e, size_t n)
{
    if (n <= e->heapcap)
        return 0;
    size_t cap = e->heapcap ? e->heapcap * 2 : 64;
    while (cap < n)
        cap *= 2;
    struct equery **h = realloc(e->heap, cap * sizeof *h);
    if (h == NULL)
        return DP_ENOMEM;
    e->heap = h;
    e->heapcap = cap;
    return 0;
}

static void on_q_close(uv_handle_t *h)
{
    struct equery *q = h->data;
    if (--q->open_handles == 0)
        q_free(q);
}

/* ---- UDP sockets ---- */

static void on_sock_close(uv_handle_t *h)
{
    struct esock *k = h->data;
    struct engine *e = k->e;
    free(k);
    e->socks--;
    engine_maybe_free(e);
}

static void sock_list(struct esock *k)
{
    struct eserver *s = k->srv;
    if (k->listed)
        return;
    k->listed = true;
    k->lprev = NULL;
    k->lnext = s->avail;
    if (s->avail != NULL)
        s->avail->lprev = k;
    s->avail = k;
}

static void sock_unlist(struct esock *k)
{
    if (!k->listed)
        return;
    k->listed = false;
    if (k->lprev != NULL)
        k->lprev->lnext = k->lnext;
    else
        k->srv->avail = k->lnext;
    if (k->lnext != NULL)
        k->lnext->lprev = k->lprev;
    k->lprev = k->lnext = NULL;
}

/* Closes a socket that has no query left. */
static void sock_close(struct esock *k)
{
    sock_unlist(k);
    if (!uv_is_closing((uv_handle_t *)&k->h))
        uv_close((uv_handle_t *)&k->h, on_sock_close);
}

/* Whether the socket can take another query once it has room. */
static bool sock_usable(const struct esock *k)
{
    return !k->broken && !k->e->closing && k->uses < k->e->o.reuse;
}

/* Takes the query off its socket. A socket left without queries is kept idle
 * for the next query to its server while it may serve more, closed otherwise;
 * one with room goes (back) on its server's list. */
static void sock_release(struct equery *q)
{
    struct esock *k = q->sock;
    struct engine *e = q->e;
    if (k == NULL)
        return;
    q->sock = NULL;
    for (unsigned i = 0; i < k->nowners; i++)
        if (k->owners[i] == q) {
            k->owners[i] = k->owners[--k->nowners];
            break;
        }
    if (k->nowners == 0) {
        if (!sock_usable(k) || e->idle >= e->cap) {
            sock_close(k);
            return;
        }
        e->idle++;
        /* an idle socket must not keep the caller's loop running */
        uv_unref((uv_handle_t *)&k->h);
    }
    if (sock_usable(k))
        sock_list(k);
    else
        sock_unlist(k);
}

/* The socket is of no more use (an ICMP error, a failed send): every query on
 * it ends as unreachable (they all ask its one server), and it closes. */
static void q_fail(struct equery *q, enum obs_status status);
static void sock_fail(struct esock *k)
{
    k->broken = true;
    sock_unlist(k);
    if (k->nowners == 0) {
        if (!uv_is_closing((uv_handle_t *)&k->h)) {
            k->e->idle--;
            sock_close(k);
        }
        return;
    }
    /* each q_fail takes its query off the socket; the last one closes it */
    while (k->nowners > 0) {
        struct equery *q = k->owners[k->nowners - 1];
        if (q->state == EQ_DONE) /* cannot happen: q_finish releases first */
            sock_release(q);
        else
            q_fail(q, OBS_UNREACHABLE);
    }
}

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags);

/* Puts q on a socket for its server: one with room, or a new one bound to
 * port 0 so the kernel picks a random source port. Returns 0 or a libuv error
 * (EAFNOSUPPORT on a host without IPv6, EMFILE, ...). */
static int sock_get(struct equery *q)
{
    struct engine *e = q->e;
    struct eserver *srv = q->srv;
    struct esock *k = srv->avail;
    if (k != NULL) {
        if (k->nowners == 0) {
            e->idle--;
            uv_ref((uv_handle_t *)&k->h);
        }
    } else {
        int family = srv->sa.ss_family;
        k = calloc(1, sizeof *k);
        if (k == NULL)
            return UV_ENOMEM;
        /* UV_UDP_RECVMMSG: one recvmmsg takes in every reply waiting (up to
         * ENGINE_RECV_BATCH), where recvmsg took one per call */
        int rc = uv_udp_init_ex(e->loop, &k->h, (unsigned)family | UV_UDP_RECVMMSG);
        if (rc != 0) {
            free(k);
            return rc;
        }
        k->h.data = k;
        k->e = e;
        k->srv = srv;
        e->socks++;
        struct sockaddr_storage any;
        memset(&any, 0, sizeof any);
        if (family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&any;
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&any;
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_any;
        }
        /* IP_RECVERR: ICMP unreachable comes back as an error on this socket,
         * which talks to one server only, so it is that server's */
        rc = uv_udp_bind(&k->h, (const struct sockaddr *)&any, UV_UDP_LINUX_RECVERR);
        /* connected to its one server: each send skips the address and the
         * route lookup, and the kernel drops datagrams from anyone else
         * (on_udp_recv still checks the source itself) */
        if (rc == 0)
            rc = uv_udp_connect(&k->h, (const struct sockaddr *)&srv->sa);
        if (rc == 0)
            rc = uv_udp_recv_start(&k->h, on_udp_alloc, on_udp_recv);
        if (rc != 0) {
            sock_close(k);
            return rc;
        }
        sock_list(k);
    }
    k->owners[k->nowners++] = q;
    k->uses++;
    if (k->nowners >= e->o.share || !sock_usable(k))
        sock_unlist(k);
    q->sock = k;
    return 0;
}

static void q_close_handle(uv_handle_t *h, bool *open)
{
    if (!*open)
        return;
    *open = false;
    uv_close(h, on_q_close);
}

static void q_close_all(struct equery *q)
{
    sock_release(q);
    tmo_stop(q);
    q_close_handle((uv_handle_t *)&q->tcp, &q->tcp_open);
    if (q->open_handles == 0)
        q_free(q);
}

static void result_none(struct engine_result *r, enum obs_status status, bool tcp)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->rcode = -1;
    r->tcp = tcp;
    r->latency_ms = -1;
    r->ttl = -1;
    r->answer = "";
    r->site = "";
    r->ede = "";
}

/* The one place a query ends: the callback, then its handles close. */
static void q_finish(struct equery *q, struct engine_result *r)
{
    struct engine *e = q->e;
    if (q->state == EQ_DONE)
        return;
    q->state = EQ_DONE;
    active_remove(e, q);
    e->st.inflight--;
    e->st.completed++;
    if (r->status == OBS_TIMEOUT)
        e->st.timeouts++;
    else if (r->status == OBS_UNREACHABLE)
        e->st.unreachable++;
    else if (r->status == OBS_MALFORMED)
        e->st.malformed++;
    /* off its socket before the callback, which may close the engine */
    sock_release(q);
    q->cb(r, q->arg);
    q_close_all(q);
    if (!e->closing)
        pump_at(e, uv_now(e->loop));
}

static void q_fail(struct equery *q, enum obs_status status)
{
    struct engine_result r;
    result_none(&r, status, q->state == EQ_TCP);
    q_finish(q, &r);
}

/* The full rcode: 4 bits in the header, 8 more in the OPT record. */
static int full_rcode(const ldns_pkt *pkt)
{
    return (int)ldns_pkt_get_rcode(pkt) | ((int)ldns_pkt_edns_extended_rcode(pkt) << 4);
}

static void udp_send_attempt(struct equery *q);

/* The server did not take the query with EDNS (FORMERR, NOTIMP, BADVERS:
 * RFC 6891 6.2.2): ask once more without the OPT record, as a fresh UDP
 * query on the same socket with new IDs (replies to the EDNS attempts no
 * longer count) and the whole timeout x tries budget. */
static void q_plain_again(struct equery *q)
{
    struct engine *e = q->e;
    e->st.edns_fallbacks++;
    q->edns = false;
    q->wirelen -= ENGINE_OPT_LEN;
    q->wire[2 + 10] = 0; /* ARCOUNT: nothing after the question now */
    q->wire[2 + 11] = 0;
    tmo_stop(q);
    q->attempts = 0;
    q->deadline = uv_now(e->loop) + e->o.timeout_ms * e->o.tries;
    server_spend(e, q->srv);
    udp_send_attempt(q); /* WAITING again, or DONE when the socket failed */
}

/* The reply's site and EDE codes (engine__site_ede) into *site and *ede,
 * borrowed from e. They depend on the OPT RDATA's bytes alone, so when
 * these are the last reply's the last reply's texts are the answer, without
 * ldns reading the options into a list again (a list and an allocation per
 * option, built and freed for every reply). Returns 0 or DP_ENOMEM. */
static int q_site_ede(struct engine *e, const struct engine__reply *v, ldns_pkt *pkt,
                      const char **site, const char **ede)
{
    const uint8_t *d = ldns_rdf_data(v->edns_data);
    size_t n = ldns_rdf_size(v->edns_data);
    if (e->opt_site == NULL || n != e->opt_len || memcmp(d, e->opt_rdata, n) != 0) {
        char *s = NULL, *c = NULL;
        uint8_t *copy = malloc(n);
        if (copy == NULL || (pkt != NULL ? engine_reply_site_ede(pkt, &s, &c)
                                         : engine__wire_site_ede(&e->wire, &s, &c)) != 0) {
            free(copy);
            return DP_ENOMEM;
        }
        memcpy(copy, d, n);
        free(e->opt_rdata);
        free(e->opt_site);
        free(e->opt_ede);
        e->opt_rdata = copy;
        e->opt_len = n;
        e->opt_site = s;
        e->opt_ede = c;
    }
    *site = e->opt_site;
    *ede = e->opt_ede;
    return 0;
}

/* Judges a reply and ends the query with it, or asks once more without
 * EDNS when the reply says EDNS was the trouble. v is what the judge reads
 * of it: of pkt (owned: freed here), or with pkt NULL of e->wire (cleared
 * here). */
static void q_answer(struct equery *q, const struct engine__reply *v, ldns_pkt *pkt,
                     uint64_t sent_ns, bool tcp)
{
    struct engine *e = q->e;
    struct engine_result r;
    char *answer = NULL, *cname = NULL;
    int rcode = v->rcode;
    if (!tcp && q->edns && q->sock != NULL &&
        (rcode == LDNS_RCODE_FORMERR || rcode == LDNS_RCODE_NOTIMPL ||
         rcode == ENGINE_RCODE_BADVERS)) {
        if (pkt != NULL)
            ldns_pkt_free(pkt);
        else
            engine__wire_clear(&e->wire);
        q_plain_again(q);
        return;
    }
    result_none(&r, OBS_MALFORMED, tcp);
    r.latency_ms = (int64_t)((uv_hrtime() - sent_ns) / 1000000u);
    int rc = engine__judge(v, &q->qname, q->qtype, &r, &answer, &cname);
    if (rc != 0) {
        r.status = OBS_MALFORMED;
        r.ttl = -1;
        r.rcode = rcode & 0x0f; /* the header's */
    }
    r.answer = answer != NULL ? answer : "";
    r.cname_target = cname;
    /* without memory for them the answer still counts, with no site or codes;
     * an OPT record without options (most replies) has neither to read */
    if (v->edns_data != NULL && ldns_rdf_size(v->edns_data) > 0 &&
        q_site_ede(e, v, pkt, &r.site, &r.ede) != 0) {
        r.site = "";
        r.ede = "";
    }
    r.reply = q->want_reply ? pkt : NULL;
    q_finish(q, &r);
    free(answer);
    free(cname);
    if (pkt != NULL)
        ldns_pkt_free(pkt);
    else
        engine__wire_clear(&e->wire);
}

/* Judges a parsed reply (ownership taken), as q_answer(). */
static void q_answer_pkt(struct equery *q, ldns_pkt *pkt, uint64_t sent_ns, bool tcp)
{
    struct engine__reply v;
    engine__reply_of_pkt(&v, pkt);
    q_answer(q, &v, pkt, sent_ns, tcp);
}

/* Reads the reply m, whose one question matched and ends at qend, and
 * judges it: straight from the wire unless the query wants the whole
 * ldns_pkt, or the wire reading leaves it to ldns_wire2pkt(). Returns 0, or
 * -1 when it does not parse (the query goes on: the caller ends it). */
static int q_reply(struct equery *q, const uint8_t *m, size_t len, size_t qend, uint64_t sent_ns,
                   bool tcp)
{
    struct engine *e = q->e;
    if (!q->want_reply && engine__wire_read(&e->wire, m, len, qend) == 0) {
        q_answer(q, &e->wire.v, NULL, sent_ns, tcp);
        return 0;
    }
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK || pkt == NULL)
        return -1;
    q_answer_pkt(q, pkt, sent_ns, tcp);
    return 0;
}

/* ---- matching ---- */

enum match {
    MATCH_DROP,      /* not ours: count and keep waiting */
    MATCH_OK,        /* ours, question matches */
    MATCH_MALFORMED, /* ours (source and ID), question unreadable */
    MATCH_NOQ,       /* ours (source and ID), no question section: counts only as an error */
};

/* Whether the message's question is ours. The ID was checked by the caller.
 * With MATCH_OK, *qend is the offset after the question. */
static enum match question_matches(const struct equery *q, const uint8_t *m, size_t len,
                                   size_t *qend)
{
    if (len < ENGINE_HDR)
        return MATCH_DROP;
    if ((m[2] & 0x80) == 0) /* QR clear: a query, not a reply */
        return MATCH_DROP;
    if (m[4] == 0 && m[5] == 0) /* no question: FORMERR, REFUSED and the like */
        return MATCH_NOQ;
    if (m[4] != 0 || m[5] != 1) /* else QDCOUNT must be 1 */
        return MATCH_DROP;
    /* the common case without ldns: the name in the reply is our own name's
     * wire bytes, letters in any case (no compression pointer, the same
     * labels), so it reads as the same name and ends at the same offset */
    size_t nlen = ldns_rdf_size(&q->qname);
    if (ENGINE_HDR + nlen + 4 <= len &&
        engine__wire_name_same(m + ENGINE_HDR, ldns_rdf_data(&q->qname), nlen)) {
        const uint8_t *t = m + ENGINE_HDR + nlen;
        uint16_t type = (uint16_t)(t[0] << 8 | t[1]);
        uint16_t cls = (uint16_t)(t[2] << 8 | t[3]);
        *qend = ENGINE_HDR + nlen + 4;
        return type == q->qtype && cls == LDNS_RR_CLASS_IN ? MATCH_OK : MATCH_DROP;
    }
    ldns_rdf *name = NULL;
    size_t pos = ENGINE_HDR;
    if (ldns_wire2dname(&name, m, len, &pos) != LDNS_STATUS_OK || name == NULL)
        return MATCH_MALFORMED;
    bool same = ldns_dname_compare(name, &q->qname) == 0;
    ldns_rdf_deep_free(name);
    if (pos + 4 > len)
        return MATCH_MALFORMED;
    uint16_t type = (uint16_t)(m[pos] << 8 | m[pos + 1]);
    uint16_t cls = (uint16_t)(m[pos + 2] << 8 | m[pos + 3]);
    if (!same || type != q->qtype || cls != LDNS_RR_CLASS_IN)
        return MATCH_DROP;
    *qend = pos + 4;
    return MATCH_OK;
}

/* A reply without a question section, from the right source with a right
 * ID, counts only when it parses and says an error (rcode not NOERROR): the
 * server could not, or would not, take the query. Anything else without a
 * question is no answer to anything. Returns the parsed reply (the caller
 * owns it) or NULL: drop it. */
static ldns_pkt *noq_error(const uint8_t *m, size_t len)
{
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK || pkt == NULL)
        return NULL;
    if (full_rcode(pkt) == LDNS_RCODE_NOERROR) {
        ldns_pkt_free(pkt);
        return NULL;
    }
    return pkt;
}

/* ---- UDP ---- */

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct esock *k = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)k->e->recvbuf, sizeof k->e->recvbuf);
}

/* The wait after attempt k (0-based) of n: timeout * 2(k+1)/(n+1), so the n
 * waits sum to timeout x n; the last one runs to the deadline. */
static uint64_t udp_wait(const struct equery *q, uint64_t now)
{
    const struct engine *e = q->e;
    uint64_t left = q->deadline > now ? q->deadline - now : 0;
    if (q->attempts >= e->o.tries)
        return left;
    uint64_t k = q->attempts - 1;
    uint64_t w = e->o.timeout_ms * 2 * (k + 1) / (e->o.tries + 1);
    return w < left ? w : left;
}

/* Whether a query on socket k has sent an attempt with this ID. */
static bool sock_id_taken(const struct esock *k, uint16_t id)
{
    for (unsigned i = 0; i < k->nowners; i++) {
        const struct equery *o = k->owners[i];
        for (unsigned a = 0; a < o->attempts; a++)
            if (o->ids[a] == id)
                return true;
    }
    return false;
}

/* Sends the next UDP attempt with a fresh ID, one no other attempt on the
 * socket has. A send that fails for a reason other than a full buffer means
 * the server cannot be reached: every query on the socket ends (q too). */
static void udp_send_attempt(struct equery *q)
{
    struct engine *e = q->e;
    uint16_t id;
    do
        id = engine_random_id(e);
    while (sock_id_taken(q->sock, id));
    q->ids[q->attempts] = id;
    q->wire[2] = (uint8_t)(id >> 8);
    q->wire[3] = (uint8_t)id;
    q->sent_ns[q->attempts] = uv_hrtime();
    q->attempts++;
    uv_buf_t b = uv_buf_init((char *)q->wire + 2, (unsigned)q->wirelen);
    int rc = uv_udp_try_send(&q->sock->h, &b, 1, NULL); /* connected: to its server */
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS || rc == UV_ENOMEM)
        rc = 0; /* a full send buffer is a lost datagram: the next attempt covers it */
    else if (rc >= 0) {
        e->st.sent++;
        rc = 0;
    }
    if (rc != 0) {
        sock_fail(q->sock);
        return;
    }
    q->state = EQ_WAITING;
    tmo_start(q, udp_wait(q, uv_now(e->loop)));
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    struct esock *k = h->data;
    struct engine *e = k->e;
    if (nread < 0) { /* with IP_RECVERR: ICMP unreachable and friends */
        if (!uv_is_closing((uv_handle_t *)h))
            sock_fail(k);
        return;
    }
    if (addr == NULL) /* nothing more to read, or (UV_UDP_MMSG_FREE) the batch is done */
        return;
    const uint8_t *m = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    if ((flags & UV_UDP_PARTIAL) || len < ENGINE_HDR ||
        !dp_sockaddr_equal(addr, (const struct sockaddr *)&k->srv->sa)) {
        e->st.dropped++;
        return;
    }
    /* the query on this socket that sent an attempt with this ID; none for a
     * late reply to a query already done */
    uint16_t id = (uint16_t)(m[0] << 8 | m[1]);
    struct equery *q = NULL;
    unsigned which = 0;
    for (unsigned i = 0; i < k->nowners && q == NULL; i++)
        for (unsigned a = 0; a < k->owners[i]->attempts; a++)
            if (k->owners[i]->ids[a] == id) {
                q = k->owners[i];
                which = a;
                break;
            }
    if (q == NULL) {
        e->st.dropped++;
        return;
    }
    size_t qend = 0;
    enum match mt = question_matches(q, m, len, &qend);
    if (mt == MATCH_NOQ) {
        ldns_pkt *pkt = noq_error(m, len);
        if (pkt == NULL) {
            e->st.dropped++;
            return;
        }
        e->st.received++;
        q_answer_pkt(q, pkt, q->sent_ns[which], false);
        return;
    }
    if (mt == MATCH_DROP) {
        e->st.dropped++;
        return;
    }
    e->st.received++;
    if (mt == MATCH_MALFORMED) {
        q_fail(q, OBS_MALFORMED);
        return;
    }
    if (m[2] & 0x02) { /* TC: ask again over TCP */
        e->st.tcp_fallbacks++;
        sock_release(q);
        tmo_stop(q);
        server_spend(e, q->srv);
        q_start_tcp(q, e->o.timeout_ms);
        return;
    }
    if (q_reply(q, m, len, qend, q->sent_ns[which], false) != 0) {
        struct engine_result r;
        result_none(&r, OBS_MALFORMED, false);
        r.rcode = m[3] & 0x0f;
        r.latency_ms = (int64_t)((uv_hrtime() - q->sent_ns[which]) / 1000000u);
        q_finish(q, &r);
    }
}

static void q_start_udp(struct equery *q)
{
    struct engine *e = q->e;
    if (sock_get(q) != 0) {
        q_fail(q, OBS_UNREACHABLE);
        return;
    }
    q->deadline = uv_now(e->loop) + e->o.timeout_ms * e->o.tries;
    udp_send_attempt(q);
}

/* ---- TCP ---- */

static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct equery *q = h->data;
    (void)suggested;
    if (q->got < 2)
        *buf = uv_buf_init((char *)q->lenbuf + q->got, (unsigned)(2 - q->got));
    else /* exactly the rest of this message, so nothing of the next is read */
        *buf = uv_buf_init((char *)q->body + (q->got - 2), (unsigned)(q->bodylen - (q->got - 2)));
}

static void tcp_message(struct equery *q)
{
    struct engine *e = q->e;
    uint8_t *m = q->body;
    size_t len = q->bodylen;
    enum match mt = MATCH_DROP;
    ldns_pkt *pkt = NULL;
    size_t qend = 0;
    if (len >= ENGINE_HDR && (uint16_t)(m[0] << 8 | m[1]) == q->tcp_id)
        mt = question_matches(q, m, len, &qend);
    if (mt == MATCH_NOQ && (pkt = noq_error(m, len)) != NULL) {
        e->st.received++;
        q_answer_pkt(q, pkt, q->tcp_sent_ns, true);
        return;
    }
    if (mt == MATCH_DROP || mt == MATCH_NOQ) { /* not ours: wait for the next message */
        e->st.dropped++;
        free(q->body);
        q->body = NULL;
        q->got = 0;
        return;
    }
    e->st.received++;
    if (mt == MATCH_MALFORMED || q_reply(q, m, len, qend, q->tcp_sent_ns, true) != 0)
        q_fail(q, OBS_MALFORMED);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct equery *q = s->data;
    (void)buf;
    if (q->state != EQ_TCP)
        return;
    if (nread < 0) { /* EOF or reset before a whole reply */
        q_fail(q, OBS_UNREACHABLE);
        return;
    }
    q->got += (size_t)nread;
    if (q->got == 2 && q->body == NULL) {
        q->bodylen = (size_t)(q->lenbuf[0] << 8 | q->lenbuf[1]);
        if (q->bodylen == 0) {
            q->e->st.received++;
            q_fail(q, OBS_MALFORMED);
            return;
        }
        q->body = malloc(q->bodylen); /* at most 65535 bytes */
        if (q->body == NULL) {
            q_fail(q, OBS_MALFORMED);
            return;
        }
    }
    if (q->body != NULL && q->got == 2 + q->bodylen)
        tcp_message(q);
}

static void on_tcp_write(uv_write_t *w, int status)
{
    struct equery *q = w->data;
    if (status != 0 && status != UV_ECANCELED && q->state == EQ_TCP)
        q_fail(q, OBS_UNREACHABLE);
}

static void on_tcp_connect(uv_connect_t *c, int status)
{
    struct equery *q = c->data;
    if (q->state != EQ_TCP) /* finished (timeout, close) while connecting */
        return;
    if (status != 0) {
        q_fail(q, OBS_UNREACHABLE);
        return;
    }
    q->tcp_id = engine_random_id(q->e);
    q->wire[0] = (uint8_t)(q->wirelen >> 8);
    q->wire[1] = (uint8_t)q->wirelen;
    q->wire[2] = (uint8_t)(q->tcp_id >> 8);
    q->wire[3] = (uint8_t)q->tcp_id;
    uv_buf_t b = uv_buf_init((char *)q->wire, (unsigned)(q->wirelen + 2));
    q->wreq.data = q;
    q->tcp_sent_ns = uv_hrtime();
    int rc = uv_write(&q->wreq, (uv_stream_t *)&q->tcp, &b, 1, on_tcp_write);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&q->tcp, on_tcp_alloc, on_tcp_read);
    if (rc != 0) {
        q_fail(q, OBS_UNREACHABLE);
        return;
    }
    q->e->st.sent++;
}

/* One TCP attempt, timeout ms from now. */
static void q_start_tcp(struct equery *q, uint64_t timeout)
{
    struct engine *e = q->e;
    q->state = EQ_TCP;
    int rc = uv_tcp_init(e->loop, &q->tcp);
    if (rc != 0)
        goto fail;
    q->tcp.data = q;
    q->tcp_open = true;
    q->open_handles++;
    tmo_start(q, timeout);
    q->conn.data = q;
    rc = uv_tcp_connect(&q->conn, &q->tcp, (const struct sockaddr *)&q->srv->sa, on_tcp_connect);
    if (rc != 0)
        goto fail;
    return;
fail:
    q_fail(q, OBS_UNREACHABLE);
}

/* ---- the state machine's clock ---- */

/* q's timeout, taken off the heap: the next attempt or the end. */
static void q_timeout(struct equery *q)
{
    struct engine *e = q->e;
    switch (q->state) {
    case EQ_WAITING: {
        uint64_t now = uv_now(e->loop);
        if (q->attempts >= e->o.tries || now >= q->deadline) {
            q_fail(q, OBS_TIMEOUT);
            return;
        }
        e->st.retries++;
        server_spend(e, q->srv);
        udp_send_attempt(q); /* WAITING again, or DONE when the socket failed */
        return;
    }
    case EQ_TCP:
        q_fail(q, OBS_TIMEOUT);
        return;
    case EQ_QUEUED:
    case EQ_DONE:
        return; /* no timeout runs in these states */
    }
}

/* The engine's timer: every query due by now, in (due, due_seq) order; an
 * attempt sent meanwhile that is due at once is served in the same call, as a
 * libuv timer started with 0 from a timer callback would be. */
static void on_tmo(uv_timer_t *t)
{
    struct engine *e = t->data;
    uint64_t now = uv_now(e->loop);
    e->tmo_due = UINT64_MAX;
    e->in_tmo = true;
    /* q leaves the heap before q_timeout() may free it, so heap[0] is
     * always a live query (the analyzer cannot see that) */
    while (e->nheap > 0 && e->heap[0]->due <= now) { /* NOLINT(clang-analyzer-unix.Malloc) */
        struct equery *q = e->heap[0];
        tmo_stop(q);
        q_timeout(q);
    }
    e->in_tmo = false;
    tmo_arm(e);
}

static void q_start(struct equery *q)
{
    struct engine *e = q->e;
    active_add(e, q);
    e->st.queued--;
    e->st.inflight++;
    if (e->st.inflight > e->st.inflight_max)
        e->st.inflight_max = e->st.inflight;
    /* QUEUED until q_start_udp() or q_start_tcp() says otherwise; a place
     * in the heap for each query in flight, so tmo_start() cannot fail */
    if (tmo_reserve(e, e->st.inflight) != 0) {
        q_fail(q, OBS_UNREACHABLE);
        return;
    }
    if (q->want_tcp)
        q_start_tcp(q, e->o.timeout_ms * e->o.tries);
    else
        q_start_udp(q);
}

/* ---- the queue ---- */

static void on_pump(uv_timer_t *t);

/* Arms the pump for loop time due unless it already runs sooner. */
static void pump_at(struct engine *e, uint64_t due)
{
    if (e->closing || due >= e->pump_due)
        return;
    uint64_t now = uv_now(e->loop);
    e->pump_due = due;
    uv_timer_start(&e->pump, on_pump, due > now ? due - now : 0, 0);
}

/* Starts waiting queries, one per server per turn, while the in-flight cap
 * and the servers' buckets allow. */
static void on_pump(uv_timer_t *t)
{
    struct engine *e = t->data;
    uint64_t now = uv_now(e->loop);
    uint64_t next = UINT64_MAX;
    e->pump_due = UINT64_MAX;
    for (;;) {
        bool started = false;
        size_t n = e->ring_len;
        next = UINT64_MAX;
        /* one turn visits each server of the ring once; a server added
         * meanwhile (by a callback) waits for the next turn */
        for (size_t i = 0; i < n && e->ring != NULL && !e->closing && e->st.inflight < e->cap;
             i++) {
            struct eserver *s = e->ring;
            server_refill(e, s, now);
            if (e->o.rate > 0 && s->tokens < 1.0) {
                uint64_t wait = (uint64_t)ceil((1.0 - s->tokens) * 1000.0 / e->o.rate);
                if (now + (wait ? wait : 1) < next)
                    next = now + (wait ? wait : 1);
                e->ring = s->rnext;
                continue;
            }
            struct equery *q = s->qhead;
            s->qhead = q->qnext;
            if (s->qhead == NULL)
                s->qtail = NULL;
            q->qnext = NULL;
            if (e->o.rate > 0)
                s->tokens -= 1.0;
            e->ring = s->rnext;
            if (s->qhead == NULL)
                ring_remove(e, s);
            q_start(q);
            started = true;
        }
        if (!started || e->closing || e->ring == NULL || e->st.inflight >= e->cap)
            break;
    }
    if (!e->closing && e->ring != NULL && e->st.inflight < e->cap && next != UINT64_MAX)
        pump_at(e, next);
}

/* ---- public API ---- */

static void on_pump_close(uv_handle_t *h);

int engine_new(uv_loop_t *loop, const struct engine_opts *o, struct engine **out)
{
    struct engine_opts def;
    *out = NULL;
    if (o == NULL) {
        engine_opts_default(&def);
        o = &def;
    }
    if (o->timeout_ms == 0 || o->timeout_ms > 3600000 || o->tries == 0 ||
        o->tries > ENGINE_MAX_TRIES || o->inflight == 0 || o->reuse == 0 || o->share == 0 ||
        o->share > ENGINE_MAX_SHARE)
        return DP_EINPUT;
    struct engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return DP_ENOMEM;
    e->loop = loop;
    e->o = *o;
    e->cap = o->inflight;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* busy sockets <= cap, idle ones <= cap: together half the limit */
        rlim_t room = rl.rlim_cur > 4 * ENGINE_MIN_NOFILE ? rl.rlim_cur / 4 : 1;
        if (room < e->cap)
            e->cap = (unsigned)room;
    }
    e->pump_due = UINT64_MAX;
    e->tmo_due = UINT64_MAX;
    int rc = engine__wire_init(&e->wire);
    if (rc == 0)
        rc = uv_timer_init(loop, &e->pump);
    if (rc != 0) {
        engine__wire_deinit(&e->wire);
        free(e);
        return rc;
    }
    e->pump.data = e;
    rc = uv_timer_init(loop, &e->tmo);
    if (rc != 0) { /* libuv's timer init does not fail; if it ever does, the pump closes */
        e->closing = true;
        e->tmo_closed = true;
        uv_close((uv_handle_t *)&e->pump, on_pump_close);
        return rc;
    }
    e->tmo.data = e;
    *out = e;
    return 0;
}

/* The asked name in wire form into out (LDNS_MAX_DOMAINLEN bytes), its
 * length in *n. A plain name (no backslash, at most ENGINE_PLAIN_MAX characters,
 * labels of 1 to 63) is cut at its dots here, which is what ldns makes of
 * it; anything else goes to ldns_dname_new_frm_str, which decides (escapes,
 * the root, errors). Returns 0 or DP_EINPUT. */
static int qname_wire(const char *s, uint8_t *out, size_t *n)
{
    size_t len = strlen(s);
    bool plain = len > 1 && len <= ENGINE_PLAIN_MAX && memchr(s, '\\', len) == NULL;
    if (plain) {
        /* the text without its final dot goes after the first length byte;
         * each dot's place then takes the length of the label after it */
        size_t text = s[len - 1] == '.' ? len - 1 : len;
        memcpy(out + 1, s, text);
        size_t lab = 0; /* where the current label's length goes */
        for (const char *p = s, *end = s + text; plain;) {
            const char *dot = memchr(p, '.', (size_t)(end - p));
            size_t l = (size_t)((dot != NULL ? dot : end) - p);
            plain = l >= 1 && l <= LDNS_MAX_LABELLEN;
            out[lab] = (uint8_t)l;
            lab += l + 1;
            if (dot == NULL)
                break;
            p = dot + 1;
        }
        if (plain) { /* then the root */
            out[lab] = 0;
            *n = lab + 1;
            return 0;
        }
    }
    ldns_rdf *d = ldns_dname_new_frm_str(s);
    if (d == NULL)
        return DP_EINPUT;
    int rc = DP_EINPUT;
    if (ldns_rdf_size(d) >= 1 && ldns_rdf_size(d) <= LDNS_MAX_DOMAINLEN) {
        *n = ldns_rdf_size(d);
        memcpy(out, ldns_rdf_data(d), *n);
        rc = 0;
    }
    ldns_rdf_deep_free(d);
    return rc;
}

/* The query message, built straight into q->wire (after 2 bytes of room for
 * the TCP length) around the name qname_wire() put in its place: the header
 * with RD as asked and the ID filled in per attempt, the question (one name,
 * so nothing to compress), and an OPT record advertising ENGINE_EDNS_BUF with an empty
 * NSID option (RFC 5001 asks for it so). These are the
 * bytes ldns_pkt2wire() makes of the same query (tests/unit/test_engine.c
 * compares them), without its 64 KiB buffer and compression tree per query. */
static void query_wire(struct equery *q, size_t nlen, uint16_t qtype, bool rd)
{
    /* root, OPT, class = size, TTL 0, RDLENGTH 4: the NSID option, code 3, empty */
    static const uint8_t opt[ENGINE_OPT_LEN] = {
        0, 0, 41, ENGINE_EDNS_BUF >> 8, ENGINE_EDNS_BUF & 0xff, 0, 0, 0, 0, 0, 4, 0, LDNS_EDNS_NSID,
        0, 0};
    size_t len = ENGINE_HDR + nlen + 4 + sizeof opt;
    uint8_t *m = q->wire + 2;
    memset(m, 0, ENGINE_HDR);
    m[2] = rd ? 0x01 : 0x00;
    m[5] = 1;  /* QDCOUNT */
    m[11] = 1; /* ARCOUNT: the OPT record */
    uint8_t *p = m + ENGINE_HDR + nlen;
    p[0] = (uint8_t)(qtype >> 8);
    p[1] = (uint8_t)qtype;
    p[2] = 0;
    p[3] = LDNS_RR_CLASS_IN;
    memcpy(p + 4, opt, sizeof opt);
    q->wirelen = len;
    q->edns = true;
    ldns_rdf_set_size(&q->qname, nlen);
    ldns_rdf_set_type(&q->qname, LDNS_RDF_TYPE_DNAME);
    ldns_rdf_set_data(&q->qname, m + ENGINE_HDR);
}

int engine_submit(struct engine *e, const struct engine_query *in)
{
    int rc = DP_EINPUT;
    if (e->closing)
        return UV_ECANCELED;
    if (in == NULL || in->sa == NULL || in->qname == NULL || in->cb == NULL)
        return DP_EINPUT;
    if (!((in->sa->sa_family == AF_INET && in->salen >= sizeof(struct sockaddr_in)) ||
          (in->sa->sa_family == AF_INET6 && in->salen >= sizeof(struct sockaddr_in6))))
        return DP_EINPUT;
    socklen_t salen =
        in->sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    struct equery *q = q_alloc(e);
    if (q == NULL)
        return DP_ENOMEM;
    q->e = e;
    q->hidx = ENGINE_NO_HEAP;
    size_t nlen;
    if (qname_wire(in->qname, q->wire + 2 + ENGINE_HDR, &nlen) != 0)
        goto fail;
    query_wire(q, nlen, in->qtype, in->rd);
    rc = DP_ENOMEM;
    q->srv = server_get(e, in->sa, salen);
    if (q->srv == NULL)
        goto fail;
    q->qtype = in->qtype;
    q->want_tcp = in->tcp;
    q->want_reply = in->want_reply;
    q->cb = in->cb;
    q->arg = in->arg;
    q->state = EQ_QUEUED;
    if (q->srv->qtail != NULL)
        q->srv->qtail->qnext = q;
    else
        q->srv->qhead = q;
    q->srv->qtail = q;
    ring_add(e, q->srv);
    e->live++;
    e->st.submitted++;
    e->st.queued++;
    pump_at(e, uv_now(e->loop));
    return 0;
fail:
    free(q);
    return rc;
}

static void on_pump_close(uv_handle_t *h)
{
    struct engine *e = h->data;
    e->pump_closed = true;
    engine_maybe_free(e);
}

static void on_tmo_close(uv_handle_t *h)
{
    struct engine *e = h->data;
    e->tmo_closed = true;
    engine_maybe_free(e);
}

void engine_close(struct engine *e)
{
    if (e == NULL || e->closing)
        return;
    e->closing = true;
    uv_timer_stop(&e->pump);
    /* queued queries: never started, nothing open */
    while (e->ring != NULL) {
        struct eserver *s = e->ring;
        while (s->qhead != NULL) {
            struct equery *q = s->qhead;
            s->qhead = q->qnext;
            e->st.queued--;
            e->st.completed++;
            e->st.timeouts++;
            q->state = EQ_DONE;
            struct engine_result r;
            result_none(&r, OBS_TIMEOUT, q->want_tcp);
            q->cb(&r, q->arg);
            q_free(q); /* the engine itself lives on until its timers close */
        }
        s->qtail = NULL;
        ring_remove(e, s);
    }
    /* q_free() above cannot free e: engine_maybe_free() waits for the close
     * callbacks of the pump and the timeout timer, which run later from the loop */
    while (e->active != NULL)
        q_fail(e->active, OBS_TIMEOUT); /* NOLINT(clang-analyzer-unix.Malloc) */
    for (size_t i = 0; i < ENGINE_HASH_SIZE; i++)
        for (struct eserver *s = e->servers[i]; s != NULL; s = s->hnext)
            while (s->avail != NULL) /* idle ones: the rest closed with their queries */
                sock_fail(s->avail);
    uv_close((uv_handle_t *)&e->pump, on_pump_close);
    uv_close((uv_handle_t *)&e->tmo, on_tmo_close);
}

void engine_get_stats(const struct engine *e, struct engine_stats *s)
{
    *s = e->st;
}
