/* demo_app — the routes of `blaster serve --app demo`: a small music-streaming
 * API (uploads in chunks, HLS playlists and segments, search, track lists,
 * a marketplace) that answers the example scenarios and the k6 workload they
 * translate, with realistic JSON and m3u8 bodies.
 *
 * This file knows requests only as method, target, a few header values and
 * what the body held; serve.c owns the sockets, the framing, the faults and
 * the header rendering. Static bodies are rendered once by demo_init; the few
 * that carry per-request values (an upload id, a chunk's byte count, an order
 * id, the counters) are rendered at send time from a struct demo_arg into a
 * small buffer the caller owns. Nothing here allocates after demo_init.
 *
 * Worker threads share nothing mutable: each one counts into its own struct
 * demo_stats, and GET /__stats sums them with relaxed atomic loads (the
 * owner's writes are relaxed stores, plain moves on x86: no lock prefix). */
#ifndef BLASTER_DEMO_APP_H
#define BLASTER_DEMO_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_MAX_LIMIT      100      /* ?limit= is capped here */
#define DEMO_DEFAULT_LIMIT  20       /* no (or no numeric) ?limit= */
#define DEMO_SEG_TRACKED    64       /* segment indexes counted one by one in /__stats */
#define DEMO_MAX_SEGMENTS   100000   /* --hls-segments upper bound */
#define DEMO_CHUNK_SIZE     1048576  /* chunk_size the initiate response announces */
#define DEMO_UPLOAD_ID_LEN  26       /* "u" 16 hex "-" 8 hex */

/* Every response of the app. DR_LIST + L and DR_PRODUCTS + L are the lists
 * of L items, L = 0..DEMO_MAX_LIMIT. */
enum demo_resp {
    DR_HEALTH,
    DR_UPLOAD_INITIATE,      /* dynamic: the upload id */
    DR_CHUNK_OK,             /* dynamic: bytes received, chunk number */
    DR_CHUNK_UNKNOWN_ID,
    DR_CHUNK_MISSING_NUMBER,
    DR_CHUNK_BAD_NUMBER,
    DR_HLS_MASTER,
    DR_HLS_PLAYLIST,
    DR_HLS_SEGMENT,
    DR_SEARCH,
    DR_DETAIL,
    DR_ORDER_CREATED,        /* dynamic: the order id */
    DR_ORDER_BAD_PRODUCT,
    DR_NOT_FOUND,
    DR_GET_ONLY,             /* 405, Allow: GET, HEAD */
    DR_POST_ONLY,            /* 405, Allow: POST */
    DR_STATS,                /* dynamic: the counters of every worker */
    DR_LIST,
    DR_PRODUCTS = DR_LIST + DEMO_MAX_LIMIT + 1,
    DEMO_NRESP = DR_PRODUCTS + DEMO_MAX_LIMIT + 1
};

enum demo_dyn { DEMO_STATIC, DEMO_DYN_UPLOAD, DEMO_DYN_CHUNK, DEMO_DYN_ORDER, DEMO_DYN_STATS };

/* One response as the caller renders it: status line, headers, body. */
struct demo_resp_def {
    int            status;
    const char    *reason;
    const char    *content_type;
    const char    *extra_headers;  /* "" or whole header lines ("Allow: POST\r\n") */
    const uint8_t *body;           /* static responses only */
    size_t         body_len;
    uint8_t        dyn;            /* enum demo_dyn */
};

/* Counters of /__stats, in its order. Route counts are taken when the route
 * is decided, before the faults (--error-rate ...) replace a response. */
enum demo_counter {
    DC_HEALTH, DC_UPLOAD_INITIATE, DC_UPLOAD_CHUNK, DC_UPLOAD_CHUNK_REJECTED, DC_HLS_MASTER,
    DC_HLS_PLAYLIST, DC_HLS_SEGMENT, DC_SEARCH, DC_LIST, DC_DETAIL, DC_PRODUCTS, DC_ORDERS,
    DC_ORDERS_REJECTED, DC_NOT_FOUND, DC_METHOD_NOT_ALLOWED, DC_STATS, DC_CHUNK_BYTES,
    DEMO_NCOUNTERS
};

