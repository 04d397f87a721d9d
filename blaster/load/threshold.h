/* threshold — k6's pass/fail criteria: parse, check against a metric's type,
 * evaluate, and decide when a failing threshold aborts the run.
 *
 * A scenario file writes thresholds exactly as a k6 script does:
 *
 *   thresholds:
 *     http_req_duration: ["p(95)<500", "p(99.9) <= 1500"]
 *     http_req_failed:   [{threshold: "rate<0.005", abortOnFail: true, delayAbortEval: 10s}]
 *     "http_req_duration{scenario:browse}": ["p(95)<400"]
 *
 * The key is a metric reference (a name and an optional tag filter, parsed by
 * metric_ref_parse); each string is one expression (threshold_parse), checked
 * against the metric's type (metric_type_of, from the metric catalog). Thresholds are unitless, as in
 * k6: time trends are in milliseconds, rates are fractions in 0..1.
 *
 * Everything here is pure: no allocation, no I/O, no clock. The caller owns
 * the metric values, the clock and the evaluation period. */
#ifndef BLASTER_THRESHOLD_H
#define BLASTER_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blaster/common/metric_catalog.h"

#define METRIC_REF_MAX_FILTERS 4

/* A metric name with an optional tag filter (a k6 sub-metric). */
struct metric_ref {
    char name[64];
    int  nfilters;
    struct { char key[32]; char value[96]; } filters[METRIC_REF_MAX_FILTERS];
};

/* Parse "name" or "name{key:value,key:value}" into *out.
 * - Whitespace around the name, braces, keys, values and commas is ignored;
 *   a value may be quoted ('browse' or "browse"), the quotes are dropped.
 * - The value is everything after the first ':' of its filter, so values
 *   may hold ':' ("url:http://x"), and the closing brace is the last '}' so
 *   they may hold braces ("name:/tracks/{id}"); they may not hold ','.
 * - Rejected (returns -1, err says what and where): empty name, name chars
 *   outside [A-Za-z0-9_] or not starting with a letter or '_', '{' without a
 *   final '}', '}' without '{', anything after the '}', "{}", a filter
 *   without ':', an empty key or value, a repeated key, more than
 *   METRIC_REF_MAX_FILTERS filters, a name/key/value too long for its field.
 * Does not check that the name is a known metric (metric_type_of does).
 * Returns 0 on success. out is fully written on success, unspecified on error. */
int metric_ref_parse(const char *s, struct metric_ref *out, char *err, size_t errlen);

/* The canonical key of r, as k6's summary names sub-metrics:
 * "http_req_duration" or "http_req_duration{scenario:browse,name:hls}" — the
 * filters in the order written, "key:value" with no spaces and no quotes.
 * (k6 copies the text between the braces verbatim; for the usual unspaced,
 * unquoted spelling the two are the same.) Always NUL-terminates when n > 0;
 * truncates to n-1 characters. */
void metric_ref_format(const struct metric_ref *r, char *buf, size_t n);

/* true when both refs name the same metric with the same filters, in any
 * order ("{a:1,b:2}" matches "{b:2,a:1}"): a sample with tags satisfying one
 * satisfies the other. */
bool metric_ref_equal(const struct metric_ref *a, const struct metric_ref *b);

enum th_agg { TH_AVG, TH_MIN, TH_MAX, TH_MED, TH_P, TH_RATE, TH_COUNT, TH_VALUE };
enum th_op  { TH_LT, TH_LE, TH_GT, TH_GE, TH_EQ, TH_NE };

/* "<", "<=", ">", ">=", "==", "!=". */
const char *th_op_str(enum th_op op);

/* One parsed threshold expression. */
struct threshold {
    enum th_agg agg;
    double      p;          /* TH_P only: the percentile, in (0, 100] */
    enum th_op  op;
    double      limit;
    char        source[64]; /* the expression as written, trimmed: messages and JSON keys */
};

