/* report — see report.h.
 *
 * One path computes every number: a metric (name + tag filter) is resolved
 * into a struct mval by merging the per-request metrics the filter selects
 * (mval_compute). Thresholds, the text summary and the JSON export all read
 * mvals, so the value a threshold was judged on is the value printed and
 * exported next to it. */
#include "blaster/report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blaster/units.h"

#define NAME_WIDTH 32   /* metric name + dots, as summary.c (k6 pads names to one column) */
#define MAX_STATS  40

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
static double mean_us(const struct hist *h)
{
    double m = hist_mean(h);
    if (m < (double)hist_min(h))
        m = (double)hist_min(h);
    if (m > (double)hist_max(h))
        m = (double)hist_max(h);
    return m;
}

double report_stat_value(const struct hist *h, const struct report_stat *st)
{
    if (hist_count(h) == 0)
        return 0;
    double us;
    switch (st->kind) {
    case RSTAT_COUNT: return (double)hist_count(h);
    case RSTAT_AVG:   us = mean_us(h); break;
    case RSTAT_MIN:   us = (double)hist_min(h); break;
    case RSTAT_MAX:   us = (double)hist_max(h); break;
    case RSTAT_MED:   us = (double)hist_percentile(h, 50); break;
    default:          us = (double)hist_percentile(h, st->p); break;
    }
    return us / 1000.0;
}

/* Columns s takes on a terminal: UTF-8 aware, "µs" is two. */
static int columns(const char *s)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        cols += (*p & 0xC0) != 0x80;
    return cols;
}

/* s left-aligned in width columns. */
static void lpad(FILE *f, const char *s, int width)
{
    int cols = columns(s);
    fprintf(f, "%s%*s", s, width > cols ? width - cols : 0, "");
}

/* s right-aligned in width columns. */
static void rpad(FILE *f, const char *s, int width)
{
    int cols = columns(s);
    fprintf(f, "%*s%s", width > cols ? width - cols : 0, "", s);
}

void report_name_line(FILE *f, int indent, int width, const char *name)
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

static void fmt_stat(char *buf, size_t n, const struct hist *h, const struct report_stat *st)
{
    double v = report_stat_value(h, st);
    if (st->kind == RSTAT_COUNT)
        snprintf(buf, n, "%.0f", v);
    else
        units_fmt_duration(buf, n, v * 1e6);
}

void report_trend_line(FILE *f, int indent, int width, const char *name, const struct hist *h,
                       const struct report_stat *stats, int nstats)
{
    report_name_line(f, indent, width, name);
    char buf[32], cell[64];
    for (int i = 0; i < nstats; i++) {
        fmt_stat(buf, sizeof buf, h, &stats[i]);
        snprintf(cell, sizeof cell, "%s=%s", stats[i].name, buf);
        lpad(f, cell, i + 1 < nstats ? (int)strlen(stats[i].name) + 10 : 0);
    }
    fputc('\n', f);
}

void report_counter_line(FILE *f, int indent, int width, const char *name, double count, double elapsed,
                         bool bytes)
{
    report_name_line(f, indent, width, name);
    char a[32], b[32];
    if (bytes)
        fprintf(f, "%-9s %s/s\n", units_fmt_bytes(a, sizeof a, count),
                units_fmt_bytes(b, sizeof b, elapsed > 0 ? count / elapsed : 0));
    else
        fprintf(f, "%-9.0f %.2f/s\n", count, elapsed > 0 ? count / elapsed : 0);
}

bool report_tls_seen(uint64_t handshakes, uint64_t tls_errors)
{
    return handshakes > 0 || tls_errors > 0;
}

json_t *report_tls_json(uint64_t handshakes, uint64_t resumed, const char *protocol, const char *reason)
{
    return json_pack("{s:I, s:I, s:s, s:s}", "handshakes", (json_int_t)handshakes, "resumed", (json_int_t)resumed,
                     "protocol", protocol, "last_error", reason);
}

void report_tls_line(FILE *f, int indent, int width, uint64_t handshakes, uint64_t resumed,
                     const char *protocol, double elapsed)
{
    report_name_line(f, indent, width, "tls_handshakes");
    fprintf(f, "%-9llu %.2f/s  (%llu resumed%s%s)\n", (unsigned long long)handshakes,
            elapsed > 0 ? (double)handshakes / elapsed : 0, (unsigned long long)resumed,
            protocol && *protocol ? ", " : "", protocol && *protocol ? protocol : "");
}

