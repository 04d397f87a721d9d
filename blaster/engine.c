/* engine — see engine.h.
 *
 * One request's path: a VU reaches an OP_REQUEST (vu_step) → req_start
 * renders the compiled template into the VU's iovecs and queues a send on
 * its connection (connecting first if it has none) → the multishot receive
 * delivers bytes (on_recv) → the HTTP parser frames the response →
 * req_complete records it in the step's metrics, runs the captures, and the
 * VU steps on. Connections are named by their slot in the ring's file table,
 * which is the VU's index in e->vus; a generation number makes completions
 * that arrive after a close harmless. */
#include "blaster/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/capture.h"
#include "blaster/executor.h"
#include "blaster/hls.h"
#include "blaster/http.h"
#include "blaster/schedule.h"

#define QUEUE_SECONDS   5     /* an arrival-rate queue holds this much of the schedule */
#define BACKOFF_MAX_MS  1000
#define HLS_LIST_BYTES  4096  /* a VU's resolved segment URIs */
#define HLS_MAX_VARIANTS 32
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

/* C_TLS: TCP is up, the TLS handshake is not done yet (https only). */
enum conn_state { C_DOWN, C_CONNECTING, C_TLS, C_OPEN, C_CLOSING };

#define TLS_PLAIN   16384  /* a TLS record's plaintext at most: what one tls_read gives */
#define TLS_STAGE   TLS_STAGE_MIN /* small request pieces gathered into one record */

enum timer_kind { T_THINK, T_PACE, T_BACKOFF };

