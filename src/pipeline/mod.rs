//! The detector: the only place that knows the stage order.
//!
//! ```text
//! reader thread ──(tile, window samples)──► preprocess thread ──(NCHW batch)──► inference
//!      ▲                                         │      ▲                           │
//!      └────────────── recycled TileBufs ────────┘      └─── recycled batch buffers ┘
//!                                                                  decode, NMS ◄──┘
//!                                   merge rows that are final, georeference, stream ◄┘
//! ```
//! Reading, preprocessing and inference overlap on bounded channels, so the image buffers
//! depend on tile size × batch × queue depth (bounded by `Limits::max_batch_bytes`), never
//! on the scene size; what grows with the scene is the list of detections (bounded by
//! `Limits::max_detection_bytes`, each tile by `Limits::max_candidates_per_tile`) and the
//! strip/tile cache (`Limits::chunk_cache_bytes`, growing to one window's strips for wide
//! stripped scenes, at most `Limits::max_window_bytes`). Results do not depend on
//! timing or on the number of threads: candidates are ranked deterministically.
//!
//! Files: `builder.rs` (options → one `Config`), `plan.rs` (tile size, grid, batch, the
//! area of interest's tiles), `stages.rs` (the threads), `completion.rs` (which tiles are
//! done), `placement.rs` (tile ↔ model input), `stream.rs` (which detections are final),
//! `georeference.rs` (pixels → map → WGS84).

mod builder;
mod completion;
mod georeference;
mod placement;
mod plan;
mod stages;
mod stream;

pub use builder::{
    default_batch, DetectorBuilder, BUNDLED_MODEL, BUNDLED_MODEL_INT8, BUNDLED_MODEL_INT8_NAME,
    BUNDLED_MODEL_NAME,
};
pub use plan::{AoiPlan, Plan, GSD_TOLERANCE, MAX_TILE_PX, MIN_TILE_PX};

use crate::detection::{Bands, Detection, Detections, Progress, Report, StageTimes};
use crate::error::{Error, Result};
use crate::inference::{decode_batch, keep_best, Model, ModelInfo, RawBox};
use crate::limits::Limits;
use crate::postprocess::{nms, rank, Candidate};
use crate::preprocess::{percentile_stretch, InputSpec, Placement, Preprocessor, Scaling};
use crate::raster::{SampleType, Scene, TileBuf};
use crate::tiling::TileGrid;
use builder::Config;
use completion::Completion;
use georeference::Georeferencer;
use stages::{pad_inputs, pre_stage, read_stage, ReadMsg, StageMsg};
use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;
use std::time::Instant;
use stream::Streamer;

/// What [`Detector::detect_with`] tells its callback while it runs. Deliberately
/// exhaustive, so a `match` with these two arms compiles: a new kind of event would be a
/// new major version.
#[derive(Debug)]
pub enum Event<'a> {
    /// Tiles done so far (after each batch and each run of skipped tiles).
    Progress(Progress),
    /// Detections that are final: no later tile can change them. The concatenation of
    /// every batch is the result of the run, if the run succeeds (a run that fails later,
    /// or is cancelled, returns an error instead of a result).
    Detections(&'a [Detection]),
}

/// A loaded detector; `detect` runs it on scenes. `Send + Sync`: threads may share one
/// detector and run scenes concurrently (inference takes the model one batch at a time;
/// each run has its own preprocessing buffers).
pub struct Detector {
    config: Config,
    info: ModelInfo,
    warnings: Vec<String>,
    preprocess_name: String,
    model: Mutex<Model>,
    /// Idle preprocessors; a run takes one (or makes one) and gives it back.
    preprocessors: Mutex<Vec<Box<dyn Preprocessor>>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("info", &self.info)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn poisoned(what: &str) -> Error {
    Error::Internal(format!(
        "the {what} lock was poisoned by a panic in another call"
    ))
}

impl Detector {
    /// A builder with every default.
    pub fn builder() -> DetectorBuilder {
        DetectorBuilder::default()
    }

