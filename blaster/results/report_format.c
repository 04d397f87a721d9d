/* report_format — k6's number and line formats, shared by both layouts of
 * the text summary: names padded with dots to one column, trend cells,
 * counters with their rate, rates as truncated percentages; the trend
 * statistics (avg, p(95), ...) and their values; the MD5 that names k6's
 * groups and checks. Pure formatting: what the numbers are is
 * report_aggregate.c's. */
#include "blaster/results/report_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "blaster/common/units.h"

/* ---- MD5 (RFC 1321): k6 names groups and checks by the MD5 of their path -- */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_r[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21 };

static void md5_block(uint32_t h[4], const uint8_t *b)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
               (uint32_t)b[4 * i + 3] << 24;
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        switch (i / 16) {
        case 0:  f = (bb & c) | (~bb & d); g = i;                break;
        case 1:  f = (d & bb) | (~d & c);  g = (5 * i + 1) % 16; break;
        case 2:  f = bb ^ c ^ d;           g = (3 * i + 5) % 16; break;
        default: f = c ^ (bb | ~d);        g = (7 * i) % 16;     break;
        }
        uint32_t t = d;
        d = c;
        c = bb;
        uint32_t x = a + f + md5_k[i] + w[g];
        int s = md5_r[(i / 16) * 4 + i % 4];
        bb = bb + (x << s | x >> (32 - s));
        a = t;
    }
    h[0] += a, h[1] += bb, h[2] += c, h[3] += d;
}

void report_md5_hex(const void *data, size_t len, char out[33])
{
    uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64)
        md5_block(h, p);
    uint8_t tail[128] = { 0 };
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 8 + i] = (uint8_t)(bits >> (8 * i));
    md5_block(h, tail);
    if (tl == 128)
        md5_block(h, tail + 64);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned)(h[i / 4] >> (8 * (i % 4))) & 0xff);
}

/* ---- trend statistics and k6's line formats ------------------------------ */

int report_stat_parse(const char *s, struct report_stat *out)
{
    static const struct { const char *w; enum report_stat_kind k; } words[] = {
        { "avg", RSTAT_AVG }, { "min", RSTAT_MIN }, { "med", RSTAT_MED },
        { "max", RSTAT_MAX }, { "count", RSTAT_COUNT },
    };
    if (!s || strlen(s) >= sizeof out->name)
        return -1;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", s);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(s, words[i].w) == 0) {
            out->kind = words[i].k;
            return 0;
        }
    }
    size_t n = strlen(s);
    if (n < 4 || strncmp(s, "p(", 2) != 0 || s[n - 1] != ')' || !(s[2] >= '0' && s[2] <= '9'))
        return -1;
    char num[24], *end;
    memcpy(num, s + 2, n - 3);
    num[n - 3] = '\0';
    double p = strtod(num, &end);
    if (*end || !(p >= 0 && p <= 100))
        return -1;
    out->kind = RSTAT_P;
    out->p = p;
    return 0;
}

/* The mean in µs, within [min, max]: hist_mean takes each sample at its
 * bucket's middle, which for samples all equal to a bucket's low end (300 ms
 * exactly, say) would put the average below the exact minimum. */
double rep_mean_us(const struct hist *h)
{
    double m = hist_mean(h);
    if (m < (double)hist_min(h))
        m = (double)hist_min(h);
    if (m > (double)hist_max(h))
        m = (double)hist_max(h);
    return m;
}

double rep_stat_value(const struct hist *h, const struct report_stat *st)
{
    if (hist_count(h) == 0)
        return 0;
    double us;
    switch (st->kind) {
    case RSTAT_COUNT: return (double)hist_count(h);
    case RSTAT_AVG:   us = rep_mean_us(h); break;
    case RSTAT_MIN:   us = (double)hist_min(h); break;
    case RSTAT_MAX:   us = (double)hist_max(h); break;
    case RSTAT_MED:   us = (double)hist_percentile(h, 50); break;
    default:          us = (double)hist_percentile(h, st->p); break;
    }
    return us / 1000.0;
}

/* Columns s takes on a terminal: UTF-8 aware, "µs" is two. */
int rep_columns(const char *s)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        cols += (*p & 0xC0) != 0x80;
    return cols;
}

/* s left-aligned in width columns. */
void rep_lpad(FILE *f, const char *s, int width)
{
    int cols = rep_columns(s);
    fprintf(f, "%s%*s", s, width > cols ? width - cols : 0, "");
}

/* s right-aligned in width columns. */
void rep_rpad(FILE *f, const char *s, int width)
{
    int cols = rep_columns(s);
    fprintf(f, "%*s%s", width > cols ? width - cols : 0, "", s);
}

void rep_name_line(FILE *f, int indent, int width, const char *name)
{
    char dots[64];
    int n = width - (int)strlen(name);
    if (n < 2)
        n = 2;
    if (n > (int)sizeof dots - 1)
        n = (int)sizeof dots - 1;
    memset(dots, '.', (size_t)n);
    dots[n] = 0;
    fprintf(f, "%*s%s%s: ", indent, "", name, dots);
}

void rep_fmt_stat(char *buf, size_t n, const struct hist *h, const struct report_stat *st)
{
    double v = rep_stat_value(h, st);
    if (st->kind == RSTAT_COUNT)
        snprintf(buf, n, "%.0f", v);
    else
        units_fmt_duration(buf, n, v * 1e6);
}

