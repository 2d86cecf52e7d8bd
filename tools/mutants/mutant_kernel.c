/*
 * mutant_kernel.c: the mutant zoo, a dcn kernel plugin (include/dcn_kernel.h) with one macro per
 * bug that real deformable-convolution implementations have had (issue 18).
 *
 * Built without a MUTANT_* macro it is correct (it evaluates SPEC sections 1 and 7 directly, like
 * tools/examples/plugin/example_kernel.c, from which it was copied and whose plugin_support.h it
 * includes) and passes the whole gate.
 * Built with -DMUTANT_<NAME> (upper case) it has exactly that one bug, and with
 * -DMUTANT_LABEL=<name> it reports that name (dcn_kernel_name):
 *
 *   cc -shared -fPIC -O2 -I include -DMUTANT_CLAMP_EDGE -DMUTANT_LABEL=clamp_edge \
 *      tools/mutants/mutant_kernel.c -o libmutant-clamp_edge.so -lm
 *
 * tools/mutants/build.sh builds them all; `dcn kill-matrix` prints which golden cases kill each.
 * The list below is read by build.sh and Tests/ConformanceTests/MutantZooTests.swift: one line per
 * mutant, "MUTANT <name> <forward|backward|determinism> <what it does>" (the pass it breaks; a
 * determinism mutant gives results within the bound whose bits depend on the run).
 *
 * Forward: the offsets layout
 * MUTANT offsets_dxdy_swapped forward the x- and y-offset blocks swapped (dy read from block 0, dx from block K)
 * MUTANT offsets_interleaved forward torchvision's layout: interleaved (dy, dx) pairs at channels 2k, 2k+1
 * MUTANT mask_block_first forward the mask block first: (mask, dx, dy) instead of (dx, dy, mask)
 * Forward: the sampling window and its edges
 * MUTANT clamp_edge forward corners outside the image clamped to the edge instead of zero
 * MUTANT window_from_zero forward the window starts at 0 instead of -1 (B = 0 for p < 0)
 * MUTANT last_row_dropped forward the window ends at H - 1 instead of H (py >= H - 1 gives 0)
 * MUTANT last_column_dropped forward the window ends at W - 1 instead of W (px >= W - 1 gives 0)
 * MUTANT tvm_edge forward old TVM: a sample is taken only if its floor is inside, the high corner clamped to the last row and column
 * MUTANT truncate_not_floor forward the cell from truncation toward zero instead of floor (wrong for -1 < p < 0)
 * MUTANT x_transposed forward x indexed column-major (H and W confused in the pixel index)
 * MUTANT bilinear_cross_weights_swapped forward the weights of corners (y0, x0+1) and (y0+1, x0) swapped
 * MUTANT mask_ignored forward the mask ignored (DCNv1)
 * MUTANT mask_sigmoid forward the mask passed through a sigmoid (the contract applies none)
 * Forward: parameters and channel mapping
 * MUTANT group_modulo forward output channel o in convolution group o % groups instead of o / (Co/groups)
 * MUTANT offset_group_modulo forward channel c in offset group c % dg instead of c / (C/dg)
 * MUTANT offset_group_within_group forward the offset group from the channel's index within its convolution group
 * MUTANT strides_swapped forward strides (sh, sw) swapped
 * MUTANT dilations_swapped forward dilations (dh, dw) swapped
 * MUTANT paddings_swapped forward top and left padding swapped
 * MUTANT onnx_pads_order forward pads read in ONNX's order (top, left, bottom, right): the left padding taken from the bottom's slot
 * MUTANT kernel_flipped forward the kernel flipped (convolution instead of correlation)
 * MUTANT bias_forgotten forward the bias never added
 * Forward: blocking and precision
 * MUTANT batch_chunk_remainder forward a batch of more than 2 in chunks of 2, the odd last image left at zero
 * MUTANT channel_chunk_remainder forward a reduction over more than 8 channels (per group) in chunks of 8, the remainder dropped
 * MUTANT vector_tail_unwritten forward output rows longer than 8 in vectors of 8, the tail of each row never written
 * MUTANT half_intermediates forward float16 problems accumulated in half precision (while declaring float32 units)
 * Backward
 * MUTANT derivative_from_left backward the offsets gradient from the left at integer positions (the contract: from the right)
 * MUTANT derivative_central backward the offsets gradient at integer positions the mean of left and right (central)
 * MUTANT zero_at_minus_one backward mmcv: no offsets gradient at p = -1 exactly
 * MUTANT goffsets_mask_factor_missing backward the x- and y-offset gradients without the mask factor
 * MUTANT gmask_times_mask backward the mask gradient multiplied by the mask
 * MUTANT goffsets_blocks_swapped backward the x- and y-offset gradients written into each other's block
 * MUTANT goffsets_overwritten backward the offsets gradient assigned per channel instead of summed over its offset group
 * MUTANT gx_edge_corners_dropped backward the gx scatter skips a sample whose cell has a corner outside the image
 * MUTANT gx_mask_missing backward the gx scatter without the mask factor
 * MUTANT gx_corner_weights_swapped backward gx scatters to (y0, x0+1) and (y0+1, x0) with each other's weight
 * MUTANT column_gradient_all_groups backward the column gradient t summed over every output channel, not the group's
 * MUTANT gweight_first_image backward gweight from the first image of the batch only
 * MUTANT gweight_mask_missing backward gweight without the mask factor
 * MUTANT gbias_wrong_axes backward gbias summed over gy read as (Co, N, Ho, Wo) instead of (N, Co, Ho, Wo)
 * MUTANT backward_batch_chunk_remainder backward images in chunks of 4, the remainder of a larger batch dropped
 * Determinism (issue 18 item 2: dcn verify --repeat N catches it, an ordinary run does not)
 * MUTANT order_by_call determinism sums over channels (forward) and output rows (backward) start where a call counter and the thread count say
 *
 * Every mutant reads and writes only inside its buffers (the kill matrix runs them in process).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcn_kernel.h"
#include "../examples/plugin/plugin_support.h"

/* Where this call starts its sums (order_by_call): the loop over channels (forward) or output rows
 * (backward) starts at this index modulo its extent, and moves on with every call and with the
 * thread count, so that both the repeats and the thread variants of --repeat see it. The counter
 * is the bug: the result depends on the call's history. */
