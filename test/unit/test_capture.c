/* capture: tables of JSON paths, header lookups and head/body splits. Every input is copied
 * into an exact-size buffer first, so a read past its end shows under `make asan`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/run/capture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An exact-size heap copy of s (no NUL after it). */
static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

/* ---------------------------------------------------------------- JSON */

static const char doc[] =
    "{\n"
    "  \"status\": \"ok\",\n"
    "  \"data\": {\"upload_id\": \"u-123\", \"idx\": 7, \"id\": 42, \"size\": 1.5e+10},\n"
    "  \"items\": [ {\"id\": \"first\", \"tags\": [\"a\", \"b\"]}, {\"id\": \"second\"} ],\n"
    "  \"m\": [[1, 2], [3, [4, 5, 6]]],\n"
    "  \"dot\": \"a.b[0]\", \"br]\": \"x]\", \"empty\": \"\", \"nested\": {\"o\": {}},\n"
    "  \"t\": true, \"f\": false, \"n\": null, \"neg\": -0.25E-3, \"zero\": 0\n"
    "}";

#define ERR_NF  (-1)   /* not found / malformed */
#define ERR_CAP (-2)

static const struct {
    const char *json;   /* NULL: doc */
    const char *path;
    int rc;             /* expected length, or an error */
    const char *want;   /* expected value when rc >= 0 */
} jt[] = {
    /* nested objects, prefixes ("id" vs "idx") */
    {NULL, "status", 2, "ok"},
    {NULL, "data.upload_id", 5, "u-123"},
    {NULL, "data.id", 2, "42"},
    {NULL, "data.idx", 1, "7"},
    {NULL, "data.i", ERR_NF, NULL},
    {NULL, "data.upload", ERR_NF, NULL},
    {NULL, "data.size", 7, "1.5e+10"},
    {NULL, "neg", 8, "-0.25E-3"},
    {NULL, "zero", 1, "0"},
    {NULL, "t", 4, "true"},
    {NULL, "f", 5, "false"},
    {NULL, "n", 4, "null"},
    {NULL, "empty", 0, ""},
    /* arrays */
    {NULL, "items[0].id", 5, "first"},
    {NULL, "items[1].id", 6, "second"},
    {NULL, "items[2].id", ERR_NF, NULL},
    {NULL, "items[0].tags[1]", 1, "b"},
    {NULL, "m[1][1][2]", 1, "6"},
    {NULL, "m[0]", 6, "[1, 2]"},
    {NULL, "m[1][1]", 9, "[4, 5, 6]"},
    {NULL, "items[0]", 35, "{\"id\": \"first\", \"tags\": [\"a\", \"b\"]}"},
    {NULL, "nested.o", 2, "{}"},
    {NULL, "m[00]", 6, "[1, 2]"},
    /* strings holding '.' and ']' */
    {NULL, "dot", 6, "a.b[0]"},
    {NULL, "br]", 2, "x]"},
    /* wrong types on the path */
    {NULL, "data[0]", ERR_NF, NULL},
    {NULL, "items.id", ERR_NF, NULL},
    {NULL, "status.x", ERR_NF, NULL},
    {NULL, "status[0]", ERR_NF, NULL},
    {NULL, "nested.o.x", ERR_NF, NULL},
    {NULL, "missing", ERR_NF, NULL},
    /* bad paths */
    {NULL, "data..id", ERR_NF, NULL},
    {NULL, "data.", ERR_NF, NULL},
    {NULL, ".data", ERR_NF, NULL},
    {NULL, "items[]", ERR_NF, NULL},
    {NULL, "items[x]", ERR_NF, NULL},
    {NULL, "items[0", ERR_NF, NULL},
    {NULL, "items[0]id", ERR_NF, NULL},
    {NULL, "items[1234567890]", ERR_NF, NULL},
    {NULL, "items[-1]", ERR_NF, NULL},
    /* root paths */
    {"[{\"name\": \"r0\"}, {\"name\": \"r1\"}]", "[1].name", 2, "r1"},
    {"[{\"name\": \"r0\"}]", "[0].nam", ERR_NF, NULL},
    {"  42  ", "", 2, "42"},
    {"{\"count\":3}", "count", 1, "3"},
    {"[]", "[0]", ERR_NF, NULL},
    {"{}", "a", ERR_NF, NULL},
    /* whitespace everywhere */
    {" \t\r\n{ \"a\" \n:\t[ 1 ,\r\n { \"b\" : \"c\" } ] } ", "a[1].b", 1, "c"},
    {"{\"a\"  :  \"v\"  }", "a", 1, "v"},
    /* escapes and unicode */
    {"{\"s\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}", "s", 16,
     "q\"b\\s/n\nt\tr\rb\bf\f"},
    {"{\"s\":\"\\u00e9\\u20AC\"}", "s", 5, "\xC3\xA9\xE2\x82\xAC"},
    {"{\"s\":\"\\ud83d\\ude00!\"}", "s", 5, "\xF0\x9F\x98\x80!"},
    {"{\"s\":\"\\u0041\"}", "s", 1, "A"},
    {"{\"s\":\"caf\xC3\xA9\"}", "s", 5, "caf\xC3\xA9"},
    {"{\"s\":\"\\ud83d\"}", "s", ERR_NF, NULL},          /* lone high surrogate */
    {"{\"s\":\"\\ud83dx\"}", "s", ERR_NF, NULL},
    {"{\"s\":\"\\ude00\"}", "s", ERR_NF, NULL},          /* lone low surrogate */
    {"{\"s\":\"\\u00\"}", "s", ERR_NF, NULL},
    {"{\"s\":\"\\u0000\"}", "s", ERR_NF, NULL},
    {"{\"s\":\"\\x\"}", "s", ERR_NF, NULL},
    {"{\"s\":\"a\nb\"}", "s", ERR_NF, NULL},             /* raw control character */
    /* keys compared unescaped */
    {"{\"k\\u0065y\":1}", "key", 1, "1"},
    {"{\"a\\\"b\":2}", "a\"b", 1, "2"},
    {"{\"a\\u002eb\":3, \"a\":{\"b\":4}}", "a.b", 1, "4"},
    /* first member wins */
    {"{\"a\":1,\"a\":2}", "a", 1, "1"},
    /* raw container text keeps strings with brackets */
    {"{\"o\":{\"x\":\"}]\",\"y\":[\"{\"]}}", "o", 20, "{\"x\":\"}]\",\"y\":[\"{\"]}"},
    /* truncated and malformed */
    {"{\"data\":{\"id\":4", "data.id", 1, "4"},   /* value complete: after it not read */
    {"{\"data\":{\"id\":", "data.id", ERR_NF, NULL},
    {"{\"data\":{\"id\"", "data.id", ERR_NF, NULL},
    {"{\"data\":{\"i", "data.id", ERR_NF, NULL},
    {"{\"data\":{\"id\":\"abc", "data.id", ERR_NF, NULL},
    {"{\"data\":{\"id\":\"abc\\", "data.id", ERR_NF, NULL},
    {"{\"x\":[1,2", "y", ERR_NF, NULL},
    {"{\"x\":[1,2,]}, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":{\"a\" 1}, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":tru, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":truex, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":01, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":1., \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":1e, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":-, \"y\":1}", "y", ERR_NF, NULL},
    {"{\"x\":1 \"y\":1}", "y", ERR_NF, NULL},
    {"{\"y\":12abc}", "y", ERR_NF, NULL},
    {"{\"y\":nul}", "y", ERR_NF, NULL},
    {"{\"y\":[1,2}", "y", ERR_NF, NULL},
    {"{\"y\":}", "y", ERR_NF, NULL},
    {"{y:1}", "y", ERR_NF, NULL},
    {"", "a", ERR_NF, NULL},
    {"", "", ERR_NF, NULL},
    {"\"just a string\"", "", 13, "just a string"},
    {"\"just a string\"", "a", ERR_NF, NULL},
};

static void test_json_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(jt); i++) {
        const char *js = jt[i].json ? jt[i].json : doc;
        size_t n = strlen(js);
        char *buf = dup_exact(js, n);
        char out[256];
        memset(out, 'X', sizeof out);
        int rc = capture_json(buf, n, jt[i].path, out, sizeof out);
        if (rc != jt[i].rc)
            fail_msg("#%zu path '%s': rc %d, want %d (out '%s')", i, jt[i].path, rc, jt[i].rc,
                     rc >= 0 ? out : "");
        if (jt[i].rc >= 0 && strlen(jt[i].want) != (size_t)jt[i].rc)
            fail_msg("#%zu: table says %d for '%s'", i, jt[i].rc, jt[i].want);
        if (rc >= 0 && (memcmp(out, jt[i].want, (size_t)rc + 1) != 0))
            fail_msg("#%zu path '%s': got '%s', want '%s'", i, jt[i].path, out, jt[i].want);
        free(buf);
    }
}