void report_error_causes(FILE *f, int indent, const uint64_t errors[ERR__COUNT],
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
static const char *fmt_pct(char *buf, size_t n, double frac)
{
    snprintf(buf, n, "%.2f%%", trunc(frac * 100 * 100) / 100);
    return buf;
}

/* The trend statistics the summary shows: the file's summary_trend_stats,
 * else k6's default; then p(99) and p(99.9), which blaster always reports. */
struct stats {
    struct report_stat v[MAX_STATS];
    int n;
};

static void stats_add(struct stats *st, const char *s)
{
    struct report_stat x;
    if (st->n >= MAX_STATS || report_stat_parse(s, &x) != 0)
        return;
    for (int i = 0; i < st->n; i++)
        if (st->v[i].kind == x.kind && (x.kind != RSTAT_P || st->v[i].p == x.p))
            return;
    st->v[st->n++] = x;
}

static void stats_of(const struct plan *p, struct stats *st)
{
    static const char *const k6_default[] = { "avg", "min", "med", "max", "p(90)", "p(95)" };
    st->n = 0;
    const struct scenario_file *sf = p ? p->file : NULL;
    if (sf && sf->nsummary_trend_stats > 0)
        for (int i = 0; i < sf->nsummary_trend_stats; i++)
            stats_add(st, sf->summary_trend_stats[i]);
    else
        for (size_t i = 0; i < sizeof k6_default / sizeof k6_default[0]; i++)
            stats_add(st, k6_default[i]);
    stats_add(st, "p(99)");
    stats_add(st, "p(99.9)");
}

/* ---- the metrics, and where each comes from ------------------------------ */

enum msrc {
    /* per request */
    M_REQS, M_FAILED, M_CHECKS, M_SENT, M_RECV,
    M_DURATION, M_SERVICE, M_WAITING, M_CONNECTING, M_TLS_HANDSHAKING, M_TLS_HANDSHAKES, M_LAG,
    /* per scenario */
    M_ITERATIONS, M_DROPPED, M_ITER_DURATION, M_VUS, M_VUS_MAX,
};

struct mdef {
    const char *name;
    enum msrc src;
    enum metric_type type;
    const char *contains;   /* k6's "contains": default, time, data */
};

/* In the order of the JSON export. */
static const struct mdef mdefs[] = {
    { "checks",              M_CHECKS,        METRIC_RATE,    "default" },
    { "data_received",       M_RECV,          METRIC_COUNTER, "data" },
    { "data_sent",           M_SENT,          METRIC_COUNTER, "data" },
    { "dropped_iterations",  M_DROPPED,       METRIC_COUNTER, "default" },
    { "http_req_connecting", M_CONNECTING,    METRIC_TREND,   "time" },
    { "http_req_duration",   M_DURATION,      METRIC_TREND,   "time" },
    { "http_req_failed",     M_FAILED,        METRIC_RATE,    "default" },
    { "http_req_service",    M_SERVICE,       METRIC_TREND,   "time" },
    { "http_req_tls_handshaking", M_TLS_HANDSHAKING, METRIC_TREND, "time" },  /* TLS runs only */
    { "http_req_waiting",    M_WAITING,       METRIC_TREND,   "time" },
    { "http_reqs",           M_REQS,          METRIC_COUNTER, "default" },
    { "iteration_duration",  M_ITER_DURATION, METRIC_TREND,   "time" },
    { "iterations",          M_ITERATIONS,    METRIC_COUNTER, "default" },
    { "tls_handshakes",      M_TLS_HANDSHAKES, METRIC_COUNTER, "default" },    /* TLS runs only; blaster's */
    { "vus",                 M_VUS,           METRIC_GAUGE,   "default" },
    { "vus_max",             M_VUS_MAX,       METRIC_GAUGE,   "default" },
    { "client_lag",          M_LAG,           METRIC_TREND,   "time" },
};
#define NMDEFS ((int)(sizeof mdefs / sizeof mdefs[0]))

static const struct mdef *mdef_find(const char *name)
{
    for (int i = 0; i < NMDEFS; i++)
        if (strcmp(mdefs[i].name, name) == 0)
            return &mdefs[i];
    return NULL;
}

static const struct mdef *mdef_of(enum msrc src)
{
    for (int i = 0; i < NMDEFS; i++)
        if (mdefs[i].src == src)
            return &mdefs[i];
    return NULL;
}

static bool per_request(enum msrc s) { return s <= M_LAG; }

/* The metrics only a run that did TLS reports (report_tls_seen). */
static bool tls_only(enum msrc s) { return s == M_TLS_HANDSHAKING || s == M_TLS_HANDSHAKES; }

/* Which requests (or scenarios) a metric merges. */
struct filter {
    int sc;              /* scenario index; -1: every scenario */
    const char *name;    /* the step's name tag; NULL: any */
    const char *method;  /* NULL: any */
    int expected;        /* expected_response: -1 any, 0 false, 1 true */
};

static const struct filter all = { -1, NULL, NULL, -1 };

/* The request whose metrics are slot q of scenario ps: the first request
 * with that metric index (pre-rendered variants of one step may share it),
 * or NULL when no request names it. */
static const struct plan_request *slot_req(const struct plan_scenario *ps, int q)
{
    for (int r = 0; r < ps->nreqs; r++)
        if (ps->reqs[r].metric == q)
            return &ps->reqs[r];
    return NULL;
}

static bool slot_match(const struct plan_request *rq, const struct filter *f)
{
    if (!f->name && !f->method)
        return true;
    if (!rq)
        return false;
    if (f->name && (!rq->name || strcmp(rq->name, f->name) != 0))
        return false;
    if (f->method && (!rq->method || strcmp(rq->method, f->method) != 0))
        return false;
    return true;
}

/* Walks the metric slots a filter selects, scenario by scenario. */
struct slot_it {
    const struct report_input *in;
    const struct filter *f;
    int s, q;
};

static const struct metrics *slot_next(struct slot_it *it, const struct plan_request **rq)
{
    const struct plan *p = it->in->plan;
    while (it->s < p->nsc) {
        const struct scenario_metrics *sm = &it->in->m[it->s];
        if ((it->f->sc >= 0 && it->s != it->f->sc) || it->q >= sm->nreq) {
            it->s++;
            it->q = 0;
            continue;
        }
        int q = it->q++;
        const struct plan_request *r = slot_req(&p->sc[it->s], q);
        if (slot_match(r, it->f)) {
            if (rq)
                *rq = r;
            return &sm->req[q];
        }
    }
    return NULL;
}

/* The counters of the selected requests, summed. */
struct reqsum {
    uint64_t reqs, failed, checks_pass, checks_fail, bytes_sent, bytes_recv;
    uint64_t queued, interrupted, connects;
    uint64_t handshakes, resumed;
    char     tls_protocol[sizeof ((struct metrics *)0)->tls_protocol];  /* the last one seen, "" none */
    char     tls_reason[sizeof ((struct metrics *)0)->tls_reason];
    uint64_t status[METRICS_MAX_STATUS];
    uint64_t errors[ERR__COUNT];
    int      last_errno[ERR__COUNT];
};

static void reqsum_of(const struct report_input *in, const struct filter *f, struct reqsum *s)
{
    memset(s, 0, sizeof *s);
    struct slot_it it = { in, f, 0, 0 };
    const struct metrics *m;
    while ((m = slot_next(&it, NULL))) {
        s->reqs += m->reqs;
        s->failed += m->failed;
        s->checks_pass += m->checks_pass;
        s->checks_fail += m->checks_fail;
        s->bytes_sent += m->bytes_sent;
        s->bytes_recv += m->bytes_recv;
        s->queued += m->queued;
        s->interrupted += m->interrupted;
        s->connects += m->connects;
        s->handshakes += m->handshakes;
        s->resumed += m->resumed;
        if (m->tls_protocol[0])
            memcpy(s->tls_protocol, m->tls_protocol, sizeof s->tls_protocol);
        if (m->tls_reason[0])
            memcpy(s->tls_reason, m->tls_reason, sizeof s->tls_reason);
        for (int i = 0; i < METRICS_MAX_STATUS; i++)
            s->status[i] += m->status[i];
        for (int e = 0; e < ERR__COUNT; e++) {
            s->errors[e] += m->errors[e];
            if (m->last_errno[e])
                s->last_errno[e] = m->last_errno[e];
        }
    }
}

/* Did the selection do TLS (a handshake or a tls error)? */
static bool tls_seen(const struct reqsum *s)
{
    return report_tls_seen(s->handshakes, s->errors[ERR_TLS]);
}

static const struct hist *req_hist(const struct metrics *m, enum msrc src, int expected)
{
    switch (src) {
    case M_DURATION:   return expected == 1 ? &m->duration_ok : &m->duration;
    case M_SERVICE:    return &m->service;
    case M_WAITING:    return &m->waiting;
    case M_CONNECTING: return &m->connecting;
    case M_TLS_HANDSHAKING: return &m->tls_handshaking;
    case M_LAG:        return &m->lag;
    default:           return NULL;
    }
}

/* Initialise out like src (or blaster's defaults without one) and merge src in. */
static int hist_add(struct hist *out, const struct hist *src)
{
    if (!out->counts) {
        int rc = src && src->counts ? hist_init(out, src->lowest, src->highest, src->sigfigs)
                                    : hist_init(out, 1, 3600LL * 1000 * 1000, 3);
        if (rc != 0)
            return rc;
    }
    return src && src->counts ? hist_merge(out, src) : 0;
}

/* The trend src of the selection merged into out (which the caller frees). */
static int hist_of(const struct report_input *in, const struct filter *f, enum msrc src, struct hist *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (src == M_ITER_DURATION) {
        for (int s = 0; s < in->plan->nsc && rc == 0; s++)
            if (f->sc < 0 || f->sc == s)
                rc = hist_add(out, &in->m[s].iteration_duration);
    } else {
        struct slot_it it = { in, f, 0, 0 };
        const struct metrics *m;
        while ((m = slot_next(&it, NULL)) && rc == 0)
            rc = hist_add(out, req_hist(m, src, f->expected));
    }
    if (rc == 0 && !out->counts)
        rc = hist_add(out, NULL);   /* nothing selected: an empty trend */
    if (rc != 0 && out->counts)
        hist_free(out);
    return rc;
}

/* The per-scenario counters of the selected scenarios. */
struct scsum {
    uint64_t iterations, dropped, interrupted;
    uint64_t vus, vus_max;
    int nsc;
};

static void scsum_of(const struct report_input *in, const struct filter *f, struct scsum *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < in->plan->nsc; i++) {
        if (f->sc >= 0 && f->sc != i)
            continue;
        const struct scenario_metrics *m = &in->m[i];
        s->iterations += m->iterations;
        s->dropped += m->dropped;
        s->interrupted += m->interrupted;
        s->vus += m->vus;
        s->vus_max += m->vus_max;
        s->nsc++;
    }
}

/* One metric's values, as k6's sinks hold them. */
struct mval {
    const struct mdef *def;
    double   count;          /* counter: the total; trend: samples */
    double   rate;           /* counter: per second; rate: passes / (passes + fails) */
    uint64_t passes, fails;  /* rate: true and false samples */
    double   value, min, max;/* gauge */
    bool     gauge_set;
    struct hist h;           /* trend: merged, owned */
};

static void mval_free(struct mval *v)
{
    if (v->h.counts)
        hist_free(&v->h);
}

