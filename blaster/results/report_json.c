/* report_json — the JSON export (--summary-export), shaped like the `data`
 * object of k6's handleSummary so that what users wrote for k6 (jq
 * one-liners, k6-html-reporter, CI gates) reads it unchanged: metrics (from
 * the metric catalog, sorted by name as k6 does), root_group (the checks),
 * options, state, and blaster's own "blaster" object. Quick mode lists its
 * shorter set of metrics and its own header fields. */
#include "blaster/results/report_int.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Numbers JSON can hold: NaN and infinities (never expected) become 0. */
static json_t *jnum(double v)
{
    return json_real(isfinite(v) ? v : 0);
}

/* Whole numbers as JSON integers ("count": 1000, as JSON.stringify writes them). */
static json_t *jcount(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9.0e15)
        return json_integer((json_int_t)v);
    return jnum(v);
}

static json_t *trend_values(const struct hist *h, const struct stats *st)
{
    json_t *o = json_object();
    for (int i = 0; i < st->n; i++)
        json_object_set_new(o, st->v[i].name, st->v[i].kind == RSTAT_COUNT
                                                  ? json_integer((json_int_t)hist_count(h))
                                                  : jnum(rep_stat_value(h, &st->v[i])));
    return o;
}

/* k6's {type, contains, values} of v. real_counts: counters' counts as JSON
 * reals (1000.0), as quick mode's export always wrote them. */
static json_t *mval_json(const struct mval *v, const struct stats *st, bool real_counts)
{
    json_t *values = json_object();
    switch (v->def->type) {
    case METRIC_COUNTER:
        json_object_set_new(values, "count", real_counts ? jnum(v->count) : jcount(v->count));
        json_object_set_new(values, "rate", jnum(v->rate));
        break;
    case METRIC_GAUGE:
        json_object_set_new(values, "value", jcount(v->value));
        json_object_set_new(values, "min", jcount(v->min));
        json_object_set_new(values, "max", jcount(v->max));
        break;
    case METRIC_RATE: /* k6: passes are the true samples (failed requests, passed checks) */
        json_object_set_new(values, "rate", jnum(v->rate));
        json_object_set_new(values, "passes", json_integer((json_int_t)v->passes));
        json_object_set_new(values, "fails", json_integer((json_int_t)v->fails));
        break;
    case METRIC_TREND:
        json_decref(values);
        values = trend_values(&v->h, st);
        break;
    }
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string(metric_type_name(v->def->type)));
    json_object_set_new(m, "contains", json_string(v->def->contains));
    json_object_set_new(m, "values", values);
    return m;
}

/* k6: "thresholds": {"<expression as written>": {"ok": bool}} on the metric they judge. */
static void attach_thresholds(json_t *m, const char *key, const struct report_thresholds *t)
{
    json_t *th = NULL;
    for (int i = 0; t && i < t->n; i++) {
        const struct report_threshold *x = &t->v[i];
        if (strcmp(x->key, key) != 0)
            continue;
        if (!th)
            th = json_object();
        json_t *prev = json_object_get(th, x->th.source);
        bool ok = x->ok && (!prev || json_is_true(json_object_get(prev, "ok")));
        json_object_set_new(th, x->th.source, json_pack("{s:b}", "ok", ok));
    }
    if (th)
        json_object_set_new(m, "thresholds", th);
}

