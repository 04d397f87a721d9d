/* tls: a client and a server tls_conn wired to each other in memory (no sockets).
 *
 * Certificates are generated at test time with the openssl CLI into a temp dir: a test CA,
 * a server certificate for "localhost" signed by it, and an unrelated second CA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/memory.h>

#include "tls/tls.h"

static char dir[64];
static char ca_pem[128], other_ca_pem[128], srv_pem[128], srv_key[128], big_pem[128];

static int sh(const char *cmd)
{
	char buf[2048];
	snprintf(buf, sizeof buf, "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
	return system(buf);
}

static int make_certs(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/blaster-tls-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", dir);
	snprintf(other_ca_pem, sizeof other_ca_pem, "%s/other.pem", dir);
	snprintf(srv_pem, sizeof srv_pem, "%s/server.pem", dir);
	snprintf(srv_key, sizeof srv_key, "%s/server.key", dir);
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj '/CN=blaster test CA'"
		 " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
		 ec);
	if (sh(cmd))
		return -1;
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 %s -keyout other.key -out other.pem -days 2 -subj '/CN=other CA'"
		 " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
		 ec);
	if (sh(cmd))
		return -1;
	snprintf(cmd, sizeof cmd, "openssl req -new %s -keyout server.key -out server.csr"
		 " -subj '/CN=localhost'", ec);
	if (sh(cmd))
		return -1;
	if (sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
	       "basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature\\n"
	       "extendedKeyUsage=serverAuth\\n' > ext.cnf && "
	       "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
	       " -days 2 -extfile ext.cnf -out server.pem"))
		return -1;
	/* A certificate bigger than the output buffer: its flight cannot be written at once. */
	snprintf(big_pem, sizeof big_pem, "%s/big.pem", dir);
	if (sh("python3 -c \"print('subjectAltName=DNS:localhost,' + ','.join("
	       "'DNS:h%d.example' % i for i in range(1250)))\" > big.cnf && "
	       "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
	       " -days 2 -extfile big.cnf -out big.pem"))
		return -1;
	return 0;
}

