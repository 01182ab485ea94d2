/*
 * The demo world: its lifecycle, and the UDP and TCP listeners shared by the
 * authoritative server and the resolvers.
 *
 * Every server listens on 127.0.0.1 (never elsewhere) on a port the kernel
 * picks, UDP and TCP on the same port. A query becomes a struct demo_req; the
 * authoritative server answers it at once, a resolver perhaps later (after an
 * upstream fetch). Replies over UDP larger than the client's EDNS buffer (512
 * without EDNS, at most 1232) go out empty with TC set, so the client retries
 * over TCP. Every handle counts in world->open_handles and the world is freed
 * in the last close callback.
 */
#include "demo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP client connection. Freed when closed and no request or write holds it. */
struct demo_tcpconn {
    struct demo_server *srv; /* not owned */
    uv_tcp_t h;              /* h.data = this */
    unsigned refs;           /* 1 for the open handle, 1 per request, 1 per write */
    bool closing;
    size_t len;             /* bytes held in buf */
    uint8_t buf[2 + 65535]; /* one length-prefixed message at most */
    struct demo_tcpconn *prev, *next;
};

static void conn_close(struct demo_tcpconn *c);

struct demo_udp_send {
    uv_udp_send_t req;
    struct demo_world *w;
    uint8_t *wire; /* owned (ldns's malloc) */
};

struct demo_tcp_write {
    uv_write_t req;
    struct demo_tcpconn *conn; /* a reference held */
    uint8_t *wire;             /* owned: 2-byte length + message */
};

static const struct {
    const char *name;
    enum demo_resolver_kind kind;
    int age_fifths; /* prime age in fifths of old_ttl; -1: not primed */
} demo_resolver_plan[] = {
    {"plain1", DEMO_PLAIN, 0},    {"plain2", DEMO_PLAIN, 1},   {"plain3", DEMO_PLAIN, 2},
    {"plain4", DEMO_PLAIN, 3},    {"cold", DEMO_COLD, -1},     {"twomx", DEMO_TWO_MX, 0},
    {"stretch", DEMO_STRETCH, 0}, {"silent", DEMO_SILENT, -1}, {"servfail", DEMO_SERVFAIL, -1},
    {"pool", DEMO_POOL, 0}, /* its caches' ages: see demo_resolver.c */
};
#define DEMO_NRESOLVERS (sizeof demo_resolver_plan / sizeof demo_resolver_plan[0])

static const char *kind_name(enum demo_resolver_kind k)
{
    switch (k) {
    case DEMO_PLAIN:
        return "plain";
    case DEMO_COLD:
        return "cold";
    case DEMO_TWO_MX:
        return "two-mx";
    case DEMO_STRETCH:
        return "stretch";
    case DEMO_SILENT:
        return "silent";
    case DEMO_SERVFAIL:
        return "servfail";
    case DEMO_POOL:
        return "pool";
    }
    return "?";
}

void demo__handle_opened(struct demo_world *w)
{
    w->open_handles++;
}

static void world_free(struct demo_world *w)
{
    for (size_t i = 0; i < w->nservers; i++)
        demo__cache_free(&w->servers[i]);
    demo__zone_free(w);
    free(w->servers);
    free(w->infos);
    free(w);
}

void demo__handle_closed(struct demo_world *w)
{
    w->open_handles--;
    if (w->closing && w->open_handles == 0)
        world_free(w);
}

/* ---- requests and replies ---- */

static void conn_unref(struct demo_tcpconn *c)
{
    if (--c->refs == 0)
        free(c);
}

void demo__req_drop(struct demo_req *req)
{
    if (req->conn != NULL)
        conn_unref(req->conn);
    ldns_pkt_free(req->query);
    free(req);
}

ldns_pkt *demo__reply_new(const ldns_pkt *q, ldns_pkt_rcode rcode)
{
    ldns_pkt *r = ldns_pkt_new();
    if (r == NULL)
        return NULL;
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
    ldns_pkt_set_rd(r, ldns_pkt_rd(q));
    ldns_pkt_set_rcode(r, (uint8_t)rcode); /* ldns takes the rcode as a byte */
    ldns_rr_list *qs = ldns_pkt_question(q);
    if (qs != NULL && ldns_rr_list_rr_count(qs) == 1) {
        ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(qs, 0));
        if (c == NULL || !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, c)) {
            ldns_rr_free(c);
            ldns_pkt_free(r);
            return NULL;
        }
    }
    if (ldns_pkt_edns(q))
        ldns_pkt_set_edns_udp_size(r, DEMO_UDP_MAX);
    return r;
}

