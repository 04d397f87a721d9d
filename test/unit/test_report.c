/* The end-of-test report of a scenario run, on a plan built by hand (two
 * scenarios, three steps) and metrics recorded with known values: threshold
 * compile errors name FILE:LINE:COL and what was wrong; global, per-scenario,
 * per-name and expected_response thresholds pass and fail where they must;
 * the exported JSON has k6's handleSummary shape (read back with jansson);
 * the text summary has k6's sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "blaster/results/report.h"
#include "test/unit/export_json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the fixture --------------------------------------------------------
 *
 * upload (constant-vus, 50 iterations, vus_max 10):
 *   upload_initiate  POST, expect: 100 responses of 1..100 ms; the 99 and
 *                    100 ms ones are 503 (failed, check failed), the rest 200
 *   upload_chunk     POST, no expect: 500 responses of 300 ms, 201; 1 MiB sent each
 * browse (constant-arrival-rate, 100 iterations, vus_max 50):
 *   browse_search    GET, expect: 1..100 ms ten times (1000 responses, 200)
 *                    and 10 timeouts
 * Totals: 1610 requests, 12 failed, checks 1098 passed / 12 failed, 10 s. */

struct fixture {
    struct scenario_file sf;
    struct plan_request reqs_upload[2], reqs_browse[1];
    struct plan_scenario sc[2];
    struct plan plan;
    struct scenario_metrics m[2];
    struct threshold_spec specs[32];
    char *trend_stats[8];
    struct worker_report workers[2];
    struct report_input in;
};

static void add_spec(struct fixture *fx, const char *metric, const char *expr)
{
    int i = fx->sf.nthresholds++;
    assert_true(i < (int)N(fx->specs));
    fx->specs[i] = (struct threshold_spec){ .metric = (char *)metric, .expr = (char *)expr,
                                            .pos = { .line = 10 + i, .col = 7 } };
}

static void record_ms(struct metrics *m, int ms, int status, bool ok)
{
    int64_t us = (int64_t)ms * 1000;
    m->reqs++;
    m->status[status]++;
    hist_record(&m->duration, us);
    hist_record(&m->service, us / 2);
    hist_record(&m->waiting, us / 4);
    hist_record(&m->lag, 20);
    if (ok)
        hist_record(&m->duration_ok, us);
    else
        m->failed++;
}

static struct fixture *fixture_new(void)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->reqs_upload[0] = (struct plan_request){ .name = "upload_initiate", .method = "POST", .has_expect = true,
                                                .check_name = "upload_initiate: status in [200, 201]", .metric = 0 };
    fx->reqs_upload[1] = (struct plan_request){ .name = "upload_chunk", .method = "POST", .metric = 1 };
    fx->reqs_browse[0] = (struct plan_request){ .name = "browse_search", .method = "GET", .has_expect = true,
                                                .check_name = "browse_search: status is 200", .metric = 0 };
    fx->sc[0] = (struct plan_scenario){ .name = "upload", .exec = { .executor = EXEC_CONSTANT_VUS, .vus = 10 }, .reqs = fx->reqs_upload, .nreqs = 2 };
    fx->sc[1] = (struct plan_scenario){ .name = "browse", .exec = { .executor = EXEC_CONSTANT_ARRIVAL_RATE, .rate = 10 }, .reqs = fx->reqs_browse, .nreqs = 1 };
    fx->sf.path = "mixed.yaml";
    fx->sf.thresholds = fx->specs;
    fx->plan = (struct plan){ .sc = fx->sc, .nsc = 2, .file = &fx->sf };

    assert_int_equal(scenario_metrics_init(&fx->m[0], 2, 3), 0);
    assert_int_equal(scenario_metrics_init(&fx->m[1], 1, 3), 0);
    struct metrics *init = &fx->m[0].req[0], *chunk = &fx->m[0].req[1], *search = &fx->m[1].req[0];
    for (int ms = 1; ms <= 100; ms++) {
        bool ok = ms < 99;
        record_ms(init, ms, ok ? 200 : 503, ok);
        ok ? init->checks_pass++ : init->checks_fail++;
        init->bytes_sent += 200;
        init->bytes_recv += 100;
    }
    for (int i = 0; i < 500; i++) {
        record_ms(chunk, 300, 201, true);
        chunk->bytes_sent += 1 << 20;
    }
    chunk->connects = 10;
    hist_record(&chunk->connecting, 150);
    for (int rep = 0; rep < 10; rep++)
        for (int ms = 1; ms <= 100; ms++) {
            record_ms(search, ms, 200, true);
            search->checks_pass++;
        }
    for (int i = 0; i < 10; i++) {
        metrics_error(search, ERR_TIMEOUT, 110);
        search->checks_fail++;
    }
    fx->m[0].iterations = 50;
    fx->m[0].vus_max = 10;
    fx->m[0].vus = 0;
    fx->m[1].iterations = 100;
    fx->m[1].dropped = 3;
    fx->m[1].vus_max = 50;
    fx->m[1].interrupted = 2;
    for (int i = 1; i <= 50; i++)
        hist_record(&fx->m[0].iteration_duration, i * 10000);
    for (int i = 1; i <= 100; i++)
        hist_record(&fx->m[1].iteration_duration, i * 1000);

    fx->workers[0] = (struct worker_report){ 0.25, 0.01 };
    fx->workers[1] = (struct worker_report){ 0.30, -1 };
    fx->in = (struct report_input){ .plan = &fx->plan, .m = fx->m, .elapsed_s = 10.0, .nworkers = 2,
                                    .workers = fx->workers, .ring_mode = "defer-taskrun" };
    return fx;
}

static void fixture_free(struct fixture *fx)
{
    scenario_metrics_free(&fx->m[0]);
    scenario_metrics_free(&fx->m[1]);
    free(fx);
}

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* The compiled threshold whose key and source are these. */
static const struct report_threshold *find(const struct report_thresholds *t, const char *key, const char *src)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0 && strcmp(t->v[i].th.source, src) == 0)
            return &t->v[i];
    fail_msg("no threshold %s: %s", key, src);
    return NULL;
}

/* ---- compile errors ------------------------------------------------------ */

