/* export_json.h — for the tests of the report in both modes (test_report.c:
 * scenario files, test_summary.c: quick mode): write a JSON export to a temporary file through the caller's
 * function, load it back, and look up a metric in k6's handleSummary shape;
 * and check the printed text for a line. */
#ifndef TEST_EXPORT_JSON_H
#define TEST_EXPORT_JSON_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* write(path, ctx, err, errlen) is the export under test: 0 or -1 with err. */
typedef int (*export_fn)(const char *path, void *ctx, char *err, size_t errlen);

static inline json_t *export_json(export_fn write, void *ctx)
{
    char path[] = "/tmp/test_export_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[512] = "";
    if (write(path, ctx, err, sizeof err) != 0)
        fail_msg("export: %s", err);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        fail_msg("%s: %s at line %d", path, je.text, je.line);
    unlink(path);
    return root;
}

/* metrics[key], which must have k6's type and contains, and a values object. */
static inline json_t *export_metric(json_t *root, const char *key, const char *type, const char *contains)
{
    json_t *m = json_object_get(json_object_get(root, "metrics"), key);
    if (!m)
        fail_msg("metrics['%s'] missing", key);
    assert_string_equal(json_string_value(json_object_get(m, "type")), type);
    assert_string_equal(json_string_value(json_object_get(m, "contains")), contains);
    assert_true(json_is_object(json_object_get(m, "values")));
    return m;
}

/* metrics[m].values[k], which must be a number. */
static inline double export_value(json_t *m, const char *k)
{
    json_t *v = json_object_get(json_object_get(m, "values"), k);
    if (!json_is_number(v))
        fail_msg("values['%s'] is not a number", k);
    return json_number_value(v);
}

/* The "blaster": {"errors": {"tls": N}, "tls": {...}} part, the same in both modes. */
static inline void export_check_tls(json_t *root, long tls_errors, long handshakes, long resumed,
                                    const char *protocol, const char *reason)
{
    json_t *bl = json_object_get(root, "blaster");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(bl, "errors"), "tls")), tls_errors);
    json_t *tls = json_object_get(bl, "tls");
    assert_non_null(tls);
    assert_int_equal(json_integer_value(json_object_get(tls, "handshakes")), handshakes);
    assert_int_equal(json_integer_value(json_object_get(tls, "resumed")), resumed);
    assert_string_equal(json_string_value(json_object_get(tls, "protocol")), protocol);
    assert_string_equal(json_string_value(json_object_get(tls, "last_error")), reason);
}

/* text must contain s; else it is printed and the test fails. */
static inline void want_text(const char *text, const char *s)
{
    if (!strstr(text, s)) {
        fprintf(stderr, "%s", text);
        fail_msg("the summary above lacks '%s'", s);
    }
}

#endif