static int64_t rotation(const dcn_problem *p) {
#ifdef MUTANT_ORDER_BY_CALL
    static _Atomic int64_t calls;
    return calls++ + p->threads;
#else
    (void)p;
    return 0;
#endif
}

/* The pixel (r, s) of the image at base, zero outside (SPEC section 1's v). */
static float pixel(const void *x, int64_t base, int64_t h, int64_t w, int64_t r, int64_t s, int half) {
#ifdef MUTANT_CLAMP_EDGE
    r = r < 0 ? 0 : r >= h ? h - 1 : r;
    s = s < 0 ? 0 : s >= w ? w - 1 : s;
#else
    if (r < 0 || r >= h || s < 0 || s >= w) return 0.0f;
#endif
#ifdef MUTANT_X_TRANSPOSED
    return load(x, base + s * h + r, half);
#else
    return load(x, base + r * w + s, half);
#endif
}

static float floor_of(float v) {
#ifdef MUTANT_TRUNCATE_NOT_FLOOR
    return (float)(int64_t)v;
#else
    return floorf(v);
#endif
}

/* The cell whose top-left corner is (y0, x0), for a position with fractions ly, lx in it. */
static cell cell_from(const void *x, int64_t base, int64_t h, int64_t w, int64_t y0, int64_t x0, float ly, float lx, int half) {
    int64_t y1 = y0 + 1, x1 = x0 + 1;
#ifdef MUTANT_TVM_EDGE
    if (y1 > h - 1) y1 = h - 1;
    if (x1 > w - 1) x1 = w - 1;
#endif
    cell q = {y0, x0, ly, lx, pixel(x, base, h, w, y0, x0, half), pixel(x, base, h, w, y0, x1, half),
              pixel(x, base, h, w, y1, x0, half), pixel(x, base, h, w, y1, x1, half)};
    return q;
}

static cell cell_at(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, int half) {
    float fy = floor_of(py), fx = floor_of(px);
    return cell_from(x, base, h, w, (int64_t)fy, (int64_t)fx, py - fy, px - fx, half);
}

