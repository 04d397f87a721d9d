/* tls: wolfSSL over in-memory buffers (see tls.h for the contract).
 *
 * wolfSSL never touches a socket: its receive callback (io_recv) copies from the
 * connection's input window, filled by tls_feed, and says WOLFSSL_CBIO_ERR_WANT_READ when
 * the window is empty; its send callback (io_send) appends to the output buffer that
 * tls_pending exposes, and says WOLFSSL_CBIO_ERR_WANT_WRITE when the buffer is full, in
 * which case wolfSSL keeps the rest of the flight itself and retries on the next call.
 */
#include "tls/tls.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/version.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 8        /* server names whose last session a worker remembers */
#define ERR_LEN     192
#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

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

/* ---- wolfSSL's memory: a per-thread cache of its record buffers --------------------
 *
 * wolfSSL keeps only a 5-byte header buffer in each connection and grows a buffer for
 * every record it reads or writes (GrowInputBuffer, GrowOutputBuffer), freeing it when
 * the record is done: two malloc/free pairs per HTTPS request, each taking glibc's arena
 * lock. Building it with LARGE_STATIC_BUFFERS instead would add 33 KiB to every
 * connection, idle or not. So every wolfSSL allocation goes through these functions:
 * blocks up to 128 KiB come in size classes and go back to a free list of the thread
 * that frees them, from which the next record takes its buffer. Connections' output
 * buffers come from the same lists, so an idle connection holds none. After
 * the first few records of a run no request of a worker reaches malloc. Each list is
 * bounded (CACHE_DEPTH blocks), and a thread's lists are freed when it exits. */

#define CACHE_MIN_SHIFT 6                 /* 64 B */
#define CACHE_MAX_SHIFT 17                /* 128 KiB: output buffers, WOLFSSL objects */
/* Four classes per power of two (64, 80, 96, 112, 128, 160, ...): what a block wastes
 * is under a quarter of it, which matters for the blocks an idle connection keeps. */
#define CACHE_CLASSES   ((CACHE_MAX_SHIFT - CACHE_MIN_SHIFT) * 4 + 1)
#define CACHE_DEPTH     64                /* blocks kept per class and thread */
#ifdef __SANITIZE_ADDRESS__
#define CACHE_KEEP      0                 /* under ASan every block goes back to malloc, */
#else                                     /* so that a use after free is still caught */
#define CACHE_KEEP      CACHE_DEPTH
#endif
#define BLOCK_HEAD      16                /* keeps the caller's pointer 16-byte aligned */
#define CLASS_BIG       0xffu             /* outside the classes: plain malloc, exact size */

struct block_head {
	uint32_t cls;
	uint32_t size;      /* what the caller asked for (for realloc of a big block) */
};

struct block_cache {
	void *free[CACHE_CLASSES][CACHE_DEPTH];
	unsigned n[CACHE_CLASSES];
};

static __thread struct block_cache *tcache;
static __thread long live_bytes;  /* wolfSSL's blocks allocated minus freed on this thread */
static __thread unsigned long mallocs;  /* blocks this thread had to get from malloc */
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_release(void *arg)
{
	struct block_cache *c = arg;

	for (int k = 0; k < CACHE_CLASSES; k++)
		for (unsigned i = 0; i < c->n[k]; i++)
			free(c->free[k][i]);
	free(c);
	tcache = NULL;
}

static struct block_cache *cache_get(void)
{
	if (!tcache && (tcache = calloc(1, sizeof *tcache)))
		pthread_setspecific(cache_key, tcache);
	return tcache;
}

static size_t class_bytes(unsigned k)
{
	unsigned octave = k / 4, quarter = k % 4;
	size_t base = (size_t)1 << (CACHE_MIN_SHIFT + octave);

	return base + quarter * (base / 4);
}

static unsigned class_of(size_t size)
{
	size_t need = size + BLOCK_HEAD;
	unsigned k = 0;

	if (need > ((size_t)1 << CACHE_MAX_SHIFT))
		return CLASS_BIG;
	while (class_bytes(k) < need)
		k++;
	return k;
}

