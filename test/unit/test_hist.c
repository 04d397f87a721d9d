/* test_hist.c — blaster/hist: precision against exact answers, exact merge, CO
 * correction, clamping, V2 encoding round trip and hostile input. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/common/hist.h"

#define HOUR_US 3600000000LL

/* ---- seeded PRNG (splitmix64) and distributions ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) /* (0, 1) */
{
    return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(uint64_t *s)
{
    return sqrt(-2.0 * log(rng_unit(s))) * cos(2.0 * M_PI * rng_unit(s));
}

enum dist { UNIFORM, LOGNORMAL, BIMODAL, WIDE, NDIST };
static const char *dist_name[NDIST] = {"uniform", "lognormal", "bimodal", "wide"};

/* Microsecond latencies. */
static int64_t draw(enum dist d, uint64_t *s)
{
    switch (d) {
    case UNIFORM:   /* 0 .. 2 s */
        return (int64_t)(rng_next(s) % 2000000);
    case LOGNORMAL: /* median ~ 3 ms, long right tail */
        return (int64_t)(3000.0 * exp(1.2 * rng_normal(s)));
    case BIMODAL:   /* 98% around 1 ms, 2% stalled around 1 s */
        if (rng_next(s) % 100 < 98)
            return 1000 + (int64_t)(rng_next(s) % 400) - 200;
        return 1000000 + (int64_t)(rng_next(s) % 20000) - 10000;
    default:        /* log-uniform over the whole hour */
        return (int64_t)exp(rng_unit(s) * log((double)HOUR_US));
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Largest distance between a value v and anything in its bucket: max(U, v/S) - 1, the
 * bound hist.h states. */
static int64_t precision_bound(const struct hist *h, int64_t v)
{
    int64_t unit = (int64_t)1 << h->unit_magnitude;
    int64_t rel = v / h->sub_bucket_half_count;
    return (rel > unit ? rel : unit) - 1;
}

static void assert_same_hist(const struct hist *a, const struct hist *b)
{
    assert_int_equal(a->counts_len, b->counts_len);
    for (int32_t i = 0; i < a->counts_len; i++)
        if (a->counts[i] != b->counts[i])
            fail_msg("bucket %d: %llu != %llu", i, (unsigned long long)a->counts[i],
                     (unsigned long long)b->counts[i]);
    assert_int_equal(a->total_count, b->total_count);
}

/* ---- configuration and memory ---- */

static void test_config_memory(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
    /* blaster's config: 1024 sub-buckets per octave, 22 buckets, 23,552 counts
     * (184 KiB), fixed whatever the run length. */
    assert_int_equal(h.sub_bucket_half_count, 1024);
    assert_int_equal(h.bucket_count, 22);
    assert_int_equal(h.counts_len, 23552);
    assert_true(h.counts_len <= 25000);
    assert_true(hist_index(&h, HOUR_US) < h.counts_len);
    assert_true(hist_highest_equivalent(&h, HOUR_US) >= HOUR_US);
    hist_free(&h);
    hist_free(&h); /* harmless twice */

    /* Sub-buckets per octave for each sig-fig count. */
    static const int half[6] = {0, 16, 128, 1024, 16384, 131072};
    for (int sf = 1; sf <= 5; sf++) {
        assert_int_equal(hist_init(&h, 1, 1000000, sf), 0);
        assert_int_equal(h.sub_bucket_half_count, half[sf]);
        int pow10 = 1;
        for (int i = 0; i < sf; i++)
            pow10 *= 10;
        assert_true(h.sub_bucket_half_count >= pow10);
        hist_free(&h);
    }

    /* The whole int64 range, at the finest precision. */
    assert_int_equal(hist_init(&h, 1, INT64_MAX, 5), 0);
    assert_true(hist_index(&h, INT64_MAX) < h.counts_len);
    assert_true(hist_highest_equivalent(&h, INT64_MAX) == INT64_MAX);
    hist_record(&h, INT64_MAX);
    assert_int_equal(hist_percentile(&h, 50), INT64_MAX);
    assert_int_equal(h.saturated, 0);
    hist_free(&h);

    /* Bad arguments. */
    assert_int_equal(hist_init(&h, 0, 1000, 3), -EINVAL);
    assert_int_equal(hist_init(&h, -1, 1000, 3), -EINVAL);
    assert_int_equal(hist_init(&h, 1, 1000, 0), -EINVAL);
    assert_int_equal(hist_init(&h, 1, 1000, 6), -EINVAL);
    assert_int_equal(hist_init(&h, 10, 19, 3), -EINVAL);
    assert_int_equal(hist_init(&h, INT64_MAX / 2 + 1, INT64_MAX, 3), -EINVAL);
    assert_int_equal(hist_init(&h, (int64_t)1 << 50, INT64_MAX, 5), -EINVAL); /* 50+17 > 61 */
    assert_null(h.counts);
    hist_free(&h);
}

/* Buckets tile [0, highest] without gaps, each within the stated width. */
static void test_bucket_tiling(void **state)
{
    (void)state;
    static const struct { int64_t lo, hi; int sf; } cfg[] = {
        {1, HOUR_US, 3}, {1, 100000, 1}, {1, 100000, 2}, {1, 10000000, 4},
        {1, 1000000, 5}, {1000, HOUR_US * 1000, 3}, {7, 1000000, 2},
    };
    for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
        struct hist h;
        assert_int_equal(hist_init(&h, cfg[c].lo, cfg[c].hi, cfg[c].sf), 0);
        int64_t unit = (int64_t)1 << h.unit_magnitude;
        int64_t v = 0;
        int32_t prev_index = -1;
        while (v <= h.highest) {
            int64_t lo = hist_lowest_equivalent(&h, v), hi = hist_highest_equivalent(&h, v);
            assert_int_equal(lo, v);
            assert_true(hi >= lo);
            int64_t width = hi - lo + 1;
            assert_true(width == unit || width <= lo / h.sub_bucket_half_count);
            int32_t index = hist_index(&h, v);
            assert_int_equal(index, prev_index + 1);
            assert_int_equal(hist_index(&h, hi), index);
            prev_index = index;
            v = hi + 1;
        }
        assert_true(prev_index < h.counts_len);
        hist_free(&h);
    }
}

/* ---- percentiles against the exact answer ---- */

/* p given in thousandths of a percent so the exact rank is integer arithmetic:
 * rank = max(1, ceil(p * N / 100)). */
static const int64_t pct_milli[] = {0, 50000, 90000, 95000, 99000, 99900, 99990, 100000};

static void check_percentiles(const struct hist *h, const int64_t *sorted, size_t n,
                              const char *what)
{
    for (size_t k = 0; k < sizeof(pct_milli) / sizeof(pct_milli[0]); k++) {
        int64_t pm = pct_milli[k];
        uint64_t rank = ((uint64_t)pm * n + 99999) / 100000;
        if (rank < 1)
            rank = 1;
        int64_t exact = sorted[rank - 1];
        int64_t got = hist_percentile(h, (double)pm / 1000.0);
        int64_t want;
        if (pm == 0)
            want = sorted[0];
        else if (pm == 100000)
            want = sorted[n - 1];
        else {
            want = hist_highest_equivalent(h, exact);
            if (want > sorted[n - 1])
                want = sorted[n - 1];
        }
        if (got != want || llabs(got - exact) > precision_bound(h, exact))
            fail_msg("%s p%.3f: got %lld, exact %lld, expected %lld (bound %lld)", what,
                     (double)pm / 1000.0, (long long)got, (long long)exact, (long long)want,
                     (long long)precision_bound(h, exact));
    }
}

static void test_percentiles_vs_sorted(void **state)
{
    (void)state;
    enum { N = 200000 };
    int64_t *vals = malloc(N * sizeof(*vals));
    assert_non_null(vals);
    for (int d = 0; d < NDIST; d++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            uint64_t s = seed * 1000 + (uint64_t)d;
            struct hist h;
            assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
            size_t n = seed == 3 ? 1013 : N; /* also a count that divides nothing */
            double sum = 0, sumsq = 0;
            for (size_t i = 0; i < n; i++) {
                vals[i] = draw((enum dist)d, &s);
                hist_record(&h, vals[i]);
                sum += (double)vals[i];
            }
            qsort(vals, n, sizeof(*vals), cmp_i64);
            assert_int_equal(hist_count(&h), n);
            assert_int_equal(hist_min(&h), vals[0]);
            assert_int_equal(hist_max(&h), vals[n - 1]);
            check_percentiles(&h, vals, n, dist_name[d]);

            /* Mean and stdev: each sample is off by at most half its bucket. */
            double mean = sum / (double)n;
            for (size_t i = 0; i < n; i++)
                sumsq += ((double)vals[i] - mean) * ((double)vals[i] - mean);
            double sd = sqrt(sumsq / (double)n);
            double tol = (double)(vals[n - 1] / h.sub_bucket_half_count) / 2.0 + 0.5;
            if (fabs(hist_mean(&h) - mean) > tol || fabs(hist_stdev(&h) - sd) > tol)
                fail_msg("%s: mean %f vs %f, stdev %f vs %f, tol %f", dist_name[d],
                         hist_mean(&h), mean, hist_stdev(&h), sd, tol);
            hist_free(&h);
        }
    free(vals);
}

/* ceil(0.99 * 100) must be 99, not 100 from 99.00000000000001. */
static void test_percentile_rank_rounding(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
    for (int64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    assert_int_equal(hist_percentile(&h, 99.0), 99);
    assert_int_equal(hist_percentile(&h, 50.0), 50);
    assert_int_equal(hist_percentile(&h, 50.5), 51);
    assert_int_equal(hist_percentile(&h, 0.5), 1);
    assert_int_equal(hist_percentile(&h, 0.0), 1);
    assert_int_equal(hist_percentile(&h, -3.0), 1);
    assert_int_equal(hist_percentile(&h, NAN), 1);
    assert_int_equal(hist_percentile(&h, 100.0), 100);
    assert_int_equal(hist_percentile(&h, 250.0), 100);
    hist_reset(&h);
    assert_int_equal(hist_percentile(&h, 50.0), 0);
    assert_int_equal(hist_min(&h), 0);
    assert_int_equal(hist_max(&h), 0);
    assert_true(hist_mean(&h) == 0.0 && hist_stdev(&h) == 0.0);
    /* One big sample: percentiles never exceed the exact max. */
    hist_record(&h, 1234567);
    assert_int_equal(hist_percentile(&h, 50.0), 1234567);
    assert_int_equal(hist_percentile(&h, 99.9), 1234567);
    hist_free(&h);
}

/* Mean and stdev take each sample at its bucket's middle. */
static void test_mean_stdev(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
    for (int64_t v = 1; v <= 100; v++)  /* exact buckets: exact answers */
        hist_record(&h, v);
    assert_true(fabs(hist_mean(&h) - 50.5) < 1e-9);
    assert_true(fabs(hist_stdev(&h) - sqrt((100.0 * 100.0 - 1.0) / 12.0)) < 1e-9);
    hist_reset(&h);
    /* 1,000,000 lies in a bucket of width 512 (2^19 / 1024): reported at its middle. */
    hist_record_n(&h, 1000000, 10);
    int64_t lo = hist_lowest_equivalent(&h, 1000000), hi = hist_highest_equivalent(&h, 1000000);
    assert_int_equal(hi - lo + 1, 512);
    assert_true(hist_mean(&h) == (double)(lo + 256));
    assert_true(fabs(hist_mean(&h) - 1000000.0) <= 256.0);
    assert_true(hist_stdev(&h) == 0.0);
    hist_free(&h);
}

/* ---- exact merge ---- */

static void test_merge_exact(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t s = seed;
        struct hist whole, part[4];
        assert_int_equal(hist_init(&whole, 1, HOUR_US, 3), 0);
        for (int i = 0; i < 4; i++)
            assert_int_equal(hist_init(&part[i], 1, HOUR_US, 3), 0);
        int n = 50000 + (int)(rng_next(&s) % 10000);
        for (int i = 0; i < n; i++) {
            int64_t v = draw((enum dist)(rng_next(&s) % NDIST), &s);
            uint64_t r = rng_next(&s) % 1000;
            if (r == 0)
                v = -v - 1;                 /* clock went backwards */
            else if (r == 1)
                v = HOUR_US + 1 + v;        /* beyond the range */
            uint64_t times = r < 10 ? 1 + r : 1;
            int k = (int)(rng_next(&s) % 4);
            /* Parts can be empty: seed 1 leaves part 3 empty. */
            if (seed == 1 && k == 3)
                k = 0;
            hist_record_n(&whole, v, times);
            hist_record_n(&part[k], v, times);
        }
        struct hist merged;
        assert_int_equal(hist_init(&merged, 1, HOUR_US, 3), 0);
        for (int i = 0; i < 4; i++)
            assert_int_equal(hist_merge(&merged, &part[i]), 0);
        assert_same_hist(&merged, &whole);
        assert_int_equal(merged.saturated, whole.saturated);
        assert_int_equal(merged.negative, whole.negative);
        assert_true(whole.saturated > 0 && whole.negative > 0);
        assert_int_equal(hist_min(&merged), hist_min(&whole));
        assert_int_equal(hist_max(&merged), hist_max(&whole));
        assert_true(hist_mean(&merged) == hist_mean(&whole));
        assert_true(hist_stdev(&merged) == hist_stdev(&whole));
        for (size_t k = 0; k < sizeof(pct_milli) / sizeof(pct_milli[0]); k++)
            assert_int_equal(hist_percentile(&merged, (double)pct_milli[k] / 1000.0),
                             hist_percentile(&whole, (double)pct_milli[k] / 1000.0));
        hist_free(&merged);
        hist_free(&whole);
        for (int i = 0; i < 4; i++)
            hist_free(&part[i]);
    }
}

static void test_merge_mismatch(void **state)
{
    (void)state;
    struct hist a, b, c, d;
    assert_int_equal(hist_init(&a, 1, HOUR_US, 3), 0);
    assert_int_equal(hist_init(&b, 1, HOUR_US, 2), 0);
    assert_int_equal(hist_init(&c, 1, HOUR_US * 2, 3), 0);
    assert_int_equal(hist_init(&d, 2, HOUR_US, 3), 0);
    hist_record(&a, 5);
    hist_record(&b, 7);
    hist_record(&c, 7);
    hist_record(&d, 7);
    assert_int_equal(hist_merge(&a, &b), -EINVAL);
    assert_int_equal(hist_merge(&a, &c), -EINVAL);
    assert_int_equal(hist_merge(&a, &d), -EINVAL);
    assert_int_equal(hist_count(&a), 1);
    assert_int_equal(hist_max(&a), 5);
    hist_free(&a);
    hist_free(&b);
    hist_free(&c);
    hist_free(&d);
}

/* ---- coordinated-omission correction ---- */

/* HdrHistogram's documented example, in microseconds: 10,000 1 ms results and one 1 s
 * stall, expected interval 1 ms.  The stall stands for the 999 requests a steady
 * client would also have sent during it: 1000 us .. 999000 us, one each. */
static void test_corrected(void **state)
{
    (void)state;
    struct hist raw, cor;
    assert_int_equal(hist_init(&raw, 1, HOUR_US, 3), 0);
    assert_int_equal(hist_init(&cor, 1, HOUR_US, 3), 0);
    for (int i = 0; i < 10000; i++) {
        hist_record(&raw, 1000);
        hist_record_corrected(&cor, 1000, 1000);
    }
    hist_record(&raw, 1000000);
    hist_record_corrected(&cor, 1000000, 1000);

    assert_int_equal(hist_count(&raw), 10001);
    assert_int_equal(hist_percentile(&raw, 99.0), 1000); /* the stall is invisible */
    assert_int_equal(hist_percentile(&raw, 99.99), 1000);

    assert_int_equal(hist_count(&cor), 11000);
    assert_int_equal(cor.counts[hist_index(&cor, 1000)], 10001);
    assert_int_equal(hist_min(&cor), 1000);
    assert_int_equal(hist_max(&cor), 1000000);
    assert_int_equal(hist_percentile(&cor, 50.0), 1000);
    /* rank ceil(0.99 * 11000) = 10890: the 889th synthesised value above 1 ms. */
    assert_int_equal(hist_percentile(&cor, 99.0), hist_highest_equivalent(&cor, 890000));
    assert_true(llabs(hist_percentile(&cor, 99.0) - 890000) <= precision_bound(&cor, 890000));
    assert_int_equal(hist_percentile(&cor, 90.0), hist_highest_equivalent(&cor, 1000));
    assert_int_equal(hist_percentile(&cor, 95.0), hist_highest_equivalent(&cor, 450000));
    hist_free(&raw);
    hist_free(&cor);
}

/* The bucket-at-a-time correction equals recording each missing value one by one. */
static void test_corrected_vs_naive(void **state)
{
    (void)state;
    uint64_t s = 42;
    for (int round = 0; round < 300; round++) {
        struct hist fast, naive;
        int sf = 1 + round % 5;
        int64_t lowest = round % 3 == 0 ? 1 : round % 3 == 1 ? 7 : 1000;
        assert_int_equal(hist_init(&fast, lowest, 10000000, sf), 0);
        assert_int_equal(hist_init(&naive, lowest, 10000000, sf), 0);
        int64_t v = (int64_t)(rng_next(&s) % 12000000) - 100; /* some clamp */
        int64_t interval = (int64_t)(rng_next(&s) % 50000) - 5;
        if (round % 7 == 0) {
            v %= 200000;
            interval = 1 + (int64_t)(rng_next(&s) % 20);
        }
        hist_record_corrected(&fast, v, interval);
        int64_t cv = v < 0 ? 0 : v > naive.highest ? naive.highest : v;
        hist_record(&naive, v);
        if (interval > 0)
            for (int64_t m = cv - interval; m >= interval; m -= interval)
                hist_record(&naive, m);
        assert_same_hist(&fast, &naive);
        assert_int_equal(hist_min(&fast), hist_min(&naive));
        assert_int_equal(hist_max(&fast), hist_max(&naive));
        assert_int_equal(fast.saturated, naive.saturated);
        assert_int_equal(fast.negative, naive.negative);
        hist_free(&fast);
        hist_free(&naive);
    }
}

/* ---- clamping ---- */

static void test_clamp(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3), 0);
    hist_record_n(&h, 42, 0);        /* n == 0: nothing at all, not even min / max */
    hist_record_n(&h, 1 << 30, 0);
    hist_record(&h, 500);
    assert_int_equal(hist_min(&h), 500);
    assert_int_equal(hist_max(&h), 500);
    assert_int_equal(h.saturated, 0);
    hist_record(&h, -5);
    hist_record(&h, INT64_MIN);
    hist_record(&h, 1000001);
    hist_record(&h, INT64_MAX);
    hist_record_n(&h, 2000000, 3);
    hist_record_n(&h, 42, 0);        /* n == 0: nothing at all */
    hist_record_n(&h, -1, 0);
    hist_record_n(&h, 1 << 30, 0);
    hist_record(&h, 1000000);        /* exactly highest: not saturated */
    assert_int_equal(hist_count(&h), 9);
    assert_int_equal(h.negative, 2);
    assert_int_equal(h.saturated, 5);
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[hist_index(&h, 1000000)], 6);
    assert_int_equal(hist_min(&h), 0);
    assert_int_equal(hist_max(&h), 1000000);
    assert_int_equal(hist_percentile(&h, 100), 1000000);
    assert_int_equal(hist_percentile(&h, 99), 1000000); /* capped at max, not beyond */
    assert_int_equal(hist_lowest_equivalent(&h, -7), 0);
    assert_int_equal(hist_highest_equivalent(&h, INT64_MAX),
                     hist_highest_equivalent(&h, 1000000));
    hist_reset(&h);
    assert_int_equal(hist_count(&h), 0);
    assert_int_equal(h.negative + h.saturated, 0);
    for (int32_t i = 0; i < h.counts_len; i++)
        assert_int_equal(h.counts[i], 0);
    hist_record(&h, 77);
    assert_int_equal(hist_min(&h), 77);
    assert_int_equal(hist_max(&h), 77);
    hist_free(&h);
}

