/* serve_answer — what a request to `blaster serve` gets back: the request
 * stream framed into requests (http_req_feed), each routed (demo_app.c with
 * --app demo, else 200), the faults drawn (--error-rate, --reset-rate,
 * --close-rate, --garbage-rate), and the chosen rendering appended to the
 * connection's queue, which serve.c sends. A client that pipelines more
 * than QRUNS different responses ahead of the server is closed (counted as
 * a pipeline overflow in -v). Nothing here sends or touches the ring. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "blaster/serve/serve_int.h"

static inline uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fault draws need speed, not crypto. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline bool chance(struct worker *w, double p)
{
    return p > 0 && (double)(rng_next(&w->rng) >> 11) * 0x1.0p-53 < p;
}

/* Append a response to the queue. False when the queue is full: a client
 * pipelining more than QRUNS different responses ahead. */
static bool enqueue(struct worker *w, struct conn *k, uint16_t id)
{
    if (k->qlen) {
        struct run *tail = &k->q[(k->qhead + k->qlen - 1) & (QRUNS - 1)];
        /* With --delay the head's due time is already set: a request joining
         * it would be answered early. */
        bool head_timed = k->qlen == 1 && (k->flags & F_DUE) && w->s->o.delay_ns;
        if (tail->id == id && tail->n < UINT16_MAX && !head_timed) {
            tail->n++;
            return true;
        }
        if (k->qlen == QRUNS)
            return false;
    }
    k->q[(k->qhead + k->qlen) & (QRUNS - 1)] = (struct run){ id, 1 };
    k->qlen++;
    return true;
}

static void count(struct worker *w, const struct rendered *r)
{
    if (r->status >= 500)
        w->st.s5xx++;
    else if (r->status >= 400)
        w->st.s4xx++;
    else if (r->status >= 200)
        w->st.s2xx++;
    else if (r->status == 100)
        w->st.continues++;
    else if (r->after == AFTER_CLOSE)
        w->st.garbage++;
}

static void answer(struct worker *w, struct conn *k, uint16_t id)
{
    const struct rendered *r = &w->s->table[id];
    if (!enqueue(w, k, id)) {
        w->st.overflows++;
        serve_close(w, k, false);
        return;
    }
    count(w, r);
    if (r->after != AFTER_KEEP)
        k->flags |= F_IGNORE;
}

/* Routing: the one place that decides which response a request gets (an
 * index into the response table). Without an app, everything answers 200;
 * with --app demo, demo_route() matches the request against its routes and
 * counts it, and fills *arg for a response made when it is sent. HEAD is
 * handled by the caller (same response, no body). */
static unsigned route(struct worker *w, const struct conn *k, struct demo_arg *arg)
{
    const struct http_req *q = &k->req;
    if (!w->s->o.demo)
        return RESP_OK;
    const struct http_capture *id = &q->capture[CAP_UPLOAD_ID], *num = &q->capture[CAP_CHUNK_NUMBER];
    struct demo_req r = {
        .method = q->method,
        .target = q->target,
        .upload_id = id->seen ? id->value : NULL,        /* a truncated one is invalid */
        .chunk_number = num->seen ? num->value : NULL,
        .body_bytes = q->body_bytes,
        .zero_uuid = k->zscan == DEMO_SCAN_FOUND,
    };
    return RESP_DEMO + demo_route(&w->s->demo, &w->dw, &r, arg);
}

/* A whole request is in: pick its response, route first, then the faults
 * (except for /__stats, the tests' window into the server). */
static void respond(struct worker *w, struct conn *k)
{
    const struct server *s = w->s;
    const struct http_req *q = &k->req;
    bool head = strcmp(q->method, "HEAD") == 0;
    enum variant v = !q->keep_alive ? V_CLOSE : q->minor_version == 0 ? V_KEEP10 : V_KEEP;
    struct demo_arg arg = {0, 0};
    unsigned resp = route(w, k, &arg);
    w->st.requests++;
    if (s->faults && resp != RESP_DEMO + DR_STATS) {
        if (chance(w, s->o.reset_rate)) {
            resp = RESP_RESET;
        } else if (chance(w, s->o.garbage_rate)) {
            resp = RESP_GARBAGE;
        } else {
            if (chance(w, s->o.error_rate))
                resp = RESP_ERROR;
            if (chance(w, s->o.close_rate))
                v = V_CLOSE;
        }
    }
    uint16_t id = entry_id(resp, v, head);
    uint8_t dyn = s->table[id].dyn;
    if (dyn && dyn != DEMO_DYN_STATS) {
        if (k->dqlen == DYNQ) {
            w->st.overflows++;
            serve_close(w, k, false);
            return;
        }
        k->dq[(k->dqhead + k->dqlen++) & (DYNQ - 1)] = arg;
    }
    answer(w, k, id);
}

/* Ready for the next request on k. */
void serve_req_init(const struct server *s, struct conn *k)
{
    http_req_init(&k->req);
    k->scan = 0;
    k->zscan = 0;
    if (s->o.demo) {
        k->req.capture[CAP_UPLOAD_ID].name = "X-Upload-Id";
        k->req.capture[CAP_CHUNK_NUMBER].name = "X-Chunk-Number";
        k->req.ncapture = NCAP;
    }
}

/* --app demo: the parser just consumed p[0..used) of k's request; pass the
 * body bytes among them to demo_scan when the route reads its body. Before
 * its headers were done the request had hbytes of them: the bytes up to the
 * end of the header block are those the parser added to header_bytes since,
 * after the empty lines it skips before a request line. */
static void scan_body(struct conn *k, const uint8_t *p, size_t used, bool had_headers, uint64_t hbytes)
{
    if (!had_headers) {
        k->scan = demo_scans_body(k->req.method, k->req.target);
        if (!k->scan)
            return;
        size_t skip = 0;
        if (hbytes == 0)
            while (skip < used && (p[skip] == '\r' || p[skip] == '\n'))
                skip++;
        size_t head = skip + (size_t)(k->req.header_bytes - hbytes);
        if (head > used)
            head = used;
        p += head;
        used -= head;
    } else if (!k->scan) {
        return;
    }
    demo_scan(&k->zscan, p, used);
}

/* Bytes of the request stream: frame requests, queue their responses. */
void serve_feed(struct worker *w, struct conn *k, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len && k->state == C_OPEN && !(k->flags & F_IGNORE)) {
        size_t used;
        bool had_headers = k->req.headers_done;
        uint64_t hbytes = k->req.header_bytes;
        enum http_rc rc = http_req_feed(&k->req, data + off, len - off, &used);
        if (rc != HTTP_ERROR && k->req.headers_done && w->s->o.demo)
            scan_body(k, data + off, used, had_headers, hbytes);
        if (rc == HTTP_PARTIAL) {
            /* The client waits for a go-ahead before sending the body. */
            if (k->req.expect_continue && !(k->flags & F_CONTINUED)) {
                k->flags |= F_CONTINUED;
                answer(w, k, entry_id(RESP_CONTINUE, V_KEEP, false));
            }
            break;
        }
        if (rc == HTTP_ERROR) {
            answer(w, k, entry_id(error_response(k->req.error), V_CLOSE, false));
            break;
        }
        off += used;
        respond(w, k);
        serve_req_init(w->s, k);
        k->flags &= (uint8_t)~F_CONTINUED;
    }
    if (k->state == C_OPEN)
        serve_flush(w, k);
}