struct vu {
    uint32_t  gid;            /* VU number in its scenario, 1-based, over all workers */
    uint16_t  sc;
    uint8_t   state, cstate;
    uint8_t   timer_kind;
    bool      stop_after;     /* finish this iteration, then stop (ramp-down, end) */
    bool      in_idle;
    bool      got_first, from_queue;
    bool      retire;         /* stop once the connection is closed */
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
    int64_t   t_conn, t_sent, t_first;
    int64_t   last_done;
    uint64_t  rng;
    uint16_t  hls_seg, hls_nseg;
    uint16_t  caplen[PLAN_MAX_CAPTURES];
    uint32_t  kept;           /* bytes kept of the current response */
    int       send_n;         /* iovecs of the rendered request */
    size_t    send_total;     /* its bytes */
    bool      bulk_wait;      /* rendered, waiting for a bulk slot */
    bool      in_bulkq;       /* has an entry in the bulk FIFO (maybe stale: bulk_wait says) */
    bool      bulk_sending;   /* a bulk send is in flight (its completion frees the slot) */
    size_t    send_off;       /* bulk: bytes sent so far */
    struct iovec *wiov;       /* bulk: the window of iov being sent (max_iov entries) */
    struct tls_conn *tls;     /* https: the connection's TLS state, made when TCP is up */
    bool      tls_sending;    /* https: a ciphertext send is in flight (always reported) */
    bool      close_seen;     /* https: closed while that send was in flight: finish at its completion */
    int64_t   t_tcp;          /* https: TCP established, the handshake's start */
    struct http_resp resp;
    struct ring_timer timer;
    struct msghdr msg;
    struct iovec *iov;
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
    const struct executor_config *s;
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

static inline struct vu *vu_of(struct engine *e, uint32_t i) { return &e->vus[i]; }
static inline uint32_t vu_idx(const struct engine *e, const struct vu *v) { return (uint32_t)(v - e->vus); }
static inline struct sc_rt *sc_of(struct engine *e, const struct vu *v) { return &e->sc[v->sc]; }
static inline struct metrics *req_metrics(struct engine *e, const struct vu *v, int req)
{
    return &e->m[v->sc].req[e->sc[v->sc].p->reqs[req].metric];
}

static void vu_step(struct engine *e, struct vu *v, int64_t now);
static void bulk_push(struct engine *e, struct vu *v);
static bool tls_pump(struct engine *e, struct vu *v, int64_t now);
static void tls_flush(struct engine *e, struct vu *v);
static void iteration_end(struct engine *e, struct vu *v, int64_t now, bool completed);

/* --- deadlines: VUs with a request or connect in flight ---------------------
 * Requests with the same timeout get their deadlines in the order they
 * start, so one FIFO per distinct timeout value keeps them sorted: O(1) to
 * add, remove and check (a heap cost 0.2 us per request at 1000
 * connections). A plan has only a handful of distinct timeouts. */

static int tq_of(struct engine *e, int64_t timeout)
{
    for (int i = 0; i < e->ntq; i++)
        if (e->tq[i].timeout == timeout)
            return i;
    return 0; /* unreachable: engine_init lists every request's timeout */
}

static void deadline_clear(struct engine *e, struct vu *v)
{
    if (v->tq < 0)
        return;
    struct tqueue *q = &e->tq[v->tq];
    if (v->tq_prev >= 0)
        e->vus[v->tq_prev].tq_next = v->tq_next;
    else
        q->head = v->tq_next;
    if (v->tq_next >= 0)
        e->vus[v->tq_next].tq_prev = v->tq_prev;
    else
        q->tail = v->tq_prev;
    v->tq = -1;
    v->tq_prev = v->tq_next = -1;
}

/* The operation in flight must complete by now + timeout. */
static void deadline_set(struct engine *e, struct vu *v, int64_t now, int64_t timeout)
{
    deadline_clear(e, v);
    int k = tq_of(e, timeout);
    struct tqueue *q = &e->tq[k];
    int32_t i = (int32_t)vu_idx(e, v);
    v->deadline = now + timeout;
    v->tq = (int16_t)k;
    v->tq_prev = q->tail;
    v->tq_next = -1;
    if (q->tail >= 0)
        e->vus[q->tail].tq_next = i;
    else
        q->head = i;
    q->tail = i;
}

/* The earliest deadline, or INT64_MAX. */
static int64_t deadline_next(const struct engine *e)
{
    int64_t t = INT64_MAX;
    for (int i = 0; i < e->ntq; i++)
        if (e->tq[i].head >= 0 && e->vus[e->tq[i].head].deadline < t)
            t = e->vus[e->tq[i].head].deadline;
    return t;
}

/* --- connections ------------------------------------------------------------ */

static enum err_class classify(int err)
{
    switch (err) {
    case ECONNREFUSED: return ERR_REFUSED;
    case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN: return ERR_RESET;
    case ETIMEDOUT: return ERR_TIMEOUT;
    default: return ERR_OTHER;
    }
}

static void conn_close(struct engine *e, struct vu *v)
{
    if (v->cstate == C_DOWN || v->cstate == C_CLOSING)
        return;
    if (v->cstate == C_OPEN || v->cstate == C_TLS)
        e->open_conns--;
    v->cstate = C_CLOSING;
    ring_close(&e->ring, vu_idx(e, v), v->gen, false);
}

static void timer_start(struct engine *e, struct vu *v, enum timer_kind k, int64_t at)
{
    v->tgen++;
    v->timer_kind = (uint8_t)k;
    v->state = VU_SLEEP;
    ring_timer_at(&e->ring, &v->timer, vu_idx(e, v), v->tgen, at);
}

static void backoff_grow(struct vu *v)
{
    v->backoff_ms = v->backoff_ms ? v->backoff_ms * 2 : 10;
    if (v->backoff_ms > BACKOFF_MAX_MS)
        v->backoff_ms = BACKOFF_MAX_MS;
}

/* The request could not be made or got no valid response: k6 counts it as
 * a request with status 0, and the iteration goes on with the next step. */
static void req_fail(struct engine *e, struct vu *v, enum err_class cls, int err, int64_t now)
{
    v->bulk_wait = false;
    if (v->req >= 0) {
        struct metrics *m = req_metrics(e, v, v->req);
        metrics_error(m, cls, err);
        if (sc_of(e, v)->p->reqs[v->req].has_expect)
            m->checks_fail++;
    }
    deadline_clear(e, v);
    v->req = -1;
    v->last_done = now;
    v->intended = now;
    conn_close(e, v);
    v->hls_phase = 0; /* a failed playlist or segment ends the player's step */
    v->pc++;
    v->state = VU_READY;
}

static void conn_connect(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    v->t_conn = now;
    int err = ring_connect(&e->ring, vu_idx(e, v), v->gen, (const struct sockaddr *)&sc->p->addr,
                           sc->p->addrlen, NULL, 0);
    if (err) {
        backoff_grow(v);
        if (v->req < 0) {
            struct metrics *m = req_metrics(e, v, 0);
            m->errors[classify(-err)]++;
            m->last_errno[classify(-err)] = -err;
            return;
        }
        req_fail(e, v, classify(-err), -err, now);
        vu_step(e, v, now);
        return;
    }
    v->cstate = C_CONNECTING;
    if (v->req >= 0)
        v->state = VU_CONNECT;
    deadline_set(e, v, now, sc->p->reqs[v->req >= 0 ? v->req : 0].timeout_ns);
}

/* A connection opened ahead of any request (preconnect) failed or timed
 * out: count it, and let the VU's first request connect again. */
static void preconnect_fail(struct engine *e, struct vu *v, enum err_class cls, int err)
{
    struct metrics *m = req_metrics(e, v, 0);
    m->errors[cls]++;
    m->last_errno[cls] = err;
    deadline_clear(e, v);
    conn_close(e, v);
}

/* --- requests ----------------------------------------------------------------- */

static void fill_values(struct engine *e, struct vu *v, struct template_values *tv)
{
    struct sc_rt *sc = sc_of(e, v);
    tv->vu = v->gid;
    tv->iter = v->iter;
    memcpy(tv->loop, v->loop, sizeof tv->loop);
    for (int i = 0; i < sc->p->ncaptures; i++) {
        tv->capture[i].ptr = v->cap + (size_t)i * PLAN_CAPTURE_LEN;
        tv->capture[i].len = v->caplen[i];
    }
    tv->rng = &v->rng;
}

/* The next piece of a bulk request, from send_off, at most BULK_CHUNK bytes,
 * taking the worker's bulk slot. Pieces of one request follow each other
 * (the next is queued only when the previous completed), so they stay in
 * order on the socket. */
static void bulk_send_piece(struct engine *e, struct vu *v)
{
    size_t skip = v->send_off, left = BULK_CHUNK;
    int n = 0;
    for (int i = 0; i < v->send_n && left; i++) {
        size_t len = v->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t take = len - skip < left ? len - skip : left;
        v->wiov[n++] = (struct iovec){ (char *)v->iov[i].iov_base + skip, take };
        left -= take;
        skip = 0;
    }
    v->bulk_sending = true;
    e->bulk_inflight++;
    v->msg = (struct msghdr){ .msg_iov = v->wiov, .msg_iovlen = (size_t)n };
    ring_sendmsg(&e->ring, vu_idx(e, v), v->gen, &v->msg, false);
}

/* Put the rendered request on the wire: from here its service time runs. */
static void req_submit(struct engine *e, struct vu *v, int64_t now)
{
    const struct plan_request *rq = &sc_of(e, v)->p->reqs[v->req];
    http_resp_init(&v->resp, rq->t.is_head);
    v->t_sent = now;
    v->got_first = false;
    v->kept = 0;
    if (!v->from_queue) {
        /* The client's own lateness: how long after the later of "due" and
         * "the connection was free" the request actually left (a wait for a
         * bulk slot included: that is the client's doing too). */
        int64_t ready = v->intended > v->ready ? v->intended : v->ready;
        hist_record(&req_metrics(e, v, v->req)->lag, ns_to_us(now - ready));
    }
    v->from_queue = false;
    if (v->tls) {
        /* Encrypted a record at a time as the output drains (tls_progress);
         * data_sent counts the ciphertext as it leaves. */
        v->send_off = 0;
        v->state = VU_BUSY;
        deadline_set(e, v, now, rq->timeout_ns);
        if (tls_pump(e, v, now))
            tls_flush(e, v);
        return;
    }
    bool bulk = v->send_total >= BULK_MIN;
    if (bulk) {
        v->send_off = 0;
        bulk_send_piece(e, v);
    } else if (v->send_n == 1) {
        ring_send(&e->ring, vu_idx(e, v), v->gen, v->iov[0].iov_base, v->iov[0].iov_len, true);
    } else {
        /* Read by the kernel when submitted (6.x copies the msghdr at prep);
         * the iovecs point into the shared compiled template, the VU's
         * scratch and captures, which do not change until the response. */
        v->msg = (struct msghdr){ .msg_iov = v->iov, .msg_iovlen = (size_t)v->send_n };
        ring_sendmsg(&e->ring, vu_idx(e, v), v->gen, &v->msg, true);
    }
    req_metrics(e, v, v->req)->bytes_sent += v->send_total;
    v->state = VU_BUSY;
    deadline_set(e, v, now, rq->timeout_ns);
}

static void req_send(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    const struct plan_request *rq = &sc->p->reqs[v->req];
    struct template_values tv;
    fill_values(e, v, &tv);
    size_t total = 0;
    int n = template_request_render_iov(&rq->t, &tv, v->iov, v->max_iov, v->scratch, v->scratch_len, &total);
    if (n < 0) {
        req_fail(e, v, ERR_OTHER, EINVAL, now);
        return;
    }
    v->send_n = n;
    v->send_total = total;
    if (total >= BULK_MIN && !v->tls && e->bulk_inflight >= BULK_MAX) {
        /* A large body is hundreds of microseconds of the worker's CPU
         * (copying, and the loopback TCP path), run inside io_uring_enter:
         * many at once would make every timer of the worker late. Paced
         * requests go first; large sends take turns for the spare cycles. */
        v->send_off = 0; /* a new request: the pump submits it whole */
        bulk_push(e, v);
        v->state = VU_BUSY;
        deadline_set(e, v, now, rq->timeout_ns);
        return;
    }
    req_submit(e, v, now);
}

/* Wait for the bulk slot. A VU has at most one entry in the FIFO: one left
 * behind when it gave up waiting serves again, so the FIFO never holds more
 * than one entry per VU. */
static void bulk_push(struct engine *e, struct vu *v)
{
    v->bulk_wait = true;
    if (v->in_bulkq)
        return;
    v->in_bulkq = true;
    e->bulkq[(e->bulkq_head + e->bulkq_len++) % e->nvus] = vu_idx(e, v);
}

/* Give free bulk slots to the VUs waiting for one, in order. */
static void bulk_pump(struct engine *e, int64_t now)
{
    while (e->bulk_inflight < BULK_MAX && e->bulkq_len) {
        struct vu *v = vu_of(e, e->bulkq[e->bulkq_head]);
        e->bulkq_head = (e->bulkq_head + 1) % e->nvus;
        e->bulkq_len--;
        v->in_bulkq = false;
        if (!v->bulk_wait)
            continue; /* gave up meanwhile (timeout, close, end) */
        v->bulk_wait = false;
        if (v->send_off)
            bulk_send_piece(e, v); /* the rest of a body already on its way */
        else
            req_submit(e, v, now);
    }
}

static void req_start(struct engine *e, struct vu *v, int req, int64_t now)
{
    v->req = req;
    if (v->cstate == C_OPEN) {
        req_send(e, v, now);
    } else if (v->cstate == C_DOWN) {
        if (v->backoff_ms) {
            /* Refused or failed recently: wait before the next attempt. */
            timer_start(e, v, T_BACKOFF, now + (int64_t)v->backoff_ms * 1000000);
            return;
        }
        conn_connect(e, v, now);
    } else if (v->cstate == C_CONNECTING || v->cstate == C_TLS) {
        v->state = VU_CONNECT; /* a preconnect is under way: its end sends */
        deadline_set(e, v, now, sc_of(e, v)->p->reqs[req].timeout_ns);
    } else {
        v->state = VU_CONNECT; /* closing: the close completion reconnects */
    }
}

static void store_capture(struct vu *v, int slot, const char *val, int len)
{
    char *dst = v->cap + (size_t)slot * PLAN_CAPTURE_LEN;
    int n = len > 0 ? len : 0;
    if (n > PLAN_CAPTURE_LEN)
        n = PLAN_CAPTURE_LEN;
    /* Captured text goes into request heads: never let CR or LF through. */
    for (int i = 0; i < n; i++)
        dst[i] = (val[i] == '\r' || val[i] == '\n') ? ' ' : val[i];
    v->caplen[slot] = (uint16_t)n;
}

/* Captures after a complete response; false when one was not found. */
static bool run_captures(struct engine *e, struct vu *v, const struct plan_request *rq,
                         char **body, size_t *body_len)
{
    size_t head_len = 0;
    *body = NULL;
    *body_len = 0;
    if (capture_split(v->body, v->kept, &head_len, body, body_len) != 0)
        return rq->ncaptures == 0;
    bool ok = true;
    char val[PLAN_CAPTURE_LEN + 1];
    for (int i = 0; i < rq->ncaptures; i++) {
        const struct plan_capture *c = &rq->captures[i];
        int n = c->kind == CAPTURE_HEADER ? capture_header(v->body, head_len, c->path, val, sizeof val)
                                          : capture_json(*body, *body_len, c->path, val, sizeof val);
        if (n < 0) {
            ok = false;
            n = 0;
        }
        store_capture(v, c->slot, val, n);
    }
    return ok;
}

static bool expected(const struct plan_request *rq, int st)
{
    return st >= 0 && st < 64 * PLAN_MAX_EXPECT_WORDS && (rq->expect[st / 64] >> (st % 64) & 1);
}

static void hls_after(struct engine *e, struct vu *v, const struct plan_hls *h, int status,
                      char *body, size_t body_len);

static void req_complete(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    const struct plan_request *rq = &sc->p->reqs[v->req];
    struct metrics *m = req_metrics(e, v, v->req);
    int st = v->resp.status;
    bool ok = expected(rq, st);
    m->reqs++;
    if (st >= 0 && st < METRICS_MAX_STATUS)
        m->status[st]++;
    int64_t dur = ns_to_us(now - v->intended);
    hist_record(&m->duration, dur);
    hist_record(&m->service, ns_to_us(now - v->t_sent));
    hist_record(&m->waiting, ns_to_us(v->t_first - v->t_sent));
    if (ok)
        hist_record(&m->duration_ok, dur);
    else
        m->failed++;

    char *body = NULL;
    size_t body_len = 0;
    bool captured = true;
    if (rq->keep_body || rq->keep_head)
        captured = run_captures(e, v, rq, &body, &body_len);
    if (rq->has_expect || rq->ncaptures) {
        if (ok && captured)
            m->checks_pass++;
        else
            m->checks_fail++;
    }
    deadline_clear(e, v);
    v->last_done = now;
    v->intended = now;
    v->ready = now;
    v->backoff_ms = 0;
    /* Answered before its body was all sent (an early 4xx, say): the stream
     * cannot carry another request behind a send still in flight. */
    if (!v->resp.keep_alive || v->bulk_sending || v->bulk_wait || (v->tls && v->send_off < v->send_total)) {
        v->bulk_wait = false;
        conn_close(e, v);
    }
    const struct op *op = &sc->p->ops[v->pc];
    v->req = -1;
    v->state = VU_READY;
    if (op->kind == OP_HLS)
        hls_after(e, v, &sc->p->hls[op->a], st, body, body_len);
    else
        v->pc++;
}

/* --- the HLS player step ------------------------------------------------------ */

struct seg_ctx { struct vu *v; const char *hostport; size_t used; uint16_t n, max; };

static bool seg_each(void *ctx, const char *uri, size_t len)
{
    struct seg_ctx *c = ctx;
    char path[PLAN_CAPTURE_LEN];
    int n = hls_resolve(c->v->hls_base, uri, len, c->hostport, path, sizeof path);
    if (n < 0 || c->used + (size_t)n + 1 > HLS_LIST_BYTES)
        return false;
    memcpy(c->v->hls + c->used, path, (size_t)n + 1);
    c->used += (size_t)n + 1;
    c->n++;
    return c->max == 0 || c->n < c->max;
}

static const char *nth_segment(const struct vu *v, int i)
{
    const char *p = v->hls;
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

static void hls_set_uri(struct vu *v, const struct plan_hls *h, const char *path)
{
    store_capture(v, h->uri_slot, path, (int)strlen(path));
}

/* A playlist or segment came back: move the player on. */
static void hls_after(struct engine *e, struct vu *v, const struct plan_hls *h, int status,
                      char *body, size_t body_len)
{
    const struct plan_scenario *p = sc_of(e, v)->p;
    if (status != 200) {
        v->hls_phase = 0;
        v->pc++;
        return;
    }
    if (v->hls_phase == 1) { /* the master: choose a variant */
        struct hls_variant_info var[HLS_MAX_VARIANTS];
        int nv = body ? hls_parse_master(body, body_len, var, HLS_MAX_VARIANTS) : -1;
        int which = h->variant == HLS_LOWEST ? 0 : h->variant == HLS_HIGHEST ? 1 : 2;
        int k = nv > 0 ? hls_choose(var, nv, which, h->variant_name) : -1;
        char path[PLAN_CAPTURE_LEN];
        if (k < 0 || hls_resolve(v->hls_base, var[k].uri, var[k].uri_len, p->url.hostport, path, sizeof path) < 0) {
            req_metrics(e, v, h->req_master)->checks_fail++;
            v->hls_phase = 0;
            v->pc++;
            return;
        }
        hls_set_uri(v, h, path);
        snprintf(v->hls_base, PLAN_CAPTURE_LEN, "%s", path);
        v->hls_phase = 2;
    } else if (v->hls_phase == 2) { /* the media playlist: its segments */
        struct seg_ctx c = { .v = v, .hostport = p->url.hostport, .max = (uint16_t)h->segments };
        bool endlist;
        if (!body || hls_parse_media(body, body_len, seg_each, &c, &endlist) < 0 || c.n == 0) {
            req_metrics(e, v, h->req_media)->checks_fail++;
            v->hls_phase = 0;
            v->pc++;
            return;
        }
        v->hls_nseg = c.n;
        v->hls_seg = 0;
        hls_set_uri(v, h, nth_segment(v, 0));
        v->hls_phase = 3;
    } else { /* a segment */
        if (++v->hls_seg >= v->hls_nseg) {
            v->hls_phase = 0;
            v->pc++;
            return;
        }
        hls_set_uri(v, h, nth_segment(v, v->hls_seg));
    }
}

static int hls_next_request(struct engine *e, struct vu *v, const struct plan_hls *h)
{
    if (v->hls_phase == 0) {
        /* The master's own path is the base its variants resolve against:
         * render it once to know it. */
        struct template_values tv;
        fill_values(e, v, &tv);
        uint64_t saved = v->rng;
        char line[PLAN_CAPTURE_LEN + 32];
        int64_t n = template_render_flat(&sc_of(e, v)->p->reqs[h->req_master].t.head, &tv, line, sizeof line - 1);
        v->rng = saved; /* the send renders it again and must draw the same */
        v->hls_base[0] = 0;
        if (n > 0) {
            line[n] = 0;
            char *sp = strchr(line, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
            if (sp && end && end - sp - 1 < (long)PLAN_CAPTURE_LEN) {
                memcpy(v->hls_base, sp + 1, (size_t)(end - sp - 1));
                v->hls_base[end - sp - 1] = 0;
            }
        }
        v->hls_phase = 1;
        return h->req_master;
    }
    return v->hls_phase == 2 ? h->req_media : h->req_segment;
}

/* --- the VU program ------------------------------------------------------------- */

static void vu_step(struct engine *e, struct vu *v, int64_t now)
{
    const struct plan_scenario *p = sc_of(e, v)->p;
    while (v->state == VU_READY) {
        const struct op *op = &p->ops[v->pc];
        switch (op->kind) {
        case OP_REQUEST:
            req_start(e, v, (int)op->a, now);
            return;
        case OP_THINK: {
            int64_t d = op->t0;
            if (op->t1 > op->t0)
                d += (int64_t)((double)(op->t1 - op->t0) * ((double)(template_draw(&v->rng, 1u << 30)) / (double)(1u << 30)));
            v->pc++;
            /* The next request is intended at the end of the think time,
             * counted from the previous completion. */
            v->intended = v->last_done + d;
            if (v->intended > now) {
                timer_start(e, v, T_THINK, v->intended);
                return;
            }
            break;
        }
        case OP_LOOP:
            v->loop[op->a] = 1;
            v->pc++;
            break;
        case OP_NEXT:
            if (++v->loop[op->a] <= op->b)
                v->pc = op->c;
            else
                v->pc++;
            break;
        case OP_PICK: {
            const struct plan_pick *pk = &p->picks[op->a];
            v->pc = pk->target[plan_pick_branch(pk, template_draw(&v->rng, pk->total))];
            break;
        }
        case OP_JUMP:
            v->pc = op->a;
            break;
        case OP_HLS:
            req_start(e, v, hls_next_request(e, v, &p->hls[op->a]), now);
            return;
        case OP_END:
        default:
            iteration_end(e, v, now, true);
            return;
        }
    }
}

/* --- executors -------------------------------------------------------------------- */

static void vu_activate(struct engine *e, struct sc_rt *sc, struct vu *v)
{
    if (v->state != VU_OFF)
        return;
    v->state = VU_IDLE;
    v->stop_after = false;
    sc->active++;
    if (sc->active > sc->m->vus_max)
        sc->m->vus_max = sc->active;
    if (sc->s->preconnect && v->cstate == C_DOWN && !v->backoff_ms)
        conn_connect(e, v, ring_now());
}

static void vu_deactivate(struct engine *e, struct sc_rt *sc, struct vu *v)
{
    if (v->state == VU_OFF)
        return;
    deadline_clear(e, v);
    v->bulk_wait = false;
    v->state = VU_OFF;
    v->stop_after = false;
    v->tgen++;
    sc->active--;
    /* k6 keeps a stopped VU's connections; a VU stopped for good closes its. */
    conn_close(e, v);
}

static void iteration_start(struct engine *e, struct vu *v, int64_t intended, bool from_queue, int64_t now)
{
    v->iter_start = intended;
    v->intended = intended;
    v->last_done = intended;
    v->from_queue = from_queue;
    v->pc = 0;
    v->hls_phase = 0;
    memset(v->caplen, 0, sizeof v->caplen);
    v->state = VU_READY;
    vu_step(e, v, now);
}

static void idle_push(struct sc_rt *sc, struct vu *v, uint32_t i)
{
    v->state = VU_IDLE;
    if (!v->in_idle) {
        v->in_idle = true;
        sc->idle[sc->nidle++] = i;
    }
}

static struct vu *idle_pop(struct engine *e, struct sc_rt *sc)
{
    while (sc->nidle) {
        struct vu *v = vu_of(e, sc->idle[--sc->nidle]);
        v->in_idle = false;
        if (v->state == VU_IDLE)
            return v;
    }
    return NULL;
}

/* Whether an active VU of a closed-model executor starts another iteration. */
static bool may_iterate(struct sc_rt *sc, struct vu *v, int64_t now)
{
    if (sc->ending || v->stop_after || now >= sc->end)
        return false;
    switch (sc->s->executor) {
    case EXEC_PER_VU_ITERATIONS:
        return v->iters_done < sc->s->iterations;
    case EXEC_SHARED_ITERATIONS:
        if (!sc->shared_left)
            return false;
        sc->shared_left--;
        return true;
    default:
        return true;
    }
}

static void iteration_end(struct engine *e, struct vu *v, int64_t now, bool completed)
{
    struct sc_rt *sc = sc_of(e, v);
    if (completed) {
        sc->m->iterations++;
        hist_record(&sc->m->iteration_duration, ns_to_us(now - v->iter_start));
        v->iters_done++;
    }
    v->iter++;
    if (sc->open) {
        if (sc->ending || v->stop_after || now >= sc->end) {
            vu_deactivate(e, sc, v);
        } else if (sc->qlen) {
            int64_t t = sc->queue[sc->qhead];
            sc->qhead = (sc->qhead + 1) & (sc->qcap - 1);
            sc->qlen--;
            iteration_start(e, v, t, true, now);
        } else {
            idle_push(sc, v, vu_idx(e, v));
        }
        return;
    }
    if (!may_iterate(sc, v, now)) {
        vu_deactivate(e, sc, v);
        return;
    }
    if (sc->s->pace_ns > 0) {
        /* On pace, the next iteration is due one pace after this one was:
         * when late it starts at once, and its lateness counts. */
        int64_t next = v->iter_start + sc->s->pace_ns;
        if (next > now) {
            v->iter_start = next;
            timer_start(e, v, T_PACE, next);
            return;
        }
        iteration_start(e, v, next, false, now);
        return;
    }
    /* Back to back: the next iteration was due when this one's last step
     * ended as intended (a think's end, not when its timer fired), so a late
     * timer counts in client_lag. */
    iteration_start(e, v, v->intended < now ? v->intended : now, false, now);
}

static void sc_arrival(struct engine *e, struct sc_rt *sc, int64_t t, int64_t now)
{
    struct vu *v = idle_pop(e, sc);
    if (v) {
        iteration_start(e, v, t, false, now);
    } else if (sc->qlen < sc->qcap) {
        sc->queue[(sc->qhead + sc->qlen) & (sc->qcap - 1)] = t;
        sc->qlen++;
        sc->m->req[0].queued++;
    } else {
        sc->m->dropped++;
    }
}

static int64_t sc_take_arrival(struct sc_rt *sc)
{
    int64_t t = sc->next_arrival;
    if (sc->use_sched) {
        schedule_take(&sc->sched);
        sc->next_arrival = schedule_peek(&sc->sched);
    } else {
        int64_t n = arrivals_next(&sc->arr);
        sc->next_arrival = n < 0 ? INT64_MAX : sc->start + n;
    }
    return t;
}

/* Set the closed-model VUs active to match this worker's target (ramping-
 * vus, executor.h's contract): local VU k is active when k < target, so VUs
 * start and stop in order; VUs above it finish their iteration, then stop. */
static void sc_set_target(struct engine *e, struct sc_rt *sc, uint32_t target, int64_t now)
{
    for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
        struct vu *v = vu_of(e, i);
        if (i - sc->first < target) {
            if (v->state == VU_OFF) {
                vu_activate(e, sc, v);
                iteration_start(e, v, now, false, now);
            } else {
                v->stop_after = false;
            }
        } else if (v->state != VU_OFF) {
            v->stop_after = true;
            if (v->state == VU_IDLE)
                vu_deactivate(e, sc, v);
        }
    }
}

/* Move one scenario's executor to `now`; returns its next event time. */
static int64_t sc_tick(struct engine *e, struct sc_rt *sc, int64_t now)
{
    if (sc->done)
        return INT64_MAX;
    if (!sc->started) {
        if (now < sc->start)
            return sc->start;
        sc->started = true;
        if (sc->open) {
            for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
                struct vu *v = vu_of(e, i);
                if (v->gid <= sc->s->pre_allocated_vus || sc->s->pre_allocated_vus == 0) {
                    vu_activate(e, sc, v);
                    idle_push(sc, v, i);
                }
            }
        } else if (sc->s->executor != EXEC_RAMPING_VUS) {
            for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
                struct vu *v = vu_of(e, i);
                vu_activate(e, sc, v);
                if (may_iterate(sc, v, now))
                    iteration_start(e, v, now, false, now);
                else
                    vu_deactivate(e, sc, v);
            }
        }
    }
    if (sc->open && !sc->ending) {
        while (sc->next_arrival <= now && sc->next_arrival < sc->end) {
            int64_t t = sc_take_arrival(sc);
            /* k6 adds VUs up to max_vus when the pre-allocated are busy. */
            if (!sc->nidle) {
                for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
                    struct vu *v = vu_of(e, i);
                    if (v->state == VU_OFF) {
                        vu_activate(e, sc, v);
                        idle_push(sc, v, i);
                        break;
                    }
                }
            }
            sc_arrival(e, sc, t, now);
        }
    }
    while (sc->next_change < sc->nchanges && sc->start + sc->changes[sc->next_change].t_ns <= now) {
        sc_set_target(e, sc, sc->changes[sc->next_change].vus, now);
        sc->next_change++;
    }
    /* Graceful ramp-down is over for VUs above the cap: interrupt them. */
    while (sc->next_cap < sc->ncaps && sc->start + sc->caps[sc->next_cap].t_ns <= now) {
        uint32_t lim = sc->caps[sc->next_cap].vus;
        for (uint32_t i = sc->first + lim; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->state == VU_OFF)
                continue;
            sc->m->interrupted++;
            if (v->state == VU_BUSY)
                req_metrics(e, v, v->req)->interrupted++;
            vu_deactivate(e, sc, v);
        }
        sc->next_cap++;
    }
    /* Iteration executors end when their VUs have run every iteration, not
     * at max_duration. */
    bool finished = (sc->s->executor == EXEC_PER_VU_ITERATIONS || sc->s->executor == EXEC_SHARED_ITERATIONS) &&
                    sc->active == 0;
    if (!sc->ending && (now >= sc->end || finished)) {
        /* No new iterations from here; those running may finish within the
         * graceful stop. What is still queued was due and never started. */
        sc->ending = true;
        sc->m->dropped += sc->qlen;
        sc->qlen = 0;
        for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->state == VU_IDLE || v->state == VU_SLEEP)
                vu_deactivate(e, sc, v);
            else if (v->state != VU_OFF)
                v->stop_after = true;
        }
    }
    if (sc->ending) {
        bool running = false;
        for (uint32_t i = sc->first; i < sc->first + sc->n && !running; i++)
            running = vu_of(e, i)->state != VU_OFF;
        if (running && now >= sc->hard_end) {
            for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
                struct vu *v = vu_of(e, i);
                if (v->state != VU_OFF) {
                    sc->m->interrupted++;
                    if (v->state == VU_BUSY)
                        req_metrics(e, v, v->req)->interrupted++;
                    vu_deactivate(e, sc, v);
                }
            }
            running = false;
        }
        if (!running) {
            sc->done = true;
            return INT64_MAX;
        }
        return sc->hard_end;
    }
    int64_t next = sc->end;
    if (sc->open && sc->next_arrival < next)
        next = sc->next_arrival;
    if (sc->next_change < sc->nchanges && sc->start + sc->changes[sc->next_change].t_ns < next)
        next = sc->start + sc->changes[sc->next_change].t_ns;
    if (sc->next_cap < sc->ncaps && sc->start + sc->caps[sc->next_cap].t_ns < next)
        next = sc->start + sc->caps[sc->next_cap].t_ns;
    return next;
}

