/* Templates: tables of texts and their renderings, tables of bad texts and
 * their messages, every compiled form checked against a plain snprintf
 * renderer over many values, one_of's distribution, and whole requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blaster/compile/template.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The scope of most tests: loops n (1..10), m (0..3), big (1..100, too many
 * values to be finite); captures upload_id and token. */
static const struct template_loopvar loops[] = {{"n", 1, 10}, {"m", 0, 4}, {"big", 1, 100}};
static const char *const captures[] = {"upload_id", "token"};

static struct template_scope scope_with(unsigned max_variants, size_t max_bytes)
{
    return (struct template_scope){loops, (int)N(loops), captures, (int)N(captures), max_variants, max_bytes};
}

static struct template_values values(uint32_t vu, uint64_t iter, uint32_t n, uint32_t m, uint32_t big,
                                     const char *upload_id, const char *token, uint64_t *rng)
{
    struct template_values v = {.vu = vu, .iter = iter, .rng = rng};
    v.loop[0] = n;
    v.loop[1] = m;
    v.loop[2] = big;
    v.capture[0].ptr = upload_id;
    v.capture[0].len = upload_id ? strlen(upload_id) : 0;
    v.capture[1].ptr = token;
    v.capture[1].len = token ? strlen(token) : 0;
    return v;
}

/* Concatenate iovecs into out (NUL-terminated); the length. */
static size_t flatten(const struct iovec *iov, int n, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        assert_true(len + iov[i].iov_len < cap);
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    out[len] = 0;
    return len;
}

/* Render t every way (iov, flat, len) from the same rng state; check they
 * agree and return the text in out. */
static size_t render_all(const struct template *t, const struct template_values *v, char *out, size_t cap)
{
    uint64_t seed = v->rng ? *v->rng : 0, s1 = seed, s2 = seed, s3 = seed, s4 = seed;
    struct template_values v1 = *v, v2 = *v, v3 = *v, v4 = *v;
    v1.rng = v->rng ? &s1 : NULL;
    v2.rng = v->rng ? &s2 : NULL;
    v3.rng = v->rng ? &s3 : NULL;
    v4.rng = v->rng ? &s4 : NULL;
    struct iovec iov[256];
    char scratch[512];
    assert_true(t->max_iov <= (int)N(iov));
    assert_true(t->scratch_need <= sizeof scratch);
    int n = template_render_iov(t, &v1, iov, (int)N(iov), scratch, sizeof scratch);
    assert_true(n >= 0);
    assert_true(n <= t->max_iov);
    for (int i = 0; i < n; i++)
        assert_true(iov[i].iov_len > 0);
    size_t len = flatten(iov, n, out, cap);
    assert_int_equal(template_render_len(t, &v2), (int64_t)len);
    char *flat = malloc(len + 1);
    assert_int_equal(template_render_flat(t, &v3, flat, len), (int64_t)len);
    assert_memory_equal(flat, out, len);
    if (len)
        assert_int_equal(template_render_flat(t, &v4, flat, len - 1), -1);
    free(flat);
    assert_true(s1 == s2 && s2 == s3);
    if (v->rng)
        *v->rng = s1;
    return len;
}

/* ---- a table of texts and their renderings ---- */

static const struct {
    const char *text;
    const char *want;    /* vu 7, iter 42, n 3, m 2, big 77, upload_id "u-1", token "" */
    int         iovs;    /* iovecs of the rendering, with default limits */
} renders[] = {
    {"", "", 0},
    {"/plain/path?a=1", "/plain/path?a=1", 1},
    {"${vu}", "7", 1},
    {"${iter}", "42", 1},
    {"${vu}${iter}", "742", 1},                   /* two numbers side by side in scratch: one iovec */
    {"lt-${vu}-${iter}.mp3", "lt-7-42.mp3", 5},
    {"/chunk?n=${n}", "/chunk?n=3", 1},           /* finite: pre-rendered, one iovec */
    {"${n}${m}${n}", "323", 1},
    {"a${big}b", "a77b", 3},                      /* 100 values: formatted */
    {"id=${upload_id};t=${token};", "id=u-1;t=;", 3},   /* the empty capture takes no iovec, and
                                                            ";t=" and ";" touch in the pool */
    {"$${vu}", "${vu}", 1},
    {"$${vu} is ${vu}", "${vu} is 7", 2},
    {"cost: $5, $ and $$ stay", "cost: $5, $ and $$ stay", 1},
    {"$", "$", 1},
    {"a$", "a$", 1},
    {"$${", "${", 1},
    {"x${one_of:only}y", "xonlyy", 1},
    {"${vu}}", "7}", 2},
    {"{\"n\":${n},\"vu\":${vu}}", "{\"n\":3,\"vu\":7}", 3},
};

