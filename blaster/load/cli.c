/* cli: quick mode's option parser.
 *
 * Hand-written rather than getopt_long: getopt keeps global state (a second parse in the
 * same process needs optind reset), prints its own messages, and cannot tell us how the
 * user spelled a long option, which our error messages repeat back.
 */
#include <ctype.h>
#include "blaster/load/cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blaster/common/units.h"
#include "blaster/load/scenario.h"
#include "blaster/load/url.h"

const char cli_usage[] =
    "Usage: blaster [options] URL\n"
    "Load one URL, closed model (-c connections back to back) or open model (-R).\n"
    "\n"
    "  -c, --connections N      connections to keep open (default 10; 1k = 1000)\n"
    "  -t, --threads N          worker threads (default: one per usable CPU, at most -c;\n"
    "                           more when one ring per CPU cannot hold -c: ulimit -n)\n"
    "  -d, --duration DUR       test length: 30s, 1m30s, 2h; bare number = seconds\n"
    "                           (default 10s)\n"
    "  -R, --rate RATE          open model: RATE requests/s in all, latency measured from\n"
    "                           each request's intended start like wrk2; 2k = 2000\n"
    "                           (default: none, closed model; at most 1G: one a ns)\n"
    "      --poisson            exponential gaps between requests, needs -R (default off)\n"
    "  -H, --header 'K: V'      add a request header, repeatable (default: none)\n"
    "  -m, --method METHOD      request method (default GET, or POST with -b)\n"
    "  -b, --body TEXT|@FILE    request body, given or read from FILE (default: none)\n"
    "  -T, --timeout DUR        per-request timeout (default 2s)\n"
    "  -L, --latency            print the detailed latency distribution (default off)\n"
    "      --sigfigs N          latency histogram significant digits, 1-5 (default 3)\n"
    "      --summary-export FILE  write the end-of-test summary as k6-style JSON\n"
    "                           (default: none)\n"
    CLI_TLS_USAGE
    "  -v, --verbose            more output, repeatable (default off)\n"
    "  -h, --help               print this help\n"
    "  -V, --version            print the version\n"
    "\n"
    "       blaster serve [options]   run the built-in test target\n"
    "       blaster run FILE [-e K=V]...  run a scenario file (see 'blaster run --help')\n"
    "\n"
    "Exit codes: 0 done, 1 usage error, 2 runtime error, 105 stopped by Ctrl-C or SIGTERM\n"
    "(k6's; the summary is still printed and exported).\n"
    "\n"
    "Example: blaster -c 100 -d 30s -R 2000 --latency http://127.0.0.1:8080/\n";

enum opt_id {
    OPT_THREADS, OPT_CONNECTIONS, OPT_DURATION, OPT_RATE, OPT_POISSON, OPT_LATENCY,
    OPT_HEADER, OPT_METHOD, OPT_BODY, OPT_TIMEOUT, OPT_VERBOSE, OPT_SUMMARY_EXPORT,
    OPT_SIGFIGS, OPT_HELP, OPT_VERSION, OPT_TLS,
};

struct opt {
    char        short_name;   /* 0 when there is none */
    const char *long_name;
    bool        has_arg;
    enum opt_id id;
};

static const struct opt opts[] = {
    {'t', "threads", true, OPT_THREADS},
    {'c', "connections", true, OPT_CONNECTIONS},
    {'d', "duration", true, OPT_DURATION},
    {'R', "rate", true, OPT_RATE},
    {0, "poisson", false, OPT_POISSON},
    {'L', "latency", false, OPT_LATENCY},
    {'H', "header", true, OPT_HEADER},
    {'m', "method", true, OPT_METHOD},
    {'b', "body", true, OPT_BODY},
    {'T', "timeout", true, OPT_TIMEOUT},
    {'v', "verbose", false, OPT_VERBOSE},
    {0, "summary-export", true, OPT_SUMMARY_EXPORT},
    {0, "sigfigs", true, OPT_SIGFIGS},
    {'h', "help", false, OPT_HELP},
    {'V', "version", false, OPT_VERSION},
    {'k', "insecure", false, OPT_TLS},
    {0, "no-resume", false, OPT_TLS},
    {0, "cacert", true, OPT_TLS},
    {0, "cert", true, OPT_TLS},
    {0, "key", true, OPT_TLS},
    {0, "tls-min", true, OPT_TLS},
    {0, "tls-max", true, OPT_TLS},
    {0, "server-name", true, OPT_TLS},
};
#define NOPTS (sizeof opts / sizeof opts[0])

