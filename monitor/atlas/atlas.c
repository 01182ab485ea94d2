/*
 * RIPE Atlas DNS results: a streaming reader of the files the Atlas API
 * returns (a JSON array of results, or one result per line), and the
 * conversion of one result into observation rows (PRODUCT.md section 11).
 *
 * Reading: json-c parses one result at a time; the reader itself consumes the
 * '[', ',' and ']' between the elements of a top-level array (or the
 * whitespace between lines), feeding the tokener chunk by chunk, so memory
 * holds one result whatever the size of the file.
 *
 * Judging: each answer's abuf (the wire reply, base64) is decoded with ldns's
 * base64 decoder, parsed with ldns_wire2pkt and judged by engine_judge_reply,
 * the engine's own judge; the recorded answer, the expectation and the match
 * come from the same check functions as a live round (check_recorded_answer,
 * check_expected_text, check_judge; else the authoritative answer the caller
 * knows, compared with check_answers_equal). What a live round would have
 * asked next (an MX target's A and AAAA) Atlas did not ask, so no row claims
 * it.
 *
 * Result fields used (the Atlas DNS result format): prb_id, timestamp,
 * type, msm_id, and either result/error with dst_addr and proto at the top,
 * or resultset[] of entries with their own dst_addr, proto, time,
 * result/error (and qbuf when the measurement kept it). result.abuf,
 * result.rt (ms).
 */
#include "atlas.h"
#include "engine.h"
#include "resolvers.h"
#include "rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <ldns/ldns.h>

#define CHUNK          (64u * 1024)
#define MAX_RESULT     (16u << 20)    /* bytes of one result */
#define MAX_ENTRIES    256            /* resolvers in one resultset */
#define ATLAS_TIME_MAX 253402300799LL /* 9999-12-31 23:59:59: the last time time_utc can hold */

/* ---- the reader ---- */

enum rd_mode { RD_START, RD_ARRAY, RD_LINES };

struct atlas_reader {
    FILE *f;           /* borrowed */
    json_tokener *tok; /* owned */
    char buf[CHUNK];
    size_t have, pos; /* bytes in buf, bytes consumed */
    bool eof;
    enum rd_mode mode;
    bool need_comma;     /* array: an element was read, ',' or ']' comes next */
    bool done;           /* array: ']' seen */
    unsigned index;      /* results returned so far */
    unsigned line;       /* line of buf[pos] */
    unsigned start_line; /* line where the current result began */
};

int atlas_reader_new(FILE *f, struct atlas_reader **out)
{
    struct atlas_reader *r = calloc(1, sizeof *r);
    *out = NULL;
    if (r == NULL)
        return DP_ENOMEM;
    r->tok = json_tokener_new();
    if (r->tok == NULL) {
        free(r);
        return DP_ENOMEM;
    }
    json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    r->f = f;
    r->line = 1;
    *out = r;
    return 0;
}

void atlas_reader_free(struct atlas_reader *r)
{
    if (r == NULL)
        return;
    json_tokener_free(r->tok);
    free(r);
}

unsigned atlas_reader_index(const struct atlas_reader *r)
{
    return r->index;
}

unsigned atlas_reader_line(const struct atlas_reader *r)
{
    return r->start_line;
}

/* Makes buf[pos] readable; false at the end of the file (or a read error:
 * *ioerr). */
static bool fill(struct atlas_reader *r, bool *ioerr)
{
    if (r->pos < r->have)
        return true;
    if (r->eof)
        return false;
    r->have = fread(r->buf, 1, sizeof r->buf, r->f);
    r->pos = 0;
    if (r->have == 0) {
        r->eof = true;
        *ioerr = ferror(r->f) != 0;
        return false;
    }
    return true;
}

static void count_lines(struct atlas_reader *r, const char *p, size_t n)
{
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        r->line++;
}