/* Whether B samples the position (SPEC section 1: zero for p <= -1 or p >= H). */
static int in_window(float py, float px, int64_t h, int64_t w) {
#if defined(MUTANT_WINDOW_FROM_ZERO) || defined(MUTANT_TVM_EDGE)
    if (py < 0.0f || px < 0.0f) return 0;
#endif
#ifdef MUTANT_LAST_ROW_DROPPED
    if (py >= (float)(h - 1)) return 0;
#endif
#ifdef MUTANT_LAST_COLUMN_DROPPED
    if (px >= (float)(w - 1)) return 0;
#endif
    return !(py <= -1.0f || py >= (float)h || px <= -1.0f || px >= (float)w);
}

static float interpolate(cell q) {
#ifdef MUTANT_BILINEAR_CROSS_WEIGHTS_SWAPPED
    return (1 - q.ly) * (1 - q.lx) * q.v00 + q.ly * (1 - q.lx) * q.v01 + (1 - q.ly) * q.lx * q.v10 + q.ly * q.lx * q.v11;
#else
    return (1 - q.ly) * (1 - q.lx) * q.v00 + (1 - q.ly) * q.lx * q.v01 + q.ly * (1 - q.lx) * q.v10 + q.ly * q.lx * q.v11;
#endif
}

/* SPEC section 1's B: bilinear, zero outside the image. */
static float bilinear(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, int half) {
    if (!in_window(py, px, h, w)) return 0.0f;
    return interpolate(cell_at(x, base, h, w, py, px, half));
}

/* Sample (n, tap k = (g, i, j), ho, wo)'s mask and position (SPEC section 1), and the indices of its
 * x-offset, y-offset and mask in the offsets layout. */
typedef struct tap_sample {
    int64_t at_x, at_y, at_m;
    float m, py, px;
} tap_sample;

static tap_sample tap_at(const dcn_problem *p, const void *offsets, int64_t n, int64_t k, int64_t i, int64_t j,
                         int64_t ho, int64_t wo, int half) {
    const int64_t taps = p->deformable_groups * p->kh * p->kw, plane = p->ho * p->wo;
    const int64_t at = (n * 3 * taps) * plane + ho * p->wo + wo;
    int64_t bx = k, by = taps + k, bm = 2 * taps + k; /* channels of dx, dy, m */
#if defined(MUTANT_OFFSETS_DXDY_SWAPPED)
    bx = taps + k; by = k;
#elif defined(MUTANT_OFFSETS_INTERLEAVED)
    by = 2 * k; bx = 2 * k + 1;
#elif defined(MUTANT_MASK_BLOCK_FIRST)
    bm = k; bx = taps + k; by = 2 * taps + k;
#endif
    int64_t sh = p->sh, sw = p->sw, dh = p->dh, dw = p->dw, pt = p->pad_top, pl = p->pad_left;
#ifdef MUTANT_STRIDES_SWAPPED
    sh = p->sw; sw = p->sh;
#endif
#ifdef MUTANT_DILATIONS_SWAPPED
    dh = p->dw; dw = p->dh;
#endif
#ifdef MUTANT_PADDINGS_SWAPPED
    pt = p->pad_left; pl = p->pad_top;
#endif
#ifdef MUTANT_ONNX_PADS_ORDER
    pl = p->pad_bottom;
#endif
    float m = load(offsets, at + bm * plane, half);
#if defined(MUTANT_MASK_IGNORED)
    m = 1.0f;
#elif defined(MUTANT_MASK_SIGMOID)
    m = 1.0f / (1.0f + expf(-m));
#endif
    /* the contract's indices, for the backward: a layout mutant reads the wrong channels but
     * writes the right ones, as a kernel with its own layout converted back would */
    tap_sample q = {at + k * plane, at + (taps + k) * plane, at + (2 * taps + k) * plane, m,
                    (float)(ho * sh - pt + i * dh) + load(offsets, at + by * plane, half),
                    (float)(wo * sw - pl + j * dw) + load(offsets, at + bx * plane, half)};
    return q;
}

/* Convolution group of output channel o, offset group of channel c (ci its index in its group). */
static int64_t group_of_output(const dcn_problem *p, int64_t o) {
#ifdef MUTANT_GROUP_MODULO
    return o % p->groups;
#else
    return o / (p->co / p->groups);
#endif
}

