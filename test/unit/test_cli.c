/* Tables of command lines: good ones with every field of struct cli checked, bad ones with
 * the error they must produce (which names the flag and the value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/load/cli.h"

/* W(...) below starts from the defaults and overrides some fields: that is the point. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEC  1000000000ll
#define MS   1000000ll
#define URL  "http://127.0.0.1:8080/"
#define MAXARGS 24

struct want {
    const char *url;
    int         threads, connections;
    int64_t     duration_ns;
    double      rate;
    bool        poisson, latency;
    const char *method, *body, *body_file;
    int64_t     timeout_ns;
    int         verbose;
    const char *summary_export;
    int         sigfigs;
    bool        help, version;
    int         nheaders;
    const char *hdr[4][2];
};

/* The documented defaults, then the case's own fields. */
#define W(...)                                                                             \
    {.url = URL, .connections = 10, .duration_ns = 10 * SEC, .method = "GET",             \
     .timeout_ns = 2 * SEC, .sigfigs = 3, __VA_ARGS__}

static const struct {
    const char *argv[MAXARGS];
    struct want want;
} good[] = {
    {{URL}, W()},
    /* -c in every spelling */
    {{"-c", "100", URL}, W(.connections = 100)},
    {{"-c100", URL}, W(.connections = 100)},
    {{"--connections", "100", URL}, W(.connections = 100)},
    {{"--connections=100", URL}, W(.connections = 100)},
    {{"-c", "1k", URL}, W(.connections = 1000)},
    {{"-c", "1M", URL}, W(.connections = 1000000)},
    {{"-c", "1", URL}, W(.connections = 1)},
    /* options after the URL, and the last -c wins */
    {{URL, "-c", "5"}, W(.connections = 5)},
    {{"-c", "5", URL, "-c", "7"}, W(.connections = 7)},
    {{"--", URL}, W()},
    /* -t */
    {{"-t", "4", "-c", "8", URL}, W(.threads = 4, .connections = 8)},
    {{"--threads=2", "-c2", URL}, W(.threads = 2, .connections = 2)},
    {{"-t1024", "-c", "1024", URL}, W(.threads = 1024, .connections = 1024)},
    {{"-t", "1", URL}, W(.threads = 1)},
    /* -d */
    {{"-d", "30s", URL}, W(.duration_ns = 30 * SEC)},
    {{"-d", "90", URL}, W(.duration_ns = 90 * SEC)},
    {{"--duration=1m30s", URL}, W(.duration_ns = 90 * SEC)},
    {{"-d500ms", URL}, W(.duration_ns = 500 * MS)},
    /* -R and --poisson */
    {{"-R", "2000", URL}, W(.rate = 2000)},
    {{"-R2k", URL}, W(.rate = 2000)},
    {{"--rate=1.5M", URL}, W(.rate = 1500000)},
    {{"--rate", "0.5", URL}, W(.rate = 0.5)},
    {{"-R", "600/m", URL}, W(.rate = 10)},
    {{"-R", "1G", URL}, W(.rate = 1e9)},
    {{"-R", "100", "--poisson", URL}, W(.rate = 100, .poisson = true)},
    {{"--poisson", "-R", "100", URL}, W(.rate = 100, .poisson = true)},
    /* --latency, wrk's -L */
    {{"--latency", URL}, W(.latency = true)},
    {{"-L", URL}, W(.latency = true)},
    /* -H */
    {{"-H", "Authorization: Bearer abc", URL},
     W(.nheaders = 1, .hdr = {{"Authorization", "Bearer abc"}})},
    {{"-H", "X-A:b", "--header", "X-B: c", "--header=X-C:  \t d", URL},
     W(.nheaders = 3, .hdr = {{"X-A", "b"}, {"X-B", "c"}, {"X-C", "d"}})},
    {{"-HX-Empty:", URL}, W(.nheaders = 1, .hdr = {{"X-Empty", ""}})},
    {{"-H", "Host: example.com:8443", URL},
     W(.nheaders = 1, .hdr = {{"Host", "example.com:8443"}})},
    {{"-H", "X-Trail: v ", URL}, W(.nheaders = 1, .hdr = {{"X-Trail", "v "}})},
    /* -m and -b */
    {{"-m", "PUT", URL}, W(.method = "PUT")},
    {{"--method=DELETE", URL}, W(.method = "DELETE")},
    {{"-b", "hello", URL}, W(.method = "POST", .body = "hello")},
    {{"-b", "", URL}, W(.method = "POST", .body = "")},
    {{"--body=@payload.json", URL}, W(.method = "POST", .body_file = "payload.json")},
    {{"-m", "PUT", "-b", "x", URL}, W(.method = "PUT", .body = "x")},
    {{"-b", "x", "-m", "PATCH", URL}, W(.method = "PATCH", .body = "x")},
    {{"-b", "x", "-b", "@f", URL}, W(.method = "POST", .body_file = "f")},
    {{"-b", "@f", "-b", "x", URL}, W(.method = "POST", .body = "x")},
    /* --timeout, wrk's -T */
    {{"--timeout", "5s", URL}, W(.timeout_ns = 5 * SEC)},
    {{"-T", "500ms", URL}, W(.timeout_ns = 500 * MS)},
    {{"--timeout=1", URL}, W(.timeout_ns = 1 * SEC)},
    /* -v */
    {{"-v", URL}, W(.verbose = 1)},
    {{"-v", "-v", URL}, W(.verbose = 2)},
    {{"-vvv", "--verbose", URL}, W(.verbose = 4)},
    /* bundles: flags, then one option that takes the rest or the next argument */
    {{"-Lvc20", URL}, W(.latency = true, .verbose = 1, .connections = 20)},
    {{"-vLd", "3s", URL}, W(.latency = true, .verbose = 1, .duration_ns = 3 * SEC)},
    /* --summary-export, --sigfigs */
    {{"--summary-export", "out.json", URL}, W(.summary_export = "out.json")},
    {{"--summary-export=o.json", URL}, W(.summary_export = "o.json")},
    {{"--sigfigs", "5", URL}, W(.sigfigs = 5)},
    {{"--sigfigs=1", URL}, W(.sigfigs = 1)},
    /* other URLs */
    {{"https://[::1]:8443/a?b=c"}, W(.url = "https://[::1]:8443/a?b=c")},
    /* everything at once, wrk2 style */
    {{"-t2", "-c100", "-d30s", "-R2000", "--latency", "-H", "Accept: */*", URL},
     W(.threads = 2, .connections = 100, .duration_ns = 30 * SEC, .rate = 2000,
       .latency = true, .nheaders = 1, .hdr = {{"Accept", "*/*"}})},
    /* -h and -V stop at once: no URL needed, later garbage ignored */
    {{"-h"}, W(.url = NULL, .help = true)},
    {{"--help", "--foo"}, W(.url = NULL, .help = true)},
    {{"-c", "5", "-h"}, W(.url = NULL, .connections = 5, .help = true)},
    {{"-V"}, W(.url = NULL, .version = true)},
    {{"--version", URL}, W(.url = NULL, .version = true)},
    {{"-vh"}, W(.url = NULL, .verbose = 1, .help = true)},
};

