/* Logs written by the released version (tests/data/v0.1-folder-*, made by
 * dnsprop 9ddf6a3 against the loopback lab; see tests/data/README.md) are
 * read field by field exactly as written: every row of each fixture log,
 * read by obslog_read and written again in the 17 columns of its own form,
 * gives back the fixture's line byte for byte; in the current 19 columns it
 * is that line with two empty fields (site, ede) at the end. The rows the
 * fixtures were made to hold are checked by value too: every status the old
 * version wrote, the formula prefix undone, quoted TXT data with commas and
 * quotes, the \DDD escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "reports.h"

#include "scratch.h"

/* the fixture log, whole, and where each of its lines starts */
struct fixture {
    char *text; /* owned */
    size_t len;
    size_t *start; /* owned: start[i] is the offset of line i + 1 */
    size_t nlines;
    /* what the reading saw */
    unsigned rows;
    unsigned status[OBS_STATUS_COUNT];
    bool formula, quoted, escaped, at_vantage;
};

static void load(struct fixture *fx, const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    fx->text = malloc((size_t)n + 1);
    assert_non_null(fx->text);
    assert_int_equal(fread(fx->text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    fx->len = (size_t)n;
    fx->text[n] = '\0';
    fx->start = calloc(fx->len + 1, sizeof *fx->start);
    assert_non_null(fx->start);
    fx->nlines = 0;
    for (size_t i = 0; i < fx->len; i++)
        if (i == 0 || fx->text[i - 1] == '\n')
            fx->start[fx->nlines++] = i;
    /* every line of a log written by dnsprop ends in CRLF */
    assert_int_equal(fx->text[fx->len - 1], '\n');
    fx->start[fx->nlines] = fx->len;
}

static int on_row(const struct obs *o, unsigned line, void *arg)
{
    struct fixture *fx = arg;
    struct csvw w;
    assert_true(line >= 2 && line <= fx->nlines);
    const char *want = fx->text + fx->start[line - 1];
    size_t wlen = fx->start[line] - fx->start[line - 1];

    csvw_init(&w);
    obs_write_row_cols(&w, o, OBS_NCOLUMNS_V1);
    assert_int_equal(csvw_error(&w), 0);
    if (w.len != wlen || memcmp(w.buf, want, wlen) != 0)
        fail_msg("line %u reads back as\n%.*s\nnot as written:\n%.*s", line, (int)w.len, w.buf,
                 (int)wlen, want);
    csvw_clear(&w);
    obs_write_row_cols(&w, o, OBS_NCOLUMNS);
    assert_int_equal(w.len, wlen + 2);
    assert_memory_equal(w.buf, want, wlen - 2);
    assert_memory_equal(w.buf + wlen - 2, ",,\r\n", 4);
    csvw_deinit(&w);

    assert_string_equal(o->site, "");
    assert_string_equal(o->ede, "");
    assert_true(o->status < OBS_STATUS_COUNT);
    fx->status[o->status]++;
    if (strcmp(o->answer, "=x.fabrikam.test.") == 0)
        fx->formula = true; /* written '=x.fabrikam.test. */
    if (strstr(o->answer, "\"hello, world\" \"say \\\"hi\\\"\"") != NULL)
        fx->quoted = true;
    if (strstr(o->answer, "\"caf\\233\"") != NULL)
        fx->escaped = true;
    if (strcmp(o->vantage, "@lab") == 0)
        fx->at_vantage = true; /* written '@lab */
    fx->rows++;
    return 0;
}

static void read_fixture(const char *name, struct fixture *fx)
{
    const char *src = getenv("DNSPROP_SRC");
    char path[1024], err[512] = "";
    if (src == NULL)
        fail_msg("DNSPROP_SRC is not set (ctest sets it)");
    snprintf(path, sizeof path, "%s/tests/data/%s/observations.csv", src, name);
    load(fx, path);
    assert_true(fx->len > strlen(OBS_HEADER_V1) + 2);
    assert_memory_equal(fx->text, OBS_HEADER_V1 "\r\n", strlen(OBS_HEADER_V1) + 2);
    int rc = obslog_read(path, on_row, fx, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %d %s", path, rc, err);
    /* every line after the header was one row */
    assert_int_equal(fx->rows, fx->nlines - 1);
}

static void free_fixture(struct fixture *fx)
{
    free(fx->text);
    free(fx->start);
}

static void test_move_folder(void **state)
{
    (void)state;
    struct fixture fx = {0};
    read_fixture("v0.1-folder-move", &fx);
    /* what the folder was made to hold */
    assert_true(fx.status[OBS_OK] > 0);
    assert_true(fx.status[OBS_NXDOMAIN] > 0);
    assert_true(fx.status[OBS_NODATA] > 0);
    assert_true(fx.status[OBS_SERVFAIL] > 0);
    assert_true(fx.status[OBS_TIMEOUT] > 0);
    assert_true(fx.formula);
    assert_true(fx.quoted);
    assert_true(fx.escaped);
    free_fixture(&fx);
}

static void test_watch_folder(void **state)
{
    (void)state;
    struct fixture fx = {0};
    read_fixture("v0.1-folder-watch", &fx);
    assert_true(fx.status[OBS_OK] > 0);
    assert_true(fx.status[OBS_NODATA] > 0);
    assert_true(fx.at_vantage);
    free_fixture(&fx);
}

static void test_upgrade_insecure_dir(void **state)
{
    (void)state;
    struct fixture fx = {0};
    const char *src = getenv("DNSPROP_SRC");
    char path[1024], err[512] = "";
    bool done = true;
    uint64_t rows = 0;
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/tests/data/v0.1-folder-watch/observations.csv", src);
    load(&fx, path);
    FILE *f = fopen(path_of("observations.csv"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(fx.text, 1, fx.len, f), fx.len);
    fclose(f);
    assert_int_equal(chmod(dir, 0777), 0);

    /* refused without the flag, the log as it was */
    assert_int_equal(obslog_upgrade_flags(dir, 0, 1000, &done, &rows, err, sizeof err), DP_EUNSAFE);
    assert_false(done);
    assert_non_null(strstr(err, "--insecure-dir"));
    size_t len;
    char *text = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(len, fx.len);
    assert_memory_equal(text, fx.text, len);
    free(text);

    /* accepted with it (one warning on stderr), every line kept */
    assert_int_equal(
        obslog_upgrade_flags(dir, OBSLOG_INSECURE_DIR, 1000, &done, &rows, err, sizeof err), 0);
    assert_true(done);
    assert_int_equal(rows, fx.nlines - 1);
    text = slurp_path(path_of("observations.csv"), &len);
    assert_int_equal(len, fx.len + strlen(",site,ede") + 2 * (fx.nlines - 1));
    assert_memory_equal(text, OBS_HEADER "\r\n", strlen(OBS_HEADER) + 2);
    free(text);
    free_fixture(&fx);
}

static void put_file(const char *name, const char *data, size_t len)
{
    FILE *f = fopen(path_of(name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void expect_file(const char *name, const char *want)
{
    size_t len;
    char *text = slurp_path(path_of(name), &len);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void refresh_with(const struct report_settings *s, size_t ns)
{
    struct obslog *l = NULL;
    struct report_outcome out;
    char err[512] = "";
    if (obslog_open(dir, 1000, OBSLOG_QUIET, &l, err, sizeof err) != 0)
        fail_msg("obslog_open: %s", err);
    if (report_refresh(l, s, ns, NULL, &out, err, sizeof err) != 0)
        fail_msg("report_refresh: %s", err);
    obslog_close(l);
}

static void test_old_settings_kept_old(void **state)
{
    (void)state;
    struct fixture fx = {0};
    const char *src = getenv("DNSPROP_SRC");
    char path[1024];
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/tests/data/v0.1-folder-move/observations.csv", src);
    load(&fx, path);
    put_file("observations.csv", fx.text, fx.len);
    static const char old[] = "domain,profile,single_mx,window,since_utc\r\n"
                              "contoso.test,,no,259200,\r\n"
                              "fabrikam.test,m365,yes,259200,\r\n";
    put_file("settings.csv", old, sizeof old - 1);

    /* a run with the same settings: the file as it was */
    struct report_settings s[2] = {{"contoso.test", NULL, false, 0, -1, 0},
                                   {"fabrikam.test", "m365", true, 0, -1, 0}};
    refresh_with(s, 2);
    expect_file("settings.csv", old);
    /* other values, still nothing the old form cannot hold */
    s[0].window_s = 7200;
    s[0].since = 1795996800; /* 2026-11-30 00:00:00 */
    refresh_with(s, 1);
    expect_file("settings.csv", "domain,profile,single_mx,window,since_utc\r\n"
                                "contoso.test,,no,7200,2026-11-30 00:00:00\r\n"
                                "fabrikam.test,m365,yes,259200,\r\n");
    /* an old TTL to keep: the new form, every value kept */
    s[1].old_ttl_s = 600;
    refresh_with(&s[1], 1);
    static const char now[] = "domain,profile,single_mx,window,since_utc,old_ttl\r\n"
                              "contoso.test,,no,7200,2026-11-30 00:00:00,\r\n"
                              "fabrikam.test,m365,yes,259200,,600\r\n";
    expect_file("settings.csv", now);
    /* and it stays in that form */
    s[1].old_ttl_s = 0;
    refresh_with(s, 2);
    expect_file("settings.csv", "domain,profile,single_mx,window,since_utc,old_ttl\r\n"
                                "contoso.test,,no,7200,2026-11-30 00:00:00,\r\n"
                                "fabrikam.test,m365,yes,259200,,600\r\n");
    free_fixture(&fx);
}

static void test_killed_upgrade_swept(void **state)
{
    (void)state;
    static const char log[] = OBS_HEADER_V1 "\r\n";
    struct obslog *l = NULL;
    struct stat st;
    char err[512] = "";
    put_file("observations.csv", log, sizeof log - 1);
    put_file(".observations.csv.upgrade.Ab3xYz", log, 10); /* half a copy */
    put_file(".observations.csv.upgraded", log, 10);       /* not one of its names */
    assert_int_equal(obslog_open(dir, 1000, OBSLOG_QUIET, &l, err, sizeof err), 0);
    obslog_close(l);
    assert_int_equal(stat(path_of(".observations.csv.upgrade.Ab3xYz"), &st), -1);
    assert_int_equal(stat(path_of(".observations.csv.upgraded"), &st), 0);
    expect_file("observations.csv", log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_folder),
        cmocka_unit_test(test_watch_folder),
        cmocka_unit_test_setup_teardown(test_upgrade_insecure_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_settings_kept_old, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_upgrade_swept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
