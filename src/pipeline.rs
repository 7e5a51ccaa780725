//! The detector: the only place that knows the stage order.
//!
//! ```text
//! reader thread ──(tile, window samples)──► preprocess thread ──(NCHW batch)──► inference
//!      ▲                                         │      ▲                           │
//!      └────────────── recycled TileBufs ────────┘      └─── recycled batch buffers ┘
//! ```
//! Reading, preprocessing and inference overlap on bounded channels, so the image buffers
//! depend on tile size × batch × queue depth (bounded by `Limits::max_batch_bytes`), never
//! on the scene size; what grows with the scene is the list of candidate boxes (bounded by
//! `Limits::max_detection_bytes`, each tile by `Limits::max_candidates_per_tile`) and the
//! strip/tile cache (`Limits::chunk_cache_bytes`, growing to one window's strips for wide
//! stripped scenes, at most `Limits::max_window_bytes`). Results do not depend on
//! timing: candidates are ranked deterministically before merging.

use crate::detection::{Detection, Detections, GsdMatch, Progress, Report, StageTimes};
use crate::geo::{PixelBox, ToWgs84};
use crate::inference::{
    decode_batch, input_tensor_bytes, keep_best, Device, Model, ModelInfo, RawBox, MAX_BATCH,
};
use crate::postprocess::{merge_tiles, nms, Candidate};
use crate::preprocess::{percentile_stretch, InputSpec, Preprocess, Preprocessor, Scaling};
use crate::raster::{SampleType, Scene, TileBuf, Window};
use crate::tiling::{Tile, TileGrid};
use crate::{Error, Limits, Result};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bundled model, used when the builder names none.
pub fn bundled_model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/satdet-vehicles.onnx")
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Configures a [`Detector`]. Every option has a default; see each method.
#[derive(Clone)]
pub struct DetectorBuilder {
    model: Option<PathBuf>,
    preprocess: Preprocess,
    device: Device,
    runtime: Option<PathBuf>,
    tile_px: Option<u32>,
    overlap: f64,
    confidence: Option<f32>,
    iou: Option<f32>,
    merge_ios: f32,
    batch: usize,
    threads: Option<usize>,
    stretch_pct: (f64, f64),
    limits: Limits,
    progress: Option<ProgressFn>,
    scene_gsd_m: Option<f64>,
    match_gsd: bool,
}

impl std::fmt::Debug for DetectorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectorBuilder")
            .field("model", &self.model)
            .field("preprocess", &self.preprocess)
            .field("device", &self.device)
            .field("tile_px", &self.tile_px)
            .field("overlap", &self.overlap)
            .field("confidence", &self.confidence)
            .field("iou", &self.iou)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Default for DetectorBuilder {
    fn default() -> Self {
        DetectorBuilder {
            model: None,
            preprocess: Preprocess::Cpu,
            device: Device::Cpu,
            runtime: None,
            tile_px: None,
            overlap: 0.2,
            confidence: None,
            iou: None,
            merge_ios: 0.7,
            batch: 8,
            threads: None,
            stretch_pct: (2.0, 98.0),
            limits: Limits::default(),
            progress: None,
            scene_gsd_m: None,
            match_gsd: true,
        }
    }
}

