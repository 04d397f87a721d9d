/* yaml_json: YAML values to compact JSON on their own, from libyaml
 * documents: a table of values (literals, numbers, strings, nesting), the
 * caller's ops (the scalar text it substitutes, its node budget), and each
 * error with the node it names. test_scenario.c checks the `json:` bodies
 * and their messages through the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/load/yaml_json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
    long budget;           /* visits allowed */
    const char *stop_at;   /* a scalar whose text stops the walk */
    int scalars;
};

static bool visit(void *c, const yaml_node_t *n)
{
    (void)n;
    return --((struct ctx *)c)->budget >= 0;
}

static const char *scalar(void *c, const yaml_node_t *n)
{
    struct ctx *x = c;
    const char *s = (const char *)n->data.scalar.value;
    x->scalars++;
    if (x->stop_at && !strcmp(s, x->stop_at))
        return NULL;
    if (!strcmp(s, "$SUB"))           /* the caller's text, not the node's, is what is emitted */
        return "substituted";
    return s;
}

struct doc {
    yaml_parser_t parser;
    yaml_document_t doc;
};

static yaml_node_t *doc_load(struct doc *d, const char *yaml)
{
    assert_true(yaml_parser_initialize(&d->parser));
    yaml_parser_set_input_string(&d->parser, (const unsigned char *)yaml, strlen(yaml));
    assert_true(yaml_parser_load(&d->parser, &d->doc));
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    assert_non_null(root);
    return root;
}

static void doc_free(struct doc *d)
{
    yaml_document_delete(&d->doc);
    yaml_parser_delete(&d->parser);
}

/* What an error named, read before its document is freed. */
struct named {
    int line;              /* 1-based, of err.node; 0: none */
    yaml_node_type_t type;
    int first_line;        /* of err.first; 0: none */
};

/* Emit yaml into *out; the status in *err, what it names in *nm. */
static int emit(const char *yaml, struct ctx *c, int max_depth, size_t max_len, struct sbuf *out,
                struct yaml_json_error *err, struct named *nm)
{
    struct doc d;
    yaml_node_t *root = doc_load(&d, yaml);
    const struct yaml_json_ops ops = { c, visit, scalar };
    sb_reset(out);
    int rc = yaml_json_emit(&d.doc, root, max_depth, max_len, &ops, out, err);
    nm->line = err->node ? (int)err->node->start_mark.line + 1 : 0;
    nm->type = err->node ? err->node->type : YAML_NO_NODE;
    nm->first_line = err->first ? (int)err->first->start_mark.line + 1 : 0;
    err->node = err->first = NULL;     /* they die with the document */
    doc_free(&d);
    return rc;
}

static const struct json_case {
    const char *yaml;
    const char *json;
} json_cases[] = {
    {"1", "1"},
    {"-2.5e3", "-2.5e3"},
    {"007", "\"007\""},                          /* not an RFC 8259 number */
    {"1.", "\"1.\""},
    {"0x1F", "\"0x1F\""},
    {"true", "true"}, {"False", "false"}, {"NULL", "null"}, {"~", "null"}, {"a:", "{\"a\":null}"},
    {"\"true\"", "\"true\""},                    /* quoted: always a string */
    {"'12'", "\"12\""},
    {"x y", "\"x y\""},
    {"\"q\\\"b\\\\s\\t\\n\\r\\b\\f\\x01\"", "\"q\\\"b\\\\s\\t\\n\\r\\b\\f\\u0001\""},
    {"[]", "[]"}, {"{}", "{}"},
    {"[1, [2, [3]], {a: [true]}]", "[1,[2,[3]],{\"a\":[true]}]"},
    {"{b: 1, a: 2, 1: x}", "{\"b\":1,\"a\":2,\"1\":\"x\"}"},   /* keys in order, always strings */
    {"{k: $SUB, $SUB: v}", "{\"k\":\"substituted\",\"substituted\":\"v\"}"},
    {"{name: \"lt-${vu}-${iter}.mp3\"}", "{\"name\":\"lt-${vu}-${iter}.mp3\"}"},
    {"caf\xC3\xA9", "\"caf\xC3\xA9\""},            /* UTF-8 as is */
};

