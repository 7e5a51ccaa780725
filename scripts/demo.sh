#!/usr/bin/env bash
# The demo: the bundled model on a real satellite scene, then sites and a report. SpaceNet WorldView-3 pan
# imagery (CC BY-SA 4.0) ships inside the PyPI wheel solaris==0.4.0; the wheel is fetched
# with pip (no dependencies, not installed) and one scene extracted from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p demo
scene=demo/road_mask_input.tif
if [ ! -f "$scene" ]; then
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps solaris==0.4.0 -d demo/wheel
  .venv/bin/python - <<'PY'
import glob, zipfile
whl = glob.glob("demo/wheel/solaris-0.4.0-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    for name in ["solaris/data/road_mask_input.tif", "solaris/data/preproc_tutorial/pan1.tif"]:
        with open("demo/" + name.rsplit("/", 1)[1], "wb") as f:
            f.write(z.read(name))
PY
fi
# The analyst's workflow: detect, group into sites, write the report.
satdet() { cargo run -q --features serde --example satdet -- "$@"; }
satdet detect "$scene" --output demo/las_vegas.geojson --quicklook demo/las_vegas.png
satdet sites demo/las_vegas.geojson --output demo/las_vegas_sites.geojson
satdet report --detections demo/las_vegas.geojson --sites demo/las_vegas_sites.geojson \
  --scene "$scene" --output demo/las_vegas_report.html
echo "detections: demo/las_vegas.geojson  sites: demo/las_vegas_sites.geojson"
echo "quick-look: demo/las_vegas.png  report: demo/las_vegas_report.html"
