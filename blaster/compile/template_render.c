/* template — rendering compiled templates and requests into iovecs (the hot path: one
 * render per request, 14 ns for DESIGN.md's upload chunk). Allocates nothing, takes no
 * lock, never writes to the template; numbers go into the caller's scratch.
 */
#include "blaster/compile/template_int.h"

#include <string.h>

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
