/* template — see template.h.
 *
 * Compilation goes through a builder: parsing appends parts (literal text,
 * finite variables, runtime slots) to it, and finishing cuts the parts into
 * pieces, pre-rendering what is finite. A request head is one builder fed
 * with the request line, the path, every header and the framing, so its
 * literal text and finite slots merge across header boundaries. */
#include "blaster/template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum piece_kind {
    P_LIT,      /* spans_[tab] */
    P_VARIANT,  /* spans_[tab + sum(vidx[var] * stride)] */
    P_SPLICE,   /* spans_[tab + vidx[arg]]: a finite variable's value text */
    P_VU,
    P_ITER,
    P_LOOPNUM,  /* vals->loop[vars_[arg].slot], formatted */
    P_CAPTURE,  /* vals->capture[arg] */
    P_CLEN,     /* the body length of a request, formatted */
};

struct template_piece_ {
    uint8_t  kind;
    uint8_t  nvars;    /* P_VARIANT: (var, stride) pairs at strides_[2 * strides] */
    uint16_t arg;
    uint32_t tab;
    uint32_t strides;
};

enum var_kind { V_LOOP, V_ONE_OF };

struct template_var_ {
    uint8_t  kind;
    uint8_t  slot;     /* V_LOOP: index in vals->loop */
    bool     finite;   /* V_LOOP: count <= TEMPLATE_LOOP_FINITE_MAX; V_ONE_OF: always */
    uint32_t first;    /* V_LOOP */
    uint32_t count;
    uint32_t tab;      /* spans of the value texts when spliced, else UINT32_MAX */
    /* compile time only */
    uint32_t val0;     /* first value text in the builder's value table */
    uint32_t maxlen;   /* longest value text */
};

/* ---- builder ---- */

enum part_kind { R_LIT, R_VAR, R_VU, R_ITER, R_LOOPNUM, R_CAPTURE, R_CLEN };

struct part {
    uint8_t  kind;
    uint16_t arg;      /* R_VAR, R_LOOPNUM: var index; R_CAPTURE: slot */
    uint32_t off, len; /* R_LIT: range in lit */
};

struct buf {
    char  *p;
    size_t n, cap;
};

struct builder {
    struct part *parts;
    int          nparts, capparts;
    struct buf   lit;                /* literal text of the parts */
    struct buf   valtext;            /* value texts of the variables */
    uint32_t    *valoff, *vallen;
    uint32_t     nvals, capvals;
    struct template_var_ *vars;
    int          nvars, capvars;
    int          loopvar[TEMPLATE_MAX_LOOPS]; /* var of a loop slot, or -1 */
    int          none_of;
    bool         oom;
};

/* p with room for need elements of elem bytes (p itself when *cap
 * suffices), or NULL (p untouched) when out of memory. */
static void *grow(void *p, int *cap, int need, size_t elem)
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

static bool buf_add(struct buf *b, const void *p, size_t n)
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

static void builder_init(struct builder *b)
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < TEMPLATE_MAX_LOOPS; i++)
        b->loopvar[i] = -1;
}

static void builder_free(struct builder *b)
{
    free(b->parts);
    free(b->lit.p);
    free(b->valtext.p);
    free(b->valoff);
    free(b->vallen);
    free(b->vars);
    memset(b, 0, sizeof *b);
}

