/* scenario — load a scenario file (DESIGN.md, "Scenario files") into the model
 * of scenario.h.
 *
 * libyaml's document API parses the whole file into a node tree (each node
 * with its position); the loader then walks that tree once, top-down, with
 * a table of the keys each kind of mapping accepts. Every scalar goes
 * through environment substitution before it is typed, so
 * `vus: ${UPLOAD_VUS:-100}` is the number 100.
 *
 * Two kinds of string come out of the walk:
 * - template text (paths, header and tag values, text and JSON bodies, the
 *   HLS master): runtime slots (${vu}, ${iter}, ${one_of:...}, loop
 *   variables, captures) and the "$${" escape are left as written, for the
 *   template compiler; environment values put into it have their own "${"
 *   escaped as "$${", so they stay literal text;
 * - everything else (numbers, durations, names, file paths): "$${" becomes
 *   "${".
 *
 * Memory: everything the model points at lives in one arena, freed as a
 * whole by scenario_free (or on any error before returning). The loader's
 * scratch buffers are freed on every path out of scenario_load_string.
 *
 * Errors are the first one found, as "FILE:LINE:COL: what was wrong
 * (what was expected)"; line and column are 1-based. */
#include "blaster/suggest.h"
#include "blaster/scenario.h"
#include "blaster/threshold.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "blaster/units.h"
#include "blaster/url.h"

#define MAX_DEPTH      32                /* nesting of steps, and of JSON values */
#define NODE_BUDGET    200000L           /* node visits per file: stops alias bombs */
#define JSON_MAX       (16u << 20)       /* bytes of one JSON body */
#define FILE_MAX       (64u << 20)       /* bytes of a scenario file */
#define SHOW_MAX       80                /* bytes of a value quoted in a message */

#define NS_PER_S       1000000000LL

