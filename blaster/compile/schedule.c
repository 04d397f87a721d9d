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
    if (s->poisson) {
        /* Inverse transform: -ln(1-u) is exponential with mean 1. */
        double u = (double)(rng_next(&s->rng) >> 11) * 0x1.0p-53;
        s->next += (int64_t)(-log1p(-u) * s->interval);
    } else {
        s->next = s->origin + (int64_t)((double)s->seq * s->interval);
    }
    return t;
}
