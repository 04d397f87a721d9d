/* report_text — the end-of-test text summary, in k6's layout: for a
 * scenario file (`blaster run`) THRESHOLDS, TOTAL RESULTS, a section per
 * scenario with its per-step table, then blaster's client verdict; for
 * quick mode (`blaster URL`) the shorter layout wrk users know: a header
 * with the URL and the load model, the HTTP metrics in k6's alphabetical
 * order, then the client verdict. Numbers come from report_aggregate.c,
 * line formats from report_format.c. */
#include "blaster/results/report_int.h"

#include <stdlib.h>
#include <string.h>

#include "blaster/common/units.h"

/* "p(95)=123.4ms", "rate=1.20%", "count=12", "rate=3.5/s", "value=10". */
static void fmt_observed(char *buf, size_t n, const struct report_threshold *t)
{
    static const char *const agg_names[] = {
        [TH_AVG] = "avg", [TH_MIN] = "min", [TH_MAX] = "max", [TH_MED] = "med",
        [TH_RATE] = "rate", [TH_COUNT] = "count", [TH_VALUE] = "value",
    };
    char agg[32], v[48];
    if (t->th.agg == TH_P)
        snprintf(agg, sizeof agg, "p(%g)", t->th.p);
    else
        snprintf(agg, sizeof agg, "%s", agg_names[t->th.agg]);
    const struct metric_def *d = metric_find(t->ref.name);
    bool data = d && strcmp(d->contains, "data") == 0;
    if (!t->has_observed) {
        snprintf(buf, n, "%s=n/a (no samples)", agg);
        return;
    }
    switch (t->type) {
    case METRIC_TREND:
        units_fmt_duration(v, sizeof v, t->observed * 1e6);
        break;
    case METRIC_RATE:
        rep_fmt_pct(v, sizeof v, t->observed);
        break;
    case METRIC_COUNTER: {
        char num[40];
        if (data)
            units_fmt_bytes(num, sizeof num, t->observed);
        else
            units_fmt_count(num, sizeof num, t->observed);
        snprintf(v, sizeof v, "%s%s", num, t->th.agg == TH_RATE ? "/s" : "");
        break;
    }
    default:
        units_fmt_count(v, sizeof v, t->observed);
        break;
    }
    snprintf(buf, n, "%s=%s", agg, v);
}


/* A trend of the selection, on one line. */
static void trend_of(FILE *f, const struct report_input *in, const struct filter *flt, const char *metric,
                     const char *label, int indent, int width, const struct stats *st)
{
    struct hist h;
    if (rep_hist_named(in, flt, metric, &h) != 0) {
        rep_name_line(f, indent, width, label);
        fprintf(f, "(out of memory)\n");
        return;
    }
    rep_trend_line(f, indent, width, label, &h, st->v, st->n);
    hist_free(&h);
}

/* A top-level trend line of the run layout (label NULL: the metric's name),
 * or (sub) k6's indented sub-metric line under it. */
static void run_trend(FILE *f, const struct report_input *in, const struct filter *flt, const char *metric,
                      const char *label, bool sub, const struct stats *st)
{
    trend_of(f, in, flt, metric, label ? label : metric, sub ? 6 : 4, sub ? NAME_WIDTH - 2 : NAME_WIDTH, st);
}

static void print_checks(FILE *f, const struct report_input *in, const struct filter *flt, int indent)
{
    struct check_row *c;
    int n = rep_checks_collect(in, flt, &c);
    if (n <= 0)
        return;
    uint64_t pass = 0, fail = 0;
    for (int i = 0; i < n; i++)
        pass += c[i].passes, fail += c[i].fails;
    rep_counter_line(f, indent, NAME_WIDTH, "checks_total", (double)(pass + fail), in->elapsed_s, false);
    rep_rate_line(f, indent, NAME_WIDTH, "checks_succeeded", pass, pass + fail);
    rep_rate_line(f, indent, NAME_WIDTH, "checks_failed", fail, pass + fail);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        if (c[i].passes + c[i].fails == 0) {
            fprintf(f, "%*s- %s (never ran)\n", indent, "", c[i].name);
            continue;
        }
        if (c[i].fails == 0) {
            fprintf(f, "%*s✓ %s\n", indent, "", c[i].name);
            continue;
        }
        uint64_t tot = c[i].passes + c[i].fails;
        fprintf(f, "%*s✗ %s\n", indent, "", c[i].name);
        fprintf(f, "%*s↳  %llu%% — ✓ %llu / ✗ %llu\n", indent + 2, "",
                (unsigned long long)(100 * c[i].passes / tot), (unsigned long long)c[i].passes,
                (unsigned long long)c[i].fails);
    }
    fputc('\n', f);
    rep_checks_free(c, n);
}

