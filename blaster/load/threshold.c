/* threshold — see threshold.h. Hand-written scanners, no allocation: every
 * error message names the text the user wrote and what would have been
 * accepted instead. */
#include "blaster/load/threshold.h"

#include "blaster/common/errf.h"

#include "blaster/common/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------- */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static const char *skip_ws(const char *s)
{
    while (is_ws(*s))
        s++;
    return s;
}

/* Trim [*b, *e) of whitespace on both ends. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_ws(**b))
        (*b)++;
    while (*e > *b && is_ws((*e)[-1]))
        (*e)--;
}

/* Copy [b, e) into dst[cap]; -1 if it does not fit (cap-1 characters). */
static int copy_span(char *dst, size_t cap, const char *b, const char *e)
{
    size_t n = (size_t)(e - b);
    if (n >= cap)
        return -1;
    memcpy(dst, b, n);
    dst[n] = '\0';
    return 0;
}

/* ---- metric references ------------------------------------------------ */

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* One "key:value" filter in [b, e) (already split on ','). */
static int parse_filter(const char *s, const char *b, const char *e, struct metric_ref *out,
                        char *err, size_t errlen)
{
    trim(&b, &e);
    int flen = (int)(e - b);
    if (b == e) {
        errf(err, errlen, "'%s': empty tag filter (expected key:value between commas)", s);
        return -1;
    }
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if (!colon) {
        errf(err, errlen, "'%s': tag filter '%.*s' has no ':' (expected key:value, e.g. scenario:browse)",
               s, flen, b);
        return -1;
    }
    const char *kb = b, *ke = colon, *vb = colon + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    /* A matching pair of quotes around either side is dropped. */
    const char *spans[2][2] = { { kb, ke }, { vb, ve } };
    for (int i = 0; i < 2; i++) {
        const char *sb = spans[i][0], *se = spans[i][1];
        bool open = sb < se && (*sb == '"' || *sb == '\'');
        bool close = se > sb && (se[-1] == '"' || se[-1] == '\'');
        if (open && close && se - sb >= 2 && *sb == se[-1]) {
            sb++;
            se--;
        } else if (open || close) {
            errf(err, errlen, "'%s': unbalanced quote in tag filter '%.*s'", s, flen, b);
            return -1;
        }
        spans[i][0] = sb;
        spans[i][1] = se;
    }
    kb = spans[0][0], ke = spans[0][1], vb = spans[1][0], ve = spans[1][1];
    if (kb == ke) {
        errf(err, errlen, "'%s': tag filter '%.*s' has an empty key (expected key:value)", s, flen, b);
        return -1;
    }
    if (vb == ve) {
        errf(err, errlen, "'%s': tag filter '%.*s' has an empty value (expected key:value)", s, flen, b);
        return -1;
    }
    for (const char *p = kb; p < ke; p++) {
        if (is_ws(*p)) {
            errf(err, errlen, "'%s': tag key '%.*s' contains a space", s, (int)(ke - kb), kb);
            return -1;
        }
    }
    if (out->nfilters == METRIC_REF_MAX_FILTERS) {
        errf(err, errlen, "'%s': more than %d tag filters", s, METRIC_REF_MAX_FILTERS);
        return -1;
    }
    int i = out->nfilters;
    if (copy_span(out->filters[i].key, sizeof out->filters[i].key, kb, ke) < 0) {
        errf(err, errlen, "'%s': tag key '%.*s' is too long (at most %zu characters)",
               s, (int)(ke - kb), kb, sizeof out->filters[i].key - 1);
        return -1;
    }
    if (copy_span(out->filters[i].value, sizeof out->filters[i].value, vb, ve) < 0) {
        errf(err, errlen, "'%s': tag value '%.*s' is too long (at most %zu characters)",
               s, (int)(ve - vb), vb, sizeof out->filters[i].value - 1);
        return -1;
    }
    for (int j = 0; j < i; j++) {
        if (strcmp(out->filters[j].key, out->filters[i].key) == 0) {
            errf(err, errlen, "'%s': tag key '%s' appears twice (a sample has one value per tag)",
                   s, out->filters[i].key);
            return -1;
        }
    }
    out->nfilters++;
    return 0;
}

