/* Unit tests for resolver lists (resolvers/rlist_file.c): list files good and
 * bad, comma lists, SPEC detection, CSV output, and the built-in list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "resolvers.h"

/* A scratch folder for the files these tests write, removed at the end. */
static char scratch[256];

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/dnsprop-rlist.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(scratch) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int load_str(struct rlist *l, const char *text, FILE *warn, char *err)
{
    return rlist_load_csv(l, "t.csv", text, strlen(text), false, warn, err, RLIST_ERRLEN);
}

static void test_good_file(void **state)
{
    (void)state;
    /* BOM, comments, blank lines, CRLF and LF mixed, quoted fields, ports, spaces */
    static const char text[] = "\xef\xbb\xbf# a comment\r\n"
                               "\r\n"
                               "name,address,operator,country\r\n"
                               "# another, with \"quotes\"\n"
                               "   \n"
                               "google-a,8.8.8.8,Google,US\r\n"
                               "\"local\",\"127.0.0.1:5353\",\"Example, Inc.\",\"\"\n"
                               "v6,2001:4860:4860::8888,\"say \"\"hi\"\"\",US\n"
                               "v6-port,[::1]:5300,,\n"
                               "quad9,[2620:fe::fe:10],Quad9,CH";
    struct rlist l = {0};
    char err[RLIST_ERRLEN] = "";
    assert_int_equal(load_str(&l, text, NULL, err), 0);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0].name, "google-a");
    assert_string_equal(l.v[0].address, "8.8.8.8");
    assert_string_equal(l.v[0].operator_, "Google");
    assert_string_equal(l.v[0].country, "US");
    assert_false(l.v[0].authoritative);
    assert_string_equal(l.v[1].name, "local");
    assert_string_equal(l.v[1].address, "127.0.0.1:5353");
    assert_string_equal(l.v[1].operator_, "Example, Inc.");
    assert_string_equal(l.v[1].country, "");
    assert_string_equal(l.v[2].address, "[2001:4860:4860::8888]");
    assert_string_equal(l.v[2].operator_, "say \"hi\"");
    assert_string_equal(l.v[3].address, "[::1]:5300");
    assert_int_equal(l.v[3].sa.ss_family, AF_INET6);
    assert_string_equal(l.v[4].address, "[2620:fe::fe:10]");
    rlist_deinit(&l);
    assert_null(l.v);
}

static void test_authoritative_file(void **state)
{
    (void)state;
    static const char text[] = "name,address,operator,country\n"
                               "ns1.example.com.,192.0.2.1,,\n"
                               "auth:ns2.example.com.,192.0.2.2,,\n";
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    assert_int_equal(rlist_load_csv(&l, "a.csv", text, strlen(text), true, NULL, err, sizeof err),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].name, "auth:ns1.example.com.");
    assert_string_equal(l.v[1].name, "auth:ns2.example.com.");
    assert_true(l.v[0].authoritative);
    rlist_deinit(&l);
}

