/* plan — see plan.h.
 *
 * plan_compile walks each scenario twice: once to name its capture slots
 * (every capture of the scenario, in declaration order, then the HLS URI slot
 * when it has an hls step), and once to flatten its flow into ops while
 * compiling every request with the scope of the place it stands (the loop
 * variables around it and the capture slots). Large bodies ({bytes: N} and
 * files) live in blobs the whole plan shares: one per distinct size or file,
 * referenced by every request that sends it, never copied per VU. */
#include "blaster/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef BLASTER_VERSION
#define BLASTER_VERSION "dev"
#endif
#define PLAN_USER_AGENT "blaster/" BLASTER_VERSION
#define HLS_URI_SLOT_NAME "__hls_uri"
#define DEFAULT_TIMEOUT_NS (60LL * 1000000000LL)

/* A body shared by the whole plan: {bytes: size} (path NULL) or a file. */
struct blob {
    struct blob *next;
    char        *path;
    uint64_t     size;
    void        *data;
};

struct plan_priv {
    struct blob    *blobs;
    struct scenario quick;     /* plan_quick's scenario */
    char            quick_name[8];
};

/* What compiling one scenario needs to know. */
struct cc {
    const struct scenario_file *sf;
    const struct scenario      *s;
    struct plan                *p;
    struct plan_scenario       *ps;
    char                       *err;
    size_t                      errlen;
    char                       *prefix;           /* the target's path, escaped, without trailing '/' */
    const char                 *captures[PLAN_MAX_CAPTURES];
    int                         ncap;             /* user capture names */
    bool                        has_hls;
    const struct step          *first_hls;
    struct template_loopvar     loops[TEMPLATE_MAX_LOOPS];
    int                         depth;
    int                         capops, capreqs, cappicks, caphls;
};

/* ---- small helpers ---- */

static void errf(struct cc *c, struct srcpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE:COL: message" into c->err. */
static void errf(struct cc *c, struct srcpos pos, const char *fmt, ...)
{
    if (!c->err || !c->errlen)
        return;
    int w = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->sf->path ? c->sf->path : "<scenario>",
                     pos.line, pos.col);
    if (w >= 0 && (size_t)w < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + w, c->errlen - (size_t)w, fmt, ap);
        va_end(ap);
    }
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Grow *arr (of elem-byte elements, *cap of them) to hold n + 1. */
static bool grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return true;
    int nc = *cap ? *cap * 2 : 8;
    void *na = realloc(*arr, (size_t)nc * elem);
    if (!na)
        return false;
    memset((char *)na + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = na;
    *cap = nc;
    return true;
}

