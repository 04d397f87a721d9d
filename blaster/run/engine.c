/* engine — see engine.h. This room holds the completion loop (one handle_*
 * per ring operation, in the order a request meets them: timer, connect,
 * send, receive, close), each VU's connection over stream.h (connect,
 * handshake, close, what breaks it), and the engine's setup and teardown.
 * The other rooms are listed in engine_int.h.
 *
 * One request's path: the executor starts an iteration (executor_run.c) →
 * the VU reaches a request in its program (vu.c: vu_step) → req_start
 * (request.c) connects if needed (conn_connect here), renders the template
 * and hands it to the stream → the multishot receive delivers bytes
 * (handle_recv) → the stream gives plaintext (conn_drive) → req_bytes feeds
 * the HTTP parser → req_complete records it in the step's metrics, runs the
 * captures, and the VU steps on. Connections are named by their slot in the
 * ring's file table, which is the VU's index in e->vus; a generation number
 * makes completions that arrive after a close harmless. */
#include "blaster/run/engine_int.h"
#include "blaster/compile/limits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the VU's connection ------------------------------------------------------ */

enum err_class err_classify(int err)
{
    switch (err) {
    case ECONNREFUSED: return ERR_REFUSED;
    case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN: return ERR_RESET;
    case ETIMEDOUT: return ERR_TIMEOUT;
    default: return ERR_OTHER;
    }
}

static bool conn_up(const struct vu *v) { return v->cstate == C_OPEN || v->cstate == C_HANDSHAKE; }

void conn_close(struct engine *e, struct vu *v)
{
    if (v->cstate == C_DOWN || v->cstate == C_CLOSING)
        return;
    if (conn_up(v))
        e->open_conns--;
    v->cstate = C_CLOSING;
    ring_close(&e->ring, vu_idx(e, v), v->gen, false);
}

void timer_start(struct engine *e, struct vu *v, enum timer_kind k, int64_t at)
{
    v->tgen++;
    v->timer_kind = (uint8_t)k;
    v->state = VU_SLEEP;
    ring_timer_at(&e->ring, &v->timer, vu_idx(e, v), v->tgen, at);
}

void backoff_grow(struct vu *v)
{
    v->backoff_ms = v->backoff_ms ? v->backoff_ms * 2 : 10;
    if (v->backoff_ms > BACKOFF_MAX_MS)
        v->backoff_ms = BACKOFF_MAX_MS;
}

void conn_connect(struct engine *e, struct vu *v, int64_t now)
{
    struct sc_rt *sc = sc_of(e, v);
    v->t_conn = now;
    int err = ring_connect(&e->ring, vu_idx(e, v), v->gen, (const struct sockaddr *)&sc->p->addr,
                           sc->p->addrlen, NULL, 0);
    if (err) {
        backoff_grow(v);
        if (v->req < 0) {
            struct metrics *m = req_metrics(e, v, 0);
            m->errors[err_classify(-err)]++;
            m->last_errno[err_classify(-err)] = -err;
            return;
        }
        req_fail(e, v, err_classify(-err), -err, now);
        vu_step(e, v, now);
        return;
    }
    v->cstate = C_CONNECTING;
    if (v->req >= 0)
        v->state = VU_CONNECT;
    deadline_set(e, v, now, sc->p->reqs[v->req >= 0 ? v->req : 0].timeout_ns);
}

/* The connection went wrong outside a request's own path (a handshake or
 * record failure, a send that failed): the request waiting on it fails, a
 * preconnect counts its error, an idle connection just closes. */
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

/* The stream failed (TLS is the transport that can: a handshake refused, a
 * certificate not trusted, a bad record), for the reason `why`. */
