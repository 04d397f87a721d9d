/* units: strict parsers for what people type, k6-style formatters for what we print.
 *
 * Numbers are scanned as an integer part and a decimal fraction kept as integers, and
 * scaled with 128-bit arithmetic, so "0.1s" and "1.5MiB" come out exact instead of
 * 99999999 ns or 1572863 bytes (strtod would do that to us).
 */
#include "blaster/common/units.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A scanned decimal: ip + fp / 10^fd. Fraction digits past the 18th are dropped, and
 * `lost` says whether any of them was non-zero (then the value is not what fp says). */
struct dec {
    uint64_t ip;
    uint64_t fp;
    int      fd;
    bool     lost;
};

static const uint64_t pow10_u64[19] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull,
};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Scan digits[.digits] at *pp. Needs at least one digit on either side of the point
 * (".5" and "5." are fine, "." is not). Advances *pp past the number. -1 when there is no
 * number or the integer part overflows uint64_t. */
static int scan_decimal(const char **pp, struct dec *d)
{
    const char *p = *pp;
    bool any = false;

    memset(d, 0, sizeof *d);
    for (; is_digit(*p); p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (d->ip > (UINT64_MAX - digit) / 10)
            return -1;
        d->ip = d->ip * 10 + digit;
        any = true;
    }
    if (*p == '.') {
        p++;
        for (; is_digit(*p); p++) {
            any = true;
            if (d->fd < 18) {
                d->fp = d->fp * 10 + (uint64_t)(*p - '0');
                d->fd++;
            } else if (*p != '0') {
                d->lost = true;
            }
        }
    }
    if (!any)
        return -1;
    *pp = p;
    return 0;
}

/* d * mult, split into the whole part and whether a remainder (a fraction of one unit)
 * was left over. -1 when the whole part does not fit `max`. */
static int dec_scale(const struct dec *d, uint64_t mult, uint64_t max, uint64_t *out,
                     bool *inexact)
{
    unsigned __int128 whole = (unsigned __int128)d->ip * mult;
    unsigned __int128 frac = (unsigned __int128)d->fp * mult;
    uint64_t den = pow10_u64[d->fd];

    whole += frac / den;
    if (whole > max)
        return -1;
    *out = (uint64_t)whole;
    *inexact = (frac % den) != 0 || d->lost;
    return 0;
}

/* ---- durations ---- */

struct unit {
    const char *name;
    uint64_t    mult;
};

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const struct unit duration_units[] = {
    {"ns", 1ull},
    {"us", 1000ull},
    {"\xc2\xb5s", 1000ull},   /* µs, U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000ull},   /* μs, U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000ull},
    {"s", 1000000000ull},
    {"m", 60ull * 1000000000ull},
    {"h", 3600ull * 1000000000ull},
};

int units_parse_duration(const char *s, int64_t *ns)
{
    const char *p = s;
    uint64_t total = 0;
    struct dec d;

    if (s == NULL || *s == '\0')
        return -1;
    /* wrk compatibility: a lone number is seconds. */
    if (scan_decimal(&p, &d) == 0 && *p == '\0') {
        uint64_t v;
        bool inexact;
        if (dec_scale(&d, 1000000000ull, INT64_MAX, &v, &inexact) < 0)
            return -1;
        *ns = (int64_t)v;
        return 0;
    }
    p = s;
    while (*p != '\0') {
        const struct unit *u = NULL;
        uint64_t v;
        bool inexact;

        if (scan_decimal(&p, &d) < 0)
            return -1;
        for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
            size_t len = strlen(duration_units[i].name);
            if (strncmp(p, duration_units[i].name, len) == 0) {
                u = &duration_units[i];
                p += len;
                break;
            }
        }
        if (u == NULL)
            return -1;
        if (dec_scale(&d, u->mult, INT64_MAX, &v, &inexact) < 0)
            return -1;
        if (v > (uint64_t)INT64_MAX - total)
            return -1;
        total += v;
    }
    *ns = (int64_t)total;
    return 0;
}

/* ---- sizes, counts, rates ---- */

static const struct unit size_units[] = {
    {"", 1ull},
    {"b", 1ull},
    {"k", 1000ull},
    {"kb", 1000ull},
    {"m", 1000000ull},
    {"mb", 1000000ull},
    {"g", 1000000000ull},
    {"gb", 1000000000ull},
    {"t", 1000000000000ull},
    {"tb", 1000000000000ull},
    {"kib", 1ull << 10},
    {"mib", 1ull << 20},
    {"gib", 1ull << 30},
    {"tib", 1ull << 40},
};

static const struct unit count_units[] = {
    {"", 1ull},
    {"k", 1000ull},
    {"m", 1000000ull},
    {"g", 1000000000ull},
    {"t", 1000000000000ull},
};

/* The multiplier whose name equals the whole of `suffix` (case-insensitive), or 0. */
static uint64_t find_unit(const struct unit *tab, size_t n, const char *suffix)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(suffix, tab[i].name) == 0)
            return tab[i].mult;
    return 0;
}

/* A number followed by exactly one suffix from `tab`, scaled to a whole uint64_t. */
static int parse_whole(const char *s, const struct unit *tab, size_t ntab, uint64_t *out)
{
    const char *p = s;
    struct dec d;
    uint64_t mult, v;
    bool inexact;

    if (s == NULL || scan_decimal(&p, &d) < 0)
        return -1;
    mult = find_unit(tab, ntab, p);
    if (mult == 0)
        return -1;
    if (dec_scale(&d, mult, UINT64_MAX, &v, &inexact) < 0 || inexact)
        return -1;
    *out = v;
    return 0;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
    return parse_whole(s, size_units, sizeof size_units / sizeof size_units[0], bytes);
}

