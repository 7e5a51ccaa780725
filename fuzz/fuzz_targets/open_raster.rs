//! Fuzz target: the input is written to a file and opened as a raster (TIFF/GeoTIFF, PNG
//! or JPEG, recognised by its first bytes), then a few windows are read, under tight
//! `Limits`. Any panic, abort or out-of-memory is a bug: keep the input under
//! `tests/fixtures/regressions/` with a named test in `tests/fuzz_rasters.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satdet::raster::{TileBuf, Window};
use satdet::{Limits, Scene};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One file per fuzzing process, rewritten for each input.
fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("satdet-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("input.tif")
    })
}

/// The limits of `tests/fuzz_rasters.rs`: 2 MiB windows and chunks, 4 M-pixel scenes.
fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_scene_pixels = 1 << 22;
    l.max_window_bytes = 2 << 20;
    l.chunk_cache_bytes = 512 << 10;
    l
}

fuzz_target!(|data: &[u8]| {
    let path = input_path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let Ok(scene) = Scene::open_with_limits(path, &limits()) else {
        return;
    };
    let (w, h) = (scene.width(), scene.height());
    let block = |x: u32, y: u32, bw: u32, bh: u32| Window::new(x, y, bw.min(w - x), bh.min(h - y));
    let mut buf = TileBuf::new();
    for win in [
        block(0, 0, 1, 1),
        block(w - 1, h - 1, 1, 1),
        block(w / 3, h / 3, 200, 150),
        block(0, h / 2, 300, 1),
    ] {
        let _ = scene.read_window(win, &mut buf);
    }
});