/* A connection went wrong outside a plain request's path (a TLS failure, a
 * TLS send that failed): the request waiting on it fails, a preconnect
 * counts its error, an idle connection just closes. */
static void conn_failed(struct engine *e, struct vu *v, enum err_class cls, int err, int64_t now)
{
    if (v->req >= 0 && (v->state == VU_BUSY || v->state == VU_CONNECT)) {
        req_fail(e, v, cls, err, now);
        vu_step(e, v, now);
    } else if (v->req < 0 && v->tq >= 0) {
        preconnect_fail(e, v, cls, err);
    } else {
        conn_close(e, v);
    }
}

/* --- https: the connection's bytes through tls/ ------------------------------------------ */

static void tls_failed(struct engine *e, struct vu *v, const char *why, int64_t now)
{
    struct metrics *m = req_metrics(e, v, v->req >= 0 ? v->req : 0);
    snprintf(m->tls_reason, sizeof m->tls_reason, "%s", why && *why ? why : "TLS error");
    if (v->cstate == C_TLS) {
        /* A server that refuses handshakes is not hammered: back off as
         * after a refused connect. */
        backoff_grow(v);
        if (!e->ever_handshook && ++e->tls_failures >= e->nvus && !e->fatal[0]) {
            bool verify = strncmp(m->tls_reason, "certificate verification", 24) == 0;
            snprintf(e->fatal, sizeof e->fatal, "TLS: %s%s", m->tls_reason,
                     verify ? " (trust its CA with --cacert FILE, or skip verification with --insecure)" : "");
        }
    }
    conn_failed(e, v, ERR_TLS, EPROTO, now);
}

