//! Preprocessing throughput, CPU vs GPU: `cargo bench --bench preprocess`.
//!
//! Batches of 1, 8 and 32 tiles of 640×640, 8-bit RGB and 16-bit panchromatic, into the
//! 640×640 NCHW input. `cpu/*` is the reference; `gpu/*` is the WGSL path end to end
//! (upload, dispatch, read-back, as the detector runs it); `gpu-upload/*`, `gpu-compute/*`
//! and `gpu-readback/*` time each stage alone, with a full device wait after each.
//! Throughput is reported as tiles/s and input MB/s. The GPU rows use the best adapter
//! wgpu finds (hardware first, else a software one such as lavapipe; the adapter is
//! printed), and are left out with a message when there is none.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use satdet::preprocess::{CpuPreprocessor, InputSpec, Preprocessor, Scaling};
use satdet::raster::{BandLayout, MaskSpec, Samples, TileBuf, Window};
use std::time::Duration;

fn tile(bands: u16, sixteen: bool, seed: usize) -> TileBuf {
    let n = 640 * 640 * usize::from(bands);
    let samples = if sixteen {
        Samples::U16((0..n).map(|i| ((i + seed) * 7 % 2048) as u16).collect())
    } else {
        Samples::U8((0..n).map(|i| ((i + seed) * 7 % 256) as u8).collect())
    };
    TileBuf::from_samples(
        Window::new(0, 0, 640, 640),
        bands,
        BandLayout::Interleaved,
        samples,
    )
    .expect("tile")
}

fn spec(bands: u16, sixteen: bool) -> InputSpec {
    InputSpec {
        width: 640,
        height: 640,
        channels: if bands == 1 { [0, 0, 0] } else { [0, 1, 2] },
        scaling: if sixteen {
            Scaling::from_range([100.0; 4], [1900.0; 4])
        } else {
            Scaling::u8()
        },
        mean: [0.0; 3],
        inv_std: [1.0; 3],
        pad: 114.0 / 255.0,
        mask: MaskSpec {
            alpha_band: None,
            nodata: None,
        },
    }
}

fn bench(c: &mut Criterion) {
    #[cfg(feature = "gpu")]
    let mut gpu =
        match satdet::preprocess::GpuPreprocessor::new(satdet::preprocess::AdapterPolicy::Any) {
            Ok(g) => {
                eprintln!("GPU adapter: {}", g.adapter());
                Some(g)
            }
            Err(e) => {
                eprintln!("no GPU rows: {e}");
                None
            }
        };
    let mut g = c.benchmark_group("preprocess");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for (name, bands, sixteen) in [("rgb8", 3u16, false), ("pan16", 1, true)] {
        let spec = spec(bands, sixteen);
        // Distinct tiles, so that nothing is served from a cache that a real scene would miss.
        let pool: Vec<TileBuf> = (0..32).map(|k| tile(bands, sixteen, k)).collect();
        for batch in [1usize, 8, 32] {
            let tiles: Vec<&TileBuf> = pool.iter().take(batch).collect();
            let mut out = vec![0.0f32; batch * spec.input_len()];
            let in_bytes =
                640 * 640 * u64::from(bands) * if sixteen { 2 } else { 1 } * batch as u64;
            g.throughput(Throughput::ElementsAndBytes {
                elements: batch as u64,
                bytes: in_bytes,
            });
            g.bench_with_input(
                BenchmarkId::new(format!("cpu/{name}"), batch),
                &batch,
                |b, _| {
                    let mut p = CpuPreprocessor::new();
                    b.iter(|| p.run(&spec, &tiles, 1.0, &mut out).expect("run"));
                },
            );
            #[cfg(feature = "gpu")]
            if let Some(gp) = gpu.as_mut() {
                g.bench_with_input(
                    BenchmarkId::new(format!("gpu/{name}"), batch),
                    &batch,
                    |b, _| b.iter(|| gp.run(&spec, &tiles, 1.0, &mut out).expect("run")),
                );
                type Pick = fn(&satdet::preprocess::gpu_bench::GpuStageTimes) -> Duration;
                let stages: [(&str, Pick); 3] = [
                    ("gpu-upload", |t| t.upload),
                    ("gpu-compute", |t| t.compute),
                    ("gpu-readback", |t| t.readback),
                ];
                for (stage, pick) in stages {
                    g.bench_with_input(
                        BenchmarkId::new(format!("{stage}/{name}"), batch),
                        &batch,
                        |b, _| {
                            b.iter_custom(|iters| {
                                let mut total = Duration::ZERO;
                                for _ in 0..iters {
                                    let t = satdet::preprocess::gpu_bench::run_staged(
                                        gp, &spec, &tiles, 1.0, &mut out,
                                    )
                                    .expect("run");
                                    total += pick(&t);
                                }
                                total
                            })
                        },
                    );
                }
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