static int remove_certs(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the in-memory wire ------------------------------------------------------------ */

struct end {
	struct tls_conn *t;
	const uint8_t *tx;       /* plaintext to send */
	size_t tx_len, tx_off;
	uint8_t *rx;             /* plaintext received */
	size_t rx_len, rx_cap;
	int status;              /* last tls_read result that was not data */
};

static void drain(struct end *e)
{
	for (;;) {
		if (e->rx_cap - e->rx_len < 4096) {
			e->rx_cap = e->rx_cap ? e->rx_cap * 2 : 8192;
			e->rx = realloc(e->rx, e->rx_cap);
			assert_non_null(e->rx);
		}
		int r = tls_read(e->t, e->rx + e->rx_len, e->rx_cap - e->rx_len);
		if (r <= 0) {
			e->status = r;
			return;
		}
		e->rx_len += (size_t)r;
	}
}

/* Move bytes both ways until nothing moves. piece: the most ciphertext handed to
 * tls_feed at once (1 = every record split at every byte boundary). Returns 0, or -1
 * when either side failed. */
static int pump(struct end *a, struct end *b, size_t piece)
{
	struct end *ends[2] = { a, b };

	for (int round = 0; round < 100000; round++) {
		bool moved = false;
		for (int i = 0; i < 2; i++) {
			struct end *x = ends[i], *y = ends[1 - i];
			size_t n;
			const uint8_t *p;

			drain(x);
			if (x->status == TLS_ERROR)
				return -1;
			if (x->tx_off < x->tx_len) {
				ssize_t w = tls_write(x->t, x->tx + x->tx_off, x->tx_len - x->tx_off);
				assert_true(w >= 0);
				x->tx_off += (size_t)w;
				moved |= w > 0;
			}
			p = tls_pending(x->t, &n);
			if (n == 0)
				continue;
			for (size_t off = 0; off < n; off += piece) {
				size_t k = n - off < piece ? n - off : piece;
				assert_int_equal(tls_feed(y->t, p + off, k), 0);
				if (piece < n) {
					drain(y);
					if (y->status == TLS_ERROR)
						return -1;
				}
			}
			tls_consumed(x->t, n);
			moved = true;
		}
		if (!moved)
			return 0;
	}
	fail_msg("pump did not settle");
	return -1;
}

struct pair {
	struct tls_ctx *cctx, *sctx;
	struct end c, s;
};

static void pair_open(struct pair *p, const struct tls_config *ccfg, int smin, int smax,
		      const char *name)
{
	struct tls_config scfg = { .certfile = srv_pem, .keyfile = srv_key,
				   .min_version = smin, .max_version = smax };
	char err[256] = "";

	memset(p, 0, sizeof *p);
	if (tls_ctx_new(&p->cctx, ccfg, err, sizeof err) != 0)
		fail_msg("client ctx: %s", err);
	if (tls_ctx_new_server(&p->sctx, &scfg, err, sizeof err) != 0)
		fail_msg("server ctx: %s", err);
	assert_int_equal(tls_conn_new(&p->c.t, p->cctx, name), 0);
	assert_int_equal(tls_conn_new_server(&p->s.t, p->sctx), 0);
}

static void end_reset(struct end *e)
{
	tls_conn_free(e->t);
	free(e->rx);
	memset(e, 0, sizeof *e);
}

static void pair_close(struct pair *p)
{
	end_reset(&p->c);
	end_reset(&p->s);
	tls_ctx_free(p->cctx);
	tls_ctx_free(p->sctx);
}

/* ---- tests ------------------------------------------------------------------------- */

static void handshake_with(const struct tls_config *ccfg, int smin, int smax,
			   const char *want_proto)
{
	struct pair p;

	pair_open(&p, ccfg, smin, smax, "localhost");
	assert_false(tls_handshake_done(p.c.t));
	if (pump(&p.c, &p.s, SIZE_MAX) != 0)
		fail_msg("handshake failed: client '%s' server '%s'",
			 tls_error(p.c.t), tls_error(p.s.t));
	assert_true(tls_handshake_done(p.c.t));
	assert_true(tls_handshake_done(p.s.t));
	assert_false(tls_resumed(p.c.t));
	assert_string_equal(tls_protocol(p.c.t), want_proto);
	assert_string_equal(tls_protocol(p.s.t), want_proto);
	assert_string_equal(tls_error(p.c.t), "");
	pair_close(&p);
}

static void test_handshake_cafile(void **state)
{
	struct tls_config c = { .cafile = ca_pem };
	(void)state;
	handshake_with(&c, 0, 0, "TLSv1.3");
}

static void test_insecure(void **state)
{
	struct tls_config c = { .insecure = true };
	(void)state;
	handshake_with(&c, 0, 0, "TLSv1.3");
}

static void test_tls12_only(void **state)
{
	struct tls_config c = { .cafile = ca_pem, .min_version = 12, .max_version = 12 };
	(void)state;
	handshake_with(&c, 12, 12, "TLSv1.2");
}

static void test_tls13_only(void **state)
{
	struct tls_config c = { .cafile = ca_pem, .min_version = 13, .max_version = 13 };
	(void)state;
	handshake_with(&c, 13, 13, "TLSv1.3");
}

static void test_client12_server_any(void **state)
{
	struct tls_config c = { .cafile = ca_pem, .max_version = 12 };
	(void)state;
	handshake_with(&c, 0, 0, "TLSv1.2");
}

static void expect_client_failure(const struct tls_config *ccfg, const char *name,
				  int smin, int smax, const char *want)
{
	struct pair p;

	pair_open(&p, ccfg, smin, smax, name);
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), -1);
	if (p.c.status != TLS_ERROR) {
		/* The server failed first: deliver its alert. */
		size_t n;
		const uint8_t *a = tls_pending(p.s.t, &n);
		assert_true(n > 0);
		assert_int_equal(tls_feed(p.c.t, a, n), 0);
		drain(&p.c);
		assert_int_equal(p.c.status, TLS_ERROR);
	}
	assert_false(tls_handshake_done(p.c.t));
	if (!strstr(tls_error(p.c.t), want))
		fail_msg("client error '%s' lacks '%s' (server: '%s')", tls_error(p.c.t), want,
			 tls_error(p.s.t));
	print_message("    client error: %s\n", tls_error(p.c.t));
	assert_int_equal(tls_read(p.c.t, (uint8_t[8]){0}, 8), TLS_ERROR);  /* stays failed */
	pair_close(&p);
}

