/* sbuf — the scenario loader's scratch string (sbuf.h). Only for loading:
 * nothing on the run's hot path appends to one. */
#include "blaster/load/sbuf.h"

#include <stdlib.h>
#include <string.h>

void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
void sb_putc(struct sbuf *b, char c) { sb_put(b, &c, 1); }

void sb_reset(struct sbuf *b)
{
    b->len = 0;
    b->oom = false;
    sb_put(b, "", 0);
}
