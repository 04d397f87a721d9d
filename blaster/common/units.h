/* units: parse the numbers people type (durations, sizes, counts, rates) and format the
 * numbers the summary prints, the way k6 prints them.
 *
 * Parsers are strict: the whole string must be consumed, no sign, no spaces, no exponent,
 * no "inf"/"nan". They return 0 and write the result, or -1 and leave it untouched.
 * Decimal fractions are exact ("0.1s" is 100000000 ns, "1.5MiB" is 1572864 bytes).
 */
#ifndef BLASTER_UNITS_H
#define BLASTER_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Duration → nanoseconds. One or more <number><unit> terms, units ns, us, µs (or μs), ms, s,
 * m, h, as in Go and k6: "10s", "500ms", "250us", "1m30s", "2h", "1.5s", "1h0.5m". A bare
 * number with no unit at all is seconds, like wrk's -d and --timeout: "90" = 90 s.
 * Fractions below 1 ns are truncated. 0 is accepted ("0", "0s"); callers that need a
 * positive duration check for it. Returns -1 on empty, garbage, negative, a unit-less
 * term after a unit ("1m30"), or a total beyond INT64_MAX ns (about 292 years). */
int units_parse_duration(const char *s, int64_t *ns);

/* Size → bytes. A bare number or "B" is bytes. Decimal multipliers k/K, KB, MB, GB, TB
 * (and the single letters M, G, T) are powers of 1000; KiB, MiB, GiB, TiB are powers of
 * 1024. Unit letters are case-insensitive ("1mib" = "1MiB"). Fractions are allowed when
 * the result is a whole number of bytes ("1.5KiB" = 1536, "0.5B" is an error).
 * Returns -1 on empty, garbage, a fractional byte count, or overflow of uint64_t. */
int units_parse_size(const char *s, uint64_t *bytes);

/* Count → integer, wrk style: a bare number, or a suffix k, M, G, T (case-insensitive,
 * powers of 1000): "2000", "2k", "1.5M". The result must be whole ("1.5k" = 1500, but
 * "1.2345k" is an error). Returns -1 on empty, garbage, fractions or overflow. */
int units_parse_count(const char *s, uint64_t *n);

/* Rate → events per second: a count as in units_parse_count but fractions allowed
 * ("0.5", "2k", "1.5M"), optionally followed by a time unit "/s", "/m" or "/h"
 * ("600/m" = 10 per second). 0 is accepted; the result is finite. Returns -1 on
 * empty, garbage, or a value that does not fit a double. */
int units_parse_rate(const char *s, double *per_sec);

/* Format a duration given in nanoseconds exactly as k6's end-of-test summary does:
 * "0s", "850ns", "512µs", "512.5µs", "1.23ms", "2.5s", "59.99s", "1m3s", "1h0m5s".
 * Values are truncated, never rounded, to two decimals (none once past a minute), and
 * trailing zeros are dropped. Negative values get a leading '-'; NaN prints "NaN".
 * Writes at most n bytes including the NUL (truncating if n is too small); returns buf. */
const char *units_fmt_duration(char *buf, size_t n, double ns);

/* Format a byte count as k6's summary does, powers of 1000 up to EB: below 10 the plain
 * number ("0 B", "7 B"); otherwise rounded half up to one decimal of the unit, and that
 * again to a whole number when it is 10 or more: "512 B", "1.2 kB", "12 kB", "1.2 MB",
 * "3.4 GB". The double rounding is k6's: 10485760 prints "11 MB", as k6 does. Returns buf. */
const char *units_fmt_bytes(char *buf, size_t n, double bytes);

/* Format a plain count or rate value as k6 does for untyped metrics: at most six
 * decimals, rounded, trailing zeros dropped ("1000", "99.9", "0.333333"). Returns buf. */
const char *units_fmt_count(char *buf, size_t n, double v);

#endif
