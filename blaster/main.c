/* blaster — an HTTP/1.1 load generator on io_uring.
 *
 *   blaster -c 100 -d 10s http://127.0.0.1:8080/          closed model, as fast as it answers
 *   blaster -c 100 -d 10s -R 20000 http://127.0.0.1:8080/ open model, 20000 req/s
 *   blaster serve --listen 127.0.0.1:8080                 the built-in target
 *
 * main parses the command line and compiles it into a plan (blaster/compile/plan.c:
 * every request rendered once); blaster/run/runner.c runs the plan on one pinned
 * worker per CPU (blaster/run/engine.c does the load) and merges the workers'
 * metrics exactly; main then reports: summary, --summary-export, client
 * verdict, exit code (0 done, 1 usage error, 2 runtime error, 99 a threshold
 * failed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/load/cli.h"
#include "blaster/compile/limits.h"
#include "blaster/compile/plan.h"
#include "blaster/load/quick.h"
#include "blaster/results/report.h"
#include "blaster/run/runner.h"
#include "blaster/load/scenario.h"
#include "blaster/serve/serve.h"
#include "blaster/load/url.h"
#include "tls/tls.h"

/* The TLS flags over the plan's settings (the file's `tls:` in run mode),
 * then one context made and dropped, so that a CA file, certificate or key
 * that cannot be loaded is a usage error before anything starts. */
static int tls_setup(struct plan *p, const struct cli_tls *t, char *err, size_t errlen)
{
    if (t->insecure)
        p->tls.insecure = true;
    if (t->no_resume)
        p->tls.resume = false;
    if (t->cacert)
        p->tls.cafile = t->cacert;
    if (t->cert) {
        p->tls.certfile = t->cert;
        p->tls.keyfile = t->key;
    }
    if (t->min_version)
        p->tls.min_version = t->min_version;
    if (t->max_version)
        p->tls.max_version = t->max_version;
    for (int i = 0; t->server_name && i < p->nsc; i++)
        p->sc[i].server_name = t->server_name;
    if (!p->any_tls) {
        if (t->insecure || t->no_resume || t->cacert || t->cert || t->min_version || t->max_version ||
            t->server_name)
            fprintf(stderr, "blaster: note: the TLS options do nothing here: no target is https://\n");
        return 0;
    }
    char why[256];
    struct tls_ctx *c;
    if (tls_ctx_new(&c, &p->tls, why, sizeof why) != 0) {
        snprintf(err, errlen, "TLS: %s", why);
        return -1;
    }
    tls_ctx_free(c);
    return 0;
}

/* What this machine allows that the plan would exceed, refused before
 * anything starts (limits.h): the connections to one destination against
 * the ephemeral port range. (A worker's ring is sized when it is made:
 * runner.c adds workers, or the ring's setup names -t.) */
static int limits_check(const struct plan *p, char *err, size_t errlen)
{
    unsigned lo, hi;
    if (limits_read_port_range(&lo, &hi) != 0)
        return 0; /* nothing to check against */
    return limits_check_ports(p, lo, hi, err, errlen);
}

/* ---- reporting: the same for both modes --------------------------------- */

/* What the report reads of a run that ran. */
static struct report_input report_input_of(const struct plan *plan, const struct run_result *res)
{
    struct report_input in = {
        .plan = plan, .m = res->m, .elapsed_s = res->elapsed_s, .stopped = res->stopped,
        .nworkers = res->nworkers, .workers = res->workers, .ring_mode = res->ring_mode,
        .fatal = res->fatal[0] ? res->fatal : NULL, .aborted_by = res->aborted_by[0] ? res->aborted_by : NULL,
    };
    runner_verdict(plan, res, &in.verdict);
    return in;
}

/* Evaluate the thresholds (th may be NULL), print the summary, write
 * --summary-export, say on stderr what went wrong (prog: the command's name;
 * subject: what the fatal error is about, or NULL), and return the exit code. */
