/* template — request text with per-request slots, compiled once, spliced with
 * iovecs at run time (DESIGN.md, "Scenario files": finite variants are
 * pre-rendered; slots are spliced, never re-rendered).
 *
 * Syntax of template text (what the scenario loader leaves in strings):
 *   ${vu}              the VU number (1-based)
 *   ${iter}            the VU's iteration number (0-based, k6's __ITER)
 *   ${NAME}            a loop variable (`repeat: 10, as: n` gives 1..10) or a
 *                      capture slot, as the scope says
 *   ${one_of:a,b,c}    one item, drawn uniformly per request; items are plain
 *                      text, non-empty, without ',' '}' or "${"
 *   $${                a literal "${"; any other '$' is literal
 * Names are [A-Za-z_][A-Za-z0-9_]*.
 *
 * Compilation. Text is cut into runs of literal text and *finite* slots (a
 * loop variable of at most TEMPLATE_LOOP_FINITE_MAX values, a one_of list)
 * separated by *runtime* slots (vu, iter, captures, longer loops). Within a
 * run, maximal chunks whose variant count (the product of the value counts of
 * their distinct finite slots) stays within scope->max_variants and whose
 * bytes stay within scope->max_prerender_bytes are rendered for every
 * combination: at run time such a chunk costs an index computation and one
 * iovec. A finite slot too large for that is spliced from its pre-rendered
 * value texts. Numbers are formatted at run time into caller scratch
 * (at most 20 bytes each); captures are pointed at, not copied.
 *
 * Rendering allocates nothing, takes no lock, and never writes to the
 * template: one compiled template serves every worker thread at once. */
#ifndef BLASTER_TEMPLATE_H
#define BLASTER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TEMPLATE_MAX_LOOPS        8    /* nested repeat variables a template can see */
#define TEMPLATE_MAX_CAPTURES     8    /* capture slots a template can see */
#define TEMPLATE_MAX_ONE_OF       32   /* one_of occurrences in one template (a request: head and body each) */
#define TEMPLATE_LOOP_FINITE_MAX  64   /* loop variables with at most this many values are finite */
#define TEMPLATE_MAX_VARIANTS     256  /* default limit on the variants of one pre-rendered chunk */
#define TEMPLATE_MAX_PRERENDER    (256u * 1024u) /* default limit on the bytes of one chunk's variants */
#define TEMPLATE_NUM_MAX          20   /* scratch bytes one number may take (UINT64_MAX) */

/* A loop variable in scope: values first .. first+count-1 (a `repeat: 10,
 * as: n` is {"n", 1, 10}). Its value at run time is values.loop[k], k being
 * its index in scope->loops. */
struct template_loopvar {
    const char *name;
    uint32_t    first;
    uint32_t    count;   /* >= 1 */
};

/* What `${NAME}` can mean where the text is used. Names are looked up as vu,
 * iter, then loop variables innermost (last) first, then captures. A NULL
 * scope knows only vu, iter and one_of. */
struct template_scope {
    const struct template_loopvar *loops;
    int                 nloops;          /* loops[k] reads values.loop[k]; k < TEMPLATE_MAX_LOOPS when used */
    const char *const  *captures;        /* capture k reads values.capture[k]; k < TEMPLATE_MAX_CAPTURES when used */
    int                 ncaptures;
    unsigned            max_variants;    /* 0: TEMPLATE_MAX_VARIANTS; 1 pre-renders nothing variable */
    size_t              max_prerender_bytes; /* 0: TEMPLATE_MAX_PRERENDER */
};

/* What one request sees. Loop values must lie in their declared range.
 * Capture values are spliced as they are (a NULL ptr or a zero len is the
 * empty string) and must stay valid until the rendered iovecs are sent; the
 * capturer rejects CR and LF in values that go into a head. rng is a per-VU
 * state (any value, 0 included) that one_of slots draw from; NULL always
 * picks the first item. */
struct template_values {
    uint32_t  vu;
    uint64_t  iter;
    uint32_t  loop[TEMPLATE_MAX_LOOPS];
    struct { const char *ptr; size_t len; } capture[TEMPLATE_MAX_CAPTURES];
    uint64_t *rng;
};

struct template_piece_;
struct template_var_;

/* A compiled template. The public fields are read-only facts for the caller
 * (sizing iovec arrays and scratch, tests, plan statistics); the rest is
 * private. */
struct template {
    int      max_iov;         /* render_iov never needs more iovecs than this */
    size_t   scratch_need;    /* ... nor more scratch bytes than this */
    bool     constant;        /* every rendering is the same bytes (one literal iovec at most) */
    bool     random;          /* draws from values.rng (has a one_of) */
    int      nvariant_chunks; /* chunks pre-rendered in several variants */
    int      nspliced;        /* finite slots spliced value by value (over the limits) */
    size_t   prerender_bytes; /* bytes of pre-rendered text, variants included */

    struct template_piece_ *pieces_;
    int                     npieces_;
    struct template_var_   *vars_;
    int                     nvars_;
    struct iovec           *spans_;   /* pre-rendered texts, into pool_ */
    uint32_t               *strides_; /* (var, stride) pairs of variant chunks */
    char                   *pool_;
};

