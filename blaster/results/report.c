/* report — see report.h. The pipeline's pieces live in report_*.c (listed
 * in report_int.h); here is what closes it: the exit code. */
#include "blaster/results/report_int.h"

int report_exit_code(const struct run_outcome *o)
{
    if (o->fatal)
        return 2;
    if (o->aborted)
        return 99; /* k6's ThresholdsHaveFailed, for aborting thresholds too */
    if (o->signaled)
        return 105; /* k6's ExternalAbort */
    if (o->thresholds_failed > 0)
        return 99;
    return 0;
}