/* ------------------------------------------------------------------ arena */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_destroy(struct arena *a)
{
    if (!a)
        return;
    for (struct arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

/* --------------------------------------------------------- scratch buffer */

struct sbuf {
    char  *p;
    size_t len, cap;
    bool   oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_putc(struct sbuf *b, char c) { sb_put(b, &c, 1); }

static void sb_reset(struct sbuf *b)
{
    b->len = 0;
    b->oom = false;
    sb_put(b, "", 0);
}

/* ----------------------------------------------------------------- loader */

struct ld {
    const char *name;               /* the file, as errors call it */
    const char *src;
    size_t      srclen;
    yaml_document_t doc;
    struct arena *ar;
    struct scenario_file *sf;
    const char *const *env;
    int         nenv;
    char       *err;
    size_t      errlen;
    bool        failed;
    struct sbuf sub;                /* the last substituted scalar */
    struct sbuf js;                 /* a JSON body being serialised */
    const char **rt;                /* runtime slot names in scope (besides vu, iter) */
    int         nrt, rtcap;
    long        budget;
};

static yaml_node_t *node_at(struct ld *ld, int id)
{
    return yaml_document_get_node(&ld->doc, id);
}

#define FOR_PAIRS(p, n) \
    for (yaml_node_pair_t *p = (n)->data.mapping.pairs.start; p < (n)->data.mapping.pairs.top; p++)
#define FOR_ITEMS(it, n) \
    for (yaml_node_item_t *it = (n)->data.sequence.items.start; it < (n)->data.sequence.items.top; it++)

static int npairs(const yaml_node_t *n) { return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start); }
static int nitems(const yaml_node_t *n) { return (int)(n->data.sequence.items.top - n->data.sequence.items.start); }
static const char *raw(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static struct srcpos pos_of(const yaml_node_t *n)
{
    return (struct srcpos){ (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
}

static int vfail_at(struct ld *ld, int line, int col, const char *fmt, va_list ap)
{
    if (!ld->failed && ld->errlen > 0) {
        int k = snprintf(ld->err, ld->errlen, "%s:%d:%d: ", ld->name, line, col);
        if (k >= 0 && (size_t)k < ld->errlen)
            vsnprintf(ld->err + k, ld->errlen - (size_t)k, fmt, ap);
    }
    ld->failed = true;
    return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail_mark(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(ld, (int)m.line + 1, (int)m.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(ld, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct ld *ld, const yaml_node_t *n)
{
    return fail(ld, n, "out of memory");
}

/* A value for a message: at most SHOW_MAX bytes, control characters as '?'. */
static const char *show(char *buf, size_t n, const char *s)
{
    size_t i = 0, len = strlen(s);
    for (; i < len && i + 1 < n && i < SHOW_MAX; i++)
        buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (i < len && i >= 3) {
        buf[i - 3] = buf[i - 2] = buf[i - 1] = '.';
    }
    buf[i] = '\0';
    return buf;
}

/* "a list", "a mapping", "'text'" or "nothing": what a message says it got. */
static const char *got(char *buf, size_t n, const yaml_node_t *v, const char *text)
{
    if (v->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (v->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (!text)
        text = raw(v);
    if (!*text)
        return "nothing";
    char tmp[SHOW_MAX + 4];
    snprintf(buf, n, "'%s'", show(tmp, sizeof(tmp), text));
    return buf;
}

static void *ld_alloc(struct ld *ld, const yaml_node_t *n, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        oom(ld, n);
        return NULL;
    }
    void *p = arena_alloc(ld->ar, count * size);
    if (!p)
        oom(ld, n);
    return p;
}

static char *ld_strndup(struct ld *ld, const yaml_node_t *n, const char *s, size_t len)
{
    char *p = ld_alloc(ld, n, len + 1, 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

static char *ld_strdup(struct ld *ld, const yaml_node_t *n, const char *s)
{
    return ld_strndup(ld, n, s, strlen(s));
}

static bool spend(struct ld *ld, const yaml_node_t *n)
{
    if (--ld->budget >= 0)
        return true;
    fail(ld, n, "too many YAML nodes (over %ld, counting every use of an alias): "
                "an alias loop or an alias bomb?", NODE_BUDGET);
    return false;
}

/* ----------------------------------------------------- names and suggestions */

static bool is_ident(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* RFC 9110 token characters (header names). */
static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}


/* The candidate closest to s when it is close enough to be a typo, or NULL. */
static const char *closest(const char *s, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 1000;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = suggest_distance(s, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    size_t len = strlen(s);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    return bestd <= limit ? best : NULL;
}

/* ---------------------------------------------------------- environment */

static const char *env_get(struct ld *ld, const char *name, size_t n)
{
    for (int i = ld->nenv - 1; i >= 0; i--) {
        const char *e = ld->env[i];
        if (e && strncmp(e, name, n) == 0 && e[n] == '=')
            return e + n + 1;
    }
    char buf[256];
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return getenv(buf);
}

static bool is_runtime(struct ld *ld, const char *name, size_t n)
{
    if ((n == 2 && memcmp(name, "vu", 2) == 0) || (n == 4 && memcmp(name, "iter", 4) == 0))
        return true;
    for (int i = 0; i < ld->nrt; i++)
        if (strlen(ld->rt[i]) == n && memcmp(ld->rt[i], name, n) == 0)
            return true;
    return false;
}

static int rt_add(struct ld *ld, const yaml_node_t *n, const char *name)
{
    if (is_runtime(ld, name, strlen(name)))
        return 0;
    if (ld->nrt == ld->rtcap) {
        int cap = ld->rtcap ? ld->rtcap * 2 : 16;
        const char **p = realloc(ld->rt, (size_t)cap * sizeof(*p));
        if (!p)
            return oom(ld, n);
        ld->rt = p;
        ld->rtcap = cap;
    }
    ld->rt[ld->nrt++] = name;
    return 0;
}

static const yaml_node_t *map_get(struct ld *ld, const yaml_node_t *map, const char *key)
{
    if (map->type != YAML_MAPPING_NODE)
        return NULL;
    FOR_PAIRS(p, map) {
        yaml_node_t *k = node_at(ld, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(raw(k), key) == 0)
            return node_at(ld, p->value);
    }
    return NULL;
}

/* Runtime slot names declared under n: `repeat` loop variables (`as`) and
 * capture slots, wherever they are in a flow. */
static int collect_runtime(struct ld *ld, const yaml_node_t *n, int depth)
{
    if (!n || depth > 2 * MAX_DEPTH + 8 || !spend(ld, n))
        return ld->failed ? -1 : 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        FOR_ITEMS(it, n)
            if (collect_runtime(ld, node_at(ld, *it), depth + 1) < 0)
                return -1;
    } else if (n->type == YAML_MAPPING_NODE) {
        const yaml_node_t *as = map_get(ld, n, "as");
        if (as && as->type == YAML_SCALAR_NODE && map_get(ld, n, "repeat") &&
            rt_add(ld, as, raw(as)) < 0)
            return -1;
        const yaml_node_t *cap = map_get(ld, n, "capture");
        if (cap && cap->type == YAML_MAPPING_NODE) {
            FOR_PAIRS(p, cap) {
                yaml_node_t *k = node_at(ld, p->key);
                if (k && k->type == YAML_SCALAR_NODE && rt_add(ld, k, raw(k)) < 0)
                    return -1;
            }
        }
        FOR_PAIRS(p, n)
            if (collect_runtime(ld, node_at(ld, p->value), depth + 1) < 0)
                return -1;
    }
    return 0;
}

/* Byte offset in the source of a libyaml mark (whose column counts
 * characters, not bytes). */
static size_t src_offset(const struct ld *ld, yaml_mark_t m)
{
    const char *s = ld->src, *end = ld->src + ld->srclen;
    if (ld->srclen >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    for (size_t line = 0; line < m.line && s < end; s++) {
        if (*s == '\n') {
            line++;
        } else if (*s == '\r') {
            if (s + 1 < end && s[1] == '\n')
                s++;
            line++;
        }
    }
    for (size_t col = 0; col < m.column && s < end; col++) {
        s++;
        while (s < end && ((unsigned char)*s & 0xC0) == 0x80)
            s++;
    }
    return (size_t)(s - ld->src);
}

/* The position of the text at offset off (needle_len bytes) of scalar n's
 * value, found in the source; the scalar's own position when the source
 * spells it differently (escapes, folding). */
static yaml_mark_t mark_in_scalar(struct ld *ld, const yaml_node_t *n, size_t off, size_t needle_len)
{
    const char *v = raw(n);
    int k = 0;
    for (size_t i = 0; i < off; i++)
        if (memcmp(v + i, v + off, needle_len) == 0)
            k++;
    size_t a = src_offset(ld, n->start_mark), b = src_offset(ld, n->end_mark);
    if (b > ld->srclen)
        b = ld->srclen;
    for (size_t q = a; q + needle_len <= b; q++) {
        if (memcmp(ld->src + q, v + off, needle_len) != 0 || k-- > 0)
            continue;
        yaml_mark_t m = n->start_mark;
        for (size_t i = a; i < q; i++) {
            unsigned char c = (unsigned char)ld->src[i];
            if (c == '\n' || (c == '\r' && (i + 1 >= q || ld->src[i + 1] != '\n'))) {
                m.line++;
                m.column = 0;
            } else if ((c & 0xC0) != 0x80 && c != '\r') {
                m.column++;
            }
        }
        return m;
    }
    return n->start_mark;
}

/* Literal text into template text: its "${" must stay literal. */
static void put_literal(struct sbuf *b, const char *s, size_t n, bool tmpl)
{
    for (size_t i = 0; i < n; i++) {
        if (tmpl && s[i] == '$' && i + 1 < n && s[i + 1] == '{')
            sb_putc(b, '$');
        sb_putc(b, s[i]);
    }
}

/* Substitute the environment into scalar n's value (see the top of the
 * file for tmpl). The result is in ld->sub, valid until the next call;
 * NULL after an error. */
static const char *subst(struct ld *ld, const yaml_node_t *n, bool tmpl)
{
    const char *v = raw(n);
    size_t len = n->data.scalar.length;
    char b1[SHOW_MAX + 4];
    if (memchr(v, '\0', len)) {
        fail(ld, n, "a NUL character in a value");
        return NULL;
    }
    sb_reset(&ld->sub);
    for (size_t i = 0; i < len;) {
        if (v[i] == '$' && i + 2 < len && v[i + 1] == '$' && v[i + 2] == '{') {
            sb_puts(&ld->sub, tmpl ? "$${" : "${");
            i += 3;
            continue;
        }
        if (!(v[i] == '$' && i + 1 < len && v[i + 1] == '{')) {
            sb_putc(&ld->sub, v[i++]);
            continue;
        }
        const char *in = v + i + 2;
        const char *close = memchr(in, '}', len - i - 2);
        if (!close) {
            fail_mark(ld, mark_in_scalar(ld, n, i, 2),
                      "unterminated '${' (expected ${NAME} or ${NAME:-default}; write $${ for a literal ${)");
            return NULL;
        }
        size_t inlen = (size_t)(close - in), whole = inlen + 3;
        if (inlen >= 7 && memcmp(in, "one_of:", 7) == 0) {
            sb_put(&ld->sub, v + i, whole);
            i += whole;
            continue;
        }
        size_t nl = 0;
        while (nl < inlen && is_ident(in, nl + 1))
            nl++;
        bool has_default = inlen >= nl + 2 && in[nl] == ':' && in[nl + 1] == '-';
        if (nl == 0 || (nl < inlen && !has_default)) {
            char tmp[SHOW_MAX + 4];
            snprintf(tmp, sizeof(tmp), "%.*s", (int)(whole > SHOW_MAX ? SHOW_MAX : whole), v + i);
            fail_mark(ld, mark_in_scalar(ld, n, i, 2),
                      "'%s': expected ${NAME} or ${NAME:-default} (NAME: letters, digits and '_', "
                      "not starting with a digit), ${one_of:a,b,...}, or $${ for a literal ${",
                      show(b1, sizeof(b1), tmp));
            return NULL;
        }
        if (is_runtime(ld, in, nl)) {
            sb_put(&ld->sub, v + i, whole);
            i += whole;
            continue;
        }
        const char *val = env_get(ld, in, nl);
        if (has_default && (!val || !*val)) {
            put_literal(&ld->sub, in + nl + 2, inlen - nl - 2, tmpl);
        } else if (val) {
            put_literal(&ld->sub, val, strlen(val), tmpl);
        } else {
            fail_mark(ld, mark_in_scalar(ld, n, i, 2 + nl),
                      "environment variable %.*s is not set (write ${%.*s:-%s} for a default, "
                      "or pass -e %.*s=...)",
                      (int)nl, in, (int)nl, in, "value", (int)nl, in);
            return NULL;
        }
        i += whole;
    }
    if (ld->sub.oom) {
        oom(ld, n);
        return NULL;
    }
    return ld->sub.p;
}

/* --------------------------------------------------------- typed scalars */

/* The substituted text of a scalar (not template text); NULL with an error
 * naming key and what was expected when n is not a scalar. */
static const char *text_of(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SCALAR_NODE) {
        fail(ld, n, "'%s': expected %s, got %s", key, expected, got(b1, sizeof(b1), n, NULL));
        return NULL;
    }
    return subst(ld, n, false);
}

static int get_u64(struct ld *ld, const yaml_node_t *n, const char *key, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = text_of(ld, n, key, "a whole number");
    if (!s)
        return -1;
    uint64_t v = 0;
    const char *p = s;
    if (*p == '-' && p[1] >= '0' && p[1] <= '9')
        return fail(ld, n, "'%s': must not be negative, got %s", key, got(b1, sizeof(b1), n, s));
    if (*p == '+')
        p++;
    if (!*p)
        return fail(ld, n, "'%s': expected a whole number, got %s", key, got(b1, sizeof(b1), n, s));
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(ld, n, "'%s': expected a whole number, got %s", key, got(b1, sizeof(b1), n, s));
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return fail(ld, n, "'%s': %s is too large (at most %llu)", key, got(b1, sizeof(b1), n, s),
                        (unsigned long long)max);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min)
        return fail(ld, n, "'%s': must be at least %llu, got %s", key, (unsigned long long)min,
                    got(b1, sizeof(b1), n, s));
    if (v > max)
        return fail(ld, n, "'%s': %s is too large (at most %llu)", key, got(b1, sizeof(b1), n, s),
                    (unsigned long long)max);
    *out = v;
    return 0;
}

static int get_u32(struct ld *ld, const yaml_node_t *n, const char *key, uint32_t min, uint32_t *out)
{
    uint64_t v;
    if (get_u64(ld, n, key, min, UINT32_MAX, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A non-negative decimal number: digits, at most one '.', no exponent. */
static int get_num(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, double *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = text_of(ld, n, key, "a number");
    if (!s)
        return -1;
    if (*s == '-' && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
        return fail(ld, n, "'%s': must not be negative, got %s", key, got(b1, sizeof(b1), n, s));
    int digits = 0, dots = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.')
            dots++;
        else
            digits = -1000;
    }
    if (digits <= 0 || dots > 1 || strlen(s) > 30)
        return fail(ld, n, "'%s': expected a number like 10 or 2.5, got %s", key, got(b1, sizeof(b1), n, s));
    double d = strtod(s, NULL);
    if (positive && !(d > 0))
        return fail(ld, n, "'%s': must be greater than 0, got %s", key, got(b1, sizeof(b1), n, s));
    *out = d;
    return 0;
}

static int get_duration(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, int64_t *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = text_of(ld, n, key, "a duration like 30s or 1m30s");
    if (!s)
        return -1;
    int64_t ns;
    if (*s == '-' && s[1] >= '0' && s[1] <= '9')
        return fail(ld, n, "'%s': must not be negative, got %s", key, got(b1, sizeof(b1), n, s));
    if (units_parse_duration(s, &ns) < 0)
        return fail(ld, n, "'%s': expected a duration like 30s or 1m30s, got %s", key,
                    got(b1, sizeof(b1), n, s));
    if (positive && ns <= 0)
        return fail(ld, n, "'%s': must be longer than 0s, got %s", key, got(b1, sizeof(b1), n, s));
    *out = ns;
    return 0;
}

static int get_bool(struct ld *ld, const yaml_node_t *n, const char *key, bool *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = text_of(ld, n, key, "true or false");
    if (!s)
        return -1;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = false;
    else
        return fail(ld, n, "'%s': expected true or false, got %s", key, got(b1, sizeof(b1), n, s));
    return 0;
}

/* A string into the arena: template text (tmpl) or plain text. */
static int get_str(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected, bool tmpl,
                   bool allow_empty, char **out)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SCALAR_NODE)
        return fail(ld, n, "'%s': expected %s, got %s", key, expected, got(b1, sizeof(b1), n, NULL));
    const char *s = subst(ld, n, tmpl);
    if (!s)
        return -1;
    if (!allow_empty && !*s)
        return fail(ld, n, "'%s': expected %s, got nothing", key, expected);
    *out = ld_strdup(ld, n, s);
    return *out ? 0 : -1;
}

/* ------------------------------------------------------------ key tables */

struct keydef {
    const char *name;
    const char *alias;    /* k6's camelCase spelling, or NULL */
};

#define BIT(i) (1u << (i))

static void list_keys(char *buf, size_t n, const struct keydef *defs, int ndefs, uint32_t allowed)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndefs && k + 1 < n; i++) {
        if (!(allowed & BIT(i)))
            continue;
        int w = snprintf(buf + k, n - k, "%s%s", k ? ", " : "", defs[i].name);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* Read the keys of mapping map against defs: vals[i]/keys[i] get the value
 * and key node of defs[i] (by name or alias). Unknown keys, duplicates and
 * non-scalar keys are errors; keys that are known but not in allowed are
 * returned for the caller to explain. where: "in scenario 'upload'". */
static int map_keys(struct ld *ld, const yaml_node_t *map, const struct keydef *defs, int ndefs,
                    uint32_t allowed, const char *where, yaml_node_t **vals, yaml_node_t **keys)
{
    char b1[SHOW_MAX + 4], list[512];
    for (int i = 0; i < ndefs; i++)
        vals[i] = keys[i] = NULL;
    FOR_PAIRS(p, map) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(ld, k, "a key %s must be a plain name, got %s", where,
                        k->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping");
        const char *name = raw(k);
        int i = 0;
        while (i < ndefs && strcmp(name, defs[i].name) != 0 &&
               !(defs[i].alias && strcmp(name, defs[i].alias) == 0))
            i++;
        if (i == ndefs) {
            const char *cands[64];
            int nc = 0;
            for (int j = 0; j < ndefs && nc < 64; j++)
                if (allowed & BIT(j)) {
                    cands[nc++] = defs[j].name;
                    if (defs[j].alias && nc < 64)
                        cands[nc++] = defs[j].alias;
                }
            const char *near = closest(name, cands, nc);
            list_keys(list, sizeof(list), defs, ndefs, allowed);
            if (near)
                return fail(ld, k, "unknown key '%s' %s (did you mean '%s'? expected one of: %s)",
                            show(b1, sizeof(b1), name), where, near, list);
            return fail(ld, k, "unknown key '%s' %s (expected one of: %s)", show(b1, sizeof(b1), name),
                        where, list);
        }
        if (vals[i]) {
            if (strcmp(raw(keys[i]), name) != 0)
                return fail(ld, k, "'%s' and '%s' are the same option (given twice %s)", raw(keys[i]),
                            name, where);
            return fail(ld, k, "duplicate key '%s' %s (first given at line %d)", name, where,
                        pos_of(keys[i]).line);
        }
        vals[i] = v;
        keys[i] = k;
    }
    return 0;
}

/* The first key present but not allowed: an error saying so. */
static int check_allowed(struct ld *ld, const struct keydef *defs, int ndefs, uint32_t allowed,
                         yaml_node_t **keys, const char *where)
{
    char list[512];
    for (int i = 0; i < ndefs; i++) {
        if (keys[i] && !(allowed & BIT(i))) {
            list_keys(list, sizeof(list), defs, ndefs, allowed);
            return fail(ld, keys[i], "'%s' does not belong %s (expected one of: %s)", raw(keys[i]), where,
                        list);
        }
    }
    return 0;
}

static int need_map(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected)
{
    char b1[SHOW_MAX + 8];
    if (n->type == YAML_MAPPING_NODE)
        return 0;
    return fail(ld, n, "'%s': expected %s, got %s", key, expected, got(b1, sizeof(b1), n, NULL));
}

static int need_list(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected,
                     bool nonempty)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(ld, n, "'%s': expected %s, got %s", key, expected, got(b1, sizeof(b1), n, NULL));
    if (nonempty && nitems(n) == 0)
        return fail(ld, n, "'%s' is empty (expected %s)", key, expected);
    return 0;
}

/* ------------------------------------------------------- headers and tags */

/* A mapping of name → value: headers (names are tokens, compared without
 * regard to case, values single-line) or tags. Values are template text. */
static int get_kvs(struct ld *ld, const yaml_node_t *n, const char *key, bool header,
                   struct kv **out, int *nout)
{
    char b1[SHOW_MAX + 8], b2[SHOW_MAX + 8];
    if (need_map(ld, n, key, header ? "a mapping like {X-Name: value}" : "a mapping like {name: value}") < 0)
        return -1;
    int cnt = npairs(n);
    struct kv *kv = ld_alloc(ld, n, (size_t)cnt, sizeof(*kv));
    if (!kv)
        return -1;
    int i = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        if (get_str(ld, k, key, header ? "a header name" : "a tag name", false, false, &kv[i].name) < 0)
            return -1;
        if (header && !is_token(kv[i].name))
            return fail(ld, k, "'%s': '%s' is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~)",
                        key, show(b1, sizeof(b1), kv[i].name));
        for (int j = 0; j < i; j++)
            if (header ? strcasecmp(kv[j].name, kv[i].name) == 0 : strcmp(kv[j].name, kv[i].name) == 0)
                return fail(ld, k, "'%s': '%s' is given twice (first at line %d)", key,
                            show(b1, sizeof(b1), kv[i].name), kv[j].pos.line);
        if (v->type != YAML_SCALAR_NODE)
            return fail(ld, v, "'%s': the value of '%s' must be text, got %s", key,
                        show(b1, sizeof(b1), kv[i].name), got(b2, sizeof(b2), v, NULL));
        if (get_str(ld, v, key, "text", true, true, &kv[i].value) < 0)
            return -1;
        if (header && strpbrk(kv[i].value, "\r\n"))
            return fail(ld, v, "'%s': the value of '%s' must be on one line", key,
                        show(b1, sizeof(b1), kv[i].name));
        kv[i].pos = pos_of(k);
        i++;
    }
    *out = kv;
    *nout = cnt;
    return 0;
}

/* ------------------------------------------------------------------ JSON */

static void json_string(struct sbuf *b, const char *s)
{
    sb_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':  sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        default:
            if (c < 0x20) {
                char u[8];
                snprintf(u, sizeof(u), "\\u%04x", c);
                sb_puts(b, u);
            } else {
                sb_putc(b, (char)c);
            }
        }
    }
    sb_putc(b, '"');
}

/* RFC 8259's number grammar. */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* Serialise a YAML value as compact JSON into ld->js. Plain scalars that read
 * as null, true, false or a JSON number are those; everything else is a
 * string (template text: runtime slots stay in it). */
static int json_emit(struct ld *ld, const yaml_node_t *n, int depth)
{
    char b1[SHOW_MAX + 8];
    if (!spend(ld, n))
        return -1;
    if (depth > MAX_DEPTH)
        return fail(ld, n, "'json': nested more than %d levels deep", MAX_DEPTH);
    if (ld->js.len > JSON_MAX)
        return fail(ld, n, "'json': the body is over %u MiB", JSON_MAX >> 20);
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = subst(ld, n, true);
        if (!s)
            return -1;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) {
                sb_puts(&ld->js, "null");
                break;
            }
            if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
                sb_puts(&ld->js, "true");
                break;
            }
            if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
                sb_puts(&ld->js, "false");
                break;
            }
            if (is_json_number(s)) {
                sb_puts(&ld->js, s);
                break;
            }
        }
        json_string(&ld->js, s);
        break;
    }
    case YAML_SEQUENCE_NODE: {
        sb_putc(&ld->js, '[');
        bool first = true;
        FOR_ITEMS(it, n) {
            if (!first)
                sb_putc(&ld->js, ',');
            first = false;
            if (json_emit(ld, node_at(ld, *it), depth + 1) < 0)
                return -1;
        }
        sb_putc(&ld->js, ']');
        break;
    }
    case YAML_MAPPING_NODE: {
        sb_putc(&ld->js, '{');
        bool first = true;
        FOR_PAIRS(p, n) {
            yaml_node_t *k = node_at(ld, p->key);
            if (k->type != YAML_SCALAR_NODE)
                return fail(ld, k, "'json': object keys must be text, got %s", got(b1, sizeof(b1), k, NULL));
            for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
                yaml_node_t *k2 = node_at(ld, q->key);
                if (strcmp(raw(k2), raw(k)) == 0)
                    return fail(ld, k, "'json': duplicate key '%s' (first at line %d)",
                                show(b1, sizeof(b1), raw(k)), pos_of(k2).line);
            }
            if (!first)
                sb_putc(&ld->js, ',');
            first = false;
            const char *s = subst(ld, k, true);
            if (!s)
                return -1;
            json_string(&ld->js, s);
            sb_putc(&ld->js, ':');
            if (json_emit(ld, node_at(ld, p->value), depth + 1) < 0)
                return -1;
        }
        sb_putc(&ld->js, '}');
        break;
    }
    default:
        return fail(ld, n, "'json': an empty value");
    }
    if (ld->js.oom)
        return oom(ld, n);
    return 0;
}

