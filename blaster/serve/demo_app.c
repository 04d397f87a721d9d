/* demo_app — routes and bodies of `blaster serve --app demo`. See demo_app.h. */
#include "blaster/serve/demo_app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "blaster/common/sbuf.h"

/* --- ids ------------------------------------------------------------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                          \
    do {                                                                  \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);         \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);         \
    } while (0)

/* SipHash-2-4 of one 64-bit word (its 8 bytes, little-endian). */
static uint64_t siphash_u64(const uint64_t k[2], uint64_t m)
{
    uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL, v1 = k[1] ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL, v3 = k[1] ^ 0x7465646279746573ULL;
    uint64_t b = 8ULL << 56;
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finalizer: a bijection, so distinct counters give distinct ids. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static const char hexdig[] = "0123456789abcdef";

static char *put_hex(char *p, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        *p++ = hexdig[(v >> (4 * i)) & 15];
    return p;
}

static char *put_dec(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

void demo_upload_id(const struct demo_app *app, uint64_t counter, char out[DEMO_UPLOAD_ID_LEN + 1])
{
    char *p = out;
    *p++ = 'u';
    p = put_hex(p, counter, 16);
    *p++ = '-';
    p = put_hex(p, siphash_u64(app->key, counter) & 0xffffffffu, 8);
    *p = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool demo_upload_id_valid(const struct demo_app *app, const char *id)
{
    if (!id || strlen(id) != DEMO_UPLOAD_ID_LEN || id[0] != 'u' || id[17] != '-')
        return false;
    uint64_t counter = 0, mac = 0;
    for (int i = 1; i < 17; i++) {
        int v = hexval(id[i]);
        if (v < 0)
            return false;
        counter = counter << 4 | (uint64_t)v;
    }
    for (int i = 18; i < DEMO_UPLOAD_ID_LEN; i++) {
        int v = hexval(id[i]);
        if (v < 0)
            return false;
        mac = mac << 4 | (uint64_t)v;
    }
    return mac == (siphash_u64(app->key, counter) & 0xffffffffu);
}

/* "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx" from a counter: looks like a v4 UUID,
 * distinct for distinct counters (it holds all 64 bits of hi, a bijection of
 * the counter). */
static char *put_uuid(char *p, uint64_t counter)
{
    uint64_t hi = mix64(counter + 0x9e3779b97f4a7c15ULL), lo = mix64(hi ^ 0x5851f42d4c957f2dULL);
    p = put_hex(p, hi >> 32, 8);
    *p++ = '-';
    p = put_hex(p, hi >> 16, 4);
    *p++ = '-';
    *p++ = '4';
    p = put_hex(p, hi, 3);
    *p++ = '-';
    *p++ = '8';
    p = put_hex(p, (hi >> 12) & 0xf, 1);
    p = put_hex(p, lo >> 48, 2);
    *p++ = '-';
    p = put_hex(p, lo, 12);
    return p;
}

/* --- the all-zero UUID in a body ------------------------------------------------ */

static const char zero_uuid[] = "00000000-0000-0000-0000-000000000000";
/* KMP automaton over the pattern: next state on '0' [0] and on '-' [1]; any
 * other byte goes back to 0. State 36 (found) stays. */
static uint8_t zdfa[DEMO_SCAN_FOUND][2];

static void zdfa_build(void)
{
    _Static_assert(sizeof zero_uuid - 1 == DEMO_SCAN_FOUND, "pattern length");
    int x = 0;
    zdfa[0][0] = zero_uuid[0] == '0';
    zdfa[0][1] = zero_uuid[0] == '-';
    for (int j = 1; j < DEMO_SCAN_FOUND; j++) {
        int c = zero_uuid[j] == '-';
        zdfa[j][0] = zdfa[x][0];
        zdfa[j][1] = zdfa[x][1];
        zdfa[j][c] = (uint8_t)(j + 1);
        x = zdfa[x][c];
    }
}

void demo_scan(uint8_t *state, const uint8_t *p, size_t n)
{
    uint8_t s = *state;
    for (size_t i = 0; i < n && s != DEMO_SCAN_FOUND; i++) {
        uint8_t c = p[i];
        s = c == '0' ? zdfa[s][0] : c == '-' ? zdfa[s][1] : 0;
    }
    *state = s;
}

/* --- static bodies, rendered once ------------------------------------------------ */


static const char *const genres[] = {"rock", "jazz", "electronic", "lo-fi", "ambient", "house", "beat"};
static const char *const adjectives[] = {"Midnight", "Golden", "Electric", "Quiet", "Neon", "Velvet",
                                         "Distant", "Paper", "Silver", "Broken", "Summer", "Hollow"};
static const char *const nouns[] = {"Drive", "Rain", "Echoes", "Harbor", "Lights", "Tape", "Garden",
                                    "Signal", "Waves", "Static", "Motel", "Skyline", "Orbit"};
static const char *const artists[] = {"Nova Lane", "The Cartographers", "Kid Meridian", "Ostara",
                                      "Low Tide Club", "Mira Sol", "Basement Choir", "Juno Park",
                                      "Static Bloom", "Otto Vale"};
static const char *const products[] = {"Lo-fi Drum Kit", "Analog Synth Pack", "Vocal Chops Vol. 2",
                                       "Jazz Piano Loops", "808 Essentials", "Ambient Textures",
                                       "House Grooves", "Guitar One-Shots", "Mixing Template",
                                       "Tape Saturation Presets"};

/* Seeded track ids, as STREAM_TRACK_ID expects them: 00000000-0000-0000-0000-000000000001. */
static void sb_track_id(struct sbuf *b, unsigned i)
{
    sb_printf(b, "00000000-0000-0000-0000-%012x", i);
}

static void sb_track(struct sbuf *b, unsigned i)
{
    sb_printf(b, "{\"id\":\"");
    sb_track_id(b, i);
    sb_printf(b, "\",\"title\":\"%s %s\",\"artist\":{\"id\":%u,\"name\":\"%s\"},\"genre\":\"%s\","
              "\"duration_ms\":%u,\"plays\":%u,\"likes\":%u,\"is_public\":true,"
              "\"created_at\":\"2024-%02u-%02uT%02u:%02u:00Z\",\"hls_url\":\"/api/v1/tracks/",
           adjectives[i % 12], nouns[(i * 7) % 13], 100 + i % 10, artists[i % 10], genres[i % 7],
           120000 + (i * 37813) % 240000, (i * 7919) % 100000, (i * 331) % 5000,
           1 + i % 12, 1 + i % 28, i % 24, (i * 13) % 60);
    sb_track_id(b, i);
    sb_printf(b, "/hls/master.m3u8\"}");
}

static void sb_product(struct sbuf *b, unsigned i)
{
    sb_printf(b, "{\"id\":\"00000000-0000-0000-0001-%012x\",\"title\":\"%s\",\"type\":\"%s\","
              "\"price\":{\"amount\":%u,\"currency\":\"EUR\"},\"seller\":{\"id\":%u,\"name\":\"%s\"},"
              "\"stock\":%u,\"rating\":%u.%u}",
           i, products[i % 10], i % 3 ? "sample_pack" : "preset", 499 + (i * 500) % 4500,
           100 + i % 10, artists[(i + 3) % 10], 10 + (i * 17) % 90, 3 + i % 3, (i * 3) % 10);
}

static int keep(struct demo_app *app, unsigned resp, struct sbuf *b)
{
    if (b->oom) {
        free(b->p);
        return -1;
    }
    app->mem[resp] = (uint8_t *)b->p;
    app->resp[resp].body = (const uint8_t *)b->p;
    app->resp[resp].body_len = b->len;
    return 0;
}

static void def(struct demo_app *app, unsigned resp, int status, const char *reason,
                const char *ctype, const char *body, uint8_t dyn)
{
    app->resp[resp] = (struct demo_resp_def){
        .status = status, .reason = reason, .content_type = ctype, .extra_headers = "",
        .body = (const uint8_t *)body, .body_len = body ? strlen(body) : 0, .dyn = dyn,
    };
}

#define JSON "application/json"
#define M3U8 "application/vnd.apple.mpegurl"

int demo_init(struct demo_app *app, const struct demo_opts *o, int nworkers)
{
    memset(app, 0, sizeof *app);
    app->o = *o;
    zdfa_build();
    if (getrandom(app->key, sizeof app->key, 0) != (ssize_t)sizeof app->key) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        app->key[0] = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32);
        app->key[1] = mix64(app->key[0] ^ (uint64_t)ts.tv_sec);
    }
    app->nworkers = nworkers;
    app->stats = aligned_alloc(64, sizeof *app->stats * (size_t)nworkers);
    if (!app->stats)
        return -1;
    memset(app->stats, 0, sizeof *app->stats * (size_t)nworkers);

    def(app, DR_HEALTH, 200, "OK", JSON, "{\"status\":\"ok\"}", DEMO_STATIC);
    def(app, DR_UPLOAD_INITIATE, 201, "Created", JSON, NULL, DEMO_DYN_UPLOAD);
    def(app, DR_CHUNK_OK, 200, "OK", JSON, NULL, DEMO_DYN_CHUNK);
    def(app, DR_CHUNK_UNKNOWN_ID, 400, "Bad Request", JSON, "{\"error\":\"unknown upload id\"}", DEMO_STATIC);
    def(app, DR_CHUNK_MISSING_NUMBER, 400, "Bad Request", JSON, "{\"error\":\"missing X-Chunk-Number\"}", DEMO_STATIC);
    def(app, DR_CHUNK_BAD_NUMBER, 400, "Bad Request", JSON, "{\"error\":\"invalid X-Chunk-Number\"}", DEMO_STATIC);
    def(app, DR_HLS_MASTER, 200, "OK", M3U8, NULL, DEMO_STATIC);
    def(app, DR_HLS_PLAYLIST, 200, "OK", M3U8, NULL, DEMO_STATIC);
    def(app, DR_HLS_SEGMENT, 200, "OK", "video/mp2t", NULL, DEMO_STATIC);
    def(app, DR_SEARCH, 200, "OK", JSON, NULL, DEMO_STATIC);
    def(app, DR_DETAIL, 200, "OK", JSON, NULL, DEMO_STATIC);
    def(app, DR_ORDER_CREATED, 201, "Created", JSON, NULL, DEMO_DYN_ORDER);
    def(app, DR_ORDER_BAD_PRODUCT, 400, "Bad Request", JSON, "{\"error\":\"product not found\"}", DEMO_STATIC);
    def(app, DR_NOT_FOUND, 404, "Not Found", JSON, "{\"error\":\"not found\"}", DEMO_STATIC);
    def(app, DR_GET_ONLY, 405, "Method Not Allowed", JSON, "{\"error\":\"method not allowed\"}", DEMO_STATIC);
    app->resp[DR_GET_ONLY].extra_headers = "Allow: GET, HEAD\r\n";
    def(app, DR_POST_ONLY, 405, "Method Not Allowed", JSON, "{\"error\":\"method not allowed\"}", DEMO_STATIC);
    app->resp[DR_POST_ONLY].extra_headers = "Allow: POST\r\n";
    def(app, DR_STATS, 200, "OK", JSON, NULL, DEMO_DYN_STATS);

    /* HLS: the master lists three audio renditions, each with its media playlist. */
    static const unsigned kbps[] = {64, 128, 256};
    struct sbuf b = {0};
    sb_printf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n");
    for (int i = 0; i < 3; i++)
        sb_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%u000,AVERAGE-BANDWIDTH=%u,CODECS=\"mp4a.40.2\","
                   "NAME=\"%uk\"\n%uk/playlist.m3u8\n", kbps[i], kbps[i] * 900, kbps[i], kbps[i]);
    if (keep(app, DR_HLS_MASTER, &b))
        return -1;
    b = (struct sbuf){0};
    sb_printf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
               "#EXT-X-PLAYLIST-TYPE:VOD\n");
    for (uint64_t i = 0; i < o->hls_segments; i++)
        sb_printf(&b, "#EXTINF:10.000,\nsegment-%llu.ts\n", (unsigned long long)i);
    sb_printf(&b, "#EXT-X-ENDLIST\n");
    if (keep(app, DR_HLS_PLAYLIST, &b))
        return -1;

    /* A segment: MPEG-TS null packets (sync byte 0x47, PID 0x1fff, stuffing). */
    uint8_t *seg = malloc(o->segment_size ? o->segment_size : 1);
    if (!seg)
        return -1;
    for (uint64_t i = 0; i < o->segment_size; i++) {
        static const uint8_t head[4] = {0x47, 0x1f, 0xff, 0x10};
        uint64_t k = i % 188;
        seg[i] = k < 4 ? head[k] : 0xff;
    }
    app->mem[DR_HLS_SEGMENT] = seg;
    app->resp[DR_HLS_SEGMENT].body = seg;
    app->resp[DR_HLS_SEGMENT].body_len = o->segment_size;

    b = (struct sbuf){0};
    sb_printf(&b, "{\"data\":[");
    for (unsigned i = 0; i < 5; i++) {
        if (i)
            sb_printf(&b, ",");
        sb_track(&b, 1 + i * 11);
    }
    sb_printf(&b, "],\"meta\":{\"total\":5,\"took_ms\":3}}");
    if (keep(app, DR_SEARCH, &b))
        return -1;

    b = (struct sbuf){0};
    sb_printf(&b, "{\"data\":{\"id\":\"");
    sb_track_id(&b, 1);
    sb_printf(&b, "\",\"title\":\"Midnight Rain\",\"artist\":{\"id\":101,\"name\":\"Nova Lane\"},"
               "\"album\":{\"id\":7,\"title\":\"Night Shift\"},\"genre\":\"lo-fi\",\"duration_ms\":213000,"
               "\"bpm\":84,\"key\":\"A minor\",\"plays\":48211,\"likes\":3120,\"is_public\":true,"
               "\"created_at\":\"2024-03-14T09:26:53Z\",\"hls\":{\"master\":\"/api/v1/tracks/");
    sb_track_id(&b, 1);
    sb_printf(&b, "/hls/master.m3u8\",\"variants\":[\"64k\",\"128k\",\"256k\"]},"
               "\"tags\":[\"chill\",\"study\",\"night\"]}}");
    if (keep(app, DR_DETAIL, &b))
        return -1;

    for (unsigned l = 0; l <= DEMO_MAX_LIMIT; l++) {
        def(app, DR_LIST + l, 200, "OK", JSON, NULL, DEMO_STATIC);
        b = (struct sbuf){0};
        sb_printf(&b, "{\"data\":[");
        for (unsigned i = 0; i < l; i++) {
            if (i)
                sb_printf(&b, ",");
            sb_track(&b, 1 + i);
        }
        sb_printf(&b, "],\"meta\":{\"limit\":%u,\"total\":1000}}", l);
        if (keep(app, DR_LIST + l, &b))
            return -1;

        def(app, DR_PRODUCTS + l, 200, "OK", JSON, NULL, DEMO_STATIC);
        b = (struct sbuf){0};
        sb_printf(&b, "{\"data\":[");
        for (unsigned i = 0; i < l; i++) {
            if (i)
                sb_printf(&b, ",");
            sb_product(&b, 1 + i);
        }
        sb_printf(&b, "],\"meta\":{\"limit\":%u,\"total\":250}}", l);
        if (keep(app, DR_PRODUCTS + l, &b))
            return -1;
    }
    return 0;
}

