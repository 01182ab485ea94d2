/* dnsprop import: work in progress (the next commit brings the Atlas reader). */
#include "monitor/monitor.h"

#include <stdio.h>

int cmd_import(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "dnsprop import: not in this build yet\n");
    return DP_EXIT_UNKNOWN;
}
