/* yaml_json — YAML nodes to compact JSON (yaml_json.h). Walks a libyaml
 * document; owns JSON's string escaping, its number grammar and which YAML
 * plain scalars are JSON literals. Does not substitute, budget or word
 * errors: the caller's ops and the returned status do that. */
#include "blaster/load/yaml_json.h"

#include <stdio.h>
#include <string.h>

void yaml_json_put_string(struct sbuf *b, const char *s)
{
    sb_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':  sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        default:
            if (c < 0x20) {
                char u[8];
                snprintf(u, sizeof(u), "\\u%04x", c);
                sb_puts(b, u);
            } else {
                sb_putc(b, (char)c);
            }
        }
    }
    sb_putc(b, '"');
}

bool yaml_json_is_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* The JSON literal a plain scalar's text reads as (null, true, false or
 * the number itself), or NULL for a string. */
static const char *plain_literal(const char *s)
{
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return "null";
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return "true";
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return "false";
    if (yaml_json_is_number(s))
        return s;
    return NULL;
}

struct emitter {
    yaml_document_t *doc;
    int max_depth;
    size_t max_len;
    const struct yaml_json_ops *ops;
    struct sbuf *out;
    struct yaml_json_error *err;
};

static int emit_fail(struct emitter *em, enum yaml_json_status status, const yaml_node_t *n,
                     const yaml_node_t *first)
{
    *em->err = (struct yaml_json_error){ status, n, first };
    return -1;
}

static int emit_node(struct emitter *em, const yaml_node_t *n, int depth);

static int emit_scalar(struct emitter *em, const yaml_node_t *n)
{
    const char *s = em->ops->scalar(em->ops->ctx, n);
    if (!s)
        return emit_fail(em, YJ_STOPPED, n, NULL);
    const char *lit = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_literal(s) : NULL;
    if (lit)
        sb_puts(em->out, lit);
    else
        yaml_json_put_string(em->out, s);
    return 0;
}

static int emit_sequence(struct emitter *em, const yaml_node_t *n, int depth)
{
    sb_putc(em->out, '[');
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        if (it > n->data.sequence.items.start)
            sb_putc(em->out, ',');
        if (emit_node(em, yaml_document_get_node(em->doc, *it), depth + 1) < 0)
            return -1;
    }
    sb_putc(em->out, ']');
    return 0;
}

static int emit_mapping(struct emitter *em, const yaml_node_t *n, int depth)
{
    sb_putc(em->out, '{');
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(em->doc, p->key);
        if (k->type != YAML_SCALAR_NODE)
            return emit_fail(em, YJ_KEY_NOT_TEXT, k, NULL);
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = yaml_document_get_node(em->doc, q->key);
            if (strcmp((const char *)k2->data.scalar.value, (const char *)k->data.scalar.value) == 0)
                return emit_fail(em, YJ_DUPLICATE_KEY, k, k2);
        }
        if (p > n->data.mapping.pairs.start)
            sb_putc(em->out, ',');
        const char *s = em->ops->scalar(em->ops->ctx, k);
        if (!s)
            return emit_fail(em, YJ_STOPPED, k, NULL);
        yaml_json_put_string(em->out, s);
        sb_putc(em->out, ':');
        if (emit_node(em, yaml_document_get_node(em->doc, p->value), depth + 1) < 0)
            return -1;
    }
    sb_putc(em->out, '}');
    return 0;
}

static int emit_node(struct emitter *em, const yaml_node_t *n, int depth)
{
    if (!em->ops->visit(em->ops->ctx, n))
        return emit_fail(em, YJ_STOPPED, n, NULL);
    if (depth > em->max_depth)
        return emit_fail(em, YJ_TOO_DEEP, n, NULL);
    if (em->out->len > em->max_len)
        return emit_fail(em, YJ_TOO_BIG, n, NULL);
    int rc;
    switch (n->type) {
    case YAML_SCALAR_NODE:   rc = emit_scalar(em, n); break;
    case YAML_SEQUENCE_NODE: rc = emit_sequence(em, n, depth); break;
    case YAML_MAPPING_NODE:  rc = emit_mapping(em, n, depth); break;
    default:                 return emit_fail(em, YJ_EMPTY, n, NULL);
    }
    if (rc < 0)
        return -1;
    if (em->out->oom)
        return emit_fail(em, YJ_OOM, n, NULL);
    return 0;
}

int yaml_json_emit(yaml_document_t *doc, const yaml_node_t *n, int max_depth, size_t max_len,
                   const struct yaml_json_ops *ops, struct sbuf *out, struct yaml_json_error *err)
{
    struct emitter em = { doc, max_depth, max_len, ops, out, err };
    *err = (struct yaml_json_error){ YJ_OK, NULL, NULL };
    return emit_node(&em, n, 0);
}
