/* request — one request of a VU, from its start to its record: wait for
 * the connection, render the compiled template into the VU's iovecs, hand
 * them to the connection's stream (large plain bodies take turns in the
 * worker's bulk slot), frame the response's bytes with the HTTP parser,
 * record the latencies and run the captures. Also the deadlines of what is
 * in flight. It changes the connection only through engine.c's conn_*
 * functions and moves bytes only through stream.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blaster/run/capture.h"
#include "blaster/run/engine_int.h"

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

void deadline_clear(struct engine *e, struct vu *v)
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
void deadline_set(struct engine *e, struct vu *v, int64_t now, int64_t timeout)
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
int64_t deadline_next(const struct engine *e)
{
    int64_t t = INT64_MAX;
    for (int i = 0; i < e->ntq; i++)
        if (e->tq[i].head >= 0 && e->vus[e->tq[i].head].deadline < t)
            t = e->vus[e->tq[i].head].deadline;
    return t;
}

/* The request could not be made or got no valid response: k6 counts it as
 * a request with status 0, and the iteration goes on with the next step. */
void req_fail(struct engine *e, struct vu *v, enum err_class cls, int err, int64_t now)
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

/* A connection opened ahead of any request (preconnect) failed or timed
 * out: count it, and let the VU's first request connect again. */
void preconnect_fail(struct engine *e, struct vu *v, enum err_class cls, int err)
{
    struct metrics *m = req_metrics(e, v, 0);
    m->errors[cls]++;
    m->last_errno[cls] = err;
    deadline_clear(e, v);
    conn_close(e, v);
}

void req_timeouts(struct engine *e, int64_t now)
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

/* --- sending ------------------------------------------------------------------
 * A large plain body is hundreds of microseconds of the worker's CPU
 * (copying, and the loopback TCP path), run inside io_uring_enter: many at
 * once would make every timer of the worker late. So a worker has BULK_MAX
 * bulk slots: a request of BULK_MIN bytes or more goes out BULK_CHUNK bytes
 * at a time, each piece holding a slot, and waits in a FIFO for the next
 * one. Paced requests go first; large sends take turns for the spare
 * cycles. A transport that cuts its own pieces (TLS, a few records per
 * send) needs no slot. */

static bool is_bulk(const struct vu *v)
{
    return v->st.total >= BULK_MIN && !stream_cuts_pieces(&v->st);
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

/* Hand the stream what can go now: with bulk, one piece in the slot. */
static void push(struct engine *e, struct vu *v, bool bulk, int64_t now)
{
    if (bulk) {
        v->bulk_sending = true;
        e->bulk_inflight++;
    }
    int rc = stream_push(&e->pool, &v->st, vu_idx(e, v), v->gen, bulk ? BULK_CHUNK : SIZE_MAX, !bulk);
    if (v->st.wire_out)
        conn_metrics(e, v)->bytes_sent += stream_wire_out(&v->st);
    if (rc < 0)
        conn_broken(e, v, now);
}

/* The stream may take more (a send completed, a handshake moved on): give
 * it what the request has left, unless that is the bulk slot's to decide. */
void req_flush(struct engine *e, struct vu *v, int64_t now)
{
    if (!stream_may_push(&v->st))
        return;
    bool busy = v->state == VU_BUSY && v->req >= 0;
    if (v->bulk_wait || v->bulk_sending || (busy && is_bulk(v)))
        return;
    push(e, v, false, now);
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
    v->state = VU_BUSY;
    deadline_set(e, v, now, rq->timeout_ns);
    push(e, v, is_bulk(v), now);
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
        if (stream_begun(&v->st))
            push(e, v, true, now); /* the rest of a body already on its way */
        else
            req_submit(e, v, now);
    }
}

/* A bulk piece's send completed. Whatever its connection's fate, that frees
 * the slot (it comes before the close's, which cancels it). */
void bulk_sent(struct engine *e, struct vu *v, int res, uint32_t gen, int64_t now)
{
    v->bulk_sending = false;
    e->bulk_inflight--;
    bool mine = gen == (v->gen & RING_GEN_MASK) && v->cstate == C_OPEN && v->state == VU_BUSY && v->req >= 0;
    if (mine) {
        int rc = stream_sent(&v->st, res);
        conn_metrics(e, v)->bytes_sent += stream_wire_out(&v->st);
        if (rc == STREAM_ERROR) {
            req_fail(e, v, res < 0 ? err_classify(-res) : ERR_OTHER, res < 0 ? -res : EIO, now);
            vu_step(e, v, now);
        } else if (rc == STREAM_AGAIN) {
            bulk_push(e, v); /* back in line: paced work and other bodies get their turn */
        }
    }
    bulk_pump(e, now);
}

