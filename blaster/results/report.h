/* report — the end-of-test report of a run, one pipeline for both modes
 * (`blaster run FILE` and quick mode `blaster URL`, whose plan is a
 * one-scenario plan and whose header and shorter layout are report_quick):
 * the file's thresholds compiled against the plan and evaluated on the
 * merged metrics, the text summary in k6's layout (THRESHOLDS, TOTAL
 * RESULTS, a section per scenario with its per-step table, then blaster's
 * client verdict), the JSON shaped like the `data` object of k6's
 * handleSummary (--summary-export), so that what users wrote for k6 (jq
 * one-liners, k6-html-reporter, CI gates) reads it unchanged, and the exit
 * code. Which metrics exist, their types and where their samples live is
 * the metric catalog's (metric_catalog.h).
 *
 * Every value comes from the per-request metrics of the plan's scenarios
 * (struct scenario_metrics, already merged over workers by the caller):
 *   - a metric is the merge of every request of every scenario;
 *   - a sub-metric "name{tag:value,...}" merges the requests whose tags match
 *     every filter: scenario (the scenario's name), name (the step's name tag),
 *     method, expected_response (true: the response had an expected status);
 *   - per-scenario metrics (iterations, dropped_iterations, iteration_duration,
 *     vus, vus_max) take a scenario filter only.
 * Units are k6's: trends in milliseconds (the histograms hold µs), rates as
 * fractions, counters' rate per second of elapsed_s.
 *
 * Nothing here belongs on a worker's hot path: computing a metric merges
 * histograms into freshly allocated ones. report_thresholds_abort_due is
 * meant for the main thread, on a merged snapshot of the workers' metrics,
 * every THRESHOLD_EVAL_PERIOD_NS (abortOnFail). */
#ifndef BLASTER_REPORT_H
#define BLASTER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blaster/common/hist.h"
#include "blaster/common/metrics.h"
#include "blaster/compile/plan.h"
#include "blaster/load/threshold.h"
#include "blaster/run/verdict.h"

/* Quick mode's header and layout: the command line's load. */
struct report_quick {
    const char *url;
    const char *method;
    int         connections;
    double      duration_s;      /* as asked */
    double      rate;            /* 0: closed model */
    bool        poisson;
    bool        latency_detail;  /* --latency: percentile tables */
};

/* What one run produced, as the report reads it. Nothing is copied: every
 * pointer must stay valid while the report functions run. */
struct report_input {
    const struct plan *plan;              /* scenarios, requests; plan->file: thresholds, trend stats (may be NULL) */
    const struct scenario_metrics *m;     /* plan->nsc of them, in plan order, merged over workers */
    double      elapsed_s;                /* how long the run went (counters' rates are per second of it) */
    bool        stopped;                  /* stopped early by a signal */
    const char *aborted_by;               /* "metric: expr" of the threshold that aborted the run, or NULL */
    int         nworkers;
    const struct worker_report *workers;  /* nworkers of them */
    struct verdict verdict;               /* the client verdict */
    const char *ring_mode;                /* io_uring setup mode, or NULL */
    const char *fatal;                    /* why the run could not go on, or NULL */
    const struct report_quick *quick;     /* quick mode's header and layout; NULL: a scenario file's */
};

/* One threshold of the file, compiled. */
struct report_threshold {
    const struct threshold_spec *spec;    /* as written: position, abortOnFail, delayAbortEval */
    struct metric_ref ref;                /* the metric and its tag filter */
    enum metric_type  type;
    struct threshold  th;                 /* the expression */
    char key[600];                        /* the metric's key in the JSON export and the summary: the
                                             canonical form of ref (never truncated: a metric_ref's
                                             longest form is 576 characters), shared by every
                                             threshold whose ref is equal (filters in another order) */
    /* Set by report_thresholds_eval: */
    bool   ok;                            /* holds (k6's end-of-run semantics, threshold_eval) */
    bool   has_observed;                  /* false: nothing to compare (a rate without samples) */
    double observed;                      /* what was compared with the limit: ms, fraction, count, ... */
    /* Private: the resolved filter. */
    int    sc_;                           /* scenario index, -1: any */
    int    expected_;                     /* expected_response: -1 any, 0 false, 1 true */
};

struct report_thresholds {
    struct report_threshold *v;
    int n;
};

/* Compile the thresholds of p->file (none when p->file is NULL: quick mode)
 * into *out, which the caller frees with report_thresholds_free. Each error
 * names "FILE:LINE:COL:" (the expression's position in the scenario file)
 * and what was wrong:
 *   - an unknown metric, with metric_suggest's guess ("did you mean ...?");
 *   - a known metric blaster does not measure (http_req_blocked, _sending,
 *     _receiving);
 *   - a tag filter other than scenario, name, method, expected_response
 *     ("tag filter 'status' is not supported yet (supported: ...)"), or one
 *     that does not apply to the metric (name on iterations, say);
 *   - a filter value that matches nothing in the plan: an unknown scenario
 *     (naming the plan's scenarios), an unknown step name or method, a
 *     combination with no request ({scenario:a, name:only_in_b}),
 *     expected_response other than true/false (false is only taken by
 *     http_reqs and http_req_failed);
 *   - an expression that does not parse or does not fit the metric's type
 *     (threshold_parse's message).
 * 0, or -1 with *out empty (n == 0, v == NULL) and err set. */
