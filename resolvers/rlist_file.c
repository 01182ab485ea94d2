/*
 * Resolver lists: the CSV list files of PRODUCT.md section 5, the comma lists
 * of --resolvers and --authority, the compiled-in public list, and the CSV the
 * `resolvers` command prints.
 *
 * A list file is written by a person, perhaps a hostile one: every line is
 * checked for length, control bytes and quoting before its fields are used,
 * and every message names file:line and quotes the offending text escaped.
 * Lines are handed to libcsv one at a time (each in a fresh parser) so that
 * line numbers stay exact and comment lines never reach the CSV parser; the
 * price is that a quoted field cannot span lines, which no field of a
 * resolver list needs.
 */
#include "resolvers.h"

#include <arpa/inet.h>
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELDS 4
static const char *const field_names[FIELDS] = {"name", "address", "operator", "country"};

/* How much of a hostile text goes into a message. */
#define QUOTE_MAX 60
#define QUOTE_BUF (QUOTE_MAX * 4 + 4)

/* Escapes s (n bytes) for a message, cut to QUOTE_MAX bytes with "...". */
static const char *quote(const char *s, size_t n, char buf[QUOTE_BUF])
{
    size_t take = n > QUOTE_MAX ? QUOTE_MAX : n;
    dp_escape(s, take, buf, QUOTE_BUF - 3);
    if (take < n)
        memcpy(buf + strlen(buf), "...", 4); /* dp_escape left room for it */
    return buf;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* ---- one entry ---- */

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* A checked entry, ready to insert. `name` is the final name (prefix added). */
struct entry {
    char name[RLIST_FIELD_MAX + sizeof RLIST_AUTH_PREFIX];
    struct sockaddr_storage sa;
    socklen_t salen;
};

/* Checks the fields of one server; on success fills *e. The message in err
 * names no location: the caller prefixes it. */
static int check_entry(const char *name, const char *address, const char *op, const char *country,
                       bool authoritative, struct entry *e, char *err, size_t errlen)
{
    char q[QUOTE_BUF];
    const char *why;
    size_t n = strlen(name);
    if (n == 0) {
        dp_errf(err, errlen, "empty name");
        return DP_EINPUT;
    }
    if (n > RLIST_FIELD_MAX) {
        dp_errf(err, errlen, "name longer than %d bytes: '%s'", RLIST_FIELD_MAX, quote(name, n, q));
        return DP_EINPUT;
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char_ok(name[i]) || (i == 0 && name[i] == '-')) {
            dp_errf(err, errlen,
                    "bad name '%s': use letters, digits and . - _ : [ ] (not starting with -)",
                    quote(name, n, q));
            return DP_EINPUT;
        }
    }
    bool prefixed = strncasecmp(name, RLIST_AUTH_PREFIX, strlen(RLIST_AUTH_PREFIX)) == 0;
    if (prefixed && !authoritative) {
        dp_errf(err, errlen, "bad name '%s': names starting 'auth:' are for authoritative servers",
                quote(name, n, q));
        return DP_EINPUT;
    }
    snprintf(e->name, sizeof e->name, "%s%s", authoritative && !prefixed ? RLIST_AUTH_PREFIX : "",
             name);

    size_t an = strlen(address);
    if (an > RLIST_FIELD_MAX) {
        dp_errf(err, errlen, "address longer than %d bytes: '%s'", RLIST_FIELD_MAX,
                quote(address, an, q));
        return DP_EINPUT;
    }
    if (rlist_parse_address(address, 53, &e->sa, &e->salen, &why) != 0) {
        dp_errf(err, errlen, "bad address '%s': %s", quote(address, an, q), why);
        return DP_EINPUT;
    }
    const char *const texts[2] = {op ? op : "", country ? country : ""};
    for (int i = 0; i < 2; i++) {
        size_t tn = strlen(texts[i]);
        if (tn > RLIST_FIELD_MAX) {
            dp_errf(err, errlen, "%s longer than %d bytes: '%s'", field_names[2 + i],
                    RLIST_FIELD_MAX, quote(texts[i], tn, q));
            return DP_EINPUT;
        }
        if (!printable(texts[i])) {
            dp_errf(err, errlen, "%s has a control or non-ASCII byte: '%s'", field_names[2 + i],
                    quote(texts[i], tn, q));
            return DP_EINPUT;
        }
    }
    return 0;
}

