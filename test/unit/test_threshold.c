/* Tables of good and bad threshold expressions and metric references, the
 * evaluation of every aggregation and operator at and around its limit,
 * k6's empty-metric rules, and the abortOnFail / delayAbortEval decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "blaster/load/threshold.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEC 1000000000ll

/* ---- threshold_parse: good ------------------------------------------- */

static const struct {
    const char      *in;
    enum metric_type type;
    enum th_agg      agg;
    double           p;
    enum th_op       op;
    double           limit;
    const char      *source;
} good_exprs[] = {
    {"p(95)<500",          METRIC_TREND,   TH_P,     95,   TH_LT, 500,    "p(95)<500"},
    {"p(99.9) <= 1500",    METRIC_TREND,   TH_P,     99.9, TH_LE, 1500,   "p(99.9) <= 1500"},
    {"p( 90 ) < 400",      METRIC_TREND,   TH_P,     90,   TH_LT, 400,    "p( 90 ) < 400"},
    {"p(100)<=3000",       METRIC_TREND,   TH_P,     100,  TH_LE, 3000,   "p(100)<=3000"},
    {"p(0.1)>0",           METRIC_TREND,   TH_P,     0.1,  TH_GT, 0,      "p(0.1)>0"},
    {"p(99.99)<10",        METRIC_TREND,   TH_P,     99.99,TH_LT, 10,     "p(99.99)<10"},
    {"  avg<200  ",        METRIC_TREND,   TH_AVG,   0,    TH_LT, 200,    "avg<200"},
    {"avg\t<\t200",        METRIC_TREND,   TH_AVG,   0,    TH_LT, 200,    "avg\t<\t200"},
    {"med<100",            METRIC_TREND,   TH_MED,   0,    TH_LT, 100,    "med<100"},
    {"min>0",              METRIC_TREND,   TH_MIN,   0,    TH_GT, 0,      "min>0"},
    {"max<3000",           METRIC_TREND,   TH_MAX,   0,    TH_LT, 3000,   "max<3000"},
    {"max >= 1",           METRIC_TREND,   TH_MAX,   0,    TH_GE, 1,      "max >= 1"},
    {"avg==0",             METRIC_TREND,   TH_AVG,   0,    TH_EQ, 0,      "avg==0"},
    {"avg===0",            METRIC_TREND,   TH_AVG,   0,    TH_EQ, 0,      "avg===0"},
    {"max!=0",             METRIC_TREND,   TH_MAX,   0,    TH_NE, 0,      "max!=0"},
    {"avg > -1",           METRIC_TREND,   TH_AVG,   0,    TH_GT, -1,     "avg > -1"},
    {"avg<.5",             METRIC_TREND,   TH_AVG,   0,    TH_LT, 0.5,    "avg<.5"},
    {"avg<5.",             METRIC_TREND,   TH_AVG,   0,    TH_LT, 5,      "avg<5."},
    {"avg<1e3",            METRIC_TREND,   TH_AVG,   0,    TH_LT, 1000,   "avg<1e3"},
    {"avg<499.999",        METRIC_TREND,   TH_AVG,   0,    TH_LT, 499.999,"avg<499.999"},
    {"rate<0.005",         METRIC_RATE,    TH_RATE,  0,    TH_LT, 0.005,  "rate<0.005"},
    {"rate>=0.99",         METRIC_RATE,    TH_RATE,  0,    TH_GE, 0.99,   "rate>=0.99"},
    {"count<10",           METRIC_COUNTER, TH_COUNT, 0,    TH_LT, 10,     "count<10"},
    {"count>=100",         METRIC_COUNTER, TH_COUNT, 0,    TH_GE, 100,    "count>=100"},
    {"rate>100",           METRIC_COUNTER, TH_RATE,  0,    TH_GT, 100,    "rate>100"},
    {"value<5",            METRIC_GAUGE,   TH_VALUE, 0,    TH_LT, 5,      "value<5"},
    {"value>+2",           METRIC_GAUGE,   TH_VALUE, 0,    TH_GT, 2,      "value>+2"},
};

static void test_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_exprs); i++) {
        struct threshold t;
        char err[256] = "";
        if (threshold_parse(good_exprs[i].in, "m", good_exprs[i].type, &t, err, sizeof err) != 0)
            fail_msg("'%s': unexpected error: %s", good_exprs[i].in, err);
        if (t.agg != good_exprs[i].agg || t.op != good_exprs[i].op ||
            t.limit != good_exprs[i].limit ||
            (t.agg == TH_P && t.p != good_exprs[i].p) ||
            strcmp(t.source, good_exprs[i].source) != 0)
            fail_msg("'%s': got agg %d p %g op %d limit %.17g source '%s'", good_exprs[i].in,
                     t.agg, t.p, t.op, t.limit, t.source);
    }
}

/* ---- threshold_parse: bad -------------------------------------------- */

