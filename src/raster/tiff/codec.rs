//! Pure TIFF chunk geometry and decoding: where each strip/tile lies, how big it decodes,
//! how much a compressed chunk can possibly decode to, and the decompressors themselves.
//! No files: bytes in, samples out.

use crate::raster::{SampleType, Samples};

/// Compression codes satdet reads, with their names.
pub(super) const SUPPORTED_COMPRESSION: &[(u16, &str)] = &[
    (1, "none"),
    (5, "LZW"),
    (8, "Deflate"),
    (32946, "Deflate"),
    (32773, "PackBits"),
    (7, "JPEG"),
    (50000, "ZSTD"),
    (50001, "WebP"),
];

/// How a scene is cut into chunks (strips are tiles as wide as the scene).
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkGrid {
    pub width: u32,
    pub height: u32,
    pub chunk_w: u32,
    pub chunk_h: u32,
    pub across: u32,
    pub down: u32,
    pub tiled: bool,
    /// Samples per pixel within one chunk (1 for planar chunks).
    pub spp: usize,
    pub sample: SampleType,
    /// 1-bit samples packed 8 to a byte, rows padded to a byte (a transparency mask,
    /// decoded to 0 or 255 per pixel).
    pub bits1: bool,
}

impl ChunkGrid {
    /// Column and row of chunk `idx` in its plane.
    pub fn position(&self, idx: u32) -> (u32, u32) {
        let unit = idx % (self.across * self.down);
        (unit % self.across, unit / self.across)
    }

    /// Data pixels of chunk `idx` (the chunk minus padding past the image edge).
    pub fn data_size(&self, idx: u32) -> (u32, u32) {
        let (cx, cy) = self.position(idx);
        (
            self.chunk_w.min(self.width - cx * self.chunk_w),
            self.chunk_h.min(self.height - cy * self.chunk_h),
        )
    }

    /// Pixels stored for chunk `idx`: tiles are stored padded to the full tile size,
    /// strips hold only their rows.
    pub fn stored_size(&self, idx: u32) -> (u32, u32) {
        if self.tiled {
            (self.chunk_w, self.chunk_h)
        } else {
            (self.width, self.data_size(idx).1)
        }
    }

    /// Decoded bytes of chunk `idx`.
    pub fn stored_bytes(&self, idx: u32) -> u64 {
        let (w, h) = self.stored_size(idx);
        if self.bits1 {
            return u64::from(w).div_ceil(8) * u64::from(h) * self.spp as u64;
        }
        u64::from(w) * u64::from(h) * self.spp as u64 * self.sample.bytes() as u64
    }
}

/// The most bytes `count` compressed bytes can decode to. Deflate: a 258-byte match costs
/// at least 2 bits (1032:1). LZW: a code is at least 9 bits and stands for at most 4096
/// bytes (the table size). PackBits: 2 bytes repeat a byte at most 128 times.
/// ZSTD: a block decodes to at most 128 KiB and costs at least 4 bytes (an RLE block: a
/// 3-byte header and the byte). JPEG: every 8×8 block of every component costs at least
/// 2 bits (a 1-bit DC and a 1-bit end-of-block code, with optimised Huffman tables); with
/// 2×2 chroma subsampling a 16×16 RGB MCU (768 bytes) is 6 blocks, 12 bits: 512:1
/// (progressive streams whose end-of-band runs go further are refused). Uncompressed: as
/// many as stored. WebP: no ratio bound (see [`super::webp::max_decoded_bytes`]).
pub(super) fn max_decoded_bytes(compression: u16, count: u64) -> u64 {
    match compression {
        50001 => super::webp::max_decoded_bytes(count),
        8 | 32946 => count.saturating_mul(1032),
        50000 => count.saturating_mul(128 * 1024 / 4),
        7 => count.saturating_mul(512),
        5 => count.saturating_mul(8 * 4096).div_ceil(9),
        32773 => count.saturating_mul(64),
        _ => count,
    }
}

