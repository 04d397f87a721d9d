/* Scenario files that load: DESIGN.md's example field by field, every
 * executor's defaults, the environment rules, the steps, the tls block, and
 * examples/mixed.yaml (run from the repository root, as `make unit` does).
 * The files that must not load are test_scenario_errors.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test/unit/design_example.h"
#include "blaster/load/scenario.h"
#include "test/unit/scenario_load.h"

#define S    1000000000LL
#define MS   1000000LL

/* Load or fail the test with the loader's message. */
static void load_ok(const char *yaml, const char *const *env, int nenv, struct scenario_file *sf)
{
    char err[512];
    int rc = load(yaml, env, nenv, sf, err, sizeof(err));
    if (rc != 0)
        fail_msg("load failed: %s", err);
}

/* ------------------------------------------------- DESIGN.md's example */

static const char design_yaml[] =
    DESIGN_YAML_HEAD DESIGN_YAML_THRESHOLDS DESIGN_YAML_SCENARIOS;

static const struct kv *find_kv(const struct kv *kv, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return &kv[i];
    return NULL;
}

static void test_design_example(void **state)
{
    (void)state;
    clear_env();
    struct scenario_file sf;
    load_ok(design_yaml, NULL, 0, &sf);

    assert_string_equal(sf.path, "x.yaml");
    assert_string_equal(sf.target, "http://127.0.0.1:8080");
    assert_int_equal(sf.defaults.timeout_ns, 60 * S);
    assert_true(sf.defaults.discard_bodies);
    assert_int_equal(sf.defaults.nheaders, 1);
    assert_string_equal(sf.defaults.headers[0].name, "Authorization");
    assert_string_equal(sf.defaults.headers[0].value, "Bearer ");
    assert_int_equal(sf.defaults.headers[0].pos.line, 3);
    assert_int_equal(sf.defaults.headers[0].pos.col, 22);
    assert_null(sf.summary_trend_stats);

    assert_int_equal(sf.nthresholds, 4);
    assert_string_equal(sf.thresholds[0].metric, "http_req_duration");
    assert_string_equal(sf.thresholds[0].expr, "p(95)<500");
    assert_string_equal(sf.thresholds[1].metric, "http_req_duration");
    assert_string_equal(sf.thresholds[1].expr, "p(99)<1500");
    assert_string_equal(sf.thresholds[2].metric, "http_req_failed");
    assert_string_equal(sf.thresholds[2].expr, "rate<0.005");
    assert_string_equal(sf.thresholds[3].metric, "http_req_duration{scenario:browse}");
    assert_string_equal(sf.thresholds[3].expr, "p(95)<400");
    assert_false(sf.thresholds[3].abort_on_fail);
    assert_int_equal(sf.thresholds[3].pos.line, 7);

    assert_int_equal(sf.nscenarios, 2);
    const struct scenario *up = &sf.scenarios[0];
    assert_string_equal(up->name, "upload");
    assert_int_equal(up->pos.line, 9);
    assert_int_equal(up->pos.col, 3);
    assert_int_equal(up->executor, EXEC_CONSTANT_VUS);
    assert_int_equal(up->vus, 100);
    assert_int_equal(up->duration_ns, 300 * S);
    assert_int_equal(up->graceful_stop_ns, 30 * S);
    assert_int_equal(up->start_time_ns, 0);
    assert_null(up->target);
    assert_int_equal(up->nflow, 2);

    const struct step *init = &up->flow[0];
    assert_int_equal(init->kind, STEP_REQUEST);
    assert_int_equal(init->pos.line, 14);
    assert_int_equal(init->pos.col, 9);
    assert_string_equal(init->method, "POST");
    assert_string_equal(init->path, "/api/v1/tracks/upload/initiate");
    assert_string_equal(init->name, "POST /api/v1/tracks/upload/initiate");
    assert_int_equal(init->body_kind, BODY_JSON);
    assert_string_equal(init->body,
                        "{\"total_chunks\":10,\"total_size\":10485760,\"filename\":\"lt-${vu}-${iter}.mp3\"}");
    assert_int_equal(init->nexpect, 2);
    assert_int_equal(init->expect_status[0], 200);
    assert_int_equal(init->expect_status[1], 201);
    assert_int_equal(init->ncaptures, 1);
    assert_string_equal(init->captures[0].slot, "upload_id");
    assert_int_equal(init->captures[0].kind, CAPTURE_JSON);
    assert_string_equal(init->captures[0].path, "data.upload_id");
    /* the model is the file: plan_compile adds Content-Type for json bodies */
    assert_int_equal(init->nheaders, 0);
    assert_int_equal(init->timeout_ns, 0);

    const struct step *rep = &up->flow[1];
    assert_int_equal(rep->kind, STEP_REPEAT);
    assert_int_equal(rep->repeat, 10);
    assert_string_equal(rep->repeat_as, "n");
    assert_int_equal(rep->nsteps, 1);
    const struct step *chunk = &rep->steps[0];
    assert_int_equal(chunk->kind, STEP_REQUEST);
    assert_string_equal(chunk->method, "POST");
    assert_string_equal(chunk->path, "/api/v1/tracks/upload/chunk");
    assert_int_equal(chunk->body_kind, BODY_BYTES);
    assert_int_equal(chunk->body_bytes, 1048576);
    assert_null(chunk->expect_status);
    assert_int_equal(chunk->nheaders, 2);
    assert_string_equal(chunk->headers[0].name, "X-Upload-Id");
    assert_string_equal(chunk->headers[0].value, "${upload_id}");
    assert_string_equal(chunk->headers[1].name, "X-Chunk-Number");
    assert_string_equal(chunk->headers[1].value, "${n}");

    const struct scenario *br = &sf.scenarios[1];
    assert_string_equal(br->name, "browse");
    assert_int_equal(br->executor, EXEC_RAMPING_VUS);
    assert_int_equal(br->start_vus, 1);
    assert_int_equal(br->graceful_ramp_down_ns, 30 * S);
    assert_int_equal(br->graceful_stop_ns, 30 * S);
    assert_int_equal(br->nstages, 2);
    assert_int_equal(br->stages[0].duration_ns, 30 * S);
    assert_true(br->stages[0].target == 1000);
    assert_int_equal(br->stages[1].duration_ns, 300 * S);
    assert_true(br->stages[1].target == 1000);
    assert_int_equal(br->nflow, 2);
    const struct step *pick = &br->flow[0];
    assert_int_equal(pick->kind, STEP_PICK);
    assert_int_equal(pick->nbranches, 3);
    static const uint32_t weights[] = {60, 30, 10};
    static const char *const paths[] = {"/api/v1/search?q=${one_of:rock,jazz,lo-fi}",
                                        "/api/v1/tracks?page=1&limit=20", "/api/v1/tracks/1"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pick->branches[i].weight, weights[i]);
        assert_int_equal(pick->branches[i].nsteps, 1);
        assert_int_equal(pick->branches[i].steps[0].kind, STEP_REQUEST);
        assert_string_equal(pick->branches[i].steps[0].method, "GET");
        assert_string_equal(pick->branches[i].steps[0].path, paths[i]);
        assert_int_equal(pick->branches[i].pos.line, 29 + i);
    }
    assert_string_equal(pick->branches[2].steps[0].name, "GET /api/v1/tracks/1");
    const struct step *think = &br->flow[1];
    assert_int_equal(think->kind, STEP_THINK);
    assert_int_equal(think->think_min_ns, 300 * MS);
    assert_int_equal(think->think_max_ns, 800 * MS);

    scenario_free(&sf);
    assert_null(sf.arena_);
    scenario_free(&sf); /* twice is harmless */
}