/* ---- iteration ---- */

static void test_iter(void **state)
{
    (void)state;
    struct hist h;
    struct hist_iter it;
    assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
    hist_iter_init(&it, &h);
    assert_false(hist_iter_next(&it));
    uint64_t s = 9;
    for (int i = 0; i < 20000; i++)
        hist_record(&h, draw(LOGNORMAL, &s));
    hist_iter_init(&it, &h);
    int64_t last_hi = -1;
    uint64_t sum = 0;
    int buckets = 0;
    while (hist_iter_next(&it)) {
        assert_true(it.count > 0);
        assert_true(it.value_lo > last_hi);
        assert_int_equal(it.value_lo, hist_lowest_equivalent(&h, it.value_lo));
        assert_int_equal(it.value_hi, hist_highest_equivalent(&h, it.value_lo));
        assert_int_equal(it.count, h.counts[hist_index(&h, it.value_lo)]);
        sum += it.count;
        assert_int_equal(it.cumulative, sum);
        last_hi = it.value_hi;
        buckets++;
    }
    assert_false(hist_iter_next(&it));
    assert_int_equal(sum, hist_count(&h));
    int nonzero = 0;
    for (int32_t i = 0; i < h.counts_len; i++)
        nonzero += h.counts[i] != 0;
    assert_int_equal(buckets, nonzero);
    assert_true(last_hi >= hist_max(&h));
    hist_free(&h);
}

