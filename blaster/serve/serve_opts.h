/* serve_opts — the command line of `blaster serve`: what it accepts
 * (struct serve_opts), how it is parsed and checked, its usage and help text,
 * and an address's text as --listen takes it. Pure: no sockets, no threads;
 * serve_main.c acts on the result. */
#ifndef BLASTER_SERVE_OPTS_H
#define BLASTER_SERVE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SERVE_MAX_WORKERS 1024  /* --threads at most */

struct serve_opts {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int       threads;          /* 0: one per CPU of the affinity mask */
    uint64_t  body_size;
    int64_t   delay_ns;
    int64_t   stall_ns, stall_every_ns;  /* 0: no stalls */
    int64_t   exit_after_ns;    /* 0: run until a signal */
    double    error_rate, reset_rate, close_rate, garbage_rate;
    int       verbose;
    bool      help;
    bool      demo;             /* --app demo */
    bool      demo_flags;       /* --hls-segments or --segment-size given */
    uint64_t  hls_segments, segment_size;
    bool      tls;              /* --tls */
    const char *certfile, *keyfile;  /* point into argv */
    int       tls_min, tls_max; /* 0 (tls.h's default), 12 or 13 */
};

/* Fills *o from argv[1..argc-1] (argv[0] is "serve"), defaults first.
 * Returns 0, or -1 with err saying which flag and value were wrong. */
int serve_opts_parse(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen);

/* "127.0.0.1:8080" or "[::1]:8080": an address as --listen takes it. */
void serve_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len);

/* Printed after a usage error (serve_usage) and for --help (both). */
extern const char serve_usage[];
extern const char serve_help[];

#endif
