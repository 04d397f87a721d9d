/* serve — the workers of `blaster serve`, the built-in HTTP/1.1 test target:
 * their connections, the queue of responses going out, the completions.
 * What a request gets back (framing, routing, faults) is serve_answer.c's;
 * the command line (serve_opts.c), the responses (serve_render.c) and the
 * main thread (serve_main.c) are elsewhere; serve_int.h is what they share.
 *
 * One worker thread per CPU, each with its own ring, its own listening socket
 * (SO_REUSEPORT spreads the connections), a multishot accept into the ring's
 * file table and a multishot receive per connection into the ring's shared
 * provided buffers, so an idle connection costs its struct conn and nothing
 * else. A connection is named by its slot in the file table, which is also its
 * index in the worker's slab of struct conn; a generation number makes the
 * completions that arrive after a close harmless.
 *
 * A request's path: bytes arrive (on_recv) → the stream gives plaintext
 * (conn_drive) → serve_answer.c frames a request, picks its response and
 * appends it to the connection's queue → serve_flush() sends the queue's head
 * when it is due: now, after --delay, or at the end of a stall. Every response
 * is rendered once at start (serve_render.c), so a send only points at it.
 *
 * Why a queue: requests are parsed as soon as they arrive (the provided buffer
 * goes back to the kernel when the handler returns), but a connection has at
 * most one send in flight, because two sends on one socket can be reordered
 * or interleaved when the first one waits for socket space. Pipelined
 * requests wait in the queue as runs of identical responses; a run goes out
 * in one send, from a rendering that holds several copies back to back.
 *
 * --app demo's responses that carry per-request values (an upload id, a
 * chunk's byte count, an order id) are a header rendered once up to
 * "Content-Length: " and a tail rendered when the response is sent, into the
 * connection's small dyn[] buffer, from values queued at routing time in the
 * connection's dq[] (in queue order, like the responses). GET /__stats
 * renders every worker's counters into the worker's one stats buffer; a
 * connection that finds it busy (another connection's send in flight)
 * retries a millisecond later.
 *
 * Every connection's bytes go through its struct stream (stream.h, the load
 * engine's connection code too): plain, or with --tls through tls/, so the
 * code here never asks which. A response is handed to the stream as iovecs
 * pointing into its rendering: sent from there (plain), or encrypted from
 * there a few records at a time (TLS); either way one send is in flight. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blaster/serve/demo_app.h"
#include "blaster/run/http.h"
#include "blaster/serve/serve_int.h"
#include "blaster/run/stream.h"
#include "ring/ring.h"
#include "ring/worker.h"
#include "tls/tls.h"

/* t, or the end of the stall t falls in. Stalls start at t0 + i * EVERY for
 * i >= 1 and last DUR (< EVERY). */
static int64_t after_stall(const struct server *s, int64_t t)
{
    const struct serve_opts *o = &s->o;
    if (!o->stall_ns || t < s->t0 + o->stall_every_ns)
        return t;
    int64_t start = s->t0 + (t - s->t0) / o->stall_every_ns * o->stall_every_ns;
    return t < start + o->stall_ns ? start + o->stall_ns : t;
}

/* The stats buffer is free again: its send completed, or its connection is
 * being closed (the cancelled send can at worst carry newer bytes to a
 * connection that is going away). */
static void stats_release(struct worker *w, const struct conn *k)
{
    if (w->stats_busy && w->stats_slot == slot(w, k) && w->stats_gen == k->gen)
        w->stats_busy = false;
}

void serve_close(struct worker *w, struct conn *k, bool reset)
{
    if (k->state == C_CLOSING || k->state == C_FREE)
        return;
    stats_release(w, k);
    if (k->flags & F_TIMER)
        ring_timer_cancel(&w->ring, slot(w, k), k->gen);
    k->flags = 0;
    k->state = C_CLOSING;
    ring_close(&w->ring, slot(w, k), k->gen, reset);
}

static bool conn_notify(struct worker *w, struct conn *k);

/* A response that closes the connection was sent. Shut our side down and
 * close when the peer does (or after LINGER_NS): closing at once with the
 * peer's unread bytes in the socket would send an RST that can destroy the
 * response before the peer reads it. */