/* The handshake is done: the connection is ready for requests. */
static void tls_established(struct engine *e, struct vu *v, int64_t now)
{
    struct metrics *m = req_metrics(e, v, v->req >= 0 ? v->req : 0);
    m->handshakes++;
    if (tls_resumed(v->tls))
        m->resumed++;
    hist_record(&m->tls_handshaking, ns_to_us(now - v->t_tcp));
    snprintf(m->tls_protocol, sizeof m->tls_protocol, "%s", tls_protocol(v->tls));
    e->ever_handshook = true;
    v->cstate = C_OPEN;
    v->ready = now;
    deadline_clear(e, v);
    if (v->req >= 0)
        req_send(e, v, now);
}

/* Encrypt what the request in flight has left to send, as far as the TLS
 * output buffer takes it (tls_writev: a few records; the head and a short
 * body gathered into one, a shared large body encrypted where it is, never
 * copied per VU). false when it failed. */
static bool tls_pump(struct engine *e, struct vu *v, int64_t now)
{
    if (v->cstate != C_OPEN || v->state != VU_BUSY || v->req < 0 || v->send_off >= v->send_total)
        return true;
    ssize_t w = tls_writev(v->tls, v->iov, v->send_n, v->send_off, e->plain + TLS_PLAIN, TLS_STAGE);
    if (w < 0) {
        tls_failed(e, v, tls_error(v->tls), now);
        return false;
    }
    v->send_off += (size_t)w;
    return true;
}