static struct part *add_part(struct builder *b, uint8_t kind, uint16_t arg)
{
    struct part *np = grow(b->parts, &b->capparts, b->nparts + 1, sizeof *b->parts);
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

static void add_lit(struct builder *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (n > UINT32_MAX || b->lit.n + n > UINT32_MAX || !buf_add(&b->lit, p, n)) {
        b->oom = true;
        return;
    }
    struct part *last = b->nparts ? &b->parts[b->nparts - 1] : NULL;
    if (last && last->kind == R_LIT) {   /* parts append to lit in order: the last literal ends here */
        last->len += (uint32_t)n;
        return;
    }
    struct part *q = add_part(b, R_LIT, 0);
    if (q) {
        q->off = (uint32_t)(b->lit.n - n);
        q->len = (uint32_t)n;
    }
}

static void add_str(struct builder *b, const char *s)
{
    add_lit(b, s, strlen(s));
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
    if (b->valtext.n + n > UINT32_MAX || !buf_add(&b->valtext, p, n))
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
    struct template_var_ *nv = grow(b->vars, &b->capvars, b->nvars + 1, sizeof *b->vars);
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

enum ctx { CTX_TEXT, CTX_PATH, CTX_HEADER };

static void fail(char *err, size_t errlen, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(char *err, size_t errlen, const char *prefix, const char *fmt, ...)
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
            fail(err, errlen, prefix, "space at column %zu (a path holds no spaces: encode them as %%20)", i + 1);
        else if (ctx == CTX_PATH)
            fail(err, errlen, prefix, "control character 0x%02x at column %zu (not allowed in a path)", c, i + 1);
        else
            fail(err, errlen, prefix, "%s at column %zu (a header value is one line)", c == '\r' ? "CR" : "LF", i + 1);
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
        fail(err, errlen, prefix, "too many one_of at column %zu (at most %d in one template)", col, TEMPLATE_MAX_ONE_OF);
        return false;
    }
    if (from == to) {
        fail(err, errlen, prefix, "one_of at column %zu has no items (expected ${one_of:a,b,c})", col);
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
            fail(err, errlen, prefix, "one_of at column %zu: item %d is empty (expected ${one_of:a,b,c})", col, item);
            return false;
        }
        for (size_t i = s; i + 1 < e; i++) {
            if (text[i] == '$' && text[i + 1] == '{') {
                fail(err, errlen, prefix, "one_of at column %zu: item %d holds '${' (items are plain text)", col, item);
                return false;
            }
        }
        if (!ctx_check(ctx, text, s, e, err, errlen, prefix))
            return false;
        if (!add_value(b, &b->vars[vi], text + s, e - s)) {
            b->oom = true;
            fail(err, errlen, prefix, "out of memory");
            return false;
        }
        b->vars[vi].count++;
        if (e == to)
            break;
        s = e + 1;
    }
    add_part(b, R_VAR, (uint16_t)vi);
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
        fail(err, errlen, prefix, "empty '${}' at column %zu (expected a variable name)", col);
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
            fail(err, errlen, prefix, "unknown variable '%.*s' at column %zu (known here: %s)",
                 (int)i, s, col, known);
        } else if (s[i] == ':') {
            fail(err, errlen, prefix, "unknown function '%.*s' at column %zu (expected ${one_of:a,b,c})",
                 (int)i, s, col);
        } else {
            fail(err, errlen, prefix, "invalid variable name '%.*s' at column %zu (expected letters, digits and '_')",
                 (int)len, s, col);
        }
        return false;
    }
    if (len == 6 && memcmp(s, "one_of", 6) == 0) {
        fail(err, errlen, prefix, "one_of at column %zu has no items (expected ${one_of:a,b,c})", col);
        return false;
    }
    if (len == 2 && memcmp(s, "vu", 2) == 0)
        return add_part(b, R_VU, 0) != NULL;
    if (len == 4 && memcmp(s, "iter", 4) == 0)
        return add_part(b, R_ITER, 0) != NULL;
    for (int k = sc ? sc->nloops - 1 : -1; k >= 0; k--) {
        const struct template_loopvar *lv = &sc->loops[k];
        if (strlen(lv->name) != len || memcmp(lv->name, s, len) != 0)
            continue;
        if (k >= TEMPLATE_MAX_LOOPS || lv->count == 0) {
            fail(err, errlen, prefix, "loop variable '%s' at column %zu is nested too deep (at most %d loops)",
                 lv->name, col, TEMPLATE_MAX_LOOPS);
            return false;
        }
        int vi = loop_var(b, k, lv);
        if (vi < 0)
            return false;
        return add_part(b, b->vars[vi].finite ? R_VAR : R_LOOPNUM, (uint16_t)vi) != NULL;
    }
    for (int k = 0; sc && k < sc->ncaptures; k++) {
        if (strlen(sc->captures[k]) != len || memcmp(sc->captures[k], s, len) != 0)
            continue;
        if (k >= TEMPLATE_MAX_CAPTURES) {
            fail(err, errlen, prefix, "capture '%s' at column %zu is one too many (at most %d per iteration)",
                 sc->captures[k], col, TEMPLATE_MAX_CAPTURES);
            return false;
        }
        return add_part(b, R_CAPTURE, (uint16_t)k) != NULL;
    }
    char known[256];
    known_names(known, sizeof known, sc);
    fail(err, errlen, prefix, "unknown variable '%.*s' at column %zu (known here: %s)", (int)len, s, col, known);
    return false;
}

