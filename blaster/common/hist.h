/* hist.h — log-linear HDR histogram of int64 values (blaster records microseconds).
 *
 * Layout: HdrHistogram's buckets and sub-buckets, so that an encoded hist is an
 * HdrHistogram V2 payload and HdrHistogram's tools read it (see hist_encode).
 *
 * PRECISION.  With S = sub_bucket_half_count (the smallest power of two >= 10^sigfigs:
 * sigfigs 1..5 give S = 16, 128, 1024, 16384, 131072) and U = unit = the largest power
 * of two <= lowest:
 *   - values below 2*S*U are kept in buckets of width U (exact when lowest == 1);
 *   - every binary octave [2^k, 2^(k+1)) above that is cut into S equal buckets of
 *     width 2^k / S.
 * So a recorded value v is only known to lie in its bucket [lo, hi], with
 * hi - lo + 1 <= max(U, v / S).  Every value this module reports for v (percentiles,
 * iteration, decode) is within max(U - 1, v / S) of v: with the default 3 sig figs and
 * lowest = 1, values up to 2047 are exact and larger ones are within 1/1024 (< 0.098%)
 * of the true value, i.e. better than the 0.1% that "3 significant figures" promises.
 * min, max, total_count, saturated and every bucket count are exact; mean and stdev are
 * computed from the buckets (each value taken at its bucket's middle), so they are within
 * max(U, max/S) / 2 of the exact mean and stdev.
 *
 * MEMORY.  One counts array of counts_len uint64, allocated once by hist_init:
 * counts_len = (bucket_count + 1) * S.  For (lowest 1, highest 3.6e9 = 1 h in us,
 * 3 sig figs) that is 23 * 1024 = 23,552 counts (184 KiB), whatever the run length.
 *
 * THREADS.  None: a hist belongs to one thread; merge per-thread hists with hist_merge.
 */
#ifndef BLASTER_HIST_H
#define BLASTER_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hist {
    /* Configuration (read-only after hist_init / hist_decode). */
    int64_t   lowest;          /* lowest discernible value, >= 1 */
    int64_t   highest;         /* highest trackable value; larger values clamp to it */
    int       sigfigs;         /* 1..5 */
    int       unit_magnitude;  /* floor(log2(lowest)) */
    int       sub_bucket_half_count_magnitude;
    int       sub_bucket_half_count;   /* S above */
    int       sub_bucket_count;        /* 2 * S */
    int       bucket_count;
    int64_t   sub_bucket_mask;         /* (sub_bucket_count - 1) << unit_magnitude */
    /* State. */
    uint64_t  total_count;     /* samples recorded, including clamped ones */
    uint64_t  saturated;       /* samples > highest, recorded as highest */
    uint64_t  negative;        /* samples < 0, recorded as 0 */
    int64_t   min;             /* exact smallest recorded (post-clamp) value; INT64_MAX when empty */
    int64_t   max;             /* exact largest recorded (post-clamp) value; 0 when empty */
    uint64_t *counts;          /* counts_len counts, index = hist_index(value) */
    int32_t   counts_len;
};

/* Configure and allocate.  lowest >= 1 is the smallest value told apart from 0 (values
 * below it share bucket 0's resolution U); highest >= 2 * lowest; sigfigs in 1..5.
 * Returns 0; -EINVAL for a bad argument (h is then zeroed, hist_free is harmless);
 * -ENOMEM when the counts array cannot be allocated. */
int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs);

/* Release the counts array and zero h.  Safe on a zeroed or already-freed hist. */
void hist_free(struct hist *h);

/* Forget every sample (counts, totals, min, max, saturated, negative); keep the config. */
void hist_reset(struct hist *h);

/* ---- recording (hot path: no allocation, no division, no atomics) ---- */

/* Index into counts of a value in [0, highest].  Internal, used by the inlines below. */
static inline int32_t hist_index(const struct hist *h, int64_t v)
{
    int pow2ceiling = 64 - __builtin_clzll((uint64_t)v | (uint64_t)h->sub_bucket_mask);
    int bucket = pow2ceiling - h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
    int32_t sub = (int32_t)(v >> (bucket + h->unit_magnitude));
    return ((bucket + 1) << h->sub_bucket_half_count_magnitude) + (sub - h->sub_bucket_half_count);
}

/* Out-of-range path of hist_record_n (clamps and counts); not for direct use. */
void hist_record_clamped(struct hist *h, int64_t v, uint64_t n);

/* Record value v, n times (n == 0 records nothing).  v < 0 is recorded as 0 and counted
 * in h->negative; v > highest is recorded as highest and counted in h->saturated: a
 * sample is never dropped.  Counts wrap only past 2^64 - 1. */
