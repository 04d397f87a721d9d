/* engine_int — what the rooms of the load engine share, and nothing else
 * includes: a VU (struct vu), a scenario at run time (struct sc_rt), and the
 * functions one room calls in another. The rooms, in the order a request
 * meets them:
 *
 *   executor_run.c  when VUs run: the executors at run time (start, ramp,
 *                   arrivals, queue, graceful stop), iteration start and end
 *   vu.c            what a VU does: its program (steps, think, loops, picks)
 *                   and the HLS player
 *   request.c       one request: render, send (the bulk slot for large
 *                   bodies), deadlines, the response's bytes, record, capture
 *   engine.c        the completion loop (a handle_* per ring operation), the
 *                   connection of each VU (connect, handshake, close) over
 *                   stream.h, and the engine's setup and teardown
 *
 * A room changes a VU's connection only through engine.c's conn_*
 * functions, and its bytes only through stream.h. */
#ifndef BLASTER_ENGINE_INT_H
#define BLASTER_ENGINE_INT_H

#include "blaster/run/engine.h"
#include "blaster/compile/executor.h"
#include "blaster/run/http.h"
#include "blaster/compile/schedule.h"
#include "blaster/run/stream.h"

#define QUEUE_SECONDS   5     /* an arrival-rate queue holds this much of the schedule */
#define QUEUE_MAX       (1u << 22) /* ... but never more arrivals than this */
#define ARRIVALS_PER_TURN 1024  /* arrivals one loop turn takes at most (executor_run.c) */
#define BACKOFF_MAX_MS  1000
#define HLS_LIST_BYTES  4096  /* a VU's resolved segment URIs */
#define BULK_MIN        (64 * 1024) /* a request this large is a bulk send */
#define BULK_MAX        1           /* bulk sends in flight per worker */
#define BULK_CHUNK      (256 * 1024) /* a bulk body goes out in pieces of this size */

enum vu_state {
    VU_OFF,       /* not active */
    VU_IDLE,      /* active, waiting for an arrival (arrival-rate executors) */
    VU_READY,     /* stepping through its program */
    VU_CONNECT,   /* its request waits for the connection */
    VU_BUSY,      /* its request is in flight */
    VU_SLEEP,     /* think, pace, or a reconnect backoff: a timer is pending */
};

/* C_HANDSHAKE: TCP is up, the stream is not ready yet (a TLS handshake). */
enum conn_state { C_DOWN, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING };

enum timer_kind { T_THINK, T_PACE, T_BACKOFF };

struct vu {
    uint32_t  gid;            /* VU number in its scenario, 1-based, over all workers */
    uint16_t  sc;
    uint8_t   state, cstate;
    uint8_t   timer_kind;
    bool      stop_after;     /* finish this iteration, then stop (ramp-down, end) */
    bool      in_idle;
    bool      got_first, from_queue;
    uint8_t   hls_phase;
    uint32_t  gen;            /* connection generation */
    uint32_t  tgen;           /* timer generation */
    uint32_t  pc;
    int32_t   req;            /* request in flight (plan index), -1 none */
    int32_t   tq_prev, tq_next; /* deadline FIFO links */
    int16_t   tq;               /* which deadline FIFO, -1 none */
    uint32_t  backoff_ms;
    uint32_t  loop[TEMPLATE_MAX_LOOPS];
    uint64_t  iter;
    uint64_t  iters_done;     /* per-vu-iterations */
    int64_t   deadline;
    int64_t   iter_start;     /* intended start of the iteration */
    int64_t   intended;       /* intended start of the next/current request */
    int64_t   ready;          /* when the VU's connection became free */
    int64_t   t_conn, t_tcp;  /* connect started; TCP up (the handshake's start) */
    int64_t   t_sent, t_first;
    int64_t   last_done;
    uint64_t  rng;
    uint16_t  hls_seg, hls_nseg;
    uint16_t  caplen[PLAN_MAX_CAPTURES];
    uint32_t  kept;           /* bytes kept of the current response */
    bool      bulk_wait;      /* rendered, waiting for a bulk slot */
    bool      in_bulkq;       /* has an entry in the bulk FIFO (maybe stale: bulk_wait says) */
    bool      bulk_sending;   /* a bulk piece is in flight (its completion frees the slot) */
    struct stream st;         /* the connection's bytes, plain or TLS */
    struct http_resp resp;
    struct ring_timer timer;
    struct iovec *iov;        /* the rendered request */
    int       max_iov;
    char     *scratch;
    size_t    scratch_len;
    char     *cap;            /* ncaptures x PLAN_CAPTURE_LEN */
    char     *body;           /* PLAN_BODY_KEEP, when the scenario keeps bodies */
    char     *hls;            /* HLS_LIST_BYTES, when the scenario has hls steps */
    char     *hls_base;       /* PLAN_CAPTURE_LEN: the path the last playlist came from (idem) */
};

