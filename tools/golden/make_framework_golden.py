#!/usr/bin/env python3
"""Golden truth from the real frameworks: rewrite a dcn golden file with torchvision's float64
output and gradients as `y`, `gx`, `gweight`, `goffsets`, `gbias` and a framework's own output
and gradients as `y_framework`, `g*_framework`.

    python3 tools/golden/make_framework_golden.py --input vectors/dcn-default.h5 \\
        --framework mindspore --out vectors/framework-mindspore-2.10.h5
    python3 tools/golden/make_framework_golden.py --input vectors/dcn-default.h5 \\
        --framework onnxruntime --out vectors/framework-onnxruntime.h5

Every case of the input file (valid and error) is copied with its attributes and input
datasets unchanged (H5Ocopy: same types, shapes, chunking, filters; huge declared-but-unwritten
datasets stay unwritten). Then, for each valid case (expect = "ok"):

  y          torchvision's ops.deform_conv2d evaluated in float64 on the inputs converted
             exactly to float64, after SPEC section 1's layout conversion (see to_torchvision);
  y_abs      the same torchvision call on |x|, |weight|, |masks|, |bias| (SPEC section 3:
             y_abs = |bias| + sum |w|·|m|·sum_corners a·|v|, and the bilinear weights a are >= 0);
  y_pos      SPEC section 3's position term, evaluated here in numpy (y_pos_numpy), not by dcn;
  y_framework  the framework's output in the case dtype, attribute `framework` naming it.

For each valid case with `gy` (SPEC section 7):

  gx, gweight, goffsets, gbias   torchvision's float64 autograd gradients (every input requiring
             grad, gy as the incoming gradient) through the same layout conversion, done with torch
             operations so that autograd carries the offsets gradient back to dcn's layout (x-offset,
             y-offset, mask blocks) exactly;
  g*_framework  the framework's own gradients in the case dtype, attribute `framework_backward`
             naming what produced them: MindSpore's GradOperation(get_all=True, sens_param=True) of
             ops.deformable_conv2d; for the onnxruntime file (onnxruntime has no backward)
             torchvision's autograd in the case dtype (float32 and float16).

A backward call that raises, crashes or cannot run leaves no g*_framework and records
`framework_backward_error` in the form of `framework_error`; error cases with `gy` (the
backward-only ones, grad_shape and a gy dtype mismatch) get it too, with the stored gy.

For error cases the framework is called with the tensors and parameters exactly as stored and
the attribute `framework_error` records "<ExceptionClass>: <first line>", "accepted" (then
`framework_note` gives the output shape), "crashed: <signal>", "timeout" or "not run: <why>".
Every framework call runs in its own subprocess (this script with --worker), so a crash or a
hang cannot take the tool down, and torch never shares a process with the framework.

Before writing, the tool checks torchvision's y, y_abs and its own y_pos against the input
file's (dcn's float64 reference): max |difference| / y_abs must be <= 1e-12; and torchvision's
float64 gradients against the input file's gx, gweight, goffsets (split into its x-offset, y-offset
and mask blocks) and gbias: max |difference| / max |input tensor| <= 1e-12 per tensor. Otherwise it
stops (exit 1) and names the cases.  Requirements: tools/golden/requirements.txt.
"""
import argparse
import importlib.metadata
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TOOL = "tools/golden/make_framework_golden.py"
TOOL_VERSION = "1.1.0"
FRAMEWORKS = ("mindspore", "onnxruntime")
SELF_CHECK_TOLERANCE = 1e-12          # relative to y_abs, two float64 evaluations in different orders
NOT_RUN_BYTES = 1 << 30               # cases whose input tensors declare more than this are not run
WORKER_TIMEOUT = 300                  # seconds per framework call (imports included)
INPUT_FIELDS = ("x", "weight", "offsets", "bias")
GRADIENT_FIELDS = ("gx", "gweight", "goffsets", "gbias")
FRAMEWORK_GRADIENT_FIELDS = tuple(g + "_framework" for g in GRADIENT_FIELDS)
OUTPUT_FIELDS = ("y", "y_abs", "y_pos", "y_framework") + GRADIENT_FIELDS + FRAMEWORK_GRADIENT_FIELDS
# The self-check's gradient tensors: goffsets split into SPEC section 7's three blocks.
GRADIENT_PARTS = ("gx", "gweight", "x_offset", "y_offset", "mask", "gbias")


# ---------------------------------------------------------------- parameters as stored

