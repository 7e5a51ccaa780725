"""Synthetic overhead objects and terrain, rendered by the project itself.

Excavators (the only source of the `excavator` class: no real imagery of them is
available), trucks/trailers/buses (to supplement the few real ones) and a few cars,
seen from straight above with a cast shadow, plus terrain backgrounds (earth, gravel,
sand, grass, asphalt, shallow water). All sizes are in metres and rendered at 4x the
target resolution, then area-averaged down, so the sprites have the soft edges of a
real sensor at 0.3-0.5 m per pixel.
"""

import math

import cv2
import numpy as np

SUPER = 4  # supersampling factor

EXC_COLOURS = [  # RGB, 0-255: yellows, oranges, greys (+ a few rarer paints)
    (232, 184, 28), (240, 200, 40), (222, 165, 20), (245, 215, 70),
    (236, 120, 24), (228, 98, 20), (250, 140, 40),
    (170, 170, 165), (200, 200, 195), (120, 122, 120), (225, 225, 215),
    (60, 110, 60), (40, 80, 150), (190, 40, 30),
]
EXC_WEIGHTS = np.array([4, 4, 3, 2, 3, 2, 2, 2, 2, 1, 1, 0.6, 0.6, 0.6], dtype=np.float64)
EXC_WEIGHTS /= EXC_WEIGHTS.sum()

VEH_COLOURS = [
    (235, 235, 235), (250, 250, 250), (200, 200, 200), (150, 150, 155), (90, 90, 95),
    (30, 30, 35), (160, 30, 30), (30, 60, 140), (40, 110, 60), (210, 190, 60), (200, 110, 40),
]


def _rect(cx, cy, length, width, ang):
    """Corners of a rectangle, length along `ang` (radians), in metres."""
    c, s = math.cos(ang), math.sin(ang)
    ux, uy = c * length / 2, s * length / 2
    vx, vy = -s * width / 2, c * width / 2
    return np.array([[cx + ux + vx, cy + uy + vy], [cx + ux - vx, cy + uy - vy],
                     [cx - ux - vx, cy - uy - vy], [cx - ux + vx, cy - uy + vy]])


def _jit(rng, col, amt=18):
    return tuple(float(np.clip(c + rng.normal(0, amt), 0, 255)) for c in col)


class Canvas:
    """A supersampled RGBA drawing surface in metres, centred on the object."""

    def __init__(self, size_m, gsd):
        self.px_per_m = SUPER / gsd
        self.n = int(math.ceil(size_m * self.px_per_m / SUPER)) * SUPER
        self.rgb = np.zeros((self.n, self.n, 3), np.float32)
        self.alpha = np.zeros((self.n, self.n), np.float32)
        self.height = np.zeros((self.n, self.n), np.float32)  # metres, for the shadow

    def _px(self, p):
        return (np.asarray(p, np.float64) * self.px_per_m + self.n / 2).astype(np.int32)

    def poly(self, pts_m, colour, height, alpha=1.0):
        pts = [self._px(pts_m)]
        cv2.fillPoly(self.rgb, pts, tuple(float(c) for c in colour))
        cv2.fillPoly(self.alpha, pts, float(alpha))
        cv2.fillPoly(self.height, pts, float(height))

    def line(self, p0, p1, width_m, colour, height):
        a, b = tuple(int(v) for v in self._px(p0)), tuple(int(v) for v in self._px(p1))
        t = max(1, int(width_m * self.px_per_m))
        cv2.line(self.rgb, a, b, tuple(float(c) for c in colour), t)
        cv2.line(self.alpha, a, b, 1.0, t)
        cv2.line(self.height, a, b, float(height), t)

    def shade(self, rng, strength=0.25):
        """Directional shading + small noise so flat paint is not perfectly flat."""
        r = (np.arange(self.n, dtype=np.float32) / self.n - 0.5)
        a = rng.uniform(0, 2 * math.pi)
        g = 1.0 + strength * (r[None, :] * math.cos(a) + r[:, None] * math.sin(a))
        self.rgb *= g[..., None]

    def finish(self):
        """Downsample to the target grid: (rgb float, alpha, height map)."""
        k = self.n // SUPER
        rgb = cv2.resize(self.rgb, (k, k), interpolation=cv2.INTER_AREA)
        a = cv2.resize(self.alpha, (k, k), interpolation=cv2.INTER_AREA)
        h = cv2.resize(self.height, (k, k), interpolation=cv2.INTER_AREA)
        # colour was premultiplied by nothing: un-premultiply where partly covered
        rgb = np.where(a[..., None] > 1e-3, rgb / np.maximum(a[..., None], 1e-3), 0)
        rgb += np.random.default_rng(int(rgb.sum()) % 1000003).normal(0, 4, rgb.shape).astype(np.float32)
        return np.clip(rgb, 0, 255), a, h


