/* hls: what the built-in `hls` step needs from HLS playlists (RFC 8216): a master
 * playlist's variants, the choice of one, a media playlist's segment URIs, and the
 * resolution of a URI found in a playlist into a request-target on the same server.
 *
 * Pure parsing over the bytes a server sent: no allocation, no locks, work linear in the
 * input, never a read outside [text, text + len) (text need not be NUL-terminated);
 * malformed input gives an error or is skipped, never a crash. Lines end in \n or \r\n.
 */
#ifndef BLASTER_HLS_H
#define BLASTER_HLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One variant stream of a master playlist. name and uri point into the playlist text (not
 * NUL-terminated). */
struct hls_variant_info {
    uint64_t    bandwidth;  /* BANDWIDTH; 0 when absent; saturates at UINT64_MAX */
    const char *name;       /* NAME attribute without its quotes; NULL, 0 when absent */
    size_t      name_len;
    const char *uri;        /* the variant's media playlist URI, trimmed; never empty */
    size_t      uri_len;
};

/* A master playlist's variants: for each #EXT-X-STREAM-INF line, its BANDWIDTH, NAME and
 * the URI on the next line that is neither blank nor a comment/tag. Attribute lists per
 * RFC 8216 4.2 (quoted strings may contain commas: CODECS="mp4a.40.2,avc1.4d401e"); no
 * attribute is required besides what is listed, so audio-only variants (no RESOLUTION)
 * count. A STREAM-INF with a malformed attribute list, or with no URI line before the next
 * STREAM-INF or the end, is skipped. #EXT-X-I-FRAME-STREAM-INF and #EXT-X-MEDIA are not
 * variants. The first line must be #EXTM3U (a UTF-8 BOM before it is tolerated).
 * Returns the number of variants stored in v[0..] (at most max; the rest are dropped), or
 * -1 if the text is not an M3U8. */
int hls_parse_master(const char *text, size_t len, struct hls_variant_info *v, int max);

/* Choose a variant: which = 0 the lowest bandwidth, 1 the highest (first one on ties);
 * 2 the one named `name`: first a variant whose NAME equals it, else the first whose URI
 * (before any '?' or '#') has it as a whole '/'-separated segment (so "256k" picks
 * "256k/playlist.m3u8" and "http://h/hls/256k/p.m3u8", not "1256k/p.m3u8").
 * Returns the index in v, or -1 (n <= 0, no match, unknown `which`, empty name). */
int hls_choose(const struct hls_variant_info *v, int n, int which, const char *name);

/* A media playlist's segment URIs in order: each URI line (neither blank nor '#') that
 * follows an #EXTINF tag (other tags between them, #EXT-X-BYTERANGE included, are ignored:
 * the whole resource is named; URI lines with no #EXTINF before them are skipped). Each is
 * passed trimmed, pointing into text, to each(ctx, uri, uri_len) (each may be NULL: just
 * count); returning false stops the callbacks, but the rest of the text is still scanned
 * for #EXT-X-ENDLIST. *endlist (may be NULL) is set to whether #EXT-X-ENDLIST was seen (a
 * live playlist has none: fetch only what is listed).
 * Returns the number of segments passed to each (the one that stopped included), or -1 if
 * the text is not an M3U8 (*endlist then false). */
int hls_parse_media(const char *text, size_t len,
                    bool (*each)(void *ctx, const char *uri, size_t uri_len), void *ctx,
                    bool *endlist);

/* Resolve a URI found in a playlist (uri[0..uri_len), not NUL-terminated) against the
 * playlist's own request-target base_path (origin-form, "/api/v1/tracks/X/hls/master.m3u8",
 * its query ignored) into an origin-form request-target, per RFC 3986 5.2:
 *  - relative: "256k/playlist.m3u8" -> "/api/v1/tracks/X/hls/256k/playlist.m3u8";
 *  - absolute path: "/x/y.ts" as is;
 *  - "http://HOST[:PORT]/p", "https://HOST[:PORT]/p" or "//HOST[:PORT]/p": "/p" only when
 *    HOST:PORT is the target, `hostport` (the Host header value: host, or host:port when not
 *    the default port; IPv6 literals in brackets): host compared case-insensitively, a
 *    missing port being the scheme's default (80, 443); any other host, a userinfo, another
 *    scheme or a NULL hostport gives -1;
 *  - "?q" alone: the base path with that query.
 * Dot segments ("./", "../") are removed (".." above the root stays at the root); the query
 * is kept as is; a fragment is dropped. A uri or base_path holding spaces or control
 * characters (which would break the request line), an empty uri, or a base_path not
 * starting with '/' gives -1.
 * Returns the length written to out (NUL-terminated), -1 error, -2 too long for cap. */
int hls_resolve(const char *base_path, const char *uri, size_t uri_len, const char *hostport,
                char *out, size_t cap);

#endif