static void *cache_malloc(size_t size)
{
	unsigned k = class_of(size);
	struct block_cache *c;
	struct block_head *h = NULL;

	if (k != CLASS_BIG && (c = cache_get()) && c->n[k])
		h = c->free[k][--c->n[k]];
	if (!h) {
		h = malloc(k == CLASS_BIG ? size + BLOCK_HEAD : class_bytes(k));
		mallocs++;
	}
	if (!h)
		return NULL;
	h->cls = k;
	h->size = (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size);
	live_bytes += k == CLASS_BIG ? (long)size : (long)class_bytes(k);
	return (uint8_t *)h + BLOCK_HEAD;
}

static void cache_free(void *p)
{
	struct block_head *h;
	struct block_cache *c;

	if (!p)
		return;
	h = (struct block_head *)((uint8_t *)p - BLOCK_HEAD);
	live_bytes -= h->cls == CLASS_BIG ? (long)h->size : (long)class_bytes(h->cls);
	if (h->cls != CLASS_BIG && (c = cache_get()) && c->n[h->cls] < CACHE_KEEP) {
		c->free[h->cls][c->n[h->cls]++] = h;
		return;
	}
	free(h);
}

static void *cache_realloc(void *p, size_t size)
{
	struct block_head *h;
	size_t have;
	void *q;

	if (!p)
		return cache_malloc(size);
	h = (struct block_head *)((uint8_t *)p - BLOCK_HEAD);
	have = h->cls == CLASS_BIG ? h->size : class_bytes(h->cls) - BLOCK_HEAD;
	if (size <= have && h->cls != CLASS_BIG) {
		h->size = (uint32_t)size;
		return p;
	}
	if (!(q = cache_malloc(size)))
		return NULL;
	memcpy(q, p, have < size ? have : size);
	cache_free(p);
	return q;
}

long tls_thread_live_bytes(void)
{
	return live_bytes;
}

unsigned long tls_thread_mallocs(void)
{
	return mallocs;
}

static void cache_setup(void)
{
	pthread_key_create(&cache_key, cache_release);
	wolfSSL_SetAllocators(cache_malloc, cache_free, cache_realloc);
}

/* ---- I/O callbacks ---------------------------------------------------------------- */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct tls_conn *t = arg;
	size_t avail = t->in_len - t->in_off;

	(void)ssl;
	if (avail == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	if ((size_t)sz > avail)
		sz = (int)avail;
	memcpy(buf, t->in + t->in_off, (size_t)sz);
	t->in_off += (size_t)sz;
	if (t->in_off == t->in_len)
		t->in_off = t->in_len = 0;
	return sz;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct tls_conn *t = arg;
	size_t room = t->ctx->outbuf - t->out_len;

	(void)ssl;
	if (!t->out && !(t->out = cache_malloc(t->ctx->outbuf)))
		return WOLFSSL_CBIO_ERR_GENERAL;
	/* Append only: bytes already handed out by tls_pending may be in flight. */
	if (room == 0) {
		t->write_blocked = true;
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	}
	if ((size_t)sz > room)
		sz = (int)room;
	memcpy(t->out + t->out_len, buf, (size_t)sz);
	t->out_len += (size_t)sz;
	return sz;
}

/* Called by wolfSSL on the client when the server sends a ticket (TLS 1.2: during the
 * handshake; TLS 1.3: after it, so it is seen by the first tls_read after the handshake). */
static int on_ticket(WOLFSSL *ssl, const unsigned char *ticket, int len, void *arg)
{
	struct tls_conn *t = arg;

	(void)ssl; (void)ticket; (void)len;
	t->ticket_seen = true;
	return 0;
}

/* ---- errors ------------------------------------------------------------------------ */

static void set_err(struct tls_conn *t, const char *fmt, const char *detail)
{
	snprintf(t->err, sizeof t->err, fmt, detail);
	t->failed = true;
}

