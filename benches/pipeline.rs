//! The whole `detect`, CPU vs GPU preprocessing: `cargo bench --bench pipeline`.
//!
//! Scene: 8192 × 8192 8-bit RGB, UTM 33N at 0.3 m/pixel (6.04 km²), stripped,
//! uncompressed, with bright (255) 11-pixel squares every 256 pixels (1024 of them) on a textured background;
//! written once to `target/bench-data/` with the `tiff` crate. Model: the test detector
//! `tests/fixtures/generated/square_detector.onnx` (256 × 256 input; make it with
//! `.venv/bin/python tests/fixtures/make_fixtures.py`). Tiles of 256 px, 20 % overlap,
//! batch 8. Criterion reports the time per scene and pixels/s; the km²/s figure is printed
//! (area from the scene's georeferencing / mean time).

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use satdet::{Detector, Preprocess, Scene};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tiff::encoder::{colortype, TiffEncoder};

const SIZE: u32 = 8192;
const GSD: f64 = 0.3;

fn scene_path() -> PathBuf {
    common::scene("pipeline_8192_utm33n_0.3m_v2.tif", write_scene)
}

fn write_scene(path: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut enc = TiffEncoder::new(file).expect("encoder");
    let mut img = enc.new_image::<colortype::RGB8>(SIZE, SIZE).expect("image");
    img.rows_per_strip(256).expect("rows per strip");
    common::utm33n_tags(img.encoder(), GSD);
    let w = SIZE as usize;
    let mut strip = vec![0u8; w * 256 * 3];
    for s in 0..(SIZE / 256) as usize {
        for r in 0..256 {
            let y = s * 256 + r;
            for x in 0..w {
                let texture = ((x * 31 + y * 17) ^ (x * y)) % 48;
                let square =
                    (x % 256) >= 120 && (x % 256) < 131 && (y % 256) >= 60 && (y % 256) < 71;
                let v = if square { 255 } else { 40 + texture as u8 };
                let i = (r * w + x) * 3;
                strip[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
        img.write_strip(&strip).expect("strip");
    }
    img.finish().expect("finish");
}

fn bench(c: &mut Criterion) {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generated/square_detector.onnx");
    assert!(
        model.is_file(),
        "{} is missing: run `.venv/bin/python tests/fixtures/make_fixtures.py`",
        model.display()
    );
    let scene = Scene::open(scene_path()).expect("scene");
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(u64::from(SIZE) * u64::from(SIZE)));
    for (name, p) in [("cpu", Preprocess::Cpu), ("gpu", Preprocess::Gpu)] {
        let det = match Detector::builder()
            .model(&model)
            .tile_size(256)
            .batch_size(8)
            .preprocess(p)
            .build()
        {
            Ok(d) => d,
            Err(e) => {
                eprintln!("no {name} row: {e}");
                continue;
            }
        };
        let t0 = Instant::now();
        let once = det.detect(&scene).expect("detect");
        let dt = t0.elapsed().as_secs_f64();
        let km2 = once.report.area_km2.expect("georeferenced scene");
        eprintln!(
            "{name}: {} ({} tiles, {} detections); one run {dt:.2} s = {:.2} km²/s at {GSD} m/pixel; stages {:?}",
            once.report.preprocess,
            once.report.tiles_processed,
            once.len(),
            km2 / dt,
            once.report.times
        );
        g.bench_function(name, |b| b.iter(|| det.detect(&scene).expect("detect")));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