static void test_render_table(void **state)
{
    (void)state;
    struct template_scope sc = scope_with(0, 0);
    for (size_t i = 0; i < N(renders); i++) {
        struct template t;
        char err[256] = "";
        if (template_compile(renders[i].text, &sc, &t, err, sizeof err) != 0)
            fail_msg("%s: %s", renders[i].text, err);
        struct template_values v = values(7, 42, 3, 2, 77, "u-1", "", NULL);
        char out[256];
        render_all(&t, &v, out, sizeof out);
        if (strcmp(out, renders[i].want) != 0)
            fail_msg("'%s' rendered '%s', want '%s'", renders[i].text, out, renders[i].want);
        struct iovec iov[64];
        char scratch[256];
        int n = template_render_iov(&t, &v, iov, (int)N(iov), scratch, sizeof scratch);
        if (n != renders[i].iovs)
            fail_msg("'%s': %d iovecs, want %d", renders[i].text, n, renders[i].iovs);
        template_free(&t);
    }
}

/* ---- a table of bad texts ---- */

static const struct {
    const char *text;
    const char *want;    /* the whole message */
} bad[] = {
    {"/a/${x}", "unknown variable 'x' at column 4 (known here: vu, iter, n, m, big, upload_id, token)"},
    {"${VU}", "unknown variable 'VU' at column 1 (known here: vu, iter, n, m, big, upload_id, token)"},
    {"${HOME:-/root}", "unknown variable 'HOME' at column 1 (known here: vu, iter, n, m, big, upload_id, token)"},
    {"/a/${vu", "unterminated '${' at column 4 (expected '}')"},
    {"ok ${vu} then ${", "unterminated '${' at column 15 (expected '}')"},
    {"${}", "empty '${}' at column 1 (expected a variable name)"},
    {"${a b}", "invalid variable name 'a b' at column 1 (expected letters, digits and '_')"},
    {"${1n}", "invalid variable name '1n' at column 1 (expected letters, digits and '_')"},
    {"${one_of}", "one_of at column 1 has no items (expected ${one_of:a,b,c})"},
    {"${one_of:}", "one_of at column 1 has no items (expected ${one_of:a,b,c})"},
    {"q=${one_of:rock,,jazz}", "one_of at column 3: item 2 is empty (expected ${one_of:a,b,c})"},
    {"${one_of:,rock}", "one_of at column 1: item 1 is empty (expected ${one_of:a,b,c})"},
    {"${one_of:rock,}", "one_of at column 1: item 2 is empty (expected ${one_of:a,b,c})"},
    {"${one_of:a,${vu}}", "one_of at column 1: item 2 holds '${' (items are plain text)"},
    {"${pick:a,b}", "unknown function 'pick' at column 1 (expected ${one_of:a,b,c})"},
};

static void test_errors(void **state)
{
    (void)state;
    struct template_scope sc = scope_with(0, 0);
    for (size_t i = 0; i < N(bad); i++) {
        struct template t;
        char err[256] = "";
        if (template_compile(bad[i].text, &sc, &t, err, sizeof err) == 0)
            fail_msg("'%s' compiled", bad[i].text);
        if (strcmp(err, bad[i].want) != 0)
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, err, bad[i].want);
        assert_null(t.pieces_);
    }
    /* NULL scope: only vu and iter are known */
    struct template t;
    char err[256];
    assert_int_equal(template_compile("${n}", NULL, &t, err, sizeof err), -1);
    assert_string_equal(err, "unknown variable 'n' at column 1 (known here: vu, iter)");
    /* too many one_of */
    char text[32 * 16 + 32] = "";
    for (int i = 0; i <= TEMPLATE_MAX_ONE_OF; i++)
        strcat(text, "${one_of:a,b}");
    assert_int_equal(template_compile(text, NULL, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many one_of at column 417"));
    /* loops nested deeper than values.loop can hold */
    struct template_loopvar deep[TEMPLATE_MAX_LOOPS + 1];
    for (int i = 0; i <= TEMPLATE_MAX_LOOPS; i++)
        deep[i] = (struct template_loopvar){i == TEMPLATE_MAX_LOOPS ? "inner" : "outer", 1, 2};
    struct template_scope dsc = {.loops = deep, .nloops = TEMPLATE_MAX_LOOPS + 1};
    assert_int_equal(template_compile("${inner}", &dsc, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested too deep"));
    assert_int_equal(template_compile("${outer}", &dsc, &t, err, sizeof err), 0);  /* the innermost 'outer' is k=7 */
    template_free(&t);
    /* a tiny err buffer is still terminated */
    char tiny[8];
    assert_int_equal(template_compile("${x}", NULL, &t, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "unknown");
}

/* ---- against a reference renderer ---- */

struct refvals {
    uint32_t vu;
    uint64_t iter;
    uint32_t n, m, big;
    const char *upload_id, *token;
};

/* The plain way: scan for ${...}, snprintf numbers, draw one_of in order. */
static size_t ref_render(const char *text, const struct refvals *r, uint64_t *rng, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = text; *p;) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            o += (size_t)snprintf(out + o, cap - o, "${");
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            o += (size_t)snprintf(out + o, cap - o, "%c", *p++);
            continue;
        }
        const char *e = strchr(p, '}');
        char name[8192];
        snprintf(name, sizeof name, "%.*s", (int)(e - p - 2), p + 2);
        p = e + 1;
        if (!strncmp(name, "one_of:", 7)) {
            uint32_t count = 1;
            for (char *c = name + 7; *c; c++)
                count += *c == ',';
            uint32_t pick = template_draw(rng, count);
            char *item = name + 7;
            for (uint32_t i = 0; i < pick; i++)
                item = strchr(item, ',') + 1;
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)strcspn(item, ","), item);
        } else if (!strcmp(name, "vu")) {
            o += (size_t)snprintf(out + o, cap - o, "%u", r->vu);
        } else if (!strcmp(name, "iter")) {
            o += (size_t)snprintf(out + o, cap - o, "%llu", (unsigned long long)r->iter);
        } else if (!strcmp(name, "n")) {
            o += (size_t)snprintf(out + o, cap - o, "%u", r->n);
        } else if (!strcmp(name, "m")) {
            o += (size_t)snprintf(out + o, cap - o, "%u", r->m);
        } else if (!strcmp(name, "big")) {
            o += (size_t)snprintf(out + o, cap - o, "%u", r->big);
        } else if (!strcmp(name, "upload_id")) {
            o += (size_t)snprintf(out + o, cap - o, "%s", r->upload_id ? r->upload_id : "");
        } else if (!strcmp(name, "token")) {
            o += (size_t)snprintf(out + o, cap - o, "%s", r->token ? r->token : "");
        } else {
            fail_msg("reference renderer: unknown '%s'", name);
        }
    }
    return o;
}