/* Compile text (NUL-terminated template text) for the given scope (NULL:
 * vu, iter and one_of only). 0, or -1 with *out zeroed and err holding what
 * was wrong and its 1-based column in text, e.g. "unknown variable 'x' at
 * column 9 (known here: vu, iter, n, upload_id)" or "unterminated '${' at
 * column 3 (expected '}')". Allocates; template_free releases. */
int  template_compile(const char *text, const struct template_scope *scope,
                      struct template *out, char *err, size_t errlen);

/* Release what compile allocated; *t becomes a zeroed template. Safe on a
 * zeroed template. */
void template_free(struct template *t);

/* Render into iovecs that point into the template's pre-rendered text, into
 * scratch (numbers) and at the capture values. Adjacent pieces that touch in
 * memory share one iovec; empty pieces take none. One_of slots draw once
 * each, in order of appearance, from *vals->rng. Returns the number of
 * iovecs (0 for an empty rendering), or -1 when max_iov < t->max_iov,
 * scratch_len < t->scratch_need, or a loop value is outside its range.
 * Allocation-free. */
int  template_render_iov(const struct template *t, const struct template_values *vals,
                         struct iovec *iov, int max_iov, char *scratch, size_t scratch_len);

/* Bytes template_render_iov would produce, drawing from *vals->rng exactly as
 * it does (so a render from a saved copy of the state gives the same bytes);
 * -1 when a loop value is outside its range. */
int64_t template_render_len(const struct template *t, const struct template_values *vals);

/* Render contiguously into buf (not NUL-terminated). Bytes written, or -1
 * when cap is too small or a loop value is outside its range. Draws like
 * template_render_iov. */
int64_t template_render_flat(const struct template *t, const struct template_values *vals,
                             char *buf, size_t cap);

/* A uniform draw in [0, n) from the per-VU generator state (splitmix64 with
 * Lemire's multiply-shift; n >= 1). one_of uses it; so can weighted picks. */
uint32_t template_draw(uint64_t *rng, uint32_t n);

/* ---- Whole requests ---- */

struct template_header {
    const char *name;     /* a token, not a template */
    const char *value;    /* template text */
};

enum template_body {
    TEMPLATE_BODY_NONE,
    TEMPLATE_BODY_FIXED,      /* the same bytes for every request, shared, never copied per VU */
    TEMPLATE_BODY_TEMPLATE,   /* template text: rendered per request, Content-Length per request */
};

struct template_request_spec {
    const char *method;       /* "GET", "POST", ...: a token */
    const char *path;         /* template text: origin-form path and query, e.g. "/x?n=${n}" */
    const char *host;         /* Host header value, literal ("h:8080") */
    const char *user_agent;   /* added as User-Agent unless a header gives one; NULL: none */
    const struct template_header *headers; /* in order, defaults already merged by the caller */
    int         nheaders;
    enum template_body body_kind;
    const void *body;         /* FIXED: the bytes (caller-owned, must outlive the request) */
    size_t      body_len;     /* FIXED */
    const char *body_text;    /* TEMPLATE: template text */
};

/* Fixed bodies up to this size are copied into the head's pre-rendered text
 * (one iovec less per send); larger ones are referenced. */
#define TEMPLATE_INLINE_BODY_MAX 4096

/* A compiled request: head (request line, headers, blank line, and a small
 * fixed body) + body. */
struct template_request {
    struct template head;
    enum template_body body_kind; /* as compiled: FIXED only when the body is referenced */
    const void *body;             /* FIXED, referenced */
    size_t      body_len;
    struct template body_t;       /* TEMPLATE */
    int         max_iov;          /* render_iov never needs more iovecs than this */
    size_t      scratch_need;     /* ... nor more scratch bytes */
    bool        is_head;          /* HEAD: the response has no body */
};

/* Compile a full HTTP/1.1 request:
 *   METHOD SP path SP "HTTP/1.1" CRLF
 *   "Host: " host CRLF                  unless a header named Host is given
 *   "User-Agent: " user_agent CRLF      when given and no header names one
 *   name ": " value CRLF ...            the headers, in order
 *   "Content-Length: " N CRLF           unless Content-Length or Transfer-Encoding
 *                                       is given: a fixed body's length; a templated
 *                                       body's length per request (a slot); 0 for a
 *                                       POST, PUT or PATCH without body
 *   CRLF  body
 * Header names are matched without regard to case. The path may not hold
 * spaces or control characters, header values may not hold CR or LF (literal
 * text and one_of items are checked here; capture values are not). 0, or -1
 * with *out zeroed and err naming the part ("path: ...", "header 'X-A': ...",
 * "body: ..."). A template body without slots is compiled to a fixed body
 * (rendered once, inlined when small). Allocates; template_request_free
 * releases (safe on a zeroed request). */
int  template_request_compile(const struct template_request_spec *spec,
                              const struct template_scope *scope,
                              struct template_request *out, char *err, size_t errlen);
void template_request_free(struct template_request *r);

/* Render one request: head then body, in as many iovecs as it takes (at most
 * r->max_iov; scratch at least r->scratch_need). The body is rendered (its
 * one_of slots drawn) before the head, so the Content-Length slot is its exact
 * length. *total (if not NULL) gets the bytes of the request. Number of
 * iovecs, or -1 as template_render_iov. Allocation-free. */
int  template_request_render_iov(const struct template_request *r, const struct template_values *vals,
                                 struct iovec *iov, int max_iov, char *scratch, size_t scratch_len,
                                 size_t *total);

#endif
