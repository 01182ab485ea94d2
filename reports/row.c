/*
 * One row of observations.csv and back: the row codec (PRODUCT.md section 4).
 * obs_write_row_cols writes a struct obs as one CRLF-ended line through the
 * one CSV writer; obs_parse_line_cols reads such a line back, refusing any
 * field that is not what the writer would have written; obs_header_columns
 * tells which form of the log a header line is (OBS_NCOLUMNS, the older
 * OBS_NCOLUMNS_V1, or another version, said in why). No files here: the log
 * itself is reports/obslog.c.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

static const char *const columns[OBS_NCOLUMNS] = {
    "time_utc", "vantage",  "round",     "domain", "check", "qname",      "qtype",
    "server",   "address",  "transport", "status", "rcode", "latency_ms", "ttl",
    "answer",   "expected", "match",     "site",   "ede",
};

/* ---- rows ---- */

/* The rcode's column as text: empty for none, the mnemonic where ldns
 * has one; NULL for a number without one (written as its digits). */
static const char *rcode_text(int rcode)
{
    if (rcode < 0)
        return "";
    if (rcode == LDNS_RCODE_NOERROR)
        return "NOERROR"; /* most rows: no table search */
    const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);
    return t != NULL && t->name != NULL ? t->name : NULL;
}

void obs_write_row(struct csvw *w, const struct obs *o)
{
    obs_write_row_cols(w, o, OBS_NCOLUMNS);
}

void obs_write_row_cols(struct csvw *w, const struct obs *o, unsigned ncolumns)
{
    const char *rcode = rcode_text(o->rcode);
    const char *const names[] = {
        o->domain,
        o->check,
        o->qname,
        o->qtype,
        o->server,
        o->address,
        o->tcp ? "tcp" : "udp",
        obs_status_name(o->status),
        rcode,
    };
    const char *const texts[] = {
        o->answer,
        o->expected,
        o->match == OBS_MATCH_YES ? "yes" : o->match == OBS_MATCH_NO ? "no" : NULL,
        o->site,
        o->ede,
    };
    csvw_time(w, o->time);
    csvw_str(w, o->vantage);
    csvw_uint(w, o->round);
    /* the columns from domain to rcode, then from answer to ede, in one
     * call each */
    csvw_strs(w, names, rcode != NULL ? 9 : 8);
    if (rcode == NULL)
        csvw_uint(w, (uint64_t)o->rcode);
    csvw_opt(w, o->latency_ms);
    csvw_opt(w, o->ttl);
    csvw_strs(w, texts, ncolumns != OBS_NCOLUMNS_V1 ? 5 : 3);
    csvw_end(w);
}

int obs_print(FILE *f, const struct obs *o, bool header)
{
    struct csvw w;
    int rc = 0;
    csvw_init(&w);
    if (header)
        csvw_raw(&w, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2);
    obs_write_row(&w, o);
    rc = csvw_error(&w);
    if (rc == 0 && (fwrite(w.buf, 1, w.len, f) != w.len || fflush(f) != 0))
        rc = DP_EIO;
    csvw_deinit(&w);
    return rc;
}

/* A whole decimal number in [0, max] from a field of known length. */
static bool parse_num(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* An optional number (latency_ms, ttl): -1 when the field is empty. */
static bool parse_opt(const char *s, size_t len, int64_t *out)
{
    uint64_t v;
    *out = -1;
    if (len == 0)
        return true;
    if (!parse_num(s, len, INT64_MAX, &v))
        return false;
    *out = (int64_t)v;
    return true;
}

/* The ede column: empty, or INFO-CODEs (0..65535, no leading zeros) joined
 * by ';'. */
static bool ede_ok(const char *s, size_t len)
{
    size_t i = 0;
    if (len == 0)
        return true;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != ';')
            j++;
        uint64_t v;
        if (!parse_num(s + i, j - i, 65535, &v))
            return false;
        if (j == len)
            return true;
        i = j + 1;
    }
}

int obs_parse_line(struct csvr *r, const char *line, size_t len, struct obs *o, char *why,
                   size_t whylen)
{
    return obs_parse_line_cols(r, line, len, OBS_NCOLUMNS, o, why, whylen);
}

