/* progress — the live progress line on a terminal (DESIGN.md, "Metrics and
 * outputs": VUs, req/s, requests, failures, connections), rewritten in place
 * on stderr once a second while a run goes, and quiet when stderr is not a
 * terminal. It formats what the runner sums from the workers' live counters;
 * it never reads a worker itself. */
#ifndef BLASTER_PROGRESS_H
#define BLASTER_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blaster/run/engine.h"

struct progress {
    bool     tty;        /* stderr is a terminal: print at all */
    uint64_t last_reqs;  /* requests at the previous line: the next line's req/s */
};

/* Quiet unless stderr is a terminal. */
void progress_init(struct progress *pg);

/* The line for the workers' summed counters `sum` at `elapsed` seconds,
 * `last_reqs` requests one second earlier, into buf (starts with '\r', no
 * newline). Returns what snprintf returns. */
int  progress_format(char *buf, size_t len, const struct engine_live *sum, uint64_t last_reqs,
                     double elapsed);

/* Print the line (on a terminal) and remember sum->reqs for the next one. */
void progress_print(struct progress *pg, const struct engine_live *sum, double elapsed);

/* Blank the line, before the summary is printed. */
void progress_clear(const struct progress *pg);

#endif