void req_send(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    const struct plan_request *rq = &sc->p->reqs[v->req];
    struct template_values tv;
    vu_fill_values(e, v, &tv);
    size_t total = 0;
    int n = template_request_render_iov(&rq->t, &tv, v->iov, v->max_iov, v->scratch, v->scratch_len, &total);
    if (n < 0) {
        req_fail(e, v, ERR_OTHER, EINVAL, now);
        return;
    }
    stream_message(&v->st, v->iov, n, total);
    if (is_bulk(v) && e->bulk_inflight >= BULK_MAX) {
        bulk_push(e, v);
        v->state = VU_BUSY;
        deadline_set(e, v, now, rq->timeout_ns);
        return;
    }
    req_submit(e, v, now);
}

/* The VU reached a request: send it on its connection, connecting first. */
void req_start(struct engine *e, struct vu *v, int req, int64_t now)
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
    } else if (v->cstate == C_CONNECTING || v->cstate == C_HANDSHAKE) {
        v->state = VU_CONNECT; /* a preconnect is under way: its end sends */
        deadline_set(e, v, now, sc_of(e, v)->p->reqs[req].timeout_ns);
    } else {
        v->state = VU_CONNECT; /* closing: the close completion reconnects */
    }
}

/* --- the response --------------------------------------------------------------- */

/* Captures after a complete response; false when one was not found. */
static bool run_captures(struct vu *v, const struct plan_request *rq, char **body, size_t *body_len)
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
        vu_store_capture(v, c->slot, val, n);
    }
    return ok;
}

static bool expected(const struct plan_request *rq, int st)
{
    return st >= 0 && st < 64 * PLAN_MAX_EXPECT_WORDS && (rq->expect[st / 64] >> (st % 64) & 1);
}

/* The latencies and counts of a complete response. true when its status was expected. */
static bool req_record(struct metrics *m, const struct vu *v, const struct plan_request *rq, int64_t now)
{
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
    return ok;
}

static void req_complete(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    const struct plan_request *rq = &sc->p->reqs[v->req];
    struct metrics *m = req_metrics(e, v, v->req);
    bool ok = req_record(m, v, rq, now);
    char *body = NULL;
    size_t body_len = 0;
    bool captured = true;
    if (rq->keep_body || rq->keep_head)
        captured = run_captures(v, rq, &body, &body_len);
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
    if (!v->resp.keep_alive || v->bulk_sending || v->bulk_wait || stream_unsent(&v->st)) {
        v->bulk_wait = false;
        conn_close(e, v);
    }
    const struct op *op = &sc->p->ops[v->pc];
    v->req = -1;
    v->state = VU_READY;
    if (op->kind == OP_HLS)
        hls_after(e, v, &sc->p->hls[op->a], v->resp.status, body, body_len);
    else
        v->pc++;
}

static void keep_bytes(struct vu *v, const uint8_t *data, uint32_t len)
{
    uint32_t room = PLAN_BODY_KEEP - v->kept;
    uint32_t n = len < room ? len : room;
    memcpy(v->body + v->kept, data, n);
    v->kept += n;
}

/* Response bytes (plaintext) for the VU's request. true when the response
 * needs more; false when it ended, failed, or was not asked for. */
bool req_bytes(struct engine *e, struct vu *v, const uint8_t *data, uint32_t len, int64_t now)
{
    if (v->state != VU_BUSY) {
        /* Bytes nobody asked for: the stream can no longer be framed. */
        conn_close(e, v);
        return false;
    }
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

/* The server ended the stream: that completes a close-delimited body and
 * fails any other request in flight. */
void req_eof(struct engine *e, struct vu *v, int64_t now)
{
    if (http_resp_eof(&v->resp) == HTTP_DONE) {
        req_complete(e, v, now);
        conn_close(e, v);
    } else {
        req_fail(e, v, ERR_RESET, ECONNRESET, now);
    }
    vu_step(e, v, now);
}