static bool parse(struct builder *b, const char *text, const struct template_scope *sc, enum ctx ctx,
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
            add_lit(b, text + lit, i - lit);
            add_lit(b, "${", 2);
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
            fail(err, errlen, prefix, "unterminated '${' at column %zu (expected '}')", i + 1);
            return false;
        }
        if (!ctx_check(ctx, text, lit, i, err, errlen, prefix))
            return false;
        add_lit(b, text + lit, i - lit);
        size_t end = (size_t)(close - text);
        if (!parse_slot(b, text, i + 1, i + 2, end, sc, ctx, err, errlen, prefix))
            return false;
        i = end + 1;
        lit = i;
    }
    size_t n = strlen(text + lit);
    if (!ctx_check(ctx, text, lit, lit + n, err, errlen, prefix))
        return false;
    add_lit(b, text + lit, n);
    if (b->oom) {
        fail(err, errlen, prefix, "out of memory");
        return false;
    }
    return true;
}

/* ---- finishing: cut parts into pieces, pre-render finite chunks ---- */

struct finisher {
    struct builder *b;
    struct template *t;
    int    cappieces, capspans, capstrides;
    int    nspans, nstrides;
    struct buf pool;
    uint64_t maxv, maxbytes;
    bool   oom;
};

static struct template_piece_ *emit(struct finisher *f, uint8_t kind, uint16_t arg)
{
    struct template *t = f->t;
    struct template_piece_ *np = grow(t->pieces_, &f->cappieces, t->npieces_ + 1, sizeof *t->pieces_);
    if (!np) {
        f->oom = true;
        return NULL;
    }
    t->pieces_ = np;
    struct template_piece_ *p = &t->pieces_[t->npieces_++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->arg = arg;
    return p;
}

/* A span of pool text; its base holds the pool offset until the pool stops moving. */
static int add_span(struct finisher *f, size_t off, size_t len)
{
    struct iovec *ns = grow(f->t->spans_, &f->capspans, f->nspans + 1, sizeof *f->t->spans_);
    if (!ns) {
        f->oom = true;
        return -1;
    }
    f->t->spans_ = ns;
    f->t->spans_[f->nspans].iov_base = (void *)(uintptr_t)off;
    f->t->spans_[f->nspans].iov_len = len;
    return f->nspans++;
}

static void pool_add(struct finisher *f, const void *p, size_t n)
{
    if (!buf_add(&f->pool, p, n))
        f->oom = true;
}

/* Splice finite var vi value by value: its value texts get spans. */
static void emit_splice(struct finisher *f, int vi)
{
    struct template_var_ *v = &f->b->vars[vi];
    if (v->tab == UINT32_MAX) {
        v->tab = (uint32_t)f->nspans;
        for (uint32_t i = 0; i < v->count; i++) {
            size_t off = f->pool.n;
            pool_add(f, f->b->valtext.p + f->b->valoff[v->val0 + i], f->b->vallen[v->val0 + i]);
            add_span(f, off, f->b->vallen[v->val0 + i]);
        }
    }
    struct template_piece_ *p = emit(f, P_SPLICE, (uint16_t)vi);
    if (p)
        p->tab = v->tab;
    f->t->nspliced++;
}

/* Render parts [a, e) (literals and finite vars) in every combination of the
 * distinct vars among them that have more than one value. */
static void emit_chunk(struct finisher *f, int a, int e)
{
    if (a >= e)
        return;
    struct builder *b = f->b;
    int vset[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF];
    uint32_t stride[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF];
    int nset = 0;
    uint32_t prod = 1;
    for (int k = a; k < e; k++) {
        if (b->parts[k].kind != R_VAR || b->vars[b->parts[k].arg].count < 2)
            continue;
        int vi = b->parts[k].arg, j = 0;
        while (j < nset && vset[j] != vi)
            j++;
        if (j == nset) {
            vset[nset] = vi;
            stride[nset++] = prod;
            prod *= b->vars[vi].count;
        }
    }
    int tab = f->nspans;
    for (uint32_t c = 0; c < prod; c++) {
        size_t off = f->pool.n;
        for (int k = a; k < e; k++) {
            const struct part *p = &b->parts[k];
            if (p->kind == R_LIT) {
                pool_add(f, b->lit.p + p->off, p->len);
                continue;
            }
            const struct template_var_ *v = &b->vars[p->arg];
            uint32_t x = 0;
            for (int j = 0; j < nset; j++)
                if (vset[j] == p->arg)
                    x = c / stride[j] % v->count;
            pool_add(f, b->valtext.p + b->valoff[v->val0 + x], b->vallen[v->val0 + x]);
        }
        add_span(f, off, f->pool.n - off);
        f->t->prerender_bytes += f->pool.n - off;
    }
    struct template_piece_ *p = emit(f, nset ? P_VARIANT : P_LIT, 0);
    if (!p)
        return;
    p->tab = (uint32_t)tab;
    if (!nset)
        return;
    f->t->nvariant_chunks++;
    p->nvars = (uint8_t)nset;
    p->strides = (uint32_t)f->nstrides;
    uint32_t *nst = grow(f->t->strides_, &f->capstrides, 2 * (f->nstrides + nset), sizeof *f->t->strides_);
    if (!nst) {
        f->oom = true;
        return;
    }
    f->t->strides_ = nst;
    for (int j = 0; j < nset; j++) {
        f->t->strides_[2 * f->nstrides] = (uint32_t)vset[j];
        f->t->strides_[2 * f->nstrides + 1] = stride[j];
        f->nstrides++;
    }
}

/* A run of literals and finite vars [a, e): greedy maximal chunks within the
 * variant and byte limits; a var too large for any chunk is spliced. */
static void emit_run(struct finisher *f, int a, int e)
{
    struct builder *b = f->b;
    int cs = a;
    int set[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF], nset = 0;
    uint64_t prod = 1, per = 0;    /* variants, bytes of one variant at most */
    for (int k = a; k < e; k++) {
        const struct part *p = &b->parts[k];
        uint64_t nprod = prod, nper = per;
        int vi = -1;
        if (p->kind == R_VAR) {
            vi = p->arg;
            const struct template_var_ *v = &b->vars[vi];
            if (v->count > 1 && ((uint64_t)v->count > f->maxv || (uint64_t)v->count * v->maxlen > f->maxbytes)) {
                emit_chunk(f, cs, k);
                emit_splice(f, vi);
                cs = k + 1;
                nset = 0, prod = 1, per = 0;
                continue;
            }
            bool in = false;
            for (int j = 0; j < nset; j++)
                in |= set[j] == vi;
            if (!in)
                nprod *= v->count;
            nper += v->maxlen;
        } else {
            nper += p->len;
        }
        if (nprod > 1 && (nprod > f->maxv || nprod * nper > f->maxbytes)) {
            emit_chunk(f, cs, k);
            cs = k;
            nset = 0;
            nprod = p->kind == R_VAR ? b->vars[vi].count : 1;
            nper = p->kind == R_VAR ? b->vars[vi].maxlen : p->len;
        }
        if (vi >= 0) {
            bool in = false;
            for (int j = 0; j < nset; j++)
                in |= set[j] == vi;
            if (!in)
                set[nset++] = vi;
        }
        prod = nprod;
        per = nper;
    }
    emit_chunk(f, cs, e);
}

static bool finish(struct builder *b, const struct template_scope *sc, struct template *t,
                   char *err, size_t errlen, const char *prefix)
{
    memset(t, 0, sizeof *t);
    struct finisher f = {.b = b, .t = t};
    f.maxv = sc && sc->max_variants ? sc->max_variants : TEMPLATE_MAX_VARIANTS;
    if (f.maxv > 65536)
        f.maxv = 65536;
    f.maxbytes = sc && sc->max_prerender_bytes ? sc->max_prerender_bytes : TEMPLATE_MAX_PRERENDER;
    int nnum = 0;
    for (int i = 0; i < b->nparts && !f.oom;) {
        const struct part *p = &b->parts[i];
        if (p->kind == R_LIT || p->kind == R_VAR) {
            int e = i;
            while (e < b->nparts && (b->parts[e].kind == R_LIT || b->parts[e].kind == R_VAR))
                e++;
            emit_run(&f, i, e);
            i = e;
            continue;
        }
        static const uint8_t kind[] = {[R_VU] = P_VU, [R_ITER] = P_ITER, [R_LOOPNUM] = P_LOOPNUM,
                                       [R_CAPTURE] = P_CAPTURE, [R_CLEN] = P_CLEN};
        emit(&f, kind[p->kind], p->arg);
        nnum += p->kind != R_CAPTURE;
        i++;
    }
    if (!f.oom && f.pool.n == 0)
        pool_add(&f, "", 1);   /* a non-NULL pool even when nothing is literal */
    if (b->oom || f.oom) {
        free(f.pool.p);
        t->pool_ = NULL;
        template_free(t);
        fail(err, errlen, prefix, "out of memory");
        return false;
    }
    t->pool_ = f.pool.p;
    for (int i = 0; i < f.nspans; i++)
        t->spans_[i].iov_base = t->pool_ + (uintptr_t)t->spans_[i].iov_base;
    t->vars_ = b->vars;          /* the template takes the var table */
    t->nvars_ = b->nvars;
    b->vars = NULL;
    b->nvars = 0;
    t->max_iov = t->npieces_;
    t->scratch_need = (size_t)nnum * TEMPLATE_NUM_MAX;
    t->constant = t->npieces_ == 0 || (t->npieces_ == 1 && t->pieces_[0].kind == P_LIT);
    for (int i = 0; i < t->nvars_; i++)
        t->random |= t->vars_[i].kind == V_ONE_OF;
    return true;
}

int template_compile(const char *text, const struct template_scope *scope,
                     struct template *out, char *err, size_t errlen)
{
    struct builder b;
    builder_init(&b);
    memset(out, 0, sizeof *out);
    bool ok = parse(&b, text, scope, CTX_TEXT, err, errlen, "") && finish(&b, scope, out, err, errlen, "");
    builder_free(&b);
    return ok ? 0 : -1;
}

void template_free(struct template *t)
{
    free(t->pieces_);
    free(t->vars_);
    free(t->spans_);
    free(t->strides_);
    free(t->pool_);
    memset(t, 0, sizeof *t);
}

/* ---- rendering ---- */

uint32_t template_draw(uint64_t *rng, uint32_t n)
{
    /* splitmix64: any state works, 0 included; Lemire's multiply-shift maps
     * 64 random bits to [0, n) with a bias below n / 2^64. */
    uint64_t z = (*rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (uint32_t)(((unsigned __int128)z * n) >> 64);
}

/* Index of every var's value for this request: loop values checked, one_of drawn. */
static inline int resolve(const struct template *t, const struct template_values *v, uint32_t *vidx)
{
    for (int i = 0; i < t->nvars_; i++) {
        const struct template_var_ *var = &t->vars_[i];
        if (var->kind == V_LOOP) {
            uint32_t x = v->loop[var->slot] - var->first;
            if (x >= var->count)
                return -1;
            vidx[i] = x;
        } else {
            vidx[i] = v->rng ? template_draw(v->rng, var->count) : 0;
        }
    }
    return 0;
}

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal of x into out (TEMPLATE_NUM_MAX bytes); its length. */
static inline size_t fmt_u64(char *out, uint64_t x)
{
    char tmp[TEMPLATE_NUM_MAX];
    char *p = tmp + sizeof tmp;
    while (x >= 100) {
        unsigned r = (unsigned)(x % 100) * 2;
        x /= 100;
        *--p = digits2[r + 1];
        *--p = digits2[r];
    }
    if (x >= 10) {
        *--p = digits2[x * 2 + 1];
        *--p = digits2[x * 2];
    } else {
        *--p = (char)('0' + x);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

/* The text of piece p for this request: numbers are formatted into num
 * (TEMPLATE_NUM_MAX bytes), everything else is pointed at. */
static inline struct iovec piece_text(const struct template *t, const struct template_piece_ *p,
                                      const uint32_t *vidx, const struct template_values *v,
                                      uint64_t clen, char *num)
{
    struct iovec s;
    switch (p->kind) {
    case P_LIT:
        return t->spans_[p->tab];
    case P_VARIANT: {
        const uint32_t *st = t->strides_ + 2 * p->strides;
        uint32_t idx = 0;
        for (int j = 0; j < p->nvars; j++)
            idx += vidx[st[2 * j]] * st[2 * j + 1];
        return t->spans_[p->tab + idx];
    }
    case P_SPLICE:
        return t->spans_[p->tab + vidx[p->arg]];
    case P_VU:
        s.iov_len = fmt_u64(num, v->vu);
        break;
    case P_ITER:
        s.iov_len = fmt_u64(num, v->iter);
        break;
    case P_LOOPNUM:
        s.iov_len = fmt_u64(num, v->loop[t->vars_[p->arg].slot]);
        break;
    case P_CLEN:
        s.iov_len = fmt_u64(num, clen);
        break;
    default: /* P_CAPTURE */
        s.iov_base = (void *)v->capture[p->arg].ptr;
        s.iov_len = s.iov_base ? v->capture[p->arg].len : 0;
        return s;
    }
    s.iov_base = num;
    return s;
}

static int render_iov(const struct template *t, const struct template_values *v, uint64_t clen,
                      struct iovec *iov, int max_iov, char *scratch, size_t scratch_len)
{
    if (max_iov < t->max_iov || scratch_len < t->scratch_need)
        return -1;
    uint32_t vidx[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF];
    if (resolve(t, v, vidx) < 0)
        return -1;
    int n = 0;
    for (int i = 0; i < t->npieces_; i++) {
        struct iovec s = piece_text(t, &t->pieces_[i], vidx, v, clen, scratch);
        if (s.iov_base == scratch)
            scratch += s.iov_len;
        if (s.iov_len == 0)
            continue;
        if (n > 0 && (char *)iov[n - 1].iov_base + iov[n - 1].iov_len == (char *)s.iov_base)
            iov[n - 1].iov_len += s.iov_len;
        else
            iov[n++] = s;
    }
    return n;
}

int template_render_iov(const struct template *t, const struct template_values *vals,
                        struct iovec *iov, int max_iov, char *scratch, size_t scratch_len)
{
    return render_iov(t, vals, 0, iov, max_iov, scratch, scratch_len);
}

int64_t template_render_len(const struct template *t, const struct template_values *vals)
{
    uint32_t vidx[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF];
    if (resolve(t, vals, vidx) < 0)
        return -1;
    char num[TEMPLATE_NUM_MAX];
    int64_t n = 0;
    for (int i = 0; i < t->npieces_; i++)
        n += (int64_t)piece_text(t, &t->pieces_[i], vidx, vals, 0, num).iov_len;
    return n;
}

int64_t template_render_flat(const struct template *t, const struct template_values *vals,
                             char *buf, size_t cap)
{
    uint32_t vidx[TEMPLATE_MAX_LOOPS + TEMPLATE_MAX_ONE_OF];
    if (resolve(t, vals, vidx) < 0)
        return -1;
    char num[TEMPLATE_NUM_MAX];
    size_t n = 0;
    for (int i = 0; i < t->npieces_; i++) {
        struct iovec s = piece_text(t, &t->pieces_[i], vidx, vals, 0, num);
        if (s.iov_len > cap - n)
            return -1;
        if (s.iov_len)
            memcpy(buf + n, s.iov_base, s.iov_len);
        n += s.iov_len;
    }
    return (int64_t)n;
}

/* ---- whole requests ---- */

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

static bool given(const struct template_request_spec *s, const char *name)
{
    for (int i = 0; i < s->nheaders; i++)
        if (strcasecmp(s->headers[i].name, name) == 0)
            return true;
    return false;
}

int template_request_compile(const struct template_request_spec *spec,
                             const struct template_scope *scope,
                             struct template_request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!is_token(spec->method)) {
        fail(err, errlen, "", "method '%s' is not an HTTP token", spec->method ? spec->method : "");
        return -1;
    }
    if (!spec->path || !*spec->path) {
        fail(err, errlen, "", "path: empty (expected /path?query)");
        return -1;
    }
    for (int i = 0; i < spec->nheaders; i++) {
        if (!is_token(spec->headers[i].name)) {
            fail(err, errlen, "", "header '%s': the name is not an HTTP token",
                 spec->headers[i].name ? spec->headers[i].name : "");
            return -1;
        }
    }
    const char *ua = spec->user_agent && !given(spec, "User-Agent") ? spec->user_agent : NULL;
    const char *host = given(spec, "Host") ? NULL : spec->host ? spec->host : "";
    if (host && (!*host || strpbrk(host, " \t\r\n"))) {
        fail(err, errlen, "", "host '%s' is empty or holds spaces", host);
        return -1;
    }
    if (ua && strpbrk(ua, "\r\n")) {
        fail(err, errlen, "", "user agent holds CR or LF");
        return -1;
    }
    if (spec->body_kind == TEMPLATE_BODY_FIXED && spec->body_len && !spec->body) {
        fail(err, errlen, "", "body: no bytes for a fixed body of %zu bytes", spec->body_len);
        return -1;
    }

    /* The body first: a constant template body is a fixed body. */
    enum template_body bk = spec->body_kind;
    const void *body = spec->body;
    size_t body_len = spec->body_len;
    if (bk == TEMPLATE_BODY_TEMPLATE) {
        struct builder bb;
        builder_init(&bb);
        bool ok = parse(&bb, spec->body_text ? spec->body_text : "", scope, CTX_TEXT, err, errlen, "body: ") &&
                  finish(&bb, scope, &out->body_t, err, errlen, "body: ");
        builder_free(&bb);
        if (!ok)
            return -1;
        if (out->body_t.constant) {
            bk = TEMPLATE_BODY_FIXED;
            body = out->body_t.npieces_ ? out->body_t.spans_[0].iov_base : "";
            body_len = out->body_t.npieces_ ? out->body_t.spans_[0].iov_len : 0;
        }
    }
    bool inline_body = bk == TEMPLATE_BODY_FIXED && body_len <= TEMPLATE_INLINE_BODY_MAX;

    struct builder b;
    builder_init(&b);
    bool ok = true;
    add_str(&b, spec->method);
    add_str(&b, " ");
    ok = parse(&b, spec->path, scope, CTX_PATH, err, errlen, "path: ");
    add_str(&b, " HTTP/1.1\r\n");
    if (ok && host) {
        add_str(&b, "Host: ");
        add_str(&b, host);
        add_str(&b, "\r\n");
    }
    if (ok && ua) {
        add_str(&b, "User-Agent: ");
        add_str(&b, ua);
        add_str(&b, "\r\n");
    }
    for (int i = 0; ok && i < spec->nheaders; i++) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "header '%s': ", spec->headers[i].name);
        add_str(&b, spec->headers[i].name);
        add_str(&b, ": ");
        ok = parse(&b, spec->headers[i].value ? spec->headers[i].value : "", scope, CTX_HEADER,
                   err, errlen, prefix);
        add_str(&b, "\r\n");
    }
    if (ok && !given(spec, "Content-Length") && !given(spec, "Transfer-Encoding")) {
        if (bk == TEMPLATE_BODY_FIXED) {
            char cl[48];
            add_lit(&b, cl, (size_t)snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body_len));
        } else if (bk == TEMPLATE_BODY_TEMPLATE) {
            add_str(&b, "Content-Length: ");
            add_part(&b, R_CLEN, 0);
            add_str(&b, "\r\n");
        } else if (!strcmp(spec->method, "POST") || !strcmp(spec->method, "PUT") ||
                   !strcmp(spec->method, "PATCH")) {
            add_str(&b, "Content-Length: 0\r\n");
        }
    }
    add_str(&b, "\r\n");
    if (inline_body)
        add_lit(&b, body, body_len);
    if (ok && b.oom) {
        fail(err, errlen, "", "out of memory");
        ok = false;
    }
    ok = ok && finish(&b, scope, &out->head, err, errlen, "");
    builder_free(&b);
    if (!ok) {
        template_request_free(out);
        return -1;
    }
    if (inline_body)
        template_free(&out->body_t);    /* copied into the head; a larger one stays referenced */
    out->body_kind = inline_body ? TEMPLATE_BODY_NONE : bk;
    if (out->body_kind == TEMPLATE_BODY_FIXED) {
        out->body = body;
        out->body_len = body_len;
    }
    out->max_iov = out->head.max_iov + (out->body_kind == TEMPLATE_BODY_FIXED ? 1 :
                                         out->body_kind == TEMPLATE_BODY_TEMPLATE ? out->body_t.max_iov : 0);
    out->scratch_need = out->head.scratch_need + out->body_t.scratch_need;
    out->is_head = strcmp(spec->method, "HEAD") == 0;
    return 0;
}

