/* plan — see plan.h. This file compiles a scenario file scenario by
 * scenario: its target (URL, resolved address, TLS), its executor settings
 * (copied into the plan: the engine never reads the model), and its flow
 * (plan_flow.c, whose requests plan_request.c compiles and whose large
 * bodies plan_body.c shares); and it frees a plan. plan_int.h is what these
 * files share. */
#include "blaster/compile/plan_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void plan_errf(struct cc *c, struct srcpos pos, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return;
    int w = 0;
    if (c->sf->path || pos.line > 0)
        w = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->sf->path ? c->sf->path : "<scenario>",
                     pos.line, pos.col);
    if (w >= 0 && (size_t)w < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + w, c->errlen - (size_t)w, fmt, ap);
        va_end(ap);
    }
}

char *plan_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool plan_grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return true;
    int nc = *cap ? *cap * 2 : 8;
    void *na = realloc(*arr, (size_t)nc * elem);
    if (!na)
        return false;
    memset((char *)na + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = na;
    *cap = nc;
    return true;
}

char *plan_escape_literal(const char *s, size_t n)
{
    size_t extra = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == '{')
            extra++;
    char *out = malloc(n + extra + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{')
            *o++ = '$';
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}


/* The executor settings of s into ps->exec, its stages copied (the plan
 * owns them), so that nothing at run time reads the scenario model. */
static int compile_executor(struct cc *c)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    struct executor_stage *st = NULL;
    if (s->nstages > 0 && !(st = calloc((size_t)s->nstages, sizeof *st))) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->nstages; i++)
        st[i] = (struct executor_stage){ .duration_ns = s->stages[i].duration_ns, .target = s->stages[i].target };
    ps->exec = (struct executor_config){
        .executor = s->executor, .vus = s->vus, .duration_ns = s->duration_ns, .start_vus = s->start_vus,
        .stages = st, .nstages = st ? s->nstages : 0,
        .rate = s->rate, .start_rate = s->start_rate, .time_unit_ns = s->time_unit_ns,
        .pre_allocated_vus = s->pre_allocated_vus, .max_vus = s->max_vus, .iterations = s->iterations,
        .max_duration_ns = s->max_duration_ns, .start_time_ns = s->start_time_ns,
        .graceful_stop_ns = s->graceful_stop_ns, .graceful_ramp_down_ns = s->graceful_ramp_down_ns,
        .pace_ns = s->pace_ns, .poisson = s->poisson, .preconnect = s->preconnect,
    };
    ps->max_vus = executor_max_vus(&ps->exec, 0, 1);
    return 0;
}

/* url, addr and prefix of c->ps from the scenario's target. */
static int scenario_target(struct cc *c, int idx)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    const char *target = s->target ? s->target : c->sf->target;
    if (!target || !*target) {
        plan_errf(c, s->pos, "scenario '%s': no target (give `target: http://host:port` at the top of the file "
             "or in the scenario)", s->name);
        return -1;
    }
    char uerr[400];
    if (url_parse(target, &ps->url, uerr, sizeof uerr) < 0) {
        plan_errf(c, s->pos, "scenario '%s': target: %s", s->name, uerr);
        return -1;
    }
    ps->tls = ps->url.https;
    ps->server_name = c->sf->tls.server_name ? c->sf->tls.server_name : ps->url.host;
    c->p->any_tls |= ps->tls;
    if (strchr(ps->url.path, '?')) {
        plan_errf(c, s->pos, "scenario '%s': target '%s': a query in the target is not supported "
             "(put it in the steps' paths)", s->name, target);
        return -1;
    }
    /* Resolve a target once: a scenario with the same target as an earlier one takes its address. */
    bool done = false;
    for (int j = 0; j < idx && !done; j++) {
        const struct plan_scenario *o = &c->p->sc[j];
        const char *ot = c->sf->scenarios[j].target ? c->sf->scenarios[j].target : c->sf->target;
        if (ot && strcmp(ot, target) == 0) {
            ps->addr = o->addr;
            ps->addrlen = o->addrlen;
            done = true;
        }
    }
    if (!done && url_resolve(&ps->url, &ps->addr, &ps->addrlen, uerr, sizeof uerr) < 0) {
        plan_errf(c, s->pos, "scenario '%s': target '%s': %s", s->name, target, uerr);
        return -1;
    }
    size_t plen = strlen(ps->url.path);
    while (plen > 0 && ps->url.path[plen - 1] == '/')
        plen--;
    c->prefix = plan_escape_literal(ps->url.path, plen);
    if (!c->prefix) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    return 0;
}