impl DetectorBuilder {
    /// The ONNX model (default: the bundled `models/satdet-vehicles.onnx`).
    pub fn model(mut self, path: impl Into<PathBuf>) -> Self {
        self.model = Some(path.into());
        self
    }
    /// The preprocessing backend (default: [`Preprocess::Cpu`]).
    pub fn preprocess(mut self, p: Preprocess) -> Self {
        self.preprocess = p;
        self
    }
    /// Where inference runs (default: [`Device::Cpu`]).
    pub fn device(mut self, d: Device) -> Self {
        self.device = d;
        self
    }
    /// The onnxruntime library (file or folder), tried before the search order.
    pub fn onnxruntime(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime = Some(path.into());
        self
    }
    /// Tile side in scene pixels (default: the model's input size; 8 to 16384). A different
    /// size is resampled bilinearly to the input size; more than 4× either way is warned
    /// about ([`Detector::warnings`]).
    pub fn tile_size(mut self, px: u32) -> Self {
        self.tile_px = Some(px);
        self
    }
    /// Overlap between neighbouring tiles as a fraction of the tile (default 0.2).
    pub fn overlap(mut self, fraction: f64) -> Self {
        self.overlap = fraction;
        self
    }
    /// Minimum confidence (default: the model's `conf` metadata, else 0.25).
    pub fn confidence(mut self, c: f32) -> Self {
        self.confidence = Some(c);
        self
    }
    /// IoU above which boxes of one class are duplicates (default: the model's `iou`
    /// metadata, else 0.5).
    pub fn iou(mut self, iou: f32) -> Self {
        self.iou = Some(iou);
        self
    }
    /// Intersection over the smaller box above which boxes from different tiles are one
    /// object cut by a seam (default 0.7).
    pub fn merge_ios(mut self, ios: f32) -> Self {
        self.merge_ios = ios;
        self
    }
    /// Tiles per inference batch (default 8, at most 1024; a model with a fixed batch axis
    /// sets it). Lowered, with a warning in the report, when a batch would not fit
    /// [`Limits::max_batch_bytes`].
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }
    /// onnxruntime intra-op threads (default: onnxruntime's choice, all cores).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }
    /// Percentiles of the 16-bit stretch (default 2 and 98).
    pub fn stretch_percentiles(mut self, low: f64, high: f64) -> Self {
        self.stretch_pct = (low, high);
        self
    }
    /// The scene's ground sample distance in metres per pixel, overriding the one computed
    /// from its georeferencing (for a scene without georeferencing, or whose georeferencing
    /// is wrong).
    pub fn scene_gsd(mut self, gsd_m: f64) -> Self {
        self.scene_gsd_m = Some(gsd_m);
        self
    }
    /// Whether tiles are resampled so that objects reach the model at the GSD it was
    /// trained for (its `gsd_m` metadata; default true). With a scene at 0.15 m and a model
    /// at 0.3 m, tiles of twice the input side are read and halved. An explicit
    /// [`DetectorBuilder::tile_size`] turns it off.
    pub fn match_gsd(mut self, on: bool) -> Self {
        self.match_gsd = on;
        self
    }
    /// Limits on input-controlled sizes.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// A callback called as tiles finish.
    pub fn progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Loads the model and the preprocessing backend, checking every option.
    pub fn build(self) -> Result<Detector> {
        let cfg = |m: String| Err(Error::Config(m));
        if !(0.0..0.9).contains(&self.overlap) {
            return cfg(format!("overlap {} must be in [0, 0.9)", self.overlap));
        }
        for (name, v) in [
            ("confidence", self.confidence),
            ("iou", self.iou),
            ("merge_ios", Some(self.merge_ios)),
        ] {
            if let Some(v) = v {
                if !(v > 0.0 && v <= 1.0) {
                    return cfg(format!("{name} {v} must be in (0, 1]"));
                }
            }
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return cfg(format!(
                "batch size {} must be in 1..={MAX_BATCH}",
                self.batch
            ));
        }
        let (lo, hi) = self.stretch_pct;
        if !((0.0..100.0).contains(&lo) && lo < hi && hi <= 100.0) {
            return cfg(format!(
                "stretch percentiles {lo}, {hi}: need 0 <= low < high <= 100"
            ));
        }
        if let Some(g) = self.scene_gsd_m {
            if !(g.is_finite() && g > 0.0) {
                return cfg(format!(
                    "scene GSD {g} m must be a positive number of metres"
                ));
            }
        }
        if let Some(t) = self.tile_px {
            if !(MIN_TILE_PX..=MAX_TILE_PX).contains(&t) {
                return cfg(format!(
                    "tile size {t} px must be in {MIN_TILE_PX}..={MAX_TILE_PX}"
                ));
            }
        }
        let model_path = self.model.clone().unwrap_or_else(bundled_model_path);
        if self.model.is_none() && !model_path.is_file() {
            return cfg(format!(
                "no model given and the bundled model {} is missing",
                model_path.display()
            ));
        }
        let model = Model::load(
            &model_path,
            self.device,
            self.runtime.as_deref(),
            self.threads,
            self.limits.max_batch_bytes,
        )?;
        let info = model.info().clone();
        let batch = info.fixed_batch.unwrap_or(self.batch);
        let tile_px = self.tile_px.unwrap_or(info.width.min(info.height));
        let mut warnings = info.warnings.clone();
        let model_side = info.width.min(info.height);
        warnings.extend(resampling_warning(
            tile_px,
            model_side,
            "use a tile size near the model's input",
        ));
        let preprocessor = make_preprocessor(self.preprocess)?;
        Ok(Detector {
            confidence: self.confidence.or(info.default_conf).unwrap_or(0.25),
            iou: self.iou.or(info.default_iou).unwrap_or(0.5),
            tile_px,
            tile_explicit: self.tile_px.is_some(),
            batch,
            warnings,
            model: Mutex::new(model),
            info,
            preprocessor: Mutex::new(preprocessor),
            opts: self,
        })
    }
}