/* Parser state beyond struct cli. */
struct parse {
    struct cli *c;
    char       *err;
    size_t      errlen;
    size_t      names_used;   /* bytes of c->hdr_names in use */
    bool        method_set;
};

static int fail(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->err != NULL && ps->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* RFC 9110 tchar: what a method or a header name may be made of. */
static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool is_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_tchar(s[i]))
            return false;
    return true;
}

/* "Name: value" or "Name:value" → a header whose name is copied into c->hdr_names. */
static int add_header(struct parse *ps, const char *flag, const char *arg)
{
    struct cli *c = ps->c;
    const char *colon = strchr(arg, ':');
    const char *value;
    size_t namelen;

    if (colon == NULL)
        return fail(ps, "%s: expected 'Name: value', got '%s'", flag, arg);
    namelen = (size_t)(colon - arg);
    if (!is_token(arg, namelen))
        return fail(ps, "%s: invalid header name '%.*s' in '%s'", flag, (int)namelen, arg, arg);
    value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    /* A CR or LF would end the header early and inject whatever follows. */
    if (strpbrk(value, "\r\n") != NULL)
        return fail(ps, "%s: header '%.*s' has a line break in its value", flag, (int)namelen,
                    arg);
    if (c->nheaders >= CLI_MAX_HEADERS)
        return fail(ps, "%s: too many headers (max %d)", flag, CLI_MAX_HEADERS);
    if (namelen + 1 > sizeof c->hdr_names - ps->names_used)
        return fail(ps, "%s: header names too long (%d bytes in all at most)", flag,
                    CLI_HDR_NAMES_SIZE);
    memcpy(c->hdr_names + ps->names_used, arg, namelen);
    c->hdr_names[ps->names_used + namelen] = '\0';
    c->headers[c->nheaders].name = c->hdr_names + ps->names_used;
    c->headers[c->nheaders].value = value;
    c->nheaders++;
    ps->names_used += namelen + 1;
    return 0;
}

/* A whole count in [min, max] (k/M suffixes allowed). */
static int get_count(struct parse *ps, const char *flag, const char *arg, const char *what,
                     uint64_t min, uint64_t max, int *out)
{
    uint64_t v;

    if (units_parse_count(arg, &v) < 0 || v < min)
        return fail(ps, "%s: expected %s, got '%s'", flag, what, arg);
    if (v > max)
        return fail(ps, "%s: at most %llu, got '%s'", flag, (unsigned long long)max, arg);
    *out = (int)v;
    return 0;
}

/* A duration > 0. */
static int get_duration(struct parse *ps, const char *flag, const char *arg, int64_t *out)
{
    int64_t v;

    if (units_parse_duration(arg, &v) < 0)
        return fail(ps, "%s: expected a duration like 10s, 1m30s or 500ms, got '%s'", flag,
                    arg);
    if (v == 0)
        return fail(ps, "%s: must be greater than 0, got '%s'", flag, arg);
    *out = v;
    return 0;
}

