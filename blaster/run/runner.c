/* runner — see runner.h. */
#include "blaster/run/runner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blaster/compile/limits.h"
#include "blaster/run/progress.h"
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
    /* Twice: once every ring is made, and once the main thread has seen
     * whether all were (if one was not, nobody starts: stop is set). */
    pthread_barrier_wait(w->ready);
    pthread_barrier_wait(w->ready);
    if (!w->init_err && !__atomic_load_n(w->stop, __ATOMIC_RELAXED))
        engine_run(&w->e, w->stop);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static uint32_t plan_vus(const struct plan *p)
{
    uint32_t n = 0;
    for (int s = 0; s < p->nsc; s++)
        n += p->sc[s].max_vus;
    return n;
}

/* One worker per CPU (or -t), but never more than the plan has VUs: a
 * worker without VUs would only idle. Without -t, also as many as the
 * connections need rings (DESIGN.md: past the open-file limit per worker,
 * more workers than CPUs); with -t too few, the ring's setup says so. */
static int workers_count(const struct plan *p, const struct runner_opts *o, int ncpus)
{
    int nw = o->threads > 0 ? o->threads : ncpus;
    int need = limits_workers_needed(p, limits_read_ring_slots());
    if (o->threads <= 0 && need > nw)
        nw = need > MAX_WORKERS ? MAX_WORKERS : need;
    uint32_t vus = plan_vus(p);
    if ((uint32_t)nw > vus && vus > 0)
        nw = (int)vus;
    return nw;
}

/* Signals go to the main thread only: it tells the workers to stop. */
static void signals_block(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

/* A TLS context per worker (each has its own session cache), made here
 * because loading the system's CA store takes milliseconds the start of
 * the schedule should not wait for. NULL with r->fatal set on failure. */
static struct tls_ctx **tls_contexts_new(const struct plan *p, int nw, struct run_result *r)
{
    struct tls_ctx **tls = calloc((size_t)nw, sizeof *tls);
    char terr[200] = "out of memory";
    for (int i = 0; tls && i < nw; i++) {
        if (tls_ctx_new(&tls[i], &p->tls, terr, sizeof terr) != 0) {
            for (int j = 0; j < i; j++)
                tls_ctx_free(tls[j]);
            free(tls);
            tls = NULL;
        }
    }
    if (!tls)
        snprintf(r->fatal, sizeof r->fatal, "TLS: %s", terr);
    return tls;
}

static void tls_contexts_free(struct tls_ctx **tls, int nw)
{
    for (int i = 0; tls && i < nw; i++)
        tls_ctx_free(tls[i]);
    free(tls);
}

/* Start nw workers, pinned round-robin on cpus, wait until every ring is
 * made, and note in r the workers that could not start their engine: then
 * none of them runs. -1 when one could not. */
static int workers_start(struct worker *ws, int nw, const int *cpus, int ncpus, const struct plan *p,
                          const struct runner_opts *o, struct tls_ctx **tls, pthread_barrier_t *ready,
                          int64_t origin, struct run_result *r)
{
    for (int i = 0; i < nw; i++) {
        ws[i].cfg = (struct engine_config){ .plan = p, .worker = i, .nworkers = nw, .origin_ns = origin,
                                            .sigfigs = o->sigfigs, .snapshots = o->check != NULL,
                                            .tls = tls ? tls[i] : NULL,
                                            .seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1) };
        ws[i].ready = ready;
        ws[i].stop = &stop_flag;
        int e = worker_start(&ws[i].thread, cpus[i % ncpus], worker_main, &ws[i]);
        if (e) {
            snprintf(r->fatal, sizeof r->fatal, "cannot start worker %d: %s", i, strerror(-e));
            /* The barrier can never complete now: the workers started wait on it. */
            _exit(2);
        }
    }
    pthread_barrier_wait(ready);
    int failed = -1;
    for (int i = 0; i < nw && failed < 0; i++)
        if (ws[i].init_err)
            failed = i;
    if (failed >= 0) {
        snprintf(r->fatal, sizeof r->fatal, "worker %d: %.200s", failed, ws[failed].e.fatal);
        __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    }
    r->ring_mode = ws[0].e.ring.mode ? ws[0].e.ring.mode : "?";
    pthread_barrier_wait(ready);
    return failed >= 0 ? -1 : 0;
}

