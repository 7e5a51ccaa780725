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

/// A preprocessing backend, with one protocol: [`Preprocessor::submit`] a batch of raw
/// tiles with the buffer to fill, then [`Preprocessor::collect`] the filled buffers in
/// order. A backend that computes at once (the CPU) has [`Preprocessor::depth`] 1; one
/// that overlaps work (the GPU: the device computes batch N + 1 while the host reads batch
/// N back) has 2, and the detector submits that many batches before it collects one.
pub trait Preprocessor: Send {
    /// What runs the work, e.g. `cpu` or `gpu (NVIDIA H200, Vulkan)`.
    fn describe(&self) -> String;

    /// How many batches may be submitted and not yet collected.
    fn depth(&self) -> usize {
        1
    }

    /// Queues a batch: `tiles` (reusable as soon as this returns: their samples are
    /// used or copied) into `out`, which must hold at least `tiles.len() *
    /// spec.input_len()` values (NCHW). `scale` is model-input pixels per scene pixel (1
    /// when the tile size equals the input size). An error when [`Preprocessor::depth`]
    /// batches are already queued.
    fn submit(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: Vec<f32>,
    ) -> Result<()>;

    /// The oldest queued batch's buffer, its first `tiles.len() * spec.input_len()` values
    /// filled; an error when nothing is queued.
    fn collect(&mut self) -> Result<Vec<f32>>;

    /// Drops every queued batch (a detection that stopped early leaves none behind).
    fn cancel(&mut self);

    /// Preprocesses one batch into `out` (`tiles.len() * spec.input_len()` values):
    /// [`Preprocessor::submit`] then [`Preprocessor::collect`], for callers that want
    /// neither queueing nor buffer hand-over.
    fn run(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<()> {
        cpu::check_batch(spec, tiles, scale, out)?;
        self.submit(spec, tiles, scale, vec![0.0; out.len()])?;
        let filled = self.collect()?;
        out.copy_from_slice(&filled[..out.len()]);
        Ok(())
    }
}

/// The CPU preprocessor chosen by [`Preprocess::Auto`], with the reason it was chosen.
struct AutoCpu {
    why: String,
    cpu: CpuPreprocessor,
}

impl Preprocessor for AutoCpu {
    fn describe(&self) -> String {
        format!("cpu (auto: {})", self.why)
    }
    fn submit(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: Vec<f32>,
    ) -> Result<()> {
        self.cpu.submit(spec, tiles, scale, out)
    }
    fn collect(&mut self) -> Result<Vec<f32>> {
        self.cpu.collect()
    }
    fn cancel(&mut self) {
        self.cpu.cancel()
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
                Ok(Box::new(AutoCpu {
                    why,
                    cpu: CpuPreprocessor::new(),
                }))
            }
        },
        #[cfg(not(feature = "gpu"))]
        Preprocess::Gpu => Err(crate::error::Error::Gpu(
            "satdet was built without its `gpu` feature (cargo build --features gpu)".into(),
        )),
        #[cfg(not(feature = "gpu"))]
        Preprocess::Auto => Ok(Box::new(AutoCpu {
            why: "built without the `gpu` feature".into(),
            cpu: CpuPreprocessor::new(),
        })),
    }
}
