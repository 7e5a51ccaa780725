"""INT8 variant of the bundled detector: onnxruntime static quantisation (QDQ), calibrated
on tiles of the TRAINING groups only, made the way the crate feeds the model.

    python training/quantize.py --data /work/shared/data \
        --model /tmp/qat/e7s1_qat.onnx --out models/satdet-vehicles-int8.onnx \
        [--evaluate] [--time 5] [--report FILE.json]

The shipped INT8 file quantises the output of `training/qat.py` (quantisation-aware
fine-tuning of the float model), not the float model itself: quantised directly, the float
model loses more car AP than issue 13 allows. `--out` has no default, so that a run
cannot replace the shipped file by accident.

The defaults are the shipped recipe (256 tiles, seed 0, MinMax ranges, per-channel int8
weights, uint8 activations); the same inputs give the same bytes (onnxruntime 1.32.0).
The other options (`--method minmax-mean|percentile|entropy`, `--percentile`,
`--gsd-range`, `--exclude stem,head,s16`, `--per-tensor`) are the levers tried; none of
them made an INT8 file of E7 seed 1 that loses at most 0.01 car AP at 0.5 m (model card).

Calibration input: RGB float32 0-1, NCHW, 640x640, the tile at the top-left of the input
and the rest padded with 114/255 (the model card's input contract). Each calibration tile
is one tile of the crate's tiling (640 px, 128 px overlap) of one training image resampled
from its 0.15 m cache to a GSD drawn in 0.3-0.5 m (as `evaluate.eval_real` resamples);
every fourth tile is grayscale replicated to three bands (panchromatic scenes). The images,
GSDs and tiles come from one seeded generator: the same tiles on every run.

Only the network is quantised (Conv, Add, Relu, Resize); the box decoding after the heads
(grid, exp, sigmoid, concat) stays float, so `output0` is float32 as the crate expects.
The float model's `metadata_props` are copied, and a `quantization` key is added.

`--evaluate` runs the float and the INT8 model through the same held-out evaluation as
`train.py` (`evaluate.eval_real` at 0.3 and 0.5 m, grayscale at 0.3 m, and
`evaluate.eval_synthetic`); `--time`
times both, interleaved (the VM is noisy), on one and on two threads.
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np

import data
import evaluate
import export

TILE = evaluate.TILE
OVERLAP = evaluate.OVERLAP
GSD_RANGE_M = (0.3, 0.5)
GRAY_EVERY = 4  # every fourth calibration tile is grayscale (pan band replicated)
# The network part of the graph. The decoding after the heads (everything downstream of
# the heads' last convolutions: the grid, exp, the Adds that place the boxes in input
# pixels) is kept float by `decoding_nodes`: quantised, the Adds that add the grid (0-640
# px) would round every box edge to 2.5 px steps.
OPS_TO_QUANTIZE = ["Conv", "Add", "Relu", "Resize"]
HEAD_CONVS = ["/net/head_cls/head_cls.1/Conv", "/net/head_box/head_box.1/Conv"]
# Node groups that can be kept float (`--exclude`): the first convolution sees the raw
# input; the last convolutions of the heads give the logits and box distances; the
# stride-16 stage (every node under /net/s16/, a name ending in "/" is a prefix) runs at
# 40x40 per 640 tile, so keeping it float costs little time.
EXCLUDE_GROUPS = {
    "stem": ["/net/stem/stem.0/stem.0.0/Conv"],
    "head": HEAD_CONVS,
    "s16": ["/net/s16/"],
}


def excluded_nodes(model_path, groups):
    """Node names of the groups (prefixes expanded against the graph at model_path)."""
    import onnx

    names = [n.name for n in onnx.load(model_path).graph.node]
    out = []
    for g in groups:
        for e in EXCLUDE_GROUPS[g]:
            out += [n for n in names if n.startswith(e)] if e.endswith("/") else [e]
    return out


def decoding_nodes(model):
    """Names of the nodes downstream of the heads' last convolutions (the box decoding)."""
    consumers = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    heads = [n for n in model.graph.node if n.name in HEAD_CONVS]
    assert len(heads) == len(HEAD_CONVS), "head convolutions not found: not the bundled network?"
    todo = [o for n in heads for o in n.output]
    seen = set()
    while todo:
        for n in consumers.get(todo.pop(), []):
            if n.name not in seen:
                seen.add(n.name)
                todo.extend(n.output)
    return sorted(seen)


