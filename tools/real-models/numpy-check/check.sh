#!/usr/bin/env bash
# Checks `scaledot inspect MODEL.onnx --input X.npy` (a one-input model, float32 input) against NumPy:
# find_attention.py finds Softmax(MatMul(q·s, kᵀ)) → MatMul(·, v) with the onnx package alone and adds
# those tensors as graph outputs, capture.mjs runs that copy in onnxruntime-node, compare.py recomputes every
# head's figures from the captured tensors with NumPy and prints the largest difference from inspect's JSON.
# Needs Debian's python3-onnx and python3-numpy, and `npm run bench:peers-install`. Writes only under OUT.
set -euo pipefail
model=$1; x=$2; out=${3:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
mkdir -p "$out"
(cd "$root" && npx tsx src/cli/main.ts inspect "$model" --input "$x" --json "$out/inspect.json")
/usr/bin/python3 "$here/find_attention.py" "$model" "$out/prepared.onnx" "$out/sites.json"
node "$here/capture.mjs" "$out/prepared.onnx" "$out/sites.json" "$x" "$out"
/usr/bin/python3 "$here/compare.py" "$out/sites.json" "$out/inspect.json" "$out"