/* Each bad input: the message must name t.csv:LINE and hold the fragment. */
static void test_bad_file(void **state)
{
    (void)state;
    char longname[80], longline[1100], longop[100];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    memset(longop, 'o', 65);
    longop[65] = '\0';
    char n65[200], op65[200], ll[1200];
    snprintf(n65, sizeof n65, "name,address,operator,country\n%s,8.8.8.8,,\n", longname);
    snprintf(op65, sizeof op65, "name,address,operator,country\na,8.8.8.8,%s,\n", longop);
    memset(longline, 'x', 1050);
    longline[1050] = '\0';
    snprintf(ll, sizeof ll, "name,address,operator,country\na,8.8.8.8,%s,\n", longline);
    struct {
        const char *text, *where, *fragment;
    } cases[] = {
        {"name,address,operator,country\na,1.2.3.4:0,,\n",
         "t.csv:2:", "bad address '1.2.3.4:0': port must be 1 to 65535"},
        {"name,address,operator,country\na,1.2.3.4:65536,,\n",
         "t.csv:2:", "port must be 1 to 65535"},
        {"name,address,operator,country\n#c\na,1.2.3,,\n",
         "t.csv:3:", "bad address '1.2.3': bad IPv4 address"},
        {"name,address,operator,country\na,::1:53,,\n", "t.csv:2:", "ambiguous IPv6 address"},
        {"name,address,operator,country\na,dns.google,,\n", "t.csv:2:", "bad address 'dns.google'"},
        {"name,address,operator,country\na,[::1]:53x,,\n", "t.csv:2:", "bad address '[::1]:53x'"},
        {"name,address,operator,country\na,,,\n", "t.csv:2:", "bad address '': empty address"},
        {"name,address,operator,country\n,8.8.8.8,,\n", "t.csv:2:", "empty name"},
        {"name,address,operator,country\na,8.8.8.8,x\n", "t.csv:2:", "3 fields, expected 4"},
        {"name,address,operator,country\na,8.8.8.8,x,y,z\n", "t.csv:2:", "5 fields, expected 4"},
        {"name,address,operator,country\na,8.8.8.8\n", "t.csv:2:", "'a,8.8.8.8'"},
        {"name,address,operator,country\na,\"8.8.8.8,x,y\n", "t.csv:2:", "bad CSV quoting"},
        {"name,address,operator,country\na,\"8.8\"8.8,x,y\n", "t.csv:2:", "bad CSV quoting"},
        {"name,address,operator,country\na,8.8.8.8,\x01,\n",
         "t.csv:2:", "control character in line: 'a,8.8.8.8,\\001,'"},
        {"name,address,operator,country\na,8.8.8.8,Soci\xc3\xa9t\xc3\xa9,FR\n",
         "t.csv:2:", "operator has a control or non-ASCII byte: 'Soci\\195\\169t\\195\\169'"},
        {"name,address,operator,country\na b,8.8.8.8,,\n", "t.csv:2:", "bad name 'a b'"},
        {"name,address,operator,country\n-a,8.8.8.8,,\n", "t.csv:2:", "bad name '-a'"},
        {"name,address,operator,country\nauth:x,8.8.8.8,,\n",
         "t.csv:2:", "are for authoritative servers"},
        {"name,address,operator,country\na,8.8.8.8,,\nb,8.8.4.4,,\nA,1.1.1.1,,\n",
         "t.csv:4:", "duplicate name 'A' (first at line 2)"},
        {"name,addr,operator,country\na,8.8.8.8,,\n",
         "t.csv:1:", "header column 2 is 'addr', expected 'address'"},
        {"# c\nname,address\na,8.8.8.8,,\n", "t.csv:2:", "header has 2 columns"},
        {"address,name,operator,country\n", "t.csv:1:", "header column 1 is 'address'"},
        {"# only a comment\n\n", "t.csv:", "no header line"},
        {"", "t.csv:", "no header line"},
        {"name,address,operator,country\r\n# nothing\r\n", "t.csv:", "the list holds no server"},
        {n65, "t.csv:2:", "name longer than 64 bytes: 'aaaa"},
        {op65, "t.csv:2:", "operator longer than 64 bytes"},
        {ll, "t.csv:2:", "line longer than 1024 bytes"},
        {"name,address,operator,country\na,8.8.8.8,x\ry,\n", "t.csv:2:", "control character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rlist l = {0};
        char err[RLIST_ERRLEN] = "";
        /* the list must be left as it was: preload one server */
        assert_int_equal(rlist_add(&l, "pre", "192.0.2.9", "", "", false, err, sizeof err), 0);
        int rc = load_str(&l, cases[i].text, NULL, err);
        if (rc != DP_EINPUT)
            fail_msg("case %zu accepted (rc %d): %s", i, rc, cases[i].text);
        if (strstr(err, cases[i].where) != err || strstr(err, cases[i].fragment) == NULL)
            fail_msg("case %zu: message '%s' lacks '%s' ... '%s'", i, err, cases[i].where,
                     cases[i].fragment);
        if (strchr(err, '\n') != NULL)
            fail_msg("case %zu: message has a newline: %s", i, err);
        assert_int_equal(l.n, 1);
        rlist_deinit(&l);
    }
    /* a NUL byte cannot go through strlen: call with an explicit length */
    static const char nul[] = "name,address,operator,country\na,8.8.8.8,x\0y,\n";
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    assert_int_equal(rlist_load_csv(&l, "t.csv", nul, sizeof nul - 1, false, NULL, err, sizeof err),
                     DP_EINPUT);
    assert_non_null(strstr(err, "t.csv:2: NUL byte in line: 'a,8.8.8.8,x\\000y,'"));
    assert_int_equal(l.n, 0);
    rlist_deinit(&l);
}

static void test_file_errors(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN], path[400];

    snprintf(path, sizeof path, "%s/missing.csv", scratch);
    assert_int_equal(rlist_load_file(&l, path, false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "missing.csv: cannot open: No such file or directory"));

    assert_int_equal(rlist_load_file(&l, scratch, false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "is a directory"));

    snprintf(path, sizeof path, "%s/secret.csv", scratch);
    write_file(path, "name,address,operator,country\na,8.8.8.8,,\n", 42);
    assert_int_equal(chmod(path, 0), 0);
    if (geteuid() != 0) { /* root reads it anyway */
        assert_int_equal(rlist_load_file(&l, path, false, NULL, err, sizeof err), DP_EINPUT);
        assert_non_null(strstr(err, "secret.csv: cannot open: Permission denied"));
    }

    /* over the size cap */
    size_t big = RLIST_FILE_MAX + 1;
    char *data = malloc(big);
    assert_non_null(data);
    memset(data, '#', big);
    snprintf(path, sizeof path, "%s/big.csv", scratch);
    write_file(path, data, big);
    free(data);
    assert_int_equal(rlist_load_file(&l, path, false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "big.csv: larger than"));

    /* a good file, and a bad one naming its path and line */
    snprintf(path, sizeof path, "%s/good.csv", scratch);
    static const char good[] = "name,address,operator,country\r\na,8.8.8.8,,\r\n";
    write_file(path, good, sizeof good - 1);
    assert_int_equal(rlist_load_file(&l, path, false, NULL, err, sizeof err), 0);
    assert_int_equal(l.n, 1);
    snprintf(path, sizeof path, "%s/bad.csv", scratch);
    static const char bad[] = "name,address,operator,country\nb,8.8.4.4,,\nc,8.8.8.888,,\n";
    write_file(path, bad, sizeof bad - 1);
    assert_int_equal(rlist_load_file(&l, path, false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "bad.csv:3: bad address '8.8.8.888'"));
    assert_int_equal(l.n, 1); /* b was rolled back */
    rlist_deinit(&l);
}

