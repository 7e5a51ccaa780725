"""Quantisation-aware fine-tuning of an exported satdet model, before `quantize.py`.

    python training/qat.py --data /work/shared/data --model models/satdet-vehicles.onnx \
        --out /tmp/qat/float_qat.onnx [--steps 400] [--lr 1e-4]
    python training/quantize.py --data /work/shared/data --model /tmp/qat/float_qat.onnx \
        --out /tmp/qat/int8.onnx --evaluate

Static INT8 quantisation of the shipped float model alone loses more car AP than issue 13
allows (model card, "INT8 variant: history"): the rounding error is spread over the whole
network.
This script teaches the weights to live with it. It reads the float model's weights (the
exporter folded each BatchNorm into its convolution: `model.load_onnx_weights`), keeps
every BatchNorm frozen as that identity-plus-bias, and fine-tunes with the training loss
(`train.py`'s sampler and `model.detection_loss`) while every convolution sees its weights
rounded as onnxruntime's QDQ quantiser will round them (per output channel, symmetric int8)
and every tensor that the quantiser puts through a Q/DQ pair is rounded to uint8 over its
calibration range (the input, each convolution's output after its ReLU, each Add: the
tensors onnxruntime's QDQ quantiser gives a Q/DQ pair in this network, the two nearest-
neighbour Resizes aside, which keep their input's scale). The rounding passes gradients
straight through (PyTorch's fake-quantisation ops). Not simulated: the int32 rounding of
the biases (negligible).

Ranges: min/max over `--calib` augmented 192 px training crops with the float weights,
fixed from then on. They are not the ranges of the final file: `quantize.py` calibrates
again afterwards, on its own 640 px tiles and with the fine-tuned weights; the simulation
teaches the weights rounding noise of the right size, not the exact rounding.

Output: the fine-tuned FLOAT model (exponential moving average of the weights), with the
source model's metadata plus a `qat` key saying it was fine-tuned and from what (which
`quantize.py` copies into the INT8 file). It is a float model like any other: `quantize.py`
then makes and evaluates its INT8 file. Samples are drawn from the training groups only,
from the (seed, index) stream at `--sample-offset` (default: past E8's samples).
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import export  # noqa: E402
from model import DWBlock, SatDet, detection_loss, load_onnx_weights  # noqa: E402
from train import RAW_P, TrainSet, warmup_cosine  # noqa: E402


class Range:
    """One quantised tensor: its calibration min/max, then uint8 fake quantisation."""

    def __init__(self):
        self.lo, self.hi, self.on = 0.0, 0.0, False

    def __call__(self, x):
        if not self.on:
            self.lo = min(self.lo, float(x.detach().min()))
            self.hi = max(self.hi, float(x.detach().max()))
            return x
        scale = max(self.hi - self.lo, 1e-8) / 255.0
        zero = int(min(255, max(0, round(-self.lo / scale))))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255)


def fq_weight(w):
    """Per output channel symmetric int8, as onnxruntime's QDQ quantiser (WeightSymmetric)."""
    scale = (w.detach().abs().amax(dim=(1, 2, 3)) / 127.0).clamp(min=1e-12).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


class QuantSim:
    """Hooks that put `net` under quantisation: activations recorded (calibration) until
    `activations_on`, then rounded; weights rounded once `weights_on` is set."""

    def __init__(self, net):
        self.ranges = {}
        self.hooks = []
        self.weights_on = False
        for name, mod in net.named_modules():
            if isinstance(mod, nn.Conv2d):
                self.hooks.append(mod.register_forward_pre_hook(self._conv_pre))
            kids = list(mod.children()) if isinstance(mod, nn.Sequential) else []
            if len(kids) >= 2 and isinstance(kids[0], nn.Conv2d) and isinstance(kids[1], nn.BatchNorm2d):
                self._out(name, mod)  # conv_bn: the output after BN (and ReLU)
            elif isinstance(mod, DWBlock) and mod.res:
                self._out(name, mod)  # the residual Add
        for head in ("head_cls", "head_box"):
            self._out(head + ".last", getattr(net, head)[-1])
        self.ranges["input"] = Range()
        self.ranges["add8"] = Range()
        self.ranges["add4"] = Range()
        net.forward = self._forward(net)

    def _conv_pre(self, mod, inp):
        if not self.weights_on:
            return None
        # F.conv2d with the rounded weight, through the module's own forward
        mod._fq_weight = fq_weight(mod.weight)
        return None

    def _out(self, name, mod):
        r = self.ranges[name] = Range()
        self.hooks.append(mod.register_forward_hook(lambda _m, _i, out: r(out)))

    def _forward(self, net):
        r = self.ranges

        def features(x):
            f4 = net.s4(net.stem(x))
            f8 = net.s8(f4)
            f16 = net.s16(f8)
            p8 = net.fuse8(r["add8"](f8 + F.interpolate(net.lat16(f16), scale_factor=2.0, mode="nearest")))
            p4 = net.fuse4(r["add4"](f4 + F.interpolate(net.lat8(p8), scale_factor=2.0, mode="nearest")))
            return p4

        def forward(x, decode=False):
            p4 = features(r["input"](x))
            return net.head_cls(p4), net.head_box(p4)

        return forward

    def activations_on(self):
        for v in self.ranges.values():
            v.on = True


