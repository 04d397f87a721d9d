/* scenario_flow — a scenario's `flow`: the list of steps one iteration
 * runs. A step is a request (get, post, put, patch, delete, head, with
 * name, headers, one body, expect, capture, timeout, tags), think, repeat
 * (with `as` and nested steps), pick (weighted branches) or hls. Each kind
 * has one parse_* function; step_keys is the one table of the keys a step
 * may hold, and parse_step_map says which of them each kind accepts.
 *
 * Also here: finding the runtime slots a flow declares (loop variables and
 * captures) before any of its scalars is substituted, and the glue that
 * turns a `json:` value into its body with yaml_json. */
#include "blaster/load/scenario_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "blaster/common/units.h"
#include "blaster/load/yaml_json.h"

#define JSON_MAX       (16u << 20)       /* bytes of one JSON body */

static int add_slot(struct ld *ld, const yaml_node_t *n, const char *name)
{
    return env_add_slot(&ld->env, name) < 0 ? ld_oom(ld, n) : 0;
}

/* Runtime slot names declared under n: `repeat` loop variables (`as`) and
 * capture slots, wherever they are in a flow. */
int ld_collect_runtime(struct ld *ld, const yaml_node_t *n, int depth)
{
    if (!n || depth > 2 * MAX_DEPTH + 8 || !ld_spend(ld, n))
        return ld->failed ? -1 : 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        FOR_ITEMS(it, n)
            if (ld_collect_runtime(ld, node_at(ld, *it), depth + 1) < 0)
                return -1;
    } else if (n->type == YAML_MAPPING_NODE) {
        const yaml_node_t *as = ld_map_get(ld, n, "as");
        if (as && as->type == YAML_SCALAR_NODE && ld_map_get(ld, n, "repeat") &&
            add_slot(ld, as, raw(as)) < 0)
            return -1;
        const yaml_node_t *cap = ld_map_get(ld, n, "capture");
        if (cap && cap->type == YAML_MAPPING_NODE) {
            FOR_PAIRS(p, cap) {
                yaml_node_t *k = node_at(ld, p->key);
                if (k && k->type == YAML_SCALAR_NODE && add_slot(ld, k, raw(k)) < 0)
                    return -1;
            }
        }
        FOR_PAIRS(p, n)
            if (ld_collect_runtime(ld, node_at(ld, p->value), depth + 1) < 0)
                return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ JSON bodies */

static bool json_visit(void *ctx, const yaml_node_t *n)
{
    return ld_spend(ctx, n);
}

static const char *json_scalar(void *ctx, const yaml_node_t *n)
{
    return ld_subst(ctx, n, true);
}

/* A `json:` value as compact JSON in ld->js. */
static int emit_json(struct ld *ld, const yaml_node_t *n)
{
    const struct yaml_json_ops ops = { ld, json_visit, json_scalar };
    struct yaml_json_error e;
    char b1[SHOW_MAX + 8];
    sb_reset(&ld->js);
    if (yaml_json_emit(&ld->doc, n, MAX_DEPTH, JSON_MAX, &ops, &ld->js, &e) == 0)
        return 0;
    switch (e.status) {
    case YJ_TOO_DEEP:
        return ld_fail(ld, e.node, "'json': nested more than %d levels deep", MAX_DEPTH);
    case YJ_TOO_BIG:
        return ld_fail(ld, e.node, "'json': the body is over %u MiB", JSON_MAX >> 20);
    case YJ_KEY_NOT_TEXT:
        return ld_fail(ld, e.node, "'json': object keys must be text, got %s",
                       ld_got(b1, sizeof(b1), e.node, NULL));
    case YJ_DUPLICATE_KEY:
        return ld_fail(ld, e.node, "'json': duplicate key '%s' (first at line %d)",
                       ld_show(b1, sizeof(b1), raw(e.node)), pos_of(e.first).line);
    case YJ_EMPTY:
        return ld_fail(ld, e.node, "'json': an empty value");
    case YJ_OOM:
        return ld_oom(ld, e.node);
    case YJ_STOPPED:
    case YJ_OK:
        break;
    }
    return -1;
}

/* ----------------------------------------------------------------- steps */

enum {
    SK_GET, SK_POST, SK_PUT, SK_PATCH, SK_DELETE, SK_HEAD,   /* the request methods */
    SK_THINK, SK_REPEAT, SK_PICK, SK_HLS,                    /* the other step kinds */
    SK_NAME, SK_HEADERS, SK_BODY, SK_JSON, SK_FILE, SK_EXPECT, SK_CAPTURE, SK_TIMEOUT, SK_TAGS,
    SK_AS, SK_STEPS, SK_WEIGHT,
    SK_N
};
#define SK_NKINDS (SK_HLS + 1)

static const struct keydef step_keys[SK_N] = {
    {"get", NULL}, {"post", NULL}, {"put", NULL}, {"patch", NULL}, {"delete", NULL}, {"head", NULL},
    {"think", NULL}, {"repeat", NULL}, {"pick", NULL}, {"hls", NULL},
    {"name", NULL}, {"headers", NULL}, {"body", NULL}, {"json", NULL}, {"file", NULL},
    {"expect", NULL}, {"capture", NULL}, {"timeout", NULL}, {"tags", NULL},
    {"as", NULL}, {"steps", NULL}, {"weight", NULL},
};

static const char *const method_names[6] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

#define REQUEST_KEYS (BIT(SK_NAME) | BIT(SK_HEADERS) | BIT(SK_BODY) | BIT(SK_JSON) | BIT(SK_FILE) | \
                      BIT(SK_EXPECT) | BIT(SK_CAPTURE) | BIT(SK_TIMEOUT) | BIT(SK_TAGS))
