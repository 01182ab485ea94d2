/* dnsprop watch: placeholder until the command is built (see the issues). */
#include "monitor/monitor.h"

#include <stdio.h>

int cmd_watch(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dnsprop: 'watch' is not built yet\n");
    return DP_EXIT_UNKNOWN;
}
