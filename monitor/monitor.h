/*
 * monitor: the engine (how queries go out), the scheduler (when), the checks
 * (what is asked and how answers are judged) and the command line.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_MONITOR_H
#define DNSPROP_MONITOR_H

#include "common/dnsprop.h"
#include "reports/reports.h"
#include "resolvers/resolvers.h"

/* Commands: each takes the arguments after the command name (argv[0] is the
 * command name itself) and returns the process exit status (enum dp_exit). */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
