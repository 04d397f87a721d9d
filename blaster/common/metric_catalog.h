/* metric_catalog — the one list of the metrics blaster knows: for each its
 * k6 name, type (counter, rate, trend, gauge), what it contains (k6's
 * "contains": default, time, data), where its samples live (a field of
 * struct metrics, summed or merged over requests and workers, or of struct
 * scenario_metrics) and how a threshold may filter it.
 *
 * Every other place reads this table: the threshold loader and parser
 * (names, types, suggestions), the report's aggregation (which field to sum
 * or merge), the JSON export (which metrics, in which order) and the merge
 * of the workers' metrics (metrics_add_counters). Adding a metric is one
 * line here, plus the code that measures it.
 *
 * Must not know about plans, reports or output formats. */
#ifndef BLASTER_METRIC_CATALOG_H
#define BLASTER_METRIC_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_RATE, METRIC_TREND };

/* "counter", "gauge", "rate", "trend" (for messages and JSON "type" fields). */
const char *metric_type_name(enum metric_type t);

/* Where a metric's samples live. */
enum metric_scope {
    MSCOPE_NONE,      /* k6 has it, blaster does not measure it (http_req_blocked, ...) */
    MSCOPE_REQUEST,   /* a field of struct metrics: summed (merged) over the selected requests */
    MSCOPE_SCENARIO,  /* a field of struct scenario_metrics: per scenario, filtered by scenario only */
};

/* The metrics whose values need more than reading their field (the rest are
 * read generically by offset). */
enum metric_id {
    MID_PLAIN,        /* nothing special: field is the counter, or the histogram */
    MID_REQS,         /* http_reqs: expected_response splits reqs into ok and failed */
    MID_FAILED,       /* http_req_failed: true samples = failed, of all reqs */
    MID_DURATION,     /* http_req_duration: expected_response:true has its own histogram */
    MID_VUS,          /* gauges: the last value and the peak */
    MID_VUS_MAX,
};

#define MF_TLS_ONLY   0x1  /* listed only when the run did TLS (or a threshold names it) */
#define MF_EXPECTED   0x2  /* takes the expected_response tag filter */
#define MF_CHECKS     0x4  /* listed only when the run had checks (or a threshold names it) */
#define MF_LISTED_LAST 0x8 /* the JSON export lists it after the others (which it sorts by name, as k6) */

struct metric_def {
    const char       *name;      /* k6's name */
    enum metric_type  type;
    const char       *contains;  /* k6's "contains": default, time, data */
    enum metric_scope scope;
    enum metric_id    id;
    size_t            field;     /* offsetof the counter / histogram; rate: the true samples */
    size_t            field2;    /* rate: the false samples (MID_FAILED: unused);
                                    MF_EXPECTED trend: the expected responses' histogram */
    unsigned          flags;
    const char       *what;      /* one line for people: what it counts */
};

/* The i-th metric (k6's first, then blaster's own), or NULL past the last. */
const struct metric_def *metric_at(int i);
/* The metric named name, or NULL (case-sensitive, as k6). */
const struct metric_def *metric_find(const char *name);
/* The first metric with that id (not MID_PLAIN), or NULL. */
const struct metric_def *metric_by_id(enum metric_id id);

/* The type of a known metric (measured or not). 0 and *type set, or -1 if the
 * name is not a known metric (type untouched). */
int metric_type_of(const char *name, enum metric_type *type);

/* The i-th known metric name, or NULL past the last: for listing them in messages. */
const char *metric_name_at(int i);

/* The known metric name closest to name (a typo: "http_req_durations",
 * "http_req_fail"), or NULL when none is close enough to be a likely intent.
 * For "unknown metric 'x' (did you mean 'y'?)" messages. */
const char *metric_suggest(const char *name);

/* The i-th uint64_t counter of struct metrics that merges by sum (the
 * fields of the request-scoped counters and rates above, and the counters
 * that are no k6 metric: queued, connects, ...): its offset in *off; false
 * past the last. */
bool metric_sum_field(int i, size_t *off);

#endif
