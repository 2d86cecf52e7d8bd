#!/usr/bin/env python3
"""Time other libraries' deformable convolution on dcn's problem descriptors.

Peers: onnxruntime's CPU DeformConv (opset 19), torchvision's ops.deform_conv2d
and MindSpore's ops.deformable_conv2d, each on the same descriptors, the same
thread count and the same method as `dcn bench`: one warm-up run that also
measures peak extra memory, more warm-up runs if asked, then timed runs until
--runs are done or the --max-seconds budget of the (shape, peer) pair is spent
(never fewer than --min-runs). Median and minimum wall time of one call;
GFLOP/s = 2*N*Co*(C/groups)*kh*kw*Ho*Wo / median (SPEC section 5).

With --pass backward (or both) the backward is timed too, gy drawn after the
inputs from the same seeded generator: torchvision's autograd backward of
deform_conv2d (every input requiring grad; the forward is run once when the
shape is prepared, only torch.autograd.grad(y, inputs, gy) is timed) and
MindSpore's GradOperation(get_all=True, sens_param=True), which runs the
forward again inside every call. onnxruntime has no backward: a skip. Backward
results have "pass": "backward" and GFLOP/s = 4*N*Co*(C/groups)*kh*kw*Ho*Wo
/ median (the two GEMMs).

Writes JSON in the schema of `dcn bench --json` (kernel names "onnxruntime",
"torchvision", "mindspore", their versions in "version"); `dcn bench --peers
FILE` merges it, `dcn bench --run-peers` runs this script itself. A peer that
is not installed, or fails on a shape, is listed under "skipped" with the
reason, never dropped silently.

Each peer runs in its own subprocess, so that one framework's thread pools,
allocator or a crash cannot affect another's numbers.

Usage: python3 tools/bench/peers.py [--shape DESC ...] [--peer NAME ...]
           [--threads N] [--json FILE] [--runs N] [--min-runs N]
           [--max-seconds S] [--warmup N] [--seed N] [--pass forward|backward|both]
"""

import argparse
import ctypes
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

PEERS = ["onnxruntime", "torchvision", "mindspore"]

STANDARD_SHAPES = [
    "r50-c3:mb1ic128ih64oc128kh3ph1pw1",
    "r50-c4:mb1ic256ih32oc256kh3ph1pw1",
    "r50-c5:mb1ic512ih16oc512kh3ph1pw1",
    "b8-c64:mb8ic64ih56oc64kh3ph1pw1",
    "g4dg4:mb1ic256ih32oc256kh3ph1pw1g4dg4",
    "s2-d2:mb1ic128ih64oc128kh3sh2ph2pw2dh2dg2",
]

KEYS = ["mb", "ic", "ih", "iw", "oc", "kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr", "dh", "dw", "g", "dg", "ph", "pw"]

MEMORY_METHOD = ("VmHWM after the run minus VmRSS before it, peak reset by writing 5 to /proc/self/clear_refs "
                 "after malloc_trim(0) (Linux); includes the output array")


# ---------------------------------------------------------------- descriptors

class DescriptorError(ValueError):
    pass


