"""Every EPSG system satdet knows, reprojected by satdet and by PROJ (pyproj), compared.

For each projected or geographic EPSG definition in `crs-definitions` (satdet's source of
definitions), a WGS84 point at the centre of the system's area of use is placed in the
system by PROJ, then brought back to WGS84 by satdet (`examples/reproject.rs`). Two
placements:

- `best`: PROJ's best transformation for the EPSG code, as GDAL and QGIS use it;
- `same`: PROJ reading the very definition satdet reads, so that only the projection
  arithmetic differs (the datum shift is the same by construction).

    python scripts/crs/sweep.py CRS_DEFINITIONS_DEFS_RS REPROJECT_BINARY

Prints, for each placement, how many systems agree within 0.1 m and 1 m, how many are
further off, the worst of those, and the errors by reason. Used by `scripts/crs/sweep.sh`.
"""
import collections
import math
import re
import subprocess
import sys
import warnings

from pyproj import Transformer
from pyproj.database import query_crs_info

warnings.filterwarnings("ignore")
defs_rs, binary = sys.argv[1], sys.argv[2]
defs = {}
for line in open(defs_rs):
    m = re.match(r'^EPSG_\d+\|(\d+)\|"([^"]*)"', line)
    if m and "+proj=geocent" not in m.group(2):
        defs[int(m.group(1))] = m.group(2)
area = {int(i.code): i.area_of_use.bounds for i in query_crs_info(auth_name="EPSG") if i.area_of_use}
WGS84 = "+proj=longlat +datum=WGS84 +no_defs"


def centre(code):
    w, s, e, n = area[code]
    if w > e:  # across the antimeridian
        e += 360
    lon = (w + e) / 2
    return (lon - 360 if lon > 180 else lon), (s + n) / 2


for mode in ("best", "same"):
    points = []
    for code, d in sorted(defs.items()):
        if code not in area:
            continue
        lon, lat = centre(code)
        try:
            t = Transformer.from_crs(4326 if mode == "best" else WGS84, code if mode == "best" else d, always_xy=True)
            x, y = t.transform(lon, lat)
        except Exception:
            continue
        if math.isfinite(x) and math.isfinite(y):
            points.append((code, x, y, lon, lat))
    out = subprocess.run([binary], input="".join(f"{c} {x!r} {y!r}\n" for c, x, y, _, _ in points),
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(points), (len(out), len(points))
    counts, far, errors = collections.Counter(), [], collections.Counter()
    for (code, x, y, lon, lat), line in zip(points, out):
        f = line.split(" ", 2)
        if f[1] == "ERR":
            m = re.search(r"not supported: (.*)$|(no PROJ definition)|(meridian other than Greenwich)|(grid file)", f[2])
            errors[next((g for g in m.groups() if g), "?") if m else f[2]] += 1
            continue
        lo, la = float(f[1]), float(f[2])
        p1, p2 = math.radians(lat), math.radians(la)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo - lon) / 2) ** 2
        dist = 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(h)))
        counts["<= 0.1 m" if dist <= 0.1 else "<= 1 m" if dist <= 1 else "> 1 m"] += 1
        if dist > 1:
            far.append((dist, code))
    print(f"{mode}: {len(points)} systems; " + ", ".join(f"{k}: {counts[k]}" for k in ("<= 0.1 m", "<= 1 m", "> 1 m"))
          + f"; errors: {sum(errors.values())} " + str(dict(errors)))
    far.sort(reverse=True)
    print("  furthest: " + ", ".join(f"EPSG:{c} {d:.1f} m" for d, c in far[:8]))