int obs_parse_line_cols(struct csvr *r, const char *line, size_t len, unsigned ncolumns,
                        struct obs *o, char *why, size_t whylen)
{
    const char *w = NULL;
    if (ncolumns != OBS_NCOLUMNS && ncolumns != OBS_NCOLUMNS_V1) {
        dp_errf(why, whylen, "no log has %u columns", ncolumns);
        return DP_EINPUT;
    }
    int n = csvr_split(r, line, len, &w);
    if (n < 0) {
        dp_errf(why, whylen, "%s", w);
        return n == DP_ENOMEM ? DP_ENOMEM : DP_EINPUT;
    }
    if (n != (int)ncolumns) {
        dp_errf(why, whylen, "%d fields, want %u", n, ncolumns);
        return DP_EINPUT;
    }
    const char *const *f = r->f;
    const size_t *l = r->len;
    uint64_t v;
    int bad = -1;
    memset(o, 0, sizeof *o);
    if (l[0] != 0 && l[0] == r->time_len && memcmp(f[0], r->time_text, l[0]) == 0) {
        o->time = r->time_value;
    } else if (dp_parse_time_exact(f[0], l[0], &o->time) != 0) {
        bad = 0;
    } else if (l[0] < sizeof r->time_text) {
        memcpy(r->time_text, f[0], l[0]);
        r->time_len = l[0];
        r->time_value = o->time;
    }
    if (bad >= 0) {
        /* the time is bad: named below */
    } else if (!parse_num(f[2], l[2], UINT32_MAX, &v) || v == 0)
        bad = 2;
    else if (l[3] == 0)
        bad = 3;
    else if (l[4] == 0)
        bad = 4;
    else if (l[5] == 0)
        bad = 5;
    else if (l[6] == 0)
        bad = 6;
    else if (l[7] == 0)
        bad = 7;
    if (bad < 0) {
        o->round = (uint32_t)v;
        o->vantage = f[1];
        o->domain = f[3];
        o->check = f[4];
        o->qname = f[5];
        o->qtype = f[6];
        o->server = f[7];
        o->address = f[8];
        if (strcmp(f[9], "udp") == 0)
            o->tcp = false;
        else if (strcmp(f[9], "tcp") == 0)
            o->tcp = true;
        else
            bad = 9;
    }
    if (bad < 0 && obs_status_parse(f[10], l[10], &o->status) != 0)
        bad = 10;
    if (bad < 0) {
        o->rcode = -1;
        if (l[11] == 7 && memcmp(f[11], "NOERROR", 7) == 0) {
            o->rcode = LDNS_RCODE_NOERROR; /* most rows: no table search */
        } else if (l[11] > 0) {
            const ldns_lookup_table *t = ldns_lookup_by_name(ldns_rcodes, f[11]);
            if (t != NULL && strcmp(t->name, f[11]) == 0)
                o->rcode = t->id;
            else if (parse_num(f[11], l[11], 4095, &v) &&
                     ldns_lookup_by_id(ldns_rcodes, (int)v) == NULL)
                o->rcode = (int)v; /* a number only where there is no mnemonic */
            else
                bad = 11;
        }
    }
    if (bad < 0 && !parse_opt(f[12], l[12], &o->latency_ms))
        bad = 12;
    if (bad < 0 && !parse_opt(f[13], l[13], &o->ttl))
        bad = 13;
    if (bad < 0) {
        o->answer = f[14];
        o->expected = f[15];
        if (l[16] == 0)
            o->match = OBS_MATCH_NONE;
        else if (strcmp(f[16], "yes") == 0)
            o->match = OBS_MATCH_YES;
        else if (strcmp(f[16], "no") == 0)
            o->match = OBS_MATCH_NO;
        else
            bad = 16;
    }
    o->site = "";
    o->ede = "";
    if (bad < 0 && ncolumns == OBS_NCOLUMNS) {
        o->site = f[17];
        o->ede = f[18];
        if (!ede_ok(f[18], l[18]))
            bad = 18;
    }
    if (bad >= 0) {
        char esc[64];
        dp_errf(why, whylen, "bad %s '%s'", columns[bad],
                dp_escape(f[bad], l[bad], esc, sizeof esc));
        return DP_EINPUT;
    }
    return 0;
}

/* ---- a row as it reads back ---- */

/* The last time dp_format_time writes as itself (9999-12-31 23:59:59): a
 * later one is written as zeros, which do not read back. */
#define ROW_TIME_MAX INT64_C(253402300799)

static const char *row_str(const char *s)
{
    return s != NULL ? s : "";
}

