#!/usr/bin/env python3
"""Reads a dcn golden file with h5py and recomputes every valid case's `y` with numpy.

An implementation independent of the Swift code (SPEC section 1's formula, vectorised
over output pixels), so that the reference kernel is not the only witness of the truth.
It also checks the format: root attributes, the half-float type h5py sees, booleans.

    pip install h5py numpy
    python3 tools/interop/check_golden.py vectors/dcn-default.h5

Prints one line per mismatch and a closing "N passed, N failed" line; exits 1 on a mismatch.
"""
import sys

import h5py
import numpy as np


def deform_conv(x, weight, offsets, bias, strides, padding, dilations, groups, dg):
    n_, c, h, w = x.shape
    co, cg, kh, kw = weight.shape
    _, _, ho, wo = offsets.shape
    sh, sw = strides[2], strides[3]
    pt, pl = padding[0], padding[2]
    dh, dw = dilations[2], dilations[3]
    taps = dg * kh * kw
    y = np.zeros((n_, co, ho, wo))
    oh = np.arange(ho)[:, None]
    ow = np.arange(wo)[None, :]
    for n in range(n_):
        # samples[c, i, j, ho, wo] = m * B(x[n, c], py, px)
        samples = np.zeros((c, kh, kw, ho, wo))
        for ch in range(c):
            g = ch // (c // dg)
            for i in range(kh):
                for j in range(kw):
                    k = (g * kh + i) * kw + j
                    dx, dy, m = offsets[n, k], offsets[n, taps + k], offsets[n, 2 * taps + k]
                    py = (oh * sh - pt + i * dh) + dy
                    px = (ow * sw - pl + j * dw) + dx
                    inside = (py > -1) & (py < h) & (px > -1) & (px < w)
                    y0, x0 = np.floor(py).astype(np.int64), np.floor(px).astype(np.int64)
                    ly, lx = py - y0, px - x0

                    def v(a, b):
                        ok = inside & (a >= 0) & (a < h) & (b >= 0) & (b < w)
                        return np.where(ok, x[n, ch, np.clip(a, 0, h - 1), np.clip(b, 0, w - 1)], 0.0)

                    b = ((1 - ly) * (1 - lx) * v(y0, x0) + (1 - ly) * lx * v(y0, x0 + 1)
                         + ly * (1 - lx) * v(y0 + 1, x0) + ly * lx * v(y0 + 1, x0 + 1))
                    samples[ch, i, j] = np.where(inside, m * b, 0.0)
        for o in range(co):
            grp = o // (co // groups)
            part = samples[grp * cg:(grp + 1) * cg]
            y[n, o] = np.einsum("cij,cijhw->hw", weight[o], part)
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def main(path):
    passed = failed = 0
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "dcn-golden", "root attribute format"
        assert int(f.attrs["format_version"]) == 1, "root attribute format_version"
        for name, case in f["cases"].items():
            if case.attrs["expect"] != "ok":
                continue
            assert isinstance(case.attrs["modulated"], (bool, np.bool_)), f"{name}: modulated is not an h5py boolean"
            tags = case.attrs["tags"].split(",")
            dtype = case["x"].dtype
            assert dtype == (np.float16 if "float16" in tags else np.float32), f"{name}: x is {dtype}"
            args = [case[k][...].astype(np.float64) for k in ("x", "weight", "offsets")]
            bias = case["bias"][...].astype(np.float64) if "bias" in case else None
            y = deform_conv(*args, bias, case.attrs["strides"], case.attrs["padding"], case.attrs["dilations"],
                            int(case.attrs["groups"]), int(case.attrs["deformable_groups"]))
            golden = case["y"][...]
            scale = np.maximum(case["y_abs"][...], 1e-300)
            worst = float(np.max(np.abs(y - golden) / scale))
            # Two float64 evaluations in different orders: their difference is a few float64 ulps of y_abs.
            if worst <= 1e-12 and golden.shape == y.shape:
                passed += 1
            else:
                failed += 1
                print(f"MISMATCH {name}: max |numpy - y| / y_abs = {worst:.3g}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_golden.py FILE.h5")
    sys.exit(main(sys.argv[1]))