static void test_duplicate_address_warns(void **state)
{
    (void)state;
    static const char text[] = "name,address,operator,country\n"
                               "a,8.8.8.8,,\n"
                               "b,8.8.8.8:53,,\n"
                               "c,[::1]:5353,,\n"
                               "d,[0:0::1]:5353,,\n"
                               "e,8.8.8.8:54,,\n";
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    assert_non_null(warn);
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    assert_int_equal(load_str(&l, text, warn, err), 0);
    assert_int_equal(fclose(warn), 0);
    assert_int_equal(l.n, 5); /* kept: a warning, not an error */
    assert_string_equal(buf,
                        "t.csv:3: warning: duplicate address '8.8.8.8' (first at line 2)\n"
                        "t.csv:5: warning: duplicate address '[::1]:5353' (first at line 4)\n");
    free(buf);
    rlist_deinit(&l);
}

/* A list of RLIST_MAX_SERVERS lines, in memory: "rNNNNN,10.0.X.Y" for
 * i = 0..n-1, then `extra` appended (a last line or two). */
static char *big_list(size_t n, const char *extra)
{
    size_t cap = 64 + n * 40 + strlen(extra);
    char *t = malloc(cap);
    assert_non_null(t);
    size_t o = (size_t)snprintf(t, cap, "name,address,operator,country\n");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(t + o, cap - o, "r%05zu,10.0.%zu.%zu,op,NL\n", i, i / 250,
                              i % 250 + 1);
    snprintf(t + o, cap - o, "%s", extra);
    return t;
}

/* The largest list there may be: every name and address checked against
 * every other (by hash), the first duplicate named with the line of the
 * first one, names without case, a second list checked against the first. */
