/* Tables of `blaster serve` command lines: good ones with the fields of struct serve_opts
 * they set, bad ones with the error they must produce (which names the flag and the value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <cmocka.h>

#include "blaster/serve/serve_opts.h"

/* W(...) below starts from the defaults and overrides some fields: that is the point. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEC  1000000000ll
#define MS   1000000ll
#define MAXARGS 16

struct want {
    const char *listen;        /* as serve_addr_text prints it */
    int         threads;
    uint64_t    body_size;
    int64_t     delay_ns, stall_ns, stall_every_ns, exit_after_ns;
    double      error_rate, reset_rate, close_rate, garbage_rate;
    int         verbose;
    bool        help, demo;
    uint64_t    hls_segments, segment_size;
    bool        tls;
    const char *certfile, *keyfile;
    int         tls_min, tls_max;
};

/* The documented defaults, then the case's own fields. */
#define W(...)                                                                             \
    {.listen = "127.0.0.1:8080", .body_size = 13, .hls_segments = 10,                    \
     .segment_size = 64 * 1024, __VA_ARGS__}

static const struct {
    const char *args;          /* split at spaces */
    struct want want;
} good[] = {
    {"", W()},
    {"--listen 0.0.0.0:9000", W(.listen = "0.0.0.0:9000")},
    {"--listen=127.0.0.2:0", W(.listen = "127.0.0.2:0")},
    {"--listen localhost:8081", W(.listen = "127.0.0.1:8081")},
    {"--listen [::1]:65535", W(.listen = "[::1]:65535")},
    {"--listen [::]:80", W(.listen = "[::]:80")},
    {"-t 4", W(.threads = 4)},
    {"--threads=1024", W(.threads = 1024)},
    {"--body-size 1MiB", W(.body_size = 1024 * 1024)},
    {"--body-size 0", W(.body_size = 0)},
    {"--body-size 1GiB", W(.body_size = 1ull << 30)},
    {"--delay 20ms", W(.delay_ns = 20 * MS)},
    {"--stall 1s@10s", W(.stall_ns = SEC, .stall_every_ns = 10 * SEC)},
    {"--exit-after 30s", W(.exit_after_ns = 30 * SEC)},
    /* rates: both ends of 0..1 are accepted */
    {"--error-rate 0", W()},
    {"--error-rate 1", W(.error_rate = 1)},
    {"--reset-rate=0.01 --close-rate 0.5 --garbage-rate 1e-3",
     W(.reset_rate = 0.01, .close_rate = 0.5, .garbage_rate = 0.001)},
    {"-v --verbose", W(.verbose = 2)},
    {"-h", W(.help = true)},
    {"--help", W(.help = true)},
    {"--app demo", W(.demo = true)},
    {"--app=demo --hls-segments 3 --segment-size 188",
     W(.demo = true, .hls_segments = 3, .segment_size = 188)},
    {"--segment-size 1KiB --app demo", W(.demo = true, .segment_size = 1024)},
    {"--tls --cert c.pem --key k.pem",
     W(.tls = true, .certfile = "c.pem", .keyfile = "k.pem")},
    {"--key=k.pem --cert=c.pem --tls --tls-min 1.3 --tls-max=1.3",
     W(.tls = true, .certfile = "c.pem", .keyfile = "k.pem", .tls_min = 13, .tls_max = 13)},
    {"--tls --cert c --key k --tls-min 1.2 --tls-max 1.3",
     W(.tls = true, .certfile = "c", .keyfile = "k", .tls_min = 12, .tls_max = 13)},
    /* the last one wins */
    {"-t 2 --threads 3", W(.threads = 3)},
};

