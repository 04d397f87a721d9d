/* plan_int — private to the plan module (plan.c, plan_flow.c,
 * plan_request.c, plan_body.c): the state of compiling one scenario, and the
 * helpers its files share. Nothing outside blaster/plan*.c includes it. */
#ifndef BLASTER_PLAN_INT_H
#define BLASTER_PLAN_INT_H

#include "blaster/compile/plan.h"

#ifndef BLASTER_VERSION
#define BLASTER_VERSION "dev"
#endif
#define PLAN_USER_AGENT "blaster/" BLASTER_VERSION
#define HLS_URI_SLOT_NAME "__hls_uri"
#define DEFAULT_TIMEOUT_NS (60LL * 1000000000LL)

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

/* ---- plan.c: small helpers ---- */

/* "FILE:LINE:COL: message" into c->err; just "message" for a model with
 * neither file nor position (quick mode's command line). */
void  plan_errf(struct cc *c, struct srcpos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *plan_strdup(const char *s);
/* Grow *arr (of elem-byte elements, *cap of them) to hold n + 1. */
bool  plan_grow(void **arr, int *cap, int n, size_t elem);
/* s as template text: every "${" becomes "$${" (malloc'ed). */
char *plan_escape_literal(const char *s, size_t n);

/* ---- plan_flow.c: the VU program ---- */

/* Name the capture slots, flatten s->flow into ops ending with OP_END,
 * compiling every request on the way. 0, or -1 with err set. */
int   plan_compile_flow(struct cc *c);
/* The slot of capture `name` in the scenario, or -1. */
int   plan_capture_slot(const struct cc *c, const char *name);

/* ---- plan_request.c: one request ---- */

/* What a request is made of: a request step, or one of an hls step's three. */
struct reqdesc {
    const struct step *s;       /* headers, expect, captures, timeout, pos, literal */
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

/* The request-target template for a step path (see plan_request.c);
 * malloc'ed, or NULL with err set. */
char *plan_step_path(struct cc *c, struct srcpos pos, const char *text, int *shift);
/* Compile one request into c->ps->reqs; its index, or -1 with err set. */
int   plan_add_request(struct cc *c, const struct reqdesc *d);
/* A request step: its path, body and request; its index, or -1. */
int   plan_compile_request_step(struct cc *c, const struct step *s);

/* ---- plan_body.c: bodies the whole plan shares ---- */

/* The plan's one buffer of size bytes, or NULL (out of memory). */
const void *plan_blob_bytes(struct plan *p, uint64_t size);
/* The plan's one copy of the file at path (read now); NULL with err set. */
const void *plan_blob_file(struct cc *c, struct srcpos pos, const char *path, size_t *len);
/* BODY_FILE's path: as written when absolute, else next to the scenario file. */
char *plan_body_file_path(const struct scenario_file *sf, const char *file);
/* Release the plan's shared bodies. */
void  plan_blobs_free(struct plan *p);

#endif
