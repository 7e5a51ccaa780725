//! Which scene bands feed the model: the file's colour interpretation (GDAL's
//! `COLORINTERP`, an RGB photometric interpretation), the user's `bands`, or the first
//! three with a warning when a fourth colour band leaves the order in doubt. The scenes are
//! written by `gdal_translate` (the oracle for what GDAL-written files say) from raw bands.

mod common;

use satdet::{Bands, BandsFrom, Detector, Error, Scene};
use std::path::{Path, PathBuf};

const SIDE: usize = 256;

/// 11 x 11 squares at 255 centred on `centres`, on 20 elsewhere: one band.
fn band(centres: &[(usize, usize)]) -> Vec<u8> {
    let mut b = vec![20u8; SIDE * SIDE];
    for &(cx, cy) in centres {
        for y in cy - 5..=cy + 5 {
            b[y * SIDE + cx - 5..=y * SIDE + cx + 5].fill(255);
        }
    }
    b
}

fn grid(xs: &[usize], ys: &[usize]) -> Vec<(usize, usize)> {
    ys.iter()
        .flat_map(|&y| xs.iter().map(move |&x| (x, y)))
        .collect()
}

/// Squares only band 1 has (9) and only band 3 has (16).
fn band1_squares() -> Vec<(usize, usize)> {
    grid(&[40, 128, 216], &[40, 128, 216])
}
fn band3_squares() -> Vec<(usize, usize)> {
    grid(&[20, 84, 172, 236], &[20, 84, 172, 236])
}

/// A georeferenced 8-bit GeoTIFF of `bands` (band-sequential) written by gdal_translate
/// with `extra` options (e.g. `-colorinterp`).
fn tiff(dir: &Path, name: &str, bands: &[Vec<u8>], extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.tif"));
    common::raw_to_tiff(bands, (SIDE, SIDE), extra, &out);
    out
}

/// Neither a colour interpretation nor an RGB photometric interpretation (GDAL writes an
/// 8-bit 3- or 4-band TIFF as RGB unless told otherwise).
const PLAIN: &[&str] = &["-co", "PHOTOMETRIC=MINISBLACK"];

fn detector(bands: Option<&[u16]>) -> Detector {
    let mut b = Detector::builder().model(common::fixture("square_detector.onnx"));
    if let Some(bands) = bands {
        b = b.bands(bands.to_vec());
    }
    b.build().expect("detector")
}

/// Band 1 with its squares, band 2 blank, band 3 with its own, band 4 blank.
fn four_bands() -> Vec<Vec<u8>> {
    vec![
        band(&band1_squares()),
        band(&[]),
        band(&band3_squares()),
        band(&[]),
    ]
}

fn centres(scene: &Scene, det: &Detector) -> Vec<(usize, usize)> {
    common::box_centres(&det.detect(scene).expect("detect"))
}

/// The quick-look at `png` shows band 3's squares red and band 1's blue (inside a square,
/// away from the boxes drawn on its edges).
fn band3_red_band1_blue(png: &Path) {
    let img = image::open(png).expect("png").to_rgb8();
    let (x3, y3) = band3_squares()[5];
    let (x1, y1) = band1_squares()[4];
    assert_eq!(img.get_pixel(x3 as u32 - 3, y3 as u32 - 3).0, [255, 20, 20]);
    assert_eq!(img.get_pixel(x1 as u32 - 3, y1 as u32 - 3).0, [20, 20, 255]);
}

fn sorted(mut v: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    v.sort_unstable();
    v
}

#[test]
fn gdal_colour_interpretation_names_the_red_green_and_blue_bands() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(
        dir.path(),
        "bgrn",
        &four_bands(),
        &["-colorinterp", "blue,green,red,undefined"],
    );
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), Some([2, 1, 0]));
    let plan = detector(None).plan(&scene).expect("plan");
    assert_eq!(
        plan.bands,
        Bands {
            rgb: [3, 2, 1],
            from: BandsFrom::File
        }
    );
    assert!(
        !plan.warnings.iter().any(|w| w.contains("--bands")),
        "{:?}",
        plan.warnings
    );
    // The quick-look shows the file's red band (band 3) as red: its squares are red, band
    // 1's (blue in the file) blue.
    let det = detector(None);
    let found = det.detect(&scene).expect("detect");
    assert_eq!(found.report.bands.rgb, [3, 2, 1]);
    let png = dir.path().join("q.png");
    satdet::output::quicklook::write(&png, &scene, &found, &found.report.scaling, SIDE as u32)
        .expect("quick-look");
    band3_red_band1_blue(&png);
}