static void test_verify_fails_with_other_ca(void **state)
{
	struct tls_config c = { .cafile = other_ca_pem };
	(void)state;
	expect_client_failure(&c, "localhost", 0, 0, "certificate verification failed");
}

static void test_verify_fails_with_system_store(void **state)
{
	struct tls_config c = { 0 };
	(void)state;
	expect_client_failure(&c, "localhost", 0, 0, "certificate verification failed");
}

static void test_verify_fails_tls12(void **state)
{
	struct tls_config c = { .cafile = other_ca_pem, .max_version = 12 };
	(void)state;
	expect_client_failure(&c, "localhost", 0, 0, "certificate verification failed");
}

static void test_wrong_host_name(void **state)
{
	struct tls_config c = { .cafile = ca_pem };
	(void)state;
	expect_client_failure(&c, "wrong.example", 0, 0, "does not name wrong.example");
}

static void test_version_mismatch(void **state)
{
	struct tls_config c = { .insecure = true, .max_version = 12 };
	(void)state;
	expect_client_failure(&c, "localhost", 13, 13, "TLS alert from the peer: ");
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
}

/* Request with a 1 MiB body one way, response with a 1 MiB body the other way. */
static void exchange_big(int version)
{
	struct tls_config ccfg = { .cafile = ca_pem, .min_version = version,
				   .max_version = version };
	const size_t body = 1 << 20;
	const char *req_head = "POST /upload HTTP/1.1\r\nHost: localhost\r\n"
			       "Content-Length: 1048576\r\n\r\n";
	const char *resp_head = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n";
	size_t rqh = strlen(req_head), rsh = strlen(resp_head);
	uint8_t *req = malloc(rqh + body), *resp = malloc(rsh + body);
	struct pair p;

	memcpy(req, req_head, rqh);
	fill(req + rqh, body, 1);
	memcpy(resp, resp_head, rsh);
	fill(resp + rsh, body, 2);

	pair_open(&p, &ccfg, version, version, "localhost");
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	assert_true(tls_handshake_done(p.c.t));

	/* The whole request cannot fit: tls_write takes what fits in the output buffer. */
	ssize_t w = tls_write(p.c.t, req, rqh + body);
	assert_true(w > 0 && (size_t)w < rqh + body);
	size_t n;
	tls_pending(p.c.t, &n);
	assert_true(n > 0 && n <= TLS_OUTBUF_DEFAULT);
	p.c.tx = req, p.c.tx_len = rqh + body, p.c.tx_off = (size_t)w;

	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	assert_int_equal(p.s.rx_len, rqh + body);
	assert_memory_equal(p.s.rx, req, rqh + body);

	p.s.tx = resp, p.s.tx_len = rsh + body;
	/* Deliver in odd pieces this time, across record boundaries. */
	assert_int_equal(pump(&p.c, &p.s, 5000), 0);
	assert_int_equal(p.c.rx_len, rsh + body);
	assert_memory_equal(p.c.rx, resp, rsh + body);

	/* close_notify reaches the other side as TLS_CLOSED. */
	tls_shutdown(p.c.t);
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	assert_int_equal(p.s.status, TLS_CLOSED);

	pair_close(&p);
	free(req);
	free(resp);
}

static void test_big_body_tls13(void **state) { (void)state; exchange_big(13); }

/* Records in a run of ciphertext (each starts with a 5-byte header: type, version,
 * length). */
static int count_records(const uint8_t *p, size_t n)
{
	int records = 0;
	for (size_t at = 0; at + 5 <= n; records++)
		at += 5 + ((size_t)p[at + 3] << 8 | p[at + 4]);
	return records;
}

/* Move everything tls_writev takes of iov (from off) to the server; returns how many
 * records carried it. */
static int writev_all(struct pair *p, const struct iovec *iov, int n, size_t off, size_t total)
{
	static uint8_t stage[TLS_STAGE_MIN];
	int records = 0;
	while (off < total) {
		ssize_t w = tls_writev(p->c.t, iov, n, off, stage, sizeof stage);
		assert_true(w > 0);
		off += (size_t)w;
		size_t len;
		const uint8_t *c = tls_pending(p->c.t, &len);
		records += count_records(c, len);
		assert_int_equal(tls_feed(p->s.t, c, len), 0);
		tls_consumed(p->c.t, len);
		drain(&p->s);
	}
	return records;
}