/* ----------------------------------------------------------------- steps */

enum {
    SK_GET, SK_POST, SK_PUT, SK_PATCH, SK_DELETE, SK_HEAD,   /* the request methods */
    SK_THINK, SK_REPEAT, SK_PICK, SK_HLS,                    /* the other step kinds */
    SK_NAME, SK_HEADERS, SK_BODY, SK_JSON, SK_FILE, SK_EXPECT, SK_CAPTURE, SK_TIMEOUT, SK_TAGS,
    SK_AS, SK_STEPS, SK_WEIGHT,
    SK_N
};
#define SK_NKINDS (SK_HLS + 1)

static const struct keydef step_keys[SK_N] = {
    {"get", NULL}, {"post", NULL}, {"put", NULL}, {"patch", NULL}, {"delete", NULL}, {"head", NULL},
    {"think", NULL}, {"repeat", NULL}, {"pick", NULL}, {"hls", NULL},
    {"name", NULL}, {"headers", NULL}, {"body", NULL}, {"json", NULL}, {"file", NULL},
    {"expect", NULL}, {"capture", NULL}, {"timeout", NULL}, {"tags", NULL},
    {"as", NULL}, {"steps", NULL}, {"weight", NULL},
};

static const char *const method_names[6] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

#define REQUEST_KEYS (BIT(SK_NAME) | BIT(SK_HEADERS) | BIT(SK_BODY) | BIT(SK_JSON) | BIT(SK_FILE) | \
                      BIT(SK_EXPECT) | BIT(SK_CAPTURE) | BIT(SK_TIMEOUT) | BIT(SK_TAGS))
#define STEP_KINDS_LIST "get, post, put, patch, delete, head, think, repeat, pick, hls"

static int parse_steps(struct ld *ld, const yaml_node_t *n, const char *key, int depth,
                       struct step **out, int *nout);

static int status_code(struct ld *ld, const yaml_node_t *n, int *out)
{
    uint64_t v;
    if (get_u64(ld, n, "status", 0, UINT64_MAX, &v) < 0)
        return -1;
    if (v < 100 || v > 599)
        return fail(ld, n, "'status': %llu is not an HTTP status (expected 100..599)", (unsigned long long)v);
    *out = (int)v;
    return 0;
}

/* One entry of expect.status: a code, or k6's {min: 200, max: 399}. */
static int status_entry(struct ld *ld, const yaml_node_t *n, bool seen[600])
{
    static const struct keydef keys[] = {{"min", NULL}, {"max", NULL}};
    yaml_node_t *v[2], *k[2];
    if (n->type == YAML_SCALAR_NODE) {
        int c;
        if (status_code(ld, n, &c) < 0)
            return -1;
        seen[c] = true;
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, n, "'status': expected a status like 200 or a range like {min: 200, max: 399}, "
                           "got a list");
    if (map_keys(ld, n, keys, 2, 3, "in a status range", v, k) < 0)
        return -1;
    if (!v[0] || !v[1])
        return fail(ld, n, "a status range needs both 'min' and 'max' (like {min: 200, max: 399})");
    int lo, hi;
    if (status_code(ld, v[0], &lo) < 0 || status_code(ld, v[1], &hi) < 0)
        return -1;
    if (lo > hi)
        return fail(ld, n, "a status range's 'min' (%d) is above its 'max' (%d)", lo, hi);
    for (int c = lo; c <= hi; c++)
        seen[c] = true;
    return 0;
}

static int parse_expect(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"status", NULL}};
    yaml_node_t *v[1], *k[1];
    if (need_map(ld, n, "expect", "a mapping like {status: [200, 201]}") < 0 ||
        map_keys(ld, n, keys, 1, 1, "in 'expect'", v, k) < 0)
        return -1;
    if (!v[0])
        return fail(ld, n, "'expect' needs 'status' (like {status: [200, 201]})");
    bool seen[600] = {false};
    if (v[0]->type == YAML_SEQUENCE_NODE) {
        if (nitems(v[0]) == 0)
            return fail(ld, v[0], "'status' is empty (expected statuses like [200, 201])");
        FOR_ITEMS(it, v[0])
            if (status_entry(ld, node_at(ld, *it), seen) < 0)
                return -1;
    } else if (status_entry(ld, v[0], seen) < 0) {
        return -1;
    }
    int cnt = 0;
    for (int c = 100; c < 600; c++)
        cnt += seen[c];
    st->expect_status = ld_alloc(ld, n, (size_t)cnt, sizeof(int));
    if (!st->expect_status)
        return -1;
    for (int c = 100; c < 600; c++)
        if (seen[c])
            st->expect_status[st->nexpect++] = c;
    return 0;
}