static void test_big_list_duplicates(void **state)
{
    (void)state;
    char err[RLIST_ERRLEN];
    struct rlist l = {0};

    char *t = big_list(RLIST_MAX_SERVERS, "");
    assert_int_equal(load_str(&l, t, NULL, err), 0);
    assert_int_equal(l.n, RLIST_MAX_SERVERS);
    assert_string_equal(l.v[9999].name, "r09999");
    assert_string_equal(l.v[9999].address, "10.0.39.250");
    free(t);
    /* a second list: a name of the first, in capitals */
    assert_int_equal(load_str(&l, "name,address,operator,country\nR00042,192.0.2.1,,\n", NULL, err),
                     DP_EINPUT);
    assert_string_equal(err, "t.csv:2: duplicate name 'R00042' (already in the list)");
    assert_int_equal(l.n, RLIST_MAX_SERVERS);
    rlist_deinit(&l);

    /* the same name again at the end, in another case: line 44 held r00042 */
    t = big_list(RLIST_MAX_SERVERS - 1, "R00042,192.0.2.1,,\n");
    assert_int_equal(load_str(&l, t, NULL, err), DP_EINPUT);
    assert_string_equal(err, "t.csv:10001: duplicate name 'R00042' (first at line 44)");
    assert_int_equal(l.n, 0); /* nothing of a bad file is kept */
    free(t);
    rlist_deinit(&l);

    /* an address again at the end: a warning naming the first line */
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    assert_non_null(warn);
    t = big_list(RLIST_MAX_SERVERS - 2, "last,10.0.0.7:53,,\nv6,[2001:db8::1],,\n");
    assert_int_equal(load_str(&l, t, warn, err), 0);
    assert_int_equal(fclose(warn), 0);
    assert_int_equal(l.n, RLIST_MAX_SERVERS);
    assert_string_equal(buf,
                        "t.csv:10000: warning: duplicate address '10.0.0.7' (first at line 8)\n");
    free(buf);
    free(t);
    rlist_deinit(&l);

    /* one more than the cap */
    t = big_list(RLIST_MAX_SERVERS, "over,192.0.2.1,,\n");
    assert_int_equal(load_str(&l, t, NULL, err), DP_EINPUT);
    assert_string_equal(err, "t.csv:10002: more than 10000 servers");
    assert_int_equal(l.n, 0);
    free(t);
    rlist_deinit(&l);
}

static void test_comma_lists(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    char *buf = NULL;
    size_t len = 0;
    FILE *warn = open_memstream(&buf, &len);
    assert_non_null(warn);
    assert_int_equal(rlist_load_list(&l, "8.8.8.8, [::1]:5353 ,127.0.0.1:53,2001:db8::53,8.8.8.8",
                                     false, warn, err, sizeof err),
                     0);
    assert_int_equal(fclose(warn), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[0].name, "8.8.8.8");
    assert_string_equal(l.v[1].name, "[::1]:5353");
    assert_string_equal(l.v[1].address, "[::1]:5353");
    assert_string_equal(l.v[2].name, "127.0.0.1");
    assert_string_equal(l.v[3].name, "[2001:db8::53]");
    assert_non_null(strstr(buf, "--resolvers '8.8.8.8, [::1]:5353 ,127.0.0.1:53,2001:db8::53,"
                                "8.8.8.8': warning: duplicate address '8.8.8.8' (item 5)"));
    free(buf);
    rlist_deinit(&l);

    assert_int_equal(
        rlist_load_list(&l, "192.0.2.1,[2001:db8::1]:5300", true, NULL, err, sizeof err), 0);
    assert_string_equal(l.v[0].name, "auth:192.0.2.1");
    assert_string_equal(l.v[1].name, "auth:[2001:db8::1]:5300");
    assert_true(l.v[1].authoritative);
    rlist_deinit(&l);

    static struct {
        const char *spec, *fragment;
        bool auth;
    } bad[] = {
        {"", "--resolvers '': empty server list", false},
        {"8.8.8.8,", "--resolvers '8.8.8.8,': item 2 is empty", false},
        {",8.8.8.8", "item 1 is empty", false},
        {"8.8.8.8,,1.1.1.1", "item 2 is empty", false},
        {"1.2.3", "--resolvers '1.2.3': no such file, and not a server address (bad IPv4", false},
        {"8.8.8.8,::1:53", "item 2 '::1:53': ambiguous IPv6 address", false},
        {"8.8.8.8,1.2.3.4:0", "item 2 '1.2.3.4:0': port must be 1 to 65535", false},
        {"8.8.8.8,1.2.3.4:99999", "port must be 1 to 65535", false},
        {"8.8.8.8,[::1", "--authority '8.8.8.8,[::1': item 2 '[::1': missing ']'", true},
        {"8.8.8.8,\x1b[31m", "item 2 '\\027[31m'", false},
        {"8.8.8.8,1111111111111111111111111111111111111111111111111111111111111111111",
         "item 2 is longer than 64 bytes", false},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (rlist_load_list(&l, bad[i].spec, bad[i].auth, NULL, err, sizeof err) != DP_EINPUT)
            fail_msg("'%s' accepted", bad[i].spec);
        if (strstr(err, bad[i].fragment) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].spec, err, bad[i].fragment);
        assert_int_equal(l.n, 0);
    }
    rlist_deinit(&l); /* a rolled-back list may keep its array */
}

