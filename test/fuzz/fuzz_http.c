/* libFuzzer target for the HTTP parsers (blaster/http_*.c): make fuzz (FUZZ_SECONDS=30 make fuzz).
 *
 * Input: byte 0 = flags (bit 0: request parser, else response; bit 1: responses are to
 * HEAD), byte 1 = number of cut points (low 3 bits), then two bytes per cut point (an offset
 * into the stream, modulo its length), then the stream. The stream is parsed as a pipeline
 * of messages three ways: whole, cut at the chosen points, and one byte at a time, each
 * piece in its own exact-size heap buffer freed right after the call (ASan catches any read
 * past it or any later use of it). All three must give the same sequence of messages with
 * the same fields; every call must consume no more than it was given, all of it when
 * PARTIAL, and something per completed message (so the pipeline terminates).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/run/http.h"

#define MAX_MSGS 64

struct msg {
    int rc;
    int status, minor;
    bool headers_done, keep_alive, expect, chunked;
    uint64_t header_bytes, body_bytes, content_length;
    size_t consumed;  /* bytes of the stream this message used */
    const char *error;
    char method[8], target[512], capture[128];
};

struct run {
    struct msg m[MAX_MSGS];
    int n;
};

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void record_resp(struct msg *m, int rc, const struct http_resp *r, size_t consumed)
{
    memset(m, 0, sizeof *m);
    m->rc = rc;
    m->status = r->status;
    m->minor = r->minor_version;
    m->headers_done = r->headers_done;
    m->keep_alive = r->keep_alive;
    m->header_bytes = r->header_bytes;
    m->body_bytes = r->body_bytes;
    m->consumed = consumed;
    m->error = rc == HTTP_ERROR ? r->error : NULL;
    if (rc == HTTP_ERROR) {
        /* Where it stopped is not part of the contract on error. */
        check(r->error != NULL);
        m->header_bytes = m->body_bytes = 0;
        m->consumed = 0;
    }
    if (rc != HTTP_ERROR)
        check(r->header_bytes <= HTTP_MAX_HEADER_BYTES);
    if (rc == HTTP_DONE)
        check(r->headers_done);
}

static void record_req(struct msg *m, int rc, const struct http_req *q, size_t consumed)
{
    memset(m, 0, sizeof *m);
    m->rc = rc;
    if (rc == HTTP_ERROR) {
        check(q->error != NULL);
        m->error = q->error;
        return;
    }
    m->minor = q->minor_version;
    m->headers_done = q->headers_done;
    m->keep_alive = q->keep_alive;
    m->expect = q->expect_continue;
    m->chunked = q->chunked;
    m->header_bytes = q->header_bytes;
    m->body_bytes = q->body_bytes;
    m->content_length = q->content_length;
    m->consumed = consumed;
    check(memchr(q->method, 0, sizeof q->method) != NULL);
    check(memchr(q->target, 0, sizeof q->target) != NULL);
    memcpy(m->method, q->method, sizeof m->method);
    memcpy(m->target, q->target, sizeof m->target);
    if (q->capture[0].seen) {
        check(memchr(q->capture[0].value, 0, sizeof q->capture[0].value) != NULL);
        memcpy(m->capture, q->capture[0].value, sizeof m->capture);
    }
    if (rc == HTTP_DONE && !q->chunked)
        check(q->body_bytes == q->content_length);
    check(q->header_bytes <= HTTP_MAX_HEADER_BYTES);
}

static void req_start(struct http_req *q)
{
    http_req_init(q);
    q->capture[0].name = "X-Id";
    q->capture[1].name = "connection";
    q->ncapture = 2;
}

