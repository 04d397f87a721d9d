/* Executor schedules: k6's VU steps (with its own published test vectors),
 * graceful ramp-down caps, arrival times without drift, iteration sharing,
 * and execution segments that add up to the whole. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blaster/compile/executor.h"

#define MS 1000000LL
#define S  1000000000LL
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ----------------------------------------------------------- */

#define STAGE(d, tgt) { .duration_ns = (d), .target = (tgt) }

static struct executor_config ramping_vus(uint32_t start, struct executor_stage *st, int n)
{
    return (struct executor_config){
        .executor = EXEC_RAMPING_VUS, .start_vus = start, .stages = st, .nstages = n,
        .graceful_stop_ns = 30 * S, .graceful_ramp_down_ns = 30 * S,
    };
}

static struct executor_config ramping_rate(double start, int64_t tu, struct executor_stage *st, int n)
{
    return (struct executor_config){
        .executor = EXEC_RAMPING_ARRIVAL_RATE, .start_rate = start, .time_unit_ns = tu,
        .stages = st, .nstages = n, .pre_allocated_vus = 10, .max_vus = 10,
        .graceful_stop_ns = 30 * S,
    };
}

static struct executor_config constant_rate(double rate, int64_t tu, int64_t dur)
{
    return (struct executor_config){
        .executor = EXEC_CONSTANT_ARRIVAL_RATE, .rate = rate, .time_unit_ns = tu,
        .duration_ns = dur, .pre_allocated_vus = 10, .max_vus = 20, .graceful_stop_ns = 30 * S,
    };
}

static struct vu_change list[4096];

/* The change list of segment i of n in list, its length cross-checked
 * with the sizing call. */
static size_t changes(const struct executor_config *s, uint32_t i, uint32_t n)
{
    size_t len = executor_vu_changes(s, i, n, list, NELEM(list));
    assert_true(len <= NELEM(list));
    assert_int_equal(len, executor_vu_changes(s, i, n, NULL, 0));
    return len;
}

/* The value a change list gives at t: the last entry at or before t. */
static uint32_t value_at(const struct vu_change *l, size_t n, int64_t t)
{
    uint32_t v = 0;
    for (size_t k = 0; k < n && l[k].t_ns <= t; k++)
        v = l[k].vus;
    return v;
}

struct want_step { int64_t t; uint32_t v; };

static void assert_steps(const struct vu_change *got, size_t n, const struct want_step *want, size_t nwant)
{
    if (n != nwant) {
        for (size_t k = 0; k < n; k++)
            print_message("  got (%lld ms, %u)\n", (long long)(got[k].t_ns / MS), got[k].vus);
    }
    assert_int_equal(n, nwant);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(got[k].t_ns, want[k].t);
        assert_int_equal(got[k].vus, want[k].v);
    }
}

/* ---- durations --------------------------------------------------------- */

static void durations_and_ends(void **state)
{
    (void)state;
    struct executor_stage st[] = { STAGE(30 * S, 1000), STAGE(300 * S, 1000) };
    struct executor_config r = ramping_vus(1, st, 2);
    r.start_time_ns = 10 * S;
    assert_int_equal(executor_duration(&r), 330 * S);
    assert_int_equal(executor_end(&r), 10 * S + 330 * S + 30 * S);

    struct executor_config c = { .executor = EXEC_CONSTANT_VUS, .vus = 5, .duration_ns = 60 * S,
                          .graceful_stop_ns = 5 * S };
    assert_int_equal(executor_duration(&c), 60 * S);
    assert_int_equal(executor_end(&c), 65 * S);

    struct executor_config it = { .executor = EXEC_SHARED_ITERATIONS, .vus = 2, .iterations = 10,
                           .max_duration_ns = 600 * S, .graceful_stop_ns = 30 * S,
                           .start_time_ns = S };
    assert_int_equal(executor_duration(&it), 600 * S);
    assert_int_equal(executor_end(&it), 631 * S);

    struct executor_config car = constant_rate(10, S, 5 * S);
    assert_int_equal(executor_end(&car), 35 * S);

    struct executor_stage rs[] = { STAGE(10 * S, 100), STAGE(0, 5), STAGE(20 * S, 5) };
    struct executor_config rar = ramping_rate(0, S, rs, 3);
    rar.graceful_stop_ns = 0;
    assert_int_equal(executor_duration(&rar), 30 * S);
    assert_int_equal(executor_end(&rar), 30 * S);
}

/* ---- ramping-vus ------------------------------------------------------- */

static void ramping_vus_browse_example(void **state)
{
    (void)state;
    /* DESIGN.md's browse scenario, start_vus at k6's default of 1. */
    struct executor_stage st[] = { STAGE(30 * S, 1000), STAGE(300 * S, 1000) };
    struct executor_config s = ramping_vus(1, st, 2);
    static const struct { int64_t t; uint32_t v; } cases[] = {
        { 0, 1 }, { 15 * S, 500 } /* 1 + floor(15 * 999 / 30) */, { 30 * S - 1, 999 },
        { 30 * S, 1000 }, { 120 * S, 1000 }, { 330 * S - 1, 1000 }, { 330 * S, 0 }, { -1, 0 },
        /* VU n (from 2) arrives at 30 s * (n - 1) / 999, rounded up to the ns */
        { 30 * S / 999, 1 }, { 30 * S / 999 + 1, 2 },
    };
    for (size_t k = 0; k < NELEM(cases); k++)
        assert_int_equal(executor_vus_at(&s, cases[k].t), cases[k].v);
    assert_int_equal(executor_max_vus(&s, 0, 1), 1000);

    size_t n = changes(&s, 0, 1);
    assert_int_equal(n, 1001);     /* 1..1000, then 0 at the end */
    assert_int_equal(list[0].t_ns, 0);
    assert_int_equal(list[0].vus, 1);
    assert_int_equal(list[999].vus, 1000);
    assert_int_equal(list[999].t_ns, 30 * S);
    assert_int_equal(list[1000].t_ns, 330 * S);
    assert_int_equal(list[1000].vus, 0);

    /* From 0 VUs, the middle of the ramp is exactly half. */
    s.start_vus = 0;
    assert_int_equal(executor_vus_at(&s, 15 * S), 500);
    assert_int_equal(executor_vus_at(&s, 0), 0);
}