static void test_design_example_overrides(void **state)
{
    (void)state;
    clear_env();
    setenv("UPLOAD_VUS", "50", 1);
    setenv("USER_TOKEN", "tok-from-env", 1);
    setenv("BASE_URL", "http://10.0.0.1:9000/", 1);
    struct scenario_file sf;

    /* the process environment */
    load_ok(design_yaml, NULL, 0, &sf);
    assert_int_equal(sf.scenarios[0].vus, 50);
    assert_string_equal(sf.target, "http://10.0.0.1:9000"); /* trailing '/' stripped */
    assert_string_equal(sf.defaults.headers[0].value, "Bearer tok-from-env");
    scenario_free(&sf);

    /* -e wins over the environment; the last -e of a name wins */
    const char *const env[] = {"UPLOAD_VUS=3", "DURATION=90s", "UPLOAD_VUS=7", "STREAM_TRACK_ID=abc",
                               "BASE_URL=https://[::1]:8443/base/"};
    load_ok(design_yaml, env, (int)N(env), &sf);
    assert_int_equal(sf.scenarios[0].vus, 7);
    assert_int_equal(sf.scenarios[0].duration_ns, 90 * S);
    assert_string_equal(sf.target, "https://[::1]:8443/base");
    assert_string_equal(sf.scenarios[1].flow[0].branches[2].steps[0].path, "/api/v1/tracks/abc");
    assert_string_equal(sf.defaults.headers[0].value, "Bearer tok-from-env");
    scenario_free(&sf);

    /* an -e value that is not a number is an error where it lands */
    const char *const bad_env[] = {"UPLOAD_VUS=lots"};
    char err[512];
    assert_int_equal(load(design_yaml, bad_env, 1, &sf, err, sizeof(err)), -1);
    assert_string_equal(err, "x.yaml:11:10: 'vus': expected a whole number, got 'lots'");
    clear_env();
}

