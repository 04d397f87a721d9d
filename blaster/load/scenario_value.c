/* scenario_value — the scenario loader's vocabulary for reading values:
 * environment substitution into a scalar (with the error at the `${`),
 * typed scalars (whole numbers, numbers, durations, booleans, strings),
 * mappings read against a table of keys (unknown keys with a "did you
 * mean", duplicates, k6's camelCase aliases), headers and tags, base URLs,
 * and the node budget that stops alias bombs.
 *
 * Two kinds of string come out of here: template text (tmpl), where
 * runtime slots and "$${" stay as written for the template compiler, and
 * plain text (numbers, durations, names, file paths), where "$${" becomes
 * "${". */
#include "blaster/load/scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blaster/common/suggest.h"
#include "blaster/common/units.h"
#include "blaster/load/url.h"

bool ld_spend(struct ld *ld, const yaml_node_t *n)
{
    if (--ld->budget >= 0)
        return true;
    ld_fail(ld, n, "too many YAML nodes (over %ld, counting every use of an alias): "
                   "an alias loop or an alias bomb?", NODE_BUDGET);
    return false;
}


/* RFC 9110 token characters (header names). */
bool ld_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}


/* The candidate closest to s when it is close enough to be a typo, or NULL. */
const char *ld_closest(const char *s, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 1000;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = suggest_distance(s, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    size_t len = strlen(s);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    return bestd <= limit ? best : NULL;
}

const yaml_node_t *ld_map_get(struct ld *ld, const yaml_node_t *map, const char *key)
{
    if (map->type != YAML_MAPPING_NODE)
        return NULL;
    FOR_PAIRS(p, map) {
        yaml_node_t *k = node_at(ld, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(raw(k), key) == 0)
            return node_at(ld, p->value);
    }
    return NULL;
}


const char *ld_subst(struct ld *ld, const yaml_node_t *n, bool tmpl)
{
    char b1[SHOW_MAX + 4], tmp[SHOW_MAX + 4];
    const char *v = raw(n);
    struct env_error e;
    if (env_subst(&ld->env, v, n->data.scalar.length, tmpl, &ld->sub, &e) == 0)
        return ld->sub.p;
    const char *in = v + e.off + 2;
    switch (e.status) {
    case ENV_NUL:
        ld_fail(ld, n, "a NUL character in a value");
        break;
    case ENV_UNTERMINATED:
        ld_fail_mark(ld, ld_mark_in_scalar(ld, n, e.off, 2),
                     "unterminated '${' (expected ${NAME} or ${NAME:-default}; write $${ for a literal ${)");
        break;
    case ENV_BAD_REF:
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(e.len > SHOW_MAX ? SHOW_MAX : e.len), v + e.off);
        ld_fail_mark(ld, ld_mark_in_scalar(ld, n, e.off, 2),
                     "'%s': expected ${NAME} or ${NAME:-default} (NAME: letters, digits and '_', "
                     "not starting with a digit), ${one_of:a,b,...}, or $${ for a literal ${",
                     ld_show(b1, sizeof(b1), tmp));
        break;
    case ENV_UNSET:
        ld_fail_mark(ld, ld_mark_in_scalar(ld, n, e.off, 2 + e.name_len),
                     "environment variable %.*s is not set (write ${%.*s:-%s} for a default, "
                     "or pass -e %.*s=...)",
                     (int)e.name_len, in, (int)e.name_len, in, "value", (int)e.name_len, in);
        break;
    case ENV_OOM:
    case ENV_OK:
        ld_oom(ld, n);
        break;
    }
    return NULL;
}

/* The substituted text of a scalar (not template text); NULL with an error
 * naming key and what was expected when n is not a scalar. */
const char *ld_text_of(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SCALAR_NODE) {
        ld_fail(ld, n, "'%s': expected %s, got %s", key, expected, ld_got(b1, sizeof(b1), n, NULL));
        return NULL;
    }
    return ld_subst(ld, n, false);
}

int ld_get_u64(struct ld *ld, const yaml_node_t *n, const char *key, uint64_t min, uint64_t max,
               uint64_t *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = ld_text_of(ld, n, key, "a whole number");
    if (!s)
        return -1;
    uint64_t v = 0;
    const char *p = s;
    if (*p == '-' && p[1] >= '0' && p[1] <= '9')
        return ld_fail(ld, n, "'%s': must not be negative, got %s", key, ld_got(b1, sizeof(b1), n, s));
    if (*p == '+')
        p++;
    if (!*p)
        return ld_fail(ld, n, "'%s': expected a whole number, got %s", key, ld_got(b1, sizeof(b1), n, s));
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return ld_fail(ld, n, "'%s': expected a whole number, got %s", key, ld_got(b1, sizeof(b1), n, s));
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return ld_fail(ld, n, "'%s': %s is too large (at most %llu)", key, ld_got(b1, sizeof(b1), n, s),
                           (unsigned long long)max);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min)
        return ld_fail(ld, n, "'%s': must be at least %llu, got %s", key, (unsigned long long)min,
                       ld_got(b1, sizeof(b1), n, s));
    if (v > max)
        return ld_fail(ld, n, "'%s': %s is too large (at most %llu)", key, ld_got(b1, sizeof(b1), n, s),
                       (unsigned long long)max);
    *out = v;
    return 0;
}

