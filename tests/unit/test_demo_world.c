/*
 * Tests of the demo world (monitor/demo_*.c): real DNS over loopback.
 *
 * Each test runs the world on its own loop and asks it with a small client of
 * its own (ldns messages over uv_udp / uv_tcp on the same loop, so the world
 * keeps serving while the test waits). TTLs are shortened through the opts so
 * that expiry is seen in seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <uv.h>

#include "demo_internal.h" /* the upstream client, tested directly */
#include "demo.h"
#include "resolvers.h"
#include "rules.h"
#include "slow.h"

/* ---- a small client ---- */

struct client {
    uv_udp_t udp;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    struct sockaddr_storage to;
    uint16_t id;
    bool done;
    int closed;
    ldns_pkt *reply;
    uint8_t *qwire;
    size_t qlen;
    uint8_t lenbuf[2];
    uint8_t buf[2 + 65535];
    size_t blen;
};

static void c_closed(uv_handle_t *h)
{
    ((struct client *)h->data)->closed++;
}

static void c_timeout(uv_timer_t *t)
{
    ((struct client *)t->data)->done = true;
}

static void c_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct client *c = h->data;
    (void)hint;
    *b = uv_buf_init((char *)c->buf + c->blen, (unsigned)(sizeof c->buf - c->blen));
}

static void c_accept(struct client *c, const uint8_t *data, size_t len)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, data, len) != LDNS_STATUS_OK)
        return;
    if (ldns_pkt_id(p) != c->id || !ldns_pkt_qr(p)) {
        ldns_pkt_free(p);
        return;
    }
    c->reply = p;
    c->done = true;
}

static void c_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                       unsigned flags)
{
    struct client *c = h->data;
    const struct sockaddr_in *f = (const struct sockaddr_in *)from;
    const struct sockaddr_in *to = (const struct sockaddr_in *)&c->to;
    (void)flags;
    if (n <= 0 || from == NULL || c->done || f->sin_port != to->sin_port)
        return;
    c_accept(c, (const uint8_t *)b->base, (size_t)n);
}

static void c_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct client *c = s->data;
    (void)b;
    if (n < 0) {
        c->done = true;
        return;
    }
    c->blen += (size_t)n;
    if (c->blen >= 2 && c->blen >= 2 + (((size_t)c->buf[0] << 8) | c->buf[1]))
        c_accept(c, c->buf + 2, c->blen - 2);
}

static void c_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status;
}

static void c_connected(uv_connect_t *cr, int status)
{
    struct client *c = cr->data;
    if (status < 0) {
        c->done = true;
        return;
    }
    c->lenbuf[0] = (uint8_t)(c->qlen >> 8);
    c->lenbuf[1] = (uint8_t)c->qlen;
    uv_buf_t b[2] = {uv_buf_init((char *)c->lenbuf, 2),
                     uv_buf_init((char *)c->qwire, (unsigned)c->qlen)};
    assert_int_equal(uv_write(&c->write, (uv_stream_t *)&c->tcp, b, 2, c_written), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, c_alloc, c_tcp_read), 0);
}

/* Whether ask_ex puts the NSID option (RFC 5001) in its queries. */
static bool ask_nsid;

/* Asks addr ("127.0.0.1:PORT") one question; returns the reply (caller frees)
 * or NULL when none came within timeout_ms. */
