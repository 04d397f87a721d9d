/* serve — `blaster serve`, the built-in HTTP/1.1 test target.
 *
 *   blaster serve                                   200 "hello, world\n" on 127.0.0.1:8080
 *   blaster serve --body-size 1MiB --delay 20ms     big bodies from a slow backend
 *   blaster serve --stall 1s@10s --reset-rate 0.01  a 1 s freeze every 10 s, 1% resets
 *   blaster serve --app demo                        the example API (blaster/demo_app.h)
 *   blaster serve --tls --cert c.pem --key k.pem    the same over TLS (tls/tls.h)
 *
 * One worker thread per CPU, each with its own ring, its own listening socket
 * (SO_REUSEPORT spreads the connections), a multishot accept into the ring's
 * file table and a multishot receive per connection into the ring's shared
 * provided buffers, so an idle connection costs its struct conn and nothing
 * else. A connection is named by its slot in the file table, which is also its
 * index in the worker's slab of struct conn; a generation number makes the
 * completions that arrive after a close harmless.
 *
 * A request's path: bytes arrive (on_recv) → the HTTP parser frames a request
 * (feed) → respond() picks its response, route() first and the faults after,
 * and appends it to the connection's queue → flush() sends the queue's head
 * when it is due: now, after --delay, or at the end of a stall. Every response
 * is rendered once at start, so a send only points at it.
 *
 * Why a queue: requests are parsed as soon as they arrive (the provided buffer
 * goes back to the kernel when the handler returns), but a connection has at
 * most one send in flight, because two sends on one socket can be reordered
 * or interleaved when the first one waits for socket space. Pipelined
 * requests wait in the queue as runs of identical responses; a run goes out
 * in one send, from a rendering that holds several copies back to back. A
 * client that pipelines more than QRUNS different responses ahead of the
 * server is closed (counted as a pipeline overflow in -v).
 *
 * With --app demo, route() asks blaster/demo_app.c. Its few responses that
 * carry per-request values (an upload id, a chunk's byte count, an order id)
 * are a header rendered once up to "Content-Length: " and a tail rendered
 * when the response is sent, into the connection's small dyn[] buffer, from
 * values queued at routing time in the connection's dq[] (in queue order,
 * like the responses). GET /__stats renders every worker's counters into the
 * worker's one stats buffer; a connection that finds it busy (another
 * connection's send in flight) retries a millisecond later.
 *
 * With --tls a connection also holds a struct tls_conn (NULL on plain ones, so
 * that plain HTTP pays a pointer test and nothing else). wolfSSL never sees the
 * socket: received ciphertext goes to tls_feed and tls_read's plaintext to
 * feed(); a response is not sent from its rendering but encrypted from it by
 * tls_write into the connection's TLS output buffer, one buffer at a time, and
 * each buffer's ciphertext is the connection's one send in flight. */
#include "blaster/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blaster/demo_app.h"
#include "blaster/http.h"
#include "blaster/stream.h"
#include "blaster/units.h"
#include "ring/ring.h"
#include "ring/worker.h"
#include "tls/tls.h"

#define MAX_WORKERS    1024
#define MAX_CONNS      20000   /* per worker; past that run more workers (DESIGN.md) */
#define MAX_BODY       (1ULL << 30)
#define QRUNS          32      /* runs of pending responses per connection (power of 2):
                                  any mix of responses to 32 pipelined requests fits */
#define REPS           16      /* copies of a small response rendered back to back */
#define CONTIG_MAX     65536   /* responses up to this are one buffer; bigger ones are
                                  a header plus the shared body, sent with sendmsg */
#define LINGER_NS      (2 * 1000000000LL)
#define TICK_NS        (100 * 1000000LL)  /* workers notice a stop within this */
#define ACCEPT_RETRY_NS (10 * 1000000LL)
#define STATS_RETRY_NS (1000000LL)
#define DYNQ           QRUNS   /* values of dynamic responses pending per connection: as
                                  many as pipelined requests fit in the queue's runs */
#define DYNBUF         (DEMO_DYN_MAX + 32)  /* "Content-Length" value, CRLFs, body */
#define STATS_HEAD     32      /* room before the stats body for its length and CRLFs */
#define TLS_PLAIN      16384   /* plaintext per tls_read: one TLS record */