/* Parse one expression: aggregation, operator, number, with optional
 * whitespace between the tokens ("p(95)<500", "p( 99.9 ) <= 1500").
 *   aggregation: avg min max med p(N) rate count value  (lower case, as k6)
 *   operator:    <  <=  >  >=  ==  ===  !=              ("===" is "==", as k6)
 *   number:      [+-]digits[.digits][e[+-]digits], also ".5" and "5."; no units
 * and check the aggregation fits the metric type, as k6 does:
 *   counter: count, rate (per second)   gauge: value
 *   rate:    rate (fraction true)       trend: avg, min, max, med, p(N)
 * metric is the metric's key as written, used only in messages (NULL: left out).
 * Returns 0, or -1 with err naming the expression and what was expected:
 *   "'p(95)<500' on http_reqs: a counter takes count or rate"
 *   "'p95<500': unknown aggregation 'p95' (did you mean 'p(95)'?)"
 *   "'p(95)<500ms': unexpected 'ms' after 500 (thresholds are unitless: ...)"
 * Rejected also: p(0), p(101), p() and malformed percentiles, a missing or
 * lone '=' operator, a missing number, trailing text, expressions longer
 * than 63 characters. */
int threshold_parse(const char *expr, const char *metric, enum metric_type type,
                    struct threshold *out, char *err, size_t errlen);

/* What a threshold is checked against. Fields by type (others ignored):
 *   counter: count = the total, rate = count per second of run time
 *   gauge:   value = the last value, count = samples seen (0: never set)
 *   rate:    rate = non-zero samples / count, count = samples
 *   trend:   count = samples; avg, min, max, med in ms; percentile(ctx, p)
 *            returns the p-th percentile in ms, p in percent (95, 99.9).
 * percentile may be NULL when no TH_P threshold is evaluated on the metric. */
struct metric_values {
    enum metric_type type;
    double count, rate, value, avg, min, max, med;
    double (*percentile)(const void *ctx, double p);
    const void *ctx;
};

/* The value t compares against its limit, in *out. false when the metric
 * has nothing to compare: a rate with no samples (k6 then skips it), or a
 * TH_P threshold with no percentile callback. A trend with no samples yields
 * 0 for every aggregation, as k6's empty trend sink does (the callback is
 * not called). */
bool threshold_observed(const struct threshold *t, const struct metric_values *v, double *out);

/* End-of-run verdict of one threshold: true when it holds (passes).
 * Semantics follow k6's final evaluation:
 *   - a trend with no samples compares 0: "p(95)<500" passes, "min>0" fails;
 *   - a rate with no samples passes, whatever the expression;
 *   - a counter or gauge compares the values given (0 when nothing happened);
 *   - comparisons are IEEE: a NaN value fails everything but "!=";
 *   - a TH_P threshold without a percentile callback fails (fail closed). */
bool threshold_eval(const struct threshold *t, const struct metric_values *v);

/* abortOnFail / delayAbortEval of one threshold. */
struct threshold_abort {
    bool    abort_on_fail;
    int64_t delay_ns;       /* delayAbortEval; <= 0: none */
};

/* How often the run evaluates thresholds that may abort it (k6: every 2 s). */
#define THRESHOLD_EVAL_PERIOD_NS (2LL * 1000 * 1000 * 1000)

/* One periodic evaluation during the run: true when t, failing now, must stop
 * the run (the caller then stops it and exits 99, like k6). As in k6:
 *   - only thresholds with abort_on_fail can abort;
 *   - a metric with no samples yet (v->count == 0) is not evaluated: no abort;
 *   - with a delay, a failing threshold aborts only once elapsed_ns > delay_ns
 *     (strictly: at exactly the delay it does not); without one, at once.
 * The end-of-run verdict is threshold_eval's, not this function's. */
bool threshold_abort_due(const struct threshold *t, const struct threshold_abort *a,
                         const struct metric_values *v, int64_t elapsed_ns);

#endif
