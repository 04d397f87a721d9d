/* verdict — is every number the server's? The client verdict weighs what the
 * client (and the machine it runs on) could have added to the latencies it
 * reports, in proportion to them:
 *  - a worker busy for most of the run (it could not have gone faster);
 *  - a worker waiting for its CPU (another process was running on it);
 *  - requests leaving late while a connection was free (client_lag), when
 *    that lag is material to the scenario's own http_req_duration p95 and
 *    more than this machine's timer lateness explains, or caused by other
 *    processes on the worker's CPU.
 * All three are the client's: CLIENT-LIMITED. When the lag is material but
 * within what the host's timers explain (and those were not other processes
 * on the client's CPU), the host is named instead, with its figure:
 * HOST-LIMITED (a property of the machine, every client on it would see it).
 * Otherwise OK; the timer lateness and each scenario's share are always
 * given as evidence. verdict_decide is a pure function of its input. */
#ifndef BLASTER_VERDICT_H
#define BLASTER_VERDICT_H

#include <stdbool.h>

#define VERDICT_BUSY_LIMIT   0.90  /* share of the run a worker was on its CPU */
#define VERDICT_WAIT_LIMIT   0.10  /* share of the run a worker was runnable but not running */
/* client_lag p99 above this share of the scenario's http_req_duration p95 is
 * material: a tenth of what is reported could be the client's. */
#define VERDICT_LAG_SHARE    0.10
/* What the host's timers explain of client_lag p99: twice their own p99 (a
 * send can wait for a late wake-up and then for its turn in the batch), the
 * lag p99 their late wake-ups cause (verdict_timers.lag_p99_us), or their
 * p99.9, whichever is most, plus this margin for the work of a loop turn.
 * The p99.9: on a VM a pause of a few ms holds back every send due during
 * it, so the sends' p99 can reach the wake-ups' p99.9 (measured: timers
 * p99/p99.9 0.51/3.33 ms, client_lag p99 above 1.12 ms, nothing else running). */
#define VERDICT_HOST_FACTOR  2.0
#define VERDICT_HOST_MARGIN_US 100
/* A worker that waited for its CPU this share of the run (other processes
 * ran on it, under VERDICT_WAIT_LIMIT) had about this share of its sends
 * delayed by them: enough to explain a client_lag p99, whatever its size.
 * It is the client's side (its CPU is not its own) when the lag is more than
 * the timers explain, or when the workers' run-queue wait is at least this
 * share of the wake-ups' summed lateness (the timers were late because of
 * those processes, not because of the machine). */
#define VERDICT_PREEMPT_SHARE 0.01
#define VERDICT_QUEUED_SHARE  0.5
#define VERDICT_LAG_MIN_SAMPLES 200 /* below this, p99 is the maximum of a few: no verdict on it */
/* The per-scenario "bounded by" line (report_aggregate.c): sends later than
 * this count as late. */
#define VERDICT_LAG_P99_US   1000
#define VERDICT_MAX_REASONS  8
#define VERDICT_MAX_EVIDENCE 12

enum verdict_status { VERDICT_OK, VERDICT_CLIENT_LIMITED, VERDICT_HOST_LIMITED };

/* What a worker's CPU did during the run (the verdict's evidence). */
struct worker_report {
    double busy;   /* fraction of the run on CPU */
    double wait;   /* fraction of the run waiting for a CPU, < 0 unknown */
};

/* How late this machine woke the workers from their timed waits, in µs. */
struct verdict_timers {
    long long p50_us, p99_us, p999_us;   /* -1: no samples */
    unsigned long long samples;
    /* The client_lag p99 these late wake-ups alone cause when sends fall due
     * at an even rate (a wake-up late by L delays those due in its L µs by
     * 0..L, and a long one delays many): -1 unknown. */
    long long lag_p99_us;
    double late_sum_us;                  /* the wake-ups' lateness, summed */
    double wait_sum_us;                  /* the workers' run-queue wait over the run; -1 unknown */
};

/* One scenario's lag against what it reports. */
struct verdict_scenario {
    const char *name;
    long long lag_p95_us, lag_p99_us;    /* -1: no samples */
    unsigned long long lag_samples;
    long long dur_p95_us, dur_p99_us;    /* http_req_duration; -1: no samples */
    unsigned long long started;          /* iterations started (complete + interrupted) */
    unsigned long long dropped;          /* dropped_iterations (open model) */
};

struct verdict_input {
    int    nworkers;
    const double *busy;   /* per worker, fraction of wall time on CPU */
    const double *wait;   /* per worker, fraction of wall time waiting for a CPU; < 0 unknown */
    int    nsc;
    const struct verdict_scenario *sc;
    struct verdict_timers host;
};

struct verdict {
    enum verdict_status status;
    int  nreasons;                                /* why the status is not OK */
    char reasons[VERDICT_MAX_REASONS][200];
    int  nevidence;                               /* the figures, whatever the status */
    char evidence[VERDICT_MAX_EVIDENCE][200];
    struct verdict_timers host;                   /* as given */
};

void verdict_decide(const struct verdict_input *in, struct verdict *out);
struct hist;
/* verdict_timers.lag_p99_us of the wake-up lateness in h (µs), over span_us
 * of run time (summed over workers): -1 when h is empty or span_us <= 0. */
long long verdict_timers_lag_p99(const struct hist *h, double span_us);
/* "OK", "CLIENT-LIMITED" or "HOST-LIMITED". */
const char *verdict_status_name(enum verdict_status s);

#endif