static int mval_compute(const struct report_input *in, const struct mdef *d, const struct filter *f,
                        struct mval *v)
{
    memset(v, 0, sizeof *v);
    v->def = d;
    double el = in->elapsed_s > 0 ? in->elapsed_s : 0;
    if (d->type == METRIC_TREND) {
        int rc = hist_of(in, f, d->src, &v->h);
        v->count = rc == 0 ? (double)hist_count(&v->h) : 0;
        return rc;
    }
    if (per_request(d->src)) {
        struct reqsum *s = malloc(sizeof *s);
        if (!s)
            return -ENOMEM;
        reqsum_of(in, f, s);
        uint64_t ok = s->reqs >= s->failed ? s->reqs - s->failed : 0;
        switch (d->src) {
        case M_REQS:
            v->count = (double)(f->expected == 1 ? ok : f->expected == 0 ? s->failed : s->reqs);
            break;
        case M_FAILED: /* k6's Rate: the true samples are the failed requests */
            v->passes = f->expected == 1 ? 0 : s->failed;
            v->fails = f->expected == 0 ? 0 : ok;
            break;
        case M_CHECKS:
            v->passes = s->checks_pass;
            v->fails = s->checks_fail;
            break;
        case M_SENT: v->count = (double)s->bytes_sent; break;
        case M_RECV: v->count = (double)s->bytes_recv; break;
        case M_TLS_HANDSHAKES: v->count = (double)s->handshakes; break;
        default: break;
        }
        free(s);
    } else {
        struct scsum s;
        scsum_of(in, f, &s);
        switch (d->src) {
        case M_ITERATIONS: v->count = (double)s.iterations; break;
        case M_DROPPED:    v->count = (double)s.dropped; break;
        case M_VUS:
            /* The gauge's samples blaster keeps: the last value and the peak. */
            v->value = (double)s.vus;
            v->max = (double)(s.vus_max > s.vus ? s.vus_max : s.vus);
            v->min = v->value;
            v->gauge_set = s.nsc > 0;
            break;
        case M_VUS_MAX:
            v->value = v->min = v->max = (double)s.vus_max;
            v->gauge_set = s.nsc > 0;
            break;
        default: break;
        }
    }
    if (d->type == METRIC_COUNTER)
        v->rate = el > 0 ? v->count / el : 0;
    if (d->type == METRIC_RATE) {
        v->count = (double)(v->passes + v->fails);
        v->rate = v->count > 0 ? (double)v->passes / v->count : 0;
    }
    return 0;
}

static double pct_ms(const void *ctx, double p)
{
    return (double)hist_percentile(ctx, p) / 1000.0;
}

static void mval_values(const struct mval *v, struct metric_values *out)
{
    memset(out, 0, sizeof *out);
    out->type = v->def->type;
    out->count = v->count;
    out->rate = v->rate;
    switch (v->def->type) {
    case METRIC_GAUGE:
        out->value = v->value;
        out->count = v->gauge_set ? 1 : 0;
        break;
    case METRIC_TREND:
        if (v->h.counts && hist_count(&v->h)) {
            out->avg = mean_us(&v->h) / 1000.0;
            out->min = (double)hist_min(&v->h) / 1000.0;
            out->max = (double)hist_max(&v->h) / 1000.0;
            out->med = (double)hist_percentile(&v->h, 50) / 1000.0;
        }
        out->percentile = v->h.counts ? pct_ms : NULL;
        out->ctx = &v->h;
        break;
    default:
        break;
    }
}

/* ---- thresholds ---------------------------------------------------------- */

