#!/usr/bin/env python3
"""Regenerate reports/frameworks.md: the frameworks' own outputs scored by dcn's gate.

    swift build -c release --product dcn
    python3 tools/golden/frameworks_report.py            # writes reports/frameworks.md (+ .json)

For each vectors/framework-*.h5 (made by tools/golden/make_framework_golden.py) it runs

    dcn verify FILE --kernel framework --kernel naive --kernel simd --kernel threaded --kernel fp16acc --json ...

`--kernel framework` scores the stored `y_framework` by SPEC section 3's rule as if the framework
were one more kernel with float32 accumulation and sampling (u_acc = u_s = 2^-24), and its
`framework_error` attribute against each error case's class and code (a framework records no
SPEC code, so the class decides). Our kernels' figures stand beside it.

The backward table scores the recorded gradients (`g*_framework`, SPEC section 7's bound with the
same float32 units) against the file's `gx`, `gweight`, `goffsets`, `gbias` (torchvision's float64
autograd), per gradient tensor (goffsets as its x-offset, y-offset and mask blocks), and lists
every failing tensor with its worst element; the backward-only error cases (grad_shape, a gy
dtype mismatch) compare the class the backward call raised (`framework_backward_error`).
Everything comes from dcn's JSON and the standard library; when h5py is importable, the line
naming what produced each file's gradients (the `framework_backward` attribute) is read too.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

KERNELS = ["framework", "naive", "simd", "threaded", "fp16acc"]
GRADIENT_TENSORS = ["gx", "gweight", "x_offset", "y_offset", "mask", "gbias"]


def find_dcn(given):
    if given:
        return given
    for path in (".build/release/dcn", ".build/debug/dcn"):
        if os.path.exists(path):
            return path
    sys.exit("no dcn executable: run `swift build -c release --product dcn` or give --dcn")


def verify(dcn, path, folder):
    out = os.path.join(folder, os.path.basename(path) + ".json")
    command = [dcn, "verify", path] + [a for k in KERNELS for a in ("--kernel", k)] + [
        "--json", out, "--report-dir", folder, "--quiet", "--threads", "2"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({run.returncode}):\n{run.stderr}")
    with open(out) as f:
        shown = ["dcn", "verify", path] + [a for k in KERNELS for a in ("--kernel", k)] + ["--json", "FILE"]
        return " ".join(shown), json.load(f)


def ratio(value):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    text = "0" if value == 0 else (f"{value:.3g}" if value < 1000 else f"{value:.3e}")
    return f"**{text}**" if value > 1 else text


def worst(results):
    best = None
    for r in results:
        v = r.get("ratio")
        if v is None:
            continue
        v = float("inf") if v == "Infinity" else float("nan") if v == "NaN" else v
        if best is None or v > best[0] or v != v:
            best = (v, r)
    return best


def tag_table(results, dtype):
    valid = [r for r in results if r["expect"] == "ok" and r.get("dtype") == dtype]
    if not valid:
        return ""
    tags = sorted({t for r in valid for t in r["tags"]} - {"float16", "float32"})
    kernels = [k for k in KERNELS if any(r["kernel"] == k for r in valid)]
    out = f"\n#### {dtype} cases: worst ratio per tag (≤ 1 passes; bold: outside the bound)\n\n"
    out += "| tag | cases | " + " | ".join(kernels) + " |\n|---|---:|" + "---:|" * len(kernels) + "\n"
    for tag in ["all"] + tags:
        rows = [r for r in valid if tag == "all" or tag in r["tags"]]
        cells = []
        for k in kernels:
            mine = [r for r in rows if r["kernel"] == k]
            w = worst(mine)
            failed = sum(r["status"] == "fail" for r in mine)
            cells.append(ratio(w[0] if w else None) + (f" ({failed} fail)" if failed else ""))
        count = len({r["case"] for r in rows})
        out += f"| {'**all**' if tag == 'all' else tag} | {count} | " + " | ".join(cells) + " |\n"
    return out


def framework_summary(results, dtype):
    mine = [r for r in results if r["kernel"] == "framework" and r["expect"] == "ok" and r.get("dtype") == dtype]
    if not mine:
        return ""
    failed = [r for r in mine if r["status"] == "fail"]
    w = worst(mine)
    scaled = 0.0
    for r in mine:
        a = r.get("accuracy") or {}
        if a.get("max_abs_expected"):
            scaled = max(scaled, a["max_abs_error"] / a["max_abs_expected"])
    line = f"- {dtype}: {len(mine) - len(failed)} of {len(mine)} valid cases within the bound; worst ratio {ratio(w[0] if w else None)}"
    missing = [r for r in failed if (r.get("message") or "").startswith("no outputs recorded")]
    if missing:
        line += f" ({len(missing)} with nothing recorded: neither y_framework nor framework_error)"
    if w:
        e = (w[1].get("accuracy") or {}).get("worst") or {}
        if e:
            line += (f" on `{w[1]['case']}` at y[{e['n']}, {e['o']}, {e['ho']}, {e['wo']}] "
                     f"(got {e['got']:.9g}, exact {e['expected']:.9g}, bound {e['bound']:.3g})")
    if len(missing) < len(mine):
        line += f"; largest error {100 * scaled:.2g}% of the case's max |y|"
        if dtype == "float16":
            line += " (SPEC section 1 quotes 0.3% for MindSpore's float16 path)"
    line += ".\n"
    return line


def error_table(results):
    cases = sorted({r["case"] for r in results if r["expect"] not in ("ok", "malformed")})
    out = "\n#### Error cases: SPEC section 2 against what the framework did\n\n"
    out += ("| case | SPEC class (code) | framework | verdict | our kernels |\n|---|---|---|---|---|\n")
    counts = {}
    for name in cases:
        rows = {r["kernel"]: r for r in results if r["case"] == name}
        fw = rows.get("framework")
        if fw is None or fw.get("backward"):
            continue        # the backward-only error cases are in the backward section
        spec = f"{fw['expect']} ({fw.get('expected_error_code')})"
        message = fw.get("message") or ""
        if fw["status"] == "pass":
            verdict, did = "same class", f"{fw.get('error_class')}: {message}"
        elif "accepted the call" in message:
            verdict, did = "**accepted**", "returned an output"
        elif message.startswith("no outputs recorded"):
            verdict, did = "not run", message.split("(", 1)[-1].rstrip(")") if "(" in message else message
        else:
            verdict, did = "**different class**", f"{fw.get('error_class')}: " + message.split(" recorded ", 1)[-1].split(": ", 1)[-1]
        counts[verdict] = counts.get(verdict, 0) + 1
        did = did.replace("|", "\\|").replace("\n", " ")
        if len(did) > 160:
            did = did[:157] + "…"
        ours = [k for k in KERNELS[1:] if k in rows]
        passed = sum(rows[k]["status"] == "pass" for k in ours)
        out += f"| {name} | {spec} | {did} | {verdict} | {passed}/{len(ours)} pass |\n"
    summary = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))
    return out, summary


def backward_producers(path):
    """The distinct `framework_backward` attributes of a file, with their case counts; [] without h5py."""
    try:
        import h5py
    except ImportError:
        return []
    counts = {}
    with h5py.File(path, "r") as f:
        for case in f["cases"].values():
            value = case.attrs.get("framework_backward")
            if value is not None:
                value = value.decode() if isinstance(value, bytes) else str(value)
                counts[value] = counts.get(value, 0) + 1
    return sorted(counts.items())


def number(value):
    return f"{value:.9g}" if isinstance(value, (int, float)) else str(value)


def tensor_ratio(t):
    """A gradient tensor's worst ratio as a float (dcn's JSON writes non-finite ones as strings)."""
    v = t.get("worst_ratio")
    return float(v) if isinstance(v, (int, float)) else float({"Infinity": "inf", "NaN": "nan"}.get(v, "nan"))


def worse_nan(t):
    return tensor_ratio(t) != tensor_ratio(t)


def backward_section(results, path):
    """The framework's gradients: per dtype and gradient tensor, cases, passed and the worst ratio;
    every failing tensor with its worst element; the backward-only error cases."""
    mine = [r for r in results if r["kernel"] == "framework" and r.get("backward")]
    if not mine:
        return ""
    out = "\n### The framework's gradients (backward)\n\n"
    producers = backward_producers(path)
    if producers:
        out += "Gradients by: " + "; ".join(f"{name} ({count} cases)" for name, count in producers) + ".\n\n"
    valid = [r for r in mine if r["expect"] == "ok"]
    recorded = [r for r in valid if r["backward"].get("tensors")]
    without = [r for r in valid if not r["backward"].get("tensors")]
    ours = {}
    for r in results:
        if r["kernel"] != "framework" and r.get("backward") and r["expect"] == "ok":
            slot = ours.setdefault(r["kernel"], {"pass": 0, "fail": 0, "not_implemented": 0, "worst": None})
            slot[r["backward"]["status"]] += 1
            v = r["backward"].get("ratio")
            if r["backward"]["status"] != "not_implemented" and isinstance(v, (int, float)):
                slot["worst"] = max(slot["worst"] or 0.0, v)
    for dtype in ("float32", "float16"):
        rows = [r for r in recorded if r.get("dtype") == dtype]
        if not rows:
            continue
        passed = sum(r["backward"]["status"] == "pass" for r in rows)
        out += (f"#### {dtype}: {passed} of {len(rows)} backward cases with recorded gradients within the bound"
                f" (≤ 1 passes; bold: outside it)\n\n")
        out += "| tensor | cases | passed | worst ratio | on case | worst element (index: expected, got, bound) |\n"
        out += "|---|---:|---:|---:|---|---|\n"
        for tensor in GRADIENT_TENSORS:
            entries = [(r, t) for r in rows for t in r["backward"]["tensors"] if t["tensor"] == tensor]
            if not entries:
                continue
            ok = sum(t["failed_elements"] == 0 and not worse_nan(t) for _, t in entries)
            r, t = max(entries, key=lambda e: (worse_nan(e[1]), tensor_ratio(e[1]) if not worse_nan(e[1]) else 0))
            w = t.get("worst") or {}
            element = (f"{w['index']}: {number(w['expected'])}, {number(w['got'])}, {w['bound']:.3g}" if w else "–")
            out += f"| {tensor} | {len(entries)} | {ok} | {ratio(tensor_ratio(t))} | `{r['case']}` | {element} |\n"
        failures = [(r, t) for r in rows for t in r["backward"]["tensors"] if t["failed_elements"] or worse_nan(t)]
        if failures:
            out += f"\nFailing tensors ({len(failures)}, in {len({r['case'] for r, _ in failures})} cases), each with its worst element:\n\n"
            out += "| case | tensor | elements failed | index | expected | got | bound | ratio |\n"
            out += "|---|---|---:|---|---:|---:|---:|---:|\n"
            for r, t in failures:
                w = t.get("worst") or {}
                out += (f"| {r['case']} | {t['tensor']} | {t['failed_elements']} of {t['elements']} | {w.get('index')} | "
                        f"{number(w.get('expected'))} | {number(w.get('got'))} | {w.get('bound', 0):.3g} | {ratio(tensor_ratio(t))} |\n")
            conventions = sorted({(r["case"], r["backward"]["convention"]) for r, _ in failures if r["backward"].get("convention")})
            if conventions:
                out += "\nConvention differences (SPEC section 7; still failures): " + ", ".join(
                    f"`{c}` matches {v}" for c, v in conventions) + ".\n"
        out += "\n"
    if without:
        out += f"Valid backward cases without recorded gradients ({len(without)}):\n\n"
        for r in without:
            out += f"- `{r['case']}` ({r.get('dtype')}): {r['backward']['status']}: {(r['backward'].get('message') or '').replace('|', '/')[:200]}\n"
        out += "\n"
    errors = [r for r in mine if r["expect"] != "ok"]
    if errors:
        out += "#### Backward-only error cases (SPEC section 7's validation; the call is made with the stored gy)\n\n"
        out += "| case | SPEC class (code) | the framework's backward | verdict |\n|---|---|---|---|\n"
        for r in errors:
            b = r["backward"]
            spec = f"{r['expect']} ({r.get('expected_error_code')})"
            message = (b.get("message") or "").replace("|", "\\|").replace("\n", " ")
            if b["status"] == "pass":
                did, verdict = f"{b.get('error_class')}: {message}", "same class"
            elif "accepted the backward call" in message:
                did, verdict = "accepted (returned gradients)", "**accepted**"
            elif b["status"] == "not_implemented":
                did, verdict = "nothing recorded", "not run"
            else:
                did, verdict = message.split(" raised ", 1)[-1], "**different class**"
            if len(did) > 160:
                did = did[:157] + "…"
            out += f"| {r['case']} | {spec} | {did} | {verdict} |\n"
    if ours:
        def tally(k, c):
            if c["pass"] + c["fail"] == 0:
                return f"{k} has no backward"
            return f"{k} {c['pass']}/{c['pass'] + c['fail']} pass (worst ratio {ratio(c['worst'])})"
        out += "\nOur kernels on the same valid backward cases: " + ", ".join(tally(k, c) for k, c in ours.items()) + ".\n"
    return out


def slim(result):
    """A result for frameworks.json: without the forward's per-element accuracy data and the
    backward's lists of failing elements (each tensor keeps its worst element and counts)."""
    out = {k: v for k, v in result.items() if k != "accuracy"}
    if out.get("backward"):
        out["backward"] = dict(out["backward"], tensors=[{k: v for k, v in t.items() if k != "failures"}
                                                         for t in out["backward"].get("tensors", [])])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="framework golden files (default: vectors/framework-*.h5)")
    parser.add_argument("--dcn", help="the dcn executable (default: .build/release/dcn, else .build/debug/dcn)")
    parser.add_argument("--out", default="reports/frameworks.md")
    args = parser.parse_args()
    files = args.files or sorted(p for p in glob.glob("vectors/framework-*.h5"))
    if not files:
        sys.exit("no framework files: run tools/golden/make_framework_golden.py first")
    dcn = find_dcn(args.dcn)

    text = "# Frameworks scored by the gate\n\n"
    text += ("Made by `python3 tools/golden/frameworks_report.py` (this page and frameworks.json). "
             "Each framework's own output (`y_framework`, in the case dtype) is scored by SPEC section 3's rule as if the "
             "framework were one more kernel with float32 accumulation and sampling (u_acc = u_s = 2⁻²⁴), against `y` "
             "(torchvision in float64). Error cases compare the framework's exception class with SPEC section 2's "
             "(frameworks give no SPEC code). dcn's own kernels are scored on the same files, with their own units.\n")
    everything = {}
    with tempfile.TemporaryDirectory() as folder:
        for path in files:
            command, report = verify(dcn, path, folder)
            everything[path] = report
            results = report["results"]
            kernels = {k["name"]: k for k in report["kernels"]}
            text += f"\n## {os.path.basename(path)}\n\n`{command}`\n\n"
            fw = kernels.get("framework")
            if fw:
                text += f"framework: {fw['summary']}; u_acc = 2^{round(__import__('math').log2(fw['u_acc']))}, u_s = 2^{round(__import__('math').log2(fw['u_s']))}.\n\n"
            for k in KERNELS:
                mine = [r for r in results if r["kernel"] == k]
                if mine:
                    text += f"- **{k}**: {sum(r['status'] == 'pass' for r in mine)}/{len(mine)} cases pass\n"
            text += "\n### The framework's outputs\n\n"
            text += framework_summary(results, "float32") + framework_summary(results, "float16")
            text += tag_table(results, "float32") + tag_table(results, "float16")
            text += backward_section(results, path)
            table, summary = error_table(results)
            text += "\n### Bad inputs\n\n" + f"Verdicts: {summary}.\n" + table
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({p: {"summary": r["summary"], "kernels": r["kernels"],
                       "results": [slim(x) for x in r["results"]]}
                   for p, r in everything.items()}, f, indent=1, sort_keys=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
