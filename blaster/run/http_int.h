/* Private to the HTTP parsers (http_resp.c, http_req.c, http_header.c, http_body.c): the
 * states, flags and header kinds they share through struct http_priv_, the byte classes,
 * and the two pieces both parsers run, header lines and the body. Nothing outside those
 * files includes this; the public contract is http.h.
 *
 * Each message is one state machine, resumable at any byte. The start line belongs to the
 * parser of its message; header lines go through http_*_headers_feed; the body through
 * http_body_feed. Bytes consumed while state < S_BODY count as header bytes.
 */
#ifndef BLASTER_HTTP_INT_H
#define BLASTER_HTTP_INT_H

#include "blaster/run/http.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
    /* Header phase: everything before the body. Kept first so "state < S_BODY" asks
     * whether bytes being consumed count as header bytes. */
    S_STATUS,        /* response status line, p_.count = position in "HTTP/1.x NNN " */
    S_REQ_START,     /* empty lines tolerated before a request line */
    S_METHOD,
    S_TARGET,
    S_REQ_VERSION,   /* p_.count = position in "HTTP/1.x" */
    S_REASON,        /* reason phrase: skipped to LF */
    S_START_LF,      /* CR ended the start line */
    S_HDR_LINE,      /* first byte of a header line (or of the empty line) */
    S_HDR_NAME,      /* name still matching a header we care about */
    S_VALUE,         /* value of a header we care about, byte by byte */
    S_SKIP_VALUE,    /* value of a header we ignore: skipped to LF */
    S_HDR_END_LF,    /* CR of the empty line */
    /* Body phase. */
    S_BODY,
    S_BODY_CL = S_BODY,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_BWS,     /* whitespace after the size: only ';' or the line end may follow */
    S_CHUNK_EXT,     /* chunk extensions: skipped to LF */
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_TRAILER_LINE,  /* first byte of a trailer line (or of the final empty line) */
    S_TRAILER_SKIP,
    S_TRAILER_END_LF,
    S_DONE,
    S_ERROR,
};

enum {
    F_HEAD     = 1 << 0,  /* response to HEAD: no body */
    F_HAS_CL   = 1 << 1,
    F_TE       = 1 << 2,  /* Transfer-Encoding named at least one coding */
    F_CHUNKED  = 1 << 3,  /* ... and the last one was chunked */
    F_CLOSE    = 1 << 4,  /* Connection: close */
    F_KA       = 1 << 5,  /* Connection: keep-alive */
    F_EXPECT   = 1 << 6,  /* Expect: 100-continue */
    F_DIGIT    = 1 << 7,  /* Content-Length value or chunk size has a digit */
    F_NUM_END  = 1 << 8,  /* whitespace after the Content-Length digits */
};

/* Header names we act on; a header's kind is its index in the table of names (struct
 * names). The request parser appends the caller's capture names after K_CAPTURE. */
enum { K_CL, K_TE, K_CONN, K_EXPECT, K_CAPTURE, K_NONE = 0xff };

/* The header names one parser acts on, lowercase, indexed by kind. */
struct names {
    const char *const *name;
    const uint8_t *len;
    unsigned mask;            /* which entries are in use */
    bool word_cmp;            /* all names are lowercase letters and '-', 8 bytes or more */
};

#define E_TOO_LARGE "header block too large"
#define E_CR "expected LF after CR"

/* RFC 9110 tchar, as a byte table: the name scan is the hottest loop of the parser. */
extern const bool http_tchar[256];

static inline bool is_tchar(uint8_t c)
{
    return http_tchar[c];
}

static inline bool is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

static inline bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static inline uint8_t lower(uint8_t c)
{
    return (unsigned)(c - 'A') < 26 ? c + 32 : c;
}

/* memchr(p, '\n', end - p) for the short runs of a header block: lines are 20-40 bytes,
 * where a call into libc costs as much as the search. Never reads at or past end. */
