/* Quick mode's summary (`blaster URL`) and its --summary-export JSON, made
 * by the report (report_print, report_export with report_input.quick) on a
 * one-request plan like plan_quick's and metrics filled by hand: a run over TLS shows http_req_tls_handshaking,
 * tls_handshakes (count, rate, resumed, protocol) and the tls error's reason;
 * a plain-HTTP run shows none of it, in the text or the JSON. */
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

#define TLS_REASON "certificate verification failed: no trusted CA signed the server's certificate " \
                   "(unable to get local issuer certificate)"

struct fixture {
    struct metrics m;
    struct scenario_metrics sm;
    struct plan_request rq;
    struct plan_scenario ps;
    struct plan plan;
    struct worker_report workers[1];
    struct report_quick q;
    struct report_input r;
};

/* 1000 responses of 1..100 ms (200), 10 s, one connection refused. */
static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(metrics_init(&fx->m, 3), 0);
    for (int rep = 0; rep < 10; rep++)
        for (int ms = 1; ms <= 100; ms++) {
            fx->m.reqs++;
            fx->m.status[200]++;
            hist_record(&fx->m.duration, ms * 1000);
            hist_record(&fx->m.duration_ok, ms * 1000);
            hist_record(&fx->m.service, ms * 500);
            hist_record(&fx->m.waiting, ms * 250);
            hist_record(&fx->m.lag, 20);
        }
    fx->m.connects = 10;
    hist_record(&fx->m.connecting, 150);
    metrics_error(&fx->m, ERR_REFUSED, ECONNREFUSED);
    fx->workers[0] = (struct worker_report){ 0.25, -1 };
    fx->rq = (struct plan_request){ .name = "GET /", .method = "GET", .metric = 0 };
    fx->ps = (struct plan_scenario){ .name = "default", .reqs = &fx->rq, .nreqs = 1 };
    fx->plan = (struct plan){ .sc = &fx->ps, .nsc = 1 };
    fx->sm = (struct scenario_metrics){ .req = &fx->m, .nreq = 1 };
    assert_int_equal(hist_init(&fx->sm.iteration_duration, 1, 3600LL * 1000 * 1000, 3), 0);
    fx->q = (struct report_quick){ .url = "https://127.0.0.1:8443/", .method = "GET", .connections = 10,
                                   .duration_s = 10 };
    fx->r = (struct report_input){ .plan = &fx->plan, .m = &fx->sm, .ring_mode = "defer-taskrun",
                                   .elapsed_s = 10, .nworkers = 1, .workers = fx->workers, .quick = &fx->q };
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    metrics_free(&fx->m);
    hist_free(&fx->sm.iteration_duration);
    free(fx);
    return 0;
}

/* 40 handshakes of 1..40 ms, 30 resumed, TLSv1.3; 12 tls errors with a reason. */
static void add_tls(struct fixture *fx)
{
    for (int ms = 1; ms <= 40; ms++)
        hist_record(&fx->m.tls_handshaking, ms * 1000);
    fx->m.handshakes = 40;
    fx->m.resumed = 30;
    snprintf(fx->m.tls_protocol, sizeof fx->m.tls_protocol, "TLSv1.3");
    for (int i = 0; i < 12; i++)
        metrics_error(&fx->m, ERR_TLS, EIO);
    snprintf(fx->m.tls_reason, sizeof fx->m.tls_reason, "%s", TLS_REASON);
}

static char *print_to_string(struct fixture *fx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    report_print(f, &fx->r, NULL);
    fclose(f);
    return buf;
}


static int write_summary(const char *path, void *ctx, char *err, size_t errlen)
{
    return report_export(path, &((struct fixture *)ctx)->r, NULL, err, errlen);
}

static json_t *export_and_load(struct fixture *fx)
{
    return export_json(write_summary, fx);
}



static void tls_text(void **state)
{
    struct fixture *fx = *state;
    add_tls(fx);
    char *text = print_to_string(fx);
    want_text(text, "     http_req_tls_handshaking........: avg=");
    want_text(text, "min=1ms");
    want_text(text, "max=40ms");
    want_text(text, "     tls_handshakes..................: 40        4.00/s  (30 resumed, TLSv1.3)\n");
    want_text(text, "     errors..........................: refused=1 reset=0 timeout=0 parse=0 tls=12 other=0\n");
    want_text(text, "       tls: last cause: " TLS_REASON "\n");
    want_text(text, "       refused: last cause: Connection refused\n");
    assert_null(strstr(text, strerror(EIO)));
    /* k6's alphabetical order: ..._service, _tls_handshaking, _waiting, http_reqs, tls_handshakes. */
    assert_true(strstr(text, "http_req_service.") < strstr(text, "http_req_tls_handshaking."));
    assert_true(strstr(text, "http_req_tls_handshaking.") < strstr(text, "http_req_waiting."));
    assert_true(strstr(text, "http_reqs.") < strstr(text, "tls_handshakes."));
    assert_true(strstr(text, "tls_handshakes.") < strstr(text, "status."));
    free(text);
}

