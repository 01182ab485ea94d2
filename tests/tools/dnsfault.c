/*
 * dnsfault: a tiny DNS server on 127.0.0.1 for the fault tests
 * (tests/cli/test_faults*.sh). It answers well or misbehaves on purpose:
 *
 *   good      UDP and TCP: a real answer built with ldns for any name
 *             (MX, TXT "v=spf1 -all", NS, SOA, A, AAAA, CNAME: NODATA+SOA)
 *   garbage   UDP: alternately random bytes, and a reply with the query's ID
 *             and question followed by random bytes (counts that lie); TCP
 *             the same, framed
 *   stream    UDP: the query's header with TC set (so the client goes to
 *             TCP); TCP: an endless stream of bytes after the query
 *   hang      UDP: TC set; TCP: a length of 65535, then nothing, forever
 *
 * Usage: dnsfault MODE [COUNT]. Binds COUNT (default 1) ports chosen by the
 * kernel, UDP and TCP on each, prints the ports on one line on stdout, and
 * serves until killed. Loopback only; single-threaded, poll().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#define MAX_PORTS 64
#define MAX_CONNS 256

enum mode { M_GOOD, M_GARBAGE, M_STREAM, M_HANG };

struct conn {
    int fd;
    uint8_t in[65537];
    size_t inlen;
    bool answered; /* stream/hang: the query was read */
};

static enum mode mode;
static unsigned counter;

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(random() >> 7);
}