static int count_args(const char *const *args)
{
    int n = 0;
    while (n < MAXARGS && args[n] != NULL)
        n++;
    return n;
}

/* Runs cli_parse on {"blaster", args...}. */
static int run(const char *const *args, struct cli *c, char *err, size_t errlen)
{
    char *argv[MAXARGS + 2];
    int n = count_args(args);

    argv[0] = "blaster";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    return cli_parse(n + 1, argv, c, err, errlen);
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void describe(const char *const *args, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < count_args(args) && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s'%s'", i ? " " : "", args[i]);
}

#define CHECK(cond, fmt, ...)                                                              \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_msg("[%s] " fmt, line, __VA_ARGS__);                                      \
    } while (0)

static void test_good(void **state)
{
    static struct cli c;   /* 5 KiB: keep it off cmocka's stack */
    char err[256], line[512];
    (void)state;

    for (size_t i = 0; i < N(good); i++) {
        const struct want *w = &good[i].want;
        describe(good[i].argv, line, sizeof line);
        strcpy(err, "(none)");
        CHECK(run(good[i].argv, &c, err, sizeof err) == 0, "rejected: %s", err);
        CHECK(same_str(c.url, w->url), "url '%s'", c.url ? c.url : "(null)");
        CHECK(c.help == w->help && c.version == w->version, "help %d version %d", c.help,
              c.version);
        CHECK(c.threads == w->threads, "threads %d", c.threads);
        CHECK(c.connections == w->connections, "connections %d", c.connections);
        CHECK(c.duration_ns == w->duration_ns, "duration %lld", (long long)c.duration_ns);
        CHECK(c.rate == w->rate, "rate %g", c.rate);
        CHECK(c.poisson == w->poisson, "poisson %d", c.poisson);
        CHECK(c.latency == w->latency, "latency %d", c.latency);
        CHECK(c.timeout_ns == w->timeout_ns, "timeout %lld", (long long)c.timeout_ns);
        CHECK(c.verbose == w->verbose, "verbose %d", c.verbose);
        CHECK(same_str(c.summary_export, w->summary_export), "summary_export '%s'",
              c.summary_export ? c.summary_export : "(null)");
        CHECK(c.sigfigs == w->sigfigs, "sigfigs %d", c.sigfigs);
        CHECK(c.nheaders == w->nheaders, "nheaders %d", c.nheaders);
        for (int h = 0; h < w->nheaders; h++)
            CHECK(same_str(c.headers[h].name, w->hdr[h][0]) &&
                      same_str(c.headers[h].value, w->hdr[h][1]),
                  "header %d is '%s' = '%s'", h, c.headers[h].name, c.headers[h].value);
        if (c.help || c.version)
            continue;   /* the rest is documented as not to be relied on */
        CHECK(same_str(c.method, w->method), "method '%s'", c.method ? c.method : "(null)");
        CHECK(same_str(c.body, w->body), "body '%s'", c.body ? c.body : "(null)");
        CHECK(same_str(c.body_file, w->body_file), "body_file '%s'",
              c.body_file ? c.body_file : "(null)");
    }
}

