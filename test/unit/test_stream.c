/* stream: the connection interface of the engine and of `blaster serve`,
 * plain and TLS, without a ring or a socket. The ring's two sends are
 * replaced at link time (ld --wrap=ring_send,--wrap=ring_sendmsg, see the
 * Makefile): each send is recorded with a copy of its bytes, and a test
 * plays the kernel, completing sends with stream_sent and, for TLS, moving
 * the bytes into the other end's stream_feed.
 *
 * The certificate is made at test time with the openssl CLI into a temp dir,
 * as test_tls.c does: one self-signed certificate for "localhost" that the
 * client also trusts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/run/stream.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- the wire: what the wrapped ring sends recorded -------------------------- */

struct sent {
    struct ring   *ring;
    uint32_t       slot, gen;
    bool           quiet;
    bool           msg;       /* ring_sendmsg (else ring_send) */
    size_t         niov;      /* sendmsg: iovecs in the msghdr */
    const void    *first;     /* where the first byte was (ring_send: buf; sendmsg: iov[0]) */
    uint8_t       *bytes;     /* a copy */
    size_t         len;
};

#define SENT_MAX 4096
static struct sent sends[SENT_MAX];
static size_t nsends, taken;

static struct sent *record(struct ring *r, uint32_t slot, uint32_t gen, bool quiet, size_t len)
{
    if (nsends == SENT_MAX)
        fail_msg("more than %d sends recorded", SENT_MAX);
    struct sent *x = &sends[nsends++];
    *x = (struct sent){ .ring = r, .slot = slot, .gen = gen, .quiet = quiet, .len = len };
    x->bytes = malloc(len ? len : 1);
    assert_non_null(x->bytes);
    return x;
}

void __wrap_ring_send(struct ring *r, uint32_t slot, uint32_t gen, const void *buf, size_t len, bool quiet);
void __wrap_ring_sendmsg(struct ring *r, uint32_t slot, uint32_t gen, const struct msghdr *msg, bool quiet);

void __wrap_ring_send(struct ring *r, uint32_t slot, uint32_t gen, const void *buf, size_t len, bool quiet)
{
    struct sent *x = record(r, slot, gen, quiet, len);
    x->first = buf;
    memcpy(x->bytes, buf, len);
}

void __wrap_ring_sendmsg(struct ring *r, uint32_t slot, uint32_t gen, const struct msghdr *msg, bool quiet)
{
    size_t len = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++)
        len += msg->msg_iov[i].iov_len;
    struct sent *x = record(r, slot, gen, quiet, len);
    x->msg = true;
    x->niov = msg->msg_iovlen;
    x->first = msg->msg_iovlen ? msg->msg_iov[0].iov_base : NULL;
    size_t off = 0;
    for (size_t i = 0; i < msg->msg_iovlen; i++) {
        memcpy(x->bytes + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
        off += msg->msg_iov[i].iov_len;
    }
}

/* The next send not looked at yet, or NULL. */
static struct sent *next_sent(void)
{
    return taken < nsends ? &sends[taken++] : NULL;
}

static int wire_reset(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsends; i++)
        free(sends[i].bytes);
    nsends = taken = 0;
    return 0;
}

/* --- plain ------------------------------------------------------------------- */

/* Any pointer: the wrapped sends only pass it on. */
static struct ring fake_ring;

/* A message of pieces with distinct bytes, so a window off by one shows. */
struct message {
    struct iovec iov[8];
    int          n;
    size_t       total;
    uint8_t     *all;      /* the whole message, contiguous */
};

static void message_make(struct message *m, const size_t *lens, int n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    for (int i = 0; i < n; i++)
        m->total += lens[i];
    m->all = malloc(m->total);
    assert_non_null(m->all);
    for (size_t i = 0; i < m->total; i++)
        m->all[i] = (uint8_t)(i * 131 + i / 251);
    /* Each piece in its own buffer, as a head and a shared body are. */
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *b = malloc(lens[i] ? lens[i] : 1);
        assert_non_null(b);
        memcpy(b, m->all + off, lens[i]);
        m->iov[i] = (struct iovec){ b, lens[i] };
        off += lens[i];
    }
}

static void message_free(struct message *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->iov[i].iov_base);
    free(m->all);
}

struct plain {
    struct stream_pool pool;
    struct stream      s;
    struct iovec       win[8];
    struct message     m;          /* the message to send */
};

