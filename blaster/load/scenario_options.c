/* scenario_options — one entry of `scenarios:`: its name, its executor
 * (k6's six), the options that executor takes with k6's defaults and
 * k6's cross-checks, stages, target and tags; its flow is
 * scenario_flow.c's. The executors table is the one place that says which
 * option belongs to which executor and which are required. */
#include "blaster/load/scenario_int.h"

#include <stdio.h>
#include <string.h>

enum {
    SC_EXECUTOR, SC_VUS, SC_DURATION, SC_START_VUS, SC_STAGES, SC_RATE, SC_START_RATE, SC_TIME_UNIT,
    SC_PRE_ALLOC, SC_MAX_VUS, SC_ITERATIONS, SC_MAX_DURATION, SC_START_TIME, SC_GRACEFUL_STOP,
    SC_GRACEFUL_RAMP_DOWN, SC_PACE, SC_TARGET, SC_TAGS, SC_FLOW, SC_EXEC, SC_ENV,
    SC_N
};

static const struct keydef scenario_keys[SC_N] = {
    {"executor", NULL}, {"vus", NULL}, {"duration", NULL}, {"start_vus", "startVUs"}, {"stages", NULL},
    {"rate", NULL}, {"start_rate", "startRate"}, {"time_unit", "timeUnit"},
    {"pre_allocated_vus", "preAllocatedVUs"}, {"max_vus", "maxVUs"}, {"iterations", NULL},
    {"max_duration", "maxDuration"}, {"start_time", "startTime"}, {"graceful_stop", "gracefulStop"},
    {"graceful_ramp_down", "gracefulRampDown"}, {"pace", NULL}, {"target", NULL}, {"tags", NULL},
    {"flow", NULL}, {"exec", NULL}, {"env", NULL},
};

#define SC_COMMON (BIT(SC_EXECUTOR) | BIT(SC_START_TIME) | BIT(SC_GRACEFUL_STOP) | BIT(SC_TARGET) | \
                   BIT(SC_TAGS) | BIT(SC_FLOW))

static const struct executor_def {
    const char *name;
    enum executor_kind kind;
    uint32_t keys;        /* besides SC_COMMON */
    uint32_t required;    /* besides flow */
    const char *needs;    /* for "missing" messages */
} executors[] = {
    {"constant-vus", EXEC_CONSTANT_VUS, BIT(SC_VUS) | BIT(SC_DURATION) | BIT(SC_PACE),
     BIT(SC_DURATION), "duration"},
    {"ramping-vus", EXEC_RAMPING_VUS,
     BIT(SC_START_VUS) | BIT(SC_STAGES) | BIT(SC_GRACEFUL_RAMP_DOWN) | BIT(SC_PACE),
     BIT(SC_STAGES), "stages"},
    {"constant-arrival-rate", EXEC_CONSTANT_ARRIVAL_RATE,
     BIT(SC_RATE) | BIT(SC_TIME_UNIT) | BIT(SC_DURATION) | BIT(SC_PRE_ALLOC) | BIT(SC_MAX_VUS),
     BIT(SC_RATE) | BIT(SC_DURATION) | BIT(SC_PRE_ALLOC), "rate, duration and pre_allocated_vus"},
    {"ramping-arrival-rate", EXEC_RAMPING_ARRIVAL_RATE,
     BIT(SC_START_RATE) | BIT(SC_TIME_UNIT) | BIT(SC_STAGES) | BIT(SC_PRE_ALLOC) | BIT(SC_MAX_VUS),
     BIT(SC_STAGES) | BIT(SC_PRE_ALLOC), "stages and pre_allocated_vus"},
    {"per-vu-iterations", EXEC_PER_VU_ITERATIONS,
     BIT(SC_VUS) | BIT(SC_ITERATIONS) | BIT(SC_MAX_DURATION) | BIT(SC_PACE), 0, ""},
    {"shared-iterations", EXEC_SHARED_ITERATIONS,
     BIT(SC_VUS) | BIT(SC_ITERATIONS) | BIT(SC_MAX_DURATION) | BIT(SC_PACE), 0, ""},
};
#define NEXECUTORS ((int)(sizeof(executors) / sizeof(executors[0])))
#define EXECUTORS_LIST "constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate, " \
                       "per-vu-iterations, shared-iterations"

