/* report_aggregate — see report_int.h. One path computes every number of
 * the report: a metric (a catalog entry + a tag filter) is resolved into a
 * struct mval by merging the per-request metrics the filter selects. The
 * thresholds, the text summary and the JSON export all read mvals, so the
 * value a threshold was judged on is the value printed and exported next to
 * it. The workers' metrics are already merged (runner.c, metrics.c); nothing
 * here runs during the load. */
#include "blaster/results/report_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct filter filter_all = { -1, NULL, NULL, -1 };

/* ---- the executor settings the report reads ------------------------------
 * Every read of a scenario's executor configuration is here. */

const char *rep_executor_name(const struct plan_scenario *ps)
{
    return executor_kind_name(ps->exec.executor);
}

bool rep_closed_without_pace(const struct plan_scenario *ps)
{
    const struct executor_config *s = &ps->exec;
    return s->executor != EXEC_CONSTANT_ARRIVAL_RATE && s->executor != EXEC_RAMPING_ARRIVAL_RATE &&
           s->pace_ns <= 0;
}

/* ---- slots: the per-request metrics a filter selects --------------------- */

/* The request whose metrics are slot q of scenario ps: the first request
 * with that metric index (pre-rendered variants of one step may share it),
 * or NULL when no request names it. */
static const struct plan_request *slot_req(const struct plan_scenario *ps, int q)
{
    for (int r = 0; r < ps->nreqs; r++)
        if (ps->reqs[r].metric == q)
            return &ps->reqs[r];
    return NULL;
}

static bool slot_match(const struct plan_request *rq, const struct filter *f)
{
    if (!f->name && !f->method)
        return true;
    if (!rq)
        return false;
    if (f->name && (!rq->name || strcmp(rq->name, f->name) != 0))
        return false;
    if (f->method && (!rq->method || strcmp(rq->method, f->method) != 0))
        return false;
    return true;
}

const struct metrics *rep_slot_next(struct slot_it *it, const struct plan_request **rq)
{
    const struct plan *p = it->in->plan;
    while (it->s < p->nsc) {
        const struct scenario_metrics *sm = &it->in->m[it->s];
        if ((it->f->sc >= 0 && it->s != it->f->sc) || it->q >= sm->nreq) {
            it->s++;
            it->q = 0;
            continue;
        }
        int q = it->q++;
        const struct plan_request *r = slot_req(&p->sc[it->s], q);
        if (slot_match(r, it->f)) {
            if (rq)
                *rq = r;
            return &sm->req[q];
        }
    }
    return NULL;
}

void rep_reqsum(const struct report_input *in, const struct filter *f, struct metrics *s)
{
    memset(s, 0, sizeof *s);
    struct slot_it it = { in, f, 0, 0 };
    const struct metrics *m;
    while ((m = rep_slot_next(&it, NULL)))
        metrics_add_counters(s, m);
}

bool rep_tls_seen(const struct metrics *s)
{
    return s->handshakes > 0 || s->errors[ERR_TLS] > 0;
}

/* ---- trends -------------------------------------------------------------- */

static const struct hist *req_hist(const struct metrics *m, const struct metric_def *d, int expected)
{
    size_t off = expected == 1 && (d->flags & MF_EXPECTED) ? d->field2 : d->field;
    return (const struct hist *)((const char *)m + off);
}

/* Initialise out like src (or blaster's defaults without one) and merge src in. */
static int hist_add(struct hist *out, const struct hist *src)
{
    if (!out->counts) {
        int rc = src && src->counts ? hist_init(out, src->lowest, src->highest, src->sigfigs)
                                    : hist_init(out, 1, 3600LL * 1000 * 1000, 3);
        if (rc != 0)
            return rc;
    }
    return src && src->counts ? hist_merge(out, src) : 0;
}

int rep_hist(const struct report_input *in, const struct filter *f, const struct metric_def *d, struct hist *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (d->scope == MSCOPE_SCENARIO) {
        for (int s = 0; s < in->plan->nsc && rc == 0; s++)
            if (f->sc < 0 || f->sc == s)
                rc = hist_add(out, (const struct hist *)((const char *)&in->m[s] + d->field));
    } else {
        struct slot_it it = { in, f, 0, 0 };
        const struct metrics *m;
        while ((m = rep_slot_next(&it, NULL)) && rc == 0)
            rc = hist_add(out, req_hist(m, d, f->expected));
    }
    if (rc == 0 && !out->counts)
        rc = hist_add(out, NULL);   /* nothing selected: an empty trend */
    if (rc != 0 && out->counts)
        hist_free(out);
    return rc;
}

int rep_hist_named(const struct report_input *in, const struct filter *f, const char *name, struct hist *out)
{
    return rep_hist(in, f, metric_find(name), out);
}

/* ---- per-scenario counters ----------------------------------------------- */

void rep_scsum(const struct report_input *in, const struct filter *f, struct scsum *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < in->plan->nsc; i++) {
        if (f->sc >= 0 && f->sc != i)
            continue;
        const struct scenario_metrics *m = &in->m[i];
        s->iterations += m->iterations;
        s->dropped += m->dropped;
        s->interrupted += m->interrupted;
        s->vus += m->vus;
        s->vus_max += m->vus_max;
        s->nsc++;
    }
}

