/*
 * engine_bench: sends every question of a dnsperf-style query file ("name TYPE"
 * per line) through the engine to one server and prints what came back:
 *
 *   engine_bench ADDRESS PORT FILE [INFLIGHT] [TIMEOUT_MS] [REUSE] [SHARE]
 *
 * Output (one line, for bench/bench_engine.sh):
 *   queries=N ok=N lost=N seconds=S qps=Q sent=N retries=N dropped=N
 * where lost counts every query whose status was not ok. Questions are handed
 * to the engine in a window (a few times the in-flight cap), as a scheduler
 * would, so queued queries do not pile up in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "engine.h"

struct bench {
    struct engine *e;
    struct sockaddr_storage sa;
    socklen_t salen;
    char **names;
    uint16_t *types;
    size_t n, next, done, ok, window, outstanding;
};

static void submit_more(struct bench *b);

static void on_done(const struct engine_result *r, void *arg)
{
    struct bench *b = arg;
    b->done++;
    b->outstanding--;
    if (r->status == OBS_OK)
        b->ok++;
    submit_more(b);
}

static void submit_more(struct bench *b)
{
    while (b->next < b->n && b->outstanding < b->window) {
        struct engine_query q = {.sa = (const struct sockaddr *)&b->sa,
                                 .salen = b->salen,
                                 .qname = b->names[b->next],
                                 .qtype = b->types[b->next],
                                 .cb = on_done,
                                 .arg = b};
        int rc = engine_submit(b->e, &q);
        if (rc != 0) {
            fprintf(stderr, "engine_bench: %s: %s\n", b->names[b->next], dp_strerror(rc));
            exit(3);
        }
        b->next++;
        b->outstanding++;
    }
}

int main(int argc, char **argv)
{
    struct bench b;
    memset(&b, 0, sizeof b);
    if (argc < 4) {
        fprintf(stderr, "usage: engine_bench ADDRESS PORT FILE [INFLIGHT] [TIMEOUT_MS] [REUSE] "
                        "[SHARE]\n");
        return 3;
    }
    struct engine_opts o;
    engine_opts_default(&o);
    uint64_t port, inflight = 256, timeout = 2000, reuse = o.reuse, share = o.share;
    if (dp_parse_uint(argv[2], 1, 65535, &port) != 0 ||
        (argc > 4 && dp_parse_uint(argv[4], 1, 100000, &inflight) != 0) ||
        (argc > 5 && dp_parse_uint(argv[5], 1, 60000, &timeout) != 0) ||
        (argc > 6 && dp_parse_uint(argv[6], 1, 1000000, &reuse) != 0) ||
        (argc > 7 && dp_parse_uint(argv[7], 1, 64, &share) != 0)) {
        fprintf(stderr, "engine_bench: bad number\n");
        return 3;
    }
    if (uv_ip4_addr(argv[1], (int)port, (struct sockaddr_in *)&b.sa) == 0)
        b.salen = sizeof(struct sockaddr_in);
    else if (uv_ip6_addr(argv[1], (int)port, (struct sockaddr_in6 *)&b.sa) == 0)
        b.salen = sizeof(struct sockaddr_in6);
    else {
        fprintf(stderr, "engine_bench: bad address '%s'\n", argv[1]);
        return 3;
    }
    FILE *f = fopen(argv[3], "r");
    if (f == NULL) {
        perror(argv[3]);
        return 3;
    }
    size_t cap = 1024;
    b.names = malloc(cap * sizeof *b.names);
    b.types = malloc(cap * sizeof *b.types);
    char line[512];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *sp = strchr(line, ' ');
        if (sp == NULL)
            continue;
        *sp = '\0';
        char *type = sp + 1;
        type[strcspn(type, "\r\n")] = '\0';
        ldns_rr_type t = ldns_get_rr_type_by_name(type);
        if (t == 0) {
            fprintf(stderr, "%s:%u: bad type '%s'\n", argv[3], lineno, type);
            return 3;
        }
        if (b.n == cap) {
            cap *= 2;
            b.names = realloc(b.names, cap * sizeof *b.names);
            b.types = realloc(b.types, cap * sizeof *b.types);
        }
        b.names[b.n] = strdup(line);
        b.types[b.n] = (uint16_t)t;
        b.n++;
    }
    fclose(f);

    uv_loop_t loop;
    uv_loop_init(&loop);
    o.rate = 0;
    o.inflight = (unsigned)inflight;
    o.timeout_ms = timeout;
    o.reuse = (unsigned)reuse;
    o.share = (unsigned)share;
    if (engine_new(&loop, &o, &b.e) != 0)
        return 3;
    b.window = 4 * inflight;
    uint64_t t0 = uv_hrtime();
    submit_more(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    struct engine_stats st;
    engine_get_stats(b.e, &st);
    engine_close(b.e);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    printf("queries=%zu ok=%zu lost=%zu seconds=%.3f qps=%.0f sent=%llu retries=%llu "
           "dropped=%llu\n",
           b.n, b.ok, b.n - b.ok, secs, (double)b.n / secs, (unsigned long long)st.sent,
           (unsigned long long)st.retries, (unsigned long long)st.dropped);
    for (size_t i = 0; i < b.n; i++)
        free(b.names[i]);
    free(b.names);
    free(b.types);
    return b.ok == b.n ? 0 : 1;
}
