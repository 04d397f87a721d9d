/* hls: master/media playlist parsing and URI resolution. See hls.h for the contracts. */
#include "blaster/run/hls.h"

#include <limits.h>
#include <string.h>

/* ---------------------------------------------------------------- lines */

struct lines {
    const char *t;
    size_t n, i;
};

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next line, trimmed of surrounding spaces/tabs/CR, into *p, *l. */
static bool next_line(struct lines *ls, const char **p, size_t *l)
{
    if (ls->i >= ls->n)
        return false;
    size_t a = ls->i;
    const char *nl = memchr(ls->t + a, '\n', ls->n - a);
    size_t z = nl ? (size_t)(nl - ls->t) : ls->n;
    ls->i = nl ? z + 1 : ls->n;
    while (a < z && blank(ls->t[a]))
        a++;
    while (z > a && blank(ls->t[z - 1]))
        z--;
    *p = ls->t + a;
    *l = z - a;
    return true;
}

static bool starts(const char *p, size_t l, const char *prefix)
{
    size_t k = strlen(prefix);
    return l >= k && memcmp(p, prefix, k) == 0;
}

static bool is(const char *p, size_t l, const char *word)
{
    return l == strlen(word) && memcmp(p, word, l) == 0;
}

/* Open text as an M3U8: false unless the first line is #EXTM3U (after an optional BOM). */
static bool open_m3u8(struct lines *ls, const char *text, size_t len)
{
    const char *p;
    size_t l;
    if (!text)
        return false;
    ls->t = text;
    ls->n = len;
    ls->i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    return next_line(ls, &p, &l) && is(p, l, "#EXTM3U");
}

/* ---------------------------------------------------------------- master */

/* The next attribute of a list (RFC 8216 4.2) at s[*ip..n): name, value (without the
 * quotes of a quoted-string). 1 got one, 0 end of list, -1 malformed. */
static int next_attr(const char *s, size_t n, size_t *ip, const char **name, size_t *nl,
                     const char **val, size_t *vl)
{
    size_t i = *ip;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i >= n)
        return 0;
    size_t a = i;
    while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                     s[i] == '-'))
        i++;
    if (i == a || i >= n || s[i] != '=')
        return -1;
    *name = s + a;
    *nl = i - a;
    i++;
    if (i < n && s[i] == '"') {
        const char *q = memchr(s + i + 1, '"', n - i - 1);
        if (!q)
            return -1;
        *val = s + i + 1;
        *vl = (size_t)(q - s) - i - 1;
        i = (size_t)(q - s) + 1;
    } else {
        size_t v = i;
        while (i < n && s[i] != ',' && s[i] != '"')
            i++;
        size_t e = i;
        while (e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        *val = s + v;
        *vl = e - v;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n) {
        if (s[i] != ',')
            return -1;
        i++;
    }
    *ip = i;
    return 1;
}

