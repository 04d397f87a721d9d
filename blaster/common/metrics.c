/* metrics — see metrics.h. Which counters sum is the metric catalog's
 * (metric_sum_field): a new counter is merged once it is listed there. */
#include "blaster/common/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/common/metric_catalog.h"

const char *const err_class_name[ERR__COUNT] = {
    [ERR_REFUSED] = "refused", [ERR_RESET] = "reset", [ERR_TIMEOUT] = "timeout",
    [ERR_PARSE] = "parse",     [ERR_TLS] = "tls",     [ERR_OTHER] = "other",
};

#define HIST_HIGHEST_US (3600LL * 1000 * 1000) /* one hour */

#define NHISTS 7

static struct hist *hists(struct metrics *m, int i)
{
    struct hist *all[] = { &m->duration, &m->service, &m->waiting, &m->connecting, &m->lag, &m->duration_ok,
                           &m->tls_handshaking };
    return i < (int)(sizeof all / sizeof all[0]) ? all[i] : NULL;
}

int metrics_init(struct metrics *m, int sigfigs)
{
    memset(m, 0, sizeof *m);
    struct hist *h;
    for (int i = 0; (h = hists(m, i)); i++) {
        if (hist_init(h, 1, HIST_HIGHEST_US, sigfigs) != 0) {
            metrics_free(m);
            return -ENOMEM;
        }
    }
    return 0;
}

void metrics_free(struct metrics *m)
{
    struct hist *h;
    for (int i = 0; (h = hists(m, i)); i++)
        if (h->counts)
            hist_free(h);
}

void metrics_add_counters(struct metrics *dst, const struct metrics *src)
{
    size_t off;
    for (int i = 0; metric_sum_field(i, &off); i++)
        *(uint64_t *)((char *)dst + off) += *(const uint64_t *)((const char *)src + off);
    for (int i = 0; i < METRICS_MAX_STATUS; i++)
        dst->status[i] += src->status[i];
    for (int i = 0; i < ERR__COUNT; i++) {
        dst->errors[i] += src->errors[i];
        if (src->last_errno[i])
            dst->last_errno[i] = src->last_errno[i];
    }
    if (src->tls_protocol[0])
        memcpy(dst->tls_protocol, src->tls_protocol, sizeof dst->tls_protocol);
    if (src->tls_reason[0])
        memcpy(dst->tls_reason, src->tls_reason, sizeof dst->tls_reason);
}

void metrics_merge(struct metrics *dst, const struct metrics *src)
{
    struct hist *h;
    for (int i = 0; (h = hists(dst, i)); i++)
        hist_merge(h, hists((struct metrics *)src, i));
    metrics_add_counters(dst, src);
}

int scenario_metrics_init(struct scenario_metrics *m, int nreq, int sigfigs)
{
    memset(m, 0, sizeof *m);
    m->req = calloc((size_t)(nreq ? nreq : 1), sizeof *m->req);
    if (!m->req || hist_init(&m->iteration_duration, 1, HIST_HIGHEST_US, sigfigs) != 0) {
        free(m->req);
        m->req = NULL;
        return -ENOMEM;
    }
    for (int i = 0; i < nreq; i++) {
        if (metrics_init(&m->req[i], sigfigs) != 0) {
            m->nreq = i;
            scenario_metrics_free(m);
            return -ENOMEM;
        }
    }
    m->nreq = nreq;
    return 0;
}

void scenario_metrics_free(struct scenario_metrics *m)
{
    for (int i = 0; i < m->nreq; i++)
        metrics_free(&m->req[i]);
    free(m->req);
    if (m->iteration_duration.counts)
        hist_free(&m->iteration_duration);
    memset(m, 0, sizeof *m);
}

void scenario_metrics_merge(struct scenario_metrics *dst, const struct scenario_metrics *src)
{
    for (int i = 0; i < dst->nreq && i < src->nreq; i++)
        metrics_merge(&dst->req[i], &src->req[i]);
    hist_merge(&dst->iteration_duration, &src->iteration_duration);
    dst->iterations += src->iterations;
    dst->dropped += src->dropped;
    dst->interrupted += src->interrupted;
    dst->vus_max += src->vus_max; /* workers run disjoint VUs: the sum bounds the whole */
    dst->vus += src->vus;
}

void metrics_copy_growing(struct metrics *dst, const struct metrics *src)
{
    /* The scalar fields wholesale, then each histogram by its occupied range
     * (the struct copy would alias the counts arrays). */
    struct hist keep[NHISTS];
    struct hist *h;
    for (int i = 0; (h = hists(dst, i)); i++)
        keep[i] = *h;
    *dst = *src;
    for (int i = 0; (h = hists(dst, i)); i++) {
        *h = keep[i];
        hist_copy_growing(h, hists((struct metrics *)src, i));
    }
}

void scenario_metrics_copy_growing(struct scenario_metrics *dst, const struct scenario_metrics *src)
{
    for (int i = 0; i < dst->nreq && i < src->nreq; i++)
        metrics_copy_growing(&dst->req[i], &src->req[i]);
    hist_copy_growing(&dst->iteration_duration, &src->iteration_duration);
    dst->iterations = src->iterations;
    dst->dropped = src->dropped;
    dst->interrupted = src->interrupted;
    dst->vus_max = src->vus_max;
    dst->vus = src->vus;
}

void scenario_metrics_reset(struct scenario_metrics *m)
{
    for (int i = 0; i < m->nreq; i++) {
        struct metrics *r = &m->req[i];
        struct hist keep[NHISTS];
        struct hist *h;
        for (int k = 0; (h = hists(r, k)); k++) {
            hist_reset(h);
            keep[k] = *h;
        }
        memset(r, 0, sizeof *r);
        for (int k = 0; (h = hists(r, k)); k++)
            *h = keep[k];
    }
    hist_reset(&m->iteration_duration);
    m->iterations = m->dropped = m->interrupted = 0;
    m->vus_max = m->vus = 0;
}

bool scenario_metrics_none_answered(const struct scenario_metrics *m, int nsc, char *why, size_t whylen)
{
    uint64_t reqs = 0, answered = 0, errors[ERR__COUNT] = { 0 };
    int last_errno[ERR__COUNT] = { 0 };
    for (int s = 0; s < nsc; s++)
        for (int q = 0; q < m[s].nreq; q++) {
            const struct metrics *r = &m[s].req[q];
            reqs += r->reqs;
            for (int st = 0; st < METRICS_MAX_STATUS; st++)
                answered += r->status[st];
            for (int e = 0; e < ERR__COUNT; e++) {
                errors[e] += r->errors[e];
                if (r->errors[e])
                    last_errno[e] = r->last_errno[e];
            }
        }
    if (reqs == 0 || answered > 0)
        return false;
    int top = 0;
    for (int e = 1; e < ERR__COUNT; e++)
        if (errors[e] > errors[top])
            top = e;
    snprintf(why, whylen, "no request succeeded: all %llu failed without a response, most with %s (%s)",
             (unsigned long long)reqs, err_class_name[top],
             last_errno[top] ? strerror(last_errno[top]) : "no errno");
    return true;
}