static ldns_pkt *ask_ex(uv_loop_t *loop, const char *addr, const char *name, ldns_rr_type type,
                        bool tcp, uint64_t timeout_ms)
{
    struct client *c = calloc(1, sizeof *c);
    socklen_t salen;
    const char *why;
    assert_non_null(c);
    assert_int_equal(rlist_parse_address(addr, 53, &c->to, &salen, &why), 0);
    ldns_pkt *q = NULL;
    assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD),
                     LDNS_STATUS_OK);
    assert_int_equal(uv_random(NULL, NULL, &c->id, sizeof c->id, 0, NULL), 0);
    ldns_pkt_set_id(q, c->id);
    ldns_pkt_set_edns_udp_size(q, 1232);
    if (ask_nsid) {
        ldns_edns_option_list *l = ldns_edns_option_list_new();
        assert_non_null(l);
        assert_true(
            ldns_edns_option_list_push(l, ldns_edns_new_from_data(LDNS_EDNS_NSID, 0, NULL)));
        ldns_pkt_set_edns_option_list(q, l);
    }
    assert_int_equal(ldns_pkt2wire(&c->qwire, q, &c->qlen), LDNS_STATUS_OK);
    ldns_pkt_free(q);
    assert_int_equal(uv_timer_init(loop, &c->timer), 0);
    c->timer.data = c;
    assert_int_equal(uv_timer_start(&c->timer, c_timeout, timeout_ms, 0), 0);
    uv_handle_t *h;
    if (tcp) {
        assert_int_equal(uv_tcp_init(loop, &c->tcp), 0);
        c->tcp.data = c;
        c->connect.data = c;
        assert_int_equal(
            uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&c->to, c_connected), 0);
        h = (uv_handle_t *)&c->tcp;
    } else {
        struct sockaddr_in any;
        uv_ip4_addr("127.0.0.1", 0, &any);
        assert_int_equal(uv_udp_init(loop, &c->udp), 0);
        c->udp.data = c;
        assert_int_equal(uv_udp_bind(&c->udp, (struct sockaddr *)&any, 0), 0);
        assert_int_equal(uv_udp_recv_start(&c->udp, c_alloc, c_udp_recv), 0);
        uv_buf_t b = uv_buf_init((char *)c->qwire, (unsigned)c->qlen);
        assert_true(uv_udp_try_send(&c->udp, &b, 1, (struct sockaddr *)&c->to) > 0);
        h = (uv_handle_t *)&c->udp;
    }
    while (!c->done)
        uv_run(loop, UV_RUN_ONCE);
    uv_close(h, c_closed);
    uv_close((uv_handle_t *)&c->timer, c_closed);
    while (c->closed < 2)
        uv_run(loop, UV_RUN_ONCE);
    ldns_pkt *r = c->reply;
    free(c->qwire);
    free(c);
    return r;
}

static ldns_pkt *ask(uv_loop_t *loop, const char *addr, const char *name, ldns_rr_type type)
{
    ldns_pkt *r = ask_ex(loop, addr, name, type, false, 2000u * test_slow());
    if (r == NULL)
        fail_msg("no answer from %s for %s", addr, name);
    return r;
}

static void c_timeout_flag(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

static void sleep_ms(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    bool fired = false;
    assert_int_equal(uv_timer_init(loop, &t), 0);
    t.data = &fired;
    assert_int_equal(uv_timer_start(&t, c_timeout_flag, ms, 0), 0);
    while (!fired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* The normalized answer (rules/answer.c) of the records of `type` in r's
 * answer section; caller frees. */
static char *answer_of(const ldns_pkt *r, ldns_rr_type type)
{
    ldns_rr *v[64];
    size_t n = 0;
    ldns_rr_list *a = ldns_pkt_answer(r);
    for (size_t i = 0; i < ldns_rr_list_rr_count(a) && n < 64; i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(a, i)) == type)
            v[n++] = ldns_rr_list_rr(a, i);
    char *out = NULL;
    assert_int_equal(answer_from_rrs(v, n, &out), 0);
    return out;
}

/* Smallest TTL of the answer section. */
static uint32_t ttl_of(const ldns_pkt *r)
{
    ldns_rr_list *a = ldns_pkt_answer(r);
    assert_true(ldns_rr_list_rr_count(a) > 0);
    uint32_t m = UINT32_MAX;
    for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++)
        if (ldns_rr_ttl(ldns_rr_list_rr(a, i)) < m)
            m = ldns_rr_ttl(ldns_rr_list_rr(a, i));
    return m;
}

static void expect_answer(uv_loop_t *loop, const char *addr, const char *name, ldns_rr_type type,
                          bool aa, const char *want)
{
    ldns_pkt *r = ask(loop, addr, name, type);
    char *got = answer_of(r, type);
    if (ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR || ldns_pkt_aa(r) != aa ||
        strcmp(got, want) != 0)
        fail_msg("%s type %d from %s: rcode %d aa %d answer '%s', want '%s'", name, (int)type, addr,
                 (int)ldns_pkt_get_rcode(r), (int)ldns_pkt_aa(r), got, want);
    free(got);
    ldns_pkt_free(r);
}

/* A world with options o; its resolvers wait for the authoritative server
 * (1 s a try unless o says) longer when the program runs slower. */
static struct demo_world *start(uv_loop_t *loop, struct demo_world_opts o)
{
    struct demo_world *w = NULL;
    if (o.upstream_timeout_ms == 0)
        o.upstream_timeout_ms = 1000u * test_slow();
    assert_int_equal(demo_world_start(loop, &o, &w), 0);
    return w;
}

static const char *resolver(struct demo_world *w, const char *name)
{
    const struct demo_resolver_info *v;
    size_t n = demo_world_resolvers(w, &v);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].address;
    fail_msg("no resolver %s", name);
    return NULL;
}