static int parse_stages(struct ld *ld, const yaml_node_t *n, bool vus, struct scenario *sc)
{
    static const struct keydef keys[] = {{"duration", NULL}, {"target", NULL}};
    char b1[SHOW_MAX + 8];
    if (ld_need_list(ld, n, "stages", "a list like [{duration: 30s, target: 100}]", true) < 0)
        return -1;
    sc->nstages = nitems(n);
    sc->stages = ld_alloc(ld, n, (size_t)sc->nstages, sizeof(*sc->stages));
    if (!sc->stages)
        return -1;
    int i = 0;
    int64_t total = 0;
    FOR_ITEMS(it, n) {
        yaml_node_t *s = node_at(ld, *it), *v[2], *k[2];
        struct stage *stg = &sc->stages[i++];
        stg->pos = pos_of(s);
        if (s->type != YAML_MAPPING_NODE)
            return ld_fail(ld, s, "a stage must be a mapping like {duration: 30s, target: 100}, got %s",
                           ld_got(b1, sizeof(b1), s, NULL));
        if (ld_map_keys(ld, s, keys, 2, 3, "in a stage", v, k) < 0)
            return -1;
        if (!v[0] || !v[1])
            return ld_fail(ld, s, "missing '%s' in a stage (a stage is {duration: 30s, target: %s})",
                           v[0] ? "target" : "duration", vus ? "100" : "50");
        if (ld_get_duration(ld, v[0], "duration", false, &stg->duration_ns) < 0)
            return -1;
        if (vus) {
            uint32_t t;
            if (ld_get_u32(ld, v[1], "target", 0, &t) < 0)
                return -1;
            stg->target = t;
        } else if (ld_get_num(ld, v[1], "target", false, &stg->target) < 0) {
            return -1;
        }
        if (stg->duration_ns > INT64_MAX - total)
            return ld_fail(ld, v[0], "the stages last too long in total");
        total += stg->duration_ns;
    }
    if (total <= 0)
        return ld_fail(ld, n, "'stages': the stages last 0s in total (expected at least one stage longer than 0s)");
    return 0;
}

/* The scenario's name (key node kn): letters, digits, '_' or '-'. */
static int parse_name(struct ld *ld, const yaml_node_t *kn, struct scenario *sc)
{
    char b1[SHOW_MAX + 8];
    if (kn->type != YAML_SCALAR_NODE)
        return ld_fail(ld, kn, "a scenario name must be text, got %s", ld_got(b1, sizeof(b1), kn, NULL));
    const char *name = raw(kn);
    size_t nl = strlen(name);
    if (nl == 0 || nl > 128 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != nl)
        return ld_fail(ld, kn, "scenario name %s: expected letters, digits, '_' or '-' (at most 128)",
                       ld_got(b1, sizeof(b1), kn, NULL));
    if (!(sc->name = ld_strdup(ld, kn, name)))
        return -1;
    sc->pos = pos_of(kn);
    return 0;
}

/* The executor named in mapping n, from the executors table. */
static const struct executor_def *find_executor(struct ld *ld, const yaml_node_t *n, const char *name)
{
    char b1[SHOW_MAX + 8];
    const yaml_node_t *ex = ld_map_get(ld, n, "executor");
    if (!ex) {
        ld_fail(ld, n, "missing 'executor' in scenario '%s' (expected one of: " EXECUTORS_LIST ")", name);
        return NULL;
    }
    const char *exs = ld_text_of(ld, ex, "executor", "an executor name");
    if (!exs)
        return NULL;
    const struct executor_def *ed = NULL;
    for (int i = 0; i < NEXECUTORS; i++)
        if (!strcmp(exs, executors[i].name))
            ed = &executors[i];
    if (!ed)
        ld_fail(ld, ex, "unknown executor %s in scenario '%s' (expected one of: " EXECUTORS_LIST ")",
                ld_got(b1, sizeof(b1), ex, exs), name);
    return ed;
}

