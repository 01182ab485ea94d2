/*
 * Domain names typed by users (arguments, --domains files): checked and
 * brought to the one form the rest of the program uses, ASCII (IDNA A-labels),
 * lower case, no final dot.
 *
 * Internationalized names go through libidn2 (IDNA2008 with the UTS #46
 * mapping, non-transitional, as browsers and registries do today), so
 * "Bücher.example" becomes "xn--bcher-kva.example". Every refusal has its own
 * reason so the user can fix the name without guessing.
 */
#include "rules.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

/* Longer input is refused before any work: even fully escaped IDN text of a
 * 253-byte name stays far below this. */
#define DNSNAME__INPUT_MAX 1024

static bool is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool has_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* Checks the lower-case ASCII name `s` (no final dot) label by label. */
static int check_ascii(const char *s, unsigned flags, const char **why)
{
    size_t total = strlen(s);
    size_t labels = 0;
    const char *label = s;
    const char *last = s;

    if (total == 0) {
        *why = "empty name";
        return DP_EINPUT;
    }
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        if (len == 0) {
            *why = "empty label (a leading dot or two dots in a row)";
            return DP_EINPUT;
        }
        if (len > DNSNAME_LABEL_MAX) {
            *why = "label longer than 63 bytes";
            return DP_EINPUT;
        }
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)label[i];
            if (!is_ldh(c) && c != '_') {
                *why = "invalid character: labels take only letters, digits, '-' and '_'";
                return DP_EINPUT;
            }
        }
        /* Service labels (_dmarc, _domainkey) are not host names; host
         * labels must not start or end with a hyphen (RFC 952/1123). */
        if (label[0] != '_' && (label[0] == '-' || label[len - 1] == '-')) {
            *why = "label starts or ends with '-'";
            return DP_EINPUT;
        }
        if (len >= 4 && strncmp(label, "xn--", 4) == 0) {
            char lbuf[DNSNAME_LABEL_MAX + 1];
            char *u = NULL;
            memcpy(lbuf, label, len);
            lbuf[len] = '\0';
            if (idn2_to_unicode_8z8z(lbuf, &u, 0) != IDN2_OK) {
                *why = "label starts with 'xn--' but is not valid punycode";
                return DP_EINPUT;
            }
            idn2_free(u);
        }
        labels++;
        last = label;
        if (dot == NULL)
            break;
        label = dot + 1;
    }
    if (total > DNSNAME_MAX) {
        *why = "name longer than 253 bytes";
        return DP_EINPUT;
    }
    if (!(flags & DNSNAME_ANY)) {
        if (labels < 2) {
            *why = "a single label (like 'localhost') is not a public mail domain: "
                   "give the full name, e.g. contoso.com";
            return DP_EINPUT;
        }
        bool digits = true;
        for (const char *p = last; *p; p++)
            if (*p < '0' || *p > '9')
                digits = false;
        if (digits) {
            *why = "an IP address or a numeric top-level label, not a domain name";
            return DP_EINPUT;
        }
    }
    return 0;
}

int dnsname_normalize_ex(const char *in, unsigned flags, char *out, size_t outlen, const char **why)
{
    int rc = DP_EINPUT;
    char copy[DNSNAME__INPUT_MAX + 1]; /* on the stack: --domains normalizes every line */
    char *ascii = NULL;
    size_t len;

    *why = "out of memory";
    if (outlen > 0)
        out[0] = '\0';
    if (in == NULL || in[0] == '\0') {
        *why = "empty name";
        return DP_EINPUT;
    }
    len = strnlen(in, DNSNAME__INPUT_MAX + 1);
    if (len > DNSNAME__INPUT_MAX) {
        *why = "name longer than 253 bytes";
        return DP_EINPUT;
    }
    if (strcmp(in, ".") == 0) {
        *why = "the root '.' is not a domain";
        return DP_EINPUT;
    }
    memcpy(copy, in, len + 1);
    /* One final dot means "fully qualified" and is dropped; a second one
     * would be an empty label and is refused below. */
    if (len > 1 && copy[len - 1] == '.')
        copy[--len] = '\0';

    const char *name = copy;
    if (has_non_ascii(copy)) {
        int irc = idn2_to_ascii_8z(copy, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (irc != IDN2_OK) {
            if (irc == IDN2_MALLOC) {
                rc = DP_ENOMEM;
                goto out;
            }
            /* libidn2's texts are static and ASCII */
            *why = irc == IDN2_ENCODING_ERROR ? "not valid UTF-8" : idn2_strerror(irc);
            goto out;
        }
        name = ascii;
    }
    size_t n = strlen(name);
    if (n + 1 > outlen) {
        /* output smaller than any valid name: say so instead of truncating */
        *why = n > DNSNAME_MAX ? "name longer than 253 bytes" : "output buffer too small";
        goto out;
    }
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    rc = check_ascii(out, flags, why);
    if (rc != 0)
        out[0] = '\0';
out:
    if (ascii != NULL)
        idn2_free(ascii);
    return rc;
}

int dnsname_normalize(const char *in, char *out, size_t outlen, const char **why)
{
    return dnsname_normalize_ex(in, 0, out, outlen, why);
}

bool dnsname_is_ip_literal(const char *host)
{
    char buf[64]; /* the longest IPv6 text is 45 bytes */
    unsigned char addr[16];
    size_t n = strlen(host);

    if (host[0] == '[')
        return true;
    if (n > 0 && host[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof buf)
        return false;
    /* an address is hex digits, dots and colons: most host names fail on
     * their first letter past f, or on a hyphen, without inet_pton */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(c == '.' || c == ':' || (c >= '0' && c <= '9') ||
              ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')))
            return false;
    }
    memcpy(buf, host, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}