/* A good answer to the query q (n bytes); *out malloc'd. Returns its length or 0. */
static size_t good_answer(const uint8_t *q, size_t n, uint8_t **out)
{
    ldns_pkt *qp = NULL, *rp = NULL;
    size_t len = 0;
    *out = NULL;
    if (ldns_wire2pkt(&qp, q, n) != LDNS_STATUS_OK || ldns_pkt_qdcount(qp) != 1)
        goto out;
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
    char *name = ldns_rdf2str(ldns_rr_owner(qrr));
    ldns_rr_type t = ldns_rr_get_type(qrr);
    rp = ldns_pkt_new();
    if (name == NULL || rp == NULL) {
        free(name);
        goto out;
    }
    ldns_pkt_set_id(rp, ldns_pkt_id(qp));
    ldns_pkt_set_qr(rp, true);
    ldns_pkt_set_aa(rp, true);
    ldns_pkt_set_rd(rp, ldns_pkt_rd(qp));
    ldns_pkt_push_rr(rp, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    const char *rdata = NULL;
    switch (t) {
    case LDNS_RR_TYPE_MX:
        rdata = "MX 10 mail.contoso.test.";
        break;
    case LDNS_RR_TYPE_TXT:
        rdata = "TXT \"v=spf1 -all\"";
        break;
    case LDNS_RR_TYPE_NS:
        rdata = "NS ns1.contoso.test.";
        break;
    case LDNS_RR_TYPE_SOA:
        rdata = "SOA ns1.contoso.test. h.contoso.test. 7 3600 600 86400 60";
        break;
    case LDNS_RR_TYPE_A:
        rdata = "A 192.0.2.25";
        break;
    case LDNS_RR_TYPE_AAAA:
        rdata = "AAAA 2001:db8::25";
        break;
    default:
        break;
    }
    char line[512];
    ldns_rr *rr = NULL;
    if (rdata != NULL) {
        snprintf(line, sizeof line, "%s 300 IN %s", name, rdata);
        if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
            ldns_pkt_push_rr(rp, LDNS_SECTION_ANSWER, rr);
    } else {
        snprintf(line, sizeof line,
                 "contoso.test. 60 IN SOA ns1.contoso.test. h.contoso.test. 7 3600 600 86400 60");
        if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
            ldns_pkt_push_rr(rp, LDNS_SECTION_AUTHORITY, rr);
    }
    free(name);
    if (ldns_pkt2wire(out, rp, &len) != LDNS_STATUS_OK)
        len = 0;
out:
    ldns_pkt_free(qp);
    ldns_pkt_free(rp);
    return len;
}

/* The reply of this mode to a query of n bytes (n >= 12); *out malloc'd. */
static size_t reply_for(const uint8_t *q, size_t n, uint8_t **out)
{
    if (mode == M_GOOD)
        return good_answer(q, n, out);
    if (mode == M_GARBAGE) {
        size_t len = 12 + (size_t)(random() % 500);
        uint8_t *p = malloc(len + n);
        if (p == NULL)
            return 0;
        fill_random(p, len + n);
        if (counter++ % 2 == 1) {
            /* the query's ID and question, QR set, then lies and noise */
            memcpy(p, q, n);
            p[2] |= 0x80;
            fill_random(p + 6, 6); /* section counts that lie */
            len += n;
        }
        *out = p;
        return len;
    }
    /* stream, hang: the query echoed with QR and TC set: "ask again over TCP" */
    uint8_t *p = malloc(n);
    if (p == NULL)
        return 0;
    memcpy(p, q, n);
    p[2] |= 0x80 | 0x02;
    *out = p;
    return n;
}

static int bind_pair(int *udp, int *tcp, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; attempt < 50; attempt++) {
        sa.sin_port = 0;
        *udp = socket(AF_INET, SOCK_DGRAM, 0);
        if (*udp < 0 || bind(*udp, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(*udp, (struct sockaddr *)&sa, &sl) != 0)
            return -1;
        *tcp = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (*tcp >= 0 && bind(*tcp, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            listen(*tcp, 64) == 0) {
            *port = ntohs(sa.sin_port);
            fcntl(*tcp, F_SETFL, O_NONBLOCK);
            return 0;
        }
        close(*udp);
        if (*tcp >= 0)
            close(*tcp);
    }
    return -1;
}

int main(int argc, char **argv)
{
    static struct conn conns[MAX_CONNS];
    int udp[MAX_PORTS], tcp[MAX_PORTS];
    unsigned count = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1;
    if (argc < 2 || count < 1 || count > MAX_PORTS) {
        fprintf(stderr, "usage: dnsfault good|garbage|stream|hang [COUNT<=%d]\n", MAX_PORTS);
        return 2;
    }
    if (strcmp(argv[1], "good") == 0)
        mode = M_GOOD;
    else if (strcmp(argv[1], "garbage") == 0)
        mode = M_GARBAGE;
    else if (strcmp(argv[1], "stream") == 0)
        mode = M_STREAM;
    else if (strcmp(argv[1], "hang") == 0)
        mode = M_HANG;
    else {
        fprintf(stderr, "dnsfault: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid());
    for (unsigned i = 0; i < count; i++) {
        uint16_t port;
        if (bind_pair(&udp[i], &tcp[i], &port) != 0) {
            perror("dnsfault: bind");
            return 1;
        }
        printf(i ? " %u" : "%u", port);
    }
    printf("\n");
    fflush(stdout);
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;

    for (;;) {
        struct pollfd pf[2 * MAX_PORTS + MAX_CONNS];
        int map[2 * MAX_PORTS + MAX_CONNS];
        nfds_t n = 0;
        for (unsigned i = 0; i < count; i++) {
            pf[n] = (struct pollfd){.fd = udp[i], .events = POLLIN};
            map[n++] = -1;
            pf[n] = (struct pollfd){.fd = tcp[i], .events = POLLIN};
            map[n++] = -2;
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            short ev = POLLIN;
            if (mode == M_STREAM && conns[i].answered)
                ev |= POLLOUT;
            pf[n] = (struct pollfd){.fd = conns[i].fd, .events = ev};
            map[n++] = i;
        }
        if (poll(pf, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        for (nfds_t k = 0; k < n; k++) {
            if (pf[k].revents == 0)
                continue;
            if (map[k] == -1) {
                uint8_t q[4096], *r = NULL;
                struct sockaddr_storage from;
                socklen_t fl = sizeof from;
                ssize_t got = recvfrom(pf[k].fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
                if (got < 12)
                    continue;
                size_t rl = reply_for(q, (size_t)got, &r);
                if (rl > 0)
                    sendto(pf[k].fd, r, rl, 0, (struct sockaddr *)&from, fl);
                free(r);
            } else if (map[k] == -2) {
                int fd = accept(pf[k].fd, NULL, NULL);
                if (fd < 0)
                    continue;
                int slot = -1;
                for (int i = 0; i < MAX_CONNS && slot < 0; i++)
                    if (conns[i].fd < 0)
                        slot = i;
                if (slot < 0) {
                    close(fd);
                    continue;
                }
                fcntl(fd, F_SETFL, O_NONBLOCK);
                conns[slot].fd = fd;
                conns[slot].inlen = 0;
                conns[slot].answered = false;
            } else {
                struct conn *c = &conns[map[k]];
                if (pf[k].revents & POLLOUT) {
                    uint8_t junk[16384];
                    fill_random(junk, sizeof junk);
                    if (write(c->fd, junk, sizeof junk) < 0 && errno != EAGAIN) {
                        close(c->fd);
                        c->fd = -1;
                        continue;
                    }
                }
                if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
                if (got <= 0) {
                    if (got < 0 && errno == EAGAIN)
                        continue;
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                c->inlen += (size_t)got;
                while (c->inlen >= 2) {
                    size_t ml = (size_t)c->in[0] << 8 | c->in[1];
                    if (c->inlen < 2 + ml)
                        break;
                    if (mode == M_STREAM) {
                        c->answered = true; /* POLLOUT from now on, forever */
                    } else if (mode == M_HANG) {
                        if (!c->answered) {
                            const uint8_t big[2] = {0xff, 0xff};
                            if (write(c->fd, big, 2) != 2) {
                            }
                        }
                        c->answered = true;
                    } else if (ml >= 12) {
                        uint8_t *r = NULL;
                        size_t rl = reply_for(c->in + 2, ml, &r);
                        uint8_t hdr[2] = {(uint8_t)(rl >> 8), (uint8_t)rl};
                        if (rl > 0 && rl <= 65535 && write(c->fd, hdr, 2) == 2 &&
                            write(c->fd, r, rl) != (ssize_t)rl) {
                        }
                        free(r);
                    }
                    memmove(c->in, c->in + 2 + ml, c->inlen - 2 - ml);
                    c->inlen -= 2 + ml;
                }
            }
        }
    }
}