/* -------------------------------------------------------------- executors */

static void test_executor_defaults(void **state)
{
    (void)state;
    clear_env();
    static const char yaml[] =
        "target: http://127.0.0.1:8080\n"
        "scenarios:\n"
        "  cv: {executor: constant-vus, duration: 10s, flow: [{get: /}]}\n"
        "  rv: {executor: ramping-vus, stages: [{duration: 10s, target: 5}], flow: [{get: /}]}\n"
        "  car: {executor: constant-arrival-rate, rate: 100, duration: 1m, pre_allocated_vus: 20,\n"
        "        flow: [{get: /}]}\n"
        "  rar: {executor: ramping-arrival-rate, preAllocatedVUs: 5, stages: [{duration: 1m, target: 2.5}],\n"
        "        flow: [{get: /}]}\n"
        "  pvi: {executor: per-vu-iterations, flow: [{get: /}]}\n"
        "  si: {executor: shared-iterations, flow: [{get: /}]}\n";
    struct scenario_file sf;
    load_ok(yaml, NULL, 0, &sf);
    assert_int_equal(sf.nscenarios, 6);
    assert_int_equal(sf.defaults.timeout_ns, 60 * S);
    assert_true(sf.defaults.discard_bodies);
    assert_null(sf.thresholds);
    assert_int_equal(sf.nthresholds, 0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(sf.scenarios[i].graceful_stop_ns, 30 * S);
        assert_int_equal(sf.scenarios[i].start_time_ns, 0);
        assert_int_equal(sf.scenarios[i].pace_ns, 0);
        assert_int_equal(sf.scenarios[i].nflow, 1);
    }
    const struct scenario *s = &sf.scenarios[0];
    assert_int_equal(s->executor, EXEC_CONSTANT_VUS);
    assert_int_equal(s->vus, 1);
    assert_int_equal(s->duration_ns, 10 * S);
    assert_int_equal(s->graceful_ramp_down_ns, 0);

    s = &sf.scenarios[1];
    assert_int_equal(s->executor, EXEC_RAMPING_VUS);
    assert_int_equal(s->start_vus, 1);
    assert_int_equal(s->graceful_ramp_down_ns, 30 * S);
    assert_int_equal(s->nstages, 1);
    assert_true(s->stages[0].target == 5);

    s = &sf.scenarios[2];
    assert_int_equal(s->executor, EXEC_CONSTANT_ARRIVAL_RATE);
    assert_true(s->rate == 100);
    assert_int_equal(s->time_unit_ns, 1 * S);
    assert_int_equal(s->duration_ns, 60 * S);
    assert_int_equal(s->pre_allocated_vus, 20);
    assert_int_equal(s->max_vus, 20); /* default: pre_allocated_vus */

    s = &sf.scenarios[3];
    assert_int_equal(s->executor, EXEC_RAMPING_ARRIVAL_RATE);
    assert_true(s->start_rate == 0);
    assert_int_equal(s->time_unit_ns, 1 * S);
    assert_int_equal(s->pre_allocated_vus, 5);
    assert_int_equal(s->max_vus, 5);
    assert_true(s->stages[0].target == 2.5);

    for (int i = 4; i < 6; i++) {
        s = &sf.scenarios[i];
        assert_int_equal(s->executor, i == 4 ? EXEC_PER_VU_ITERATIONS : EXEC_SHARED_ITERATIONS);
        assert_int_equal(s->vus, 1);
        assert_int_equal(s->iterations, 1);
        assert_int_equal(s->max_duration_ns, 600 * S);
    }
    scenario_free(&sf);
}