static inline void hist_record_n(struct hist *h, int64_t v, uint64_t n)
{
    if (__builtin_expect((uint64_t)v > (uint64_t)h->highest, 0)) {
        hist_record_clamped(h, v, n);
        return;
    }
    if (__builtin_expect(n == 0, 0))
        return;
    h->counts[hist_index(h, v)] += n;
    h->total_count += n;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

/* Record value v once; same clamping as hist_record_n.  ~1.7 ns (measured, -O2). */
static inline void hist_record(struct hist *h, int64_t v)
{
    hist_record_n(h, v, 1);
}

/* HdrHistogram's coordinated-omission correction (hdr_record_corrected_value): v is
 * clamped as in hist_record and recorded; then, when expected_interval > 0, so are
 * v - k * expected_interval for k = 1, 2, ... while that value is >= expected_interval
 * (the samples a stalled closed-loop client would have taken).  The missing samples are
 * added bucket by bucket, so the cost is O(min(v / interval, counts_len)), never O(v).
 * blaster measures from intended start times and does not need this; it is here for
 * closed-loop data that lacks them. */
void hist_record_corrected(struct hist *h, int64_t v, int64_t expected_interval);

/* ---- combining ---- */

/* dst += src, exactly (every count, total_count, saturated, negative; min and max are
 * the min / max of both).  Returns 0; -EINVAL, with dst untouched, when lowest, highest
 * or sigfigs differ. */
int hist_merge(struct hist *dst, const struct hist *src);

/* dst = src, cheaply, for periodic snapshots of a histogram that is still
 * being recorded into: copies only the counts between src's min and max, so
 * its cost is the occupied range, not counts_len. Correct when dst starts
 * zeroed and every copy into it comes from the same src (whose counts only
 * grow); then dst equals src bucket for bucket. -EINVAL when configs differ. */
int hist_copy_growing(struct hist *dst, const struct hist *src);

/* ---- queries (walk the counts: O(counts_len), not for the hot path) ---- */

/* Value at percentile p, HdrHistogram semantics: with N = total_count, the rank
 * r = max(1, ceil(p/100 * N)) (exactly-integral products are not bumped by rounding
 * noise), the result is the highest value equivalent to the r-th smallest sample,
 * capped at the exact max (HdrHistogram does not cap: where the r-th sample shares the
 * max's bucket it reports up to that bucket's end, we report max).  So the result is
 * >= the exact r-th sample and within its bucket (see PRECISION), and never exceeds
 * hist_percentile(h, 100).  p <= 0 (or NaN) returns min; p >= 100 returns max; an
 * empty hist returns 0. */
int64_t hist_percentile(const struct hist *h, double p);

/* Exact smallest / largest recorded (post-clamp) value; 0 when empty.  After
 * hist_decode they are bucket-precise, not exact (see hist_decode). */
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);

/* Mean and population standard deviation, each sample taken at the middle of its
 * bucket (HdrHistogram's median-equivalent value); 0.0 when empty. */
double hist_mean(const struct hist *h);
double hist_stdev(const struct hist *h);

/* Samples recorded at or below v, to the histogram's precision: every
 * sample of a bucket whose highest equivalent value is <= v. */
uint64_t hist_count_le(const struct hist *h, int64_t v);

/* Number of samples recorded (including clamped ones). */
uint64_t hist_count(const struct hist *h);

/* Bucket bounds of v (clamped to [0, highest] first): the smallest and largest values
 * recorded into the same count as v.  highest_equivalent may exceed highest for the
 * last bucket (its bucket is wider than the configured range). */
int64_t hist_lowest_equivalent(const struct hist *h, int64_t v);
int64_t hist_highest_equivalent(const struct hist *h, int64_t v);

/* ---- iteration over non-empty buckets, ascending ---- */

struct hist_iter {
    const struct hist *h;
    int32_t  index;        /* counts index of the current bucket; -1 before the first */
    int64_t  value_lo;     /* current bucket: lowest equivalent value */
    int64_t  value_hi;     /*                 highest equivalent value */
    uint64_t count;        /*                 samples in it (> 0) */
    uint64_t cumulative;   /* samples in this and every lower bucket */
};

/* Position it before the first non-empty bucket of h (h must outlive it and not be
 * recorded into while iterating). */
void hist_iter_init(struct hist_iter *it, const struct hist *h);

/* Advance to the next non-empty bucket: true and the fields set; false at the end. */
bool hist_iter_next(struct hist_iter *it);

/* ---- HdrHistogram V2 encoding (uncompressed, "cookie 0x1c849313") ----
 *
 * Layout, big-endian: int32 cookie (0x1c849303 | 0x10, as HdrHistogram writes it),
 * int32 payload length, int32 normalizing index offset (0), int32 sigfigs, int64
 * lowest, int64 highest, double integer-to-double ratio (1.0), then the counts up to
 * the last non-empty one, each a ZigZag LEB128 int64 (at most 9 bytes; the 9th carries
 * 8 bits), a run of k >= 2 zero counts written as -k.
 *
 * Checked byte for byte against HdrHistogram (Java 2.1.11) Histogram.encodeIntoByteBuffer,
 * and decodeFromByteBuffer reads it back equal.  The .hlog files of HdrHistogram's tools
 * hold the *compressed* form of this (cookie 0x1c849314, int32 length, zlib deflate of
 * these bytes), base64'd; wrapping is the caller's. */

/* Bytes hist_encode may need for h: 40 + 9 * counts_len. */
size_t hist_encoded_size_max(const struct hist *h);

/* Write h's V2 encoding into out.  Returns the bytes written; 0 when cap is too small
 * or a count exceeds INT64_MAX (not representable in the format).  Not encoded (the
 * format has no room): min, max, saturated and negative — store them beside. */
size_t hist_encode(const struct hist *h, uint8_t *out, size_t cap);

/* Initialise h (it must not hold an allocation: it is overwritten) from a V2 encoding
 * of len bytes; the cookie's word-size nibble is ignored as HdrHistogram does.  Every
 * count and total_count come back exactly.  min becomes the lowest equivalent value of
 * the first non-empty bucket; max the highest equivalent value of the last one, capped
 * at highest when that bucket starts at or below highest (bucket-precise, never below
 * anything blaster could have recorded); saturated and negative 0.  The caller may
 * overwrite min, max, saturated and negative with exact values stored beside.
 * Returns 0; -EINVAL for anything malformed (bad cookie, lengths, config, a nonzero
 * normalizing offset, counts outside the range, a truncated varint), with h zeroed;
 * -ENOMEM.  Bytes after the payload are ignored, as HdrHistogram does.  Never reads
 * outside in[0, len). */
int hist_decode(struct hist *h, const uint8_t *in, size_t len);

#endif