/* A head and short pieces make one record; a large piece is cut only into full records;
 * a restart in the middle of a piece carries on from there. */
static void test_writev(void **state)
{
	static uint8_t body[100000];
	struct tls_config ccfg = { .cafile = ca_pem };
	struct pair p;
	(void)state;

	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 7);
	pair_open(&p, &ccfg, 0, 0, "localhost");
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	drain(&p.c);

	struct iovec small[4] = { { "POST /x HTTP/1.1\r\n", 18 }, { "", 0 }, { "Host: h\r\n\r\n", 11 },
				  { "{\"a\":1}", 7 } };
	p.s.rx_len = 0;
	assert_int_equal(writev_all(&p, small, 4, 0, 36), 1);
	assert_int_equal(p.s.rx_len, 36);
	assert_memory_equal(p.s.rx, "POST /x HTTP/1.1\r\nHost: h\r\n\r\n{\"a\":1}", 36);

	/* head + 100000 bytes: 38 + 100000 in ceil(100038 / 16384) = 7 records */
	struct iovec big[2] = { { "HEAD-HEAD-HEAD-HEAD-HEAD-HEAD-HEAD-HEA", 38 }, { body, sizeof body } };
	p.s.rx_len = 0;
	assert_int_equal(writev_all(&p, big, 2, 0, 38 + sizeof body), 7);
	assert_int_equal(p.s.rx_len, 38 + sizeof body);
	assert_memory_equal(p.s.rx, big[0].iov_base, 38);
	assert_memory_equal(p.s.rx + 38, body, sizeof body);

	/* from the middle of the body on */
	p.s.rx_len = 0;
	writev_all(&p, big, 2, 38 + 5000, 38 + sizeof body);
	assert_int_equal(p.s.rx_len, sizeof body - 5000);
	assert_memory_equal(p.s.rx, body + 5000, sizeof body - 5000);
	pair_close(&p);
}

/* The hot-path rule for TLS: once a connection has carried a few requests, more requests
 * (a small one out, a 20 KiB answer back, so records of both sizes) make wolfSSL take no
 * memory from malloc: its record buffers live in the connection and everything else it
 * allocates per record comes back from the thread's cache. */
static void test_no_malloc_per_request(void **state)
{
	static uint8_t resp[20000];
	const char *req = "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct tls_config ccfg = { .cafile = ca_pem };
	struct pair p;
	unsigned long before = 0;
	(void)state;

	memset(resp, 'r', sizeof resp);
	for (int v = 12; v <= 13; v++) {
		ccfg.min_version = ccfg.max_version = v;
		pair_open(&p, &ccfg, 0, 0, "localhost");
		for (int i = 0; i < 110; i++) {
			if (i == 10)
				before = tls_thread_mallocs();
			p.c.tx = (const uint8_t *)req, p.c.tx_len = strlen(req), p.c.tx_off = 0;
			p.s.tx = resp, p.s.tx_len = sizeof resp, p.s.tx_off = 0;
			p.c.rx_len = p.s.rx_len = 0;
			assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
			assert_int_equal(p.c.rx_len, sizeof resp);
			assert_int_equal(p.s.rx_len, strlen(req));
		}
#ifdef __SANITIZE_ADDRESS__
		(void)before; /* under ASan the cache keeps nothing: every block is malloc's */
#else
		assert_int_equal(tls_thread_mallocs() - before, 0);
#endif
		pair_close(&p);
	}
}
static void test_big_body_tls12(void **state) { (void)state; exchange_big(12); }

/* Every record, handshake included, arrives one byte at a time. */
static void byte_split(int version)
{
	struct tls_config ccfg = { .cafile = ca_pem, .min_version = version,
				   .max_version = version };
	const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct pair p;

	pair_open(&p, &ccfg, version, version, "localhost");
	p.c.tx = (const uint8_t *)req, p.c.tx_len = strlen(req);
	if (pump(&p.c, &p.s, 1) != 0)
		fail_msg("client '%s' server '%s'", tls_error(p.c.t), tls_error(p.s.t));
	assert_int_equal(p.s.rx_len, strlen(req));
	assert_memory_equal(p.s.rx, req, strlen(req));
	p.s.tx = (const uint8_t *)resp, p.s.tx_len = strlen(resp);
	assert_int_equal(pump(&p.c, &p.s, 1), 0);
	assert_int_equal(p.c.rx_len, strlen(resp));
	assert_memory_equal(p.c.rx, resp, strlen(resp));
	pair_close(&p);
}