static const struct {
    const char      *in;
    enum metric_type type;
    const char      *metric;
    const char      *want;     /* substring of the error */
} bad_exprs[] = {
    {"",                     METRIC_TREND,   "d", "empty threshold expression on d"},
    {"   ",                  METRIC_TREND,   "d", "empty threshold expression"},
    {"p95<500",              METRIC_TREND,   "d", "'p95<500': unknown aggregation 'p95' (did you mean 'p(95)'?)"},
    {"p99.9<500",            METRIC_TREND,   "d", "did you mean 'p(99.9)'"},
    {"P(95)<500",            METRIC_TREND,   "d", "did you mean 'p(95)'"},
    {"p<500",                METRIC_TREND,   "d", "did you mean 'p(95)'"},
    {"AVG<200",              METRIC_TREND,   "d", "did you mean 'avg'"},
    {"mean<200",             METRIC_TREND,   "d", "did you mean 'avg'"},
    {"median<100",           METRIC_TREND,   "d", "did you mean 'med'"},
    {"cout<10",              METRIC_COUNTER, "d", "did you mean 'count'"},
    {"foo<1",                METRIC_TREND,   "d", "unknown aggregation 'foo' (expected avg, min"},
    {"p(0)<500",             METRIC_TREND,   "d", "percentile 0 is out of range (expected p(N) with 0 < N <= 100)"},
    {"p(101)<500",           METRIC_TREND,   "d", "percentile 101 is out of range"},
    {"p(100.0001)<500",      METRIC_TREND,   "d", "out of range"},
    {"p(-5)<500",            METRIC_TREND,   "d", "malformed percentile 'p(-5)'"},
    {"p(abc)<500",           METRIC_TREND,   "d", "malformed percentile 'p(abc)'"},
    {"p()<500",              METRIC_TREND,   "d", "p() needs a percentile"},
    {"p(95<500",             METRIC_TREND,   "d", "unclosed 'p('"},
    {"p(95",                 METRIC_TREND,   "d", "unclosed 'p('"},
    {"p(9 5)<500",           METRIC_TREND,   "d", "malformed percentile"},
    {"avg(5)<1",             METRIC_TREND,   "d", "'avg' takes no argument"},
    {"p(95)",                METRIC_TREND,   "d", "'p(95)': missing comparison"},
    {"avg",                  METRIC_TREND,   "d", "missing comparison"},
    {"p(95) 500",            METRIC_TREND,   "d", "missing comparison operator before '500'"},
    {"p(95)<",               METRIC_TREND,   "d", "missing a number after '<'"},
    {"p(95) <=  ",           METRIC_TREND,   "d", "missing a number after '<='"},
    {"p(95)<abc",            METRIC_TREND,   "d", "expected a number after '<', got 'abc'"},
    {"p(95)<500ms",          METRIC_TREND,   "d", "unexpected 'ms' after 500 (thresholds are unitless"},
    {"p(95)<0.5s",           METRIC_TREND,   "d", "unexpected 's' after 0.5 (thresholds are unitless"},
    {"rate<0.5%",            METRIC_RATE,    "f", "0.005 for 0.5%"},
    {"p(95)<500 ms",         METRIC_TREND,   "d", "unexpected 'ms' after 500"},
    {"p(95)<500 && avg<200", METRIC_TREND,   "d", "unexpected '&& avg<200' after 500"},
    {"p(95)<500,",           METRIC_TREND,   "d", "unexpected ',' after 500"},
    {"avg=200",              METRIC_TREND,   "d", "'=' is not an operator (did you mean '=='?)"},
    {"avg=<200",             METRIC_TREND,   "d", "did you mean '<='"},
    {"avg=>200",             METRIC_TREND,   "d", "did you mean '>='"},
    {"avg<>200",             METRIC_TREND,   "d", "'<>' is not an operator"},
    {"avg <  < 200",         METRIC_TREND,   "d", "is not an operator"},
    {"<500",                 METRIC_TREND,   "d", "missing aggregation before '<'"},
    {"(95)<500",             METRIC_TREND,   "d", "unexpected '('"},
    {"avg<1e999",            METRIC_TREND,   "d", "number 1e999 is out of range"},
    {"avg<1.2.3",            METRIC_TREND,   "d", "unexpected '.3' after 1.2"},
    {"avg<0x10",             METRIC_TREND,   "d", "unexpected 'x10' after 0"},
    {"avg<inf",              METRIC_TREND,   "d", "expected a number after '<', got 'inf'"},
    {"avg<nan",              METRIC_TREND,   "d", "got 'nan'"},
    {"avg<-",                METRIC_TREND,   "d", "expected a number after '<', got '-'"},
    {"p(95)<500000000000000000000000000000000000000000000000000000000000000",
                             METRIC_TREND,   "d", "threshold expression too long"},
    /* Type mismatches: the message names the expression, the metric, what fits. */
    {"p(95)<500",            METRIC_COUNTER, "http_reqs",
                             "'p(95)<500' on http_reqs: a counter takes count or rate"},
    {"value<5",              METRIC_COUNTER, "http_reqs", "a counter takes count or rate"},
    {"count<10",             METRIC_RATE,    "http_req_failed",
                             "'count<10' on http_req_failed: a rate takes rate"},
    {"avg<0.1",              METRIC_RATE,    "checks", "a rate takes rate"},
    {"avg<1",                METRIC_GAUGE,   "vus", "'avg<1' on vus: a gauge takes value"},
    {"count<1",              METRIC_GAUGE,   "vus", "a gauge takes value"},
    {"rate<0.1",             METRIC_TREND,   "http_req_duration{scenario:browse}",
        "'rate<0.1' on http_req_duration{scenario:browse}: a trend takes avg, min, max, med or p(N)"},
    {"count>0",              METRIC_TREND,   "d", "a trend takes avg, min, max, med or p(N)"},
    {"value>0",              METRIC_TREND,   "d", "a trend takes"},
    {"p(95)<500",            METRIC_COUNTER, NULL, "'p(95)<500': a counter takes count or rate"},
};

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(bad_exprs); i++) {
        struct threshold t;
        char err[256] = "";
        if (threshold_parse(bad_exprs[i].in, bad_exprs[i].metric, bad_exprs[i].type, &t,
                            err, sizeof err) == 0)
            fail_msg("'%s': accepted, want an error with \"%s\"", bad_exprs[i].in, bad_exprs[i].want);
        if (!strstr(err, bad_exprs[i].want))
            fail_msg("'%s': error \"%s\" lacks \"%s\"", bad_exprs[i].in, err, bad_exprs[i].want);
    }
}