def render_excavator(rng, gsd):
    scale = rng.choice([0.6, 0.8, 1.0, 1.0, 1.2, 1.4], p=[0.15, 0.2, 0.25, 0.15, 0.15, 0.1])
    lt = rng.uniform(3.6, 4.8) * scale       # track length
    wt = rng.uniform(2.4, 3.2) * scale       # track gauge (outer width)
    tw = rng.uniform(0.5, 0.75) * scale      # one track's width
    hw = rng.uniform(2.4, 3.0) * scale       # house width
    hl = rng.uniform(2.8, 3.6) * scale       # house length
    boom = rng.uniform(4.5, 6.5) * scale
    arm = rng.uniform(2.2, 3.4) * scale
    cv = Canvas(2 * (boom + max(arm, 0) + hl * 0.6) + 2, gsd)
    at = rng.uniform(0, 2 * math.pi)         # track heading
    ah = at + rng.uniform(-math.pi, math.pi) if rng.random() < 0.7 else at  # house slew
    body = _jit(rng, EXC_COLOURS[rng.choice(len(EXC_COLOURS), p=EXC_WEIGHTS)])
    dark = _jit(rng, (45, 45, 45), 10)
    # tracks
    off = (wt - tw) / 2
    for sgn in (-1, 1):
        cx, cy = -math.sin(at) * off * sgn, math.cos(at) * off * sgn
        cv.poly(_rect(cx, cy, lt, tw, at), dark, 0.8)
        # tread stripes
        for k in np.linspace(-lt / 2, lt / 2, int(lt / 0.35)) if rng.random() < 0.5 else ():
            p = np.array([cx + math.cos(at) * k, cy + math.sin(at) * k])
            q = np.array([-math.sin(at), math.cos(at)]) * tw / 2
            cv.line(p - q, p + q, 0.06, _jit(rng, (70, 70, 70), 8), 0.8)
    if rng.random() < 0.5:  # undercarriage between tracks
        cv.poly(_rect(0, 0, lt * 0.6, wt - 2 * tw, at), _jit(rng, (60, 60, 55), 8), 0.6)
    # house, shifted backwards: the slew centre sits in front of the house centre
    hc = np.array([-math.cos(ah), -math.sin(ah)]) * hl * 0.15
    cv.poly(_rect(hc[0], hc[1], hl, hw, ah), body, 2.6)
    # counterweight at the rear
    cw = hc + np.array([-math.cos(ah), -math.sin(ah)]) * hl * 0.42
    cwc = _jit(rng, body, 8) if rng.random() < 0.6 else _jit(rng, (70, 70, 70), 10)
    cv.poly(_rect(cw[0], cw[1], hl * 0.2, hw * 0.98, ah), tuple(c * 0.85 for c in cwc), 2.6)
    # engine cover details
    for _ in range(rng.integers(0, 3)):
        d = hc + np.array([-math.cos(ah), -math.sin(ah)]) * rng.uniform(0, hl * 0.3)
        cv.poly(_rect(d[0], d[1], hl * 0.12, hw * rng.uniform(0.3, 0.6), ah),
                _jit(rng, (50, 50, 50), 10), 2.7)
    # cab on the front left (or right)
    side = 1 if rng.random() < 0.8 else -1
    fwd = np.array([math.cos(ah), math.sin(ah)])
    lat = np.array([-math.sin(ah), math.cos(ah)])
    cc = hc + fwd * hl * 0.22 + lat * side * hw * 0.28
    cab_l, cab_w = 1.7 * scale, 1.0 * scale
    cv.poly(_rect(cc[0], cc[1], cab_l, cab_w, ah), _jit(rng, body, 8), 3.0)
    if rng.random() < 0.6:  # roof window / dark glass
        cv.poly(_rect(cc[0] + fwd[0] * cab_l * 0.3, cc[1] + fwd[1] * cab_l * 0.3,
                      cab_l * 0.3, cab_w * 0.8, ah), _jit(rng, (40, 50, 60), 10), 3.0)
    # boom + arm, from the front centre, in the slew direction; arm may fold back
    b0 = hc + fwd * hl * 0.45 - lat * side * hw * 0.05
    b1 = b0 + fwd * boom * rng.uniform(0.75, 1.0)
    bw = rng.uniform(0.45, 0.7) * scale
    cv.line(b0, b1, bw, body, 3.2)
    fold = rng.uniform(-0.9, 1.0)  # >0: arm reaches out, <0: folded back under the boom
    b2 = b1 + fwd * arm * fold
    cv.line(b1, b2, bw * 0.8, tuple(c * 0.93 for c in body), 2.5 + 1.5 * (fold < 0))
    # bucket at the end of the arm
    bc = _jit(rng, (60, 58, 55), 15) if rng.random() < 0.6 else body
    cv.poly(_rect(b2[0], b2[1], rng.uniform(0.8, 1.2) * scale, rng.uniform(0.9, 1.3) * scale, ah), bc, 1.2)
    cv.shade(rng)
    return cv.finish()


