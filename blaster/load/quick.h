/* quick — quick mode's command line (`blaster URL`, wrk's flags) as a
 * scenario model of one scenario "default" with one request step, so that
 * plan_compile compiles it exactly as it compiles a scenario file (one
 * pipeline: cli → this model → plan_compile → runner).
 *
 * What the flags mean, here and nowhere else:
 * - closed model (no -R): constant-vus, one VU per connection (-c);
 * - -R RATE: constant-arrival-rate of RATE per second over -c VUs
 *   (pre-allocated = max), --poisson for exponential gaps;
 * - every VU connects as soon as it is active (wrk's -c: preconnect);
 * - -d is the duration; the graceful stop is min(--timeout, 2 s), so that
 *   requests in flight may finish after the end, but not for long;
 * - --timeout is every request's timeout;
 * - the URL's path and the header values are sent as written (the step is
 *   `literal`: a '$' stays a '$'), -b TEXT too, referenced, not copied;
 *   -b @FILE is a body file the plan reads once and shares.
 * The request is named "METHOD path" and expects 200..399. */
#ifndef BLASTER_QUICK_H
#define BLASTER_QUICK_H

#include "blaster/load/cli.h"
#include "blaster/load/scenario.h"
#include "blaster/load/url.h"

/* The model and its storage. It points into the struct cli it was built
 * from (header names and values, the body, the body file's name): both must
 * outlive the plan compiled from it. Large: make it static, like the cli. */
struct quick_model {
    struct scenario_file sf;
    struct scenario      sc;
    struct step          step;
    struct kv            headers[CLI_MAX_HEADERS];
    struct url           url;
    char                 target[sizeof ((struct url *)0)->hostport + 16]; /* "scheme://hostport" */
    char                 name[sizeof ((struct url *)0)->path + 16];       /* "METHOD path" */
};

/* Build the model of c (as cli_parse left it: URL validated). 0, or -1 with
 * err naming what was wrong. Allocates nothing. */
int quick_model_build(struct quick_model *q, const struct cli *c, char *err, size_t errlen);

#endif