static int cmp_threshold_key(const void *a, const void *b)
{
    const struct report_threshold *x = *(const struct report_threshold *const *)a;
    const struct report_threshold *y = *(const struct report_threshold *const *)b;
    int c = strcmp(x->ref.name, y->ref.name);
    return c ? c : strcmp(x->key, y->key);
}

/* k6's THRESHOLDS section: per metric key (sorted, sub-metrics under their
 * parent), a line per expression. */
static void print_thresholds(FILE *f, const struct report_thresholds *t)
{
    if (!t || t->n == 0)
        return;
    const struct report_threshold **firsts = calloc((size_t)t->n, sizeof *firsts);
    if (!firsts)
        return;
    int nk = 0;
    for (int i = 0; i < t->n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(t->v[j].key, t->v[i].key) == 0;
        if (!seen)
            firsts[nk++] = &t->v[i];
    }
    qsort(firsts, (size_t)nk, sizeof *firsts, cmp_threshold_key);
    fprintf(f, "  █ THRESHOLDS\n\n");
    for (int k = 0; k < nk; k++) {
        const struct report_threshold *h = firsts[k];
        bool parent = false;
        if (h->ref.nfilters > 0)
            for (int j = 0; j < t->n && !parent; j++)
                parent = strcmp(t->v[j].key, h->ref.name) == 0;
        int indent = parent ? 6 : 4;
        fprintf(f, "%*s%s\n", indent, "", parent ? h->key + strlen(h->ref.name) : h->key);
        for (int i = 0; i < t->n; i++) {
            const struct report_threshold *x = &t->v[i];
            if (strcmp(x->key, h->key) != 0)
                continue;
            char obs[96];
            fmt_observed(obs, sizeof obs, x);
            fprintf(f, "%*s%s '%s' %s%s\n", indent, "", x->ok ? "✓" : "✗", x->th.source, obs,
                    x->spec && x->spec->abort_on_fail ? " (abortOnFail)" : "");
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    free(firsts);
}

/* The requests of the selection flt (whose sums are s): duration, the
 * expected responses' duration under it, failed, reqs. */
static void print_requests(FILE *f, const struct report_input *in, const struct filter *flt,
                           const struct metrics *s, const struct stats *st)
{
    struct filter ok = *flt;
    ok.expected = 1;
    run_trend(f, in, flt, "http_req_duration", NULL, false, st);
    run_trend(f, in, &ok, "http_req_duration", "{ expected_response:true }", true, st);
    rep_rate_line(f, 4, NAME_WIDTH, "http_req_failed", s->failed, s->reqs);
    rep_counter_line(f, 4, NAME_WIDTH, "http_reqs", (double)s->reqs, in->elapsed_s, false);
}

static void print_total(FILE *f, const struct report_input *in, const struct stats *st)
{
    struct metrics *s = malloc(sizeof *s);
    if (!s)
        return;
    rep_reqsum(in, &filter_all, s);

    fprintf(f, "  █ TOTAL RESULTS\n\n");
    print_checks(f, in, &filter_all, 4);

    fprintf(f, "    HTTP\n");
    print_requests(f, in, &filter_all, s, st);
    run_trend(f, in, &filter_all, "http_req_service", NULL, false, st);
    run_trend(f, in, &filter_all, "http_req_waiting", NULL, false, st);
    run_trend(f, in, &filter_all, "http_req_connecting", NULL, false, st);
    if (rep_tls_seen(s)) {
        run_trend(f, in, &filter_all, "http_req_tls_handshaking", NULL, false, st);
        rep_tls_line(f, 4, NAME_WIDTH, s->handshakes, s->resumed, s->tls_protocol, in->elapsed_s);
    }
    rep_outcome_lines(f, 4, s);
    fputc('\n', f);

    struct scsum sc;
    rep_scsum(in, &filter_all, &sc);
    struct mval vus, vus_max;
    rep_mval_compute(in, metric_by_id(MID_VUS), &filter_all, &vus);
    rep_mval_compute(in, metric_by_id(MID_VUS_MAX), &filter_all, &vus_max);
    fprintf(f, "    EXECUTION\n");
    rep_counter_line(f, 4, NAME_WIDTH, "dropped_iterations", (double)sc.dropped, in->elapsed_s, false);
    run_trend(f, in, &filter_all, "iteration_duration", NULL, false, st);
    rep_counter_line(f, 4, NAME_WIDTH, "iterations", (double)sc.iterations, in->elapsed_s, false);
    rep_gauge_line(f, 4, "vus", &vus);
    rep_gauge_line(f, 4, "vus_max", &vus_max);
    fputc('\n', f);

    fprintf(f, "    NETWORK\n");
    rep_counter_line(f, 4, NAME_WIDTH, "data_received", (double)s->bytes_recv, in->elapsed_s, true);
    rep_counter_line(f, 4, NAME_WIDTH, "data_sent", (double)s->bytes_sent, in->elapsed_s, true);
    fprintf(f, "\n\n");
    rep_mval_free(&vus);
    rep_mval_free(&vus_max);
    free(s);
}

/* The per-step table of scenario s: reqs, failed, p(50) p(95) p(99), statuses. */
static void print_steps(FILE *f, const struct report_input *in, int s)
{
    int n;
    const char **names = rep_step_names(in, s, &n);
    if (n == 0) {
        free(names);
        return;
    }
    struct metrics *rs = malloc(sizeof *rs);
    if (!rs) {
        free(names);
        return;
    }
    int w = 4;
    for (int i = 0; i < n; i++)
        if (rep_columns(names[i]) > w)
            w = rep_columns(names[i]);
    if (w > 48)
        w = 48;
    fprintf(f, "    ");
    rep_lpad(f, "step", w);
    fprintf(f, " %9s %8s %9s %9s %9s   %s\n", "reqs", "failed", "p(50)", "p(95)", "p(99)", "statuses");
    for (int i = 0; i < n; i++) {
        struct filter flt = filter_all;
        flt.sc = s;
        flt.name = names[i];
        rep_reqsum(in, &flt, rs);
        struct hist h;
        char pct[32], d[3][32];
        static const double ps[3] = { 50, 95, 99 };
        if (rep_hist_named(in, &flt, "http_req_duration", &h) == 0) {
            for (int k = 0; k < 3; k++) {
                struct report_stat st = { .kind = RSTAT_P, .p = ps[k] };
                rep_fmt_stat(d[k], sizeof d[k], &h, &st);
            }
            hist_free(&h);
        } else {
            for (int k = 0; k < 3; k++)
                snprintf(d[k], sizeof d[k], "?");
        }
        fprintf(f, "    ");
        rep_lpad(f, names[i], w);
        fprintf(f, " %9llu ", (unsigned long long)rs->reqs);
        rep_rpad(f, rep_fmt_pct(pct, sizeof pct, rs->reqs ? (double)rs->failed / (double)rs->reqs : 0), 8);
        for (int k = 0; k < 3; k++) {
            fputc(' ', f);
            rep_rpad(f, d[k], 9);
        }
        fprintf(f, "   ");
        rep_status_list(f, rs, true);
        fputc('\n', f);
    }
    fputc('\n', f);
    free(rs);
    free(names);
}

static void print_scenario(FILE *f, const struct report_input *in, int s, const struct stats *st)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    struct filter flt = filter_all;
    flt.sc = s;
    const char *ex = rep_executor_name(ps);
    fprintf(f, "  █ SCENARIO: %s%s%s%s\n\n", ps->name ? ps->name : "?", ex ? " (" : "", ex ? ex : "", ex ? ")" : "");

    print_checks(f, in, &flt, 4);

    struct metrics *rs = malloc(sizeof *rs);
    if (!rs)
        return;
    rep_reqsum(in, &flt, rs);
    print_requests(f, in, &flt, rs, st);
    free(rs);

    const struct scenario_metrics *sm = &in->m[s];
    rep_counter_line(f, 4, NAME_WIDTH, "dropped_iterations", (double)sm->dropped, in->elapsed_s, false);
    run_trend(f, in, &flt, "iteration_duration", NULL, false, st);
    rep_counter_line(f, 4, NAME_WIDTH, "iterations", (double)sm->iterations, in->elapsed_s, false);
    if (sm->interrupted) {
        rep_name_line(f, 4, NAME_WIDTH, "interrupted_iterations");
        fprintf(f, "%llu cut by the end of the scenario\n", (unsigned long long)sm->interrupted);
    }
    rep_name_line(f, 4, NAME_WIDTH, "vus_max");
    fprintf(f, "%u\n", sm->vus_max);
    fputc('\n', f);

    print_steps(f, in, s);
    if (rep_closed_without_pace(ps))
        fprintf(f, "    note: closed model without pace: each VU waits for its previous response, so a server\n"
                   "          stall delays the next request instead of showing in latency. Set pace to see stalls.\n\n");
}

/* Which side bounds scenario s: its requests left late (client_lag p99 over
 * the verdict's limit, with enough samples to trust a p99): the client;
 * otherwise they left on time and what limits the scenario is the server (or
 * its own flow: think times, pace). Writes the evidence into why. */
/* ---- what both layouts share ------------------------------------------- */

static void print_stopped(FILE *f, const struct report_input *in)
{
    if (in->stopped)
        fprintf(f, "  stopped early by a signal after %.1fs\n", in->elapsed_s);
}

static void print_verdict(FILE *f, const struct report_input *in)
{
    if (in->fatal) {
        /* A run that failed has no numbers to vouch for: no "OK" beside it. */
        fprintf(f, "  client verdict: none (the run failed: see the error below)\n");
        return;
    }
    fprintf(f, "  client verdict: %s\n", verdict_status_name(in->verdict.status));
    for (int i = 0; i < in->verdict.nreasons; i++)
        fprintf(f, "     - %s\n", in->verdict.reasons[i]);
    for (int i = 0; i < in->verdict.nevidence; i++)
        fprintf(f, "     · %s\n", in->verdict.evidence[i]);
}

/* client_lag over every request, then each worker's CPU. */
static void print_client(FILE *f, const struct report_input *in, const struct stats *st)
{
    trend_of(f, in, &filter_all, "client_lag", "client_lag", 5, NAME_WIDTH, st);
    rep_name_line(f, 5, NAME_WIDTH, "client_cpu");
    for (int w = 0; w < in->nworkers; w++) {
        fprintf(f, "%sworker%d=%.0f%%", w ? " " : "", w, in->workers[w].busy * 100);
        if (in->workers[w].wait >= 0)
            fprintf(f, " (waited %.1f%%)", in->workers[w].wait * 100);
    }
    fputc('\n', f);
}

static void print_end(FILE *f, const struct report_input *in)
{
    if (in->fatal)
        fprintf(f, "\n  error: %s\n", in->fatal);
    fputc('\n', f);
}

/* ---- `blaster run FILE` ------------------------------------------------- */

static void print_run(FILE *f, const struct report_input *in, const struct report_thresholds *t,
                      const struct stats *st)
{
    char buf[64];
    const struct plan *p = in->plan;
    const char *path = p->file && p->file->path ? p->file->path : NULL;

    fprintf(f, "\n  blaster %s — run %s\n", BLASTER_VERSION, path ? path : "(no file)");
    fprintf(f, "  %d scenario%s, %d worker%s (%s), ran %s\n", p->nsc, p->nsc == 1 ? "" : "s", in->nworkers,
            in->nworkers == 1 ? "" : "s", in->ring_mode ? in->ring_mode : "?",
            units_fmt_duration(buf, sizeof buf, in->elapsed_s * 1e9));
    print_stopped(f, in);
    if (in->aborted_by)
        fprintf(f, "  aborted after %.1fs: threshold '%s' failed (abortOnFail)\n", in->elapsed_s, in->aborted_by);
    fputc('\n', f);

    print_thresholds(f, t);
    print_total(f, in, st);
    for (int s = 0; s < p->nsc; s++)
        print_scenario(f, in, s, st);

    print_verdict(f, in);
    for (int s = 0; s < p->nsc; s++) {
        char why[256];
        bool client = rep_client_bound(in, s, why, sizeof why);
        fprintf(f, "     %s: bounded by the %s (%s)\n", p->sc[s].name ? p->sc[s].name : "?",
                client ? "client" : "server or its own flow, its requests left on time",
                why);
    }
    print_client(f, in, st);

    int failed = report_thresholds_failed(t);
    if (failed)
        fprintf(f, "\n  ✗ %d of %d thresholds failed\n", failed, t->n);
    print_end(f, in);
}

/* ---- quick mode (`blaster URL`) ----------------------------------------- */

static void print_quick_header(FILE *f, const struct report_input *in)
{
    const struct report_quick *q = in->quick;
    char buf[64];
    fprintf(f, "\n  blaster %s — %s %s\n", BLASTER_VERSION, q->method, q->url);
    fprintf(f, "  %d worker%s (%s), %d connections, %s, ", in->nworkers, in->nworkers == 1 ? "" : "s",
            in->ring_mode ? in->ring_mode : "?", q->connections,
            units_fmt_duration(buf, sizeof buf, q->duration_s * 1e9));
    if (q->rate > 0)
        fprintf(f, "open model at %.0f req/s (%s)\n", q->rate, q->poisson ? "poisson" : "constant");
    else
        fprintf(f, "closed model (as fast as the server answers)\n");
    print_stopped(f, in);
    fputc('\n', f);
}

/* --latency: the duration's percentiles, down to the last sample. */
static void print_percentiles(FILE *f, const struct report_input *in, const char *metric)
{
    static const double ps[] = { 50, 75, 90, 99, 99.9, 99.99, 99.999, 100 };
    char buf[32];
    struct hist h;
    if (rep_hist_named(in, &filter_all, metric, &h) != 0)
        return;
    fprintf(f, "  %s distribution\n", metric);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double us = ps[i] == 100 ? (double)hist_max(&h) : (double)hist_percentile(&h, ps[i]);
        fprintf(f, "    %8.3f%%  %s\n", ps[i], units_fmt_duration(buf, sizeof buf, us * 1000));
    }
    hist_free(&h);
}

