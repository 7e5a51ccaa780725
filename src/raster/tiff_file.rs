//! GeoTIFF reading with the `tiff` crate, one strip or tile at a time.
//!
//! A window is assembled from the chunks (strips or tiles) it touches; decoded chunks are
//! kept in a small byte-bounded cache so that overlapping neighbouring windows do not decode
//! the same chunk twice.

use super::chunk_cache::{Chunk, ChunkCache, CHUNK_OVERHEAD_BYTES};
use super::chunk_codec::{self, ChunkGrid, SUPPORTED_COMPRESSION};
use super::scene::Opened;
use super::{
    geotiff, tiff_header, BandLayout, MaskSpec, RasterInfo, SampleType, Samples, SamplesMut,
    TileBuf, Window, WindowSource, DECODER_MESSAGE_CHARS,
};
use crate::error::{bounded, Error, Result};
use crate::geo::GeoRef;
use crate::limits::Limits;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;
use tiff::{ColorType, TiffError};

type Dec = Decoder<BufReader<File>>;

/// Maps a `tiff` error to ours, by whose fault it is.
fn tiff_error(path: &Path, what: &str, e: TiffError) -> Error {
    match e {
        TiffError::UnsupportedError(u) => Error::unsupported(
            path,
            format!("{what}: {}", bounded(&u.to_string(), DECODER_MESSAGE_CHARS)),
        ),
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
        other => {
            // The decoder's message may quote tag values (a whole list of them): keep it
            // short, and drop the source when it alone would print the long text.
            let message = other.to_string();
            let detail = bounded(&message, DECODER_MESSAGE_CHARS);
            let source: Option<Box<dyn std::error::Error + Send + Sync>> =
                (detail.len() == message.len()).then(|| Box::new(other) as _);
            Error::CorruptRaster {
                path: path.to_path_buf(),
                detail: format!("{what}: {detail}"),
                source,
            }
        }
    }
}

/// The GeoTIFF georeferencing of the current IFD: its tags read here, parsed by
/// [`geotiff`]. `None` when it has none.
fn read_georef(dec: &mut Dec, path: &Path) -> Result<Option<GeoRef>> {
    let mut f64s = |tag: Tag, name: &str| -> Result<Option<Vec<f64>>> {
        match dec.find_tag(tag).map_err(|e| tiff_error(path, name, e))? {
            None => Ok(None),
            Some(v) => v
                .into_f64_vec()
                .map(Some)
                .map_err(|e| tiff_error(path, name, e)),
        }
    };
    let tags = geotiff::ModelTags {
        tiepoints: f64s(Tag::ModelTiepointTag, "ModelTiepoint")?,
        pixel_scale: f64s(Tag::ModelPixelScaleTag, "ModelPixelScale")?,
        transformation: f64s(Tag::ModelTransformationTag, "ModelTransformation")?,
    };
    let Some(transform) = geotiff::model_transform(&tags, path)? else {
        return Ok(None);
    };
    let dir: Option<Vec<u16>> = dec
        .find_tag_unsigned_vec(Tag::GeoKeyDirectoryTag)
        .map_err(|e| tiff_error(path, "GeoKeyDirectory", e))?;
    geotiff::georef(transform, dir.as_deref(), path).map(Some)
}

pub(super) fn open(path: &Path, limits: &Limits) -> Result<Opened> {
    let (georef, warnings, source) = open_source(path, limits)?;
    Ok(Opened {
        georef,
        warnings,
        source: Box::new(source),
    })
}

type OpenedTiff = (Option<GeoRef>, Vec<String>, TiffSource);

fn open_source(path: &Path, limits: &Limits) -> Result<OpenedTiff> {
    // Before the `tiff` decoder reads the chunk index with its own limits.
    let file_len = tiff_header::check_first_ifd(path, limits)?;
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
                        "{}: GDAL_NODATA value `{}` is not a finite number; ignored",
                        path.display(),
                        crate::error::snippet(s)
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
        offsets,
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
    let grid = ChunkGrid {
        width,
        height,
        chunk_w: cw,
        chunk_h: ch,
        across,
        down,
        tiled: chunk_type == ChunkType::Tile,
        spp: chunk_spp as usize,
        sample,
    };
    check_chunk_index(path, &codec, &grid, file_len)?;

    let georef = match read_georef(&mut dec, path)? {
        Some(g) => Some(g),
        // A plain TIFF georeferenced by a world file (.tfw, .tifw, .wld) beside it.
        None => super::sidecar::world_georef(path)?,
    };

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
        info,
        grid,
        chunk_bytes,
        codec,
        state: Mutex::new(TiffState {
            dec,
            // Growing to one window's strips stops at max_window_bytes (see read_window).
            cache: ChunkCache::new(limits.chunk_cache_bytes, limits.max_window_bytes),
            decoded: 0,
        }),
    };
    Ok((georef, warnings, source))
}