/* ---- metric values ------------------------------------------------------- */

void rep_mval_free(struct mval *v)
{
    if (v->h.counts)
        hist_free(&v->h);
}

static uint64_t field_of(const void *base, size_t off)
{
    return *(const uint64_t *)((const char *)base + off);
}

/* A request-scoped counter or rate: its fields summed over the selection. */
static int mval_requests(const struct report_input *in, const struct metric_def *d, const struct filter *f,
                         struct mval *v)
{
    struct metrics *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    rep_reqsum(in, f, s);
    uint64_t ok = s->reqs >= s->failed ? s->reqs - s->failed : 0;
    switch (d->id) {
    case MID_REQS:
        v->count = (double)(f->expected == 1 ? ok : f->expected == 0 ? s->failed : s->reqs);
        break;
    case MID_FAILED: /* k6's Rate: the true samples are the failed requests */
        v->passes = f->expected == 1 ? 0 : s->failed;
        v->fails = f->expected == 0 ? 0 : ok;
        break;
    default:
        if (d->type == METRIC_RATE) {
            v->passes = field_of(s, d->field);
            v->fails = field_of(s, d->field2);
        } else {
            v->count = (double)field_of(s, d->field);
        }
        break;
    }
    free(s);
    return 0;
}

/* A scenario-scoped counter or gauge over the selected scenarios. */
static void mval_scenarios(const struct report_input *in, const struct metric_def *d, const struct filter *f,
                           struct mval *v)
{
    struct scsum s;
    rep_scsum(in, f, &s);
    switch (d->id) {
    case MID_VUS:
        /* The gauge's samples blaster keeps: the last value and the peak. */
        v->value = (double)s.vus;
        v->max = (double)(s.vus_max > s.vus ? s.vus_max : s.vus);
        v->min = v->value;
        v->gauge_set = s.nsc > 0;
        break;
    case MID_VUS_MAX:
        v->value = v->min = v->max = (double)s.vus_max;
        v->gauge_set = s.nsc > 0;
        break;
    default:
        for (int i = 0; i < in->plan->nsc; i++)
            if (f->sc < 0 || f->sc == i)
                v->count += (double)field_of(&in->m[i], d->field);
        break;
    }
}

int rep_mval_compute(const struct report_input *in, const struct metric_def *d, const struct filter *f,
                     struct mval *v)
{
    memset(v, 0, sizeof *v);
    v->def = d;
    double el = in->elapsed_s > 0 ? in->elapsed_s : 0;
    if (d->type == METRIC_TREND) {
        int rc = rep_hist(in, f, d, &v->h);
        v->count = rc == 0 ? (double)hist_count(&v->h) : 0;
        return rc;
    }
    if (d->scope == MSCOPE_REQUEST) {
        int rc = mval_requests(in, d, f, v);
        if (rc != 0)
            return rc;
    } else {
        mval_scenarios(in, d, f, v);
    }
    if (d->type == METRIC_COUNTER)
        v->rate = el > 0 ? v->count / el : 0;
    if (d->type == METRIC_RATE) {
        v->count = (double)(v->passes + v->fails);
        v->rate = v->count > 0 ? (double)v->passes / v->count : 0;
    }
    return 0;
}

static double pct_ms(const void *ctx, double p)
{
    return (double)hist_percentile(ctx, p) / 1000.0;
}

void rep_mval_values(const struct mval *v, struct metric_values *out)
{
    memset(out, 0, sizeof *out);
    out->type = v->def->type;
    out->count = v->count;
    out->rate = v->rate;
    switch (v->def->type) {
    case METRIC_GAUGE:
        out->value = v->value;
        out->count = v->gauge_set ? 1 : 0;
        break;
    case METRIC_TREND:
        if (v->h.counts && hist_count(&v->h)) {
            out->avg = rep_mean_us(&v->h) / 1000.0;
            out->min = (double)hist_min(&v->h) / 1000.0;
            out->max = (double)hist_max(&v->h) / 1000.0;
            out->med = (double)hist_percentile(&v->h, 50) / 1000.0;
        }
        out->percentile = v->h.counts ? pct_ms : NULL;
        out->ctx = &v->h;
        break;
    default:
        break;
    }
}

/* ---- trend statistics ---------------------------------------------------- */

static void stats_add(struct stats *st, const char *s)
{
    struct report_stat x;
    if (st->n >= MAX_STATS || report_stat_parse(s, &x) != 0)
        return;
    for (int i = 0; i < st->n; i++)
        if (st->v[i].kind == x.kind && (x.kind != RSTAT_P || st->v[i].p == x.p))
            return;
    st->v[st->n++] = x;
}

