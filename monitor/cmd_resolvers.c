/* dnsprop resolvers: placeholder until the command is built (see the issues). */
#include "monitor/monitor.h"

#include <stdio.h>

int cmd_resolvers(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dnsprop: 'resolvers' is not built yet\n");
    return DP_EXIT_UNKNOWN;
}