/* Read the scenario's keys: unknown ones, k6 options blaster does not take,
 * options of another executor, and missing required ones are errors. */
static int read_keys(struct ld *ld, const yaml_node_t *n, const struct executor_def *ed, const char *name,
                     const char *where, yaml_node_t **v, yaml_node_t **k)
{
    char list[512];
    uint32_t allowed = SC_COMMON | ed->keys;
    if (ld_map_keys(ld, n, scenario_keys, SC_N, allowed, where, v, k) < 0)
        return -1;
    if (k[SC_EXEC])
        return ld_fail(ld, k[SC_EXEC], "'exec' is not needed %s: a scenario runs its own 'flow' (its list of steps)",
                       where);
    if (k[SC_ENV])
        return ld_fail(ld, k[SC_ENV], "per-scenario 'env' is not supported %s: write ${NAME:-default} and pass -e "
                                      "NAME=value", where);
    for (int i = 0; i < SC_N; i++) {
        if (!k[i] || (allowed & BIT(i)))
            continue;
        size_t w = 0;
        list[0] = '\0';
        for (int j = 0; j < NEXECUTORS && w + 1 < sizeof(list); j++)
            if (executors[j].keys & BIT(i)) {
                int r = snprintf(list + w, sizeof(list) - w, "%s%s", w ? ", " : "", executors[j].name);
                w += r > 0 ? (size_t)r : 0;
            }
        return ld_fail(ld, k[i], "'%s' does not apply to executor %s %s (it is an option of %s)", raw(k[i]),
                       ed->name, where, list);
    }
    for (int i = 0; i < SC_N; i++)
        if ((ed->required & BIT(i)) && !v[i])
            return ld_fail(ld, n, "missing '%s' in scenario '%s' (%s needs %s)", scenario_keys[i].name, name,
                           ed->name, ed->needs);
    if (!v[SC_FLOW])
        return ld_fail(ld, n, "missing 'flow' in scenario '%s' (the list of steps each iteration runs)", name);
    return 0;
}

/* k6's defaults for the options of executor kind. */
static void apply_defaults(struct scenario *sc, enum executor_kind kind)
{
    sc->graceful_stop_ns = 30 * NS_PER_S;
    switch (kind) {
    case EXEC_CONSTANT_VUS:
        sc->vus = 1;
        break;
    case EXEC_RAMPING_VUS:
        sc->start_vus = 1;
        sc->graceful_ramp_down_ns = 30 * NS_PER_S;
        break;
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE:
        sc->time_unit_ns = NS_PER_S;
        break;
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        sc->vus = 1;
        sc->iterations = 1;
        sc->max_duration_ns = 600 * NS_PER_S;
        break;
    }
}

