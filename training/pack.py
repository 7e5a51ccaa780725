"""Pack the training images, already resampled to data.BASE_GSD, into one small file.

    python training/pack.py --data ../shared/data --out /tmp/satdet-pack.pkl

The pack holds the training groups only (never the held-out ones), each image
area-averaged to BASE_GSD (0.15 m) exactly as `data.cache_base` does and then stored as
JPEG (quality 95, so the pack stays small enough to travel to a GPU machine), with its
boxes, classes, group and GSD. `train.py --data PACK.pkl` trains from it; evaluation
always reads the original data.
"""

import argparse
import os
import pickle
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402

QUALITY = 95


def pack(root, out):
    recs = data.cache_base(data.load_records(root))
    train, _ = data.split(recs)
    rows = []
    for r in train:
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(r["img"], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
        if not ok:
            raise SystemExit(f"could not encode {r['path']}")
        rows.append({k: r[k] for k in ("name", "dataset", "group", "boxes", "cls", "gsd")} | {"jpg": jpg.tobytes()})
    with open(out, "wb") as f:
        pickle.dump({"base_gsd": data.BASE_GSD, "quality": QUALITY, "records": rows}, f, protocol=4)
    return len(rows), os.path.getsize(out)


def unpack(path):
    """Training records (images decoded, RGB uint8, at BASE_GSD) from a pack file."""
    with open(path, "rb") as f:
        p = pickle.load(f)
    if p["base_gsd"] != data.BASE_GSD:
        raise SystemExit(f"{path}: packed at {p['base_gsd']} m, the sampler expects {data.BASE_GSD} m")
    recs = []
    for r in p["records"]:
        img = cv2.imdecode(np.frombuffer(r["jpg"], np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"{path}: image {r['name']} does not decode")
        recs.append({k: r[k] for k in ("name", "dataset", "group", "boxes", "cls", "gsd")}
                    | {"path": f"{path}:{r['name']}", "img": cv2.cvtColor(img, cv2.COLOR_BGR2RGB)})
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    n, size = pack(a.data, a.out)
    print(f"{a.out}: {n} training images, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
