/* The HTTP/1.1 request parser of `blaster serve` (contract in http.h): the request line,
 * copied into the struct, the caller's captured headers, and deciding from the headers how
 * the body is framed. Header lines are http_header.c's, the body http_body.c's.
 */
#include "blaster/run/http_int.h"

void http_req_init(struct http_req *q)
{
    memset(q, 0, sizeof *q);
    q->p_.state = S_REQ_START;
    q->p_.cap = -1;
}

/* The request's table of header names: the framing ones, then the caller's captures. */
struct req_names {
    const char *name[K_CAPTURE + HTTP_REQ_MAX_CAPTURE];
    uint8_t len[K_CAPTURE + HTTP_REQ_MAX_CAPTURE];
    struct names t;
};

static void req_names_init(struct req_names *rn, const struct http_req *q)
{
    static const char *const fixed[] = { "content-length", "transfer-encoding", "connection",
                                         "expect" };
    static const uint8_t fixed_len[] = { 14, 17, 10, 6 };

    memcpy(rn->name, fixed, sizeof fixed);
    memcpy(rn->len, fixed_len, sizeof fixed_len);
    rn->t = (struct names){ rn->name, rn->len, (1u << K_CAPTURE) - 1, false };
    for (int i = 0; i < HTTP_REQ_MAX_CAPTURE; i++) {
        const char *n = i < q->ncapture && q->capture[i].name ? q->capture[i].name : "";
        size_t nlen = strlen(n);
        rn->name[K_CAPTURE + i] = n;
        rn->len[K_CAPTURE + i] = (uint8_t)nlen;
        if (nlen && nlen < 255)  /* longer names cannot be told apart by the byte-wise matcher */
            rn->t.mask |= 1u << (K_CAPTURE + i);
    }
}

/* One byte of the method (S_METHOD) or the request-target (S_TARGET), copied into q up to
 * the space that ends it; NULL or what is wrong. */
static const char *method_byte(struct http_req *q, uint8_t c)
{
    struct http_priv_ *s = &q->p_;

    if (c == ' ') {
        if (s->count == 0)
            return "invalid method";
        s->state = S_TARGET;
        s->count = 0;
    } else if (!is_tchar(c)) {
        return "invalid method";
    } else if (s->count >= sizeof q->method - 1) {
        return "method too long";
    } else {
        q->method[s->count++] = (char)c;
    }
    return NULL;
}

static const char *target_byte(struct http_req *q, uint8_t c)
{
    struct http_priv_ *s = &q->p_;

    if (c == ' ') {
        if (s->count == 0)
            return "empty request target";
        s->state = S_REQ_VERSION;
        s->count = 0;
    } else if (c <= ' ' || c >= 0x7f) {
        return "invalid request target";
    } else if (s->count >= sizeof q->target - 1) {
        return "request target too long";
    } else {
        q->target[s->count++] = (char)c;
    }
    return NULL;
}

/* One byte of "HTTP/1.x" and the line end after it; NULL or what is wrong. */
static const char *req_version_byte(struct http_req *q, uint8_t c)
{
    struct http_priv_ *s = &q->p_;
    uint32_t i = s->count++;

    if (i < 8) {
        if (!version_byte(i, c, &q->minor_version))
            return "unsupported HTTP version";
    } else if (c == '\r') {
        s->state = S_START_LF;
    } else if (c == '\n') {
        s->state = S_HDR_LINE;
    } else {
        return "invalid request line";
    }
    return NULL;
}

/* The request line, from S_REQ_START up to its line end; the method and the target are
 * copied out. Returns where it stopped, or NULL with *err set. *mark is moved past the
 * empty lines skipped before it, which are not header bytes. */
static const uint8_t *request_line_feed(struct http_req *q, const uint8_t *p,
                                        const uint8_t *end, const uint8_t **mark,
                                        const char **err)
{
    struct http_priv_ *s = &q->p_;

    while (p < end) {
        switch (s->state) {
        case S_REQ_START:
            /* RFC 9112 2.2: clients sometimes send a CRLF after a POST body. */
            while (p < end && (*p == '\r' || *p == '\n'))
                p++;
            *mark = p;
            if (p < end) {
                s->state = S_METHOD;
                s->count = 0;
            }
            break;
        case S_METHOD:
            *err = method_byte(q, *p++);
            break;
        case S_TARGET:
            *err = target_byte(q, *p++);
            break;
        case S_REQ_VERSION:
            *err = req_version_byte(q, *p++);
            break;
        default:
            return p;
        }
        if (*err)
            return NULL;
    }
    return p;
}

/* The empty line ended the request's headers: decide the body. */
static const char *req_headers_end(struct http_req *q)
{
    struct http_priv_ *s = &q->p_;
    uint16_t f = s->flags;

    q->headers_done = true;
    q->keep_alive = keep_alive_of(q->minor_version, f);
    /* RFC 9110 10.1.1: an HTTP/1.0 client cannot have meant it. */
    q->expect_continue = (f & F_EXPECT) && q->minor_version >= 1;
    if (f & F_TE) {
        if (!(f & F_CHUNKED))
            return "unsupported transfer-encoding";
        /* RFC 9112 6.1: TE wins over CL, and the connection is closed afterwards. */
        if (f & F_HAS_CL)
            q->keep_alive = false;
        q->chunked = true;
        http_chunked_start(s);
    } else if ((f & F_HAS_CL) && s->cl) {
        q->content_length = s->cl;
        s->n = s->cl;
        s->state = S_BODY_CL;
    } else {
        s->state = S_DONE;
    }
    return NULL;
}

enum http_rc http_req_feed(struct http_req *q, const uint8_t *buf, size_t len, size_t *consumed)
{
    struct http_priv_ *s = &q->p_;
    const uint8_t *p = buf, *end = buf + len, *mark = buf;
    const char *err = NULL;
    struct req_names rn;

    *consumed = 0;
    if (s->state == S_DONE)
        return HTTP_DONE;
    if (s->state == S_ERROR)
        return HTTP_ERROR;

    req_names_init(&rn, q);
    while (p < end) {
        switch (s->state) {
        case S_REQ_START:
        case S_METHOD:
        case S_TARGET:
        case S_REQ_VERSION:
            if (!(p = request_line_feed(q, p, end, &mark, &err)))
                goto out;
            if (s->state == S_HDR_LINE && !line_end(&q->header_bytes, &mark, p, &err))
                p = NULL;
            break;
        case S_START_LF:
            p = start_lf_feed(s, p, &mark, &q->header_bytes, &err);
            break;
        case S_HDR_LINE:
        case S_HDR_NAME:
        case S_VALUE:
        case S_SKIP_VALUE:
        case S_HDR_END_LF:
            p = http_req_headers_feed(s, p, end, &mark, &rn.t, q->capture, &q->header_bytes,
                                      &err);
            if (p && s->state == S_BODY) {
                if ((err = req_headers_end(q)))
                    p = NULL;
                else if (s->state == S_DONE)
                    goto out;
            }
            break;
        default:
            p = http_body_feed(s, p, end, &q->body_bytes, &err);
            if (p && s->state == S_DONE)
                goto out;
            break;
        }
        if (!p)
            goto out;
    }
    if (s->state < S_BODY && s->state != S_REQ_START &&
        !line_end(&q->header_bytes, &mark, p, &err))
        p = NULL;
out:
    return feed_end(s, buf, p, err, &q->error, consumed);
}
