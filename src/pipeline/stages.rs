//! The stage threads: reading windows, and preprocessing them into batches. Inference
//! and everything after it run on the calling thread (see `mod.rs`).

use crate::error::Result;
use crate::preprocess::{InputSpec, Preprocessor};
use crate::raster::{Scene, TileBuf};
use crate::tiling::{Tile, TileGrid};
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

pub(crate) fn read_stage(
    scene: &Scene,
    grid: &TileGrid,
    tx: SyncSender<ReadMsg>,
    free: Receiver<TileBuf>,
    stop: &AtomicBool,
) -> Result<(Duration, ())> {
    let mut busy = Duration::ZERO;
    let mask = scene.info().mask;
    let masked = mask.alpha_band.is_some() || mask.nodata.is_some();
    // A skipped tile's buffer is kept for the next tile, so the pool never drains.
    let mut spare: Option<TileBuf> = None;
    for tile in grid.iter() {
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
        let skip = masked && buf.valid_pixels(&mask) == 0;
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
    // A pipelined backend (the GPU) keeps one batch queued: batch N + 1 is queued before
    // batch N is collected, so the device computes one while the host reads back the other.
    let pipelined = pre.pipelined();
    pre.cancel();
    let mut queued: Option<Vec<Tile>> = None;
    // Collects the queued batch into a free input buffer and sends it on; false when the
    // inference stage has stopped.
    let collect =
        |pre: &mut dyn Preprocessor, meta: Vec<Tile>, busy: &mut Duration| -> Result<bool> {
            let Ok(mut input) = done.recv() else {
                return Ok(false);
            };
            let t = Instant::now();
            pre.end(&mut input[..meta.len() * spec.input_len()])?;
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
            let n = bufs.len();
            let meta: Vec<Tile> = tiles.iter().map(|(t, _)| *t).collect();
            if pipelined {
                let t = Instant::now();
                let r = pre.begin(spec, &bufs, scale);
                busy += t.elapsed();
                if let Err(e) = r {
                    pre.cancel();
                    return Err(e);
                }
                for (_, b) in tiles.drain(..) {
                    let _ = free.send(b);
                }
                if let Some(prev) = queued.replace(meta) {
                    match collect(pre, prev, &mut busy) {
                        Ok(true) => {}
                        other => {
                            pre.cancel();
                            return other.map(|_| busy);
                        }
                    }
                }
            } else {
                let Ok(mut input) = done.recv() else {
                    return Ok(busy);
                };
                let t = Instant::now();
                pre.run(spec, &bufs, scale, &mut input[..n * spec.input_len()])?;
                busy += t.elapsed();
                for (_, b) in tiles.drain(..) {
                    let _ = free.send(b);
                }
                if tx.send(StageMsg::Batch { tiles: meta, input }).is_err() {
                    return Ok(busy);
                }
            }
        }
        if end {
            if let Some(prev) = queued.take() {
                let r = collect(pre, prev, &mut busy);
                pre.cancel();
                r?;
            }
            return Ok(busy);
        }
    }
}
