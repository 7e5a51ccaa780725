//! Preprocessing throughput: `cargo bench --bench preprocess`.
//!
//! The CPU reference on batches of 1, 8 and 32 tiles of 640×640, 8-bit RGB and 16-bit
//! panchromatic. (The GPU backend's rows join this benchmark when it lands; see README.)

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use satdet::preprocess::{CpuPreprocessor, InputSpec, Preprocessor, Scaling};
use satdet::raster::{BandLayout, MaskSpec, Samples, TileBuf, Window};

fn tile(bands: u16, sixteen: bool) -> TileBuf {
    let n = 640 * 640 * usize::from(bands);
    let samples = if sixteen {
        Samples::U16((0..n).map(|i| (i * 7 % 2048) as u16).collect())
    } else {
        Samples::U8((0..n).map(|i| (i * 7 % 256) as u8).collect())
    };
    TileBuf::from_samples(
        Window::new(0, 0, 640, 640),
        bands,
        BandLayout::Interleaved,
        samples,
    )
    .expect("tile")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("preprocess");
    g.sample_size(10);
    for (name, bands, sixteen) in [("rgb8", 3u16, false), ("pan16", 1, true)] {
        let t = tile(bands, sixteen);
        let spec = InputSpec {
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
        };
        for batch in [1usize, 8, 32] {
            let tiles: Vec<&TileBuf> = (0..batch).map(|_| &t).collect();
            let mut out = vec![0.0f32; batch * spec.input_len()];
            let in_bytes =
                640 * 640 * u64::from(bands) * if sixteen { 2 } else { 1 } * batch as u64;
            g.throughput(Throughput::Bytes(in_bytes));
            g.bench_with_input(
                BenchmarkId::new(format!("cpu/{name}"), batch),
                &batch,
                |b, _| {
                    let mut p = CpuPreprocessor::new();
                    b.iter(|| p.run(&spec, &tiles, 1.0, &mut out).expect("run"));
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