/* The executor's options as given (k: their keys, as spelt, for messages). */
static int read_options(struct ld *ld, yaml_node_t **v, yaml_node_t **k, struct scenario *sc)
{
    if ((v[SC_VUS] && ld_get_u32(ld, v[SC_VUS], "vus", 1, &sc->vus) < 0) ||
        (v[SC_DURATION] && ld_get_duration(ld, v[SC_DURATION], "duration", true, &sc->duration_ns) < 0) ||
        (v[SC_START_VUS] && ld_get_u32(ld, v[SC_START_VUS], raw(k[SC_START_VUS]), 0, &sc->start_vus) < 0) ||
        (v[SC_STAGES] && parse_stages(ld, v[SC_STAGES], sc->executor == EXEC_RAMPING_VUS, sc) < 0) ||
        (v[SC_RATE] && ld_get_num(ld, v[SC_RATE], "rate", true, &sc->rate) < 0) ||
        (v[SC_START_RATE] && ld_get_num(ld, v[SC_START_RATE], raw(k[SC_START_RATE]), false, &sc->start_rate) < 0) ||
        (v[SC_TIME_UNIT] && ld_get_duration(ld, v[SC_TIME_UNIT], raw(k[SC_TIME_UNIT]), true, &sc->time_unit_ns) < 0) ||
        (v[SC_PRE_ALLOC] && ld_get_u32(ld, v[SC_PRE_ALLOC], raw(k[SC_PRE_ALLOC]), 0, &sc->pre_allocated_vus) < 0) ||
        (v[SC_MAX_VUS] && ld_get_u32(ld, v[SC_MAX_VUS], raw(k[SC_MAX_VUS]), 0, &sc->max_vus) < 0) ||
        (v[SC_ITERATIONS] && ld_get_u64(ld, v[SC_ITERATIONS], "iterations", 1, UINT64_MAX, &sc->iterations) < 0) ||
        (v[SC_MAX_DURATION] &&
         ld_get_duration(ld, v[SC_MAX_DURATION], raw(k[SC_MAX_DURATION]), true, &sc->max_duration_ns) < 0) ||
        (v[SC_START_TIME] &&
         ld_get_duration(ld, v[SC_START_TIME], raw(k[SC_START_TIME]), false, &sc->start_time_ns) < 0) ||
        (v[SC_GRACEFUL_STOP] &&
         ld_get_duration(ld, v[SC_GRACEFUL_STOP], raw(k[SC_GRACEFUL_STOP]), false, &sc->graceful_stop_ns) < 0) ||
        (v[SC_GRACEFUL_RAMP_DOWN] && ld_get_duration(ld, v[SC_GRACEFUL_RAMP_DOWN], raw(k[SC_GRACEFUL_RAMP_DOWN]),
                                                     false, &sc->graceful_ramp_down_ns) < 0) ||
        (v[SC_PACE] && ld_get_duration(ld, v[SC_PACE], "pace", false, &sc->pace_ns) < 0))
        return -1;
    return 0;
}

static bool any_stage_target(const struct scenario *sc)
{
    bool any = false;
    for (int i = 0; i < sc->nstages; i++)
        any |= sc->stages[i].target > 0;
    return any;
}

/* An arrival rate (per time_unit) within SCENARIO_MAX_RATE a second, else
 * an error at n naming what (`'rate'`, `stage 2's target`). */
static int check_rate(struct ld *ld, const yaml_node_t *n, const char *what, double rate, int64_t time_unit_ns)
{
    double per_s = rate * 1e9 / (double)time_unit_ns;
    if (!(per_s > SCENARIO_MAX_RATE))
        return 0;
    return ld_fail(ld, n, "%s: %g iterations/s is more than blaster can schedule (at most %g/s in all: "
                          "one a nanosecond)", what, per_s, SCENARIO_MAX_RATE);
}

static int check_rates(struct ld *ld, yaml_node_t **v, yaml_node_t **k, const struct scenario *sc)
{
    int64_t tu = sc->time_unit_ns > 0 ? sc->time_unit_ns : NS_PER_S;
    if (v[SC_RATE] && check_rate(ld, v[SC_RATE], "'rate'", sc->rate, tu) < 0)
        return -1;
    char what[48];
    if (v[SC_START_RATE]) {
        snprintf(what, sizeof what, "'%s'", raw(k[SC_START_RATE]));
        if (check_rate(ld, v[SC_START_RATE], what, sc->start_rate, tu) < 0)
            return -1;
    }
    for (int i = 0; v[SC_STAGES] && i < sc->nstages; i++) {
        snprintf(what, sizeof what, "stage %d's target", i + 1);
        const yaml_node_t *st = node_at(ld, v[SC_STAGES]->data.sequence.items.start[i]);
        const yaml_node_t *tn = ld_map_get(ld, st, "target");
        if (check_rate(ld, tn ? tn : st, what, sc->stages[i].target, tu) < 0)
            return -1;
    }
    return 0;
}

