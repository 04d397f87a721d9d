/* worker — see worker.h. */
#include "ring/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int worker_cpus(int *cpus, int max)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) < 0) {
        cpus[0] = -1;
        return 1;
    }
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set))
            cpus[n++] = c;
    return n;
}

int worker_start(pthread_t *t, int cpu, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    int err = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return -err;
}

void worker_cpu_sample(struct worker_cpu *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    s->busy_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    s->wait_ns = -1;
    /* schedstat: on-cpu ns, runqueue-wait ns, timeslices. */
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    long long run, wait;
    if (sscanf(buf, "%lld %lld", &run, &wait) == 2)
        s->wait_ns = wait;
}