/* Apply one option. arg is NULL for options without a value. */
static int apply(struct parse *ps, const struct opt *o, const char *flag, const char *arg)
{
    struct cli *c = ps->c;

    switch (o->id) {
    case OPT_THREADS:
        return get_count(ps, flag, arg, "a thread count from 1 to 1024", 1, CLI_MAX_THREADS,
                         &c->threads);
    case OPT_CONNECTIONS:
        return get_count(ps, flag, arg, "a positive count", 1, CLI_MAX_CONNECTIONS,
                         &c->connections);
    case OPT_DURATION:
        return get_duration(ps, flag, arg, &c->duration_ns);
    case OPT_TIMEOUT:
        return get_duration(ps, flag, arg, &c->timeout_ns);
    case OPT_RATE: {
        double r;
        if (units_parse_rate(arg, &r) < 0 || !(r > 0) || !isfinite(r))
            return fail(ps, "%s: expected a rate in requests/s greater than 0 (1000, 2k, "
                            "0.5), got '%s'", flag, arg);
        if (r > SCENARIO_MAX_RATE)
            return fail(ps, "%s: at most 1G requests/s (one a nanosecond, what a schedule can tell "
                            "apart), got '%s'", flag, arg);
        c->rate = r;
        return 0;
    }
    case OPT_POISSON:
        c->poisson = true;
        return 0;
    case OPT_LATENCY:
        c->latency = true;
        return 0;
    case OPT_HEADER:
        return add_header(ps, flag, arg);
    case OPT_METHOD:
        if (!is_token(arg, strlen(arg)))
            return fail(ps, "%s: expected a method like GET or POST, got '%s'", flag, arg);
        c->method = arg;
        ps->method_set = true;
        return 0;
    case OPT_BODY:
        if (arg[0] == '@') {
            if (arg[1] == '\0')
                return fail(ps, "%s: expected a file name after '@'", flag);
            c->body_file = arg + 1;
            c->body = NULL;
        } else {
            c->body = arg;
            c->body_file = NULL;
        }
        return 0;
    case OPT_VERBOSE:
        c->verbose++;
        return 0;
    case OPT_SUMMARY_EXPORT:
        if (arg[0] == '\0')
            return fail(ps, "%s: expected a file name", flag);
        c->summary_export = arg;
        return 0;
    case OPT_SIGFIGS:
        return get_count(ps, flag, arg, "a number of significant digits from 1 to 5", 1, 5,
                         &c->sigfigs);
    case OPT_HELP:
        c->help = true;
        return 0;
    case OPT_VERSION:
        c->version = true;
        return 0;
    case OPT_TLS: {
        bool used;
        if (cli_tls_option(&c->tls, o->long_name, arg, &used, ps->err, ps->errlen) < 0)
            return -1;
        return 0;
    }
    }
    return fail(ps, "%s: internal error, unhandled option", flag);
}

static const struct opt *find_short(char ch)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].short_name == ch)
            return &opts[i];
    return NULL;
}

