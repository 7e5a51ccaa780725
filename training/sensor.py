"""A satellite sensor model, applied to every training sample.

The sample arrives composed at the target ground sample distance (real drone patches
area-averaged down to it, synthetic sprites rendered at 4x and area-averaged), as
display-referred RGB 0-255. Area averaging is the detector's pixel aperture (a box of
one pixel: MTF 0.64 at Nyquist). This module adds, in the order light meets them:

1. scene: colour jitter; back to linear radiance (gamma 2.2); atmospheric haze
   (path radiance added, contrast lost: L' = L (1 - t) + t A);
2. optics + platform motion: a Gaussian PSF chosen so that the system MTF at Nyquist
   (detector x optics x motion) is 0.08-0.25 (WorldView-3 / Pleiades specifications
   and on-orbit measurements give about 0.1-0.2), motion as extra blur along one axis;
3. pan-sharpening (colour samples): a sharp pan band (weighted sum of the bands) and a
   colour layer at 4x coarser resolution, slightly mis-registered, fused by component
   substitution or a Brovey ratio -> colour bleeding across edges; or plain pan
   (grayscale, one band replicated to three);
4. detector: 11-bit digital numbers (a gain puts the scene in 300-2047 DN), photon
   shot noise + read noise, quantisation;
5. ground processing: sometimes MTF compensation (unsharp mask); then either a
   DRA-like stretch (percentile clip + display gamma, 8-bit product) or the crate's own
   16-bit path (2-98 % linear percentile stretch of the raw DN); JPEG compression as in
   Google Earth exports (quality 35-90, 4:2:0 chroma).

Everything is drawn from the sample's own generator, so samples stay deterministic.
"""

import math

import cv2
import numpy as np

PAD = 114
DETECTOR_MTF_NYQUIST = 2 / math.pi  # one-pixel box aperture: sinc(1/2) = 0.64


def gaussian_sigma_for_mtf(mtf_nyquist):
    """Sigma (px) of a Gaussian PSF whose MTF at Nyquist (0.5 cycle/px) is mtf_nyquist:
    MTF(f) = exp(-2 pi^2 sigma^2 f^2)."""
    return math.sqrt(2 * math.log(1 / mtf_nyquist)) / math.pi


def _colour_jitter(rng, x):
    if rng.random() < 0.8:
        x = x * rng.uniform(0.75, 1.25) + rng.uniform(-0.08, 0.08)
        m = x.mean()
        x = (x - m) * rng.uniform(0.75, 1.3) + m
        g = x.mean(-1, keepdims=True)
        x = g + (x - g) * rng.uniform(0.4, 1.2)
        x = x * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    return np.clip(x, 0, 1)


def _psf(rng, x):
    # satellite products: system MTF at Nyquist 0.08-0.25; 30 %: sharper products (aerial
    # orthophotos in Google Earth mosaics, resampled imagery) at 0.25-0.5
    mtf_sys = rng.uniform(0.08, 0.25) if rng.random() < 0.7 else rng.uniform(0.25, 0.5)
    mtf_opt = min(0.95, mtf_sys / DETECTOR_MTF_NYQUIST)
    s = gaussian_sigma_for_mtf(mtf_opt)
    sx = sy = s
    if rng.random() < 0.3:  # platform motion / TDI smear along one axis
        extra = rng.uniform(0.2, 0.5)
        if rng.random() < 0.5:
            sx = math.hypot(sx, extra)
        else:
            sy = math.hypot(sy, extra)
    return cv2.GaussianBlur(x, (0, 0), sigmaX=sx, sigmaY=sy)


