/* executor — the schedule math of k6's six executors (DESIGN.md, "Time,
 * schedules and coordinated omission"): how many VUs a VU executor wants at
 * every moment, when each iteration of an arrival-rate executor starts, how
 * iteration executors share their iterations, when a scenario ends, and how
 * all of that splits into execution segments (`run --segment i/N`).
 *
 * Pure functions over a struct executor_config (below: the executor's
 * settings, which plan_compile copies out of the scenario model, so that the
 * engine never reads the YAML model): no allocation, no I/O, no clocks. Every time here is in nanoseconds since the scenario's
 * own start (start_time is added only by executor_end()). The run-time engine
 * turns these values into timers.
 *
 * Semantics follow k6 (lib/executor/ramping_vus.go, constant_arrival_rate.go,
 * ramping_arrival_rate.go, shared_iterations.go, per_vu_iterations.go,
 * lib/execution_segment.go); the few deliberate differences are listed where
 * they apply and are all about exactness, never about shape.
 *
 * Segments. Segment i/N (0 <= i < N) is k6's execution segment i/N:(i+1)/N
 * inside the sequence 0,1/N,2/N,...,1. For equal segments k6's striping gives
 * the k-th unit (0-based: a VU, an iteration) to the segment k mod N, so:
 * - VUs: segment i has executor_segment_vus(v, i, N) of any global count v,
 *   the number of k < v with k mod N == i; the N values always sum to v;
 * - arrival-rate iterations: segment i starts the global iterations k with
 *   k mod N == i, at the times the whole schedule would start them.
 * Segments nest: segment w/W of segment i/N is segment (i + N*w)/(N*W), which
 * is how one segment is split across W worker threads. n = 1 (i = 0) is the
 * whole, unsegmented scenario. 1 <= n <= EXECUTOR_MAX_SEGMENTS. */
#ifndef BLASTER_EXECUTOR_H
#define BLASTER_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blaster/load/scenario.h"

#define EXECUTOR_MAX_SEGMENTS 1024

/* A stage of a ramping executor: over duration_ns, go linearly to target
 * (VUs, or iterations per time_unit). */
struct executor_stage {
    int64_t duration_ns;
    double  target;
};

/* One scenario's executor, k6's options (blaster/load/scenario.h says which
 * executor reads which; 0 where not given, the loader applies k6's
 * defaults), plus what only quick mode sets. Owned by the plan. */
struct executor_config {
    enum executor_kind executor;
    uint32_t vus;
    int64_t  duration_ns;
    uint32_t start_vus;
    const struct executor_stage *stages;
    int      nstages;
    double   rate;
    double   start_rate;
    int64_t  time_unit_ns;
    uint32_t pre_allocated_vus;
    uint32_t max_vus;
    uint64_t iterations;
    int64_t  max_duration_ns;
    int64_t  start_time_ns;
    int64_t  graceful_stop_ns;
    int64_t  graceful_ramp_down_ns;
    int64_t  pace_ns;
    bool     poisson;       /* constant-arrival-rate: exponential gaps (quick mode's --poisson) */
    bool     preconnect;    /* every VU connects when it becomes active (quick mode: wrk's -c) */
};

/* k6's name of an executor ("constant-vus"), or NULL for a value that is none. */
const char *executor_kind_name(enum executor_kind k);

/* ---- Durations --------------------------------------------------------- */

/* The regular duration of a scenario (k6: the executor's duration, without
 * graceful_stop): duration (constant-vus, constant-arrival-rate), the sum of
 * the stages (ramping-vus, ramping-arrival-rate), max_duration (iteration
 * executors, which usually finish earlier). No new iteration starts at or
 * after it. */
int64_t executor_duration(const struct executor_config *s);

/* When the scenario is over at the latest, since the start of the test:
 * start_time + executor_duration + graceful_stop. At that time every
 * iteration still running is interrupted (k6's maxDuration context). The
 * test ends at the largest executor_end of its scenarios. */
int64_t executor_end(const struct executor_config *s);

/* ---- VUs --------------------------------------------------------------- */

/* A point of a VU schedule: from t_ns on, the target is vus. */
struct vu_change {
    int64_t  t_ns;
    uint32_t vus;
};

/* Segment i of n's share of a global count v: #{k < v : k mod n == i}. */
uint32_t executor_segment_vus(uint64_t v, uint32_t i, uint32_t n);

/* The most VUs the scenario (its segment i of n) ever holds, i.e. how many
 * VU slots to allocate: vus (constant-vus, iteration executors), the largest
 * of start_vus and the stage targets (ramping-vus; graceful ramp-down never
 * needs more, k6 caps its reservations the same way), max(max_vus,
 * pre_allocated_vus) (arrival-rate executors); then the segment's share. */