static bool workers_done(const struct worker *ws, int nw)
{
    for (int i = 0; i < nw; i++)
        if (!__atomic_load_n(&ws[i].done, __ATOMIC_ACQUIRE))
            return false;
    return true;
}

/* The workers' live counters, summed for the progress line. */
static struct engine_live live_sum(const struct worker *ws, int nw)
{
    struct engine_live t = { 0 };
    for (int i = 0; i < nw; i++) {
        t.reqs += __atomic_load_n(&ws[i].e.live.reqs, __ATOMIC_RELAXED);
        t.failed += __atomic_load_n(&ws[i].e.live.failed, __ATOMIC_RELAXED);
        t.vus += __atomic_load_n(&ws[i].e.live.vus, __ATOMIC_RELAXED);
        t.open_conns += __atomic_load_n(&ws[i].e.live.open_conns, __ATOMIC_RELAXED);
    }
    return t;
}

/* Checks during the run (abortOnFail): ask every worker for a snapshot of
 * its metrics, and once all have answered, merge them and ask o->check. */
struct snapshots {
    struct scenario_metrics *m;   /* one per scenario; NULL: no checks */
    int      want;
    bool     pending;
    int64_t  next, period;
};

static void snapshots_init(struct snapshots *sn, const struct plan *p, const struct runner_opts *o,
                           int64_t origin)
{
    *sn = (struct snapshots){ .period = o->check_period_ns > 0 ? o->check_period_ns : 2000000000LL };
    sn->next = origin + sn->period;
    if (!o->check)
        return;
    sn->m = calloc((size_t)p->nsc, sizeof *sn->m);
    for (int s = 0; sn->m && s < p->nsc; s++)
        scenario_metrics_init(&sn->m[s], p->sc[s].nreqs, o->sigfigs);
}

static void snapshots_free(struct snapshots *sn, int nsc)
{
    for (int s = 0; sn->m && s < nsc; s++)
        scenario_metrics_free(&sn->m[s]);
    free(sn->m);
    sn->m = NULL;
}

/* Has worker w answered the current request (or will it never)? */
static bool snapshot_answered(const struct worker *w, int want)
{
    return w->init_err || __atomic_load_n(&w->done, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&w->e.snap.done, __ATOMIC_ACQUIRE) == want;
}

static void snapshots_merge(struct snapshots *sn, const struct worker *ws, int nw, int nsc)
{
    for (int s = 0; s < nsc; s++) {
        scenario_metrics_reset(&sn->m[s]);
        for (int i = 0; i < nw; i++)
            if (!ws[i].init_err && ws[i].e.snap.m &&
                __atomic_load_n(&ws[i].e.snap.done, __ATOMIC_ACQUIRE) == sn->want)
                scenario_metrics_merge(&sn->m[s], &ws[i].e.snap.m[s]);
    }
}