/// Decompresses one chunk into `raw`, which has the chunk's full decoded length. Like
/// libtiff, decoding stops once `raw` is full (a missing end code is accepted); a stream
/// that ends before is an error (a short chunk is corrupt, never padded).
pub(super) fn decompress(
    compression: u16,
    compressed: &[u8],
    raw: &mut [u8],
) -> Result<(), String> {
    let out_len = raw.len();
    let produced = match compression {
        1 => {
            let k = compressed.len().min(out_len);
            raw[..k].copy_from_slice(&compressed[..k]);
            k
        }
        5 => {
            let mut d =
                weezl::decode::Configuration::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                    .build();
            let (mut inp, mut outp) = (0usize, 0usize);
            while outp < out_len {
                let r = d.decode_bytes(&compressed[inp..], &mut raw[outp..]);
                inp += r.consumed_in;
                outp += r.consumed_out;
                match r.status {
                    Ok(weezl::LzwStatus::Ok) => {}
                    Ok(weezl::LzwStatus::Done | weezl::LzwStatus::NoProgress) => break,
                    Err(e) => return Err(format!("LZW: {e}")),
                }
            }
            outp
        }
        8 | 32946 => {
            // One call over the whole chunk, straight into `raw`: no reader buffer between.
            // It stops when `raw` is full; a stream that ends first leaves it short.
            let mut z = flate2::Decompress::new(true);
            if let Err(e) = z.decompress(compressed, raw, flate2::FlushDecompress::Finish) {
                return Err(format!("Deflate: {e}"));
            }
            z.total_out() as usize
        }
        32773 => unpack_bits(compressed, raw),
        50000 => unzstd(compressed, raw)?,
        c => return Err(format!("compression {c}")),
    };
    if produced < out_len {
        return Err(format!("data ends after {produced} of {out_len} bytes"));
    }
    Ok(())
}

/// The most window memory a ZSTD chunk may ask for: its decoded size, or 8 MiB (libzstd's
/// window at GDAL's default level when it does not record the size), whichever is more.
/// The decoder reserves the window before decoding (up to 100 MiB in ruzstd).
const ZSTD_MIN_WINDOW_CAP: u64 = 8 << 20;

/// The window size a ZSTD frame header asks for (RFC 8878 §3.1.1.1); `None` when the
/// bytes do not start with a frame header (the decoder then says what is wrong).
fn zstd_window_bytes(data: &[u8]) -> Option<u64> {
    if data.get(..4)? != [0x28, 0xB5, 0x2F, 0xFD] {
        return None;
    }
    let fhd = *data.get(4)?;
    if fhd & 0x20 == 0 {
        // A window descriptor: 2^(10 + exponent) plus eighths of it.
        let wd = *data.get(5)?;
        let base = 1u64 << (10 + (wd >> 3));
        return Some(base + base / 8 * u64::from(wd & 7));
    }
    // Single segment: the window is the frame content size, after the dictionary id.
    let at = 5 + [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let size = [1usize, 2, 4, 8][usize::from(fhd >> 6)];
    let mut v = [0u8; 8];
    v[..size].copy_from_slice(data.get(at..at + size)?);
    let fcs = u64::from_le_bytes(v);
    Some(if size == 2 { fcs + 256 } else { fcs })
}

/// ZSTD, one frame; stops once `raw` is full. Returns the bytes written.
fn unzstd(compressed: &[u8], raw: &mut [u8]) -> Result<usize, String> {
    use std::io::Read;
    let cap = (raw.len() as u64).max(ZSTD_MIN_WINDOW_CAP);
    if let Some(w) = zstd_window_bytes(compressed).filter(|&w| w > cap) {
        return Err(format!(
            "ZSTD window of {w} bytes for {} decoded bytes",
            raw.len()
        ));
    }
    let mut z =
        ruzstd::decoding::StreamingDecoder::new(compressed).map_err(|e| format!("ZSTD: {e}"))?;
    let mut outp = 0;
    while outp < raw.len() {
        match z.read(&mut raw[outp..]) {
            Ok(0) => break,
            Ok(n) => outp += n,
            Err(e) => return Err(format!("ZSTD: {e}")),
        }
    }
    Ok(outp)
}

/// PackBits: a header byte n; 0..=127 copies n + 1 literal bytes, -127..=-1 repeats the
/// next byte 1 - n times, -128 is a no-op. Returns the bytes written.
pub(super) fn unpack_bits(src: &[u8], out: &mut [u8]) -> usize {
    let (mut i, mut o) = (0usize, 0usize);
    while i < src.len() && o < out.len() {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let k = (n as usize + 1).min(src.len() - i).min(out.len() - o);
            out[o..o + k].copy_from_slice(&src[i..i + k]);
            i += k;
            o += k;
        } else if n != -128 && i < src.len() {
            let k = ((1 - n as isize) as usize).min(out.len() - o);
            out[o..o + k].fill(src[i]);
            i += 1;
            o += k;
        }
    }
    o
}