#[test]
fn rgb_photometric_means_the_first_three_bands() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(
        dir.path(),
        "rgbn",
        &four_bands(),
        &["-co", "PHOTOMETRIC=RGB", "-co", "ALPHA=NO"],
    );
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), Some([0, 1, 2]));
    let plan = detector(None).plan(&scene).expect("plan");
    assert_eq!(plan.bands.from, BandsFrom::File);
    assert_eq!(plan.bands.rgb, [1, 2, 3]);
}

#[test]
fn four_unnamed_bands_are_assumed_red_green_blue_with_a_warning() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "plain", &four_bands(), PLAIN);
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), None);
    let plan = detector(None).plan(&scene).expect("plan");
    assert_eq!(plan.bands, Bands::default());
    assert_eq!(
        plan.bands.to_string(),
        "1,2,3 as R,G,B (assumed: the file does not say)"
    );
    let w = common::warning(&plan.warnings, "4 colour bands");
    assert!(w.contains("--bands 3,2,1"), "{w}");
    // What the file does not say, the caller can.
    let named = scene.with_rgb_bands([2, 1, 0]).expect("rgb bands");
    assert_eq!(
        detector(None).plan(&named).expect("plan").bands.from,
        BandsFrom::File
    );
}

#[test]
fn the_bands_asked_for_are_the_bands_the_model_sees() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "plain", &four_bands(), PLAIN);
    let scene = Scene::open(&path).expect("open");
    // The fixture detector fires where the mean of its three inputs is bright: one band fed
    // as grey shows that band's squares and no other's.
    assert_eq!(
        centres(&scene, &detector(Some(&[3]))),
        sorted(band3_squares())
    );
    assert_eq!(
        centres(&scene, &detector(Some(&[1]))),
        sorted(band1_squares())
    );
    // Bands 1, 2, 3 as red, green and blue: no square is bright in all three.
    assert!(centres(&scene, &detector(None)).is_empty());
    let plan = detector(Some(&[3])).plan(&scene).expect("plan");
    assert_eq!(
        plan.bands,
        Bands {
            rgb: [3, 3, 3],
            from: BandsFrom::Asked
        }
    );
    assert_eq!(plan.bands.to_string(), "3 as grey (asked for)");
}

