/* The open model's schedule: the right number of requests at the right
 * times, no drift over long runs, Poisson gaps with the asked-for mean. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "blaster/compile/schedule.h"

#define S 1000000000LL

static uint64_t count_until(struct schedule *s, int64_t end)
{
    uint64_t n = 0;
    while (schedule_peek(s) < end) {
        schedule_take(s);
        n++;
    }
    return n;
}

static void constant_rate_counts_exactly(void **state)
{
    static const struct { double rate; int64_t dur; uint64_t want; } cases[] = {
        { 2000, 5 * S, 10000 }, { 1, 10 * S, 10 }, { 3, S, 3 }, { 20000, 10 * S, 200000 },
        { 7, 1 * S, 7 }, { 0.5, 10 * S, 5 }, { 1e6, S / 10, 100000 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct schedule s;
        schedule_init(&s, 1000, cases[i].rate, false, 1);
        assert_int_equal(count_until(&s, 1000 + cases[i].dur), cases[i].want);
    }
}

static void constant_rate_does_not_drift(void **state)
{
    /* 1/3 ms gaps are not whole nanoseconds: after 3 million requests the
     * due time must still be exactly 1000 s after the origin (±1 ns). */
    struct schedule s;
    schedule_init(&s, 0, 3000, false, 1);
    for (int i = 0; i < 3000000; i++)
        schedule_take(&s);
    assert_true(llabs(schedule_peek(&s) - 1000 * S) <= 1);
}

static void due_times_are_monotonic_and_start_at_origin(void **state)
{
    for (int p = 0; p < 2; p++) {
        struct schedule s;
        schedule_init(&s, 777, 50000, p, 42);
        int64_t prev = schedule_take(&s);
        assert_int_equal(prev, 777);
        for (int i = 0; i < 100000; i++) {
            int64_t t = schedule_take(&s);
            assert_true(t >= prev);
            prev = t;
        }
    }
}

static void poisson_mean_and_spread(void **state)
{
    /* Exponential gaps: mean = 1/rate, and the share of gaps longer than the
     * mean is e^-1 (a constant schedule would give 0 or 1). */
    struct schedule s;
    schedule_init(&s, 0, 1000, true, 12345);
    const int n = 200000;
    int64_t prev = schedule_take(&s);
    int longer = 0;
    for (int i = 0; i < n; i++) {
        int64_t t = schedule_take(&s);
        longer += (t - prev) > 1000000;
        prev = t;
    }
    double mean_gap = (double)prev / n;
    assert_true(fabs(mean_gap - 1e6) < 1e6 * 0.01);
    double share = (double)longer / n;
    assert_true(fabs(share - exp(-1)) < 0.01);
}

static void poisson_is_reproducible(void **state)
{
    struct schedule a, b;
    schedule_init(&a, 0, 1000, true, 99);
    schedule_init(&b, 0, 1000, true, 99);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(schedule_take(&a), schedule_take(&b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_rate_counts_exactly),
        cmocka_unit_test(constant_rate_does_not_drift),
        cmocka_unit_test(due_times_are_monotonic_and_start_at_origin),
        cmocka_unit_test(poisson_mean_and_spread),
        cmocka_unit_test(poisson_is_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
