//! Seam merging at scale: `cargo bench --bench merge` (100 000 candidates).

use criterion::{criterion_group, criterion_main, Criterion};
use satdet::geo::PixelBox;
use satdet::postprocess::{merge_tiles, Candidate};

fn bench(c: &mut Criterion) {
    let mut v = Vec::with_capacity(100_000);
    for i in 0..50_000u32 {
        let (x, y) = (f64::from(i % 250) * 20.0, f64::from(i / 250) * 20.0);
        v.push(Candidate {
            clipped: false,
            bbox: PixelBox::new(x, y, x + 12.0, y + 6.0),
            score: 0.5 + (i % 7) as f32 * 0.01,
            class_id: i % 3,
            tile: 0,
        });
        v.push(Candidate {
            clipped: false,
            bbox: PixelBox::new(x + 0.5, y, x + 12.0, y + 6.0),
            score: 0.4,
            class_id: i % 3,
            tile: 1,
        });
    }
    let mut g = c.benchmark_group("merge");
    g.sample_size(10);
    g.bench_function("100k_candidates", |b| {
        b.iter(|| merge_tiles(v.clone(), 0.5, 0.7))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
