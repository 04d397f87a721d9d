/* serve_render — every response `blaster serve` gives, rendered once at start
 * into struct server's table (one entry per response, variant and HEAD, see
 * entry_id), so that answering a request only points at bytes: the 200 of
 * --body-size, the errors a malformed request gets, 100 Continue, garbage,
 * resets, and --app demo's routes (a dynamic one is its header, the rest is
 * made when it is sent, in serve.c). Nothing here runs after the workers start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/serve/serve_int.h"

#define REPS           16      /* copies of a small response rendered back to back */
#define CONTIG_MAX     65536   /* responses up to this are one buffer; bigger ones are
                                  a header plus the shared body, sent with sendmsg */

static int render_raw(struct rendered *out, const void *bytes, size_t len, enum after after, int status)
{
    out->reps = len <= CONTIG_MAX / REPS ? REPS : 1;
    out->mem = malloc(len * out->reps + 1);
    if (!out->mem)
        return -1;
    for (unsigned i = 0; i < out->reps; i++)
        memcpy(out->mem + i * len, bytes, len);
    out->data = out->mem;
    out->len = len;
    out->after = (uint8_t)after;
    out->status = (uint16_t)status;
    return 0;
}

static const char *const conn_hdr[NVARIANTS] = {
    "", "Connection: keep-alive\r\n", "Connection: close\r\n",
};

/* A response with a body that is the same every time. body stays valid
 * while the table is used: big responses point at it. */
static int render(struct rendered *out, int status, const char *reason, const char *ctype,
                  const char *extra, const uint8_t *body, size_t body_len, enum variant v, bool head)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: blaster\r\nContent-Type: %s\r\n%s"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, reason, ctype, extra, body_len, conn_hdr[v]);
    if (n < 0 || (size_t)n >= sizeof hdr)
        return -1;
    size_t sent_body = head ? 0 : body_len;
    enum after after = v == V_CLOSE ? AFTER_CLOSE : AFTER_KEEP;
    if ((size_t)n + sent_body <= CONTIG_MAX) {
        uint8_t one[CONTIG_MAX];
        memcpy(one, hdr, (size_t)n);
        memcpy(one + n, body, sent_body);
        return render_raw(out, one, (size_t)n + sent_body, after, status);
    }
    out->mem = malloc((size_t)n);
    if (!out->mem)
        return -1;
    memcpy(out->mem, hdr, (size_t)n);
    out->hdr = out->mem;
    out->hdr_len = (uint32_t)n;
    out->body = body;
    out->len = (uint64_t)n + body_len;
    out->reps = 1;
    out->after = (uint8_t)after;
    out->status = (uint16_t)status;
    return 0;
}

/* A response whose body is made when it is sent (demo_app's dynamic ones):
 * the header up to the value of Content-Length, which follows with the body. */
static int render_dyn(struct rendered *out, const struct demo_resp_def *d, enum variant v)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: blaster\r\nContent-Type: %s\r\n%s%s"
                     "Content-Length: ",
                     d->status, d->reason, d->content_type, d->extra_headers, conn_hdr[v]);
    if (n < 0 || (size_t)n >= sizeof hdr || !(out->mem = malloc((size_t)n)))
        return -1;
    memcpy(out->mem, hdr, (size_t)n);
    out->hdr = out->mem;
    out->hdr_len = (uint32_t)n;
    out->len = (uint64_t)n;
    out->reps = 1;
    out->dyn = d->dyn;
    out->after = (uint8_t)(v == V_CLOSE ? AFTER_CLOSE : AFTER_KEEP);
    out->status = (uint16_t)d->status;
    return 0;
}

static int render_demo(struct server *s)
{
    for (unsigned r = 0; r < DEMO_NRESP; r++) {
        const struct demo_resp_def *d = &s->demo.resp[r];
        for (int v = 0; v < NVARIANTS; v++) {
            for (int head = 0; head < 2; head++) {
                struct rendered *out = &s->table[entry_id(RESP_DEMO + r, v, head)];
                int err = d->dyn ? render_dyn(out, d, v)
                                 : render(out, d->status, d->reason, d->content_type,
                                          d->extra_headers, d->body, d->body_len, v, head);
                if (err)
                    return -1;
            }
        }
    }
    return 0;
}

int responses_render(struct server *s)
{
    static const char pattern[] = "hello, world\n";
    static const struct { int status; const char *reason, *body; bool close; } fixed[] = {
        [RESP_ERROR] = {500, "Internal Server Error", "internal server error\n", false},
        [RESP_BAD_REQUEST] = {400, "Bad Request", "bad request\n", true},
        [RESP_URI_TOO_LONG] = {414, "URI Too Long", "request target too long\n", true},
        [RESP_HEADERS_TOO_LARGE] = {431, "Request Header Fields Too Large", "request header too large\n", true},
        [RESP_NOT_IMPLEMENTED] = {501, "Not Implemented", "transfer-encoding not implemented\n", true},
        [RESP_BAD_VERSION] = {505, "HTTP Version Not Supported", "HTTP/1.x only\n", true},
    };
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    static const char garbage[] = "NOT HTTP AT ALL\r\n\r\n";

    uint64_t bs = s->o.body_size;
    s->body = malloc(bs ? bs : 1);
    if (!s->body)
        return -1;
    for (uint64_t i = 0; i < bs; i++)
        s->body[i] = (uint8_t)pattern[i % (sizeof pattern - 1)];
    for (unsigned r = 0; r < NRESP; r++) {
        for (int v = 0; v < NVARIANTS; v++) {
            for (int head = 0; head < 2; head++) {
                struct rendered *out = &s->table[entry_id(r, v, head)];
                int err;
                if (r == RESP_OK) {
                    err = render(out, 200, "OK", "text/plain", "", s->body, bs, v, head);
                } else if (r == RESP_CONTINUE) {
                    err = render_raw(out, cont, sizeof cont - 1, AFTER_KEEP, 100);
                } else if (r == RESP_GARBAGE) {
                    err = render_raw(out, garbage, sizeof garbage - 1, AFTER_CLOSE, 0);
                } else if (r == RESP_RESET) {
                    *out = (struct rendered){ .after = AFTER_RESET };
                    err = 0;
                } else {
                    const char *b = fixed[r].body;
                    err = render(out, fixed[r].status, fixed[r].reason, "text/plain", "",
                                 (const uint8_t *)b, strlen(b), fixed[r].close ? V_CLOSE : v, head);
                }
                if (err)
                    return -1;
            }
        }
    }
    return s->o.demo ? render_demo(s) : 0;
}

void responses_free(struct server *s)
{
    for (size_t i = 0; i < sizeof s->table / sizeof s->table[0]; i++)
        free(s->table[i].mem);
    free(s->body);
    demo_free(&s->demo);
}

/* What a malformed request gets, from the parser's static error string. */
unsigned error_response(const char *err)
{
    if (!err)
        return RESP_BAD_REQUEST;
    if (strcmp(err, "header block too large") == 0)
        return RESP_HEADERS_TOO_LARGE;
    if (strcmp(err, "request target too long") == 0)
        return RESP_URI_TOO_LONG;
    if (strcmp(err, "unsupported transfer-encoding") == 0)
        return RESP_NOT_IMPLEMENTED;
    if (strcmp(err, "unsupported HTTP version") == 0)
        return RESP_BAD_VERSION;
    return RESP_BAD_REQUEST;
}