/* Parse stream[0..len) cut at cuts[0..ncuts) (ascending, <= len). */
static void run(struct run *out, bool request, bool head, const uint8_t *stream, size_t len,
                const size_t *cuts, size_t ncuts)
{
    struct http_resp r;
    struct http_req q;
    size_t start = 0, msg_used = 0;
    bool stopped = false;

    out->n = 0;
    if (request)
        req_start(&q);
    else
        http_resp_init(&r, head);
    for (size_t i = 0; i <= ncuts && !stopped; i++) {
        size_t stop = i < ncuts ? cuts[i] : len, n = stop - start, off = 0;
        uint8_t *piece = malloc(n ? n : 1);
        check(piece != NULL);
        memcpy(piece, stream + start, n);
        do {
            size_t used = SIZE_MAX;
            int rc = request ? http_req_feed(&q, piece + off, n - off, &used)
                             : http_resp_feed(&r, piece + off, n - off, &used);
            check(used <= n - off);
            if (rc == HTTP_PARTIAL) {
                check(used == n - off);
            } else if (rc != HTTP_DONE && rc != HTTP_ERROR) {
                abort();
            }
            off += used;
            msg_used += used;
            if (rc == HTTP_PARTIAL)
                break;
            if (out->n == MAX_MSGS) {
                stopped = true;
                break;
            }
            if (request)
                record_req(&out->m[out->n++], rc, &q, msg_used);
            else
                record_resp(&out->m[out->n++], rc, &r, msg_used);
            if (rc == HTTP_ERROR) {
                stopped = true;
                break;
            }
            check(msg_used > 0);  /* progress: the pipeline always terminates */
            msg_used = 0;
            if (request)
                req_start(&q);
            else
                http_resp_init(&r, head);
        } while (off < n);
        memset(piece, 0xA5, n);
        free(piece);
        start = stop;
    }
    if (stopped || out->n == MAX_MSGS)
        return;
    /* The peer closes: completes a close-delimited response, or fails. */
    if (request) {
        record_req(&out->m[out->n++], HTTP_PARTIAL, &q, msg_used);
    } else {
        int rc = http_resp_eof(&r);
        check(rc == HTTP_DONE || rc == HTTP_ERROR);
        record_resp(&out->m[out->n++], rc, &r, msg_used);
    }
}

static void same(const struct run *a, const struct run *b)
{
    check(a->n == b->n);
    for (int i = 0; i < a->n; i++) {
        const struct msg *x = &a->m[i], *y = &b->m[i];
        check(x->rc == y->rc);
        check(x->status == y->status && x->minor == y->minor);
        check(x->headers_done == y->headers_done && x->keep_alive == y->keep_alive);
        check(x->expect == y->expect && x->chunked == y->chunked);
        check(x->header_bytes == y->header_bytes && x->body_bytes == y->body_bytes);
        check(x->content_length == y->content_length && x->consumed == y->consumed);
        check(x->error == y->error || (x->error && y->error && !strcmp(x->error, y->error)));
        check(!strcmp(x->method, y->method) && !strcmp(x->target, y->target));
        check(!strcmp(x->capture, y->capture));
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, split, bytes;
    size_t cuts[8], ncuts;

    if (size < 2)
        return 0;
    bool request = data[0] & 1, head = data[0] & 2;
    ncuts = data[1] & 7;
    if (size < 2 + 2 * ncuts)
        return 0;
    const uint8_t *stream = data + 2 + 2 * ncuts;
    size_t len = size - 2 - 2 * ncuts;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = ((size_t)data[2 + 2 * i] << 8 | data[3 + 2 * i]) % (len + 1);
    qsort(cuts, ncuts, sizeof cuts[0], cmp_size);

    run(&whole, request, head, stream, len, NULL, 0);
    run(&split, request, head, stream, len, cuts, ncuts);
    same(&whole, &split);

    size_t *all = malloc((len ? len : 1) * sizeof *all);
    check(all != NULL);
    for (size_t i = 0; i + 1 < len; i++)
        all[i] = i + 1;
    run(&bytes, request, head, stream, len, all, len ? len - 1 : 0);
    free(all);
    same(&whole, &bytes);
    return 0;
}
