/* template — compiling template text (see template.h): template_parse.c's parts are cut
 * into pieces, and finite chunks pre-rendered in every variant within the scope's limits,
 * into one pool of text that rendering points into. Also template_free.
 */
#include "blaster/compile/template_int.h"

#include <stdlib.h>
#include <string.h>

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
    struct template_piece_ *np = template_array_grow(t->pieces_, &f->cappieces, t->npieces_ + 1, sizeof *t->pieces_);
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
    struct iovec *ns = template_array_grow(f->t->spans_, &f->capspans, f->nspans + 1, sizeof *f->t->spans_);
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
    if (!template_buf_add(&f->pool, p, n))
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
    uint32_t *nst = template_array_grow(f->t->strides_, &f->capstrides, 2 * (f->nstrides + nset), sizeof *f->t->strides_);
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

bool template_finish(struct builder *b, const struct template_scope *sc, struct template *t,
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
        template_fail(err, errlen, prefix, "out of memory");
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
    template_builder_init(&b);
    memset(out, 0, sizeof *out);
    bool ok = template_parse(&b, text, scope, CTX_TEXT, err, errlen, "") && template_finish(&b, scope, out, err, errlen, "");
    template_builder_free(&b);
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