static void on_primed(struct demo_world *w, unsigned failed, void *arg)
{
    (void)w;
    *(int *)arg = (int)failed + 1; /* 1 = done, no failure */
}

static void prime(uv_loop_t *loop, struct demo_world *w)
{
    int st = 0;
    assert_int_equal(demo_world_prime(w, on_primed, &st), 0);
    while (st == 0)
        uv_run(loop, UV_RUN_ONCE);
    assert_int_equal(st, 1);
}

static void finish(uv_loop_t *loop, struct demo_world *w)
{
    demo_world_close(w);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

#define OLD_MX "10 mail.contoso.test."
#define NEW_MX "0 contoso-test.mail.protection.outlook.com."

/* The authoritative server: every record with AA, negative answers with the SOA,
 * CNAME chasing, REFUSED outside its zones, TC over UDP and the whole over TCP. */
static void test_auth(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, (struct demo_world_opts){0});
    const char *a = demo_world_auth_address(w);
    assert_non_null(strstr(a, "127.0.0.1:"));

    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_MX, true, OLD_MX);
    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_NS, true,
                  "ns1.contoso.test. | ns2.contoso.test.");
    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_TXT, true,
                  "\"v=spf1 mx a:mail.contoso.test -all\"");
    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_SOA, true,
                  "ns1.contoso.test. hostmaster.contoso.test. 2026010101 60 30 600 10");
    expect_answer(&loop, a, "autodiscover.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "mail.contoso.test.");
    expect_answer(&loop, a, "selector1._domainkey.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "selector1.dkim.contoso.test.");
    expect_answer(&loop, a, "selector2._domainkey.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "selector2.dkim.contoso.test.");
    expect_answer(&loop, a, "_dmarc.contoso.test", LDNS_RR_TYPE_TXT, true,
                  "\"v=DMARC1; p=none; rua=mailto:dmarc@contoso.test\"");
    expect_answer(&loop, a, "ns1.contoso.test", LDNS_RR_TYPE_A, true, "127.0.0.1");
    expect_answer(&loop, a, "ns2.contoso.test", LDNS_RR_TYPE_AAAA, true, "::1");
    expect_answer(&loop, a, "mail.contoso.test", LDNS_RR_TYPE_A, true, "192.0.2.25");
    expect_answer(&loop, a, "mail.contoso.test", LDNS_RR_TYPE_AAAA, true, "2001:db8::25");
    expect_answer(&loop, a, "contoso-test.mail.protection.outlook.com", LDNS_RR_TYPE_A, true,
                  "198.51.100.10 | 198.51.100.11");
    expect_answer(&loop, a, "spf.protection.outlook.com", LDNS_RR_TYPE_TXT, true,
                  "\"v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:365::/48 -all\"");
    /* the CNAME chased to the address, in one answer */
    expect_answer(&loop, a, "autodiscover.contoso.test", LDNS_RR_TYPE_A, true, "192.0.2.25");
    expect_answer(&loop, a, "autodiscover.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "mail.contoso.test.");

    /* NXDOMAIN and NODATA carry the SOA, its TTL the negative TTL */
    static const struct {
        const char *name;
        ldns_rr_type type;
        ldns_pkt_rcode rcode;
    } neg[] = {
        {"nope.contoso.test", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN},
        {"contoso.test", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR},
        {"_domainkey.contoso.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR}, /* empty non-terminal */
        {"x.mail.contoso.test", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN},
    };
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        ldns_pkt *r = ask(&loop, a, neg[i].name, neg[i].type);
        assert_int_equal(ldns_pkt_get_rcode(r), neg[i].rcode);
        assert_true(ldns_pkt_aa(r));
        assert_int_equal(ldns_pkt_ancount(r), 0);
        assert_int_equal(ldns_pkt_nscount(r), 1);
        const ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(r), 0);
        assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
        assert_int_equal(ldns_rr_ttl(soa), 10);
        ldns_pkt_free(r);
    }

    ldns_pkt *r = ask(&loop, a, "example.org", LDNS_RR_TYPE_A);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
    ldns_pkt_free(r);

    /* too big for UDP: TC and nothing else; over TCP: all of it */
    r = ask(&loop, a, "big.contoso.test", LDNS_RR_TYPE_TXT);
    assert_true(ldns_pkt_tc(r));
    assert_int_equal(ldns_pkt_ancount(r), 0);
    ldns_pkt_free(r);
    r = ask_ex(&loop, a, "big.contoso.test", LDNS_RR_TYPE_TXT, true, 2000u * test_slow());
    assert_non_null(r);
    assert_false(ldns_pkt_tc(r));
    assert_true(ldns_pkt_aa(r));
    assert_int_equal(ldns_pkt_ancount(r), 24);
    ldns_pkt_free(r);

    /* the resolver list the integrator hands to --resolvers */
    char *csv = NULL;
    assert_int_equal(demo_world_resolvers_csv(w, &csv), 0);
    assert_memory_equal(csv, "name,address,operator,country\r\nplain1,127.0.0.1:", 41);
    assert_non_null(strstr(csv, "\r\nservfail,127.0.0.1:"));
    assert_non_null(strstr(csv, ",demo two-mx,\r\n"));
    const struct demo_resolver_info *v;
    assert_true(demo_world_resolvers(w, &v) >= 8);
    free(csv);

    finish(&loop, w);
}

/* A resolver counts the TTL down between two queries. */
static void test_countdown(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, (struct demo_world_opts){0});
    prime(&loop, w);
    const char *p1 = resolver(w, "plain1");
    ldns_pkt *r = ask(&loop, p1, "contoso.test", LDNS_RR_TYPE_MX);
    uint32_t t1 = ttl_of(r);
    assert_false(ldns_pkt_aa(r));
    assert_true(ldns_pkt_ra(r));
    ldns_pkt_free(r);
    sleep_ms(&loop, 1500);
    r = ask(&loop, p1, "contoso.test", LDNS_RR_TYPE_MX);
    uint32_t t2 = ttl_of(r);
    ldns_pkt_free(r);
    /* fetched while priming, asked just after: at most a second gone (more
     * when the program runs slower) */
    assert_true(t1 <= 10 && t1 + test_slow() >= 10);
    if (t1 - t2 < 1 || t1 - t2 > 1 + test_slow())
        fail_msg("TTL %u then %u 1.5 s later", t1, t2);
    /* primed 4 s "earlier" (plain3): its copy has 4 s less to live */
    r = ask(&loop, resolver(w, "plain3"), "contoso.test", LDNS_RR_TYPE_MX);
    assert_true(ttl_of(r) <= 6);
    ldns_pkt_free(r);
    /* the same over TCP */
    r = ask_ex(&loop, p1, "contoso.test", LDNS_RR_TYPE_MX, true, 2000u * test_slow());
    assert_non_null(r);
    assert_true(ttl_of(r) <= t2);
    ldns_pkt_free(r);
    /* a negative answer is cached with the SOA's negative TTL, counting down */
    r = ask(&loop, p1, "nope.contoso.test", LDNS_RR_TYPE_A);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(r), 0)), 10);
    ldns_pkt_free(r);
    sleep_ms(&loop, 1100);
    r = ask(&loop, p1, "nope.contoso.test", LDNS_RR_TYPE_A);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NXDOMAIN);
    assert_true(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(r), 0)) <= 9);
    ldns_pkt_free(r);

    struct demo_world_stats st;
    demo_world_get_stats(w, &st);
    assert_true(st.cache_hits >= 4);
    assert_int_equal(st.upstream_dropped, 0);
    assert_int_equal(st.upstream_failures, 0);
    finish(&loop, w);
}