void rep_stats(const struct plan *p, struct stats *st)
{
    static const char *const k6_default[] = { "avg", "min", "med", "max", "p(90)", "p(95)" };
    st->n = 0;
    const struct scenario_file *sf = p ? p->file : NULL;
    if (sf && sf->nsummary_trend_stats > 0)
        for (int i = 0; i < sf->nsummary_trend_stats; i++)
            stats_add(st, sf->summary_trend_stats[i]);
    else
        for (size_t i = 0; i < sizeof k6_default / sizeof k6_default[0]; i++)
            stats_add(st, k6_default[i]);
    stats_add(st, "p(99)");
    stats_add(st, "p(99.9)");
}

/* ---- steps and checks ---------------------------------------------------- */

const char **rep_step_names(const struct report_input *in, int s, int *n)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    const struct scenario_metrics *sm = &in->m[s];
    *n = 0;
    if (sm->nreq <= 0)
        return NULL;
    const char **names = calloc((size_t)sm->nreq, sizeof *names);
    if (!names)
        return NULL;
    for (int q = 0; q < sm->nreq; q++) {
        const struct plan_request *rq = slot_req(ps, q);
        if (!rq || !rq->name)
            continue;
        bool seen = false;
        for (int i = 0; i < *n && !seen; i++)
            seen = strcmp(names[i], rq->name) == 0;
        if (!seen)
            names[(*n)++] = rq->name;
    }
    return names;
}

void rep_checks_free(struct check_row *c, int n)
{
    for (int i = 0; i < n; i++)
        free(c[i].name);
    free(c);
}

/* The name a step's checks go by: its check_name, else one made of its
 * name and what it checks. */
static const char *check_name(const struct plan_request *rq, char *fallback, size_t n)
{
    if (rq->check_name)
        return rq->check_name;
    snprintf(fallback, n, "%s: %s", rq->name ? rq->name : "?",
             rq->has_expect ? "status as expected" : "captures found");
    return fallback;
}

/* A step counts checks when it has `expect` (its check_name) or captures (a
 * capture that found nothing fails its check). */
int rep_checks_collect(const struct report_input *in, const struct filter *f, struct check_row **out)
{
    *out = NULL;
    int n = 0, cap = 0;
    struct slot_it it = { in, f, 0, 0 };
    const struct metrics *m;
    const struct plan_request *rq;
    while ((m = rep_slot_next(&it, &rq))) {
        if (!rq || (!rq->has_expect && m->checks_pass + m->checks_fail == 0))
            continue;
        char fallback[256];
        const char *name = check_name(rq, fallback, sizeof fallback);
        int i = 0;
        while (i < n && strcmp((*out)[i].name, name) != 0)
            i++;
        if (i == n) {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                struct check_row *c = realloc(*out, (size_t)cap * sizeof *c);
                if (!c)
                    goto nomem;
                *out = c;
            }
            (*out)[n] = (struct check_row){ strdup(name), 0, 0 };
            if (!(*out)[n].name)
                goto nomem;
            n++;
        }
        (*out)[i].passes += m->checks_pass;
        (*out)[i].fails += m->checks_fail;
    }
    return n;
nomem:
    rep_checks_free(*out, n);
    *out = NULL;
    return -1;
}

/* ---- which side bounds a scenario ---------------------------------------- */

/* A scenario whose VUs go back to back (closed model, no think, no pace)
 * goes as fast as the slower side. */
static bool back_to_back(const struct plan_scenario *ps)
{
    bool b2b = rep_closed_without_pace(ps);
    for (int i = 0; b2b && i < ps->nops; i++)
        b2b = ps->ops[i].kind != OP_THINK;
    return b2b;
}

/* Its requests left late (client_lag p99 over the verdict's limit, with
 * enough samples to trust a p99): the client; otherwise they left on time
 * and what limits the scenario is the server (or its own flow: think times,
 * pace). */
bool rep_client_bound(const struct report_input *in, int s, char *why, size_t n)
{
    struct filter flt = filter_all;
    flt.sc = s;
    struct hist lag;
    if (rep_hist_named(in, &flt, "client_lag", &lag) != 0) {
        snprintf(why, n, "no requests");
        return false;
    }
    uint64_t cnt = hist_count(&lag);
    double p99 = cnt ? (double)hist_percentile(&lag, 99) / 1000.0 : 0;
    double on_time = cnt ? (double)hist_count_le(&lag, VERDICT_LAG_P99_US) / (double)cnt : 1;
    hist_free(&lag);
    double busy = 0;
    for (int w = 0; w < in->nworkers; w++)
        if (in->workers && in->workers[w].busy > busy)
            busy = in->workers[w].busy;
    /* On a saturated worker, back-to-back VUs are bounded by the client even
     * when their sends leave on time. */
    bool late = cnt >= VERDICT_LAG_MIN_SAMPLES && p99 * 1000 > VERDICT_LAG_P99_US;
    bool saturated = back_to_back(&in->plan->sc[s]) && busy >= VERDICT_BUSY_LIMIT;
    snprintf(why, n, "client_lag p99 %.2fms, %.1f%% sent within %.0fms of their intended time, busiest worker %.0f%%%s",
             p99, on_time * 100, VERDICT_LAG_P99_US / 1000.0, busy * 100,
             saturated && !late ? ", and its VUs run back to back" : "");
    return late || saturated;
}
