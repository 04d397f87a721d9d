/* verdict — see verdict.h. */
#include "blaster/run/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blaster/common/hist.h"

/* How one scenario's client_lag weighs against what it reports. */
enum lag_weight {
    LAG_UNJUDGED,    /* too few samples, or nothing reported to weigh it against */
    LAG_IMMATERIAL,  /* a small share of the scenario's p95 */
    LAG_CLIENT,      /* material, and more than the host's timers explain */
    LAG_CPU,         /* material, caused by other processes on the client's CPU: the client's side */
    LAG_HOST,        /* material, within what the host's timers explain, and they are material too */
};

__attribute__((format(printf, 4, 5)))
static void line_add(char (*lines)[200], int *n, int max, const char *fmt, ...)
{
    if (*n >= max)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lines[(*n)++], sizeof lines[0], fmt, ap);
    va_end(ap);
}

static bool host_known(const struct verdict_timers *h)
{
    return h->samples >= VERDICT_LAG_MIN_SAMPLES && h->p99_us >= 0;
}

/* How late the host makes sends: its timers' p99, or the lag p99 their
 * longest wake-ups cause if more. */
static double host_figure_us(const struct verdict_timers *h)
{
    return (double)(h->lag_p99_us > h->p99_us ? h->lag_p99_us : h->p99_us);
}

/* What the host's timers explain of a client_lag p99, in µs. */
static double host_explains_us(const struct verdict_timers *h)
{
    double twice = VERDICT_HOST_FACTOR * (double)h->p99_us, caused = (double)h->lag_p99_us;
    double worst = (double)h->p999_us, x = caused > twice ? caused : twice;
    if (worst > x)
        x = worst;
    return (host_known(h) ? x : 0) + VERDICT_HOST_MARGIN_US;
}

/* The most a worker waited for its CPU, as a share of the run (0 unknown). */
static double wait_most(const struct verdict_input *in, int *who)
{
    double most = 0;
    *who = 0;
    for (int w = 0; w < in->nworkers; w++)
        if (in->wait[w] > most) {
            most = in->wait[w];
            *who = w;
        }
    return most;
}

/* Were the late wake-ups other processes on the workers' CPUs? When the
 * workers' run-queue wait is a fair share of the wake-ups' summed lateness,
 * yes; a VM's own lateness (its vCPU not running) leaves no such wait. */
static bool wake_ups_queued(const struct verdict_timers *h)
{
    return h->late_sum_us > 0 && h->wait_sum_us >= VERDICT_QUEUED_SHARE * h->late_sum_us;
}

static enum lag_weight lag_weigh(const struct verdict_input *in, const struct verdict_scenario *s)
{
    const struct verdict_timers *h = &in->host;
    if (s->lag_samples < VERDICT_LAG_MIN_SAMPLES || s->lag_p99_us < 0 || s->dur_p95_us <= 0)
        return LAG_UNJUDGED;
    double share = VERDICT_LAG_SHARE * (double)s->dur_p95_us;
    if ((double)s->lag_p99_us <= share)
        return LAG_IMMATERIAL;
    int who;
    bool preempted = wait_most(in, &who) >= VERDICT_PREEMPT_SHARE;
    bool timers = (double)s->lag_p99_us <= host_explains_us(h);
    if (!timers && !preempted)
        return LAG_CLIENT;
    if (preempted && (!timers || wake_ups_queued(h)))
        return LAG_CPU;
    /* Within the margin of a loop turn's work while the timers are punctual:
     * nobody's lateness worth naming. */
    return host_known(h) && host_figure_us(h) > share ? LAG_HOST : LAG_IMMATERIAL;
}

static void workers_judge(const struct verdict_input *in, struct verdict *v)
{
    for (int w = 0; w < in->nworkers; w++) {
        if (in->busy[w] >= VERDICT_BUSY_LIMIT)
            line_add(v->reasons, &v->nreasons, VERDICT_MAX_REASONS,
                     "worker %d was busy %.0f%% of the run (limit %.0f%%): the client may bound throughput",
                     w, in->busy[w] * 100, VERDICT_BUSY_LIMIT * 100);
        if (in->wait[w] >= VERDICT_WAIT_LIMIT)
            line_add(v->reasons, &v->nreasons, VERDICT_MAX_REASONS,
                     "worker %d waited for its CPU %.0f%% of the run (limit %.0f%%): another process is using it",
                     w, in->wait[w] * 100, VERDICT_WAIT_LIMIT * 100);
    }
}

static void timers_evidence(const struct verdict_timers *h, struct verdict *v)
{
    if (h->samples == 0 || h->p99_us < 0)
        line_add(v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE,
                 "timer lateness: not measured (the workers never slept until a deadline)");
    else
        line_add(v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE,
                 "timer lateness p50/p99/p99.9 %.2f/%.2f/%.2fms over %llu wake-ups (client_lag p99 %.2fms "
                 "from them alone)", (double)h->p50_us / 1000, (double)h->p99_us / 1000,
                 (double)h->p999_us / 1000, h->samples, h->lag_p99_us > 0 ? (double)h->lag_p99_us / 1000 : 0);
}

static double pct_of(long long part, long long whole)
{
    double r = whole > 0 && part > 0 ? 100.0 * (double)part / (double)whole : 0;
    return r > 100 ? 100 : r;
}

static void host_reason(const struct verdict_input *in, const char *pre, const struct verdict_scenario *s,
                        char (*lines)[200], int *n, int max)
{
    line_add(lines, n, max, "this machine's timers wake late: p99 %.2fms (client_lag p99 %.2fms from them "
             "alone, %.2fms seen), material against %shttp_req_duration p95 %.2fms",
             (double)in->host.p99_us / 1000, (double)(in->host.lag_p99_us > 0 ? in->host.lag_p99_us : 0) / 1000,
             (double)s->lag_p99_us / 1000, pre, (double)s->dur_p95_us / 1000);
}