/* k6's cross-checks between options (and max_vus's default). */
static int check_options(struct ld *ld, yaml_node_t **v, yaml_node_t **k, struct scenario *sc)
{
    const char *name = sc->name;
    enum executor_kind kind = sc->executor;
    if (kind == EXEC_CONSTANT_ARRIVAL_RATE || kind == EXEC_RAMPING_ARRIVAL_RATE) {
        if (!v[SC_MAX_VUS])
            sc->max_vus = sc->pre_allocated_vus;
        if (sc->max_vus < sc->pre_allocated_vus)
            return ld_fail(ld, v[SC_MAX_VUS], "'%s' (%u) can't be less than '%s' (%u) in scenario '%s'",
                           raw(k[SC_MAX_VUS]), sc->max_vus, raw(k[SC_PRE_ALLOC]), sc->pre_allocated_vus, name);
        if (sc->max_vus == 0)
            return ld_fail(ld, v[SC_PRE_ALLOC], "scenario '%s' has no VU to run iterations "
                                                "(expected pre_allocated_vus or max_vus above 0)", name);
        if (check_rates(ld, v, k, sc) < 0)
            return -1;
    }
    if (kind == EXEC_RAMPING_VUS && sc->start_vus == 0 && !any_stage_target(sc))
        return ld_fail(ld, v[SC_STAGES], "scenario '%s' never runs a VU (expected start_vus or a stage's "
                                         "target above 0)", name);
    if (kind == EXEC_RAMPING_ARRIVAL_RATE && sc->start_rate == 0 && !any_stage_target(sc))
        return ld_fail(ld, v[SC_STAGES], "scenario '%s' never starts an iteration (expected start_rate or a "
                                         "stage's target above 0)", name);
    if (kind == EXEC_SHARED_ITERATIONS && sc->iterations < sc->vus)
        return ld_fail(ld, v[SC_ITERATIONS] ? v[SC_ITERATIONS] : v[SC_VUS],
                       "scenario '%s': the number of iterations (%llu) can't be less than the number of VUs (%u)",
                       name, (unsigned long long)sc->iterations, sc->vus);
    return 0;
}

int ld_parse_scenario(struct ld *ld, const yaml_node_t *kn, const yaml_node_t *n, struct scenario *sc)
{
    char b1[SHOW_MAX + 8], where[SHOW_MAX + 32];
    yaml_node_t *v[SC_N], *k[SC_N];

    if (parse_name(ld, kn, sc) < 0)
        return -1;
    const char *name = sc->name;
    snprintf(where, sizeof(where), "in scenario '%s'", name);
    if (n->type != YAML_MAPPING_NODE)
        return ld_fail(ld, n, "scenario '%s': expected a mapping of options (executor, flow, ...), got %s", name,
                       ld_got(b1, sizeof(b1), n, NULL));

    /* The runtime slots of this scenario, before any of its scalars is read. */
    env_clear_slots(&ld->env);
    const yaml_node_t *flow = ld_map_get(ld, n, "flow");
    if (flow && ld_collect_runtime(ld, flow, 0) < 0)
        return -1;

    const struct executor_def *ed = find_executor(ld, n, name);
    if (!ed)
        return -1;
    sc->executor = ed->kind;
    if (read_keys(ld, n, ed, name, where, v, k) < 0)
        return -1;
    apply_defaults(sc, ed->kind);
    if (read_options(ld, v, k, sc) < 0 || check_options(ld, v, k, sc) < 0)
        return -1;

    if (v[SC_TARGET]) {
        if (ld_get_str(ld, v[SC_TARGET], "target", "a base URL like http://127.0.0.1:8080", false, false,
                       &sc->target) < 0 ||
            ld_check_url(ld, v[SC_TARGET], "target", &sc->target) < 0)
            return -1;
    }
    if (v[SC_TAGS] && ld_get_kvs(ld, v[SC_TAGS], "tags", false, &sc->tags, &sc->ntags) < 0)
        return -1;
    return ld_parse_steps(ld, v[SC_FLOW], "flow", 0, &sc->flow, &sc->nflow);
}