static void test_yaml_json_table(void **state)
{
    (void)state;
    struct sbuf out = {0};
    for (size_t i = 0; i < N(json_cases); i++) {
        struct ctx c = { .budget = 1000 };
        struct yaml_json_error err;
        struct named nm;
        int rc = emit(json_cases[i].yaml, &c, 32, 1 << 20, &out, &err, &nm);
        if (rc != 0 || strcmp(out.p, json_cases[i].json) != 0)
            fail_msg("case %zu '%s': rc %d status %d, got '%s', want '%s'", i, json_cases[i].yaml, rc,
                     (int)err.status, out.p, json_cases[i].json);
    }
    free(out.p);
}

static void test_yaml_json_appends(void **state)
{
    (void)state;
    struct doc d;
    yaml_node_t *root = doc_load(&d, "[1]");
    struct ctx c = { .budget = 10 };
    const struct yaml_json_ops ops = { &c, visit, scalar };
    struct sbuf out = {0};
    struct yaml_json_error err;
    sb_puts(&out, "x=");
    assert_int_equal(yaml_json_emit(&d.doc, root, 32, 100, &ops, &out, &err), 0);
    assert_string_equal(out.p, "x=[1]");
    assert_int_equal(err.status, YJ_OK);
    assert_int_equal(c.budget, 8);        /* one visit per node */
    doc_free(&d);
    free(out.p);
}

static void test_yaml_json_errors(void **state)
{
    (void)state;
    struct sbuf out = {0};
    struct yaml_json_error err;
    struct named nm;

    struct ctx c = { .budget = 1000 };
    assert_int_equal(emit("[[[1]]]", &c, 2, 100, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_TOO_DEEP);
    assert_int_equal(emit("[[1]]", &c, 2, 100, &out, &err, &nm), 0);

    /* the length is checked before each node: the body may end a little past it */
    assert_int_equal(emit("[aaaa, bbbb, cccc]", &c, 32, 8, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_TOO_BIG);
    assert_string_equal(out.p, "[\"aaaa\",\"bbbb\",");

    assert_int_equal(emit("{a: 1,\n [x]: 2}", &c, 32, 100, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_KEY_NOT_TEXT);
    assert_int_equal(nm.type, YAML_SEQUENCE_NODE);
    assert_int_equal(nm.line, 2);

    assert_int_equal(emit("a: 1\nb: 2\na: 3\n", &c, 32, 100, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_DUPLICATE_KEY);
    assert_int_equal(nm.line, 3);
    assert_int_equal(nm.first_line, 1);

    /* the caller's ops stop the walk: its budget, or a scalar it cannot substitute */
    struct ctx small = { .budget = 3 };
    assert_int_equal(emit("[1, 2, 3]", &small, 32, 100, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_STOPPED);
    struct ctx stop = { .budget = 1000, .stop_at = "bad" };
    assert_int_equal(emit("{ok: 1,\n bad: 2}", &stop, 32, 100, &out, &err, &nm), -1);
    assert_int_equal(err.status, YJ_STOPPED);
    assert_int_equal(nm.line, 2);
    free(out.p);
}

static void test_yaml_json_is_number(void **state)
{
    (void)state;
    static const char *const yes[] = {"0", "-0", "12", "1.5", "-0.25", "1e9", "1E+9", "2.5e-3"};
    static const char *const no[] = {"", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x10", "1 ", "NaN", "--1"};
    for (size_t i = 0; i < N(yes); i++)
        if (!yaml_json_is_number(yes[i]))
            fail_msg("'%s' is a number", yes[i]);
    for (size_t i = 0; i < N(no); i++)
        if (yaml_json_is_number(no[i]))
            fail_msg("'%s' is not a number", no[i]);
}

static void test_yaml_json_put_string(void **state)
{
    (void)state;
    struct sbuf out = {0};
    yaml_json_put_string(&out, "");
    assert_string_equal(out.p, "\"\"");
    sb_reset(&out);
    yaml_json_put_string(&out, "a\"b\\c\x1f\x7f/");
    assert_string_equal(out.p, "\"a\\\"b\\\\c\\u001f\x7f/\"");
    free(out.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_json_table),
        cmocka_unit_test(test_yaml_json_appends),
        cmocka_unit_test(test_yaml_json_errors),
        cmocka_unit_test(test_yaml_json_is_number),
        cmocka_unit_test(test_yaml_json_put_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