int metric_ref_parse(const char *s, struct metric_ref *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!s) {
        errf(err, errlen, "no metric name");
        return -1;
    }
    const char *b = s, *e = s + strlen(s);
    trim(&b, &e);
    const char *open = memchr(b, '{', (size_t)(e - b));
    const char *close = NULL;
    for (const char *p = e; p > b; p--) {
        if (p[-1] == '}') {
            close = p - 1;
            break;
        }
    }
    if (close && !open) {
        errf(err, errlen, "'%s': '}' without '{' (expected name{key:value})", s);
        return -1;
    }
    if (open && !close) {
        errf(err, errlen, "'%s': unclosed '{' (expected name{key:value})", s);
        return -1;
    }
    if (open && close < open) {
        errf(err, errlen, "'%s': '}' before '{' (expected name{key:value})", s);
        return -1;
    }
    if (close && close + 1 != e) {
        errf(err, errlen, "'%s': unexpected '%.*s' after '}'", s, (int)(e - close - 1), close + 1);
        return -1;
    }

    const char *nb = b, *ne = open ? open : e;
    trim(&nb, &ne);
    if (nb == ne) {
        errf(err, errlen, "'%s': empty metric name", s);
        return -1;
    }
    if (isdigit((unsigned char)*nb)) {
        errf(err, errlen, "'%s': a metric name starts with a letter or '_'", s);
        return -1;
    }
    for (const char *p = nb; p < ne; p++) {
        if (!name_char(*p)) {
            errf(err, errlen, "'%s': unexpected '%c' in metric name (expected letters, digits, '_'%s)",
                   s, *p, open ? "" : ", then an optional {key:value} filter");
            return -1;
        }
    }
    if (copy_span(out->name, sizeof out->name, nb, ne) < 0) {
        errf(err, errlen, "'%s': metric name too long (at most %zu characters)", s, sizeof out->name - 1);
        return -1;
    }
    if (!open)
        return 0;

    const char *fb = open + 1, *fe = close;
    const char *tb = fb, *te = fe;
    trim(&tb, &te);
    if (tb == te) {
        errf(err, errlen, "'%s': empty tag filter '{}' (expected {key:value}, or no braces)", s);
        return -1;
    }
    while (fb <= fe) {
        const char *comma = memchr(fb, ',', (size_t)(fe - fb));
        const char *end = comma ? comma : fe;
        if (parse_filter(s, fb, end, out, err, errlen) < 0)
            return -1;
        if (!comma)
            break;
        fb = comma + 1;
    }
    return 0;
}

/* Append src to buf[n] at *len, truncating; buf stays NUL-terminated. */
static void append(char *buf, size_t n, size_t *len, const char *src)
{
    while (*src && *len + 1 < n)
        buf[(*len)++] = *src++;
    buf[*len] = '\0';
}

void metric_ref_format(const struct metric_ref *r, char *buf, size_t n)
{
    if (n == 0)
        return;
    size_t len = 0;
    buf[0] = '\0';
    append(buf, n, &len, r->name);
    if (r->nfilters <= 0)
        return;
    append(buf, n, &len, "{");
    for (int i = 0; i < r->nfilters; i++) {
        if (i)
            append(buf, n, &len, ",");
        append(buf, n, &len, r->filters[i].key);
        append(buf, n, &len, ":");
        append(buf, n, &len, r->filters[i].value);
    }
    append(buf, n, &len, "}");
}

