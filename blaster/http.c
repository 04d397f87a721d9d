/* HTTP/1.1 framing parsers: see http.h for the contract.
 *
 * One state machine per message, resumable at any byte. Runs of bytes that carry no
 * meaning for framing (reason phrase, values of headers we ignore, chunk extensions,
 * trailers, bodies) are skipped with a search for '\n' or a length. A header line wholly in
 * the buffer, the usual case, is decided at once; a line cut by the end of a buffer goes
 * byte by byte through the same decisions. Both paths must agree exactly: the unit tests
 * and the fuzzer compare every input whole, cut, and one byte at a time.
 */
#include "blaster/http.h"

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

/* Header names we act on, lowercase; a header's kind is its index. The request parser
 * appends the caller's capture names after K_CAPTURE. */
enum { K_CL, K_TE, K_CONN, K_EXPECT, K_CAPTURE, K_NONE = 0xff };
static const char *const resp_name[] = { "content-length", "transfer-encoding", "connection" };
static const uint8_t resp_name_len[] = { 14, 17, 10 };

/* Tokens we look for in list-valued headers, and which each kind of header may contain. */
enum { T_CLOSE, T_KEEP_ALIVE, T_CHUNKED, T_CONTINUE };
static const char *const tokens[] = { "close", "keep-alive", "chunked", "100-continue" };
static const uint8_t token_len[] = { 5, 10, 7, 12 };
static const uint8_t kind_tokens[] = {
    [K_CL] = 0,
    [K_TE] = 1u << T_CHUNKED,
    [K_CONN] = 1u << T_CLOSE | 1u << T_KEEP_ALIVE,
    [K_EXPECT] = 1u << T_CONTINUE,
};
enum { TOK_BEFORE, TOK_IN, TOK_AFTER };

/* A chunk-size line, extensions included, longer than this is not a real server. */
#define MAX_CHUNK_LINE 4096

static const char E_TOO_LARGE[] = "header block too large";
static const char E_CR[] = "expected LF after CR";

/* RFC 9110 tchar. A byte table: the name scan is the hottest loop of the parser. */
static const bool tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
    ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true,
    ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true,
    ['`'] = true, ['|'] = true, ['~'] = true,
};

