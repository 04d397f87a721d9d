/* ring — the io_uring engine: one ring per worker thread, sockets as direct
 * descriptors, a provided-buffer ring for every receive, absolute-time timers.
 *
 * ring/ knows sockets, buffers, time and threads; it knows nothing of HTTP,
 * TLS or scenarios. Its user names each socket by a slot index (the slot of
 * the ring's registered file table) and a generation, and gets every
 * completion back as a struct ring_event through one handler. Nothing here
 * prints: errors are returned as negative errno values.
 *
 * The rules this file encodes (DESIGN.md, "Threads and the hot path"):
 *  - SINGLE_ISSUER|DEFER_TASKRUN halves the kernel's cost per request; it
 *    needs the ring to be created on the thread that submits, and completions
 *    appear only while that thread waits in io_uring_enter.
 *  - Receives are multishot into a provided-buffer ring, so an idle
 *    connection owns no buffer. A multishot receive ends (no IORING_CQE_F_MORE)
 *    on -ENOBUFS, on errors and on EOF; the user re-arms it with ring_recv().
 *  - A socket's pending operations are cancelled before its slot is closed,
 *    and the slot is reused only after the close completion arrives.
 */
#ifndef RING_RING_H
#define RING_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* Operations, as carried in user_data and in ring_event.op. */
enum ring_op {
    RING_OP_CONNECT = 1, /* res: 0 or -errno */
    RING_OP_RECV,        /* res: bytes (data/len set), 0 = EOF, or -errno; `more` says whether it stays armed */
    RING_OP_SEND,        /* res: bytes sent or -errno (successful sends may be silent, see ring_send) */
    RING_OP_CLOSE,       /* res: 0 or -errno; the slot may be reused after this */
    RING_OP_ACCEPT,      /* res: the new connection's slot, or -errno; `more` as for RECV */
    RING_OP_TIMER,       /* res: -ETIME when it fired, -ECANCELED when removed */
    RING_OP_CANCEL,      /* internal: never delivered */
    RING_OP_NOP,         /* internal: never delivered */
};

/* user_data packing, defined here once: op (8 bits) | gen (24 bits) | idx (32 bits). */
#define RING_GEN_MASK 0xffffffu
static inline uint64_t ring_ud(enum ring_op op, uint32_t gen, uint32_t idx)
{
    return ((uint64_t)op << 56) | ((uint64_t)(gen & RING_GEN_MASK) << 32) | idx;
}
static inline enum ring_op ring_ud_op(uint64_t ud) { return (enum ring_op)(ud >> 56); }
static inline uint32_t ring_ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & RING_GEN_MASK; }
static inline uint32_t ring_ud_idx(uint64_t ud) { return (uint32_t)ud; }

struct ring_event {
    enum ring_op   op;
    uint32_t       idx;   /* socket slot, or the timer's tag */
    uint32_t       gen;   /* the generation given when the operation was started */
    int            res;
    bool           more;  /* multishot op stays armed */
    const uint8_t *data;  /* RECV: received bytes, valid only during the handler */
    uint32_t       len;
};

typedef void (*ring_handler)(void *ctx, const struct ring_event *ev);

struct ring_config {
    unsigned sq_entries;  /* submission queue size (power of two) */
    unsigned nbufs;       /* provided receive buffers (power of two) */
    unsigned buf_size;    /* bytes per receive buffer */
    unsigned nfiles;      /* registered file table size: the most sockets this ring holds */
};

struct ring {
    struct io_uring uring;
    const char     *mode;       /* "single-issuer+defer-taskrun", "coop-taskrun" or "default" */
    struct io_uring_buf_ring *br;
    uint8_t        *bufs;
    size_t          br_bytes;
    unsigned        nbufs, buf_size, buf_mask;
    unsigned        nfiles;
    unsigned        recycled;   /* buffers given back since the last advance */
    uint64_t        enters;     /* io_uring_enter calls made by ring_wait (for -v) */
    bool            slept;      /* the last ring_run waited for a deadline still ahead */
    int64_t         wait_from;  /* when it began that wait (monotonic ns) */
};

/* Create the ring on the calling thread (it must be the thread that submits),
 * with the best setup flags this kernel takes, a provided-buffer ring of
 * nbufs x buf_size bytes (group 0) and a sparse registered file table of
 * nfiles slots. 0 or -errno. */
