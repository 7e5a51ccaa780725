//! WGSL preprocessing through `wgpu`: `shaders/preprocess.wgsl`, one compute dispatch per
//! batch, the same formulas in the same order as the CPU reference ([`super::cpu`]).
//!
//! The device, the pipeline and every buffer are created once and reused: buffers grow
//! to the largest batch seen and are never shrunk, so the steady state allocates nothing
//! per tile or per batch. A batch larger than the adapter's storage-binding limit is cut
//! into dispatches that each fit.
//!
//! Batches overlap: [`Preprocessor::begin`] uploads a batch, queues its dispatch and its
//! copy into one of two read-back buffers, and returns; [`Preprocessor::end`] waits for
//! that submission only and copies the result out. The detector queues batch N + 1 before
//! it collects batch N, so the device computes one batch while the host reads back the
//! previous one and gathers the next.
//!
//! Errors from wgpu (shader validation, out of memory, a lost device) are caught and
//! returned as [`Error::Gpu`]; wgpu's default handler, which panics, is replaced.

use super::{InputSpec, Preprocessor};
use crate::raster::{BandLayout, SampleType, Samples, TileBuf};
use crate::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wgpu::util::DeviceExt;

/// The WGSL source, compiled into the crate so that it works wherever it is installed.
pub const SHADER: &str = include_str!("../../shaders/preprocess.wgsl");

const WORKGROUP: u32 = 16;
const NO_BAND: u32 = u32::MAX;

/// `Params` in the shader (uniform; vec4 fields first, 128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    channels: [u32; 4],
    lo: [f32; 4],
    inv_range: [f32; 4],
    mean: [f32; 4],
    inv_std: [f32; 4],
    out_w: u32,
    out_h: u32,
    tiles: u32,
    alpha_band: u32,
    nodata: u32,
    nodata_on: u32,
    pad: f32,
    inv_scale: f32,
}

/// `Tile` in the shader (storage array element, 48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct TileDesc {
    offset: u32,
    width: u32,
    height: u32,
    bands: u32,
    planar: u32,
    bits: u32,
    place_w: u32,
    place_h: u32,
    identity: u32,
    _pad: [u32; 3],
}

/// The adapter a [`GpuPreprocessor`] runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. `NVIDIA H200` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// The graphics API, e.g. `Vulkan`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` (a software rasteriser such as
    /// lavapipe) or `Other`.
    pub device_type: String,
    /// Driver name and version, when the driver reports them.
    pub driver: String,
}

impl AdapterSummary {
    fn from_info(i: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: i.name.clone(),
            backend: format!("{:?}", i.backend),
            device_type: format!("{:?}", i.device_type),
            driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
        }
    }

    /// Whether this is real GPU hardware (not a software rasteriser).
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.device_type.as_str(),
            "DiscreteGpu" | "IntegratedGpu" | "VirtualGpu"
        )
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}, {}", self.name, self.backend, self.device_type)
    }
}

/// Wall time of the three GPU stages of one batch, measured with a full wait after each
/// (see [`GpuPreprocessor::run_staged`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuStageTimes {
    /// Packing the samples on the host and copying them to the device.
    pub upload: Duration,
    /// The compute dispatch.
    pub compute: Duration,
    /// Copying the tensor back to host memory.
    pub readback: Duration,
}

/// Which adapters a preprocessor may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterPolicy {
    /// Real GPU hardware only (what `Preprocess::Auto` uses).
    HardwareOnly,
    /// Hardware first, else a software adapter such as lavapipe (what `Preprocess::Gpu`
    /// uses).
    Any,
}

type MapStatus = Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>>;

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

/// Reusable device buffers, sized for `tile_cap` tiles, `raw_cap` and `out_cap` bytes.
struct Buffers {
    tiles: wgpu::Buffer,
    raw: wgpu::Buffer,
    out: wgpu::Buffer,
    /// Two read-back buffers: one batch can be read back while the next one runs.
    readback: [wgpu::Buffer; 2],
    bind_group: wgpu::BindGroup,
    tile_cap: u64,
    raw_cap: u64,
    out_cap: u64,
}

