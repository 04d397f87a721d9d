/* template — compiling whole HTTP/1.1 requests (see template.h, template_request_compile):
 * the request line, Host, User-Agent, the headers and the framing (Content-Length, or a
 * slot for a templated body's length) go into one builder, so the head is pre-rendered as
 * one text; the body is compiled apart, or inlined when fixed and small.
 */
#include "blaster/compile/template_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

static bool given(const struct template_request_spec *s, const char *name)
{
    for (int i = 0; i < s->nheaders; i++)
        if (strcasecmp(s->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Check what the head's fixed text is made of; *ua and *host get the User-Agent and Host to
 * add (NULL: none, a header gives it). False with err when something cannot be sent. */
static bool request_check(const struct template_request_spec *spec, const char **ua,
                          const char **host, char *err, size_t errlen)
{
    if (!is_token(spec->method)) {
        template_fail(err, errlen, "", "method '%s' is not an HTTP token", spec->method ? spec->method : "");
        return false;
    }
    if (!spec->path || !*spec->path) {
        template_fail(err, errlen, "", "path: empty (expected /path?query)");
        return false;
    }
    for (int i = 0; i < spec->nheaders; i++) {
        if (!is_token(spec->headers[i].name)) {
            template_fail(err, errlen, "", "header '%s': the name is not an HTTP token",
                 spec->headers[i].name ? spec->headers[i].name : "");
            return false;
        }
    }
    *ua = spec->user_agent && !given(spec, "User-Agent") ? spec->user_agent : NULL;
    *host = given(spec, "Host") ? NULL : spec->host ? spec->host : "";
    if (*host && (!**host || strpbrk(*host, " \t\r\n"))) {
        template_fail(err, errlen, "", "host '%s' is empty or holds spaces", *host);
        return false;
    }
    if (*ua && strpbrk(*ua, "\r\n")) {
        template_fail(err, errlen, "", "user agent holds CR or LF");
        return false;
    }
    if (spec->body_kind == TEMPLATE_BODY_FIXED && spec->body_len && !spec->body) {
        template_fail(err, errlen, "", "body: no bytes for a fixed body of %zu bytes", spec->body_len);
        return false;
    }
    return true;
}

/* The body's kind and bytes as compiled: a templated body goes into out->body_t, and one
 * without slots becomes a fixed body (its text). False with err when it does not compile. */
static bool body_compile(const struct template_request_spec *spec,
                         const struct template_scope *scope, struct template_request *out,
                         enum template_body *bk, const void **body, size_t *body_len,
                         char *err, size_t errlen)
{
    *bk = spec->body_kind;
    *body = spec->body;
    *body_len = spec->body_len;
    if (*bk != TEMPLATE_BODY_TEMPLATE)
        return true;
    struct builder bb;
    template_builder_init(&bb);
    bool ok = template_parse(&bb, spec->body_text ? spec->body_text : "", scope, CTX_TEXT, err, errlen, "body: ") &&
              template_finish(&bb, scope, &out->body_t, err, errlen, "body: ");
    template_builder_free(&bb);
    if (!ok)
        return false;
    if (out->body_t.constant) {
        *bk = TEMPLATE_BODY_FIXED;
        *body = out->body_t.npieces_ ? out->body_t.spans_[0].iov_base : "";
        *body_len = out->body_t.npieces_ ? out->body_t.spans_[0].iov_len : 0;
    }
    return true;
}

/* Append "name: value" CRLF. */
static void field_add(struct builder *b, const char *name, const char *value)
{
    template_add_str(b, name);
    template_add_str(b, ": ");
    template_add_str(b, value);
    template_add_str(b, "\r\n");
}

/* The request line and the header fields (Host, User-Agent, the spec's headers); false
 * with err when the path or a header value does not parse. */
static bool head_add_fields(struct builder *b, const struct template_request_spec *spec,
                            const char *host, const char *ua,
                            const struct template_scope *scope, char *err, size_t errlen)
{
    bool ok;
    template_add_str(b, spec->method);
    template_add_str(b, " ");
    ok = template_parse(b, spec->path, scope, CTX_PATH, err, errlen, "path: ");
    template_add_str(b, " HTTP/1.1\r\n");
    if (ok && host)
        field_add(b, "Host", host);
    if (ok && ua)
        field_add(b, "User-Agent", ua);
    for (int i = 0; ok && i < spec->nheaders; i++) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "header '%s': ", spec->headers[i].name);
        template_add_str(b, spec->headers[i].name);
        template_add_str(b, ": ");
        ok = template_parse(b, spec->headers[i].value ? spec->headers[i].value : "", scope, CTX_HEADER,
                   err, errlen, prefix);
        template_add_str(b, "\r\n");
    }
    return ok;
}

/* Content-Length, unless the spec's headers frame the body themselves. */
static void head_add_length(struct builder *b, const struct template_request_spec *spec,
                            enum template_body bk, size_t body_len)
{
    if (given(spec, "Content-Length") || given(spec, "Transfer-Encoding"))
        return;
    if (bk == TEMPLATE_BODY_FIXED) {
        char cl[48];
        template_add_lit(b, cl, (size_t)snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body_len));
    } else if (bk == TEMPLATE_BODY_TEMPLATE) {
        template_add_str(b, "Content-Length: ");
        template_add_part(b, R_CLEN, 0);
        template_add_str(b, "\r\n");
    } else if (!strcmp(spec->method, "POST") || !strcmp(spec->method, "PUT") ||
               !strcmp(spec->method, "PATCH")) {
        template_add_str(b, "Content-Length: 0\r\n");
    }
}