def as_python(value):
    """An h5py attribute value as the Python value a framework user would pass: integer arrays
    become tuples of int, float arrays tuples of float, bool arrays tuples of bool, numpy scalars
    Python scalars, strings stay strings. Nothing is validated or coerced across kinds."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return tuple(as_python(v) for v in value.tolist()) if value.ndim else as_python(value[()])
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(as_python(v) for v in value)
    return value


def as_scalar(value):
    """groups, deformable_groups, modulated: a one-element array attribute is that element."""
    value = as_python(value)
    if isinstance(value, tuple) and len(value) == 1:
        return value[0]
    return value


def case_parameters(attrs):
    return {
        "kernel_size": as_python(attrs["kernel_size"]),
        "strides": as_python(attrs["strides"]),
        "padding": as_python(attrs["padding"]),
        "dilations": as_python(attrs["dilations"]),
        "groups": as_scalar(attrs["groups"]),
        "deformable_groups": as_scalar(attrs["deformable_groups"]),
        "modulated": as_scalar(attrs["modulated"]),
    }


def declared_bytes(case):
    return sum(math.prod(case[k].shape) * case[k].dtype.itemsize
               for k in INPUT_FIELDS if k in case)


def first_line(error):
    """The first line of the message. MindSpore's framework errors come as sections
    ("- Framework Unexpected Exception Raised:", a boilerplate paragraph, "- Kernel build failed:",
    "- C++ Call Stack:"); for those: the first title, then the first line of the first section that
    is neither boilerplate nor a call stack."""
    lines = [line.strip() for line in str(error).splitlines()]
    lines = [line for line in lines if line and not set(line) <= set("-=~ ")]
    if not lines:
        return ""
    if not lines[0].startswith("- "):
        return lines[0][:400]
    title, section = lines[0][2:].rstrip(":"), None
    for line in lines[1:]:
        if line.startswith("- "):
            section = line[2:].rstrip(":")
        elif section and "Call Stack" not in section:
            return f"{title}: {section}: {line}"[:400]
    return title[:400]


def describe(error):
    """"<Class>: <first line>", with memory addresses (MindSpore's abstract-value dumps print
    `value_ptr: 0x55fd…`) replaced by "0x…", so that the text, and the file, are the same every run."""
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", first_line(error))
    return f"{type(error).__name__}: {text}".rstrip(": ").rstrip()


# ---------------------------------------------------------------- torchvision (the truth)
#
# SPEC section 1 -> torchvision.ops.deform_conv2d, exactly:
#
# Offsets. MindSpore's offsets hold three blocks of K = dg·kh·kw channels: dx at k, dy at K + k,
# mask at 2K + k, with k = (g·kh + i)·kw + j. torchvision reads, for offset group g and tap
# (i, j), dy from channel 2·k and dx from channel 2·k + 1 of `offset` (each group's 2·kh·kw
# channels are consecutive, (dy, dx) per tap, taps row-major), and the mask from channel k of
# `mask`. So offset[:, 2k] = dy, offset[:, 2k+1] = dx, mask = the third block, unchanged.
#
# Padding. torchvision takes one symmetric (pad_h, pad_w); SPEC's padding is (top, bottom,
# left, right). We pad x explicitly with zeros, pt rows on top, pb below, pl columns left, pr
# right, giving xp of size (H + pt + pb) x (W + pl + pr), and call torchvision with padding 0.
# This is exactly equivalent:
#  * Output size: torchvision's Ho = floor((H + pt + pb - (dh·(kh-1) + 1)) / sh) + 1, SPEC's
#    formula; the same for Wo.
#  * Sampling position: torchvision samples xp at py' = ho·sh + i·dh + dy, which is SPEC's
#    py = ho·sh - pt + i·dh + dy shifted by pt (py' = py + pt; likewise px' = px + pl), and the
#    shift is exact in float64 (integers plus a float16/float32 offset).
#  * Value: floor(py') = floor(py) + pt, so the fractions ly, lx and the four bilinear weights
#    are the same numbers, and xp[a + pt, b + pl] = x[a, b] inside x and 0 everywhere else
#    (padding zeros, or torchvision's zero outside xp) -- SPEC's v(a, b). Where SPEC's B is 0
#    because py <= -1 or py >= H (or px <= -1 or px >= W), every corner torchvision reads on xp
#    is either a zero or carries a zero weight (py = -1 exactly: row -1 with weight 1 is a zero,
#    row 0 has weight ly = 0), so torchvision's value is 0 as well (inputs are finite); where
#    SPEC's B is not 0, -1 < py' < H + pt + pb and torchvision computes the same four-term sum.
#  * Strides and dilations are the H, W entries (index 2, 3) of SPEC's 4-tuples; groups and
#    offset groups are implied by weight's dim 1 (C / groups) and offset's channel count
#    (2·dg·kh·kw); the bias is added the same way.

def to_torchvision_layout(offsets, kh, kw, dg):
    n, ch, ho, wo = offsets.shape
    taps = dg * kh * kw
    assert ch == 3 * taps, (ch, taps)
    dx, dy, mask = offsets[:, :taps], offsets[:, taps:2 * taps], offsets[:, 2 * taps:]
    offset = np.stack([dy, dx], axis=2).reshape(n, 2 * taps, ho, wo)   # channel 2k = dy, 2k+1 = dx
    return offset, mask


def torchvision_eval(x, weight, offsets, bias, params):
    """torchvision's deform_conv2d in float64 (inputs converted exactly), after the conversion above."""
    import torch
    import torch.nn.functional as F
    from torchvision.ops import deform_conv2d
    kh, kw = params["kernel_size"]
    pt, pb, pl, pr = params["padding"]
    offset, mask = to_torchvision_layout(offsets.astype(np.float64), kh, kw, params["deformable_groups"])
    xt = F.pad(torch.from_numpy(x.astype(np.float64)), (pl, pr, pt, pb))          # zeros
    with torch.inference_mode():
        y = deform_conv2d(xt, torch.from_numpy(offset), torch.from_numpy(weight.astype(np.float64)),
                          None if bias is None else torch.from_numpy(bias.astype(np.float64)),
                          stride=(params["strides"][2], params["strides"][3]), padding=(0, 0),
                          dilation=(params["dilations"][2], params["dilations"][3]),
                          mask=torch.from_numpy(mask))
    return y.numpy().astype(np.float64)


