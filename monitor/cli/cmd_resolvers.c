/*
 * dnsprop resolvers [--resolvers SPEC]: prints the resolver set a check or
 * watch would ask, as CSV (RLIST_HEADER, CRLF), so a user can see what the
 * built-in list holds or check a list file before a run.
 */
#include "cli.h"
#include "resolvers.h"

#include <stdio.h>
#include <string.h>

static int usage_error(const char *what, const char *arg)
{
    return cli_usage("resolvers", what, arg);
}

int cmd_resolvers(int argc, char **argv)
{
    const char *spec = NULL;
    char err[RLIST_ERRLEN];
    struct rlist l = {0};
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--resolvers") == 0 || strncmp(a, "--resolvers=", 12) == 0) {
            const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL) {
                fprintf(stderr, "dnsprop resolvers: --resolvers needs a value (a file or a "
                                "comma list of addresses)\n");
                return DP_EXIT_UNKNOWN;
            }
            if (spec != NULL)
                return usage_error("--resolvers given twice; second", v);
            spec = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option", a);
        } else {
            return usage_error("unexpected argument", a);
        }
    }

    rc = spec ? rlist_load_spec(&l, spec, false, stderr, err, sizeof err)
              : rlist_load_public(&l, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dnsprop resolvers: %s\n", err);
        rlist_deinit(&l);
        return DP_EXIT_UNKNOWN;
    }
    rc = rlist_write_csv(&l, stdout);
    if (fflush(stdout) != 0)
        rc = DP_EIO;
    rlist_deinit(&l);
    if (rc != 0) {
        fprintf(stderr, "dnsprop resolvers: writing the list: %s\n", dp_strerror(rc));
        return DP_EXIT_UNKNOWN;
    }
    return DP_EXIT_OK;
}
