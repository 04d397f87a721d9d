/* client — the load side of one worker thread: its connections, the
 * schedule that says when each request is due, and the measurements.
 *
 * Two models (DESIGN.md, "Time, schedules and coordinated omission"):
 *  - closed (rate 0): every connection sends its next request as soon as the
 *    previous response is complete; the intended start is that completion.
 *  - open (rate > 0): requests are due at fixed times (constant gaps, or
 *    exponential gaps with poisson); a due request takes an idle connection,
 *    or waits in a bounded queue (its wait counts in http_req_duration), or,
 *    when even the queue is full, is counted in dropped_iterations.
 * Everything is allocated by client_init; client_run allocates nothing. */
#ifndef BLASTER_CLIENT_H
#define BLASTER_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "blaster/http.h"
#include "blaster/metrics.h"
#include "blaster/schedule.h"
#include "ring/ring.h"
#include "ring/worker.h"

/* A request rendered once and shared read-only by every worker. */
struct request {
    const uint8_t *head;     /* request line + headers (+ the body when small) */
    size_t         head_len;
    const uint8_t *body;     /* a large body sent from its own buffer, or NULL */
    size_t         body_len;
    bool           is_head;  /* HEAD: the response has no body */
};

struct client_config {
    int                     worker;      /* index, for messages and schedule staggering */
    int                     nworkers;
    const struct request   *req;
    struct sockaddr_storage addr;
    socklen_t               addrlen;
    int                     conns;       /* this worker's connections */
    double                  rate;        /* this worker's requests/s; 0 = closed model */
    bool                    poisson;
    int64_t                 timeout_ns;
    int64_t                 start_ns;    /* absolute monotonic times */
    int64_t                 end_ns;
    int64_t                 grace_ns;    /* how long in-flight requests may finish after end */
    int                     sigfigs;
    uint64_t                seed;
};

/* Written by the worker once per loop turn, read by the main thread for the
 * progress line: plain relaxed stores, no lock. */
struct client_live {
    uint64_t reqs, failed, bytes_recv;
    uint32_t open_conns;
};

struct conn;

struct client {
    struct client_config cfg;
    struct ring          ring;
    struct conn         *conns;
    struct metrics       m;
    struct client_live   live;
    /* open model */
    struct schedule sched;
    int64_t  *queue;          /* intended start times waiting for a connection */
    uint32_t  qhead, qlen, qcap;
    uint32_t *idle;           /* stack of idle connection indexes */
    uint32_t  nidle;
    /* timeouts: connections with a request or connect in flight, oldest first */
    int32_t   tq_head, tq_tail;
    bool      generating;     /* still starting new requests */
    bool      ever_connected;
    uint32_t  connect_failures;
    uint32_t  open_conns;
    char      fatal[256];     /* set when the worker gave up (nothing could connect) */
    struct worker_cpu cpu_start, cpu_end;
    int64_t   wall_start, wall_end;
};

/* Create the ring and every structure, on the worker thread that will run
 * it. 0, or -errno with a message in c->fatal. */
int  client_init(struct client *c, const struct client_config *cfg);
/* Run until end_ns (plus grace for requests in flight) or until *stop is
 * set; a stop skips the grace. */
void client_run(struct client *c, const int *stop);
void client_free(struct client *c);

#endif
