/* capture: JSON path lookup, response header lookup, head/body split with in-place
 * de-chunking. See capture.h for the contracts.
 *
 * Every scanner takes (buffer, length, index) and checks the index against the length
 * before each read; recursion only happens per nesting level, bounded by
 * CAPTURE_JSON_MAX_DEPTH.
 */
#include "blaster/run/capture.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- output helpers */

/* Copy s[0..n) NUL-terminated into out; returns n, or -2 (out "" if cap > 0). */
static int put(const char *s, size_t n, char *out, size_t cap)
{
    if (n >= cap || n > INT_MAX) {
        if (cap)
            out[0] = '\0';
        return -2;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return (int)n;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* ---------------------------------------------------------------- JSON */

static size_t json_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[i..i+4) into *v; false if short or not hex. */
static bool hex4(const char *s, size_t n, size_t i, unsigned *v)
{
    if (i > n || n - i < 4)
        return false;
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[i + k]);
        if (h < 0)
            return false;
        x = x << 4 | (unsigned)h;
    }
    *v = x;
    return true;
}

/* One character of a JSON string whose opening quote is behind *ip. Writes its UTF-8
 * bytes to u and returns how many (1-4), advancing *ip; returns 0 at the closing quote
 * (*ip then past it); -1 if malformed or truncated. */
static int json_char(const char *s, size_t n, size_t *ip, unsigned char u[4])
{
    size_t i = *ip;
    if (i >= n)
        return -1;
    unsigned char c = (unsigned char)s[i];
    if (c == '"') {
        *ip = i + 1;
        return 0;
    }
    if (c < 0x20)
        return -1;
    if (c != '\\') {
        u[0] = c;
        *ip = i + 1;
        return 1;
    }
    if (++i >= n)
        return -1;
    switch (s[i]) {
    case '"':  c = '"'; break;
    case '\\': c = '\\'; break;
    case '/':  c = '/'; break;
    case 'b':  c = '\b'; break;
    case 'f':  c = '\f'; break;
    case 'n':  c = '\n'; break;
    case 'r':  c = '\r'; break;
    case 't':  c = '\t'; break;
    case 'u':  c = 0; break;
    default:   return -1;
    }
    if (c) {
        u[0] = c;
        *ip = i + 1;
        return 1;
    }
    unsigned cp, lo;
    if (!hex4(s, n, i + 1, &cp))
        return -1;
    i += 5;  /* past "uXXXX" */
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s, n, i + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
    } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
        return -1;
    }
    *ip = i;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | cp >> 18);
    u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Past the rest of a string whose opening quote is behind *ip. */
static bool json_skip_string(const char *s, size_t n, size_t *ip)
{
    unsigned char u[4];
    int k;
    while ((k = json_char(s, n, ip, u)) > 0)
        ;
    return k == 0;
}

/* Does the string whose opening quote is behind *ip equal key[0..klen) once unescaped?
 * Consumes the whole string either way; *bad set if it is malformed. */
static bool json_key_eq(const char *s, size_t n, size_t *ip, const char *key, size_t klen,
                        bool *bad)
{
    unsigned char u[4];
    size_t m = 0;
    bool eq = true;
    int k;
    while ((k = json_char(s, n, ip, u)) > 0) {
        if (eq && (size_t)k <= klen - m && memcmp(key + m, u, (size_t)k) == 0)
            m += (size_t)k;
        else
            eq = false;
    }
    *bad = k < 0;
    return eq && m == klen;
}

/* A scalar ends at whitespace, ',', '}', ']' or the end of the text. */
static bool json_delim(const char *s, size_t n, size_t i)
{
    return i >= n || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
           s[i] == ',' || s[i] == '}' || s[i] == ']';
}