/* The metrics in k6's alphabetical order, as its summary lists them. */
static void print_quick_metrics(FILE *f, const struct report_input *in, const struct metrics *s,
                                const struct stats *st)
{
    struct scsum sc;
    rep_scsum(in, &filter_all, &sc);
    double el = in->elapsed_s;
    rep_counter_line(f, 5, NAME_WIDTH, "data_received", (double)s->bytes_recv, el, true);
    rep_counter_line(f, 5, NAME_WIDTH, "data_sent", (double)s->bytes_sent, el, true);
    rep_counter_line(f, 5, NAME_WIDTH, "dropped_iterations", (double)sc.dropped, el, false);
    trend_of(f, in, &filter_all, "http_req_connecting", "http_req_connecting", 5, NAME_WIDTH, st);
    trend_of(f, in, &filter_all, "http_req_duration", "http_req_duration", 5, NAME_WIDTH, st);
    rep_name_line(f, 5, NAME_WIDTH, "http_req_failed");
    fprintf(f, "%.2f%%  %llu out of %llu\n", s->reqs ? 100.0 * (double)s->failed / (double)s->reqs : 0.0,
            (unsigned long long)s->failed, (unsigned long long)s->reqs);
    trend_of(f, in, &filter_all, "http_req_service", "http_req_service", 5, NAME_WIDTH, st);
    bool tls = rep_tls_seen(s);
    if (tls)
        trend_of(f, in, &filter_all, "http_req_tls_handshaking", "http_req_tls_handshaking", 5, NAME_WIDTH, st);
    trend_of(f, in, &filter_all, "http_req_waiting", "http_req_waiting", 5, NAME_WIDTH, st);
    rep_counter_line(f, 5, NAME_WIDTH, "http_reqs", (double)s->reqs, el, false);
    if (tls)
        rep_tls_line(f, 5, NAME_WIDTH, s->handshakes, s->resumed, s->tls_protocol, el);
}

static void print_quick(FILE *f, const struct report_input *in, const struct stats *st)
{
    struct metrics *s = malloc(sizeof *s);
    if (!s)
        return;
    rep_reqsum(in, &filter_all, s);
    print_quick_header(f, in);
    print_quick_metrics(f, in, s, st);
    rep_outcome_lines(f, 5, s);
    free(s);
    if (in->quick->latency_detail) {
        fputc('\n', f);
        print_percentiles(f, in, "http_req_duration");
        print_percentiles(f, in, "http_req_service");
    }
    fputc('\n', f);
    print_verdict(f, in);
    print_client(f, in, st);
    if (in->quick->rate <= 0)
        fprintf(f, "     note: closed model: each connection waits for its previous response, so a server stall\n"
                   "           delays the next request instead of showing in latency. Use -R RATE to see stalls.\n");
    print_end(f, in);
}

void report_print(FILE *f, const struct report_input *in, const struct report_thresholds *t)
{
    struct stats st;
    rep_stats(in->plan, &st);
    if (in->quick)
        print_quick(f, in, &st);
    else
        print_run(f, in, t, &st);
}
