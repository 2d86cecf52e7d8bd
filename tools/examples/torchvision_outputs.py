#!/usr/bin/env python3
"""Run torchvision's deform_conv2d on every case of a dcn golden file and write a dcn outputs file.

    python3 tools/examples/torchvision_outputs.py vectors/dcn-default.h5 OUT.h5
    dcn verify vectors/dcn-default.h5 --outputs OUT.h5

A worked example of a foreign harness: it reads the golden file with h5py (SPEC.md section 4),
converts MindSpore's layout to torchvision's (SPEC section 1), calls
torchvision.ops.deform_conv2d in the case's dtype (float32 or float16) on the CPU, and writes
what came back in the outputs-file format `dcn verify --outputs` scores (README, "Outputs files"):

    root attributes  format = "dcn-outputs", format_version = 1, producer, golden, kernel, u_acc, u_s
    /cases/<name>/y  the output, (N, Co, Ho, Wo), any float type
    /cases/<name>    attributes error_class [, error_code, error_message] when the call raised

Layout conversion (SPEC section 1): with K = dg*kh*kw, MindSpore offset channel k (dx) is
torchvision offset channel 2k+1, channel K+k (dy) is 2k, channel 2K+k is mask channel k.
torchvision pads symmetrically only, so x is zero-padded explicitly (top, bottom, left, right)
and torchvision gets padding 0: bilinear sampling with zeros outside gives the same result.

Error cases are recorded honestly: the bad call is made on torchvision as far as its API can
express it, and whatever torchvision does is written (the exception's class, or the output when
it accepts the call, which dcn then reports as "accepted"). Arguments torchvision has no notion of
(kernel_size, the N and C entries of strides and dilations, modulated, a non-integer parameter)
cannot be expressed: those cases are not recorded and dcn reports them as "no outputs recorded".
"""
import argparse
import multiprocessing
import os
import sys

import h5py
import numpy as np
import torch
import torchvision
from torchvision.ops import deform_conv2d

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import dcn_golden  # noqa: E402  (tools/python: layouts and the outputs-file writer)

VERSION = "1.0.0"


class NotExpressible(Exception):
    """The bad input has no counterpart in torchvision's API."""


def attr(group, name):
    value = group.attrs[name]
    if isinstance(value, bytes):
        value = value.decode()
    return value


def ints(group, name, count):
    value = np.atleast_1d(group.attrs[name])
    if value.dtype.kind not in "iu":
        raise NotExpressible(f"{name} is not integer ({value.dtype}): a MindSpore argument check")
    value = [int(v) for v in value]
    if count is not None and len(value) != count:
        raise NotExpressible(f"{name} has {len(value)} elements: torchvision takes 2-tuples")
    return value


MAX_BYTES = 1 << 30


def tensor(group, name):
    dataset = group[name]
    size = int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
    if size > MAX_BYTES:
        raise NotExpressible(f"not run: {name} would need {size} bytes")
    data = dataset[()]
    return torch.from_numpy(np.ascontiguousarray(data))


def convert_offsets(offsets, taps):
    """MindSpore (N, 3K, Ho, Wo) → torchvision offset (N, 2K, Ho, Wo) and mask (N, K, Ho, Wo)."""
    offset, mask = dcn_golden.to_torchvision(offsets.numpy(), taps)
    return torch.from_numpy(offset), torch.from_numpy(mask)


