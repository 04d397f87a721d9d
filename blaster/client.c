/* client — see client.h.
 *
 * One request's path: a request falls due (schedule_due) or a connection
 * frees up (conn_idle) → conn_send queues the pre-rendered bytes on the ring
 * → the multishot receive delivers bytes (on_recv) → the HTTP parser frames
 * the response → complete() records the latencies → the connection is idle
 * again. Connections are named by their slot in the ring's file table, which
 * is also their index in c->conns; a generation number makes completions
 * that arrive after a close harmless. */
#include "blaster/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY, C_CLOSING };

struct conn {
    uint32_t          gen;
    uint8_t           state;
    bool              in_idle;     /* on the idle stack (entries are checked when popped) */
    bool              got_first;   /* first response byte seen */
    bool              from_queue;
    int32_t           tq_prev, tq_next;
    uint32_t          backoff_ms;  /* reconnect delay after failed connects */
    int64_t           deadline;    /* timeout of the connect or request in flight */
    int64_t           t_start;     /* connect started */
    int64_t           t_ready;     /* connection became free */
    int64_t           t_intended, t_sent, t_first;
    int64_t           last_done;   /* previous completion (closed model's intended start) */
    struct http_resp  resp;
    struct ring_timer timer;       /* reconnect backoff */
};

#define QUEUE_SECONDS 5  /* the open model's queue holds this much of the schedule */
#define BACKOFF_MAX_MS 1000

/* --- the timeout queue: connections ordered by deadline ------------------
 * The timeout is the same for every request, so deadlines are appended in
 * order and the oldest is always at the head: O(1) insert, remove and check. */

static void tq_remove(struct client *c, struct conn *k)
{
    int32_t i = (int32_t)(k - c->conns);
    if (k->tq_prev == -1 && c->tq_head != i)
        return; /* not queued */
    if (k->tq_prev >= 0)
        c->conns[k->tq_prev].tq_next = k->tq_next;
    else
        c->tq_head = k->tq_next;
    if (k->tq_next >= 0)
        c->conns[k->tq_next].tq_prev = k->tq_prev;
    else
        c->tq_tail = k->tq_prev;
    k->tq_prev = k->tq_next = -1;
}

static void tq_append(struct client *c, struct conn *k, int64_t deadline)
{
    int32_t i = (int32_t)(k - c->conns);
    tq_remove(c, k);
    k->deadline = deadline;
    k->tq_prev = c->tq_tail;
    k->tq_next = -1;
    if (c->tq_tail >= 0)
        c->conns[c->tq_tail].tq_next = i;
    else
        c->tq_head = i;
    c->tq_tail = i;
}

/* --- connections --------------------------------------------------------- */

static uint32_t idx(const struct client *c, const struct conn *k) { return (uint32_t)(k - c->conns); }

static enum err_class classify(int err)
{
    switch (err) {
    case ECONNREFUSED: return ERR_REFUSED;
    case ECONNRESET: case EPIPE: case ECONNABORTED: case ENOTCONN: return ERR_RESET;
    case ETIMEDOUT: return ERR_TIMEOUT;
    default: return ERR_OTHER;
    }
}

static void conn_close(struct client *c, struct conn *k)
{
    tq_remove(c, k);
    if (k->state == C_IDLE || k->state == C_BUSY)
        c->open_conns--;
    k->state = C_CLOSING;
    ring_close(&c->ring, idx(c, k), k->gen, false);
}

static void conn_connect(struct client *c, struct conn *k, int64_t now)
{
    k->t_start = now;
    int err = ring_connect(&c->ring, idx(c, k), k->gen, (const struct sockaddr *)&c->cfg.addr,
                           c->cfg.addrlen, NULL, 0);
    if (err) {
        /* No socket, so no close to wait for: retry from the timer. */
        metrics_error(&c->m, classify(-err), -err);
        k->state = C_DOWN;
        k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : 10;
        if (k->backoff_ms > BACKOFF_MAX_MS)
            k->backoff_ms = BACKOFF_MAX_MS;
        ring_timer_at(&c->ring, &k->timer, idx(c, k), k->gen, now + (int64_t)k->backoff_ms * 1000000);
        return;
    }
    k->state = C_CONNECTING;
    tq_append(c, k, now + c->cfg.timeout_ns);
}

/* A request or connect failed: count it (k6: a request with status 0) and
 * start over on a new connection. */
static void conn_fail(struct client *c, struct conn *k, enum err_class e, int err)
{
    if (k->state == C_BUSY || k->state == C_CONNECTING)
        metrics_error(&c->m, e, err);
    k->last_done = 0;
    conn_close(c, k);
}

