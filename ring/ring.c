/* ring — see ring.h. One ring per worker thread; every function here is
 * called only from the thread that created the ring. */
#include "ring/ring.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
/* liburing 2.3's headers predate socket commands (kernel 6.7); the kernel
 * here has them. */
#ifndef SOCKET_URING_OP_SETSOCKOPT
#define SOCKET_URING_OP_SETSOCKOPT 3
#endif

static const struct linger zero_linger = { .l_onoff = 1, .l_linger = 0 };

static int setup(struct ring *r, unsigned entries)
{
    /* Best first (DESIGN.md: default flags cost about twice the CPU per
     * request); each fallback is for an older kernel. */
    static const struct { unsigned flags; const char *name; } modes[] = {
        { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun" },
        { IORING_SETUP_COOP_TASKRUN, "coop-taskrun" },
        { 0, "default" },
    };
    int err = -EINVAL;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct io_uring_params p = { 0 };
        p.flags = modes[i].flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = entries * 4; /* multishot receives can outrun the SQ size */
        err = io_uring_queue_init_params(entries, &r->uring, &p);
        if (err == -EINVAL) { /* SUBMIT_ALL is 5.18+: try without before giving up the mode */
            p = (struct io_uring_params){ .flags = modes[i].flags | IORING_SETUP_CQSIZE, .cq_entries = entries * 4 };
            err = io_uring_queue_init_params(entries, &r->uring, &p);
        }
        if (err == 0) {
            r->mode = modes[i].name;
            return 0;
        }
    }
    return err;
}

int ring_init(struct ring *r, const struct ring_config *cfg)
{
    memset(r, 0, sizeof *r);
    if (!cfg->nbufs || (cfg->nbufs & (cfg->nbufs - 1)) || cfg->nbufs > 32768 || !cfg->buf_size)
        return -EINVAL;
    int err = setup(r, cfg->sq_entries);
    if (err)
        return err;

    /* liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves. */
    r->nbufs = cfg->nbufs;
    r->buf_size = cfg->buf_size;
    r->buf_mask = io_uring_buf_ring_mask(cfg->nbufs);
    r->br_bytes = (size_t)cfg->nbufs * sizeof(struct io_uring_buf);
    r->br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r->br == MAP_FAILED) {
        err = -errno;
        r->br = NULL;
        goto fail_ring;
    }
    r->bufs = mmap(NULL, (size_t)cfg->nbufs * cfg->buf_size, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r->bufs == MAP_FAILED) {
        err = -errno;
        r->bufs = NULL;
        goto fail_br;
    }
    io_uring_buf_ring_init(r->br);
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)r->br,
                                    .ring_entries = cfg->nbufs, .bgid = 0 };
    err = io_uring_register_buf_ring(&r->uring, &reg, 0);
    if (err)
        goto fail_bufs;
    for (unsigned i = 0; i < cfg->nbufs; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * cfg->buf_size, cfg->buf_size, i, r->buf_mask, i);
    io_uring_buf_ring_advance(r->br, cfg->nbufs);

    r->nfiles = cfg->nfiles;
    err = io_uring_register_files_sparse(&r->uring, cfg->nfiles);
    if (err)
        goto fail_bufs;
    return 0;

fail_bufs:
    munmap(r->bufs, (size_t)r->nbufs * r->buf_size);
fail_br:
    munmap(r->br, r->br_bytes);
fail_ring:
    io_uring_queue_exit(&r->uring);
    /* Nothing of it is left: a ring_exit after a failed ring_init (the
     * caller's teardown) must find nothing to unmap, or it would unmap
     * whatever the allocator has put at those addresses since. */
    memset(r, 0, sizeof *r);
    return err;
}

void ring_exit(struct ring *r)
{
    if (!r->br)
        return; /* never made, or already gone */
    io_uring_queue_exit(&r->uring);
    munmap(r->bufs, (size_t)r->nbufs * r->buf_size);
    munmap(r->br, r->br_bytes);
    r->br = NULL; /* the counters (enters) stay readable */
    r->bufs = NULL;
}

struct io_uring_sqe *ring_sqe(struct ring *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
    while (!sqe) {
        io_uring_submit(&r->uring);
        sqe = io_uring_get_sqe(&r->uring);
    }
    return sqe;
}

static inline void recycle(struct ring *r, unsigned bid)
{
    io_uring_buf_ring_add(r->br, r->bufs + (size_t)bid * r->buf_size, r->buf_size, bid,
                          r->buf_mask, r->recycled++);
}

int ring_run(struct ring *r, int64_t deadline_ns, ring_handler fn, void *ctx)
{
    int ret;
    r->slept = false;
    if (deadline_ns == 0) {
        ret = io_uring_submit_and_get_events(&r->uring);
    } else if (deadline_ns == INT64_MAX) {
        ret = io_uring_submit_and_wait(&r->uring, 1);
    } else {
        /* The wait is relative; computing it from an absolute deadline keeps
         * schedules from drifting. */
        r->wait_from = ring_now();
        int64_t left = deadline_ns - r->wait_from;
        if (left < 0)
            left = 0;
        struct __kernel_timespec ts = { .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 };
        struct io_uring_cqe *first; /* liburing 2.3 writes through it: not NULL */
        ret = io_uring_submit_and_wait_timeout(&r->uring, &first, 1, &ts, NULL);
        r->slept = left > 0;
    }
    r->enters++;
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
        return ret;

    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int delivered = 0;
    io_uring_for_each_cqe(&r->uring, head, cqe) {
        seen++;
        uint64_t ud = cqe->user_data;
        enum ring_op op = ring_ud_op(ud);
        if (op == RING_OP_CANCEL || op == RING_OP_NOP)
            continue;
        struct ring_event ev = {
            .op = op, .idx = ring_ud_idx(ud), .gen = ring_ud_gen(ud), .res = cqe->res,
            .more = (cqe->flags & IORING_CQE_F_MORE) != 0,
        };
        int bid = -1;
        if (cqe->flags & IORING_CQE_F_BUFFER) {
            bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            if (cqe->res > 0) {
                ev.data = r->bufs + (size_t)bid * r->buf_size;
                ev.len = (uint32_t)cqe->res;
            }
        }
        fn(ctx, &ev);
        if (bid >= 0)
            recycle(r, (unsigned)bid);
        delivered++;
    }
    io_uring_cq_advance(&r->uring, seen);
    if (r->recycled) {
        io_uring_buf_ring_advance(r->br, r->recycled);
        r->recycled = 0;
    }
    return delivered;
}