/// 1-bit rows (most significant bit first, each row padded to a byte) as one byte per
/// pixel: 255 where the bit is set, 0 where it is not (GDAL's mask values).
pub(super) fn expand_bits(packed: &[u8], width: usize, height: usize) -> Vec<u8> {
    let row_bytes = width.div_ceil(8);
    let mut out = vec![0u8; width * height];
    for (row, dst) in packed
        .chunks(row_bytes.max(1))
        .zip(out.chunks_exact_mut(width.max(1)))
    {
        // Eight pixels a byte; the last byte's padding bits are not written.
        for (byte, px) in row.iter().zip(dst.chunks_mut(8)) {
            match byte {
                0x00 => {}
                0xff => px.fill(255),
                b => {
                    for (k, p) in px.iter_mut().enumerate() {
                        *p = if b & (0x80 >> k) != 0 { 255 } else { 0 };
                    }
                }
            }
        }
    }
    out
}

/// Decoded bytes to samples: byte order, then the horizontal predictor, row by row
/// (`row_samples` samples a row, `spp` samples a pixel).
pub(super) fn to_samples(
    raw: Vec<u8>,
    sample: SampleType,
    big_endian: bool,
    predictor: u16,
    row_samples: usize,
    spp: usize,
) -> Samples {
    match sample {
        SampleType::U8 => {
            let mut raw = raw;
            if predictor == 2 {
                for row in raw.chunks_exact_mut(row_samples) {
                    for k in spp..row.len() {
                        row[k] = row[k].wrapping_add(row[k - spp]);
                    }
                }
            }
            Samples::U8(raw)
        }
        SampleType::U16 => {
            let mut v: Vec<u16> = raw
                .chunks_exact(2)
                .map(|b| {
                    if big_endian {
                        u16::from_be_bytes([b[0], b[1]])
                    } else {
                        u16::from_le_bytes([b[0], b[1]])
                    }
                })
                .collect();
            if predictor == 2 {
                for row in v.chunks_exact_mut(row_samples) {
                    for k in spp..row.len() {
                        row[k] = row[k].wrapping_add(row[k - spp]);
                    }
                }
            }
            Samples::U16(v)
        }
    }
}

/// Where each chunk lies in the file and how to decode it.
pub(super) struct ChunkCodec {
    pub(super) offsets: Vec<u64>,
    pub(super) byte_counts: Vec<u64>,
    pub(super) compression: u16,
    pub(super) predictor: u16,
    pub(super) big_endian: bool,
    /// The sample value of a sparse chunk (offset and byte count 0, as GDAL writes for
    /// empty blocks): the nodata value when it is a valid sample, else 0, as GDAL reads it.
    pub(super) sparse_fill: u16,
    /// JPEG (compression 7): the JPEGTables tag, if any, and how the pixels are coded.
    pub(super) jpeg: Option<JpegChunks>,
}

impl ChunkCodec {
    /// Whether each chunk is a whole coded image (JPEG, WebP) rather than a byte stream:
    /// such codecs ignore the predictor, decode at their own size, and their
    /// highest-quality chunks may exceed 1.5 × the decoded size.
    pub(super) fn is_image_codec(&self) -> bool {
        self.jpeg.is_some() || self.compression == 50001
    }
}