    /// The model as loaded.
    pub fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    /// The preprocessing backend in use.
    pub fn preprocess_backend(&self) -> String {
        self.preprocess_name.clone()
    }

    /// The confidence threshold in use.
    pub fn confidence(&self) -> f32 {
        self.config.confidence
    }

    /// The thresholds that merge duplicates: IoU within a tile and across seams, and the
    /// intersection over the smaller box above which a cut box joins a whole one (the
    /// thresholds [`crate::job::merge_scenes`] takes across scenes).
    pub fn merge_thresholds(&self) -> (f32, f32) {
        (self.config.iou, self.config.merge_ios)
    }

    /// What to know about this detector before running it: ignored model metadata, a tile
    /// size far from the model's input. Every report repeats them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The tile grid, batch size and warnings for `scene`, checked against the limits,
    /// without reading any pixel. [`Detector::detect`] runs exactly this plan. With an
    /// area of interest ([`DetectorBuilder::aoi`]), [`Plan::aoi`] lists the only tiles
    /// that will be read; placing the area on a scene without georeferencing is an
    /// [`Error::Georef`].
    pub fn plan(&self, scene: &Scene) -> Result<Plan> {
        Ok(plan::plan(&self.config, &self.info, &self.warnings, scene)?.0)
    }

    /// The sample scaling for `scene`: `/255` for 8-bit, else a percentile stretch of up to
    /// 16 windows spread over the scene, or, with an area of interest
    /// ([`DetectorBuilder::aoi`]), over the tiles meeting it (nothing outside it is read).
    pub fn scaling_for(&self, scene: &Scene) -> Result<Scaling> {
        if self.config.aoi.is_none() || scene.info().sample == SampleType::U8 {
            return self.scaling_in(scene, None);
        }
        let plan = self.plan(scene)?;
        let kept = plan.aoi.as_ref().map(|a| (&plan.grid, a.tiles.as_slice()));
        self.scaling_in(scene, kept)
    }

    /// [`Detector::scaling_for`], sampling within `kept` tiles of a grid when given.
    fn scaling_in(&self, scene: &Scene, kept: Option<(&TileGrid, &[usize])>) -> Result<Scaling> {
        if scene.info().sample == SampleType::U8 {
            return Ok(Scaling::u8());
        }
        let mut bufs: Vec<TileBuf> = Vec::new();
        for win in plan::stretch_windows(scene.width(), scene.height(), kept) {
            if bufs.iter().any(|b| b.window() == win) {
                continue;
            }
            let mut b = TileBuf::new();
            scene.read_window(win, &mut b)?;
            bufs.push(b);
        }
        Ok(percentile_stretch(
            &bufs,
            &scene.info().mask,
            self.config.stretch_pct.0,
            self.config.stretch_pct.1,
        ))
    }

    fn input_spec(&self, scene: &Scene, scaling: Scaling, bands: Bands) -> Result<InputSpec> {
        let info = scene.info();
        // Band numbers from 1 (checked by the plan) to the preprocessors' bands from 0.
        let channels = bands.rgb.map(|b| b.saturating_sub(1));
        Ok(InputSpec {
            width: self.info.width,
            height: self.info.height,
            channels,
            scaling,
            mean: [0.0; 3],
            inv_std: [1.0; 3],
            pad: 114.0 / 255.0,
            mask: info.mask,
        })
    }

    /// Finds objects in `scene`, reading it window by window: [`Detector::detect_with`]
    /// with a callback that does nothing.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
    /// // The test fixtures: a UTM scene with 16 bright squares, and a detector for them.
    /// let scene = satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?;
    /// let detector = satdet::Detector::builder()
    ///     .model(format!("{fx}square_detector.onnx"))
    ///     .build()?;
    /// let plan = detector.plan(&scene)?; // reads no pixel
    /// assert_eq!(plan.grid.len(), 30);
    /// let found = detector.detect(&scene)?;
    /// assert_eq!(found.len(), 16);
    /// assert_eq!(found.report.tiles_skipped, 6); // all-nodata tiles are not run
    /// # Ok(())
    /// # }
    /// ```
    pub fn detect(&self, scene: &Scene) -> Result<Detections> {
        self.detect_with(scene, |_| ControlFlow::Continue(()))
    }

