//! Windowed reads equal crops of the reference pixels, for every layout, storage, sample
//! type, band count and compression the fixtures cover.

mod common;

use satdet::raster::{BandLayout, SampleType, Samples, TileBuf, Window};
use satdet::Scene;

fn reference(name: &str, bits: u64) -> Vec<u16> {
    common::raw_samples(name, bits)
}

#[test]
fn windows_equal_crops_of_the_reference() {
    let m = common::manifest();
    let cases = m["io"].as_array().expect("io cases");
    assert_eq!(cases.len(), 22, "the fixture matrix changed");
    let windows = [
        Window::new(0, 0, 300, 200),   // everything
        Window::new(0, 0, 1, 1),       // one pixel
        Window::new(63, 47, 66, 50),   // across tile and strip boundaries
        Window::new(250, 190, 50, 10), // bottom-right edge, partial chunks
        Window::new(10, 100, 256, 7),  // one strip's height, misaligned
    ];
    for c in cases {
        let file = c["file"].as_str().expect("file");
        let bands = c["bands"].as_u64().expect("bands") as u16;
        let bits = c["bits"].as_u64().expect("bits");
        let raw = reference(c["raw"].as_str().expect("raw"), bits);
        let scene = Scene::open(common::fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let info = scene.info();
        assert_eq!(
            (info.width, info.height, info.bands),
            (300, 200, bands),
            "{file}"
        );
        assert_eq!(
            info.sample,
            if bits == 8 {
                SampleType::U8
            } else {
                SampleType::U16
            },
            "{file}"
        );
        let planar = c["planar"].as_bool().expect("planar");
        assert_eq!(
            info.layout,
            if planar {
                BandLayout::Planar
            } else {
                BandLayout::Interleaved
            },
            "{file}"
        );
        let alpha = c["alpha"].as_bool().unwrap_or(false);
        assert_eq!(
            info.mask.alpha_band,
            alpha.then_some(3),
            "{file}: ExtraSamples alpha"
        );
        let mut buf = TileBuf::new();
        for w in windows {
            scene
                .read_window(w, &mut buf)
                .unwrap_or_else(|e| panic!("{file} {w:?}: {e}"));
            assert_eq!(buf.window(), w);
            for y in 0..w.height {
                for x in 0..w.width {
                    for b in 0..bands {
                        let want = raw
                            [(((w.y + y) * 300 + w.x + x) as usize) * bands as usize + b as usize];
                        let got = buf.get(x, y, b);
                        assert_eq!(got, want, "{file} window {w:?} pixel ({x},{y}) band {b}");
                    }
                }
            }
        }
        match buf.samples() {
            Samples::U8(_) => assert_eq!(bits, 8),
            Samples::U16(_) => assert_eq!(bits, 16),
        }
    }
}

#[test]
fn window_outside_the_scene_is_an_error() {
    let scene = Scene::open(common::fixture("io_u8_1b_pixel_strips_none.tif")).expect("open");
    let mut buf = TileBuf::new();
    for w in [
        Window::new(290, 0, 20, 10),
        Window::new(0, 0, 0, 5),
        Window::new(0, 195, 10, 6),
    ] {
        let e = scene.read_window(w, &mut buf).unwrap_err();
        assert!(
            e.to_string().contains("io_u8_1b_pixel_strips_none.tif"),
            "{e}"
        );
    }
}

#[test]
fn png_and_jpeg_with_world_file() {
    for (name, exact) in [("world.png", true), ("world.jpg", false)] {
        let scene = Scene::open(common::fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (scene.width(), scene.height(), scene.info().bands),
            (50, 40, 3)
        );
        let g = scene.georef().expect("world file read");
        assert_eq!(g.crs, satdet::Crs::Epsg(32633), "CRS from world.prj");
        assert_eq!(
            g.transform.to_gdal(),
            [500000.0, 0.5, 0.0, 5000000.0, 0.0, -0.5],
            "{name}"
        );
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(10, 20, 5, 5), &mut buf)
            .expect("read");
        if exact {
            // PNG is lossless: pixel (x, y) band b = (7x + 13y + 50b) % 256.
            for b in 0..3 {
                assert_eq!(
                    buf.get(2, 3, b),
                    ((7 * 12 + 13 * 23 + 50 * b as u32) % 256) as u16
                );
            }
        }
    }
}