static const struct {
    const char *metric, *expr;
    const char *want[3];   /* substrings of the message */
} bad[] = {
    { "http_req_durations", "p(95)<500",
      { "mixed.yaml:10:7: ", "unknown metric 'http_req_durations'", "did you mean 'http_req_duration'?" } },
    { "upload_errors", "rate<0.01", { "mixed.yaml:10:7: ", "unknown metric 'upload_errors'", "custom metrics" } },
    { "http_req_duration{status:200}", "p(95)<500",
      { "mixed.yaml:10:7: ", "tag filter 'status' is not supported yet", "scenario, name, method, expected_response" } },
    { "http_req_duration{url:http://x}", "p(95)<500", { "tag filter 'url' is not supported yet", NULL, NULL } },
    { "http_req_duration{scenario:nope}", "p(95)<500",
      { "mixed.yaml:10:7: ", "no scenario 'nope'", "upload, browse" } },
    { "http_req_duration{name:nope}", "p(95)<500",
      { "no step has the name 'nope'", "upload_initiate, upload_chunk, browse_search", NULL } },
    { "http_reqs{method:PUT}", "count>0", { "no step has method 'PUT'", "POST, GET", NULL } },
    { "http_req_duration{scenario:browse,name:upload_chunk}", "p(95)<500",
      { "matches no request", NULL, NULL } },
    { "iterations{name:upload_chunk}", "count>0", { "tag filter 'name' does not apply to iterations", NULL, NULL } },
    { "http_req_waiting{expected_response:true}", "p(95)<500",
      { "'expected_response' is supported on http_req_duration, http_reqs and http_req_failed", NULL, NULL } },
    { "http_req_duration{expected_response:false}", "p(95)<500", { "not supported yet", NULL, NULL } },
    { "http_reqs{expected_response:maybe}", "count>0", { "true or false, got 'maybe'", NULL, NULL } },
    { "http_req_blocked", "p(95)<500", { "'http_req_blocked' is not measured by blaster", NULL, NULL } },
    { "tls_handshake", "count>0", { "unknown metric 'tls_handshake'", "did you mean 'tls_handshakes'?", NULL } },
    { "http_req_tls_handshaking{expected_response:true}", "p(95)<100",
      { "'expected_response' is supported on http_req_duration", NULL, NULL } },
    { "tls_handshakes", "p(95)<100", { "a counter takes count or rate", NULL, NULL } },
    { "http_reqs", "p(95)<500", { "mixed.yaml:10:7: ", "a counter takes count or rate", NULL } },
    { "http_req_duration", "p(95)<500ms", { "unexpected 'ms'", NULL, NULL } },
    { "http_req_duration{scenario:browse", "p(95)<500", { "mixed.yaml:10:7: ", "unclosed '{'", NULL } },
};

static void compile_errors_name_the_place(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < N(bad); i++) {
        fx->sf.nthresholds = 0;
        add_spec(fx, bad[i].metric, bad[i].expr);
        struct report_thresholds t;
        char err[1024] = "";
        if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) == 0)
            fail_msg("%s: %s: compiled, expected an error", bad[i].metric, bad[i].expr);
        assert_int_equal(t.n, 0);
        assert_null(t.v);
        for (int k = 0; k < 3 && bad[i].want[k]; k++)
            if (!strstr(err, bad[i].want[k]))
                fail_msg("%s: %s: '%s' lacks '%s'", bad[i].metric, bad[i].expr, err, bad[i].want[k]);
    }
}

/* The error names the failing threshold's own position, not the first's. */
static void compile_error_position_is_the_expressions(void **state)
{
    struct fixture *fx = *state;
    add_spec(fx, "http_req_duration", "p(95)<500");
    add_spec(fx, "http_req_failed", "rate<0.01");
    add_spec(fx, "http_req_duration{scenario:brwse}", "p(95)<400");
    struct report_thresholds t;
    char err[512];
    assert_int_equal(report_thresholds_compile(&fx->plan, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "mixed.yaml:12:7: "));
    assert_non_null(strstr(err, "'brwse'"));
}

