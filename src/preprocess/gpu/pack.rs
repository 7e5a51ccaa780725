//! Pure host-side packing: a batch of tiles and its [`InputSpec`] → the bytes uploaded to
//! the device (the `Params` uniform, the `Tile` table and the packed samples), and the
//! split of a batch into dispatches that fit the device's binding limit. No device here:
//! everything is unit-tested without a GPU.
//!
//! [`Params`] and [`TileDesc`] mirror `struct Params` and `struct Tile` in
//! `shaders/preprocess.wgsl` field for field; their sizes are pinned below at compile time,
//! `tests/shaders.rs` checks naga reports the same sizes for the WGSL structs, and the unit
//! tests here compare every field offset with naga's.

use super::super::InputSpec;
use crate::error::{Error, Result};
use crate::raster::{BandLayout, SampleType, Samples, TileBuf};
use std::ops::Range;

/// `alpha_band` when the mask has no alpha band (`NO_BAND` in the shader).
pub(super) const NO_BAND: u32 = u32::MAX;

/// `Params` in the shader (uniform; vec4 fields first, 112 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Params {
    pub channels: [u32; 4],
    pub lo: [f32; 4],
    pub inv_range: [f32; 4],
    pub mean: [f32; 4],
    pub inv_std: [f32; 4],
    pub out_w: u32,
    pub out_h: u32,
    pub tiles: u32,
    pub alpha_band: u32,
    pub nodata: u32,
    pub nodata_on: u32,
    pub pad: f32,
    pub inv_scale: f32,
}

/// `Tile` in the shader (storage array element, 48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct TileDesc {
    /// Offset of the tile's first sample, in 32-bit words of the packed samples.
    pub offset: u32,
    pub width: u32,
    pub height: u32,
    pub bands: u32,
    /// 1: band-sequential; 0: pixel-interleaved.
    pub planar: u32,
    /// 8 or 16.
    pub bits: u32,
    /// The top-left region of the input the tile covers.
    pub place_w: u32,
    pub place_h: u32,
    /// 1 when the tile is copied pixel for pixel (no resampling).
    pub identity: u32,
    pub _pad: [u32; 3],
}

/// The WGSL struct sizes (`tests/shaders.rs` asserts naga computes the same).
pub(super) const PARAMS_SIZE: usize = 112;
pub(super) const TILE_DESC_SIZE: usize = 48;
const _: () = assert!(std::mem::size_of::<Params>() == PARAMS_SIZE);
const _: () = assert!(std::mem::size_of::<TileDesc>() == TILE_DESC_SIZE);

/// Host staging for one dispatch, reused batch to batch (cleared, never shrunk).
#[derive(Debug, Default)]
pub(super) struct Packed {
    /// The samples of every tile, little-endian, each tile starting on a 4-byte boundary;
    /// at least one word (wgpu rejects empty bindings).
    pub raw: Vec<u8>,
    /// One descriptor per tile, in batch order.
    pub tiles: Vec<TileDesc>,
}

impl Packed {
    /// Packs `tiles` (model-input pixels per scene pixel: `scale`) and returns the
    /// parameters of their dispatch.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the samples pass 16 GiB (word offsets are `u32`).
    pub fn pack(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<Params> {
        self.raw.clear();
        self.tiles.clear();
        for t in tiles {
            let win = t.window();
            let (pw, ph) = spec.placement(win.width, win.height, f64::from(scale));
            let offset = u32::try_from(self.raw.len() / 4)
                .map_err(|_| Error::Gpu("a batch of more than 16 GiB of samples".into()))?;
            let bits = match t.samples() {
                Samples::U8(v) => {
                    self.raw.extend_from_slice(v);
                    8
                }
                Samples::U16(v) => {
                    if cfg!(target_endian = "little") {
                        self.raw.extend_from_slice(bytemuck::cast_slice(v));
                    } else {
                        self.raw.extend(v.iter().flat_map(|s| s.to_le_bytes()));
                    }
                    16
                }
            };
            // Each tile starts on a word boundary.
            self.raw.resize(self.raw.len().next_multiple_of(4), 0);
            self.tiles.push(TileDesc {
                offset,
                width: win.width,
                height: win.height,
                bands: u32::from(t.bands()),
                planar: u32::from(t.layout() == BandLayout::Planar),
                bits,
                place_w: pw,
                place_h: ph,
                identity: u32::from(pw == win.width && ph == win.height),
                _pad: [0; 3],
            });
        }
        if self.raw.is_empty() {
            self.raw.resize(4, 0);
        }
        Ok(params(spec, tiles.len(), scale))
    }
}

/// The dispatch parameters for `n_tiles` tiles of `spec` at `scale`.
pub(super) fn params(spec: &InputSpec, n_tiles: usize, scale: f32) -> Params {
    // A nodata value that is no sample value (-9999, 0.5) matches no pixel, as on the
    // CPU: u32::MAX is no sample. U16's range covers every 8-bit tile as well.
    let nodata = spec.mask.nodata.map(|_| {
        spec.mask
            .nodata_sample(SampleType::U16)
            .map_or(u32::MAX, u32::from)
    });
    let [r, g, b] = spec.channels;
    Params {
        channels: [u32::from(r), u32::from(g), u32::from(b), 0],
        lo: spec.scaling.lo,
        inv_range: spec.scaling.inv_range,
        mean: [spec.mean[0], spec.mean[1], spec.mean[2], 0.0],
        inv_std: [spec.inv_std[0], spec.inv_std[1], spec.inv_std[2], 1.0],
        out_w: spec.width,
        out_h: spec.height,
        // A batch is bounded by `Limits` long before u32::MAX tiles.
        tiles: n_tiles as u32,
        alpha_band: spec.mask.alpha_band.map_or(NO_BAND, u32::from),
        nodata: nodata.unwrap_or(0),
        nodata_on: u32::from(nodata.is_some()),
        pad: spec.pad,
        inv_scale: 1.0 / scale,
    }
}

/// Bytes a tile's samples take in the packed upload (rounded up to a word).
pub(super) fn packed_len(t: &TileBuf) -> u64 {
    let n = match t.samples() {
        Samples::U8(v) => v.len() as u64,
        Samples::U16(v) => v.len() as u64 * 2,
    };
    n.next_multiple_of(4)
}

/// A single tile whose samples or output alone pass the device's binding limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TileTooLarge {
    pub raw_bytes: u64,
    pub out_bytes: u64,
    pub max_binding: u64,
}

