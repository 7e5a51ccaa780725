//! Loading a detector and checking its contract at load, not halfway through a scene.

use super::layout::{detect_layout, Layout, LayoutHints, LayoutKind};
use super::session::environment;
use crate::error::{Error, Result};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where inference runs. Never chosen for the user: CPU unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Device {
    /// onnxruntime's CPU execution provider.
    #[default]
    Cpu,
    /// The CUDA execution provider (needs the `cuda` feature and onnxruntime-gpu); an
    /// error, never a silent CPU fallback, when it cannot be registered.
    Cuda {
        /// CUDA device index.
        device_id: i32,
    },
    /// The TensorRT execution provider, with CUDA for the nodes TensorRT does not take
    /// (needs the `tensorrt` feature, onnxruntime-gpu built with TensorRT and the TensorRT
    /// libraries); an error, never a fallback, when either cannot be registered. The
    /// first run with a model and batch shape builds TensorRT engines (seconds to
    /// minutes) and caches them in [`crate::inference::tensorrt_cache_dir`] (the
    /// `SATDET_TENSORRT_CACHE` folder when set).
    TensorRt {
        /// CUDA device index.
        device_id: i32,
    },
}

/// What a model was found to be at load.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// The onnxruntime library in use.
    pub runtime: PathBuf,
    /// The execution provider in use (`CPU`, `CUDA` or `TensorRT`).
    pub provider: &'static str,
    /// Input tensor name.
    pub input_name: String,
    /// Input width in pixels.
    pub width: u32,
    /// Input height in pixels.
    pub height: u32,
    /// The batch size the model requires, when its batch axis is fixed.
    pub fixed_batch: Option<usize>,
    /// Output layout.
    pub layout: Layout,
    /// Class names from the metadata (`names`), else `class_0…`.
    pub class_names: Vec<Arc<str>>,
    /// The metadata's suggested confidence threshold (`conf`).
    pub default_conf: Option<f32>,
    /// The metadata's suggested NMS IoU threshold (`iou`).
    pub default_iou: Option<f32>,
    /// The ground sample distances the model was trained for (`gsd_m` metadata), in
    /// metres per pixel; `None` when the model does not say (or says it unreadably: then
    /// with a warning).
    pub gsd_m: Option<GsdRange>,
    /// float32 values of the first output per image (learnt from the blank batch at load).
    pub output_floats_per_image: usize,
    /// Metadata that was ignored, and why (each names the model file).
    pub warnings: Vec<String>,
}

impl ModelInfo {
    /// Name of class `id` (`class_<id>` past the known names).
    pub fn class_name(&self, id: u32) -> Arc<str> {
        self.class_names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(format!("class_{id}")))
    }
}

/// A range of ground sample distances in metres per pixel, `min_m <= max_m`, both
/// positive and finite (one value: `min_m == max_m`).
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GsdRange {
    /// Finest GSD, m/px.
    pub min_m: f64,
    /// Coarsest GSD, m/px.
    pub max_m: f64,
}

impl GsdRange {
    /// Parses `0.4`, `0.3-0.5`, `0.3..0.5` or `[0.3, 0.5]` (metres per pixel).
    pub fn parse(s: &str) -> Option<GsdRange> {
        let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
        let parts: Vec<&str> = if inner.contains(',') {
            inner.split(',').collect()
        } else if inner.contains("..") {
            inner.split("..").collect()
        } else {
            // A '-' between two numbers: not the first character (a refused negative) and
            // not an exponent's sign (`3e-1`).
            let t = inner.trim();
            let b = t.as_bytes();
            match (1..b.len()).find(|&i| b[i] == b'-' && !matches!(b[i - 1], b'e' | b'E')) {
                Some(i) => vec![&t[..i], &t[i + 1..]],
                None => vec![t],
            }
        };
        let v: Vec<f64> = parts
            .iter()
            .map(|t| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
            })
            .collect::<Option<_>>()?;
        let (min_m, max_m) = match v[..] {
            [g] => (g, g),
            [a, b] if a <= b => (a, b),
            _ => return None,
        };
        Some(GsdRange { min_m, max_m })
    }

    /// The GSD in the range nearest to `gsd_m` (never panics, even on a range built by
    /// hand with `min_m > max_m` or NaN: then `gsd_m` bounded by what is usable).
    pub fn nearest(&self, gsd_m: f64) -> f64 {
        gsd_m.max(self.min_m).min(self.max_m)
    }
}