def render_truck(rng, gsd):
    kind = rng.choice(["semi", "rigid", "bus", "tanker", "dump", "trailer"], p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.15])
    ang = rng.uniform(0, 2 * math.pi)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    w = rng.uniform(2.3, 2.6)
    cv = Canvas(24, gsd)
    cab_col = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))], 12)
    if kind == "bus":
        length = rng.uniform(9, 13)
        col = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))], 12)
        cv.poly(_rect(0, 0, length, w, ang), col, 3.2)
        for _ in range(rng.integers(1, 4)):  # roof units
            p = fwd * rng.uniform(-length / 3, length / 3)
            cv.poly(_rect(p[0], p[1], rng.uniform(1, 2.5), w * 0.6, ang), _jit(rng, (185, 185, 185), 15), 3.4)
    elif kind == "trailer":  # a semi-trailer parked without its tractor (box, flatbed or car carrier)
        length = rng.uniform(7, 13.6)
        col = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))], 15)
        cv.poly(_rect(0, 0, length, w, ang), col, rng.uniform(1.4, 4.0))
        if rng.random() < 0.5:  # flatbed / carrier: load or deck seams
            for k in np.linspace(-length / 2, length / 2, rng.integers(3, 8)):
                p = fwd * k
                q = np.array([-fwd[1], fwd[0]]) * w / 2
                cv.line(p - q, p + q, 0.12, tuple(c * 0.7 for c in col), 1.6)
        p = fwd * (length / 2 + 0.6)  # drawbar / landing gear at the front
        cv.line(p - fwd * 0.6, p, 0.3, (60, 60, 60), 1.0)
    else:
        cab_l = rng.uniform(1.8, 2.4)
        body_l = {"semi": rng.uniform(9, 14), "rigid": rng.uniform(4, 7.5),
                  "tanker": rng.uniform(8, 12), "dump": rng.uniform(4, 7)}[kind]
        gap = rng.uniform(0.2, 1.0)
        total = cab_l + gap + body_l
        cab_c = fwd * (total / 2 - cab_l / 2)
        body_c = fwd * (-total / 2 + body_l / 2)
        cv.poly(_rect(cab_c[0], cab_c[1], cab_l, w * 0.97, ang), cab_col, 3.0)
        cv.poly(_rect(cab_c[0] + fwd[0] * cab_l * 0.35, cab_c[1] + fwd[1] * cab_l * 0.35,
                      cab_l * 0.25, w * 0.85, ang), _jit(rng, (40, 45, 55), 8), 2.6)
        bcol = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))], 12)
        if kind == "tanker":
            bcol = _jit(rng, (200, 200, 200), 25)
        cv.poly(_rect(body_c[0], body_c[1], body_l, w, ang), bcol, 3.6)
        if kind == "dump":  # open box: darker load inside
            cv.poly(_rect(body_c[0], body_c[1], body_l * 0.9, w * 0.8, ang),
                    _jit(rng, (120, 100, 80), 25), 2.5)
        if kind == "semi" and rng.random() < 0.5:  # flatbed / container seams
            for k in np.linspace(-body_l / 2, body_l / 2, rng.integers(2, 6)):
                p = body_c + fwd * k
                q = np.array([-fwd[1], fwd[0]]) * w / 2
                cv.line(p - q, p + q, 0.1, tuple(c * 0.8 for c in bcol), 3.6)
    cv.shade(rng, 0.15)
    return cv.finish()