#[test]
fn nodata_is_read_from_the_gdal_tag() {
    let scene = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open");
    assert_eq!(scene.info().mask.nodata, Some(0.0));
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(650, 650, 100, 100), &mut buf)
        .expect("read");
    assert_eq!(buf.valid_pixels(&scene.info().mask), 0);
    scene
        .read_window(Window::new(550, 550, 100, 100), &mut buf)
        .expect("read");
    assert_eq!(buf.valid_pixels(&scene.info().mask), 10_000 - 50 * 50);
}

/// `gdal_translate -q ARGS SRC DST`.
fn gdal_translate(args: &[&str], src: &std::path::Path, dst: &std::path::Path) {
    let (src, dst) = (src.display().to_string(), dst.display().to_string());
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    all.extend([src.as_str(), dst.as_str()]);
    common::gdal("gdal_translate", &all, "");
}

#[test]
fn nodata_is_read_from_a_gdal_aux_xml() {
    // GDAL keeps the nodata value in the .aux.xml when the file cannot hold it: a TIFF
    // without GDAL's own tags, a JPEG. satdet reads it there, as GDAL does.
    let src = common::fixture("utm_rgb_tiled_lzw.tif");
    let dir = tempfile::tempdir().expect("tmp");
    let window = Window::new(550, 550, 100, 100);
    let valid = |scene: &Scene| {
        let mut buf = TileBuf::new();
        scene.read_window(window, &mut buf).expect("read");
        buf.valid_pixels(&scene.info().mask)
    };
    let tif = dir.path().join("geotiff_profile.tif");
    gdal_translate(&["-co", "PROFILE=GeoTIFF"], &src, &tif);
    let pam = dir.path().join("geotiff_profile.tif.aux.xml");
    assert!(std::fs::read_to_string(&pam)
        .expect("aux.xml")
        .contains("<NoDataValue>"));
    let scene = Scene::open(&tif).expect("open");
    assert_eq!(scene.info().mask.nodata, Some(0.0));
    assert_eq!(valid(&scene), 10_000 - 50 * 50);
    let jpg = dir.path().join("scene.jpg");
    gdal_translate(&["-of", "JPEG", "-a_nodata", "7"], &src, &jpg);
    assert_eq!(
        Scene::open(&jpg).expect("open").info().mask.nodata,
        Some(7.0)
    );

    // Bands that disagree, or a value that is not a number, are a warning: no nodata.
    let text = std::fs::read_to_string(&pam).expect("aux.xml");
    std::fs::write(&pam, text.replacen("0.00000000000000E+00", "255", 1)).expect("write");
    let scene = Scene::open(&tif).expect("open");
    assert_eq!(scene.info().mask.nodata, None);
    common::warning(scene.warnings(), "nodata values differ");
    std::fs::write(&pam, text.replace("0.00000000000000E+00", "nan")).expect("write");
    let scene = Scene::open(&tif).expect("open");
    assert_eq!(scene.info().mask.nodata, None);
    common::warning(scene.warnings(), "not a finite number");

    // A file's own GDAL_NODATA tag wins over an .aux.xml beside it (as in GDAL).
    let own = dir.path().join("own.tif");
    std::fs::copy(&src, &own).expect("copy");
    std::fs::write(
        dir.path().join("own.tif.aux.xml"),
        text.replace("0.00000000000000E+00", "9"),
    )
    .expect("write");
    assert_eq!(
        Scene::open(&own).expect("open").info().mask.nodata,
        Some(0.0)
    );
}

