/* plan_body — the bodies a plan shares (DESIGN.md: "Large bodies ... are
 * rendered once and shared read-only by every VU"): one blob per distinct
 * {bytes: N} size or body file, referenced by every request that sends it,
 * never copied per VU. Owns plan->priv_. */
#include "blaster/compile/plan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A body shared by the whole plan: {bytes: size} (path NULL) or a file. */
struct blob {
    struct blob *next;
    char        *path;
    uint64_t     size;
    void        *data;
};

struct plan_priv {
    struct blob    *blobs;
};

static struct plan_priv *priv(struct plan *p)
{
    if (!p->priv_)
        p->priv_ = calloc(1, sizeof(struct plan_priv));
    return p->priv_;
}

static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

const void *plan_blob_bytes(struct plan *p, uint64_t size)
{
    struct plan_priv *pv = priv(p);
    if (!pv)
        return NULL;
    for (struct blob *b = pv->blobs; b; b = b->next)
        if (!b->path && b->size == size)
            return b->data;
    if (size > SIZE_MAX - 1)
        return NULL;
    struct blob *b = calloc(1, sizeof *b);
    char *d = b ? malloc(size ? (size_t)size : 1) : NULL;
    if (!d) {
        free(b);
        return NULL;
    }
    const size_t plen = sizeof pattern - 1;
    size_t first = size < plen ? (size_t)size : plen;
    memcpy(d, pattern, first);
    for (size_t done = first; done < size;) {   /* double the filled prefix */
        size_t n = done < size - done ? done : (size_t)(size - done);
        memcpy(d + done, d, n);
        done += n;
    }
    b->size = size;
    b->data = d;
    b->next = pv->blobs;
    pv->blobs = b;
    return d;
}

const void *plan_blob_file(struct cc *c, struct srcpos pos, const char *path, size_t *len)
{
    struct plan_priv *pv = priv(c->p);
    if (!pv) {
        plan_errf(c, pos, "body file '%s': out of memory", path);
        return NULL;
    }
    for (struct blob *b = pv->blobs; b; b = b->next) {
        if (b->path && strcmp(b->path, path) == 0) {
            *len = (size_t)b->size;
            return b->data;
        }
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        plan_errf(c, pos, "body file '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        plan_errf(c, pos, "body file '%s': not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    struct blob *b = calloc(1, sizeof *b);
    char *d = b ? malloc(size ? size : 1) : NULL;
    char *name = d ? strdup(path) : NULL;
    if (!name) {
        plan_errf(c, pos, "body file '%s': out of memory (%zu bytes)", path, size);
        free(d);
        free(b);
        close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, d + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            plan_errf(c, pos, "body file '%s': %s", path, r < 0 ? strerror(errno) : "shorter than its size");
            free(name);
            free(d);
            free(b);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    b->path = name;
    b->size = size;
    b->data = d;
    b->next = pv->blobs;
    pv->blobs = b;
    *len = size;
    return d;
}

char *plan_body_file_path(const struct scenario_file *sf, const char *file)
{
    const char *slash = sf->path ? strrchr(sf->path, '/') : NULL;
    size_t dlen = file[0] == '/' || !slash ? 0 : (size_t)(slash - sf->path) + 1;
    char *out = malloc(dlen + strlen(file) + 1);
    if (out) {
        memcpy(out, sf->path ? sf->path : "", dlen);
        strcpy(out + dlen, file);
    }
    return out;
}

void plan_blobs_free(struct plan *p)
{
    struct plan_priv *pv = p->priv_;
    if (!pv)
        return;
    for (struct blob *b = pv->blobs, *nb; b; b = nb) {
        nb = b->next;
        free(b->path);
        free(b->data);
        free(b);
    }
    free(pv);
    p->priv_ = NULL;
}