static int parse_captures(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"json", NULL}, {"header", NULL}};
    char b1[SHOW_MAX + 8];
    if (need_map(ld, n, "capture", "a mapping like {upload_id: {json: data.upload_id}}") < 0)
        return -1;
    st->ncaptures = npairs(n);
    st->captures = ld_alloc(ld, n, (size_t)st->ncaptures, sizeof(*st->captures));
    if (!st->captures)
        return -1;
    int i = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value), *vals[2], *ks[2];
        struct capture *c = &st->captures[i++];
        if (k->type != YAML_SCALAR_NODE || !is_ident(raw(k), strlen(raw(k))))
            return fail(ld, k, "'capture': %s is not a slot name (letters, digits and '_', not starting "
                               "with a digit)", got(b1, sizeof(b1), k, NULL));
        if (!strcmp(raw(k), "vu") || !strcmp(raw(k), "iter"))
            return fail(ld, k, "'capture': '%s' is a built-in variable; choose another slot name", raw(k));
        for (int j = 0; j < i - 1; j++)
            if (!strcmp(st->captures[j].slot, raw(k)))
                return fail(ld, k, "'capture': slot '%s' is given twice", raw(k));
        if (!(c->slot = ld_strdup(ld, k, raw(k))))
            return -1;
        c->pos = pos_of(k);
        if (need_map(ld, v, raw(k), "{json: PATH} or {header: NAME}") < 0 ||
            map_keys(ld, v, keys, 2, 3, "in a capture", vals, ks) < 0)
            return -1;
        if (!vals[0] == !vals[1])
            return fail(ld, v, "capture '%s' needs exactly one of 'json' (a path like data.upload_id) "
                               "or 'header' (a header name)", c->slot);
        c->kind = vals[0] ? CAPTURE_JSON : CAPTURE_HEADER;
        const yaml_node_t *pv = vals[0] ? vals[0] : vals[1];
        if (get_str(ld, pv, vals[0] ? "json" : "header", vals[0] ? "a JSON path like data.upload_id" :
                    "a header name", false, false, &c->path) < 0)
            return -1;
        if (c->kind == CAPTURE_HEADER && !is_token(c->path))
            return fail(ld, pv, "'header': '%s' is not a valid header name", show(b1, sizeof(b1), c->path));
    }
    return 0;
}

static int parse_body(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"bytes", NULL}, {"file", NULL}};
    yaml_node_t *v[2], *k[2];
    char b1[SHOW_MAX + 8];
    if (n->type == YAML_SCALAR_NODE) {
        st->body_kind = BODY_TEXT;
        return get_str(ld, n, "body", "text", true, true, &st->body);
    }
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, n, "'body': expected text, {bytes: SIZE} or {file: PATH}, got a list");
    if (map_keys(ld, n, keys, 2, 3, "in 'body'", v, k) < 0)
        return -1;
    if (!v[0] == !v[1])
        return fail(ld, n, "'body' needs exactly one of 'bytes' (a size like 1MiB) or 'file' (a path)");
    if (v[1]) {
        st->body_kind = BODY_FILE;
        return get_str(ld, v[1], "file", "a file path", false, false, &st->body);
    }
    const char *s = text_of(ld, v[0], "bytes", "a size like 1MiB or 512KB");
    if (!s)
        return -1;
    if (units_parse_size(s, &st->body_bytes) < 0)
        return fail(ld, v[0], "'bytes': expected a size like 1MiB, 512KB or 1048576, got %s",
                    got(b1, sizeof(b1), v[0], s));
    st->body_kind = BODY_BYTES;
    return 0;
}

static bool path_ok(const char *p)
{
    return p[0] == '/' || strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0 ||
           (p[0] == '$' && p[1] == '{');
}

static int parse_request(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, int m, struct step *st)
{
    char b1[SHOW_MAX + 8];
    st->kind = STEP_REQUEST;
    if (!(st->method = ld_strdup(ld, n, method_names[m])))
        return -1;
    if (get_str(ld, v[m], step_keys[m].name, "a path like /api/v1/x", true, false, &st->path) < 0)
        return -1;
    if (!path_ok(st->path))
        return fail(ld, v[m], "'%s': expected a path starting with '/' or an absolute http(s) URL, got %s",
                    step_keys[m].name, got(b1, sizeof(b1), v[m], st->path));
    if (v[SK_NAME]) {
        if (get_str(ld, v[SK_NAME], "name", "a name", false, false, &st->name) < 0)
            return -1;
    } else {
        size_t len = strlen(st->method) + 1 + strlen(st->path);
        if (!(st->name = ld_alloc(ld, n, len + 1, 1)))
            return -1;
        snprintf(st->name, len + 1, "%s %s", st->method, st->path);
    }

    int nbody = !!v[SK_BODY] + !!v[SK_JSON] + !!v[SK_FILE];
    if (nbody > 1) {
        const char *a = v[SK_BODY] ? "body" : "json", *b = v[SK_FILE] ? "file" : "json";
        return fail(ld, n, "a request has one body: 'body', 'json' or 'file', not both '%s' and '%s'", a, b);
    }
    if (v[SK_HEADERS] && get_kvs(ld, v[SK_HEADERS], "headers", true, &st->headers, &st->nheaders) < 0)
        return -1;

    if (v[SK_BODY] && parse_body(ld, v[SK_BODY], st) < 0)
        return -1;
    if (v[SK_FILE]) {
        st->body_kind = BODY_FILE;
        if (get_str(ld, v[SK_FILE], "file", "a file path", false, false, &st->body) < 0)
            return -1;
    }
    if (v[SK_JSON]) {
        sb_reset(&ld->js);
        if (json_emit(ld, v[SK_JSON], 0) < 0)
            return -1;
        st->body_kind = BODY_JSON;
        if (!(st->body = ld_strndup(ld, v[SK_JSON], ld->js.p, ld->js.len)))
            return -1;
    }
    if (v[SK_EXPECT] && parse_expect(ld, v[SK_EXPECT], st) < 0)
        return -1;
    if (v[SK_CAPTURE] && parse_captures(ld, v[SK_CAPTURE], st) < 0)
        return -1;
    if (v[SK_TIMEOUT] && get_duration(ld, v[SK_TIMEOUT], "timeout", true, &st->timeout_ns) < 0)
        return -1;
    if (v[SK_TAGS] && get_kvs(ld, v[SK_TAGS], "tags", false, &st->tags, &st->ntags) < 0)
        return -1;
    return 0;
}

static int parse_think(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    char b1[SHOW_MAX + 8], lo[64], hi[64];
    const char *s = text_of(ld, n, "think", "a duration like 300ms or a range like 300ms..800ms");
    if (!s)
        return -1;
    st->kind = STEP_THINK;
    const char *dots = strstr(s, "..");
    if (!dots) {
        if (units_parse_duration(s, &st->think_min_ns) < 0)
            goto bad;
        st->think_max_ns = st->think_min_ns;
        return 0;
    }
    size_t la = (size_t)(dots - s), lb = strlen(dots + 2);
    while (la > 0 && s[la - 1] == ' ')
        la--;
    const char *b = dots + 2;
    while (*b == ' ')
        b++, lb--;
    if (la == 0 || la >= sizeof(lo) || lb == 0 || lb >= sizeof(hi))
        goto bad;
    memcpy(lo, s, la);
    lo[la] = '\0';
    memcpy(hi, b, lb);
    hi[lb] = '\0';
    if (units_parse_duration(lo, &st->think_min_ns) < 0 || units_parse_duration(hi, &st->think_max_ns) < 0)
        goto bad;
    if (st->think_min_ns > st->think_max_ns)
        return fail(ld, n, "'think': the range's minimum %s is above its maximum %s", lo, hi);
    return 0;
bad:
    return fail(ld, n, "'think': expected a duration like 300ms or a range like 300ms..800ms, got %s",
                got(b1, sizeof(b1), n, s));
}

static int parse_repeat(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, int depth, struct step *st)
{
    char b1[SHOW_MAX + 8];
    st->kind = STEP_REPEAT;
    if (get_u32(ld, v[SK_REPEAT], "repeat", 1, &st->repeat) < 0)
        return -1;
    if (v[SK_AS]) {
        if (v[SK_AS]->type != YAML_SCALAR_NODE || !is_ident(raw(v[SK_AS]), strlen(raw(v[SK_AS]))))
            return fail(ld, v[SK_AS], "'as': expected a variable name (letters, digits and '_', not starting "
                                      "with a digit), got %s", got(b1, sizeof(b1), v[SK_AS], NULL));
        if (!strcmp(raw(v[SK_AS]), "vu") || !strcmp(raw(v[SK_AS]), "iter"))
            return fail(ld, v[SK_AS], "'as': '%s' is a built-in variable; choose another name", raw(v[SK_AS]));
        if (!(st->repeat_as = ld_strdup(ld, v[SK_AS], raw(v[SK_AS]))))
            return -1;
    }
    if (!v[SK_STEPS])
        return fail(ld, n, "missing 'steps' in a repeat step (the list of steps to repeat)");
    return parse_steps(ld, v[SK_STEPS], "steps", depth, &st->steps, &st->nsteps);
}

static int parse_hls(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, struct step *st)
{
    static const struct keydef keys[] = {{"master", NULL}, {"variant", NULL}, {"segments", NULL}};
    yaml_node_t *hv[3], *hk[3];
    char b1[SHOW_MAX + 8];
    st->kind = STEP_HLS;
    if (need_map(ld, v[SK_HLS], "hls", "a mapping like {master: /path/master.m3u8, variant: lowest, segments: 4}") < 0 ||
        map_keys(ld, v[SK_HLS], keys, 3, 7, "in 'hls'", hv, hk) < 0)
        return -1;
    if (!hv[0])
        return fail(ld, v[SK_HLS], "missing 'master' in 'hls' (the path or URL of the master playlist)");
    if (get_str(ld, hv[0], "master", "a path like /hls/master.m3u8", true, false, &st->hls_master) < 0)
        return -1;
    if (!path_ok(st->hls_master))
        return fail(ld, hv[0], "'master': expected a path starting with '/' or an absolute http(s) URL, got %s",
                    got(b1, sizeof(b1), hv[0], st->hls_master));
    st->hls_variant = HLS_LOWEST;
    if (hv[1]) {
        const char *s = text_of(ld, hv[1], "variant", "lowest, highest or a variant's name");
        if (!s)
            return -1;
        if (!strcmp(s, "lowest")) {
            st->hls_variant = HLS_LOWEST;
        } else if (!strcmp(s, "highest")) {
            st->hls_variant = HLS_HIGHEST;
        } else if (!*s) {
            return fail(ld, hv[1], "'variant': expected lowest, highest or a variant's name, got nothing");
        } else {
            st->hls_variant = HLS_NAMED;
            if (!(st->hls_variant_name = ld_strdup(ld, hv[1], s)))
                return -1;
        }
    }
    if (hv[2] && get_u32(ld, hv[2], "segments", 0, &st->hls_segments) < 0)
        return -1;
    if (v[SK_NAME]) {
        if (get_str(ld, v[SK_NAME], "name", "a name", false, false, &st->name) < 0)
            return -1;
    } else {
        size_t len = 4 + strlen(st->hls_master);
        if (!(st->name = ld_alloc(ld, n, len + 1, 1)))
            return -1;
        snprintf(st->name, len + 1, "HLS %s", st->hls_master);
    }
    if (v[SK_TAGS] && get_kvs(ld, v[SK_TAGS], "tags", false, &st->tags, &st->ntags) < 0)
        return -1;
    return 0;
}