static inline const uint8_t *find_lf(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n');
    for (; end - p >= 16; p += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), lf));
        if (m)
            return p + __builtin_ctz(m);
    }
    for (; p < end; p++)
        if (*p == '\n')
            return p;
    return NULL;
#else
    return memchr(p, '\n', (size_t)(end - p));
#endif
}

/* A header-phase line ended at p: count the bytes since *mark as header bytes. False, with
 * *err set, once the block exceeds HTTP_MAX_HEADER_BYTES. */
static inline bool line_end(uint64_t *hbytes, const uint8_t **mark, const uint8_t *p,
                            const char **err)
{
    *hbytes += (uint64_t)(p - *mark);
    *mark = p;
    if (*hbytes > HTTP_MAX_HEADER_BYTES) {
        *err = E_TOO_LARGE;
        return false;
    }
    return true;
}

/* State S_START_LF: the LF after the CR that ended the start line. Returns p past it, or
 * NULL with *err set. */
static inline const uint8_t *start_lf_feed(struct http_priv_ *s, const uint8_t *p,
                                           const uint8_t **mark, uint64_t *hbytes,
                                           const char **err)
{
    if (*p++ != '\n') {
        *err = E_CR;
        return NULL;
    }
    s->state = S_HDR_LINE;
    return line_end(hbytes, mark, p, err) ? p : NULL;
}

/* The end of a feed that stopped at p (NULL: malformed, err says why): the result, with
 * *consumed set and the parser failed into *error on HTTP_ERROR. A feed that did not
 * complete the message has consumed all of buf. */
static inline enum http_rc feed_end(struct http_priv_ *s, const uint8_t *buf, const uint8_t *p,
                                    const char *err, const char **error, size_t *consumed)
{
    if (!p) {
        s->state = S_ERROR;
        *error = err;
        return HTTP_ERROR;
    }
    *consumed = (size_t)(p - buf);
    return s->state == S_DONE ? HTTP_DONE : HTTP_PARTIAL;
}

/* Byte i of "HTTP/1.x" in a start line; false if it is not the expected one. Sets *minor at
 * i == 7. */
static inline bool version_byte(uint32_t i, uint8_t c, int *minor)
{
    if (i < 7)
        return c == (uint8_t)"HTTP/1."[i];
    if (!is_digit(c))
        return false;
    *minor = c - '0';
    return true;
}

/* Whether the connection may be reused, from the version and the Connection tokens. */
static inline bool keep_alive_of(int minor_version, uint16_t flags)
{
    if (minor_version >= 1)
        return !(flags & F_CLOSE);
    return (flags & F_KA) && !(flags & F_CLOSE);
}

/* http_header.c: consume header lines from p, for the response (its fixed names, no
 * captures) or the request (names t, captures caps). On the empty line that ends the block,
 * set state S_BODY and return just past it; the caller then decides the body. *hbytes grows
 * at each line end and must stay within the limit; the caller adds the bytes of a line left
 * unfinished when the buffer runs out. NULL with *err set on malformed input. */
const uint8_t *http_resp_headers_feed(struct http_priv_ *s, const uint8_t *p,
                                      const uint8_t *end, const uint8_t **mark,
                                      uint64_t *hbytes, const char **err);
const uint8_t *http_req_headers_feed(struct http_priv_ *s, const uint8_t *p,
                                     const uint8_t *end, const uint8_t **mark,
                                     const struct names *t, struct http_capture *caps,
                                     uint64_t *hbytes, const char **err);

/* Start a chunked body, or the next chunk of one (state S_CHUNK_SIZE). */
static inline void http_chunked_start(struct http_priv_ *s)
{
    s->state = S_CHUNK_SIZE;
    s->n = 0;
    s->count = 0;
    s->flags &= (uint16_t)~F_DIGIT;
}

/* http_body.c: consume body bytes from p (state >= S_BODY), adding them to *body. Returns
 * end, or just past the body when it completes (state S_DONE), or NULL with *err set. */
const uint8_t *http_body_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end,
                              uint64_t *body, const char **err);

#endif