def run_case(group):
    """torchvision's output for one case; raises what torchvision raises, or NotExpressible."""
    kernel_size = ints(group, "kernel_size", 2)
    strides = ints(group, "strides", 4)
    padding = ints(group, "padding", 4)
    dilations = ints(group, "dilations", 4)
    groups = ints(group, "groups", None)
    dg = ints(group, "deformable_groups", None)
    modulated = bool(np.atleast_1d(group.attrs["modulated"])[0])
    if strides[:2] != [1, 1] or dilations[:2] != [1, 1]:
        raise NotExpressible("N/C entries of strides or dilations")
    if not modulated:
        raise NotExpressible("modulated=False")
    if len(groups) != 1 or len(dg) != 1:
        raise NotExpressible("groups and deformable_groups are scalars")
    x, weight, offsets = tensor(group, "x"), tensor(group, "weight"), tensor(group, "offsets")
    bias = tensor(group, "bias") if "bias" in group else None
    if weight.dim() == 4 and list(weight.shape[2:]) != kernel_size:
        raise NotExpressible("kernel_size differs from the weight's: torchvision takes it from the weight")
    if min(padding) < 0:
        raise NotExpressible("negative padding: torch.nn.functional.pad would crop")
    pt, pb, pl, pr = padding
    if x.dim() == 4:
        x = torch.nn.functional.pad(x, (pl, pr, pt, pb))
    if offsets.dim() == 4 and weight.dim() == 4:
        taps = dg[0] * kernel_size[0] * kernel_size[1]
        if offsets.shape[1] == 3 * taps:
            offset, mask = convert_offsets(offsets, taps)
        else:  # a wrong channel count: hand torchvision the halves it would see
            k3 = offsets.shape[1] // 3
            offset, mask = offsets[:, :2 * k3], offsets[:, 2 * k3:]
    else:
        offset, mask = offsets, None
    # torchvision infers groups from the shapes and deformable groups from the offset channels:
    # a groups or deformable_groups argument it cannot check is a mismatch only the shapes reveal.
    with torch.no_grad():
        return deform_conv2d(x, offset, weight, bias, stride=tuple(strides[2:]), padding=(0, 0),
                             dilation=tuple(dilations[2:]), mask=mask)


def run_isolated(group):
    """run_case in a forked child: torchvision crashes (SIGFPE) on some bad inputs."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        try:
            send.send(("output", run_case(group).numpy()))
        except NotExpressible as why:
            send.send(("not expressible", str(why)))
        except Exception as error:
            send.send(("error", (type(error).__name__, str(error).strip().split("\n")[0][:500])))

    process = context.Process(target=child)
    process.start()
    send.close()
    result = None
    try:
        if receive.poll(120):
            result = receive.recv()
    except EOFError:  # the child died before it answered
        pass
    process.join(5)
    if process.is_alive():
        process.kill()
    if result is None:
        signal = -process.exitcode if process.exitcode and process.exitcode < 0 else None
        how = f"killed by signal {signal}" if signal else f"exit status {process.exitcode}"
        return ("error", ("Crash", f"torchvision's process died ({how}) on this input"))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("golden", help="a dcn golden file (format dcn-golden)")
    parser.add_argument("out", help="the outputs file to write (format dcn-outputs)")
    parser.add_argument("--name", default="torchvision-" + torchvision.__version__.split("+")[0],
                        help="the name dcn's reports give these outputs")
    args = parser.parse_args()
    torch.set_num_threads(1)

    recorded = errors = accepted = 0
    not_expressible = []
    producer = (f"tools/examples/torchvision_outputs.py {VERSION} (torch {torch.__version__}, "
                f"torchvision {torchvision.__version__}, CPU, 1 thread)")
    # torchvision's CPU kernel samples and accumulates in the input type's arithmetic promoted
    # to float for float16; dcn holds it to float32 units (its defaults) unless told otherwise.
    with h5py.File(args.golden, "r") as golden, dcn_golden.OutputsWriter(
            args.out, golden=args.golden, kernel=args.name, producer=producer, u_acc=2.0 ** -24, u_s=2.0 ** -24) as out:
        if attr(golden, "format") != "dcn-golden":
            sys.exit(f"{args.golden}: not a dcn golden file")
        for name in sorted(golden["cases"]):
            group = golden["cases"][name]
            expect = attr(group, "expect")
            if expect == "ok":
                try:
                    kind, value = "output", run_case(group).numpy()
                except NotExpressible as why:
                    kind, value = "not expressible", str(why)
                except Exception as error:  # what torchvision raised, recorded as it is
                    kind, value = "error", (type(error).__name__, str(error).strip().split("\n")[0][:500])
            else:
                kind, value = run_isolated(group)
            if kind == "not expressible":
                not_expressible.append((name, value))
            elif kind == "error":
                out.error(name, value[0], message=value[1])
                errors += 1
            else:
                out.output(name, value)
                recorded += 1
                if expect != "ok":
                    accepted += 1
    print(f"{args.out}: {recorded} outputs ({accepted} of them for error cases torchvision accepted), "
          f"{errors} errors raised, {len(not_expressible)} cases not expressible in torchvision's API (not recorded):")
    for name, why in not_expressible:
        print(f"  {name}: {why}")


if __name__ == "__main__":
    main()
