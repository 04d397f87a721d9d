/* report_int — private to the report module (report*.c): the aggregation
 * that turns a run's per-request metrics into metric values (a metric's
 * name + tag filter → merged histogram or summed counters), and k6's line
 * formats the text summary is made of. The public interface is report.h.
 *
 * Files of the module, one concern each:
 *   report.c            the pipeline's entry points: the exit code
 *   report_aggregate.c  tag filters, request sums, merged trends, checks, steps
 *   report_format.c     k6's number and line formats, trend statistics, MD5
 *   report_thresholds.c thresholds compiled against the plan, evaluated on the metrics
 *   report_text.c       the text summary (k6's end-of-test layout; quick mode's shorter one)
 *   report_json.c       the JSON export (k6's handleSummary data) */
#ifndef BLASTER_REPORT_INT_H
#define BLASTER_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blaster/common/errf.h"
#include "blaster/common/metric_catalog.h"
#include "blaster/results/report.h"

#define NAME_WIDTH 32   /* metric name + dots (k6 pads names to one column) */
#define MAX_STATS  40

/* ---- aggregation (report_aggregate.c) ---------------------------------- */

/* Which requests (or scenarios) a metric merges. */
struct filter {
    int sc;              /* scenario index; -1: every scenario */
    const char *name;    /* the step's name tag; NULL: any */
    const char *method;  /* NULL: any */
    int expected;        /* expected_response: -1 any, 0 false, 1 true */
};

extern const struct filter filter_all;

/* Walks the metric slots a filter selects, scenario by scenario. */
struct slot_it {
    const struct report_input *in;
    const struct filter *f;
    int s, q;
};

/* The next selected slot's metrics (and its request in *rq, NULL when no
 * request names the slot), or NULL at the end. */
const struct metrics *rep_slot_next(struct slot_it *it, const struct plan_request **rq);

/* The counters of the selected requests, summed into s (no histograms). */
void rep_reqsum(const struct report_input *in, const struct filter *f, struct metrics *s);
/* Did the selection do TLS at all: a handshake completed (each one is also a
 * sample of http_req_tls_handshaking), or a tls error. Plain-HTTP runs
 * print and export no TLS line, as before TLS existed. */
bool rep_tls_seen(const struct metrics *s);
/* The trend d of the selection merged into out (which the caller frees);
 * an empty trend when nothing is selected. 0 or -ENOMEM. */
int  rep_hist(const struct report_input *in, const struct filter *f, const struct metric_def *d, struct hist *out);
/* rep_hist of the metric named name (a trend of the catalog). */
int  rep_hist_named(const struct report_input *in, const struct filter *f, const char *name, struct hist *out);

/* The per-scenario counters of the selected scenarios. */
struct scsum {
    uint64_t iterations, dropped, interrupted;
    uint64_t vus, vus_max;
    int nsc;
};
void rep_scsum(const struct report_input *in, const struct filter *f, struct scsum *s);

/* One metric's values, as k6's sinks hold them. */
struct mval {
    const struct metric_def *def;
    double   count;          /* counter: the total; trend: samples */
    double   rate;           /* counter: per second; rate: passes / (passes + fails) */
    uint64_t passes, fails;  /* rate: true and false samples */
    double   value, min, max;/* gauge */
    bool     gauge_set;
    struct hist h;           /* trend: merged, owned */
};

/* Compute metric d over the selection f. 0, or -ENOMEM (v still freeable). */
int  rep_mval_compute(const struct report_input *in, const struct metric_def *d, const struct filter *f,
                      struct mval *v);
void rep_mval_free(struct mval *v);
/* v as threshold_eval reads it (trend percentiles call back into v->h). */
void rep_mval_values(const struct mval *v, struct metric_values *out);

/* The trend statistics the summary shows: the file's summary_trend_stats,
 * else k6's default; then p(99) and p(99.9), which blaster always reports. */
struct stats {
    struct report_stat v[MAX_STATS];
    int n;
};
void rep_stats(const struct plan *p, struct stats *st);