static void ramping_vus_down_and_jumps(void **state)
{
    (void)state;
    /* Ramp down 10 -> 0 over 10 s: one VU leaves per second, at the second. */
    struct executor_stage down[] = { STAGE(10 * S, 0) };
    struct executor_config s = ramping_vus(10, down, 1);
    assert_int_equal(executor_vus_at(&s, 0), 10);
    assert_int_equal(executor_vus_at(&s, S - 1), 10);
    assert_int_equal(executor_vus_at(&s, S), 9);
    assert_int_equal(executor_vus_at(&s, 9 * S + S / 2), 1);
    assert_int_equal(executor_vus_at(&s, 10 * S), 0);
    static const struct want_step want_down[] = {
        { 0, 10 }, { 1 * S, 9 }, { 2 * S, 8 }, { 3 * S, 7 }, { 4 * S, 6 }, { 5 * S, 5 },
        { 6 * S, 4 }, { 7 * S, 3 }, { 8 * S, 2 }, { 9 * S, 1 }, { 10 * S, 0 },
    };
    assert_steps(list, changes(&s, 0, 1), want_down, NELEM(want_down));

    /* k6 corner case "going up then down straight away": a 0-duration stage
     * jumps at its start; two entries share t = 0 and the last one wins. */
    struct executor_stage jump[] = { STAGE(0, 5), STAGE(2 * S, 3) };
    s = ramping_vus(2, jump, 2);
    static const struct want_step want_jump[] = { { 0, 2 }, { 0, 5 }, { 1 * S, 4 }, { 2 * S, 3 }, { 2 * S, 0 } };
    assert_steps(list, changes(&s, 0, 1), want_jump, NELEM(want_jump));
    assert_int_equal(executor_vus_at(&s, 0), 5);
    assert_int_equal(executor_vus_at(&s, S), 4);

    /* A jump in the middle, then a hold. */
    struct executor_stage mid[] = { STAGE(2 * S, 4), STAGE(0, 1), STAGE(3 * S, 1) };
    s = ramping_vus(4, mid, 3);
    assert_int_equal(executor_vus_at(&s, 2 * S - 1), 4);
    assert_int_equal(executor_vus_at(&s, 2 * S), 1);
    static const struct want_step want_mid[] = { { 0, 4 }, { 2 * S, 1 }, { 5 * S, 0 } };
    assert_steps(list, changes(&s, 0, 1), want_mid, NELEM(want_mid));

    /* "jump up then go up again" and "more up and down" (k6). */
    struct executor_stage up[] = { STAGE(2 * S, 5) };
    s = ramping_vus(3, up, 1);
    static const struct want_step want_up[] = { { 0, 3 }, { 1 * S, 4 }, { 2 * S, 5 }, { 2 * S, 0 } };
    assert_steps(list, changes(&s, 0, 1), want_up, NELEM(want_up));
    struct executor_stage updown[] = { STAGE(5 * S, 5), STAGE(5 * S, 0) };
    s = ramping_vus(0, updown, 2);
    static const struct want_step want_ud[] = {
        { 0, 0 }, { 1 * S, 1 }, { 2 * S, 2 }, { 3 * S, 3 }, { 4 * S, 4 }, { 5 * S, 5 },
        { 6 * S, 4 }, { 7 * S, 3 }, { 8 * S, 2 }, { 9 * S, 1 }, { 10 * S, 0 },
    };
    assert_steps(list, changes(&s, 0, 1), want_ud, NELEM(want_ud));
}

/* k6's TestRampingVUsConfigExecutionPlanExample. */
static struct executor_stage plan_stages[] = {
    STAGE(2 * S, 6), STAGE(5 * S, 1), STAGE(4 * S, 5), STAGE(4 * S, 1),
    STAGE(3 * S, 4), STAGE(2 * S, 4), STAGE(0, 1), STAGE(3 * S, 1),
};
static const struct want_step plan_raw[] = {
    { 0 * S, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 3 * S, 5 }, { 4 * S, 4 }, { 5 * S, 3 },
    { 6 * S, 2 }, { 7 * S, 1 }, { 8 * S, 2 }, { 9 * S, 3 }, { 10 * S, 4 }, { 11 * S, 5 },
    { 12 * S, 4 }, { 13 * S, 3 }, { 14 * S, 2 }, { 15 * S, 1 }, { 16 * S, 2 }, { 17 * S, 3 },
    { 18 * S, 4 }, { 20 * S, 1 }, { 23 * S, 0 },
};

