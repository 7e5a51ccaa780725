"""The satdet vehicle detector: a small anchor-free, CenterNet/FCOS-style network.

Written for this project from scratch (no borrowed code or weights, no pretrained
backbone). One stride-4 head: every cell of the 160x160 grid (for a 640x640 input)
predicts per-class centre scores (sigmoid) and the distances from the cell centre to
the four box sides. `decode=True` turns that into the Ultralytics v8 layout
[batch, 4 + C, N]: rows 0-3 = cx, cy, w, h in input pixels, rows 4.. = class scores.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 4
NUM_CLASSES = 3
CLASS_NAMES = ("car", "truck", "excavator")


def conv_bn(cin, cout, k=3, s=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class DWBlock(nn.Module):
    """Depthwise 3x3 + pointwise 1x1, residual when shapes allow."""

    def __init__(self, cin, cout, s=1):
        super().__init__()
        self.dw = conv_bn(cin, cin, 3, s, groups=cin, act=False)
        self.pw = conv_bn(cin, cout, 1)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.pw(self.dw(x))
        return x + y if self.res else y


class SatDet(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, width=(24, 48, 80, 128)):
        super().__init__()
        c1, c2, c3, c4 = width
        self.num_classes = num_classes
        # stride 2 and 4: plain convs (cheap at few channels, good for small objects)
        self.stem = nn.Sequential(conv_bn(3, c1, 3, 2), conv_bn(c1, c2, 3, 2))
        self.s4 = nn.Sequential(DWBlock(c2, c2), DWBlock(c2, c2))
        self.s8 = nn.Sequential(conv_bn(c2, c3, 3, 2), DWBlock(c3, c3), DWBlock(c3, c3))
        self.s16 = nn.Sequential(conv_bn(c3, c4, 3, 2), DWBlock(c4, c4), DWBlock(c4, c4), DWBlock(c4, c4))
        # top-down path back to stride 4
        self.lat16 = conv_bn(c4, c3, 1)
        self.fuse8 = DWBlock(c3, c3)
        self.lat8 = conv_bn(c3, c2, 1)
        self.fuse4 = nn.Sequential(DWBlock(c2, c2), DWBlock(c2, c2))
        self.head_cls = nn.Sequential(DWBlock(c2, c2), nn.Conv2d(c2, num_classes, 1))
        self.head_box = nn.Sequential(DWBlock(c2, c2), nn.Conv2d(c2, 4, 1))
        # prior: ~1% of cells are object centres
        nn.init.constant_(self.head_cls[-1].bias, -4.6)
        nn.init.constant_(self.head_box[-1].bias, 0.0)

    def features(self, x):
        f4 = self.s4(self.stem(x))
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        p8 = self.fuse8(f8 + F.interpolate(self.lat16(f16), scale_factor=2.0, mode="nearest"))
        p4 = self.fuse4(f4 + F.interpolate(self.lat8(p8), scale_factor=2.0, mode="nearest"))
        return p4

    def forward(self, x, decode=False):
        p4 = self.features(x)
        cls = self.head_cls(p4)  # raw logits [B, C, H, W]
        box = self.head_box(p4)  # raw log-distances (l, t, r, b) in stride units
        if not decode:
            return cls, box
        return decode_v8(cls, box)


def ltrb_from_raw(box):
    return torch.exp(torch.clamp(box, -4.0, 6.0)) * STRIDE


def grid_centres(h, w, device, dtype=torch.float32):
    ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * STRIDE
    xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * STRIDE
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return gx, gy


def decode_v8(cls, box):
    """[B,C,H,W] logits + [B,4,H,W] raw ltrb -> [B, 4+C, H*W] (cx, cy, w, h, scores)."""
    b, _, h, w = cls.shape
    gx, gy = grid_centres(h, w, cls.device, cls.dtype)
    d = ltrb_from_raw(box)
    x1 = gx - d[:, 0]
    y1 = gy - d[:, 1]
    x2 = gx + d[:, 2]
    y2 = gy + d[:, 3]
    xywh = torch.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1], dim=1)
    out = torch.cat([xywh, torch.sigmoid(cls)], dim=1)
    return out.flatten(2)


# ----------------------------------------------------------------------------- loss


def focal_heatmap_loss(logits, target, alpha=2.0, beta=4.0):
    """CenterNet's penalty-reduced focal loss; target is a Gaussian heatmap, 1 at centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1.0).float()
    neg = 1.0 - pos
    pos_loss = -torch.log(p) * (1 - p) ** alpha * pos
    neg_loss = -torch.log(1 - p) * p ** alpha * (1 - target) ** beta * neg
    npos = pos.sum().clamp(min=1.0)
    return (pos_loss.sum() + neg_loss.sum()) / npos


