/* hist.c — log-linear HDR histogram; contracts and precision in hist.h. */
#include "blaster/common/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define V2_COOKIE_BASE   0x1c849303
#define V2_COOKIE        (V2_COOKIE_BASE | 0x10)  /* what HdrHistogram writes */
#define V2_HEADER_SIZE   40
#define V2_MAX_VARINT    9

/* ---- index math ---- */

/* Smallest value recorded into counts[index]. */
static int64_t value_at_index(const struct hist *h, int32_t index)
{
    int bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
    int32_t sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
    if (bucket < 0) {
        sub -= h->sub_bucket_half_count;
        bucket = 0;
    }
    return (int64_t)sub << (bucket + h->unit_magnitude);
}

/* Width of the value range recorded into counts[index]. */
static uint64_t width_at_index(const struct hist *h, int32_t index)
{
    int bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
    if (bucket < 0)
        bucket = 0;
    return (uint64_t)1 << (bucket + h->unit_magnitude);
}

/* Largest value recorded into counts[index] (unsigned arithmetic: the last bucket of a
 * range reaching INT64_MAX ends exactly at INT64_MAX). */
static int64_t highest_at_index(const struct hist *h, int32_t index)
{
    return (int64_t)((uint64_t)value_at_index(h, index) + width_at_index(h, index) - 1);
}

static int64_t clamp_value(const struct hist *h, int64_t v)
{
    return v < 0 ? 0 : v > h->highest ? h->highest : v;
}

/* ---- lifecycle ---- */

int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs)
{
    memset(h, 0, sizeof(*h));
    if (lowest < 1 || sigfigs < 1 || sigfigs > 5 || lowest > INT64_MAX / 2 ||
        highest < 2 * lowest)
        return -EINVAL;

    /* Single-unit resolution up to 2 * 10^sigfigs: sub_bucket_count is the smallest
     * power of two >= that, half of it covers one octave at >= sigfigs digits. */
    int64_t single = 2;
    for (int i = 0; i < sigfigs; i++)
        single *= 10;
    int count_magnitude = 0;
    while (((int64_t)1 << count_magnitude) < single)
        count_magnitude++;
    int half_magnitude = count_magnitude - 1;
    int unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest);
    if (unit_magnitude + half_magnitude > 61)
        return -EINVAL;

    int sub_bucket_count = 1 << (half_magnitude + 1);
    /* Buckets needed so that highest has an index. */
    int64_t smallest_untrackable = (int64_t)sub_bucket_count << unit_magnitude;
    int buckets = 1;
    while (smallest_untrackable <= highest) {
        if (smallest_untrackable > INT64_MAX / 2) {
            buckets++;
            break;
        }
        smallest_untrackable <<= 1;
        buckets++;
    }

    h->lowest = lowest;
    h->highest = highest;
    h->sigfigs = sigfigs;
    h->unit_magnitude = unit_magnitude;
    h->sub_bucket_half_count_magnitude = half_magnitude;
    h->sub_bucket_half_count = sub_bucket_count / 2;
    h->sub_bucket_count = sub_bucket_count;
    h->bucket_count = buckets;
    h->sub_bucket_mask = (int64_t)(sub_bucket_count - 1) << unit_magnitude;
    h->counts_len = (buckets + 1) * (sub_bucket_count / 2);
    h->counts = calloc((size_t)h->counts_len, sizeof(*h->counts));
    if (!h->counts) {
        memset(h, 0, sizeof(*h));
        return -ENOMEM;
    }
    h->min = INT64_MAX;
    return 0;
}

void hist_free(struct hist *h)
{
    free(h->counts);
    memset(h, 0, sizeof(*h));
}

void hist_reset(struct hist *h)
{
    if (h->counts)
        memset(h->counts, 0, (size_t)h->counts_len * sizeof(*h->counts));
    h->total_count = 0;
    h->saturated = 0;
    h->negative = 0;
    h->min = INT64_MAX;
    h->max = 0;
}

/* ---- recording ---- */

void hist_record_clamped(struct hist *h, int64_t v, uint64_t n)
{
    if (n == 0)
        return;  /* nothing recorded, nothing clamped */
    if (v < 0) {
        h->negative += n;
        v = 0;
    } else if (v > h->highest) {
        h->saturated += n;
        v = h->highest;
    }
    hist_record_n(h, v, n);
}

void hist_record_corrected(struct hist *h, int64_t v, int64_t expected_interval)
{
    hist_record(h, v);
    if (expected_interval <= 0)
        return;
    int64_t missing = clamp_value(h, v) - expected_interval;
    int64_t smallest = -1;
    /* Terms v - k*interval >= interval, counted a bucket at a time. */
    while (missing >= expected_interval) {
        int32_t index = hist_index(h, missing);
        int64_t bottom = value_at_index(h, index);
        if (bottom < expected_interval)
            bottom = expected_interval;
        uint64_t k = (uint64_t)(missing - bottom) / (uint64_t)expected_interval + 1;
        h->counts[index] += k;
        h->total_count += k;
        smallest = missing - (int64_t)(k - 1) * expected_interval;
        missing = smallest - expected_interval;
    }
    if (smallest >= 0 && smallest < h->min)
        h->min = smallest;
}