static const struct {
    const char *argv[MAXARGS];
    const char *err;   /* substring of the message */
} bad[] = {
    {{NULL}, "missing URL"},
    {{"-c", "5"}, "missing URL"},
    {{"-c", "abc", URL}, "-c: expected a positive count, got 'abc'"},
    {{"--connections=abc", URL}, "--connections: expected a positive count, got 'abc'"},
    {{"--connections", "abc", URL}, "--connections: expected a positive count, got 'abc'"},
    {{"-c", "0", URL}, "-c: expected a positive count, got '0'"},
    {{"-c", "-5", URL}, "-c: expected a positive count, got '-5'"},
    {{"-c", "1.5", URL}, "-c: expected a positive count, got '1.5'"},
    {{"-c", "", URL}, "-c: expected a positive count, got ''"},
    {{"-c", "1000001", URL}, "-c: at most 1000000, got '1000001'"},
    {{"-c2M", URL}, "-c: at most 1000000, got '2M'"},
    {{"-c", "99999999999999999999", URL}, "-c: expected a positive count"},
    {{"-t", "0", URL}, "-t: expected a thread count from 1 to 1024, got '0'"},
    {{"--threads=x", URL}, "--threads: expected a thread count from 1 to 1024, got 'x'"},
    {{"-t", "1025", "-c", "2000", URL}, "-t: at most 1024, got '1025'"},
    {{"-t", "4", "-c", "2", URL}, "-c: 2 connections cannot be shared by 4 threads"},
    {{"-t", "20", URL}, "-c: 10 connections cannot be shared by 20 threads"},
    {{"-d", "0", URL}, "-d: must be greater than 0, got '0'"},
    {{"-d", "0s", URL}, "-d: must be greater than 0, got '0s'"},
    {{"-d", "10x", URL}, "-d: expected a duration like 10s, 1m30s or 500ms, got '10x'"},
    {{"--duration", "-1s", URL}, "--duration: expected a duration like 10s"},
    {{"-R", "0", URL}, "-R: expected a rate in requests/s greater than 0"},
    {{"-R", "abc", URL}, "got 'abc'"},
    {{"--rate=inf", URL}, "--rate: expected a rate"},
    {{"-R", "-5", URL}, "-R: expected a rate"},
    {{"-R", "nan", URL}, "-R: expected a rate"},
    {{"-R", "1000000000000000", URL}, "-R: at most 1G requests/s (one a nanosecond"},
    {{"--rate=1.5G", URL}, "--rate: at most 1G requests/s"},
    {{"--poisson", URL}, "--poisson needs a rate: add -R RATE"},
    {{"-H", "NoColon", URL}, "-H: expected 'Name: value', got 'NoColon'"},
    {{"--header=NoColon", URL}, "--header: expected 'Name: value', got 'NoColon'"},
    {{"-H", ": v", URL}, "-H: invalid header name '' in ': v'"},
    {{"-H", "Bad Name: v", URL}, "-H: invalid header name 'Bad Name'"},
    {{"-H", "X-A : v", URL}, "-H: invalid header name 'X-A '"},
    {{"-H", "X: a\r\nInjected: 1", URL}, "-H: header 'X' has a line break"},
    {{"-H", "X: a\nb", URL}, "-H: header 'X' has a line break"},
    {{"-m", "", URL}, "-m: expected a method like GET or POST, got ''"},
    {{"--method", "GE T", URL}, "--method: expected a method like GET or POST, got 'GE T'"},
    {{"-b", "@", URL}, "-b: expected a file name after '@'"},
    {{"--timeout", "0", URL}, "--timeout: must be greater than 0, got '0'"},
    {{"-T", "0ms", URL}, "-T: must be greater than 0, got '0ms'"},
    {{"--timeout=abc", URL}, "--timeout: expected a duration"},
    {{"--sigfigs", "0", URL}, "--sigfigs: expected a number of significant digits from 1 to 5"},
    {{"--sigfigs", "6", URL}, "--sigfigs: at most 5, got '6'"},
    {{"--sigfigs=three", URL}, "--sigfigs: expected a number of significant digits"},
    {{"--summary-export=", URL}, "--summary-export: expected a file name"},
    {{"--foo", URL}, "unknown option '--foo'"},
    {{"--foo=bar", URL}, "unknown option '--foo'"},
    {{"--conn", "5", URL}, "unknown option '--conn'"},
    {{"--CONNECTIONS", "5", URL}, "unknown option '--CONNECTIONS'"},
    {{"-x", URL}, "unknown option '-x'"},
    {{"-Lx", URL}, "unknown option '-x'"},
    {{"-s", "script.lua", URL}, "unknown option '-s': Lua scripts are not supported"},
    {{"--script=x.lua", URL}, "unknown option '--script': Lua scripts"},
    {{"--latency=yes", URL}, "--latency takes no value, got '--latency=yes'"},
    {{URL, "-c"}, "-c: missing value"},
    {{URL, "--connections"}, "--connections: missing value"},
    {{URL, "-H"}, "-H: missing value"},
    {{URL, "http://other/"}, "unexpected argument 'http://other/': the URL is already"},
    {{URL, "-"}, "unexpected argument '-'"},
    {{"--", URL, "-c"}, "unexpected argument '-c'"},
    {{"-c", "abc", "-h"}, "-c: expected a positive count, got 'abc'"},
    {{"ftp://x/"}, "URL 'ftp://x/': unsupported scheme 'ftp'"},
    {{"http://h:99999/"}, "URL 'http://h:99999/': port '99999' out of range"},
    {{"127.0.0.1:8080"}, "missing scheme"},
    {{"serve"}, "URL 'serve': missing scheme"},
};