impl std::fmt::Display for GsdRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min_m == self.max_m {
            write!(f, "{} m", self.min_m)
        } else {
            write!(f, "{}-{} m", self.min_m, self.max_m)
        }
    }
}

/// Largest model input side satdet accepts, in pixels.
pub const MAX_INPUT_SIDE: u32 = 16_384;
/// Largest batch satdet runs (and largest fixed batch axis it accepts).
pub const MAX_BATCH: usize = 1_024;

/// Bytes of a float32 `[n, 3, height, width]` input tensor (saturating: a product that
/// does not fit in u64 is over every limit anyway).
pub fn input_tensor_bytes(n: usize, width: u32, height: u32) -> u64 {
    [3, u64::from(width), u64::from(height), 4]
        .into_iter()
        .fold(n as u64, u64::saturating_mul)
}

/// The detector metadata satdet reads (ONNX `metadata_props`), parsed and checked.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Metadata {
    /// `imgsz`: `(height, width)`, from `[h, w]`, `[s]` or `s`.
    pub imgsz: Option<(u32, u32)>,
    /// `names`: class names in index order.
    pub names: Option<Vec<String>>,
    /// `end2end`: whether the model does its own NMS.
    pub end2end: Option<bool>,
    /// `task: obb`: an oriented-box model (YOLO-OBB), decoded as [`Layout::Obb`].
    pub oriented: bool,
    /// `conf`: the suggested confidence, when it is a number in (0, 1].
    pub default_conf: Option<f32>,
    /// `iou`: the suggested NMS IoU, when it is a number in (0, 1].
    pub default_iou: Option<f32>,
    /// `gsd_m`: the training GSD (or range) in metres per pixel.
    pub gsd_m: Option<GsdRange>,
    /// What was ignored, and why.
    pub warnings: Vec<String>,
}

impl Metadata {
    /// Parses the metadata found by `get`. A value satdet must trust to size buffers or
    /// name classes (`imgsz`, `names`) is an error when malformed; a suggested threshold
    /// that is not in (0, 1] is ignored with a warning.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> std::result::Result<Metadata, String> {
        let snip = |s: &str| -> String {
            let cut: String = s.chars().take(80).collect();
            if cut.len() < s.len() {
                format!("{cut:?}… ({} bytes)", s.len())
            } else {
                format!("{cut:?}")
            }
        };
        let mut md = Metadata::default();
        if let Some(raw) = get("imgsz") {
            md.imgsz = Some(parse_imgsz(&raw).ok_or_else(|| {
                format!(
                    "the `imgsz` metadata {} is not one or two positive integers ([h, w])",
                    snip(&raw)
                )
            })?);
        }
        if let Some(raw) = get("names") {
            md.names = Some(
                parse_class_names(&raw)
                    .ok_or_else(|| format!("cannot parse the `names` metadata {}", snip(&raw)))?,
            );
        }
        md.end2end = get("end2end").map(|s| s.trim().eq_ignore_ascii_case("true"));
        // Ultralytics writes `task`: detection and oriented boxes are decoded; another
        // task's output would be misread (a pose model's keypoints as class scores).
        if let Some(task) = get("task") {
            let task = task.trim().to_ascii_lowercase();
            match task.as_str() {
                "detect" => {}
                "obb" => md.oriented = true,
                other => {
                    return Err(format!(
                        "the `task` metadata says {}: satdet runs detection models (`task: detect`, or no `task`) and oriented-box models (`task: obb`) only",
                        snip(other)
                    ))
                }
            }
        }
        for (key, slot) in [("conf", &mut md.default_conf), ("iou", &mut md.default_iou)] {
            if let Some(raw) = get(key) {
                match raw.trim().parse::<f32>() {
                    Ok(v) if v > 0.0 && v <= 1.0 => *slot = Some(v),
                    _ => md.warnings.push(format!(
                        "metadata `{key}` = {} is not a number in (0, 1]; ignored",
                        snip(&raw)
                    )),
                }
            }
        }
        if let Some(raw) = get("gsd_m") {
            md.gsd_m = GsdRange::parse(&raw);
            if md.gsd_m.is_none() {
                md.warnings.push(format!(
                    "metadata `gsd_m` = {} is not a GSD in metres (`0.3` or `0.3-0.5`); ignored, so scenes are not resampled to the model's GSD",
                    snip(&raw)
                ));
            }
        }
        Ok(md)
    }
}

