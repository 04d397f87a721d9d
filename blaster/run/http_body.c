/* HTTP message bodies, shared by the response and the request parser: counting a
 * Content-Length or close-delimited body, and the chunked decoder (chunk-size lines,
 * extensions, data, trailers). Bodies are counted, never copied or stored.
 *
 * The chunked decoder's contract, as picohttpparser states its own: it is fed any pieces
 * of the stream, resumes at any byte, consumes the body exactly up to and including the
 * CRLF after the trailers and not a byte more, and bounds what it skips (a chunk-size line
 * to MAX_CHUNK_LINE bytes, trailers to HTTP_MAX_HEADER_BYTES) without parsing it.
 */
#include "blaster/run/http_int.h"

/* A chunk-size line, extensions included, longer than this is not a real server. */
#define MAX_CHUNK_LINE 4096

#define E_CHUNK_SIZE "invalid chunk size"
#define E_CHUNK_LINE "chunk size line too long"
#define E_CHUNK_CRLF "missing CRLF after chunk data"

/* The chunk-size line ended. */
static void chunk_size_end(struct http_priv_ *s)
{
    if (s->n) {
        s->state = S_CHUNK_DATA;
    } else {
        s->state = S_TRAILER_LINE;
        s->count = 0;
    }
}

static inline int hex_value(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* State S_CHUNK_SIZE: hex digits, up to the first byte after them. */
static const uint8_t *chunk_size_feed(struct http_priv_ *s, const uint8_t *p,
                                      const uint8_t *end, const char **err)
{
    while (p < end) {
        uint8_t c = *p++;
        int v = hex_value(c);
        if (++s->count > MAX_CHUNK_LINE) {
            *err = E_CHUNK_LINE;
            return NULL;
        }
        if (v >= 0) {
            if (s->n >> 60) {
                *err = "chunk size too large";
                return NULL;
            }
            s->n = s->n << 4 | (unsigned)v;
            s->flags |= F_DIGIT;
            continue;
        }
        if (!(s->flags & F_DIGIT)) {
            *err = E_CHUNK_SIZE;
            return NULL;
        }
        if (c == ';') {
            s->state = S_CHUNK_EXT;
        } else if (is_ows(c)) {
            s->state = S_CHUNK_BWS;
        } else if (c == '\r') {
            s->state = S_CHUNK_SIZE_LF;
        } else if (c == '\n') {
            chunk_size_end(s);
        } else {
            *err = E_CHUNK_SIZE;
            return NULL;
        }
        break;
    }
    return p;
}

/* State S_CHUNK_BWS: one byte of whitespace after the size. */
static const char *chunk_bws_byte(struct http_priv_ *s, uint8_t c)
{
    if (++s->count > MAX_CHUNK_LINE)
        return E_CHUNK_LINE;
    if (c == ';')
        s->state = S_CHUNK_EXT;
    else if (c == '\r')
        s->state = S_CHUNK_SIZE_LF;
    else if (c == '\n')
        chunk_size_end(s);
    else if (!is_ows(c))
        return E_CHUNK_SIZE;
    return NULL;
}

/* Skip p[0..end) up to and including a '\n', adding what is skipped to s->count. Returns
 * where it stopped, *lf telling whether the '\n' was seen; NULL once s->count exceeds
 * limit (the line is too long). */
static const uint8_t *line_skip(struct http_priv_ *s, const uint8_t *p, const uint8_t *end,
                                uint32_t limit, bool *lf)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *stop = nl ? nl + 1 : end;
    s->count += (uint32_t)(stop - p);
    if (s->count > limit)
        return NULL;
    *lf = nl != NULL;
    return stop;
}

/* State S_BODY_CL or S_CHUNK_DATA: count what is left of the body or chunk. */
static const uint8_t *data_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end,
                                uint64_t *body)
{
    size_t avail = (size_t)(end - p);
    size_t take = s->n < avail ? (size_t)s->n : avail;
    p += take;
    *body += take;
    s->n -= take;
    if (!s->n)
        s->state = s->state == S_BODY_CL ? S_DONE : S_CHUNK_DATA_CR;
    return p;
}

const uint8_t *http_body_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end,
                              uint64_t *body, const char **err)
{
    bool lf;

    while (p < end) {
        switch (s->state) {
        case S_BODY_CL:
        case S_CHUNK_DATA:
            p = data_feed(s, p, end, body);
            if (s->state == S_DONE)
                return p;
            break;
        case S_BODY_CLOSE:
            *body += (uint64_t)(end - p);
            return end;
        case S_CHUNK_SIZE:
            if (!(p = chunk_size_feed(s, p, end, err)))
                return NULL;
            break;
        case S_CHUNK_BWS:
            if ((*err = chunk_bws_byte(s, *p++)))
                return NULL;
            break;
        case S_CHUNK_EXT:
            if (!(p = line_skip(s, p, end, MAX_CHUNK_LINE, &lf))) {
                *err = E_CHUNK_LINE;
                return NULL;
            }
            if (lf)
                chunk_size_end(s);
            break;
        case S_TRAILER_SKIP:
            /* Trailers cannot change the framing: only bounded, never parsed. */
            if (!(p = line_skip(s, p, end, HTTP_MAX_HEADER_BYTES, &lf))) {
                *err = "trailers too large";
                return NULL;
            }
            if (lf)
                s->state = S_TRAILER_LINE;
            break;
        case S_CHUNK_SIZE_LF:
            if (*p++ != '\n') {
                *err = E_CR;
                return NULL;
            }
            chunk_size_end(s);
            break;
        case S_CHUNK_DATA_CR: {
            uint8_t c = *p++;
            if (c == '\r') {
                s->state = S_CHUNK_DATA_LF;
            } else if (c == '\n') {
                http_chunked_start(s);
            } else {
                *err = E_CHUNK_CRLF;
                return NULL;
            }
            break;
        }
        case S_CHUNK_DATA_LF:
            if (*p++ != '\n') {
                *err = E_CHUNK_CRLF;
                return NULL;
            }
            http_chunked_start(s);
            break;
        case S_TRAILER_LINE: {
            uint8_t c = *p++;
            if (c == '\n') {
                s->state = S_DONE;
                return p;
            }
            s->count++;
            s->state = c == '\r' ? S_TRAILER_END_LF : S_TRAILER_SKIP;
            break;
        }
        case S_TRAILER_END_LF:
            if (*p++ != '\n') {
                *err = E_CR;
                return NULL;
            }
            s->state = S_DONE;
            return p;
        default:
            return p;
        }
    }
    return p;
}
