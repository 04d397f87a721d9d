/* scenario_top — the top level of a scenario file: target, defaults, tls,
 * thresholds (metric names and tag filters checked against threshold.c's
 * list of metrics; the expressions are compiled later), summary_trend_stats,
 * and the scenarios mapping, each entry handed to scenario_options.c.
 * Applies the file-wide defaults (timeout 60s, discard_bodies, TLS
 * resumption). */
#include "blaster/load/scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blaster/load/threshold.h"

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* "name" or "name{tag:value,...}": a known metric, a well-formed filter. */
static int check_metric(struct ld *ld, const yaml_node_t *kn, const char *s)
{
    char b1[SHOW_MAX + 8], b2[SHOW_MAX + 8], name[64];
    const char *brace = strchr(s, '{');
    size_t nl = brace ? (size_t)(brace - s) : strlen(s);
    const char *ns = s;
    trim(&ns, &nl);
    if (nl == 0 || nl >= sizeof(name) || !env_is_name(ns, nl))
        return ld_fail(ld, kn, "threshold metric '%s': expected a metric name like http_req_duration, "
                               "optionally with a tag filter like {scenario:browse}", ld_show(b1, sizeof(b1), s));
    memcpy(name, ns, nl);
    name[nl] = '\0';
    enum metric_type type;
    if (metric_type_of(name, &type) != 0) {
        /* threshold.c owns the list of metrics (and their types). */
        const char *near = metric_suggest(name);
        char list[512];
        size_t w = 0;
        const char *m;
        for (int i = 0; (m = metric_name_at(i)) && w < sizeof list; i++) {
            int r = snprintf(list + w, sizeof(list) - w, "%s%s", i ? ", " : "", m);
            w += r > 0 ? (size_t)r : 0;
        }
        if (near)
            return ld_fail(ld, kn, "unknown metric '%s' (did you mean '%s'?)", ld_show(b1, sizeof(b1), name), near);
        return ld_fail(ld, kn, "unknown metric '%s' (expected one of: %s; custom metrics are not supported yet)",
                       ld_show(b1, sizeof(b1), name), list);
    }
    if (!brace) {
        if (strchr(s, '}'))
            return ld_fail(ld, kn, "threshold metric '%s': '}' without '{' (expected a filter like "
                                   "name{scenario:browse})", ld_show(b1, sizeof(b1), s));
        return 0;
    }
    const char *close = strrchr(s, '}');
    const char *after = close ? close + 1 : NULL;
    while (after && (*after == ' ' || *after == '\t'))
        after++;
    if (!close || close < brace || *after)
        return ld_fail(ld, kn, "threshold metric '%s': the tag filter must end with '}' (expected a filter like "
                               "%s{scenario:browse})", ld_show(b1, sizeof(b1), s), name);
    const char *p = brace + 1;
    if (p == close)
        return ld_fail(ld, kn, "threshold metric '%s': an empty tag filter '{}' (expected {tag:value})",
                       ld_show(b1, sizeof(b1), s));
    while (p < close) {
        const char *comma = memchr(p, ',', (size_t)(close - p));
        const char *end = comma ? comma : close;
        const char *f = p;
        size_t fl = (size_t)(end - p);
        trim(&f, &fl);
        const char *colon = memchr(f, ':', fl);
        char part[SHOW_MAX + 4];
        snprintf(part, sizeof(part), "%.*s", (int)(fl > SHOW_MAX ? SHOW_MAX : fl), f);
        if (!colon)
            return ld_fail(ld, kn, "threshold metric '%s': tag filter '%s' has no ':' (expected tag:value, like "
                                   "scenario:browse)", ld_show(b1, sizeof(b1), s), ld_show(b2, sizeof(b2), part));
        const char *tk = f, *tv = colon + 1;
        size_t kl = (size_t)(colon - f), vl = (size_t)(f + fl - tv);
        trim(&tk, &kl);
        trim(&tv, &vl);
        if (vl >= 2 && (tv[0] == '"' || tv[0] == '\'') && tv[vl - 1] == tv[0])
            tv++, vl -= 2;
        if (kl == 0 || vl == 0)
            return ld_fail(ld, kn, "threshold metric '%s': tag filter '%s' needs a %s (expected tag:value, like "
                                   "scenario:browse)", ld_show(b1, sizeof(b1), s), ld_show(b2, sizeof(b2), part),
                           kl == 0 ? "tag name" : "value");
        p = comma ? comma + 1 : close;
        if (comma && p == close)
            return ld_fail(ld, kn, "threshold metric '%s': a trailing ',' in the tag filter",
                           ld_show(b1, sizeof(b1), s));
    }
    return 0;
}