def render_car(rng, gsd):
    ang = rng.uniform(0, 2 * math.pi)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    length, w = rng.uniform(3.9, 5.2), rng.uniform(1.7, 2.0)
    cv = Canvas(8, gsd)
    col = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))], 15)
    cv.poly(_rect(0, 0, length, w, ang), col, 1.5)
    g = _jit(rng, (35, 40, 50), 8)
    p = fwd * length * 0.18
    cv.poly(_rect(p[0], p[1], length * 0.16, w * 0.85, ang), g, 1.5)
    p = -fwd * length * 0.28
    cv.poly(_rect(p[0], p[1], length * 0.1, w * 0.8, ang), g, 1.5)
    cv.shade(rng, 0.2)
    return cv.finish()


# ----------------------------------------------------------------------------- terrain


def _noise(rng, h, w, octaves=4, base=4):
    out = np.zeros((h, w), np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        s = base * 2 ** o
        small = rng.random((s + 1, s + 1)).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        tot += amp
        amp *= 0.5
    out /= tot
    return (out - out.mean()) / (out.std() + 1e-6)


TERRAIN = {  # mean RGB, texture strength, speckle
    "earth": ((125, 100, 75), 18, 8),
    "dark_earth": ((90, 75, 60), 14, 8),
    "gravel": ((150, 145, 138), 12, 22),
    "sand": ((205, 190, 155), 12, 8),
    "grass": ((95, 115, 70), 16, 10),
    "asphalt": ((95, 95, 98), 6, 8),
    "concrete": ((175, 172, 165), 8, 8),
    "sandbar": ((180, 168, 138), 14, 10),
    "water": ((70, 100, 95), 10, 3),
    "muddy_water": ((120, 110, 80), 10, 3),
}


def terrain(rng, h, w, kind=None):
    kind = kind or rng.choice(list(TERRAIN))
    mean, tex, speck = TERRAIN[kind]
    mean = np.array(_jit(rng, mean, 15), np.float32)
    n = _noise(rng, h, w, base=int(rng.integers(2, 6)))
    img = mean[None, None, :] + tex * n[..., None] * rng.uniform(0.5, 1.5, 3).astype(np.float32)
    img += rng.normal(0, speck, (h, w, 1)).astype(np.float32)
    if kind in ("earth", "dark_earth", "sand", "gravel") and rng.random() < 0.6:
        # tyre / track marks
        for _ in range(rng.integers(1, 6)):
            p0 = rng.uniform(0, [w, h]).astype(int)
            p1 = rng.uniform(0, [w, h]).astype(int)
            d = rng.uniform(0.75, 1.15)
            ov = img.copy()
            cv2.line(ov, tuple(int(v) for v in p0), tuple(int(v) for v in p1),
                     tuple(float(c * d) for c in mean), int(rng.integers(1, 4)))
            img = ov
    if kind in ("sand", "sandbar") and rng.random() < 0.6:
        # ripples and wet (darker) patches of a sandbar
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = rng.uniform(0, math.pi)
        period = rng.uniform(3, 9)
        ph = (xx * math.cos(a) + yy * math.sin(a)) * 2 * math.pi / period + 2.0 * _noise(rng, h, w, 2, 2)
        img *= (1 + rng.uniform(0.03, 0.1) * np.sin(ph))[..., None]
        wet = _noise(rng, h, w, 3, 3) > rng.uniform(0.3, 1.2)
        img[wet] *= rng.uniform(0.6, 0.85)
    return np.clip(img, 0, 255), kind


def water_mask(rng, h, w):
    """A shoreline: True where water."""
    n = _noise(rng, h, w, octaves=3, base=2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * math.pi)
    ramp = ((xx - w / 2) * math.cos(a) + (yy - h / 2) * math.sin(a)) / max(h, w) * 4
    return (ramp + 0.6 * n + rng.uniform(-1, 1)) > 0


def _pad_sprite(sprite, m):
    """Pad a sprite's arrays by m pixels on every side (room for its shadow and lean)."""
    return tuple(np.pad(arr, ((m, m), (m, m)) + ((0, 0),) * (arr.ndim - 2)) for arr in sprite)


def _shift(img, dx, dy):
    k = img.shape[0]
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img.astype(np.float32), M, (k, k), flags=cv2.INTER_LINEAR)