static void conn_send(struct client *c, struct conn *k, int64_t intended, bool from_queue, int64_t now)
{
    const struct request *rq = c->cfg.req;
    http_resp_init(&k->resp, rq->is_head);
    k->t_intended = intended;
    k->t_sent = now;
    k->got_first = false;
    k->from_queue = from_queue;
    if (!from_queue) {
        /* The client's own lateness: how long after the later of "due" and
         * "a connection was free" the request actually left. */
        int64_t ready = intended > k->t_ready ? intended : k->t_ready;
        hist_record(&c->m.lag, ns_to_us(now - ready));
    }
    if (rq->body) {
        static __thread struct iovec iov[2];
        static __thread struct msghdr msg;
        /* Read by the kernel when submitted (kernel 6.x copies the msghdr at
         * prep); the buffers themselves are shared and never change. */
        iov[0] = (struct iovec){ (void *)rq->head, rq->head_len };
        iov[1] = (struct iovec){ (void *)rq->body, rq->body_len };
        msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 2 };
        ring_sendmsg(&c->ring, idx(c, k), k->gen, &msg, true);
    } else {
        ring_send(&c->ring, idx(c, k), k->gen, rq->head, rq->head_len, true);
    }
    c->m.bytes_sent += rq->head_len + rq->body_len;
    k->state = C_BUSY;
    tq_append(c, k, now + c->cfg.timeout_ns);
}

static void queue_push(struct client *c, int64_t t)
{
    c->queue[(c->qhead + c->qlen) & (c->qcap - 1)] = t;
    c->qlen++;
}

static int64_t queue_pop(struct client *c)
{
    int64_t t = c->queue[c->qhead];
    c->qhead = (c->qhead + 1) & (c->qcap - 1);
    c->qlen--;
    return t;
}

/* The connection is free: give it the next request, or park it. */
static void conn_idle(struct client *c, struct conn *k, int64_t now)
{
    k->state = C_IDLE;
    k->t_ready = now;
    if (!c->generating)
        return;
    if (c->cfg.rate <= 0) {
        conn_send(c, k, k->last_done ? k->last_done : now, false, now);
    } else if (c->qlen) {
        conn_send(c, k, queue_pop(c), true, now);
    } else if (!k->in_idle) {
        k->in_idle = true;
        c->idle[c->nidle++] = idx(c, k);
    }
}

static struct conn *idle_pop(struct client *c)
{
    while (c->nidle) {
        struct conn *k = &c->conns[c->idle[--c->nidle]];
        k->in_idle = false;
        if (k->state == C_IDLE)
            return k;
    }
    return NULL;
}

static void complete(struct client *c, struct conn *k, int64_t now)
{
    struct metrics *m = &c->m;
    int st = k->resp.status;
    m->reqs++;
    if (st >= 0 && st < METRICS_MAX_STATUS)
        m->status[st]++;
    if (st < 200 || st >= 400)
        m->failed++;
    hist_record(&m->duration, ns_to_us(now - k->t_intended));
    hist_record(&m->service, ns_to_us(now - k->t_sent));
    hist_record(&m->waiting, ns_to_us(k->t_first - k->t_sent));
    tq_remove(c, k);
    k->last_done = now;
}

/* --- completions ----------------------------------------------------------- */

static void on_connect(struct client *c, struct conn *k, int res, int64_t now)
{
    if (res < 0) {
        c->connect_failures++;
        k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : 10;
        if (k->backoff_ms > BACKOFF_MAX_MS)
            k->backoff_ms = BACKOFF_MAX_MS;
        conn_fail(c, k, classify(-res), -res);
        if (!c->ever_connected && c->connect_failures >= (uint32_t)c->cfg.conns) {
            snprintf(c->fatal, sizeof c->fatal, "could not connect: %s (%s)",
                     strerror(-res), err_class_name[classify(-res)]);
        }
        return;
    }
    c->ever_connected = true;
    c->m.connects++;
    c->open_conns++;
    k->backoff_ms = 0;
    tq_remove(c, k);
    hist_record(&c->m.connecting, ns_to_us(now - k->t_start));
    ring_recv(&c->ring, idx(c, k), k->gen);
    conn_idle(c, k, now);
}

