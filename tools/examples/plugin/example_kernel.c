/*
 * example_kernel.c: a dcn kernel plugin in plain C loops (include/dcn_kernel.h).
 *
 *   cc -shared -fPIC -O2 -I include tools/examples/plugin/example_kernel.c -o libexample_kernel.so
 *   dcn verify vectors/dcn-default.h5 --plugin ./libexample_kernel.so
 *
 * It evaluates SPEC section 1 directly: sampling and accumulation in float (so the default
 * units, u_acc = u_s = 2^-24, apply), float16 inputs widened to float by hand and the output
 * rounded to float16 once, at the end (round to nearest even). Compiled with
 * -DDCN_PLANTED_BUG it has a bug for the tests to catch: the bottom-right bilinear corner
 * is dropped when the sample lies between the last two rows.
 *
 * dcn_kernel_backward evaluates SPEC section 7 the same way: float accumulators, each gradient
 * rounded to float16 once at the end. Compiled with -DDCN_PLANTED_MMCV its backward follows
 * mmcv's convention instead of the contract's: no offsets gradient when py or px is exactly -1
 * (mmcv's coordinate weight checks -1 < p < H), which the report names as such.
 *
 * Four more builds break the guard checks (include/dcn_kernel.h) for the tests to catch:
 * -DDCN_GUARD_UNWRITTEN leaves the last element of y unwritten, -DDCN_GUARD_PAST_END writes one
 * element past the end of y, -DDCN_GUARD_BEFORE_START writes the byte before the start of gx, and
 * -DDCN_GUARD_WRITES_INPUT writes into x (its first element).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcn_kernel.h"
#include "plugin_support.h"

static cell cell_at(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, int half) {
    float fy = floorf(py), fx = floorf(px);
    cell q = {(int64_t)fy, (int64_t)fx, py - fy, px - fx, 0, 0, 0, 0};
    if (q.y0 >= 0 && q.x0 >= 0) q.v00 = load(x, base + q.y0 * w + q.x0, half);
    if (q.y0 >= 0 && q.x0 + 1 < w) q.v01 = load(x, base + q.y0 * w + q.x0 + 1, half);
    if (q.y0 + 1 < h && q.x0 >= 0) q.v10 = load(x, base + (q.y0 + 1) * w + q.x0, half);
    if (q.y0 + 1 < h && q.x0 + 1 < w) q.v11 = load(x, base + (q.y0 + 1) * w + q.x0 + 1, half);
    return q;
}

/* SPEC section 1's B: bilinear, zero outside the image. */
static float bilinear(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, int half) {
    if (py <= -1.0f || py >= (float)h || px <= -1.0f || px >= (float)w) return 0.0f;
    cell q = cell_at(x, base, h, w, py, px, half);
#ifdef DCN_PLANTED_BUG
    if (q.y0 + 1 == h - 1) q.v11 = 0; /* the planted bug */
#endif
    return (1 - q.ly) * (1 - q.lx) * q.v00 + (1 - q.ly) * q.lx * q.v01 + q.ly * (1 - q.lx) * q.v10 + q.ly * q.lx * q.v11;
}

/* Sample (n, tap k = (g, i, j), ho, wo)'s mask and position (SPEC section 1), and `at`, the index
 * of its x offset in the offsets layout less k * ho * wo (its blocks are at + (b * taps + k) * plane). */
typedef struct tap_sample {
    int64_t at;
    float m, py, px;
} tap_sample;

static tap_sample tap_at(const dcn_problem *p, const void *offsets, int64_t n, int64_t k, int64_t i, int64_t j,
                         int64_t ho, int64_t wo, int half) {
    const int64_t taps = p->deformable_groups * p->kh * p->kw, plane = p->ho * p->wo;
    const int64_t at = (n * 3 * taps) * plane + ho * p->wo + wo;
    const float dx = load(offsets, at + k * plane, half);
    const float dy = load(offsets, at + (taps + k) * plane, half);
    tap_sample q = {at, load(offsets, at + (2 * taps + k) * plane, half),
                    (float)(ho * p->sh - p->pad_top + i * p->dh) + dy, (float)(wo * p->sw - p->pad_left + j * p->dw) + dx};
    return q;
}

int32_t dcn_kernel_run(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                       const void *bias, void *y) {
    const int32_t unsupported = unsupported_call(p);
    if (unsupported != 0) return unsupported;
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    const int64_t cpg = p->c / p->groups, copg = p->co / p->groups, cpdg = p->c / p->deformable_groups;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t o = 0; o < p->co; o++)
            for (int64_t ho = 0; ho < p->ho; ho++)
                for (int64_t wo = 0; wo < p->wo; wo++) {
                    const int64_t group = o / copg;
                    float sum = 0;
                    for (int64_t ci = 0; ci < cpg; ci++) {
                        const int64_t c = group * cpg + ci, g = c / cpdg;
                        for (int64_t i = 0; i < p->kh; i++)
                            for (int64_t j = 0; j < p->kw; j++) {
                                const tap_sample q = tap_at(p, offsets, n, (g * p->kh + i) * p->kw + j, i, j, ho, wo, half);
                                const float s = q.m * bilinear(x, (n * p->c + c) * p->h * p->w, p->h, p->w, q.py, q.px, half);
                                sum += load(weight, ((o * cpg + ci) * p->kh + i) * p->kw + j, half) * s;
                            }
                    }
                    if (p->has_bias) sum += load(bias, o, half);
                    const int64_t out = ((n * p->co + o) * p->ho + ho) * p->wo + wo;
#ifdef DCN_GUARD_UNWRITTEN
                    if (out == p->n * p->co * p->ho * p->wo - 1) continue; /* the planted guard bug */
#endif
                    if (half) ((uint16_t *)y)[out] = float_to_half(sum);
                    else ((float *)y)[out] = sum;
                }