static void test_spec(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN], path[400], cwd[400];
    static const char text[] = "name,address,operator,country\nx,192.0.2.7,,\n";
    snprintf(path, sizeof path, "%s/list.csv", scratch);
    write_file(path, text, sizeof text - 1);

    /* contains '/': a file */
    assert_int_equal(rlist_load_spec(&l, path, false, NULL, err, sizeof err), 0);
    assert_string_equal(l.v[0].name, "x");
    rlist_deinit(&l);
    /* '/' forces a file even when missing */
    assert_int_equal(rlist_load_spec(&l, "./8.8.8.8", false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "./8.8.8.8: cannot open"));
    /* no '/', but an existing file: a file */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(scratch), 0);
    assert_int_equal(rlist_load_spec(&l, "list.csv", false, NULL, err, sizeof err), 0);
    assert_int_equal(l.n, 1);
    rlist_deinit(&l);
    /* no '/', nothing of that name: a comma list */
    assert_int_equal(rlist_load_spec(&l, "192.0.2.8,192.0.2.9", false, NULL, err, sizeof err), 0);
    assert_int_equal(l.n, 2);
    rlist_deinit(&l);
    assert_int_equal(chdir(cwd), 0);
    /* "none" skips the authoritative servers; for resolvers it is no address */
    assert_int_equal(rlist_load_spec(&l, "none", true, NULL, err, sizeof err), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(rlist_load_spec(&l, "none", false, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "--resolvers 'none': no such file"));
    assert_int_equal(rlist_load_spec(&l, "", false, NULL, err, sizeof err), DP_EINPUT);
    assert_int_equal(rlist_load_spec(&l, NULL, true, NULL, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "--authority"));
    rlist_deinit(&l);
}

static void test_add(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    assert_int_equal(rlist_add(&l, "g", "8.8.8.8", "Google", "US", false, err, sizeof err), 0);
    assert_int_equal(rlist_add(&l, "G", "8.8.4.4", NULL, NULL, false, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "duplicate name 'G'"));
    assert_int_equal(rlist_add(&l, "h", "8.8.8.888", NULL, NULL, false, err, sizeof err),
                     DP_EINPUT);
    assert_non_null(strstr(err, "bad address '8.8.8.888'"));
    assert_int_equal(
        rlist_add(&l, "ns1.example.com.", "192.0.2.1", NULL, NULL, true, err, sizeof err), 0);
    assert_string_equal(l.v[1].name, "auth:ns1.example.com.");
    assert_string_equal(l.v[1].operator_, "");
    assert_int_equal(rlist_find_name(&l, "AUTH:ns1.example.com."), 1);
    assert_int_equal(rlist_find_address(&l, (struct sockaddr *)&l.v[0].sa), 0);
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *why;
    assert_int_equal(rlist_parse_address("8.8.8.8:5353", 53, &sa, &salen, &why), 0);
    assert_int_equal(rlist_find_address(&l, (struct sockaddr *)&sa), -1);
    rlist_deinit(&l);
}

