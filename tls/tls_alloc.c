/* tls: the per-thread allocation cache behind every wolfSSL allocation, and the
 * per-thread counters tls.h exposes for tests (tls_thread_live_bytes, tls_thread_mallocs).
 * Knows nothing of connections: it hands out and takes back blocks.
 */
#include "tls/tls_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

void *tls_block_alloc(size_t size)
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

void tls_block_free(void *p)
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
		return tls_block_alloc(size);
	h = (struct block_head *)((uint8_t *)p - BLOCK_HEAD);
	have = h->cls == CLASS_BIG ? h->size : class_bytes(h->cls) - BLOCK_HEAD;
	if (size <= have && h->cls != CLASS_BIG) {
		h->size = (uint32_t)size;
		return p;
	}
	if (!(q = tls_block_alloc(size)))
		return NULL;
	memcpy(q, p, have < size ? have : size);
	tls_block_free(p);
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
	wolfSSL_SetAllocators(tls_block_alloc, tls_block_free, cache_realloc);
}

void tls_alloc_init(void)
{
	pthread_once(&cache_once, cache_setup);
}