void demo_free(struct demo_app *app)
{
    for (unsigned i = 0; i < DEMO_NRESP; i++)
        free(app->mem[i]);
    free(app->stats);
    memset(app, 0, sizeof *app);
}

/* --- dynamic bodies ---------------------------------------------------------------- */

size_t demo_render(const struct demo_app *app, unsigned resp, const struct demo_arg *arg,
                   char *buf, size_t cap)
{
    char tmp[DEMO_DYN_MAX], *p = tmp;
    switch (app->resp[resp].dyn) {
    case DEMO_DYN_UPLOAD:
        p = put_str(p, "{\"data\":{\"upload_id\":\"");
        demo_upload_id(app, arg->a, p);
        p += DEMO_UPLOAD_ID_LEN;
        p = put_str(p, "\",\"chunk_size\":1048576}}");
        break;
    case DEMO_DYN_CHUNK:
        p = put_str(p, "{\"received\":");
        p = put_dec(p, arg->a);
        p = put_str(p, ",\"chunk\":");
        p = put_dec(p, arg->b);
        *p++ = '}';
        break;
    case DEMO_DYN_ORDER:
        p = put_str(p, "{\"data\":{\"order_id\":\"");
        p = put_uuid(p, arg->a);
        p = put_str(p, "\",\"status\":\"pending\"}}");
        break;
    default:
        return 0;
    }
    size_t n = (size_t)(p - tmp);
    if (n > cap)
        return 0;
    memcpy(buf, tmp, n);
    return n;
}