#define STEP_KINDS_LIST "get, post, put, patch, delete, head, think, repeat, pick, hls"

static int status_code(struct ld *ld, const yaml_node_t *n, int *out)
{
    uint64_t v;
    if (ld_get_u64(ld, n, "status", 0, UINT64_MAX, &v) < 0)
        return -1;
    if (v < 100 || v > 599)
        return ld_fail(ld, n, "'status': %llu is not an HTTP status (expected 100..599)", (unsigned long long)v);
    *out = (int)v;
    return 0;
}

/* One entry of expect.status: a code, or k6's {min: 200, max: 399}. */
static int status_entry(struct ld *ld, const yaml_node_t *n, bool seen[600])
{
    static const struct keydef keys[] = {{"min", NULL}, {"max", NULL}};
    yaml_node_t *v[2], *k[2];
    if (n->type == YAML_SCALAR_NODE) {
        int c;
        if (status_code(ld, n, &c) < 0)
            return -1;
        seen[c] = true;
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return ld_fail(ld, n, "'status': expected a status like 200 or a range like {min: 200, max: 399}, "
                              "got a list");
    if (ld_map_keys(ld, n, keys, 2, 3, "in a status range", v, k) < 0)
        return -1;
    if (!v[0] || !v[1])
        return ld_fail(ld, n, "a status range needs both 'min' and 'max' (like {min: 200, max: 399})");
    int lo, hi;
    if (status_code(ld, v[0], &lo) < 0 || status_code(ld, v[1], &hi) < 0)
        return -1;
    if (lo > hi)
        return ld_fail(ld, n, "a status range's 'min' (%d) is above its 'max' (%d)", lo, hi);
    for (int c = lo; c <= hi; c++)
        seen[c] = true;
    return 0;
}

static int parse_expect(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"status", NULL}};
    yaml_node_t *v[1], *k[1];
    if (ld_need_map(ld, n, "expect", "a mapping like {status: [200, 201]}") < 0 ||
        ld_map_keys(ld, n, keys, 1, 1, "in 'expect'", v, k) < 0)
        return -1;
    if (!v[0])
        return ld_fail(ld, n, "'expect' needs 'status' (like {status: [200, 201]})");
    bool seen[600] = {false};
    if (v[0]->type == YAML_SEQUENCE_NODE) {
        if (nitems(v[0]) == 0)
            return ld_fail(ld, v[0], "'status' is empty (expected statuses like [200, 201])");
        FOR_ITEMS(it, v[0])
            if (status_entry(ld, node_at(ld, *it), seen) < 0)
                return -1;
    } else if (status_entry(ld, v[0], seen) < 0) {
        return -1;
    }
    int cnt = 0;
    for (int c = 100; c < 600; c++)
        cnt += seen[c];
    st->expect_status = ld_alloc(ld, n, (size_t)cnt, sizeof(int));
    if (!st->expect_status)
        return -1;
    for (int c = 100; c < 600; c++)
        if (seen[c])
            st->expect_status[st->nexpect++] = c;
    return 0;
}

