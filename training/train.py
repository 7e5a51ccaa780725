"""Train the bundled satdet vehicle detector and export it to ONNX.

Run from the repository root:

    python training/train.py --data ../shared/data --out models/satdet-vehicles.onnx

Everything is seeded; the data pipeline draws sample i from its own RNG (seed, i), so
the samples do not depend on the number of loader workers. Writes the ONNX model,
training/eval.json (held-out evaluation) and a checkpoint under --work.
"""

import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import pack  # noqa: E402
from model import SatDet, calibrate_identity_bn, detection_loss, load_onnx_weights  # noqa: E402


STEPS = 600  # the recipe's schedule (E5; see training/README.md)
LR = 3e-4  # peak learning rate (fine-tuning, E5; E4: 5e-4; 3e-3 for the from-scratch runs)
# the third model (2026-11-29, from scratch, 6,000 steps), the starting point of this recipe
INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "init", "satdet-vehicles-v3.onnx")
RAW_P = 0.5  # share of training samples NOT passed through the satellite sensor model (E5)
# metadata gsd_m: the training GSD band as a range string ("0.25-0.65"), which the crate's
# GsdRange::parse reads as min-max metres per pixel
GSD_M = f"{data.GSD_RANGE[0]:g}-{data.GSD_RANGE[1]:g}"


def warmup_cosine(step, peak, steps, warm):
    """The learning rate at `step`: linear warm-up over `warm` steps, then cosine from
    `peak` to 3 % of it at `steps`."""
    if step < warm:
        return peak * (step + 1) / warm
    q = (step - warm) / max(1, steps - warm)
    return peak * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * q)))


class TrainSet(torch.utils.data.Dataset):
    def __init__(self, recs, size, seed, length, raw_p=0.0, offset=0):
        self.sampler = data.Sampler(recs, size=size, seed=seed, raw_p=raw_p)
        self.size = size
        self.length = length
        # item i is sample offset + i of the (seed, index) stream: a continuation run (E7)
        # starts where its parent run stopped instead of replaying the parent's samples
        self.offset = offset

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        img, b, c = self.sampler(self.offset + i)
        hm, bt, bw = data.make_targets(b, c, self.size)
        return (torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))), torch.from_numpy(hm),
                torch.from_numpy(bt), torch.from_numpy(bw))


def _cpu(module):
    return {k: v.detach().to("cpu") for k, v in module.state_dict().items()}