static const struct {
    const char *args;
    const char *err;   /* the whole message */
} bad[] = {
    /* unknown flags and stray arguments */
    {"--nope", "unknown option '--nope'"},
    {"--nope=1", "unknown option '--nope'"},
    {"--LISTEN 127.0.0.1:1", "unknown option '--LISTEN'"},
    {"-x", "unknown option '-x'"},
    {"-vv", "unexpected argument '-vv'"},
    {"serve", "unexpected argument 'serve'"},
    {"-", "unexpected argument '-'"},
    {"--", "unknown option '--'"},
    {"--delay", "--delay needs a value"},
    {"-t", "-t needs a value"},
    {"--verbose=1", "--verbose takes no value, got '1'"},
    {"--tls=yes", "--tls takes no value, got 'yes'"},
    /* --listen */
    {"--listen 127.0.0.1",
     "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '127.0.0.1'"},
    {"--listen=8080", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '8080'"},
    {"--listen 127.0.0.1:", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '127.0.0.1:'"},
    {"--listen 127.0.0.1:65536", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '127.0.0.1:65536'"},
    {"--listen 127.0.0.1:-1", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '127.0.0.1:-1'"},
    {"--listen 127.0.0.1:80x", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '127.0.0.1:80x'"},
    {"--listen example.com:80", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got 'example.com:80'"},
    {"--listen ::1:80", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '::1:80'"},
    {"--listen [::1]80", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '[::1]80'"},
    {"--listen [::1:80", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '[::1:80'"},
    {"--listen [127.0.0.1]:80", "--listen: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT, got '[127.0.0.1]:80'"},
    /* rates outside 0..1, or not numbers */
    {"--error-rate 1.5", "--error-rate: expected a fraction from 0 to 1 like 0.01, got '1.5'"},
    {"--error-rate -0.1", "--error-rate: expected a fraction from 0 to 1 like 0.01, got '-0.1'"},
    {"--reset-rate=2", "--reset-rate: expected a fraction from 0 to 1 like 0.01, got '2'"},
    {"--close-rate nan", "--close-rate: expected a fraction from 0 to 1 like 0.01, got 'nan'"},
    {"--garbage-rate inf", "--garbage-rate: expected a fraction from 0 to 1 like 0.01, got 'inf'"},
    {"--garbage-rate=", "--garbage-rate: expected a fraction from 0 to 1 like 0.01, got ''"},
    {"--error-rate 0.1x", "--error-rate: expected a fraction from 0 to 1 like 0.01, got '0.1x'"},
    {"--error-rate 1%", "--error-rate: expected a fraction from 0 to 1 like 0.01, got '1%'"},
    /* the other values */
    {"-t 0", "-t: expected a thread count from 1 to 1024, got '0'"},
    {"--threads 1025", "--threads: expected a thread count from 1 to 1024, got '1025'"},
    {"--body-size 2GiB", "--body-size: expected a size up to 1GiB like 512, 4KiB or 1MiB, got '2GiB'"},
    {"--delay soon", "--delay: expected a duration like 200ms or 1.5s, got 'soon'"},
    {"--exit-after 0", "--exit-after: expected a duration greater than 0 like 30s or 5m, got '0'"},
    {"--stall 1s", "--stall: expected DUR@EVERY like 1s@10s, got '1s'"},
    {"--stall 0s@10s", "--stall: expected DUR@EVERY like 1s@10s, got '0s@10s'"},
    {"--stall 1s@x", "--stall: expected DUR@EVERY like 1s@10s, got '1s@x'"},
    {"--stall 10s@10s", "--stall: the stall must be shorter than its period, got '10s@10s'"},
    {"--app shop", "--app: the only app is 'demo', got 'shop'"},
    {"--app demo --hls-segments 0",
     "--hls-segments: expected a segment count from 1 to 100000, got '0'"},
    {"--app demo --segment-size 2GiB",
     "--segment-size: expected a size up to 1GiB like 188, 64KiB or 1MiB, got '2GiB'"},
    {"--hls-segments 5", "--hls-segments and --segment-size need --app demo"},
    /* --tls and its companions */
    {"--tls", "--tls needs --cert FILE and --key FILE"},
    {"--tls --cert c.pem", "--tls needs --cert FILE and --key FILE"},
    {"--tls --key k.pem", "--tls needs --cert FILE and --key FILE"},
    {"--cert c.pem --key k.pem", "--cert, --key, --tls-min and --tls-max need --tls"},
    {"--tls-min 1.3", "--cert, --key, --tls-min and --tls-max need --tls"},
    {"--tls --cert c --key k --tls-min 1.1", "--tls-min: expected 1.2 or 1.3, got '1.1'"},
    {"--tls --cert c --key k --tls-max=1.4", "--tls-max: expected 1.2 or 1.3, got '1.4'"},
    {"--tls --cert c --key k --tls-min 1.3 --tls-max 1.2",
     "--tls-min is above --tls-max"},
};

/* args split at spaces after argv[0] = "serve", as blaster's main passes it. The
 * strings in o point into the static buffer: valid until the next call. */
static int run(const char *args, struct serve_opts *o, char *err, size_t errlen)
{
    static char buf[512];
    char *argv[MAXARGS + 1];
    int argc = 0;
    argv[argc++] = "serve";
    snprintf(buf, sizeof buf, "%s", args);
    for (char *tok = strtok(buf, " "); tok && argc <= MAXARGS; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return serve_opts_parse(argc, argv, o, err, errlen);
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define CHECK(cond, fmt, ...)                                                              \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_msg("[%s] " fmt, line, __VA_ARGS__);                                      \
    } while (0)

static void test_good(void **state)
{
    struct serve_opts o;
    char err[256], addr[80];
    (void)state;

    for (size_t i = 0; i < N(good); i++) {
        const struct want *w = &good[i].want;
        const char *line = good[i].args;
        strcpy(err, "(none)");
        CHECK(run(line, &o, err, sizeof err) == 0, "rejected: %s", err);
        serve_addr_text(&o.addr, addr, sizeof addr);
        CHECK(o.addrlen == (o.addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                          : sizeof(struct sockaddr_in)),
              "addrlen %u", (unsigned)o.addrlen);
        CHECK(strcmp(addr, w->listen) == 0, "listen %s", addr);
        CHECK(o.threads == w->threads, "threads %d", o.threads);
        CHECK(o.body_size == w->body_size, "body_size %llu", (unsigned long long)o.body_size);
        CHECK(o.delay_ns == w->delay_ns, "delay %lld", (long long)o.delay_ns);
        CHECK(o.stall_ns == w->stall_ns && o.stall_every_ns == w->stall_every_ns,
              "stall %lld@%lld", (long long)o.stall_ns, (long long)o.stall_every_ns);
        CHECK(o.exit_after_ns == w->exit_after_ns, "exit_after %lld", (long long)o.exit_after_ns);
        CHECK(o.error_rate == w->error_rate, "error_rate %g", o.error_rate);
        CHECK(o.reset_rate == w->reset_rate, "reset_rate %g", o.reset_rate);
        CHECK(o.close_rate == w->close_rate, "close_rate %g", o.close_rate);
        CHECK(o.garbage_rate == w->garbage_rate, "garbage_rate %g", o.garbage_rate);
        CHECK(o.verbose == w->verbose, "verbose %d", o.verbose);
        CHECK(o.help == w->help, "help %d", o.help);
        CHECK(o.demo == w->demo, "demo %d", o.demo);
        CHECK(o.hls_segments == w->hls_segments, "hls_segments %llu",
              (unsigned long long)o.hls_segments);
        CHECK(o.segment_size == w->segment_size, "segment_size %llu",
              (unsigned long long)o.segment_size);
        CHECK(o.tls == w->tls, "tls %d", o.tls);
        CHECK(same_str(o.certfile, w->certfile), "cert '%s'", o.certfile ? o.certfile : "(null)");
        CHECK(same_str(o.keyfile, w->keyfile), "key '%s'", o.keyfile ? o.keyfile : "(null)");
        CHECK(o.tls_min == w->tls_min && o.tls_max == w->tls_max, "tls %d..%d", o.tls_min,
              o.tls_max);
    }
}

static void test_bad(void **state)
{
    struct serve_opts o;
    char err[256];
    (void)state;

    for (size_t i = 0; i < N(bad); i++) {
        const char *line = bad[i].args;
        err[0] = '\0';
        CHECK(run(line, &o, err, sizeof err) == -1, "accepted, want '%s'", bad[i].err);
        CHECK(strcmp(err, bad[i].err) == 0, "error '%s', want '%s'", err, bad[i].err);
    }
}

/* A second parse into the same struct starts from the defaults again. */
static void test_reparse_resets(void **state)
{
    struct serve_opts o;
    char err[256];
    (void)state;

    assert_int_equal(run("-t 3 --error-rate 0.5 --app demo -v", &o, err, sizeof err), 0);
    assert_int_equal(o.threads, 3);
    assert_int_equal(run("", &o, err, sizeof err), 0);
    assert_int_equal(o.threads, 0);
    assert_true(o.error_rate == 0);
    assert_false(o.demo);
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.body_size, 13);
}

/* Every flag the parser knows is in the usage line and in the help. */
static void test_usage(void **state)
{
    static const char *const flags[] = {
        "--listen", "--threads", "--body-size", "--delay", "--stall", "--error-rate",
        "--reset-rate", "--close-rate", "--garbage-rate", "--exit-after", "--app",
        "--hls-segments", "--segment-size", "--tls", "--cert", "--key", "--tls-min",
        "--tls-max",
    };
    (void)state;

    assert_int_equal(strncmp(serve_usage, "Usage: blaster serve ", 21), 0);
    for (size_t i = 0; i < N(flags); i++) {
        if (strstr(serve_usage, flags[i]) == NULL)
            fail_msg("usage lacks '%s'", flags[i]);
        if (strstr(serve_help, flags[i]) == NULL)
            fail_msg("help lacks '%s'", flags[i]);
    }
    assert_non_null(strstr(serve_help, "-v, --verbose"));
    assert_non_null(strstr(serve_help, "-h, --help"));
    assert_non_null(strstr(serve_help, "-t, --threads"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_reparse_resets),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
