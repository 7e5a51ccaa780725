//! The library as a Rust program uses it: streaming final detections, cancelling,
//! sharing one detector between threads, models from memory.

mod common;

use satdet::{Detection, Detector, Error, Event, Scene};
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;

fn detector() -> Detector {
    Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .batch_size(2)
        .threads(1)
        .build()
        .expect("detector")
}

fn scene() -> Scene {
    Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open")
}

fn key(d: &Detection) -> [u64; 5] {
    let b = d.pixel_box.to_array();
    [
        b[0].to_bits(),
        b[1].to_bits(),
        b[2].to_bits(),
        b[3].to_bits(),
        u64::from(d.score.to_bits()),
    ]
}

#[test]
fn detector_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Detector>();
    assert_send_sync::<Scene>();
}

#[test]
fn streamed_batches_are_final_and_concatenate_to_detect() {
    let det = detector();
    let whole = det.detect(&scene()).expect("detect");
    let mut batches: Vec<Vec<Detection>> = Vec::new();
    let mut progress_after_first_batch = 0;
    let streamed = det
        .detect_with(&scene(), |e| {
            match e {
                Event::Detections(b) => batches.push(b.to_vec()),
                Event::Progress(_) if !batches.is_empty() => progress_after_first_batch += 1,
                _ => {}
            }
            ControlFlow::Continue(())
        })
        .expect("detect_with");
    assert!(batches.len() > 1, "streamed in {} batch(es)", batches.len());
    assert!(
        progress_after_first_batch > 0,
        "the first detections came before the last tile"
    );
    let mut concat: Vec<Detection> = batches.into_iter().flatten().collect();
    assert_eq!(streamed.items, whole.items);
    let mut all = whole.items.clone();
    concat.sort_by_key(key);
    all.sort_by_key(key);
    assert_eq!(concat, all, "streamed batches = detect(), exactly");
}

