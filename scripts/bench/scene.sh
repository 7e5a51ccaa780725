#!/usr/bin/env bash
# The benchmark scene, made once: the demo scene (SpaceNet Las Vegas, 1300 x 1300 px 11-bit
# pan; fetched by scripts/demo.sh) repeated to 8192 x 8192, stretched to 8 bits (mean - 2
# sd .. mean + 3 sd), as 3-band RGB, UTM 33N at 0.3 m, tiled (256 px) Deflate GeoTIFF:
# 256 tiles of 640 px at 20 % overlap. Needs gdal-bin. Prints the scene's path.
#   bash scripts/bench/scene.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f demo/road_mask_input.tif ] || bash scripts/demo.sh >/dev/null
dir=target/bench-data
mkdir -p "$dir"
scene=$dir/scene_8192_rgb.tif
if [ ! -f "$scene" ]; then
  read -r lo hi < <(gdalinfo -json -stats demo/road_mask_input.tif | python3 -c '
import json, sys
b = json.load(sys.stdin)["bands"][0]
print(round(max(b["minimum"], b["mean"] - 2 * b["stdDev"])), round(min(b["maximum"], b["mean"] + 3 * b["stdDev"])))')
  rm -f demo/road_mask_input.tif.aux.xml
  python3 scripts/bench/mosaic_vrt.py 8192 EPSG:32633 500000 5000000 "$dir/scene_8192.vrt"
  gdal_translate -q -ot Byte -scale "$lo" "$hi" 0 255 -b 1 -b 1 -b 1 -co PHOTOMETRIC=RGB \
    -co TILED=YES -co COMPRESS=DEFLATE "$dir/scene_8192.vrt" "$scene.tmp.tif"
  mv "$scene.tmp.tif" "$scene"
fi
echo "$scene"
