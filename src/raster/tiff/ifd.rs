//! The tags of a TIFF's first image: size, bands, sample type, layout, masks, the chunk
//! index (checked against the file before any chunk is read) and the georeferencing.

use super::cache::ChunkCache;
use super::codec::{self, ChunkCodec, ChunkGrid, JpegChunks, SUPPORTED_COMPRESSION};
use super::format::{pixel_format, PixelFormat};
use super::jpeg::JpegColor;
use super::overview::TiffOverviews;
use super::source::{TiffSource, TiffState, BATCH_BYTES};
use super::{geotiff, header, Dec};
use crate::error::{bounded, Error, Result};
use crate::geo::GeoRef;
use crate::limits::Limits;
use crate::raster::bytes::{source_error, BlockReader, ByteSource};
use crate::raster::{BandLayout, MaskSpec, RasterInfo, DECODER_MESSAGE_CHARS};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tiff::decoder::{ChunkType, Decoder};
use tiff::tags::Tag;
use tiff::TiffError;

/// Maps a `tiff` error to ours, by whose fault it is.
pub(super) fn tiff_error(path: &Path, what: &str, e: TiffError) -> Error {
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
        // The byte source's own error (a store that cannot be read), as it was.
        TiffError::IoError(io) if io.kind() != std::io::ErrorKind::UnexpectedEof => {
            source_error(io).unwrap_or_else(|io| Error::io(path, io))
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
    // Parameters and citations of the GeoKeys: unreadable ones are as absent (GDAL opens
    // such files too), and only a CRS that needs them says so.
    let doubles = f64s(Tag::GeoDoubleParamsTag, "GeoDoubleParams")
        .ok()
        .flatten();
    let ascii = dec
        .find_tag(Tag::GeoAsciiParamsTag)
        .ok()
        .flatten()
        .and_then(|v| v.into_string().ok());
    let dir: Option<Vec<u16>> = dec
        .find_tag_unsigned_vec(Tag::GeoKeyDirectoryTag)
        .map_err(|e| tiff_error(path, "GeoKeyDirectory", e))?;
    geotiff::georef(
        transform,
        dir.as_deref(),
        doubles.as_deref(),
        ascii.as_deref(),
        path,
    )
    .map(Some)
}

/// A TIFF opened: its first image as a source, and the overviews found after it.
pub(super) struct OpenedTiff {
    pub georef: Option<GeoRef>,
    pub warnings: Vec<String>,
    pub source: TiffSource,
    pub acquired: Option<String>,
    /// The bands (from 0) holding red, green and blue, when the tags say.
    pub rgb_bands: Option<crate::raster::band_names::Named>,
    pub overviews: TiffOverviews,
    /// The image's internal mask, read as its alpha band ([`super::mask`]).
    pub mask: Option<TiffSource>,
}

/// A decoder reading through `reader` under `limits` (its first directory read).
pub(super) fn decoder(reader: BlockReader, path: &Path, limits: &Limits) -> Result<Dec> {
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = usize::try_from(limits.max_window_bytes).unwrap_or(usize::MAX);
    Ok(Decoder::new(reader)
        .map_err(|e| tiff_error(path, "reading the header", e))?
        .with_limits(tl))
}

/// Opens the first image read through `reader` (whose first block may be cached already),
/// and lists the overviews after it.
pub(super) fn open_source(mut reader: BlockReader, limits: &Limits) -> Result<OpenedTiff> {
    let src = reader.source();
    let path = &src.name().to_path_buf();
    let file_len = src.len();
    let first_block = reader.first_block();
    // Before the `tiff` decoder reads the chunk index with its own limits.
    let header::Ifds {
        ifds,
        later_refused,
    } = header::check_ifds(&mut reader, file_len, path, limits)?;
    let mut dec = decoder(reader, path, limits)?;
    let mut warnings = Vec::new();
    let (info, chunks) = image_parts(&mut dec, path, limits, file_len, &mut |dec| {
        nodata(dec, path, &mut warnings)
    })?;
    let georef = match read_georef(&mut dec, path)? {
        Some(g) => Some(g),
        // A remote scene is georeferenced by its tags only.
        None if crate::raster::remote::as_url(path).is_some() => None,
        // A plain TIFF georeferenced by a world file (.tfw, .tifw, .wld) beside it.
        None => crate::raster::sidecar::world_georef(path)?,
    };
    let acquired = date_time(&mut dec, path, &mut warnings)?;
    let rgb_bands = super::color::rgb_bands(&mut dec, path, &info, &mut warnings)?;
    if let Some(e) = later_refused {
        warnings.push(format!(
            "{}: overviews after a refused directory are not used ({e})",
            path.display()
        ));
    }
    let not_used = |why: String| {
        format!(
            "{}: its internal mask (no-data areas) is not used: {why}; no-data areas are read as image",
            path.display()
        )
    };
    let mask_ifd = super::mask::mask_ifd(&ifds, (info.width, info.height), false);
    let (mask, why) = super::mask::usable_mask(&src, first_block.clone(), limits, &info, mask_ifd)?;
    warnings.extend(why.map(not_used));
    let overviews = TiffOverviews::new(
        src.clone(),
        first_block,
        limits,
        &info,
        &ifds,
        mask.is_some(),
    );
    let image_limits = super::mask::image_limits(limits, mask.is_some());
    let source = tiff_source(src, dec, info, chunks, &image_limits);
    Ok(OpenedTiff {
        georef,
        warnings,
        source,
        acquired,
        rgb_bands,
        overviews,
        mask,
    })
}

/// The current image's size, pixel format and chunk index, checked; `nodata` reads the
/// nodata value (the first image's tag, or given to an overview).
pub(super) fn image_parts(
    dec: &mut Dec,
    path: &Path,
    limits: &Limits,
    file_len: u64,
    nodata: &mut dyn FnMut(&mut Dec) -> Result<Option<f64>>,
) -> Result<(RasterInfo, Chunks)> {
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
    let fmt = pixel_format(dec, path)?;
    let nodata = nodata(dec)?;
    let chunks = chunks(dec, path, limits, file_len, (width, height), &fmt, nodata)?;
    let info = RasterInfo {
        width,
        height,
        bands: fmt.bands,
        sample: fmt.sample,
        layout: fmt.layout,
        mask: MaskSpec {
            alpha_band: fmt.alpha_band,
            nodata,
        },
        storage: format!(
            "GeoTIFF, {}, {}, {}",
            chunks.kind,
            fmt.comp_name,
            if fmt.layout == BandLayout::Planar {
                "planar"
            } else {
                "interleaved"
            }
        ),
    };
    Ok((info, chunks))
}

/// The source reading `dec`'s current image from `src`; the header blocks `dec` read
/// serve the chunks that lie in them.
pub(super) fn tiff_source(
    src: Arc<dyn ByteSource>,
    mut dec: Dec,
    info: RasterInfo,
    chunks: Chunks,
    limits: &Limits,
) -> TiffSource {
    TiffSource {
        path: src.name().to_path_buf(),
        info,
        grid: chunks.grid,
        chunk_bytes: chunks.chunk_bytes,
        codec: chunks.codec,
        batch_bytes: BATCH_BYTES.min(limits.max_window_bytes),
        state: Mutex::new(TiffState {
            header: dec.inner().take_blocks(),
            src,
            // Growing to one window's strips stops at max_window_bytes (see read_window).
            cache: ChunkCache::new(limits.chunk_cache_bytes, limits.max_window_bytes),
        }),
        decoded: Arc::new(AtomicU64::new(0)),
    }
}

/// The `DateTime` tag as an ISO 8601 date-time; a value that is not a date is a warning.
fn date_time(dec: &mut Dec, path: &Path, warnings: &mut Vec<String>) -> Result<Option<String>> {
    let Some(v) = dec
        .find_tag(Tag::DateTime)
        .map_err(|e| tiff_error(path, "DateTime", e))?
    else {
        return Ok(None);
    };
    let raw = v.into_string().unwrap_or_default();
    let date = crate::raster::scene::tiff_date(&raw);
    if date.is_none() {
        warnings.push(format!(
            "{}: TIFF DateTime {:?} is not YYYY:MM:DD HH:MM:SS; no acquisition date (set one with --date or Scene::with_acquired)",
            path.display(),
            raw.chars().take(40).collect::<String>()
        ));
    }
    Ok(date)
}

/// The GDAL_NODATA tag's value; one that is not a finite number is ignored with a warning.
fn nodata(dec: &mut Dec, path: &Path, warnings: &mut Vec<String>) -> Result<Option<f64>> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    let Some(v) = dec.find_tag(Tag::GdalNodata).map_err(te("GDAL_NODATA"))? else {
        return Ok(None);
    };
    let s = v.into_string().map_err(te("GDAL_NODATA"))?;
    let s = s.trim_matches(char::from(0)).trim();
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => {
            warnings.push(format!(
                "{}: GDAL_NODATA value `{}` is not a finite number; ignored",
                path.display(),
                crate::error::snippet(s)
            ));
            Ok(None)
        }
    }
}