void rep_trend_line(FILE *f, int indent, int width, const char *name, const struct hist *h,
                       const struct report_stat *stats, int nstats)
{
    rep_name_line(f, indent, width, name);
    char buf[32], cell[64];
    for (int i = 0; i < nstats; i++) {
        rep_fmt_stat(buf, sizeof buf, h, &stats[i]);
        snprintf(cell, sizeof cell, "%s=%s", stats[i].name, buf);
        rep_lpad(f, cell, i + 1 < nstats ? (int)strlen(stats[i].name) + 10 : 0);
    }
    fputc('\n', f);
}

void rep_counter_line(FILE *f, int indent, int width, const char *name, double count, double elapsed,
                         bool bytes)
{
    rep_name_line(f, indent, width, name);
    char a[32], b[32];
    if (bytes)
        fprintf(f, "%-9s %s/s\n", units_fmt_bytes(a, sizeof a, count),
                units_fmt_bytes(b, sizeof b, elapsed > 0 ? count / elapsed : 0));
    else
        fprintf(f, "%-9.0f %.2f/s\n", count, elapsed > 0 ? count / elapsed : 0);
}

void rep_tls_line(FILE *f, int indent, int width, uint64_t handshakes, uint64_t resumed,
                     const char *protocol, double elapsed)
{
    rep_name_line(f, indent, width, "tls_handshakes");
    fprintf(f, "%-9llu %.2f/s  (%llu resumed%s%s)\n", (unsigned long long)handshakes,
            elapsed > 0 ? (double)handshakes / elapsed : 0, (unsigned long long)resumed,
            protocol && *protocol ? ", " : "", protocol && *protocol ? protocol : "");
}

void rep_error_causes(FILE *f, int indent, const uint64_t errors[ERR__COUNT],
                         const int last_errno[ERR__COUNT], const char *tls_reason)
{
    for (int e = 0; e < ERR__COUNT; e++) {
        if (!errors[e])
            continue;
        /* A TLS failure's errno (if any) says little ("Input/output error"):
         * what TLS itself reported (an untrusted certificate, say) says why. */
        if (e == ERR_TLS && tls_reason && *tls_reason)
            fprintf(f, "%*s%s: last cause: %s\n", indent, "", err_class_name[e], tls_reason);
        else if (last_errno[e])
            fprintf(f, "%*s%s: last cause: %s\n", indent, "", err_class_name[e], strerror(last_errno[e]));
    }
}

/* k6's humanizeValue for rates: truncated (not rounded) to two decimals of a
 * percent, with the same two multiplications, so the digits agree with k6's. */
const char *rep_fmt_pct(char *buf, size_t n, double frac)
{
    snprintf(buf, n, "%.2f%%", trunc(frac * 100 * 100) / 100);
    return buf;
}

void rep_rate_line(FILE *f, int indent, int width, const char *name, uint64_t yes, uint64_t total)
{
    char pct[32];
    rep_name_line(f, indent, width, name);
    rep_fmt_pct(pct, sizeof pct, total ? (double)yes / (double)total : 0);
    rep_lpad(f, pct, 7);
    fprintf(f, " %llu out of %llu\n", (unsigned long long)yes, (unsigned long long)total);
}

void rep_gauge_line(FILE *f, int indent, const char *name, const struct mval *v)
{
    char a[32], b[32], c[32];
    rep_name_line(f, indent, NAME_WIDTH, name);
    fprintf(f, "%-9s min=%s max=%s\n", units_fmt_count(a, sizeof a, v->value),
            units_fmt_count(b, sizeof b, v->min), units_fmt_count(c, sizeof c, v->max));
}

void rep_status_list(FILE *f, const struct metrics *s, bool with_errors)
{
    bool any = false;
    for (int c = 0; c < METRICS_MAX_STATUS; c++)
        if (s->status[c]) {
            fprintf(f, "%s%d=%llu", any ? " " : "", c, (unsigned long long)s->status[c]);
            any = true;
        }
    if (with_errors)
        for (int e = 0; e < ERR__COUNT; e++)
            if (s->errors[e]) {
                fprintf(f, "%s%s=%llu", any ? " " : "", err_class_name[e], (unsigned long long)s->errors[e]);
                any = true;
            }
    if (!any)
        fprintf(f, "none");
}

void rep_outcome_lines(FILE *f, int indent, const struct metrics *s)
{
    rep_name_line(f, indent, NAME_WIDTH, "status");
    rep_status_list(f, s, false);
    fputc('\n', f);
    rep_name_line(f, indent, NAME_WIDTH, "errors");
    for (int e = 0; e < ERR__COUNT; e++)
        fprintf(f, "%s%s=%llu", e ? " " : "", err_class_name[e], (unsigned long long)s->errors[e]);
    fputc('\n', f);
    rep_error_causes(f, indent + 2, s->errors, s->last_errno, s->tls_reason);
    if (s->queued || s->interrupted) {
        rep_name_line(f, indent, NAME_WIDTH, "requests");
        fprintf(f, "%llu waited for a free connection, %llu in flight at the end (not counted)\n",
                (unsigned long long)s->queued, (unsigned long long)s->interrupted);
    }
}