static bool has_threshold_on(const struct report_thresholds *t, const char *key)
{
    for (int i = 0; t && i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return true;
    return false;
}

/* Quick mode counts an iteration per request that reached the server (its
 * plan is one request per iteration), and its VUs are its connections. */
static void quick_override(const struct report_input *in, const struct metrics *s, struct mval *v)
{
    if (strcmp(v->def->name, "iterations") == 0) {
        v->count = (double)(s->reqs - s->errors[ERR_REFUSED]);
        v->rate = in->elapsed_s > 0 ? v->count / in->elapsed_s : 0;
    } else if (v->def->id == MID_VUS) {
        v->value = v->min = v->max = in->quick->connections;
    }
}

/* metrics[key] = metric d over the selection f, with its thresholds. */
static int add_metric(json_t *ms, const char *key, const struct report_input *in, const struct metric_def *d,
                      const struct filter *f, const struct report_thresholds *t, const struct stats *st,
                      const struct metrics *quick_sums)
{
    struct mval v;
    int rc = rep_mval_compute(in, d, f, &v);
    if (rc == 0) {
        if (quick_sums)
            quick_override(in, quick_sums, &v);
        json_t *m = mval_json(&v, st, quick_sums != NULL);
        attach_thresholds(m, key, t);
        json_object_set_new(ms, key, m);
    }
    rep_mval_free(&v);
    return rc;
}

/* Is metric d listed? k6 lists only the metrics that got samples: checks
 * only when there are checks. k6 always lists http_req_tls_handshaking (all
 * zeros over plain HTTP); blaster leaves it and tls_handshakes out of
 * plain-HTTP runs, so their export reads as it did before TLS existed. A
 * threshold on a metric lists it anyway. */
static bool listed(const struct metric_def *d, const struct report_thresholds *t, bool any_checks, bool any_tls)
{
    if (d->scope == MSCOPE_NONE)
        return false;
    if ((d->flags & MF_CHECKS) && !any_checks && !has_threshold_on(t, d->name))
        return false;
    if ((d->flags & MF_TLS_ONLY) && !any_tls && !has_threshold_on(t, d->name))
        return false;
    return true;
}

/* k6's order: by name; MF_LISTED_LAST ones after the others. */
static int cmp_listing(const void *a, const void *b)
{
    const struct metric_def *x = *(const struct metric_def *const *)a, *y = *(const struct metric_def *const *)b;
    bool xl = x->flags & MF_LISTED_LAST, yl = y->flags & MF_LISTED_LAST;
    return xl != yl ? (xl ? 1 : -1) : strcmp(x->name, y->name);
}

static json_t *metrics_json(const struct report_input *in, const struct report_thresholds *t,
                            const struct stats *st, bool any_checks, bool any_tls)
{
    const struct metric_def *defs[64];
    int n = 0;
    for (const struct metric_def *d; (d = metric_at(n)) && n < 64; n++)
        defs[n] = d;
    qsort(defs, (size_t)n, sizeof defs[0], cmp_listing);
    json_t *ms = json_object();
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct metric_def *d = defs[i];
        if (!listed(d, t, any_checks, any_tls))
            continue;
        rc = add_metric(ms, d->name, in, d, &filter_all, t, st, NULL);
        if (rc == 0 && d->id == MID_DURATION) {
            struct filter ok = filter_all;
            ok.expected = 1;
            rc = add_metric(ms, "http_req_duration{expected_response:true}", in, d, &ok, t, st, NULL);
        }
    }
    for (int i = 0; t && i < t->n && rc == 0; i++) {
        const struct report_threshold *x = &t->v[i];
        if (json_object_get(ms, x->key))
            continue;
        struct filter f;
        rep_threshold_filter(x, &f);
        rc = add_metric(ms, x->key, in, metric_find(x->ref.name), &f, t, st, NULL);
    }
    if (rc != 0) {
        json_decref(ms);
        return NULL;
    }
    return ms;
}

/* Quick mode's metrics, in the order its export always had. */
static json_t *quick_metrics_json(const struct report_input *in, const struct metrics *s, const struct stats *st)
{
    static const char *const names[] = {
        "http_reqs", "iterations", "data_sent", "data_received", "dropped_iterations", "http_req_duration",
        "http_req_service", "http_req_waiting", "http_req_connecting", "client_lag", "http_req_tls_handshaking",
        "tls_handshakes", "http_req_failed", "vus",
    };
    json_t *ms = json_object();
    bool tls = rep_tls_seen(s);
    int rc = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && rc == 0; i++) {
        const struct metric_def *d = metric_find(names[i]);
        if (listed(d, NULL, false, tls))
            rc = add_metric(ms, d->name, in, d, &filter_all, NULL, st, s);
    }
    if (rc != 0) {
        json_decref(ms);
        return NULL;
    }
    return ms;
}

static json_t *status_json(const struct metrics *s)
{
    json_t *o = json_object();
    for (int c = 0; c < METRICS_MAX_STATUS; c++)
        if (s->status[c]) {
            char k[16];
            snprintf(k, sizeof k, "%d", c);
            json_object_set_new(o, k, json_integer((json_int_t)s->status[c]));
        }
    return o;
}

