/* template — the builder and the parsing of template text into its parts: literal text,
 * ${vu} and ${iter}, loop variables, captures and ${one_of:...} lists, checked against
 * where the text goes (path, header value, body) and the scope, with errors that name the
 * column. Cutting the parts into pieces is template.c's.
 */
#include "blaster/compile/template_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *template_array_grow(void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return p;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(p, (size_t)ncap * elem);
    if (np)
        *cap = ncap;
    return np;
}

bool template_buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->n + n)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np)
            return false;
        b->p = np;
        b->cap = ncap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return true;
}

void template_builder_init(struct builder *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < TEMPLATE_MAX_LOOPS; i++)
        b->loopvar[i] = -1;
}

void template_builder_free(struct builder *b)
{
    free(b->parts);
    free(b->lit.p);
    free(b->valtext.p);
    free(b->valoff);
    free(b->vallen);
    free(b->vars);
    memset(b, 0, sizeof *b);
}

struct part *template_add_part(struct builder *b, uint8_t kind, uint16_t arg)
{
    struct part *np = template_array_grow(b->parts, &b->capparts, b->nparts + 1, sizeof *b->parts);
    if (!np) {
        b->oom = true;
        return NULL;
    }
    b->parts = np;
    struct part *p = &b->parts[b->nparts++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->arg = arg;
    return p;
}

void template_add_lit(struct builder *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (n > UINT32_MAX || b->lit.n + n > UINT32_MAX || !template_buf_add(&b->lit, p, n)) {
        b->oom = true;
        return;
    }
    struct part *last = b->nparts ? &b->parts[b->nparts - 1] : NULL;
    if (last && last->kind == R_LIT) {   /* parts append to lit in order: the last literal ends here */
        last->len += (uint32_t)n;
        return;
    }
    struct part *q = template_add_part(b, R_LIT, 0);
    if (q) {
        q->off = (uint32_t)(b->lit.n - n);
        q->len = (uint32_t)n;
    }
}

void template_add_str(struct builder *b, const char *s)
{
    template_add_lit(b, s, strlen(s));
}

static bool add_value(struct builder *b, struct template_var_ *v, const char *p, size_t n)
{
    uint32_t cap = b->capvals;
    if (b->nvals + 1 > cap) {
        cap = cap ? cap * 2 : 64;
        uint32_t *o = realloc(b->valoff, cap * sizeof *o);
        if (o)
            b->valoff = o;
        uint32_t *l = realloc(b->vallen, cap * sizeof *l);
        if (l)
            b->vallen = l;
        if (!o || !l)
            return false;
        b->capvals = cap;
    }
    if (b->valtext.n + n > UINT32_MAX || !template_buf_add(&b->valtext, p, n))
        return false;
    b->valoff[b->nvals] = (uint32_t)(b->valtext.n - n);
    b->vallen[b->nvals] = (uint32_t)n;
    b->nvals++;
    if (n > v->maxlen)
        v->maxlen = (uint32_t)n;
    return true;
}

static int new_var(struct builder *b, uint8_t kind)
{
    struct template_var_ *nv = template_array_grow(b->vars, &b->capvars, b->nvars + 1, sizeof *b->vars);
    if (!nv) {
        b->oom = true;
        return -1;
    }
    b->vars = nv;
    struct template_var_ *v = &b->vars[b->nvars];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->tab = UINT32_MAX;
    v->val0 = b->nvals;
    return b->nvars++;
}

/* The variable of loop slot k (one per slot, shared by every occurrence). */
static int loop_var(struct builder *b, int k, const struct template_loopvar *lv)
{
    if (b->loopvar[k] >= 0)
        return b->loopvar[k];
    int vi = new_var(b, V_LOOP);
    if (vi < 0)
        return -1;
    struct template_var_ *v = &b->vars[vi];
    v->slot = (uint8_t)k;
    v->first = lv->first;
    v->count = lv->count;
    v->finite = lv->count <= TEMPLATE_LOOP_FINITE_MAX;
    if (v->finite) {
        for (uint32_t i = 0; i < lv->count; i++) {
            char num[24];
            int n = snprintf(num, sizeof num, "%llu", (unsigned long long)lv->first + i);
            if (!add_value(b, &b->vars[vi], num, (size_t)n)) {
                b->oom = true;
                return -1;
            }
        }
    }
    b->loopvar[k] = vi;
    return vi;
}

/* ---- parsing ---- */

void template_fail(char *err, size_t errlen, const char *prefix, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    int n = snprintf(err, errlen, "%s", prefix ? prefix : "");
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Is byte c allowed in literal text of this context? */
static bool ctx_ok(enum ctx ctx, unsigned char c)
{
    switch (ctx) {
    case CTX_PATH:   return c > 0x20 && c != 0x7f;
    case CTX_HEADER: return c != '\r' && c != '\n';
    default:         return true;
    }
}

static bool ctx_check(enum ctx ctx, const char *text, size_t from, size_t to,
                      char *err, size_t errlen, const char *prefix)
{
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)text[i];
        if (ctx_ok(ctx, c))
            continue;
        if (ctx == CTX_PATH && c == ' ')
            template_fail(err, errlen, prefix, "space at column %zu (a path holds no spaces: encode them as %%20)", i + 1);
        else if (ctx == CTX_PATH)
            template_fail(err, errlen, prefix, "control character 0x%02x at column %zu (not allowed in a path)", c, i + 1);
        else
            template_fail(err, errlen, prefix, "%s at column %zu (a header value is one line)", c == '\r' ? "CR" : "LF", i + 1);
        return false;
    }
    return true;
}

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static void known_names(char *out, size_t cap, const struct template_scope *sc)
{
    size_t n = (size_t)snprintf(out, cap, "vu, iter");
    for (int i = 0; sc && i < sc->nloops && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ", %s", sc->loops[i].name);
    for (int i = 0; sc && i < sc->ncaptures && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ", %s", sc->captures[i]);
}