/* Send what is encrypted, one send in flight per connection (two sends on
 * one socket could interleave). Always reported: its completion frees the
 * output buffer. */
static void tls_flush(struct engine *e, struct vu *v)
{
    if (v->tls_sending || (v->cstate != C_OPEN && v->cstate != C_TLS))
        return;
    size_t len;
    const uint8_t *p = tls_pending(v->tls, &len);
    if (!len)
        return;
    v->tls_sending = true;
    ring_send(&e->ring, vu_idx(e, v), v->gen, p, len, false);
}

static bool on_plain(struct engine *e, struct vu *v, const uint8_t *data, uint32_t len, int64_t now);
static void on_eof(struct engine *e, struct vu *v, int64_t now);

/* Move a TLS connection on after ciphertext arrived or a send completed:
 * decrypt what there is (driving the handshake until it is done) and hand
 * it to the HTTP parser, then encrypt and send what the request has left. */
static void tls_progress(struct engine *e, struct vu *v, int64_t now)
{
    struct tls_conn *t = v->tls;
    for (;;) {
        bool handshaking = v->cstate == C_TLS;
        int n = tls_read(t, e->plain, TLS_PLAIN);
        if (handshaking && tls_handshake_done(t)) {
            tls_established(e, v, now);
            if (v->cstate != C_OPEN)
                return; /* the request could not be sent */
        }
        if (n > 0) {
            on_plain(e, v, e->plain, (uint32_t)n, now);
            if (v->cstate != C_OPEN)
                return; /* the response closed it, or bytes nobody asked for */
            continue;
        }
        if (n == TLS_WANT)
            break;
        if (n == TLS_CLOSED) {
            on_eof(e, v, now); /* close_notify: the server's end of the stream */
            return;
        }
        tls_failed(e, v, tls_error(t), now);
        return;
    }
    if (tls_pump(e, v, now))
        tls_flush(e, v);
}

/* A TLS send completed. */
static void tls_sent(struct engine *e, struct vu *v, int res, int64_t now);

/* --- completions ---------------------------------------------------------------------- */