static const char *const counter_names[DEMO_NCOUNTERS] = {
    [DC_HEALTH] = "health", [DC_UPLOAD_INITIATE] = "upload_initiate",
    [DC_UPLOAD_CHUNK] = "upload_chunk", [DC_UPLOAD_CHUNK_REJECTED] = "upload_chunk_rejected",
    [DC_HLS_MASTER] = "hls_master", [DC_HLS_PLAYLIST] = "hls_playlist",
    [DC_HLS_SEGMENT] = "hls_segment", [DC_SEARCH] = "search", [DC_LIST] = "list",
    [DC_DETAIL] = "detail", [DC_PRODUCTS] = "products", [DC_ORDERS] = "orders",
    [DC_ORDERS_REJECTED] = "orders_rejected", [DC_NOT_FOUND] = "not_found",
    [DC_METHOD_NOT_ALLOWED] = "method_not_allowed", [DC_STATS] = "stats",
    [DC_CHUNK_BYTES] = "chunk_bytes",
};

static uint64_t sum(const struct demo_app *app, size_t off)
{
    uint64_t t = 0;
    for (int w = 0; w < app->nworkers; w++)
        t += __atomic_load_n((const uint64_t *)((const char *)&app->stats[w] + off), __ATOMIC_RELAXED);
    return t;
}