/* The move, as each kind of resolver lives through it. Old TTL 2 s. */
static void test_move(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    /* the old TTL (2 s) is the time the checks before it have to hold the
     * old records: longer when the program runs slower */
    const uint32_t old_ttl = 2 * test_slow();
    const uint64_t old_ms = old_ttl * 1000u;
    struct demo_world_opts o = {.old_ttl = old_ttl, .new_ttl = 300, .stretch = 3};
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, o);
    const char *a = demo_world_auth_address(w);
    prime(&loop, w);
    uint64_t t0 = uv_now(&loop);
    uint32_t serial = demo_world_serial(w);
    assert_int_equal(demo_world_move_mx(w), 0);
    assert_int_equal(demo_world_serial(w), serial + 1);

    /* the authoritative server has the new records at once */
    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_MX, true, NEW_MX);
    expect_answer(&loop, a, "contoso.test", LDNS_RR_TYPE_TXT, true,
                  "\"v=spf1 include:spf.protection.outlook.com -all\"");
    expect_answer(&loop, a, "autodiscover.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "autodiscover.outlook.com.");
    expect_answer(&loop, a, "selector1._domainkey.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "selector1-contoso-test._domainkey.contosotest.onmicrosoft.com.");
    expect_answer(&loop, a, "selector2._domainkey.contoso.test", LDNS_RR_TYPE_CNAME, true,
                  "selector2-contoso-test._domainkey.contosotest.onmicrosoft.com.");
    expect_answer(&loop, a, "_dmarc.contoso.test", LDNS_RR_TYPE_TXT, true,
                  "\"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.test\"");
    ldns_pkt *r = ask(&loop, a, "contoso.test", LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 2)),
                     serial + 1);
    ldns_pkt_free(r);

    /* primed resolvers still hold the old MX; the cold one fetches the new */
    expect_answer(&loop, resolver(w, "plain1"), "contoso.test", LDNS_RR_TYPE_MX, false, OLD_MX);
    expect_answer(&loop, resolver(w, "twomx"), "contoso.test", LDNS_RR_TYPE_MX, false, OLD_MX);
    expect_answer(&loop, resolver(w, "stretch"), "contoso.test", LDNS_RR_TYPE_MX, false, OLD_MX);
    expect_answer(&loop, resolver(w, "cold"), "contoso.test", LDNS_RR_TYPE_MX, false, NEW_MX);
    r = ask(&loop, resolver(w, "stretch"), "contoso.test", LDNS_RR_TYPE_MX);
    uint32_t st1 = ttl_of(r);
    ldns_pkt_free(r);
    assert_true(st1 > old_ttl && st1 <= 3 * old_ttl); /* 3 x the old TTL, counted down */

    /* the servfail one answers SERVFAIL; the silent one never answers */
    r = ask(&loop, resolver(w, "servfail"), "contoso.test", LDNS_RR_TYPE_MX);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
    ldns_pkt_free(r);
    assert_null(ask_ex(&loop, resolver(w, "silent"), "contoso.test", LDNS_RR_TYPE_MX, false, 500));
    assert_null(ask_ex(&loop, resolver(w, "silent"), "contoso.test", LDNS_RR_TYPE_MX, true, 500));

    /* past the old TTL after priming */
    uint64_t el = uv_now(&loop) - t0;
    assert_true(el < old_ms); /* else the checks above proved nothing */
    sleep_ms(&loop, old_ms + 300 - el);
    expect_answer(&loop, resolver(w, "plain1"), "contoso.test", LDNS_RR_TYPE_MX, false, NEW_MX);
    expect_answer(&loop, resolver(w, "plain4"), "contoso.test", LDNS_RR_TYPE_MX, false, NEW_MX);
    expect_answer(&loop, resolver(w, "plain1"), "contoso.test", LDNS_RR_TYPE_TXT, false,
                  "\"v=spf1 include:spf.protection.outlook.com -all\"");
    expect_answer(&loop, resolver(w, "twomx"), "contoso.test", LDNS_RR_TYPE_MX, false,
                  NEW_MX " | " OLD_MX);
    /* the stretching one keeps the old MX past its TTL */
    r = ask(&loop, resolver(w, "stretch"), "contoso.test", LDNS_RR_TYPE_MX);
    char *got = answer_of(r, LDNS_RR_TYPE_MX);
    assert_string_equal(got, OLD_MX);
    assert_true(ttl_of(r) >= 1 && ttl_of(r) <= 2 * old_ttl);
    free(got);
    ldns_pkt_free(r);
    /* ... until three times the TTL */
    el = uv_now(&loop) - t0;
    if (el < 3 * old_ms + 300)
        sleep_ms(&loop, 3 * old_ms + 300 - el);
    expect_answer(&loop, resolver(w, "stretch"), "contoso.test", LDNS_RR_TYPE_MX, false, NEW_MX);
    r = ask(&loop, resolver(w, "stretch"), "contoso.test", LDNS_RR_TYPE_MX);
    assert_true(ttl_of(r) > 300 && ttl_of(r) <= 900); /* the new TTL, stretched */
    ldns_pkt_free(r);
    /* the two-MX one still serves both */
    expect_answer(&loop, resolver(w, "twomx"), "contoso.test", LDNS_RR_TYPE_MX, false,
                  NEW_MX " | " OLD_MX);

    struct demo_world_stats st;
    demo_world_get_stats(w, &st);
    assert_int_equal(st.upstream_dropped, 0);
    assert_true(st.upstream_fetches > 20);
    finish(&loop, w);
}