/// The WGSL preprocessor (the `gpu` feature).
pub struct GpuPreprocessor {
    adapter: AdapterSummary,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    buffers: Option<Buffers>,
    /// Host staging for the packed samples and the tile table, reused batch to batch.
    host_raw: Vec<u8>,
    host_tiles: Vec<TileDesc>,
    /// The largest storage binding and buffer the device allows, in bytes.
    max_binding: u64,
    /// Batches queued by `begin` and not yet collected by `end` (at most two).
    in_flight: VecDeque<InFlight>,
    /// The read-back slot the next queued batch uses.
    next_slot: usize,
    /// Set by wgpu's callbacks: a lost device or an uncaptured error.
    failure: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuPreprocessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuPreprocessor")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

fn gpu_err(what: impl std::fmt::Display) -> Error {
    Error::Gpu(what.to_string())
}

/// The backends searched: `WGPU_BACKEND` when set (e.g. `vulkan`), else Vulkan, Metal and
/// DX12 (not GL: a compute-only library has no use for it).
fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY)
}

/// Every adapter wgpu can see, hardware first (discrete, integrated, virtual, then software).
pub fn adapters() -> Vec<AdapterSummary> {
    sorted_adapters()
        .iter()
        .map(|a| AdapterSummary::from_info(&a.get_info()))
        .collect()
}

/// The adapters of the searched backends, best first.
fn sorted_adapters() -> Vec<wgpu::Adapter> {
    let mut v = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    v.sort_by_key(|a| rank(&a.get_info()));
    v
}