size_t demo_render_stats(const struct demo_app *app, char *buf, size_t cap)
{
    /* Worst case: 17 counters and 65 segment counts of 20 digits: about 3 KB. */
    char *p = buf;
    if (cap < 4096)
        return 0;
    *p++ = '{';
    for (int i = 0; i < DEMO_NCOUNTERS; i++) {
        *p++ = '"';
        p = put_str(p, counter_names[i]);
        p = put_str(p, "\":");
        p = put_dec(p, sum(app, offsetof(struct demo_stats, n) + (size_t)i * sizeof(uint64_t)));
        *p++ = ',';
    }
    p = put_str(p, "\"segments\":{");
    bool first = true;
    for (int i = 0; i < DEMO_SEG_TRACKED; i++) {
        uint64_t v = sum(app, offsetof(struct demo_stats, segments) + (size_t)i * sizeof(uint64_t));
        if (!v)
            continue;
        if (!first)
            *p++ = ',';
        first = false;
        *p++ = '"';
        p = put_dec(p, (uint64_t)i);
        p = put_str(p, "\":");
        p = put_dec(p, v);
    }
    p = put_str(p, "},\"segments_beyond_63\":");
    p = put_dec(p, sum(app, offsetof(struct demo_stats, segments_beyond)));
    p = put_str(p, ",\"workers\":");
    p = put_dec(p, (uint64_t)app->nworkers);
    *p++ = '}';
    return (size_t)(p - buf);
}