/* ---- V2 encoding ---- */

/* Known answer: the byte layout HdrHistogram writes (checked against HdrHistogram's
 * Java Histogram.encodeIntoByteBuffer for the same histogram). */
static void test_encode_known_bytes(void **state)
{
    (void)state;
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 10000, 2), 0); /* 128 sub-buckets per octave */
    hist_record(&h, 1);
    hist_record_n(&h, 3, 2);
    hist_record_n(&h, 300, 5);                     /* counts index 278 */
    static const uint8_t want[] = {
        0x1c, 0x84, 0x93, 0x13,  0, 0, 0, 7,  0, 0, 0, 0,  0, 0, 0, 2,
        0, 0, 0, 0, 0, 0, 0, 1,  0, 0, 0, 0, 0, 0, 0x27, 0x10,
        0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
        0x00,        /* index 0: a single zero is written as 0 */
        0x02,        /* index 1: count 1 */
        0x00,        /* index 2 */
        0x04,        /* index 3: count 2 */
        0xa3, 0x04,  /* indexes 4..277: 274 zeros, written as -274 */
        0x0a,        /* index 278: count 5 */
    };
    uint8_t buf[256];
    size_t n = hist_encode(&h, buf, sizeof(buf));
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(hist_encode(&h, buf, sizeof(want) - 1), 0);
    assert_int_equal(hist_encode(&h, buf, 39), 0);
    hist_free(&h);
}