fn rank(i: &wgpu::AdapterInfo) -> u8 {
    match i.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
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
        let all = sorted_adapters();
        let seen: Vec<String> = all
            .iter()
            .map(|a| AdapterSummary::from_info(&a.get_info()).to_string())
            .collect();
        let pick = all.into_iter().find(|a| {
            let s = AdapterSummary::from_info(&a.get_info());
            policy == AdapterPolicy::Any || s.is_hardware()
        });
        let Some(adapter) = pick else {
            return Err(gpu_err(if seen.is_empty() {
                format!(
                    "no GPU adapter found (wgpu searched {:?}{}). Install a GPU driver with \
                     Vulkan support, or for a software adapter on Debian/Ubuntu: apt-get \
                     install mesa-vulkan-drivers libvulkan1",
                    backends(),
                    if std::env::var_os("WGPU_BACKEND").is_some() {
                        ", as WGPU_BACKEND asks"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "no hardware GPU adapter; wgpu saw only: {}",
                    seen.join("; ")
                )
            }));
        };
        let summary = AdapterSummary::from_info(&adapter.get_info());
        let alimits = adapter.limits();
        // Ask for the largest buffers the adapter offers: a batch of 32 inputs of 640x640
        // is 157 MB of f32, over wgpu's 128 MiB default binding limit.
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: alimits.max_storage_buffer_binding_size,
            max_buffer_size: alimits.max_buffer_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("satdet preprocess"),
            required_limits,
            ..Default::default()
        }))
        .map_err(|e| gpu_err(format!("cannot open a device on {summary}: {e}")))?;
        let failure = Arc::new(Mutex::new(None));
        {
            let f = Arc::clone(&failure);
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
                g.get_or_insert_with(|| format!("wgpu error: {e}"));
            }));
            let f = Arc::clone(&failure);
            device.set_device_lost_callback(move |reason, msg| {
                let mut g = f.lock().unwrap_or_else(|p| p.into_inner());
                g.get_or_insert_with(|| format!("the GPU device was lost ({reason:?}): {msg}"));
            });
        }
        let max_binding = alimits
            .max_storage_buffer_binding_size
            .min(alimits.max_buffer_size);

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("shaders/preprocess.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("satdet preprocess"),
            entries: &[
                layout_entry(0, wgpu::BufferBindingType::Uniform),
                layout_entry(1, wgpu::BufferBindingType::Storage { read_only: true }),
                layout_entry(2, wgpu::BufferBindingType::Storage { read_only: true }),
                layout_entry(3, wgpu::BufferBindingType::Storage { read_only: false }),
            ],
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("satdet preprocess"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("satdet preprocess"),
            layout: Some(&pl),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(format!(
                "shaders/preprocess.wgsl does not compile on {summary}: {e}"
            )));
        }
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("satdet params"),
            contents: bytemuck::bytes_of(&Params::default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let me = GpuPreprocessor {
            adapter: summary,
            device,
            queue,
            pipeline,
            layout,
            params,
            buffers: None,
            host_raw: Vec::new(),
            host_tiles: Vec::new(),
            max_binding,
            in_flight: VecDeque::new(),
            next_slot: 0,
            failure,
        };
        me.check_failure()?;
        Ok(me)
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
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

    fn check_failure(&self) -> Result<()> {
        let g = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        match &*g {
            Some(msg) => Err(gpu_err(format!("{} ({})", msg, self.adapter))),
            None => Ok(()),
        }
    }

    /// Waits for submission `index` (all submitted work when `None`).
    fn wait(&self, index: Option<wgpu::SubmissionIndex>) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: index,
                timeout: None,
            })
            .map_err(|e| {
                // A lost device or a failed submission explains the failed wait: let wgpu
                // run its callbacks, then prefer their report.
                let _ = self.device.poll(wgpu::PollType::Poll);
                self.check_failure()
                    .err()
                    .unwrap_or_else(|| gpu_err(format!("waiting for {}: {e}", self.adapter)))
            })?;
        self.check_failure()
    }

    /// Copies `out.len()` values out of `readback` once its mapping (requested with
    /// [`request_map`], waited for by the caller) has completed, and unmaps it.
    fn copy_mapped(
        &self,
        readback: &wgpu::Buffer,
        status: &MapStatus,
        out: &mut [f32],
    ) -> Result<()> {
        let mapped = status.lock().unwrap_or_else(|p| p.into_inner()).take();
        match mapped {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(gpu_err(format!("reading back from {}: {e}", self.adapter)))
            }
            None => {
                return Err(gpu_err(format!(
                    "reading back from {}: the buffer was not mapped after the wait",
                    self.adapter
                )))
            }
        }
        {
            let view = readback
                .slice(0..out.len() as u64 * 4)
                .get_mapped_range()
                .map_err(|e| gpu_err(format!("reading back from {}: {e}", self.adapter)))?;
            out.copy_from_slice(bytemuck::cast_slice(&view));
        }
        readback.unmap();
        Ok(())
    }

    fn bufs(&self) -> Result<&Buffers> {
        self.buffers
            .as_ref()
            .ok_or_else(|| gpu_err("internal: a dispatch before any upload"))
    }

    /// Makes sure the buffers hold `tiles` tile descriptors, `raw` bytes of samples and
    /// `out` bytes of output; grows (never shrinks) them.
    fn ensure_buffers(&mut self, tiles: u64, raw: u64, out: u64) {
        if let Some(b) = &self.buffers {
            if b.tile_cap >= tiles && b.raw_cap >= raw && b.out_cap >= out {
                return;
            }
        }
        let (tc, rc, oc) = match &self.buffers {
            Some(b) => (
                b.tile_cap.max(tiles),
                b.raw_cap.max(raw),
                b.out_cap.max(out),
            ),
            None => (tiles, raw, out),
        };
        let d = &self.device;
        let storage = |label, size, usage| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        let tiles_b = storage(
            "satdet tiles",
            tc * std::mem::size_of::<TileDesc>() as u64,
            U::STORAGE | U::COPY_DST,
        );
        let raw_b = storage("satdet raw samples", rc, U::STORAGE | U::COPY_DST);
        let out_b = storage("satdet input tensor", oc, U::STORAGE | U::COPY_SRC);
        let readback = [
            storage("satdet readback 0", oc, U::MAP_READ | U::COPY_DST),
            storage("satdet readback 1", oc, U::MAP_READ | U::COPY_DST),
        ];
        let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("satdet preprocess"),
            layout: &self.layout,
            entries: &[
                bind(0, &self.params),
                bind(1, &tiles_b),
                bind(2, &raw_b),
                bind(3, &out_b),
            ],
        });
        self.buffers = Some(Buffers {
            tiles: tiles_b,
            raw: raw_b,
            out: out_b,
            readback,
            bind_group,
            tile_cap: tc,
            raw_cap: rc,
            out_cap: oc,
        });
    }

    /// Splits a batch into dispatches whose buffers fit the device's binding limit.
    fn chunks(&self, spec: &InputSpec, tiles: &[&TileBuf]) -> Result<Vec<std::ops::Range<usize>>> {
        let out_per_tile = spec.input_len() as u64 * 4;
        let mut v = Vec::new();
        let (mut start, mut raw, mut out) = (0usize, 0u64, 0u64);
        for (i, t) in tiles.iter().enumerate() {
            let r = packed_len(t);
            if r > self.max_binding || out_per_tile > self.max_binding {
                return Err(gpu_err(format!(
                    "one tile needs {} bytes of samples and {out_per_tile} bytes of output; {} allows {} bytes per buffer",
                    r, self.adapter, self.max_binding
                )));
            }
            if i > start && (raw + r > self.max_binding || out + out_per_tile > self.max_binding) {
                v.push(start..i);
                start = i;
                raw = 0;
                out = 0;
            }
            raw += r;
            out += out_per_tile;
        }
        if start < tiles.len() {
            v.push(start..tiles.len());
        }
        Ok(v)
    }

    /// Packs `tiles` into the host staging buffers and writes them, and the parameters,
    /// to the device (the copy happens at the next submit).
    fn upload(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
        let inv_scale = 1.0 / scale;
        self.host_raw.clear();
        self.host_tiles.clear();
        for t in tiles {
            let win = t.window();
            let (pw, ph) = spec.placement(win.width, win.height, f64::from(scale));
            let offset = u32::try_from(self.host_raw.len() / 4)
                .map_err(|_| gpu_err("a batch of more than 16 GiB of samples"))?;
            let bits = match t.samples() {
                Samples::U8(v) => {
                    self.host_raw.extend_from_slice(v);
                    8
                }
                Samples::U16(v) => {
                    if cfg!(target_endian = "little") {
                        self.host_raw.extend_from_slice(bytemuck::cast_slice(v));
                    } else {
                        self.host_raw.extend(v.iter().flat_map(|s| s.to_le_bytes()));
                    }
                    16
                }
            };
            // Each tile starts on a word boundary.
            self.host_raw
                .resize(self.host_raw.len().next_multiple_of(4), 0);
            self.host_tiles.push(TileDesc {
                offset,
                width: win.width,
                height: win.height,
                bands: u32::from(t.bands()),
                planar: u32::from(t.layout() == BandLayout::Planar),
                bits,
                place_w: pw,
                place_h: ph,
                identity: u32::from(pw == win.width && ph == win.height),
                _pad: [0; 3],
            });
        }
        // wgpu rejects empty bindings: keep at least one word.
        if self.host_raw.is_empty() {
            self.host_raw.resize(4, 0);
        }
        // A nodata value that is no sample value (-9999, 0.5) matches no pixel, as on the
        // CPU: u32::MAX is no sample. U16's range covers every 8-bit tile as well.
        let nodata = spec.mask.nodata.map(|_| {
            spec.mask
                .nodata_sample(SampleType::U16)
                .map_or(u32::MAX, u32::from)
        });
        let mut params = Params {
            channels: [0; 4],
            lo: spec.scaling.lo,
            inv_range: spec.scaling.inv_range,
            mean: [spec.mean[0], spec.mean[1], spec.mean[2], 0.0],
            inv_std: [spec.inv_std[0], spec.inv_std[1], spec.inv_std[2], 1.0],
            out_w: spec.width,
            out_h: spec.height,
            tiles: tiles.len() as u32,
            alpha_band: spec.mask.alpha_band.map_or(NO_BAND, u32::from),
            nodata: nodata.unwrap_or(0),
            nodata_on: u32::from(nodata.is_some()),
            pad: spec.pad,
            inv_scale,
        };
        for c in 0..3 {
            params.channels[c] = u32::from(spec.channels[c]);
        }
        let out_bytes = tiles.len() as u64 * spec.input_len() as u64 * 4;
        self.ensure_buffers(tiles.len() as u64, self.host_raw.len() as u64, out_bytes);
        let b = self.bufs()?;
        self.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
        self.queue
            .write_buffer(&b.tiles, 0, bytemuck::cast_slice(&self.host_tiles));
        self.queue.write_buffer(&b.raw, 0, &self.host_raw);
        Ok(())
    }

    /// Records the dispatch (and, with `copy`, the copy of the result to the read-back
    /// buffer) and submits it.
    fn dispatch(
        &self,
        spec: &InputSpec,
        n_tiles: usize,
        copy_to: Option<&wgpu::Buffer>,
    ) -> Result<wgpu::SubmissionIndex> {
        let b = self.bufs()?;
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("satdet preprocess"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("satdet preprocess"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &b.bind_group, &[]);
            pass.dispatch_workgroups(
                spec.width.div_ceil(WORKGROUP),
                spec.height.div_ceil(WORKGROUP),
                n_tiles as u32,
            );
        }
        if let Some(rb) = copy_to {
            let bytes = n_tiles as u64 * spec.input_len() as u64 * 4;
            enc.copy_buffer_to_buffer(&b.out, 0, rb, 0, bytes);
        }
        Ok(self.queue.submit([enc.finish()]))
    }

    fn copy_out_only(&self, spec: &InputSpec, n_tiles: usize) -> Result<()> {
        let b = self.bufs()?;
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("satdet readback"),
            });
        let bytes = n_tiles as u64 * spec.input_len() as u64 * 4;
        enc.copy_buffer_to_buffer(&b.out, 0, &b.readback[0], 0, bytes);
        self.queue.submit([enc.finish()]);
        Ok(())
    }

    /// Maps `readback` and copies `out.len()` values from it (waits for all work).
    fn read_back(&self, readback: &wgpu::Buffer, out: &mut [f32]) -> Result<()> {
        let status = request_map(readback, out.len() as u64 * 4);
        self.wait(None)?;
        self.copy_mapped(readback, &status, out)
    }

    /// Like [`Preprocessor::run`], but waits for the device after each stage and returns
    /// the time of each (for benchmarks; `run` overlaps them and is faster).
    pub fn run_staged(
        &mut self,
        spec: &InputSpec,
        tiles: &[&TileBuf],
        scale: f32,
        out: &mut [f32],
    ) -> Result<GpuStageTimes> {
        super::cpu::check_batch(spec, tiles, scale, out)?;
        self.require_idle()?;
        let mut times = GpuStageTimes::default();
        let per = spec.input_len();
        for r in self.chunks(spec, tiles)? {
            let t0 = Instant::now();
            self.upload(spec, &tiles[r.clone()], scale)?;
            self.queue.submit(std::iter::empty());
            self.wait(None)?;
            let t1 = Instant::now();
            self.dispatch(spec, r.len(), None)?;
            self.wait(None)?;
            let t2 = Instant::now();
            self.copy_out_only(spec, r.len())?;
            let rb = self.bufs()?.readback[0].clone();
            self.read_back(&rb, &mut out[r.start * per..r.end * per])?;
            let t3 = Instant::now();
            times.upload += t1 - t0;
            times.compute += t2 - t1;
            times.readback += t3 - t2;
        }
        Ok(times)
    }

    /// Destroys the device, as a driver reset would (for the device-loss test).
    #[cfg(test)]
    pub(crate) fn destroy_device(&self) {
        self.device.destroy();
    }
}