int ring_connect(struct ring *r, uint32_t slot, uint32_t gen,
                 const struct sockaddr *sa, socklen_t salen,
                 const struct sockaddr *src, socklen_t srclen)
{
    /* An ordinary socket first: setsockopt and bind are not ring operations
     * in liburing 2.3. Once installed in the file table the fd is closed, so
     * connections are not limited by RLIMIT_NOFILE. */
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* Without it a request body's last partial segment can wait for the
     * server's delayed ACK (Nagle), adding 40 ms to uploads. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, src, srclen) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
    }
    int ret = io_uring_register_files_update(&r->uring, slot, &fd, 1);
    close(fd);
    if (ret < 0)
        return ret;
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_connect(sqe, (int)slot, sa, salen);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_CONNECT, gen, slot));
    return 0;
}

void ring_recv(struct ring *r, uint32_t slot, uint32_t gen)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_RECV, gen, slot));
}

void ring_send(struct ring *r, uint32_t slot, uint32_t gen, const void *buf, size_t len, bool quiet)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_send(sqe, (int)slot, buf, len, MSG_WAITALL | MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE | (quiet ? IOSQE_CQE_SKIP_SUCCESS : 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_SEND, gen, slot));
}

void ring_sendmsg(struct ring *r, uint32_t slot, uint32_t gen, const struct msghdr *msg, bool quiet)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_sendmsg(sqe, (int)slot, msg, MSG_WAITALL | MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE | (quiet ? IOSQE_CQE_SKIP_SUCCESS : 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_SEND, gen, slot));
}

/* setsockopt as a ring operation (IORING_OP_URING_CMD, kernel 6.7+). The SQE
 * fields it uses are missing from liburing 2.3's struct, so they are written
 * at their kernel ABI offsets. */
static void prep_setsockopt(struct io_uring_sqe *sqe, uint32_t slot, int level, int optname,
                            const void *optval, uint32_t optlen)
{
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = (int32_t)slot;
    sqe->flags = IOSQE_FIXED_FILE;
    uint8_t *raw = (uint8_t *)sqe;
    uint32_t cmd_op = SOCKET_URING_OP_SETSOCKOPT, lvl = (uint32_t)level, name = (uint32_t)optname;
    uint64_t val = (uint64_t)(uintptr_t)optval;
    memcpy(raw + 8, &cmd_op, 4);   /* cmd_op */
    memcpy(raw + 16, &lvl, 4);     /* level */
    memcpy(raw + 20, &name, 4);    /* optname */
    memcpy(raw + 44, &optlen, 4);  /* optlen */
    memcpy(raw + 48, &val, 8);     /* optval */
}

void ring_close(struct ring *r, uint32_t slot, uint32_t gen, bool reset)
{
    /* Cancel first: a pending multishot receive holds a reference to the
     * socket, so closing the slot alone would neither end the receive nor
     * close the connection. Not linked: a cancel that finds nothing fails
     * with -ENOENT, and a link would then cancel the close too. */
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_cancel_fd(sqe, (int)slot, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_CANCEL, gen, slot));
    if (reset) {
        sqe = ring_sqe(r);
        prep_setsockopt(sqe, slot, SOL_SOCKET, SO_LINGER, &zero_linger, sizeof zero_linger);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_NOP, gen, slot));
    }
    sqe = ring_sqe(r);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_CLOSE, gen, slot));
}

void ring_shutdown(struct ring *r, uint32_t slot, uint32_t gen)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_shutdown(sqe, (int)slot, SHUT_WR);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_NOP, gen, slot));
}

int ring_listen(const struct sockaddr *sa, socklen_t salen, int backlog)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    /* Accepted sockets inherit it. Without it a pipelined response waits
     * behind the previous one's ACK (Nagle), which the client may delay by
     * 40 ms. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, sa, salen) < 0 || listen(fd, backlog) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

void ring_accept(struct ring *r, int listen_fd, uint32_t tag)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_multishot_accept_direct(sqe, listen_fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_ACCEPT, 0, tag));
}

void ring_timer_at(struct ring *r, struct ring_timer *t, uint32_t tag, uint32_t gen, int64_t deadline_ns)
{
    t->ts.tv_sec = deadline_ns / 1000000000;
    t->ts.tv_nsec = deadline_ns % 1000000000;
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_timeout(sqe, &t->ts, 0, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_TIMER, gen, tag));
}

void ring_timer_cancel(struct ring *r, uint32_t tag, uint32_t gen)
{
    struct io_uring_sqe *sqe = ring_sqe(r);
    io_uring_prep_timeout_remove(sqe, ring_ud(RING_OP_TIMER, gen, tag), 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, ring_ud(RING_OP_CANCEL, gen, tag));
}