static char *one_of_list(const char *prefix, int items)
{
    size_t cap = 32 + (size_t)items * 16;
    char *s = malloc(cap);
    size_t n = (size_t)snprintf(s, cap, "${one_of:");
    for (int i = 0; i < items; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s%s%d", i ? "," : "", prefix, i * 7 % 1000);
    snprintf(s + n, cap - n, "}");
    return s;
}

static void test_reference(void **state)
{
    (void)state;
    char *long_lit = malloc(6001);
    for (int i = 0; i < 6000; i++)
        long_lit[i] = (char)('a' + i % 26);
    long_lit[6000] = 0;
    char *with_long = malloc(6100);
    snprintf(with_long, 6100, "n=${n}&%s&m=${m}&vu=${vu}", long_lit);
    char *l20a = one_of_list("a", 20), *l20b = one_of_list("bb", 20), *l300 = one_of_list("c", 300);
    char twenty[1024], three_hundred[4096];
    snprintf(twenty, sizeof twenty, "x=%s&y=%s&n=${n}", l20a, l20b);
    snprintf(three_hundred, sizeof three_hundred, "pre-%s-${n}-post", l300);
    const char *texts[] = {
        "/api/v1/tracks/upload/chunk?n=${n}",
        "${n}-${m}-${n}",
        "/search?q=${one_of:rock,jazz,lo-fi}&page=${n}&vu=${vu}",
        "${one_of:a,b}${one_of:c,d,e}${n}${m}${big}",
        "lt-${vu}-${iter}.mp3",
        "{\"id\":\"${upload_id}\",\"n\":${n},\"g\":\"${one_of:x,yy,zzz}\",\"t\":\"${token}\"}",
        "${upload_id}${token}",
        "$${vu} ${vu} $ $$ ${m}$${ ${big}",
        "POST /x?n=${n} HTTP/1.1\r\nX-Upload-Id: ${upload_id}\r\nX-Chunk-Number: ${n}\r\nX-M: ${m}\r\n\r\n",
        twenty,
        three_hundred,
        with_long,
    };
    /* default limits, nothing pre-rendered, and a byte budget that splits runs */
    const struct template_scope scopes[] = {scope_with(0, 0), scope_with(1, 0), scope_with(0, 64),
                                            scope_with(8, 0)};
    static const uint32_t vus[] = {1, 9, 10, 4294967295u};
    static const uint64_t iters[] = {0, 99, UINT64_MAX};
    static const uint32_t bigs[] = {1, 55, 100};
    static const char *const ids[][2] = {{"abc", ""}, {NULL, "t0k3n-with-a-longer-value"}};
    size_t cap = 16384;
    char *got = malloc(cap), *want = malloc(cap);
    int checked = 0;
    for (size_t s = 0; s < N(scopes); s++) {
        for (size_t ti = 0; ti < N(texts); ti++) {
            struct template t;
            char err[256];
            if (template_compile(texts[ti], &scopes[s], &t, err, sizeof err) != 0)
                fail_msg("%s: %s", texts[ti], err);
            uint64_t rng = 12345 + ti, ref_rng = rng;
            for (size_t a = 0; a < N(vus); a++)
                for (size_t b = 0; b < N(iters); b++)
                    for (uint32_t n = 1; n <= 10; n++)
                        for (uint32_t m = 0; m < 4; m++)
                            for (size_t c = 0; c < N(bigs); c++)
                                for (size_t d = 0; d < N(ids); d++) {
                                    struct refvals r = {vus[a], iters[b], n, m, bigs[c], ids[d][0], ids[d][1]};
                                    struct template_values v = values(r.vu, r.iter, n, m, r.big, r.upload_id,
                                                                      r.token, &rng);
                                    size_t gl = render_all(&t, &v, got, cap);
                                    size_t wl = ref_render(texts[ti], &r, &ref_rng, want, cap);
                                    if (gl != wl || memcmp(got, want, gl) != 0)
                                        fail_msg("scope %zu, '%.60s': got '%.200s', want '%.200s'", s,
                                                 texts[ti], got, want);
                                    assert_true(rng == ref_rng);
                                    checked++;
                                }
            template_free(&t);
        }
    }
    assert_int_equal(checked, (int)(N(scopes) * N(texts) * 4 * 3 * 10 * 4 * 3 * 2));
    free(got);
    free(want);
    free(long_lit);
    free(with_long);
    free(l20a);
    free(l20b);
    free(l300);
}

/* ---- iovecs: merging, limits, out-of-range values ---- */

static void test_iov_limits(void **state)
{
    (void)state;
    struct template_scope sc = scope_with(0, 0);
    struct template t;
    char err[256];
    struct iovec iov[16];
    char scratch[128];
    struct template_values v = values(5, 6, 3, 1, 50, "id", "tok", NULL);

    /* pre-rendered: literal + one_of + literal is one iovec; spliced: three */
    assert_int_equal(template_compile("a${one_of:b,c}d", &sc, &t, err, sizeof err), 0);
    assert_int_equal(t.max_iov, 1);
    assert_int_equal(template_render_iov(&t, &v, iov, 16, NULL, 0), 1);
    assert_true(t.random);
    assert_false(t.constant);
    template_free(&t);
    struct template_scope sc1 = scope_with(1, 0);
    assert_int_equal(template_compile("a${one_of:b,c,e}d", &sc1, &t, err, sizeof err), 0);
    assert_int_equal(t.max_iov, 3);
    /* the pool holds "a", "b", "c", "e", "d" in that order: "a" touches the
     * first item, the last item touches "d", the middle one touches neither */
    assert_int_equal(template_render_iov(&t, &v, iov, 16, NULL, 0), 2);   /* NULL rng: the first item */
    assert_int_equal(iov[0].iov_len, 2);
    assert_memory_equal(iov[0].iov_base, "ab", 2);
    uint64_t rng = 0;
    struct template_values wr = v;
    wr.rng = &rng;
    int seen[4] = {0};
    for (int i = 0; i < 64; i++)
        seen[template_render_iov(&t, &wr, iov, 16, NULL, 0)]++;
    assert_true(seen[2] > 0 && seen[3] > 0 && seen[2] + seen[3] == 64);
    template_free(&t);

    /* numbers need scratch; iovecs must fit t->max_iov */
    assert_int_equal(template_compile("x${vu}y${iter}z", &sc, &t, err, sizeof err), 0);
    assert_int_equal(t.max_iov, 5);
    assert_int_equal(t.scratch_need, 2 * TEMPLATE_NUM_MAX);
    assert_int_equal(template_render_iov(&t, &v, iov, 4, scratch, sizeof scratch), -1);
    assert_int_equal(template_render_iov(&t, &v, iov, 5, scratch, 2 * TEMPLATE_NUM_MAX - 1), -1);
    assert_int_equal(template_render_iov(&t, &v, iov, 5, scratch, 2 * TEMPLATE_NUM_MAX), 5);
    assert_ptr_equal(iov[1].iov_base, scratch);          /* numbers live in scratch */
    template_free(&t);

    /* capture values are pointed at, not copied */
    assert_int_equal(template_compile("${upload_id}", &sc, &t, err, sizeof err), 0);
    assert_int_equal(template_render_iov(&t, &v, iov, 16, NULL, 0), 1);
    assert_ptr_equal(iov[0].iov_base, v.capture[0].ptr);
    template_free(&t);

    /* loop values outside their range fail, finite or not */
    const char *texts[] = {"${n}", "${big}", "a${m}b${vu}"};
    for (size_t i = 0; i < N(texts); i++) {
        assert_int_equal(template_compile(texts[i], &sc, &t, err, sizeof err), 0);
        struct template_values w = v;
        w.loop[0] = 11, w.loop[1] = 4, w.loop[2] = 0;
        assert_int_equal(template_render_iov(&t, &w, iov, 16, scratch, sizeof scratch), -1);
        assert_int_equal(template_render_len(&t, &w), -1);
        assert_int_equal(template_render_flat(&t, &w, scratch, sizeof scratch), -1);
        template_free(&t);
    }

    /* constant templates, and freeing twice */
    assert_int_equal(template_compile("GET / HTTP/1.1\r\n\r\n", &sc, &t, err, sizeof err), 0);
    assert_true(t.constant);
    assert_false(t.random);
    assert_int_equal(t.scratch_need, 0);
    template_free(&t);
    template_free(&t);
}

/* ---- pre-rendering chosen when small, splicing when large ---- */

static const struct {
    const char *text;
    unsigned    max_variants;
    size_t      max_bytes;
    int         variant_chunks, spliced, max_iov;
} choices[] = {
    /* ${n} twice around a capture: two runs, 10 variants each */
    {"POST /c?n=${n} HTTP/1.1\r\nX-Upload-Id: ${upload_id}\r\nX-Chunk-Number: ${n}\r\n\r\n", 0, 0, 2, 0, 3},
    {"POST /c?n=${n} HTTP/1.1\r\nX-Upload-Id: ${upload_id}\r\nX-Chunk-Number: ${n}\r\n\r\n", 1, 0, 0, 2, 7},
    {"${n}/${m}/${n}", 0, 0, 1, 0, 1},             /* 10 x 4 = 40 variants, one chunk */
    {"${n}/${m}/${n}", 10, 0, 3, 0, 3},            /* 40 > 10: a chunk per variable */
    {"${one_of:a,b,c}${one_of:a,b,c}", 0, 0, 1, 0, 1},  /* independent draws: 9 variants */
    {"${big}", 0, 0, 0, 0, 1},                     /* not finite at all: a number */
};

static void test_prerender_choice(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(choices); i++) {
        struct template_scope sc = scope_with(choices[i].max_variants, choices[i].max_bytes);
        struct template t;
        char err[256];
        assert_int_equal(template_compile(choices[i].text, &sc, &t, err, sizeof err), 0);
        if (t.nvariant_chunks != choices[i].variant_chunks || t.nspliced != choices[i].spliced ||
            t.max_iov != choices[i].max_iov)
            fail_msg("case %zu '%s': %d variant chunks, %d spliced, max_iov %d", i, choices[i].text,
                     t.nvariant_chunks, t.nspliced, t.max_iov);
        template_free(&t);
    }
    /* a byte budget: "x${n}y" is 10 variants of at most 4 bytes; 8 bytes
     * cannot hold them, so n is spliced and the literals stand alone */
    struct template_scope sc = scope_with(0, 8);
    struct template t;
    char err[256];
    assert_int_equal(template_compile("x${n}y", &sc, &t, err, sizeof err), 0);
    assert_int_equal(t.nvariant_chunks, 0);
    assert_int_equal(t.nspliced, 1);
    assert_int_equal(t.max_iov, 3);
    template_free(&t);

    /* one_of lists: 8 x 8 = 64 variants in one chunk; 20 x 20 = 400 in two;
     * 300 items are spliced */
    char *a8 = one_of_list("a", 8), *b8 = one_of_list("b", 8), *a20 = one_of_list("a", 20),
         *b20 = one_of_list("b", 20), *c300 = one_of_list("c", 300);
    char text[8192];
    struct template_scope dsc = scope_with(0, 0);
    snprintf(text, sizeof text, "%s-%s", a8, b8);
    assert_int_equal(template_compile(text, &dsc, &t, err, sizeof err), 0);
    assert_int_equal(t.nvariant_chunks, 1);
    assert_int_equal(t.max_iov, 1);
    template_free(&t);
    snprintf(text, sizeof text, "%s-%s", a20, b20);
    assert_int_equal(template_compile(text, &dsc, &t, err, sizeof err), 0);
    assert_int_equal(t.nvariant_chunks, 2);
    assert_int_equal(t.nspliced, 0);
    template_free(&t);
    snprintf(text, sizeof text, "<%s>", c300);
    assert_int_equal(template_compile(text, &dsc, &t, err, sizeof err), 0);
    assert_int_equal(t.nvariant_chunks, 0);
    assert_int_equal(t.nspliced, 1);
    assert_int_equal(t.max_iov, 3);
    template_free(&t);
    free(a8), free(b8), free(a20), free(b20), free(c300);

    /* both forms of the same text render the same bytes (test_reference
     * covers every value; this is the headline example) */
    const char *head = "POST /c?n=${n} HTTP/1.1\r\nX-Upload-Id: ${upload_id}\r\nX-Chunk-Number: ${n}\r\n\r\n";
    struct template pre, spl;
    struct template_scope s0 = scope_with(0, 0), s1 = scope_with(1, 0);
    assert_int_equal(template_compile(head, &s0, &pre, err, sizeof err), 0);
    assert_int_equal(template_compile(head, &s1, &spl, err, sizeof err), 0);
    for (uint32_t n = 1; n <= 10; n++) {
        struct template_values v = values(1, 0, n, 0, 1, "abc", NULL, NULL);
        char a[512], b[512];
        size_t la = render_all(&pre, &v, a, sizeof a), lb = render_all(&spl, &v, b, sizeof b);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
    }
    assert_true(pre.prerender_bytes > spl.prerender_bytes);
    template_free(&pre);
    template_free(&spl);
}

