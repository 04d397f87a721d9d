/* runner — see runner.h. */
#include "blaster/runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring/worker.h"

#define MAX_WORKERS 1024

struct worker {
    pthread_t            thread;
    struct engine_config cfg;
    struct engine        e;
    int                  init_err;
    int                  done;       /* set by the worker when it has finished */
    pthread_barrier_t   *ready;
    const int           *stop;
};

static int stop_flag;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* The ring is made here: SINGLE_ISSUER binds it to this thread. */
    w->init_err = engine_init(&w->e, &w->cfg);
    pthread_barrier_wait(w->ready);
    if (!w->init_err)
        engine_run(&w->e, w->stop);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void progress(const struct worker *ws, int n, double elapsed, uint64_t *last)
{
    uint64_t reqs = 0, failed = 0;
    uint32_t vus = 0, open = 0;
    for (int i = 0; i < n; i++) {
        reqs += __atomic_load_n(&ws[i].e.live.reqs, __ATOMIC_RELAXED);
        failed += __atomic_load_n(&ws[i].e.live.failed, __ATOMIC_RELAXED);
        vus += __atomic_load_n(&ws[i].e.live.vus, __ATOMIC_RELAXED);
        open += __atomic_load_n(&ws[i].e.live.open_conns, __ATOMIC_RELAXED);
    }
    fprintf(stderr, "\r  %5.1fs  %8.0f req/s  %10llu requests  %llu failed  %u VUs  %u connections   ",
            elapsed, (double)(reqs - *last), (unsigned long long)reqs, (unsigned long long)failed, vus, open);
    *last = reqs;
}

static uint32_t plan_vus(const struct plan *p)
{
    uint32_t n = 0;
    for (int s = 0; s < p->nsc; s++)
        n += p->sc[s].max_vus;
    return n;
}

