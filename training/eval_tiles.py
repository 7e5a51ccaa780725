"""Held-out evaluation of ONNX models at another window size than the 640 px default.

    python training/eval_tiles.py --data /work/shared/data --tile 1280 --overlap 128 \
        models/satdet-vehicles.onnx models/satdet-vehicles-int8.onnx [--report FILE.json]

The crate can feed the fully convolutional model larger windows (`--input-size 1280
--overlap 0.1`): fewer pixels are inferred twice, so a scene runs faster. This runs
`train.py`'s held-out evaluation of real images (`evaluate.eval_real` at 0.3 and 0.5 m,
and grayscale at 0.3 m) with the evaluation's tiling set to that window and overlap
instead of 640 / 128 px, so the accuracy of that setting is measured, not assumed. (The
synthetic excavator scenes are 640 px: not run.)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import evaluate  # noqa: E402
import quantize  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--tile", type=int, default=1280)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    if args.tile % 16 or not 0 <= args.overlap < args.tile:
        raise SystemExit(f"--tile must be a multiple of 16 and --overlap in [0, tile): {args.tile}, {args.overlap}")
    import cv2

    cv2.setNumThreads(1)
    evaluate.TILE, evaluate.OVERLAP = args.tile, args.overlap
    recs = data.cache_base(data.load_records(args.data))
    _, val_recs = data.split(recs)
    rep = {"tile": args.tile, "overlap": args.overlap, "models": {}}
    for path in args.models:
        sess = quantize.session(path, args.threads)
        ev = {f"real_heldout_gsd_{g}": evaluate.eval_real(sess, val_recs, g) for g in (0.3, 0.5)}
        ev["real_heldout_gsd_0.3_grayscale"] = evaluate.eval_real(sess, val_recs, 0.3, gray=True)
        rep["models"][path] = s = quantize.summary(ev)
        print(json.dumps({"model": path, "car_0.3": s["real_heldout_gsd_0.3"]["car"],
                          "car_0.5": s["real_heldout_gsd_0.5"]["car"],
                          "gray_0.3": s["real_heldout_gsd_0.3_grayscale"]["car"],
                          "truck_0.3_0.5": [s["real_heldout_gsd_0.3"]["truck"], s["real_heldout_gsd_0.5"]["truck"]]}),
              flush=True)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main()