/// `[h, w]`, `(h, w)`, `[s]` or `s`: every token a positive integer, else `None`.
fn parse_imgsz(s: &str) -> Option<(u32, u32)> {
    let inner = s
        .trim()
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')']);
    let v: Vec<u32> = inner
        .split(',')
        .map(|t| t.trim().parse::<u32>().ok().filter(|&n| n > 0))
        .collect::<Option<_>>()?;
    match v[..] {
        [s] => Some((s, s)),
        [h, w] => Some((h, w)),
        _ => None,
    }
}

/// A loaded detector.
pub struct Model {
    session: Session,
    info: ModelInfo,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("info", &self.info).finish()
    }
}

/// Parses Ultralytics' `names` metadata (a Python dict `{0: 'car', 1: 'truck'}`), or a
/// JSON list/dict. Returns names in index order; `None` when it cannot be parsed or the
/// indices are not `0..n`.
pub fn parse_class_names(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    if let Ok(v) = serde_json::from_str::<Vec<String>>(s) {
        return Some(v);
    }
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut pairs: Vec<(usize, String)> = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != ':')).collect();
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        let idx: usize = key.parse().ok()?;
        chars.next(); // ':'
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next().filter(|c| *c == '\'' || *c == '"')?;
        let mut name = String::new();
        loop {
            match chars.next()? {
                '\\' => name.push(chars.next()?),
                c if c == quote => break,
                c => name.push(c),
            }
        }
        pairs.push((idx, name));
    }
    pairs.sort_by_key(|p| p.0);
    if pairs.iter().enumerate().any(|(i, p)| p.0 != i) {
        return None;
    }
    Some(pairs.into_iter().map(|p| p.1).collect())
}

/// Where a model's ONNX bytes come from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The file at the path given.
    File,
    /// Bytes in memory (the path names them in messages).
    Bytes(&'a [u8]),
}

/// onnxruntime's intra-op threads when not given: the physical cores this process may
/// use. [`std::thread::available_parallelism`] (which honours CPU affinity and cgroup
/// quotas) counts logical CPUs; on a machine with simultaneous multithreading (two
/// logical CPUs per core, Linux sysfs topology) that is divided by the CPUs per core, as
/// onnxruntime's own default counts physical cores: two threads on one core's two
/// halves compete for the same arithmetic units.
pub fn default_threads() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    match cpus_per_core(Path::new("/sys/devices/system/cpu")) {
        Some(per_core) if per_core > 1 => (logical / per_core).max(1),
        _ => logical,
    }
}

/// Logical CPUs per physical core from a sysfs CPU folder (`cpuN/topology/
/// physical_package_id` and `core_id`), rounded to the nearest whole number; `None` when
/// the topology cannot be read (not Linux, a sandbox without sysfs).
fn cpus_per_core(root: &Path) -> Option<usize> {
    let mut cores = std::collections::HashSet::new();
    let mut cpus = 0usize;
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(n) = name.strip_prefix("cpu") else {
            continue;
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let topo = entry.path().join("topology");
        let read = |f: &str| std::fs::read_to_string(topo.join(f)).ok();
        if let (Some(package), Some(core)) = (read("physical_package_id"), read("core_id")) {
            cores.insert((package.trim().to_owned(), core.trim().to_owned()));
            cpus += 1;
        }
    }
    (!cores.is_empty()).then(|| (cpus + cores.len() / 2) / cores.len())
}

fn ort_err<R>(context: impl Into<String>, e: ort::Error<R>) -> Error {
    Error::inference(context, std::io::Error::other(e.to_string()))
}

