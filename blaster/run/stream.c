/* stream — see stream.h. The plain implementation and the TLS one side by
 * side, each function choosing once at its top; nothing outside this file
 * (and the TLS setup that makes the contexts) asks which one a connection
 * has. */
#include "blaster/run/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN_MAX 16384  /* a TLS record's plaintext at most: what one tls_read gives */

int stream_pool_init(struct stream_pool *p, struct ring *r, struct tls_ctx *tls)
{
    memset(p, 0, sizeof *p);
    p->ring = r;
    p->tls = tls;
    if (!tls)
        return 0;
    p->plain = malloc(PLAIN_MAX + TLS_STAGE_MIN);
    if (!p->plain)
        return -ENOMEM;
    p->stage = p->plain + PLAIN_MAX;
    return 0;
}

void stream_pool_free(struct stream_pool *p)
{
    for (uint32_t i = 0; i < p->ngraves; i++)
        tls_conn_free(p->graves[i].t);
    free(p->graves);
    free(p->plain);
    memset(p, 0, sizeof *p);
}

void stream_init(struct stream *s, struct iovec *win, int wincap)
{
    memset(s, 0, sizeof *s);
    s->win = win;
    s->wincap = wincap;
}

int stream_open(struct stream_pool *p, struct stream *s, struct tls_ctx *tls, const char *server_name)
{
    s->iov = NULL;
    s->n = 0;
    s->total = s->off = 0;
    s->inflight = 0;
    s->rxlen = 0;
    s->up = tls == NULL;
    if (!tls)
        return 0;
    int rc = server_name ? tls_conn_new(&s->tls, tls, server_name) : tls_conn_new_server(&s->tls, tls);
    if (rc != 0) {
        s->tls = NULL;
        return -ENOMEM;
    }
    return 0;
}

int stream_feed(struct stream *s, const uint8_t *data, uint32_t len)
{
    if (!s->tls) {
        s->rx = data;
        s->rxlen = len;
        return 0;
    }
    return tls_feed(s->tls, data, len) == 0 ? 0 : STREAM_ERROR;
}

static int from_tls(int n)
{
    return n == TLS_WANT ? STREAM_AGAIN : n == TLS_CLOSED ? STREAM_CLOSED : STREAM_ERROR;
}

int stream_read_tls(struct stream_pool *p, struct stream *s, const uint8_t **out)
{
    int n = tls_read(s->tls, p->plain, PLAIN_MAX);
    if (!s->up && tls_handshake_done(s->tls)) {
        /* Say so before the first plaintext, which the next read returns. */
        s->up = true;
        if (n > 0) {
            s->rx = p->plain;
            s->rxlen = (uint32_t)n;
        }
        return STREAM_UP;
    }
    if (n > 0) {
        *out = p->plain;
        return n;
    }
    return from_tls(n);
}

void stream_message(struct stream *s, const struct iovec *iov, int n, size_t total)
{
    s->iov = iov;
    s->n = n;
    s->total = total;
    s->off = 0;
}

