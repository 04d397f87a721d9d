/* Tables of good and bad inputs for every units parser, and k6's formatting cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/common/units.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEC 1000000000ll

static const struct {
    const char *in;
    int64_t     ns;
} good_durations[] = {
    {"10s", 10 * SEC},
    {"500ms", 500000000},
    {"250us", 250000},
    {"250\xc2\xb5s", 250000},          /* µs, micro sign */
    {"250\xce\xbcs", 250000},          /* μs, Greek mu */
    {"7ns", 7},
    {"1m30s", 90 * SEC},
    {"2h", 7200 * SEC},
    {"1.5s", 1500000000},
    {"0.1s", 100000000},               /* exact, not 99999999 */
    {"90", 90 * SEC},                  /* bare number = seconds, like wrk */
    {"2.5", 2500000000},
    {"0", 0},
    {"0s", 0},
    {".5s", 500000000},
    {"5.s", 5 * SEC},
    {"1h2m3s4ms5us6ns", 3723 * SEC + 4005006},
    {"1h0.5m", 3630 * SEC},
    {"1.5ns", 1},                      /* below a nanosecond: truncated */
    {"0.000000001s", 1},
    {"1.0000000000000000000001s", SEC}, /* digits past the 18th are ignored */
    {"9223372036854775807ns", INT64_MAX},
    {"2562047h", 2562047ll * 3600 * SEC},
    {"30s30s", 60 * SEC},              /* repeated units add up, as in Go */
};

static const char *const bad_durations[] = {
    "", "s", "ms", "-1s", "+1s", "-5", "abc", "10x", "10 s", " 10s", "10s ", "1m30",
    "1.2.3s", ".", ".s", "1e3s", "1e3", "inf", "nan", "10S", "10sec", "1d",
    "9223372036854775808ns", "2562048h", "9223372037s", "99999999999999999999s",
    "9223372036.854775808", "0x10s", "9223372036854775807ns1ns", "2562047h2562047h",
};

static void test_duration_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_durations); i++) {
        int64_t ns = -42;
        if (units_parse_duration(good_durations[i].in, &ns) != 0 ||
            ns != good_durations[i].ns)
            fail_msg("duration '%s': got %lld, want %lld", good_durations[i].in,
                     (long long)ns, (long long)good_durations[i].ns);
    }
}

static void test_duration_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(bad_durations); i++) {
        int64_t ns = -42;
        if (units_parse_duration(bad_durations[i], &ns) != -1)
            fail_msg("duration '%s' accepted as %lld", bad_durations[i], (long long)ns);
        if (ns != -42)
            fail_msg("duration '%s' wrote the output on error", bad_durations[i]);
    }
    assert_int_equal(units_parse_duration(NULL, &(int64_t){0}), -1);
}

static const struct {
    const char *in;
    uint64_t    bytes;
} good_sizes[] = {
    {"0", 0},
    {"512", 512},
    {"512B", 512},
    {"512b", 512},
    {"1k", 1000},
    {"1K", 1000},
    {"1KB", 1000},
    {"10MB", 10000000},
    {"2GB", 2000000000},
    {"1TB", 1000000000000},
    {"1M", 1000000},
    {"512KiB", 512 * 1024},
    {"1MiB", 1048576},
    {"1mib", 1048576},
    {"1GiB", 1073741824},
    {"2TiB", 2ull << 40},
    {"1.5MiB", 1572864},
    {"0.5KiB", 512},
    {"1.1KB", 1100},
    {"18446744073709551615", UINT64_MAX},
    {"16777215TiB", 16777215ull << 40},
};

static const char *const bad_sizes[] = {
    "", "B", "KiB", "-1", "+1", "1.5", "0.5B", "1.0001KiB", "1 MiB", "1MiBs", "1Ki",
    "1PB", "abc", "1e6", "18446744073709551616", "16777216TiB", "20000000000GB", "0x10",
};