def paste(canvas, sprite, x, y, rng, sun=None, submerge=None, gsd=None, lean=None, owner=None, oid=None):
    """Alpha-blend a sprite (rgb, alpha, height) into canvas (float32 HxWx3) with its
    top-left at (x, y); draw its cast shadow first. Returns the visible box xyxy or None.

    sun = (azimuth rad, tan(elevation), darkness): the shadow of a point at height h m
    falls h / tan(elevation) METRES away, i.e. h / tan(elevation) / gsd pixels (`gsd` in
    m/px is required with `sun`). lean = (dx, dy) pixels per metre of height: off-nadir
    view, the top of the object is displaced and its side wall becomes visible.
    `submerge` = (water RGB, depth in metres): hides what is lower than the depth.
    `owner`/`oid`: mark the canvas pixels this sprite covers (alpha > 0.5 only; shadows
    and soft edges do not hide what lies under them)."""
    rgb, a, hgt = sprite
    H, W = canvas.shape[:2]
    hmax = float(hgt.max()) if hgt.size else 0.0
    shadow_px = 0.0
    if sun is not None:
        assert gsd is not None, "paste: a sun needs the GSD (shadow length is in metres)"
        shadow_px = hmax / sun[1] / gsd
    lean_px = math.hypot(*lean) * hmax if lean is not None else 0.0
    m = int(math.ceil(shadow_px + lean_px)) + 2
    if m > 2:
        rgb, a, hgt = _pad_sprite((rgb, a, hgt), m)
        x, y = x - m, y - m
    k = a.shape[0]
    if submerge is not None:
        wcol, depth = submerge
        vis = np.clip((hgt - depth) / 0.4 + 0.5, 0, 1) * (a > 0.05)
        wa = (1 - vis) * a * 0.9
        rgb = rgb * (1 - wa[..., None]) + np.array(wcol, np.float32) * wa[..., None]
        # the water itself is drawn by the background; keep only what sticks out (+ wake)
        a = a * np.clip(vis + 0.25 * (1 - vis), 0, 1)
    # shadow: object silhouette shifted along the sun direction by height (in pixels)
    if sun is not None and hmax > 0:
        ang, tan_el, dark = sun
        sh = np.zeros_like(a)
        for frac in (0.2, 0.4, 0.6, 0.8, 1.0):
            d = hmax * frac / tan_el / gsd
            sh = np.maximum(sh, _shift(a * (hgt >= hmax * frac * 0.6), math.cos(ang) * d, math.sin(ang) * d))
        sh = cv2.GaussianBlur(sh, (3, 3), 0.7) * (1 - a)
        _blend(canvas, None, sh * dark, x, y)
    if lean is not None and hmax > 0.3:
        # side wall: the footprint swept up to the roof, darker; then the top, displaced
        top_h = float(np.median(hgt[a > 0.5])) if (a > 0.5).any() else hmax
        wall_col = (rgb[a > 0.5].mean(0) if (a > 0.5).any() else rgb.mean((0, 1))) * rng.uniform(0.45, 0.75)
        wall_a = a.copy()
        for t in (0.25, 0.5, 0.75):
            wall_a = np.maximum(wall_a, _shift(a, lean[0] * top_h * t, lean[1] * top_h * t))
        _blend(canvas, np.broadcast_to(wall_col.astype(np.float32), rgb.shape), wall_a, x, y)
        if owner is not None:
            _mark(owner, wall_a, x, y, oid)
        rgb = _shift(rgb, lean[0] * top_h, lean[1] * top_h)
        a = _shift(a, lean[0] * top_h, lean[1] * top_h)
        full = np.maximum(wall_a, a)
    else:
        full = a
    _blend(canvas, rgb, a, x, y)
    if owner is not None:
        _mark(owner, a, x, y, oid)
    ys, xs = np.nonzero(full > 0.5)
    if len(xs) == 0:
        return None
    box = np.array([xs.min() + x, ys.min() + y, xs.max() + 1 + x, ys.max() + 1 + y], np.float32)
    box[[0, 2]] = np.clip(box[[0, 2]], 0, W)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, H)
    return box