static bool parse_one_of(struct builder *b, const char *text, size_t col, size_t from, size_t to,
                         enum ctx ctx, char *err, size_t errlen, const char *prefix)
{
    if (b->none_of >= TEMPLATE_MAX_ONE_OF) {
        template_fail(err, errlen, prefix, "too many one_of at column %zu (at most %d in one template)", col, TEMPLATE_MAX_ONE_OF);
        return false;
    }
    if (from == to) {
        template_fail(err, errlen, prefix, "one_of at column %zu has no items (expected ${one_of:a,b,c})", col);
        return false;
    }
    int vi = new_var(b, V_ONE_OF);
    if (vi < 0)
        return false;
    b->vars[vi].finite = true;
    b->none_of++;
    int item = 1;
    for (size_t s = from;; item++) {
        size_t e = s;
        while (e < to && text[e] != ',')
            e++;
        if (e == s) {
            template_fail(err, errlen, prefix, "one_of at column %zu: item %d is empty (expected ${one_of:a,b,c})", col, item);
            return false;
        }
        for (size_t i = s; i + 1 < e; i++) {
            if (text[i] == '$' && text[i + 1] == '{') {
                template_fail(err, errlen, prefix, "one_of at column %zu: item %d holds '${' (items are plain text)", col, item);
                return false;
            }
        }
        if (!ctx_check(ctx, text, s, e, err, errlen, prefix))
            return false;
        if (!add_value(b, &b->vars[vi], text + s, e - s)) {
            b->oom = true;
            template_fail(err, errlen, prefix, "out of memory");
            return false;
        }
        b->vars[vi].count++;
        if (e == to)
            break;
        s = e + 1;
    }
    template_add_part(b, R_VAR, (uint16_t)vi);
    return !b->oom;
}