/* One turn of the checks at `now`: ask when due, and check when answered. */
static void snapshots_poll(struct snapshots *sn, struct worker *ws, int nw, const struct plan *p,
                           const struct runner_opts *o, int64_t now, int64_t origin, struct run_result *r)
{
    if (!sn->m || r->stopped || r->aborted_by[0])
        return;
    if (!sn->pending && now >= sn->next) {
        sn->want++;
        for (int i = 0; i < nw; i++)
            __atomic_store_n(&ws[i].e.snap.want, sn->want, __ATOMIC_RELEASE);
        sn->pending = true;
        sn->next += sn->period;
    }
    bool all = sn->pending;
    for (int i = 0; all && i < nw; i++)
        all = snapshot_answered(&ws[i], sn->want);
    if (!all)
        return;
    sn->pending = false;
    snapshots_merge(sn, ws, nw, p->nsc);
    if (o->check(o->check_ctx, sn->m, (double)(now - origin) / 1e9, r->aborted_by, sizeof r->aborted_by))
        __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

/* SIGINT/SIGTERM: stop now (the workers look at the flag at least every
 * 100 ms), then the summary; a second one exits at once, like k6, with its
 * ExternalAbort code. A signal while an abortOnFail threshold is already
 * stopping the run leaves the run the threshold's (stopped stays false). */
static void signal_handle(int sig, struct run_result *r)
{
    static int seen;
    if (sig != SIGINT && sig != SIGTERM)
        return;
    if (seen++) {
        fprintf(stderr, "\nblaster: second signal: exiting without a summary\n");
        _exit(105);
    }
    r->stopped = !r->aborted_by[0];
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

/* The main thread until every worker has finished: signals, checks, and the
 * progress line once a second. */
static void run_loop(struct worker *ws, int nw, const struct plan *p, const struct runner_opts *o,
                     const sigset_t *sigs, int64_t origin, struct run_result *r)
{
    struct progress pg;
    progress_init(&pg);
    struct snapshots sn;
    snapshots_init(&sn, p, o, origin);
    int64_t next_tick = origin + 1000000000LL;
    while (!workers_done(ws, nw)) {
        int64_t wait = next_tick - ring_now();
        wait = wait > 100000000LL ? 100000000LL : wait < 0 ? 0 : wait; /* notice finished workers soon */
        struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
        signal_handle(sigtimedwait(sigs, NULL, &ts), r);
        int64_t now = ring_now();
        snapshots_poll(&sn, ws, nw, p, o, now, origin, r);
        if (now >= next_tick) {
            if (!r->stopped) {
                struct engine_live sum = live_sum(ws, nw);
                progress_print(&pg, &sum, (double)(now - origin) / 1e9);
            }
            next_tick += 1000000000LL;
        }
    }
    progress_clear(&pg);
    snapshots_free(&sn, p->nsc);
}

/* The worker's CPU over its run: busy fraction, and run-queue wait (-1
 * where the kernel does not say). */
static void worker_cpu_fractions(const struct engine *e, struct worker_report *w)
{
    double wall = (double)(e->wall_end - e->wall_start);
    w->busy = wall > 0 ? (double)(e->cpu_end.busy_ns - e->cpu_start.busy_ns) / wall : 0;
    w->wait = e->cpu_end.wait_ns >= 0 && wall > 0 ? (double)(e->cpu_end.wait_ns - e->cpu_start.wait_ns) / wall : -1;
}

/* The merged hist's p50/p99/p99.9 in µs (-1 each when empty); span_us: the
 * workers' run time, summed; wait_us: their run-queue wait, summed (-1
 * unknown). */
static struct verdict_timers timers_of(const struct hist *h, double span_us, double wait_us)
{
    unsigned long long n = hist_count(h);
    return (struct verdict_timers){ .samples = n, .p50_us = n ? hist_percentile(h, 50) : -1,
                                    .p99_us = n ? hist_percentile(h, 99) : -1,
                                    .p999_us = n ? hist_percentile(h, 99.9) : -1,
                                    .lag_p99_us = verdict_timers_lag_p99(h, span_us),
                                    .late_sum_us = n ? hist_mean(h) * (double)n : 0, .wait_sum_us = wait_us };
}

/* Join the workers and merge what they measured, exactly, scenario by
 * scenario; the run's span is from the first worker's start to the last's end. */
static void workers_merge(struct worker *ws, int nw, const struct plan *p, int sigfigs, struct run_result *r)
{
    r->nsc = p->nsc;
    r->nworkers = nw;
    r->m = calloc((size_t)p->nsc, sizeof *r->m);
    r->workers = calloc((size_t)nw, sizeof *r->workers);
    for (int s = 0; s < p->nsc; s++)
        scenario_metrics_init(&r->m[s], p->sc[s].nreqs, sigfigs);
    struct hist late;
    hist_init(&late, 1, 3600LL * 1000 * 1000, sigfigs);
    int64_t t0 = INT64_MAX, t1 = 0;
    double span_us = 0, wait_us = 0;
    for (int i = 0; i < nw; i++) {
        pthread_join(ws[i].thread, NULL);
        struct engine *e = &ws[i].e;
        if (e->fatal[0] && !r->fatal[0])
            snprintf(r->fatal, sizeof r->fatal, "%s", e->fatal);
        if (ws[i].init_err)
            continue;
        for (int s = 0; s < p->nsc; s++)
            scenario_metrics_merge(&r->m[s], &e->m[s]);
        hist_merge(&late, &e->timer_late);
        worker_cpu_fractions(e, &r->workers[i]);
        span_us += (double)(e->wall_end - e->wall_start) / 1000;
        wait_us = wait_us < 0 || r->workers[i].wait < 0 ? -1
                : wait_us + r->workers[i].wait * (double)(e->wall_end - e->wall_start) / 1000;
        if (e->wall_start < t0)
            t0 = e->wall_start;
        if (e->wall_end > t1)
            t1 = e->wall_end;
    }
    r->elapsed_s = t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
    r->timer_late = timers_of(&late, span_us, wait_us);
    hist_free(&late);
    /* A worker that never connected stopped the run already (engine.c);
     * one whose connections were all refused, reset or timed out ran to
     * the end, and its numbers describe no server at all either. */
    if (!r->fatal[0])
        scenario_metrics_none_answered(r->m, r->nsc, r->fatal, sizeof r->fatal);
}

int runner_run(const struct plan *p, const struct runner_opts *o, struct run_result *r)
{
    memset(r, 0, sizeof *r);
    int cpus[MAX_WORKERS];
    int ncpus = worker_cpus(cpus, MAX_WORKERS);
    int nw = workers_count(p, o, ncpus);
    sigset_t sigs;
    signals_block(&sigs);

    struct worker *ws = calloc((size_t)nw, sizeof *ws);
    if (!ws) {
        snprintf(r->fatal, sizeof r->fatal, "out of memory");
        return -1;
    }
    struct tls_ctx **tls = NULL;
    if (p->any_tls && !(tls = tls_contexts_new(p, nw, r))) {
        free(ws);
        return -1;
    }
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)nw + 1);
    int64_t origin = ring_now() + 20 * 1000000LL; /* time for every ring to be made */
    int started = workers_start(ws, nw, cpus, ncpus, p, o, tls, &ready, origin, r);
    if (started != 0) {
        /* Nothing ran: no summary to give, only the reason. */
        for (int i = 0; i < nw; i++)
            pthread_join(ws[i].thread, NULL);
    } else {
        if (o->verbose)
            fprintf(stderr, "blaster: %d workers, %u VUs, io_uring mode %s\n", nw, plan_vus(p), r->ring_mode);
        run_loop(ws, nw, p, o, &sigs, origin, r);
        workers_merge(ws, nw, p, o->sigfigs, r);
    }
    for (int i = 0; i < nw; i++)
        engine_free(&ws[i].e);
    tls_contexts_free(tls, nw); /* after the engines: their connections go first */
    free(ws);
    pthread_barrier_destroy(&ready);
    return started;
}

