/*
 * resolvers: who gets asked. The built-in public list (resolvers/public.csv,
 * compiled in), resolver list files, the comma-list syntax of --resolvers and
 * --authority (PRODUCT.md sections 2 and 5). Discovery of a domain's
 * authoritative servers (NS, then their addresses) asks DNS questions, so it
 * is a phase of the round (monitor/run/round.c) that fills such a list.
 *
 * This header is the module's one public interface.
 */
#ifndef DNSPROP_RESOLVERS_H
#define DNSPROP_RESOLVERS_H

#include "dnsprop.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One server to ask. */
struct rlist_server {
    char *name;                 /* owned: "google-a", or "auth:ns1.example.com." */
    char *address;              /* owned: as written in reports: "8.8.8.8", "[::1]:5353" */
    char *operator_;            /* owned: may be "" */
    char *country;              /* owned: may be "" */
    struct sockaddr_storage sa; /* parsed address and port (53 when not given) */
    socklen_t salen;
    bool authoritative; /* asked with RD clear */
};

/* An ordered set of servers. Owns its servers and their strings. */
struct rlist {
    struct rlist_server *v;
    size_t n, cap;
};

/* Parses a server address: IPv4 "192.0.2.1", "192.0.2.1:5353", IPv6 "2001:db8::1",
 * "[2001:db8::1]:5353" (a bare IPv6 takes no port). The port defaults to
 * default_port; 0 and ports over 65535 are refused. Returns 0, or DP_EINPUT
 * with *why set to a static text saying what is wrong. */
int rlist_parse_address(const char *s, uint16_t default_port, struct sockaddr_storage *sa,
                        socklen_t *salen, const char **why);

/* Formats an address the way reports write it: "192.0.2.1" or "[2001:db8::1]"
 * when the port is 53, else "192.0.2.1:5353" / "[2001:db8::1]:5353".
 * Returns buf (RLIST_ADDRSTRLEN bytes are always enough). */
#define RLIST_ADDRSTRLEN 56
char *rlist_format_address(const struct sockaddr *sa, char *buf, size_t len);

/* Frees everything the list owns; the struct itself is the caller's. */
void rlist_deinit(struct rlist *l);

/* The compiled-in copy of resolvers/public.csv (generated at build time). */
extern const char rlist_public_csv[];
extern const size_t rlist_public_csv_len;

/* ---- lists ---- */
#include <stdio.h>

/* Limits on what a list may hold. A resolver list is written by people, and
 * these caps keep a hostile or mistaken file from costing memory or time. */
#define RLIST_FIELD_MAX   64         /* bytes in a name, address, operator, country */
#define RLIST_LINE_MAX    1024       /* bytes in one line of a list file */
#define RLIST_FILE_MAX    (4u << 20) /* bytes in a list file */
#define RLIST_MAX_SERVERS 10000      /* servers in one list */
#define RLIST_ERRLEN      512        /* a buffer this size holds any message */
#define RLIST_HEADER      "name,address,operator,country"
#define RLIST_AUTH_PREFIX "auth:" /* names of authoritative servers start so */

/* Adds one server. `name`: 1 to RLIST_FIELD_MAX bytes of letters, digits and
 * . - _ : [ ] (not starting with '-'), compared case-insensitively with the
 * names already in the list; names starting "auth:" are kept for
 * authoritative servers. `address`: as rlist_parse_address takes it (port 53
 * by default); the list stores it as rlist_format_address writes it.
 * `op` and `country`: printable ASCII, may be "" or NULL. The strings are
 * copied. Returns 0, DP_EINPUT with a one-line message in err (which names the
 * offending text, escaped), or DP_ENOMEM. A duplicate name is an error; a
 * duplicate address is not checked here (see rlist_find_address). */
int rlist_add(struct rlist *l, const char *name, const char *address, const char *op,
              const char *country, bool authoritative, char *err, size_t errlen);

/* Index of the server with this address and port, or -1. */
long rlist_find_address(const struct rlist *l, const struct sockaddr *sa);
/* Index of the server with this name (case-insensitive), or -1. */
long rlist_find_name(const struct rlist *l, const char *name);

