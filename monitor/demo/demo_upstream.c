/*
 * The simulated resolvers' upstream client: one lookup, one struct demo_upq.
 *
 * Deliberately small and separate from the real engine (monitor/engine/engine.c):
 * the resolvers need one question asked of one server, validated. A lookup
 * sends over UDP from its own socket (a fresh source port the kernel picks)
 * with a random ID, EDNS buffer 1232 and RD clear; it takes a reply only if
 * the source address and port, the ID and the question all match (others are
 * dropped and counted); it tries twice over UDP, then gives up; a truncated
 * reply moves it to TCP, with the same checks minus the source. States:
 * UDP -> (TCP) -> DONE. Every handle is closed at DONE and the struct is freed
 * in the last close callback.
 */
#include "demo_internal.h"

#include <stdlib.h>
#include <string.h>

#define UPQ_TRIES 2

enum upq_state {
    UPQ_UDP,  /* query sent over UDP, waiting */
    UPQ_TCP,  /* truncated: connecting, writing or reading over TCP */
    UPQ_DONE, /* callback called, handles closing */
};

struct demo_upq {
    struct demo_world *w; /* not owned */
    enum upq_state state;
    struct sockaddr_in to;
    ldns_rdf *qname; /* owned */
    ldns_rr_type qtype;
    uint16_t id;
    uint8_t *wire; /* owned: the query message */
    size_t wire_len;
    unsigned tries;   /* UDP sends so far */
    unsigned handles; /* handles of this lookup not yet closed */
    uv_udp_t udp;     /* .data = this */
    uv_timer_t timer; /* .data = this */
    uv_tcp_t tcp;     /* .data = this; initialized only for TCP */
    bool udp_init, timer_init, tcp_init;
    uv_connect_t connect;
    uv_write_t write;
    uint8_t lenbuf[2]; /* TCP length prefix of the query */
    uint8_t *tbuf;     /* owned: the TCP reply as it arrives (2 + 65535) */
    size_t tlen;
    uint8_t ubuf[4096];   /* UDP receive buffer; replies are at most 1232 */
    demo__upstream_cb cb; /* NULL once called (or when start failed) */
    void *arg;
    struct demo_upq *prev, *next; /* in world->upqs while not DONE */
};

static void upq_timeout(uv_timer_t *t);

static void upq_close_cb(uv_handle_t *h)
{
    struct demo_upq *u = h->data;
    struct demo_world *w = u->w;
    if (--u->handles == 0) {
        ldns_rdf_deep_free(u->qname);
        free(u->wire);
        free(u->tbuf);
        free(u);
    }
    demo__handle_closed(w);
}

/* Ends the lookup: unlinks it, calls cb once, closes the handles. */
static void upq_finish(struct demo_upq *u, int status, ldns_pkt *reply)
{
    if (u->state == UPQ_DONE) {
        ldns_pkt_free(reply);
        return;
    }
    u->state = UPQ_DONE;
    if (u->prev != NULL)
        u->prev->next = u->next;
    else if (u->w->upqs == u)
        u->w->upqs = u->next;
    if (u->next != NULL)
        u->next->prev = u->prev;
    u->prev = u->next = NULL;
    if (u->udp_init)
        uv_close((uv_handle_t *)&u->udp, upq_close_cb);
    if (u->timer_init)
        uv_close((uv_handle_t *)&u->timer, upq_close_cb);
    if (u->tcp_init)
        uv_close((uv_handle_t *)&u->tcp, upq_close_cb);
    if (status < 0 && status != UV_ECANCELED)
        u->w->stats.upstream_failures++;
    demo__upstream_cb cb = u->cb;
    u->cb = NULL;
    if (cb != NULL)
        cb(u->arg, status, reply);
    else
        ldns_pkt_free(reply);
}

/* Parses a reply and checks that it answers our query: QR, ID, the one
 * question. Returns the packet (caller frees) or NULL. */
