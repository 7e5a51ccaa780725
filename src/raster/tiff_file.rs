//! GeoTIFF reading with the `tiff` crate, one strip or tile at a time.
//!
//! A window is assembled from the chunks (strips or tiles) it touches; decoded chunks are
//! kept in a small byte-bounded cache so that overlapping neighbouring windows do not decode
//! the same chunk twice.

use super::{
    geotiff, BandLayout, MaskSpec, Opened, RasterInfo, SampleType, Samples, TileBuf, Window,
    WindowSource,
};
use crate::{Error, Limits, Result};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;
use tiff::{ColorType, TiffError};

type Dec = Decoder<BufReader<File>>;

/// Maps a `tiff` error to ours, by whose fault it is.
pub(super) fn tiff_error(path: &Path, what: &str, e: TiffError) -> Error {
    match e {
        TiffError::UnsupportedError(u) => Error::unsupported(path, format!("{what}: {u}")),
        // The `tiff` decoder's own memory guard (it reports no sizes).
        TiffError::LimitsExceeded => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: format!(
                "{what}: larger than the TIFF decoder's built-in memory limit (an implausible size in the header?)"
            ),
            source: None,
        },
        TiffError::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            Error::io(path, io)
        }
        other => Error::CorruptRaster {
            path: path.to_path_buf(),
            detail: format!("{what}: {other}"),
            source: Some(Box::new(other)),
        },
    }
}

const SUPPORTED_COMPRESSION: &[(u16, &str)] = &[
    (1, "none"),
    (5, "LZW"),
    (8, "Deflate"),
    (32946, "Deflate"),
    (32773, "PackBits"),
];

pub(super) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let (info, georef, warnings, source) = open_source(path, limits)?;
    Ok(Opened {
        info,
        georef,
        warnings,
        source: Box::new(source),
    })
}

type OpenedTiff = (RasterInfo, Option<crate::GeoRef>, Vec<String>, TiffSource);