/* Parses a resolver list in CSV (PRODUCT.md section 5) held in memory and
 * appends its servers to l. `label` names the source in messages
 * ("label:line: ..."). Rules: an optional UTF-8 byte order mark; lines end in
 * LF or CRLF; lines whose first byte is '#' and blank lines are skipped; the
 * first other line must be exactly RLIST_HEADER; every later line is one
 * server of exactly 4 fields, RFC 4180 quoting allowed within the line (a
 * quoted field cannot span lines). Errors: any bad line (wrong field count,
 * bad quoting, NUL or control byte, over-long line or field, empty name, bad
 * address, duplicate name), no header, or no server at all. A duplicate
 * address is a warning written to `warn` (NULL: not written) as
 * "label:line: warning: duplicate address 'A' (first at line N)", and the
 * server is kept. With `authoritative`, servers are marked so and their names
 * get the "auth:" prefix unless they have it. On error nothing is added (the
 * list is as before), err holds one line, and DP_EINPUT or DP_ENOMEM is
 * returned; 0 on success. */
int rlist_load_csv(struct rlist *l, const char *label, const char *data, size_t len,
                   bool authoritative, FILE *warn, char *err, size_t errlen);

/* Reads a list file (at most RLIST_FILE_MAX bytes) and parses it as
 * rlist_load_csv does, with the path as label. A file that cannot be opened
 * or read, or is a directory, is DP_EINPUT naming the path and the reason. */
int rlist_load_file(struct rlist *l, const char *path, bool authoritative, FILE *warn, char *err,
                    size_t errlen);

/* Parses the comma-list syntax of --resolvers and --authority:
 * "ADDR[,ADDR...]" where each ADDR is IPv4, IPv4:PORT, IPv6 or [IPv6]:PORT;
 * spaces around items are ignored; an empty item is an error. Each server is
 * named by its address as rlist_format_address writes it (with the "auth:"
 * prefix when authoritative). A repeated address is a warning on `warn` and
 * is added once. Messages name the option: "--resolvers 'SPEC': ..." or
 * "--authority 'SPEC': ...". Returns as rlist_load_csv does. */
int rlist_load_list(struct rlist *l, const char *spec, bool authoritative, FILE *warn, char *err,
                    size_t errlen);

/* The SPEC argument of --resolvers / --authority. It is a FILE when it
 * contains a '/' or names an existing file system entry (stat() succeeds);
 * otherwise a comma list. So "./8.8.8.8" forces a file and a list never
 * contains '/'. With `authoritative`, the spec "none" loads nothing and
 * returns 0 (the caller skips the authoritative servers); it wins over a file
 * named "none" (write ./none for that). Returns as rlist_load_csv does. */
int rlist_load_spec(struct rlist *l, const char *spec, bool authoritative, FILE *warn, char *err,
                    size_t errlen);

/* Parses the compiled-in list (rlist_public_csv) with the same code, label
 * "resolvers/public.csv". Duplicate-address warnings are not written (the
 * unit tests hold the list free of them). */
int rlist_load_public(struct rlist *l, char *err, size_t errlen);

/* The system's resolver, as dig finds it: the first "nameserver ADDR" line
 * of resolv.conf text (resolv.conf(5): IPv4 or IPv6, port 53; lines whose
 * first non-blank byte is '#' or ';' are comments, and so is the rest of a
 * line after one). A nameserver whose address dnsprop cannot use (an IPv6
 * zone such as fe80::1%eth0, a typo) is passed over, as the resolver library
 * does. Returns 0 with the address in *sa, or DP_EINPUT with *why saying what
 * is missing. */
int rlist_resolv_conf_first(const char *data, size_t len, struct sockaddr_storage *sa,
                            socklen_t *salen, const char **why);
/* Reads path (at most RLIST_RESOLV_MAX bytes) and adds its first usable
 * nameserver to l, named by its address. A missing, unreadable or empty file,
 * or one with no usable nameserver, is DP_EINPUT with one line in err naming
 * the path. */
#define RLIST_RESOLV_MAX (64u << 10)
int rlist_load_resolv_conf(struct rlist *l, const char *path, char *err, size_t errlen);

/* Writes the list as the `resolvers` command prints it: RLIST_HEADER and one
 * row per server, RFC 4180 quoting, CRLF line ends, and a leading ' on a
 * field that starts with = + - @ TAB or CR (never run as a formula).
 * Returns 0, or DP_EIO when the stream reports an error. */
int rlist_write_csv(const struct rlist *l, FILE *f);

#endif
