/* request — render a request once, before the run; every worker sends the
 * same bytes. */
#ifndef BLASTER_REQUEST_H
#define BLASTER_REQUEST_H

#include <stddef.h>

#include "blaster/client.h"
#include "blaster/url.h"

struct request_spec {
    const char *method;                       /* "GET", "POST", ... */
    const struct url *url;
    const char *const *hnames, *const *hvalues; /* extra headers; a name given here replaces the default of that name */
    int nheaders;
    const void *body;                         /* NULL: no body */
    size_t body_len;
};

/* Bodies up to this size travel in the same buffer as the head (one send);
 * larger ones are sent from their own buffer with sendmsg, never copied. */
#define REQUEST_INLINE_BODY_MAX 65536

/* Render into *out; the head buffer is malloc'ed (request_free releases it);
 * a large body is referenced, not copied, and must outlive the request.
 * 0, or -1 with err set (a header with CR/LF in it, say). */
int  request_render(const struct request_spec *spec, struct request *out, char *err, size_t errlen);
void request_free(struct request *r);

#endif