/* Nesting: exactly the limit works, one more fails, on the path and in skipped siblings. */
static void test_json_depth(void **state)
{
    (void)state;
    char js[4 * CAPTURE_JSON_MAX_DEPTH + 64], path[4 * CAPTURE_JSON_MAX_DEPTH + 8], out[64];
    for (int extra = 0; extra <= 1; extra++) {
        int d = CAPTURE_JSON_MAX_DEPTH + extra;  /* number of nested arrays */
        size_t n = 0, p = 0;
        for (int k = 0; k < d; k++)
            js[n++] = '[';
        js[n++] = '7';
        for (int k = 0; k < d; k++)
            js[n++] = ']';
        for (int k = 0; k < d; k++) {
            memcpy(path + p, "[0]", 3);
            p += 3;
        }
        path[p] = '\0';
        int rc = capture_json(js, n, path, out, sizeof out);
        if (extra == 0) {
            assert_int_equal(rc, 1);
            assert_string_equal(out, "7");
        } else {
            assert_int_equal(rc, -1);
        }
        /* The same total depth with the nest as a skipped sibling in an object (one level
         * itself): {"a": <nest of d - 1>, "b": 1} */
        char sib[sizeof js + 32];
        int m = snprintf(sib, sizeof sib, "{\"a\":%.*s7%.*s,\"b\":1}", d - 1, js, d - 1,
                         js + d + 1);
        rc = capture_json(sib, (size_t)m, "b", out, sizeof out);
        if (extra == 0) {
            assert_int_equal(rc, 1);
        } else {
            assert_int_equal(rc, -1);
        }
        /* ... and as the captured value (raw text) */
        rc = capture_json(sib, (size_t)m, "a", out, sizeof out);
        assert_int_equal(rc, extra == 0 ? -2 : -1);  /* 127+ bytes: too big for out */
    }
    /* A pathological nest of 100000 brackets fails fast, without deep recursion. */
    size_t big = 100000;
    char *deep = malloc(big);
    assert_non_null(deep);
    memset(deep, '[', big);
    assert_int_equal(capture_json(deep, big, "x", out, sizeof out), -1);
    assert_int_equal(capture_json(deep, big, "", out, sizeof out), -1);
    memset(deep, '{', big);
    assert_int_equal(capture_json(deep, big, "", out, sizeof out), -1);
    free(deep);
}

