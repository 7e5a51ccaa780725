"""Which quantised activation costs the most agreement? Training tiles only.

    python training/int8_sensitivity.py --data /work/shared/data \
        --model models/satdet-vehicles.onnx --int8 /tmp/i8/a.onnx [--tiles 48] [--gsd 0.5]

Takes a QDQ file made by `quantize.py` and, one activation at a time, removes its
QuantizeLinear/DequantizeLinear pair (its consumers read the float tensor again, the rest
stays quantised), then measures the car score agreement with the float model as
`int8_screen.py` does, on `--tiles` training tiles (seed 1) at `--gsd`. Prints the
activations sorted by how much the mean car score difference falls without their
quantisation, with the nodes that produce them: the candidates for `--exclude`.
Weights are not tried (per-channel int8, the smaller error in the third model's tries).
"""

import argparse
import json

import numpy as np

import data
import int8_screen
import quantize


def bypass(model, q_node):
    """A copy of model with q_node's Q/DQ pair removed (DQ consumers read q_node's input)."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    x = q_node.input[0]
    dqs = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == q_node.output[0]]
    outs = {d.output[0] for d in dqs}
    for n in m.graph.node:
        for i, name in enumerate(n.input):
            if name in outs:
                n.input[i] = x
    for o in m.graph.output:
        if o.name in outs:
            return None
    keep = [n for n in m.graph.node if n.name != q_node.name and n not in dqs]
    del m.graph.node[:]
    m.graph.node.extend(keep)
    return m


def main():
    import onnx
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model", default="models/satdet-vehicles.onnx")
    ap.add_argument("--int8", required=True)
    ap.add_argument("--tiles", type=int, default=48)
    ap.add_argument("--gsd", type=float, default=0.5)
    ap.add_argument("--report", default=None)
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    train, _ = data.split(data.cache_base(data.load_records(args.data)))
    plan, make = quantize.calibration_tiles(train, args.tiles, 1, (args.gsd, args.gsd))
    tiles = [make(i) for i in range(len(plan))]
    ref = int8_screen.outputs(args.model, tiles)
    q = onnx.load(args.int8)
    base = int8_screen.agreement(ref, int8_screen.outputs(args.int8, tiles))["car_score_diff_mean"]
    made_by = {o: n.name for n in q.graph.node for o in n.output}
    inits = {i.name for i in q.graph.initializer}
    rows = []
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    for qn in [n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in inits]:
        m = bypass(q, qn)
        if m is None:
            continue
        sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        got = [sess.run(None, {"images": t})[0][0] for t in tiles]
        d = int8_screen.agreement(ref, got)["car_score_diff_mean"]
        rows.append({"tensor": qn.input[0], "made_by": made_by.get(qn.input[0], "(graph input)"),
                     "car_score_diff_mean": d, "gain": round(base - d, 5)})
        print(json.dumps(rows[-1]), flush=True)
    rows.sort(key=lambda r: -r["gain"])
    rep = {"int8": args.int8, "gsd": args.gsd, "tiles": args.tiles, "base_car_score_diff_mean": base,
           "by_gain": rows}
    print(json.dumps({"base": base, "top": rows[:8]}, indent=1))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rep, f, indent=2)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