static void conn_linger(struct worker *w, struct conn *k)
{
    w->st.closes++;
    if (conn_notify(w, k))
        return;
    if (k->flags & F_EOF) {
        serve_close(w, k, false);
        return;
    }
    k->state = C_LINGER;
    k->flags = F_TIMER;
    ring_shutdown(&w->ring, slot(w, k), k->gen);
    ring_timer_at(&w->ring, &k->timer, slot(w, k), k->gen, ring_now() + LINGER_NS);
}

/* Make a dynamic response: its header, then "<length>\r\n\r\n<body>" made
 * now, in iov[0..2). False (and a retry timer set) when /__stats finds the
 * worker's stats buffer in use. */
static bool render_dyn_now(struct worker *w, struct conn *k, unsigned resp, const struct rendered *r)
{
    char *buf;
    size_t off, blen;
    if (r->dyn == DEMO_DYN_STATS) {
        if (w->stats_busy) {
            k->flags |= F_TIMER;
            ring_timer_at(&w->ring, &k->timer, slot(w, k), k->gen, ring_now() + STATS_RETRY_NS);
            return false;
        }
        buf = w->stats_buf;
        off = STATS_HEAD;
        blen = demo_render_stats(&w->s->demo, buf + off, DEMO_STATS_MAX);
        w->stats_busy = true;
        w->stats_slot = slot(w, k);
        w->stats_gen = k->gen;
    } else {
        const struct demo_arg *a = &k->dq[k->dqhead];
        k->dqhead = (k->dqhead + 1) & (DYNQ - 1);
        k->dqlen--;
        buf = k->dyn;
        off = DYNBUF - DEMO_DYN_MAX;
        blen = demo_render(&w->s->demo, resp - RESP_DEMO, a, buf + off, DEMO_DYN_MAX);
    }
    char num[32];
    int nl = snprintf(num, sizeof num, "%zu\r\n\r\n", blen);
    off -= (size_t)nl;
    memcpy(buf + off, num, (size_t)nl);
    k->iov[0] = (struct iovec){ (void *)r->hdr, r->hdr_len };
    k->iov[1] = (struct iovec){ buf + off, (size_t)nl + blen };
    k->sending = r->hdr_len + (size_t)nl + blen;
    return true;
}

/* A stream that cannot go on (TLS: a failed handshake, a client speaking
 * plaintext, a bad record): nothing more can be said on this connection,
 * not even an HTTP error. */
static void conn_broken(struct worker *w, struct conn *k)
{
    w->st.tls_errors++;
    serve_close(w, k, false);
}

/* Give the stream what it can take now: the rest of the response in
 * iov[], a handshake flight. */
static void conn_push(struct worker *w, struct conn *k)
{
    if (stream_push(&w->pool, &k->st, slot(w, k), k->gen, SIZE_MAX, false) != 0)
        conn_broken(w, k);
}

/* Send iov[0..n) (k->sending bytes): the connection's one send in flight. */
static void conn_send(struct worker *w, struct conn *k, int n)
{
    k->flags |= F_SENDING;
    stream_message(&k->st, k->iov, n, (size_t)k->sending);
    conn_push(w, k);
}

/* Send the head of the queue if it is due and nothing is in flight. */
void serve_flush(struct worker *w, struct conn *k)
{
    if (k->flags & (F_SENDING | F_TIMER))
        return;
    if (!k->qlen) {
        if (k->flags & F_EOF)
            serve_close(w, k, false);
        return;
    }
    struct run *run = &k->q[k->qhead];
    const struct rendered *r = &w->s->table[run->id];
    if (w->s->timed) {
        /* The delay counts from when the response became the head (so the
         * responses of one connection wait one after the other); a stall
         * holds back whatever would be sent during it. */
        int64_t now = ring_now();
        if (!(k->flags & F_DUE)) {
            k->due = now + (run->id >> 3 == RESP_CONTINUE ? 0 : w->s->o.delay_ns);
            k->flags |= F_DUE;
        }
        int64_t t = after_stall(w->s, k->due > now ? k->due : now);
        if (t > now) {
            k->flags |= F_TIMER;
            ring_timer_at(&w->ring, &k->timer, slot(w, k), k->gen, t);
            return;
        }
    }
    if (r->after == AFTER_RESET) {
        w->st.resets++;
        serve_close(w, k, true);
        return;
    }
    if (r->dyn) {
        if (render_dyn_now(w, k, run->id >> 3, r)) {
            k->inflight = 1;
            conn_send(w, k, 2);
        }
        return;
    }
    /* Sent from the rendering (several copies of a small response back to
     * back, or a header and the shared body), never copied. */
    uint16_t n = run->n < r->reps ? run->n : r->reps;
    k->sending = r->len * n;
    k->inflight = n;
    if (r->data) {
        k->iov[0] = (struct iovec){ (void *)r->data, (size_t)k->sending };
        conn_send(w, k, 1);
    } else {
        k->iov[0] = (struct iovec){ (void *)r->hdr, r->hdr_len };
        k->iov[1] = (struct iovec){ (void *)r->body, r->len - r->hdr_len };
        conn_send(w, k, 2);
    }
}