static void udp_send_cb(uv_udp_send_t *sr, int status)
{
    struct demo_udp_send *s = (struct demo_udp_send *)sr;
    (void)status; /* a lost UDP reply is what clients retry for */
    free(s->wire);
    free(s);
}

static void tcp_write_cb(uv_write_t *wr, int status)
{
    struct demo_tcp_write *t = (struct demo_tcp_write *)wr;
    if (status < 0)
        conn_close(t->conn); /* the client went away: nothing more to say to it */
    conn_unref(t->conn);
    free(t->wire);
    free(t);
}

static void send_udp(struct demo_req *req, uint8_t *wire, size_t len)
{
    struct demo_udp_send *s = malloc(sizeof *s);
    if (s == NULL) {
        free(wire);
        return;
    }
    s->w = req->srv->world;
    s->wire = wire;
    uv_buf_t b = uv_buf_init((char *)wire, (unsigned)len);
    if (uv_udp_send(&s->req, &req->srv->udp, &b, 1, (const struct sockaddr *)&req->peer,
                    udp_send_cb) < 0) {
        free(wire);
        free(s);
    }
}

static void send_tcp(struct demo_req *req, const uint8_t *wire, size_t len)
{
    struct demo_tcpconn *c = req->conn;
    if (c->closing || len > 65535)
        return;
    struct demo_tcp_write *t = malloc(sizeof *t);
    uint8_t *buf = malloc(len + 2);
    if (t == NULL || buf == NULL) {
        free(t);
        free(buf);
        return;
    }
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    memcpy(buf + 2, wire, len);
    t->conn = c;
    t->wire = buf;
    c->refs++;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)(len + 2));
    if (uv_write(&t->req, (uv_stream_t *)&c->h, &b, 1, tcp_write_cb) < 0) {
        c->refs--;
        free(buf);
        free(t);
    }
}

/* Replaces reply by an empty copy with TC set: what a server sends when the
 * answer does not fit the client's UDP buffer. */
static ldns_pkt *truncated(const ldns_pkt *q, const ldns_pkt *full)
{
    ldns_pkt *t = demo__reply_new(q, ldns_pkt_get_rcode(full));
    if (t == NULL)
        return NULL;
    ldns_pkt_set_aa(t, ldns_pkt_aa(full));
    ldns_pkt_set_ra(t, ldns_pkt_ra(full));
    ldns_pkt_set_tc(t, true);
    return t;
}

void demo__reply(struct demo_req *req, ldns_pkt *reply)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    if (reply == NULL || req->srv->world->closing)
        goto out;
    if (ldns_pkt2wire(&wire, reply, &len) != LDNS_STATUS_OK)
        goto out;
    if (req->conn == NULL && len > req->udp_limit) {
        ldns_pkt *t = truncated(req->query, reply);
        free(wire);
        wire = NULL;
        if (t == NULL || ldns_pkt2wire(&wire, t, &len) != LDNS_STATUS_OK) {
            ldns_pkt_free(t);
            goto out;
        }
        ldns_pkt_free(t);
    }
    if (req->conn == NULL) {
        send_udp(req, wire, len); /* takes wire */
        wire = NULL;
    } else {
        send_tcp(req, wire, len);
    }
out:
    free(wire);
    ldns_pkt_free(reply);
    demo__req_drop(req);
}

/* Turns one received message into a request and hands it to its server.
 * Garbage and replies are dropped silently, as servers do. */
