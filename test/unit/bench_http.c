/* Cost of the response parser per response; not part of `make test`.
 *
 *   gcc -std=gnu11 -D_GNU_SOURCE -O2 -I. test/unit/bench_http.c blaster/http_*.c -o /tmp/bench_http
 *   /tmp/bench_http [iterations]
 *
 * Parses the same response over and over from one buffer (hot cache, as on a busy
 * connection) and prints ns per response, for a typical Content-Length response, a chunked
 * one, and the typical one delivered in two pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blaster/run/http.h"

static const char typical[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Mon, 24 Nov 2025 10:00:00 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "Hello, World!";

static const char chunked[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Mon, 24 Nov 2025 10:00:00 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "d\r\nHello, World!\r\n"
    "0\r\n\r\n";

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Parse msg n times, cut at `cut` (0: whole); returns ns per response. */
static double bench(const char *msg, size_t cut, long n)
{
    const uint8_t *buf = (const uint8_t *)msg;
    size_t len = strlen(msg), used;
    uint64_t sink = 0;
    struct http_resp r;

    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        http_resp_init(&r, false);
        enum http_rc rc;
        if (cut) {
            rc = http_resp_feed(&r, buf, cut, &used);
            rc = http_resp_feed(&r, buf + cut, len - cut, &used);
        } else {
            rc = http_resp_feed(&r, buf, len, &used);
        }
        if (rc != HTTP_DONE || !r.keep_alive) {
            fprintf(stderr, "bench: parse failed: %s\n", r.error ? r.error : "partial");
            exit(1);
        }
        sink += r.body_bytes + used;
        /* Keep the compiler from hoisting the parse out of the loop. */
        __asm__ volatile("" : : "r"(buf), "r"(&r) : "memory");
    }
    double t = (now_ns() - t0) / (double)n;
    if (sink != (uint64_t)n * (r.body_bytes + used))
        abort();
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;

    bench(typical, 0, n / 10);  /* warm up */
    printf("typical   %3zu bytes (%zu of headers): %6.1f ns/response\n", strlen(typical),
           strlen(typical) - 13, bench(typical, 0, n));
    printf("chunked   %3zu bytes:                  %6.1f ns/response\n", strlen(chunked),
           bench(chunked, 0, n));
    printf("typical in 2 pieces (cut at 70):      %6.1f ns/response\n", bench(typical, 70, n));
    return 0;
}