/* --- the connection's stream ------------------------------------------------ */

/* End the stream in band (TLS close_notify) and send that ahead of the FIN
 * (which on_send sends once it is out), so the peer can tell a complete
 * response from a cut one. The linger timer bounds the wait for a peer that
 * reads nothing. False when there is nothing to send: linger as a plain
 * connection does. */
static bool conn_notify(struct worker *w, struct conn *k)
{
    if (!stream_shutdown(&w->pool, &k->st, slot(w, k), k->gen))
        return false;
    k->state = C_LINGER;
    k->flags = (uint8_t)(F_TIMER | (k->flags & F_EOF));
    ring_timer_at(&w->ring, &k->timer, slot(w, k), k->gen, ring_now() + LINGER_NS);
    return true;
}

/* The peer is done sending (FIN, or close_notify): answer what was asked, then close. */
static void peer_eof(struct worker *w, struct conn *k)
{
    if (k->state == C_LINGER || !(k->qlen || (k->flags & F_SENDING)))
        serve_close(w, k, false);
    else
        k->flags |= F_EOF;  /* flush closes when the queue is empty */
}

/* Run the connection until the stream wants more bytes: the handshake
 * (TLS), then plaintext for the request parser; then send what can go. */
static void conn_drive(struct worker *w, struct conn *k)
{
    while (k->state == C_OPEN && !(k->flags & F_IGNORE)) {
        const uint8_t *p;
        int n = stream_read(&w->pool, &k->st, &p);
        if (n > 0) {
            serve_feed(w, k, p, (size_t)n);
            continue;
        }
        if (n == STREAM_UP)
            continue;
        if (n == STREAM_ERROR) {
            conn_broken(w, k);
            return;
        }
        if (n == STREAM_CLOSED)
            peer_eof(w, k);
        break;
    }
    stream_drop(&k->st); /* a closing response is queued: what follows is not read */
    if (k->state == C_OPEN)
        conn_push(w, k);
}

/* --- completions ------------------------------------------------------------ */

static void on_accept(struct worker *w, const struct ring_event *ev)
{
    if (ev->res >= 0 && (uint32_t)ev->res < w->nconns) {
        struct conn *k = &w->conns[ev->res];
        /* A new generation: completions still to come for the slot's previous
         * connection (a cancelled receive, say) are ignored from here on. */
        k->gen++;
        k->state = C_OPEN;
        k->flags = 0;
        k->qhead = k->qlen = 0;
        k->dqhead = k->dqlen = 0;
        serve_req_init(w->s, k);
        w->st.accepted++;
        /* Here, not at start: the slab's pages stay untouched until used. */
        stream_init(&k->st, k->win, 2);
        if (stream_open(&w->pool, &k->st, w->tls, NULL) != 0) {
            serve_close(w, k, false);  /* out of memory: this one connection goes */
        } else {
            ring_recv(&w->ring, (uint32_t)ev->res, k->gen);
        }
    }
    if (!ev->more) {
        /* The multishot accept ended. On an error (the file table is full,
         * say) retry a little later rather than spin. */
        if (ev->res >= 0)
            ring_accept(&w->ring, w->listen_fd, 0);
        else
            ring_timer_at(&w->ring, &w->accept_timer, w->nconns, 0, ring_now() + ACCEPT_RETRY_NS);
    }
}

static void on_recv(struct worker *w, struct conn *k, const struct ring_event *ev)
{
    if (ev->res > 0) {
        w->st.bytes_in += ev->len;
        if (k->state == C_OPEN) {
            if (stream_feed(&k->st, ev->data, ev->len) != 0)
                conn_broken(w, k);
            else
                conn_drive(w, k);
        }
        /* else lingering: the peer's bytes are read and dropped */
    } else if (ev->res == 0) {
        peer_eof(w, k);
        return;
    } else if (ev->res != -ENOBUFS) {
        serve_close(w, k, false);
        return;
    }
    /* A multishot receive also ends when the buffers ran out (-ENOBUFS): re-arm. */
    if (!ev->more && (k->state == C_OPEN || k->state == C_LINGER))
        ring_recv(&w->ring, slot(w, k), k->gen);
}

