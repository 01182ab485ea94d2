/*
 * resolvers: who gets asked. The built-in public list (resolvers/public.csv,
 * compiled in), resolver list files, the comma-list syntax of --resolvers and
 * --authority, and discovery of a domain's authoritative servers
 * (PRODUCT.md sections 2 and 5).
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_RESOLVERS_H
#define DNSPROP_RESOLVERS_H

#include "common/dnsprop.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One server to ask. */
struct rlist_server {
    char *name;                /* owned: "google-a", or "auth:ns1.example.com." */
    char *address;             /* owned: as written in reports: "8.8.8.8", "[::1]:5353" */
    char *operator_;           /* owned: may be "" */
    char *country;             /* owned: may be "" */
    struct sockaddr_storage sa; /* parsed address and port (53 when not given) */
    socklen_t salen;
    bool authoritative;        /* asked with RD clear */
};

/* An ordered set of servers. Owns its servers and their strings. */
struct rlist {
    struct rlist_server *v;
    size_t n, cap;
};

/* Parses a server address: IPv4 "192.0.2.1", "192.0.2.1:5353", IPv6 "2001:db8::1",
 * "[2001:db8::1]:5353" (a bare IPv6 takes no port). The port defaults to
 * default_port; 0 and ports over 65535 are refused. Returns 0, or DP_EINPUT
 * with *why set to a static text saying what is wrong. */
int rlist_parse_address(const char *s, uint16_t default_port, struct sockaddr_storage *sa,
                        socklen_t *salen, const char **why);

/* Formats an address the way reports write it: "192.0.2.1" or "[2001:db8::1]"
 * when the port is 53, else "192.0.2.1:5353" / "[2001:db8::1]:5353".
 * Returns buf (RLIST_ADDRSTRLEN bytes are always enough). */
#define RLIST_ADDRSTRLEN 56
char *rlist_format_address(const struct sockaddr *sa, char *buf, size_t len);

/* Frees everything the list owns; the struct itself is the caller's. */
void rlist_deinit(struct rlist *l);

/* The compiled-in copy of resolvers/public.csv (generated at build time). */
extern const char rlist_public_csv[];
extern const size_t rlist_public_csv_len;

#endif
