/* plan_compile on hand-made scenario files: the ops of DESIGN.md's example,
 * what the compiled requests render (loop values, captures, merged headers,
 * json Content-Type, shared bodies), picks, hls, the error messages with
 * FILE:LINE:COL, and quick mode. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test/unit/design_example.h"
#include "blaster/load/cli.h"
#include "blaster/compile/plan.h"
#include "blaster/load/quick.h"

#ifndef BLASTER_VERSION
#define BLASTER_VERSION "dev"   /* as plan.c does */
#endif

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SEC 1000000000ll
#define MS  1000000ll
#define MIB (1024 * 1024)

static struct srcpos P(int line, int col) { return (struct srcpos){line, col}; }

/* A request step; name "METHOD path" like the loader's default. */
static struct step req(const char *method, const char *path, int line)
{
    static char names[64][128];
    static int next;
    char *nm = names[next++ % 64];
    snprintf(nm, 128, "%s %s", method, path);
    return (struct step){.kind = STEP_REQUEST, .pos = P(line, 7), .name = nm,
                         .method = (char *)method, .path = (char *)path};
}

static struct scenario_file file(const char *target, struct scenario *sc, int nsc)
{
    return (struct scenario_file){.path = "mixed.yaml", .target = (char *)target,
                                  .defaults = {.timeout_ns = 60 * SEC, .discard_bodies = true},
                                  .scenarios = sc, .nscenarios = nsc};
}

/* When the test is over at the latest: the largest executor_end of the
 * plan's scenarios (k6: start_time + duration + graceful_stop; a ramping-vus
 * graceful ramp-down never extends it). */
static int64_t plan_end(const struct plan *p)
{
    int64_t end = 0;
    for (int i = 0; i < p->nsc; i++)
        if (executor_end(&p->sc[i].exec) > end)
            end = executor_end(&p->sc[i].exec);
    return end;
}

/* Render request r with vals; NUL-terminated, malloc'ed. */
static char *render(const struct plan_request *r, const struct template_values *vals, size_t *len)
{
    struct iovec iov[64];
    char scratch[1024];
    size_t total = 0;
    assert_true(r->t.max_iov <= 64 && r->t.scratch_need <= sizeof scratch);
    int n = template_request_render_iov(&r->t, vals, iov, 64, scratch, sizeof scratch, &total);
    assert_true(n >= 0);
    char *out = malloc(total + 1), *o = out;
    for (int i = 0; i < n; i++) {
        memcpy(o, iov[i].iov_base, iov[i].iov_len);
        o += iov[i].iov_len;
    }
    *o = '\0';
    assert_int_equal((size_t)(o - out), total);
    if (len)
        *len = total;
    return out;
}

/* The head only (up to and including the blank line). */
static char *render_head(const struct plan_request *r, const struct template_values *vals)
{
    char *s = render(r, vals, NULL);
    char *e = strstr(s, "\r\n\r\n");
    assert_non_null(e);
    e[4] = '\0';
    return s;
}

static void assert_op(const struct op *o, int kind, uint32_t a, uint32_t b, uint32_t c)
{
    assert_int_equal(o->kind, kind);
    assert_int_equal(o->a, a);
    assert_int_equal(o->b, b);
    assert_int_equal(o->c, c);
}

static bool expected(const struct plan_request *r, int status)
{
    return (r->expect[status / 64] >> (status % 64)) & 1;
}

/* ---- DESIGN.md's upload/browse example ---- */

struct example {
    struct kv defaults_headers[1];
    struct kv chunk_headers[2];
    int expect[2];
    struct capture cap[1];
    struct step loop_body[1];
    struct step upload_flow[2];
    struct step b0[1], b1[1], b2[1];
    struct pick_branch branches[3];
    struct step browse_flow[2];
    struct stage stages[2];
    struct scenario sc[2];
    struct scenario_file sf;
};

static void example_init(struct example *e)
{
    memset(e, 0, sizeof *e);
    e->defaults_headers[0] = (struct kv){"Authorization", "Bearer t0k", P(3, 30)};
    e->chunk_headers[0] = (struct kv){"X-Upload-Id", "${upload_id}", P(31, 15)};
    e->chunk_headers[1] = (struct kv){"X-Chunk-Number", "${n}", P(31, 45)};
    e->expect[0] = 200;
    e->expect[1] = 201;
    e->cap[0] = (struct capture){"upload_id", CAPTURE_JSON, "data.upload_id", P(24, 18)};

    struct step *init = &e->upload_flow[0];
    *init = req("POST", "/api/v1/tracks/upload/initiate", 21);
    init->body_kind = BODY_JSON;
    init->body = "{\"total_chunks\":10,\"total_size\":10485760,\"filename\":\"lt-${vu}-${iter}.mp3\"}";
    init->expect_status = e->expect;
    init->nexpect = 2;
    init->captures = e->cap;
    init->ncaptures = 1;

    e->loop_body[0] = req("POST", "/api/v1/tracks/upload/chunk", 28);
    e->loop_body[0].body_kind = BODY_BYTES;
    e->loop_body[0].body_bytes = MIB;
    e->loop_body[0].headers = e->chunk_headers;
    e->loop_body[0].nheaders = 2;

    e->upload_flow[1] = (struct step){.kind = STEP_REPEAT, .pos = P(25, 9), .repeat = 10, .repeat_as = "n",
                                      .steps = e->loop_body, .nsteps = 1};

    e->b0[0] = req("GET", "/api/v1/search?q=${one_of:rock,jazz,lo-fi}", 38);
    e->b1[0] = req("GET", "/api/v1/tracks?page=1&limit=20", 39);
    e->b2[0] = req("GET", "/api/v1/tracks/1", 40);
    e->branches[0] = (struct pick_branch){60, e->b0, 1, P(38, 13)};
    e->branches[1] = (struct pick_branch){30, e->b1, 1, P(39, 13)};
    e->branches[2] = (struct pick_branch){10, e->b2, 1, P(40, 13)};
    e->browse_flow[0] = (struct step){.kind = STEP_PICK, .pos = P(37, 9), .branches = e->branches, .nbranches = 3};
    e->browse_flow[1] = (struct step){.kind = STEP_THINK, .pos = P(41, 9),
                                      .think_min_ns = 300 * MS, .think_max_ns = 800 * MS};
    e->stages[0] = (struct stage){30 * SEC, 1000, P(35, 15)};
    e->stages[1] = (struct stage){300 * SEC, 1000, P(35, 50)};

    e->sc[0] = (struct scenario){.name = "upload", .pos = P(11, 3), .executor = EXEC_CONSTANT_VUS, .vus = 100,
                                 .duration_ns = 300 * SEC, .graceful_stop_ns = 30 * SEC,
                                 .flow = e->upload_flow, .nflow = 2};
    e->sc[1] = (struct scenario){.name = "browse", .pos = P(32, 3), .executor = EXEC_RAMPING_VUS, .start_vus = 1,
                                 .stages = e->stages, .nstages = 2, .graceful_stop_ns = 30 * SEC,
                                 .graceful_ramp_down_ns = 30 * SEC, .flow = e->browse_flow, .nflow = 2};
    e->sf = file("http://127.0.0.1:8080", e->sc, 2);
    e->sf.defaults.headers = e->defaults_headers;
    e->sf.defaults.nheaders = 1;
}

