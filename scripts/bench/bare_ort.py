"""Bare onnxruntime: the model on N random 640x640 inputs, for scripts/bench_vs_sahi.sh and
scripts/gpu_bench.sh.

onnxruntime's default session options (as SAHI uses them; satdet sets the thread count
to the physical cores available, which also stops onnxruntime pinning its threads) on one
execution provider: `cpu`
(the default), `cuda` or `tensorrt` (TensorRT with CUDA for what it does not take). A GPU
provider that onnxruntime did not take is an error (onnxruntime's Python API would fall
back to the CPU with a warning). Inputs and outputs live in host memory, as satdet's do.
One warm-up run at the full batch (CUDA's kernel choice, TensorRT's engine build) is not
timed; only the run loop is.

    python bare_ort.py MODEL TILES BATCH [cpu|cuda|tensorrt]   -> prints "seconds S"
"""
import sys
import time

import numpy as np
import onnxruntime as ort

PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}

model, tiles, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
provider = sys.argv[4] if len(sys.argv) > 4 else "cpu"
sess = ort.InferenceSession(model, providers=PROVIDERS[provider])
if sess.get_providers()[0] != PROVIDERS[provider][0]:
    sys.exit(f"onnxruntime did not take {PROVIDERS[provider][0]} (session has {sess.get_providers()})")
name = sess.get_inputs()[0].name
rng = np.random.default_rng(0)
x = rng.random((batch, 3, 640, 640), dtype=np.float32)
sess.run(None, {name: x})  # one warm-up run, not timed
done, start = 0, time.perf_counter()
while done < tiles:
    n = min(batch, tiles - done)
    sess.run(None, {name: x[:n]})
    done += n
print(f"seconds {time.perf_counter() - start:.3f}")