/* Appends a checked entry; the list takes copies of the strings. */
static int insert(struct rlist *l, const struct entry *e, const char *op, const char *country,
                  bool authoritative)
{
    char addr[RLIST_ADDRSTRLEN];
    if (l->n >= RLIST_MAX_SERVERS)
        return DP_EINPUT;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct rlist_server *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return DP_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct rlist_server *s = &l->v[l->n];
    memset(s, 0, sizeof *s);
    rlist_format_address((const struct sockaddr *)&e->sa, addr, sizeof addr);
    s->name = dup_str(e->name);
    s->address = dup_str(addr);
    s->operator_ = dup_str(op ? op : "");
    s->country = dup_str(country ? country : "");
    if (!s->name || !s->address || !s->operator_ || !s->country) {
        free(s->name);
        free(s->address);
        free(s->operator_);
        free(s->country);
        return DP_ENOMEM;
    }
    memcpy(&s->sa, &e->sa, sizeof s->sa);
    s->salen = e->salen;
    s->authoritative = authoritative;
    l->n++;
    return 0;
}

/* Frees the servers from index n0 on: undoes a failed load. */
static void truncate_list(struct rlist *l, size_t n0)
{
    for (size_t i = n0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].address);
        free(l->v[i].operator_);
        free(l->v[i].country);
    }
    l->n = n0;
}

long rlist_find_address(const struct rlist *l, const struct sockaddr *sa)
{
    for (size_t i = 0; i < l->n; i++)
        if (dp_sockaddr_equal((const struct sockaddr *)&l->v[i].sa, sa))
            return (long)i;
    return -1;
}

long rlist_find_name(const struct rlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i].name, name) == 0)
            return (long)i;
    return -1;
}

int rlist_add(struct rlist *l, const char *name, const char *address, const char *op,
              const char *country, bool authoritative, char *err, size_t errlen)
{
    struct entry e;
    char q[QUOTE_BUF];
    if (name == NULL || address == NULL) {
        dp_errf(err, errlen, "missing name or address");
        return DP_EINPUT;
    }
    int rc = check_entry(name, address, op, country, authoritative, &e, err, errlen);
    if (rc != 0)
        return rc;
    if (rlist_find_name(l, e.name) >= 0) {
        dp_errf(err, errlen, "duplicate name '%s'", quote(e.name, strlen(e.name), q));
        return DP_EINPUT;
    }
    if (l->n >= RLIST_MAX_SERVERS) {
        dp_errf(err, errlen, "more than %d servers", RLIST_MAX_SERVERS);
        return DP_EINPUT;
    }
    rc = insert(l, &e, op, country, authoritative);
    if (rc != 0)
        dp_errf(err, errlen, "%s", dp_strerror(rc));
    return rc;
}

/* ---- the duplicate checks of one load ---- */

/* The names (without case) and addresses of a list, hashed, so that a load
 * of n servers checks each new one in constant time, not against every one
 * before it (10,000 servers: 50 million comparisons). at_* give the list
 * index of each key's first server, by the key's id in its table. */
struct dup_keys {
    struct dp_strtab t;
    size_t *at; /* owned: by key id, the list index of its first server */
    size_t cap;
};
struct dup_index {
    struct dup_keys names, addrs;
};

/* Adds key (len bytes) of the list's i-th server, unless it is there
 * already (its first server is kept); 0 or DP_ENOMEM. */
static int keys_add(struct dup_keys *x, const char *key, size_t len, size_t i)
{
    uint32_t before = x->t.n;
    uint32_t id = dp_strtab_add(&x->t, key, len);
    if (id == UINT32_MAX)
        return DP_ENOMEM;
    if (x->t.n > before) {
        if (dp_grow((void **)&x->at, &x->cap, id, sizeof *x->at) != 0)
            return DP_ENOMEM;
        x->at[id] = i;
    }
    return 0;
}

