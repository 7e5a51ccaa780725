//! Scenes that are not files: an `ndarray` array, an `image::DynamicImage` and a
//! `WindowSource` of the user's go through the same tiling, masks and stretch as the file
//! they were read from, so the fixture detector finds exactly the same boxes.

mod common;

use ndarray::{Array3, ShapeBuilder};
use satdet::raster::{
    BandLayout, RasterInfo, SampleType, Samples, SamplesMut, TileBuf, Window, WindowSource,
};
use satdet::{Detections, Detector, Error, Limits, Scene};
use std::sync::atomic::{AtomicUsize, Ordering};

fn detector() -> Detector {
    Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .threads(1)
        .build()
        .expect("detector")
}

/// The whole fixture, band-interleaved, as an `(rows, cols, bands)` array of `T`.
fn whole<T: Copy + Default>(scene: &Scene, from: impl Fn(u16) -> T) -> Array3<T> {
    let (w, h, bands) = (scene.width(), scene.height(), scene.info().bands);
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(0, 0, w, h), &mut buf)
        .expect("read");
    Array3::from_shape_fn((h as usize, w as usize, usize::from(bands)), |(y, x, b)| {
        from(buf.get(x as u32, y as u32, b as u16))
    })
}

/// Same boxes, scores, classes and coordinates in the same order, the same tiles skipped.
fn assert_same(file: &Detections, other: &Detections) {
    assert!(!file.items.is_empty());
    assert_eq!(file.items, other.items);
    assert_eq!(file.crs, other.crs);
    let (a, b) = (&file.report, &other.report);
    assert_eq!(
        (a.tiles_total, a.tiles_skipped, a.tiles_processed),
        (b.tiles_total, b.tiles_skipped, b.tiles_processed)
    );
    assert_eq!(a.scaling, b.scaling);
}

/// The fixture's pixels as an `Array3<u8>` with its GeoRef, and its nodata value (0) set
/// with `with_nodata`: the same detections as `Scene::open`, the nodata block's 6 tiles
/// skipped in both.
#[test]
fn an_array_of_the_fixture_finds_what_the_file_finds() {
    let file = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    assert_eq!(file.info().mask.nodata, Some(0.0));
    let img = whole(&file, |v| v as u8);
    let scene = Scene::from_array(img, file.georef().cloned())
        .expect("from_array")
        .with_nodata(Some(0.0))
        .expect("nodata")
        .with_name("fixture-array");
    assert_eq!(scene.path().to_str(), Some("fixture-array"));
    assert_eq!(scene.info().sample, SampleType::U8);
    let det = detector();
    let a = det.detect(&file).expect("file");
    let b = det.detect(&scene).expect("array");
    assert_same(&a, &b);
    assert_eq!(b.report.tiles_skipped, 6);
    assert_eq!(b.scene.to_str(), Some("fixture-array"));

    // Without the nodata value, the nodata block is read as black pixels, not skipped.
    let img = whole(&file, |v| v as u8);
    let unmasked = Scene::from_array(img, file.georef().cloned()).expect("from_array");
    let c = det.detect(&unmasked).expect("unmasked");
    assert_eq!(c.report.tiles_skipped, 0);
}

/// A 16-bit panchromatic scene as `Array3<u16>`: the same percentile stretch.
#[test]
fn a_u16_array_is_stretched_like_the_file() {
    let file = Scene::open(common::fixture("utm_pan16_strips.tif")).expect("open");
    let img = whole(&file, |v| v);
    let scene = Scene::from_array(img, file.georef().cloned())
        .expect("from_array")
        .with_nodata(file.info().mask.nodata)
        .expect("nodata");
    let det = detector();
    assert_same(
        &det.detect(&file).expect("file"),
        &det.detect(&scene).expect("array"),
    );
}

