/*
 * Fuzz target: the resolv.conf reader (rlist_resolv_conf_first), which `query`
 * runs on a file the system holds. The address it returns must be IPv4 or
 * IPv6 on port 53, and its text form must read back as the same address.
 */
#include "fuzz.h"
#include "resolvers.h"

#include <arpa/inet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    const char *why = NULL;
    int rc = rlist_resolv_conf_first((const char *)data, size, &sa, &salen, &why);
    if (rc != 0) {
        FUZZ_ASSERT(rc == DP_EINPUT && why != NULL);
        return 0;
    }
    FUZZ_ASSERT(sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
    FUZZ_ASSERT(salen == (sa.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                  : sizeof(struct sockaddr_in6)));
    uint16_t port = sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                            : ((struct sockaddr_in6 *)&sa)->sin6_port;
    FUZZ_ASSERT(ntohs(port) == 53);
    char text[RLIST_ADDRSTRLEN];
    FUZZ_ASSERT(rlist_format_address((const struct sockaddr *)&sa, text, sizeof text) != NULL);
    struct sockaddr_storage back;
    socklen_t backlen;
    const char *bad;
    FUZZ_ASSERT(rlist_parse_address(text, 53, &back, &backlen, &bad) == 0);
    FUZZ_ASSERT(dp_sockaddr_equal((const struct sockaddr *)&sa, (const struct sockaddr *)&back));
    return 0;
}
