/* Private to the template module (template.c, template_parse.c, template_render.c,
 * template_request.c): the compiled pieces and variables behind struct template's private
 * fields, and the builder that compilation goes through. The public contract is
 * template.h; nothing else includes this.
 *
 * Compilation goes through a builder: parsing (template_parse.c) appends parts (literal
 * text, finite variables, runtime slots) to it, and finishing (template.c) cuts the parts
 * into pieces, pre-rendering what is finite. A request head (template_request.c) is one
 * builder fed with the request line, the path, every header and the framing, so its
 * literal text and finite slots merge across header boundaries. Rendering
 * (template_render.c) reads only the pieces.
 */
#ifndef BLASTER_TEMPLATE_INT_H
#define BLASTER_TEMPLATE_INT_H

#include "blaster/compile/template.h"

enum piece_kind {
    P_LIT,      /* spans_[tab] */
    P_VARIANT,  /* spans_[tab + sum(vidx[var] * stride)] */
    P_SPLICE,   /* spans_[tab + vidx[arg]]: a finite variable's value text */
    P_VU,
    P_ITER,
    P_LOOPNUM,  /* vals->loop[vars_[arg].slot], formatted */
    P_CAPTURE,  /* vals->capture[arg] */
    P_CLEN,     /* the body length of a request, formatted */
};

struct template_piece_ {
    uint8_t  kind;
    uint8_t  nvars;    /* P_VARIANT: (var, stride) pairs at strides_[2 * strides] */
    uint16_t arg;
    uint32_t tab;
    uint32_t strides;
};

enum var_kind { V_LOOP, V_ONE_OF };

struct template_var_ {
    uint8_t  kind;
    uint8_t  slot;     /* V_LOOP: index in vals->loop */
    bool     finite;   /* V_LOOP: count <= TEMPLATE_LOOP_FINITE_MAX; V_ONE_OF: always */
    uint32_t first;    /* V_LOOP */
    uint32_t count;
    uint32_t tab;      /* spans of the value texts when spliced, else UINT32_MAX */
    /* compile time only */
    uint32_t val0;     /* first value text in the builder's value table */
    uint32_t maxlen;   /* longest value text */
};

/* ---- builder ---- */

enum part_kind { R_LIT, R_VAR, R_VU, R_ITER, R_LOOPNUM, R_CAPTURE, R_CLEN };

struct part {
    uint8_t  kind;
    uint16_t arg;      /* R_VAR, R_LOOPNUM: var index; R_CAPTURE: slot */
    uint32_t off, len; /* R_LIT: range in lit */
};

struct buf {
    char  *p;
    size_t n, cap;
};

struct builder {
    struct part *parts;
    int          nparts, capparts;
    struct buf   lit;                /* literal text of the parts */
    struct buf   valtext;            /* value texts of the variables */
    uint32_t    *valoff, *vallen;
    uint32_t     nvals, capvals;
    struct template_var_ *vars;
    int          nvars, capvars;
    int          loopvar[TEMPLATE_MAX_LOOPS]; /* var of a loop slot, or -1 */
    int          none_of;
    bool         oom;
};

/* Where template text is used: what its literal text may hold. */
enum ctx { CTX_TEXT, CTX_PATH, CTX_HEADER };

/* p with room for need elements of elem bytes (p itself when *cap suffices), or NULL (p
 * untouched) when out of memory. */
void *template_array_grow(void *p, int *cap, int need, size_t elem);
/* Append n bytes to b; false when out of memory. */
bool template_buf_add(struct buf *b, const void *p, size_t n);

void template_builder_init(struct builder *b);
void template_builder_free(struct builder *b);
/* Append a part, a literal (merged into a literal part before it), a string literal.
 * Running out of memory sets b->oom. */
struct part *template_add_part(struct builder *b, uint8_t kind, uint16_t arg);
void template_add_lit(struct builder *b, const void *p, size_t n);
void template_add_str(struct builder *b, const char *s);

/* Write prefix then the formatted message into err (when err and errlen). */
void template_fail(char *err, size_t errlen, const char *prefix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Append the parts of template text used in ctx to b; false with err (prefix first) when
 * the text is malformed or names what sc does not know. */
bool template_parse(struct builder *b, const char *text, const struct template_scope *sc,
                    enum ctx ctx, char *err, size_t errlen, const char *prefix);

/* Cut b's parts into t's pieces, pre-rendering finite chunks within sc's limits; t takes
 * b's variables. False with err (prefix first) when out of memory, t then zeroed. */
bool template_finish(struct builder *b, const struct template_scope *sc, struct template *t,
                     char *err, size_t errlen, const char *prefix);

#endif
