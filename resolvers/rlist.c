/* Resolver lists: ownership helpers (parsing comes with the resolvers issue). */
#include "resolvers.h"

#include <stdlib.h>

void rlist_deinit(struct rlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].address);
        free(l->v[i].operator_);
        free(l->v[i].country);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port, const char **why)
{
    uint64_t v;
    if (dp_parse_uint(s, 0, UINT64_MAX, &v) != 0) {
        *why = "port is not a number";
        return DP_EINPUT;
    }
    if (v == 0 || v > 65535) {
        *why = "port must be 1 to 65535";
        return DP_EINPUT;
    }
    *port = (uint16_t)v;
    return 0;
}

int rlist_parse_address(const char *s, uint16_t default_port, struct sockaddr_storage *sa,
                        socklen_t *salen, const char **why)
{
    char host[INET6_ADDRSTRLEN + 1];
    uint16_t port = default_port;
    const char *colon = s ? strchr(s, ':') : NULL;
    *why = "empty address";
    if (s == NULL || *s == '\0')
        return DP_EINPUT;
    memset(sa, 0, sizeof *sa);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL) {
            *why = "missing ']' after IPv6 address";
            return DP_EINPUT;
        }
        size_t n = (size_t)(close - s - 1);
        if (n == 0 || n >= sizeof host) {
            *why = "bad IPv6 address";
            return DP_EINPUT;
        }
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (close[1] == ':') {
            if (parse_port(close + 2, &port, why) != 0)
                return DP_EINPUT;
        } else if (close[1] != '\0') {
            *why = "unexpected text after ']'";
            return DP_EINPUT;
        }
        goto v6;
    }
    if (colon != NULL && strchr(colon + 1, ':') != NULL) {
        /* several colons: a bare IPv6 address, which takes no port */
        if (strlen(s) >= sizeof host) {
            *why = "bad IPv6 address";
            return DP_EINPUT;
        }
        strncpy(host, s, sizeof host);
        /* "::1:53" is a valid IPv6 address, but the user may have meant
         * port 53 of ::1: refuse the guess and ask for brackets */
        const char *last = strrchr(host, ':');
        if (last[1] != '\0' && strspn(last + 1, "0123456789") == strlen(last + 1)) {
            char prefix[INET6_ADDRSTRLEN + 1];
            struct in6_addr probe;
            size_t pn = (size_t)(last - host);
            memcpy(prefix, host, pn);
            prefix[pn] = '\0';
            if (inet_pton(AF_INET6, prefix, &probe) == 1) {
                *why = "ambiguous IPv6 address: write [ADDR]:PORT for a port, or [ADDR] alone";
                return DP_EINPUT;
            }
        }
        goto v6;
    }
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n == 0 || n >= sizeof host) {
        *why = "bad IPv4 address";
        return DP_EINPUT;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    if (colon != NULL && parse_port(colon + 1, &port, why) != 0)
        return DP_EINPUT;
    struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
    /* inet_pton takes only the dotted quad: "1.2.3" and "01.2.3.4" style forms are refused */
    if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
        *why = "bad IPv4 address";
        return DP_EINPUT;
    }
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    *salen = sizeof *in4;
    return 0;
v6:;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    if (strchr(host, '%') != NULL || inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
        *why = "bad IPv6 address (write [ADDR]:PORT to give a port)";
        return DP_EINPUT;
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *salen = sizeof *in6;
    return 0;
}

char *rlist_format_address(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    const void *addr;
    uint16_t port;
    int v6 = sa->sa_family == AF_INET6;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        addr = &in4->sin_addr;
        port = ntohs(in4->sin_port);
    } else if (v6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        addr = &in6->sin6_addr;
        port = ntohs(in6->sin6_port);
    } else {
        snprintf(buf, len, "?");
        return buf;
    }
    inet_ntop(sa->sa_family, addr, host, sizeof host);
    /* IPv6 goes in brackets so a port can follow it; port 53 is left out. */
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    if (port == 53)
        snprintf(buf, len, "%s%s%s", lb, host, rb);
    else
        snprintf(buf, len, "%s%s%s:%u", lb, host, rb, (unsigned)port);
    return buf;
}