static void test_byte_split_tls13(void **state) { (void)state; byte_split(13); }
static void test_byte_split_tls12(void **state) { (void)state; byte_split(12); }

/* Two connections from one client ctx to one server ctx; the second resumes. */
static void resumption(int version)
{
	struct tls_config ccfg = { .cafile = ca_pem, .min_version = version,
				   .max_version = version, .resume = true };
	const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";
	struct pair p;

	pair_open(&p, &ccfg, version, version, "localhost");
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			end_reset(&p.c);
			end_reset(&p.s);
			assert_int_equal(tls_conn_new(&p.c.t, p.cctx, "localhost"), 0);
			assert_int_equal(tls_conn_new_server(&p.s.t, p.sctx), 0);
		}
		p.c.tx = (const uint8_t *)req, p.c.tx_len = strlen(req);
		p.s.tx = (const uint8_t *)resp, p.s.tx_len = strlen(resp);
		if (pump(&p.c, &p.s, SIZE_MAX) != 0)
			fail_msg("connection %d: client '%s' server '%s'", i, tls_error(p.c.t),
				 tls_error(p.s.t));
		assert_int_equal(p.c.rx_len, strlen(resp));
		if (tls_resumed(p.c.t) != (i > 0))
			fail_msg("TLS 1.%d connection %d: resumed=%d", version % 10, i,
				 tls_resumed(p.c.t));
		assert_int_equal(tls_resumed(p.s.t), i > 0);
	}
	pair_close(&p);
}

static void test_resume_tls13(void **state) { (void)state; resumption(13); }
static void test_resume_tls12(void **state) { (void)state; resumption(12); }

static void test_no_resume_when_off(void **state)
{
	struct tls_config ccfg = { .cafile = ca_pem };
	struct pair p;
	(void)state;

	pair_open(&p, &ccfg, 0, 0, "localhost");
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	end_reset(&p.c);
	end_reset(&p.s);
	assert_int_equal(tls_conn_new(&p.c.t, p.cctx, "localhost"), 0);
	assert_int_equal(tls_conn_new_server(&p.s.t, p.sctx), 0);
	assert_int_equal(pump(&p.c, &p.s, SIZE_MAX), 0);
	assert_false(tls_resumed(p.c.t));
	pair_close(&p);
}

static void plaintext_answer(size_t piece)
{
	struct tls_config ccfg = { .insecure = true };
	const char *answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	struct tls_ctx *c;
	struct tls_conn *t;
	uint8_t buf[256];
	size_t n;
	char err[128];
	int r = TLS_WANT;

	assert_int_equal(tls_ctx_new(&c, &ccfg, err, sizeof err), 0);
	assert_int_equal(tls_conn_new(&t, c, "localhost"), 0);
	assert_int_equal(tls_read(t, buf, sizeof buf), TLS_WANT);
	assert_non_null(tls_pending(t, &n));
	assert_true(n > 0);
	assert_int_equal(tls_pending(t, &n)[0], 0x16);  /* a handshake record: ClientHello */
	tls_consumed(t, n);
	for (size_t off = 0; off < strlen(answer) && r == TLS_WANT; off += piece) {
		size_t k = strlen(answer) - off < piece ? strlen(answer) - off : piece;
		tls_feed(t, (const uint8_t *)answer + off, k);
		r = tls_read(t, buf, sizeof buf);
	}
	assert_int_equal(r, TLS_ERROR);
	assert_string_equal(tls_error(t), "the server answered in plaintext, not TLS");
	tls_conn_free(t);
	tls_ctx_free(c);
}

static void test_plaintext_http(void **state) { (void)state; plaintext_answer(SIZE_MAX); }
static void test_plaintext_http_bytewise(void **state) { (void)state; plaintext_answer(1); }

