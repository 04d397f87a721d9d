/* schedule — see schedule.h. */
#include "blaster/compile/schedule.h"

#include <math.h>

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: the gaps need speed and reproducibility, not crypto. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* t + gap ns, saturated: a rate of one a century must not overflow. */
static int64_t add_saturated(int64_t t, double gap)
{
    if (!(gap < (double)(INT64_MAX - t)))
        return INT64_MAX;
    return t + (int64_t)gap;
}

/* The constant schedule's due time number k. */
static int64_t due_at(const struct schedule *s, uint64_t k)
{
    return add_saturated(s->origin, (double)k * s->interval);
}

/* An exponential gap with the schedule's mean. */
static double gap_poisson(struct schedule *s)
{
    /* Inverse transform: -ln(1-u) is exponential with mean 1. */
    double u = (double)(rng_next(&s->rng) >> 11) * 0x1.0p-53;
    return -log1p(-u) * s->interval;
}

void schedule_init(struct schedule *s, int64_t origin, double rate, bool poisson, uint64_t seed)
{
    s->origin = origin;
    s->interval = 1e9 / rate;
    s->poisson = poisson;
    s->seq = 0;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    s->next = origin;
}

int64_t schedule_take(struct schedule *s)
{
    int64_t t = s->next;
    s->seq++;
    if (s->poisson)
        s->next = add_saturated(s->next, gap_poisson(s));
    else
        s->next = due_at(s, s->seq);
    return t;
}

uint64_t schedule_skip(struct schedule *s, int64_t t)
{
    if (s->next > t)
        return 0;
    if (s->poisson) {
        /* The gaps are memoryless: the first due time after t is t plus a
         * fresh gap, and the ones skipped are as many as expected. */
        uint64_t n = 1 + (uint64_t)((double)(t - s->next) / s->interval);
        s->seq += n;
        s->next = add_saturated(t + 1, gap_poisson(s));
        return n;
    }
    /* The first k due after t, from the arithmetic, then corrected by the
     * formula schedule_take uses (double rounding can be off by one). */
    double k = floor((double)(t - s->origin) / s->interval) + 1;
    if (!(k < 0x1.0p63))
        k = 0x1.0p63;
    uint64_t after = k > (double)s->seq ? (uint64_t)k : s->seq + 1;
    while (due_at(s, after) <= t)
        after++;
    while (after > s->seq + 1 && due_at(s, after - 1) > t)
        after--;
    uint64_t n = after - s->seq;
    s->seq = after;
    s->next = due_at(s, after);
    return n;
}
