//! GeoTIFF overviews (gdaladdo's internal ones and a COG's): listed, read as GDAL reads
//! them (`gdal_translate -oo OVERVIEW_LEVEL=n`, written by make_fixtures.py; LZW and
//! Deflate, so exactly), georeferenced at their own pixel size; and the quick-look and
//! the report's overview picture read the smallest overview at least their size instead
//! of every full-resolution chunk, keeping the picture's dimensions.

mod common;

use satdet::raster::{Overview, TileBuf, Window};
use satdet::{Detections, Error, Scene};

fn no_detections(scene: &Scene) -> Detections {
    Detections {
        items: Vec::new(),
        scene: scene.path().to_path_buf(),
        crs: None,
        acquired: None,
        report: satdet::Report::default(),
    }
}

#[test]
fn overviews_are_listed_and_read_as_gdal_reads_them() {
    let m = common::manifest();
    let gsd = m["detection"]["gsd_m"].as_f64().expect("gsd");
    let files = m["detection"]["overviews"].as_array().expect("overviews");
    assert_eq!(files.len(), 2);
    for f in files {
        let file = f["file"].as_str().expect("file");
        let scene = Scene::open(common::fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let levels = f["levels"].as_array().expect("levels");
        let want: Vec<Overview> = levels
            .iter()
            .map(|l| Overview {
                width: l["size"][0].as_u64().expect("w") as u32,
                height: l["size"][1].as_u64().expect("h") as u32,
            })
            .collect();
        assert_eq!(scene.overviews(), want, "{file}");
        assert_eq!(want.len(), 3, "{file}");
        for (level, l) in levels.iter().enumerate() {
            let ov = scene
                .overview_scene(level)
                .unwrap_or_else(|e| panic!("{file} overview {level}: {e}"));
            let (w, h) = (want[level].width, want[level].height);
            assert_eq!((ov.width(), ov.height(), ov.info().bands), (w, h, 3));
            assert_eq!(ov.info().mask, scene.info().mask, "the scene's nodata");
            assert!(ov.overviews().is_empty());
            // Georeferenced at the overview's pixel size, from the same corner.
            let (g, g0) = (
                ov.georef().expect("georef"),
                scene.georef().expect("georef"),
            );
            let rx = f64::from(scene.width()) / f64::from(w);
            assert!((g.transform.x_per_col - gsd * rx).abs() < 1e-9, "{file}");
            assert_eq!(g.transform.x_origin, g0.transform.x_origin);
            let gdal = common::raw_samples(l["raw"].as_str().expect("raw"), 8);
            assert_eq!(gdal.len() as u64, u64::from(w) * u64::from(h) * 3);
            let mut buf = TileBuf::new();
            for win in [
                Window::new(0, 0, w, h),
                Window::new(w / 3, h / 4, w / 2, h / 2),
                Window::new(w - 7, h - 5, 7, 5),
            ] {
                ov.read_window(win, &mut buf)
                    .unwrap_or_else(|e| panic!("{file} {level} {win:?}: {e}"));
                for y in 0..win.height {
                    for x in 0..win.width {
                        for b in 0..3u16 {
                            let i = ((win.y + y) * w + win.x + x) as usize * 3 + usize::from(b);
                            assert_eq!(
                                buf.get(x, y, b),
                                gdal[i],
                                "{file} overview {level} {win:?} at ({x}, {y}) band {b}"
                            );
                        }
                    }
                }
            }
            assert!(ov.chunks_decoded().expect("a TIFF") > 0);
        }
        assert_eq!(
            scene.chunks_decoded(),
            Some(0),
            "{file}: only overviews read"
        );
        assert!(matches!(scene.overview_scene(3), Err(Error::Config(_))));
        // The smallest at least as large as asked; none when none is.
        let pick = scene
            .overview_at_least(200, 200)
            .expect("open")
            .expect("one");
        assert_eq!(pick.width(), want[1].width);
        assert!(scene.overview_at_least(600, 10).expect("open").is_none());
    }
    let plain = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    assert!(plain.overviews().is_empty());
    assert!(matches!(plain.overview_scene(0), Err(Error::Config(_))));
    assert!(plain.overview_at_least(1, 1).expect("none").is_none());
}

/// The quick-look of a scene with overviews decodes none of its full-resolution tiles
/// (the same scene without them: all of them), and has the same size.
#[test]
fn quicklook_reads_an_overview_instead_of_the_scene() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sizes = Vec::new();
    for (file, max_side) in [
        ("utm_rgb_overviews.tif", 256),
        ("utm_rgb_tiled_lzw.tif", 256),
        ("big_overviews.tif", 1600),
        ("big_no_overviews.tif", 1600),
    ] {
        let scene = Scene::open(common::fixture(file)).expect("open");
        let out = dir.path().join(format!("{file}.png"));
        let scaling = satdet::raster::Scaling::u8();
        satdet::output::quicklook::write(&out, &scene, &no_detections(&scene), &scaling, max_side)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let img = image::open(&out).expect("png").to_rgb8();
        // The background (40, 45, 40) away from the squares and the nodata block.
        assert_eq!(img.get_pixel(1, 1).0, [40, 45, 40], "{file}");
        let decoded = scene.chunks_decoded().expect("a TIFF");
        let tiles = u64::from(scene.width().div_ceil(256) * scene.height().div_ceil(256));
        if file.contains("no_overviews") || file.contains("tiled_lzw") {
            assert_eq!(decoded, tiles, "{file}: every tile");
        } else {
            assert_eq!(decoded, 0, "{file}: no full-resolution tile");
        }
        sizes.push(img.dimensions());
    }
    assert_eq!(sizes[0], sizes[1]);
    assert_eq!(sizes[2], sizes[3]);
    assert_eq!(sizes[2], (1600, 1309));
}