static void ramping_vus_k6_plan_and_caps(void **state)
{
    (void)state;
    struct executor_config s = ramping_vus(4, plan_stages, NELEM(plan_stages));
    assert_steps(list, changes(&s, 0, 1), plan_raw, NELEM(plan_raw));

    static const struct { int64_t gs, grd; struct want_step want[8]; size_t n; } cases[] = {
        { 30 * S, 30 * S, { { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 33 * S, 5 }, { 42 * S, 4 },
                            { 50 * S, 1 }, { 53 * S, 0 } }, 7 },
        { 80 * S, 30 * S, { { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 33 * S, 5 }, { 42 * S, 4 },
                            { 50 * S, 1 }, { 103 * S, 0 } }, 7 },
        { 3 * S, 30 * S, { { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 26 * S, 0 } }, 4 },
        /* the last decrease's deadline (20 + 30 s) is exactly the end: no cap at 1 */
        { 27 * S, 30 * S, { { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 33 * S, 5 }, { 42 * S, 4 },
                            { 50 * S, 0 } }, 6 },
        { 0, 30 * S, { { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 23 * S, 0 } }, 4 },
    };
    struct vu_change caps[64];
    for (size_t k = 0; k < NELEM(cases); k++) {
        s.graceful_stop_ns = cases[k].gs;
        s.graceful_ramp_down_ns = cases[k].grd;
        assert_steps(caps, executor_vu_caps(&s, 0, 1, caps, NELEM(caps)), cases[k].want, cases[k].n);
    }
    /* No graceful periods at all: the caps are the changes. */
    s.graceful_stop_ns = 0;
    s.graceful_ramp_down_ns = 0;
    assert_steps(caps, executor_vu_caps(&s, 0, 1, caps, NELEM(caps)), plan_raw, NELEM(plan_raw));

    /* Too small a buffer: a size that is enough comes back (at most the
     * change list's length + 1); changes write the head and count it all. */
    size_t len = executor_vu_changes(&s, 0, 1, NULL, 0);
    assert_int_equal(len, NELEM(plan_raw));
    size_t need = executor_vu_caps(&s, 0, 1, caps, 3);
    assert_true(need > 3 && need <= len + 1);
    assert_int_equal(executor_vu_caps(&s, 0, 1, caps, need), NELEM(plan_raw));
    assert_int_equal(executor_vu_caps(&s, 0, 1, NULL, 0), need);
    memset(caps, 0, sizeof caps);
    assert_int_equal(executor_vu_changes(&s, 0, 1, caps, 3), len);
    assert_int_equal(caps[2].vus, 6);
    assert_int_equal(caps[3].vus, 0);    /* untouched */

    /* Down, then a jump past the old level inside the ramp-down window: the
     * cap never dips, and follows the jump. */
    struct executor_stage dj[] = { STAGE(S, 2), STAGE(0, 6), STAGE(S, 6) };
    struct executor_config j = ramping_vus(4, dj, 3);
    static const struct want_step jcaps[] = { { 0, 4 }, { 1 * S, 6 }, { 32 * S, 0 } };
    assert_steps(caps, executor_vu_caps(&j, 0, 1, caps, NELEM(caps)), jcaps, NELEM(jcaps));

    /* k6's ExecutionPlanExampleOneThird: its segment 0:1/3 in the filled
     * sequence 0,1/3,1 owns the VUs k mod 3 == 1 (the 2/3 segment is served
     * first), which is blaster's segment 1/3. */
    static const struct want_step third_caps[] = { { 0, 1 }, { 1 * S, 2 }, { 42 * S, 1 }, { 50 * S, 0 } };
    s.graceful_stop_ns = 30 * S;
    s.graceful_ramp_down_ns = 30 * S;
    assert_steps(caps, executor_vu_caps(&s, 1, 3, caps, NELEM(caps)), third_caps, NELEM(third_caps));
}

/* k6's TestRampingVUsExecutionTupleTests, with the sequence 0,1/3,2/3,1. */
static void ramping_vus_k6_segments(void **state)
{
    (void)state;
    struct executor_stage st[] = {
        STAGE(2 * S, 6), STAGE(5 * S, 1), STAGE(4 * S, 5), STAGE(4 * S, 1), STAGE(3 * S, 4),
        STAGE(2 * S, 4), STAGE(0, 1), STAGE(3 * S, 1), STAGE(0, 5), STAGE(3 * S, 5),
        STAGE(0, 0), STAGE(2 * S, 2), STAGE(2 * S, 0), STAGE(4 * S, 4),
    };
    struct executor_config s = ramping_vus(4, st, NELEM(st));
    static const struct want_step whole[] = {
        { 0, 4 }, { 1 * S, 5 }, { 2 * S, 6 }, { 3 * S, 5 }, { 4 * S, 4 }, { 5 * S, 3 },
        { 6 * S, 2 }, { 7 * S, 1 }, { 8 * S, 2 }, { 9 * S, 3 }, { 10 * S, 4 }, { 11 * S, 5 },
        { 12 * S, 4 }, { 13 * S, 3 }, { 14 * S, 2 }, { 15 * S, 1 }, { 16 * S, 2 }, { 17 * S, 3 },
        { 18 * S, 4 }, { 20 * S, 1 }, { 23 * S, 5 }, { 26 * S, 0 }, { 27 * S, 1 }, { 28 * S, 2 },
        { 29 * S, 1 }, { 30 * S, 0 }, { 31 * S, 1 }, { 32 * S, 2 }, { 33 * S, 3 }, { 34 * S, 4 },
        { 34 * S, 0 },
    };
    static const struct want_step seg0[] = {
        { 0, 2 }, { 5 * S, 1 }, { 10 * S, 2 }, { 13 * S, 1 }, { 18 * S, 2 }, { 20 * S, 1 },
        { 23 * S, 2 }, { 26 * S, 0 }, { 27 * S, 1 }, { 30 * S, 0 }, { 31 * S, 1 }, { 34 * S, 2 },
        { 34 * S, 0 },
    };
    static const struct want_step seg1[] = {
        { 0, 1 }, { 1 * S, 2 }, { 4 * S, 1 }, { 7 * S, 0 }, { 8 * S, 1 }, { 11 * S, 2 },
        { 12 * S, 1 }, { 15 * S, 0 }, { 16 * S, 1 }, { 20 * S, 0 }, { 23 * S, 2 }, { 26 * S, 0 },
        { 28 * S, 1 }, { 29 * S, 0 }, { 32 * S, 1 }, { 34 * S, 0 },
    };
    static const struct want_step seg2[] = {
        { 0, 1 }, { 2 * S, 2 }, { 3 * S, 1 }, { 6 * S, 0 }, { 9 * S, 1 }, { 14 * S, 0 },
        { 17 * S, 1 }, { 20 * S, 0 }, { 23 * S, 1 }, { 26 * S, 0 }, { 33 * S, 1 }, { 34 * S, 0 },
    };
    assert_steps(list, changes(&s, 0, 1), whole, NELEM(whole));
    assert_steps(list, changes(&s, 0, 3), seg0, NELEM(seg0));
    assert_steps(list, changes(&s, 1, 3), seg1, NELEM(seg1));
    assert_steps(list, changes(&s, 2, 3), seg2, NELEM(seg2));

    /* k6 corner cases "up down up down in half / in the other half / with nothing". */
    struct executor_stage ud[] = { STAGE(2 * S, 2), STAGE(2 * S, 0), STAGE(2 * S, 2), STAGE(2 * S, 0) };
    s = ramping_vus(0, ud, 4);
    static const struct want_step half0[] = { { 0, 0 }, { 1 * S, 1 }, { 4 * S, 0 }, { 5 * S, 1 }, { 8 * S, 0 } };
    static const struct want_step half1[] = { { 0, 0 }, { 2 * S, 1 }, { 3 * S, 0 }, { 6 * S, 1 }, { 7 * S, 0 } };
    static const struct want_step nothing[] = { { 0, 0 } };
    assert_steps(list, changes(&s, 0, 2), half0, NELEM(half0));
    assert_steps(list, changes(&s, 1, 2), half1, NELEM(half1));
    assert_steps(list, changes(&s, 2, 3), nothing, NELEM(nothing));
}