/* The list index of the first server of key, or -1. */
static long keys_find(const struct dup_keys *x, const char *key, size_t len)
{
    uint32_t id = dp_strtab_find(&x->t, key, len);
    return id == UINT32_MAX ? -1 : (long)x->at[id];
}

static void keys_deinit(struct dup_keys *x)
{
    dp_strtab_deinit(&x->t);
    free(x->at);
}

/* The name folded to lower case (names are printable ASCII, at most
 * RLIST_FIELD_MAX + the auth: prefix); its length. */
static size_t name_key(const char *name, char *buf, size_t len)
{
    size_t n = 0;
    for (; name[n] != '\0' && n + 1 < len; n++)
        buf[n] = (name[n] >= 'A' && name[n] <= 'Z') ? (char)(name[n] - 'A' + 'a') : name[n];
    buf[n] = '\0';
    return n;
}

/* What dp_sockaddr_equal compares (family, port, address, IPv6 scope), as
 * text; its length. */
static size_t addr_key(const struct sockaddr *sa, char *buf, size_t len)
{
    const unsigned char *b;
    size_t nb;
    unsigned port, scope = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        b = (const unsigned char *)&a->sin_addr;
        nb = sizeof a->sin_addr;
        port = ntohs(a->sin_port);
    } else {
        const struct sockaddr_in6 *a = (const void *)sa;
        b = (const unsigned char *)&a->sin6_addr;
        nb = sizeof a->sin6_addr;
        port = ntohs(a->sin6_port);
        scope = a->sin6_scope_id;
    }
    int o = snprintf(buf, len, "%d/%u/%u/", sa->sa_family, port, scope);
    size_t n = o > 0 ? (size_t)o : 0;
    for (size_t i = 0; i < nb && n + 3 <= len; i++) {
        static const char hex[] = "0123456789abcdef";
        buf[n++] = hex[b[i] >> 4];
        buf[n++] = hex[b[i] & 15];
    }
    buf[n] = '\0';
    return n;
}

#define KEY_MAX (RLIST_FIELD_MAX + sizeof RLIST_AUTH_PREFIX + 64)

/* Adds the i-th server of the list; 0 or DP_ENOMEM. A key already there
 * keeps its first server. */
static int dup_add(struct dup_index *x, const struct rlist_server *s, size_t i)
{
    char k[KEY_MAX];
    if (keys_add(&x->names, k, name_key(s->name, k, sizeof k), i) != 0)
        return DP_ENOMEM;
    return keys_add(&x->addrs, k, addr_key((const struct sockaddr *)&s->sa, k, sizeof k), i);
}

static void dup_deinit(struct dup_index *x)
{
    keys_deinit(&x->names);
    keys_deinit(&x->addrs);
}

/* The index of every server in l; 0 or DP_ENOMEM. */
static int dup_init(struct dup_index *x, const struct rlist *l)
{
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < l->n; i++)
        if (dup_add(x, &l->v[i], i) != 0)
            return DP_ENOMEM;
    return 0;
}

/* The list index of the first server of that name (without case), or -1. */
static long dup_find_name(const struct dup_index *x, const char *name)
{
    char k[KEY_MAX];
    return keys_find(&x->names, k, name_key(name, k, sizeof k));
}

/* The list index of the first server at that address, or -1. */
static long dup_find_address(const struct dup_index *x, const struct sockaddr *sa)
{
    char k[KEY_MAX];
    return keys_find(&x->addrs, k, addr_key(sa, k, sizeof k));
}

/* ---- CSV list files ---- */

/* What libcsv hands back for one line. Field texts are copied (the line is at
 * most RLIST_LINE_MAX bytes, so no field is longer). */
struct row {
    size_t nfields, nrecords;
    char field[FIELDS][RLIST_LINE_MAX + 1];
};

static void on_field(void *s, size_t len, void *data)
{
    struct row *r = data;
    if (r->nfields < FIELDS) {
        if (len > RLIST_LINE_MAX)
            len = RLIST_LINE_MAX;
        if (len > 0)
            memcpy(r->field[r->nfields], s, len);
        r->field[r->nfields][len] = '\0';
    }
    r->nfields++;
}

