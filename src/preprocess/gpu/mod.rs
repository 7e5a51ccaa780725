//! WGSL preprocessing through `wgpu`: `shaders/preprocess.wgsl`, one compute dispatch per
//! batch, the same formulas in the same order as the CPU reference ([`super::cpu`]).
//!
//! One concept per file, as in wgpu's examples, device acquisition apart from GPU work:
//! - `adapter`: which adapter to use ([`AdapterPolicy`], [`adapters`]) and opening a
//!   device on it; skipped entirely by [`GpuPreprocessor::from_device`];
//! - `pack`: pure host-side packing of tiles into the bytes uploaded, and the split of a
//!   batch into dispatches that fit the device's binding limit;
//! - `device`: the device and queue, their error handlers, every wait (each with a
//!   timeout) and read-back;
//! - `kernel`: the pipeline and buffers, built once and reused: buffers grow to the
//!   largest batch seen and are never shrunk, so the steady state allocates nothing per
//!   tile or per batch;
//! - this file: [`GpuPreprocessor`], which queues batches on them.
//!
//! Batches overlap: [`Preprocessor::begin`] uploads a batch, queues its dispatch and its
//! copy into one of two read-back buffers, and returns; [`Preprocessor::end`] waits for
//! that submission only and copies the result out. The detector queues batch N + 1 before
//! it collects batch N, so the device computes one batch while the host reads back the
//! previous one and gathers the next.
//!
//! Errors from wgpu (shader validation, out of memory, a lost device) and waits longer
//! than [`GpuPreprocessor::wait_timeout`] are returned as [`Error::Gpu`]; wgpu's default
//! handler, which panics, is replaced.

mod adapter;
#[doc(hidden)]
pub mod bench;
mod device;
mod kernel;
mod pack;
#[cfg(test)]
mod tests;

pub use adapter::{adapters, AdapterPolicy, AdapterSummary};
pub use device::DEFAULT_WAIT_TIMEOUT;
/// The `wgpu` satdet is built with (pinned exactly): a program that opens its own device
/// for [`GpuPreprocessor::from_device`] can use it to be sure the versions match.
pub use wgpu;

use super::{InputSpec, Preprocessor};
use crate::error::{Error, Result};
use crate::raster::TileBuf;
use device::{gpu_err, request_map, Gpu, MapStatus};
use kernel::Kernel;
use pack::Packed;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

/// The WGSL source, compiled into the crate so that it works wherever it is installed.
pub const SHADER: &str = include_str!("../../../shaders/preprocess.wgsl");

/// A batch queued by [`Preprocessor::begin`].
struct InFlight {
    /// `f32` values it produces.
    len: usize,
    result: Pending,
}

enum Pending {
    /// On the device: copied to `readback` by submission `index`, mapping requested.
    Device {
        readback: wgpu::Buffer,
        index: wgpu::SubmissionIndex,
        status: MapStatus,
    },
    /// Already on the host (a batch over the binding limit runs in several dispatches,
    /// synchronously).
    Host(Vec<f32>),
}

/// The WGSL preprocessor (the `gpu` feature).
pub struct GpuPreprocessor {
    gpu: Gpu,
    kernel: Kernel,
    /// Host staging for the packed samples and the tile table, reused batch to batch.
    packed: Packed,
    /// Batches queued by `begin` and not yet collected by `end` (at most two).
    in_flight: VecDeque<InFlight>,
    /// The read-back slot the next queued batch uses.
    next_slot: usize,
    /// The buffers of the submitted batches, in order.
    submitted: VecDeque<Vec<f32>>,
}

impl std::fmt::Debug for GpuPreprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuPreprocessor")
            .field("adapter", &self.gpu.adapter)
            .field("wait_timeout", &self.gpu.wait_timeout)
            .finish_non_exhaustive()
    }
}

