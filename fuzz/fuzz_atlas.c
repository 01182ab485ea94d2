/*
 * Fuzz target: the RIPE Atlas reader and judge (monitor/atlas). The input is
 * a results file (a JSON array or JSON lines) read by atlas_reader_next from
 * an in-memory FILE; every result goes through atlas_result for a few
 * domains and checks (with and without the m365 profile, with an
 * authoritative truth). Every row it makes must be a row the log can hold:
 * written by obs_write_row, it parses back with the same fields.
 */
#define _GNU_SOURCE
#include "atlas.h"
#include "fuzz.h"
#include "reports.h"

#include <json-c/json.h>
#include <stdio.h>

static int check_row(void *arg, const struct obs *o, unsigned result_no)
{
    struct csvw w;
    struct csvr r;
    struct obs back;
    char why[256];
    (void)arg;
    FUZZ_ASSERT(result_no >= 1);
    FUZZ_ASSERT(strncmp(o->vantage, "atlas:", 6) == 0);
    struct obs c = *o;
    c.round = 1;
    csvw_init(&w);
    csvr_init(&r);
    obs_write_row(&w, &c);
    if (csvw_error(&w) == 0) {
        FUZZ_ASSERT(w.len >= 2 && w.buf[w.len - 1] == '\n');
        FUZZ_ASSERT(obs_parse_line(&r, w.buf, w.len - 1, &back, why, sizeof why) == 0);
        FUZZ_ASSERT(back.time == o->time && back.status == o->status && back.ttl == o->ttl);
        FUZZ_ASSERT(back.rcode == o->rcode && back.match == o->match);
        FUZZ_ASSERT(strcmp(back.address, o->address) == 0);
    }
    csvr_deinit(&r);
    csvw_deinit(&w);
    return 0;
}

static const char *truth(void *arg, const char *domain, const char *check, const char *qname,
                         const char *qtype, int64_t t)
{
    (void)arg;
    (void)domain;
    (void)qname;
    (void)qtype;
    if (t % 2 == 0)
        return NULL;
    return strcmp(check, "mx") == 0 ? "0 contoso-test.mail.protection.outlook.com." : "192.0.2.1";
}

static void run(const uint8_t *data, size_t size, struct atlas_ctx *c)
{
    void *copy = malloc(size ? size : 1); /* fmemopen takes a plain pointer */
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    FILE *f = fmemopen(copy, size, "rb");
    struct atlas_reader *r = NULL;
    char err[600];
    if (f == NULL) {
        free(copy);
        return;
    }
    if (atlas_reader_new(f, &r) == 0) {
        struct json_object *o;
        while (atlas_reader_next(r, &o, err, sizeof err) == 1) {
            int rc = atlas_result(c, o, err, sizeof err);
            FUZZ_ASSERT(rc == 0 || rc == DP_EINPUT);
            json_object_put(o);
        }
    }
    atlas_reader_free(r);
    fclose(f);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"as250.net", "1xbet.com", "contoso.test", "ipv4only.arpa"};
    struct check_plan plan, m365;
    struct round_domain d[5];
    static char dname[5][DNSNAME_BUFLEN]; /* the names d[] borrow */
    struct atlas_ctx c;
    const char *why;
    char err[200];
    check_plan_init(&plan);
    check_plan_init(&m365);
    check_plan_parse_checks(&plan, "a,aaaa,mx,spf,txt", err, sizeof err);
    check_plan_set_profile(&m365, "m365", err, sizeof err);
    atlas_ctx_init(&c);
    for (size_t i = 0; i < 4; i++) {
        memset(&d[i], 0, sizeof d[i]);
        dnsname_normalize(names[i], dname[i], sizeof dname[i], &why);
        d[i].name = dname[i];
        d[i].plan = &plan;
        atlas_ctx_add_domain(&c, &d[i]);
    }
    memset(&d[4], 0, sizeof d[4]);
    dnsname_normalize("contoso.com", dname[4], sizeof dname[4], &why);
    d[4].name = dname[4];
    d[4].plan = &m365;
    d[4].profile = PROFILE_M365;
    atlas_ctx_add_domain(&c, &d[4]);
    c.row = check_row;
    c.truth = truth;
    run(data, size, &c);
    atlas_ctx_deinit(&c);
    check_plan_deinit(&plan);
    check_plan_deinit(&m365);
    return 0;
}
