/* executor_run — the executors at run time: when this worker's VUs of a
 * scenario start and stop, and when their iterations start. k6's semantics;
 * the arithmetic (VU counts over time, arrival times, shares of a worker)
 * is executor.c's and schedule.c's, called from here, never copied.
 *
 * constant-vus, ramping-vus, per-vu-iterations and shared-iterations run
 * their VUs back to back (or on `pace`); the arrival-rate executors start
 * iterations on a schedule, on an idle VU, else after a wait in a bounded
 * queue (the wait counts as latency), else count a dropped iteration. At
 * the end, running iterations get the graceful stop, then are interrupted.
 * What a VU does inside an iteration is vu.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/run/engine_int.h"
#include "blaster/compile/executor.h"

static void vu_activate(struct engine *e, struct sc_rt *sc, struct vu *v)
{
    if (v->state != VU_OFF)
        return;
    v->state = VU_IDLE;
    v->stop_after = false;
    sc->active++;
    if (sc->active > sc->m->vus_max)
        sc->m->vus_max = sc->active;
    if (sc->ex->preconnect && v->cstate == C_DOWN && !v->backoff_ms)
        conn_connect(e, v, ring_now());
}

static void vu_deactivate(struct engine *e, struct sc_rt *sc, struct vu *v)
{
    if (v->state == VU_OFF)
        return;
    deadline_clear(e, v);
    v->bulk_wait = false;
    v->state = VU_OFF;
    v->stop_after = false;
    v->tgen++;
    sc->active--;
    /* k6 keeps a stopped VU's connections; a VU stopped for good closes its. */
    conn_close(e, v);
}

/* A running iteration is cut: counted as interrupted (and its request in flight). */
static void vu_count_interrupted(struct engine *e, struct sc_rt *sc, struct vu *v)
{
    sc->m->interrupted++;
    if (v->state == VU_BUSY)
        req_metrics(e, v, v->req)->interrupted++;
}

void iteration_start(struct engine *e, struct vu *v, int64_t intended, bool from_queue, int64_t now)
{
    v->iter_start = intended;
    v->intended = intended;
    v->last_done = intended;
    v->from_queue = from_queue;
    v->pc = 0;
    v->hls_phase = 0;
    memset(v->caplen, 0, sizeof v->caplen);
    v->state = VU_READY;
    vu_step(e, v, now);
}

static void idle_push(struct sc_rt *sc, struct vu *v, uint32_t i)
{
    v->state = VU_IDLE;
    if (!v->in_idle) {
        v->in_idle = true;
        sc->idle[sc->nidle++] = i;
    }
}

static struct vu *idle_pop(struct engine *e, struct sc_rt *sc)
{
    while (sc->nidle) {
        struct vu *v = vu_of(e, sc->idle[--sc->nidle]);
        v->in_idle = false;
        if (v->state == VU_IDLE)
            return v;
    }
    return NULL;
}

/* Whether an active VU of a closed-model executor starts another iteration. */
static bool may_iterate(struct sc_rt *sc, struct vu *v, int64_t now)
{
    if (sc->ending || v->stop_after || now >= sc->end)
        return false;
    switch (sc->ex->executor) {
    case EXEC_PER_VU_ITERATIONS:
        return v->iters_done < sc->ex->iterations;
    case EXEC_SHARED_ITERATIONS:
        if (!sc->shared_left)
            return false;
        sc->shared_left--;
        return true;
    default:
        return true;
    }
}

/* An open-model VU is free: the oldest queued arrival, else wait for one. */
static void open_next(struct engine *e, struct sc_rt *sc, struct vu *v, int64_t now)
{
    if (sc->ending || v->stop_after || now >= sc->end) {
        vu_deactivate(e, sc, v);
    } else if (sc->qlen) {
        int64_t t = sc->queue[sc->qhead];
        sc->qhead = (sc->qhead + 1) & (sc->qcap - 1);
        sc->qlen--;
        iteration_start(e, v, t, true, now);
    } else {
        idle_push(sc, v, vu_idx(e, v));
    }
}

void iteration_end(struct engine *e, struct vu *v, int64_t now, bool completed)
{
    struct sc_rt *sc = sc_of(e, v);
    if (completed) {
        sc->m->iterations++;
        hist_record(&sc->m->iteration_duration, ns_to_us(now - v->iter_start));
        v->iters_done++;
    }
    v->iter++;
    if (sc->open) {
        open_next(e, sc, v, now);
        return;
    }
    if (!may_iterate(sc, v, now)) {
        vu_deactivate(e, sc, v);
        return;
    }
    if (sc->ex->pace_ns > 0) {
        /* On pace, the next iteration is due one pace after this one was:
         * when late it starts at once, and its lateness counts. */
        int64_t next = v->iter_start + sc->ex->pace_ns;
        if (next > now) {
            v->iter_start = next;
            timer_start(e, v, T_PACE, next);
            return;
        }
        iteration_start(e, v, next, false, now);
        return;
    }
    /* Back to back: the next iteration was due when this one's last step
     * ended as intended (a think's end, not when its timer fired), so a late
     * timer counts in client_lag. */
    iteration_start(e, v, v->intended < now ? v->intended : now, false, now);
}

