//! What a pixel is, as the tags describe it: bands, sample type, layout, alpha,
//! compression and colour; refused unless satdet reads it.

use super::codec::SUPPORTED_COMPRESSION;
use super::ifd::tiff_error;
use super::Dec;
use crate::error::{Error, Result};
use crate::raster::{BandLayout, SampleType};
use std::path::Path;
use tiff::tags::Tag;
use tiff::ColorType;

/// The samples of a pixel, as the tags describe them.
pub(super) struct PixelFormat {
    pub(super) bands: u16,
    pub(super) sample: SampleType,
    pub(super) layout: BandLayout,
    pub(super) alpha_band: Option<u16>,
    pub(super) compression: u16,
    pub(super) comp_name: &'static str,
    /// Photometric YCbCr (only inside JPEG chunks, read as RGB).
    pub(super) ycbcr: bool,
    /// 1-bit samples (a transparency mask), read as 0 or 255.
    pub(super) bits1: bool,
}

/// Colour type, bands, sample format and depth, compression, planar configuration and
/// alpha: refused unless satdet reads them.
pub(super) fn pixel_format(dec: &mut Dec, path: &Path) -> Result<PixelFormat> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    let color = dec.colortype().map_err(te("colour type"))?;
    let photometric: Option<u16> = dec
        .find_tag_unsigned(Tag::PhotometricInterpretation)
        .map_err(te("PhotometricInterpretation"))?;
    let compression: u16 = dec
        .find_tag_unsigned(Tag::Compression)
        .map_err(te("Compression"))?
        .unwrap_or(1);
    let ycbcr = photometric == Some(6);
    if compression == 6 {
        return Err(Error::unsupported(
            path,
            "old-style JPEG (compression 6, deprecated since TIFF 6.0 Technote 2): satdet reads new-style JPEG (7)",
        ));
    }
    match (color, photometric) {
        // YCbCr in JPEG chunks: the JPEG decoder converts to RGB.
        (ColorType::YCbCr(_), _) if compression == 7 => {}
        (ColorType::YCbCr(_), _) => {
            return Err(Error::unsupported(
                path,
                format!(
                    "YCbCr photometric interpretation with compression {compression}: satdet reads YCbCr only in JPEG-compressed (7) TIFFs"
                ),
            ));
        }
        (
            ColorType::Palette(_) | ColorType::CMYK(_) | ColorType::CMYKA(_) | ColorType::Lab(_),
            _,
        ) => {
            return Err(Error::unsupported(
                path,
                format!(
                    "colour type {color:?}: satdet reads grayscale, RGB and RGBA/multiband rasters"
                ),
            ));
        }
        (_, Some(0)) => {
            return Err(Error::unsupported(
                path,
                "WhiteIsZero photometric interpretation",
            ))
        }
        _ => {}
    }
    // SamplesPerPixel, not the colour type: `tiff` counts an RGB image with an unspecified
    // extra sample as 3 samples.
    let bands: u16 = dec
        .find_tag_unsigned(Tag::SamplesPerPixel)
        .map_err(te("SamplesPerPixel"))?
        .unwrap_or(1);
    if !(1..=4).contains(&bands) {
        return Err(Error::unsupported(
            path,
            format!("{bands} bands: satdet reads 1 to 4 bands"),
        ));
    }
    let formats: Option<Vec<u16>> = dec
        .find_tag_unsigned_vec(Tag::SampleFormat)
        .map_err(te("SampleFormat"))?;
    if let Some(f) = formats.iter().flatten().find(|&&f| f != 1) {
        let name = match f {
            2 => "signed integer",
            3 => "floating point",
            _ => "undefined",
        };
        return Err(Error::unsupported(
            path,
            format!("{name} samples (SampleFormat {f}): satdet reads unsigned integers"),
        ));
    }
    let sample = match color.bit_depth() {
        8 => SampleType::U8,
        16 => SampleType::U16,
        b => {
            return Err(Error::unsupported(
                path,
                format!("{b}-bit samples: satdet reads 8- and 16-bit unsigned integers"),
            ))
        }
    };
    let comp_name = SUPPORTED_COMPRESSION
        .iter()
        .find(|(c, _)| *c == compression)
        .map(|(_, n)| *n)
        .ok_or_else(|| Error::unsupported(path, format!("compression {compression}: satdet reads uncompressed, LZW, Deflate, PackBits, JPEG (7), ZSTD and WebP TIFFs")))?;
    let planar: u16 = dec
        .find_tag_unsigned(Tag::PlanarConfiguration)
        .map_err(te("PlanarConfiguration"))?
        .unwrap_or(1);
    let layout = if planar == 2 && bands > 1 {
        BandLayout::Planar
    } else {
        BandLayout::Interleaved
    };

    // Alpha: an ExtraSamples value of 1 (associated) or 2 (unassociated) on the last band.
    let extra: Option<Vec<u16>> = dec
        .find_tag_unsigned_vec(Tag::ExtraSamples)
        .map_err(te("ExtraSamples"))?;
    let alpha_band = match extra.as_deref() {
        Some([.., last]) if (*last == 1 || *last == 2) && (bands == 2 || bands == 4) => {
            Some(bands - 1)
        }
        _ => None,
    };
    if compression == 7
        && (sample != SampleType::U8 || !(bands == 1 || bands == 3) || layout == BandLayout::Planar)
    {
        return Err(Error::unsupported(
            path,
            format!(
                "JPEG with {bands} {}-bit band(s), {}: satdet reads JPEG TIFFs of 1 or 3 interleaved 8-bit bands",
                sample.bytes() * 8,
                if layout == BandLayout::Planar { "planar" } else { "interleaved" }
            ),
        ));
    }
    // libtiff's WebP codec: 8-bit RGB or RGBA, interleaved (WebP has no other kind).
    if compression == 50001
        && (sample != SampleType::U8 || !(bands == 3 || bands == 4) || layout == BandLayout::Planar)
    {
        return Err(Error::unsupported(
            path,
            format!(
                "WebP with {bands} {}-bit band(s), {}: WebP holds 3 (RGB) or 4 (RGBA) interleaved 8-bit bands",
                sample.bytes() * 8,
                if layout == BandLayout::Planar { "planar" } else { "interleaved" }
            ),
        ));
    }
    Ok(PixelFormat {
        bands,
        sample,
        layout,
        alpha_band,
        compression,
        comp_name,
        ycbcr,
        bits1: false,
    })
}