/* Other processes on the client's CPU delayed its sends: a reason under
 * VERDICT_WAIT_LIMIT (over it, workers_judge gave one already). */
static void cpu_reason(const struct verdict_input *in, const char *pre, const struct verdict_scenario *s,
                       struct verdict *v)
{
    int who;
    double wait = wait_most(in, &who);
    bool reason = wait < VERDICT_WAIT_LIMIT;
    line_add(reason ? v->reasons : v->evidence, reason ? &v->nreasons : &v->nevidence,
             reason ? VERDICT_MAX_REASONS : VERDICT_MAX_EVIDENCE,
             "worker %d waited for its CPU %.1f%% of the run: other processes on it explain %sclient_lag p99 "
             "%.2fms, material against http_req_duration p95 %.2fms", who, wait * 100, pre,
             (double)s->lag_p99_us / 1000, (double)s->dur_p95_us / 1000);
}

/* One scenario's lines: its share as evidence, and the reason when its
 * lag weighs (the host's only when nothing is the client's). */
static void scenario_judge(const struct verdict_input *in, const struct verdict_scenario *s,
                           enum lag_weight wt, bool client, struct verdict *v)
{
    char pre[72] = "";
    if (in->nsc > 1)
        snprintf(pre, sizeof pre, "%s: ", s->name ? s->name : "?");
    double lag = (double)s->lag_p99_us / 1000, p95 = (double)s->dur_p95_us / 1000;
    if (wt == LAG_UNJUDGED && s->lag_samples > 0)
        line_add(v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE,
                 "%sclient_lag not judged: %llu samples (at least %d needed)", pre, s->lag_samples,
                 VERDICT_LAG_MIN_SAMPLES);
    else if (wt != LAG_UNJUDGED)
        line_add(v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE,
                 "%sclient_lag p95/p99 %.2f/%.2fms: up to %.0f%%/%.0f%% of http_req_duration p95/p99 %.2f/%.2fms "
                 "could be the client's", pre, (double)s->lag_p95_us / 1000, lag,
                 pct_of(s->lag_p95_us, s->dur_p95_us), pct_of(s->lag_p99_us, s->dur_p99_us), p95,
                 (double)s->dur_p99_us / 1000);
    if (wt == LAG_CLIENT)
        line_add(v->reasons, &v->nreasons, VERDICT_MAX_REASONS,
                 "%sclient_lag p99 %.2fms is over %.0f%% of http_req_duration p95 %.2fms and more than this "
                 "machine's timers explain (%.2fms): requests left late although a connection was free",
                 pre, lag, VERDICT_LAG_SHARE * 100, p95, host_explains_us(&in->host) / 1000);
    if (wt == LAG_CPU)
        cpu_reason(in, pre, s, v);
    if (wt == LAG_HOST) {
        if (client)
            host_reason(in, pre, s, v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE);
        else
            host_reason(in, pre, s, v->reasons, &v->nreasons, VERDICT_MAX_REASONS);
    }
    if (s->dropped)
        line_add(v->evidence, &v->nevidence, VERDICT_MAX_EVIDENCE,
                 "%s%llu of %llu scheduled iterations dropped (%.1f%%): no VU was free when they were due",
                 pre, s->dropped, s->dropped + s->started,
                 100.0 * (double)s->dropped / (double)(s->dropped + s->started));
}

void verdict_decide(const struct verdict_input *in, struct verdict *v)
{
    memset(v, 0, sizeof *v);
    v->host = in->host;
    workers_judge(in, v);
    bool client = v->nreasons > 0, host = false;
    for (int s = 0; s < in->nsc; s++) {
        enum lag_weight wt = lag_weigh(in, &in->sc[s]);
        client |= wt == LAG_CLIENT || wt == LAG_CPU;
        host |= wt == LAG_HOST;
    }
    timers_evidence(&in->host, v);
    for (int s = 0; s < in->nsc; s++)
        scenario_judge(in, &in->sc[s], lag_weigh(in, &in->sc[s]), client, v);
    v->status = client ? VERDICT_CLIENT_LIMITED : host ? VERDICT_HOST_LIMITED : VERDICT_OK;
}

/* µs by which the late wake-ups in h delay sends due at an even rate over
 * span_us, beyond y: a wake-up late by L delays the sends due in those L µs
 * by L..0, so Σ max(0, L − y) µs of the span have a send waiting more than y. */
static double timers_excess(const struct hist *h, double y)
{
    struct hist_iter it;
    double sum = 0;
    hist_iter_init(&it, h);
    while (hist_iter_next(&it)) {
        double l = (double)(it.value_lo + it.value_hi) / 2;
        if (l > y)
            sum += (l - y) * (double)it.count;
    }
    return sum;
}

/* The y whose excess is 1% of the span (bisection; the excess falls with y). */
long long verdict_timers_lag_p99(const struct hist *h, double span_us)
{
    double lo = 0, hi = (double)hist_max(h), want = 0.01 * span_us;
    if (span_us <= 0 || hist_count(h) == 0)
        return -1;
    for (int i = 0; i < 40 && hi - lo > 1; i++) {
        double mid = (lo + hi) / 2;
        if (timers_excess(h, mid) > want)
            lo = mid;
        else
            hi = mid;
    }
    return (long long)hi;
}

const char *verdict_status_name(enum verdict_status s)
{
    return s == VERDICT_CLIENT_LIMITED ? "CLIENT-LIMITED" : s == VERDICT_HOST_LIMITED ? "HOST-LIMITED" : "OK";
}
