/* Cost of rendering one request from its compiled template; not part of `make test`.
 *
 *   gcc -std=gnu11 -D_GNU_SOURCE -O2 -I. test/unit/bench_template.c blaster/template*.c -o /tmp/bench_template
 *   /tmp/bench_template [iterations]
 *
 * Renders the upload chunk of DESIGN.md's example (path and header with the
 * loop variable ${n}, a captured ${upload_id}, a shared 1 MiB body) for a
 * changing VU, iteration and n, and prints ns per render. For comparison, a
 * templated JSON body (${vu}, ${iter}, a one_of: a Content-Length slot) and
 * a search with ${one_of} in the path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blaster/compile/template.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const struct template_loopvar loops[] = {{"n", 1, 10}};
static const char *const captures[] = {"upload_id"};

static void bench(const char *what, const struct template_request_spec *spec, long iters)
{
    struct template_scope sc = {.loops = loops, .nloops = 1, .captures = captures, .ncaptures = 1};
    struct template_request r;
    char err[256];
    if (template_request_compile(spec, &sc, &r, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", what, err);
        exit(1);
    }
    static const char upload_id[] = "5f0c7a3e-8d1b-4c52-9a77-3b2e1f4d6c80";
    uint64_t rng = 1;
    struct template_values v = {.rng = &rng};
    v.capture[0].ptr = upload_id;
    v.capture[0].len = sizeof upload_id - 1;
    struct iovec iov[32];
    char scratch[256];
    size_t sum = 0;
    long niov = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        v.vu = (uint32_t)(i % 1000) + 1;
        v.iter = (uint64_t)i / 1000;
        v.loop[0] = (uint32_t)(i % 10) + 1;
        size_t total;
        int n = template_request_render_iov(&r, &v, iov, 32, scratch, sizeof scratch, &total);
        if (n < 0) {
            fprintf(stderr, "%s: render failed\n", what);
            exit(1);
        }
        sum += total + (size_t)((const char *)iov[0].iov_base)[0];
        niov += n;
    }
    double ns = (now_ns() - t0) / (double)iters;
    printf("%-44s %6.1f ns/render  %.1f iovecs  (%d variant chunks, %d spliced; checksum %zu)\n", what, ns,
           (double)niov / (double)iters, r.head.nvariant_chunks + r.body_t.nvariant_chunks,
           r.head.nspliced + r.body_t.nspliced, sum % 1000);
    template_request_free(&r);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 10000000;
    static const struct template_header upload_headers[] = {
        {"X-Upload-Id", "${upload_id}"},
        {"X-Chunk-Number", "${n}"},
        {"Authorization", "Bearer abc"},
    };
    size_t blen = 1 << 20;
    char *body = calloc(1, blen);
    struct template_request_spec upload = {
        .method = "POST", .path = "/api/v1/tracks/upload/chunk?n=${n}", .host = "127.0.0.1:8080",
        .user_agent = "blaster/0.1.0", .headers = upload_headers, .nheaders = 3,
        .body_kind = TEMPLATE_BODY_FIXED, .body = body, .body_len = blen,
    };
    bench("upload chunk (1 MiB body, ${n}, capture)", &upload, iters);

    static const struct template_header json_headers[] = {
        {"Content-Type", "application/json"},
        {"Authorization", "Bearer abc"},
    };
    struct template_request_spec initiate = {
        .method = "POST", .path = "/api/v1/tracks/upload/initiate", .host = "127.0.0.1:8080",
        .user_agent = "blaster/0.1.0", .headers = json_headers, .nheaders = 2,
        .body_kind = TEMPLATE_BODY_TEMPLATE,
        .body_text = "{\"total_chunks\":10,\"total_size\":10485760,\"filename\":\"lt-${vu}-${iter}.mp3\","
                     "\"genre\":\"${one_of:rock,jazz,lo-fi}\"}",
    };
    bench("initiate (JSON body with vu, iter, one_of)", &initiate, iters);

    struct template_request_spec search = {
        .method = "GET", .path = "/api/v1/search?q=${one_of:rock,jazz,lo-fi}", .host = "127.0.0.1:8080",
        .user_agent = "blaster/0.1.0", .headers = json_headers + 1, .nheaders = 1,
    };
    bench("search (${one_of} in the path)", &search, iters);
    free(body);
    return 0;
}
