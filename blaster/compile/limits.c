/* limits — see limits.h. */
#include "blaster/compile/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static uint32_t ceil_div(uint32_t n, uint32_t d) { return n / d + (n % d != 0); }

uint32_t limits_conns_per_worker(const struct plan *p, int nw)
{
    uint64_t n = 0;
    for (int s = 0; s < p->nsc; s++)
        n += ceil_div(p->sc[s].max_vus, (uint32_t)(nw > 0 ? nw : 1));
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

int limits_workers_needed(const struct plan *p, uint64_t slots)
{
    if (slots == 0)
        return 0;
    uint64_t total = 0;
    for (int s = 0; s < p->nsc; s++)
        total += p->sc[s].max_vus;
    if (total == 0)
        return 1;
    /* Each scenario's share rounds up, so the total / slots guess may be a
     * worker or a few short: step on from it. */
    uint64_t nw = (total + slots - 1) / slots;
    while (nw < INT32_MAX && limits_conns_per_worker(p, (int)nw) > slots)
        nw++;
    return (int)nw;
}

/* Same address family, address and port. */
static bool same_destination(const struct plan_scenario *a, const struct plan_scenario *b)
{
    if (a->addr.ss_family != b->addr.ss_family)
        return false;
    if (a->addr.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->addr, *y = (const void *)&b->addr;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->addr, *y = (const void *)&b->addr;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false; /* not a TCP destination: nothing to count */
}

/* "127.0.0.1:8080" or "[::1]:8080". */
static void destination_fmt(const struct plan_scenario *sc, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sc->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)&sc->addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, outlen, "[%s]:%u", ip, port);
        return;
    }
    const struct sockaddr_in *a = (const void *)&sc->addr;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, outlen, "%s:%u", ip, port);
}

int limits_check_ports(const struct plan *p, unsigned lo, unsigned hi, char *err, size_t errlen)
{
    if (hi < lo)
        return 0; /* a range the kernel would not take: nothing to check against */
    uint64_t ports = (uint64_t)hi - lo + 1;
    for (int s = 0; s < p->nsc; s++) {
        bool counted = false; /* an earlier scenario with this destination counted it already */
        for (int t = 0; t < s && !counted; t++)
            counted = same_destination(&p->sc[t], &p->sc[s]);
        if (counted)
            continue;
        uint64_t conns = 0;
        int nsc = 0;
        for (int t = s; t < p->nsc; t++)
            if (t == s || same_destination(&p->sc[t], &p->sc[s])) {
                conns += p->sc[t].max_vus;
                nsc++;
            }
        if (conns <= ports)
            continue;
        char dest[INET6_ADDRSTRLEN + 16];
        destination_fmt(&p->sc[s], dest, sizeof dest);
        snprintf(err, errlen,
                 "%llu connections to %s (one per VU%s), but the ephemeral port range "
                 "(net.ipv4.ip_local_port_range %u-%u) gives one destination %llu source ports: "
                 "use at most %llu connections (-c, or the VUs of the scenarios) per destination "
                 "(more source addresses are not supported yet)",
                 (unsigned long long)conns, dest, nsc > 1 ? ", every scenario's max counted" : "",
                 lo, hi, (unsigned long long)ports, (unsigned long long)ports);
        return -1;
    }
    return 0;
}

int limits_read_port_range(unsigned *lo, unsigned *hi)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return -1;
    int n = fscanf(f, "%u %u", lo, hi);
    fclose(f);
    return n == 2 ? 0 : -1;
}

/* The kernel's own bound on a file table (IORING_MAX_FIXED_FILES, 6.x). */
#define RING_MAX_FILES (1u << 20)

uint64_t limits_read_ring_slots(void)
{
    /* The hard limit: liburing's io_uring_register_files_sparse, refused
     * for a table above the soft one, raises the soft limit up to the hard
     * one and tries again. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max >= RING_MAX_FILES)
        return RING_MAX_FILES;
    return (uint64_t)rl.rlim_max;
}
