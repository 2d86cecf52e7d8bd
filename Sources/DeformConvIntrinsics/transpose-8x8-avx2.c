#include "DeformConvIntrinsics.h"

#if defined(__AVX2__)
#include <immintrin.h>

// One 8x8 block: rows i..i+7 of the source from column j into rows j..j+7 of the destination.
static inline __attribute__((always_inline)) void block(const float *s, ptrdiff_t ss, float *d, ptrdiff_t ds, int adding) {
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ss), r2 = _mm256_loadu_ps(s + 2 * ss), r3 = _mm256_loadu_ps(s + 3 * ss);
    __m256 r4 = _mm256_loadu_ps(s + 4 * ss), r5 = _mm256_loadu_ps(s + 5 * ss), r6 = _mm256_loadu_ps(s + 6 * ss), r7 = _mm256_loadu_ps(s + 7 * ss);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    __m256 c[8] = {
        _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
        _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
        _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
        _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31),
    };
    for (int k = 0; k < 8; k++) {
        float *target = d + k * ds;
        _mm256_storeu_ps(target, adding ? _mm256_add_ps(_mm256_loadu_ps(target), c[k]) : c[k]);
    }
}

static inline __attribute__((always_inline)) void blocks(const float *source, ptrdiff_t ss, float *destination, ptrdiff_t ds,
                                                         ptrdiff_t full_rows, ptrdiff_t full_columns, int adding) {
    if (ds > ss) {
        for (ptrdiff_t j = 0; j < full_columns; j += 8)
            for (ptrdiff_t i = 0; i < full_rows; i += 8) block(source + i * ss + j, ss, destination + j * ds + i, ds, adding);
    } else {
        for (ptrdiff_t i = 0; i < full_rows; i += 8)
            for (ptrdiff_t j = 0; j < full_columns; j += 8) block(source + i * ss + j, ss, destination + j * ds + i, ds, adding);
    }
}
#endif

void dcn_transpose_f32(const float *source, ptrdiff_t source_stride, float *destination, ptrdiff_t destination_stride,
                       ptrdiff_t rows, ptrdiff_t columns, int adding) {
    ptrdiff_t full_rows = 0, full_columns = 0;
#if defined(__AVX2__)
    full_rows = rows / 8 * 8;
    full_columns = columns / 8 * 8;
    // One loop per form, so that the stores do not branch on `adding`.
    if (adding) {
        blocks(source, source_stride, destination, destination_stride, full_rows, full_columns, 1);
    } else {
        blocks(source, source_stride, destination, destination_stride, full_rows, full_columns, 0);
    }
#endif
    for (ptrdiff_t i = 0; i < rows; i++) {
        for (ptrdiff_t j = i < full_rows ? full_columns : 0; j < columns; j++) {
            float value = source[i * source_stride + j];
            float *target = destination + j * destination_stride + i;
            *target = adding ? *target + value : value;
        }
    }
}