/// An array in column-major order (not row-major) is copied, and reads the same.
#[test]
fn a_transposed_array_reads_the_same_windows() {
    let img = Array3::from_shape_fn((5, 7, 3), |(y, x, b)| (y * 100 + x * 10 + b) as u16);
    let fortran = {
        let mut f = Array3::<u16>::zeros((5, 7, 3).f());
        f.assign(&img);
        f
    };
    assert!(!fortran.is_standard_layout());
    // A sliced array whose vector holds more than its samples.
    let sliced = {
        let big = Array3::from_shape_fn((6, 7, 3), |(y, x, b)| match y {
            0 => 9999,
            _ => ((y - 1) * 100 + x * 10 + b) as u16,
        });
        big.slice_move(ndarray::s![1.., .., ..])
    };
    for a in [img.clone(), fortran, sliced] {
        let scene = Scene::from_array(a, None).expect("scene");
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(2, 1, 4, 3), &mut buf)
            .expect("read");
        for (y, x, b) in [(0, 0, 0), (2, 3, 2), (1, 2, 1)] {
            assert_eq!(
                buf.get(x, y, b),
                img[[y as usize + 1, x as usize + 2, usize::from(b)]]
            );
        }
    }
}

#[test]
fn band_counts_and_sizes_other_than_1_3_4_are_typed_errors() {
    for bands in [2, 5] {
        let e = Scene::from_array(Array3::<u8>::zeros((4, 4, bands)), None).unwrap_err();
        assert!(
            matches!(&e, Error::UnsupportedRaster { detail, .. } if detail.contains(&format!("(4, 4, {bands})"))),
            "{e}"
        );
    }
    let e = Scene::from_array(Array3::<u8>::zeros((0, 4, 3)), None).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    let four = Scene::from_array(Array3::<u16>::zeros((4, 4, 4)), None).expect("rgba");
    assert_eq!(
        four.info().mask.alpha_band,
        Some(3),
        "the 4th band is alpha"
    );
    assert_eq!(
        Scene::from_array(Array3::<u8>::zeros((4, 4, 1)), None)
            .expect("pan")
            .info()
            .color_bands(),
        1
    );
}

#[test]
fn in_memory_scenes_obey_the_limits() {
    let mut limits = Limits::default();
    limits.max_scene_pixels = 99;
    let e =
        Scene::from_array_with_limits(Array3::<u8>::zeros((10, 10, 3)), None, &limits).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Limits {
                found: 100,
                limit: 99,
                ..
            }
        ),
        "{e}"
    );
    let ok = Scene::from_array_with_limits(Array3::<u8>::zeros((9, 11, 3)), None, &limits);
    assert!(ok.is_ok());
    let img = image::DynamicImage::new_rgb8(10, 10);
    let e = Scene::from_image_with_limits(img, None, &limits).unwrap_err();
    assert!(matches!(e, Error::Limits { found: 100, .. }), "{e}");

    // A copy into row-major order is bounded by max_window_bytes.
    let mut limits = Limits::default();
    limits.max_window_bytes = 10 * 10 * 3 * 2 - 1;
    let fortran = Array3::<u16>::zeros((10, 10, 3).f());
    let e = Scene::from_array_with_limits(fortran, None, &limits).unwrap_err();
    assert!(matches!(e, Error::Limits { found: 600, .. }), "{e}");
    // A row-major array is not copied, so not bounded by it.
    let ok = Scene::from_array_with_limits(Array3::<u16>::zeros((10, 10, 3)), None, &limits);
    assert!(ok.is_ok());
}