static void seterr(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t n, const char *fmt, ...)
{
    if (!err || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* Append to buf (of n) at *len, truncating. */
static void cat(char *buf, size_t n, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cat(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = *len + (size_t)w < n ? *len + (size_t)w : n - 1;
}

/* "a, b, c" of the distinct names or methods of the plan's requests, for messages. */
static void list_req_field(const struct plan *p, bool method, char *buf, size_t n)
{
    size_t len = 0;
    int shown = 0;
    buf[0] = '\0';
    for (int s = 0; s < p->nsc; s++) {
        for (int r = 0; r < p->sc[s].nreqs; r++) {
            const char *v = method ? p->sc[s].reqs[r].method : p->sc[s].reqs[r].name;
            if (!v)
                continue;
            bool seen = false;
            for (int s2 = 0; s2 <= s && !seen; s2++)
                for (int r2 = 0; r2 < (s2 == s ? r : p->sc[s2].nreqs) && !seen; r2++) {
                    const char *w = method ? p->sc[s2].reqs[r2].method : p->sc[s2].reqs[r2].name;
                    seen = w && strcmp(v, w) == 0;
                }
            if (seen)
                continue;
            if (shown == 12) {
                cat(buf, n, &len, ", ...");
                return;
            }
            cat(buf, n, &len, "%s%s", shown ? ", " : "", v);
            shown++;
        }
    }
}

static bool plan_has_req(const struct plan *p, int sc, const char *name, const char *method)
{
    for (int s = 0; s < p->nsc; s++) {
        if (sc >= 0 && s != sc)
            continue;
        for (int r = 0; r < p->sc[s].nreqs; r++) {
            const struct plan_request *rq = &p->sc[s].reqs[r];
            if ((!name || (rq->name && strcmp(rq->name, name) == 0)) &&
                (!method || (rq->method && strcmp(rq->method, method) == 0)))
                return true;
        }
    }
    return false;
}

static void filter_of(const struct report_threshold *t, struct filter *f)
{
    *f = all;
    f->sc = t->sc_;
    f->expected = t->expected_;
    for (int i = 0; i < t->ref.nfilters; i++) {
        if (strcmp(t->ref.filters[i].key, "name") == 0)
            f->name = t->ref.filters[i].value;
        else if (strcmp(t->ref.filters[i].key, "method") == 0)
            f->method = t->ref.filters[i].value;
    }
}

/* Compile one threshold; msg says what is wrong (without the position). */
static int compile_one(const struct plan *p, const struct threshold_spec *spec, struct report_threshold *t,
                       char *msg, size_t n)
{
    char e2[320];
    t->spec = spec;
    t->sc_ = -1;
    t->expected_ = -1;
    if (metric_ref_parse(spec->metric, &t->ref, e2, sizeof e2) != 0) {
        seterr(msg, n, "threshold metric %s", e2);
        return -1;
    }
    const char *mname = t->ref.name;
    if (metric_type_of(mname, &t->type) != 0) {
        const char *near = metric_suggest(mname);
        if (near)
            seterr(msg, n, "unknown metric '%s' (did you mean '%s'?)", mname, near);
        else
            seterr(msg, n, "unknown metric '%s' (blaster's metrics: http_reqs, http_req_duration, "
                           "http_req_failed, http_req_service, http_req_waiting, http_req_connecting, "
                           "http_req_tls_handshaking, iterations, iteration_duration, dropped_iterations, "
                           "data_sent, data_received, vus, vus_max, checks, client_lag, tls_handshakes; "
                           "custom metrics are not supported)", mname);
        return -1;
    }
    const struct mdef *d = mdef_find(mname);
    if (!d) {
        seterr(msg, n, "metric '%s' is not measured by blaster yet (thresholds can use http_req_duration, "
                       "http_req_service, http_req_waiting, http_req_connecting, http_req_tls_handshaking, ...)",
               mname);
        return -1;
    }
    char key[sizeof t->key];
    metric_ref_format(&t->ref, key, sizeof key);
    const char *fname = NULL, *fmethod = NULL;
    for (int i = 0; i < t->ref.nfilters; i++) {
        const char *k = t->ref.filters[i].key, *v = t->ref.filters[i].value;
        if (strcmp(k, "scenario") == 0) {
            for (int s = 0; s < p->nsc && t->sc_ < 0; s++)
                if (p->sc[s].name && strcmp(p->sc[s].name, v) == 0)
                    t->sc_ = s;
            if (t->sc_ < 0) {
                size_t len = 0;
                char names[256] = "";
                for (int s = 0; s < p->nsc; s++)
                    cat(names, sizeof names, &len, "%s%s", s ? ", " : "", p->sc[s].name ? p->sc[s].name : "?");
                seterr(msg, n, "'%s': no scenario '%s' (the scenarios are: %s)", key, v, names);
                return -1;
            }
        } else if (strcmp(k, "name") == 0 || strcmp(k, "method") == 0) {
            bool is_name = k[0] == 'n';
            if (!per_request(d->src)) {
                seterr(msg, n, "'%s': tag filter '%s' does not apply to %s (counted per scenario: "
                               "only {scenario:...} filters it)", key, k, mname);
                return -1;
            }
            if (!plan_has_req(p, -1, is_name ? v : NULL, is_name ? NULL : v)) {
                char list[256];
                list_req_field(p, !is_name, list, sizeof list);
                seterr(msg, n, "'%s': no step has %s '%s' (%s used: %s)", key, is_name ? "the name" : "method",
                       v, is_name ? "names" : "methods", list);
                return -1;
            }
            if (is_name)
                fname = v;
            else
                fmethod = v;
        } else if (strcmp(k, "expected_response") == 0) {
            bool takes = d->src == M_REQS || d->src == M_FAILED || d->src == M_DURATION;
            if (!takes) {
                seterr(msg, n, "'%s': tag filter 'expected_response' is supported on http_req_duration, "
                               "http_reqs and http_req_failed only", key);
                return -1;
            }
            if (strcmp(v, "true") == 0)
                t->expected_ = 1;
            else if (strcmp(v, "false") == 0 && d->src != M_DURATION)
                t->expected_ = 0;
            else if (strcmp(v, "false") == 0) {
                seterr(msg, n, "'%s': expected_response:false is not supported yet on http_req_duration "
                               "(only the expected responses' durations are kept apart)", key);
                return -1;
            } else {
                seterr(msg, n, "'%s': expected_response is true or false, got '%s'", key, v);
                return -1;
            }
        } else {
            seterr(msg, n, "'%s': tag filter '%s' is not supported yet (supported: scenario, name, method, "
                           "expected_response)", key, k);
            return -1;
        }
    }
    if ((fname || fmethod) && !plan_has_req(p, t->sc_, fname, fmethod)) {
        seterr(msg, n, "'%s': the filter matches no request of the plan%s", key,
               t->sc_ >= 0 ? " (that scenario has no such step)" : "");
        return -1;
    }
    if (threshold_parse(spec->expr, key, t->type, &t->th, e2, sizeof e2) != 0) {
        seterr(msg, n, "%s", e2);
        return -1;
    }
    snprintf(t->key, sizeof t->key, "%s", key);
    return 0;
}

int report_thresholds_compile(const struct plan *p, struct report_thresholds *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct scenario_file *sf = p ? p->file : NULL;
    if (!sf || sf->nthresholds <= 0)
        return 0;
    out->v = calloc((size_t)sf->nthresholds, sizeof *out->v);
    if (!out->v) {
        seterr(err, errlen, "%s: out of memory compiling thresholds", sf->path ? sf->path : "?");
        return -1;
    }
    for (int i = 0; i < sf->nthresholds; i++) {
        const struct threshold_spec *spec = &sf->thresholds[i];
        char msg[600];
        if (compile_one(p, spec, &out->v[i], msg, sizeof msg) != 0) {
            seterr(err, errlen, "%s:%d:%d: %s", sf->path ? sf->path : "?", spec->pos.line, spec->pos.col, msg);
            report_thresholds_free(out);
            return -1;
        }
        out->n++;
    }
    /* Equal refs written differently ({a:1,b:2} and {b:2,a:1}) are one sub-metric: one key. */
    for (int i = 1; i < out->n; i++)
        for (int j = 0; j < i; j++)
            if (metric_ref_equal(&out->v[i].ref, &out->v[j].ref)) {
                memcpy(out->v[i].key, out->v[j].key, sizeof out->v[i].key);
                break;
            }
    return 0;
}

void report_thresholds_free(struct report_thresholds *t)
{
    if (!t)
        return;
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* Compute t's metric; fills mv (whose trend the caller frees) and vals. */
static int threshold_metric(const struct report_threshold *t, const struct report_input *in, struct mval *mv,
                            struct metric_values *vals)
{
    struct filter f;
    filter_of(t, &f);
    int rc = mval_compute(in, mdef_find(t->ref.name), &f, mv);
    mval_values(mv, vals);
    return rc;
}

int report_thresholds_eval(struct report_thresholds *t, const struct report_input *in)
{
    int failed = 0;
    for (int i = 0; t && i < t->n; i++) {
        struct report_threshold *x = &t->v[i];
        struct mval mv;
        struct metric_values vals;
        if (threshold_metric(x, in, &mv, &vals) != 0) {
            /* Out of memory merging: fail closed rather than pass unseen. */
            x->ok = false;
            x->has_observed = false;
        } else {
            x->has_observed = threshold_observed(&x->th, &vals, &x->observed);
            x->ok = threshold_eval(&x->th, &vals);
        }
        mval_free(&mv);
        failed += !x->ok;
    }
    return failed;
}

int report_thresholds_abort_due(struct report_thresholds *t, const struct report_input *in, int64_t elapsed_ns,
                                char *by, size_t bylen)
{
    for (int i = 0; t && i < t->n; i++) {
        struct report_threshold *x = &t->v[i];
        if (!x->spec || !x->spec->abort_on_fail)
            continue;
        struct mval mv;
        struct metric_values vals;
        bool due = false;
        if (threshold_metric(x, in, &mv, &vals) == 0) {
            struct threshold_abort a = { x->spec->abort_on_fail, x->spec->delay_abort_eval_ns };
            x->has_observed = threshold_observed(&x->th, &vals, &x->observed);
            x->ok = threshold_eval(&x->th, &vals);
            due = threshold_abort_due(&x->th, &a, &vals, elapsed_ns);
        }
        mval_free(&mv);
        if (due) {
            seterr(by, bylen, "%s: %s", x->key, x->th.source);
            return i;
        }
    }
    return -1;
}

/* "p(95)=123.4ms", "rate=1.20%", "count=12", "rate=3.5/s", "value=10". */
static void fmt_observed(char *buf, size_t n, const struct report_threshold *t)
{
    static const char *const agg_names[] = {
        [TH_AVG] = "avg", [TH_MIN] = "min", [TH_MAX] = "max", [TH_MED] = "med",
        [TH_RATE] = "rate", [TH_COUNT] = "count", [TH_VALUE] = "value",
    };
    char agg[32], v[48];
    if (t->th.agg == TH_P)
        snprintf(agg, sizeof agg, "p(%g)", t->th.p);
    else
        snprintf(agg, sizeof agg, "%s", agg_names[t->th.agg]);
    const struct mdef *d = mdef_find(t->ref.name);
    bool data = d && strcmp(d->contains, "data") == 0;
    if (!t->has_observed) {
        snprintf(buf, n, "%s=n/a (no samples)", agg);
        return;
    }
    switch (t->type) {
    case METRIC_TREND:
        units_fmt_duration(v, sizeof v, t->observed * 1e6);
        break;
    case METRIC_RATE:
        fmt_pct(v, sizeof v, t->observed);
        break;
    case METRIC_COUNTER: {
        char num[40];
        if (data)
            units_fmt_bytes(num, sizeof num, t->observed);
        else
            units_fmt_count(num, sizeof num, t->observed);
        snprintf(v, sizeof v, "%s%s", num, t->th.agg == TH_RATE ? "/s" : "");
        break;
    }
    default:
        units_fmt_count(v, sizeof v, t->observed);
        break;
    }
    snprintf(buf, n, "%s=%s", agg, v);
}

/* ---- checks: one per distinct check name, k6's root_group ---------------- */

struct check_row {
    char    *name;
    uint64_t passes, fails;
};

static void checks_free(struct check_row *c, int n)
{
    for (int i = 0; i < n; i++)
        free(c[i].name);
    free(c);
}

/* The checks of the selected requests, merged by name in order of first
 * appearance. A step counts checks when it has `expect` (its check_name) or
 * captures (a capture that found nothing fails its check). -1: no memory. */
static int checks_collect(const struct report_input *in, const struct filter *f, struct check_row **out)
{
    *out = NULL;
    int n = 0, cap = 0;
    struct slot_it it = { in, f, 0, 0 };
    const struct metrics *m;
    const struct plan_request *rq;
    while ((m = slot_next(&it, &rq))) {
        if (!rq || (!rq->has_expect && m->checks_pass + m->checks_fail == 0))
            continue;
        char fallback[256];
        const char *name = rq->check_name;
        if (!name) {
            snprintf(fallback, sizeof fallback, "%s: %s", rq->name ? rq->name : "?",
                     rq->has_expect ? "status as expected" : "captures found");
            name = fallback;
        }
        int i = 0;
        while (i < n && strcmp((*out)[i].name, name) != 0)
            i++;
        if (i == n) {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                struct check_row *c = realloc(*out, (size_t)cap * sizeof *c);
                if (!c)
                    goto nomem;
                *out = c;
            }
            (*out)[n] = (struct check_row){ strdup(name), 0, 0 };
            if (!(*out)[n].name)
                goto nomem;
            n++;
        }
        (*out)[i].passes += m->checks_pass;
        (*out)[i].fails += m->checks_fail;
    }
    return n;
nomem:
    checks_free(*out, n);
    *out = NULL;
    return -1;
}

/* ---- the text summary ---------------------------------------------------- */

static const char *executor_name(const struct scenario *s)
{
    static const char *const names[] = {
        [EXEC_CONSTANT_VUS] = "constant-vus", [EXEC_RAMPING_VUS] = "ramping-vus",
        [EXEC_CONSTANT_ARRIVAL_RATE] = "constant-arrival-rate", [EXEC_RAMPING_ARRIVAL_RATE] = "ramping-arrival-rate",
        [EXEC_PER_VU_ITERATIONS] = "per-vu-iterations", [EXEC_SHARED_ITERATIONS] = "shared-iterations",
    };
    if (!s || (unsigned)s->executor >= sizeof names / sizeof names[0])
        return NULL;
    return names[s->executor];
}

static bool closed_without_pace(const struct scenario *s)
{
    return s && s->executor != EXEC_CONSTANT_ARRIVAL_RATE && s->executor != EXEC_RAMPING_ARRIVAL_RATE &&
           s->pace_ns <= 0;
}

/* "<pct>  <n> out of <total>", k6's rate line. */
static void rate_line(FILE *f, int indent, int width, const char *name, uint64_t yes, uint64_t total)
{
    char pct[32];
    report_name_line(f, indent, width, name);
    fmt_pct(pct, sizeof pct, total ? (double)yes / (double)total : 0);
    lpad(f, pct, 7);
    fprintf(f, " %llu out of %llu\n", (unsigned long long)yes, (unsigned long long)total);
}

static void gauge_line(FILE *f, int indent, const char *name, const struct mval *v)
{
    char a[32], b[32], c[32];
    report_name_line(f, indent, NAME_WIDTH, name);
    fprintf(f, "%-9s min=%s max=%s\n", units_fmt_count(a, sizeof a, v->value),
            units_fmt_count(b, sizeof b, v->min), units_fmt_count(c, sizeof c, v->max));
}

/* A trend of the selection, on one line; sub: k6's indented sub-metric line. */
static void trend_of(FILE *f, const struct report_input *in, const struct filter *flt, enum msrc src,
                     const char *label, bool sub, const struct stats *st)
{
    struct hist h;
    if (hist_of(in, flt, src, &h) != 0) {
        report_name_line(f, sub ? 6 : 4, sub ? NAME_WIDTH - 2 : NAME_WIDTH, label);
        fprintf(f, "(out of memory)\n");
        return;
    }
    report_trend_line(f, sub ? 6 : 4, sub ? NAME_WIDTH - 2 : NAME_WIDTH, label, &h, st->v, st->n);
    hist_free(&h);
}

static void status_list(FILE *f, const struct reqsum *s, bool with_errors)
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

static void print_checks(FILE *f, const struct report_input *in, const struct filter *flt, int indent)
{
    struct check_row *c;
    int n = checks_collect(in, flt, &c);
    if (n <= 0)
        return;
    uint64_t pass = 0, fail = 0;
    for (int i = 0; i < n; i++)
        pass += c[i].passes, fail += c[i].fails;
    report_counter_line(f, indent, NAME_WIDTH, "checks_total", (double)(pass + fail), in->elapsed_s, false);
    rate_line(f, indent, NAME_WIDTH, "checks_succeeded", pass, pass + fail);
    rate_line(f, indent, NAME_WIDTH, "checks_failed", fail, pass + fail);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        if (c[i].passes + c[i].fails == 0) {
            fprintf(f, "%*s- %s (never ran)\n", indent, "", c[i].name);
            continue;
        }
        if (c[i].fails == 0) {
            fprintf(f, "%*s✓ %s\n", indent, "", c[i].name);
            continue;
        }
        uint64_t tot = c[i].passes + c[i].fails;
        fprintf(f, "%*s✗ %s\n", indent, "", c[i].name);
        fprintf(f, "%*s↳  %llu%% — ✓ %llu / ✗ %llu\n", indent + 2, "",
                (unsigned long long)(100 * c[i].passes / tot), (unsigned long long)c[i].passes,
                (unsigned long long)c[i].fails);
    }
    fputc('\n', f);
    checks_free(c, n);
}

static int cmp_threshold_key(const void *a, const void *b)
{
    const struct report_threshold *x = *(const struct report_threshold *const *)a;
    const struct report_threshold *y = *(const struct report_threshold *const *)b;
    int c = strcmp(x->ref.name, y->ref.name);
    return c ? c : strcmp(x->key, y->key);
}

/* k6's THRESHOLDS section: per metric key (sorted, sub-metrics under their
 * parent), a line per expression. */
static void print_thresholds(FILE *f, const struct report_thresholds *t)
{
    if (!t || t->n == 0)
        return;
    const struct report_threshold **firsts = calloc((size_t)t->n, sizeof *firsts);
    if (!firsts)
        return;
    int nk = 0;
    for (int i = 0; i < t->n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(t->v[j].key, t->v[i].key) == 0;
        if (!seen)
            firsts[nk++] = &t->v[i];
    }
    qsort(firsts, (size_t)nk, sizeof *firsts, cmp_threshold_key);
    fprintf(f, "  █ THRESHOLDS\n\n");
    for (int k = 0; k < nk; k++) {
        const struct report_threshold *h = firsts[k];
        bool parent = false;
        if (h->ref.nfilters > 0)
            for (int j = 0; j < t->n && !parent; j++)
                parent = strcmp(t->v[j].key, h->ref.name) == 0;
        int indent = parent ? 6 : 4;
        fprintf(f, "%*s%s\n", indent, "", parent ? h->key + strlen(h->ref.name) : h->key);
        for (int i = 0; i < t->n; i++) {
            const struct report_threshold *x = &t->v[i];
            if (strcmp(x->key, h->key) != 0)
                continue;
            char obs[96];
            fmt_observed(obs, sizeof obs, x);
            fprintf(f, "%*s%s '%s' %s%s\n", indent, "", x->ok ? "✓" : "✗", x->th.source, obs,
                    x->spec && x->spec->abort_on_fail ? " (abortOnFail)" : "");
        }
        fputc('\n', f);
    }
    fputc('\n', f);
    free(firsts);
}

static void print_total(FILE *f, const struct report_input *in, const struct stats *st)
{
    struct reqsum *s = malloc(sizeof *s);
    if (!s)
        return;
    reqsum_of(in, &all, s);
    struct filter ok = all;
    ok.expected = 1;

    fprintf(f, "  █ TOTAL RESULTS\n\n");
    print_checks(f, in, &all, 4);

    fprintf(f, "    HTTP\n");
    trend_of(f, in, &all, M_DURATION, "http_req_duration", false, st);
    trend_of(f, in, &ok, M_DURATION, "{ expected_response:true }", true, st);
    rate_line(f, 4, NAME_WIDTH, "http_req_failed", s->failed, s->reqs);
    report_counter_line(f, 4, NAME_WIDTH, "http_reqs", (double)s->reqs, in->elapsed_s, false);
    trend_of(f, in, &all, M_SERVICE, "http_req_service", false, st);
    trend_of(f, in, &all, M_WAITING, "http_req_waiting", false, st);
    trend_of(f, in, &all, M_CONNECTING, "http_req_connecting", false, st);
    if (tls_seen(s)) {
        trend_of(f, in, &all, M_TLS_HANDSHAKING, "http_req_tls_handshaking", false, st);
        report_tls_line(f, 4, NAME_WIDTH, s->handshakes, s->resumed, s->tls_protocol, in->elapsed_s);
    }
    report_name_line(f, 4, NAME_WIDTH, "status");
    status_list(f, s, false);
    fputc('\n', f);
    report_name_line(f, 4, NAME_WIDTH, "errors");
    for (int e = 0; e < ERR__COUNT; e++)
        fprintf(f, "%s%s=%llu", e ? " " : "", err_class_name[e], (unsigned long long)s->errors[e]);
    fputc('\n', f);
    report_error_causes(f, 6, s->errors, s->last_errno, s->tls_reason);
    if (s->queued || s->interrupted) {
        report_name_line(f, 4, NAME_WIDTH, "requests");
        fprintf(f, "%llu waited for a free connection, %llu in flight at the end (not counted)\n",
                (unsigned long long)s->queued, (unsigned long long)s->interrupted);
    }
    fputc('\n', f);

    struct scsum sc;
    scsum_of(in, &all, &sc);
    struct mval vus, vus_max;
    mval_compute(in, mdef_of(M_VUS), &all, &vus);
    mval_compute(in, mdef_of(M_VUS_MAX), &all, &vus_max);
    fprintf(f, "    EXECUTION\n");
    report_counter_line(f, 4, NAME_WIDTH, "dropped_iterations", (double)sc.dropped, in->elapsed_s, false);
    trend_of(f, in, &all, M_ITER_DURATION, "iteration_duration", false, st);
    report_counter_line(f, 4, NAME_WIDTH, "iterations", (double)sc.iterations, in->elapsed_s, false);
    gauge_line(f, 4, "vus", &vus);
    gauge_line(f, 4, "vus_max", &vus_max);
    fputc('\n', f);

    fprintf(f, "    NETWORK\n");
    report_counter_line(f, 4, NAME_WIDTH, "data_received", (double)s->bytes_recv, in->elapsed_s, true);
    report_counter_line(f, 4, NAME_WIDTH, "data_sent", (double)s->bytes_sent, in->elapsed_s, true);
    fprintf(f, "\n\n");
    mval_free(&vus);
    mval_free(&vus_max);
    free(s);
}

/* The distinct step names of scenario s, in plan order (slots sharing a name
 * are one step, as k6's name tag makes them one). n written to *n; NULL with
 * *n == 0 when there are none or no memory. */
static const char **step_names(const struct report_input *in, int s, int *n)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    const struct scenario_metrics *sm = &in->m[s];
    *n = 0;
    if (sm->nreq <= 0)
        return NULL;
    const char **names = calloc((size_t)sm->nreq, sizeof *names);
    if (!names)
        return NULL;
    for (int q = 0; q < sm->nreq; q++) {
        const struct plan_request *rq = slot_req(ps, q);
        if (!rq || !rq->name)
            continue;
        bool seen = false;
        for (int i = 0; i < *n && !seen; i++)
            seen = strcmp(names[i], rq->name) == 0;
        if (!seen)
            names[(*n)++] = rq->name;
    }
    return names;
}

static void print_steps(FILE *f, const struct report_input *in, int s)
{
    int n;
    const char **names = step_names(in, s, &n);
    if (n == 0) {
        free(names);
        return;
    }
    struct reqsum *rs = malloc(sizeof *rs);
    if (!rs) {
        free(names);
        return;
    }
    int w = 4;
    for (int i = 0; i < n; i++)
        if (columns(names[i]) > w)
            w = columns(names[i]);
    if (w > 48)
        w = 48;
    fprintf(f, "    ");
    lpad(f, "step", w);
    fprintf(f, " %9s %8s %9s %9s %9s   %s\n", "reqs", "failed", "p(50)", "p(95)", "p(99)", "statuses");
    for (int i = 0; i < n; i++) {
        struct filter flt = all;
        flt.sc = s;
        flt.name = names[i];
        reqsum_of(in, &flt, rs);
        struct hist h;
        char pct[32], d[3][32];
        static const double ps[3] = { 50, 95, 99 };
        if (hist_of(in, &flt, M_DURATION, &h) == 0) {
            for (int k = 0; k < 3; k++) {
                struct report_stat st = { .kind = RSTAT_P, .p = ps[k] };
                fmt_stat(d[k], sizeof d[k], &h, &st);
            }
            hist_free(&h);
        } else {
            for (int k = 0; k < 3; k++)
                snprintf(d[k], sizeof d[k], "?");
        }
        fprintf(f, "    ");
        lpad(f, names[i], w);
        fprintf(f, " %9llu ", (unsigned long long)rs->reqs);
        rpad(f, fmt_pct(pct, sizeof pct, rs->reqs ? (double)rs->failed / (double)rs->reqs : 0), 8);
        for (int k = 0; k < 3; k++) {
            fputc(' ', f);
            rpad(f, d[k], 9);
        }
        fprintf(f, "   ");
        status_list(f, rs, true);
        fputc('\n', f);
    }
    fputc('\n', f);
    free(rs);
    free(names);
}

static void print_scenario(FILE *f, const struct report_input *in, int s, const struct stats *st)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    struct filter flt = all;
    flt.sc = s;
    const char *ex = executor_name(ps->src);
    fprintf(f, "  █ SCENARIO: %s%s%s%s\n\n", ps->name ? ps->name : "?", ex ? " (" : "", ex ? ex : "", ex ? ")" : "");

    print_checks(f, in, &flt, 4);

    struct reqsum *rs = malloc(sizeof *rs);
    if (!rs)
        return;
    reqsum_of(in, &flt, rs);
    struct filter ok = flt;
    ok.expected = 1;
    trend_of(f, in, &flt, M_DURATION, "http_req_duration", false, st);
    trend_of(f, in, &ok, M_DURATION, "{ expected_response:true }", true, st);
    rate_line(f, 4, NAME_WIDTH, "http_req_failed", rs->failed, rs->reqs);
    report_counter_line(f, 4, NAME_WIDTH, "http_reqs", (double)rs->reqs, in->elapsed_s, false);
    free(rs);

    const struct scenario_metrics *sm = &in->m[s];
    report_counter_line(f, 4, NAME_WIDTH, "dropped_iterations", (double)sm->dropped, in->elapsed_s, false);
    trend_of(f, in, &flt, M_ITER_DURATION, "iteration_duration", false, st);
    report_counter_line(f, 4, NAME_WIDTH, "iterations", (double)sm->iterations, in->elapsed_s, false);
    if (sm->interrupted) {
        report_name_line(f, 4, NAME_WIDTH, "interrupted_iterations");
        fprintf(f, "%llu cut by the end of the scenario\n", (unsigned long long)sm->interrupted);
    }
    report_name_line(f, 4, NAME_WIDTH, "vus_max");
    fprintf(f, "%u\n", sm->vus_max);
    fputc('\n', f);

    print_steps(f, in, s);
    if (closed_without_pace(ps->src))
        fprintf(f, "    note: closed model without pace: each VU waits for its previous response, so a server\n"
                   "          stall delays the next request instead of showing in latency. Set pace to see stalls.\n\n");
}