static int parse_pick(struct ld *ld, const yaml_node_t *n, int depth, struct step *st);

/* Which step kind a mapping is: the index of its kind key (a method, think,
 * repeat, pick, hls), or -1 when it has none (an error unless allow_none). */
static int step_kind_key(struct ld *ld, const yaml_node_t *n, bool allow_none, int *kind)
{
    const yaml_node_t *first = NULL;
    *kind = -1;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        for (int i = 0; i < SK_NKINDS; i++) {
            if (strcmp(raw(k), step_keys[i].name) != 0)
                continue;
            if (*kind >= 0) {
                if (*kind < 6 && i < 6)
                    return fail(ld, k, "a step has one method: found both '%s' and '%s'", raw(first), raw(k));
                return fail(ld, k, "a step is one thing: found both '%s' and '%s' (make them two steps)",
                            raw(first), raw(k));
            }
            *kind = i;
            first = k;
        }
    }
    if (*kind < 0 && !allow_none) {
        const char *cands[SK_NKINDS];
        for (int i = 0; i < SK_NKINDS; i++)
            cands[i] = step_keys[i].name;
        const char *near = NULL;
        FOR_PAIRS(p, n) {
            yaml_node_t *k = node_at(ld, p->key);
            if (k->type == YAML_SCALAR_NODE && (near = closest(raw(k), cands, SK_NKINDS)))
                return fail(ld, k, "unknown key '%s' in a step (did you mean '%s'? a step needs one of: "
                                   STEP_KINDS_LIST ")", raw(k), near);
        }
        return fail(ld, n, "a step needs one of: " STEP_KINDS_LIST);
    }
    return 0;
}

/* A step from mapping n. in_branch: a pick branch's inline form, which may
 * also hold 'weight' (stored in *weight_node for the caller). */
static int parse_step_map(struct ld *ld, const yaml_node_t *n, int kind, int depth, bool in_branch,
                          struct step *st, yaml_node_t **weight_node)
{
    yaml_node_t *v[SK_N], *k[SK_N];
    uint32_t allowed;
    const char *where;
    switch (kind) {
    case SK_THINK:  allowed = BIT(SK_THINK); where = "in a think step"; break;
    case SK_REPEAT: allowed = BIT(SK_REPEAT) | BIT(SK_AS) | BIT(SK_STEPS); where = "in a repeat step"; break;
    case SK_PICK:   allowed = BIT(SK_PICK); where = "in a pick step"; break;
    case SK_HLS:    allowed = BIT(SK_HLS) | BIT(SK_NAME) | BIT(SK_TAGS); where = "in an hls step"; break;
    default:        allowed = BIT(kind) | REQUEST_KEYS; where = "in a request step"; break;
    }
    if (in_branch)
        allowed |= BIT(SK_WEIGHT);
    if (map_keys(ld, n, step_keys, SK_N, allowed, where, v, k) < 0)
        return -1;
    if (in_branch && kind < 6 && k[SK_STEPS])
        return fail(ld, k[SK_STEPS], "a pick branch is either a request or 'steps', not both");
    if (check_allowed(ld, step_keys, SK_N, allowed, k, where) < 0)
        return -1;
    st->pos = pos_of(n);
    if (weight_node)
        *weight_node = v[SK_WEIGHT];
    switch (kind) {
    case SK_THINK:  return parse_think(ld, v[SK_THINK], st);
    case SK_REPEAT: return parse_repeat(ld, n, v, depth, st);
    case SK_PICK:   return parse_pick(ld, v[SK_PICK], depth, st);
    case SK_HLS:    return parse_hls(ld, n, v, st);
    default:        return parse_request(ld, n, v, kind, st);
    }
}

static int parse_step(struct ld *ld, const yaml_node_t *n, int depth, struct step *st)
{
    char b1[SHOW_MAX + 8];
    int kind;
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, n, "a step must be a mapping like {get: /path} or {think: 1s}, got %s",
                    got(b1, sizeof(b1), n, NULL));
    if (step_kind_key(ld, n, false, &kind) < 0)
        return -1;
    return parse_step_map(ld, n, kind, depth, false, st, NULL);
}

static int parse_pick(struct ld *ld, const yaml_node_t *n, int depth, struct step *st)
{
    static const struct keydef branch_keys[] = {{"weight", NULL}, {"steps", NULL}};
    char b1[SHOW_MAX + 8];
    st->kind = STEP_PICK;
    if (need_list(ld, n, "pick", "a list of branches like [{weight: 60, get: /a}, {weight: 40, steps: [...]}]",
                  true) < 0)
        return -1;
    st->nbranches = nitems(n);
    st->branches = ld_alloc(ld, n, (size_t)st->nbranches, sizeof(*st->branches));
    if (!st->branches)
        return -1;
    uint64_t total = 0;
    int i = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *b = node_at(ld, *it), *weight = NULL;
        struct pick_branch *br = &st->branches[i++];
        br->pos = pos_of(b);
        if (b->type != YAML_MAPPING_NODE)
            return fail(ld, b, "a pick branch must be a mapping like {weight: 60, get: /a} or "
                               "{weight: 40, steps: [...]}, got %s", got(b1, sizeof(b1), b, NULL));
        int kind;
        if (step_kind_key(ld, b, true, &kind) < 0)
            return -1;
        if (kind >= 0) {
            if (depth + 1 > MAX_DEPTH)
                return fail(ld, b, "steps nested more than %d levels deep", MAX_DEPTH);
            br->nsteps = 1;
            if (!(br->steps = ld_alloc(ld, b, 1, sizeof(*br->steps))))
                return -1;
            if (parse_step_map(ld, b, kind, depth + 1, true, br->steps, &weight) < 0)
                return -1;
        } else {
            yaml_node_t *v[2], *k[2];
            if (map_keys(ld, b, branch_keys, 2, 3, "in a pick branch", v, k) < 0)
                return -1;
            if (!v[1])
                return fail(ld, b, "a pick branch needs a request (" STEP_KINDS_LIST ") or 'steps'");
            weight = v[0];
            if (parse_steps(ld, v[1], "steps", depth, &br->steps, &br->nsteps) < 0)
                return -1;
        }
        br->weight = 1;
        if (weight && get_u32(ld, weight, "weight", 1, &br->weight) < 0)
            return -1;
        total += br->weight;
        if (total > UINT32_MAX)
            return fail(ld, weight ? weight : b, "'weight': the branches' weights add up to more than %u",
                        UINT32_MAX);
    }
    return 0;
}

static int parse_steps(struct ld *ld, const yaml_node_t *n, const char *key, int depth,
                       struct step **out, int *nout)
{
    if (need_list(ld, n, key, "a list of steps", true) < 0)
        return -1;
    if (depth + 1 > MAX_DEPTH)
        return fail(ld, n, "steps nested more than %d levels deep", MAX_DEPTH);
    int cnt = nitems(n);
    struct step *st = ld_alloc(ld, n, (size_t)cnt, sizeof(*st));
    if (!st)
        return -1;
    int i = 0;
    FOR_ITEMS(it, n) {
        if (!spend(ld, node_at(ld, *it)) || parse_step(ld, node_at(ld, *it), depth + 1, &st[i++]) < 0)
            return -1;
    }
    *out = st;
    *nout = cnt;
    return 0;
}

/* -------------------------------------------------------------- scenarios */

enum {
    SC_EXECUTOR, SC_VUS, SC_DURATION, SC_START_VUS, SC_STAGES, SC_RATE, SC_START_RATE, SC_TIME_UNIT,
    SC_PRE_ALLOC, SC_MAX_VUS, SC_ITERATIONS, SC_MAX_DURATION, SC_START_TIME, SC_GRACEFUL_STOP,
    SC_GRACEFUL_RAMP_DOWN, SC_PACE, SC_TARGET, SC_TAGS, SC_FLOW, SC_EXEC, SC_ENV,
    SC_N
};

static const struct keydef scenario_keys[SC_N] = {
    {"executor", NULL}, {"vus", NULL}, {"duration", NULL}, {"start_vus", "startVUs"}, {"stages", NULL},
    {"rate", NULL}, {"start_rate", "startRate"}, {"time_unit", "timeUnit"},
    {"pre_allocated_vus", "preAllocatedVUs"}, {"max_vus", "maxVUs"}, {"iterations", NULL},
    {"max_duration", "maxDuration"}, {"start_time", "startTime"}, {"graceful_stop", "gracefulStop"},
    {"graceful_ramp_down", "gracefulRampDown"}, {"pace", NULL}, {"target", NULL}, {"tags", NULL},
    {"flow", NULL}, {"exec", NULL}, {"env", NULL},
};

#define SC_COMMON (BIT(SC_EXECUTOR) | BIT(SC_START_TIME) | BIT(SC_GRACEFUL_STOP) | BIT(SC_TARGET) | \
                   BIT(SC_TAGS) | BIT(SC_FLOW))

static const struct executor_def {
    const char *name;
    enum executor_kind kind;
    uint32_t keys;        /* besides SC_COMMON */
    uint32_t required;    /* besides flow */
    const char *needs;    /* for "missing" messages */
} executors[] = {
    {"constant-vus", EXEC_CONSTANT_VUS, BIT(SC_VUS) | BIT(SC_DURATION) | BIT(SC_PACE),
     BIT(SC_DURATION), "duration"},
    {"ramping-vus", EXEC_RAMPING_VUS,
     BIT(SC_START_VUS) | BIT(SC_STAGES) | BIT(SC_GRACEFUL_RAMP_DOWN) | BIT(SC_PACE),
     BIT(SC_STAGES), "stages"},
    {"constant-arrival-rate", EXEC_CONSTANT_ARRIVAL_RATE,
     BIT(SC_RATE) | BIT(SC_TIME_UNIT) | BIT(SC_DURATION) | BIT(SC_PRE_ALLOC) | BIT(SC_MAX_VUS),
     BIT(SC_RATE) | BIT(SC_DURATION) | BIT(SC_PRE_ALLOC), "rate, duration and pre_allocated_vus"},
    {"ramping-arrival-rate", EXEC_RAMPING_ARRIVAL_RATE,
     BIT(SC_START_RATE) | BIT(SC_TIME_UNIT) | BIT(SC_STAGES) | BIT(SC_PRE_ALLOC) | BIT(SC_MAX_VUS),
     BIT(SC_STAGES) | BIT(SC_PRE_ALLOC), "stages and pre_allocated_vus"},
    {"per-vu-iterations", EXEC_PER_VU_ITERATIONS,
     BIT(SC_VUS) | BIT(SC_ITERATIONS) | BIT(SC_MAX_DURATION) | BIT(SC_PACE), 0, ""},
    {"shared-iterations", EXEC_SHARED_ITERATIONS,
     BIT(SC_VUS) | BIT(SC_ITERATIONS) | BIT(SC_MAX_DURATION) | BIT(SC_PACE), 0, ""},
};
#define NEXECUTORS ((int)(sizeof(executors) / sizeof(executors[0])))
#define EXECUTORS_LIST "constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate, " \
                       "per-vu-iterations, shared-iterations"

