//! GeoTIFF internal masks (GDAL's PER_DATASET mask: a 1-bit directory after the image,
//! which every JPEG COG made from an image with alpha has): read as an alpha band, exactly
//! as GDAL reads the mask (`gdal_translate -b mask`), so no-data areas are skipped and
//! nothing in them is detected. The files are written by gdal_translate from raw bands.

mod common;

use satdet::raster::{Samples, TileBuf, Window};
use satdet::{Detector, Scene};
use std::path::{Path, PathBuf};

// Not a multiple of 8: the mask's rows end in padding bits.
const W: usize = 301;
const H: usize = 256;
/// Columns left of this are no data (alpha 0), as is a notch at the bottom right.
const COLLAR: usize = 100;

fn no_data(x: usize, y: usize) -> bool {
    x < COLLAR || (x >= 250 && y >= 200)
}

/// Squares (11 x 11 at 255 on 20) all over, in the no-data areas too.
fn centres() -> Vec<(usize, usize)> {
    let mut c = Vec::new();
    for y in [30, 90, 150, 220] {
        for x in [30, 70, 130, 190, 270] {
            c.push((x, y));
        }
    }
    c
}

/// RGBA, band-sequential: three equal colour bands with the squares, alpha 0 where there
/// is no data.
fn rgba() -> Vec<u8> {
    let mut grey = vec![20u8; W * H];
    for (cx, cy) in centres() {
        for y in cy - 5..=cy + 5 {
            grey[y * W + cx - 5..=y * W + cx + 5].fill(255);
        }
    }
    let alpha: Vec<u8> = (0..W * H)
        .map(|i| if no_data(i % W, i / W) { 0 } else { 255 })
        .collect();
    [grey.clone(), grey.clone(), grey, alpha].concat()
}

/// The RGBA scene `gdal_translate`d with `args` into `name`, internal masks on.
fn translate(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let bands: Vec<Vec<u8>> = rgba().chunks(W * H).map(<[u8]>::to_vec).collect();
    let args = [&["--config", "GDAL_TIFF_INTERNAL_MASK", "YES"][..], args].concat();
    common::raw_to_tiff(&bands, (W, H), &args, &out);
    out
}

/// GDAL's reading of the file's mask: one byte per pixel, 0 or 255.
fn gdal_mask(dir: &Path, tif: &Path, open_options: &[&str]) -> Vec<u8> {
    let out = dir.join("mask.raw");
    let (tif, out_s) = (tif.display().to_string(), out.display().to_string());
    let args = [
        &["-q", "-b", "mask", "-of", "ENVI"][..],
        open_options,
        &[&tif, &out_s],
    ]
    .concat();
    common::gdal("gdal_translate", &args, "");
    std::fs::read(&out).expect("mask raw")
}

fn alpha_of(scene: &Scene) -> Vec<u16> {
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(0, 0, W as u32, H as u32), &mut buf)
        .expect("read");
    let a = scene.info().mask.alpha_band.expect("alpha band");
    (0..H as u32)
        .flat_map(|y| (0..W as u32).map(move |x| (x, y)))
        .map(|(x, y)| buf.get(x, y, a))
        .collect()
}

/// Bands 1 to 3 of the RGBA scene as colour, band 4 as the internal mask.
const RGB_AND_MASK: &[&str] = &["-b", "1", "-b", "2", "-b", "3", "-mask", "4"];

/// A JPEG COG from RGBA: GDAL turns the alpha band into an internal mask (JPEG holds none).
const COG_JPEG: &[&str] = &[
    "-colorinterp",
    "red,green,blue,alpha",
    "-of",
    "COG",
    "-co",
    "COMPRESS=JPEG",
];

#[test]
fn internal_masks_read_as_gdal_reads_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let cases: [(&str, &[&str]); 4] = [
        ("cog_jpeg.tif", COG_JPEG),
        (
            "tiles_deflate.tif",
            &[
                RGB_AND_MASK,
                &[
                    "-co",
                    "TILED=YES",
                    "-co",
                    "BLOCKXSIZE=128",
                    "-co",
                    "BLOCKYSIZE=128",
                    "-co",
                    "COMPRESS=DEFLATE",
                ],
            ]
            .concat(),
        ),
        (
            "strips_lzw.tif",
            &[
                RGB_AND_MASK,
                &["-co", "COMPRESS=LZW", "-co", "BLOCKYSIZE=40"],
            ]
            .concat(),
        ),
        (
            "planar_16bit.tif",
            &[RGB_AND_MASK, &["-ot", "UInt16", "-co", "INTERLEAVE=BAND"]].concat(),
        ),
    ];
    for (name, args) in cases {
        let path = translate(d, name, args);
        let scene = Scene::open(&path).expect("open");
        let info = scene.info();
        assert_eq!((info.bands, info.mask.alpha_band), (4, Some(3)), "{name}");
        assert!(
            info.storage.contains("internal mask"),
            "{name}: {}",
            info.storage
        );
        let expected: Vec<u16> = gdal_mask(d, &path, &[])
            .into_iter()
            .map(|v| match (v, info.sample) {
                (0, _) => 0,
                (_, satdet::raster::SampleType::U8) => 255,
                _ => 65535,
            })
            .collect();
        assert_eq!(expected.len(), W * H);
        assert!(expected.contains(&0), "{name}: GDAL sees no mask");
        assert_eq!(
            alpha_of(&scene),
            expected,
            "{name}: mask differs from GDAL's"
        );
        // The colour bands are the image's, as before (exact but for JPEG).
        if name != "cog_jpeg.tif" {
            let mut buf = TileBuf::new();
            scene
                .read_window(Window::new(110, 25, 30, 10), &mut buf)
                .expect("read");
            let v = |x: u32, y: u32| buf.get(x, y, 1);
            assert_eq!((v(0, 0), v(20, 5)), (20, 255), "{name}");
        }
    }
}