#[test]
fn an_image_reads_like_its_array() {
    use image::{DynamicImage, ImageBuffer};
    let rgb = ImageBuffer::from_fn(9, 5, |x, y| image::Rgb([x as u8, y as u8, (x * y) as u8]));
    let cases: Vec<(DynamicImage, u16, Option<u16>, SampleType)> = vec![
        (
            DynamicImage::ImageRgb8(rgb.clone()),
            3,
            None,
            SampleType::U8,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone()).into_rgba8().into(),
            4,
            Some(3),
            SampleType::U8,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone()).into_luma8().into(),
            1,
            None,
            SampleType::U8,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone())
                .into_luma_alpha8()
                .into(),
            2,
            Some(1),
            SampleType::U8,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone()).into_rgb16().into(),
            3,
            None,
            SampleType::U16,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone()).into_rgba16().into(),
            4,
            Some(3),
            SampleType::U16,
        ),
        (
            DynamicImage::ImageRgb8(rgb.clone()).into_luma16().into(),
            1,
            None,
            SampleType::U16,
        ),
    ];
    for (img, bands, alpha, sample) in cases {
        let color = img.color();
        let scene = Scene::from_image(img, None).expect("scene");
        let info = scene.info();
        assert_eq!(
            (
                info.width,
                info.height,
                info.bands,
                info.mask.alpha_band,
                info.sample
            ),
            (9, 5, bands, alpha, sample),
            "{color:?}"
        );
        assert_eq!(scene.path().to_str(), Some("<image>"));
    }
    let scene = Scene::from_image(DynamicImage::ImageRgb8(rgb), None).expect("rgb");
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(3, 2, 2, 2), &mut buf)
        .expect("read");
    assert_eq!(
        (buf.get(0, 0, 0), buf.get(1, 1, 1), buf.get(1, 1, 2)),
        (3, 3, 12)
    );
    let float = DynamicImage::new_rgb32f(4, 4);
    let e = Scene::from_image(float, None).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedRaster { detail, .. } if detail.contains("Rgb32F")),
        "{e}"
    );
}

/// A user's reader: serves windows from a whole scene held in memory, planar (one band
/// after another) to show a layout other than the file's, and counts its reads.
struct PlanarMemory {
    info: RasterInfo,
    planes: Vec<Vec<u8>>,
    reads: AtomicUsize,
}

impl WindowSource for PlanarMemory {
    fn info(&self) -> &RasterInfo {
        &self.info
    }
    fn read_window(&self, window: Window, buf: &mut TileBuf) -> satdet::Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let (w, ww) = (self.info.width as usize, window.width as usize);
        let plane_len = ww * window.height as usize;
        let SamplesMut::U8(out) = buf.samples_mut() else {
            return Err(Error::Config("8-bit only".into()));
        };
        for (b, plane) in self.planes.iter().enumerate() {
            for row in 0..window.height as usize {
                let src = (window.y as usize + row) * w + window.x as usize;
                let dst = b * plane_len + row * ww;
                out[dst..dst + ww].copy_from_slice(&plane[src..src + ww]);
            }
        }
        Ok(())
    }
}

#[test]
fn a_window_source_of_ones_own_finds_what_the_file_finds() {
    let file = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let (w, h) = (file.width() as usize, file.height() as usize);
    let mut buf = TileBuf::new();
    file.read_window(Window::new(0, 0, w as u32, h as u32), &mut buf)
        .expect("read");
    let planes = (0..file.info().bands)
        .map(|b| {
            (0..w * h)
                .map(|i| buf.get((i % w) as u32, (i / w) as u32, b) as u8)
                .collect()
        })
        .collect();
    let info = RasterInfo {
        layout: BandLayout::Planar,
        storage: "planar, in memory".into(),
        ..file.info().clone()
    };
    let source = std::sync::Arc::new(PlanarMemory {
        info,
        planes,
        reads: AtomicUsize::new(0),
    });
    // An Arc'd source stays the caller's to inspect.
    let scene = Scene::from_source(source.clone(), file.georef().cloned())
        .expect("from_source")
        .with_name("planar-source");
    assert_eq!(scene.info().mask.nodata, Some(0.0), "the source's own mask");
    let det = detector();
    let a = det.detect(&file).expect("file");
    let b = det.detect(&scene).expect("source");
    assert_same(&a, &b);
    assert_eq!(source.reads.load(Ordering::Relaxed), a.report.tiles_total);
    assert!(b
        .report
        .warnings
        .iter()
        .all(|w| !w.contains("<window source>")));
}

