/* yaml_json — a YAML value (a libyaml document node) as compact JSON, for
 * the `json:` bodies of scenario files.
 *
 * Plain scalars that read as null (~, null, empty), true, false or an RFC
 * 8259 number are those; every other scalar, and every key, is a JSON
 * string. The text of each scalar comes from the caller (the scenario
 * loader substitutes the environment into it), so runtime slots like
 * ${vu} stay in the strings for the template compiler. Errors are values
 * naming the node; the caller words the message. */
#ifndef BLASTER_YAML_JSON_H
#define BLASTER_YAML_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "blaster/common/sbuf.h"

struct yaml_json_ops {
    void *ctx;
    /* Once per node, before it is emitted: false stops (the caller has
     * reported why, e.g. its node budget is spent). */
    bool (*visit)(void *ctx, const yaml_node_t *n);
    /* The text of scalar n, valid until the next call; NULL stops (the
     * caller has reported why). */
    const char *(*scalar)(void *ctx, const yaml_node_t *n);
};

enum yaml_json_status {
    YJ_OK,
    YJ_STOPPED,           /* an op returned false or NULL */
    YJ_TOO_DEEP,          /* nested more than max_depth */
    YJ_TOO_BIG,           /* over max_len bytes */
    YJ_KEY_NOT_TEXT,      /* a mapping key that is a list or a mapping */
    YJ_DUPLICATE_KEY,     /* a key given twice in one mapping: node, and first */
    YJ_EMPTY,             /* a node without a value */
    YJ_OOM,
};

struct yaml_json_error {
    enum yaml_json_status status;
    const yaml_node_t *node;      /* where */
    const yaml_node_t *first;     /* YJ_DUPLICATE_KEY: the first of the two keys */
};

/* Append node n of doc to out as JSON. 0, or -1 with *err set. */
int yaml_json_emit(yaml_document_t *doc, const yaml_node_t *n, int max_depth, size_t max_len,
                   const struct yaml_json_ops *ops, struct sbuf *out, struct yaml_json_error *err);

/* s as a JSON string, quotes included. */
void yaml_json_put_string(struct sbuf *out, const char *s);
/* Whether s is a number by RFC 8259's grammar. */
bool yaml_json_is_number(const char *s);

#endif
