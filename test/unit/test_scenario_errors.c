/* Scenario files that must not load: a table of bad files, each with the
 * exact "x.yaml:L:C: " position and part of the message, plus a missing
 * file and a short error buffer. The files that load are test_scenario.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/load/scenario.h"
#include "test/unit/scenario_load.h"

/* ------------------------------------------------------------ bad files */

#define HEAD "target: http://127.0.0.1:8080\nscenarios:\n  s:\n"
/* line 4 onwards: */
#define CVUS "    executor: constant-vus\n    duration: 10s\n"
#define TAIL "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n"

static const struct bad {
    const char *yaml;
    const char *where;   /* exact "x.yaml:L:C: " prefix */
    const char *msg;     /* a substring of the rest */
} bad[] = {
    /* scenario keys */
    {HEAD "    executor: constant-vus\n    vu: 10\n    duration: 10s\n    flow: [{get: /}]\n",
     "x.yaml:5:5: ", "unknown key 'vu' in scenario 's' (did you mean 'vus'? expected one of: executor, vus, duration"},
    {HEAD "    executor: constant-vus\n    duration: 5 minutes\n    flow: [{get: /}]\n",
     "x.yaml:5:15: ", "'duration': expected a duration like 30s or 1m30s, got '5 minutes'"},
    {HEAD "    executor: constant-vus\n    duration: 0s\n    flow: [{get: /}]\n",
     "x.yaml:5:15: ", "'duration': must be longer than 0s, got '0s'"},
    {HEAD CVUS "    vus: -5\n    flow: [{get: /}]\n",
     "x.yaml:6:10: ", "'vus': must not be negative, got '-5'"},
    {HEAD CVUS "    vus: 0\n    flow: [{get: /}]\n",
     "x.yaml:6:10: ", "'vus': must be at least 1, got '0'"},
    {HEAD CVUS "    vus: [1]\n    flow: [{get: /}]\n",
     "x.yaml:6:10: ", "'vus': expected a whole number, got a list"},
    {HEAD "    executor: constant-vu\n    flow: [{get: /}]\n",
     "x.yaml:4:15: ", "unknown executor 'constant-vu' in scenario 's' (expected one of: constant-vus, ramping-vus, "
                      "constant-arrival-rate, ramping-arrival-rate, per-vu-iterations, shared-iterations)"},
    {HEAD "    duration: 10s\n    flow: [{get: /}]\n",
     "x.yaml:4:5: ", "missing 'executor' in scenario 's'"},
    {HEAD CVUS "    rate: 10\n    flow: [{get: /}]\n",
     "x.yaml:6:5: ", "'rate' does not apply to executor constant-vus in scenario 's' (it is an option of "
                     "constant-arrival-rate)"},
    {HEAD "    executor: ramping-vus\n    vus: 10\n    stages: [{duration: 1s, target: 1}]\n    flow: [{get: /}]\n",
     "x.yaml:5:5: ", "'vus' does not apply to executor ramping-vus"},
    {HEAD "    executor: constant-vus\n    flow: [{get: /}]\n",
     "x.yaml:4:5: ", "missing 'duration' in scenario 's' (constant-vus needs duration"},
    {HEAD "    executor: ramping-vus\n    flow: [{get: /}]\n",
     "x.yaml:4:5: ", "missing 'stages' in scenario 's' (ramping-vus needs stages)"},
    {HEAD "    executor: constant-arrival-rate\n    rate: 10\n    duration: 1m\n    flow: [{get: /}]\n",
     "x.yaml:4:5: ", "missing 'pre_allocated_vus' in scenario 's' (constant-arrival-rate needs rate, duration and "
                     "pre_allocated_vus)"},
    {HEAD "    executor: ramping-arrival-rate\n    stages: [{duration: 1m, target: 10}]\n    flow: [{get: /}]\n",
     "x.yaml:4:5: ", "missing 'pre_allocated_vus' in scenario 's' (ramping-arrival-rate needs stages and "
                     "pre_allocated_vus)"},
    {HEAD "    executor: constant-arrival-rate\n    rate: 10\n    duration: 1m\n    preAllocatedVUs: 20\n"
          "    maxVUs: 10\n    flow: [{get: /}]\n",
     "x.yaml:8:13: ", "'maxVUs' (10) can't be less than 'preAllocatedVUs' (20)"},
    {HEAD "    executor: constant-arrival-rate\n    rate: 0\n    duration: 1m\n    pre_allocated_vus: 1\n"
          "    flow: [{get: /}]\n",
     "x.yaml:5:11: ", "'rate': must be greater than 0, got '0'"},
    {HEAD "    executor: constant-arrival-rate\n    rate: 1000000000000000\n    duration: 1m\n    pre_allocated_vus: 1\n"
          "    flow: [{get: /}]\n",
     "x.yaml:5:11: ", "'rate': 1e+15 iterations/s is more than blaster can schedule (at most 1e+09/s in all"},
    {HEAD "    executor: constant-arrival-rate\n    rate: 2\n    time_unit: 1ns\n    duration: 1m\n"
          "    pre_allocated_vus: 1\n    flow: [{get: /}]\n",
     "x.yaml:5:11: ", "'rate': 2e+09 iterations/s is more than"},
    {HEAD "    executor: ramping-arrival-rate\n    startRate: 2000000000\n    pre_allocated_vus: 1\n"
          "    stages: [{duration: 1s, target: 10}]\n    flow: [{get: /}]\n",
     "x.yaml:5:16: ", "'startRate': 2e+09 iterations/s is more than"},
    {HEAD "    executor: ramping-arrival-rate\n    pre_allocated_vus: 1\n"
          "    stages: [{duration: 1s, target: 10}, {duration: 1s, target: 1000000000000}]\n    flow: [{get: /}]\n",
     "x.yaml:6:65: ", "stage 2's target: 1e+12 iterations/s is more than"},
    {HEAD "    executor: shared-iterations\n    vus: 10\n    iterations: 5\n    flow: [{get: /}]\n",
     "x.yaml:6:17: ", "the number of iterations (5) can't be less than the number of VUs (10)"},
    {HEAD "    executor: ramping-vus\n    stages: [{duration: 10s}]\n    flow: [{get: /}]\n",
     "x.yaml:5:14: ", "missing 'target' in a stage"},
    {HEAD "    executor: ramping-vus\n    start_vus: 0\n    stages: [{duration: 10s, target: 0}]\n    flow: [{get: /}]\n",
     "x.yaml:6:13: ", "never runs a VU"},
    {HEAD "    executor: constant-vus\n    duration: 10s\n    exec: uploadFlow\n    flow: [{get: /}]\n",
     "x.yaml:6:5: ", "'exec' is not needed"},
    {HEAD "    executor: constant-vus\n    duration: 10s\n    gracefulStop: 1s\n    graceful_stop: 2s\n"
          "    flow: [{get: /}]\n",
     "x.yaml:7:5: ", "'gracefulStop' and 'graceful_stop' are the same option"},
    {HEAD CVUS "    duration: 20s\n    flow: [{get: /}]\n",
     "x.yaml:6:5: ", "duplicate key 'duration' in scenario 's' (first given at line 5)"},
    {HEAD CVUS "    flow: []\n", "x.yaml:6:11: ", "'flow' is empty (expected a list of steps)"},
    {HEAD CVUS, "x.yaml:4:5: ", "missing 'flow' in scenario 's'"},
    {HEAD CVUS "    flow: {get: /}\n", "x.yaml:6:11: ", "'flow': expected a list of steps, got a mapping"},
    {"target: http://127.0.0.1:8080\nscenarios:\n  a b:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:3:3: ", "scenario name 'a b': expected letters, digits, '_' or '-'"},
    /* steps */
    {HEAD CVUS "    flow:\n      - /api\n", "x.yaml:7:9: ", "a step must be a mapping like {get: /path}"},
    {HEAD CVUS "    flow:\n      - get: /a\n        hedaers: {X-A: 1}\n",
     "x.yaml:8:9: ", "unknown key 'hedaers' in a request step (did you mean 'headers'? expected one of: get, name, "
                     "headers, body, json, file, expect, capture, timeout, tags)"},
    {HEAD CVUS "    flow:\n      - get: /a\n        post: /b\n",
     "x.yaml:8:9: ", "a step has one method: found both 'get' and 'post'"},
    {HEAD CVUS "    flow:\n      - get: /a\n        think: 1s\n",
     "x.yaml:8:9: ", "a step is one thing: found both 'get' and 'think'"},
    {HEAD CVUS "    flow:\n      - name: x\n", "x.yaml:7:9: ",
     "a step needs one of: get, post, put, patch, delete, head, think, repeat, pick, hls"},
    {HEAD CVUS "    flow:\n      - gett: /a\n", "x.yaml:7:9: ", "unknown key 'gett' in a step (did you mean 'get'?"},
    {HEAD CVUS "    flow:\n      - get: api/x\n", "x.yaml:7:14: ",
     "'get': expected a path starting with '/' or an absolute http(s) URL, got 'api/x'"},
    {HEAD CVUS "    flow:\n      - get: /a\n        expect: {status: [200, 700]}\n",
     "x.yaml:8:32: ", "'status': 700 is not an HTTP status (expected 100..599)"},
    {HEAD CVUS "    flow:\n      - get: /a\n        expect: {status: 99}\n",
     "x.yaml:8:26: ", "'status': 99 is not an HTTP status (expected 100..599)"},
    {HEAD CVUS "    flow:\n      - get: /a\n        expect: {status: [{min: 300, max: 200}]}\n",
     "x.yaml:8:27: ", "a status range's 'min' (300) is above its 'max' (200)"},
    {HEAD CVUS "    flow:\n      - get: /a\n        expect: {codes: [200]}\n",
     "x.yaml:8:18: ", "unknown key 'codes' in 'expect' (expected one of: status)"},
    {HEAD CVUS "    flow:\n      - post: /a\n        body: hi\n        json: {a: 1}\n",
     "x.yaml:7:9: ", "a request has one body: 'body', 'json' or 'file', not both 'body' and 'json'"},
    {HEAD CVUS "    flow:\n      - post: /a\n        body: {bytes: lots}\n",
     "x.yaml:8:23: ", "'bytes': expected a size like 1MiB, 512KB or 1048576, got 'lots'"},
    {HEAD CVUS "    flow:\n      - get: /a\n        capture: {id: {json: a.b, header: X-Id}}\n",
     "x.yaml:8:23: ", "capture 'id' needs exactly one of 'json'"},
    {HEAD CVUS "    flow:\n      - get: /a\n        capture: {vu: {json: a.b}}\n",
     "x.yaml:8:19: ", "'capture': 'vu' is a built-in variable"},
    {HEAD CVUS "    flow:\n      - get: /a\n        headers: {\"X A\": 1}\n",
     "x.yaml:8:19: ", "'headers': 'X A' is not a valid header name"},
    {HEAD CVUS "    flow:\n      - get: /a\n        timeout: 0s\n",
     "x.yaml:8:18: ", "'timeout': must be longer than 0s, got '0s'"},
    {HEAD CVUS "    flow:\n      - think: 800ms..300ms\n",
     "x.yaml:7:16: ", "'think': the range's minimum 800ms is above its maximum 300ms"},
    {HEAD CVUS "    flow:\n      - think: soon\n",
     "x.yaml:7:16: ", "'think': expected a duration like 300ms or a range like 300ms..800ms, got 'soon'"},
    {HEAD CVUS "    flow:\n      - think: 1s\n        name: nap\n",
     "x.yaml:8:9: ", "'name' does not belong in a think step (expected one of: think)"},
    {HEAD CVUS "    flow:\n      - repeat: 0\n        steps: [{get: /}]\n",
     "x.yaml:7:17: ", "'repeat': must be at least 1, got '0'"},
    {HEAD CVUS "    flow:\n      - repeat: 3\n", "x.yaml:7:9: ", "missing 'steps' in a repeat step"},
    {HEAD CVUS "    flow:\n      - repeat: 3\n        as: iter\n        steps: [{get: /}]\n",
     "x.yaml:8:13: ", "'as': 'iter' is a built-in variable"},
    {HEAD CVUS "    flow:\n      - pick:\n          - {weight: 0, get: /a}\n",
     "x.yaml:8:22: ", "'weight': must be at least 1, got '0'"},
    {HEAD CVUS "    flow:\n      - pick:\n          - {weight: -3, get: /a}\n",
     "x.yaml:8:22: ", "'weight': must not be negative, got '-3'"},
    {HEAD CVUS "    flow:\n      - pick: []\n", "x.yaml:7:15: ", "'pick' is empty"},
    {HEAD CVUS "    flow:\n      - pick:\n          - {weight: 2}\n",
     "x.yaml:8:13: ", "a pick branch needs a request (get, post, put, patch, delete, head, think, repeat, pick, hls) "
                      "or 'steps'"},
    {HEAD CVUS "    flow:\n      - pick:\n          - {weight: 2, get: /a, steps: [{get: /b}]}\n",
     "x.yaml:8:34: ", "a pick branch is either a request or 'steps', not both"},
    {HEAD CVUS "    flow:\n      - hls: {variant: lowest}\n",
     "x.yaml:7:14: ", "missing 'master' in 'hls'"},
    {HEAD CVUS "    flow:\n      - hls: {master: /m.m3u8, segments: -1}\n",
     "x.yaml:7:42: ", "'segments': must not be negative, got '-1'"},
    /* environment */
    {HEAD "    executor: constant-vus\n    duration: 10s\n    vus: \"${BLASTER_T_UNSET}\"\n    flow: [{get: /}]\n",
     "x.yaml:6:11: ", "environment variable BLASTER_T_UNSET is not set (write ${BLASTER_T_UNSET:-value} for a "
                      "default, or pass -e BLASTER_T_UNSET=...)"},
    {HEAD CVUS "    flow:\n      - get: /a\n        headers: {Authorization: \"Bearer ${BLASTER_T_UNSET}\"}\n",
     "x.yaml:8:42: ", "environment variable BLASTER_T_UNSET is not set"},
    {HEAD CVUS "    flow:\n      - get: /a/${BLASTER_T_UNSET\n",
     "x.yaml:7:17: ", "unterminated '${'"},
    {HEAD CVUS "    flow:\n      - get: /a/${1X}\n",
     "x.yaml:7:17: ", "'${1X}': expected ${NAME} or ${NAME:-default}"},
    /* top level */
    {"# a comment\nscenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:1: ", "missing 'target'"},
    {"target: http://127.0.0.1:8080\n", "x.yaml:1:1: ", "missing 'scenarios'"},
    {"target: http://127.0.0.1:8080\nscenarios: {}\n", "x.yaml:2:12: ", "'scenarios' is empty"},
    {"target: ftp://h/\nscenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:1:9: ", "'target': URL 'ftp://h/'"},
    {"target: http://127.0.0.1:8080\nscenario:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:1: ", "unknown key 'scenario' at the top level (did you mean 'scenarios'?"},
    {"- target\n- scenarios\n", "x.yaml:1:1: ", "expected a mapping with 'target' and 'scenarios' at the top level, "
                                               "got a list"},
    {"", "x.yaml:1:1: ", "the file is empty"},
    {"target: [\n", "x.yaml:2:1: ", "YAML syntax error: did not find expected node content"},
    {"target: x\n  bad: indent\n", "x.yaml:2:6: ", "YAML syntax error: mapping values are not allowed in this context"},
    {"a: *nothing\n", "x.yaml:1:4: ", "found undefined alias"},
    {"target: http://h\n---\ntarget: http://h\n", "x.yaml:2:1: ", "a second YAML document"},
    {"target: http://h\ndefaults: [1, 2]\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:11: ", "'defaults': expected a mapping like {timeout: 60s, headers: {...}}, got a list"},
    {"target: http://h\ndefaults: {timeout: 0}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:21: ", "'timeout': must be longer than 0s, got '0'"},
    {"target: http://h\ndefaults: {discard_bodies: maybe}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:28: ", "'discard_bodies': expected true or false, got 'maybe'"},
    /* tls */
    {"target: https://h\ntls: yes\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:6: ", "'tls': expected a mapping like {cacert: ca.pem, min_version: 1.2}, got 'yes'"},
    {"target: https://h\ntls: {min_version: 1.1}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:20: ", "'min_version': expected 1.2 or 1.3 (blaster speaks TLS 1.2 and 1.3 only), got '1.1'"},
    {"target: https://h\ntls: {min_version: 1.3, max_version: 1.2}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:20: ", "'tls': min_version 1.3 is above max_version 1.2"},
    {"target: https://h\ntls: {cert: c.pem}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:7: ", "'tls': a client certificate needs both 'cert' and 'key'"},
    {"target: https://h\ntls: {insecure: sure}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:17: ", "'insecure': expected true or false, got 'sure'"},
    {"target: https://h\ntls: {ca_cert: ca.pem}\n" "scenarios:\n  s:\n" CVUS "    flow: [{get: /}]\n",
     "x.yaml:2:7: ", "unknown key 'ca_cert' in 'tls' (did you mean 'cacert'?"},
    /* thresholds */
    {"target: http://h\nthresholds:\n  http_req_durations: [\"p(95)<500\"]\n" TAIL,
     "x.yaml:3:3: ", "unknown metric 'http_req_durations' (did you mean 'http_req_duration'?)"},
    {"target: http://h\nthresholds:\n  upload_errors: [\"rate<0.01\"]\n" TAIL,
     "x.yaml:3:3: ", "unknown metric 'upload_errors' (expected one of: http_reqs, http_req_duration"},
    {"target: http://h\nthresholds:\n  \"http_req_duration{scenario}\": [\"p(95)<500\"]\n" TAIL,
     "x.yaml:3:3: ", "tag filter 'scenario' has no ':'"},
    {"target: http://h\nthresholds:\n  \"http_req_duration{scenario:browse\": [\"p(95)<500\"]\n" TAIL,
     "x.yaml:3:3: ", "the tag filter must end with '}'"},
    {"target: http://h\nthresholds:\n  \"http_req_duration{scenario:}\": [\"p(95)<500\"]\n" TAIL,
     "x.yaml:3:3: ", "tag filter 'scenario:' needs a value"},
    {"target: http://h\nthresholds:\n  http_req_duration: \"p(95)<500\"\n" TAIL,
     "x.yaml:3:22: ", "'http_req_duration': expected a list of expressions like [\"p(95)<500\"], got 'p(95)<500'"},
    {"target: http://h\nthresholds:\n  http_req_failed: [{abort_on_fail: true}]\n" TAIL,
     "x.yaml:3:21: ", "missing 'threshold'"},
    {"target: http://h\nthresholds:\n  http_req_failed: [{threshold: \"rate<0.1\", abortOnFail: yes}]\n" TAIL,
     "x.yaml:3:58: ", "'abortOnFail': expected true or false, got 'yes'"},
    {"target: http://h\nsummary_trend_stats: [avg, p(101)]\n" TAIL,
     "x.yaml:2:28: ", "expected avg, min, med, max, count or p(N) with N in 0..100, got 'p(101)'"},
    /* aliases that loop or explode */
    {HEAD CVUS "    flow: &a [{repeat: 2, steps: *a}]\n", "x.yaml:", "nested more than 32 levels deep"},
    {"target: http://h\nscenarios:\n  s:\n" CVUS "    flow:\n      - post: /\n        json:\n"
     "          a: &a [x, x, x, x, x, x, x, x, x, x]\n          b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "          c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n          d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "          e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n          f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "          g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
     "x.yaml:", "too many YAML nodes"},
};