#[test]
fn bands_the_scene_cannot_feed_are_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "plain", &four_bands(), PLAIN);
    let scene = Scene::open(&path).expect("open");
    match detector(Some(&[5, 2, 1])).plan(&scene) {
        Err(Error::Config(m)) => assert!(m.contains("band 5") && m.contains("1 to 4"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    // The alpha band.
    let rgba = tiff(
        dir.path(),
        "rgba",
        &four_bands(),
        &["-co", "PHOTOMETRIC=RGB", "-co", "ALPHA=YES"],
    );
    let scene = Scene::open(&rgba).expect("open");
    assert_eq!(scene.info().mask.alpha_band, Some(3));
    match detector(Some(&[4])).plan(&scene) {
        Err(Error::Config(m)) => assert!(m.contains("band 4") && m.contains("alpha"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(scene.with_rgb_bands([3, 1, 0]).is_err());
    // Lists that are not one or three band numbers from 1: at build.
    for bad in [&[1u16, 2][..], &[0], &[1, 2, 3, 4]] {
        let err = Detector::builder()
            .model(common::fixture("square_detector.onnx"))
            .bands(bad.to_vec())
            .build()
            .expect_err("bad bands");
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}

#[test]
fn two_colour_bands_need_to_be_told_which() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(
        dir.path(),
        "two",
        &[band(&band1_squares()), band(&band3_squares())],
        PLAIN,
    );
    let scene = Scene::open(&path).expect("open");
    match detector(None).plan(&scene) {
        Err(Error::UnsupportedRaster { detail, .. }) => {
            assert!(detail.contains("--bands"), "{detail}")
        }
        other => panic!("expected an unsupported error, got {other:?}"),
    }
    assert_eq!(
        centres(&scene, &detector(Some(&[2]))),
        sorted(band3_squares())
    );
}

/// Written detections keep the bands the model saw, in every format, so a report or
/// quick-look drawn later from the file shows them; files without them read as assumed.
#[test]
fn the_bands_survive_writing_and_reading_the_detections() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "plain", &four_bands(), PLAIN);
    let scene = Scene::open(&path).expect("open");
    // Band 3 as grey: its 16 squares found (a CSV keeps metadata in its rows only).
    let found = detector(Some(&[3])).detect(&scene).expect("detect");
    assert_eq!(found.len(), 16);
    for ext in ["geojson", "gpkg", "fgb", "csv", "kml"] {
        let out = dir.path().join(format!("dets.{ext}"));
        satdet::output::write_detections(&out, &found).expect("write");
        let back = satdet::output::read_detections(&out).expect("read");
        assert_eq!(
            back.report.bands,
            Bands {
                rgb: [3, 3, 3],
                from: BandsFrom::Asked
            },
            "{ext}"
        );
    }
    // The quick-look drawn from detections read back shows the asked bands: band 3's
    // squares red, band 1's blue.
    let found = detector(Some(&[3, 2, 1])).detect(&scene).expect("detect");
    let out = dir.path().join("rgb.geojson");
    satdet::output::write_detections(&out, &found).expect("write");
    let back = satdet::output::read_detections(&out).expect("read");
    assert_eq!(back.report.bands.rgb, [3, 2, 1]);
    let png = dir.path().join("q.png");
    satdet::output::quicklook::write(&png, &scene, &back, &back.report.scaling, SIDE as u32)
        .expect("quick-look");
    band3_red_band1_blue(&png);
}

#[test]
fn a_single_band_is_fed_as_grey() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "pan", &[band(&band3_squares())], &[]);
    let scene = Scene::open(&path).expect("open");
    let plan = detector(None).plan(&scene).expect("plan");
    assert_eq!(
        plan.bands,
        Bands {
            rgb: [1, 1, 1],
            from: BandsFrom::Assumed
        }
    );
    assert_eq!(plan.bands.to_string(), "1 as grey (the only colour band)");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(centres(&scene, &detector(None)), sorted(band3_squares()));
}

/// The band list of a 4-band WorldView delivery's `.IMD`, abridged (Maxar's
/// `BEGIN_GROUP = BAND_x` groups, in the order of the bands in the GeoTIFF).
const IMD_BGRN: &str = "version = \"28.3\";\nBEGIN_GROUP = BAND_B\n\tULLon = 30.1;\n\tabsCalFactor = 1.2e-02;\nEND_GROUP = BAND_B\n\
BEGIN_GROUP = BAND_G\nEND_GROUP = BAND_G\nBEGIN_GROUP = BAND_R\nEND_GROUP = BAND_R\n\
BEGIN_GROUP = BAND_N\nEND_GROUP = BAND_N\nBEGIN_GROUP = IMAGE_1\n\tsatId = \"WV02\";\nEND_GROUP = IMAGE_1\nEND;\n";

#[test]
fn a_maxar_band_list_names_the_red_green_and_blue_bands() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(dir.path(), "wv", &four_bands(), PLAIN);
    std::fs::write(path.with_extension("IMD"), IMD_BGRN).expect("imd");
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), Some([2, 1, 0]));
    let plan = detector(None).plan(&scene).expect("plan");
    assert_eq!(
        plan.bands,
        Bands {
            rgb: [3, 2, 1],
            from: BandsFrom::Imd
        }
    );
    assert_eq!(
        plan.bands.to_string(),
        "3,2,1 as R,G,B (the band list of the Maxar .IMD)"
    );
    assert!(
        !plan.warnings.iter().any(|w| w.contains("--bands")),
        "{:?}",
        plan.warnings
    );
    let found = detector(None).detect(&scene).expect("detect");
    let png = dir.path().join("q.png");
    satdet::output::quicklook::write(&png, &scene, &found, &found.report.scaling, SIDE as u32)
        .expect("quick-look");
    band3_red_band1_blue(&png);

    // Without the .IMD, its .XML twin says the same; any other XML says nothing.
    std::fs::remove_file(path.with_extension("IMD")).expect("rm");
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<isd><IMD><VERSION>28.3</VERSION>\
               <BAND_B><ULLON>30.1</ULLON></BAND_B><BAND_G/><BAND_R/><BAND_N/><IMAGE><SATID>WV02</SATID></IMAGE></IMD></isd>";
    std::fs::write(path.with_extension("XML"), xml).expect("xml");
    assert_eq!(
        Scene::open(&path).expect("open").rgb_bands(),
        Some([2, 1, 0])
    );
    std::fs::write(path.with_extension("XML"), "<metadata><BAND_R/></metadata>").expect("xml");
    assert_eq!(Scene::open(&path).expect("open").rgb_bands(), None);

    // A band list that does not fit the raster is a warning, and is not used.
    let eight = "BEGIN_GROUP = BAND_C\nBEGIN_GROUP = BAND_B\nBEGIN_GROUP = BAND_G\nBEGIN_GROUP = BAND_Y\n\
                 BEGIN_GROUP = BAND_R\nBEGIN_GROUP = BAND_RE\nBEGIN_GROUP = BAND_N\nBEGIN_GROUP = BAND_N2\nEND;\n";
    std::fs::write(path.with_extension("imd"), eight).expect("imd");
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), None);
    let w = common::warning(scene.warnings(), "lists 8 bands");
    assert!(w.contains("4 colour bands"), "{w}");
}

