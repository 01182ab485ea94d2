/* The observation model: status names. */
#include "obs.h"

#include <string.h>

static const char *const status_names[OBS_STATUS_COUNT] = {
    "ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "unreachable", "malformed",
};

const char *obs_status_name(enum obs_status s)
{
    if ((unsigned)s >= OBS_STATUS_COUNT)
        return NULL;
    return status_names[s];
}

int obs_status_parse(const char *s, size_t len, enum obs_status *out)
{
    for (int i = 0; i < OBS_STATUS_COUNT; i++) {
        if (strlen(status_names[i]) == len && memcmp(status_names[i], s, len) == 0) {
            *out = (enum obs_status)i;
            return 0;
        }
    }
    return DP_EINPUT;
}

bool obs_status_answered(enum obs_status s)
{
    return s == OBS_OK || s == OBS_NXDOMAIN || s == OBS_NODATA;
}