/* Skips JSON whitespace; returns the next byte, or -1 at the end. */
static int peek(struct atlas_reader *r, bool *ioerr)
{
    while (fill(r, ioerr)) {
        char c = r->buf[r->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return (unsigned char)c;
        if (c == '\n')
            r->line++;
        r->pos++;
    }
    return -1;
}

int atlas_reader_next(struct atlas_reader *r, struct json_object **out, char *err, size_t errlen)
{
    bool ioerr = false;
    *out = NULL;
    int c = peek(r, &ioerr);
    if (ioerr) {
        dp_errf(err, errlen, "read failed");
        return DP_EIO;
    }
    if (r->mode == RD_START) {
        if (c == '[') {
            r->mode = RD_ARRAY;
            r->pos++;
            c = peek(r, &ioerr);
        } else {
            r->mode = RD_LINES;
        }
    }
    r->start_line = r->line;
    if (r->mode == RD_ARRAY) {
        if (r->done) {
            if (c >= 0) {
                dp_errf(err, errlen, "line %u: text after the end of the array", r->line);
                return DP_EINPUT;
            }
            return 0;
        }
        if (c == ']') {
            r->pos++;
            r->done = true;
            c = peek(r, &ioerr);
            if (c >= 0) {
                dp_errf(err, errlen, "line %u: text after the end of the array", r->line);
                return DP_EINPUT;
            }
            return 0;
        }
        if (r->need_comma) {
            if (c != ',') {
                dp_errf(err, errlen, "after result %u (line %u): %s", r->index, r->line,
                        c < 0 ? "truncated JSON (the array does not end)" : "',' or ']' expected");
                return DP_EINPUT;
            }
            r->pos++;
            c = peek(r, &ioerr);
        }
        if (c < 0) {
            dp_errf(err, errlen,
                    "after result %u (line %u): truncated JSON (the array does not end)", r->index,
                    r->line);
            return DP_EINPUT;
        }
    } else if (c < 0) {
        return 0;
    }
    r->start_line = r->line;
    unsigned n = r->index + 1;
    size_t total = 0;
    json_tokener_reset(r->tok);
    for (;;) {
        if (!fill(r, &ioerr)) {
            dp_errf(err, errlen, "result %u (line %u): %s", n, r->start_line,
                    ioerr ? "read failed" : "truncated JSON");
            return ioerr ? DP_EIO : DP_EINPUT;
        }
        size_t avail = r->have - r->pos;
        json_object *o = json_tokener_parse_ex(r->tok, r->buf + r->pos, (int)avail);
        enum json_tokener_error e = json_tokener_get_error(r->tok);
        size_t used = e == json_tokener_continue ? avail : json_tokener_get_parse_end(r->tok);
        if (used > avail)
            used = avail;
        count_lines(r, r->buf + r->pos, used);
        r->pos += used;
        total += used;
        if (e == json_tokener_continue) {
            if (total > MAX_RESULT) {
                dp_errf(err, errlen, "result %u (line %u): longer than %u bytes", n, r->start_line,
                        MAX_RESULT);
                return DP_EINPUT;
            }
            continue;
        }
        if (e != json_tokener_success || o == NULL) {
            dp_errf(err, errlen, "result %u (line %u): bad JSON: %s", n, r->start_line,
                    json_tokener_error_desc(e));
            json_object_put(o);
            return DP_EINPUT;
        }
        if (!json_object_is_type(o, json_type_object)) {
            dp_errf(err, errlen, "result %u (line %u): not a JSON object", n, r->start_line);
            json_object_put(o);
            return DP_EINPUT;
        }
        r->index = n;
        r->need_comma = true;
        *out = o;
        return 1;
    }
}

/* ---- judging results ---- */

void atlas_ctx_init(struct atlas_ctx *c)
{
    memset(c, 0, sizeof *c);
}

void atlas_ctx_deinit(struct atlas_ctx *c)
{
    free(c->questions);
    free(c->msm);
    memset(c, 0, sizeof *c);
}

int atlas_ctx_add_domain(struct atlas_ctx *c, const struct round_domain *d)
{
    unsigned set = check_plan_checks(d->plan, d->profile);
    for (unsigned k = 0; k < CHECK_COUNT; k++) {
        if (!(set & CHECK_BIT(k)))
            continue;
        struct check_question q[CHECK_MAX_QUESTIONS];
        int n = check_questions((enum check_id)k, d->name, q);
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++) {
            struct atlas_question *nq = realloc(c->questions, (c->nq + 1) * sizeof *nq);
            if (nq == NULL)
                return DP_ENOMEM;
            c->questions = nq;
            nq[c->nq].dom = d;
            nq[c->nq].check = (enum check_id)k;
            nq[c->nq].qi = (unsigned)i;
            nq[c->nq].q = q[i];
            c->nq++;
        }
    }
    return 0;
}