/* The head run's inflight responses are out: take them off the queue, go on. */
static void sent(struct worker *w, struct conn *k)
{
    struct run *run = &k->q[k->qhead];
    const struct rendered *r = &w->s->table[run->id];
    run->n = (uint16_t)(run->n - k->inflight);
    if (!run->n) {
        k->qhead = (k->qhead + 1) & (QRUNS - 1);
        k->qlen--;
        k->flags &= (uint8_t)~F_DUE;
    }
    if (r->after == AFTER_CLOSE)
        conn_linger(w, k);
    else
        serve_flush(w, k);
}

/* A send completed: the response goes on, or is out (then the next one,
 * or the linger after a close_notify); a handshake flight may have waited
 * for the stream's buffer to drain. */
static void on_send(struct worker *w, struct conn *k, int res)
{
    int rc = stream_sent(&k->st, res);
    w->st.bytes_out += stream_wire_out(&k->st);
    if (k->state == C_CLOSING)
        return;  /* the stream is released when the close completes */
    if (rc == STREAM_ERROR) {
        serve_close(w, k, false);
        return;
    }
    if (k->state == C_LINGER) {
        /* close_notify is out (conn_notify): now the FIN, as conn_linger does. */
        if (k->flags & F_EOF)
            serve_close(w, k, false);
        else
            ring_shutdown(&w->ring, slot(w, k), k->gen);
        return;
    }
    if (rc == STREAM_DONE && (k->flags & F_SENDING)) {
        const struct rendered *r = &w->s->table[k->q[k->qhead].id];
        k->flags &= (uint8_t)~F_SENDING;
        if (r->dyn == DEMO_DYN_STATS)
            stats_release(w, k);
        sent(w, k);
    } else {
        conn_push(w, k);
    }
    if (k->state == C_OPEN)
        conn_drive(w, k);
}

static void on_event(void *ctx, const struct ring_event *ev)
{
    struct worker *w = ctx;
    if (ev->op == RING_OP_ACCEPT) {
        on_accept(w, ev);
        return;
    }
    if (ev->idx >= w->nconns) {
        if (ev->op == RING_OP_TIMER && ev->idx == w->nconns)
            ring_accept(&w->ring, w->listen_fd, 0);
        return;
    }
    if (ev->op == RING_OP_SEND && stream_reap(&w->pool, ev->idx, ev->gen))
        return;  /* the last send of a closed TLS connection */
    struct conn *k = &w->conns[ev->idx];
    if (ev->gen != (k->gen & RING_GEN_MASK))
        return; /* for an earlier connection on this slot */
    switch (ev->op) {
    case RING_OP_RECV:
        if (k->state == C_OPEN || k->state == C_LINGER)
            on_recv(w, k, ev);
        break;
    case RING_OP_SEND:
        if (stream_sending(&k->st))
            on_send(w, k, ev->res);
        break;
    case RING_OP_TIMER:
        if ((k->state == C_OPEN || k->state == C_LINGER) && (k->flags & F_TIMER)) {
            k->flags &= (uint8_t)~F_TIMER;
            if (k->state == C_LINGER)
                serve_close(w, k, false);
            else
                serve_flush(w, k);
        }
        break;
    case RING_OP_CLOSE:
        if (k->state == C_CLOSING) {
            k->state = C_FREE;
            stream_closed(&w->pool, &k->st, ev->idx, k->gen);
        }
        break;
    default:
        break;
    }
}

