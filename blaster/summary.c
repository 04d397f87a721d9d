/* summary — see summary.h. */
#include "blaster/summary.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "blaster/report.h"
#include "blaster/units.h"

/* The trend statistics, in k6's order (k6's summaryTrendStats default, plus
 * the two tail percentiles blaster always reports). */
static const struct report_stat trend_stats[] = {
    { "avg", RSTAT_AVG, 0 },   { "min", RSTAT_MIN, 0 },   { "med", RSTAT_MED, 0 },   { "max", RSTAT_MAX, 0 },
    { "p(90)", RSTAT_P, 90 },  { "p(95)", RSTAT_P, 95 },  { "p(99)", RSTAT_P, 99 },  { "p(99.9)", RSTAT_P, 99.9 },
};
#define NSTATS ((int)(sizeof trend_stats / sizeof trend_stats[0]))

/* The line formats are report.c's (k6's layout, shared with `blaster run`):
 * names indented 5, dots to 32 columns. */
static void name_line(FILE *f, const char *name)
{
    report_name_line(f, 5, 32, name);
}

static void trend_line(FILE *f, const char *name, const struct hist *h)
{
    report_trend_line(f, 5, 32, name, h, trend_stats, NSTATS);
}

static void counter_line(FILE *f, const char *name, double count, double elapsed, bool bytes)
{
    report_counter_line(f, 5, 32, name, count, elapsed, bytes);
}

/* Did the run do TLS at all? Plain-HTTP summaries show no TLS line. */
static bool tls_seen(const struct metrics *m)
{
    return report_tls_seen(m->handshakes, m->errors[ERR_TLS]);
}

static void percentile_table(FILE *f, const char *title, const struct hist *h)
{
    static const double ps[] = { 50, 75, 90, 99, 99.9, 99.99, 99.999, 100 };
    char buf[32];
    fprintf(f, "  %s distribution\n", title);
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double us = ps[i] == 100 ? (double)hist_max(h) : (double)hist_percentile(h, ps[i]);
        fprintf(f, "    %8.3f%%  %s\n", ps[i], units_fmt_duration(buf, sizeof buf, us * 1000));
    }
}

