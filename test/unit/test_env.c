/* env: `${NAME}` / `${NAME:-default}` substitution on its own, without a
 * scenario file: a table of values (template text and plain text), the
 * lookup order (-e overrides, last first, then the process environment),
 * runtime slots, and every error with its offset. test_scenario.c checks
 * the same rules through the loader, with file positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/load/env.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const vars[] = {
    "T_ENV_A=alpha", "T_ENV_EMPTY=", "T_ENV_A=beta", "T_ENV_DOLLAR=x${vu}y",
};

static void test_env_is_name(void **state)
{
    (void)state;
    assert_true(env_is_name("A", 1));
    assert_true(env_is_name("_x9", 3));
    assert_true(env_is_name("UPLOAD_VUS", 10));
    assert_false(env_is_name("", 0));
    assert_false(env_is_name("9a", 2));
    assert_false(env_is_name("a-b", 3));
    assert_false(env_is_name("a b", 3));
    assert_true(env_is_name("ab-", 2));     /* only n bytes count */
}

static void test_env_lookup(void **state)
{
    (void)state;
    struct env e = { .vars = vars, .nvars = (int)N(vars) };
    setenv("T_ENV_PROC", "proc", 1);
    setenv("T_ENV_A", "proc-a", 1);
    assert_string_equal(env_lookup(&e, "T_ENV_A", 7), "beta");      /* the last -e wins, over the process */
    assert_string_equal(env_lookup(&e, "T_ENV_EMPTY", 11), "");
    assert_string_equal(env_lookup(&e, "T_ENV_PROC", 10), "proc");
    assert_string_equal(env_lookup(&e, "T_ENV_PROCX", 10), "proc"); /* n bytes of the name */
    assert_null(env_lookup(&e, "T_ENV_NONE", 10));
    assert_null(env_lookup(&e, "T_ENV", 5));                        /* a prefix of a -e name is not it */
    unsetenv("T_ENV_PROC");
    unsetenv("T_ENV_A");
}

static void test_env_slots(void **state)
{
    (void)state;
    struct env e = {0};
    assert_true(env_is_slot(&e, "vu", 2));
    assert_true(env_is_slot(&e, "iter", 4));
    assert_false(env_is_slot(&e, "it", 2));
    assert_false(env_is_slot(&e, "n", 1));
    assert_int_equal(env_add_slot(&e, "n"), 0);
    assert_int_equal(env_add_slot(&e, "n"), 0);
    assert_int_equal(e.nslots, 1);
    for (int i = 0; i < 40; i++)       /* past the first allocation */
        assert_int_equal(env_add_slot(&e, i % 2 ? "odd" : (i % 3 ? "three" : "n")), 0);
    assert_int_equal(e.nslots, 3);
    assert_true(env_is_slot(&e, "n", 1));
    assert_true(env_is_slot(&e, "odd", 3));
    assert_false(env_is_slot(&e, "od", 2));
    env_clear_slots(&e);
    assert_false(env_is_slot(&e, "n", 1));
    assert_true(env_is_slot(&e, "vu", 2));
    env_destroy(&e);
    assert_null(e.slots);
}

static const struct subst_case {
    const char *in;
    bool        tmpl;
    const char *out;
} subst_cases[] = {
    {"plain text", false, "plain text"},
    {"", false, ""},
    {"${T_ENV_A}", false, "beta"},
    {"[${T_ENV_A}]-[${T_ENV_A:-x}]", true, "[beta]-[beta]"},
    {"${T_ENV_UNSET:-30s}", false, "30s"},
    {"${T_ENV_UNSET:-}", false, ""},
    {"${T_ENV_EMPTY}", false, ""},
    {"${T_ENV_EMPTY:-dflt}", false, "dflt"},            /* an empty value takes the default */
    {"${T_ENV_UNSET:-a:-b}", false, "a:-b"},
    {"$5 and $ alone$", false, "$5 and $ alone$"},
    /* the escape: kept in template text, resolved in plain text */
    {"$${T_ENV_A}", true, "$${T_ENV_A}"},
    {"$${T_ENV_A}", false, "${T_ENV_A}"},
    /* runtime slots stay for the template compiler */
    {"/a/${vu}/${iter}/${n}", true, "/a/${vu}/${iter}/${n}"},
    {"${one_of:a,b,c}", true, "${one_of:a,b,c}"},
    {"${one_of:}", false, "${one_of:}"},
    /* a value's own "${" stays literal in template text */
    {"${T_ENV_DOLLAR}", true, "x$${vu}y"},
    {"${T_ENV_DOLLAR}", false, "x${vu}y"},
    {"${T_ENV_UNSET:-a${b}", true, "a$${b"},            /* the default ends at the first '}' */
};