static void test_executor_options(void **state)
{
    (void)state;
    clear_env();
    /* every option given, in k6's camelCase where it has one */
    static const char yaml[] =
        "target: http://127.0.0.1:8080\n"
        "scenarios:\n"
        "  rv:\n"
        "    executor: ramping-vus\n"
        "    startVUs: 0\n"
        "    stages: [{duration: 0s, target: 10}, {duration: 1m30s, target: 0}]\n"
        "    gracefulRampDown: 5s\n"
        "    gracefulStop: 0s\n"
        "    startTime: 1m\n"
        "    pace: 1s\n"
        "    target: http://127.0.0.1:9090/\n"
        "    tags: {team: core, build: \"42\"}\n"
        "    flow: [{get: /}]\n"
        "  rar:\n"
        "    executor: ramping-arrival-rate\n"
        "    startRate: 50\n"
        "    timeUnit: 1m\n"
        "    pre_allocated_vus: 10\n"
        "    max_vus: 100\n"
        "    stages: [{duration: 2m, target: 200}]\n"
        "    flow: [{get: /}]\n"
        "  si:\n"
        "    executor: shared-iterations\n"
        "    vus: 10\n"
        "    iterations: 200\n"
        "    maxDuration: 30s\n"
        "    flow: [{get: /}]\n"
        "  car:\n"
        "    executor: constant-arrival-rate\n"
        "    rate: 0.5\n"
        "    time_unit: 1s\n"
        "    duration: 1h\n"
        "    pre_allocated_vus: 0\n"
        "    max_vus: 3\n"
        "    start_time: 10s\n"
        "    flow: [{get: /}]\n";
    struct scenario_file sf;
    load_ok(yaml, NULL, 0, &sf);
    const struct scenario *s = &sf.scenarios[0];
    assert_int_equal(s->start_vus, 0);
    assert_int_equal(s->stages[0].duration_ns, 0);
    assert_int_equal(s->stages[1].duration_ns, 90 * S);
    assert_int_equal(s->graceful_ramp_down_ns, 5 * S);
    assert_int_equal(s->graceful_stop_ns, 0);
    assert_int_equal(s->start_time_ns, 60 * S);
    assert_int_equal(s->pace_ns, 1 * S);
    assert_string_equal(s->target, "http://127.0.0.1:9090");
    assert_int_equal(s->ntags, 2);
    assert_string_equal(find_kv(s->tags, s->ntags, "team")->value, "core");
    assert_string_equal(find_kv(s->tags, s->ntags, "build")->value, "42");

    s = &sf.scenarios[1];
    assert_true(s->start_rate == 50);
    assert_int_equal(s->time_unit_ns, 60 * S);
    assert_int_equal(s->pre_allocated_vus, 10);
    assert_int_equal(s->max_vus, 100);

    s = &sf.scenarios[2];
    assert_int_equal(s->vus, 10);
    assert_int_equal(s->iterations, 200);
    assert_int_equal(s->max_duration_ns, 30 * S);

    s = &sf.scenarios[3];
    assert_true(s->rate == 0.5);
    assert_int_equal(s->duration_ns, 3600 * S);
    assert_int_equal(s->pre_allocated_vus, 0);
    assert_int_equal(s->max_vus, 3);
    assert_int_equal(s->start_time_ns, 10 * S);
    scenario_free(&sf);
}

/* ------------------------------------------------------------ environment */

