/*
 * dcn_kernel.h: the C ABI of a dcn kernel plugin (ABI version 1).
 *
 * A plugin is a shared library (cc -shared -fPIC -O2 my_kernel.c -o libmy_kernel.so)
 * that exports one function (and optionally a backward pass, below):
 *
 *     int32_t dcn_kernel_run(const dcn_problem *problem,
 *                            const void *x, const void *weight, const void *offsets,
 *                            const void *bias_or_null, void *y);
 *
 * and, optionally, `const char *dcn_kernel_name(void)` (the name reports use; default
 * "plugin:<library file name>"). `dcn verify --plugin libmy_kernel.so` loads it with
 * dlopen and runs it through the whole gate like a built-in kernel; `dcn bench --plugin`
 * times it. `--plugin-symbol NAME` calls NAME instead of dcn_kernel_run.
 *
 * The operator is SPEC.md section 1 (MindSpore's ops.deformable_conv2d, DCNv2):
 *
 *   x        (n, c, h, w)                     NCHW, contiguous
 *   weight   (co, c / groups, kh, kw)
 *   offsets  (n, 3 * dg * kh * kw, ho, wo)    x offsets, then y offsets, then masks
 *   bias     (co), or NULL when has_bias == 0
 *   y        (n, co, ho, wo)                  written by the plugin
 *
 * Every tensor has the problem's dtype: float32 (IEEE binary32, `float`) or float16
 * (IEEE binary16: each element is the 16-bit pattern, e.g. `_Float16` or `uint16_t`).
 *
 * Validation (SPEC section 2) is done by dcn before the call: the plugin only ever
 * receives valid problems, so every size is >= 1, ho and wo are the output size of
 * section 1, and channel counts are divisible as the spec requires. The plugin must not
 * keep the pointers after it returns, and may be called from any thread, one call at a time.
 *
 * Return 0 on success. Any other value fails the case with "plugin returned status N"
 * and the run goes on with the next case.
 *
 * Accuracy: dcn holds the output to SPEC section 3's bound built from the unit roundoffs of
 * the plugin's arithmetic, given on the command line: --u-acc (accumulation) and --u-s
 * (sampling), both 2^-24 (float32) by default; a plugin that accumulates float16 inputs in
 * half precision says --u-acc 2^-11.
 *
 * The backward pass (SPEC section 7) is a second, optional entry point:
 *
 *     int32_t dcn_kernel_backward(const dcn_problem *problem,
 *                                 const void *x, const void *weight, const void *offsets,
 *                                 const void *bias_or_null, const void *gy,
 *                                 void *gx, void *gweight, void *goffsets, void *gbias_or_null);
 *
 * dcn looks it up when it loads the plugin; without it the plugin's backward cases are reported
 * as not implemented (counted, never a pass). `--plugin-backward-symbol NAME` calls NAME instead
 * (and then it must exist). The problem and the inputs are the forward's (bias_or_null is passed
 * as to dcn_kernel_run, though the gradients do not depend on it); gy = dL/dy has y's shape and
 * the four gradients are written by the plugin, each with its input's shape and the problem's dtype:
 *
 *   gy       (n, co, ho, wo)                  in
 *   gx       (n, c, h, w)                     out: dL/dx
 *   gweight  (co, c / groups, kh, kw)         out: dL/dweight
 *   goffsets (n, 3 * dg * kh * kw, ho, wo)    out: dL/doffsets in the offsets layout: the x-offset,
 *                                             y-offset, then mask blocks
 *   gbias    (co), or NULL when has_bias == 0 out: dL/dbias
 *
 * The plugin must write every element (a plugin that scatters with += zeroes them first; see
 * the guard checks below). Where a
 * sampling position is an integer the offsets gradient is the derivative from the right (SPEC
 * section 7; e.g. nonzero at p = -1 exactly, where it sees row or column 0); a plugin that follows
 * another convention fails there, and the report names the convention it matches. The bound is
 * section 7's with the same --u-acc and --u-s. Return 0 on success; any other value fails the
 * backward part of the case with "plugin returned status N".
 *
 * Guard checks, on every call of either entry point:
 *   - outputs (y, gx, gweight, goffsets, gbias) are filled before the call with a quiet NaN
 *     with a payload no arithmetic produces (float32 0x7FCDC0DE, float16 0x7E5A); an element
 *     still holding those bits fails the case as "y: 1 of 48 elements not written (first at
 *     index 47, [0, 2, 3, 3])" (reading an element before writing it, y[i] += ..., keeps the
 *     payload and fails the same way);
 *   - every buffer, input or output, lies between two 256-byte guard regions, checked after
 *     the call: "wrote 4 bytes past the end of y", "wrote 1 byte before the start of gx" (the
 *     count is the distance from the buffer's edge to the farthest changed guard byte);
 *   - inputs (x, weight, offsets, bias, gy) are copies compared with dcn's after the call:
 *     "wrote into input x: 1 of 64 elements changed (first at index 0, [0, 0, 0, 0])". A copy
 *     rather than read-only pages, so the write is named (a fault would need a process-wide
 *     signal handler to name the buffer) and never reaches the other sources' inputs.
 * Buffers are 64-byte aligned. What the checks catch is the case's outcome, a failure with a
 * structured reason (guardViolations in the JSON report), and the run goes on; a write that
 * lands beyond the guards can still crash, which `dcn verify` survives by running each golden
 * file in a child process (the case fails, naming the signal). `dcn bench` calls the plugin
 * without the checks, on dcn's own input arrays, so that its times are the plugin's.
 */