/* ---- combining ---- */

int hist_merge(struct hist *dst, const struct hist *src)
{
    if (dst->lowest != src->lowest || dst->highest != src->highest ||
        dst->sigfigs != src->sigfigs || dst->counts_len != src->counts_len)
        return -EINVAL;
    for (int32_t i = 0; i < src->counts_len; i++)
        dst->counts[i] += src->counts[i];
    dst->total_count += src->total_count;
    dst->saturated += src->saturated;
    dst->negative += src->negative;
    if (src->total_count) {
        if (src->min < dst->min) dst->min = src->min;
        if (src->max > dst->max) dst->max = src->max;
    }
    return 0;
}

int hist_copy_growing(struct hist *dst, const struct hist *src)
{
    if (dst->lowest != src->lowest || dst->highest != src->highest ||
        dst->sigfigs != src->sigfigs || dst->counts_len != src->counts_len)
        return -EINVAL;
    if (src->total_count) {
        /* Every sample lies between min and max: outside that range src's
         * counts are zero, and so are dst's when every earlier copy came
         * from the same (only growing) src. */
        int32_t lo = hist_index(src, src->min), hi = hist_index(src, src->max);
        memcpy(dst->counts + lo, src->counts + lo, (size_t)(hi - lo + 1) * sizeof *dst->counts);
    }
    dst->total_count = src->total_count;
    dst->saturated = src->saturated;
    dst->negative = src->negative;
    dst->min = src->min;
    dst->max = src->max;
    return 0;
}

/* ---- queries ---- */

uint64_t hist_count_le(const struct hist *h, int64_t v)
{
    if (!h->total_count || v < 0)
        return 0;
    if (v >= h->max)
        return h->total_count;
    int32_t last = hist_index(h, v);
    /* The bucket of v counts only when it ends at or below v. */
    if (hist_highest_equivalent(h, v) > v)
        last--;
    uint64_t n = 0;
    for (int32_t i = 0; i <= last; i++)
        n += h->counts[i];
    return n;
}

uint64_t hist_count(const struct hist *h)
{
    return h->total_count;
}

int64_t hist_min(const struct hist *h)
{
    return h->total_count ? h->min : 0;
}

int64_t hist_max(const struct hist *h)
{
    return h->total_count ? h->max : 0;
}

int64_t hist_lowest_equivalent(const struct hist *h, int64_t v)
{
    return value_at_index(h, hist_index(h, clamp_value(h, v)));
}

int64_t hist_highest_equivalent(const struct hist *h, int64_t v)
{
    return highest_at_index(h, hist_index(h, clamp_value(h, v)));
}

int64_t hist_percentile(const struct hist *h, double p)
{
    if (h->total_count == 0)
        return 0;
    if (!(p > 0.0))
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* rank = ceil(p/100 * N), without letting 1e-15 of rounding noise above an
     * integral product (99.9 / 100 * 100000 = 99900.00000000001) add one. */
    double x = p / 100.0 * (double)h->total_count;
    double r = ceil(x - x * 1e-12);
    uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
    if (rank > h->total_count)
        rank = h->total_count;
    uint64_t cumulative = 0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        cumulative += h->counts[i];
        if (cumulative >= rank) {
            int64_t v = highest_at_index(h, i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max; /* counts and total_count disagree: only after direct tampering */
}

double hist_mean(const struct hist *h)
{
    if (h->total_count == 0)
        return 0.0;
    double sum = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++)
        if (h->counts[i]) {
            double mid = (double)value_at_index(h, i) + (double)(width_at_index(h, i) >> 1);
            sum += mid * (double)h->counts[i];
        }
    return sum / (double)h->total_count;
}

double hist_stdev(const struct hist *h)
{
    if (h->total_count == 0)
        return 0.0;
    double mean = hist_mean(h), sum = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++)
        if (h->counts[i]) {
            double mid = (double)value_at_index(h, i) + (double)(width_at_index(h, i) >> 1);
            sum += (mid - mean) * (mid - mean) * (double)h->counts[i];
        }
    return sqrt(sum / (double)h->total_count);
}

/* ---- iteration ---- */

void hist_iter_init(struct hist_iter *it, const struct hist *h)
{
    memset(it, 0, sizeof(*it));
    it->h = h;
    it->index = -1;
}

bool hist_iter_next(struct hist_iter *it)
{
    const struct hist *h = it->h;
    for (int32_t i = it->index + 1; i < h->counts_len; i++)
        if (h->counts[i]) {
            it->index = i;
            it->value_lo = value_at_index(h, i);
            it->value_hi = highest_at_index(h, i);
            it->count = h->counts[i];
            it->cumulative += it->count;
            return true;
        }
    it->index = h->counts_len;
    it->count = 0;
    return false;
}