static void test_env(void **state)
{
    (void)state;
    clear_env();
    setenv("BLASTER_T_SET", "from-env", 1);
    setenv("BLASTER_T_EMPTY", "", 1);
    static const char yaml[] =
        "target: http://127.0.0.1:8080\n"
        "scenarios:\n"
        "  s:\n"
        "    executor: constant-vus\n"
        "    duration: ${BLASTER_T_UNSET:-2s}\n"
        "    vus: ${BLASTER_T_VUS:-4}\n"
        "    flow:\n"
        "      - get: /a\n"
        "        headers:\n"
        "          X-Set: \"${BLASTER_T_SET}\"\n"
        "          X-Set-Default: \"${BLASTER_T_SET:-nope}\"\n"
        "          X-Unset-Default: \"${BLASTER_T_UNSET:-dflt}\"\n"
        "          X-Empty: \"[${BLASTER_T_EMPTY}]\"\n"
        "          X-Empty-Default: \"${BLASTER_T_EMPTY:-dflt}\"\n"
        "          X-Empty-Default-Empty: \"[${BLASTER_T_UNSET:-}]\"\n"
        "          X-Escape: \"$${BLASTER_T_SET} and $${vu}\"\n"
        "          X-Runtime: \"${vu}/${iter}/${one_of:a,b,c}/${tok}/${k}\"\n"
        "          X-Dollar: \"$5 ${BLASTER_T_SET}$\"\n"
        "        capture: {tok: {header: X-Token}}\n"
        "      - repeat: 2\n"
        "        as: k\n"
        "        steps:\n"
        "          - get: /b/${k}/${tok}\n"
        "            name: \"$${literal} ${BLASTER_T_SET}\"\n"
        "      - post: /c\n"
        "        json:\n"          /* block style: a plain ${...} is not allowed inside {...} in YAML */
        "          a: \"${BLASTER_T_SET}\"\n"
        "          b: \"$${x}\"\n"
        "          c: \"${k}\"\n"
        "          n: ${BLASTER_T_N:-5}\n"
        "          s: \"${BLASTER_T_N:-5}\"\n";
    const char *const env[] = {"BLASTER_T_VUS=9", "BLASTER_T_N=12"};
    struct scenario_file sf;
    load_ok(yaml, env, 2, &sf);
    const struct scenario *s = &sf.scenarios[0];
    assert_int_equal(s->duration_ns, 2 * S);
    assert_int_equal(s->vus, 9);
    const struct step *a = &s->flow[0];
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Set")->value, "from-env");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Set-Default")->value, "from-env");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Unset-Default")->value, "dflt");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Empty")->value, "[]");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Empty-Default")->value, "dflt");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Empty-Default-Empty")->value, "[]");
    /* template text keeps the escape for the template compiler */
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Escape")->value, "$${BLASTER_T_SET} and $${vu}");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Runtime")->value,
                        "${vu}/${iter}/${one_of:a,b,c}/${tok}/${k}");
    assert_string_equal(find_kv(a->headers, a->nheaders, "X-Dollar")->value, "$5 from-env$");
    const struct step *b = &s->flow[1].steps[0];
    assert_string_equal(b->path, "/b/${k}/${tok}");
    /* plain text (a name) loses it */
    assert_string_equal(b->name, "${literal} from-env");
    const struct step *c = &s->flow[2];
    assert_string_equal(c->body, "{\"a\":\"from-env\",\"b\":\"$${x}\",\"c\":\"${k}\",\"n\":12,\"s\":\"12\"}");
    scenario_free(&sf);

    /* an environment value is literal text, even with "${" in it */
    const char *const env2[] = {"BLASTER_T_SET=a${vu}b", "BLASTER_T_VUS=1"};
    load_ok(yaml, env2, 2, &sf);
    assert_string_equal(find_kv(sf.scenarios[0].flow[0].headers, sf.scenarios[0].flow[0].nheaders, "X-Set")->value,
                        "a$${vu}b");
    scenario_free(&sf);

    /* a capture of one scenario is not a runtime slot in another */
    static const char two[] =
        "target: http://h\n"
        "scenarios:\n"
        "  a: {executor: constant-vus, duration: 1s, flow: [{get: /, capture: {tok: {header: X}}}]}\n"
        "  b: {executor: constant-vus, duration: 1s, flow: [{get: \"/${tok}\"}]}\n";
    char err[512];
    assert_int_equal(load(two, NULL, 0, &sf, err, sizeof(err)), -1);
    assert_string_equal(err, "x.yaml:4:60: environment variable tok is not set (write ${tok:-value} for a default, "
                             "or pass -e tok=...)");
    clear_env();
}

/* -------------------------------------------------------------- steps */

/* Every step kind and the file-wide sections, in one file: steps_yaml. */
static const char steps_yaml[] =
    "target: http://127.0.0.1:8080\n"
    "defaults:\n"
    "  headers: {content-type: text/plain}\n"
    "  tags: {env: test}\n"
    "  timeout: 5s\n"
    "  discardResponseBodies: false\n"
    "summary_trend_stats: [avg, min, med, max, p(90), p(99.9), count]\n"
    "thresholds:\n"
    "  http_req_failed: [{threshold: \"rate<0.01\", abortOnFail: true, delayAbortEval: 10s}]\n"
    "  \"http_req_duration{ scenario : 'browse' , name:x:y }\": [\"p(95)<1\"]\n"
    "  checks: [\"rate>0.99\"]\n"
    "scenarios:\n"
    "  s:\n"
    "    executor: per-vu-iterations\n"
    "    flow:\n"
    "      - put: https://other.example/x\n"
    "        name: put_x\n"
    "        body: plain ${vu}\n"
    "        timeout: 1.5s\n"
    "        tags: {kind: write}\n"
    "        expect: {status: [{min: 200, max: 204}, 404, 200]}\n"
    "      - patch: /p\n"
    "        file: data/p.json\n"
    "      - delete: /d\n"
    "        body: {file: data/d.bin}\n"
    "        expect: {status: 204}\n"
    "      - head: /h\n"
    "        capture: {etag: {header: ETag}, id: {json: \"items[0].id\"}}\n"
    "      - post: /j\n"
    "        json: [1, -2.5e3, 007, true, false, null, ~, \"true\", x y, {}, [], {q: \"\\\"\\\\\\t\"}]\n"
    "      - post: /k\n"
    "        json: {a: 1}\n"
    "        headers: {Content-Type: application/vnd.x+json}\n"
    "      - think: 250ms\n"
    "      - think: 1s .. 2s\n"
    "      - hls: {master: \"/t/${vu}/master.m3u8\", variant: highest}\n"
    "      - hls: {master: /m.m3u8, variant: 256k, segments: 4}\n"
    "        name: player\n"
    "      - hls: {master: /m.m3u8}\n"
    "      - pick:\n"
    "          - get: /one\n"
    "          - weight: 3\n"
    "            steps: [{get: /two}, {think: 1s}]\n"
    "          - {weight: 2, think: 5s}\n"
    "          - {weight: 4, repeat: 2, steps: [{get: /r}]}\n";