/* Which side bounds scenario s: its requests left late (client_lag p99 over
 * the verdict's limit, with enough samples to trust a p99): the client;
 * otherwise they left on time and what limits the scenario is the server (or
 * its own flow: think times, pace). Writes the evidence into why. */
static bool scenario_client_bound(const struct report_input *in, int s, char *why, size_t n)
{
    struct filter flt = all;
    flt.sc = s;
    struct hist lag;
    if (hist_of(in, &flt, M_LAG, &lag) != 0) {
        snprintf(why, n, "no requests");
        return false;
    }
    uint64_t cnt = hist_count(&lag);
    double p99 = cnt ? (double)hist_percentile(&lag, 99) / 1000.0 : 0;
    double on_time = cnt ? (double)hist_count_le(&lag, VERDICT_LAG_P99_US) / (double)cnt : 1;
    hist_free(&lag);
    double busy = 0;
    for (int w = 0; w < in->nworkers; w++)
        if (in->workers && in->workers[w].busy > busy)
            busy = in->workers[w].busy;
    /* A scenario whose VUs go back to back (closed model, no think, no
     * pace) goes as fast as the slower side: on a saturated worker, that is
     * the client even when its sends leave on time. */
    const struct plan_scenario *ps = &in->plan->sc[s];
    bool back_to_back = ps->src && ps->src->pace_ns == 0 &&
                        ps->src->executor != EXEC_CONSTANT_ARRIVAL_RATE &&
                        ps->src->executor != EXEC_RAMPING_ARRIVAL_RATE;
    for (int i = 0; back_to_back && i < ps->nops; i++)
        back_to_back = ps->ops[i].kind != OP_THINK;
    bool late = cnt >= VERDICT_LAG_MIN_SAMPLES && p99 * 1000 > VERDICT_LAG_P99_US;
    bool saturated = back_to_back && busy >= VERDICT_BUSY_LIMIT;
    snprintf(why, n, "client_lag p99 %.2fms, %.1f%% sent within %.0fms of their intended time, busiest worker %.0f%%%s",
             p99, on_time * 100, VERDICT_LAG_P99_US / 1000.0, busy * 100,
             saturated && !late ? ", and its VUs run back to back" : "");
    return late || saturated;
}