static void dispatch(struct demo_server *s, struct demo_tcpconn *conn, const struct sockaddr *peer,
                     const uint8_t *data, size_t len)
{
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, data, len) != LDNS_STATUS_OK)
        return;
    if (ldns_pkt_qr(q)) {
        ldns_pkt_free(q);
        return;
    }
    struct demo_req *req = calloc(1, sizeof *req);
    if (req == NULL) {
        ldns_pkt_free(q);
        return;
    }
    req->srv = s;
    req->query = q;
    req->site = -1;
    if (conn != NULL) {
        req->conn = conn;
        conn->refs++;
    } else {
        memcpy(&req->peer, peer, sizeof(struct sockaddr_in));
    }
    req->udp_limit = 512;
    if (ldns_pkt_edns(q)) {
        size_t sz = ldns_pkt_edns_udp_size(q);
        req->udp_limit = sz < 512 ? 512 : sz > DEMO_UDP_MAX ? DEMO_UDP_MAX : sz;
    }
    if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY) {
        demo__reply(req, demo__reply_new(q, LDNS_RCODE_NOTIMPL));
        return;
    }
    if (ldns_pkt_qdcount(q) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1) {
        demo__reply(req, demo__reply_new(q, LDNS_RCODE_FORMERR));
        return;
    }
    if (s->auth) {
        s->world->stats.auth_queries++;
        demo__reply(req, demo__auth_answer(s->world, q));
    } else {
        s->world->stats.resolver_queries++;
        demo__resolver_query(s, req);
    }
}

/* ---- UDP ---- */

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct demo_server *s = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)s->rbuf, sizeof s->rbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *peer,
                     unsigned flags)
{
    struct demo_server *s = h->data;
    (void)buf;
    if (n <= 0 || peer == NULL || (flags & UV_UDP_PARTIAL) || peer->sa_family != AF_INET)
        return;
    dispatch(s, NULL, peer, s->rbuf, (size_t)n);
}

/* ---- TCP ---- */

static void conn_close_cb(uv_handle_t *h)
{
    struct demo_tcpconn *c = h->data;
    struct demo_server *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->nconns--;
    struct demo_world *w = s->world;
    conn_unref(c);
    demo__handle_closed(w);
}

static void conn_close(struct demo_tcpconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->h, conn_close_cb);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct demo_tcpconn *c = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct demo_tcpconn *c = st->data;
    (void)buf;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    while (c->len >= 2 && !c->closing) {
        size_t mlen = ((size_t)c->buf[0] << 8) | c->buf[1];
        if (mlen == 0) {
            conn_close(c);
            return;
        }
        if (c->len < 2 + mlen)
            break; /* buf holds 2 + 65535, so a whole message always fits */
        /* c lives on: its open handle holds a reference until conn_close_cb */
        dispatch(c->srv, c, NULL, c->buf + 2, mlen);
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
        memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
        c->len -= 2 + mlen;
    }
}

static void tcp_reject_close(uv_handle_t *h)
{
    struct demo_world *w = h->data;
    free(h);
    demo__handle_closed(w);
}

static void tcp_accept(uv_stream_t *ls, int status)
{
    struct demo_server *s = ls->data;
    struct demo_world *w = s->world;
    if (status < 0 || w->closing)
        return;
    if (s->nconns >= DEMO_MAX_CONNS) {
        /* too many: take it off the backlog and hang up */
        uv_tcp_t *t = malloc(sizeof *t);
        if (t == NULL || uv_tcp_init(w->loop, t) < 0) {
            free(t);
            return;
        }
        t->data = w;
        demo__handle_opened(w);
        (void)uv_accept(ls, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, tcp_reject_close);
        return;
    }
    struct demo_tcpconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    if (uv_tcp_init(w->loop, &c->h) < 0) {
        free(c);
        return;
    }
    demo__handle_opened(w);
    c->srv = s;
    c->h.data = c;
    c->refs = 1;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->h) < 0 ||
        uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read) < 0)
        conn_close(c);
}

/* ---- servers ---- */

static void server_close_cb(uv_handle_t *h)
{
    struct demo_server *s = h->data;
    demo__handle_closed(s->world);
}

/* Finds a port free for both UDP and TCP on 127.0.0.1: binds a UDP socket to
 * port 0, then a TCP socket to the port the kernel gave; when that TCP port is
 * taken (ephemeral ports are shared with outgoing TCP), tries again. Plain
 * sockets, so a failed attempt can be closed at once (a libuv handle could
 * not be bound again before its close callback). */
static int bind_pair(int *ufd, int *tfd, struct sockaddr_in *sa)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        socklen_t len = sizeof *sa;
        int one = 1, err = 0;
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memset(sa, 0, sizeof *sa);
        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (u < 0 || t < 0 || bind(u, (struct sockaddr *)sa, sizeof *sa) < 0 ||
            getsockname(u, (struct sockaddr *)sa, &len) < 0 ||
            setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(t, (struct sockaddr *)sa, sizeof *sa) < 0)
            err = -errno;
        if (err == 0) {
            *ufd = u;
            *tfd = t;
            return 0;
        }
        if (u >= 0)
            close(u);
        if (t >= 0)
            close(t);
        if (err != UV_EADDRINUSE)
            return err;
    }
    return UV_EADDRINUSE;
}

