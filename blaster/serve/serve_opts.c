/* serve_opts — `blaster serve`'s command line: the flags, their values and
 * the rules between them (--tls needs --cert and --key, --hls-segments needs
 * --app demo...), the usage and help text, and the listening address's text
 * (the inverse of --listen's parsing). Owns nothing at run time:
 * serve_main.c acts on the struct serve_opts made here. */
#include "blaster/serve/serve_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/serve/demo_app.h"
#include "blaster/common/units.h"

#define MAX_BODY (1ULL << 30)

const char serve_usage[] =
    "Usage: blaster serve [--listen ADDR:PORT] [--threads N] [--body-size SIZE] [--delay DUR]\n"
    "                     [--stall DUR@EVERY] [--error-rate F] [--reset-rate F]\n"
    "                     [--close-rate F] [--garbage-rate F] [--exit-after DUR] [-v]\n"
    "                     [--app demo [--hls-segments N] [--segment-size SIZE]]\n"
    "                     [--tls --cert FILE --key FILE [--tls-min V] [--tls-max V]]\n";

const char serve_help[] =
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

void serve_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
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
        if (units_parse_count(v, &n) == 0 && n >= 1 && n <= SERVE_MAX_WORKERS) {
            o->threads = (int)n;
            return 0;
        }
        snprintf(err, errlen, "%s: expected a thread count from 1 to %d, got '%s'", flag, SERVE_MAX_WORKERS, v);
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

int serve_opts_parse(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen)
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
