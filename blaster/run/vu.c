/* vu — what a virtual user does: it runs its scenario's compiled program
 * (plan.h's ops) once per iteration: requests, think times, loops, weighted
 * picks, and the HLS player step, which turns one op into a master
 * playlist, a media playlist and its segments. It decides what comes next;
 * request.c sends and records, executor_run.c decides when iterations run. */
#include <stdio.h>
#include <string.h>

#include "blaster/run/engine_int.h"
#include "blaster/run/hls.h"

#define HLS_MAX_VARIANTS 32

void vu_fill_values(struct engine *e, struct vu *v, struct template_values *tv)
{
    struct sc_rt *sc = sc_of(e, v);
    tv->vu = v->gid;
    tv->iter = v->iter;
    memcpy(tv->loop, v->loop, sizeof tv->loop);
    for (int i = 0; i < sc->p->ncaptures; i++) {
        tv->capture[i].ptr = v->cap + (size_t)i * PLAN_CAPTURE_LEN;
        tv->capture[i].len = v->caplen[i];
    }
    tv->rng = &v->rng;
}

void vu_store_capture(struct vu *v, int slot, const char *val, int len)
{
    char *dst = v->cap + (size_t)slot * PLAN_CAPTURE_LEN;
    int n = len > 0 ? len : 0;
    if (n > PLAN_CAPTURE_LEN)
        n = PLAN_CAPTURE_LEN;
    /* Captured text goes into request heads: never let CR or LF through. */
    for (int i = 0; i < n; i++)
        dst[i] = (val[i] == '\r' || val[i] == '\n') ? ' ' : val[i];
    v->caplen[slot] = (uint16_t)n;
}

/* --- the HLS player step ------------------------------------------------------ */

struct seg_ctx { struct vu *v; const char *hostport; size_t used; uint16_t n, max; };

static bool seg_each(void *ctx, const char *uri, size_t len)
{
    struct seg_ctx *c = ctx;
    char path[PLAN_CAPTURE_LEN];
    int n = hls_resolve(c->v->hls_base, uri, len, c->hostport, path, sizeof path);
    if (n < 0 || c->used + (size_t)n + 1 > HLS_LIST_BYTES)
        return false;
    memcpy(c->v->hls + c->used, path, (size_t)n + 1);
    c->used += (size_t)n + 1;
    c->n++;
    return c->max == 0 || c->n < c->max;
}