static size_t json_digits(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* Past one number at *ip (RFC 8259 grammar). */
static bool json_number(const char *s, size_t n, size_t *ip)
{
    size_t i = *ip, j;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if ((j = json_digits(s, n, i)) > i)
        i = j;
    else
        return false;
    if (i < n && s[i] == '.') {
        if ((j = json_digits(s, n, i + 1)) == i + 1)
            return false;
        i = j;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if ((j = json_digits(s, n, i)) == i)
            return false;
        i = j;
    }
    *ip = i;
    return true;
}

/* Past one value starting at *ip (after optional whitespace), checking its syntax. depth is
 * the nesting level of the value itself (the root is 0); a container at level
 * CAPTURE_JSON_MAX_DEPTH fails. */
static bool json_skip(const char *s, size_t n, size_t *ip, int depth)
{
    size_t i = json_ws(s, n, *ip);
    if (i >= n)
        return false;
    char c = s[i];
    if (c == '"') {
        i++;
        if (!json_skip_string(s, n, &i))
            return false;
    } else if (c == '{' || c == '[') {
        if (depth >= CAPTURE_JSON_MAX_DEPTH)
            return false;
        bool obj = c == '{';
        char close = obj ? '}' : ']';
        i = json_ws(s, n, i + 1);
        if (i < n && s[i] == close) {
            i++;
        } else {
            for (;;) {
                if (obj) {
                    if (i >= n || s[i] != '"')
                        return false;
                    i++;
                    if (!json_skip_string(s, n, &i))
                        return false;
                    i = json_ws(s, n, i);
                    if (i >= n || s[i] != ':')
                        return false;
                    i++;
                }
                if (!json_skip(s, n, &i, depth + 1))
                    return false;
                i = json_ws(s, n, i);
                if (i >= n)
                    return false;
                if (s[i] == close) {
                    i++;
                    break;
                }
                if (s[i] != ',')
                    return false;
                i = json_ws(s, n, i + 1);
            }
        }
    } else {
        static const char *const lit[] = {"true", "false", "null"};
        bool ok = false;
        for (size_t k = 0; k < 3 && !ok; k++) {
            size_t l = strlen(lit[k]);
            if (n - i >= l && memcmp(s + i, lit[k], l) == 0) {
                i += l;
                ok = true;
            }
        }
        if (!ok && !json_number(s, n, &i))
            return false;
        if (!json_delim(s, n, i))
            return false;
    }
    *ip = i;
    return true;
}

/* Enter the object at *ip (level depth) and stop at the value of member key: *ip is then
 * at that value. -1 not an object, no such member or malformed. */
static int json_member(const char *s, size_t n, size_t *ip, int depth, const char *key,
                       size_t klen)
{
    size_t i = json_ws(s, n, *ip);
    if (i >= n || s[i] != '{' || depth >= CAPTURE_JSON_MAX_DEPTH)
        return -1;
    i = json_ws(s, n, i + 1);
    if (i < n && s[i] == '}')
        return -1;
    for (;;) {
        bool bad;
        if (i >= n || s[i] != '"')
            return -1;
        i++;
        bool eq = json_key_eq(s, n, &i, key, klen, &bad);
        if (bad)
            return -1;
        i = json_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return -1;
        i++;
        if (eq) {
            *ip = i;
            return 0;
        }
        if (!json_skip(s, n, &i, depth + 1))
            return -1;
        i = json_ws(s, n, i);
        if (i >= n || s[i] != ',')
            return -1;  /* '}' (not found) or malformed */
        i = json_ws(s, n, i + 1);
    }
}

/* Enter the array at *ip (level depth) and stop at element idx. */
static int json_element(const char *s, size_t n, size_t *ip, int depth, unsigned long idx)
{
    size_t i = json_ws(s, n, *ip);
    if (i >= n || s[i] != '[' || depth >= CAPTURE_JSON_MAX_DEPTH)
        return -1;
    i = json_ws(s, n, i + 1);
    if (i < n && s[i] == ']')
        return -1;
    for (unsigned long k = 0;; k++) {
        if (k == idx) {
            *ip = i;
            return 0;
        }
        if (!json_skip(s, n, &i, depth + 1))
            return -1;
        i = json_ws(s, n, i);
        if (i >= n || s[i] != ',')
            return -1;
        i = json_ws(s, n, i + 1);
    }
}

/* Write the value at *ip (level depth) into out. */
static int json_value(const char *s, size_t n, size_t i, int depth, char *out, size_t cap)
{
    i = json_ws(s, n, i);
    if (i >= n)
        return -1;
    if (s[i] == '"') {
        unsigned char u[4];
        size_t w = 0;
        int k;
        i++;
        while ((k = json_char(s, n, &i, u)) > 0) {
            if (w + (size_t)k < cap)
                memcpy(out + w, u, (size_t)k);
            w += (size_t)k;
        }
        if (k < 0)
            return -1;
        if (w >= cap || w > INT_MAX) {
            if (cap)
                out[0] = '\0';
            return -2;
        }
        out[w] = '\0';
        return (int)w;
    }
    size_t start = i;
    if (!json_skip(s, n, &i, depth))
        return -1;
    return put(s + start, i - start, out, cap);
}

int capture_json(const char *json, size_t len, const char *path, char *out, size_t cap)
{
    if (!json || !path || (!out && cap))
        return -1;
    size_t i = 0;
    int depth = 0;
    const char *p = path;
    bool first = true;
    while (*p) {
        int rc;
        if (*p == '[') {
            unsigned long idx = 0;
            int d = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (++d > 9)
                    return -1;
                idx = idx * 10 + (unsigned long)(*p++ - '0');
            }
            if (d == 0 || *p != ']')
                return -1;
            p++;
            rc = json_element(json, len, &i, depth, idx);
        } else {
            if (!first) {
                if (*p != '.')
                    return -1;
                p++;
            }
            const char *key = p;
            while (*p && *p != '.' && *p != '[')
                p++;
            if (p == key)
                return -1;
            rc = json_member(json, len, &i, depth, key, (size_t)(p - key));
        }
        if (rc < 0)
            return rc;
        depth++;
        first = false;
    }
    return json_value(json, len, i, depth, out, cap);
}

