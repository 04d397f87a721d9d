/* cli: quick mode's command line, `blaster [options] URL`, with wrk's and wrk2's flags
 * (-c -t -d -H --latency --timeout, -R) plus k6's --summary-export. Subcommands (serve,
 * run, ...) are dispatched by main before this parser sees argv.
 */
#ifndef BLASTER_CLI_H
#define BLASTER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_HEADERS     64
#define CLI_MAX_THREADS     1024
#define CLI_MAX_CONNECTIONS 1000000
#define CLI_HDR_NAMES_SIZE  4096   /* bytes for all header names, NULs included */

struct cli_header {
    const char *name;   /* points into struct cli's hdr_names: the name is copied to end it */
    const char *value;  /* points into the argv string, after the colon and any blanks */
};

/* TLS flags, shared by quick mode and `run` (where they override the file's `tls:`). */
struct cli_tls {
    bool        insecure;         /* -k/--insecure: skip certificate verification */
    bool        no_resume;        /* --no-resume: a full handshake on every new connection */
    const char *cacert;           /* --cacert FILE: trust this PEM bundle (default: system store) */
    const char *cert, *key;       /* --cert FILE --key FILE: client certificate */
    const char *server_name;      /* --server-name NAME: SNI and verified name (default: URL host) */
    int         min_version;      /* --tls-min 1.2|1.3 → 12|13; 0 = not given */
    int         max_version;      /* --tls-max */
};

/* One TLS flag, if `name` (the long name without "--", or "k") is one:
 * 1 when taken (*used_arg says whether arg was consumed), 0 when not a TLS
 * flag, -1 with err filled when its value is wrong. */
int cli_tls_option(struct cli_tls *t, const char *name, const char *arg, bool *used_arg, char *err,
                   size_t errlen);
/* The TLS flags' help lines (same text in both usages). */
#define CLI_TLS_USAGE \
    "  -k, --insecure           https: do not verify the server's certificate\n" \
    "      --cacert FILE        https: trust the CAs in FILE (PEM) instead of the system's\n" \
    "      --cert FILE --key FILE  https: client certificate and its key (PEM)\n" \
    "      --tls-min V, --tls-max V  https: TLS versions allowed, 1.2 or 1.3\n" \
    "                           (default: 1.2 to 1.3)\n" \
    "      --no-resume          https: full handshake on every new connection\n" \
    "                           (default: resume the worker's last session)\n" \
    "      --server-name NAME   https: SNI and the name the certificate must carry\n" \
    "                           (default: the URL's host)\n"

struct cli {
    const char *url;            /* the one positional argument, validated with url_parse */
    int      threads;           /* -t N, 1..1024; 0 = one per CPU in the affinity mask */
    int      connections;       /* -c N, 1..1000000, default 10 like wrk */
    int64_t  duration_ns;       /* -d DUR, > 0, default 10s */
    double   rate;              /* -R RATE, req/s for the whole run; 0 = closed model */
    bool     poisson;           /* --poisson: exponential gaps (needs -R) */
    bool     latency;           /* -L/--latency: print the detailed latency distribution */
    int      nheaders;
    struct cli_header headers[CLI_MAX_HEADERS]; /* -H 'K: V' in command-line order */
    const char *method;         /* -m METHOD; default GET, or POST when -b is given */
    const char *body;           /* -b TEXT (NULL when absent or when -b @FILE) */
    const char *body_file;      /* -b @FILE, the name after '@' */
    int64_t  timeout_ns;        /* -T/--timeout DUR, > 0, default 2s like wrk */
    int      verbose;           /* -v, repeatable (-vv) */
    const char *summary_export; /* --summary-export FILE */
    int      sigfigs;           /* --sigfigs N, 1..5, default 3 */
    struct cli_tls tls;
    bool     help, version;     /* -h/--help, -V/--version */
    char     hdr_names[CLI_HDR_NAMES_SIZE]; /* storage behind headers[].name */
};

/* Parse a quick-mode command line into *c (argv[0] is the program name and is skipped).
 * Every string in *c points into argv or into c itself, so argv must outlive *c and *c must
 * not be copied by value (headers[].name would point into the original).
 *
 * Options take their value as "-c 100", "-c100", "--connections 100" or
 * "--connections=100"; flags without a value bundle ("-Lvv"). Options and the URL may come
 * in any order; "--" ends the options. Long names: --threads --connections --duration
 * --rate --header --method --body --timeout --latency --poisson --verbose
 * --summary-export --sigfigs --help --version. wrk's short -T (timeout) and -L (latency)
 * work too; unlike wrk, -v is --verbose and -V is --version.
 * Counts and rates take k/M suffixes (-c 1k), durations take units (-d 1m30s; a bare
 * number is seconds, like wrk), see units.h.
 *
 * -h or -V stops parsing at once: returns 0 with help or version set and the rest of *c
 * not to be relied on. Otherwise returns 0 with every field set (defaults included), or
 * -1 with err naming the flag as the user spelled it and the offending value, e.g.
 * "-c: expected a positive count, got 'abc'", "unknown option '--foo'", "missing URL",
 * "--poisson needs a rate: add -R RATE", or url_parse's message for a bad URL.
 * Checks across flags: -c >= -t when -t is given; --poisson needs -R. Never allocates. */
int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);

#define CLI_MAX_ENV 128

/* `blaster run FILE [options]`: a scenario file. */
struct cli_run {
    const char *file;
    const char *env[CLI_MAX_ENV]; /* "K=V" strings from -e, in order (later ones win) */
    int         nenv;
    int         threads;          /* -t N, 0 = one per CPU */
    int         verbose;
    int         sigfigs;          /* default 3 */
    const char *summary_export;
    struct cli_tls tls;
    bool        help;
};

/* Parse `run`'s argv (argv[0] is "run"): -e/--env K=V (repeatable; K must be
 * a name), --summary-export FILE, -t/--threads N, --sigfigs N, -v, -h; one
 * positional FILE. 0, or -1 with err naming the flag and the value. */
int cli_run_parse(int argc, char **argv, struct cli_run *r, char *err, size_t errlen);
extern const char cli_run_usage[];

/* The --help text: usage line, every option with its default, the other subcommands and
 * an example. Ends with a newline. */
extern const char cli_usage[];

#endif