static void test_example_ops(void **state)
{
    (void)state;
    struct example e;
    example_init(&e);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&e.sf, &p, err, sizeof err), 0);
    assert_int_equal(p.nsc, 2);
    assert_ptr_equal(p.file, &e.sf);
    assert_int_equal(plan_end(&p), 360 * SEC); /* browse: 30s + 5m + 30s stop (ramp-down within) */

    const struct plan_scenario *up = &p.sc[0];
    assert_string_equal(up->name, "upload");
    assert_int_equal(up->exec.executor, e.sc[0].executor); /* compiled from the file's first scenario */
    assert_string_equal(up->url.hostport, "127.0.0.1:8080");
    assert_true(up->addrlen > 0);
    assert_int_equal(up->nops, 5);
    assert_op(&up->ops[0], OP_REQUEST, 0, 0, 0);
    assert_op(&up->ops[1], OP_LOOP, 0, 10, 0);
    assert_op(&up->ops[2], OP_REQUEST, 1, 0, 0);
    assert_op(&up->ops[3], OP_NEXT, 0, 10, 2);
    assert_op(&up->ops[4], OP_END, 0, 0, 0);
    assert_int_equal(up->nreqs, 2);
    assert_int_equal(up->nloops, 1);
    assert_int_equal(up->ncaptures, 1);
    assert_true(up->keeps_bodies);
    assert_int_equal(up->max_vus, 100);
    assert_true(up->max_iov >= up->reqs[0].t.max_iov && up->max_iov >= up->reqs[1].t.max_iov);

    const struct plan_request *init = &up->reqs[0];
    assert_string_equal(init->name, "POST /api/v1/tracks/upload/initiate");
    assert_string_equal(init->method, "POST");
    assert_true(init->has_expect);
    assert_string_equal(init->check_name, "POST /api/v1/tracks/upload/initiate: status in [200, 201]");
    assert_true(expected(init, 200) && expected(init, 201));
    assert_false(expected(init, 202) || expected(init, 204) || expected(init, 301));
    assert_int_equal(init->ncaptures, 1);
    assert_int_equal(init->captures[0].slot, 0);
    assert_int_equal(init->captures[0].kind, CAPTURE_JSON);
    assert_string_equal(init->captures[0].path, "data.upload_id");
    assert_true(init->keep_body);
    assert_false(init->keep_head);
    assert_int_equal(init->timeout_ns, 60 * SEC);
    assert_int_equal(init->metric, 0);

    const struct plan_request *chunk = &up->reqs[1];
    assert_false(chunk->has_expect);
    assert_null(chunk->check_name);
    assert_true(expected(chunk, 200) && expected(chunk, 399));
    assert_false(expected(chunk, 199) || expected(chunk, 400) || expected(chunk, 0));
    assert_false(chunk->keep_body);
    assert_int_equal(chunk->metric, 1);

    const struct plan_scenario *br = &p.sc[1];
    assert_string_equal(br->name, "browse");
    assert_int_equal(br->max_vus, 1000);
    /* The executor's settings are the plan's own: stages copied out of the model. */
    assert_int_equal(br->exec.executor, EXEC_RAMPING_VUS);
    assert_int_equal(br->exec.start_vus, 1);
    assert_int_equal(br->exec.nstages, 2);
    assert_true(br->exec.stages != NULL && (const void *)br->exec.stages != (const void *)e.stages);
    assert_int_equal(br->exec.stages[0].duration_ns, 30 * SEC);
    assert_true(br->exec.stages[1].target == 1000);
    assert_int_equal(br->exec.graceful_ramp_down_ns, 30 * SEC);
    assert_int_equal(br->exec.graceful_stop_ns, 30 * SEC);
    assert_int_equal(up->exec.executor, EXEC_CONSTANT_VUS);
    assert_int_equal(up->exec.vus, 100);
    assert_int_equal(up->exec.duration_ns, 300 * SEC);
    assert_null(up->exec.stages);
    assert_false(up->exec.poisson || up->exec.preconnect);
    assert_int_equal(br->nloops, 0);
    assert_int_equal(br->ncaptures, 0);
    assert_false(br->keeps_bodies);
    assert_int_equal(br->nops, 8);
    assert_op(&br->ops[0], OP_PICK, 0, 0, 0);
    assert_op(&br->ops[1], OP_REQUEST, 0, 0, 0);
    assert_op(&br->ops[2], OP_JUMP, 6, 0, 0);
    assert_op(&br->ops[3], OP_REQUEST, 1, 0, 0);
    assert_op(&br->ops[4], OP_JUMP, 6, 0, 0);
    assert_op(&br->ops[5], OP_REQUEST, 2, 0, 0);
    assert_op(&br->ops[6], OP_THINK, 0, 0, 0);
    assert_int_equal(br->ops[6].t0, 300 * MS);
    assert_int_equal(br->ops[6].t1, 800 * MS);
    assert_op(&br->ops[7], OP_END, 0, 0, 0);
    assert_int_equal(br->npicks, 1);
    assert_int_equal(br->picks[0].n, 3);
    assert_int_equal(br->picks[0].cumulative[0], 60);
    assert_int_equal(br->picks[0].cumulative[1], 90);
    assert_int_equal(br->picks[0].cumulative[2], 100);
    assert_int_equal(br->picks[0].total, 100);
    assert_int_equal(br->picks[0].target[0], 1);
    assert_int_equal(br->picks[0].target[1], 3);
    assert_int_equal(br->picks[0].target[2], 5);
    assert_true(br->reqs[0].t.head.random);   /* the one_of */
    plan_free(&p);
    assert_null(p.sc);
    plan_free(&p);    /* safe on a zeroed plan */
}

/* The chunk request of the loop, loop value 3 and a captured upload id. */
static void test_loop_value_and_capture_render(void **state)
{
    (void)state;
    struct example e;
    example_init(&e);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&e.sf, &p, err, sizeof err), 0);
    const struct plan_request *chunk = &p.sc[0].reqs[1];
    struct template_values v = {.vu = 7, .iter = 2};
    v.loop[0] = 3;
    v.capture[0].ptr = "up-42";
    v.capture[0].len = 5;
    size_t len;
    char *s = render(chunk, &v, &len);
    char *head_end = strstr(s, "\r\n\r\n");
    assert_non_null(head_end);
    *head_end = '\0';
    assert_string_equal(s, "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\n"
                           "Host: 127.0.0.1:8080\r\n"
                           "User-Agent: blaster/" BLASTER_VERSION "\r\n"
                           "Authorization: Bearer t0k\r\n"
                           "X-Upload-Id: up-42\r\n"
                           "X-Chunk-Number: 3\r\n"
                           "Content-Length: 1048576");
    size_t head_len = (size_t)(head_end - s) + 4;
    assert_int_equal(len, head_len + MIB);
    free(s);

    v.loop[0] = 10;
    s = render_head(chunk, &v);
    assert_non_null(strstr(s, "\r\nX-Chunk-Number: 10\r\n"));
    free(s);

    /* the json body with ${vu} and ${iter}, and its Content-Type */
    s = render(&p.sc[0].reqs[0], &v, NULL);
    assert_non_null(strstr(s, "\r\nContent-Type: application/json\r\n"));
    const char *body = "{\"total_chunks\":10,\"total_size\":10485760,\"filename\":\"lt-7-2.mp3\"}";
    char cl[64];
    snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(body));
    assert_non_null(strstr(s, cl));
    assert_string_equal(strstr(s, "\r\n\r\n") + 4, body);
    free(s);
    plan_free(&p);
}