static void plain_open(struct plain *c, int wincap)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(stream_pool_init(&c->pool, &fake_ring, NULL), 0);
    stream_init(&c->s, c->win, wincap);
    assert_int_equal(stream_open(&c->pool, &c->s, NULL, NULL), 0);
    assert_true(stream_ready(&c->s));
    assert_false(stream_holds_state(&c->s));
    assert_false(stream_cuts_pieces(&c->s));
}

/* A plain stream with a message of pieces lens[0..n) to send. */
static void plain_start(struct plain *c, const size_t *lens, int n, int wincap)
{
    plain_open(c, wincap);
    message_make(&c->m, lens, n);
    stream_message(&c->s, c->m.iov, c->m.n, c->m.total);
}

static void plain_end(struct plain *c)
{
    message_free(&c->m);
    stream_pool_free(&c->pool);
    wire_reset(NULL);
}

static void test_plain_whole_quiet(void **state)
{
    (void)state;
    static const size_t one[] = { 700 }, three[] = { 40, 1000, 3 };
    static const struct { const size_t *lens; int n; } cases[] = { { one, 1 }, { three, 3 } };
    for (size_t c = 0; c < N(cases); c++) {
        struct plain p;
        plain_start(&p, cases[c].lens, cases[c].n, 8);
        assert_false(stream_begun(&p.s));
        assert_int_equal(stream_push(&p.pool, &p.s, 7, 9, SIZE_MAX, true), 0);

        struct sent *x = next_sent();
        assert_non_null(x);
        assert_null(next_sent());
        assert_ptr_equal(x->ring, &fake_ring);
        assert_int_equal(x->slot, 7);
        assert_int_equal(x->gen, 9);
        assert_true(x->quiet);
        /* One iovec: a plain send; more: one sendmsg of the caller's own iovecs. */
        assert_int_equal(x->msg, p.m.n > 1);
        if (x->msg)
            assert_int_equal(x->niov, (size_t)p.m.n);
        assert_ptr_equal(x->first, p.m.iov[0].iov_base); /* not copied */
        assert_int_equal(x->len, p.m.total);
        assert_memory_equal(x->bytes, p.m.all, p.m.total);

        /* Quiet: nothing in flight, every byte counted at once. */
        assert_false(stream_sending(&p.s));
        assert_true(stream_begun(&p.s));
        assert_false(stream_unsent(&p.s));
        assert_int_equal(stream_wire_out(&p.s), p.m.total);
        assert_int_equal(stream_wire_out(&p.s), 0);
        /* The message is all out: a push sends nothing more. */
        assert_int_equal(stream_push(&p.pool, &p.s, 7, 9, SIZE_MAX, true), 0);
        assert_null(next_sent());
        plain_end(&p);
    }
}

/* Pushed whole but reported (how serve sends): in flight until its completion. */
static void test_plain_whole_reported(void **state)
{
    (void)state;
    static const size_t lens[] = { 100, 5000 };
    struct plain p;
    plain_start(&p, lens, 2, 8);
    assert_int_equal(stream_push(&p.pool, &p.s, 3, 1, SIZE_MAX, false), 0);
    struct sent *x = next_sent();
    assert_non_null(x);
    assert_false(x->quiet);
    assert_true(x->msg);
    assert_int_equal(x->len, p.m.total);
    assert_true(stream_sending(&p.s));
    assert_int_equal(stream_wire_out(&p.s), 0); /* counted when the kernel says so */
    /* One send in flight at most: a second push waits. */
    assert_int_equal(stream_push(&p.pool, &p.s, 3, 1, SIZE_MAX, false), 0);
    assert_null(next_sent());
    assert_int_equal(stream_sent(&p.s, (int)p.m.total), STREAM_DONE);
    assert_false(stream_sending(&p.s));
    assert_int_equal(stream_wire_out(&p.s), p.m.total);
    plain_end(&p);
}

/* Push and complete the message in pieces until STREAM_DONE; every window
 * at most `piece` bytes (exactly `piece` but the last unless wincap cuts it
 * first), reported, and the windows together exactly the message. */
