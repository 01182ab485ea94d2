/*
 * The one line a command prints when its arguments are wrong (exit 3).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cli_usage(const char *cmd, const char *msg, const char *arg)
{
    char esc[256];
    fprintf(stderr, "dnsprop %s: %s", cmd, msg);
    if (arg != NULL)
        fprintf(stderr, " '%s'", dp_escape(arg, strlen(arg), esc, sizeof esc));
    fprintf(stderr, " (try 'dnsprop %s --help')\n", cmd);
    return DP_EXIT_UNKNOWN;
}
