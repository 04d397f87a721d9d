/* Private to tls/ (tls.c, tls_ctx.c, tls_session.c, tls_alloc.c): the context and
 * connection structs and what the files call across. The public contract is tls.h; nothing
 * outside tls/ includes this, and nothing here includes anything from blaster/ or ring/.
 */
#ifndef BLASTER_TLS_INT_H
#define BLASTER_TLS_INT_H

#include "tls/tls.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#define CACHE_SLOTS 8        /* server names whose last session a worker remembers */
#define ERR_LEN     192

struct cached_session {
	char *name;
	WOLFSSL_SESSION *session;
};

struct tls_ctx {
	WOLFSSL_CTX *ctx;
	bool server;
	bool verify;
	bool resume;
	size_t outbuf;       /* each connection's output buffer, while it has output */
	unsigned next_slot;  /* round-robin replacement */
	struct cached_session cache[CACHE_SLOTS];
};

struct tls_conn {
	WOLFSSL *ssl;
	struct tls_ctx *ctx;
	char *server_name;      /* client with resume: the cache key */

	uint8_t *in;            /* input window: in[in_off .. in_len) not yet read by wolfSSL */
	size_t in_off, in_len, in_cap;

	uint8_t *out;           /* output: out[out_off .. out_len) waiting to be sent; taken from
				   the thread's cache when there is output, given back when sent */
	size_t out_off, out_len;

	uint8_t first[5];       /* first bytes from the peer, to recognise plaintext HTTP */
	uint8_t nfirst;

	bool write_blocked;     /* io_send said WANT_WRITE: wait for tls_consumed */
	bool handshake_done;
	bool resumed;
	bool ticket_seen;       /* a session ticket arrived: store the session */
	bool session_stored;
	bool closed;
	bool failed;
	char err[ERR_LEN];
};

/* tls_alloc.c: route wolfSSL's allocations through the per-thread block cache; once per
 * process, before wolfSSL allocates anything. */
void tls_alloc_init(void);
/* A block from the calling thread's cache (or malloc), and back to the freeing thread's. */
void *tls_block_alloc(size_t size);
void tls_block_free(void *p);

/* tls_session.c: a client context's session cache, one slot per server name. */
struct cached_session *tls_session_find(struct tls_ctx *c, const char *name);
void tls_session_store(struct tls_conn *t);
void tls_session_cache_free(struct tls_ctx *c);

/* Store t's session once it is resumable. A TLS 1.2 session is complete when the handshake
 * is; a TLS 1.3 session is only resumable once a NewSessionTicket has arrived after the
 * handshake. Inline: every tls_read asks, and almost always the answer is no. */
static inline void tls_session_store_maybe(struct tls_conn *t)
{
	if (!t->ctx->resume || !t->server_name || !t->handshake_done)
		return;
	if (t->ticket_seen || (!t->session_stored && wolfSSL_version(t->ssl) == TLS1_2_VERSION
			       && !t->resumed)) {
		t->ticket_seen = false;
		tls_session_store(t);
	}
}

#endif
