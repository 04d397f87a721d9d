/* Tables of good URLs (every field checked) and bad URLs (with the expected message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "blaster/load/url.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *in;
    bool        https;
    const char *host;
    uint16_t    port;
    const char *path;
    const char *hostport;
} good[] = {
    {"http://127.0.0.1:8080/", false, "127.0.0.1", 8080, "/", "127.0.0.1:8080"},
    {"http://example.com", false, "example.com", 80, "/", "example.com"},
    {"https://example.com", true, "example.com", 443, "/", "example.com"},
    {"http://example.com:80/x", false, "example.com", 80, "/x", "example.com"},
    {"https://example.com:443/x", true, "example.com", 443, "/x", "example.com"},
    {"https://example.com:80/", true, "example.com", 80, "/", "example.com:80"},
    {"http://example.com:443/", false, "example.com", 443, "/", "example.com:443"},
    {"HTTP://Example.COM/A", false, "Example.COM", 80, "/A", "Example.COM"},
    {"HtTpS://h/", true, "h", 443, "/", "h"},
    {"http://h/api/v1/tracks?page=1&limit=20", false, "h", 80,
     "/api/v1/tracks?page=1&limit=20", "h"},
    {"http://h?q=1", false, "h", 80, "/?q=1", "h"},
    {"http://h:81?q=1", false, "h", 81, "/?q=1", "h:81"},
    {"http://h/a#frag", false, "h", 80, "/a", "h"},
    {"http://h#frag", false, "h", 80, "/", "h"},
    {"http://h/a?b#c?d", false, "h", 80, "/a?b", "h"},
    {"http://h/a%20b/%E2%9C%93", false, "h", 80, "/a%20b/%E2%9C%93", "h"},
    {"http://[::1]:8080/x", false, "::1", 8080, "/x", "[::1]:8080"},
    {"http://[::1]/", false, "::1", 80, "/", "[::1]"},
    {"https://[2001:db8::1]", true, "2001:db8::1", 443, "/", "[2001:db8::1]"},
    {"http://[::ffff:127.0.0.1]:9/", false, "::ffff:127.0.0.1", 9, "/",
     "[::ffff:127.0.0.1]:9"},
    {"http://localhost:1/", false, "localhost", 1, "/", "localhost:1"},
    {"http://h:65535/", false, "h", 65535, "/", "h:65535"},
    {"http://h:0080/", false, "h", 80, "/", "h"},
    {"http://my-host_1.example~x/", false, "my-host_1.example~x", 80, "/",
     "my-host_1.example~x"},
    {"http://h//double//slash", false, "h", 80, "//double//slash", "h"},
};

static void test_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(good); i++) {
        struct url u;
        char err[256] = "";
        if (url_parse(good[i].in, &u, err, sizeof err) != 0)
            fail_msg("'%s' rejected: %s", good[i].in, err);
        if (u.https != good[i].https || strcmp(u.host, good[i].host) != 0 ||
            u.port != good[i].port || strcmp(u.path, good[i].path) != 0 ||
            strcmp(u.hostport, good[i].hostport) != 0)
            fail_msg("'%s': got https=%d host='%s' port=%u path='%s' hostport='%s'",
                     good[i].in, u.https, u.host, u.port, u.path, u.hostport);
    }
}

static const struct {
    const char *in;
    const char *err;   /* substring of the message */
} bad[] = {
    {"", "empty URL"},
    {"example.com", "missing scheme"},
    {"127.0.0.1:8080/", "missing scheme"},
    {"ftp://h/", "unsupported scheme 'ftp'"},
    {"ws://h/", "unsupported scheme 'ws'"},
    {"httpx://h/", "unsupported scheme 'httpx'"},
    {"://h/", "unsupported scheme ''"},
    {"http://", "empty host"},
    {"http:///path", "empty host"},
    {"http://:8080/", "empty host"},
    {"http://?q", "empty host"},
    {"http://user@h/", "user info"},
    {"http://user:pw@h:80/", "user info"},
    {"http://h:0/", "port '0' out of range"},
    {"http://h:99999/", "port '99999' out of range"},
    {"http://h:65536/", "port '65536' out of range"},
    {"http://h:123456789012345678901234567890/", "out of range"},
    {"http://h:8o/", "port '8o' is not a number"},
    {"http://h:-1/", "port '-1' is not a number"},
    {"http://h: 80/", "port ' 80' is not a number"},
    {"http://h:/", "empty port"},
    {"http://[::1/", "unterminated IPv6"},
    {"http://[::1]x/", "unexpected 'x' after IPv6"},
    {"http://[::1]:/", "empty port"},
    {"http://[]/", "invalid IPv6 address ''"},
    {"http://[not:v6:zz]/", "invalid IPv6 address 'not:v6:zz'"},
    {"http://[1.2.3.4]/", "invalid IPv6 address"},
    {"http://[fe80::1%25eth0]/", "zone ids"},
    {"http://::1/", "must be in brackets"},
    {"http://h h/", "invalid character ' ' in host"},
    {"http://h,i/", "invalid character ',' in host"},
    {"http://h/a b", "space in path"},
    {"http://h/a?b c", "space in path"},
    {"http://h/a\tb", "control character 0x09"},
    {"http://h/a\x7f", "control character 0x7f"},
};

