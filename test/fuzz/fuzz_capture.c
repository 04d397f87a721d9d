/* libFuzzer target for blaster/run/capture.c and blaster/run/hls.c:
 *
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
 *         -fno-sanitize-recover=all test/fuzz/fuzz_capture.c blaster/run/capture.c blaster/run/hls.c \
 *         -o build/fuzz_capture
 *   build/fuzz_capture -max_total_time=60 build/corpus_capture
 *
 * Input: byte 0 = cap for outputs (0..255), byte 1 = selector bits, then "ARG\n" (a JSON
 * path, a header name, a base path / variant name: at most 255 bytes, no NUL) and the rest,
 * the text. Every function runs on the text, each from its own exact-size heap copy (ASan
 * catches any read past it), with outputs into exact-cap heap buffers (any write past cap
 * too). Checked: return codes in range, a returned length matches a NUL-terminated output,
 * pointers handed back point inside the text, split leaves the head alone and keeps the
 * body inside the buffer and no longer than it was, resolved targets are origin-form
 * without dot segments or unsafe bytes, and the functions are deterministic.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/run/capture.h"
#include "blaster/run/hls.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static char *copy(const uint8_t *p, size_t n)
{
    char *b = malloc(n ? n : 1);
    check(b != NULL);
    if (n)
        memcpy(b, p, n);
    return b;
}

/* A returned length and a NUL-terminated out agree; -2 leaves "" (cap > 0). */
static void check_out(int rc, const char *out, size_t cap)
{
    check(rc >= -2);
    if (rc >= 0) {
        check((size_t)rc < cap);
        check(out[rc] == '\0');
        check(strlen(out) == (size_t)rc);
    } else if (rc == -2 && cap) {
        check(out[0] == '\0');
    }
}

struct media_ctx {
    const char *text;
    size_t len;
    int n, stop;
};

static bool each(void *ctx, const char *uri, size_t len)
{
    struct media_ctx *m = ctx;
    check(uri >= m->text && len > 0 && len <= m->len && (size_t)(uri - m->text) <= m->len - len);
    check(uri[0] != '#' && uri[0] != ' ' && uri[len - 1] != ' ' && uri[len - 1] != '\r');
    check(memchr(uri, '\n', len) == NULL);
    m->n++;
    return m->stop == 0 || m->n < m->stop;
}

/* The path part of a resolved target has no "." or ".." segments. */
static void check_target(const char *t, size_t n)
{
    check(n > 0 && t[0] == '/');
    for (size_t k = 0; k < n; k++)
        check((unsigned char)t[k] > 0x20 && t[k] != 0x7F && t[k] != '#');
    size_t e = strcspn(t, "?");
    for (size_t a = 1; a <= e;) {
        size_t z = a;
        while (z < e && t[z] != '/')
            z++;
        check(!(z - a == 1 && t[a] == '.'));
        check(!(z - a == 2 && t[a] == '.' && t[a + 1] == '.'));
        a = z + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = data[0];
    uint8_t sel = data[1];
    data += 2;
    size -= 2;
    const uint8_t *nl = memchr(data, '\n', size < 256 ? size : 256);
    if (!nl)
        return 0;
    size_t al = (size_t)(nl - data);
    char arg[256];
    memcpy(arg, data, al);
    arg[al] = '\0';
    if (strlen(arg) != al)
        return 0;  /* NUL inside the argument */
    const uint8_t *text = nl + 1;
    size_t len = size - al - 1;

    char *out = malloc(cap ? cap : 1), *out2 = malloc(cap ? cap : 1);
    check(out && out2);

    /* capture_json */
    char *t = copy(text, len);
    int rc = capture_json(t, len, arg, cap ? out : NULL, cap);
    check(rc >= -2);
    if (cap)
        check_out(rc, out, cap);
    int rc2 = capture_json(t, len, arg, cap ? out2 : NULL, cap);
    check(rc == rc2 && (rc < 0 || memcmp(out, out2, (size_t)rc) == 0));
    if (rc == -2) {  /* with room enough it fits */
        char *big = malloc(len + 1);
        check(big != NULL);
        int r3 = capture_json(t, len, arg, big, len + 1);
        /* unescaped strings never grow; raw text is a slice of the input */
        check(r3 >= 0 && (size_t)r3 >= cap);
        free(big);
    }
    free(t);

    /* capture_header */
    t = copy(text, len);
    rc = capture_header(t, len, arg, cap ? out : NULL, cap);
    check(rc >= -2);
    if (cap)
        check_out(rc, out, cap);
    if (rc >= 0)
        for (int k = 0; k < rc; k++)
            check(out[k] != '\r' && out[k] != '\n' && out[k] != '\0');
    free(t);

    /* capture_split: in place on a copy; the head untouched, the body inside */
    t = copy(text, len);
    size_t hl = SIZE_MAX, bl = SIZE_MAX;
    char *body = NULL;
    rc = capture_split(t, len, &hl, &body, &bl);
    check(rc == 0 || rc == -1);
    if (rc == 0) {
        check(hl <= len && body == t + hl && bl <= len - hl);
        check(memcmp(t, text, hl) == 0);
    } else {
        check(memcmp(t, text, len) == 0);
    }
    free(t);

    /* hls_parse_master + hls_choose */
    t = copy(text, len);
    struct hls_variant_info v[16];
    int max = sel & 15;
    int n = hls_parse_master(t, len, v, max);
    check(n >= -1 && n <= max);
    for (int i = 0; i < n; i++) {
        check(v[i].uri >= t && v[i].uri_len > 0 && v[i].uri_len <= len &&
              (size_t)(v[i].uri - t) <= len - v[i].uri_len);
        check((v[i].name == NULL && v[i].name_len == 0) ||
              (v[i].name >= t && v[i].name_len <= len &&
               (size_t)(v[i].name - t) <= len - v[i].name_len));
    }
    for (int w = 0; w <= 3; w++) {
        int c = hls_choose(v, n < 0 ? 0 : n, w, arg);
        check(c >= -1 && c < (n < 0 ? 0 : n));
        if (n > 0 && w < 2)
            check(c >= 0);
    }

    /* hls_resolve: each variant's URI against arg as the base path */
    for (int i = 0; i < n; i++) {
        const char *hp = (sel & 16) ? "h" : (sel & 32) ? "[::1]:8080" : "127.0.0.1:8080";
        rc = hls_resolve(arg, v[i].uri, v[i].uri_len, hp, cap ? out : NULL, cap);
        check(rc >= -2);
        if (cap)
            check_out(rc, out, cap);
        if (rc >= 0)
            check_target(out, (size_t)rc);
    }
    free(t);

    /* hls_parse_media */
    t = copy(text, len);
    struct media_ctx m = {t, len, 0, sel >> 6};
    bool end = true;
    rc = hls_parse_media(t, len, (sel & 0x80) && !(sel & 0x40) ? NULL : each, &m, &end);
    check(rc >= -1);
    if (rc < 0)
        check(!end && m.n == 0);
    else if (!((sel & 0x80) && !(sel & 0x40)))
        check(rc == m.n);
    free(t);

    /* hls_resolve with the text itself as the URI and arg as the base */
    t = copy(text, len);
    rc = hls_resolve(arg, t, len, (sel & 16) ? NULL : "h:8080", cap ? out : NULL, cap);
    check(rc >= -2);
    if (cap)
        check_out(rc, out, cap);
    if (rc >= 0)
        check_target(out, (size_t)rc);
    free(t);

    free(out);
    free(out2);
    return 0;
}
