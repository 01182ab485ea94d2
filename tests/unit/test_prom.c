/* Unit tests for the Prometheus text (reports/prom.c) and the resolv.conf
 * reader (resolvers/rlist_resolv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "reports.h"
#include "resolvers.h"

static struct report_summary row(char *domain, char *check)
{
    struct report_summary r = {
        .domain = domain,
        .check = check,
        .servers = 20,
        .converged = 17,
        .stale = 2,
        .errors = 1,
        .overdue = 1,
        .eta = 1796000000,
        .deadline = 1795900000,
        .window_end = 1796200000,
        .last_round = 1795990000,
        .status = "propagating",
        .exit_status = 1,
    };
    return r;
}

static void test_text(void **state)
{
    (void)state;
    struct report_summary rows[2] = {row("contoso.com", "mx"), row("contoso.com", "spf")};
    rows[1].stale = 0;
    rows[1].eta = -1;
    rows[1].deadline = -1;
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(report_prometheus_text(rows, 2, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "# TYPE dnsprop_converged gauge\n"));
    assert_non_null(strstr(text, "dnsprop_resolvers{domain=\"contoso.com\",check=\"mx\"} 20\n"));
    assert_non_null(strstr(text, "dnsprop_converged{domain=\"contoso.com\",check=\"mx\"} 17\n"));
    assert_non_null(strstr(
        text, "dnsprop_eta_timestamp_seconds{domain=\"contoso.com\",check=\"mx\"} 1796000000\n"));
    /* no ETA when nothing is stale: the sample is absent, not 0 */
    assert_null(
        strstr(text, "dnsprop_eta_timestamp_seconds{domain=\"contoso.com\",check=\"spf\"}"));
    assert_non_null(strstr(text, "dnsprop_status{domain=\"contoso.com\",check=\"spf\"} 1\n"));
    assert_non_null(strstr(text, "dnsprop_overdue{domain=\"contoso.com\",check=\"mx\"} 1\n"));
    assert_non_null(strstr(
        text,
        "dnsprop_deadline_timestamp_seconds{domain=\"contoso.com\",check=\"mx\"} 1795900000\n"));
    assert_null(
        strstr(text, "dnsprop_deadline_timestamp_seconds{domain=\"contoso.com\",check=\"spf\"}"));
    free(text);
}

static void test_escape(void **state)
{
    (void)state;
    /* a domain cannot hold these, but the text must stay valid if one did */
    struct report_summary r = row("a\"b\\c\nd\x01\xc3.example", "mx");
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(report_prometheus_text(&r, 1, &text, &len), 0);
    assert_non_null(strstr(
        text, "dnsprop_stale{domain=\"a\\\"b\\\\c\\nd\\\\001\\\\195.example\",check=\"mx\"} 2\n"));
    for (size_t i = 0; i < len; i++)
        assert_true(text[i] == '\n' || (text[i] >= 0x20 && text[i] < 0x7f));
    /* and the real parser agrees, when it is installed */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/dnsprop-prom-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        close(fd);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
        int rc = system(cmd);
        unlink(path);
        assert_int_equal(rc, 0);
    }
    free(text);
}

static void test_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/dnsprop-promw-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/x.prom", dir);
    struct report_summary r = row("contoso.com", "mx");
    assert_int_equal(report_prometheus_check_path(path, err, sizeof err), 0);
    assert_int_equal(report_write_prometheus(path, &r, 1, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    /* a folder where the file goes: refused before a run, and at write time */
    char sub[300];
    snprintf(sub, sizeof sub, "%s/d.prom", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(report_prometheus_check_path(sub, err, sizeof err), DP_EINPUT);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_not_equal(report_write_prometheus(sub, &r, 1, err, sizeof err), 0);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/no/x.prom", dir);
    assert_int_equal(report_prometheus_check_path(sub, err, sizeof err), DP_EINPUT);
    unlink(path);
    assert_int_equal(rmdir(dir), 0); /* nothing else was left in it */
}

static void test_resolv(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *why = NULL;
    char text[RLIST_ADDRSTRLEN];
    static const char conf[] =
        "# c\n ; c\nsearch x\nnameserver\nnameserver 1.2.3.4:53\n"
        "nameserverX 9.9.9.9\n\tnameserver  2001:db8::53;x\nnameserver 8.8.8.8\n";
    assert_int_equal(rlist_resolv_conf_first(conf, strlen(conf), &sa, &salen, &why), 0);
    rlist_format_address((struct sockaddr *)&sa, text, sizeof text);
    assert_string_equal(text, "[2001:db8::53]");
    static const char v4[] = "nameserver 192.0.2.1";
    assert_int_equal(rlist_resolv_conf_first(v4, strlen(v4), &sa, &salen, &why), 0);
    rlist_format_address((struct sockaddr *)&sa, text, sizeof text);
    assert_string_equal(text, "192.0.2.1");
    assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 53);
    static const char none[] = "search x\n# nameserver 1.1.1.1\n";
    assert_int_equal(rlist_resolv_conf_first(none, strlen(none), &sa, &salen, &why), DP_EINPUT);
    assert_string_equal(why, "no nameserver line");
    static const char bad[] = "nameserver fe80::1%eth0\nnameserver 300.1.1.1";
    assert_int_equal(rlist_resolv_conf_first(bad, strlen(bad), &sa, &salen, &why), DP_EINPUT);
    assert_string_equal(why, "no usable nameserver line");
    /* a NUL inside the value is not an address */
    static const char nul[] = "nameserver 1.2.3.4\0x\n";
    assert_int_equal(rlist_resolv_conf_first(nul, sizeof nul - 1, &sa, &salen, &why), DP_EINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_resolv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