/* The window of the message from s->off, at most `piece` bytes, in s->win. */
static int plain_window(struct stream *s, size_t piece)
{
    size_t skip = s->off, left = piece;
    int k = 0;
    for (int i = 0; i < s->n && left && k < s->wincap; i++) {
        size_t len = s->iov[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t take = len - skip < left ? len - skip : left;
        s->win[k++] = (struct iovec){ (char *)s->iov[i].iov_base + skip, take };
        left -= take;
        skip = 0;
    }
    return k;
}

static int plain_push(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen, size_t piece,
                      bool quiet)
{
    if (s->inflight || !s->iov || s->off >= s->total)
        return 0;
    size_t len;
    if (s->off == 0 && piece >= s->total) {
        len = s->total;
        if (s->n == 1) {
            ring_send(p->ring, slot, gen, s->iov[0].iov_base, len, quiet);
        } else {
            /* Read by the kernel when submitted (6.x copies the msghdr at
             * prep); the iovecs are the caller's, unchanged until done. */
            s->msg = (struct msghdr){ .msg_iov = (struct iovec *)s->iov, .msg_iovlen = (size_t)s->n };
            ring_sendmsg(p->ring, slot, gen, &s->msg, quiet);
        }
    } else {
        int k = plain_window(s, piece);
        len = 0;
        for (int i = 0; i < k; i++)
            len += s->win[i].iov_len;
        s->msg = (struct msghdr){ .msg_iov = s->win, .msg_iovlen = (size_t)k };
        quiet = false; /* a piece's completion tells the caller to push the next */
        ring_sendmsg(p->ring, slot, gen, &s->msg, false);
    }
    s->off += len;
    if (quiet)
        s->wire_out += len;
    else
        s->inflight = (uint32_t)len;
    return 0;
}

/* Encrypt what the message has left as far as the output buffer takes it
 * (tls_writev: a head and a short body gathered into one record, a shared
 * large body encrypted where it is, never copied), then send what is
 * waiting there, handshake flights included. */
static int tls_push(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen)
{
    if (s->inflight)
        return 0;
    bool more = s->up && s->iov && s->off < s->total;
    if (more) {
        ssize_t w = tls_writev(s->tls, s->iov, s->n, s->off, p->stage, TLS_STAGE_MIN);
        if (w < 0)
            return STREAM_ERROR;
        s->off += (size_t)w;
    }
    size_t len;
    const uint8_t *b = tls_pending(s->tls, &len);
    if (!len)
        return more ? STREAM_ERROR : 0; /* took nothing into an empty buffer: it never will */
    s->inflight = (uint32_t)len;
    ring_send(p->ring, slot, gen, b, len, false);
    return 0;
}

int stream_push_some(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen, size_t piece,
                     bool quiet)
{
    return s->tls ? tls_push(p, s, slot, gen) : plain_push(p, s, slot, gen, piece, quiet);
}

int stream_sent(struct stream *s, int res)
{
    uint32_t len = s->inflight;
    s->inflight = 0;
    if (!len || res <= 0) {
        /* No reported send in flight: a quiet send failed. */
        if (!s->tls && len)
            s->off -= len;
        return STREAM_ERROR;
    }
    s->wire_out += (uint64_t)res;
    if (!s->tls) {
        s->off -= len - (uint32_t)res; /* a short send: the rest goes again */
        return s->off < s->total ? STREAM_AGAIN : STREAM_DONE;
    }
    tls_consumed(s->tls, (size_t)res);
    size_t left;
    tls_pending(s->tls, &left);
    bool more = s->iov && s->off < s->total;
    return left || more ? STREAM_AGAIN : STREAM_DONE;
}

bool stream_shutdown(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen)
{
    if (!s->tls || s->inflight)
        return false;
    tls_shutdown(s->tls);
    size_t len;
    const uint8_t *b = tls_pending(s->tls, &len);
    if (!len)
        return false;
    s->inflight = (uint32_t)len;
    ring_send(p->ring, slot, gen, b, len, false);
    return true;
}

/* Keep t until the send completion of (slot, gen). Should the list not grow,
 * t is leaked rather than freed under the kernel's feet. */
static void grave_add(struct stream_pool *p, struct tls_conn *t, uint32_t slot, uint32_t gen)
{
    if (p->ngraves == p->gcap) {
        uint32_t cap = p->gcap ? 2 * p->gcap : 16;
        struct stream_grave *g = realloc(p->graves, cap * sizeof *g);
        if (!g)
            return;
        p->graves = g;
        p->gcap = cap;
    }
    p->graves[p->ngraves++] = (struct stream_grave){ t, slot, gen & RING_GEN_MASK };
}

void stream_closed(struct stream_pool *p, struct stream *s, uint32_t slot, uint32_t gen)
{
    if (s->tls) {
        if (s->inflight)
            grave_add(p, s->tls, slot, gen);
        else
            tls_conn_free(s->tls);
    }
    s->tls = NULL;
    s->iov = NULL;
    s->n = 0;
    s->total = s->off = 0;
    s->inflight = 0;
    s->rxlen = 0;
    s->up = false;
}

bool stream_reap(struct stream_pool *p, uint32_t slot, uint32_t gen)
{
    for (uint32_t i = 0; i < p->ngraves; i++) {
        if (p->graves[i].slot == slot && p->graves[i].gen == gen) {
            tls_conn_free(p->graves[i].t);
            p->graves[i] = p->graves[--p->ngraves];
            return true;
        }
    }
    return false;
}