static void no_file_no_thresholds(void **state)
{
    struct fixture *fx = *state;
    fx->plan.file = NULL;
    struct report_thresholds t;
    char err[64];
    assert_int_equal(report_thresholds_compile(&fx->plan, &t, err, sizeof err), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(report_thresholds_eval(&t, &fx->in), 0);
    assert_int_equal(report_thresholds_eval(NULL, &fx->in), 0);
    report_thresholds_free(&t);
}

/* ---- evaluation ---------------------------------------------------------- */

static void add_eval_specs(struct fixture *fx)
{
    add_spec(fx, "http_req_duration", "p(95)<500");                             /* 300 ms: pass */
    add_spec(fx, "http_req_duration", "p(99.9)<=300");                          /* pass (300 exact) */
    add_spec(fx, "http_req_duration{scenario:browse}", "p(95)<90");             /* 95 ms: fail */
    add_spec(fx, "http_req_duration{scenario:browse}", "p(95)<100");            /* pass */
    add_spec(fx, "http_req_duration{ scenario : 'browse' }", "med<=51");        /* 50 ms: pass, same key */
    add_spec(fx, "http_req_duration{name:upload_initiate}", "max<=100");        /* pass */
    add_spec(fx, "http_req_duration{name:upload_initiate,expected_response:true}", "max<99"); /* 98: pass */
    add_spec(fx, "http_req_duration{expected_response:true,name:upload_initiate}", "min>=1"); /* pass, same key */
    add_spec(fx, "http_req_duration{expected_response:true}", "max<300");       /* 300: fail */
    add_spec(fx, "http_req_duration{method:GET}", "avg<60");                    /* 50.5: pass */
    add_spec(fx, "http_req_failed", "rate<0.005");                              /* 12/1610: fail */
    add_spec(fx, "http_req_failed{scenario:upload}", "rate<0.01");              /* 2/600: pass */
    add_spec(fx, "http_req_failed{expected_response:true}", "rate==0");         /* pass */
    add_spec(fx, "checks", "rate>0.99");                                        /* 1098/1110: fail */
    add_spec(fx, "checks", "rate>0.98");                                        /* pass */
    add_spec(fx, "checks{scenario:upload}", "rate==0.98");                      /* 98/100: pass */
    add_spec(fx, "http_reqs", "count>=1610");                                   /* pass */
    add_spec(fx, "http_reqs", "rate>161");                                      /* 161/s: fail */
    add_spec(fx, "http_reqs{expected_response:false}", "count==12");            /* pass */
    add_spec(fx, "http_reqs{scenario:browse,method:GET}", "count==1010");       /* pass */
    add_spec(fx, "iterations{scenario:upload}", "count==50");                   /* pass */
    add_spec(fx, "iterations", "rate==15");                                     /* 150/10 s: pass */
    add_spec(fx, "dropped_iterations", "count<1");                              /* 3: fail */
    add_spec(fx, "vus_max", "value==60");                                       /* pass */
    add_spec(fx, "vus", "value<1");                                             /* pass */
    add_spec(fx, "data_sent", "count>524288000");                               /* 500 MiB + 20000 B: pass */
    add_spec(fx, "iteration_duration{scenario:upload}", "max==500");            /* pass */
    add_spec(fx, "client_lag", "p(99)<1");                                      /* 20 µs: pass */
    add_spec(fx, "http_req_connecting", "max<0.2");                             /* 150 µs: pass */
}

static void eval_passes_and_fails_on_known_data(void **state)
{
    struct fixture *fx = *state;
    add_eval_specs(fx);
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(t.n, fx->sf.nthresholds);
    int failed = report_thresholds_eval(&t, &fx->in);

    static const struct { const char *key, *src; bool ok; double obs, tol; } want[] = {
        { "http_req_duration", "p(95)<500", true, 300, 0.3 },
        { "http_req_duration", "p(99.9)<=300", true, 300, 0 },
        { "http_req_duration{scenario:browse}", "p(95)<90", false, 95, 0.1 },
        { "http_req_duration{scenario:browse}", "p(95)<100", true, 95, 0.1 },
        { "http_req_duration{scenario:browse}", "med<=51", true, 50, 0.1 },
        { "http_req_duration{name:upload_initiate}", "max<=100", true, 100, 0 },
        { "http_req_duration{name:upload_initiate,expected_response:true}", "max<99", true, 98, 0 },
        { "http_req_duration{name:upload_initiate,expected_response:true}", "min>=1", true, 1, 0 },
        { "http_req_duration{expected_response:true}", "max<300", false, 300, 0 },
        { "http_req_duration{method:GET}", "avg<60", true, 50.5, 0.1 },
        { "http_req_failed", "rate<0.005", false, 12.0 / 1610, 1e-12 },
        { "http_req_failed{scenario:upload}", "rate<0.01", true, 2.0 / 600, 1e-12 },
        { "http_req_failed{expected_response:true}", "rate==0", true, 0, 0 },
        { "checks", "rate>0.99", false, 1098.0 / 1110, 1e-12 },
        { "checks", "rate>0.98", true, 1098.0 / 1110, 1e-12 },
        { "checks{scenario:upload}", "rate==0.98", true, 0.98, 0 },
        { "http_reqs", "count>=1610", true, 1610, 0 },
        { "http_reqs", "rate>161", false, 161, 1e-9 },
        { "http_reqs{expected_response:false}", "count==12", true, 12, 0 },
        { "http_reqs{scenario:browse,method:GET}", "count==1010", true, 1010, 0 },
        { "iterations{scenario:upload}", "count==50", true, 50, 0 },
        { "iterations", "rate==15", true, 15, 0 },
        { "dropped_iterations", "count<1", false, 3, 0 },
        { "vus_max", "value==60", true, 60, 0 },
        { "vus", "value<1", true, 0, 0 },
        { "data_sent", "count>524288000", true, 500.0 * (1 << 20) + 20000, 0 },
        { "iteration_duration{scenario:upload}", "max==500", true, 500, 0 },
        { "client_lag", "p(99)<1", true, 0.02, 0 },
        { "http_req_connecting", "max<0.2", true, 0.15, 0 },
    };
    int want_failed = 0;
    for (size_t i = 0; i < N(want); i++) {
        const struct report_threshold *x = find(&t, want[i].key, want[i].src);
        if (x->ok != want[i].ok)
            fail_msg("%s: %s: ok %d, want %d (observed %g)", want[i].key, want[i].src, x->ok, want[i].ok, x->observed);
        assert_true(x->has_observed);
        if (fabs(x->observed - want[i].obs) > want[i].tol + 1e-9)
            fail_msg("%s: %s: observed %.9g, want %.9g", want[i].key, want[i].src, x->observed, want[i].obs);
        want_failed += !want[i].ok;
    }
    assert_int_equal(failed, want_failed);
    report_thresholds_free(&t);
}

/* A rate with no samples passes whatever it says (k6), and a trend with none compares 0. */
static void eval_empty_metrics_follow_k6(void **state)
{
    struct fixture *fx = *state;
    add_spec(fx, "http_req_failed{name:upload_chunk,expected_response:false}", "rate>0.5");
    add_spec(fx, "checks{name:upload_chunk}", "rate>0.99");
    add_spec(fx, "http_req_connecting{scenario:browse}", "p(95)<1");
    add_spec(fx, "http_req_connecting{scenario:browse}", "min>0");
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(report_thresholds_eval(&t, &fx->in), 1);
    /* upload_chunk never failed: the expected_response:false selection has no samples. */
    assert_true(t.v[0].ok);
    assert_false(t.v[0].has_observed);
    assert_true(t.v[1].ok);
    assert_false(t.v[1].has_observed);
    assert_true(t.v[2].ok);
    assert_false(t.v[3].ok);
    report_thresholds_free(&t);
}

static void abort_due_honours_abort_on_fail_and_delay(void **state)
{
    struct fixture *fx = *state;
    add_spec(fx, "http_req_failed", "rate<0.005");            /* fails, no abortOnFail */
    add_spec(fx, "http_req_duration{scenario:browse}", "p(95)<90");
    fx->specs[1].abort_on_fail = true;
    fx->specs[1].delay_abort_eval_ns = 30LL * 1000000000;
    struct report_thresholds t;
    char err[512] = "", by[256] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(report_thresholds_abort_due(&t, &fx->in, 10LL * 1000000000, by, sizeof by), -1);
    assert_int_equal(report_thresholds_abort_due(&t, &fx->in, 30LL * 1000000000, by, sizeof by), -1);
    assert_int_equal(report_thresholds_abort_due(&t, &fx->in, 31LL * 1000000000, by, sizeof by), 1);
    assert_string_equal(by, "http_req_duration{scenario:browse}: p(95)<90");
    report_thresholds_free(&t);
}

/* ---- JSON export --------------------------------------------------------- */

struct export_ctx { struct fixture *fx; struct report_thresholds *t; };

static int write_report(const char *path, void *ctx, char *err, size_t errlen)
{
    struct export_ctx *c = ctx;
    return report_export(path, &c->fx->in, c->t, err, errlen);
}

static json_t *export_and_load(struct fixture *fx, struct report_thresholds *t)
{
    struct export_ctx c = { fx, t };
    return export_json(write_report, &c);
}



static int th_ok(json_t *m, const char *src)
{
    json_t *x = json_object_get(json_object_get(json_object_get(m, "thresholds"), src), "ok");
    if (!json_is_boolean(x))
        fail_msg("thresholds['%s'].ok missing", src);
    return json_is_true(x);
}

static void export_has_k6_shape(void **state)
{
    struct fixture *fx = *state;
    add_eval_specs(fx);
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    report_thresholds_eval(&t, &fx->in);
    json_t *root = export_and_load(fx, &t);

    /* Counters, rates, gauges, trends. */
    json_t *m = export_metric(root, "http_reqs", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 1610);
    assert_true(fabs(export_value(m, "rate") - 161) < 1e-9);
    assert_true(json_is_integer(json_object_get(json_object_get(m, "values"), "count")));
    assert_int_equal(th_ok(m, "count>=1610"), 1);
    assert_int_equal(th_ok(m, "rate>161"), 0);
    m = export_metric(root, "http_req_failed", "rate", "default");
    assert_int_equal((int)export_value(m, "passes"), 12);
    assert_int_equal((int)export_value(m, "fails"), 1598);
    assert_true(fabs(export_value(m, "rate") - 12.0 / 1610) < 1e-9);
    assert_int_equal(th_ok(m, "rate<0.005"), 0);
    m = export_metric(root, "checks", "rate", "default");
    assert_int_equal((int)export_value(m, "passes"), 1098);
    assert_int_equal((int)export_value(m, "fails"), 12);
    assert_int_equal(th_ok(m, "rate>0.99"), 0);
    assert_int_equal(th_ok(m, "rate>0.98"), 1);
    m = export_metric(root, "vus_max", "gauge", "default");
    assert_int_equal((int)export_value(m, "value"), 60);
    assert_int_equal((int)export_value(m, "max"), 60);
    m = export_metric(root, "vus", "gauge", "default");
    assert_int_equal((int)export_value(m, "value"), 0);
    assert_int_equal((int)export_value(m, "max"), 60);
    m = export_metric(root, "data_sent", "counter", "data");
    assert_int_equal((long long)export_value(m, "count"), 500LL * (1 << 20) + 20000);
    export_metric(root, "data_received", "counter", "data");
    m = export_metric(root, "iterations", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 150);
    m = export_metric(root, "dropped_iterations", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 3);

    static const char *const stats[] = { "avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "p(99.9)" };
    static const char *const trends[] = { "http_req_duration", "http_req_duration{expected_response:true}",
                                          "http_req_service", "http_req_waiting", "http_req_connecting",
                                          "client_lag", "iteration_duration" };
    for (size_t i = 0; i < N(trends); i++) {
        m = export_metric(root, trends[i], "trend", "time");
        assert_int_equal(json_object_size(json_object_get(m, "values")), N(stats));
        for (size_t k = 0; k < N(stats); k++)
            export_value(m, stats[k]);
    }
    m = export_metric(root, "http_req_duration", "trend", "time");
    assert_true(fabs(export_value(m, "max") - 300) < 1e-9);
    assert_true(fabs(export_value(m, "min") - 1) < 1e-9);
    assert_int_equal(th_ok(m, "p(95)<500"), 1);
    assert_int_equal(th_ok(m, "p(99.9)<=300"), 1);
    m = export_metric(root, "http_req_duration{expected_response:true}", "trend", "time");
    assert_true(fabs(export_value(m, "max") - 300) < 1e-9);
    assert_int_equal(th_ok(m, "max<300"), 0);
    m = export_metric(root, "http_req_service", "trend", "time");
    assert_null(json_object_get(m, "thresholds"));   /* only where some are defined */

    /* Sub-metrics of the thresholds, under their canonical key, equal refs merged. */
    m = export_metric(root, "http_req_duration{scenario:browse}", "trend", "time");
    assert_true(fabs(export_value(m, "p(95)") - 95) < 0.1);
    assert_int_equal(json_object_size(json_object_get(m, "thresholds")), 3);
    assert_int_equal(th_ok(m, "p(95)<90"), 0);
    assert_int_equal(th_ok(m, "p(95)<100"), 1);
    assert_int_equal(th_ok(m, "med<=51"), 1);
    m = export_metric(root, "http_req_duration{name:upload_initiate,expected_response:true}", "trend", "time");
    assert_true(fabs(export_value(m, "max") - 98) < 1e-9);
    assert_int_equal(json_object_size(json_object_get(m, "thresholds")), 2);
    m = export_metric(root, "http_req_failed{scenario:upload}", "rate", "default");
    assert_int_equal((int)export_value(m, "passes"), 2);
    assert_int_equal((int)export_value(m, "fails"), 598);
    m = export_metric(root, "http_reqs{scenario:browse,method:GET}", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 1010);
    m = export_metric(root, "iterations{scenario:upload}", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 50);
    m = export_metric(root, "checks{scenario:upload}", "rate", "default");
    assert_int_equal((int)export_value(m, "passes"), 98);

    /* root_group: k6's ids are the MD5 of the paths. */
    json_t *rg = json_object_get(root, "root_group");
    assert_string_equal(json_string_value(json_object_get(rg, "name")), "");
    assert_string_equal(json_string_value(json_object_get(rg, "path")), "");
    assert_string_equal(json_string_value(json_object_get(rg, "id")), "d41d8cd98f00b204e9800998ecf8427e");
    assert_true(json_is_array(json_object_get(rg, "groups")));
    assert_int_equal(json_array_size(json_object_get(rg, "groups")), 0);
    json_t *checks = json_object_get(rg, "checks");
    assert_int_equal(json_array_size(checks), 2);
    json_t *c0 = json_array_get(checks, 0), *c1 = json_array_get(checks, 1);
    assert_string_equal(json_string_value(json_object_get(c0, "name")), "upload_initiate: status in [200, 201]");
    assert_string_equal(json_string_value(json_object_get(c0, "path")), "::upload_initiate: status in [200, 201]");
    assert_int_equal(json_integer_value(json_object_get(c0, "passes")), 98);
    assert_int_equal(json_integer_value(json_object_get(c0, "fails")), 2);
    char id[33];
    report_md5_hex("::upload_initiate: status in [200, 201]", 39, id);
    assert_string_equal(json_string_value(json_object_get(c0, "id")), id);
    assert_string_equal(json_string_value(json_object_get(c1, "name")), "browse_search: status is 200");
    assert_int_equal(json_integer_value(json_object_get(c1, "passes")), 1000);
    assert_int_equal(json_integer_value(json_object_get(c1, "fails")), 10);

    /* options, state. */
    json_t *ts = json_object_get(json_object_get(root, "options"), "summaryTrendStats");
    assert_int_equal(json_array_size(ts), N(stats));
    for (size_t k = 0; k < N(stats); k++)
        assert_string_equal(json_string_value(json_array_get(ts, k)), stats[k]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "options"), "summaryTimeUnit")), "");
    json_t *st = json_object_get(root, "state");
    assert_true(fabs(json_number_value(json_object_get(st, "testRunDurationMs")) - 10000) < 1e-9);
    assert_true(json_is_boolean(json_object_get(st, "isStdOutTTY")));

    /* blaster's own object. */
    json_t *bl = json_object_get(root, "blaster");
    assert_string_equal(json_string_value(json_object_get(bl, "file")), "mixed.yaml");
    assert_int_equal(json_integer_value(json_object_get(bl, "thresholds_failed")), 6);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(bl, "status_codes"), "503")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(bl, "errors"), "timeout")), 10);
    assert_string_equal(json_string_value(json_object_get(json_object_get(bl, "verdict"), "status")), "OK");
    assert_int_equal(json_array_size(json_object_get(json_object_get(bl, "verdict"), "workers")), 2);
    json_t *browse = json_object_get(json_object_get(bl, "scenarios"), "browse");
    assert_string_equal(json_string_value(json_object_get(browse, "executor")), "constant-arrival-rate");
    assert_int_equal(json_integer_value(json_object_get(browse, "reqs")), 1010);
    assert_int_equal(json_integer_value(json_object_get(browse, "dropped_iterations")), 3);
    assert_int_equal(json_integer_value(json_object_get(browse, "interrupted_iterations")), 2);
    json_t *step = json_object_get(json_object_get(browse, "steps"), "browse_search");
    assert_string_equal(json_string_value(json_object_get(step, "method")), "GET");
    assert_int_equal(json_integer_value(json_object_get(step, "failed")), 10);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(step, "status_codes"), "200")), 1000);
    assert_true(fabs(json_number_value(json_object_get(json_object_get(step, "duration"), "p(95)")) - 95) < 0.1);
    json_t *upload = json_object_get(json_object_get(bl, "scenarios"), "upload");
    assert_int_equal(json_object_size(json_object_get(upload, "steps")), 2);
    step = json_object_get(json_object_get(upload, "steps"), "upload_chunk");
    assert_int_equal(json_integer_value(json_object_get(step, "reqs")), 500);
    assert_null(json_object_get(step, "checks"));

    json_decref(root);
    report_thresholds_free(&t);
}