/* A header capture reaches a later step's header, keep_head is set. */
static void test_header_capture(void **state)
{
    (void)state;
    struct capture caps[] = {{"token", CAPTURE_HEADER, "X-Token", P(5, 20)},
                             {"sid", CAPTURE_JSON, "session.id", P(5, 40)}};
    struct kv hs[] = {{"X-Auth", "${token}/${sid}", P(8, 20)}};
    struct step flow[2];
    flow[0] = req("POST", "/login", 4);
    flow[0].captures = caps;
    flow[0].ncaptures = 2;
    flow[1] = req("GET", "/me", 7);
    flow[1].headers = hs;
    flow[1].nheaders = 1;
    flow[1].timeout_ns = 5 * SEC;
    struct scenario sc = {.name = "s", .executor = EXEC_PER_VU_ITERATIONS, .vus = 3, .iterations = 1,
                          .max_duration_ns = 600 * SEC, .graceful_stop_ns = 30 * SEC, .start_time_ns = 10 * SEC,
                          .flow = flow, .nflow = 2};
    struct scenario_file sf = file("http://127.0.0.1:9", &sc, 1);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_int_equal(plan_end(&p), 640 * SEC);
    assert_int_equal(p.sc[0].exec.start_time_ns, 10 * SEC);
    assert_int_equal(p.sc[0].exec.iterations, 1);
    assert_int_equal(p.sc[0].exec.max_duration_ns, 600 * SEC);
    const struct plan_scenario *ps = &p.sc[0];
    assert_int_equal(ps->ncaptures, 2);
    assert_int_equal(ps->max_vus, 3);
    assert_true(ps->reqs[0].keep_head && ps->reqs[0].keep_body);
    assert_int_equal(ps->reqs[0].captures[0].slot, 0);
    assert_int_equal(ps->reqs[0].captures[1].slot, 1);
    assert_int_equal(ps->reqs[1].timeout_ns, 5 * SEC);
    struct template_values v = {.vu = 1};
    v.capture[0].ptr = "abc";
    v.capture[0].len = 3;
    v.capture[1].ptr = "s9";
    v.capture[1].len = 2;
    char *s = render_head(&ps->reqs[1], &v);
    assert_string_equal(s, "GET /me HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: blaster/" BLASTER_VERSION "\r\n"
                           "X-Auth: abc/s9\r\n\r\n");
    free(s);
    plan_free(&p);
}

/* defaults.headers merged with the step's, the step winning by name without
 * regard to case; a given Content-Type and User-Agent are kept. */