#[test]
fn breaking_cancels_within_one_batch_and_the_detector_still_works() {
    let det = detector();
    let mut events_after_break = 0;
    let mut broke = false;
    let r = det.detect_with(&scene(), |e| {
        if broke {
            events_after_break += 1;
        }
        if matches!(e, Event::Progress(_)) {
            broke = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert_eq!(events_after_break, 0);
    // Threads joined, preprocessor back in the pool: the next run is whole.
    assert_eq!(det.detect(&scene()).expect("detect").len(), 16);
}

#[test]
fn threads_sharing_one_detector_run_concurrently_with_sequential_results() {
    let det = &detector();
    let sequential = det.detect(&scene()).expect("detect");
    let (a_started_tx, a_started_rx) = mpsc::channel::<()>();
    let (b_progressed_tx, b_progressed_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        let a = s.spawn(move || {
            let mut first = true;
            det.detect_with(&scene(), |e| {
                if first && matches!(e, Event::Progress(_)) {
                    first = false;
                    a_started_tx.send(()).expect("send");
                    // A waits, mid-scene, until B has made progress: with one run at a time
                    // B could never progress and this would time out.
                    b_progressed_rx
                        .recv_timeout(Duration::from_secs(120))
                        .expect("B progressed while A was mid-scene");
                }
                ControlFlow::Continue(())
            })
        });
        let b = s.spawn(move || {
            a_started_rx.recv().expect("A started");
            let mut told = false;
            det.detect_with(&scene(), |e| {
                if !told && matches!(e, Event::Progress(_)) {
                    told = true;
                    b_progressed_tx.send(()).expect("send");
                }
                ControlFlow::Continue(())
            })
        });
        let ra = a.join().expect("thread A").expect("A");
        let rb = b.join().expect("thread B").expect("B");
        assert_eq!(ra.items, sequential.items);
        assert_eq!(rb.items, sequential.items);
    });
}

#[test]
fn the_bundled_model_is_embedded_and_models_load_from_memory() {
    let bundled = Detector::builder().threads(1).build().expect("bundled");
    assert_eq!(
        bundled.model_info().path.to_string_lossy(),
        satdet::pipeline::BUNDLED_MODEL_NAME
    );
    assert_eq!(bundled.model_info().class_names.len(), 3);
    let bytes = std::fs::read(common::fixture("square_detector.onnx")).expect("read");
    let from_memory = Detector::builder()
        .model_bytes(bytes)
        .batch_size(2)
        .threads(1)
        .build()
        .expect("from memory");
    let a = from_memory.detect(&scene()).expect("detect");
    let b = detector().detect(&scene()).expect("detect");
    assert_eq!(a.items, b.items);
}

/// Two windows of the fixture scene, and a plain 8-bit RGB plan for a `side` px input.
fn two_tiles(
    a: satdet::raster::Window,
    b: satdet::raster::Window,
    side: u32,
) -> (
    satdet::raster::TileBuf,
    satdet::raster::TileBuf,
    satdet::preprocess::InputSpec,
) {
    let scene = scene();
    let read = |w| {
        let mut t = satdet::raster::TileBuf::new();
        scene.read_window(w, &mut t).expect("read");
        t
    };
    let spec = satdet::preprocess::InputSpec {
        width: side,
        height: side,
        channels: [0, 1, 2],
        scaling: satdet::preprocess::Scaling::u8(),
        mean: [0.0; 3],
        inv_std: [1.0; 3],
        pad: 114.0 / 255.0,
        mask: scene.info().mask,
    };
    (read(a), read(b), spec)
}

#[test]
fn preprocessing_alone_gives_the_same_ndarray_batch_on_cpu_and_gpu() {
    use satdet::preprocess::{backend, to_array4};
    use satdet::raster::Window;
    let (a, b, spec) = two_tiles(
        Window::new(0, 0, 256, 256),
        Window::new(900, 700, 200, 200),
        128,
    );
    let cpu = to_array4(
        &mut *backend(satdet::Preprocess::Cpu).expect("cpu"),
        &spec,
        &[&a, &b],
        0.5,
    )
    .expect("cpu batch");
    assert_eq!(cpu.shape(), &[2, 3, 128, 128]);
    let gpu = to_array4(
        &mut *backend(satdet::Preprocess::Gpu).expect("lavapipe"),
        &spec,
        &[&a, &b],
        0.5,
    )
    .expect("gpu batch");
    assert_eq!(cpu, gpu);
    // Tile b (200 px at 0.5) fills 100x100 of the input; the rest is padding.
    assert_eq!(cpu[[1, 0, 120, 120]], 114.0 / 255.0);
}

#[cfg(feature = "serde")]
#[test]
fn results_round_trip_through_serde() {
    let dets = detector().detect(&scene()).expect("detect");
    let json = serde_json::to_string(&dets).expect("serialize");
    let back: satdet::Detections = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, dets);
    // A pixel box is [x0, y0, x1, y1], and reordered corners come back ordered.
    let b: satdet::PixelBox = serde_json::from_str("[10.0, 8.0, 2.0, 4.0]").expect("box");
    assert_eq!(b.to_array(), [2.0, 4.0, 10.0, 8.0]);
}

#[test]
fn the_preprocessor_protocol_is_the_same_on_cpu_and_gpu() {
    use satdet::preprocess::backend;
    use satdet::raster::Window;
    let (a, b, spec) = two_tiles(Window::new(0, 0, 64, 64), Window::new(500, 300, 64, 64), 64);
    let len = spec.input_len();
    let mut results = Vec::new();
    for which in [satdet::Preprocess::Cpu, satdet::Preprocess::Gpu] {
        let mut pre = backend(which).expect("backend");
        let depth = pre.depth();
        assert!(pre.collect().is_err(), "nothing submitted");
        assert!(
            pre.submit(&spec, &[&a], 1.0, vec![0.0; len - 1]).is_err(),
            "buffer too small"
        );
        // Submit up to `depth` batches, then collect them in order.
        let mut got = Vec::new();
        pre.submit(&spec, &[&a], 1.0, vec![0.0; len])
            .expect("submit a");
        if depth >= 2 {
            pre.submit(&spec, &[&b], 1.0, vec![0.0; len + 7])
                .expect("submit b");
            assert!(
                pre.submit(&spec, &[&a], 1.0, vec![0.0; len]).is_err(),
                "over depth"
            );
            got.push(pre.collect().expect("a"));
            got.push(pre.collect().expect("b"));
        } else {
            assert!(
                pre.submit(&spec, &[&b], 1.0, vec![0.0; len]).is_err(),
                "over depth"
            );
            got.push(pre.collect().expect("a"));
            pre.submit(&spec, &[&b], 1.0, vec![0.0; len + 7])
                .expect("submit b");
            got.push(pre.collect().expect("b"));
        }
        assert_eq!(got[1].len(), len + 7, "the buffer handed in comes back");
        let mut via_run = vec![0.0; len];
        pre.run(&spec, &[&b], 1.0, &mut via_run).expect("run");
        assert_eq!(&got[1][..len], &via_run[..]);
        results.push(
            got.into_iter()
                .map(|v| v[..len].to_vec())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(results[0], results[1], "CPU = GPU");
}

#[test]
fn the_acquisition_date_comes_from_the_tiff_or_the_user_and_reaches_the_results() {
    // The fixture's TIFF DateTime tag is 2025:09:13 10:41:07 (make_fixtures.py).
    let s = scene();
    assert_eq!(s.acquired(), Some("2025-09-13T10:41:07"));
    let d = detector();
    let from_file = d.detect(&s).expect("detect");
    assert_eq!(from_file.acquired.as_deref(), Some("2025-09-13T10:41:07"));
    assert!(from_file.report.confidence > 0.0 && from_file.report.iou > 0.0);
    let given = scene().with_acquired("2025-07-02").expect("date");
    assert_eq!(given.acquired(), Some("2025-07-02"));
    assert_eq!(
        d.detect(&given).expect("detect").acquired.as_deref(),
        Some("2025-07-02")
    );
    for bad in ["2025-02-30", "July 2nd", "2025-7-2"] {
        let e = scene().with_acquired(bad).expect_err(bad);
        assert!(matches!(e, Error::Config(_)), "{e}");
        assert!(e.to_string().contains(bad), "{e}");
    }
    // A scene without the tag has no date.
    let pan = Scene::open(common::fixture("utm_pan16_strips.tif")).expect("open");
    assert_eq!(pan.acquired(), None);
}
