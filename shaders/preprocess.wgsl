// satdet: raw tile windows -> the model's NCHW f32 input, one dispatch per batch.
//
// The GPU twin of src/preprocess/cpu.rs (the executable specification); both follow the
// order documented in src/preprocess/mod.rs, in f32, with the same formulas:
//   1. n = clamp((sample - lo[band]) * inv_range[band], 0, 1); a masked pixel (alpha 0, or
//      nodata in every colour band) takes the pad value instead;
//   2. bilinear resampling when the tile and the model input differ in size, pixel centres
//      at +0.5 (align_corners = false);
//   3. out = (v - mean[c]) * inv_std[c];
//   4. the tile sits at the top-left of the input, the rest is the pad value.
// Multiplications by precomputed reciprocals, never divisions, so that both backends
// round identically.
//
// One invocation writes the three channels of one output pixel of one tile:
// global_invocation_id = (x, y, tile).

struct Params {
    // Source band for the model's R, G, B channels (w unused).
    channels: vec4<u32>,
    // Per source band: the sample value mapped to 0, and 1 / (hi - lo).
    lo: vec4<f32>,
    inv_range: vec4<f32>,
    // Per model channel (w unused).
    mean: vec4<f32>,
    inv_std: vec4<f32>,
    // Model input size and the number of tiles in this dispatch.
    out_w: u32,
    out_h: u32,
    tiles: u32,
    // Band index of the alpha band, or 0xffffffff.
    alpha_band: u32,
    // The nodata sample value, used when nodata_on == 1.
    nodata: u32,
    nodata_on: u32,
    // The pad value in [0, 1] space, and 1 / scale (source pixels per input pixel).
    pad: f32,
    inv_scale: f32,
}

struct Tile {
    // Offset of the tile's first sample, in 32-bit words of `raw`.
    offset: u32,
    width: u32,
    height: u32,
    bands: u32,
    // 1: band-sequential (planar); 0: pixel-interleaved.
    planar: u32,
    // 8 or 16.
    bits: u32,
    // The region of the input the tile covers (top-left place_w x place_h).
    place_w: u32,
    place_h: u32,
    // 1 when the tile is copied pixel for pixel (no resampling).
    identity: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const NO_BAND: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tiles: array<Tile>;
// Samples packed little-endian: four 8-bit or two 16-bit samples per word.
@group(0) @binding(2) var<storage, read> raw: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn sample(t: Tile, x: u32, y: u32, band: u32) -> u32 {
    let pix = y * t.width + x;
    var i: u32;
    if t.planar == 1u {
        i = band * t.width * t.height + pix;
    } else {
        i = pix * t.bands + band;
    }
    if t.bits == 8u {
        let w = raw[t.offset + (i >> 2u)];
        return (w >> ((i & 3u) * 8u)) & 0xffu;
    }
    let w = raw[t.offset + (i >> 1u)];
    return (w >> ((i & 1u) * 16u)) & 0xffffu;
}

fn is_valid(t: Tile, x: u32, y: u32) -> bool {
    if p.alpha_band != NO_BAND && p.alpha_band < t.bands {
        if sample(t, x, y, p.alpha_band) == 0u {
            return false;
        }
    }
    if p.nodata_on == 1u {
        for (var b = 0u; b < t.bands; b++) {
            if b != p.alpha_band && sample(t, x, y, b) != p.nodata {
                return true;
            }
        }
        return false;
    }
    return true;
}

// The scaled [0, 1] value of source pixel (x, y) for model channel c, or the pad value.
fn source(t: Tile, x: u32, y: u32, c: u32) -> f32 {
    if (p.alpha_band != NO_BAND || p.nodata_on == 1u) && !is_valid(t, x, y) {
        return p.pad;
    }
    let band = p.channels[c];
    let v = f32(sample(t, x, y, band));
    return clamp((v - p.lo[band]) * p.inv_range[band], 0.0, 1.0);
}

// Source index pair and weight along one axis for output index i:
// f = (i + 0.5) * inv_scale - 0.5, clamped to [0, n - 1].
struct Axis {
    i0: u32,
    i1: u32,
    w: f32,
}

fn axis(i: u32, n: u32) -> Axis {
    let f = clamp((f32(i) + 0.5) * p.inv_scale - 0.5, 0.0, f32(n - 1u));
    let f0 = floor(f);
    let i0 = u32(f0);
    return Axis(i0, min(i0 + 1u, n - 1u), f - f0);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    let n = gid.z;
    if x >= p.out_w || y >= p.out_h || n >= p.tiles {
        return;
    }
    let t = tiles[n];
    let plane = p.out_w * p.out_h;
    let base = n * 3u * plane + y * p.out_w + x;
    if x >= t.place_w || y >= t.place_h {
        for (var c = 0u; c < 3u; c++) {
            out[base + c * plane] = (p.pad - p.mean[c]) * p.inv_std[c];
        }
        return;
    }
    if t.identity == 1u {
        for (var c = 0u; c < 3u; c++) {
            out[base + c * plane] = (source(t, x, y, c) - p.mean[c]) * p.inv_std[c];
        }
        return;
    }
    let ax = axis(x, t.width);
    let ay = axis(y, t.height);
    for (var c = 0u; c < 3u; c++) {
        let a = source(t, ax.i0, ay.i0, c);
        let b = source(t, ax.i1, ay.i0, c);
        let cc = source(t, ax.i0, ay.i1, c);
        let d = source(t, ax.i1, ay.i1, c);
        let top = a + (b - a) * ax.w;
        let bottom = cc + (d - cc) * ax.w;
        let v = top + (bottom - top) * ay.w;
        out[base + c * plane] = (v - p.mean[c]) * p.inv_std[c];
    }
}
