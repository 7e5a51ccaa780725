"""Bare onnxruntime: the model on N random 640x640 inputs, for scripts/bench_vs_sahi.sh.

Default session options (as satdet and SAHI use them); only the run loop is timed.

    python bare_ort.py MODEL TILES BATCH   -> prints "seconds S"
"""
import sys
import time

import numpy as np
import onnxruntime as ort

model, tiles, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
rng = np.random.default_rng(0)
x = rng.random((batch, 3, 640, 640), dtype=np.float32)
sess.run(None, {name: x[:1]})  # one warm-up run, not timed
done, start = 0, time.perf_counter()
while done < tiles:
    n = min(batch, tiles - done)
    sess.run(None, {name: x[:n]})
    done += n
print(f"seconds {time.perf_counter() - start:.3f}")