static void test_write_before_handshake(void **state)
{
	struct tls_config ccfg = { .insecure = true };
	struct tls_ctx *c;
	struct tls_conn *t;
	char err[128];
	size_t n;
	(void)state;

	assert_int_equal(tls_ctx_new(&c, &ccfg, err, sizeof err), 0);
	assert_int_equal(tls_conn_new(&t, c, "localhost"), 0);
	assert_null(tls_pending(t, &n));
	assert_int_equal(n, 0);
	assert_int_equal(tls_write(t, (const uint8_t *)"x", 1), 0);
	tls_conn_free(t);
	tls_ctx_free(c);
}

/* The server's first flight is bigger than TLS_OUTBUF_SIZE: wolfSSL keeps the rest and
 * the handshake continues as the output buffer drains. */
static void test_flight_bigger_than_buffer(void **state)
{
	struct tls_config ccfg = { .cafile = ca_pem };
	/* The smallest output buffer, one record: the big chain's flight does not fit. */
	struct tls_config scfg = { .certfile = big_pem, .keyfile = srv_key, .outbuf = TLS_OUTBUF_SIZE };
	const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct tls_ctx *cc, *sc;
	struct end c = { 0 }, s = { 0 };
	char err[256];
	(void)state;

	assert_int_equal(tls_ctx_new(&cc, &ccfg, err, sizeof err), 0);
	if (tls_ctx_new_server(&sc, &scfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(tls_conn_new(&c.t, cc, "localhost"), 0);
	assert_int_equal(tls_conn_new_server(&s.t, sc), 0);
	/* ClientHello to the server; its answer fills the output buffer to the brim. */
	drain(&c);
	size_t n;
	const uint8_t *hello = tls_pending(c.t, &n);
	assert_int_equal(tls_feed(s.t, hello, n), 0);
	tls_consumed(c.t, n);
	drain(&s);
	assert_int_equal(s.status, TLS_WANT);
	tls_pending(s.t, &n);
	assert_int_equal(n, TLS_OUTBUF_SIZE);

	c.tx = (const uint8_t *)req, c.tx_len = strlen(req);
	if (pump(&c, &s, SIZE_MAX) != 0)
		fail_msg("client '%s' server '%s'", tls_error(c.t), tls_error(s.t));
	assert_true(tls_handshake_done(c.t));
	assert_int_equal(s.rx_len, strlen(req));
	end_reset(&c);
	end_reset(&s);
	tls_ctx_free(cc);
	tls_ctx_free(sc);
}

static void test_garbage_from_server(void **state)
{
	struct tls_config ccfg = { .insecure = true };
	const uint8_t junk[] = { 0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0xff, 0xff, 0xff };
	struct tls_ctx *c;
	struct tls_conn *t;
	uint8_t buf[64];
	size_t n;
	char err[128];
	(void)state;

	assert_int_equal(tls_ctx_new(&c, &ccfg, err, sizeof err), 0);
	assert_int_equal(tls_conn_new(&t, c, "localhost"), 0);
	assert_int_equal(tls_read(t, buf, sizeof buf), TLS_WANT);
	tls_pending(t, &n);
	tls_consumed(t, n);
	tls_feed(t, junk, sizeof junk);
	assert_int_equal(tls_read(t, buf, sizeof buf), TLS_ERROR);
	assert_non_null(strstr(tls_error(t), "TLS handshake failed: "));
	print_message("    %s\n", tls_error(t));
	tls_conn_free(t);
	tls_ctx_free(c);
}

static void test_ctx_errors(void **state)
{
	struct tls_ctx *c = (struct tls_ctx *)1;
	char err[256];
	struct tls_config bad_versions = { .min_version = 13, .max_version = 12 };
	struct tls_config old = { .min_version = 11 };
	struct tls_config no_ca = { .cafile = "/nonexistent/ca.pem" };
	struct tls_config no_key = { .certfile = "/nonexistent/cert.pem" };
	struct tls_config srv_missing = { .certfile = "/nonexistent/cert.pem",
					  .keyfile = "/nonexistent/key.pem" };
	struct tls_config srv_mismatch = { .certfile = srv_pem, .keyfile = "" };
	(void)state;

	assert_int_equal(tls_ctx_new(&c, &bad_versions, err, sizeof err), -1);
	assert_null(c);
	assert_non_null(strstr(err, "1.2 or 1.3"));
	assert_int_equal(tls_ctx_new(&c, &old, err, sizeof err), -1);
	assert_int_equal(tls_ctx_new(&c, &no_ca, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_int_equal(tls_ctx_new(&c, &no_key, err, sizeof err), -1);
	assert_int_equal(tls_ctx_new_server(&c, &srv_missing, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
	assert_int_equal(tls_ctx_new_server(&c, &srv_mismatch, err, sizeof err), -1);
}

static void test_version_string(void **state)
{
	const char *v = tls_version_string();
	(void)state;
	assert_true(strncmp(v, "wolfSSL 5.", 10) == 0);
	assert_non_null(strstr(v, "AES-NI"));
	assert_non_null(strstr(v, "SP asm)"));
	print_message("    %s\n", v);
}

/* ---- memory: how much wolfSSL holds per idle connection ---------------------------- */

/* What wolfSSL holds for an idle connection after a request, measured as what freeing it
 * gives back (wolfSSL also keeps per-thread caches, e.g. FP_ECC tables, that no
 * connection owns). Our own output buffer and input window come on top. */
static void test_memory_per_connection(void **state)
{
	enum { CONNS = 16 };
	const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";
	(void)state;

	for (int v = 12; v <= 13; v++) {
		struct tls_config ccfg = { .cafile = ca_pem, .resume = true,
					   .min_version = v, .max_version = v };
		struct pair p;
		struct end c[CONNS], s[CONNS];
		long before, client, server;

		pair_open(&p, &ccfg, 0, 0, "localhost");
		end_reset(&p.c);
		end_reset(&p.s);
		memset(c, 0, sizeof c);
		memset(s, 0, sizeof s);
		for (int i = 0; i < CONNS; i++) {
			assert_int_equal(tls_conn_new(&c[i].t, p.cctx, "localhost"), 0);
			assert_int_equal(tls_conn_new_server(&s[i].t, p.sctx), 0);
			c[i].tx = (const uint8_t *)req, c[i].tx_len = strlen(req);
			s[i].tx = (const uint8_t *)resp, s[i].tx_len = strlen(resp);
			assert_int_equal(pump(&c[i], &s[i], SIZE_MAX), 0);
			assert_int_equal(c[i].rx_len, strlen(resp));
		}
		before = tls_thread_live_bytes();
		for (int i = 0; i < CONNS; i++)
			tls_conn_free(c[i].t);
		client = (before - tls_thread_live_bytes()) / CONNS;
		before = tls_thread_live_bytes();
		for (int i = 0; i < CONNS; i++)
			tls_conn_free(s[i].t);
		server = (before - tls_thread_live_bytes()) / CONNS;
		/* A connection is at least the WOLFSSL object (~50 KiB here). */
		assert_true(client > 16384);
		assert_true(server > 16384);
		for (int i = 0; i < CONNS; i++)
			free(c[i].rx), free(s[i].rx);
		print_message("    TLS 1.%d idle connection, wolfSSL's share: client %ld B, server"
			      " %ld B (+ our input window; our %d B output buffer only while"
			      " sending)\n", v % 10, client, server, TLS_OUTBUF_DEFAULT);
		pair_close(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_cafile),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_tls12_only),
		cmocka_unit_test(test_tls13_only),
		cmocka_unit_test(test_client12_server_any),
		cmocka_unit_test(test_verify_fails_with_other_ca),
		cmocka_unit_test(test_verify_fails_with_system_store),
		cmocka_unit_test(test_verify_fails_tls12),
		cmocka_unit_test(test_wrong_host_name),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_big_body_tls13),
		cmocka_unit_test(test_big_body_tls12),
		cmocka_unit_test(test_no_malloc_per_request),
		cmocka_unit_test(test_writev),
		cmocka_unit_test(test_byte_split_tls13),
		cmocka_unit_test(test_byte_split_tls12),
		cmocka_unit_test(test_resume_tls13),
		cmocka_unit_test(test_resume_tls12),
		cmocka_unit_test(test_no_resume_when_off),
		cmocka_unit_test(test_plaintext_http),
		cmocka_unit_test(test_plaintext_http_bytewise),
		cmocka_unit_test(test_write_before_handshake),
		cmocka_unit_test(test_flight_bigger_than_buffer),
		cmocka_unit_test(test_garbage_from_server),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_version_string),
		cmocka_unit_test(test_memory_per_connection),
	};
	return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