/* Integer member, or def when absent; false when present but not an integer. */
static bool get_int(json_object *o, const char *key, int64_t def, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
        *out = def;
        return true;
    }
    if (!json_object_is_type(v, json_type_int))
        return false;
    errno = 0;
    *out = json_object_get_int64(v);
    return errno == 0;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *get_obj(json_object *o, const char *key, enum json_type t)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

/* Decodes base64 wire data and parses it. 0, or DP_EINPUT with why. */
static int decode_msg(const char *b64, ldns_pkt **pkt, const char **why)
{
    ldns_rdf *rd = NULL;
    *pkt = NULL;
    if (ldns_str2rdf_b64(&rd, b64) != LDNS_STATUS_OK || rd == NULL) {
        *why = "abuf: not base64";
        return DP_EINPUT;
    }
    ldns_status s = ldns_wire2pkt(pkt, ldns_rdf_data(rd), ldns_rdf_size(rd));
    ldns_rdf_deep_free(rd);
    if (s != LDNS_STATUS_OK) {
        *pkt = NULL;
        *why = "abuf: not a DNS message";
        return DP_EINPUT;
    }
    return 0;
}

/* The wanted questions matching a message's question: bits of c->questions
 * indexes in *hits (at most 64 questions are matched; more are refused by
 * atlas_ctx_add_domain's callers). Returns whether it had a question. */
static bool match_question(const struct atlas_ctx *c, const ldns_pkt *p, uint64_t *hits)
{
    *hits = 0;
    const ldns_rr_list *ql = ldns_pkt_question(p);
    if (ql == NULL || ldns_rr_list_rr_count(ql) < 1)
        return false;
    const ldns_rr *q = ldns_rr_list_rr(ql, 0);
    char *name = ldns_rdf2str(ldns_rr_owner(q));
    if (name == NULL)
        return false;
    uint16_t t = (uint16_t)ldns_rr_get_type(q);
    for (size_t i = 0; i < c->nq && i < 64; i++)
        if (c->questions[i].q.qtype == t && strcasecmp(c->questions[i].q.qname, name) == 0)
            *hits |= 1ull << i;
    free(name);
    return true;
}

/* The question an error entry (which has no reply) was about. */
static uint64_t error_question(struct atlas_ctx *c, json_object *entry, int64_t msm,
                               uint64_t sibling)
{
    const char *qb = get_str(entry, "qbuf");
    uint64_t hits = 0;
    ldns_pkt *p = NULL;
    const char *why;
    if (qb != NULL && decode_msg(qb, &p, &why) == 0 && match_question(c, p, &hits)) {
        ldns_pkt_free(p);
        return hits;
    }
    ldns_pkt_free(p);
    if (sibling != 0)
        return sibling;
    for (size_t i = 0; i < c->nmsm; i++)
        if (c->msm[i].id == msm)
            return c->msm[i].hits;
    return c->nq == 1 ? 1 : 0;
}

static void learn_msm(struct atlas_ctx *c, int64_t msm, uint64_t hits)
{
    if (msm < 0 || hits == 0)
        return;
    for (size_t i = 0; i < c->nmsm; i++)
        if (c->msm[i].id == msm)
            return;
    struct atlas_msm *m = realloc(c->msm, (c->nmsm + 1) * sizeof *m);
    if (m == NULL)
        return; /* only a hint for error entries */
    c->msm = m;
    m[c->nmsm++] = (struct atlas_msm){msm, hits};
}

