/* serve_int — what the files of `blaster serve` share, and nothing else:
 *   serve_opts.c    the command line (serve_opts.h)
 *   serve_render.c  every response, rendered once at start, and its id
 *   serve.c         the workers: connections, the queue of responses going out,
 *                   the completions (plain or TLS through stream.h)
 *   serve_answer.c  what a request gets back: framing, routing, faults
 *   serve_main.c    the main thread: listeners, TLS context, workers, signals
 * Not for the rest of blaster: serve.h is the one entry point. */
#ifndef BLASTER_SERVE_INT_H
#define BLASTER_SERVE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "blaster/serve/demo_app.h"
#include "blaster/run/http.h"
#include "blaster/serve/serve_opts.h"
#include "blaster/run/stream.h"
#include "ring/ring.h"

#define TICK_NS (100 * 1000000LL)  /* workers notice a stop within this */

/* --- responses (serve_render.c) ------------------------------------------------ */

/* How the connection goes on after a response: the request asked for
 * keep-alive (HTTP/1.1), for keep-alive in HTTP/1.0 (which needs the header
 * said back), or for a close. */
enum variant { V_KEEP, V_KEEP10, V_CLOSE, NVARIANTS };
enum after { AFTER_KEEP, AFTER_CLOSE, AFTER_RESET };

/* Every response the server gives; --app demo's follow (RESP_DEMO + enum demo_resp). */
enum resp_id {
    RESP_OK, RESP_ERROR, RESP_BAD_REQUEST, RESP_URI_TOO_LONG, RESP_HEADERS_TOO_LARGE, RESP_NOT_IMPLEMENTED,
    RESP_BAD_VERSION, RESP_CONTINUE, RESP_GARBAGE, RESP_RESET, NRESP
};
#define RESP_DEMO NRESP
#define NRESP_ALL (NRESP + DEMO_NRESP)

/* A queue entry names one rendering: response, variant, HEAD or not. */
static inline uint16_t entry_id(unsigned resp, enum variant v, bool head)
{
    return (uint16_t)(resp << 3 | (unsigned)v << 1 | head);
}

struct rendered {
    const uint8_t *data;      /* reps copies back to back; NULL: hdr + body with sendmsg */
    uint64_t       len;       /* bytes of one response */
    const uint8_t *hdr;       /* split form (big bodies): header here, body shared */
    uint32_t       hdr_len;
    const uint8_t *body;
    uint16_t       reps;
    uint8_t        after;
    uint8_t        dyn;       /* enum demo_dyn: hdr is the header up to "Content-Length: ",
                                 the rest is rendered when sent */
    uint16_t       status;    /* for the counts; 0 for garbage and resets */
    uint8_t       *mem;       /* what to free */
};

/* The server as every worker sees it: read-only once the workers start. */
struct server {
    struct serve_opts o;
    int64_t           t0;     /* start: stalls are counted from here */
    bool              timed;  /* --delay or --stall: responses have a due time */
    bool              faults;
    uint8_t          *body;
    struct rendered   table[NRESP_ALL << 3];
    struct demo_app   demo;   /* --app demo */
};

/* Fills s->table (entry_id() indexes it) from s->o and, with --app demo,
 * from s->demo, which demo_init has made. Returns 0 or -1 (out of memory). */
int responses_render(struct server *s);
/* Frees what responses_render and demo_init allocated; safe after a failure. */
void responses_free(struct server *s);
/* What a malformed request gets (enum resp_id), from the parser's static error string. */
unsigned error_response(const char *err);

/* --- workers (serve.c), as the main thread drives them ------------------------------ */

struct tls_ctx;
struct worker;

/* n zeroed workers, or NULL. */
struct worker *workers_new(int n);
/* Starts worker i on listening socket fds[i], pinned to cpus[i % ncpus]. Each
 * sets up its ring, then waits at ready (n + 1 parties) and runs until *stop.
 * tls is the server's context (NULL without --tls), shared by the workers.
 * Exits the process when a thread cannot be started: the others would wait
 * at the barrier forever. */
void workers_start(struct worker *ws, int n, const struct server *s, const int *fds,
                   const int *cpus, int ncpus, struct tls_ctx *tls,
                   pthread_barrier_t *ready, const int *stop);
/* Reports the workers that failed (done_only: of those that have stopped);
 * returns 2 if one did, else 0. */
int workers_check(const struct worker *ws, int n, bool done_only);
/* The ring's setup flags, for the "listening" line. */
const char *workers_mode(const struct worker *ws);
void workers_join(struct worker *ws, int n);
/* -v: one line of counts per worker on stderr. */
void workers_print_stats(const struct worker *ws, int n, bool tls);
/* After workers_join (or when none started); ws may be NULL. */
void workers_free(struct worker *ws, int n);