/// Smallest and largest tile side accepted, in scene pixels.
pub const MIN_TILE_PX: u32 = 8;
/// Largest tile side accepted, in scene pixels.
pub const MAX_TILE_PX: u32 = 16_384;
/// Resampling between tile and model input beyond this factor (either way) is warned
/// about.
const MAX_RESAMPLING: f64 = 4.0;
/// A grid of more tiles than this is warned about (usually a tile size far too small).
const MANY_TILES: usize = 100_000;

/// The warning for a tile resampled more than [`MAX_RESAMPLING`] times either way.
fn resampling_warning(tile_px: u32, model_side: u32, advice: &str) -> Option<String> {
    let factor = f64::from(model_side) / f64::from(tile_px);
    if (1.0 / MAX_RESAMPLING..=MAX_RESAMPLING).contains(&factor) {
        return None;
    }
    let (dir, f, rel) = if factor > 1.0 {
        ("up", factor, "larger")
    } else {
        ("down", 1.0 / factor, "smaller")
    };
    Some(format!(
        "tile {tile_px} px is resampled {dir} {f:.1}x to the model's {model_side} px input: objects reach the model {f:.1}x {rel} than the scene shows them, far from the scale it was made for, and results will be poor ({advice})"
    ))
}

/// What [`Detector::plan`] works out for a scene before reading it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// The tile grid.
    pub grid: TileGrid,
    /// Tiles per batch actually used (the requested size, lowered to fit
    /// [`Limits::max_batch_bytes`]).
    pub batch: usize,
    /// Bytes of one batch in flight (input and output tensors and raw windows).
    pub batch_bytes: u64,
    /// The tile size chosen and why.
    pub gsd: GsdMatch,
    /// Things to know before the run: the detector's warnings, then the scene's, then the
    /// plan's own (batch lowered, a very large number of tiles).
    pub warnings: Vec<String>,
}

fn make_preprocessor(p: Preprocess) -> Result<Box<dyn Preprocessor>> {
    crate::preprocess::backend(p)
}

/// A loaded detector; `detect` runs it on scenes. Cheap to share across scenes; calls on
/// one detector run one at a time.
pub struct Detector {
    opts: DetectorBuilder,
    info: ModelInfo,
    confidence: f32,
    iou: f32,
    tile_px: u32,
    tile_explicit: bool,
    batch: usize,
    warnings: Vec<String>,
    model: Mutex<Model>,
    preprocessor: Mutex<Box<dyn Preprocessor>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("info", &self.info)
            .field("confidence", &self.confidence)
            .field("iou", &self.iou)
            .field("tile_px", &self.tile_px)
            .finish_non_exhaustive()
    }
}

