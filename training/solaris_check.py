"""Sanity check (not training data): run the ONNX model on the SpaceNet WorldView-3 pan
scenes shipped in the solaris==0.4.0 wheel, fed the way the crate feeds it.

    pip download --no-deps solaris==0.4.0 -d /tmp/solaris
    cd /tmp/solaris && unzip -o solaris-0.4.0-py3-none-any.whl 'solaris/data/road_mask_input.tif' 'solaris/data/preproc_tutorial/pan*.tif'
    python training/solaris_check.py models/satdet-vehicles.onnx 0.4 /tmp/solaris/solaris/data/

Writes PNGs with the boxes drawn and summary.json to $SATDET_CHECK_OUT (default /tmp/satdet-check).
"""
import os, sys, json
OUTDIR = os.environ.get('SATDET_CHECK_OUT', '/tmp/satdet-check')
os.makedirs(OUTDIR, exist_ok=True)
import cv2, numpy as np, onnxruntime as ort
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
import evaluate
model = sys.argv[1]; conf = float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
so = ort.SessionOptions(); so.intra_op_num_threads = 2
sess = ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])
root = sys.argv[3] if len(sys.argv) > 3 else '/tmp/solaris/solaris/data/'
summary = {}
for f in ['road_mask_input.tif', 'preproc_tutorial/pan1.tif', 'preproc_tutorial/pan2.tif', 'preproc_tutorial/pan3.tif']:
    im = cv2.imread(root + f, cv2.IMREAD_UNCHANGED).astype(np.float32)
    valid = im > 0
    lo, hi = np.percentile(im[valid], [2, 98])
    x = np.clip((im - lo) / max(hi - lo, 1e-6), 0, 1)
    x = np.repeat(x[..., None], 3, -1).astype(np.float32)
    b, s, c = evaluate.detect(sess, x, conf=conf, iou_thr=0.5)
    names = ['car', 'truck', 'excavator']
    summary[f] = {n: int((c == i).sum()) for i, n in enumerate(names)}
    vis = (x * 255).astype(np.uint8).copy()
    for bb, ss, cc in zip(b, s, c):
        col = [(0, 0, 255), (0, 255, 0), (255, 0, 255)][cc]
        cv2.rectangle(vis, (int(bb[0]), int(bb[1])), (int(bb[2]), int(bb[3])), col, 1)
    out = OUTDIR + '/' + f.replace('/', '_').replace('.tif', '.png')
    cv2.imwrite(out, vis)
    print(f, summary[f], 'scores', np.round(np.sort(s)[::-1][:10], 2).tolist())
json.dump(summary, open(OUTDIR + '/summary.json', 'w'))