/* Opens the server's UDP and TCP handles on a fresh port pair and starts both. */
/* Handle h of s has just been initialized: it points back at s, *open says
 * it is to be closed, and the world counts it until then. */
static void server_opened(struct demo_server *s, uv_handle_t *h, bool *open)
{
    h->data = s;
    *open = true;
    demo__handle_opened(s->world);
}

static int server_bind(struct demo_world *w, struct demo_server *s)
{
    int rc, ufd = -1, tfd = -1;
    struct sockaddr_in sa;
    if ((rc = bind_pair(&ufd, &tfd, &sa)) < 0)
        return rc;
    if ((rc = uv_udp_init(w->loop, &s->udp)) < 0)
        goto fail;
    server_opened(s, (uv_handle_t *)&s->udp, &s->udp_open);
    if ((rc = uv_udp_open(&s->udp, ufd)) < 0)
        goto fail;
    ufd = -1; /* the handle's now */
    if ((rc = uv_tcp_init(w->loop, &s->tcp)) < 0)
        goto fail;
    server_opened(s, (uv_handle_t *)&s->tcp, &s->tcp_open);
    if ((rc = uv_tcp_open(&s->tcp, tfd)) < 0)
        goto fail;
    tfd = -1;
    if ((rc = uv_listen((uv_stream_t *)&s->tcp, 16, tcp_accept)) < 0 ||
        (rc = uv_udp_recv_start(&s->udp, udp_alloc, udp_recv)) < 0)
        goto fail;
    s->sa = sa;
    snprintf(s->address, sizeof s->address, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return 0;
fail:
    if (ufd >= 0)
        close(ufd);
    if (tfd >= 0)
        close(tfd);
    return rc;
}

int demo_world_start(uv_loop_t *loop, const struct demo_world_opts *o, struct demo_world **out)
{
    int rc = DP_ENOMEM;
    struct demo_world *w = calloc(1, sizeof *w);
    *out = NULL;
    if (w == NULL)
        return DP_ENOMEM;
    w->loop = loop;
    if (o != NULL)
        w->opts = *o;
    if (w->opts.old_ttl == 0)
        w->opts.old_ttl = 10;
    if (w->opts.new_ttl == 0)
        w->opts.new_ttl = 3600;
    if (w->opts.stretch == 0)
        w->opts.stretch = 3;
    if (w->opts.upstream_timeout_ms == 0)
        w->opts.upstream_timeout_ms = 1000;
    w->serial = 2026010101;
    w->rng = uv_hrtime() | 1;
    w->ninfos = DEMO_NRESOLVERS;
    w->nservers = 1 + DEMO_NRESOLVERS;
    w->infos = calloc(w->ninfos, sizeof *w->infos);
    w->servers = calloc(w->nservers, sizeof *w->servers);
    if (w->infos == NULL || w->servers == NULL)
        goto fail;
    if ((rc = demo__zone_load(w, false)) < 0)
        goto fail;
    for (size_t i = 0; i < w->nservers; i++) {
        struct demo_server *s = &w->servers[i];
        s->world = w;
        s->auth = i == 0;
        if (!s->auth) {
            struct demo_resolver_info *in = &w->infos[i - 1];
            in->name = demo_resolver_plan[i - 1].name;
            in->kind_id = demo_resolver_plan[i - 1].kind;
            in->kind = kind_name(in->kind_id);
            int f = demo_resolver_plan[i - 1].age_fifths;
            in->prime_age_ms = f < 0 ? -1 : (int64_t)w->opts.old_ttl * 1000 * f / 5;
            in->address = s->address;
            s->info = in;
        }
        if ((rc = server_bind(w, s)) < 0)
            goto fail;
    }
    *out = w;
    return 0;
fail:
    demo_world_close(w);
    return rc;
}

const char *demo_world_auth_address(const struct demo_world *w)
{
    return w->servers[0].address;
}

size_t demo_world_resolvers(const struct demo_world *w, const struct demo_resolver_info **v)
{
    *v = w->infos;
    return w->ninfos;
}

int demo_world_resolvers_csv(const struct demo_world *w, char **out)
{
    static const char header[] = "name,address,operator,country\r\n";
    size_t cap = sizeof header, o;
    for (size_t i = 0; i < w->ninfos; i++)
        cap += strlen(w->infos[i].name) + strlen(w->infos[i].address) + strlen(w->infos[i].kind) +
               sizeof ",,demo ,\r\n";
    char *s = malloc(cap);
    *out = NULL;
    if (s == NULL)
        return DP_ENOMEM;
    memcpy(s, header, sizeof header); /* names, addresses and kinds are ours: no quoting needed */
    o = sizeof header - 1;
    for (size_t i = 0; i < w->ninfos; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s,%s,demo %s,\r\n", w->infos[i].name,
                              w->infos[i].address, w->infos[i].kind);
    *out = s;
    return 0;
}

uint32_t demo_world_serial(const struct demo_world *w)
{
    return w->serial;
}

void demo_world_get_stats(const struct demo_world *w, struct demo_world_stats *s)
{
    *s = w->stats;
}

int demo_world_move_mx(struct demo_world *w)
{
    return demo__zone_load(w, true);
}

/* The names a watch of contoso.test asks about (checks mx, spf, ns, soa and
 * the m365 ones), and the MX host's addresses. */
static const struct {
    const char *name;
    ldns_rr_type type;
} demo_prime_names[] = {
    {DEMO_DOMAIN ".", LDNS_RR_TYPE_MX},
    {DEMO_DOMAIN ".", LDNS_RR_TYPE_TXT},
    {DEMO_DOMAIN ".", LDNS_RR_TYPE_NS},
    {DEMO_DOMAIN ".", LDNS_RR_TYPE_SOA},
    {"mail." DEMO_DOMAIN ".", LDNS_RR_TYPE_A},
    {"mail." DEMO_DOMAIN ".", LDNS_RR_TYPE_AAAA},
    {"autodiscover." DEMO_DOMAIN ".", LDNS_RR_TYPE_CNAME},
    {"autodiscover." DEMO_DOMAIN ".", LDNS_RR_TYPE_A},
    {"selector1._domainkey." DEMO_DOMAIN ".", LDNS_RR_TYPE_CNAME},
    {"selector2._domainkey." DEMO_DOMAIN ".", LDNS_RR_TYPE_CNAME},
    {"_dmarc." DEMO_DOMAIN ".", LDNS_RR_TYPE_TXT},
};

int demo_world_prime(struct demo_world *w, demo_world_cb cb, void *arg)
{
    w->prime_cb = cb;
    w->prime_arg = arg;
    w->prime_failed = 0;
    /* held at 1 while starting, so a lookup that ends early cannot finish priming */
    w->prime_pending = 1;
    for (size_t i = 0; i < w->ninfos; i++) {
        if (w->infos[i].prime_age_ms < 0)
            continue;
        for (size_t j = 0; j < sizeof demo_prime_names / sizeof demo_prime_names[0]; j++) {
            int k = demo__resolver_prime(&w->servers[i + 1], demo_prime_names[j].name,
                                         demo_prime_names[j].type);
            if (k < 0)
                w->prime_failed++;
            else
                w->prime_pending += (unsigned)k;
        }
    }
    demo__prime_done(w, false);
    return 0;
}

void demo__prime_done(struct demo_world *w, bool failed)
{
    if (failed)
        w->prime_failed++;
    if (--w->prime_pending == 0 && w->prime_cb != NULL && !w->closing) {
        demo_world_cb cb = w->prime_cb;
        w->prime_cb = NULL;
        cb(w, w->prime_failed, w->prime_arg);
    }
}

void demo_world_close(struct demo_world *w)
{
    if (w == NULL || w->closing)
        return;
    w->closing = true;
    demo__upstream_cancel_all(w);
    for (size_t i = 0; i < w->nservers; i++) {
        struct demo_server *s = &w->servers[i];
        if (s->udp_open)
            uv_close((uv_handle_t *)&s->udp, server_close_cb);
        if (s->tcp_open)
            uv_close((uv_handle_t *)&s->tcp, server_close_cb);
        s->udp_open = s->tcp_open = false;
        for (struct demo_tcpconn *c = s->conns; c != NULL; c = c->next)
            conn_close(c);
    }
    if (w->open_handles == 0)
        world_free(w);
}