/// What decoding a JPEG chunk needs besides its bytes.
pub(super) struct JpegChunks {
    pub(super) tables: Option<Vec<u8>>,
    pub(super) color: super::jpeg::JpegColor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_run_and_noop() {
        // 2 literals, a run of 3 x 0xAA, a no-op, 1 literal.
        let src = [1u8, 7, 8, 0xFE, 0xAA, 0x80, 0, 9];
        let mut out = [0u8; 6];
        assert_eq!(unpack_bits(&src, &mut out), 6);
        assert_eq!(out, [7, 8, 0xAA, 0xAA, 0xAA, 9]);
        let mut short = [0u8; 4];
        assert_eq!(
            unpack_bits(&src[..2], &mut short),
            1,
            "truncated literal stops"
        );
    }

    /// Deflate chunks: decoded whole, a stream longer than the chunk stops when it is full
    /// (as libtiff), a truncated stream is "data ends", a corrupt one a Deflate error.
    #[test]
    fn deflate_chunks_decode_whole_and_fail_when_short_or_corrupt() {
        use std::io::Write;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&data).expect("deflate");
        let deflated = z.finish().expect("deflate");
        for code in [8, 32946] {
            let mut raw = vec![0u8; data.len()];
            decompress(code, &deflated, &mut raw).expect("whole stream");
            assert_eq!(raw, data);
            let mut first = vec![0u8; 1000];
            decompress(code, &deflated, &mut first).expect("stops when full");
            assert_eq!(first, data[..1000]);
            let mut raw = vec![0u8; data.len()];
            let e = decompress(code, &deflated[..deflated.len() / 2], &mut raw).unwrap_err();
            assert!(e.contains("data ends after"), "{e}");
            let mut garbage = deflated.clone();
            garbage[2..40].fill(0xff);
            let e = decompress(code, &garbage, &mut raw).unwrap_err();
            assert!(e.starts_with("Deflate:"), "{e}");
        }
    }

    /// The ratio bounds hold for the most compressible input each encoder can be given.
    #[test]
    fn max_decoded_bytes_bounds_real_streams() {
        use std::io::Write;
        let zeros = vec![0u8; 4 << 20];
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&zeros).expect("deflate");
        let deflated = z.finish().expect("deflate");
        assert!(max_decoded_bytes(8, deflated.len() as u64) >= zeros.len() as u64);
        let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&zeros)
            .expect("lzw");
        assert!(max_decoded_bytes(5, lzw.len() as u64) >= zeros.len() as u64);
        // PackBits: runs of 128 in 2 bytes.
        assert_eq!(max_decoded_bytes(32773, 2), 128);
        assert_eq!(max_decoded_bytes(1, 10), 10);
        let zstd = ruzstd::encoding::compress_to_vec(
            &zeros[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert!(max_decoded_bytes(50000, zstd.len() as u64) >= zeros.len() as u64);
        // A stream far shorter than the claim cannot fill it, whatever it holds.
        assert!(max_decoded_bytes(8, 100) < 2_400_000);
    }

    #[test]
    fn zstd_window_is_read_and_bounded() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let z = ruzstd::encoding::compress_to_vec(
            &data[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut raw = vec![0u8; data.len()];
        assert_eq!(decompress(50000, &z, &mut raw), Ok(()));
        assert_eq!(raw, data);
        // Window descriptor: exponent 20 (2^30 bytes), mantissa 0.
        let huge = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 20 << 3, 0, 0, 0];
        assert_eq!(zstd_window_bytes(&huge), Some(1 << 30));
        let e = decompress(50000, &huge, &mut raw).unwrap_err();
        assert!(e.contains("window of 1073741824 bytes"), "{e}");
        // Single segment, 2-byte content size 1000 - 256.
        let single = [0x28, 0xB5, 0x2F, 0xFD, 0x60, 0xE8, 0x02];
        assert_eq!(zstd_window_bytes(&single), Some(1000));
        assert_eq!(zstd_window_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn short_streams_are_errors_not_padding() {
        let mut raw = vec![0u8; 16];
        let e = decompress(1, &[1, 2, 3], &mut raw).unwrap_err();
        assert!(e.contains("after 3 of 16"), "{e}");
        let e = decompress(32773, &[1, 7, 8], &mut raw).unwrap_err();
        assert!(e.contains("after 2 of 16"), "{e}");
    }
}