uint32_t executor_max_vus(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n);

/* The target number of active (looping) VUs at t_ns, unsegmented; 0 before
 * 0 and from executor_duration() on. Arrival-rate executors have no target
 * (their VUs are a pool driven by arrivals): 0.
 *
 * ramping-vus, like k6: within a stage from f to e VUs over d ns, at x ns into
 * the stage the target is f + floor(x*(e-f)/d) going up and f - floor(x*(f-e)/d)
 * going down (the change is rounded toward f: a VU is added when the line
 * reaches its number, removed when the line reaches the number below); a
 * stage of duration 0 jumps to its target at its start. Segment i of n:
 * executor_segment_vus(executor_vus_at(s, t), i, n). */
uint32_t executor_vus_at(const struct executor_config *s, int64_t t_ns);

/* The target of executor_vus_at() as a list of changes (k6's raw execution
 * steps, with the end at 0), for segment i of n (0 of 1: the whole): the
 * first entry is at t = 0 (possibly 0 VUs), times are non-decreasing,
 * consecutive entries have different vus (two may share a time: start_vus 2
 * then a 0-duration stage to 5 gives (0,2),(0,5); the last one at a time
 * wins), and the list ends with (executor_duration, 0) unless it is at 0
 * already. Each value is the segment's share (executor_segment_vus) of the
 * whole list's value at that time, so the n lists add up to the whole at
 * every instant (and each is k6's list for that segment). A ramp over v VUs
 * has up to one entry per VU. Arrival-rate executors: an empty list.
 *
 * Writes at most cap entries and returns the length of the whole list, like
 * snprintf: if it is more than cap, the tail (with the final 0) is missing;
 * executor_vu_changes(s, i, n, NULL, 0) sizes the buffer.
 *
 * The engine's contract (k6's ramping-vus Run): VUs of the scenario are
 * numbered 0..max-1 (k6's VU handles) and start and stop in that order, last
 * in first out. At a change to v from cur: VUs [cur, v) start looping (one
 * still finishing an iteration it was told to stop after simply keeps
 * looping); VUs [v, cur), highest first, finish the iteration they are in
 * and then stop: graceful ramp-down never interrupts by itself. The deadline
 * of a stopping VU is given by executor_vu_caps(). At executor_duration every
 * VU stops that way (the final 0), and at executor_duration + graceful_stop
 * whatever still runs is interrupted. */
size_t executor_vu_changes(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n,
                           struct vu_change *out, size_t cap);

/* The hard limits behind graceful ramp-down (k6's GetExecutionRequirements),
 * for segment i of n: from t_ns on, any VU numbered >= vus that is still
 * running an iteration is interrupted (an interrupted iteration, not a
 * dropped one). A ramping-vus VU told to stop at time T has until
 * T + graceful_ramp_down to finish, unless the target climbs back to the
 * previous level within that window (k6's reserveVUsForGracefulRampDowns:
 * the cap stays up and the window starts over from there); no cap falls
 * after executor_duration + graceful_stop, where the list ends at 0. The caps
 * never go below the changes' targets. With graceful_ramp_down 0 they are
 * the changes, with the final 0 moved to duration + graceful_stop. Other
 * executors: (0, the segment's max VUs), (duration + graceful_stop, 0).
 *
 * buf is also the work space: it needs the length of the change list + 1
 * entries. Returns the number of entries written, or, when cap is less than
 * that, that number (more than cap; nothing usable is written). */
size_t executor_vu_caps(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n,
                        struct vu_change *buf, size_t cap);

/* ---- Arrival-rate executors -------------------------------------------- */

/* An iterator over the start times of an arrival-rate scenario's iterations,
 * in increasing order. Everything is computed from the schedule's origin and
 * the iteration's number, never by adding gaps: no drift over any length.
 * Plain data: copy it, reset it by initialising again. */
struct arrivals {
    int      kind;          /* private: 0 none, 1 constant, 2 ramping */
    uint64_t next;          /* global number (0-based) of the next iteration of this segment */
    uint32_t stride;        /* n of the segment */
    uint64_t total;         /* iterations of the whole (unsegmented) schedule */
    long double tu;         /* time_unit, ns */
    long double r0, r1;     /* constant: the rate in r0; ramping: the rates at the current
                               stage's start and end; per time_unit */
    /* constant-arrival-rate */
    int64_t  duration;
    /* ramping-arrival-rate: the current stage */
    const struct executor_stage *stages;
    int      nstages, stage;
    long double cum2;       /* sum of d*(r0+r1) of the stages before this one (2 tu * area) */
    long double a0, a1;     /* iterations due by the stage's start, by its end */
    long double tol;        /* below the resolution of an area */
    int64_t  t0, d;         /* the stage's start and duration, ns */
};

