/*
 * plugin_support.h: what the example plugin (example_kernel.c) and the mutant zoo
 * (tools/mutants/mutant_kernel.c) share: the checks every entry point makes first, float16 <-> float
 * conversion by hand (round to nearest even), the load and store of elements in the problem's dtype,
 * the bilinear cell of a position, and the float accumulators of the backward's four gradients.
 */
#ifndef DCN_PLUGIN_SUPPORT_H
#define DCN_PLUGIN_SUPPORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcn_kernel.h"

/* 1 for another ABI version, 2 for a dtype other than float32 and float16, 0 when the call can be made. */
static inline int32_t unsupported_call(const dcn_problem *p) {
    if (p->abi_version != DCN_KERNEL_ABI_VERSION) return 1;
    if (p->dtype != DCN_DTYPE_FLOAT32 && p->dtype != DCN_DTYPE_FLOAT16) return 2;
    return 0;
}

static inline float half_to_float(uint16_t h) {
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

static inline uint16_t float_to_half(float f) {
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

static inline float load(const void *data, int64_t index, int half) {
    return half ? half_to_float(((const uint16_t *)data)[index]) : ((const float *)data)[index];
}

/* The cell of a position: its corners v00, v01, v10, v11 (zero outside the image) and the
 * fractions ly, lx; y0 = floor(py), x0 = floor(px). */
typedef struct cell {
    int64_t y0, x0;
    float ly, lx;
    float v00, v01, v10, v11;
} cell;

static inline void store(void *out, const float *values, int64_t count, int half) {
    for (int64_t i = 0; i < count; i++) {
        if (half) ((uint16_t *)out)[i] = float_to_half(values[i]);
        else ((float *)out)[i] = values[i];
    }
}

/* Float accumulators for the four gradients of a backward call, zeroed, in one allocation; stored
 * (and rounded for float16) once, at the end, by gradient_sums_store, which frees them. */
typedef struct gradient_sums {
    float *gx, *gweight, *goffsets, *gbias;
    int64_t x_count, w_count, o_count;
} gradient_sums;

/* 0 when the memory cannot be had. */
static inline int gradient_sums_alloc(const dcn_problem *p, gradient_sums *s) {
    s->x_count = p->n * p->c * p->h * p->w;
    s->w_count = p->co * (p->c / p->groups) * p->kh * p->kw;
    s->o_count = p->n * 3 * p->deformable_groups * p->kh * p->kw * p->ho * p->wo;
    s->gx = calloc((size_t)(s->x_count + s->w_count + s->o_count + p->co), sizeof(float));
    if (s->gx == NULL) return 0;
    s->gweight = s->gx + s->x_count;
    s->goffsets = s->gweight + s->w_count;
    s->gbias = s->goffsets + s->o_count;
    return 1;
}

static inline void gradient_sums_store(gradient_sums *s, const dcn_problem *p, void *gx, void *gweight, void *goffsets,
                                       void *gbias) {
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    store(gx, s->gx, s->x_count, half);
    store(gweight, s->gweight, s->w_count, half);
    store(goffsets, s->goffsets, s->o_count, half);
    if (p->has_bias) store(gbias, s->gbias, p->co, half);
    free(s->gx);
}

#endif
