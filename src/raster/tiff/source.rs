//! Window assembly: a window is put together from the chunks (strips or tiles) it
//! touches; decoded chunks are kept in a byte-bounded cache so that overlapping
//! neighbouring windows do not decode the same chunk twice. The chunks a window misses
//! are read together in one batch of byte ranges (fetched concurrently from object
//! storage), batches bounded in bytes.

use super::cache::{Chunk, ChunkCache, CHUNK_OVERHEAD_BYTES};
use super::codec::{self, ChunkCodec, ChunkGrid};
use super::{jpeg, webp};
use crate::error::{Error, Result};
use crate::raster::bytes::{ByteSource, HeaderBlocks};
use crate::raster::{
    BandLayout, RasterInfo, SampleType, Samples, SamplesMut, TileBuf, Window, WindowSource,
};
use bytes::Bytes;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Compressed bytes of one batch of chunk reads at most (unless one chunk alone is
/// more), below [`crate::Limits::max_window_bytes`] when that is lower: a window of wide
/// strips is read in several batches rather than all at once.
pub(super) const BATCH_BYTES: u64 = 64 << 20;

/// A TIFF being read: its chunk layout and index, and (locked) the cache.
pub(super) struct TiffSource {
    pub(super) path: PathBuf,
    pub(super) info: RasterInfo,
    pub(super) grid: ChunkGrid,
    pub(super) codec: ChunkCodec,
    /// Bytes of one decoded strip/tile (of one plane when planar).
    pub(super) chunk_bytes: u64,
    /// Compressed bytes of one batch of chunk reads at most.
    pub(super) batch_bytes: u64,
    /// The decoded chunks: one window is assembled at a time.
    pub(super) state: Mutex<TiffState>,
    /// Chunks decoded so far (cache misses), shared with the scene
    /// ([`crate::Scene::chunks_decoded`]).
    pub(super) decoded: Arc<AtomicU64>,
}

pub(super) struct TiffState {
    /// Where the bytes come from: a file or an object in a store.
    pub(super) src: Arc<dyn ByteSource>,
    /// The blocks read while opening, which may hold the first chunks.
    pub(super) header: HeaderBlocks,
    pub(super) cache: ChunkCache,
}

/// What reading chunk `idx` takes: nothing (sparse), or these bytes of the file.
enum Stored {
    Sparse,
    Bytes(Range<u64>),
}

impl TiffSource {
    /// Decoded bytes of chunk `idx` as stored (padding included).
    fn out_len(&self, idx: u32) -> usize {
        self.grid.stored_bytes(idx) as usize
    }

    /// Where chunk `idx` lies in the file, its byte count capped at what decoding can use.
    fn stored(&self, idx: u32) -> Result<Stored> {
        let codec = &self.codec;
        let i = idx as usize;
        let out_len = self.out_len(idx) as u64;
        let (Some(&off), Some(&count)) = (codec.offsets.get(i), codec.byte_counts.get(i)) else {
            return Err(Error::corrupt(&self.path, format!("no chunk {idx}")));
        };
        if count == 0 {
            return Ok(Stored::Sparse);
        }
        // A compressed chunk larger than a few times its decoded size is not believable.
        if count > out_len.saturating_mul(4).max(4096) {
            return Err(Error::corrupt(
                &self.path,
                format!("chunk {idx}: byte count {count} for {out_len} decoded bytes"),
            ));
        }
        // A valid stream needs at most ~1.5 × the decoded size (LZW's 12-bit codes for
        // single bytes; Deflate and PackBits expand less): bytes past that cannot be
        // needed to fill the chunk, so they are not read (nor allocated).
        // JPEG and WebP at the highest qualities can exceed that; they stay under the 4x
        // above.
        let cap = if codec.is_image_codec() {
            out_len.saturating_mul(4).max(4096)
        } else {
            out_len.saturating_mul(3) / 2 + 4096
        };
        // Inside the file: checked against its length when the index was read.
        Ok(Stored::Bytes(off..off + count.min(cap)))
    }

    /// Decodes chunk `idx` from its compressed bytes (`None`: sparse): decompression,
    /// predictor, byte order.
    fn decode_chunk(&self, idx: u32, compressed: Option<&[u8]>) -> Result<Chunk> {
        let codec = &self.codec;
        let grid = &self.grid;
        let (width, height) = grid.data_size(idx);
        let (stored_w, stored_h) = grid.stored_size(idx);
        let row_samples = stored_w as usize * grid.spp;
        let out_len = self.out_len(idx);
        let bad = |detail: String| Error::corrupt(&self.path, format!("chunk {idx}: {detail}"));
        let Some(compressed) = compressed else {
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
        };
        let mut raw = vec![0u8; out_len];
        match &codec.jpeg {
            Some(j) => jpeg::decode(
                j.tables.as_deref(),
                compressed,
                j.color,
                (stored_w, stored_h),
                (stored_w.max(grid.chunk_w), stored_h.max(grid.chunk_h)),
                &mut raw,
            ),
            None if codec.compression == 50001 => webp::decode(
                compressed,
                grid.spp,
                (stored_w, stored_h),
                (stored_w.max(grid.chunk_w), stored_h.max(grid.chunk_h)),
                &mut raw,
            ),
            None => codec::decompress(codec.compression, compressed, &mut raw),
        }
        .map_err(bad)?;
        if grid.bits1 {
            return Ok(Chunk {
                samples: Samples::U8(codec::expand_bits(
                    &raw,
                    stored_w as usize,
                    stored_h as usize,
                )),
                width,
                height,
                row_stride: row_samples,
            });
        }
        let samples = codec::to_samples(
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

    /// Reads the compressed bytes of `missing` chunks in batches of at most
    /// `batch_bytes`, decodes each, hands it to `put` and caches it.
    fn load_missing(
        &self,
        state: &mut TiffState,
        missing: &[u32],
        put: &mut dyn FnMut(u32, &Chunk) -> Result<()>,
    ) -> Result<()> {
        let mut rest = missing;
        while !rest.is_empty() {
            // The next batch: chunks until the byte budget is spent (one at least).
            let mut ranges: Vec<(u32, Stored)> = Vec::new();
            let mut bytes = 0u64;
            for &idx in rest {
                let s = self.stored(idx)?;
                let n = match &s {
                    Stored::Sparse => 0,
                    Stored::Bytes(r) => r.end - r.start,
                };
                if !ranges.is_empty() && bytes.saturating_add(n) > self.batch_bytes {
                    break;
                }
                bytes = bytes.saturating_add(n);
                ranges.push((idx, s));
            }
            rest = &rest[ranges.len()..];
            let (mut want, mut wanted_at) = (Vec::new(), Vec::new());
            let mut got: Vec<Option<Bytes>> = vec![None; ranges.len()];
            for (k, (_, s)) in ranges.iter().enumerate() {
                if let Stored::Bytes(r) = s {
                    match state.header.get(r) {
                        Some(b) => got[k] = Some(b),
                        None => {
                            want.push(r.clone());
                            wanted_at.push(k);
                        }
                    }
                }
            }
            let fetched = state.src.read_ranges(&want)?;
            for (k, b) in wanted_at.into_iter().zip(fetched) {
                got[k] = Some(b);
            }
            for ((idx, _), b) in ranges.iter().zip(got) {
                let chunk = self.decode_chunk(*idx, b.as_deref())?;
                self.decoded.fetch_add(1, Ordering::Relaxed);
                put(*idx, &chunk)?;
                state.cache.insert(*idx, chunk);
            }
        }
        Ok(())
    }

    /// Copies the part of chunk `idx` (at chunk column `cx`, row `cy`, band plane
    /// `plane`) that lies in `win` into `buf`.
    fn copy_chunk(
        &self,
        (idx, plane, cx, cy): (u32, u16, u32, u32),
        chunk: &Chunk,
        win: Window,
        spp: usize,
        buf: &mut TileBuf,
    ) -> Result<()> {
        let win_w = win.width as usize;
        let plane_len = win.pixels() as usize;
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
            let dst = plane_off + ((y - win.y) as usize * win_w + (x0 - win.x) as usize) * spp;
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
        Ok(())
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
        // Chunks in the cache are copied now; the others are read in one batch, copied
        // as they are decoded (so a cache smaller than the window never loses one).
        let mut missing = Vec::new();
        let mut at = std::collections::HashMap::new();
        for plane in 0..planes {
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let idx = u32::from(plane) * per_plane + cy * self.grid.across + cx;
                    match state.cache.map.get(&idx) {
                        Some(chunk) => {
                            self.copy_chunk((idx, plane, cx, cy), chunk, win, spp, buf)?
                        }
                        None => {
                            missing.push(idx);
                            at.insert(idx, (plane, cx, cy));
                        }
                    }
                }
            }
        }
        self.load_missing(state, &missing, &mut |idx, chunk| {
            let Some(&(plane, cx, cy)) = at.get(&idx) else {
                return Err(Error::Internal(format!("chunk {idx} was not asked for")));
            };
            self.copy_chunk((idx, plane, cx, cy), chunk, win, spp, buf)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ifd::open_source;
    use super::{WindowSource, CHUNK_OVERHEAD_BYTES};
    use crate::limits::Limits;
    use crate::raster::bytes::{BlockReader, FileBytes};
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
        let bytes = std::sync::Arc::new(FileBytes::open(&path).unwrap());
        let src = open_source(BlockReader::new(bytes), &limits)
            .unwrap()
            .source;
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
            src.decoded.load(std::sync::atomic::Ordering::Relaxed),
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
        let bytes = std::sync::Arc::new(FileBytes::open(&path).unwrap());
        let src = open_source(BlockReader::new(bytes), &limits)
            .unwrap()
            .source;
        let info = src.info.clone();
        let win = Window::new(0, 0, 256, h);
        let mut buf = TileBuf::new();
        buf.reset(win, info.bands, info.sample, info.layout);
        src.read_window(win, &mut buf).unwrap();
        src.read_window(win, &mut buf).unwrap();
        let state = src.state.lock().unwrap();
        assert_eq!(state.cache.budget, 3 * strip_bytes);
        assert!(state.cache.bytes <= 3 * strip_bytes);
        // The second read decodes again only the strips the cache lost: the last two of
        // the first read are still there (three strips' bytes hold two strips with
        // their bookkeeping), and are copied before the others are decoded.
        assert_eq!(
            src.decoded.load(std::sync::atomic::Ordering::Relaxed),
            2 * strips - 2
        );
    }
}