static int parse_threshold_item(struct ld *ld, const yaml_node_t *n, struct threshold_spec *t)
{
    static const struct keydef keys[] = {
        {"threshold", NULL}, {"abort_on_fail", "abortOnFail"}, {"delay_abort_eval", "delayAbortEval"},
    };
    yaml_node_t *v[3], *k[3];
    char b1[SHOW_MAX + 8];
    t->pos = pos_of(n);
    if (n->type == YAML_SCALAR_NODE)
        return ld_get_str(ld, n, "thresholds", "an expression like \"p(95)<500\"", false, false, &t->expr);
    if (n->type != YAML_MAPPING_NODE)
        return ld_fail(ld, n, "a threshold must be an expression like \"p(95)<500\" or a mapping like "
                              "{threshold: \"p(95)<500\", abort_on_fail: true}, got %s", ld_got(b1, sizeof(b1), n, NULL));
    if (ld_map_keys(ld, n, keys, 3, 7, "in a threshold", v, k) < 0)
        return -1;
    if (!v[0])
        return ld_fail(ld, n, "missing 'threshold' (the expression, like \"p(95)<500\")");
    if (ld_get_str(ld, v[0], "threshold", "an expression like \"p(95)<500\"", false, false, &t->expr) < 0 ||
        (v[1] && ld_get_bool(ld, v[1], raw(k[1]), &t->abort_on_fail) < 0) ||
        (v[2] && ld_get_duration(ld, v[2], raw(k[2]), false, &t->delay_abort_eval_ns) < 0))
        return -1;
    return 0;
}

static int parse_thresholds(struct ld *ld, const yaml_node_t *n)
{
    struct scenario_file *sf = ld->sf;
    if (ld_need_map(ld, n, "thresholds", "a mapping like {http_req_duration: [\"p(95)<500\"]}") < 0)
        return -1;
    int total = 0;
    FOR_PAIRS(p, n) {
        yaml_node_t *v = node_at(ld, p->value);
        total += v->type == YAML_SEQUENCE_NODE ? nitems(v) : 1;
    }
    sf->thresholds = ld_alloc(ld, n, (size_t)total, sizeof(*sf->thresholds));
    if (!sf->thresholds)
        return -1;
    FOR_PAIRS(p, n) {
        yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
        char *metric;
        if (ld_get_str(ld, k, "thresholds", "a metric name", false, false, &metric) < 0 ||
            check_metric(ld, k, metric) < 0)
            return -1;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(raw(node_at(ld, q->key)), raw(k)))
                return ld_fail(ld, k, "duplicate threshold metric '%s' (first at line %d)", metric,
                               pos_of(node_at(ld, q->key)).line);
        if (ld_need_list(ld, v, metric, "a list of expressions like [\"p(95)<500\"]", true) < 0)
            return -1;
        FOR_ITEMS(it, v) {
            struct threshold_spec *t = &sf->thresholds[sf->nthresholds++];
            t->metric = metric;
            if (parse_threshold_item(ld, node_at(ld, *it), t) < 0)
                return -1;
        }
    }
    return 0;
}

static int parse_trend_stats(struct ld *ld, const yaml_node_t *n, const char *key)
{
    struct scenario_file *sf = ld->sf;
    char b1[SHOW_MAX + 8];
    if (ld_need_list(ld, n, key, "a list like [avg, min, med, max, p(90), p(95)]", true) < 0)
        return -1;
    sf->nsummary_trend_stats = nitems(n);
    sf->summary_trend_stats = ld_alloc(ld, n, (size_t)sf->nsummary_trend_stats, sizeof(char *));
    if (!sf->summary_trend_stats)
        return -1;
    int i = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *s = node_at(ld, *it);
        char *stat;
        if (ld_get_str(ld, s, key, "a statistic", false, false, &stat) < 0)
            return -1;
        bool ok = !strcmp(stat, "avg") || !strcmp(stat, "min") || !strcmp(stat, "med") ||
                  !strcmp(stat, "max") || !strcmp(stat, "count");
        size_t len = strlen(stat);
        if (!ok && len > 3 && !strncmp(stat, "p(", 2) && stat[len - 1] == ')') {
            char num[32];
            if (len - 3 < sizeof(num)) {
                memcpy(num, stat + 2, len - 3);
                num[len - 3] = '\0';
                char *end;
                double d = strtod(num, &end);
                ok = *end == '\0' && num[0] >= '0' && num[0] <= '9' && d >= 0 && d <= 100;
            }
        }
        if (!ok)
            return ld_fail(ld, s, "'%s': expected avg, min, med, max, count or p(N) with N in 0..100, got %s", key,
                           ld_got(b1, sizeof(b1), s, stat));
        sf->summary_trend_stats[i++] = stat;
    }
    return 0;
}