/// The report's overview picture (1600 pixels on its long side) of a 3300-pixel scene
/// reads its 1650-pixel overview: no full-resolution tile decoded, the same picture size.
#[test]
fn report_overview_picture_reads_an_overview_instead_of_the_scene() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut figures = Vec::new();
    for file in ["big_overviews.tif", "big_no_overviews.tif"] {
        let scene = Scene::open(common::fixture(file)).expect("open");
        let dets = no_detections(&scene);
        let out = dir.path().join(format!("{file}.html"));
        satdet::output::report::write(
            &out,
            &satdet::output::report::ReportInput::new(&dets, &scene),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let html = std::fs::read_to_string(&out).expect("html");
        let at = html
            .find("class=\"fig overview\"")
            .expect("overview figure");
        let tag = &html[at..];
        let size = &tag[tag.find("\" width=\"").expect("width")..tag.find(" alt=").expect("alt")];
        figures.push(size.to_string());
        let decoded = scene.chunks_decoded().expect("a TIFF");
        if file == "big_overviews.tif" {
            assert_eq!(decoded, 0, "{file}: no full-resolution tile");
        } else {
            assert_eq!(decoded, 13 * 11, "{file}: every tile");
        }
    }
    assert_eq!(figures[0], figures[1]);
    assert!(figures[0].contains("width=\"1600\""), "{}", figures[0]);
}

/// A later directory past the header bounds (its TileOffsets claim more values than the
/// file holds) drops the overviews from there on, with a warning; the scene and the
/// overviews before it still read.
#[test]
fn a_refused_overview_directory_drops_only_the_overviews_from_there() {
    let mut data = std::fs::read(common::fixture("utm_rgb_overviews.tif")).expect("fixture");
    assert_eq!(&data[..4], b"II*\0");
    let u32_at = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().expect("4"));
    let u16_at = |d: &[u8], at: usize| u16::from_le_bytes([d[at], d[at + 1]]);
    // Directories: the image, then the overviews 550, 275 and 138 wide.
    let mut ifd = u32_at(&data, 4) as usize;
    for _ in 0..2 {
        let n = u16_at(&data, ifd) as usize;
        ifd = u32_at(&data, ifd + 2 + 12 * n) as usize;
    }
    let n = u16_at(&data, ifd) as usize;
    let entry = (0..n)
        .map(|e| ifd + 2 + 12 * e)
        .find(|&at| u16_at(&data, at) == 324)
        .expect("TileOffsets");
    data[entry + 4..entry + 8].copy_from_slice(&(u32::MAX / 8).to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("refused.tif");
    std::fs::write(&path, &data).expect("write");
    let scene = Scene::open(&path).expect("the image itself is sound");
    assert_eq!(
        scene.overviews(),
        [Overview {
            width: 550,
            height: 450
        }]
    );
    assert!(
        scene
            .warnings()
            .iter()
            .any(|w| w.contains("overviews after a refused directory")),
        "{:?}",
        scene.warnings()
    );
    let ov = scene.overview_scene(0).expect("the first overview");
    let mut buf = TileBuf::new();
    ov.read_window(Window::new(0, 0, 550, 450), &mut buf)
        .expect("reads");
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(0, 0, 1100, 900), &mut buf)
        .expect("reads");
}
