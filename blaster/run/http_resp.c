/* The HTTP/1.1 response parser, the client's hot path (contract in http.h): the status
 * line, skipping interim 1xx responses, and deciding from the headers how the body is
 * framed. Header lines are http_header.c's, the body http_body.c's.
 */
#include "blaster/run/http_int.h"

static void status_start(struct http_resp *r)
{
    r->status = 0;
    r->p_.state = S_STATUS;
    r->p_.count = 0;
}

void http_resp_init(struct http_resp *r, bool head_request)
{
    memset(r, 0, sizeof *r);
    r->p_.flags = head_request ? F_HEAD : 0;
    r->p_.cap = -1;
    status_start(r);
}

/* One byte of "HTTP/1.x NNN" and the byte after it; NULL or what is wrong. */
static const char *status_byte(struct http_resp *r, uint8_t c)
{
    struct http_priv_ *s = &r->p_;
    uint32_t i = s->count++;

    if (i < 8) {
        if (!version_byte(i, c, &r->minor_version))
            return i < 5 ? "not an HTTP response" : "unsupported HTTP version";
    } else if (i == 8) {
        if (c != ' ')
            return "invalid status line";
    } else if (i < 12) {
        if (!is_digit(c) || (i == 9 && c == '0'))
            return "invalid status code";
        r->status = r->status * 10 + (c - '0');
    } else if (c == ' ') {
        s->state = S_REASON;
    } else if (c == '\r') {
        s->state = S_START_LF;
    } else if (c == '\n') {
        s->state = S_HDR_LINE;
    } else {
        return "invalid status line";
    }
    return NULL;
}

/* State S_STATUS: the status line up to its reason phrase (or its end). */
static const uint8_t *status_feed(struct http_resp *r, const uint8_t *p, const uint8_t *end,
                                  const char **err)
{
    struct http_priv_ *s = &r->p_;

    /* Common case: the whole "HTTP/1.1 200 " in hand. */
    if (s->count == 0 && end - p >= 13 && memcmp(p, "HTTP/1.", 7) == 0 &&
        is_digit(p[7]) && p[8] == ' ' && is_digit(p[9]) && p[9] != '0' &&
        is_digit(p[10]) && is_digit(p[11]) && p[12] == ' ') {
        r->minor_version = p[7] - '0';
        r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        s->state = S_REASON;
        return p + 13;
    }
    while (p < end && s->state == S_STATUS)
        if ((*err = status_byte(r, *p++)))
            return NULL;
    return p;
}

/* The empty line ended a header block: skip an interim response, or decide the body. */
static void resp_headers_end(struct http_resp *r)
{
    struct http_priv_ *s = &r->p_;
    int st = r->status;
    uint16_t f = s->flags;

    if (st < 200 && st != 101) {
        s->flags &= F_HEAD;
        s->cl = 0;
        status_start(r);
        return;
    }
    r->headers_done = true;
    r->keep_alive = keep_alive_of(r->minor_version, f);
    /* RFC 9112 6.1 and 6.3: framing that smells of request smuggling is honoured for this
     * response but the connection is not reused. */
    if ((f & F_TE) && (r->minor_version == 0 || (f & F_HAS_CL)))
        r->keep_alive = false;

    if ((f & F_HEAD) || st == 101 || st == 204 || st == 304) {
        if (st == 101)
            r->keep_alive = false;  /* the connection now speaks another protocol */
        s->state = S_DONE;
    } else if (f & F_TE) {
        if (f & F_CHUNKED) {
            http_chunked_start(s);
        } else {
            s->state = S_BODY_CLOSE;  /* RFC 9112 6.3: read until close */
            r->keep_alive = false;
        }
    } else if (f & F_HAS_CL) {
        s->n = s->cl;
        s->state = s->cl ? S_BODY_CL : S_DONE;
    } else {
        s->state = S_BODY_CLOSE;
        r->keep_alive = false;
    }
}

enum http_rc http_resp_feed(struct http_resp *r, const uint8_t *buf, size_t len, size_t *consumed)
{
    struct http_priv_ *s = &r->p_;
    const uint8_t *p = buf, *end = buf + len, *mark = buf;
    const char *err = NULL;

    *consumed = 0;
    if (s->state == S_DONE)
        return HTTP_DONE;
    if (s->state == S_ERROR)
        return HTTP_ERROR;

    while (p < end) {
        switch (s->state) {
        case S_STATUS:
            if (!(p = status_feed(r, p, end, &err)))
                goto out;
            if (s->state == S_HDR_LINE && !line_end(&r->header_bytes, &mark, p, &err))
                p = NULL;
            if (s->state != S_REASON)  /* else, as usual, straight on to the reason phrase */
                break;
            /* fall through */
        case S_REASON: {
            const uint8_t *nl = find_lf(p, end);
            if (!nl) {
                p = end;
                break;
            }
            p = nl + 1;
            s->state = S_HDR_LINE;
            if (!line_end(&r->header_bytes, &mark, p, &err))
                p = NULL;
            break;
        }
        case S_START_LF:
            p = start_lf_feed(s, p, &mark, &r->header_bytes, &err);
            break;
        case S_HDR_LINE:
        case S_HDR_NAME:
        case S_VALUE:
        case S_SKIP_VALUE:
        case S_HDR_END_LF:
            p = http_resp_headers_feed(s, p, end, &mark, &r->header_bytes, &err);
            if (p && s->state == S_BODY) {
                resp_headers_end(r);
                if (s->state == S_DONE)
                    goto out;
            }
            break;
        default:
            p = http_body_feed(s, p, end, &r->body_bytes, &err);
            if (p && s->state == S_DONE)
                goto out;
            break;
        }
        if (!p)
            goto out;
    }
    if (s->state < S_BODY && !line_end(&r->header_bytes, &mark, p, &err))
        p = NULL;
out:
    return feed_end(s, buf, p, err, &r->error, consumed);
}

enum http_rc http_resp_eof(struct http_resp *r)
{
    struct http_priv_ *s = &r->p_;

    switch (s->state) {
    case S_DONE:
        return HTTP_DONE;
    case S_BODY_CLOSE:
        s->state = S_DONE;
        return HTTP_DONE;
    case S_ERROR:
        return HTTP_ERROR;
    }
    if (s->state == S_STATUS && s->count == 0 && r->header_bytes == 0)
        r->error = "connection closed before response";
    else if (s->state < S_BODY)
        r->error = "connection closed in response headers";
    else
        r->error = "connection closed before end of body";
    s->state = S_ERROR;
    return HTTP_ERROR;
}
