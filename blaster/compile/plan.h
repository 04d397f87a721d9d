/* plan — a scenario file (or quick mode's command line, as the one-scenario
 * model blaster/load/quick.c builds) compiled into what the workers run: per
 * scenario, its target, its executor settings (struct executor_config: the
 * engine never reads the scenario model), a flat program of operations for
 * its VUs, and every request pre-compiled as a template (DESIGN.md:
 * "Compilation does every expensive thing once"). A plan is immutable once
 * compiled and shared read-only by every worker thread. */
#ifndef BLASTER_PLAN_H
#define BLASTER_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "blaster/compile/executor.h"
#include "blaster/load/scenario.h"
#include "blaster/compile/template.h"
#include "blaster/load/url.h"
#include "tls/tls.h"

/* The VU program. A VU runs ops from 0 to OP_END once per iteration. */
enum op_kind {
    OP_REQUEST,     /* a = request index: send, wait for the response, record, capture */
    OP_THINK,       /* t0..t1: pause, uniform in [t0, t1] */
    OP_LOOP,        /* a = loop slot, b = count: loop[a] = 1, fall into the body */
    OP_NEXT,        /* a = loop slot, b = count, c = first op of the body: ++loop[a] <= count → jump */
    OP_PICK,        /* a = index into picks: jump to a weighted branch */
    OP_JUMP,        /* a = target op */
    OP_HLS,         /* a = index into hls: the player's sub-program (see engine.c) */
    OP_END,
};

struct op {
    uint8_t  kind;
    uint32_t a, b, c;
    int64_t  t0, t1;
};

#define PLAN_MAX_EXPECT_WORDS 10 /* statuses 0..639 as a bit set */

enum { PLAN_MAX_CAPTURES = TEMPLATE_MAX_CAPTURES, PLAN_CAPTURE_LEN = 128, PLAN_BODY_KEEP = 8192 };

struct plan_capture {
    uint8_t  slot;          /* index in the VU's capture values */
    enum capture_kind kind;
    char    *path;          /* header name, or JSON path */
};

/* One request of a scenario; also the unit of per-step metrics. */
struct plan_request {
    char    *name;          /* the `name` tag */
    char    *method;
    struct template_request t;
    uint64_t expect[PLAN_MAX_EXPECT_WORDS]; /* statuses that are expected (not failures) */
    bool     has_expect;    /* an explicit `expect` (a check in the summary) */
    char    *check_name;    /* "upload_initiate: status in [200, 201]" */
    struct plan_capture captures[PLAN_MAX_CAPTURES];
    int      ncaptures;
    bool     keep_body;     /* captures read the body: keep up to PLAN_BODY_KEEP bytes */
    bool     keep_head;     /* captures read headers */
    int64_t  timeout_ns;
    int      metric;        /* index of this request's metrics in the scenario */
};

struct plan_pick {
    uint32_t  n;
    uint32_t *cumulative;   /* cumulative weights */
    uint32_t  total;
    uint32_t *target;       /* first op of each branch */
};

struct plan_hls {
    char    *name;
    int      req_master;    /* request index: GET of the master playlist */
    int      req_media;     /* request index of a playlist/segment GET whose path is a capture slot */
    int      req_segment;
    uint8_t  uri_slot;      /* the capture slot holding the URI to fetch */
    enum hls_variant variant;
    char    *variant_name;
    uint32_t segments;      /* 0: all */
};

struct plan_scenario {
    char    *name;
    struct executor_config exec;  /* when and how many VUs run the program (stages owned by the plan) */
    struct url url;               /* the target */
    bool     tls;                 /* https: connections go through tls/ */
    const char *server_name;      /* SNI and the name to verify: tls.server_name, else url.host */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct op *ops;
    int      nops;
    struct plan_request *reqs;
    int      nreqs;
    struct plan_pick *picks;
    int      npicks;
    struct plan_hls *hls;
    int      nhls;
    int      nloops;              /* loop slots a VU needs */
    int      ncaptures;           /* capture slots a VU needs */
    bool     keeps_bodies;        /* some request keeps its body: VUs get a body buffer */
    uint32_t max_vus;             /* VUs this scenario may ever have running (all workers) */
    int      max_iov;             /* iovecs the largest request needs */
    size_t   scratch_need;
};

struct plan {
    struct plan_scenario *sc;
    int      nsc;
    const struct scenario_file *file;  /* the model compiled (quick mode: quick.c's) */
    bool     any_tls;                  /* some scenario targets https: workers need a tls_ctx */
    struct tls_config tls;             /* the file's `tls:` (paths next to the file), then flags */
    char    *tls_files_[3];            /* private: cafile, certfile, keyfile as resolved */
    void    *priv_;                    /* private: shared bodies (plan_body.c) */
};

/* Compile a loaded scenario file (which must outlive the plan: src and file
 * point into it). BODY_FILE paths are relative to the directory of sf->path.
 * 0, or -1 with *out zeroed and err naming "FILE:LINE:COL: ..." for what
 * could not be compiled (an unknown variable in a template, an unreadable
 * body file, an unresolvable target). */
int  plan_compile(const struct scenario_file *sf, struct plan *out, char *err, size_t errlen);

/* The branch a draw r in [0, pk->total) falls in: branch b takes the draws
 * from cumulative[b-1] (0 for the first) up to cumulative[b], so each is
 * chosen with probability weight / total. */
uint32_t plan_pick_branch(const struct plan_pick *pk, uint32_t r);

/* Release everything a plan owns; *p becomes a zeroed plan. Safe on a zeroed plan. */
void plan_free(struct plan *p);

#endif