static void test_bad_files(void **state)
{
    (void)state;
    clear_env();
    int failures = 0;
    for (size_t i = 0; i < N(bad); i++) {
        struct scenario_file sf;
        char err[1024];
        int rc = load(bad[i].yaml, NULL, 0, &sf, err, sizeof(err));
        if (rc != -1) {
            print_error("case %zu: loaded, expected %s%s\n", i, bad[i].where, bad[i].msg);
            scenario_free(&sf);
            failures++;
            continue;
        }
        if (strncmp(err, bad[i].where, strlen(bad[i].where)) != 0 || !strstr(err, bad[i].msg)) {
            print_error("case %zu:\n   got: %s\n  want: %s...%s\n", i, err, bad[i].where, bad[i].msg);
            failures++;
        }
        /* a failed load leaves a zeroed model, safe to free */
        assert_null(sf.scenarios);
        assert_null(sf.arena_);
        scenario_free(&sf);
    }
    assert_int_equal(failures, 0);
}

static void test_bad_count(void **state)
{
    (void)state;
    assert_true(N(bad) >= 30);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct scenario_file sf;
    char err[256];
    assert_int_equal(scenario_load("/nonexistent/blaster/x.yaml", NULL, 0, &sf, err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/blaster/x.yaml: cannot open: No such file or directory");
    assert_null(sf.arena_);
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    struct scenario_file sf;
    char err[12];
    assert_int_equal(load(bad[0].yaml, NULL, 0, &sf, err, sizeof(err)), -1);
    assert_string_equal(err, "x.yaml:5:5:");
    assert_int_equal(load(bad[0].yaml, NULL, 0, &sf, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_count),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_small_err_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
