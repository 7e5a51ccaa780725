//! Registering the execution provider a [`Device`] asks for. Never a silent CPU fallback:
//! a provider that satdet was built without, or that the loaded onnxruntime library lacks,
//! or that fails to register, is an [`Error::ExecutionProvider`] saying what to install.

use super::model::Device;
use crate::error::{Error, Result};
use ort::session::builder::SessionBuilder;
use std::path::PathBuf;

/// Registers `device`'s provider on `builder`; returns the builder and the provider's name
/// as [`super::ModelInfo::provider`] reports it (`CPU`, `CUDA`, `TensorRT`).
/// `model_key` gives [`model_key`] of the model's bytes (read only for TensorRT).
pub(crate) fn register(
    builder: SessionBuilder,
    device: Device,
    model_key: impl FnOnce() -> Result<String>,
) -> Result<(SessionBuilder, &'static str)> {
    match device {
        Device::Cpu => Ok((builder, "CPU")),
        Device::Cuda { device_id } => Ok((register_cuda(builder, device_id)?, "CUDA")),
        Device::TensorRt { device_id } => Ok((
            register_tensorrt(builder, device_id, model_key)?,
            "TensorRT",
        )),
    }
}

/// A name for a model's contents: FNV-1a (64 bit) of its ONNX bytes and their length, in
/// hex. onnxruntime names TensorRT engines by the model's file name and graph structure,
/// not its weights, so two models with the same layers (a retrained bundled model, two
/// `best.onnx`) would load each other's engines: each model gets its own cache folder
/// under this name.
pub(crate) fn model_key(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}-{}", bytes.len())
}

#[cfg(feature = "cuda")]
fn register_cuda(builder: SessionBuilder, device_id: i32) -> Result<SessionBuilder> {
    use ort::ep::ExecutionProvider;
    let err = |detail: String| Error::ExecutionProvider {
        provider: "CUDA",
        detail,
    };
    match ort::ep::CUDA::is_available() {
        Ok(true) => {}
        Ok(false) => return Err(err("the loaded onnxruntime library has no CUDA provider; install onnxruntime-gpu and point ORT_DYLIB_PATH at its libonnxruntime".into())),
        Err(e) => return Err(err(e.to_string())),
    }
    let cuda = ort::ep::CUDA::default().with_device_id(device_id);
    builder
        .with_execution_providers([cuda.build().error_on_failure()])
        .map_err(|e| err(e.to_string()))
}

#[cfg(not(feature = "cuda"))]
fn register_cuda(_: SessionBuilder, _: i32) -> Result<SessionBuilder> {
    Err(Error::ExecutionProvider {
        provider: "CUDA",
        detail: "satdet was built without its `cuda` feature (cargo build --features cuda)".into(),
    })
}

/// TensorRT first, CUDA second: onnxruntime gives TensorRT the subgraphs it can compile
/// and CUDA the nodes it cannot (onnxruntime's documented way to use TensorRT). Both are
/// required: either failing to register is an error. Engines are built in FP32 (the
/// detections stay those of the CPU up to floating-point order) and cached in
/// [`tensorrt_cache_dir`], so only the first run with a model and batch shape builds them.
#[cfg(feature = "tensorrt")]
fn register_tensorrt(
    builder: SessionBuilder,
    device_id: i32,
    model_key: impl FnOnce() -> Result<String>,
) -> Result<SessionBuilder> {
    use ort::ep::ExecutionProvider;
    let err = |detail: String| Error::ExecutionProvider {
        provider: "TensorRT",
        detail,
    };
    const NEEDS: &str = "needs onnxruntime-gpu built with TensorRT (the PyPI onnxruntime-gpu wheels are) and the TensorRT libraries (libnvinfer, e.g. from the tensorrt-cu13-libs or tensorrt-cu12-libs wheel, for the CUDA that onnxruntime-gpu was built for) on LD_LIBRARY_PATH";
    for (name, available) in [
        ("TensorRT", ort::ep::TensorRT::is_available()),
        ("CUDA", ort::ep::CUDA::is_available()),
    ] {
        match available {
            Ok(true) => {}
            Ok(false) => {
                return Err(err(format!(
                    "the loaded onnxruntime library has no {name} provider; TensorRT {NEEDS}; point ORT_DYLIB_PATH at that libonnxruntime"
                )))
            }
            Err(e) => return Err(err(e.to_string())),
        }
    }
    let cache = tensorrt_cache_dir().join(model_key()?);
    std::fs::create_dir_all(&cache).map_err(|e| {
        err(format!(
            "cannot make the engine cache folder {} ({e}); set SATDET_TENSORRT_CACHE to a writable folder",
            cache.display()
        ))
    })?;
    let cache = cache.to_str().map(str::to_owned).ok_or_else(|| {
        err(format!(
            "the engine cache folder {} is not valid UTF-8, which onnxruntime needs; set SATDET_TENSORRT_CACHE to another folder",
            cache.display()
        ))
    })?;
    let trt = ort::ep::TensorRT::default()
        .with_device_id(device_id)
        .with_engine_cache(true)
        .with_engine_cache_path(&cache)
        .with_timing_cache(true)
        .with_timing_cache_path(&cache);
    let cuda = ort::ep::CUDA::default().with_device_id(device_id);
    builder
        .with_execution_providers([
            trt.build().error_on_failure(),
            cuda.build().error_on_failure(),
        ])
        .map_err(|e| err(format!("{e} (TensorRT {NEEDS})")))
}

#[cfg(not(feature = "tensorrt"))]
fn register_tensorrt(
    _: SessionBuilder,
    _: i32,
    _: impl FnOnce() -> Result<String>,
) -> Result<SessionBuilder> {
    Err(Error::ExecutionProvider {
        provider: "TensorRT",
        detail: "satdet was built without its `tensorrt` feature (cargo build --features tensorrt)"
            .into(),
    })
}

/// Where [`Device::TensorRt`] keeps the engines TensorRT builds (and its timing cache),
/// so that a second run loads them instead of rebuilding (which takes seconds to minutes
/// per model and batch shape). In order: `SATDET_TENSORRT_CACHE`;
/// `$XDG_CACHE_HOME/satdet/tensorrt`; `$HOME/.cache/satdet/tensorrt`; the system temp
/// folder's `satdet-tensorrt-USER`. Each model gets a subfolder named by a hash of its
/// bytes (onnxruntime itself names engines by the model's file name and graph, not its
/// weights, so models with the same layers would share engines); delete the folder after
/// upgrading TensorRT or the driver. Engines are loaded as code: the folder should be the
/// user's own.
pub fn tensorrt_cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("SATDET_TENSORRT_CACHE") {
        return p;
    }
    if let Some(p) = var("XDG_CACHE_HOME") {
        return p.join("satdet/tensorrt");
    }
    if let Some(p) = var("HOME") {
        return p.join(".cache/satdet/tensorrt");
    }
    let user = var("USER")
        .or_else(|| var("USERNAME"))
        .map_or_else(|| "unknown".into(), |u| u.to_string_lossy().into_owned());
    std::env::temp_dir().join(format!("satdet-tensorrt-{user}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn model_key_tells_contents_apart() {
        let a = super::model_key(b"same layers, weights A");
        let b = super::model_key(b"same layers, weights B");
        assert_ne!(a, b);
        assert_eq!(a, super::model_key(b"same layers, weights A"));
        assert!(a.ends_with("-22"), "{a}");
    }
}
