/* scenario_int — what the files of the scenario loader share, and nothing
 * else includes: the loader's state (struct ld), node helpers, the error
 * functions, typed scalars and key tables. The public model is scenario.h.
 *
 * The loader's files, in the order a file is read:
 *   scenario.c          entry points: read the file, parse YAML, arena, free
 *   scenario_top.c      the top level: target, defaults, tls, thresholds,
 *                       summary_trend_stats, the scenarios mapping
 *   scenario_options.c  one scenario: its executor and k6's options for it
 *   scenario_flow.c     a flow's steps (requests, think, repeat, pick, hls)
 *   scenario_value.c    typed scalars, key tables, headers and tags
 *   scenario_error.c    "FILE:LINE:COL: message" and positions in the source
 * with env.c (substitution) and yaml_json.c (json: bodies) beside them.
 *
 * Every ld_* function that can fail returns -1 (or NULL, or false) after
 * recording the first error in ld; the caller only passes the failure up. */
#ifndef BLASTER_SCENARIO_INT_H
#define BLASTER_SCENARIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "blaster/load/env.h"
#include "blaster/common/sbuf.h"
#include "blaster/load/scenario.h"

#define MAX_DEPTH      32                /* nesting of steps, and of JSON values */
#define NODE_BUDGET    200000L           /* node visits per file: stops alias bombs */
#define SHOW_MAX       80                /* bytes of a value quoted in a message */

#define NS_PER_S       1000000000LL

struct arena;

struct ld {
    const char *name;               /* the file, as errors call it */
    const char *src;
    size_t      srclen;
    yaml_document_t doc;
    struct arena *ar;
    struct scenario_file *sf;
    struct env  env;                /* -e overrides and the runtime slots in scope */
    char       *err;
    size_t      errlen;
    bool        failed;
    struct sbuf sub;                /* the last substituted scalar */
    struct sbuf js;                 /* a JSON body being serialised */
    long        budget;
};

/* ------------------------------------------------------------ YAML nodes */

#define FOR_PAIRS(p, n) \
    for (yaml_node_pair_t *p = (n)->data.mapping.pairs.start; p < (n)->data.mapping.pairs.top; p++)
#define FOR_ITEMS(it, n) \
    for (yaml_node_item_t *it = (n)->data.sequence.items.start; it < (n)->data.sequence.items.top; it++)

