"""ONNX export (opset 17, legacy TorchScript exporter) with the satdet metadata, and checks."""

import hashlib
import os

import numpy as np
import onnx
import torch

from model import CLASS_NAMES, STRIDE


class Exported(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, images):
        return self.net(images, decode=True)


def check_gsd_m(gsd_m):
    """gsd_m as the crate's GsdRange::parse reads it: "0.4" or "0.25-0.65" (m/px,
    positive, min <= max). Returns (min, max); raises on anything else."""
    parts = [float(t) for t in str(gsd_m).split("-")]
    if len(parts) not in (1, 2) or not all(0 < v < 1e3 for v in parts) or parts[0] > parts[-1]:
        raise ValueError(f"gsd_m {gsd_m!r} is not a GSD or GSD range in metres per pixel")
    return parts[0], parts[-1]


def metadata(conf, iou, gsd_m):
    check_gsd_m(gsd_m)
    names = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(CLASS_NAMES)) + "}"
    return {
        "names": names,
        "imgsz": "[640, 640]",
        "stride": str(STRIDE),
        "gsd_m": gsd_m,
        "conf": f"{conf:g}",
        "iou": f"{iou:g}",
        "preprocess": "RGB, float32 0-1 (8-bit /255, 16-bit percentile stretch 2-98%), "
                      "pan band replicated to 3, NCHW, pad 114/255 bottom-right",
        "description": "satdet vehicle detector (car, truck, excavator) for satellite and aerial "
                       f"overhead imagery; trained on {gsd_m} m/px (gsd_m; log-uniform), part of the "
                       "samples through a simulated satellite sensor (PSF, pan-sharpening, "
                       "11-bit noise, DRA stretch, JPEG, haze), rendered with off-nadir lean and long/short shadows; "
                       "fully convolutional, input height and width any multiple of 16 (imgsz = "
                       "default 640x640); anchor-free stride-4 head; output [B, 4+3, N], N = (H/4)*(W/4): "
                       "cx, cy, w, h in input pixels, sigmoid class scores; no NMS inside. "
                       "Excavator class learnt from synthetic renderings only.",
        "author": "satdet",
        "license": "CC-BY-SA-4.0",
    }


def export(net, path, conf, iou, gsd_m):
    net = net.eval().float()
    wrapper = Exported(net).eval()
    dummy = torch.rand(1, 3, 640, 640)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy,), tmp, opset_version=17, input_names=["images"], output_names=["output0"],
            dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}, "output0": {0: "batch", 2: "anchors"}},
            do_constant_folding=True,
            dynamo=False,
        )
    m = onnx.load(tmp)
    del m.metadata_props[:]
    for k, v in metadata(conf, iou, gsd_m).items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    # fully convolutional: batch, height and width symbolic on the input; on the output
    # the row count is fixed (4 + C) and the cell count N = (H / 4) * (W / 4) symbolic
    dims = m.graph.output[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"
    dims[1].dim_value = 4 + len(CLASS_NAMES)
    dims[2].dim_param = "anchors"
    m.producer_name = "satdet-training"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    os.remove(tmp)
    return path


def verify(net, path):
    """Load with onnxruntime; batch 1 and 3; compare with PyTorch. Returns a dict."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    out = sess.get_outputs()[0]
    res = {"input": [inp.name, [str(d) for d in inp.shape]], "output": [out.name, [str(d) for d in out.shape]]}
    g = torch.Generator().manual_seed(0)
    net = net.eval()
    maxdiff = 0.0
    for b in (1, 3):
        x = torch.rand(b, 3, 640, 640, generator=g)
        y = sess.run(None, {"images": x.numpy()})[0]
        with torch.no_grad():
            yt = net(x, decode=True).numpy()
        assert y.shape == (b, 7, 160 * 160), y.shape
        maxdiff = max(maxdiff, float(np.abs(y - yt).max()))
        res[f"shape_batch{b}"] = list(y.shape)
    # other input sizes (fully convolutional): 320x480 and 1024x768
    for h, w in ((320, 480), (1024, 768)):
        x = torch.rand(1, 3, h, w, generator=g)
        y = sess.run(None, {"images": x.numpy()})[0]
        with torch.no_grad():
            yt = net(x, decode=True).numpy()
        assert y.shape == (1, 7, (h // 4) * (w // 4)), y.shape
        maxdiff = max(maxdiff, float(np.abs(y - yt).max()))
        res[f"shape_{h}x{w}"] = list(y.shape)
    res["max_abs_diff_torch_vs_ort"] = maxdiff
    assert maxdiff < 1e-2, maxdiff
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    res["metadata"] = meta
    res["size_bytes"] = os.path.getsize(path)
    res["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return res


def time_single_core(path, runs=30, threads=1):
    """Median and min ms per 640x640 tile, batch 1, after 3 warm-up runs; one intra-op
    thread unless `threads` says otherwise."""
    import time

    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((1, 3, 640, 640), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"images": x})
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {"images": x})
        ts.append((time.perf_counter() - t) * 1000)
    return {"median_ms": float(np.median(ts)), "min_ms": float(np.min(ts)), "runs": runs}