#[test]
fn nothing_is_detected_where_the_mask_says_no_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = translate(
        dir.path(),
        "masked.tif",
        &[
            RGB_AND_MASK,
            &["-co", "TILED=YES", "-co", "COMPRESS=DEFLATE"],
        ]
        .concat(),
    );
    let scene = Scene::open(&path).expect("open");
    let det = Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .build()
        .expect("detector");
    let found = det.detect(&scene).expect("detect");
    let got = common::box_centres(&found);
    let mut want: Vec<(usize, usize)> = centres()
        .into_iter()
        .filter(|&(x, y)| !no_data(x, y))
        .collect();
    want.sort_unstable();
    assert_eq!(got, want);
    // The same file without its mask finds the squares in the collar too.
    let bare = translate(
        dir.path(),
        "bare.tif",
        &[
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-co",
            "TILED=YES",
            "-co",
            "COMPRESS=DEFLATE",
        ],
    );
    let all = det
        .detect(&Scene::open(&bare).expect("open"))
        .expect("detect");
    assert_eq!(all.len(), centres().len());
}

#[test]
fn four_bands_and_a_mask_is_a_warning() {
    let dir = tempfile::tempdir().expect("tmp");
    // Four colour bands and a mask: five bands, more than satdet reads.
    let path = translate(
        dir.path(),
        "four_and_mask.tif",
        &[
            "-b",
            "1",
            "-b",
            "2",
            "-b",
            "3",
            "-b",
            "1",
            "-mask",
            "4",
            "-co",
            "PHOTOMETRIC=MINISBLACK",
        ],
    );
    let scene = Scene::open(&path).expect("open");
    assert_eq!(
        (scene.info().bands, scene.info().mask.alpha_band),
        (4, None)
    );
    let w = common::warning(scene.warnings(), "internal mask");
    assert!(w.contains("more than the 4 bands"), "{w}");
}

#[test]
fn overviews_of_a_masked_scene_are_masked_by_their_own_masks() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = translate(
        dir.path(),
        "cog.tif",
        &[
            COG_JPEG,
            &["-co", "OVERVIEW_COUNT=1", "-co", "BLOCKSIZE=128"],
        ]
        .concat(),
    );
    let scene = Scene::open(&path).expect("open");
    assert_eq!(scene.info().bands, 4);
    assert!(!scene.overviews().is_empty(), "no overview");
    let ov = scene.overview_scene(0).expect("overview");
    assert_eq!((ov.info().bands, ov.info().mask.alpha_band), (4, Some(3)));
    let mut buf = TileBuf::new();
    let (w, h) = (ov.width(), ov.height());
    ov.read_window(Window::new(0, 0, w, h), &mut buf)
        .expect("read overview");
    assert!(matches!(buf.samples(), Samples::U8(_)));
    // As GDAL reads the overview's mask.
    let gdal: Vec<u16> = gdal_mask(dir.path(), &path, &["-oo", "OVERVIEW_LEVEL=0"])
        .into_iter()
        .map(u16::from)
        .collect();
    let ours: Vec<u16> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| buf.get(x, y, 3))
        .collect();
    assert!(gdal.contains(&0));
    assert_eq!(ours, gdal);
}

#[test]
fn a_mask_beside_an_alpha_band_is_not_used() {
    let dir = tempfile::tempdir().expect("tmp");
    // RGBA with alpha, and a mask as well (GDAL writes both when asked).
    let path = translate(
        dir.path(),
        "rgba_and_mask.tif",
        &["-colorinterp", "red,green,blue,alpha", "-mask", "4"],
    );
    let scene = Scene::open(&path).expect("open");
    assert_eq!(
        (scene.info().bands, scene.info().mask.alpha_band),
        (4, Some(3))
    );
    let w = common::warning(scene.warnings(), "internal mask");
    assert!(w.contains("alpha band"), "{w}");
}

#[test]
fn a_mask_gdal_would_not_write_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = translate(
        dir.path(),
        "odd_mask.tif",
        &[RGB_AND_MASK, &["-co", "TILED=YES"]].concat(),
    );
    // The mask directory's PhotometricInterpretation (tag 262, SHORT, 1 value) from 4
    // (transparency mask) to 1: the one such entry in this little-endian file.
    let mut bytes = std::fs::read(&path).expect("read");
    let entry = [6u8, 1, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0];
    let at: Vec<usize> = bytes
        .windows(entry.len())
        .enumerate()
        .filter(|(_, w)| *w == entry)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the mask's photometric entry");
    bytes[at[0] + 8] = 1;
    std::fs::write(&path, bytes).expect("write");
    let scene = Scene::open(&path).expect("the image is still read");
    assert_eq!(
        (scene.info().bands, scene.info().mask.alpha_band),
        (3, None)
    );
    let w = common::warning(scene.warnings(), "internal mask");
    assert!(w.contains("photometric"), "{w}");
}
