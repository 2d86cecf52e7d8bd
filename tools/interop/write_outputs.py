#!/usr/bin/env python3
"""Writes a dcn outputs file with h5py, as a foreign harness would, gradients included.

The "implementation" is the golden file itself: each valid case's expected `y` and, for a case
with `gy`, its expected gx, gweight, goffsets (and gbias) rounded to the case's dtype; each error
case records SPEC's class and code (a grad_shape case as a rejected backward call, its forward
being valid). So `dcn verify GOLDEN --outputs OUT` must pass every case, forward and backward:
what this checks is that a file h5py writes (its string attributes, its float16) reads as the
outputs format (README: "Outputs files"), not an implementation.

    pip install h5py numpy
    python3 tools/interop/write_outputs.py vectors/dcn-default.h5 out.h5
    dcn verify vectors/dcn-default.h5 --outputs out.h5

Prints "N outputs, N gradients, N errors" on success.
"""
import sys

import h5py
import numpy as np


def main(golden_path, out_path):
    outputs = gradients = errors = 0
    with h5py.File(golden_path, "r") as golden, h5py.File(out_path, "w") as out:
        out.attrs.update(format="dcn-outputs", format_version=np.int64(1),
                         producer="tools/interop/write_outputs.py (h5py %s)" % h5py.__version__, kernel="h5py-golden")
        for name, case in golden["cases"].items():
            group = out.create_group(f"cases/{name}")
            expect = case.attrs["expect"]
            if expect != "ok":
                # grad_shape is raised by the backward validation only (SPEC section 7).
                prefix = "backward_" if case.attrs.get("error_code") == "grad_shape" else ""
                group.attrs[prefix + "error_class"] = expect
                group.attrs[prefix + "error_code"] = case.attrs["error_code"]
                errors += 1
                continue
            dtype = case["x"].dtype
            group.create_dataset("y", data=case["y"][()].astype(dtype))
            outputs += 1
            if "gy" in case:
                fields = ["gx", "gweight", "goffsets"] + (["gbias"] if "bias" in case else [])
                for field in fields:
                    group.create_dataset(field, data=case[field][()].astype(dtype))
                gradients += 1
    print(f"{outputs} outputs, {gradients} gradients, {errors} errors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: write_outputs.py GOLDEN OUT")
    main(sys.argv[1], sys.argv[2])
