/* blaster — an HTTP/1.1 load generator on io_uring.
 *
 *   blaster -c 100 -d 10s http://127.0.0.1:8080/          closed model, as fast as it answers
 *   blaster -c 100 -d 10s -R 20000 http://127.0.0.1:8080/ open model, 20000 req/s
 *   blaster serve --listen 127.0.0.1:8080                 the built-in target
 *
 * The main thread parses the command line, renders the request once, starts
 * one pinned worker per CPU (blaster/client.c does the load), prints a
 * progress line once a second on a terminal, then merges the workers'
 * metrics exactly and reports: summary, --summary-export, client verdict,
 * exit code (0 done, 1 usage error, 2 runtime error). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blaster/cli.h"
#include "blaster/client.h"
#include "blaster/request.h"
#include "blaster/serve.h"
#include "blaster/summary.h"
#include "blaster/units.h"
#include "blaster/url.h"
#include "ring/worker.h"

#define MAX_WORKERS 1024

struct worker {
    pthread_t            thread;
    struct client_config cfg;
    struct client        c;
    int                  init_err;
    int                  done;        /* set by the worker when it has finished */
    pthread_barrier_t   *ready;
    const int           *stop;
};

static int stop_flag;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* The ring is made here: SINGLE_ISSUER binds it to this thread. */
    w->init_err = client_init(&w->c, &w->cfg);
    pthread_barrier_wait(w->ready);
    if (!w->init_err) {
        /* The schedule starts when every worker is ready. */
        client_run(&w->c, w->stop);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "-b @%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (*data && got < (size_t)st.st_size) {
        ssize_t n = read(fd, *data + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!*data || got != (size_t)st.st_size) {
        snprintf(err, errlen, "-b @%s: could not read the whole file", path);
        return -1;
    }
    *len = got;
    return 0;
}

static void progress(const struct worker *ws, int n, double elapsed, uint64_t *last_reqs)
{
    uint64_t reqs = 0, failed = 0;
    uint32_t open = 0;
    for (int i = 0; i < n; i++) {
        reqs += __atomic_load_n(&ws[i].c.live.reqs, __ATOMIC_RELAXED);
        failed += __atomic_load_n(&ws[i].c.live.failed, __ATOMIC_RELAXED);
        open += __atomic_load_n(&ws[i].c.live.open_conns, __ATOMIC_RELAXED);
    }
    fprintf(stderr, "\r  %5.1fs  %8.0f req/s  %10llu requests  %llu failed  %u connections open   ",
            elapsed, (double)(reqs - *last_reqs), (unsigned long long)reqs, (unsigned long long)failed, open);
    *last_reqs = reqs;
}