static int64_t offset_group_of(const dcn_problem *p, int64_t c, int64_t ci) {
    const int64_t cpdg = p->c / p->deformable_groups;
#if defined(MUTANT_OFFSET_GROUP_MODULO)
    (void)ci; (void)cpdg;
    return c % p->deformable_groups;
#elif defined(MUTANT_OFFSET_GROUP_WITHIN_GROUP)
    (void)c;
    return ci / cpdg;
#else
    (void)ci;
    return c / cpdg;
#endif
}

/* The weight index of (o, ci, i, j). */
static int64_t weight_index(const dcn_problem *p, int64_t o, int64_t ci, int64_t i, int64_t j) {
    const int64_t cpg = p->c / p->groups;
#ifdef MUTANT_KERNEL_FLIPPED
    i = p->kh - 1 - i;
    j = p->kw - 1 - j;
#endif
    return ((o * cpg + ci) * p->kh + i) * p->kw + j;
}

/* A value in the accumulator's precision: float, or half in half_intermediates on float16 problems. */
static float accumulated(float v, int half) {
#ifdef MUTANT_HALF_INTERMEDIATES
    return half ? half_to_float(float_to_half(v)) : v;
#else
    (void)half;
    return v;
#endif
}

int32_t dcn_kernel_run(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                       const void *bias, void *y) {
    const int32_t unsupported = unsupported_call(p);
    if (unsupported != 0) return unsupported;
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    const int64_t start = rotation(p);
    const int64_t cpg = p->c / p->groups;
    int64_t images = p->n, channels = cpg, row = p->wo;
#ifdef MUTANT_BATCH_CHUNK_REMAINDER
    if (images > 2) images = images / 2 * 2; /* a batch of 1 or 2 takes the unblocked path */
    for (int64_t at = images * p->co * p->ho * p->wo; at < p->n * p->co * p->ho * p->wo; at++) {
        if (half) ((uint16_t *)y)[at] = 0;
        else ((float *)y)[at] = 0;
    }
#endif
#ifdef MUTANT_CHANNEL_CHUNK_REMAINDER
    if (channels > 8) channels = channels / 8 * 8; /* up to 8 channels take the unblocked path */
#endif
#ifdef MUTANT_VECTOR_TAIL_UNWRITTEN
    if (row > 8) row = row / 8 * 8; /* rows of up to 8 take the unblocked path */
#endif
    for (int64_t n = 0; n < images; n++)
        for (int64_t o = 0; o < p->co; o++)
            for (int64_t ho = 0; ho < p->ho; ho++)
                for (int64_t wo = 0; wo < row; wo++) {
                    const int64_t group = group_of_output(p, o);
                    float sum = 0;
                    for (int64_t step = 0; step < channels; step++) {
                        const int64_t ci = (step + start) % channels;
                        const int64_t c = group * cpg + ci, g = offset_group_of(p, c, ci);
                        for (int64_t i = 0; i < p->kh; i++)
                            for (int64_t j = 0; j < p->kw; j++) {
                                const tap_sample q = tap_at(p, offsets, n, (g * p->kh + i) * p->kw + j, i, j, ho, wo, half);
                                const float s = accumulated(q.m * bilinear(x, (n * p->c + c) * p->h * p->w, p->h, p->w, q.py, q.px, half), half);
                                sum = accumulated(sum + accumulated(load(weight, weight_index(p, o, ci, i, j), half) * s, half), half);
                            }
                    }
#ifndef MUTANT_BIAS_FORGOTTEN
                    if (p->has_bias) sum += load(bias, o, half);
#endif
                    const int64_t out = ((n * p->co + o) * p->ho + ho) * p->wo + wo;
                    if (half) ((uint16_t *)y)[out] = float_to_half(sum);
                    else ((float *)y)[out] = sum;
                }
    return 0;
}

/* ∂B/∂py and ∂B/∂px on cell q (SPEC section 7's formulas, valid on the cell of any position). */
static float slope_y(cell q) { return (1 - q.lx) * (q.v10 - q.v00) + q.lx * (q.v11 - q.v01); }
static float slope_x(cell q) { return (1 - q.ly) * (q.v01 - q.v00) + q.ly * (q.v11 - q.v10); }