static void send_in_pieces(const size_t *lens, int n, size_t piece, int wincap)
{
    struct plain p;
    plain_start(&p, lens, n, wincap);
    uint8_t *got = malloc(p.m.total);
    assert_non_null(got);
    size_t off = 0;
    for (int round = 0;; round++) {
        assert_true(round < 100000);
        assert_true(stream_unsent(&p.s));
        assert_int_equal(stream_push(&p.pool, &p.s, 2, 5, piece, true), 0);
        struct sent *x = next_sent();
        assert_non_null(x);
        assert_null(next_sent());
        assert_false(x->quiet); /* a piece's completion says when to push the next */
        assert_true(x->msg);
        assert_int_equal(x->slot, 2);
        assert_int_equal(x->gen, 5);
        assert_true(x->len > 0 && x->len <= piece);
        assert_true(x->niov <= (size_t)wincap);
        size_t want = p.m.total - off < piece ? p.m.total - off : piece;
        if (wincap >= p.m.n)
            assert_int_equal(x->len, want);
        assert_true(off + x->len <= p.m.total);
        memcpy(got + off, x->bytes, x->len);
        off += x->len;
        assert_true(stream_sending(&p.s));
        /* Nothing goes while the piece is in flight. */
        assert_int_equal(stream_push(&p.pool, &p.s, 2, 5, piece, true), 0);
        assert_null(next_sent());
        assert_int_equal(stream_wire_out(&p.s), 0);
        int rc = stream_sent(&p.s, (int)x->len);
        assert_int_equal(stream_wire_out(&p.s), x->len);
        if (off < p.m.total) {
            assert_int_equal(rc, STREAM_AGAIN);
            continue;
        }
        assert_int_equal(rc, STREAM_DONE);
        break;
    }
    assert_false(stream_unsent(&p.s));
    assert_memory_equal(got, p.m.all, p.m.total);
    free(got);
    plain_end(&p);
}

static void test_plain_pieces(void **state)
{
    (void)state;
    static const size_t a[] = { 100, 1000, 37 }, b[] = { 65536 + 77 }, c[] = { 1, 1, 1, 1, 1, 1 },
                        d[] = { 300, 0, 300 };
    static const struct { const size_t *lens; int n; size_t piece; int wincap; } cases[] = {
        { a, 3, 256, 8 },
        { a, 3, 100, 8 },        /* windows that end where an iovec ends */
        { a, 3, 1, 8 },
        { a, 3, 1136, 8 },       /* the total less one: two pieces */
        { b, 1, 16384, 8 },
        { c, 6, 4, 8 },
        { c, 6, 4, 2 },          /* the window's room, not the piece, cuts it */
        { d, 3, 200, 8 },        /* an empty iovec in the middle */
    };
    for (size_t i = 0; i < N(cases); i++)
        send_in_pieces(cases[i].lens, cases[i].n, cases[i].piece, cases[i].wincap);
}

/* A completion of fewer bytes than were sent: the next push sends exactly
 * the bytes that did not go, whole message or piece. */
static void test_plain_short_send(void **state)
{
    (void)state;
    static const size_t lens[] = { 50, 2000, 10 };
    static const size_t pieces[] = { SIZE_MAX, 512 };
    for (size_t c = 0; c < N(pieces); c++) {
        struct plain p;
        plain_start(&p, lens, 3, 8);
        assert_int_equal(stream_push(&p.pool, &p.s, 4, 4, pieces[c], false), 0);
        struct sent *x = next_sent();
        assert_non_null(x);
        size_t res = 73; /* inside the second iovec */
        assert_true(x->len > res);
        assert_int_equal(stream_sent(&p.s, (int)res), STREAM_AGAIN);
        assert_int_equal(stream_wire_out(&p.s), res);
        assert_true(stream_unsent(&p.s));
        assert_int_equal(stream_push(&p.pool, &p.s, 4, 4, pieces[c], false), 0);
        x = next_sent();
        assert_non_null(x);
        size_t want = p.m.total - res < pieces[c] ? p.m.total - res : pieces[c];
        assert_int_equal(x->len, want);
        assert_memory_equal(x->bytes, p.m.all + res, want);
        /* Then the rest, whole (a big piece) or piece by piece. */
        size_t off = res;
        for (;;) {
            off += x->len;
            int rc = stream_sent(&p.s, (int)x->len);
            if (off == p.m.total) {
                assert_int_equal(rc, STREAM_DONE);
                break;
            }
            assert_int_equal(rc, STREAM_AGAIN);
            assert_int_equal(stream_push(&p.pool, &p.s, 4, 4, pieces[c], false), 0);
            x = next_sent();
            assert_non_null(x);
            assert_memory_equal(x->bytes, p.m.all + off, x->len);
        }
        plain_end(&p);
    }
}