/// How to load a model ([`Model::load`]): everything but the model itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Where inference runs.
    pub device: Device,
    /// The onnxruntime library (file or folder), tried before the search order of
    /// [`crate::inference::find_onnxruntime`].
    pub runtime: Option<PathBuf>,
    /// Intra-op threads ([`default_threads`] when `None`).
    pub threads: Option<usize>,
    /// The most bytes the smallest batch's input tensor may take
    /// ([`crate::Limits::max_batch_bytes`]).
    pub max_batch_bytes: u64,
    /// The side of a square input for a model whose height and width are symbolic
    /// (default: its `imgsz` metadata); a fixed-size model accepts only its own size.
    pub input_size: Option<u32>,
    /// The output layout, when the shape and metadata leave it ambiguous (default: worked
    /// out, [`detect_layout`]); a layout the output does not fit is an error.
    pub layout: Option<LayoutKind>,
}

impl Default for LoadOptions {
    /// The CPU, the default thread count and limits, sizes and layout from the model.
    fn default() -> Self {
        LoadOptions {
            device: Device::Cpu,
            runtime: None,
            threads: None,
            max_batch_bytes: crate::limits::Limits::default().max_batch_bytes,
            input_size: None,
            layout: None,
        }
    }
}

impl Model {
    /// Loads `path` with `options`. Checks the input (one NCHW f32 image tensor with 3
    /// channels) and its metadata ([`Metadata::parse`]), refuses a model whose smallest
    /// batch needs more than `options.max_batch_bytes` of input tensor, and runs one blank
    /// batch to learn and check the output layout.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Model> {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "model file not found"),
            ));
        }
        Self::load_from(path, Source::File, options)
    }

    /// [`Model::load`] from the bytes of an ONNX file held in memory (the bundled model,
    /// or one a program fetched itself); `name` stands for the file in messages.
    pub fn load_bytes(name: &Path, bytes: &[u8], options: &LoadOptions) -> Result<Model> {
        Self::load_from(name, Source::Bytes(bytes), options)
    }

    fn load_from(path: &Path, source: Source<'_>, options: &LoadOptions) -> Result<Model> {
        let LoadOptions {
            device,
            runtime,
            threads,
            max_batch_bytes,
            input_size,
            layout: layout_choice,
        } = options.clone();
        let runtime = runtime.as_deref();
        let (runtime, env) = environment(runtime)?;
        let mut builder = Session::builder(&env).map_err(|e| ort_err("creating a session", e))?;
        // Always an explicit count: left to choose, onnxruntime pins its threads to cores,
        // and a pinned thread sharing its core with the reader stalls every operator
        // (measured: 256 tiles took 5.6-8.6 s from run to run, 5.7-5.8 s unpinned).
        let threads = threads.unwrap_or_else(default_threads);
        builder = builder
            .with_intra_threads(threads)
            .map_err(|e| ort_err("setting threads", e))?;
        // Quantised models (the INT8 variant, any QDQ export) on an x86-64 CPU with AVX2
        // and no VNNI: onnxruntime's fast u8s8 kernel sums pairs of products into int16
        // (vpmaddubsw) and saturates, and the bundled INT8 model's truck scores then
        // correlate 0.75 with the float model's instead of 0.98
        // (`tests/end_to_end.rs`). This key selects its exact kernel there; CPUs with VNNI
        // or AVX-512, other architectures and float models are not affected.
        builder = builder
            .with_config_entry("session.x64quantprecision", "1")
            .map_err(|e| ort_err("choosing exact int8 kernels", e))?;
        // What names the model's compiled engines (TensorRT): its bytes, not its name.
        let model_key = || -> Result<String> {
            Ok(match source {
                Source::File => super::provider::model_key(
                    &std::fs::read(path).map_err(|e| Error::io(path, e))?,
                ),
                Source::Bytes(b) => super::provider::model_key(b),
            })
        };
        let (mut builder, provider) = super::provider::register(builder, device, model_key)?;
        let session = match source {
            Source::File => builder.commit_from_file(path),
            Source::Bytes(b) => builder.commit_from_memory(b),
        }
        .map_err(|e| Error::model(path, format!("onnxruntime cannot load it: {e}")))?;

        let bad = |d: String| Error::model(path, d);
        let inputs = session.inputs();
        if inputs.len() != 1 {
            let names: Vec<&str> = inputs.iter().map(|i| i.name()).collect();
            return Err(bad(format!(
                "expected one image input, found {} ({names:?})",
                inputs.len()
            )));
        }
        let input = &inputs[0];
        let ValueType::Tensor { ty, shape, .. } = input.dtype() else {
            return Err(bad(format!("input `{}` is not a tensor", input.name())));
        };
        if *ty != TensorElementType::Float32 || shape.len() != 4 {
            return Err(bad(format!(
                "input `{}` is {ty:?} {shape:?}; expected float32 [batch, 3, height, width]",
                input.name()
            )));
        }
        if shape[1] != 3 && shape[1] != -1 {
            return Err(bad(format!(
                "input `{}` has {} channels; satdet feeds 3 (RGB)",
                input.name(),
                shape[1]
            )));
        }
        let meta = session
            .metadata()
            .map_err(|e| ort_err("reading metadata", e))?;
        let md = Metadata::parse(|k| meta.custom(k)).map_err(bad)?;
        drop(meta);
        // The input side: one asked for (`input_size`) on a model with symbolic height and
        // width, else the model's fixed size, else its `imgsz` metadata.
        let side = |d: i64| u32::try_from(d).unwrap_or(u32::MAX);
        let (h, w) = (shape[2], shape[3]);
        let (height, width) = match input_size {
            Some(s) if h <= 0 && w <= 0 => (s, s),
            Some(s) if h > 0 && w > 0 && (side(h), side(w)) == (s, s) => (s, s),
            Some(s) if h > 0 && w > 0 => {
                return Err(Error::Config(format!(
                    "{}: the model's input is fixed at {}x{}, so it cannot take {s} px windows (input size {s}); a model exported with symbolic height and width can",
                    path.display(),
                    side(w),
                    side(h)
                )))
            }
            Some(s) => {
                return Err(Error::Config(format!(
                    "{}: the model's input has one symbolic and one fixed side ({h:?} x {w:?}), so it cannot take square {s} px windows (input size {s})",
                    path.display()
                )))
            }
            None if h > 0 && w > 0 => (side(h), side(w)),
            None => md.imgsz.ok_or_else(|| {
                bad(format!(
                    "input `{}` has dynamic height/width and no `imgsz` metadata",
                    input.name()
                ))
            })?,
        };
        let fixed_batch = (shape[0] > 0).then_some(shape[0] as usize);
        // Model-sized buffers are allocated from these numbers: refuse implausible ones
        // before allocating (a corrupt or hostile `imgsz` must not exhaust memory).
        if width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE || width == 0 || height == 0 {
            return Err(bad(format!(
                "input size {width}x{height} is outside 1..={MAX_INPUT_SIDE} pixels per side"
            )));
        }
        if fixed_batch.is_some_and(|b| b > MAX_BATCH) {
            return Err(bad(format!(
                "fixed batch size {} is over {MAX_BATCH}",
                fixed_batch.unwrap_or_default()
            )));
        }
        // The blank batch below, and every batch later, must fit the batch budget: the
        // product is checked, not only each factor.
        let n = fixed_batch.unwrap_or(1);
        let input_bytes = input_tensor_bytes(n, width, height);
        crate::limits::Limits::check(
            || {
                format!(
                    "{}: the model input of {n}x3x{height}x{width} float32",
                    path.display()
                )
            },
            "batch tensor bytes (Limits::max_batch_bytes)",
            input_bytes,
            max_batch_bytes,
        )?;
        let Metadata {
            names: parsed,
            end2end,
            oriented,
            default_conf,
            default_iou,
            gsd_m,
            warnings,
            ..
        } = md;
        let warnings: Vec<String> = warnings
            .into_iter()
            .map(|w| format!("{}: {w}", path.display()))
            .collect();
        let input_name = input.name().to_string();
        let outputs = session.outputs();
        if outputs.is_empty() {
            return Err(bad("the model has no outputs".into()));
        }
        if let ValueType::Tensor { ty, shape, .. } = outputs[0].dtype() {
            if *ty != TensorElementType::Float32 {
                return Err(bad(format!(
                    "output `{}` is {ty:?}, not float32",
                    outputs[0].name()
                )));
            }
            // A declared output size is checked before the blank batch allocates it.
            let declared = shape.iter().skip(1).try_fold(n as u64 * 4, |acc, &d| {
                u64::try_from(d).ok().map(|d| acc.saturating_mul(d))
            });
            if let Some(bytes) = declared {
                crate::limits::Limits::check(
                    || {
                        format!(
                            "{}: output `{}` {shape:?}",
                            path.display(),
                            outputs[0].name()
                        )
                    },
                    "batch tensor bytes (Limits::max_batch_bytes)",
                    bytes,
                    max_batch_bytes,
                )?;
            }
        } else {
            return Err(bad(format!(
                "output `{}` is not a tensor",
                outputs[0].name()
            )));
        }
        let mut model = Model {
            session,
            info: ModelInfo {
                path: path.to_path_buf(),
                runtime,
                provider,
                input_name,
                width,
                height,
                fixed_batch,
                layout: Layout::EndToEnd,
                class_names: Vec::new(),
                default_conf,
                default_iou,
                gsd_m,
                output_floats_per_image: 0,
                warnings,
            },
        };
        // One blank batch: proves the model runs and tells the real output shape.
        let blank = vec![0.0f32; n * 3 * width as usize * height as usize];
        let mut out = Vec::new();
        let shape = model
            .run_raw(&blank, n, &mut out)
            .map_err(|e| {
                let hint = if input_size.is_some() {
                    format!(" (input size {width} px was asked for: a fully convolutional network takes only some sizes, usually multiples of its largest stride, 16 for the bundled model)")
                } else {
                    String::new()
                };
                bad(format!(
                    "a blank {n}x3x{height}x{width} batch fails: {e}{hint}"
                ))
            })?;
        let shape_i: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let layout = detect_layout(
            path,
            &shape_i,
            &LayoutHints {
                classes: parsed.as_ref().map(Vec::len),
                end2end,
                oriented,
                choice: layout_choice,
                input: (width, height),
            },
        )?;
        let classes = match layout {
            Layout::V8 { classes }
            | Layout::V5 { classes }
            | Layout::Obb { classes }
            | Layout::RtDetr { classes, .. } => classes,
            Layout::EndToEnd => parsed.as_ref().map_or(0, Vec::len),
        };
        model.info.layout = layout;
        model.info.output_floats_per_image = shape[1].saturating_mul(shape[2]);
        model.info.class_names = match parsed {
            Some(v) => v.into_iter().map(Arc::from).collect(),
            None => (0..classes)
                .map(|i| Arc::from(format!("class_{i}")))
                .collect(),
        };
        Ok(model)
    }

    /// What was found at load.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Name of class `id` (`class_<id>` past the known names).
    pub fn class_name(&self, id: u32) -> Arc<str> {
        self.info.class_name(id)
    }

    /// Runs `n` inputs held in `batch` (NCHW), copying the first output into `out`; returns
    /// its shape `[n, d1, d2]`.
    pub fn run(&mut self, batch: &[f32], n: usize, out: &mut Vec<f32>) -> Result<[usize; 3]> {
        let shape = self.run_raw(batch, n, out)?;
        Ok(shape)
    }

    fn run_raw(&mut self, batch: &[f32], n: usize, out: &mut Vec<f32>) -> Result<[usize; 3]> {
        let (w, h) = (self.info.width as usize, self.info.height as usize);
        if batch.len() != n * 3 * w * h {
            return Err(Error::Config(format!(
                "model input holds {} values, not {n}x3x{h}x{w}",
                batch.len()
            )));
        }
        let input = TensorRef::from_array_view(([n, 3, h, w], batch))
            .map_err(|e| ort_err("building the input tensor", e))?;
        let outputs = self
            .session
            .run(ort::inputs![input])
            .map_err(|e| ort_err(format!("running {}", self.info.path.display()), e))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| ort_err("reading the output", e))?;
        if shape.len() != 3 || shape[0] as usize != n || shape.iter().any(|&d| d < 0) {
            return Err(Error::model(
                &self.info.path,
                format!("output shape {shape:?} for a batch of {n}; expected [{n}, d1, d2]"),
            ));
        }
        out.clear();
        out.extend_from_slice(data);
        Ok([shape[0] as usize, shape[1] as usize, shape[2] as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_per_core_reads_the_sysfs_topology() {
        let fake = |cores: &[(u32, u32)]| {
            let dir = tempfile::tempdir().expect("tmp");
            for (i, (package, core)) in cores.iter().enumerate() {
                let t = dir.path().join(format!("cpu{i}/topology"));
                std::fs::create_dir_all(&t).expect("mkdir");
                std::fs::write(t.join("physical_package_id"), format!("{package}\n")).expect("w");
                std::fs::write(t.join("core_id"), format!("{core}\n")).expect("w");
            }
            // Not CPUs: skipped.
            std::fs::create_dir_all(dir.path().join("cpufreq")).expect("mkdir");
            std::fs::create_dir_all(dir.path().join("cpuidle")).expect("mkdir");
            dir
        };
        // Two threads per core (cpu0/cpu1 share core 0, cpu2/cpu3 core 1).
        let smt = fake(&[(0, 0), (0, 0), (0, 1), (0, 1)]);
        assert_eq!(cpus_per_core(smt.path()), Some(2));
        // One per core, two packages with the same core ids.
        let plain = fake(&[(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(cpus_per_core(plain.path()), Some(1));
        let empty = tempfile::tempdir().expect("tmp");
        assert_eq!(cpus_per_core(empty.path()), None);
        assert!(default_threads() >= 1);
    }

    #[test]
    fn ultralytics_names() {
        assert_eq!(
            parse_class_names("{0: 'car', 1: 'truck', 2: 'excavator'}").expect("dict"),
            vec!["car", "truck", "excavator"]
        );
        assert_eq!(
            parse_class_names(r#"{0: "o'brien", 1: 'a, b'}"#).expect("quotes"),
            vec!["o'brien", "a, b"]
        );
        assert_eq!(
            parse_class_names(r#"["a", "b"]"#).expect("json"),
            vec!["a", "b"]
        );
        assert!(
            parse_class_names("{0: 'a', 2: 'c'}").is_none(),
            "gap in indices"
        );
        assert!(parse_class_names("cars").is_none());
    }

    #[test]
    fn gsd_ranges() {
        let r = |a, b| Some(GsdRange { min_m: a, max_m: b });
        assert_eq!(GsdRange::parse("0.4"), r(0.4, 0.4));
        assert_eq!(GsdRange::parse("0.3-0.5"), r(0.3, 0.5));
        assert_eq!(GsdRange::parse(" [0.3, 0.5] "), r(0.3, 0.5));
        assert_eq!(GsdRange::parse("0.3..0.5"), r(0.3, 0.5));
        assert_eq!(GsdRange::parse("3e-1"), r(0.3, 0.3));
        assert_eq!(GsdRange::parse("3e-1-5e-1"), r(0.3, 0.5));
        let odd = GsdRange {
            min_m: 0.5,
            max_m: 0.3,
        };
        let _ = odd.nearest(0.4); // no panic
        let nan = GsdRange {
            min_m: f64::NAN,
            max_m: 0.3,
        };
        let _ = nan.nearest(0.4);
        for bad in [
            "",
            "-0.3",
            "0.5-0.3",
            "0",
            "nan",
            "inf",
            "0.3-",
            "a-b",
            "0.3-0.4-0.5",
            "1e400",
        ] {
            assert_eq!(GsdRange::parse(bad), None, "{bad}");
        }
        assert_eq!(
            GsdRange::parse("0.3-0.5").map(|g| g.nearest(0.15)),
            Some(0.3)
        );
        assert_eq!(
            GsdRange::parse("0.3-0.5").map(|g| g.nearest(0.4)),
            Some(0.4)
        );
    }
}
