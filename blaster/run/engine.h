/* engine — the load side of one worker thread: the VUs of every scenario
 * of a plan that this worker owns, their connections, the executors that
 * decide when they run, and what they measure.
 *
 * A VU runs its scenario's program (plan.h) once per iteration, on one
 * keep-alive connection of its own (as a k6 VU does). Every request has an
 * intended start: the iteration's start for its first request (an arrival
 * time, a pace tick, or the previous iteration's end), and for the next ones
 * the previous completion plus any think time; latency is measured from it
 * (DESIGN.md, "Time, schedules and coordinated omission").
 *
 * The executors (executor_run.c) decide when VUs run and iterations start;
 * the VU program (vu.c) what a VU does; request.c one request's life;
 * engine.c the completion loop and each VU's connection (stream.h, plain or
 * TLS). engine_int.h lists the rooms.
 *
 * Everything is allocated by engine_init; engine_run allocates nothing per
 * request (only the rare TLS connection closed with a send in flight is
 * kept in stream.h's graves, which may grow). */
#ifndef BLASTER_ENGINE_H
#define BLASTER_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "blaster/common/metrics.h"
#include "blaster/compile/plan.h"
#include "ring/ring.h"
#include "blaster/run/stream.h"
#include "ring/worker.h"
#include "tls/tls.h"

struct engine_config {
    const struct plan *plan;
    int      worker;       /* this worker's index */
    int      nworkers;
    int64_t  origin_ns;    /* absolute monotonic start of the test */
    int      sigfigs;
    uint64_t seed;
    bool     snapshots;    /* the main thread asks for snapshots (abortOnFail thresholds) */
    struct tls_ctx *tls;   /* https scenarios' context, this worker's alone; NULL without https */
};

/* A snapshot of the worker's metrics, for thresholds that abort the run:
 * the main thread bumps `want`; the worker, at its next loop turn (never on
 * a request's path), copies its metrics into m and stores `want` into
 * `done` (release). m belongs to the main thread from then until it bumps
 * `want` again. */
struct engine_snap {
    int      want, done;
    struct scenario_metrics *m;   /* one per scenario */
};

/* Written by the worker once per loop turn, read by the main thread for the
 * progress line and for thresholds that abort: plain relaxed stores. */
struct engine_live {
    uint64_t reqs, failed, bytes_recv, iterations;
    uint32_t vus, open_conns;
};

struct vu;
struct sc_rt;

/* VUs whose request (or connect) has the same timeout, oldest deadline first. */
struct tqueue {
    int64_t timeout;
    int32_t head, tail;
};

struct engine {
    struct engine_config cfg;
    struct ring          ring;
    struct vu           *vus;
    uint32_t             nvus;
    struct sc_rt        *sc;
    int                  nsc;
    struct scenario_metrics *m;     /* one per scenario */
    struct engine_live   live;
    struct engine_snap   snap;
    struct tqueue       *tq;        /* deadline FIFOs, one per distinct request timeout */
    int                  ntq;
    uint8_t             *slab;      /* per-VU buffers: iovecs, scratch, captures, kept bodies */
    uint32_t            *bulkq;     /* VUs waiting for a bulk slot, FIFO */
    uint32_t             bulkq_head, bulkq_len;
    uint32_t             bulk_inflight;
    bool                 ever_connected;
    uint32_t             connect_failures;
    uint32_t             open_conns;
    bool                 ever_handshook;
    uint32_t             tls_failures;
    struct stream_pool   pool;      /* what the VUs' streams share (the TLS context among it) */
    char                 fatal[256];
    struct worker_cpu    cpu_start, cpu_end;
    int64_t              wall_start, wall_end;
    struct hist          timer_late;  /* µs each timed wait woke after its deadline: the
                                         host's own lateness, which client_lag cannot beat */
    bool                 late_seen;   /* this loop turn's wake-up is in timer_late already */
};

/* On the worker thread that will run it (the ring is bound to it). 0, or
 * -errno with a message in e->fatal. */
int  engine_init(struct engine *e, const struct engine_config *cfg);
/* Until every scenario has ended (graceful stops included) or *stop is set
 * (a stop interrupts iterations at once). */
void engine_run(struct engine *e, const int *stop);
void engine_free(struct engine *e);

#endif