/* Every change list: starts at 0, times never go back, consecutive values
 * differ, and each value is executor_vus_at's (segmented) from its time to
 * the next change; the segments add up to the whole at every change. */
static void ramping_vus_lists_match_vus_at(void **state)
{
    (void)state;
    struct executor_stage a[] = { STAGE(30 * S, 1000), STAGE(300 * S, 1000) };
    struct executor_stage b[] = { STAGE(7 * S, 13), STAGE(0, 2), STAGE(11 * S, 40), STAGE(3 * S, 0),
                         STAGE(5 * S, 9), STAGE(1 * S, 9), STAGE(13 * S, 1) };
    struct executor_stage c[] = { STAGE(1 * S, 3000), STAGE(777 * MS, 17), STAGE(0, 0), STAGE(5 * S, 7) };
    struct executor_config cases[] = { ramping_vus(1, a, NELEM(a)), ramping_vus(0, b, NELEM(b)),
                                ramping_vus(5, c, NELEM(c)) };
    static struct vu_change seg[5][8192];
    size_t nseg[5];

    for (size_t k = 0; k < NELEM(cases); k++) {
        const struct executor_config *s = &cases[k];
        for (uint32_t n = 1; n <= 5; n++) {
            for (uint32_t i = 0; i < n; i++) {
                nseg[i] = executor_vu_changes(s, i, n, seg[i], 8192);
                assert_true(nseg[i] > 0 && nseg[i] <= 8192);
                const struct vu_change *l = seg[i];
                assert_int_equal(l[0].t_ns, 0);
                assert_int_equal(l[nseg[i] - 1].vus, 0);
                for (size_t j = 0; j < nseg[i]; j++) {
                    if (j > 0) {
                        assert_true(l[j].t_ns >= l[j - 1].t_ns);
                        assert_true(l[j].vus != l[j - 1].vus);
                    }
                    if (j + 1 < nseg[i] && l[j + 1].t_ns == l[j].t_ns)
                        continue;   /* overridden at the same instant */
                    uint32_t want = executor_segment_vus(executor_vus_at(s, l[j].t_ns), i, n);
                    assert_int_equal(l[j].vus, want);
                    if (j + 1 < nseg[i]) {
                        int64_t before = l[j + 1].t_ns - 1;
                        assert_int_equal(executor_segment_vus(executor_vus_at(s, before), i, n), l[j].vus);
                    }
                }
            }
            /* The caps never go below the targets (checked at every point of
             * either list), and end at 0 by duration + graceful_stop (earlier
             * when the segment's target reached 0 for good). */
            static struct vu_change cap_l[8192];
            for (uint32_t i = 0; i < n; i++) {
                size_t nc = executor_vu_caps(s, i, n, cap_l, NELEM(cap_l));
                assert_true(nc <= NELEM(cap_l));
                assert_true(cap_l[nc - 1].t_ns <= executor_duration(s) + s->graceful_stop_ns);
                assert_int_equal(cap_l[nc - 1].vus, 0);
                for (size_t j = 0; j < nseg[i]; j++)
                    assert_true(value_at(cap_l, nc, seg[i][j].t_ns) >= seg[i][j].vus ||
                                (j + 1 < nseg[i] && seg[i][j + 1].t_ns == seg[i][j].t_ns));
                for (size_t j = 0; j + 1 < nc; j++)
                    assert_true(cap_l[j].vus >= value_at(seg[i], nseg[i], cap_l[j].t_ns));
            }
            /* Sum over segments == whole, at each change of any segment. */
            for (uint32_t i = 0; i < n; i++)
                for (size_t j = 0; j < nseg[i]; j++) {
                    int64_t t = seg[i][j].t_ns;
                    uint32_t sum = 0;
                    for (uint32_t q = 0; q < n; q++)
                        sum += value_at(seg[q], nseg[q], t);
                    assert_int_equal(sum, executor_vus_at(s, t));
                }
        }
    }
}