def y_abs_torchvision(x, weight, offsets, bias, params):
    """SPEC section 3's y_abs: deform_conv2d of |x|, |weight|, |mask|, |bias| with the same
    sampling positions (the bilinear weights are >= 0, so B(|x|) = sum_corners a·|v|)."""
    kh, kw = params["kernel_size"]
    taps = params["deformable_groups"] * kh * kw
    absolute = offsets.astype(np.float64).copy()
    absolute[:, 2 * taps:] = np.abs(absolute[:, 2 * taps:])
    return torchvision_eval(np.abs(x.astype(np.float64)), np.abs(weight.astype(np.float64)), absolute,
                            None if bias is None else np.abs(bias.astype(np.float64)), params)


TORCH_DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64"}


def torchvision_gradients(x, weight, offsets, bias, gy, params, dtype):
    """torchvision's deform_conv2d autograd in `dtype` (inputs converted to it: exactly for float64)
    after the conversion above, gy as the incoming gradient: (gx, gweight, goffsets, gbias or None)
    as numpy arrays in dcn's shapes and layout. The conversion (explicit zero padding, the
    (dy, dx) interleaving, the mask block) is done with torch operations on tensors that require
    grad, so autograd carries the gradients back through it: F.pad's backward drops the padding,
    stack/reshape's backward puts offset channel 2k+1 back at k (dx) and 2k at K + k (dy), exactly
    (copies). gy is used as stored (a wrong dtype or shape raises, as it should)."""
    import torch
    import torch.nn.functional as F
    from torchvision.ops import deform_conv2d
    tdtype = getattr(torch, TORCH_DTYPES[str(np.dtype(dtype))])
    kh, kw = params["kernel_size"]
    pt, pb, pl, pr = params["padding"]
    taps = params["deformable_groups"] * kh * kw
    leaves = [torch.from_numpy(np.ascontiguousarray(a.astype(dtype))).requires_grad_()
              for a in ((x, weight, offsets) + (() if bias is None else (bias,)))]
    xt, wt, ot = leaves[:3]
    bt = leaves[3] if bias is not None else None
    n, _, ho, wo = ot.shape
    dx, dy, mask = ot[:, :taps], ot[:, taps:2 * taps], ot[:, 2 * taps:]
    offset = torch.stack([dy, dx], dim=2).reshape(n, 2 * taps, ho, wo)      # channel 2k = dy, 2k+1 = dx
    with torch.enable_grad():
        y = deform_conv2d(F.pad(xt, (pl, pr, pt, pb)), offset, wt, bt,
                          stride=(params["strides"][2], params["strides"][3]), padding=(0, 0),
                          dilation=(params["dilations"][2], params["dilations"][3]), mask=mask)
        grads = torch.autograd.grad(y, leaves, grad_outputs=torch.from_numpy(np.ascontiguousarray(gy)))
    out = [g.detach().numpy().copy() for g in grads]
    return out[0], out[1], out[2], (out[3] if bias is not None else None)


def gradient_parts(gx, gweight, goffsets, gbias, taps):
    """SPEC section 7's gradient tensors, goffsets split into its x-offset, y-offset and mask blocks."""
    parts = {"gx": gx, "gweight": gweight, "x_offset": goffsets[:, :taps], "y_offset": goffsets[:, taps:2 * taps],
             "mask": goffsets[:, 2 * taps:]}
    if gbias is not None:
        parts["gbias"] = gbias
    return parts


def y_pos_numpy(x, weight, offsets, params):
    """SPEC section 3's y_pos = sum |w|·|m|·(|py|·|dB/dpy| + |px|·|dB/dpx|), both terms zero
    where B is zero; written from the SPEC, independent of dcn's code."""
    x = x.astype(np.float64)
    weight = weight.astype(np.float64)
    offsets = offsets.astype(np.float64)
    n_, c, h, w = x.shape
    co, cg, kh, kw = weight.shape
    _, _, ho, wo = offsets.shape
    sh, sw = params["strides"][2], params["strides"][3]
    pt, pl = params["padding"][0], params["padding"][2]
    dh, dw = params["dilations"][2], params["dilations"][3]
    dg, groups = params["deformable_groups"], params["groups"]
    taps = dg * kh * kw
    oh = np.arange(ho, dtype=np.float64)[:, None]
    ow = np.arange(wo, dtype=np.float64)[None, :]
    out = np.zeros((n_, co, ho, wo))
    for n in range(n_):
        terms = np.zeros((c, kh, kw, ho, wo))
        for ch in range(c):
            g = ch // (c // dg)
            img = x[n, ch]
            for i in range(kh):
                for j in range(kw):
                    k = (g * kh + i) * kw + j
                    dx, dy, m = offsets[n, k], offsets[n, taps + k], offsets[n, 2 * taps + k]
                    py = (oh * sh - pt + i * dh) + dy
                    px = (ow * sw - pl + j * dw) + dx
                    inside = (py > -1) & (py < h) & (px > -1) & (px < w)
                    y0 = np.floor(py).astype(np.int64)
                    x0 = np.floor(px).astype(np.int64)
                    ly, lx = py - y0, px - x0

                    def v(a, b):
                        ok = inside & (a >= 0) & (a < h) & (b >= 0) & (b < w)
                        return np.where(ok, img[np.clip(a, 0, h - 1), np.clip(b, 0, w - 1)], 0.0)

                    v00, v01, v10, v11 = v(y0, x0), v(y0, x0 + 1), v(y0 + 1, x0), v(y0 + 1, x0 + 1)
                    dbdy = (1 - lx) * (v10 - v00) + lx * (v11 - v01)
                    dbdx = (1 - ly) * (v01 - v00) + ly * (v11 - v10)
                    terms[ch, i, j] = np.where(inside, np.abs(m) * (np.abs(py) * np.abs(dbdy) + np.abs(px) * np.abs(dbdx)), 0.0)
        for o in range(co):
            grp = o // (co // groups)
            out[n, o] = np.einsum("cij,cijhw->hw", np.abs(weight[o]), terms[grp * cg:(grp + 1) * cg])
    return out