/* ---- V2 encoding ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ZigZag, then LEB128 limited to 9 bytes: 8 bytes of 7 bits, a 9th of 8 bits. */
static int put_zigzag(uint8_t *p, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    for (int i = 0; i < 8; i++) {
        if ((u >> 7) == 0) {
            p[i] = (uint8_t)u;
            return i + 1;
        }
        p[i] = (uint8_t)((u & 0x7f) | 0x80);
        u >>= 7;
    }
    p[8] = (uint8_t)u;
    return 9;
}

/* Bytes consumed, or 0 when the varint runs past end. */
static int get_zigzag(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    uint64_t u = 0;
    int i = 0;
    for (;; i++) {
        if (p + i >= end)
            return 0;
        uint8_t b = p[i];
        if (i == 8) {
            u |= (uint64_t)b << 56;
            break;
        }
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = (int64_t)((u >> 1) ^ (0 - (u & 1)));
    return i + 1;
}

size_t hist_encoded_size_max(const struct hist *h)
{
    return V2_HEADER_SIZE + (size_t)V2_MAX_VARINT * (size_t)h->counts_len;
}

size_t hist_encode(const struct hist *h, uint8_t *out, size_t cap)
{
    if (cap < V2_HEADER_SIZE)
        return 0;
    int32_t limit = h->counts_len;
    while (limit > 0 && h->counts[limit - 1] == 0)
        limit--;

    size_t pos = V2_HEADER_SIZE;
    uint8_t tmp[V2_MAX_VARINT];
    for (int32_t i = 0; i < limit;) {
        uint64_t c = h->counts[i++];
        int64_t word;
        if (c == 0) {
            int64_t zeros = 1;
            while (i < limit && h->counts[i] == 0) {
                zeros++;
                i++;
            }
            word = zeros > 1 ? -zeros : 0;
        } else {
            if (c > (uint64_t)INT64_MAX)
                return 0;
            word = (int64_t)c;
        }
        int n = put_zigzag(tmp, word);
        if (cap - pos < (size_t)n)
            return 0;
        memcpy(out + pos, tmp, (size_t)n);
        pos += (size_t)n;
    }
    if (pos - V2_HEADER_SIZE > INT32_MAX)
        return 0;

    double ratio = 1.0;
    uint64_t ratio_bits;
    memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
    put_be32(out + 0, (uint32_t)V2_COOKIE);
    put_be32(out + 4, (uint32_t)(pos - V2_HEADER_SIZE));
    put_be32(out + 8, 0);                        /* normalizing index offset */
    put_be32(out + 12, (uint32_t)h->sigfigs);
    put_be64(out + 16, (uint64_t)h->lowest);
    put_be64(out + 24, (uint64_t)h->highest);
    put_be64(out + 32, ratio_bits);
    return pos;
}

int hist_decode(struct hist *h, const uint8_t *in, size_t len)
{
    memset(h, 0, sizeof(*h));
    if (!in || len < V2_HEADER_SIZE)
        return -EINVAL;
    uint32_t cookie = get_be32(in);
    int32_t payload_len = (int32_t)get_be32(in + 4);
    int32_t offset = (int32_t)get_be32(in + 8);
    int32_t sigfigs = (int32_t)get_be32(in + 12);
    int64_t lowest = (int64_t)get_be64(in + 16);
    int64_t highest = (int64_t)get_be64(in + 24);
    if ((cookie & ~(uint32_t)0xf0) != V2_COOKIE_BASE || payload_len < 0 ||
        (size_t)payload_len > len - V2_HEADER_SIZE || offset != 0)
        return -EINVAL;
    int rc = hist_init(h, lowest, highest, sigfigs);
    if (rc)
        return rc;

    const uint8_t *p = in + V2_HEADER_SIZE, *end = p + payload_len;
    int32_t index = 0;
    uint64_t total = 0;
    while (p < end) {
        int64_t word;
        int n = get_zigzag(p, end, &word);
        if (n == 0)
            goto bad;
        p += n;
        if (word < 0) {
            if (word == INT64_MIN || -word > (int64_t)(h->counts_len - index))
                goto bad;
            index += (int32_t)-word;
        } else {
            if (index >= h->counts_len || total + (uint64_t)word < total)
                goto bad;
            h->counts[index++] = (uint64_t)word;
            total += (uint64_t)word;
        }
    }
    h->total_count = total;

    int32_t first = -1, last = -1;
    for (int32_t i = 0; i < h->counts_len; i++)
        if (h->counts[i]) {
            if (first < 0)
                first = i;
            last = i;
        }
    if (first >= 0) {
        h->min = value_at_index(h, first);
        h->max = highest_at_index(h, last);
        /* Our own encodings never hold values > highest: cap there.  A foreign one
         * may (HdrHistogram records up to its array's end): keep within the bucket. */
        if (h->max > h->highest) {
            int64_t lo = value_at_index(h, last);
            h->max = lo > h->highest ? lo : h->highest;
        }
    }
    return 0;
bad:
    hist_free(h);
    return -EINVAL;
}
