"""torchvision's deform_conv2d, forward and autograd backward, on every case of a golden file,
through tools/python/dcn_golden.py:  python3 tools/examples/torchvision_harness.py GOLDEN OUT.h5"""
import os, sys
import torch
from torchvision.ops import deform_conv2d
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import dcn_golden

golden, out_path = sys.argv[1], sys.argv[2]
with dcn_golden.OutputsWriter(out_path, golden=golden, kernel="torchvision-f32", producer="torchvision_harness.py") as out:
    for case in dcn_golden.cases(golden):
        if case.expect != "ok":
            continue  # valid calls only in this example
        try:
            params = case.torchvision_params()
        except dcn_golden.NotExpressible as why:
            print(f"{case.name}: not expressible: {why}")
            continue
        leaf = lambda a: torch.from_numpy(a).float().requires_grad_()  # computed in float32
        offset, mask = dcn_golden.to_torchvision(case.offsets, case.taps)
        x, w, o, m = leaf(case.x), leaf(case.weight), leaf(offset), leaf(mask)
        b = leaf(case.bias) if case.bias is not None else None
        y = deform_conv2d(x, o, w, b, mask=m, **params)
        out.output(case.name, y.detach().numpy())
        if case.is_backward:
            y.backward(torch.from_numpy(case.gy).float())
            out.gradients(case.name, x.grad.numpy(), w.grad.numpy(),
                          dcn_golden.from_torchvision(o.grad.numpy(), m.grad.numpy()), None if b is None else b.grad.numpy())