fn open_source(path: &Path, limits: &Limits) -> Result<OpenedTiff> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = usize::try_from(limits.max_window_bytes).unwrap_or(usize::MAX);
    let mut dec = Decoder::new(BufReader::new(file))
        .map_err(|e| tiff_error(path, "reading the header", e))?
        .with_limits(tl);
    let te = |what: &'static str| move |e| tiff_error(path, what, e);

    let (width, height) = dec.dimensions().map_err(te("image size"))?;
    if width == 0 || height == 0 {
        return Err(Error::corrupt(path, format!("image is {width}x{height}")));
    }
    Limits::check(
        || path.display().to_string(),
        "scene size in pixels",
        u64::from(width) * u64::from(height),
        limits.max_scene_pixels,
    )?;

    let color = dec.colortype().map_err(te("colour type"))?;
    let photometric: Option<u16> = dec
        .find_tag_unsigned(Tag::PhotometricInterpretation)
        .map_err(te("PhotometricInterpretation"))?;
    match (color, photometric) {
        (
            ColorType::Palette(_)
            | ColorType::CMYK(_)
            | ColorType::CMYKA(_)
            | ColorType::YCbCr(_)
            | ColorType::Lab(_),
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
    let compression: u16 = dec
        .find_tag_unsigned(Tag::Compression)
        .map_err(te("Compression"))?
        .unwrap_or(1);
    let comp_name = SUPPORTED_COMPRESSION
        .iter()
        .find(|(c, _)| *c == compression)
        .map(|(_, n)| *n)
        .ok_or_else(|| Error::unsupported(path, format!("compression {compression}: satdet reads uncompressed, LZW, Deflate and PackBits TIFFs")))?;
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
    let mut warnings = Vec::new();
    let nodata = match dec.find_tag(Tag::GdalNodata).map_err(te("GDAL_NODATA"))? {
        None => None,
        Some(v) => {
            let s = v.into_string().map_err(te("GDAL_NODATA"))?;
            let s = s.trim_matches(char::from(0)).trim();
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    warnings.push(format!(
                        "{}: GDAL_NODATA value `{s}` is not a finite number; ignored",
                        path.display()
                    ));
                    None
                }
            }
        }
    };

    let chunk_type = dec.get_chunk_type();
    let (cw, ch) = dec.chunk_dimensions();
    // RowsPerStrip may be 2^32 - 1 ("the whole image is one strip"): a strip holds at
    // most the image's rows.
    let ch = if chunk_type == ChunkType::Strip {
        ch.min(height)
    } else {
        ch
    };
    if cw == 0 || ch == 0 {
        return Err(Error::corrupt(path, format!("chunk size {cw}x{ch}")));
    }
    let across = width.div_ceil(cw);
    let down = height.div_ceil(ch);
    let planes = if layout == BandLayout::Planar {
        u32::from(bands)
    } else {
        1
    };
    let expected = u64::from(across) * u64::from(down) * u64::from(planes);
    let offsets_tag = match chunk_type {
        ChunkType::Strip => Tag::StripOffsets,
        ChunkType::Tile => Tag::TileOffsets,
    };
    let offsets: Vec<u64> = dec
        .get_tag_u64_vec(offsets_tag)
        .map_err(te("chunk offsets"))?;
    if offsets.len() as u64 != expected {
        return Err(Error::corrupt(
            path,
            format!(
                "{} chunk offsets, expected {expected} for {width}x{height} in {cw}x{ch} chunks",
                offsets.len()
            ),
        ));
    }
    let counts_tag = match chunk_type {
        ChunkType::Strip => Tag::StripByteCounts,
        ChunkType::Tile => Tag::TileByteCounts,
    };
    let byte_counts: Vec<u64> = dec
        .get_tag_u64_vec(counts_tag)
        .map_err(te("chunk byte counts"))?;
    if byte_counts.len() != offsets.len() {
        return Err(Error::corrupt(
            path,
            format!(
                "{} chunk byte counts for {} chunks",
                byte_counts.len(),
                offsets.len()
            ),
        ));
    }
    let predictor: u16 = dec
        .find_tag_unsigned(Tag::Predictor)
        .map_err(te("Predictor"))?
        .unwrap_or(1);
    if predictor != 1 && predictor != 2 {
        return Err(Error::unsupported(
            path,
            format!("predictor {predictor}: satdet reads none (1) and horizontal (2)"),
        ));
    }
    let codec = ChunkCodec {
        offsets: offsets.clone(),
        byte_counts,
        predictor,
        big_endian: dec.byte_order() == tiff::tags::ByteOrder::BigEndian,
        compression,
        sparse_fill: MaskSpec {
            alpha_band: None,
            nodata,
        }
        .nodata_sample(sample)
        .unwrap_or(0),
    };
    // Planar chunks hold one band each.
    let chunk_spp = if layout == BandLayout::Planar {
        1
    } else {
        u64::from(bands)
    };
    let chunk_bytes = u64::from(cw) * u64::from(ch) * chunk_spp * sample.bytes() as u64;
    Limits::check(
        || path.display().to_string(),
        "one strip/tile in bytes",
        chunk_bytes,
        limits.max_window_bytes,
    )?;

    let mut georef = geotiff::read(&mut dec, path)?;
    if georef.is_none() {
        // A plain TIFF georeferenced by a world file (.tfw, .tifw, .wld) beside it.
        georef = super::image_file::world_georef(path)?;
    }

    let kind = match chunk_type {
        ChunkType::Strip => format!("strips of {ch} rows"),
        ChunkType::Tile => format!("{cw}x{ch} tiles"),
    };
    let info = RasterInfo {
        width,
        height,
        bands,
        sample,
        layout,
        mask: MaskSpec { alpha_band, nodata },
        storage: format!(
            "GeoTIFF, {kind}, {comp_name}, {}",
            if layout == BandLayout::Planar {
                "planar"
            } else {
                "interleaved"
            }
        ),
    };
    let source = TiffSource {
        path: path.to_path_buf(),
        dec,
        sample,
        bands,
        layout,
        chunk_w: cw,
        chunk_h: ch,
        across,
        down,
        // Growing to one window's strips stops at max_window_bytes (see read_window).
        cache: ChunkCache::new(limits.chunk_cache_bytes, limits.max_window_bytes),
        chunk_bytes,
        codec,
        tiled: chunk_type == ChunkType::Tile,
        width,
        height,
        decoded: 0,
    };
    Ok((info, georef, warnings, source))
}

/// One decoded strip or tile.
struct Chunk {
    samples: Samples,
    /// Data columns (the chunk minus padding past the image edge).
    width: u32,
    height: u32,
    /// Samples from one row to the next.
    row_stride: usize,
}

