//! A memory budget (`DetectorBuilder::max_memory`, the CLI's `--max-memory`) sizes the
//! batch, the chunk cache and the detections, and refuses a budget too small for one tile.

mod common;

use common::{fixture, satdet};
use satdet::{Detector, Error, Limits, Scene};

#[test]
fn the_budget_lowers_the_batch_and_sizes_the_caches() {
    let scene = Scene::open(fixture("utm_rgb_tiled_lzw.tif")).unwrap();
    // The default on the CPU is two tiles per batch (satdet::pipeline::default_batch).
    let default = Detector::builder().build().unwrap();
    assert_eq!(default.plan(&scene).unwrap().batch, 2);
    assert_eq!(
        satdet::pipeline::default_batch(satdet::Device::Cuda { device_id: 0 }),
        8
    );
    assert_eq!(
        satdet::pipeline::default_batch(satdet::Device::TensorRt { device_id: 0 }),
        8
    );
    let plain = Detector::builder().batch_size(8).build().unwrap();
    assert_eq!(plain.plan(&scene).unwrap().batch, 8);
    // The bundled model: 640 px input (4.9 MB), 3-band 8-bit windows (1.2 MB): about
    // 61 MiB per tile in flight; 128 MiB base + 32 + 32 MiB of caches at 256 MiB.
    let tight = Detector::builder()
        .batch_size(8)
        .max_memory(256 << 20)
        .build()
        .unwrap();
    let plan = tight.plan(&scene).unwrap();
    assert_eq!(plan.batch, 1);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("memory budget of 256 MiB")),
        "{:?}",
        plan.warnings
    );
    let roomy = Detector::builder()
        .batch_size(8)
        .max_memory(2 << 30)
        .build()
        .unwrap();
    assert_eq!(roomy.plan(&scene).unwrap().batch, 8);
    let l = Limits::for_memory(256 << 20);
    assert_eq!(
        (l.chunk_cache_bytes, l.max_detection_bytes),
        (32 << 20, 32 << 20)
    );
    // Too small for one tile: a typed error saying how much is needed.
    let small = Detector::builder().max_memory(200 << 20).build().unwrap();
    match small.plan(&scene) {
        Err(Error::Limits { context, what, .. }) => {
            assert!(what.contains("--max-memory"), "{what}");
            assert!(context.contains("at least"), "{context}");
        }
        other => panic!("expected a limits error, got {other:?}"),
    }
    // The run under a budget finds what the run without one finds.
    let fx = fixture("square_detector.onnx");
    let a = Detector::builder()
        .model(&fx)
        .build()
        .unwrap()
        .detect(&scene)
        .unwrap();
    let b = Detector::builder()
        .model(&fx)
        .max_memory(256 << 20)
        .build()
        .unwrap()
        .detect(&scene)
        .unwrap();
    assert_eq!(a.items, b.items);
}

#[test]
fn the_cli_takes_max_memory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.geojson");
    let scene = fixture("utm_rgb_tiled_lzw.tif");
    let run = satdet(&[
        "detect",
        scene.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-memory",
        "256",
        "--batch",
        "8",
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("batch lowered from 8 to 1"), "{err}");
    let run = satdet(&[
        "detect",
        scene.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--max-memory",
        "100",
    ]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "below 256 MiB is an argument error"
    );
}
