/* serve — `blaster serve`, the built-in HTTP/1.1 test target, on io_uring,
 * with fault injection (delays, stalls, 500s, resets, closes, garbage).
 * See serve.c for how a request goes through it, serve_int.h for the files. */
#ifndef BLASTER_SERVE_H
#define BLASTER_SERVE_H

/* argv[0] is "serve". Runs until SIGINT, SIGTERM or --exit-after.
 * Returns the exit code: 0 stopped as asked, 1 usage error, 2 runtime error. */
int serve_main(int argc, char **argv);

#endif