/* The NSID of a reply, as text ("" when none), in buf. */
static const char *nsid_of(ldns_pkt *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    ldns_edns_option_list *l = ldns_pkt_edns_get_option_list(r);
    for (size_t i = 0; l != NULL && i < ldns_edns_option_list_get_count(l); i++) {
        ldns_edns_option *o = ldns_edns_option_list_get_option(l, i);
        if (ldns_edns_get_code(o) != LDNS_EDNS_NSID)
            continue;
        size_t n = ldns_edns_get_size(o) < cap - 1 ? ldns_edns_get_size(o) : cap - 1;
        memcpy(buf, ldns_edns_get_data(o), n);
        buf[n] = '\0';
    }
    return buf;
}

/* The pool: three caches behind one address, a query lands on one at random,
 * each names itself in NSID when asked, and each was primed at another time
 * (0, 2/5 and 4/5 of the old TTL ago), so its old records expire apart. */
static void test_pool(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    /* TTL 5 s: the caches' copies must outlive the asking below (longer
     * when the program runs slower) */
    const uint32_t slow = test_slow(), old_ttl = 5 * slow;
    struct demo_world_opts o = {.old_ttl = old_ttl, .new_ttl = 300};
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, o);
    prime(&loop, w);
    assert_int_equal(demo_world_move_mx(w), 0);
    const char *pool = resolver(w, "pool");
    char nsid[64];
    uint32_t ttl[3] = {0, 0, 0};
    unsigned seen = 0;
    ask_nsid = true;
    for (int i = 0; i < 60 && seen != 7; i++) {
        ldns_pkt *r = ask(&loop, pool, "contoso.test", LDNS_RR_TYPE_MX);
        nsid_of(r, nsid, sizeof nsid);
        char *got = answer_of(r, LDNS_RR_TYPE_MX);
        assert_string_equal(got, OLD_MX); /* every cache still holds the old MX */
        free(got);
        assert_true(strcmp(nsid, "pool-a") == 0 || strcmp(nsid, "pool-b") == 0 ||
                    strcmp(nsid, "pool-c") == 0);
        int k = nsid[5] - 'a';
        seen |= 1u << k;
        ttl[k] = ttl_of(r);
        ldns_pkt_free(r);
    }
    assert_int_equal(seen, 7);
    /* primed 0, 2 and 4 s ago (times slow) with TTL 5 s: 5, 3 and 1 s left
     * (rounded up), less the time the asking took */
    if (!(ttl[0] <= old_ttl && ttl[0] > 3 * slow && ttl[1] <= 3 * slow && ttl[1] > slow &&
          ttl[2] <= slow && ttl[2] >= 1))
        fail_msg("pool TTLs %u %u %u, want about %u %u %u", ttl[0], ttl[1], ttl[2], old_ttl,
                 3 * slow, slow);
    /* no NSID when the query did not ask */
    ask_nsid = false;
    ldns_pkt *r = ask(&loop, pool, "contoso.test", LDNS_RR_TYPE_MX);
    assert_string_equal(nsid_of(r, nsid, sizeof nsid), "");
    ldns_pkt_free(r);
    finish(&loop, w);
}