static void test_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(bad); i++) {
        struct url u;
        char err[256] = "";
        if (url_parse(bad[i].in, &u, err, sizeof err) != -1)
            fail_msg("'%s' accepted (host '%s' port %u path '%s')", bad[i].in, u.host,
                     u.port, u.path);
        if (strstr(err, bad[i].err) == NULL)
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].in, err, bad[i].err);
        /* Every message says which URL it is about. */
        if (strncmp(err, "URL '", 5) != 0)
            fail_msg("'%s': error '%s' does not start with \"URL '\"", bad[i].in, err);
    }
}

static void test_limits(void **state)
{
    static char s[4096];
    struct url u;
    char err[128];
    (void)state;

    /* host: 255 bytes fit, 256 do not */
    snprintf(s, sizeof s, "http://%0255d/", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof err), 0);
    assert_int_equal(strlen(u.host), 255);
    snprintf(s, sizeof s, "http://%0256d/", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "host too long"));
    assert_non_null(strstr(err, "...': "));   /* the long URL is cut, the reason kept */

    /* path: 2047 bytes fit, 2048 do not; "?query" gains a '/' */
    snprintf(s, sizeof s, "http://h/%02046d", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof err), 0);
    assert_int_equal(strlen(u.path), 2047);
    snprintf(s, sizeof s, "http://h/%02047d", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "path too long"));
    snprintf(s, sizeof s, "http://h?%02046d", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof err), -1);
    assert_non_null(strstr(err, "path too long"));
    snprintf(s, sizeof s, "http://h/%02046d#%0100d", 0, 0);   /* the fragment is not counted */
    assert_int_equal(url_parse(s, &u, err, sizeof err), 0);

    /* A small err buffer is truncated, not overrun. */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    assert_int_equal(url_parse("ftp://h/", &u, tiny, 6), -1);
    assert_string_equal(tiny, "URL '");
    assert_int_equal(tiny[6], 'x');
    assert_int_equal(url_parse("ftp://h/", &u, NULL, 0), -1);
}

static void test_resolve(void **state)
{
    struct url u;
    struct sockaddr_storage sa;
    socklen_t len;
    char err[256], ip[64];
    (void)state;

    assert_int_equal(url_parse("http://127.0.0.1:8080/", &u, err, sizeof err), 0);
    assert_int_equal(url_resolve(&u, &sa, &len, err, sizeof err), 0);
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 8080);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
    assert_string_equal(ip, "127.0.0.1");

    assert_int_equal(url_parse("https://[::1]/", &u, err, sizeof err), 0);
    assert_int_equal(url_resolve(&u, &sa, &len, err, sizeof err), 0);
    assert_int_equal(sa.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), 443);
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof ip);
    assert_string_equal(ip, "::1");

    /* localhost goes through getaddrinfo (/etc/hosts, no DNS) and prefers IPv4. Names
     * that need DNS are not tested: the test must not depend on the network. */
    assert_int_equal(url_parse("http://localhost:9/", &u, err, sizeof err), 0);
    if (url_resolve(&u, &sa, &len, err, sizeof err) != 0)
        fail_msg("localhost: %s", err);
    assert_int_equal(sa.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), 9);
    assert_int_equal(ntohl(((struct sockaddr_in *)&sa)->sin_addr.s_addr) >> 24, 127);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