/* --- arrivals (open model) ----------------------------------------------------- */

/* One arrival: on an idle VU, else queued; false when it was dropped. */
static bool sc_arrival(struct engine *e, struct sc_rt *sc, int64_t t, int64_t now)
{
    struct vu *v = idle_pop(e, sc);
    if (v) {
        iteration_start(e, v, t, false, now);
    } else if (sc->qlen < sc->qcap) {
        sc->queue[(sc->qhead + sc->qlen) & (sc->qcap - 1)] = t;
        sc->qlen++;
        sc->m->req[0].queued++;
    } else {
        sc->m->dropped++;
        return false;
    }
    return true;
}

static int64_t sc_take_arrival(struct sc_rt *sc)
{
    int64_t t = sc->next_arrival;
    if (sc->use_sched) {
        schedule_take(&sc->sched);
        sc->next_arrival = schedule_peek(&sc->sched);
    } else {
        int64_t n = arrivals_next(&sc->arr);
        sc->next_arrival = n < 0 ? INT64_MAX : sc->start + n;
    }
    return t;
}

/* Every arrival still due at or before `until` is dropped (no VU is free,
 * the queue is full, and nothing frees one within this loop turn): counted
 * by arithmetic on the schedule, not one by one, whatever the rate. */
static void sc_drop_due(struct sc_rt *sc, int64_t until)
{
    if (sc->next_arrival > until)
        return;
    if (sc->use_sched) {
        sc->m->dropped += schedule_skip(&sc->sched, until);
        sc->next_arrival = schedule_peek(&sc->sched);
        return;
    }
    /* next_arrival was taken from the iterator already: it is one of them. */
    sc->m->dropped += 1 + arrivals_skip(&sc->arr, until - sc->start);
    int64_t n = arrivals_next(&sc->arr);
    sc->next_arrival = n < 0 ? INT64_MAX : sc->start + n;
}

/* The arrivals due by now, each on an idle VU (k6 adds VUs up to max_vus
 * when the pre-allocated ones are busy), else queued, else dropped; at most
 * ARRIVALS_PER_TURN of them, so that the engine's loop looks at the stop
 * flag (and its completions) between batches: the rest stay due and the
 * loop comes back at once. */
static void sc_arrivals(struct engine *e, struct sc_rt *sc, int64_t now)
{
    int64_t until = now < sc->end - 1 ? now : sc->end - 1; /* none at or after the end */
    for (int k = 0; k < ARRIVALS_PER_TURN && sc->next_arrival <= until; k++) {
        int64_t t = sc_take_arrival(sc);
        if (!sc->nidle) {
            for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
                struct vu *v = vu_of(e, i);
                if (v->state == VU_OFF) {
                    vu_activate(e, sc, v);
                    idle_push(sc, v, i);
                    break;
                }
            }
        }
        if (!sc_arrival(e, sc, t, now)) {
            sc_drop_due(sc, until);
            return;
        }
    }
}

/* --- the scenario's life ---------------------------------------------------------- */

/* The scenario's start: its VUs become active (all of them, or the open
 * model's pre-allocated ones); ramping-vus waits for its first change. */
static void sc_begin(struct engine *e, struct sc_rt *sc, int64_t now)
{
    sc->started = true;
    if (sc->open) {
        for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->gid <= sc->ex->pre_allocated_vus || sc->ex->pre_allocated_vus == 0) {
                vu_activate(e, sc, v);
                idle_push(sc, v, i);
            }
        }
        return;
    }
    if (sc->ex->executor == EXEC_RAMPING_VUS)
        return;
    for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
        struct vu *v = vu_of(e, i);
        vu_activate(e, sc, v);
        if (may_iterate(sc, v, now))
            iteration_start(e, v, now, false, now);
        else
            vu_deactivate(e, sc, v);
    }
}

/* Set the closed-model VUs active to match this worker's target (ramping-
 * vus, executor.h's contract): local VU k is active when k < target, so VUs
 * start and stop in order; VUs above it finish their iteration, then stop. */