static void test_bad(void **state)
{
    static struct cli c;
    char err[256], line[512];
    (void)state;

    for (size_t i = 0; i < N(bad); i++) {
        describe(bad[i].argv, line, sizeof line);
        err[0] = '\0';
        CHECK(run(bad[i].argv, &c, err, sizeof err) == -1, "accepted, want '%s'", bad[i].err);
        CHECK(strstr(err, bad[i].err) != NULL, "error '%s' lacks '%s'", err, bad[i].err);
    }
}

/* 64 headers fit, the 65th is refused; names share a 4 KiB store. */
static void test_header_limits(void **state)
{
    static struct cli c;
    static char hdrs[80][128];
    static const char *args[2 * 80 + 2];
    char err[256];
    int n;
    (void)state;

    for (int i = 0; i < 80; i++)
        snprintf(hdrs[i], sizeof hdrs[i], "X-H%d: v%d", i, i);
    for (n = 0; n < 64; n++) {
        args[2 * n] = "-H";
        args[2 * n + 1] = hdrs[n];
    }
    args[2 * n] = URL;
    args[2 * n + 1] = NULL;
    {
        char *argv[2 * 80 + 4];
        argv[0] = "blaster";
        for (int i = 0; i <= 2 * n; i++)
            argv[i + 1] = (char *)args[i];
        assert_int_equal(cli_parse(2 * n + 2, argv, &c, err, sizeof err), 0);
        assert_int_equal(c.nheaders, 64);
        assert_string_equal(c.headers[63].name, "X-H63");
        assert_string_equal(c.headers[63].value, "v63");
        assert_string_equal(c.headers[0].name, "X-H0");

        argv[2 * n + 1] = "-H";
        argv[2 * n + 2] = hdrs[64];
        argv[2 * n + 3] = URL;
        assert_int_equal(cli_parse(2 * n + 4, argv, &c, err, sizeof err), -1);
        assert_non_null(strstr(err, "-H: too many headers (max 64)"));
    }

    /* 40 names of 120 bytes: 4840 bytes, past the 4096-byte name store. */
    {
        char *argv[2 * 40 + 3];
        int argc = 1, i;
        argv[0] = "blaster";
        for (i = 0; i < 40; i++) {
            memset(hdrs[i], 'N', 120);
            snprintf(hdrs[i] + 120, 8, ":v");
            argv[argc++] = "-H";
            argv[argc++] = hdrs[i];
        }
        argv[argc++] = URL;
        assert_int_equal(cli_parse(argc, argv, &c, err, sizeof err), -1);
        assert_non_null(strstr(err, "-H: header names too long"));
    }
}