static void other_vu_executors(void **state)
{
    (void)state;
    struct executor_config c = { .executor = EXEC_CONSTANT_VUS, .vus = 7, .duration_ns = 60 * S,
                          .graceful_stop_ns = 10 * S };
    static const struct want_step want[] = { { 0, 7 }, { 60 * S, 0 } };
    assert_steps(list, changes(&c, 0, 1), want, NELEM(want));
    static const struct want_step want2[] = { { 0, 2 }, { 60 * S, 0 } };   /* 7 = 3 + 2 + 2 */
    assert_steps(list, changes(&c, 2, 3), want2, NELEM(want2));
    assert_int_equal(executor_vus_at(&c, 59 * S), 7);
    assert_int_equal(executor_vus_at(&c, 60 * S), 0);
    struct vu_change caps[4];
    static const struct want_step wcaps[] = { { 0, 7 }, { 70 * S, 0 } };
    assert_steps(caps, executor_vu_caps(&c, 0, 1, caps, 4), wcaps, NELEM(wcaps));

    struct executor_config p = { .executor = EXEC_PER_VU_ITERATIONS, .vus = 4, .iterations = 3,
                          .max_duration_ns = 600 * S };
    static const struct want_step wantp[] = { { 0, 4 }, { 600 * S, 0 } };
    assert_steps(list, changes(&p, 0, 1), wantp, NELEM(wantp));
    assert_int_equal(executor_max_vus(&p, 0, 1), 4);

    /* Arrival-rate: no VU target, the pool is max_vus. */
    struct executor_config a = constant_rate(10, S, 5 * S);
    assert_int_equal(executor_vu_changes(&a, 0, 1, list, NELEM(list)), 0);
    assert_int_equal(executor_vus_at(&a, S), 0);
    assert_int_equal(executor_max_vus(&a, 0, 1), 20);
    assert_int_equal(executor_max_vus(&a, 0, 3) + executor_max_vus(&a, 1, 3) + executor_max_vus(&a, 2, 3), 20);
}

static void segment_vus_add_up_and_nest(void **state)
{
    (void)state;
    for (uint64_t v = 0; v <= 200; v++)
        for (uint32_t n = 1; n <= 7; n++) {
            uint64_t sum = 0;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t c = executor_segment_vus(v, i, n);
                assert_true(c == v / n || c == v / n + 1);
                sum += c;
                /* worker w of W inside segment i of n == segment i + n*w of n*W */
                for (uint32_t W = 1; W <= 3; W++)
                    for (uint32_t w = 0; w < W; w++)
                        assert_int_equal(executor_segment_vus(c, w, W),
                                         executor_segment_vus(v, i + n * w, n * W));
            }
            assert_int_equal(sum, v);
        }
    /* Out of range segments get nothing. */
    assert_int_equal(executor_segment_vus(10, 3, 3), 0);
    assert_int_equal(executor_segment_vus(10, 0, 0), 0);
}

/* ---- arrival rates ----------------------------------------------------- */

static size_t all_arrivals(struct arrivals *a, int64_t *out, size_t cap)
{
    size_t n = 0;
    int64_t t;
    while ((t = arrivals_next(a)) >= 0) {
        if (n < cap)
            out[n] = t;
        n++;
    }
    assert_int_equal(arrivals_next(a), -1);    /* and it stays over */
    return n;
}

static int64_t times[200000];

static void constant_arrival_rate(void **state)
{
    (void)state;
    static const struct {
        double rate; int64_t tu, dur; size_t count; int64_t gap_num, gap_den;
    } cases[] = {
        { 10, S, 5 * S, 50, 100 * MS, 1 },             /* 0, 100 ms, ..., 4.9 s */
        { 120, 60 * S, 10 * S, 20, 500 * MS, 1 },      /* time_unit 1m */
        { 1, 3 * S, 10 * S, 4, 3 * S, 1 },             /* 1 per 3 s: 0, 3, 6, 9 */
        { 3, S, S, 3, S, 3 },                          /* k6 would squeeze a 4th at 999999999 ns */
        { 7, S, 2 * S, 14, S, 7 },
        { 0.5, S, 10 * S, 5, 2 * S, 1 },
        { 1000, S, 1, 1, S, 1000 },                    /* a 1 ns run: just the one at 0 */
    };
    for (size_t k = 0; k < NELEM(cases); k++) {
        struct executor_config s = constant_rate(cases[k].rate, cases[k].tu, cases[k].dur);
        struct arrivals a;
        arrivals_init(&a, &s);
        size_t n = all_arrivals(&a, times, NELEM(times));
        assert_int_equal(n, cases[k].count);
        for (size_t j = 0; j < n; j++) {
            int64_t want = (int64_t)((__int128)j * cases[k].gap_num / cases[k].gap_den);
            assert_int_equal(times[j], want);
        }
    }
    /* No drift: 3/s for 10^7 s, the 3*10^7-th is exactly at 10^7 s. */
    struct executor_config s = constant_rate(3, S, 10000001 * S);
    struct arrivals a;
    arrivals_init(&a, &s);
    a.next = 30000000;
    assert_int_equal(arrivals_next(&a), 10000000 * S);
    assert_int_equal(arrivals_next(&a), 10000000 * S + 333333333);
    /* No rate, no arrivals; not an arrival-rate executor, none either. */
    s = constant_rate(0, S, 10 * S);
    arrivals_init(&a, &s);
    assert_int_equal(arrivals_next(&a), -1);
    struct executor_config c = { .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = S };
    arrivals_init(&a, &c);
    assert_int_equal(arrivals_next(&a), -1);
}

