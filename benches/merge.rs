//! Seam merging at scale: `cargo bench --bench merge` (100 000 candidates, axis-aligned
//! and oriented: the oriented ones are compared by polygon intersection).

use criterion::{criterion_group, criterion_main, Criterion};
use satdet::geo::{OrientedBox, PixelBox};
use satdet::postprocess::{merge_tiles, Candidate};

/// 50 000 objects on a grid, each seen by two tiles; `oriented`: as boxes turned by 30°.
fn candidates(oriented: bool) -> Vec<Candidate> {
    let mut v = Vec::with_capacity(100_000);
    for i in 0..50_000u32 {
        let (x, y) = (f64::from(i % 250) * 20.0, f64::from(i / 250) * 20.0);
        for (dx, score, tile) in [(0.0, 0.5 + (i % 7) as f32 * 0.01, 0), (0.5, 0.4, 1)] {
            let b = PixelBox::new(x + dx, y, x + 12.0, y + 6.0);
            let o = oriented.then(|| {
                let c = b.center();
                OrientedBox::new(c.x, c.y, b.width(), b.height(), 30f64.to_radians())
            });
            v.push(Candidate {
                clipped: false,
                bbox: o.map_or(b, |o| o.envelope()),
                oriented: o,
                score,
                class_id: i % 3,
                tile,
            });
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("merge");
    g.sample_size(10);
    for (name, oriented) in [("100k_candidates", false), ("100k_oriented", true)] {
        let v = candidates(oriented);
        g.bench_function(name, |b| b.iter(|| merge_tiles(v.clone(), 0.5, 0.7)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
