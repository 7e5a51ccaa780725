//! Loading a detector and checking its contract at load, not halfway through a scene.

use super::decode::{detect_layout, Layout};
use super::session::environment;
use crate::{Error, Result};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where inference runs. Never chosen for the user: CPU unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
}

/// What a model was found to be at load.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// The onnxruntime library in use.
    pub runtime: PathBuf,
    /// The execution provider in use (`CPU` or `CUDA`).
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
    /// The ground sample distance the model was trained for, as its metadata states it
    /// (`gsd_m`).
    pub gsd_m: Option<String>,
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

fn ort_err<R>(context: impl Into<String>, e: ort::Error<R>) -> Error {
    Error::inference(context, std::io::Error::other(e.to_string()))
}

impl Model {
    /// Loads `path` on `device`, with onnxruntime from `runtime` (or the search order of
    /// [`crate::inference::find_onnxruntime`]), `threads` intra-op threads (onnxruntime's
    /// default when `None`). Checks the input (one NCHW f32 image tensor with 3 channels)
    /// and runs one blank batch to learn and check the output layout.
    pub fn load(
        path: &Path,
        device: Device,
        runtime: Option<&Path>,
        threads: Option<usize>,
    ) -> Result<Model> {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "model file not found"),
            ));
        }
        let (runtime, env) = environment(runtime)?;
        let mut builder = Session::builder(&env).map_err(|e| ort_err("creating a session", e))?;
        if let Some(t) = threads {
            builder = builder
                .with_intra_threads(t)
                .map_err(|e| ort_err("setting threads", e))?;
        }
        let provider = match device {
            Device::Cpu => "CPU",
            Device::Cuda { device_id } => {
                builder = register_cuda(builder, device_id)?;
                "CUDA"
            }
        };
        let session = builder
            .commit_from_file(path)
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
        let custom = |k: &str| meta.custom(k);
        let imgsz = custom("imgsz").and_then(|s| {
            let v: Vec<u32> = s
                .trim_matches(|c| c == '[' || c == ']' || c == '(' || c == ')')
                .split(',')
                .filter_map(|t| t.trim().parse().ok())
                .collect();
            match v[..] {
                [s] => Some((s, s)),
                [h, w] => Some((h, w)),
                _ => None,
            }
        });
        let (height, width) = match (shape[2], shape[3], imgsz) {
            (h, w, _) if h > 0 && w > 0 => (
                u32::try_from(h).unwrap_or(u32::MAX),
                u32::try_from(w).unwrap_or(u32::MAX),
            ),
            (_, _, Some(hw)) => hw,
            _ => {
                return Err(bad(format!(
                    "input `{}` has dynamic height/width and no `imgsz` metadata",
                    input.name()
                )))
            }
        };
        let fixed_batch = (shape[0] > 0).then_some(shape[0] as usize);
        // Model-sized buffers are allocated from these numbers: refuse implausible ones
        // before allocating (a corrupt or hostile `imgsz` must not exhaust memory).
        const MAX_SIDE: u32 = 16_384;
        const MAX_FIXED_BATCH: usize = 1_024;
        if width > MAX_SIDE || height > MAX_SIDE || width == 0 || height == 0 {
            return Err(bad(format!(
                "input size {width}x{height} is outside 1..={MAX_SIDE} pixels per side"
            )));
        }
        if fixed_batch.is_some_and(|b| b > MAX_FIXED_BATCH) {
            return Err(bad(format!(
                "fixed batch size {} is over {MAX_FIXED_BATCH}",
                fixed_batch.unwrap_or_default()
            )));
        }
        let names = custom("names");
        let parsed = names.as_deref().and_then(parse_class_names);
        if names.is_some() && parsed.is_none() {
            return Err(bad(format!(
                "cannot parse the `names` metadata {:?}",
                names.unwrap_or_default()
            )));
        }
        let end2end = custom("end2end").map(|s| s.eq_ignore_ascii_case("true"));
        // A default threshold outside (0, 1] is ignored (with a warning), not used.
        let parse_f = |k: &str| {
            let raw = custom(k)?;
            match raw.trim().parse::<f32>() {
                Ok(v) if v > 0.0 && v <= 1.0 => Some(v),
                _ => {
                    log::warn!(
                        "{}: metadata `{k}` = {raw:?} is not a number in (0, 1]; ignored",
                        path.display()
                    );
                    None
                }
            }
        };
        let (default_conf, default_iou, gsd_m) = (parse_f("conf"), parse_f("iou"), custom("gsd_m"));
        let input_name = input.name().to_string();
        let outputs = session.outputs();
        if outputs.is_empty() {
            return Err(bad("the model has no outputs".into()));
        }
        if let ValueType::Tensor { ty, .. } = outputs[0].dtype() {
            if *ty != TensorElementType::Float32 {
                return Err(bad(format!(
                    "output `{}` is {ty:?}, not float32",
                    outputs[0].name()
                )));
            }
        } else {
            return Err(bad(format!(
                "output `{}` is not a tensor",
                outputs[0].name()
            )));
        }
        drop(meta);

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
            },
        };
        // One blank batch: proves the model runs and tells the real output shape.
        let n = fixed_batch.unwrap_or(1);
        let blank = vec![0.0f32; n * 3 * width as usize * height as usize];
        let mut out = Vec::new();
        let shape = model
            .run_raw(&blank, n, &mut out)
            .map_err(|e| bad(format!("a blank {n}x3x{height}x{width} batch fails: {e}")))?;
        let shape_i: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let layout = detect_layout(path, &shape_i, parsed.as_ref().map(Vec::len), end2end)?;
        let classes = match layout {
            Layout::V8 { classes } | Layout::V5 { classes } => classes,
            Layout::EndToEnd => parsed.as_ref().map_or(0, Vec::len),
        };
        model.info.layout = layout;
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
        self.info
            .class_names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(format!("class_{id}")))
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

#[cfg(feature = "cuda")]
fn register_cuda(
    builder: ort::session::builder::SessionBuilder,
    device_id: i32,
) -> Result<ort::session::builder::SessionBuilder> {
    use ort::ep::ExecutionProvider;
    let cuda = ort::ep::CUDA::default().with_device_id(device_id);
    match ort::ep::CUDA::is_available() {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::ExecutionProvider {
                provider: "CUDA",
                detail: "the loaded onnxruntime library has no CUDA provider; install onnxruntime-gpu and point ORT_DYLIB_PATH at its libonnxruntime".into(),
            })
        }
        Err(e) => return Err(Error::ExecutionProvider { provider: "CUDA", detail: e.to_string() }),
    }
    builder
        .with_execution_providers([cuda.build().error_on_failure()])
        .map_err(|e| Error::ExecutionProvider {
            provider: "CUDA",
            detail: e.to_string(),
        })
}

#[cfg(not(feature = "cuda"))]
fn register_cuda(
    _: ort::session::builder::SessionBuilder,
    _: i32,
) -> Result<ort::session::builder::SessionBuilder> {
    Err(Error::ExecutionProvider {
        provider: "CUDA",
        detail: "satdet was built without its `cuda` feature (cargo build --features cuda)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
