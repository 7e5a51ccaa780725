//! WebP-in-TIFF chunks (compression 50001, GDAL's `COMPRESS=WEBP`, lossy or
//! `WEBP_LOSSLESS=YES`), pure: bytes in, samples out.
//!
//! libtiff's WebP codec writes every strip/tile as one complete WebP file (RIFF), 8-bit
//! RGB for 3 samples and RGBA for 4, coded at the chunk's stored size (a tile at the full
//! tile size, past the image edge too). Like libtiff, a 4-sample chunk coded without alpha
//! reads as opaque (255) and a 3-sample chunk drops an alpha it carries.

use image_webp::WebPDecoder;
use std::io::Cursor;

/// The most bytes one WebP image decodes to: 14-bit sizes (16383 × 16383 pixels), 4
/// samples each.
const MAX_IMAGE_BYTES: u64 = 16383 * 16383 * 4;

/// The fewest bytes a WebP stream holds: the RIFF header (12), a chunk header (8), the
/// VP8L signature and size/alpha/version word (5) and at least one byte of codes.
pub(super) const MIN_STREAM_BYTES: u64 = 26;

/// The most `count` compressed bytes can decode to. WebP has no useful ratio bound:
/// lossless (VP8L) codes a one-symbol alphabet in 0 bits per pixel (GDAL's constant
/// 4096 × 4096 RGBA tile takes ~1 KB, 65 000:1), so a stream bounds only by the
/// format's largest image; the caller refuses chunks that share their bytes instead.
pub(super) fn max_decoded_bytes(count: u64) -> u64 {
    if count < MIN_STREAM_BYTES {
        0
    } else {
        MAX_IMAGE_BYTES
    }
}

/// Decodes one WebP chunk into `raw` (`width` × `height` pixels of `spp` 8-bit samples,
/// 3 or 4). The stream may code more pixels than that (a tile past the image edge): the
/// top-left part is kept. A stream whose header claims more than `max_w` × `max_h` pixels
/// fails before its pixels are allocated.
pub(super) fn decode(
    chunk: &[u8],
    spp: usize,
    (width, height): (u32, u32),
    (max_w, max_h): (u32, u32),
    raw: &mut [u8],
) -> Result<(), String> {
    let mut d = WebPDecoder::new(Cursor::new(chunk)).map_err(|e| format!("WebP: {e}"))?;
    if d.is_animated() {
        return Err("WebP: an animation, not one image".into());
    }
    let (jw, jh) = d.dimensions();
    if jw > max_w || jh > max_h {
        return Err(format!(
            "WebP of {jw}x{jh} pixels in a chunk of at most {max_w}x{max_h}"
        ));
    }
    // The decoder allocates a frame's buffers from the frame's own header, which in an
    // extended (VP8X) stream need not match the canvas checked above: check them too.
    if let Some((fw, fh)) = frame_sizes(chunk).find(|&(fw, fh)| fw > max_w || fh > max_h) {
        return Err(format!(
            "WebP frame of {fw}x{fh} pixels in a chunk of at most {max_w}x{max_h}"
        ));
    }
    if jw < width || jh < height {
        return Err(format!("WebP of {jw}x{jh} pixels for {width}x{height}"));
    }
    if !(spp == 3 || spp == 4) {
        return Err(format!("WebP in a {spp}-sample TIFF"));
    }
    let (w, h) = (width as usize, height as usize);
    let row = w * spp;
    if raw.len() != row * h {
        return Err(format!("{} bytes for {w}x{h}x{spp}", raw.len()));
    }
    let coded_spp = if d.has_alpha() { 4 } else { 3 };
    let (jw, jh) = (jw as usize, jh as usize);
    if (jw, jh, coded_spp) == (w, h, spp) {
        return d.read_image(raw).map_err(|e| format!("WebP: {e}"));
    }
    // A buffer of the coded size: header sizes already checked against the chunk's.
    let mut full = vec![0u8; jw * jh * coded_spp];
    d.read_image(&mut full).map_err(|e| format!("WebP: {e}"))?;
    for (dst, src) in raw
        .chunks_exact_mut(row)
        .zip(full.chunks_exact(jw * coded_spp))
    {
        if coded_spp == spp {
            dst.copy_from_slice(&src[..row]);
            continue;
        }
        for (o, i) in dst.chunks_exact_mut(spp).zip(src.chunks_exact(coded_spp)) {
            o[..3].copy_from_slice(&i[..3]);
            if spp == 4 {
                o[3] = 255;
            }
        }
    }
    Ok(())
}