static bool is_verify_error(int e)
{
	switch (e) {
	case ASN_NO_SIGNER_E: case ASN_AFTER_DATE_E: case ASN_BEFORE_DATE_E:
	case ASN_SIG_CONFIRM_E: case ASN_SIG_OID_E: case ASN_SELF_SIGNED_E:
	case ASN_PATHLEN_SIZE_E: case ASN_PATHLEN_INV_E:
	case DOMAIN_NAME_MISMATCH: case VERIFY_CERT_ERROR:
		return true;
	}
	return false;
}

/* A sentence for why the chain did not verify. wolfSSL reports most failures as
 * ASN_NO_SIGNER_E or VERIFY_CERT_ERROR; the verify result holds the X509 reason. */
static const char *verify_reason(struct tls_conn *t, int e)
{
	long v;

	switch (e) {
	case ASN_NO_SIGNER_E:
		return "no trusted CA signed the server's certificate "
		       "(unable to get local issuer certificate)";
	case ASN_AFTER_DATE_E:   return "the server's certificate has expired";
	case ASN_BEFORE_DATE_E:  return "the server's certificate is not yet valid";
	case ASN_SELF_SIGNED_E:  return "the server's certificate is self-signed";
	case ASN_SIG_CONFIRM_E:  return "a certificate signature does not verify";
	}
	v = wolfSSL_get_verify_result(t->ssl);
	if (v != 0)
		return wolfSSL_X509_verify_cert_error_string(v);
	return wolfSSL_ERR_reason_error_string((unsigned long)e);
}

static bool looks_like_http(const struct tls_conn *t)
{
	return !t->ctx->server && t->nfirst == 5 && memcmp(t->first, "HTTP/", 5) == 0;
}