/* Whole schedule (segment 0 of 1). Any other executor kind yields nothing.
 *
 * constant-arrival-rate: iteration k starts at floor(k * time_unit / rate) ns
 * (the first at 0), for every such time < duration: ceil(duration * rate /
 * time_unit) iterations (10/s for 5 s: 50, at 0, 100 ms, ..., 4.9 s). k6 uses
 * k * trunc(time_unit / rate) instead, which runs early by up to k ns (3/s:
 * 3.3 ms after 10M iterations) and can squeeze one more tick in before the
 * end (3/s for 1 s: k6 has a 4th tick at 999,999,999 ns; blaster stops at 3).
 *
 * ramping-arrival-rate (k6's "cal"): the rate goes linearly over each stage
 * from the previous target (start_rate for the first stage) to the stage's
 * target; iteration k (0-based) starts when the integral of the rate reaches
 * k + 1, so the first one is not at 0 (0 -> 100/s over 10 s: first at
 * sqrt(2 / (10/s^2)) = 447 ms), one can fall exactly on the end, and there
 * are floor(total area) iterations. Times are rounded to the nearest ns. The
 * area is computed exactly for integral rates (one long double division of
 * an exact sum), where k6 accumulates float64 per-ns rates and loses the last
 * iteration whenever the sum rounds just below an integer (0 -> 66/s over
 * 15 s: k6 starts 494, blaster 495). Stages of rate 0 start nothing; a stage
 * of duration 0 only changes the rate. */
void arrivals_init(struct arrivals *a, const struct executor_config *s);

/* The same for segment i of n: exactly the global iterations k with
 * k mod n == i, at the same times; the n segments together are the whole
 * schedule, with no overlap. (k6 stripes arrival-rate iterations by the
 * segments' shares of max_vus, which is k mod n when n divides max_vus and
 * slightly different proportions otherwise; both split the schedule exactly.) */
void arrivals_init_segment(struct arrivals *a, const struct executor_config *s, uint32_t i, uint32_t n);

/* The start time of the next iteration of this segment, in ns since the
 * scenario's start, and advance; -1 when the schedule is over (and from then
 * on). The global number of the returned iteration is a->next - a->stride
 * (k6's iteration-in-test numbering, usable for ${iter}). */
int64_t arrivals_next(struct arrivals *a);

/* Skip this segment's iterations that start at or before t ns (what a full
 * queue would drop), in O(stages) whatever the rate; returns how many. The
 * ones skipped are those arrivals_next would have returned, up to a
 * rounding of the last ns: one left over is simply due at once. */
uint64_t arrivals_skip(struct arrivals *a, int64_t t);

/* ---- Iteration executors ----------------------------------------------- */

/* How many iterations a VU of per-vu-iterations runs: `iterations`, whatever
 * the segment (k6 scales only the VUs, so that segments scale linearly). */
uint64_t executor_per_vu_iterations(const struct executor_config *s);

/* May a per-vu-iterations VU that has started `started` iterations start
 * another one (before executor_duration; that check is the engine's)? */
bool executor_per_vu_may_start(const struct executor_config *s, uint64_t started);

/* The shared-iterations total of segment i of n, exactly k6's: the iterations
 * are striped over the segments in proportion to their VUs (k6 re-segments by
 * `vus`, GetNewExecutionTupleFromValue), so a segment without VUs gets none
 * and the n totals sum to `iterations`. Equal to the iterations k < total with
 * k mod n == i when n divides vus. Costs O(vus * n) when it does not: call it
 * once, at compile time. */
uint64_t executor_shared_iterations(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n);

/* The shared pool of shared-iterations, for one segment (or one worker: one
 * pool per segment, no sharing between threads). */
struct shared_pool {
    uint64_t total;         /* iterations of this segment */
    uint64_t taken;         /* iterations handed out */
};

void executor_shared_init(struct shared_pool *p, const struct executor_config *s,
                          uint32_t seg_i, uint32_t seg_n);

/* May a VU start another iteration? true (and the iteration is counted as
 * taken) while the pool lasts; false for good once it is empty. */
static inline bool executor_shared_take(struct shared_pool *p)
{
    if (p->taken >= p->total)
        return false;
    p->taken++;
    return true;
}

/* The iterations never started when the scenario stopped (max_duration
 * reached first): k6 reports them as dropped_iterations at the end. */
static inline uint64_t executor_shared_dropped(const struct shared_pool *p)
{
    return p->total - p->taken;
}

#endif
