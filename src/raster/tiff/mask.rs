//! A TIFF's internal transparency mask (GDAL's PER_DATASET mask: the directory after the
//! image with NewSubfileType 4, one 1-bit sample, 0 = no data), read as an alpha band
//! appended to the image's bands. GDAL writes one for every JPEG-compressed COG made from
//! an image with alpha (JPEG holds no alpha) and for `gdal_translate -mask`: without it,
//! a delivery's no-data collar would be read, and run through the model, as image.

use super::header::IfdSummary;
use super::ifd::{chunks, decoder, tiff_error, tiff_source, Chunks};
use super::source::TiffSource;
use super::Dec;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::raster::bytes::{BlockReader, ByteSource};
use crate::raster::{
    BandLayout, MaskSpec, RasterInfo, SampleType, Samples, SamplesMut, TileBuf, Window,
    WindowSource,
};
use bytes::Bytes;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The mask directory of an image of `size` among `ifds` (the header scan's, the image
/// first): the first with NewSubfileType 4 (a mask), with bit 0 (reduced resolution) set
/// for an overview's mask, and the image's size.
pub(super) fn mask_ifd(
    ifds: &[IfdSummary],
    (width, height): (u32, u32),
    overview: bool,
) -> Option<usize> {
    let kind = if overview { 0b101 } else { 0b100 };
    ifds.iter().enumerate().skip(1).find_map(|(i, d)| {
        (d.subfile_type & 0b101 == kind
            && (d.width, d.height) == (u64::from(width), u64::from(height)))
            .then_some(i)
    })
}

/// The mask in directory `ifd` (if any) of an image (`info`) when the image can take it as
/// its alpha band, else why it is not used: the image has alpha or 4 bands, or the mask is
/// one GDAL would not write, or damaged (the image is still good). A file that cannot be
/// read is an error, as for the image.
pub(super) fn usable_mask(
    src: &Arc<dyn ByteSource>,
    first_block: Option<Bytes>,
    limits: &Limits,
    info: &RasterInfo,
    ifd: Option<usize>,
) -> Result<(Option<TiffSource>, Option<String>)> {
    let Some(ifd) = ifd else {
        return Ok((None, None));
    };
    if let Some(why) = MaskedSource::refused(info) {
        return Ok((None, Some(why)));
    }
    match open_mask(src, first_block, limits, info, ifd) {
        Ok(m) => Ok((Some(m), None)),
        Err(e @ Error::Io { .. }) => Err(e),
        Err(e) => Ok((None, Some(e.to_string()))),
    }
}

/// The limits an image's own source is built with: its chunk cache is what is left of the
/// budget once a mask takes its part ([`mask_cache_bytes`]).
pub(super) fn image_limits(limits: &Limits, masked: bool) -> Limits {
    let mask_part = if masked { mask_cache_bytes(limits) } else { 0 };
    Limits {
        chunk_cache_bytes: limits.chunk_cache_bytes - mask_part,
        ..limits.clone()
    }
}

/// `image` as a source, with `mask` as its alpha band when there is one; the mask's decoded
/// chunks counted with the image's.
pub(super) fn with_mask(image: TiffSource, mask: Option<TiffSource>) -> Box<dyn WindowSource> {
    match mask {
        Some(mut m) => {
            m.decoded = Arc::clone(&image.decoded);
            Box::new(MaskedSource::new(image, m))
        }
        None => Box::new(image),
    }
}

/// The part of [`Limits::chunk_cache_bytes`] a mask's chunks are cached in (a quarter:
/// one byte per pixel against the image's three or more); the image gets the rest.
fn mask_cache_bytes(limits: &Limits) -> u64 {
    limits.chunk_cache_bytes / 4
}

/// Opens directory `ifd` of `src` as a mask of `main`: a one-band 8-bit source of 0 and
/// 255, its chunks cached in [`mask_cache_bytes`]. Errors name the mask.
fn open_mask(
    src: &Arc<dyn ByteSource>,
    first_block: Option<Bytes>,
    limits: &Limits,
    main: &RasterInfo,
    ifd: usize,
) -> Result<TiffSource> {
    let path = src.name();
    let mut reader = BlockReader::new(Arc::clone(src));
    if let Some(first) = first_block {
        reader = reader.with_first_block(first);
    }
    let mut dec = decoder(reader, path, limits)?;
    dec.seek_to_image(ifd)
        .map_err(|e| tiff_error(path, "reading the internal mask's directory", e))?;
    let (info, chunks) = mask_parts(&mut dec, path, limits, src.len(), (main.width, main.height))
        .map_err(|e| match e {
        Error::CorruptRaster {
            path,
            detail,
            source,
        } => Error::CorruptRaster {
            path,
            detail: format!("internal mask (directory {ifd}): {detail}"),
            source,
        },
        e => e,
    })?;
    let mask_limits = Limits {
        chunk_cache_bytes: mask_cache_bytes(limits),
        ..limits.clone()
    };
    Ok(tiff_source(
        Arc::clone(src),
        dec,
        info,
        chunks,
        &mask_limits,
    ))
}

/// The current directory read as a transparency mask of an image of `size`: its format
/// and chunk index, checked ([`super::mask`]).
fn mask_parts(
    dec: &mut Dec,
    path: &Path,
    limits: &Limits,
    file_len: u64,
    size: (u32, u32),
) -> Result<(RasterInfo, Chunks)> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    let found = dec.dimensions().map_err(te("mask size"))?;
    if found != size {
        return Err(Error::corrupt(
            path,
            format!(
                "internal mask is {}x{}, the image {}x{}",
                found.0, found.1, size.0, size.1
            ),
        ));
    }
    let fmt = super::format::mask_format(dec, path)?;
    let chunks = chunks(dec, path, limits, file_len, size, &fmt, None)?;
    let info = RasterInfo {
        width: size.0,
        height: size.1,
        bands: 1,
        sample: crate::raster::SampleType::U8,
        layout: BandLayout::Interleaved,
        mask: MaskSpec {
            alpha_band: None,
            nodata: None,
        },
        storage: format!("internal mask, {}, {}", chunks.kind, fmt.comp_name),
    };
    Ok((info, chunks))
}