static json_t *errors_json(const struct metrics *s)
{
    json_t *o = json_object();
    for (int e = 0; e < ERR__COUNT; e++)
        json_object_set_new(o, err_class_name[e], json_integer((json_int_t)s->errors[e]));
    return o;
}

/* The counters and the duration trend of a selection of requests. */
static json_t *reqs_json(const struct report_input *in, const struct filter *f, const struct stats *st,
                         struct metrics *rs)
{
    rep_reqsum(in, f, rs);
    json_t *o = json_object();
    json_object_set_new(o, "reqs", json_integer((json_int_t)rs->reqs));
    json_object_set_new(o, "failed", json_integer((json_int_t)rs->failed));
    json_object_set_new(o, "status_codes", status_json(rs));
    json_object_set_new(o, "errors", errors_json(rs));
    if (rs->checks_pass + rs->checks_fail)
        json_object_set_new(o, "checks", json_pack("{s:I, s:I}", "passes", (json_int_t)rs->checks_pass,
                                                   "fails", (json_int_t)rs->checks_fail));
    struct hist h;
    if (rep_hist_named(in, f, "http_req_duration", &h) == 0) {
        json_object_set_new(o, "duration", trend_values(&h, st));
        hist_free(&h);
    }
    return o;
}

static json_t *scenario_json(const struct report_input *in, int s, const struct stats *st, struct metrics *rs)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    const struct scenario_metrics *sm = &in->m[s];
    struct filter flt = filter_all;
    flt.sc = s;
    json_t *o = reqs_json(in, &flt, st, rs);
    const char *ex = rep_executor_name(ps);
    json_object_set_new(o, "executor", ex ? json_string(ex) : json_null());
    json_object_set_new(o, "iterations", json_integer((json_int_t)sm->iterations));
    json_object_set_new(o, "dropped_iterations", json_integer((json_int_t)sm->dropped));
    json_object_set_new(o, "interrupted_iterations", json_integer((json_int_t)sm->interrupted));
    json_object_set_new(o, "vus_max", json_integer((json_int_t)sm->vus_max));
    struct hist h;
    if (rep_hist_named(in, &flt, "iteration_duration", &h) == 0) {
        json_object_set_new(o, "iteration_duration", trend_values(&h, st));
        hist_free(&h);
    }
    {
        struct hist lh;
        if (rep_hist_named(in, &flt, "http_req_service", &lh) == 0) {
            json_object_set_new(o, "service", trend_values(&lh, st));
            hist_free(&lh);
        }
        /* Was this scenario's load sent as intended? client_lag, and the
         * share of its requests that left within 1 ms of their intended time. */
        if (rep_hist_named(in, &flt, "client_lag", &lh) == 0) {
            json_object_set_new(o, "client_lag", trend_values(&lh, st));
            uint64_t cnt = hist_count(&lh);
            json_object_set_new(o, "sent_on_time",
                                json_real(cnt ? (double)hist_count_le(&lh, VERDICT_LAG_P99_US) / (double)cnt : 1.0));
            hist_free(&lh);
        }
        json_object_set_new(o, "data_sent", json_integer((json_int_t)rs->bytes_sent));
        json_object_set_new(o, "data_received", json_integer((json_int_t)rs->bytes_recv));
        char why[256];
        bool client = rep_client_bound(in, s, why, sizeof why);
        json_object_set_new(o, "bound_by", json_pack("{s:s, s:s}", "side", client ? "client" : "server",
                                                     "evidence", why));
    }
    json_t *steps = json_object();
    int n;
    const char **names = rep_step_names(in, s, &n);
    for (int i = 0; i < n; i++) {
        struct filter sf = flt;
        sf.name = names[i];
        json_t *step = reqs_json(in, &sf, st, rs);
        const char *method = NULL;
        for (int r = 0; r < ps->nreqs && !method; r++)
            if (ps->reqs[r].name && strcmp(ps->reqs[r].name, names[i]) == 0)
                method = ps->reqs[r].method;
        json_object_set_new(step, "method", method ? json_string(method) : json_null());
        json_object_set_new(steps, names[i], step);
    }
    free(names);
    json_object_set_new(o, "steps", steps);
    return o;
}