static void test_headers_merged(void **state)
{
    (void)state;
    struct kv defs[] = {{"Authorization", "Bearer A", P(2, 1)}, {"X-Env", "prod", P(2, 30)},
                        {"Accept", "*/*", P(2, 50)}};
    struct kv step_h[] = {{"authorization", "Bearer B", P(6, 20)}, {"CONTENT-TYPE", "application/vnd+json", P(6, 40)},
                          {"user-agent", "k6/0.50", P(6, 70)}};
    struct step flow[2];
    flow[0] = req("PUT", "/x", 5);
    flow[0].headers = step_h;
    flow[0].nheaders = 3;
    flow[0].body_kind = BODY_JSON;
    flow[0].body = "{\"a\":1}";
    flow[1] = req("GET", "/y", 8);
    struct scenario sc = {.name = "s", .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC, .flow = flow, .nflow = 2};
    struct scenario_file sf = file("http://127.0.0.1:8080", &sc, 1);
    sf.defaults.headers = defs;
    sf.defaults.nheaders = 3;
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    char *s = render(&p.sc[0].reqs[0], &(struct template_values){.vu = 1}, NULL);
    assert_string_equal(s, "PUT /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                           "X-Env: prod\r\nAccept: */*\r\n"
                           "authorization: Bearer B\r\nCONTENT-TYPE: application/vnd+json\r\nuser-agent: k6/0.50\r\n"
                           "Content-Length: 7\r\n\r\n{\"a\":1}");
    free(s);
    s = render(&p.sc[0].reqs[1], &(struct template_values){.vu = 1}, NULL);
    assert_string_equal(s, "GET /y HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: blaster/" BLASTER_VERSION "\r\n"
                           "Authorization: Bearer A\r\nX-Env: prod\r\nAccept: */*\r\n\r\n");
    free(s);
    plan_free(&p);
}

/* {bytes: 1MiB} in two requests of one scenario and one of another: one buffer. */
static void test_bytes_body_shared(void **state)
{
    (void)state;
    struct step f1[2], f2[2];
    f1[0] = req("POST", "/a", 3);
    f1[1] = req("PUT", "/b", 4);
    f2[0] = req("POST", "/c", 8);
    f2[1] = req("POST", "/d", 9);
    f1[0].body_kind = f1[1].body_kind = f2[0].body_kind = BODY_BYTES;
    f1[0].body_bytes = f1[1].body_bytes = f2[0].body_bytes = MIB;
    f2[1].body_kind = BODY_BYTES;
    f2[1].body_bytes = 2 * MIB;
    struct scenario sc[2] = {
        {.name = "one", .executor = EXEC_CONSTANT_VUS, .vus = 100, .duration_ns = SEC, .flow = f1, .nflow = 2},
        {.name = "two", .executor = EXEC_CONSTANT_ARRIVAL_RATE, .rate = 10, .time_unit_ns = SEC, .duration_ns = 2 * SEC,
         .pre_allocated_vus = 20, .max_vus = 50, .graceful_stop_ns = SEC, .flow = f2, .nflow = 2},
    };
    struct scenario_file sf = file("http://127.0.0.1:8080/", sc, 2);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_int_equal(plan_end(&p), 3 * SEC);
    assert_true(p.sc[1].exec.rate == 10);
    assert_int_equal(p.sc[1].exec.pre_allocated_vus, 20);
    assert_int_equal(p.sc[1].max_vus, 50);
    const struct template_request *a = &p.sc[0].reqs[0].t, *b = &p.sc[0].reqs[1].t, *c = &p.sc[1].reqs[0].t,
                                  *d = &p.sc[1].reqs[1].t;
    assert_int_equal(a->body_kind, TEMPLATE_BODY_FIXED);
    assert_int_equal(a->body_len, MIB);
    assert_non_null(a->body);
    assert_ptr_equal(a->body, b->body);
    assert_ptr_equal(a->body, c->body);
    assert_ptr_not_equal(a->body, d->body);
    assert_int_equal(d->body_len, 2 * MIB);
    /* a repeating pattern, the same in both sizes */
    assert_memory_equal(a->body, d->body, MIB);
    assert_memory_equal((const char *)a->body, (const char *)a->body + 64, MIB - 64);
    size_t len;
    char *s = render(&p.sc[0].reqs[0], &(struct template_values){.vu = 1}, &len);
    assert_int_equal(strlen(s), len);   /* the pattern has no NUL */
    assert_non_null(strstr(s, "\r\nContent-Length: 1048576\r\n\r\n"));
    free(s);
    plan_free(&p);
}

/* A small {bytes: N} is inlined by the template module; a file body is read
 * once, relative to the scenario file's directory, and shared. */
static void test_file_body(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_plan_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], yaml[256];
    snprintf(path, sizeof path, "%s/body.bin", dir);
    snprintf(yaml, sizeof yaml, "%s/s.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char *big = malloc(10000);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    fwrite(big, 1, 10000, f);
    fclose(f);

    struct step flow[3];
    flow[0] = req("POST", "/f", 3);
    flow[0].body_kind = BODY_FILE;
    flow[0].body = "body.bin";
    flow[1] = flow[0];
    flow[2] = req("POST", "/small", 5);
    flow[2].body_kind = BODY_BYTES;
    flow[2].body_bytes = 5;
    struct scenario sc = {.name = "s", .executor = EXEC_SHARED_ITERATIONS, .vus = 2, .iterations = 10,
                          .max_duration_ns = 10 * SEC, .flow = flow, .nflow = 3};
    struct scenario_file sf = file("http://127.0.0.1:8080", &sc, 1);
    sf.path = yaml;
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_int_equal(p.sc[0].reqs[0].t.body_len, 10000);
    assert_ptr_equal(p.sc[0].reqs[0].t.body, p.sc[0].reqs[1].t.body);
    assert_memory_equal(p.sc[0].reqs[0].t.body, big, 10000);
    char *s = render(&p.sc[0].reqs[2], &(struct template_values){.vu = 1}, NULL);
    assert_non_null(strstr(s, "\r\nContent-Length: 5\r\n\r\n01234"));
    free(s);
    plan_free(&p);

    /* a missing file */
    flow[1].body = "nope.bin";
    flow[1].pos = P(12, 9);
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:12:9: body file '%s/nope.bin': No such file or directory", yaml, dir);
    assert_string_equal(err, want);
    assert_null(p.sc);

    unlink(path);
    rmdir(dir);
    free(big);
}

/* Nested picks and repeats: jumps, targets, slots by depth; anonymous loops. */
static void test_pick_and_nesting(void **state)
{
    (void)state;
    struct step inner[1], br0[2], br1[1], br2[1], outer[1], flow[2];
    inner[0] = req("GET", "/i/${m}/${k}", 10);
    struct step rep_in = {.kind = STEP_REPEAT, .pos = P(9, 9), .repeat = 3, .repeat_as = "k", .steps = inner, .nsteps = 1};
    br0[0] = req("GET", "/b0", 5);
    br0[1] = rep_in;
    br1[0] = (struct step){.kind = STEP_THINK, .think_min_ns = SEC, .think_max_ns = SEC};
    br2[0] = req("GET", "/b2", 12);
    struct pick_branch brs[3] = {{1, br0, 2, P(4, 1)}, {2, br1, 1, P(6, 1)}, {7, br2, 1, P(11, 1)}};
    outer[0] = (struct step){.kind = STEP_PICK, .branches = brs, .nbranches = 3};
    /* an anonymous repeat (slot 0) around a named one (slot 1) */
    struct step rep_m = {.kind = STEP_REPEAT, .repeat = 2, .repeat_as = "m", .steps = outer, .nsteps = 1};
    flow[0] = (struct step){.kind = STEP_REPEAT, .repeat = 4, .steps = &rep_m, .nsteps = 1};
    flow[1] = req("GET", "/end", 14);
    struct scenario sc = {.name = "s", .executor = EXEC_RAMPING_ARRIVAL_RATE, .pre_allocated_vus = 7,
                          .max_vus = 0, .flow = flow, .nflow = 2};
    struct stage st[] = {{10 * SEC, 5, {0, 0}}, {20 * SEC, 0, {0, 0}}};
    sc.stages = st;
    sc.nstages = 2;
    struct scenario_file sf = file("http://127.0.0.1:8080/base/", &sc, 1);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_int_equal(plan_end(&p), 30 * SEC);
    const struct plan_scenario *ps = &p.sc[0];
    assert_int_equal(ps->max_vus, 7);
    assert_int_equal(ps->nloops, 3);
    /*  0 LOOP 0,4   1 LOOP 1,2   2 PICK 0
     *  3 REQ 0 (/b0)  4 LOOP 2,3  5 REQ 1 (/i)  6 NEXT 2,3,5  7 JUMP 11
     *  8 THINK  9 JUMP 11
     * 10 REQ 2 (/b2)
     * 11 NEXT 1,2,2  12 NEXT 0,4,1  13 REQ 3 (/end)  14 END */
    assert_int_equal(ps->nops, 15);
    assert_op(&ps->ops[0], OP_LOOP, 0, 4, 0);
    assert_op(&ps->ops[1], OP_LOOP, 1, 2, 0);
    assert_op(&ps->ops[2], OP_PICK, 0, 0, 0);
    assert_op(&ps->ops[3], OP_REQUEST, 0, 0, 0);
    assert_op(&ps->ops[4], OP_LOOP, 2, 3, 0);
    assert_op(&ps->ops[5], OP_REQUEST, 1, 0, 0);
    assert_op(&ps->ops[6], OP_NEXT, 2, 3, 5);
    assert_op(&ps->ops[7], OP_JUMP, 11, 0, 0);
    assert_op(&ps->ops[8], OP_THINK, 0, 0, 0);
    assert_op(&ps->ops[9], OP_JUMP, 11, 0, 0);
    assert_op(&ps->ops[10], OP_REQUEST, 2, 0, 0);
    assert_op(&ps->ops[11], OP_NEXT, 1, 2, 2);
    assert_op(&ps->ops[12], OP_NEXT, 0, 4, 1);
    assert_op(&ps->ops[13], OP_REQUEST, 3, 0, 0);
    assert_op(&ps->ops[14], OP_END, 0, 0, 0);
    assert_int_equal(ps->picks[0].cumulative[0], 1);
    assert_int_equal(ps->picks[0].cumulative[1], 3);
    assert_int_equal(ps->picks[0].cumulative[2], 10);
    assert_int_equal(ps->picks[0].total, 10);
    assert_int_equal(ps->picks[0].target[0], 3);
    assert_int_equal(ps->picks[0].target[1], 8);
    assert_int_equal(ps->picks[0].target[2], 10);

    /* /base/ + /i/${m}/${k}: m reads loop slot 1, k slot 2 */
    struct template_values v = {.vu = 1};
    v.loop[0] = 4;
    v.loop[1] = 2;
    v.loop[2] = 3;
    char *s = render_head(&ps->reqs[1], &v);
    assert_true(strncmp(s, "GET /base/i/2/3 HTTP/1.1\r\n", 26) == 0);
    free(s);
    plan_free(&p);

    /* the anonymous loop has a slot but no name to offer */
    inner[0].path = "/i/${zz}";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), -1);
    assert_string_equal(err, "mixed.yaml:10:7: path: unknown variable 'zz' at column 4 (known here: vu, iter, m, k)");
}

