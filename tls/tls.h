/* tls: wolfSSL as a byte transform.
 *
 * Ciphertext in, plaintext out, and back. Nothing here knows about sockets, the ring or
 * HTTP, and nothing prints: wolfSSL reads ciphertext from an in-memory input window and
 * writes ciphertext into an in-memory output buffer through its custom I/O callbacks.
 * The caller moves those bytes to and from the network.
 *
 * The loop a connection runs (client or server):
 *
 *     tls_conn_new(&t, ctx, "example.com");
 *     for (;;) {
 *         n = tls_read(t, buf, sizeof buf);      drives the handshake, then decrypts
 *         if (n > 0)          hand buf[0..n) to the HTTP parser, read again
 *         if (n == TLS_WANT)  send tls_pending(); wait for ciphertext; tls_feed(); read again
 *         if (n == TLS_CLOSED / TLS_ERROR)  close (tls_error(t) says why)
 *     }
 *
 * Call tls_read again after every tls_feed and after every tls_consumed until it returns
 * TLS_WANT: the handshake only advances inside tls_read, and a flight that did not fit in
 * the output buffer continues once the buffer has drained.
 *
 * A client tls_ctx (its session cache) and every connection are used by one thread: one
 * client context per worker. A server context holds nothing of ours that changes, so the
 * threads of a server share one, and with it wolfSSL's session ticket key.
 */
#ifndef BLASTER_TLS_H
#define BLASTER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum {
	TLS_WANT   = -1,  /* needs more ciphertext (tls_feed), or the output buffer to drain */
	TLS_CLOSED = -2,  /* the peer sent close_notify */
	TLS_ERROR  = -3,  /* fatal; tls_error() says why; free the connection */
};

/* A connection's output buffer holds whole records: at least one full TLS record (16 KiB
 * of plaintext plus the largest overhead wolfSSL adds: header, explicit IV, MAC or AEAD
 * tag, CBC padding), by default four, so that a large body goes out in ~66 KiB sends
 * (measured: one record per send cost a 1 MiB upload ~25% more client CPU, the sends'
 * fixed cost). tls_write encrypts only what fits, so a large body is encrypted a few
 * records at a time as the ring drains the buffer. The buffer is taken from a per-thread
 * cache when there is output and given back when all of it is sent: an idle connection
 * holds none. */
#define TLS_OUTBUF_SIZE    (16384 + 512)
#define TLS_OUTBUF_DEFAULT (4 * TLS_OUTBUF_SIZE)

struct tls_ctx;   /* one per worker: the WOLFSSL_CTX, verification settings, session cache */
struct tls_conn;  /* one per connection */

struct tls_config {
	bool insecure;            /* client: skip certificate and host name verification */
	const char *cafile;       /* client: trust only this PEM bundle (NULL: system store) */
	const char *certfile;     /* client: certificate chain for mutual TLS; server: required */
	const char *keyfile;      /* private key (PEM) for certfile */
	int min_version;          /* 0 = default (TLS 1.2); 12 or 13 */
	int max_version;          /* 0 = default (TLS 1.3); 12 or 13 */
	bool resume;              /* client: resume sessions per server name (tickets) */
	size_t outbuf;            /* output buffer bytes (0: TLS_OUTBUF_DEFAULT; at least
				     TLS_OUTBUF_SIZE) */
};

/* Client context. Trust: cfg->cafile if set, else the system store
 * (wolfSSL_CTX_load_system_CA_certs, falling back to /etc/ssl/certs/ca-certificates.crt).
 * Returns 0, or -1 with a reason in err. */
int  tls_ctx_new(struct tls_ctx **out, const struct tls_config *cfg, char *err, size_t errlen);

/* Server context (for `blaster serve --tls` and tests): cfg->certfile and cfg->keyfile are
 * required, min_version/max_version apply, the rest is ignored. Issues session tickets.
 * Returns 0, or -1 with a reason in err. */
int  tls_ctx_new_server(struct tls_ctx **out, const struct tls_config *cfg,
			char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *c);  /* after all its connections are freed */

/* Client connection: SNI = server_name (not sent for an IP literal), ALPN http/1.1, the
 * certificate must name server_name unless insecure, and with cfg->resume the last session
 * for server_name in c's cache is offered. Returns 0 or -1 (out of memory). */
int  tls_conn_new(struct tls_conn **out, struct tls_ctx *c, const char *server_name);
int  tls_conn_new_server(struct tls_conn **out, struct tls_ctx *c);
void tls_conn_free(struct tls_conn *t);

/* Ciphertext that arrived from the network. It is copied into t's input window (which
 * grows to the largest amount fed between two tls_read calls and is kept), so the
 * caller's buffer is free again when this returns. Returns 0, or -1 if out of memory
 * (then t is failed and tls_read returns TLS_ERROR). */
int  tls_feed(struct tls_conn *t, const uint8_t *cipher, size_t len);

/* Drive the handshake and decrypt: returns bytes of plaintext written to out (> 0),
 * TLS_WANT, TLS_CLOSED or TLS_ERROR. cap must be > 0. */
int  tls_read(struct tls_conn *t, uint8_t *out, size_t cap);

/* Encrypt plaintext into the output buffer. Returns how many bytes of plain were taken
 * (0 <= n <= len: as many whole records as fit in the free part of the output buffer;
 * 0 before the handshake is done or while the buffer is full), or TLS_ERROR. Send
 * tls_pending(), then call again with the rest. Like write(2), never a partial record. */
ssize_t tls_write(struct tls_conn *t, const uint8_t *plain, size_t len);

/* tls_write over plaintext in pieces: iov[0..n) from byte off on (what an earlier call
 * took is skipped). Pieces shorter than a record are gathered through stage (stage_len
 * bytes, at least TLS_STAGE_MIN) so that a request's or response's head and a short body
 * make one record, not one each; a piece of a record's size or more, or the last piece,
 * is encrypted where it is, never copied. Returns the bytes taken, as tls_write does, or TLS_ERROR. */
#define TLS_STAGE_MIN 16384
ssize_t tls_writev(struct tls_conn *t, const struct iovec *iov, int n, size_t off,
		   uint8_t *stage, size_t stage_len);

/* Ciphertext waiting to be sent: a pointer into t's output buffer and its length (NULL
 * and 0 when there is none). The bytes stay put until tls_consumed says they were sent:
 * nothing moves or reallocates the buffer while any of it is pending. */
const uint8_t *tls_pending(struct tls_conn *t, size_t *len);
void tls_consumed(struct tls_conn *t, size_t n);

/* Queue close_notify (best effort; send tls_pending() before closing the socket). */
void tls_shutdown(struct tls_conn *t);

bool tls_handshake_done(const struct tls_conn *t);
bool tls_resumed(const struct tls_conn *t);     /* this handshake resumed a session */
const char *tls_protocol(const struct tls_conn *t);  /* "TLSv1.3", "TLSv1.2", "" */
const char *tls_error(const struct tls_conn *t); /* "" unless tls_read returned TLS_ERROR */

/* Bytes wolfSSL holds from allocations made and freed on the calling thread (its own
 * blocks, rounded up to their size class; blocks kept for reuse are not counted). For
 * tests and diagnostics: how much a connection costs is the drop when it is freed. */
long tls_thread_live_bytes(void);
/* How many of wolfSSL's allocations on the calling thread had to go to malloc (the rest
 * were served by the thread's cache): after the first requests of a connection, none. */
unsigned long tls_thread_mallocs(void);

/* "wolfSSL 5.5.4 (AES-NI)" or "wolfSSL 5.5.4 (no AES-NI)", from the headers built against. */
const char *tls_version_string(void);

#endif
