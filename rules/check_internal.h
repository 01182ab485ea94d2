/*
 * Private to the checks (checks.c, check_m365.c): reading TXT strings (the
 * records of an answer come from answer_text_next(), rules/answer.c). Not
 * part of the rules' public interface.
 */
#ifndef DNSPROP_CHECK_INTERNAL_H
#define DNSPROP_CHECK_INTERNAL_H

#include "rules.h"

/* The bytes of a TXT record's strings joined (escapes \X and \DDD decoded).
 * *out is malloc'd and NUL-terminated (the bytes may hold NULs: use *outlen).
 * Returns 0, DP_EINPUT for bad escapes or quotes, or DP_ENOMEM. */
int check__txt_join(const char *rec, size_t len, char **out, size_t *outlen);

/* RFC 7208 4.5 / RFC 7489 6.4 record selection on joined TXT bytes. */
bool check__is_spf(const char *txt, size_t len);
bool check__is_dmarc(const char *txt, size_t len);

/* The Microsoft 365 rule for check c (mx, spf, autodiscover, dkim, dmarc) on
 * the viewed answer of question qi; returns the failure reasons (0: passes).
 * *ok is false when the rule does not apply to c. Returns DP_ENOMEM as
 * negative on failure to allocate, via *err (0 otherwise). */
uint32_t check__m365_rule(enum check_id c, unsigned qi, const char *domain, const char *view,
                          bool *applies, int *err);

/* The readable `expected` text of that rule, malloc'd; NULL when the rule does
 * not apply or memory ran out (*err = DP_ENOMEM). */
char *check__m365_expected(enum check_id c, unsigned qi, const char *domain, int *err);

#endif