static int parse_captures(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"json", NULL}, {"header", NULL}};
    char b1[SHOW_MAX + 8];
    if (ld_need_map(ld, n, "capture", "a mapping like {upload_id: {json: data.upload_id}}") < 0)
        return -1;
    st->ncaptures = npairs(n);
    st->captures = ld_alloc(ld, n, (size_t)st->ncaptures, sizeof(*st->captures));
    if (!st->captures)
        return -1;
    int i = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value), *vals[2], *ks[2];
        struct capture *c = &st->captures[i++];
        if (k->type != YAML_SCALAR_NODE || !env_is_name(raw(k), strlen(raw(k))))
            return ld_fail(ld, k, "'capture': %s is not a slot name (letters, digits and '_', not starting "
                                  "with a digit)", ld_got(b1, sizeof(b1), k, NULL));
        if (!strcmp(raw(k), "vu") || !strcmp(raw(k), "iter"))
            return ld_fail(ld, k, "'capture': '%s' is a built-in variable; choose another slot name", raw(k));
        for (int j = 0; j < i - 1; j++)
            if (!strcmp(st->captures[j].slot, raw(k)))
                return ld_fail(ld, k, "'capture': slot '%s' is given twice", raw(k));
        if (!(c->slot = ld_strdup(ld, k, raw(k))))
            return -1;
        c->pos = pos_of(k);
        if (ld_need_map(ld, v, raw(k), "{json: PATH} or {header: NAME}") < 0 ||
            ld_map_keys(ld, v, keys, 2, 3, "in a capture", vals, ks) < 0)
            return -1;
        if (!vals[0] == !vals[1])
            return ld_fail(ld, v, "capture '%s' needs exactly one of 'json' (a path like data.upload_id) "
                                  "or 'header' (a header name)", c->slot);
        c->kind = vals[0] ? CAPTURE_JSON : CAPTURE_HEADER;
        const yaml_node_t *pv = vals[0] ? vals[0] : vals[1];
        if (ld_get_str(ld, pv, vals[0] ? "json" : "header", vals[0] ? "a JSON path like data.upload_id" :
                       "a header name", false, false, &c->path) < 0)
            return -1;
        if (c->kind == CAPTURE_HEADER && !ld_is_token(c->path))
            return ld_fail(ld, pv, "'header': '%s' is not a valid header name", ld_show(b1, sizeof(b1), c->path));
    }
    return 0;
}

static int parse_body(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    static const struct keydef keys[] = {{"bytes", NULL}, {"file", NULL}};
    yaml_node_t *v[2], *k[2];
    char b1[SHOW_MAX + 8];
    if (n->type == YAML_SCALAR_NODE) {
        st->body_kind = BODY_TEXT;
        return ld_get_str(ld, n, "body", "text", true, true, &st->body);
    }
    if (n->type != YAML_MAPPING_NODE)
        return ld_fail(ld, n, "'body': expected text, {bytes: SIZE} or {file: PATH}, got a list");
    if (ld_map_keys(ld, n, keys, 2, 3, "in 'body'", v, k) < 0)
        return -1;
    if (!v[0] == !v[1])
        return ld_fail(ld, n, "'body' needs exactly one of 'bytes' (a size like 1MiB) or 'file' (a path)");
    if (v[1]) {
        st->body_kind = BODY_FILE;
        return ld_get_str(ld, v[1], "file", "a file path", false, false, &st->body);
    }
    const char *s = ld_text_of(ld, v[0], "bytes", "a size like 1MiB or 512KB");
    if (!s)
        return -1;
    if (units_parse_size(s, &st->body_bytes) < 0)
        return ld_fail(ld, v[0], "'bytes': expected a size like 1MiB, 512KB or 1048576, got %s",
                       ld_got(b1, sizeof(b1), v[0], s));
    st->body_kind = BODY_BYTES;
    return 0;
}

