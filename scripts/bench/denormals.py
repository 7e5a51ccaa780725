"""Does flushing denormals to zero (`session.set_denormal_as_zero`) make onnxruntime faster
on real tiles? Real tiles could make subnormal activations that random inputs do not, which
would make satdet's inference slower than the bare benchmark's. Times 16 windows of a scene
(cut with gdal_translate) against 16 random inputs, batch 1, both session settings,
interleaved tile by tile; prints median and quartiles in ms.

    python scripts/bench/denormals.py MODEL SCENE [ROUNDS] [THREADS]
    (e.g. models/satdet-vehicles.onnx "$(bash scripts/bench/scene.sh)" 3 1)
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

model, scene = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
tiles = []
with tempfile.TemporaryDirectory() as tmp:
    for i in range(16):
        out = os.path.join(tmp, f"t{i}.bin")
        subprocess.run(["gdal_translate", "-q", "-of", "ENVI", "-b", "1", "-b", "2", "-b", "3", "-srcwin",
                        str((i % 4) * 1900), str((i // 4) * 1900), "640", "640", scene, out], check=True)
        tiles.append(np.fromfile(out, dtype=np.uint8).reshape(3, 640, 640))
real = np.stack(tiles).astype(np.float32) / 255
rand = np.random.default_rng(0).random(real.shape, dtype=np.float32)


def session(flush):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    if flush:
        so.add_session_config_entry("session.set_denormal_as_zero", "1")
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


sessions = {flush: session(flush) for flush in (False, True)}
name = sessions[False].get_inputs()[0].name
for s in sessions.values():
    s.run(None, {name: real[:1]})  # warm-up, not timed
times = {}
for _ in range(rounds):
    for k in range(16):
        for flush, s in sessions.items():
            for label, x in (("real", real), ("random", rand)):
                start = time.perf_counter()
                s.run(None, {name: x[k:k + 1]})
                times.setdefault((flush, label), []).append(1000 * (time.perf_counter() - start))
for (flush, label), v in times.items():
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    print(f"{'flushed' if flush else 'default'} {label}: median {med:.1f} ms (p25-p75 {q1:.1f}-{q3:.1f})")