static int parse_stages(struct ld *ld, const yaml_node_t *n, bool vus, struct scenario *sc)
{
    static const struct keydef keys[] = {{"duration", NULL}, {"target", NULL}};
    char b1[SHOW_MAX + 8];
    if (need_list(ld, n, "stages", "a list like [{duration: 30s, target: 100}]", true) < 0)
        return -1;
    sc->nstages = nitems(n);
    sc->stages = ld_alloc(ld, n, (size_t)sc->nstages, sizeof(*sc->stages));
    if (!sc->stages)
        return -1;
    int i = 0;
    int64_t total = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *s = node_at(ld, *it), *v[2], *k[2];
        struct stage *stg = &sc->stages[i++];
        stg->pos = pos_of(s);
        if (s->type != YAML_MAPPING_NODE)
            return fail(ld, s, "a stage must be a mapping like {duration: 30s, target: 100}, got %s",
                        got(b1, sizeof(b1), s, NULL));
        if (map_keys(ld, s, keys, 2, 3, "in a stage", v, k) < 0)
            return -1;
        if (!v[0] || !v[1])
            return fail(ld, s, "missing '%s' in a stage (a stage is {duration: 30s, target: %s})",
                        v[0] ? "target" : "duration", vus ? "100" : "50");
        if (get_duration(ld, v[0], "duration", false, &stg->duration_ns) < 0)
            return -1;
        if (vus) {
            uint32_t t;
            if (get_u32(ld, v[1], "target", 0, &t) < 0)
                return -1;
            stg->target = t;
        } else if (get_num(ld, v[1], "target", false, &stg->target) < 0) {
            return -1;
        }
        if (stg->duration_ns > INT64_MAX - total)
            return fail(ld, v[0], "the stages last too long in total");
        total += stg->duration_ns;
    }
    if (total <= 0)
        return fail(ld, n, "'stages': the stages last 0s in total (expected at least one stage longer than 0s)");
    return 0;
}

static int check_url(struct ld *ld, const yaml_node_t *n, const char *key, char **s)
{
    struct url u;
    char uerr[256];
    if (url_parse(*s, &u, uerr, sizeof(uerr)) < 0)
        return fail(ld, n, "'%s': %s; expected a base URL like http://127.0.0.1:8080", key, uerr);
    if (strpbrk(*s, "?#"))
        return fail(ld, n, "'%s': a base URL has no query or fragment (expected a base URL like "
                           "http://127.0.0.1:8080)", key);
    size_t len = strlen(*s);
    while (len > 0 && (*s)[len - 1] == '/')   /* url_parse saw a host: never reaches "//" */
        (*s)[--len] = '\0';
    return 0;
}

static int parse_scenario(struct ld *ld, const yaml_node_t *kn, const yaml_node_t *n, struct scenario *sc)
{
    char b1[SHOW_MAX + 8], where[SHOW_MAX + 32], list[512];
    yaml_node_t *v[SC_N], *k[SC_N];

    if (kn->type != YAML_SCALAR_NODE)
        return fail(ld, kn, "a scenario name must be text, got %s", got(b1, sizeof(b1), kn, NULL));
    const char *name = raw(kn);
    size_t nl = strlen(name);
    if (nl == 0 || nl > 128 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != nl)
        return fail(ld, kn, "scenario name %s: expected letters, digits, '_' or '-' (at most 128)",
                    got(b1, sizeof(b1), kn, NULL));
    if (!(sc->name = ld_strdup(ld, kn, name)))
        return -1;
    sc->pos = pos_of(kn);
    snprintf(where, sizeof(where), "in scenario '%s'", name);
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, n, "scenario '%s': expected a mapping of options (executor, flow, ...), got %s", name,
                    got(b1, sizeof(b1), n, NULL));

    /* The runtime slots of this scenario, before any of its scalars is read. */
    ld->nrt = 0;
    const yaml_node_t *flow = map_get(ld, n, "flow");
    if (flow && collect_runtime(ld, flow, 0) < 0)
        return -1;

    const yaml_node_t *ex = map_get(ld, n, "executor");
    if (!ex)
        return fail(ld, n, "missing 'executor' in scenario '%s' (expected one of: " EXECUTORS_LIST ")", name);
    const char *exs = text_of(ld, ex, "executor", "an executor name");
    if (!exs)
        return -1;
    const struct executor_def *ed = NULL;
    for (int i = 0; i < NEXECUTORS; i++)
        if (!strcmp(exs, executors[i].name))
            ed = &executors[i];
    if (!ed)
        return fail(ld, ex, "unknown executor %s in scenario '%s' (expected one of: " EXECUTORS_LIST ")",
                    got(b1, sizeof(b1), ex, exs), name);
    sc->executor = ed->kind;

    uint32_t allowed = SC_COMMON | ed->keys;
    if (map_keys(ld, n, scenario_keys, SC_N, allowed, where, v, k) < 0)
        return -1;
    if (k[SC_EXEC])
        return fail(ld, k[SC_EXEC], "'exec' is not needed %s: a scenario runs its own 'flow' (its list of steps)",
                    where);
    if (k[SC_ENV])
        return fail(ld, k[SC_ENV], "per-scenario 'env' is not supported %s: write ${NAME:-default} and pass -e "
                                   "NAME=value", where);
    for (int i = 0; i < SC_N; i++) {
        if (!k[i] || (allowed & BIT(i)))
            continue;
        size_t w = 0;
        list[0] = '\0';
        for (int j = 0; j < NEXECUTORS && w + 1 < sizeof(list); j++)
            if (executors[j].keys & BIT(i)) {
                int r = snprintf(list + w, sizeof(list) - w, "%s%s", w ? ", " : "", executors[j].name);
                w += r > 0 ? (size_t)r : 0;
            }
        return fail(ld, k[i], "'%s' does not apply to executor %s %s (it is an option of %s)", raw(k[i]),
                    ed->name, where, list);
    }
    for (int i = 0; i < SC_N; i++)
        if ((ed->required & BIT(i)) && !v[i])
            return fail(ld, n, "missing '%s' in scenario '%s' (%s needs %s)", scenario_keys[i].name, name,
                        ed->name, ed->needs);
    if (!v[SC_FLOW])
        return fail(ld, n, "missing 'flow' in scenario '%s' (the list of steps each iteration runs)", name);

    /* k6's defaults, then the options as given. */
    sc->graceful_stop_ns = 30 * NS_PER_S;
    switch (ed->kind) {
    case EXEC_CONSTANT_VUS:
        sc->vus = 1;
        break;
    case EXEC_RAMPING_VUS:
        sc->start_vus = 1;
        sc->graceful_ramp_down_ns = 30 * NS_PER_S;
        break;
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE:
        sc->time_unit_ns = NS_PER_S;
        break;
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        sc->vus = 1;
        sc->iterations = 1;
        sc->max_duration_ns = 600 * NS_PER_S;
        break;
    }
    if ((v[SC_VUS] && get_u32(ld, v[SC_VUS], "vus", 1, &sc->vus) < 0) ||
        (v[SC_DURATION] && get_duration(ld, v[SC_DURATION], "duration", true, &sc->duration_ns) < 0) ||
        (v[SC_START_VUS] && get_u32(ld, v[SC_START_VUS], raw(k[SC_START_VUS]), 0, &sc->start_vus) < 0) ||
        (v[SC_STAGES] && parse_stages(ld, v[SC_STAGES], ed->kind == EXEC_RAMPING_VUS, sc) < 0) ||
        (v[SC_RATE] && get_num(ld, v[SC_RATE], "rate", true, &sc->rate) < 0) ||
        (v[SC_START_RATE] && get_num(ld, v[SC_START_RATE], raw(k[SC_START_RATE]), false, &sc->start_rate) < 0) ||
        (v[SC_TIME_UNIT] && get_duration(ld, v[SC_TIME_UNIT], raw(k[SC_TIME_UNIT]), true, &sc->time_unit_ns) < 0) ||
        (v[SC_PRE_ALLOC] && get_u32(ld, v[SC_PRE_ALLOC], raw(k[SC_PRE_ALLOC]), 0, &sc->pre_allocated_vus) < 0) ||
        (v[SC_MAX_VUS] && get_u32(ld, v[SC_MAX_VUS], raw(k[SC_MAX_VUS]), 0, &sc->max_vus) < 0) ||
        (v[SC_ITERATIONS] && get_u64(ld, v[SC_ITERATIONS], "iterations", 1, UINT64_MAX, &sc->iterations) < 0) ||
        (v[SC_MAX_DURATION] &&
         get_duration(ld, v[SC_MAX_DURATION], raw(k[SC_MAX_DURATION]), true, &sc->max_duration_ns) < 0) ||
        (v[SC_START_TIME] &&
         get_duration(ld, v[SC_START_TIME], raw(k[SC_START_TIME]), false, &sc->start_time_ns) < 0) ||
        (v[SC_GRACEFUL_STOP] &&
         get_duration(ld, v[SC_GRACEFUL_STOP], raw(k[SC_GRACEFUL_STOP]), false, &sc->graceful_stop_ns) < 0) ||
        (v[SC_GRACEFUL_RAMP_DOWN] && get_duration(ld, v[SC_GRACEFUL_RAMP_DOWN], raw(k[SC_GRACEFUL_RAMP_DOWN]),
                                                  false, &sc->graceful_ramp_down_ns) < 0) ||
        (v[SC_PACE] && get_duration(ld, v[SC_PACE], "pace", false, &sc->pace_ns) < 0))
        return -1;

    /* k6's cross-checks. */
    if (ed->kind == EXEC_CONSTANT_ARRIVAL_RATE || ed->kind == EXEC_RAMPING_ARRIVAL_RATE) {
        if (!v[SC_MAX_VUS])
            sc->max_vus = sc->pre_allocated_vus;
        if (sc->max_vus < sc->pre_allocated_vus)
            return fail(ld, v[SC_MAX_VUS], "'%s' (%u) can't be less than '%s' (%u) in scenario '%s'",
                        raw(k[SC_MAX_VUS]), sc->max_vus, raw(k[SC_PRE_ALLOC]), sc->pre_allocated_vus, name);
        if (sc->max_vus == 0)
            return fail(ld, v[SC_PRE_ALLOC], "scenario '%s' has no VU to run iterations "
                                             "(expected pre_allocated_vus or max_vus above 0)", name);
    }
    if (ed->kind == EXEC_RAMPING_VUS && sc->start_vus == 0) {
        bool any = false;
        for (int i = 0; i < sc->nstages; i++)
            any |= sc->stages[i].target > 0;
        if (!any)
            return fail(ld, v[SC_STAGES], "scenario '%s' never runs a VU (expected start_vus or a stage's "
                                          "target above 0)", name);
    }
    if (ed->kind == EXEC_RAMPING_ARRIVAL_RATE && sc->start_rate == 0) {
        bool any = false;
        for (int i = 0; i < sc->nstages; i++)
            any |= sc->stages[i].target > 0;
        if (!any)
            return fail(ld, v[SC_STAGES], "scenario '%s' never starts an iteration (expected start_rate or a "
                                          "stage's target above 0)", name);
    }
    if (ed->kind == EXEC_SHARED_ITERATIONS && sc->iterations < sc->vus)
        return fail(ld, v[SC_ITERATIONS] ? v[SC_ITERATIONS] : v[SC_VUS],
                    "scenario '%s': the number of iterations (%llu) can't be less than the number of VUs (%u)",
                    name, (unsigned long long)sc->iterations, sc->vus);

    if (v[SC_TARGET]) {
        if (get_str(ld, v[SC_TARGET], "target", "a base URL like http://127.0.0.1:8080", false, false,
                    &sc->target) < 0 ||
            check_url(ld, v[SC_TARGET], "target", &sc->target) < 0)
            return -1;
    }
    if (v[SC_TAGS] && get_kvs(ld, v[SC_TAGS], "tags", false, &sc->tags, &sc->ntags) < 0)
        return -1;
    return parse_steps(ld, v[SC_FLOW], "flow", 0, &sc->flow, &sc->nflow);
}