void report_print(FILE *f, const struct report_input *in, const struct report_thresholds *t)
{
    struct stats st;
    char buf[64];
    stats_of(in->plan, &st);
    const struct plan *p = in->plan;
    const char *path = p->file && p->file->path ? p->file->path : NULL;

    fprintf(f, "\n  blaster %s — run %s\n", BLASTER_VERSION, path ? path : "(no file)");
    fprintf(f, "  %d scenario%s, %d worker%s (%s), ran %s\n", p->nsc, p->nsc == 1 ? "" : "s", in->nworkers,
            in->nworkers == 1 ? "" : "s", in->ring_mode ? in->ring_mode : "?",
            units_fmt_duration(buf, sizeof buf, in->elapsed_s * 1e9));
    if (in->stopped)
        fprintf(f, "  stopped early by a signal after %.1fs\n", in->elapsed_s);
    if (in->aborted_by)
        fprintf(f, "  aborted after %.1fs: threshold '%s' failed (abortOnFail)\n", in->elapsed_s, in->aborted_by);
    fputc('\n', f);

    print_thresholds(f, t);
    print_total(f, in, &st);
    for (int s = 0; s < p->nsc; s++)
        print_scenario(f, in, s, &st);

    fprintf(f, "  client verdict: %s\n", in->verdict.client_limited ? "CLIENT-LIMITED" : "OK");
    for (int i = 0; i < in->verdict.nreasons; i++)
        fprintf(f, "     - %s\n", in->verdict.reasons[i]);
    for (int s = 0; s < p->nsc; s++) {
        char why[256];
        bool client = scenario_client_bound(in, s, why, sizeof why);
        fprintf(f, "     %s: bounded by the %s (%s)\n", p->sc[s].name ? p->sc[s].name : "?",
                client ? "client" : "server or its own flow, its requests left on time",
                why);
    }
    struct hist lag;
    if (hist_of(in, &all, M_LAG, &lag) == 0) {
        report_trend_line(f, 5, NAME_WIDTH, "client_lag", &lag, st.v, st.n);
        hist_free(&lag);
    }
    report_name_line(f, 5, NAME_WIDTH, "client_cpu");
    for (int w = 0; w < in->nworkers; w++) {
        fprintf(f, "%sworker%d=%.0f%%", w ? " " : "", w, in->workers[w].busy * 100);
        if (in->workers[w].wait >= 0)
            fprintf(f, " (waited %.1f%%)", in->workers[w].wait * 100);
    }
    fputc('\n', f);

    int failed = 0;
    for (int i = 0; t && i < t->n; i++)
        failed += !t->v[i].ok;
    if (failed)
        fprintf(f, "\n  ✗ %d of %d thresholds failed\n", failed, t->n);
    if (in->fatal)
        fprintf(f, "\n  error: %s\n", in->fatal);
    fputc('\n', f);
}

