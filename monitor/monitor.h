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

/* ---- answers (monitor/answer.c) ---- */
struct ldns_struct_rr;

/* Normalizes an RRset into the text of the `answer` column: each record's
 * RDATA in presentation form, domain names lower-cased, sorted bytewise,
 * duplicates dropped, joined by " | " ("" for n == 0). On success *out is
 * malloc'd and the caller frees it. Returns 0 or DP_ENOMEM. */
int answer_from_rrs(struct ldns_struct_rr *const *rrs, size_t n, char **out);

/* Parses RDATA texts of type qtype joined by " | " (as --expect takes them,
 * e.g. "0 mail.example.com. | 10 b.example.com.") and normalizes them as
 * answer_from_rrs does. Returns 0 (caller frees *out), DP_EINPUT with *why
 * saying what is wrong, or DP_ENOMEM. */
int answer_from_text(uint16_t qtype, const char *text, char **out, const char **why);

/* Commands: each takes the arguments after the command name (argv[0] is the
 * command name itself) and returns the process exit status (enum dp_exit). */
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
