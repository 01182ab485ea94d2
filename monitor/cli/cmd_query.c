/*
 * dnsprop query [@SERVER] NAME [TYPE] [+tcp] [+norec]: one validated query,
 * printed as the observations header and one row, so that what a user sees
 * here is exactly what check would log. Without @SERVER it asks the first
 * nameserver of /etc/resolv.conf, as dig does. Exit 0 when the server answered (ok,
 * nxdomain, nodata), 2 when it did not, 3 for bad usage.
 */
#include "cli.h"
#include "engine.h"
#include "resolvers.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

struct query_run {
    struct obs row; /* filled by the callback */
    char *answer;   /* owned */
    char *site;     /* owned */
    char *ede;      /* owned */
    char qtype[16];
    bool done;
};

static void query_done(const struct engine_result *res, void *arg)
{
    struct query_run *q = arg;
    q->row.time = dp_now();
    q->row.tcp = res->tcp;
    q->row.status = res->status;
    q->row.rcode = res->rcode;
    q->row.latency_ms = res->latency_ms;
    q->row.ttl = res->ttl;
    q->answer = strdup(res->answer ? res->answer : "");
    q->row.answer = q->answer ? q->answer : "";
    q->site = strdup(res->site ? res->site : "");
    q->ede = strdup(res->ede ? res->ede : "");
    q->row.site = q->site ? q->site : "";
    q->row.ede = q->ede ? q->ede : "";
    q->done = true;
}

static int usage_error(const char *what, const char *text)
{
    return cli_usage("query", what, text);
}

