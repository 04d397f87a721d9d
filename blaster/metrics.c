/* metrics — see metrics.h. */
#include "blaster/metrics.h"

#include <errno.h>
#include <string.h>

const char *const err_class_name[ERR__COUNT] = {
    [ERR_REFUSED] = "refused", [ERR_RESET] = "reset", [ERR_TIMEOUT] = "timeout",
    [ERR_PARSE] = "parse",     [ERR_TLS] = "tls",     [ERR_OTHER] = "other",
};

#define HIST_HIGHEST_US (3600LL * 1000 * 1000) /* one hour */

static struct hist *hists(struct metrics *m, int i)
{
    struct hist *all[] = { &m->duration, &m->service, &m->waiting, &m->connecting, &m->lag };
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

void metrics_merge(struct metrics *dst, const struct metrics *src)
{
    struct hist *h;
    for (int i = 0; (h = hists(dst, i)); i++)
        hist_merge(h, hists((struct metrics *)src, i));
    dst->reqs += src->reqs;
    dst->failed += src->failed;
    for (int i = 0; i < METRICS_MAX_STATUS; i++)
        dst->status[i] += src->status[i];
    for (int i = 0; i < ERR__COUNT; i++) {
        dst->errors[i] += src->errors[i];
        if (src->last_errno[i])
            dst->last_errno[i] = src->last_errno[i];
    }
    dst->bytes_sent += src->bytes_sent;
    dst->bytes_recv += src->bytes_recv;
    dst->dropped += src->dropped;
    dst->queued += src->queued;
    dst->interrupted += src->interrupted;
    dst->connects += src->connects;
}