#[test]
fn sparse_tiles_read_as_nodata() {
    // GDAL leaves all-nodata blocks out of the file (offset 0, byte count 0).
    let path = common::fixture("utm_rgb_sparse.tif");
    let mut dec =
        tiff::decoder::Decoder::new(std::fs::File::open(&path).expect("open")).expect("tiff");
    let counts = dec
        .get_tag_u64_vec(tiff::tags::Tag::TileByteCounts)
        .expect("TileByteCounts");
    assert!(
        counts.iter().filter(|&&c| c == 0).count() >= 4,
        "the fixture must hold sparse tiles: {counts:?}"
    );
    let sparse = Scene::open(&path).expect("open sparse");
    let dense = Scene::open(common::fixture("utm_rgb_tiled_lzw.tif")).expect("open dense");
    let (mut a, mut b) = (TileBuf::new(), TileBuf::new());
    for w in [
        Window::new(0, 0, 1100, 900),
        Window::new(700, 700, 200, 200),
        Window::new(500, 500, 300, 300),
    ] {
        sparse.read_window(w, &mut a).expect("read sparse");
        dense.read_window(w, &mut b).expect("read dense");
        assert_eq!(a.samples(), b.samples(), "window {w:?}");
    }
    sparse
        .read_window(Window::new(768, 768, 128, 128), &mut a)
        .expect("read");
    assert_eq!(a.valid_pixels(&sparse.info().mask), 0);
}

#[test]
fn one_strip_with_rows_per_strip_at_the_maximum() {
    // RowsPerStrip = 2^32 - 1 means "one strip for the whole image" (libtiff's default).
    use tiff::encoder::{colortype, TiffEncoder};
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("one_strip.tif");
    let (w, h) = (50u32, 40u32);
    let data: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
    {
        let f = std::fs::File::create(&path).expect("create");
        let mut enc = TiffEncoder::new(f).expect("encoder");
        let mut img = enc.new_image::<colortype::RGB8>(w, h).expect("image");
        img.rows_per_strip(u32::MAX).expect("rows per strip");
        img.write_strip(&data).expect("strip");
        img.finish().expect("finish");
    }
    let scene = Scene::open(&path).expect("open");
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(10, 5, 20, 30), &mut buf)
        .expect("read");
    let Samples::U8(v) = buf.samples() else {
        panic!("8-bit")
    };
    for y in 0..30usize {
        for x in 0..20usize {
            for c in 0..3usize {
                let want = data[((y + 5) * w as usize + x + 10) * 3 + c];
                assert_eq!(v[(y * 20 + x) * 3 + c], want, "({x},{y}) band {c}");
            }
        }
    }
}

/// A copy of the un-georeferenced fixture in a temporary folder, with a world file (and
/// optionally a `.prj`) beside it.
fn tiff_with_world_file(prj: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let tif = dir.path().join("scene.tif");
    std::fs::copy(common::fixture("nogeo.tif"), &tif).expect("copy");
    // Centre of the top-left pixel at (500000.25, 4999999.75), 0.5 m pixels.
    std::fs::write(
        dir.path().join("scene.tfw"),
        "0.5\n0\n0\n-0.5\n500000.25\n4999999.75\n",
    )
    .expect("tfw");
    if prj {
        std::fs::copy(common::fixture("world.prj"), dir.path().join("scene.prj")).expect("prj");
    }
    (dir, tif)
}

#[test]
fn plain_tiff_with_a_tfw_world_file_is_georeferenced() {
    let (_dir, tif) = tiff_with_world_file(true);
    let scene = Scene::open(&tif).expect("open");
    let g = scene.georef().expect("georeferenced by scene.tfw");
    assert_eq!(
        g.transform.to_gdal(),
        [500000.0, 0.5, 0.0, 5000000.0, 0.0, -0.5]
    );
    assert_eq!(g.crs, satdet::Crs::Epsg(32633));
    assert!(scene.warnings().is_empty(), "{:?}", scene.warnings());
}

/// The scene warns that its CRS is missing and points to `with_crs`; after
/// `with_crs(32633)` the CRS is set and no warning is left.
fn set_crs_and_check_the_warning_is_gone(scene: Scene) {
    assert!(
        scene
            .warnings()
            .iter()
            .any(|w| w.contains("Scene::with_crs")),
        "{:?}",
        scene.warnings()
    );
    let scene = scene.with_crs(32633).expect("with_crs");
    assert_eq!(
        scene.georef().expect("georef").crs,
        satdet::Crs::Epsg(32633)
    );
    assert!(scene.warnings().is_empty(), "{:?}", scene.warnings());
}