/* ---------------------------------------------------------------- HTTP heads */

/* The header block of the final response in head[0..len). */
struct block {
    size_t hdr;   /* start of the first header line (after the status line) */
    size_t end;   /* start of the blank line, or len when there is none */
    size_t body;  /* first byte after the blank line (len when there is none) */
    bool complete;
};

/* Index of the '\n' ending the line at i, or n. */
static size_t eol(const char *s, size_t n, size_t i)
{
    const char *nl = i < n ? memchr(s + i, '\n', n - i) : NULL;
    return nl ? (size_t)(nl - s) : n;
}

/* Length of line s[a..b) without a trailing '\r'. */
static size_t line_len(const char *s, size_t a, size_t b)
{
    return b > a && s[b - 1] == '\r' ? b - a - 1 : b - a;
}

/* Parse "HTTP/d.d NNN..." at s[i..e); the status, or -1. */
static int status_line(const char *s, size_t i, size_t e)
{
    if (e - i < 12 || memcmp(s + i, "HTTP/", 5) != 0)
        return -1;
    const char *p = s + i + 5;
    if (p[0] < '0' || p[0] > '9' || p[1] != '.' || p[2] < '0' || p[2] > '9' || p[3] != ' ')
        return -1;
    int st = 0;
    for (int k = 4; k < 7; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        st = st * 10 + (p[k] - '0');
    }
    if (e - i > 12 && p[7] != ' ' && p[7] != '\r')
        return -1;
    return st;
}

/* Find the final (non-1xx, or 101) response's header block. 0, or -1 when the status line
 * is malformed or only interim responses are there. */
static int final_block(const char *s, size_t n, struct block *b)
{
    size_t i = 0;
    for (;;) {
        if (i >= n)
            return -1;
        size_t e = eol(s, n, i);
        int st = status_line(s, i, e);
        if (st < 0)
            return -1;
        b->hdr = e < n ? e + 1 : n;
        b->end = b->body = n;
        b->complete = false;
        for (size_t a = b->hdr; a < n;) {
            size_t z = eol(s, n, a);
            if (line_len(s, a, z) == 0) {
                b->end = a;
                b->body = z < n ? z + 1 : n;
                b->complete = z < n;
                break;
            }
            a = z < n ? z + 1 : n;
        }
        if (st >= 200 || st == 101 || st < 100)
            return 0;
        if (!b->complete)
            return -1;
        i = b->body;
    }
}

/* The next header line of block b from *ap: name s[*np..+*nl), trimmed value
 * s[*vp..+*vl). false at the end of the block. Folded and colon-less lines are skipped. */