/* --- the workers (serve.c, serve_answer.c) ------------------------------------ */

#define MAX_CONNS      20000   /* per worker; past that run more workers (DESIGN.md) */
#define QRUNS          32      /* runs of pending responses per connection (power of 2):
                                  any mix of responses to 32 pipelined requests fits */
#define LINGER_NS      (2 * 1000000000LL)
#define ACCEPT_RETRY_NS (10 * 1000000LL)
#define STATS_RETRY_NS (1000000LL)
#define DYNQ           QRUNS   /* values of dynamic responses pending per connection: as
                                  many as pipelined requests fit in the queue's runs */
#define DYNBUF         (DEMO_DYN_MAX + 32)  /* "Content-Length" value, CRLFs, body */
#define STATS_HEAD     32      /* room before the stats body for its length and CRLFs */

enum conn_state { C_FREE, C_OPEN, C_LINGER, C_CLOSING };

enum conn_flag {
    F_SENDING = 1 << 0,  /* a send is in flight (at most one) */
    F_TIMER   = 1 << 1,  /* the connection's timer is pending */
    F_DUE     = 1 << 2,  /* due holds the queue head's send time */
    F_EOF     = 1 << 3,  /* the peer sent its FIN: answer what is queued, then close */
    F_IGNORE  = 1 << 4,  /* a response that closes is queued: read no more requests */
    F_CONTINUED = 1 << 5,/* 100 Continue queued for the current request */
};

struct run { uint16_t id; uint16_t n; };

struct conn {
    uint32_t          gen;
    uint8_t           state;
    uint8_t           flags;
    uint8_t           qhead, qlen;      /* runs of pending responses, oldest first */
    struct run        q[QRUNS];
    uint16_t          inflight;         /* responses of the head run in the send in flight */
    int64_t           due;              /* when the head may be sent (F_DUE) */
    struct ring_timer timer;            /* --delay, --stall, linger */
    struct iovec      iov[2];           /* the response being sent: header + shared body, or one piece */
    struct iovec      win[2];           /* the stream's room for what is left of it after a short send */
    uint64_t          sending;          /* bytes of the response being sent */
    struct http_req   req;
    /* --app demo */
    uint8_t           scan;             /* the current request's body is scanned */
    uint8_t           zscan;            /* demo_scan's state for it */
    uint8_t           dqhead, dqlen;    /* values of the dynamic responses queued */
    struct demo_arg   dq[DYNQ];
    char              dyn[DYNBUF];      /* the tail of a dynamic response being sent */
    struct stream     st;               /* its bytes, plain or TLS (F_SENDING: iov[] is its message) */
};

/* The headers --app demo reads, as http_req capture slots. */
enum { CAP_UPLOAD_ID, CAP_CHUNK_NUMBER, NCAP };

struct serve_stats {
    uint64_t accepted, requests, s2xx, s4xx, s5xx, continues, resets, garbage, closes,
             overflows, bytes_in, bytes_out, tls_errors;
};

struct worker {
    int                  id, cpu, listen_fd;
    const struct server *s;
    pthread_barrier_t   *ready;
    const int           *stop;
    pthread_t            thread;
    struct ring          ring;
    struct conn         *conns;
    uint32_t             nconns;   /* also the accept timer's tag */
    struct ring_timer    accept_timer;
    uint64_t             rng;
    int                  err;      /* -errno of a failure */
    const char          *err_what;
    int                  done;
    const char          *mode;     /* the ring's setup flags, for the ready line */
    struct serve_stats   st;
    /* --app demo */
    struct demo_worker   dw;
    char                *stats_buf;   /* STATS_HEAD + DEMO_STATS_MAX: a /__stats response */
    bool                 stats_busy;  /* ... in flight, on this connection: */
    uint32_t             stats_slot, stats_gen;
    struct tls_ctx      *tls;         /* --tls: the server's context, shared by the workers, made by serve_main */
    struct stream_pool   pool;        /* what the connections' streams share */
};

static inline uint32_t slot(const struct worker *w, const struct conn *k)
{
    return (uint32_t)(k - w->conns);
}

/* serve.c: the connection */
void serve_close(struct worker *w, struct conn *k, bool reset);
void serve_flush(struct worker *w, struct conn *k);
/* serve_answer.c: its requests */
void serve_req_init(const struct server *s, struct conn *k);
void serve_feed(struct worker *w, struct conn *k, const uint8_t *data, size_t len);

#endif
