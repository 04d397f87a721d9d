/* plan_flow — a scenario's flow flattened into the VU program (plan.h's
 * ops): capture slots named first (every capture of the scenario in
 * declaration order, then the HLS URI slot when it has an hls step), then
 * each step compiled where it stands, so that a request sees the loop
 * variables around it; repeats become LOOP/NEXT, picks a PICK with a JUMP
 * after each branch, hls steps their three requests and an HLS op. */
#include "blaster/compile/plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_op(struct cc *c, uint8_t kind, uint32_t a, uint32_t b, uint32_t cc_, int64_t t0, int64_t t1)
{
    struct plan_scenario *ps = c->ps;
    if (!plan_grow((void **)&ps->ops, &c->capops, ps->nops, sizeof *ps->ops))
        return -1;
    ps->ops[ps->nops] = (struct op){.kind = kind, .a = a, .b = b, .c = cc_, .t0 = t0, .t1 = t1};
    return ps->nops++;
}

int plan_capture_slot(const struct cc *c, const char *name)
{
    for (int i = 0; i < c->ncap; i++)
        if (strcmp(c->captures[i], name) == 0)
            return i;
    return -1;
}

static int collect_captures(struct cc *c, const struct step *st, int n)
{
    for (int i = 0; i < n; i++) {
        const struct step *s = &st[i];
        switch (s->kind) {
        case STEP_REQUEST:
            for (int k = 0; k < s->ncaptures; k++) {
                const struct capture *cp = &s->captures[k];
                if (plan_capture_slot(c, cp->slot) >= 0)
                    continue;
                if (c->ncap >= PLAN_MAX_CAPTURES) {
                    plan_errf(c, cp->pos, "capture '%s': scenario '%s' captures too many names (at most %d)",
                         cp->slot, c->s->name, PLAN_MAX_CAPTURES);
                    return -1;
                }
                c->captures[c->ncap++] = cp->slot;
            }
            break;
        case STEP_REPEAT:
            if (collect_captures(c, s->steps, s->nsteps) < 0)
                return -1;
            break;
        case STEP_PICK:
            for (int b = 0; b < s->nbranches; b++)
                if (collect_captures(c, s->branches[b].steps, s->branches[b].nsteps) < 0)
                    return -1;
            break;
        case STEP_HLS:
            if (!c->has_hls)
                c->first_hls = s;
            c->has_hls = true;
            break;
        case STEP_THINK:
            break;
        }
    }
    return 0;
}