static void tls_export(void **state)
{
    struct fixture *fx = *state;
    add_tls(fx);
    json_t *root = export_and_load(fx);
    static const char *const stats[] = { "avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "p(99.9)" };
    json_t *m = export_metric(root, "http_req_tls_handshaking", "trend", "time");
    assert_int_equal(json_object_size(json_object_get(m, "values")), N(stats));
    for (size_t k = 0; k < N(stats); k++)
        export_value(m, stats[k]);
    assert_true(fabs(export_value(m, "min") - 1) < 1e-9);
    assert_true(fabs(export_value(m, "max") - 40) < 0.05);
    assert_true(fabs(export_value(m, "p(95)") - 38) < 0.05);
    m = export_metric(root, "tls_handshakes", "counter", "default");
    assert_true(fabs(export_value(m, "count") - 40) < 1e-9);
    assert_true(fabs(export_value(m, "rate") - 4) < 1e-9);
    export_check_tls(root, 12, 40, 30, "TLSv1.3", TLS_REASON);
    json_decref(root);
}

/* Every handshake failed: the TLS lines still show, with 0 and the reason. */
static void tls_errors_alone(void **state)
{
    struct fixture *fx = *state;
    metrics_error(&fx->m, ERR_TLS, 0);
    snprintf(fx->m.tls_reason, sizeof fx->m.tls_reason, "handshake failed: protocol version not supported");
    char *text = print_to_string(fx);
    want_text(text, "     tls_handshakes..................: 0         0.00/s  (0 resumed)\n");
    want_text(text, "       tls: last cause: handshake failed: protocol version not supported\n");
    want_text(text, "     http_req_tls_handshaking........: avg=0s");
    free(text);
    json_t *root = export_and_load(fx);
    export_metric(root, "http_req_tls_handshaking", "trend", "time");
    export_metric(root, "tls_handshakes", "counter", "default");
    json_decref(root);
}

static void plain_has_no_tls(void **state)
{
    struct fixture *fx = *state;
    char *text = print_to_string(fx);
    assert_null(strstr(text, "tls_handshak"));
    assert_null(strstr(text, "tls: last cause"));
    want_text(text, "     http_req_connecting.............: avg=150µs");
    want_text(text, "       refused: last cause: Connection refused\n");
    free(text);
    json_t *root = export_and_load(fx);
    json_t *ms = json_object_get(root, "metrics");
    assert_null(json_object_get(ms, "http_req_tls_handshaking"));
    assert_null(json_object_get(ms, "tls_handshakes"));
    export_metric(root, "http_req_connecting", "trend", "time");
    assert_null(json_object_get(json_object_get(root, "blaster"), "tls"));
    json_decref(root);
}

/* Quick mode's own metrics and header in the export: an iteration per
 * request that reached the server, its connections as vus, and the
 * command line's load model. */
static void quick_export_header(void **state)
{
    struct fixture *fx = *state;
    fx->q.rate = 500;
    fx->q.poisson = true;
    json_t *root = export_and_load(fx);
    json_t *m = export_metric(root, "http_reqs", "counter", "default");
    assert_true(fabs(export_value(m, "count") - 1001) < 1e-9);
    m = export_metric(root, "iterations", "counter", "default");
    assert_true(fabs(export_value(m, "count") - 1000) < 1e-9);
    assert_true(fabs(export_value(m, "rate") - 100) < 1e-9);
    m = export_metric(root, "vus", "gauge", "default");
    assert_true(fabs(export_value(m, "value") - 10) < 1e-9);
    assert_true(fabs(export_value(m, "max") - 10) < 1e-9);
    m = export_metric(root, "http_req_failed", "rate", "default");
    assert_true(fabs(export_value(m, "passes") - 1) < 1e-9);
    assert_null(json_object_get(json_object_get(root, "metrics"), "checks"));
    json_t *bl = json_object_get(root, "blaster");
    assert_string_equal(json_string_value(json_object_get(bl, "url")), "https://127.0.0.1:8443/");
    assert_string_equal(json_string_value(json_object_get(bl, "model")), "open-poisson");
    assert_int_equal(json_integer_value(json_object_get(bl, "connections")), 10);
    json_decref(root);
    char *text = print_to_string(fx);
    want_text(text, "  1 worker (defer-taskrun), 10 connections, 10s, open model at 500 req/s (poisson)\n");
    assert_null(strstr(text, "note: closed model"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tls_text, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_export, setup, teardown),
        cmocka_unit_test_setup_teardown(tls_errors_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_has_no_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(quick_export_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
