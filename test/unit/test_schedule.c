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

/* Skipping to t hands out exactly what taking one by one up to t would. */
static void skip_matches_taking_one_by_one(void **state)
{
    static const struct { double rate; int64_t t; } cases[] = {
        { 3, S }, { 3000, 7 * S / 3 }, { 2000, 5 * S - 1 }, { 1e6, S / 10 }, { 7e8, S / 1000 },
        { 1e9, 12345 }, { 0.5, 3 * S }, { 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct schedule a, b;
        schedule_init(&a, 1000, cases[i].rate, false, 1);
        schedule_init(&b, 1000, cases[i].rate, false, 1);
        schedule_take(&a); /* from the middle of a schedule */
        schedule_take(&b);
        uint64_t n = 0;
        while (schedule_peek(&a) <= 1000 + cases[i].t) {
            schedule_take(&a);
            n++;
        }
        uint64_t got = schedule_skip(&b, 1000 + cases[i].t);
        if (got != n)
            fail_msg("case %zu: skip %llu, want %llu", i, (unsigned long long)got, (unsigned long long)n);
        assert_int_equal(schedule_peek(&b), schedule_peek(&a));
        assert_int_equal(schedule_skip(&b, 1000 + cases[i].t), 0); /* nothing left due */
    }
}

/* The rates a hang came from: 1e15/s for 1 s is 1e15 due times, skipped at
 * once; a rate of one a millennium saturates instead of overflowing. */
static void skip_is_o1_and_extreme_rates_do_not_overflow(void **state)
{
    struct schedule s;
    schedule_init(&s, 0, 1e15, false, 1);
    assert_int_equal(schedule_skip(&s, S - 1), 1000000000000000ULL);
    assert_true(schedule_peek(&s) >= S);
    schedule_init(&s, 0, 1e9, true, 7);
    uint64_t n = schedule_skip(&s, 10 * S - 1);
    assert_true(n >= 9999000000ULL && n <= 10001000000ULL);
    assert_true(schedule_peek(&s) >= 10 * S);
    schedule_init(&s, 5, 1e-12, false, 1);
    assert_int_equal(schedule_take(&s), 5);
    assert_int_equal(schedule_peek(&s), INT64_MAX);
    schedule_init(&s, 5, 1e-12, true, 3);
    schedule_take(&s);
    assert_int_equal(schedule_peek(&s), INT64_MAX);
    assert_int_equal(schedule_skip(&s, INT64_MAX - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_rate_counts_exactly),
        cmocka_unit_test(constant_rate_does_not_drift),
        cmocka_unit_test(due_times_are_monotonic_and_start_at_origin),
        cmocka_unit_test(poisson_mean_and_spread),
        cmocka_unit_test(poisson_is_reproducible),
        cmocka_unit_test(skip_matches_taking_one_by_one),
        cmocka_unit_test(skip_is_o1_and_extreme_rates_do_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