static inline bool is_tchar(uint8_t c)
{
    return tchar[c];
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

/* Advance the set of candidate names (or tokens) that still match after byte lc at position
 * idx. A candidate whose text ended at idx drops out, which is how "connection" does not
 * match "connections". */
static inline unsigned match_step(const char *const *names, unsigned mask, unsigned idx, uint8_t lc)
{
    for (unsigned m = mask; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        uint8_t ch = (uint8_t)names[k][idx];
        if (!ch || lower(ch) != lc)  /* lc may be a NUL from the wire */
            mask &= ~(1u << k);
    }
    return mask;
}

/* The candidate in mask whose text is exactly idx bytes long, or K_NONE. */
static inline unsigned match_end(const char *const *names, unsigned mask, unsigned idx)
{
    for (unsigned m = mask; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        if (names[k][idx] == '\0')
            return k;
    }
    return K_NONE;
}

/* ---- header values ---------------------------------------------------------------- */

static inline void value_start(struct http_priv_ *s, unsigned kind)
{
    s->kind = (uint8_t)kind;
    s->n = 0;
    s->flags &= (uint16_t)~(F_DIGIT | F_NUM_END);
    s->tok = TOK_BEFORE;
    s->idx = 0;
    s->mask = kind < K_CAPTURE ? kind_tokens[kind] : 0;
}

/* One byte of a Content-Length value; number and flags passed apart so that the
 * whole-line path keeps them in registers. */
static inline const char *cl_byte(uint64_t *n, uint16_t *flags, uint8_t c)
{
    if (is_digit(c)) {
        if (*flags & F_NUM_END)
            return "invalid Content-Length";
        if (*n > (UINT64_MAX - (c - '0')) / 10)
            return "Content-Length too large";
        *n = *n * 10 + (c - '0');
        *flags |= F_DIGIT;
        return NULL;
    }
    if (is_ows(c) || c == '\r') {
        if (*flags & F_DIGIT)
            *flags |= F_NUM_END;
        return NULL;
    }
    return "invalid Content-Length";
}

/* A list element ended; t is the token it was exactly (K_NONE: something else). */
static inline void token_apply(struct http_priv_ *s, unsigned t)
{
    switch (s->kind) {
    case K_TE:
        /* Only the last coding decides the framing: "gzip, chunked" is chunked. */
        s->flags |= F_TE;
        if (t == T_CHUNKED)
            s->flags |= F_CHUNKED;
        else
            s->flags &= (uint16_t)~F_CHUNKED;
        break;
    case K_CONN:
        if (t == T_CLOSE)
            s->flags |= F_CLOSE;
        else if (t == T_KEEP_ALIVE)
            s->flags |= F_KA;
        break;
    case K_EXPECT:
        if (t == T_CONTINUE)
            s->flags |= F_EXPECT;
        break;
    }
}

static void token_end(struct http_priv_ *s)
{
    /* An empty list element is ignored, as RFC 9110 5.6.1 allows. */
    if (s->tok != TOK_BEFORE)
        token_apply(s, match_end(tokens, s->mask, s->idx));
    s->tok = TOK_BEFORE;
    s->idx = 0;
    s->mask = kind_tokens[s->kind];
}

static inline bool is_list_space(uint8_t c)
{
    return is_ows(c) || c == '\r';
}

/* A whole token-list value v[0..e) at once: the same result as token_byte on each byte and
 * token_end at the line end, without the per-byte matching. */
static inline void token_list(struct http_priv_ *s, const uint8_t *v, const uint8_t *e)
{
    while (v < e) {
        while (v < e && is_list_space(*v))
            v++;
        const uint8_t *a = v;
        while (v < e && *v != ',')
            v++;
        const uint8_t *b = v++;
        while (b > a && is_list_space(b[-1]))
            b--;
        if (a == b)
            continue;
        size_t n = (size_t)(b - a);
        unsigned t = K_NONE;
        for (unsigned m = kind_tokens[s->kind]; m; m &= m - 1) {
            unsigned k = (unsigned)__builtin_ctz(m);
            if (token_len[k] != n)
                continue;
            size_t i = 0;
            while (i < n && lower(a[i]) == (uint8_t)tokens[k][i])
                i++;
            if (i == n) {
                t = k;
                break;
            }
        }
        token_apply(s, t);
    }
}

static void token_byte(struct http_priv_ *s, uint8_t c)
{
    if (c == ',') {
        token_end(s);
    } else if (is_ows(c) || c == '\r') {
        if (s->tok == TOK_IN)
            s->tok = TOK_AFTER;
    } else if (s->tok == TOK_AFTER) {
        s->mask = 0;  /* "keep alive": two words are not one token */
    } else {
        s->tok = TOK_IN;
        if (s->mask)
            s->mask = (uint8_t)match_step(tokens, s->mask, s->idx, lower(c));
        if (s->idx < 255)
            s->idx++;
    }
}

static const char *value_byte(struct http_priv_ *s, uint8_t c)
{
    if (s->kind == K_CL)
        return cl_byte(&s->n, &s->flags, c);
    if (s->kind < K_CAPTURE)
        token_byte(s, c);
    return NULL;
}

static const char *cl_end(struct http_priv_ *s)
{
    if (!(s->flags & F_DIGIT))
        return "empty Content-Length";
    if ((s->flags & F_HAS_CL) && s->cl != s->n)
        return "conflicting Content-Length";
    s->cl = s->n;
    s->flags |= F_HAS_CL;
    return NULL;
}

/* The value's line ended. */
static const char *value_end(struct http_priv_ *s)
{
    if (s->kind == K_CL)
        return cl_end(s);
    if (s->kind < K_CAPTURE)
        token_end(s);
    return NULL;
}

/* ---- capture (request only) -------------------------------------------------------- */

static void capture_byte(struct http_capture *cap, struct http_priv_ *s, uint8_t c)
{
    if (s->count == 0 && (is_ows(c) || c == '\r'))
        return;
    if (s->count < sizeof cap->value - 1)
        cap->value[s->count++] = (char)c;
    else
        cap->truncated = true;
}

static void capture_end(struct http_capture *cap, struct http_priv_ *s)
{
    uint32_t n = s->count;
    while (n && (is_ows((uint8_t)cap->value[n - 1]) || cap->value[n - 1] == '\r'))
        n--;
    cap->value[n] = '\0';
}

/* ---- header lines, shared by both parsers ----------------------------------------- */

struct names {
    const char *const *name;
    const uint8_t *len;
    unsigned mask;            /* which entries are in use */
    bool word_cmp;            /* all names are lowercase letters and '-', 8 bytes or more */
};

static inline uint64_t load64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* p[0..n) equals name ignoring case, n >= 8, p all tchar, name lowercase letters and '-':
 * then OR-ing 0x20 into p's bytes lowercases its letters and can make no other tchar into a
 * letter or a '-', so whole words compare at once. */
static inline bool word_equal(const uint8_t *p, const char *name, size_t n)
{
    const uint64_t lc = 0x2020202020202020ull;
    for (size_t i = 0; i + 8 < n; i += 8)
        if ((load64(p + i) | lc) != load64(name + i))
            return false;
    return (load64(p + n - 8) | lc) == load64(name + n - 8);
}

/* The entries of t exactly equal (ignoring case) to the name p[0..n), as a bit mask. */
static inline unsigned names_equal(const struct names *t, const uint8_t *p, size_t n)
{
    unsigned hit = 0;
    for (unsigned m = t->mask; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        if (t->len[k] != n)
            continue;
        if (t->word_cmp) {
            if (word_equal(p, t->name[k], n))
                hit |= 1u << k;
            continue;
        }
        size_t i = 0;
        while (i < n && lower((uint8_t)t->name[k][i]) == lower(p[i]))
            i++;
        if (i == n)
            hit |= 1u << k;
    }
    return hit;
}

/* The name is complete (the colon seen) and matches the entries in hit: choose what to do
 * with the value. A captured name may also be a framing header: then both. */
static inline void value_begin(struct http_priv_ *s, unsigned hit, struct http_capture *caps)
{
    unsigned fixed = hit & ((1u << K_CAPTURE) - 1), capbits = hit >> K_CAPTURE;
    unsigned k = fixed ? (unsigned)__builtin_ctz(fixed) : K_NONE;

    s->cap = -1;
    if (caps && capbits) {
        s->cap = (int8_t)__builtin_ctz(capbits);
        caps[s->cap].seen = true;
        caps[s->cap].truncated = false;
        s->count = 0;
    }
    if (k == K_NONE && s->cap < 0) {
        s->state = S_SKIP_VALUE;
    } else {
        value_start(s, k);
        s->state = S_VALUE;
    }
}

/* A whole header value v[0..e) in hand: the same as value_byte on each byte, then
 * value_end, with token lists matched in bulk. */
static inline const char *value_line(struct http_priv_ *s, struct http_capture *caps,
                                     const uint8_t *v, const uint8_t *e)
{
    const char *err = NULL;

    if (s->kind == K_CL) {
        uint64_t n = 0;
        uint16_t flags = s->flags;
        for (const uint8_t *b = v; b < e; b++)
            if ((err = cl_byte(&n, &flags, *b)))
                return err;
        s->n = n;
        s->flags = flags;
        err = cl_end(s);
    } else if (s->kind < K_CAPTURE) {
        token_list(s, v, e);
    }
    if (s->cap >= 0) {
        for (const uint8_t *b = v; b < e; b++)
            capture_byte(&caps[s->cap], s, *b);
        capture_end(&caps[s->cap], s);
    }
    return err;
}

static const char *bad_name_byte(uint8_t c, bool first)
{
    if (first && is_ows(c))
        return "obsolete header line folding";
    if (c == '\r' || c == '\n')
        return "header line without colon";
    return "invalid header name";
}

/* Consume header lines from p. t: the headers to act on (kind = index). On the empty line
 * that ends the block, sets state S_BODY and returns just past it; the caller then decides
 * the body. *hbytes grows at each line end and must stay within the limit; the caller adds
 * the bytes of a line left unfinished when the buffer runs out. Returns NULL and sets *err
 * on malformed input.
 *
 * A line wholly in the buffer (the usual case) is handled at once: one memchr for its end,
 * a scan of the name, a length check against the names we want. A line cut by the end of
 * the buffer goes byte by byte through the same decisions, so the result never depends on
 * where the stream was cut. */
static inline __attribute__((always_inline)) const uint8_t *
headers_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end, const uint8_t **mark,
             const struct names *t, struct http_capture *caps, uint64_t *hbytes,
             const char **err)
{
#define LINE_END()                                                                      \
    do {                                                                                \
        *hbytes += (uint64_t)(p - *mark);                                               \
        *mark = p;                                                                      \
        if (*hbytes > HTTP_MAX_HEADER_BYTES) {                                          \
            *err = E_TOO_LARGE;                                                         \
            return NULL;                                                                \
        }                                                                               \
    } while (0)

    while (p < end) {
        switch (s->state) {
        case S_HDR_LINE:
            /* Loop here rather than through the switch: most lines take the fast path. */
            for (;;) {
                uint8_t c = *p;
                if (c == '\r') {
                    p++;
                    s->state = S_HDR_END_LF;
                    break;
                }
                if (c == '\n') {
                    p++;
                    LINE_END();
                    s->state = S_BODY;
                    return p;
                }
                if (!is_tchar(c)) {
                    *err = bad_name_byte(c, true);
                    return NULL;
                }
                const uint8_t *nl = find_lf(p, end);
                if (!nl) {
                    s->mask = (uint8_t)t->mask;
                    s->idx = 0;
                    s->state = S_HDR_NAME;
                    break;
                }
                const uint8_t *q = p + 1;
                while (is_tchar(*q))  /* stops at the '\n' at the latest */
                    q++;
                if (*q != ':') {
                    *err = bad_name_byte(*q, false);
                    return NULL;
                }
                value_begin(s, names_equal(t, p, (size_t)(q - p)), caps);
                if (s->state == S_VALUE && (*err = value_line(s, caps, q + 1, nl)))
                    return NULL;
                p = nl + 1;
                LINE_END();
                s->state = S_HDR_LINE;
                if (p == end)
                    return p;
            }
            if (s->state != S_HDR_NAME)
                break;
            /* fall through */
        case S_HDR_NAME:
            while (p < end) {
                uint8_t c = *p++;
                if (c == ':') {
                    /* Every entry still in mask matched the whole name if its text ends
                     * here. */
                    unsigned hit = 0;
                    for (unsigned m = s->mask; m; m &= m - 1) {
                        unsigned k = (unsigned)__builtin_ctz(m);
                        if (t->len[k] == s->idx)
                            hit |= 1u << k;
                    }
                    value_begin(s, hit, caps);
                    break;
                }
                if (!is_tchar(c)) {
                    *err = bad_name_byte(c, false);
                    return NULL;
                }
                if (s->mask) {
                    s->mask = (uint8_t)match_step(t->name, s->mask, s->idx, lower(c));
                    if (s->idx < 255)
                        s->idx++;
                    else
                        s->mask = 0;
                }
            }
            break;
        case S_SKIP_VALUE: {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                return end;
            p = nl + 1;
            LINE_END();
            s->state = S_HDR_LINE;
            break;
        }
        case S_VALUE:
            while (p < end) {
                uint8_t c = *p++;
                if (c == '\n') {
                    if (s->kind != K_NONE && (*err = value_end(s)))
                        return NULL;
                    if (s->cap >= 0)
                        capture_end(&caps[s->cap], s);
                    LINE_END();
                    s->state = S_HDR_LINE;
                    break;
                }
                if (s->kind != K_NONE && (*err = value_byte(s, c)))
                    return NULL;
                if (s->cap >= 0)
                    capture_byte(&caps[s->cap], s, c);
            }
            break;
        case S_HDR_END_LF:
            if (*p++ != '\n') {
                *err = E_CR;
                return NULL;
            }
            LINE_END();
            s->state = S_BODY;
            return p;
        default:
            return p;  /* not a header state: the caller's job */
        }
    }
    return p;
#undef LINE_END
}

