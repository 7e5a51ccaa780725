//! The stage threads: reading windows, and preprocessing them into batches. Inference
//! and everything after it run on the calling thread (see `mod.rs`).

use crate::error::Result;
use crate::preprocess::{InputSpec, Preprocessor};
use crate::raster::{Scene, TileBuf};
use crate::tiling::{Tile, TileGrid};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

/// What the reader sends on.
pub(crate) enum ReadMsg {
    Tile(Tile, TileBuf),
    /// A tile whose every pixel is masked, by index.
    Skipped(usize),
}

/// What the preprocess stage sends to inference.
pub(crate) enum StageMsg {
    /// Tiles skipped because fully masked (their indices).
    Skipped(Vec<usize>),
    /// Preprocessed tiles: their NCHW input is the first `tiles.len()` slots of `input`.
    Batch { tiles: Vec<Tile>, input: Vec<f32> },
}

/// Fills unused batch slots (fixed-batch models) with the pad value.
pub(crate) fn pad_inputs(spec: &InputSpec, out: &mut [f32]) {
    let plane = spec.width as usize * spec.height as usize;
    for (i, chunk) in out.chunks_mut(plane).enumerate() {
        let c = i % 3;
        chunk.fill((spec.pad - spec.mean[c]) * spec.inv_std[c]);
    }
}

/// Reads the tiles of `grid` in row-major order: every tile, or only the indices in
/// `only` (ascending; the area of interest's tiles). Other tiles are never read.
pub(crate) fn read_stage(
    scene: &Scene,
    grid: &TileGrid,
    only: Option<&[usize]>,
    tx: SyncSender<ReadMsg>,
    free: Receiver<TileBuf>,
    stop: &AtomicBool,
) -> Result<(Duration, ())> {
    let mut busy = Duration::ZERO;
    let mask = scene.info().mask;
    let masked = mask.alpha_band.is_some() || mask.nodata.is_some();
    // A skipped tile's buffer is kept for the next tile, so the pool never drains.
    let mut spare: Option<TileBuf> = None;
    let indices: Box<dyn Iterator<Item = usize> + '_> = match only {
        Some(ix) => Box::new(ix.iter().copied()),
        None => Box::new(0..grid.len()),
    };
    for tile in indices.filter_map(|i| grid.tile(i)) {
        if stop.load(Ordering::Relaxed) {
            return Ok((busy, ()));
        }
        let mut buf = match spare.take() {
            Some(b) => b,
            None => match free.recv() {
                Ok(b) => b,
                Err(_) => return Ok((busy, ())),
            },
        };
        let t = Instant::now();
        scene.read_window(tile.window, &mut buf)?;
        let skip = masked && !buf.any_valid(&mask);
        busy += t.elapsed();
        let msg = if skip {
            spare = Some(buf);
            ReadMsg::Skipped(tile.index)
        } else {
            ReadMsg::Tile(tile, buf)
        };
        if tx.send(msg).is_err() {
            // Downstream stopped (an error there); it reports the error.
            return Ok((busy, ()));
        }
    }
    Ok((busy, ()))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pre_stage(
    pre: &mut dyn Preprocessor,
    spec: &InputSpec,
    scale: f32,
    batch_cap: usize,
    rx: Receiver<ReadMsg>,
    free: SyncSender<TileBuf>,
    done: Receiver<Vec<f32>>,
    tx: SyncSender<StageMsg>,
) -> Result<Duration> {
    let mut busy = Duration::ZERO;
    let mut tiles: Vec<(Tile, TileBuf)> = Vec::with_capacity(batch_cap);
    let mut skipped: Vec<usize> = Vec::new();
    let mut rx_iter = rx.iter();
    // Up to `depth` batches stay queued in the backend: the GPU computes batch N + 1
    // while batch N is read back; the CPU (depth 1) hands each batch on at once.
    let depth = pre.depth().max(1);
    pre.cancel();
    let mut queued: VecDeque<Vec<Tile>> = VecDeque::new();
    // Collects the oldest queued batch and sends it on; false when inference has stopped.
    let collect = |pre: &mut dyn Preprocessor,
                   queued: &mut VecDeque<Vec<Tile>>,
                   busy: &mut Duration|
     -> Result<bool> {
        let Some(meta) = queued.pop_front() else {
            return Ok(true);
        };
        let t = Instant::now();
        let input = pre.collect()?;
        *busy += t.elapsed();
        Ok(tx.send(StageMsg::Batch { tiles: meta, input }).is_ok())
    };
    loop {
        let msg = rx_iter.next();
        let end = msg.is_none();
        match msg {
            Some(ReadMsg::Tile(t, b)) => tiles.push((t, b)),
            Some(ReadMsg::Skipped(i)) => skipped.push(i),
            None => {}
        }
        if !skipped.is_empty()
            && (end || !tiles.is_empty() || skipped.len() >= batch_cap)
            && tx
                .send(StageMsg::Skipped(std::mem::take(&mut skipped)))
                .is_err()
        {
            pre.cancel();
            return Ok(busy);
        }
        if tiles.len() == batch_cap || (end && !tiles.is_empty()) {
            let bufs: Vec<&TileBuf> = tiles.iter().map(|(_, b)| b).collect();
            let meta: Vec<Tile> = tiles.iter().map(|(t, _)| *t).collect();
            let Ok(input) = done.recv() else {
                pre.cancel();
                return Ok(busy);
            };
            let t = Instant::now();
            let r = pre.submit(spec, &bufs, scale, input);
            busy += t.elapsed();
            if let Err(e) = r {
                pre.cancel();
                return Err(e);
            }
            for (_, b) in tiles.drain(..) {
                let _ = free.send(b);
            }
            queued.push_back(meta);
            while queued.len() >= depth {
                match collect(pre, &mut queued, &mut busy) {
                    Ok(true) => {}
                    other => {
                        pre.cancel();
                        return other.map(|_| busy);
                    }
                }
            }
        }
        if end {
            while !queued.is_empty() {
                match collect(pre, &mut queued, &mut busy) {
                    Ok(true) => {}
                    other => {
                        pre.cancel();
                        return other.map(|_| busy);
                    }
                }
            }
            pre.cancel();
            return Ok(busy);
        }
    }
}
