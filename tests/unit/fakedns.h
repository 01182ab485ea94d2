/*
 * A scripted DNS server for engine tests: UDP and TCP on the same loopback
 * port, run on the test's own libuv loop. Each scenario (enum fake_mode) says
 * how it answers; replies are built with ldns from the parsed query, so the ID
 * and question echo the query unless the scenario bends them on purpose.
 *
 * Only for tests: header-only, everything static.
 */
#ifndef DNSPROP_TEST_FAKEDNS_H
#define DNSPROP_TEST_FAKEDNS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <uv.h>

enum fake_mode {
    FAKE_MX2,         /* two MX records, "10 mx1.<qname>" and "20 mx2.<qname>" */
    FAKE_MX1,         /* one MX "10 mx.<qname>" (for bulk tests) */
    FAKE_SERVFAIL,    /* rcode SERVFAIL */
    FAKE_REFUSED,     /* rcode REFUSED */
    FAKE_NOTIMP,      /* rcode NOTIMP (4) */
    FAKE_NXDOMAIN,    /* NXDOMAIN with SOA TTL 3600, MINIMUM 300 */
    FAKE_NXDOMAIN2,   /* NXDOMAIN with SOA TTL 60, MINIMUM 300 */
    FAKE_NODATA,      /* NOERROR, no answer, SOA TTL 900, MINIMUM 120 */
    FAKE_TC,          /* UDP: empty truncated reply; TCP: the MX2 answer */
    FAKE_WRONGID,     /* UDP: first a reply with a wrong ID, then the right one */
    FAKE_OTHERPORT,   /* UDP: first an answer "99 evil." from another port, then MX2 */
    FAKE_WRONGQ,      /* UDP: first a reply for another name, then MX2 */
    FAKE_DROPFIRST,   /* UDP: the first query gets nothing, later ones MX2 */
    FAKE_SWALLOW,     /* nothing, ever */
    FAKE_GARBAGE,     /* right ID and question, then bytes that do not parse */
    FAKE_BADNAME,     /* right ID, QDCOUNT 1, then a name that does not parse */
    FAKE_CNAME,       /* www -> a.example.net. -> b.example.org. MX 10 mx.example.org. */
    FAKE_MIXCASE,     /* MX2, with the question echoed in mixed case */
    FAKE_HUGE_TCP,    /* TCP: length 65535, then nothing */
    FAKE_HOLD,        /* MX1, but held back and sent every 20 ms in one batch, last first */
    FAKE_TWICE,       /* MX1, each reply sent twice */
    FAKE_NSID,        /* MX2 with an OPT record: NSID f->nsid (when the query asked for it),
                         then EDE 3 "stale" and EDE 22 (no text), then NSID "second" */
    FAKE_FORMERR_NOQ, /* to a query with EDNS: FORMERR with no question (as old servers
                         do); without EDNS: MX2 */
    FAKE_BADVERS,     /* to a query with EDNS: BADVERS (extended rcode 1 in the OPT);
                         without EDNS: MX2 */
    FAKE_FORMERR,     /* FORMERR with the question, to every query */
    FAKE_NOQ_REFUSED, /* REFUSED with no question section */
    FAKE_NOQ_NOERROR, /* NOERROR with no question section (no answer to anything) */
    FAKE_NOQ_WRONGID, /* UDP: first REFUSED with no question and a wrong ID, then MX2 */
};

#define FAKE_MAX_PORTS 64

struct fake_held {
    struct sockaddr_storage to;
    uint8_t *wire;
    size_t len;
    struct fake_held *next;
};

struct fake_conn {
    struct fake *f;
    uv_tcp_t h;
    uint8_t buf[65537];
    size_t got;
    bool open;
    struct fake_conn *next;
};