static bool next_header(const char *s, size_t n, const struct block *b, size_t *ap,
                        size_t *np, size_t *nl, size_t *vp, size_t *vl)
{
    while (*ap < b->end) {
        size_t a = *ap, z = eol(s, n, a);
        if (z > b->end)
            z = b->end;
        size_t l = line_len(s, a, z);
        *ap = z < n ? z + 1 : n;
        if (l == 0 || s[a] == ' ' || s[a] == '\t')
            continue;
        const char *c = memchr(s + a, ':', l);
        if (!c)
            continue;
        size_t colon = (size_t)(c - s), v = colon + 1, ve = a + l;
        while (v < ve && (s[v] == ' ' || s[v] == '\t'))
            v++;
        while (ve > v && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
            ve--;
        *np = a;
        *nl = colon - a;
        *vp = v;
        *vl = ve - v;
        return true;
    }
    return false;
}

int capture_header(const char *head, size_t len, const char *name, char *out, size_t cap)
{
    if (!head || !name || !*name || (!out && cap))
        return -1;
    struct block b;
    if (final_block(head, len, &b) < 0)
        return -1;
    size_t want = strlen(name), a = b.hdr, np, nl, vp, vl;
    while (next_header(head, len, &b, &a, &np, &nl, &vp, &vl)) {
        if (nl != want || !eq_nocase(head + np, name, want))
            continue;
        for (size_t k = 0; k < vl; k++) {
            unsigned char c = (unsigned char)head[vp + k];
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return -1;
        }
        return put(head + vp, vl, out, cap);
    }
    return -1;
}

/* Is the last coding of the value s[v..v+l) "chunked"? */
static bool last_coding_chunked(const char *s, size_t v, size_t l)
{
    size_t e = v + l, t = e;
    while (t > v && s[t - 1] != ',')
        t--;
    while (t < e && (s[t] == ' ' || s[t] == '\t'))
        t++;
    return e - t == 7 && eq_nocase(s + t, "chunked", 7);
}

/* Decode the chunked body b[0..n) in place; returns the decoded length. Stops at the
 * last-chunk, at the end of the data, or at malformed framing. The write index never
 * passes the read index: each chunk's size line takes at least two bytes. */
static size_t dechunk(char *b, size_t n)
{
    size_t r = 0, w = 0;
    for (;;) {
        uint64_t size = 0;
        int digits = 0, h;
        while (r < n && (h = hexval(b[r])) >= 0) {
            if (++digits > 16)
                return w;
            size = size << 4 | (uint64_t)h;
            r++;
        }
        if (digits == 0 || r >= n)
            return w;
        if (b[r] != ';' && b[r] != ' ' && b[r] != '\t' && b[r] != '\r' && b[r] != '\n')
            return w;
        const char *nl = memchr(b + r, '\n', n - r);  /* extensions run to the line end */
        if (!nl)
            return w;
        r = (size_t)(nl - b) + 1;
        if (size == 0)
            return w;  /* last-chunk; trailers dropped */
        size_t avail = n - r, take = size < avail ? (size_t)size : avail;
        memmove(b + w, b + r, take);
        w += take;
        r += take;
        if (take < size)
            return w;
        if (r < n && b[r] == '\r')
            r++;
        if (r >= n || b[r] != '\n')
            return w;
        r++;
    }
}

int capture_split(char *resp, size_t len, size_t *head_len, char **body, size_t *body_len)
{
    if (!resp || !head_len || !body || !body_len)
        return -1;
    struct block b;
    if (final_block(resp, len, &b) < 0 || !b.complete)
        return -1;
    bool chunked = false, have_cl = false;
    uint64_t cl = 0;
    size_t a = b.hdr, np, nl, vp, vl;
    while (next_header(resp, len, &b, &a, &np, &nl, &vp, &vl)) {
        if (nl == 17 && eq_nocase(resp + np, "transfer-encoding", 17)) {
            chunked = last_coding_chunked(resp, vp, vl);
        } else if (nl == 14 && eq_nocase(resp + np, "content-length", 14) && !have_cl) {
            bool ok = vl > 0 && vl <= 19;
            uint64_t x = 0;
            for (size_t k = 0; ok && k < vl; k++) {
                char c = resp[vp + k];
                ok = c >= '0' && c <= '9';
                x = x * 10 + (uint64_t)(c - '0');
            }
            if (ok) {
                have_cl = true;
                cl = x;
            }
        }
    }
    *head_len = b.body;
    *body = resp + b.body;
    *body_len = len - b.body;
    if (chunked)
        *body_len = dechunk(*body, *body_len);
    else if (have_cl && cl < *body_len)
        *body_len = (size_t)cl;
    return 0;
}