void template_request_free(struct template_request *r)
{
    template_free(&r->head);
    template_free(&r->body_t);
    memset(r, 0, sizeof *r);
}

int template_request_render_iov(const struct template_request *r, const struct template_values *vals,
                                struct iovec *iov, int max_iov, char *scratch, size_t scratch_len,
                                size_t *total)
{
    if (max_iov < r->max_iov || scratch_len < r->scratch_need)
        return -1;
    int hmax = r->head.max_iov, nb = 0;
    uint64_t blen = 0;
    if (r->body_kind == TEMPLATE_BODY_TEMPLATE) {
        nb = render_iov(&r->body_t, vals, 0, iov + hmax, max_iov - hmax,
                        scratch + r->head.scratch_need, scratch_len - r->head.scratch_need);
        if (nb < 0)
            return -1;
        for (int i = 0; i < nb; i++)
            blen += iov[hmax + i].iov_len;
    } else if (r->body_kind == TEMPLATE_BODY_FIXED && r->body_len) {
        iov[hmax].iov_base = (void *)r->body;
        iov[hmax].iov_len = r->body_len;
        nb = 1;
        blen = r->body_len;
    }
    int nh = render_iov(&r->head, vals, blen, iov, hmax, scratch, r->head.scratch_need);
    if (nh < 0)
        return -1;
    if (nh < hmax && nb)
        memmove(iov + nh, iov + hmax, (size_t)nb * sizeof *iov);
    if (total) {
        size_t sum = (size_t)blen;
        for (int i = 0; i < nh; i++)
            sum += iov[i].iov_len;
        *total = sum;
    }
    return nh + nb;
}