enum ReadMsg {
    Tile(Tile, TileBuf),
    Skipped,
}

/// What the preprocess stage sends to inference.
enum StageMsg {
    /// Tiles skipped because fully masked, counted for progress.
    Skipped(usize),
    /// Preprocessed tiles: their NCHW input is the first `tiles.len()` slots of `input`.
    Batch { tiles: Vec<Tile>, input: Vec<f32> },
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
        self.preprocessor
            .lock()
            .map(|p| p.describe())
            .unwrap_or_else(|_| "unavailable".into())
    }

    /// What to know about this detector before running it: ignored model metadata, a tile
    /// size far from the model's input. Every report repeats them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The tile grid, batch size and warnings for `scene`, checked against the limits,
    /// without reading any pixel. [`Detector::detect`] runs exactly this plan.
    pub fn plan(&self, scene: &Scene) -> Result<Plan> {
        let ctx = || scene.path().display().to_string();
        let mut warnings = self.warnings.clone();
        warnings.extend(scene.warnings().iter().cloned());
        let (tile_px, gsd) = self.tile_for(scene, &mut warnings);
        let overlap_px = (f64::from(tile_px) * self.opts.overlap).round() as u32;
        let grid = TileGrid::new(scene.width(), scene.height(), tile_px, overlap_px)?;
        // Raw samples of one tile window; every factor is bounded, the product is checked.
        let window_bytes = [
            u64::from(tile_px),
            u64::from(scene.info().bands),
            scene.info().sample.bytes() as u64,
        ]
        .into_iter()
        .fold(u64::from(tile_px), u64::saturating_mul);
        let limits = &self.opts.limits;
        Limits::check(
            ctx,
            "one tile window in bytes",
            window_bytes,
            limits.max_window_bytes,
        )?;
        let per_tile = input_tensor_bytes(1, self.info.width, self.info.height)
            .saturating_add((self.info.output_floats_per_image as u64).saturating_mul(4))
            .saturating_add(window_bytes);
        let fits = (limits.max_batch_bytes / per_tile.max(1)) as usize;
        let batch = match self.info.fixed_batch {
            Some(fixed) => {
                Limits::check(
                    || format!("{} with the model's fixed batch of {fixed}", ctx()),
                    "batch bytes (Limits::max_batch_bytes)",
                    per_tile.saturating_mul(fixed as u64),
                    limits.max_batch_bytes,
                )?;
                fixed
            }
            None if fits == 0 => {
                return Err(Error::Limits {
                    context: format!(
                        "{}: one {}x{} model input, its output and one {} px tile window",
                        ctx(),
                        self.info.width,
                        self.info.height,
                        tile_px
                    ),
                    what: "batch bytes (Limits::max_batch_bytes)",
                    found: per_tile,
                    limit: limits.max_batch_bytes,
                })
            }
            None if fits < self.batch => {
                warnings.push(format!(
                    "batch lowered from {} to {fits} tiles: {} bytes per tile (model input, output and window) and Limits::max_batch_bytes = {}",
                    self.batch, per_tile, limits.max_batch_bytes
                ));
                fits
            }
            None => self.batch,
        };
        if grid.len() > MANY_TILES {
            warnings.push(format!(
                "{}: {} tiles of {} px ({}x{} scene): a long run; a tile size near the model's {} px input needs fewer",
                ctx(),
                grid.len(),
                tile_px,
                scene.width(),
                scene.height(),
                self.info.width.min(self.info.height)
            ));
        }
        Ok(Plan {
            grid,
            batch,
            batch_bytes: per_tile.saturating_mul(batch as u64),
            gsd,
            warnings,
        })
    }

    /// The tile side for `scene`: the explicit one, else the model's input side scaled by
    /// model GSD / scene GSD (when both are known and matching is on), so that objects
    /// reach the model at the GSD it was trained for.
    fn tile_for(&self, scene: &Scene, warnings: &mut Vec<String>) -> (u32, GsdMatch) {
        let model_side = self.info.width.min(self.info.height);
        let centre = crate::geo::PixelPoint {
            x: f64::from(scene.width()) / 2.0,
            y: f64::from(scene.height()) / 2.0,
        };
        let computed = scene
            .georef()
            .filter(|g| !matches!(g.crs, crate::geo::Crs::Unknown(_)))
            .map(|g| crate::geo::gsd_m(g, centre, 100.0));
        let scene_m = match (self.opts.scene_gsd_m, computed) {
            (Some(g), _) => Some(g),
            (None, Some(Ok(g))) if g.is_finite() && g > 0.0 => Some(g),
            (None, Some(Ok(g))) => {
                warnings.push(format!(
                    "{}: ground sample distance {g} m is not usable",
                    scene.path().display()
                ));
                None
            }
            (None, Some(Err(e))) => {
                warnings.push(format!(
                    "{}: ground sample distance unknown: {e}",
                    scene.path().display()
                ));
                None
            }
            (None, None) => None,
        };
        let model_m = self.info.gsd_m;
        let unmatched = |tile_px: u32| GsdMatch {
            scene_m,
            model_m,
            scale: f64::from(model_side) / f64::from(tile_px),
            matched: false,
        };
        if self.tile_explicit || !self.opts.match_gsd {
            return (self.tile_px, unmatched(self.tile_px));
        }
        let (Some(s), Some(range)) = (scene_m, model_m) else {
            if model_m.is_some() {
                warnings.push(format!(
                    "{}: the scene's ground sample distance is unknown (no usable georeferencing), so tiles are not resampled to the model's {}; give it with --gsd / DetectorBuilder::scene_gsd",
                    scene.path().display(),
                    model_m.map(|m| m.to_string()).unwrap_or_default()
                ));
            }
            return (self.tile_px, unmatched(self.tile_px));
        };
        let want = f64::from(model_side) * range.nearest(s) / s;
        let tile_px = want
            .round()
            .clamp(f64::from(MIN_TILE_PX), f64::from(MAX_TILE_PX)) as u32;
        if f64::from(tile_px) != want.round() {
            warnings.push(format!(
                "{}: matching the scene's {s:.3} m GSD to the model's {range} needs {want:.0} px tiles; using {tile_px} px, the nearest allowed",
                scene.path().display()
            ));
        }
        warnings.extend(resampling_warning(
            tile_px,
            model_side,
            &format!("the scene's {s:.3} m GSD is far from the model's {range}"),
        ));
        (
            tile_px,
            GsdMatch {
                scene_m,
                model_m,
                scale: f64::from(model_side) / f64::from(tile_px),
                matched: true,
            },
        )
    }

    /// The confidence threshold in use.
    pub fn confidence(&self) -> f32 {
        self.confidence
    }

    /// The sample scaling for `scene`: `/255` for 8-bit, else a percentile stretch of up to
    /// 16 windows spread over the scene.
    pub fn scaling_for(&self, scene: &Scene) -> Result<Scaling> {
        if scene.info().sample == SampleType::U8 {
            return Ok(Scaling::u8());
        }
        let (w, h) = (scene.width(), scene.height());
        let (sw, sh) = (w.min(512), h.min(512));
        let mut bufs = Vec::new();
        for j in 0..4u32 {
            for i in 0..4u32 {
                let x = ((u64::from(w - sw) * u64::from(2 * i + 1)) / 8) as u32;
                let y = ((u64::from(h - sh) * u64::from(2 * j + 1)) / 8) as u32;
                let win = Window::new(x, y, sw, sh);
                if bufs.iter().any(|b: &TileBuf| b.window() == win) {
                    continue;
                }
                let mut b = TileBuf::new();
                scene.read_window(win, &mut b)?;
                bufs.push(b);
            }
        }
        Ok(percentile_stretch(
            &bufs,
            &scene.info().mask,
            self.opts.stretch_pct.0,
            self.opts.stretch_pct.1,
        ))
    }

    fn input_spec(&self, scene: &Scene, scaling: Scaling) -> Result<InputSpec> {
        let info = scene.info();
        let channels = match info.color_bands() {
            1 => [0, 0, 0],
            3 | 4 => [0, 1, 2],
            n => {
                return Err(Error::unsupported(
                    scene.path(),
                    format!("{n} colour bands: satdet feeds 1 (panchromatic) or 3+ (RGB) bands"),
                ));
            }
        };
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

    /// Finds objects in `scene`, reading it window by window.
    pub fn detect(&self, scene: &Scene) -> Result<Detections> {
        let t0 = Instant::now();
        let mut times = StageTimes::default();
        let Plan {
            grid,
            batch: batch_cap,
            mut warnings,
            gsd,
            ..
        } = self.plan(scene)?;
        let tile_px = grid.tile_px();
        let overlap_px = grid.overlap_px();
        let scene_size = (scene.width(), scene.height());
        let limits = &self.opts.limits;
        let per_tile_cap = usize::try_from(limits.max_candidates_per_tile).unwrap_or(usize::MAX);
        let max_candidates = limits.max_detection_bytes / Limits::BYTES_PER_DETECTION;
        let mut capped: u64 = 0;
        let mut capped_tiles: u64 = 0;

        let ts = Instant::now();
        let scaling = self.scaling_for(scene)?;
        times.stretch = ts.elapsed();
        let spec = self.input_spec(scene, scaling)?;
        let scale = self.info.width.min(self.info.height) as f32 / tile_px as f32;

        let mut model = self
            .model
            .lock()
            .map_err(|_| Error::Config("the model panicked in an earlier call".into()))?;
        let mut pre = self
            .preprocessor
            .lock()
            .map_err(|_| Error::Config("the preprocessor panicked in an earlier call".into()))?;
        let pre_name = pre.describe();
        let input_len = spec.input_len();
        let total = grid.len();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut processed = 0usize;
        let mut skipped = 0usize;

        std::thread::scope(|s| -> Result<()> {
            let (tile_tx, tile_rx) = sync_channel::<ReadMsg>(batch_cap * 2);
            let (free_tx, free_rx) = sync_channel::<TileBuf>(batch_cap * 3);
            let (batch_tx, batch_rx) = sync_channel::<StageMsg>(1);
            let (done_tx, done_rx) = sync_channel::<Vec<f32>>(2);
            for _ in 0..batch_cap * 3 {
                free_tx
                    .send(TileBuf::new())
                    .map_err(|_| Error::Config("internal channel closed".into()))?;
            }
            for _ in 0..2 {
                done_tx
                    .send(vec![0.0; batch_cap * input_len])
                    .map_err(|_| Error::Config("internal channel closed".into()))?;
            }
            let reader = s.spawn(|| read_stage(scene, &grid, tile_tx, free_rx));
            let spec_ref = &spec;
            let pre_ref: &mut dyn Preprocessor = &mut **pre;
            let preproc = s.spawn(move || {
                pre_stage(
                    pre_ref, spec_ref, scale, batch_cap, tile_rx, free_tx, done_rx, batch_tx,
                )
            });

            let mut out = Vec::new();
            let mut raw: Vec<RawBox> = Vec::new();
            let result = (|| -> Result<()> {
                for msg in batch_rx.iter() {
                    match msg {
                        StageMsg::Skipped(k) => {
                            skipped += k;
                            self.report_progress(
                                processed + skipped,
                                skipped,
                                total,
                                candidates.len(),
                            );
                        }
                        StageMsg::Batch { tiles, mut input } => {
                            let n = tiles.len();
                            let run_n = self.info.fixed_batch.unwrap_or(n);
                            if run_n > n {
                                pad_inputs(&spec, &mut input[n * input_len..run_n * input_len]);
                            }
                            let ti = Instant::now();
                            let shape = model.run(&input[..run_n * input_len], run_n, &mut out)?;
                            times.inference += ti.elapsed();
                            let tp = Instant::now();
                            for (b, tile) in tiles.iter().enumerate() {
                                raw.clear();
                                decode_batch(
                                    self.info.layout,
                                    &out,
                                    shape,
                                    b,
                                    self.confidence,
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
                                    .filter_map(|r| to_scene(r, tile, scale, scene_size))
                                    .collect();
                                candidates.extend(nms(per_tile, f64::from(self.iou)));
                            }
                            if candidates.len() as u64 > max_candidates {
                                return Err(Error::Limits {
                                    context: format!(
                                        "{}: {} candidate detections after {} of {total} tiles, at {} bytes each",
                                        scene.path().display(),
                                        candidates.len(),
                                        processed + n,
                                        Limits::BYTES_PER_DETECTION
                                    ),
                                    what: "detection bytes (Limits::max_detection_bytes)",
                                    found: (candidates.len() as u64)
                                        .saturating_mul(Limits::BYTES_PER_DETECTION),
                                    limit: limits.max_detection_bytes,
                                });
                            }
                            times.postprocess += tp.elapsed();
                            processed += n;
                            self.report_progress(
                                processed + skipped,
                                skipped,
                                total,
                                candidates.len(),
                            );
                            // Give the buffer back; the preprocess stage may have finished.
                            let _ = done_tx.send(input);
                        }
                    }
                }
                Ok(())
            })();
            drop(batch_rx);
            drop(done_tx);
            let read_res = reader
                .join()
                .map_err(|_| Error::Config("the reader thread panicked".into()))?;
            let pre_res = preproc
                .join()
                .map_err(|_| Error::Config("the preprocess thread panicked".into()))?;
            // The first real error wins; a closed channel downstream of an error is not one.
            result?;
            let (read_time, _) = read_res?;
            let pre_time = pre_res?;
            times.read = read_time;
            times.preprocess = pre_time;
            Ok(())
        })?;

        let tp = Instant::now();
        let merged = merge_tiles(
            candidates,
            f64::from(self.iou),
            f64::from(self.opts.merge_ios),
        );
        if capped > 0 {
            warnings.push(format!(
                "{}: {capped} candidate box(es) in {capped_tiles} tile(s) were over Limits::max_candidates_per_tile = {} and dropped before NMS (the lowest scores); the model fires far more than objects can fill a tile: check the confidence threshold and the model",
                scene.path().display(),
                limits.max_candidates_per_tile
            ));
        }
        let georef = scene.georef();
        let to_wgs84 = match georef {
            // Scene::open has already warned about an unusable CRS.
            Some(g) if matches!(g.crs, crate::geo::Crs::Unknown(_)) => None,
            Some(g) => match ToWgs84::new(&g.crs) {
                Ok(t) => Some(t),
                Err(e) => {
                    warnings.push(format!(
                        "{}: {e}; lon/lat polygons omitted",
                        scene.path().display()
                    ));
                    None
                }
            },
            None => None,
        };
        let mut items = Vec::with_capacity(merged.len());
        let mut failed_lonlat = 0usize;
        let mut first_failure = String::new();
        for c in merged {
            let map_polygon = georef.map(|g| g.map_polygon(&c.bbox));
            // A box the projection cannot invert (e.g. far outside its zone) keeps its map
            // polygon; only its lon/lat is omitted, and the report says so.
            let lonlat_polygon = match (&to_wgs84, &map_polygon) {
                (Some(t), Some(m)) => match t.polygon(m) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        if failed_lonlat == 0 {
                            first_failure = e.to_string();
                        }
                        failed_lonlat += 1;
                        None
                    }
                },
                _ => None,
            };
            items.push(Detection {
                class_id: c.class_id,
                class_name: model.class_name(c.class_id),
                score: c.score,
                pixel_box: c.bbox,
                map_polygon,
                lonlat_polygon,
            });
        }
        if failed_lonlat > 0 {
            warnings.push(format!(
                "{}: {failed_lonlat} detection(s) could not be reprojected to WGS84 and have no lon/lat polygon (first: {first_failure})",
                scene.path().display()
            ));
        }
        times.postprocess += tp.elapsed();
        times.total = t0.elapsed();
        Ok(Detections {
            items,
            scene: scene.path().to_path_buf(),
            crs: georef.map(|g| g.crs.clone()),
            report: Report {
                tiles_total: total,
                tiles_processed: processed,
                tiles_skipped: skipped,
                tile_px,
                gsd,
                overlap_px,
                preprocess: pre_name,
                provider: self.info.provider,
                runtime: self.info.runtime.clone(),
                model: self.info.path.clone(),
                candidates_capped: capped,
                scaling,
                area_km2: scene.area_km2(),
                times,
                warnings,
            },
        })
    }

    fn report_progress(&self, done: usize, skipped: usize, total: usize, candidates: usize) {
        if let Some(f) = &self.opts.progress {
            f(&Progress {
                tiles_done: done,
                tiles_skipped: skipped,
                tiles_total: total,
                candidates,
            });
        }
    }
}