/* The distinct step names of scenario s, in plan order (slots sharing a name
 * are one step, as k6's name tag makes them one). n written to *n; NULL with
 * *n == 0 when there are none or no memory. The caller frees the array. */
const char **rep_step_names(const struct report_input *in, int s, int *n);

/* One check per distinct check name, k6's root_group. */
struct check_row {
    char    *name;
    uint64_t passes, fails;
};
/* The checks of the selected requests, merged by name in order of first
 * appearance; their number, or -1 with no memory. */
int  rep_checks_collect(const struct report_input *in, const struct filter *f, struct check_row **out);
void rep_checks_free(struct check_row *c, int n);

/* Which side bounds scenario s (true: the client), with the evidence in why. */
bool rep_client_bound(const struct report_input *in, int s, char *why, size_t n);

/* The executor settings the report reads (of plan scenario ps). */
const char *rep_executor_name(const struct plan_scenario *ps);
bool rep_closed_without_pace(const struct plan_scenario *ps);

/* The filter a compiled threshold's reference selects (report_thresholds.c). */
void rep_threshold_filter(const struct report_threshold *t, struct filter *f);

/* ---- formats (report_format.c) ----------------------------------------- */

/* A statistic of h (µs samples) in ms; RSTAT_COUNT: the sample count. 0 when h is empty.
 * avg is hist_mean kept within [min, max] (bucket middles could put it outside). */
double rep_stat_value(const struct hist *h, const struct report_stat *st);
/* "<indent spaces>name......: " with dots up to width columns after the indent (at least 2). */
void rep_name_line(FILE *f, int indent, int width, const char *name);
/* A trend line: name, then "stat=value" cells (durations in k6's format), each padded
 * to the stat name's length + 10 columns but the last. */
void rep_trend_line(FILE *f, int indent, int width, const char *name, const struct hist *h,
                    const struct report_stat *stats, int nstats);
/* A counter line: the count ("%-9.0f" or bytes) and its rate per second of elapsed. */
void rep_counter_line(FILE *f, int indent, int width, const char *name, double count, double elapsed,
                      bool bytes);
/* The tls_handshakes counter line: count, rate per second of elapsed, then
 * "(N resumed, TLSv1.3)" (the protocol left out when unknown). */
void rep_tls_line(FILE *f, int indent, int width, uint64_t handshakes, uint64_t resumed,
                  const char *protocol, double elapsed);
/* "<indent spaces>class: last cause: why" for each error class that counted
 * errors and has a cause: the tls class says tls_reason (what TLS reported),
 * the others strerror of their last errno. */
void rep_error_causes(FILE *f, int indent, const uint64_t errors[ERR__COUNT],
                      const int last_errno[ERR__COUNT], const char *tls_reason);
/* Columns s takes on a terminal: UTF-8 aware, "µs" is two. */
int  rep_columns(const char *s);
/* s left- / right-aligned in width columns. */
void rep_lpad(FILE *f, const char *s, int width);
void rep_rpad(FILE *f, const char *s, int width);
/* k6's humanizeValue for rates: "1.20%", truncated to two decimals of a percent. */
const char *rep_fmt_pct(char *buf, size_t n, double frac);
/* A statistic of h as the summary prints it: a duration, or a count. */
void rep_fmt_stat(char *buf, size_t n, const struct hist *h, const struct report_stat *st);
/* The mean of h in µs, kept within [min, max]. */
double rep_mean_us(const struct hist *h);
/* "<pct>  <n> out of <total>", k6's rate line. */
void rep_rate_line(FILE *f, int indent, int width, const char *name, uint64_t yes, uint64_t total);
/* A gauge: value, min, max. */
void rep_gauge_line(FILE *f, int indent, const char *name, const struct mval *v);
/* "200=10 404=2" (with_errors: then "timeout=3"), or "none". No newline. */
void rep_status_list(FILE *f, const struct metrics *s, bool with_errors);
/* The status, errors (with their last causes) and queued/interrupted lines of s. */
void rep_outcome_lines(FILE *f, int indent, const struct metrics *s);

#endif