int  ring_init(struct ring *r, const struct ring_config *cfg);
/* Tear the ring down. Safe after a failed ring_init (which leaves nothing
 * to free) and when called twice. */
void ring_exit(struct ring *r);

/* A submission queue entry; submits what is queued when the queue is full.
 * Never NULL. */
struct io_uring_sqe *ring_sqe(struct ring *r);

/* Submit what is queued and wait until at least one completion is there or
 * the monotonic clock reaches deadline_ns (0 = don't wait, INT64_MAX = no
 * deadline). Then deliver every completion to fn. Returns the number of
 * events delivered, or -errno for a failure of io_uring_enter itself.
 * r->slept says whether it waited for a deadline still ahead (woken after
 * it, by the timeout or a completion, the caller can measure how late the
 * wake-up was). */
int ring_run(struct ring *r, int64_t deadline_ns, ring_handler fn, void *ctx);

/* --- sockets (client side) ---------------------------------------------- */

/* Create a TCP socket for sa's family with TCP_NODELAY, optionally bound to
 * the source address src (port 0, IP_BIND_ADDRESS_NO_PORT), install it in the
 * file table at slot, and queue a connect. The socket exists only as the
 * direct descriptor afterwards, so it does not count against RLIMIT_NOFILE.
 * 0, or -errno when the socket could not be made (the connect completion
 * then never comes). */
int ring_connect(struct ring *r, uint32_t slot, uint32_t gen,
                 const struct sockaddr *sa, socklen_t salen,
                 const struct sockaddr *src, socklen_t srclen);

/* Arm a multishot receive on slot into the provided buffers. */
void ring_recv(struct ring *r, uint32_t slot, uint32_t gen);

/* Send len bytes from buf (which must stay unchanged until the completion or
 * until the socket is closed). MSG_WAITALL: the kernel retries short sends,
 * so success means everything was sent. quiet: no completion on success
 * (IOSQE_CQE_SKIP_SUCCESS), only on failure. */
void ring_send(struct ring *r, uint32_t slot, uint32_t gen, const void *buf, size_t len, bool quiet);

/* The same from an iovec (header in front of a shared body, say). The msghdr
 * is read when submitted; the iovec's buffers must stay unchanged until the
 * completion or the close. */
void ring_sendmsg(struct ring *r, uint32_t slot, uint32_t gen, const struct msghdr *msg, bool quiet);

/* Cancel every pending operation on slot, then close it. A RING_OP_CLOSE
 * event follows; completions of the cancelled operations may come before it.
 * reset: make the close send an RST (SO_LINGER 0) instead of a FIN. */
void ring_close(struct ring *r, uint32_t slot, uint32_t gen, bool reset);

/* Send a FIN after what was sent so far (shutdown SHUT_WR); receiving goes
 * on. A server's graceful close: closing with unread bytes in the socket
 * would send an RST and could destroy the response before the peer read it,
 * so the server shuts down its side first and closes when the peer does.
 * Quiet: no completion (a failure means the connection is gone anyway). */
void ring_shutdown(struct ring *r, uint32_t slot, uint32_t gen);

/* --- sockets (server side) ---------------------------------------------- */

/* An ordinary listening socket on sa with SO_REUSEADDR and SO_REUSEPORT (so
 * that one listener per worker thread spreads the connections), and
 * TCP_NODELAY, which accepted sockets inherit. fd or -errno. */
int ring_listen(const struct sockaddr *sa, socklen_t salen, int backlog);

/* Multishot accept on listen_fd into slots that the kernel picks from the
 * file table: each RING_OP_ACCEPT event carries the new slot in res. */
void ring_accept(struct ring *r, int listen_fd, uint32_t tag);

/* --- timers ------------------------------------------------------------- */

/* A one-shot timer at the absolute monotonic time deadline_ns. t must stay
 * valid until the timer's completion (the kernel reads it at submission);
 * tag and gen come back in the RING_OP_TIMER event. */
struct ring_timer { struct __kernel_timespec ts; };
void ring_timer_at(struct ring *r, struct ring_timer *t, uint32_t tag, uint32_t gen, int64_t deadline_ns);
/* Remove the pending timer started with (tag, gen). */
void ring_timer_cancel(struct ring *r, uint32_t tag, uint32_t gen);

/* --- time --------------------------------------------------------------- */

static inline int64_t ring_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
