//! The API example of issue 10, compiled outside the crate (as a user's program sees the
//! API) and run on the fixture's pixels.
//!
//! The two-arm `match` on `Event` compiles as the issue writes it: `Event` is exhaustive
//! on purpose.

mod common;

use satdet::raster::{TileBuf, Window};
use satdet::{Crs, Detection, Detector, Event, GeoRef, GeoTransform, Scene};
use std::ops::ControlFlow;

/// The fixture scene (1100 × 900, RGB, 16 bright squares) as the issue's `Array3<u8>`.
fn fixture_pixels() -> (ndarray::Array3<u8>, Scene) {
    let file = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let (w, h) = (file.width(), file.height());
    let mut buf = TileBuf::new();
    file.read_window(Window::new(0, 0, w, h), &mut buf)
        .expect("read");
    let img = ndarray::Array3::from_shape_fn((h as usize, w as usize, 3), |(y, x, b)| {
        buf.get(x as u32, y as u32, b as u16) as u8
    });
    (img, file)
}

/// The example as the issue writes it (bundled model, EPSG:32652); it runs to the end,
/// and the streamed batches are the result.
#[test]
fn the_issue_example_compiles_and_runs() -> satdet::Result<()> {
    let (img, _) = fixture_pixels();

    let georef = GeoRef {
        transform: GeoTransform::north_up(440000.0, 4590000.0, 0.3, 0.3),
        crs: Crs::Epsg(32652),
    };
    let scene = Scene::from_array(img, Some(georef))?; // Array3<u16> works too

    let detector = Detector::builder().build()?; // bundled model embedded in the crate
    let mut progress = (0, 0);
    let mut streamed: Vec<Detection> = Vec::new();
    let all = detector.detect_with(&scene, |event| {
        match event {
            Event::Progress(p) => {
                progress = (p.tiles_done, p.tiles_total);
            }
            Event::Detections(batch) => {
                streamed.extend_from_slice(batch);
            }
        }
        ControlFlow::Continue(()) // Break(()) cancels
    })?;

    assert_eq!(progress.0, progress.1, "progress reaches the end");
    assert_eq!(progress.1, all.report.tiles_total);
    assert_eq!(streamed.len(), all.len());
    assert_eq!(all.crs, Some(Crs::Epsg(32652)));
    Ok(())
}

/// The same program with the fixture's own CRS and transform and the fixture detector:
/// it finds the 16 squares, streamed, at the same boxes as the file.
#[test]
fn the_example_finds_the_fixture_squares() -> satdet::Result<()> {
    let (img, file) = fixture_pixels();
    let georef = file.georef().cloned().expect("fixture is georeferenced");
    assert_eq!(georef.crs, Crs::Epsg(32633));
    let scene = Scene::from_array(img, Some(georef))?.with_nodata(Some(0.0))?;

    let detector = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .threads(1)
        .build()?;
    let mut streamed: Vec<Detection> = Vec::new();
    let all = detector.detect_with(&scene, |event| {
        match event {
            Event::Progress(p) => assert!(p.tiles_done <= p.tiles_total),
            Event::Detections(batch) => streamed.extend_from_slice(batch),
        }
        ControlFlow::Continue(())
    })?;
    let squares = common::manifest()["detection"]["squares"]
        .as_array()
        .expect("squares")
        .len();
    assert_eq!(all.len(), squares);
    let key = |d: &Detection| d.pixel_box.to_array().map(f64::to_bits);
    let mut a: Vec<_> = streamed.iter().map(key).collect();
    let mut b: Vec<_> = all.iter().map(key).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "the streamed batches are the result");
    assert_eq!(all.items, detector.detect(&file)?.items);
    Ok(())
}
