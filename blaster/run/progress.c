/* progress — see progress.h. */
#include "blaster/run/progress.h"

#include <stdio.h>
#include <unistd.h>

void progress_init(struct progress *pg)
{
    *pg = (struct progress){ .tty = isatty(2) };
}

int progress_format(char *buf, size_t len, const struct engine_live *sum, uint64_t last_reqs,
                    double elapsed)
{
    return snprintf(buf, len, "\r  %5.1fs  %8.0f req/s  %10llu requests  %llu failed  %u VUs  %u connections   ",
                    elapsed, (double)(sum->reqs - last_reqs), (unsigned long long)sum->reqs,
                    (unsigned long long)sum->failed, sum->vus, sum->open_conns);
}

void progress_print(struct progress *pg, const struct engine_live *sum, double elapsed)
{
    if (pg->tty) {
        char line[256];
        progress_format(line, sizeof line, sum, pg->last_reqs, elapsed);
        fputs(line, stderr);
    }
    pg->last_reqs = sum->reqs;
}

void progress_clear(const struct progress *pg)
{
    if (pg->tty)
        fprintf(stderr, "\r%110s\r", "");
}
