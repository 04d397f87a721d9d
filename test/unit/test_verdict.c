/* The client verdict: the client's lag weighed against the latencies it
 * inflates, the host's timer lateness named when it explains the lag, the
 * workers' CPU as before. A table of runs, then the finer points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "blaster/common/hist.h"
#include "blaster/run/verdict.h"

#define QUIET_HOST ((struct verdict_timers){ .p50_us = 20, .p99_us = 60, .p999_us = 150, .samples = 5000, \
                                             .lag_p99_us = 30 })
#define SLOW_HOST  ((struct verdict_timers){ .p50_us = 90, .p99_us = 2100, .p999_us = 3000, .samples = 5000, \
                                             .lag_p99_us = 1500 })
#define NO_HOST    ((struct verdict_timers){ .p50_us = -1, .p99_us = -1, .p999_us = -1, .lag_p99_us = -1 })

/* One scenario with enough samples: lag p99 and duration p95 in µs (p95
 * of lag and p99 of duration derived from them). */
static struct verdict_scenario one(long long lag_p99, long long dur_p95)
{
    return (struct verdict_scenario){ .name = "default", .lag_p95_us = lag_p99 / 2, .lag_p99_us = lag_p99,
                                      .lag_samples = 10000, .dur_p95_us = dur_p95, .dur_p99_us = dur_p95 * 2,
                                      .started = 3000 };
}

struct run_case {
    const char *what;
    double busy, wait;
    struct verdict_timers host;
    long long lag_p99, dur_p95;
    enum verdict_status want;
    const char *reason;     /* in reasons[0], or NULL: no reason */
    const char *evidence;   /* in one of the evidence lines, or NULL */
};

static const struct run_case cases[] = {
    { "clean run on a slow-timer host, 200 ms p95", 0.08, 0.001, SLOW_HOST, 2500, 200000, VERDICT_OK, NULL,
      "timer lateness p50/p99/p99.9 0.09/2.10/3.00ms over 5000 wake-ups" },
    { "1 ms lag against a 200 ms p95", 0.10, 0, QUIET_HOST, 1000, 200000, VERDICT_OK, NULL,
      "client_lag p95/p99 0.50/1.00ms: up to 0%/0% of http_req_duration p95/p99 200.00/400.00ms" },
    { "1 ms lag against a 1.2 ms p95 on a quiet host", 0.10, 0, QUIET_HOST, 1000, 1200, VERDICT_CLIENT_LIMITED,
      "client_lag p99 1.00ms is over 10% of http_req_duration p95 1.20ms and more than this machine's timers "
      "explain (0.25ms)", NULL },
    { "a VM's pauses: lag p99 past twice the timers' p99 but within their p99.9", 0.05, 0.005,
      { .p50_us = 40, .p99_us = 510, .p999_us = 3330, .samples = 3000, .lag_p99_us = 880 }, 1500, 1000,
      VERDICT_HOST_LIMITED, "this machine's timers wake late", NULL },
    { "the lag the host's timers explain, material to a 3 ms p95", 0.10, 0, SLOW_HOST, 1900, 3000,
      VERDICT_HOST_LIMITED, "this machine's timers wake late: p99 2.10ms (client_lag p99 1.50ms from them alone, "
      "1.90ms seen), material against http_req_duration p95 3.00ms", "up to 32%/32% of http_req_duration p95/p99 3.00/6.00ms could be the client's" },
    { "the host's timers late, but the client's lag twice more than they explain", 0.10, 0, SLOW_HOST, 9000,
      3000, VERDICT_CLIENT_LIMITED, "more than this machine's timers explain (4.30ms)", NULL },
    { "timers punctual at p99, but their few long stalls explain the lag", 0.10, 0,
      { .p50_us = 20, .p99_us = 60, .p999_us = 5000, .samples = 5000, .lag_p99_us = 1500 }, 1400, 1000,
      VERDICT_HOST_LIMITED, "this machine's timers wake late: p99 0.06ms (client_lag p99 1.50ms from them alone", NULL },
    { "other processes on the client's CPU 3% of the run, lag beyond the timers", 0.10, 0.03, QUIET_HOST, 4000,
      1000, VERDICT_CLIENT_LIMITED, "worker 0 waited for its CPU 3.0% of the run: other processes on it explain "
      "client_lag p99 4.00ms, material against http_req_duration p95 1.00ms", NULL },
    { "a busy process on the client's CPU made its timers late (their lateness is its run-queue wait)", 0.10, 0.03,
      { .p50_us = 900, .p99_us = 2100, .p999_us = 3000, .samples = 3000, .lag_p99_us = 1500,
        .late_sum_us = 2.7e6, .wait_sum_us = 2.7e6 }, 1900, 3000, VERDICT_CLIENT_LIMITED,
      "worker 0 waited for its CPU 3.0% of the run: other processes on it explain", NULL },
    { "a VM's late timers, some run-queue wait but far less than their lateness", 0.10, 0.03,
      { .p50_us = 900, .p99_us = 2100, .p999_us = 3000, .samples = 3000, .lag_p99_us = 1500,
        .late_sum_us = 2.7e6, .wait_sum_us = 0.09e6 }, 1900, 3000, VERDICT_HOST_LIMITED,
      "this machine's timers wake late: p99 2.10ms", NULL },
    { "busy worker, lag on time", 0.97, 0, QUIET_HOST, 50, 1000, VERDICT_CLIENT_LIMITED,
      "worker 0 was busy 97% of the run (limit 90%)", NULL },
    { "worker waiting for its CPU", 0.40, 0.45, QUIET_HOST, 50, 1000, VERDICT_CLIENT_LIMITED,
      "worker 0 waited for its CPU 45% of the run (limit 10%)", NULL },
    { "lag within a loop turn's margin, host unmeasured", 0.10, 0, NO_HOST, 90, 500, VERDICT_OK, NULL,
      "timer lateness: not measured" },
    { "lag over the margin, host unmeasured", 0.10, 0, NO_HOST, 150, 500, VERDICT_CLIENT_LIMITED,
      "client_lag p99 0.15ms", NULL },
    { "lag over the margin, the host's timers punctual but under 10% of p95", 0.10, 0,
      { .p50_us = 10, .p99_us = 20, .p999_us = 30, .samples = 5000, .lag_p99_us = 10 }, 150, 500, VERDICT_CLIENT_LIMITED,
      "client_lag p99 0.15ms", NULL },
    { "lag within twice the timers and the margin, timers under 10% of p95", 0.10, 0,
      { .p50_us = 10, .p99_us = 40, .p999_us = 50, .samples = 5000, .lag_p99_us = 20 }, 150, 500, VERDICT_OK, NULL, NULL },
};

