//! Seam merging at scale: `cargo bench --bench merge` (100 000 candidates, axis-aligned
//! and oriented: the oriented ones are compared by polygon intersection), and NMS in one
//! tile whose detector fires 100 times around each of 30 objects.

use criterion::{criterion_group, criterion_main, Criterion};
use satdet::geo::{OrientedBox, PixelBox};
use satdet::postprocess::{merge_tiles, nms, Candidate};

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

/// 30 objects, each with 100 candidates jittered by up to a pixel and 3°, in one tile.
fn dense_tile(oriented: bool) -> Vec<Candidate> {
    let mut v = Vec::with_capacity(3000);
    for i in 0..3000u32 {
        let (obj, k) = (i / 100, i % 100);
        let (x, y) = (
            f64::from(obj % 6) * 100.0 + 50.0,
            f64::from(obj / 6) * 100.0 + 50.0,
        );
        let j = f64::from(k) / 100.0;
        let (cx, cy, deg) = (x + j, y - j, 30.0 + 3.0 * j);
        let o = OrientedBox::new(cx, cy, 30.0, 12.0, f64::to_radians(deg));
        v.push(Candidate {
            clipped: false,
            bbox: if oriented {
                o.envelope()
            } else {
                PixelBox::new(cx - 15.0, cy - 6.0, cx + 15.0, cy + 6.0)
            },
            oriented: oriented.then_some(o),
            score: 0.3 + 0.007 * k as f32,
            class_id: 0,
            tile: 0,
        });
    }
    v
}

fn bench(c: &mut Criterion) {
    let mut n = c.benchmark_group("nms");
    n.sample_size(10);
    for (name, oriented) in [("3000_dense_boxes", false), ("3000_dense_oriented", true)] {
        let v = dense_tile(oriented);
        n.bench_function(name, |b| b.iter(|| nms(v.clone(), 0.5)));
    }
    n.finish();
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
