/* HTTP/1.1 message framing: incremental, allocation-free parsers.
 *
 * The response parser is the client's hot path: every response goes through it, fed in
 * whatever pieces the ring delivered, and the provided buffer is recycled as soon as the
 * call returns. So the parser is a resumable state machine that never looks at a byte
 * twice across calls, never copies the stream and never allocates. It reads framing only
 * (status, Content-Length, Transfer-Encoding, Connection) and counts body bytes.
 *
 * The request parser serves `blaster serve`; same shape, plus it copies the method, the
 * target and a few caller-chosen header values into the struct.
 *
 * Three results, as in picohttpparser: PARTIAL (everything consumed, feed more), DONE
 * (message complete, the bytes after *consumed belong to the next message), ERROR
 * (malformed; `error` names what, as a static string).
 *
 *   struct http_resp r;
 *   http_resp_init(&r, false);
 *   size_t used;
 *   switch (http_resp_feed(&r, buf, len, &used)) { ... }
 */
#ifndef BLASTER_HTTP_H
#define BLASTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_rc { HTTP_PARTIAL = 0, HTTP_DONE = 1, HTTP_ERROR = -1 };

/* Status line / request line plus all header lines of one message, interim 1xx responses
 * included, may not exceed this ("header block too large"). */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)

/* Parser state shared by both parsers. Private to the parsers (blaster/run/http_int.h): here only so that callers can
 * embed the structs without allocating. */
struct http_priv_ {
    uint64_t n;      /* number being parsed (Content-Length, chunk size), then body bytes left */
    uint64_t cl;     /* Content-Length declared by the headers so far */
    uint32_t count;  /* position in the start line, bytes of chunk line or trailers */
    uint16_t flags;
    uint8_t  state;
    uint8_t  kind;   /* header whose value is being read */
    uint8_t  mask;   /* header names / value tokens still matching */
    uint8_t  idx;    /* bytes matched of the name / token */
    uint8_t  tok;    /* token-list scanner: before, in, after a token */
    int8_t   cap;    /* request capture slot being filled, -1 none */
};

struct http_resp {
    /* Results, valid once headers_done (header_bytes and body_bytes count as they go). */
    int      status;         /* final status; interim 1xx are skipped, except 101 (final, no body) */
    int      minor_version;  /* HTTP/1.x */
    bool     headers_done;   /* header block of the final response complete */
    bool     keep_alive;     /* connection reusable after this response: false on "Connection:
                                close", HTTP/1.0 without keep-alive, a close-delimited body, 101,
                                or Transfer-Encoding with Content-Length or in HTTP/1.0 */
    uint64_t header_bytes;   /* status lines + headers, all interim responses included */
    uint64_t body_bytes;     /* body bytes seen (decoded payload when chunked) */
    const char *error;       /* static string naming what was malformed, on HTTP_ERROR */
    struct http_priv_ p_;
};

/* Start a new response (also the way to start the next one on a kept-alive connection).
 * head_request: the request was HEAD, so there is no body whatever the headers say. */
void http_resp_init(struct http_resp *r, bool head_request);

/* Feed the next len bytes of the stream; *consumed = bytes used. Reads only buf[0..len),
 * keeps no pointer into buf, so buf may be reused as soon as this returns.
 * HTTP_PARTIAL: all len bytes consumed, need more. HTTP_DONE: response complete (and
 * stays DONE with *consumed = 0 if fed again); bytes after *consumed belong to the next
 * response. HTTP_ERROR: malformed, r->error says what; stays in error if fed again. */
enum http_rc http_resp_feed(struct http_resp *r, const uint8_t *buf, size_t len, size_t *consumed);

/* The peer closed the connection (read returned 0). HTTP_DONE if that completes the
 * response (a close-delimited body) or it was already complete; HTTP_ERROR otherwise, with
 * r->error "connection closed before response" when not a byte had arrived (a kept-alive
 * connection the server dropped: safe to retry an idempotent request), "connection closed
 * in response headers" or "connection closed before end of body". */
enum http_rc http_resp_eof(struct http_resp *r);

/* One header value the request parser copies out, chosen by the caller. */
struct http_capture {
    const char *name;        /* set by the caller after http_req_init; case-insensitive,
                                1 to 254 bytes (others never match) */
    char     value[128];     /* value without surrounding whitespace, NUL-terminated */
    bool     seen;           /* the header was present (the last occurrence wins) */
    bool     truncated;      /* value was longer than 127 bytes and was cut */
};

#define HTTP_REQ_MAX_CAPTURE 4

struct http_req {
    char     method[8];      /* "GET", "POST", ...; longer than 7 bytes -> error */
    char     target[512];    /* request-target, NUL-terminated; longer -> error */
    int      minor_version;
    bool     headers_done;
    bool     keep_alive;     /* HTTP/1.1: unless Connection: close; HTTP/1.0: only with
                                keep-alive; never with both Transfer-Encoding and Content-Length */
    bool     expect_continue;/* Expect: 100-continue */
    bool     chunked;        /* body is chunked (Transfer-Encoding ending in chunked) */
    uint64_t content_length; /* declared body length (0 if none or chunked) */
    uint64_t header_bytes;   /* request line + headers */
    uint64_t body_bytes;     /* body bytes consumed so far (decoded payload when chunked) */
    const char *error;
    /* Caller-chosen headers to copy out: after http_req_init, set capture[i].name for
     * i < ncapture. A captured name may also be a framing header (Content-Length, ...). */
    struct http_capture capture[HTTP_REQ_MAX_CAPTURE];
    int      ncapture;
    struct http_priv_ p_;
};

/* Start a new request: clears everything, captures included (set them again). */
void http_req_init(struct http_req *q);

/* Feed the next len bytes of the stream, as http_resp_feed. HTTP_DONE once the headers and
 * the whole body are consumed; headers_done (and expect_continue) can be read as soon as the
 * headers are in, while the feed still returns PARTIAL for the body. Empty lines before the
 * request line are skipped. A request with Transfer-Encoding other than chunked is an error
 * (its length is unknowable). */
enum http_rc http_req_feed(struct http_req *q, const uint8_t *buf, size_t len, size_t *consumed);

#endif
