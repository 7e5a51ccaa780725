//! Mutation fuzzing that runs in every `cargo test` (stable Rust): every raster fixture
//! (TIFF/GeoTIFF of each layout and compression, PNG/JPEG with a world file and `.prj`)
//! is mutated (bytes set, the file cut, header fields such as TIFF entry counts, PNG/JPEG
//! dimensions and world-file numbers replaced by edge values), then opened and read
//! window by window under tight [`Limits`]. Each case must give a typed error naming the
//! file with a short message, or a valid result, never a panic; and the peak of live heap
//! bytes, counted by this binary's global allocator, must stay under [`PEAK_BOUND`].
//!
//! Cases are drawn from a fixed seed, so CI runs the same cases every time; set
//! `SATDET_FUZZ_SEED` (a number) and `SATDET_FUZZ_CASES` to explore further. Every crash
//! found is kept under `tests/fixtures/regressions/` with a named test below. Longer,
//! coverage-guided runs: `fuzz/` (cargo-fuzz, nightly).

mod common;
mod craft;
mod mutate;

use mutate::{mutate, mutation, put, tiff_entries, Mutation};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use satdet::raster::{TileBuf, Window};
use satdet::{Error, Limits, Scene};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

// ---- the counting allocator ------------------------------------------------------------

/// Counts live heap bytes and their peak (over every thread of this test binary).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as both blocks alive at once, as a moving realloc has them.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this binary run one at a time: the peak is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` and returns the peak of live heap bytes above those live before it.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

// ---- the limits and what a case must satisfy ---------------------------------------------

/// Tight limits: 2 MiB windows/chunks, a 512 KiB chunk cache, 4 M-pixel scenes.
fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_scene_pixels = 1 << 22;
    l.max_window_bytes = 2 << 20;
    l.chunk_cache_bytes = 512 << 10;
    l
}

/// The most heap a case may hold at once: 6 × max_window_bytes (a TIFF chunk's
/// compressed bytes, at most 1.5 × its decoded size, its decoded bytes and their 16-bit
/// conversion, the cache grown to one window's chunks, the window buffer; or a whole
/// PNG/JPEG and its decoder's working buffers, which `image` bounds at 2 ×) plus 2 MiB
/// for the decoders' fixed tables, file buffers and the test's own bookkeeping.
const PEAK_BOUND: usize = 6 * (2 << 20) + (2 << 20);

/// Messages quote input only as snippets (error::snippet): no message is longer than this.
const MAX_MESSAGE: usize = 2_000;

/// Opens `path` and reads a few windows (corner pixels, a block, a row); checks the
/// result. `Err` carries what went wrong with the *contract* (a panic is caught by the
/// caller).
/// What the cases reached: opened, windows read, errors (printed with `--nocapture`).
static OPENED: AtomicUsize = AtomicUsize::new(0);
static READ: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

fn exercise(path: &Path) -> Result<(), String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let check = |e: &Error| -> Result<(), String> {
        let msg = e.to_string();
        if msg.len() > MAX_MESSAGE {
            return Err(format!("a {}-byte message: {}", msg.len(), &msg[..200]));
        }
        let names_file = msg.contains(&name)
            || matches!(e, Error::Georef { .. })
                && msg.contains(path.file_stem().and_then(|s| s.to_str()).unwrap_or("?"));
        if !names_file {
            return Err(format!("the error does not name the file: {msg}"));
        }
        Ok(())
    };
    let scene = match Scene::open_with_limits(path, &limits()) {
        Ok(s) => s,
        Err(e) => {
            FAILED.fetch_add(1, Ordering::Relaxed);
            return check(&e);
        }
    };
    OPENED.fetch_add(1, Ordering::Relaxed);
    let (w, h) = (scene.width(), scene.height());
    if w == 0 || h == 0 {
        return Err(format!("opened with size {w}x{h}"));
    }
    if let Some(g) = scene.georef() {
        if !g.transform.is_valid() {
            return Err(format!("invalid transform {:?}", g.transform));
        }
    }
    let block = |x: u32, y: u32, bw: u32, bh: u32| {
        let bw = bw.min(w - x);
        let bh = bh.min(h - y);
        Window::new(x, y, bw, bh)
    };
    let windows = [
        block(0, 0, 1, 1),
        block(w - 1, h - 1, 1, 1),
        block(w / 3, h / 3, 200, 150),
        block(0, h / 2, 300, 1),
    ];
    let mut buf = TileBuf::new();
    for win in windows {
        match scene.read_window(win, &mut buf) {
            Ok(()) => {
                READ.fetch_add(1, Ordering::Relaxed);
                let n = match buf.samples() {
                    satdet::raster::Samples::U8(v) => v.len(),
                    satdet::raster::Samples::U16(v) => v.len(),
                };
                let want = win.pixels() as usize * usize::from(scene.info().bands);
                if buf.window() != win || n != want {
                    return Err(format!("window {win:?}: {n} samples, want {want}"));
                }
            }
            Err(e) => check(&e)?,
        }
    }
    Ok(())
}

