/* dnsprop query: placeholder until the command is built (see the issues). */
#include "monitor/monitor.h"

#include <stdio.h>

int cmd_query(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dnsprop: 'query' is not built yet\n");
    return DP_EXIT_UNKNOWN;
}
