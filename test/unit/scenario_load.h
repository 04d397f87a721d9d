/* What the scenario test files share: loading a scenario from a string as
 * "x.yaml" (so messages start "x.yaml:L:C: ") and clearing the environment
 * variables their files read. Test code only. */
#ifndef TEST_UNIT_SCENARIO_LOAD_H
#define TEST_UNIT_SCENARIO_LOAD_H

#include <stdlib.h>
#include <string.h>

#include "blaster/load/scenario.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static inline int load(const char *yaml, const char *const *env, int nenv, struct scenario_file *sf, char *err,
                       size_t errlen)
{
    return scenario_load_string("x.yaml", yaml, strlen(yaml), env, nenv, sf, err, errlen);
}

static inline void clear_env(void)
{
    static const char *const names[] = {
        "BASE_URL", "USER_TOKEN", "UPLOAD_VUS", "STREAM_VUS", "BROWSE_VUS", "CHECKOUT_VUS", "DURATION",
        "STREAM_TRACK_ID", "BLASTER_T_UNSET", "BLASTER_T_SET", "BLASTER_T_EMPTY",
    };
    for (size_t i = 0; i < N(names); i++)
        unsetenv(names[i]);
}

#endif