/* s as template text: every "${" becomes "$${" (malloc'ed). */
static char *escape_literal(const char *s, size_t n)
{
    size_t extra = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == '{')
            extra++;
    char *out = malloc(n + extra + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{')
            *o++ = '$';
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static struct plan_priv *priv(struct plan *p)
{
    if (!p->priv_)
        p->priv_ = calloc(1, sizeof(struct plan_priv));
    return p->priv_;
}

/* ---- shared bodies ---- */

static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/* The plan's one buffer of size bytes, or NULL (out of memory). */
static const void *blob_bytes(struct plan *p, uint64_t size)
{
    struct plan_priv *pv = priv(p);
    if (!pv)
        return NULL;
    for (struct blob *b = pv->blobs; b; b = b->next)
        if (!b->path && b->size == size)
            return b->data;
    if (size > SIZE_MAX - 1)
        return NULL;
    struct blob *b = calloc(1, sizeof *b);
    char *d = b ? malloc(size ? (size_t)size : 1) : NULL;
    if (!d) {
        free(b);
        return NULL;
    }
    const size_t plen = sizeof pattern - 1;
    size_t first = size < plen ? (size_t)size : plen;
    memcpy(d, pattern, first);
    for (size_t done = first; done < size;) {   /* double the filled prefix */
        size_t n = done < size - done ? done : (size_t)(size - done);
        memcpy(d + done, d, n);
        done += n;
    }
    b->size = size;
    b->data = d;
    b->next = pv->blobs;
    pv->blobs = b;
    return d;
}

/* The plan's one copy of the file at path (read now); NULL with err set. */
static const void *blob_file(struct cc *c, struct srcpos pos, const char *path, size_t *len)
{
    struct plan_priv *pv = priv(c->p);
    if (!pv) {
        errf(c, pos, "body file '%s': out of memory", path);
        return NULL;
    }
    for (struct blob *b = pv->blobs; b; b = b->next) {
        if (b->path && strcmp(b->path, path) == 0) {
            *len = (size_t)b->size;
            return b->data;
        }
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        errf(c, pos, "body file '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        errf(c, pos, "body file '%s': not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    struct blob *b = calloc(1, sizeof *b);
    char *d = b ? malloc(size ? size : 1) : NULL;
    char *name = d ? strdup(path) : NULL;
    if (!name) {
        errf(c, pos, "body file '%s': out of memory (%zu bytes)", path, size);
        free(d);
        free(b);
        close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, d + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            errf(c, pos, "body file '%s': %s", path, r < 0 ? strerror(errno) : "shorter than its size");
            free(name);
            free(d);
            free(b);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    b->path = name;
    b->size = size;
    b->data = d;
    b->next = pv->blobs;
    pv->blobs = b;
    *len = size;
    return d;
}

/* ---- ops ---- */

static int add_op(struct cc *c, uint8_t kind, uint32_t a, uint32_t b, uint32_t cc_, int64_t t0, int64_t t1)
{
    struct plan_scenario *ps = c->ps;
    if (!grow((void **)&ps->ops, &c->capops, ps->nops, sizeof *ps->ops))
        return -1;
    ps->ops[ps->nops] = (struct op){.kind = kind, .a = a, .b = b, .c = cc_, .t0 = t0, .t1 = t1};
    return ps->nops++;
}

/* ---- capture slots ---- */

static int capture_slot(const struct cc *c, const char *name)
{
    for (int i = 0; i < c->ncap; i++)
        if (strcmp(c->captures[i], name) == 0)
            return i;
    return -1;
}

static int collect_captures(struct cc *c, const struct step *st, int n)
{
    for (int i = 0; i < n; i++) {
        const struct step *s = &st[i];
        switch (s->kind) {
        case STEP_REQUEST:
            for (int k = 0; k < s->ncaptures; k++) {
                const struct capture *cp = &s->captures[k];
                if (capture_slot(c, cp->slot) >= 0)
                    continue;
                if (c->ncap >= PLAN_MAX_CAPTURES) {
                    errf(c, cp->pos, "capture '%s': scenario '%s' captures too many names (at most %d)",
                         cp->slot, c->s->name, PLAN_MAX_CAPTURES);
                    return -1;
                }
                c->captures[c->ncap++] = cp->slot;
            }
            break;
        case STEP_REPEAT:
            if (collect_captures(c, s->steps, s->nsteps) < 0)
                return -1;
            break;
        case STEP_PICK:
            for (int b = 0; b < s->nbranches; b++)
                if (collect_captures(c, s->branches[b].steps, s->branches[b].nsteps) < 0)
                    return -1;
            break;
        case STEP_HLS:
            if (!c->has_hls)
                c->first_hls = s;
            c->has_hls = true;
            break;
        case STEP_THINK:
            break;
        }
    }
    return 0;
}

/* ---- paths ---- */

static bool has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The request-target template for a step path: the target's path prefix +
 * path, or the path of an absolute URL on the target's host and port.
 * *shift: what turns a column in the result into one in text. Malloc'ed, or
 * NULL with err set. */
static char *step_path(struct cc *c, struct srcpos pos, const char *text, int *shift)
{
    if (!text)
        text = "";
    if (has_prefix_ci(text, "http://") || has_prefix_ci(text, "https://")) {
        const char *auth = strstr(text, "://") + 3;
        size_t alen = strcspn(auth, "/?#");
        char base[600];
        if ((size_t)(auth - text) + alen >= sizeof base) {
            errf(c, pos, "URL '%.60s...': host too long", text);
            return NULL;
        }
        memcpy(base, text, (size_t)(auth - text) + alen);
        base[(auth - text) + alen] = '\0';
        struct url u;
        char uerr[400];
        if (url_parse(base, &u, uerr, sizeof uerr) < 0) {
            errf(c, pos, "%s", uerr);
            return NULL;
        }
        const struct url *t = &c->ps->url;
        if (u.https != t->https || strcasecmp(u.host, t->host) != 0 || u.port != t->port) {
            errf(c, pos, "URL '%s' is not on the target %s://%s (a scenario sends to one host: "
                 "give this step a scenario of its own with its `target`)",
                 text, t->https ? "https" : "http", t->hostport);
            return NULL;
        }
        const char *rest = auth + alen;
        size_t rlen = strcspn(rest, "#");
        bool slash = rlen == 0 || rest[0] != '/';
        char *out = malloc(rlen + 2);
        if (!out) {
            errf(c, pos, "out of memory");
            return NULL;
        }
        snprintf(out, rlen + 2, "%s%.*s", slash ? "/" : "", (int)rlen, rest);
        *shift = (int)(rest - text) - (slash ? 1 : 0);
        return out;
    }
    /* Relative to the target: "/x" and "?q" follow the prefix, "x" gets a '/'. */
    const char *sep = text[0] == '/' ? "" : text[0] == '?' ? (c->prefix[0] ? "" : "/") : "/";
    size_t n = strlen(c->prefix) + strlen(sep) + strlen(text) + 1;
    char *out = malloc(n);
    if (!out) {
        errf(c, pos, "out of memory");
        return NULL;
    }
    snprintf(out, n, "%s%s%s", c->prefix, sep, text);
    *shift = -(int)(strlen(c->prefix) + strlen(sep));
    return out;
}

/* ---- requests ---- */

struct reqdesc {
    const struct step *s;       /* headers, expect, captures, timeout, pos */
    const char *name;
    const char *method;
    const char *path;           /* full request-target template */
    enum template_body bk;
    const void *body;
    size_t      body_len;
    const char *body_text;
    bool        json;
    int         path_shift;     /* path column → column in the step's text */
    int         ncap_scope;     /* capture slots the templates see */
    bool        keep_body;      /* HLS playlists */
};

/* An anonymous repeat is a loop named "" in the scope: take its empty entry
 * out of the template module's "(known here: vu, iter, , n)". */
static void drop_anonymous_loops(char *msg)
{
    char *p = strstr(msg, "(known here: ");
    while (p && (p = strstr(p, ", ")) != NULL) {
        if (p[2] == ',' || p[2] == ')')
            memmove(p, p + 2, strlen(p + 2) + 1);
        else
            p += 2;
    }
}

/* A "path: ... at column N" of the compiled path, N made a column of what
 * the user wrote (without the target's prefix, or with the URL's origin). */
static void shift_path_column(char *msg, size_t cap, int shift)
{
    char *at = strncmp(msg, "path: ", 6) == 0 ? strstr(msg, " at column ") : NULL;
    if (!at || !shift)
        return;
    char *num = at + 11, *end;
    long col = strtol(num, &end, 10);
    if (end == num || col + shift < 1)
        return;
    char tail[512];
    snprintf(tail, sizeof tail, "%s", end);
    snprintf(num, cap - (size_t)(num - msg), "%ld%s", col + shift, tail);
}

/* Compile one request into c->ps->reqs; its index, or -1 with err set. */
static int add_request(struct cc *c, const struct reqdesc *d)
{
    const struct step *s = d->s;
    const struct scenario_file *sf = c->sf;
    struct plan_scenario *ps = c->ps;

    /* defaults.headers not named by the step, then the step's, then Content-Type for json */
    int nmax = sf->defaults.nheaders + s->nheaders + 1, nh = 0;
    struct template_header *hs = calloc((size_t)nmax, sizeof *hs);
    if (!hs) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    for (int i = 0; i < sf->defaults.nheaders; i++) {
        bool overridden = false;
        for (int k = 0; k < s->nheaders && !overridden; k++)
            overridden = strcasecmp(s->headers[k].name, sf->defaults.headers[i].name) == 0;
        if (!overridden)
            hs[nh++] = (struct template_header){sf->defaults.headers[i].name, sf->defaults.headers[i].value};
    }
    for (int k = 0; k < s->nheaders; k++)
        hs[nh++] = (struct template_header){s->headers[k].name, s->headers[k].value};
    if (d->json) {
        bool given = false;
        for (int i = 0; i < nh && !given; i++)
            given = strcasecmp(hs[i].name, "Content-Type") == 0;
        if (!given)
            hs[nh++] = (struct template_header){"Content-Type", "application/json"};
    }

    struct template_scope scope = {
        .loops = c->loops, .nloops = c->depth,
        .captures = c->captures, .ncaptures = d->ncap_scope,
    };
    struct template_request_spec spec = {
        .method = d->method, .path = d->path, .host = ps->url.hostport, .user_agent = PLAN_USER_AGENT,
        .headers = hs, .nheaders = nh,
        .body_kind = d->bk, .body = d->body, .body_len = d->body_len, .body_text = d->body_text,
    };
    if (!grow((void **)&ps->reqs, &c->capreqs, ps->nreqs, sizeof *ps->reqs)) {
        free(hs);
        errf(c, s->pos, "out of memory");
        return -1;
    }
    struct plan_request *r = &ps->reqs[ps->nreqs];
    memset(r, 0, sizeof *r);
    char terr[512];
    int rc = template_request_compile(&spec, &scope, &r->t, terr, sizeof terr);
    free(hs);
    if (rc < 0) {
        drop_anonymous_loops(terr);
        shift_path_column(terr, sizeof terr, d->path_shift);
        errf(c, s->pos, "%s", terr);
        return -1;
    }
    ps->nreqs++;        /* from here on plan_free releases it */

    r->name = xstrdup(d->name);
    r->method = xstrdup(d->method);
    if (!r->name || !r->method) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    if (s->expect_status && s->nexpect > 0) {
        r->has_expect = true;
        char list[512];
        size_t n = 0;
        list[0] = '\0';
        for (int i = 0; i < s->nexpect; i++) {
            int st = s->expect_status[i];
            if (st < 0 || st >= PLAN_MAX_EXPECT_WORDS * 64) {
                errf(c, s->pos, "expect: status %d out of range (0-%d)", st, PLAN_MAX_EXPECT_WORDS * 64 - 1);
                return -1;
            }
            r->expect[st / 64] |= 1ULL << (st % 64);
            if (n < sizeof list)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", i ? ", " : "", st);
        }
        size_t cn = strlen(d->name) + strlen(list) + 32;
        r->check_name = malloc(cn);
        if (!r->check_name) {
            errf(c, s->pos, "out of memory");
            return -1;
        }
        if (s->nexpect == 1)
            snprintf(r->check_name, cn, "%s: status is %s", d->name, list);
        else
            snprintf(r->check_name, cn, "%s: status in [%s]", d->name, list);
    } else {
        for (int st = 200; st <= 399; st++)
            r->expect[st / 64] |= 1ULL << (st % 64);
    }
    for (int k = 0; k < s->ncaptures; k++) {
        const struct capture *cp = &s->captures[k];
        struct plan_capture *pc = &r->captures[r->ncaptures];
        pc->slot = (uint8_t)capture_slot(c, cp->slot);
        pc->kind = cp->kind;
        pc->path = xstrdup(cp->path);
        r->ncaptures++;
        if (!pc->path) {
            errf(c, cp->pos, "out of memory");
            return -1;
        }
        if (cp->kind == CAPTURE_JSON)
            r->keep_body = true;
        else
            r->keep_head = true;
    }
    if (d->keep_body)
        r->keep_body = true;
    r->timeout_ns = s->timeout_ns > 0 ? s->timeout_ns
                  : sf->defaults.timeout_ns > 0 ? sf->defaults.timeout_ns : DEFAULT_TIMEOUT_NS;
    r->metric = ps->nreqs - 1;

    if (r->keep_body)
        ps->keeps_bodies = true;
    if (r->t.max_iov > ps->max_iov)
        ps->max_iov = r->t.max_iov;
    if (r->t.scratch_need > ps->scratch_need)
        ps->scratch_need = r->t.scratch_need;
    return ps->nreqs - 1;
}

/* BODY_FILE's path: as written when absolute, else next to the scenario file. */
static char *body_file_path(const struct scenario_file *sf, const char *file)
{
    const char *slash = sf->path ? strrchr(sf->path, '/') : NULL;
    size_t dlen = file[0] == '/' || !slash ? 0 : (size_t)(slash - sf->path) + 1;
    char *out = malloc(dlen + strlen(file) + 1);
    if (out) {
        memcpy(out, sf->path ? sf->path : "", dlen);
        strcpy(out + dlen, file);
    }
    return out;
}

static int compile_request_step(struct cc *c, const struct step *s)
{
    int shift = 0;
    char *path = step_path(c, s->pos, s->path, &shift);
    if (!path)
        return -1;
    char fallback[300];
    const char *name = s->name;
    if (!name) {
        snprintf(fallback, sizeof fallback, "%s %s", s->method ? s->method : "GET", s->path ? s->path : "");
        name = fallback;
    }
    struct reqdesc d = {
        .s = s, .name = name, .method = s->method ? s->method : "GET", .path = path, .path_shift = shift,
        .bk = TEMPLATE_BODY_NONE, .ncap_scope = c->ncap,
    };
    int rc = -1;
    switch (s->body_kind) {
    case BODY_NONE:
        break;
    case BODY_JSON:
        d.json = true;
        /* fallthrough */
    case BODY_TEXT:
        /* a constant text compiles into a fixed body (the template module's doing) */
        d.bk = TEMPLATE_BODY_TEMPLATE;
        d.body_text = s->body ? s->body : "";
        break;
    case BODY_BYTES:
        d.bk = TEMPLATE_BODY_FIXED;
        d.body = blob_bytes(c->p, s->body_bytes);
        d.body_len = (size_t)s->body_bytes;
        if (!d.body) {
            errf(c, s->pos, "body of %llu bytes: out of memory", (unsigned long long)s->body_bytes);
            goto out;
        }
        break;
    case BODY_FILE: {
        char *fp = body_file_path(c->sf, s->body ? s->body : "");
        if (!fp) {
            errf(c, s->pos, "out of memory");
            goto out;
        }
        d.bk = TEMPLATE_BODY_FIXED;
        d.body = blob_file(c, s->pos, fp, &d.body_len);
        free(fp);
        if (!d.body)
            goto out;
        break;
    }
    }
    rc = add_request(c, &d);
out:
    free(path);
    return rc;
}

static int compile_hls_step(struct cc *c, const struct step *s)
{
    struct plan_scenario *ps = c->ps;
    /* The loader names an unnamed hls step "HLS <master>": that is no name of the user's. */
    bool named = s->name && !(strncmp(s->name, "HLS ", 4) == 0 && s->hls_master &&
                              strcmp(s->name + 4, s->hls_master) == 0);
    const char *base = named ? s->name : "hls";
    size_t bl = strlen(base) + 16;
    char *nm = malloc(bl), *np = malloc(bl), *ns = malloc(bl);
    char *path = NULL;
    int rc = -1;
    if (!nm || !np || !ns) {
        errf(c, s->pos, "out of memory");
        goto out;
    }
    snprintf(nm, bl, "%s_master", base);
    snprintf(np, bl, "%s_playlist", base);
    snprintf(ns, bl, "%s_segment", base);
    int shift = 0;
    path = step_path(c, s->pos, s->hls_master, &shift);
    if (!path)
        goto out;

    /* The playlists' and segments' URIs are resolved by the engine into the
     * URI slot; master and media playlists are kept for it to read. */
    struct reqdesc d = {.s = s, .name = nm, .method = "GET", .path = path, .path_shift = shift,
                        .bk = TEMPLATE_BODY_NONE, .ncap_scope = c->ncap, .keep_body = true};
    int rm = add_request(c, &d);
    if (rm < 0)
        goto out;
    d.name = np;
    d.path = "${" HLS_URI_SLOT_NAME "}";
    d.path_shift = 0;
    d.ncap_scope = c->ncap + 1;
    int rp = add_request(c, &d);
    if (rp < 0)
        goto out;
    d.name = ns;
    d.keep_body = false;
    int rs = add_request(c, &d);
    if (rs < 0)
        goto out;

    if (!grow((void **)&ps->hls, &c->caphls, ps->nhls, sizeof *ps->hls)) {
        errf(c, s->pos, "out of memory");
        goto out;
    }
    struct plan_hls *h = &ps->hls[ps->nhls++];
    memset(h, 0, sizeof *h);
    h->name = xstrdup(base);
    h->req_master = rm;
    h->req_media = rp;
    h->req_segment = rs;
    h->uri_slot = (uint8_t)c->ncap;
    h->variant = s->hls_variant;
    h->variant_name = xstrdup(s->hls_variant_name);
    h->segments = s->hls_segments;
    if (!h->name || (s->hls_variant_name && !h->variant_name)) {
        errf(c, s->pos, "out of memory");
        goto out;
    }
    if (add_op(c, OP_HLS, (uint32_t)(ps->nhls - 1), 0, 0, 0, 0) < 0) {
        errf(c, s->pos, "out of memory");
        goto out;
    }
    rc = 0;
out:
    free(nm);
    free(np);
    free(ns);
    free(path);
    return rc;
}

static int compile_steps(struct cc *c, const struct step *st, int n);

static int compile_step(struct cc *c, const struct step *s)
{
    struct plan_scenario *ps = c->ps;
    switch (s->kind) {
    case STEP_REQUEST: {
        int ri = compile_request_step(c, s);
        if (ri < 0)
            return -1;
        if (add_op(c, OP_REQUEST, (uint32_t)ri, 0, 0, 0, 0) < 0)
            goto oom;
        return 0;
    }
    case STEP_THINK:
        if (add_op(c, OP_THINK, 0, 0, 0, s->think_min_ns, s->think_max_ns) < 0)
            goto oom;
        return 0;
    case STEP_REPEAT: {
        if (c->depth >= TEMPLATE_MAX_LOOPS) {
            errf(c, s->pos, "repeat nested too deep (at most %d repeats inside one another)", TEMPLATE_MAX_LOOPS);
            return -1;
        }
        uint32_t slot = (uint32_t)c->depth, count = s->repeat ? s->repeat : 1;
        /* an anonymous loop keeps its slot; "" is a name no ${...} can match */
        c->loops[c->depth++] = (struct template_loopvar){s->repeat_as ? s->repeat_as : "", 1, count};
        if (c->depth > ps->nloops)
            ps->nloops = c->depth;
        if (add_op(c, OP_LOOP, slot, count, 0, 0, 0) < 0)
            goto oom;
        uint32_t first = (uint32_t)ps->nops;
        if (compile_steps(c, s->steps, s->nsteps) < 0)
            return -1;
        if (add_op(c, OP_NEXT, slot, count, first, 0, 0) < 0)
            goto oom;
        c->depth--;
        return 0;
    }
    case STEP_PICK: {
        if (s->nbranches < 1) {
            errf(c, s->pos, "pick has no branches");
            return -1;
        }
        if (!grow((void **)&ps->picks, &c->cappicks, ps->npicks, sizeof *ps->picks))
            goto oom;
        int pi = ps->npicks++;
        struct plan_pick *pk = &ps->picks[pi];
        memset(pk, 0, sizeof *pk);
        pk->cumulative = calloc((size_t)s->nbranches, sizeof *pk->cumulative);
        pk->target = calloc((size_t)s->nbranches, sizeof *pk->target);
        if (!pk->cumulative || !pk->target)
            goto oom;
        pk->n = (uint32_t)s->nbranches;
        uint64_t total = 0;
        for (int b = 0; b < s->nbranches; b++) {
            total += s->branches[b].weight;
            if (s->branches[b].weight == 0) {
                errf(c, s->branches[b].pos, "pick: a weight must be positive");
                return -1;
            }
            if (total > UINT32_MAX) {
                errf(c, s->branches[b].pos, "pick: the weights add up to more than %u", UINT32_MAX);
                return -1;
            }
            pk->cumulative[b] = (uint32_t)total;
        }
        pk->total = (uint32_t)total;
        if (add_op(c, OP_PICK, (uint32_t)pi, 0, 0, 0, 0) < 0)
            goto oom;
        int *jumps = calloc((size_t)s->nbranches, sizeof *jumps);
        if (!jumps)
            goto oom;
        for (int b = 0; b < s->nbranches; b++) {
            ps->picks[pi].target[b] = (uint32_t)ps->nops;   /* picks may have moved */
            if (compile_steps(c, s->branches[b].steps, s->branches[b].nsteps) < 0) {
                free(jumps);
                return -1;
            }
            if (b + 1 < s->nbranches && (jumps[b] = add_op(c, OP_JUMP, 0, 0, 0, 0, 0)) < 0) {
                free(jumps);
                goto oom;
            }
        }
        for (int b = 0; b + 1 < s->nbranches; b++)
            ps->ops[jumps[b]].a = (uint32_t)ps->nops;
        free(jumps);
        return 0;
    }
    case STEP_HLS:
        return compile_hls_step(c, s);
    }
    errf(c, s->pos, "unknown step kind %d", (int)s->kind);
    return -1;
oom:
    errf(c, s->pos, "out of memory");
    return -1;
}

static int compile_steps(struct cc *c, const struct step *st, int n)
{
    for (int i = 0; i < n; i++)
        if (compile_step(c, &st[i]) < 0)
            return -1;
    return 0;
}

/* ---- scenarios ---- */

/* The executor settings of s into ps->exec, its stages copied (the plan
 * owns them), so that nothing at run time reads the scenario model. */
static int compile_executor(struct cc *c)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    struct executor_stage *st = NULL;
    if (s->nstages > 0 && !(st = calloc((size_t)s->nstages, sizeof *st))) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->nstages; i++)
        st[i] = (struct executor_stage){ .duration_ns = s->stages[i].duration_ns, .target = s->stages[i].target };
    ps->exec = (struct executor_config){
        .executor = s->executor, .vus = s->vus, .duration_ns = s->duration_ns, .start_vus = s->start_vus,
        .stages = st, .nstages = st ? s->nstages : 0,
        .rate = s->rate, .start_rate = s->start_rate, .time_unit_ns = s->time_unit_ns,
        .pre_allocated_vus = s->pre_allocated_vus, .max_vus = s->max_vus, .iterations = s->iterations,
        .max_duration_ns = s->max_duration_ns, .start_time_ns = s->start_time_ns,
        .graceful_stop_ns = s->graceful_stop_ns, .graceful_ramp_down_ns = s->graceful_ramp_down_ns,
        .pace_ns = s->pace_ns,
    };
    ps->max_vus = executor_max_vus(&ps->exec, 0, 1);
    return 0;
}

/* url, addr and prefix of c->ps from the scenario's target. */
static int scenario_target(struct cc *c, int idx)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    const char *target = s->target ? s->target : c->sf->target;
    if (!target || !*target) {
        errf(c, s->pos, "scenario '%s': no target (give `target: http://host:port` at the top of the file "
             "or in the scenario)", s->name);
        return -1;
    }
    char uerr[400];
    if (url_parse(target, &ps->url, uerr, sizeof uerr) < 0) {
        errf(c, s->pos, "scenario '%s': target: %s", s->name, uerr);
        return -1;
    }
    ps->tls = ps->url.https;
    ps->server_name = c->sf->tls.server_name ? c->sf->tls.server_name : ps->url.host;
    c->p->any_tls |= ps->tls;
    if (strchr(ps->url.path, '?')) {
        errf(c, s->pos, "scenario '%s': target '%s': a query in the target is not supported "
             "(put it in the steps' paths)", s->name, target);
        return -1;
    }
    /* Resolve a target once: a scenario with the same target as an earlier one takes its address. */
    bool done = false;
    for (int j = 0; j < idx && !done; j++) {
        const struct plan_scenario *o = &c->p->sc[j];
        const char *ot = o->src->target ? o->src->target : c->sf->target;
        if (ot && strcmp(ot, target) == 0) {
            ps->addr = o->addr;
            ps->addrlen = o->addrlen;
            done = true;
        }
    }
    if (!done && url_resolve(&ps->url, &ps->addr, &ps->addrlen, uerr, sizeof uerr) < 0) {
        errf(c, s->pos, "scenario '%s': target '%s': %s", s->name, target, uerr);
        return -1;
    }
    size_t plen = strlen(ps->url.path);
    while (plen > 0 && ps->url.path[plen - 1] == '/')
        plen--;
    c->prefix = escape_literal(ps->url.path, plen);
    if (!c->prefix) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    return 0;
}

static int compile_scenario(struct cc *c, int idx)
{
    const struct scenario *s = c->s;
    struct plan_scenario *ps = c->ps;
    ps->src = s;
    ps->name = xstrdup(s->name ? s->name : "default");
    if (!ps->name) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    if (scenario_target(c, idx) < 0)
        return -1;
    if (collect_captures(c, s->flow, s->nflow) < 0)
        return -1;
    if (c->has_hls && c->ncap >= PLAN_MAX_CAPTURES) {
        errf(c, c->first_hls->pos, "hls: scenario '%s' captures %d names, which leaves no slot for the "
             "playlist URIs (at most %d names with an hls step)", s->name, c->ncap, PLAN_MAX_CAPTURES - 1);
        return -1;
    }
    if (c->has_hls)
        c->captures[c->ncap] = HLS_URI_SLOT_NAME;   /* scope only; c->ncap stays the user count */
    ps->ncaptures = c->ncap + (c->has_hls ? 1 : 0);
    if (compile_steps(c, s->flow, s->nflow) < 0)
        return -1;
    if (add_op(c, OP_END, 0, 0, 0, 0, 0) < 0) {
        errf(c, s->pos, "out of memory");
        return -1;
    }
    return compile_executor(c);
}

int plan_compile(const struct scenario_file *sf, struct plan *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->file = sf;
    if (sf->nscenarios > 0) {
        out->sc = calloc((size_t)sf->nscenarios, sizeof *out->sc);
        if (!out->sc) {
            snprintf(err, errlen, "%s: out of memory", sf->path ? sf->path : "<scenario>");
            return -1;
        }
    }
    for (int i = 0; i < sf->nscenarios; i++) {
        struct cc c = {.sf = sf, .s = &sf->scenarios[i], .p = out, .ps = &out->sc[i], .err = err, .errlen = errlen};
        out->nsc = i + 1;
        int rc = compile_scenario(&c, i);
        free(c.prefix);
        if (rc < 0) {
            plan_free(out);
            return -1;
        }
    }
    /* The file's `tls:`, its files next to the scenario file like a body's. */
    const char *files[3] = { sf->tls.cacert, sf->tls.cert, sf->tls.key };
    for (int i = 0; i < 3; i++) {
        if (files[i] && !(out->tls_files_[i] = body_file_path(sf, files[i]))) {
            snprintf(err, errlen, "%s: out of memory", sf->path ? sf->path : "<scenario>");
            plan_free(out);
            return -1;
        }
    }
    out->tls = (struct tls_config){
        .insecure = sf->tls.insecure, .resume = sf->tls.resume,
        .cafile = out->tls_files_[0], .certfile = out->tls_files_[1], .keyfile = out->tls_files_[2],
        .min_version = sf->tls.min_version, .max_version = sf->tls.max_version,
    };
    return 0;
}

int plan_quick(struct plan *out, const struct url *u, const struct sockaddr_storage *sa, socklen_t salen,
               const char *method, const char *const *hnames, const char *const *hvalues, int nh,
               const void *body, size_t body_len, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct plan_priv *pv = priv(out);
    struct template_header *hs = calloc((size_t)(nh > 0 ? nh : 1), sizeof *hs);
    char *path = escape_literal(u->path, strlen(u->path));
    out->sc = calloc(1, sizeof *out->sc);
    if (!pv || !hs || !path || !out->sc)
        goto oom;
    out->nsc = 1;
    struct plan_scenario *ps = &out->sc[0];
    strcpy(pv->quick_name, "default");
    pv->quick.name = pv->quick_name;
    ps->src = &pv->quick;
    ps->name = strdup("default");
    ps->url = *u;
    ps->tls = u->https;
    ps->server_name = ps->url.host; /* main.c may point it at --server-name */
    out->any_tls = u->https;
    out->tls.resume = true;
    if (sa && salen <= sizeof ps->addr) {
        memcpy(&ps->addr, sa, salen);
        ps->addrlen = salen;
    }
    int nesc = 0;
    for (int i = 0; i < nh; i++) {
        char *v = escape_literal(hvalues[i], strlen(hvalues[i]));
        if (!v)
            goto oom_h;
        hs[i] = (struct template_header){hnames[i], v};
        nesc++;
    }
    ps->ops = calloc(2, sizeof *ps->ops);
    ps->reqs = calloc(1, sizeof *ps->reqs);
    if (!ps->name || !ps->ops || !ps->reqs)
        goto oom_h;
    ps->ops[0] = (struct op){.kind = OP_REQUEST};
    ps->ops[1] = (struct op){.kind = OP_END};
    ps->nops = 2;
    struct template_request_spec spec = {
        .method = method, .path = path, .host = u->hostport, .user_agent = PLAN_USER_AGENT,
        .headers = hs, .nheaders = nh,
        .body_kind = body ? TEMPLATE_BODY_FIXED : TEMPLATE_BODY_NONE,
            .body = body, .body_len = body ? body_len : 0,
    };
    struct plan_request *r = &ps->reqs[0];
    if (template_request_compile(&spec, NULL, &r->t, err, errlen) < 0)
        goto fail_h;
    ps->nreqs = 1;
    size_t nl = strlen(method) + strlen(u->path) + 2;
    r->name = malloc(nl);
    r->method = strdup(method);
    if (!r->name || !r->method)
        goto oom_h;
    snprintf(r->name, nl, "%s %s", method, u->path);
    for (int st = 200; st <= 399; st++)
        r->expect[st / 64] |= 1ULL << (st % 64);
    r->metric = 0;
    ps->max_iov = r->t.max_iov;
    ps->scratch_need = r->t.scratch_need;
    for (int i = 0; i < nesc; i++)
        free((void *)hs[i].value);
    free(hs);
    free(path);
    return 0;
oom_h:
    snprintf(err, errlen, "out of memory");
fail_h:
    for (int i = 0; i < nesc; i++)
        free((void *)hs[i].value);
    free(hs);
    free(path);
    plan_free(out);
    return -1;
oom:
    snprintf(err, errlen, "out of memory");
    free(hs);
    free(path);
    plan_free(out);
    return -1;
}

void plan_free(struct plan *p)
{
    for (int i = 0; i < p->nsc; i++) {
        struct plan_scenario *ps = &p->sc[i];
        free(ps->name);
        free((void *)ps->exec.stages);
        free(ps->ops);
        for (int k = 0; k < ps->nreqs; k++) {
            struct plan_request *r = &ps->reqs[k];
            template_request_free(&r->t);
            free(r->name);
            free(r->method);
            free(r->check_name);
            for (int j = 0; j < r->ncaptures; j++)
                free(r->captures[j].path);
        }
        free(ps->reqs);
        for (int k = 0; k < ps->npicks; k++) {
            free(ps->picks[k].cumulative);
            free(ps->picks[k].target);
        }
        free(ps->picks);
        for (int k = 0; k < ps->nhls; k++) {
            free(ps->hls[k].name);
            free(ps->hls[k].variant_name);
        }
        free(ps->hls);
    }
    free(p->sc);
    for (int i = 0; i < 3; i++)
        free(p->tls_files_[i]);
    struct plan_priv *pv = p->priv_;
    if (pv) {
        for (struct blob *b = pv->blobs, *nb; b; b = nb) {
            nb = b->next;
            free(b->path);
            free(b->data);
            free(b);
        }
        free(pv);
    }
    memset(p, 0, sizeof *p);
}

uint32_t plan_pick_branch(const struct plan_pick *pk, uint32_t r)
{
    uint32_t b = 0;
    while (b + 1 < pk->n && r >= pk->cumulative[b])
        b++;
    return b;
}
