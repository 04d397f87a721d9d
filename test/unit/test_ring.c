/* ring_init's failure path leaves nothing to free: a caller's teardown
 * (ring_exit) after a failed init used to unmap the buffers a second time,
 * and with them whatever the allocator had put there since (issue 10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <sys/resource.h>

#include "ring/ring.h"

#define NOFILE 64

static void test_failed_init_leaves_nothing_to_free(void **state)
{
    (void)state;
    /* As `ulimit -n 64`: a file table of more slots cannot be registered,
     * after the buffers were made. */
    struct rlimit rl = { .rlim_cur = NOFILE, .rlim_max = NOFILE };
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    struct ring r;
    struct ring_config rc = { .sq_entries = 64, .nbufs = 256, .buf_size = 4096, .nfiles = NOFILE * 2 };
    assert_int_equal(ring_init(&r, &rc), -EMFILE);
    assert_null(r.br);
    assert_null(r.bufs);
    ring_exit(&r); /* a no-op */

    rc.nfiles = NOFILE / 2;
    assert_int_equal(ring_init(&r, &rc), 0);
    assert_non_null(r.br);
    ring_exit(&r);
    assert_null(r.br);
    ring_exit(&r); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_init_leaves_nothing_to_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
