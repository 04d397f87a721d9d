/* stream — one connection's bytes between the ring and HTTP, plain or
 * through tls/: the one connection interface of the load engine and of
 * `blaster serve`. Neither of them asks which transport a connection has;
 * TLS is a second implementation of these few functions, as in wrk's
 * net.h, adapted to completions.
 *
 *   stream_open          the socket is connected (or accepted): ready at
 *                        once (plain) or after a handshake (TLS)
 *   stream_feed + stream_read
 *                        bytes received → plaintext out, one piece per read
 *                        (plain: the ring's own buffer, never copied)
 *   stream_message + stream_push
 *                        an iovec message to send; push puts the next piece
 *                        on the wire (plain: the iovecs themselves; TLS:
 *                        encrypted a few records at a time)
 *   stream_sent          a send completion: done, push again, or failed
 *   stream_closed        the socket's close completed: release the stream,
 *                        now or at its last send's completion
 *
 * A stream has at most one send in flight (two sends on one socket could
 * interleave). Sends are reported, except a plain message pushed whole with
 * `quiet` (IOSQE_CQE_SKIP_SUCCESS: only a failure completes). The wire bytes
 * (ciphertext for TLS) are counted in the stream and taken by the caller with
 * stream_wire_out, so that data_sent means the same for both.
 *
 * Per worker, a struct stream_pool holds what the streams share: the ring,
 * the TLS context (NULL: every stream is plain), the buffer that decrypted
 * bytes pass through on their way to the parser, and the graves: TLS state
 * whose socket is closed while the kernel may still read its output buffer
 * (a send in flight), freed when that send's completion arrives
 * (stream_reap). This is the one way a connection's state outlives its
 * close; a slot can be reused at once. Nothing here allocates per request. */
#ifndef BLASTER_STREAM_H
#define BLASTER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ring/ring.h"
#include "tls/tls.h"

/* What stream_read, stream_sent and stream_push return besides a byte count. */
enum stream_rc {
    STREAM_AGAIN  = 0,   /* read: nothing more now; sent: the message has more to push */
    STREAM_UP     = -1,  /* read: the handshake has just completed (once; TLS only) */
    STREAM_CLOSED = -2,  /* read: the peer ended the stream (TLS close_notify) */
    STREAM_ERROR  = -3,  /* fatal for the connection; stream_error() says why */
    STREAM_DONE   = -4,  /* sent: the message (or the flight) is all on the wire */
};

struct stream_grave { struct tls_conn *t; uint32_t slot, gen; };

struct stream_pool {
    struct ring         *ring;
    struct tls_ctx      *tls;      /* NULL: plain streams only */
    uint8_t             *plain;    /* TLS: a record's plaintext on its way to the parser */
    uint8_t             *stage;    /* TLS: short pieces gathered into one record */
    struct stream_grave *graves;
    uint32_t             ngraves, gcap;
};

struct stream {
    struct tls_conn    *tls;       /* NULL: plain */
    const struct iovec *iov;       /* the message being sent: the caller's, unchanged until done */
    struct iovec       *win;       /* plain: room for a window of it (wincap entries) */
    struct msghdr       msg;
    int                 n, wincap;
    size_t              total;     /* the message's bytes */
    size_t              off;       /* bytes of it handed on (plain: submitted; TLS: encrypted) */
    uint32_t            inflight;  /* bytes of the reported send in flight; 0: none */
    bool                up;        /* ready for messages (plain: from the open on) */
    const uint8_t      *rx;        /* received plaintext not read yet (plain: the ring's buffer) */
    uint32_t            rxlen;
    uint64_t            wire_out;  /* bytes put on the wire since the last stream_wire_out */
};

/* The pool of one worker thread. tls NULL: plain only. 0, or -ENOMEM. */
int  stream_pool_init(struct stream_pool *p, struct ring *r, struct tls_ctx *tls);
/* Frees the graves too: call after the ring is gone (no completion can come). */
void stream_pool_free(struct stream_pool *p);

/* A stream with no connection; win (wincap entries) is where a plain
 * message's remaining window is built when it goes out in pieces. */
void stream_init(struct stream *s, struct iovec *win, int wincap);

/* The socket is connected (client: tls names the context, server_name the
 * SNI and the name to verify) or accepted (server: server_name NULL). tls
 * NULL: plain, and the stream is ready at once. 0, or -ENOMEM. */
int  stream_open(struct stream_pool *p, struct stream *s, struct tls_ctx *tls, const char *server_name);
static inline bool stream_ready(const struct stream *s) { return s->up; }

