"""A VRT of the demo scene (demo/road_mask_input.tif, 1300 x 1300 px, 16-bit pan)
repeated side by side to SIDE x SIDE pixels, put in SRS at 0.3 m with its top-left
corner at (X0, Y0): the large test scenes of scripts/memory.sh and scripts/bench/scene.sh.

    python3 scripts/bench/mosaic_vrt.py SIDE SRS X0 Y0 OUT.vrt
"""
import os
import sys

side, srs, x0, y0, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
n = 1300
demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "demo", "road_mask_input.tif")
src = os.path.relpath(demo, os.path.dirname(os.path.abspath(out)))
rows = []
for y in range(0, side, n):
    for x in range(0, side, n):
        w, h = min(n, side - x), min(n, side - y)
        rows.append(f'<SimpleSource><SourceFilename relativeToVRT="1">{src}</SourceFilename><SourceBand>1</SourceBand>'
                    f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/><DstRect xOff="{x}" yOff="{y}" xSize="{w}" ySize="{h}"/></SimpleSource>')
with open(out, "w") as f:
    f.write(f'''<VRTDataset rasterXSize="{side}" rasterYSize="{side}">
<SRS>{srs}</SRS><GeoTransform>{x0}, 0.3, 0, {y0}, 0, -0.3</GeoTransform>
<VRTRasterBand dataType="UInt16" band="1">{"".join(rows)}</VRTRasterBand></VRTDataset>''')
