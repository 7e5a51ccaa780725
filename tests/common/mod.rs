//! Shared helpers for the integration tests: the generated fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small deterministic generator (xorshift64), so every run tests the same data.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The folder `tests/fixtures/make_fixtures.py` writes to.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generated");
    assert!(
        dir.join("manifest.json").is_file(),
        "test fixtures missing: run `python3 tests/fixtures/make_fixtures.py` (or `bash .ci/run`, which does)"
    );
    dir
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

pub fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// The example program `target/<profile>/examples/satdet`, built by
/// `cargo build --example satdet` (scripts/test.sh does so before the tests).
pub fn satdet_bin() -> PathBuf {
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/satdet
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir
        .join("examples")
        .join(format!("satdet{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} missing: build it first with `cargo build --example satdet --features serde` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Runs `satdet ARGS…` and returns what it did.
pub fn satdet<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(satdet_bin())
        .args(args)
        .output()
        .expect("run satdet")
}

/// A raw reference file of the fixtures (GDAL's decoding, little-endian), as u16 samples.
pub fn raw_samples(name: &str, bits: u64) -> Vec<u16> {
    let bytes = std::fs::read(fixture(name)).expect("raw reference");
    if bits == 8 {
        bytes.into_iter().map(u16::from).collect()
    } else {
        bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    }
}

/// Runs a GDAL tool (gdal-bin, the tests' oracle) with `stdin`, and returns its stdout;
/// panics, naming the package, when it is missing or fails.
pub fn gdal(cmd: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{cmd} is required for this test (apt-get install gdal-bin): {e}")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// Writes 8-bit `bands` (band-sequential, `width` x `height` each) as raw ENVI, then
/// `gdal_translate`s them with `args` into `out`, georeferenced in UTM 33N at 0.3 m.
pub fn raw_to_tiff(bands: &[Vec<u8>], (width, height): (usize, usize), args: &[&str], out: &Path) {
    let raw = out.with_extension("bin");
    std::fs::write(&raw, bands.concat()).expect("write raw bands");
    let hdr = format!(
        "ENVI\nsamples = {width}\nlines = {height}\nbands = {}\nheader offset = 0\nfile type = ENVI Standard\ndata type = 1\ninterleave = bsq\nbyte order = 0\n",
        bands.len()
    );
    std::fs::write(out.with_extension("hdr"), hdr).expect("write ENVI header");
    let (east, south) = (
        format!("{}", 500_000.0 + 0.3 * width as f64),
        format!("{}", 4_000_000.0 - 0.3 * height as f64),
    );
    let (raw_s, out_s) = (raw.display().to_string(), out.display().to_string());
    let mut all = vec![
        "-q",
        "-a_srs",
        "EPSG:32633",
        "-a_ullr",
        "500000",
        "4000000",
        &east,
        &south,
    ];
    all.extend_from_slice(args);
    all.push(&raw_s);
    all.push(&out_s);
    gdal("gdal_translate", &all, "");
}

/// The first of `warnings` that contains `needle`; panics listing them when none does.
pub fn warning<'a>(warnings: &'a [String], needle: &str) -> &'a str {
    warnings
        .iter()
        .find(|w| w.contains(needle))
        .unwrap_or_else(|| panic!("no warning with {needle:?} in {warnings:?}"))
}

/// The centres of `found`'s boxes in whole scene pixels (rounded down), sorted.
pub fn box_centres(found: &satdet::Detections) -> Vec<(usize, usize)> {
    let mut c: Vec<(usize, usize)> = found
        .iter()
        .map(|d| {
            let c = d.pixel_box.center();
            (c.x.floor() as usize, c.y.floor() as usize)
        })
        .collect();
    c.sort_unstable();
    c
}