/* ---------------------------------------------------------------- top level */

enum { TK_TARGET, TK_DEFAULTS, TK_THRESHOLDS, TK_TREND_STATS, TK_SCENARIOS, TK_TLS, TK_N };
static const struct keydef top_keys[TK_N] = {
    {"target", NULL}, {"defaults", NULL}, {"thresholds", NULL}, {"summary_trend_stats", "summaryTrendStats"},
    {"scenarios", NULL}, {"tls", NULL},
};

/* "1.2", "1.3" (or tls1.2, TLSv1.3) → 12, 13. */
static int get_tls_version(struct ld *ld, const yaml_node_t *n, const char *key, int *out)
{
    char b1[SHOW_MAX + 8];
    const char *s = ld_text_of(ld, n, key, "1.2 or 1.3");
    if (!s)
        return -1;
    const char *v = s;
    if (!strncasecmp(v, "tlsv", 4))
        v += 4;
    else if (!strncasecmp(v, "tls", 3))
        v += 3;
    if (!strcmp(v, "1.2"))
        *out = 12;
    else if (!strcmp(v, "1.3"))
        *out = 13;
    else
        return ld_fail(ld, n, "'%s': expected 1.2 or 1.3 (blaster speaks TLS 1.2 and 1.3 only), got %s", key,
                       ld_got(b1, sizeof(b1), n, s));
    return 0;
}

static int parse_tls(struct ld *ld, const yaml_node_t *n)
{
    enum { K_INSECURE, K_CACERT, K_CERT, K_KEY, K_MIN, K_MAX, K_RESUME, K_SNI, K_N };
    static const struct keydef keys[K_N] = {
        {"insecure", "insecureSkipTLSVerify"}, {"cacert", NULL}, {"cert", NULL}, {"key", NULL},
        {"min_version", NULL}, {"max_version", NULL}, {"resume", NULL}, {"server_name", NULL},
    };
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[K_N], *k[K_N];
    if (ld_need_map(ld, n, "tls", "a mapping like {cacert: ca.pem, min_version: 1.2}") < 0 ||
        ld_map_keys(ld, n, keys, K_N, BIT(K_N) - 1, "in 'tls'", v, k) < 0)
        return -1;
    sf->tls.pos = pos_of(n);
    if ((v[K_INSECURE] && ld_get_bool(ld, v[K_INSECURE], raw(k[K_INSECURE]), &sf->tls.insecure) < 0) ||
        (v[K_RESUME] && ld_get_bool(ld, v[K_RESUME], "resume", &sf->tls.resume) < 0) ||
        (v[K_CACERT] && ld_get_str(ld, v[K_CACERT], "cacert", "a PEM file", false, false, &sf->tls.cacert) < 0) ||
        (v[K_CERT] && ld_get_str(ld, v[K_CERT], "cert", "a PEM file", false, false, &sf->tls.cert) < 0) ||
        (v[K_KEY] && ld_get_str(ld, v[K_KEY], "key", "a PEM file", false, false, &sf->tls.key) < 0) ||
        (v[K_SNI] && ld_get_str(ld, v[K_SNI], "server_name", "a host name", false, false, &sf->tls.server_name) < 0) ||
        (v[K_MIN] && get_tls_version(ld, v[K_MIN], "min_version", &sf->tls.min_version) < 0) ||
        (v[K_MAX] && get_tls_version(ld, v[K_MAX], "max_version", &sf->tls.max_version) < 0))
        return -1;
    if (!v[K_CERT] != !v[K_KEY])
        return ld_fail(ld, v[K_CERT] ? k[K_CERT] : k[K_KEY], "'tls': a client certificate needs both 'cert' and 'key'");
    if (sf->tls.min_version && sf->tls.max_version && sf->tls.min_version > sf->tls.max_version)
        return ld_fail(ld, v[K_MIN], "'tls': min_version 1.%d is above max_version 1.%d", sf->tls.min_version % 10,
                       sf->tls.max_version % 10);
    return 0;
}