def _mark(owner, a, x, y, oid):
    """owner[...] = oid where the sprite's alpha > 0.5."""
    H, W = owner.shape
    k = a.shape[0]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + k), min(H, y + k)
    if x1 <= x0 or y1 <= y0:
        return
    sub = owner[y0:y1, x0:x1]
    sub[a[y0 - y:y1 - y, x0 - x:x1 - x] > 0.5] = oid


def _blend(canvas, rgb, a, x, y):
    H, W = canvas.shape[:2]
    k = a.shape[0]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + k), min(H, y + k)
    if x1 <= x0 or y1 <= y0:
        return
    sa = a[y0 - y:y1 - y, x0 - x:x1 - x, None]
    dst = canvas[y0:y1, x0:x1]
    if rgb is None:  # darken (shadow)
        dst *= (1 - sa)
    else:
        src = rgb[y0 - y:y1 - y, x0 - x:x1 - x]
        dst[:] = dst * (1 - sa) + src * sa


# ----------------------------------------------------------------------------- hard negatives
# Things that are not vehicles but fooled earlier models: dark shrubs on bare ground (the
# WorldView-3 desert scene), grids of small rectangles (windows, solar panels, roof
# units) and zebra crossings / stop lines. Pasted without a label.

SHRUB_COLOURS = [(60, 70, 40), (80, 85, 50), (50, 55, 35), (95, 90, 60), (70, 60, 45), (40, 45, 40)]


def render_shrub(rng, gsd):
    d = rng.uniform(1.2, 5.5)  # crown diameter, metres
    cv = Canvas(d * 1.6 + 1, gsd)
    col = _jit(rng, SHRUB_COLOURS[rng.integers(len(SHRUB_COLOURS))], 12)
    height = rng.uniform(0.6, 3.0)
    for _ in range(int(rng.integers(1, 5))):  # a few overlapping lobes: irregular outline
        c = rng.normal(0, d * 0.15, 2)
        r = d / 2 * rng.uniform(0.55, 1.0)
        ang = np.linspace(0, 2 * math.pi, 14, endpoint=False)
        rad = r * rng.uniform(0.75, 1.15, len(ang))
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        cv.poly(pts, _jit(rng, col, 8), height)
    cv.shade(rng, 0.35)
    return cv.finish()


def render_grid(rng, gsd):
    """A facade, roof or solar field: a plain rectangle with a grid of small cells."""
    L, W = rng.uniform(8, 30), rng.uniform(6, 20)
    cv = Canvas(max(L, W) * 1.5 + 1, gsd)
    ang = rng.choice([0.0, math.pi / 2]) + (rng.uniform(-0.3, 0.3) if rng.random() < 0.5 else 0.0)
    base = _jit(rng, VEH_COLOURS[rng.integers(len(VEH_COLOURS))] if rng.random() < 0.4 else (175, 170, 160), 25)
    cv.poly(_rect(0, 0, L, W, ang), base, 0.0)
    cw, ch = rng.uniform(0.8, 2.2), rng.uniform(0.8, 2.6)
    sx, sy = cw + rng.uniform(0.6, 2.0), ch + rng.uniform(0.6, 2.0)
    cell = _jit(rng, (40, 45, 55) if rng.random() < 0.7 else (225, 225, 225), 15)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    lat = np.array([-math.sin(ang), math.cos(ang)])
    for u in np.arange(-L / 2 + sx / 2, L / 2 - cw / 2, sx):
        for v in np.arange(-W / 2 + sy / 2, W / 2 - ch / 2, sy):
            p = fwd * u + lat * v
            cv.poly(_rect(p[0], p[1], cw, ch, ang), _jit(rng, cell, 6), 0.0)
    cv.shade(rng, 0.2)
    return cv.finish()