static bool path_ok(const char *p)
{
    return p[0] == '/' || strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0 ||
           (p[0] == '$' && p[1] == '{');
}

static int parse_request(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, int m, struct step *st)
{
    char b1[SHOW_MAX + 8];
    st->kind = STEP_REQUEST;
    if (!(st->method = ld_strdup(ld, n, method_names[m])))
        return -1;
    if (ld_get_str(ld, v[m], step_keys[m].name, "a path like /api/v1/x", true, false, &st->path) < 0)
        return -1;
    if (!path_ok(st->path))
        return ld_fail(ld, v[m], "'%s': expected a path starting with '/' or an absolute http(s) URL, got %s",
                       step_keys[m].name, ld_got(b1, sizeof(b1), v[m], st->path));
    if (v[SK_NAME]) {
        if (ld_get_str(ld, v[SK_NAME], "name", "a name", false, false, &st->name) < 0)
            return -1;
    } else {
        size_t len = strlen(st->method) + 1 + strlen(st->path);
        if (!(st->name = ld_alloc(ld, n, len + 1, 1)))
            return -1;
        snprintf(st->name, len + 1, "%s %s", st->method, st->path);
    }

    int nbody = !!v[SK_BODY] + !!v[SK_JSON] + !!v[SK_FILE];
    if (nbody > 1) {
        const char *a = v[SK_BODY] ? "body" : "json", *b = v[SK_FILE] ? "file" : "json";
        return ld_fail(ld, n, "a request has one body: 'body', 'json' or 'file', not both '%s' and '%s'", a, b);
    }
    if (v[SK_HEADERS] && ld_get_kvs(ld, v[SK_HEADERS], "headers", true, &st->headers, &st->nheaders) < 0)
        return -1;

    if (v[SK_BODY] && parse_body(ld, v[SK_BODY], st) < 0)
        return -1;
    if (v[SK_FILE]) {
        st->body_kind = BODY_FILE;
        if (ld_get_str(ld, v[SK_FILE], "file", "a file path", false, false, &st->body) < 0)
            return -1;
    }
    if (v[SK_JSON]) {
        if (emit_json(ld, v[SK_JSON]) < 0)
            return -1;
        st->body_kind = BODY_JSON;
        if (!(st->body = ld_strndup(ld, v[SK_JSON], ld->js.p, ld->js.len)))
            return -1;
    }
    if (v[SK_EXPECT] && parse_expect(ld, v[SK_EXPECT], st) < 0)
        return -1;
    if (v[SK_CAPTURE] && parse_captures(ld, v[SK_CAPTURE], st) < 0)
        return -1;
    if (v[SK_TIMEOUT] && ld_get_duration(ld, v[SK_TIMEOUT], "timeout", true, &st->timeout_ns) < 0)
        return -1;
    if (v[SK_TAGS] && ld_get_kvs(ld, v[SK_TAGS], "tags", false, &st->tags, &st->ntags) < 0)
        return -1;
    return 0;
}

static int parse_think(struct ld *ld, const yaml_node_t *n, struct step *st)
{
    char b1[SHOW_MAX + 8], lo[64], hi[64];
    const char *s = ld_text_of(ld, n, "think", "a duration like 300ms or a range like 300ms..800ms");
    if (!s)
        return -1;
    st->kind = STEP_THINK;
    const char *dots = strstr(s, "..");
    if (!dots) {
        if (units_parse_duration(s, &st->think_min_ns) < 0)
            goto bad;
        st->think_max_ns = st->think_min_ns;
        return 0;
    }
    size_t la = (size_t)(dots - s), lb = strlen(dots + 2);
    while (la > 0 && s[la - 1] == ' ')
        la--;
    const char *b = dots + 2;
    while (*b == ' ')
        b++, lb--;
    if (la == 0 || la >= sizeof(lo) || lb == 0 || lb >= sizeof(hi))
        goto bad;
    memcpy(lo, s, la);
    lo[la] = '\0';
    memcpy(hi, b, lb);
    hi[lb] = '\0';
    if (units_parse_duration(lo, &st->think_min_ns) < 0 || units_parse_duration(hi, &st->think_max_ns) < 0)
        goto bad;
    if (st->think_min_ns > st->think_max_ns)
        return ld_fail(ld, n, "'think': the range's minimum %s is above its maximum %s", lo, hi);
    return 0;
bad:
    return ld_fail(ld, n, "'think': expected a duration like 300ms or a range like 300ms..800ms, got %s",
                   ld_got(b1, sizeof(b1), n, s));
}