#[test]
fn with_crs_sets_a_missing_crs() {
    let (_dir, tif) = tiff_with_world_file(false);
    let scene = Scene::open(&tif).expect("open");
    assert!(matches!(
        scene.georef().expect("transform").crs,
        satdet::Crs::Unknown(_)
    ));
    set_crs_and_check_the_warning_is_gone(scene);

    let unknown = Scene::open(&tif).expect("open").with_crs(1);
    assert!(
        matches!(unknown, Err(satdet::Error::Config(_))),
        "{unknown:?}"
    );
    let nogeo = Scene::open(common::fixture("nogeo.tif"))
        .expect("open")
        .with_crs(32633);
    assert!(matches!(nogeo, Err(satdet::Error::Config(_))), "{nogeo:?}");
}

#[test]
fn with_crs_also_clears_the_warning_of_model_tags_without_geokeys() {
    // GeoTIFF model tags (tie point + pixel scale) but no GeoKey directory: the transform
    // is known, the CRS is not; one warning says so and with_crs removes it.
    use tiff::encoder::{colortype, TiffEncoder};
    use tiff::tags::Tag;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("no_geokeys.tif");
    let (w, h) = (20u32, 10u32);
    let data = vec![7u8; (w * h) as usize];
    {
        let f = std::fs::File::create(&path).expect("create");
        let mut enc = TiffEncoder::new(f).expect("encoder");
        let mut img = enc.new_image::<colortype::Gray8>(w, h).expect("image");
        img.encoder()
            .write_tag(Tag::ModelPixelScaleTag, &[0.5f64, 0.5, 0.0][..])
            .expect("scale");
        img.encoder()
            .write_tag(
                Tag::ModelTiepointTag,
                &[0.0f64, 0.0, 0.0, 500_000.0, 5_000_000.0, 0.0][..],
            )
            .expect("tiepoint");
        img.write_data(&data).expect("write");
    }
    let scene = Scene::open(&path).expect("open");
    let g = scene.georef().expect("transform from the model tags");
    assert!(
        matches!(&g.crs, satdet::Crs::Unknown(why) if why.contains("GeoKey")),
        "{:?}",
        g.crs
    );
    assert_eq!(scene.warnings().len(), 1, "{:?}", scene.warnings());
    set_crs_and_check_the_warning_is_gone(scene);
}

/// A noisy 512 × 512 RGB image (noise so that the compressed data is large) written by
/// `image` as `name` in a fresh folder.
fn noisy_image(name: &str, format: image::ImageFormat) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(name);
    let mut state = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(512, 512, |_, _| {
        let mut px = [0u8; 3];
        for p in &mut px {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *p = state as u8;
        }
        image::Rgb(px)
    });
    img.save_with_format(&path, format).expect("encode");
    (dir, path)
}

/// A JPEG or PNG cut short (a failed download) is a `CorruptRaster` error, not an image
/// whose missing part reads as grey (the JPEG decoder pads silently).
#[test]
fn truncated_jpeg_and_png_are_corrupt_rasters() {
    for (name, format) in [
        ("cut.jpg", image::ImageFormat::Jpeg),
        ("cut.png", image::ImageFormat::Png),
    ] {
        let (_dir, path) = noisy_image(name, format);
        let bytes = std::fs::read(&path).expect("read");
        // The whole file reads.
        let scene = Scene::open(&path).expect("open whole");
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(0, 0, 512, 512), &mut buf)
            .unwrap_or_else(|e| panic!("{name} whole: {e}"));
        for percent in [5usize, 50, 99] {
            std::fs::write(&path, &bytes[..bytes.len() * percent / 100]).expect("cut");
            let res = Scene::open(&path)
                .and_then(|s| s.read_window(Window::new(0, 0, 512, 512), &mut buf));
            let e = res.expect_err(&format!("{name} cut to {percent}% must not read"));
            assert!(
                matches!(e, satdet::Error::CorruptRaster { .. }),
                "{name} at {percent}%: {e:?}"
            );
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}

/// A world file with a 50 MB token: the error names the file and quotes a short prefix.
#[test]
fn a_huge_world_file_token_is_quoted_short() {
    let (_dir, tif) = tiff_with_world_file(false);
    let tfw = tif.with_extension("tfw");
    for token_len in [900_000usize, 50 << 20] {
        let text = format!("0.5\n0\n0\n-0.5\n{}x\n4999999.75\n", "1".repeat(token_len));
        std::fs::write(&tfw, text).expect("tfw");
        let e = Scene::open(&tif).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, satdet::Error::Georef { .. }), "{e:?}");
        assert!(msg.contains("scene.tfw"), "{msg}");
        assert!(msg.len() < 400, "{} bytes of message", msg.len());
    }
}

