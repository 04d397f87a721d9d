/* worker — threads pinned to CPUs, and what each one cost.
 *
 * One worker thread per CPU of the process affinity mask (DESIGN.md): each
 * owns its ring and everything it touches, so nothing mutable is shared.
 * The CPU accounting feeds the client verdict: how busy each worker was, and
 * how long it waited for a CPU that something else was using. */
#ifndef RING_WORKER_H
#define RING_WORKER_H

#include <pthread.h>
#include <stdint.h>

/* The CPUs of the process affinity mask, in order. Returns how many (≤ max). */
int worker_cpus(int *cpus, int max);

/* Start fn(arg) on a new thread pinned to cpu (cpu < 0: not pinned). 0 or -errno. */
int worker_start(pthread_t *t, int cpu, void *(*fn)(void *), void *arg);

/* The calling thread's CPU use so far, in ns: on-CPU time, and time spent
 * runnable but waiting for a CPU (from /proc/thread-self/schedstat; -1 when
 * the kernel does not expose it). */
struct worker_cpu { int64_t busy_ns; int64_t wait_ns; };
void worker_cpu_sample(struct worker_cpu *s);

#endif