static int parse_repeat(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, int depth, struct step *st)
{
    char b1[SHOW_MAX + 8];
    st->kind = STEP_REPEAT;
    if (ld_get_u32(ld, v[SK_REPEAT], "repeat", 1, &st->repeat) < 0)
        return -1;
    if (v[SK_AS]) {
        if (v[SK_AS]->type != YAML_SCALAR_NODE || !env_is_name(raw(v[SK_AS]), strlen(raw(v[SK_AS]))))
            return ld_fail(ld, v[SK_AS], "'as': expected a variable name (letters, digits and '_', not starting "
                                         "with a digit), got %s", ld_got(b1, sizeof(b1), v[SK_AS], NULL));
        if (!strcmp(raw(v[SK_AS]), "vu") || !strcmp(raw(v[SK_AS]), "iter"))
            return ld_fail(ld, v[SK_AS], "'as': '%s' is a built-in variable; choose another name", raw(v[SK_AS]));
        if (!(st->repeat_as = ld_strdup(ld, v[SK_AS], raw(v[SK_AS]))))
            return -1;
    }
    if (!v[SK_STEPS])
        return ld_fail(ld, n, "missing 'steps' in a repeat step (the list of steps to repeat)");
    return ld_parse_steps(ld, v[SK_STEPS], "steps", depth, &st->steps, &st->nsteps);
}

static int parse_hls(struct ld *ld, const yaml_node_t *n, yaml_node_t **v, struct step *st)
{
    static const struct keydef keys[] = {{"master", NULL}, {"variant", NULL}, {"segments", NULL}};
    yaml_node_t *hv[3], *hk[3];
    char b1[SHOW_MAX + 8];
    st->kind = STEP_HLS;
    if (ld_need_map(ld, v[SK_HLS], "hls", "a mapping like {master: /path/master.m3u8, variant: lowest, segments: 4}") < 0 ||
        ld_map_keys(ld, v[SK_HLS], keys, 3, 7, "in 'hls'", hv, hk) < 0)
        return -1;
    if (!hv[0])
        return ld_fail(ld, v[SK_HLS], "missing 'master' in 'hls' (the path or URL of the master playlist)");
    if (ld_get_str(ld, hv[0], "master", "a path like /hls/master.m3u8", true, false, &st->hls_master) < 0)
        return -1;
    if (!path_ok(st->hls_master))
        return ld_fail(ld, hv[0], "'master': expected a path starting with '/' or an absolute http(s) URL, got %s",
                       ld_got(b1, sizeof(b1), hv[0], st->hls_master));
    st->hls_variant = HLS_LOWEST;
    if (hv[1]) {
        const char *s = ld_text_of(ld, hv[1], "variant", "lowest, highest or a variant's name");
        if (!s)
            return -1;
        if (!strcmp(s, "lowest")) {
            st->hls_variant = HLS_LOWEST;
        } else if (!strcmp(s, "highest")) {
            st->hls_variant = HLS_HIGHEST;
        } else if (!*s) {
            return ld_fail(ld, hv[1], "'variant': expected lowest, highest or a variant's name, got nothing");
        } else {
            st->hls_variant = HLS_NAMED;
            if (!(st->hls_variant_name = ld_strdup(ld, hv[1], s)))
                return -1;
        }
    }
    if (hv[2] && ld_get_u32(ld, hv[2], "segments", 0, &st->hls_segments) < 0)
        return -1;
    if (v[SK_NAME]) {
        if (ld_get_str(ld, v[SK_NAME], "name", "a name", false, false, &st->name) < 0)
            return -1;
    } else {
        size_t len = 4 + strlen(st->hls_master);
        if (!(st->name = ld_alloc(ld, n, len + 1, 1)))
            return -1;
        snprintf(st->name, len + 1, "HLS %s", st->hls_master);
    }
    if (v[SK_TAGS] && ld_get_kvs(ld, v[SK_TAGS], "tags", false, &st->tags, &st->ntags) < 0)
        return -1;
    return 0;
}

