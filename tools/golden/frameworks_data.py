#!/usr/bin/env python3
"""Raw data for the report on the frameworks' own accuracy and error behaviour, from a golden
file written by make_framework_golden.py (y = torchvision float64, y_framework = the framework).

    python3 tools/golden/frameworks_data.py vectors/framework-mindspore-2.10.h5 > /tmp/mindspore.json
    python3 tools/golden/frameworks_data.py vectors/framework-onnxruntime.h5 > /tmp/onnxruntime.json

Prints one JSON object:
  errors: per error case: name, SPEC class (`expect`) and code (`error_code`), what the framework
          did (`framework_error`, `framework_note`), `framework_class` (the exception class, or
          "accepted" / "not run" / "crashed" / "timeout") and `same_class` (framework_class == expect);
  valid:  per valid case with y_framework: name, tags, dtype, R, max|y|, max|y_framework - y|,
          rel = max|y_framework - y| / max|y|, the largest error in ulps of the case dtype at |y|,
          and SPEC section 3's ratio error/bound twice: u_acc = 2^-24 (float32 accumulation) and
          u_acc = u of the dtype, both with u_s = u of the dtype (2^-24 float32, 2^-11 float16);
  backward: per valid case with gy: name, tags, dtype, `framework_backward` (what produced the
          gradients), and per gradient tensor (gx, gweight, x_offset, y_offset, mask, gbias) of the
          recorded g*_framework: max |g_framework - g|, rel = that / max |g| (g: the file's expected
          gradient, torchvision float64); or `framework_backward_error` when the backward gave none.
          Per error case with gy (the backward-only ones): what the backward call did.
  summary: worst rel (and case) per tag and dtype; accepted bad inputs with their output shape;
          error cases whose class differs from SPEC's; cases not run; worst backward rel per dtype
          and tensor. SPEC section 7's ratios come from `dcn verify --kernel framework` (the report).
"""
import json
import sys

import h5py
import numpy as np

U = {"float32": 2.0 ** -24, "float16": 2.0 ** -11}