/* A failed send (res < 0, or no progress) fails the stream; so does a
 * completion for a quiet send, which only comes when it failed. */
static void test_plain_send_error(void **state)
{
    (void)state;
    static const size_t lens[] = { 10, 20 };
    static const int results[] = { -104, -32, 0 };
    for (size_t c = 0; c < N(results); c++) {
        struct plain p;
        plain_start(&p, lens, 2, 8);
        assert_int_equal(stream_push(&p.pool, &p.s, 1, 1, 16, false), 0);
        assert_non_null(next_sent());
        assert_int_equal(stream_sent(&p.s, results[c]), STREAM_ERROR);
        assert_false(stream_sending(&p.s));
        assert_int_equal(stream_wire_out(&p.s), 0);
        plain_end(&p);
    }
    struct plain p;
    plain_start(&p, lens, 2, 8);
    assert_int_equal(stream_push(&p.pool, &p.s, 1, 1, SIZE_MAX, true), 0);
    assert_int_equal(stream_wire_out(&p.s), p.m.total);
    assert_int_equal(stream_sent(&p.s, -32), STREAM_ERROR);
    plain_end(&p);
}

/* Received bytes are read where the ring put them, once; dropped ones never. */
static void test_plain_read(void **state)
{
    (void)state;
    struct plain p;
    plain_open(&p, 8);
    static const uint8_t buf[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    const uint8_t *out = NULL;
    assert_int_equal(stream_read(&p.pool, &p.s, &out), STREAM_AGAIN);
    assert_int_equal(stream_feed(&p.s, buf, sizeof buf - 1), 0);
    assert_int_equal(stream_read(&p.pool, &p.s, &out), (int)sizeof buf - 1);
    assert_ptr_equal(out, buf);
    assert_int_equal(stream_read(&p.pool, &p.s, &out), STREAM_AGAIN);

    assert_int_equal(stream_feed(&p.s, buf + 4, 5), 0);
    stream_drop(&p.s);
    assert_int_equal(stream_read(&p.pool, &p.s, &out), STREAM_AGAIN);

    /* A plain stream has nothing to end in band and nothing to keep. */
    assert_false(stream_shutdown(&p.pool, &p.s, 1, 1));
    assert_null(next_sent());
    stream_closed(&p.pool, &p.s, 1, 1);
    assert_int_equal(p.pool.ngraves, 0);
    assert_false(stream_reap(&p.pool, 1, 1));
    plain_end(&p);
}

/* --- TLS: a client and a server stream wired to each other --------------------- */

static char dir[64];
static char cert_pem[128], key_pem[128];

static int certs_make(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/blaster-stream-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cert_pem, sizeof cert_pem, "%s/cert.pem", dir);
    snprintf(key_pem, sizeof key_pem, "%s/key.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost"
             " -addext subjectAltName=DNS:localhost -addext basicConstraints=critical,CA:TRUE"
             " >/dev/null 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int certs_remove(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One end: its pool (as a worker has), its stream, what it read. */
struct end {
    struct stream_pool pool;
    struct stream      s;
    struct iovec       win[2];
    uint32_t           slot, gen;
    int                ups;        /* STREAM_UP seen */
    bool               closed;     /* STREAM_CLOSED seen */
    bool               plain_before_up;
    uint8_t           *rx;
    size_t             rxlen, rxcap;
    int                last_sent;  /* the last stream_sent result */
    uint64_t           wire;       /* stream_wire_out, summed */
    uint64_t           sent_bytes; /* bytes of its captured sends */
};

struct pair {
    struct tls_ctx *cctx, *sctx;
    struct end      c, s;
};

/* Read until the stream wants bytes, then push what it has (as conn_drive does). */
static void end_drive(struct end *e)
{
    while (!e->closed) {
        const uint8_t *p;
        int n = stream_read(&e->pool, &e->s, &p);
        if (n > 0) {
            if (e->ups != 1)
                e->plain_before_up = true;
            if (e->rxcap - e->rxlen < (size_t)n) {
                e->rxcap = (e->rxlen + (size_t)n) * 2;
                e->rx = realloc(e->rx, e->rxcap);
                assert_non_null(e->rx);
            }
            memcpy(e->rx + e->rxlen, p, (size_t)n);
            e->rxlen += (size_t)n;
            continue;
        }
        if (n == STREAM_UP) {
            e->ups++;
            assert_true(stream_ready(&e->s));
            continue;
        }
        if (n == STREAM_CLOSED) {
            e->closed = true;
            break;
        }
        if (n == STREAM_ERROR)
            fail_msg("stream error: %s", stream_error(&e->s));
        assert_int_equal(n, STREAM_AGAIN);
        break;
    }
    /* The engine pushes TLS with quiet and a bulk piece: both must not apply. */
    assert_int_equal(stream_push(&e->pool, &e->s, e->slot, e->gen, 100, true), 0);
    e->wire += stream_wire_out(&e->s);
}

/* Play the kernel: deliver every recorded send to the other end and
 * complete it, until nothing moves. */
static void pair_pump(struct pair *p)
{
    end_drive(&p->c);
    end_drive(&p->s);
    struct sent *x;
    while ((x = next_sent())) {
        struct end *from = x->slot == p->c.slot ? &p->c : &p->s;
        struct end *to = from == &p->c ? &p->s : &p->c;
        assert_int_equal(x->slot, from->slot);
        assert_int_equal(x->gen, from->gen);
        assert_false(x->quiet);
        assert_false(x->msg);
        assert_true(stream_sending(&from->s));
        from->sent_bytes += x->len;
        assert_int_equal(stream_feed(&to->s, x->bytes, x->len), 0);
        from->last_sent = stream_sent(&from->s, (int)x->len);
        assert_true(from->last_sent == STREAM_DONE || from->last_sent == STREAM_AGAIN);
        from->wire += stream_wire_out(&from->s);
        end_drive(to);
        end_drive(from);
    }
}

static void end_open(struct end *e, struct tls_ctx *ctx, const char *server_name, uint32_t slot)
{
    assert_int_equal(stream_pool_init(&e->pool, &fake_ring, ctx), 0);
    stream_init(&e->s, e->win, 2);
    e->slot = slot;
    e->gen = 1;
    assert_int_equal(stream_open(&e->pool, &e->s, ctx, server_name), 0);
    assert_false(stream_ready(&e->s));
    assert_true(stream_holds_state(&e->s));
    assert_true(stream_cuts_pieces(&e->s));
}

static void pair_open(struct pair *p)
{
    struct tls_config ccfg = { .cafile = cert_pem };
    struct tls_config scfg = { .certfile = cert_pem, .keyfile = key_pem };
    char err[256] = "";
    memset(p, 0, sizeof *p);
    if (tls_ctx_new(&p->cctx, &ccfg, err, sizeof err) != 0)
        fail_msg("client ctx: %s", err);
    if (tls_ctx_new_server(&p->sctx, &scfg, err, sizeof err) != 0)
        fail_msg("server ctx: %s", err);
    end_open(&p->c, p->cctx, "localhost", 11);
    end_open(&p->s, p->sctx, NULL, 22);
}

/* Connect and handshake: STREAM_UP once on each side. */
static void pair_connect(struct pair *p)
{
    pair_open(p);
    pair_pump(p);
    assert_int_equal(p->c.ups, 1);
    assert_int_equal(p->s.ups, 1);
    assert_true(stream_ready(&p->c.s));
    assert_true(stream_ready(&p->s.s));
    assert_string_equal(stream_protocol(&p->c.s), "TLSv1.3");
    assert_false(stream_resumed(&p->c.s));
    assert_string_equal(stream_error(&p->c.s), "");
    /* The handshake's bytes went both ways and were counted as sent. */
    assert_true(p->c.sent_bytes > 0 && p->s.sent_bytes > 0);
    assert_int_equal(p->c.wire, p->c.sent_bytes);
    assert_int_equal(p->s.wire, p->s.sent_bytes);
}

static void end_close(struct end *e)
{
    if (stream_holds_state(&e->s))
        stream_closed(&e->pool, &e->s, e->slot, e->gen);
    stream_pool_free(&e->pool);
    free(e->rx);
}

static void pair_close(struct pair *p)
{
    end_close(&p->c);
    end_close(&p->s);
    tls_ctx_free(p->cctx);
    tls_ctx_free(p->sctx);
    wire_reset(NULL);
}

/* Send message m from one end, pump, and check the other end read exactly it. */
static void pair_send(struct pair *p, struct end *from, struct end *to, const struct message *m)
{
    uint64_t wire0 = from->wire, sent0 = from->sent_bytes;
    size_t rx0 = to->rxlen;
    stream_message(&from->s, m->iov, m->n, m->total);
    pair_pump(p);
    assert_int_equal(from->last_sent, STREAM_DONE);
    assert_false(stream_unsent(&from->s));
    assert_int_equal(to->rxlen - rx0, m->total);
    assert_memory_equal(to->rx + rx0, m->all, m->total);
    /* Ciphertext counted: every byte of the sends, more than the plaintext. */
    assert_int_equal(from->wire - wire0, from->sent_bytes - sent0);
    assert_true(from->wire - wire0 > m->total);
    assert_false(to->plain_before_up);
}

static void test_tls_exchange(void **state)
{
    (void)state;
    struct pair p;
    pair_connect(&p);

    static const char head[] = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n";
    struct message req;
    const size_t rlens[] = { sizeof head - 1, 1 << 20 };
    message_make(&req, rlens, 2);
    pair_send(&p, &p.c, &p.s, &req);
    /* A megabyte goes in several sends, each of one output buffer at most. */
    size_t sends_of_client = 0;
    for (size_t i = 0; i < nsends; i++) {
        if (sends[i].slot == p.c.slot) {
            assert_true(sends[i].len <= TLS_OUTBUF_DEFAULT);
            sends_of_client++;
        }
    }
    assert_true(sends_of_client > (1 << 20) / TLS_OUTBUF_DEFAULT);

    struct message resp;
    const size_t slens[] = { 38, 5 };
    message_make(&resp, slens, 2);
    pair_send(&p, &p.s, &p.c, &resp);

    /* close_notify: the client ends the stream, the server reads the end. */
    assert_false(p.s.closed);
    assert_true(stream_shutdown(&p.c.pool, &p.c.s, p.c.slot, p.c.gen));
    assert_true(stream_sending(&p.c.s));
    /* A send in flight: no second one. */
    assert_false(stream_shutdown(&p.c.pool, &p.c.s, p.c.slot, p.c.gen));
    pair_pump(&p);
    assert_true(p.s.closed);
    assert_int_equal(p.c.last_sent, STREAM_DONE);
    assert_int_equal(p.c.ups, 1);
    assert_int_equal(p.s.ups, 1);

    message_free(&req);
    message_free(&resp);
    pair_close(&p);
}

/* A request waiting while the handshake runs (a VU's first request): it
 * goes out once the client is up, and the server says STREAM_UP before the
 * first plaintext even when both come in one feed. */
static void test_tls_message_before_up(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    struct message req;
    const size_t lens[] = { 60, 20000 };
    message_make(&req, lens, 2);
    stream_message(&p.c.s, req.iov, req.n, req.total);
    pair_pump(&p);
    assert_int_equal(p.c.ups, 1);
    assert_int_equal(p.s.ups, 1);
    assert_false(p.s.plain_before_up);
    assert_int_equal(p.c.last_sent, STREAM_DONE);
    assert_int_equal(p.s.rxlen, req.total);
    assert_memory_equal(p.s.rx, req.all, req.total);
    message_free(&req);
    pair_close(&p);
}

/* The server ends the stream after its response (serve's conn_notify). */
static void test_tls_server_shutdown(void **state)
{
    (void)state;
    struct pair p;
    pair_connect(&p);
    struct message resp;
    const size_t lens[] = { 100 };
    message_make(&resp, lens, 1);
    pair_send(&p, &p.s, &p.c, &resp);
    assert_true(stream_shutdown(&p.s.pool, &p.s.s, p.s.slot, p.s.gen));
    pair_pump(&p);
    assert_true(p.c.closed);
    message_free(&resp);
    pair_close(&p);
}

/* Closed with a send in flight: the TLS state waits in a grave until that
 * send's completion, and is freed then, once. */
static void test_tls_grave(void **state)
{
    (void)state;
    struct pair p;
    pair_connect(&p);
    struct message resp;
    const size_t lens[] = { 3000 };
    message_make(&resp, lens, 1);
    stream_message(&p.s.s, resp.iov, resp.n, resp.total);
    assert_int_equal(stream_push(&p.s.pool, &p.s.s, p.s.slot, p.s.gen, SIZE_MAX, false), 0);
    struct sent *x = next_sent();
    assert_non_null(x);
    assert_true(stream_sending(&p.s.s));

    /* The ring delivers gens masked to 24 bits: a grave must match those. */
    uint32_t gen = 0x3000007;
    long live = tls_thread_live_bytes();
    stream_closed(&p.s.pool, &p.s.s, p.s.slot, gen);
    assert_false(stream_holds_state(&p.s.s));
    assert_false(stream_sending(&p.s.s));
    assert_false(stream_ready(&p.s.s));
    assert_int_equal(p.s.pool.ngraves, 1);
    assert_int_equal(tls_thread_live_bytes(), live); /* the kernel may still read it */

    assert_false(stream_reap(&p.s.pool, p.s.slot + 1, gen & RING_GEN_MASK));
    assert_false(stream_reap(&p.s.pool, p.s.slot, (gen + 1) & RING_GEN_MASK));
    assert_false(stream_reap(&p.c.pool, p.s.slot, gen & RING_GEN_MASK));
    assert_int_equal(p.s.pool.ngraves, 1);
    assert_int_equal(tls_thread_live_bytes(), live);

    assert_true(stream_reap(&p.s.pool, p.s.slot, gen & RING_GEN_MASK));
    assert_int_equal(p.s.pool.ngraves, 0);
    long freed = live - tls_thread_live_bytes();
    assert_true(freed > 16384); /* a connection is at least the WOLFSSL object */
    assert_false(stream_reap(&p.s.pool, p.s.slot, gen & RING_GEN_MASK));
    assert_int_equal(live - tls_thread_live_bytes(), freed);

    /* The slot is reused at once: the stream opens again. */
    assert_int_equal(stream_open(&p.s.pool, &p.s.s, p.sctx, NULL), 0);
    assert_true(stream_holds_state(&p.s.s));
    message_free(&resp);
    pair_close(&p);
}

/* Closed with nothing in flight: freed at once, no grave. */
static void test_tls_closed_idle(void **state)
{
    (void)state;
    struct pair p;
    pair_connect(&p);
    assert_false(stream_sending(&p.c.s));
    long live = tls_thread_live_bytes();
    stream_closed(&p.c.pool, &p.c.s, p.c.slot, p.c.gen);
    assert_false(stream_holds_state(&p.c.s));
    assert_int_equal(p.c.pool.ngraves, 0);
    assert_true(live - tls_thread_live_bytes() > 16384);
    assert_false(stream_reap(&p.c.pool, p.c.slot, p.c.gen));
    pair_close(&p);
}

/* Graves still there when the worker ends are freed with the pool. */
static void test_tls_pool_free_graves(void **state)
{
    (void)state;
    struct pair p;
    pair_connect(&p);
    assert_true(stream_shutdown(&p.c.pool, &p.c.s, p.c.slot, p.c.gen));
    assert_non_null(next_sent());
    stream_closed(&p.c.pool, &p.c.s, p.c.slot, p.c.gen);
    assert_int_equal(p.c.pool.ngraves, 1);
    long live = tls_thread_live_bytes();
    stream_pool_free(&p.c.pool);
    assert_true(live - tls_thread_live_bytes() > 16384);
    assert_int_equal(p.c.pool.ngraves, 0);
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_plain_whole_quiet, wire_reset),
        cmocka_unit_test_teardown(test_plain_whole_reported, wire_reset),
        cmocka_unit_test_teardown(test_plain_pieces, wire_reset),
        cmocka_unit_test_teardown(test_plain_short_send, wire_reset),
        cmocka_unit_test_teardown(test_plain_send_error, wire_reset),
        cmocka_unit_test_teardown(test_plain_read, wire_reset),
        cmocka_unit_test_teardown(test_tls_exchange, wire_reset),
        cmocka_unit_test_teardown(test_tls_message_before_up, wire_reset),
        cmocka_unit_test_teardown(test_tls_server_shutdown, wire_reset),
        cmocka_unit_test_teardown(test_tls_grave, wire_reset),
        cmocka_unit_test_teardown(test_tls_closed_idle, wire_reset),
        cmocka_unit_test_teardown(test_tls_pool_free_graves, wire_reset),
    };
    return cmocka_run_group_tests(tests, certs_make, certs_remove);
}
