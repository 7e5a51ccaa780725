#!/usr/bin/env bash
# Peak memory (maximum resident set size, from GNU time) of `satdet detect` on a 0.1 and a
# 1 gigapixel scene, at the defaults (batch 2 on the CPU), with --batch 8 and with --max-memory 512. The scenes
# are the demo scene (1300 x 1300 px, 16-bit pan) repeated side by side, put in UTM 11N
# at 0.3 m, written as tiled Deflate GeoTIFFs under target/memory/ (about 0.2 and 1.6 GB).
#   bash scripts/memory.sh [SIDES...]      (default: 10000 31623, i.e. 0.1 and 1.0 Gpx)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
if [ ! -f demo/road_mask_input.tif ]; then bash scripts/demo.sh >/dev/null; fi
cargo build -q --features serde --example satdet
bin=target/debug/examples/satdet
dir=target/memory
mkdir -p "$dir"
sides=("$@")
[ ${#sides[@]} -gt 0 ] || sides=(10000 31623)
printf '| scene | run | peak RSS (MiB) | tiles | wall (s) |\n|---|---|---|---|---|\n'
for side in "${sides[@]}"; do
  scene="$dir/scene_$side.tif"
  if [ ! -f "$scene" ]; then
    python3 scripts/bench/mosaic_vrt.py "$side" EPSG:32611 660000 4000000 "$dir/scene_$side.vrt"
    gdal_translate -q -co TILED=YES -co COMPRESS=DEFLATE -co BIGTIFF=YES "$dir/scene_$side.vrt" "$scene"
  fi
  for run in "defaults" "--batch 8" "--max-memory 512"; do
    args=()
    [ "$run" = defaults ] || read -r -a args <<<"$run"
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$dir/rss.txt" "$bin" detect "$scene" --output "$dir/out_$side.geojson" "${args[@]}" >"$dir/log.txt" 2>&1
    end=$(date +%s.%N)
    kb=$(tail -1 "$dir/rss.txt")
    tiles=$(grep -o 'tiles: [0-9]* processed' "$dir/log.txt" | grep -o '[0-9]*')
    printf '| %s px (%.2f Gpx) | %s | %d | %s | %.0f |\n' "${side}x${side}" "$(echo "$side*$side/1000000000" | bc -l)" "$run" $((kb / 1024)) "$tiles" "$(echo "$end - $start" | bc -l)"
  done
done
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); $(date -u +%F)"