// ---- fixtures and mutations ----------------------------------------------------------------

/// A file's name and bytes, read once (the fixtures folder may be regenerated meanwhile).
type Named = (String, Vec<u8>);

/// Every raster fixture, with the sidecar files that share its stem.
fn raster_fixtures() -> Vec<(Named, Vec<Named>)> {
    let dir = common::fixtures();
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    all.sort();
    let is = |p: &Path, exts: &[&str]| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
    };
    let load = |p: &Path| -> Named {
        let name = p.file_name().and_then(|n| n.to_str()).expect("name");
        (name.to_owned(), std::fs::read(p).expect("fixture"))
    };
    all.iter()
        .filter(|p| is(p, &["tif", "tiff", "png", "jpg", "jpeg"]))
        .map(|p| {
            let sidecars = all
                .iter()
                .filter(|s| s.file_stem() == p.file_stem() && is(s, &["wld", "prj", "tfw"]))
                .map(|s| load(s))
                .collect();
            (load(p), sidecars)
        })
        .collect()
}

/// Writes `raster` and its sidecars into `dir`, mutating the raster (target 0) or a
/// sidecar (target 1, 2…); returns the path of the raster.
fn prepare(
    dir: &Path,
    raster: &Named,
    sidecars: &[Named],
    target: usize,
    muts: &[Mutation],
) -> PathBuf {
    let write = |(name, bytes): &Named, mutated: bool| -> PathBuf {
        let dst = dir.join(name);
        if mutated {
            std::fs::write(&dst, mutate(bytes.clone(), muts)).expect("write");
        } else {
            std::fs::write(&dst, bytes).expect("write");
        }
        dst
    };
    for (k, s) in sidecars.iter().enumerate() {
        write(s, target == k + 1);
    }
    write(raster, target == 0 || sidecars.is_empty())
}