/* summary_trend_stats replace k6's default list; p(99), p(99.9) are always there. */
static void export_uses_summary_trend_stats(void **state)
{
    struct fixture *fx = *state;
    fx->trend_stats[0] = "avg";
    fx->trend_stats[1] = "p(99)";
    fx->trend_stats[2] = "count";
    fx->sf.summary_trend_stats = fx->trend_stats;
    fx->sf.nsummary_trend_stats = 3;
    json_t *root = export_and_load(fx, NULL);
    json_t *m = export_metric(root, "http_req_duration", "trend", "time");
    assert_int_equal(json_object_size(json_object_get(m, "values")), 4);
    assert_int_equal((int)export_value(m, "count"), 1600);
    assert_true(json_is_integer(json_object_get(json_object_get(m, "values"), "count")));
    export_value(m, "p(99.9)");
    json_t *ts = json_object_get(json_object_get(root, "options"), "summaryTrendStats");
    assert_int_equal(json_array_size(ts), 4);
    assert_string_equal(json_string_value(json_array_get(ts, 3)), "p(99.9)");
    /* No thresholds: no "thresholds" anywhere. */
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "metrics"), k, v)
        assert_null(json_object_get(v, "thresholds"));
    json_decref(root);
}

static void export_reports_unwritable_path(void **state)
{
    struct fixture *fx = *state;
    char err[512] = "";
    assert_int_equal(report_export("/nonexistent-dir/x.json", &fx->in, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
}

/* ---- text summary -------------------------------------------------------- */

static char *print_to_string(struct fixture *fx, const struct report_thresholds *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_print(f, &fx->in, t);
    fclose(f);
    return buf;
}


static void text_has_k6_sections(void **state)
{
    struct fixture *fx = *state;
    add_eval_specs(fx);
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    report_thresholds_eval(&t, &fx->in);
    fx->in.aborted_by = "http_req_failed: rate<0.005";
    char *text = print_to_string(fx, &t);

    want_text(text, "  █ THRESHOLDS\n\n    checks\n    ✗ 'rate>0.99' rate=98.91%\n    ✓ 'rate>0.98' rate=98.91%\n\n"
                    "      {scenario:upload}\n      ✓ 'rate==0.98' rate=98.00%\n");
    want_text(text, "\n    http_req_duration\n    ✓ 'p(95)<500' p(95)=300ms\n");
    /* A sub-metric whose parent has thresholds: only its filter, indented under it. */
    want_text(text, "\n      {scenario:browse}\n      ✗ 'p(95)<90' p(95)=95.");
    want_text(text, "    ✗ 'rate<0.005' rate=0.74%\n");
    want_text(text, "    ✗ 'rate>161' rate=161/s\n");
    /* A sub-metric whose parent has none: its whole key. */
    want_text(text, "\n    iteration_duration{scenario:upload}\n    ✓ 'max==500' max=500ms\n");
    want_text(text, "  █ TOTAL RESULTS\n");
    want_text(text, "    checks_succeeded................: 98.91%  1098 out of 1110\n");
    want_text(text, "    checks_failed...................: 1.08%   12 out of 1110\n");
    want_text(text, "    ✗ browse_search: status is 200\n      ↳  99% — ✓ 1000 / ✗ 10\n");
    want_text(text, "    ✗ upload_initiate: status in [200, 201]\n      ↳  98% — ✓ 98 / ✗ 2\n");
    want_text(text, "    HTTP\n    http_req_duration...............: avg=");
    want_text(text, "\n      { expected_response:true }....: avg=");
    want_text(text, "p(90)=");
    want_text(text, "p(99.9)=");
    want_text(text, "    http_req_failed.................: 0.74%   12 out of 1610\n");
    want_text(text, "    http_reqs.......................: 1610      161.00/s\n");
    want_text(text, "    status..........................: 200=1098 201=500 503=2\n");
    want_text(text, "timeout=10");
    want_text(text, "      timeout: last cause: ");
    want_text(text, "    EXECUTION\n");
    want_text(text, "    vus_max.........................: 60        min=60 max=60\n");
    want_text(text, "    NETWORK\n");
    want_text(text, "  █ SCENARIO: upload (constant-vus)\n");
    want_text(text, "  █ SCENARIO: browse (constant-arrival-rate)\n");
    want_text(text, "    http_reqs.......................: 1010      101.00/s\n");
    want_text(text, "    interrupted_iterations..........: 2 cut by the end of the scenario\n");
    want_text(text, "    step                 reqs   failed");
    want_text(text, "    upload_initiate       100    2.00%");
    want_text(text, "    upload_chunk          500    0.00%     300ms     300ms     300ms   201=500\n");
    want_text(text, "    browse_search      1010    0.99%   50.01ms   95.03ms      99ms   200=1000 timeout=10\n");
    want_text(text, "200=1000 timeout=10\n");
    want_text(text, "note: closed model without pace");
    want_text(text, "  client verdict: OK\n     upload: bounded by the server or its own flow, its requests left on "
                    "time (client_lag p99 ");
    want_text(text, "     browse: bounded by the server or its own flow");
    want_text(text, "\n     client_lag......................: avg=");
    want_text(text, "     client_cpu......................: worker0=25% (waited 1.0%) worker1=30%\n");
    want_text(text, "aborted after 10.0s: threshold 'http_req_failed: rate<0.005' failed (abortOnFail)");
    want_text(text, "  ✗ 6 of 29 thresholds failed\n");
    /* The closed-model note is upload's (constant-vus), not browse's (arrival rate). */
    assert_true(strstr(text, "note: closed model") < strstr(text, "█ SCENARIO: browse"));
    /* Sections in k6's order. */
    assert_true(strstr(text, "█ THRESHOLDS") < strstr(text, "█ TOTAL RESULTS"));
    assert_true(strstr(text, "█ TOTAL RESULTS") < strstr(text, "█ SCENARIO: upload"));
    assert_true(strstr(text, "█ SCENARIO: upload") < strstr(text, "█ SCENARIO: browse"));
    assert_true(strstr(text, "█ SCENARIO: browse") < strstr(text, "client verdict"));
    free(text);
    report_thresholds_free(&t);
}

static void text_without_thresholds_or_checks(void **state)
{
    struct fixture *fx = *state;
    fx->reqs_upload[0].has_expect = false;
    fx->reqs_browse[0].has_expect = false;
    for (int s = 0; s < 2; s++)
        for (int q = 0; q < fx->m[s].nreq; q++)
            fx->m[s].req[q].checks_pass = fx->m[s].req[q].checks_fail = 0;
    char *text = print_to_string(fx, NULL);
    assert_null(strstr(text, "THRESHOLDS"));
    assert_null(strstr(text, "checks_"));
    assert_null(strstr(text, "thresholds failed"));
    want_text(text, "█ TOTAL RESULTS");
    free(text);
    json_t *root = export_and_load(fx, NULL);
    assert_null(json_object_get(json_object_get(root, "metrics"), "checks"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(root, "root_group"), "checks")), 0);
    json_decref(root);
}

/* A check with no failure is ✓, one with failures ✗ with its share, one that never ran says so. */
static void text_marks_checks_by_outcome(void **state)
{
    struct fixture *fx = *state;
    fx->m[1].req[0].checks_fail = 0;
    fx->m[0].req[0].checks_pass = fx->m[0].req[0].checks_fail = 0;
    char *text = print_to_string(fx, NULL);
    want_text(text, "    ✓ browse_search: status is 200\n");
    want_text(text, "    - upload_initiate: status in [200, 201] (never ran)\n");
    want_text(text, "    checks_succeeded................: 100.00% 1000 out of 1000\n");
    assert_null(strstr(text, "✗"));
    free(text);
}

/* ---- TLS ------------------------------------------------------------------
 *
 * On top of the fixture: browse_search paid for 20 handshakes of 1..20 ms
 * (15 of them resumed), upload_chunk for 10 full ones of 150 ms; TLSv1.3;
 * upload_initiate had 12 tls errors (certificate not trusted). Totals: 30
 * handshakes, 25 resumed, 3/s over the 10 s; http_req_tls_handshaking p(95)
 * 150 ms overall, 19 ms on browse. */

#define TLS_REASON "certificate verification failed: no trusted CA signed the server's certificate " \
                   "(unable to get local issuer certificate)"

static void add_tls(struct fixture *fx)
{
    struct metrics *init = &fx->m[0].req[0], *chunk = &fx->m[0].req[1], *search = &fx->m[1].req[0];
    for (int ms = 1; ms <= 20; ms++)
        hist_record(&search->tls_handshaking, ms * 1000);
    search->handshakes = 20;
    search->resumed = 15;
    snprintf(search->tls_protocol, sizeof search->tls_protocol, "TLSv1.3");
    for (int i = 0; i < 10; i++)
        hist_record(&chunk->tls_handshaking, 150000);
    chunk->handshakes = 10;
    chunk->resumed = 10;
    snprintf(chunk->tls_protocol, sizeof chunk->tls_protocol, "TLSv1.3");
    for (int i = 0; i < 12; i++)
        metrics_error(init, ERR_TLS, EIO);
    snprintf(init->tls_reason, sizeof init->tls_reason, "%s", TLS_REASON);
}

static void tls_thresholds_evaluate(void **state)
{
    struct fixture *fx = *state;
    add_tls(fx);
    add_spec(fx, "http_req_tls_handshaking", "p(95)<100");                  /* 150 ms: fail */
    add_spec(fx, "http_req_tls_handshaking", "p(95)<200");                  /* pass */
    add_spec(fx, "http_req_tls_handshaking{scenario:browse}", "p(95)<100"); /* 19 ms: pass */
    add_spec(fx, "http_req_tls_handshaking{scenario:browse}", "max<20");    /* 20 ms: fail */
    add_spec(fx, "http_req_tls_handshaking{name:upload_chunk}", "min>=150"); /* pass */
    add_spec(fx, "tls_handshakes", "count==30");                            /* pass */
    add_spec(fx, "tls_handshakes", "rate>3");                               /* 3/s: fail */
    add_spec(fx, "tls_handshakes{scenario:browse,method:GET}", "count==20"); /* pass */
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(report_thresholds_eval(&t, &fx->in), 3);
    static const struct { const char *key, *src; bool ok; double obs, tol; } want[] = {
        { "http_req_tls_handshaking", "p(95)<100", false, 150, 0.2 },
        { "http_req_tls_handshaking", "p(95)<200", true, 150, 0.2 },
        { "http_req_tls_handshaking{scenario:browse}", "p(95)<100", true, 19, 0.1 },
        { "http_req_tls_handshaking{scenario:browse}", "max<20", false, 20, 0.1 },
        { "http_req_tls_handshaking{name:upload_chunk}", "min>=150", true, 150, 0.2 },
        { "tls_handshakes", "count==30", true, 30, 0 },
        { "tls_handshakes", "rate>3", false, 3, 1e-9 },
        { "tls_handshakes{scenario:browse,method:GET}", "count==20", true, 20, 0 },
    };
    for (size_t i = 0; i < N(want); i++) {
        const struct report_threshold *x = find(&t, want[i].key, want[i].src);
        if (x->ok != want[i].ok)
            fail_msg("%s: %s: ok %d, want %d (observed %g)", want[i].key, want[i].src, x->ok, want[i].ok, x->observed);
        assert_true(x->has_observed);
        if (fabs(x->observed - want[i].obs) > want[i].tol + 1e-9)
            fail_msg("%s: %s: observed %.9g, want %.9g", want[i].key, want[i].src, x->observed, want[i].obs);
    }
    report_thresholds_free(&t);
}

static void tls_text_and_export(void **state)
{
    struct fixture *fx = *state;
    add_tls(fx);
    add_spec(fx, "http_req_tls_handshaking", "p(95)<100");
    add_spec(fx, "http_req_tls_handshaking{scenario:browse}", "p(95)<100");
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    report_thresholds_eval(&t, &fx->in);

    char *text = print_to_string(fx, &t);
    want_text(text, "\n    http_req_tls_handshaking\n    ✗ 'p(95)<100' p(95)=150ms\n");
    want_text(text, "\n      {scenario:browse}\n      ✓ 'p(95)<100' p(95)=19");
    want_text(text, "    http_req_tls_handshaking........: avg=");
    want_text(text, "max=150ms");
    want_text(text, "    tls_handshakes..................: 30        3.00/s  (25 resumed, TLSv1.3)\n");
    want_text(text, " tls=12 ");
    want_text(text, "      tls: last cause: " TLS_REASON "\n");
    /* The reason replaces the errno's words for the tls class. */
    assert_null(strstr(text, strerror(EIO)));
    /* After http_req_connecting, in the HTTP section (total), before status. */
    assert_true(strstr(text, "    http_req_connecting.") < strstr(text, "    http_req_tls_handshaking."));
    assert_true(strstr(text, "    tls_handshakes.") < strstr(text, "    status."));
    assert_true(strstr(text, "    tls_handshakes.") < strstr(text, "█ SCENARIO"));
    /* The per-step table counts the class. */
    want_text(text, "201=500\n");
    want_text(text, "200=98 503=2 tls=12\n");
    free(text);

    json_t *root = export_and_load(fx, &t);
    static const char *const stats[] = { "avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "p(99.9)" };
    json_t *m = export_metric(root, "http_req_tls_handshaking", "trend", "time");
    assert_int_equal(json_object_size(json_object_get(m, "values")), N(stats));
    for (size_t k = 0; k < N(stats); k++)
        export_value(m, stats[k]);
    assert_true(fabs(export_value(m, "max") - 150) < 0.2);
    assert_true(fabs(export_value(m, "min") - 1) < 1e-9);
    assert_true(fabs(export_value(m, "p(95)") - 150) < 0.2);
    assert_int_equal(th_ok(m, "p(95)<100"), 0);
    m = export_metric(root, "http_req_tls_handshaking{scenario:browse}", "trend", "time");
    assert_true(fabs(export_value(m, "p(95)") - 19) < 0.1);
    assert_int_equal(th_ok(m, "p(95)<100"), 1);
    m = export_metric(root, "tls_handshakes", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 30);
    assert_true(json_is_integer(json_object_get(json_object_get(m, "values"), "count")));
    assert_true(fabs(export_value(m, "rate") - 3) < 1e-9);
    assert_null(json_object_get(m, "thresholds"));
    export_check_tls(root, 12, 30, 25, "TLSv1.3", TLS_REASON);
    json_decref(root);
    report_thresholds_free(&t);
}

/* A run whose every handshake failed still shows TLS: the count (0) and why. */
static void tls_errors_alone_show_tls(void **state)
{
    struct fixture *fx = *state;
    struct metrics *search = &fx->m[1].req[0];
    for (int i = 0; i < 5; i++)
        metrics_error(search, ERR_TLS, 0);
    snprintf(search->tls_reason, sizeof search->tls_reason, "handshake failed: protocol version not supported");
    char *text = print_to_string(fx, NULL);
    want_text(text, "    tls_handshakes..................: 0         0.00/s  (0 resumed)\n");
    want_text(text, "      tls: last cause: handshake failed: protocol version not supported\n");
    want_text(text, "    http_req_tls_handshaking........: avg=0s");
    free(text);
    json_t *root = export_and_load(fx, NULL);
    json_t *m = export_metric(root, "tls_handshakes", "counter", "default");
    assert_int_equal((int)export_value(m, "count"), 0);
    export_metric(root, "http_req_tls_handshaking", "trend", "time");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(root, "blaster"), "tls"),
                                                          "protocol")), "");
    json_decref(root);
}