/* Errors never overflow a small buffer, and a NULL buffer is allowed. */
static void test_parse_small_err(void **state)
{
    (void)state;
    struct threshold t;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(threshold_parse("p95<500", "m", METRIC_TREND, &t, err, sizeof err), -1);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(threshold_parse("p95<500", "m", METRIC_TREND, &t, NULL, 0), -1);
    assert_int_equal(threshold_parse(NULL, "m", METRIC_TREND, &t, NULL, 0), -1);
}

/* Every aggregation is accepted by exactly the types k6 accepts it on. */
static void test_type_matrix(void **state)
{
    (void)state;
    static const struct { const char *expr; bool ok[4]; /* counter gauge rate trend */ } m[] = {
        {"count<1", {true,  false, false, false}},
        {"rate<1",  {true,  false, true,  false}},
        {"value<1", {false, true,  false, false}},
        {"avg<1",   {false, false, false, true}},
        {"min<1",   {false, false, false, true}},
        {"max<1",   {false, false, false, true}},
        {"med<1",   {false, false, false, true}},
        {"p(50)<1", {false, false, false, true}},
    };
    static const enum metric_type types[4] = {METRIC_COUNTER, METRIC_GAUGE, METRIC_RATE, METRIC_TREND};
    for (size_t i = 0; i < N(m); i++) {
        for (int j = 0; j < 4; j++) {
            struct threshold t;
            char err[256] = "";
            int rc = threshold_parse(m[i].expr, "m", types[j], &t, err, sizeof err);
            if ((rc == 0) != m[i].ok[j])
                fail_msg("'%s' on a %s: rc %d (%s)", m[i].expr, metric_type_name(types[j]), rc, err);
        }
    }
}

/* ---- metric references ------------------------------------------------ */

static const struct {
    const char *in;
    const char *name;
    int         n;
    const char *kv[4][2];
    const char *formatted;
} good_refs[] = {
    {"http_req_duration", "http_req_duration", 0, {{0}}, "http_req_duration"},
    {"  http_reqs  ", "http_reqs", 0, {{0}}, "http_reqs"},
    {"http_req_duration{scenario:browse}", "http_req_duration", 1,
     {{"scenario", "browse"}}, "http_req_duration{scenario:browse}"},
    {"http_req_duration{scenario:browse,name:hls_segment}", "http_req_duration", 2,
     {{"scenario", "browse"}, {"name", "hls_segment"}},
     "http_req_duration{scenario:browse,name:hls_segment}"},
    {" http_req_duration { scenario : browse , name : hls_segment } ", "http_req_duration", 2,
     {{"scenario", "browse"}, {"name", "hls_segment"}},
     "http_req_duration{scenario:browse,name:hls_segment}"},
    {"http_req_duration{name:\"my step\"}", "http_req_duration", 1,
     {{"name", "my step"}}, "http_req_duration{name:my step}"},
    {"http_req_duration{status:'200'}", "http_req_duration", 1,
     {{"status", "200"}}, "http_req_duration{status:200}"},
    {"http_req_duration{'status':\"200\"}", "http_req_duration", 1,
     {{"status", "200"}}, "http_req_duration{status:200}"},
    {"http_req_duration{url:http://x:8080/a}", "http_req_duration", 1,
     {{"url", "http://x:8080/a"}}, "http_req_duration{url:http://x:8080/a}"},
    {"http_req_duration{name:/tracks/{id}}", "http_req_duration", 1,
     {{"name", "/tracks/{id}"}}, "http_req_duration{name:/tracks/{id}}"},
    {"checks{check:status is 200}", "checks", 1,
     {{"check", "status is 200"}}, "checks{check:status is 200}"},
    {"http_req_duration{group:::login}", "http_req_duration", 1,
     {{"group", "::login"}}, "http_req_duration{group:::login}"},
    {"_custom9{a:1,b:2,c:3,d:4}", "_custom9", 4,
     {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, "_custom9{a:1,b:2,c:3,d:4}"},
    {"http_req_duration{expected_response:true}", "http_req_duration", 1,
     {{"expected_response", "true"}}, "http_req_duration{expected_response:true}"},
};

static void test_ref_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good_refs); i++) {
        struct metric_ref r, again;
        char err[256] = "", buf[256];
        if (metric_ref_parse(good_refs[i].in, &r, err, sizeof err) != 0)
            fail_msg("'%s': unexpected error: %s", good_refs[i].in, err);
        if (strcmp(r.name, good_refs[i].name) != 0 || r.nfilters != good_refs[i].n)
            fail_msg("'%s': got name '%s', %d filters", good_refs[i].in, r.name, r.nfilters);
        for (int j = 0; j < r.nfilters; j++)
            if (strcmp(r.filters[j].key, good_refs[i].kv[j][0]) != 0 ||
                strcmp(r.filters[j].value, good_refs[i].kv[j][1]) != 0)
                fail_msg("'%s': filter %d is '%s':'%s'", good_refs[i].in, j,
                         r.filters[j].key, r.filters[j].value);
        metric_ref_format(&r, buf, sizeof buf);
        if (strcmp(buf, good_refs[i].formatted) != 0)
            fail_msg("'%s': formatted '%s', want '%s'", good_refs[i].in, buf, good_refs[i].formatted);
        /* The canonical form parses back to the same reference. */
        if (metric_ref_parse(buf, &again, err, sizeof err) != 0 || !metric_ref_equal(&r, &again))
            fail_msg("'%s': canonical '%s' does not round-trip (%s)", good_refs[i].in, buf, err);
    }
}