/* steps_yaml's defaults, summary_trend_stats and thresholds. */
static void check_steps_top_level(const struct scenario_file *sf)
{
    assert_int_equal(sf->defaults.timeout_ns, 5 * S);
    assert_false(sf->defaults.discard_bodies);
    assert_int_equal(sf->defaults.ntags, 1);
    assert_string_equal(sf->defaults.tags[0].value, "test");
    assert_int_equal(sf->nsummary_trend_stats, 7);
    assert_string_equal(sf->summary_trend_stats[5], "p(99.9)");
    assert_int_equal(sf->nthresholds, 3);
    assert_true(sf->thresholds[0].abort_on_fail);
    assert_int_equal(sf->thresholds[0].delay_abort_eval_ns, 10 * S);
    assert_string_equal(sf->thresholds[0].expr, "rate<0.01");
    assert_string_equal(sf->thresholds[1].metric, "http_req_duration{ scenario : 'browse' , name:x:y }");
    assert_string_equal(sf->thresholds[2].metric, "checks");
}

/* steps_yaml's request steps: flow[0..5]. */
static void check_steps_requests(const struct scenario_file *sf)
{
    const struct step *f = sf->scenarios[0].flow;
    assert_int_equal(sf->scenarios[0].nflow, 12);
    assert_string_equal(f[0].method, "PUT");
    assert_string_equal(f[0].path, "https://other.example/x");
    assert_string_equal(f[0].name, "put_x");
    assert_int_equal(f[0].body_kind, BODY_TEXT);
    assert_string_equal(f[0].body, "plain ${vu}");
    assert_int_equal(f[0].timeout_ns, 1500 * MS);
    assert_int_equal(f[0].ntags, 1);
    assert_string_equal(f[0].tags[0].name, "kind");
    assert_int_equal(f[0].nexpect, 6);
    static const int want[] = {200, 201, 202, 203, 204, 404};
    for (int i = 0; i < 6; i++)
        assert_int_equal(f[0].expect_status[i], want[i]);

    assert_string_equal(f[1].method, "PATCH");
    assert_string_equal(f[1].name, "PATCH /p");
    assert_int_equal(f[1].body_kind, BODY_FILE);
    assert_string_equal(f[1].body, "data/p.json");

    assert_string_equal(f[2].method, "DELETE");
    assert_int_equal(f[2].body_kind, BODY_FILE);
    assert_string_equal(f[2].body, "data/d.bin");
    assert_int_equal(f[2].nexpect, 1);
    assert_int_equal(f[2].expect_status[0], 204);

    assert_string_equal(f[3].method, "HEAD");
    assert_int_equal(f[3].body_kind, BODY_NONE);
    assert_null(f[3].body);
    assert_int_equal(f[3].ncaptures, 2);
    assert_string_equal(f[3].captures[0].slot, "etag");
    assert_int_equal(f[3].captures[0].kind, CAPTURE_HEADER);
    assert_string_equal(f[3].captures[0].path, "ETag");
    assert_string_equal(f[3].captures[1].path, "items[0].id");

    assert_string_equal(f[4].body, "[1,-2.5e3,\"007\",true,false,null,null,\"true\",\"x y\",{},[],{\"q\":\"\\\"\\\\\\t\"}]");
    assert_int_equal(f[4].nheaders, 0);
    assert_int_equal(f[5].nheaders, 1);
    assert_string_equal(f[5].headers[0].value, "application/vnd.x+json");
}

