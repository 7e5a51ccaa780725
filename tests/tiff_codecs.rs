//! JPEG (compression 7: gray, RGB, YCbCr with JPEGTables), ZSTD (50000) and WebP (50001) TIFFs: windowed
//! reads against GDAL's own decoding of the same windows (`gdal_translate -srcwin` to ENVI,
//! written by make_fixtures.py), corrupt JPEG chunks, and a detection run on a JPEG scene.
//!
//! WebP (50001, lossy and lossless, RGB tiles and RGBA strips) likewise, plus corrupt and
//! shared WebP chunks, planar WebP refused, and detection on a lossy WebP scene.
//!
//! ZSTD and lossless WebP are lossless: equal exactly. Lossy WebP: VP8 decoding (the
//! integer inverse transforms, prediction and loop filter) is specified bit-exactly by
//! RFC 6386, so decoders differ only in the chroma upsampling and the YUV to RGB
//! conversion; image-webp follows libwebp's "fancy" upsampler and its 14-bit fixed-point
//! conversion. Measured against GDAL 3.6 (libwebp 1.2): max 0, mean 0 on every window,
//! RGB and RGBA (the pattern differs from the original by a mean of 12-17, so the files
//! are really lossy). Allowed: max 1, mean 0.01, one rounding step should another
//! libwebp round its conversion differently. A decoding error (a misplaced tile, swapped
//! channels, a lost alpha) is tens to hundreds.
//!
//! JPEG decoders may differ by the rounding of their
//! integer inverse DCT and, for YCbCr, of the chroma upsampling and the fixed-point
//! colour conversion. GDAL 3.6 decodes through libtiff (JPEGCOLORMODE_RGB) and libjpeg
//! with its defaults: "islow" integer IDCT and "fancy" (triangle-filter) 2x2 upsampling;
//! satdet uses zune-jpeg, whose IDCT and upsampling are integer approximations of the same
//! filters, on SIMD paths chosen at run time. Measured against GDAL: gray and RGB (no
//! colour conversion) max 1, mean 0.01-0.02; YCbCr max 3, mean 0.36-0.39 (a chroma
//! rounding of 1 becomes up to 2 in R or B through the 1.402/1.772 coefficients, plus the
//! IDCT's 1). Allowed: max 2 and mean < 0.1 without conversion, max 4 and mean < 0.5
//! for YCbCr, one step of slack for another SIMD path. A decoding error (a misplaced tile,
//! swapped components, the wrong colour space) is tens to hundreds.

mod common;

use satdet::raster::{TileBuf, Window};
use satdet::{Error, Scene};

/// Lossy WebP against GDAL (libwebp): largest and mean absolute difference allowed (see
/// the module docs: measured 0 and 0).
const WEBP_LOSSY_TOLERANCE: (u16, f64) = (1, 0.01);

/// GDAL's decoding of one window, band-interleaved by pixel, as u16.
fn gdal_window(raw: &str, bits: u64) -> Vec<u16> {
    common::raw_samples(raw, bits)
}

/// Largest and mean absolute difference between satdet's window and GDAL's.
fn compare(buf: &TileBuf, win: Window, bands: u16, want: &[u16]) -> (u16, f64) {
    assert_eq!(want.len() as u64, win.pixels() * u64::from(bands));
    let (mut max, mut sum) = (0u16, 0u64);
    for y in 0..win.height {
        for x in 0..win.width {
            for b in 0..bands {
                let w = want[((y * win.width + x) * u32::from(bands) + u32::from(b)) as usize];
                let d = buf.get(x, y, b).abs_diff(w);
                max = max.max(d);
                sum += u64::from(d);
            }
        }
    }
    (max, sum as f64 / want.len() as f64)
}