static void test_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_sizes); i++) {
        uint64_t v = 42;
        if (units_parse_size(good_sizes[i].in, &v) != 0 || v != good_sizes[i].bytes)
            fail_msg("size '%s': got %llu, want %llu", good_sizes[i].in,
                     (unsigned long long)v, (unsigned long long)good_sizes[i].bytes);
    }
    for (size_t i = 0; i < N(bad_sizes); i++) {
        uint64_t v = 42;
        if (units_parse_size(bad_sizes[i], &v) != -1 || v != 42)
            fail_msg("size '%s' accepted as %llu", bad_sizes[i], (unsigned long long)v);
    }
}

static const struct {
    const char *in;
    uint64_t    n;
} good_counts[] = {
    {"0", 0},
    {"2000", 2000},
    {"2k", 2000},
    {"2K", 2000},
    {"1.5M", 1500000},
    {"1.5m", 1500000},                 /* wrk: case-insensitive, m is mega */
    {"1G", 1000000000},
    {"1.5k", 1500},
    {"0.001k", 1},
    {"1.000k", 1000},
    {"3T", 3000000000000},
    {"18446744073709551615", UINT64_MAX},
};

static const char *const bad_counts[] = {
    "", "k", "-1", "+1", "1.5", "1.2345k", "1kb", "1KiB", "1 k", "abc", "1e3", "1x",
    "18446744073709551616", "20000000T", "0.0001k", "1.00000000000000000001k",
};

static void test_count(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_counts); i++) {
        uint64_t v = 42;
        if (units_parse_count(good_counts[i].in, &v) != 0 || v != good_counts[i].n)
            fail_msg("count '%s': got %llu, want %llu", good_counts[i].in,
                     (unsigned long long)v, (unsigned long long)good_counts[i].n);
    }
    for (size_t i = 0; i < N(bad_counts); i++) {
        uint64_t v = 42;
        if (units_parse_count(bad_counts[i], &v) != -1 || v != 42)
            fail_msg("count '%s' accepted as %llu", bad_counts[i], (unsigned long long)v);
    }
}

static const struct {
    const char *in;
    double      per_sec;
} good_rates[] = {
    {"2000", 2000},
    {"2k", 2000},
    {"1.5M", 1500000},
    {"0.5", 0.5},
    {"0", 0},
    {"100/s", 100},
    {"600/m", 10},
    {"7200/h", 2},
    {"1.2k/m", 20},
    {"1m", 1000000},                   /* a count suffix: million, not per minute */
};

static const char *const bad_rates[] = {
    "", "k", "/s", "-1", "+1", "1e3", "inf", "nan", "1 k", "1x", "100/", "100/d",
    "100/sec", "100/s/s", "1kk", "1k/", "abc",
};

static void test_rate(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_rates); i++) {
        double v = -1;
        if (units_parse_rate(good_rates[i].in, &v) != 0 || v != good_rates[i].per_sec)
            fail_msg("rate '%s': got %g, want %g", good_rates[i].in, v,
                     good_rates[i].per_sec);
    }
    for (size_t i = 0; i < N(bad_rates); i++) {
        double v = -1;
        if (units_parse_rate(bad_rates[i], &v) != -1 || v != -1)
            fail_msg("rate '%s' accepted as %g", bad_rates[i], v);
    }
}

/* Expected strings are what k6's summary prints for the same value. */
static const struct {
    double      ns;
    const char *out;
} fmt_durations[] = {
    {0, "0s"},
    {0.5, "0ns"},
    {850, "850ns"},
    {999.9, "999ns"},
    {1000, "1µs"},
    {512000, "512µs"},
    {512500, "512.5µs"},
    {512349, "512.34µs"},            /* truncated, not rounded */
    {1230000, "1.23ms"},
    {1239999, "1.23ms"},
    {1500000, "1.5ms"},
    {999999999, "999.99ms"},
    {1e9, "1s"},
    {2.5e9, "2.5s"},
    {59.999e9, "59.99s"},
    {60e9, "1m0s"},
    {63.5e9, "1m3s"},                /* past a minute: whole seconds */
    {90e9, "1m30s"},
    {3599.9e9, "59m59s"},
    {3600e9, "1h0m0s"},
    {3605e9, "1h0m5s"},
    {90000e9, "25h0m0s"},
    {-1230000, "-1.23ms"},
};