/* A second parse into the same struct starts from the defaults again. */
static void test_reparse_resets(void **state)
{
    static struct cli c;
    char err[256];
    const char *a1[MAXARGS] = {"-c", "50", "-H", "A: b", "-b", "x", "-L", URL};
    const char *a2[MAXARGS] = {URL};
    (void)state;

    assert_int_equal(run(a1, &c, err, sizeof err), 0);
    assert_int_equal(c.nheaders, 1);
    assert_int_equal(run(a2, &c, err, sizeof err), 0);
    assert_int_equal(c.connections, 10);
    assert_int_equal(c.nheaders, 0);
    assert_null(c.body);
    assert_false(c.latency);
    assert_string_equal(c.method, "GET");
    /* err may be NULL */
    const char *a3[MAXARGS] = {"--foo"};
    assert_int_equal(run(a3, &c, NULL, 0), -1);
}

static void test_usage(void **state)
{
    static const char *const must[] = {
        "--threads", "--connections", "--duration", "--rate", "--header", "--method",
        "--body", "--timeout", "--latency", "--poisson", "--verbose", "--summary-export",
        "--sigfigs", "--help", "--version", "-t,", "-c,", "-d,", "-R,", "-H,", "-m,", "-b,",
        "-T,", "-L,", "-v,", "-h,", "-V,", "default 10;", "default 10s", "default 2s",
        "default 3", "default GET", "\n       blaster serve [options]",
        "\n       blaster run FILE", "blaster run --help", "http://127.0.0.1:8080/",
    };
    (void)state;

    assert_int_equal(strncmp(cli_usage, "Usage: blaster [options] URL\n", 29), 0);
    assert_int_equal(cli_usage[strlen(cli_usage) - 1], '\n');
    for (size_t i = 0; i < N(must); i++)
        if (strstr(cli_usage, must[i]) == NULL)
            fail_msg("usage text lacks '%s'", must[i]);
    /* The example line parses. */
    {
        static struct cli c;
        const char *ex = strstr(cli_usage, "Example: blaster ");
        char line[256], *argv[MAXARGS], err[256];
        int argc = 0;
        assert_non_null(ex);
        snprintf(line, sizeof line, "%.*s", (int)strcspn(ex + 9, "\n"), ex + 9);
        for (char *t = strtok(line, " "); t != NULL && argc < MAXARGS; t = strtok(NULL, " "))
            argv[argc++] = t;
        if (cli_parse(argc, argv, &c, err, sizeof err) != 0)
            fail_msg("example does not parse: %s", err);
    }
}

