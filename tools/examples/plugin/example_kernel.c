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
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dcn_kernel.h"

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400u) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3ffu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint16_t float_to_half(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t exponent = (bits >> 23) & 0xffu;
    uint32_t mantissa = bits & 0x7fffffu;
    if (exponent == 0xff) return sign | 0x7c00u | (mantissa ? 0x200u : 0); /* Inf, NaN */
    int e = (int)exponent - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00u;                                /* overflow */
    if (e <= 0) {                                                        /* subnormal or zero */
        if (e < -10) return sign;
        mantissa |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half++; /* may carry into the exponent: correct */
    return sign | (uint16_t)half;
}

static float load(const void *data, int64_t index, int half) {
    return half ? half_to_float(((const uint16_t *)data)[index]) : ((const float *)data)[index];
}

/* SPEC section 1's B: bilinear, zero outside the image. */
static float bilinear(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, int half) {
    if (py <= -1.0f || py >= (float)h || px <= -1.0f || px >= (float)w) return 0.0f;
    float fy = floorf(py), fx = floorf(px);
    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    float ly = py - fy, lx = px - fx;
    float v00 = 0, v01 = 0, v10 = 0, v11 = 0;
    if (y0 >= 0 && x0 >= 0) v00 = load(x, base + y0 * w + x0, half);
    if (y0 >= 0 && x0 + 1 < w) v01 = load(x, base + y0 * w + x0 + 1, half);
    if (y0 + 1 < h && x0 >= 0) v10 = load(x, base + (y0 + 1) * w + x0, half);
    if (y0 + 1 < h && x0 + 1 < w) v11 = load(x, base + (y0 + 1) * w + x0 + 1, half);
#ifdef DCN_PLANTED_BUG
    if (y0 + 1 == h - 1) v11 = 0; /* the planted bug */
#endif
    return (1 - ly) * (1 - lx) * v00 + (1 - ly) * lx * v01 + ly * (1 - lx) * v10 + ly * lx * v11;
}

int32_t dcn_kernel_run(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                       const void *bias, void *y) {
    if (p->abi_version != DCN_KERNEL_ABI_VERSION) return 1;
    if (p->dtype != DCN_DTYPE_FLOAT32 && p->dtype != DCN_DTYPE_FLOAT16) return 2;
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    const int64_t cpg = p->c / p->groups, copg = p->co / p->groups, cpdg = p->c / p->deformable_groups;
    const int64_t taps = p->deformable_groups * p->kh * p->kw, plane = p->ho * p->wo;
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
                                const int64_t k = (g * p->kh + i) * p->kw + j;
                                const int64_t at = (n * 3 * taps) * plane + ho * p->wo + wo;
                                const float dx = load(offsets, at + k * plane, half);
                                const float dy = load(offsets, at + (taps + k) * plane, half);
                                const float m = load(offsets, at + (2 * taps + k) * plane, half);
                                const float py = (float)(ho * p->sh - p->pad_top + i * p->dh) + dy;
                                const float px = (float)(wo * p->sw - p->pad_left + j * p->dw) + dx;
                                const float s = m * bilinear(x, (n * p->c + c) * p->h * p->w, p->h, p->w, py, px, half);
                                sum += load(weight, ((o * cpg + ci) * p->kh + i) * p->kw + j, half) * s;
                            }
                    }
                    if (p->has_bias) sum += load(bias, o, half);
                    const int64_t out = ((n * p->co + o) * p->ho + ho) * p->wo + wo;
                    if (half) ((uint16_t *)y)[out] = float_to_half(sum);
                    else ((float *)y)[out] = sum;
                }
    return 0;
}

const char *dcn_kernel_name(void) {
#ifdef DCN_PLANTED_BUG
    return "example-c-bug";
#else
    return "example-c";
#endif
}
