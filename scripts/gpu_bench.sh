#!/usr/bin/env bash
# satdet on an NVIDIA GPU: the CPU default against CUDA at batch 1, 8 and 32, CUDA with the
# WGSL preprocessing on the same GPU (Vulkan), TensorRT, and bare onnxruntime on CUDA, on
# one scene, in interleaved rounds. Written to run once, unattended, when a GPU machine
# is lent (about 8 minutes with a warm cargo cache; Linux, NVIDIA driver, nvidia-smi).
#
# Scene: scripts/bench/scene.sh (8192 x 8192 RGB 8-bit at 0.3 m, 6.04 km², 256 tiles of
# 640 px at 20 % overlap). Model: the bundled one (models/satdet-vehicles.onnx).
#
# Installs onnxruntime-gpu with its CUDA and cuDNN wheels (its `cuda,cudnn` extras) into a
# throw-away virtual environment under target/gpu-bench/venv, points LD_LIBRARY_PATH at
# the wheels' libraries and ORT_DYLIB_PATH at its libonnxruntime, and builds the example
# with `--features serde,cuda,tensorrt` (the features compile the registration only; the
# libraries are found at run time). The version follows the driver's CUDA: PyPI's
# onnxruntime-gpu 1.27 and later are built for CUDA 13, 1.26.0 is the last for CUDA 12
# (there is no onnxruntime-gpu 1.32.0 on PyPI to match the CPU package).
#
# Each round runs every row once, in order: satdet detect (release build; whole-process
# wall from `date +%s.%N`, peak RSS from GNU time, and the `time:` line satdet prints,
# busy seconds per stage), then bare onnxruntime (run loop only, host memory, after one
# untimed warm-up). Best-effort rows (--preprocess gpu; TensorRT, whose libraries come
# from the tensorrt-cuNN-libs wheel matching what onnxruntime links) are skipped with
# the reason printed and in the table; a row that fails is reported, not fatal: the
# table is always written, and the exit status is 1 if a CPU or CUDA row failed.
# TensorRT builds its engines in an untimed warm-up run per batch size, cached under
# target/gpu-bench/tensorrt-cache (SATDET_TENSORRT_CACHE).
#
#   bash scripts/gpu_bench.sh [ROUNDS]                  (default 3)
#   GPU_BENCH_CPU_ONLY=1 bash scripts/gpu_bench.sh 1    (no GPU: the CPU rows only, to test this script)
#
# Optional: ORT_GPU_VERSION (the onnxruntime-gpu to install), SATDET_BIN (a satdet built
# elsewhere: no cargo build), SCENE (the scene, instead of scene.sh), PIP_NO_INDEX=1 with
# PIP_FIND_LINKS=DIR (wheels brought along, for a machine without network).
#
# Writes target/gpu-bench/results.md (copied to $OUT/ when OUT is set): the table (wall
# min-max and median, km²/s, peak RSS, speed-up of medians against the CPU default),
# the GPU (nvidia-smi), CPU, date and the command.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cpu_only=${GPU_BENCH_CPU_ONLY:-0}
command_line="$(printf "%q " "GPU_BENCH_CPU_ONLY=$cpu_only" bash scripts/gpu_bench.sh "$@")"
command_line=${command_line% }
dir=target/gpu-bench
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
model=models/satdet-vehicles.onnx
tiles=256
say() { echo "gpu_bench: $*" >&2; }
die() { say "$*"; exit 1; }
skipped=() # "row: reason", printed and written under the table

# The GPU, and the CUDA major version its driver supports (it chooses onnxruntime-gpu).
gpu_info="(none: GPU_BENCH_CPU_ONLY=1)"
if [ "$cpu_only" != 1 ]; then
  command -v nvidia-smi >/dev/null ||
    die "nvidia-smi not found: this benchmark needs an NVIDIA GPU and its driver (GPU_BENCH_CPU_ONLY=1 runs the CPU rows only)"
  gpu_info=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv) ||
    die "nvidia-smi cannot query the GPU (is the driver loaded?)"
  cuda_major=$(nvidia-smi | awk -F'CUDA Version: *' 'NF > 1 && !n++ {split($2, v, "."); print v[1]}')
  [ -n "$cuda_major" ] || die "nvidia-smi does not say which CUDA version the driver supports"
  [ "$cuda_major" -ge 12 ] || die "the driver supports CUDA $cuda_major; onnxruntime-gpu needs CUDA 12 or 13"
  say "GPU: $(echo "$gpu_info" | tail -n +2 | head -1); driver CUDA $cuda_major"
fi

# onnxruntime: the GPU package (or, CPU only, the CPU one) in its own environment.
venv=$dir/venv
if [ "$cpu_only" = 1 ]; then
  ort_pkg=onnxruntime==1.32.0
elif [ "$cuda_major" -ge 13 ]; then
  ort_pkg="onnxruntime-gpu[cuda,cudnn]==${ORT_GPU_VERSION:-1.31.1}"
else
  ort_pkg="onnxruntime-gpu[cuda,cudnn]==${ORT_GPU_VERSION:-1.26.0}"