static int parse_defaults(struct ld *ld, const yaml_node_t *n)
{
    static const struct keydef keys[] = {
        {"headers", NULL}, {"timeout", NULL}, {"discard_bodies", "discardResponseBodies"}, {"tags", NULL},
    };
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[4], *k[4];
    if (ld_need_map(ld, n, "defaults", "a mapping like {timeout: 60s, headers: {...}}") < 0 ||
        ld_map_keys(ld, n, keys, 4, 15, "in 'defaults'", v, k) < 0)
        return -1;
    if ((v[0] && ld_get_kvs(ld, v[0], "headers", true, &sf->defaults.headers, &sf->defaults.nheaders) < 0) ||
        (v[1] && ld_get_duration(ld, v[1], "timeout", true, &sf->defaults.timeout_ns) < 0) ||
        (v[2] && ld_get_bool(ld, v[2], raw(k[2]), &sf->defaults.discard_bodies) < 0) ||
        (v[3] && ld_get_kvs(ld, v[3], "tags", false, &sf->defaults.tags, &sf->defaults.ntags) < 0))
        return -1;
    return 0;
}

int ld_parse_file(struct ld *ld, const yaml_node_t *root)
{
    struct scenario_file *sf = ld->sf;
    yaml_node_t *v[TK_N], *k[TK_N];
    char b1[SHOW_MAX + 8];
    if (root->type != YAML_MAPPING_NODE)
        return ld_fail(ld, root, "expected a mapping with 'target' and 'scenarios' at the top level, got %s",
                       ld_got(b1, sizeof(b1), root, NULL));
    if (ld_map_keys(ld, root, top_keys, TK_N, BIT(TK_N) - 1, "at the top level", v, k) < 0)
        return -1;
    if (!v[TK_TARGET])
        return ld_fail(ld, root, "missing 'target' (the base URL, like target: http://127.0.0.1:8080)");
    if (!v[TK_SCENARIOS])
        return ld_fail(ld, root, "missing 'scenarios' (expected at least one scenario, like "
                                 "scenarios: {browse: {executor: constant-vus, duration: 1m, flow: [...]}})");
    sf->defaults.timeout_ns = 60 * NS_PER_S;
    sf->defaults.discard_bodies = true;
    sf->tls.resume = true;

    /* Outside a scenario, the slots of every scenario are runtime slots. */
    if (ld_collect_runtime(ld, v[TK_SCENARIOS], 0) < 0)
        return -1;
    if (ld_get_str(ld, v[TK_TARGET], "target", "a base URL like http://127.0.0.1:8080", false, false,
                   &sf->target) < 0 ||
           ld_check_url(ld, v[TK_TARGET], "target", &sf->target) < 0)
        return -1;
    if (v[TK_DEFAULTS] && parse_defaults(ld, v[TK_DEFAULTS]) < 0)
        return -1;
    if (v[TK_TLS] && parse_tls(ld, v[TK_TLS]) < 0)
        return -1;
    if (v[TK_THRESHOLDS] && parse_thresholds(ld, v[TK_THRESHOLDS]) < 0)
        return -1;
    if (v[TK_TREND_STATS] && parse_trend_stats(ld, v[TK_TREND_STATS], raw(k[TK_TREND_STATS])) < 0)
        return -1;

    const yaml_node_t *scs = v[TK_SCENARIOS];
    if (ld_need_map(ld, scs, "scenarios", "a mapping of scenario names to scenarios") < 0)
        return -1;
    if (npairs(scs) == 0)
        return ld_fail(ld, scs, "'scenarios' is empty (expected at least one scenario)");
    sf->scenarios = ld_alloc(ld, scs, (size_t)npairs(scs), sizeof(*sf->scenarios));
    if (!sf->scenarios)
        return -1;
    FOR_PAIRS(p, scs) {
        yaml_node_t *kn = node_at(ld, p->key);
        for (int i = 0; i < sf->nscenarios; i++)
            if (kn->type == YAML_SCALAR_NODE && !strcmp(sf->scenarios[i].name, raw(kn)))
                return ld_fail(ld, kn, "duplicate scenario '%s' (first at line %d)", raw(kn),
                               sf->scenarios[i].pos.line);
        if (ld_parse_scenario(ld, kn, node_at(ld, p->value), &sf->scenarios[sf->nscenarios++]) < 0)
            return -1;
    }
    return 0;
}