/* steps_yaml's think, hls and pick steps: flow[6..11]. */
static void check_steps_others(const struct step *f)
{
    assert_int_equal(f[6].kind, STEP_THINK);
    assert_int_equal(f[6].think_min_ns, 250 * MS);
    assert_int_equal(f[6].think_max_ns, 250 * MS);
    assert_int_equal(f[7].think_min_ns, 1 * S);
    assert_int_equal(f[7].think_max_ns, 2 * S);

    assert_int_equal(f[8].kind, STEP_HLS);
    assert_string_equal(f[8].hls_master, "/t/${vu}/master.m3u8");
    assert_int_equal(f[8].hls_variant, HLS_HIGHEST);
    assert_int_equal(f[8].hls_segments, 0);
    assert_string_equal(f[8].name, "HLS /t/${vu}/master.m3u8");
    assert_int_equal(f[9].hls_variant, HLS_NAMED);
    assert_string_equal(f[9].hls_variant_name, "256k");
    assert_int_equal(f[9].hls_segments, 4);
    assert_string_equal(f[9].name, "player");
    assert_int_equal(f[10].hls_variant, HLS_LOWEST);
    assert_null(f[10].hls_variant_name);

    const struct step *p = &f[11];
    assert_int_equal(p->kind, STEP_PICK);
    assert_int_equal(p->nbranches, 4);
    assert_int_equal(p->branches[0].weight, 1);
    assert_string_equal(p->branches[0].steps[0].path, "/one");
    assert_int_equal(p->branches[1].weight, 3);
    assert_int_equal(p->branches[1].nsteps, 2);
    assert_int_equal(p->branches[1].steps[1].kind, STEP_THINK);
    assert_int_equal(p->branches[2].weight, 2);
    assert_int_equal(p->branches[2].steps[0].kind, STEP_THINK);
    assert_int_equal(p->branches[3].steps[0].kind, STEP_REPEAT);
    assert_int_equal(p->branches[3].steps[0].repeat, 2);
    assert_null(p->branches[3].steps[0].repeat_as);
}