static const char usage[] =
    "Usage: blaster serve [--listen ADDR:PORT] [--threads N] [--body-size SIZE] [--delay DUR]\n"
    "                     [--stall DUR@EVERY] [--error-rate F] [--reset-rate F]\n"
    "                     [--close-rate F] [--garbage-rate F] [--exit-after DUR] [-v]\n"
    "                     [--app demo [--hls-segments N] [--segment-size SIZE]]\n"
    "                     [--tls --cert FILE --key FILE [--tls-min V] [--tls-max V]]\n";

static const char help[] =
    "The built-in HTTP/1.1 test target: keep-alive, pipelining, any path answers 200\n"
    "(with --app demo, the routes listed at the end).\n"
    "\n"
    "      --listen ADDR:PORT  where to listen: IPv4, [IPv6] or localhost; port 0 picks\n"
    "                          a free one (default 127.0.0.1:8080)\n"
    "  -t, --threads N         worker threads (default: one per usable CPU)\n"
    "      --body-size SIZE    bytes of the 200 response's body: 0, 4KiB, 1MiB\n"
    "                          (default 13: \"hello, world\\n\")\n"
    "      --delay DUR         every response waits DUR: 20ms, 1.5s (default 0)\n"
    "      --stall DUR@EVERY   answer nothing for DUR, EVERY after start and every EVERY\n"
    "                          after that: 1s@10s; what arrives meanwhile is answered\n"
    "                          when the stall ends (default none)\n"
    "      --error-rate F      fraction 0..1 of responses that are 500 (default 0)\n"
    "      --reset-rate F      fraction of requests answered by a TCP reset (default 0)\n"
    "      --close-rate F      fraction of responses sent with Connection: close, then\n"
    "                          the connection is closed (default 0)\n"
    "      --garbage-rate F    fraction of responses replaced by bytes that are not\n"
    "                          HTTP, then a close (default 0)\n"
    "      --exit-after DUR    stop by itself after DUR (default: at SIGINT/SIGTERM)\n"
    "      --tls               speak HTTPS (TLS 1.2 and 1.3, wolfSSL); needs --cert and --key\n"
    "      --cert FILE         the server's certificate chain (PEM), leaf first\n"
    "      --key FILE          its private key (PEM)\n"
    "      --tls-min V         lowest TLS version accepted: 1.2 or 1.3 (default 1.2)\n"
    "      --tls-max V         highest TLS version accepted: 1.2 or 1.3 (default 1.3)\n"
    "  -v, --verbose           per-worker counts at exit\n"
    "  -h, --help              print this help\n"
    "\n"
    "      --app demo          answer the routes of the examples instead (JSON unless said;\n"
    "                          a GET route also takes HEAD; wrong method 405, else 404):\n"
    "        GET  /health                                  {\"status\":\"ok\"}\n"
    "        POST /api/v1/tracks/upload/initiate           201, data.upload_id\n"
    "        POST /api/v1/tracks/upload/chunk              200 with a valid X-Upload-Id and\n"
    "                                                      X-Chunk-Number >= 1, else 400\n"
    "        GET  /api/v1/tracks/ID/hls/master.m3u8        variants 64k, 128k, 256k\n"
    "        GET  /api/v1/tracks/ID/hls/VAR/playlist.m3u8  VOD, --hls-segments segments\n"
    "        GET  /api/v1/tracks/ID/hls/VAR/segment-I.ts   video/mp2t, --segment-size bytes\n"
    "        GET  /api/v1/search?q=Q                       a few tracks\n"
    "        GET  /api/v1/tracks?page=P&limit=L            L tracks (default 20, at most 100)\n"
    "        GET  /api/v1/tracks/ID                        one track\n"
    "        GET  /api/v1/marketplace/products?limit=L     L products\n"
    "        POST /api/v1/marketplace/orders               201, or 400 when the body holds\n"
    "                                                      00000000-0000-0000-0000-000000000000\n"
    "        GET  /__stats                                 requests per route, summed over the\n"
    "                                                      workers; segments served by index\n"
    "                          Faults apply to every route but /__stats.\n"
    "      --hls-segments N    segments per media playlist (default 10)\n"
    "      --segment-size SIZE bytes per HLS segment (default 64KiB)\n";

/* --- options ---------------------------------------------------------------- */

