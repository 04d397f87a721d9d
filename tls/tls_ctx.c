/* tls: contexts, from struct tls_config: the wolfSSL method and versions, the certificate
 * and key, the client's verification and trusted CAs (a CA file, the system store, or the
 * system bundle), the key-share groups; and which wolfSSL this is (tls_version_string).
 */
#include "tls/tls_int.h"

#include <stdio.h>
#include <stdlib.h>

#include <wolfssl/version.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

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
	tls_alloc_init();  /* before wolfSSL allocates anything */
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
	tls_session_cache_free(c);
	wolfSSL_CTX_free(c->ctx);
	free(c);
	wolfSSL_Cleanup();
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
