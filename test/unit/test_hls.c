/* hls: master playlists and the choice of a variant, media playlists, URI resolution.
 * Inputs are copied into exact-size buffers (no NUL after them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/run/hls.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void assert_span(const char *p, size_t n, const char *want)
{
    if (!want) {
        assert_null(p);
        return;
    }
    if (!p || n != strlen(want) || memcmp(p, want, n) != 0)
        fail_msg("got '%.*s', want '%s'", p ? (int)n : 6, p ? p : "(null)", want);
}

/* ---------------------------------------------------------------- master */

static const char master[] =
    "\xEF\xBB\xBF#EXTM3U\r\n"
    "#EXT-X-VERSION:6\r\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\r\n"
    "\r\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English\",URI=\"audio/en.m3u8\"\r\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,"
    "CODECS=\"mp4a.40.2,avc1.4d401e\",RESOLUTION=640x360,NAME=\"360p\",AUDIO=\"aud\"\r\n"
    "360p/playlist.m3u8\r\n"
    "#EXT-X-STREAM-INF:CODECS=\"mp4a.40.2\",BANDWIDTH=256000,NAME=\"audio, only\"\r\n"
    "# a comment between the tag and its URI\r\n"
    "\r\n"
    "  256k/playlist.m3u8?token=a,b  \r\n"
    "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"iframes.m3u8\"\r\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080,FRAME-RATE=29.970,"
    "CODECS=\"mp4a.40.2,avc1.640028\"\r\n"
    "http://cdn.example/hls/1080p/playlist.m3u8\r\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=64000\r\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS=\"mp4a.40.5\"\n"   /* previous had no URI */
    "128k.m3u8";                                                  /* no final newline */

static void test_master(void **state)
{
    (void)state;
    size_t n = strlen(master);
    char *buf = dup_exact(master, n);
    struct hls_variant_info v[8];
    int c = hls_parse_master(buf, n, v, 8);
    assert_int_equal(c, 4);
    assert_int_equal(v[0].bandwidth, 800000);
    assert_span(v[0].name, v[0].name_len, "360p");
    assert_span(v[0].uri, v[0].uri_len, "360p/playlist.m3u8");
    assert_int_equal(v[1].bandwidth, 256000);
    assert_span(v[1].name, v[1].name_len, "audio, only");
    assert_span(v[1].uri, v[1].uri_len, "256k/playlist.m3u8?token=a,b");
    assert_int_equal(v[2].bandwidth, 5000000);
    assert_span(v[2].name, v[2].name_len, NULL);
    assert_span(v[2].uri, v[2].uri_len, "http://cdn.example/hls/1080p/playlist.m3u8");
    assert_int_equal(v[3].bandwidth, 128000);
    assert_span(v[3].uri, v[3].uri_len, "128k.m3u8");
    for (int i = 0; i < c; i++)
        assert_true(v[i].uri >= buf && v[i].uri + v[i].uri_len <= buf + n);

    /* max bounds what is stored */
    assert_int_equal(hls_parse_master(buf, n, v, 2), 2);
    assert_int_equal(v[1].bandwidth, 256000);
    assert_int_equal(hls_parse_master(buf, n, v, 0), 0);

    /* choose */
    assert_int_equal(hls_choose(v, 0, 0, NULL), -1);
    c = hls_parse_master(buf, n, v, 8);
    assert_int_equal(hls_choose(v, c, 0, NULL), 3);   /* 128000 */
    assert_int_equal(hls_choose(v, c, 1, NULL), 2);   /* 5000000 */
    assert_int_equal(hls_choose(v, c, 2, "360p"), 0);          /* NAME */
    assert_int_equal(hls_choose(v, c, 2, "audio, only"), 1);   /* NAME with a comma */
    assert_int_equal(hls_choose(v, c, 2, "256k"), 1);          /* URI first segment */
    assert_int_equal(hls_choose(v, c, 2, "1080p"), 2);         /* URI inner segment */
    assert_int_equal(hls_choose(v, c, 2, "128k.m3u8"), 3);     /* whole last segment */
    assert_int_equal(hls_choose(v, c, 2, "128k"), -1);         /* not a segment */
    assert_int_equal(hls_choose(v, c, 2, "56k"), -1);          /* not a prefix match */
    assert_int_equal(hls_choose(v, c, 2, "token=a,b"), -1);    /* the query is no segment */
    assert_int_equal(hls_choose(v, c, 2, "hls"), 2);
    assert_int_equal(hls_choose(v, c, 2, ""), -1);
    assert_int_equal(hls_choose(v, c, 2, NULL), -1);
    assert_int_equal(hls_choose(v, c, 3, NULL), -1);
    free(buf);
}