int ld_get_u32(struct ld *ld, const yaml_node_t *n, const char *key, uint32_t min, uint32_t *out)
{
    uint64_t v;
    if (ld_get_u64(ld, n, key, min, UINT32_MAX, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A non-negative decimal number: digits, at most one '.', no exponent. */
int ld_get_num(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, double *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = ld_text_of(ld, n, key, "a number");
    if (!s)
        return -1;
    if (*s == '-' && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
        return ld_fail(ld, n, "'%s': must not be negative, got %s", key, ld_got(b1, sizeof(b1), n, s));
    int digits = 0, dots = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.')
            dots++;
        else
            digits = -1000;
    }
    if (digits <= 0 || dots > 1 || strlen(s) > 30)
        return ld_fail(ld, n, "'%s': expected a number like 10 or 2.5, got %s", key, ld_got(b1, sizeof(b1), n, s));
    double d = strtod(s, NULL);
    if (positive && !(d > 0))
        return ld_fail(ld, n, "'%s': must be greater than 0, got %s", key, ld_got(b1, sizeof(b1), n, s));
    *out = d;
    return 0;
}

int ld_get_duration(struct ld *ld, const yaml_node_t *n, const char *key, bool positive, int64_t *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = ld_text_of(ld, n, key, "a duration like 30s or 1m30s");
    if (!s)
        return -1;
    int64_t ns;
    if (*s == '-' && s[1] >= '0' && s[1] <= '9')
        return ld_fail(ld, n, "'%s': must not be negative, got %s", key, ld_got(b1, sizeof(b1), n, s));
    if (units_parse_duration(s, &ns) < 0)
        return ld_fail(ld, n, "'%s': expected a duration like 30s or 1m30s, got %s", key,
                       ld_got(b1, sizeof(b1), n, s));
    if (positive && ns <= 0)
        return ld_fail(ld, n, "'%s': must be longer than 0s, got %s", key, ld_got(b1, sizeof(b1), n, s));
    *out = ns;
    return 0;
}

int ld_get_bool(struct ld *ld, const yaml_node_t *n, const char *key, bool *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = ld_text_of(ld, n, key, "true or false");
    if (!s)
        return -1;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = false;
    else
        return ld_fail(ld, n, "'%s': expected true or false, got %s", key, ld_got(b1, sizeof(b1), n, s));
    return 0;
}

/* A string into the arena: template text (tmpl) or plain text. */
int ld_get_str(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected, bool tmpl,
               bool allow_empty, char **out)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SCALAR_NODE)
        return ld_fail(ld, n, "'%s': expected %s, got %s", key, expected, ld_got(b1, sizeof(b1), n, NULL));
    const char *s = ld_subst(ld, n, tmpl);
    if (!s)
        return -1;
    if (!allow_empty && !*s)
        return ld_fail(ld, n, "'%s': expected %s, got nothing", key, expected);
    *out = ld_strdup(ld, n, s);
    return *out ? 0 : -1;
}

static void list_keys(char *buf, size_t n, const struct keydef *defs, int ndefs, uint32_t allowed)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndefs && k + 1 < n; i++) {
        if (!(allowed & BIT(i)))
            continue;
        int w = snprintf(buf + k, n - k, "%s%s", k ? ", " : "", defs[i].name);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* Read the keys of mapping map against defs: vals[i]/keys[i] get the value
 * and key node of defs[i] (by name or alias). Unknown keys, duplicates and
 * non-scalar keys are errors; keys that are known but not in allowed are
 * returned for the caller to explain. where: "in scenario 'upload'". */
int ld_map_keys(struct ld *ld, const yaml_node_t *map, const struct keydef *defs, int ndefs,
                uint32_t allowed, const char *where, yaml_node_t **vals, yaml_node_t **keys)
{
    char b1[SHOW_MAX + 4], list[512];
    for (int i = 0; i < ndefs; i++)
        vals[i] = keys[i] = NULL;
    FOR_PAIRS(p, map) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return ld_fail(ld, k, "a key %s must be a plain name, got %s", where,
                           k->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping");
        const char *name = raw(k);
        int i = 0;
        while (i < ndefs && strcmp(name, defs[i].name) != 0 &&
               !(defs[i].alias && strcmp(name, defs[i].alias) == 0))
            i++;
        if (i == ndefs) {
            const char *cands[64];
            int nc = 0;
            for (int j = 0; j < ndefs && nc < 64; j++)
                if (allowed & BIT(j)) {
                    cands[nc++] = defs[j].name;
                    if (defs[j].alias && nc < 64)
                        cands[nc++] = defs[j].alias;
                }
            const char *near = ld_closest(name, cands, nc);
            list_keys(list, sizeof(list), defs, ndefs, allowed);
            if (near)
                return ld_fail(ld, k, "unknown key '%s' %s (did you mean '%s'? expected one of: %s)",
                               ld_show(b1, sizeof(b1), name), where, near, list);
            return ld_fail(ld, k, "unknown key '%s' %s (expected one of: %s)", ld_show(b1, sizeof(b1), name),
                           where, list);
        }
        if (vals[i]) {
            if (strcmp(raw(keys[i]), name) != 0)
                return ld_fail(ld, k, "'%s' and '%s' are the same option (given twice %s)", raw(keys[i]),
                               name, where);
            return ld_fail(ld, k, "duplicate key '%s' %s (first given at line %d)", name, where,
                           pos_of(keys[i]).line);
        }
        vals[i] = v;
        keys[i] = k;
    }
    return 0;
}

/* The first key present but not allowed: an error saying so. */
int ld_check_allowed(struct ld *ld, const struct keydef *defs, int ndefs, uint32_t allowed,
                     yaml_node_t **keys, const char *where)
{
    char list[512];
    for (int i = 0; i < ndefs; i++) {
        if (keys[i] && !(allowed & BIT(i))) {
            list_keys(list, sizeof(list), defs, ndefs, allowed);
            return ld_fail(ld, keys[i], "'%s' does not belong %s (expected one of: %s)", raw(keys[i]), where,
                           list);
        }
    }
    return 0;
}

int ld_need_map(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected)
{
    char b1[SHOW_MAX + 8];
    if (n->type == YAML_MAPPING_NODE)
        return 0;
    return ld_fail(ld, n, "'%s': expected %s, got %s", key, expected, ld_got(b1, sizeof(b1), n, NULL));
}

int ld_need_list(struct ld *ld, const yaml_node_t *n, const char *key, const char *expected,
                 bool nonempty)
{
    char b1[SHOW_MAX + 8];
    if (n->type != YAML_SEQUENCE_NODE)
        return ld_fail(ld, n, "'%s': expected %s, got %s", key, expected, ld_got(b1, sizeof(b1), n, NULL));
    if (nonempty && nitems(n) == 0)
        return ld_fail(ld, n, "'%s' is empty (expected %s)", key, expected);
    return 0;
}

/* A mapping of name → value: headers (names are tokens, compared without
 * regard to case, values single-line) or tags. Values are template text. */
int ld_get_kvs(struct ld *ld, const yaml_node_t *n, const char *key, bool header,
               struct kv **out, int *nout)
{
    char b1[SHOW_MAX + 8], b2[SHOW_MAX + 8];
    if (ld_need_map(ld, n, key, header ? "a mapping like {X-Name: value}" : "a mapping like {name: value}") < 0)
        return -1;
    int cnt = npairs(n);
    struct kv *kv = ld_alloc(ld, n, (size_t)cnt, sizeof(*kv));
    if (!kv)
        return -1;
    int i = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        if (ld_get_str(ld, k, key, header ? "a header name" : "a tag name", false, false, &kv[i].name) < 0)
            return -1;
        if (header && !ld_is_token(kv[i].name))
            return ld_fail(ld, k, "'%s': '%s' is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~)",
                           key, ld_show(b1, sizeof(b1), kv[i].name));
        for (int j = 0; j < i; j++)
            if (header ? strcasecmp(kv[j].name, kv[i].name) == 0 : strcmp(kv[j].name, kv[i].name) == 0)
                return ld_fail(ld, k, "'%s': '%s' is given twice (first at line %d)", key,
                               ld_show(b1, sizeof(b1), kv[i].name), kv[j].pos.line);
        if (v->type != YAML_SCALAR_NODE)
            return ld_fail(ld, v, "'%s': the value of '%s' must be text, got %s", key,
                           ld_show(b1, sizeof(b1), kv[i].name), ld_got(b2, sizeof(b2), v, NULL));
        if (ld_get_str(ld, v, key, "text", true, true, &kv[i].value) < 0)
            return -1;
        if (header && strpbrk(kv[i].value, "\r\n"))
            return ld_fail(ld, v, "'%s': the value of '%s' must be on one line", key,
                           ld_show(b1, sizeof(b1), kv[i].name));
        kv[i].pos = pos_of(k);
        i++;
    }
    *out = kv;
    *nout = cnt;
    return 0;
}

int ld_check_url(struct ld *ld, const yaml_node_t *n, const char *key, char **s)
{
    struct url u;
    char uerr[256];
    if (url_parse(*s, &u, uerr, sizeof(uerr)) < 0)
        return ld_fail(ld, n, "'%s': %s; expected a base URL like http://127.0.0.1:8080", key, uerr);
    if (strpbrk(*s, "?#"))
        return ld_fail(ld, n, "'%s': a base URL has no query or fragment (expected a base URL like "
                              "http://127.0.0.1:8080)", key);
    size_t len = strlen(*s);
    while (len > 0 && (*s)[len - 1] == '/')   /* url_parse saw a host: never reaches "//" */
        (*s)[--len] = '\0';
    return 0;
}
