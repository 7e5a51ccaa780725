//! The builder, and the one resolved [`Config`] a [`Detector`] runs with.

use super::plan::{resampling_warning, MAX_TILE_PX, MIN_TILE_PX};
use super::Detector;
use crate::error::{Error, Result};
use crate::geo::Aoi;
use crate::inference::{Device, LayoutKind, LoadOptions, Model, MAX_BATCH, MAX_INPUT_SIDE};
use crate::limits::Limits;
use crate::preprocess::Preprocess;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Tiles per inference batch when none is asked for ([`DetectorBuilder::batch_size`]):
/// 2 on the CPU, 8 on CUDA and TensorRT. On the CPU, measured on an 8192 x 8192 scene
/// (256 tiles of 640 px, bundled model, 2-core VM; README "Performance"): batch 2 was
/// within 5 % of the fastest batch whether the machine favoured small batches (batch 1
/// 5.6-5.8 s, batch 8 6.4-6.6 s) or large ones (1: 8.4 s, 2: 7.1-7.3 s, 8: 6.9-7.0 s),
/// at 375 MB peak against 789 MB for batch 8. On a GPU batches keep the device busy (not
/// measured yet: `scripts/gpu_bench.sh` measures it).
pub fn default_batch(device: Device) -> usize {
    match device {
        Device::Cpu => 2,
        Device::Cuda { .. } | Device::TensorRt { .. } => 8,
    }
}

/// The bundled model's ONNX bytes, embedded in the crate so that a program built with
/// satdet finds it wherever it runs (`models/satdet-vehicles.onnx`, its card beside it).
pub const BUNDLED_MODEL: &[u8] = include_bytes!("../../models/satdet-vehicles.onnx");

/// The name the bundled model goes by in reports and messages.
pub const BUNDLED_MODEL_NAME: &str = "satdet-vehicles.onnx (bundled)";

/// The bundled model's INT8 variant (`models/satdet-vehicles-int8.onnx`: the float model
/// fine-tuned under simulated quantisation, then static QDQ calibrated on training tiles;
/// 1.7-1.8× faster on one CPU core, car AP within 0.01 of the float model, trucks and
/// excavators weaker: see the model card), embedded too.
pub const BUNDLED_MODEL_INT8: &[u8] = include_bytes!("../../models/satdet-vehicles-int8.onnx");

/// The name the INT8 bundled model goes by in reports and messages.
pub const BUNDLED_MODEL_INT8_NAME: &str = "satdet-vehicles-int8.onnx (bundled)";

#[derive(Clone)]
enum ModelChoice {
    Bundled,
    BundledInt8,
    Path(PathBuf),
    Bytes(Arc<[u8]>),
}

/// Configures a [`Detector`]. Every option has a default; see each method.
#[derive(Clone)]
pub struct DetectorBuilder {
    model: ModelChoice,
    preprocess: Preprocess,
    device: Device,
    runtime: Option<PathBuf>,
    tile_px: Option<u32>,
    overlap: f64,
    confidence: Option<f32>,
    iou: Option<f32>,
    merge_ios: f32,
    batch: Option<usize>,
    input_size: Option<u32>,
    layout: Option<LayoutKind>,
    threads: Option<usize>,
    stretch_pct: (f64, f64),
    bands: Option<Vec<u16>>,
    limits: Limits,
    scene_gsd_m: Option<f64>,
    match_gsd: bool,
    aoi: Option<Arc<Aoi>>,
    max_memory: Option<u64>,
}

impl std::fmt::Debug for DetectorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let model = match &self.model {
            ModelChoice::Bundled => BUNDLED_MODEL_NAME.to_string(),
            ModelChoice::BundledInt8 => BUNDLED_MODEL_INT8_NAME.to_string(),
            ModelChoice::Path(p) => p.display().to_string(),
            ModelChoice::Bytes(b) => format!("{} bytes in memory", b.len()),
        };
        f.debug_struct("DetectorBuilder")
            .field("model", &model)
            .field("preprocess", &self.preprocess)
            .field("device", &self.device)
            .field("tile_px", &self.tile_px)
            .field("overlap", &self.overlap)
            .field("confidence", &self.confidence)
            .field("iou", &self.iou)
            .field("batch", &self.batch)
            .field("input_size", &self.input_size)
            .field("layout", &self.layout)
            .field("aoi", &self.aoi.as_ref().map(|a| a.name()))
            .finish_non_exhaustive()
    }
}