def render_markings(rng, gsd):
    """Zebra crossing or a row of parking / stop lines: white bars on the road."""
    n = int(rng.integers(3, 10))
    bar_l, bar_w = rng.uniform(2.5, 5.0), rng.uniform(0.35, 0.6)
    gap = rng.uniform(0.4, 1.0) if rng.random() < 0.6 else rng.uniform(1.8, 2.8)
    span = n * (bar_w + gap)
    cv = Canvas(max(span, bar_l) * 1.5 + 1, gsd)
    ang = rng.uniform(0, math.pi)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    col = _jit(rng, (235, 235, 230), 12)
    for k in range(n):
        p = fwd * (k * (bar_w + gap) - span / 2)
        cv.poly(_rect(p[0], p[1], bar_w, bar_l, ang), col, 0.0)
    return cv.finish()


ROCK_COLOURS = [(120, 115, 105), (150, 140, 125), (95, 90, 85), (170, 160, 145), (110, 95, 80), (200, 195, 185)]


def render_rock(rng, gsd):
    """A boulder or a cluster of rocks (river banks, desert): irregular, 0.8-4 m, casts a shadow."""
    d = rng.uniform(0.8, 4.0)
    cv = Canvas(d * 2.2 + 1, gsd)
    col = _jit(rng, ROCK_COLOURS[rng.integers(len(ROCK_COLOURS))], 15)
    for _ in range(int(rng.integers(1, 6))):
        c = rng.normal(0, d * 0.3, 2)
        r = d / 2 * rng.uniform(0.3, 0.9)
        ang = np.linspace(0, 2 * math.pi, int(rng.integers(5, 9)), endpoint=False) + rng.uniform(0, 1)
        rad = r * rng.uniform(0.6, 1.2, len(ang))
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        cv.poly(pts, _jit(rng, col, 12), rng.uniform(0.4, 2.0))
    cv.shade(rng, 0.5)
    return cv.finish()


def render_roof_units(rng, gsd):
    """A flat roof with HVAC units, skylights and vents: car-sized boxes that are not cars."""
    L, W = rng.uniform(12, 40), rng.uniform(10, 30)
    cv = Canvas(max(L, W) * 1.1 + 1, gsd)
    ang = rng.choice([0.0, math.pi / 2]) + (rng.uniform(-0.4, 0.4) if rng.random() < 0.5 else 0.0)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    lat = np.array([-math.sin(ang), math.cos(ang)])
    base = _jit(rng, [(200, 198, 190), (150, 150, 148), (110, 108, 105), (225, 222, 215), (170, 150, 130)][rng.integers(5)], 18)
    cv.poly(_rect(0, 0, L, W, ang), base, 0.0)
    n = int(rng.integers(2, 12))
    row = rng.random() < 0.4  # skylights / units in a row
    u0, v0 = rng.uniform(-L / 3, L / 3), rng.uniform(-W / 3, W / 3)
    step = rng.uniform(2.5, 6)
    for i in range(n):
        if rng.random() < 0.55:  # HVAC unit / vent box, raised
            ul, uw, hh = rng.uniform(1.0, 4.5), rng.uniform(1.0, 2.5), rng.uniform(0.5, 1.8)
            col = _jit(rng, [(210, 210, 205), (235, 235, 230), (160, 160, 160), (120, 125, 120), (90, 90, 95)][rng.integers(5)], 12)
        else:  # skylight: dark glass or bright diffuser, nearly flat
            ul, uw, hh = rng.uniform(1.0, 3.0), rng.uniform(1.0, 2.2), rng.uniform(0.1, 0.4)
            col = _jit(rng, (45, 55, 65) if rng.random() < 0.6 else (240, 240, 235), 12)
        if row:
            u, v = u0 + (i - n / 2) * step, v0
        else:
            u, v = rng.uniform(-L / 2 + 2, L / 2 - 2), rng.uniform(-W / 2 + 2, W / 2 - 2)
        p = fwd * u + lat * v
        cv.poly(_rect(p[0], p[1], ul, uw, ang + (rng.choice([0, math.pi / 2]) if not row else 0)), col, hh)
        if rng.random() < 0.4:  # fan disc on top
            cv.poly(_rect(p[0], p[1], uw * 0.5, uw * 0.5, ang), _jit(rng, (60, 60, 60), 10), hh + 0.05)
    cv.shade(rng, 0.15)
    return cv.finish()


