/* summary — the end-of-test report: k6's text layout on stdout, and the JSON
 * shaped like k6's handleSummary `data` (--summary-export). Both are made
 * from the same merged metrics. */
#ifndef BLASTER_SUMMARY_H
#define BLASTER_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "blaster/metrics.h"
#include "blaster/verdict.h"

struct worker_report {
    double busy;   /* fraction of the run on CPU */
    double wait;   /* fraction of the run waiting for a CPU, < 0 unknown */
};

struct run_report {
    const char *url;
    const char *method;
    int         threads;
    int         connections;
    double      duration_s;      /* as asked */
    double      rate;            /* 0: closed model */
    bool        poisson;
    const char *ring_mode;
    double      elapsed_s;       /* as run */
    bool        stopped;         /* by a signal */
    bool        latency_detail;  /* --latency */
    const struct metrics *m;
    int         nworkers;
    const struct worker_report *workers;
    struct verdict verdict;
    const char *fatal;           /* why the run could not go on, or NULL */
};

void summary_print(FILE *f, const struct run_report *r);
/* Write the k6-shaped JSON to path. 0, or -1 with err naming the file and why. */
int  summary_export(const char *path, const struct run_report *r, char *err, size_t errlen);

#endif
