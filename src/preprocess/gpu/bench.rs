//! Entry points for `benches/preprocess.rs` only, not part of the supported API (hidden
//! from the docs; they may change with any release): a batch run stage by stage, with a
//! full device wait after each, to time upload, compute and read-back separately.

use super::GpuPreprocessor;
use crate::error::Result;
use crate::preprocess::InputSpec;
use crate::raster::TileBuf;
use std::time::{Duration, Instant};

/// Wall time of the three GPU stages of one batch, measured with a full wait after each
/// (see [`run_staged`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuStageTimes {
    /// Packing the samples on the host and copying them to the device.
    pub upload: Duration,
    /// The compute dispatch.
    pub compute: Duration,
    /// Copying the tensor back to host memory.
    pub readback: Duration,
}

/// Like `Preprocessor::run`, but waits for the device after each stage and returns the
/// time of each (`run` overlaps them and is faster). The tensor is the same.
///
/// # Errors
/// As `Preprocessor::run`.
pub fn run_staged(
    gp: &mut GpuPreprocessor,
    spec: &InputSpec,
    tiles: &[&TileBuf],
    scale: f32,
    out: &mut [f32],
) -> Result<GpuStageTimes> {
    crate::preprocess::cpu::check_batch(spec, tiles, scale, out)?;
    gp.require_idle()?;
    let mut times = GpuStageTimes::default();
    let per = spec.input_len();
    for r in gp.chunks(spec, tiles)? {
        let t0 = Instant::now();
        gp.upload(spec, &tiles[r.clone()], scale)?;
        gp.gpu.queue.submit(std::iter::empty());
        gp.gpu.wait(None, "waiting for an upload")?;
        let t1 = Instant::now();
        gp.kernel.dispatch(&gp.gpu, spec, r.len(), None)?;
        gp.gpu.wait(None, "waiting for a dispatch")?;
        let t2 = Instant::now();
        gp.kernel.copy_out(&gp.gpu, spec, r.len())?;
        let rb = gp.kernel.bufs()?.readback[0].clone();
        gp.gpu
            .read_back(&rb, &mut out[r.start * per..r.end * per])?;
        let t3 = Instant::now();
        times.upload += t1 - t0;
        times.compute += t2 - t1;
        times.readback += t3 - t2;
    }
    Ok(times)
}