/* Plain HTTP: no TLS line, no TLS metric, no blaster.tls (k6 would list
 * http_req_tls_handshaking with zeros; blaster leaves it out). A threshold
 * on it still compiles, evaluates on nothing, and is exported. */
static void plain_run_has_no_tls(void **state)
{
    struct fixture *fx = *state;
    char *text = print_to_string(fx, NULL);
    assert_null(strstr(text, "tls_handshak"));
    assert_null(strstr(text, "tls: last cause"));
    want_text(text, " tls=0 ");
    free(text);
    json_t *root = export_and_load(fx, NULL);
    json_t *ms = json_object_get(root, "metrics");
    assert_null(json_object_get(ms, "http_req_tls_handshaking"));
    assert_null(json_object_get(ms, "tls_handshakes"));
    assert_non_null(json_object_get(ms, "http_req_connecting"));
    assert_null(json_object_get(json_object_get(root, "blaster"), "tls"));
    json_decref(root);

    add_spec(fx, "http_req_tls_handshaking", "p(95)<100");
    struct report_thresholds t;
    char err[512] = "";
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(report_thresholds_eval(&t, &fx->in), 0);
    root = export_and_load(fx, &t);
    json_t *m = export_metric(root, "http_req_tls_handshaking", "trend", "time");
    assert_int_equal(th_ok(m, "p(95)<100"), 1);
    assert_null(json_object_get(json_object_get(root, "metrics"), "tls_handshakes"));
    json_decref(root);
    text = print_to_string(fx, &t);
    assert_null(strstr(text, "tls_handshakes"));
    assert_null(strstr(text, "http_req_tls_handshaking......"));
    free(text);
    report_thresholds_free(&t);
}