struct serve_opts {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int       threads;          /* 0: one per CPU of the affinity mask */
    uint64_t  body_size;
    int64_t   delay_ns;
    int64_t   stall_ns, stall_every_ns;  /* 0: no stalls */
    int64_t   exit_after_ns;    /* 0: run until a signal */
    double    error_rate, reset_rate, close_rate, garbage_rate;
    int       verbose;
    bool      help;
    bool      demo;             /* --app demo */
    bool      demo_flags;       /* --hls-segments or --segment-size given */
    uint64_t  hls_segments, segment_size;
    bool      tls;              /* --tls */
    const char *certfile, *keyfile;
    int       tls_min, tls_max; /* 0 (tls.h's default), 12 or 13 */
};

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon;
    memset(ss, 0, sizeof *ss);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || errno || port > 65535)
        return -1;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (s[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof *in4;
        return 0;
    }
    if (s[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

static int parse_fraction(const char *s, double *f)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0 || v > 1)
        return -1;
    *f = v;
    return 0;
}

enum opt_id { O_LISTEN, O_THREADS, O_BODY, O_DELAY, O_STALL, O_ERROR, O_RESET, O_CLOSE,
              O_GARBAGE, O_EXIT, O_VERBOSE, O_HELP, O_APP, O_HLS_SEGMENTS, O_SEGMENT_SIZE,
              O_TLS, O_CERT, O_KEY, O_TLS_MIN, O_TLS_MAX };

static const struct { const char *name; char short_name; bool arg; enum opt_id id; } opts[] = {
    {"listen", 0, true, O_LISTEN},        {"threads", 't', true, O_THREADS},
    {"body-size", 0, true, O_BODY},       {"delay", 0, true, O_DELAY},
    {"stall", 0, true, O_STALL},          {"error-rate", 0, true, O_ERROR},
    {"reset-rate", 0, true, O_RESET},     {"close-rate", 0, true, O_CLOSE},
    {"garbage-rate", 0, true, O_GARBAGE}, {"exit-after", 0, true, O_EXIT},
    {"verbose", 'v', false, O_VERBOSE},   {"help", 'h', false, O_HELP},
    {"app", 0, true, O_APP},              {"hls-segments", 0, true, O_HLS_SEGMENTS},
    {"segment-size", 0, true, O_SEGMENT_SIZE},
    {"tls", 0, false, O_TLS},             {"cert", 0, true, O_CERT},
    {"key", 0, true, O_KEY},              {"tls-min", 0, true, O_TLS_MIN},
    {"tls-max", 0, true, O_TLS_MAX},
};

/* flag is the option as the user spelled it (without "=value"). */
static int apply(struct serve_opts *o, enum opt_id id, const char *flag, const char *v,
                 char *err, size_t errlen)
{
    uint64_t n;
    double *rate = NULL;
    switch (id) {
    case O_LISTEN:
        if (parse_listen(v, &o->addr, &o->addrlen) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '%s'", flag, v);
        return -1;
    case O_THREADS:
        if (units_parse_count(v, &n) == 0 && n >= 1 && n <= MAX_WORKERS) {
            o->threads = (int)n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a thread count from 1 to %d, got '%s'", flag, MAX_WORKERS, v);
        return -1;
    case O_BODY:
        if (units_parse_size(v, &n) == 0 && n <= MAX_BODY) {
            o->body_size = n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a size up to 1GiB like 512, 4KiB or 1MiB, got '%s'", flag, v);
        return -1;
    case O_DELAY:
        if (units_parse_duration(v, &o->delay_ns) == 0)
            return 0;
        snprintf(err, errlen, "%s: expected a duration like 200ms or 1.5s, got '%s'", flag, v);
        return -1;
    case O_EXIT:
        if (units_parse_duration(v, &o->exit_after_ns) == 0 && o->exit_after_ns > 0)
            return 0;
        snprintf(err, errlen, "%s: expected a duration greater than 0 like 30s or 5m, got '%s'", flag, v);
        return -1;
    case O_STALL: {
        const char *at = strchr(v, '@');
        char dur[64];
        int64_t d, e;
        if (at && (size_t)(at - v) < sizeof dur) {
            memcpy(dur, v, (size_t)(at - v));
            dur[at - v] = 0;
            if (units_parse_duration(dur, &d) == 0 && units_parse_duration(at + 1, &e) == 0 &&
                d > 0 && e > 0) {
                if (d >= e) {
                    /* Stalls back to back: a server that never answers again. --delay
                     * with a long duration says that more plainly. */
                    snprintf(err, errlen, "%s: the stall must be shorter than its period, got '%s'", flag, v);
                    return -1;
                }
                o->stall_ns = d;
                o->stall_every_ns = e;
                return 0;
            }
        }
        snprintf(err, errlen, "%s: expected DUR@EVERY like 1s@10s, got '%s'", flag, v);
        return -1;
    }
    case O_ERROR: rate = &o->error_rate; break;
    case O_RESET: rate = &o->reset_rate; break;
    case O_CLOSE: rate = &o->close_rate; break;
    case O_GARBAGE: rate = &o->garbage_rate; break;
    case O_VERBOSE: o->verbose++; return 0;
    case O_HELP: o->help = true; return 0;
    case O_APP:
        if (strcmp(v, "demo") == 0) {
            o->demo = true;
            return 0;
        }
        snprintf(err, errlen, "%s: the only app is 'demo', got '%s'", flag, v);
        return -1;
    case O_HLS_SEGMENTS:
        o->demo_flags = true;
        if (units_parse_count(v, &n) == 0 && n >= 1 && n <= DEMO_MAX_SEGMENTS) {
            o->hls_segments = n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a segment count from 1 to %d, got '%s'", flag, DEMO_MAX_SEGMENTS, v);
        return -1;
    case O_SEGMENT_SIZE:
        o->demo_flags = true;
        if (units_parse_size(v, &n) == 0 && n <= MAX_BODY) {
            o->segment_size = n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a size up to 1GiB like 188, 64KiB or 1MiB, got '%s'", flag, v);
        return -1;
    case O_TLS: o->tls = true; return 0;
    case O_CERT: o->certfile = v; return 0;
    case O_KEY: o->keyfile = v; return 0;
    case O_TLS_MIN:
    case O_TLS_MAX: {
        int ver = strcmp(v, "1.2") == 0 ? 12 : strcmp(v, "1.3") == 0 ? 13 : 0;
        if (!ver) {
            snprintf(err, errlen, "%s: expected 1.2 or 1.3, got '%s'", flag, v);
            return -1;
        }
        *(id == O_TLS_MIN ? &o->tls_min : &o->tls_max) = ver;
        return 0;
    }
    }
    if (parse_fraction(v, rate) == 0)
        return 0;
    snprintf(err, errlen, "%s: expected a fraction from 0 to 1 like 0.01, got '%s'", flag, v);
    return -1;
}

static int parse_args(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    parse_listen("127.0.0.1:8080", &o->addr, &o->addrlen);
    o->body_size = 13;
    o->hls_segments = 10;
    o->segment_size = 64 * 1024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char flag[64];
        size_t k = 0;
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            snprintf(flag, sizeof flag, "%.*s", (int)len, a);
            for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
                if (strlen(opts[k].name) == len - 2 && strncmp(a + 2, opts[k].name, len - 2) == 0)
                    break;
            if (eq)
                v = eq + 1;
        } else if (a[0] == '-' && a[1] && !a[2]) {
            snprintf(flag, sizeof flag, "%s", a);
            for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
                if (opts[k].short_name == a[1])
                    break;
        } else {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return -1;
        }
        if (k == sizeof opts / sizeof opts[0]) {
            snprintf(err, errlen, "unknown option '%s'", flag);
            return -1;
        }
        if (opts[k].arg && !v) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", flag);
                return -1;
            }
            v = argv[++i];
        } else if (!opts[k].arg && v) {
            snprintf(err, errlen, "%s takes no value, got '%s'", flag, v);
            return -1;
        }
        if (apply(o, opts[k].id, flag, v, err, errlen) != 0)
            return -1;
    }
    if (o->demo_flags && !o->demo) {
        snprintf(err, errlen, "--hls-segments and --segment-size need --app demo");
        return -1;
    }
    if (!o->tls && (o->certfile || o->keyfile || o->tls_min || o->tls_max)) {
        snprintf(err, errlen, "--cert, --key, --tls-min and --tls-max need --tls");
        return -1;
    }
    if (o->tls && (!o->certfile || !o->keyfile)) {
        snprintf(err, errlen, "--tls needs --cert FILE and --key FILE");
        return -1;
    }
    if (o->tls_min && o->tls_max && o->tls_min > o->tls_max) {
        snprintf(err, errlen, "--tls-min is above --tls-max");
        return -1;
    }
    return 0;
}

/* --- responses, rendered once ------------------------------------------------- */

/* How the connection goes on after a response: the request asked for
 * keep-alive (HTTP/1.1), for keep-alive in HTTP/1.0 (which needs the header
 * said back), or for a close. */
enum variant { V_KEEP, V_KEEP10, V_CLOSE, NVARIANTS };
enum after { AFTER_KEEP, AFTER_CLOSE, AFTER_RESET };

/* Every response the server gives; --app demo's follow (RESP_DEMO + enum demo_resp). */
enum resp_id {
    RESP_OK, RESP_ERROR, RESP_BAD_REQUEST, RESP_URI_TOO_LONG, RESP_HEADERS_TOO_LARGE, RESP_NOT_IMPLEMENTED,
    RESP_BAD_VERSION, RESP_CONTINUE, RESP_GARBAGE, RESP_RESET, NRESP
};
#define RESP_DEMO NRESP
#define NRESP_ALL (NRESP + DEMO_NRESP)

/* A queue entry names one rendering: response, variant, HEAD or not. */
static inline uint16_t entry_id(unsigned resp, enum variant v, bool head)
{
    return (uint16_t)(resp << 3 | (unsigned)v << 1 | head);
}

struct rendered {
    const uint8_t *data;      /* reps copies back to back; NULL: hdr + body with sendmsg */
    uint64_t       len;       /* bytes of one response */
    const uint8_t *hdr;       /* split form (big bodies): header here, body shared */
    uint32_t       hdr_len;
    const uint8_t *body;
    uint16_t       reps;
    uint8_t        after;
    uint8_t        dyn;       /* enum demo_dyn: hdr is the header up to "Content-Length: ",
                                 the rest is rendered when sent */
    uint16_t       status;    /* for the counts; 0 for garbage and resets */
    uint8_t       *mem;       /* what to free */
};

struct server {
    struct serve_opts o;
    int64_t           t0;     /* start: stalls are counted from here */
    bool              timed;  /* --delay or --stall: responses have a due time */
    bool              faults;
    uint8_t          *body;
    struct rendered   table[NRESP_ALL << 3];
    struct demo_app   demo;   /* --app demo */
};

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

static int render_all(struct server *s)
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

static void free_all(struct server *s)
{
    for (size_t i = 0; i < sizeof s->table / sizeof s->table[0]; i++)
        free(s->table[i].mem);
    free(s->body);
    demo_free(&s->demo);
}

/* What a malformed request gets, from the parser's static error string. */
static unsigned error_response(const char *err)
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

/* --- workers ---------------------------------------------------------------- */

enum conn_state { C_FREE, C_OPEN, C_LINGER, C_CLOSING };

enum conn_flag {
    F_SENDING = 1 << 0,  /* a send is in flight (at most one) */
    F_TIMER   = 1 << 1,  /* the connection's timer is pending */
    F_DUE     = 1 << 2,  /* due holds the queue head's send time */
    F_EOF     = 1 << 3,  /* the peer sent its FIN: answer what is queued, then close */
    F_IGNORE  = 1 << 4,  /* a response that closes is queued: read no more requests */
    F_CONTINUED = 1 << 5,/* 100 Continue queued for the current request */
};

struct run { uint16_t id; uint16_t n; };

struct conn {
    uint32_t          gen;
    uint8_t           state;
    uint8_t           flags;
    uint8_t           qhead, qlen;      /* runs of pending responses, oldest first */
    struct run        q[QRUNS];
    uint16_t          inflight;         /* responses of the head run in the send in flight */
    int64_t           due;              /* when the head may be sent (F_DUE) */
    struct ring_timer timer;            /* --delay, --stall, linger */
    struct iovec      iov[2];           /* the response being sent: header + shared body, or one piece */
    struct iovec      win[2];           /* the stream's room for what is left of it after a short send */
    uint64_t          sending;          /* bytes of the response being sent */
    struct http_req   req;
    /* --app demo */
    uint8_t           scan;             /* the current request's body is scanned */
    uint8_t           zscan;            /* demo_scan's state for it */
    uint8_t           dqhead, dqlen;    /* values of the dynamic responses queued */
    struct demo_arg   dq[DYNQ];
    char              dyn[DYNBUF];      /* the tail of a dynamic response being sent */
    struct stream     st;               /* its bytes, plain or TLS (F_SENDING: iov[] is its message) */
};

/* The headers --app demo reads, as http_req capture slots. */
enum { CAP_UPLOAD_ID, CAP_CHUNK_NUMBER, NCAP };

struct serve_stats {
    uint64_t accepted, requests, s2xx, s4xx, s5xx, continues, resets, garbage, closes,
             overflows, bytes_in, bytes_out, tls_errors;
};

struct worker {
    int                  id, cpu, listen_fd;
    const struct server *s;
    pthread_barrier_t   *ready;
    const int           *stop;
    pthread_t            thread;
    struct ring          ring;
    struct conn         *conns;
    uint32_t             nconns;   /* also the accept timer's tag */
    struct ring_timer    accept_timer;
    uint64_t             rng;
    int                  err;      /* -errno of a failure */
    const char          *err_what;
    int                  done;
    const char          *mode;     /* the ring's setup flags, for the ready line */
    struct serve_stats   st;
    /* --app demo */
    struct demo_worker   dw;
    char                *stats_buf;   /* STATS_HEAD + DEMO_STATS_MAX: a /__stats response */
    bool                 stats_busy;  /* ... in flight, on this connection: */
    uint32_t             stats_slot, stats_gen;
    struct tls_ctx      *tls;         /* --tls: the server's context, shared by the workers, made by serve_main */
    struct stream_pool   pool;        /* what the connections' streams share */
};

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

static inline uint32_t slot(const struct worker *w, const struct conn *k)
{
    return (uint32_t)(k - w->conns);
}

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

static void conn_close(struct worker *w, struct conn *k, bool reset)
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
        conn_close(w, k, false);
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
    conn_close(w, k, false);
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
static void flush(struct worker *w, struct conn *k)
{
    if (k->flags & (F_SENDING | F_TIMER))
        return;
    if (!k->qlen) {
        if (k->flags & F_EOF)
            conn_close(w, k, false);
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
        conn_close(w, k, true);
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
        conn_close(w, k, false);
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
            conn_close(w, k, false);
            return;
        }
        k->dq[(k->dqhead + k->dqlen++) & (DYNQ - 1)] = arg;
    }
    answer(w, k, id);
}

/* Ready for the next request on k. */
static void req_init(const struct server *s, struct conn *k)
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
static void feed(struct worker *w, struct conn *k, const uint8_t *data, size_t len)
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
        req_init(w->s, k);
        k->flags &= (uint8_t)~F_CONTINUED;
    }
    if (k->state == C_OPEN)
        flush(w, k);
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
        conn_close(w, k, false);
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
            feed(w, k, p, (size_t)n);
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
        req_init(w->s, k);
        w->st.accepted++;
        /* Here, not at start: the slab's pages stay untouched until used. */
        stream_init(&k->st, k->win, 2);
        if (stream_open(&w->pool, &k->st, w->tls, NULL) != 0) {
            conn_close(w, k, false);  /* out of memory: this one connection goes */
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
        conn_close(w, k, false);
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
        flush(w, k);
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
        conn_close(w, k, false);
        return;
    }
    if (k->state == C_LINGER) {
        /* close_notify is out (conn_notify): now the FIN, as conn_linger does. */
        if (k->flags & F_EOF)
            conn_close(w, k, false);
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
                conn_close(w, k, false);
            else
                flush(w, k);
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

/* "127.0.0.1:8080" or "[::1]:8080". */
static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
    }
}

