/* env — `${NAME:-default}` substitution (env.h). Owns the syntax of a
 * reference and the lookup order (-e overrides, then the process
 * environment); knows nothing of YAML or of file positions. */
#include "blaster/load/env.h"

#include <stdlib.h>
#include <string.h>

bool env_is_name(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

const char *env_lookup(const struct env *e, const char *name, size_t n)
{
    for (int i = e->nvars - 1; i >= 0; i--) {
        const char *v = e->vars[i];
        if (v && strncmp(v, name, n) == 0 && v[n] == '=')
            return v + n + 1;
    }
    char buf[256];
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return getenv(buf);
}

bool env_is_slot(const struct env *e, const char *name, size_t n)
{
    if ((n == 2 && memcmp(name, "vu", 2) == 0) || (n == 4 && memcmp(name, "iter", 4) == 0))
        return true;
    for (int i = 0; i < e->nslots; i++)
        if (strlen(e->slots[i]) == n && memcmp(e->slots[i], name, n) == 0)
            return true;
    return false;
}

int env_add_slot(struct env *e, const char *name)
{
    if (env_is_slot(e, name, strlen(name)))
        return 0;
    if (e->nslots == e->cap) {
        int cap = e->cap ? e->cap * 2 : 16;
        const char **p = realloc(e->slots, (size_t)cap * sizeof(*p));
        if (!p)
            return -1;
        e->slots = p;
        e->cap = cap;
    }
    e->slots[e->nslots++] = name;
    return 0;
}

void env_clear_slots(struct env *e)
{
    e->nslots = 0;
}

void env_destroy(struct env *e)
{
    free(e->slots);
    e->slots = NULL;
    e->nslots = e->cap = 0;
}

/* Literal text into template text: its "${" must stay literal. */
static void put_literal(struct sbuf *b, const char *s, size_t n, bool tmpl)
{
    for (size_t i = 0; i < n; i++) {
        if (tmpl && s[i] == '$' && i + 1 < n && s[i + 1] == '{')
            sb_putc(b, '$');
        sb_putc(b, s[i]);
    }
}

static int subst_fail(struct env_error *err, enum env_status status, size_t off, size_t len, size_t name_len)
{
    *err = (struct env_error){ status, off, len, name_len };
    return -1;
}

int env_subst(const struct env *e, const char *v, size_t len, bool tmpl, struct sbuf *out,
              struct env_error *err)
{
    *err = (struct env_error){ ENV_OK, 0, 0, 0 };
    if (memchr(v, '\0', len))
        return subst_fail(err, ENV_NUL, 0, 0, 0);
    sb_reset(out);
    for (size_t i = 0; i < len;) {
        if (v[i] == '$' && i + 2 < len && v[i + 1] == '$' && v[i + 2] == '{') {
            sb_puts(out, tmpl ? "$${" : "${");
            i += 3;
            continue;
        }
        if (!(v[i] == '$' && i + 1 < len && v[i + 1] == '{')) {
            sb_putc(out, v[i++]);
            continue;
        }
        const char *in = v + i + 2;
        const char *close = memchr(in, '}', len - i - 2);
        if (!close)
            return subst_fail(err, ENV_UNTERMINATED, i, 0, 0);
        size_t inlen = (size_t)(close - in), whole = inlen + 3;
        if (inlen >= 7 && memcmp(in, "one_of:", 7) == 0) {
            sb_put(out, v + i, whole);
            i += whole;
            continue;
        }
        size_t nl = 0;
        while (nl < inlen && env_is_name(in, nl + 1))
            nl++;
        bool has_default = inlen >= nl + 2 && in[nl] == ':' && in[nl + 1] == '-';
        if (nl == 0 || (nl < inlen && !has_default))
            return subst_fail(err, ENV_BAD_REF, i, whole, 0);
        if (env_is_slot(e, in, nl)) {
            sb_put(out, v + i, whole);
            i += whole;
            continue;
        }
        const char *val = env_lookup(e, in, nl);
        if (has_default && (!val || !*val))
            put_literal(out, in + nl + 2, inlen - nl - 2, tmpl);
        else if (val)
            put_literal(out, val, strlen(val), tmpl);
        else
            return subst_fail(err, ENV_UNSET, i, whole, nl);
        i += whole;
    }
    if (out->oom)
        return subst_fail(err, ENV_OOM, 0, 0, 0);
    return 0;
}