static const struct opt *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].long_name) == len && strncmp(opts[i].long_name, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* "unknown option", with a pointer for the wrk flag people will try first. */
static int fail_unknown(struct parse *ps, const char *spelled, int len)
{
    if ((len == 2 && strncmp(spelled, "-s", 2) == 0) ||
        (len == 8 && strncmp(spelled, "--script", 8) == 0))
        return fail(ps, "unknown option '%.*s': Lua scripts are not supported, scenario "
                        "files are ('blaster run FILE')", len, spelled);
    return fail(ps, "unknown option '%.*s' (try 'blaster --help')", len, spelled);
}

static int tls_version(const char *flag, const char *arg, int *out, char *err, size_t errlen)
{
    const char *v = arg;
    if (strncasecmp(v, "tlsv", 4) == 0)
        v += 4;
    else if (strncasecmp(v, "tls", 3) == 0)
        v += 3;
    if (strcmp(v, "1.2") == 0 || strcmp(v, "1.3") == 0) {
        *out = v[2] == '2' ? 12 : 13;
        return 0;
    }
    snprintf(err, errlen, "--%s: expected 1.2 or 1.3, got '%s'", flag, arg);
    return -1;
}

int cli_tls_option(struct cli_tls *t, const char *name, const char *arg, bool *used_arg, char *err,
                   size_t errlen)
{
    *used_arg = false;
    if (strcmp(name, "k") == 0 || strcmp(name, "insecure") == 0) {
        t->insecure = true;
        return 1;
    }
    if (strcmp(name, "no-resume") == 0) {
        t->no_resume = true;
        return 1;
    }
    const char **file = strcmp(name, "cacert") == 0 ? &t->cacert : strcmp(name, "cert") == 0 ? &t->cert
                      : strcmp(name, "key") == 0 ? &t->key : strcmp(name, "server-name") == 0 ? &t->server_name
                      : NULL;
    bool version = strcmp(name, "tls-min") == 0 || strcmp(name, "tls-max") == 0;
    if (!file && !version)
        return 0;
    *used_arg = true;
    if (!arg || !*arg) {
        snprintf(err, errlen, "--%s: expected %s", name, version ? "1.2 or 1.3" : file == &t->server_name
                 ? "a host name" : "a file name");
        return -1;
    }
    if (version)
        return tls_version(name, arg, name[5] == 'i' ? &t->min_version : &t->max_version, err, errlen) < 0 ? -1 : 1;
    *file = arg;
    return 1;
}

/* After every flag: the TLS flags that only make sense together. */
static int tls_check(const struct cli_tls *t, char *err, size_t errlen)
{
    if (!t->cert != !t->key) {
        snprintf(err, errlen, "%s needs %s too: a client certificate is a certificate and its key",
                 t->cert ? "--cert" : "--key", t->cert ? "--key" : "--cert");
        return -1;
    }
    if (t->min_version && t->max_version && t->min_version > t->max_version) {
        snprintf(err, errlen, "--tls-min 1.%d is above --tls-max 1.%d", t->min_version % 10, t->max_version % 10);
        return -1;
    }
    return 0;
}

/* Set the defaults documented in cli.h. */
static void set_defaults(struct cli *c)
{
    memset(c, 0, sizeof *c);
    c->connections = 10;
    c->duration_ns = 10ll * 1000000000ll;
    c->timeout_ns = 2ll * 1000000000ll;
    c->method = "GET";
    c->sigfigs = 3;
}

int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen)
{
    struct parse ps = {.c = c, .err = err, .errlen = errlen};
    bool only_positional = false;

    set_defaults(c);
    if (err != NULL && errlen > 0)
        err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (c->url != NULL)
                return fail(&ps, "unexpected argument '%s': the URL is already '%s'", a,
                            c->url);
            c->url = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }

        if (a[1] == '-') {
            /* --name, --name=value, --name value */
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            const struct opt *o = find_long(name, len);
            const char *arg = NULL;
            char flag[32];

            if (o == NULL)
                return fail_unknown(&ps, a, (int)(len + 2));
            snprintf(flag, sizeof flag, "--%s", o->long_name);
            if (o->has_arg) {
                if (eq != NULL)
                    arg = eq + 1;
                else if (i + 1 < argc)
                    arg = argv[++i];
                else
                    return fail(&ps, "%s: missing value", flag);
            } else if (eq != NULL) {
                return fail(&ps, "%s takes no value, got '%s'", flag, a);
            }
            if (apply(&ps, o, flag, arg) < 0)
                return -1;
            if (c->help || c->version)
                return 0;
            continue;
        }

        /* -x, -xVALUE, -x VALUE, and bundles of flags: -Lvv, -Lc10 */
        for (const char *p = a + 1; *p != '\0'; p++) {
            const struct opt *o = find_short(*p);
            const char *arg = NULL;
            char flag[3] = {'-', *p, '\0'};

            if (o == NULL)
                return fail_unknown(&ps, flag, 2);
            if (o->has_arg) {
                if (p[1] != '\0')
                    arg = p + 1;
                else if (i + 1 < argc)
                    arg = argv[++i];
                else
                    return fail(&ps, "%s: missing value", flag);
            }
            if (apply(&ps, o, flag, arg) < 0)
                return -1;
            if (c->help || c->version)
                return 0;
            if (o->has_arg)
                break;
        }
    }

    if (c->url == NULL)
        return fail(&ps, "missing URL (try 'blaster --help')");
    {
        struct url u;
        if (url_parse(c->url, &u, err, errlen) < 0)
            return -1;
    }
    if (c->threads > 0 && c->connections < c->threads)
        return fail(&ps, "-c: %d connections cannot be shared by %d threads (-t): "
                         "use -c >= -t", c->connections, c->threads);
    if (c->poisson && c->rate == 0)
        return fail(&ps, "--poisson needs a rate: add -R RATE");
    if (!ps.method_set && (c->body != NULL || c->body_file != NULL))
        c->method = "POST";
    return tls_check(&c->tls, err, errlen);
}

const char cli_run_usage[] =
    "Usage: blaster run FILE [options]\n"
    "Run a scenario file: k6's workload model in YAML (scenarios in parallel, executors,\n"
    "flows, thresholds). Exit code 99 when a threshold fails, 105 when stopped by Ctrl-C\n"
    "or SIGTERM, like k6.\n"
    "\n"
    "  -e, --env K=V            set ${K} in the file (wins over the environment), repeatable\n"
    "      --summary-export FILE  write the end-of-test summary as k6's handleSummary JSON\n"
    "  -t, --threads N          worker threads (default: one per usable CPU, or more when\n"
    "                           one ring per CPU cannot hold the VUs: ulimit -n)\n"
    "      --sigfigs N          latency histogram significant digits, 1-5 (default 3)\n"
    CLI_TLS_USAGE
    "                           (each of these wins over the file's tls: block)\n"
    "  -v, --verbose            more output\n"
    "  -h, --help               print this help\n"
    "\n"
    "Example: blaster run examples/smoke.yaml -e BASE_URL=http://127.0.0.1:8080\n";

