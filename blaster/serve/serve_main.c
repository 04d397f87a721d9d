/* serve_main — the main thread of `blaster serve`, the built-in HTTP/1.1 test
 * target: options, responses, TLS context and listening sockets made before
 * any thread starts, then the workers started, watched and stopped at a
 * signal or at --exit-after. It never touches a connection (serve.c does).
 *
 *   blaster serve                                   200 "hello, world\n" on 127.0.0.1:8080
 *   blaster serve --body-size 1MiB --delay 20ms     big bodies from a slow backend
 *   blaster serve --stall 1s@10s --reset-rate 0.01  a 1 s freeze every 10 s, 1% resets
 *   blaster serve --app demo                        the example API (blaster/serve/demo_app.h)
 *   blaster serve --tls --cert c.pem --key k.pem    the same over TLS (tls/tls.h) */
#include "blaster/serve/serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "blaster/serve/serve_int.h"
#include "ring/ring.h"
#include "ring/worker.h"
#include "tls/tls.h"

/* Direct descriptors are bounded by the soft fd limit: take the hard one. */
static void fd_limit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* One context for every worker, as nginx's workers share one: a session
 * ticket issued by one worker must resume on another (SO_REUSEPORT sends a
 * client's next connection to any of them; with a context, and so a ticket
 * key, per worker only half the resumptions succeeded on two workers). Made
 * before anything listens so that a certificate that does not load is a usage
 * error. Returns 0, or -1 having said why. */
static int tls_ctx_make(const struct serve_opts *o, struct tls_ctx **out)
{
    char err[512];
    struct tls_config tc = { .certfile = o->certfile, .keyfile = o->keyfile,
                             .min_version = o->tls_min, .max_version = o->tls_max };
    struct tls_ctx *shared;
    if (tls_ctx_new_server(&shared, &tc, err, sizeof err) != 0) {
        fprintf(stderr, "blaster serve: %s\n", err);
        return -1;
    }
    *out = shared;
    return 0;
}

/* n listening sockets on o->addr, on the main thread, so that a taken port is
 * reported before any thread starts. With port 0 the first one picks the port
 * and the others join it; *addr is where they listen. Returns 0, or -1 having
 * said why; the *nfds sockets opened are in fds[] either way. */
static int listeners_open(const struct serve_opts *o, int *fds, int n, int *nfds,
                          struct sockaddr_storage *addr)
{
    *addr = o->addr;
    for (int i = 0; i < n; i++) {
        fds[i] = ring_listen((struct sockaddr *)addr, o->addrlen, 4096);
        if (fds[i] < 0) {
            char text[64];
            serve_addr_text(addr, text, sizeof text);
            fprintf(stderr, "blaster serve: cannot listen on %s: %s\n", text, strerror(-fds[i]));
            return -1;
        }
        (*nfds)++;
        if (i == 0) {
            socklen_t len = sizeof *addr;
            getsockname(fds[0], (struct sockaddr *)addr, &len);
        }
    }
    return 0;
}

/* Until SIGINT or SIGTERM (blocked, so waited for here), the end of
 * --exit-after, or a worker's failure: then 2, else 0. */
static int stop_wait(const struct worker *ws, int nw, const sigset_t *sigs, int64_t exit_after_ns)
{
    int64_t end = exit_after_ns ? ring_now() + exit_after_ns : INT64_MAX;
    int rc = 0;
    while (!rc) {
        int64_t now = ring_now();
        if (now >= end)
            break;
        rc = workers_check(ws, nw, true);
        int64_t wait = end - now < TICK_NS ? end - now : TICK_NS;
        struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    return rc;
}

/* Starts a worker per listener, says where it listens, runs until told to
 * stop, joins the workers. Returns the exit code. */
static int serve_run(struct server *s, struct worker *ws, int nw, const int *fds, const int *cpus,
                     int ncpus, struct tls_ctx *tls, const struct sockaddr_storage *addr)
{
    static int stop_flag;
    const struct serve_opts *o = &s->o;
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
    workers_start(ws, nw, s, fds, cpus, ncpus, tls, &ready, &stop_flag);
    pthread_barrier_wait(&ready);
    int rc = workers_check(ws, nw, false);
    if (!rc) {
        char text[64];
        serve_addr_text(addr, text, sizeof text);
        fprintf(stderr, "blaster serve: listening on %s://%s (%d thread%s, %s)\n",
                o->tls ? "https" : "http", text, nw, nw == 1 ? "" : "s", workers_mode(ws));
        rc = stop_wait(ws, nw, &sigs, o->exit_after_ns);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    workers_join(ws, nw);
    pthread_barrier_destroy(&ready);
    if (o->verbose)
        workers_print_stats(ws, nw, o->tls);
    return rc;
}

int serve_main(int argc, char **argv)
{
    static struct server srv;
    struct server *s = &srv;
    char err[512];
    if (serve_opts_parse(argc, argv, &s->o, err, sizeof err) != 0) {
        fprintf(stderr, "blaster serve: %s\n%s", err, serve_usage);
        return 1;
    }
    if (s->o.help) {
        fputs(serve_usage, stdout);
        fputs(serve_help, stdout);
        return 0;
    }
    const struct serve_opts *o = &s->o;
    s->timed = o->delay_ns > 0 || o->stall_ns > 0;
    s->faults = o->error_rate > 0 || o->reset_rate > 0 || o->close_rate > 0 || o->garbage_rate > 0;
    fd_limit_raise();

    int cpus[SERVE_MAX_WORKERS];
    int ncpus = worker_cpus(cpus, SERVE_MAX_WORKERS);
    int nw = o->threads ? o->threads : ncpus;

    int rc = 2, nfds = 0;
    int *fds = calloc((size_t)nw, sizeof *fds);
    struct worker *ws = workers_new(nw);
    struct tls_ctx *tls = NULL;
    struct sockaddr_storage addr;
    struct demo_opts dopts = { .hls_segments = o->hls_segments, .segment_size = o->segment_size };
    if (!fds || !ws || (o->demo && demo_init(&s->demo, &dopts, nw) != 0) || responses_render(s) != 0)
        fprintf(stderr, "blaster serve: out of memory\n");
    else if (o->tls && tls_ctx_make(o, &tls) != 0)
        rc = 1;
    else if (listeners_open(o, fds, nw, &nfds, &addr) == 0)
        rc = serve_run(s, ws, nw, fds, cpus, ncpus, tls, &addr);

    workers_free(ws, nw);  /* the rings are gone: no send reads a TLS buffer any more */
    tls_ctx_free(tls);     /* shared: after every worker's connections */
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    responses_free(s);
    free(fds);
    return rc;
}