/* Turn wolfSSL's error for a failed call into t->err. */
static void fail_from_wolfssl(struct tls_conn *t, int e)
{
	char buf[WOLFSSL_MAX_ERROR_SZ];

	if (looks_like_http(t)) {
		set_err(t, "%s", "the server answered in plaintext, not TLS");
		return;
	}
	wolfSSL_ERR_error_string_n((unsigned long)e, buf, sizeof buf);
	if (is_verify_error(e)) {
		if (e == DOMAIN_NAME_MISMATCH)
			set_err(t, "certificate verification failed: the certificate does not name %s",
				t->server_name ? t->server_name : "the server");
		else
			set_err(t, "certificate verification failed: %s", verify_reason(t, e));
	} else if (e == FATAL_ERROR) {
		WOLFSSL_ALERT_HISTORY h;
		if (wolfSSL_get_alert_history(t->ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.code >= 0)
			set_err(t, "TLS alert from the peer: %s",
				wolfSSL_alert_desc_string_long(h.last_rx.code));
		else
			set_err(t, "TLS alert from the peer: %s", buf);
	} else if (!t->handshake_done) {
		set_err(t, "TLS handshake failed: %s", buf);
	} else {
		set_err(t, "TLS error: %s", buf);
	}
}

/* ---- contexts ---------------------------------------------------------------------- */

static void ctx_err(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* Pick the method and minimum version for min/max in {0, 12, 13}. */
static WOLFSSL_METHOD *pick_method(bool server, int min, int max, int *minv,
				   char *err, size_t errlen)
{
	if (min == 0)
		min = 12;
	if (max == 0)
		max = 13;
	if ((min != 12 && min != 13) || (max != 12 && max != 13) || min > max) {
		ctx_err(err, errlen, "TLS versions must be 1.2 or 1.3, minimum <= maximum", NULL);
		return NULL;
	}
	*minv = min == 12 ? WOLFSSL_TLSV1_2 : WOLFSSL_TLSV1_3;
	if (max == 12)
		return server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
	if (min == 13)
		return server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
	return server ? wolfSSLv23_server_method() : wolfSSLv23_client_method();
}

static int ctx_create(struct tls_ctx **out, bool server, const struct tls_config *cfg,
		      char *err, size_t errlen)
{
	struct tls_ctx *c;
	WOLFSSL_METHOD *m;
	int minv = 0;

	*out = NULL;
	pthread_once(&cache_once, cache_setup);  /* before wolfSSL allocates anything */
	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		ctx_err(err, errlen, "wolfSSL_Init failed", NULL);
		return -1;
	}
	m = pick_method(server, cfg->min_version, cfg->max_version, &minv, err, errlen);
	if (!m) {
		wolfSSL_Cleanup();
		return -1;
	}
	c = calloc(1, sizeof *c);
	if (!c || !(c->ctx = wolfSSL_CTX_new(m))) {
		free(c);
		wolfSSL_Cleanup();
		ctx_err(err, errlen, "out of memory creating the TLS context", NULL);
		return -1;
	}
	c->server = server;
	c->outbuf = cfg->outbuf ? cfg->outbuf : TLS_OUTBUF_DEFAULT;
	if (c->outbuf < TLS_OUTBUF_SIZE)
		c->outbuf = TLS_OUTBUF_SIZE;
	if (wolfSSL_CTX_SetMinVersion(c->ctx, minv) != WOLFSSL_SUCCESS) {
		ctx_err(err, errlen, "cannot set the minimum TLS version", NULL);
		goto fail;
	}
	if (cfg->certfile || cfg->keyfile || server) {
		if (!cfg->certfile || !cfg->keyfile) {
			ctx_err(err, errlen, "a certificate needs both certfile and keyfile", NULL);
			goto fail;
		}
		if (wolfSSL_CTX_use_certificate_chain_file(c->ctx, cfg->certfile)
		    != WOLFSSL_SUCCESS) {
			ctx_err(err, errlen, "cannot load certificate", cfg->certfile);
			goto fail;
		}
		if (wolfSSL_CTX_use_PrivateKey_file(c->ctx, cfg->keyfile, WOLFSSL_FILETYPE_PEM)
		    != WOLFSSL_SUCCESS) {
			ctx_err(err, errlen, "cannot load private key", cfg->keyfile);
			goto fail;
		}
		if (wolfSSL_CTX_check_private_key(c->ctx) != WOLFSSL_SUCCESS) {
			ctx_err(err, errlen, "private key does not match certificate", cfg->keyfile);
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	wolfSSL_CTX_free(c->ctx);
	free(c);
	wolfSSL_Cleanup();
	return -1;
}

int tls_ctx_new(struct tls_ctx **out, const struct tls_config *cfg, char *err, size_t errlen)
{
	struct tls_ctx *c;

	if (ctx_create(out, false, cfg, err, errlen) != 0)
		return -1;
	c = *out;
#if defined(HAVE_CURVE25519) && defined(WOLFSSL_TLS13)
	{
		/* X25519 first, as OpenSSL, browsers and h2load offer it: TLS 1.3's key
		 * share is X25519 unless the server wants otherwise. wolfSSL's default
		 * (P-256 first) cost the client a third more per full handshake. */
		int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1 };
		wolfSSL_CTX_set_groups(c->ctx, groups, (int)(sizeof groups / sizeof groups[0]));
	}
#endif
	c->resume = cfg->resume;
	c->verify = !cfg->insecure;
	if (!c->verify) {
		wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_NONE, NULL);
		return 0;
	}
	wolfSSL_CTX_set_verify(c->ctx, WOLFSSL_VERIFY_PEER, NULL);
	if (cfg->cafile) {
		if (wolfSSL_CTX_load_verify_locations(c->ctx, cfg->cafile, NULL)
		    != WOLFSSL_SUCCESS) {
			ctx_err(err, errlen, "cannot load CA certificates from", cfg->cafile);
			goto fail;
		}
		return 0;
	}
#ifdef WOLFSSL_SYS_CA_CERTS
	if (wolfSSL_CTX_load_system_CA_certs(c->ctx) == WOLFSSL_SUCCESS)
		return 0;
#endif
	if (wolfSSL_CTX_load_verify_locations(c->ctx, SYSTEM_BUNDLE, NULL) == WOLFSSL_SUCCESS)
		return 0;
	ctx_err(err, errlen, "no system CA certificates found (" SYSTEM_BUNDLE
		"); give a CA file or use insecure mode", NULL);
fail:
	tls_ctx_free(c);
	*out = NULL;
	return -1;
}

int tls_ctx_new_server(struct tls_ctx **out, const struct tls_config *cfg,
		       char *err, size_t errlen)
{
	if (ctx_create(out, true, cfg, err, errlen) != 0)
		return -1;
	wolfSSL_CTX_set_verify((*out)->ctx, WOLFSSL_VERIFY_NONE, NULL);
	return 0;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(c->cache[i].name);
		if (c->cache[i].session)
			wolfSSL_SESSION_free(c->cache[i].session);
	}
	wolfSSL_CTX_free(c->ctx);
	free(c);
	wolfSSL_Cleanup();
}

