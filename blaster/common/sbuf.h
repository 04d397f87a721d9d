/* sbuf — a growable NUL-terminated scratch string, for what is built once
 * before a run: the scenario loader's (environment substitution, JSON
 * bodies) and the demo app's bodies. Out of memory is sticky: the
 * appends after a failed one do nothing and `oom` stays set until
 * sb_reset, so a caller checks once at the end. Owns its bytes (free(p)). */
#ifndef BLASTER_SBUF_H
#define BLASTER_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
    char  *p;             /* NUL-terminated once anything was put (or after sb_reset) */
    size_t len, cap;
    bool   oom;
};

void sb_put(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
/* Append printf-style. */
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty it (keeping its memory) and clear oom. */
void sb_reset(struct sbuf *b);

#endif