int cmd_query(int argc, char **argv)
{
    const char *server = NULL, *name = NULL, *type = NULL;
    bool tcp = false, norec = false;
    struct engine_opts eo;
    engine_opts_default(&eo);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '@') {
            if (server != NULL)
                return usage_error("a second server", a);
            server = a + 1;
        } else if (a[0] == '+') {
            if (strcmp(a, "+tcp") == 0 || strcmp(a, "+vc") == 0)
                tcp = true;
            else if (strcmp(a, "+notcp") == 0)
                tcp = false;
            else if (strcmp(a, "+norec") == 0 || strcmp(a, "+norecurse") == 0)
                norec = true;
            else if (strcmp(a, "+rec") == 0 || strcmp(a, "+recurse") == 0)
                norec = false;
            else
                return usage_error("unknown flag (known: +tcp, +norec)", a);
        } else if (a[0] == '-') {
            return usage_error("unknown option", a);
        } else if (name == NULL) {
            name = a;
        } else if (type == NULL) {
            type = a;
        } else {
            return usage_error("unexpected argument", a);
        }
    }
    if (name == NULL) {
        return cli_usage("query", "no name given", NULL);
    }
    char qname[DNSNAME_BUFLEN];
    const char *why = NULL;
    if (dnsname_normalize_ex(name, DNSNAME_ANY, qname, sizeof qname, &why) != 0) {
        char what[160];
        snprintf(what, sizeof what, "bad name (%s):", why);
        return usage_error(what, name);
    }
    /* The row shows the name as check logs it: with its final dot (the
     * buffer holds the 253 bytes of a normalized name, the dot and the NUL). */
    size_t qlen = strlen(qname);
    if (qlen + 2 <= sizeof qname && (qlen == 0 || qname[qlen - 1] != '.')) {
        qname[qlen] = '.';
        qname[qlen + 1] = '\0';
    }
    uint16_t qtype = LDNS_RR_TYPE_A;
    if (type != NULL) {
        char upper[16];
        size_t n = strlen(type);
        if (n == 0 || n >= sizeof upper)
            return usage_error("unknown type", type);
        for (size_t i = 0; i <= n; i++)
            upper[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
        qtype = (uint16_t)ldns_get_rr_type_by_name(upper);
        if (qtype == 0)
            return usage_error("unknown type", type);
    }

    struct rlist servers = {0};
    char err[512];
    if (server != NULL) {
        struct sockaddr_storage sa;
        socklen_t salen;
        char text[RLIST_ADDRSTRLEN];
        if (rlist_parse_address(server, 53, &sa, &salen, &why) != 0) {
            char esc[300];
            fprintf(stderr, "dnsprop query: bad server '@%s': %s\n",
                    dp_escape(server, strlen(server), esc, sizeof esc), why);
            return DP_EXIT_UNKNOWN;
        }
        rlist_format_address((struct sockaddr *)&sa, text, sizeof text);
        if (rlist_add(&servers, text, text, "", "", false, err, sizeof err) != 0) {
            fprintf(stderr, "dnsprop query: %s\n", err);
            rlist_deinit(&servers);
            return DP_EXIT_UNKNOWN;
        }
    } else {
        /* the system's resolver, as dig asks it; DNSPROP_RESOLV_CONF names
         * another file (for tests) */
        const char *conf = getenv("DNSPROP_RESOLV_CONF");
        if (conf == NULL || conf[0] == '\0')
            conf = "/etc/resolv.conf";
        if (rlist_load_resolv_conf(&servers, conf, err, sizeof err) != 0 || servers.n == 0) {
            fprintf(stderr, "dnsprop query: %s (give the server as @SERVER)\n", err);
            rlist_deinit(&servers);
            return DP_EXIT_UNKNOWN;
        }
    }
    const struct rlist_server *s = &servers.v[0];

    struct query_run q = {0};
    const ldns_rr_descriptor *desc = ldns_rr_descript(qtype);
    snprintf(q.qtype, sizeof q.qtype, "%s", desc && desc->_name ? desc->_name : "A");
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    q.row.vantage = host;
    q.row.round = 0;
    q.row.domain = "";
    q.row.check = "";
    q.row.qname = qname;
    q.row.qtype = q.qtype;
    q.row.server = s->name;
    q.row.address = s->address;
    q.row.expected = "";
    q.row.match = OBS_MATCH_NONE;

    int exit_code = DP_EXIT_UNKNOWN;
    uv_loop_t loop;
    struct engine *engine = NULL;
    int rc = uv_loop_init(&loop);
    if (rc != 0) {
        fprintf(stderr, "dnsprop query: %s\n", dp_strerror(rc));
        rlist_deinit(&servers);
        return DP_EXIT_UNKNOWN;
    }
    rc = engine_new(&loop, &eo, &engine);
    if (rc == 0) {
        struct engine_query eq = {
            .sa = (const struct sockaddr *)&s->sa,
            .salen = s->salen,
            .qname = qname,
            .qtype = qtype,
            .rd = !norec,
            .tcp = tcp,
            .cb = query_done,
            .arg = &q,
        };
        rc = engine_submit(engine, &eq);
        if (rc == 0)
            uv_run(&loop, UV_RUN_DEFAULT);
        engine_close(engine);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (rc != 0 || !q.done) {
        fprintf(stderr, "dnsprop query: %s\n", dp_strerror(rc ? rc : DP_EINTERNAL));
    } else if (q.answer == NULL) {
        fprintf(stderr, "dnsprop query: %s\n", dp_strerror(DP_ENOMEM));
    } else {
        if (obs_print(stdout, &q.row, true) != 0 || fflush(stdout) != 0) {
            fprintf(stderr, "dnsprop query: cannot write the row to stdout\n");
        } else {
            bool answered = q.row.status == OBS_OK || q.row.status == OBS_NXDOMAIN ||
                            q.row.status == OBS_NODATA;
            exit_code = answered ? DP_EXIT_OK : DP_EXIT_CRITICAL;
        }
    }
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "dnsprop query: internal error: a handle was left open\n");
    free(q.answer);
    free(q.site);
    free(q.ede);
    rlist_deinit(&servers);
    return exit_code;
}