def giou_loss(pred, tgt):
    """pred, tgt: [..., 4] as ltrb distances from the same point (>0)."""
    pl, pt, pr, pb = pred.unbind(-1)
    tl, tt, tr, tb = tgt.unbind(-1)
    pa = (pl + pr) * (pt + pb)
    ta = (tl + tr) * (tt + tb)
    iw = torch.min(pl, tl) + torch.min(pr, tr)
    ih = torch.min(pt, tt) + torch.min(pb, tb)
    inter = iw.clamp(min=0) * ih.clamp(min=0)
    union = pa + ta - inter + 1e-6
    iou = inter / union
    cw = torch.max(pl, tl) + torch.max(pr, tr)
    ch = torch.max(pt, tt) + torch.max(pb, tb)
    carea = cw * ch + 1e-6
    return 1 - (iou - (carea - union) / carea)


def detection_loss(cls, box, hm, box_t, box_w):
    """hm: [B,C,H,W] heatmaps; box_t: [B,4,H,W] target ltrb in px; box_w: [B,H,W] weights."""
    l_cls = focal_heatmap_loss(cls, hm)
    m = box_w > 0
    if m.any():
        pred = ltrb_from_raw(box).permute(0, 2, 3, 1)[m]
        tgt = box_t.permute(0, 2, 3, 1)[m]
        w = box_w[m]
        l_box = (giou_loss(pred, tgt) * w).sum() / w.sum().clamp(min=1e-6)
    else:
        l_box = box.sum() * 0.0
    return l_cls, l_box


# ----------------------------------------------------------------------------- warm start


def load_onnx_weights(net, path):
    """Load the weights of an exported satdet ONNX file (same architecture) into `net`.

    The exporter folds each BatchNorm into its convolution, so a conv gets the folded
    weight and its BatchNorm becomes the identity plus the folded bias (mean 0, variance
    1 - eps, scale 1). The network then computes the same function as the file; BN
    statistics re-adapt during fine-tuning. Conv nodes are matched to modules by the
    module path that the exporter writes into the node's output name."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    mods = dict(net.named_modules())
    done = set()
    for node in m.graph.node:
        if node.op_type != "Conv":
            continue
        segs = node.output[0].split("/")[2:-1]  # '/net/s4/s4.0/dw/dw.0/Conv_output_0'
        parts, prev = [], None
        for seg in segs:
            if prev is not None and seg.startswith(prev + "."):
                parts.append(seg[len(prev) + 1:])
            else:
                parts.append(seg)
            prev = seg
        name = ".".join(parts)
        conv = mods[name]
        w = torch.from_numpy(init[node.input[1]].copy())
        b = torch.from_numpy(init[node.input[2]].copy()) if len(node.input) > 2 else None
        with torch.no_grad():
            conv.weight.copy_(w)
            if conv.bias is not None:
                conv.bias.copy_(b)
            else:
                parent, idx = name.rsplit(".", 1)
                bn = mods[f"{parent}.{int(idx) + 1}"]
                assert isinstance(bn, nn.BatchNorm2d), name
                bn.weight.fill_(1.0)
                bn.bias.copy_(b if b is not None else torch.zeros_like(bn.bias))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
        done.add(name)
    convs = {n for n, mod in mods.items() if isinstance(mod, nn.Conv2d)}
    assert done == convs, sorted(convs ^ done)
    return net


def calibrate_identity_bn(net, batches):
    """After `load_onnx_weights` every BatchNorm is the identity plus a bias in eval mode,
    but in training mode it would standardise with batch statistics and change the
    function. Measure each BN input's mean/variance on `batches` (in eval mode, where the
    net computes the loaded function exactly) and set running_mean/var to them and
    scale = sqrt(var + eps), shift = mean + bias: eval mode is unchanged, and training
    mode (batch statistics close to those) starts from the same function."""
    stats, hooks = {}, []
    bns = [mod for mod in net.modules() if isinstance(mod, nn.BatchNorm2d)]
    for bn in bns:
        def hook(mod, inp, out):
            x = inp[0].detach().double()
            s = stats.setdefault(mod, [0.0, 0.0, 0])
            s[0] = s[0] + x.sum((0, 2, 3))
            s[1] = s[1] + (x * x).sum((0, 2, 3))
            s[2] += x.numel() // x.shape[1]
        hooks.append(bn.register_forward_hook(hook))
    net.eval()
    with torch.no_grad():
        for x in batches:
            net(x)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for bn in bns:
            s1, s2, n = stats[bn]
            mean = s1 / n
            var = (s2 / n - mean * mean).clamp(min=1e-6)
            bias = bn.bias.detach().double().clone()  # the folded conv bias (weight is 1)
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_((mean + bias).float())
    return net