static void ramping_arrival_rate_k6_cal(void **state)
{
    (void)state;
    /* k6's TestRampingArrivalRateCal: 0 -> 1/s over 5 s, 1/s for 1 s,
     * 1 -> 0 over 5 s: areas 2.5 + 1 + 2.5 = 6 iterations. */
    struct executor_stage st[] = { STAGE(5 * S, 1), STAGE(1 * S, 1), STAGE(5 * S, 0) };
    struct executor_config s = ramping_rate(0, S, st, 3);
    static const int64_t want[] = { 3162, 4472, 5500, 6527, 7837, 11000 };   /* ms */
    /* exact: sqrt(10), sqrt(20), 5.5, 6 + 5 - sqrt(20), 6 + 5 - sqrt(10), 11 s */
    const double exact[] = { sqrt(10), sqrt(20), 5.5, 11 - sqrt(20), 11 - sqrt(10), 11 };
    struct arrivals a;
    arrivals_init(&a, &s);
    size_t n = all_arrivals(&a, times, NELEM(times));
    assert_int_equal(n, 6);
    for (size_t j = 0; j < n; j++) {
        assert_int_equal(times[j] / MS, want[j]);
        assert_true(llabs(times[j] - llround(exact[j] * S)) <= 1);
    }
    /* Its segments of the sequence 0,1/3,2/3,1: iterations k mod 3. */
    static const int64_t wseg[3][2] = { { 3162, 6527 }, { 4472, 7837 }, { 5500, 11000 } };
    for (uint32_t i = 0; i < 3; i++) {
        arrivals_init_segment(&a, &s, i, 3);
        assert_int_equal(all_arrivals(&a, times, NELEM(times)), 2);
        assert_int_equal(times[0] / MS, wseg[i][0]);
        assert_int_equal(times[1] / MS, wseg[i][1]);
    }
    /* time_unit 1/3 s: three times as fast, 18 iterations, the last at 11 s. */
    s.time_unit_ns = S / 3;
    static const int64_t want3[] = { 1825, 2581, 3162, 3651, 4082, 4472, 4830, 5166, 5500,
                                     5833, 6169, 6527, 6917, 7348, 7837, 8418, 9174, 11000 };
    arrivals_init(&a, &s);
    assert_int_equal(all_arrivals(&a, times, NELEM(times)), NELEM(want3));
    for (size_t j = 0; j < NELEM(want3); j++)
        assert_true(llabs(times[j] - want3[j] * MS) <= MS);
}

static void ramping_arrival_rate_shapes(void **state)
{
    (void)state;
    struct arrivals a;
    size_t n;

    /* 0 -> 100/s over 10 s: 500 iterations, the first at sqrt(2 / 10) s. */
    struct executor_stage up[] = { STAGE(10 * S, 100) };
    struct executor_config s = ramping_rate(0, S, up, 1);
    arrivals_init(&a, &s);
    n = all_arrivals(&a, times, NELEM(times));
    assert_int_equal(n, 500);
    assert_true(llabs(times[0] - llround(sqrt(0.2) * S)) <= 1);
    assert_int_equal(times[499], 10 * S);
    for (size_t j = 0; j < n; j++) {     /* k-th: 5 t^2 = k + 1 */
        assert_true(llabs(times[j] - llround(sqrt((j + 1) / 5.0) * S)) <= 1);
        if (j)
            assert_true(times[j] > times[j - 1]);
    }

    /* k6's own config: start 10/s, 10/s for 1 s, up to 50/s over 1 s, 50/s
     * for 1 s: 10 + 30 + 50; the constant stages are evenly spaced. */
    struct executor_stage k6cfg[] = { STAGE(S, 10), STAGE(S, 50), STAGE(S, 50) };
    s = ramping_rate(10, S, k6cfg, 3);
    arrivals_init(&a, &s);
    n = all_arrivals(&a, times, NELEM(times));
    assert_int_equal(n, 90);
    for (size_t j = 0; j < 10; j++)
        assert_int_equal(times[j], (int64_t)(j + 1) * 100 * MS);
    for (size_t j = 40; j < 90; j++)
        assert_int_equal(times[j], 2 * S + (int64_t)(j - 39) * 20 * MS);
    for (size_t j = 10; j < 40; j++)
        assert_true(times[j] > S && times[j] <= 2 * S);

    /* Zero-rate stages start nothing; a 0-duration stage only sets the rate. */
    struct executor_stage z[] = { STAGE(2 * S, 0), STAGE(0, 10), STAGE(S, 10), STAGE(S, 0), STAGE(2 * S, 0) };
    s = ramping_rate(0, S, z, NELEM(z));
    arrivals_init(&a, &s);
    n = all_arrivals(&a, times, NELEM(times));
    assert_int_equal(n, 15);
    assert_int_equal(times[0], 2 * S + 100 * MS);
    assert_int_equal(times[9], 3 * S);
    assert_int_equal(times[14], 4 * S);
    struct executor_stage none[] = { STAGE(5 * S, 0) };
    s = ramping_rate(0, S, none, 1);
    arrivals_init(&a, &s);
    assert_int_equal(arrivals_next(&a), -1);

    /* Where k6's float64 sum loses the last one: 0 -> 66/s over 15 s is 495. */
    struct executor_stage k6lost[] = { STAGE(15 * S, 66) };
    s = ramping_rate(0, S, k6lost, 1);
    arrivals_init(&a, &s);
    assert_int_equal(all_arrivals(&a, times, NELEM(times)), 495);
    assert_int_equal(times[494], 15 * S);

    /* A fractional total: floor. 0 -> 3/s over 1 s = 1.5 -> 1. */
    struct executor_stage frac[] = { STAGE(S, 3) };
    s = ramping_rate(0, S, frac, 1);
    arrivals_init(&a, &s);
    assert_int_equal(all_arrivals(&a, times, NELEM(times)), 1);
    /* ... and the half carries over into the next stage (k6's "cal"). */
    struct executor_stage carry[] = { STAGE(S, 3), STAGE(S, 3) };
    s = ramping_rate(0, S, carry, 2);
    arrivals_init(&a, &s);
    assert_int_equal(all_arrivals(&a, times, NELEM(times)), 4);   /* 1.5 + 3 */
    assert_int_equal(times[1], 1166666667);      /* area 2 = 1.5 + 3 x: 1.1666666666.. s, nearest ns */

    /* Rates that are not whole: 0.7/s for 10 s is 7, though 0.7 * 2 * 10^10
     * is just below 1.4 * 10^10 in floating point. */
    struct executor_stage seven[] = { STAGE(10 * S, 0.7) };
    s = ramping_rate(0.7, S, seven, 1);
    arrivals_init(&a, &s);
    assert_int_equal(all_arrivals(&a, times, NELEM(times)), 7);
    assert_true(llabs(times[6] - 10 * S) <= 1);
}

