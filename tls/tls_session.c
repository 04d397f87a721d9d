/* tls: a client context's session cache, so that new connections resume (tickets): the
 * last session per server name, CACHE_SLOTS names, replaced round-robin. A client context
 * is one worker's, so no locking.
 */
#include "tls/tls_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- session cache (per worker, so no locking) -------------------------------------- */

struct cached_session *tls_session_find(struct tls_ctx *c, const char *name)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (c->cache[i].name && strcmp(c->cache[i].name, name) == 0)
			return &c->cache[i];
	return NULL;
}

void tls_session_store(struct tls_conn *t)
{
	struct tls_ctx *c = t->ctx;
	struct cached_session *slot;
	WOLFSSL_SESSION *s = wolfSSL_get1_session(t->ssl);

	if (!s)
		return;
	slot = tls_session_find(c, t->server_name);
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

void tls_session_cache_free(struct tls_ctx *c)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(c->cache[i].name);
		if (c->cache[i].session)
			wolfSSL_SESSION_free(c->cache[i].session);
	}
}