static const struct {
    const char *in;
    const char *want;
} bad_refs[] = {
    {"",                                       "empty metric name"},
    {"   ",                                    "empty metric name"},
    {"{scenario:browse}",                      "empty metric name"},
    {"http_req_duration{scenario:browse",      "unclosed '{'"},
    {"http_req_duration{",                     "unclosed '{'"},
    {"http_req_duration scenario:browse}",     "'}' without '{'"},
    {"http_req_duration}{",                    "'}' before '{'"},
    {"http_req_duration{a:b}x",                "unexpected 'x' after '}'"},
    {"http_req_duration{}",                    "empty tag filter '{}'"},
    {"http_req_duration{  }",                  "empty tag filter '{}'"},
    {"http_req_duration{:browse}",             "tag filter ':browse' has an empty key"},
    {"http_req_duration{ '' :browse}",         "has an empty key"},
    {"http_req_duration{scenario:}",           "tag filter 'scenario:' has an empty value"},
    {"http_req_duration{scenario: \"\"}",      "has an empty value"},
    {"http_req_duration{scenario}",            "tag filter 'scenario' has no ':'"},
    {"http_req_duration{a:b,}",                "empty tag filter"},
    {"http_req_duration{a:b,,c:d}",            "empty tag filter"},
    {"http_req_duration{,a:b}",                "empty tag filter"},
    {"http_req_duration{a:b,a:c}",             "tag key 'a' appears twice"},
    {"http_req_duration{a:1,b:2,c:3,d:4,e:5}", "more than 4 tag filters"},
    {"http_req_duration{name:\"abc}",          "unbalanced quote"},
    {"http_req_duration{name:'abc\"}",         "unbalanced quote"},
    {"http_req_duration{scen ario:x}",         "tag key 'scen ario' contains a space"},
    {"http req{a:b}",                          "unexpected ' ' in metric name"},
    {"http-req",                               "unexpected '-' in metric name"},
    {"9lives",                                 "starts with a letter or '_'"},
    {"m234567890123456789012345678901234567890123456789012345678901234",
                                               "metric name too long (at most 63"},
    {"m{k234567890123456789012345678901x:v}",  "tag key 'k234567890123456789012345678901x' is too long"},
    {"m{k:v23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456x}",
                                               "is too long (at most 95"},
};

static void test_ref_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(bad_refs); i++) {
        struct metric_ref r;
        char err[256] = "";
        if (metric_ref_parse(bad_refs[i].in, &r, err, sizeof err) == 0)
            fail_msg("'%s': accepted, want an error with \"%s\"", bad_refs[i].in, bad_refs[i].want);
        if (!strstr(err, bad_refs[i].want))
            fail_msg("'%s': error \"%s\" lacks \"%s\"", bad_refs[i].in, err, bad_refs[i].want);
    }
}

static void test_ref_format_truncates(void **state)
{
    (void)state;
    struct metric_ref r;
    char buf[12];
    assert_int_equal(metric_ref_parse("http_req_duration{scenario:browse}", &r, NULL, 0), 0);
    memset(buf, 'x', sizeof buf);
    metric_ref_format(&r, buf, sizeof buf);
    assert_string_equal(buf, "http_req_du");
    metric_ref_format(&r, buf, 1);
    assert_string_equal(buf, "");
}