/* ---- session cache (per worker, so no locking) -------------------------------------- */

static struct cached_session *cache_find(struct tls_ctx *c, const char *name)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (c->cache[i].name && strcmp(c->cache[i].name, name) == 0)
			return &c->cache[i];
	return NULL;
}

static void cache_store(struct tls_conn *t)
{
	struct tls_ctx *c = t->ctx;
	struct cached_session *slot;
	WOLFSSL_SESSION *s = wolfSSL_get1_session(t->ssl);

	if (!s)
		return;
	slot = cache_find(c, t->server_name);
	if (!slot) {
		char *name = strdup(t->server_name);
		if (!name) {
			wolfSSL_SESSION_free(s);
			return;
		}
		slot = &c->cache[c->next_slot++ % CACHE_SLOTS];
		free(slot->name);
		slot->name = name;
	}
	if (slot->session)
		wolfSSL_SESSION_free(slot->session);
	slot->session = s;
	t->session_stored = true;
}

/* A TLS 1.2 session is complete when the handshake is; a TLS 1.3 session is only
 * resumable once a NewSessionTicket has arrived after the handshake. */
static void maybe_store_session(struct tls_conn *t)
{
	if (!t->ctx->resume || !t->server_name || !t->handshake_done)
		return;
	if (t->ticket_seen || (!t->session_stored && wolfSSL_version(t->ssl) == TLS1_2_VERSION
			       && !t->resumed)) {
		t->ticket_seen = false;
		cache_store(t);
	}
}

/* ---- connections ------------------------------------------------------------------- */

static int conn_create(struct tls_conn **out, struct tls_ctx *c)
{
	struct tls_conn *t = calloc(1, sizeof *t);

	*out = NULL;
	if (!t)
		return -1;
	t->ctx = c;
	t->ssl = wolfSSL_new(c->ctx);
	if (!t->ssl) {
		tls_conn_free(t);
		return -1;
	}
	wolfSSL_SSLSetIORecv(t->ssl, io_recv);
	wolfSSL_SSLSetIOSend(t->ssl, io_send);
	wolfSSL_SetIOReadCtx(t->ssl, t);
	wolfSSL_SetIOWriteCtx(t->ssl, t);
	*out = t;
	return 0;
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int tls_conn_new(struct tls_conn **out, struct tls_ctx *c, const char *server_name)
{
	static char alpn[] = "http/1.1";
	struct tls_conn *t;

	if (conn_create(&t, c) != 0)
		return -1;
	if (server_name && server_name[0]) {
		if (!(t->server_name = strdup(server_name)))
			goto fail;
		/* RFC 6066: SNI carries host names only, never an address. */
		if (!is_ip_literal(server_name) &&
		    wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, server_name,
				   (unsigned short)strlen(server_name)) != WOLFSSL_SUCCESS)
			goto fail;
		/* wolfSSL checks the chain, not the name, unless told the name. This Debian
		 * build has no WOLFSSL_IP_ALT_NAME: an IP literal matches a CN or DNS SAN only. */
		if (c->verify && wolfSSL_check_domain_name(t->ssl, server_name) != WOLFSSL_SUCCESS)
			goto fail;
	}
	if (wolfSSL_UseALPN(t->ssl, alpn, sizeof alpn - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH)
	    != WOLFSSL_SUCCESS)
		goto fail;
	if (c->resume && t->server_name) {
		struct cached_session *cs;
		if (wolfSSL_UseSessionTicket(t->ssl) != WOLFSSL_SUCCESS ||
		    wolfSSL_set_SessionTicket_cb(t->ssl, on_ticket, t) != WOLFSSL_SUCCESS)
			goto fail;
		cs = cache_find(c, t->server_name);
		if (cs && cs->session)
			wolfSSL_set_session(t->ssl, cs->session);  /* a stale one just fails over */
	}
	*out = t;
	return 0;
fail:
	tls_conn_free(t);
	*out = NULL;
	return -1;
}