impl Default for DetectorBuilder {
    fn default() -> Self {
        DetectorBuilder {
            model: ModelChoice::Bundled,
            preprocess: Preprocess::Cpu,
            device: Device::Cpu,
            runtime: None,
            tile_px: None,
            overlap: 0.2,
            confidence: None,
            iou: None,
            merge_ios: 0.7,
            batch: None,
            input_size: None,
            layout: None,
            threads: None,
            stretch_pct: (2.0, 98.0),
            bands: None,
            limits: Limits::default(),
            scene_gsd_m: None,
            match_gsd: true,
            aoi: None,
            max_memory: None,
        }
    }
}

/// Everything a detection run needs, resolved once at [`DetectorBuilder::build`]: the
/// options, checked, with the model's defaults filled in.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub preprocess: Preprocess,
    pub confidence: f32,
    pub iou: f32,
    pub merge_ios: f32,
    /// The tile side: explicit, else the model's input side.
    pub tile_px: u32,
    pub tile_explicit: bool,
    pub overlap: f64,
    /// Requested tiles per batch (the model's fixed batch when it has one).
    pub batch: usize,
    pub stretch_pct: (f64, f64),
    /// Band numbers (from 1, checked) fed to R, G, B (one band fed as grey is repeated);
    /// `None`: the scene's.
    pub bands: Option<[u16; 3]>,
    pub limits: Limits,
    pub scene_gsd_m: Option<f64>,
    pub match_gsd: bool,
    /// Only tiles meeting this area are read; detections centred outside it are dropped.
    pub aoi: Option<Arc<Aoi>>,
    /// The memory budget the batch is sized to ([`DetectorBuilder::max_memory`]).
    pub max_memory: Option<u64>,
}

