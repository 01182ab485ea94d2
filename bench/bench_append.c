/*
 * bench_append DIR ROUND: what one cron run of `dnsprop check` does to the
 * data folder, without the network: open the log (lock, state), append one
 * round of synthetic rows shaped like bench/genlog.awk's (20 domains x 28
 * servers x 6 rows), refresh every report, close.
 */
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    char err[1024];
    struct obslog *l = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: bench_append DIR\n");
        return 3;
    }
    if (obslog_open(argv[1], 30000, 0, &l, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 3;
    }
    uint32_t round = obslog_next_round(l);
    int64_t t = dp_now();
    static struct obs rows[20 * 28 * 6];
    static char names[20][3][96], servers[28][64], addrs[28][32];
    size_t n = 0;
    for (int s = 0; s < 28; s++) {
        snprintf(servers[s], sizeof servers[s], s < 25 ? "resolver-%d" : "auth:ns%d.example.",
                 s < 25 ? s + 1 : s - 24);
        snprintf(addrs[s], sizeof addrs[s], "192.0.2.%d", s + 1);
    }
    for (int d = 0; d < 20; d++) {
        snprintf(names[d][0], sizeof names[d][0], "domain%d.example", d + 1);
        snprintf(names[d][1], sizeof names[d][1], "domain%d.example.", d + 1);
        snprintf(names[d][2], sizeof names[d][2], "0 domain%d-example.mail.protection.outlook.com.",
                 d + 1);
        for (int s = 0; s < 28; s++) {
            static const char *const checks[6] = {"mx", "mx", "mx", "spf", "ns", "soa"};
            static const char *const types[6] = {"MX", "A", "AAAA", "TXT", "NS", "SOA"};
            for (int k = 0; k < 6; k++) {
                struct obs *o = &rows[n++];
                o->time = t;
                o->vantage = "bench";
                o->round = round;
                o->domain = names[d][0];
                o->check = checks[k];
                o->qname = names[d][1];
                o->qtype = types[k];
                o->server = servers[s];
                o->address = addrs[s];
                o->status = k == 2 ? OBS_NODATA : OBS_OK;
                o->rcode = 0;
                o->latency_ms = 12;
                o->ttl = 3600;
                o->answer = k == 0 ? names[d][2] : k == 1 ? "192.0.2.25" : "x";
                o->expected = k == 0 ? names[d][2] : k >= 3 ? "x" : "";
                o->match = k == 0 || k >= 3 ? OBS_MATCH_YES : OBS_MATCH_NONE;
            }
        }
    }
    struct report_outcome out;
    int rc = obslog_append(l, rows, n, err, sizeof err);
    if (rc == 0)
        rc = report_refresh(l, NULL, 0, NULL, &out, err, sizeof err);
    obslog_close(l);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 3;
    }
    return 0;
}