/* cap: the value plus its NUL must fit; -2 otherwise, and out is "" then. */
static void test_json_cap(void **state)
{
    (void)state;
    const char *js = "{\"s\":\"abcd\",\"n\":12345,\"u\":\"\\u20ac\",\"o\":[1,2]}";
    size_t n = strlen(js);
    char out[16];
    static const struct {
        const char *path;
        size_t cap;
        int rc;
    } ct[] = {
        {"s", 5, 4}, {"s", 4, -2}, {"s", 1, -2}, {"s", 0, -2},
        {"n", 6, 5}, {"n", 5, -2},
        {"u", 4, 3}, {"u", 3, -2},   /* 3 bytes of UTF-8 */
        {"o", 6, 5}, {"o", 5, -2},
        {"x", 0, -1},                /* not found beats too small */
    };
    for (size_t i = 0; i < N(ct); i++) {
        memset(out, 'X', sizeof out);
        char *o = ct[i].cap ? out : NULL;
        int rc = capture_json(js, n, ct[i].path, o, ct[i].cap);
        if (rc != ct[i].rc)
            fail_msg("path %s cap %zu: rc %d want %d", ct[i].path, ct[i].cap, rc, ct[i].rc);
        if (rc == -2 && ct[i].cap)
            assert_int_equal(out[0], '\0');
        if (rc >= 0)
            assert_int_equal(out[rc], '\0');
        assert_int_equal(out[ct[i].cap < sizeof out ? ct[i].cap : 0] == 'X',
                         ct[i].cap < sizeof out);  /* nothing written past cap */
    }
    /* A malformed string that would not fit either: malformed wins. */
    assert_int_equal(capture_json("{\"s\":\"abcdef", 12, "s", out, 3), -1);
}