#ifdef DCN_GUARD_PAST_END
    /* the planted guard bug: one element past the end of y */
    const int64_t end = p->n * p->co * p->ho * p->wo;
    if (half) ((uint16_t *)y)[end] = 0;
    else ((float *)y)[end] = 0;
#endif
#ifdef DCN_GUARD_WRITES_INPUT
    ((unsigned char *)x)[0] ^= 1; /* the planted guard bug: x is const */
#endif
    return 0;
}

/* Whether the sample owes position gradients: always under the contract (the derivative from
 * the right is nonzero at p = -1, where it sees row or column 0); not on p = -1 in the planted
 * mmcv build. */
static int owes_position_gradient(float py, float px) {
#ifdef DCN_PLANTED_MMCV
    return py != -1.0f && px != -1.0f; /* the planted convention */
#else
    (void)py; (void)px;
    return 1;
#endif
}

int32_t dcn_kernel_backward(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                            const void *bias, const void *gy, void *gx, void *gweight, void *goffsets, void *gbias) {
    (void)bias; /* the gradients do not depend on it */
    const int32_t unsupported = unsupported_call(p);
    if (unsupported != 0) return unsupported;
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    const int64_t cpg = p->c / p->groups, copg = p->co / p->groups, cpdg = p->c / p->deformable_groups;
    const int64_t taps = p->deformable_groups * p->kh * p->kw, plane = p->ho * p->wo;
    gradient_sums sums;
    if (!gradient_sums_alloc(p, &sums)) return 3;
    float *ax = sums.gx, *aw = sums.gweight, *ao = sums.goffsets, *ab = sums.gbias;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t c = 0; c < p->c; c++) {
            const int64_t group = c / cpg, ci = c % cpg, g = c / cpdg, base = (n * p->c + c) * p->h * p->w;
            for (int64_t i = 0; i < p->kh; i++)
                for (int64_t j = 0; j < p->kw; j++) {
                    const int64_t k = (g * p->kh + i) * p->kw + j, tap = (ci * p->kh + i) * p->kw + j;
                    for (int64_t ho = 0; ho < p->ho; ho++)
                        for (int64_t wo = 0; wo < p->wo; wo++) {
                            const tap_sample sampled_tap = tap_at(p, offsets, n, k, i, j, ho, wo, half);
                            const int64_t at = sampled_tap.at;
                            const float m = sampled_tap.m, py = sampled_tap.py, px = sampled_tap.px;
                            /* from p = -1 on the derivative from the right sees row (column) 0;
                             * beyond, every corner is outside and nothing is owed */
                            if (py < -1.0f || py >= (float)p->h || px < -1.0f || px >= (float)p->w) continue;
                            const int64_t pixel = ((n * p->co) * p->ho + ho) * p->wo + wo;
                            /* the column gradient t = sum over the group's outputs of gy * weight */
                            float t = 0;
                            for (int64_t o = group * copg; o < (group + 1) * copg; o++)
                                t += load(gy, pixel + o * plane, half) * load(weight, o * cpg * p->kh * p->kw + tap, half);
                            const cell q = cell_at(x, base, p->h, p->w, py, px, half);
                            const float mt = m * t;
                            const int inside = py > -1.0f && px > -1.0f; /* B's window: on p = -1 the sample is 0 */
                            if (inside) {
                                const float omega[4] = {(1 - q.ly) * (1 - q.lx), (1 - q.ly) * q.lx, q.ly * (1 - q.lx), q.ly * q.lx};
                                for (int a = 0; a < 2; a++)
                                    for (int b = 0; b < 2; b++) {
                                        const int64_t r = q.y0 + a, s = q.x0 + b;
                                        if (r >= 0 && r < p->h && s >= 0 && s < p->w) ax[base + r * p->w + s] += mt * omega[a * 2 + b];
                                    }
                            }
                            if (owes_position_gradient(py, px)) {
                                ao[at + (taps + k) * plane] += mt * ((1 - q.lx) * (q.v10 - q.v00) + q.lx * (q.v11 - q.v01));
                                ao[at + k * plane] += mt * ((1 - q.ly) * (q.v01 - q.v00) + q.ly * (q.v11 - q.v10));
                            }
                            if (!inside) continue;
                            const float sampled = bilinear(x, base, p->h, p->w, py, px, half);
                            ao[at + (2 * taps + k) * plane] += t * sampled;
                            const float sample = m * sampled;
                            for (int64_t o = group * copg; o < (group + 1) * copg; o++)
                                aw[o * cpg * p->kh * p->kw + tap] += load(gy, pixel + o * plane, half) * sample;
                        }
                }
        }
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t o = 0; o < p->co; o++)
            for (int64_t at = 0; at < plane; at++) ab[o] += load(gy, (n * p->co + o) * plane + at, half);
    gradient_sums_store(&sums, p, gx, gweight, goffsets, gbias);
#ifdef DCN_GUARD_BEFORE_START
    ((unsigned char *)gx)[-1] = 0; /* the planted guard bug */
#endif
    return 0;
}

const char *dcn_kernel_name(void) {
#if defined(DCN_PLANTED_BUG)
    return "example-c-bug";
#elif defined(DCN_PLANTED_MMCV)
    return "example-c-mmcv";
#else
    return "example-c";
#endif
}
