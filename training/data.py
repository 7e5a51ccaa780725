"""Real training data: loading, per-image GSD, group split, and the augmented sampler.

Source images (drone/airborne, 0.03-0.13 m per pixel) are resampled to the satellite
ground sample distance the model targets (0.3-0.5 m per pixel). The GSD of each image
is estimated from its cars: the median of the longer box side is taken as 4.5 m.
"""

import glob
import math
import os
import re

import cv2
import numpy as np

import sensor
import synth

CAR_LENGTH_M = 4.5
BASE_GSD = 0.15  # images are cached at this GSD (area-averaged), then resampled per sample
PAD = 114

# source class -> model class: car -> car; truck, bus, minibus -> truck
CLASS_MAP = {"aerial-cars": {0: 0, 1: 1, 2: 1, 3: 1}, "drone-cars-madison": {0: 0}}

# Held-out groups (never seen in training). Groups are file-name prefixes; the KIT
# Munich mosaics (MOS*) come in two series of different image size, each one group.
VAL_GROUPS = {"aerial-cars/DJI_0013", "aerial-cars/DJI_0022", "aerial-cars/DJI_0028",
              "aerial-cars/MOS074-093", "drone-cars-madison/3", "drone-cars-madison/7"}


def group_of(dataset, name):
    stem = os.path.splitext(name)[0]
    if dataset == "drone-cars-madison":
        return f"{dataset}/{stem.split('_')[0]}"
    if stem.startswith("MOS"):
        n = int(re.sub(r"\D", "", stem))
        return f"{dataset}/MOS074-093" if n < 100 else f"{dataset}/MOS155-179"
    return f"{dataset}/{stem.split('-')[0]}"


def load_records(root):
    """All images with boxes (xyxy px, native resolution), class ids mapped, GSD estimated."""
    recs = []
    for dataset in sorted(CLASS_MAP):
        for path in sorted(glob.glob(os.path.join(root, dataset, "images", "*"))):
            name = os.path.basename(path)
            lab = os.path.join(root, dataset, "labels", os.path.splitext(name)[0] + ".txt")
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                continue
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            h, w = img.shape[:2]
            rows = np.loadtxt(lab, ndmin=2) if os.path.exists(lab) and os.path.getsize(lab) else np.zeros((0, 5))
            boxes, cls = [], []
            for c, cx, cy, bw, bh in rows:
                m = CLASS_MAP[dataset].get(int(c))
                if m is None:
                    continue
                boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
                cls.append(m)
            boxes = np.array(boxes, np.float32).reshape(-1, 4)
            cls = np.array(cls, np.int64)
            recs.append(dict(path=path, name=name, dataset=dataset, group=group_of(dataset, name),
                             img=img, boxes=boxes, cls=cls))
    # GSD per image from its cars; images with few cars take their group's median
    for r in recs:
        car = r["boxes"][r["cls"] == 0]
        r["gsd"] = CAR_LENGTH_M / float(np.median(np.maximum(car[:, 2] - car[:, 0], car[:, 3] - car[:, 1]))) if len(car) >= 3 else None
    for r in recs:
        if r["gsd"] is None:
            same = [q["gsd"] for q in recs if q["group"] == r["group"] and q["gsd"]]
            allg = [q["gsd"] for q in recs if q["dataset"] == r["dataset"] and q["gsd"]]
            r["gsd"] = float(np.median(same or allg))
    return recs


def split(recs):
    train = [r for r in recs if r["group"] not in VAL_GROUPS]
    val = [r for r in recs if r["group"] in VAL_GROUPS]
    return train, val


def resample(img, boxes, src_gsd, dst_gsd):
    f = src_gsd / dst_gsd
    h, w = img.shape[:2]
    nw, nh = max(1, int(round(w * f))), max(1, int(round(h * f)))
    out = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    return out, boxes * np.array([nw / w, nh / h, nw / w, nh / h], np.float32)


def cache_base(recs):
    """Cache each image at BASE_GSD (drops the full-resolution copy)."""
    for r in recs:
        r["img"], r["boxes"] = resample(r["img"], r["boxes"], r["gsd"], BASE_GSD)
        r["gsd"] = BASE_GSD
    return recs


# ----------------------------------------------------------------------------- sampler