static void roundtrip(const struct hist *h)
{
    size_t cap = hist_encoded_size_max(h);
    uint8_t *buf = malloc(cap), *again = malloc(cap);
    assert_non_null(buf);
    assert_non_null(again);
    size_t n = hist_encode(h, buf, cap);
    assert_true(n >= 40);
    struct hist d;
    assert_int_equal(hist_decode(&d, buf, n), 0);
    assert_int_equal(d.lowest, h->lowest);
    assert_int_equal(d.highest, h->highest);
    assert_int_equal(d.sigfigs, h->sigfigs);
    assert_same_hist(&d, h);
    /* Bytes after the payload are ignored. */
    struct hist d2;
    memset(buf + n, 0xab, cap - n > 16 ? 16 : cap - n);
    assert_int_equal(hist_decode(&d2, buf, cap - n > 16 ? n + 16 : cap), 0);
    assert_same_hist(&d2, h);
    hist_free(&d2);
    /* Same bytes again; min/max bucket-precise around the exact ones. */
    assert_int_equal(hist_encode(&d, again, cap), n);
    assert_memory_equal(again, buf, n);
    if (hist_count(h)) {
        assert_int_equal(hist_min(&d), hist_lowest_equivalent(h, hist_min(h)));
        assert_true(hist_max(&d) >= hist_max(h));
        assert_true(hist_max(&d) <= hist_highest_equivalent(h, hist_max(h)));
        assert_true(hist_max(&d) <= d.highest); /* nothing above highest was recorded */
        /* With the exact extremes restored (the caller stores them beside), every
         * query answers exactly as before. */
        d.min = h->min;
        d.max = h->max;
    }
    for (size_t k = 0; k < sizeof(pct_milli) / sizeof(pct_milli[0]); k++)
        assert_int_equal(hist_percentile(&d, (double)pct_milli[k] / 1000.0),
                         hist_percentile(h, (double)pct_milli[k] / 1000.0));
    assert_true(hist_mean(&d) == hist_mean(h));
    assert_true(hist_stdev(&d) == hist_stdev(h));
    hist_free(&d);
    free(buf);
    free(again);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    struct hist h;
    /* Empty. */
    assert_int_equal(hist_init(&h, 1, HOUR_US, 3), 0);
    roundtrip(&h);
    /* A single value at each end. */
    hist_record(&h, 0);
    roundtrip(&h);
    hist_reset(&h);
    hist_record(&h, HOUR_US * 2);
    roundtrip(&h);
    /* Every distribution, several configs. */
    static const struct { int64_t lo, hi; int sf; } cfg[] = {
        {1, HOUR_US, 3}, {1, HOUR_US, 1}, {1, HOUR_US, 5}, {1000, HOUR_US * 1000, 2},
        {3, INT64_MAX, 4},
    };
    for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++)
        for (int d = 0; d < NDIST; d++) {
            struct hist g;
            assert_int_equal(hist_init(&g, cfg[c].lo, cfg[c].hi, cfg[c].sf), 0);
            uint64_t s = 77 + c * 10 + (uint64_t)d;
            for (int i = 0; i < 30000; i++)
                hist_record_n(&g, draw((enum dist)d, &s) * cfg[c].lo, 1 + rng_next(&s) % 3);
            roundtrip(&g);
            hist_free(&g);
        }
    /* Counts that need the 9-byte varint, and one the format cannot carry. */
    hist_reset(&h);
    hist_record_n(&h, 5, (uint64_t)1 << 62);
    hist_record_n(&h, 6, ((uint64_t)1 << 56) + 12345);
    hist_record_n(&h, 2000000, (uint64_t)INT64_MAX - ((uint64_t)1 << 62) - ((uint64_t)1 << 56) - 12346);
    roundtrip(&h);
    hist_record_n(&h, 7, (uint64_t)INT64_MAX);
    hist_record_n(&h, 7, 2);
    uint8_t *buf = malloc(hist_encoded_size_max(&h));
    assert_int_equal(hist_encode(&h, buf, hist_encoded_size_max(&h)), 0);
    free(buf);
    hist_free(&h);
}

