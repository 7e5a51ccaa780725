//! PNG and JPEG have no random access: they are decoded whole, so their decoded size is
//! bounded by `Limits::max_window_bytes`, checked from the header when the scene is opened,
//! before anything is decoded. Tested on both sides of the limit.

use satdet::raster::{TileBuf, Window};
use satdet::{Error, Limits, Scene};
use std::path::PathBuf;

fn limits(max_window_bytes: u64) -> Limits {
    let mut l = Limits::default();
    l.max_window_bytes = max_window_bytes;
    l
}

/// `img` saved as `name` in a fresh folder.
fn save(img: image::DynamicImage, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(name);
    img.save(&path).expect("encode");
    (dir, path)
}

fn gradient(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]))
}

/// Each colour type's decoded bytes are width × height × bands × bytes per sample: one
/// byte over the limit is refused at open, exactly at it the image opens and reads back.
#[test]
fn png_decoded_bytes_are_bounded_on_both_sides_of_the_limit() {
    let (w, h) = (37u32, 23u32);
    let rgb = image::DynamicImage::ImageRgb8(gradient(w, h));
    let cases = [
        (rgb.clone(), 3u64),
        (image::DynamicImage::ImageRgba8(rgb.to_rgba8()), 4),
        (image::DynamicImage::ImageLuma8(rgb.to_luma8()), 1),
        (image::DynamicImage::ImageLumaA8(rgb.to_luma_alpha8()), 2),
        (image::DynamicImage::ImageRgb16(rgb.to_rgb16()), 6),
        (image::DynamicImage::ImageLuma16(rgb.to_luma16()), 2),
    ];
    for (img, bytes_per_pixel) in cases {
        let color = img.color();
        let want = u64::from(w * h) * bytes_per_pixel;
        let (_dir, path) = save(img.clone(), "scene.png");

        let e = Scene::open_with_limits(&path, &limits(want - 1)).unwrap_err();
        match &e {
            Error::Limits {
                what,
                found,
                limit,
                context,
            } => {
                assert_eq!(*what, "decoded image bytes", "{color:?}");
                assert_eq!((*found, *limit), (want, want - 1), "{color:?}");
                assert!(context.contains("scene.png"), "{context}");
            }
            other => panic!("{color:?}: {other}"),
        }

        let scene = Scene::open_with_limits(&path, &limits(want)).expect("at the limit");
        let mut buf = TileBuf::new();
        scene
            .read_window(Window::new(0, 0, w, h), &mut buf)
            .expect("read");
        let same = Scene::from_image(img, None).expect("from_image");
        let mut want_buf = TileBuf::new();
        same.read_window(Window::new(0, 0, w, h), &mut want_buf)
            .expect("read");
        assert_eq!(buf.samples(), want_buf.samples(), "{color:?}");
    }
}

/// A decompression bomb: 6000 × 6000 black RGB pixels, a few kilobytes of PNG, 108 MB
/// decoded. Refused at open from the header, without decoding (or allocating) it.
#[test]
fn a_small_png_that_decodes_huge_is_refused_at_open() {
    let (w, h) = (6000u32, 6000u32);
    let (_dir, path) = save(
        image::DynamicImage::ImageRgb8(image::RgbImage::new(w, h)),
        "bomb.png",
    );
    let file_len = std::fs::metadata(&path).expect("stat").len();
    assert!(file_len < 1 << 20, "{file_len} bytes");
    let limit = 16 << 20;
    let t = std::time::Instant::now();
    let e = Scene::open_with_limits(&path, &limits(limit)).unwrap_err();
    assert!(
        matches!(e, Error::Limits { found, .. } if found == u64::from(w * h) * 3),
        "{e}"
    );
    assert!(t.elapsed().as_secs_f64() < 1.0, "decoded before refusing?");
}

/// JPEG is held to the same bound.
#[test]
fn jpeg_decoded_bytes_are_bounded_too() {
    let (w, h) = (40u32, 30u32);
    let (_dir, path) = save(image::DynamicImage::ImageRgb8(gradient(w, h)), "scene.jpg");
    let want = u64::from(w * h) * 3;
    let e = Scene::open_with_limits(&path, &limits(want - 1)).unwrap_err();
    assert!(
        matches!(e, Error::Limits { found, limit, .. } if found == want && limit == want - 1),
        "{e}"
    );
    let scene = Scene::open_with_limits(&path, &limits(want)).expect("at the limit");
    let mut buf = TileBuf::new();
    scene
        .read_window(Window::new(0, 0, w, h), &mut buf)
        .expect("read");
}