static int quick_mode(int argc, char **argv)
{
    struct cli cli;
    char err[512];
    if (cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n%s", err, cli_usage);
        return 1;
    }
    if (cli.help) {
        fputs(cli_usage, stdout);
        return 0;
    }
    if (cli.version) {
        printf("blaster %s (io_uring via liburing; HTTP/1.1)\n", BLASTER_VERSION);
        return 0;
    }

    struct url url;
    struct sockaddr_storage sa;
    socklen_t salen;
    if (url_parse(cli.url, &url, err, sizeof err) != 0 || url_resolve(&url, &sa, &salen, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        return 1;
    }
    if (url.https) {
        fprintf(stderr, "blaster: %s: https:// is not supported yet (plain http:// only)\n", cli.url);
        return 1;
    }

    uint8_t *body = NULL;
    size_t body_len = 0;
    if (cli.body_file && read_file(cli.body_file, &body, &body_len, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        return 1;
    }
    if (cli.body) {
        body = (uint8_t *)strdup(cli.body);
        body_len = strlen(cli.body);
    }
    const char *hn[64], *hv[64];
    for (int i = 0; i < cli.nheaders; i++) {
        hn[i] = cli.headers[i].name;
        hv[i] = cli.headers[i].value;
    }
    struct request_spec spec = { .method = cli.method, .url = &url, .hnames = hn, .hvalues = hv,
                                 .nheaders = cli.nheaders, .body = body, .body_len = body_len };
    struct request req;
    if (request_render(&spec, &req, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        return 1;
    }

    int cpus[MAX_WORKERS];
    int ncpus = worker_cpus(cpus, MAX_WORKERS);
    int nw = cli.threads > 0 ? cli.threads : ncpus;
    if (nw > cli.connections)
        nw = cli.connections;

    /* Signals go to the main thread only: it tells the workers to stop. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct worker *ws = calloc((size_t)nw, sizeof *ws);
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)nw + 1);
    int64_t start = ring_now() + 20 * 1000000LL; /* time for every ring to be made */
    for (int i = 0; i < nw; i++) {
        struct client_config *cfg = &ws[i].cfg;
        cfg->worker = i;
        cfg->nworkers = nw;
        cfg->req = &req;
        cfg->addr = sa;
        cfg->addrlen = salen;
        cfg->conns = cli.connections / nw + (i < cli.connections % nw);
        cfg->rate = cli.rate / nw;
        cfg->poisson = cli.poisson;
        cfg->timeout_ns = cli.timeout_ns;
        cfg->start_ns = start;
        cfg->end_ns = start + cli.duration_ns;
        /* In-flight requests may finish after the end, but not for long. */
        cfg->grace_ns = cli.timeout_ns < 2000000000LL ? cli.timeout_ns : 2000000000LL;
        cfg->sigfigs = cli.sigfigs;
        cfg->seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        ws[i].ready = &ready;
        ws[i].stop = &stop_flag;
        int e = worker_start(&ws[i].thread, cli.threads > ncpus ? cpus[i % ncpus] : cpus[i % ncpus], worker_main, &ws[i]);
        if (e) {
            fprintf(stderr, "blaster: cannot start worker %d: %s\n", i, strerror(-e));
            return 2;
        }
    }
    pthread_barrier_wait(&ready);
    for (int i = 0; i < nw; i++) {
        if (ws[i].init_err) {
            fprintf(stderr, "blaster: worker %d: %s\n", i, ws[i].c.fatal);
            __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
        }
    }
    if (cli.verbose)
        fprintf(stderr, "blaster: %d workers, io_uring mode %s\n", nw, ws[0].c.ring.mode ? ws[0].c.ring.mode : "?");

    bool tty = isatty(2);
    bool stopped = false;
    uint64_t last_reqs = 0;
    int64_t next_tick = start + 1000000000LL;
    for (;;) {
        bool all_done = true;
        for (int i = 0; i < nw; i++)
            all_done &= __atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE) != 0;
        if (all_done)
            break;
        int64_t now = ring_now();
        int64_t wait = next_tick - now;
        if (wait > 100000000LL)
            wait = 100000000LL; /* notice finished workers soon */
        if (wait < 0)
            wait = 0;
        struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            if (stopped) {
                fprintf(stderr, "\nblaster: second signal: exiting without a summary\n");
                _exit(2);
            }
            stopped = true;
            __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
        }
        now = ring_now();
        if (now >= next_tick) {
            if (tty && !stopped)
                progress(ws, nw, (double)(now - start) / 1e9, &last_reqs);
            next_tick += 1000000000LL;
        }
    }
    if (tty)
        fprintf(stderr, "\r%100s\r", "");

    struct metrics total;
    metrics_init(&total, cli.sigfigs);
    struct worker_report *wr = calloc((size_t)nw, sizeof *wr);
    double busy[MAX_WORKERS], waitf[MAX_WORKERS];
    int64_t t0 = INT64_MAX, t1 = 0;
    const char *fatal = NULL;
    for (int i = 0; i < nw; i++) {
        pthread_join(ws[i].thread, NULL);
        struct client *c = &ws[i].c;
        if (c->fatal[0] && !fatal)
            fatal = c->fatal;
        if (ws[i].init_err)
            continue;
        metrics_merge(&total, &c->m);
        double wall = (double)(c->wall_end - c->wall_start);
        wr[i].busy = busy[i] = wall > 0 ? (double)(c->cpu_end.busy_ns - c->cpu_start.busy_ns) / wall : 0;
        wr[i].wait = waitf[i] = c->cpu_end.wait_ns >= 0 && wall > 0
                                    ? (double)(c->cpu_end.wait_ns - c->cpu_start.wait_ns) / wall : -1;
        if (c->wall_start < t0)
            t0 = c->wall_start;
        if (c->wall_end > t1)
            t1 = c->wall_end;
    }

    struct run_report rep = {
        .url = cli.url, .method = cli.method, .threads = nw, .connections = cli.connections,
        .duration_s = (double)cli.duration_ns / 1e9, .rate = cli.rate, .poisson = cli.poisson,
        .ring_mode = ws[0].c.ring.mode, .elapsed_s = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0,
        .stopped = stopped, .latency_detail = cli.latency, .m = &total, .nworkers = nw, .workers = wr,
        .fatal = fatal,
    };
    struct verdict_input vin = { .nworkers = nw, .busy = busy, .wait = waitf,
                                 .lag_p99_us = hist_count(&total.lag) ? hist_percentile(&total.lag, 99) : -1,
                                 .lag_samples = hist_count(&total.lag) };
    verdict_decide(&vin, &rep.verdict);
    summary_print(stdout, &rep);
    fflush(stdout);

    int rc = 0;
    if (cli.summary_export && summary_export(cli.summary_export, &rep, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        rc = 2;
    }
    if (fatal) {
        fprintf(stderr, "blaster: %s %s\n", cli.url, fatal);
        rc = 2;
    }
    for (int i = 0; i < nw; i++)
        client_free(&ws[i].c);
    metrics_free(&total);
    request_free(&req);
    free(body);
    free(ws);
    free(wr);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "run") == 0) {
        fprintf(stderr, "blaster run: scenario files are not implemented yet; use quick mode: blaster [options] URL\n");
        return 1;
    }
    return quick_mode(argc, argv);
}