static int parse_pick(struct ld *ld, const yaml_node_t *n, int depth, struct step *st);

/* Which step kind a mapping is: the index of its kind key (a method, think,
 * repeat, pick, hls), or -1 when it has none (an error unless allow_none). */
static int step_kind_key(struct ld *ld, const yaml_node_t *n, bool allow_none, int *kind)
{
    const yaml_node_t *first = NULL;
    *kind = -1;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        for (int i = 0; i < SK_NKINDS; i++) {
            if (strcmp(raw(k), step_keys[i].name) != 0)
                continue;
            if (*kind >= 0) {
                if (*kind < 6 && i < 6)
                    return ld_fail(ld, k, "a step has one method: found both '%s' and '%s'", raw(first), raw(k));
                return ld_fail(ld, k, "a step is one thing: found both '%s' and '%s' (make them two steps)",
                               raw(first), raw(k));
            }
            *kind = i;
            first = k;
        }
    }
    if (*kind < 0 && !allow_none) {
        const char *cands[SK_NKINDS];
        for (int i = 0; i < SK_NKINDS; i++)
            cands[i] = step_keys[i].name;
        const char *near = NULL;
        FOR_PAIRS(p, n) {
            yaml_node_t *k = node_at(ld, p->key);
            if (k->type == YAML_SCALAR_NODE && (near = ld_closest(raw(k), cands, SK_NKINDS)))
                return ld_fail(ld, k, "unknown key '%s' in a step (did you mean '%s'? a step needs one of: "
                                      STEP_KINDS_LIST ")", raw(k), near);
        }
        return ld_fail(ld, n, "a step needs one of: " STEP_KINDS_LIST);
    }
    return 0;
}

/* A step from mapping n. in_branch: a pick branch's inline form, which may
 * also hold 'weight' (stored in *weight_node for the caller). */
static int parse_step_map(struct ld *ld, const yaml_node_t *n, int kind, int depth, bool in_branch,
                          struct step *st, yaml_node_t **weight_node)
{
    yaml_node_t *v[SK_N], *k[SK_N];
    uint32_t allowed;
    const char *where;
    switch (kind) {
    case SK_THINK:  allowed = BIT(SK_THINK); where = "in a think step"; break;
    case SK_REPEAT: allowed = BIT(SK_REPEAT) | BIT(SK_AS) | BIT(SK_STEPS); where = "in a repeat step"; break;
    case SK_PICK:   allowed = BIT(SK_PICK); where = "in a pick step"; break;
    case SK_HLS:    allowed = BIT(SK_HLS) | BIT(SK_NAME) | BIT(SK_TAGS); where = "in an hls step"; break;
    default:        allowed = BIT(kind) | REQUEST_KEYS; where = "in a request step"; break;
    }
    if (in_branch)
        allowed |= BIT(SK_WEIGHT);
    if (ld_map_keys(ld, n, step_keys, SK_N, allowed, where, v, k) < 0)
        return -1;
    if (in_branch && kind < 6 && k[SK_STEPS])
        return ld_fail(ld, k[SK_STEPS], "a pick branch is either a request or 'steps', not both");
    if (ld_check_allowed(ld, step_keys, SK_N, allowed, k, where) < 0)
        return -1;
    st->pos = pos_of(n);
    if (weight_node)
        *weight_node = v[SK_WEIGHT];
    switch (kind) {
    case SK_THINK:  return parse_think(ld, v[SK_THINK], st);
    case SK_REPEAT: return parse_repeat(ld, n, v, depth, st);
    case SK_PICK:   return parse_pick(ld, v[SK_PICK], depth, st);
    case SK_HLS:    return parse_hls(ld, n, v, st);
    default:        return parse_request(ld, n, v, kind, st);
    }
}