int tls_conn_new_server(struct tls_conn **out, struct tls_ctx *c)
{
	static char alpn[] = "http/1.1";

	if (conn_create(out, c) != 0)
		return -1;
	if (wolfSSL_UseALPN((*out)->ssl, alpn, sizeof alpn - 1,
			    WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) != WOLFSSL_SUCCESS) {
		tls_conn_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	if (t->ssl)
		wolfSSL_free(t->ssl);
	free(t->server_name);
	free(t->in);
	cache_free(t->out);
	free(t);
}

int tls_feed(struct tls_conn *t, const uint8_t *cipher, size_t len)
{
	size_t live = t->in_len - t->in_off;

	for (size_t i = 0; t->nfirst < sizeof t->first && i < len; i++)
		t->first[t->nfirst++] = cipher[i];
	if (len == 0)
		return 0;
	if (t->in_off > 0) {  /* internal only: nothing outside points into the window */
		memmove(t->in, t->in + t->in_off, live);
		t->in_off = 0;
		t->in_len = live;
	}
	if (live + len > t->in_cap) {
		size_t cap = t->in_cap ? t->in_cap : 4096;
		uint8_t *in;
		while (cap < live + len)
			cap *= 2;
		if (!(in = realloc(t->in, cap))) {
			set_err(t, "%s", "out of memory buffering TLS input");
			return -1;
		}
		t->in = in;
		t->in_cap = cap;
	}
	memcpy(t->in + t->in_len, cipher, len);
	t->in_len += len;
	return 0;
}

int tls_read(struct tls_conn *t, uint8_t *out, size_t cap)
{
	int n, e;

	if (t->failed)
		return TLS_ERROR;
	if (t->closed)
		return TLS_CLOSED;
	/* wolfSSL holds part of a flight that did not fit. Calling it again before the
	 * buffer drained makes wolfSSL 5.5.4's accept/connect fail with error 0, so wait. */
	if (t->write_blocked)
		return TLS_WANT;
	if (!t->handshake_done) {
		/* A plaintext HTTP server answers a ClientHello with "HTTP/1.1 400 ...". */
		if (looks_like_http(t)) {
			set_err(t, "%s", "the server answered in plaintext, not TLS");
			return TLS_ERROR;
		}
		n = t->ctx->server ? wolfSSL_accept(t->ssl) : wolfSSL_connect(t->ssl);
		if (n != WOLFSSL_SUCCESS) {
			e = wolfSSL_get_error(t->ssl, n);
			if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
				return TLS_WANT;
			fail_from_wolfssl(t, e);
			return TLS_ERROR;
		}
		t->handshake_done = true;
		t->resumed = wolfSSL_session_reused(t->ssl) == 1;
		maybe_store_session(t);
	}
	if (cap > INT32_MAX)
		cap = INT32_MAX;
	n = wolfSSL_read(t->ssl, out, (int)cap);
	maybe_store_session(t);
	if (n > 0)
		return n;
	e = wolfSSL_get_error(t->ssl, n);
	if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_WANT;
	if (e == WOLFSSL_ERROR_ZERO_RETURN) {
		t->closed = true;
		return TLS_CLOSED;
	}
	fail_from_wolfssl(t, e);
	return TLS_ERROR;
}

ssize_t tls_write(struct tls_conn *t, const uint8_t *plain, size_t len)
{
	size_t done = 0;

	if (t->failed)
		return TLS_ERROR;
	if (!t->handshake_done || t->closed || t->write_blocked)
		return 0;
	while (done < len) {
		size_t room = t->ctx->outbuf - t->out_len;
		int chunk = len - done > 16384 ? 16384 : (int)(len - done);
		int need = wolfSSL_GetOutputSize(t->ssl, chunk);
		int n;

		if (need < 0) {
			set_err(t, "%s", "TLS error: cannot size an output record");
			return TLS_ERROR;
		}
		if ((size_t)need > room) {
			/* Shrink the record to the room left (overhead does not grow with it). */
			int overhead = need - chunk;
			if (room <= (size_t)overhead + 256)  /* not worth a tiny record */
				break;
			chunk = (int)(room - (size_t)overhead);
			while (chunk > 0 && wolfSSL_GetOutputSize(t->ssl, chunk) > (int)room)
				chunk -= 64;  /* CBC padding rounds up to a block */
			if (chunk <= 0)
				break;
		}
		n = wolfSSL_write(t->ssl, plain + done, chunk);
		if (n != chunk) {
			/* Cannot happen with the room checked above: wolfSSL would want the very
			 * same call repeated, which this API does not promise. */
			fail_from_wolfssl(t, wolfSSL_get_error(t->ssl, n));
			return TLS_ERROR;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t tls_writev(struct tls_conn *t, const struct iovec *iov, int n, size_t off,
		   uint8_t *stage, size_t stage_len)
{
	size_t taken = 0;
	int i = 0;

	for (;;) {
		/* The piece holding byte off, and where in it. */
		while (i < n && off >= iov[i].iov_len)
			off -= iov[i++].iov_len;
		if (i == n)
			return (ssize_t)taken;
		const uint8_t *p = (const uint8_t *)iov[i].iov_base + off;
		size_t len = iov[i].iov_len - off;
		bool more = false;  /* a piece follows: worth gathering with this one */
		for (int j = i + 1; j < n && !more; j++)
			more = iov[j].iov_len > 0;
		if (len < TLS_STAGE_MIN && more) {
			size_t g = 0, skip = off;
			for (int j = i; j < n && g < stage_len; j++, skip = 0) {
				size_t k = iov[j].iov_len - skip;
				if (k > stage_len - g)
					k = stage_len - g;
				memcpy(stage + g, (const uint8_t *)iov[j].iov_base + skip, k);
				g += k;
			}
			p = stage;
			len = g;
		}
		ssize_t w = tls_write(t, p, len);
		if (w < 0)
			return TLS_ERROR;
		taken += (size_t)w;
		off += (size_t)w;
		if ((size_t)w < len)
			return (ssize_t)taken;  /* the output buffer is full */
	}
}

const uint8_t *tls_pending(struct tls_conn *t, size_t *len)
{
	*len = t->out_len - t->out_off;
	return *len ? t->out + t->out_off : NULL;
}

void tls_consumed(struct tls_conn *t, size_t n)
{
	if (n > t->out_len - t->out_off)
		n = t->out_len - t->out_off;
	t->out_off += n;
	if (t->out_off == t->out_len) {
		t->out_off = t->out_len = 0;
		t->write_blocked = false;
		cache_free(t->out);  /* an idle connection keeps no output buffer */
		t->out = NULL;
	}
}

void tls_shutdown(struct tls_conn *t)
{
	if (t->handshake_done && !t->failed)
		wolfSSL_shutdown(t->ssl);
}

bool tls_handshake_done(const struct tls_conn *t) { return t->handshake_done; }
bool tls_resumed(const struct tls_conn *t) { return t->resumed; }
const char *tls_error(const struct tls_conn *t) { return t->err; }

const char *tls_protocol(const struct tls_conn *t)
{
	if (!t->handshake_done)
		return "";
	return wolfSSL_get_version(t->ssl);
}

const char *tls_version_string(void)
{
#ifdef WOLFSSL_AESNI
#define AESNI_NOTE "AES-NI"
#else
#define AESNI_NOTE "no AES-NI"
#endif
#if defined(WOLFSSL_HAVE_SP_ECC) && defined(WOLFSSL_SP_X86_64_ASM)
#define SP_NOTE ", SP asm"   /* single-precision P-256 etc. in assembly: fast handshakes */
#else
#define SP_NOTE ", no SP asm"
#endif
	return "wolfSSL " LIBWOLFSSL_VERSION_STRING " (" AESNI_NOTE SP_NOTE ")";
}