static ldns_pkt *upq_parse(struct demo_upq *u, const uint8_t *data, size_t len)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, data, len) != LDNS_STATUS_OK)
        return NULL;
    const ldns_rr *q = ldns_pkt_qdcount(p) == 1 && ldns_rr_list_rr_count(ldns_pkt_question(p)) == 1
                           ? ldns_rr_list_rr(ldns_pkt_question(p), 0)
                           : NULL;
    if (!ldns_pkt_qr(p) || ldns_pkt_id(p) != u->id || q == NULL ||
        ldns_rr_get_type(q) != u->qtype || ldns_rr_get_class(q) != LDNS_RR_CLASS_IN ||
        ldns_dname_compare(ldns_rr_owner(q), u->qname) != 0) {
        ldns_pkt_free(p);
        return NULL;
    }
    return p;
}

static void upq_send_udp(struct demo_upq *u)
{
    uv_buf_t b = uv_buf_init((char *)u->wire, (unsigned)u->wire_len);
    u->tries++;
    /* loopback never blocks; a failed send is a lost try, the timer retries */
    (void)uv_udp_try_send(&u->udp, &b, 1, (const struct sockaddr *)&u->to);
}

/* ---- TCP ---- */

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct demo_upq *u = h->data;
    (void)hint;
    if (u->tbuf == NULL)
        u->tbuf = malloc(2 + 65535);
    if (u->tbuf == NULL) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)u->tbuf + u->tlen, (unsigned)(2 + 65535 - u->tlen));
}

static void tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct demo_upq *u = s->data;
    (void)buf;
    if (u->state != UPQ_TCP)
        return;
    if (n < 0) {
        upq_finish(u, (int)n, NULL);
        return;
    }
    u->tlen += (size_t)n;
    if (u->tlen < 2)
        return;
    size_t mlen = ((size_t)u->tbuf[0] << 8) | u->tbuf[1];
    if (u->tlen < 2 + mlen)
        return;
    ldns_pkt *p = upq_parse(u, u->tbuf + 2, mlen);
    if (p == NULL) {
        /* a stream carries one conversation: a wrong reply ends it */
        u->w->stats.upstream_dropped++;
        upq_finish(u, DP_EMALFORMED, NULL);
        return;
    }
    upq_finish(u, 0, p);
}

static void tcp_written(uv_write_t *wr, int status)
{
    struct demo_upq *u = wr->data;
    if (status < 0)
        upq_finish(u, status, NULL);
}

static void tcp_connected(uv_connect_t *cr, int status)
{
    struct demo_upq *u = cr->data;
    int rc = status;
    if (u->state != UPQ_TCP)
        return;
    if (rc == 0) {
        uv_buf_t b[2] = {uv_buf_init((char *)u->lenbuf, 2),
                         uv_buf_init((char *)u->wire, (unsigned)u->wire_len)};
        u->lenbuf[0] = (uint8_t)(u->wire_len >> 8);
        u->lenbuf[1] = (uint8_t)u->wire_len;
        u->write.data = u;
        rc = uv_write(&u->write, (uv_stream_t *)&u->tcp, b, 2, tcp_written);
    }
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&u->tcp, tcp_alloc, tcp_read);
    if (rc < 0)
        upq_finish(u, rc, NULL);
}

/* Handle h of u has just been initialized: it points back at u, *init says
 * it is to be closed, and it is counted in u and in the world until then. */
static void upq_opened(struct demo_upq *u, uv_handle_t *h, bool *init)
{
    h->data = u;
    *init = true;
    u->handles++;
    demo__handle_opened(u->w);
}

static void upq_start_tcp(struct demo_upq *u)
{
    int rc;
    u->state = UPQ_TCP;
    (void)uv_udp_recv_stop(&u->udp);
    if ((rc = uv_tcp_init(u->w->loop, &u->tcp)) < 0)
        goto fail;
    upq_opened(u, (uv_handle_t *)&u->tcp, &u->tcp_init);
    u->connect.data = u;
    if ((rc = uv_tcp_connect(&u->connect, &u->tcp, (const struct sockaddr *)&u->to,
                             tcp_connected)) < 0)
        goto fail;
    /* a fresh timeout for the TCP exchange */
    (void)uv_timer_start(&u->timer, upq_timeout, u->w->opts.upstream_timeout_ms, 0);
    return;
fail:
    upq_finish(u, rc, NULL);
}