struct TiffSource {
    path: PathBuf,
    info: RasterInfo,
    grid: ChunkGrid,
    codec: ChunkCodec,
    /// Bytes of one decoded strip/tile (of one plane when planar).
    chunk_bytes: u64,
    /// The file and the decoded chunks: one window is assembled at a time.
    state: Mutex<TiffState>,
}

struct TiffState {
    dec: Dec,
    cache: ChunkCache,
    /// Chunks decoded so far (cache misses).
    decoded: u64,
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

/// Checks the chunk index against the file before any chunk is read, so that a header
/// describing more pixels than its data can hold fails at once instead of after hours of
/// decompression: every chunk lies inside the file, no chunk claims to decode to more
/// than its bytes can (see [`chunk_codec::max_decoded_bytes`]), and all chunks together
/// claim no more than the whole file can decode to (chunks sharing their bytes, a
/// "decompression bomb" of one small stream referenced thousands of times, fail here).
fn check_chunk_index(
    path: &Path,
    codec: &ChunkCodec,
    grid: &ChunkGrid,
    file_len: u64,
) -> Result<()> {
    let name = SUPPORTED_COMPRESSION
        .iter()
        .find(|(c, _)| *c == codec.compression)
        .map_or("this compression", |(_, n)| *n);
    let mut claimed = 0u64;
    for (i, (&off, &count)) in codec.offsets.iter().zip(&codec.byte_counts).enumerate() {
        if count == 0 {
            continue; // sparse: read as the fill value, nothing decoded
        }
        let idx = u32::try_from(i).map_err(|_| Error::corrupt(path, "too many chunks"))?;
        let decoded = grid.stored_bytes(idx);
        if off.checked_add(count).is_none_or(|end| end > file_len) {
            return Err(Error::corrupt(
                path,
                format!(
                    "chunk {i}: {count} bytes at offset {off} run past the end of the {file_len}-byte file (truncated?)"
                ),
            ));
        }
        let most = chunk_codec::max_decoded_bytes(codec.compression, count);
        if decoded > most {
            return Err(Error::corrupt(
                path,
                format!(
                    "chunk {i}: {count} bytes cannot hold the {decoded} bytes the header claims ({name} decodes to at most {most})"
                ),
            ));
        }
        claimed = claimed.saturating_add(decoded);
    }
    let most = chunk_codec::max_decoded_bytes(codec.compression, file_len);
    if claimed > most {
        return Err(Error::corrupt(
            path,
            format!(
                "the chunks claim {claimed} decoded bytes but a {file_len}-byte {name} file holds at most {most} (chunks sharing their data?)"
            ),
        ));
    }
    Ok(())
}

impl TiffSource {
    fn load(&self, state: &mut TiffState, idx: u32) -> Result<()> {
        if state.cache.map.contains_key(&idx) {
            return Ok(());
        }
        let c = self.decode_chunk(&mut state.dec, idx)?;
        state.decoded += 1;
        state.cache.insert(idx, c);
        Ok(())
    }