PLAIN_CONV_FORWARD = nn.Conv2d.forward


def conv_forward_with_fq(self, x):
    w = getattr(self, "_fq_weight", None)
    if w is None:
        w = self.weight
    self._fq_weight = None
    return self._conv_forward(x, w, self.bias)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model", default="models/satdet-vehicles.onnx")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (cosine to 3 %%, 20-step warm-up)")
    ap.add_argument("--calib", type=int, default=128, help="training samples that set the activation ranges")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-offset", type=int, default=400_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--report", default=None, help="write the run's figures here (JSON)")
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    recs = data.cache_base(data.load_records(args.data))
    train_recs, _ = data.split(recs)

    nn.Conv2d.forward = conv_forward_with_fq
    try:
        run(args, train_recs, t0)
    finally:
        nn.Conv2d.forward = PLAIN_CONV_FORWARD


def run(args, train_recs, t0):
    import onnx

    net = SatDet()
    load_onnx_weights(net, args.model)
    # BatchNorms frozen as the loaded identity-plus-bias: eval mode, scale fixed at 1 (the
    # quantiser folds BN into the convolution before rounding; a trained scale would move
    # the rounded weights); their shifts (the folded biases) keep training
    net.eval()
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.weight.requires_grad_(False)
    probe = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        plain = net(probe)
    sim = QuantSim(net)
    with torch.no_grad():  # the simulation's forward is SatDet's while nothing is rounded
        simulated = net(probe)
    assert all(torch.allclose(p, q) for p, q in zip(plain, simulated)), "QuantSim's forward differs from SatDet's"
    for r in sim.ranges.values():  # the probe does not count as calibration
        r.lo, r.hi = 0.0, 0.0
    dev = torch.device(args.device)
    net.to(dev)

    cal = TrainSet(train_recs, args.size, args.seed + 2000, args.calib, raw_p=RAW_P)
    with torch.no_grad():
        for j in range(0, args.calib, 16):
            net(torch.stack([cal[i][0] for i in range(j, min(j + 16, args.calib))]).to(dev))
    ranges = {k: [round(v.lo, 4), round(v.hi, 4)] for k, v in sim.ranges.items()}
    sim.activations_on()
    sim.weights_on = True

    ds = TrainSet(train_recs, args.size, args.seed, args.steps * args.batch, raw_p=RAW_P, offset=args.sample_offset)
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=False, num_workers=args.workers,
                                     persistent_workers=args.workers > 0)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.99), weight_decay=0.0)
    warm = min(20, args.steps // 10)

    def lr_at(s):
        return warmup_cosine(s, args.lr, args.steps, warm)

    ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
    losses = []
    run = [0.0, 0.0]
    for step, (x, hm, bt, bw) in enumerate(dl):
        x, hm, bt, bw = (t.to(dev) for t in (x, hm, bt, bw))
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        cls, box = net(x)
        l_cls, l_box = detection_loss(cls, box, hm, bt, bw)
        loss = l_cls + 2.0 * l_box
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        with torch.no_grad():
            d = 0.99 * (1 - math.exp(-(step + 1) / 50))
            for k, v in net.state_dict().items():
                if v.dtype.is_floating_point:
                    ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
        run[0] += l_cls.item()
        run[1] += l_box.item()
        if (step + 1) % 25 == 0:
            losses.append([step + 1, run[0] / 25, run[1] / 25])
            print(f"step {step + 1}/{args.steps} cls {run[0] / 25:.3f} box {run[1] / 25:.3f} "
                  f"lr {lr_at(step):.6f} elapsed {(time.time() - t0) / 60:.1f} min", flush=True)
            run = [0.0, 0.0]

    # export the float weights (EMA), without the simulation
    for h in sim.hooks:
        h.remove()
    nn.Conv2d.forward = PLAIN_CONV_FORWARD
    out_net = SatDet()
    out_net.load_state_dict({k: v.cpu() for k, v in ema.items()})
    out_net.eval()
    sha = hashlib.sha256(open(args.model, "rb").read()).hexdigest()
    src = onnx.load(args.model)
    meta = {p.key: p.value for p in src.metadata_props}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    export.export(out_net, args.out, conf=float(meta.get("conf", 0.3)), iou=0.5, gsd_m=meta.get("gsd_m", "0.3"))
    m = onnx.load(args.out)
    del m.metadata_props[:]
    meta["qat"] = (f"float weights fine-tuned under simulated int8 quantisation (training/qat.py: "
                   f"{args.steps} steps, batch {args.batch}, {args.size} px, peak lr {args.lr:g}, seed {args.seed}) "
                   f"from {os.path.basename(args.model)} (sha256 {sha[:8]}...{sha[-4:]}); they differ from that file's")
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, args.out)
    rep = {"model": args.model, "out": args.out, "steps": args.steps, "batch": args.batch, "size": args.size,
           "lr": args.lr, "seed": args.seed, "sample_offset": args.sample_offset, "calib": args.calib,
           "ranges": ranges, "loss_every_25": losses, "minutes": (time.time() - t0) / 60}
    if args.report:
        with open(args.report, "w") as f:
            json.dump(rep, f, indent=1)
    print(f"wrote {args.out} in {rep['minutes']:.1f} min", flush=True)


if __name__ == "__main__":
    main()