static void test_ref_equal(void **state)
{
    (void)state;
    static const struct { const char *a, *b; bool eq; } c[] = {
        {"m{a:1,b:2}", "m{b:2,a:1}", true},
        {"m{a:1,b:2}", " m { a : '1' , b : 2 } ", true},
        {"m{a:1}", "m{a:2}", false},
        {"m{a:1}", "m{a:1,b:2}", false},
        {"m{a:1,b:2}", "m{a:1,c:2}", false},
        {"m", "n", false},
        {"m", "m", true},
        {"m{a:1}", "m", false},
    };
    for (size_t i = 0; i < N(c); i++) {
        struct metric_ref a, b;
        assert_int_equal(metric_ref_parse(c[i].a, &a, NULL, 0), 0);
        assert_int_equal(metric_ref_parse(c[i].b, &b, NULL, 0), 0);
        if (metric_ref_equal(&a, &b) != c[i].eq || metric_ref_equal(&b, &a) != c[i].eq)
            fail_msg("'%s' vs '%s': want equal=%d", c[i].a, c[i].b, c[i].eq);
    }
}

/* ---- known metrics ---------------------------------------------------- */

static void test_metric_types(void **state)
{
    (void)state;
    static const struct { const char *name; enum metric_type t; } known[] = {
        {"http_reqs", METRIC_COUNTER}, {"http_req_duration", METRIC_TREND},
        {"http_req_failed", METRIC_RATE}, {"http_req_connecting", METRIC_TREND},
        {"http_req_tls_handshaking", METRIC_TREND}, {"http_req_waiting", METRIC_TREND},
        {"http_req_sending", METRIC_TREND}, {"http_req_receiving", METRIC_TREND},
        {"http_req_blocked", METRIC_TREND}, {"http_req_service", METRIC_TREND},
        {"iterations", METRIC_COUNTER}, {"iteration_duration", METRIC_TREND},
        {"dropped_iterations", METRIC_COUNTER}, {"data_sent", METRIC_COUNTER},
        {"data_received", METRIC_COUNTER}, {"vus", METRIC_GAUGE}, {"vus_max", METRIC_GAUGE},
        {"checks", METRIC_RATE}, {"client_lag", METRIC_TREND},
        {"tls_handshakes", METRIC_COUNTER},
    };
    for (size_t i = 0; i < N(known); i++) {
        enum metric_type t = (enum metric_type)-1;
        if (metric_type_of(known[i].name, &t) != 0 || t != known[i].t)
            fail_msg("%s: rc/type wrong (got %d)", known[i].name, (int)t);
    }
    static const char *const unknown[] = {
        "", "HTTP_REQS", "http_req_duration{scenario:x}", "foo", "http_req", "vus ",
    };
    for (size_t i = 0; i < N(unknown); i++) {
        enum metric_type t = METRIC_GAUGE;
        if (metric_type_of(unknown[i], &t) != -1 || t != METRIC_GAUGE)
            fail_msg("'%s': accepted as a known metric", unknown[i]);
    }
    assert_int_equal(metric_type_of(NULL, NULL), -1);
    assert_string_equal(metric_type_name(METRIC_COUNTER), "counter");
    assert_string_equal(metric_type_name(METRIC_GAUGE), "gauge");
    assert_string_equal(metric_type_name(METRIC_RATE), "rate");
    assert_string_equal(metric_type_name(METRIC_TREND), "trend");
    static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!="};
    for (int op = TH_LT; op <= TH_NE; op++)
        assert_string_equal(th_op_str((enum th_op)op), ops[op]);
}

static void test_metric_suggest(void **state)
{
    (void)state;
    static const struct { const char *in, *want; } c[] = {
        {"http_req_durations", "http_req_duration"},
        {"http_req_fail", "http_req_failed"},
        {"HTTP_REQS", "http_reqs"},
        {"http_reqs", "http_reqs"},
        {"vu", "vus"},
        {"iteration", "iterations"},
        {"client_lags", "client_lag"},
        {"tls_handshake", "tls_handshakes"},
        {"tls_handshakes", "tls_handshakes"},
        {"http_req_tls_handshake", "http_req_tls_handshaking"},
        {"http_req_tls_handshakin", "http_req_tls_handshaking"},
        {"foo", NULL},
        {"", NULL},
        {"latency_of_everything", NULL},
    };
    for (size_t i = 0; i < N(c); i++) {
        const char *got = metric_suggest(c[i].in);
        if ((got == NULL) != (c[i].want == NULL) || (got && strcmp(got, c[i].want) != 0))
            fail_msg("'%s': suggested %s, want %s", c[i].in, got ? got : "NULL",
                     c[i].want ? c[i].want : "NULL");
    }
    assert_null(metric_suggest(NULL));
}

/* ---- evaluation ------------------------------------------------------- */

/* A percentile table for the callback: exact values at given percentiles. */
struct ptable { int n; double p[4], v[4]; int calls; };

static double ptable_at(const void *ctx, double p)
{
    struct ptable *t = (struct ptable *)(uintptr_t)ctx;   /* the test counts calls */
    t->calls++;
    for (int i = 0; i < t->n; i++)
        if (t->p[i] == p)
            return t->v[i];
    fail_msg("percentile %g asked, not in the table", p);
    return NAN;
}

