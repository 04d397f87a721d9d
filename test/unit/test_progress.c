/* The live progress line: what it says for a second of counters, and that
 * its rate is the requests since the previous line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "blaster/run/progress.h"

static void line_says_rate_and_counts(void **state)
{
    (void)state;
    struct engine_live sum = { .reqs = 12500, .failed = 3, .vus = 20, .open_conns = 19 };
    char line[256];
    int n = progress_format(line, sizeof line, &sum, 10000, 2.04);
    assert_int_equal(n, (int)strlen(line));
    assert_string_equal(line, "\r    2.0s      2500 req/s       12500 requests  3 failed  20 VUs  19 connections   ");
}

static void quiet_off_a_terminal_but_counts(void **state)
{
    (void)state;
    struct progress pg = { .tty = false };
    struct engine_live sum = { .reqs = 42 };
    progress_print(&pg, &sum, 1.0);    /* prints nothing */
    assert_int_equal(pg.last_reqs, 42);
    progress_clear(&pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_says_rate_and_counts),
        cmocka_unit_test(quiet_off_a_terminal_but_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