static int report_finish(const struct report_input *in, struct report_thresholds *th, const char *export_path,
                         const char *prog, const char *subject)
{
    char err[1024];
    struct run_outcome o = { .fatal = in->fatal != NULL, .aborted = in->aborted_by != NULL, .signaled = in->stopped };
    o.thresholds_failed = report_thresholds_eval(th, in);
    report_print(stdout, in, th);
    fflush(stdout);
    if (export_path && report_export(export_path, in, th, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        o.fatal = true;
    }
    if (in->fatal) {
        fprintf(stderr, "%s: %s%s%s\n", prog, subject ? subject : "", subject ? " " : "", in->fatal);
    } else if (!o.fatal) {
        if (o.aborted)
            fprintf(stderr, "%s: aborted by the threshold %s\n", prog, in->aborted_by);
        else if (o.signaled)
            fprintf(stderr, "%s: stopped by a signal (exit code 105)\n", prog);
        if (o.thresholds_failed > 0)
            fprintf(stderr, "%s: %d threshold%s failed\n", prog, o.thresholds_failed,
                    o.thresholds_failed == 1 ? "" : "s");
    }
    return report_exit_code(&o);
}

/* Quick mode is a plan of one request, compiled from the one-scenario model
 * of the command line (blaster/load/quick.c says what each flag means): closed
 * model = constant-vus with one VU per connection; -R = constant-arrival-rate
 * over -c VUs, whose due requests wait in a bounded queue when every VU is
 * busy. */
static int quick_mode(int argc, char **argv)
{
    static struct cli cli; /* large (header storage), and argv-bound */
    char err[512];
    if (cli_parse(argc, argv, &cli, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n%s", err, cli_usage);
        return 1;
    }
    if (cli.help) {
        fputs(cli_usage, stdout);
        return 0;
    }
    if (cli.version) {
        printf("blaster %s (io_uring via liburing; HTTP/1.1; %s)\n", BLASTER_VERSION, tls_version_string());
        return 0;
    }

    static struct quick_model model; /* points into cli; outlives the plan */
    struct plan plan;
    if (quick_model_build(&model, &cli, err, sizeof err) != 0 ||
        plan_compile(&model.sf, &plan, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        return 1;
    }
    if (limits_check(&plan, err, sizeof err) != 0 || tls_setup(&plan, &cli.tls, err, sizeof err) != 0) {
        fprintf(stderr, "blaster: %s\n", err);
        plan_free(&plan);
        return 1;
    }

    struct runner_opts ro = { .threads = cli.threads, .sigfigs = cli.sigfigs, .verbose = cli.verbose };
    struct run_result res;
    int rc;
    if (runner_run(&plan, &ro, &res) != 0) {
        fprintf(stderr, "blaster: %s\n", res.fatal);
        rc = report_exit_code(&(struct run_outcome){ .fatal = true });
    } else {
        struct report_quick q = {
            .url = cli.url, .method = cli.method, .connections = cli.connections,
            .duration_s = (double)cli.duration_ns / 1e9, .rate = cli.rate, .poisson = cli.poisson,
            .latency_detail = cli.latency,
        };
        struct report_input in = report_input_of(&plan, &res);
        in.quick = &q;
        rc = report_finish(&in, NULL, cli.summary_export, "blaster", cli.url);
    }
    runner_result_free(&res);
    plan_free(&plan);
    return rc;
}

struct abort_ctx {
    const struct plan *plan;
    struct report_thresholds *th;
};

/* abortOnFail: evaluated every 2 s (k6's period) on the merged snapshot. */
static bool abort_check(void *ctx, const struct scenario_metrics *m, double elapsed_s, char *by, size_t bylen)
{
    struct abort_ctx *a = ctx;
    struct report_input in = { .plan = a->plan, .m = m, .elapsed_s = elapsed_s };
    return report_thresholds_abort_due(a->th, &in, (int64_t)(elapsed_s * 1e9), by, bylen) >= 0;
}

/* `blaster run FILE`: load → compile → run → aggregate → report → verdict. */
static int run_mode(int argc, char **argv)
{
    struct cli_run cr;
    char err[1024];
    if (cli_run_parse(argc, argv, &cr, err, sizeof err) != 0) {
        fprintf(stderr, "blaster run: %s\n%s", err, cli_run_usage);
        return 1;
    }
    if (cr.help) {
        fputs(cli_run_usage, stdout);
        return 0;
    }
    struct scenario_file sf;
    if (scenario_load(cr.file, cr.env, cr.nenv, &sf, err, sizeof err) != 0) {
        fprintf(stderr, "blaster run: %s\n", err);
        return 1;
    }
    struct plan plan;
    if (plan_compile(&sf, &plan, err, sizeof err) != 0) {
        fprintf(stderr, "blaster run: %s\n", err);
        scenario_free(&sf);
        return 1;
    }
    if (limits_check(&plan, err, sizeof err) != 0 || tls_setup(&plan, &cr.tls, err, sizeof err) != 0) {
        fprintf(stderr, "blaster run: %s\n", err);
        plan_free(&plan);
        scenario_free(&sf);
        return 1;
    }
    struct report_thresholds th;
    if (report_thresholds_compile(&plan, &th, err, sizeof err) != 0) {
        fprintf(stderr, "blaster run: %s\n", err);
        plan_free(&plan);
        scenario_free(&sf);
        return 1;
    }
    struct abort_ctx actx = { .plan = &plan, .th = &th };
    struct runner_opts ro = { .threads = cr.threads, .sigfigs = cr.sigfigs, .verbose = cr.verbose,
                              .check_period_ns = THRESHOLD_EVAL_PERIOD_NS };
    for (int i = 0; i < th.n; i++)
        if (th.v[i].spec->abort_on_fail) {
            ro.check = abort_check;
            ro.check_ctx = &actx;
        }
    struct run_result res;
    int rc;
    if (runner_run(&plan, &ro, &res) != 0) {
        fprintf(stderr, "blaster run: %s\n", res.fatal);
        rc = report_exit_code(&(struct run_outcome){ .fatal = true });
    } else {
        struct report_input in = report_input_of(&plan, &res);
        rc = report_finish(&in, &th, cr.summary_export, "blaster run", NULL);
    }
    runner_result_free(&res);
    report_thresholds_free(&th);
    plan_free(&plan);
    scenario_free(&sf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return run_mode(argc - 1, argv + 1);
    return quick_mode(argc, argv);
}