static const char *nth_segment(const struct vu *v, int i)
{
    const char *p = v->hls;
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

static void hls_set_uri(struct vu *v, const struct plan_hls *h, const char *path)
{
    vu_store_capture(v, h->uri_slot, path, (int)strlen(path));
}

/* The player's step ends: after its last segment, or on a failure that
 * counts against the request whose response could not be used (-1: none). */
static void hls_end(struct engine *e, struct vu *v, int failed_req)
{
    if (failed_req >= 0)
        req_metrics(e, v, failed_req)->checks_fail++;
    v->hls_phase = 0;
    v->pc++;
}

/* The master playlist came back: choose a variant, fetch its playlist next. */
static void hls_master(struct engine *e, struct vu *v, const struct plan_hls *h, char *body, size_t body_len)
{
    const struct plan_scenario *p = sc_of(e, v)->p;
    struct hls_variant_info var[HLS_MAX_VARIANTS];
    int nv = body ? hls_parse_master(body, body_len, var, HLS_MAX_VARIANTS) : -1;
    int which = h->variant == HLS_LOWEST ? 0 : h->variant == HLS_HIGHEST ? 1 : 2;
    int k = nv > 0 ? hls_choose(var, nv, which, h->variant_name) : -1;
    char path[PLAN_CAPTURE_LEN];
    if (k < 0 || hls_resolve(v->hls_base, var[k].uri, var[k].uri_len, p->url.hostport, path, sizeof path) < 0) {
        hls_end(e, v, h->req_master);
        return;
    }
    hls_set_uri(v, h, path);
    snprintf(v->hls_base, PLAN_CAPTURE_LEN, "%s", path);
    v->hls_phase = 2;
}

/* The media playlist came back: its segments, fetched in order next. */
static void hls_media(struct engine *e, struct vu *v, const struct plan_hls *h, char *body, size_t body_len)
{
    const struct plan_scenario *p = sc_of(e, v)->p;
    struct seg_ctx c = { .v = v, .hostport = p->url.hostport, .max = (uint16_t)h->segments };
    bool endlist;
    if (!body || hls_parse_media(body, body_len, seg_each, &c, &endlist) < 0 || c.n == 0) {
        hls_end(e, v, h->req_media);
        return;
    }
    v->hls_nseg = c.n;
    v->hls_seg = 0;
    hls_set_uri(v, h, nth_segment(v, 0));
    v->hls_phase = 3;
}

/* A playlist or segment came back: move the player on. */
void hls_after(struct engine *e, struct vu *v, const struct plan_hls *h, int status, char *body, size_t body_len)
{
    if (status != 200)
        hls_end(e, v, -1);
    else if (v->hls_phase == 1)
        hls_master(e, v, h, body, body_len);
    else if (v->hls_phase == 2)
        hls_media(e, v, h, body, body_len);
    else if (++v->hls_seg >= v->hls_nseg)
        hls_end(e, v, -1);
    else
        hls_set_uri(v, h, nth_segment(v, v->hls_seg));
}

/* The request the player makes next. */
static int hls_next_request(struct engine *e, struct vu *v, const struct plan_hls *h)
{
    if (v->hls_phase == 0) {
        /* The master's own path is the base its variants resolve against:
         * render it once to know it. */
        struct template_values tv;
        vu_fill_values(e, v, &tv);
        uint64_t saved = v->rng;
        char line[PLAN_CAPTURE_LEN + 32];
        int64_t n = template_render_flat(&sc_of(e, v)->p->reqs[h->req_master].t.head, &tv, line, sizeof line - 1);
        v->rng = saved; /* the send renders it again and must draw the same */
        v->hls_base[0] = 0;
        if (n > 0) {
            line[n] = 0;
            char *sp = strchr(line, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
            if (sp && end && end - sp - 1 < (long)PLAN_CAPTURE_LEN) {
                memcpy(v->hls_base, sp + 1, (size_t)(end - sp - 1));
                v->hls_base[end - sp - 1] = 0;
            }
        }
        v->hls_phase = 1;
        return h->req_master;
    }
    return v->hls_phase == 2 ? h->req_media : h->req_segment;
}

/* --- the VU program ------------------------------------------------------------- */

/* A think time: the next request is intended at its end, counted from the
 * previous completion. false when the VU sleeps until then. */
static bool vu_think(struct engine *e, struct vu *v, const struct op *op, int64_t now)
{
    int64_t d = op->t0;
    if (op->t1 > op->t0)
        d += (int64_t)((double)(op->t1 - op->t0) * ((double)(template_draw(&v->rng, 1u << 30)) / (double)(1u << 30)));
    v->pc++;
    v->intended = v->last_done + d;
    if (v->intended > now) {
        timer_start(e, v, T_THINK, v->intended);
        return false;
    }
    return true;
}

/* Run the VU's program from its pc until it waits: for a response, a
 * connection, a timer, or the end of its iteration. */
void vu_step(struct engine *e, struct vu *v, int64_t now)
{
    const struct plan_scenario *p = sc_of(e, v)->p;
    while (v->state == VU_READY) {
        const struct op *op = &p->ops[v->pc];
        switch (op->kind) {
        case OP_REQUEST:
            req_start(e, v, (int)op->a, now);
            return;
        case OP_THINK:
            if (!vu_think(e, v, op, now))
                return;
            break;
        case OP_LOOP:
            v->loop[op->a] = 1;
            v->pc++;
            break;
        case OP_NEXT:
            if (++v->loop[op->a] <= op->b)
                v->pc = op->c;
            else
                v->pc++;
            break;
        case OP_PICK: {
            const struct plan_pick *pk = &p->picks[op->a];
            v->pc = pk->target[plan_pick_branch(pk, template_draw(&v->rng, pk->total))];
            break;
        }
        case OP_JUMP:
            v->pc = op->a;
            break;
        case OP_HLS:
            req_start(e, v, hls_next_request(e, v, &p->hls[op->a]), now);
            return;
        case OP_END:
        default:
            iteration_end(e, v, now, true);
            return;
        }
    }
}