/* Garbage and a message with QR set are ignored; the server keeps answering. */
static void test_garbage(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, (struct demo_world_opts){0});
    const char *addrs[] = {demo_world_auth_address(w), resolver(w, "plain1")};
    for (size_t i = 0; i < 2; i++) {
        struct sockaddr_storage to;
        socklen_t salen;
        const char *why;
        assert_int_equal(rlist_parse_address(addrs[i], 53, &to, &salen, &why), 0);
        uv_udp_t u;
        struct sockaddr_in any;
        uv_ip4_addr("127.0.0.1", 0, &any);
        assert_int_equal(uv_udp_init(&loop, &u), 0);
        assert_int_equal(uv_udp_bind(&u, (struct sockaddr *)&any, 0), 0);
        static char junk[] = "\x12\x34\x81\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff";
        uv_buf_t b[] = {uv_buf_init((char *)junk, sizeof junk - 1), uv_buf_init((char *)junk, 3)};
        assert_true(uv_udp_try_send(&u, &b[0], 1, (struct sockaddr *)&to) > 0);
        assert_true(uv_udp_try_send(&u, &b[1], 1, (struct sockaddr *)&to) > 0);
        uv_close((uv_handle_t *)&u, NULL);
        sleep_ms(&loop, 50);
        expect_answer(&loop, addrs[i], "contoso.test", LDNS_RR_TYPE_MX, i == 0, OLD_MX);
    }
    finish(&loop, w);
}