/* The position derivatives of B at (py, px): from the right (the contract), or another convention
 * at integer positions in the derivative mutants. */
static void position_slopes(const void *x, int64_t base, int64_t h, int64_t w, float py, float px, cell q, int half,
                            float *dy, float *dx) {
    *dy = slope_y(q);
    *dx = slope_x(q);
#if defined(MUTANT_DERIVATIVE_FROM_LEFT) || defined(MUTANT_DERIVATIVE_CENTRAL)
    /* the cell that ends at the integer: [y0 - 1, y0] with ly = 1 (likewise in x) */
    const float left_y = py == floorf(py) ? slope_y(cell_from(x, base, h, w, q.y0 - 1, q.x0, 1.0f, q.lx, half)) : *dy;
    const float left_x = px == floorf(px) ? slope_x(cell_from(x, base, h, w, q.y0, q.x0 - 1, q.ly, 1.0f, half)) : *dx;
#if defined(MUTANT_DERIVATIVE_FROM_LEFT)
    *dy = left_y;
    *dx = left_x;
#else
    *dy = (*dy + left_y) / 2;
    *dx = (*dx + left_x) / 2;
#endif
#else
    (void)x; (void)base; (void)h; (void)w; (void)half;
#endif
#ifdef MUTANT_ZERO_AT_MINUS_ONE
    if (py == -1.0f || px == -1.0f) *dy = *dx = 0; /* mmcv's coordinate weight checks -1 < p < H */
#else
    (void)py; (void)px;
#endif
}

/* Adds v to *target, or (goffsets_overwritten) assigns it, as a kernel that writes the offsets
 * gradient per channel would. */
static void add_offsets_gradient(float *target, float v) {
#ifdef MUTANT_GOFFSETS_OVERWRITTEN
    *target = v;
#else
    *target += v;
#endif
}