/// Maps a box from model-input pixels to scene pixels, clipped to the tile's window, and
/// marks it `clipped` when it reaches (within 2 scene pixels) a tile edge that lies inside
/// the `scene_size` scene, where the object may continue in the next tile.
fn to_scene(r: &RawBox, tile: &Tile, scale: f32, scene_size: (u32, u32)) -> Option<Candidate> {
    let w = tile.window;
    let inv = 1.0 / f64::from(scale);
    let (x0, y0) = (f64::from(w.x), f64::from(w.y));
    let (xe, ye) = (w.x_end() as f64, w.y_end() as f64);
    let bx0 = (x0 + f64::from(r.x0) * inv).clamp(x0, xe);
    let by0 = (y0 + f64::from(r.y0) * inv).clamp(y0, ye);
    let bx1 = (x0 + f64::from(r.x1) * inv).clamp(x0, xe);
    let by1 = (y0 + f64::from(r.y1) * inv).clamp(y0, ye);
    const EDGE: f64 = 2.0;
    let clipped = (w.x > 0 && bx0 <= x0 + EDGE)
        || (w.y > 0 && by0 <= y0 + EDGE)
        || (w.x_end() < u64::from(scene_size.0) && bx1 >= xe - EDGE)
        || (w.y_end() < u64::from(scene_size.1) && by1 >= ye - EDGE);
    (bx1 > bx0 && by1 > by0).then(|| Candidate {
        bbox: PixelBox::new(bx0, by0, bx1, by1),
        score: r.score,
        class_id: r.class_id,
        tile: tile.index,
        clipped,
    })
}

