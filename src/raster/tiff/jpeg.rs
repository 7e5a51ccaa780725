//! JPEG-in-TIFF chunks (compression 7, "new-style" JPEG), pure: bytes in, samples out.
//!
//! Each strip/tile is an abbreviated JPEG stream; the tables it refers to are in the
//! JPEGTables tag (347), joined in front of it as libtiff does. Photometric YCbCr files
//! (GDAL's `COMPRESS=JPEG PHOTOMETRIC=YCBCR`) are converted to RGB by the JPEG decoder,
//! chroma subsampling included, as libtiff does with `JPEGCOLORMODE_RGB`; photometric RGB
//! and grayscale files are read without colour conversion.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// How the pixels of a JPEG chunk are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JpegColor {
    /// One grayscale component.
    Gray,
    /// Three components stored as RGB (libtiff writes component ids 'R', 'G', 'B').
    Rgb,
    /// Three components stored as YCbCr, read as RGB.
    YCbCr,
}

/// The tables stream (SOI, tables, EOI) without its EOI, then the chunk without its SOI:
/// one complete JPEG stream. Without tables, the chunk alone.
fn join(tables: Option<&[u8]>, chunk: &[u8]) -> Vec<u8> {
    match tables {
        Some(t) if t.len() >= 4 && chunk.len() >= 2 && chunk[..2] == [0xFF, 0xD8] => {
            let mut s = Vec::with_capacity(t.len() + chunk.len());
            s.extend_from_slice(&t[..t.len() - 2]);
            s.extend_from_slice(&chunk[2..]);
            s
        }
        _ => chunk.to_vec(),
    }
}

/// Decodes one JPEG chunk into `raw` (`width` × `height` pixels of `color`'s samples, 8
/// bits each). The stream may code more pixels than that (a tile is always coded at the
/// full tile size, past the image edge too): the top-left part is kept. The decoder is
/// told the most pixels the chunk may hold (`max_w` × `max_h`), so a stream claiming
/// more fails before anything is allocated for it.
pub(super) fn decode(
    tables: Option<&[u8]>,
    chunk: &[u8],
    color: JpegColor,
    (width, height): (u32, u32),
    (max_w, max_h): (u32, u32),
    raw: &mut [u8],
) -> Result<(), String> {
    let stream = join(tables, chunk);
    let (out_space, spp) = match color {
        JpegColor::Gray => (ColorSpace::Luma, 1usize),
        JpegColor::Rgb | JpegColor::YCbCr => (ColorSpace::RGB, 3),
    };
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(max_w as usize)
        .set_max_height(max_h as usize)
        .jpeg_set_out_colorspace(out_space);
    let mut d = JpegDecoder::new_with_options(ZCursor::new(&stream[..]), options);
    d.decode_headers().map_err(|e| format!("JPEG: {e}"))?;
    let info = d.info().ok_or("JPEG: no frame header")?;
    let (jw, jh) = (usize::from(info.width), usize::from(info.height));
    if usize::from(info.components) != spp {
        return Err(format!(
            "JPEG with {} components in a {spp}-sample TIFF",
            info.components
        ));
    }
    let coded = d.input_colorspace();
    let expected = match color {
        JpegColor::Gray => ColorSpace::Luma,
        JpegColor::Rgb => ColorSpace::RGB,
        JpegColor::YCbCr => ColorSpace::YCbCr,
    };
    if coded != Some(expected) {
        return Err(format!(
            "JPEG coded as {coded:?}, the TIFF says {expected:?}"
        ));
    }
    let (w, h) = (width as usize, height as usize);
    if jw < w || jh < h {
        return Err(format!("JPEG of {jw}x{jh} pixels for {w}x{h}"));
    }
    let row = w * spp;
    if raw.len() != row * h {
        return Err(format!("{} bytes for {w}x{h}x{spp}", raw.len()));
    }
    if jw == w && jh == h {
        return d.decode_into(raw).map_err(|e| format!("JPEG: {e}"));
    }
    let mut full = vec![0u8; jw * jh * spp];
    d.decode_into(&mut full).map_err(|e| format!("JPEG: {e}"))?;
    for (dst, src) in raw.chunks_exact_mut(row).zip(full.chunks_exact(jw * spp)) {
        dst.copy_from_slice(&src[..row]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_chunk_are_joined_without_the_inner_markers() {
        let tables = [0xFF, 0xD8, 0xFF, 0xDB, 1, 0xFF, 0xD9];
        let chunk = [0xFF, 0xD8, 0xFF, 0xDA, 2, 0xFF, 0xD9];
        assert_eq!(
            join(Some(&tables), &chunk),
            [0xFF, 0xD8, 0xFF, 0xDB, 1, 0xFF, 0xDA, 2, 0xFF, 0xD9]
        );
        assert_eq!(join(None, &chunk), chunk);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut raw = vec![0u8; 16 * 16 * 3];
        for bytes in [
            &[][..],
            &[0xFF, 0xD8][..],
            &[0xFF, 0xD8, 0xFF, 0xC0, 0, 2][..],
        ] {
            assert!(decode(None, bytes, JpegColor::Rgb, (16, 16), (16, 16), &mut raw).is_err());
        }
    }
}