/* --- routing ------------------------------------------------------------------------ */

/* [*p, end) starts with lit: step over it. */
static bool eat(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool is(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) == n && memcmp(p, lit, n) == 0;
}

/* ?limit=N: N capped at DEMO_MAX_LIMIT; absent or not a number: the default. */
static unsigned query_limit(const char *q)
{
    unsigned limit = DEMO_DEFAULT_LIMIT;
    while (q && *q) {
        if (strncmp(q, "limit=", 6) == 0) {
            const char *d = q + 6;
            if (*d >= '0' && *d <= '9') {
                uint64_t v = 0;
                for (; *d >= '0' && *d <= '9'; d++)
                    v = v > DEMO_MAX_LIMIT ? v : v * 10 + (uint64_t)(*d - '0');
                if (*d == 0 || *d == '&')
                    limit = v > DEMO_MAX_LIMIT ? DEMO_MAX_LIMIT : (unsigned)v;
            }
        }
        q = strchr(q, '&');
        if (q)
            q++;
    }
    return limit;
}

/* A positive decimal integer without sign or leading zeros, up to 10^18. */
static bool positive_int(const char *s, uint64_t *v)
{
    uint64_t n = 0;
    size_t len = strlen(s);
    if (len == 0 || len > 18 || s[0] == '0')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    *v = n;
    return true;
}

enum method_kind { M_GET, M_POST };

static bool is_variant(const char *p, const char *end)
{
    return is(p, end, "64k") || is(p, end, "128k") || is(p, end, "256k");
}

bool demo_scans_body(const char *method, const char *target)
{
    if (strcmp(method, "POST") != 0)
        return false;
    const char *q = strchr(target, '?');
    const char *end = q ? q : target + strlen(target);
    return is(target, end, "/api/v1/marketplace/orders");
}

unsigned demo_route(const struct demo_app *app, struct demo_worker *dw, const struct demo_req *r,
                    struct demo_arg *arg)
{
    struct demo_stats *st = dw->st;
    const char *path = r->target, *query = strchr(path, '?');
    const char *end = query ? query : path + strlen(path);
    const char *p = path;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    bool post = strcmp(r->method, "POST") == 0;
    enum method_kind want = M_GET;
    int counter = DC_NOT_FOUND;
    unsigned resp = DR_NOT_FOUND;
    uint64_t seg = 0;