static int decode_is_sane(const uint8_t *buf, size_t len)
{
    struct hist d;
    int rc = hist_decode(&d, buf, len);
    if (rc == 0) {
        uint64_t sum = 0;
        for (int32_t i = 0; i < d.counts_len; i++)
            sum += d.counts[i];
        assert_int_equal(sum, d.total_count);
        (void)hist_percentile(&d, 99.9);
        hist_free(&d);
    } else {
        assert_int_equal(rc, -EINVAL);
        assert_null(d.counts);
    }
    return rc;
}

static void test_decode_garbage(void **state)
{
    (void)state;
    uint64_t s = 1234;
    uint8_t junk[512];
    /* Pure noise, short and long. */
    for (int i = 0; i < 20000; i++) {
        size_t len = rng_next(&s) % sizeof(junk);
        for (size_t j = 0; j < len; j++)
            junk[j] = (uint8_t)rng_next(&s);
        decode_is_sane(junk, len);
    }
    assert_int_equal(hist_decode(&(struct hist){0}, NULL, 0), -EINVAL);

    /* A valid encoding: every truncation fails, mutations never crash. */
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 1000000, 3), 0);
    for (int i = 0; i < 300; i++)
        hist_record(&h, draw(LOGNORMAL, &s) % 1000000);
    uint8_t good[4096], bad[4096];
    size_t n = hist_encode(&h, good, sizeof(good));
    assert_true(n > 40 && n < sizeof(good));
    for (size_t len = 0; len < n; len++)
        assert_int_equal(decode_is_sane(good, len), -EINVAL);
    assert_int_equal(decode_is_sane(good, n), 0);
    for (int i = 0; i < 20000; i++) {
        memcpy(bad, good, n);
        int flips = 1 + (int)(rng_next(&s) % 4);
        for (int f = 0; f < flips; f++)
            bad[rng_next(&s) % n] ^= (uint8_t)(1u << (rng_next(&s) % 8));
        decode_is_sane(bad, n);
    }
    /* Specific lies in the header. */
    static const struct { size_t at; uint8_t byte; } lies[] = {
        {0, 0x00},  /* cookie */
        {3, 0x14},  /* the compressed cookie is not this format */
        {4, 0x7f},  /* payload longer than the buffer */
        {4, 0xff},  /* negative payload length */
        {11, 0x01}, /* normalizing offset */
        {15, 0x00}, /* sigfigs 0 */
        {15, 0x06}, /* sigfigs 6 */
        {23, 0x00}, /* lowest 0 */
        {16, 0x80}, /* lowest negative */
        {24, 0x80}, /* highest negative */
    };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        memcpy(bad, good, n);
        bad[lies[i].at] = lies[i].byte;
        assert_int_equal(decode_is_sane(bad, n), -EINVAL);
    }
    /* Counts past the end of the range: a zero run that overshoots, a count just past
     * the last index, a count on the last index. */
    struct hist tiny;
    assert_int_equal(hist_init(&tiny, 1, 2, 1), 0);
    assert_int_equal(tiny.counts_len, 32);
    hist_record(&tiny, 1);
    n = hist_encode(&tiny, bad, sizeof(bad));
    assert_int_equal(n, 42);                         /* words 0 (one zero), 2 (count 1) */
    assert_int_equal(decode_is_sane(bad, n), 0);
    bad[7] = 1;
    bad[40] = 0x41;                                  /* -33 zeros */
    assert_int_equal(decode_is_sane(bad, 41), -EINVAL);
    bad[7] = 2;
    bad[40] = 0x3f;                                  /* -32 zeros, then a count at 32 */
    bad[41] = 0x02;
    assert_int_equal(decode_is_sane(bad, 42), -EINVAL);
    bad[40] = 0x3d;                                  /* -31 zeros, then a count at 31 */
    assert_int_equal(decode_is_sane(bad, 42), 0);
    /* An unterminated 9-byte varint. */
    memcpy(bad + 40, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    bad[7] = 8;
    assert_int_equal(decode_is_sane(bad, 48), -EINVAL);
    /* Counts of INT64_MAX: two fit in the total, three overflow it. */
    bad[7] = 18;
    for (int i = 0; i < 2; i++)
        memcpy(bad + 40 + 9 * i, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    assert_int_equal(decode_is_sane(bad, 58), 0);
    bad[7] = 27;
    for (int i = 0; i < 3; i++)
        memcpy(bad + 40 + 9 * i, "\xfe\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    assert_int_equal(decode_is_sane(bad, 67), -EINVAL);
    hist_free(&tiny);
    hist_free(&h);
}

/* Snapshots while recording: copying a growing histogram again and again by
 * its occupied range leaves the copy equal to the source, bucket for bucket,
 * whichever way the range grows. */
static void test_copy_growing(void **state)
{
    (void)state;
    struct hist src, dst, other;
    assert_int_equal(hist_init(&src, 1, 3600000000LL, 3), 0);
    assert_int_equal(hist_init(&dst, 1, 3600000000LL, 3), 0);
    assert_int_equal(hist_init(&other, 1, 1000000, 3), 0);
    assert_int_equal(hist_copy_growing(&dst, &src), 0); /* empty */
    assert_int_equal(hist_count(&dst), 0);
    uint64_t x = 99;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 1000; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            /* Middle values first, then ever wider on both sides. */
            int64_t spread = 1000 + (int64_t)round * 50000;
            int64_t v = 500000 + (int64_t)(x >> 33) % (2 * spread) - spread;
            hist_record(&src, v < 0 ? 0 : v);
        }
        assert_int_equal(hist_copy_growing(&dst, &src), 0);
        assert_memory_equal(dst.counts, src.counts, (size_t)src.counts_len * sizeof *src.counts);
        assert_int_equal(hist_count(&dst), hist_count(&src));
        assert_int_equal(hist_min(&dst), hist_min(&src));
        assert_int_equal(hist_max(&dst), hist_max(&src));
        assert_int_equal(hist_percentile(&dst, 99), hist_percentile(&src, 99));
    }
    assert_int_equal(hist_copy_growing(&other, &src), -EINVAL);
    /* count_le against a brute-force count over exactly representable values. */
    struct hist c;
    assert_int_equal(hist_init(&c, 1, 3600000000LL, 3), 0);
    for (int64_t v = 1; v <= 3000; v++)
        hist_record(&c, v);
    assert_int_equal(hist_count_le(&c, 0), 0);
    assert_int_equal(hist_count_le(&c, 1000), 1000);   /* below 2048: exact buckets */
    assert_int_equal(hist_count_le(&c, 2047), 2047);
    assert_int_equal(hist_count_le(&c, 3000), 3000);
    assert_int_equal(hist_count_le(&c, 1 << 30), 3000);
    /* Above 2048 buckets are 2 wide: 2049 holds 2048..2049. */
    assert_int_equal(hist_count_le(&c, 2049), 2049);
    assert_int_equal(hist_count_le(&c, 2050), 2049);
    hist_free(&c);
    hist_free(&src);
    hist_free(&dst);
    hist_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_memory),
        cmocka_unit_test(test_bucket_tiling),
        cmocka_unit_test(test_percentiles_vs_sorted),
        cmocka_unit_test(test_percentile_rank_rounding),
        cmocka_unit_test(test_mean_stdev),
        cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_copy_growing),
        cmocka_unit_test(test_merge_mismatch),
        cmocka_unit_test(test_corrected),
        cmocka_unit_test(test_corrected_vs_naive),
        cmocka_unit_test(test_clamp),
        cmocka_unit_test(test_iter),
        cmocka_unit_test(test_encode_known_bytes),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_decode_garbage),
    };
    return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