def calibration_tiles(train_recs, n, seed, gsd_range_m=GSD_RANGE_M):
    """n tiles (3x640x640 float32, 0-1, padded 114/255) from the training records only,
    each at a GSD drawn uniformly in gsd_range_m. Returns a list of (record index, gsd, x,
    y, gray) and a function making tile i."""
    assert not any(r["group"] in data.VAL_GROUPS for r in train_recs), "held-out image in calibration"
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_recs))
    plan = []
    for i in range(n):
        k = int(order[i % len(order)])
        r = train_recs[k]
        gsd = float(rng.uniform(*gsd_range_m))
        h, w = r["img"].shape[:2]
        f = r["gsd"] / gsd
        nw, nh = max(1, int(round(w * f))), max(1, int(round(h * f)))
        step = TILE - OVERLAP
        xs = list(range(0, max(1, nw - OVERLAP), step)) if nw > TILE else [0]
        ys = list(range(0, max(1, nh - OVERLAP), step)) if nh > TILE else [0]
        x, y = int(xs[rng.integers(len(xs))]), int(ys[rng.integers(len(ys))])
        plan.append((k, gsd, x, y, i % GRAY_EVERY == GRAY_EVERY - 1))

    def make(i):
        k, gsd, x, y, gray = plan[i]
        r = train_recs[k]
        img, _ = data.resample(r["img"], r["boxes"], r["gsd"], gsd)
        im = img.astype(np.float32) / 255.0
        if gray:  # as evaluate.eval_real makes its grayscale test
            im = np.repeat((im * np.array([0.299, 0.587, 0.114], np.float32)).sum(-1, keepdims=True), 3, -1)
        t = np.full((TILE, TILE, 3), data.PAD / 255.0, np.float32)
        crop = im[y:y + TILE, x:x + TILE]
        t[:crop.shape[0], :crop.shape[1]] = crop
        return t.transpose(2, 0, 1)[None].copy()

    return plan, make


# The histogram calibrators (Percentile, Entropy) of onnxruntime 1.32 keep every tile's
# intermediate outputs in memory until the reader is exhausted; fed CHUNK tiles per
# `collect_data` call (see `chunked_histograms`), their histograms are merged chunk by chunk.
CHUNK = 16


def reader(plan, make):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0
            self.stop = None  # index where the current chunk ends (None: no chunks)

        def get_next(self):
            if self.i >= len(plan) or (self.stop is not None and self.i >= self.stop):
                return None
            self.i += 1
            return {"images": make(self.i - 1)}

        def rewind(self):
            self.i = 0

    rd = Reader()
    rd.plan = plan
    return rd


def chunked_histograms():
    """Makes HistogramCalibrater.collect_data read the reader CHUNK tiles at a time (each
    call merges its chunk into the running histograms), bounding its memory."""
    from onnxruntime.quantization.calibrate import HistogramCalibrater

    if getattr(HistogramCalibrater.collect_data, "chunked", False):
        return
    whole = HistogramCalibrater.collect_data

    def collect_data(self, data_reader):
        n = len(data_reader.plan)
        while data_reader.i < n:
            data_reader.stop = data_reader.i + CHUNK
            whole(self, data_reader)
        data_reader.stop = None

    collect_data.chunked = True
    HistogramCalibrater.collect_data = collect_data