/* 10M iterations: the last time is the closed form's within 1 us. */
static void ramping_arrival_rate_does_not_drift(void **state)
{
    (void)state;
    static const struct { double r0, r1; int64_t dur; int64_t want_last; } cases[] = {
        { 100000, 100000, 100 * S, 100 * S },    /* constant 100k/s */
        { 0, 200000, 100 * S, 100 * S },         /* ramp from 0: 1000 t^2 */
        { 1000, 3000, 5000 * S, 5000 * S },      /* ramp from 1000/s */
        { 3000, 1000, 5000 * S, 5000 * S },      /* ramp down */
    };
    for (size_t k = 0; k < NELEM(cases); k++) {
        struct executor_stage st[] = { STAGE(cases[k].dur, cases[k].r1) };
        struct executor_config s = ramping_rate(cases[k].r0, S, st, 1);
        struct arrivals a;
        arrivals_init(&a, &s);
        uint64_t n = 0;
        int64_t t, last = -1, prev = -1;
        while ((t = arrivals_next(&a)) >= 0) {
            assert_true(t >= prev);
            prev = last = t;
            n++;
            /* spot checks against the closed form in double */
            if (n == 1234567) {
                double r0 = cases[k].r0, r1 = cases[k].r1, d = (double)cases[k].dur / S;
                double x = r0 == r1 ? n / r0
                         : (-r0 + sqrt(r0 * r0 + 2.0 * n * (r1 - r0) / d)) / ((r1 - r0) / d);
                assert_true(llabs(t - llround(x * S)) <= 1000);
            }
        }
        assert_int_equal(n, 10000000);
        assert_true(llabs(last - cases[k].want_last) <= 1000);
    }
}

/* The segments of a schedule are the whole schedule, each iteration once,
 * at the same time. */
static void arrival_segments_partition_the_schedule(void **state)
{
    (void)state;
    struct executor_stage cal[] = { STAGE(5 * S, 1), STAGE(1 * S, 1), STAGE(5 * S, 0) };
    struct executor_stage up[] = { STAGE(10 * S, 100), STAGE(0, 7), STAGE(3 * S, 7), STAGE(4 * S, 0) };
    struct executor_config cases[] = {
        constant_rate(10, S, 5 * S), constant_rate(7, S, 3 * S), constant_rate(1, 3 * S, 10 * S),
        ramping_rate(0, S, cal, 3), ramping_rate(0, S, up, 4), ramping_rate(0, S / 3, cal, 3),
    };
    static int64_t whole[4096];
    static int seen[4096];
    for (size_t k = 0; k < NELEM(cases); k++) {
        struct arrivals a;
        arrivals_init(&a, &cases[k]);
        size_t total = all_arrivals(&a, whole, NELEM(whole));
        assert_true(total > 0 && total < NELEM(whole));
        for (uint32_t n = 1; n <= 5; n++) {
            memset(seen, 0, sizeof seen);
            for (uint32_t i = 0; i < n; i++) {
                arrivals_init_segment(&a, &cases[k], i, n);
                int64_t t, prev = -1;
                while ((t = arrivals_next(&a)) >= 0) {
                    uint64_t g = a.next - a.stride;     /* the global number */
                    assert_true(g < total);
                    assert_int_equal(g % n, i);
                    assert_int_equal(t, whole[g]);
                    assert_true(t >= prev);
                    prev = t;
                    seen[g]++;
                }
            }
            for (size_t g = 0; g < total; g++)
                assert_int_equal(seen[g], 1);
        }
    }
}

/* ---- iteration executors ----------------------------------------------- */

/* Skip to t one by one: what arrivals_skip must match. */
static uint64_t take_until(struct arrivals *a, int64_t t)
{
    uint64_t n = 0;
    for (;;) {
        struct arrivals c = *a;
        int64_t x = arrivals_next(&c);
        if (x < 0 || x > t)
            return n;
        *a = c;
        n++;
    }
}

static void arrivals_skip_matches_taking_one_by_one(void **state)
{
    (void)state;
    struct executor_stage st[] = { STAGE(5 * S, 1000), STAGE(2 * S, 1000), STAGE(0, 7), STAGE(3 * S, 0),
                                   STAGE(4 * S, 333) };
    struct executor_config cases[] = {
        constant_rate(3, S, 10 * S), constant_rate(1000, S, 10 * S), constant_rate(120, 60 * S, 10 * S),
        ramping_rate(0, S, st, 5), ramping_rate(50, S / 3, st, 5),
    };
    static const int64_t ts[] = { 0, 1, S / 3, 2 * S + 1, 5 * S, 7 * S, 7 * S + 123456789, 10 * S - 1,
                                  13 * S, 14 * S, 100 * S };
    for (size_t k = 0; k < NELEM(cases); k++)
        for (uint32_t n = 1; n <= 3; n++)
            for (uint32_t i = 0; i < n; i++) {
                struct arrivals a, b;
                arrivals_init_segment(&a, &cases[k], i, n);
                arrivals_next(&a);  /* from the middle of a schedule */
                b = a;
                for (size_t j = 0; j < NELEM(ts); j++) {
                    uint64_t want = take_until(&a, ts[j]), got = arrivals_skip(&b, ts[j]);
                    if (got != want)
                        fail_msg("case %zu seg %u/%u t %lld: skip %llu, want %llu", k, i, n, (long long)ts[j],
                                 (unsigned long long)got, (unsigned long long)want);
                    struct arrivals ca = a, cb = b;
                    assert_int_equal(arrivals_next(&cb), arrivals_next(&ca));
                }
            }
}