/* Resolve the inside of ${...} (text[from, to)); col is the '$' column. */
static bool parse_slot(struct builder *b, const char *text, size_t col, size_t from, size_t to,
                       const struct template_scope *sc, enum ctx ctx,
                       char *err, size_t errlen, const char *prefix)
{
    size_t len = to - from;
    const char *s = text + from;
    if (len == 0) {
        template_fail(err, errlen, prefix, "empty '${}' at column %zu (expected a variable name)", col);
        return false;
    }
    if (len >= 7 && memcmp(s, "one_of:", 7) == 0)
        return parse_one_of(b, text, col, from + 7, to, ctx, err, errlen, prefix);
    for (size_t i = 0; i < len; i++) {
        if (name_char(s[i], i == 0))
            continue;
        if (s[i] == ':' && i + 1 < len && s[i + 1] == '-') {
            /* ${NAME:-default} left over: the loader knew no such NAME either */
            char known[256];
            known_names(known, sizeof known, sc);
            template_fail(err, errlen, prefix, "unknown variable '%.*s' at column %zu (known here: %s)",
                 (int)i, s, col, known);
        } else if (s[i] == ':') {
            template_fail(err, errlen, prefix, "unknown function '%.*s' at column %zu (expected ${one_of:a,b,c})",
                 (int)i, s, col);
        } else {
            template_fail(err, errlen, prefix, "invalid variable name '%.*s' at column %zu (expected letters, digits and '_')",
                 (int)len, s, col);
        }
        return false;
    }
    if (len == 6 && memcmp(s, "one_of", 6) == 0) {
        template_fail(err, errlen, prefix, "one_of at column %zu has no items (expected ${one_of:a,b,c})", col);
        return false;
    }
    if (len == 2 && memcmp(s, "vu", 2) == 0)
        return template_add_part(b, R_VU, 0) != NULL;
    if (len == 4 && memcmp(s, "iter", 4) == 0)
        return template_add_part(b, R_ITER, 0) != NULL;
    for (int k = sc ? sc->nloops - 1 : -1; k >= 0; k--) {
        const struct template_loopvar *lv = &sc->loops[k];
        if (strlen(lv->name) != len || memcmp(lv->name, s, len) != 0)
            continue;
        if (k >= TEMPLATE_MAX_LOOPS || lv->count == 0) {
            template_fail(err, errlen, prefix, "loop variable '%s' at column %zu is nested too deep (at most %d loops)",
                 lv->name, col, TEMPLATE_MAX_LOOPS);
            return false;
        }
        int vi = loop_var(b, k, lv);
        if (vi < 0)
            return false;
        return template_add_part(b, b->vars[vi].finite ? R_VAR : R_LOOPNUM, (uint16_t)vi) != NULL;
    }
    for (int k = 0; sc && k < sc->ncaptures; k++) {
        if (strlen(sc->captures[k]) != len || memcmp(sc->captures[k], s, len) != 0)
            continue;
        if (k >= TEMPLATE_MAX_CAPTURES) {
            template_fail(err, errlen, prefix, "capture '%s' at column %zu is one too many (at most %d per iteration)",
                 sc->captures[k], col, TEMPLATE_MAX_CAPTURES);
            return false;
        }
        return template_add_part(b, R_CAPTURE, (uint16_t)k) != NULL;
    }
    char known[256];
    known_names(known, sizeof known, sc);
    template_fail(err, errlen, prefix, "unknown variable '%.*s' at column %zu (known here: %s)", (int)len, s, col, known);
    return false;
}

bool template_parse(struct builder *b, const char *text, const struct template_scope *sc, enum ctx ctx,
                  char *err, size_t errlen, const char *prefix)
{
    size_t i = 0, lit = 0;   /* text[lit, i) is pending literal text */
    for (;;) {
        const char *d = strchr(text + i, '$');
        if (!d)
            break;
        i = (size_t)(d - text);
        if (text[i + 1] == '$' && text[i + 2] == '{') {          /* $${: a literal ${ */
            if (!ctx_check(ctx, text, lit, i, err, errlen, prefix))
                return false;
            template_add_lit(b, text + lit, i - lit);
            template_add_lit(b, "${", 2);
            i += 3;
            lit = i;
            continue;
        }
        if (text[i + 1] != '{') {
            i++;
            continue;
        }
        const char *close = strchr(text + i + 2, '}');
        if (!close) {
            template_fail(err, errlen, prefix, "unterminated '${' at column %zu (expected '}')", i + 1);
            return false;
        }
        if (!ctx_check(ctx, text, lit, i, err, errlen, prefix))
            return false;
        template_add_lit(b, text + lit, i - lit);
        size_t end = (size_t)(close - text);
        if (!parse_slot(b, text, i + 1, i + 2, end, sc, ctx, err, errlen, prefix))
            return false;
        i = end + 1;
        lit = i;
    }
    size_t n = strlen(text + lit);
    if (!ctx_check(ctx, text, lit, lit + n, err, errlen, prefix))
        return false;
    template_add_lit(b, text + lit, n);
    if (b->oom) {
        template_fail(err, errlen, prefix, "out of memory");
        return false;
    }
    return true;
}