/* ------------------------------------------------------------- thresholds */

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* "name" or "name{tag:value,...}": a known metric, a well-formed filter. */
static int check_metric(struct ld *ld, const yaml_node_t *kn, const char *s)
{
    char b1[SHOW_MAX + 8], b2[SHOW_MAX + 8], name[64];
    const char *brace = strchr(s, '{');
    size_t nl = brace ? (size_t)(brace - s) : strlen(s);
    const char *ns = s;
    trim(&ns, &nl);
    if (nl == 0 || nl >= sizeof(name) || !is_ident(ns, nl))
        return fail(ld, kn, "threshold metric '%s': expected a metric name like http_req_duration, "
                            "optionally with a tag filter like {scenario:browse}", show(b1, sizeof(b1), s));
    memcpy(name, ns, nl);
    name[nl] = '\0';
    enum metric_type type;
    if (metric_type_of(name, &type) != 0) {
        /* threshold.c owns the list of metrics (and their types). */
        const char *near = metric_suggest(name);
        char list[512];
        size_t w = 0;
        const char *m;
        for (int i = 0; (m = metric_name_at(i)) && w < sizeof list; i++) {
            int r = snprintf(list + w, sizeof(list) - w, "%s%s", i ? ", " : "", m);
            w += r > 0 ? (size_t)r : 0;
        }
        if (near)
            return fail(ld, kn, "unknown metric '%s' (did you mean '%s'?)", show(b1, sizeof(b1), name), near);
        return fail(ld, kn, "unknown metric '%s' (expected one of: %s; custom metrics are not supported yet)",
                    show(b1, sizeof(b1), name), list);
    }
    if (!brace) {
        if (strchr(s, '}'))
            return fail(ld, kn, "threshold metric '%s': '}' without '{' (expected a filter like "
                                "name{scenario:browse})", show(b1, sizeof(b1), s));
        return 0;
    }
    const char *close = strrchr(s, '}');
    const char *after = close ? close + 1 : NULL;
    while (after && (*after == ' ' || *after == '\t'))
        after++;
    if (!close || close < brace || *after)
        return fail(ld, kn, "threshold metric '%s': the tag filter must end with '}' (expected a filter like "
                            "%s{scenario:browse})", show(b1, sizeof(b1), s), name);
    const char *p = brace + 1;
    if (p == close)
        return fail(ld, kn, "threshold metric '%s': an empty tag filter '{}' (expected {tag:value})",
                    show(b1, sizeof(b1), s));
    while (p < close) {
        const char *comma = memchr(p, ',', (size_t)(close - p));
        const char *end = comma ? comma : close;
        const char *f = p;
        size_t fl = (size_t)(end - p);
        trim(&f, &fl);
        const char *colon = memchr(f, ':', fl);
        char part[SHOW_MAX + 4];
        snprintf(part, sizeof(part), "%.*s", (int)(fl > SHOW_MAX ? SHOW_MAX : fl), f);
        if (!colon)
            return fail(ld, kn, "threshold metric '%s': tag filter '%s' has no ':' (expected tag:value, like "
                                "scenario:browse)", show(b1, sizeof(b1), s), show(b2, sizeof(b2), part));
        const char *tk = f, *tv = colon + 1;
        size_t kl = (size_t)(colon - f), vl = (size_t)(f + fl - tv);
        trim(&tk, &kl);
        trim(&tv, &vl);
        if (vl >= 2 && (tv[0] == '"' || tv[0] == '\'') && tv[vl - 1] == tv[0])
            tv++, vl -= 2;
        if (kl == 0 || vl == 0)
            return fail(ld, kn, "threshold metric '%s': tag filter '%s' needs a %s (expected tag:value, like "
                                "scenario:browse)", show(b1, sizeof(b1), s), show(b2, sizeof(b2), part),
                        kl == 0 ? "tag name" : "value");
        p = comma ? comma + 1 : close;
        if (comma && p == close)
            return fail(ld, kn, "threshold metric '%s': a trailing ',' in the tag filter",
                        show(b1, sizeof(b1), s));
    }
    return 0;
}

static int parse_threshold_item(struct ld *ld, const yaml_node_t *n, struct threshold_spec *t)
{
    static const struct keydef keys[] = {
        {"threshold", NULL}, {"abort_on_fail", "abortOnFail"}, {"delay_abort_eval", "delayAbortEval"},
    };
    yaml_node_t *v[3], *k[3];
    char b1[SHOW_MAX + 8];
    t->pos = pos_of(n);
    if (n->type == YAML_SCALAR_NODE)
        return get_str(ld, n, "thresholds", "an expression like \"p(95)<500\"", false, false, &t->expr);
    if (n->type != YAML_MAPPING_NODE)
        return fail(ld, n, "a threshold must be an expression like \"p(95)<500\" or a mapping like "
                           "{threshold: \"p(95)<500\", abort_on_fail: true}, got %s", got(b1, sizeof(b1), n, NULL));
    if (map_keys(ld, n, keys, 3, 7, "in a threshold", v, k) < 0)
        return -1;
    if (!v[0])
        return fail(ld, n, "missing 'threshold' (the expression, like \"p(95)<500\")");
    if (get_str(ld, v[0], "threshold", "an expression like \"p(95)<500\"", false, false, &t->expr) < 0 ||
        (v[1] && get_bool(ld, v[1], raw(k[1]), &t->abort_on_fail) < 0) ||
        (v[2] && get_duration(ld, v[2], raw(k[2]), false, &t->delay_abort_eval_ns) < 0))
        return -1;
    return 0;
}

