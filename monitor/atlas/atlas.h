/*
 * atlas: RIPE Atlas DNS measurement results read as observations (PRODUCT.md
 * section 11): a streaming reader of the JSON the Atlas API returns, and the
 * judging of each result with the engine's judge and the check rules, as a
 * live round judges its answers. No I/O of its own beyond the FILE it reads;
 * the import command (cli/cmd_import.c) owns the log.
 */
#ifndef DNSPROP_ATLAS_H
#define DNSPROP_ATLAS_H

#include "run.h" /* struct round_domain, and through it the rules and the obs model */

#include <stdio.h>

/* A streaming reader of Atlas results: a JSON array of result objects, or
 * one object per line (or any whitespace between objects), as the Atlas API
 * and the ripe-atlas tools write them. Memory holds one result at a time. */
struct atlas_reader;
struct json_object;
/* f is borrowed and read to its end. 0 or DP_ENOMEM. */
int atlas_reader_new(FILE *f, struct atlas_reader **out);
void atlas_reader_free(struct atlas_reader *r);
/* The next result: 1 and *out (the caller json_object_put()s it), 0 at the
 * end, or DP_EINPUT / DP_EIO with err saying where ("result 3 (line 7):
 * truncated JSON"). After an error the reader is of no further use. */
int atlas_reader_next(struct atlas_reader *r, struct json_object **out, char *err, size_t errlen);
/* Results returned so far, and the line the last one began on. */
unsigned atlas_reader_index(const struct atlas_reader *r);
unsigned atlas_reader_line(const struct atlas_reader *r);

/* One question a DOMAIN argument's checks ask. */
struct atlas_question {
    const struct round_domain *dom; /* borrowed */
    enum check_id check;
    unsigned qi;
    struct check_question q;
};
struct atlas_msm {
    int64_t id;    /* msm_id */
    uint64_t hits; /* the questions its answers asked (bits of atlas_ctx.questions) */
};
struct atlas_stats {
    uint64_t results;                 /* results read */
    uint64_t entries;                 /* responses turned into rows */
    uint64_t results_unused;          /* results that gave no row */
    uint64_t replies_not_asked;       /* replies to none of the DOMAIN arguments' questions */
    uint64_t errors_without_question; /* error entries whose question is unknown */
    uint64_t errors_without_resolver; /* error entries without dst_addr */
    uint64_t entries_without_reply;   /* entries with neither result nor error */
    uint64_t not_dns;                 /* results of another measurement type */
};
/* How results are judged and where the rows go. */
struct atlas_ctx {
    struct atlas_question *questions; /* owned: atlas_ctx_add_domain fills it */
    size_t nq;
    struct atlas_msm *msm; /* owned: the question learned per measurement */
    size_t nmsm;
    /* The authoritative answer for (domain, check, qname, qtype) at or before
     * time t, as recorded (NULL: none known). May be NULL. */
    const char *(*truth)(void *arg, const char *domain, const char *check, const char *qname,
                         const char *qtype, int64_t t);
    /* Takes one row (strings borrowed for the call; round 0: the caller
     * numbers rounds) of result number result_no. Non-zero stops and is
     * returned. */
    int (*row)(void *arg, const struct obs *o, unsigned result_no);
    void *arg;
    struct atlas_stats st;
};
void atlas_ctx_init(struct atlas_ctx *c);
void atlas_ctx_deinit(struct atlas_ctx *c);
/* Adds the questions of d's checks (d borrowed: it must outlive c). At most
 * 64 questions in all are matched. 0, DP_EINPUT or DP_ENOMEM. */
int atlas_ctx_add_domain(struct atlas_ctx *c, const struct round_domain *d);
/* Turns one Atlas result into rows, through c->row: one per response
 * (a result, or each entry of its resultset) and question of c it answers;
 * an error entry is a timeout (or unreachable) row. A result of another type
 * or one that answers none of c's questions gives no row (counted in c->st).
 * Returns 0, DP_EINPUT with a message in err (a bad field, bad base64 in
 * abuf, a reply that does not parse), DP_ENOMEM, or c->row's result. */
int atlas_result(struct atlas_ctx *c, struct json_object *res, char *err, size_t errlen);

#endif