struct fake {
    uv_loop_t *loop;
    enum fake_mode mode;
    uv_udp_t udp;   /* the server */
    uv_udp_t other; /* another port of the same host */
    uv_tcp_t tcp;   /* listens on the server's port */
    uv_timer_t hold_timer;
    int port;
    struct sockaddr_in addr; /* 127.0.0.1:port, for engine_query.sa */
    unsigned udp_queries, tcp_queries;
    unsigned edns_1232;  /* queries that carried EDNS with buffer 1232 */
    unsigned rd_set;     /* queries with RD */
    unsigned no_edns;    /* queries without an OPT record */
    unsigned nsid_asked; /* queries with an (empty) NSID option */
    uint8_t nsid[16];    /* FAKE_NSID: the NSID sent back */
    size_t nsid_len;
    unsigned held_now, held_max;    /* FAKE_HOLD: replies waiting / most waiting at once */
    uint16_t ports[FAKE_MAX_PORTS]; /* distinct UDP source ports queries came from */
    unsigned nports;                /* how many (FAKE_MAX_PORTS + 1: more than that) */
    struct fake_held *held;
    struct fake_conn *conns;
    uint8_t rbuf[65536];
};

/* A record from its owner and the rest of its zone-file line. */
static ldns_rr *fake_rr(const char *owner, const char *rest)
{
    char line[1024];
    ldns_rr *rr = NULL;
    snprintf(line, sizeof line, "%s %s", owner, rest);
    if (ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL) != LDNS_STATUS_OK) {
        fprintf(stderr, "fakedns: bad rr '%s'\n", line);
        abort();
    }
    return rr;
}

/* A reply to query: same ID and question, the scenario's sections. */
static ldns_pkt *fake_reply(const struct fake *f, const ldns_pkt *query, bool tcp)
{
    ldns_pkt *r = ldns_pkt_new();
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(query), 0);
    char *qname = ldns_rdf2str(ldns_rr_owner(qrr));
    ldns_pkt_set_id(r, ldns_pkt_id(query));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_aa(r, true);
    ldns_pkt_set_rd(r, ldns_pkt_rd(query));
    ldns_rr *q2 = ldns_rr_clone(qrr);
    if (f->mode == FAKE_MIXCASE) {
        ldns_rdf *o = ldns_rr_owner(q2);
        uint8_t *d = ldns_rdf_data(o);
        for (size_t i = 0; i < ldns_rdf_size(o); i++)
            if ((i % 2) == 0 && d[i] >= 'a' && d[i] <= 'z')
                d[i] = (uint8_t)(d[i] - 'a' + 'A');
    }
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, q2);
    switch (f->mode) {
    case FAKE_SERVFAIL:
        ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
        break;
    case FAKE_REFUSED:
        ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
        break;
    case FAKE_NOTIMP:
        ldns_pkt_set_rcode(r, LDNS_RCODE_NOTIMPL);
        break;
    case FAKE_NXDOMAIN:
    case FAKE_NXDOMAIN2:
        ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
        ldns_pkt_push_rr(
            r, LDNS_SECTION_AUTHORITY,
            fake_rr("example.com.", f->mode == FAKE_NXDOMAIN
                                        ? "3600 IN SOA ns.example.com. h.example.com. 1 7200 900 "
                                          "1209600 300"
                                        : "60 IN SOA ns.example.com. h.example.com. 1 7200 900 "
                                          "1209600 300"));
        break;
    case FAKE_NODATA:
        ldns_pkt_push_rr(
            r, LDNS_SECTION_AUTHORITY,
            fake_rr("example.com.",
                    "900 IN SOA ns.example.com. h.example.com. 1 7200 900 1209600 120"));
        break;
    case FAKE_TC:
        if (!tcp) {
            ldns_pkt_set_tc(r, true);
            break;
        }
        /* fall through */
    case FAKE_MX2:
    case FAKE_WRONGID:
    case FAKE_OTHERPORT:
    case FAKE_WRONGQ:
    case FAKE_DROPFIRST:
    case FAKE_MIXCASE:
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "300 IN MX 10 MX1.Example.COM."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "120 IN MX 20 mx2.example.com."));
        break;
    case FAKE_MX1:
    case FAKE_HOLD:
    case FAKE_TWICE: { /* the target names the query, so a mix-up would show */
        char rest[600];
        snprintf(rest, sizeof rest, "300 IN MX 10 mx.%s", qname);
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, rest));
        break;
    }
    case FAKE_CNAME:
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "600 IN CNAME A.Example.NET."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER,
                         fake_rr("a.example.net.", "200 IN CNAME b.example.org."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER,
                         fake_rr("b.example.org.", "400 IN MX 10 mx.example.org."));
        /* noise: records of other owners must not count */
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER,
                         fake_rr("c.example.org.", "5 IN MX 10 wrong.example.org."));
        break;
    case FAKE_NSID: {
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "300 IN MX 10 MX1.Example.COM."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "120 IN MX 20 mx2.example.com."));
        ldns_edns_option_list *opts = ldns_edns_option_list_new();
        ldns_pkt_set_edns_udp_size(r, 1232);
        if (f->nsid_len > 0)
            ldns_edns_option_list_push(
                opts, ldns_edns_new_from_data(LDNS_EDNS_NSID, f->nsid_len, f->nsid));
        ldns_edns_option_list_push(opts,
                                   ldns_edns_new_from_data(LDNS_EDNS_EDE, 7, "\000\003stale"));
        ldns_edns_option_list_push(opts, ldns_edns_new_from_data(LDNS_EDNS_EDE, 2, "\000\026"));
        ldns_edns_option_list_push(opts, ldns_edns_new_from_data(LDNS_EDNS_NSID, 6, "second"));
        ldns_pkt_set_edns_option_list(r, opts);
        break;
    }
    case FAKE_BADVERS:
    case FAKE_FORMERR_NOQ:
        if (ldns_pkt_edns(query)) {
            ldns_pkt_set_edns_udp_size(r, 1232);
            ldns_pkt_set_edns_extended_rcode(r, 1); /* 16: BADVERS */
            break;
        }
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "300 IN MX 10 MX1.Example.COM."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "120 IN MX 20 mx2.example.com."));
        break;
    case FAKE_FORMERR:
        ldns_pkt_set_rcode(r, LDNS_RCODE_FORMERR);
        break;
    case FAKE_NOQ_WRONGID:
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "300 IN MX 10 MX1.Example.COM."));
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, fake_rr(qname, "120 IN MX 20 mx2.example.com."));
        break;
    case FAKE_SWALLOW:
    case FAKE_GARBAGE:
    case FAKE_BADNAME:
    case FAKE_HUGE_TCP:
    case FAKE_NOQ_REFUSED:
    case FAKE_NOQ_NOERROR:
        break;
    }
    free(qname);
    return r;
}

