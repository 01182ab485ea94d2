/*
 * The engine's own helpers shared by its files (engine.c, engine_judge.c);
 * not part of engine.h, so nothing outside the engine (but its unit tests
 * and the reply fuzzer) sees them.
 */
#ifndef DNSPROP_ENGINE_INTERNAL_H
#define DNSPROP_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ldns/ldns.h>

struct engine_result;

/* Whether the n bytes at a and at b are the same name in wire form
 * (uncompressed), letters compared without case as ldns_dname_compare()
 * does. b must be a valid name of n bytes (as ldns holds one); a may be any
 * n bytes, say from a reply. Length bytes (at most 63) are below every
 * letter and folding never makes one, so folding case over the whole of both
 * compares the labels' structure exactly and their letters without case.
 * Inline: it runs for every reply (question match) and every answer record
 * (the CNAME walk). */
static inline bool engine__wire_name_same(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (memcmp(a, b, n) == 0) /* most often: the name echoed byte for byte */
        return true;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = a[i], d = b[i];
        if (c == d)
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (d >= 'A' && d <= 'Z')
            d = (uint8_t)(d - 'A' + 'a');
        if (c != d)
            return false;
    }
    return true;
}

/* What judging a reply reads of it: the header's QR, opcode and rcode, the
 * answer and authority sections, and the OPT record (its extended rcode
 * and RDATA). Filled from an ldns_pkt (engine_judge_reply_name) or by
 * engine__wire_read straight from the wire; both then go through the same
 * engine__judge and engine__site_ede. Every pointer is borrowed. */
struct engine__reply {
    bool qr;
    ldns_pkt_opcode opcode;
    int rcode;              /* 4 bits in the header, 8 more in the OPT record */
    const ldns_rr_list *an; /* the answer section; never NULL */
    const ldns_rr_list *ns; /* the authority section; never NULL */
    /* the OPT record's RDATA as ldns_pkt_edns_data() has it; NULL none */
    const ldns_rdf *edns_data;
};

/* v filled from a parsed reply. */
void engine__reply_of_pkt(struct engine__reply *v, const ldns_pkt *reply);

/* The verdict on a reply (engine_judge_reply_name's, see engine.h) from
 * what it reads of it. */
int engine__judge(const struct engine__reply *v, const ldns_rdf *qname, uint16_t qtype,
                  struct engine_result *r, char **answer, char **cname_target);

/* The site and EDE columns (engine_reply_site_ede's, see engine.h) from the
 * options ldns read out of the OPT record's RDATA; opts NULL: none. */
int engine__site_ede(const ldns_edns_option_list *opts, char **site, char **ede);

/* A reply read for judging without an ldns_pkt. ldns_wire2pkt() builds the
 * whole message: a packet, its header, four lists, and every record of
 * every section (the question and the additional section's glue too), each
 * record an allocation per name and per field, all freed again after the
 * verdict: a third of what `dnsprop check` spends in all. This reads the
 * same records with the same ldns_wire2rr() calls in the same order, so it
 * fails exactly where ldns_wire2pkt() does, but it skips the question (the
 * engine matched its bytes already: it parses), drops each additional record
 * but the OPT as soon as it is read, and keeps the answer and authority
 * records in two lists that live from one reply to the next. */
struct engine__wire {
    struct engine__reply v; /* valid after engine__wire_read() returned 0 */
    ldns_rr_list *an;       /* owned, records and all; emptied by engine__wire_clear() */
    ldns_rr_list *ns;       /* the same */
    ldns_rr *opt;           /* owned: the OPT record; NULL none */
    ldns_pkt *edns;         /* owned: an empty packet lent the OPT RDATA while ldns reads
                               its options (engine__wire_site_ede) */
};

/* Makes the lists and the packet. Returns 0 or DP_ENOMEM (then w needs
 * engine__wire_deinit() all the same, which takes a half-made one). */
int engine__wire_init(struct engine__wire *w);
void engine__wire_deinit(struct engine__wire *w);

/* Reads the reply m (len bytes, QDCOUNT 1, its one question, already
 * matched, ending at qend) into w->v. Returns 0; or 1 when it did not read
 * it and ldns_wire2pkt() must: a record that does not parse (ldns_wire2pkt()
 * fails there too), a TSIG record or a second OPT record (which
 * ldns_wire2pkt() keeps in ways this does not copy), or no memory. w holds
 * no record then. */
int engine__wire_read(struct engine__wire *w, const uint8_t *m, size_t len, size_t qend);

/* Frees the records of the last reply read; the lists stay for the next. */
void engine__wire_clear(struct engine__wire *w);

/* engine__site_ede() of the reply read into w. */
int engine__wire_site_ede(struct engine__wire *w, char **site, char **ede);

#endif