static void test_master_ties_and_names(void **state)
{
    (void)state;
    /* NAME wins over a URI segment match of an earlier variant; ties: the first one. */
    static const char m[] =
        "#EXTM3U\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=100\n"
        "hi/p.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=100,NAME=\"hi\"\n"
        "x/p.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=300\n"
        "y/p.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=300\n"
        "z/p.m3u8\n";
    struct hls_variant_info v[8];
    int c = hls_parse_master(m, strlen(m), v, 8);
    assert_int_equal(c, 4);
    assert_int_equal(hls_choose(v, c, 0, NULL), 0);
    assert_int_equal(hls_choose(v, c, 1, NULL), 2);
    assert_int_equal(hls_choose(v, c, 2, "hi"), 1);
    assert_int_equal(hls_choose(v, c, 2, "z"), 3);
}

static const struct {
    const char *text;
    int rc;
    uint64_t bw0;
} mt[] = {
    {"", -1, 0},
    {"#EXTM3", -1, 0},
    {"\n#EXTM3U\n", -1, 0},
    {"#EXTM3Ux\n", -1, 0},
    {"#EXTINF:1,\na.ts\n", -1, 0},
    {"#EXTM3U", 0, 0},
    {"#EXTM3U \r\n", 0, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", 0, 0},          /* no URI */
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n\n", 0, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:\na\n", 1, 0},                   /* empty list: bw 0 */
    {"#EXTM3U\n#EXT-X-STREAM-INF:NAME=\"x\"\na\n", 1, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=12x\na\n", 0, 0},      /* malformed: skipped */
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=\na\n", 0, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"a,b\na\n", 0, 0},      /* unterminated quote */
    {"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"a\"x,BANDWIDTH=1\na\n", 0, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:=1\na\n", 0, 0},
    {"#EXTM3U\n#EXT-X-STREAM-INF:bandwidth=1\na\n", 0, 0},        /* names are upper case */
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=99999999999999999999999\na\n", 1, UINT64_MAX},
    {"#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1, BANDWIDTH=7 \na\n", 1, 7},
    {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=5,\na\n", 1, 5},
    {"#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=5\r\n\r\n\r\nu\r\n", 1, 5},
};

static void test_master_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(mt); i++) {
        size_t n = strlen(mt[i].text);
        char *buf = dup_exact(mt[i].text, n);
        struct hls_variant_info v[4];
        int c = hls_parse_master(buf, n, v, 4);
        if (c != mt[i].rc)
            fail_msg("#%zu: %d variants, want %d", i, c, mt[i].rc);
        if (c > 0 && v[0].bandwidth != mt[i].bw0)
            fail_msg("#%zu: bandwidth %llu", i, (unsigned long long)v[0].bandwidth);
        free(buf);
    }
}

/* ---------------------------------------------------------------- media */

struct segs {
    int n, stop_after;
    char uri[16][64];
};

static bool collect(void *ctx, const char *uri, size_t len)
{
    struct segs *s = ctx;
    assert_true(len > 0 && len < 64);
    if (s->n < 16)
        snprintf(s->uri[s->n], sizeof s->uri[0], "%.*s", (int)len, uri);
    s->n++;
    return s->stop_after == 0 || s->n < s->stop_after;
}

static const char vod[] =
    "#EXTM3U\n"
    "#EXT-X-VERSION:4\n"
    "#EXT-X-TARGETDURATION:6\n"
    "#EXT-X-PLAYLIST-TYPE:VOD\n"
    "#EXT-X-MEDIA-SEQUENCE:0\n"
    "\n"
    "#EXTINF:6.006,\n"
    "seg0.ts\n"
    "#EXTINF:6.006,title, with comma\n"
    "#EXT-X-BYTERANGE:1000@0\n"
    "# a comment\n"
    "\n"
    "  seg1.ts?x=1  \r\n"
    "orphan.ts\n"
    "#EXT-X-DISCONTINUITY\n"
    "#EXTINF:3.5,\r\n"
    "../shared/seg2.ts\r\n"
    "#EXT-X-ENDLIST\n";

static const char live[] =
    "#EXTM3U\r\n"
    "#EXT-X-TARGETDURATION:2\r\n"
    "#EXT-X-MEDIA-SEQUENCE:1041\r\n"
    "#EXTINF:2.000,\r\n"
    "/live/1041.ts\r\n"
    "#EXT-X-PROGRAM-DATE-TIME:2025-01-01T00:00:00Z\r\n"
    "#EXTINF:2.000,\r\n"
    "/live/1042.ts\r\n"
    "#EXT-X-ENDLIST-NOT\r\n"
    "#EXTINF:2.000,";   /* a segment being written: no URI yet */

static void test_media(void **state)
{
    (void)state;
    struct segs s;
    bool end = false;
    size_t n = strlen(vod);
    char *buf = dup_exact(vod, n);

    memset(&s, 0, sizeof s);
    assert_int_equal(hls_parse_media(buf, n, collect, &s, &end), 3);
    assert_true(end);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.uri[0], "seg0.ts");
    assert_string_equal(s.uri[1], "seg1.ts?x=1");
    assert_string_equal(s.uri[2], "../shared/seg2.ts");

    /* stop early: the count includes the one that stopped; ENDLIST is still found */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    end = false;
    assert_int_equal(hls_parse_media(buf, n, collect, &s, &end), 2);
    assert_int_equal(s.n, 2);
    assert_true(end);
    s.n = 0;
    assert_int_equal(hls_parse_media(buf, n, collect, &s, NULL), 2);

    /* no callback, no endlist pointer: just count */
    assert_int_equal(hls_parse_media(buf, n, NULL, NULL, NULL), 3);

    /* truncated VOD: no ENDLIST any more */
    for (size_t k = 0; k <= n; k++) {
        end = true;
        int c = hls_parse_media(buf, k, NULL, NULL, &end);
        assert_true(c >= -1 && c <= 3);
        assert_int_equal(end, k == n || k == n - 1);  /* with or without the newline */
    }
    free(buf);

    n = strlen(live);
    buf = dup_exact(live, n);
    memset(&s, 0, sizeof s);
    end = true;
    assert_int_equal(hls_parse_media(buf, n, collect, &s, &end), 2);
    assert_false(end);
    assert_string_equal(s.uri[0], "/live/1041.ts");
    assert_string_equal(s.uri[1], "/live/1042.ts");
    free(buf);

    end = true;
    assert_int_equal(hls_parse_media("not a playlist", 14, NULL, NULL, &end), -1);
    assert_false(end);
    assert_int_equal(hls_parse_media("#EXTM3U\n", 8, NULL, NULL, &end), 0);
    assert_int_equal(hls_parse_media("#EXTM3U\n#EXT-X-ENDLIST", 22, NULL, NULL, &end), 0);
    assert_true(end);
    /* ENDLIST may come anywhere: segments after it still count */
    static const char early[] = "#EXTM3U\n#EXT-X-ENDLIST\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n";
    memset(&s, 0, sizeof s);
    end = false;
    assert_int_equal(hls_parse_media(early, strlen(early), collect, &s, &end), 2);
    assert_true(end);
    assert_string_equal(s.uri[1], "b.ts");
    /* a master playlist has no segments */
    assert_int_equal(hls_parse_media(master, strlen(master), NULL, NULL, &end), 0);
}

