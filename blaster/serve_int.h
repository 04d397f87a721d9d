/* serve_int — what the files of `blaster serve` share, and nothing else:
 *   serve_opts.c    the command line (serve_opts.h)
 *   serve_render.c  every response, rendered once at start, and its id
 *   serve.c         the workers: connections, requests, faults, TLS
 *   serve_main.c    the main thread: listeners, TLS context, workers, signals
 * Not for the rest of blaster: serve.h is the one entry point. */
#ifndef BLASTER_SERVE_INT_H
#define BLASTER_SERVE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "blaster/demo_app.h"
#include "blaster/serve_opts.h"

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

#endif