    /// Reads and decodes chunk `idx`: decompression, predictor, byte order.
    fn decode_chunk(&self, dec: &mut Dec, idx: u32) -> Result<Chunk> {
        let codec = &self.codec;
        let grid = &self.grid;
        let i = idx as usize;
        let (width, height) = grid.data_size(idx);
        let (stored_w, stored_h) = grid.stored_size(idx);
        let row_samples = stored_w as usize * grid.spp;
        let out_len = row_samples * stored_h as usize * grid.sample.bytes();
        let (Some(&off), Some(&count)) = (codec.offsets.get(i), codec.byte_counts.get(i)) else {
            return Err(Error::corrupt(&self.path, format!("no chunk {idx}")));
        };
        let bad = |detail: String| Error::corrupt(&self.path, format!("chunk {idx}: {detail}"));
        if count == 0 {
            // A sparse chunk: no data written, read as the fill value.
            let n = row_samples * stored_h as usize;
            let samples = match grid.sample {
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
        // A valid stream needs at most ~1.5 × the decoded size (LZW's 12-bit codes for
        // single bytes; Deflate and PackBits expand less): bytes past that cannot be
        // needed to fill the chunk, so they are not read (nor allocated).
        let count = count.min((out_len as u64).saturating_mul(3) / 2 + 4096);
        let mut compressed = vec![0u8; count as usize];
        {
            use std::io::{Read, Seek, SeekFrom};
            let r = dec.inner();
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
        chunk_codec::decompress(codec.compression, &compressed, &mut raw).map_err(bad)?;
        drop(compressed);
        let samples = chunk_codec::to_samples(
            raw,
            grid.sample,
            codec.big_endian,
            codec.predictor,
            row_samples,
            grid.spp,
        );
        Ok(Chunk {
            samples,
            width,
            height,
            row_stride: row_samples,
        })
    }
}

impl WindowSource for TiffSource {
    fn info(&self) -> &RasterInfo {
        &self.info
    }

    fn read_window(&self, win: Window, buf: &mut TileBuf) -> Result<()> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::Internal("an earlier TIFF read panicked".into()))?;
        let state = &mut *state;
        let (bands, layout) = (self.info.bands, self.info.layout);
        let cx0 = win.x / self.grid.chunk_w;
        let cx1 = ((win.x_end() - 1) / u64::from(self.grid.chunk_w)) as u32;
        let cy0 = win.y / self.grid.chunk_h;
        let cy1 = ((win.y_end() - 1) / u64::from(self.grid.chunk_h)) as u32;
        let planes = if layout == BandLayout::Planar {
            bands
        } else {
            1
        };
        let per_plane = self.grid.across * self.grid.down;
        let spp = if layout == BandLayout::Planar {
            1
        } else {
            usize::from(bands)
        };
        // Keep every chunk this window touches: the next window of the row needs most of
        // them again. With strips that is the full scene width times the window height,
        // which for a wide 16-bit multi-band scene can exceed the configured budget; below
        // it, each window would decode all its strips again. The growth stops at the
        // cache's cap (past it, reading is slower, never unbounded in memory).
        let touched = u64::from(planes) * u64::from(cy1 - cy0 + 1) * u64::from(cx1 - cx0 + 1);
        let per_chunk = self.chunk_bytes.saturating_add(CHUNK_OVERHEAD_BYTES as u64);
        state.cache.grow_to(touched.saturating_mul(per_chunk));
        let win_w = win.width as usize;
        let plane_len = win.pixels() as usize;
        for plane in 0..planes {
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let idx = u32::from(plane) * per_plane + cy * self.grid.across + cx;
                    self.load(state, idx)?;
                    let Some(chunk) = state.cache.map.get(&idx) else {
                        return Err(Error::corrupt(
                            &self.path,
                            format!("chunk {idx} not loaded"),
                        ));
                    };
                    // Intersection of the chunk and the window, in scene pixels.
                    let ox = cx * self.grid.chunk_w;
                    let oy = cy * self.grid.chunk_h;
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
                            (Samples::U8(s), SamplesMut::U8(d)) => {
                                d[dst..dst + n].copy_from_slice(&s[src..src + n])
                            }
                            (Samples::U16(s), SamplesMut::U16(d)) => {
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
    use super::{open_source, WindowSource, CHUNK_OVERHEAD_BYTES};
    use crate::limits::Limits;
    use crate::raster::{TileBuf, Window};

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
        let (_, _, src) = open_source(&path, &limits).unwrap();
        let info = src.info.clone();
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
            src.state.lock().unwrap().decoded,
            strips,
            "each strip decoded once, not once per window"
        );
        let strip_bytes = (w * 8 * 3 * 2) as usize;
        assert_eq!(
            src.state.lock().unwrap().cache.budget,
            8 * (strip_bytes + CHUNK_OVERHEAD_BYTES),
            "grown to one window's strips, with their overhead"
        );

        // The growth stops at max_window_bytes: with room for 3 strips, windows of 8
        // strips cannot all stay cached, and nothing grows past the cap.
        let limits = Limits {
            chunk_cache_bytes: 1,
            max_window_bytes: 3 * strip_bytes as u64,
            ..Limits::default()
        };
        let (_, _, src) = open_source(&path, &limits).unwrap();
        let info = src.info.clone();
        let win = Window::new(0, 0, 256, h);
        let mut buf = TileBuf::new();
        buf.reset(win, info.bands, info.sample, info.layout);
        src.read_window(win, &mut buf).unwrap();
        src.read_window(win, &mut buf).unwrap();
        let state = src.state.lock().unwrap();
        assert_eq!(state.cache.budget, 3 * strip_bytes);
        assert!(state.cache.bytes <= 3 * strip_bytes);
        assert_eq!(state.decoded, 2 * strips);
    }
}
