/* HTTP/1.1 parsers: tables of cases, each fed whole, split in two at every point, and one
 * byte at a time; all three must give the same result. Every piece is handed over in its
 * own exact-size heap buffer that is scribbled over and freed right after the call, as the
 * ring recycles its buffers, so a parser that keeps a pointer or reads past the end fails
 * (under ASan at once, otherwise by a wrong result). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/run/http.h"
#include "blaster/run/http_int.h"

#define NO_CHECK UINT64_MAX

/* ---- responses ------------------------------------------------------------------------ */

struct resp_case {
    const char *name;
    const char *in;
    size_t      len;          /* 0: strlen(in) */
    bool        head;
    bool        eof;          /* the peer closes after the bytes */
    int         rc;
    int         status;
    uint64_t    body;
    bool        keep_alive;
    uint64_t    header_bytes; /* NO_CHECK to skip */
    size_t      consumed;     /* on HTTP_DONE; 0: all of in */
    const char *error;        /* on HTTP_ERROR */
};

struct resp_result {
    int rc;
    int status;
    bool headers_done;
    bool keep_alive;
    uint64_t header_bytes;
    uint64_t body;
    size_t consumed;
    const char *error;
};

/* Feed in[] cut at the given offsets (ascending), stopping at the first non-PARTIAL. */
static struct resp_result resp_run(const struct resp_case *c, const size_t *cuts, size_t ncuts)
{
    size_t len = c->len ? c->len : strlen(c->in);
    struct http_resp r;
    struct resp_result out = { 0 };
    size_t start = 0, total = 0;
    int rc = HTTP_PARTIAL;

    http_resp_init(&r, c->head);
    for (size_t i = 0; i <= ncuts && rc == HTTP_PARTIAL; i++) {
        size_t stop = i < ncuts ? cuts[i] : len;
        size_t n = stop - start, used = 12345;
        uint8_t *piece = malloc(n ? n : 1);
        assert_non_null(piece);
        memcpy(piece, c->in + start, n);
        rc = http_resp_feed(&r, piece, n, &used);
        memset(piece, 0xAA, n);
        free(piece);
        assert_true(used <= n);
        if (rc == HTTP_PARTIAL)
            assert_int_equal(used, n);
        if (rc != HTTP_ERROR)
            total += used;
        start = stop;
    }
    if (rc == HTTP_PARTIAL && c->eof)
        rc = http_resp_eof(&r);
    out.rc = rc;
    out.status = r.status;
    out.headers_done = r.headers_done;
    out.keep_alive = r.keep_alive;
    out.header_bytes = rc == HTTP_ERROR ? 0 : r.header_bytes;
    out.body = rc == HTTP_ERROR ? 0 : r.body_bytes;
    out.consumed = rc == HTTP_ERROR ? 0 : total;
    out.error = rc == HTTP_ERROR ? r.error : NULL;
    if (rc == HTTP_ERROR)
        assert_non_null(r.error);
    return out;
}

static void resp_same(const char *name, const char *how, const struct resp_result *a,
                      const struct resp_result *b)
{
    if (a->rc != b->rc || a->status != b->status || a->headers_done != b->headers_done ||
        a->keep_alive != b->keep_alive || a->header_bytes != b->header_bytes ||
        a->body != b->body || a->consumed != b->consumed ||
        (a->error != b->error && (!a->error || !b->error || strcmp(a->error, b->error))))
        fail_msg("%s: %s differs from whole: rc %d/%d status %d/%d body %llu/%llu "
                 "hdr %llu/%llu consumed %zu/%zu error %s/%s", name, how, b->rc, a->rc,
                 b->status, a->status, (unsigned long long)b->body, (unsigned long long)a->body,
                 (unsigned long long)b->header_bytes, (unsigned long long)a->header_bytes,
                 b->consumed, a->consumed, b->error ? b->error : "-", a->error ? a->error : "-");
}

static void resp_expect(const struct resp_case *c, const struct resp_result *g)
{
    size_t len = c->len ? c->len : strlen(c->in);

    if (g->rc != c->rc)
        fail_msg("%s: rc %d, want %d (error %s)", c->name, g->rc, c->rc, g->error ? g->error : "-");
    if (c->rc == HTTP_ERROR) {
        if (!c->error || strcmp(g->error, c->error))
            fail_msg("%s: error \"%s\", want \"%s\"", c->name, g->error, c->error ? c->error : "?");
        return;
    }
    if (g->status != c->status)
        fail_msg("%s: status %d, want %d", c->name, g->status, c->status);
    if (g->body != c->body)
        fail_msg("%s: body %llu, want %llu", c->name, (unsigned long long)g->body,
                 (unsigned long long)c->body);
    if (c->rc == HTTP_DONE) {
        if (!g->headers_done)
            fail_msg("%s: headers_done false", c->name);
        if (g->keep_alive != c->keep_alive)
            fail_msg("%s: keep_alive %d, want %d", c->name, g->keep_alive, c->keep_alive);
        if (g->consumed != (c->consumed ? c->consumed : len))
            fail_msg("%s: consumed %zu, want %zu", c->name, g->consumed,
                     c->consumed ? c->consumed : len);
    }
    if (c->header_bytes != NO_CHECK && g->header_bytes != c->header_bytes)
        fail_msg("%s: header_bytes %llu, want %llu", c->name,
                 (unsigned long long)g->header_bytes, (unsigned long long)c->header_bytes);
}

