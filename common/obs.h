/*
 * The observation model, shared by the whole program: one row of
 * observations.csv (struct obs) and its status and match values. The engine
 * fills it, the rules judge it, the log stores it, the reports read it.
 */
#ifndef DNSPROP_OBS_H
#define DNSPROP_OBS_H

#include "dnsprop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outcome of one query (the `status` column). Keep in step with obs_status_name(). */
enum obs_status {
    OBS_OK = 0,      /* an answer with records of the asked type */
    OBS_NXDOMAIN,    /* the name does not exist */
    OBS_NODATA,      /* the name exists, no records of that type */
    OBS_SERVFAIL,    /* rcode SERVFAIL, or another error rcode (kept in rcode) */
    OBS_REFUSED,     /* rcode REFUSED */
    OBS_TIMEOUT,     /* no valid reply within timeout x tries */
    OBS_UNREACHABLE, /* ICMP unreachable / connection refused / no route */
    OBS_MALFORMED,   /* a reply came from the server but does not parse */
    OBS_STATUS_COUNT
};

/* Whether the answer matched the expectation (the `match` column). */
enum obs_match {
    OBS_MATCH_NONE = 0, /* nothing expected: empty field */
    OBS_MATCH_YES,
    OBS_MATCH_NO,
};

/* One row of observations.csv. Strings are borrowed: whoever fills the struct
 * owns them and keeps them alive while it is in use. NULL and "" both mean an
 * empty field. */
struct obs {
    int64_t time;        /* Unix seconds, UTC (time_utc) */
    const char *vantage; /* where the run stood */
    uint32_t round;      /* round number, from 1, per data folder */
    const char *domain;  /* the monitored domain, lower case, no final dot */
    const char *check;   /* mx, spf, autodiscover, dkim, dmarc, ns, soa, a, aaaa, txt */
    const char *qname;   /* the name asked, lower case, with final dot */
    const char *qtype;   /* "MX", "TXT", ... */
    const char *server;  /* resolver name, or "auth:NSNAME" */
    const char *address; /* "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53" */
    bool tcp;            /* transport: tcp (true) or udp */
    enum obs_status status;
    int rcode;            /* DNS rcode of the reply, -1 when none came */
    int64_t latency_ms;   /* -1 when no reply */
    int64_t ttl;          /* smallest TTL as served (negative TTL for nxdomain/nodata); -1 none */
    const char *answer;   /* normalized RRset (see engine), "" when none */
    const char *expected; /* normalized expected value, "" when nothing expected */
    enum obs_match match;
    const char *site; /* NSID of the answering server/site (RFC 5001), "" none */
    const char *ede;  /* Extended DNS Error codes (RFC 8914), ';'-joined, "" none */
};

/* Whether the query was answered: ok, nxdomain or nodata (an answer, empty
 * or not); every other status is a failure, not an answer. */
bool obs_status_answered(enum obs_status s);
/* "ok", "nxdomain", ... ; NULL for an out-of-range value. */
const char *obs_status_name(enum obs_status s);
/* Parses a status name; returns 0 or DP_EINPUT. */
int obs_status_parse(const char *s, size_t len, enum obs_status *out);

/* The observations.csv header, without line end, and its number of columns. */
#define OBS_HEADER                                                                                 \
    "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,"       \
    "latency_ms,ttl,answer,expected,match,site,ede"
#define OBS_NCOLUMNS 19
/* The header of logs written before site,ede existed: such a log is read as
 * before (site and ede empty) and appended to in its own 17 columns until
 * `dnsprop report --upgrade` rewrites it (obslog_upgrade). */
#define OBS_HEADER_V1                                                                              \
    "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,"       \
    "latency_ms,ttl,answer,expected,match"
#define OBS_NCOLUMNS_V1 17

#endif
