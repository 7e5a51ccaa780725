#!/usr/bin/env bash
# The WGSL preprocessing on a hardware GPU (the lent H200): the criterion benches
# `preprocess` (CPU vs GPU per batch of 640 px tiles) and `pipeline` (whole detect of an
# 8192 x 8192 scene with the fixture detector, CPU vs GPU preprocessing, onnxruntime on the
# CPU), built on the dev VM with `cargo bench --bench preprocess --bench pipeline --no-run`
# at the commit named in $H/COMMIT, stripped, xz-compressed and carried with onnxruntime
# 1.32.0's library, for a GPU machine without network or Rust. HW_LOCAL=1: a dry run on the
# dev VM (lavapipe). As run on 2026-12-01 (from the git-ignored .gpu/hw/, with the Vulkan
# loader .debs in .gl/, the device tool's `carry`; outputs in docs/bench/h200-2026-12-01-*):
#   H=.gpu/hw; mkdir -p $H; cargo bench --bench preprocess --bench pipeline --no-run
#   strip -o $H/pipeline target/release/deps/pipeline-*; strip -o $H/preprocess target/release/deps/preprocess-*
#   cp .venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0 $H/
#   cp tests/fixtures/generated/square_detector.onnx $H/; git rev-parse HEAD > $H/COMMIT
#   (cd $H && xz -6 pipeline preprocess libonnxruntime.so.1.32.0); cp scripts/bench/hw_gpu_benches.sh $H/run.sh
#   then on the GPU machine: bash .gpu/hw/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
H=.gpu/hw
if [ -z "${HW_LOCAL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
O=${OUT:-/tmp/hwout}
mkdir -p "$O"
{ echo "built at: $(cat $H/COMMIT)"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "cores: $(nproc)"; grep -m1 'model name' /proc/cpuinfo; date -u; } | tee "$O/machine.txt"
(cd $H && for f in *.xz; do xz -d -k -f "$f"; done)
chmod +x $H/pipeline $H/preprocess
export ORT_DYLIB_PATH=$PWD/$H/libonnxruntime.so.1.32.0
# The benches find their fixture and scratch folder under the CARGO_MANIFEST_DIR of the
# build (compiled in): /work/main on the dev VM; set M if the binaries were built elsewhere.
M=${M:-/work/main}
mkdir -p $M/tests/fixtures/generated $M/target/bench-data
cmp -s $H/square_detector.onnx $M/tests/fixtures/generated/square_detector.onnx || cp $H/square_detector.onnx $M/tests/fixtures/generated/
echo "== preprocess"
timeout ${T1:-80} $H/preprocess --bench "^preprocess/(cpu|gpu)/" 2>&1 | tee "$O/preprocess.txt"
echo "== pipeline"
timeout ${T2:-110} $H/pipeline --bench 2>&1 | tee "$O/pipeline.txt"
echo "== done"
