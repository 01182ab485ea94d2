/*
 * The system's resolver from resolv.conf, for `dnsprop query` without
 * @SERVER (PRODUCT.md section 2): the first usable nameserver line, as dig,
 * kdig and drill take it.
 */
#include "resolvers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int rlist_resolv_conf_first(const char *data, size_t len, struct sockaddr_storage *sa,
                            socklen_t *salen, const char **why)
{
    static const char kw[] = "nameserver";
    bool seen = false;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && data[end] != '\n')
            end++;
        size_t p = i;
        i = end + 1;
        while (p < end && blank(data[p]))
            p++;
        if (end - p < sizeof kw || memcmp(data + p, kw, sizeof kw - 1) != 0 ||
            !blank(data[p + sizeof kw - 1]))
            continue;
        p += sizeof kw - 1;
        while (p < end && blank(data[p]))
            p++;
        size_t q = p;
        while (q < end && !blank(data[q]) && data[q] != '#' && data[q] != ';')
            q++;
        seen = true;
        char addr[RLIST_ADDRSTRLEN];
        if (q == p || q - p >= sizeof addr || memchr(data + p, '\0', q - p) != NULL)
            continue;
        memcpy(addr, data + p, q - p);
        addr[q - p] = '\0';
        /* resolv.conf takes a bare address on port 53: what inet_pton reads,
         * as the resolver library does (no port, no brackets) */
        memset(sa, 0, sizeof *sa);
        struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(53);
            *salen = sizeof *v4;
            return 0;
        }
        if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(53);
            *salen = sizeof *v6;
            return 0;
        }
    }
    *why = seen ? "no usable nameserver line" : "no nameserver line";
    return DP_EINPUT;
}

int rlist_load_resolv_conf(struct rlist *l, const char *path, char *err, size_t errlen)
{
    char q[300];
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int rc = DP_EINPUT;
    dp_escape(path, strlen(path), q, sizeof q);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dp_errf(err, errlen, "%s: cannot open: %s", q, strerror(errno));
        return DP_EINPUT;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        dp_errf(err, errlen, "%s: not a regular file", q);
        goto out;
    }
    if ((rc = dp_read_all(fd, q, RLIST_RESOLV_MAX, &buf, &len, err, errlen)) != 0)
        goto out;
    rc = DP_EINPUT;
    if (len == 0) {
        dp_errf(err, errlen, "%s: empty: no nameserver line", q);
        goto out;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *why;
    if (rlist_resolv_conf_first(buf, len, &sa, &salen, &why) != 0) {
        dp_errf(err, errlen, "%s: %s", q, why);
        goto out;
    }
    char text[RLIST_ADDRSTRLEN];
    rlist_format_address((const struct sockaddr *)&sa, text, sizeof text);
    rc = rlist_add(l, text, text, "", "", false, err, errlen);
out:
    free(buf);
    close(fd);
    return rc;
}
