/* limits — what a plan asks of the machine, checked before the run rather
 * than discovered by it: the connections each worker's ring holds (its
 * registered file table may not exceed RLIMIT_NOFILE, ring.h) and
 * the connections to each destination (one ephemeral port each).
 *
 * The checks are pure functions of the plan and the numbers given; the two
 * limits_read_* functions read the machine's numbers for them. One
 * connection per VU (engine.h), so a scenario's connections are its max_vus. */
#ifndef BLASTER_LIMITS_H
#define BLASTER_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "blaster/compile/plan.h"

/* The most connections one of nw workers holds: worker 0's share of every
 * scenario's VUs (engine.c shares them round-robin). */
uint32_t limits_conns_per_worker(const struct plan *p, int nw);

/* The fewest workers whose rings each hold at most `slots` connections
 * (1 when the plan has no VUs; 0 when slots is 0: no count does). */
int limits_workers_needed(const struct plan *p, uint64_t slots);

/* 0 when every destination (address and port) gets at most the ports of
 * the ephemeral range [lo, hi], counting every scenario's max_vus to it;
 * else -1 with err giving the destination, the numbers and the fix. */
int limits_check_ports(const struct plan *p, unsigned lo, unsigned hi, char *err, size_t errlen);

/* The ephemeral port range (net.ipv4.ip_local_port_range). 0, or -1 when it
 * cannot be read (then there is nothing to check against). */
int limits_read_port_range(unsigned *lo, unsigned *hi);

/* The registered file table one ring may have: the hard RLIMIT_NOFILE
 * (the soft one is raised to it when a table needs it), within the
 * kernel's own bound (2^20). */
uint64_t limits_read_ring_slots(void);

#endif