/* ---------------------------------------------------------------- resolve */

static const char base[] = "/api/v1/tracks/X/hls/master.m3u8";

static const struct {
    const char *base, *uri, *hostport;
    int rc;              /* -1, -2, or >= 0: want */
    const char *want;
} rt[] = {
    {base, "256k/playlist.m3u8", "h", 0, "/api/v1/tracks/X/hls/256k/playlist.m3u8"},
    {base, "seg0.ts", "h", 0, "/api/v1/tracks/X/hls/seg0.ts"},
    {base, "./b.ts", "h", 0, "/api/v1/tracks/X/hls/b.ts"},
    {base, "../a.ts", "h", 0, "/api/v1/tracks/X/a.ts"},
    {base, "../../../../../../../a.ts", "h", 0, "/a.ts"},
    {base, "a/./b/../c.ts", "h", 0, "/api/v1/tracks/X/hls/a/c.ts"},
    {base, "a/..", "h", 0, "/api/v1/tracks/X/hls/"},
    {base, ".", "h", 0, "/api/v1/tracks/X/hls/"},
    {base, "..", "h", 0, "/api/v1/tracks/X/"},
    {base, "sub/", "h", 0, "/api/v1/tracks/X/hls/sub/"},
    {base, "a//b.ts", "h", 0, "/api/v1/tracks/X/hls/a//b.ts"},
    {base, "...ts", "h", 0, "/api/v1/tracks/X/hls/...ts"},
    {base, "seg.ts?sig=a/../b&x=1", "h", 0, "/api/v1/tracks/X/hls/seg.ts?sig=a/../b&x=1"},
    {base, "seg.ts#frag", "h", 0, "/api/v1/tracks/X/hls/seg.ts"},
    {base, "?v=2", "h", 0, "/api/v1/tracks/X/hls/master.m3u8?v=2"},
    {"/hls/master.m3u8?token=abc", "256k/p.m3u8", "h", 0, "/hls/256k/p.m3u8"},
    {"/hls/master.m3u8?token=a/b", "p.m3u8", "h", 0, "/hls/p.m3u8"},
    {"/", "a.ts", "h", 0, "/a.ts"},
    {"/master.m3u8", "a.ts", "h", 0, "/a.ts"},
    {"/x/./y/../master.m3u8", "a.ts", "h", 0, "/x/a.ts"},
    /* absolute paths */
    {base, "/x/y.ts", "h", 0, "/x/y.ts"},
    {base, "/x/../y.ts?q=1", "h", 0, "/y.ts?q=1"},
    {base, "/", "h", 0, "/"},
    /* absolute URLs */
    {base, "http://h/p/seg.ts", "h", 0, "/p/seg.ts"},
    {base, "HTTP://H/p", "h", 0, "/p"},
    {base, "http://h:80/p", "h", 0, "/p"},
    {base, "http://h:8080/p?a=b", "h:8080", 0, "/p?a=b"},
    {base, "http://h:08080/p", "h:8080", 0, "/p"},
    {base, "http://h", "h", 0, "/"},
    {base, "http://h?x", "h", 0, "/?x"},
    {base, "http://h/a/../b", "h", 0, "/b"},
    {base, "https://h/p", "h", 0, "/p"},
    {base, "https://h:443/p", "h", 0, "/p"},
    {base, "//h/p", "h", 0, "/p"},
    {base, "http://[::1]:8080/p", "[::1]:8080", 0, "/p"},
    {base, "http://127.0.0.1:8080/api/x.ts", "127.0.0.1:8080", 0, "/api/x.ts"},
    {base, "http://h:8080/p", "h", -1, NULL},
    {base, "http://h/p", "h:8080", -1, NULL},
    {base, "http://other/p", "h", -1, NULL},
    {base, "http://hh/p", "h", -1, NULL},
    {base, "http://cdn.example/hls/1080p/playlist.m3u8", "127.0.0.1:8080", -1, NULL},
    {base, "http://user@h/p", "h", -1, NULL},
    {base, "http://h:/p", "h", -1, NULL},
    {base, "http://h:99999/p", "h", -1, NULL},
    {base, "http://h:0/p", "h", -1, NULL},
    {base, "http:/p", "h", -1, NULL},
    {base, "http:p", "h", -1, NULL},
    {base, "http://h/p", NULL, -1, NULL},
    {base, "ftp://h/p", "h", -1, NULL},
    {base, "data:text/plain,x", "h", -1, NULL},
    {base, "http:///p", "h", -1, NULL},
    {base, "//[::1/p", "[::1]", -1, NULL},
    /* hostile or bad inputs */
    {base, "a.ts\r\nX-Evil: 1", "h", -1, NULL},
    {base, "a b.ts", "h", -1, NULL},
    {base, "", "h", -1, NULL},
    {"relative/master.m3u8", "a.ts", "h", -1, NULL},
    {"", "a.ts", "h", -1, NULL},
    {"/a b/m.m3u8", "a.ts", "h", -1, NULL},
};