static void test_env_subst_table(void **state)
{
    (void)state;
    unsetenv("T_ENV_UNSET");
    const char *slots[] = {"n"};
    struct env e = { .vars = vars, .nvars = (int)N(vars), .slots = slots, .nslots = 1, .cap = 1 };
    struct sbuf out = {0};
    for (size_t i = 0; i < N(subst_cases); i++) {
        const struct subst_case *c = &subst_cases[i];
        struct env_error err;
        int rc = env_subst(&e, c->in, strlen(c->in), c->tmpl, &out, &err);
        if (rc != 0 || strcmp(out.p, c->out) != 0)
            fail_msg("case %zu '%s': rc %d status %d, got '%s', want '%s'", i, c->in, rc, (int)err.status,
                     rc == 0 ? out.p : "", c->out);
    }
    free(out.p);
}

static const struct subst_error_case {
    const char *in;
    size_t      len;            /* 0: strlen(in) */
    enum env_status status;
    size_t      off, whole, name_len;
} subst_errors[] = {
    {"ab${T_ENV_UNSET}", 0, ENV_UNSET, 2, 14, 11},
    {"${T_ENV_A} ${T_ENV_UNSET:x}", 0, ENV_BAD_REF, 11, 16, 0},
    {"${}", 0, ENV_BAD_REF, 0, 3, 0},
    {"${9x}", 0, ENV_BAD_REF, 0, 5, 0},
    {"${a b}", 0, ENV_BAD_REF, 0, 6, 0},
    {"${T_ENV_A:default}", 0, ENV_BAD_REF, 0, 18, 0},
    {"x ${T_ENV_A", 0, ENV_UNTERMINATED, 2, 0, 0},
    {"${", 0, ENV_UNTERMINATED, 0, 0, 0},
    {"a\0b", 3, ENV_NUL, 0, 0, 0},
};

static void test_env_subst_errors(void **state)
{
    (void)state;
    unsetenv("T_ENV_UNSET");
    struct env e = { .vars = vars, .nvars = (int)N(vars) };
    struct sbuf out = {0};
    for (size_t i = 0; i < N(subst_errors); i++) {
        const struct subst_error_case *c = &subst_errors[i];
        struct env_error err;
        size_t len = c->len ? c->len : strlen(c->in);
        assert_int_equal(env_subst(&e, c->in, len, true, &out, &err), -1);
        if (err.status != c->status || err.off != c->off ||
            (c->status == ENV_BAD_REF && err.len != c->whole) ||
            (c->status == ENV_UNSET && err.name_len != c->name_len))
            fail_msg("case %zu '%s': status %d off %zu len %zu name_len %zu", i, c->in, (int)err.status,
                     err.off, err.len, err.name_len);
    }
    free(out.p);
}

/* Only len bytes are read: a value need not be NUL-terminated. */
static void test_env_subst_len(void **state)
{
    (void)state;
    struct env e = { .vars = vars, .nvars = (int)N(vars) };
    struct sbuf out = {0};
    struct env_error err;
    assert_int_equal(env_subst(&e, "${T_ENV_A}tail", 10, false, &out, &err), 0);
    assert_string_equal(out.p, "beta");
    assert_int_equal(out.len, 4);
    /* the output is reset on every call */
    assert_int_equal(env_subst(&e, "x", 1, false, &out, &err), 0);
    assert_string_equal(out.p, "x");
    free(out.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_is_name),
        cmocka_unit_test(test_env_lookup),
        cmocka_unit_test(test_env_slots),
        cmocka_unit_test(test_env_subst_table),
        cmocka_unit_test(test_env_subst_errors),
        cmocka_unit_test(test_env_subst_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