/// An image read with its mask as one more band, the last, which is its alpha band:
/// interleaved whatever the image's layout, 0 where the mask says no data and the sample
/// type's largest value elsewhere.
struct MaskedSource {
    image: TiffSource,
    mask: TiffSource,
    info: RasterInfo,
    /// Window buffers for the image and the mask, reused (one pair per concurrent read).
    scratch: Mutex<Vec<(TileBuf, TileBuf)>>,
}

impl MaskedSource {
    /// Why `main` cannot take its mask as one more band, if it cannot.
    fn refused(main: &RasterInfo) -> Option<String> {
        if main.mask.alpha_band.is_some() {
            return Some("the image has an alpha band, which is used instead".into());
        }
        (main.bands >= 4).then(|| {
            format!(
                "{} bands and a mask make more than the 4 bands satdet reads",
                main.bands
            )
        })
    }

    /// `image` with `mask` as its alpha band (see [`MaskedSource::refused`]).
    fn new(image: TiffSource, mask: TiffSource) -> Self {
        let main = &image.info;
        let info = RasterInfo {
            bands: main.bands + 1,
            layout: BandLayout::Interleaved,
            mask: MaskSpec {
                alpha_band: Some(main.bands),
                nodata: main.mask.nodata,
            },
            storage: format!("{}, internal mask", main.storage),
            ..main.clone()
        };
        MaskedSource {
            image,
            mask,
            info,
            scratch: Mutex::new(Vec::new()),
        }
    }
}

impl WindowSource for MaskedSource {
    fn info(&self) -> &RasterInfo {
        &self.info
    }

    fn read_window(&self, win: Window, buf: &mut TileBuf) -> Result<()> {
        let main = &self.image.info;
        let taken = self
            .scratch
            .lock()
            .map_err(|_| Error::Internal("an earlier masked read panicked".into()))?
            .pop();
        let (mut img, mut mask) = taken.unwrap_or_else(|| (TileBuf::new(), TileBuf::new()));
        img.reset(win, main.bands, main.sample, main.layout);
        mask.reset(win, 1, SampleType::U8, BandLayout::Interleaved);
        let done = self
            .image
            .read_window(win, &mut img)
            .and_then(|()| self.mask.read_window(win, &mut mask))
            .and_then(|()| interleave(&img, &mask, buf));
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push((img, mask));
        }
        done
    }
}

