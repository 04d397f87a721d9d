/* schedule — when each request of an open-model run is due.
 *
 * Constant: due times origin + k * interval, computed from the origin each
 * time so that rounding never accumulates (10,000 requests at 2000/s end
 * exactly 5 s after the origin). Poisson: exponential gaps with the same
 * mean, from a seeded xorshift generator (reproducible runs). Due times
 * saturate at INT64_MAX (never due) instead of overflowing. */
#ifndef BLASTER_SCHEDULE_H
#define BLASTER_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

struct schedule {
    int64_t  origin;    /* first due time, ns */
    double   interval;  /* mean gap, ns */
    bool     poisson;
    uint64_t seq;       /* due times handed out so far */
    uint64_t rng;
    int64_t  next;      /* the next due time */
};

/* rate: per second, > 0. seed: any value (0 is replaced by a fixed one). */
void schedule_init(struct schedule *s, int64_t origin, double rate, bool poisson, uint64_t seed);

/* The next due time, and advance. */
static inline int64_t schedule_peek(const struct schedule *s) { return s->next; }
int64_t schedule_take(struct schedule *s);

/* Skip every due time at or before t (what a full queue would drop) in
 * O(1), whatever the rate; returns how many. Constant: exactly the ones
 * schedule_take would have handed out. Poisson: their expected number (the
 * gaps are memoryless, so the schedule goes on from t as if taken one by one). */
uint64_t schedule_skip(struct schedule *s, int64_t t);

#endif