static int compile_hls_step(struct cc *c, const struct step *s)
{
    struct plan_scenario *ps = c->ps;
    /* The loader names an unnamed hls step "HLS <master>": that is no name of the user's. */
    bool named = s->name && !(strncmp(s->name, "HLS ", 4) == 0 && s->hls_master &&
                              strcmp(s->name + 4, s->hls_master) == 0);
    const char *base = named ? s->name : "hls";
    size_t bl = strlen(base) + 16;
    char *nm = malloc(bl), *np = malloc(bl), *ns = malloc(bl);
    char *path = NULL;
    int rc = -1;
    if (!nm || !np || !ns) {
        plan_errf(c, s->pos, "out of memory");
        goto out;
    }
    snprintf(nm, bl, "%s_master", base);
    snprintf(np, bl, "%s_playlist", base);
    snprintf(ns, bl, "%s_segment", base);
    int shift = 0;
    path = plan_step_path(c, s->pos, s->hls_master, &shift);
    if (!path)
        goto out;

    /* The playlists' and segments' URIs are resolved by the engine into the
     * URI slot; master and media playlists are kept for it to read. */
    struct reqdesc d = {.s = s, .name = nm, .method = "GET", .path = path, .path_shift = shift,
                        .bk = TEMPLATE_BODY_NONE, .ncap_scope = c->ncap, .keep_body = true};
    int rm = plan_add_request(c, &d);
    if (rm < 0)
        goto out;
    d.name = np;
    d.path = "${" HLS_URI_SLOT_NAME "}";
    d.path_shift = 0;
    d.ncap_scope = c->ncap + 1;
    int rp = plan_add_request(c, &d);
    if (rp < 0)
        goto out;
    d.name = ns;
    d.keep_body = false;
    int rs = plan_add_request(c, &d);
    if (rs < 0)
        goto out;

    if (!plan_grow((void **)&ps->hls, &c->caphls, ps->nhls, sizeof *ps->hls)) {
        plan_errf(c, s->pos, "out of memory");
        goto out;
    }
    struct plan_hls *h = &ps->hls[ps->nhls++];
    memset(h, 0, sizeof *h);
    h->name = plan_strdup(base);
    h->req_master = rm;
    h->req_media = rp;
    h->req_segment = rs;
    h->uri_slot = (uint8_t)c->ncap;
    h->variant = s->hls_variant;
    h->variant_name = plan_strdup(s->hls_variant_name);
    h->segments = s->hls_segments;
    if (!h->name || (s->hls_variant_name && !h->variant_name)) {
        plan_errf(c, s->pos, "out of memory");
        goto out;
    }
    if (add_op(c, OP_HLS, (uint32_t)(ps->nhls - 1), 0, 0, 0, 0) < 0) {
        plan_errf(c, s->pos, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(nm);
    free(np);
    free(ns);
    free(path);
    return rc;
}

static int compile_steps(struct cc *c, const struct step *st, int n);

/* A weighted pick: a PICK op, then each branch's ops, each but the last
 * ending in a JUMP past the others. */
static int compile_pick_step(struct cc *c, const struct step *s)
{
    struct plan_scenario *ps = c->ps;
    if (s->nbranches < 1) {
        plan_errf(c, s->pos, "pick has no branches");
        return -1;
    }
    if (!plan_grow((void **)&ps->picks, &c->cappicks, ps->npicks, sizeof *ps->picks))
        goto oom;
    int pi = ps->npicks++;
    struct plan_pick *pk = &ps->picks[pi];
    memset(pk, 0, sizeof *pk);
    pk->cumulative = calloc((size_t)s->nbranches, sizeof *pk->cumulative);
    pk->target = calloc((size_t)s->nbranches, sizeof *pk->target);
    if (!pk->cumulative || !pk->target)
        goto oom;
    pk->n = (uint32_t)s->nbranches;
    uint64_t total = 0;
    for (int b = 0; b < s->nbranches; b++) {
        total += s->branches[b].weight;
        if (s->branches[b].weight == 0) {
            plan_errf(c, s->branches[b].pos, "pick: a weight must be positive");
            return -1;
        }
        if (total > UINT32_MAX) {
            plan_errf(c, s->branches[b].pos, "pick: the weights add up to more than %u", UINT32_MAX);
            return -1;
        }
        pk->cumulative[b] = (uint32_t)total;
    }
    pk->total = (uint32_t)total;
    if (add_op(c, OP_PICK, (uint32_t)pi, 0, 0, 0, 0) < 0)
        goto oom;
    int *jumps = calloc((size_t)s->nbranches, sizeof *jumps);
    if (!jumps)
        goto oom;
    for (int b = 0; b < s->nbranches; b++) {
        ps->picks[pi].target[b] = (uint32_t)ps->nops;   /* picks may have moved */
        if (compile_steps(c, s->branches[b].steps, s->branches[b].nsteps) < 0) {
            free(jumps);
            return -1;
        }
        if (b + 1 < s->nbranches && (jumps[b] = add_op(c, OP_JUMP, 0, 0, 0, 0, 0)) < 0) {
            free(jumps);
            goto oom;
        }
    }
    for (int b = 0; b + 1 < s->nbranches; b++)
        ps->ops[jumps[b]].a = (uint32_t)ps->nops;
    free(jumps);
    return 0;
oom:
    plan_errf(c, s->pos, "out of memory");
    return -1;
}

static int compile_step(struct cc *c, const struct step *s)
{
    struct plan_scenario *ps = c->ps;
    switch (s->kind) {
    case STEP_REQUEST: {
        int ri = plan_compile_request_step(c, s);
        if (ri < 0)
            return -1;
        if (add_op(c, OP_REQUEST, (uint32_t)ri, 0, 0, 0, 0) < 0)
            goto oom;
        return 0;
    }
    case STEP_THINK:
        if (add_op(c, OP_THINK, 0, 0, 0, s->think_min_ns, s->think_max_ns) < 0)
            goto oom;
        return 0;
    case STEP_REPEAT: {
        if (c->depth >= TEMPLATE_MAX_LOOPS) {
            plan_errf(c, s->pos, "repeat nested too deep (at most %d repeats inside one another)", TEMPLATE_MAX_LOOPS);
            return -1;
        }
        uint32_t slot = (uint32_t)c->depth, count = s->repeat ? s->repeat : 1;
        /* an anonymous loop keeps its slot; "" is a name no ${...} can match */
        c->loops[c->depth++] = (struct template_loopvar){s->repeat_as ? s->repeat_as : "", 1, count};
        if (c->depth > ps->nloops)
            ps->nloops = c->depth;
        if (add_op(c, OP_LOOP, slot, count, 0, 0, 0) < 0)
            goto oom;
        uint32_t first = (uint32_t)ps->nops;
        if (compile_steps(c, s->steps, s->nsteps) < 0)
            return -1;
        if (add_op(c, OP_NEXT, slot, count, first, 0, 0) < 0)
            goto oom;
        c->depth--;
        return 0;
    }
    case STEP_PICK:
        return compile_pick_step(c, s);
    case STEP_HLS:
        return compile_hls_step(c, s);
    }
    plan_errf(c, s->pos, "unknown step kind %d", (int)s->kind);
    return -1;
oom:
    plan_errf(c, s->pos, "out of memory");
    return -1;
}

static int compile_steps(struct cc *c, const struct step *st, int n)
{
    for (int i = 0; i < n; i++)
        if (compile_step(c, &st[i]) < 0)
            return -1;
    return 0;
}

int plan_compile_flow(struct cc *c)
{
    const struct scenario *s = c->s;
    if (collect_captures(c, s->flow, s->nflow) < 0)
        return -1;
    if (c->has_hls && c->ncap >= PLAN_MAX_CAPTURES) {
        plan_errf(c, c->first_hls->pos, "hls: scenario '%s' captures %d names, which leaves no slot for the "
                  "playlist URIs (at most %d names with an hls step)", s->name, c->ncap, PLAN_MAX_CAPTURES - 1);
        return -1;
    }
    if (c->has_hls)
        c->captures[c->ncap] = HLS_URI_SLOT_NAME;   /* scope only; c->ncap stays the user count */
    c->ps->ncaptures = c->ncap + (c->has_hls ? 1 : 0);
    if (compile_steps(c, s->flow, s->nflow) < 0)
        return -1;
    if (add_op(c, OP_END, 0, 0, 0, 0, 0) < 0) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    return 0;
}