/* Target path prefix and absolute URLs on the target's host. */
static void test_paths(void **state)
{
    (void)state;
    struct step flow[5];
    flow[0] = req("GET", "/api/x?q=1", 3);
    flow[1] = req("GET", "http://127.0.0.1:8080/abs/y", 4);
    flow[2] = req("GET", "HTTP://127.0.0.1:8080?z=1#frag", 5);
    flow[3] = req("GET", "rel", 6);
    flow[4] = req("GET", "?only=1", 7);
    struct scenario sc = {.name = "s", .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
                          .target = "http://127.0.0.1:8080/base", .flow = flow, .nflow = 5};
    struct scenario_file sf = file("http://127.0.0.1:1/ignored", &sc, 1);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    static const char *const want[] = {"GET /base/api/x?q=1 HTTP/1.1\r\n", "GET /abs/y HTTP/1.1\r\n",
                                       "GET /?z=1 HTTP/1.1\r\n", "GET /base/rel HTTP/1.1\r\n",
                                       "GET /base?only=1 HTTP/1.1\r\n"};
    for (int i = 0; i < 5; i++) {
        char *s = render_head(&p.sc[0].reqs[i], &(struct template_values){.vu = 1});
        assert_true(strncmp(s, want[i], strlen(want[i])) == 0);
        assert_non_null(strstr(s, "\r\nHost: 127.0.0.1:8080\r\n"));
        free(s);
    }
    plan_free(&p);
}