/* ---- helpers ------------------------------------------------------------- */

static void md5_matches_rfc1321(void **state)
{
    (void)state;
    static const struct { const char *in; size_t len; const char *hex; } v[] = {
        { "", 0, "d41d8cd98f00b204e9800998ecf8427e" },
        { "abc", 3, "900150983cd24fb0d6963f7d28e17f72" },
        { "::status is 200", 15, "6210a8cd14cd70477eba5c5e4cb3fb5f" },
        { "The quick brown fox jumps over the lazy dog", 43, "9e107d9d372bb6826bd81d3542a419d6" },
    };
    char out[33];
    for (size_t i = 0; i < N(v); i++) {
        report_md5_hex(v[i].in, v[i].len, out);
        assert_string_equal(out, v[i].hex);
    }
    /* Lengths around the padding boundary (55, 56, 63, 64 bytes). */
    static const struct { size_t len; const char *hex; } a[] = {
        { 63, "b06521f39153d618550606be297466d5" },
        { 64, "014842d480b571495a4a0363793f7367" },
        { 100, "36a92cc94a9e0fa21f625f8bfb007adf" },
    };
    char buf[128];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < N(a); i++) {
        report_md5_hex(buf, a[i].len, out);
        assert_string_equal(out, a[i].hex);
    }
}