static void on_record(int c, void *data)
{
    (void)c;
    ((struct row *)data)->nrecords++;
}

/* Splits one line (no line end, no NUL) into fields. Returns 0, DP_EINPUT for
 * bad quoting, or DP_ENOMEM. */
static int parse_line(const char *s, size_t n, struct row *r)
{
    struct csv_parser p;
    int rc = 0;
    r->nfields = r->nrecords = 0;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return DP_ENOMEM;
    if (csv_parse(&p, s, n, on_field, on_record, r) != n ||
        csv_fini(&p, on_field, on_record, r) != 0)
        rc = csv_error(&p) == CSV_ENOMEM ? DP_ENOMEM : DP_EINPUT;
    csv_free(&p);
    /* a record separator inside the line (a lone CR) would make two records */
    if (rc == 0 && r->nrecords != 1)
        rc = DP_EINPUT;
    return rc;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

int rlist_load_csv(struct rlist *l, const char *label, const char *data, size_t len,
                   bool authoritative, FILE *warn, char *err, size_t errlen)
{
    char lab[QUOTE_BUF], q[QUOTE_BUF];
    size_t n0 = l->n, lineno = 0, pos = 0;
    size_t *lines = NULL; /* owned: line of each server added here, by index - n0 */
    size_t caplines = 0;
    bool have_header = false;
    struct row *r = malloc(sizeof *r);
    struct dup_index dups;
    int rc = dup_init(&dups, l);

    quote(label, strlen(label), lab);
    if (r == NULL || rc != 0) {
        rc = DP_ENOMEM;
        dp_errf(err, errlen, "%s: %s", lab, dp_strerror(rc));
        goto out;
    }
    /* a UTF-8 byte order mark, as spreadsheets write it */
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > RLIST_LINE_MAX) {
            dp_errf(err, errlen, "%s:%zu: line longer than %d bytes", lab, lineno, RLIST_LINE_MAX);
            rc = DP_EINPUT;
            goto out;
        }
        if (memchr(line, '\0', n) != NULL) {
            dp_errf(err, errlen, "%s:%zu: NUL byte in line: '%s'", lab, lineno, quote(line, n, q));
            rc = DP_EINPUT;
            goto out;
        }
        if ((n > 0 && line[0] == '#') || blank(line, n))
            continue;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                dp_errf(err, errlen, "%s:%zu: control character in line: '%s'", lab, lineno,
                        quote(line, n, q));
                rc = DP_EINPUT;
                goto out;
            }
        }
        rc = parse_line(line, n, r);
        if (rc != 0) {
            if (rc == DP_EINPUT)
                dp_errf(err, errlen, "%s:%zu: bad CSV quoting: '%s'", lab, lineno,
                        quote(line, n, q));
            else
                dp_errf(err, errlen, "%s:%zu: %s", lab, lineno, dp_strerror(rc));
            goto out;
        }
        if (!have_header) {
            if (r->nfields != FIELDS) {
                dp_errf(err, errlen, "%s:%zu: header has %zu columns, expected '%s': '%s'", lab,
                        lineno, r->nfields, RLIST_HEADER, quote(line, n, q));
                rc = DP_EINPUT;
                goto out;
            }
            for (int i = 0; i < FIELDS; i++) {
                if (strcmp(r->field[i], field_names[i]) != 0) {
                    dp_errf(err, errlen,
                            "%s:%zu: header column %d is '%s', expected '%s' (header: %s)", lab,
                            lineno, i + 1, quote(r->field[i], strlen(r->field[i]), q),
                            field_names[i], RLIST_HEADER);
                    rc = DP_EINPUT;
                    goto out;
                }
            }
            have_header = true;
            continue;
        }
        if (r->nfields != FIELDS) {
            dp_errf(err, errlen, "%s:%zu: %zu fields, expected 4 (%s): '%s'", lab, lineno,
                    r->nfields, RLIST_HEADER, quote(line, n, q));
            rc = DP_EINPUT;
            goto out;
        }
        struct entry e;
        char why[RLIST_ERRLEN];
        rc = check_entry(r->field[0], r->field[1], r->field[2], r->field[3], authoritative, &e, why,
                         sizeof why);
        if (rc != 0) {
            dp_errf(err, errlen, "%s:%zu: %s", lab, lineno, why);
            goto out;
        }
        long dup = dup_find_name(&dups, e.name);
        if (dup >= 0) {
            if ((size_t)dup >= n0)
                dp_errf(err, errlen, "%s:%zu: duplicate name '%s' (first at line %zu)", lab, lineno,
                        quote(e.name, strlen(e.name), q), lines[(size_t)dup - n0]);
            else
                dp_errf(err, errlen, "%s:%zu: duplicate name '%s' (already in the list)", lab,
                        lineno, quote(e.name, strlen(e.name), q));
            rc = DP_EINPUT;
            goto out;
        }
        dup = dup_find_address(&dups, (const struct sockaddr *)&e.sa);
        if (dup >= 0 && warn != NULL) {
            if ((size_t)dup >= n0)
                fprintf(warn, "%s:%zu: warning: duplicate address '%s' (first at line %zu)\n", lab,
                        lineno, l->v[dup].address, lines[(size_t)dup - n0]);
            else
                fprintf(warn, "%s:%zu: warning: duplicate address '%s' (already in the list)\n",
                        lab, lineno, l->v[dup].address);
        }
        if (l->n >= RLIST_MAX_SERVERS) {
            dp_errf(err, errlen, "%s:%zu: more than %d servers", lab, lineno, RLIST_MAX_SERVERS);
            rc = DP_EINPUT;
            goto out;
        }
        size_t k = l->n - n0;
        if (dp_grow((void **)&lines, &caplines, k, sizeof *lines) != 0) {
            rc = DP_ENOMEM;
            dp_errf(err, errlen, "%s:%zu: %s", lab, lineno, dp_strerror(rc));
            goto out;
        }
        lines[k] = lineno;
        rc = insert(l, &e, r->field[2], r->field[3], authoritative);
        if (rc == 0)
            rc = dup_add(&dups, &l->v[l->n - 1], l->n - 1);
        if (rc != 0) {
            dp_errf(err, errlen, "%s:%zu: %s", lab, lineno, dp_strerror(rc));
            goto out;
        }
    }
    if (!have_header) {
        dp_errf(err, errlen, "%s: no header line (expected '%s')", lab, RLIST_HEADER);
        rc = DP_EINPUT;
    } else if (l->n == n0) {
        dp_errf(err, errlen, "%s: the list holds no server", lab);
        rc = DP_EINPUT;
    }
