/* metric_catalog — see metric_catalog.h. The table is in the order messages
 * list the metrics: k6's first, then blaster's own (the JSON export sorts
 * them by name, MF_LISTED_LAST ones after the rest). */
#include "blaster/common/metric_catalog.h"

#include <stdint.h>
#include <string.h>

#include "blaster/common/metrics.h"
#include "blaster/common/suggest.h"

#define REQ(f)  offsetof(struct metrics, f)
#define SC(f)   offsetof(struct scenario_metrics, f)

static const struct metric_def catalog[] = {
    { "http_reqs", METRIC_COUNTER, "default", MSCOPE_REQUEST, MID_REQS, REQ(reqs), 0, MF_EXPECTED,
      "responses and failed attempts" },
    { "http_req_duration", METRIC_TREND, "time", MSCOPE_REQUEST, MID_DURATION, REQ(duration), REQ(duration_ok),
      MF_EXPECTED, "intended start to last byte" },
    { "http_req_failed", METRIC_RATE, "default", MSCOPE_REQUEST, MID_FAILED, REQ(failed), 0, MF_EXPECTED,
      "requests that failed: errors and statuses outside 200-399 (true)" },
    { "http_req_connecting", METRIC_TREND, "time", MSCOPE_REQUEST, MID_PLAIN, REQ(connecting), 0, 0,
      "connect started to established" },
    { "http_req_tls_handshaking", METRIC_TREND, "time", MSCOPE_REQUEST, MID_PLAIN, REQ(tls_handshaking), 0,
      MF_TLS_ONLY, "TCP connected to TLS handshake done" },
    { "http_req_waiting", METRIC_TREND, "time", MSCOPE_REQUEST, MID_PLAIN, REQ(waiting), 0, 0,
      "first byte sent to first byte received" },
    { "http_req_sending", METRIC_TREND, "time", MSCOPE_NONE, MID_PLAIN, 0, 0, 0,
      "k6's time writing the request: not measured" },
    { "http_req_receiving", METRIC_TREND, "time", MSCOPE_NONE, MID_PLAIN, 0, 0, 0,
      "k6's first to last byte received: not measured" },
    { "http_req_blocked", METRIC_TREND, "time", MSCOPE_NONE, MID_PLAIN, 0, 0, 0,
      "k6's wait for a free connection slot: not measured" },
    { "http_req_service", METRIC_TREND, "time", MSCOPE_REQUEST, MID_PLAIN, REQ(service), 0, 0,
      "first byte sent to last byte (blaster's)" },
    { "iterations", METRIC_COUNTER, "default", MSCOPE_SCENARIO, MID_PLAIN, SC(iterations), 0, 0,
      "iterations completed" },
    { "iteration_duration", METRIC_TREND, "time", MSCOPE_SCENARIO, MID_PLAIN, SC(iteration_duration), 0, 0,
      "one pass of a VU through its steps" },
    { "dropped_iterations", METRIC_COUNTER, "default", MSCOPE_SCENARIO, MID_PLAIN, SC(dropped), 0, 0,
      "iterations due that could not even be queued" },
    { "data_sent", METRIC_COUNTER, "data", MSCOPE_REQUEST, MID_PLAIN, REQ(bytes_sent), 0, 0,
      "bytes sent" },
    { "data_received", METRIC_COUNTER, "data", MSCOPE_REQUEST, MID_PLAIN, REQ(bytes_recv), 0, 0,
      "bytes received" },
    { "vus", METRIC_GAUGE, "default", MSCOPE_SCENARIO, MID_VUS, 0, 0, 0,
      "VUs active: the last value and the peak" },
    { "vus_max", METRIC_GAUGE, "default", MSCOPE_SCENARIO, MID_VUS_MAX, 0, 0, 0,
      "most VUs active at once" },
    { "checks", METRIC_RATE, "default", MSCOPE_REQUEST, MID_PLAIN, REQ(checks_pass), REQ(checks_fail), MF_CHECKS,
      "responses whose status the step's expect allows (true) or not" },
    { "client_lag", METRIC_TREND, "time", MSCOPE_REQUEST, MID_PLAIN, REQ(lag), 0, MF_LISTED_LAST,
      "actual send minus intended send, connection ready (blaster's)" },
    { "tls_handshakes", METRIC_COUNTER, "default", MSCOPE_REQUEST, MID_PLAIN, REQ(handshakes), 0, MF_TLS_ONLY,
      "TLS handshakes completed, full and resumed (blaster's)" },
};
#define NCATALOG ((int)(sizeof catalog / sizeof catalog[0]))

/* The counters of struct metrics that sum but are no metric of their own. */
static const size_t extra_sums[] = {
    REQ(dropped), REQ(queued), REQ(interrupted), REQ(connects), REQ(resumed),
};

const char *metric_type_name(enum metric_type t)
{
    switch (t) {
    case METRIC_COUNTER: return "counter";
    case METRIC_GAUGE:   return "gauge";
    case METRIC_RATE:    return "rate";
    case METRIC_TREND:   return "trend";
    }
    return "?";
}

const struct metric_def *metric_at(int i)
{
    return i >= 0 && i < NCATALOG ? &catalog[i] : NULL;
}

const struct metric_def *metric_find(const char *name)
{
    for (int i = 0; name && i < NCATALOG; i++)
        if (strcmp(catalog[i].name, name) == 0)
            return &catalog[i];
    return NULL;
}

const struct metric_def *metric_by_id(enum metric_id id)
{
    for (int i = 0; id != MID_PLAIN && i < NCATALOG; i++)
        if (catalog[i].id == id)
            return &catalog[i];
    return NULL;
}

int metric_type_of(const char *name, enum metric_type *type)
{
    const struct metric_def *d = metric_find(name);
    if (!d)
        return -1;
    *type = d->type;
    return 0;
}

const char *metric_name_at(int i)
{
    const struct metric_def *d = metric_at(i);
    return d ? d->name : NULL;
}

const char *metric_suggest(const char *name)
{
    if (!name || !*name)
        return NULL;
    const char *best = NULL;
    int bestd = 1000;
    for (int i = 0; i < NCATALOG; i++) {
        int d = suggest_distance(name, catalog[i].name);
        if (d < bestd) {
            bestd = d;
            best = catalog[i].name;
        }
    }
    /* A third of the name, at least 1, at most 4 edits: "vu" -> "vus" yes,
     * "foo" -> "vus" no. */
    int len = (int)strlen(name);
    int allowed = len / 3;
    if (allowed < 1)
        allowed = 1;
    if (allowed > 4)
        allowed = 4;
    return bestd <= allowed ? best : NULL;
}

/* The request-scoped counters and rates name their fields; MID_FAILED's
 * total is http_reqs' field, counted there. */
static int metric_fields(const struct metric_def *d, size_t out[2])
{
    if (d->scope != MSCOPE_REQUEST || d->type == METRIC_TREND || d->type == METRIC_GAUGE)
        return 0;
    out[0] = d->field;
    if (d->type == METRIC_RATE && d->id != MID_FAILED) {
        out[1] = d->field2;
        return 2;
    }
    return 1;
}

bool metric_sum_field(int i, size_t *off)
{
    for (int m = 0; m < NCATALOG; m++) {
        size_t f[2];
        int n = metric_fields(&catalog[m], f);
        if (i < n) {
            *off = f[i];
            return true;
        }
        i -= n;
    }
    if (i < (int)(sizeof extra_sums / sizeof extra_sums[0])) {
        *off = extra_sums[i];
        return true;
    }
    return false;
}