static void stat_parse_table(void **state)
{
    (void)state;
    static const struct { const char *in; int rc; enum report_stat_kind kind; double p; } v[] = {
        { "avg", 0, RSTAT_AVG, 0 }, { "min", 0, RSTAT_MIN, 0 }, { "med", 0, RSTAT_MED, 0 },
        { "max", 0, RSTAT_MAX, 0 }, { "count", 0, RSTAT_COUNT, 0 }, { "p(95)", 0, RSTAT_P, 95 },
        { "p(99.9)", 0, RSTAT_P, 99.9 }, { "p(0)", 0, RSTAT_P, 0 }, { "p(100)", 0, RSTAT_P, 100 },
        { "p(101)", -1, 0, 0 }, { "p()", -1, 0, 0 }, { "p(x)", -1, 0, 0 }, { "p95", -1, 0, 0 },
        { "mean", -1, 0, 0 }, { "", -1, 0, 0 }, { "p(-1)", -1, 0, 0 },
    };
    for (size_t i = 0; i < N(v); i++) {
        struct report_stat st;
        int rc = report_stat_parse(v[i].in, &st);
        if (rc != v[i].rc)
            fail_msg("'%s': rc %d", v[i].in, rc);
        if (rc == 0 && (st.kind != v[i].kind || st.p != v[i].p || strcmp(st.name, v[i].in) != 0))
            fail_msg("'%s': kind %d p %g name %s", v[i].in, st.kind, st.p, st.name);
    }
}