static void test_steps(void **state)
{
    (void)state;
    clear_env();
    char err[512];
    struct scenario_file sf;
    int rc = load(steps_yaml, NULL, 0, &sf, err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    check_steps_top_level(&sf);
    check_steps_requests(&sf);
    check_steps_others(sf.scenarios[0].flow);
    scenario_free(&sf);
}

/* ------------------------------------------------------- examples/mixed.yaml */

static const struct scenario *find_scenario(const struct scenario_file *sf, const char *name)
{
    for (int i = 0; i < sf->nscenarios; i++)
        if (strcmp(sf->scenarios[i].name, name) == 0)
            return &sf->scenarios[i];
    return NULL;
}

static void test_tls_block(void **state)
{
    (void)state;
    struct scenario_file sf;
    load_ok("target: https://127.0.0.1:8443\n"
            "tls:\n"
            "  cacert: certs/ca.pem\n"
            "  cert: client.pem\n"
            "  key: client.key\n"
            "  min_version: \"1.2\"\n"
            "  max_version: TLSv1.3\n"
            "  resume: false\n"
            "  server_name: api.example\n"
            "  insecureSkipTLSVerify: true\n"
            "scenarios:\n  s: {executor: constant-vus, duration: 1s, flow: [{get: /}]}\n", NULL, 0, &sf);
    assert_string_equal(sf.tls.cacert, "certs/ca.pem");
    assert_string_equal(sf.tls.cert, "client.pem");
    assert_string_equal(sf.tls.key, "client.key");
    assert_string_equal(sf.tls.server_name, "api.example");
    assert_int_equal(sf.tls.min_version, 12);
    assert_int_equal(sf.tls.max_version, 13);
    assert_false(sf.tls.resume);
    assert_true(sf.tls.insecure);
    assert_int_equal(sf.tls.pos.line, 3);
    scenario_free(&sf);
    /* without the block: verify, resume, any version */
    load_ok("target: https://h\nscenarios:\n  s: {executor: constant-vus, duration: 1s, flow: [{get: /}]}\n",
            NULL, 0, &sf);
    assert_true(sf.tls.resume);
    assert_false(sf.tls.insecure);
    assert_null(sf.tls.cacert);
    assert_int_equal(sf.tls.min_version, 0);
    scenario_free(&sf);
}

static void test_mixed_example(void **state)
{
    (void)state;
    clear_env();
    struct scenario_file sf;
    char err[512];
    if (scenario_load("examples/mixed.yaml", NULL, 0, &sf, err, sizeof(err)) != 0)
        fail_msg("%s (run from the repository root)", err);

    assert_string_equal(sf.target, "http://127.0.0.1:8080");
    assert_true(sf.defaults.discard_bodies);
    assert_int_equal(sf.nscenarios, 4);
    uint32_t vus = 0;
    for (int i = 0; i < sf.nscenarios; i++) {
        const struct scenario *s = &sf.scenarios[i];
        assert_int_equal(s->executor, EXEC_CONSTANT_VUS);
        assert_int_equal(s->duration_ns, 300 * S);
        assert_int_equal(s->graceful_stop_ns, 30 * S);
        assert_int_equal(s->ntags, 1);
        assert_string_equal(s->tags[0].name, "scenario");
        assert_string_equal(s->tags[0].value, s->name);
        vus += s->vus;
    }
    assert_int_equal(vus, 1650);

    assert_int_equal(sf.nthresholds, 10);
    int per_scenario_failed = 0;
    for (int i = 0; i < sf.nthresholds; i++)
        per_scenario_failed += strncmp(sf.thresholds[i].metric, "http_req_failed{scenario:", 25) == 0;
    assert_int_equal(per_scenario_failed, 4);

    const struct scenario *up = find_scenario(&sf, "upload");
    assert_non_null(up);
    assert_int_equal(up->vus, 100);
    assert_int_equal(up->nflow, 2);
    assert_string_equal(up->flow[0].name, "upload_initiate");
    assert_int_equal(up->flow[0].body_kind, BODY_JSON);
    assert_string_equal(up->flow[0].body,
                        "{\"total_chunks\":10,\"total_size\":10485760,\"filename\":\"loadtest-${vu}-${iter}.mp3\"}");
    assert_string_equal(find_kv(up->flow[0].headers, up->flow[0].nheaders, "Authorization")->value, "Bearer ");
    assert_int_equal(up->flow[1].kind, STEP_REPEAT);
    assert_int_equal(up->flow[1].repeat, 10);
    const struct step *chunk = &up->flow[1].steps[0];
    assert_int_equal(chunk->body_bytes, 1048576);
    assert_string_equal(find_kv(chunk->headers, chunk->nheaders, "X-Upload-Id")->value, "${upload_id}");
    assert_string_equal(find_kv(chunk->headers, chunk->nheaders, "X-Chunk-Number")->value, "${i}");
    assert_int_equal(chunk->nexpect, 201); /* 200..399 and 401 */
    assert_int_equal(chunk->expect_status[200], 401);

    const struct scenario *st = find_scenario(&sf, "streaming");
    assert_non_null(st);
    assert_int_equal(st->vus, 500);
    assert_int_equal(st->flow[0].kind, STEP_HLS);
    assert_string_equal(st->flow[0].hls_master,
                        "/api/v1/tracks/00000000-0000-0000-0000-000000000001/hls/master.m3u8");
    assert_int_equal(st->flow[0].hls_variant, HLS_NAMED);
    assert_string_equal(st->flow[0].hls_variant_name, "256k");
    assert_int_equal(st->flow[0].hls_segments, 4);
    assert_int_equal(st->flow[1].kind, STEP_THINK);

    const struct scenario *br = find_scenario(&sf, "browse");
    assert_non_null(br);
    assert_int_equal(br->vus, 1000);
    assert_int_equal(br->flow[0].kind, STEP_PICK);
    assert_int_equal(br->flow[0].nbranches, 3);
    assert_int_equal(br->flow[0].branches[0].weight, 60);
    assert_int_equal(br->flow[0].branches[1].weight, 30);
    assert_int_equal(br->flow[0].branches[2].weight, 10);
    assert_int_equal(br->flow[1].think_min_ns, 300 * MS);
    assert_int_equal(br->flow[1].think_max_ns, 800 * MS);

    const struct scenario *co = find_scenario(&sf, "checkout");
    assert_non_null(co);
    assert_int_equal(co->vus, 50);
    const struct step *create = &co->flow[1];
    assert_string_equal(create->name, "checkout_create");
    bool expects_400 = false, expects_500 = false;
    for (int i = 0; i < create->nexpect; i++) {
        expects_400 |= create->expect_status[i] == 400;
        expects_500 |= create->expect_status[i] == 500;
    }
    assert_true(expects_400);
    assert_false(expects_500);
    scenario_free(&sf);

    /* the overrides */
    const char *const env[] = {"UPLOAD_VUS=1", "STREAM_VUS=2", "BROWSE_VUS=3", "CHECKOUT_VUS=4", "DURATION=30s",
                               "BASE_URL=http://127.0.0.2:8081/", "USER_TOKEN=t0k"};
    if (scenario_load("examples/mixed.yaml", env, (int)N(env), &sf, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    vus = 0;
    for (int i = 0; i < sf.nscenarios; i++) {
        vus += sf.scenarios[i].vus;
        assert_int_equal(sf.scenarios[i].duration_ns, 30 * S);
    }
    assert_int_equal(vus, 10);
    assert_string_equal(sf.target, "http://127.0.0.2:8081");
    up = find_scenario(&sf, "upload");
    assert_string_equal(find_kv(up->flow[0].headers, up->flow[0].nheaders, "Authorization")->value, "Bearer t0k");
    scenario_free(&sf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_design_example_overrides),
        cmocka_unit_test(test_executor_defaults),
        cmocka_unit_test(test_executor_options),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_mixed_example),
        cmocka_unit_test(test_tls_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
