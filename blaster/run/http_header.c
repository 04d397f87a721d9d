/* HTTP header lines, shared by the response and the request parser: which header a name
 * is, the values framing depends on (Content-Length, Transfer-Encoding, Connection,
 * Expect), and the request's copied-out captures. Knows nothing of start lines or bodies.
 *
 * Values of headers we ignore are skipped with a search for '\n'. A header line wholly in
 * the buffer, the usual case, is decided at once; a line cut by the end of a buffer goes
 * byte by byte through the same decisions. Both paths must agree exactly: the unit tests
 * and the fuzzer compare every input whole, cut, and one byte at a time.
 */
#include "blaster/run/http_int.h"

const bool http_tchar[256] = {
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
    ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true,
    ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true,
    ['`'] = true, ['|'] = true, ['~'] = true,
};

static const char *const resp_name[] = { "content-length", "transfer-encoding", "connection" };
static const uint8_t resp_name_len[] = { 14, 17, 10 };
static const struct names resp_names = { resp_name, resp_name_len, 0x7, true };

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

/* The token of kind's list that a[0..n) is exactly, ignoring case; K_NONE if none. */
static inline unsigned token_find(unsigned kind, const uint8_t *a, size_t n)
{
    for (unsigned m = kind_tokens[kind]; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        if (token_len[k] != n)
            continue;
        size_t i = 0;
        while (i < n && lower(a[i]) == (uint8_t)tokens[k][i])
            i++;
        if (i == n)
            return k;
    }
    return K_NONE;
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
        token_apply(s, token_find(s->kind, a, (size_t)(b - a)));
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

/* ---- header names ------------------------------------------------------------------ */

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

/* ---- header lines ------------------------------------------------------------------ */

/* State S_HDR_LINE: whole lines in the buffer, each decided at once (one search for its
 * end, a scan of the name, a length check against the names we want). Leaves at the empty
 * line (S_BODY or S_HDR_END_LF), at the end of the buffer, or at a line the buffer cuts
 * (S_HDR_NAME, to go on byte by byte). */
static inline __attribute__((always_inline)) const uint8_t *
lines_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end, const uint8_t **mark,
           const struct names *t, struct http_capture *caps, uint64_t *hbytes,
           const char **err)
{
    /* Loop here rather than through the caller's switch: most lines take this path. */
    for (;;) {
        uint8_t c = *p;
        if (c == '\r') {
            if (end - p >= 2 && p[1] == '\n') {  /* the empty line, whole: the usual case */
                p += 2;
                if (!line_end(hbytes, mark, p, err))
                    return NULL;
                s->state = S_BODY;
                return p;
            }
            s->state = S_HDR_END_LF;
            return p + 1;
        }
        if (c == '\n') {
            p++;
            if (!line_end(hbytes, mark, p, err))
                return NULL;
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
            return p;
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
        if (!line_end(hbytes, mark, p, err))
            return NULL;
        s->state = S_HDR_LINE;
        if (p == end)
            return p;
    }
}

/* State S_HDR_NAME: a name cut by the end of a buffer, byte by byte up to its colon. */
static inline __attribute__((always_inline)) const uint8_t *
name_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end, const struct names *t,
          struct http_capture *caps, const char **err)
{
    while (p < end) {
        uint8_t c = *p++;
        if (c == ':') {
            /* Every entry still in mask matched the whole name if its text ends here. */
            unsigned hit = 0;
            for (unsigned m = s->mask; m; m &= m - 1) {
                unsigned k = (unsigned)__builtin_ctz(m);
                if (t->len[k] == s->idx)
                    hit |= 1u << k;
            }
            value_begin(s, hit, caps);
            return p;
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
    return p;
}

/* State S_VALUE: a value we act on, cut by the end of a buffer, byte by byte to its LF. */
static inline __attribute__((always_inline)) const uint8_t *
value_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end, const uint8_t **mark,
           struct http_capture *caps, uint64_t *hbytes, const char **err)
{
    while (p < end) {
        uint8_t c = *p++;
        if (c == '\n') {
            if (s->kind != K_NONE && (*err = value_end(s)))
                return NULL;
            if (s->cap >= 0)
                capture_end(&caps[s->cap], s);
            if (!line_end(hbytes, mark, p, err))
                return NULL;
            s->state = S_HDR_LINE;
            return p;
        }
        if (s->kind != K_NONE && (*err = value_byte(s, c)))
            return NULL;
        if (s->cap >= 0)
            capture_byte(&caps[s->cap], s, c);
    }
    return p;
}

/* The contract is http_int.h's for http_*_headers_feed; t: the headers to act on (kind =
 * index), caps: where captured values go (NULL: none). Inlined into both so that the
 * response's constant names and absent captures fold away. */
static inline __attribute__((always_inline)) const uint8_t *
headers_feed(struct http_priv_ *s, const uint8_t *p, const uint8_t *end, const uint8_t **mark,
             const struct names *t, struct http_capture *caps, uint64_t *hbytes,
             const char **err)
{
    while (p < end) {
        switch (s->state) {
        case S_HDR_LINE:
            p = lines_feed(s, p, end, mark, t, caps, hbytes, err);
            if (!p || s->state == S_BODY)
                return p;
            break;
        case S_HDR_NAME:
            if (!(p = name_feed(s, p, end, t, caps, err)))
                return NULL;
            break;
        case S_SKIP_VALUE: {
            const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                return end;
            p = nl + 1;
            if (!line_end(hbytes, mark, p, err))
                return NULL;
            s->state = S_HDR_LINE;
            break;
        }
        case S_VALUE:
            if (!(p = value_feed(s, p, end, mark, caps, hbytes, err)))
                return NULL;
            break;
        case S_HDR_END_LF:
            if (*p++ != '\n') {
                *err = E_CR;
                return NULL;
            }
            if (!line_end(hbytes, mark, p, err))
                return NULL;
            s->state = S_BODY;
            return p;
        default:
            return p;  /* not a header state: the caller's job */
        }
    }
    return p;
}

const uint8_t *http_resp_headers_feed(struct http_priv_ *s, const uint8_t *p,
                                      const uint8_t *end, const uint8_t **mark,
                                      uint64_t *hbytes, const char **err)
{
    return headers_feed(s, p, end, mark, &resp_names, NULL, hbytes, err);
}

const uint8_t *http_req_headers_feed(struct http_priv_ *s, const uint8_t *p,
                                     const uint8_t *end, const uint8_t **mark,
                                     const struct names *t, struct http_capture *caps,
                                     uint64_t *hbytes, const char **err)
{
    return headers_feed(s, p, end, mark, t, caps, hbytes, err);
}