def _rot_boxes(boxes, M, w, h):
    """Rotate boxes by affine M; the new box bounds the rotated inscribed ellipse
    (tighter than the rotated rectangle for the diagonal cars of an AABB label)."""
    if len(boxes) == 0:
        return boxes
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    a = (boxes[:, 2] - boxes[:, 0]) / 2
    b = (boxes[:, 3] - boxes[:, 1]) / 2
    ncx = M[0, 0] * cx + M[0, 1] * cy + M[0, 2]
    ncy = M[1, 0] * cx + M[1, 1] * cy + M[1, 2]
    cos, sin = abs(M[0, 0]), abs(M[1, 0])
    # mix of ellipse and rectangle bounds
    ea = np.sqrt((a * cos) ** 2 + (b * sin) ** 2)
    eb = np.sqrt((a * sin) ** 2 + (b * cos) ** 2)
    ra = a * cos + b * sin
    rb = a * sin + b * cos
    na, nb = 0.5 * (ea + ra), 0.5 * (eb + rb)
    return np.stack([ncx - na, ncy - nb, ncx + na, ncy + nb], 1).astype(np.float32)


def real_patch(rng, rec, gsd, max_w, max_h):
    """A random crop of a real image at `gsd`, flipped/rotated; returns (img float, boxes, cls)."""
    img, boxes, cls = rec["img"], rec["boxes"], rec["cls"]
    f = rec["gsd"] / gsd
    H, W = img.shape[:2]
    # source window large enough for the output (plus margin for rotation)
    sw, sh = min(W, int(max_w / f * 1.2) + 2), min(H, int(max_h / f * 1.2) + 2)
    x0 = int(rng.integers(0, W - sw + 1))
    y0 = int(rng.integers(0, H - sh + 1))
    crop = img[y0:y0 + sh, x0:x0 + sw]
    b = boxes - np.array([x0, y0, x0, y0], np.float32)
    crop, b = resample(crop, b, rec["gsd"], gsd)
    ch, cw = crop.shape[:2]
    # 90-degree rotations and flips
    k = int(rng.integers(0, 4))
    for _ in range(k):
        crop = np.rot90(crop)  # counter-clockwise: (x, y) -> (y, W - x)
        b = np.stack([b[:, 1], cw - b[:, 2], b[:, 3], cw - b[:, 0]], 1)
        ch, cw = cw, ch
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
        b = np.stack([cw - b[:, 2], b[:, 1], cw - b[:, 0], b[:, 3]], 1)
    crop = np.ascontiguousarray(crop)
    # small-angle rotation
    if rng.random() < 0.5:
        ang = rng.uniform(-15, 15)
        M = cv2.getRotationMatrix2D((cw / 2, ch / 2), ang, 1.0)
        crop = cv2.warpAffine(crop, M, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        b = _rot_boxes(b, M, cw, ch)
    crop = crop[:max_h, :max_w]
    return crop.astype(np.float32), b, cls.copy()


def _visible_boxes(boxes, cls, owner, ids, W, H, min_vis=0.5, npix=None):
    """Keep boxes whose object is at least min_vis visible. Real patches own their whole
    rectangle: visibility = owned fraction of the box. A synthetic sprite owns only its
    own pixels (alpha > 0.5; a diagonal truck or an excavator with its boom out fills a
    small part of its box): visibility = pixels still owned / pixels owned when pasted
    (`npix[id]`)."""
    npix = npix or {}
    keep_b, keep_c = [], []
    for b, c, i in zip(boxes, cls, ids):
        x0, y0, x1, y1 = np.clip(b, 0, [W, H, W, H])
        area = max(0.0, (b[2] - b[0]) * (b[3] - b[1]))
        xi0, yi0, xi1, yi1 = int(math.floor(x0)), int(math.floor(y0)), int(math.ceil(x1)), int(math.ceil(y1))
        if area <= 1 or xi1 <= xi0 or yi1 <= yi0:
            continue
        if i in npix:
            vis = (owner[yi0:yi1, xi0:xi1] == i).sum() / max(npix[i], 1) * ((x1 - x0) * (y1 - y0)) / area
        else:
            vis = (owner[yi0:yi1, xi0:xi1] == i).mean() * ((x1 - x0) * (y1 - y0)) / area
        if vis >= min_vis and (x1 - x0) >= 2 and (y1 - y0) >= 2:
            keep_b.append([x0, y0, x1, y1])
            keep_c.append(c)
    return np.array(keep_b, np.float32).reshape(-1, 4), np.array(keep_c, np.int64)


GSD_RANGE = (0.25, 0.65)  # the training GSD band, m/px (written as the model's gsd_m metadata)


class Sampler:
    """Builds one augmented training sample (size x size) deterministically from an index.

    The sample is composed at a ground sample distance drawn log-uniformly in
    `gsd_range` (geometric centre 0.40 m for 0.25-0.65), then passed through the
    satellite sensor model (`sensor.apply`), except for a share `raw_p` of the samples,
    which get the third model's light photometric augmentation instead (`photometric`:
    colour jitter, mild blur or sharpening, grayscale, noise, percentile stretch), so the
    sharp aerial/drone look the held-out data have stays in training. Whether a sample
    is raw is drawn from a separate generator (seed, index, 1): with raw_p = 0 every
    sample is exactly the one of the fourth round (E4)."""

    def __init__(self, recs, size=256, gsd_range=GSD_RANGE, seed=0, gray_p=0.45, raw_p=0.0):
        self.recs = recs
        self.size = size
        self.gsd_range = gsd_range
        self.seed = seed
        self.gray_p = gray_p
        self.raw_p = raw_p
        # sample images in proportion to their ground area (cap the big ones)
        area = np.array([r["img"].shape[0] * r["img"].shape[1] for r in recs], np.float64)
        self.p = np.sqrt(area) / np.sqrt(area).sum()
        self.truck_recs = [i for i, r in enumerate(recs) if (r["cls"] == 1).any()]

    def __call__(self, index):
        rng = np.random.default_rng([self.seed, index])
        S = self.size
        gsd = float(math.exp(rng.uniform(math.log(self.gsd_range[0]), math.log(self.gsd_range[1]))))
        mode = rng.choice(["real", "synthetic"], p=[0.7, 0.3])
        ground = None
        if mode == "synthetic" and rng.random() < 0.3:
            ground = rng.choice(["sandbar", "sand", "gravel"])  # trucks / excavators on sandbars
        canvas, _ = synth.terrain(rng, S, S, ground)
        owner = np.full((S, S), -1, np.int32)
        boxes, cls, ids = [], [], []
        nid = 0

        def add(b, c, owner_id):
            for bb, cc in zip(b, c):
                boxes.append(bb)
                cls.append(cc)
                ids.append(owner_id)

        n_real = int(rng.integers(2, 7)) if mode == "real" else int(rng.integers(0, 2))
        for _ in range(n_real):
            if len(self.truck_recs) and rng.random() < 0.12:
                rec = self.recs[self.truck_recs[rng.integers(len(self.truck_recs))]]
            else:
                rec = self.recs[rng.choice(len(self.recs), p=self.p)]
            pw, ph = int(rng.integers(S // 3, S + 1)), int(rng.integers(S // 3, S + 1))
            img, b, c = real_patch(rng, rec, gsd, pw, ph)
            h, w = img.shape[:2]
            x, y = int(rng.integers(-w // 3, S - w // 3 + 1)), int(rng.integers(-h // 3, S - h // 3 + 1))
            xs0, ys0, xs1, ys1 = max(0, x), max(0, y), min(S, x + w), min(S, y + h)
            if xs1 <= xs0 or ys1 <= ys0:
                continue
            canvas[ys0:ys1, xs0:xs1] = img[ys0 - y:ys1 - y, xs0 - x:xs1 - x]
            owner[ys0:ys1, xs0:xs1] = nid
            add(b + np.array([x, y, x, y], np.float32), c, nid)
            nid += 1

        water = None
        if rng.random() < (0.4 if mode == "synthetic" else 0.12):
            wm = synth.water_mask(rng, S, S)
            wbg, wk = synth.terrain(rng, S, S, rng.choice(["water", "muddy_water"]))
            if rng.random() < 0.35:  # river rapids: white water
                synth.add_rapids(rng, wbg, wm.astype(np.float32))
            canvas[wm] = wbg[wm]
            owner[wm] = -3
            water = (wm, synth.TERRAIN[wk][0])
        # sun: azimuth, tan(elevation 20-75 deg: long winter and short summer shadows), darkness
        sun = (rng.uniform(0, 2 * math.pi), math.tan(math.radians(rng.uniform(20, 75))), rng.uniform(0.25, 0.65))
        # off-nadir view: tops of objects displaced by h * tan(off-nadir) metres
        lean = None
        if rng.random() < 0.6:
            off, az = math.tan(math.radians(rng.uniform(0, 30))), rng.uniform(0, 2 * math.pi)
            lean = (math.cos(az) * off / gsd, math.sin(az) * off / gsd)

        def place(k):
            return int(rng.integers(-k // 3, S - 2 * k // 3)), int(rng.integers(-k // 3, S - 2 * k // 3))

        # unlabelled hard negatives
        clutter = []
        if rng.random() < 0.45:
            clutter += ["shrub"] * int(rng.integers(2, 14))
        if rng.random() < 0.2:
            clutter += ["rock"] * int(rng.integers(2, 12))
        if rng.random() < 0.15:
            clutter.append("grid")
        if rng.random() < 0.15:
            clutter.append("markings")
        if rng.random() < 0.25:
            clutter += ["roof"] * int(rng.integers(1, 3))
        if rng.random() < 0.12:
            clutter.append("containers")
        renders = {"shrub": synth.render_shrub, "grid": synth.render_grid, "markings": synth.render_markings,
                   "rock": synth.render_rock, "roof": synth.render_roof_units, "containers": synth.render_containers}
        rng.shuffle(clutter)
        for kind in clutter:
            spr = renders[kind](rng, gsd)
            x, y = place(spr[1].shape[0])
            synth.paste(canvas, spr, x, y, rng, sun=sun, gsd=gsd, lean=lean, owner=owner, oid=-4)
        if water is not None and rng.random() < 0.5:  # boats on the water
            wy, wx = np.nonzero(water[0])
            for _ in range(int(rng.integers(1, 4)) if len(wx) else 0):
                spr = synth.render_boat(rng, gsd)
                k = spr[1].shape[0]
                j = int(rng.integers(len(wx)))
                synth.paste(canvas, spr, int(wx[j]) - k // 2, int(wy[j]) - k // 2, rng, sun=sun, gsd=gsd,
                            lean=lean, owner=owner, oid=-4)

        n_exc = int(rng.integers(1, 5)) if mode == "synthetic" else int(rng.random() < 0.3) * int(rng.integers(1, 3))
        n_trk = int(rng.integers(0, 3)) if mode == "synthetic" else int(rng.random() < 0.25) * int(rng.integers(1, 3))
        n_car = int(rng.integers(0, 4)) if mode == "synthetic" else 0
        objs = ["exc"] * n_exc + ["trk"] * n_trk + ["car"] * n_car
        npix = {}
        rng.shuffle(objs)
        for kind in objs:
            spr = {"exc": synth.render_excavator, "trk": synth.render_truck, "car": synth.render_car}[kind](rng, gsd)
            x, y = place(spr[1].shape[0])
            k = spr[1].shape[0]
            sub = None
            if water is not None and kind == "exc":
                cy, cx = min(S - 1, max(0, y + k // 2)), min(S - 1, max(0, x + k // 2))
                if water[0][cy, cx]:
                    sub = (water[1], rng.uniform(0.3, 2.2))
            b = synth.paste(canvas, spr, x, y, rng, sun=sun, submerge=sub, gsd=gsd,
                            lean=lean if sub is None else None, owner=owner, oid=nid)
            if b is None:
                continue
            npix[nid] = int((owner == nid).sum())
            add(b[None], [{"exc": 2, "trk": 1, "car": 0}[kind]], nid)
            nid += 1

        # the crate pads partial tiles with 114 on the right / bottom
        if rng.random() < 0.12:
            if rng.random() < 0.5:
                x = int(rng.integers(S // 4, S))
                canvas[:, x:] = PAD
                owner[:, x:] = -2
            else:
                y = int(rng.integers(S // 4, S))
                canvas[y:] = PAD
                owner[y:] = -2

        b, c = _visible_boxes(np.array(boxes, np.float32).reshape(-1, 4), np.array(cls, np.int64), owner, ids, S, S, npix=npix)
        if self.raw_p > 0 and np.random.default_rng([self.seed, index, 1]).random() < self.raw_p:
            img = photometric(rng, canvas, owner == -2, 0.4)
        else:
            img = sensor.apply(rng, canvas, owner == -2, self.gray_p)
        return img, b, c


def photometric(rng, img, pad, gray_p):
    """The third model's augmentation (commit 693967f), for the samples that skip the
    sensor model: colour jitter, blur or sharpening, grayscale, noise, the crate's
    percentile stretch; img float 0-255 -> float 0-1."""
    x = img.astype(np.float32) / 255.0
    # colour jitter: brightness/contrast/saturation/per-channel gain, gamma
    if rng.random() < 0.8:
        x = x * rng.uniform(0.7, 1.3) + rng.uniform(-0.1, 0.1)
        m = x.mean()
        x = (x - m) * rng.uniform(0.7, 1.35) + m
        g = x.mean(-1, keepdims=True)
        x = g + (x - g) * rng.uniform(0.4, 1.25)
        x = x * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        x = np.clip(x, 0, 1) ** rng.uniform(0.75, 1.35)
    # blur (optics + resampling), sometimes sharpening
    r = rng.random()
    if r < 0.5:
        x = cv2.GaussianBlur(x.astype(np.float32), (0, 0), rng.uniform(0.3, 1.0))
    elif r < 0.65:
        bl = cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.0)
        x = x + rng.uniform(0.3, 0.8) * (x - bl)
    if rng.random() < gray_p:
        w = rng.dirichlet([4, 6, 3])
        x = np.repeat((x * w).sum(-1, keepdims=True), 3, -1)
    if rng.random() < 0.7:
        x = x + rng.normal(0, rng.uniform(0.003, 0.03), x.shape[:2] + ((1,) if rng.random() < 0.5 else (3,))).astype(np.float32)
    x = np.clip(x, 0, 1)
    if rng.random() < 0.25:  # the crate's 16-bit percentile stretch
        lo, hi = np.percentile(x[~pad] if (~pad).any() else x, [2, 98])
        x = np.clip((x - lo) / max(hi - lo, 1e-3), 0, 1)
    x[pad] = PAD / 255.0
    return x.astype(np.float32)


def make_targets(boxes, cls, size, stride=4, num_classes=3):
    """Gaussian centre heatmaps + ltrb box targets at every cell near a centre."""
    G = size // stride
    hm = np.zeros((num_classes, G, G), np.float32)
    box_t = np.zeros((4, G, G), np.float32)
    box_w = np.zeros((G, G), np.float32)
    gc = (np.arange(G, dtype=np.float32) + 0.5) * stride
    for (x0, y0, x1, y1), c in zip(boxes, cls):
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        ix, iy = min(G - 1, int(cx / stride)), min(G - 1, int(cy / stride))
        sx = max(0.54 * w / 6 / stride, 0.5)
        sy = max(0.54 * h / 6 / stride, 0.5)
        rx, ry = int(3 * sx) + 1, int(3 * sy) + 1
        xa, xb = max(0, ix - rx), min(G, ix + rx + 1)
        ya, yb = max(0, iy - ry), min(G, iy + ry + 1)
        gx = np.arange(xa, xb) - ix
        gy = np.arange(ya, yb) - iy
        g = np.exp(-(gx[None, :] ** 2) / (2 * sx * sx) - (gy[:, None] ** 2) / (2 * sy * sy)).astype(np.float32)
        hm[c, ya:yb, xa:xb] = np.maximum(hm[c, ya:yb, xa:xb], g)
        # box targets where the cell centre lies inside the box
        px, py = gc[xa:xb][None, :], gc[ya:yb][:, None]
        l, t, r, b = px - x0, py - y0, x1 - px, y1 - py
        inside = (np.minimum(np.minimum(l, r), np.minimum(t, b)) > 0.25) & (g > 0.1)
        better = inside & (g > box_w[ya:yb, xa:xb])
        if better.any():
            sub_w = box_w[ya:yb, xa:xb]
            sub_w[better] = g[better]
            for k, v in enumerate((l, t, r, b)):
                sub = box_t[k, ya:yb, xa:xb]
                sub[better] = np.broadcast_to(v, g.shape)[better]
    return hm, box_t, box_w