static void test_fmt_duration(void **state)
{
    char buf[64];
    (void)state;
    for (size_t i = 0; i < N(fmt_durations); i++) {
        const char *r = units_fmt_duration(buf, sizeof buf, fmt_durations[i].ns);
        assert_ptr_equal(r, buf);
        if (strcmp(buf, fmt_durations[i].out) != 0)
            fail_msg("fmt_duration(%.17g): got '%s', want '%s'", fmt_durations[i].ns, buf,
                     fmt_durations[i].out);
    }
    /* A small buffer truncates, never overruns. */
    char small[4] = {'x', 'x', 'x', 'x'};
    units_fmt_duration(small, 3, 1230000);
    assert_string_equal(small, "1.");
    assert_int_equal(small[3], 'x');
}

static const struct {
    double      bytes;
    const char *out;
} fmt_bytes[] = {
    {0, "0 B"},
    {7, "7 B"},
    {10, "10 B"},
    {512, "512 B"},
    {999, "999 B"},
    {1000, "1.0 kB"},
    {1234, "1.2 kB"},
    {1250, "1.3 kB"},                /* half up */
    {12345, "12 kB"},
    {12500, "13 kB"},                /* half up, where printf would round to even */
    {1.2e6, "1.2 MB"},
    {10485760, "11 MB"},             /* k6 rounds twice: 10.49 → 10.5 → 11 */
    {3.4e9, "3.4 GB"},
    {1e9, "1.0 GB"},                 /* log(1e9)/log(1000) would say 2.99… → MB */
    {2e15, "2.0 PB"},
};

static void test_fmt_bytes(void **state)
{
    char buf[64];
    (void)state;
    for (size_t i = 0; i < N(fmt_bytes); i++) {
        const char *r = units_fmt_bytes(buf, sizeof buf, fmt_bytes[i].bytes);
        assert_ptr_equal(r, buf);
        if (strcmp(buf, fmt_bytes[i].out) != 0)
            fail_msg("fmt_bytes(%.17g): got '%s', want '%s'", fmt_bytes[i].bytes, buf,
                     fmt_bytes[i].out);
    }
}

static const struct {
    double      v;
    const char *out;
} fmt_counts[] = {
    {0, "0"}, {1000, "1000"}, {99.9, "99.9"}, {1.0 / 3, "0.333333"}, {2.0 / 3, "0.666667"},
    {-0.0000001, "0"}, {12345678, "12345678"}, {1.5, "1.5"},
};

static void test_fmt_count(void **state)
{
    char buf[64];
    (void)state;
    for (size_t i = 0; i < N(fmt_counts); i++) {
        units_fmt_count(buf, sizeof buf, fmt_counts[i].v);
        if (strcmp(buf, fmt_counts[i].out) != 0)
            fail_msg("fmt_count(%.17g): got '%s', want '%s'", fmt_counts[i].v, buf,
                     fmt_counts[i].out);
    }
}

/* Every duration we print parses back to (at most two decimals below) the value. */
static void test_duration_round_trip(void **state)
{
    static const int64_t vals[] = {1000, 512000, 1230000, 2500000000, 63 * SEC, 3605 * SEC};
    char buf[64];
    (void)state;
    for (size_t i = 0; i < N(vals); i++) {
        int64_t back;
        units_fmt_duration(buf, sizeof buf, (double)vals[i]);
        assert_int_equal(units_parse_duration(buf, &back), 0);
        assert_int_equal(back, vals[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_fmt_duration),
        cmocka_unit_test(test_fmt_bytes),
        cmocka_unit_test(test_fmt_count),
        cmocka_unit_test(test_duration_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