/// A `.prj` with a custom Lambert conformal conic (no authority of its own, EPSG ones on
/// its GEOGCS and units) is that Lambert, built from its parameters, never EPSG:4326.
#[test]
fn a_custom_crs_in_a_prj_is_built_not_taken_for_its_datum() {
    let (dir, tif) = tiff_with_world_file(false);
    std::fs::write(dir.path().join("scene.prj"), CUSTOM_LCC).expect("prj");
    let scene = Scene::open(&tif).expect("open");
    let crs = &scene.georef().expect("georef").crs;
    assert!(
        matches!(crs, satdet::Crs::Proj(def)
            if def.starts_with("+proj=lcc +lat_1=33 +lat_2=45 +lat_0=39 +lon_0=125 ")),
        "{crs:?}"
    );
    assert!(
        !scene
            .warnings()
            .iter()
            .any(|w| w.contains("CRS not usable")),
        "{:?}",
        scene.warnings()
    );
    // GDAL agrees that the CRS has no EPSG code, when gdalsrsinfo is here to ask.
    if let Ok(out) = std::process::Command::new("gdalsrsinfo")
        .args(["-o", "epsg"])
        .arg(dir.path().join("scene.prj"))
        .output()
    {
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("EPSG:-1"), "gdalsrsinfo: {said}");
    }
}

/// As `gdalsrsinfo -o wkt1` writes a custom LCC on WGS 84.
const CUSTOM_LCC: &str = r#"PROJCS["Custom_LCC",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Lambert_Conformal_Conic_2SP"],PARAMETER["standard_parallel_1",33],PARAMETER["standard_parallel_2",45],PARAMETER["latitude_of_origin",39],PARAMETER["central_meridian",125],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]]]"#;

/// A scene in EPSG:4326 whose rows run past the North Pole: `Scene::open` warns (the
/// boxes there will have no lon/lat); `with_crs(4326)` on such a scene warns as well; a
/// scene inside ±90° gets no such warning.
#[test]
fn a_geographic_scene_past_the_pole_is_warned_about() {
    let (dir, tif) = tiff_with_world_file(false);
    let (w, h) = {
        let s = Scene::open(&tif).expect("open");
        (s.width(), s.height())
    };
    let past = |w: &str| w.contains("past the valid range");
    // Top-left pixel centre at 89.9995°N, 0.001° pixels: the top rows are inside, the
    // scene's top edge at 90.0000° exactly; then one raised by 0.1°: past the pole.
    for (top, warned) in [(89.9995, false), (90.0995, true)] {
        std::fs::write(
            tif.with_extension("tfw"),
            format!("0.001\n0\n0\n-0.001\n10.0\n{top}\n"),
        )
        .expect("tfw");
        std::fs::write(dir.path().join("scene.prj"), "EPSG:4326").expect("prj");
        let scene = Scene::open(&tif).expect("open");
        assert_eq!(
            scene.warnings().iter().any(|w| past(w)),
            warned,
            "top {top}, {w}x{h}: {:?}",
            scene.warnings()
        );
        // The area is measured at the centre's latitude: none past the pole.
        let centre_lat = top + 0.0005 - f64::from(h) * 0.0005;
        assert_eq!(scene.area_km2().is_some(), centre_lat <= 90.0, "top {top}");
        std::fs::remove_file(dir.path().join("scene.prj")).expect("rm prj");
        let scene = Scene::open(&tif)
            .expect("open")
            .with_crs(4326)
            .expect("4326");
        assert_eq!(
            scene.warnings().iter().any(|w| past(w)),
            warned,
            "with_crs, top {top}: {:?}",
            scene.warnings()
        );
    }
}

