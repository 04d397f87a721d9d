/* runner — run a plan on pinned worker threads, and gather what they
 * measured. The main thread starts one engine per worker, prints a progress
 * line once a second on a terminal (blaster/run/progress.c), turns SIGINT/SIGTERM into a graceful
 * stop (a second signal exits at once), and after the workers end merges
 * their metrics exactly, scenario by scenario. Used by quick mode and by
 * `blaster run`. */
#ifndef BLASTER_RUNNER_H
#define BLASTER_RUNNER_H

#include <stdbool.h>

#include "blaster/run/engine.h"
#include "blaster/compile/plan.h"
#include "blaster/run/verdict.h"

/* Asked every check_period_ns with the workers' metrics merged so far
 * (abortOnFail thresholds): return true, with `by` saying why, to stop the
 * run as a signal would. */
typedef bool (*runner_check_fn)(void *ctx, const struct scenario_metrics *m, double elapsed_s,
                                char *by, size_t bylen);

struct runner_opts {
    int  threads;     /* 0: one per CPU of the affinity mask */
    int  sigfigs;
    int  verbose;
    runner_check_fn check;       /* NULL: no checks during the run */
    void   *check_ctx;
    int64_t check_period_ns;
};

struct run_result {
    struct scenario_metrics *m;       /* one per plan scenario, merged over workers */
    int      nsc;
    int      nworkers;
    struct worker_report *workers;
    double   elapsed_s;
    bool     stopped;                 /* by a signal */
    char     aborted_by[256];         /* why a check stopped the run, or "" */
    char     fatal[256];              /* a worker gave up, or "" */
    const char *ring_mode;
    struct verdict_timers timer_late; /* the workers' timed wake-ups, merged */
};

/* Run p to its end. 0 when it ran (even if stopped by a signal or errors
 * were counted); -1 when it could not start (r->fatal says why). */
int  runner_run(const struct plan *p, const struct runner_opts *o, struct run_result *r);
void runner_result_free(struct run_result *r);
/* The client verdict of a run of p: each scenario's client_lag p99 against
 * its http_req_duration p95, the workers' CPU, the host's timer lateness. */
void runner_verdict(const struct plan *p, const struct run_result *r, struct verdict *v);

#endif
