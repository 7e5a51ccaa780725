"""Re-export a satdet ONNX file with symbolic input height and width (same weights, same
metadata), and check that it gives the same output as the original at 640 x 640.

The bundled model's input is fixed at 640 x 640; the network is fully convolutional, so
this file lets it take larger windows (any multiple of 16). The bundled
models/satdet-vehicles.onnx is this script's output from the fixed-size file it replaced
(training/init/satdet-vehicles-v3.onnx); satdet feeds larger windows with --input-size.

    python training/dynamic.py training/init/satdet-vehicles-v3.onnx models/satdet-vehicles.onnx
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import Exported  # noqa: E402
from model import SatDet, load_onnx_weights  # noqa: E402


def main(src, dst):
    net = load_onnx_weights(SatDet(), src).eval()
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            Exported(net).eval(), (torch.rand(1, 3, 640, 640),), dst, opset_version=17,
            input_names=["images"], output_names=["output0"],
            dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"},
                          "output0": {0: "batch", 2: "anchors"}},
            do_constant_folding=True, dynamo=False)
    m, original = onnx.load(dst), onnx.load(src)
    del m.metadata_props[:]
    for p in original.metadata_props:
        q = m.metadata_props.add()
        q.key, q.value = p.key, p.value
    # the row count (4 + classes) is fixed, as the original declares it
    m.graph.output[0].type.tensor_type.shape.dim[1].dim_value = \
        original.graph.output[0].type.tensor_type.shape.dim[1].dim_value
    onnx.checker.check_model(m)
    tmp = dst + ".tmp"
    onnx.save(m, tmp)
    a = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((2, 3, 640, 640), dtype=np.float32)
    diff = float(np.abs(a.run(None, {"images": x})[0] - b.run(None, {"images": x})[0]).max())
    big = b.run(None, {"images": np.zeros((1, 3, 1280, 1280), np.float32)})[0].shape
    print(f"{dst}: max |difference| at 640 x 640 {diff:g}; 1280 x 1280 gives {list(big)}")
    if diff > 1e-5:
        os.remove(tmp)
        sys.exit(f"the re-export does not compute the same function; {dst} left as it was")
    os.replace(tmp, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