/* Emits the row of one wanted question for one entry. */
static int emit(struct atlas_ctx *c, const struct atlas_question *aq, struct obs *o,
                const char *raw_answer, unsigned result_no)
{
    char *rec = NULL, *rule = NULL;
    const struct round_domain *d = aq->dom;
    char tbuf[32];
    int rc = check_recorded_answer(aq->check, raw_answer ? raw_answer : "", &rec);
    if (rc != 0)
        return rc;
    o->domain = d->name;
    o->check = check_name(aq->check);
    o->qname = aq->q.qname;
    o->qtype = answer_type_name(aq->q.qtype, tbuf, sizeof tbuf);
    o->answer = rec;
    o->expected = "";
    o->match = OBS_MATCH_NONE;
    if ((rc = check_expected_text(d->plan, d->profile, aq->check, aq->qi, d->name, &rule)) != 0)
        goto out;
    if (rule[0] != '\0') {
        o->expected = rule;
        if (obs_status_answered(o->status))
            o->match =
                check_judge(d->plan, d->profile, aq->check, aq->qi, d->name, o->status, rec, NULL);
    } else if (c->truth != NULL) {
        const char *t = c->truth(c->arg, d->name, o->check, aq->q.qname, o->qtype, o->time);
        if (t != NULL) {
            o->expected = t;
            if (obs_status_answered(o->status)) {
                int eq = check_answers_equal(aq->check, rec, t);
                if (eq < 0) {
                    rc = eq;
                    goto out;
                }
                o->match = eq == 1 ? OBS_MATCH_YES : OBS_MATCH_NO;
            }
        }
    }
    rc = c->row(c->arg, o, result_no);
out:
    /* o is the caller's: leave it no pointer into this frame or freed text */
    o->qtype = o->answer = o->expected = NULL;
    free(rec);
    free(rule);
    return rc;
}

