/* The client verdict: each way the client can be the bottleneck is reported,
 * with its evidence; a run with none of them is OK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "blaster/run/verdict.h"

static struct verdict decide_n(int n, const double *busy, const double *wait, long long lag,
                              unsigned long long samples)
{
    struct verdict_input in = { .nworkers = n, .busy = busy, .wait = wait, .lag_p99_us = lag,
                                .lag_samples = samples };
    struct verdict v;
    verdict_decide(&in, &v);
    return v;
}

static struct verdict decide(int n, const double *busy, const double *wait, long long lag)
{
    struct verdict_input in = { .nworkers = n, .busy = busy, .wait = wait, .lag_p99_us = lag,
                                .lag_samples = 10000 };
    struct verdict v;
    verdict_decide(&in, &v);
    return v;
}

static void ok_when_idle_and_on_time(void **state)
{
    double busy[] = { 0.12, 0.30 }, wait[] = { 0.001, -1 };
    struct verdict v = decide(2, busy, wait, 80);
    assert_false(v.client_limited);
    assert_int_equal(v.nreasons, 0);
}

static void busy_worker_is_named(void **state)
{
    double busy[] = { 0.20, 0.97 }, wait[] = { 0, 0 };
    struct verdict v = decide(2, busy, wait, 50);
    assert_true(v.client_limited);
    assert_int_equal(v.nreasons, 1);
    assert_non_null(strstr(v.reasons[0], "worker 1 was busy 97%"));
}

static void cpu_stolen_is_named(void **state)
{
    double busy[] = { 0.40 }, wait[] = { 0.45 };
    struct verdict v = decide(1, busy, wait, 50);
    assert_true(v.client_limited);
    assert_non_null(strstr(v.reasons[0], "worker 0 waited for its CPU 45%"));
}

static void late_sends_are_named(void **state)
{
    double busy[] = { 0.40 }, wait[] = { 0.0 };
    struct verdict v = decide(1, busy, wait, 3200);
    assert_true(v.client_limited);
    assert_non_null(strstr(v.reasons[0], "client_lag p99 is 3.20ms"));
    /* At the limit exactly, still OK: the limit is "above". */
    v = decide(1, busy, wait, VERDICT_LAG_P99_US);
    assert_false(v.client_limited);
    /* No samples (closed model with no requests): no lag reason. */
    v = decide(1, busy, wait, -1);
    assert_false(v.client_limited);
    /* A few samples: their p99 is their maximum, one late request; no verdict. */
    v = decide_n(1, busy, wait, 170000, VERDICT_LAG_MIN_SAMPLES - 1);
    assert_false(v.client_limited);
    v = decide_n(1, busy, wait, 170000, VERDICT_LAG_MIN_SAMPLES);
    assert_true(v.client_limited);
}

static void every_reason_is_reported(void **state)
{
    double busy[] = { 0.95, 0.99 }, wait[] = { 0.2, 0.3 };
    struct verdict v = decide(2, busy, wait, 5000);
    assert_true(v.client_limited);
    assert_int_equal(v.nreasons, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ok_when_idle_and_on_time),
        cmocka_unit_test(busy_worker_is_named),
        cmocka_unit_test(cpu_stolen_is_named),
        cmocka_unit_test(late_sends_are_named),
        cmocka_unit_test(every_reason_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