def quantize(model, out, plan, make, method, per_channel, exclude, percentile=99.999,
             gsd_range_m=GSD_RANGE_M):
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "minmax-mean": CalibrationMethod.MinMax,
               "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if method == "minmax-mean":
        # each range the mean over the tiles of the tile's own min and max (onnxruntime's
        # moving average within one batch): tighter than the extremes over all tiles. The
        # calibrator keeps two scalars per tensor per tile, so all tiles go in one batch
        # (merged batches would be an EMA with weight 0.01 on each later batch).
        extra["CalibMovingAverage"] = True
    elif method == "minmax":
        # bound the calibrator's memory: ranges merged every m tiles. onnxruntime 1.32 fails
        # ("No data is collected") when m divides the tile count, so m must not.
        extra["CalibMaxIntermediateOutputs"] = next(m for m in range(16, 1, -1) if len(plan) % m)
    else:
        chunked_histograms()
        if method == "percentile":
            extra["CalibPercentile"] = percentile
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        # the symbolic shape inference cannot follow the grid of the decoding (Range, Expand):
        # ONNX shape inference and the graph optimisation only
        quant_pre_process(model, pre, skip_symbolic_shape=True)
        decoding = decoding_nodes(onnx.load(pre))
        nodes_to_exclude = excluded_nodes(pre, exclude)
        assert decoding, "no decoding nodes found"
        quantize_static(pre, out, reader(plan, make), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=OPS_TO_QUANTIZE, per_channel=per_channel,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[method], nodes_to_exclude=nodes_to_exclude + decoding,
                        extra_options=extra)
    # metadata: the float model's, plus what was done
    src = onnx.load(model)
    q = onnx.load(out)
    del q.metadata_props[:]
    for p in src.metadata_props:
        q.metadata_props.add(key=p.key, value=p.value)
    grays = sum(1 for p in plan if p[4])
    calib = f"{method} {percentile:g}" if method == "percentile" else method
    # prefix groups named once, not node by node
    short = [e for g in exclude for e in EXCLUDE_GROUPS[g]]
    short = [e + "*" if e.endswith("/") else e for e in short]
    desc = (f"int8 static QDQ (onnxruntime {__import__('onnxruntime').__version__}), "
            f"calibrated on {len(plan)} training tiles ({grays} grayscale; GSD "
            f"{gsd_range_m[0]:g}-{gsd_range_m[1]:g} m; held-out groups excluded), "
            f"{calib}, weights {'per channel' if per_channel else 'per tensor'} "
            f"symmetric int8, activations uint8; kept float: "
            f"{''.join(n + ', ' for n in short)}the box decoding after the heads")
    q.metadata_props.add(key="quantization", value=desc)
    # no tensor made inside the decoding goes through a Q/DQ pair (the head convolutions'
    # outputs may, when the heads are quantised)
    made_by = {o: n for n in q.graph.node for o in n.output}
    quantized = [n.input[0] for n in q.graph.node if n.op_type == "QuantizeLinear"]
    inside = [t for t in quantized if t in made_by and made_by[t].name in decoding]
    assert not inside, f"decoding tensors quantised: {inside}"
    out_t = [o for o in q.graph.output if o.name == "output0"]
    assert out_t and out_t[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT, "output0 must stay float"
    onnx.save(q, out)
    return desc


def session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def time_threads(path, threads, runs=30):
    """export.time_single_core with a thread count."""
    return export.time_single_core(path, runs, threads=threads)


def evaluate_model(path, val_recs, threads):
    sess = session(path, threads)
    ev = {}
    for g in (0.3, 0.5):
        ev[f"real_heldout_gsd_{g}"] = evaluate.eval_real(sess, val_recs, g)
    ev["real_heldout_gsd_0.3_grayscale"] = evaluate.eval_real(sess, val_recs, 0.3, gray=True)
    ev["synthetic_heldout"] = evaluate.eval_synthetic(sess, val_recs)
    return ev


def summary(ev):
    s = {}
    for k, v in ev.items():
        if k == "synthetic_heldout":
            s[k] = {"excavator": v["excavator_synthetic"]["ap50"], "scenes": v["scenes"],
                    "excavators": v["excavator_synthetic"]["gt"]}
            continue
        s[k] = {"car": v["car"]["ap50"], "truck": v["truck"]["ap50"],
                "car_without_oblique": v["car_without_oblique"]["ap50"],
                "car_by_group": v["car_ap50_by_group"],
                "car_pr_at_0.4": v["car"]["at_conf_0.4"]}
    return s


def agreement(float_path, int8_path, plan, make, n=16):
    """Differences between the two models' outputs on n calibration tiles: scores over all
    cells; boxes over the cells where the float model scores a class >= 0.3 (elsewhere
    the boxes are never kept)."""
    a, b = session(float_path, 2), session(int8_path, 2)
    d_box, d_score = [], []
    for i in range(min(n, len(plan))):
        x = make(i)
        ya, yb = a.run(None, {"images": x})[0][0], b.run(None, {"images": x})[0][0]
        d_score.append(np.abs(ya[4:] - yb[4:]).ravel())
        cells = ya[4:].max(0) >= 0.3
        d_box.append(np.abs(ya[:4, cells] - yb[:4, cells]).ravel())
    d_box, d_score = np.concatenate(d_box), np.concatenate(d_score)
    q = lambda v, p: round(float(np.percentile(v, p)), 4) if len(v) else None  # noqa: E731
    return {"score_abs_diff_p50_p99_max": [q(d_score, 50), q(d_score, 99), q(d_score, 100)],
            "box_px_abs_diff_at_score_0.3_p50_p99_max": [q(d_box, 50), q(d_box, 99), q(d_box, 100)],
            "tiles": min(n, len(plan))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model", default="models/satdet-vehicles.onnx")
    ap.add_argument("--out", required=True, help="the INT8 file to write (the shipped one: models/satdet-vehicles-int8.onnx)")
    ap.add_argument("--tiles", type=int, default=256, help="calibration tiles (training groups only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--method", choices=("minmax", "minmax-mean", "percentile", "entropy"), default="minmax",
                    help="minmax: extremes over all tiles; minmax-mean: mean of each tile's extremes")
    ap.add_argument("--percentile", type=float, default=99.999,
                    help="with --method percentile: the percentile kept (both tails cut)")
    ap.add_argument("--gsd-range", default="0.3,0.5", metavar="MIN,MAX",
                    help="calibration tiles' GSD range, m (E7 trained over 0.25-0.65)")
    ap.add_argument("--per-tensor", action="store_true",
                    help="one weight scale per tensor (default: per output channel)")
    ap.add_argument("--exclude", default="", help="comma-separated node groups kept float: stem, head, s16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--evaluate", action="store_true", help="held-out evaluation of both models")
    ap.add_argument("--skip-float-eval", action="store_true",
                    help="with --evaluate: evaluate the INT8 model only")
    ap.add_argument("--time", type=int, default=0, metavar="ROUNDS",
                    help="interleaved timing rounds (float, INT8; 1 and 2 threads)")
    ap.add_argument("--report", default=None, help="write the figures here (JSON)")
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    args.per_channel = not args.per_tensor
    exclude = [g for g in args.exclude.split(",") if g]
    for g in exclude:
        if g not in EXCLUDE_GROUPS:
            raise SystemExit(f"--exclude: unknown group {g} (known: {', '.join(EXCLUDE_GROUPS)})")

    t0 = time.time()
    recs = data.cache_base(data.load_records(args.data))
    train_recs, val_recs = data.split(recs)
    gsd_range_m = tuple(float(v) for v in args.gsd_range.split(","))
    if len(gsd_range_m) != 2 or not 0 < gsd_range_m[0] <= gsd_range_m[1]:
        raise SystemExit(f"--gsd-range: expected MIN,MAX in m, got {args.gsd_range}")
    plan, make = calibration_tiles(train_recs, args.tiles, args.seed, gsd_range_m)
    rep = {"model": args.model, "out": args.out, "tiles": args.tiles, "seed": args.seed,
           "method": args.method, "percentile": args.percentile, "gsd_range_m": gsd_range_m, "per_channel": args.per_channel, "exclude": exclude,
           "calibration_images": len({p[0] for p in plan}),
           "calibration_groups": sorted({train_recs[p[0]]["group"] for p in plan})}
    rep["quantization"] = quantize(args.model, args.out, plan, make, args.method, args.per_channel, exclude,
                                   args.percentile, gsd_range_m)
    rep["quantize_minutes"] = (time.time() - t0) / 60
    rep["size_bytes"] = os.path.getsize(args.out)
    rep["agreement"] = agreement(args.model, args.out, plan, make)
    print(json.dumps(rep, indent=1), flush=True)
    if args.evaluate:
        if not args.skip_float_eval:
            rep["float"] = summary(evaluate_model(args.model, val_recs, args.threads))
            print(json.dumps({"float": rep["float"]}), flush=True)
        rep["int8"] = summary(evaluate_model(args.out, val_recs, args.threads))
        print(json.dumps({"int8": rep["int8"]}), flush=True)
    if args.time:
        rounds = []
        for _ in range(args.time):
            r = {}
            for th in (1, 2):
                for name, path in (("float", args.model), ("int8", args.out)):
                    r[f"{name}_{th}t"] = time_threads(path, th)["median_ms"]
            rounds.append(r)
            print(json.dumps(r), flush=True)
        rep["timing_rounds_median_ms"] = rounds
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rep, f, indent=2)
    print(f"done in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
