/* failing_kernel.c: a plugin that rejects float16 problems with status 7, for the tests of
 * "plugin returned status N" (the case fails, the run goes on). It has no backward entry point
 * (its backward cases are not implemented) unless compiled with -DDCN_FAILING_BACKWARD, which
 * adds one that returns status 9 on every problem. */
#include "dcn_kernel.h"

int32_t dcn_kernel_run(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                       const void *bias, void *y) {
    (void)x; (void)weight; (void)offsets; (void)bias;
    if (p->dtype == DCN_DTYPE_FLOAT16) return 7;
    float *out = (float *)y;
    for (int64_t i = 0; i < p->n * p->co * p->ho * p->wo; i++) out[i] = 0;
    return 0;
}

#ifdef DCN_FAILING_BACKWARD
int32_t dcn_kernel_backward(const dcn_problem *p, const void *x, const void *weight, const void *offsets,
                            const void *bias, const void *gy, void *gx, void *gweight, void *goffsets, void *gbias) {
    (void)p; (void)x; (void)weight; (void)offsets; (void)bias; (void)gy; (void)gx; (void)gweight; (void)goffsets; (void)gbias;
    return 9;
}
#endif