static void on_recv(struct client *c, struct conn *k, const struct ring_event *ev, int64_t now)
{
    if (ev->res > 0) {
        c->m.bytes_recv += ev->len;
        if (k->state != C_BUSY) {
            /* Bytes nobody asked for: the stream can no longer be framed. */
            metrics_error(&c->m, ERR_PARSE, 0);
            conn_close(c, k);
            return;
        }
        if (!k->got_first) {
            k->got_first = true;
            k->t_first = now;
        }
        size_t used;
        enum http_rc rc = http_resp_feed(&k->resp, ev->data, ev->len, &used);
        if (rc == HTTP_PARTIAL) {
            /* more to come */
        } else if (rc == HTTP_DONE) {
            complete(c, k, now);
            if (used < ev->len) {
                metrics_error(&c->m, ERR_PARSE, 0);
                conn_close(c, k);
                return;
            }
            if (!k->resp.keep_alive) {
                conn_close(c, k);
                return;
            }
            conn_idle(c, k, now);
        } else {
            conn_fail(c, k, ERR_PARSE, 0);
            return;
        }
    } else if (ev->res == 0) {
        /* The server closed. Mid-response that completes a close-delimited
         * body, or is an error; on an idle connection it is just a close. */
        if (k->state == C_BUSY) {
            if (http_resp_eof(&k->resp) == HTTP_DONE) {
                complete(c, k, now);
                conn_close(c, k);
            } else {
                conn_fail(c, k, ERR_RESET, ECONNRESET);
            }
        } else {
            conn_close(c, k);
        }
        return;
    } else if (ev->res != -ENOBUFS) {
        if (k->state == C_BUSY)
            conn_fail(c, k, classify(-ev->res), -ev->res);
        else
            conn_close(c, k);
        return;
    }
    /* Multishot ends on -ENOBUFS (buffers were all in use): re-arm. */
    if (!ev->more && (k->state == C_IDLE || k->state == C_BUSY))
        ring_recv(&c->ring, idx(c, k), k->gen);
}

static void on_event(void *ctx, const struct ring_event *ev)
{
    struct client *c = ctx;
    struct conn *k = &c->conns[ev->idx];
    if (ev->gen != (k->gen & RING_GEN_MASK))
        return; /* a completion for an earlier connection on this slot */
    int64_t now = ring_now();
    switch (ev->op) {
    case RING_OP_CONNECT:
        if (k->state == C_CONNECTING)
            on_connect(c, k, ev->res, now);
        break;
    case RING_OP_RECV:
        if (k->state == C_IDLE || k->state == C_BUSY)
            on_recv(c, k, ev, now);
        break;
    case RING_OP_SEND: /* only failures are reported */
        if (ev->res < 0 && (k->state == C_BUSY || k->state == C_IDLE))
            conn_fail(c, k, classify(-ev->res), -ev->res);
        break;
    case RING_OP_CLOSE:
        k->gen++;
        k->state = C_DOWN;
        if (!c->generating || c->fatal[0])
            break;
        if (k->backoff_ms)
            ring_timer_at(&c->ring, &k->timer, idx(c, k), k->gen, now + (int64_t)k->backoff_ms * 1000000);
        else
            conn_connect(c, k, now);
        break;
    case RING_OP_TIMER:
        if (k->state == C_DOWN && c->generating && !c->fatal[0])
            conn_connect(c, k, now);
        break;
    default:
        break;
    }
}

/* --- the schedule ------------------------------------------------------------ */

static void schedule_due(struct client *c, int64_t now)
{
    while (schedule_peek(&c->sched) <= now && schedule_peek(&c->sched) < c->cfg.end_ns) {
        int64_t t = schedule_take(&c->sched);
        struct conn *k = idle_pop(c);
        if (k) {
            conn_send(c, k, t, false, now);
        } else if (c->qlen < c->qcap) {
            queue_push(c, t);
            c->m.queued++;
        } else {
            c->m.dropped++;
        }
    }
}

static void check_timeouts(struct client *c, int64_t now)
{
    while (c->tq_head >= 0 && c->conns[c->tq_head].deadline <= now) {
        struct conn *k = &c->conns[c->tq_head];
        conn_fail(c, k, ERR_TIMEOUT, ETIMEDOUT);
    }
}

static void publish(struct client *c)
{
    __atomic_store_n(&c->live.reqs, c->m.reqs, __ATOMIC_RELAXED);
    __atomic_store_n(&c->live.failed, c->m.failed, __ATOMIC_RELAXED);
    __atomic_store_n(&c->live.bytes_recv, c->m.bytes_recv, __ATOMIC_RELAXED);
    __atomic_store_n(&c->live.open_conns, c->open_conns, __ATOMIC_RELAXED);
}