static void print_stats(const struct worker *ws, int nw, bool tls)
{
    for (int i = 0; i < nw; i++) {
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

int serve_main(int argc, char **argv)
{
    static struct server srv;
    static int stop_flag;
    struct server *s = &srv;
    char err[512];
    if (parse_args(argc, argv, &s->o, err, sizeof err) != 0) {
        fprintf(stderr, "blaster serve: %s\n%s", err, usage);
        return 1;
    }
    if (s->o.help) {
        fputs(usage, stdout);
        fputs(help, stdout);
        return 0;
    }
    const struct serve_opts *o = &s->o;
    s->timed = o->delay_ns > 0 || o->stall_ns > 0;
    s->faults = o->error_rate > 0 || o->reset_rate > 0 || o->close_rate > 0 || o->garbage_rate > 0;

    /* Direct descriptors are bounded by the soft fd limit: take the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int cpus[MAX_WORKERS];
    int ncpus = worker_cpus(cpus, MAX_WORKERS);
    int nw = o->threads ? o->threads : ncpus;

    /* Listeners first, on the main thread, so that a taken port is reported
     * before any thread starts. With port 0 the first one picks the port and
     * the others join it. */
    int rc = 2, nfds = 0;
    int *fds = calloc((size_t)nw, sizeof *fds);
    struct worker *ws = calloc((size_t)nw, sizeof *ws);
    struct demo_opts dopts = { .hls_segments = o->hls_segments, .segment_size = o->segment_size };
    if (!fds || !ws || (o->demo && demo_init(&s->demo, &dopts, nw) != 0) || render_all(s) != 0) {
        fprintf(stderr, "blaster serve: out of memory\n");
        goto out;
    }
    if (o->tls) {
        /* One context for every worker, as nginx's workers share one: a session
         * ticket issued by one worker must resume on another (SO_REUSEPORT sends
         * a client's next connection to any of them; with a context, and so a
         * ticket key, per worker only half the resumptions succeeded on two
         * workers). Made here so that a certificate that does not load is a usage
         * error before anything listens. */
        struct tls_config tc = { .certfile = o->certfile, .keyfile = o->keyfile,
                                 .min_version = o->tls_min, .max_version = o->tls_max };
        struct tls_ctx *shared;
        if (tls_ctx_new_server(&shared, &tc, err, sizeof err) != 0) {
            fprintf(stderr, "blaster serve: %s\n", err);
            rc = 1;
            goto out;
        }
        for (int i = 0; i < nw; i++)
            ws[i].tls = shared;
    }
    struct sockaddr_storage addr = o->addr;
    for (int i = 0; i < nw; i++) {
        fds[i] = ring_listen((struct sockaddr *)&addr, o->addrlen, 4096);
        if (fds[i] < 0) {
            addr_text(&addr, err, sizeof err);
            fprintf(stderr, "blaster serve: cannot listen on %s: %s\n", err, strerror(-fds[i]));
            goto out;
        }
        nfds++;
        if (i == 0) {
            socklen_t len = sizeof addr;
            getsockname(fds[0], (struct sockaddr *)&addr, &len);
        }
    }

    /* Signals go to the main thread only (workers inherit the mask): it tells
     * the workers to stop. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)nw + 1);
    s->t0 = ring_now();
    rc = 0;
    for (int i = 0; i < nw; i++) {
        ws[i] = (struct worker){ .id = i, .cpu = cpus[i % ncpus], .listen_fd = fds[i], .s = s,
                                 .ready = &ready, .stop = &stop_flag, .tls = ws[i].tls };
        int e = worker_start(&ws[i].thread, ws[i].cpu, worker_main, &ws[i]);
        if (e) {
            /* The started workers wait at the barrier for this one forever. */
            fprintf(stderr, "blaster serve: cannot start worker %d: %s\n", i, strerror(-e));
            _exit(2);
        }
    }
    pthread_barrier_wait(&ready);
    for (int i = 0; i < nw; i++) {
        if (ws[i].err) {
            fprintf(stderr, "blaster serve: worker %d: %s: %s\n", i, ws[i].err_what, strerror(-ws[i].err));
            rc = 2;
        }
    }
    if (!rc) {
        addr_text(&addr, err, sizeof err);
        fprintf(stderr, "blaster serve: listening on %s://%s (%d thread%s, %s)\n",
                o->tls ? "https" : "http", err, nw, nw == 1 ? "" : "s", ws[0].mode);
    }

    int64_t end = o->exit_after_ns ? ring_now() + o->exit_after_ns : INT64_MAX;
    while (!rc) {
        int64_t now = ring_now();
        if (now >= end)
            break;
        for (int i = 0; i < nw; i++) {
            if (__atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE) && ws[i].err) {
                fprintf(stderr, "blaster serve: worker %d: %s: %s\n", i, ws[i].err_what, strerror(-ws[i].err));
                rc = 2;
            }
        }
        int64_t wait = end - now < TICK_NS ? end - now : TICK_NS;
        struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nw; i++)
        pthread_join(ws[i].thread, NULL);
    pthread_barrier_destroy(&ready);
    if (o->verbose)
        print_stats(ws, nw, o->tls);
out:
    for (int i = 0; ws && i < nw; i++)
        worker_free(&ws[i]);
    if (ws && nw > 0)
        tls_ctx_free(ws[0].tls); /* shared: after every worker's connections */
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    free_all(s);
    free(ws);
    free(fds);
    return rc;
}