fi
if [ ! -f "$venv/installed" ] || [ "$(cat "$venv/installed")" != "$ort_pkg" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  say "installing $ort_pkg into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$ort_pkg" numpy
  echo "$ort_pkg" >"$venv/installed"
fi
py=$venv/bin/python
site=$("$py" -c 'import onnxruntime, os; print(os.path.dirname(os.path.dirname(onnxruntime.__file__)))')
capi=$site/onnxruntime/capi
ORT_DYLIB_PATH=$(find "$capi" -maxdepth 1 -name 'libonnxruntime.so.1.*' | head -1)
[ -n "$ORT_DYLIB_PATH" ] || die "no libonnxruntime.so.1.* in $capi"
export ORT_DYLIB_PATH
# The nvidia-* wheels keep their libraries in site-packages/nvidia/*/lib (cu13: nvidia/cu13/lib).
if [ -d "$site/nvidia" ]; then
  libs=$(find "$site/nvidia" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd: -)
  export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
ort_version=$("$py" -c 'import onnxruntime as o; print(o.__version__, o.get_available_providers())')
say "onnxruntime $ort_version at $ORT_DYLIB_PATH"

# TensorRT (best effort): the libnvinfer that onnxruntime's TensorRT provider links.
tensorrt=0
if [ "$cpu_only" = 1 ]; then
  skipped+=("TensorRT rows: GPU_BENCH_CPU_ONLY=1")
elif [ ! -f "$capi/libonnxruntime_providers_tensorrt.so" ]; then
  skipped+=("TensorRT rows: this onnxruntime-gpu has no TensorRT provider library")
else
  linked=$(ldd "$capi/libonnxruntime_providers_tensorrt.so" || true)
  nvinfer=$(awk '/libnvinfer\.so/ && !n++ {print $1}' <<<"$linked")
  if [ -n "$nvinfer" ] && grep -q "$nvinfer => not found" <<<"$linked"; then
    trt_pkg="tensorrt-cu${cuda_major}-libs==${nvinfer##*.so.}.*"
    say "installing $trt_pkg (best effort) for $nvinfer"
    "$py" -m pip install -q --disable-pip-version-check "$trt_pkg" ||
      say "pip could not install $trt_pkg"
    trt_lib=$(find "$site" -path '*tensorrt_libs*' -name 'libnvinfer.so*' -printf '%h\n' | head -1) || true
    [ -z "$trt_lib" ] || export LD_LIBRARY_PATH="$trt_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  missing=$({ ldd "$capi/libonnxruntime_providers_tensorrt.so" || true; } | awk '/not found/ {print $1}' | paste -sd' ' -)
  if [ -n "$missing" ]; then
    skipped+=("TensorRT rows: libraries not found: $missing")
  else
    tensorrt=1
    export SATDET_TENSORRT_CACHE=$dir/tensorrt-cache
  fi
fi

# satdet: a release build of the example program.
if [ -n "${SATDET_BIN:-}" ]; then
  bin=$SATDET_BIN
else
  command -v cargo >/dev/null || die "cargo not found: install Rust, or set SATDET_BIN to a satdet built elsewhere"
  features=serde,cuda,tensorrt
  [ "$cpu_only" != 1 ] || features=serde
  say "cargo build --release --features $features --example satdet"
  cargo build -q --release --features "$features" --example satdet
  bin=target/release/examples/satdet
fi
[ -x "$bin" ] || die "$bin is not an executable"

scene=${SCENE:-$(bash scripts/bench/scene.sh)}
say "scene: $scene"

# Rows: NAME|KIND|ARGS|REQUIRED. KIND satdet runs `satdet detect SCENE ARGS`; bare runs
# bare_ort.py with ARGS as "BATCH PROVIDER".
rows=("cpu, default batch (2)|satdet|--device cpu|1")
rows+=("bare onnxruntime cpu, batch 1|bare|1 cpu|1")
if [ "$cpu_only" != 1 ]; then
  rows+=("cuda, batch 1|satdet|--device cuda --batch 1|1")
  rows+=("cuda, batch 8 (default)|satdet|--device cuda --batch 8|1")
  rows+=("cuda, batch 32|satdet|--device cuda --batch 32|1")
  rows+=("cuda, batch 32, --preprocess gpu|satdet|--device cuda --batch 32 --preprocess gpu|0")
  if [ "$tensorrt" = 1 ]; then
    rows+=("tensorrt, batch 8|satdet|--device tensorrt --batch 8|0")
    rows+=("tensorrt, batch 32|satdet|--device tensorrt --batch 32|0")
  fi
  for b in 1 8 32; do rows+=("bare onnxruntime cuda, batch $b|bare|$b cuda|1"); done
fi

results=$dir/results.tsv
: >"$results"
failed_required=0
declare -A dead=() # rows that failed once: not run again

run_row() { # NAME KIND ARGS -> appends NAME, wall, RSS MiB, time line to results; 1 on failure
  local name=$1 kind=$2 args=() cmd=() start end kb t=""
  read -r -a args <<<"$3"
  if [ "$kind" = satdet ]; then
    cmd=("$bin" detect "$scene" --output "$dir/satdet.geojson" "${args[@]}")
  else
    cmd=("$py" scripts/bench/bare_ort.py "$model" "$tiles" "${args[@]}")
  fi
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$dir/rss.txt" "${cmd[@]}" >"$dir/out.txt" 2>&1 || return 1
  else # no GNU time: the same figure (children's ru_maxrss, KiB) through Python
    "$py" -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r.returncode)' "$dir/rss.txt" "${cmd[@]}" >"$dir/out.txt" 2>&1 || return 1
  fi
  end=$(date +%s.%N)
  kb=$(tail -1 "$dir/rss.txt")
  if [ "$kind" = satdet ]; then
    t=$(grep -m1 '^time:' "$dir/out.txt" | sed 's/^time: //') || true
    grep -m1 '^preprocessing:' "$dir/out.txt" >&2 || true
    printf '%s\t%.3f\t%d\t%s\n' "$name" "$(echo "$end - $start" | bc -l)" $((kb / 1024)) "$t" | tee -a "$results"
  else # bare: the run loop alone (the process also loads onnxruntime and the model)
    t=$(awk '/^seconds/ {print $2}' "$dir/out.txt")
    printf '%s\t%s\t%d\t%s\n' "$name" "$t" $((kb / 1024)) "run loop only; process $(printf '%.2f' "$(echo "$end - $start" | bc -l)") s" | tee -a "$results"
  fi
}