def text(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == (1,):
        return text(value[0])
    return str(value) if value is not None else None


def gamma(n, u):
    """Higham's gamma_n; no bound (infinity) once n·u >= 1, as for float16 accumulation of R > 2040."""
    return n * u / (1 - n * u) if n * u < 1 else np.inf


def valid_entry(name, case):
    dtype = case["x"].dtype
    dname = str(dtype)
    y = case["y"][...]
    y_fw = case["y_framework"][...].astype(np.float64)
    err = np.abs(y_fw - y)
    max_y = float(np.max(np.abs(y)))
    weight = case["weight"].shape
    r = weight[1] * weight[2] * weight[3] + 1
    ulp = np.spacing(np.abs(y).astype(dtype)).astype(np.float64)
    entry = {
        "name": name, "tags": text(case.attrs["tags"]).split(","), "dtype": dname,
        "framework": text(case.attrs.get("framework")), "R": r, "max_abs_y": max_y,
        "max_abs_err": float(np.max(err)), "rel": float(np.max(err) / max_y) if max_y > 0 else float(np.max(err)),
        "max_ulps": float(np.max(err / ulp)),
    }
    if "y_abs" in case and "y_pos" in case and dname in U:
        y_abs, y_pos = case["y_abs"][...], case["y_pos"][...]
        us = U[dname]
        # SPEC section 3's gradual-underflow term 2·η·y_tiny, η half the smallest subnormal of the
        # working precision (here the dtype's, the coarser unit in both variants), when the file has y_tiny.
        eta = 0.5 * float(np.finfo(dtype).smallest_subnormal)
        underflow = 2 * eta * case["y_tiny"][...] if "y_tiny" in case else 0.0
        for key, u_acc in (("ratio_f32acc", U["float32"]), ("ratio_dtype_acc", us)):
            bound = gamma(r + 8, u_acc) * y_abs + 8 * us * y_abs + 2 * us * y_pos + underflow + 0.5 * ulp
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = np.where(bound > 0, err / bound, np.where(err > 0, np.inf, 0.0))
            entry[key] = float(np.max(ratio))
    if "framework_note" in case.attrs:
        entry["framework_note"] = text(case.attrs["framework_note"])
    return entry


GRADIENTS = ("gx", "gweight", "goffsets", "gbias")


def backward_entry(name, case):
    entry = {"name": name, "tags": text(case.attrs["tags"]).split(","), "dtype": str(case["x"].dtype),
             "framework_backward": text(case.attrs.get("framework_backward"))}
    for key in ("framework_backward_error", "framework_backward_note"):
        if key in case.attrs:
            entry[key] = text(case.attrs[key])
    if "gx_framework" not in case:
        return entry
    w = case["weight"].shape
    taps = case["offsets"].shape[1] // 3
    tensors = {}
    for field in GRADIENTS:
        if field not in case:
            continue
        g, got = case[field][...], case[field + "_framework"][...].astype(np.float64)
        parts = {field: (g, got)} if field != "goffsets" else {
            "x_offset": (g[:, :taps], got[:, :taps]), "y_offset": (g[:, taps:2 * taps], got[:, taps:2 * taps]),
            "mask": (g[:, 2 * taps:], got[:, 2 * taps:])}
        for part, (expected, value) in parts.items():
            err = float(np.max(np.abs(value - expected))) if expected.size else 0.0
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            tensors[part] = {"max_abs": scale, "max_abs_err": err, "rel": err / scale if scale > 0 else err}
    entry["tensors"] = tensors
    entry["R_weight"] = w[1] * w[2] * w[3]
    return entry


def error_entry(name, case):
    # A case with gy is a backward-only error case (SPEC section 7): its forward call is valid,
    # and what the backward call did decides it.
    what = text(case.attrs.get("framework_error"))
    if "gy" in case and "framework_backward_error" in case.attrs:
        what = text(case.attrs["framework_backward_error"])
    if what is None:
        klass = None
    elif what == "accepted" or what.startswith(("not run", "crashed", "timeout")):
        klass = what.split(":")[0]
    else:
        klass = what.split(":")[0].strip()
    expect = text(case.attrs["expect"])
    entry = {"name": name, "expect": expect, "error_code": text(case.attrs.get("error_code")),
             "framework_error": text(case.attrs.get("framework_error")), "decided_by": "backward" if "gy" in case else "forward",
             "framework_class": klass,
             "same_class": klass == expect if klass not in (None, "not run") else None}
    if "framework_note" in case.attrs:
        entry["framework_note"] = text(case.attrs["framework_note"])
    if "description" in case.attrs:
        entry["description"] = text(case.attrs["description"])
    if "gy" in case:
        entry["framework_backward"] = text(case.attrs.get("framework_backward"))
        entry["framework_backward_error"] = text(case.attrs.get("framework_backward_error"))
        if "framework_backward_note" in case.attrs:
            entry["framework_backward_note"] = text(case.attrs["framework_backward_note"])
    return entry


def worst_backward(entries):
    """dtype -> tensor -> {rel, case, cases}: the largest rel of each gradient tensor."""
    worst = {}
    for e in entries:
        for tensor, t in e.get("tensors", {}).items():
            slot = worst.setdefault(e["dtype"], {}).setdefault(tensor, {"rel": -1.0, "cases": 0})
            slot["cases"] += 1
            if t["rel"] > slot["rel"]:
                slot.update(rel=t["rel"], case=e["name"], max_abs_err=t["max_abs_err"])
    return worst


def main(path):
    valid, errors, skipped, backward = [], [], [], []
    with h5py.File(path, "r") as f:
        root = {k: text(f.attrs[k]) for k in ("generator", "reference") if k in f.attrs}
        for name, case in f["cases"].items():
            if text(case.attrs["expect"]) == "ok":
                if "gy" in case:
                    backward.append(backward_entry(name, case))
                if "y_framework" in case:
                    valid.append(valid_entry(name, case))
                else:
                    skipped.append({"name": name, "dtype": str(case["x"].dtype),
                                    "framework_error": text(case.attrs.get("framework_error")),
                                    "framework_note": text(case.attrs.get("framework_note"))})
            else:
                errors.append(error_entry(name, case))

    per_tag = {}
    for e in valid:
        for tag in ["all"] + e["tags"]:
            slot = per_tag.setdefault(tag, {}).setdefault(e["dtype"], {"rel": -1.0})
            if e["rel"] > slot["rel"]:
                slot.update(rel=e["rel"], case=e["name"], max_abs_err=e["max_abs_err"],
                            ratio_f32acc=e.get("ratio_f32acc"))
            slot["cases"] = slot.get("cases", 0) + 1
    summary = {
        "worst_rel_per_tag": per_tag,
        "accepted": [{"name": e["name"], "error_code": e["error_code"], "framework_note": e.get("framework_note")}
                     for e in errors if e["framework_class"] == "accepted"],
        "different_class": [{"name": e["name"], "expect": e["expect"], "error_code": e["error_code"],
                             "framework_error": e["framework_backward_error"] if e["decided_by"] == "backward"
                             else e["framework_error"]}
                            for e in errors if e["same_class"] is False and e["framework_class"] != "accepted"],
        "not_run": [{"name": e["name"], "framework_error": e["framework_error"]}
                    for e in errors if e["framework_class"] == "not run"],
        "crashed": [{"name": e["name"], "framework_error": e["framework_error"]}
                    for e in errors if e["framework_class"] in ("crashed", "timeout")],
        "valid_without_framework_output": skipped,
        "backward_worst_rel": worst_backward(backward),
        "backward_without_gradients": [{"name": e["name"], "dtype": e["dtype"],
                                        "framework_backward_error": e.get("framework_backward_error")}
                                       for e in backward if "tensors" not in e],
        "counts": {"valid_with_framework_output": len(valid), "errors": len(errors),
                   "same_class": sum(1 for e in errors if e["same_class"] is True),
                   "different_class_or_accepted": sum(1 for e in errors if e["same_class"] is False)},
    }
    json.dump({"file": path, **root, "summary": summary, "valid": valid, "backward": backward, "errors": errors},
              sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: frameworks_data.py FRAMEWORK-GOLDEN.h5")
    sys.exit(main(sys.argv[1]))
