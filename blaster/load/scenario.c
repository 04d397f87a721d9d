/* scenario — load a scenario file (DESIGN.md, "Scenario files") into the
 * model of scenario.h: the entry points, reading the file, libyaml, and
 * the arena the model lives in.
 *
 * libyaml's document API parses the whole file into a node tree (each node
 * with its position); the loader then walks that tree once, top-down
 * (scenario_top.c, then scenario_options.c and scenario_flow.c for each
 * scenario), with a table of the keys each kind of mapping accepts
 * (scenario_value.c). Every scalar goes through environment substitution
 * (env.c) before it is typed, so `vus: ${UPLOAD_VUS:-100}` is the number
 * 100.
 *
 * Two kinds of string come out of the walk:
 * - template text (paths, header and tag values, text and JSON bodies, the
 *   HLS master): runtime slots (${vu}, ${iter}, ${one_of:...}, loop
 *   variables, captures) and the "$${" escape are left as written, for the
 *   template compiler; environment values put into it have their own "${"
 *   escaped as "$${", so they stay literal text;
 * - everything else (numbers, durations, names, file paths): "$${" becomes
 *   "${".
 *
 * Memory: everything the model points at lives in one arena, freed as a
 * whole by scenario_free (or on any error before returning). The loader's
 * scratch buffers are freed on every path out of scenario_load_string.
 *
 * Errors are the first one found, as "FILE:LINE:COL: what was wrong
 * (what was expected)" (scenario_error.c). */
#include "blaster/load/scenario.h"
#include "blaster/load/scenario_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX       (64u << 20)       /* bytes of a scenario file */

/* ------------------------------------------------------------------ arena */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n == 0)
        n = sizeof(max_align_t);
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_destroy(struct arena *a)
{
    if (!a)
        return;
    for (struct arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *ld_alloc(struct ld *ld, const yaml_node_t *n, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        ld_oom(ld, n);
        return NULL;
    }
    void *p = arena_alloc(ld->ar, count * size);
    if (!p)
        ld_oom(ld, n);
    return p;
}

char *ld_strndup(struct ld *ld, const yaml_node_t *n, const char *s, size_t len)
{
    char *p = ld_alloc(ld, n, len + 1, 1);
    if (p)
        memcpy(p, s, len);
    return p;
}

char *ld_strdup(struct ld *ld, const yaml_node_t *n, const char *s)
{
    return ld_strndup(ld, n, s, strlen(s));
}

/* The file's one YAML document into ld->doc (*have_doc: it is there to be
 * deleted); its root node, or NULL after an error. */
static yaml_node_t *load_document(struct ld *ld, yaml_parser_t *parser, bool *have_doc)
{
    if (!yaml_parser_load(parser, &ld->doc)) {
        ld_fail_yaml(ld, parser);
        return NULL;
    }
    *have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
    if (!root) {
        ld_fail_mark(ld, (yaml_mark_t){0, 0, 0},
                     "the file is empty (expected a mapping with 'target' and 'scenarios')");
        return NULL;
    }
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) {
        ld_fail_yaml(ld, parser);
        return NULL;
    }
    if (yaml_document_get_root_node(&next))
        ld_fail_mark(ld, next.start_mark, "a second YAML document (a scenario file holds one; remove the "
                                          "'---' line)");
    yaml_document_delete(&next);
    return ld->failed ? NULL : root;
}

int scenario_load_string(const char *name, const char *yaml, size_t len,
                         const char *const *env, int nenv,
                         struct scenario_file *out, char *err, size_t errlen)
{
    struct ld ld = {
        .name = name ? name : "<string>", .src = yaml ? yaml : "", .srclen = yaml ? len : 0,
        .env = { .vars = env, .nvars = env ? nenv : 0 }, .err = err, .errlen = errlen, .budget = NODE_BUDGET,
    };
    yaml_parser_t parser;
    bool have_parser = false, have_doc = false;
    memset(out, 0, sizeof(*out));
    if (errlen > 0)
        err[0] = '\0';
    ld.sf = out;
    ld.ar = calloc(1, sizeof(*ld.ar));
    if (!ld.ar) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        return -1;
    }
    if (!(out->path = arena_alloc(ld.ar, strlen(ld.name) + 1))) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        goto done;
    }
    strcpy(out->path, ld.name);

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", ld.name);
        ld.failed = true;
        goto done;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld.src, ld.srclen);
    yaml_node_t *root = load_document(&ld, &parser, &have_doc);
    if (root)
        ld_parse_file(&ld, root);

done:
    if (have_doc)
        yaml_document_delete(&ld.doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    free(ld.sub.p);
    free(ld.js.p);
    env_destroy(&ld.env);
    if (ld.failed || !out->path) {
        arena_destroy(ld.ar);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    out->arena_ = ld.ar;
    return 0;
}

int scenario_load(const char *path, const char *const *env, int nenv,
                  struct scenario_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap > FILE_MAX) {
                snprintf(err, errlen, "%s: cannot read: larger than %u MiB", path, FILE_MAX >> 20);
                free(buf);
                fclose(f);
                return -1;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > FILE_MAX + 1)
                ncap = FILE_MAX + 1;
            char *p = realloc(buf, ncap);
            if (!p) {
                snprintf(err, errlen, "%s: cannot read: out of memory", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    int rc = scenario_load_string(path, buf ? buf : "", len, env, nenv, out, err, errlen);
    free(buf);
    return rc;
}

void scenario_free(struct scenario_file *sf)
{
    if (!sf)
        return;
    arena_destroy(sf->arena_);
    memset(sf, 0, sizeof(*sf));
}
