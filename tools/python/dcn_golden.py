"""dcn_golden: golden files for harness authors, with numpy and h5py only.

Read the cases of a dcn golden file (SPEC.md section 4) as numpy arrays with their parameters,
convert the offsets between dcn's layout and torchvision's or ONNX's, and write an outputs file
that `dcn verify GOLDEN --outputs OUT.h5` scores:

    import dcn_golden
    with dcn_golden.OutputsWriter("out.h5", golden="golden.h5", kernel="mine") as out:
        for case in dcn_golden.cases("golden.h5"):
            if case.expect != "ok":
                continue                      # or out.error(case.name, "ValueError", code=...)
            offset, mask = dcn_golden.to_torchvision(case.offsets, case.taps)
            y = my_kernel(case.x, case.weight, offset, mask, case.bias, **case.torchvision_params())
            out.output(case.name, y)

Layouts, with K = deformable_groups * kh * kw taps (SPEC section 1):
  dcn (MindSpore)  offsets (N, 3K, Ho, Wo): K x offsets, K y offsets, K masks
  torchvision      offset (N, 2K, Ho, Wo) as (dy, dx) per tap, mask (N, K, Ho, Wo); symmetric padding only
  onnx             DeformConv's offset and mask, as torchvision's; pads (top, left, bottom, right)
"""
import h5py
import numpy as np

GOLDEN_FORMAT = "dcn-golden"
OUTPUTS_FORMAT = "dcn-outputs"
LAYOUTS = ("dcn", "torchvision", "onnx")


class NotExpressible(ValueError):
    """The case has no counterpart in the target layout (e.g. asymmetric padding for torchvision)."""


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _ints(value):
    return [int(v) for v in np.atleast_1d(value)]


class Case:
    """One case of a golden file: tensors as numpy arrays (None when absent) and parameters.

    name, expect ("ok", "TypeError" or "ValueError"), error_code, tags (list), params (dict of
    kernel_size, strides, padding (top, bottom, left, right), dilations, groups,
    deformable_groups as lists or ints), x, weight, offsets, bias, gy (the stored dtype), y and
    gradients (dict gx, gweight, goffsets[, gbias]: the float64 expected values).
    """

    def __init__(self, name, group):
        self.name = name
        self.expect = _text(group.attrs["expect"])
        self.error_code = _text(group.attrs["error_code"]) if "error_code" in group.attrs else None
        self.tags = [t for t in _text(group.attrs.get("tags", "")).split(",") if t]
        self.params = {}
        for key in ("kernel_size", "strides", "padding", "dilations", "groups", "deformable_groups"):
            value = np.atleast_1d(group.attrs[key])
            self.params[key] = ([int(v) for v in value] if value.dtype.kind in "iu" else value.tolist())
        for key in ("groups", "deformable_groups"):
            if isinstance(self.params[key], list) and len(self.params[key]) == 1:
                self.params[key] = self.params[key][0]
        self._group = group

    _TENSORS = ("x", "weight", "offsets", "bias", "gy", "y")
    _GRADIENTS = ("gx", "gweight", "goffsets", "gbias")

    def __getattr__(self, field):
        # Tensors are read when first asked for, while the iteration holds the file open: an error
        # case may declare terabytes it does not store.
        if field in self._TENSORS + ("gradients",) and not self._group.id.valid:
            raise ValueError(f"case '{self.name}': its file is closed; read a case's tensors inside the loop over cases()")
        if field in self._TENSORS:
            value = self._group[field][()] if field in self._group else None
        elif field == "gradients":
            value = {f: self._group[f][()] for f in self._GRADIENTS if f in self._group}
        else:
            raise AttributeError(field)
        setattr(self, field, value)
        return value

    @property
    def taps(self):
        """K = deformable_groups * kh * kw."""
        kh, kw = self.params["kernel_size"]
        return self.params["deformable_groups"] * kh * kw

    @property
    def is_backward(self):
        return "gy" in self._group

    def torchvision_params(self):
        """stride, padding and dilation for torchvision.ops.deform_conv2d; NotExpressible when the
        padding is asymmetric (torchvision pads top = bottom and left = right)."""
        pt, pb, pl, pr = self.params["padding"]
        if pt != pb or pl != pr:
            raise NotExpressible(f"padding (top, bottom, left, right) = {(pt, pb, pl, pr)} is asymmetric: torchvision pads symmetrically")
        return {"stride": tuple(self.params["strides"][2:]), "padding": (pt, pl), "dilation": tuple(self.params["dilations"][2:])}

    def onnx_attributes(self):
        """The attributes of ONNX DeformConv (opset 19+)."""
        pt, pb, pl, pr = self.params["padding"]
        return {"kernel_shape": list(self.params["kernel_size"]), "strides": self.params["strides"][2:],
                "pads": [pt, pl, pb, pr], "dilations": self.params["dilations"][2:],
                "group": self.params["groups"], "offset_group": self.params["deformable_groups"]}