/* ---- body, shared by both parsers -------------------------------------------------- */

static void chunk_size_start(struct http_priv_ *s)
{
    s->state = S_CHUNK_SIZE;
    s->n = 0;
    s->count = 0;
    s->flags &= (uint16_t)~F_DIGIT;
}

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

/* Consume body bytes from p (state >= S_BODY). Returns where it stopped: end, or just past
 * the body when it completes (state S_DONE), or NULL with *err set. */
static const uint8_t *body_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end,
                                uint64_t *body, const char **err)
{
    while (p < end) {
        switch (s->state) {
        case S_BODY_CL:
        case S_CHUNK_DATA: {
            size_t avail = (size_t)(end - p);
            size_t take = s->n < avail ? (size_t)s->n : avail;
            p += take;
            *body += take;
            s->n -= take;
            if (!s->n)
                s->state = s->state == S_BODY_CL ? S_DONE : S_CHUNK_DATA_CR;
            if (s->state == S_DONE)
                return p;
            break;
        }
        case S_BODY_CLOSE:
            *body += (uint64_t)(end - p);
            return end;
        case S_CHUNK_SIZE:
            while (p < end) {
                uint8_t c = *p++;
                int v = hex_value(c);
                if (++s->count > MAX_CHUNK_LINE) {
                    *err = "chunk size line too long";
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
                    *err = "invalid chunk size";
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
                    *err = "invalid chunk size";
                    return NULL;
                }
                break;
            }
            break;
        case S_CHUNK_BWS: {
            uint8_t c = *p++;
            if (++s->count > MAX_CHUNK_LINE) {
                *err = "chunk size line too long";
                return NULL;
            }
            if (c == ';')
                s->state = S_CHUNK_EXT;
            else if (c == '\r')
                s->state = S_CHUNK_SIZE_LF;
            else if (c == '\n')
                chunk_size_end(s);
            else if (!is_ows(c)) {
                *err = "invalid chunk size";
                return NULL;
            }
            break;
        }
        case S_CHUNK_EXT: {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            const uint8_t *stop = nl ? nl + 1 : end;
            s->count += (uint32_t)(stop - p);
            if (s->count > MAX_CHUNK_LINE) {
                *err = "chunk size line too long";
                return NULL;
            }
            p = stop;
            if (nl)
                chunk_size_end(s);
            break;
        }
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
                chunk_size_start(s);
            } else {
                *err = "missing CRLF after chunk data";
                return NULL;
            }
            break;
        }
        case S_CHUNK_DATA_LF:
            if (*p++ != '\n') {
                *err = "missing CRLF after chunk data";
                return NULL;
            }
            chunk_size_start(s);
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
        case S_TRAILER_SKIP: {
            /* Trailers cannot change the framing: only bounded, never parsed. */
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            const uint8_t *stop = nl ? nl + 1 : end;
            s->count += (uint32_t)(stop - p);
            if (s->count > HTTP_MAX_HEADER_BYTES) {
                *err = "trailers too large";
                return NULL;
            }
            p = stop;
            if (nl)
                s->state = S_TRAILER_LINE;
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

/* ---- response ----------------------------------------------------------------------- */

static const struct names resp_names = { resp_name, resp_name_len, 0x7, true };

static void status_start(struct http_resp *r)
{
    r->status = 0;
    r->p_.state = S_STATUS;
    r->p_.count = 0;
}

void http_resp_init(struct http_resp *r, bool head_request)
{
    memset(r, 0, sizeof *r);
    r->p_.flags = head_request ? F_HEAD : 0;
    r->p_.cap = -1;
    status_start(r);
}

/* One byte of "HTTP/1.x NNN" and the byte after it; NULL or what is wrong. */
static const char *status_byte(struct http_resp *r, uint8_t c)
{
    struct http_priv_ *s = &r->p_;
    uint32_t i = s->count++;

    if (i < 7) {
        if (c != (uint8_t)"HTTP/1."[i])
            return i < 5 ? "not an HTTP response" : "unsupported HTTP version";
    } else if (i == 7) {
        if (!is_digit(c))
            return "unsupported HTTP version";
        r->minor_version = c - '0';
    } else if (i == 8) {
        if (c != ' ')
            return "invalid status line";
    } else if (i < 12) {
        if (!is_digit(c) || (i == 9 && c == '0'))
            return "invalid status code";
        r->status = r->status * 10 + (c - '0');
    } else if (c == ' ') {
        s->state = S_REASON;
    } else if (c == '\r') {
        s->state = S_START_LF;
    } else if (c == '\n') {
        s->state = S_HDR_LINE;
    } else {
        return "invalid status line";
    }
    return NULL;
}

/* The empty line ended a header block: skip an interim response, or decide the body. */
static void resp_headers_end(struct http_resp *r)
{
    struct http_priv_ *s = &r->p_;
    int st = r->status;
    uint16_t f = s->flags;

    if (st < 200 && st != 101) {
        s->flags &= F_HEAD;
        s->cl = 0;
        status_start(r);
        return;
    }
    r->headers_done = true;
    if (r->minor_version >= 1)
        r->keep_alive = !(f & F_CLOSE);
    else
        r->keep_alive = (f & F_KA) && !(f & F_CLOSE);
    /* RFC 9112 6.1 and 6.3: framing that smells of request smuggling is honoured for this
     * response but the connection is not reused. */
    if ((f & F_TE) && (r->minor_version == 0 || (f & F_HAS_CL)))
        r->keep_alive = false;

    if ((f & F_HEAD) || st == 101 || st == 204 || st == 304) {
        if (st == 101)
            r->keep_alive = false;  /* the connection now speaks another protocol */
        s->state = S_DONE;
    } else if (f & F_TE) {
        if (f & F_CHUNKED) {
            chunk_size_start(s);
        } else {
            s->state = S_BODY_CLOSE;  /* RFC 9112 6.3: read until close */
            r->keep_alive = false;
        }
    } else if (f & F_HAS_CL) {
        s->n = s->cl;
        s->state = s->cl ? S_BODY_CL : S_DONE;
    } else {
        s->state = S_BODY_CLOSE;
        r->keep_alive = false;
    }
}

enum http_rc http_resp_feed(struct http_resp *r, const uint8_t *buf, size_t len, size_t *consumed)
{
    struct http_priv_ *s = &r->p_;
    const uint8_t *p = buf, *end = buf + len, *mark = buf;
    const char *err = NULL;

    *consumed = 0;
    if (s->state == S_DONE)
        return HTTP_DONE;
    if (s->state == S_ERROR)
        return HTTP_ERROR;

    while (p < end) {
        switch (s->state) {
        case S_STATUS:
            /* Common case: the whole "HTTP/1.1 200 " in hand. */
            if (s->count == 0 && end - p >= 13 && memcmp(p, "HTTP/1.", 7) == 0 &&
                is_digit(p[7]) && p[8] == ' ' && is_digit(p[9]) && p[9] != '0' &&
                is_digit(p[10]) && is_digit(p[11]) && p[12] == ' ') {
                r->minor_version = p[7] - '0';
                r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
                p += 13;
                s->state = S_REASON;
                break;
            }
            while (p < end && s->state == S_STATUS)
                if ((err = status_byte(r, *p++)))
                    goto fail;
            if (s->state == S_HDR_LINE)
                goto line_end;
            break;
        case S_REASON: {
            const uint8_t *nl = find_lf(p, end);
            if (!nl) {
                p = end;
                break;
            }
            p = nl + 1;
            s->state = S_HDR_LINE;
            goto line_end;
        }
        case S_START_LF:
            if (*p++ != '\n') {
                err = E_CR;
                goto fail;
            }
            s->state = S_HDR_LINE;
        line_end:
            r->header_bytes += (uint64_t)(p - mark);
            mark = p;
            if (r->header_bytes > HTTP_MAX_HEADER_BYTES) {
                err = E_TOO_LARGE;
                goto fail;
            }
            break;
        case S_HDR_LINE:
        case S_HDR_NAME:
        case S_VALUE:
        case S_SKIP_VALUE:
        case S_HDR_END_LF:
            p = headers_feed(s, p, end, &mark, &resp_names, NULL, &r->header_bytes, &err);
            if (!p)
                goto fail;
            if (s->state == S_BODY) {
                resp_headers_end(r);
                if (s->state == S_DONE)
                    goto done;
            }
            break;
        default:
            p = body_feed(s, p, end, &r->body_bytes, &err);
            if (!p)
                goto fail;
            if (s->state == S_DONE)
                goto done;
            break;
        }
    }
    if (s->state < S_BODY) {
        r->header_bytes += (uint64_t)(p - mark);
        if (r->header_bytes > HTTP_MAX_HEADER_BYTES) {
            err = E_TOO_LARGE;
            goto fail;
        }
    }
    *consumed = len;
    return HTTP_PARTIAL;
done:
    *consumed = (size_t)(p - buf);
    return HTTP_DONE;
fail:
    s->state = S_ERROR;
    r->error = err;
    return HTTP_ERROR;
}

enum http_rc http_resp_eof(struct http_resp *r)
{
    struct http_priv_ *s = &r->p_;

    switch (s->state) {
    case S_DONE:
        return HTTP_DONE;
    case S_BODY_CLOSE:
        s->state = S_DONE;
        return HTTP_DONE;
    case S_ERROR:
        return HTTP_ERROR;
    }
    if (s->state == S_STATUS && s->count == 0 && r->header_bytes == 0)
        r->error = "connection closed before response";
    else if (s->state < S_BODY)
        r->error = "connection closed in response headers";
    else
        r->error = "connection closed before end of body";
    s->state = S_ERROR;
    return HTTP_ERROR;
}

/* ---- request ------------------------------------------------------------------------ */

void http_req_init(struct http_req *q)
{
    memset(q, 0, sizeof *q);
    q->p_.state = S_REQ_START;
    q->p_.cap = -1;
}

/* The empty line ended the request's headers: decide the body. */
static const char *req_headers_end(struct http_req *q)
{
    struct http_priv_ *s = &q->p_;
    uint16_t f = s->flags;

    q->headers_done = true;
    if (q->minor_version >= 1)
        q->keep_alive = !(f & F_CLOSE);
    else
        q->keep_alive = (f & F_KA) && !(f & F_CLOSE);
    /* RFC 9110 10.1.1: an HTTP/1.0 client cannot have meant it. */
    q->expect_continue = (f & F_EXPECT) && q->minor_version >= 1;
    if (f & F_TE) {
        if (!(f & F_CHUNKED))
            return "unsupported transfer-encoding";
        /* RFC 9112 6.1: TE wins over CL, and the connection is closed afterwards. */
        if (f & F_HAS_CL)
            q->keep_alive = false;
        q->chunked = true;
        chunk_size_start(s);
    } else if ((f & F_HAS_CL) && s->cl) {
        q->content_length = s->cl;
        s->n = s->cl;
        s->state = S_BODY_CL;
    } else {
        s->state = S_DONE;
    }
    return NULL;
}

enum http_rc http_req_feed(struct http_req *q, const uint8_t *buf, size_t len, size_t *consumed)
{
    static const char *const fixed[] = { "content-length", "transfer-encoding", "connection",
                                         "expect" };
    struct http_priv_ *s = &q->p_;
    const uint8_t *p = buf, *end = buf + len, *mark = buf;
    const char *err = NULL;
    const char *name[K_CAPTURE + HTTP_REQ_MAX_CAPTURE];
    uint8_t name_len[K_CAPTURE + HTTP_REQ_MAX_CAPTURE] = { 14, 17, 10, 6 };
    struct names t = { name, name_len, (1u << K_CAPTURE) - 1, false };

    *consumed = 0;
    if (s->state == S_DONE)
        return HTTP_DONE;
    if (s->state == S_ERROR)
        return HTTP_ERROR;

    memcpy(name, fixed, sizeof fixed);
    for (int i = 0; i < HTTP_REQ_MAX_CAPTURE; i++) {
        const char *n = i < q->ncapture && q->capture[i].name ? q->capture[i].name : "";
        size_t nlen = strlen(n);
        name[K_CAPTURE + i] = n;
        name_len[K_CAPTURE + i] = (uint8_t)nlen;
        if (nlen && nlen < 255)  /* longer names cannot be told apart by the byte-wise matcher */
            t.mask |= 1u << (K_CAPTURE + i);
    }

    while (p < end) {
        uint8_t c;
        switch (s->state) {
        case S_REQ_START:
            /* RFC 9112 2.2: clients sometimes send a CRLF after a POST body. */
            while (p < end && (*p == '\r' || *p == '\n'))
                p++;
            mark = p;
            if (p < end) {
                s->state = S_METHOD;
                s->count = 0;
            }
            break;
        case S_METHOD:
            c = *p++;
            if (c == ' ') {
                if (s->count == 0) {
                    err = "invalid method";
                    goto fail;
                }
                s->state = S_TARGET;
                s->count = 0;
            } else if (!is_tchar(c)) {
                err = "invalid method";
                goto fail;
            } else if (s->count >= sizeof q->method - 1) {
                err = "method too long";
                goto fail;
            } else {
                q->method[s->count++] = (char)c;
            }
            break;
        case S_TARGET:
            c = *p++;
            if (c == ' ') {
                if (s->count == 0) {
                    err = "empty request target";
                    goto fail;
                }
                s->state = S_REQ_VERSION;
                s->count = 0;
            } else if (c <= ' ' || c >= 0x7f) {
                err = "invalid request target";
                goto fail;
            } else if (s->count >= sizeof q->target - 1) {
                err = "request target too long";
                goto fail;
            } else {
                q->target[s->count++] = (char)c;
            }
            break;
        case S_REQ_VERSION: {
            uint32_t i = s->count++;
            c = *p++;
            if (i < 7) {
                if (c != (uint8_t)"HTTP/1."[i]) {
                    err = "unsupported HTTP version";
                    goto fail;
                }
            } else if (i == 7) {
                if (!is_digit(c)) {
                    err = "unsupported HTTP version";
                    goto fail;
                }
                q->minor_version = c - '0';
            } else if (c == '\r') {
                s->state = S_START_LF;
            } else if (c == '\n') {
                s->state = S_HDR_LINE;
                goto line_end;
            } else {
                err = "invalid request line";
                goto fail;
            }
            break;
        }
        case S_START_LF:
            if (*p++ != '\n') {
                err = E_CR;
                goto fail;
            }
            s->state = S_HDR_LINE;
        line_end:
            q->header_bytes += (uint64_t)(p - mark);
            mark = p;
            if (q->header_bytes > HTTP_MAX_HEADER_BYTES) {
                err = E_TOO_LARGE;
                goto fail;
            }
            break;
        case S_HDR_LINE:
        case S_HDR_NAME:
        case S_VALUE:
        case S_SKIP_VALUE:
        case S_HDR_END_LF:
            p = headers_feed(s, p, end, &mark, &t, q->capture, &q->header_bytes, &err);
            if (!p)
                goto fail;
            if (s->state == S_BODY) {
                if ((err = req_headers_end(q)))
                    goto fail;
                if (s->state == S_DONE)
                    goto done;
            }
            break;
        default:
            p = body_feed(s, p, end, &q->body_bytes, &err);
            if (!p)
                goto fail;
            if (s->state == S_DONE)
                goto done;
            break;
        }
    }
    if (s->state < S_BODY && s->state != S_REQ_START) {
        q->header_bytes += (uint64_t)(p - mark);
        if (q->header_bytes > HTTP_MAX_HEADER_BYTES) {
            err = E_TOO_LARGE;
            goto fail;
        }
    }
    *consumed = len;
    return HTTP_PARTIAL;
done:
    *consumed = (size_t)(p - buf);
    return HTTP_DONE;
fail:
    s->state = S_ERROR;
    q->error = err;
    return HTTP_ERROR;
}