static uint8_t *fake_wire(ldns_pkt *p, size_t *len)
{
    uint8_t *w = NULL;
    if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    return w;
}

static void fake_send(uv_udp_t *h, const struct sockaddr *to, uint8_t *w, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)w, (unsigned)len);
    int rc = uv_udp_try_send(h, &b, 1, to);
    if (rc < 0)
        fprintf(stderr, "fakedns: send: %s\n", uv_strerror(rc));
}

static void fake_udp_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
    struct fake *f = h->data;
    (void)s;
    *buf = uv_buf_init((char *)f->rbuf, sizeof f->rbuf);
}

/* Notes the source port of a UDP query among the distinct ones seen. */
static void fake_note_port(struct fake *f, const struct sockaddr *from)
{
    uint16_t port = ntohs(((const struct sockaddr_in *)from)->sin_port);
    for (unsigned i = 0; i < f->nports && i < FAKE_MAX_PORTS; i++)
        if (f->ports[i] == port)
            return;
    if (f->nports < FAKE_MAX_PORTS)
        f->ports[f->nports] = port;
    if (f->nports <= FAKE_MAX_PORTS)
        f->nports++;
}

/* A reply header with no question section: ID of the query, QR, the rcode. */
static uint8_t *fake_noq(const uint8_t *query, unsigned rcode, size_t *len)
{
    uint8_t *g = calloc(1, 12);
    memcpy(g, query, 2);
    g[2] = 0x80 | (query[2] & 0x01); /* QR, RD echoed */
    g[3] = (uint8_t)rcode;
    *len = 12;
    return g;
}