impl Chunk {
    fn bytes(&self) -> usize {
        match &self.samples {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len() * 2,
        }
    }
}

/// Decoded chunks, most recent last, bounded in bytes.
struct ChunkCache {
    map: HashMap<u32, Chunk>,
    order: VecDeque<u32>,
    bytes: usize,
    budget: usize,
    /// The most `grow_to` may raise the budget to.
    cap: usize,
}

impl ChunkCache {
    fn new(budget: u64, cap: u64) -> Self {
        let size = |b: u64| usize::try_from(b).unwrap_or(usize::MAX);
        ChunkCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget: size(budget),
            cap: size(cap.max(budget)),
        }
    }
    /// Raises the budget to `bytes`, at most to the cap (never lowers it).
    fn grow_to(&mut self, bytes: u64) {
        let want = usize::try_from(bytes).unwrap_or(usize::MAX).min(self.cap);
        self.budget = self.budget.max(want);
    }
    fn insert(&mut self, idx: u32, c: Chunk) {
        self.bytes += c.bytes();
        self.map.insert(idx, c);
        self.order.push_back(idx);
        // Keep at least the newest chunk even when it alone exceeds the budget.
        while self.bytes > self.budget && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some(c) = self.map.remove(&old) {
                    self.bytes -= c.bytes();
                }
            }
        }
    }
}

struct TiffSource {
    path: PathBuf,
    dec: Dec,
    sample: SampleType,
    bands: u16,
    layout: BandLayout,
    chunk_w: u32,
    chunk_h: u32,
    across: u32,
    down: u32,
    cache: ChunkCache,
    codec: ChunkCodec,
    tiled: bool,
    width: u32,
    height: u32,
    /// Chunks decoded so far (cache misses).
    decoded: u64,
    /// Bytes of one decoded strip/tile (of one plane when planar).
    chunk_bytes: u64,
}

/// Where each chunk lies in the file and how to decode it.
struct ChunkCodec {
    offsets: Vec<u64>,
    byte_counts: Vec<u64>,
    compression: u16,
    predictor: u16,
    big_endian: bool,
    /// The sample value of a sparse chunk (offset and byte count 0, as GDAL writes for
    /// empty blocks): the nodata value when it is a valid sample, else 0, as GDAL reads it.
    sparse_fill: u16,
}

