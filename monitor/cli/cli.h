/*
 * cli: the command line. main.c picks the command; each cmd_*.c is one
 * command built from the modules below it (run, engine, demo, rules,
 * resolvers, reports).
 */
#ifndef DNSPROP_CLI_H
#define DNSPROP_CLI_H

#include "run.h" /* cmd_check, cmd_watch */

/* Commands: each takes the arguments after the command name (argv[0] is the
 * command name itself) and returns the process exit status (enum dp_exit). */
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_merge(int argc, char **argv);  /* cmd_merge.c */
int cmd_import(int argc, char **argv); /* cmd_import.c: import atlas */

/* Says on stderr "dnsprop CMD: MSG 'ARG' (try 'dnsprop CMD --help')" (ARG
 * escaped, left out when NULL) and returns DP_EXIT_UNKNOWN (usage.c). */
int cli_usage(const char *cmd, const char *msg, const char *arg);

#endif
