//! Window assembly: a window is put together from the chunks (strips or tiles) it
//! touches; decoded chunks are kept in a byte-bounded cache so that overlapping
//! neighbouring windows do not decode the same chunk twice.

use super::cache::{Chunk, ChunkCache, CHUNK_OVERHEAD_BYTES};
use super::codec::{self, ChunkCodec, ChunkGrid};
use super::{jpeg, webp, Dec};
use crate::error::{Error, Result};
use crate::raster::{
    BandLayout, RasterInfo, SampleType, Samples, SamplesMut, TileBuf, Window, WindowSource,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A TIFF being read: its chunk layout and index, and (locked) the file and cache.
pub(super) struct TiffSource {
    pub(super) path: PathBuf,
    pub(super) info: RasterInfo,
    pub(super) grid: ChunkGrid,
    pub(super) codec: ChunkCodec,
    /// Bytes of one decoded strip/tile (of one plane when planar).
    pub(super) chunk_bytes: u64,
    /// The file and the decoded chunks: one window is assembled at a time.
    pub(super) state: Mutex<TiffState>,
    /// Chunks decoded so far (cache misses), shared with the scene
    /// ([`crate::Scene::chunks_decoded`]).
    pub(super) decoded: Arc<AtomicU64>,
}

pub(super) struct TiffState {
    pub(super) dec: Dec,
    pub(super) cache: ChunkCache,
}

impl TiffSource {
    fn load(&self, state: &mut TiffState, idx: u32) -> Result<()> {
        if state.cache.map.contains_key(&idx) {
            return Ok(());
        }
        let c = self.decode_chunk(&mut state.dec, idx)?;
        self.decoded.fetch_add(1, Ordering::Relaxed);
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
        // JPEG and WebP at the highest qualities can exceed that; they stay under the 4x
        // above.
        let cap = if codec.is_image_codec() {
            (out_len as u64).saturating_mul(4).max(4096)
        } else {
            (out_len as u64).saturating_mul(3) / 2 + 4096
        };
        let count = count.min(cap);
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
        match &codec.jpeg {
            Some(j) => jpeg::decode(
                j.tables.as_deref(),
                &compressed,
                j.color,
                (stored_w, stored_h),
                (stored_w.max(grid.chunk_w), stored_h.max(grid.chunk_h)),
                &mut raw,
            ),
            None if codec.compression == 50001 => webp::decode(
                &compressed,
                grid.spp,
                (stored_w, stored_h),
                (stored_w.max(grid.chunk_w), stored_h.max(grid.chunk_h)),
                &mut raw,
            ),
            None => codec::decompress(codec.compression, &compressed, &mut raw),
        }
        .map_err(bad)?;
        drop(compressed);
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
    use super::super::ifd::open_source;
    use super::{WindowSource, CHUNK_OVERHEAD_BYTES};
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
        let src = open_source(&path, &limits).unwrap().source;
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
        let src = open_source(&path, &limits).unwrap().source;
        let info = src.info.clone();
        let win = Window::new(0, 0, 256, h);
        let mut buf = TileBuf::new();
        buf.reset(win, info.bands, info.sample, info.layout);
        src.read_window(win, &mut buf).unwrap();
        src.read_window(win, &mut buf).unwrap();
        let state = src.state.lock().unwrap();
        assert_eq!(state.cache.budget, 3 * strip_bytes);
        assert!(state.cache.bytes <= 3 * strip_bytes);
        assert_eq!(
            src.decoded.load(std::sync::atomic::Ordering::Relaxed),
            2 * strips
        );
    }
}