/* One worker's counters; only that worker writes them (demo_count). */
struct demo_stats {
    uint64_t n[DEMO_NCOUNTERS];
    uint64_t segments[DEMO_SEG_TRACKED];  /* served segments by index */
    uint64_t segments_beyond;             /* served segments of index >= DEMO_SEG_TRACKED */
} __attribute__((aligned(64)));

/* Per-worker routing state. */
struct demo_worker {
    struct demo_stats *st;
    uint64_t           seq;    /* ids made by this worker */
    unsigned           id;     /* worker index, < 1024: ids stay unique across workers */
};

struct demo_opts {
    uint64_t hls_segments;     /* segments per media playlist, 1..DEMO_MAX_SEGMENTS */
    uint64_t segment_size;     /* bytes per segment */
};

struct demo_app {
    struct demo_opts     o;
    uint64_t             key[2];        /* upload id MAC key, random per process */
    struct demo_resp_def resp[DEMO_NRESP];
    struct demo_stats   *stats;         /* nworkers of them */
    int                  nworkers;
    uint8_t             *mem[DEMO_NRESP];
};

/* Values of one dynamic response, kept from routing to sending. */
struct demo_arg { uint64_t a, b; };

/* What routing needs of one whole request. */
struct demo_req {
    const char *method;
    const char *target;
    const char *upload_id;     /* X-Upload-Id value, NULL when absent */
    const char *chunk_number;  /* X-Chunk-Number value, NULL when absent */
    uint64_t    body_bytes;    /* body bytes received (decoded when chunked) */
    bool        zero_uuid;     /* the body held the all-zero UUID (demo_scan) */
};

/* Render the static bodies, draw the key, allocate nworkers counters.
 * 0 or -1 (out of memory). */
int  demo_init(struct demo_app *app, const struct demo_opts *o, int nworkers);
void demo_free(struct demo_app *app);

/* The response to a whole request (enum demo_resp); counts the request in
 * dw->st. For a dynamic response, *arg holds what demo_render needs. */
unsigned demo_route(const struct demo_app *app, struct demo_worker *dw, const struct demo_req *r,
                    struct demo_arg *arg);

/* Whether the request's body is inspected (demo_scan): POST to the orders. */
bool demo_scans_body(const char *method, const char *target);

/* Body inspection for the all-zero UUID, fed the body in whatever pieces it
 * came: *state (0 at the start of a body) is the length of the pattern's
 * prefix matched so far, so a UUID cut anywhere between two pieces is found.
 * The raw bytes are scanned: in a chunked body, a UUID cut by the chunk
 * framing is not seen. */
#define DEMO_SCAN_FOUND 36
void demo_scan(uint8_t *state, const uint8_t *p, size_t n);

/* The body of a dynamic response (not DEMO_DYN_STATS) into buf; its length.
 * 96 bytes are always enough. */
#define DEMO_DYN_MAX 96
size_t demo_render(const struct demo_app *app, unsigned resp, const struct demo_arg *arg,
                   char *buf, size_t cap);

/* The /__stats body: every worker's counters summed. Its length (< cap). */
#define DEMO_STATS_MAX 8192
size_t demo_render_stats(const struct demo_app *app, char *buf, size_t cap);

/* Upload ids: "u" + the counter in 16 hex digits + "-" + 8 hex digits of a
 * keyed hash (SipHash-2-4) of the counter. Any worker checks an id by
 * recomputing the hash: no table, nothing shared. */
void demo_upload_id(const struct demo_app *app, uint64_t counter, char out[DEMO_UPLOAD_ID_LEN + 1]);
bool demo_upload_id_valid(const struct demo_app *app, const char *id);

/* Count for the worker that owns st: a relaxed load and store (no lock). */
static inline void demo_count(uint64_t *c, uint64_t d)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

#endif