static double never_called(const void *ctx, double p)
{
    (void)ctx;
    fail_msg("percentile(%g) called on an empty trend", p);
    return NAN;
}

static struct threshold parse_ok(const char *expr, enum metric_type type)
{
    struct threshold t;
    char err[256] = "";
    if (threshold_parse(expr, "m", type, &t, err, sizeof err) != 0)
        fail_msg("'%s': %s", expr, err);
    return t;
}

/* Named cases from the brief and the documentation. */
static void test_eval_cases(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        enum metric_type type;
        double count, rate, value, avg, min, max, med;
        double p, pv;             /* the percentile the callback knows */
        bool pass;
    } c[] = {
        /* expr           type            count rate   value avg  min max   med  p     pv        pass */
        {"p(95)<500",     METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   95,   500,      false},
        {"p(95)<500",     METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   95,   499.999,  true},
        {"p(95)<=500",    METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   95,   500,      true},
        {"p(95)<=500",    METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   95,   500.001,  false},
        {"p(99.9)<1500",  METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   99.9, 1499,     true},
        {"p(99.9)<1500",  METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   99.9, 1500,     false},
        {"avg<200",       METRIC_TREND,   100,  0,     0,    199.9,0, 0,    0,   0,    0,        true},
        {"avg<200",       METRIC_TREND,   100,  0,     0,    200, 0,  0,    0,   0,    0,        false},
        {"med<100",       METRIC_TREND,   100,  0,     0,    0,   0,  0,    100, 0,    0,        false},
        {"med<100",       METRIC_TREND,   100,  0,     0,    0,   0,  0,    99,  0,    0,        true},
        {"min>0",         METRIC_TREND,   100,  0,     0,    0,   0,  0,    0,   0,    0,        false},
        {"min>0",         METRIC_TREND,   100,  0,     0,    0,   0.001,0,  0,   0,    0,        true},
        {"max<3000",      METRIC_TREND,   100,  0,     0,    0,   0,  3000, 0,   0,    0,        false},
        {"max<3000",      METRIC_TREND,   100,  0,     0,    0,   0,  2999, 0,   0,    0,        true},
        {"rate<0.005",    METRIC_RATE,    1000, 0.005, 0,    0,   0,  0,    0,   0,    0,        false},
        {"rate<0.005",    METRIC_RATE,    1000, 0.004, 0,    0,   0,  0,    0,   0,    0,        true},
        {"rate>=0.99",    METRIC_RATE,    100,  0.99,  0,    0,   0,  0,    0,   0,    0,        true},
        {"rate>=0.99",    METRIC_RATE,    100,  0.98,  0,    0,   0,  0,    0,   0,    0,        false},
        {"count<10",      METRIC_COUNTER, 10,   0,     0,    0,   0,  0,    0,   0,    0,        false},
        {"count<10",      METRIC_COUNTER, 9,    0,     0,    0,   0,  0,    0,   0,    0,        true},
        {"count>=100",    METRIC_COUNTER, 100,  0,     0,    0,   0,  0,    0,   0,    0,        true},
        {"count>=100",    METRIC_COUNTER, 99,   0,     0,    0,   0,  0,    0,   0,    0,        false},
        {"rate>100",      METRIC_COUNTER, 9000, 150,   0,    0,   0,  0,    0,   0,    0,        true},
        {"rate>100",      METRIC_COUNTER, 9000, 100,   0,    0,   0,  0,    0,   0,    0,        false},
        {"value<5",       METRIC_GAUGE,   3,    0,     5,    0,   0,  0,    0,   0,    0,        false},
        {"value<5",       METRIC_GAUGE,   3,    0,     4,    0,   0,  0,    0,   0,    0,        true},
        {"value==0",      METRIC_GAUGE,   1,    0,     0,    0,   0,  0,    0,   0,    0,        true},
        {"avg>-1",        METRIC_TREND,   1,    0,     0,    -0.5,0,  0,    0,   0,    0,        true},
        /* Fields of other aggregations are not looked at. */
        {"count<10",      METRIC_COUNTER, 5,    1e9,   1e9,  1e9, 1e9,1e9,  1e9, 0,    0,        true},
        {"rate<0.1",      METRIC_COUNTER, 1e9,  0.05,  1e9,  1e9, 1e9,1e9,  1e9, 0,    0,        true},
    };
    for (size_t i = 0; i < N(c); i++) {
        struct threshold t = parse_ok(c[i].expr, c[i].type);
        struct ptable pt = { .n = 1, .p = {c[i].p}, .v = {c[i].pv} };
        struct metric_values v = {
            .type = c[i].type, .count = c[i].count, .rate = c[i].rate, .value = c[i].value,
            .avg = c[i].avg, .min = c[i].min, .max = c[i].max, .med = c[i].med,
            .percentile = ptable_at, .ctx = &pt,
        };
        if (threshold_eval(&t, &v) != c[i].pass)
            fail_msg("case %zu '%s': want %s", i, c[i].expr, c[i].pass ? "pass" : "fail");
        if (t.agg == TH_P && pt.calls != 1)
            fail_msg("case %zu '%s': percentile called %d times", i, c[i].expr, pt.calls);
        if (t.agg != TH_P && pt.calls != 0)
            fail_msg("case %zu '%s': percentile called for a non-percentile threshold", i, c[i].expr);
    }
}

