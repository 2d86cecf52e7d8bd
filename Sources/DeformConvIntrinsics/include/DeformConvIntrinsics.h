// Pieces of the tiled kernels that need exact instructions, written with compiler intrinsics.
//
// Swift has no shuffle intrinsics: an 8x8 transpose written with SIMD8 element initialisers reached
// LLVM's x86 shuffle combiner as one 8-input shuffle per output row, which it lowered to element
// broadcasts and blends (about 0.22 ns an element on Zen 4, 32x32 blocks), where the classic
// unpcklps/unpckhps, shufps, vperm2f128 ladder written with intrinsics takes 0.08 ns.
#ifndef DEFORM_CONV_INTRINSICS_H
#define DEFORM_CONV_INTRINSICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// destination[j * destination_stride + i] = source[i * source_stride + j] for i < rows, j < columns,
/// or += with `adding`: 8x8 blocks in AVX2 registers, the edges one element at a time. The side with
/// the longer stride is walked line by line (with gx's planes innermost, 32 of them fell into one L1
/// set and each line was fetched twice, once per half).
void dcn_transpose_f32(const float *source, ptrdiff_t source_stride, float *destination, ptrdiff_t destination_stride,
                       ptrdiff_t rows, ptrdiff_t columns, int adding);

#ifdef __cplusplus
}
#endif

#endif
