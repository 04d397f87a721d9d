/* quick — see quick.h. */
#include "blaster/load/quick.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_S 1000000000LL
#define QUICK_MAX_GRACE_NS (2 * NS_PER_S)

/* The executor the flags ask for (quick.h). */
static void quick_executor(struct scenario *sc, const struct cli *c)
{
    sc->duration_ns = c->duration_ns;
    /* In-flight requests may finish after the end, but not for long. */
    sc->graceful_stop_ns = c->timeout_ns < QUICK_MAX_GRACE_NS ? c->timeout_ns : QUICK_MAX_GRACE_NS;
    sc->time_unit_ns = NS_PER_S;
    if (c->rate > 0) {
        sc->executor = EXEC_CONSTANT_ARRIVAL_RATE;
        sc->rate = c->rate;
        sc->pre_allocated_vus = sc->max_vus = (uint32_t)c->connections;
        sc->poisson = c->poisson;
    } else {
        sc->executor = EXEC_CONSTANT_VUS;
        sc->vus = (uint32_t)c->connections;
    }
    sc->preconnect = true; /* wrk's -c: connections kept open from the start */
}

/* The one request: the URL's path on its origin, sent as written. */
static void quick_step(struct quick_model *q, const struct cli *c)
{
    struct step *st = &q->step;
    snprintf(q->name, sizeof q->name, "%s %s", c->method, q->url.path);
    *st = (struct step){
        .kind = STEP_REQUEST, .name = q->name, .method = (char *)c->method, .path = q->url.path,
        .headers = q->headers, .nheaders = c->nheaders, .literal = true,
    };
    for (int i = 0; i < c->nheaders; i++)
        q->headers[i] = (struct kv){ .name = (char *)c->headers[i].name, .value = (char *)c->headers[i].value };
    if (c->body) {
        st->body_kind = BODY_TEXT;
        st->body = (char *)c->body;
    } else if (c->body_file) {
        st->body_kind = BODY_FILE;
        st->body = (char *)c->body_file;
    }
}

int quick_model_build(struct quick_model *q, const struct cli *c, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    if (url_parse(c->url, &q->url, err, errlen) != 0)
        return -1;
    /* The target is the origin: the path (query included, which a target
     * may not hold) is the step's. */
    snprintf(q->target, sizeof q->target, "%s://%s", q->url.https ? "https" : "http", q->url.hostport);
    quick_step(q, c);
    q->sc = (struct scenario){ .name = "default", .flow = &q->step, .nflow = 1 };
    quick_executor(&q->sc, c);
    q->sf = (struct scenario_file){ .target = q->target, .scenarios = &q->sc, .nscenarios = 1 };
    q->sf.defaults.timeout_ns = c->timeout_ns;
    q->sf.tls.resume = true;
    return 0;
}