/// A source that replaces the buffer instead of filling it is refused, not indexed past.
#[test]
fn a_source_that_reshapes_the_buffer_is_an_error() {
    struct Wrong(RasterInfo);
    impl WindowSource for Wrong {
        fn info(&self) -> &RasterInfo {
            &self.0
        }
        fn read_window(&self, _: Window, buf: &mut TileBuf) -> satdet::Result<()> {
            *buf = TileBuf::from_samples(
                Window::new(0, 0, 1, 1),
                1,
                BandLayout::Interleaved,
                Samples::U8(vec![0]),
            )?;
            Ok(())
        }
    }
    let info = Scene::from_array(Array3::<u8>::zeros((8, 8, 3)), None)
        .expect("scene")
        .info()
        .clone();
    let scene = Scene::from_source(Wrong(info), None).expect("scene");
    let e = scene
        .read_window(Window::new(0, 0, 4, 4), &mut TileBuf::new())
        .unwrap_err();
    assert!(
        matches!(&e, Error::CorruptRaster { path, .. } if path.to_str() == Some("<window source>")),
        "{e}"
    );
}

#[test]
fn a_source_with_an_unreadable_description_is_refused() {
    let good = Scene::from_array(Array3::<u8>::zeros((8, 8, 3)), None)
        .expect("scene")
        .info()
        .clone();
    struct Fixed(RasterInfo);
    impl WindowSource for Fixed {
        fn info(&self) -> &RasterInfo {
            &self.0
        }
        fn read_window(&self, _: Window, _: &mut TileBuf) -> satdet::Result<()> {
            Ok(())
        }
    }
    let mut bad = Vec::new();
    bad.push(RasterInfo {
        width: 0,
        ..good.clone()
    });
    bad.push(RasterInfo {
        bands: 5,
        ..good.clone()
    });
    let mut alpha = good.clone();
    alpha.mask.alpha_band = Some(3);
    bad.push(alpha);
    let mut nan = good.clone();
    nan.mask.nodata = Some(f64::NAN);
    bad.push(nan);
    for info in bad {
        let e = Scene::from_source(Fixed(info.clone()), None).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{info:?}: {e}");
    }
    // Georeferencing given by the caller is checked too.
    let georef = satdet::GeoRef {
        transform: satdet::GeoTransform::north_up(0.0, 0.0, 0.0, 1.0),
        crs: satdet::Crs::Epsg(32633),
    };
    let e = Scene::from_source(Fixed(good.clone()), Some(georef)).unwrap_err();
    assert!(matches!(e, Error::Georef { .. }), "{e}");
    let georef = satdet::GeoRef {
        transform: satdet::GeoTransform::north_up(0.0, 0.0, 1.0, 1.0),
        crs: satdet::Crs::Epsg(1),
    };
    let e = Scene::from_source(Fixed(good), Some(georef)).unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    let e = Scene::from_array(Array3::<u8>::zeros((2, 2, 1)), None)
        .expect("scene")
        .with_nodata(Some(f64::INFINITY))
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

/// A `Scene` is `Send + Sync`; threads reading windows of one file scene at once (the
/// TIFF reader's file and cache are behind its own lock) read what one thread reads.
#[test]
fn scenes_are_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Scene>();
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    let windows: Vec<Window> = (0..12)
        .map(|i| Window::new(i * 73, (i * 61) % 700, 200, 150))
        .collect();
    let read = |w: Window| {
        let mut buf = TileBuf::new();
        scene.read_window(w, &mut buf).expect("read");
        buf
    };
    let want: Vec<TileBuf> = windows.iter().map(|&w| read(w)).collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (windows, want, read) = (&windows, &want, &read);
            s.spawn(move || {
                for k in 0..windows.len() {
                    let i = (k + t * 3) % windows.len();
                    assert_eq!(read(windows[i]), want[i], "window {i} on thread {t}");
                }
            });
        }
    });
}