/* ---- one_of is uniform ---- */

static double chi_square(const int *counts, int k, int total)
{
    double e = (double)total / k, x = 0;
    for (int i = 0; i < k; i++)
        x += (counts[i] - e) * (counts[i] - e) / e;
    return x;
}

static void test_one_of_distribution(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned    max_variants;
        int         cells;
        const char *names[12];
        double      bound;   /* far above the 0.999 quantile of chi-square with cells-1 df */
    } cases[] = {
        {"${one_of:rock,jazz,lo-fi}", 0, 3, {"rock", "jazz", "lo-fi"}, 25},
        {"${one_of:rock,jazz,lo-fi}", 1, 3, {"rock", "jazz", "lo-fi"}, 25},
        {"${one_of:a,b,c,d,e,f,g}", 0, 7, {"a", "b", "c", "d", "e", "f", "g"}, 40},
        /* two draws per request, independent: 3 x 2 joint cells */
        {"${one_of:x,y,z}${one_of:1,2}", 0, 6, {"x1", "y1", "z1", "x2", "y2", "z2"}, 40},
        {"${one_of:x,y,z}${one_of:1,2}", 1, 6, {"x1", "y1", "z1", "x2", "y2", "z2"}, 40},
    };
    for (size_t c = 0; c < N(cases); c++) {
        struct template_scope sc = scope_with(cases[c].max_variants, 0);
        struct template t;
        char err[256];
        assert_int_equal(template_compile(cases[c].text, &sc, &t, err, sizeof err), 0);
        int counts[12] = {0};
        uint64_t rng = 0;   /* a zero seed works too */
        const int draws = 30000;
        for (int i = 0; i < draws; i++) {
            struct template_values v = values(1, 0, 1, 0, 1, NULL, NULL, &rng);
            char out[16];
            int64_t len = template_render_flat(&t, &v, out, sizeof out - 1);
            assert_true(len > 0);
            out[len] = 0;
            int j = 0;
            while (j < cases[c].cells && strcmp(out, cases[c].names[j]) != 0)
                j++;
            if (j == cases[c].cells)
                fail_msg("'%s' rendered '%s'", cases[c].text, out);
            counts[j]++;
        }
        double x = chi_square(counts, cases[c].cells, draws);
        if (x > cases[c].bound)
            fail_msg("'%s': chi-square %.1f over %d cells", cases[c].text, x, cases[c].cells);
        template_free(&t);
    }
    /* a NULL rng always picks the first item */
    struct template t;
    char err[256], out[16];
    assert_int_equal(template_compile("${one_of:p,q}", NULL, &t, err, sizeof err), 0);
    struct template_values v = {.vu = 1};
    assert_int_equal(template_render_flat(&t, &v, out, sizeof out), 1);
    assert_int_equal(out[0], 'p');
    template_free(&t);
    /* template_draw stays in range for awkward n */
    uint64_t rng = 42;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(template_draw(&rng, 1), 0);
        assert_true(template_draw(&rng, 3) < 3);
        assert_true(template_draw(&rng, UINT32_MAX) < UINT32_MAX);
    }
}