static void on_connect(struct engine *e, struct vu *v, int res, int64_t now)
{
    if (res < 0) {
        e->connect_failures++;
        backoff_grow(v);
        if (!e->ever_connected && e->connect_failures >= e->nvus) {
            snprintf(e->fatal, sizeof e->fatal, "could not connect: %s (%s)",
                     strerror(-res), err_class_name[classify(-res)]);
        }
        if (v->req < 0) {
            preconnect_fail(e, v, classify(-res), -res);
            return;
        }
        req_fail(e, v, classify(-res), -res, now);
        vu_step(e, v, now);
        return;
    }
    e->ever_connected = true;
    e->open_conns++;
    v->cstate = C_OPEN;
    v->backoff_ms = 0;
    v->ready = now;
    struct metrics *m = req_metrics(e, v, v->req >= 0 ? v->req : 0);
    m->connects++;
    hist_record(&m->connecting, ns_to_us(now - v->t_conn));
    ring_recv(&e->ring, vu_idx(e, v), v->gen);
    if (sc_of(e, v)->p->tls) {
        /* The handshake runs within the same deadline as the connect. */
        v->cstate = C_TLS;
        v->t_tcp = now;
        if (tls_conn_new(&v->tls, e->cfg.tls, sc_of(e, v)->p->server_name) != 0) {
            v->tls = NULL;
            struct metrics *mm = req_metrics(e, v, v->req >= 0 ? v->req : 0);
            snprintf(mm->tls_reason, sizeof mm->tls_reason, "out of memory for a TLS connection");
            conn_failed(e, v, ERR_TLS, ENOMEM, now);
            return;
        }
        tls_progress(e, v, now); /* the ClientHello */
        return;
    }
    deadline_clear(e, v);
    if (v->req >= 0)
        req_send(e, v, now);
}

static void keep_bytes(struct vu *v, const uint8_t *data, uint32_t len)
{
    uint32_t room = PLAN_BODY_KEEP - v->kept;
    uint32_t n = len < room ? len : room;
    memcpy(v->body + v->kept, data, n);
    v->kept += n;
}

/* Response bytes (decrypted, for https) for the VU's request. true when the
 * response needs more; false when it ended, failed, or was not asked for. */
static bool on_plain(struct engine *e, struct vu *v, const uint8_t *data, uint32_t len, int64_t now)
{
    if (v->state != VU_BUSY) {
        /* Bytes nobody asked for: the stream can no longer be framed. */
        conn_close(e, v);
        return false;
    }
    struct metrics *m = req_metrics(e, v, v->req);
    if (!v->tls)
        m->bytes_recv += len; /* https counts the ciphertext, as it arrives */
    if (!v->got_first) {
        v->got_first = true;
        v->t_first = now;
    }
    const struct plan_request *rq = &sc_of(e, v)->p->reqs[v->req];
    if (v->body && (rq->keep_body || rq->keep_head))
        keep_bytes(v, data, len);
    size_t used;
    enum http_rc rc = http_resp_feed(&v->resp, data, len, &used);
    if (rc == HTTP_PARTIAL)
        return true;
    if (rc == HTTP_DONE) {
        bool extra = used < len;
        req_complete(e, v, now);
        if (extra)
            conn_close(e, v); /* bytes after the response: unsolicited */
        vu_step(e, v, now);
        return false;
    }
    req_fail(e, v, ERR_PARSE, 0, now);
    vu_step(e, v, now);
    return false;
}

/* The server closed: that completes a close-delimited body, fails a request
 * in flight, and on an idle connection is just a close. */
static void on_eof(struct engine *e, struct vu *v, int64_t now)
{
    if (v->cstate == C_TLS) {
        tls_failed(e, v, "the server closed the connection during the TLS handshake", now);
        return;
    }
    if (v->state == VU_BUSY) {
        if (http_resp_eof(&v->resp) == HTTP_DONE) {
            req_complete(e, v, now);
            conn_close(e, v);
        } else {
            req_fail(e, v, ERR_RESET, ECONNRESET, now);
        }
        vu_step(e, v, now);
    } else {
        conn_close(e, v);
    }
}

static void on_recv(struct engine *e, struct vu *v, const struct ring_event *ev, int64_t now)
{
    if (ev->res > 0) {
        if (v->tls) {
            req_metrics(e, v, v->req >= 0 ? v->req : 0)->bytes_recv += ev->len;
            if (tls_feed(v->tls, ev->data, ev->len) != 0)
                tls_failed(e, v, tls_error(v->tls), now);
            else
                tls_progress(e, v, now);
            if (v->cstate != C_OPEN && v->cstate != C_TLS)
                return;
        } else if (!on_plain(e, v, ev->data, ev->len, now)) {
            return;
        }
    } else if (ev->res == 0) {
        on_eof(e, v, now);
        return;
    } else if (ev->res != -ENOBUFS) {
        if (v->cstate == C_TLS || (v->state == VU_BUSY && v->req >= 0))
            conn_failed(e, v, classify(-ev->res), -ev->res, now);
        else
            conn_close(e, v);
        return;
    }
    /* A multishot receive ends on -ENOBUFS (every buffer in use): re-arm. */
    if (!ev->more && (v->cstate == C_OPEN || v->cstate == C_TLS))
        ring_recv(&e->ring, vu_idx(e, v), v->gen);
}

/* The slot's close completed: the VU may connect again. With a TLS send
 * still in flight (cancelled, but its completion not seen yet), the output
 * buffer it reads must outlive it: the close finishes at that completion. */
static void conn_closed(struct engine *e, struct vu *v, int64_t now)
{
    if (v->tls_sending) {
        v->close_seen = true;
        return;
    }
    v->close_seen = false;
    if (v->tls) {
        tls_conn_free(v->tls);
        v->tls = NULL;
    }
    v->gen++;
    v->cstate = C_DOWN;
    if (v->state == VU_CONNECT && v->req >= 0)
        conn_connect(e, v, now); /* a request was waiting for this close */
}

static void tls_sent(struct engine *e, struct vu *v, int res, int64_t now)
{
    v->tls_sending = false;
    if (v->close_seen) {
        conn_closed(e, v, now);
        return;
    }
    if (v->cstate != C_OPEN && v->cstate != C_TLS)
        return; /* closing: the close's completion follows */
    if (res <= 0) {
        conn_failed(e, v, res < 0 ? classify(-res) : ERR_OTHER, res < 0 ? -res : EIO, now);
        return;
    }
    req_metrics(e, v, v->req >= 0 ? v->req : 0)->bytes_sent += (uint64_t)res;
    tls_consumed(v->tls, (size_t)res);
    tls_progress(e, v, now);
}

static void on_event(void *ctx, const struct ring_event *ev)
{
    struct engine *e = ctx;
    struct vu *v = vu_of(e, ev->idx);
    int64_t now = ring_now();
    if (ev->op == RING_OP_TIMER) {
        if (ev->gen != (v->tgen & RING_GEN_MASK) || v->state != VU_SLEEP)
            return;
        v->state = VU_READY;
        if (v->timer_kind == T_PACE) {
            iteration_start(e, v, v->iter_start, false, now);
        } else if (v->timer_kind == T_BACKOFF) {
            conn_connect(e, v, now);
        } else {
            vu_step(e, v, now);
        }
        return;
    }
    if (ev->op == RING_OP_SEND && v->tls_sending) {
        tls_sent(e, v, ev->res, now); /* its generation is v's: a close waits for it */
        return;
    }
    if (ev->op == RING_OP_SEND && v->bulk_sending) {
        /* Whatever its connection's fate, a bulk piece's completion frees
         * the slot (it comes before the close's, which cancels it). */
        v->bulk_sending = false;
        e->bulk_inflight--;
        bool mine = ev->gen == (v->gen & RING_GEN_MASK) && v->cstate == C_OPEN && v->state == VU_BUSY &&
                    v->req >= 0;
        if (mine && ev->res <= 0) {
            req_fail(e, v, ev->res < 0 ? classify(-ev->res) : ERR_OTHER, ev->res < 0 ? -ev->res : EIO, now);
            vu_step(e, v, now);
        } else if (mine) {
            v->send_off += (size_t)ev->res;
            if (v->send_off < v->send_total) {
                /* Back in line: paced work and other bodies get their turn. */
                bulk_push(e, v);
            }
        }
        bulk_pump(e, now);
        return;
    }
    if (ev->gen != (v->gen & RING_GEN_MASK))
        return; /* a completion for an earlier connection on this slot */
    switch (ev->op) {
    case RING_OP_CONNECT:
        if (v->cstate == C_CONNECTING)
            on_connect(e, v, ev->res, now);
        break;
    case RING_OP_RECV:
        if (v->cstate == C_OPEN || v->cstate == C_TLS)
            on_recv(e, v, ev, now);
        break;
    case RING_OP_SEND: /* only failures are reported */
        if (ev->res < 0 && v->cstate == C_OPEN) {
            if (v->state == VU_BUSY) {
                req_fail(e, v, classify(-ev->res), -ev->res, now);
                vu_step(e, v, now);
            } else {
                conn_close(e, v);
            }
        }
        break;
    case RING_OP_CLOSE:
        conn_closed(e, v, now);
        break;
    default:
        break;
    }
}