/* Percentile p, in µs, of client_lag (lag) or http_req_duration over
 * every request of scenario m; -1 when empty. *n: its samples. */
static long long scenario_percentile(const struct scenario_metrics *m, bool lag, double p,
                                     unsigned long long *n)
{
    struct hist all;
    long long v = -1;
    *n = 0;
    if (m->nreq <= 0)
        return -1;
    const struct hist *first = lag ? &m->req[0].lag : &m->req[0].duration;
    if (hist_init(&all, first->lowest, first->highest, first->sigfigs) != 0)
        return -1;
    for (int q = 0; q < m->nreq; q++)
        hist_merge(&all, lag ? &m->req[q].lag : &m->req[q].duration);
    *n = hist_count(&all);
    if (*n)
        v = hist_percentile(&all, p);
    hist_free(&all);
    return v;
}

void runner_verdict(const struct plan *p, const struct run_result *r, struct verdict *v)
{
    double busy[MAX_WORKERS], wait[MAX_WORKERS];
    int nw = r->nworkers < MAX_WORKERS ? r->nworkers : MAX_WORKERS;
    for (int i = 0; i < nw; i++) {
        busy[i] = r->workers[i].busy;
        wait[i] = r->workers[i].wait;
    }
    struct verdict_scenario *sc = calloc(r->nsc > 0 ? (size_t)r->nsc : 1, sizeof *sc);
    struct verdict_input in = { .nworkers = nw, .busy = busy, .wait = wait, .nsc = sc ? r->nsc : 0, .sc = sc,
                                .host = r->timer_late };
    for (int s = 0; sc && s < r->nsc; s++) {
        const struct scenario_metrics *m = &r->m[s];
        unsigned long long n;
        sc[s] = (struct verdict_scenario){ .name = p->sc[s].name, .dropped = m->dropped,
                                           .started = m->iterations + m->interrupted };
        sc[s].lag_p95_us = scenario_percentile(m, true, 95, &n);
        sc[s].lag_p99_us = scenario_percentile(m, true, 99, &sc[s].lag_samples);
        sc[s].dur_p95_us = scenario_percentile(m, false, 95, &n);
        sc[s].dur_p99_us = scenario_percentile(m, false, 99, &n);
    }
    verdict_decide(&in, v);
    free(sc);
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
