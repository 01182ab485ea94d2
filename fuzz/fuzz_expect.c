/*
 * Fuzz target: the --expect parser (check_plan_add_expect), then the plan's
 * consistency check and the `expected` column for each check, as the run
 * would use them. Input is split at LF into up to 8 --expect values.
 */
#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    if (in == NULL)
        return 0;
    struct check_plan plan;
    char err[512];
    check_plan_init(&plan);
    char *p = in;
    for (int i = 0; i < 8 && p != NULL; i++) {
        char *nl = memchr(p, '\n', strlen(p));
        if (nl != NULL)
            *nl = '\0';
        err[0] = '\0';
        if (check_plan_add_expect(&plan, p, err, sizeof err) != 0)
            FUZZ_ASSERT(err[0] != '\0');
        p = nl != NULL ? nl + 1 : NULL;
    }
    (void)check_plan_finish(&plan, err, sizeof err);
    for (int c = 0; c < CHECK_COUNT; c++) {
        for (unsigned qi = 0; qi < CHECK_MAX_QUESTIONS; qi++) {
            char *text = NULL;
            if (check_expected_text(&plan, PROFILE_M365, (enum check_id)c, qi, "contoso.com",
                                    &text) == 0)
                free(text);
            if (plan.expect[c][qi] != NULL) {
                uint32_t reasons = 0;
                enum obs_match m = check_judge(&plan, PROFILE_NONE, (enum check_id)c, qi,
                                               "contoso.com", OBS_OK, plan.expect[c][qi], &reasons);
                /* an expectation always matches itself */
                FUZZ_ASSERT(m == OBS_MATCH_YES);
            }
        }
    }
    check_plan_deinit(&plan);
    free(in);
    return 0;
}