static int compile_scenario(struct cc *c, int idx)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    ps->name = plan_strdup(s->name ? s->name : "default");
    if (!ps->name) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    if (scenario_target(c, idx) < 0 || plan_compile_flow(c) < 0)
        return -1;
    return compile_executor(c);
}

int plan_compile(const struct scenario_file *sf, struct plan *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->file = sf;
    if (sf->nscenarios > 0) {
        out->sc = calloc((size_t)sf->nscenarios, sizeof *out->sc);
        if (!out->sc) {
            snprintf(err, errlen, "%s: out of memory", sf->path ? sf->path : "<scenario>");
            return -1;
        }
    }
    for (int i = 0; i < sf->nscenarios; i++) {
        struct cc c = {.sf = sf, .s = &sf->scenarios[i], .p = out, .ps = &out->sc[i], .err = err, .errlen = errlen};
        out->nsc = i + 1;
        int rc = compile_scenario(&c, i);
        free(c.prefix);
        if (rc < 0) {
            plan_free(out);
            return -1;
        }
    }
    /* The file's `tls:`, its files next to the scenario file like a body's. */
    const char *files[3] = { sf->tls.cacert, sf->tls.cert, sf->tls.key };
    for (int i = 0; i < 3; i++) {
        if (files[i] && !(out->tls_files_[i] = plan_body_file_path(sf, files[i]))) {
            snprintf(err, errlen, "%s: out of memory", sf->path ? sf->path : "<scenario>");
            plan_free(out);
            return -1;
        }
    }
    out->tls = (struct tls_config){
        .insecure = sf->tls.insecure, .resume = sf->tls.resume,
        .cafile = out->tls_files_[0], .certfile = out->tls_files_[1], .keyfile = out->tls_files_[2],
        .min_version = sf->tls.min_version, .max_version = sf->tls.max_version,
    };
    return 0;
}

void plan_free(struct plan *p)
{
    for (int i = 0; i < p->nsc; i++) {
        struct plan_scenario *ps = &p->sc[i];
        free(ps->name);
        free((void *)ps->exec.stages);
        free(ps->ops);
        for (int k = 0; k < ps->nreqs; k++) {
            struct plan_request *r = &ps->reqs[k];
            template_request_free(&r->t);
            free(r->name);
            free(r->method);
            free(r->check_name);
            for (int j = 0; j < r->ncaptures; j++)
                free(r->captures[j].path);
        }
        free(ps->reqs);
        for (int k = 0; k < ps->npicks; k++) {
            free(ps->picks[k].cumulative);
            free(ps->picks[k].target);
        }
        free(ps->picks);
        for (int k = 0; k < ps->nhls; k++) {
            free(ps->hls[k].name);
            free(ps->hls[k].variant_name);
        }
        free(ps->hls);
    }
    free(p->sc);
    for (int i = 0; i < 3; i++)
        free(p->tls_files_[i]);
    plan_blobs_free(p);
    memset(p, 0, sizeof *p);
}

uint32_t plan_pick_branch(const struct plan_pick *pk, uint32_t r)
{
    uint32_t b = 0;
    while (b + 1 < pk->n && r >= pk->cumulative[b])
        b++;
    return b;
}