static void sc_set_target(struct engine *e, struct sc_rt *sc, uint32_t target, int64_t now)
{
    for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
        struct vu *v = vu_of(e, i);
        if (i - sc->first < target) {
            if (v->state == VU_OFF) {
                vu_activate(e, sc, v);
                iteration_start(e, v, now, false, now);
            } else {
                v->stop_after = false;
            }
        } else if (v->state != VU_OFF) {
            v->stop_after = true;
            if (v->state == VU_IDLE)
                vu_deactivate(e, sc, v);
        }
    }
}

/* ramping-vus: the VU target changes due by now, then the graceful
 * ramp-down caps: VUs above a cap whose time has come are interrupted. */
static void sc_ramp(struct engine *e, struct sc_rt *sc, int64_t now)
{
    while (sc->next_change < sc->nchanges && sc->start + sc->changes[sc->next_change].t_ns <= now) {
        sc_set_target(e, sc, sc->changes[sc->next_change].vus, now);
        sc->next_change++;
    }
    while (sc->next_cap < sc->ncaps && sc->start + sc->caps[sc->next_cap].t_ns <= now) {
        uint32_t lim = sc->caps[sc->next_cap].vus;
        for (uint32_t i = sc->first + lim; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->state == VU_OFF)
                continue;
            vu_count_interrupted(e, sc, v);
            vu_deactivate(e, sc, v);
        }
        sc->next_cap++;
    }
}

/* No new iterations from here; those running may finish within the
 * graceful stop. What is still queued, or due and not taken yet (a batch
 * behind), was due and never started. */
static void sc_begin_ending(struct engine *e, struct sc_rt *sc)
{
    sc->ending = true;
    if (sc->open)
        sc_drop_due(sc, sc->end - 1);
    sc->m->dropped += sc->qlen;
    sc->qlen = 0;
    for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
        struct vu *v = vu_of(e, i);
        if (v->state == VU_IDLE || v->state == VU_SLEEP)
            vu_deactivate(e, sc, v);
        else if (v->state != VU_OFF)
            v->stop_after = true;
    }
}

/* Ending: done when no VU runs; at the hard end (graceful stop over) what
 * still runs is interrupted. Returns the next event time. */
static int64_t sc_ending(struct engine *e, struct sc_rt *sc, int64_t now)
{
    bool running = false;
    for (uint32_t i = sc->first; i < sc->first + sc->n && !running; i++)
        running = vu_of(e, i)->state != VU_OFF;
    if (running && now >= sc->hard_end) {
        for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
            struct vu *v = vu_of(e, i);
            if (v->state != VU_OFF) {
                vu_count_interrupted(e, sc, v);
                vu_deactivate(e, sc, v);
            }
        }
        running = false;
    }
    if (!running) {
        sc->done = true;
        return INT64_MAX;
    }
    return sc->hard_end;
}

/* The earliest of the scenario's next events: its end, an arrival, a change, a cap. */
static int64_t sc_next_event(const struct sc_rt *sc)
{
    int64_t next = sc->end;
    if (sc->open && sc->next_arrival < next)
        next = sc->next_arrival;
    if (sc->next_change < sc->nchanges && sc->start + sc->changes[sc->next_change].t_ns < next)
        next = sc->start + sc->changes[sc->next_change].t_ns;
    if (sc->next_cap < sc->ncaps && sc->start + sc->caps[sc->next_cap].t_ns < next)
        next = sc->start + sc->caps[sc->next_cap].t_ns;
    return next;
}

/* Move one scenario's executor to `now`; returns its next event time. */
int64_t sc_tick(struct engine *e, struct sc_rt *sc, int64_t now)
{
    if (sc->done)
        return INT64_MAX;
    if (!sc->started) {
        if (now < sc->start)
            return sc->start;
        sc_begin(e, sc, now);
    }
    if (sc->open && !sc->ending)
        sc_arrivals(e, sc, now);
    sc_ramp(e, sc, now);
    /* Iteration executors end when their VUs have run every iteration, not
     * at max_duration. */
    bool finished = (sc->ex->executor == EXEC_PER_VU_ITERATIONS || sc->ex->executor == EXEC_SHARED_ITERATIONS) &&
                    sc->active == 0;
    if (!sc->ending && (now >= sc->end || finished))
        sc_begin_ending(e, sc);
    if (sc->ending)
        return sc_ending(e, sc, now);
    return sc_next_event(sc);
}

/* The run stopped early (a signal, a threshold's abort, a fatal error): what
 * is running is interrupted, what is queued was never started. */
void sc_stop(struct engine *e, struct sc_rt *sc)
{
    if (sc->done)
        return;
    sc->m->dropped += sc->qlen;
    sc->qlen = 0;
    for (uint32_t i = sc->first; i < sc->first + sc->n; i++) {
        struct vu *v = vu_of(e, i);
        if (v->state != VU_OFF && v->state != VU_IDLE)
            vu_count_interrupted(e, sc, v);
    }
}

