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
    // Cut small TIFFs (tiled and stripped) at many lengths: each cut must either fail with
    // a typed raster error, or read exactly what the whole file reads (a cut that only
    // drops bytes nobody reads); never panic, never a partial result.
    for name in [
        "io_u8_3b_pixel_tiles_packbits.tif",
        "utm_rgb_tiled_lzw.tif",
        "utm_pan16_strips.tif",
    ] {
        let bytes = std::fs::read(common::fixture(name)).expect("read");
        let full = Scene::open(common::fixture(name)).expect("open whole");
        let mut want = TileBuf::new();
        full.read_window(Window::new(0, 0, full.width(), full.height()), &mut want)
            .expect("read whole");
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("cut.tif");
        let (mut errors, mut whole) = (0, 0);
        for len in (0..bytes.len()).step_by(bytes.len() / 60 + 1) {
            std::fs::write(&p, &bytes[..len]).expect("write");
            let r = Scene::open(&p).and_then(|s| {
                let mut buf = TileBuf::new();
                s.read_window(Window::new(0, 0, s.width(), s.height()), &mut buf)
                    .map(|()| buf)
            });
            match r {
                Ok(buf) => {
                    assert_eq!(
                        buf.samples(),
                        want.samples(),
                        "{name} cut at {len}: a partial result"
                    );
                    whole += 1;
                }
                Err(Error::CorruptRaster { path, .. } | Error::UnsupportedRaster { path, .. }) => {
                    assert_eq!(path, p);
                    errors += 1;
                }
                Err(Error::Io { .. }) => errors += 1,
                Err(e) => panic!("{name} cut at {len}: unexpected error kind {e:?}"),
            }
        }
        assert!(
            errors > 50,
            "{name}: most cuts must fail ({errors} errors, {whole} whole reads)"
        );
    }
}

#[test]
fn a_corrupt_chunk_in_the_middle_of_detect_is_an_error_not_a_hang() {
    let path = common::fixture("corrupt_middle_chunk.tif");
    // It opens (the header is fine) and its first windows read.
    let scene = Scene::open(&path).expect("open");
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(0, 0, 64, 64), &mut buf)
        .expect("the first chunk is intact");
    let det = satdet::Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .batch_size(2)
        .threads(1)
        .build()
        .expect("detector");
    let mut progressed = 0;
    let r = det.detect_with(&scene, |e| {
        if matches!(e, satdet::Event::Progress(_)) {
            progressed += 1;
        }
        std::ops::ControlFlow::Continue(())
    });
    match r {
        Err(Error::CorruptRaster { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected CorruptRaster, got {other:?}"),
    }
    assert!(
        progressed > 0,
        "the run was under way when the chunk was reached"
    );
    // Nothing is left running: the detector serves the next scene.
    let ok = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    assert_eq!(det.detect(&ok).expect("detect").len(), 16);
}

/// Raster formats satdet does not read, written by GDAL from a fixture: the error names the
/// format and the conversion that keeps the georeferencing, instead of "unrecognised".
#[test]
fn other_raster_formats_are_named_with_their_conversion() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = common::fixture("utm_rgb_tiled_lzw.tif")
        .display()
        .to_string();
    let cases = [
        ("JP2OpenJPEG", "scene.jp2", "JPEG 2000"),
        ("NITF", "scene.ntf", "NITF"),
        ("HFA", "scene.img", "ERDAS Imagine"),
        ("VRT", "scene.vrt", "virtual raster"),
        ("GIF", "scene.gif", "GIF"),
        ("BMP", "scene.bmp", "BMP"),
        ("ENVI", "scene.envi", "ENVI"),
    ];
    for (driver, name, said) in cases {
        let out = dir.path().join(name);
        let out_s = out.display().to_string();
        let mut args = vec!["-q", "-of", driver];
        if driver == "GIF" {
            args.extend(["-b", "1"]); // one band is all GIF holds
        }
        args.extend([src.as_str(), out_s.as_str()]);
        common::gdal("gdal_translate", &args, "");
        // ENVI keeps its pixels in the file named and its header beside it: open the header.
        let open = if driver == "ENVI" {
            dir.path().join("scene.hdr")
        } else {
            out.clone()
        };
        match Scene::open(&open) {
            Err(Error::UnsupportedRaster { path, detail }) => {
                assert_eq!(path, open);
                assert!(detail.contains(said), "{driver}: {detail}");
                assert!(
                    detail.contains("gdal_translate -of COG"),
                    "{driver}: {detail}"
                );
            }
            other => panic!("{driver}: expected an unsupported-raster error, got {other:?}"),
        }
    }
    // Anything else is still "unrecognised".
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "field notes, not a raster").expect("write");
    match Scene::open(&junk) {
        Err(Error::UnsupportedRaster { detail, .. }) => {
            assert!(detail.contains("unrecognised first bytes"), "{detail}")
        }
        other => panic!("expected an unsupported-raster error, got {other:?}"),
    }
}