/// PackBits: a header byte n; 0..=127 copies n + 1 literal bytes, -127..=-1 repeats the
/// next byte 1 - n times, -128 is a no-op. Returns the bytes written.
fn unpack_bits(src: &[u8], out: &mut [u8]) -> usize {
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

impl TiffSource {
    fn load(&mut self, idx: u32) -> Result<()> {
        if self.cache.map.contains_key(&idx) {
            return Ok(());
        }
        let c = self.decode_chunk(idx)?;
        self.decoded += 1;
        self.cache.insert(idx, c);
        Ok(())
    }

    /// Reads and decodes chunk `idx`: decompression, predictor, byte order. Like libtiff,
    /// decoding stops once the chunk's full (padded) size is produced; a missing end code
    /// is accepted, a short stream is an error.
    fn decode_chunk(&mut self, idx: u32) -> Result<Chunk> {
        let codec = &self.codec;
        let i = idx as usize;
        let unit = idx % (self.across * self.down);
        let (cx, cy) = (unit % self.across, unit / self.across);
        let width = self.chunk_w.min(self.width - cx * self.chunk_w);
        let height = self.chunk_h.min(self.height - cy * self.chunk_h);
        let spp = if self.layout == BandLayout::Planar {
            1
        } else {
            usize::from(self.bands)
        };
        // Tiles are stored padded to the full tile size; strips hold only their rows.
        let (stored_w, stored_h) = if self.tiled {
            (self.chunk_w, self.chunk_h)
        } else {
            (self.width, height)
        };
        let row_samples = stored_w as usize * spp;
        let out_len = row_samples * stored_h as usize * self.sample.bytes();
        let (off, count) = (codec.offsets[i], codec.byte_counts[i]);
        let bad = |detail: String| Error::corrupt(&self.path, format!("chunk {idx}: {detail}"));
        if count == 0 {
            // A sparse chunk: no data written, read as the fill value.
            let n = row_samples * stored_h as usize;
            let samples = match self.sample {
                SampleType::U8 => Samples::U8(vec![codec.sparse_fill as u8; n]),
                SampleType::U16 => Samples::U16(vec![codec.sparse_fill; n]),
            };
            return Ok(Chunk {
                samples,
                width,
                height,
                row_stride: row_samples,
            });
        }
        // A compressed chunk larger than a few times its decoded size is not believable.
        if count > (out_len as u64).saturating_mul(4).max(4096) {
            return Err(bad(format!(
                "byte count {count} for {out_len} decoded bytes"
            )));
        }
        let mut compressed = vec![0u8; count as usize];
        {
            use std::io::{Read, Seek, SeekFrom};
            let r = self.dec.inner();
            r.seek(SeekFrom::Start(off))
                .map_err(|e| Error::io(&self.path, e))?;
            r.read_exact(&mut compressed)
                .map_err(|e| Error::CorruptRaster {
                    path: self.path.clone(),
                    detail: format!("chunk {idx}: {count} bytes at offset {off}: {e}"),
                    source: Some(Box::new(e)),
                })?;
        }
        let mut raw = vec![0u8; out_len];
        let produced = match codec.compression {
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
                        Err(e) => return Err(bad(format!("LZW: {e}"))),
                    }
                }
                outp
            }
            8 | 32946 => {
                use std::io::Read;
                let mut z = flate2::read::ZlibDecoder::new(&compressed[..]);
                let mut outp = 0;
                while outp < out_len {
                    match z.read(&mut raw[outp..]) {
                        Ok(0) => break,
                        Ok(n) => outp += n,
                        Err(e) => return Err(bad(format!("Deflate: {e}"))),
                    }
                }
                outp
            }
            32773 => unpack_bits(&compressed, &mut raw),
            c => return Err(Error::unsupported(&self.path, format!("compression {c}"))),
        };
        if produced < out_len {
            return Err(bad(format!(
                "data ends after {produced} of {out_len} bytes"
            )));
        }
        let samples = match self.sample {
            SampleType::U8 => {
                if codec.predictor == 2 {
                    for row in raw.chunks_exact_mut(row_samples) {
                        for k in spp..row.len() {
                            row[k] = row[k].wrapping_add(row[k - spp]);
                        }
                    }
                }
                Samples::U8(raw)
            }
            SampleType::U16 => {
                let be = codec.big_endian;
                let mut v: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|b| {
                        if be {
                            u16::from_be_bytes([b[0], b[1]])
                        } else {
                            u16::from_le_bytes([b[0], b[1]])
                        }
                    })
                    .collect();
                if codec.predictor == 2 {
                    for row in v.chunks_exact_mut(row_samples) {
                        for k in spp..row.len() {
                            row[k] = row[k].wrapping_add(row[k - spp]);
                        }
                    }
                }
                Samples::U16(v)
            }
        };
        Ok(Chunk {
            samples,
            width,
            height,
            row_stride: row_samples,
        })
    }
}