/* `blaster run`: its flags, and errors that name the flag. */
static void test_run(void **state)
{
    (void)state;
    struct cli_run r;
    char err[256];
    char *ok[] = { "run", "mixed.yaml", "-e", "UPLOAD_VUS=10", "--env=DURATION=30s", "-eX_1=a=b",
                   "--summary-export", "s.json", "-t", "2", "--sigfigs=4", "-v" };
    assert_int_equal(cli_run_parse(12, ok, &r, err, sizeof err), 0);
    assert_string_equal(r.file, "mixed.yaml");
    assert_int_equal(r.nenv, 3);
    assert_string_equal(r.env[0], "UPLOAD_VUS=10");
    assert_string_equal(r.env[1], "DURATION=30s");
    assert_string_equal(r.env[2], "X_1=a=b");
    assert_string_equal(r.summary_export, "s.json");
    assert_int_equal(r.threads, 2);
    assert_int_equal(r.sigfigs, 4);
    assert_int_equal(r.verbose, 1);

    static const struct { int argc; char *argv[4]; const char *want; } bad_run[] = {
        { 1, { "run" }, "missing the scenario FILE" },
        { 3, { "run", "a.yaml", "b.yaml" }, "one scenario file at a time" },
        { 3, { "run", "a.yaml", "-e" }, "-e: expected K=V" },
        { 4, { "run", "a.yaml", "-e", "=v" }, "-e: expected K=V with K a name" },
        { 4, { "run", "a.yaml", "--env", "1X=v" }, "--env: expected K=V with K a name" },
        { 4, { "run", "a.yaml", "-t", "0" }, "-t: expected a thread count" },
        { 4, { "run", "a.yaml", "--sigfigs", "9" }, "--sigfigs: expected 1 to 5" },
        { 3, { "run", "a.yaml", "--bogus" }, "unknown option '--bogus'" },
        { 3, { "run", "a.yaml", "--summary-export" }, "--summary-export: expected a file name" },
    };
    for (size_t i = 0; i < sizeof bad_run / sizeof bad_run[0]; i++) {
        err[0] = 0;
        assert_int_equal(cli_run_parse(bad_run[i].argc, (char **)bad_run[i].argv, &r, err, sizeof err), -1);
        if (!strstr(err, bad_run[i].want))
            fail_msg("case %zu: want '%s' in '%s'", i, bad_run[i].want, err);
    }
    char *help[] = { "run", "--help" };
    assert_int_equal(cli_run_parse(2, help, &r, err, sizeof err), 0);
    assert_true(r.help);
}