/// The format of a transparency mask's directory (NewSubfileType 4, as GDAL writes an
/// internal mask: one 1-bit sample, photometric 4); refused unless satdet reads it.
pub(super) fn mask_format(dec: &mut Dec, path: &Path) -> Result<PixelFormat> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    let bad = |d: String| Error::unsupported(path, format!("internal mask: {d}"));
    let spp: u16 = dec
        .find_tag_unsigned(Tag::SamplesPerPixel)
        .map_err(te("mask SamplesPerPixel"))?
        .unwrap_or(1);
    let bits: Option<Vec<u16>> = dec
        .find_tag_unsigned_vec(Tag::BitsPerSample)
        .map_err(te("mask BitsPerSample"))?;
    let bits = bits
        .as_deref()
        .and_then(|b| b.first().copied())
        .unwrap_or(1);
    let photometric: Option<u16> = dec
        .find_tag_unsigned(Tag::PhotometricInterpretation)
        .map_err(te("mask PhotometricInterpretation"))?;
    if spp != 1 || bits != 1 || photometric != Some(4) {
        let photometric = photometric.map_or_else(|| "none".to_string(), |p| p.to_string());
        return Err(bad(format!(
            "{spp} sample(s) of {bits} bit(s), photometric interpretation {photometric}; satdet reads 1-bit transparency masks (photometric interpretation 4), as GDAL writes them"
        )));
    }
    let compression: u16 = dec
        .find_tag_unsigned(Tag::Compression)
        .map_err(te("mask Compression"))?
        .unwrap_or(1);
    // libtiff refuses a predictor on 1-bit samples; GDAL writes none.
    let predictor: u16 = dec
        .find_tag_unsigned(Tag::Predictor)
        .map_err(te("mask Predictor"))?
        .unwrap_or(1);
    if predictor != 1 {
        return Err(bad(format!("predictor {predictor} on 1-bit samples")));
    }
    let comp_name = SUPPORTED_COMPRESSION
        .iter()
        .find(|(c, _)| *c == compression && compression != 7 && compression != 50001)
        .map(|(_, n)| *n)
        .ok_or_else(|| bad(format!("compression {compression}")))?;
    Ok(PixelFormat {
        bands: 1,
        sample: SampleType::U8,
        layout: BandLayout::Interleaved,
        alpha_band: None,
        compression,
        comp_name,
        ycbcr: false,
        bits1: true,
    })
}
