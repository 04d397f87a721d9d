/* executor — see executor.h. */
#include "blaster/compile/executor.h"

#include <math.h>

#define NS_PER_S 1000000000LL

/* ---- helpers ----------------------------------------------------------- */

static int64_t stages_sum(const struct executor_config *s)
{
    int64_t sum = 0;
    for (int k = 0; k < s->nstages; k++)
        if (s->stages[k].duration_ns > 0)
            sum += s->stages[k].duration_ns;
    return sum;
}

/* A VU target as written (k6 takes integers; round, never negative). */
static int64_t vu_target(double v)
{
    if (!(v > 0))
        return 0;
    return (int64_t)llround(v);
}

static int64_t time_unit(const struct executor_config *s)
{
    return s->time_unit_ns > 0 ? s->time_unit_ns : NS_PER_S;
}

static bool seg_ok(uint32_t i, uint32_t n)
{
    return n >= 1 && n <= EXECUTOR_MAX_SEGMENTS && i < n;
}

static bool is_arrival(const struct executor_config *s)
{
    return s->executor == EXEC_CONSTANT_ARRIVAL_RATE || s->executor == EXEC_RAMPING_ARRIVAL_RATE;
}

/* ---- durations --------------------------------------------------------- */

const char *executor_kind_name(enum executor_kind k)
{
    static const char *const names[] = {
        [EXEC_CONSTANT_VUS] = "constant-vus", [EXEC_RAMPING_VUS] = "ramping-vus",
        [EXEC_CONSTANT_ARRIVAL_RATE] = "constant-arrival-rate", [EXEC_RAMPING_ARRIVAL_RATE] = "ramping-arrival-rate",
        [EXEC_PER_VU_ITERATIONS] = "per-vu-iterations", [EXEC_SHARED_ITERATIONS] = "shared-iterations",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : NULL;
}

int64_t executor_duration(const struct executor_config *s)
{
    switch (s->executor) {
    case EXEC_CONSTANT_VUS:
    case EXEC_CONSTANT_ARRIVAL_RATE:
        return s->duration_ns > 0 ? s->duration_ns : 0;
    case EXEC_RAMPING_VUS:
    case EXEC_RAMPING_ARRIVAL_RATE:
        return stages_sum(s);
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        return s->max_duration_ns > 0 ? s->max_duration_ns : 0;
    }
    return 0;
}

int64_t executor_end(const struct executor_config *s)
{
    int64_t gs = s->graceful_stop_ns > 0 ? s->graceful_stop_ns : 0;
    int64_t st = s->start_time_ns > 0 ? s->start_time_ns : 0;
    return st + executor_duration(s) + gs;
}

/* ---- VUs --------------------------------------------------------------- */

/* #{k < v : k mod n == i} */
static uint64_t seg_count(uint64_t v, uint32_t i, uint32_t n)
{
    if (!seg_ok(i, n) || v <= i)
        return 0;
    return (v - i - 1) / n + 1;
}

uint32_t executor_segment_vus(uint64_t v, uint32_t i, uint32_t n)
{
    uint64_t c = seg_count(v, i, n);
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

static uint32_t ramping_max(const struct executor_config *s)
{
    int64_t m = s->start_vus;
    for (int k = 0; k < s->nstages; k++)
        if (vu_target(s->stages[k].target) > m)
            m = vu_target(s->stages[k].target);
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

static uint32_t global_max_vus(const struct executor_config *s)
{
    switch (s->executor) {
    case EXEC_CONSTANT_VUS:
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        return s->vus;
    case EXEC_RAMPING_VUS:
        return ramping_max(s);
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE:
        return s->max_vus > s->pre_allocated_vus ? s->max_vus : s->pre_allocated_vus;
    }
    return 0;
}

uint32_t executor_max_vus(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n)
{
    return executor_segment_vus(global_max_vus(s), seg_i, seg_n);
}

uint32_t executor_vus_at(const struct executor_config *s, int64_t t)
{
    if (t < 0 || is_arrival(s) || t >= executor_duration(s))
        return 0;
    if (s->executor != EXEC_RAMPING_VUS)
        return s->vus;

    int64_t from = s->start_vus, t0 = 0;
    for (int k = 0; k < s->nstages; k++) {
        int64_t d = s->stages[k].duration_ns > 0 ? s->stages[k].duration_ns : 0;
        int64_t to = vu_target(s->stages[k].target);
        if (t < t0 + d) {
            __int128 x = t - t0;
            if (to > from)
                return (uint32_t)(from + (int64_t)(x * (to - from) / d));
            return (uint32_t)(from - (int64_t)(x * (from - to) / d));
        }
        t0 += d;
        from = to;
    }
    return 0;   /* unreachable: t < duration */
}

/* The change list being built: dedups equal consecutive values, counts
 * what does not fit. */
struct steps {
    struct vu_change *out;
    size_t cap, n;
    uint32_t last;
};

static void step_add(struct steps *st, int64_t t, uint32_t vus)
{
    if (st->n > 0 && st->last == vus)
        return;
    if (st->n < st->cap)
        st->out[st->n] = (struct vu_change){ .t_ns = t, .vus = vus };
    st->n++;
    st->last = vus;
}

/* k6's raw execution steps of ramping-vus for segment i of n. Each global
 * VU number v reached on a ramp gets its own time (a VU is added when the
 * line reaches v, removed when it reaches v - 1); the segment's value is its
 * share of the global one, so the segments' steps sum to the global ones at
 * every instant. */
static void ramping_steps(const struct executor_config *s, uint32_t i, uint32_t n, bool zero_end,
                          struct steps *st)
{
    int64_t from = s->start_vus, tend = 0;
    step_add(st, 0, executor_segment_vus(from, i, n));
    for (int k = 0; k < s->nstages; k++) {
        int64_t d = s->stages[k].duration_ns > 0 ? s->stages[k].duration_ns : 0;
        int64_t to = vu_target(s->stages[k].target);
        tend += d;
        if (to == from)
            continue;
        if (d == 0) {
            step_add(st, tend, executor_segment_vus(to, i, n));
        } else if (to > from) {
            for (int64_t v = from + 1; v <= to; v++)
                step_add(st, tend - (int64_t)((__int128)d * (to - v) / (to - from)),
                         executor_segment_vus(v, i, n));
        } else {
            for (int64_t w = from - 1; w >= to; w--)
                step_add(st, tend - (int64_t)((__int128)d * (w - to) / (from - to)),
                         executor_segment_vus(w, i, n));
        }
        from = to;
    }
    if (zero_end)
        step_add(st, tend, 0);
}

/* The whole change list of segment i of n into st (counting what does not
 * fit); with_end: k6's zeroEnd. */
static void vu_steps(const struct executor_config *s, uint32_t i, uint32_t n, bool with_end,
                     struct steps *st)
{
    if (!seg_ok(i, n) || is_arrival(s))
        return;
    if (s->executor == EXEC_RAMPING_VUS) {
        ramping_steps(s, i, n, with_end, st);
    } else {
        step_add(st, 0, executor_segment_vus(s->vus, i, n));
        if (with_end)
            step_add(st, executor_duration(s), 0);
    }
}

size_t executor_vu_changes(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n,
                           struct vu_change *out, size_t cap)
{
    struct steps st = { .out = out, .cap = out ? cap : 0 };
    vu_steps(s, seg_i, seg_n, true, &st);
    return st.n;
}

/* k6's graceful ramp-down reservation, in place over the raw steps (without
 * the end at 0). A decrease to v at T becomes a decrease at T + grd, unless
 * the raw steps climb back to the current level within that window (then
 * nothing decreases and the walk resumes there). Writes never overtake
 * reads: entry w is written only after raw entry w was consumed, and the
 * look-ahead reads entries at or after the current one. */
static size_t reserve_ramp_down(struct vu_change *st, size_t n, int64_t end, int64_t grd)
{
    size_t w = 0, slope = 0;    /* slope: furthest step of a known descent */
    uint32_t level = 0;

    for (size_t r = 0; r < n; r++) {
        struct vu_change cur = st[r];
        if (r == 0 || cur.vus > level) {
            st[w++] = cur;
            level = cur.vus;
            continue;
        }
        if (cur.vus == level)
            continue;

        int64_t until = cur.t_ns + grd;
        bool back_up = false, descending = true;
        size_t a = slope > r + 1 ? slope : r + 1;
        for (; a < n; a++) {
            if (st[a].t_ns > until)
                break;
            if (st[a].vus >= level) {
                back_up = true;
                break;
            }
            if (descending) {
                if (st[a - 1].vus > st[a].vus)
                    slope = a;
                else
                    descending = false;
            }
        }
        if (back_up) {
            r = a - 1;
            continue;
        }
        if (until >= end)
            break;
        st[w++] = (struct vu_change){ .t_ns = until, .vus = cur.vus };
        level = cur.vus;
    }
    return w;
}

size_t executor_vu_caps(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n,
                        struct vu_change *buf, size_t cap)
{
    int64_t end = executor_duration(s) + (s->graceful_stop_ns > 0 ? s->graceful_stop_ns : 0);
    struct steps st = { .out = buf, .cap = buf ? cap : 0 };
    if (!seg_ok(seg_i, seg_n)) {
        return 0;
    } else if (s->executor != EXEC_RAMPING_VUS) {
        step_add(&st, 0, executor_segment_vus(global_max_vus(s), seg_i, seg_n));
        step_add(&st, end, 0);
        return st.n;
    }

    ramping_steps(s, seg_i, seg_n, false, &st);
    if (st.n + 1 > st.cap)
        return st.n + 1;
    size_t n = st.n;
    if (s->graceful_ramp_down_ns > 0)
        n = reserve_ramp_down(buf, n, end, s->graceful_ramp_down_ns);
    if (n == 0 || buf[n - 1].vus != 0)
        buf[n++] = (struct vu_change){ .t_ns = end, .vus = 0 };
    return n;
}

/* ---- arrival-rate executors -------------------------------------------- */

/* An iteration count, saturated (absurd rates must not overflow the conversion). */
static uint64_t count_of(long double x)
{
    return x < 0x1.0p63L ? (uint64_t)x : (uint64_t)1 << 63;
}

static void ramp_stage_enter(struct arrivals *a, int k)
{
    const struct executor_stage *sg = &a->stages[k];
    a->stage = k;
    a->d = sg->duration_ns > 0 ? sg->duration_ns : 0;
    a->r1 = sg->target > 0 ? sg->target : 0;
    a->a0 = a->a1;
    a->cum2 += (long double)a->d * (a->r0 + a->r1);
    a->a1 = a->cum2 / (2 * a->tu);
}

static void ramp_stage_leave(struct arrivals *a)
{
    a->t0 += a->d;
    a->r0 = a->r1;
}

void arrivals_init_segment(struct arrivals *a, const struct executor_config *s, uint32_t i, uint32_t n)
{
    *a = (struct arrivals){ .kind = 0, .stride = 1, .total = 0 };
    if (!seg_ok(i, n))
        return;
    a->next = i;
    a->stride = n;

    if (s->executor == EXEC_CONSTANT_ARRIVAL_RATE) {
        if (!(s->rate > 0) || s->duration_ns <= 0)
            return;
        a->kind = 1;
        a->tu = time_unit(s);
        a->r0 = s->rate;
        a->duration = s->duration_ns;
        a->total = count_of(ceill((long double)s->duration_ns * s->rate / time_unit(s)));
        return;
    }
    if (s->executor != EXEC_RAMPING_ARRIVAL_RATE || s->nstages <= 0)
        return;

    a->kind = 2;
    a->stages = s->stages;
    a->nstages = s->nstages;
    a->tu = time_unit(s);
    /* With integral rates every area is a multiple of 1 / (2 tu): a quarter
     * of that absorbs rounding without ever rounding a real fraction up. */
    a->tol = 1.0L / (8 * a->tu);
    a->r0 = s->start_rate > 0 ? s->start_rate : 0;

    /* The total, from the same sums the stages use. */
    long double cum2 = 0, r0 = a->r0;
    for (int k = 0; k < s->nstages; k++) {
        long double r1 = s->stages[k].target > 0 ? s->stages[k].target : 0;
        int64_t d = s->stages[k].duration_ns > 0 ? s->stages[k].duration_ns : 0;
        cum2 += (long double)d * (r0 + r1);
        r0 = r1;
    }
    a->total = count_of(floorl(cum2 / (2 * a->tu) + a->tol));

    a->cum2 = 0;
    a->a1 = 0;
    a->t0 = 0;
    ramp_stage_enter(a, 0);
}

void arrivals_init(struct arrivals *a, const struct executor_config *s)
{
    arrivals_init_segment(a, s, 0, 1);
}

int64_t arrivals_next(struct arrivals *a)
{
    if (a->kind == 0 || a->next >= a->total)
        return -1;
    uint64_t k = a->next;

    if (a->kind == 1) {
        /* k * tu is exact (below 2^64), so one rounding: exact when whole. */
        int64_t t = (int64_t)floorl((long double)k * a->tu / a->r0);
        if (t >= a->duration) {
            a->next = a->total;
            return -1;
        }
        a->next += a->stride;
        return t;
    }

    /* Ramping: iteration k is due when the area reaches k + 1. */
    long double due = (long double)k + 1;
    while (due > a->a1 + a->tol) {
        if (a->stage + 1 >= a->nstages) {
            a->next = a->total;
            return -1;
        }
        ramp_stage_leave(a);
        ramp_stage_enter(a, a->stage + 1);
    }
    long double area = (due - a->a0) * a->tu;   /* in rate-per-time_unit * ns */
    long double x;
    if (area <= 0) {
        x = 0;
    } else if (a->r0 == a->r1) {
        x = a->r1 > 0 ? area / a->r1 : 0;
    } else {
        /* r0 x + (r1 - r0) x^2 / (2 d) = area, the root in [0, d], in the
         * form without cancellation (r0 = 0 included). */
        long double disc = a->r0 * a->r0 + 2 * area * (a->r1 - a->r0) / a->d;
        if (disc < 0)
            disc = 0;
        long double den = a->r0 + sqrtl(disc);
        x = den > 0 ? 2 * area / den : a->d;
    }
    if (x > a->d)
        x = a->d;
    a->next += a->stride;
    return a->t0 + (int64_t)llroundl(x);
}

/* The area (iterations due) of a ramping schedule by x ns into its current stage. */
static long double ramp_area_at(const struct arrivals *a, int64_t x)
{
    if (a->d <= 0)
        return a->a1;
    if (x > a->d)
        x = a->d;
    long double xl = x > 0 ? (long double)x : 0;
    return a->a0 + (a->r0 * xl + (a->r1 - a->r0) * xl * xl / (2 * (long double)a->d)) / a->tu;
}

/* The global number of iterations due at or before t: k with start <= t. */
static uint64_t due_count(struct arrivals *a, int64_t t)
{
    long double k;
    if (a->kind == 1) {
        /* floor(k tu / r0) <= t  <=>  k < (t + 1) r0 / tu */
        k = ceill(((long double)t + 1) * a->r0 / a->tu);
    } else {
        while (t >= a->t0 + a->d && a->stage + 1 < a->nstages) {
            ramp_stage_leave(a);
            ramp_stage_enter(a, a->stage + 1);
        }
        k = floorl(ramp_area_at(a, t - a->t0) + a->tol);
    }
    return k < (long double)a->total ? (uint64_t)k : a->total;
}

uint64_t arrivals_skip(struct arrivals *a, int64_t t)
{
    if (a->kind == 0 || a->next >= a->total || t < 0)
        return 0;
    /* On a copy: a ramping schedule walks its stages to t, which is only
     * right if something at or before t is skipped. */
    struct arrivals c = *a;
    uint64_t due = due_count(&c, t);
    if (due <= a->next)
        return 0;
    uint64_t n = (due - a->next + a->stride - 1) / a->stride;
    *a = c;
    a->next += n * a->stride;
    if (a->next > a->total)
        a->next = a->total;
    return n;
}

/* ---- iteration executors ----------------------------------------------- */

uint64_t executor_per_vu_iterations(const struct executor_config *s)
{
    return s->iterations;
}

bool executor_per_vu_may_start(const struct executor_config *s, uint64_t started)
{
    return started < s->iterations;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* k6's ScaleInt64 of `value` for segment i in the sequence whose segments
 * have lengths w_j / V, w_j = executor_segment_vus(V, j, n): the striping
 * algorithm hands the positions 0..L-1 of each period (L = V / gcd) one by
 * one to the first segment, largest first, whose next share is due. The w_j
 * do not increase with j, so "largest first" (a stable sort) is j order, and
 * the segments with w_j = 0 (a suffix) are not in the sequence. */
static uint64_t stripe_scale(uint64_t value, uint64_t V, uint32_t i, uint32_t n)
{
    uint64_t w[EXECUTOR_MAX_SEGMENTS], c[EXECUTOR_MAX_SEGMENTS];
    uint32_t m = 0;
    uint64_t g = V;
    for (uint32_t j = 0; j < n; j++) {
        w[j] = seg_count(V, j, n);
        if (w[j] == 0)
            break;
        g = gcd_u64(g, w[j]);
        m++;
    }
    if (i >= m || g == 0)
        return 0;
    uint64_t L = V / g;
    for (uint32_t j = 0; j < m; j++) {
        w[j] /= g;          /* numerators over L */
        c[j] = 0;
    }
    uint64_t r = value % L, mine = 0;
    for (uint64_t p = 0; p < r; p++) {
        for (uint32_t j = 0; j < m; j++) {
            unsigned __int128 num = (unsigned __int128)c[j] * L;
            unsigned __int128 q = num / w[j];
            if (p > q || (p == q && num % w[j] == 0)) {
                c[j]++;
                if (j == i)
                    mine++;
                break;
            }
        }
    }
    return value / L * w[i] + mine;
}

uint64_t executor_shared_iterations(const struct executor_config *s, uint32_t seg_i, uint32_t seg_n)
{
    if (!seg_ok(seg_i, seg_n) || s->vus == 0)
        return 0;
    if (seg_n == 1)
        return s->iterations;
    if (s->vus % seg_n == 0)    /* equal shares: the stripes are k mod n */
        return seg_count(s->iterations, seg_i, seg_n);
    return stripe_scale(s->iterations, s->vus, seg_i, seg_n);
}

void executor_shared_init(struct shared_pool *p, const struct executor_config *s,
                          uint32_t seg_i, uint32_t seg_n)
{
    p->total = executor_shared_iterations(s, seg_i, seg_n);
    p->taken = 0;
}