static json_t *root_group_json(const struct check_row *c, int n)
{
    char id[33];
    json_t *checks = json_array();
    for (int i = 0; i < n; i++) {
        size_t len = strlen(c[i].name) + 3;
        char *path = malloc(len);
        if (!path)
            continue;
        snprintf(path, len, "::%s", c[i].name);
        report_md5_hex(path, strlen(path), id);
        json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", c[i].name, "path", path,
                                                "id", id, "passes", (json_int_t)c[i].passes,
                                                "fails", (json_int_t)c[i].fails));
        free(path);
    }
    report_md5_hex("", 0, id);
    return json_pack("{s:s, s:s, s:s, s:[], s:o}", "name", "", "path", "", "id", id, "groups", "checks", checks);
}

/* The outcome of every request: status codes, error classes, queued,
 * interrupted, connects. */
static void add_totals(json_t *o, const struct metrics *rs)
{
    json_object_set_new(o, "status_codes", status_json(rs));
    json_object_set_new(o, "errors", errors_json(rs));
    json_object_set_new(o, "queued", json_integer((json_int_t)rs->queued));
    json_object_set_new(o, "interrupted", json_integer((json_int_t)rs->interrupted));
    json_object_set_new(o, "connects", json_integer((json_int_t)rs->connects));
}

/* "tls": {handshakes, resumed, protocol, last_error}, the same in both modes. */
static json_t *tls_json(const struct metrics *rs)
{
    return json_pack("{s:I, s:I, s:s, s:s}", "handshakes", (json_int_t)rs->handshakes,
                     "resumed", (json_int_t)rs->resumed, "protocol", rs->tls_protocol,
                     "last_error", rs->tls_reason);
}

/* The host's timer lateness in ms, k6's percentile keys; null when the
 * workers never slept until a deadline. */
static json_t *timers_json(const struct verdict_timers *h)
{
    if (h->samples == 0 || h->p99_us < 0)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:I}", "p(50)", jnum((double)h->p50_us / 1000),
                     "p(99)", jnum((double)h->p99_us / 1000), "p(99.9)", jnum((double)h->p999_us / 1000),
                     "wake_ups", (json_int_t)h->samples);
}

static json_t *verdict_json(const struct report_input *in)
{
    json_t *reasons = json_array(), *evidence = json_array(), *workers = json_array();
    for (int i = 0; i < in->verdict.nreasons; i++)
        json_array_append_new(reasons, json_string(in->verdict.reasons[i]));
    for (int i = 0; i < in->verdict.nevidence; i++)
        json_array_append_new(evidence, json_string(in->verdict.evidence[i]));
    for (int w = 0; w < in->nworkers; w++) {
        json_t *wo = json_object();
        json_object_set_new(wo, "busy", jnum(in->workers[w].busy));
        json_object_set_new(wo, "wait", jnum(in->workers[w].wait));
        json_array_append_new(workers, wo);
    }
    return json_pack("{s:s, s:o, s:o, s:o, s:o}", "status", verdict_status_name(in->verdict.status),
                     "reasons", reasons, "evidence", evidence, "timer_lateness", timers_json(&in->verdict.host),
                     "workers", workers);
}

static json_t *blaster_json(const struct report_input *in, const struct report_thresholds *t,
                            const struct stats *st, struct metrics *rs)
{
    const struct plan *p = in->plan;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(BLASTER_VERSION));
    json_object_set_new(o, "file", p->file && p->file->path ? json_string(p->file->path) : json_null());
    json_object_set_new(o, "threads", json_integer(in->nworkers));
    json_object_set_new(o, "ring_mode", json_string(in->ring_mode ? in->ring_mode : ""));
    json_object_set_new(o, "elapsed_s", jnum(in->elapsed_s));

    json_t *scs = json_object();
    for (int s = 0; s < p->nsc; s++)
        json_object_set_new(scs, p->sc[s].name ? p->sc[s].name : "?", scenario_json(in, s, st, rs));
    json_object_set_new(o, "scenarios", scs);

    rep_reqsum(in, &filter_all, rs);
    add_totals(o, rs);
    if (rep_tls_seen(rs))
        json_object_set_new(o, "tls", tls_json(rs));
    json_object_set_new(o, "stopped", json_boolean(in->stopped));
    json_object_set_new(o, "aborted_by", in->aborted_by ? json_string(in->aborted_by) : json_null());
    json_object_set_new(o, "thresholds_failed", json_integer(report_thresholds_failed(t)));
    json_object_set_new(o, "verdict", verdict_json(in));
    if (in->fatal)
        json_object_set_new(o, "error", json_string(in->fatal));
    return o;
}