/* One response (a result, or one entry of a resultset). */
static int entry(struct atlas_ctx *c, json_object *top, json_object *e, const char *vantage,
                 int64_t t_top, int64_t msm, unsigned result_no, uint64_t *sibling,
                 const char **why)
{
    int64_t t, port;
    char addr[RLIST_ADDRSTRLEN];
    char ab[RLIST_ADDRSTRLEN + 8];
    int rc = 0;
    if (!get_int(e, "time", t_top, &t) || t < 0 || t > ATLAS_TIME_MAX) {
        *why = "bad time";
        return DP_EINPUT;
    }
    if (!get_int(e, "dst_port", get_int(top, "dst_port", 53, &port) ? port : 53, &port) ||
        port < 1 || port > 65535) {
        *why = "bad dst_port";
        return DP_EINPUT;
    }
    json_object *res = get_obj(e, "result", json_type_object);
    json_object *er = get_obj(e, "error", json_type_object);
    const char *dst = get_str(e, "dst_addr");
    if (res == NULL && er == NULL) {
        if (json_object_object_get_ex(e, "result", NULL) ||
            json_object_object_get_ex(e, "error", NULL)) {
            *why = "result or error is not an object";
            return DP_EINPUT;
        }
        c->st.entries_without_reply++;
        return 0;
    }
    if (dst == NULL) {
        if (res == NULL) {
            c->st.errors_without_resolver++; /* e.g. no resolver configured on the probe */
            return 0;
        }
        *why = "no dst_addr";
        return DP_EINPUT;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *awhy;
    if (rlist_parse_address(dst, 53, &sa, &salen, &awhy) != 0) {
        *why = "bad dst_addr";
        return DP_EINPUT;
    }
    if (sa.ss_family == AF_INET)
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
    rlist_format_address((const struct sockaddr *)&sa, addr, sizeof addr);
    snprintf(ab, sizeof ab, "%s", addr);
    const char *proto = get_str(e, "proto");
    if (proto == NULL)
        proto = get_str(top, "proto");

    struct obs o = {
        .time = t,
        .vantage = vantage,
        .round = 0,
        .server = ab,
        .address = ab,
        .tcp = proto != NULL && strcasecmp(proto, "TCP") == 0,
        .rcode = -1,
        .latency_ms = -1,
        .ttl = -1,
    };
    if (res == NULL) {
        /* no reply: which question it was comes from qbuf, a sibling, the
         * measurement, or the only question there is */
        uint64_t hits = error_question(c, e, msm, *sibling);
        if (hits == 0) {
            c->st.errors_without_question++;
            return 0;
        }
        o.status = json_object_object_get_ex(er, "timeout", NULL) ? OBS_TIMEOUT : OBS_UNREACHABLE;
        for (size_t i = 0; i < c->nq && i < 64 && rc == 0; i++)
            if (hits & (1ull << i))
                rc = emit(c, &c->questions[i], &o, "", result_no);
        if (rc == 0)
            c->st.entries++;
        return rc;
    }
    const char *abuf = get_str(res, "abuf");
    if (abuf == NULL) {
        *why = "a result without abuf";
        return DP_EINPUT;
    }
    json_object *rt;
    if (json_object_object_get_ex(res, "rt", &rt) &&
        (json_object_is_type(rt, json_type_double) || json_object_is_type(rt, json_type_int))) {
        double v = json_object_get_double(rt);
        if (!(v >= 0 && v < 1e9)) {
            *why = "bad rt";
            return DP_EINPUT;
        }
        o.latency_ms = (int64_t)llround(v);
    }
    ldns_pkt *p = NULL;
    if ((rc = decode_msg(abuf, &p, why)) != 0)
        return rc;
    uint64_t hits;
    if (!match_question(c, p, &hits)) {
        ldns_pkt_free(p);
        *why = "a reply without a question";
        return DP_EINPUT;
    }
    if (hits == 0) {
        ldns_pkt_free(p);
        c->st.replies_not_asked++;
        return 0;
    }
    *sibling = hits;
    learn_msm(c, msm, hits);
    for (size_t i = 0; i < c->nq && i < 64 && rc == 0; i++) {
        if (!(hits & (1ull << i)))
            continue;
        const struct atlas_question *aq = &c->questions[i];
        struct engine_result r = {0};
        char *answer = NULL, *cname = NULL;
        rc = engine_judge_reply(p, aq->q.qname, aq->q.qtype, &r, &answer, &cname);
        if (rc == DP_EMALFORMED) {
            *why = "the reply is not a DNS response";
            rc = DP_EINPUT;
        } else if (rc == 0) {
            o.status = r.status;
            o.rcode = r.rcode;
            o.ttl = r.ttl;
            rc = emit(c, aq, &o, answer, result_no);
        }
        free(answer);
        free(cname);
    }
    ldns_pkt_free(p);
    if (rc == 0)
        c->st.entries++;
    return rc;
}

int atlas_result(struct atlas_ctx *c, struct json_object *res, char *err, size_t errlen)
{
    const char *why = NULL;
    int64_t prb, ts, msm;
    int rc = 0;
    unsigned no = (unsigned)++c->st.results; /* the result's position, for messages */
    const char *type = get_str(res, "type");
    if (type != NULL && strcmp(type, "dns") != 0) {
        c->st.not_dns++;
        return 0;
    }
    if (!get_int(res, "prb_id", -1, &prb) || prb < 0) {
        dp_errf(err, errlen, "no prb_id");
        return DP_EINPUT;
    }
    if (!get_int(res, "timestamp", -1, &ts) || ts < 0 || ts > ATLAS_TIME_MAX) {
        dp_errf(err, errlen, "no timestamp");
        return DP_EINPUT;
    }
    if (!get_int(res, "msm_id", -1, &msm)) {
        dp_errf(err, errlen, "bad msm_id");
        return DP_EINPUT;
    }
    char vantage[32];
    snprintf(vantage, sizeof vantage, "atlas:%lld", (long long)prb);
    uint64_t rows0 = c->st.entries, sibling = 0;
    json_object *set = get_obj(res, "resultset", json_type_array);
    if (set != NULL) {
        size_t n = json_object_array_length(set);
        if (n > MAX_ENTRIES) {
            dp_errf(err, errlen, "a resultset of more than %u resolvers", MAX_ENTRIES);
            return DP_EINPUT;
        }
        /* answers first, so that error entries can borrow their question */
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            for (size_t i = 0; i < n && rc == 0; i++) {
                json_object *e = json_object_array_get_idx(set, i);
                if (!json_object_is_type(e, json_type_object)) {
                    why = "a resultset entry that is not an object";
                    rc = DP_EINPUT;
                    break;
                }
                bool has_res = json_object_object_get_ex(e, "result", NULL);
                if (has_res == (pass == 0))
                    rc = entry(c, res, e, vantage, ts, msm, no, &sibling, &why);
            }
        }
        if (rc == DP_EINPUT && why != NULL)
            dp_errf(err, errlen, "%s", why);
    } else if (json_object_object_get_ex(res, "resultset", NULL)) {
        dp_errf(err, errlen, "resultset is not an array");
        return DP_EINPUT;
    } else {
        rc = entry(c, res, res, vantage, ts, msm, no, &sibling, &why);
        if (rc == DP_EINPUT && why != NULL)
            dp_errf(err, errlen, "%s", why);
    }
    if (rc == 0 && c->st.entries == rows0)
        c->st.results_unused++;
    return rc;
}