static int parse_thresholds(struct ld *ld, const yaml_node_t *n)
{
    struct scenario_file *sf = ld->sf;
    if (need_map(ld, n, "thresholds", "a mapping like {http_req_duration: [\"p(95)<500\"]}") < 0)
        return -1;
    int total = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *v = node_at(ld, p->value);
        total += v->type == YAML_SEQUENCE_NODE ? nitems(v) : 1;
    }
    sf->thresholds = ld_alloc(ld, n, (size_t)total, sizeof(*sf->thresholds));
    if (!sf->thresholds)
        return -1;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        char *metric;
        if (get_str(ld, k, "thresholds", "a metric name", false, false, &metric) < 0 ||
            check_metric(ld, k, metric) < 0)
            return -1;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(raw(node_at(ld, q->key)), raw(k)))
                return fail(ld, k, "duplicate threshold metric '%s' (first at line %d)", metric,
                            pos_of(node_at(ld, q->key)).line);
        if (need_list(ld, v, metric, "a list of expressions like [\"p(95)<500\"]", true) < 0)
            return -1;
        FOR_ITEMS(it, v) {
            struct threshold_spec *t = &sf->thresholds[sf->nthresholds++];
            t->metric = metric;
            if (parse_threshold_item(ld, node_at(ld, *it), t) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_trend_stats(struct ld *ld, const yaml_node_t *n, const char *key)
{
    struct scenario_file *sf = ld->sf;
    char b1[SHOW_MAX + 8];
    if (need_list(ld, n, key, "a list like [avg, min, med, max, p(90), p(95)]", true) < 0)
        return -1;
    sf->nsummary_trend_stats = nitems(n);
    sf->summary_trend_stats = ld_alloc(ld, n, (size_t)sf->nsummary_trend_stats, sizeof(char *));
    if (!sf->summary_trend_stats)
        return -1;
    int i = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *s = node_at(ld, *it);
        char *stat;
        if (get_str(ld, s, key, "a statistic", false, false, &stat) < 0)
            return -1;
        bool ok = !strcmp(stat, "avg") || !strcmp(stat, "min") || !strcmp(stat, "med") ||
                  !strcmp(stat, "max") || !strcmp(stat, "count");
        size_t len = strlen(stat);
        if (!ok && len > 3 && !strncmp(stat, "p(", 2) && stat[len - 1] == ')') {
            char num[32];
            if (len - 3 < sizeof(num)) {
                memcpy(num, stat + 2, len - 3);
                num[len - 3] = '\0';
                char *end;
                double d = strtod(num, &end);
                ok = *end == '\0' && num[0] >= '0' && num[0] <= '9' && d >= 0 && d <= 100;
            }
        }
        if (!ok)
            return fail(ld, s, "'%s': expected avg, min, med, max, count or p(N) with N in 0..100, got %s", key,
                        got(b1, sizeof(b1), s, stat));
        sf->summary_trend_stats[i++] = stat;
    }
    return 0;
}

/* ---------------------------------------------------------------- top level */

enum { TK_TARGET, TK_DEFAULTS, TK_THRESHOLDS, TK_TREND_STATS, TK_SCENARIOS, TK_TLS, TK_N };
static const struct keydef top_keys[TK_N] = {
    {"target", NULL}, {"defaults", NULL}, {"thresholds", NULL}, {"summary_trend_stats", "summaryTrendStats"},
    {"scenarios", NULL}, {"tls", NULL},
};

/* "1.2", "1.3" (or tls1.2, TLSv1.3) → 12, 13. */
static int get_tls_version(struct ld *ld, const yaml_node_t *n, const char *key, int *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = text_of(ld, n, key, "1.2 or 1.3");
    if (!s)
        return -1;
    const char *v = s;
    if (!strncasecmp(v, "tlsv", 4))
        v += 4;
    else if (!strncasecmp(v, "tls", 3))
        v += 3;
    if (!strcmp(v, "1.2"))
        *out = 12;
    else if (!strcmp(v, "1.3"))
        *out = 13;
    else
        return fail(ld, n, "'%s': expected 1.2 or 1.3 (blaster speaks TLS 1.2 and 1.3 only), got %s", key,
                    got(b1, sizeof(b1), n, s));
    return 0;
}

static int parse_tls(struct ld *ld, const yaml_node_t *n)
{
    enum { K_INSECURE, K_CACERT, K_CERT, K_KEY, K_MIN, K_MAX, K_RESUME, K_SNI, K_N };
    static const struct keydef keys[K_N] = {
        {"insecure", "insecureSkipTLSVerify"}, {"cacert", NULL}, {"cert", NULL}, {"key", NULL},
        {"min_version", NULL}, {"max_version", NULL}, {"resume", NULL}, {"server_name", NULL},
    };
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[K_N], *k[K_N];
    if (need_map(ld, n, "tls", "a mapping like {cacert: ca.pem, min_version: 1.2}") < 0 ||
        map_keys(ld, n, keys, K_N, BIT(K_N) - 1, "in 'tls'", v, k) < 0)
        return -1;
    sf->tls.pos = pos_of(n);
    if ((v[K_INSECURE] && get_bool(ld, v[K_INSECURE], raw(k[K_INSECURE]), &sf->tls.insecure) < 0) ||
        (v[K_RESUME] && get_bool(ld, v[K_RESUME], "resume", &sf->tls.resume) < 0) ||
        (v[K_CACERT] && get_str(ld, v[K_CACERT], "cacert", "a PEM file", false, false, &sf->tls.cacert) < 0) ||
        (v[K_CERT] && get_str(ld, v[K_CERT], "cert", "a PEM file", false, false, &sf->tls.cert) < 0) ||
        (v[K_KEY] && get_str(ld, v[K_KEY], "key", "a PEM file", false, false, &sf->tls.key) < 0) ||
        (v[K_SNI] && get_str(ld, v[K_SNI], "server_name", "a host name", false, false, &sf->tls.server_name) < 0) ||
        (v[K_MIN] && get_tls_version(ld, v[K_MIN], "min_version", &sf->tls.min_version) < 0) ||
        (v[K_MAX] && get_tls_version(ld, v[K_MAX], "max_version", &sf->tls.max_version) < 0))
        return -1;
    if (!v[K_CERT] != !v[K_KEY])
        return fail(ld, v[K_CERT] ? k[K_CERT] : k[K_KEY], "'tls': a client certificate needs both 'cert' and 'key'");
    if (sf->tls.min_version && sf->tls.max_version && sf->tls.min_version > sf->tls.max_version)
        return fail(ld, v[K_MIN], "'tls': min_version 1.%d is above max_version 1.%d", sf->tls.min_version % 10,
                    sf->tls.max_version % 10);
    return 0;
}

static int parse_defaults(struct ld *ld, const yaml_node_t *n)
{
    static const struct keydef keys[] = {
        {"headers", NULL}, {"timeout", NULL}, {"discard_bodies", "discardResponseBodies"}, {"tags", NULL},
    };
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[4], *k[4];
    if (need_map(ld, n, "defaults", "a mapping like {timeout: 60s, headers: {...}}") < 0 ||
        map_keys(ld, n, keys, 4, 15, "in 'defaults'", v, k) < 0)
        return -1;
    if ((v[0] && get_kvs(ld, v[0], "headers", true, &sf->defaults.headers, &sf->defaults.nheaders) < 0) ||
        (v[1] && get_duration(ld, v[1], "timeout", true, &sf->defaults.timeout_ns) < 0) ||
        (v[2] && get_bool(ld, v[2], raw(k[2]), &sf->defaults.discard_bodies) < 0) ||
        (v[3] && get_kvs(ld, v[3], "tags", false, &sf->defaults.tags, &sf->defaults.ntags) < 0))
        return -1;
    return 0;
}

static int parse_file(struct ld *ld, const yaml_node_t *root)
{
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[TK_N], *k[TK_N];
    char b1[SHOW_MAX + 8];
    if (root->type != YAML_MAPPING_NODE)
        return fail(ld, root, "expected a mapping with 'target' and 'scenarios' at the top level, got %s",
                    got(b1, sizeof(b1), root, NULL));
    if (map_keys(ld, root, top_keys, TK_N, BIT(TK_N) - 1, "at the top level", v, k) < 0)
        return -1;
    if (!v[TK_TARGET])
        return fail(ld, root, "missing 'target' (the base URL, like target: http://127.0.0.1:8080)");
    if (!v[TK_SCENARIOS])
        return fail(ld, root, "missing 'scenarios' (expected at least one scenario, like "
                              "scenarios: {browse: {executor: constant-vus, duration: 1m, flow: [...]}})");
    sf->defaults.timeout_ns = 60 * NS_PER_S;
    sf->defaults.discard_bodies = true;
    sf->tls.resume = true;

    /* Outside a scenario, the slots of every scenario are runtime slots. */
    if (collect_runtime(ld, v[TK_SCENARIOS], 0) < 0)
        return -1;
    if (get_str(ld, v[TK_TARGET], "target", "a base URL like http://127.0.0.1:8080", false, false,
                &sf->target) < 0 ||
        check_url(ld, v[TK_TARGET], "target", &sf->target) < 0)
        return -1;
    if (v[TK_DEFAULTS] && parse_defaults(ld, v[TK_DEFAULTS]) < 0)
        return -1;
    if (v[TK_TLS] && parse_tls(ld, v[TK_TLS]) < 0)
        return -1;
    if (v[TK_THRESHOLDS] && parse_thresholds(ld, v[TK_THRESHOLDS]) < 0)
        return -1;
    if (v[TK_TREND_STATS] && parse_trend_stats(ld, v[TK_TREND_STATS], raw(k[TK_TREND_STATS])) < 0)
        return -1;

    const yaml_node_t *scs = v[TK_SCENARIOS];
    if (need_map(ld, scs, "scenarios", "a mapping of scenario names to scenarios") < 0)
        return -1;
    if (npairs(scs) == 0)
        return fail(ld, scs, "'scenarios' is empty (expected at least one scenario)");
    sf->scenarios = ld_alloc(ld, scs, (size_t)npairs(scs), sizeof(*sf->scenarios));
    if (!sf->scenarios)
        return -1;
    FOR_PAIRS(p, scs) {
        yaml_node_t *kn = node_at(ld, p->key);
        for (int i = 0; i < sf->nscenarios; i++)
            if (kn->type == YAML_SCALAR_NODE && !strcmp(sf->scenarios[i].name, raw(kn)))
                return fail(ld, kn, "duplicate scenario '%s' (first at line %d)", raw(kn),
                            sf->scenarios[i].pos.line);
        if (parse_scenario(ld, kn, node_at(ld, p->value), &sf->scenarios[sf->nscenarios++]) < 0)
            return -1;
    }
    return 0;
}

/* A libyaml error: its problem text at its position. */
static int yaml_fail(struct ld *ld, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_MEMORY_ERROR)
        return fail_mark(ld, m, "out of memory while parsing YAML");
    if (p->error == YAML_READER_ERROR) {
        /* A reader error has a byte offset, not a mark. */
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && i < ld->srclen; i++) {
            if (ld->src[i] == '\n') {
                m.line++;
                m.column = 0;
            } else if (((unsigned char)ld->src[i] & 0xC0) != 0x80) {
                m.column++;
            }
        }
        if (p->problem_value != -1)
            return fail_mark(ld, m, "YAML: %s (byte 0x%02X)", p->problem ? p->problem : "unreadable input",
                             (unsigned)p->problem_value & 0xFF);
        return fail_mark(ld, m, "YAML: %s", p->problem ? p->problem : "unreadable input");
    }
    if (p->context)
        return fail_mark(ld, m, "YAML syntax error: %s (%s that starts at line %zu, column %zu)",
                         p->problem ? p->problem : "invalid YAML", p->context, p->context_mark.line + 1,
                         p->context_mark.column + 1);
    return fail_mark(ld, m, "YAML syntax error: %s", p->problem ? p->problem : "invalid YAML");
}

int scenario_load_string(const char *name, const char *yaml, size_t len,
                         const char *const *env, int nenv,
                         struct scenario_file *out, char *err, size_t errlen)
{
    struct ld ld = {
        .name = name ? name : "<string>", .src = yaml ? yaml : "", .srclen = yaml ? len : 0,
        .env = env, .nenv = env ? nenv : 0, .err = err, .errlen = errlen, .budget = NODE_BUDGET,
    };
    yaml_parser_t parser;
    bool have_parser = false, have_doc = false;
    memset(out, 0, sizeof(*out));
    if (errlen > 0)
        err[0] = '\0';
    ld.sf = out;
    ld.ar = calloc(1, sizeof(*ld.ar));
    if (!ld.ar) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        return -1;
    }
    if (!(out->path = arena_alloc(ld.ar, strlen(ld.name) + 1))) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        goto done;
    }
    strcpy(out->path, ld.name);

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        ld.failed = true;
        goto done;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld.src, ld.srclen);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        yaml_fail(&ld, &parser);
        goto done;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
    if (!root) {
        fail_mark(&ld, (yaml_mark_t){0, 0, 0},
                  "the file is empty (expected a mapping with 'target' and 'scenarios')");
        goto done;
    }
    {
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            yaml_fail(&ld, &parser);
            goto done;
        }
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2)
            fail_mark(&ld, next.start_mark, "a second YAML document (a scenario file holds one; remove the "
                                            "'---' line)");
        yaml_document_delete(&next);
        if (ld.failed)
            goto done;
    }
    parse_file(&ld, root);

done:
    if (have_doc)
        yaml_document_delete(&ld.doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    free(ld.sub.p);
    free(ld.js.p);
    free(ld.rt);
    if (ld.failed || !out->path) {
        arena_destroy(ld.ar);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->arena_ = ld.ar;
    return 0;
}

int scenario_load(const char *path, const char *const *env, int nenv,
                  struct scenario_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap > FILE_MAX) {
                snprintf(err, errlen, "%s: cannot read: larger than %u MiB", path, FILE_MAX >> 20);
                free(buf);
                fclose(f);
                return -1;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > FILE_MAX + 1)
                ncap = FILE_MAX + 1;
            char *p = realloc(buf, ncap);
            if (!p) {
                snprintf(err, errlen, "%s: cannot read: out of memory", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    int rc = scenario_load_string(path, buf ? buf : "", len, env, nenv, out, err, errlen);
    free(buf);
    return rc;
}

void scenario_free(struct scenario_file *sf)
{
    if (!sf)
        return;
    arena_destroy(sf->arena_);
    memset(sf, 0, sizeof(*sf));
}