static void fake_note_query(struct fake *f, ldns_pkt *q)
{
    if (ldns_pkt_edns(q) && ldns_pkt_edns_udp_size(q) == 1232)
        f->edns_1232++;
    if (!ldns_pkt_edns(q))
        f->no_edns++;
    const ldns_edns_option_list *opts = ldns_pkt_edns_get_option_list(q);
    for (size_t i = 0; opts != NULL && i < ldns_edns_option_list_get_count(opts); i++) {
        const ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
        if (ldns_edns_get_code(o) == LDNS_EDNS_NSID && ldns_edns_get_size(o) == 0)
            f->nsid_asked++;
    }
    if (ldns_pkt_rd(q))
        f->rd_set++;
}

static void fake_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                          unsigned flags)
{
    struct fake *f = h->data;
    ldns_pkt *q = NULL;
    (void)flags;
    if (n <= 0 || from == NULL)
        return;
    if (ldns_wire2pkt(&q, (const uint8_t *)buf->base, (size_t)n) != LDNS_STATUS_OK)
        return;
    f->udp_queries++;
    fake_note_query(f, q);
    fake_note_port(f, from);
    size_t len = 0;
    uint8_t *w = NULL;
    switch (f->mode) {
    case FAKE_SWALLOW:
    case FAKE_HUGE_TCP:
        break;
    case FAKE_DROPFIRST:
        if (f->udp_queries > 1)
            w = fake_wire(fake_reply(f, q, false), &len);
        break;
    case FAKE_WRONGID:
        w = fake_wire(fake_reply(f, q, false), &len);
        w[1] ^= 0x5a;
        fake_send(&f->udp, from, w, len);
        w[1] ^= 0x5a;
        break;
    case FAKE_OTHERPORT: {
        ldns_pkt *evil = fake_reply(f, q, false);
        ldns_rr_list_deep_free(ldns_pkt_answer(evil));
        ldns_pkt_set_answer(evil, ldns_rr_list_new());
        ldns_pkt_set_ancount(evil, 0);
        char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        ldns_pkt_push_rr(evil, LDNS_SECTION_ANSWER, fake_rr(qn, "300 IN MX 99 evil."));
        free(qn);
        uint8_t *ew = fake_wire(evil, &len);
        fake_send(&f->other, from, ew, len);
        free(ew);
        w = fake_wire(fake_reply(f, q, false), &len);
        break;
    }
    case FAKE_WRONGQ: {
        ldns_pkt *other = fake_reply(f, q, false);
        ldns_rdf *o = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(other), 0));
        ldns_rdf_data(o)[1] ^= 0x01; /* first letter changes */
        uint8_t *ow = fake_wire(other, &len);
        fake_send(&f->udp, from, ow, len);
        free(ow);
        w = fake_wire(fake_reply(f, q, false), &len);
        break;
    }
    case FAKE_GARBAGE:
        w = fake_wire(fake_reply(f, q, false), &len);
        w[7] = 3; /* ANCOUNT 3, then bytes that cannot be records */
        {
            uint8_t *g = malloc(len + 5);
            memcpy(g, w, len);
            memcpy(g + len, "\xc0\xff\x01\x02\x03", 5);
            free(w);
            w = g;
            len += 5;
        }
        break;
    case FAKE_BADNAME: {
        uint8_t *g = malloc(14);
        memcpy(g, buf->base, 2); /* the right ID */
        memcpy(g + 2, "\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x3f\x61", 12);
        w = g;
        len = 14; /* a 63-byte label that stops after one byte */
        break;
    }
    case FAKE_TWICE:
        w = fake_wire(fake_reply(f, q, false), &len);
        fake_send(&f->udp, from, w, len);
        break;
    case FAKE_FORMERR_NOQ:
        if (ldns_pkt_edns(q))
            w = fake_noq((const uint8_t *)buf->base, LDNS_RCODE_FORMERR, &len);
        else
            w = fake_wire(fake_reply(f, q, false), &len);
        break;
    case FAKE_NOQ_REFUSED:
        w = fake_noq((const uint8_t *)buf->base, LDNS_RCODE_REFUSED, &len);
        break;
    case FAKE_NOQ_NOERROR:
        w = fake_noq((const uint8_t *)buf->base, LDNS_RCODE_NOERROR, &len);
        break;
    case FAKE_NOQ_WRONGID:
        w = fake_noq((const uint8_t *)buf->base, LDNS_RCODE_REFUSED, &len);
        w[1] ^= 0x5a;
        fake_send(&f->udp, from, w, len);
        free(w);
        w = fake_wire(fake_reply(f, q, false), &len);
        break;
    case FAKE_HOLD: {
        struct fake_held *hd = calloc(1, sizeof *hd);
        memcpy(&hd->to, from, sizeof(struct sockaddr_in));
        hd->wire = fake_wire(fake_reply(f, q, false), &hd->len);
        hd->next = f->held;
        f->held = hd;
        if (++f->held_now > f->held_max)
            f->held_max = f->held_now;
        break;
    }
    default:
        w = fake_wire(fake_reply(f, q, false), &len);
        break;
    }
    if (w != NULL)
        fake_send(&f->udp, from, w, len);
    free(w);
    ldns_pkt_free(q);
}