struct sc_rt {
    const struct plan_scenario *p;
    const struct executor_config *ex; /* the plan's executor settings */
    struct tls_ctx *tls;          /* https: this worker's context; NULL: plain */
    struct scenario_metrics *m;
    uint32_t  first, n;           /* local VUs: e->vus[first .. first+n) */
    int64_t   start, end, hard_end;
    bool      started, ending, done;
    bool      open;               /* arrival-rate: iterations start on a schedule */
    bool      use_sched;          /* constant-arrival-rate: schedule.h; ramping: executor arrivals */
    struct schedule sched;
    struct arrivals arr;
    int64_t   next_arrival;       /* absolute, or INT64_MAX */
    int64_t  *queue;
    uint32_t  qhead, qlen, qcap;
    uint32_t *idle;
    uint32_t  nidle;
    struct vu_change *changes;    /* ramping-vus */
    int       nchanges, next_change;
    struct vu_change *caps;       /* ramping-vus: VUs at or above caps[i].vus are interrupted from t on */
    int       ncaps, next_cap;
    uint64_t  shared_left;        /* shared-iterations: this worker's share */
    uint32_t  active;             /* VUs active now */
};

static inline unsigned pow2_at_least(uint64_t n)
{
    unsigned p = 1;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

static inline struct vu *vu_of(struct engine *e, uint32_t i) { return &e->vus[i]; }
static inline uint32_t vu_idx(const struct engine *e, const struct vu *v) { return (uint32_t)(v - e->vus); }
static inline struct sc_rt *sc_of(struct engine *e, const struct vu *v) { return &e->sc[v->sc]; }
static inline struct metrics *req_metrics(struct engine *e, const struct vu *v, int req)
{
    return &e->m[v->sc].req[e->sc[v->sc].p->reqs[req].metric];
}
/* The metrics a connection's events count in: its request's, else the first step's. */
static inline struct metrics *conn_metrics(struct engine *e, const struct vu *v)
{
    return req_metrics(e, v, v->req >= 0 ? v->req : 0);
}

/* engine.c: the VU's connection */
void conn_connect(struct engine *e, struct vu *v, int64_t now);
void conn_close(struct engine *e, struct vu *v);
void conn_drive(struct engine *e, struct vu *v, int64_t now);
void conn_broken(struct engine *e, struct vu *v, int64_t now);
enum err_class err_classify(int err);
void timer_start(struct engine *e, struct vu *v, enum timer_kind k, int64_t at);
void backoff_grow(struct vu *v);

/* request.c */
void deadline_clear(struct engine *e, struct vu *v);
void deadline_set(struct engine *e, struct vu *v, int64_t now, int64_t timeout);
int64_t deadline_next(const struct engine *e);
void req_start(struct engine *e, struct vu *v, int req, int64_t now);
void req_send(struct engine *e, struct vu *v, int64_t now);
void req_flush(struct engine *e, struct vu *v, int64_t now);
void req_fail(struct engine *e, struct vu *v, enum err_class cls, int err, int64_t now);
bool req_bytes(struct engine *e, struct vu *v, const uint8_t *data, uint32_t len, int64_t now);
void req_eof(struct engine *e, struct vu *v, int64_t now);
void req_timeouts(struct engine *e, int64_t now);
void bulk_sent(struct engine *e, struct vu *v, int res, uint32_t gen, int64_t now);
void preconnect_fail(struct engine *e, struct vu *v, enum err_class cls, int err);

/* vu.c */
void vu_step(struct engine *e, struct vu *v, int64_t now);
void vu_fill_values(struct engine *e, struct vu *v, struct template_values *tv);
void vu_store_capture(struct vu *v, int slot, const char *val, int len);
void hls_after(struct engine *e, struct vu *v, const struct plan_hls *h, int status, char *body,
               size_t body_len);

/* executor_run.c */
int  sc_setup(struct engine *e, struct sc_rt *sc, const struct plan_scenario *p);
int64_t sc_tick(struct engine *e, struct sc_rt *sc, int64_t now);
void sc_stop(struct engine *e, struct sc_rt *sc);
void sc_free(struct sc_rt *sc);
void iteration_start(struct engine *e, struct vu *v, int64_t intended, bool from_queue, int64_t now);
void iteration_end(struct engine *e, struct vu *v, int64_t now, bool completed);

#endif
