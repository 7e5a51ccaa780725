"""onnxruntime session options against the defaults, bare inference, interleaved rounds.

Each variant is one session on the CPU provider; every round runs TILES random 640x640
inputs through each variant in turn, BATCH at a time, and the walls are printed per
variant with their median. Variants:

- `dyn`: the defaults (the model's symbolic batch, height and width left free);
- `all`: batch, height and width fixed with free-dimension overrides (`batch` = BATCH,
  `height` = `width` = 640; the names of the bundled model's symbolic dimensions);
- `hw`: only height and width fixed; `b`: only the batch;
- `nomempat`: memory pattern off; `noarena`: the CPU arena off;
- `ext`: graph optimisation ORT_ENABLE_EXTENDED instead of ORT_ENABLE_ALL.

    python ort_options.py MODEL TILES ROUNDS VARIANT[,VARIANT...] [BATCH] [THREADS]

For scripts/bench_vs_sahi.sh's machine: `.venv/bin/python scripts/bench/ort_options.py
models/satdet-vehicles.onnx 128 4 dyn,all,hw,nomempat,noarena,ext`.
"""
import sys
import time

import numpy as np
import onnxruntime as ort

model, tiles, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
variants = sys.argv[4].split(",")
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 2
threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2


def session(variant):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    if variant in ("all", "hw"):
        so.add_free_dimension_override_by_name("height", 640)
        so.add_free_dimension_override_by_name("width", 640)
    if variant in ("all", "b"):
        so.add_free_dimension_override_by_name("batch", batch)
    if variant == "nomempat":
        so.enable_mem_pattern = False
    if variant == "noarena":
        so.enable_cpu_mem_arena = False
    if variant == "ext":
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


sessions = {v: session(v) for v in variants}
name = next(iter(sessions.values())).get_inputs()[0].name
x = np.random.default_rng(0).random((batch, 3, 640, 640), dtype=np.float32)
for s in sessions.values():
    s.run(None, {name: x})  # one warm-up run, not timed
walls = {v: [] for v in sessions}
for _ in range(rounds):
    for v, s in sessions.items():
        start = time.perf_counter()
        for _ in range(tiles // batch):
            s.run(None, {name: x})
        walls[v].append(time.perf_counter() - start)
for v, w in walls.items():
    median = sorted(w)[len(w) // 2]
    print(v, " ".join(f"{t:.2f}" for t in w), f"median {median:.2f}")
