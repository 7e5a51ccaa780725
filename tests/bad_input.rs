//! Bad input gets a typed error naming the file, never a panic or a partial result.

mod common;

use satdet::raster::{TileBuf, Window};
use satdet::{Error, Limits, Scene};

#[test]
fn huge_header_is_refused_before_allocating() {
    let e = Scene::open(common::fixture("huge_header.tif")).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Limits {
                what: "scene size in pixels",
                found: 1_000_000_000_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("huge_header.tif"), "{e}");
}

#[test]
fn limits_are_enforced_on_both_sides() {
    let path = common::fixture("io_u8_3b_pixel_strips_deflate.tif");
    let mut l = Limits::default();
    l.max_scene_pixels = 300 * 200;
    Scene::open_with_limits(&path, &l).expect("exactly at the limit");
    l.max_scene_pixels = 300 * 200 - 1;
    assert!(matches!(
        Scene::open_with_limits(&path, &l).unwrap_err(),
        Error::Limits { .. }
    ));
}

#[test]
fn truncated_tiff_is_a_corrupt_raster_error() {
    let path = common::fixture("truncated.tif");
    let res = Scene::open(&path).and_then(|s| {
        let mut buf = TileBuf::new();
        s.read_window(Window::new(0, 0, s.width(), s.height()), &mut buf)
    });
    let e = res.unwrap_err();
    assert!(
        matches!(e, Error::CorruptRaster { .. } | Error::Io { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("truncated.tif"), "{e}");
}

#[test]
fn float_samples_are_unsupported() {
    let e = Scene::open(common::fixture("float32.tif")).unwrap_err();
    assert!(matches!(e, Error::UnsupportedRaster { .. }), "{e:?}");
    assert!(e.to_string().contains("floating point"), "{e}");
}

#[test]
fn not_a_raster_and_missing_file() {
    let e = Scene::open(common::fixture("not_a_raster.tif")).unwrap_err();
    assert!(
        matches!(e, Error::UnsupportedRaster { .. }) && e.to_string().contains("not_a_raster.tif"),
        "{e:?}"
    );
    let e = Scene::open("/nonexistent/scene.tif").unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("/nonexistent/scene.tif"),
        "{e:?}"
    );
}

#[test]
fn every_prefix_of_a_tiff_fails_cleanly() {
    // Cut a small tiled TIFF at many lengths: each must open-and-read or fail with an
    // error, never panic.
    let bytes = std::fs::read(common::fixture("io_u8_3b_pixel_tiles_packbits.tif")).expect("read");
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("cut.tif");
    for len in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
        std::fs::write(&p, &bytes[..len]).expect("write");
        if let Ok(s) = Scene::open(&p) {
            let mut buf = TileBuf::new();
            let _ = s.read_window(Window::new(0, 0, s.width(), s.height()), &mut buf);
        }
    }
}
