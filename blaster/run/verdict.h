/* verdict — is every number the server's? The client verdict says OK only
 * when nothing shows that the client itself bounded the run:
 *  - a worker busy for most of the run (it could not have gone faster);
 *  - a worker waiting for its CPU (another process was running on it);
 *  - requests leaving late while a connection was free (client_lag p99).
 * Each reason that holds is reported with its evidence. */
#ifndef BLASTER_VERDICT_H
#define BLASTER_VERDICT_H

#include <stdbool.h>

#define VERDICT_BUSY_LIMIT   0.90  /* share of the run a worker was on its CPU */
#define VERDICT_WAIT_LIMIT   0.10  /* share of the run a worker was runnable but not running */
#define VERDICT_LAG_P99_US   1000  /* client_lag p99 above this: requests left late */
#define VERDICT_LAG_MIN_SAMPLES 200 /* below this, p99 is the maximum of a few: no verdict on lag */
#define VERDICT_MAX_REASONS  8

/* What a worker's CPU did during the run (the verdict's evidence). */
struct worker_report {
    double busy;   /* fraction of the run on CPU */
    double wait;   /* fraction of the run waiting for a CPU, < 0 unknown */
};

struct verdict_input {
    int    nworkers;
    const double *busy;   /* per worker, fraction of wall time on CPU */
    const double *wait;   /* per worker, fraction of wall time waiting for a CPU; < 0 unknown */
    long long lag_p99_us; /* -1: no samples */
    unsigned long long lag_samples;
};

struct verdict {
    bool client_limited;
    int  nreasons;
    char reasons[VERDICT_MAX_REASONS][160];
};

void verdict_decide(const struct verdict_input *in, struct verdict *out);

#endif