CONTAINER_COLOURS = [(150, 50, 35), (40, 70, 130), (30, 110, 70), (200, 200, 195), (210, 120, 40),
                     (120, 120, 120), (170, 40, 40), (60, 60, 65), (220, 180, 40)]


def render_containers(rng, gsd):
    """A block of shipping containers side by side (a yard, a site office): not trucks."""
    clen = 12.19 if rng.random() < 0.5 else 6.06
    cw = 2.44
    nr, nc = int(rng.integers(1, 3)), int(rng.integers(2, 7))
    cv = Canvas(max(clen * nr, cw * nc) * 1.5 + 2, gsd)
    ang = rng.uniform(0, math.pi)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    lat = np.array([-math.sin(ang), math.cos(ang)])
    gap = rng.uniform(0.0, 0.4)
    for r in range(nr):
        for c in range(nc):
            p = fwd * (r - (nr - 1) / 2) * (clen + gap) + lat * (c - (nc - 1) / 2) * (cw + gap)
            col = _jit(rng, CONTAINER_COLOURS[rng.integers(len(CONTAINER_COLOURS))], 12)
            hh = 2.6 * int(rng.integers(1, 3))
            cv.poly(_rect(p[0], p[1], clen, cw, ang), col, hh)
            for k in np.linspace(-clen / 2, clen / 2, int(clen / 0.6)):  # corrugation
                q = p + fwd * k
                cv.line(q - lat * cw / 2, q + lat * cw / 2, 0.05, tuple(x * 0.85 for x in col), hh)
    cv.shade(rng, 0.15)
    return cv.finish()


def render_boat(rng, gsd):
    """A small boat seen from above: pointed hull, cabin, sometimes a wake. Put it on water."""
    length = rng.uniform(4, 16)
    beam = length * rng.uniform(0.25, 0.4)
    cv = Canvas(length * 2.2 + 2, gsd)
    ang = rng.uniform(0, 2 * math.pi)
    fwd = np.array([math.cos(ang), math.sin(ang)])
    lat = np.array([-math.sin(ang), math.cos(ang)])
    if rng.random() < 0.6:  # wake: faint white V behind the stern
        for sgn in (-1, 1):
            p0 = -fwd * length * 0.45
            p1 = p0 - fwd * length * rng.uniform(0.6, 1.0) + lat * sgn * length * 0.35
            cv.line(p0, p1, rng.uniform(0.4, 1.0), (230, 235, 235), 0.0)
        cv.alpha *= 0.5
    hull = [fwd * length / 2, fwd * length * 0.2 + lat * beam / 2, -fwd * length / 2 + lat * beam * 0.45,
            -fwd * length / 2 - lat * beam * 0.45, fwd * length * 0.2 - lat * beam / 2]
    col = _jit(rng, [(240, 240, 240), (220, 220, 215), (40, 60, 120), (160, 40, 30), (130, 130, 130)][rng.integers(5)], 10)
    cv.poly(np.array(hull), col, 1.2)
    if rng.random() < 0.7:
        c = -fwd * length * rng.uniform(0, 0.2)
        cv.poly(_rect(c[0], c[1], length * rng.uniform(0.2, 0.4), beam * 0.6, ang),
                _jit(rng, (200, 200, 200) if rng.random() < 0.5 else (60, 70, 80), 12), 2.2)
    cv.shade(rng, 0.2)
    return cv.finish()


def add_rapids(rng, canvas, mask):
    """White water: streaks of foam along the flow inside the water mask (in place)."""
    h, w = mask.shape
    n = _noise(rng, h, w, octaves=4, base=int(rng.integers(4, 10)))
    a = rng.uniform(0, 180)
    k = int(rng.integers(5, 15)) | 1
    kern = np.zeros((k, k), np.float32)
    kern[k // 2, :] = 1.0 / k
    R = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), a, 1.0)
    kern = cv2.warpAffine(kern, R, (k, k))
    kern /= max(kern.sum(), 1e-6)
    n = cv2.filter2D(n, -1, kern)
    n = (n - n.mean()) / (n.std() + 1e-6)
    foam = np.clip((n - rng.uniform(0.2, 1.0)) * rng.uniform(0.8, 2.0), 0, 1) * mask
    white = np.array(_jit(rng, (225, 230, 228), 8), np.float32)
    canvas[:] = canvas * (1 - foam[..., None]) + white * foam[..., None]
