/*
 * plugin_support.h: what the example plugin (example_kernel.c) and the mutant zoo
 * (tools/mutants/mutant_kernel.c) share: float16 <-> float conversion by hand (round to nearest
 * even), the load of one input element in the problem's dtype, and the bilinear cell of a position.
 */
#ifndef DCN_PLUGIN_SUPPORT_H
#define DCN_PLUGIN_SUPPORT_H

#include <stdint.h>
#include <string.h>

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

#endif