class Shape:
    """A parsed problem descriptor (SPEC section 5), mirroring dcn's ProblemDescriptor."""

    def __init__(self, text):
        self.text = text
        self.name = None
        body = text
        if ":" in text:
            self.name, body = text.split(":", 1)
            if not self.name or not re.fullmatch(r"[A-Za-z0-9._-]+", self.name):
                raise DescriptorError(f"invalid problem descriptor '{text}': the name before ':' must be letters, digits, '-', '_' or '.'")
        values = {}
        rest = body
        while rest:
            key = re.match(r"[a-z]*", rest).group()
            rest = rest[len(key):]
            digits = re.match(r"[0-9]*", rest).group()
            rest = rest[len(digits):]
            if key not in KEYS:
                raise DescriptorError(f"invalid problem descriptor '{text}': unknown key '{key or rest[:1]}'; keys are {', '.join(KEYS)}")
            if not digits:
                raise DescriptorError(f"invalid problem descriptor '{text}': key '{key}' needs a non-negative integer value")
            if key in values:
                raise DescriptorError(f"invalid problem descriptor '{text}': key '{key}' is given twice")
            values[key] = int(digits)
        for short, (a, b) in (("ph", ("pt", "pb")), ("pw", ("pl", "pr"))):
            if short in values:
                if a in values or b in values:
                    raise DescriptorError(f"invalid problem descriptor '{text}': '{short}' cannot be combined with '{a}' or '{b}'")
                values[a] = values[b] = values.pop(short)
        for required in ("ic", "ih", "oc", "kh"):
            if required not in values:
                raise DescriptorError(f"invalid problem descriptor '{text}': key '{required}' is required")
        self.n = values.get("mb", 1)
        self.c = values["ic"]
        self.h = values["ih"]
        self.w = values.get("iw", self.h)
        self.co = values["oc"]
        self.kh = values["kh"]
        self.kw = values.get("kw", self.kh)
        self.sh = values.get("sh", 1)
        self.sw = values.get("sw", self.sh)
        self.pt, self.pb = values.get("pt", 0), values.get("pb", 0)
        self.pl, self.pr = values.get("pl", 0), values.get("pr", 0)
        self.dh = values.get("dh", 1)
        self.dw = values.get("dw", self.dh)
        self.g = values.get("g", 1)
        self.dg = values.get("dg", 1)
        for label, value in (("kh", self.kh), ("kw", self.kw), ("sh", self.sh), ("sw", self.sw), ("dh", self.dh),
                             ("dw", self.dw), ("g", self.g), ("dg", self.dg), ("mb", self.n), ("ic", self.c), ("oc", self.co)):
            if value < 1:
                raise DescriptorError(f"problem descriptor '{text}': {label} must be at least 1")
        if self.c % self.g or self.co % self.g or self.c % self.dg:
            raise DescriptorError(f"problem descriptor '{text}': ic and oc must be divisible by g, ic by dg")
        self.ho = (self.h + self.pt + self.pb - (self.dh * (self.kh - 1) + 1)) // self.sh + 1
        self.wo = (self.w + self.pl + self.pr - (self.dw * (self.kw - 1) + 1)) // self.sw + 1
        if self.ho < 1 or self.wo < 1:
            raise DescriptorError(f"problem descriptor '{text}': the output would be empty")

    @property
    def taps(self):
        """K = dg*kh*kw."""
        return self.dg * self.kh * self.kw

    @property
    def flops(self):
        return 2.0 * self.n * self.co * (self.c // self.g) * self.kh * self.kw * self.ho * self.wo

    @property
    def canonical(self):
        parts = []

        def add(key, value, omitted):
            if not omitted:
                parts.append(f"{key}{value}")
        add("mb", self.n, self.n == 1)
        add("ic", self.c, False)
        add("ih", self.h, False)
        add("iw", self.w, self.w == self.h)
        add("oc", self.co, False)
        add("kh", self.kh, False)
        add("kw", self.kw, self.kw == self.kh)
        add("sh", self.sh, self.sh == 1)
        add("sw", self.sw, self.sw == self.sh)
        if self.pt == self.pb:
            add("ph", self.pt, self.pt == 0)
        else:
            add("pt", self.pt, False)
            add("pb", self.pb, False)
        if self.pl == self.pr:
            add("pw", self.pl, self.pl == 0)
        else:
            add("pl", self.pl, False)
            add("pr", self.pr, False)
        add("dh", self.dh, self.dh == 1)
        add("dw", self.dw, self.dw == self.dh)
        add("g", self.g, self.g == 1)
        add("dg", self.dg, self.dg == 1)
        body = "".join(parts)
        return f"{self.name}:{body}" if self.name else body


# ---------------------------------------------------------------- inputs

def make_inputs(shape, seed):
    """float32 inputs in MindSpore's layout: x, weight uniform in [-1, 1); offsets (N, 3K, Ho, Wo)
    with dx and dy uniform in [-2, 2] and masks in [0, 1)."""
    import numpy as np
    return draw_inputs(np.random.default_rng(seed), shape)


def make_inputs_and_gradient(shape, seed):
    """The inputs, then gy (N, Co, Ho, Wo) uniform in [-1, 1) from the same generator."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x, weight, offsets = draw_inputs(rng, shape)
    gy = rng.uniform(-1, 1, (shape.n, shape.co, shape.ho, shape.wo)).astype(np.float32)
    return x, weight, offsets, gy


def draw_inputs(rng, shape):
    """x, weight and offsets drawn in this order from rng (make_inputs' layout and ranges)."""
    import numpy as np
    x = rng.uniform(-1, 1, (shape.n, shape.c, shape.h, shape.w)).astype(np.float32)
    weight = rng.uniform(-1, 1, (shape.co, shape.c // shape.g, shape.kh, shape.kw)).astype(np.float32)
    k = shape.taps
    shifts = rng.uniform(-2, 2, (shape.n, 2 * k, shape.ho, shape.wo))
    masks = rng.uniform(0, 1, (shape.n, k, shape.ho, shape.wo))
    offsets = np.concatenate([shifts, masks], axis=1).astype(np.float32)
    return x, weight, offsets


def torchvision_layout(offsets, taps):
    """SPEC section 1: MindSpore channel k is dx = torchvision 2k+1, K+k is dy = 2k, 2K+k is mask k."""
    import numpy as np
    n, _, ho, wo = offsets.shape
    dx, dy, mask = offsets[:, :taps], offsets[:, taps:2 * taps], offsets[:, 2 * taps:]
    pairs = np.empty((n, 2 * taps, ho, wo), dtype=offsets.dtype)
    pairs[:, 0::2] = dy
    pairs[:, 1::2] = dx
    return np.ascontiguousarray(pairs), np.ascontiguousarray(mask)


# ---------------------------------------------------------------- peers

class Unsupported(Exception):
    """A shape this peer cannot run, with the reason."""


class OnnxRuntimePeer:
    name = "onnxruntime"

    def __init__(self, threads):
        import onnxruntime as ort
        self.ort = ort
        self.threads = threads
        self.version = ort.__version__

    def prepare(self, shape, x, weight, offsets):
        import onnx
        from onnx import TensorProto, helper
        offset, mask = torchvision_layout(offsets, shape.taps)
        node = helper.make_node(
            "DeformConv", ["X", "W", "offset", "", "mask"], ["Y"],
            kernel_shape=[shape.kh, shape.kw], strides=[shape.sh, shape.sw],
            pads=[shape.pt, shape.pl, shape.pb, shape.pr],  # ONNX: (top, left, bottom, right)
            dilations=[shape.dh, shape.dw], group=shape.g, offset_group=shape.dg)

        def info(name, array):
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(array.shape))
        graph = helper.make_graph(
            [node], "deform_conv",
            [info("X", x), info("W", weight), info("offset", offset), info("mask", mask)],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [shape.n, shape.co, shape.ho, shape.wo])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        model.ir_version = min(model.ir_version, 9)
        onnx.checker.check_model(model)
        options = self.ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
        session = self.ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feeds = {"X": x, "W": weight, "offset": offset, "mask": mask}
        return lambda: session.run(None, feeds)

    # An inference runtime: no prepare_backward, DeformConv has no gradient there (run_peer lists that once as a skip).


class TorchvisionPeer:
    name = "torchvision"

    def __init__(self, threads):
        import torch
        import torchvision
        from torchvision.ops import deform_conv2d
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set: harmless, the call is a single op
        self.torch = torch
        self.deform_conv2d = deform_conv2d
        self.version = f"{torchvision.__version__} (torch {torch.__version__})"

    def prepare(self, shape, x, weight, offsets):
        if shape.pt != shape.pb or shape.pl != shape.pr:
            raise Unsupported("torchvision has symmetric padding only")
        torch = self.torch
        offset, mask = torchvision_layout(offsets, shape.taps)
        tx, tw = torch.from_numpy(x), torch.from_numpy(weight)
        to, tm = torch.from_numpy(offset), torch.from_numpy(mask)

        def run():
            with torch.inference_mode():
                return self.deform_conv2d(tx, to, tw, None, stride=(shape.sh, shape.sw), padding=(shape.pt, shape.pl),
                                          dilation=(shape.dh, shape.dw), mask=tm)
        return run

    def prepare_backward(self, shape, x, weight, offsets, gy):
        if shape.pt != shape.pb or shape.pl != shape.pr:
            raise Unsupported("torchvision has symmetric padding only")
        torch = self.torch
        offset, mask = torchvision_layout(offsets, shape.taps)
        leaves = [torch.from_numpy(a).requires_grad_(True) for a in (x, offset, weight, mask)]
        tx, to, tw, tm = leaves
        y = self.deform_conv2d(tx, to, tw, None, stride=(shape.sh, shape.sw), padding=(shape.pt, shape.pl),
                               dilation=(shape.dh, shape.dw), mask=tm)
        tgy = torch.from_numpy(gy)

        def run():
            # Only the backward: the graph is kept between calls, and autograd.grad returns the
            # gradients without accumulating them into .grad.
            return torch.autograd.grad(y, leaves, tgy, retain_graph=True)
        return run


class MindSporePeer:
    name = "mindspore"

    def __init__(self, threads):
        import mindspore as ms
        ms.set_device("CPU")
        # The default is 25 threads whatever the machine; it can be set once per process.
        ms.device_context.cpu.op_tuning.threads_num(threads)
        self.ms = ms
        self.version = ms.__version__

    def prepare(self, shape, x, weight, offsets):
        from mindspore import Tensor, ops
        tx, tw, to = Tensor(x), Tensor(weight), Tensor(offsets)

        def run():
            y = ops.deformable_conv2d(tx, tw, to, (shape.kh, shape.kw), (1, 1, shape.sh, shape.sw),
                                      (shape.pt, shape.pb, shape.pl, shape.pr), dilations=(1, 1, shape.dh, shape.dw),
                                      groups=shape.g, deformable_groups=shape.dg, modulated=True)
            # PyNative launches asynchronously and ms.runtime.synchronize() is a no-op on CPU:
            # reading the result back is what waits for it (a copy of the output, small next to the op).
            return y.asnumpy()
        return run

    def prepare_backward(self, shape, x, weight, offsets, gy):
        from mindspore import Tensor, ops

        def forward(tx, tw, to):
            return ops.deformable_conv2d(tx, tw, to, (shape.kh, shape.kw), (1, 1, shape.sh, shape.sw),
                                         (shape.pt, shape.pb, shape.pl, shape.pr), dilations=(1, 1, shape.dh, shape.dw),
                                         groups=shape.g, deformable_groups=shape.dg, modulated=True)
        grad = ops.GradOperation(get_all=True, sens_param=True)(forward)
        tx, tw, to, tgy = Tensor(x), Tensor(weight), Tensor(offsets), Tensor(gy)

        def run():
            # GradOperation runs the forward inside the call; reading every gradient back waits for them.
            return [g.asnumpy() for g in grad(tx, tw, to, tgy)]
        return run


PEER_CLASSES = {"onnxruntime": OnnxRuntimePeer, "torchvision": TorchvisionPeer, "mindspore": MindSporePeer}
IMPORT_NAMES = {"onnxruntime": "onnxruntime, onnx", "torchvision": "torch, torchvision", "mindspore": "mindspore"}


# ---------------------------------------------------------------- measurement

def status_bytes(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_probe_available():
    return os.access("/proc/self/clear_refs", os.W_OK) and status_bytes("VmHWM") is not None


def measure_memory(body):
    """Runs body once; returns (result, peak extra resident bytes or None). Same method as dcn's MemoryProbe."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
    before = status_bytes("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return body(), None
    result = body()
    peak = status_bytes("VmHWM")
    if before is None or peak is None:
        return result, None
    return result, max(0, peak - before)


def measure(run, settings):
    """Warm-up, then timed runs until `runs` are done or the budget is spent (dcn's BenchRunner.measure)."""
    start = time.perf_counter()
    t0 = time.perf_counter()
    output, extra = measure_memory(run)
    del output
    last = time.perf_counter() - t0
    seconds, warmups, cut = [], 0, []
    if settings.warmup == 0:
        seconds.append(last)
    else:
        warmups = 1
        while warmups < settings.warmup and time.perf_counter() - start + last <= settings.max_seconds:
            t0 = time.perf_counter()
            run()
            last = time.perf_counter() - t0
            warmups += 1
        if warmups < settings.warmup:
            cut.append(f"{warmups} of {settings.warmup} warm-up runs within the {settings.max_seconds:.3g} s budget")
    while len(seconds) < settings.runs:
        if len(seconds) >= settings.min_runs and time.perf_counter() - start + last > settings.max_seconds:
            break
        t0 = time.perf_counter()
        run()
        last = time.perf_counter() - t0
        seconds.append(last)
    if len(seconds) < settings.runs:
        cut.append(f"{len(seconds)} of {settings.runs} runs within the {settings.max_seconds:.3g} s budget "
                   f"(one run takes {last:.3g} s)")
    return seconds, warmups, extra, ("; ".join(cut) or None)


def run_peer(name, shapes, settings):
    """Times one peer on every shape in this process; returns (results, skipped)."""
    results, skipped = [], []
    try:
        peer = PEER_CLASSES[name](settings.threads)
    except ImportError as error:
        return [], [{"kernel": name, "reason": f"not installed ({IMPORT_NAMES[name]}): {error}"}]
    except Exception as error:  # a framework that imports but cannot start is skipped, with the reason
        return [], [{"kernel": name, "reason": f"cannot start: {type(error).__name__}: {error}"}]
    passes = ["forward", "backward"] if settings.pass_ == "both" else [settings.pass_]
    if "backward" in passes and not hasattr(peer, "prepare_backward"):
        skipped.append({"kernel": name, "pass": "backward", "reason": f"{name} has no backward for DeformConv (an inference runtime)"})
        print(f"{name} backward skipped: {name} has no backward for DeformConv", flush=True)
        passes.remove("backward")
    for index, shape in enumerate(shapes):
        label = shape.name or shape.canonical
        for pass_ in passes:
            backward = pass_ == "backward"
            tag = f"{name} backward" if backward else name
            print(f"[{index + 1}/{len(shapes)}] {label} × {tag}…", file=sys.stderr, flush=True)
            try:
                if backward:
                    x, weight, offsets, gy = make_inputs_and_gradient(shape, settings.seed)
                    run = peer.prepare_backward(shape, x, weight, offsets, gy)
                else:
                    x, weight, offsets = make_inputs(shape, settings.seed)
                    run = peer.prepare(shape, x, weight, offsets)
                seconds, warmups, extra, cut = measure(run, settings)
            except Unsupported as error:
                skip = {"shape": shape.canonical, "kernel": name, "reason": str(error)}
                if backward:
                    skip["pass"] = "backward"
                skipped.append(skip)
                print(f"{label}  {tag}  skipped: {error}", flush=True)
                continue
            except Exception as error:
                skip = {"shape": shape.canonical, "kernel": name, "reason": f"failed: {type(error).__name__}: {error}"}
                if backward:
                    skip["pass"] = "backward"
                skipped.append(skip)
                print(f"{label}  {tag}  failed: {type(error).__name__}: {error}", flush=True)
                continue
            flops = 2 * shape.flops if backward else shape.flops
            output_count = (shape.n * shape.c * shape.h * shape.w + shape.co * (shape.c // shape.g) * shape.kh * shape.kw
                            + shape.n * 3 * shape.taps * shape.ho * shape.wo) if backward else shape.n * shape.co * shape.ho * shape.wo
            median, best = statistics.median(seconds), min(seconds)
            result = {
                "shape": shape.canonical, "kernel": name, "threads": settings.threads,
                "median_ms": median * 1e3, "min_ms": best * 1e3,
                "gflops": flops / median / 1e9, "gflops_best": flops / best / 1e9,
                "flops": flops, "runs": len(seconds), "warmup_runs": warmups,
                "peak_extra_bytes": extra, "output_bytes": 4 * output_count,
                "cut_short": cut, "source": "peer", "version": peer.version, "pass": pass_,
            }
            results.append(result)
            line = (f"{label}  {tag}  {settings.threads} thread{'s' if settings.threads != 1 else ''}  "
                    f"median {result['median_ms']:.3f} ms  min {result['min_ms']:.3f} ms  {result['gflops']:.2f} GFLOP/s  "
                    f"{len(seconds)} run{'s' if len(seconds) != 1 else ''}")
            if extra is not None:
                line += f"  extra {extra / 1048576:.1f} MiB"
            if cut:
                line += f"  (cut short: {cut})"
            print(line, flush=True)
    return results, skipped


# ---------------------------------------------------------------- report

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def core_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def machine(threads):
    return {
        "cpu": cpu_model(), "cores": core_count(), "threads": threads, "os": os_name(),
        "memory_method": MEMORY_METHOD if memory_probe_available() else "unavailable on this system",
        "runtime": f"python {platform.python_version()}",
    }


def run_in_subprocess(name, args):
    """Runs this script for one peer in a fresh interpreter; a crash becomes a skip with the reason."""
    fd, path = tempfile.mkstemp(prefix=f"dcn-peer-{name}-", suffix=".json")
    os.close(fd)
    try:
        command = [sys.executable, os.path.abspath(__file__), "--one-peer", name, "--json", path,
                   "--threads", str(args.threads), "--warmup", str(args.warmup), "--runs", str(args.runs),
                   "--min-runs", str(args.min_runs), "--max-seconds", str(args.max_seconds), "--seed", str(args.seed),
                   "--pass", args.pass_]
        for shape in args.shape:
            command += ["--shape", shape]
        completed = subprocess.run(command)
        if completed.returncode != 0:
            how = (f"signal {-completed.returncode}" if completed.returncode < 0 else f"status {completed.returncode}")
            return [], [{"kernel": name, "reason": f"the {name} subprocess exited with {how}"}]
        with open(path) as f:
            report = json.load(f)
        return report["results"], report["skipped"]
    finally:
        os.unlink(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", help="problem descriptor (repeatable; default: dcn's standard list)")
    parser.add_argument("--peer", action="append", choices=PEERS, help="peer to time (repeatable; default: all)")
    parser.add_argument("--threads", type=int, default=core_count(), help="intra-op threads (default: one per core)")
    parser.add_argument("--json", help="write the results here (default: stdout)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--min-runs", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--pass", dest="pass_", choices=["forward", "backward", "both"], default="forward",
                        help="the pass to time (default: forward)")
    parser.add_argument("--canonical", action="store_true", help="print the shapes in canonical form and exit")
    parser.add_argument("--one-peer", choices=PEERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.shape = args.shape or STANDARD_SHAPES

    def usage(message):
        print(f"error: {message}", file=sys.stderr)
        return 2

    if args.threads < 1:
        return usage(f"--threads must be at least 1, got {args.threads}")
    if args.runs < 1 or not 1 <= args.min_runs <= args.runs or args.warmup < 0 or not args.max_seconds > 0:
        return usage("need --runs ≥ 1, 1 ≤ --min-runs ≤ --runs, --warmup ≥ 0, --max-seconds > 0")
    try:
        shapes = [Shape(text) for text in args.shape]
    except DescriptorError as error:
        return usage(str(error))
    if args.canonical:
        for shape in shapes:
            print(shape.canonical)
        return 0

    settings = argparse.Namespace(threads=args.threads, warmup=args.warmup, runs=args.runs, min_runs=args.min_runs,
                                  max_seconds=args.max_seconds, seed=args.seed, pass_=args.pass_)
    if args.one_peer:
        results, skipped = run_peer(args.one_peer, shapes, settings)
    else:
        results, skipped = [], []
        for name in args.peer or PEERS:
            peer_results, peer_skipped = run_in_subprocess(name, args)
            results += peer_results
            skipped += peer_skipped
            for skip in peer_skipped:
                if "shape" not in skip:
                    print(f"{name} skipped: {skip['reason']}", flush=True)
    report = {
        "machine": machine(args.threads),
        "results": results,
        "skipped": skipped,
        "settings": {"warmup_runs": args.warmup, "runs": args.runs, "min_runs": args.min_runs,
                     "max_seconds": args.max_seconds, "seed": args.seed},
        "command": " ".join(["peers.py"] + (argv if argv is not None else sys.argv[1:])),
        "notes": [],
    }
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    elif not args.one_peer:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
