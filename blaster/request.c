/* request — see request.h. */
#include "blaster/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BLASTER_UA "blaster/" BLASTER_VERSION

static bool given(const struct request_spec *s, const char *name)
{
    for (int i = 0; i < s->nheaders; i++)
        if (strcasecmp(s->hnames[i], name) == 0)
            return true;
    return false;
}

static bool clean(const char *v)
{
    return strpbrk(v, "\r\n") == NULL;
}

int request_render(const struct request_spec *s, struct request *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < s->nheaders; i++) {
        if (!clean(s->hnames[i]) || !clean(s->hvalues[i]) || !*s->hnames[i]) {
            snprintf(err, errlen, "header '%s': names and values cannot be empty or hold CR or LF", s->hnames[i]);
            return -1;
        }
    }
    size_t cap = 512 + strlen(s->url->path) + strlen(s->url->hostport);
    for (int i = 0; i < s->nheaders; i++)
        cap += strlen(s->hnames[i]) + strlen(s->hvalues[i]) + 4;
    bool inline_body = s->body && s->body_len <= REQUEST_INLINE_BODY_MAX;
    if (inline_body)
        cap += s->body_len;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "out of memory rendering the request");
        return -1;
    }
    size_t n = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\n", s->method, s->url->path);
    if (!given(s, "Host"))
        n += (size_t)snprintf(buf + n, cap - n, "Host: %s\r\n", s->url->hostport);
    if (!given(s, "User-Agent"))
        n += (size_t)snprintf(buf + n, cap - n, "User-Agent: %s\r\n", BLASTER_UA);
    for (int i = 0; i < s->nheaders; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s: %s\r\n", s->hnames[i], s->hvalues[i]);
    if (s->body && !given(s, "Content-Length") && !given(s, "Transfer-Encoding"))
        n += (size_t)snprintf(buf + n, cap - n, "Content-Length: %zu\r\n", s->body_len);
    n += (size_t)snprintf(buf + n, cap - n, "\r\n");
    if (inline_body) {
        memcpy(buf + n, s->body, s->body_len);
        n += s->body_len;
    } else if (s->body) {
        out->body = s->body;
        out->body_len = s->body_len;
    }
    out->head = (const uint8_t *)buf;
    out->head_len = n;
    out->is_head = strcmp(s->method, "HEAD") == 0;
    return 0;
}

void request_free(struct request *r)
{
    free((void *)r->head);
    r->head = NULL;
}