/// Fills unused batch slots (fixed-batch models) with the pad value.
fn pad_inputs(spec: &InputSpec, out: &mut [f32]) {
    let plane = spec.width as usize * spec.height as usize;
    for (i, chunk) in out.chunks_mut(plane).enumerate() {
        let c = i % 3;
        chunk.fill((spec.pad - spec.mean[c]) * spec.inv_std[c]);
    }
}

fn read_stage(
    scene: &Scene,
    grid: &TileGrid,
    tx: SyncSender<ReadMsg>,
    free: Receiver<TileBuf>,
) -> Result<(Duration, ())> {
    let mut busy = Duration::ZERO;
    let mask = scene.info().mask;
    let masked = mask.alpha_band.is_some() || mask.nodata.is_some();
    // A skipped tile's buffer is kept for the next tile, so the pool never drains.
    let mut spare: Option<TileBuf> = None;
    for tile in grid.iter() {
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
            ReadMsg::Skipped
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
fn pre_stage(
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
    let mut skipped = 0usize;
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
            Some(ReadMsg::Skipped) => skipped += 1,
            None => {}
        }
        if skipped > 0 && (end || !tiles.is_empty() || skipped >= batch_cap) {
            if tx.send(StageMsg::Skipped(skipped)).is_err() {
                pre.cancel();
                return Ok(busy);
            }
            skipped = 0;
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
