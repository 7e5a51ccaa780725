//! The compute work, built once per device and reused (as wgpu's `repeated_compute`
//! example does): the pipeline compiled from `shaders/preprocess.wgsl`, the parameter
//! buffer, and the storage and read-back buffers, which grow to the largest batch seen and
//! are never shrunk, so the steady state allocates nothing per tile or per batch.

use super::device::{gpu_err, Gpu};
use super::pack::{Packed, Params, TileDesc};
use crate::error::Result;
use crate::preprocess::InputSpec;
use wgpu::util::DeviceExt;

/// `@workgroup_size(16, 16, 1)` in the shader.
const WORKGROUP: u32 = 16;

/// Reusable device buffers, sized for `tile_cap` tiles, `raw_cap` and `out_cap` bytes.
pub(super) struct Buffers {
    tiles: wgpu::Buffer,
    raw: wgpu::Buffer,
    out: wgpu::Buffer,
    /// Two read-back buffers: one batch can be read back while the next one runs.
    pub readback: [wgpu::Buffer; 2],
    bind_group: wgpu::BindGroup,
    tile_cap: u64,
    raw_cap: u64,
    out_cap: u64,
}

/// The pipeline and its buffers on one device.
pub(super) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    buffers: Option<Buffers>,
}

impl Kernel {
    /// Compiles `shader` on `gpu`'s device and builds the pipeline.
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when the shader does not validate on this device.
    pub fn new(gpu: &Gpu, shader: &str) -> Result<Self> {
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("shaders/preprocess.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader.into()),
        });
        // Bindings as declared in the shader: params, tiles, raw samples, output tensor.
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
                "shaders/preprocess.wgsl does not compile on {}: {e}",
                gpu.adapter
            )));
        }
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("satdet params"),
            contents: bytemuck::bytes_of(&Params::default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        Ok(Kernel {
            pipeline,
            layout,
            params,
            buffers: None,
        })
    }

    pub fn bufs(&self) -> Result<&Buffers> {
        self.buffers
            .as_ref()
            .ok_or_else(|| gpu_err("internal: a dispatch before any upload"))
    }

    /// Writes a packed batch and its parameters to the device (the copy happens at the
    /// next submit), growing the buffers first when the batch needs more room.
    pub fn upload(
        &mut self,
        gpu: &Gpu,
        spec: &InputSpec,
        packed: &Packed,
        params: &Params,
    ) -> Result<()> {
        let n = packed.tiles.len() as u64;
        let out_bytes = n * spec.input_len() as u64 * 4;
        self.ensure_buffers(gpu, n, packed.raw.len() as u64, out_bytes);
        let b = self.bufs()?;
        gpu.queue
            .write_buffer(&self.params, 0, bytemuck::bytes_of(params));
        gpu.queue
            .write_buffer(&b.tiles, 0, bytemuck::cast_slice(&packed.tiles));
        gpu.queue.write_buffer(&b.raw, 0, &packed.raw);
        Ok(())
    }

    /// Makes sure the buffers hold `tiles` tile descriptors, `raw` bytes of samples and
    /// `out` bytes of output; grows (never shrinks) them.
    fn ensure_buffers(&mut self, gpu: &Gpu, tiles: u64, raw: u64, out: u64) {
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
        let d = &gpu.device;
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

    /// Records the dispatch over the uploaded `n_tiles` tiles (and, with `copy_to`, the
    /// copy of the result to that read-back buffer) and submits it.
    pub fn dispatch(
        &self,
        gpu: &Gpu,
        spec: &InputSpec,
        n_tiles: usize,
        copy_to: Option<&wgpu::Buffer>,
    ) -> Result<wgpu::SubmissionIndex> {
        let b = self.bufs()?;
        let mut enc = gpu
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
        Ok(gpu.queue.submit([enc.finish()]))
    }

    /// Submits only the copy of the last dispatch's output to read-back buffer 0 (for the
    /// staged runs of the benchmarks).
    pub fn copy_out(&self, gpu: &Gpu, spec: &InputSpec, n_tiles: usize) -> Result<()> {
        let b = self.bufs()?;
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("satdet readback"),
            });
        let bytes = n_tiles as u64 * spec.input_len() as u64 * 4;
        enc.copy_buffer_to_buffer(&b.out, 0, &b.readback[0], 0, bytes);
        gpu.queue.submit([enc.finish()]);
        Ok(())
    }
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