static int worker_init(struct worker *w)
{
    /* The file table can hold as many sockets as the fd limit; the slab as many. */
    struct rlimit rl;
    uint32_t n = MAX_CONNS;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
        n = (uint32_t)rl.rlim_cur;
    w->nconns = n;
    w->conns = calloc(n, sizeof *w->conns);
    if (!w->conns || stream_pool_init(&w->pool, &w->ring, w->tls) != 0) {
        w->err_what = "out of memory for the connection slab";
        return -ENOMEM;
    }
    /* 16 MiB of receive buffers for the worker, whatever the connection count. */
    struct ring_config rc = { .sq_entries = 4096, .nbufs = 2048, .buf_size = 8192, .nfiles = n };
    int err = ring_init(&w->ring, &rc);
    if (err) {
        w->err_what = "io_uring setup failed";
        return err;
    }
    w->mode = w->ring.mode;
    w->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->id + 1);
    if (w->s->o.demo) {
        w->dw = (struct demo_worker){ .st = &w->s->demo.stats[w->id], .id = (unsigned)w->id };
        w->stats_buf = malloc(STATS_HEAD + DEMO_STATS_MAX);
        if (!w->stats_buf) {
            w->err_what = "out of memory for the stats buffer";
            return -ENOMEM;
        }
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* The ring is made here: SINGLE_ISSUER binds it to this thread. */
    w->err = worker_init(w);
    pthread_barrier_wait(w->ready);
    if (!w->err) {
        ring_accept(&w->ring, w->listen_fd, 0);
        while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
            int ret = ring_run(&w->ring, ring_now() + TICK_NS, on_event, w);
            if (ret < 0 && ret != -EINTR) {
                w->err = ret;
                w->err_what = "io_uring_enter failed";
                break;
            }
        }
        /* Closing the ring closes every connection in its file table. */
        ring_exit(&w->ring);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* After the worker's thread: the ring is gone, so no send can read a
 * stream's buffers any more. */
static void worker_free(struct worker *w)
{
    for (uint32_t j = 0; w->conns && j < w->nconns; j++)
        if (stream_holds_state(&w->conns[j].st))
            stream_closed(&w->pool, &w->conns[j].st, j, w->conns[j].gen);
    stream_pool_free(&w->pool);
    free(w->conns);
    free(w->stats_buf);
}

/* --- main thread ------------------------------------------------------------- */

/* What serve_main (serve_main.c) does to the workers, here because it needs
 * struct worker: start them, watch them, join them, count, free. */

struct worker *workers_new(int n)
{
    return calloc((size_t)n, sizeof(struct worker));
}

void workers_start(struct worker *ws, int n, const struct server *s, const int *fds,
                   const int *cpus, int ncpus, struct tls_ctx *tls,
                   pthread_barrier_t *ready, const int *stop)
{
    for (int i = 0; i < n; i++) {
        ws[i] = (struct worker){ .id = i, .cpu = cpus[i % ncpus], .listen_fd = fds[i], .s = s,
                                 .ready = ready, .stop = stop, .tls = tls };
        int e = worker_start(&ws[i].thread, ws[i].cpu, worker_main, &ws[i]);
        if (e) {
            /* The started workers wait at the barrier for this one forever. */
            fprintf(stderr, "blaster serve: cannot start worker %d: %s\n", i, strerror(-e));
            _exit(2);
        }
    }
}

int workers_check(const struct worker *ws, int n, bool done_only)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (done_only && !__atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE))
            continue;
        if (ws[i].err) {
            fprintf(stderr, "blaster serve: worker %d: %s: %s\n", i, ws[i].err_what, strerror(-ws[i].err));
            rc = 2;
        }
    }
    return rc;
}

const char *workers_mode(const struct worker *ws)
{
    return ws[0].mode;
}

void workers_join(struct worker *ws, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(ws[i].thread, NULL);
}

void workers_print_stats(const struct worker *ws, int n, bool tls)
{
    for (int i = 0; i < n; i++) {
        const struct serve_stats *t = &ws[i].st;
        char extra[64] = "";
        if (tls)
            snprintf(extra, sizeof extra, ", %llu tls errors", (unsigned long long)t->tls_errors);
        fprintf(stderr,
                "blaster serve: worker %d: %llu connections, %llu requests (2xx %llu, 4xx %llu, "
                "5xx %llu, 100-continue %llu, resets %llu, garbage %llu), %llu closes, "
                "%llu pipeline overflows, %llu bytes in, %llu bytes out, %llu ring enters%s\n",
                i, (unsigned long long)t->accepted, (unsigned long long)t->requests,
                (unsigned long long)t->s2xx, (unsigned long long)t->s4xx,
                (unsigned long long)t->s5xx, (unsigned long long)t->continues,
                (unsigned long long)t->resets, (unsigned long long)t->garbage,
                (unsigned long long)t->closes, (unsigned long long)t->overflows,
                (unsigned long long)t->bytes_in, (unsigned long long)t->bytes_out,
                (unsigned long long)ws[i].ring.enters, extra);
    }
}

void workers_free(struct worker *ws, int n)
{
    for (int i = 0; ws && i < n; i++)
        worker_free(&ws[i]);
    free(ws);
}