/* Bytes the ring received. Plain: kept by reference until read (read them
 * before the handler returns the buffer). 0, or STREAM_ERROR. */
int  stream_feed(struct stream *s, const uint8_t *data, uint32_t len);

/* Forget received plaintext not read (plain: before the ring's buffer goes back). */
static inline void stream_drop(struct stream *s) { s->rxlen = 0; }

/* The next piece of plaintext (> 0 bytes at *out, valid until the next call
 * on any stream of the pool), or STREAM_AGAIN, STREAM_UP, STREAM_CLOSED,
 * STREAM_ERROR. Call until STREAM_AGAIN after every feed and every send
 * completion: a TLS handshake only advances here. */
int  stream_read_tls(struct stream_pool *p, struct stream *s, const uint8_t **out);
static inline int stream_read(struct stream_pool *p, struct stream *s, const uint8_t **out)
{
    if (s->rxlen) { /* plain bytes, or the first plaintext read with the handshake's end */
        uint32_t n = s->rxlen;
        *out = s->rx;
        s->rxlen = 0;
        return (int)n;
    }
    return s->tls ? stream_read_tls(p, s, out) : STREAM_AGAIN;
}

/* The message to send next: iov[0..n), total bytes, unchanged until
 * stream_sent says STREAM_DONE (or the connection closes). */
void stream_message(struct stream *s, const struct iovec *iov, int n, size_t total);

/* Put what can go now on the wire, if nothing is in flight: plain, the next
 * piece of the message, at most `piece` bytes (`quiet`: no completion on
 * success, only for a message pushed whole); TLS, records of the message as
 * far as the output buffer takes them and any handshake flight waiting
 * there (`piece` and `quiet` do not apply: TLS cuts its own pieces). 0, or
 * STREAM_ERROR. */
int  stream_push_some(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen, size_t piece,
                      bool quiet);
/* Whether stream_push could put anything on the wire now. */
static inline bool stream_may_push(const struct stream *s)
{
    return !s->inflight && (s->tls || s->off < s->total);
}
static inline int stream_push(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen,
                              size_t piece, bool quiet)
{
    /* The common case on the hot path: nothing can go (a plain message all
     * handed on, or a send in flight). */
    if (!stream_may_push(s))
        return 0;
    return stream_push_some(p, s, slot, gen, piece, quiet);
}

/* Whether any of the message was handed on; whether some of it was not. */
static inline bool stream_begun(const struct stream *s) { return s->off > 0; }
static inline bool stream_unsent(const struct stream *s) { return s->off < s->total; }

/* True when the transport cuts a large message into small sends by itself
 * (TLS), so a caller need not ration large sends (the engine's bulk slot). */
static inline bool stream_cuts_pieces(const struct stream *s) { return s->tls != NULL; }

/* A send completion (res: the ring's result). STREAM_DONE: the message, or
 * a flight without one, is on the wire; STREAM_AGAIN: push again for the
 * rest; STREAM_ERROR: the send failed (res < 0: -errno; 0: no progress). */
int  stream_sent(struct stream *s, int res);
static inline bool stream_sending(const struct stream *s) { return s->inflight != 0; }

/* Bytes put on the wire since the last call (ciphertext for TLS). */
static inline uint64_t stream_wire_out(struct stream *s)
{
    uint64_t n = s->wire_out;
    s->wire_out = 0;
    return n;
}

/* End the stream in band before the FIN (TLS close_notify) and send it.
 * true: a send is in flight, wait for its completion (STREAM_DONE) before
 * shutting the socket down; false: nothing to send (plain, or a send still
 * in flight). */
bool stream_shutdown(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen);

/* The socket's close completed (gen: the connection's generation). The
 * stream is reset for the slot's next connection; TLS state that a send in
 * flight may still read is kept in the pool's graves until stream_reap. */
void stream_closed(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen);
/* Whether the stream holds state that only stream_closed releases. */
static inline bool stream_holds_state(const struct stream *s) { return s->tls != NULL; }
/* A send completion for (slot, gen): true if it was a grave's last send (then it is freed). */
bool stream_reap(struct stream_pool *p, uint32_t slot, uint32_t gen);

/* The handshake's outcome, for the metrics (meaningful after STREAM_UP). */
static inline bool stream_resumed(const struct stream *s) { return s->tls && tls_resumed(s->tls); }
static inline const char *stream_protocol(const struct stream *s) { return s->tls ? tls_protocol(s->tls) : ""; }
/* Why the stream failed ("" when it did not). */
static inline const char *stream_error(const struct stream *s) { return s->tls ? tls_error(s->tls) : ""; }

#endif