static unsigned pow2_at_least(uint64_t n)
{
    unsigned p = 1;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

int client_init(struct client *c, const struct client_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    c->tq_head = c->tq_tail = -1;
    int conns = cfg->conns;
    /* Receive buffers are shared by all connections of the worker and given
     * back after each batch of completions, so the pool bounds how many
     * responses one batch can take in, not how many connections there are.
     * The kernel cycles through the whole ring, so every buffer ends up
     * resident: 512 x 16 KiB = 8 MiB per worker at most. A batch that finds
     * none free ends its receives with -ENOBUFS, and they are re-armed. */
    unsigned nbufs = pow2_at_least((uint64_t)conns + 64);
    if (nbufs < 256)
        nbufs = 256;
    if (nbufs > 512)
        nbufs = 512;
    struct ring_config rc = {
        .sq_entries = pow2_at_least((uint64_t)conns * 2 + 64) > 4096 ? 4096 : pow2_at_least((uint64_t)conns * 2 + 64),
        .nbufs = nbufs, .buf_size = 16384, .nfiles = (unsigned)conns,
    };
    int err = ring_init(&c->ring, &rc);
    if (err) {
        snprintf(c->fatal, sizeof c->fatal, "io_uring setup failed: %s", strerror(-err));
        return err;
    }
    err = metrics_init(&c->m, cfg->sigfigs);
    c->conns = calloc((size_t)conns, sizeof *c->conns);
    c->idle = calloc((size_t)conns, sizeof *c->idle);
    if (cfg->rate > 0) {
        c->qcap = pow2_at_least((uint64_t)(cfg->rate * QUEUE_SECONDS) + 1024);
        if (c->qcap > (1u << 22))
            c->qcap = 1u << 22;
        c->queue = calloc(c->qcap, sizeof *c->queue);
    }
    if (err || !c->conns || !c->idle || (cfg->rate > 0 && !c->queue)) {
        snprintf(c->fatal, sizeof c->fatal, "out of memory for %d connections", conns);
        client_free(c);
        return -ENOMEM;
    }
    for (int i = 0; i < conns; i++)
        c->conns[i].tq_prev = c->conns[i].tq_next = -1;
    return 0;
}

void client_free(struct client *c)
{
    if (c->ring.br)
        ring_exit(&c->ring);
    metrics_free(&c->m);
    free(c->conns);
    free(c->idle);
    free(c->queue);
    c->conns = NULL;
    c->idle = NULL;
    c->queue = NULL;
}

void client_run(struct client *c, const int *stop)
{
    const struct client_config *cfg = &c->cfg;
    worker_cpu_sample(&c->cpu_start);
    c->wall_start = ring_now();
    c->generating = true;
    int64_t now = ring_now();
    /* Workers' schedules interleave instead of firing together. */
    if (cfg->rate > 0) {
        double gap = 1e9 / cfg->rate;
        schedule_init(&c->sched, cfg->start_ns + (int64_t)(gap * cfg->worker / (cfg->nworkers ? cfg->nworkers : 1)),
                      cfg->rate, cfg->poisson, cfg->seed);
    }
    for (int i = 0; i < cfg->conns; i++)
        conn_connect(c, &c->conns[i], now);

    bool stopped = false;
    int64_t grace_end = cfg->end_ns + cfg->grace_ns;
    for (;;) {
        now = ring_now();
        if (__atomic_load_n(stop, __ATOMIC_RELAXED) || c->fatal[0]) {
            stopped = true;
            break;
        }
        if (c->generating && now >= cfg->end_ns) {
            c->generating = false;
            c->m.dropped += c->qlen; /* due, never sent: the schedule was not met */
            c->qlen = 0;
        }
        if (!c->generating) {
            bool busy = false;
            for (int i = 0; i < cfg->conns && !busy; i++)
                busy = c->conns[i].state == C_BUSY;
            if (!busy || now >= grace_end)
                break;
        }
        if (c->generating && cfg->rate > 0)
            schedule_due(c, now);
        check_timeouts(c, now);
        publish(c);

        int64_t deadline = now + 100 * 1000000LL; /* notice a stop within 100 ms */
        if (c->generating && cfg->rate > 0 && schedule_peek(&c->sched) < deadline)
            deadline = schedule_peek(&c->sched);
        if (c->generating && cfg->end_ns < deadline)
            deadline = cfg->end_ns;
        if (!c->generating && grace_end < deadline)
            deadline = grace_end;
        if (c->tq_head >= 0 && c->conns[c->tq_head].deadline < deadline)
            deadline = c->conns[c->tq_head].deadline;
        int ret = ring_run(&c->ring, deadline, on_event, c);
        if (ret < 0 && ret != -EINTR) {
            snprintf(c->fatal, sizeof c->fatal, "io_uring_enter failed: %s", strerror(-ret));
            break;
        }
    }
    (void)stopped;
    for (int i = 0; i < cfg->conns; i++)
        if (c->conns[i].state == C_BUSY)
            c->m.interrupted++;
    if (c->generating) {
        c->m.dropped += c->qlen;
        c->qlen = 0;
    }
    publish(c);
    c->wall_end = ring_now();
    worker_cpu_sample(&c->cpu_end);
}
