#!/usr/bin/env bash
# satdet vs SAHI vs bare onnxruntime on one scene, same model, same tiles, interleaved.
#
# Scene: scripts/bench/scene.sh (the demo scene repeated to 8192 x 8192 RGB 8-bit, UTM
# 33N at 0.3 m, tiled Deflate): 256 tiles of 640 px at 20 % overlap for both satdet and
# SAHI. Model: models/satdet-vehicles.onnx.
#
# Runs, each round in this order: every satdet variant (release build of the example,
# whole-process wall), SAHI 0.12.8 get_sliced_prediction (scripts/bench/sahi_run.py,
# whole-process wall: reading the scene, slicing, inference, merging), bare onnxruntime
# 1.32 on 256 random inputs at batch 1, 2 (the CPU default) and 8 (run loop only). SAHI is installed in a
# throw-away virtual environment under target/bench-sahi/venv.
#
#   bash scripts/bench_vs_sahi.sh [ROUNDS]          (default 3)
#   SATDET_RUNS='defaults;--int8' bash scripts/bench_vs_sahi.sh
#   SAHI_INT8=1 ...   SAHI and bare onnxruntime run the INT8 file too (models/satdet-vehicles-int8.onnx),
#                     so that satdet --int8 is compared with SAHI on the same model
#
# Prints one line per run, then a table: min-max wall, peak RSS, ratios of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
IFS=';' read -r -a variants <<<"${SATDET_RUNS:-defaults;--batch 8}"
[ -x /usr/bin/time ] || { echo "bench_vs_sahi.sh: /usr/bin/time (GNU time, for peak memory) is missing: apt-get install time" >&2; exit 1; }
bash scripts/setup.sh >/dev/null
dir=target/bench-sahi
mkdir -p "$dir"
model=models/satdet-vehicles.onnx
int8_model=models/satdet-vehicles-int8.onnx
sahi_int8=${SAHI_INT8:-0}

scene=$(bash scripts/bench/scene.sh)

venv=$dir/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sahi, onnxruntime, cv2' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    sahi==0.12.8 onnxruntime==1.32.0 opencv-python-headless numpy
  # sahi requires opencv-python; the headless wheel is the same library without GUI
  # dependencies (a server has no libGL): replace it if pip pulled the GUI one.
  if "$venv/bin/python" -m pip show -q opencv-python >/dev/null 2>&1; then
    "$venv/bin/python" -m pip uninstall -q -y opencv-python
    "$venv/bin/python" -m pip install -q --force-reinstall --no-deps opencv-python-headless
  fi
fi

cargo build -q --release --features serde --example satdet
bin=target/release/examples/satdet
tiles=256
results=$dir/results.tsv
: >"$results"

timed() { # NAME COMMAND... : whole-process wall (s) and peak RSS (MiB), appended to results
  local name=$1; shift
  local start end kb
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$dir/rss.txt" "$@" >"$dir/out.txt" 2>&1 || { cat "$dir/out.txt"; exit 1; }
  end=$(date +%s.%N)
  kb=$(tail -1 "$dir/rss.txt")
  printf '%s\t%.3f\t%d\n' "$name" "$(echo "$end - $start" | bc -l)" $((kb / 1024)) | tee -a "$results"
}

for r in $(seq "$rounds"); do
  echo "round $r of $rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for v in "${variants[@]}"; do
    args=()
    [ "$v" = defaults ] || read -r -a args <<<"$v"
    timed "satdet $v" "$bin" detect "$scene" --output "$dir/satdet.geojson" "${args[@]}"
    grep -o 'tiles: [0-9]* processed\|[0-9]* detections' "$dir/out.txt" | head -2 | tr '\n' ' '; echo
  done
  timed "SAHI 0.12.8" "$venv/bin/python" scripts/bench/sahi_run.py "$model" "$scene"
  cat "$dir/out.txt"
  if [ "$sahi_int8" = 1 ]; then
    timed "SAHI 0.12.8, INT8 model" "$venv/bin/python" scripts/bench/sahi_run.py "$int8_model" "$scene"
    cat "$dir/out.txt"
  fi
  for b in 1 2 8; do
    s=$(.venv/bin/python scripts/bench/bare_ort.py "$model" "$tiles" "$b" | awk '/^seconds/ {print $2}')
    printf 'bare onnxruntime, batch %s\t%s\t-\n' "$b" "$s" | tee -a "$results"
  done
  if [ "$sahi_int8" = 1 ]; then
    s=$(.venv/bin/python scripts/bench/bare_ort.py "$int8_model" "$tiles" 1 | awk '/^seconds/ {print $2}')
    printf 'bare onnxruntime, INT8 model, batch 1\t%s\t-\n' "$s" | tee -a "$results"
  fi
done

python3 - "$results" "$rounds" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
names = list(dict.fromkeys(r[0] for r in rows))
wall = {n: [float(r[1]) for r in rows if r[0] == n] for n in names}
rss = {n: [r[2] for r in rows if r[0] == n] for n in names}
med = {n: statistics.median(v) for n, v in wall.items()}
sahi, bare = med["SAHI 0.12.8"], med["bare onnxruntime, batch 1"]
km2 = 8192 * 8192 * 0.3 * 0.3 / 1e6
print(f"\n{sys.argv[2]} rounds, interleaved; 8192 x 8192 RGB 8-bit, 256 tiles of 640 px, {km2:.2f} km2 at 0.3 m")
sahi8 = med.get("SAHI 0.12.8, INT8 model")
extra = " SAHI INT8 / run |" if sahi8 else ""
print(f"| run | wall (s), min-max | peak RSS (MiB) | SAHI / run |{extra} run / bare batch 1 | km2/s |")
print("|---|---|---|---|---|---|" + ("---|" if sahi8 else ""))
for n in names:
    w = wall[n]
    r = "-" if rss[n][0] == "-" else f"{min(map(int, rss[n]))}-{max(map(int, rss[n]))}"
    x = f" {sahi8 / med[n]:.2f} |" if sahi8 else ""
    print(f"| {n} | {min(w):.2f}-{max(w):.2f} | {r} | {sahi / med[n]:.2f} |{x} {med[n] / bare:.2f} | {km2 / med[n]:.2f} |")
PY
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u +%F)"