/// Asks wgpu to map the first `bytes` of `readback` for reading once the work submitted
/// so far is done; the returned status is filled by wgpu's callback during a wait.
fn request_map(readback: &wgpu::Buffer, bytes: u64) -> MapStatus {
    let status: MapStatus = Arc::new(Mutex::new(None));
    let s = Arc::clone(&status);
    readback
        .slice(0..bytes)
        .map_async(wgpu::MapMode::Read, move |r| {
            *s.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        });
    status
}

fn packed_len(t: &TileBuf) -> u64 {
    let n = match t.samples() {
        Samples::U8(v) => v.len() as u64,
        Samples::U16(v) => v.len() as u64 * 2,
    };
    n.next_multiple_of(4)
}

fn layout_entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn bind(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

impl Preprocessor for GpuPreprocessor {
    fn describe(&self) -> String {
        format!("gpu ({})", self.adapter)
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

    fn pipelined(&self) -> bool {
        true
    }

    fn begin(&mut self, spec: &InputSpec, tiles: &[&TileBuf], scale: f32) -> Result<()> {
        super::cpu::check_tiles(spec, tiles, scale)?;
        self.check_failure()?;
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
            let readback = self.bufs()?.readback[slot].clone();
            let index = self.dispatch(spec, tiles.len(), Some(&readback))?;
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
                let readback = self.bufs()?.readback[slot].clone();
                self.dispatch(spec, r.len(), Some(&readback))?;
                self.read_back(&readback, &mut host[r.start * per..r.end * per])?;
            }
            self.in_flight.push_back(InFlight {
                len,
                result: Pending::Host(host),
            });
        }
        Ok(())
    }

    fn end(&mut self, out: &mut [f32]) -> Result<()> {
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
                self.wait(Some(index))?;
                self.copy_mapped(&readback, &status, out)?;
            }
        }
        Ok(())
    }

    fn cancel(&mut self) {
        while let Some(f) = self.in_flight.pop_front() {
            if let Pending::Device {
                readback,
                index,
                status,
            } = f.result
            {
                let _ = self.wait(Some(index));
                if let Some(Ok(())) = status.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    readback.unmap();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{CpuPreprocessor, Scaling};
    use crate::raster::{MaskSpec, Window};

    fn spec() -> InputSpec {
        InputSpec {
            width: 24,
            height: 16,
            channels: [0, 1, 2],
            scaling: Scaling::u8(),
            mean: [0.0; 3],
            inv_std: [1.0; 3],
            pad: 114.0 / 255.0,
            mask: MaskSpec {
                alpha_band: None,
                nodata: None,
            },
        }
    }

    fn tiles(n: usize) -> Vec<TileBuf> {
        (0..n)
            .map(|k| {
                let s: Vec<u8> = (0..20 * 13 * 3)
                    .map(|i| ((i * 31 + k * 7) % 256) as u8)
                    .collect();
                TileBuf::from_samples(
                    Window::new(0, 0, 20, 13),
                    3,
                    BandLayout::Interleaved,
                    Samples::U8(s),
                )
                .expect("tile")
            })
            .collect()
    }

    #[test]
    fn queued_batches_come_back_in_order_and_equal_the_cpu() {
        let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
        let sp = spec();
        let t = tiles(5);
        let (a, b, c) = (vec![&t[0], &t[1]], vec![&t[2]], vec![&t[3], &t[4]]);
        let cpu = |ts: &[&TileBuf]| {
            let mut o = vec![0.0; ts.len() * sp.input_len()];
            CpuPreprocessor::new()
                .run(&sp, ts, 1.0, &mut o)
                .expect("cpu");
            o
        };
        let out = |n: usize| vec![f32::NAN; n * sp.input_len()];
        // a and b in flight together; then c queued behind b.
        g.begin(&sp, &a, 1.0).expect("begin a");
        g.begin(&sp, &b, 1.0).expect("begin b");
        assert!(
            g.begin(&sp, &c, 1.0).is_err(),
            "a third queued batch is refused"
        );
        let (mut oa, mut ob, mut oc) = (out(2), out(1), out(2));
        g.end(&mut oa).expect("end a");
        g.begin(&sp, &c, 1.0).expect("begin c");
        g.end(&mut ob).expect("end b");
        g.end(&mut oc).expect("end c");
        assert_eq!(oa, cpu(&a));
        assert_eq!(ob, cpu(&b));
        assert_eq!(oc, cpu(&c));
        assert!(g.end(&mut oc).is_err(), "nothing queued");
        // A queued batch left behind is dropped by cancel, and run works again.
        g.begin(&sp, &a, 1.0).expect("begin");
        assert!(
            g.run(&sp, &b, 1.0, &mut ob).is_err(),
            "run while a batch is queued"
        );
        g.cancel();
        g.run(&sp, &b, 1.0, &mut ob).expect("run after cancel");
        assert_eq!(ob, cpu(&b));
    }

    #[test]
    fn a_shader_that_does_not_validate_is_a_gpu_error() {
        let bad = SHADER.replace("fn main(", "fn main(oops: f32, ");
        match GpuPreprocessor::with_shader(AdapterPolicy::Any, &bad) {
            Err(Error::Gpu(m)) => assert!(m.contains("does not compile"), "{m}"),
            other => panic!("expected a GPU error, got {other:?}"),
        }
    }

    #[test]
    fn a_lost_device_is_a_gpu_error_not_a_panic() {
        let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
        let t = tiles(1);
        let mut out = vec![0.0; spec().input_len()];
        g.run(&spec(), &[&t[0]], 1.0, &mut out)
            .expect("first batch");
        g.destroy_device();
        match g.run(&spec(), &[&t[0]], 1.0, &mut out) {
            Err(Error::Gpu(m)) => assert!(m.contains("lost") || m.contains("wgpu"), "{m}"),
            other => panic!("expected a GPU error, got {other:?}"),
        }
    }

    #[test]
    fn a_batch_over_the_binding_limit_is_split_into_dispatches() {
        let mut g = GpuPreprocessor::new(AdapterPolicy::Any).expect("adapter (lavapipe in CI)");
        let sp = spec();
        // Room for two inputs per dispatch: seven tiles take four dispatches.
        g.max_binding = 2 * sp.input_len() as u64 * 4;
        assert_eq!(
            g.chunks(&sp, &tiles(7).iter().collect::<Vec<_>>())
                .expect("chunks")
                .len(),
            4
        );
        let t = tiles(7);
        let refs: Vec<&TileBuf> = t.iter().collect();
        let mut a = vec![0.0; 7 * sp.input_len()];
        let mut b = vec![1.0; 7 * sp.input_len()];
        CpuPreprocessor::new()
            .run(&sp, &refs, 1.0, &mut a)
            .expect("cpu");
        g.run(&sp, &refs, 1.0, &mut b).expect("gpu");
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        // The staged run (benchmarks) gives the same tensor.
        let mut c = vec![2.0; 7 * sp.input_len()];
        g.run_staged(&sp, &refs, 1.0, &mut c).expect("staged");
        assert_eq!(b, c);
    }
}