impl DetectorBuilder {
    /// The ONNX model file (default: the bundled model, embedded in the crate).
    pub fn model(mut self, path: impl Into<PathBuf>) -> Self {
        self.model = ModelChoice::Path(path.into());
        self
    }
    /// The bundled model's INT8 variant ([`BUNDLED_MODEL_INT8`]) instead of the float one
    /// (the CLI's `--int8`): faster on CPUs, as good on cars, weaker on trucks and
    /// excavators.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// let d = satdet::Detector::builder().int8().build()?;
    /// assert_eq!(d.model_info().class_names.len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn int8(mut self) -> Self {
        self.model = ModelChoice::BundledInt8;
        self
    }
    /// An ONNX model held in memory (e.g. fetched by the program itself).
    pub fn model_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.model = ModelChoice::Bytes(Arc::from(bytes.into()));
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
    /// Tile side in scene pixels (default: the model's input size, scaled to the model's
    /// GSD; 8 to 16384). A different size is resampled bilinearly to the input size; more
    /// than 4× either way is warned about ([`Detector::warnings`]).
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
    /// Tiles per inference batch (default [`default_batch`] for the device: 2 on the CPU,
    /// 8 on CUDA and TensorRT; at most 1024; a model with a fixed batch axis sets it). Lowered, with a
    /// warning in the report, when a batch would not fit [`Limits::max_batch_bytes`].
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch = Some(n);
        self
    }
    /// The side of the square model input, for a model exported with symbolic height and
    /// width (fully convolutional; default: its `imgsz` metadata, e.g. 640). A larger input
    /// takes larger windows, so less of the scene goes through the model twice: with the
    /// same overlap in pixels (e.g. `input_size(1280)` with `overlap(0.1)`: 128 px, as 640
    /// px with 0.2) an 8192 px scene takes 49 windows of 1280 px instead of 256 of 640,
    /// 0.77 of the pixels. Tiles are still matched to the model's GSD (tile side = input
    /// side × model GSD / scene GSD). A model whose input size is fixed accepts only its
    /// own size ([`crate::Error::Config`] otherwise); a size the network cannot take fails
    /// at load, when the blank batch runs.
    pub fn input_size(mut self, px: u32) -> Self {
        self.input_size = Some(px);
        self
    }
    /// The model's output layout, when its shape and metadata fit more than one (default:
    /// worked out from them; an ambiguous model is an error naming the layouts it fits).
    /// A layout the output does not fit is an error at build.
    pub fn layout(mut self, kind: LayoutKind) -> Self {
        self.layout = Some(kind);
        self
    }
    /// onnxruntime intra-op threads, at least 1 (default [`crate::inference::default_threads`]: the
    /// physical cores this process may use).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }
    /// Percentiles of the 16-bit stretch (default 2 and 98).
    pub fn stretch_percentiles(mut self, low: f64, high: f64) -> Self {
        self.stretch_pct = (low, high);
        self
    }
    /// Which scene bands feed the model's red, green and blue inputs: three band numbers,
    /// counted from 1 as GDAL counts them (`[3, 2, 1]` for a 4-band delivery in blue,
    /// green, red, near-infrared order, as WorldView's), or one band fed as grey to all
    /// three (the CLI's `--bands`). Default: the bands the file names red, green and blue
    /// ([`crate::Scene::rgb_bands`]), else the first three (with a warning when a fourth
    /// colour band leaves the order in doubt), or a single band as grey. A band the scene
    /// lacks, or its alpha band, is an error when the scene is planned; a list that is not
    /// one or three numbers from 1, at build.
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
    /// let scene = satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?;
    /// let detector = satdet::Detector::builder()
    ///     .model(format!("{fx}square_detector.onnx"))
    ///     .bands([3, 2, 1])
    ///     .build()?;
    /// assert_eq!(detector.plan(&scene)?.bands.rgb, [3, 2, 1]);
    /// // A band the scene does not have is an error naming it.
    /// let bad = satdet::Detector::builder()
    ///     .model(format!("{fx}square_detector.onnx"))
    ///     .bands([5])
    ///     .build()?;
    /// assert!(bad.plan(&scene).unwrap_err().to_string().contains("band 5"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bands(mut self, bands: impl Into<Vec<u16>>) -> Self {
        self.bands = Some(bands.into());
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
    /// An area of interest (default: none, the whole scene): only the tiles whose window
    /// meets the area are read and run, and detections whose box centre lies outside it
    /// are dropped. The area is placed on each scene through its georeferencing (a scene
    /// without it, or with a CRS satdet cannot reproject, is an [`Error::Georef`]);
    /// [`crate::Plan::aoi`] and the report ([`crate::Report::tiles_outside_aoi`],
    /// [`crate::Report::aoi_area_km2`]) say what it kept. A line without a buffer fails
    /// [`DetectorBuilder::build`].
    ///
    /// ```
    /// # fn main() -> satdet::Result<()> {
    /// # let fx = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/generated/");
    /// // The fixture scene is 550 m × 450 m in UTM 33N; a corridor 50 m either side of
    /// // a line 100 m below its top edge (lon/lat, WGS84) keeps two rows of tiles of five.
    /// let river = r#"{"type": "LineString", "coordinates": [[14.999, 45.15258], [15.008, 45.15258]]}"#;
    /// let aoi = satdet::Aoi::from_geojson_str(river, "river.geojson")?.buffer_m(50.0)?;
    /// let scene = satdet::Scene::open(format!("{fx}utm_rgb_tiled_lzw.tif"))?;
    /// let detector = satdet::Detector::builder()
    ///     .model(format!("{fx}square_detector.onnx"))
    ///     .aoi(aoi)
    ///     .build()?;
    /// let plan = detector.plan(&scene)?;
    /// let kept = plan.aoi.expect("an area of interest");
    /// assert_eq!((kept.tiles.len(), plan.grid.len()), (12, 30));
    /// let found = detector.detect(&scene)?;
    /// assert_eq!(found.report.tiles_outside_aoi, kept.tiles_outside);
    /// # Ok(())
    /// # }
    /// ```
    pub fn aoi(mut self, aoi: Aoi) -> Self {
        self.aoi = Some(Arc::new(aoi));
        self
    }
    /// Limits on input-controlled sizes.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps a run's peak memory near `bytes`: the limits become
    /// [`Limits::for_memory`]`(bytes)` (chunk cache and detections an eighth each), and
    /// each plan lowers the batch (with a warning) so that [`Limits::BASE_BYTES`], the
    /// chunk cache, the detections and, per tile of a batch, three raw windows, two input
    /// tensors, the output and onnxruntime's working memory
    /// ([`Limits::ACTIVATION_FACTOR`] input tensors) fit; a budget too small for one
    /// tile is an [`Error::Limits`]. Call after [`DetectorBuilder::limits`]. Scenes keep
    /// their own chunk cache: open them with the same limits.
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = Some(bytes);
        self.limits = self.limits.within_memory(bytes);
        self
    }

    fn check(&self) -> Result<()> {
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
        if self.threads == Some(0) {
            return cfg(
                "threads 0: give at least one onnxruntime thread (leave it unset for the physical cores available)"
                    .into(),
            );
        }
        let batch = self.requested_batch();
        if batch == 0 || batch > MAX_BATCH {
            return cfg(format!("batch size {batch} must be in 1..={MAX_BATCH}",));
        }
        if let Some(px) = self.input_size {
            if px == 0 || px > MAX_INPUT_SIDE {
                return cfg(format!(
                    "input size {px} px must be in 1..={MAX_INPUT_SIDE}"
                ));
            }
        }
        let (lo, hi) = self.stretch_pct;
        if !((0.0..100.0).contains(&lo) && lo < hi && hi <= 100.0) {
            return cfg(format!(
                "stretch percentiles {lo}, {hi}: need 0 <= low < high <= 100"
            ));
        }
        self.rgb_bands()?;
        if let Some(g) = self.scene_gsd_m {
            if !(g.is_finite() && g > 0.0) {
                return cfg(format!(
                    "scene GSD {g} m must be a positive number of metres"
                ));
            }
        }
        if let Some(aoi) = &self.aoi {
            aoi.area()?;
        }
        if let Some(t) = self.tile_px {
            if !(MIN_TILE_PX..=MAX_TILE_PX).contains(&t) {
                return cfg(format!(
                    "tile size {t} px must be in {MIN_TILE_PX}..={MAX_TILE_PX}"
                ));
            }
        }
        Ok(())
    }

    /// The bands asked for as red, green and blue numbers (one band repeated): an error
    /// unless they are one or three numbers from 1.
    fn rgb_bands(&self) -> Result<Option<[u16; 3]>> {
        let Some(b) = &self.bands else {
            return Ok(None);
        };
        match **b {
            [g] if g > 0 => Ok(Some([g, g, g])),
            [r, g, bl] if r > 0 && g > 0 && bl > 0 => Ok(Some([r, g, bl])),
            _ => Err(Error::Config(format!(
                "bands {b:?}: give three band numbers from 1 (red, green, blue) or one (fed as grey)"
            ))),
        }
    }

    /// The batch asked for, or the device's default.
    fn requested_batch(&self) -> usize {
        self.batch.unwrap_or_else(|| default_batch(self.device))
    }

    /// Loads the model and the preprocessing backend, checking every option.
    pub fn build(self) -> Result<Detector> {
        self.check()?;
        let options = LoadOptions {
            device: self.device,
            runtime: self.runtime.clone(),
            threads: self.threads,
            max_batch_bytes: self.limits.max_batch_bytes,
            input_size: self.input_size,
            layout: self.layout,
        };
        let model = match &self.model {
            ModelChoice::Path(p) => Model::load(p, &options)?,
            ModelChoice::Bundled => {
                Model::load_bytes(Path::new(BUNDLED_MODEL_NAME), BUNDLED_MODEL, &options)?
            }
            ModelChoice::BundledInt8 => Model::load_bytes(
                Path::new(BUNDLED_MODEL_INT8_NAME),
                BUNDLED_MODEL_INT8,
                &options,
            )?,
            ModelChoice::Bytes(b) => Model::load_bytes(Path::new("model in memory"), b, &options)?,
        };
        let info = model.info().clone();
        let model_side = info.width.min(info.height);
        let tile_px = self.tile_px.unwrap_or(model_side);
        let mut warnings = info.warnings.clone();
        warnings.extend(resampling_warning(
            tile_px,
            model_side,
            "use a tile size near the model's input",
        ));
        if matches!(self.model, ModelChoice::BundledInt8) && matches!(self.device, Device::Cpu) {
            warnings.extend(int8_without_vnni_warning());
        }
        let preprocessor = crate::preprocess::backend(self.preprocess)?;
        let config = Config {
            preprocess: self.preprocess,
            confidence: self.confidence.or(info.default_conf).unwrap_or(0.25),
            iou: self.iou.or(info.default_iou).unwrap_or(0.5),
            merge_ios: self.merge_ios,
            tile_px,
            tile_explicit: self.tile_px.is_some(),
            overlap: self.overlap,
            batch: info.fixed_batch.unwrap_or_else(|| self.requested_batch()),
            stretch_pct: self.stretch_pct,
            bands: self.rgb_bands()?,
            limits: self.limits,
            scene_gsd_m: self.scene_gsd_m,
            match_gsd: self.match_gsd,
            aoi: self.aoi,
            max_memory: self.max_memory,
        };
        Ok(Detector {
            preprocess_name: preprocessor.describe(),
            config,
            warnings,
            model: Mutex::new(model),
            info,
            preprocessors: Mutex::new(vec![preprocessor]),
        })
    }
}

/// The INT8 model on an x86-64 CPU without VNNI: onnxruntime runs its exact int8 kernel
/// there (the fast one saturates), which is slower than the float model (measured:
/// `models/README.md`, "CPUs without VNNI"). `None` elsewhere.
fn int8_without_vnni_warning() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    if !std::arch::is_x86_feature_detected!("avx512vnni")
        && !std::arch::is_x86_feature_detected!("avxvnni")
    {
        return Some(
            "the INT8 model on a CPU without VNNI (AVX512-VNNI or AVX-VNNI) is slower than the float model (onnxruntime's exact int8 kernel; the fast one saturates on such CPUs): drop --int8 (DetectorBuilder::int8) here".into(),
        );
    }
    None
}