/* Every aggregation x every operator, with the observed value just below,
 * at, and just above the limit. The truth table is written out, not computed. */
static void test_eval_sweep(void **state)
{
    (void)state;
    static const char *const opstr[] = {"<", "<=", ">", ">=", "==", "!="};
    static const bool truth[6][3] = {
        /*           below  at     above */
        /* <  */   { true,  false, false },
        /* <= */   { true,  true,  false },
        /* >  */   { false, false, true  },
        /* >= */   { false, true,  true  },
        /* == */   { false, true,  false },
        /* != */   { true,  false, true  },
    };
    static const struct { const char *agg; enum metric_type type; double limit, eps; } aggs[] = {
        {"avg",     METRIC_TREND,   500,   0.001},
        {"min",     METRIC_TREND,   1,     1e-9},
        {"max",     METRIC_TREND,   3000,  1},
        {"med",     METRIC_TREND,   100,   0.5},
        {"p(95)",   METRIC_TREND,   500,   0.001},
        {"p(99.9)", METRIC_TREND,   1500,  0.001},
        {"rate",    METRIC_RATE,    0.005, 0.0001},
        {"rate",    METRIC_COUNTER, 1000,  0.01},
        {"count",   METRIC_COUNTER, 100,   1},
        {"value",   METRIC_GAUGE,   5,     1},
    };
    for (size_t a = 0; a < N(aggs); a++) {
        for (int op = 0; op < 6; op++) {
            char expr[64];
            snprintf(expr, sizeof expr, "%s%s%.10g", aggs[a].agg, opstr[op], aggs[a].limit);
            struct threshold t = parse_ok(expr, aggs[a].type);
            for (int k = 0; k < 3; k++) {
                double x = aggs[a].limit + (k - 1) * aggs[a].eps;
                struct ptable pt = { .n = 2, .p = {95, 99.9}, .v = {x, x} };
                struct metric_values v = {
                    .type = aggs[a].type, .count = 1000, .percentile = ptable_at, .ctx = &pt,
                };
                switch (t.agg) {
                case TH_AVG:   v.avg = x;   break;
                case TH_MIN:   v.min = x;   break;
                case TH_MAX:   v.max = x;   break;
                case TH_MED:   v.med = x;   break;
                case TH_RATE:  v.rate = x;  break;
                case TH_COUNT: v.count = x; break;
                case TH_VALUE: v.value = x; break;
                case TH_P:                  break;
                }
                if (threshold_eval(&t, &v) != truth[op][k])
                    fail_msg("'%s' (%s) with %.17g: want %s", expr, metric_type_name(aggs[a].type), x,
                             truth[op][k] ? "pass" : "fail");
            }
        }
    }
}

/* k6's rules for metrics that saw nothing, NaN, and a missing callback. */
static void test_eval_empty(void **state)
{
    (void)state;
    static const struct { const char *expr; enum metric_type type; bool pass; } c[] = {
        /* An empty trend compares 0 everywhere, and never asks for a percentile. */
        {"p(95)<500",  METRIC_TREND,   true},
        {"p(99)>0",    METRIC_TREND,   false},
        {"avg<=0",     METRIC_TREND,   true},
        {"min>0",      METRIC_TREND,   false},
        {"max==0",     METRIC_TREND,   true},
        {"med!=0",     METRIC_TREND,   false},
        /* An empty rate passes whatever is asked. */
        {"rate<0.005", METRIC_RATE,    true},
        {"rate>0.99",  METRIC_RATE,    true},
        {"rate==1",    METRIC_RATE,    true},
        /* An empty counter is 0, 0 per second. */
        {"count>=100", METRIC_COUNTER, false},
        {"count<10",   METRIC_COUNTER, true},
        {"rate>0",     METRIC_COUNTER, false},
        /* An unset gauge is 0. */
        {"value<5",    METRIC_GAUGE,   true},
        {"value>0",    METRIC_GAUGE,   false},
    };
    for (size_t i = 0; i < N(c); i++) {
        struct threshold t = parse_ok(c[i].expr, c[i].type);
        /* Garbage in the aggregates: an empty trend must not read them. */
        double junk = c[i].type == METRIC_TREND ? 12345 : 0;
        struct metric_values v = {
            .type = c[i].type, .count = 0, .avg = junk, .min = junk, .max = junk, .med = junk,
            .percentile = never_called,
        };
        if (threshold_eval(&t, &v) != c[i].pass)
            fail_msg("empty %s, '%s': want %s", metric_type_name(c[i].type), c[i].expr,
                     c[i].pass ? "pass" : "fail");
    }

    double x = -1;
    struct threshold t = parse_ok("rate<0.1", METRIC_RATE);
    struct metric_values v = { .type = METRIC_RATE, .count = 0 };
    assert_false(threshold_observed(&t, &v, &x));
    t = parse_ok("p(95)<500", METRIC_TREND);
    v = (struct metric_values){ .type = METRIC_TREND, .count = 0, .percentile = never_called };
    assert_true(threshold_observed(&t, &v, &x));
    assert_true(x == 0);

    /* NaN fails every comparison but !=. */
    v = (struct metric_values){ .type = METRIC_TREND, .count = 5, .avg = NAN };
    assert_false(threshold_eval((struct threshold[]){ parse_ok("avg<200", METRIC_TREND) }, &v));
    assert_false(threshold_eval((struct threshold[]){ parse_ok("avg>=200", METRIC_TREND) }, &v));
    assert_true(threshold_eval((struct threshold[]){ parse_ok("avg!=200", METRIC_TREND) }, &v));

    /* A percentile threshold without a callback fails closed. */
    v = (struct metric_values){ .type = METRIC_TREND, .count = 5, .percentile = NULL };
    t = parse_ok("p(95)<500", METRIC_TREND);
    assert_false(threshold_eval(&t, &v));
    assert_false(threshold_observed(&t, &v, &x));
}