/* ---- JSON, in the shape of k6's handleSummary data ----------------------- */

/* Numbers JSON can hold: NaN and infinities (never expected) become 0. */
static json_t *jnum(double v)
{
    return json_real(isfinite(v) ? v : 0);
}

/* Whole numbers as JSON integers ("count": 1000, as JSON.stringify writes them). */
static json_t *jcount(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9.0e15)
        return json_integer((json_int_t)v);
    return jnum(v);
}

static json_t *trend_values(const struct hist *h, const struct stats *st)
{
    json_t *o = json_object();
    for (int i = 0; i < st->n; i++)
        json_object_set_new(o, st->v[i].name, st->v[i].kind == RSTAT_COUNT
                                                  ? json_integer((json_int_t)hist_count(h))
                                                  : jnum(report_stat_value(h, &st->v[i])));
    return o;
}

static json_t *mval_json(const struct mval *v, const struct stats *st)
{
    json_t *values = json_object();
    switch (v->def->type) {
    case METRIC_COUNTER:
        json_object_set_new(values, "count", jcount(v->count));
        json_object_set_new(values, "rate", jnum(v->rate));
        break;
    case METRIC_GAUGE:
        json_object_set_new(values, "value", jcount(v->value));
        json_object_set_new(values, "min", jcount(v->min));
        json_object_set_new(values, "max", jcount(v->max));
        break;
    case METRIC_RATE: /* k6: passes are the true samples (failed requests, passed checks) */
        json_object_set_new(values, "rate", jnum(v->rate));
        json_object_set_new(values, "passes", json_integer((json_int_t)v->passes));
        json_object_set_new(values, "fails", json_integer((json_int_t)v->fails));
        break;
    case METRIC_TREND:
        json_decref(values);
        values = trend_values(&v->h, st);
        break;
    }
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string(metric_type_name(v->def->type)));
    json_object_set_new(m, "contains", json_string(v->def->contains));
    json_object_set_new(m, "values", values);
    return m;
}

/* k6: "thresholds": {"<expression as written>": {"ok": bool}} on the metric they judge. */
static void attach_thresholds(json_t *m, const char *key, const struct report_thresholds *t)
{
    json_t *th = NULL;
    for (int i = 0; t && i < t->n; i++) {
        const struct report_threshold *x = &t->v[i];
        if (strcmp(x->key, key) != 0)
            continue;
        if (!th)
            th = json_object();
        json_t *prev = json_object_get(th, x->th.source);
        bool ok = x->ok && (!prev || json_is_true(json_object_get(prev, "ok")));
        json_object_set_new(th, x->th.source, json_pack("{s:b}", "ok", ok));
    }
    if (th)
        json_object_set_new(m, "thresholds", th);
}