/* Closing with upstream fetches in flight: nothing leaks, no callback after close. */
static void test_close_inflight(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    int st = 0;
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, (struct demo_world_opts){0});
    assert_int_equal(demo_world_prime(w, on_primed, &st), 0);
    finish(&loop, w);
    assert_int_equal(st, 0);
}

/* ---- the upstream client, against a fake server that lies first ---- */

struct fake {
    uv_udp_t udp, other; /* other: a second socket, a wrong source */
    uint8_t buf[4096];
    int closed;
};

static void fake_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct fake *f = h->data;
    (void)hint;
    *b = uv_buf_init((char *)f->buf, sizeof f->buf);
}

static void fake_send(uv_udp_t *u, ldns_pkt *p, const struct sockaddr *to)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
    uv_buf_t b = uv_buf_init((char *)wire, (unsigned)len);
    assert_true(uv_udp_try_send(u, &b, 1, to) > 0);
    free(wire);
}

/* Answers each query four times: wrong ID, wrong question, from the wrong
 * port, then right (MX 5 right.contoso.test.). */
static void fake_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *from,
                      unsigned flags)
{
    struct fake *f = h->data;
    ldns_pkt *q = NULL;
    (void)flags;
    if (n <= 0 || from == NULL ||
        ldns_wire2pkt(&q, (uint8_t *)b->base, (size_t)n) != LDNS_STATUS_OK)
        return;
    assert_false(ldns_pkt_rd(q)); /* RD clear towards an authoritative server */
    ldns_rr *mx = NULL;
    assert_int_equal(
        ldns_rr_new_frm_str(&mx, "contoso.test. 60 IN MX 5 right.contoso.test.", 0, NULL, NULL),
        LDNS_STATUS_OK);
    ldns_pkt *r = NULL;
    assert_int_equal(ldns_pkt_query_new_frm_str(&r, "contoso.test.", LDNS_RR_TYPE_MX,
                                                LDNS_RR_CLASS_IN, LDNS_QR | LDNS_AA),
                     LDNS_STATUS_OK);
    ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, mx);
    ldns_pkt_set_id(r, (uint16_t)(ldns_pkt_id(q) + 1));
    fake_send(h, r, from);
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(r), 0), LDNS_RR_TYPE_A);
    fake_send(h, r, from);
    ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(r), 0), LDNS_RR_TYPE_MX);
    fake_send(&f->other, r, from);
    fake_send(h, r, from);
    ldns_pkt_free(r);
    ldns_pkt_free(q);
}

