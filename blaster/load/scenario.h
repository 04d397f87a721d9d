/* scenario — the model of a scenario file, as loaded (DESIGN.md, "Scenario
 * files"): k6's vocabulary in YAML.
 *
 * The loader resolves `${NAME:-default}` from the environment (and -e K=V)
 * in every scalar before it is typed, so `vus: ${UPLOAD_VUS:-100}` is a
 * number. Runtime slots stay in the strings as written, for the template
 * compiler: `${vu}`, `${iter}`, a `repeat` loop variable, a capture name, and
 * `${one_of:a,b,c}`. Everything here is owned by the scenario_file and freed
 * with it; nothing here is touched while a run is going (the plan compiled
 * from it is). */
#ifndef BLASTER_SCENARIO_H
#define BLASTER_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most arrivals per second an arrival-rate executor (or quick mode's
 * -R) may ask for, in all: schedules count in nanoseconds, so more than one
 * a nanosecond cannot be told apart (and is some thousand times what one
 * worker can send). Refused when loading, never discovered by the run. */
#define SCENARIO_MAX_RATE 1e9

/* A position in the scenario file, 1-based, for error messages. */
struct srcpos { int line, col; };

struct kv {
    char *name;
    char *value;          /* template text */
    struct srcpos pos;
};

enum capture_kind { CAPTURE_HEADER, CAPTURE_JSON };

struct capture {
    char *slot;           /* the name later steps use: ${slot} */
    enum capture_kind kind;
    char *path;           /* header name, or a JSON path: data.upload_id, items[0].id */
    struct srcpos pos;
};

enum body_kind { BODY_NONE, BODY_TEXT, BODY_JSON, BODY_FILE, BODY_BYTES };

enum step_kind { STEP_REQUEST, STEP_THINK, STEP_REPEAT, STEP_PICK, STEP_HLS };

enum hls_variant { HLS_LOWEST, HLS_HIGHEST, HLS_NAMED };

struct step;

struct pick_branch {
    uint32_t     weight;      /* > 0 */
    struct step *steps;       /* a branch is a step list; the inline form {weight, get: ...} is one request */
    int          nsteps;
    struct srcpos pos;
};

struct step {
    enum step_kind kind;
    struct srcpos  pos;
    char          *name;          /* the `name` tag: given, or "METHOD path" as written */
    struct kv     *tags;          /* extra tags of this step */
    int            ntags;

    /* STEP_REQUEST */
    char          *method;        /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
    char          *path;          /* template: "/api/v1/x?q=${one_of:a,b}" or an absolute http(s) URL */
    struct kv     *headers;       /* step headers, on top of defaults.headers */
    int            nheaders;
    enum body_kind body_kind;
    char          *body;          /* BODY_TEXT: template text; BODY_JSON: the JSON text (compact) as a
                                     template; BODY_FILE: the file's path, relative to the scenario file */
    uint64_t       body_bytes;    /* BODY_BYTES: size of a synthetic body */
    int           *expect_status; /* statuses that count as success; NULL: 200-399 (k6's default) */
    int            nexpect;
    struct capture *captures;
    int            ncaptures;
    int64_t        timeout_ns;    /* 0: defaults.timeout */
    bool           literal;       /* path, header values and a BODY_TEXT body are sent as written, no
                                     ${...} slots; the body is referenced (quick mode's command line) */

    /* STEP_THINK: a fixed pause (min == max) or uniform in [min, max] */
    int64_t        think_min_ns, think_max_ns;

    /* STEP_REPEAT */
    uint32_t       repeat;        /* count, >= 1 */
    char          *repeat_as;     /* loop variable name (1-based index), or NULL */
    struct step   *steps;         /* body of the loop */
    int            nsteps;

    /* STEP_PICK */
    struct pick_branch *branches;
    int            nbranches;

    /* STEP_HLS: master playlist → a variant → its media playlist → N segments */
    char          *hls_master;    /* template path or URL of the master playlist */
    enum hls_variant hls_variant;
    char          *hls_variant_name; /* HLS_NAMED: matched against the variant's NAME or its URI */
    uint32_t       hls_segments;  /* 0: every segment of the media playlist */
};

enum executor_kind {
    EXEC_CONSTANT_VUS,
    EXEC_RAMPING_VUS,
    EXEC_CONSTANT_ARRIVAL_RATE,
    EXEC_RAMPING_ARRIVAL_RATE,
    EXEC_PER_VU_ITERATIONS,
    EXEC_SHARED_ITERATIONS,
};

