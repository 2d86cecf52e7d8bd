#!/bin/sh
# Regenerates tools/examples/outputs/torchvision-dcn-default.h5 and reports/torchvision-outputs.md (+ .json):
# torchvision's deform_conv2d on every case of vectors/dcn-default.h5, scored by dcn verify --outputs
# twice: with float32 units (dcn's default) and with half-precision units (what torchvision's CPU
# float16 path computes in). Needs torch, torchvision, h5py (python3) and a built dcn.
#   sh tools/examples/torchvision_report.sh [path/to/dcn]
set -e
DCN=${1:-.build/release/dcn}
OUT=tools/examples/outputs/torchvision-dcn-default.h5
python3 tools/examples/torchvision_outputs.py vectors/dcn-default.h5 "$OUT" 2>/dev/null
tmp=$(mktemp -d)
"$DCN" verify vectors/dcn-default.h5 --kernel "outputs:$OUT" \
    --outputs "$OUT" --name torchvision@half-units --u-acc 2^-11 --u-s 2^-11 \
    --report-dir "$tmp" --quiet || true
cp "$tmp/accuracy.md" reports/torchvision-outputs.md
cp "$tmp/accuracy.json" reports/torchvision-outputs.json
rm -rf "$tmp"
echo "wrote reports/torchvision-outputs.md and .json"
