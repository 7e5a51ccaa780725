#!/usr/bin/env bash
# satdet's reprojection against PROJ for every EPSG system it knows (scripts/crs/sweep.py):
# installs pyproj in a throw-away venv, builds examples/reproject.rs, prints the summary.
#
#   bash scripts/crs/sweep.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/crs-sweep/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyproj' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check pyproj==3.7.2
fi
cargo build -q --release --example reproject
defs=$(cargo metadata --format-version 1 | "$venv/bin/python" -c '
import json, sys, os
m = json.load(sys.stdin)
p = next(p for p in m["packages"] if p["name"] == "crs-definitions")
print(os.path.join(os.path.dirname(p["manifest_path"]), "src", "defs.rs"))')
"$venv/bin/python" scripts/crs/sweep.py "$defs" target/release/examples/reproject