/// How the pixels are stored: the chunk grid and index (checked against the file) and a
/// chunk's decoded size (checked against the limits).
pub(super) struct Chunks {
    grid: ChunkGrid,
    codec: ChunkCodec,
    /// Bytes of one decoded strip/tile (of one plane when planar).
    chunk_bytes: u64,
    /// For `RasterInfo::storage`: "strips of n rows" or "wxh tiles".
    pub(super) kind: String,
}

pub(super) fn chunks(
    dec: &mut Dec,
    path: &Path,
    limits: &Limits,
    file_len: u64,
    (width, height): (u32, u32),
    fmt: &PixelFormat,
    nodata: Option<f64>,
) -> Result<Chunks> {
    let te = |what: &'static str| move |e| tiff_error(path, what, e);
    let &PixelFormat {
        bands,
        sample,
        layout,
        compression,
        ..
    } = fmt;
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
    // libtiff ignores the predictor of JPEG and WebP chunks (they code pixels, not
    // differences).
    let predictor = if compression == 7 || compression == 50001 {
        1
    } else {
        predictor
    };
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
        jpeg: (compression == 7)
            .then(|| jpeg_chunks(dec, path, fmt))
            .transpose()?,
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
        bits1: fmt.bits1,
    };
    check_chunk_index(path, &codec, &grid, file_len)?;
    let kind = match chunk_type {
        ChunkType::Strip => format!("strips of {ch} rows"),
        ChunkType::Tile => format!("{cw}x{ch} tiles"),
    };
    Ok(Chunks {
        grid,
        codec,
        chunk_bytes,
        kind,
    })
}