# ---------------------------------------------------------------- frameworks (in workers)

def mindspore_version():
    import mindspore
    return mindspore.__version__, mindspore.get_context("device_target")


def mindspore_call(tensors, params):
    from mindspore import Tensor, ops
    t = {k: (None if v is None else Tensor(v)) for k, v in tensors.items()}
    y = ops.deformable_conv2d(t["x"], t["weight"], t["offsets"], params["kernel_size"], params["strides"],
                              params["padding"], bias=t["bias"], dilations=params["dilations"],
                              groups=params["groups"], deformable_groups=params["deformable_groups"],
                              modulated=params["modulated"])
    return y.asnumpy()      # CPU PyNative is asynchronous: errors may surface here


def mindspore_backward(tensors, params, gy):
    """MindSpore's gradients of ops.deformable_conv2d: GradOperation(get_all=True, sens_param=True)
    with gy (as stored) as the sens, PyNative on CPU, in the case dtype; (gx, gweight, goffsets[, gbias])."""
    from mindspore import Tensor, ops
    t = {k: (None if v is None else Tensor(v)) for k, v in tensors.items()}

    def forward(x, weight, offsets, bias=None):
        return ops.deformable_conv2d(x, weight, offsets, params["kernel_size"], params["strides"], params["padding"],
                                     bias=bias, dilations=params["dilations"], groups=params["groups"],
                                     deformable_groups=params["deformable_groups"], modulated=params["modulated"])

    inputs = [t["x"], t["weight"], t["offsets"]] + ([] if t["bias"] is None else [t["bias"]])
    grads = ops.GradOperation(get_all=True, sens_param=True)(forward)(*inputs, Tensor(gy))
    return [g.asnumpy() for g in grads]


def onnxruntime_version():
    import onnxruntime
    return onnxruntime.__version__, "CPUExecutionProvider"


class NotRun(Exception):
    pass


def onnx_parameters(params, offsets_shape):
    """SPEC parameters -> DeformConv attributes; NotRun where ONNX has no way to say them."""
    def ints(name, length):
        value = params[name]
        if not (isinstance(value, tuple) and all(type(v) is int for v in value)):
            raise NotRun(f"{name} = {value!r} is not a tuple of integers; ONNX attributes are typed ints")
        if len(value) != length:
            raise NotRun(f"{name} has {len(value)} elements; DeformConv's form of it has no equivalent")
        return value
    kernel = ints("kernel_size", 2)
    strides = ints("strides", 4)
    padding = ints("padding", 4)
    dilations = ints("dilations", 4)
    for name, value in (("strides", strides), ("dilations", dilations)):
        if value[0] != 1 or value[1] != 1:
            raise NotRun(f"{name} N/C entries {value[:2]}: ONNX DeformConv has no N or C entries")
    for name in ("groups", "deformable_groups"):
        if type(params[name]) is not int:
            raise NotRun(f"{name} = {params[name]!r} is not an integer; ONNX attributes are typed ints")
    if params["modulated"] is not True:
        raise NotRun(f"modulated = {params['modulated']!r}: ONNX DeformConv has no modulated flag")
    if len(offsets_shape) != 4 or offsets_shape[1] % 3:
        raise NotRun(f"offsets of shape {tuple(offsets_shape)} cannot be split into ONNX's offset and mask")
    return dict(kernel_shape=list(kernel), strides=[strides[2], strides[3]],
                pads=[padding[0], padding[2], padding[1], padding[3]],   # ONNX: top, left, bottom, right
                dilations=[dilations[2], dilations[3]], group=params["groups"],
                offset_group=params["deformable_groups"])