static void run_table(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct run_case *c = &cases[i];
        struct verdict_scenario sc = one(c->lag_p99, c->dur_p95);
        struct verdict_input in = { .nworkers = 1, .busy = &c->busy, .wait = &c->wait, .nsc = 1, .sc = &sc,
                                    .host = c->host };
        struct verdict v;
        verdict_decide(&in, &v);
        print_message("case: %s\n", c->what);
        assert_int_equal(v.status, c->want);
        if (c->reason) {
            assert_true(v.nreasons >= 1);
            if (!strstr(v.reasons[0], c->reason))
                fail_msg("%s: reason '%s' lacks '%s'", c->what, v.reasons[0], c->reason);
        } else {
            assert_int_equal(v.nreasons, 0);
        }
        bool seen = c->evidence == NULL;
        for (int e = 0; e < v.nevidence; e++)
            seen |= c->evidence && strstr(v.evidence[e], c->evidence) != NULL;
        if (!seen)
            fail_msg("%s: no evidence line has '%s' (first: '%s')", c->what, c->evidence, v.evidence[0]);
        /* The figure is always there. */
        assert_non_null(strstr(v.evidence[0], "timer lateness"));
        assert_int_equal(v.host.p99_us, c->host.p99_us);
    }
}

/* A few samples: their p99 is their maximum, one late request; no verdict. */
static void few_samples_are_not_judged(void **state)
{
    double busy = 0.1, wait = 0;
    struct verdict_scenario sc = one(170000, 1000);
    sc.lag_samples = VERDICT_LAG_MIN_SAMPLES - 1;
    struct verdict_input in = { .nworkers = 1, .busy = &busy, .wait = &wait, .nsc = 1, .sc = &sc,
                                .host = QUIET_HOST };
    struct verdict v;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_OK);
    assert_non_null(strstr(v.evidence[1], "client_lag not judged: 199 samples"));
    sc.lag_samples = VERDICT_LAG_MIN_SAMPLES;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_CLIENT_LIMITED);
    /* The host's p99 from a few wake-ups explains nothing either. */
    in.host = SLOW_HOST;
    in.host.samples = VERDICT_LAG_MIN_SAMPLES - 1;
    sc = one(1900, 3000);
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_CLIENT_LIMITED);
}

/* Each scenario is weighed against its own p95, and named; the host's
 * reason goes to the evidence when the client is the cause elsewhere. */