/// The JPEGTables tag and the colour coding of a JPEG-compressed image.
fn jpeg_chunks(dec: &mut Dec, path: &Path, fmt: &PixelFormat) -> Result<JpegChunks> {
    let tables = match dec
        .find_tag(Tag::JPEGTables)
        .map_err(|e| tiff_error(path, "JPEGTables", e))?
    {
        None => None,
        Some(v) => Some(
            v.into_u8_vec()
                .map_err(|e| tiff_error(path, "JPEGTables", e))?,
        ),
    };
    let color = match (fmt.bands, fmt.ycbcr) {
        (1, _) => JpegColor::Gray,
        (_, true) => JpegColor::YCbCr,
        _ => JpegColor::Rgb,
    };
    Ok(JpegChunks { tables, color })
}

/// Checks the chunk index against the file before any chunk is read, so that a header
/// describing more pixels than its data can hold fails at once instead of after hours of
/// decompression: every chunk lies inside the file, no chunk claims to decode to more
/// than its bytes can (see [`codec::max_decoded_bytes`]), and all chunks together
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
        let most = codec::max_decoded_bytes(codec.compression, count);
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
    if codec.compression == 50001 {
        // WebP's ratio is unbounded (codec::max_decoded_bytes): the file-wide claim below
        // bounds nothing, so chunks sharing their bytes are refused outright.
        return check_disjoint(path, codec);
    }
    let most = codec::max_decoded_bytes(codec.compression, file_len);
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

/// Refuses chunks whose bytes overlap (one small stream referenced by many chunks: a
/// decompression bomb no ratio bound catches). Sparse chunks (0 bytes) are skipped.
fn check_disjoint(path: &Path, codec: &ChunkCodec) -> Result<()> {
    // Indices, not (offset, end) pairs: 4 bytes a chunk beside the index already held.
    let mut order: Vec<u32> = (0..codec.offsets.len())
        .filter(|&i| codec.byte_counts[i] > 0)
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    order.sort_unstable_by_key(|&i| codec.offsets[i as usize]);
    for pair in order.windows(2) {
        let (a, b) = (pair[0] as usize, pair[1] as usize);
        if codec.offsets[a].saturating_add(codec.byte_counts[a]) > codec.offsets[b] {
            return Err(Error::corrupt(
                path,
                format!(
                    "chunks {a} and {b} share their bytes (offsets {} and {}); satdet refuses shared WebP chunks (a decompression bomb has no size bound)",
                    codec.offsets[a], codec.offsets[b]
                ),
            ));
        }
    }
    Ok(())
}