struct stage {
    int64_t duration_ns;
    double  target;           /* VUs (ramping-vus) or iterations per time_unit (ramping-arrival-rate) */
    struct srcpos pos;
};

struct scenario {
    char          *name;
    struct srcpos  pos;
    enum executor_kind executor;
    /* k6's options, by executor (0 where not given; the loader applies k6's defaults) */
    uint32_t       vus;               /* constant-vus, per-vu-iterations, shared-iterations (default 1) */
    int64_t        duration_ns;       /* constant-vus, constant-arrival-rate */
    uint32_t       start_vus;         /* ramping-vus (default 1) */
    struct stage  *stages;            /* ramping-vus, ramping-arrival-rate */
    int            nstages;
    double         rate;              /* constant-arrival-rate: iterations per time_unit */
    double         start_rate;        /* ramping-arrival-rate (default 0) */
    int64_t        time_unit_ns;      /* arrival-rate executors (default 1s) */
    uint32_t       pre_allocated_vus; /* arrival-rate executors */
    uint32_t       max_vus;           /* arrival-rate executors (default pre_allocated_vus) */
    uint64_t       iterations;        /* per-vu-iterations (per VU, default 1), shared-iterations (total, default 1) */
    int64_t        max_duration_ns;   /* iteration executors (default 10m) */
    int64_t        start_time_ns;     /* default 0 */
    int64_t        graceful_stop_ns;  /* default 30s */
    int64_t        graceful_ramp_down_ns; /* ramping-vus (default 30s) */
    int64_t        pace_ns;           /* closed-model VU executors: start an iteration every pace (0: back to back) */
    bool           poisson;           /* constant-arrival-rate: exponential gaps (quick mode's --poisson) */
    bool           preconnect;        /* VUs connect when they become active (quick mode: wrk's -c) */
    char          *target;            /* base URL override for this scenario, or NULL */
    struct kv     *tags;
    int            ntags;
    struct step   *flow;
    int            nflow;
};

struct threshold_spec {
    char    *metric;          /* as written, with its tag filter: "http_req_duration{scenario:browse}" */
    char    *expr;            /* "p(95)<500" */
    bool     abort_on_fail;
    int64_t  delay_abort_eval_ns;
    struct srcpos pos;
};

struct scenario_file {
    char    *path;
    char    *target;          /* base URL, e.g. "http://127.0.0.1:8080" (required) */
    struct {
        struct kv *headers;
        int        nheaders;
        int64_t    timeout_ns;      /* default 60s, like k6 */
        bool       discard_bodies;  /* default true: bodies are framed and counted, not kept (captures keep what they need) */
        struct kv *tags;
        int        ntags;
    } defaults;
    struct {                        /* `tls:`, for https targets */
        bool     insecure;          /* skip certificate verification (k6's insecureSkipTLSVerify) */
        bool     resume;            /* resume sessions on reconnect (default true) */
        char    *cacert;            /* PEM bundle to trust instead of the system store, or NULL */
        char    *cert, *key;        /* client certificate and key (PEM), or NULL */
        char    *server_name;       /* SNI and the name to verify, instead of the target's host */
        int      min_version, max_version; /* 0 (1.2..1.3), 12 or 13 */
        struct srcpos pos;
    } tls;
    struct threshold_spec *thresholds;
    int      nthresholds;
    char   **summary_trend_stats;   /* NULL: k6's default list */
    int      nsummary_trend_stats;
    struct scenario *scenarios;
    int      nscenarios;
    void    *arena_;                /* private: every allocation above */
};

/* Load a scenario file. env: extra "K=V" strings that win over the process
 * environment (-e). 0, or -1 with err holding "FILE:LINE:COL: what was wrong,
 * what was expected" (e.g. "mixed.yaml:12:7: unknown key 'vu' in scenario
 * 'upload' (expected one of: executor, vus, duration, ...)"). */
int  scenario_load(const char *path, const char *const *env, int nenv,
                   struct scenario_file *out, char *err, size_t errlen);
/* The same from a string; name is what errors call the file. */
int  scenario_load_string(const char *name, const char *yaml, size_t len,
                          const char *const *env, int nenv,
                          struct scenario_file *out, char *err, size_t errlen);
void scenario_free(struct scenario_file *sf);

#endif