out:
    if (rc != 0)
        truncate_list(l, n0);
    dup_deinit(&dups);
    free(lines);
    free(r);
    return rc;
}

int rlist_load_file(struct rlist *l, const char *path, bool authoritative, FILE *warn, char *err,
                    size_t errlen)
{
    char q[QUOTE_BUF];
    char *buf = NULL; /* owned */
    size_t len = 0;
    struct stat st;
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    quote(path, strlen(path), q);
    if (fd < 0) {
        dp_errf(err, errlen, "%s: cannot open: %s", q, strerror(errno));
        return DP_EINPUT;
    }
    if (fstat(fd, &st) != 0) {
        dp_errf(err, errlen, "%s: cannot read: %s", q, strerror(errno));
        rc = DP_EINPUT;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        dp_errf(err, errlen, "%s: cannot read: is a directory", q);
        rc = DP_EINPUT;
        goto out;
    }
    if ((rc = dp_read_all(fd, q, RLIST_FILE_MAX, &buf, &len, err, errlen)) != 0)
        goto out;
    rc = rlist_load_csv(l, path, buf, len, authoritative, warn, err, errlen);
out:
    free(buf);
    close(fd);
    return rc;
}

/* ---- comma lists ---- */

int rlist_load_list(struct rlist *l, const char *spec, bool authoritative, FILE *warn, char *err,
                    size_t errlen)
{
    const char *opt = authoritative ? "--authority" : "--resolvers";
    char qs[QUOTE_BUF], qi[QUOTE_BUF];
    size_t n0 = l->n, item = 0;
    int rc = 0;
    quote(spec, strlen(spec), qs);
    if (*spec == '\0') {
        dp_errf(err, errlen, "%s '': empty server list", opt);
        return DP_EINPUT;
    }
    for (const char *p = spec;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        item++;
        while (n > 0 && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0) {
            dp_errf(err, errlen, "%s '%s': item %zu is empty", opt, qs, item);
            rc = DP_EINPUT;
            goto out;
        }
        if (n > RLIST_FIELD_MAX) {
            dp_errf(err, errlen, "%s '%s': item %zu is longer than %d bytes", opt, qs, item,
                    RLIST_FIELD_MAX);
            rc = DP_EINPUT;
            goto out;
        }
        char text[RLIST_FIELD_MAX + 1], name[RLIST_ADDRSTRLEN];
        struct sockaddr_storage sa;
        socklen_t salen;
        const char *why;
        memcpy(text, s, n);
        text[n] = '\0';
        if (rlist_parse_address(text, 53, &sa, &salen, &why) != 0) {
            /* one item that is no address was most likely meant as a file */
            if (item == 1 && comma == NULL)
                dp_errf(err, errlen, "%s '%s': no such file, and not a server address (%s)", opt,
                        qs, why);
            else
                dp_errf(err, errlen, "%s '%s': item %zu '%s': %s", opt, qs, item,
                        quote(text, n, qi), why);
            rc = DP_EINPUT;
            goto out;
        }
        if (rlist_find_address(l, (const struct sockaddr *)&sa) >= 0) {
            if (warn != NULL)
                fprintf(warn, "%s '%s': warning: duplicate address '%s' (item %zu), asked once\n",
                        opt, qs, rlist_format_address((struct sockaddr *)&sa, name, sizeof name),
                        item);
        } else {
            rlist_format_address((struct sockaddr *)&sa, name, sizeof name);
            char why2[RLIST_ERRLEN];
            rc = rlist_add(l, name, name, "", "", authoritative, why2, sizeof why2);
            if (rc != 0) {
                dp_errf(err, errlen, "%s '%s': item %zu: %s", opt, qs, item, why2);
                goto out;
            }
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
out:
    if (rc != 0)
        truncate_list(l, n0);
    return rc;
}

int rlist_load_spec(struct rlist *l, const char *spec, bool authoritative, FILE *warn, char *err,
                    size_t errlen)
{
    struct stat st;
    if (spec == NULL || *spec == '\0') {
        dp_errf(err, errlen, "%s '': empty server list",
                authoritative ? "--authority" : "--resolvers");
        return DP_EINPUT;
    }
    if (authoritative && strcmp(spec, "none") == 0)
        return 0;
    if (strchr(spec, '/') != NULL || stat(spec, &st) == 0)
        return rlist_load_file(l, spec, authoritative, warn, err, errlen);
    return rlist_load_list(l, spec, authoritative, warn, err, errlen);
}

int rlist_load_public(struct rlist *l, char *err, size_t errlen)
{
    return rlist_load_csv(l, "resolvers/public.csv", rlist_public_csv, rlist_public_csv_len, false,
                          NULL, err, errlen);
}

/* ---- output ---- */

/* One field, RFC 4180: quoted when it holds a comma, quote, CR or LF; a
 * leading ' when a spreadsheet would take it for a formula. */
static void put_field(const char *s, FILE *f)
{
    bool guard =
        s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    bool quoted = strpbrk(s, ",\"\r\n") != NULL;
    if (quoted)
        fputc('"', f);
    if (guard)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    if (quoted)
        fputc('"', f);
}

int rlist_write_csv(const struct rlist *l, FILE *f)
{
    fputs(RLIST_HEADER "\r\n", f);
    for (size_t i = 0; i < l->n; i++) {
        const struct rlist_server *s = &l->v[i];
        put_field(s->name, f);
        fputc(',', f);
        put_field(s->address, f);
        fputc(',', f);
        put_field(s->operator_, f);
        fputc(',', f);
        put_field(s->country, f);
        fputs("\r\n", f);
    }
    return ferror(f) ? DP_EIO : 0;
}
