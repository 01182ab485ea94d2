/*
 * dnsprop's entry point: picks the command and hands it the rest of the
 * arguments. Every command's help text lives here, so `dnsprop --help` and
 * `dnsprop COMMAND --help` read the same whatever the command does.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char check_options[] =
    "  --dir DIR             data folder (default ./dnsprop-<first domain>)\n"
    "  --domains FILE        domains, one a line, or CSV domain[,profile]\n"
    "  --resolvers SPEC      resolver CSV file, or ADDR,ADDR:PORT,[V6]:PORT (default: built-in "
    "list)\n"
    "  --authority SPEC      authoritative servers, same syntax; 'none' to skip (default: from "
    "NS)\n"
    "  --checks LIST         mx,spf,autodiscover,dkim,dmarc,ns,soa,a,aaaa,txt,delegation,m365\n"
    "                        (default mx,spf,ns,soa; delegation also runs ns)\n"
    "  --parent SPEC         the parent zone's servers for delegation, same syntax as\n"
    "                        --authority (default: found through the resolvers)\n"
    "  --expect CHECK=VALUE  expected records, e.g. 'mx=0 "
    "contoso-com.mail.protection.outlook.com.'\n"
    "  --profile m365        Microsoft 365 expectations (implies --single-mx)\n"
    "  --single-mx           require exactly one MX\n"
    "  --window DUR          propagation window from --since (default 72h)\n"
    "  --since TIME          when the change was made (default: first round in the log)\n"
    "  --old-ttl DUR         TTL the old records had, when the log began after the change\n"
    "                        (default: learned from the log; kept in settings.csv)\n"
    "  --timeout DUR         per query attempt (default 2s)\n"
    "  --tries N             attempts per query (default 3)\n"
    "  --rate N              queries per second to any one server, 0 = no limit (default 20)\n"
    "  --inflight N          queries in flight at once (default 256)\n"
    "  --vantage NAME        where this run stands (default: the host name)\n"
    "  --prometheus FILE     also write the summary as Prometheus text (node_exporter)\n"
    "  --insecure-dir        accept a data folder writable by group or others, or owned by\n"
    "                        another user (refused otherwise; a warning every run)\n"
    "  -q, -v                quieter; more detail on stderr\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *help; /* printed after the synopsis */
};