# TensorRT builds an engine per batch shape on first use: once, untimed, before the rounds.
if [ "$tensorrt" = 1 ]; then
  for b in 8 32; do
    say "TensorRT warm-up (engine build), batch $b"
    start=$(date +%s.%N)
    if "$bin" detect "$scene" --output "$dir/satdet.geojson" --device tensorrt --batch "$b" >"$dir/out.txt" 2>&1; then
      say "  engine build and first run: $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc -l)") s"
    else
      dead["tensorrt, batch $b"]=1
      skipped+=("tensorrt, batch $b: $(grep -m1 -i 'error' "$dir/out.txt" || tail -1 "$dir/out.txt")")
    fi
  done
fi

for r in $(seq "$rounds"); do
  say "round $r of $rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for row in "${rows[@]}"; do
    IFS='|' read -r name kind args required <<<"$row"
    [ -z "${dead[$name]:-}" ] || continue
    if ! run_row "$name" "$kind" "$args"; then
      dead[$name]=1
      why=$(grep -m1 -i 'error' "$dir/out.txt" || tail -1 "$dir/out.txt")
      say "$name FAILED: $why"
      tail -5 "$dir/out.txt" >&2
      if [ "$required" = 1 ]; then
        failed_required=1
        skipped+=("$name: FAILED: $why")
      else
        skipped+=("$name: skipped (best effort): $why")
      fi
    fi
  done
done

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
report=$dir/results.md
{
  echo "# satdet on the GPU ($(date -u '+%F %H:%M UTC'))"
  echo
  echo "$rounds rounds, interleaved; 8192 x 8192 RGB 8-bit, $tiles tiles of 640 px, 6.04 km² at 0.3 m;"
  echo "satdet rows: whole-process wall; bare rows: the run loop only (no process start, model load or I/O)."
  echo
  python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names = list(dict.fromkeys(r[0] for r in rows))
km2 = 8192 * 8192 * 0.3 * 0.3 / 1e6
by = {n: [r for r in rows if r[0] == n] for n in names}
med = {n: statistics.median(float(r[1]) for r in by[n]) for n in names}
base = med.get("cpu, default batch (2)")
print("| run | wall (s), min-max | median (s) | km²/s | peak RSS (MiB) | speed-up vs CPU default | satdet `time:` (median run) |")
print("|---|---|---|---|---|---|---|")
for n in names:
    w = sorted(float(r[1]) for r in by[n])
    rss = [int(r[2]) for r in by[n]]
    mid = min(by[n], key=lambda r: abs(float(r[1]) - med[n]))
    up = f"{base / med[n]:.2f}" if base else "-"
    print(f"| {n} | {w[0]:.2f}-{w[-1]:.2f} | {med[n]:.2f} | {km2 / med[n]:.2f} | {min(rss)}-{max(rss)} | {up} | {mid[3]} |")
PY
  echo
  if [ ${#skipped[@]} -gt 0 ]; then
    echo "Not measured:"
    for s in "${skipped[@]}"; do echo "- $s"; done
    echo
  fi
  echo "GPU (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv):"
  echo '```'
  echo "$gpu_info"
  echo '```'
  echo "CPU: $cpu_model, $(nproc) cores available; $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "onnxruntime: $ort_version ($ORT_DYLIB_PATH)"
  echo "satdet: $("$bin" --version 2>/dev/null || echo "$bin") at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "Command: \`$command_line\`"
} >"$report"
cat "$report"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$report" "$OUT/gpu_bench_results.md"
  cp "$results" "$OUT/gpu_bench_results.tsv"
fi
exit "$failed_required"