/* ---------------------------------------------------------------- headers */

static const char head1[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "X-Upload-Id:   abc-123 \t\r\n"
    "X-Empty:\r\n"
    "X-Id: first\r\n"
    "x-id: second\r\n"
    "X-Idx: no\r\n"
    "Location:\t/next?x=1\r\n"
    "X-Ctl: a\x01" "b\r\n"
    "X-Tab: a\tb\r\n"
    " folded: continuation\r\n"
    "\r\n"
    "X-Body: not a header\r\n";

static const char head_1xx[] =
    "HTTP/1.1 100 Continue\r\n"
    "X-Id: interim\r\n"
    "\r\n"
    "HTTP/1.1 103 Early Hints\r\n"
    "Link: </style.css>; rel=preload\r\n"
    "\r\n"
    "HTTP/1.1 201 Created\r\n"
    "X-Id: final\r\n"
    "\r\n";

static const char head_lf[] = "HTTP/1.0 200 OK\nServer: x\nX-Id: bare-lf\n\nbody";
static const char head_noblank[] = "HTTP/1.1 200 OK\r\nX-Id: partial";
static const char head_only1xx[] = "HTTP/1.1 100 Continue\r\nX-Id: i\r\n\r\n";
static const char head_bad[] = "HTTX/1.1 200 OK\r\nX-Id: v\r\n\r\n";
static const char head_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n";

static const struct {
    const char *head, *name;
    int rc;
    const char *want;
} ht[] = {
    {head1, "content-type", 16, "application/json"},
    {head1, "CONTENT-TYPE", 16, "application/json"},
    {head1, "X-Upload-Id", 7, "abc-123"},
    {head1, "x-empty", 0, ""},
    {head1, "X-Id", 5, "first"},
    {head1, "X-I", -1, NULL},
    {head1, "location", 9, "/next?x=1"},
    {head1, "X-Ctl", -1, NULL},
    {head1, "X-Tab", 3, "a\tb"},
    {head1, "folded", -1, NULL},
    {head1, "X-Body", -1, NULL},
    {head1, "Absent", -1, NULL},
    {head1, "", -1, NULL},
    {head_1xx, "X-Id", 5, "final"},
    {head_1xx, "Link", -1, NULL},
    {head_lf, "x-id", 7, "bare-lf"},
    {head_noblank, "X-Id", 7, "partial"},
    {head_only1xx, "X-Id", -1, NULL},
    {head_bad, "X-Id", -1, NULL},
    {head_101, "upgrade", 2, "ws"},
    {"", "X-Id", -1, NULL},
    {"HTTP/1.1 200", "X-Id", -1, NULL},
    {"HTTP/1.1 20", "X-Id", -1, NULL},
};

static void test_header_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(ht); i++) {
        size_t n = strlen(ht[i].head);
        char *buf = dup_exact(ht[i].head, n);
        char out[64];
        int rc = capture_header(buf, n, ht[i].name, out, sizeof out);
        if (rc != ht[i].rc)
            fail_msg("#%zu '%s': rc %d want %d", i, ht[i].name, rc, ht[i].rc);
        if (rc >= 0)
            assert_string_equal(out, ht[i].want);
        free(buf);
    }
}

static void test_header_cap(void **state)
{
    (void)state;
    char out[8];
    size_t n = strlen(head1);
    assert_int_equal(capture_header(head1, n, "X-Upload-Id", out, 8), 7);
    assert_int_equal(capture_header(head1, n, "X-Upload-Id", out, 7), -2);
    assert_string_equal(out, "");
    assert_int_equal(capture_header(head1, n, "X-Empty", out, 1), 0);
    assert_int_equal(capture_header(head1, n, "X-Empty", NULL, 0), -2);
    /* Every prefix of the head: never a crash, and the value only once complete or at the
     * very end (a head without its blank line is searched to its end). */
    for (size_t k = 0; k <= strlen(head_1xx); k++) {
        char *buf = dup_exact(head_1xx, k);
        char o[64];
        int rc = capture_header(buf, k, "X-Id", o, sizeof o);
        assert_true(rc == -1 || (rc >= 0 && strncmp(o, "final", (size_t)rc) == 0));
        free(buf);
    }
}