impl GpuPreprocessor {
    /// Opens the best adapter allowed by `policy` and builds the pipeline.
    ///
    /// # Errors
    /// [`Error::Gpu`] when no adapter qualifies (the message lists the adapters seen and
    /// how to get one), or when the device or the pipeline cannot be created.
    pub fn new(policy: AdapterPolicy) -> Result<Self> {
        Self::with_shader(policy, SHADER)
    }

    pub(crate) fn with_shader(policy: AdapterPolicy, shader: &str) -> Result<Self> {
        let (device, queue) = adapter::open(&adapter::pick(policy)?)?;
        Self::from_device_with_shader(device, queue, shader)
    }

    /// Builds the pipeline on a device the caller opened (with the same `wgpu` version as
    /// satdet: `satdet::preprocess::wgpu`), for a program that already holds one or that
    /// chooses its adapter itself.
    ///
    /// The preprocessor installs its own uncaptured-error handler and device-lost callback
    /// on `device` (replacing the caller's), so that errors come back as [`Error::Gpu`]
    /// instead of panics. Batches are split to fit the device's
    /// `max_storage_buffer_binding_size` and `max_buffer_size`: request the adapter's
    /// limits to allow large batches in one dispatch.
    ///
    /// # Errors
    /// [`Error::Gpu`] when the shader does not compile on the device, or the device has
    /// already failed.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Result<Self> {
        Self::from_device_with_shader(device, queue, SHADER)
    }

    fn from_device_with_shader(
        device: wgpu::Device,
        queue: wgpu::Queue,
        shader: &str,
    ) -> Result<Self> {
        let gpu = Gpu::new(device, queue);
        let kernel = Kernel::new(&gpu, shader)?;
        gpu.check_failure()?;
        Ok(GpuPreprocessor {
            gpu,
            kernel,
            packed: Packed::default(),
            in_flight: VecDeque::new(),
            next_slot: 0,
            submitted: VecDeque::new(),
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.gpu.adapter
    }

    /// The longest any wait for the device may take ([`DEFAULT_WAIT_TIMEOUT`] unless set).
    pub fn wait_timeout(&self) -> Duration {
        self.gpu.wait_timeout
    }

    /// Sets the longest any wait for the device may take. A wait that takes longer is an
    /// [`Error::Gpu`] naming the wait and the limit, and the preprocessor is not used again
    /// (the device may still hold its buffers): a hung driver fails a detection instead of
    /// hanging it.
    pub fn set_wait_timeout(&mut self, timeout: Duration) {
        self.gpu.wait_timeout = timeout;
    }

    fn require_idle(&self) -> Result<()> {
        if self.in_flight.is_empty() {
            Ok(())
        } else {
            Err(gpu_err(
                "internal: run() while batches queued with begin() are not collected",
            ))
        }
    }

    /// Splits a batch into dispatches whose buffers fit the device's binding limit.
    fn chunks(&self, spec: &InputSpec, tiles: &[&TileBuf]) -> Result<Vec<Range<usize>>> {
        pack::chunks(spec, tiles, self.gpu.max_binding).map_err(|e| {
            gpu_err(format!(
                "one tile needs {} bytes of samples and {} bytes of output; {} allows {} \
                 bytes per buffer",
                e.raw_bytes, e.out_bytes, self.gpu.adapter, e.max_binding
            ))
        })
    }

    /// Packs `tiles` on the host and writes them, and the parameters, to the device (the
    /// copy happens at the next submit).
    fn upload(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
        let params = self.packed.pack(spec, tiles, scale)?;
        self.kernel.upload(&self.gpu, spec, &self.packed, &params)
    }

    /// Destroys the device, as a driver reset would (for the device-loss test).
    #[cfg(test)]
    pub(crate) fn destroy_device(&self) {
        self.gpu.device.destroy();
    }
}

impl GpuPreprocessor {
    /// Queues a batch without waiting for it (at most two at a time).
    pub(crate) fn begin(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
        super::cpu::check_tiles(spec, tiles, scale)?;
        self.gpu.check_failure()?;
        if self.in_flight.len() >= 2 {
            return Err(gpu_err(
                "internal: a third batch queued before the first was collected",
            ));
        }
        let per = spec.input_len();
        let len = tiles.len() * per;
        // The free read-back slot: the other one may hold the batch still in flight.
        let slot = self.next_slot;
        self.next_slot ^= 1;
        let chunks = self.chunks(spec, tiles)?;
        if chunks.len() == 1 {
            self.upload(spec, tiles, scale)?;
            let readback = self.kernel.bufs()?.readback[slot].clone();
            let index = self
                .kernel
                .dispatch(&self.gpu, spec, tiles.len(), Some(&readback))?;
            let status = request_map(&readback, len as u64 * 4);
            self.in_flight.push_back(InFlight {
                len,
                result: Pending::Device {
                    readback,
                    index,
                    status,
                },
            });
        } else {
            // Over the binding limit: several dispatches, each read back at once.
            let mut host = vec![0.0f32; len];
            for r in chunks {
                self.upload(spec, &tiles[r.clone()], scale)?;
                let readback = self.kernel.bufs()?.readback[slot].clone();
                self.kernel
                    .dispatch(&self.gpu, spec, r.len(), Some(&readback))?;
                self.gpu
                    .read_back(&readback, &mut host[r.start * per..r.end * per])?;
            }
            self.in_flight.push_back(InFlight {
                len,
                result: Pending::Host(host),
            });
        }
        Ok(())
    }

    /// Writes the oldest queued batch into `out`.
    pub(crate) fn end(&mut self, out: &mut [f32]) -> Result<()> {
        let Some(f) = self.in_flight.pop_front() else {
            return Err(gpu_err("internal: end() without a queued batch"));
        };
        if out.len() != f.len {
            return Err(Error::Config(format!(
                "preprocess: output holds {} values, the queued batch has {}",
                out.len(),
                f.len
            )));
        }
        match f.result {
            Pending::Host(v) => out.copy_from_slice(&v),
            Pending::Device {
                readback,
                index,
                status,
            } => {
                // Wait for this batch only: the next one may still be running.
                self.gpu.wait(Some(index), "waiting for a batch")?;
                self.gpu.copy_mapped(&readback, &status, out)?;
            }
        }
        Ok(())
    }
}

impl Preprocessor for GpuPreprocessor {
    fn describe(&self) -> String {
        format!("gpu ({})", self.gpu.adapter)
    }

    fn depth(&self) -> usize {
        2
    }

    fn submit(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: Vec<f32>,
    ) -> Result<()> {
        super::cpu::submitted_len(spec, tiles, out.len())?;
        self.begin(spec, tiles, scale)?;
        self.submitted.push_back(out);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<f32>> {
        let (Some(mut out), Some(len)) = (
            self.submitted.pop_front(),
            self.in_flight.front().map(|f| f.len),
        ) else {
            return Err(gpu_err("internal: collect() without a submitted batch"));
        };
        self.end(&mut out[..len])?;
        Ok(out)
    }

    fn run(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<()> {
        super::cpu::check_batch(spec, tiles, scale, out)?;
        self.require_idle()?;
        self.begin(spec, tiles, scale)?;
        self.end(out)
    }

    fn cancel(&mut self) {
        self.submitted.clear();
        if self.gpu.check_failure().is_err() {
            // A lost device or a timed-out wait: waiting again could only time out again.
            self.in_flight.clear();
            return;
        }
        while let Some(f) = self.in_flight.pop_front() {
            if let Pending::Device {
                readback,
                index,
                status,
            } = f.result
            {
                let _ = self.gpu.wait(Some(index), "waiting for a cancelled batch");
                if let Some(Ok(())) = status.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    readback.unmap();
                }
            }
        }
    }
}