static void check_timeouts(struct engine *e, int64_t now)
{
    for (int k = 0; k < e->ntq; k++) {
        while (e->tq[k].head >= 0 && e->vus[e->tq[k].head].deadline <= now) {
            struct vu *v = vu_of(e, (uint32_t)e->tq[k].head);
            if (v->req < 0) {
                preconnect_fail(e, v, ERR_TIMEOUT, ETIMEDOUT);
                continue;
            }
            req_fail(e, v, ERR_TIMEOUT, ETIMEDOUT, now);
            vu_step(e, v, now);
        }
    }
}

static void publish(struct engine *e)
{
    uint64_t reqs = 0, failed = 0, recv = 0, iters = 0;
    uint32_t vus = 0;
    for (int s = 0; s < e->nsc; s++) {
        for (int r = 0; r < e->m[s].nreq; r++) {
            reqs += e->m[s].req[r].reqs;
            failed += e->m[s].req[r].failed;
            recv += e->m[s].req[r].bytes_recv;
        }
        iters += e->m[s].iterations;
        vus += e->sc[s].active;
        e->m[s].vus = e->sc[s].active;
    }
    __atomic_store_n(&e->live.reqs, reqs, __ATOMIC_RELAXED);
    __atomic_store_n(&e->live.failed, failed, __ATOMIC_RELAXED);
    __atomic_store_n(&e->live.bytes_recv, recv, __ATOMIC_RELAXED);
    __atomic_store_n(&e->live.iterations, iters, __ATOMIC_RELAXED);
    __atomic_store_n(&e->live.vus, vus, __ATOMIC_RELAXED);
    __atomic_store_n(&e->live.open_conns, e->open_conns, __ATOMIC_RELAXED);
}

/* --- setup ------------------------------------------------------------------------------ */

static unsigned pow2_at_least(uint64_t n)
{
    unsigned p = 1;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

/* This worker's share of n things numbered 1..n: those with (g-1) % nw == w. */
static uint32_t share(uint32_t n, int w, int nw)
{
    return n / (uint32_t)nw + ((uint32_t)w < n % (uint32_t)nw);
}

static size_t vu_bytes(const struct plan_scenario *p)
{
    size_t b = (size_t)(p->max_iov + 2) * 2 * sizeof(struct iovec) + p->scratch_need + 64 +
               (size_t)p->ncaptures * PLAN_CAPTURE_LEN;
    if (p->keeps_bodies)
        b += PLAN_BODY_KEEP;
    if (p->nhls)
        b += HLS_LIST_BYTES + PLAN_CAPTURE_LEN;
    return (b + 63) & ~(size_t)63;
}

static int sc_setup(struct engine *e, struct sc_rt *sc, const struct plan_scenario *p)
{
    const struct engine_config *cfg = &e->cfg;
    const struct executor_config *s = &p->exec;
    sc->p = p;
    sc->s = s;
    sc->start = cfg->origin_ns + s->start_time_ns;
    sc->end = sc->start + executor_duration(s);
    sc->hard_end = sc->end + s->graceful_stop_ns;
    sc->next_arrival = INT64_MAX;
    sc->open = s->executor == EXEC_CONSTANT_ARRIVAL_RATE || s->executor == EXEC_RAMPING_ARRIVAL_RATE;
    if (s->executor == EXEC_CONSTANT_ARRIVAL_RATE) {
        double per_s = s->rate * 1e9 / (double)(s->time_unit_ns ? s->time_unit_ns : 1000000000LL);
        double mine = per_s / cfg->nworkers;
        sc->use_sched = true;
        /* Workers' schedules interleave instead of firing together. */
        schedule_init(&sc->sched, sc->start + (int64_t)(1e9 / per_s * cfg->worker), mine, s->poisson,
                      cfg->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(cfg->worker + 1)));
        sc->next_arrival = schedule_peek(&sc->sched);
        sc->qcap = pow2_at_least((uint64_t)(mine * QUEUE_SECONDS) + 1024);
    } else if (s->executor == EXEC_RAMPING_ARRIVAL_RATE) {
        arrivals_init_segment(&sc->arr, s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers);
        int64_t n = arrivals_next(&sc->arr);
        sc->next_arrival = n < 0 ? INT64_MAX : sc->start + n;
        double peak = s->start_rate;
        for (int i = 0; i < s->nstages; i++)
            if (s->stages[i].target > peak)
                peak = s->stages[i].target;
        peak = peak * 1e9 / (double)(s->time_unit_ns ? s->time_unit_ns : 1000000000LL) / cfg->nworkers;
        sc->qcap = pow2_at_least((uint64_t)(peak * QUEUE_SECONDS) + 1024);
    }
    if (sc->qcap > (1u << 22))
        sc->qcap = 1u << 22;
    if (sc->open && !(sc->queue = calloc(sc->qcap, sizeof *sc->queue)))
        return -ENOMEM;
    if (s->executor == EXEC_RAMPING_VUS) {
        /* Like snprintf: the first call tells the length of the whole list. */
        size_t n = executor_vu_changes(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers, NULL, 0);
        sc->changes = calloc(n ? n : 1, sizeof *sc->changes);
        if (!sc->changes)
            return -ENOMEM;
        sc->nchanges = (int)executor_vu_changes(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers,
                                                sc->changes, n);
        /* The caps list is its own work space: a first call says how big. */
        size_t need = executor_vu_caps(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers, NULL, 0);
        sc->caps = calloc(need ? need : 1, sizeof *sc->caps);
        if (!sc->caps)
            return -ENOMEM;
        size_t got = executor_vu_caps(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers, sc->caps, need);
        sc->ncaps = (int)(got <= need ? got : 0);
    }
    if (s->executor == EXEC_SHARED_ITERATIONS) /* k6's split: a worker without VUs gets none */
        sc->shared_left = executor_shared_iterations(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers);
    return 0;
}

