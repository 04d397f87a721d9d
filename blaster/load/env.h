/* env — environment substitution in scenario-file scalars (DESIGN.md,
 * "Scenario files"): `${NAME}` and `${NAME:-default}` from -e K=V overrides
 * and the process environment, before a scalar is typed.
 *
 * Runtime slots are left as written for the template compiler: `${vu}`,
 * `${iter}`, `${one_of:...}` and the names added with env_add_slot
 * (`repeat` loop variables, capture slots). Pure text in, text out: the
 * caller (the scenario loader) turns an env_error into a message with a
 * file position. */
#ifndef BLASTER_ENV_H
#define BLASTER_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "blaster/common/sbuf.h"

struct env {
    const char *const *vars;  /* "K=V" strings that win over the process environment; the last wins */
    int          nvars;
    const char **slots;       /* runtime slot names in scope (besides vu, iter); not owned */
    int          nslots, cap;
};

enum env_status {
    ENV_OK,
    ENV_NUL,                  /* a NUL byte in the value */
    ENV_UNTERMINATED,         /* '${' without '}' */
    ENV_BAD_REF,              /* '${...}' that is not ${NAME}, ${NAME:-default} or ${one_of:...} */
    ENV_UNSET,                /* ${NAME} without a default, and NAME is not set */
    ENV_OOM,
};

struct env_error {
    enum env_status status;
    size_t off;               /* byte offset of the '${' in the value */
    size_t len;               /* ENV_BAD_REF: bytes of the whole '${...}' */
    size_t name_len;          /* ENV_UNSET: bytes of NAME (at off + 2) */
};

/* A variable name: letters, digits and '_', not starting with a digit. */
bool env_is_name(const char *s, size_t n);

/* NAME's value (n bytes at name): the last -e override, else the process
 * environment, else NULL. */
const char *env_lookup(const struct env *e, const char *name, size_t n);

/* Whether NAME is a runtime slot: vu, iter, or one added with env_add_slot. */
bool env_is_slot(const struct env *e, const char *name, size_t n);
/* Add a runtime slot name (kept by pointer; a name already in scope is not
 * added twice). 0, or -1 out of memory. */
int  env_add_slot(struct env *e, const char *name);
/* Forget the slots added (a new scenario starts with none). */
void env_clear_slots(struct env *e);
/* Free what env_add_slot allocated. */
void env_destroy(struct env *e);

/* Substitute the environment into the len bytes at v, into out (reset
 * first). tmpl: the result is template text, so "$${" stays "$${" and a
 * "${" inside a substituted value becomes "$${" (it stays literal);
 * otherwise "$${" becomes "${". 0, or -1 with *err saying what and where. */
int  env_subst(const struct env *e, const char *v, size_t len, bool tmpl, struct sbuf *out,
               struct env_error *err);

#endif