struct upres {
    bool done;
    int status;
    char *answer;
};

static void up_done(void *arg, int status, ldns_pkt *reply)
{
    struct upres *u = arg;
    u->done = true;
    u->status = status;
    if (reply != NULL) {
        u->answer =
            answer_of(reply, ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(reply), 0)));
        ldns_pkt_free(reply);
    }
}

static void fake_closed(uv_handle_t *h)
{
    ((struct fake *)h->data)->closed++;
}

static void test_upstream(void **state)
{
    (void)state;
    uv_loop_t loop;
    struct demo_world *w;
    struct fake *f = calloc(1, sizeof *f);
    /* a try's wait must outlast the fake's reply (in the same loop) */
    const uint64_t try_ms = 200u * test_slow();
    struct demo_world_opts o = {.upstream_timeout_ms = try_ms};
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&loop), 0);
    w = start(&loop, o);
    struct sockaddr_in any, fa;
    int len = sizeof fa;
    uv_ip4_addr("127.0.0.1", 0, &any);
    uv_udp_t *socks[] = {&f->udp, &f->other};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(uv_udp_init(&loop, socks[i]), 0);
        socks[i]->data = f;
        assert_int_equal(uv_udp_bind(socks[i], (struct sockaddr *)&any, 0), 0);
    }
    assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&fa, &len), 0);
    assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc, fake_recv), 0);

    ldns_rdf *name = ldns_dname_new_frm_str("contoso.test.");
    struct upres u = {0};
    assert_int_equal(demo__upstream_query(w, &fa, name, LDNS_RR_TYPE_MX, up_done, &u), 0);
    assert_false(u.done); /* never from inside the call */
    while (!u.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(u.status, 0);
    assert_string_equal(u.answer, "5 right.contoso.test.");
    free(u.answer);
    struct demo_world_stats st;
    demo_world_get_stats(w, &st);
    assert_int_equal(st.upstream_dropped, 3);

    /* truncated over UDP: the client goes on over TCP (the real server) */
    struct sockaddr_storage auth;
    socklen_t salen;
    const char *why;
    assert_int_equal(rlist_parse_address(demo_world_auth_address(w), 53, &auth, &salen, &why), 0);
    ldns_rdf *big = ldns_dname_new_frm_str("big.contoso.test.");
    struct upres ub = {0};
    assert_int_equal(
        demo__upstream_query(w, (struct sockaddr_in *)&auth, big, LDNS_RR_TYPE_TXT, up_done, &ub),
        0);
    while (!ub.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(ub.status, 0);
    assert_non_null(strstr(ub.answer, "record 23"));
    free(ub.answer);

    /* a server that never answers (the fake's second socket reads nothing):
     * two tries of try_ms, then UV_ETIMEDOUT */
    struct sockaddr_in oa;
    len = sizeof oa;
    assert_int_equal(uv_udp_getsockname(&f->other, (struct sockaddr *)&oa, &len), 0);
    struct upres ut = {0};
    uint64_t t0 = uv_now(&loop);
    assert_int_equal(demo__upstream_query(w, &oa, name, LDNS_RR_TYPE_MX, up_done, &ut), 0);
    while (!ut.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(ut.status, UV_ETIMEDOUT);
    assert_true(uv_now(&loop) - t0 >= 2 * try_ms - 10);

    /* closing the world cancels a lookup in flight */
    struct upres uc = {0};
    assert_int_equal(demo__upstream_query(w, &oa, name, LDNS_RR_TYPE_MX, up_done, &uc), 0);
    demo_world_close(w);
    assert_true(uc.done);
    assert_int_equal(uc.status, UV_ECANCELED);

    ldns_rdf_deep_free(name);
    ldns_rdf_deep_free(big);
    uv_close((uv_handle_t *)&f->udp, fake_closed);
    uv_close((uv_handle_t *)&f->other, fake_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 2);
    free(f);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),           cmocka_unit_test(test_countdown),
        cmocka_unit_test(test_move),           cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_close_inflight), cmocka_unit_test(test_upstream),
        cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