/// `img`'s bands then `mask` (0 or 255) as one more band, interleaved into `buf`; the
/// mask scaled to the sample type's largest value.
fn interleave(img: &TileBuf, mask: &TileBuf, buf: &mut TileBuf) -> Result<()> {
    let Samples::U8(m) = mask.samples() else {
        return Err(Error::Internal("mask samples are not 8-bit".into()));
    };
    let bands = usize::from(img.bands());
    let n = img.window().pixels() as usize;
    let planar = img.layout() == BandLayout::Planar;
    let Some(m) = m.get(..n) else {
        return Err(Error::Internal("mask window of another size".into()));
    };
    match (img.samples(), buf.samples_mut()) {
        (Samples::U8(s), SamplesMut::U8(d)) if d.len() == n * (bands + 1) => {
            fill(s, d, m, bands, planar, u8::MAX)
        }
        (Samples::U16(s), SamplesMut::U16(d)) if d.len() == n * (bands + 1) => {
            fill(s, d, m, bands, planar, u16::MAX)
        }
        _ => return Err(Error::Internal("masked window of another shape".into())),
    }
    Ok(())
}

/// The pixels of `s` (`bands` a pixel, planar or interleaved) into `d` (`bands + 1` a
/// pixel), the last band `on` where `m` is set and 0 where it is not.
fn fill<T: Copy + Default>(s: &[T], d: &mut [T], m: &[u8], bands: usize, planar: bool, on: T) {
    let out = bands + 1;
    if planar {
        for (b, plane) in s.chunks_exact(m.len().max(1)).enumerate() {
            for (px, &v) in d.chunks_exact_mut(out).zip(plane) {
                px[b] = v;
            }
        }
    } else {
        // A fixed band count per arm, so that each pixel is a few moves, not a call.
        match bands {
            1 => interleaved::<T, 1, 2>(s, d),
            2 => interleaved::<T, 2, 3>(s, d),
            _ => interleaved::<T, 3, 4>(s, d),
        }
    }
    for (px, &v) in d.chunks_exact_mut(out).zip(m) {
        px[bands] = if v == 0 { T::default() } else { on };
    }
}

/// Pixels of `B` interleaved bands from `s` into the first `B` of each `O` in `d`.
fn interleaved<T: Copy, const B: usize, const O: usize>(s: &[T], d: &mut [T]) {
    for (px, src) in d.chunks_exact_mut(O).zip(s.chunks_exact(B)) {
        px[..B].copy_from_slice(&src[..B]);
    }
}

#[cfg(test)]
mod tests {
    use super::interleave;
    use crate::raster::{BandLayout, SampleType, Samples, TileBuf, Window};

    #[test]
    fn interleave_appends_the_mask_to_either_layout() {
        let win = Window::new(0, 0, 3, 1);
        let mask = TileBuf::from_samples(
            win,
            1,
            BandLayout::Interleaved,
            Samples::U8(vec![255, 0, 255]),
        )
        .expect("mask");
        let inter = TileBuf::from_samples(
            win,
            2,
            BandLayout::Interleaved,
            Samples::U16(vec![1, 2, 3, 4, 5, 6]),
        )
        .expect("image");
        let planar = TileBuf::from_samples(
            win,
            2,
            BandLayout::Planar,
            Samples::U16(vec![1, 3, 5, 2, 4, 6]),
        )
        .expect("image");
        for img in [inter, planar] {
            let mut out = TileBuf::new();
            out.reset(win, 3, SampleType::U16, BandLayout::Interleaved);
            interleave(&img, &mask, &mut out).expect("interleave");
            assert_eq!(
                out.samples(),
                &Samples::U16(vec![1, 2, 65535, 3, 4, 0, 5, 6, 65535])
            );
        }
    }
}
