//! Preprocessing: raw tile windows → the model's NCHW `f32` input batch.
//!
//! One hardware-neutral plan, [`InputSpec`], run by a [`Preprocessor`]: the CPU reference
//! ([`CpuPreprocessor`]) or, with the `gpu` feature, WGSL compute shaders
//! ([`GpuPreprocessor`], `shaders/preprocess.wgsl`). Both follow
//! the conventions of DESIGN.md, in this order, in `f32`:
//!
//! 1. `n = clamp((sample - lo[band]) * inv_range[band], 0, 1)` per source sample
//!    ([`Scaling`]: `/255` for 8-bit, a percentile stretch for 16-bit); a masked pixel
//!    (alpha 0, or nodata in every band) takes the pad value instead;
//! 2. bilinear resampling when the tile and the model input differ in size, pixel centres
//!    at +0.5 (align_corners = false): `top = a + (b - a) * wx`, `bottom = c + (d - c) * wx`,
//!    `v = top + (bottom - top) * wy`;
//! 3. `out = (v - mean[c]) * inv_std[c]`;
//! 4. the tile sits at the top-left of the input; the rest is the pad value (step 3
//!    applied to it).

mod array;
mod cpu;
#[cfg(feature = "gpu")]
mod gpu;
mod placement;
mod stretch;

pub use array::to_array4;
pub use cpu::CpuPreprocessor;
/// For `benches/preprocess.rs` only: not part of the supported API.
#[cfg(feature = "gpu")]
#[doc(hidden)]
pub use gpu::bench as gpu_bench;
#[cfg(feature = "gpu")]
pub use gpu::{
    adapters, wgpu, AdapterPolicy, AdapterSummary, GpuPreprocessor, DEFAULT_WAIT_TIMEOUT, SHADER,
};
pub use placement::Placement;
pub use stretch::{percentile_stretch, Scaling};

use crate::error::Result;
use crate::raster::{MaskSpec, TileBuf};

/// Which preprocessing backend a detector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preprocess {
    /// The CPU reference implementation (the default).
    #[default]
    Cpu,
    /// WGSL compute shaders through wgpu; an error when no adapter exists.
    Gpu,
    /// The GPU when a hardware adapter exists, else the CPU; the choice is reported.
    Auto,
}

/// The plan for turning raw tiles into model input. Plain data, shared by every backend.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Model input width in pixels.
    pub width: u32,
    /// Model input height in pixels.
    pub height: u32,
    /// The source band for each of the model's R, G, B channels (a panchromatic band
    /// fills all three).
    pub channels: [u16; 3],
    /// Sample scaling to [0, 1], per source band.
    pub scaling: Scaling,
    /// Per-channel mean subtracted after scaling (0 for YOLO models).
    pub mean: [f32; 3],
    /// Per-channel reciprocal standard deviation (1 for YOLO models).
    pub inv_std: [f32; 3],
    /// The pad value in [0, 1] space (YOLO: 114/255).
    pub pad: f32,
    /// Which source pixels carry no data.
    pub mask: MaskSpec,
}

impl InputSpec {
    /// `f32` values in one model input (3 × height × width).
    pub fn input_len(&self) -> usize {
        3 * self.width as usize * self.height as usize
    }

    /// Where a `tile_w` × `tile_h` window lands in the input at `scale` input pixels per
    /// scene pixel: the top-left `out_w` × `out_h` region ([`Placement::input_region`]).
    pub fn placement(&self, tile_w: u32, tile_h: u32, scale: f64) -> (u32, u32) {
        Placement { scale }.input_region(tile_w, tile_h, self.width, self.height)
    }
}

/// A preprocessing backend: fills `out` (NCHW, `tiles.len()` inputs) from raw tiles.
pub trait Preprocessor: Send {
    /// What runs the work, e.g. `cpu` or `gpu (NVIDIA H200, Vulkan)`.
    fn describe(&self) -> String;

    /// Preprocesses a batch. `scale` is model-input pixels per scene pixel (1 when the tile
    /// size equals the input size). `out.len()` must be `tiles.len() * spec.input_len()`.
    fn run(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<()>;

    /// Whether this backend overlaps batches through [`Preprocessor::begin`] and
    /// [`Preprocessor::end`]: the detector then queues batch N + 1 before it collects
    /// batch N, so the device works on one while the host reads the other back. The
    /// default (`false`) means only `run` is used.
    fn pipelined(&self) -> bool {
        false
    }

    /// Queues a batch and returns without waiting for it; the tiles may be reused at
    /// once (their samples are copied). At most two batches are queued at a time; collect
    /// them in order with [`Preprocessor::end`].
    fn begin(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
        let _ = (spec, tiles, scale);
        Err(not_pipelined(&self.describe()))
    }

    /// Writes the input of the oldest queued batch into `out` (NCHW, as `run` would).
    fn end(&mut self, out: &mut [f32]) -> Result<()> {
        let _ = out;
        Err(not_pipelined(&self.describe()))
    }

    /// Drops every queued batch (a detection that stopped early leaves none behind).
    fn cancel(&mut self) {}
}

fn not_pipelined(backend: &str) -> crate::error::Error {
    crate::error::Error::Config(format!(
        "the {backend} preprocessor does not queue batches; use run()"
    ))
}

/// The CPU preprocessor chosen by [`Preprocess::Auto`], with the reason it was chosen.
struct AutoCpu {
    why: String,
}

impl Preprocessor for AutoCpu {
    fn describe(&self) -> String {
        format!("cpu (auto: {})", self.why)
    }
    fn run(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<()> {
        CpuPreprocessor.run(spec, tiles, scale, out)
    }
}

/// The backend for a [`Preprocess`] choice: `Cpu` the reference; `Gpu` the WGSL path on
/// the best adapter, software ones included (an error when there is none, or without the
/// `gpu` feature); `Auto` the WGSL path on a hardware adapter, else the CPU, saying why in
/// [`Preprocessor::describe`].
pub fn backend(p: Preprocess) -> Result<Box<dyn Preprocessor>> {
    match p {
        Preprocess::Cpu => Ok(Box::new(CpuPreprocessor::new())),
        #[cfg(feature = "gpu")]
        Preprocess::Gpu => Ok(Box::new(GpuPreprocessor::new(AdapterPolicy::Any)?)),
        #[cfg(feature = "gpu")]
        Preprocess::Auto => match GpuPreprocessor::new(AdapterPolicy::HardwareOnly) {
            Ok(g) => Ok(Box::new(g)),
            Err(e) => {
                let why = match e {
                    crate::error::Error::Gpu(m) => m,
                    other => other.to_string(),
                };
                log::info!("preprocessing on the CPU: {why}");
                Ok(Box::new(AutoCpu { why }))
            }
        },
        #[cfg(not(feature = "gpu"))]
        Preprocess::Gpu => Err(crate::error::Error::Gpu(
            "satdet was built without its `gpu` feature (cargo build --features gpu)".into(),
        )),
        #[cfg(not(feature = "gpu"))]
        Preprocess::Auto => Ok(Box::new(AutoCpu {
            why: "built without the `gpu` feature".into(),
        })),
    }
}