/* The value of an option given as "-x V", "-xV", "--long V" or "--long=V";
 * NULL when argv has none left. */
static const char *run_value(int argc, char **argv, int *i, const char *a, size_t flag_len)
{
    if (a[flag_len] == '=' || (a[1] != '-' && a[flag_len]))
        return a + flag_len + (a[flag_len] == '=');
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool run_flag(const char *a, const char *s, const char *l, size_t *len)
{
    size_t ls = s ? strlen(s) : 0, ll = strlen(l);
    if (s && strncmp(a, s, ls) == 0 && (a[ls] == 0 || a[ls] != '-')) {
        *len = ls;
        return true;
    }
    if (strncmp(a, l, ll) == 0 && (a[ll] == 0 || a[ll] == '=')) {
        *len = ll;
        return true;
    }
    return false;
}

int cli_run_parse(int argc, char **argv, struct cli_run *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->sigfigs = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        size_t n;
        if (a[0] != '-' || a[1] == 0) {
            if (r->file) {
                snprintf(err, errlen, "one scenario file at a time: got '%s' and '%s'", r->file, a);
                return -1;
            }
            r->file = a;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            r->help = true;
            return 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            r->verbose++;
        } else if (run_flag(a, "-e", "--env", &n)) {
            if (!(v = run_value(argc, argv, &i, a, n))) {
                snprintf(err, errlen, "%.*s: expected K=V", (int)n, a);
                return -1;
            }
            const char *eq = strchr(v, '=');
            bool ok = eq && eq > v && (isalpha((unsigned char)v[0]) || v[0] == '_');
            for (const char *p = v; ok && p < eq; p++)
                ok = isalnum((unsigned char)*p) || *p == '_';
            if (!ok) {
                snprintf(err, errlen, "%.*s: expected K=V with K a name, got '%s'", (int)n, a, v);
                return -1;
            }
            if (r->nenv == CLI_MAX_ENV) {
                snprintf(err, errlen, "%.*s: at most %d variables", (int)n, a, CLI_MAX_ENV);
                return -1;
            }
            r->env[r->nenv++] = v;
        } else if (run_flag(a, NULL, "--summary-export", &n)) {
            if (!(v = run_value(argc, argv, &i, a, n)) || !*v) {
                snprintf(err, errlen, "--summary-export: expected a file name");
                return -1;
            }
            r->summary_export = v;
        } else if (run_flag(a, "-t", "--threads", &n) || run_flag(a, NULL, "--sigfigs", &n)) {
            bool threads = a[1] == 't' || strncmp(a, "--threads", 9) == 0;
            uint64_t c;
            if (!(v = run_value(argc, argv, &i, a, n)) || units_parse_count(v, &c) != 0 ||
                (threads ? (c < 1 || c > CLI_MAX_THREADS) : (c < 1 || c > 5))) {
                snprintf(err, errlen, "%.*s: expected %s, got '%s'", (int)n, a,
                         threads ? "a thread count from 1 to 1024" : "1 to 5", v ? v : "");
                return -1;
            }
            if (threads)
                r->threads = (int)c;
            else
                r->sigfigs = (int)c;
        } else if (a[1] == '-' || strcmp(a, "-k") == 0) {
            /* A TLS flag: --name, --name=value or --name value. */
            const char *name = a[1] == '-' ? a + 2 : a + 1;
            const char *eq = strchr(name, '=');
            char nm[32];
            snprintf(nm, sizeof nm, "%.*s", (int)(eq ? eq - name : (long)strlen(name)), name);
            const char *val = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
            bool used;
            int rc = cli_tls_option(&r->tls, nm, val, &used, err, errlen);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                snprintf(err, errlen, "unknown option '%s' for 'blaster run' (try 'blaster run --help')", a);
                return -1;
            }
            if (eq && !used) {
                snprintf(err, errlen, "--%s takes no value, got '%s'", nm, a);
                return -1;
            }
            if (used && !eq)
                i++;
        } else {
            snprintf(err, errlen, "unknown option '%s' for 'blaster run' (try 'blaster run --help')", a);
            return -1;
        }
    }
    if (!r->file) {
        snprintf(err, errlen, "missing the scenario FILE");
        return -1;
    }
    return tls_check(&r->tls, err, errlen);
}