fn config() -> Config {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("SATDET_FUZZ_CASES").map_or(2_000, |c| c as u32),
        rng_seed: RngSeed::Fixed(env("SATDET_FUZZ_SEED").unwrap_or(0x005a_7de7_2026)),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

#[test]
fn mutated_fixtures_fail_cleanly_within_bounded_memory() {
    let _serial = serial();
    let fixtures = raster_fixtures();
    assert!(fixtures.len() >= 30, "{} raster fixtures", fixtures.len());
    assert!(
        fixtures.iter().any(|(_, s)| !s.is_empty()),
        "the PNG/JPEG world-file fixtures are fuzzed with their sidecars"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let strategy = (
        any::<Index>(),
        0usize..3,
        proptest::collection::vec(mutation(), 1..4),
    );
    let max_peak = AtomicUsize::new(0);
    let result = runner.run(&strategy, |(which, target, muts)| {
        let (raster, sidecars) = which.get(&fixtures);
        let target = target % (sidecars.len() + 1);
        let case = dir.path().join("case");
        let _ = std::fs::remove_dir_all(&case);
        std::fs::create_dir_all(&case).expect("case dir");
        let path = prepare(&case, raster, sidecars, target, &muts);
        let (outcome, peak) = peak_during(|| exercise(&path));
        max_peak.fetch_max(peak, Ordering::Relaxed);
        prop_assert!(outcome.is_ok(), "{}: {}", raster.0, outcome.unwrap_err());
        prop_assert!(
            peak <= PEAK_BOUND,
            "{}: peak of {peak} live heap bytes, above {PEAK_BOUND}",
            raster.0
        );
        Ok(())
    });
    eprintln!(
        "fuzz: {} opened, {} failed to open, {} windows read; peak {} bytes (bound {PEAK_BOUND})",
        OPENED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
        READ.load(Ordering::Relaxed),
        max_peak.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!(
            "{e}\nReproduce with the fixture and mutations above; keep the input under tests/fixtures/regressions/ with a named test."
        );
    }
}

/// The unmutated fixtures pass too (and so does the memory bound for each of them).
#[test]
fn every_fixture_passes_unmutated() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tmp");
    for (raster, sidecars) in raster_fixtures() {
        let path = prepare(dir.path(), &raster, &sidecars, 0, &[]);
        let (outcome, peak) = peak_during(|| exercise(&path));
        outcome.unwrap_or_else(|e| panic!("{}: {e}", raster.0));
        assert!(peak <= PEAK_BOUND, "{}: {peak}", raster.0);
    }
}

// ---- regressions -----------------------------------------------------------------------

/// The folder of kept crash inputs.
fn regression(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/regressions")
        .join(name)
}

/// A small file whose TileOffsets claims 8 million entries: the `tiff` decoder allocated
/// 256 MiB for their values (its own default limit) before failing at the end of the
/// file. The directory is now checked first.
#[test]
fn chunk_array_counts_are_checked_before_the_decoder_allocates() {
    let _serial = serial();
    use craft::{gray8, Val, DATA_START};
    let mut tags = gray8(64, 64, 1);
    tags.push((322, Val::Short(vec![16])));
    tags.push((323, Val::Short(vec![16])));
    tags.push((324, Val::Long(vec![DATA_START; 16])));
    tags.push((325, Val::Long(vec![256; 16])));
    let mut bytes = craft::tiff(tags, &[0u8; 256]);
    let (entries, _, _) = tiff_entries(&bytes).expect("entries");
    let offsets = entries
        .into_iter()
        .find(|&e| bytes[e..e + 2] == 324u16.to_le_bytes())
        .expect("TileOffsets");
    put(&mut bytes, offsets + 4, &8_000_000u32.to_le_bytes());
    let (_dir, path) = craft::write("claims.tif", &bytes);
    let (res, peak) = peak_during(|| Scene::open(&path).map(|_| ()));
    let e = res.unwrap_err();
    assert!(matches!(e, Error::CorruptRaster { .. }), "{e:?}");
    assert!(peak < 4 << 20, "peak of {peak} bytes while refusing");
}

/// Runs `exercise` on a kept input (with the world-file fixtures beside it when named).
fn replay(name: &str) {
    let _serial = serial();
    let path = regression(name);
    assert!(path.is_file(), "{} missing", path.display());
    let (outcome, peak) = peak_during(|| exercise(&path));
    outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(peak <= PEAK_BOUND, "{name}: {peak}");
}

/// Every kept input is replayed (the named tests below say what each one found).
#[test]
fn every_regression_input_fails_cleanly() {
    let dir = regression("");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| [".tif", ".png", ".jpg"].iter().any(|e| n.ends_with(e)))
        .collect();
    names.sort();
    for n in names {
        replay(&n);
    }
}

/// Found by the fuzzer: a `.prj` whose `PROJCS[` is followed by a multi-byte character
/// panicked in the ESRI-name rule (a byte index inside a character). Now an unknown CRS.
#[test]
fn esri_name_multibyte_prj_is_an_unknown_crs() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tmp");
    for f in ["world.png", "world.wld"] {
        std::fs::copy(common::fixture(f), dir.path().join(f)).expect("copy");
    }
    std::fs::copy(
        regression("esri_name_multibyte.prj"),
        dir.path().join("world.prj"),
    )
    .expect("prj");
    let path = dir.path().join("world.png");
    let scene = Scene::open(&path).expect("open");
    let crs = &scene.georef().expect("world file").crs;
    assert!(matches!(crs, satdet::Crs::Unknown(_)), "{crs:?}");
    let (outcome, _) = peak_during(|| exercise(&path));
    outcome.expect("reads");
}