/* --- setup ------------------------------------------------------------------------ */

/* A queue for QUEUE_SECONDS of arrivals at per_s a second, a power of 2,
 * within 1024 + that and QUEUE_MAX (any rate: the double is compared first). */
static uint32_t queue_cap(double per_s)
{
    double want = per_s * QUEUE_SECONDS + 1024;
    return want < QUEUE_MAX ? pow2_at_least((uint64_t)want) : QUEUE_MAX;
}

/* The open model's schedule on this worker, and a queue holding QUEUE_SECONDS of it. */
static void sc_setup_arrivals(struct engine *e, struct sc_rt *sc, const struct plan_scenario *p)
{
    const struct engine_config *cfg = &e->cfg;
    const struct executor_config *s = sc->ex;
    double unit = (double)(s->time_unit_ns ? s->time_unit_ns : 1000000000LL);
    if (s->executor == EXEC_CONSTANT_ARRIVAL_RATE) {
        double per_s = s->rate * 1e9 / unit;
        double mine = per_s / cfg->nworkers;
        sc->use_sched = true;
        /* Workers' schedules interleave instead of firing together (an
         * offset past the end, at a tiny rate: this worker has none). */
        double offset = 1e9 / per_s * cfg->worker;
        schedule_init(&sc->sched, offset < (double)(sc->end - sc->start) ? sc->start + (int64_t)offset : INT64_MAX,
                      mine, s->poisson, cfg->seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(cfg->worker + 1)));
        sc->next_arrival = schedule_peek(&sc->sched);
        sc->qcap = queue_cap(mine);
    } else {
        arrivals_init_segment(&sc->arr, s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers);
        int64_t n = arrivals_next(&sc->arr);
        sc->next_arrival = n < 0 ? INT64_MAX : sc->start + n;
        double peak = s->start_rate;
        for (int i = 0; i < s->nstages; i++)
            if (s->stages[i].target > peak)
                peak = s->stages[i].target;
        sc->qcap = queue_cap(peak * 1e9 / unit / cfg->nworkers);
    }
}

/* ramping-vus: this worker's VU target changes and graceful ramp-down caps. */
static int sc_setup_ramp(struct engine *e, struct sc_rt *sc)
{
    uint32_t w = (uint32_t)e->cfg.worker, nw = (uint32_t)e->cfg.nworkers;
    /* Like snprintf: the first call tells the length of the whole list. */
    size_t n = executor_vu_changes(sc->ex, w, nw, NULL, 0);
    sc->changes = calloc(n ? n : 1, sizeof *sc->changes);
    if (!sc->changes)
        return -ENOMEM;
    sc->nchanges = (int)executor_vu_changes(sc->ex, w, nw, sc->changes, n);
    /* The caps list is its own work space: a first call says how big. */
    size_t need = executor_vu_caps(sc->ex, w, nw, NULL, 0);
    sc->caps = calloc(need ? need : 1, sizeof *sc->caps);
    if (!sc->caps)
        return -ENOMEM;
    size_t got = executor_vu_caps(sc->ex, w, nw, sc->caps, need);
    sc->ncaps = (int)(got <= need ? got : 0);
    return 0;
}

int sc_setup(struct engine *e, struct sc_rt *sc, const struct plan_scenario *p)
{
    const struct engine_config *cfg = &e->cfg;
    const struct executor_config *s = &p->exec;
    sc->p = p;
    sc->ex = s;
    sc->tls = p->tls ? cfg->tls : NULL;
    sc->start = cfg->origin_ns + s->start_time_ns;
    sc->end = sc->start + executor_duration(s);
    sc->hard_end = sc->end + s->graceful_stop_ns;
    sc->next_arrival = INT64_MAX;
    sc->open = s->executor == EXEC_CONSTANT_ARRIVAL_RATE || s->executor == EXEC_RAMPING_ARRIVAL_RATE;
    if (sc->open) {
        sc_setup_arrivals(e, sc, p);
        if (!(sc->queue = calloc(sc->qcap, sizeof *sc->queue)))
            return -ENOMEM;
    }
    if (s->executor == EXEC_RAMPING_VUS && sc_setup_ramp(e, sc) != 0)
        return -ENOMEM;
    if (s->executor == EXEC_SHARED_ITERATIONS) /* k6's split: a worker without VUs gets none */
        sc->shared_left = executor_shared_iterations(s, (uint32_t)cfg->worker, (uint32_t)cfg->nworkers);
    sc->idle = calloc(sc->n ? sc->n : 1, sizeof *sc->idle);
    return sc->idle ? 0 : -ENOMEM;
}

void sc_free(struct sc_rt *sc)
{
    free(sc->queue);
    free(sc->idle);
    free(sc->changes);
    free(sc->caps);
}