static void fake_hold_flush(uv_timer_t *t)
{
    struct fake *f = t->data;
    while (f->held != NULL) {
        struct fake_held *hd = f->held;
        f->held = hd->next;
        fake_send(&f->udp, (const struct sockaddr *)&hd->to, hd->wire, hd->len);
        free(hd->wire);
        free(hd);
    }
    f->held_now = 0;
}

/* ---- TCP ---- */

struct fake_wreq {
    uv_write_t req;
    size_t len;
    uint8_t data[];
};

static void fake_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void fake_tcp_write(struct fake_conn *c, const uint8_t *d, size_t len)
{
    struct fake_wreq *r = malloc(sizeof *r + len);
    memcpy(r->data, d, len);
    r->len = len;
    uv_buf_t b = uv_buf_init((char *)r->data, (unsigned)len);
    if (uv_write(&r->req, (uv_stream_t *)&c->h, &b, 1, fake_write_done) != 0)
        free(r);
}

static void fake_conn_closed(uv_handle_t *h)
{
    struct fake_conn *c = h->data;
    struct fake_conn **p = &c->f->conns;
    while (*p != c)
        p = &(*p)->next;
    *p = c->next;
    free(c);
}

static void fake_tcp_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
    struct fake_conn *c = h->data;
    (void)s;
    *buf = uv_buf_init((char *)c->buf + c->got, (unsigned)(sizeof c->buf - c->got));
}

static void fake_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fake_conn *c = s->data;
    struct fake *f = c->f;
    (void)buf;
    if (n < 0) {
        if (c->open) {
            c->open = false;
            uv_close((uv_handle_t *)&c->h, fake_conn_closed);
        }
        return;
    }
    c->got += (size_t)n;
    while (c->got >= 2) {
        size_t len = (size_t)(c->buf[0] << 8 | c->buf[1]);
        if (c->got < 2 + len)
            return;
        ldns_pkt *q = NULL;
        if (ldns_wire2pkt(&q, c->buf + 2, len) == LDNS_STATUS_OK) {
            f->tcp_queries++;
            fake_note_query(f, q);
            if (f->mode == FAKE_HUGE_TCP) {
                fake_tcp_write(c, (const uint8_t *)"\xff\xff", 2);
            } else if (f->mode != FAKE_SWALLOW) {
                size_t wl = 0;
                uint8_t *w = fake_wire(fake_reply(f, q, true), &wl);
                uint8_t *framed = malloc(wl + 2);
                framed[0] = (uint8_t)(wl >> 8);
                framed[1] = (uint8_t)wl;
                memcpy(framed + 2, w, wl);
                fake_tcp_write(c, framed, wl + 2);
                free(framed);
                free(w);
            }
            ldns_pkt_free(q);
        }
        memmove(c->buf, c->buf + 2 + len, c->got - 2 - len);
        c->got -= 2 + len;
    }
}