#ifndef DCN_KERNEL_H
#define DCN_KERNEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DCN_KERNEL_ABI_VERSION 1

/* Values of dcn_problem.dtype. */
#define DCN_DTYPE_FLOAT32 0
#define DCN_DTYPE_FLOAT16 1

/* Only int64_t fields, so the layout has no padding and is the same for every compiler. */
typedef struct dcn_problem {
    int64_t abi_version;        /* DCN_KERNEL_ABI_VERSION: a plugin may return an error for others */
    int64_t struct_size;        /* sizeof(dcn_problem) of the caller */
    int64_t dtype;              /* DCN_DTYPE_FLOAT32 or DCN_DTYPE_FLOAT16 */
    int64_t n, c, h, w;         /* x: batch, channels, height, width */
    int64_t co;                 /* output channels (weight dim 0) */
    int64_t kh, kw;             /* kernel size */
    int64_t sh, sw;             /* strides (H, W) */
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t dh, dw;             /* dilations (H, W); 1 is dense */
    int64_t groups;             /* convolution groups */
    int64_t deformable_groups;  /* offset groups (dg) */
    int64_t ho, wo;             /* output size, SPEC section 1 */
    int64_t has_bias;           /* 1 when bias_or_null is not NULL */
    int64_t threads;            /* threads the caller suggests (dcn --threads), 0 when not given */
} dcn_problem;

/* The entry point. Returns 0 on success. */
typedef int32_t (*dcn_kernel_run_fn)(const dcn_problem *problem,
                                     const void *x, const void *weight, const void *offsets,
                                     const void *bias_or_null, void *y);

int32_t dcn_kernel_run(const dcn_problem *problem,
                       const void *x, const void *weight, const void *offsets,
                       const void *bias_or_null, void *y);

/* Optional: the backward pass (SPEC section 7). Returns 0 on success. */
typedef int32_t (*dcn_kernel_backward_fn)(const dcn_problem *problem,
                                          const void *x, const void *weight, const void *offsets,
                                          const void *bias_or_null, const void *gy,
                                          void *gx, void *gweight, void *goffsets, void *gbias_or_null);

int32_t dcn_kernel_backward(const dcn_problem *problem,
                            const void *x, const void *weight, const void *offsets,
                            const void *bias_or_null, const void *gy,
                            void *gx, void *gweight, void *goffsets, void *gbias_or_null);

/* Optional: the name reports use for this kernel. */
const char *dcn_kernel_name(void);

#ifdef __cplusplus
}
#endif

#endif /* DCN_KERNEL_H */