#[test]
fn windows_match_gdal_decoding() {
    let m = common::manifest();
    let cases = m["codecs"].as_array().expect("codec cases");
    assert_eq!(cases.len(), 10, "the codec fixtures changed");
    for c in cases {
        let file = c["file"].as_str().expect("file");
        let codec = c["codec"].as_str().expect("codec");
        let lossless = c["lossless"].as_bool().expect("lossless");
        let bits = c["bits"].as_u64().expect("bits");
        let bands = c["bands"].as_u64().expect("bands") as u16;
        let scene = Scene::open(common::fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let info = scene.info();
        assert_eq!((info.width, info.height, info.bands), (300, 200, bands));
        assert!(info.storage.contains(codec), "{file}: {}", info.storage);
        let mut buf = TileBuf::new();
        for w in c["windows"].as_array().expect("windows") {
            let r: Vec<u32> = w["window"]
                .as_array()
                .expect("window")
                .iter()
                .map(|v| v.as_u64().expect("u64") as u32)
                .collect();
            let win = Window::new(r[0], r[1], r[2], r[3]);
            scene
                .read_window(win, &mut buf)
                .unwrap_or_else(|e| panic!("{file} {win:?}: {e}"));
            let want = gdal_window(w["raw"].as_str().expect("raw"), bits);
            let (max, mean) = compare(&buf, win, bands, &want);
            let (max_ok, mean_ok) = match codec {
                _ if lossless => (0, 0.0),
                "JPEG" if file.contains("ycbcr") => (4, 0.5),
                "JPEG" => (2, 0.1),
                "WebP" => WEBP_LOSSY_TOLERANCE,
                other => panic!("{file}: lossy {other}?"),
            };
            assert!(
                max <= max_ok && mean <= mean_ok,
                "{file} {win:?}: max diff {max}, mean {mean:.3} vs GDAL (allowed {max_ok}, {mean_ok})"
            );
        }
    }
}

/// A damaged JPEG tile is a CorruptRaster naming the file, never a panic; the tiles
/// before it still read. Bytes flipped inside the entropy-coded data are not always
/// detectable (JPEG has no checksum; GDAL, through libjpeg, decodes this very file
/// without a word): there, wrong pixels or a CorruptRaster, never a panic.
#[test]
fn corrupt_jpeg_chunks_are_corrupt_raster_errors() {
    let m = common::manifest();
    let files = &m["corrupt_jpeg"]["files"];
    let chunk = m["corrupt_jpeg"]["chunk"].as_u64().expect("chunk") as u32;
    // 64x48 tiles, 5 across: the damaged tile's pixels.
    let (tx, ty) = (chunk % 5 * 64, chunk / 5 * 48);
    for what in ["flipped", "garbage", "truncated"] {
        let path = common::fixture(files[what].as_str().expect("file"));
        let scene = Scene::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(0, 0, 64, 48), &mut buf)
            .unwrap_or_else(|e| panic!("{what}: the first tile is intact: {e}"));
        match scene.read_window(Window::new(tx, ty, 64, 48), &mut buf) {
            Err(Error::CorruptRaster {
                path: p, detail, ..
            }) => {
                assert_eq!(p, path, "{what}");
                assert!(
                    detail.contains(&format!("chunk {chunk}")),
                    "{what}: {detail}"
                );
            }
            Ok(()) if what == "flipped" => {}
            other => panic!("{what}: expected CorruptRaster, got {other:?}"),
        }
    }
}

/// Old-style JPEG (6) and YCbCr outside JPEG are refused, naming the file.
#[test]
fn old_style_jpeg_and_ycbcr_without_jpeg_are_refused() {
    let src = std::fs::read(common::fixture("codec_jpeg_ycbcr_tiles.tif")).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    for (what, compression, needle) in [
        ("old_jpeg", 6u16, "old-style JPEG"),
        ("ycbcr_lzw", 5u16, "YCbCr"),
    ] {
        let mut data = src.clone();
        set_short_tag(&mut data, 259, compression);
        let path = dir.path().join(format!("{what}.tif"));
        std::fs::write(&path, &data).expect("write");
        match Scene::open(&path) {
            Err(e @ Error::UnsupportedRaster { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(needle), "{what}: {msg}");
                assert!(msg.contains(&format!("{what}.tif")), "{what}: {msg}");
            }
            other => panic!("{what}: expected UnsupportedRaster, got {other:?}"),
        }
    }
}