impl WindowSource for TiffSource {
    fn read_window(&mut self, win: Window, buf: &mut TileBuf) -> Result<()> {
        let cx0 = win.x / self.chunk_w;
        let cx1 = ((win.x_end() - 1) / u64::from(self.chunk_w)) as u32;
        let cy0 = win.y / self.chunk_h;
        let cy1 = ((win.y_end() - 1) / u64::from(self.chunk_h)) as u32;
        let planes = if self.layout == BandLayout::Planar {
            self.bands
        } else {
            1
        };
        let per_plane = self.across * self.down;
        let spp = if self.layout == BandLayout::Planar {
            1
        } else {
            usize::from(self.bands)
        };
        // Keep every chunk this window touches: the next window of the row needs most of
        // them again. With strips that is the full scene width times the window height,
        // which for a wide 16-bit multi-band scene can exceed the configured budget; below
        // it, each window would decode all its strips again. The growth stops at the
        // cache's cap (past it, reading is slower, never unbounded in memory).
        let touched = u64::from(planes) * u64::from(cy1 - cy0 + 1) * u64::from(cx1 - cx0 + 1);
        self.cache.grow_to(touched.saturating_mul(self.chunk_bytes));
        let win_w = win.width as usize;
        let plane_len = win.pixels() as usize;
        for plane in 0..planes {
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let idx = u32::from(plane) * per_plane + cy * self.across + cx;
                    self.load(idx)?;
                    let chunk = &self.cache.map[&idx];
                    // Intersection of the chunk and the window, in scene pixels.
                    let ox = cx * self.chunk_w;
                    let oy = cy * self.chunk_h;
                    let x0 = win.x.max(ox);
                    let x1 = (win.x_end()).min(u64::from(ox) + u64::from(chunk.width)) as u32;
                    let y0 = win.y.max(oy);
                    let y1 = (win.y_end()).min(u64::from(oy) + u64::from(chunk.height)) as u32;
                    if x0 >= x1 || y0 >= y1 {
                        return Err(Error::corrupt(
                            &self.path,
                            format!(
                                "chunk {idx} holds {}x{} pixels, fewer than the image size implies",
                                chunk.width, chunk.height
                            ),
                        ));
                    }
                    let n = (x1 - x0) as usize * spp;
                    let plane_off = usize::from(plane) * plane_len;
                    for y in y0..y1 {
                        let src = (y - oy) as usize * chunk.row_stride + (x0 - ox) as usize * spp;
                        let dst = plane_off
                            + ((y - win.y) as usize * win_w + (x0 - win.x) as usize) * spp;
                        match (&chunk.samples, buf.samples_mut()) {
                            (Samples::U8(s), Samples::U8(d)) => {
                                d[dst..dst + n].copy_from_slice(&s[src..src + n])
                            }
                            (Samples::U16(s), Samples::U16(d)) => {
                                d[dst..dst + n].copy_from_slice(&s[src..src + n])
                            }
                            _ => {
                                return Err(Error::corrupt(
                                    &self.path,
                                    "sample type changed between chunks",
                                ))
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{open_source, unpack_bits, WindowSource};
    use crate::raster::{TileBuf, Window};
    use crate::Limits;

    /// A scene much wider than tall, in strips of 8 rows, read window by window along a
    /// row with a cache budget far below one window's strips: every strip is decoded once.
    #[test]
    fn wide_strips_are_decoded_once_per_row_of_windows() {
        use tiff::encoder::{colortype, TiffEncoder};
        let (w, h) = (4096u32, 64u32);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.tif");
        let data: Vec<u16> = (0..w * h * 3).map(|i| (i % 65521) as u16).collect();
        {
            let f = std::fs::File::create(&path).unwrap();
            let mut enc = TiffEncoder::new(f).unwrap();
            let mut img = enc.new_image::<colortype::RGB16>(w, h).unwrap();
            img.rows_per_strip(8).unwrap();
            img.write_data(&data).unwrap();
        }
        let limits = Limits {
            chunk_cache_bytes: 1,
            ..Limits::default()
        };
        let (info, _, _, mut src) = open_source(&path, &limits).unwrap();
        assert_eq!(info.storage, "GeoTIFF, strips of 8 rows, none, interleaved");
        let strips = u64::from(h / 8);
        for x in (0..w - 256).step_by(192) {
            let win = Window::new(x, 0, 256, h);
            let mut buf = TileBuf::new();
            buf.reset(win, info.bands, info.sample, info.layout);
            src.read_window(win, &mut buf).unwrap();
            if x == 0 {
                let crate::raster::Samples::U16(s) = buf.samples() else {
                    panic!("u16")
                };
                assert_eq!(&s[..6], &data[..6]);
            }
        }
        assert_eq!(
            src.decoded, strips,
            "each strip decoded once, not once per window"
        );
        let strip_bytes = (w * 8 * 3 * 2) as usize;
        assert_eq!(
            src.cache.budget,
            8 * strip_bytes,
            "grown to one window's strips"
        );

        // The growth stops at max_window_bytes: with room for 3 strips, windows of 8
        // strips cannot all stay cached, and nothing grows past the cap.
        let limits = Limits {
            chunk_cache_bytes: 1,
            max_window_bytes: 3 * strip_bytes as u64,
            ..Limits::default()
        };
        let (info, _, _, mut src) = open_source(&path, &limits).unwrap();
        let win = Window::new(0, 0, 256, h);
        let mut buf = TileBuf::new();
        buf.reset(win, info.bands, info.sample, info.layout);
        src.read_window(win, &mut buf).unwrap();
        src.read_window(win, &mut buf).unwrap();
        assert_eq!(src.cache.budget, 3 * strip_bytes);
        assert!(src.cache.bytes <= 3 * strip_bytes);
        assert_eq!(src.decoded, 2 * strips);
    }

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
}
