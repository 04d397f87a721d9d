/* tls: the per-connection transform, wolfSSL over in-memory buffers (see tls.h for the
 * contract): creating client and server connections, feeding ciphertext, reading
 * plaintext, writing records, and naming what went wrong. Contexts are tls_ctx.c's, the
 * session cache tls_session.c's, the memory behind the buffers tls_alloc.c's.
 *
 * wolfSSL never touches a socket: its receive callback (io_recv) copies from the
 * connection's input window, filled by tls_feed, and says WOLFSSL_CBIO_ERR_WANT_READ when
 * the window is empty; its send callback (io_send) appends to the output buffer that
 * tls_pending exposes, and says WOLFSSL_CBIO_ERR_WANT_WRITE when the buffer is full, in
 * which case wolfSSL keeps the rest of the flight itself and retries on the next call.
 */
#include "tls/tls_int.h"

#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (!t->out && !(t->out = tls_block_alloc(t->ctx->outbuf)))
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
		cs = tls_session_find(c, t->server_name);
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
	tls_block_free(t->out);
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
		tls_session_store_maybe(t);
	}
	if (cap > INT32_MAX)
		cap = INT32_MAX;
	n = wolfSSL_read(t->ssl, out, (int)cap);
	tls_session_store_maybe(t);
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
		tls_block_free(t->out);  /* an idle connection keeps no output buffer */
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

