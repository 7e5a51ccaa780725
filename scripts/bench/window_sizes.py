"""Bare onnxruntime time to cover an 8192 x 8192 scene with windows of 640, 1024 and 1280
px at the same 128 px overlap (256, 81 and 49 windows), interleaved over rounds: what
feeding larger windows to a fully convolutional model would gain (the bundled model's
height and width are symbolic: training/dynamic.py).

    python scripts/bench/window_sizes.py models/satdet-vehicles.onnx [ROUNDS]
"""
import math
import sys
import time

import numpy as np
import onnxruntime as ort

model, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
sides = (640, 1024, 1280)
times = {s: [] for s in sides}
count = {s: math.ceil((8192 - 128) / (s - 128)) ** 2 for s in sides}
for _ in range(rounds):
    for side in sides:
        x = np.random.default_rng(0).random((1, 3, side, side), dtype=np.float32)
        sess.run(None, {name: x})
        t = time.perf_counter()
        for _ in range(count[side]):
            sess.run(None, {name: x})
        times[side].append(time.perf_counter() - t)
base = np.median(times[640])
print("| window | windows | model pixels vs 640 | seconds, min-max | vs 640 |")
print("|---|---|---|---|---|")
for side in sides:
    px = count[side] * side * side / (count[640] * 640 * 640)
    print(f"| {side} | {count[side]} | {px:.2f} | {min(times[side]):.2f}-{max(times[side]):.2f} | {np.median(times[side]) / base:.2f} |")