int units_parse_count(const char *s, uint64_t *n)
{
    return parse_whole(s, count_units, sizeof count_units / sizeof count_units[0], n);
}

int units_parse_rate(const char *s, double *per_sec)
{
    const char *p = s;
    struct dec d;
    double v, per = 1.0;
    uint64_t mult = 1;

    if (s == NULL || scan_decimal(&p, &d) < 0)
        return -1;
    if (*p != '\0' && *p != '/') {
        char suffix[2] = {*p, '\0'};
        mult = find_unit(count_units, sizeof count_units / sizeof count_units[0], suffix);
        if (mult == 0)
            return -1;
        p++;
    }
    if (*p == '/') {
        p++;
        if (strcmp(p, "s") == 0)
            per = 1.0;
        else if (strcmp(p, "m") == 0)
            per = 60.0;
        else if (strcmp(p, "h") == 0)
            per = 3600.0;
        else
            return -1;
    } else if (*p != '\0') {
        return -1;
    }
    v = ((double)d.ip + (double)d.fp / (double)pow10_u64[d.fd]) * (double)mult / per;
    if (!isfinite(v))
        return -1;
    *per_sec = v;
    return 0;
}

/* ---- formatting ---- */

/* Append to buf at *off, never past n; keeps *off within [0, n). */
static void append(char *buf, size_t n, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t n, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*off >= n)
        return;
    va_start(ap, fmt);
    w = vsnprintf(buf + *off, n - *off, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    *off += (size_t)w;
    if (*off >= n)
        *off = n - 1;
}

/* hundredths/100 with trailing zeros (and a bare point) dropped: 123 → "1.23",
 * 150 → "1.5", 200 → "2". */
static void append_hundredths(char *buf, size_t n, size_t *off, uint64_t h)
{
    uint64_t ip = h / 100, fp = h % 100;

    if (fp == 0)
        append(buf, n, off, "%llu", (unsigned long long)ip);
    else if (fp % 10 == 0)
        append(buf, n, off, "%llu.%llu", (unsigned long long)ip, (unsigned long long)(fp / 10));
    else
        append(buf, n, off, "%llu.%02llu", (unsigned long long)ip, (unsigned long long)fp);
}

const char *units_fmt_duration(char *buf, size_t n, double ns)
{
    size_t off = 0;

    if (n == 0)
        return buf;
    buf[0] = '\0';
    if (isnan(ns)) {
        append(buf, n, &off, "NaN");
        return buf;
    }
    if (ns < 0) {
        append(buf, n, &off, "-");
        ns = -ns;
    }
    if (isinf(ns)) {
        append(buf, n, &off, "Inf");
    } else if (ns == 0) {
        append(buf, n, &off, "0s");
    } else if (ns < 1e3) {
        append(buf, n, &off, "%.0fns", floor(ns));
    } else if (ns < 1e6) {
        append_hundredths(buf, n, &off, (uint64_t)floor(ns / 10));
        append(buf, n, &off, "\xc2\xb5s");
    } else if (ns < 1e9) {
        append_hundredths(buf, n, &off, (uint64_t)floor(ns / 1e4));
        append(buf, n, &off, "ms");
    } else {
        /* k6: seconds keep two decimals up to one minute, none beyond. */
        double min = floor(ns / 60e9);
        double sec_ns = fmod(ns, 60e9);
        uint64_t hundredths = ns > 60e9 ? (uint64_t)floor(sec_ns / 1e9) * 100
                                        : (uint64_t)floor(sec_ns / 1e7);
        if (min >= 60)
            append(buf, n, &off, "%.0fh", floor(min / 60));
        if (min >= 1)
            append(buf, n, &off, "%.0fm", fmod(min, 60));
        append_hundredths(buf, n, &off, hundredths);
        append(buf, n, &off, "s");
    }
    return buf;
}

/* k6's toFixedNoTrailingZeros(v, 6): six decimals, then trailing zeros and point dropped. */
const char *units_fmt_count(char *buf, size_t n, double v)
{
    size_t len;
    char *dot;

    if (n == 0)
        return buf;
    snprintf(buf, n, "%.6f", v);
    dot = strchr(buf, '.');
    if (dot != NULL) {
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0')
            buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '.')
            buf[--len] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, n, "0");
    return buf;
}

const char *units_fmt_bytes(char *buf, size_t n, double bytes)
{
    static const char *const names[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    const int last = (int)(sizeof names / sizeof names[0]) - 1;
    char num[64];
    double scale = 1, val;
    int e = 0;

    if (n == 0)
        return buf;
    if (!(bytes >= 10) || isinf(bytes)) {
        snprintf(buf, n, "%s B", units_fmt_count(num, sizeof num, bytes));
        return buf;
    }
    /* Counted in a loop rather than with log(): log(1e9)/log(1000) is 2.9999999999999996. */
    while (e < last && bytes >= scale * 1000) {
        scale *= 1000;
        e++;
    }
    val = floor(bytes / scale * 10 + 0.5) / 10;
    if (val < 10)
        snprintf(buf, n, "%.1f %s", val, names[e]);
    else /* JS toFixed(0) rounds halves up; printf would round them to even. */
        snprintf(buf, n, "%.0f %s", floor(val + 0.5), names[e]);
    return buf;
}
