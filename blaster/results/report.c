/* report — see report.h. The pipeline's pieces live in report_*.c (listed
 * in report_int.h); here is what closes it: the exit code. */
#include "blaster/results/report_int.h"

int report_exit_code(const struct run_outcome *o)
{
    if (o->fatal)
        return 2;
    if (o->thresholds_failed > 0 || o->aborted)
        return 99; /* k6's exit code for failed thresholds, aborting ones included */
    return 0;
}