static bool has_threshold_on(const struct report_thresholds *t, const char *key)
{
    for (int i = 0; t && i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return true;
    return false;
}

static int add_metric(json_t *ms, const char *key, const struct report_input *in, const struct mdef *d,
                      const struct filter *f, const struct report_thresholds *t, const struct stats *st)
{
    struct mval v;
    int rc = mval_compute(in, d, f, &v);
    if (rc == 0) {
        json_t *m = mval_json(&v, st);
        attach_thresholds(m, key, t);
        json_object_set_new(ms, key, m);
    }
    mval_free(&v);
    return rc;
}

static json_t *metrics_json(const struct report_input *in, const struct report_thresholds *t,
                            const struct stats *st, bool any_checks, bool any_tls)
{
    json_t *ms = json_object();
    int rc = 0;
    for (int i = 0; i < NMDEFS && rc == 0; i++) {
        const struct mdef *d = &mdefs[i];
        /* k6 lists only the metrics that got samples: checks only when there are checks. */
        if (d->src == M_CHECKS && !any_checks && !has_threshold_on(t, d->name))
            continue;
        /* k6 always lists http_req_tls_handshaking (all zeros over plain
         * HTTP); blaster leaves it and tls_handshakes out of plain-HTTP runs,
         * so their export reads as it did before TLS existed. */
        if (tls_only(d->src) && !any_tls && !has_threshold_on(t, d->name))
            continue;
        rc = add_metric(ms, d->name, in, d, &all, t, st);
        if (rc == 0 && d->src == M_DURATION) {
            struct filter ok = all;
            ok.expected = 1;
            rc = add_metric(ms, "http_req_duration{expected_response:true}", in, d, &ok, t, st);
        }
    }
    for (int i = 0; t && i < t->n && rc == 0; i++) {
        const struct report_threshold *x = &t->v[i];
        if (json_object_get(ms, x->key))
            continue;
        struct filter f;
        filter_of(x, &f);
        rc = add_metric(ms, x->key, in, mdef_find(x->ref.name), &f, t, st);
    }
    if (rc != 0) {
        json_decref(ms);
        return NULL;
    }
    return ms;
}

static json_t *status_json(const struct reqsum *s)
{
    json_t *o = json_object();
    for (int c = 0; c < METRICS_MAX_STATUS; c++)
        if (s->status[c]) {
            char k[16];
            snprintf(k, sizeof k, "%d", c);
            json_object_set_new(o, k, json_integer((json_int_t)s->status[c]));
        }
    return o;
}

static json_t *errors_json(const struct reqsum *s)
{
    json_t *o = json_object();
    for (int e = 0; e < ERR__COUNT; e++)
        json_object_set_new(o, err_class_name[e], json_integer((json_int_t)s->errors[e]));
    return o;
}

/* The counters and the duration trend of a selection of requests. */
static json_t *reqs_json(const struct report_input *in, const struct filter *f, const struct stats *st,
                         struct reqsum *rs)
{
    reqsum_of(in, f, rs);
    json_t *o = json_object();
    json_object_set_new(o, "reqs", json_integer((json_int_t)rs->reqs));
    json_object_set_new(o, "failed", json_integer((json_int_t)rs->failed));
    json_object_set_new(o, "status_codes", status_json(rs));
    json_object_set_new(o, "errors", errors_json(rs));
    if (rs->checks_pass + rs->checks_fail)
        json_object_set_new(o, "checks", json_pack("{s:I, s:I}", "passes", (json_int_t)rs->checks_pass,
                                                   "fails", (json_int_t)rs->checks_fail));
    struct hist h;
    if (hist_of(in, f, M_DURATION, &h) == 0) {
        json_object_set_new(o, "duration", trend_values(&h, st));
        hist_free(&h);
    }
    return o;
}

static json_t *scenario_json(const struct report_input *in, int s, const struct stats *st, struct reqsum *rs)
{
    const struct plan_scenario *ps = &in->plan->sc[s];
    const struct scenario_metrics *sm = &in->m[s];
    struct filter flt = all;
    flt.sc = s;
    json_t *o = reqs_json(in, &flt, st, rs);
    const char *ex = executor_name(ps->src);
    json_object_set_new(o, "executor", ex ? json_string(ex) : json_null());
    json_object_set_new(o, "iterations", json_integer((json_int_t)sm->iterations));
    json_object_set_new(o, "dropped_iterations", json_integer((json_int_t)sm->dropped));
    json_object_set_new(o, "interrupted_iterations", json_integer((json_int_t)sm->interrupted));
    json_object_set_new(o, "vus_max", json_integer((json_int_t)sm->vus_max));
    struct hist h;
    if (hist_of(in, &flt, M_ITER_DURATION, &h) == 0) {
        json_object_set_new(o, "iteration_duration", trend_values(&h, st));
        hist_free(&h);
    }
    {
        struct hist lh;
        if (hist_of(in, &flt, M_SERVICE, &lh) == 0) {
            json_object_set_new(o, "service", trend_values(&lh, st));
            hist_free(&lh);
        }
        /* Was this scenario's load sent as intended? client_lag, and the
         * share of its requests that left within 1 ms of their intended time. */
        if (hist_of(in, &flt, M_LAG, &lh) == 0) {
            json_object_set_new(o, "client_lag", trend_values(&lh, st));
            uint64_t cnt = hist_count(&lh);
            json_object_set_new(o, "sent_on_time",
                                json_real(cnt ? (double)hist_count_le(&lh, VERDICT_LAG_P99_US) / (double)cnt : 1.0));
            hist_free(&lh);
        }
        json_object_set_new(o, "data_sent", json_integer((json_int_t)rs->bytes_sent));
        json_object_set_new(o, "data_received", json_integer((json_int_t)rs->bytes_recv));
        char why[256];
        bool client = scenario_client_bound(in, s, why, sizeof why);
        json_object_set_new(o, "bound_by", json_pack("{s:s, s:s}", "side", client ? "client" : "server",
                                                     "evidence", why));
    }
    json_t *steps = json_object();
    int n;
    const char **names = step_names(in, s, &n);
    for (int i = 0; i < n; i++) {
        struct filter sf = flt;
        sf.name = names[i];
        json_t *step = reqs_json(in, &sf, st, rs);
        const char *method = NULL;
        for (int r = 0; r < ps->nreqs && !method; r++)
            if (ps->reqs[r].name && strcmp(ps->reqs[r].name, names[i]) == 0)
                method = ps->reqs[r].method;
        json_object_set_new(step, "method", method ? json_string(method) : json_null());
        json_object_set_new(steps, names[i], step);
    }
    free(names);
    json_object_set_new(o, "steps", steps);
    return o;
}

static json_t *root_group_json(const struct check_row *c, int n)
{
    char id[33];
    json_t *checks = json_array();
    for (int i = 0; i < n; i++) {
        size_t len = strlen(c[i].name) + 3;
        char *path = malloc(len);
        if (!path)
            continue;
        snprintf(path, len, "::%s", c[i].name);
        report_md5_hex(path, strlen(path), id);
        json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", c[i].name, "path", path,
                                                "id", id, "passes", (json_int_t)c[i].passes,
                                                "fails", (json_int_t)c[i].fails));
        free(path);
    }
    report_md5_hex("", 0, id);
    return json_pack("{s:s, s:s, s:s, s:[], s:o}", "name", "", "path", "", "id", id, "groups", "checks", checks);
}

static json_t *blaster_json(const struct report_input *in, const struct report_thresholds *t,
                            const struct stats *st)
{
    struct reqsum *rs = malloc(sizeof *rs);
    if (!rs)
        return NULL;
    const struct plan *p = in->plan;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(BLASTER_VERSION));
    json_object_set_new(o, "file", p->file && p->file->path ? json_string(p->file->path) : json_null());
    json_object_set_new(o, "threads", json_integer(in->nworkers));
    json_object_set_new(o, "ring_mode", json_string(in->ring_mode ? in->ring_mode : ""));
    json_object_set_new(o, "elapsed_s", jnum(in->elapsed_s));

    json_t *scs = json_object();
    for (int s = 0; s < p->nsc; s++)
        json_object_set_new(scs, p->sc[s].name ? p->sc[s].name : "?", scenario_json(in, s, st, rs));
    json_object_set_new(o, "scenarios", scs);

    reqsum_of(in, &all, rs);
    json_object_set_new(o, "status_codes", status_json(rs));
    json_object_set_new(o, "errors", errors_json(rs));
    json_object_set_new(o, "queued", json_integer((json_int_t)rs->queued));
    json_object_set_new(o, "interrupted", json_integer((json_int_t)rs->interrupted));
    json_object_set_new(o, "connects", json_integer((json_int_t)rs->connects));
    if (tls_seen(rs))
        json_object_set_new(o, "tls", report_tls_json(rs->handshakes, rs->resumed, rs->tls_protocol, rs->tls_reason));
    json_object_set_new(o, "stopped", json_boolean(in->stopped));
    json_object_set_new(o, "aborted_by", in->aborted_by ? json_string(in->aborted_by) : json_null());
    int failed = 0;
    for (int i = 0; t && i < t->n; i++)
        failed += !t->v[i].ok;
    json_object_set_new(o, "thresholds_failed", json_integer(failed));

    json_t *reasons = json_array(), *workers = json_array();
    for (int i = 0; i < in->verdict.nreasons; i++)
        json_array_append_new(reasons, json_string(in->verdict.reasons[i]));
    for (int w = 0; w < in->nworkers; w++) {
        json_t *wo = json_object();
        json_object_set_new(wo, "busy", jnum(in->workers[w].busy));
        json_object_set_new(wo, "wait", jnum(in->workers[w].wait));
        json_array_append_new(workers, wo);
    }
    json_object_set_new(o, "verdict", json_pack("{s:s, s:o, s:o}", "status",
                                                in->verdict.client_limited ? "CLIENT-LIMITED" : "OK",
                                                "reasons", reasons, "workers", workers));
    if (in->fatal)
        json_object_set_new(o, "error", json_string(in->fatal));
    free(rs);
    return o;
}

int report_export(const char *path, const struct report_input *in, const struct report_thresholds *t,
                  char *err, size_t errlen)
{
    struct stats st;
    stats_of(in->plan, &st);
    struct check_row *checks;
    int nchecks = checks_collect(in, &all, &checks);
    struct reqsum *rs = malloc(sizeof *rs);
    bool any_tls = false;
    if (rs) {
        reqsum_of(in, &all, rs);
        any_tls = tls_seen(rs);
    }
    json_t *metrics = nchecks >= 0 && rs ? metrics_json(in, t, &st, nchecks > 0, any_tls) : NULL;
    free(rs);
    json_t *bl = metrics ? blaster_json(in, t, &st) : NULL;
    if (!bl) {
        if (nchecks > 0)
            checks_free(checks, nchecks);
        json_decref(metrics);
        seterr(err, errlen, "--summary-export %s: out of memory", path);
        return -1;
    }
    json_t *trend_names = json_array();
    for (int i = 0; i < st.n; i++)
        json_array_append_new(trend_names, json_string(st.v[i].name));
    json_t *root = json_object();
    json_object_set_new(root, "root_group", root_group_json(checks, nchecks));
    json_object_set_new(root, "options", json_pack("{s:o, s:s, s:b}", "summaryTrendStats", trend_names,
                                                   "summaryTimeUnit", "", "noColor", false));
    json_t *state = json_object();
    json_object_set_new(state, "isStdOutTTY", json_boolean(isatty(1)));
    json_object_set_new(state, "isStdErrTTY", json_boolean(isatty(2)));
    json_object_set_new(state, "testRunDurationMs", jnum(in->elapsed_s * 1000));
    json_object_set_new(root, "state", state);
    json_object_set_new(root, "metrics", metrics);
    json_object_set_new(root, "blaster", bl);
    checks_free(checks, nchecks > 0 ? nchecks : 0);

    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (rc != 0) {
        seterr(err, errlen, "--summary-export %s: cannot write: %s", path, errno ? strerror(errno) : "error");
        return -1;
    }
    return 0;
}