    if (query)
        query++;
    if (is(p, end, "/health")) {
        counter = DC_HEALTH, resp = DR_HEALTH;
    } else if (is(p, end, "/__stats")) {
        /* GET only: the body is made at send time, and HEAD would send none. */
        if (strcmp(r->method, "GET") != 0) {
            demo_count(&st->n[DC_METHOD_NOT_ALLOWED], 1);
            return DR_GET_ONLY;
        }
        counter = DC_STATS, resp = DR_STATS;
    } else if (eat(&p, end, "/api/v1/")) {
        if (is(p, end, "search")) {
            counter = DC_SEARCH, resp = DR_SEARCH;
        } else if (is(p, end, "marketplace/products")) {
            counter = DC_PRODUCTS, resp = DR_PRODUCTS + query_limit(query);
        } else if (is(p, end, "marketplace/orders")) {
            want = M_POST, counter = DC_ORDERS, resp = DR_ORDER_CREATED;
        } else if (is(p, end, "tracks")) {
            counter = DC_LIST, resp = DR_LIST + query_limit(query);
        } else if (is(p, end, "tracks/upload/initiate")) {
            want = M_POST, counter = DC_UPLOAD_INITIATE, resp = DR_UPLOAD_INITIATE;
        } else if (is(p, end, "tracks/upload/chunk")) {
            want = M_POST, counter = DC_UPLOAD_CHUNK, resp = DR_CHUNK_OK;
        } else if (eat(&p, end, "tracks/")) {
            const char *id = p;
            while (p < end && *p != '/')
                p++;
            if (p == id) {
                /* no track id: not found */
            } else if (p == end) {
                counter = DC_DETAIL, resp = DR_DETAIL;
            } else if (eat(&p, end, "/hls/")) {
                const char *var = p;
                while (p < end && *p != '/')
                    p++;
                if (is(var, end, "master.m3u8")) {
                    counter = DC_HLS_MASTER, resp = DR_HLS_MASTER;
                } else if (is_variant(var, p) && is(p, end, "/playlist.m3u8")) {
                    counter = DC_HLS_PLAYLIST, resp = DR_HLS_PLAYLIST;
                } else if (is_variant(var, p) && eat(&p, end, "/segment-")) {
                    /* segment-<i>.ts, i without leading zeros, as the playlist writes it */
                    const char *d = p;
                    while (p < end && *p >= '0' && *p <= '9' && p - d < 10)
                        seg = seg * 10 + (uint64_t)(*p++ - '0');
                    if (p > d && (*d != '0' || p == d + 1) && is(p, end, ".ts") &&
                        seg < app->o.hls_segments)
                        counter = DC_HLS_SEGMENT, resp = DR_HLS_SEGMENT;
                }
            }
        }
    }

    if (resp == DR_NOT_FOUND) {
        demo_count(&st->n[DC_NOT_FOUND], 1);
        return resp;
    }
    if (want == M_GET ? !get : !post) {
        demo_count(&st->n[DC_METHOD_NOT_ALLOWED], 1);
        return want == M_GET ? DR_GET_ONLY : DR_POST_ONLY;
    }

    switch (resp) {
    case DR_UPLOAD_INITIATE:
        arg->a = dw->seq++ << 10 | dw->id;
        break;
    case DR_CHUNK_OK: {
        uint64_t n = 0;
        if (!demo_upload_id_valid(app, r->upload_id))
            resp = DR_CHUNK_UNKNOWN_ID;
        else if (!r->chunk_number)
            resp = DR_CHUNK_MISSING_NUMBER;
        else if (!positive_int(r->chunk_number, &n))
            resp = DR_CHUNK_BAD_NUMBER;
        if (resp != DR_CHUNK_OK) {
            counter = DC_UPLOAD_CHUNK_REJECTED;
            break;
        }
        arg->a = r->body_bytes;
        arg->b = n;
        demo_count(&st->n[DC_CHUNK_BYTES], r->body_bytes);
        break;
    }
    case DR_ORDER_CREATED:
        if (r->zero_uuid) {
            resp = DR_ORDER_BAD_PRODUCT;
            demo_count(&st->n[DC_ORDERS_REJECTED], 1);
        } else {
            arg->a = dw->seq++ << 10 | dw->id;
        }
        break;
    case DR_HLS_SEGMENT:
        if (seg < DEMO_SEG_TRACKED)
            demo_count(&st->segments[seg], 1);
        else
            demo_count(&st->segments_beyond, 1);
        break;
    default:
        break;
    }
    demo_count(&st->n[counter], 1);
    return resp;
}
