"""Hand check on real satellite crops (no labels exist for them): run a model on the two
fixed crops of the SpaceNet scenes shipped in the solaris==0.4.0 wheel, score its boxes
against reference points marked by eye (`satellite_handcheck.json`) and write zoomed
quick-looks to look at.

    python training/handcheck.py MODEL.onnx [CONF] [SOLARIS_DATA_DIR] [OUT_DIR]

(get the scenes as in `solaris_check.py`). A reference car counts as found when a box
(any class) contains its point (2 px tolerance); a box is false when it contains neither
a reference car nor an 'ambiguous' point. The reference marks are one person's reading
of the image: they are a repeatable way to count, not ground truth. Look at the
quick-looks before quoting the numbers.
"""
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402

REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "satellite_handcheck.json")
COLOURS_BGR = [(0, 0, 255), (255, 200, 0), (0, 255, 255)]  # car red, truck light blue, excavator yellow
TOL = 2


def load_crop(root, c):
    """Whole-scene 2-98 % stretch over non-zero pixels (as the crate does for 16-bit
    scenes), pan replicated to 3 bands, then the crop."""
    im = cv2.imread(os.path.join(root, c["file"]), cv2.IMREAD_UNCHANGED).astype(np.float32)
    lo, hi = np.percentile(im[im > 0], [2, 98])
    x = np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1)[c["y0"]:c["y1"], c["x0"]:c["x1"]]
    return np.repeat(x[..., None], 3, -1).astype(np.float32)


def score(boxes, cars, amb):
    def inside(p, b):
        return b[0] - TOL <= p[0] <= b[2] + TOL and b[1] - TOL <= p[1] <= b[3] + TOL
    found = sum(any(inside(p, b) for b in boxes) for p in cars)
    false = sum(not any(inside(p, b) for p in cars + amb) for b in boxes)
    return {"boxes": len(boxes), "reference_cars": len(cars), "found": found, "missed": len(cars) - found,
            "false_boxes": false}


def main():
    model = sys.argv[1]
    conf = float(sys.argv[2]) if len(sys.argv) > 2 else 0.4
    root = sys.argv[3] if len(sys.argv) > 3 else "/tmp/solaris/solaris/data"
    out = sys.argv[4] if len(sys.argv) > 4 else "/tmp/satdet-handcheck"
    os.makedirs(out, exist_ok=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    res = {}
    for k, c in json.load(open(REF))["crops"].items():
        x = load_crop(root, c)
        b, s, cl = evaluate.detect(sess, x, conf=conf, iou_thr=0.5)
        res[k] = score(b.tolist(), c["cars"], c["ambiguous"])
        res[k]["by_class"] = [int((cl == i).sum()) for i in range(3)]
        z = 3 if max(x.shape[:2]) > 400 else 4
        v = cv2.resize((x * 255).astype(np.uint8), None, fx=z, fy=z, interpolation=cv2.INTER_CUBIC)
        for bb, cc in zip(b, cl):
            cv2.rectangle(v, (int(bb[0] * z), int(bb[1] * z)), (int(bb[2] * z), int(bb[3] * z)), COLOURS_BGR[cc], 2)
        for p in c["cars"]:
            cv2.circle(v, (int(p[0] * z), int(p[1] * z)), 3, (0, 255, 0), -1)
        for p in c["ambiguous"]:
            cv2.circle(v, (int(p[0] * z), int(p[1] * z)), 3, (0, 200, 255), -1)
        cv2.imwrite(os.path.join(out, f"{k}.png"), v)
        print(k, json.dumps(res[k]), flush=True)
    json.dump(res, open(os.path.join(out, "handcheck.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