def _worker_init(_):
    # one thread per loader worker: the workers, not PyTorch's pools, use the cores (OpenCV's
    # pool is limited in main() before the workers fork: changing it in a forked worker hangs)
    torch.set_num_threads(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out", default="models/satdet-vehicles.onnx")
    ap.add_argument("--eval-out", default="training/eval.json")
    ap.add_argument("--work", default="/tmp/satdet-train")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--stop-after", type=int, default=None,
                    help="stop after this many steps of the --steps schedule (default: all of them)")
    ap.add_argument("--spread", type=str, default="0.8,0.9",
                    help="fractions of the schedule at which EMA checkpoints are kept and evaluated "
                         "beside the last one (the run-to-run spread estimate); '' for none")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--init", default=INIT,
                    help="start from the weights of this exported satdet ONNX file ('' = from scratch)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-offset", type=int, default=0,
                    help="start the sample stream at this index (E7: 140800 = E6's 4,400 steps x 32, so a "
                         "run continuing from E6 sees the samples E6 would have drawn next, not E6's again)")
    ap.add_argument("--raw-p", type=float, default=RAW_P,
                    help="share of training samples that skip the satellite sensor model and get the third "
                         f"model's light photometric augmentation instead (default {RAW_P}; E1-E4: 0)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where the network trains: cpu or cuda (the data are made on the CPU)")
    ap.add_argument("--budget-min", type=float, default=None,
                    help="fit the schedule to this many minutes of training: the step rate is measured over "
                         "steps 30-100 (the warm-up) and --steps is lowered to what fits, then fixed and logged")
    ap.add_argument("--train-only", action="store_true",
                    help="train and save the checkpoints under --work, no export or evaluation (a pack has no "
                         "held-out data); evaluate later with --export-only --work DIR --data ORIGINAL_DATA")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--conf", type=float, default=None, help="default confidence (else chosen on held-out data)")
    ap.add_argument("--export-only", action="store_true", help="skip training; export + evaluate the checkpoint")
    args = ap.parse_args()
    if args.stop_after is None:
        args.stop_after = args.steps
    spread_steps = sorted({int(round(float(f) * args.steps)) for f in args.spread.split(",") if f.strip()})

    torch.set_num_threads(args.threads)
    if args.workers:
        import cv2

        cv2.setNumThreads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    t0 = time.time()

    if os.path.isfile(args.data):
        if not args.train_only:
            raise SystemExit(f"{args.data} is a training pack (no held-out data): add --train-only")
        train_recs, val_recs = pack.unpack(args.data), []
    else:
        recs = data.cache_base(data.load_records(args.data))
        train_recs, val_recs = data.split(recs)
    print(f"images: {len(train_recs)} train, {len(val_recs)} held-out "
          f"({sorted({r['group'] for r in val_recs})})", flush=True)

    net = SatDet()
    if args.init and not args.export_only:
        load_onnx_weights(net, args.init)
        cal = TrainSet(train_recs, args.size, args.seed + 1000, 64, raw_p=args.raw_p)
        calibrate_identity_bn(net, [torch.stack([cal[i][0] for i in range(j, j + 16)]) for j in range(0, 64, 16)])
        print(f"initialised from {args.init}", flush=True)
    ema = copy.deepcopy(net).eval()
    ckpt = os.path.join(args.work, "ckpt.pt")
    if not args.export_only:
        ds = TrainSet(train_recs, args.size, args.seed, args.steps * args.batch, raw_p=args.raw_p,
                      offset=args.sample_offset)
        dev = torch.device(args.device)
        net.to(dev)
        ema.to(dev)
        dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=False, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, prefetch_factor=4 if args.workers else None,
                                         worker_init_fn=_worker_init if args.workers else None,
                                         pin_memory=dev.type == "cuda")
        decay, no_decay = [], []
        for n, p in net.named_parameters():
            (no_decay if p.ndim <= 1 else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=args.lr, betas=(0.9, 0.99))
        warm = min(100, args.steps // 10)

        def lr_at(s):  # args.steps as it stands: a --budget-min run shortens it at step `warm`
            return warmup_cosine(s, args.lr, args.steps, warm)

        net.train()
        run = {"cls": 0.0, "box": 0.0}
        tlast = time.time()
        t30 = None
        for step, (x, hm, bt, bw) in enumerate(dl):
            if args.budget_min is not None and step == 30:
                t30 = time.time()
            if args.budget_min is not None and step == warm and t30 is not None:
                rate = (warm - 30) / (time.time() - t30)
                fit = int(rate * (args.budget_min * 60 - (time.time() - t0)))
                if fit < args.steps:
                    args.steps = max(warm + 100, fit // 100 * 100)
                    args.stop_after = min(args.stop_after, args.steps)
                    spread_steps = sorted({int(round(float(f) * args.steps)) for f in args.spread.split(",") if f.strip()})
                print(f"budget {args.budget_min} min at {rate:.2f} steps/s: schedule {args.steps} steps, "
                      f"checkpoints {spread_steps}", flush=True)
            x, hm, bt, bw = (t.to(dev, non_blocking=True) for t in (x, hm, bt, bw))
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            cls, box = net(x)
            l_cls, l_box = detection_loss(cls, box, hm, bt, bw)
            loss = l_cls + 2.0 * l_box
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            with torch.no_grad():
                d = 0.998 * (1 - math.exp(-(step + 1) / 200))
                for pe, pn in zip(ema.state_dict().values(), net.state_dict().values()):
                    if pe.dtype.is_floating_point:
                        pe.mul_(d).add_(pn.detach(), alpha=1 - d)
                    else:
                        pe.copy_(pn)
            run["cls"] += l_cls.item()
            run["box"] += l_box.item()
            if (step + 1) % 25 == 0:
                dt = time.time() - tlast
                tlast = time.time()
                print(f"step {step + 1}/{args.steps} cls {run['cls'] / 25:.3f} box {run['box'] / 25:.3f} "
                      f"lr {lr_at(step):.5f} {dt / 25:.2f}s/step elapsed {(time.time() - t0) / 60:.1f} min", flush=True)
                run = {"cls": 0.0, "box": 0.0}
            if (step + 1) % 100 == 0 or step + 1 == args.steps or step + 1 == args.stop_after:
                torch.save({"ema": _cpu(ema), "step": step + 1, "schedule_steps": args.steps}, ckpt)
            if step + 1 in spread_steps:
                torch.save({"ema": _cpu(ema), "step": step + 1, "schedule_steps": args.steps},
                           os.path.join(args.work, f"ckpt_{step + 1}.pt"))
            if step + 1 >= args.stop_after:
                break
        train_min = (time.time() - t0) / 60
        ema.to("cpu")
        print(f"trained {step + 1} steps in {train_min:.1f} min", flush=True)
        if args.train_only:
            return
    else:
        train_min = None
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    if args.export_only and "schedule_steps" in state:
        # the schedule the checkpoints were trained on (a --budget-min run chose it itself)
        args.steps = state["schedule_steps"]
        args.stop_after = state["step"]
        spread_steps = sorted({int(round(float(f) * args.steps)) for f in args.spread.split(",") if f.strip()})
    ema.load_state_dict(state["ema"])
    ema.eval()

    # export, verify, evaluate with onnxruntime (as the crate runs it)
    gsd_m = GSD_M
    export.export(ema, args.out, conf=args.conf or 0.3, iou=0.5, gsd_m=gsd_m)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(args.out, so, providers=["CPUExecutionProvider"])
    ev = {"held_out_groups": sorted({r["group"] for r in val_recs}),
          "train_groups": sorted({r["group"] for r in train_recs}),
          "checkpoint_step": state["step"], "schedule_steps": args.steps, "stop_after": args.stop_after, "batch": args.batch, "crop": args.size,
          "seed": args.seed, "sample_offset": args.sample_offset, "lr": args.lr, "raw_p": args.raw_p, "init": args.init, "gsd_m": gsd_m}
    for g in (0.3, 0.5):
        ev[f"real_heldout_gsd_{g}"] = evaluate.eval_real(sess, val_recs, g)
        print(f"gsd {g}: {json.dumps(ev[f'real_heldout_gsd_{g}'])}", flush=True)
    ev["real_heldout_gsd_0.3_grayscale"] = evaluate.eval_real(sess, val_recs, 0.3, gray=True)
    ev["synthetic_heldout"] = evaluate.eval_synthetic(sess, val_recs)
    print(json.dumps(ev["synthetic_heldout"]), flush=True)
    # default confidence: the threshold with the best mean car F1 at 0.3 and 0.5 m
    conf = args.conf
    if conf is None:
        best = None
        for c in (0.2, 0.3, 0.4, 0.5):
            f1s = []
            for g in (0.3, 0.5):
                pr = ev[f"real_heldout_gsd_{g}"]["car"][f"at_conf_{c:g}"]
                p, r = pr["precision"] or 0.0, pr["recall"]
                f1s.append(2 * p * r / max(p + r, 1e-9))
            f1 = float(np.mean(f1s))
            if best is None or f1 > best[1]:
                best = (c, f1)
        conf = best[0]
    ev["default_conf"] = conf
    export.export(ema, args.out, conf=conf, iou=0.5, gsd_m=gsd_m)
    ev["onnx"] = export.verify(ema, args.out)
    ev["onnx"].pop("metadata", None)
    ev["single_core_ms_per_640_tile"] = export.time_single_core(args.out)
    # spread over the last checkpoints of the schedule (EMA weights at e.g. 80 %, 90 %, 100 %)
    spread = {str(state["step"]): {g: {"car_ap50": ev[f"real_heldout_gsd_{g}"]["car"]["ap50"],
                                       "car_ap50_by_group": ev[f"real_heldout_gsd_{g}"]["car_ap50_by_group"]}
                                   for g in (0.3, 0.5)}}
    for st in spread_steps:
        path = os.path.join(args.work, f"ckpt_{st}.pt")
        if st == state["step"] or not os.path.exists(path):
            continue
        net_s = copy.deepcopy(ema)
        net_s.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["ema"])
        tmp = os.path.join(args.work, f"ckpt_{st}.onnx")
        export.export(net_s, tmp, conf=conf, iou=0.5, gsd_m=gsd_m)
        sess_s = ort.InferenceSession(tmp, so, providers=["CPUExecutionProvider"])
        spread[str(st)] = {}
        for g in (0.3, 0.5):
            r = evaluate.eval_real(sess_s, val_recs, g)
            spread[str(st)][g] = {"car_ap50": r["car"]["ap50"], "car_ap50_by_group": r["car_ap50_by_group"]}
        print(f"checkpoint {st}: {json.dumps(spread[str(st)])}", flush=True)
    ev["checkpoint_spread"] = spread
    ev["train_minutes"] = train_min
    ev["total_minutes"] = (time.time() - t0) / 60
    os.makedirs(os.path.dirname(os.path.abspath(args.eval_out)), exist_ok=True)
    with open(args.eval_out, "w") as f:
        json.dump(ev, f, indent=2)
    print(json.dumps({k: ev[k] for k in ("default_conf", "single_core_ms_per_640_tile", "onnx")}, indent=1))
    print(f"done in {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