    /// Finds objects in `scene`, telling `on_event` the progress and handing it each batch
    /// of final detections as soon as no later tile can change them (a row of tiles is
    /// final once the next row is merged with it). Returning
    /// [`ControlFlow::Break`] stops the run within one batch: the threads are joined and
    /// the result is [`Error::Cancelled`]. The returned detections are the concatenation
    /// of the streamed batches, best score first. With an area of interest, progress
    /// counts the tiles that meet it (the only ones read), and detections whose box
    /// centre lies outside it are dropped before they are streamed.
    ///
    /// ```no_run
    /// use satdet::{Detector, Event, Scene};
    /// use std::ops::ControlFlow;
    /// # fn main() -> satdet::Result<()> {
    /// let scene = Scene::open("scene.tif")?;
    /// let detector = Detector::builder().build()?;
    /// let all = detector.detect_with(&scene, |event| {
    ///     match event {
    ///         Event::Progress(p) => eprintln!("{}/{} tiles", p.tiles_done, p.tiles_total),
    ///         Event::Detections(batch) => println!("{} final detections", batch.len()),
    ///     }
    ///     ControlFlow::Continue(())
    /// })?;
    /// # let _ = all;
    /// # Ok(())
    /// # }
    /// ```
    pub fn detect_with(
        &self,
        scene: &Scene,
        on_event: impl FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> Result<Detections> {
        self.detect_tiles(scene, TileRun::default(), |_| Ok(()), on_event)
    }

    /// [`Detector::detect_with`] on part of the plan, the building block of resumable
    /// runs and of shards (the CLI's journal, `--shard` and `merge`): reads only
    /// `run.tiles` (every planned tile when `None`), takes the tiles of `run.done` as
    /// already done (not read; their candidates are merged with the new ones), and hands
    /// `on_tile` each tile's outcome (its candidates after in-tile NMS, or that it was
    /// all nodata) before it is merged; an error from `on_tile` ends the run. Tiles of the
    /// plan in neither set count as done with nothing found. Seam merging is
    /// order-independent, so the detections of any partition of the plan's tiles into
    /// runs, merged by a last call with every outcome in `run.done` and no tile to read,
    /// are exactly those of one [`Detector::detect`].
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
    /// use satdet::pipeline::TileRun;
    /// use std::ops::ControlFlow;
    /// let scene = satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?;
    /// let detector = satdet::Detector::builder()
    ///     .model(format!("{fx}square_detector.onnx"))
    ///     .build()?;
    /// let n = detector.plan(&scene)?.grid.len();
    /// // Two halves of the grid, each in its own run (two processes, two machines…).
    /// let mut outcomes = Vec::new();
    /// for part in [(0..n / 2).collect::<Vec<_>>(), (n / 2..n).collect()] {
    ///     let run = TileRun { tiles: Some(part), done: Vec::new() };
    ///     detector.detect_tiles(&scene, run, |t| Ok(outcomes.push(t.clone())), |_| ControlFlow::Continue(()))?;
    /// }
    /// // Merging every outcome reads nothing and gives exactly one whole run's result.
    /// let merged = detector.detect_tiles(
    ///     &scene,
    ///     TileRun { tiles: Some(Vec::new()), done: outcomes },
    ///     |_| Ok(()),
    ///     |_| ControlFlow::Continue(()),
    /// )?;
    /// assert_eq!(merged.items, detector.detect(&scene)?.items);
    /// # Ok(())
    /// # }
    /// ```
    pub fn detect_tiles(
        &self,
        scene: &Scene,
        run: TileRun,
        mut on_tile: impl FnMut(&TileOutcome) -> Result<()>,
        mut on_event: impl FnMut(Event<'_>) -> ControlFlow<()>,
    ) -> Result<Detections> {
        let t0 = Instant::now();
        let mut times = StageTimes::default();
        let (
            Plan {
                grid,
                batch: batch_cap,
                mut warnings,
                gsd,
                aoi,
                bands,
                ..
            },
            area,
        ) = plan::plan(&self.config, &self.info, &self.warnings, scene)?;
        // The tiles to read: the area of interest's (`None`: every tile), limited to those
        // asked for, less those already done.
        let planned: Option<&[usize]> = aoi.as_ref().map(|a| a.tiles.as_slice());
        let selected = select_tiles(&grid, planned, &run, scene)?;
        let only = selected.as_deref();
        let tile_px = grid.tile_px();
        let overlap_px = grid.overlap_px();
        let stride = f64::from(tile_px - overlap_px);
        let scene_size = (scene.width(), scene.height());
        let limits = &self.config.limits;
        let per_tile_cap = usize::try_from(limits.max_candidates_per_tile).unwrap_or(usize::MAX);
        let max_candidates = limits.max_detection_bytes / Limits::BYTES_PER_DETECTION;
        let mut capped: u64 = 0;
        let mut capped_tiles: u64 = 0;

        let ts = Instant::now();
        let scaling = self.scaling_in(scene, only.map(|ix| (&grid, ix)))?;
        times.stretch = ts.elapsed();
        let spec = self.input_spec(scene, scaling, bands)?;
        let placement = Placement::new(self.info.width.min(self.info.height), tile_px);

        let mut pre: Box<dyn Preprocessor> = match self
            .preprocessors
            .lock()
            .map_err(|_| poisoned("preprocessor pool"))?
            .pop()
        {
            Some(p) => p,
            None => crate::preprocess::backend(self.config.preprocess)?,
        };
        let pre_name = pre.describe();
        let input_len = spec.input_len();
        // Progress counts the tiles to read; the report, the whole grid.
        let total = only.map_or(grid.len(), <[usize]>::len);
        let cols = grid.cols() as usize;
        let mut done = Completion::new(grid.len(), only);
        let mut resumed = 0usize;
        let mut dropped_outside = 0usize;
        let mut streamer =
            Streamer::new(f64::from(self.config.iou), f64::from(self.config.merge_ios));
        let mut geo = Georeferencer::new(scene.georef(), scene.path(), &mut warnings);
        let mut items: Vec<Detection> = Vec::new();
        for t in run.done {
            resumed += 1;
            if t.skipped {
                done.skipped += 1;
            } else {
                done.processed += 1;
            }
            streamer.push(t.candidates);
        }
        let mut rows_final = 0usize;
        let mut emitted = 0usize;
        let stop = AtomicBool::new(false);
        // Whether the preprocess stage ended without an error of its own (a GPU failure
        // there is sticky, whatever error won the run).
        let mut pre_sound = false;

        let run = std::thread::scope(|s| -> Result<()> {
            let (tile_tx, tile_rx) = sync_channel::<ReadMsg>(batch_cap * 2);
            let (free_tx, free_rx) = sync_channel::<TileBuf>(batch_cap * 3);
            let (batch_tx, batch_rx) = sync_channel::<StageMsg>(1);
            let (done_tx, done_rx) = sync_channel::<Vec<f32>>(pre.depth().max(1) + 1);
            for _ in 0..batch_cap * 3 {
                free_tx
                    .send(TileBuf::new())
                    .map_err(|_| Error::Internal("a stage channel closed early".into()))?;
            }
            // One input buffer per batch the backend may hold, plus the one at inference.
            let buffers = pre.depth().max(1) + 1;
            for _ in 0..buffers {
                done_tx
                    .send(vec![0.0; batch_cap * input_len])
                    .map_err(|_| Error::Internal("a stage channel closed early".into()))?;
            }
            let stop_ref = &stop;
            let grid_ref = &grid;
            let reader =
                s.spawn(move || read_stage(scene, grid_ref, only, tile_tx, free_rx, stop_ref));

            let spec_ref = &spec;
            let pre_ref: &mut dyn Preprocessor = &mut *pre;
            let scale = placement.scale_f32();
            let preproc = s.spawn(move || {
                pre_stage(
                    pre_ref, spec_ref, scale, batch_cap, tile_rx, free_tx, done_rx, batch_tx,
                )
            });

            let mut out = Vec::new();
            let mut raw: Vec<RawBox> = Vec::new();
            let result = (|| -> Result<()> {
                if total == 0 {
                    // Nothing to read (nothing meets the area of interest, or every tile
                    // is done already): the run is done before it starts.
                    let flow = on_event(Event::Progress(Progress {
                        tiles_done: 0,
                        tiles_skipped: 0,
                        tiles_total: 0,
                        candidates: 0,
                    }));
                    if flow.is_break() {
                        return Err(Error::Cancelled);
                    }
                }
                // `None` after the last message: the tiles done before the run (`run.done`)
                // may complete rows that no message of this run completes.
                for msg in batch_rx.iter().map(Some).chain(std::iter::once(None)) {
                    let last = msg.is_none();
                    match msg {
                        None => {}
                        Some(StageMsg::Skipped(indices)) => {
                            done.skipped += indices.len();
                            for i in indices {
                                on_tile(&TileOutcome {
                                    tile: i,
                                    skipped: true,
                                    candidates: Vec::new(),
                                })?;
                                done.mark(i);
                            }
                        }
                        Some(StageMsg::Batch { tiles, mut input }) => {
                            let n = tiles.len();
                            let run_n = self.info.fixed_batch.unwrap_or(n);
                            if run_n > n {
                                pad_inputs(&spec, &mut input[n * input_len..run_n * input_len]);
                            }
                            let ti = Instant::now();
                            // The model is locked for one batch, so other runs interleave.
                            let shape = self.model.lock().map_err(|_| poisoned("model"))?.run(
                                &input[..run_n * input_len],
                                run_n,
                                &mut out,
                            )?;
                            times.inference += ti.elapsed();
                            let tp = Instant::now();
                            for (b, tile) in tiles.iter().enumerate() {
                                raw.clear();
                                decode_batch(
                                    self.info.layout,
                                    &out,
                                    shape,
                                    b,
                                    self.config.confidence,
                                    &mut raw,
                                )
                                .map_err(|e| e.with_model_path(&self.info.path))?;
                                let dropped = keep_best(&mut raw, per_tile_cap) as u64;
                                if dropped > 0 {
                                    capped += dropped;
                                    capped_tiles += 1;
                                }
                                let per_tile: Vec<Candidate> = raw
                                    .iter()
                                    .filter_map(|r| {
                                        placement::candidate(placement, r, tile, scene_size)
                                    })
                                    .collect();
                                let outcome = TileOutcome {
                                    tile: tile.index,
                                    skipped: false,
                                    candidates: nms(per_tile, f64::from(self.config.iou)),
                                };
                                on_tile(&outcome)?;
                                streamer.push(outcome.candidates);
                                done.mark(tile.index);
                            }
                            done.processed += n;
                            let held = (streamer.pending() + items.len()) as u64;
                            if held > max_candidates {
                                return Err(Error::Limits {
                                    context: format!(
                                        "{}: {held} candidate detections after {} of {total} tiles, at {} bytes each",
                                        scene.path().display(),
                                        done.processed + done.skipped,
                                        Limits::BYTES_PER_DETECTION
                                    ),
                                    what: "detection bytes (Limits::max_detection_bytes)",
                                    found: held.saturating_mul(Limits::BYTES_PER_DETECTION),
                                    limit: limits.max_detection_bytes,
                                });
                            }
                            times.postprocess += tp.elapsed();
                            // Give the buffer back; the preprocess stage may have finished.
                            let _ = done_tx.send(input);
                        }
                    }
                    let flow = if last {
                        ControlFlow::Continue(())
                    } else {
                        on_event(Event::Progress(Progress {
                            tiles_done: (done.processed + done.skipped).saturating_sub(resumed),
                            tiles_skipped: done.skipped,
                            tiles_total: total,
                            candidates: streamer.pending() + items.len(),
                        }))
                    };
                    if flow.is_break() {
                        return Err(Error::Cancelled);
                    }
                    // Rows whose every tile is done, and the rows after them not yet.
                    let rows_done = done.frontier / cols;
                    if rows_done > rows_final {
                        rows_final = rows_done;
                        let tp = Instant::now();
                        let future_y0 = if rows_done >= grid.rows() as usize {
                            f64::INFINITY
                        } else {
                            rows_done as f64 * stride
                        };
                        let mut fresh = streamer.finalize(future_y0);
                        if let Some(a) = &area {
                            // Merged first, so a box is judged by its final centre.
                            let before = fresh.len();
                            fresh.retain(|c| a.contains(c.center()));
                            dropped_outside += before - fresh.len();
                        }
                        items.extend(fresh.into_iter().map(|c| {
                            let name = self.info.class_name(c.class_id);
                            geo.detection(c, name)
                        }));
                        times.postprocess += tp.elapsed();
                        if items.len() > emitted {
                            let flow = on_event(Event::Detections(&items[emitted..]));
                            emitted = items.len();
                            if flow.is_break() {
                                return Err(Error::Cancelled);
                            }
                        }
                    }
                }
                Ok(())
            })();
            // Stop the reader at its next tile and unblock every channel.
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            drop(batch_rx);
            drop(done_tx);
            let read_res = reader
                .join()
                .map_err(|_| Error::Internal("the reader thread panicked".into()))?;
            let pre_res = preproc
                .join()
                .map_err(|_| Error::Internal("the preprocess thread panicked".into()))?;
            pre_sound = pre_res.is_ok();
            // The first real error wins; a closed channel downstream of an error is not one.
            result?;
            let (read_time, _) = read_res?;
            times.read = read_time;
            times.preprocess = pre_res?;
            Ok(())
        });
        // The preprocessor goes back to the pool (nothing queued in it), unless it failed
        // (a lost device, a timed-out wait) or a thread panicked: the next run makes a new
        // one.
        pre.cancel();
        if pre_sound && !matches!(run, Err(Error::Gpu(_) | Error::Internal(_))) {
            if let Ok(mut pool) = self.preprocessors.lock() {
                pool.push(pre);
            }
        }
        run?;
        // The message that completed the last row finalized everything (future_y0 = ∞).
        if streamer.pending() > 0 || emitted != items.len() {
            return Err(Error::Internal(format!(
                "{} detections still held after the last tile",
                streamer.pending() + items.len() - emitted
            )));
        }
        geo.finish(scene.path(), &mut warnings);
        if capped > 0 {
            warnings.push(format!(
                "{}: {capped} candidate box(es) in {capped_tiles} tile(s) were over Limits::max_candidates_per_tile = {} and dropped before NMS (the lowest scores); the model fires far more than objects can fill a tile: check the confidence threshold and the model",
                scene.path().display(),
                limits.max_candidates_per_tile
            ));
        }
        // Best score first, whatever order the rows finished in.
        items.sort_unstable_by(rank_detections);
        times.total = t0.elapsed();
        let georef = scene.georef();
        Ok(Detections {
            items,
            scene: scene.path().to_path_buf(),
            crs: georef.map(|g| g.crs.clone()),
            acquired: scene.acquired().map(str::to_owned),
            report: Report {
                tiles_total: grid.len(),
                tiles_processed: done.processed,
                tiles_skipped: done.skipped,
                tiles_resumed: resumed,
                tiles_outside_aoi: aoi.as_ref().map_or(0, |a| a.tiles_outside),
                detections_outside_aoi: dropped_outside,
                aoi_area_km2: aoi.as_ref().map(|a| a.area_km2),
                tile_px,
                overlap_px,
                gsd,
                preprocess: pre_name,
                provider: self.info.provider.to_string(),
                runtime: self.info.runtime.clone(),
                model: self.info.path.clone(),
                candidates_capped: capped,
                scaling,
                bands,
                confidence: self.config.confidence,
                iou: self.config.iou,
                area_km2: scene.area_km2(),
                times,
                warnings,
            },
        })
    }
}

/// The candidates' order ([`rank`]) on detections.
fn rank_detections(a: &Detection, b: &Detection) -> std::cmp::Ordering {
    let c = |d: &Detection| Candidate {
        bbox: d.pixel_box,
        oriented: d.oriented,
        score: d.score,
        class_id: d.class_id,
        tile: 0,
        clipped: false,
    };
    rank(&c(a), &c(b))
}

/// What one tile of a run gave ([`Detector::detect_tiles`]): its candidates after in-tile
/// NMS, in scene pixels, or that it held no valid pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct TileOutcome {
    /// The tile's index in the plan's grid.
    pub tile: usize,
    /// The tile was all nodata (or masked) and not run.
    pub skipped: bool,
    /// The tile's boxes after in-tile NMS, best first (empty when skipped).
    pub candidates: Vec<Candidate>,
}

/// Which tiles a [`Detector::detect_tiles`] call reads, and which are done already.
#[derive(Debug, Clone, Default)]
pub struct TileRun {
    /// The tiles to read, as indices of the plan's grid, each a tile the plan reads (with
    /// an area of interest, one meeting it); `None`: every tile the plan reads, less those
    /// in `done`.
    pub tiles: Option<Vec<usize>>,
    /// Tiles done by earlier runs (a journal, other shards): merged, not read.
    pub done: Vec<TileOutcome>,
}

/// The tiles a run reads, `None` for every tile of the grid; checks `run` against the plan.
fn select_tiles(
    grid: &TileGrid,
    planned: Option<&[usize]>,
    run: &TileRun,
    scene: &Scene,
) -> Result<Option<Vec<usize>>> {
    let n = grid.len();
    let bad = |what: String| Error::Config(format!("{}: {what}", scene.path().display()));
    let mut in_plan = vec![planned.is_none(); n];
    for &i in planned.unwrap_or(&[]) {
        if let Some(p) = in_plan.get_mut(i) {
            *p = true;
        }
    }
    let mut state = vec![0u8; n]; // 1: done before, 2: to read
    for t in &run.done {
        match state.get_mut(t.tile) {
            None => {
                return Err(bad(format!(
                    "done tile {} is not in the grid of {n} tiles",
                    t.tile
                )))
            }
            Some(s) if *s != 0 => return Err(bad(format!("tile {} is done twice", t.tile))),
            Some(s) => *s = 1,
        }
    }
    if run.done.is_empty() && run.tiles.is_none() {
        return Ok(planned.map(<[usize]>::to_vec));
    }
    let wanted: Vec<usize> = match &run.tiles {
        Some(t) => t.clone(),
        None => (0..n).filter(|&i| in_plan[i]).collect(),
    };
    let mut out = Vec::with_capacity(wanted.len());
    for i in wanted {
        if !in_plan.get(i).copied().unwrap_or(false) {
            return Err(bad(format!(
                "tile {i} is not one the plan reads ({n} tiles in the grid)"
            )));
        }
        match state[i] {
            0 => {
                state[i] = 2;
                out.push(i);
            }
            1 if run.tiles.is_none() => {}
            1 => return Err(bad(format!("tile {i} is both done and to be read"))),
            _ => return Err(bad(format!("tile {i} is asked for twice"))),
        }
    }
    // Read in grid order, whatever order they were asked in (the reader streams rows).
    out.sort_unstable();
    Ok(Some(out))
}