int  report_thresholds_compile(const struct plan *p, struct report_thresholds *out, char *err, size_t errlen);
void report_thresholds_free(struct report_thresholds *t);
/* How many of t (evaluated) failed; 0 for NULL. */
int  report_thresholds_failed(const struct report_thresholds *t);

/* Evaluate every threshold of t on in's metrics with k6's end-of-run
 * semantics (threshold_eval): sets ok, has_observed, observed. Returns how
 * many failed (0: all hold; the caller exits 99 otherwise, as k6 does).
 * t may be NULL or empty: 0. */
int  report_thresholds_eval(struct report_thresholds *t, const struct report_input *in);

/* For abortOnFail during the run, on a snapshot of the merged metrics at
 * elapsed_ns since the start: the index of the first threshold that must
 * stop the run now (threshold_abort_due: abortOnFail set, samples seen,
 * failing, past delayAbortEval), with "metric: expr" written to by; -1 when
 * none. Updates ok/observed of the thresholds it evaluates. */
int  report_thresholds_abort_due(struct report_thresholds *t, const struct report_input *in,
                                 int64_t elapsed_ns, char *by, size_t bylen);

/* The text summary (k6's end-of-test layout, plus blaster's additions: the
 * per-step tables, status codes, error classes, the client verdict; with
 * in->quick, quick mode's header and shorter layout). t: the evaluated
 * thresholds, or NULL. Trend lines show the file's summary_trend_stats (k6's
 * default avg min med max p(90) p(95) when it has none), and always p(99)
 * and p(99.9). */
void report_print(FILE *f, const struct report_input *in, const struct report_thresholds *t);

/* Write the handleSummary-shaped JSON to path:
 *   metrics     every built-in metric blaster measures, plus each threshold's
 *               sub-metric and http_req_duration{expected_response:true}, each
 *               {type, contains, values, thresholds?}; thresholds map each
 *               expression as written to {ok}. http_req_tls_handshaking and
 *               tls_handshakes only when the run did TLS (a handshake or a tls error) or
 *               a threshold names them;
 *   root_group  {name "", path "", id md5(""), groups [], checks [{name, path
 *               "::name", id md5(path), passes, fails}]}: a check per distinct
 *               check name (the steps' `expect`), merged across scenarios as
 *               k6 merges same-named checks of one group;
 *   options     {summaryTrendStats, summaryTimeUnit "", noColor false};
 *   state       {isStdOutTTY, isStdErrTTY, testRunDurationMs};
 *   blaster     what k6 has no place for (k6 tools ignore it): version, file,
 *               per-scenario and per-step breakdowns, status_codes, errors,
 *               queued, interrupted, connects, tls {handshakes, resumed,
 *               protocol, last_error} (only when the run did TLS), stopped,
 *               aborted_by, thresholds_failed, verdict {status (OK,
 *               CLIENT-LIMITED, HOST-LIMITED), reasons, evidence,
 *               timer_lateness {p(50), p(99), p(99.9) in ms, wake_ups} or
 *               null, workers}, error.
 * With in->quick: quick mode's metrics (http_reqs, iterations, data, the
 * trends, http_req_failed, vus = the connections) and "blaster" {version,
 * url, method, threads, connections, rate, duration_s, model, ring_mode,
 * status_codes, errors, queued, interrupted, connects, stopped, verdict,
 * tls, error}.
 * t: the evaluated thresholds, or NULL. 0, or -1 with err naming the file
 * and why. */
int  report_export(const char *path, const struct report_input *in, const struct report_thresholds *t,
                   char *err, size_t errlen);

/* How a run ended, for its exit code. */
struct run_outcome {
    bool fatal;              /* it could not start, a worker gave up, or the report could not be written */
    int  thresholds_failed;
    bool aborted;            /* a threshold with abortOnFail stopped it */
    bool signaled;           /* SIGINT or SIGTERM stopped it (and no abort had already) */
};

/* The exit code of a run, the same for both modes, k6's where k6 has one:
 * 2 on a fatal error, else 99 when a threshold with abortOnFail stopped it,
 * else 105 when a signal stopped it (k6's ExternalAbort: CI tells an
 * aborted run from a green one, whatever its thresholds said so far), else
 * 99 when a threshold failed, else 0. Usage and configuration errors exit
 * 1 before any run (k6: 104). */
int  report_exit_code(const struct run_outcome *o);

/* ---- k6's trend statistics and ids ---- */

/* A trend statistic: avg, min, med, max, count, or p(N). */
enum report_stat_kind { RSTAT_AVG, RSTAT_MIN, RSTAT_MED, RSTAT_MAX, RSTAT_COUNT, RSTAT_P };
struct report_stat {
    char name[24];               /* as written: "p(95)" */
    enum report_stat_kind kind;
    double p;                    /* RSTAT_P: the percentile, 0..100 */
};

/* Parse "avg", "min", "med", "max", "count" or "p(N)" (0 <= N <= 100). 0 or -1. */
int    report_stat_parse(const char *s, struct report_stat *out);
/* The MD5 of len bytes at data as 32 lower-case hex digits and a NUL (k6's group and check ids). */
void report_md5_hex(const void *data, size_t len, char out[33]);

#endif