static void scenarios_weigh_their_own(void **state)
{
    double busy = 0.1, wait = 0;
    struct verdict_scenario sc[2] = { one(1900, 200000), one(1900, 3000) };
    sc[0].name = "slow";
    sc[1].name = "fast";
    struct verdict_input in = { .nworkers = 1, .busy = &busy, .wait = &wait, .nsc = 2, .sc = sc,
                                .host = SLOW_HOST };
    struct verdict v;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_HOST_LIMITED);
    assert_int_equal(v.nreasons, 1);
    assert_non_null(strstr(v.reasons[0], "material against fast: http_req_duration p95 3.00ms"));
    assert_non_null(strstr(v.evidence[1], "slow: client_lag p95/p99 0.95/1.90ms"));

    in.host = QUIET_HOST;
    sc[0] = one(1900, 3000);
    sc[0].name = "late";
    sc[1].lag_p99_us = 50;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_CLIENT_LIMITED);
    assert_int_equal(v.nreasons, 1);
    assert_non_null(strstr(v.reasons[0], "late: client_lag p99 1.90ms"));
}

/* The share of a percentile that could be the client's is at most all of it. */
static void shares_are_capped(void **state)
{
    double busy = 0.1, wait = 0;
    struct verdict_scenario sc = one(1560, 140);
    struct verdict_input in = { .nworkers = 1, .busy = &busy, .wait = &wait, .nsc = 1, .sc = &sc,
                                .host = SLOW_HOST };
    struct verdict v;
    verdict_decide(&in, &v);
    assert_non_null(strstr(v.evidence[1], "up to 100%/100% of"));
}

static void dropped_iterations_are_evidence(void **state)
{
    double busy = 0.1, wait = 0;
    struct verdict_scenario sc = one(50, 1000);
    sc.dropped = 1000;
    struct verdict_input in = { .nworkers = 1, .busy = &busy, .wait = &wait, .nsc = 1, .sc = &sc,
                                .host = QUIET_HOST };
    struct verdict v;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_OK);
    assert_non_null(strstr(v.evidence[2], "1000 of 4000 scheduled iterations dropped (25.0%)"));
}

static void every_reason_is_reported(void **state)
{
    double busy[] = { 0.95, 0.99 }, wait[] = { 0.2, 0.3 };
    struct verdict_scenario sc = one(5000, 1000);
    struct verdict_input in = { .nworkers = 2, .busy = busy, .wait = wait, .nsc = 1, .sc = &sc,
                                .host = QUIET_HOST };
    struct verdict v;
    verdict_decide(&in, &v);
    assert_int_equal(v.status, VERDICT_CLIENT_LIMITED);
    /* Waits of 20-30% are the client's reason, not the host's explanation. */
    assert_int_equal(v.nreasons, 4);
}

/* A wake-up late by L delays the sends due in its L µs by L..0: over a
 * 3 s span, 10 wake-ups 3 ms late delay 1% of an even rate's sends by
 * 0..3 ms (p99 about 0), 30 of them 3% (p99 about 2 ms). */
static void long_wake_ups_weigh_by_their_length(void **state)
{
    struct hist h;
    assert_int_equal(hist_init(&h, 1, 3600LL * 1000 * 1000, 3), 0);
    assert_int_equal(verdict_timers_lag_p99(&h, 3e6), -1);
    hist_record_n(&h, 40, 3000);
    assert_true(verdict_timers_lag_p99(&h, 3e6) <= 40);
    hist_record_n(&h, 3000, 10);
    assert_true(verdict_timers_lag_p99(&h, 3e6) <= 45);
    hist_record_n(&h, 3000, 20);
    long long y = verdict_timers_lag_p99(&h, 3e6);
    assert_true(y >= 1950 && y <= 2050);
    assert_int_equal(verdict_timers_lag_p99(&h, 0), -1);
    hist_free(&h);
}

static void status_names_are_k6_users(void **state)
{
    assert_string_equal(verdict_status_name(VERDICT_OK), "OK");
    assert_string_equal(verdict_status_name(VERDICT_CLIENT_LIMITED), "CLIENT-LIMITED");
    assert_string_equal(verdict_status_name(VERDICT_HOST_LIMITED), "HOST-LIMITED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_table),
        cmocka_unit_test(few_samples_are_not_judged),
        cmocka_unit_test(scenarios_weigh_their_own),
        cmocka_unit_test(shares_are_capped),
        cmocka_unit_test(dropped_iterations_are_evidence),
        cmocka_unit_test(every_reason_is_reported),
        cmocka_unit_test(long_wake_ups_weigh_by_their_length),
        cmocka_unit_test(status_names_are_k6_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