int engine_init(struct engine *e, const struct engine_config *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    const struct plan *pl = cfg->plan;
    e->nsc = pl->nsc;
    e->sc = calloc((size_t)pl->nsc, sizeof *e->sc);
    e->m = calloc((size_t)pl->nsc, sizeof *e->m);
    if (!e->sc || !e->m)
        goto oom;
    size_t slab = 0;
    for (int s = 0; s < pl->nsc; s++) {
        uint32_t n = share(pl->sc[s].max_vus, cfg->worker, cfg->nworkers);
        e->sc[s].first = e->nvus;
        e->sc[s].n = n;
        e->nvus += n;
        slab += (size_t)n * vu_bytes(&pl->sc[s]);
    }
    e->vus = calloc(e->nvus ? e->nvus : 1, sizeof *e->vus);
    /* One deadline FIFO per distinct timeout of the plan's requests. */
    for (int s2 = 0; s2 < pl->nsc; s2++)
        for (int r = 0; r < pl->sc[s2].nreqs; r++) {
            int64_t t = pl->sc[s2].reqs[r].timeout_ns;
            bool known = false;
            for (int i = 0; i < e->ntq; i++)
                known |= e->tq[i].timeout == t;
            if (!known) {
                struct tqueue *nq = realloc(e->tq, (size_t)(e->ntq + 1) * sizeof *e->tq);
                if (!nq)
                    goto oom;
                e->tq = nq;
                e->tq[e->ntq++] = (struct tqueue){ .timeout = t, .head = -1, .tail = -1 };
            }
        }
    e->bulkq = calloc(e->nvus ? e->nvus : 1, sizeof *e->bulkq);
    if (cfg->tls && !(e->plain = malloc(TLS_PLAIN + TLS_STAGE)))
        goto oom;
    if (pl->any_tls && !cfg->tls) {
        snprintf(e->fatal, sizeof e->fatal, "an https target needs a TLS context (internal error)");
        engine_free(e);
        return -EINVAL;
    }
    e->slab = calloc(slab ? slab : 1, 1);
    if (!e->vus || !e->slab || !e->bulkq)
        goto oom;
    uint8_t *at = e->slab;
    for (int s = 0; s < pl->nsc; s++) {
        struct sc_rt *sc = &e->sc[s];
        const struct plan_scenario *p = &pl->sc[s];
        if (scenario_metrics_init(&e->m[s], p->nreqs, cfg->sigfigs) != 0)
            goto oom;
        sc->m = &e->m[s];
        if (sc_setup(e, sc, p) != 0)
            goto oom;
        sc->idle = calloc(sc->n ? sc->n : 1, sizeof *sc->idle);
        if (!sc->idle)
            goto oom;
        for (uint32_t k = 0; k < sc->n; k++) {
            struct vu *v = vu_of(e, sc->first + k);
            v->gid = (uint32_t)cfg->worker + 1 + k * (uint32_t)cfg->nworkers;
            v->sc = (uint16_t)s;
            v->req = -1;
            v->tq = -1;
            v->tq_prev = v->tq_next = -1;
            v->rng = cfg->seed ^ (0xD1B54A32D192ED03ULL * ((uint64_t)s << 32 | v->gid));
            v->max_iov = p->max_iov + 2;
            v->iov = (struct iovec *)at;
            v->wiov = v->iov + v->max_iov;
            v->scratch = (char *)(v->wiov + v->max_iov);
            v->scratch_len = p->scratch_need + 64;
            v->cap = v->scratch + v->scratch_len;
            char *next = v->cap + (size_t)p->ncaptures * PLAN_CAPTURE_LEN;
            if (p->keeps_bodies) {
                v->body = next;
                next += PLAN_BODY_KEEP;
            }
            if (p->nhls) {
                v->hls = next;
                v->hls_base = next + HLS_LIST_BYTES;
            }
            at += vu_bytes(p);
        }
    }

    if (cfg->snapshots) {
        e->snap.m = calloc((size_t)pl->nsc, sizeof *e->snap.m);
        if (!e->snap.m)
            goto oom;
        for (int s = 0; s < pl->nsc; s++)
            if (scenario_metrics_init(&e->snap.m[s], pl->sc[s].nreqs, cfg->sigfigs) != 0)
                goto oom;
    }

    /* Receive buffers are shared by all the worker's connections and given
     * back after each batch of completions, so the pool bounds how much one
     * batch can take in, not how many connections there are. The kernel
     * cycles through the whole ring, so every buffer ends up resident:
     * 512 x 16 KiB = 8 MiB per worker at most. A batch that finds none free
     * ends its receives with -ENOBUFS, and they are re-armed. */
    unsigned nbufs = pow2_at_least((uint64_t)e->nvus + 64);
    nbufs = nbufs < 256 ? 256 : nbufs > 512 ? 512 : nbufs;
    unsigned sq = pow2_at_least((uint64_t)e->nvus * 2 + 64);
    struct ring_config rc = { .sq_entries = sq > 4096 ? 4096 : sq, .nbufs = nbufs, .buf_size = 16384,
                              .nfiles = e->nvus ? e->nvus : 1 };
    int err = ring_init(&e->ring, &rc);
    if (err) {
        snprintf(e->fatal, sizeof e->fatal, "io_uring setup failed: %s", strerror(-err));
        return err;
    }
    return 0;
oom:
    snprintf(e->fatal, sizeof e->fatal, "out of memory for %u VUs", e->nvus);
    engine_free(e);
    return -ENOMEM;
}

static void snapshot(struct engine *e)
{
    int want = __atomic_load_n(&e->snap.want, __ATOMIC_ACQUIRE);
    if (want == e->snap.done || !e->snap.m)
        return;
    for (int s = 0; s < e->nsc; s++) {
        e->m[s].vus = e->sc[s].active;
        scenario_metrics_copy_growing(&e->snap.m[s], &e->m[s]);
    }
    __atomic_store_n(&e->snap.done, want, __ATOMIC_RELEASE);
}

void engine_free(struct engine *e)
{
    if (e->ring.br)
        ring_exit(&e->ring);
    e->ring.br = NULL;
    for (uint32_t i = 0; e->vus && i < e->nvus; i++) {
        tls_conn_free(e->vus[i].tls); /* the ring is gone: nothing reads their buffers */
        e->vus[i].tls = NULL;
    }
    for (int s = 0; s < e->nsc; s++) {
        if (e->m)
            scenario_metrics_free(&e->m[s]);
        if (e->sc) {
            free(e->sc[s].queue);
            free(e->sc[s].idle);
            free(e->sc[s].changes);
            free(e->sc[s].caps);
        }
    }
    if (e->snap.m) {
        for (int s = 0; s < e->nsc; s++)
            scenario_metrics_free(&e->snap.m[s]);
        free(e->snap.m);
        e->snap.m = NULL;
    }
    free(e->sc);
    free(e->m);
    free(e->vus);
    free(e->tq);
    free(e->bulkq);
    free(e->slab);
    free(e->plain);
    e->plain = NULL;
    e->sc = NULL;
    e->m = NULL;
    e->vus = NULL;
    e->tq = NULL;
    e->ntq = 0;
    e->bulkq = NULL;
    e->slab = NULL;
    e->nsc = 0;
}

void engine_run(struct engine *e, const int *stop)
{
    worker_cpu_sample(&e->cpu_start);
    e->wall_start = ring_now();
    int64_t next_publish = 0;
    for (;;) {
        int64_t now = ring_now();
        if (__atomic_load_n(stop, __ATOMIC_RELAXED) || e->fatal[0])
            break;
        int64_t deadline = now + 100 * 1000000LL; /* notice a stop within 100 ms */
        bool all_done = true;
        for (int s = 0; s < e->nsc; s++) {
            int64_t t = sc_tick(e, &e->sc[s], now);
            all_done &= e->sc[s].done;
            if (t < deadline)
                deadline = t;
        }
        if (all_done)
            break;
        check_timeouts(e, now);
        /* The progress line reads these once a second: summing every
         * request's counters on every loop turn would be waste. */
        if (now >= next_publish) {
            publish(e);
            next_publish = now + 50 * 1000000LL;
        }
        snapshot(e);
        int64_t dl = deadline_next(e);
        if (dl < deadline)
            deadline = dl;
        int ret = ring_run(&e->ring, deadline, on_event, e);
        if (ret < 0 && ret != -EINTR) {
            snprintf(e->fatal, sizeof e->fatal, "io_uring_enter failed: %s", strerror(-ret));
            break;
        }
    }
    /* Stopped early (a signal, a threshold's abort, a fatal error): what is
     * running is interrupted, what is queued was never started. */
    for (int s = 0; s < e->nsc; s++) {
        struct sc_rt *sc = &e->sc[s];
        if (sc->done)
            continue;
        sc->m->dropped += sc->qlen;
        sc->qlen = 0;
        for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->state != VU_OFF && v->state != VU_IDLE) {
                sc->m->interrupted++;
                if (v->state == VU_BUSY)
                    req_metrics(e, v, v->req)->interrupted++;
            }
        }
    }
    publish(e);
    e->wall_end = ring_now();
    worker_cpu_sample(&e->cpu_end);
}