static inline yaml_node_t *node_at(struct ld *ld, int id) { return yaml_document_get_node(&ld->doc, id); }
static inline int npairs(const yaml_node_t *n) { return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start); }
static inline int nitems(const yaml_node_t *n) { return (int)(n->data.sequence.items.top - n->data.sequence.items.start); }
static inline const char *raw(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static inline struct srcpos pos_of(const yaml_node_t *n)
{
    return (struct srcpos){ (int)n->start_mark.line + 1, (int)n->start_mark.column + 1 };
}

/* ---------------------------------------------- errors (scenario_error.c) */

__attribute__((format(printf, 3, 4)))
int  ld_fail(struct ld *ld, const yaml_node_t *n, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
int  ld_fail_mark(struct ld *ld, yaml_mark_t m, const char *fmt, ...);
int  ld_oom(struct ld *ld, const yaml_node_t *n);
/* A libyaml parser error: its problem text at its position. */
int  ld_fail_yaml(struct ld *ld, const yaml_parser_t *p);
/* A value for a message: at most SHOW_MAX bytes, control characters as '?'. */
const char *ld_show(char *buf, size_t n, const char *s);
/* "a list", "a mapping", "'text'" or "nothing": what a message says it got
 * (text: the value as substituted, or NULL for v's own). */
const char *ld_got(char *buf, size_t n, const yaml_node_t *v, const char *text);
/* The position of the needle_len bytes at offset off of scalar n's value. */
yaml_mark_t ld_mark_in_scalar(struct ld *ld, const yaml_node_t *n, size_t off, size_t needle_len);

/* ----------------------------------------------- memory (scenario.c) */

void *ld_alloc(struct ld *ld, const yaml_node_t *n, size_t count, size_t size);
char *ld_strndup(struct ld *ld, const yaml_node_t *n, const char *s, size_t len);
char *ld_strdup(struct ld *ld, const yaml_node_t *n, const char *s);

/* ------------------------------------- values and keys (scenario_value.c) */

/* One node visit of the NODE_BUDGET; false (and an error) when spent. */
bool ld_spend(struct ld *ld, const yaml_node_t *n);
/* The candidate closest to s when it is close enough to be a typo, or NULL. */
const char *ld_closest(const char *s, const char *const *cands, int n);
/* RFC 9110 token characters (header names). */
bool ld_is_token(const char *s);
/* The value of key in mapping map, or NULL (also when map is not one). */
const yaml_node_t *ld_map_get(struct ld *ld, const yaml_node_t *map, const char *key);

/* Substitute the environment into scalar n's value: template text (tmpl)
 * or plain text (see scenario.c). In ld->sub, valid until the next call. */
const char *ld_subst(struct ld *ld, const yaml_node_t *n, bool tmpl);
/* The substituted (plain) text of scalar n; an error naming key and what
 * was expected when n is not a scalar. */
const char *ld_text_of(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected);
int  ld_get_u64(struct ld *ld, const yaml_node_t *n, const char *key, uint64_t min, uint64_t max,
                uint64_t *out);
int  ld_get_u32(struct ld *ld, const yaml_node_t *n, const char *key, uint32_t min, uint32_t *out);
/* A non-negative decimal number: digits, at most one '.', no exponent. */
int  ld_get_num(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, double *out);
int  ld_get_duration(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, int64_t *out);
int  ld_get_bool(struct ld *ld, const yaml_node_t *n, const char *key, bool *out);
/* A string into the arena: template text (tmpl) or plain text. */
int  ld_get_str(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected, bool tmpl,
                bool allow_empty, char **out);
/* A mapping of name → value: headers (names are tokens, compared without
 * regard to case, values single-line) or tags. Values are template text. */
int  ld_get_kvs(struct ld *ld, const yaml_node_t *n, const char *key, bool header, struct kv **out,
                int *nout);
/* A base URL (target): parsed, no query or fragment, trailing '/' dropped. */
int  ld_check_url(struct ld *ld, const yaml_node_t *n, const char *key, char **s);

struct keydef {
    const char *name;
    const char *alias;    /* k6's camelCase spelling, or NULL */
};

#define BIT(i) (1u << (i))

/* Read the keys of mapping map against defs: vals[i]/keys[i] get the value
 * and key node of defs[i] (by name or alias). Unknown keys, duplicates and
 * non-scalar keys are errors; keys that are known but not in allowed are
 * returned for the caller to explain. where: "in scenario 'upload'". */
int  ld_map_keys(struct ld *ld, const yaml_node_t *map, const struct keydef *defs, int ndefs,
                 uint32_t allowed, const char *where, yaml_node_t **vals, yaml_node_t **keys);
/* The first key present but not allowed: an error saying so. */
int  ld_check_allowed(struct ld *ld, const struct keydef *defs, int ndefs, uint32_t allowed,
                      yaml_node_t **keys, const char *where);
int  ld_need_map(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected);
int  ld_need_list(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected,
                  bool nonempty);

/* --------------------------------------------------- the sections */

/* scenario_flow.c: runtime slot names declared under n (`repeat` loop
 * variables, capture slots), into ld->env; and a step list. */
int  ld_collect_runtime(struct ld *ld, const yaml_node_t *n, int depth);
int  ld_parse_steps(struct ld *ld, const yaml_node_t *n, const char *key, int depth,
                    struct step **out, int *nout);
/* scenario_options.c: the scenario named by key node kn, mapping n. */
int  ld_parse_scenario(struct ld *ld, const yaml_node_t *kn, const yaml_node_t *n, struct scenario *sc);
/* scenario_top.c: the document's root mapping into ld->sf. */
int  ld_parse_file(struct ld *ld, const yaml_node_t *root);

#endif