/// `gdalsrsinfo -o epsg` on a `.prj`: the exact code (`Some(-1)`: GDAL knows none), or
/// `None` with the candidate codes when it only offers matches with a confidence.
fn gdal_epsg(prj: &std::path::Path) -> Option<(Option<i64>, Vec<i64>)> {
    let out = std::process::Command::new("gdalsrsinfo")
        .args(["-o", "epsg"])
        .arg(prj)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let codes: Vec<i64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("EPSG:")?.parse().ok())
        .collect();
    let exact = (!text.contains("Confidence") && codes.len() == 1).then(|| codes[0]);
    Some((exact, codes))
}

/// The CRS satdet reads from a `.prj` agrees with GDAL on WKT1, WKT2 and ESRI WKT of a
/// UTM zone and of a custom LCC (as `gdalsrsinfo` writes them): where GDAL names one code,
/// satdet names the same or none; where GDAL says EPSG:-1, satdet says unknown; satdet
/// never names a code GDAL does not list.
#[test]
fn prj_crs_agrees_with_gdalsrsinfo() {
    let dir = tempfile::tempdir().expect("tmp");
    let lcc = dir.path().join("lcc.prj");
    std::fs::write(&lcc, CUSTOM_LCC).expect("lcc");
    let mut texts = Vec::new();
    for (src, formats) in [
        ("EPSG:32633", ["wkt1", "wkt2", "wkt_esri"]),
        ("EPSG:4326", ["wkt1", "wkt2", "wkt_esri"]),
        (lcc.to_str().expect("utf8"), ["wkt1", "wkt2", "wkt_esri"]),
    ] {
        for f in formats {
            let Ok(out) = std::process::Command::new("gdalsrsinfo")
                .args(["-o", f, src])
                .output()
            else {
                eprintln!("gdalsrsinfo not found: comparison skipped");
                return;
            };
            texts.push((
                format!("{src} as {f}"),
                String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            ));
        }
    }
    let (tdir, tif) = tiff_with_world_file(false);
    let prj = tdir.path().join("scene.prj");
    for (what, text) in texts {
        std::fs::write(&prj, &text).expect("prj");
        let ours = Scene::open(&tif)
            .expect("open")
            .georef()
            .expect("georef")
            .crs
            .epsg();
        let (exact, listed) = gdal_epsg(&prj).expect("gdalsrsinfo ran before");
        match (ours, exact) {
            (Some(c), Some(g)) => assert_eq!(i64::from(c), g, "{what}"),
            // satdet knows fewer names than GDAL: unknown (with a warning) is allowed.
            (None, _) => {}
            (Some(c), None) => assert!(
                listed.contains(&i64::from(c)),
                "{what}: satdet {c}, GDAL {listed:?}"
            ),
        }
        if what.starts_with('/') {
            assert_eq!(ours, None, "{what}: the custom LCC has no EPSG code");
        }
    }
}

/// A GDAL `.aux.xml` that cannot be read counts only where it is needed: with a world
/// file and a `.prj` beside it the scene opens as before; with only a world file, the
/// CRS is unknown and the reason names the `.aux.xml`.
#[test]
fn an_unreadable_aux_xml_beside_a_world_file_is_not_fatal() {
    let (dir, tif) = tiff_with_world_file(false);
    std::fs::write(
        dir.path().join("scene.tif.aux.xml"),
        [0xff, 0xfe, 0x00, 0x81],
    )
    .expect("aux");
    let scene = Scene::open(&tif).expect("a world file is enough to open");
    let crs = &scene.georef().expect("georef from the world file").crs;
    assert!(
        matches!(crs, satdet::Crs::Unknown(why) if why.contains("scene.tif.aux.xml")),
        "{crs:?}"
    );
    std::fs::write(dir.path().join("scene.prj"), "EPSG:32633").expect("prj");
    let scene = Scene::open(&tif).expect("open");
    assert_eq!(
        scene.georef().expect("georef").crs,
        satdet::Crs::Epsg(32633)
    );
}