/* Whole, every two-piece split, one byte at a time: same result, and the expected one. */
static void resp_check(const struct resp_case *c)
{
    size_t len = c->len ? c->len : strlen(c->in);
    struct resp_result whole = resp_run(c, NULL, 0), got;
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    char how[64];

    assert_non_null(cuts);
    resp_expect(c, &whole);
    for (size_t k = 0; k <= len; k++) {
        cuts[0] = k;
        got = resp_run(c, cuts, 1);
        snprintf(how, sizeof how, "split at %zu", k);
        resp_same(c->name, how, &whole, &got);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    got = resp_run(c, cuts, len ? len - 1 : 0);
    resp_same(c->name, "byte at a time", &whole, &got);
    free(cuts);
}

#define OK200 "HTTP/1.1 200 OK\r\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"

static const struct resp_case resp_cases[] = {
    /* status line */
    { .name = "content-length", .in = OK200 "Content-Length: 5\r\n\r\nhello",
      .rc = HTTP_DONE, .status = 200, .body = 5, .keep_alive = true, .header_bytes = 38 },
    { .name = "empty reason", .in = "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 404, .keep_alive = true, .header_bytes = 36 },
    { .name = "no reason", .in = "HTTP/1.1 503\r\nContent-Length: 1\r\n\r\nx",
      .rc = HTTP_DONE, .status = 503, .body = 1, .keep_alive = true, .header_bytes = 35 },
    { .name = "no reason bare LF", .in = "HTTP/1.1 200\nContent-Length: 1\n\nx",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = true, .header_bytes = 32 },
    { .name = "bare LF", .in = "HTTP/1.1 200 OK\nServer: x\nContent-Length: 3\n\nabc",
      .rc = HTTP_DONE, .status = 200, .body = 3, .keep_alive = true, .header_bytes = 45 },
    { .name = "typical nginx",
      .in = OK200 "Server: nginx/1.22.1\r\nDate: Mon, 24 Nov 2025 10:00:00 GMT\r\n"
            "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n"
            "Hello, World!",
      .rc = HTTP_DONE, .status = 200, .body = 13, .keep_alive = true, .header_bytes = 148 },
    { .name = "names case-insensitive",
      .in = OK200 "CONTENT-length: 2\r\ncOnNeCtIoN: CLOSE\r\n\r\nok",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "partial headers", .in = OK200 "Content-Length: 5\r\nX-A",
      .rc = HTTP_PARTIAL, .status = 200, .header_bytes = 39 },
    { .name = "partial body", .in = OK200 "Content-Length: 5\r\n\r\nhel",
      .rc = HTTP_PARTIAL, .status = 200, .body = 3, .header_bytes = 38 },
    { .name = "pipelined tail not consumed",
      .in = OK200 "Content-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = true, .header_bytes = 38,
      .consumed = 40 },
    { .name = "status 999", .in = "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 999, .keep_alive = true, .header_bytes = NO_CHECK },

    /* Connection and versions */
    { .name = "connection close", .in = OK200 "Connection: close\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "connection list with close",
      .in = OK200 "Connection: Upgrade ,\t close \r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "connection closed-ish token",
      .in = OK200 "Connection: closed, xclose\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "connections is another header",
      .in = OK200 "Connections: close\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "connection in second header line",
      .in = OK200 "Connection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "1.0 default close", .in = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "1.0 keep-alive",
      .in = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "1.0 keep -alive is two tokens",
      .in = "HTTP/1.0 200 OK\r\nConnection: keep -alive\r\nContent-Length: 1\r\n\r\nx",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "1.0 keep alive is two tokens",
      .in = "HTTP/1.0 200 OK\r\nConnection: keep alive\r\nContent-Length: 1\r\n\r\nx",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = false, .header_bytes = NO_CHECK },

    /* Content-Length */
    { .name = "cl whitespace", .in = OK200 "Content-Length:  \t7 \t\r\n\r\n1234567",
      .rc = HTTP_DONE, .status = 200, .body = 7, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "cl duplicate same", .in = OK200 "Content-Length: 2\r\nContent-Length: 2\r\n\r\nab",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "cl duplicate conflicting",
      .in = OK200 "Content-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
      .rc = HTTP_ERROR, .error = "conflicting Content-Length" },
    { .name = "cl negative", .in = OK200 "Content-Length: -1\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid Content-Length" },
    { .name = "cl hex", .in = OK200 "Content-Length: 0x10\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid Content-Length" },
    { .name = "cl two numbers", .in = OK200 "Content-Length: 1 2\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid Content-Length" },
    { .name = "cl list", .in = OK200 "Content-Length: 2, 2\r\n\r\nab",
      .rc = HTTP_ERROR, .error = "invalid Content-Length" },
    { .name = "cl empty", .in = OK200 "Content-Length: \r\n\r\n",
      .rc = HTTP_ERROR, .error = "empty Content-Length" },
    { .name = "cl overflow", .in = OK200 "Content-Length: 18446744073709551616\r\n\r\n",
      .rc = HTTP_ERROR, .error = "Content-Length too large" },
    { .name = "cl huge", .in = OK200 "Content-Length: 99999999999999999999999999\r\n\r\n",
      .rc = HTTP_ERROR, .error = "Content-Length too large" },
    { .name = "cl max u64 partial", .in = OK200 "Content-Length: 18446744073709551615\r\n\r\nab",
      .rc = HTTP_PARTIAL, .status = 200, .body = 2, .header_bytes = 57 },
    { .name = "content-lengthy is another header",
      .in = OK200 "Content-Lengthy: 5\r\n\r\nabc", .eof = true,
      .rc = HTTP_DONE, .status = 200, .body = 3, .keep_alive = false, .header_bytes = NO_CHECK },

    /* chunked */
    { .name = "chunked",
      .in = OK200 CHUNKED "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 11, .keep_alive = true, .header_bytes = 47 },
    { .name = "chunked extensions and trailers",
      .in = OK200 CHUNKED "\r\n5;a=b\r\nhello\r\n6 ; x=\"y;z\"\r\n world\r\n"
            "0;last\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 11, .keep_alive = true, .header_bytes = 47 },
    { .name = "chunked hex and leading zeros",
      .in = OK200 CHUNKED "\r\n00A\r\n0123456789\r\n1f\r\n0123456789012345678901234567890\r\n"
            "000\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 41, .keep_alive = true, .header_bytes = 47 },
    { .name = "chunked bare LF",
      .in = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: 1\n\n",
      .rc = HTTP_DONE, .status = 200, .body = 3, .keep_alive = true, .header_bytes = 44 },
    { .name = "chunked case-insensitive",
      .in = OK200 "transfer-encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "chunked wins over content-length",
      .in = OK200 "Content-Length: 100\r\n" CHUNKED "\r\n2\r\nab\r\n0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "gzip, chunked is chunked",
      .in = OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "chunked, gzip reads to close",
      .in = OK200 "Transfer-Encoding: chunked, gzip\r\n\r\nabcdef", .eof = true,
      .rc = HTTP_DONE, .status = 200, .body = 6, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "chunked mid-chunk", .in = OK200 CHUNKED "\r\n5\r\nhel",
      .rc = HTTP_PARTIAL, .status = 200, .body = 3, .header_bytes = 47 },
    { .name = "chunked in trailers", .in = OK200 CHUNKED "\r\n0\r\nX-A: 1\r\n",
      .rc = HTTP_PARTIAL, .status = 200, .body = 0, .header_bytes = 47 },
    { .name = "chunked eof mid-chunk", .in = OK200 CHUNKED "\r\n5\r\nhel", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed before end of body" },
    { .name = "chunked eof before last chunk", .in = OK200 CHUNKED "\r\n1\r\nx\r\n", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed before end of body" },
    { .name = "chunk size not hex", .in = OK200 CHUNKED "\r\nzz\r\n",
      .rc = HTTP_ERROR, .error = "invalid chunk size" },
    { .name = "chunk size empty", .in = OK200 CHUNKED "\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid chunk size" },
    { .name = "chunk size negative", .in = OK200 CHUNKED "\r\n-1\r\n",
      .rc = HTTP_ERROR, .error = "invalid chunk size" },
    { .name = "chunk size two numbers", .in = OK200 CHUNKED "\r\n1 2\r\nx\r\n",
      .rc = HTTP_ERROR, .error = "invalid chunk size" },
    { .name = "chunk size overflow", .in = OK200 CHUNKED "\r\n10000000000000000\r\n",
      .rc = HTTP_ERROR, .error = "chunk size too large" },
    { .name = "chunk data without CRLF", .in = OK200 CHUNKED "\r\n2\r\nabc\r\n0\r\n\r\n",
      .rc = HTTP_ERROR, .error = "missing CRLF after chunk data" },
    { .name = "chunk data CR without LF", .in = OK200 CHUNKED "\r\n2\r\nab\rX",
      .rc = HTTP_ERROR, .error = "missing CRLF after chunk data" },
    { .name = "chunk size CR without LF", .in = OK200 CHUNKED "\r\n2\rab",
      .rc = HTTP_ERROR, .error = "expected LF after CR" },
    { .name = "trailer end CR without LF", .in = OK200 CHUNKED "\r\n0\r\n\rX",
      .rc = HTTP_ERROR, .error = "expected LF after CR" },

    /* no body */
    { .name = "head with content-length", .in = OK200 "Content-Length: 1000\r\n\r\n", .head = true,
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = 41 },
    { .name = "head with chunked", .in = OK200 CHUNKED "\r\n", .head = true,
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = 47 },
    { .name = "head without length", .in = OK200 "\r\n", .head = true,
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = 19 },
    { .name = "204", .in = "HTTP/1.1 204 No Content\r\n\r\n",
      .rc = HTTP_DONE, .status = 204, .keep_alive = true, .header_bytes = 27 },
    { .name = "304 with content-length", .in = "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
      .rc = HTTP_DONE, .status = 304, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "content-length 0", .in = OK200 "Content-Length: 0\r\n\r\n",
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = 38 },

    /* interim responses */
    { .name = "100 then 200",
      .in = "HTTP/1.1 100 Continue\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = true, .header_bytes = 25 + 38 },
    { .name = "two interims",
      .in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n"
            "Content-Length: 9\r\nConnection: close\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok",
      .rc = HTTP_DONE, .status = 200, .body = 2, .keep_alive = true,
      .header_bytes = 25 + 82 + 38 },
    { .name = "101 is final",
      .in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05",
      .rc = HTTP_DONE, .status = 101, .keep_alive = false, .header_bytes = 77, .consumed = 77 },
    { .name = "interim then partial", .in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2",
      .rc = HTTP_PARTIAL, .status = 2, .header_bytes = 35 },

    /* close-delimited and eof */
    { .name = "close-delimited", .in = OK200 "Content-Type: text/plain\r\n\r\nabcdef", .eof = true,
      .rc = HTTP_DONE, .status = 200, .body = 6, .keep_alive = false, .header_bytes = 45 },
    { .name = "close-delimited empty", .in = OK200 "\r\n", .eof = true,
      .rc = HTTP_DONE, .status = 200, .body = 0, .keep_alive = false, .header_bytes = 19 },
    { .name = "1.0 close-delimited", .in = "HTTP/1.0 200 OK\r\n\r\nabc", .eof = true,
      .rc = HTTP_DONE, .status = 200, .body = 3, .keep_alive = false, .header_bytes = 19 },
    { .name = "close-delimited before eof", .in = OK200 "\r\nabc",
      .rc = HTTP_PARTIAL, .status = 200, .body = 3, .header_bytes = 19 },
    { .name = "truncated body", .in = OK200 "Content-Length: 10\r\n\r\nabc", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed before end of body" },
    { .name = "truncated headers", .in = OK200 "Content-Len", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed in response headers" },
    { .name = "truncated status line", .in = "HTTP/1.", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed in response headers" },
    { .name = "nothing then eof", .in = "", .eof = true,
      .rc = HTTP_ERROR, .error = "connection closed before response" },
    { .name = "complete then eof", .in = OK200 "Content-Length: 0\r\n\r\n", .eof = true,
      .rc = HTTP_DONE, .status = 200, .keep_alive = true, .header_bytes = 38 },

    /* malformed */
    { .name = "garbage", .in = "<html><body>hello</body></html>",
      .rc = HTTP_ERROR, .error = "not an HTTP response" },
    { .name = "https", .in = "HTTPS/1.1 200 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "not an HTTP response" },
    { .name = "lowercase http", .in = "http/1.1 200 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "not an HTTP response" },
    { .name = "leading empty line", .in = "\r\n" OK200 "\r\n",
      .rc = HTTP_ERROR, .error = "not an HTTP response" },
    { .name = "http/2", .in = "HTTP/2 200\r\n\r\n",
      .rc = HTTP_ERROR, .error = "unsupported HTTP version" },
    { .name = "http/1.x", .in = "HTTP/1.x 200 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "unsupported HTTP version" },
    { .name = "two spaces", .in = "HTTP/1.1  200 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid status code" },
    { .name = "short status", .in = "HTTP/1.1 20 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid status code" },
    { .name = "status below 100", .in = "HTTP/1.1 099 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid status code" },
    { .name = "long status", .in = "HTTP/1.1 2000 OK\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid status line" },
    { .name = "reason phrase swallows a lone CR", .in = "HTTP/1.1 200 OK\rX",
      .rc = HTTP_PARTIAL, .status = 200, .header_bytes = 17 },
    { .name = "no reason CR without LF", .in = "HTTP/1.1 200\rX",
      .rc = HTTP_ERROR, .error = "expected LF after CR" },
    { .name = "header without colon", .in = OK200 "Server\r\n\r\n",
      .rc = HTTP_ERROR, .error = "header line without colon" },
    { .name = "header without colon bare LF", .in = OK200 "Connection\n\n",
      .rc = HTTP_ERROR, .error = "header line without colon" },
    { .name = "space in header name", .in = OK200 "Server nginx\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid header name" },
    { .name = "NUL in header name", .in = OK200 "Ser\0ver: x\r\n\r\n", .len = 17 + 14,
      .rc = HTTP_ERROR, .error = "invalid header name" },
    { .name = "NUL in header value", .in = OK200 "Server: \0\r\nContent-Length: 1\r\n\r\nx",
      .len = 17 + 11 + 19 + 2 + 1, .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = true,
      .header_bytes = 17 + 11 + 19 + 2 },
    { .name = "NUL in connection value",
      .in = OK200 "Connection: close\0\r\nContent-Length: 1\r\n\r\nx", .len = 17 + 20 + 19 + 2 + 1,
      .rc = HTTP_DONE, .status = 200, .body = 1, .keep_alive = true, .header_bytes = 17 + 20 + 19 + 2 },
    { .name = "space before colon", .in = OK200 "Content-Length : 5\r\n\r\nhello",
      .rc = HTTP_ERROR, .error = "invalid header name" },
    { .name = "empty header name", .in = OK200 ": x\r\n\r\n",
      .rc = HTTP_ERROR, .error = "invalid header name" },
    { .name = "obs-fold", .in = OK200 "X-A: b\r\n c\r\nContent-Length: 0\r\n\r\n",
      .rc = HTTP_ERROR, .error = "obsolete header line folding" },
    { .name = "end of headers CR without LF", .in = OK200 "X-A: b\r\n\rX",
      .rc = HTTP_ERROR, .error = "expected LF after CR" },
};

static void test_resp_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++)
        resp_check(&resp_cases[i]);
}

/* A header block of exactly the limit passes; one byte more fails, however it is split. */
static void test_resp_header_limit(void **state)
{
    (void)state;
    static const char head[] = OK200 "X-Pad: ";
    static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t sizes[] = { HTTP_MAX_HEADER_BYTES, HTTP_MAX_HEADER_BYTES + 1 };

    for (int i = 0; i < 2; i++) {
        size_t len = sizes[i];
        char *in = malloc(len + 1);
        assert_non_null(in);
        memcpy(in, head, sizeof head - 1);
        memset(in + sizeof head - 1, 'a', len - (sizeof head - 1) - (sizeof tail - 1));
        memcpy(in + len - (sizeof tail - 1), tail, sizeof tail);
        struct resp_case c = { .name = i ? "limit + 1" : "limit", .in = in, .len = len,
                               .status = 200, .keep_alive = true, .header_bytes = len };
        c.rc = i ? HTTP_ERROR : HTTP_DONE;
        c.error = i ? "header block too large" : NULL;
        /* Every split of 64 KiB is 64 Ki parses of 64 KiB: take every 61st and the ends. */
        struct resp_result whole = resp_run(&c, NULL, 0);
        resp_expect(&c, &whole);
        for (size_t k = 0; k <= len; k += (k < 64 || k > len - 64) ? 1 : 61) {
            struct resp_result got = resp_run(&c, &k, 1);
            resp_same(c.name, "split", &whole, &got);
        }
        size_t *cuts = malloc(len * sizeof *cuts);
        assert_non_null(cuts);
        for (size_t k = 0; k < len - 1; k++)
            cuts[k] = k + 1;
        struct resp_result got = resp_run(&c, cuts, len - 1);
        resp_same(c.name, "byte at a time", &whole, &got);
        free(cuts);
        free(in);
    }
}

/* Garbage is rejected at its first byte, not after buffering up to the limit. */
static void test_resp_garbage_prompt(void **state)
{
    (void)state;
    struct http_resp r;
    size_t used;

    http_resp_init(&r, false);
    assert_int_equal(http_resp_feed(&r, (const uint8_t *)"<", 1, &used), HTTP_ERROR);
    assert_string_equal(r.error, "not an HTTP response");
    /* Stays in error. */
    assert_int_equal(http_resp_feed(&r, (const uint8_t *)"HTTP/1.1", 8, &used), HTTP_ERROR);
    assert_int_equal(http_resp_eof(&r), HTTP_ERROR);
}

/* Once DONE, feeding more consumes nothing and stays DONE; an empty feed is PARTIAL. */
static void test_resp_after_done(void **state)
{
    (void)state;
    static const char in[] = OK200 "Content-Length: 0\r\n\r\n";
    struct http_resp r;
    size_t used = 99;

    http_resp_init(&r, false);
    assert_int_equal(http_resp_feed(&r, (const uint8_t *)in, 0, &used), HTTP_PARTIAL);
    assert_int_equal(used, 0);
    assert_int_equal(http_resp_feed(&r, (const uint8_t *)in, sizeof in - 1, &used), HTTP_DONE);
    assert_int_equal(used, sizeof in - 1);
    assert_int_equal(http_resp_feed(&r, (const uint8_t *)in, sizeof in - 1, &used), HTTP_DONE);
    assert_int_equal(used, 0);
    assert_int_equal(http_resp_eof(&r), HTTP_DONE);
}

/* Several responses back to back in one stream, cut anywhere: each is found whole. */
static const char pipeline[] =
    OK200 "Content-Length: 5\r\n\r\nhello"
    OK200 CHUNKED "\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno"
    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ntail";
static const struct { int status; uint64_t body; bool ka; uint64_t hdr; } pipeline_want[] = {
    { 200, 5, true, 38 }, { 200, 3, true, 47 }, { 204, 0, true, 52 }, { 404, 2, true, 42 },
    { 200, 4, false, 38 },
};
#define NPIPE (sizeof pipeline_want / sizeof pipeline_want[0])

static void pipeline_run(const size_t *cuts, size_t ncuts, const char *how)
{
    size_t len = sizeof pipeline - 1, start = 0, n = 0;
    struct http_resp r;

    http_resp_init(&r, false);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t stop = i < ncuts ? cuts[i] : len, off = 0, plen = stop - start;
        uint8_t *piece = malloc(plen ? plen : 1);
        assert_non_null(piece);
        memcpy(piece, pipeline + start, plen);
        while (off < plen) {
            size_t used;
            int rc = http_resp_feed(&r, piece + off, plen - off, &used);
            if (rc == HTTP_ERROR)
                fail_msg("pipeline %s: response %zu: %s", how, n, r.error);
            assert_true(used <= plen - off);
            off += used;
            if (rc == HTTP_DONE) {
                if (n >= NPIPE || r.status != pipeline_want[n].status ||
                    r.body_bytes != pipeline_want[n].body || r.keep_alive != pipeline_want[n].ka ||
                    r.header_bytes != pipeline_want[n].hdr)
                    fail_msg("pipeline %s: response %zu: status %d body %llu ka %d hdr %llu",
                             how, n, r.status, (unsigned long long)r.body_bytes, r.keep_alive,
                             (unsigned long long)r.header_bytes);
                n++;
                http_resp_init(&r, false);
            }
        }
        memset(piece, 0xAA, plen);
        free(piece);
        start = stop;
    }
    /* The last one is close-delimited. */
    if (http_resp_eof(&r) != HTTP_DONE || r.body_bytes != pipeline_want[NPIPE - 1].body)
        fail_msg("pipeline %s: last response not completed by eof", how);
    if (n != NPIPE - 1)
        fail_msg("pipeline %s: %zu responses before eof, want %zu", how, n, NPIPE - 1);
}

static void test_resp_pipeline(void **state)
{
    (void)state;
    size_t len = sizeof pipeline - 1;
    size_t cuts[len];

    pipeline_run(NULL, 0, "whole");
    for (size_t k = 0; k <= len; k++) {
        char how[32];
        snprintf(how, sizeof how, "split at %zu", k);
        pipeline_run(&k, 1, how);
    }
    for (size_t k = 0; k < len - 1; k++)
        cuts[k] = k + 1;
    pipeline_run(cuts, len - 1, "byte at a time");
}

/* The struct sits in every connection: keep it within two cache lines' worth of budget. */
static void test_resp_size(void **state)
{
    (void)state;
    assert_true(sizeof(struct http_resp) <= 96);
}

/* ---- requests ----------------------------------------------------------------------- */

struct req_case {
    const char *name;
    const char *in;
    int         rc;
    const char *method;
    const char *target;
    int         minor;
    bool        keep_alive;
    bool        expect_continue;
    bool        chunked;
    uint64_t    content_length;
    uint64_t    body;
    uint64_t    header_bytes;   /* NO_CHECK to skip */
    size_t      consumed;       /* on HTTP_DONE; 0: all */
    const char *capture;        /* value of X-Upload-Id, NULL: not seen */
    const char *error;
};

struct req_result {
    int rc;
    struct http_req q;
    size_t consumed;
};

static struct req_result req_run(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
    struct req_result out;
    size_t start = 0, total = 0;
    int rc = HTTP_PARTIAL;

    http_req_init(&out.q);
    out.q.capture[0].name = "x-upload-ID";
    out.q.capture[1].name = "Content-Length";
    out.q.ncapture = 2;
    for (size_t i = 0; i <= ncuts && rc == HTTP_PARTIAL; i++) {
        size_t stop = i < ncuts ? cuts[i] : len;
        size_t n = stop - start, used = 12345;
        uint8_t *piece = malloc(n ? n : 1);
        assert_non_null(piece);
        memcpy(piece, in + start, n);
        rc = http_req_feed(&out.q, piece, n, &used);
        memset(piece, 0xAA, n);
        free(piece);
        assert_true(used <= n);
        if (rc == HTTP_PARTIAL)
            assert_int_equal(used, n);
        if (rc != HTTP_ERROR)
            total += used;
        start = stop;
    }
    out.rc = rc;
    out.consumed = rc == HTTP_ERROR ? 0 : total;
    return out;
}

static void req_same(const char *name, const char *how, const struct req_result *a,
                     const struct req_result *b)
{
    const struct http_req *x = &a->q, *y = &b->q;
    bool same = a->rc == b->rc;
    if (a->rc == HTTP_ERROR) {
        same = same && !strcmp(x->error, y->error);
    } else {
        same = same && a->consumed == b->consumed && !strcmp(x->method, y->method) &&
               !strcmp(x->target, y->target) && x->minor_version == y->minor_version &&
               x->headers_done == y->headers_done && x->keep_alive == y->keep_alive &&
               x->expect_continue == y->expect_continue && x->chunked == y->chunked &&
               x->content_length == y->content_length && x->body_bytes == y->body_bytes &&
               x->header_bytes == y->header_bytes;
        for (int i = 0; i < 2; i++)
            same = same && x->capture[i].seen == y->capture[i].seen &&
                   x->capture[i].truncated == y->capture[i].truncated &&
                   !strcmp(x->capture[i].value, y->capture[i].value);
    }
    if (!same)
        fail_msg("%s: %s differs from whole (rc %d/%d)", name, how, b->rc, a->rc);
}

static void req_expect(const struct req_case *c, const struct req_result *g, size_t len)
{
    const struct http_req *q = &g->q;

    if (g->rc != c->rc)
        fail_msg("%s: rc %d, want %d (error %s)", c->name, g->rc, c->rc, q->error ? q->error : "-");
    if (c->rc == HTTP_ERROR) {
        if (strcmp(q->error, c->error))
            fail_msg("%s: error \"%s\", want \"%s\"", c->name, q->error, c->error);
        return;
    }
    if (c->method && strcmp(q->method, c->method))
        fail_msg("%s: method \"%s\", want \"%s\"", c->name, q->method, c->method);
    if (c->target && strcmp(q->target, c->target))
        fail_msg("%s: target \"%s\", want \"%s\"", c->name, q->target, c->target);
    if (c->rc == HTTP_DONE) {
        if (!q->headers_done || q->minor_version != c->minor || q->keep_alive != c->keep_alive ||
            q->expect_continue != c->expect_continue || q->chunked != c->chunked ||
            q->content_length != c->content_length)
            fail_msg("%s: minor %d ka %d expect %d chunked %d cl %llu", c->name, q->minor_version,
                     q->keep_alive, q->expect_continue, q->chunked,
                     (unsigned long long)q->content_length);
        if (g->consumed != (c->consumed ? c->consumed : len))
            fail_msg("%s: consumed %zu", c->name, g->consumed);
        bool seen = c->capture != NULL;
        if (q->capture[0].seen != seen || (seen && strcmp(q->capture[0].value, c->capture)))
            fail_msg("%s: capture \"%s\" (seen %d), want \"%s\"", c->name, q->capture[0].value,
                     q->capture[0].seen, c->capture ? c->capture : "(unseen)");
    }
    if (q->body_bytes != c->body)
        fail_msg("%s: body %llu, want %llu", c->name, (unsigned long long)q->body_bytes,
                 (unsigned long long)c->body);
    if (c->header_bytes != NO_CHECK && q->header_bytes != c->header_bytes)
        fail_msg("%s: header_bytes %llu, want %llu", c->name,
                 (unsigned long long)q->header_bytes, (unsigned long long)c->header_bytes);
}

static void req_check(const struct req_case *c, const char *in, size_t len)
{
    struct req_result whole = req_run(in, len, NULL, 0), got;
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    char how[64];

    assert_non_null(cuts);
    req_expect(c, &whole, len);
    for (size_t k = 0; k <= len; k++) {
        cuts[0] = k;
        got = req_run(in, len, cuts, 1);
        snprintf(how, sizeof how, "split at %zu", k);
        req_same(c->name, how, &whole, &got);
    }
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    got = req_run(in, len, cuts, len ? len - 1 : 0);
    req_same(c->name, "byte at a time", &whole, &got);
    free(cuts);
}

static const struct req_case req_cases[] = {
    { .name = "get", .in = "GET /index.html?a=1 HTTP/1.1\r\nHost: x\r\n\r\n", .rc = HTTP_DONE,
      .method = "GET", .target = "/index.html?a=1", .minor = 1, .keep_alive = true,
      .header_bytes = 41 },
    { .name = "post content-length",
      .in = "POST /up HTTP/1.1\r\nContent-Length: 5\r\nX-Upload-Id:  abc 1 \t\r\n\r\nhello",
      .rc = HTTP_DONE, .method = "POST", .target = "/up", .minor = 1, .keep_alive = true,
      .content_length = 5, .body = 5, .header_bytes = 63, .capture = "abc 1" },
    { .name = "post partial body", .in = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel",
      .rc = HTTP_PARTIAL, .method = "POST", .body = 3, .header_bytes = 38 },
    { .name = "post chunked",
      .in = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n"
            "A\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
      .rc = HTTP_DONE, .method = "POST", .target = "/c", .minor = 1, .keep_alive = true,
      .chunked = true, .body = 13, .header_bytes = 48 },
    { .name = "chunked with content-length closes",
      .in = "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            "1\r\nx\r\n0\r\n\r\n",
      .rc = HTTP_DONE, .method = "POST", .minor = 1, .keep_alive = false, .chunked = true,
      .body = 1, .header_bytes = NO_CHECK },
    { .name = "http/1.0", .in = "GET / HTTP/1.0\r\n\r\n", .rc = HTTP_DONE, .method = "GET",
      .target = "/", .minor = 0, .keep_alive = false, .header_bytes = 18 },
    { .name = "http/1.0 keep-alive", .in = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      .rc = HTTP_DONE, .minor = 0, .keep_alive = true, .header_bytes = NO_CHECK },
    { .name = "connection close", .in = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
      .rc = HTTP_DONE, .minor = 1, .keep_alive = false, .header_bytes = NO_CHECK },
    { .name = "expect 100-continue",
      .in = "PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok",
      .rc = HTTP_DONE, .method = "PUT", .minor = 1, .keep_alive = true, .expect_continue = true,
      .content_length = 2, .body = 2, .header_bytes = NO_CHECK },
    { .name = "expect ignored in 1.0",
      .in = "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
      .rc = HTTP_DONE, .minor = 0, .content_length = 2, .body = 2, .header_bytes = NO_CHECK },
    { .name = "leading empty lines", .in = "\r\n\r\nGET / HTTP/1.1\n\n", .rc = HTTP_DONE,
      .method = "GET", .target = "/", .minor = 1, .keep_alive = true, .header_bytes = 16 },
    { .name = "capture last wins",
      .in = "GET / HTTP/1.1\r\nX-Upload-Id: 1\r\nx-upload-id:2\r\n\r\n", .rc = HTTP_DONE,
      .minor = 1, .keep_alive = true, .header_bytes = NO_CHECK, .capture = "2" },
    { .name = "capture empty", .in = "GET / HTTP/1.1\r\nX-Upload-Id:\r\n\r\n", .rc = HTTP_DONE,
      .minor = 1, .keep_alive = true, .header_bytes = NO_CHECK, .capture = "" },
    { .name = "pipelined tail not consumed",
      .in = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", .rc = HTTP_DONE, .target = "/a",
      .minor = 1, .keep_alive = true, .header_bytes = 19, .consumed = 19 },
    { .name = "method 7 bytes", .in = "OPTIONS * HTTP/1.1\r\n\r\n", .rc = HTTP_DONE,
      .method = "OPTIONS", .target = "*", .minor = 1, .keep_alive = true,
      .header_bytes = NO_CHECK },
    { .name = "method too long", .in = "PROPFIND / HTTP/1.1\r\n\r\n", .rc = HTTP_ERROR,
      .error = "method too long" },
    { .name = "no method", .in = " / HTTP/1.1\r\n\r\n", .rc = HTTP_ERROR,
      .error = "invalid method" },
    { .name = "http/0.9", .in = "GET /\r\n", .rc = HTTP_ERROR, .error = "invalid request target" },
    { .name = "empty target", .in = "GET  HTTP/1.1\r\n\r\n", .rc = HTTP_ERROR,
      .error = "empty request target" },
    { .name = "http/2", .in = "GET / HTTP/2.0\r\n\r\n", .rc = HTTP_ERROR,
      .error = "unsupported HTTP version" },
    { .name = "junk after version", .in = "GET / HTTP/1.1x\r\n\r\n", .rc = HTTP_ERROR,
      .error = "invalid request line" },
    { .name = "gzip body", .in = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      .rc = HTTP_ERROR, .error = "unsupported transfer-encoding" },
    { .name = "conflicting content-length",
      .in = "POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n",
      .rc = HTTP_ERROR, .error = "conflicting Content-Length" },
    { .name = "bad chunk", .in = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n",
      .rc = HTTP_ERROR, .error = "invalid chunk size" },
    { .name = "header without colon", .in = "GET / HTTP/1.1\r\nHost\r\n\r\n", .rc = HTTP_ERROR,
      .error = "header line without colon" },
};

static void test_req_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof req_cases / sizeof req_cases[0]; i++)
        req_check(&req_cases[i], req_cases[i].in, strlen(req_cases[i].in));
}

/* Targets up to 511 bytes fit; 512 does not. */
static void test_req_long_target(void **state)
{
    (void)state;
    char in[700];

    for (int over = 0; over < 2; over++) {
        size_t tlen = 511 + (size_t)over;
        memcpy(in, "GET /", 5);
        memset(in + 5, 'a', tlen - 1);
        strcpy(in + 4 + tlen, " HTTP/1.1\r\n\r\n");
        struct req_case c = { .name = over ? "target 512" : "target 511", .in = in,
                              .rc = over ? HTTP_ERROR : HTTP_DONE, .method = "GET", .minor = 1,
                              .keep_alive = true, .header_bytes = NO_CHECK,
                              .error = "request target too long" };
        req_check(&c, in, strlen(in));
        if (!over) {
            struct req_result r = req_run(in, strlen(in), NULL, 0);
            assert_int_equal(strlen(r.q.target), 511);
        }
    }
}

/* Captured values longer than the buffer are cut and flagged; framing headers can be
 * captured and still frame. */
static void test_req_capture(void **state)
{
    (void)state;
    char in[400];
    struct http_req q;
    size_t used;

    snprintf(in, sizeof in, "POST / HTTP/1.1\r\nContent-Length: 2\r\nX-Upload-Id: %0200d\r\n\r\nok", 7);
    http_req_init(&q);
    q.capture[0].name = "X-Upload-Id";
    q.capture[3].name = "content-length";
    q.ncapture = 4;
    assert_int_equal(http_req_feed(&q, (const uint8_t *)in, strlen(in), &used), HTTP_DONE);
    assert_int_equal(used, strlen(in));
    assert_true(q.capture[0].seen);
    assert_true(q.capture[0].truncated);
    assert_int_equal(strlen(q.capture[0].value), 127);
    assert_false(q.capture[1].seen);
    assert_true(q.capture[3].seen);
    assert_string_equal(q.capture[3].value, "2");
    assert_int_equal(q.content_length, 2);
    assert_int_equal(q.body_bytes, 2);
}

/* Expect: 100-continue is visible once the headers are in, before the body. */
static void test_req_expect_before_body(void **state)
{
    (void)state;
    static const char in[] = "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    struct http_req q;
    size_t used;

    http_req_init(&q);
    assert_int_equal(http_req_feed(&q, (const uint8_t *)in, sizeof in - 1, &used), HTTP_PARTIAL);
    assert_true(q.headers_done);
    assert_true(q.expect_continue);
    assert_int_equal(http_req_feed(&q, (const uint8_t *)"abcGET", 6, &used), HTTP_DONE);
    assert_int_equal(used, 3);
}

static void test_req_header_limit(void **state)
{
    (void)state;
    size_t len = HTTP_MAX_HEADER_BYTES + 100;
    char *in = malloc(len + 1);
    struct http_req q;
    size_t used;

    assert_non_null(in);
    memcpy(in, "GET / HTTP/1.1\r\nCookie: ", 24);
    memset(in + 24, 'c', len - 24);
    http_req_init(&q);
    assert_int_equal(http_req_feed(&q, (const uint8_t *)in, len, &used), HTTP_ERROR);
    assert_string_equal(q.error, "header block too large");
    free(in);
}

/* ---- the helpers both parsers share (http_int.h) ---- */

static void test_keep_alive_of(void **state)
{
    (void)state;
    assert_true(keep_alive_of(1, 0));
    assert_true(keep_alive_of(1, F_KA));
    assert_false(keep_alive_of(1, F_CLOSE));
    assert_false(keep_alive_of(1, F_CLOSE | F_KA));
    assert_false(keep_alive_of(0, 0));
    assert_true(keep_alive_of(0, F_KA));
    assert_false(keep_alive_of(0, F_KA | F_CLOSE));
}

static void test_version_byte(void **state)
{
    const char *v = "HTTP/1.1";
    int minor = -1;

    (void)state;
    for (uint32_t i = 0; i < 8; i++)
        assert_true(version_byte(i, (uint8_t)v[i], &minor));
    assert_int_equal(minor, 1);
    assert_true(version_byte(7, '0', &minor));
    assert_int_equal(minor, 0);
    assert_false(version_byte(0, 'h', &minor));
    assert_false(version_byte(5, '2', &minor));
    assert_false(version_byte(7, 'x', &minor));
    assert_int_equal(minor, 0);
}

static void test_line_end(void **state)
{
    uint8_t buf[16];
    const uint8_t *mark = buf;
    uint64_t hbytes = HTTP_MAX_HEADER_BYTES - 10;
    const char *err = NULL;

    (void)state;
    assert_true(line_end(&hbytes, &mark, buf + 10, &err));
    assert_ptr_equal(mark, buf + 10);
    assert_int_equal(hbytes, HTTP_MAX_HEADER_BYTES);
    assert_null(err);
    assert_false(line_end(&hbytes, &mark, buf + 11, &err));
    assert_string_equal(err, "header block too large");
}

static void test_feed_end(void **state)
{
    struct http_priv_ s = { .state = S_BODY_CL };
    const uint8_t buf[8] = { 0 };
    const char *error = NULL;
    size_t used = 99;

    (void)state;
    assert_int_equal(feed_end(&s, buf, buf + 8, NULL, &error, &used), HTTP_PARTIAL);
    assert_int_equal(used, 8);
    s.state = S_DONE;
    assert_int_equal(feed_end(&s, buf, buf + 3, NULL, &error, &used), HTTP_DONE);
    assert_int_equal(used, 3);
    used = 0;
    assert_int_equal(feed_end(&s, buf, NULL, "bad", &error, &used), HTTP_ERROR);
    assert_int_equal(s.state, S_ERROR);
    assert_string_equal(error, "bad");
    assert_int_equal(used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_table),
        cmocka_unit_test(test_resp_header_limit),
        cmocka_unit_test(test_resp_garbage_prompt),
        cmocka_unit_test(test_resp_after_done),
        cmocka_unit_test(test_resp_pipeline),
        cmocka_unit_test(test_resp_size),
        cmocka_unit_test(test_req_table),
        cmocka_unit_test(test_req_long_target),
        cmocka_unit_test(test_req_capture),
        cmocka_unit_test(test_req_expect_before_body),
        cmocka_unit_test(test_req_header_limit),
        cmocka_unit_test(test_keep_alive_of),
        cmocka_unit_test(test_version_byte),
        cmocka_unit_test(test_line_end),
        cmocka_unit_test(test_feed_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