#[test]
fn a_maxar_band_list_wins_over_an_rgb_photometric_with_a_warning() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = tiff(
        dir.path(),
        "rgbn",
        &four_bands(),
        &["-co", "PHOTOMETRIC=RGB", "-co", "ALPHA=NO"],
    );
    std::fs::write(path.with_extension("IMD"), IMD_BGRN).expect("imd");
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.rgb_bands(), Some([2, 1, 0]));
    let w = common::warning(scene.warnings(), "colour model");
    assert!(
        w.contains("bands 1,2,3") && w.contains("bands 3,2,1"),
        "{w}"
    );
    // GDAL's own colour interpretation (in its GDAL_METADATA tag: a MINISBLACK file) is
    // not overruled.
    let named = tiff(
        dir.path(),
        "named",
        &four_bands(),
        &[
            "-co",
            "PHOTOMETRIC=MINISBLACK",
            "-colorinterp",
            "red,green,blue,undefined",
        ],
    );
    std::fs::write(named.with_extension("IMD"), IMD_BGRN).expect("imd");
    assert_eq!(
        Scene::open(&named).expect("open").rgb_bands(),
        Some([0, 1, 2])
    );
}

/// GDAL's colour interpretation of each band of `path`, as `gdalinfo -json` reads it.
fn gdal_colour_interp(path: &Path) -> Vec<String> {
    let out = common::gdal("gdalinfo", &["-json", &path.display().to_string()], "");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["bands"]
        .as_array()
        .expect("bands")
        .iter()
        .map(|b| {
            b["colorInterpretation"]
                .as_str()
                .expect("colour")
                .to_string()
        })
        .collect()
}

#[test]
fn a_gdal_aux_xml_colour_interpretation_is_read_as_gdal_reads_it() {
    let dir = tempfile::tempdir().expect("tmp");
    // Without GDAL's own TIFF tags (PROFILE=GeoTIFF), GDAL keeps the colour interpretation
    // in the .aux.xml: for a MINISBLACK file every band, for an RGB one only the bands
    // whose colour differs (here bands 1 and 3; band 2 stays green from the photometric).
    for (name, bands, extra) in [
        (
            "plain",
            four_bands(),
            &[
                "-co",
                "PHOTOMETRIC=MINISBLACK",
                "-colorinterp",
                "blue,green,red,undefined",
            ][..],
        ),
        (
            "rgb",
            four_bands()[..3].to_vec(),
            &["-colorinterp", "blue,green,red"][..],
        ),
    ] {
        let mut args = vec!["-co", "PROFILE=GeoTIFF"];
        args.extend_from_slice(extra);
        let path = tiff(dir.path(), name, &bands, &args);
        let pam = dir.path().join(format!("{name}.tif.aux.xml"));
        assert!(pam.is_file(), "GDAL wrote no {}", pam.display());
        assert_eq!(gdal_colour_interp(&path)[..3], ["Blue", "Green", "Red"]);
        let scene = Scene::open(&path).expect("open");
        assert_eq!(scene.rgb_bands(), Some([2, 1, 0]), "{name}");
        let plan = detector(None).plan(&scene).expect("plan");
        assert_eq!(plan.bands.from, BandsFrom::AuxXml, "{name}");
        assert_eq!(
            plan.bands.to_string(),
            "3,2,1 as R,G,B (the colour interpretation in the .aux.xml)"
        );
        // A damaged .aux.xml is a warning; the file's own interpretation stands.
        std::fs::write(&pam, "<PAMDataset><PAMRasterBand band=\"1\">").expect("pam");
        let scene = Scene::open(&path).expect("open");
        common::warning(scene.warnings(), "aux.xml: not read");
        let own = if name == "rgb" { Some([0, 1, 2]) } else { None };
        assert_eq!(scene.rgb_bands(), own, "{name}");
    }
}