/* Quick mode's "blaster": the command line's load (URL, connections, model)
 * instead of the file's scenarios. */
static json_t *quick_blaster_json(const struct report_input *in, const struct metrics *rs)
{
    const struct report_quick *q = in->quick;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(BLASTER_VERSION));
    json_object_set_new(o, "url", json_string(q->url));
    json_object_set_new(o, "method", json_string(q->method));
    json_object_set_new(o, "threads", json_integer(in->nworkers));
    json_object_set_new(o, "connections", json_integer(q->connections));
    json_object_set_new(o, "rate", jnum(q->rate));
    json_object_set_new(o, "duration_s", jnum(q->duration_s));
    json_object_set_new(o, "model", json_string(q->rate > 0 ? (q->poisson ? "open-poisson" : "open-constant")
                                                            : "closed"));
    json_object_set_new(o, "ring_mode", json_string(in->ring_mode ? in->ring_mode : ""));
    add_totals(o, rs);
    json_object_set_new(o, "stopped", json_boolean(in->stopped));
    json_object_set_new(o, "verdict", verdict_json(in));
    if (rep_tls_seen(rs))
        json_object_set_new(o, "tls", tls_json(rs));
    if (in->fatal)
        json_object_set_new(o, "error", json_string(in->fatal));
    return o;
}

/* metrics and blaster: the parts the two modes make differently. */
static int mode_json(const struct report_input *in, const struct report_thresholds *t, const struct stats *st,
                     bool any_checks, json_t **metrics, json_t **bl)
{
    struct metrics *rs = malloc(sizeof *rs);
    *metrics = *bl = NULL;
    if (!rs)
        return -1;
    rep_reqsum(in, &filter_all, rs);
    if (in->quick) {
        *metrics = quick_metrics_json(in, rs, st);
        *bl = *metrics ? quick_blaster_json(in, rs) : NULL;
    } else {
        *metrics = metrics_json(in, t, st, any_checks, rep_tls_seen(rs));
        *bl = *metrics ? blaster_json(in, t, st, rs) : NULL;
    }
    free(rs);
    return *bl ? 0 : -1;
}

static json_t *root_json(const struct report_input *in, const struct check_row *checks, int nchecks,
                         const struct stats *st, json_t *metrics, json_t *bl)
{
    json_t *trend_names = json_array();
    for (int i = 0; i < st->n; i++)
        json_array_append_new(trend_names, json_string(st->v[i].name));
    json_t *root = json_object();
    json_object_set_new(root, "root_group", root_group_json(checks, nchecks));
    json_object_set_new(root, "options", json_pack("{s:o, s:s, s:b}", "summaryTrendStats", trend_names,
                                                   "summaryTimeUnit", "", "noColor", false));
    json_t *state = json_object();
    json_object_set_new(state, "isStdOutTTY", json_boolean(isatty(1)));
    json_object_set_new(state, "isStdErrTTY", json_boolean(isatty(2)));
    json_object_set_new(state, "testRunDurationMs", jnum(in->elapsed_s * 1000));
    json_object_set_new(root, "state", state);
    json_object_set_new(root, "metrics", metrics);
    json_object_set_new(root, "blaster", bl);
    return root;
}

int report_export(const char *path, const struct report_input *in, const struct report_thresholds *t,
                  char *err, size_t errlen)
{
    struct stats st;
    rep_stats(in->plan, &st);
    struct check_row *checks;
    int nchecks = rep_checks_collect(in, &filter_all, &checks);
    json_t *metrics = NULL, *bl = NULL;
    if (nchecks < 0 || mode_json(in, t, &st, nchecks > 0, &metrics, &bl) != 0) {
        if (nchecks > 0)
            rep_checks_free(checks, nchecks);
        json_decref(metrics);
        errf(err, errlen, "--summary-export %s: out of memory", path);
        return -1;
    }
    json_t *root = root_json(in, checks, nchecks, &st, metrics, bl);
    rep_checks_free(checks, nchecks);

    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc != 0) {
        errf(err, errlen, "--summary-export %s: cannot write: %s", path, errno ? strerror(errno) : "error");
        return -1;
    }
    return 0;
}