static const struct command commands[] = {
    {"check", cmd_check, "dnsprop check DOMAIN... [options]",
     "One round now: ask every resolver and authoritative server, append to the log,\n"
     "refresh the reports, print one status line. Exit 0 OK, 1 WARNING, 2 CRITICAL,\n"
     "3 UNKNOWN.\n\nOptions:\n"},
    {"watch", cmd_watch, "dnsprop watch DOMAIN... [options]",
     "A round every --interval until the window ends (or, with --until-converged,\n"
     "after 3 converged rounds in a row).\n\nOptions (also those of check):\n"
     "  --interval DUR        time between rounds (default 10m)\n"
     "  --until-converged     stop after 3 rounds in a row with everything converged\n"},
    {"report", cmd_report,
     "dnsprop report [--dir DIR] [--window DUR] [--since TIME] [--upgrade] [--insecure-dir]",
     "Rebuild every report in DIR from observations.csv alone.\n\n"
     "  --upgrade             first rewrite a log of an older dnsprop (17 columns) once,\n"
     "                        atomically, with the site and ede columns (empty for the\n"
     "                        old rows); every old value is kept as it was\n"
     "  --insecure-dir        accept a data folder writable by group or others, or owned by\n"
     "                        another user (refused otherwise; a warning every run)\n"},
    {"merge", cmd_merge, "dnsprop merge --dir DIR SRCDIR... [-q] [--insecure-dir]",
     "Append to DIR's log every row of the SRCDIR logs (other hosts' --vantage\n"
     "folders) that it does not hold yet, then refresh DIR's reports. Rows keep\n"
     "their vantage and time; each round of a source becomes a round of DIR.\n"
     "Merging the same folders again appends nothing; after a source grew, only its\n"
     "new rows are read. A damaged source (PATH:LINE), or two folders holding\n"
     "different rows for one vantage, is refused and nothing is appended.\n"
     "A source's settings.csv is taken for the domains DIR has no settings for;\n"
     "where they differ from DIR's, DIR's are kept (one warning line).\n"
     "Exit 0 merged (the status line on stdout), 3 refused.\n\n"
     "  --insecure-dir        accept a DIR writable by group or others, or owned by another\n"
     "                        user (sources are only read and may be anyone's)\n"},
    {"import", cmd_import, "dnsprop import atlas FILE... DOMAIN... [options]",
     "Import RIPE Atlas DNS measurement results (a JSON array or one result per\n"
     "line, as the Atlas API returns them) into the log and refresh the reports.\n"
     "Each answer's abuf is judged like dnsprop's own answers; the vantage is\n"
     "atlas:PROBE, the server the resolver the probe asked. A result already in\n"
     "the log is not imported again. FILE arguments are those that name a file.\n\n"
     "Options:\n"
     "  --dir DIR             data folder (default ./dnsprop-<first domain>)\n"
     "  --checks LIST         the checks to take from the results (default: those of check)\n"
     "  --expect CHECK=VALUE  expected records, as for check\n"
     "  --profile m365        Microsoft 365 expectations, as for check\n"
     "  --single-mx           require exactly one MX\n"
     "  --skip-bad            import the good results when some are bad (else nothing)\n"
     "  --insecure-dir        accept a DIR writable by group or others, or another user's\n"
     "  -q                    no summary on stderr\n"
     "Without --expect or a profile rule, the expected value is the authoritative\n"
     "answer in DIR's log (run check there too) at or before the result's time.\n"
     "Exit 0 imported (the status line on stdout), 3 bad input (nothing imported).\n"},
    {"query", cmd_query, "dnsprop query [@SERVER] NAME [TYPE] [+tcp] [+norec]",
     "One validated query, printed as the observations header and one row.\n"
     "SERVER is ADDR, ADDR:PORT or [V6]:PORT (default: the first nameserver of\n"
     "/etc/resolv.conf, as dig asks; none there is an error, exit 3);\n"
     "TYPE defaults to A. Exit 0 when the server answered (ok, nxdomain, nodata),\n"
     "2 when it did not, 3 for bad usage.\n"},
    {"resolvers", cmd_resolvers, "dnsprop resolvers [--resolvers SPEC]",
     "Print the resolver set as CSV: name,address,operator,country.\n"},
    {"demo", cmd_demo, "dnsprop demo [--dir DIR] [--insecure-dir] [-q]",
     "A complete offline run on a simulated DNS world on loopback: an authoritative\n"
     "server and caching resolvers, an MX move to Microsoft 365, and a watch until\n"
     "everything that can converge has. Writes ./dnsprop-demo/ by default.\n\n"
     "  --insecure-dir        accept a data folder writable by group or others, or owned by\n"
     "                        another user (refused otherwise; a warning every run)\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fprintf(f, "dnsprop %s: watch DNS changes (MX and mail records) propagate to resolvers\n\n",
            DNSPROP_VERSION);
    fprintf(f, "Usage:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s\n", commands[i].synopsis);
    fprintf(f, "  dnsprop --help | COMMAND --help | --version\n\n");
    fprintf(f, "Exit status: 0 OK, 1 WARNING (still propagating), 2 CRITICAL, 3 UNKNOWN.\n");
}

static void print_command_help(const struct command *c)
{
    printf("Usage: %s\n\n%s", c->synopsis, c->help);
    if (c->run == cmd_check || c->run == cmd_watch)
        fputs(check_options, stdout);
    puts("\nDUR: 500ms, 30s, 10m, 72h, 3d. TIME: 'YYYY-MM-DD HH:MM[:SS]' UTC, ISO 8601, or now.");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return DP_EXIT_UNKNOWN;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_usage(stdout);
        return DP_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("dnsprop %s\n", DNSPROP_VERSION);
        return DP_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) != 0)
            continue;
        for (int a = 2; a < argc; a++) {
            if (strcmp(argv[a], "--") == 0)
                break;
            if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                print_command_help(&commands[i]);
                return DP_EXIT_OK;
            }
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    char esc[128];
    fprintf(stderr, "dnsprop: unknown command '%s' (try 'dnsprop --help')\n",
            dp_escape(cmd, strlen(cmd), esc, sizeof esc));
    return DP_EXIT_UNKNOWN;
}
