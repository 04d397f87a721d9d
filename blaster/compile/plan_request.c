/* plan_request — one request of a scenario compiled for the workers: its
 * request-target (the target's path prefix, or an absolute URL on the
 * target), its headers (defaults, the step's, Content-Type for json), its
 * body, the template that renders it, its expected statuses and check name,
 * its captures and its timeout. A `literal` step (quick mode's command line)
 * has its path and header values escaped here, so that a '$' stays a '$'. */
#include "blaster/compile/plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The request-target template for a step path: the target's path prefix +
 * path, or the path of an absolute URL on the target's host and port.
 * *shift: what turns a column in the result into one in text. Malloc'ed, or
 * NULL with err set. */
char *plan_step_path(struct cc *c, struct srcpos pos, const char *text, int *shift)
{
    if (!text)
        text = "";
    if (has_prefix_ci(text, "http://") || has_prefix_ci(text, "https://")) {
        const char *auth = strstr(text, "://") + 3;
        size_t alen = strcspn(auth, "/?#");
        char base[600];
        if ((size_t)(auth - text) + alen >= sizeof base) {
            plan_errf(c, pos, "URL '%.60s...': host too long", text);
            return NULL;
        }
        memcpy(base, text, (size_t)(auth - text) + alen);
        base[(auth - text) + alen] = '\0';
        struct url u;
        char uerr[400];
        if (url_parse(base, &u, uerr, sizeof uerr) < 0) {
            plan_errf(c, pos, "%s", uerr);
            return NULL;
        }
        const struct url *t = &c->ps->url;
        if (u.https != t->https || strcasecmp(u.host, t->host) != 0 || u.port != t->port) {
            plan_errf(c, pos, "URL '%s' is not on the target %s://%s (a scenario sends to one host: "
                 "give this step a scenario of its own with its `target`)",
                 text, t->https ? "https" : "http", t->hostport);
            return NULL;
        }
        const char *rest = auth + alen;
        size_t rlen = strcspn(rest, "#");
        bool slash = rlen == 0 || rest[0] != '/';
        char *out = malloc(rlen + 2);
        if (!out) {
            plan_errf(c, pos, "out of memory");
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
        plan_errf(c, pos, "out of memory");
        return NULL;
    }
    snprintf(out, n, "%s%s%s", c->prefix, sep, text);
    *shift = -(int)(strlen(c->prefix) + strlen(sep));
    return out;
}

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

/* A request's headers: defaults.headers not named by the step, then the
 * step's (escaped when the step is literal), then Content-Type for json. */
struct req_headers {
    struct template_header *h;
    int    n;
    char **owned;       /* escaped values, freed with the list */
    int    nowned;
};

static void request_headers_free(struct req_headers *rh)
{
    for (int i = 0; i < rh->nowned; i++)
        free(rh->owned[i]);
    free(rh->owned);
    free(rh->h);
}

static int request_headers(struct cc *c, const struct reqdesc *d, struct req_headers *rh)
{
    const struct step *s = d->s;
    const struct scenario_file *sf = c->sf;
    int nmax = sf->defaults.nheaders + s->nheaders + 1;
    *rh = (struct req_headers){ .h = calloc((size_t)nmax, sizeof *rh->h) };
    if (s->literal && s->nheaders)
        rh->owned = calloc((size_t)s->nheaders, sizeof *rh->owned);
    if (!rh->h || (s->literal && s->nheaders && !rh->owned))
        goto oom;
    for (int i = 0; i < sf->defaults.nheaders; i++) {
        bool overridden = false;
        for (int k = 0; k < s->nheaders && !overridden; k++)
            overridden = strcasecmp(s->headers[k].name, sf->defaults.headers[i].name) == 0;
        if (!overridden)
            rh->h[rh->n++] = (struct template_header){sf->defaults.headers[i].name, sf->defaults.headers[i].value};
    }
    for (int k = 0; k < s->nheaders; k++) {
        const char *v = s->headers[k].value;
        if (s->literal && !(v = rh->owned[rh->nowned++] = plan_escape_literal(v, strlen(v))))
            goto oom;
        rh->h[rh->n++] = (struct template_header){s->headers[k].name, v};
    }
    if (d->json) {
        bool given = false;
        for (int i = 0; i < rh->n && !given; i++)
            given = strcasecmp(rh->h[i].name, "Content-Type") == 0;
        if (!given)
            rh->h[rh->n++] = (struct template_header){"Content-Type", "application/json"};
    }
    return 0;
oom:
    request_headers_free(rh);
    plan_errf(c, s->pos, "out of memory");
    return -1;
}

/* The statuses r expects: the step's `expect` (a check named after the
 * request), else k6's default 200..399. */
static int request_expect(struct cc *c, const struct reqdesc *d, struct plan_request *r)
{
    const struct step *s = d->s;
    if (!s->expect_status || s->nexpect <= 0) {
        for (int st = 200; st <= 399; st++)
            r->expect[st / 64] |= 1ULL << (st % 64);
        return 0;
    }
    r->has_expect = true;
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (int i = 0; i < s->nexpect; i++) {
        int st = s->expect_status[i];
        if (st < 0 || st >= PLAN_MAX_EXPECT_WORDS * 64) {
            plan_errf(c, s->pos, "expect: status %d out of range (0-%d)", st, PLAN_MAX_EXPECT_WORDS * 64 - 1);
            return -1;
        }
        r->expect[st / 64] |= 1ULL << (st % 64);
        if (n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", i ? ", " : "", st);
    }
    size_t cn = strlen(d->name) + strlen(list) + 32;
    r->check_name = malloc(cn);
    if (!r->check_name) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    if (s->nexpect == 1)
        snprintf(r->check_name, cn, "%s: status is %s", d->name, list);
    else
        snprintf(r->check_name, cn, "%s: status in [%s]", d->name, list);
    return 0;
}

/* The step's captures into r, and what of the response r must keep for them. */
static int request_captures(struct cc *c, const struct step *s, struct plan_request *r)
{
    for (int k = 0; k < s->ncaptures; k++) {
        const struct capture *cp = &s->captures[k];
        struct plan_capture *pc = &r->captures[r->ncaptures];
        pc->slot = (uint8_t)plan_capture_slot(c, cp->slot);
        pc->kind = cp->kind;
        pc->path = plan_strdup(cp->path);
        r->ncaptures++;
        if (!pc->path) {
            plan_errf(c, cp->pos, "out of memory");
            return -1;
        }
        if (cp->kind == CAPTURE_JSON)
            r->keep_body = true;
        else
            r->keep_head = true;
    }
    return 0;
}

/* r's template from d, with the scope of the place the step stands. */
static int request_template(struct cc *c, const struct reqdesc *d, struct plan_request *r)
{
    struct req_headers rh;
    if (request_headers(c, d, &rh) < 0)
        return -1;
    struct template_scope scope = {
        .loops = c->loops, .nloops = c->depth,
        .captures = c->captures, .ncaptures = d->ncap_scope,
    };
    struct template_request_spec spec = {
        .method = d->method, .path = d->path, .host = c->ps->url.hostport, .user_agent = PLAN_USER_AGENT,
        .headers = rh.h, .nheaders = rh.n,
        .body_kind = d->bk, .body = d->body, .body_len = d->body_len, .body_text = d->body_text,
    };
    char terr[512];
    int rc = template_request_compile(&spec, &scope, &r->t, terr, sizeof terr);
    request_headers_free(&rh);
    if (rc < 0) {
        drop_anonymous_loops(terr);
        shift_path_column(terr, sizeof terr, d->path_shift);
        plan_errf(c, d->s->pos, "%s", terr);
        return -1;
    }
    return 0;
}

int plan_add_request(struct cc *c, const struct reqdesc *d)
{
    const struct step *s = d->s;
    struct plan_scenario *ps = c->ps;
    if (!plan_grow((void **)&ps->reqs, &c->capreqs, ps->nreqs, sizeof *ps->reqs)) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    struct plan_request *r = &ps->reqs[ps->nreqs];
    memset(r, 0, sizeof *r);
    if (request_template(c, d, r) < 0)
        return -1;
    ps->nreqs++;        /* from here on plan_free releases it */

    r->name = plan_strdup(d->name);
    r->method = plan_strdup(d->method);
    if (!r->name || !r->method) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    if (request_expect(c, d, r) < 0 || request_captures(c, s, r) < 0)
        return -1;
    if (d->keep_body)
        r->keep_body = true;
    r->timeout_ns = s->timeout_ns > 0 ? s->timeout_ns
                  : c->sf->defaults.timeout_ns > 0 ? c->sf->defaults.timeout_ns : DEFAULT_TIMEOUT_NS;
    r->metric = ps->nreqs - 1;

    if (r->keep_body)
        ps->keeps_bodies = true;
    if (r->t.max_iov > ps->max_iov)
        ps->max_iov = r->t.max_iov;
    if (r->t.scratch_need > ps->scratch_need)
        ps->scratch_need = r->t.scratch_need;
    return ps->nreqs - 1;
}

int plan_compile_request_step(struct cc *c, const struct step *s)
{
    int shift = 0;
    char *lit = s->literal ? plan_escape_literal(s->path ? s->path : "", strlen(s->path ? s->path : "")) : NULL;
    if (s->literal && !lit) {
        plan_errf(c, s->pos, "out of memory");
        return -1;
    }
    char *path = plan_step_path(c, s->pos, lit ? lit : s->path, &shift);
    free(lit);
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
        if (s->literal && !d.json) {    /* sent as written, and referenced */
            d.bk = TEMPLATE_BODY_FIXED;
            d.body = s->body ? s->body : "";
            d.body_len = strlen(d.body);
            break;
        }
        /* a constant text compiles into a fixed body (the template module's doing) */
        d.bk = TEMPLATE_BODY_TEMPLATE;
        d.body_text = s->body ? s->body : "";
        break;
    case BODY_BYTES:
        d.bk = TEMPLATE_BODY_FIXED;
        d.body = plan_blob_bytes(c->p, s->body_bytes);
        d.body_len = (size_t)s->body_bytes;
        if (!d.body) {
            plan_errf(c, s->pos, "body of %llu bytes: out of memory", (unsigned long long)s->body_bytes);
            goto out;
        }
        break;
    case BODY_FILE: {
        char *fp = plan_body_file_path(c->sf, s->body ? s->body : "");
        if (!fp) {
            plan_errf(c, s->pos, "out of memory");
            goto out;
        }
        d.bk = TEMPLATE_BODY_FIXED;
        d.body = plan_blob_file(c, s->pos, fp, &d.body_len);
        free(fp);
        if (!d.body)
            goto out;
        break;
    }
    }
    rc = plan_add_request(c, &d);
out:
    free(path);
    return rc;
}