static void conn_broken_why(struct engine *e, struct vu *v, const char *why, int64_t now)
{
    struct metrics *m = conn_metrics(e, v);
    snprintf(m->tls_reason, sizeof m->tls_reason, "%s", why && *why ? why : "TLS error");
    if (v->cstate == C_HANDSHAKE) {
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

void conn_broken(struct engine *e, struct vu *v, int64_t now)
{
    conn_broken_why(e, v, stream_error(&v->st), now);
}

/* The stream is ready for requests: at once when TCP is up (plain), or when
 * the handshake is done, which the metrics record. */
static void conn_ready(struct engine *e, struct vu *v, bool handshake, int64_t now)
{
    if (handshake) {
        struct metrics *m = conn_metrics(e, v);
        m->handshakes++;
        if (stream_resumed(&v->st))
            m->resumed++;
        hist_record(&m->tls_handshaking, ns_to_us(now - v->t_tcp));
        snprintf(m->tls_protocol, sizeof m->tls_protocol, "%s", stream_protocol(&v->st));
        e->ever_handshook = true;
    }
    v->cstate = C_OPEN;
    v->ready = now;
    deadline_clear(e, v);
    if (v->req >= 0)
        req_send(e, v, now);
}

/* The peer ended the stream (FIN, or TLS close_notify): during a handshake
 * that is a failure; otherwise it ends the response in flight, if any. */
static void conn_eof(struct engine *e, struct vu *v, int64_t now)
{
    if (v->cstate == C_HANDSHAKE)
        conn_broken_why(e, v, "the server closed the connection during the TLS handshake", now);
    else if (v->state == VU_BUSY)
        req_eof(e, v, now);
    else
        conn_close(e, v);
}

/* Move the connection on after bytes arrived or a send completed: what the
 * stream has for the parser (a handshake may finish on the way), then what
 * the request has left to send. */
void conn_drive(struct engine *e, struct vu *v, int64_t now)
{
    for (;;) {
        const uint8_t *p;
        int n = stream_read(&e->pool, &v->st, &p);
        if (n > 0) {
            req_bytes(e, v, p, (uint32_t)n, now);
            if (v->cstate != C_OPEN)
                return; /* the response closed it, or bytes nobody asked for */
            continue;
        }
        if (n == STREAM_UP) {
            conn_ready(e, v, true, now);
            if (v->cstate != C_OPEN)
                return; /* the request could not be sent */
            continue;
        }
        if (n == STREAM_AGAIN)
            break;
        if (n == STREAM_CLOSED)
            conn_eof(e, v, now);
        else
            conn_broken(e, v, now);
        return;
    }
    req_flush(e, v, now);
}

/* --- completions ---------------------------------------------------------------------- */

static void handle_timer(struct engine *e, struct vu *v, const struct ring_event *ev, int64_t now)
{
    if (ev->gen != (v->tgen & RING_GEN_MASK) || v->state != VU_SLEEP)
        return;
    v->state = VU_READY;
    if (v->timer_kind == T_PACE)
        iteration_start(e, v, v->iter_start, false, now);
    else if (v->timer_kind == T_BACKOFF)
        conn_connect(e, v, now);
    else
        vu_step(e, v, now);
}

static void handle_connect(struct engine *e, struct vu *v, int res, int64_t now)
{
    if (res < 0) {
        e->connect_failures++;
        backoff_grow(v);
        if (!e->ever_connected && e->connect_failures >= e->nvus) {
            snprintf(e->fatal, sizeof e->fatal, "could not connect: %s (%s)",
                     strerror(-res), err_class_name[err_classify(-res)]);
        }
        if (v->req < 0) {
            preconnect_fail(e, v, err_classify(-res), -res);
            return;
        }
        req_fail(e, v, err_classify(-res), -res, now);
        vu_step(e, v, now);
        return;
    }
    e->ever_connected = true;
    e->open_conns++;
    v->cstate = C_HANDSHAKE;
    v->backoff_ms = 0;
    v->t_tcp = now;
    struct metrics *m = conn_metrics(e, v);
    m->connects++;
    hist_record(&m->connecting, ns_to_us(now - v->t_conn));
    ring_recv(&e->ring, vu_idx(e, v), v->gen);
    if (stream_open(&e->pool, &v->st, sc_of(e, v)->tls, sc_of(e, v)->p->server_name) != 0) {
        snprintf(m->tls_reason, sizeof m->tls_reason, "out of memory for a TLS connection");
        conn_failed(e, v, ERR_TLS, ENOMEM, now);
        return;
    }
    if (stream_ready(&v->st))
        conn_ready(e, v, false, now);
    else
        conn_drive(e, v, now); /* the ClientHello; the handshake runs within the connect's deadline */
}

static void handle_send(struct engine *e, struct vu *v, int res, int64_t now)
{
    int rc = stream_sent(&v->st, res);
    conn_metrics(e, v)->bytes_sent += stream_wire_out(&v->st);
    if (!conn_up(v))
        return; /* closing: the close's completion follows */
    if (rc == STREAM_ERROR)
        conn_failed(e, v, res < 0 ? err_classify(-res) : ERR_OTHER, res < 0 ? -res : EIO, now);
    else
        conn_drive(e, v, now);
}

static void handle_recv(struct engine *e, struct vu *v, const struct ring_event *ev, int64_t now)
{
    if (ev->res > 0) {
        conn_metrics(e, v)->bytes_recv += ev->len; /* as it arrives: ciphertext for TLS */
        if (stream_feed(&v->st, ev->data, ev->len) != 0)
            conn_broken(e, v, now);
        else
            conn_drive(e, v, now);
        if (!conn_up(v))
            return;
    } else if (ev->res == 0) {
        conn_eof(e, v, now);
        return;
    } else if (ev->res != -ENOBUFS) {
        if (v->cstate == C_HANDSHAKE || (v->state == VU_BUSY && v->req >= 0))
            conn_failed(e, v, err_classify(-ev->res), -ev->res, now);
        else
            conn_close(e, v);
        return;
    }
    /* A multishot receive ends on -ENOBUFS (every buffer in use): re-arm. */
    if (!ev->more && conn_up(v))
        ring_recv(&e->ring, vu_idx(e, v), v->gen);
}

/* The slot's close completed: the VU may connect again. */
static void handle_close(struct engine *e, struct vu *v, int64_t now)
{
    stream_closed(&e->pool, &v->st, vu_idx(e, v), v->gen);
    v->gen++;
    v->cstate = C_DOWN;
    if (v->state == VU_CONNECT && v->req >= 0)
        conn_connect(e, v, now); /* a request was waiting for this close */
}

/* The first timer of a turn that woke the worker from its sleep (due after
 * the sleep began): how late this machine woke it. Once per loop turn. */
static inline void timer_lateness(struct engine *e, const struct ring_timer *t, int64_t now)
{
    if (!e->ring.slept || e->late_seen)
        return;
    int64_t due = (int64_t)t->ts.tv_sec * 1000000000 + t->ts.tv_nsec;
    if (due < e->ring.wait_from || now < due)
        return;
    hist_record(&e->timer_late, (now - due) / 1000);
    e->late_seen = true;
}

static void on_event(void *ctx, const struct ring_event *ev)
{
    struct engine *e = ctx;
    struct vu *v = vu_of(e, ev->idx);
    int64_t now = ring_now();
    if (ev->op == RING_OP_TIMER) {
        timer_lateness(e, &v->timer, now);
        handle_timer(e, v, ev, now);
        return;
    }
    if (ev->op == RING_OP_SEND && stream_reap(&e->pool, ev->idx, ev->gen))
        return; /* the last send of a closed TLS connection */
    if (ev->op == RING_OP_SEND && v->bulk_sending) {
        bulk_sent(e, v, ev->res, ev->gen, now);
        return;
    }
    if (ev->gen != (v->gen & RING_GEN_MASK))
        return; /* a completion for an earlier connection on this slot */
    switch (ev->op) {
    case RING_OP_CONNECT:
        if (v->cstate == C_CONNECTING)
            handle_connect(e, v, ev->res, now);
        break;
    case RING_OP_SEND:
        handle_send(e, v, ev->res, now);
        break;
    case RING_OP_RECV:
        if (conn_up(v))
            handle_recv(e, v, ev, now);
        break;
    case RING_OP_CLOSE:
        handle_close(e, v, now);
        break;
    default:
        break;
    }
}

/* --- the worker's loop ---------------------------------------------------------------- */

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

__attribute__((noinline)) /* its own frame: profilers measure the run loop alone */
void engine_run(struct engine *e, const int *stop)
{
    worker_cpu_sample(&e->cpu_start);
    e->wall_start = ring_now();
    int64_t next_publish = 0, slept_until = 0;
    for (;;) {
        int64_t now = ring_now();
        /* Once per wake-up past the loop's deadline, never per request: how
         * late this machine woke the worker (the verdict's "timer
         * lateness"), unless a VU's timer measured this turn already.
         * Woken late by a completion counts too: the timer was due first. */
        if (slept_until && !e->late_seen && now >= slept_until)
            hist_record(&e->timer_late, (now - slept_until) / 1000);
        e->late_seen = false;
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
        req_timeouts(e, now);
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
        slept_until = e->ring.slept ? deadline : 0;
        if (ret < 0 && ret != -EINTR) {
            snprintf(e->fatal, sizeof e->fatal, "io_uring_enter failed: %s", strerror(-ret));
            break;
        }
    }
    for (int s = 0; s < e->nsc; s++)
        sc_stop(e, &e->sc[s]);
    publish(e);
    e->wall_end = ring_now();
    worker_cpu_sample(&e->cpu_end);
}

/* --- setup and teardown ------------------------------------------------------------------ */

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

/* One deadline FIFO per distinct timeout of the plan's requests. */
static int tq_setup(struct engine *e, const struct plan *pl)
{
    for (int s = 0; s < pl->nsc; s++)
        for (int r = 0; r < pl->sc[s].nreqs; r++) {
            int64_t t = pl->sc[s].reqs[r].timeout_ns;
            bool known = false;
            for (int i = 0; i < e->ntq; i++)
                known |= e->tq[i].timeout == t;
            if (!known) {
                struct tqueue *nq = realloc(e->tq, (size_t)(e->ntq + 1) * sizeof *e->tq);
                if (!nq)
                    return -ENOMEM;
                e->tq = nq;
                e->tq[e->ntq++] = (struct tqueue){ .timeout = t, .head = -1, .tail = -1 };
            }
        }
    return 0;
}

/* The VUs of scenario s: numbers, seeds, and their buffers carved from the slab at *at. */
static void vus_setup(struct engine *e, int s, uint8_t **at)
{
    const struct engine_config *cfg = &e->cfg;
    const struct plan_scenario *p = &cfg->plan->sc[s];
    struct sc_rt *sc = &e->sc[s];
    for (uint32_t k = 0; k < sc->n; k++) {
        struct vu *v = vu_of(e, sc->first + k);
        v->gid = (uint32_t)cfg->worker + 1 + k * (uint32_t)cfg->nworkers;
        v->sc = (uint16_t)s;
        v->req = -1;
        v->tq = -1;
        v->tq_prev = v->tq_next = -1;
        v->rng = cfg->seed ^ (0xD1B54A32D192ED03ULL * ((uint64_t)s << 32 | v->gid));
        v->max_iov = p->max_iov + 2;
        v->iov = (struct iovec *)*at;
        struct iovec *win = v->iov + v->max_iov; /* where a large body's pieces are cut */
        stream_init(&v->st, win, v->max_iov);
        v->scratch = (char *)(win + v->max_iov);
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
        *at += vu_bytes(p);
    }
}

/* Receive buffers are shared by all the worker's connections and given back
 * after each batch of completions, so the pool bounds how much one batch
 * can take in, not how many connections there are. The kernel cycles
 * through the whole ring, so every buffer ends up resident: 512 x 16 KiB =
 * 8 MiB per worker at most. A batch that finds none free ends its receives
 * with -ENOBUFS, and they are re-armed. */
static int ring_setup(struct engine *e)
{
    unsigned nbufs = pow2_at_least((uint64_t)e->nvus + 64);
    nbufs = nbufs < 256 ? 256 : nbufs > 512 ? 512 : nbufs;
    unsigned sq = pow2_at_least((uint64_t)e->nvus * 2 + 64);
    struct ring_config rc = { .sq_entries = sq > 4096 ? 4096 : sq, .nbufs = nbufs, .buf_size = 16384,
                              .nfiles = e->nvus ? e->nvus : 1 };
    int err = ring_init(&e->ring, &rc);
    uint64_t slots = limits_read_ring_slots();
    if (err == -EMFILE && rc.nfiles > slots) {
        int need = limits_workers_needed(e->cfg.plan, slots);
        snprintf(e->fatal, sizeof e->fatal,
                 "%u connections in one worker, but a worker's io_uring file table holds at most %llu "
                 "(the open-file limit, ulimit -n): use -t %d or more, or raise ulimit -n",
                 rc.nfiles, (unsigned long long)slots, need);
    } else if (err) {
        snprintf(e->fatal, sizeof e->fatal, "io_uring setup failed: %s", strerror(-err));
    }
    return err;
}

/* Everything a run needs, allocated here and never during it: per scenario
 * its run-time state and metrics, the VUs and their slab, the deadline
 * FIFOs, the bulk FIFO, the streams' pool, snapshots, and the ring. */
int engine_init(struct engine *e, const struct engine_config *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    const struct plan *pl = cfg->plan;
    if (pl->any_tls && !cfg->tls) {
        snprintf(e->fatal, sizeof e->fatal, "an https target needs a TLS context (internal error)");
        return -EINVAL;
    }
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
    e->bulkq = calloc(e->nvus ? e->nvus : 1, sizeof *e->bulkq);
    e->slab = calloc(slab ? slab : 1, 1);
    if (!e->vus || !e->slab || !e->bulkq || tq_setup(e, pl) != 0 ||
        hist_init(&e->timer_late, 1, 3600LL * 1000 * 1000, cfg->sigfigs) != 0 ||
        stream_pool_init(&e->pool, &e->ring, cfg->tls) != 0)
        goto oom;
    uint8_t *at = e->slab;
    for (int s = 0; s < pl->nsc; s++) {
        if (scenario_metrics_init(&e->m[s], pl->sc[s].nreqs, cfg->sigfigs) != 0)
            goto oom;
        e->sc[s].m = &e->m[s];
        if (sc_setup(e, &e->sc[s], &pl->sc[s]) != 0)
            goto oom;
        vus_setup(e, s, &at);
    }
    if (cfg->snapshots) {
        e->snap.m = calloc((size_t)pl->nsc, sizeof *e->snap.m);
        if (!e->snap.m)
            goto oom;
        for (int s = 0; s < pl->nsc; s++)
            if (scenario_metrics_init(&e->snap.m[s], pl->sc[s].nreqs, cfg->sigfigs) != 0)
                goto oom;
    }
    return ring_setup(e);
oom:
    snprintf(e->fatal, sizeof e->fatal, "out of memory for %u VUs", e->nvus);
    engine_free(e);
    return -ENOMEM;
}

void engine_free(struct engine *e)
{
    ring_exit(&e->ring);
    /* The ring is gone: nothing reads the streams' buffers any more. */
    for (uint32_t i = 0; e->vus && i < e->nvus; i++)
        stream_closed(&e->pool, &e->vus[i].st, i, e->vus[i].gen);
    stream_pool_free(&e->pool);
    for (int s = 0; s < e->nsc; s++) {
        if (e->m)
            scenario_metrics_free(&e->m[s]);
        if (e->sc)
            sc_free(&e->sc[s]);
    }
    if (e->snap.m) {
        for (int s = 0; s < e->nsc; s++)
            scenario_metrics_free(&e->snap.m[s]);
        free(e->snap.m);
        e->snap.m = NULL;
    }
    hist_free(&e->timer_late);
    free(e->sc);
    free(e->m);
    free(e->vus);
    free(e->tq);
    free(e->bulkq);
    free(e->slab);
    e->sc = NULL;
    e->m = NULL;
    e->vus = NULL;
    e->tq = NULL;
    e->ntq = 0;
    e->bulkq = NULL;
    e->slab = NULL;
    e->nsc = 0;
}