bool rep__row_read_back(const struct obs *o, unsigned ncolumns, struct obs *back)
{
    memset(back, 0, sizeof *back);
    if (ncolumns != OBS_NCOLUMNS && ncolumns != OBS_NCOLUMNS_V1)
        return false;
    if (o->time < 0 || o->time > ROW_TIME_MAX || o->round == 0 ||
        obs_status_name(o->status) == NULL)
        return false;
    back->time = o->time;
    back->round = o->round;
    back->vantage = row_str(o->vantage);
    back->domain = row_str(o->domain);
    back->check = row_str(o->check);
    back->qname = row_str(o->qname);
    back->qtype = row_str(o->qtype);
    back->server = row_str(o->server);
    back->address = row_str(o->address);
    /* the columns the reader wants filled */
    if (back->domain[0] == '\0' || back->check[0] == '\0' || back->qname[0] == '\0' ||
        back->qtype[0] == '\0' || back->server[0] == '\0')
        return false;
    back->tcp = o->tcp;
    back->status = o->status;
    /* the rcode as write_rcode writes it and the reader takes it back */
    back->rcode = -1;
    if (o->rcode == LDNS_RCODE_NOERROR) {
        back->rcode = LDNS_RCODE_NOERROR; /* "NOERROR" both ways (see obs_parse_line_cols) */
    } else if (o->rcode >= 0) {
        const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, o->rcode);
        if (t != NULL && t->name != NULL) {
            const ldns_lookup_table *u = ldns_lookup_by_name(ldns_rcodes, t->name);
            if (u == NULL || strcmp(u->name, t->name) != 0)
                return false;
            back->rcode = u->id;
        } else if (o->rcode <= 4095) {
            back->rcode = o->rcode;
        } else {
            return false;
        }
    }
    back->latency_ms = o->latency_ms < 0 ? -1 : o->latency_ms;
    back->ttl = o->ttl < 0 ? -1 : o->ttl;
    back->answer = row_str(o->answer);
    back->expected = row_str(o->expected);
    back->match = o->match == OBS_MATCH_YES  ? OBS_MATCH_YES
                  : o->match == OBS_MATCH_NO ? OBS_MATCH_NO
                                             : OBS_MATCH_NONE;
    back->site = "";
    back->ede = "";
    if (ncolumns == OBS_NCOLUMNS) {
        back->site = row_str(o->site);
        back->ede = row_str(o->ede);
        if (!ede_ok(back->ede, strlen(back->ede)))
            return false;
    }
    return true;
}

/* ---- the header ---- */

unsigned obs_header_columns(struct csvr *r, const char *line, size_t len, char *why, size_t whylen)
{
    const char *w;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == strlen(OBS_HEADER) && memcmp(line, OBS_HEADER, len) == 0)
        return OBS_NCOLUMNS;
    /* exactly the old header: a log of an older dnsprop, read as it was written */
    if (len == strlen(OBS_HEADER_V1) && memcmp(line, OBS_HEADER_V1, len) == 0)
        return OBS_NCOLUMNS_V1;
    int n = csvr_split(r, line, len, &w);
    if (n < 0) {
        dp_errf(why, whylen, "not an observations header (%s)", w);
        return 0;
    }
    char missing[512] = "", added[512] = "";
    size_t mo = 0, ao = 0;
    for (int i = 0; i < OBS_NCOLUMNS; i++) {
        bool found = false;
        for (int j = 0; j < n && !found; j++)
            found = strcmp(r->f[j], columns[i]) == 0;
        if (!found && mo < sizeof missing)
            mo += (size_t)snprintf(missing + mo, sizeof missing - mo, "%s%s", mo ? "," : "",
                                   columns[i]);
    }
    for (int j = 0; j < n; j++) {
        bool found = false;
        for (int i = 0; i < OBS_NCOLUMNS && !found; i++)
            found = strcmp(r->f[j], columns[i]) == 0;
        if (!found && ao < sizeof added) {
            char esc[64];
            ao += (size_t)snprintf(added + ao, sizeof added - ao, "%s%s", ao ? "," : "",
                                   dp_escape(r->f[j], r->len[j], esc, sizeof esc));
        }
    }
    if (mo == 0 && ao == 0)
        dp_errf(why, whylen, "header of another version: the columns are in another order");
    else
        dp_errf(why, whylen, "header of another version:%s%s%s%s", mo ? " missing " : "", missing,
                ao ? " unknown " : "", added);
    return 0;
}