/* ---- whole requests ---- */

static const struct template_header upload_headers[] = {
    {"X-Upload-Id", "${upload_id}"},
    {"X-Chunk-Number", "${n}"},
    {"Authorization", "Bearer abc"},
};

static void test_request_upload(void **state)
{
    (void)state;
    size_t blen = 1 << 20;
    char *body = malloc(blen);
    memset(body, 'z', blen);
    struct template_request_spec spec = {
        .method = "POST", .path = "/x?n=${n}", .host = "h:1",
        .headers = upload_headers, .nheaders = (int)N(upload_headers),
        .body_kind = TEMPLATE_BODY_FIXED, .body = body, .body_len = blen,
    };
    struct template_scope sc = scope_with(0, 0);
    struct template_request r;
    char err[256];
    if (template_request_compile(&spec, &sc, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(r.body_kind, TEMPLATE_BODY_FIXED);
    assert_false(r.is_head);
    struct iovec iov[16];
    char scratch[128];
    for (uint32_t n = 1; n <= 10; n++) {
        struct template_values v = values(3, 7, n, 0, 1, "u-42", NULL, NULL);
        size_t total = 0;
        int k = template_request_render_iov(&r, &v, iov, (int)N(iov), scratch, sizeof scratch, &total);
        assert_int_equal(k, 4);   /* head before the capture, the capture, head after it, the body */
        assert_ptr_equal(iov[3].iov_base, body);   /* shared, never copied */
        assert_int_equal(iov[3].iov_len, blen);
        char head[512], want[512];
        size_t hl = flatten(iov, 3, head, sizeof head);
        snprintf(want, sizeof want,
                 "POST /x?n=%u HTTP/1.1\r\nHost: h:1\r\nX-Upload-Id: u-42\r\nX-Chunk-Number: %u\r\n"
                 "Authorization: Bearer abc\r\nContent-Length: 1048576\r\n\r\n", n, n);
        assert_string_equal(head, want);
        assert_int_equal(total, hl + blen);
    }
    /* too few iovecs or too little scratch */
    struct template_values v = values(3, 7, 1, 0, 1, "u-42", NULL, NULL);
    assert_int_equal(template_request_render_iov(&r, &v, iov, r.max_iov - 1, scratch, sizeof scratch, NULL), -1);
    template_request_free(&r);
    template_request_free(&r);

    /* a constant template body too large to inline is rendered once and
     * referenced like a fixed body */
    char *text = malloc(5001);
    memset(text, 'j', 5000);
    text[5000] = 0;
    spec.body_kind = TEMPLATE_BODY_TEMPLATE;
    spec.body_text = text;
    assert_int_equal(template_request_compile(&spec, &sc, &r, err, sizeof err), 0);
    assert_int_equal(r.body_kind, TEMPLATE_BODY_FIXED);
    assert_int_equal(r.body_len, 5000);
    size_t total;
    assert_int_equal(template_request_render_iov(&r, &v, iov, (int)N(iov), scratch, sizeof scratch, &total), 4);
    assert_int_equal(iov[3].iov_len, 5000);
    assert_memory_equal(iov[3].iov_base, text, 5000);
    char head[512];
    flatten(iov, 3, head, sizeof head);
    assert_non_null(strstr(head, "\r\nContent-Length: 5000\r\n\r\n"));
    template_request_free(&r);
    free(text);
    free(body);
}

static const struct template_header h_ua[] = {{"user-agent", "mine/1"}};
static const struct template_header h_host[] = {{"Host", "other:9"}, {"Accept", "*/*"}};
static const struct template_header h_cl[] = {{"Content-Length", "5"}};
static const struct template_header h_json[] = {{"Content-Type", "application/json"}};

static const struct {
    struct template_request_spec spec;
    const char *want;    /* vu 12, iter 3, n 2 */
    int         iovs;
} requests[] = {
    {{.method = "GET", .path = "/", .host = "h", .body_kind = TEMPLATE_BODY_NONE},
     "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1},
    {{.method = "POST", .path = "/p", .host = "h"},
     "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 1},
    {{.method = "DELETE", .path = "/p/${n}", .host = "h"},
     "DELETE /p/2 HTTP/1.1\r\nHost: h\r\n\r\n", 1},
    {{.method = "GET", .path = "/", .host = "h", .user_agent = "blaster/0.1.0"},
     "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: blaster/0.1.0\r\n\r\n", 1},
    {{.method = "GET", .path = "/", .host = "h", .user_agent = "blaster/0.1.0", .headers = h_ua, .nheaders = 1},
     "GET / HTTP/1.1\r\nHost: h\r\nuser-agent: mine/1\r\n\r\n", 1},
    {{.method = "GET", .path = "/", .host = "h", .headers = h_host, .nheaders = 2},
     "GET / HTTP/1.1\r\nHost: other:9\r\nAccept: */*\r\n\r\n", 1},
    {{.method = "PUT", .path = "/", .host = "h", .headers = h_cl, .nheaders = 1,
      .body_kind = TEMPLATE_BODY_FIXED, .body = "hello", .body_len = 5},
     "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", 1},
    /* a small fixed body travels in the head's text: one iovec */
    {{.method = "POST", .path = "/j", .host = "h", .headers = h_json, .nheaders = 1,
      .body_kind = TEMPLATE_BODY_FIXED, .body = "{\"a\":1}", .body_len = 7},
     "POST /j HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 1},
    /* a template body without slots is a fixed body */
    {{.method = "POST", .path = "/j", .host = "h", .body_kind = TEMPLATE_BODY_TEMPLATE, .body_text = "{\"b\":2}"},
     "POST /j HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n{\"b\":2}", 1},
    {{.method = "POST", .path = "/j", .host = "h", .body_kind = TEMPLATE_BODY_TEMPLATE, .body_text = ""},
     "POST /j HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 1},
    /* a finite template body: Content-Length is a slot */
    {{.method = "POST", .path = "/j", .host = "h", .body_kind = TEMPLATE_BODY_TEMPLATE, .body_text = "n=${n}"},
     "POST /j HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nn=2", 4},
    {{.method = "HEAD", .path = "/?q=${one_of:only}", .host = "h"},
     "HEAD /?q=only HTTP/1.1\r\nHost: h\r\n\r\n", 1},
};

static void test_request_table(void **state)
{
    (void)state;
    struct template_scope sc = scope_with(0, 0);
    for (size_t i = 0; i < N(requests); i++) {
        struct template_request r;
        char err[256];
        if (template_request_compile(&requests[i].spec, &sc, &r, err, sizeof err) != 0)
            fail_msg("request %zu: %s", i, err);
        struct template_values v = values(12, 3, 2, 0, 1, NULL, NULL, NULL);
        struct iovec iov[32];
        char scratch[256], out[1024];
        size_t total;
        int k = template_request_render_iov(&r, &v, iov, (int)N(iov), scratch, sizeof scratch, &total);
        assert_true(k > 0 && k <= r.max_iov);
        size_t len = flatten(iov, k, out, sizeof out);
        if (strcmp(out, requests[i].want) != 0 || k != requests[i].iovs)
            fail_msg("request %zu: %d iovecs '%s', want %d '%s'", i, k, out, requests[i].iovs, requests[i].want);
        assert_int_equal(total, len);
        assert_int_equal(r.is_head, !strcmp(requests[i].spec.method, "HEAD"));
        template_request_free(&r);
    }
}

/* A templated body: its length varies with the VU, the header follows. */
static void test_request_content_length_slot(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"total_chunks\":10,\"filename\":\"lt-${vu}-${iter}.mp3\"}",
        "{\"genre\":\"${one_of:rock,jazz,lo-fi}\",\"vu\":${vu},\"id\":\"${upload_id}\"}",
        "${token}",
    };
    struct template_scope sc = scope_with(0, 0);
    for (size_t b = 0; b < N(bodies); b++) {
        struct template_request_spec spec = {
            .method = "POST", .path = "/api/v1/tracks/upload/initiate", .host = "127.0.0.1:8080",
            .headers = h_json, .nheaders = 1, .body_kind = TEMPLATE_BODY_TEMPLATE, .body_text = bodies[b],
        };
        struct template_request r;
        char err[256];
        if (template_request_compile(&spec, &sc, &r, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(r.body_kind, TEMPLATE_BODY_TEMPLATE);
        uint64_t rng = 99;
        static const uint32_t vus[] = {1, 9, 10, 99, 100, 12345, 4294967295u};
        static const char *const tokens[] = {NULL, "t", "a-much-longer-token"};
        for (size_t i = 0; i < N(vus); i++) {
            for (size_t j = 0; j < N(tokens); j++) {
                struct template_values v = values(vus[i], i * 1000, 1, 0, 1, "up-1", tokens[j], &rng);
                struct iovec iov[32];
                char scratch[256], out[1024];
                size_t total;
                uint64_t before = rng;
                int k = template_request_render_iov(&r, &v, iov, (int)N(iov), scratch, sizeof scratch, &total);
                assert_true(k > 0 && k <= r.max_iov);
                size_t len = flatten(iov, k, out, sizeof out);
                assert_int_equal(total, len);
                const char *sep = strstr(out, "\r\n\r\n");
                assert_non_null(sep);
                const char *cl = strstr(out, "\r\nContent-Length: ");
                assert_non_null(cl);
                assert_true(cl < sep);
                size_t body_len = len - (size_t)(sep + 4 - out);
                assert_int_equal(strtoull(cl + 18, NULL, 10), body_len);
                /* the body is what the body template renders from the same draws */
                struct template_values w = v;
                uint64_t again = before;
                w.rng = &again;
                char want[1024];
                int64_t wl = template_render_flat(&r.body_t, &w, want, sizeof want);
                assert_int_equal(wl, (int64_t)body_len);
                assert_memory_equal(sep + 4, want, body_len);
            }
        }
        template_request_free(&r);
    }
}

static const struct {
    struct template_request_spec spec;
    const char *want;
} bad_requests[] = {
    {{.method = "GET", .path = "/a b", .host = "h"},
     "path: space at column 3 (a path holds no spaces: encode them as %20)"},
    {{.method = "GET", .path = "/a\tb", .host = "h"},
     "path: control character 0x09 at column 3 (not allowed in a path)"},
    {{.method = "GET", .path = "/?q=${one_of:lo fi,jazz}", .host = "h"},
     "path: space at column 16 (a path holds no spaces: encode them as %20)"},
    {{.method = "GET", .path = "/${nope}", .host = "h"},
     "path: unknown variable 'nope' at column 2 (known here: vu, iter, n, m, big, upload_id, token)"},
    {{.method = "GET", .path = "", .host = "h"}, "path: empty (expected /path?query)"},
    {{.method = "G ET", .path = "/", .host = "h"}, "method 'G ET' is not an HTTP token"},
    {{.method = "GET", .path = "/", .host = "h h"}, "host 'h h' is empty or holds spaces"},
    {{.method = "GET", .path = "/", .host = "h", .headers = (const struct template_header[]){{"X A", "1"}},
      .nheaders = 1},
     "header 'X A': the name is not an HTTP token"},
    {{.method = "GET", .path = "/", .host = "h",
      .headers = (const struct template_header[]){{"X-A", "1\r\nEvil: 1"}}, .nheaders = 1},
     "header 'X-A': CR at column 2 (a header value is one line)"},
    {{.method = "GET", .path = "/", .host = "h",
      .headers = (const struct template_header[]){{"X-A", "${one_of:a,b\nc}"}}, .nheaders = 1},
     "header 'X-A': LF at column 13 (a header value is one line)"},
    {{.method = "GET", .path = "/", .host = "h",
      .headers = (const struct template_header[]){{"X-A", "${vu"}}, .nheaders = 1},
     "header 'X-A': unterminated '${' at column 1 (expected '}')"},
    {{.method = "POST", .path = "/", .host = "h", .body_kind = TEMPLATE_BODY_TEMPLATE, .body_text = "{${x}}"},
     "body: unknown variable 'x' at column 2 (known here: vu, iter, n, m, big, upload_id, token)"},
};

static void test_request_errors(void **state)
{
    (void)state;
    struct template_scope sc = scope_with(0, 0);
    for (size_t i = 0; i < N(bad_requests); i++) {
        struct template_request r;
        char err[256] = "";
        if (template_request_compile(&bad_requests[i].spec, &sc, &r, err, sizeof err) == 0)
            fail_msg("bad request %zu compiled", i);
        if (strcmp(err, bad_requests[i].want) != 0)
            fail_msg("bad request %zu: got '%s', want '%s'", i, err, bad_requests[i].want);
        assert_null(r.head.pieces_);
        assert_null(r.body_t.pieces_);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_table),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_iov_limits),
        cmocka_unit_test(test_prerender_choice),
        cmocka_unit_test(test_one_of_distribution),
        cmocka_unit_test(test_request_upload),
        cmocka_unit_test(test_request_table),
        cmocka_unit_test(test_request_content_length_slot),
        cmocka_unit_test(test_request_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
