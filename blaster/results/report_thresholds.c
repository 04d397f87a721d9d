/* report_thresholds — the scenario file's thresholds compiled against the
 * plan (each metric reference resolved: a catalog metric, a scenario, step
 * names, methods, expected_response) and evaluated on the run's metrics
 * with k6's semantics (threshold.c: the expressions and their verdict), at
 * the end of the run and, for abortOnFail, during it. */
#include "blaster/results/report_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Append to buf (of n) at *len, truncating. */
static void cat(char *buf, size_t n, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cat(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = *len + (size_t)w < n ? *len + (size_t)w : n - 1;
}

/* "a, b, c" of the distinct names or methods of the plan's requests, for messages. */
static void list_req_field(const struct plan *p, bool method, char *buf, size_t n)
{
    size_t len = 0;
    int shown = 0;
    buf[0] = '\0';
    for (int s = 0; s < p->nsc; s++) {
        for (int r = 0; r < p->sc[s].nreqs; r++) {
            const char *v = method ? p->sc[s].reqs[r].method : p->sc[s].reqs[r].name;
            if (!v)
                continue;
            bool seen = false;
            for (int s2 = 0; s2 <= s && !seen; s2++)
                for (int r2 = 0; r2 < (s2 == s ? r : p->sc[s2].nreqs) && !seen; r2++) {
                    const char *w = method ? p->sc[s2].reqs[r2].method : p->sc[s2].reqs[r2].name;
                    seen = w && strcmp(v, w) == 0;
                }
            if (seen)
                continue;
            if (shown == 12) {
                cat(buf, n, &len, ", ...");
                return;
            }
            cat(buf, n, &len, "%s%s", shown ? ", " : "", v);
            shown++;
        }
    }
}

static bool plan_has_req(const struct plan *p, int sc, const char *name, const char *method)
{
    for (int s = 0; s < p->nsc; s++) {
        if (sc >= 0 && s != sc)
            continue;
        for (int r = 0; r < p->sc[s].nreqs; r++) {
            const struct plan_request *rq = &p->sc[s].reqs[r];
            if ((!name || (rq->name && strcmp(rq->name, name) == 0)) &&
                (!method || (rq->method && strcmp(rq->method, method) == 0)))
                return true;
        }
    }
    return false;
}

void rep_threshold_filter(const struct report_threshold *t, struct filter *f)
{
    *f = filter_all;
    f->sc = t->sc_;
    f->expected = t->expected_;
    for (int i = 0; i < t->ref.nfilters; i++) {
        if (strcmp(t->ref.filters[i].key, "name") == 0)
            f->name = t->ref.filters[i].value;
        else if (strcmp(t->ref.filters[i].key, "method") == 0)
            f->method = t->ref.filters[i].value;
    }
}

/* Compile one threshold; msg says what is wrong (without the position). */
/* The metric of t->ref: a known metric blaster measures. */
static int compile_metric(const struct report_threshold *t, const struct metric_def **d, char *msg, size_t n)
{
    const char *mname = t->ref.name;
    *d = metric_find(mname);
    if (!*d) {
        const char *near = metric_suggest(mname);
        if (near) {
            errf(msg, n, "unknown metric '%s' (did you mean '%s'?)", mname, near);
            return -1;
        }
        char list[512];
        size_t len = 0;
        const struct metric_def *m;
        list[0] = '\0';
        for (int i = 0; (m = metric_at(i)); i++)
            if (m->scope != MSCOPE_NONE)
                cat(list, sizeof list, &len, "%s%s", len ? ", " : "", m->name);
        errf(msg, n, "unknown metric '%s' (blaster's metrics: %s; custom metrics are not supported)",
                   mname, list);
        return -1;
    }
    if ((*d)->scope == MSCOPE_NONE) {
        errf(msg, n, "metric '%s' is not measured by blaster yet (thresholds can use http_req_duration, "
                           "http_req_service, http_req_waiting, http_req_connecting, http_req_tls_handshaking, ...)",
                   mname);
        return -1;
    }
    return 0;
}

/* {scenario:v}: the scenario's index into t->sc_. */
static int compile_scenario(const struct plan *p, struct report_threshold *t, const char *key, const char *v,
                            char *msg, size_t n)
{
    for (int s = 0; s < p->nsc && t->sc_ < 0; s++)
        if (p->sc[s].name && strcmp(p->sc[s].name, v) == 0)
            t->sc_ = s;
    if (t->sc_ >= 0)
        return 0;
    size_t len = 0;
    char names[256] = "";
    for (int s = 0; s < p->nsc; s++)
        cat(names, sizeof names, &len, "%s%s", s ? ", " : "", p->sc[s].name ? p->sc[s].name : "?");
    errf(msg, n, "'%s': no scenario '%s' (the scenarios are: %s)", key, v, names);
    return -1;
}

/* {name:v} or {method:v}: a per-request metric, and a step that has it. */
static int compile_step_filter(const struct plan *p, const struct metric_def *d, const char *key, const char *k,
                               const char *v, char *msg, size_t n)
{
    bool is_name = k[0] == 'n';
    if (d->scope != MSCOPE_REQUEST) {
        errf(msg, n, "'%s': tag filter '%s' does not apply to %s (counted per scenario: "
                           "only {scenario:...} filters it)", key, k, d->name);
        return -1;
    }
    if (!plan_has_req(p, -1, is_name ? v : NULL, is_name ? NULL : v)) {
        char list[256];
        list_req_field(p, !is_name, list, sizeof list);
        errf(msg, n, "'%s': no step has %s '%s' (%s used: %s)", key, is_name ? "the name" : "method",
                   v, is_name ? "names" : "methods", list);
        return -1;
    }
    return 0;
}

/* {expected_response:v}: true, or false where the metric keeps it apart. */
static int compile_expected(const struct metric_def *d, struct report_threshold *t, const char *key, const char *v,
                            char *msg, size_t n)
{
    if (!(d->flags & MF_EXPECTED)) {
        errf(msg, n, "'%s': tag filter 'expected_response' is supported on http_req_duration, "
                           "http_reqs and http_req_failed only", key);
        return -1;
    }
    if (strcmp(v, "true") == 0) {
        t->expected_ = 1;
    } else if (strcmp(v, "false") == 0 && d->type != METRIC_TREND) {
        t->expected_ = 0;
    } else if (strcmp(v, "false") == 0) {
        errf(msg, n, "'%s': expected_response:false is not supported yet on %s "
                           "(only the expected responses' durations are kept apart)", key, d->name);
        return -1;
    } else {
        errf(msg, n, "'%s': expected_response is true or false, got '%s'", key, v);
        return -1;
    }
    return 0;
}

/* Compile one threshold; msg says what is wrong (without the position). */
static int compile_one(const struct plan *p, const struct threshold_spec *spec, struct report_threshold *t,
                       char *msg, size_t n)
{
    char e2[320];
    const struct metric_def *d;
    t->spec = spec;
    t->sc_ = -1;
    t->expected_ = -1;
    if (metric_ref_parse(spec->metric, &t->ref, e2, sizeof e2) != 0) {
        errf(msg, n, "threshold metric %s", e2);
        return -1;
    }
    if (compile_metric(t, &d, msg, n) != 0)
        return -1;
    t->type = d->type;
    char key[sizeof t->key];
    metric_ref_format(&t->ref, key, sizeof key);
    struct filter f;
    rep_threshold_filter(t, &f);
    for (int i = 0; i < t->ref.nfilters; i++) {
        const char *k = t->ref.filters[i].key, *v = t->ref.filters[i].value;
        int rc;
        if (strcmp(k, "scenario") == 0)
            rc = compile_scenario(p, t, key, v, msg, n);
        else if (strcmp(k, "name") == 0 || strcmp(k, "method") == 0)
            rc = compile_step_filter(p, d, key, k, v, msg, n);
        else if (strcmp(k, "expected_response") == 0)
            rc = compile_expected(d, t, key, v, msg, n);
        else {
            errf(msg, n, "'%s': tag filter '%s' is not supported yet (supported: scenario, name, method, "
                               "expected_response)", key, k);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    if ((f.name || f.method) && !plan_has_req(p, t->sc_, f.name, f.method)) {
        errf(msg, n, "'%s': the filter matches no request of the plan%s", key,
                   t->sc_ >= 0 ? " (that scenario has no such step)" : "");
        return -1;
    }
    if (threshold_parse(spec->expr, key, t->type, &t->th, e2, sizeof e2) != 0) {
        errf(msg, n, "%s", e2);
        return -1;
    }
    snprintf(t->key, sizeof t->key, "%s", key);
    return 0;
}

int report_thresholds_compile(const struct plan *p, struct report_thresholds *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct scenario_file *sf = p ? p->file : NULL;
    if (!sf || sf->nthresholds <= 0)
        return 0;
    out->v = calloc((size_t)sf->nthresholds, sizeof *out->v);
    if (!out->v) {
        errf(err, errlen, "%s: out of memory compiling thresholds", sf->path ? sf->path : "?");
        return -1;
    }
    for (int i = 0; i < sf->nthresholds; i++) {
        const struct threshold_spec *spec = &sf->thresholds[i];
        char msg[600];
        if (compile_one(p, spec, &out->v[i], msg, sizeof msg) != 0) {
            errf(err, errlen, "%s:%d:%d: %s", sf->path ? sf->path : "?", spec->pos.line, spec->pos.col, msg);
            report_thresholds_free(out);
            return -1;
        }
        out->n++;
    }
    /* Equal refs written differently ({a:1,b:2} and {b:2,a:1}) are one sub-metric: one key. */
    for (int i = 1; i < out->n; i++)
        for (int j = 0; j < i; j++)
            if (metric_ref_equal(&out->v[i].ref, &out->v[j].ref)) {
                memcpy(out->v[i].key, out->v[j].key, sizeof out->v[i].key);
                break;
            }
    return 0;
}

void report_thresholds_free(struct report_thresholds *t)
{
    if (!t)
        return;
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Compute t's metric; fills mv (whose trend the caller frees) and vals. */
static int threshold_metric(const struct report_threshold *t, const struct report_input *in, struct mval *mv,
                            struct metric_values *vals)
{
    struct filter f;
    rep_threshold_filter(t, &f);
    int rc = rep_mval_compute(in, metric_find(t->ref.name), &f, mv);
    rep_mval_values(mv, vals);
    return rc;
}

int report_thresholds_eval(struct report_thresholds *t, const struct report_input *in)
{
    int failed = 0;
    for (int i = 0; t && i < t->n; i++) {
        struct report_threshold *x = &t->v[i];
        struct mval mv;
        struct metric_values vals;
        if (threshold_metric(x, in, &mv, &vals) != 0) {
            /* Out of memory merging: fail closed rather than pass unseen. */
            x->ok = false;
            x->has_observed = false;
        } else {
            x->has_observed = threshold_observed(&x->th, &vals, &x->observed);
            x->ok = threshold_eval(&x->th, &vals);
        }
        rep_mval_free(&mv);
        failed += !x->ok;
    }
    return failed;
}

int report_thresholds_abort_due(struct report_thresholds *t, const struct report_input *in, int64_t elapsed_ns,
                                char *by, size_t bylen)
{
    for (int i = 0; t && i < t->n; i++) {
        struct report_threshold *x = &t->v[i];
        if (!x->spec || !x->spec->abort_on_fail)
            continue;
        struct mval mv;
        struct metric_values vals;
        bool due = false;
        if (threshold_metric(x, in, &mv, &vals) == 0) {
            struct threshold_abort a = { x->spec->abort_on_fail, x->spec->delay_abort_eval_ns };
            x->has_observed = threshold_observed(&x->th, &vals, &x->observed);
            x->ok = threshold_eval(&x->th, &vals);
            due = threshold_abort_due(&x->th, &a, &vals, elapsed_ns);
        }
        rep_mval_free(&mv);
        if (due) {
            errf(by, bylen, "%s: %s", x->key, x->th.source);
            return i;
        }
    }
    return -1;
}


int report_thresholds_failed(const struct report_thresholds *t)
{
    int failed = 0;
    for (int i = 0; t && i < t->n; i++)
        failed += !t->v[i].ok;
    return failed;
}