/* hls: three requests, the URI slot after the user's captures. */
static void test_hls(void **state)
{
    (void)state;
    struct capture caps[] = {{"tok", CAPTURE_HEADER, "X-Tok", P(3, 5)}};
    struct step flow[3];
    flow[0] = req("GET", "/login", 2);
    flow[0].captures = caps;
    flow[0].ncaptures = 1;
    flow[1] = (struct step){.kind = STEP_HLS, .pos = P(5, 7), .hls_master = "/hls/${tok}/master.m3u8",
                            .hls_variant = HLS_NAMED, .hls_variant_name = "720p", .hls_segments = 6};
    flow[2] = (struct step){.kind = STEP_HLS, .pos = P(9, 7), .name = "vod", .hls_master = "/m.m3u8"};
    struct scenario sc = {.name = "streaming", .executor = EXEC_CONSTANT_VUS, .vus = 500, .duration_ns = SEC,
                          .flow = flow, .nflow = 3};
    struct scenario_file sf = file("http://127.0.0.1:8080/v1", &sc, 1);
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    const struct plan_scenario *ps = &p.sc[0];
    assert_int_equal(ps->nreqs, 7);
    assert_int_equal(ps->ncaptures, 2);
    assert_true(ps->keeps_bodies);
    assert_int_equal(ps->nops, 4);
    assert_op(&ps->ops[0], OP_REQUEST, 0, 0, 0);
    assert_op(&ps->ops[1], OP_HLS, 0, 0, 0);
    assert_op(&ps->ops[2], OP_HLS, 1, 0, 0);
    assert_op(&ps->ops[3], OP_END, 0, 0, 0);
    assert_int_equal(ps->nhls, 2);
    const struct plan_hls *h = &ps->hls[0];
    assert_string_equal(h->name, "hls");
    assert_int_equal(h->req_master, 1);
    assert_int_equal(h->req_media, 2);
    assert_int_equal(h->req_segment, 3);
    assert_int_equal(h->uri_slot, 1);
    assert_int_equal(h->variant, HLS_NAMED);
    assert_string_equal(h->variant_name, "720p");
    assert_int_equal(h->segments, 6);
    assert_string_equal(ps->reqs[1].name, "hls_master");
    assert_string_equal(ps->reqs[2].name, "hls_playlist");
    assert_string_equal(ps->reqs[3].name, "hls_segment");
    assert_true(ps->reqs[1].keep_body && ps->reqs[2].keep_body);
    assert_false(ps->reqs[3].keep_body);
    assert_string_equal(ps->hls[1].name, "vod");
    assert_int_equal(ps->hls[1].uri_slot, 1);
    assert_int_equal(ps->hls[1].variant, HLS_LOWEST);
    assert_null(ps->hls[1].variant_name);
    assert_int_equal(ps->hls[1].segments, 0);
    assert_string_equal(ps->reqs[4].name, "vod_master");
    assert_string_equal(ps->reqs[5].name, "vod_playlist");
    assert_string_equal(ps->reqs[6].name, "vod_segment");

    struct template_values v = {.vu = 1};
    v.capture[0].ptr = "T";
    v.capture[0].len = 1;
    v.capture[1].ptr = "/v1/hls/T/720p/seg-3.ts";
    v.capture[1].len = strlen(v.capture[1].ptr);
    char *s = render_head(&ps->reqs[1], &v);
    assert_true(strncmp(s, "GET /v1/hls/T/master.m3u8 HTTP/1.1\r\n", 36) == 0);
    free(s);
    s = render_head(&ps->reqs[3], &v);
    assert_true(strncmp(s, "GET /v1/hls/T/720p/seg-3.ts HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 60) == 0);
    free(s);
    plan_free(&p);
}

/* ---- errors ---- */

static void expect_error(const struct scenario_file *sf, const char *want)
{
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(sf, &p, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(p.sc);
    assert_int_equal(p.nsc, 0);
}

static void test_error_unknown_variable(void **state)
{
    (void)state;
    struct example e;
    example_init(&e);
    e.chunk_headers[0].value = "x-${upload}";
    e.loop_body[0].pos = P(31, 15);
    expect_error(&e.sf, "mixed.yaml:31:15: header 'X-Upload-Id': unknown variable 'upload' at column 3 "
                        "(known here: vu, iter, n, upload_id)");
    /* the loop variable is out of scope after its repeat */
    example_init(&e);
    e.sc[0].flow[0].path = "/init/${n}";
    e.sc[0].flow[0].pos = P(21, 9);
    expect_error(&e.sf, "mixed.yaml:21:9: path: unknown variable 'n' at column 7 (known here: vu, iter, upload_id)");
}

static void test_error_targets(void **state)
{
    (void)state;
    struct step flow[1];
    flow[0] = req("GET", "/", 3);
    struct scenario sc = {.name = "s", .pos = P(8, 3), .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
                          .flow = flow, .nflow = 1};
    struct scenario_file sf = file("https://127.0.0.1:8443", &sc, 1);
    sf.target = NULL;
    expect_error(&sf, "mixed.yaml:8:3: scenario 's': no target (give `target: http://host:port` at the top of "
                      "the file or in the scenario)");
    sf.target = "ftp://x";
    expect_error(&sf, "mixed.yaml:8:3: scenario 's': target: URL 'ftp://x': unsupported scheme 'ftp' (expected http or https)");
}

/* https targets: TLS on, SNI from the host unless tls.server_name says
 * otherwise, and the file's certificate paths next to the scenario file. */
static void test_https_target(void **state)
{
    (void)state;
    struct step flow[1];
    flow[0] = req("GET", "/", 3);
    struct scenario sc[2] = {
        {.name = "a", .pos = P(8, 3), .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
         .flow = flow, .nflow = 1},
        {.name = "b", .pos = P(9, 3), .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
         .flow = flow, .nflow = 1, .target = "http://127.0.0.1:8080"},
    };
    struct scenario_file sf = file("https://localhost:8443", sc, 2);
    sf.path = "dir/mixed.yaml";
    sf.tls.resume = true;
    sf.tls.cacert = "ca.pem";
    sf.tls.cert = "/abs/client.pem";
    sf.tls.key = "client.key";
    sf.tls.min_version = 13;
    struct plan p;
    char err[512] = "";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_true(p.any_tls);
    assert_true(p.sc[0].tls);
    assert_false(p.sc[1].tls);
    assert_string_equal(p.sc[0].server_name, "localhost");
    assert_string_equal(p.tls.cafile, "dir/ca.pem");
    assert_string_equal(p.tls.certfile, "/abs/client.pem");
    assert_string_equal(p.tls.keyfile, "dir/client.key");
    assert_int_equal(p.tls.min_version, 13);
    assert_true(p.tls.resume);
    assert_false(p.tls.insecure);
    plan_free(&p);

    sf.tls.server_name = "api.example";
    sc[1].target = NULL;
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_string_equal(p.sc[0].server_name, "api.example");
    assert_string_equal(p.sc[1].server_name, "api.example");
    plan_free(&p);

    sf.target = "http://127.0.0.1:8080";
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_false(p.any_tls);
    plan_free(&p);
}

static void test_error_foreign_url(void **state)
{
    (void)state;
    struct step flow[2];
    flow[0] = req("GET", "/ok", 3);
    flow[1] = req("GET", "http://127.0.0.1:8081/x", 4);
    flow[1].pos = P(17, 11);
    struct scenario sc = {.name = "s", .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
                          .flow = flow, .nflow = 2};
    struct scenario_file sf = file("http://127.0.0.1:8080", &sc, 1);
    expect_error(&sf, "mixed.yaml:17:11: URL 'http://127.0.0.1:8081/x' is not on the target http://127.0.0.1:8080 "
                      "(a scenario sends to one host: give this step a scenario of its own with its `target`)");
    flow[1].path = "http://example.com:8080/x";
    expect_error(&sf, "mixed.yaml:17:11: URL 'http://example.com:8080/x' is not on the target http://127.0.0.1:8080 "
                      "(a scenario sends to one host: give this step a scenario of its own with its `target`)");
    /* on the target, a path error's column counts in the URL as written */
    flow[1].path = "http://127.0.0.1:8080/x/${zz}";
    expect_error(&sf, "mixed.yaml:17:11: path: unknown variable 'zz' at column 25 (known here: vu, iter)");
    flow[1].path = "http://127.0.0.1:8080?a=${zz}";
    expect_error(&sf, "mixed.yaml:17:11: path: unknown variable 'zz' at column 25 (known here: vu, iter)");
}

static void test_error_too_many_captures(void **state)
{
    (void)state;
    static const char *const names[] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
    struct capture caps[9];
    for (int i = 0; i < 9; i++)
        caps[i] = (struct capture){(char *)names[i], CAPTURE_JSON, "x", P(10 + i, 9)};
    struct step flow[2];
    flow[0] = req("GET", "/a", 3);
    flow[0].captures = caps;
    flow[0].ncaptures = 5;
    flow[1] = req("GET", "/b", 9);
    flow[1].captures = caps + 3;    /* c4, c5 again: still one slot each */
    flow[1].ncaptures = 6;
    struct scenario sc = {.name = "s", .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
                          .flow = flow, .nflow = 2};
    struct scenario_file sf = file("http://127.0.0.1:8080", &sc, 1);
    expect_error(&sf, "mixed.yaml:18:9: capture 'c9': scenario 's' captures too many names (at most 8)");

    /* 8 are fine... */
    flow[1].ncaptures = 5;
    struct plan p;
    char err[512];
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);
    assert_int_equal(p.sc[0].ncaptures, 8);
    assert_int_equal(p.sc[0].reqs[1].captures[4].slot, 7);
    plan_free(&p);
    /* ...but not with an hls step, which needs a slot of its own */
    struct step flow3[3] = {flow[0], flow[1], {.kind = STEP_HLS, .pos = P(30, 7), .hls_master = "/m.m3u8"}};
    sc.flow = flow3;
    sc.nflow = 3;
    expect_error(&sf, "mixed.yaml:30:7: hls: scenario 's' captures 8 names, which leaves no slot for the "
                      "playlist URIs (at most 7 names with an hls step)");
}

static void test_error_nesting_and_late_failures(void **state)
{
    (void)state;
    struct step reps[10];
    reps[9] = req("GET", "/deep", 20);
    for (int i = 8; i >= 0; i--)
        reps[i] = (struct step){.kind = STEP_REPEAT, .pos = P(10 + i, 3 + 2 * i), .repeat = 2,
                                .steps = &reps[i + 1], .nsteps = 1};
    struct scenario sc = {.name = "s", .executor = EXEC_CONSTANT_VUS, .vus = 1, .duration_ns = SEC,
                          .flow = &reps[1], .nflow = 1};
    struct scenario_file sf = file("http://127.0.0.1:8080", &sc, 1);
    struct plan p;
    char err[512];
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), 0);    /* 8 deep */
    assert_int_equal(p.sc[0].nloops, 8);
    plan_free(&p);
    sc.flow = &reps[0];
    expect_error(&sf, "mixed.yaml:18:19: repeat nested too deep (at most 8 repeats inside one another)");

    /* a failure in the second scenario, after picks, bodies and hls of the first: no leaks (ASan) */
    struct example e;
    example_init(&e);
    struct step bad[3];
    bad[0] = req("POST", "/x", 50);
    bad[0].body_kind = BODY_BYTES;
    bad[0].body_bytes = MIB;
    bad[1] = (struct step){.kind = STEP_HLS, .pos = P(51, 7), .hls_master = "/m.m3u8", .hls_variant_name = "x"};
    bad[2] = req("GET", "/${nope}", 52);
    struct step branch[1] = {bad[0]};
    struct pick_branch pb[2] = {{1, branch, 1, P(53, 1)}, {1, bad, 3, P(54, 1)}};
    struct step flow[1] = {{.kind = STEP_PICK, .branches = pb, .nbranches = 2}};
    struct scenario both[2] = {e.sc[0], {.name = "bad", .executor = EXEC_CONSTANT_VUS, .vus = 1, .flow = flow, .nflow = 1}};
    e.sf.scenarios = both;
    expect_error(&e.sf, "mixed.yaml:52:7: path: unknown variable 'nope' at column 2 (known here: vu, iter)");
}