void summary_print(FILE *f, const struct run_report *r)
{
    const struct metrics *m = r->m;
    char buf[64];
    fprintf(f, "\n  blaster %s — %s %s\n", BLASTER_VERSION, r->method, r->url);
    fprintf(f, "  %d worker%s (%s), %d connections, %s, ", r->threads, r->threads == 1 ? "" : "s",
            r->ring_mode ? r->ring_mode : "?", r->connections,
            units_fmt_duration(buf, sizeof buf, r->duration_s * 1e9));
    if (r->rate > 0)
        fprintf(f, "open model at %.0f req/s (%s)\n", r->rate, r->poisson ? "poisson" : "constant");
    else
        fprintf(f, "closed model (as fast as the server answers)\n");
    if (r->stopped)
        fprintf(f, "  stopped early by a signal after %.1fs\n", r->elapsed_s);
    fputc('\n', f);

    counter_line(f, "data_received", (double)m->bytes_recv, r->elapsed_s, true);
    counter_line(f, "data_sent", (double)m->bytes_sent, r->elapsed_s, true);
    counter_line(f, "dropped_iterations", (double)m->dropped, r->elapsed_s, false);
    trend_line(f, "http_req_connecting", &m->connecting);
    trend_line(f, "http_req_duration", &m->duration);
    name_line(f, "http_req_failed");
    fprintf(f, "%.2f%%  %llu out of %llu\n", m->reqs ? 100.0 * (double)m->failed / (double)m->reqs : 0.0,
            (unsigned long long)m->failed, (unsigned long long)m->reqs);
    trend_line(f, "http_req_service", &m->service);
    bool tls = tls_seen(m);
    if (tls)
        trend_line(f, "http_req_tls_handshaking", &m->tls_handshaking);
    trend_line(f, "http_req_waiting", &m->waiting);
    counter_line(f, "http_reqs", (double)m->reqs, r->elapsed_s, false);
    if (tls)
        report_tls_line(f, 5, 32, m->handshakes, m->resumed, m->tls_protocol, r->elapsed_s);

    name_line(f, "status");
    bool any = false;
    for (int s = 0; s < METRICS_MAX_STATUS; s++)
        if (m->status[s]) {
            fprintf(f, "%s%d=%llu", any ? " " : "", s, (unsigned long long)m->status[s]);
            any = true;
        }
    fprintf(f, "%s\n", any ? "" : "none");
    name_line(f, "errors");
    for (int e = 0; e < ERR__COUNT; e++)
        fprintf(f, "%s%s=%llu", e ? " " : "", err_class_name[e], (unsigned long long)m->errors[e]);
    fputc('\n', f);
    report_error_causes(f, 7, m->errors, m->last_errno, m->tls_reason);
    if (m->queued || m->interrupted) {
        name_line(f, "requests");
        fprintf(f, "%llu waited for a free connection, %llu in flight at the end (not counted)\n",
                (unsigned long long)m->queued, (unsigned long long)m->interrupted);
    }

    if (r->latency_detail) {
        fputc('\n', f);
        percentile_table(f, "http_req_duration", &m->duration);
        percentile_table(f, "http_req_service", &m->service);
    }

    fprintf(f, "\n  client verdict: %s\n", r->verdict.client_limited ? "CLIENT-LIMITED" : "OK");
    for (int i = 0; i < r->verdict.nreasons; i++)
        fprintf(f, "     - %s\n", r->verdict.reasons[i]);
    trend_line(f, "client_lag", &m->lag);
    name_line(f, "client_cpu");
    for (int w = 0; w < r->nworkers; w++) {
        fprintf(f, "%sworker%d=%.0f%%", w ? " " : "", w, r->workers[w].busy * 100);
        if (r->workers[w].wait >= 0)
            fprintf(f, " (waited %.1f%%)", r->workers[w].wait * 100);
    }
    fputc('\n', f);
    if (r->rate <= 0)
        fprintf(f, "     note: closed model: each connection waits for its previous response, so a server stall\n"
                   "           delays the next request instead of showing in latency. Use -R RATE to see stalls.\n");
    if (r->fatal)
        fprintf(f, "\n  error: %s\n", r->fatal);
    fputc('\n', f);
}

/* --- JSON, in the shape of k6's handleSummary data ------------------------- */

static json_t *trend_json(const struct hist *h)
{
    json_t *v = json_object();
    for (int i = 0; i < NSTATS; i++)
        json_object_set_new(v, trend_stats[i].name, json_real(report_stat_value(h, &trend_stats[i])));
    return json_pack("{s:s, s:s, s:o}", "type", "trend", "contains", "time", "values", v);
}

static json_t *counter_json(double count, double elapsed, const char *contains)
{
    return json_pack("{s:s, s:s, s:{s:f, s:f}}", "type", "counter", "contains", contains, "values",
                     "count", count, "rate", elapsed > 0 ? count / elapsed : 0.0);
}