bool metric_ref_equal(const struct metric_ref *a, const struct metric_ref *b)
{
    if (strcmp(a->name, b->name) != 0 || a->nfilters != b->nfilters)
        return false;
    for (int i = 0; i < a->nfilters; i++) {
        bool found = false;
        for (int j = 0; j < b->nfilters && !found; j++)
            found = strcmp(a->filters[i].key, b->filters[j].key) == 0 &&
                    strcmp(a->filters[i].value, b->filters[j].value) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* ---- threshold expressions -------------------------------------------- */

const char *th_op_str(enum th_op op)
{
    switch (op) {
    case TH_LT: return "<";
    case TH_LE: return "<=";
    case TH_GT: return ">";
    case TH_GE: return ">=";
    case TH_EQ: return "==";
    case TH_NE: return "!=";
    }
    return "?";
}

/* Scan a number at s: [+-]? (digits [. digits*] | . digits) ([eE][+-]?digits)?
 * Returns the end of the number, or s if there is none. */
static const char *scan_number(const char *s, bool allow_sign)
{
    const char *p = s;
    if (allow_sign && (*p == '+' || *p == '-'))
        p++;
    const char *digits = p;
    while (isdigit((unsigned char)*p))
        p++;
    bool intpart = p > digits;
    bool frac = false;
    if (*p == '.') {
        const char *f = p + 1;
        while (isdigit((unsigned char)*f))
            f++;
        frac = f > p + 1;
        if (intpart || frac)
            p = f;
    }
    if (!intpart && !frac)
        return s;
    if (*p == 'e' || *p == 'E') {
        const char *x = p + 1;
        if (*x == '+' || *x == '-')
            x++;
        const char *xd = x;
        while (isdigit((unsigned char)*x))
            x++;
        if (x > xd)
            p = x;
    }
    return p;
}

/* Convert a scanned number [b, e) to a double; -1 if it is out of range. */
static int to_double(const char *b, const char *e, double *out)
{
    char tmp[64];
    if (copy_span(tmp, sizeof tmp, b, e) < 0)
        return -1;
    errno = 0;
    double d = strtod(tmp, NULL);   /* the C locale's '.': blaster never calls setlocale */
    if (errno == ERANGE && isinf(d))
        return -1;
    if (!isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static bool op_char(char c) { return c == '<' || c == '>' || c == '=' || c == '!'; }

/* Which aggregations a type takes, for the mismatch message. */
static const char *type_takes(enum metric_type t)
{
    switch (t) {
    case METRIC_COUNTER: return "a counter takes count or rate";
    case METRIC_GAUGE:   return "a gauge takes value";
    case METRIC_RATE:    return "a rate takes rate (the fraction of non-zero samples, 0..1)";
    case METRIC_TREND:   return "a trend takes avg, min, max, med or p(N)";
    }
    return "?";
}

static bool agg_fits(enum th_agg a, enum metric_type t)
{
    switch (t) {
    case METRIC_COUNTER: return a == TH_COUNT || a == TH_RATE;
    case METRIC_GAUGE:   return a == TH_VALUE;
    case METRIC_RATE:    return a == TH_RATE;
    case METRIC_TREND:   return a == TH_AVG || a == TH_MIN || a == TH_MAX || a == TH_MED || a == TH_P;
    }
    return false;
}

static const struct { const char *word; enum th_agg agg; } agg_words[] = {
    { "avg", TH_AVG }, { "min", TH_MIN }, { "max", TH_MAX }, { "med", TH_MED },
    { "rate", TH_RATE }, { "count", TH_COUNT }, { "value", TH_VALUE },
};
#define NAGG (sizeof agg_words / sizeof agg_words[0])

/* What an unknown aggregation word most likely meant, written into hint[n]
 * (empty when there is no good guess). */
static void agg_hint(const char *w, size_t wl, char *hint, size_t n)
{
    static const struct { const char *from, *to; } synonyms[] = {
        { "mean", "avg" }, { "average", "avg" }, { "median", "med" }, { "minimum", "min" },
        { "maximum", "max" }, { "total", "count" }, { "sum", "count" }, { "last", "value" },
    };
    hint[0] = '\0';
    char low[32];
    if (wl >= sizeof low)
        return;
    for (size_t i = 0; i < wl; i++)
        low[i] = (char)tolower((unsigned char)w[i]);
    low[wl] = '\0';
    /* p95, p99.9, P95 -> p(95) */
    if (low[0] == 'p' && wl > 1 && scan_number(low + 1, false) == low + wl) {
        snprintf(hint, n, "p(%s)", low + 1);
        return;
    }
    for (size_t i = 0; i < NAGG; i++) {
        if (strcmp(low, agg_words[i].word) == 0) {   /* AVG, Count */
            snprintf(hint, n, "%s", agg_words[i].word);
            return;
        }
    }
    for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++) {
        if (strcmp(low, synonyms[i].from) == 0) {
            snprintf(hint, n, "%s", synonyms[i].to);
            return;
        }
    }
    if (strcmp(low, "p") == 0 || strcmp(low, "percentile") == 0) {
        snprintf(hint, n, "p(95)");
        return;
    }
    for (size_t i = 0; i < NAGG; i++) {
        if (suggest_distance(low, agg_words[i].word) == 1) {   /* cout, avgg */
            snprintf(hint, n, "%s", agg_words[i].word);
            return;
        }
    }
}

/* "p(N)" with p at the '(' : the percentile, 0 < N <= 100. Advances *pp
 * past the ')' and the blanks after. */
static int parse_percentile(const char *src, const char *p, const char **pp, struct threshold *out,
                            char *err, size_t errlen)
{
    const char *q = skip_ws(p + 1);
    const char *ne = scan_number(q, false);
    if (ne == q) {
        const char *close = strchr(q, ')');
        if (*q == ')')
            errf(err, errlen, "'%s': p() needs a percentile (expected p(N), e.g. p(95))", src);
        else if (close)
            errf(err, errlen, "'%s': malformed percentile 'p(%.*s)' (expected a number, e.g. p(95))",
                   src, (int)(close - q), q);
        else
            errf(err, errlen, "'%s': unclosed 'p(' (expected p(N), e.g. p(95))", src);
        return -1;
    }
    const char *r = skip_ws(ne);
    if (*r != ')') {
        if (strchr(r, ')'))
            errf(err, errlen, "'%s': malformed percentile: unexpected '%.*s' in p(...) "
                   "(expected a number, e.g. p(99.9))", src, (int)(strchr(r, ')') - r), r);
        else
            errf(err, errlen, "'%s': unclosed 'p(' (expected p(N), e.g. p(95))", src);
        return -1;
    }
    if (to_double(q, ne, &out->p) < 0 || !(out->p > 0 && out->p <= 100)) {
        errf(err, errlen, "'%s': percentile %.*s is out of range (expected p(N) with 0 < N <= 100)",
               src, (int)(ne - q), q);
        return -1;
    }
    out->agg = TH_P;
    *pp = skip_ws(r + 1);
    return 0;
}

/* The aggregation at *pp: a word ([A-Za-z0-9_.]), then for "p" a
 * parenthesised number. Advances *pp past it and the blanks after. */
static int parse_agg(const char *src, const char **pp, struct threshold *out, char *err, size_t errlen)
{
    const char *p = *pp;
    const char *wb = p;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
        p++;
    size_t wl = (size_t)(p - wb);
    if (wl == 0) {
        if (op_char(*p))
            errf(err, errlen, "'%s': missing aggregation before '%c' (expected avg, min, max, med, "
                   "p(N), rate, count or value)", src, *p);
        else
            errf(err, errlen, "'%s': unexpected '%c' (expected an aggregation: avg, min, max, med, "
                   "p(N), rate, count or value)", src, *p);
        return -1;
    }
    p = skip_ws(p);
    if (wl == 1 && *wb == 'p' && *p == '(')
        return parse_percentile(src, p, pp, out, err, errlen);
    for (size_t i = 0; i < NAGG; i++) {
        if (strlen(agg_words[i].word) == wl && memcmp(agg_words[i].word, wb, wl) == 0) {
            if (*p == '(') {
                errf(err, errlen, "'%s': '%.*s' takes no argument (only p(N) does)", src, (int)wl, wb);
                return -1;
            }
            out->agg = agg_words[i].agg;
            *pp = p;
            return 0;
        }
    }
    char hint[40];
    agg_hint(wb, wl, hint, sizeof hint);
    if (hint[0])
        errf(err, errlen, "'%s': unknown aggregation '%.*s' (did you mean '%s'?)", src, (int)wl, wb, hint);
    else
        errf(err, errlen, "'%s': unknown aggregation '%.*s' (expected avg, min, max, med, p(N), "
               "rate, count or value)", src, (int)wl, wb);
    return -1;
}

/* The comparison operator at *pp, longest match first; "===" is k6's
 * synonym of "==". Advances *pp past it and the blanks after; *opstart and
 * *oplen say where it was written, for the limit's messages. */
static int parse_op(const char *src, const char **pp, struct threshold *out, const char **opstart,
                    size_t *oplen, char *err, size_t errlen)
{
    static const struct { const char *tok; enum th_op op; } ops[] = {
        { "<=", TH_LE }, { ">=", TH_GE }, { "===", TH_EQ }, { "==", TH_EQ }, { "!=", TH_NE },
        { "<", TH_LT },  { ">", TH_GT },
    };
    const char *p = *pp;
    *oplen = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t l = strlen(ops[i].tok);
        if (strncmp(p, ops[i].tok, l) == 0) {
            out->op = ops[i].op;
            *oplen = l;
            break;
        }
    }
    if (*oplen == 0) {
        if (p[0] == '=' && p[1] == '<')
            errf(err, errlen, "'%s': '=<' is not an operator (did you mean '<='?)", src);
        else if (p[0] == '=' && p[1] == '>')
            errf(err, errlen, "'%s': '=>' is not an operator (did you mean '>='?)", src);
        else if (p[0] == '=')
            errf(err, errlen, "'%s': '=' is not an operator (did you mean '=='?)", src);
        else if (*p == '\0')
            errf(err, errlen, "'%s': missing comparison (expected <, <=, >, >=, == or != and a number)", src);
        else
            errf(err, errlen, "'%s': missing comparison operator before '%s' "
                   "(expected <, <=, >, >=, == or !=)", src, p);
        return -1;
    }
    *opstart = p;
    p = skip_ws(p + *oplen);
    if (op_char(*p)) {
        const char *oe = p;
        while (op_char(*oe))
            oe++;
        errf(err, errlen, "'%s': '%.*s' is not an operator (expected <, <=, >, >=, == or !=)",
               src, (int)(oe - *opstart), *opstart);
        return -1;
    }
    *pp = p;
    return 0;
}

/* The limit at p, a unitless number, and nothing after it. */
static int parse_limit(const char *src, const char *p, const char *opstart, size_t oplen, struct threshold *out,
                       char *err, size_t errlen)
{
    const char *ne = scan_number(p, true);
    if (ne == p) {
        if (*p == '\0')
            errf(err, errlen, "'%s': missing a number after '%.*s'", src, (int)oplen, opstart);
        else
            errf(err, errlen, "'%s': expected a number after '%.*s', got '%s'", src, (int)oplen, opstart, p);
        return -1;
    }
    if (to_double(p, ne, &out->limit) < 0) {
        errf(err, errlen, "'%s': number %.*s is out of range", src, (int)(ne - p), p);
        return -1;
    }
    const char *rest = skip_ws(ne);
    if (*rest) {
        const char *why = "";
        if (rest == ne && (isalpha((unsigned char)*rest) || *rest == '%' || *rest == '.')) {
            if (*rest == '%')
                why = " (thresholds are unitless: a rate is a fraction, 0.005 for 0.5%)";
            else
                why = " (thresholds are unitless: trend values are milliseconds, rates fractions)";
        }
        errf(err, errlen, "'%s': unexpected '%s' after %.*s%s", src, rest, (int)(ne - p), p, why);
        return -1;
    }
    return 0;
}

int threshold_parse(const char *expr, const char *metric, enum metric_type type,
                    struct threshold *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!expr)
        expr = "";
    const char *b = expr, *e = expr + strlen(expr);
    trim(&b, &e);
    if (b == e) {
        errf(err, errlen, "empty threshold expression%s%s (expected e.g. 'p(95)<500')",
               metric ? " on " : "", metric ? metric : "");
        return -1;
    }
    if (copy_span(out->source, sizeof out->source, b, e) < 0) {
        errf(err, errlen, "'%.*s...': threshold expression too long (at most %zu characters)",
               20, b, sizeof out->source - 1);
        return -1;
    }
    const char *src = out->source;    /* the trimmed text: every message quotes it */
    const char *p = src, *opstart;
    size_t oplen;
    if (parse_agg(src, &p, out, err, errlen) != 0 || parse_op(src, &p, out, &opstart, &oplen, err, errlen) != 0 ||
        parse_limit(src, p, opstart, oplen, out, err, errlen) != 0)
        return -1;
    if (!agg_fits(out->agg, type)) {
        errf(err, errlen, "'%s'%s%s: %s", src, metric ? " on " : "", metric ? metric : "",
               type_takes(type));
        return -1;
    }
    return 0;
}

/* ---- evaluation ------------------------------------------------------- */

bool threshold_observed(const struct threshold *t, const struct metric_values *v, double *out)
{
    if (v->type == METRIC_RATE && t->agg == TH_RATE && !(v->count > 0))
        return false;           /* k6: an empty rate sink has no "rate" to compare */
    if (v->type == METRIC_TREND && !(v->count > 0)) {
        *out = 0;               /* k6: an empty trend sink reports 0 for everything */
        return true;
    }
    switch (t->agg) {
    case TH_AVG:   *out = v->avg;   return true;
    case TH_MIN:   *out = v->min;   return true;
    case TH_MAX:   *out = v->max;   return true;
    case TH_MED:   *out = v->med;   return true;
    case TH_RATE:  *out = v->rate;  return true;
    case TH_COUNT: *out = v->count; return true;
    case TH_VALUE: *out = v->value; return true;
    case TH_P:
        if (!v->percentile)
            return false;
        *out = v->percentile(v->ctx, t->p);
        return true;
    }
    return false;
}

static bool compare(double x, enum th_op op, double limit)
{
    switch (op) {
    case TH_LT: return x < limit;
    case TH_LE: return x <= limit;
    case TH_GT: return x > limit;
    case TH_GE: return x >= limit;
    case TH_EQ: return x == limit;
    case TH_NE: return x != limit;
    }
    return false;
}

bool threshold_eval(const struct threshold *t, const struct metric_values *v)
{
    double x;
    if (threshold_observed(t, v, &x))
        return compare(x, t->op, t->limit);
    if (t->agg == TH_P)
        return false;           /* no percentile callback: fail closed */
    return true;                /* a rate with no samples: k6 passes it */
}

bool threshold_abort_due(const struct threshold *t, const struct threshold_abort *a,
                         const struct metric_values *v, int64_t elapsed_ns)
{
    if (!a->abort_on_fail)
        return false;
    if (!(v->count > 0))
        return false;           /* k6 skips empty sinks while the run is going */
    if (threshold_eval(t, v))
        return false;
    return a->delay_ns <= 0 || elapsed_ns > a->delay_ns;
}