def cases(path):
    """The cases of a golden file, in name order. A case's tensors are read when first used, which
    must be inside the loop: the file closes when the iteration ends."""
    with h5py.File(path, "r") as f:
        if _text(f.attrs.get("format", "")) != GOLDEN_FORMAT:
            raise ValueError(f"{path}: not a dcn golden file (root attribute format must be '{GOLDEN_FORMAT}')")
        for name in sorted(f["cases"]):
            yield Case(name, f["cases"][name])


def to_torchvision(offsets, taps):
    """dcn offsets (N, 3K, Ho, Wo) -> torchvision/ONNX (offset (N, 2K, Ho, Wo), mask (N, K, Ho, Wo))."""
    offsets = np.asarray(offsets)
    n, channels, ho, wo = offsets.shape
    if channels != 3 * taps:
        raise ValueError(f"offsets have {channels} channels, 3 * {taps} expected")
    dx, dy, mask = offsets[:, :taps], offsets[:, taps:2 * taps], offsets[:, 2 * taps:]
    offset = np.stack([dy, dx], axis=2).reshape(n, 2 * taps, ho, wo)
    return offset, mask.copy()


def from_torchvision(offset, mask):
    """torchvision/ONNX (offset, mask) -> dcn offsets (N, 3K, Ho, Wo); also for their gradients."""
    offset, mask = np.asarray(offset), np.asarray(mask)
    n, taps, ho, wo = mask.shape
    pairs = offset.reshape(n, taps, 2, ho, wo)
    return np.concatenate([pairs[:, :, 1], pairs[:, :, 0], mask], axis=1)


to_onnx = to_torchvision
from_onnx = from_torchvision


class OutputsWriter:
    """Writes an outputs file (SPEC section 4's companion, README "Outputs files"), one case at a time.

    u_acc and u_s are the unit roundoffs of the implementation's accumulation and sampling
    arithmetic (2**-24 for float32, the default dcn assumes when they are absent).

    layout "torchvision" or "onnx" (outputs computed on a `dcn export` file) says that goffsets
    is the layout's offset gradient followed by its mask gradient, (N, 3K, Ho, Wo):
    np.concatenate([goffset, gmask], axis=1); dcn converts it back.
    """

    def __init__(self, path, golden=None, kernel=None, producer="tools/python/dcn_golden.py", u_acc=None, u_s=None, layout="dcn"):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self._file = h5py.File(path, "w")
        attrs = self._file.attrs
        attrs["format"] = OUTPUTS_FORMAT
        attrs["format_version"] = np.int64(1)
        attrs["producer"] = producer
        if layout != "dcn":
            attrs["layout"] = layout
        for key, value in (("golden", golden), ("kernel", kernel)):
            if value is not None:
                attrs[key] = value
        for key, value in (("u_acc", u_acc), ("u_s", u_s)):
            if value is not None:
                attrs[key] = np.float64(value)
        self._cases = self._file.create_group("cases")

    def _group(self, name):
        return self._cases[name] if name in self._cases else self._cases.create_group(name)

    def output(self, name, y):
        """The forward's output y, (N, Co, Ho, Wo) in any float type."""
        self._group(name).create_dataset("y", data=np.asarray(y))

    def gradients(self, name, gx, gweight, goffsets, gbias=None):
        """The backward's gradients in dcn's layout; pass goffsets=from_torchvision(goffset, gmask)
        when the kernel returns torchvision's or ONNX's."""
        group = self._group(name)
        for field, value in (("gx", gx), ("gweight", gweight), ("goffsets", goffsets), ("gbias", gbias)):
            if value is not None:
                group.create_dataset(field, data=np.asarray(value))

    def error(self, name, error_class, code=None, message=None, backward=False):
        """A rejected call: its exception class, and SPEC section 2's code when known."""
        group, prefix = self._group(name), "backward_" if backward else ""
        group.attrs[prefix + "error_class"] = error_class
        if code is not None:
            group.attrs[prefix + "error_code"] = code
        if message is not None:
            group.attrs[prefix + "error_message"] = message

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