int summary_export(const char *path, const struct run_report *r, char *err, size_t errlen)
{
    const struct metrics *m = r->m;
    json_t *metrics = json_object();
    json_object_set_new(metrics, "http_reqs", counter_json((double)m->reqs, r->elapsed_s, "default"));
    json_object_set_new(metrics, "iterations", counter_json((double)(m->reqs - m->errors[ERR_REFUSED]), r->elapsed_s, "default"));
    json_object_set_new(metrics, "data_sent", counter_json((double)m->bytes_sent, r->elapsed_s, "data"));
    json_object_set_new(metrics, "data_received", counter_json((double)m->bytes_recv, r->elapsed_s, "data"));
    json_object_set_new(metrics, "dropped_iterations", counter_json((double)m->dropped, r->elapsed_s, "default"));
    json_object_set_new(metrics, "http_req_duration", trend_json(&m->duration));
    json_object_set_new(metrics, "http_req_service", trend_json(&m->service));
    json_object_set_new(metrics, "http_req_waiting", trend_json(&m->waiting));
    json_object_set_new(metrics, "http_req_connecting", trend_json(&m->connecting));
    json_object_set_new(metrics, "client_lag", trend_json(&m->lag));
    /* k6 always lists http_req_tls_handshaking (zeros over plain HTTP);
     * blaster only when the run did TLS, so plain-HTTP exports are unchanged. */
    bool tls = tls_seen(m);
    if (tls) {
        json_object_set_new(metrics, "http_req_tls_handshaking", trend_json(&m->tls_handshaking));
        json_object_set_new(metrics, "tls_handshakes", counter_json((double)m->handshakes, r->elapsed_s, "default"));
    }
    /* k6's Rate: passes counts the true values — here, the failed requests. */
    json_object_set_new(metrics, "http_req_failed",
        json_pack("{s:s, s:s, s:{s:f, s:I, s:I}}", "type", "rate", "contains", "default", "values",
                  "rate", m->reqs ? (double)m->failed / (double)m->reqs : 0.0,
                  "passes", (json_int_t)m->failed, "fails", (json_int_t)(m->reqs - m->failed)));
    json_object_set_new(metrics, "vus",
        json_pack("{s:s, s:s, s:{s:i, s:i, s:i}}", "type", "gauge", "contains", "default", "values",
                  "value", r->connections, "min", r->connections, "max", r->connections));

    json_t *status = json_object(), *errors = json_object(), *workers = json_array(), *reasons = json_array();
    for (int s = 0; s < METRICS_MAX_STATUS; s++)
        if (m->status[s]) {
            char k[8];
            snprintf(k, sizeof k, "%d", s);
            json_object_set_new(status, k, json_integer((json_int_t)m->status[s]));
        }
    for (int e = 0; e < ERR__COUNT; e++)
        json_object_set_new(errors, err_class_name[e], json_integer((json_int_t)m->errors[e]));
    for (int w = 0; w < r->nworkers; w++)
        json_array_append_new(workers, json_pack("{s:f, s:f}", "busy", r->workers[w].busy, "wait", r->workers[w].wait));
    for (int i = 0; i < r->verdict.nreasons; i++)
        json_array_append_new(reasons, json_string(r->verdict.reasons[i]));

    json_t *trend_names = json_array();
    for (int i = 0; i < NSTATS; i++)
        json_array_append_new(trend_names, json_string(trend_stats[i].name));

    json_t *root = json_pack(
        "{s:{s:s, s:s, s:s, s:[], s:[]}, s:{s:o, s:s, s:b}, s:{s:b, s:b, s:f}, s:o,"
        " s:{s:s, s:s, s:s, s:i, s:i, s:f, s:f, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:b,"
        "    s:{s:s, s:o, s:o}}}",
        "root_group", "name", "", "path", "", "id", "d41d8cd98f00b204e9800998ecf8427e", "groups", "checks",
        "options", "summaryTrendStats", trend_names, "summaryTimeUnit", "", "noColor", false,
        "state", "isStdOutTTY", isatty(1) != 0, "isStdErrTTY", isatty(2) != 0, "testRunDurationMs", r->elapsed_s * 1000,
        "metrics", metrics,
        "blaster", "version", BLASTER_VERSION, "url", r->url, "method", r->method,
        "threads", r->threads, "connections", r->connections, "rate", r->rate, "duration_s", r->duration_s,
        "model", r->rate > 0 ? (r->poisson ? "open-poisson" : "open-constant") : "closed",
        "ring_mode", r->ring_mode ? r->ring_mode : "",
        "status_codes", status, "errors", errors,
        "queued", (json_int_t)m->queued, "interrupted", (json_int_t)m->interrupted,
        "connects", (json_int_t)m->connects, "stopped", r->stopped,
        "verdict", "status", r->verdict.client_limited ? "CLIENT-LIMITED" : "OK", "reasons", reasons,
        "workers", workers);
    if (!root) {
        snprintf(err, errlen, "--summary-export %s: could not build the JSON", path);
        return -1;
    }
    if (tls)
        json_object_set_new(json_object_get(root, "blaster"), "tls",
                            report_tls_json(m->handshakes, m->resumed, m->tls_protocol, m->tls_reason));
    if (r->fatal)
        json_object_set_new(json_object_get(root, "blaster"), "error", json_string(r->fatal));
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc != 0) {
        snprintf(err, errlen, "--summary-export %s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
