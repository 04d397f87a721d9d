/* The metric catalog: every metric once, consistent with its type and
 * scope; the counters it sums cover each counter of struct metrics exactly
 * once; metrics_add_counters (the merge without histograms) adds them all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/common/metric_catalog.h"
#include "blaster/common/metrics.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every uint64_t counter of struct metrics that a merge sums. */
static const size_t counters[] = {
    offsetof(struct metrics, reqs),        offsetof(struct metrics, failed),
    offsetof(struct metrics, bytes_sent),  offsetof(struct metrics, bytes_recv),
    offsetof(struct metrics, dropped),     offsetof(struct metrics, queued),
    offsetof(struct metrics, interrupted), offsetof(struct metrics, connects),
    offsetof(struct metrics, handshakes),  offsetof(struct metrics, resumed),
    offsetof(struct metrics, checks_pass), offsetof(struct metrics, checks_fail),
};

static void test_each_metric_once(void **state)
{
    (void)state;
    const struct metric_def *d;
    int n = 0;
    for (; (d = metric_at(n)); n++) {
        assert_ptr_equal(metric_find(d->name), d);
        assert_string_equal(metric_name_at(n), d->name);
        enum metric_type t = (enum metric_type)-1;
        assert_int_equal(metric_type_of(d->name, &t), 0);
        assert_int_equal(t, d->type);
        assert_non_null(d->contains);
        assert_non_null(d->what);
        if (d->scope == MSCOPE_NONE)
            continue;
        /* A trend's field is a histogram; every other measured metric's a counter, but gauges. */
        if (d->scope == MSCOPE_REQUEST)
            assert_true(d->field + (d->type == METRIC_TREND ? sizeof(struct hist) : sizeof(uint64_t)) <=
                        sizeof(struct metrics));
        if (d->type == METRIC_TREND)
            assert_string_equal(d->contains, "time");
    }
    assert_int_equal(n, 20);
    assert_null(metric_name_at(n));
    assert_null(metric_find("nope"));
    assert_null(metric_find(NULL));
    /* Messages list k6's metrics first. */
    assert_string_equal(metric_name_at(0), "http_reqs");
    assert_string_equal(metric_name_at(1), "http_req_duration");
    assert_string_equal(metric_by_id(MID_DURATION)->name, "http_req_duration");
    assert_string_equal(metric_by_id(MID_VUS_MAX)->name, "vus_max");
    assert_null(metric_by_id(MID_PLAIN));
    assert_int_equal(metric_find("http_req_blocked")->scope, MSCOPE_NONE);
}

static void test_sum_fields_cover_every_counter_once(void **state)
{
    (void)state;
    int seen[N(counters)] = { 0 };
    size_t off;
    int i = 0;
    for (; metric_sum_field(i, &off); i++) {
        size_t k = 0;
        while (k < N(counters) && counters[k] != off)
            k++;
        if (k == N(counters))
            fail_msg("sum field %d (offset %zu) is no counter of struct metrics", i, off);
        seen[k]++;
    }
    assert_int_equal(i, (int)N(counters));
    for (size_t k = 0; k < N(counters); k++)
        if (seen[k] != 1)
            fail_msg("counter at offset %zu summed %d times", counters[k], seen[k]);
}

static uint64_t *at(struct metrics *m, size_t off)
{
    return (uint64_t *)((char *)m + off);
}

static void test_add_counters(void **state)
{
    (void)state;
    struct metrics *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t k = 0; k < N(counters); k++) {
        *at(a, counters[k]) = 1000 + k;
        *at(b, counters[k]) = 7 * k + 1;
    }
    a->status[200] = 5;
    b->status[200] = 6;
    b->status[503] = 1;
    a->errors[ERR_RESET] = 2;
    a->last_errno[ERR_RESET] = 104;
    b->errors[ERR_TLS] = 3;
    b->last_errno[ERR_TLS] = 5;
    snprintf(a->tls_protocol, sizeof a->tls_protocol, "TLSv1.2");
    snprintf(b->tls_protocol, sizeof b->tls_protocol, "TLSv1.3");
    snprintf(a->tls_reason, sizeof a->tls_reason, "earlier");
    metrics_add_counters(a, b);
    for (size_t k = 0; k < N(counters); k++)
        assert_int_equal(*at(a, counters[k]), 1000 + k + 7 * k + 1);
    assert_int_equal(a->status[200], 11);
    assert_int_equal(a->status[503], 1);
    assert_int_equal(a->errors[ERR_RESET], 2);
    assert_int_equal(a->last_errno[ERR_RESET], 104);   /* src had none: kept */
    assert_int_equal(a->errors[ERR_TLS], 3);
    assert_int_equal(a->last_errno[ERR_TLS], 5);
    assert_string_equal(a->tls_protocol, "TLSv1.3");    /* the last one seen */
    assert_string_equal(a->tls_reason, "earlier");      /* src had none: kept */
    free(a);
    free(b);
}

/* metrics_merge = the histograms merged + metrics_add_counters. */
static void test_merge_sums_counters_and_hists(void **state)
{
    (void)state;
    struct metrics *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(metrics_init(a, 3), 0);
    assert_int_equal(metrics_init(b, 3), 0);
    for (size_t k = 0; k < N(counters); k++) {
        *at(a, counters[k]) = k;
        *at(b, counters[k]) = 100 * k;
    }
    hist_record(&a->duration, 10);
    hist_record(&b->duration, 20);
    hist_record(&b->tls_handshaking, 30);
    metrics_merge(a, b);
    for (size_t k = 0; k < N(counters); k++)
        assert_int_equal(*at(a, counters[k]), 101 * k);
    assert_int_equal(hist_count(&a->duration), 2);
    assert_int_equal(hist_count(&a->tls_handshaking), 1);
    metrics_free(a);
    metrics_free(b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_metric_once),
        cmocka_unit_test(test_sum_fields_cover_every_counter_once),
        cmocka_unit_test(test_add_counters),
        cmocka_unit_test(test_merge_sums_counters_and_hists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