static void test_resolve_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(rt); i++) {
        size_t n = strlen(rt[i].uri);
        char *u = dup_exact(rt[i].uri, n);
        char out[128];
        int rc = hls_resolve(rt[i].base, u, n, rt[i].hostport, out, sizeof out);
        if (rt[i].rc < 0) {
            if (rc != rt[i].rc)
                fail_msg("#%zu '%s': rc %d ('%s'), want %d", i, rt[i].uri, rc,
                         rc >= 0 ? out : "", rt[i].rc);
        } else if (rc < 0 || (size_t)rc != strlen(rt[i].want) || strcmp(out, rt[i].want)) {
            fail_msg("#%zu '%s': rc %d '%s', want '%s'", i, rt[i].uri, rc, rc >= 0 ? out : "",
                     rt[i].want);
        }
        free(u);
    }
}

static void test_resolve_cap(void **state)
{
    (void)state;
    const char *want = "/api/v1/tracks/X/hls/256k/playlist.m3u8";
    size_t wl = strlen(want);
    char out[64];
    for (size_t cap = 0; cap <= wl + 2; cap++) {
        memset(out, 'X', sizeof out);
        int rc = hls_resolve(base, "256k/playlist.m3u8", 18, "h", cap ? out : NULL, cap);
        if (cap > wl) {
            assert_int_equal(rc, (int)wl);
            assert_string_equal(out, want);
        } else {
            assert_int_equal(rc, -2);
        }
        assert_int_equal(out[cap], 'X');  /* nothing past cap */
    }
    /* uri_len bounds the uri: the rest of the buffer is not read */
    assert_int_equal(hls_resolve(base, "a.tsXYZ", 4, "h", out, sizeof out), 25);
    assert_string_equal(out, "/api/v1/tracks/X/hls/a.ts");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master),
        cmocka_unit_test(test_master_ties_and_names),
        cmocka_unit_test(test_master_table),
        cmocka_unit_test(test_media),
        cmocka_unit_test(test_resolve_table),
        cmocka_unit_test(test_resolve_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