int runner_run(const struct plan *p, const struct runner_opts *o, struct run_result *r)
{
    memset(r, 0, sizeof *r);
    int cpus[MAX_WORKERS];
    int ncpus = worker_cpus(cpus, MAX_WORKERS);
    int nw = o->threads > 0 ? o->threads : ncpus;
    uint32_t vus = plan_vus(p);
    if ((uint32_t)nw > vus && vus > 0)
        nw = (int)vus; /* a worker without VUs would only idle */

    /* Signals go to the main thread only: it tells the workers to stop. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct worker *ws = calloc((size_t)nw, sizeof *ws);
    if (!ws) {
        snprintf(r->fatal, sizeof r->fatal, "out of memory");
        return -1;
    }
    /* A TLS context per worker (each has its own session cache), made here
     * because loading the system's CA store takes milliseconds the start of
     * the schedule should not wait for. */
    struct tls_ctx **tls = NULL;
    if (p->any_tls) {
        tls = calloc((size_t)nw, sizeof *tls);
        char terr[200] = "out of memory";
        for (int i = 0; tls && i < nw; i++) {
            if (tls_ctx_new(&tls[i], &p->tls, terr, sizeof terr) != 0) {
                for (int j = 0; j < i; j++)
                    tls_ctx_free(tls[j]);
                free(tls);
                tls = NULL;
            }
        }
        if (!tls) {
            snprintf(r->fatal, sizeof r->fatal, "TLS: %s", terr);
            free(ws);
            return -1;
        }
    }
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)nw + 1);
    int64_t origin = ring_now() + 20 * 1000000LL; /* time for every ring to be made */
    for (int i = 0; i < nw; i++) {
        ws[i].cfg = (struct engine_config){ .plan = p, .worker = i, .nworkers = nw, .origin_ns = origin,
                                            .sigfigs = o->sigfigs, .snapshots = o->check != NULL,
                                            .tls = tls ? tls[i] : NULL,
                                            .seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) };
        ws[i].ready = &ready;
        ws[i].stop = &stop_flag;
        int e = worker_start(&ws[i].thread, cpus[i % ncpus], worker_main, &ws[i]);
        if (e) {
            snprintf(r->fatal, sizeof r->fatal, "cannot start worker %d: %s", i, strerror(-e));
            /* The barrier can never complete now: the workers started wait on it. */
            _exit(2);
        }
    }
    pthread_barrier_wait(&ready);
    for (int i = 0; i < nw; i++) {
        if (ws[i].init_err) {
            snprintf(r->fatal, sizeof r->fatal, "worker %d: %s", i, ws[i].e.fatal);
            __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
        }
    }
    r->ring_mode = ws[0].e.ring.mode ? ws[0].e.ring.mode : "?";
    if (o->verbose)
        fprintf(stderr, "blaster: %d workers, %u VUs, io_uring mode %s\n", nw, vus, r->ring_mode);

    bool tty = isatty(2);
    uint64_t last = 0;
    int64_t next_tick = origin + 1000000000LL;
    /* Checks during the run: ask every worker for a snapshot, and once all
     * have answered, merge them and ask o->check. */
    struct scenario_metrics *snap = NULL;
    int snap_want = 0;
    bool snap_pending = false;
    int64_t next_check = origin + (o->check_period_ns > 0 ? o->check_period_ns : 2000000000LL);
    if (o->check) {
        snap = calloc((size_t)p->nsc, sizeof *snap);
        for (int s = 0; snap && s < p->nsc; s++)
            scenario_metrics_init(&snap[s], p->sc[s].nreqs, o->sigfigs);
    }
    for (;;) {
        bool all_done = true;
        for (int i = 0; i < nw; i++)
            all_done &= __atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE) != 0;
        if (all_done)
            break;
        int64_t now = ring_now();
        int64_t wait = next_tick - now;
        wait = wait > 100000000LL ? 100000000LL : wait < 0 ? 0 : wait; /* notice finished workers soon */
        struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            if (r->stopped) {
                fprintf(stderr, "\nblaster: second signal: exiting without a summary\n");
                _exit(2);
            }
            r->stopped = true;
            __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
        }
        now = ring_now();
        if (snap && !r->stopped && !r->aborted_by[0]) {
            if (!snap_pending && now >= next_check) {
                snap_want++;
                for (int i = 0; i < nw; i++)
                    __atomic_store_n(&ws[i].e.snap.want, snap_want, __ATOMIC_RELEASE);
                snap_pending = true;
                next_check += o->check_period_ns > 0 ? o->check_period_ns : 2000000000LL;
            }
            bool all = snap_pending;
            for (int i = 0; all && i < nw; i++)
                all = ws[i].init_err || __atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE) ||
                      __atomic_load_n(&ws[i].e.snap.done, __ATOMIC_ACQUIRE) == snap_want;
            if (all) {
                snap_pending = false;
                for (int s = 0; s < p->nsc; s++) {
                    scenario_metrics_reset(&snap[s]);
                    for (int i = 0; i < nw; i++)
                        if (!ws[i].init_err && ws[i].e.snap.m &&
                            __atomic_load_n(&ws[i].e.snap.done, __ATOMIC_ACQUIRE) == snap_want)
                            scenario_metrics_merge(&snap[s], &ws[i].e.snap.m[s]);
                }
                if (o->check(o->check_ctx, snap, (double)(now - origin) / 1e9, r->aborted_by,
                             sizeof r->aborted_by))
                    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
            }
        }
        if (now >= next_tick) {
            if (tty && !r->stopped)
                progress(ws, nw, (double)(now - origin) / 1e9, &last);
            next_tick += 1000000000LL;
        }
    }
    if (tty)
        fprintf(stderr, "\r%110s\r", "");
    for (int s = 0; snap && s < p->nsc; s++)
        scenario_metrics_free(&snap[s]);
    free(snap);

    r->nsc = p->nsc;
    r->nworkers = nw;
    r->m = calloc((size_t)p->nsc, sizeof *r->m);
    r->workers = calloc((size_t)nw, sizeof *r->workers);
    for (int s = 0; s < p->nsc; s++)
        scenario_metrics_init(&r->m[s], p->sc[s].nreqs, o->sigfigs);
    int64_t t0 = INT64_MAX, t1 = 0;
    for (int i = 0; i < nw; i++) {
        pthread_join(ws[i].thread, NULL);
        struct engine *e = &ws[i].e;
        if (e->fatal[0] && !r->fatal[0])
            snprintf(r->fatal, sizeof r->fatal, "%s", e->fatal);
        if (ws[i].init_err)
            continue;
        for (int s = 0; s < p->nsc; s++)
            scenario_metrics_merge(&r->m[s], &e->m[s]);
        double wall = (double)(e->wall_end - e->wall_start);
        r->workers[i].busy = wall > 0 ? (double)(e->cpu_end.busy_ns - e->cpu_start.busy_ns) / wall : 0;
        r->workers[i].wait = e->cpu_end.wait_ns >= 0 && wall > 0
                                 ? (double)(e->cpu_end.wait_ns - e->cpu_start.wait_ns) / wall : -1;
        if (e->wall_start < t0)
            t0 = e->wall_start;
        if (e->wall_end > t1)
            t1 = e->wall_end;
    }
    r->elapsed_s = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    struct hist lag;
    hist_init(&lag, 1, 3600LL * 1000 * 1000, o->sigfigs);
    for (int s = 0; s < p->nsc; s++)
        for (int q = 0; q < r->m[s].nreq; q++)
            hist_merge(&lag, &r->m[s].req[q].lag);
    r->lag_samples = hist_count(&lag);
    r->lag_p99_us = r->lag_samples ? (double)hist_percentile(&lag, 99) : -1;
    hist_free(&lag);
    for (int i = 0; i < nw; i++)
        engine_free(&ws[i].e);
    for (int i = 0; tls && i < nw; i++)
        tls_ctx_free(tls[i]); /* after the engines: their connections go first */
    free(tls);
    free(ws);
    pthread_barrier_destroy(&ready);
    return 0;
}

void runner_verdict(const struct run_result *r, struct verdict *v)
{
    double busy[MAX_WORKERS], wait[MAX_WORKERS];
    for (int i = 0; i < r->nworkers && i < MAX_WORKERS; i++) {
        busy[i] = r->workers[i].busy;
        wait[i] = r->workers[i].wait;
    }
    struct verdict_input in = { .nworkers = r->nworkers, .busy = busy, .wait = wait,
                                .lag_p99_us = (long long)r->lag_p99_us, .lag_samples = r->lag_samples };
    verdict_decide(&in, v);
}

void runner_result_free(struct run_result *r)
{
    for (int s = 0; s < r->nsc; s++)
        scenario_metrics_free(&r->m[s]);
    free(r->m);
    free(r->workers);
    r->m = NULL;
    r->workers = NULL;
}