/* The rates of the hang: 0 -> 1e12/s over 1 s, and 1e15/s constant, are
 * skipped in one step each, with the counts of the whole schedule. */
static void arrivals_skip_is_o1_at_absurd_rates(void **state)
{
    (void)state;
    struct executor_stage st[] = { STAGE(S, 1e12) };
    struct executor_config r = ramping_rate(0, S, st, 1);
    struct arrivals a;
    arrivals_init(&a, &r);
    assert_int_equal(a.total, 500000000000ULL);
    uint64_t half = arrivals_skip(&a, S / 2 - 1);
    assert_true(half >= 124999000000ULL && half <= 125000000000ULL);
    int64_t t = arrivals_next(&a);
    assert_true(t >= S / 2 - 1 && t <= S / 2);
    assert_int_equal(1 + half + arrivals_skip(&a, S), 500000000000ULL);
    assert_int_equal(arrivals_next(&a), -1);

    struct executor_config c = constant_rate(1e15, S, 3600 * S);
    arrivals_init_segment(&a, &c, 1, 2);
    assert_int_equal(arrivals_skip(&a, S - 1), 500000000000000ULL);
    assert_int_equal(arrivals_next(&a), S);
}

static void per_vu_iterations(void **state)
{
    (void)state;
    struct executor_config s = { .executor = EXEC_PER_VU_ITERATIONS, .vus = 10, .iterations = 3,
                          .max_duration_ns = 600 * S };
    assert_int_equal(executor_per_vu_iterations(&s), 3);
    assert_true(executor_per_vu_may_start(&s, 0));
    assert_true(executor_per_vu_may_start(&s, 2));
    assert_false(executor_per_vu_may_start(&s, 3));
    /* Segments scale the VUs only: 10 VUs in thirds = 4 + 3 + 3, 3 each. */
    assert_int_equal(executor_max_vus(&s, 0, 3), 4);
    assert_int_equal(executor_max_vus(&s, 1, 3), 3);
    assert_int_equal(executor_max_vus(&s, 2, 3), 3);
}

static void shared_iterations(void **state)
{
    (void)state;
    struct executor_config s = { .executor = EXEC_SHARED_ITERATIONS, .vus = 10, .iterations = 100,
                          .max_duration_ns = 600 * S };
    struct shared_pool p;
    executor_shared_init(&p, &s, 0, 1);
    uint64_t taken = 0;
    while (executor_shared_take(&p))
        taken++;
    assert_int_equal(taken, 100);
    assert_false(executor_shared_take(&p));
    assert_int_equal(executor_shared_dropped(&p), 0);
    executor_shared_init(&p, &s, 0, 1);
    for (int k = 0; k < 30; k++)
        assert_true(executor_shared_take(&p));
    assert_int_equal(executor_shared_dropped(&p), 70);

    /* k6 stripes shared iterations by the segments' VUs (computed by hand
     * from k6's striping algorithm): */
    static const struct { uint32_t vus; uint64_t iters; uint32_t n; uint64_t want[5]; } cases[] = {
        { 10, 100, 2, { 50, 50 } },
        { 10, 100, 3, { 40, 30, 30 } },      /* VUs 4, 3, 3 */
        { 10, 7, 3, { 3, 2, 2 } },           /* positions 0,3,5 / 1,4 / 2,6 */
        { 2, 5, 3, { 3, 2, 0 } },            /* VUs 1, 1, 0: none for the empty one */
        { 6, 7, 3, { 3, 2, 2 } },            /* equal shares: k mod 3 */
        { 5, 5, 5, { 1, 1, 1, 1, 1 } },
    };
    for (size_t k = 0; k < NELEM(cases); k++) {
        s.vus = cases[k].vus;
        s.iterations = cases[k].iters;
        for (uint32_t i = 0; i < cases[k].n; i++)
            assert_int_equal(executor_shared_iterations(&s, i, cases[k].n), cases[k].want[i]);
    }
    /* Always: the segments add up, and no VUs means no iterations. */
    for (uint32_t vus = 1; vus <= 13; vus++)
        for (uint64_t it = vus; it <= 41; it++)
            for (uint32_t n = 1; n <= 5; n++) {
                s.vus = vus;
                s.iterations = it;
                uint64_t sum = 0;
                for (uint32_t i = 0; i < n; i++) {
                    uint64_t c = executor_shared_iterations(&s, i, n);
                    if (executor_segment_vus(vus, i, n) == 0)
                        assert_int_equal(c, 0);
                    sum += c;
                }
                assert_int_equal(sum, it);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_and_ends),
        cmocka_unit_test(ramping_vus_browse_example),
        cmocka_unit_test(ramping_vus_down_and_jumps),
        cmocka_unit_test(ramping_vus_k6_plan_and_caps),
        cmocka_unit_test(ramping_vus_k6_segments),
        cmocka_unit_test(ramping_vus_lists_match_vus_at),
        cmocka_unit_test(other_vu_executors),
        cmocka_unit_test(segment_vus_add_up_and_nest),
        cmocka_unit_test(constant_arrival_rate),
        cmocka_unit_test(ramping_arrival_rate_k6_cal),
        cmocka_unit_test(ramping_arrival_rate_shapes),
        cmocka_unit_test(ramping_arrival_rate_does_not_drift),
        cmocka_unit_test(arrival_segments_partition_the_schedule),
        cmocka_unit_test(arrivals_skip_matches_taking_one_by_one),
        cmocka_unit_test(arrivals_skip_is_o1_at_absurd_rates),
        cmocka_unit_test(per_vu_iterations),
        cmocka_unit_test(shared_iterations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