/* The TLS flags, the same in quick mode and in `run`. */
static void test_tls_flags(void **state)
{
    (void)state;
    static struct cli c;
    char err[256];
    char *q[] = { "blaster", "-k", "--cacert", "ca.pem", "--cert=c.pem", "--key", "c.key", "--tls-min", "1.2",
                  "--tls-max=TLSv1.3", "--no-resume", "--server-name", "api.example", "https://127.0.0.1:8443/" };
    assert_int_equal(cli_parse(14, q, &c, err, sizeof err), 0);
    assert_true(c.tls.insecure);
    assert_true(c.tls.no_resume);
    assert_string_equal(c.tls.cacert, "ca.pem");
    assert_string_equal(c.tls.cert, "c.pem");
    assert_string_equal(c.tls.key, "c.key");
    assert_string_equal(c.tls.server_name, "api.example");
    assert_int_equal(c.tls.min_version, 12);
    assert_int_equal(c.tls.max_version, 13);
    assert_string_equal(c.url, "https://127.0.0.1:8443/");
    char *none[] = { "blaster", "https://h/" };
    assert_int_equal(cli_parse(2, none, &c, err, sizeof err), 0);
    assert_false(c.tls.insecure);
    assert_false(c.tls.no_resume);
    assert_null(c.tls.cacert);
    assert_int_equal(c.tls.min_version, 0);

    struct cli_run r;
    char *run[] = { "run", "f.yaml", "--insecure", "--cacert=ca.pem", "--tls-max", "1.2", "-k", "--no-resume" };
    assert_int_equal(cli_run_parse(8, run, &r, err, sizeof err), 0);
    assert_string_equal(r.file, "f.yaml");
    assert_true(r.tls.insecure);
    assert_true(r.tls.no_resume);
    assert_string_equal(r.tls.cacert, "ca.pem");
    assert_int_equal(r.tls.max_version, 12);

    static const struct { int argc; char *argv[6]; const char *want; } bad_tls[] = {
        { 4, { "blaster", "--tls-min", "1.1", "https://h/" }, "--tls-min: expected 1.2 or 1.3, got '1.1'" },
        { 4, { "blaster", "--cert", "c.pem", "https://h/" }, "--cert needs --key too" },
        { 4, { "blaster", "--key", "c.key", "https://h/" }, "--key needs --cert too" },
        { 6, { "blaster", "--tls-min", "1.3", "--tls-max", "1.2", "https://h/" },
          "--tls-min 1.3 is above --tls-max 1.2" },
        { 2, { "blaster", "--cacert" }, "--cacert: missing value" },
    };
    for (size_t i = 0; i < sizeof bad_tls / sizeof bad_tls[0]; i++) {
        err[0] = 0;
        assert_int_equal(cli_parse(bad_tls[i].argc, (char **)bad_tls[i].argv, &c, err, sizeof err), -1);
        if (!strstr(err, bad_tls[i].want))
            fail_msg("case %zu: want '%s' in '%s'", i, bad_tls[i].want, err);
    }
    static const struct { int argc; char *argv[4]; const char *want; } bad_run[] = {
        { 3, { "run", "f.yaml", "--cacert" }, "--cacert: expected a file name" },
        { 4, { "run", "f.yaml", "--tls-max", "3" }, "--tls-max: expected 1.2 or 1.3, got '3'" },
        { 3, { "run", "f.yaml", "--insecure=yes" }, "--insecure takes no value" },
        { 4, { "run", "f.yaml", "--key", "k.pem" }, "--key needs --cert too" },
    };
    for (size_t i = 0; i < sizeof bad_run / sizeof bad_run[0]; i++) {
        err[0] = 0;
        assert_int_equal(cli_run_parse(bad_run[i].argc, (char **)bad_run[i].argv, &r, err, sizeof err), -1);
        if (!strstr(err, bad_run[i].want))
            fail_msg("run case %zu: want '%s' in '%s'", i, bad_run[i].want, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_reparse_resets),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_tls_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
