/* The limits a plan is checked against before the run (limits.h): the
 * connections per destination against the ephemeral port range, the
 * connections per worker's ring, and the workers that need; and the run
 * in which no request got a response (metrics.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "blaster/common/metrics.h"
#include "blaster/compile/limits.h"

static void dest4(struct plan_scenario *sc, const char *ip, unsigned port, uint32_t vus)
{
    memset(sc, 0, sizeof *sc);
    struct sockaddr_in *a = (struct sockaddr_in *)&sc->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    sc->addrlen = sizeof *a;
    sc->max_vus = vus;
}

static void dest6(struct plan_scenario *sc, const char *ip, unsigned port, uint32_t vus)
{
    memset(sc, 0, sizeof *sc);
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sc->addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &a->sin6_addr);
    sc->addrlen = sizeof *a;
    sc->max_vus = vus;
}

/* Linux's default range: 32768-60999, 28232 ports. */
#define LO 32768
#define HI 60999

static void test_ports_fit_up_to_the_range(void **state)
{
    (void)state;
    struct plan_scenario sc[1];
    struct plan p = { .sc = sc, .nsc = 1 };
    char err[512] = "";
    dest4(&sc[0], "127.0.0.1", 8080, 28232);
    assert_int_equal(limits_check_ports(&p, LO, HI, err, sizeof err), 0);
    sc[0].max_vus = 28233;
    assert_int_equal(limits_check_ports(&p, LO, HI, err, sizeof err), -1);
    assert_non_null(strstr(err, "28233 connections to 127.0.0.1:8080"));
    assert_non_null(strstr(err, "32768-60999"));
    assert_non_null(strstr(err, "28232 source ports"));
    assert_non_null(strstr(err, "not supported yet"));
}

/* Every scenario's VUs to the same address and port add up; another port,
 * address or family is another destination. */
static void test_ports_count_per_destination(void **state)
{
    (void)state;
    struct plan_scenario sc[5];
    struct plan p = { .sc = sc, .nsc = 5 };
    char err[512] = "";
    dest4(&sc[0], "127.0.0.1", 8080, 20000);
    dest4(&sc[1], "127.0.0.1", 8081, 20000);  /* another port */
    dest4(&sc[2], "127.0.0.2", 8080, 20000);  /* another address */
    dest6(&sc[3], "::1", 8080, 20000);        /* another family */
    dest4(&sc[4], "127.0.0.3", 9000, 1);
    assert_int_equal(limits_check_ports(&p, LO, HI, err, sizeof err), 0);
    dest4(&sc[4], "127.0.0.2", 8080, 8233);   /* with sc[2]: 28233 */
    assert_int_equal(limits_check_ports(&p, LO, HI, err, sizeof err), -1);
    assert_non_null(strstr(err, "28233 connections to 127.0.0.2:8080"));
    assert_non_null(strstr(err, "every scenario's max counted"));
    dest6(&sc[4], "::1", 8080, 8233);         /* with sc[3] */
    assert_int_equal(limits_check_ports(&p, LO, HI, err, sizeof err), -1);
    assert_non_null(strstr(err, "28233 connections to [::1]:8080"));
}

/* A narrow range counts as it is; a range the kernel would refuse checks nothing. */
static void test_ports_other_ranges(void **state)
{
    (void)state;
    struct plan_scenario sc[1];
    struct plan p = { .sc = sc, .nsc = 1 };
    char err[512] = "";
    dest4(&sc[0], "10.0.0.1", 80, 101);
    assert_int_equal(limits_check_ports(&p, 1000, 1099, err, sizeof err), -1);
    assert_non_null(strstr(err, "100 source ports"));
    sc[0].max_vus = 100;
    assert_int_equal(limits_check_ports(&p, 1000, 1099, err, sizeof err), 0);
    assert_int_equal(limits_check_ports(&p, 2000, 1000, err, sizeof err), 0);
}

/* Worker 0 holds the most: every scenario's share rounded up. */
static void test_conns_per_worker(void **state)
{
    (void)state;
    struct plan_scenario sc[2];
    struct plan p = { .sc = sc, .nsc = 2 };
    dest4(&sc[0], "127.0.0.1", 80, 20001);
    dest4(&sc[1], "127.0.0.1", 81, 3);
    assert_int_equal(limits_conns_per_worker(&p, 1), 20004);
    assert_int_equal(limits_conns_per_worker(&p, 2), 10001 + 2);
    assert_int_equal(limits_conns_per_worker(&p, 4), 5001 + 1);
}

static void test_workers_needed(void **state)
{
    (void)state;
    struct plan_scenario sc[3];
    struct plan p = { .sc = sc, .nsc = 1 };
    dest4(&sc[0], "127.0.0.1", 80, 20000);
    assert_int_equal(limits_workers_needed(&p, 20000), 1);
    sc[0].max_vus = 20001;
    assert_int_equal(limits_workers_needed(&p, 20000), 2);
    sc[0].max_vus = 100000;
    assert_int_equal(limits_workers_needed(&p, 20000), 5);
    assert_int_equal(limits_workers_needed(&p, 1024), 98);
    /* Three scenarios of 3 with room for 5: 9/5 rounds to 2 workers, but
     * each scenario's share rounds up too, and worker 0 would hold 2+2+2. */
    p.nsc = 3;
    for (int i = 0; i < 3; i++)
        dest4(&sc[i], "127.0.0.1", 80, 3);
    assert_int_equal(limits_workers_needed(&p, 5), 3);
    assert_int_equal(limits_workers_needed(&p, 4), 3);
    assert_true(limits_conns_per_worker(&p, 3) <= 4);
    assert_true(limits_conns_per_worker(&p, 2) > 4);
    assert_int_equal(limits_workers_needed(&p, 0), 0);
    for (int i = 0; i < 3; i++)
        sc[i].max_vus = 0;
    assert_int_equal(limits_workers_needed(&p, 4), 1);
}

/* A run is unanswered when requests were made and not one got a status. */
static void test_none_answered(void **state)
{
    (void)state;
    struct scenario_metrics m[2];
    assert_int_equal(scenario_metrics_init(&m[0], 1, 2), 0);
    assert_int_equal(scenario_metrics_init(&m[1], 2, 2), 0);
    char why[256] = "";
    assert_false(scenario_metrics_none_answered(m, 2, why, sizeof why)); /* nothing made */
    metrics_error(&m[0].req[0], ERR_RESET, ECONNRESET);
    metrics_error(&m[1].req[1], ERR_RESET, ECONNRESET);
    metrics_error(&m[1].req[0], ERR_TIMEOUT, ETIMEDOUT);
    assert_true(scenario_metrics_none_answered(m, 2, why, sizeof why));
    assert_non_null(strstr(why, "no request succeeded: all 3 failed"));
    assert_non_null(strstr(why, "most with reset (Connection reset by peer)"));
    /* One response, whatever its status, is an answer. */
    m[1].req[1].reqs++;
    m[1].req[1].failed++;
    m[1].req[1].status[500]++;
    assert_false(scenario_metrics_none_answered(m, 2, why, sizeof why));
    scenario_metrics_free(&m[0]);
    scenario_metrics_free(&m[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_fit_up_to_the_range),
        cmocka_unit_test(test_ports_count_per_destination),
        cmocka_unit_test(test_ports_other_ranges),
        cmocka_unit_test(test_conns_per_worker),
        cmocka_unit_test(test_workers_needed),
        cmocka_unit_test(test_none_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