/// Splits a batch into consecutive ranges of tiles whose packed samples and output each
/// fit in `max_binding` bytes (one dispatch per range).
pub(super) fn chunks(
    spec: &InputSpec,
    tiles: &[&TileBuf],
    max_binding: u64,
) -> std::result::Result<Vec<Range<usize>>, TileTooLarge> {
    let out_per_tile = spec.input_len() as u64 * 4;
    let mut v = Vec::new();
    let (mut start, mut raw, mut out) = (0usize, 0u64, 0u64);
    for (i, t) in tiles.iter().enumerate() {
        let r = packed_len(t);
        if r > max_binding || out_per_tile > max_binding {
            return Err(TileTooLarge {
                raw_bytes: r,
                out_bytes: out_per_tile,
                max_binding,
            });
        }
        if i > start && (raw + r > max_binding || out + out_per_tile > max_binding) {
            v.push(start..i);
            start = i;
            raw = 0;
            out = 0;
        }
        raw += r;
        out += out_per_tile;
    }
    if start < tiles.len() {
        v.push(start..tiles.len());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::Scaling;
    use crate::raster::{MaskSpec, Window};

    fn spec() -> InputSpec {
        InputSpec {
            width: 8,
            height: 6,
            channels: [2, 1, 0],
            scaling: Scaling::u8(),
            mean: [0.1, 0.2, 0.3],
            inv_std: [2.0, 3.0, 4.0],
            pad: 0.5,
            mask: MaskSpec {
                alpha_band: Some(3),
                nodata: Some(7.0),
            },
        }
    }

    fn tile(w: u32, h: u32, bands: u16, layout: BandLayout, samples: Samples) -> TileBuf {
        TileBuf::from_samples(Window::new(0, 0, w, h), bands, layout, samples).expect("tile")
    }

    #[test]
    fn tiles_are_packed_word_aligned_little_endian_in_batch_order() {
        let a = tile(3, 1, 1, BandLayout::Interleaved, Samples::U8(vec![1, 2, 3]));
        let b = tile(
            1,
            3,
            1,
            BandLayout::Planar,
            Samples::U16(vec![0x0102, 0x0304, 0x0506]),
        );
        let mut p = Packed::default();
        let params = p.pack(&spec(), &[&a, &b], 1.0).expect("pack");
        assert_eq!(
            p.raw,
            [1, 2, 3, 0, 0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0, 0],
            "a padded to a word, b's u16 little-endian"
        );
        assert_eq!(p.tiles.len(), 2);
        assert_eq!((p.tiles[0].offset, p.tiles[0].bits), (0, 8));
        assert_eq!((p.tiles[1].offset, p.tiles[1].bits), (1, 16));
        assert_eq!((p.tiles[0].planar, p.tiles[1].planar), (0, 1));
        assert_eq!((p.tiles[1].width, p.tiles[1].height), (1, 3));
        assert_eq!(
            p.tiles.iter().map(|t| t.identity).collect::<Vec<_>>(),
            [1, 1]
        );
        assert_eq!(params.tiles, 2);
        // Packing again reuses the staging: nothing of the previous batch is left.
        p.pack(&spec(), &[&b], 1.0).expect("pack");
        assert_eq!(p.raw, [0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0, 0]);
        assert_eq!(p.tiles.len(), 1);
    }

    #[test]
    fn a_scaled_tile_is_placed_and_resampled() {
        let t = tile(4, 3, 1, BandLayout::Interleaved, Samples::U8(vec![0; 12]));
        let mut p = Packed::default();
        let params = p.pack(&spec(), &[&t], 2.0).expect("pack");
        assert_eq!((p.tiles[0].place_w, p.tiles[0].place_h), (8, 6));
        assert_eq!(p.tiles[0].identity, 0);
        assert_eq!(params.inv_scale, 0.5);
    }

    #[test]
    fn an_empty_batch_still_uploads_one_word() {
        let mut p = Packed::default();
        let params = p.pack(&spec(), &[], 1.0).expect("pack");
        assert_eq!(p.raw, [0; 4]);
        assert_eq!(params.tiles, 0);
    }

    #[test]
    fn params_carry_the_spec() {
        let p = params(&spec(), 3, 1.0);
        assert_eq!(p.channels, [2, 1, 0, 0]);
        assert_eq!(p.mean, [0.1, 0.2, 0.3, 0.0]);
        assert_eq!(p.inv_std, [2.0, 3.0, 4.0, 1.0]);
        assert_eq!((p.out_w, p.out_h, p.tiles), (8, 6, 3));
        assert_eq!((p.alpha_band, p.nodata, p.nodata_on), (3, 7, 1));
        assert_eq!((p.pad, p.inv_scale), (0.5, 1.0));
        let mut s = spec();
        s.mask = MaskSpec {
            alpha_band: None,
            nodata: None,
        };
        let p = params(&s, 1, 1.0);
        assert_eq!((p.alpha_band, p.nodata_on), (NO_BAND, 0));
        // A nodata value that no sample can take matches nothing.
        s.mask.nodata = Some(-9999.0);
        assert_eq!(
            (params(&s, 1, 1.0).nodata, params(&s, 1, 1.0).nodata_on),
            (u32::MAX, 1)
        );
    }

    #[test]
    fn a_batch_is_split_where_a_binding_would_overflow() {
        let sp = spec();
        let out = sp.input_len() as u64 * 4;
        let ts: Vec<TileBuf> = (0..7)
            .map(|_| tile(2, 2, 1, BandLayout::Interleaved, Samples::U8(vec![0; 4])))
            .collect();
        let refs: Vec<&TileBuf> = ts.iter().collect();
        let c = chunks(&sp, &refs, 2 * out).expect("chunks");
        assert_eq!(c, [0..2, 2..4, 4..6, 6..7]);
        let whole = chunks(&sp, &refs, u64::MAX).expect("chunks");
        assert_eq!(whole, vec![Range { start: 0, end: 7 }], "one dispatch");
        assert!(chunks(&sp, &[], out).expect("chunks").is_empty());
        let e = chunks(&sp, &refs, out - 1).unwrap_err();
        assert_eq!((e.out_bytes, e.max_binding), (out, out - 1));
    }

    /// Every field of the Rust mirror sits where naga puts the WGSL member.
    #[test]
    fn the_structs_mirror_the_wgsl_field_for_field() {
        let module = naga::front::wgsl::parse_str(super::super::SHADER).expect("parse");
        let layout = |name: &str| -> (u32, Vec<(String, u32)>) {
            module
                .types
                .iter()
                .find_map(|(_, t)| match (&t.name, &t.inner) {
                    (Some(n), naga::TypeInner::Struct { members, span }) if n == name => Some((
                        *span,
                        members
                            .iter()
                            .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                            .collect(),
                    )),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("no struct {name} in the shader"))
        };
        macro_rules! offsets {
            ($t:ty: $($f:ident),*) => {
                vec![$((stringify!($f).to_string(), std::mem::offset_of!($t, $f) as u32)),*]
            };
        }
        let params = offsets!(Params: channels, lo, inv_range, mean, inv_std, out_w, out_h,
            tiles, alpha_band, nodata, nodata_on, pad, inv_scale);
        assert_eq!(layout("Params"), (PARAMS_SIZE as u32, params));
        let mut tile = offsets!(TileDesc: offset, width, height, bands, planar, bits,
            place_w, place_h, identity);
        // The WGSL pads with three named u32s, Rust with one array.
        let pad = std::mem::offset_of!(TileDesc, _pad) as u32;
        tile.extend((0..3).map(|i| (format!("_pad{i}"), pad + 4 * i)));
        assert_eq!(layout("Tile"), (TILE_DESC_SIZE as u32, tile));
    }
}