/* ---- abortOnFail / delayAbortEval ------------------------------------ */

static void test_abort(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        bool     abort_on_fail;
        int64_t  delay_ns;
        double   count;      /* samples so far */
        double   p95;        /* the threshold is p(95)<500 */
        int64_t  elapsed_ns;
        bool     abort;
    } c[] = {
        {"failing, no abortOnFail",             false, 0,        100, 900, 60 * SEC,       false},
        {"failing, no abortOnFail, delay past", false, 10 * SEC, 100, 900, 60 * SEC,       false},
        {"failing, no delay: at once",          true,  0,        100, 900, 1 * SEC,        true},
        {"failing, no delay, at t=0",           true,  0,        100, 900, 0,              true},
        {"failing, negative delay is none",     true,  -5 * SEC, 100, 900, 1,              true},
        {"failing before the delay",            true,  10 * SEC, 100, 900, 9 * SEC,        false},
        {"failing 1ns before the delay",        true,  10 * SEC, 100, 900, 10 * SEC - 1,   false},
        {"failing exactly at the delay",        true,  10 * SEC, 100, 900, 10 * SEC,       false},
        {"failing 1ns after the delay",         true,  10 * SEC, 100, 900, 10 * SEC + 1,  true},
        {"failing long after the delay",        true,  10 * SEC, 100, 900, 600 * SEC,     true},
        {"at the limit fails (p95 == 500)",     true,  0,        100, 500, 5 * SEC,        true},
        {"passing, past the delay",             true,  10 * SEC, 100, 499, 60 * SEC,       false},
        {"passing, no delay",                   true,  0,        100, 100, 60 * SEC,       false},
        {"no samples yet: not evaluated",       true,  0,        0,   900, 60 * SEC,       false},
    };
    for (size_t i = 0; i < N(c); i++) {
        struct threshold t = parse_ok("p(95)<500", METRIC_TREND);
        struct threshold_abort a = { .abort_on_fail = c[i].abort_on_fail, .delay_ns = c[i].delay_ns };
        struct ptable pt = { .n = 1, .p = {95}, .v = {c[i].p95} };
        struct metric_values v = {
            .type = METRIC_TREND, .count = c[i].count, .percentile = ptable_at, .ctx = &pt,
        };
        if (threshold_abort_due(&t, &a, &v, c[i].elapsed_ns) != c[i].abort)
            fail_msg("%s: want abort=%d", c[i].what, c[i].abort);
    }

    /* An empty trend fails "min>0" at the end of the run, but while the run
     * goes an empty metric never aborts it; an empty rate neither. */
    struct threshold t = parse_ok("min>0", METRIC_TREND);
    struct threshold_abort a = { .abort_on_fail = true };
    struct metric_values v = { .type = METRIC_TREND, .count = 0 };
    assert_false(threshold_eval(&t, &v));
    assert_false(threshold_abort_due(&t, &a, &v, 60 * SEC));
    t = parse_ok("rate<0.01", METRIC_RATE);
    v = (struct metric_values){ .type = METRIC_RATE, .count = 0, .rate = 1 };
    assert_false(threshold_abort_due(&t, &a, &v, 60 * SEC));
    v.count = 10;
    assert_true(threshold_abort_due(&t, &a, &v, 60 * SEC));
    assert_true(THRESHOLD_EVAL_PERIOD_NS == 2 * SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_small_err),
        cmocka_unit_test(test_type_matrix),
        cmocka_unit_test(test_ref_good),
        cmocka_unit_test(test_ref_bad),
        cmocka_unit_test(test_ref_format_truncates),
        cmocka_unit_test(test_ref_equal),
        cmocka_unit_test(test_metric_types),
        cmocka_unit_test(test_metric_suggest),
        cmocka_unit_test(test_eval_cases),
        cmocka_unit_test(test_eval_sweep),
        cmocka_unit_test(test_eval_empty),
        cmocka_unit_test(test_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