/* ---- through the loader ---- */

static const char design_yaml[] =
    DESIGN_YAML_HEAD DESIGN_YAML_SCENARIOS

    "  streaming:\n"
    "    executor: constant-vus\n"
    "    duration: 1m\n"
    "    flow:\n"
    "      - hls: {master: /hls/master.m3u8, segments: 3}\n"
    "      - hls: {master: /hls/other.m3u8}\n"
    "        name: other\n";

static void test_loader_design_example(void **state)
{
    (void)state;
    struct scenario_file sf;
    char err[512] = "";
    const char *env[] = {"USER_TOKEN=tk", "UPLOAD_VUS=3"};
    int rc = scenario_load_string("design.yaml", design_yaml, strlen(design_yaml), env, 2, &sf, err, sizeof err);
    if (rc != 0)
        fail_msg("load: %s", err);
    struct plan p;
    rc = plan_compile(&sf, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("compile: %s", err);
    assert_int_equal(p.nsc, 3);
    const struct plan_scenario *up = &p.sc[0], *br = &p.sc[1], *st = &p.sc[2];
    assert_int_equal(up->max_vus, 3);
    assert_int_equal(up->nops, 5);
    assert_op(&up->ops[0], OP_REQUEST, 0, 0, 0);
    assert_op(&up->ops[1], OP_LOOP, 0, 10, 0);
    assert_op(&up->ops[2], OP_REQUEST, 1, 0, 0);
    assert_op(&up->ops[3], OP_NEXT, 0, 10, 2);
    assert_op(&up->ops[4], OP_END, 0, 0, 0);
    assert_string_equal(up->reqs[0].check_name, "POST /api/v1/tracks/upload/initiate: status in [200, 201]");
    struct template_values v = {.vu = 2, .iter = 5};
    v.loop[0] = 3;
    v.capture[0].ptr = "U1";
    v.capture[0].len = 2;
    char *s = render_head(&up->reqs[1], &v);
    assert_string_equal(s, "POST /api/v1/tracks/upload/chunk HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                           "User-Agent: blaster/" BLASTER_VERSION "\r\nAuthorization: Bearer tk\r\n"
                           "X-Upload-Id: U1\r\nX-Chunk-Number: 3\r\nContent-Length: 1048576\r\n\r\n");
    free(s);
    s = render(&up->reqs[0], &v, NULL);
    assert_non_null(strstr(s, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(s, "\"filename\":\"lt-2-5.mp3\""));
    free(s);

    assert_int_equal(br->max_vus, 1000);
    assert_int_equal(br->nops, 8);
    assert_op(&br->ops[0], OP_PICK, 0, 0, 0);
    assert_op(&br->ops[2], OP_JUMP, 6, 0, 0);
    assert_op(&br->ops[4], OP_JUMP, 6, 0, 0);
    assert_int_equal(br->ops[6].kind, OP_THINK);
    assert_int_equal(br->ops[6].t0, 300 * MS);
    assert_int_equal(br->ops[6].t1, 800 * MS);
    assert_int_equal(br->picks[0].cumulative[2], 100);
    s = render_head(&br->reqs[2], &v);
    assert_true(strncmp(s, "GET /api/v1/tracks/1 HTTP/1.1\r\n", 31) == 0);
    free(s);

    assert_int_equal(st->nhls, 2);
    assert_string_equal(st->hls[0].name, "hls");
    assert_string_equal(st->reqs[0].name, "hls_master");
    assert_string_equal(st->reqs[2].name, "hls_segment");
    assert_int_equal(st->hls[0].segments, 3);
    assert_string_equal(st->hls[1].name, "other");
    assert_string_equal(st->reqs[3].name, "other_master");
    assert_int_equal(st->ncaptures, 1);
    assert_int_equal(st->hls[0].uri_slot, 0);
    /* 5m + 30s graceful stop; browse 30s + 5m + 30s stop (ramp-down within) */
    assert_int_equal(plan_end(&p), 360 * SEC);
    plan_free(&p);
    scenario_free(&sf);
}

/* A loop variable used outside its repeat: the loader lets it through (the
 * name is a runtime slot somewhere), the plan knows the scope and says where. */
static void test_loader_error_position(void **state)
{
    (void)state;
    static const char y[] =
        "target: http://127.0.0.1:8080\n"
        "scenarios:\n"
        "  s:\n"
        "    executor: constant-vus\n"
        "    duration: 1s\n"
        "    flow:\n"
        "      - get: /x\n"
        "        capture: {upload_id: {header: X-Id}}\n"
        "      - repeat: 2\n"
        "        as: n\n"
        "        steps:\n"
        "          - get: /y\n"
        "            headers: {X-Upload-Id: \"${upload_id}\", X-Chunk: \"${n}\"}\n"
        "      - get: /z\n"
        "        headers: {X-Chunk: \"c-${n}\"}\n";
    struct scenario_file sf;
    char err[512] = "";
    int rc = scenario_load_string("mixed.yaml", y, strlen(y), NULL, 0, &sf, err, sizeof err);
    if (rc != 0)
        fail_msg("load: %s", err);
    const struct step *z = &sf.scenarios[0].flow[2];
    assert_int_equal(z->pos.line, 14);
    char want[300];
    snprintf(want, sizeof want, "mixed.yaml:14:%d: header 'X-Chunk': unknown variable 'n' at column 3 "
             "(known here: vu, iter, upload_id)", z->pos.col);
    struct plan p;
    assert_int_equal(plan_compile(&sf, &p, err, sizeof err), -1);
    assert_string_equal(err, want);
    scenario_free(&sf);
}

/* ---- quick mode ---- */

/* Quick mode's command line compiled through the same plan_compile: its
 * one-scenario model (blaster/load/quick.c), then the plan. */
static struct cli quick_cli;
static struct quick_model quick_m;

static void quick_compile(int argc, char **argv, struct plan *p)
{
    char err[512] = "";
    if (cli_parse(argc, argv, &quick_cli, err, sizeof err) != 0)
        fail_msg("cli: %s", err);
    assert_int_equal(quick_model_build(&quick_m, &quick_cli, err, sizeof err), 0);
    if (plan_compile(&quick_m.sf, p, err, sizeof err) != 0)
        fail_msg("plan: %s", err);
}

static void test_quick(void **state)
{
    (void)state;
    struct url u;
    char err[512] = "";
    assert_int_equal(url_parse("http://127.0.0.1:8080/q?a=${x}", &u, err, sizeof err), 0);
    struct sockaddr_storage sa;
    socklen_t salen;
    assert_int_equal(url_resolve(&u, &sa, &salen, err, sizeof err), 0);
    static char body[100001];
    memset(body, 'z', sizeof body - 1);
    char *argv[] = {"blaster", "-m", "POST", "-H", "X-A: lit ${vu}", "-H", "Accept: text/plain",
                    "-b", body, "-c", "7", "-d", "3s", "-T", "5s", "http://127.0.0.1:8080/q?a=${x}"};
    struct plan p;
    quick_compile(N(argv), argv, &p);
    assert_int_equal(p.nsc, 1);
    assert_ptr_equal(p.file, &quick_m.sf);
    const struct plan_scenario *ps = &p.sc[0];
    assert_string_equal(ps->name, "default");
    assert_int_equal(ps->addrlen, salen);
    assert_memory_equal(&ps->addr, &sa, salen);
    assert_int_equal(ps->nops, 2);
    assert_op(&ps->ops[0], OP_REQUEST, 0, 0, 0);
    assert_op(&ps->ops[1], OP_END, 0, 0, 0);
    assert_int_equal(ps->nreqs, 1);
    assert_string_equal(ps->reqs[0].name, "POST /q?a=${x}");
    assert_false(ps->reqs[0].has_expect);
    assert_true(expected(&ps->reqs[0], 200) && expected(&ps->reqs[0], 302));
    assert_false(expected(&ps->reqs[0], 404));
    assert_int_equal(ps->reqs[0].ncaptures, 0);
    assert_ptr_equal(ps->reqs[0].t.body, body);     /* referenced, not copied */
    char *s = render_head(&ps->reqs[0], &(struct template_values){.vu = 9});
    assert_string_equal(s, "POST /q?a=${x} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: blaster/" BLASTER_VERSION "\r\n"
                           "X-A: lit ${vu}\r\nAccept: text/plain\r\nContent-Length: 100000\r\n\r\n");
    free(s);
    /* closed model: constant-vus, one VU per connection, all preconnected;
     * graceful stop min(timeout, 2 s); the timeout is every request's */
    assert_int_equal(ps->exec.executor, EXEC_CONSTANT_VUS);
    assert_int_equal(ps->exec.vus, 7);
    assert_int_equal(ps->max_vus, 7);
    assert_true(ps->exec.preconnect);
    assert_false(ps->exec.poisson);
    assert_int_equal(ps->exec.duration_ns, 3 * SEC);
    assert_int_equal(ps->exec.graceful_stop_ns, 2 * SEC);
    assert_int_equal(ps->reqs[0].timeout_ns, 5 * SEC);
    assert_int_equal(plan_end(&p), 5 * SEC);
    assert_false(p.any_tls);
    assert_true(p.tls.resume);
    plan_free(&p);

    /* -R: constant-arrival-rate over -c VUs, Poisson when asked; a short
     * timeout is the graceful stop; no body, a '$' in the path stays one */
    char *open_argv[] = {"blaster", "-R", "2k", "--poisson", "-c", "20", "-d", "4s", "-T", "500ms",
                         "http://127.0.0.1:8080/$$x/$${y}"};
    quick_compile(N(open_argv), open_argv, &p);
    ps = &p.sc[0];
    assert_int_equal(ps->exec.executor, EXEC_CONSTANT_ARRIVAL_RATE);
    assert_true(ps->exec.rate == 2000);
    assert_int_equal(ps->exec.time_unit_ns, SEC);
    assert_int_equal(ps->exec.pre_allocated_vus, 20);
    assert_int_equal(ps->exec.max_vus, 20);
    assert_int_equal(ps->max_vus, 20);
    assert_true(ps->exec.poisson && ps->exec.preconnect);
    assert_int_equal(ps->exec.graceful_stop_ns, 500 * MS);
    assert_int_equal(ps->reqs[0].timeout_ns, 500 * MS);
    assert_int_equal(ps->reqs[0].t.body_kind, TEMPLATE_BODY_NONE);
    assert_string_equal(ps->reqs[0].name, "GET /$$x/$${y}");
    s = render_head(&ps->reqs[0], &(struct template_values){.vu = 1});
    assert_non_null(strstr(s, "GET /$$x/$${y} HTTP/1.1\r\n"));
    free(s);
    plan_free(&p);

    /* a bad header name: the template module says which */
    char *bad_argv[] = {"blaster", "http://127.0.0.1:8080/"};
    assert_int_equal(cli_parse(N(bad_argv), bad_argv, &quick_cli, err, sizeof err), 0);
    assert_int_equal(quick_model_build(&quick_m, &quick_cli, err, sizeof err), 0);
    struct kv bad = {.name = "Bad Name", .value = "v"};
    quick_m.step.headers = &bad;
    quick_m.step.nheaders = 1;
    assert_int_equal(plan_compile(&quick_m.sf, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "Bad Name"));
    assert_null(p.sc);
}

/* Weighted pick: 60/30/10 over many seeded draws lands within 1% of the
 * weights, every draw maps to a branch, and the edges of each range are
 * exact. */
static void test_pick_distribution(void **state)
{
    (void)state;
    uint32_t cum[] = { 60, 90, 100 };
    struct plan_pick pk = { .n = 3, .cumulative = cum, .total = 100 };
    assert_int_equal(plan_pick_branch(&pk, 0), 0);
    assert_int_equal(plan_pick_branch(&pk, 59), 0);
    assert_int_equal(plan_pick_branch(&pk, 60), 1);
    assert_int_equal(plan_pick_branch(&pk, 89), 1);
    assert_int_equal(plan_pick_branch(&pk, 90), 2);
    assert_int_equal(plan_pick_branch(&pk, 99), 2);
    uint64_t rng = 12345;
    unsigned hits[3] = { 0 };
    const unsigned n = 300000;
    for (unsigned i = 0; i < n; i++)
        hits[plan_pick_branch(&pk, template_draw(&rng, pk.total))]++;
    double want[] = { 0.6, 0.3, 0.1 };
    for (int b = 0; b < 3; b++)
        if (fabs((double)hits[b] / n - want[b]) > 0.01)
            fail_msg("branch %d: %.4f of draws, want %.2f", b, (double)hits[b] / n, want[b]);
    /* One branch takes everything. */
    uint32_t one[] = { 7 };
    struct plan_pick single = { .n = 1, .cumulative = one, .total = 7 };
    for (uint32_t r = 0; r < 7; r++)
        assert_int_equal(plan_pick_branch(&single, r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_distribution),
        cmocka_unit_test(test_example_ops),
        cmocka_unit_test(test_loop_value_and_capture_render),
        cmocka_unit_test(test_header_capture),
        cmocka_unit_test(test_headers_merged),
        cmocka_unit_test(test_bytes_body_shared),
        cmocka_unit_test(test_file_body),
        cmocka_unit_test(test_pick_and_nesting),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_hls),
        cmocka_unit_test(test_error_unknown_variable),
        cmocka_unit_test(test_error_targets),
        cmocka_unit_test(test_https_target),
        cmocka_unit_test(test_error_foreign_url),
        cmocka_unit_test(test_error_too_many_captures),
        cmocka_unit_test(test_error_nesting_and_late_failures),
        cmocka_unit_test(test_loader_design_example),
        cmocka_unit_test(test_loader_error_position),
        cmocka_unit_test(test_quick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