def _pansharpen(rng, lin, w):
    """lin: HxWx3 linear radiance. A pan band at full resolution, colour at 1/4."""
    H, W = lin.shape[:2]
    pan = (lin * w).sum(-1)
    f = 4
    ms = cv2.resize(lin, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
    ms = cv2.GaussianBlur(ms, (0, 0), 0.5)
    up = cv2.resize(ms, (W, H), interpolation=cv2.INTER_CUBIC if rng.random() < 0.5 else cv2.INTER_LINEAR)
    if rng.random() < 0.6:  # band-to-band mis-registration (pan pixels)
        M = np.float32([[1, 0, rng.uniform(-1, 1)], [0, 1, rng.uniform(-1, 1)]])
        up = cv2.warpAffine(up, M, (W, H), borderMode=cv2.BORDER_REFLECT)
    up = np.clip(up, 0, None)
    lum = (up * w).sum(-1)
    if rng.random() < 0.5:  # component substitution (Gram-Schmidt / IHS-like)
        out = up + (pan - lum)[..., None]
    else:  # Brovey ratio
        out = up * (pan / np.maximum(lum, 1e-3))[..., None]
    return np.clip(out, 0, None)


def apply(rng, img, pad, gray_p=0.45):
    """img: HxWx3 float 0-255 (display RGB); pad: HxW bool (the crate's 114 band).
    Returns HxWx3 float32 0-1, what the crate would feed the model."""
    x = _colour_jitter(rng, img.astype(np.float32) / 255.0)
    lin = x ** 2.2
    if rng.random() < 0.5:  # haze
        t = rng.uniform(0.02, 0.35)
        A = np.array([0.75, 0.8, 0.9], np.float32) * rng.uniform(0.3, 0.9)
        lin = lin * (1 - t) + t * A
    lin = _psf(rng, lin.astype(np.float32))
    w = rng.dirichlet([4, 6, 3]).astype(np.float32)  # pan spectral weights
    gray = rng.random() < gray_p
    if gray:
        lin = (lin * w).sum(-1, keepdims=True)
    elif rng.random() < 0.75:
        lin = _pansharpen(rng, lin, w)
    # 11-bit detector: gain, shot + read noise, quantisation
    valid = ~pad
    ref = np.percentile(lin[valid] if valid.any() else lin, 99.5)
    gain = rng.uniform(300, 2047) / max(float(ref), 1e-3)
    dn = lin * gain
    e_per_dn = rng.uniform(2, 20)  # electrons per DN: shot noise std = sqrt(DN / e_per_dn)... in DN
    noise = rng.normal(0, 1, dn.shape).astype(np.float32)
    dn = dn + noise * np.sqrt(np.maximum(dn, 0) / e_per_dn + rng.uniform(0.5, 3) ** 2)
    dn = np.clip(np.round(dn), 0, 2047)
    if rng.random() < 0.3:  # MTF compensation in the ground processor
        bl = cv2.GaussianBlur(dn, (0, 0), 1.0)
        if bl.ndim == 2:
            bl = bl[..., None]
        dn = np.clip(dn + rng.uniform(0.3, 1.0) * (dn - bl), 0, 2047)
    v = dn[valid] if valid.any() else dn
    if rng.random() < 0.3:
        # the crate's 16-bit path on raw DN: linear 2-98 % stretch, no gamma
        lo, hi = np.percentile(v, [2, 98])
        y = np.clip((dn - lo) / max(hi - lo, 1e-3), 0, 1)
        jpeg = False
    else:
        # DRA-like stretch to an 8-bit product
        lo, hi = np.percentile(v, [rng.uniform(0.05, 2), rng.uniform(98, 99.95)])
        y = np.clip((dn - lo) / max(hi - lo, 1e-3), 0, 1) ** (1 / rng.uniform(1.5, 2.5))
        y = np.round(y * 255) / 255
        jpeg = rng.random() < 0.6
    if y.shape[-1] == 1:
        y = np.repeat(y, 3, -1)
    y = y.astype(np.float32)
    if jpeg:
        q = int(rng.integers(35, 91))
        ok, enc = cv2.imencode(".jpg", (y * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
        y = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    y[pad] = PAD / 255.0
    return y