/// A JPEG tile claiming more pixels than its bytes can code (512:1 at best) is refused at
/// open, before anything is decoded.
#[test]
fn jpeg_chunk_too_short_for_its_pixels_is_refused_at_open() {
    let mut data = std::fs::read(common::fixture("codec_jpeg_ycbcr_tiles.tif")).expect("fixture");
    // TileByteCounts (325), LONG values: tile 0 of 64x48x3 = 9216 bytes in 10 bytes.
    let ifd = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes")) as usize;
    let n = u16::from_le_bytes([data[ifd], data[ifd + 1]]) as usize;
    let entry = (0..n)
        .map(|e| ifd + 2 + 12 * e)
        .find(|&at| u16::from_le_bytes([data[at], data[at + 1]]) == 325)
        .expect("TileByteCounts");
    assert_eq!(u16::from_le_bytes([data[entry + 2], data[entry + 3]]), 4);
    let values = u32::from_le_bytes(data[entry + 8..entry + 12].try_into().expect("4")) as usize;
    data[values..values + 4].copy_from_slice(&10u32.to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bomb.tif");
    std::fs::write(&path, &data).expect("write");
    match Scene::open(&path) {
        Err(Error::CorruptRaster {
            path: p, detail, ..
        }) => {
            assert_eq!(p, path);
            assert!(
                detail.contains("cannot hold") && detail.contains("JPEG"),
                "{detail}"
            );
        }
        other => panic!("expected CorruptRaster, got {other:?}"),
    }
}

/// Sets a SHORT tag of the first IFD of a classic little-endian TIFF.
fn set_short_tag(data: &mut [u8], tag: u16, value: u16) {
    assert_eq!(&data[..4], b"II*\0");
    let ifd = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes")) as usize;
    let n = u16::from_le_bytes([data[ifd], data[ifd + 1]]) as usize;
    for e in 0..n {
        let at = ifd + 2 + 12 * e;
        if u16::from_le_bytes([data[at], data[at + 1]]) == tag {
            data[at + 8..at + 10].copy_from_slice(&value.to_le_bytes());
            return;
        }
    }
    panic!("no tag {tag}");
}

/// The detection scene as GDAL's usual RGB JPEG (YCbCr, 2x2 subsampling, JPEGTables;
/// quality 90, see make_fixtures.py):
/// the 16 squares are still found, once each, where they are.
#[test]
fn detection_on_the_jpeg_ycbcr_scene_finds_the_squares() {
    finds_the_squares("utm_rgb_jpeg_ycbcr.tif", "JPEG");
}

/// The detection scene as lossy WebP (quality 90, 256x256 tiles): every square found.
#[test]
fn detection_on_the_lossy_webp_scene_finds_the_squares() {
    finds_the_squares("utm_rgb_webp.tif", "WebP");
}

fn finds_the_squares(file: &str, codec: &str) {
    let m = common::manifest();
    let scene = Scene::open(common::fixture(file)).expect("open");
    assert!(scene.info().storage.contains(codec), "{file}");
    let det = satdet::Detector::builder()
        .model(common::fixture("square_detector.onnx"))
        .batch_size(8)
        .threads(1)
        .build()
        .expect("detector");
    let dets = det.detect(&scene).expect("detect");
    let squares = m["detection"]["squares"].as_array().expect("squares");
    assert_eq!(squares.len(), 16);
    assert_eq!(
        dets.len(),
        squares.len(),
        "{file}: each square once: {:?}",
        dets.items.iter().map(|d| d.pixel_box).collect::<Vec<_>>()
    );
    for s in squares {
        let b: Vec<f64> = s["pixel_bbox"]
            .as_array()
            .expect("bbox")
            .iter()
            .map(|v| v.as_f64().expect("f64"))
            .collect();
        let hits = dets
            .iter()
            .filter(|d| {
                let p = d.pixel_box.to_array();
                (0..4).all(|i| (p[i] - b[i]).abs() <= 1.0)
            })
            .count();
        assert_eq!(hits, 1, "{file}: square at {b:?}");
    }
}

/// Where the values of LONG tag `tag` of the first IFD lie (inline or at an offset), and
/// how many there are; classic little-endian TIFF.
fn long_values(data: &[u8], tag: u16) -> (usize, usize) {
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
    let ifd = u32_at(4) as usize;
    let n = u16::from_le_bytes([data[ifd], data[ifd + 1]]) as usize;
    let at = (0..n)
        .map(|e| ifd + 2 + 12 * e)
        .find(|&at| u16::from_le_bytes([data[at], data[at + 1]]) == tag)
        .unwrap_or_else(|| panic!("no tag {tag}"));
    assert_eq!(u16::from_le_bytes([data[at + 2], data[at + 3]]), 4, "LONG");
    let count = u32_at(at + 4) as usize;
    let values = if count == 1 {
        at + 8
    } else {
        u32_at(at + 8) as usize
    };
    (values, count)
}

fn set_long(data: &mut [u8], (values, count): (usize, usize), i: usize, v: u32) {
    assert!(i < count);
    data[values + 4 * i..values + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_long(data: &[u8], (values, _): (usize, usize), i: usize) -> u32 {
    u32::from_le_bytes(
        data[values + 4 * i..values + 4 * i + 4]
            .try_into()
            .expect("4"),
    )
}

/// A WebP tile cut short or overwritten is a CorruptRaster naming the file and the chunk;
/// the other tile still reads.
#[test]
fn corrupt_webp_chunks_are_corrupt_raster_errors() {
    let src = std::fs::read(common::fixture("codec_webp_lossy_rgb_tiles.tif")).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let offsets = long_values(&src, 324);
    let counts = long_values(&src, 325);
    assert_eq!(offsets.1, 2, "two 256x256 tiles");
    for what in ["truncated", "garbage", "flipped"] {
        let mut data = src.clone();
        let (off, count) = (get_long(&data, offsets, 1), get_long(&data, counts, 1));
        let (off, count) = (off as usize, count as usize);
        match what {
            "truncated" => set_long(&mut data, counts, 1, (count / 2) as u32),
            // Past the RIFF and VP8 headers: the frame header's start code and sizes.
            "flipped" => data[off + 20..off + 30].iter_mut().for_each(|b| *b ^= 0x5A),
            _ => data[off..off + count].fill(0xA5),
        }
        let path = dir.path().join(format!("{what}.tif"));
        std::fs::write(&path, &data).expect("write");
        let scene = Scene::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(0, 0, 256, 200), &mut buf)
            .unwrap_or_else(|e| panic!("{what}: tile 0 is intact: {e}"));
        match scene.read_window(Window::new(256, 0, 44, 200), &mut buf) {
            Err(Error::CorruptRaster {
                path: p, detail, ..
            }) => {
                assert_eq!(p, path, "{what}");
                assert!(
                    detail.contains("chunk 1") && detail.contains("WebP"),
                    "{what}: {detail}"
                );
            }
            other => panic!("{what}: expected CorruptRaster, got {other:?}"),
        }
    }
}

/// Tiles sharing one WebP stream (no ratio bound catches such a bomb: lossless WebP codes
/// a flat tile in almost nothing) are refused at open; planar WebP is refused as
/// unsupported.
#[test]
fn shared_and_planar_webp_chunks_are_refused() {
    let src = std::fs::read(common::fixture("codec_webp_lossy_rgb_tiles.tif")).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut shared = src.clone();
    let (offsets, counts) = (long_values(&shared, 324), long_values(&shared, 325));
    let (off0, count0) = (get_long(&shared, offsets, 0), get_long(&shared, counts, 0));
    set_long(&mut shared, offsets, 1, off0);
    set_long(&mut shared, counts, 1, count0);
    let path = dir.path().join("shared.tif");
    std::fs::write(&path, &shared).expect("write");
    match Scene::open(&path) {
        Err(Error::CorruptRaster { detail, .. }) => {
            assert!(detail.contains("share their bytes"), "{detail}")
        }
        other => panic!("expected CorruptRaster, got {other:?}"),
    }
    // Compression 50001 written over GDAL's planar 8-bit and interleaved 16-bit files:
    // refused from the tags, before any chunk is read.
    for (file, needle) in [
        ("io_u8_3b_band_strips_none.tif", "planar"),
        ("io_u16_3b_pixel_strips_none.tif", "16-bit"),
    ] {
        let mut data = std::fs::read(common::fixture(file)).expect("fixture");
        set_short_tag(&mut data, 259, 50001);
        let path = dir.path().join(file);
        std::fs::write(&path, &data).expect("write");
        match Scene::open(&path) {
            Err(e @ Error::UnsupportedRaster { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("WebP") && msg.contains(needle) && msg.contains(file),
                    "{msg}"
                );
            }
            other => panic!("{file}: expected UnsupportedRaster, got {other:?}"),
        }
    }
}