static int parse_step(struct ld *ld, const yaml_node_t *n, int depth, struct step *st)
{
    char b1[SHOW_MAX + 8];
    int kind;
    if (n->type != YAML_MAPPING_NODE)
        return ld_fail(ld, n, "a step must be a mapping like {get: /path} or {think: 1s}, got %s",
                       ld_got(b1, sizeof(b1), n, NULL));
    if (step_kind_key(ld, n, false, &kind) < 0)
        return -1;
    return parse_step_map(ld, n, kind, depth, false, st, NULL);
}

static int parse_pick(struct ld *ld, const yaml_node_t *n, int depth, struct step *st)
{
    static const struct keydef branch_keys[] = {{"weight", NULL}, {"steps", NULL}};
    char b1[SHOW_MAX + 8];
    st->kind = STEP_PICK;
    if (ld_need_list(ld, n, "pick", "a list of branches like [{weight: 60, get: /a}, {weight: 40, steps: [...]}]",
                     true) < 0)
        return -1;
    st->nbranches = nitems(n);
    st->branches = ld_alloc(ld, n, (size_t)st->nbranches, sizeof(*st->branches));
    if (!st->branches)
        return -1;
    uint64_t total = 0;
    int i = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *b = node_at(ld, *it), *weight = NULL;
        struct pick_branch *br = &st->branches[i++];
        br->pos = pos_of(b);
        if (b->type != YAML_MAPPING_NODE)
            return ld_fail(ld, b, "a pick branch must be a mapping like {weight: 60, get: /a} or "
                                  "{weight: 40, steps: [...]}, got %s", ld_got(b1, sizeof(b1), b, NULL));
        int kind;
        if (step_kind_key(ld, b, true, &kind) < 0)
            return -1;
        if (kind >= 0) {
            if (depth + 1 > MAX_DEPTH)
                return ld_fail(ld, b, "steps nested more than %d levels deep", MAX_DEPTH);
            br->nsteps = 1;
            if (!(br->steps = ld_alloc(ld, b, 1, sizeof(*br->steps))))
                return -1;
            if (parse_step_map(ld, b, kind, depth + 1, true, br->steps, &weight) < 0)
                return -1;
        } else {
            yaml_node_t *v[2], *k[2];
            if (ld_map_keys(ld, b, branch_keys, 2, 3, "in a pick branch", v, k) < 0)
                return -1;
            if (!v[1])
                return ld_fail(ld, b, "a pick branch needs a request (" STEP_KINDS_LIST ") or 'steps'");
            weight = v[0];
            if (ld_parse_steps(ld, v[1], "steps", depth, &br->steps, &br->nsteps) < 0)
                return -1;
        }
        br->weight = 1;
        if (weight && ld_get_u32(ld, weight, "weight", 1, &br->weight) < 0)
            return -1;
        total += br->weight;
        if (total > UINT32_MAX)
            return ld_fail(ld, weight ? weight : b, "'weight': the branches' weights add up to more than %u",
                           UINT32_MAX);
    }
    return 0;
}

int ld_parse_steps(struct ld *ld, const yaml_node_t *n, const char *key, int depth,
                   struct step **out, int *nout)
{
    if (ld_need_list(ld, n, key, "a list of steps", true) < 0)
        return -1;
    if (depth + 1 > MAX_DEPTH)
        return ld_fail(ld, n, "steps nested more than %d levels deep", MAX_DEPTH);
    int cnt = nitems(n);
    struct step *st = ld_alloc(ld, n, (size_t)cnt, sizeof(*st));
    if (!st)
        return -1;
    int i = 0;
    FOR_ITEMS(it, n) {
        if (!ld_spend(ld, node_at(ld, *it)) || parse_step(ld, node_at(ld, *it), depth + 1, &st[i++]) < 0)
            return -1;
    }
    *out = st;
    *nout = cnt;
    return 0;
}