/* ---- UDP ---- */

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct demo_upq *u = h->data;
    (void)hint;
    *buf = uv_buf_init((char *)u->ubuf, sizeof u->ubuf);
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
    struct demo_upq *u = h->data;
    (void)buf;
    if (n == 0 && from == NULL)
        return; /* nothing more to read now */
    if (u->state != UPQ_UDP || n < 0)
        return;
    const struct sockaddr_in *f = (const struct sockaddr_in *)from;
    ldns_pkt *p = NULL;
    if (from == NULL || from->sa_family != AF_INET || f->sin_port != u->to.sin_port ||
        f->sin_addr.s_addr != u->to.sin_addr.s_addr || (flags & UV_UDP_PARTIAL) ||
        (p = upq_parse(u, u->ubuf, (size_t)n)) == NULL) {
        u->w->stats.upstream_dropped++; /* not our answer: keep waiting */
        return;
    }
    if (ldns_pkt_tc(p)) {
        ldns_pkt_free(p);
        upq_start_tcp(u);
        return;
    }
    upq_finish(u, 0, p);
}

static void upq_timeout(uv_timer_t *t)
{
    struct demo_upq *u = t->data;
    if (u->state == UPQ_UDP && u->tries < UPQ_TRIES) {
        upq_send_udp(u);
        (void)uv_timer_start(&u->timer, upq_timeout, u->w->opts.upstream_timeout_ms, 0);
        return;
    }
    upq_finish(u, UV_ETIMEDOUT, NULL);
}

int demo__upstream_query(struct demo_world *w, const struct sockaddr_in *to, const ldns_rdf *qname,
                         ldns_rr_type qtype, demo__upstream_cb cb, void *arg)
{
    int rc = DP_ENOMEM;
    ldns_pkt *q = NULL;
    struct demo_upq *u = calloc(1, sizeof *u);
    if (u == NULL)
        return DP_ENOMEM;
    u->w = w;
    u->to = *to;
    u->qtype = qtype;
    u->state = UPQ_UDP;
    if ((u->qname = ldns_rdf_clone(qname)) == NULL)
        goto fail;
    /* the ID from the system's CSPRNG (PRODUCT.md section 8) */
    if ((rc = uv_random(NULL, NULL, &u->id, sizeof u->id, 0, NULL)) < 0)
        goto fail;
    rc = DP_ENOMEM;
    ldns_rdf *qn = ldns_rdf_clone(qname);
    if (qn == NULL)
        goto fail;
    q = ldns_pkt_query_new(qn, qtype, LDNS_RR_CLASS_IN, 0); /* takes qn; flags: RD clear */
    if (q == NULL)
        goto fail;
    ldns_pkt_set_id(q, u->id);
    ldns_pkt_set_edns_udp_size(q, DEMO_UDP_MAX);
    if (ldns_pkt2wire(&u->wire, q, &u->wire_len) != LDNS_STATUS_OK)
        goto fail;
    struct sockaddr_in any;
    if ((rc = uv_ip4_addr("127.0.0.1", 0, &any)) < 0)
        goto fail;
    if ((rc = uv_udp_init(w->loop, &u->udp)) < 0)
        goto fail;
    upq_opened(u, (uv_handle_t *)&u->udp, &u->udp_init);
    if ((rc = uv_timer_init(w->loop, &u->timer)) < 0)
        goto fail;
    upq_opened(u, (uv_handle_t *)&u->timer, &u->timer_init);
    if ((rc = uv_udp_bind(&u->udp, (const struct sockaddr *)&any, 0)) < 0 ||
        (rc = uv_udp_recv_start(&u->udp, udp_alloc, udp_recv)) < 0 ||
        (rc = uv_timer_start(&u->timer, upq_timeout, w->opts.upstream_timeout_ms, 0)) < 0)
        goto fail;
    ldns_pkt_free(q);
    u->cb = cb;
    u->arg = arg;
    u->next = w->upqs;
    if (w->upqs != NULL)
        w->upqs->prev = u;
    w->upqs = u;
    w->stats.upstream_fetches++;
    upq_send_udp(u);
    return 0;
fail:
    ldns_pkt_free(q);
    if (u->handles > 0) {
        upq_finish(u, rc, NULL); /* cb is still NULL: only closes */
        return rc;
    }
    ldns_rdf_deep_free(u->qname);
    free(u->wire);
    free(u);
    return rc;
}

void demo__upstream_cancel_all(struct demo_world *w)
{
    while (w->upqs != NULL)
        upq_finish(w->upqs, UV_ECANCELED, NULL);
}