/* ---------------------------------------------------------------- split */

static const struct {
    const char *resp;
    int rc;
    size_t head_len;
    const char *body;   /* expected decoded body */
} st[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 38, "hello"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 0, 38, "hel"},      /* truncated */
    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", 0, 38, "he"},     /* extra bytes */
    {"HTTP/1.1 200 OK\r\n\r\nuntil close", 0, 19, "until close"},
    {"HTTP/1.1 204 No Content\r\n\r\n", 0, 27, ""},
    {"HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", 0, 35, "abc"},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 63,
     "ok"},
    /* chunked */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", 0, 47, "hello, world"},
    {"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
     "5;name=\"v;x\"\r\nhello\r\nA ; ext\r\n0123456789\r\n0;end\r\nTrailer: x\r\n\r\n", 0, 47,
     "hello0123456789"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n", 0, 53, "abc"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n", 0, 44,
     "3\r\nabc\r\n"},                                                     /* not chunked */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n3\r\nabc", 0, 48,
     "3\r\nabc"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
     "3\r\nabc\r\n0\r\n\r\n", 0, 66, "abc"},                                 /* TE wins */
    {"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n2\nde\n0\n\n", 0, 44, "abcde"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n7\r\n, wo", 0, 47, "hello, wo"},                         /* truncated */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r", 0, 47, "hello"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 47, "hel"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5", 0, 47, ""},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 47, ""},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", 0, 47, "hello"},                  /* malformed */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "2\r\nab\r\nzz\r\n", 0, 47, "ab"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "2\r\nab\r\n3x\r\ncde\r\n0\r\n\r\n", 0, 47, "ab"},                     /* bad size */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "\r\n3\r\ncde\r\n0\r\n\r\n", 0, 47, ""},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "11111111111111111\r\nab", 0, 47, ""},                                  /* 17 digits */
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     "ffffffffffffffff\r\nab", 0, 47, "ab"},
    /* incomplete head */
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", -1, 0, NULL},
    {"HTTP/1.1 100 Continue\r\n\r\n", -1, 0, NULL},
    {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", -1, 0, NULL},
    {"garbage\r\n\r\n", -1, 0, NULL},
    {"", -1, 0, NULL},
};

static void test_split_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(st); i++) {
        size_t n = strlen(st[i].resp), hl = 99, bl = 99;
        char *buf = dup_exact(st[i].resp, n), *body = NULL;
        int rc = capture_split(buf, n, &hl, &body, &bl);
        if (rc != st[i].rc)
            fail_msg("#%zu: rc %d want %d", i, rc, st[i].rc);
        if (rc == 0) {
            if (hl != st[i].head_len)
                fail_msg("#%zu: head_len %zu want %zu", i, hl, st[i].head_len);
            assert_ptr_equal(body, buf + hl);
            if (bl != strlen(st[i].body) || memcmp(body, st[i].body, bl) != 0)
                fail_msg("#%zu: body '%.*s' want '%s'", i, (int)bl, body, st[i].body);
            assert_memory_equal(buf, st[i].resp, hl);   /* the head is untouched */
        } else {
            assert_memory_equal(buf, st[i].resp, n);    /* nothing modified */
        }
        free(buf);
    }
}

/* A chunked response cut at every length decodes to a prefix of the full payload. */
static void test_split_prefixes(void **state)
{
    (void)state;
    const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "1\r\na\r\n3;x=y\r\nbcd\r\n10\r\nefghijklmnopqrst\r\n0\r\nT: v\r\n\r\n";
    const char *full = "abcdefghijklmnopqrst";
    size_t n = strlen(r);
    for (size_t k = 0; k <= n; k++) {
        char *buf = dup_exact(r, k), *body;
        size_t hl, bl;
        int rc = capture_split(buf, k, &hl, &body, &bl);
        if (k < 47) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_true(bl <= strlen(full));
            assert_memory_equal(body, full, bl);
            if (k == n)
                assert_int_equal(bl, strlen(full));
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_table),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_cap),
        cmocka_unit_test(test_header_table),
        cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_split_table),
        cmocka_unit_test(test_split_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
