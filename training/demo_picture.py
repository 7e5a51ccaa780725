"""The README's demo picture, made in Python: the model on the whole Las Vegas
WorldView-3 pan scene (`road_mask_input.tif` from the solaris==0.4.0 wheel, see
`solaris_check.py`), tiled exactly as `evaluate.detect` does (the crate's way: 640x640
tiles, 128 px overlap, 114/255 padding, class-aware NMS), then the 700x700 crop at
columns 300-999, rows 0-699 with the boxes drawn (red: car, light blue: truck,
yellow: excavator).

    python training/demo_picture.py MODEL.onnx [CONF] [SCENE.tif] [OUT.jpg]
"""
import json
import os
import sys

import cv2
import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate  # noqa: E402

COLOURS_RGB = [(255, 40, 40), (120, 200, 255), (255, 230, 0)]


def main():
    model = sys.argv[1]
    meta = {p.key: p.value for p in onnx.load(model).metadata_props}
    conf = float(sys.argv[2]) if len(sys.argv) > 2 else float(meta.get("conf", 0.4))
    scene = sys.argv[3] if len(sys.argv) > 3 else "/tmp/solaris/solaris/data/road_mask_input.tif"
    out = sys.argv[4] if len(sys.argv) > 4 else "docs/demo_las_vegas.jpg"
    im = cv2.imread(scene, cv2.IMREAD_UNCHANGED).astype(np.float32)
    lo, hi = np.percentile(im[im > 0], [2, 98])
    x = np.repeat(np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1)[..., None], 3, -1).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    b, s, c = evaluate.detect(sess, x, conf=conf, iou_thr=0.5)
    vis = (x * 255 + 0.5).astype(np.uint8).copy()
    for bb, cc in zip(b, c):
        cv2.rectangle(vis, (int(round(bb[0])), int(round(bb[1]))), (int(round(bb[2])), int(round(bb[3]))),
                      COLOURS_RGB[cc], 1)
    x0, y0, x1, y1 = 300, 0, 1000, 700
    crop = vis[y0:y1, x0:x1]
    cv2.imwrite(out, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    cx = (b[:, 0] + b[:, 2]) / 2
    cy = (b[:, 1] + b[:, 3]) / 2
    inc = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
    names = ["car", "truck", "excavator"]
    print(json.dumps({"conf": conf, "scene_boxes": int(len(b)),
                      "scene_by_class": {n: int((c == i).sum()) for i, n in enumerate(names)},
                      "crop_boxes": int(inc.sum()),
                      "crop_by_class": {n: int((c[inc] == i).sum()) for i, n in enumerate(names)}}))


if __name__ == "__main__":
    main()