static void fake_accept(uv_stream_t *srv, int status)
{
    struct fake *f = srv->data;
    if (status != 0)
        return;
    struct fake_conn *c = calloc(1, sizeof *c);
    c->f = f;
    uv_tcp_init(f->loop, &c->h);
    c->h.data = c;
    c->open = true;
    c->next = f->conns;
    f->conns = c;
    if (uv_accept(srv, (uv_stream_t *)&c->h) != 0 ||
        uv_read_start((uv_stream_t *)&c->h, fake_tcp_alloc, fake_tcp_read) != 0) {
        c->open = false;
        uv_close((uv_handle_t *)&c->h, fake_conn_closed);
    }
}

/* Starts a fake server on 127.0.0.1, UDP and TCP on one free port.
 * Returns 0 or a libuv error. */
static int fake_start(struct fake *f, uv_loop_t *loop, enum fake_mode mode)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->mode = mode;
    for (int attempt = 0; attempt < 20; attempt++) {
        struct sockaddr_in a;
        int namelen = sizeof a;
        uv_ip4_addr("127.0.0.1", 0, &a);
        int rc = uv_udp_init(loop, &f->udp);
        if (rc != 0)
            return rc;
        f->udp.data = f;
        rc = uv_tcp_init(loop, &f->tcp);
        if (rc != 0) {
            uv_close((uv_handle_t *)&f->udp, NULL);
            return rc;
        }
        f->tcp.data = f;
        if (uv_udp_bind(&f->udp, (const struct sockaddr *)&a, 0) == 0 &&
            uv_udp_getsockname(&f->udp, (struct sockaddr *)&a, &namelen) == 0 &&
            uv_tcp_bind(&f->tcp, (const struct sockaddr *)&a, 0) == 0 &&
            uv_listen((uv_stream_t *)&f->tcp, 128, fake_accept) == 0) {
            f->addr = a;
            f->port = ntohs(a.sin_port);
            break;
        }
        /* the TCP port was taken: try another pair */
        uv_close((uv_handle_t *)&f->udp, NULL);
        uv_close((uv_handle_t *)&f->tcp, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
    }
    if (f->port == 0)
        return UV_EADDRINUSE;
    int big = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&f->udp, &big);
    /* from here on every handle opens or the test fails: fake_stop closes them all */
    if (uv_udp_recv_start(&f->udp, fake_udp_alloc, fake_udp_recv) != 0 ||
        uv_udp_init(loop, &f->other) != 0)
        abort();
    struct sockaddr_in any;
    uv_ip4_addr("127.0.0.1", 0, &any);
    f->other.data = f;
    if (uv_udp_bind(&f->other, (const struct sockaddr *)&any, 0) != 0 ||
        uv_timer_init(loop, &f->hold_timer) != 0)
        abort();
    f->hold_timer.data = f;
    if (mode == FAKE_HOLD && uv_timer_start(&f->hold_timer, fake_hold_flush, 20, 20) != 0)
        abort();
    return 0;
}

static void fake_stop(struct fake *f)
{
    uv_close((uv_handle_t *)&f->udp, NULL);
    uv_close((uv_handle_t *)&f->other, NULL);
    uv_close((uv_handle_t *)&f->tcp, NULL);
    uv_close((uv_handle_t *)&f->hold_timer, NULL);
    for (struct fake_conn *c = f->conns; c != NULL; c = c->next)
        if (c->open) {
            c->open = false;
            uv_close((uv_handle_t *)&c->h, fake_conn_closed);
        }
    while (f->held != NULL) {
        struct fake_held *hd = f->held;
        f->held = hd->next;
        free(hd->wire);
        free(hd);
    }
}

#endif