/* decimal-integer, saturating; false if not all digits or empty. */
static bool dec(const char *p, size_t l, uint64_t *out)
{
    uint64_t x = 0;
    if (l == 0)
        return false;
    for (size_t k = 0; k < l; k++) {
        if (p[k] < '0' || p[k] > '9')
            return false;
        unsigned d = (unsigned)(p[k] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    *out = x;
    return true;
}

int hls_parse_master(const char *text, size_t len, struct hls_variant_info *v, int max)
{
    struct lines ls;
    if (!open_m3u8(&ls, text, len))
        return -1;
    static const char tag[] = "#EXT-X-STREAM-INF:";
    struct hls_variant_info cur;
    bool pending = false;
    int count = 0;
    const char *p;
    size_t l;
    while (count < max && v && next_line(&ls, &p, &l)) {
        if (l == 0)
            continue;
        if (p[0] == '#') {
            if (!starts(p, l, tag))
                continue;
            /* A new STREAM-INF: one still waiting for its URI is dropped. */
            memset(&cur, 0, sizeof cur);
            size_t i = sizeof tag - 1, nl, vl;
            const char *name, *val;
            int rc;
            while ((rc = next_attr(p, l, &i, &name, &nl, &val, &vl)) > 0) {
                if (is(name, nl, "BANDWIDTH")) {
                    if (!dec(val, vl, &cur.bandwidth))
                        break;
                } else if (is(name, nl, "NAME")) {
                    cur.name = val;
                    cur.name_len = vl;
                }
            }
            pending = rc == 0;
            continue;
        }
        if (!pending)
            continue;
        cur.uri = p;
        cur.uri_len = l;
        v[count++] = cur;
        pending = false;
    }
    return count;
}

/* ---------------------------------------------------------------- choose */

/* Is name[0..nl) a whole '/'-separated segment of uri's path (before '?' or '#')? */
static bool has_segment(const char *uri, size_t ul, const char *name, size_t nl)
{
    size_t e = 0;
    while (e < ul && uri[e] != '?' && uri[e] != '#')
        e++;
    for (size_t a = 0; a <= e;) {
        size_t z = a;
        while (z < e && uri[z] != '/')
            z++;
        if (z - a == nl && memcmp(uri + a, name, nl) == 0)
            return true;
        a = z + 1;
    }
    return false;
}

int hls_choose(const struct hls_variant_info *v, int n, int which, const char *name)
{
    if (!v || n <= 0)
        return -1;
    int best = 0;
    switch (which) {
    case 0:
    case 1:
        for (int i = 1; i < n; i++)
            if (which == 0 ? v[i].bandwidth < v[best].bandwidth
                           : v[i].bandwidth > v[best].bandwidth)
                best = i;
        return best;
    case 2: {
        if (!name || !*name)
            return -1;
        size_t nl = strlen(name);
        for (int i = 0; i < n; i++)
            if (v[i].name && v[i].name_len == nl && memcmp(v[i].name, name, nl) == 0)
                return i;
        for (int i = 0; i < n; i++)
            if (v[i].uri && has_segment(v[i].uri, v[i].uri_len, name, nl))
                return i;
        return -1;
    }
    default:
        return -1;
    }
}

/* ---------------------------------------------------------------- media */

int hls_parse_media(const char *text, size_t len,
                    bool (*each)(void *ctx, const char *uri, size_t uri_len), void *ctx,
                    bool *endlist)
{
    struct lines ls;
    if (endlist)
        *endlist = false;
    if (!open_m3u8(&ls, text, len))
        return -1;
    bool pending = false, stopped = false;
    int count = 0;
    const char *p;
    size_t l;
    while (next_line(&ls, &p, &l)) {
        if (l == 0)
            continue;
        if (p[0] == '#') {
            if (starts(p, l, "#EXTINF:")) {
                pending = true;
            } else if (is(p, l, "#EXT-X-ENDLIST")) {
                if (endlist)
                    *endlist = true;
                if (stopped)
                    break;
            }
            continue;
        }
        if (!pending || stopped)
            continue;
        pending = false;
        if (count < INT_MAX)
            count++;
        if (each && !each(ctx, p, l)) {
            stopped = true;
            if (!endlist)
                break;
        }
    }
    return count;
}

/* ---------------------------------------------------------------- resolve */

/* Output under construction: out[0..w), always room checked before writing. */
struct out {
    char *s;
    size_t cap, w;
    bool over;
};

static void emit(struct out *o, const char *p, size_t l)
{
    if (o->over || l >= o->cap - o->w) {  /* keep a byte for the NUL */
        o->over = true;
        return;
    }
    memcpy(o->s + o->w, p, l);
    o->w += l;
}

/* Append the path p[0..l) segment by segment to o (which ends in '/'), removing dot
 * segments. final: this is the last piece, its last segment gets no trailing '/'. */
static void emit_path(struct out *o, const char *p, size_t l, bool final)
{
    size_t a = 0;
    if (l && p[0] == '/')
        a = 1;
    while (a <= l && !o->over) {
        size_t z = a;
        while (z < l && p[z] != '/')
            z++;
        bool last = z >= l;
        if (last && !final)
            break;  /* a base path's last segment (the playlist's name) is not a directory */
        size_t sl = z - a;
        if (sl == 1 && p[a] == '.') {
            /* nothing: o already ends in '/' */
        } else if (sl == 2 && p[a] == '.' && p[a + 1] == '.') {
            if (o->w > 1) {
                o->w--;  /* the '/' after the last segment */
                while (o->w > 0 && o->s[o->w - 1] != '/')
                    o->w--;
            }
        } else {
            emit(o, p + a, sl);
            if (!last)
                emit(o, "/", 1);
        }
        a = z + 1;
    }
}

static bool safe(const char *p, size_t l)
{
    for (size_t k = 0; k < l; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c <= 0x20 || c == 0x7F)
            return false;
    }
    return true;
}

/* Split a host[:port] (IPv6 literal in brackets) into host and port; port 0 when absent.
 * false if the port is not 1..65535 in digits or the text is malformed. */
static bool split_hostport(const char *p, size_t l, const char **h, size_t *hl, unsigned *port)
{
    size_t e = l;
    if (l && p[0] == '[') {
        const char *rb = memchr(p, ']', l);
        if (!rb)
            return false;
        e = (size_t)(rb - p) + 1;
        if (e < l && p[e] != ':')
            return false;
    } else {
        const char *c = memchr(p, ':', l);
        if (c)
            e = (size_t)(c - p);
    }
    if (e == 0)
        return false;
    *h = p;
    *hl = e;
    *port = 0;
    if (e == l)
        return true;
    if (e + 1 == l)
        return false;
    unsigned x = 0;
    for (size_t k = e + 1; k < l; k++) {
        if (p[k] < '0' || p[k] > '9')
            return false;
        x = x * 10 + (unsigned)(p[k] - '0');
        if (x > 65535)
            return false;
    }
    if (x == 0)
        return false;
    *port = x;
    return true;
}

/* Is authority a[0..al) (of a URL whose scheme's default port is dport) the target? */
static bool same_host(const char *a, size_t al, unsigned dport, const char *hostport)
{
    const char *h1, *h2;
    size_t l1, l2;
    unsigned p1, p2;
    if (!hostport || memchr(a, '@', al) ||
        !split_hostport(a, al, &h1, &l1, &p1) ||
        !split_hostport(hostport, strlen(hostport), &h2, &l2, &p2) || l1 != l2)
        return false;
    for (size_t k = 0; k < l1; k++) {
        char x = h1[k], y = h2[k];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return (p1 ? p1 : dport) == (p2 ? p2 : dport);
}

int hls_resolve(const char *base_path, const char *uri, size_t uri_len, const char *hostport,
                char *out, size_t cap)
{
    if (!base_path || base_path[0] != '/' || !uri || uri_len == 0 || (!out && cap))
        return -1;
    size_t bl = strlen(base_path);
    if (!safe(base_path, bl) || !safe(uri, uri_len))
        return -1;
    if (cap == 0)
        return -2;

    /* Drop the fragment; split path and query. */
    const char *hash = memchr(uri, '#', uri_len);
    size_t ul = hash ? (size_t)(hash - uri) : uri_len;
    const char *u = uri;

    /* Scheme? (letters, then letters/digits/+-. up to ':'; a ':' after a '/' or '?' is
     * part of a relative path) */
    size_t k = 0;
    if (ul && ((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z'))) {
        k = 1;
        while (k < ul && ((u[k] >= 'a' && u[k] <= 'z') || (u[k] >= 'A' && u[k] <= 'Z') ||
                          (u[k] >= '0' && u[k] <= '9') || u[k] == '+' || u[k] == '-' ||
                          u[k] == '.'))
            k++;
        if (k >= ul || u[k] != ':')
            k = 0;
    }
    bool absolute = false;
    unsigned dport = 80;
    if (k) {
        if (k == 4 && (u[0] | 0x20) == 'h' && (u[1] | 0x20) == 't' && (u[2] | 0x20) == 't' &&
            (u[3] | 0x20) == 'p')
            dport = 80;
        else if (k == 5 && (u[0] | 0x20) == 'h' && (u[1] | 0x20) == 't' &&
                 (u[2] | 0x20) == 't' && (u[3] | 0x20) == 'p' && (u[4] | 0x20) == 's')
            dport = 443;
        else
            return -1;
        u += k + 1;
        ul -= k + 1;
        if (ul < 2 || u[0] != '/' || u[1] != '/')
            return -1;
    }
    if (ul >= 2 && u[0] == '/' && u[1] == '/') {
        size_t a = 2, z = 2;
        while (z < ul && u[z] != '/' && u[z] != '?')
            z++;
        if (!same_host(u + a, z - a, dport, hostport))
            return -1;
        u += z;
        ul -= z;
        absolute = true;
    }

    const char *q = memchr(u, '?', ul);
    size_t pl = q ? (size_t)(q - u) : ul;

    /* The base: path without query or fragment. */
    size_t bpl = strcspn(base_path, "?#");

    struct out o = {out, cap, 0, false};
    emit(&o, "/", 1);
    if (absolute || (pl && u[0] == '/')) {
        emit_path(&o, u, pl, true);        /* "/p", or "" from "http://h" -> "/" */
    } else if (pl) {
        emit_path(&o, base_path, bpl, false);
        emit_path(&o, u, pl, true);
    } else {
        emit_path(&o, base_path, bpl, true);  /* "?q": the base itself, new query */
    }
    emit(&o, u + pl, ul - pl);
    if (o.over) {
        out[0] = '\0';
        return -2;
    }
    out[o.w] = '\0';
    return o.w > INT_MAX ? -2 : (int)o.w;
}