/* One exit code for both modes: a fatal error wins, then an aborting
 * threshold, then a signal (k6's 105), then failed thresholds. */
static void exit_code_table(void **state)
{
    (void)state;
    static const struct { struct run_outcome o; int want; } c[] = {
        { { .fatal = false, .thresholds_failed = 0, .aborted = false }, 0 },
        { { .fatal = false, .thresholds_failed = 1, .aborted = false }, 99 },
        { { .fatal = false, .thresholds_failed = 3, .aborted = true }, 99 },
        { { .fatal = false, .thresholds_failed = 0, .aborted = true }, 99 },
        { { .fatal = true, .thresholds_failed = 0, .aborted = false }, 2 },
        { { .fatal = true, .thresholds_failed = 2, .aborted = true }, 2 },
        { { .signaled = true }, 105 },
        { { .signaled = true, .thresholds_failed = 2 }, 105 },
        { { .signaled = true, .aborted = true }, 99 },
        { { .signaled = true, .fatal = true }, 2 },
    };
    for (size_t i = 0; i < N(c); i++)
        if (report_exit_code(&c[i].o) != c[i].want)
            fail_msg("case %zu: exit %d, want %d", i, report_exit_code(&c[i].o), c[i].want);
}

static void thresholds_failed_counts(void **state)
{
    struct fixture *fx = *state;
    add_spec(fx, "http_req_duration", "p(95)<1");
    add_spec(fx, "http_req_duration", "p(95)<100000");
    add_spec(fx, "http_reqs", "count<2");
    struct report_thresholds t;
    char err[512];
    if (report_thresholds_compile(&fx->plan, &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(report_thresholds_eval(&t, &fx->in), 2);
    assert_int_equal(report_thresholds_failed(&t), 2);
    assert_int_equal(report_thresholds_failed(NULL), 0);
    report_thresholds_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compile_errors_name_the_place, setup, teardown),
        cmocka_unit_test_setup_teardown(compile_error_position_is_the_expressions, setup, teardown),
        cmocka_unit_test_setup_teardown(no_file_no_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(eval_passes_and_fails_on_known_data, setup, teardown),
        cmocka_unit_test_setup_teardown(eval_empty_metrics_follow_k6, setup, teardown),
        cmocka_unit_test_setup_teardown(abort_due_honours_abort_on_fail_and_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(export_has_k6_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(export_uses_summary_trend_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(export_reports_unwritable_path, setup, teardown),
        cmocka_unit_test_setup_teardown(text_has_k6_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(text_without_thresholds_or_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(text_marks_checks_by_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_thresholds_evaluate, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_text_and_export, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_errors_alone_show_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_run_has_no_tls, setup, teardown),
        cmocka_unit_test(md5_matches_rfc1321),
        cmocka_unit_test(stat_parse_table),
        cmocka_unit_test(exit_code_table),
        cmocka_unit_test_setup_teardown(thresholds_failed_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
