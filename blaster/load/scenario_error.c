/* scenario_error — the scenario loader's errors: the first one found, as
 * "FILE:LINE:COL: what was wrong (what was expected)", line and column
 * 1-based; how a value is quoted in a message; and where in the source a
 * piece of a scalar is (libyaml gives the scalar's position, a message
 * about a `${` in the middle of it points at the `${`). Owns no wording
 * of the messages about the model: the sections do. */
#include "blaster/load/scenario_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int vfail_at(struct ld *ld, int line, int col, const char *fmt, va_list ap)
{
    if (!ld->failed && ld->errlen > 0) {
        int k = snprintf(ld->err, ld->errlen, "%s:%d:%d: ", ld->name, line, col);
        if (k >= 0 && (size_t)k < ld->errlen)
            vsnprintf(ld->err + k, ld->errlen - (size_t)k, fmt, ap);
    }
    ld->failed = true;
    return -1;
}

int ld_fail_mark(struct ld *ld, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(ld, (int)m.line + 1, (int)m.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

int ld_fail(struct ld *ld, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(ld, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return -1;
}

int ld_oom(struct ld *ld, const yaml_node_t *n)
{
    return ld_fail(ld, n, "out of memory");
}

/* A value for a message: at most SHOW_MAX bytes, control characters as '?'. */
const char *ld_show(char *buf, size_t n, const char *s)
{
    size_t i = 0, len = strlen(s);
    for (; i < len && i + 1 < n && i < SHOW_MAX; i++)
        buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (i < len && i >= 3) {
        buf[i - 3] = buf[i - 2] = buf[i - 1] = '.';
    }
    buf[i] = '\0';
    return buf;
}

/* "a list", "a mapping", "'text'" or "nothing": what a message says it got. */
const char *ld_got(char *buf, size_t n, const yaml_node_t *v, const char *text)
{
    if (v->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (v->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (!text)
        text = raw(v);
    if (!*text)
        return "nothing";
    char tmp[SHOW_MAX + 4];
    snprintf(buf, n, "'%s'", ld_show(tmp, sizeof(tmp), text));
    return buf;
}

/* Byte offset in the source of a libyaml mark (whose column counts
 * characters, not bytes). */
static size_t src_offset(const struct ld *ld, yaml_mark_t m)
{
    const char *s = ld->src, *end = ld->src + ld->srclen;
    if (ld->srclen >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    for (size_t line = 0; line < m.line && s < end; s++) {
        if (*s == '\n') {
            line++;
        } else if (*s == '\r') {
            if (s + 1 < end && s[1] == '\n')
                s++;
            line++;
        }
    }
    for (size_t col = 0; col < m.column && s < end; col++) {
        s++;
        while (s < end && ((unsigned char)*s & 0xC0) == 0x80)
            s++;
    }
    return (size_t)(s - ld->src);
}

/* The position of the text at offset off (needle_len bytes) of scalar n's
 * value, found in the source; the scalar's own position when the source
 * spells it differently (escapes, folding). */
yaml_mark_t ld_mark_in_scalar(struct ld *ld, const yaml_node_t *n, size_t off, size_t needle_len)
{
    const char *v = raw(n);
    int k = 0;
    for (size_t i = 0; i < off; i++)
        if (memcmp(v + i, v + off, needle_len) == 0)
            k++;
    size_t a = src_offset(ld, n->start_mark), b = src_offset(ld, n->end_mark);
    if (b > ld->srclen)
        b = ld->srclen;
    for (size_t q = a; q + needle_len <= b; q++) {
        if (memcmp(ld->src + q, v + off, needle_len) != 0 || k-- > 0)
            continue;
        yaml_mark_t m = n->start_mark;
        for (size_t i = a; i < q; i++) {
            unsigned char c = (unsigned char)ld->src[i];
            if (c == '\n' || (c == '\r' && (i + 1 >= q || ld->src[i + 1] != '\n'))) {
                m.line++;
                m.column = 0;
            } else if ((c & 0xC0) != 0x80 && c != '\r') {
                m.column++;
            }
        }
        return m;
    }
    return n->start_mark;
}


/* A libyaml error: its problem text at its position. */
int ld_fail_yaml(struct ld *ld, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    if (p->error == YAML_MEMORY_ERROR)
        return ld_fail_mark(ld, m, "out of memory while parsing YAML");
    if (p->error == YAML_READER_ERROR) {
        /* A reader error has a byte offset, not a mark. */
        m.line = m.column = 0;
        for (size_t i = 0; i < p->problem_offset && i < ld->srclen; i++) {
            if (ld->src[i] == '\n') {
                m.line++;
                m.column = 0;
            } else if (((unsigned char)ld->src[i] & 0xC0) != 0x80) {
                m.column++;
            }
        }
        if (p->problem_value != -1)
            return ld_fail_mark(ld, m, "YAML: %s (byte 0x%02X)", p->problem ? p->problem : "unreadable input",
                                (unsigned)p->problem_value & 0xFF);
        return ld_fail_mark(ld, m, "YAML: %s", p->problem ? p->problem : "unreadable input");
    }
    if (p->context)
        return ld_fail_mark(ld, m, "YAML syntax error: %s (%s that starts at line %zu, column %zu)",
                            p->problem ? p->problem : "invalid YAML", p->context, p->context_mark.line + 1,
                            p->context_mark.column + 1);
    return ld_fail_mark(ld, m, "YAML syntax error: %s", p->problem ? p->problem : "invalid YAML");
}
