"""Tests of dcn_golden (python3 -m unittest discover -s tools/python), numpy and h5py only.

The round trips run the dcn executable named by $DCN (default .build/debug/dcn); they are skipped
when it is not built (the Swift test PythonHelperTests runs this file with $DCN set).
"""
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcn_golden  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = os.path.join(ROOT, "vectors", "dcn-default.h5")
DCN = os.path.abspath(os.environ.get("DCN", os.path.join(ROOT, ".build", "debug", "dcn")))


def dcn(*arguments, cwd):
    if not os.path.exists(DCN):
        raise unittest.SkipTest(f"the dcn executable is not built ({DCN}); set $DCN")
    return subprocess.run([DCN, *arguments], cwd=cwd, capture_output=True, text=True)


def reference_outputs(path, golden, perturb=None):
    """An outputs file whose every answer is the golden file's own expectation, in the case dtype:
    what a perfect implementation returns. `perturb` names a case whose y is made wrong."""
    with dcn_golden.OutputsWriter(path, golden=golden, kernel="golden-values", u_acc=2.0 ** -24, u_s=2.0 ** -24) as out:
        for case in dcn_golden.cases(golden):
            if case.expect != "ok":
                out.error(case.name, case.expect, code=case.error_code, backward=case.error_code == "grad_shape")
                continue
            y = case.y.astype(case.x.dtype)
            if case.name == perturb:
                y.flat[0] += 1 + abs(y.flat[0])
            out.output(case.name, y)
            if case.is_backward:
                # Through torchvision's layout and back, as a torchvision-layout kernel would return it.
                goffset, gmask = dcn_golden.to_torchvision(case.gradients["goffsets"], case.taps)
                out.gradients(case.name, case.gradients["gx"].astype(case.x.dtype), case.gradients["gweight"].astype(case.x.dtype),
                              dcn_golden.from_torchvision(goffset, gmask).astype(case.x.dtype),
                              case.gradients["gbias"].astype(case.x.dtype) if "gbias" in case.gradients else None)


class LayoutTests(unittest.TestCase):
    def test_torchvision_layout_interleaves_dy_dx_per_tap(self):
        taps = 4
        offsets = np.arange(2 * 3 * taps * 2 * 3, dtype=np.float32).reshape(2, 3 * taps, 2, 3)
        offset, mask = dcn_golden.to_torchvision(offsets, taps)
        self.assertEqual(offset.shape, (2, 2 * taps, 2, 3))
        self.assertEqual(mask.shape, (2, taps, 2, 3))
        for k in range(taps):
            np.testing.assert_array_equal(offset[:, 2 * k], offsets[:, taps + k])  # dy (SPEC section 1)
            np.testing.assert_array_equal(offset[:, 2 * k + 1], offsets[:, k])     # dx
            np.testing.assert_array_equal(mask[:, k], offsets[:, 2 * taps + k])
        np.testing.assert_array_equal(dcn_golden.from_torchvision(offset, mask), offsets)

    def test_parameters_per_layout(self):
        checked = set()
        for case in dcn_golden.cases(SUITE):
            if case.expect != "ok" or "padding" not in case.tags:
                continue
            pt, pb, pl, pr = case.params["padding"]
            self.assertEqual(case.onnx_attributes()["pads"], [pt, pl, pb, pr])
            if "asymmetric_padding" in case.tags:
                with self.assertRaises(dcn_golden.NotExpressible):
                    case.torchvision_params()
            else:
                self.assertEqual(case.torchvision_params()["padding"], (pt, pl))
            self.assertEqual(case.x.ndim, 4)
            self.assertEqual(case.y.dtype, np.float64)
            checked.add("asymmetric_padding" in case.tags)
        self.assertEqual(checked, {True, False})
        cases = list(dcn_golden.cases(SUITE))
        with self.assertRaises(ValueError):
            cases[0].x


class RoundTripTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def verify(self, outputs):
        return dcn("verify", SUITE, "--outputs", outputs, "--report-dir", self.folder.name, "--quiet", cwd=self.folder.name)

    def test_reference_values_pass_and_a_perturbed_one_fails(self):
        good = os.path.join(self.folder.name, "good.h5")
        reference_outputs(good, SUITE)
        run = self.verify(good)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn(" 0 failed", run.stdout)
        bad = os.path.join(self.folder.name, "bad.h5")
        valid = next(c.name for c in dcn_golden.cases(SUITE) if c.expect == "ok")
        reference_outputs(bad, SUITE, perturb=valid)
        run = self.verify(bad)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn(" 1 failed", run.stdout)

    def test_inputs_written_by_h5py_become_a_golden_file(self):
        rng = np.random.default_rng(5)
        inputs = os.path.join(self.folder.name, "inputs.h5")
        with h5py.File(inputs, "w") as f:
            case = f.create_group("cases/dumped")
            case["x"] = rng.uniform(-1, 1, (1, 4, 5, 5)).astype(np.float16)
            case["weight"] = rng.uniform(-1, 1, (2, 4, 3, 3)).astype(np.float16)
            case["offsets"] = rng.uniform(-2, 2, (1, 27, 5, 5)).astype(np.float16)
            case["gy"] = rng.uniform(-1, 1, (1, 2, 5, 5)).astype(np.float16)
            case.attrs.update(kernel_size=[3, 3], strides=[1, 1, 1, 1], padding=[1, 1, 1, 1],
                              dilations=[1, 1, 1, 1], groups=1, deformable_groups=1)
        golden = os.path.join(self.folder.name, "golden.h5")
        run = dcn("generate", "--inputs", inputs, "--out", golden, cwd=self.folder.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        names = []
        with h5py.File(inputs, "r") as f:
            for case in dcn_golden.cases(golden):
                names.append(case.name)
                self.assertEqual(case.x.dtype, np.float16)
                self.assertIn("float16", case.tags)
                self.assertTrue(case.is_backward)
                np.testing.assert_array_equal(case.offsets, f["cases/dumped/offsets"][()])
        self.assertEqual(names, ["dumped"])
        outputs = os.path.join(self.folder.name, "out.h5")
        reference_outputs(outputs, golden)
        run = dcn("verify", golden, "--outputs", outputs, "--report-dir", self.folder.name, cwd=self.folder.name)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


class ExportTests(unittest.TestCase):
    """dcn export writes the torchvision and ONNX layouts; outputs written against an export are read back."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.addCleanup(self.folder.cleanup)

    def path(self, name):
        return os.path.join(self.folder.name, name)

    def export(self, golden, layout):
        out = self.path(f"{layout}.h5")
        run = dcn("export", golden, "--layout", layout, "--out", out, cwd=self.folder.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        return out, run.stdout

    def test_export_layouts_match_the_conversion_and_list_what_cannot_be_expressed(self):
        for layout in ("torchvision", "onnx"):
            out, text = self.export(SUITE, layout)
            self.assertEqual("asymmetric-padding:" in text, layout == "torchvision", text)
            self.assertIn("an error case", text)
            seen = 0
            with h5py.File(out, "r") as exported:
                self.assertEqual(dcn_golden._text(exported.attrs["layout"]), layout)
                for case in dcn_golden.cases(SUITE):
                    if case.name not in exported["cases"]:
                        self.assertTrue(case.expect != "ok" or (layout == "torchvision" and "asymmetric_padding" in case.tags), case.name)
                        continue
                    group = exported["cases"][case.name]
                    offset, mask = dcn_golden.to_torchvision(case.offsets, case.taps)
                    np.testing.assert_array_equal(group["offset"][()], offset)
                    np.testing.assert_array_equal(group["mask"][()], mask)
                    np.testing.assert_array_equal(group["x"][()], case.x)
                    if layout == "onnx":
                        self.assertEqual(list(group.attrs["pads"]), case.onnx_attributes()["pads"])
                    else:
                        self.assertEqual(tuple(group.attrs["padding"]), case.torchvision_params()["padding"])
                    seen += 1
            self.assertGreater(seen, 70)

    def test_outputs_in_the_exported_layout_are_converted_back(self):
        golden = self.path("golden.h5")
        run = dcn("generate", "--shape", "ic4ih6oc3kh3ph1", "--shape", "b:mb2ic4ih5oc4kh3sh2pw1dg2", "--backward", "--out", golden,
                  cwd=self.folder.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.export(golden, "torchvision")

        def write(path, layout, claimed):
            with dcn_golden.OutputsWriter(path, golden=golden, kernel="tv-layout", layout=claimed) as out:
                for case in dcn_golden.cases(golden):
                    g = case.gradients
                    goffsets = g["goffsets"]
                    if layout != "dcn":
                        goffsets = np.concatenate(dcn_golden.to_torchvision(goffsets, case.taps), axis=1)
                    out.output(case.name, case.y.astype(np.float32))
                    out.gradients(case.name, g["gx"], g["gweight"], goffsets, g.get("gbias"))

        good, bad = self.path("good.h5"), self.path("bad.h5")
        write(good, "torchvision", "torchvision")
        write(bad, "torchvision", "dcn")  # the same numbers, read as dcn's layout: dx and dy swapped
        run = dcn("verify", golden, "--outputs", good, "--report-dir", self.folder.name, cwd=self.folder.name)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("backward 2/2 passed", run.stdout)
        run = dcn("verify", golden, "--outputs", bad, "--report-dir", self.folder.name, cwd=self.folder.name)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)


if __name__ == "__main__":
    unittest.main()
