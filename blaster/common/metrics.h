/* metrics — what one worker measured, and the exact merge of all workers.
 *
 * Every latency is recorded in microseconds into an HDR histogram allocated
 * at start; counters are plain integers owned by one worker. Nothing here is
 * shared between threads while a run is going: the main thread merges the
 * workers' metrics after they stop. */
#ifndef BLASTER_METRICS_H
#define BLASTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blaster/common/hist.h"

/* Why a request failed without a status code (k6 counts these as status 0). */
enum err_class {
    ERR_REFUSED,  /* connect refused (nothing listening) */
    ERR_RESET,    /* connection reset, or closed before the response was complete */
    ERR_TIMEOUT,  /* no complete response (or connection) within --timeout */
    ERR_PARSE,    /* the response was not valid HTTP/1.1 */
    ERR_TLS,      /* TLS handshake or record failure */
    ERR_OTHER,    /* anything else: the errno is kept in last_errno */
    ERR__COUNT
};
extern const char *const err_class_name[ERR__COUNT];

#define METRICS_MAX_STATUS 600

struct metrics {
    /* Trends, in µs. */
    struct hist duration;   /* http_req_duration: intended start → last byte */
    struct hist service;    /* http_req_service: first byte sent → last byte */
    struct hist waiting;    /* http_req_waiting: first byte sent → first byte received */
    struct hist connecting; /* http_req_connecting: connect started → established */
    struct hist lag;        /* client_lag: actual send − intended send, connection ready */
    struct hist duration_ok;/* http_req_duration{expected_response:true} */
    struct hist tls_handshaking; /* http_req_tls_handshaking: TCP connected → TLS handshake done,
                                    for each request (or preconnect) that paid for a handshake */
    /* Counters. */
    uint64_t reqs;          /* http_reqs: responses + failed attempts */
    uint64_t failed;        /* http_req_failed: errors + statuses outside 200-399 */
    uint64_t status[METRICS_MAX_STATUS];
    uint64_t errors[ERR__COUNT];
    int      last_errno[ERR__COUNT];
    uint64_t bytes_sent, bytes_recv;
    uint64_t dropped;       /* dropped_iterations: due but could not even be queued */
    uint64_t queued;        /* requests that waited for a free connection */
    uint64_t interrupted;   /* in flight when the run stopped; not counted in reqs */
    uint64_t connects;      /* connections established */
    uint64_t handshakes;    /* TLS handshakes completed (full + resumed) */
    uint64_t resumed;       /* of which resumed an earlier session */
    char     tls_protocol[12]; /* "TLSv1.3" / "TLSv1.2" of the last handshake, "" for none */
    char     tls_reason[160];  /* why the last TLS error happened (tls_error()), "" for none */
    uint64_t checks_pass;   /* responses whose status the step's `expect` allows */
    uint64_t checks_fail;
};

/* What one scenario measured on one worker: a struct metrics per request of
 * its plan (the per-step breakdown; merged per scenario, per name, or in
 * total for the summary), and the iteration counters. */
struct scenario_metrics {
    struct metrics *req;        /* one per plan request */
    int             nreq;
    struct hist     iteration_duration;
    uint64_t        iterations;         /* iterations completed */
    uint64_t        dropped;            /* dropped_iterations */
    uint64_t        interrupted;        /* iterations cut by the end of the scenario */
    uint32_t        vus_max;            /* most VUs active at once */
    uint32_t        vus;                /* VUs active now (the gauge) */
};

int  scenario_metrics_init(struct scenario_metrics *m, int nreq, int sigfigs);
/* dst = src for a snapshot of metrics still being recorded (see
 * hist_copy_growing): dst must only ever be copied into from the same src. */
void metrics_copy_growing(struct metrics *dst, const struct metrics *src);
void scenario_metrics_copy_growing(struct scenario_metrics *dst, const struct scenario_metrics *src);
/* Back to zero, keeping the allocations. */
void scenario_metrics_reset(struct scenario_metrics *m);
void scenario_metrics_free(struct scenario_metrics *m);
void scenario_metrics_merge(struct scenario_metrics *dst, const struct scenario_metrics *src);

/* Whether no request of the run got a response: some were made, and every
 * one failed without a status (refused, reset, timeout, TLS, parse...).
 * Then why says so with the count and the commonest error class, and its
 * last errno. A response of any status is an answer: a run of 500s is the
 * server's to judge with thresholds. */
bool scenario_metrics_none_answered(const struct scenario_metrics *m, int nsc, char *why, size_t whylen);

/* Allocate the histograms (1 µs .. 1 hour at sigfigs). 0 or -ENOMEM. */
int  metrics_init(struct metrics *m, int sigfigs);
void metrics_free(struct metrics *m);
/* dst += src, exactly. */
void metrics_merge(struct metrics *dst, const struct metrics *src);
/* dst += src for everything but the histograms (which dst may not have):
 * the counters the metric catalog sums, status codes, error classes and the
 * last errno, TLS protocol and reason seen. What a selection of requests sums to. */
void metrics_add_counters(struct metrics *dst, const struct metrics *src);

static inline void metrics_error(struct metrics *m, enum err_class e, int err)
{
    m->reqs++;
    m->failed++;
    m->errors[e]++;
    m->last_errno[e] = err;
}

static inline int64_t ns_to_us(int64_t ns) { return ns < 0 ? 0 : ns / 1000; }

#endif