/// The sizes the VP8 (lossy) and VP8L (lossless) bitstreams at the top level of a RIFF
/// WebP stream claim (RFC 9649 §2.5 and §3.2: 14-bit sizes); a malformed stream yields
/// what it has before the damage (the decoder then says what is wrong).
fn frame_sizes(stream: &[u8]) -> impl Iterator<Item = (u32, u32)> + '_ {
    let mut at = 12usize; // "RIFF", size, "WEBP"
    std::iter::from_fn(move || loop {
        let header = stream.get(at..at.checked_add(8)?)?;
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let data = stream.get(at + 8..)?;
        let fourcc = [header[0], header[1], header[2], header[3]];
        at = at
            .checked_add(8)?
            .checked_add(size)?
            .checked_add(size & 1)?;
        let u16_at = |i: usize| {
            Some(u32::from(u16::from_le_bytes([
                *data.get(i)?,
                *data.get(i + 1)?,
            ])))
        };
        match &fourcc {
            b"VP8 " => return Some((u16_at(6)? & 0x3FFF, u16_at(8)? & 0x3FFF)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(data.get(1..5)?.try_into().ok()?);
                return Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1));
            }
            _ => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_webp::{ColorType, WebPEncoder};

    fn lossless(w: u32, h: u32, rgba: bool, px: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let c = if rgba {
            ColorType::Rgba8
        } else {
            ColorType::Rgb8
        };
        WebPEncoder::new(&mut out)
            .encode(px, w, h, c)
            .expect("encode");
        out
    }

    #[test]
    fn lossless_round_trip_crop_and_alpha_fill() {
        let (w, h) = (20u32, 10u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let s = lossless(w, h, false, &rgb);
        let mut raw = vec![0u8; rgb.len()];
        decode(&s, 3, (w, h), (w, h), &mut raw).expect("decode");
        assert_eq!(raw, rgb);
        // The top-left 5x4 of a 4-sample chunk: opaque alpha added.
        let mut small = vec![0u8; 5 * 4 * 4];
        decode(&s, 4, (5, 4), (w, h), &mut small).expect("decode");
        assert_eq!(&small[..4], &[rgb[0], rgb[1], rgb[2], 255]);
        assert_eq!(&small[16..20], &[rgb[12], rgb[13], rgb[14], 255]);
        // More pixels than the chunk may hold, fewer than it needs.
        assert!(decode(&s, 3, (w, h), (w - 1, h), &mut raw)
            .unwrap_err()
            .contains("at most"));
        let mut big = vec![0u8; 21 * 10 * 3];
        assert!(decode(&s, 3, (21, 10), (64, 64), &mut big)
            .unwrap_err()
            .contains("for 21x10"));
    }

    #[test]
    fn rgba_alpha_is_kept_or_dropped() {
        let (w, h) = (4u32, 2u32);
        let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 31 % 256) as u8).collect();
        let s = lossless(w, h, true, &rgba);
        let mut raw = vec![0u8; rgba.len()];
        decode(&s, 4, (w, h), (w, h), &mut raw).expect("decode");
        assert_eq!(raw, rgba);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        decode(&s, 3, (w, h), (w, h), &mut rgb).expect("decode");
        assert_eq!(
            &rgb[..6],
            &[rgba[0], rgba[1], rgba[2], rgba[4], rgba[5], rgba[6]]
        );
    }

    /// An extended stream whose 16x16 canvas fits the chunk but whose VP8 frame claims
    /// 16000x16000 pixels (~400 MB of decoder buffers) fails before decoding.
    #[test]
    fn a_frame_larger_than_its_canvas_is_refused() {
        let mut s = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        s.extend(10u32.to_le_bytes());
        s.extend([0x10, 0, 0, 0]); // alpha flag
        s.extend([15, 0, 0, 15, 0, 0]); // canvas 16x16 (minus one, 24 bits each)
        s.extend(b"VP8 ");
        s.extend(10u32.to_le_bytes());
        s.extend([0, 0, 0, 0x9d, 0x01, 0x2a]);
        s.extend(16000u16.to_le_bytes());
        s.extend(16000u16.to_le_bytes());
        let riff = (s.len() - 8) as u32;
        s[4..8].copy_from_slice(&riff.to_le_bytes());
        assert_eq!(frame_sizes(&s).collect::<Vec<_>>(), [(16000, 16000)]);
        let mut raw = vec![0u8; 16 * 16 * 4];
        let e = decode(&s, 4, (16, 16), (16, 16), &mut raw).unwrap_err();
        assert!(e.contains("frame of 16000x16000"), "{e}");
        // A lossless stream: its own size.
        let px = vec![9u8; 5 * 3 * 3];
        assert_eq!(
            frame_sizes(&lossless(5, 3, false, &px)).collect::<Vec<_>>(),
            [(5, 3)]
        );
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        let (w, h) = (16u32, 16u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 13 % 256) as u8).collect();
        let s = lossless(w, h, false, &rgb);
        let mut raw = vec![0u8; rgb.len()];
        for bad in [&[][..], &b"RIFF"[..], &s[..s.len() / 2], &s[..20]] {
            assert!(decode(bad, 3, (w, h), (w, h), &mut raw).is_err());
        }
        assert_eq!(max_decoded_bytes(MIN_STREAM_BYTES - 1), 0);
        assert!(max_decoded_bytes(s.len() as u64) >= u64::from(w * h * 4));
    }
}