def onnxruntime_call(tensors, params):
    """onnxruntime's CPU DeformConv (opset 19), one-node model with the tensors' own dtypes and
    shapes; offsets in torchvision's layout (ONNX's), pads native (asymmetric allowed)."""
    import onnxruntime as ort
    from onnx import helper
    from onnx.helper import np_dtype_to_tensor_dtype
    attrs = onnx_parameters(params, tensors["offsets"].shape)
    o = tensors["offsets"]
    taps = o.shape[1] // 3
    dx, dy, mask = o[:, :taps], o[:, taps:2 * taps], o[:, 2 * taps:]
    offset = np.ascontiguousarray(np.stack([dy, dx], axis=2).reshape(o.shape[0], 2 * taps, *o.shape[2:]))
    feeds = {"X": tensors["x"], "W": tensors["weight"], "offset": offset, "mask": np.ascontiguousarray(mask)}
    if tensors["bias"] is not None:
        feeds["B"] = tensors["bias"]
    inputs = [helper.make_tensor_value_info(k, np_dtype_to_tensor_dtype(v.dtype), list(v.shape)) for k, v in feeds.items()]
    out = helper.make_tensor_value_info("Y", np_dtype_to_tensor_dtype(tensors["x"].dtype), None)
    node = helper.make_node("DeformConv", ["X", "W", "offset", "B" if "B" in feeds else "", "mask"], ["Y"], **attrs)
    model = helper.make_model(helper.make_graph([node], "deform_conv", inputs, [out]),
                              opset_imports=[helper.make_opsetid("", 19)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


CALLS = {"mindspore": (mindspore_version, mindspore_call), "onnxruntime": (onnxruntime_version, onnxruntime_call)}
BACKWARD_CALLS = {"mindspore": mindspore_backward}      # onnxruntime has no backward


def mindspore_backward_name(version, device, dtype):
    return f"mindspore {version} {device} GradOperation(get_all=True, sens_param=True) in {dtype}"


def torchvision_backward_name(dtype):
    import torchvision
    return (f"torchvision {torchvision.__version__.split('+')[0]} ops.deform_conv2d autograd in {dtype} "
            f"(onnxruntime has no backward)")


def call_result(call, path, save):
    """Runs `call`; the result dict (and the arrays saved to path.npz) for the worker's json."""
    try:
        out = call()
        arrays = out if isinstance(out, (list, tuple)) else [out]
        arrays = [np.asarray(a) for a in arrays]
        np.savez(path + ".npz", *arrays)
        return {"status": "accepted", "shape": [list(a.shape) for a in arrays] if save == "all" else list(arrays[0].shape),
                "dtype": str(arrays[0].dtype)}
    except NotRun as e:
        return {"status": "not run", "error": f"not run: {e}"}
    except Exception as e:                       # noqa: BLE001 -- recording what the framework raised
        return {"status": "raised", "error": describe(e)}


def worker(args):
    """Runs in a subprocess: one framework call on one case, result to --result (npz + json)."""
    version, call = CALLS[args.framework]
    result = {}
    if args.probe:
        v, device = version()
        result = {"version": v, "device": device}
    else:
        with h5py.File(args.input, "r") as f:
            case = f["cases"][args.case]
            tensors = {k: (case[k][...] if k in case else None) for k in INPUT_FIELDS}
            gy = case["gy"][...] if args.backward and "gy" in case else None
            params = case_parameters(case.attrs)
        if not args.no_forward:
            result = call_result(lambda: call(tensors, params), args.result, "first")
        # The forward's result is on disk before the backward runs, so a backward that crashes the
        # process is recorded as the backward's crash, with the forward kept.
        with open(args.result + ".json", "w") as out:
            json.dump(result, out)
        if gy is not None:
            backward = call_result(lambda: BACKWARD_CALLS[args.framework](tensors, params, gy), args.result + "-backward", "all")
            with open(args.result + "-backward.json", "w") as out:
                json.dump(backward, out)
        return 0
    with open(args.result + ".json", "w") as out:
        json.dump(result, out)
    return 0


def load_arrays(path):
    if not os.path.exists(path + ".npz"):
        return None
    with np.load(path + ".npz") as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def run_worker(framework, input_path, case=None, probe=False, backward=False, forward=True):
    """(result dict, output array or None) from a subprocess; crashes and timeouts are results too.
    With `backward` (a case with gy and a framework with a backward), also the backward's
    (result dict, list of gradient arrays or None) as a third and fourth element; the backward
    runs in the same process after the forward's result is written (forward=False: only the backward)."""
    with tempfile.TemporaryDirectory(prefix="dcn-golden-") as tmp:
        result_path = os.path.join(tmp, "result")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--framework", framework,
               "--input", input_path, "--result", result_path]
        cmd += ["--probe"] if probe else ["--case", case]
        cmd += ["--backward"] if backward else []
        cmd += [] if forward else ["--no-forward"]
        env = dict(os.environ, GLOG_v="3", PYTHONWARNINGS="ignore")
        failure = None
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=WORKER_TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            proc, failure = None, {"status": "timeout", "error": f"timeout (after {WORKER_TIMEOUT} s)"}
        if proc is not None and proc.returncode < 0:
            failure = {"status": "crashed", "error": f"crashed: {signal.Signals(-proc.returncode).name}"}
        elif proc is not None and proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            failure = {"status": "crashed", "error": f"crashed: exit status {proc.returncode}: {' | '.join(tail)}"}
        log = []
        if proc is not None:
            log = [line.split("] ", 2)[-1].strip() for line in proc.stderr.decode(errors="replace").splitlines()
                   if line.startswith("[ERROR]")]

        def read(path):
            if not os.path.exists(path + ".json"):
                return dict(failure or {"status": "crashed", "error": "crashed: no result written"}), None
            with open(path + ".json") as f:
                result = json.load(f)
            if log:
                result["log"] = " | ".join(dict.fromkeys(log))[:400]
            return result, load_arrays(path)

        result, arrays = read(result_path)
        y = arrays[0] if arrays else None
        if not backward:
            return result, y
        bw_result, gradients = read(result_path + "-backward")
        return result, y, bw_result, gradients


# ---------------------------------------------------------------- writing

def new_group(parent, name):
    """A group without modification times, so the file bytes do not depend on the clock."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def copy_attributes(src, dst, skip=()):
    """Every attribute with its own HDF5 type and dataspace (string kind, bool enum, widths)."""
    for name in src.attrs:
        if name in skip:
            continue
        aid = h5py.h5a.open(src.id, name.encode())
        dst.attrs.create(name, src.attrs[name], shape=aid.shape, dtype=aid.dtype)


def write_like(group, name, data, like):
    """A new dataset with the storage layout of `like` (an input-file dataset) when there is one."""
    kw = {}
    if like is not None and like.chunks is not None and like.shape == data.shape:
        kw = dict(chunks=like.chunks, compression=like.compression, compression_opts=like.compression_opts,
                  shuffle=like.shuffle)
    elif data.nbytes > 2048:
        kw = dict(chunks=data.shape, compression="gzip", compression_opts=6)
    return group.create_dataset(name, data=data, track_times=False, **kw)


def string_attr(obj, name, value):
    obj.attrs.create(name, value, dtype=h5py.string_dtype())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="a dcn golden file (e.g. vectors/dcn-default.h5)")
    p.add_argument("--framework", required=True, choices=FRAMEWORKS)
    p.add_argument("--out", help="the golden file to write")
    p.add_argument("--self-check-json", metavar="FILE", help="write the self-check numbers (per case) as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--backward", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-forward", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if not args.out:
        p.error("--out is required")
    # The command that made the file (--self-check-json only writes a side file, so it is left out).
    given = list(argv if argv is not None else sys.argv[1:])
    if "--self-check-json" in given:
        i = given.index("--self-check-json")
        del given[i:i + 2]
    given = [a for a in given if not a.startswith("--self-check-json=")]
    command = shlex.join(["python3", os.path.relpath(os.path.abspath(__file__))] + given)

    import torch
    import torchvision
    torch.set_num_threads(1)

    probe, _ = run_worker(args.framework, args.input, probe=True)
    if "version" not in probe:
        sys.exit(f"cannot run {args.framework}: {probe.get('error')}")
    fw_version = probe["version"]
    if args.framework == "mindspore":
        framework_name = f"mindspore {fw_version} {probe['device']}"
        other = ""
    else:
        framework_name = f"onnxruntime {fw_version} CPU DeformConv opset 19"
        other = f", onnx {importlib.metadata.version('onnx')}"
    tv_version = torchvision.__version__.split("+")[0]
    generator = (f"{TOOL} {TOOL_VERSION} ({framework_name}; torch {torch.__version__.split('+')[0]}, torchvision {tv_version}"
                 f"{other}, numpy {np.__version__}, h5py {h5py.__version__}): {command}")
    reference = f"torchvision {tv_version} ops.deform_conv2d in float64 after SPEC section 1's layout conversion"

    tmp_out = args.out + ".partial"
    mismatches = []
    stats = {"valid": 0, "error": 0, "framework_outputs": 0, "backward": 0, "framework_gradients": 0,
             "backward_errors": 0}
    framework = {"name": framework_name, "version": fw_version, "device": probe.get("device")}
    with h5py.File(args.input, "r") as src, h5py.File(tmp_out, "w", libver=("earliest", "v110"), track_order=False) as dst:
        copy_attributes(src, dst, skip=("generator", "reference"))
        string_attr(dst, "generator", generator)
        string_attr(dst, "reference", reference)
        string_attr(dst, "input_generator", str(as_python(src.attrs.get("generator", ""))))
        cases_out = new_group(dst, "cases")
        for name, case in src["cases"].items():
            out = new_group(cases_out, name)
            copy_attributes(case, out)
            for field in case:
                if field not in OUTPUT_FIELDS:
                    src.copy(case[field], out, name=field)       # H5Ocopy: type, layout, filters, fill unchanged
            expect = as_python(case.attrs["expect"])
            if expect == "ok":
                stats["valid"] += 1
                mismatch = valid_case(args, name, case, out, framework, stats)
                if mismatch:
                    mismatches.append(mismatch)
            else:
                stats["error"] += 1
                error_case(args, name, case, out, framework)
            backward = ""
            if "gy" in case:
                backward = "; backward " + str(out.attrs.get("framework_backward_error", "ok"))
            print(f"{name}: {out.attrs.get('framework_error', 'ok')}{backward}", file=sys.stderr)
    if args.self_check_json:
        with open(args.self_check_json, "w") as f:
            json.dump({"tolerance": SELF_CHECK_TOLERANCE,
                       "scale": "y_abs of the input file (y_pos: itself); gradients: max |input tensor| per tensor",
                       "worst": worst_self_check(), "cases": SELF_CHECK}, f, indent=1)
    if mismatches:
        os.remove(tmp_out)
        print("self-check FAILED (torchvision vs the input file's y / y_abs / y_pos, relative to y_abs):", file=sys.stderr)
        for m in mismatches:
            print("  " + m, file=sys.stderr)
        return 1
    if SELF_CHECK:
        worst = worst_self_check()
        print(f"self-check passed on {len(SELF_CHECK)} cases: worst |torchvision - input| / y_abs: "
              + ", ".join(f"{k} {worst[k]:.3g}" for k in ("y", "y_abs", "y_pos")), file=sys.stderr)
        counted = sum(1 for c in SELF_CHECK.values() if "gx" in c)
        if counted:
            print(f"self-check passed on {counted} backward cases: worst |torchvision float64 - input| / max |input| per tensor: "
                  + ", ".join(f"{k} {worst[k]:.3g}" for k in GRADIENT_PARTS if k in worst), file=sys.stderr)
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out}: {stats['valid']} valid cases ({stats['framework_outputs']} with y_framework; "
          f"{stats['backward']} with gy, {stats['framework_gradients']} with g*_framework, {stats['backward_errors']} "
          f"whose backward failed), {stats['error']} error cases", file=sys.stderr)
    return 0


SELF_CHECK = {}      # case -> {"y": worst, "y_abs": worst, "y_pos": worst, "gx": worst, ...}, printed by --self-check-json


def worst_self_check():
    keys = ("y", "y_abs", "y_pos") + GRADIENT_PARTS
    return {k: max(c[k] for c in SELF_CHECK.values() if k in c) for k in keys
            if any(k in c for c in SELF_CHECK.values())}


def backward_name(args, framework, dtype):
    if args.framework == "mindspore":
        return mindspore_backward_name(framework["version"], framework["device"], dtype)
    return torchvision_backward_name(dtype)


def torchvision_framework_backward(tensors, params, gy):
    """The onnxruntime file's g*_framework: torchvision's autograd in the case dtype (x's), gy as
    stored; a (result dict, gradient list or None) like a worker's. Runs in this process (torch
    is already here; onnxruntime never is)."""
    try:
        grads = torchvision_gradients(tensors["x"], tensors["weight"], tensors["offsets"], tensors["bias"], gy, params,
                                      tensors["x"].dtype)
        grads = [g for g in grads if g is not None]
        return {"status": "accepted", "shape": [list(g.shape) for g in grads], "dtype": str(grads[0].dtype)}, grads
    except Exception as e:                       # noqa: BLE001 -- recording what torch raised
        return {"status": "raised", "error": describe(e)}, None


def framework_backward(args, name, tensors, params, gy, forward=True):
    """(forward result, y or None, backward result, gradients or None) for a case with gy."""
    if args.framework == "mindspore":
        return run_worker(args.framework, args.input, case=name, backward=True, forward=forward)
    result, y = run_worker(args.framework, args.input, case=name) if forward else ({}, None)
    return (result, y) + torchvision_framework_backward(tensors, params, gy)


def backward_error_text(result):
    if result["status"] == "accepted":
        return "accepted"
    return result.get("error", result.get("status"))


def valid_case(args, name, case, out, framework, stats):
    framework_name = framework["name"]
    tensors = {k: (case[k][...] if k in case else None) for k in INPUT_FIELDS}
    params = case_parameters(case.attrs)
    y = torchvision_eval(tensors["x"], tensors["weight"], tensors["offsets"], tensors["bias"], params)
    y_abs = y_abs_torchvision(tensors["x"], tensors["weight"], tensors["offsets"], tensors["bias"], params)
    y_pos = y_pos_numpy(tensors["x"], tensors["weight"], tensors["offsets"], params)
    gy = case["gy"][...] if "gy" in case else None
    grads = None
    if gy is not None:
        gx, gweight, goffsets, gbias = torchvision_gradients(tensors["x"], tensors["weight"], tensors["offsets"],
                                                             tensors["bias"], gy, params, np.float64)
        grads = {"gx": gx, "gweight": gweight, "goffsets": goffsets}
        if gbias is not None:
            grads["gbias"] = gbias
    problem = None
    if "y" in case and "y_abs" in case:
        scale = np.maximum(case["y_abs"][...], 1e-300)
        check = {"y": float(np.max(np.abs(y - case["y"][...]) / scale)),
                 "y_abs": float(np.max(np.abs(y_abs - case["y_abs"][...]) / scale))}
        if "y_pos" in case:
            pos = case["y_pos"][...]
            check["y_pos"] = float(np.max(np.abs(y_pos - pos) / np.maximum(np.maximum(pos, y_pos), 1e-300)))
        shapes_differ = case["y"].shape != y.shape
        if grads is not None and all(g in case for g in grads):
            kh, kw = params["kernel_size"]
            taps = params["deformable_groups"] * kh * kw
            mine = gradient_parts(grads["gx"], grads["gweight"], grads["goffsets"], grads.get("gbias"), taps)
            theirs = gradient_parts(case["gx"][...], case["gweight"][...], case["goffsets"][...],
                                    case["gbias"][...] if "gbias" in grads else None, taps)
            for part, value in mine.items():
                if value.shape != theirs[part].shape:
                    shapes_differ = True
                    continue
                scale = max(float(np.max(np.abs(theirs[part]))) if theirs[part].size else 0.0, 1e-300)
                check[part] = float(np.max(np.abs(value - theirs[part]))) / scale if value.size else 0.0
        elif grads is not None:
            shapes_differ = True        # gy without the input file's gradients: nothing to check against
        SELF_CHECK[name] = check
        bad = {k: v for k, v in check.items() if not v <= SELF_CHECK_TOLERANCE}
        if bad or shapes_differ:
            problem = f"{name}: " + ", ".join(f"max |{k} - input {k}| / scale = {v:.3g}" for k, v in bad.items()) \
                + (" (shapes differ, or the input lacks gradients)" if shapes_differ else "")
    for field, data in (("y", y), ("y_abs", y_abs), ("y_pos", y_pos)):
        write_like(out, field, data, case[field] if field in case else None)
    for field, data in (grads or {}).items():
        write_like(out, field, data, case[field] if field in case else None)

    dtype = tensors["x"].dtype
    if gy is not None:
        stats["backward"] += 1
    if args.framework == "onnxruntime" and dtype != np.float32:
        string_attr(out, "framework_note", f"onnxruntime not run: this file compares onnxruntime's float32 path only "
                                           f"({dtype} case); y is torchvision's")
        if gy is not None:
            _, _, bw_result, gradients = framework_backward(args, name, tensors, params, gy, forward=False)
            record_gradients(out, case, framework, args, dtype, bw_result, gradients, stats)
        return problem
    if gy is not None:
        result, y_fw, bw_result, gradients = framework_backward(args, name, tensors, params, gy)
    else:
        result, y_fw = run_worker(args.framework, args.input, case=name)
    if y_fw is None:
        string_attr(out, "framework_error", result.get("error", result.get("status")))
        string_attr(out, "framework_note", f"{framework_name} failed on a valid case")
    else:
        write_like(out, "y_framework", y_fw, case["y"] if "y" in case else None)
        string_attr(out, "framework", framework_name)
        if y_fw.dtype != dtype or y_fw.shape != y.shape:
            string_attr(out, "framework_note", f"output {y_fw.dtype} {tuple(y_fw.shape)}, expected {dtype} {tuple(y.shape)}")
        stats["framework_outputs"] += 1
    if gy is not None:
        record_gradients(out, case, framework, args, dtype, bw_result, gradients, stats)
    return problem


def record_gradients(out, case, framework, args, dtype, result, gradients, stats):
    """g*_framework and `framework_backward` on a valid case; `framework_backward_error` instead
    when the backward raised, crashed, timed out or returned the wrong number of gradients."""
    string_attr(out, "framework_backward", backward_name(args, framework, dtype))
    fields = [f for f in GRADIENT_FIELDS if f in case]
    if gradients is None or len(gradients) != len(fields):
        text = backward_error_text(result) if gradients is None else \
            f"crashed: the backward returned {len(gradients)} gradients, the case has {len(fields)}"
        string_attr(out, "framework_backward_error", text)
        if result.get("log"):
            string_attr(out, "framework_backward_note", f"error log: {result['log']}")
        stats["backward_errors"] += 1
        return
    notes = []
    for field, data in zip(fields, gradients):
        write_like(out, field + "_framework", data, case[field])
        if data.dtype != dtype or data.shape != case[field].shape:
            notes.append(f"{field}_framework {data.dtype} {tuple(data.shape)}, expected {dtype} {tuple(case[field].shape)}")
    if notes:
        string_attr(out, "framework_backward_note", "; ".join(notes))
    stats["framework_gradients"] += 1


def error_case(args, name, case, out, framework):
    size = declared_bytes(case)
    if size > NOT_RUN_BYTES:
        string_attr(out, "framework_error", f"not run: would allocate {size} bytes")
        if "gy" in case:
            string_attr(out, "framework_backward_error", f"not run: would allocate {size} bytes")
        return
    if "gy" in case:
        # The backward-only error cases (SPEC section 7's validation): the forward as for every
        # error case, then the backward call with the stored gy.
        tensors = {k: (case[k][...] if k in case else None) for k in INPUT_FIELDS}
        result, _, bw_result, _ = framework_backward(args, name, tensors, case_parameters(case.attrs), case["gy"][...])
        string_attr(out, "framework_backward", backward_name(args, framework, tensors["x"].dtype))
        string_attr(out, "framework_backward_error", backward_error_text(bw_result))
        if bw_result["status"] == "accepted":
            string_attr(out, "framework_backward_note", f"returned {bw_result['dtype']} gradients of shapes "
                                                        f"{', '.join(str(tuple(s)) for s in bw_result['shape'])}")
        elif bw_result.get("log"):
            string_attr(out, "framework_backward_note", f"error log: {bw_result['log']}")
    else:
        result, _ = run_worker(args.framework, args.input, case=name)
    if result["status"] == "accepted":
        string_attr(out, "framework_error", "accepted")
        string_attr(out, "framework_note", f"returned {result['dtype']} of shape {tuple(result['shape'])}")
    else:
        string_attr(out, "framework_error", result["error"])
        if result.get("log"):
            string_attr(out, "framework_note", f"error log: {result['log']}")


if __name__ == "__main__":
    sys.exit(main())