int template_request_compile(const struct template_request_spec *spec,
                             const struct template_scope *scope,
                             struct template_request *out, char *err, size_t errlen)
{
    const char *ua, *host;
    enum template_body bk;
    const void *body;
    size_t body_len;

    memset(out, 0, sizeof *out);
    if (!request_check(spec, &ua, &host, err, errlen))
        return -1;
    /* The body first: a constant template body is a fixed body. */
    if (!body_compile(spec, scope, out, &bk, &body, &body_len, err, errlen))
        return -1;
    bool inline_body = bk == TEMPLATE_BODY_FIXED && body_len <= TEMPLATE_INLINE_BODY_MAX;

    struct builder b;
    template_builder_init(&b);
    bool ok = head_add_fields(&b, spec, host, ua, scope, err, errlen);
    if (ok)
        head_add_length(&b, spec, bk, body_len);
    template_add_str(&b, "\r\n");
    if (inline_body)
        template_add_lit(&b, body, body_len);
    if (ok && b.oom) {
        template_fail(err, errlen, "", "out of memory");
        ok = false;
    }
    ok = ok && template_finish(&b, scope, &out->head, err, errlen, "");
    template_builder_free(&b);
    if (!ok) {
        template_request_free(out);
        return -1;
    }
    if (inline_body)
        template_free(&out->body_t);    /* copied into the head; a larger one stays referenced */
    out->body_kind = inline_body ? TEMPLATE_BODY_NONE : bk;
    if (out->body_kind == TEMPLATE_BODY_FIXED) {
        out->body = body;
        out->body_len = body_len;
    }
    out->max_iov = out->head.max_iov + (out->body_kind == TEMPLATE_BODY_FIXED ? 1 :
                                         out->body_kind == TEMPLATE_BODY_TEMPLATE ? out->body_t.max_iov : 0);
    out->scratch_need = out->head.scratch_need + out->body_t.scratch_need;
    out->is_head = strcmp(spec->method, "HEAD") == 0;
    return 0;
}

void template_request_free(struct template_request *r)
{
    template_free(&r->head);
    template_free(&r->body_t);
    memset(r, 0, sizeof *r);
}