int32_t dcn_kernel_backward(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                            const void *bias, const void *gy, void *gx, void *gweight, void *goffsets, void *gbias) {
    (void)bias; /* the gradients do not depend on it */
    const int32_t unsupported = unsupported_call(p);
    if (unsupported != 0) return unsupported;
    const int half = p->dtype == DCN_DTYPE_FLOAT16;
    const int64_t start = rotation(p);
    const int64_t cpg = p->c / p->groups, copg = p->co / p->groups;
    const int64_t plane = p->ho * p->wo;
    gradient_sums sums;
    if (!gradient_sums_alloc(p, &sums)) return 3;
    float *ax = sums.gx, *aw = sums.gweight, *ao = sums.goffsets, *ab = sums.gbias;
    int64_t images = p->n;
#ifdef MUTANT_BACKWARD_BATCH_CHUNK_REMAINDER
    if (images > 4) images = images / 4 * 4;
#endif
    for (int64_t n = 0; n < images; n++) {
        for (int64_t c = 0; c < p->c; c++) {
            const int64_t group = c / cpg, ci = c % cpg, g = offset_group_of(p, c, ci), base = (n * p->c + c) * p->h * p->w;
            int64_t first_output = group * copg, last_output = (group + 1) * copg;
#ifdef MUTANT_COLUMN_GRADIENT_ALL_GROUPS
            first_output = 0; last_output = p->co;
#endif
            for (int64_t i = 0; i < p->kh; i++)
                for (int64_t j = 0; j < p->kw; j++) {
                    const int64_t k = (g * p->kh + i) * p->kw + j;
                    for (int64_t row = 0; row < p->ho; row++)
                        for (int64_t wo = 0; wo < p->wo; wo++) {
                            const int64_t ho = (row + start) % p->ho;
                            const tap_sample sampled_tap = tap_at(p, offsets, n, k, i, j, ho, wo, half);
                            const float m = sampled_tap.m, py = sampled_tap.py, px = sampled_tap.px;
                            /* from p = -1 on the derivative from the right sees row (column) 0;
                             * beyond, every corner is outside and nothing is owed */
                            if (py < -1.0f || py >= (float)p->h || px < -1.0f || px >= (float)p->w) continue;
                            const int64_t pixel_at = ((n * p->co) * p->ho + ho) * p->wo + wo;
                            /* the column gradient t = sum over the group's outputs of gy * weight */
                            float t = 0;
                            for (int64_t o = first_output; o < last_output; o++)
                                t += load(gy, pixel_at + o * plane, half) * load(weight, weight_index(p, o, ci, i, j), half);
                            const cell q = cell_at(x, base, p->h, p->w, py, px, half);
                            const float mt = m * t;
                            const int inside = in_window(py, px, p->h, p->w); /* B's window: on p = -1 the sample is 0 */
                            int scatter = inside;
#ifdef MUTANT_GX_EDGE_CORNERS_DROPPED
                            scatter = scatter && q.y0 >= 0 && q.x0 >= 0 && q.y0 + 1 < p->h && q.x0 + 1 < p->w;
#endif
                            if (scatter) {
#ifdef MUTANT_GX_MASK_MISSING
                                const float factor = t;
#else
                                const float factor = mt;
#endif
#ifdef MUTANT_GX_CORNER_WEIGHTS_SWAPPED
                                const float omega[4] = {(1 - q.ly) * (1 - q.lx), q.ly * (1 - q.lx), (1 - q.ly) * q.lx, q.ly * q.lx};
#else
                                const float omega[4] = {(1 - q.ly) * (1 - q.lx), (1 - q.ly) * q.lx, q.ly * (1 - q.lx), q.ly * q.lx};
#endif
                                for (int a = 0; a < 2; a++)
                                    for (int b = 0; b < 2; b++) {
                                        const int64_t r = q.y0 + a, s = q.x0 + b;
                                        if (r >= 0 && r < p->h && s >= 0 && s < p->w) ax[base + r * p->w + s] += factor * omega[a * 2 + b];
                                    }
                            }
                            float dy, dx;
                            position_slopes(x, base, p->h, p->w, py, px, q, half, &dy, &dx);
#ifdef MUTANT_GOFFSETS_MASK_FACTOR_MISSING
                            const float position_factor = t;
#else
                            const float position_factor = mt;
#endif
#ifdef MUTANT_GOFFSETS_BLOCKS_SWAPPED
                            add_offsets_gradient(&ao[sampled_tap.at_x], position_factor * dy);
                            add_offsets_gradient(&ao[sampled_tap.at_y], position_factor * dx);
#else
                            add_offsets_gradient(&ao[sampled_tap.at_y], position_factor * dy);
                            add_offsets_gradient(&ao[sampled_tap.at_x], position_factor * dx);
#endif
                            if (!inside) continue;
                            const float sampled = interpolate(q);
#ifdef MUTANT_GMASK_TIMES_MASK
                            add_offsets_gradient(&ao[sampled_tap.at_m], mt * sampled);
#else
                            add_offsets_gradient(&ao[sampled_tap.at_m], t * sampled);
#endif
#ifdef MUTANT_GWEIGHT_FIRST_IMAGE
                            if (n != 0) continue;
#endif
#ifdef MUTANT_GWEIGHT_MASK_MISSING
                            const float sample = sampled;
#else
                            const float sample = m * sampled;
#endif
                            for (int64_t o = group * copg; o < (group + 1) * copg; o++)
                                aw[weight_index(p, o, ci, i, j)] += load(gy, pixel_at + o * plane, half) * sample;
                        }
                }
        }
    }
    for (int64_t n = 0; n < images; n++) {
        for (int64_t o = 0; o < p->co; o++)
            for (int64_t at = 0; at < plane; at++) {
#ifdef MUTANT_GBIAS_WRONG_AXES
                ab[o] += load(gy, (o * p->n + n) * plane + at, half);
#else
                ab[o] += load(gy, (n * p->co + o) * plane + at, half);
#endif
            }
    }
    gradient_sums_store(&sums, p, gx, gweight, goffsets, gbias);
    return 0;
}

const char *dcn_kernel_name(void) {
#ifdef MUTANT_LABEL
#define MUTANT_STRING(name) #name
#define MUTANT_NAME_OF(name) MUTANT_STRING(name)
    return MUTANT_NAME_OF(MUTANT_LABEL);
#else
    return "correct";
#endif
}