static void test_write_csv(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN];
    assert_int_equal(rlist_add(&l, "a", "8.8.8.8", "Example, Inc.", "US", false, err, sizeof err),
                     0);
    assert_int_equal(rlist_add(&l, "b", "[::1]:5353", "say \"hi\"", "", false, err, sizeof err), 0);
    assert_int_equal(
        rlist_add(&l, "c", "2001:db8::1", "=cmd|' /C calc'!A0", "@x", false, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(rlist_write_csv(&l, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_string_equal(buf, "name,address,operator,country\r\n"
                             "a,8.8.8.8,\"Example, Inc.\",US\r\n"
                             "b,[::1]:5353,\"say \"\"hi\"\"\",\r\n"
                             "c,[2001:db8::1],'=cmd|' /C calc'!A0,'@x\r\n");
    free(buf);
    rlist_deinit(&l);
}

/* The built-in list: parses with the same code and holds what PRODUCT.md
 * section 5 promises. */
static void test_public_list(void **state)
{
    (void)state;
    struct rlist l = {0};
    char err[RLIST_ERRLEN] = "";
    if (rlist_load_public(&l, err, sizeof err) != 0)
        fail_msg("built-in list refused: %s", err);
    assert_true(l.n >= 20);

    /* distinct operators */
    size_t ops = 0;
    for (size_t i = 0; i < l.n; i++) {
        size_t j = 0;
        while (j < i && strcmp(l.v[j].operator_, l.v[i].operator_) != 0)
            j++;
        ops += j == i;
    }
    assert_true(ops >= 12);

    bool v4 = false, v6 = false;
    for (size_t i = 0; i < l.n; i++) {
        const struct rlist_server *s = &l.v[i];
        v4 |= s->sa.ss_family == AF_INET;
        v6 |= s->sa.ss_family == AF_INET6;
        assert_false(s->authoritative);
        assert_true(strlen(s->operator_) > 0);
        assert_int_equal(strlen(s->country), 2);
        for (const char *p = s->name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                fail_msg("name '%s' is not short lowercase", s->name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(l.v[j].name, s->name) == 0)
                fail_msg("name '%s' twice", s->name);
            if (strcmp(l.v[j].address, s->address) == 0)
                fail_msg("address '%s' twice", s->address);
        }
        /* nothing filtering or discontinued */
        if (strcmp(s->address, "94.140.14.14") == 0 || strcmp(s->address, "94.140.15.15") == 0)
            fail_msg("AdGuard's filtering resolver %s", s->address);
        if (strcmp(s->address, "9.9.9.9") == 0)
            fail_msg("Quad9's filtering resolver");
        if (strstr(s->operator_, "Mullvad") || strstr(s->operator_, "Norton") ||
            strstr(s->name, "mullvad") || strstr(s->name, "norton"))
            fail_msg("discontinued service %s", s->name);
        /* Norton ConnectSafe's 199.85.126.0/23 */
        if (strncmp(s->address, "199.85.126.", 11) == 0 ||
            strncmp(s->address, "199.85.127.", 11) == 0)
            fail_msg("Norton ConnectSafe address %s", s->address);
        /* every built-in server is asked on port 53 */
        const struct sockaddr_in *in = (const struct sockaddr_in *)&s->sa;
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&s->sa;
        assert_int_equal(ntohs(s->sa.ss_family == AF_INET ? in->sin_port : in6->sin6_port), 53);
    }
    assert_true(v4);
    assert_true(v6);

    /* the embedded copy is byte for byte resolvers/public.csv */
    const char *src = getenv("DNSPROP_SRC");
    if (src != NULL) {
        char path[400];
        snprintf(path, sizeof path, "%s/resolvers/public.csv", src);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char *buf = malloc(rlist_public_csv_len + 2);
        assert_non_null(buf);
        size_t got = fread(buf, 1, rlist_public_csv_len + 1, f);
        fclose(f);
        assert_int_equal(got, rlist_public_csv_len);
        assert_memory_equal(buf, rlist_public_csv, got);
        free(buf);
    }
    rlist_deinit(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_authoritative_file),
        cmocka_unit_test(test_bad_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_duplicate_address_warns),
        cmocka_unit_test(test_big_list_duplicates),
        cmocka_unit_test(test_comma_lists),
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_write_csv),
        cmocka_unit_test(test_public_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
