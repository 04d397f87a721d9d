/* verdict — see verdict.h. */
#include "blaster/run/verdict.h"

#include <stdio.h>
#include <string.h>

static void reason(struct verdict *v, const char *fmt, double a, double b, int w)
{
    if (v->nreasons >= VERDICT_MAX_REASONS)
        return;
    snprintf(v->reasons[v->nreasons++], sizeof v->reasons[0], fmt, w, a, b);
    v->client_limited = true;
}

void verdict_decide(const struct verdict_input *in, struct verdict *v)
{
    memset(v, 0, sizeof *v);
    for (int w = 0; w < in->nworkers; w++) {
        if (in->busy[w] >= VERDICT_BUSY_LIMIT)
            reason(v, "worker %d was busy %.0f%% of the run (limit %.0f%%): the client may bound throughput",
                   in->busy[w] * 100, VERDICT_BUSY_LIMIT * 100, w);
        if (in->wait[w] >= VERDICT_WAIT_LIMIT)
            reason(v, "worker %d waited for its CPU %.0f%% of the run (limit %.0f%%): another process is using it",
                   in->wait[w] * 100, VERDICT_WAIT_LIMIT * 100, w);
    }
    if (in->lag_p99_us > VERDICT_LAG_P99_US && in->lag_samples >= VERDICT_LAG_MIN_SAMPLES &&
        v->nreasons < VERDICT_MAX_REASONS) {
        snprintf(v->reasons[v->nreasons++], sizeof v->reasons[0],
                 "client_lag p99 is %.2fms (limit %.2fms): requests left late although a connection was free",
                 in->lag_p99_us / 1000.0, VERDICT_LAG_P99_US / 1000.0);
        v->client_limited = true;
    }
}
